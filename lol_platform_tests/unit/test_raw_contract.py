"""The raw_matches gate, on hand-made partitions: passes clean data, counts each broken rule."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa

from lol_core.door import parse_match
from lol_core.schemas import RAW_PARTICIPANTS
from lol_platform.gates.pandera_raw import check_raw_partition
from lol_platform.ingestion.landing import RAW_SCHEMA
from lol_platform_tests.support.matches import encode, make_match


def _rows(*match_ids: str) -> list[dict]:
    rows = []
    for match_id in match_ids:
        rows += parse_match(encode(make_match(match_id)))
    for r in rows:
        r.update(kafka_topic="t", kafka_partition=0, kafka_offset=1, ingested_at=dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc))
    return rows


def test_a_clean_partition_passes():
    result = check_raw_partition(pa.Table.from_pylist(_rows("EUW1_1", "EUW1_2"), schema=RAW_SCHEMA), RAW_PARTICIPANTS)
    assert result.passed and result.rows == 20 and result.matches == 2 and not result.failures


def test_each_broken_rule_is_counted_with_examples():
    rows = _rows("EUW1_1", "EUW1_2")
    rows[3]["kills"] = -5
    rows[4]["team_position"] = "SUPPORT"
    rows.pop(15)  # EUW1_2 now has 9 participants
    for r in rows[:10]:
        r["win"] = True  # EUW1_1: both teams win
    result = check_raw_partition(pa.Table.from_pylist(rows, schema=RAW_SCHEMA), RAW_PARTICIPANTS)
    assert not result.passed
    assert result.failures == {
        "kills.min": 1,
        "team_position.allowed": 1,
        "match.participants": 1,
        "match.winner": 1,
    }
    assert any(e.get("failure_case") == "SUPPORT" for e in result.examples)


def test_an_empty_partition_passes_with_zero_rows():
    result = check_raw_partition(RAW_SCHEMA.empty_table(), RAW_PARTICIPANTS)
    assert result.passed and result.rows == 0


def test_a_match_delivered_twice_is_counted_but_not_a_violation():
    rows = _rows("EUW1_1")
    redelivered = [{**r, "kafka_offset": 2} for r in rows]
    result = check_raw_partition(pa.Table.from_pylist(rows + redelivered, schema=RAW_SCHEMA), RAW_PARTICIPANTS)
    assert result.passed and result.duplicate_rows == 10 and result.matches == 1


def test_string_rules_and_nulls_are_counted_when_the_partition_comes_as_many_small_files():
    import lol_platform.gates.pandera_raw as gate

    rows = _rows("EUW1_1", "EUW1_2", "EUW1_3")
    rows[0]["puuid"] = "not a puuid!"  # pattern
    rows[11]["champion_name"] = "x" * 500  # length
    rows[22]["match_id"] = None  # missing
    files = [pa.Table.from_pylist(rows[i : i + 7], schema=RAW_SCHEMA) for i in range(0, len(rows), 7)]
    whole = check_raw_partition(pa.Table.from_pylist(rows, schema=RAW_SCHEMA), RAW_PARTICIPANTS)
    old_chunk, gate.CHUNK_ROWS = gate.CHUNK_ROWS, 10  # several chunks: counts add up across them
    try:
        chunked = check_raw_partition(iter(files), RAW_PARTICIPANTS)
    finally:
        gate.CHUNK_ROWS = old_chunk
    assert {k: v for k, v in whole.failures.items() if not k.startswith("match.")} == {
        "puuid.pattern": 1, "champion_name.length": 1, "match_id.missing": 1,
    }, whole.failures  # fmt: skip
    assert chunked.failures == whole.failures and chunked.rows == whole.rows == 30
