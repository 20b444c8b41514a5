"""kafka_match_sensor on real Kafka + HDFS: exactly-once landing by match date, failures, quarantine."""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter

import pytest
from dagster import DagsterInstance, SensorResult, SkipReason, build_sensor_context

from lol_core.lake_paths import raw_partition_dir
from lol_platform.devtools.generator import MatchGenerator, encode, key
from lol_platform.ingestion.sensor import IngestSettings, kafka_match_sensor
from lol_platform.resources import KafkaResource, LakeResource, ServiceUnavailable
from lol_platform_tests.support.matches import encode as encode_doc
from lol_platform_tests.support.matches import make_match, malformed_messages, sendable_on_default_topic

pytestmark = pytest.mark.stack
START = dt.date(2026, 1, 1)
UTC = dt.timezone.utc


def _produce(kafka: KafkaResource, payloads: list[tuple[bytes, bytes]]) -> None:
    producer = kafka.producer()
    for k, v in payloads:
        producer.produce(kafka.topic, key=k, value=v)
    assert producer.flush(30) == 0


def _tick(kafka, lake, cursor, ingest=None):
    context = build_sensor_context(
        cursor=cursor, instance=DagsterInstance.ephemeral(),
        resources={"kafka": kafka, "lake": lake, "ingest": ingest or IngestSettings(max_messages=40, max_seconds=10)},
    )  # fmt: skip
    return kafka_match_sensor(context), context


def _drain(kafka, lake, cursor=None, ingest=None, max_ticks=50):
    """Tick until the sensor skips; return (results, final cursor)."""
    results = []
    for _ in range(max_ticks):
        result, context = _tick(kafka, lake, cursor, ingest)
        if isinstance(result, SkipReason) or result is None:
            return results, context.cursor if context.cursor else cursor
        results.append(result)
        cursor = result.cursor
    raise AssertionError("sensor never caught up")


def _landed_rows(lake: LakeResource, dates) -> list[dict]:
    rows = []
    for date in dates:
        for info in lake.list_files(raw_partition_dir(date)):
            rows += lake.read_parquet(lake.relative(info)).to_pylist()
    return rows


def _generated(n: int, seed: int = 3, days: int = 4, late_share: float = 0.1):
    gen = MatchGenerator(seed=seed, start_date=START, days=days, late_share=late_share, matches_per_day=n / days)
    return list(gen.matches(n))


def test_n_matches_over_several_days_land_as_exactly_ten_n_rows_in_their_date_partitions(kafka, hdfs_lake):
    matches = _generated(150)
    _produce(kafka, [(key(m), encode(m)) for m in matches])
    results, _ = _drain(kafka, hdfs_lake)
    assert len(results) >= 4  # max 40 messages a tick: several ticks
    dates = [START + dt.timedelta(days=d) for d in range(4)]
    rows = _landed_rows(hdfs_lake, dates)
    assert len(rows) == 1500
    assert len({(r["match_id"], r["participant_id"]) for r in rows}) == 1500
    expected_dates = {m["metadata"]["matchId"]: dt.datetime.fromtimestamp(m["info"]["gameCreation"] / 1000, UTC).date() for m in matches}
    assert all(r["match_date"] == expected_dates[r["match_id"]] for r in rows)
    reported = Counter()
    for result in results:
        for event in result.asset_events:
            reported[event.partition] += event.metadata["batch_rows"].value
    assert sum(reported.values()) == 1500
    assert set(reported) == {d.isoformat() for d in dates}


def test_a_tick_that_fails_after_writing_files_leaves_the_cursor_and_the_retry_adds_no_duplicates(kafka, hdfs_lake, monkeypatch):
    matches = _generated(30, seed=5, days=2, late_share=0)
    _produce(kafka, [(key(m), encode(m)) for m in matches])

    def fail_before_cursor(*args, **kwargs):
        raise RuntimeError("simulated crash after the files were written")

    monkeypatch.setattr("lol_platform.ingestion.sensor._materialization", fail_before_cursor)
    with pytest.raises(Exception, match="simulated crash"):
        _tick(kafka, hdfs_lake, None, IngestSettings(max_messages=1000, max_seconds=10))
    dates = [START, START + dt.timedelta(days=1)]
    assert len(_landed_rows(hdfs_lake, dates)) == 300  # the files are there; the cursor is not
    monkeypatch.undo()
    results, cursor = _drain(kafka, hdfs_lake, None)
    rows = _landed_rows(hdfs_lake, dates)
    assert len(rows) == 300 and len({(r["match_id"], r["participant_id"]) for r in rows}) == 300
    assert cursor is not None


def test_the_group_mirrors_only_the_persisted_cursor_so_a_lost_evaluation_is_landed_again(kafka, hdfs_lake):
    """The first evaluation of a new instance lands a batch whose result Dagster never stores (it outlived the
    sensor timeout; the daemon died): the consumer group must not have moved, since an empty cursor starts from
    the group's offsets, so the next evaluation lands and reports the same offsets. Seen in the fault-injection
    suite: an evaluation that waited out a Kafka restart past the timeout committed the group and its landing was
    never reported. Once a cursor is persisted, the next evaluation mirrors it into the group."""
    group = f"{kafka.topic}-group"
    ingest = IngestSettings(group_id=group, max_messages=1000, max_seconds=10)
    matches = _generated(12, seed=7, days=1, late_share=0)
    _produce(kafka, [(key(m), encode(m)) for m in matches])

    lost, _ = _tick(kafka, hdfs_lake, None, ingest)  # its result is never stored
    assert isinstance(lost, SensorResult) and kafka.committed_offsets(group) == {}
    again, _ = _tick(kafka, hdfs_lake, None, ingest)  # the daemon's next evaluation: still no cursor
    assert isinstance(again, SensorResult), again
    assert sum(e.metadata["batch_rows"].value for e in again.asset_events) == 120
    assert again.cursor == lost.cursor
    idle, _ = _tick(kafka, hdfs_lake, again.cursor, ingest)
    assert isinstance(idle, SkipReason)
    assert kafka.committed_offsets(group) == {int(p): o for p, o in json.loads(again.cursor).items()}
    assert len(_landed_rows(hdfs_lake, [START])) == 120  # landed twice, stored once


def test_a_late_match_lands_in_its_older_partition_and_that_partition_is_reported(kafka, hdfs_lake):
    _produce(kafka, [(b"a", encode_doc(make_match("EUW1_today", dt.datetime(2026, 1, 5, 10, tzinfo=UTC))))])
    _, cursor = _drain(kafka, hdfs_lake)
    _produce(kafka, [(b"b", encode_doc(make_match("EUW1_late", dt.datetime(2026, 1, 2, 23, 30, tzinfo=UTC))))])
    results, _ = _drain(kafka, hdfs_lake, cursor)
    assert [e.partition for r in results for e in r.asset_events] == ["2026-01-02"]
    assert {r["match_id"] for r in _landed_rows(hdfs_lake, [dt.date(2026, 1, 2)])} == {"EUW1_late"}


def test_malformed_messages_are_quarantined_with_reasons_and_counted_while_good_ones_land(kafka, hdfs_lake):
    bad = sendable_on_default_topic(malformed_messages(make_match("EUW1_bad")))
    payloads = [(b"g1", encode_doc(make_match("EUW1_good1")))] + [(b"x", m) for m, _ in bad.values()] + [(b"g2", encode_doc(make_match("EUW1_good2")))]
    _produce(kafka, payloads)
    results, _ = _drain(kafka, hdfs_lake, ingest=IngestSettings(max_messages=1000, max_seconds=10))
    events = [e for r in results for e in r.asset_events]
    assert sum(e.metadata["batch_rows"].value for e in events) == 20
    assert events[0].metadata["quarantined_in_tick"].value == len(bad)
    quarantine_root = "data/lol_quarantine/stage=ingest"
    records = []
    for info in hdfs_lake.list_files(quarantine_root, recursive=True):
        records += hdfs_lake.read_parquet(hdfs_lake.relative(info)).to_pylist()
    assert len(records) == len(bad)
    for _, reason in bad.values():
        assert any(reason in r["reason"] for r in records), reason
    assert all((r["raw"] is not None or r["reason"].startswith("message.empty")) and r["kafka_offset"] is not None for r in records)


def test_an_empty_topic_gives_a_skip_reason(kafka, hdfs_lake):
    result, _ = _tick(kafka, hdfs_lake, None)
    assert isinstance(result, SkipReason) and "no new messages" in result.skip_message


def test_kafka_or_hdfs_down_fails_clearly_keeps_the_cursor_and_the_next_tick_catches_up(kafka, hdfs_lake):
    _produce(kafka, [(b"k", encode_doc(make_match(f"EUW1_down_{i}"))) for i in range(5)])
    kafka_down = KafkaResource(bootstrap_servers="127.0.0.1:1", topic=kafka.topic, request_timeout_s=2)
    with pytest.raises(ServiceUnavailable, match=r"^Kafka is not reachable at 127\.0\.0\.1:1"):
        _tick(kafka_down, hdfs_lake, None)
    hdfs_down = LakeResource(root="hdfs://127.0.0.1:8020" + hdfs_lake.path(), webhdfs_port=1)
    with pytest.raises(ServiceUnavailable, match=r"^the lake is not reachable at hdfs://127\.0\.0\.1:8020"):
        _tick(kafka, hdfs_down, None)
    results, cursor = _drain(kafka, hdfs_lake, None)  # same (empty) cursor: nothing was acknowledged
    assert sum(e.metadata["batch_rows"].value for r in results for e in r.asset_events) == 50
    assert len(_landed_rows(hdfs_lake, [dt.date(2026, 1, 1)])) == 50


def test_one_evaluation_at_a_time_owns_the_landing(kafka, hdfs_lake):
    """An evaluation still landing (one that outlived the sensor timeout) holds the lease: a second one that
    starts from the same cursor skips instead of landing the same offsets and deleting the first one's files."""
    import threading

    from lol_platform.ingestion import landing
    from lol_platform.ingestion.sensor import LANDING_LEASE

    _produce(kafka, [(key(m), encode(m)) for m in _generated(20, seed=41)])
    entered, release = threading.Event(), threading.Event()
    real_land = landing.land_batch

    def slow_land(lake, batch, *args, **kwargs):  # the first evaluation stalls mid-landing
        entered.set()
        release.wait(60)
        return real_land(lake, batch, *args, **kwargs)

    import lol_platform.ingestion.sensor as sensor_module

    sensor_module.land_batch = slow_land
    first: list = []
    worker = threading.Thread(target=lambda: first.append(_tick(kafka, hdfs_lake, None)[0]))
    try:
        worker.start()
        assert entered.wait(60)
        sensor_module.land_batch = real_land
        second, _ = _tick(kafka, hdfs_lake, None)  # same cursor, while the first still lands
        assert isinstance(second, SkipReason) and "another evaluation is landing" in second.skip_message
    finally:
        sensor_module.land_batch = real_land
        release.set()
        worker.join(60)
    assert isinstance(first[0], SensorResult)  # the first finished its landing and released the lease
    assert hdfs_lake.filesystem().get_file_info(hdfs_lake.path(LANDING_LEASE)).type.name == "NotFound"
    third, _ = _tick(kafka, hdfs_lake, first[0].cursor)
    assert isinstance(third, (SensorResult, SkipReason)) and "another evaluation" not in str(getattr(third, "skip_message", ""))
