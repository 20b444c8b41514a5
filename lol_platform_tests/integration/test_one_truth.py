"""One truth per matchId on the real stack: a match re-sent with its timestamps a day later ends on one
date only, in the lake (HDFS), in Cassandra and in Elasticsearch, whichever way the dates are run."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from dagster import AssetSelection, DagsterInstance, SensorResult, build_sensor_context, materialize

from lol_platform.batch.superseded import TRIGGER_TAG, superseded_dates_sensor
from lol_platform.ingestion.sensor import IngestSettings
from lol_platform.ingestion.sensor import ingest_tick
from lol_platform.speed.documents import build_documents
from lol_platform.speed.indexer import StreamConfig, StreamIndexer
from lol_platform_tests.integration.batch_support import BATCH_ASSETS, resources, run_batch
from lol_platform_tests.support.matches import encode, make_match

pytestmark = pytest.mark.stack
UTC = dt.timezone.utc
D1, D2 = dt.date(2025, 8, 11), dt.date(2025, 8, 12)  # dates no other test uses (Cassandra is shared)


def _produce(kafka, payloads: list[tuple[str, bytes]]) -> None:
    producer = kafka.producer()
    for key, value in payloads:
        producer.produce(kafka.topic, key=key.encode(), value=value)
    assert producer.flush(30) == 0


def _land_from_kafka(kafka, lake) -> list:
    """The kafka_match_sensor's tick (its real code path), until the topic is drained; the messages read."""
    settings, cursor, messages = IngestSettings(group_id=f"one-truth-{uuid.uuid4().hex[:8]}", max_seconds=10), {}, []
    for _ in range(10):
        cursor, report, poll = ingest_tick(cursor, kafka, lake, settings)
        if report is None:
            return messages
        messages += poll.messages
    raise AssertionError("the topic was never drained")


def _stale_date_runs(instance, lake, cassandra, cursor: list) -> list[str]:
    """One tick of superseded_dates_sensor (cursor: a one-item list it advances), its run requests executed
    as the daemon would launch them; returns the dates run."""
    result = superseded_dates_sensor(build_sensor_context(instance=instance, cursor=cursor[0]))
    if not isinstance(result, SensorResult):
        return []
    cursor[0] = result.cursor
    for request in result.run_requests:
        assert request.tags[TRIGGER_TAG] == "superseded_dates_sensor"
        run = materialize(
            BATCH_ASSETS, selection=AssetSelection.assets(*request.asset_selection), partition_key=request.partition_key,
            resources=resources(lake, cassandra), instance=instance, tags=request.tags,
        )  # fmt: skip
        assert run.success
    return [r.partition_key for r in result.run_requests]


def _superseded_dates(run) -> list[str]:
    return next(e.materialization.metadata["superseded_dates"].value for e in run.get_asset_materialization_events()
                if e.asset_key.to_user_string() == "cleaned_participants")  # fmt: skip


def _assert_one_truth(spark, lake, cassandra, es_docs, match_id: str, stays_id: str, newest_offset: int) -> None:
    # Lake: the match's 10 rows on D2 only, all from the newest copy; D1 quarantined the old copy, naming it.
    cleaned = spark.read.parquet(lake.uri("data/lol_cleaned_participants")).where(f"match_date between '{D1}' and '{D2}'").collect()
    ours = [r for r in cleaned if r.match_id == match_id]
    assert len(ours) == 10 and {(r.match_date, r.kafka_offset) for r in ours} == {(D2, newest_offset)}
    assert {r.match_date for r in cleaned if r.match_id == stays_id} == {D1}
    quarantine = spark.read.parquet(lake.uri("data/lol_quarantine")).where(f"stage = 'clean' AND date = '{D1}'").collect()
    assert [r.reason for r in quarantine if r.match_id == match_id] == [
        f"match.superseded: by the copy on {D2} (topic {quarantine[0].kafka_topic}, partition {ours[0].kafka_partition}, offset {newest_offset})"
    ] * 10
    versions = spark.read.parquet(lake.uri("data/lol_match_versions")).where(f"match_id = '{match_id}'").collect()
    assert [(r.match_date, r.kafka_offset) for r in versions] == [(D2, newest_offset)]

    # Cassandra: the same, and D1's stats count only the match that stayed.
    session = cassandra.session()
    count = "SELECT COUNT(*) FROM lol_data.match_participants WHERE match_date = %s AND match_id = %s"
    assert (session.execute(count, [D1, match_id]).one()[0], session.execute(count, [D2, match_id]).one()[0]) == (0, 10)
    assert session.execute(count, [D1, stays_id]).one()[0] == 10
    indexed = {r.match_id for r in session.execute("SELECT match_id FROM lol_data.matches_by_date WHERE match_date = %s", [D1])}
    assert match_id not in indexed and stays_id in indexed
    games = [r.games_played for r in session.execute("SELECT games_played FROM lol_data.champion_stats WHERE stat_date = %s", [D1])]
    assert sum(games) == 10

    # Elasticsearch: the same copy.
    assert len(es_docs) == 10 and {(d["match_date"], d["kafka_offset"]) for d in es_docs} == {(D2.isoformat(), newest_offset)}


def test_a_match_resent_a_day_later_ends_on_one_date_in_lake_cassandra_and_elasticsearch(
    kafka, hdfs_lake, cassandra, elasticsearch, spark, unique_name
):
    match_id, stays_id = f"EUW1_resent_{unique_name}", f"EUW1_stays_{unique_name}"
    at = dt.datetime.combine(D1, dt.time(18), UTC)
    first = make_match(match_id, at, duration_s=1800, winner=100)
    again = make_match(match_id, at + dt.timedelta(days=1), duration_s=2100, winner=200)  # the same match, a day later
    # The producer keys by matchId: both copies share a partition, the re-sent one at the higher offset.
    _produce(kafka, [(match_id, encode(first)), (stays_id, encode(make_match(stays_id, at))), (match_id, encode(again))])

    # Speed layer: the stream indexes both copies; Elasticsearch keeps the newest.
    with StreamIndexer(kafka, elasticsearch, StreamConfig(group_id=f"one-truth-{unique_name}")) as indexer:
        stats = indexer.drain(max_seconds=60)
        assert stats.messages == 3 and stats.quarantined == 0
        # A replay of the old copy after the new one (e.g. another indexer catching up): a 409 per document,
        # which is success (nothing rejected, nothing quarantined), and the index keeps the new copy.
        messages = _land_from_kafka(kafka, hdfs_lake)  # batch layer: the sensor's tick lands both copies
        old = [m for m in messages if m.value == encode(first)]
        newest_offset = next(m.offset for m in messages if m.value == encode(again))
        assert len(old) == 1 and old[0].offset < newest_offset and len({m.partition for m in messages}) == 1
        assert indexer._bulk(elasticsearch.index, build_documents(old, dt.datetime.now(UTC)).documents) == []
    es = elasticsearch.client()
    es.indices.refresh(index=elasticsearch.index)
    hits = es.search(index=elasticsearch.index, body={"query": {"term": {"match_id": match_id}}, "size": 100})["hits"]["hits"]
    es_docs = [h["_source"] for h in hits]

    # Batch layer, one run per date, the older date first (the order that leaves a date stale).
    instance = DagsterInstance.ephemeral()
    assert _superseded_dates(run_batch(hdfs_lake, cassandra, D1, instance=instance)) == []
    assert _superseded_dates(run_batch(hdfs_lake, cassandra, D2, instance=instance)) == [D1.isoformat()]
    # No manual step: the sensor re-runs D1 (lake, Cassandra, stats); that run reports nothing further.
    cursor = [None]
    assert _stale_date_runs(instance, hdfs_lake, cassandra, cursor) == [D1.isoformat()]
    assert _stale_date_runs(instance, hdfs_lake, cassandra, cursor) == []
    _assert_one_truth(spark, hdfs_lake, cassandra, es_docs, match_id, stays_id, newest_offset)

    # The same dates as one backfill run: the same state, nothing stale.
    backfill = run_batch(hdfs_lake, cassandra, D1, D2, instance=instance)
    assert _superseded_dates(backfill) == []
    _assert_one_truth(spark, hdfs_lake, cassandra, es_docs, match_id, stays_id, newest_offset)
