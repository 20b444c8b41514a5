"""The platform's code location as the chaos flow serves it (`dagster dev -f` this file).

Exactly lol_platform.definitions, pointed at the flow's own Kafka topic, consumer group and Elasticsearch
index (LOL_CHAOS_TOPIC, LOL_CHAOS_GROUP, LOL_CHAOS_INDEX), so the shared `lol_matches` topic, its groups and
the shared index are never touched. The speed layer of the flow is its live stream process (as `make dev`
runs `lol-platform stream`), so the cron-scheduled catch-up asset `match_stream_index` is not scheduled here.
"""

import os
import warnings

from dagster import AssetKey, Definitions

from lol_platform import definitions as _platform
from lol_platform.ingestion.sensor import IngestSettings
from lol_platform.resources import ElasticsearchResource, KafkaResource

TOPIC, GROUP, INDEX = os.environ["LOL_CHAOS_TOPIC"], os.environ["LOL_CHAOS_GROUP"], os.environ["LOL_CHAOS_INDEX"]
BOOTSTRAP = os.environ.get("LOL_KAFKA_BOOTSTRAP", "127.0.0.1:9092")
ES_URL = os.environ.get("LOL_ES_URL", "http://127.0.0.1:9200")
STREAM_ASSET = AssetKey("match_stream_index")



def _location() -> Definitions:
    platform = _platform.defs
    location = Definitions(
        assets=list(platform.assets),
        asset_checks=list(platform.asset_checks),
        sensors=list(platform.sensors),
        jobs=list(platform.jobs or []),
        schedules=list(platform.schedules or []),
        resources={
            **platform.resources,
            "kafka": KafkaResource(bootstrap_servers=BOOTSTRAP, topic=TOPIC),
            "stream_kafka": KafkaResource(bootstrap_servers=BOOTSTRAP, topic=TOPIC),
            "elasticsearch": ElasticsearchResource(url=ES_URL, index=INDEX),
            "ingest": IngestSettings(group_id=GROUP),
        },
        executor=platform.executor,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # map_resolved_asset_specs is a preview API
        return location.map_resolved_asset_specs(func=lambda spec: spec.replace_attributes(automation_condition=None), selection=[STREAM_ASSET])


# Dagster loads the one Definitions at module scope (lol_platform.definitions' own is imported as a module).
defs = _location()
