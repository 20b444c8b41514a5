"""The chaos flow's live stream indexer: `lol-platform stream`'s loop on the flow's own topic, consumer group
and index (LOL_CHAOS_TOPIC, LOL_CHAOS_STREAM_GROUP, LOL_CHAOS_INDEX). Small bulk chunks (100 documents), so a
batch of a few hundred documents is several bulk requests and the suite can kill Elasticsearch mid-bulk."""

import os
import sys

from lol_platform.devtools.cli import stream_until_stopped
from lol_platform.resources import ElasticsearchResource, KafkaResource
from lol_platform.speed.indexer import StreamConfig

if __name__ == "__main__":
    kafka = KafkaResource(bootstrap_servers=os.environ.get("LOL_KAFKA_BOOTSTRAP", "127.0.0.1:9092"), topic=os.environ["LOL_CHAOS_TOPIC"])
    es = ElasticsearchResource(url=os.environ.get("LOL_ES_URL", "http://127.0.0.1:9200"), index=os.environ["LOL_CHAOS_INDEX"])
    config = StreamConfig(group_id=os.environ["LOL_CHAOS_STREAM_GROUP"], chunk_size=100, max_attempts=None)
    sys.exit(stream_until_stopped(kafka, es, config))
