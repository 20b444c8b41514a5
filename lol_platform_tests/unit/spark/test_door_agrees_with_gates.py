"""Property: the door never raises for a message, and what it accepts no later gate rejects.

Hypothesis mutates valid matches (fields replaced by edge values of every type, keys deleted, bytes
truncated or flipped, keys repeated, tombstones). Every message either becomes 10 rows or a rulebook
reason; every accepted row then passes the raw gate (Pandera, pandas) and Spark cleaning.
"""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
from hypothesis import HealthCheck, given, settings

from lol_core.door import ContractViolation, parse_match
from lol_core.rules import rulebook
from lol_core.schemas import RAW_PARTICIPANTS
from lol_platform.gates.pandera_raw import check_raw_partition
from lol_platform.ingestion.landing import QUARANTINE_SCHEMA, RAW_SCHEMA, build_batch
from lol_platform.resources.kafka import KafkaMessage
from lol_platform_tests.support.fuzz import mutated_messages
from lol_platform_tests.unit.spark.sample_matches import raw_frame
from spark_jobs.cleaning import clean_participants

START = dt.date(2026, 1, 1)
WINDOW = (START, START + dt.timedelta(days=2))
NOW = dt.datetime(2026, 1, 5, tzinfo=dt.timezone.utc)
RULES = rulebook(RAW_PARTICIPANTS)
EXAMPLES = 2500


def test_the_door_never_raises_and_its_rows_pass_every_later_gate(spark):
    accepted: list[dict] = []
    verdicts = {"accepted": 0, "rejected": 0}

    @settings(max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(mutated_messages(START, 3))
    def door(message):
        try:
            rows = parse_match(message, WINDOW)
        except ContractViolation as exc:
            assert exc.rule in RULES, exc.reason
            verdicts["rejected"] += 1
            return
        assert len(rows) == 10
        verdicts["accepted"] += 1
        offset = len(accepted)
        accepted.extend({**row, "kafka_topic": "fuzz", "kafka_partition": 0, "kafka_offset": offset, "ingested_at": NOW} for row in rows)

    door()
    assert verdicts["accepted"] > 100 and verdicts["rejected"] > 100, verdicts  # both sides were exercised

    gate = check_raw_partition(pa.Table.from_pylist(accepted, schema=RAW_SCHEMA), RAW_PARTICIPANTS)
    assert gate.passed, gate.failures
    result = clean_participants(raw_frame(spark, accepted))
    reasons = {r.reason.split(":")[0] for r in result.quarantine.select("reason").distinct().collect()}
    # Fuzzed match ids can repeat: a repeated match is a redelivery, never a rule the door knows.
    assert reasons <= {"match.duplicate", "match.superseded"}, reasons


def test_a_batch_of_fuzzed_messages_never_fails_and_every_message_is_counted_once():
    messages: list[KafkaMessage] = []

    @settings(max_examples=1500, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(mutated_messages(START, 3))
    def collect(message):
        messages.append(KafkaMessage("fuzz", len(messages) % 3, len(messages), message, 1_767_225_600_000))

    collect()
    batch = build_batch(messages, NOW, WINDOW)
    landed = sum(raw.rows for raw in batch.raw_files.values())
    quarantined = sum(len(records) for records in batch.quarantined.values())
    assert landed % 10 == 0
    assert landed // 10 + quarantined == len(messages)
    # what land_batch writes: every row and every quarantine record fits its Parquet schema
    for (date, kp), raw in batch.raw_files.items():
        table = batch.raw_table(date, kp)
        assert table.schema == RAW_SCHEMA and table.num_rows == raw.rows
    for records in batch.quarantined.values():
        assert pa.Table.from_pylist(records, schema=QUARANTINE_SCHEMA).num_rows == len(records)
