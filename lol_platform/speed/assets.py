"""match_stream_index: the speed layer's catch-up, visible in the UI; `lol-platform stream` is its live twin."""


from dagster import AutomationCondition, Config, MaterializeResult, MetadataValue, asset
from pydantic import Field

from lol_platform.resources.elasticsearch import ElasticsearchResource
from lol_platform.resources.kafka import KafkaResource
from lol_platform.speed.indexer import StreamConfig, StreamIndexer


class StreamRunConfig(Config):
    """Tuning of one catch-up run, set in the launchpad (the defaults serve automation's runs)."""

    max_seconds: float = Field(default=60.0, description="how long one materialization may drain the backlog")
    # Defaults are the indexer's own (StreamConfig), so the asset and `lol-platform stream` tune alike.
    batch_max_messages: int = Field(default=StreamConfig.batch_max_messages, description="messages per micro-batch")
    chunk_size: int = Field(default=StreamConfig.chunk_size, description="documents per bulk request")

    def stream_config(self) -> StreamConfig:
        return StreamConfig(batch_max_messages=self.batch_max_messages, chunk_size=self.chunk_size)


@asset(
    group_name="speed",
    kinds={"kafka", "elasticsearch"},
    description=(
        "Participants of every match on Kafka `lol_matches`, indexed one document each into Elasticsearch "
        "`lol_matches_stream` (id `{matchId}_{participantId}`) with the batch layer's features. "
        "A materialization drains the backlog of consumer group `lol-platform-stream`."
    ),
    automation_condition=AutomationCondition.on_cron("*/5 * * * *"),
)
def match_stream_index(
    context, config: StreamRunConfig, stream_kafka: KafkaResource, elasticsearch: ElasticsearchResource
) -> MaterializeResult:
    def progress(total):
        context.log.info(f"indexed {total.documents} documents from {total.messages} messages so far")

    # The stream's own Kafka principal (LOL_KAFKA_STREAM_*): it reads the topic and commits its group, nothing else.
    with StreamIndexer(stream_kafka, elasticsearch, config.stream_config(), log=context.log.warning) as indexer:
        stats = indexer.drain(config.max_seconds, progress=progress)
        lag = indexer.lag()
    return MaterializeResult(
        metadata={
            "documents_indexed": stats.documents,
            "messages": stats.messages,
            "quarantined": stats.quarantined,
            "micro_batches": stats.batches,
            "es_retries": stats.retries,
            "lag_after": lag,
            "committed_offsets": MetadataValue.json({str(p): o for p, o in sorted(stats.committed.items())}),
            "docs_per_second": round(stats.documents / stats.seconds, 1) if stats.seconds else 0.0,
            "duration_s": round(stats.seconds, 2),
            **{f"latency_{k}": v for k, v in stats.latency_percentiles().items()},
            "index": MetadataValue.url(f"{elasticsearch.url}/{elasticsearch.index}/_count"),
        }
    )
