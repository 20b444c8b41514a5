"""Landing on a file:// lake: grouping by match date, quarantine, and replays that never duplicate."""

from __future__ import annotations

import base64
import datetime as dt

import pyarrow as pa
import pyarrow.parquet as pq

from lol_core.door import ContractViolation, parse_match
from lol_core.lake_paths import raw_partition_dir
from lol_core.rules import rule_of
from lol_platform.devtools.generator import MatchGenerator
from lol_platform.ingestion.landing import RAW_SCHEMA, build_batch, land_batch
from lol_platform.resources import LakeResource
from lol_platform.resources.kafka import KafkaMessage
from lol_platform_tests.support.matches import encode, make_match, malformed_messages

NOW = dt.datetime(2026, 1, 10, 8, tzinfo=dt.timezone.utc)
WINDOW = (dt.date(2025, 1, 1), dt.date(2026, 12, 31))
UTC = dt.timezone.utc


def _messages(docs, partition=0, first_offset=0, topic="lol_matches"):
    return [KafkaMessage(topic, partition, first_offset + i, doc if isinstance(doc, bytes) or doc is None else encode(doc), 1_767_225_600_000)
            for i, doc in enumerate(docs)]  # fmt: skip


def _all_rows(lake: LakeResource, date: dt.date) -> list[dict]:
    rows = []
    for info in lake.list_files(raw_partition_dir(date)):
        rows += pq.read_table(info.path).to_pylist()
    return rows


def test_rows_land_in_the_partition_of_their_match_date(tmp_path):
    lake = LakeResource(root=tmp_path.as_uri())
    day1, day2 = dt.datetime(2026, 1, 1, 10, tzinfo=UTC), dt.datetime(2026, 1, 2, 10, tzinfo=UTC)
    docs = [make_match("EUW1_1", day1), make_match("EUW1_2", day2), make_match("EUW1_3", day1)]
    report = land_batch(lake, build_batch(_messages(docs), NOW))
    assert sorted(report.partitions) == [day1.date(), day2.date()]
    assert report.partitions[day1.date()].rows == 20 and report.partitions[day1.date()].matches == 2
    rows = _all_rows(lake, day1.date())
    assert sorted({r["match_id"] for r in rows}) == ["EUW1_1", "EUW1_3"]
    assert {r["kafka_offset"] for r in rows} == {0, 2}
    assert (tmp_path / "data/lol_matches/2026/01/02").is_dir()
    assert pq.ParquetFile(lake.list_files(raw_partition_dir(day1.date()))[0].path).metadata.row_group(0).column(0).compression == "SNAPPY"


def test_bad_messages_go_to_quarantine_with_reasons_and_good_ones_land(tmp_path):
    lake = LakeResource(root=tmp_path.as_uri())
    bad = malformed_messages(make_match())
    docs = [make_match("EUW1_good")] + [message for message, _ in bad.values()]
    report = land_batch(lake, build_batch(_messages(docs), NOW, WINDOW))
    assert sum(p.rows for p in report.partitions.values()) == 10
    assert report.quarantined == len(bad)
    records = pq.read_table(str(tmp_path / report.quarantine_files[0])).to_pylist()
    assert len(records) == len(bad)
    for (message, rule), record in zip(bad.values(), sorted(records, key=lambda r: r["kafka_offset"])):
        assert rule_of(record["reason"]) == rule, record["reason"]
        assert record["stage"] == "ingest"
        assert _raw_bytes(record["raw"]) == message  # nothing lost: the exact bytes can be replayed


def _raw_bytes(text):
    if text is None:
        return None
    return base64.b64decode(text[len("base64:"):]) if text.startswith("base64:") else text.encode("utf-8")


def test_matches_outside_the_partition_window_are_quarantined(tmp_path):
    lake = LakeResource(root=tmp_path.as_uri())
    window = (dt.date(2026, 1, 1), dt.date(2026, 1, 5))
    docs = [make_match("EUW1_ok", dt.datetime(2026, 1, 2, tzinfo=UTC)), make_match("EUW1_future", dt.datetime(2030, 1, 1, tzinfo=UTC))]
    batch = build_batch(_messages(docs), NOW, window)
    assert sum(raw.rows for raw in batch.raw_files.values()) == 10
    assert rule_of(next(iter(batch.quarantined.values()))[0]["reason"]) == "match.date_window"


def test_replaying_the_same_offsets_rewrites_the_same_files(tmp_path):
    lake = LakeResource(root=tmp_path.as_uri())
    docs = [make_match(f"EUW1_{i}") for i in range(5)]
    first = land_batch(lake, build_batch(_messages(docs), NOW))
    second = land_batch(lake, build_batch(_messages(docs), NOW + dt.timedelta(hours=1)))
    assert first.partitions[dt.date(2026, 1, 1)].files == second.partitions[dt.date(2026, 1, 1)].files
    assert len(_all_rows(lake, dt.date(2026, 1, 1))) == 50


def test_a_longer_retry_of_a_failed_attempt_replaces_the_overlapping_file(tmp_path):
    lake = LakeResource(root=tmp_path.as_uri())
    docs = [make_match(f"EUW1_{i}") for i in range(8)]
    land_batch(lake, build_batch(_messages(docs[:5]), NOW))  # attempt 1: offsets 0-4, cursor never advanced
    retry = land_batch(lake, build_batch(_messages(docs), NOW))  # attempt 2 reads further: offsets 0-7
    assert len(retry.stale_files_removed) == 1
    rows = _all_rows(lake, dt.date(2026, 1, 1))
    assert len(rows) == 80 and len({(r["match_id"], r["participant_id"]) for r in rows}) == 80


def test_other_partitions_files_are_never_touched(tmp_path):
    lake = LakeResource(root=tmp_path.as_uri())
    land_batch(lake, build_batch(_messages([make_match("EUW1_a")], partition=0), NOW))
    report = land_batch(lake, build_batch(_messages([make_match("EUW1_b")], partition=1), NOW))
    assert report.stale_files_removed == []
    assert len(_all_rows(lake, dt.date(2026, 1, 1))) == 20


def _row_wise_tables(messages, ingested_at, window) -> dict:
    """What landing built before its columnar tables: parse_match's rows plus lineage, one row dict each."""
    rows: dict = {}
    for m in messages:
        try:
            match_rows = parse_match(m.value, window)
        except ContractViolation:
            continue
        lineage = {"kafka_topic": m.topic, "kafka_partition": m.partition, "kafka_offset": m.offset, "ingested_at": ingested_at}
        rows.setdefault((match_rows[0]["match_date"], m.partition), []).extend({**r, **lineage} for r in match_rows)
    return {key: pa.Table.from_pylist(file_rows, schema=RAW_SCHEMA) for key, file_rows in rows.items()}


def test_columnar_tables_equal_the_row_wise_ones_value_for_value_and_in_order():
    # Generated matches (non-ASCII names, skipped bans) over three dates, a redelivered one, bad messages between them.
    docs = [encode(m) for m in MatchGenerator(seed=7, start_date=dt.date(2026, 1, 1), days=3, matches_per_day=10).matches(30)]
    docs[5] = docs[4]
    bad = [message for message, _ in malformed_messages(make_match()).values()][:8]
    payloads = [doc for i, doc in enumerate(docs) for doc in ([doc, bad[i // 4]] if i % 4 == 0 else [doc])]
    messages = [KafkaMessage("lol_matches", i % 2, 100 + i, payload, 1_767_225_600_000) for i, payload in enumerate(payloads)]

    batch = build_batch(messages, NOW, WINDOW)
    expected = _row_wise_tables(messages, NOW, WINDOW)
    assert len({date for date, _ in expected}) == 3 and {kp for _, kp in expected} == {0, 1}
    assert sum(len(records) for records in batch.quarantined.values()) == len(bad)
    assert sorted(batch.raw_files) == sorted(expected)
    for (date, kp), table in expected.items():
        built = batch.raw_table(date, kp)
        assert built.schema == RAW_SCHEMA
        assert built.equals(table), (date, kp)
