"""What the freshness rules judge, read from the systems: Kafka consumer lag, landing times (the Dagster
instance's raw_matches materializations) and publish times (lol_data.date_summary)."""

from __future__ import annotations

import datetime as dt

from confluent_kafka import KafkaException, TopicPartition
from dagster import AssetKey, AssetRecordsFilter, DagsterInstance

from lol_platform.batch import summary
from lol_platform.freshness.rules import ConsumerLag
from lol_platform.resources.cassandra import CassandraResource
from lol_platform.resources.errors import ServiceUnavailable
from lol_platform.resources.kafka import KafkaResource

UTC = dt.timezone.utc


def consumer_lag(kafka: KafkaResource, group: str) -> ConsumerLag:
    """The group's committed offsets against the topic's end offsets, and when the oldest unconsumed message
    was produced (read without joining the group or committing anything)."""
    partitions = kafka.partitions()
    consumer = kafka.consumer(group, **{"enable.partition.eof": True})
    try:
        committed = kafka.committed_offsets(group)
        ends, starts = {}, {}
        for p in partitions:
            starts[p], ends[p] = consumer.get_watermark_offsets(TopicPartition(kafka.topic, p), timeout=kafka.request_timeout_s)
        # No commit yet: the group starts at the beginning (auto.offset.reset earliest).
        waiting = {p: max(committed.get(p, -1), starts[p]) for p in partitions if ends[p] > max(committed.get(p, -1), starts[p])}
        oldest = _oldest_timestamp(consumer, kafka.topic, waiting)
    except KafkaException as exc:
        raise kafka.service_error(exc) from exc
    finally:
        consumer.close()
    return ConsumerLag(group, kafka.topic, committed, ends, oldest)


def _oldest_timestamp(consumer, topic: str, offsets: dict[int, int]) -> dt.datetime | None:
    """The produce time of the first waiting message of each partition; the oldest of them."""
    if not offsets:
        return None
    consumer.assign([TopicPartition(topic, p, o) for p, o in offsets.items()])
    seen: dict[int, int] = {}
    for _ in range(10):  # a few polls: each partition's first message, one each
        for msg in consumer.consume(num_messages=len(offsets), timeout=1.0):
            if msg.error() is None and msg.partition() not in seen:
                seen[msg.partition()] = msg.timestamp()[1]
        if len(seen) == len(offsets):
            break
    return dt.datetime.fromtimestamp(min(seen.values()) / 1000, UTC) if seen else None


def landed_at(instance: DagsterInstance, asset: str, dates: list[dt.date]) -> dict[dt.date, dt.datetime | None]:
    """When data last landed for each date: its latest materialization of the raw asset."""
    found = {}
    for day in dates:
        records = instance.fetch_materializations(AssetRecordsFilter(AssetKey(asset), asset_partitions=[day.isoformat()]), limit=1).records
        found[day] = dt.datetime.fromtimestamp(records[0].timestamp, UTC) if records else None
    return found


def last_landing(instance: DagsterInstance, asset: str) -> dt.datetime | None:
    records = instance.fetch_materializations(AssetKey(asset), limit=1).records
    return dt.datetime.fromtimestamp(records[0].timestamp, UTC) if records else None


def published_as_of(instance: DagsterInstance, cassandra: CassandraResource, table: str, dates: list[dt.date]) -> dict[dt.date, dt.datetime | None]:
    """What landing each date's last publish (lol_data.date_summary) includes: the start of the run that
    published it (data landed later is not in it), else when it was published."""
    rows = summary.read_dates(cassandra, dates)
    found = {}
    for day in dates:
        row = rows.get(day, {}).get(table)
        found[day] = _as_of(instance, row) if row else None
    return found


def _as_of(instance: DagsterInstance, row: dict) -> dt.datetime:
    record = instance.get_run_record_by_id(row["run_id"]) if row.get("run_id") else None
    if record is not None and record.start_time:
        return dt.datetime.fromtimestamp(record.start_time, UTC)
    at = row["published_at"]
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at
