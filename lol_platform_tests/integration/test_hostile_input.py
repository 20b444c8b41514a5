"""Nothing a producer sends can stop the platform: the hostile corpus and Hypothesis-fuzzed matches, mixed
with good matches on one topic, flow through the sensor tick, the stream and a batch run on the real stack.

Every bad message is quarantined exactly once with its rule (in the lake by the batch layer, in
Elasticsearch by the speed layer, the same rule on both), every good one lands, is published and is
indexed, and no tick, stream batch or run fails: messages in = landed + quarantined.
"""

from __future__ import annotations

import datetime as dt
import zlib
from collections import Counter

import pytest
from confluent_kafka.admin import ConfigResource
from hypothesis import HealthCheck, given, settings

from lol_core.door import ContractViolation, parse_match
from lol_core.lake_paths import quarantine_dir, raw_partition_dir
from lol_core.rules import rule_of
from lol_platform.ingestion.sensor import IngestSettings
from lol_platform.ingestion.sensor import ingest_tick
from lol_platform.partitions import date_window
from lol_platform.speed.indexer import StreamConfig, StreamIndexer
from lol_platform_tests.integration.batch_support import run_batch
from lol_platform_tests.support.fuzz import mutated_messages
from lol_platform_tests.support.matches import encode, make_match, malformed_messages

pytestmark = pytest.mark.stack
UTC = dt.timezone.utc
BIG = 4 * 1024 * 1024  # the topic takes messages over the door's 1 MiB limit, so the door is what refuses them
FUZZED = 600


def _allow_big_messages(kafka) -> None:
    resource = ConfigResource("topic", kafka.topic, set_config={"max.message.bytes": str(BIG)})
    admin = kafka.admin()  # kept referenced: a collected client cancels its futures
    for future in admin.alter_configs([resource]).values():
        future.result(timeout=30)


def _fuzzed(start: dt.date) -> list[bytes | None]:
    out: list[bytes | None] = []

    @settings(max_examples=FUZZED, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(mutated_messages(start, 2))
    def collect(message):
        out.append(message)

    collect()
    return out


def _expected_rule(message: bytes | None) -> str | None:
    try:
        parse_match(message, date_window())
    except ContractViolation as exc:
        return exc.rule
    return None


def test_hostile_and_fuzzed_messages_never_fail_a_tick_a_stream_batch_or_a_run(kafka, hdfs_lake, cassandra, elasticsearch, unique_name, spark):
    # Dates of this test only (Cassandra's keyspace is shared by the suite).
    day = dt.date(2025, 2, 1) + dt.timedelta(days=zlib.crc32(unique_name.encode()) % 250)
    noon = dt.datetime.combine(day, dt.time(12), UTC)
    good = [encode(make_match(f"EUW1_{unique_name}_{i}", noon + dt.timedelta(minutes=i))) for i in range(20)]
    # valid at the edges of the rules: int32 counters at their limit must not overflow anything downstream
    edge = make_match(f"EUW1_{unique_name}_edge", noon)
    for p in edge["info"]["participants"]:
        p.update(kills=0, assists=0, goldEarned=2**31 - 1, totalMinionsKilled=2**31 - 1, neutralMinionsKilled=2**31 - 1,
                 totalDamageDealtToChampions=2**31 - 1, visionScore=2**31 - 1, deaths=2**31 - 1, champLevel=30)  # fmt: skip
    edge["info"]["participants"][0].update(kills=2**31 - 1)
    good.append(encode(edge))
    hostile = malformed_messages(make_match(f"EUW1_{unique_name}_bad", noon))
    messages = good + [m for m, _ in hostile.values()] + _fuzzed(day)
    expected = [_expected_rule(m) for m in messages]
    # The fuzz may draw a valid match twice: the newest copy (highest offset = index) wins, as a whole match.
    newest = {}
    for m, rule in zip(messages, expected):
        if rule is None:
            row = parse_match(m)[0]
            newest[row["match_id"]] = row["match_date"]
    run_dates = {day, day + dt.timedelta(days=1)}
    accepted_ids = {match_id for match_id, date in newest.items() if date in run_dates}
    assert all(rule == r for (_, r), rule in zip(hostile.values(), expected[len(good):])), "the corpus rules are the door's"

    _allow_big_messages(kafka)
    producer = kafka.producer(**{"message.max.bytes": BIG})
    for i, message in enumerate(messages):  # one partition keeps offsets in send order: offset = index
        producer.produce(kafka.topic, value=message, key=f"k{i}".encode(), partition=0)
    assert producer.flush(60) == 0

    # -- batch layer: sensor ticks ------------------------------------------------------------------
    cursor, landed_rows, quarantine_records, ticks = {}, 0, [], 0
    settings_ = IngestSettings(max_messages=200, max_seconds=10)
    while True:
        cursor, report, poll = ingest_tick(cursor, kafka, hdfs_lake, settings_)
        if report is None:
            break
        ticks += 1
        landed_rows += sum(p.rows for p in report.partitions.values())
    assert ticks >= 3 and cursor == {p: (len(messages) if p == 0 else 0) for p in cursor}
    today = dt.datetime.now(UTC).date()
    for info in hdfs_lake.list_files(quarantine_dir("ingest", today)):
        quarantine_records += hdfs_lake.read_parquet(hdfs_lake.relative(info)).to_pylist()
    by_offset = {r["kafka_offset"]: r for r in quarantine_records}
    assert len(by_offset) == len(quarantine_records), "a message was quarantined twice"
    rejected = [i for i, rule in enumerate(expected) if rule is not None]
    assert sorted(by_offset) == rejected
    assert all(rule_of(by_offset[i]["reason"]) == expected[i] for i in rejected)
    assert landed_rows == 10 * (len(messages) - len(rejected))

    # -- batch layer: one run over the dates (gate, cleaning, stats, Cassandra) ----------------------------
    result = run_batch(hdfs_lake, cassandra, day, day + dt.timedelta(days=1))
    assert result.success
    assert all(check.passed for check in result.get_asset_check_evaluations())
    published = cassandra.session().execute(
        "SELECT match_id FROM lol_data.matches_by_date WHERE match_date IN (%s, %s)", [day, day + dt.timedelta(days=1)]
    )
    assert {r.match_id for r in published} == accepted_ids
    stats = cassandra.session().execute(
        "SELECT SUM(games_played) FROM lol_data.position_stats WHERE stat_date IN (%s, %s)", [day, day + dt.timedelta(days=1)]
    ).one()[0]
    assert stats == 10 * len(accepted_ids)

    # -- speed layer: the same topic through the stream indexer -----------------------------------------
    config = StreamConfig(group_id=f"hostile-{unique_name}", batch_max_messages=150)
    with StreamIndexer(kafka, elasticsearch, config, log=lambda *_: None) as indexer:
        stream = indexer.drain(max_seconds=120)
    assert stream.messages == len(messages)
    client = elasticsearch.client()
    client.indices.refresh(index=[elasticsearch.index, indexer.quarantine_index])
    docs = client.search(index=elasticsearch.index, size=0, aggs={"m": {"cardinality": {"field": "match_id"}}})
    assert docs["hits"]["total"]["value"] == 10 * len(newest)
    quarantined = client.search(index=indexer.quarantine_index, size=len(messages), query={"match_all": {}})["hits"]["hits"]
    stream_rules = Counter(rule_of(h["_source"]["reason"]) for h in quarantined)
    assert stream_rules == Counter(rule for rule in expected if rule is not None)
