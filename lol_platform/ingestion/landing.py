"""Turn a batch of Kafka messages into Parquet files in the lake, exactly once.

`build_batch` is pure (messages in, rows grouped by match date out); `land_batch` does the writes.
A file's rows are held as columns: match fields and the Kafka offset once per match (its 10 rows share them),
topic, partition and ingested_at once per file, participant fields per row; expanded only in the Arrow table.
File names derive from topic, partition and the batch's offset range, so a replay of the same offsets
rewrites the same files; files of an earlier, failed attempt that overlap the range are removed.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial

import numpy as np
import pyarrow as pa

from lol_core.door import ContractViolation, ParsedMatch, parse_match_columns, quarantine_text
from lol_core.lake_paths import quarantine_dir, raw_partition_dir
from lol_core.rules import rule_of
from lol_core.schemas import (
    MATCH_FIELDS, PARTICIPANT_FIELDS, PARTICIPANTS_PER_MATCH, QUARANTINE, RAW_PARTICIPANTS, arrow_schema, names,
)  # fmt: skip
from lol_platform.resources.kafka import KafkaMessage
from lol_platform.resources.lake import LakeResource

RAW_SCHEMA = arrow_schema(RAW_PARTICIPANTS)
QUARANTINE_SCHEMA = arrow_schema(QUARANTINE)
_FILE_RE = re.compile(r"^(?P<topic>.+)-p(?P<partition>\d+)-(?P<start>\d+)-(?P<end>\d+)\.parquet$")
# A raw file's columns by how often they vary: once per match (kafka_topic, kafka_partition and ingested_at
# are the same for the whole file), or per row.
_PER_MATCH = [*names(MATCH_FIELDS), "kafka_offset"]
_PER_ROW = names(PARTICIPANT_FIELDS)


@dataclass
class RawFile:
    """The rows one raw file will hold, as columns: per match its match fields and Kafka offset, per row its
    participant fields. Every match has PARTICIPANTS_PER_MATCH rows (the door holds it to that)."""

    per_match: dict[str, list] = field(default_factory=lambda: {name: [] for name in _PER_MATCH})
    per_row: dict[str, list] = field(default_factory=lambda: {name: [] for name in _PER_ROW})

    def add(self, match: ParsedMatch, offset: int) -> None:
        for name, value in match.match.items():
            self.per_match[name].append(value)
        self.per_match["kafka_offset"].append(offset)
        for name, values in match.participants.items():
            self.per_row[name].extend(values)

    @property
    def rows(self) -> int:
        return len(self.per_row["participant_id"])

    @property
    def matches(self) -> int:
        """Distinct match ids (a match redelivered within the batch counts once)."""
        return len(set(self.per_match["match_id"]))

    def table(self, topic: str, partition: int, ingested_at: dt.datetime) -> pa.Table:
        """RAW_SCHEMA's table: each match-level value converted once, then taken for each of its rows."""
        rows = self.rows
        match_of_row = pa.array(np.arange(rows) // PARTICIPANTS_PER_MATCH)
        batch_wide = {"kafka_topic": topic, "kafka_partition": partition, "ingested_at": ingested_at}
        columns = []
        for f in RAW_SCHEMA:
            if f.name in self.per_row:
                columns.append(pa.array(self.per_row[f.name], type=f.type))
            elif f.name in self.per_match:
                columns.append(pa.array(self.per_match[f.name], type=f.type).take(match_of_row))
            else:
                columns.append(pa.repeat(pa.scalar(batch_wide[f.name], type=f.type), rows))
        return pa.Table.from_arrays(columns, schema=RAW_SCHEMA)


@dataclass
class LandingBatch:
    """What one poll produced, grouped for writing: one raw file (and one quarantine file) per (date, partition)."""

    topic: str
    offset_ranges: dict[int, tuple[int, int]]  # kafka partition -> (first, last) offset
    ingested_at: dt.datetime
    raw_files: dict[tuple[dt.date, int], RawFile] = field(default_factory=lambda: defaultdict(RawFile))
    quarantined: dict[tuple[dt.date, int], list[dict]] = field(default_factory=lambda: defaultdict(list))

    @property
    def dates(self) -> list[dt.date]:
        return sorted({d for d, _ in self.raw_files})

    def raw_table(self, date: dt.date, partition: int) -> pa.Table:
        return self.raw_files[(date, partition)].table(self.topic, partition, self.ingested_at)


def batch_file_name(topic: str, partition: int, first: int, last: int) -> str:
    return f"{topic}-p{partition}-{first:020d}-{last:020d}.parquet"


def build_batch(
    messages: list[KafkaMessage], ingested_at: dt.datetime, date_window: tuple[dt.date, dt.date] | None = None
) -> LandingBatch:
    """Validate and flatten each message; bad ones become quarantine records with their reason.

    `date_window` (first, last) bounds the match dates that have a partition to land in.
    """
    if not messages:
        raise ValueError("build_batch needs at least one message")
    ranges: dict[int, tuple[int, int]] = {}
    for m in messages:
        first, last = ranges.get(m.partition, (m.offset, m.offset))
        ranges[m.partition] = (min(first, m.offset), max(last, m.offset))
    batch = LandingBatch(topic=messages[0].topic, offset_ranges=ranges, ingested_at=ingested_at)
    for m in messages:
        try:
            match = parse_match_columns(m.value, date_window)
        except ContractViolation as exc:
            # Keyed by the broker timestamp's date, not the tick's, so a replay lands in the same file.
            arrival = dt.datetime.fromtimestamp(m.timestamp_ms / 1000, tz=dt.timezone.utc) if m.timestamp_ms else ingested_at
            batch.quarantined[(arrival.date(), m.partition)].append(_quarantine_record(exc, m, ingested_at))
            continue
        batch.raw_files[(match.match["match_date"], m.partition)].add(match, m.offset)
    return batch


def arrow_table(records: list[dict], schema: pa.Schema) -> pa.Table:
    """Records (the rare quarantine ones) as an Arrow table, built column by column."""
    return pa.Table.from_arrays([pa.array([r.get(f.name) for r in records], type=f.type) for f in schema], schema=schema)


def _quarantine_record(exc: ContractViolation, m: KafkaMessage, at: dt.datetime) -> dict:
    raw = quarantine_text(m.value)
    return {
        "quarantined_at": at, "stage": "ingest", "reason": exc.reason, "match_id": exc.match_id,
        "participant_id": None, "kafka_topic": m.topic, "kafka_partition": m.partition,
        "kafka_offset": m.offset, "raw": raw,
    }  # fmt: skip


@dataclass
class LandedPartition:
    """Per match date: what this batch wrote there (feeds the materialization metadata)."""

    date: dt.date
    rows: int = 0
    matches: int = 0
    bytes: int = 0
    files: list[str] = field(default_factory=list)
    offset_ranges: dict[int, tuple[int, int]] = field(default_factory=dict)


@dataclass
class LandingReport:
    partitions: dict[dt.date, LandedPartition]
    quarantined: int
    quarantine_reasons: dict[str, int]
    quarantine_files: list[str]
    stale_files_removed: list[str]
    seconds: float


def land_batch(lake: LakeResource, batch: LandingBatch, max_workers: int = 4) -> LandingReport:
    """Write every (date, partition) file and the quarantine, durably, before anything is acknowledged."""
    t0 = time.monotonic()
    # (directory, match date or None for a quarantine file, kafka partition, what builds the table)
    jobs = [(raw_partition_dir(date), date, kp, partial(batch.raw_table, date, kp)) for date, kp in batch.raw_files]
    jobs += [(quarantine_dir("ingest", date), None, kp, partial(arrow_table, recs, QUARANTINE_SCHEMA))
             for (date, kp), recs in batch.quarantined.items()]  # fmt: skip

    def write(job):
        directory, _, kp, table = job
        first, last = batch.offset_ranges[kp]
        name = batch_file_name(batch.topic, kp, first, last)
        size = lake.write_parquet(table(), f"{directory}/{name}")
        removed = _remove_stale(lake, directory, batch.topic, kp, first, last, keep=name)
        return name, size, removed

    with ThreadPoolExecutor(max_workers=max_workers) as pool:
        results = list(pool.map(write, jobs))

    partitions: dict[dt.date, LandedPartition] = {}
    stale: list[str] = []
    quarantine_files: list[str] = []
    for (name, size, removed), (directory, date, kp, _) in zip(results, jobs):
        stale += removed
        if date is None:  # a quarantine file
            quarantine_files.append(f"{directory}/{name}")
            continue
        raw = batch.raw_files[(date, kp)]
        part = partitions.setdefault(date, LandedPartition(date=date))
        part.rows += raw.rows
        part.matches += raw.matches
        part.bytes += size
        part.files.append(f"{directory}/{name}")
        part.offset_ranges[kp] = batch.offset_ranges[kp]
    reasons: dict[str, int] = defaultdict(int)
    for records in batch.quarantined.values():
        for rec in records:
            reasons[rule_of(rec["reason"])] += 1
    return LandingReport(
        partitions=partitions,
        quarantined=sum(reasons.values()),
        quarantine_reasons=dict(reasons),
        quarantine_files=quarantine_files,
        stale_files_removed=stale,
        seconds=time.monotonic() - t0,
    )


def _remove_stale(lake: LakeResource, directory: str, topic: str, kp: int, first: int, last: int, keep: str) -> list[str]:
    """Delete files of a failed earlier attempt: same topic-partition, overlapping offsets, other name."""
    removed = []
    for info in lake.list_files(directory):
        m = _FILE_RE.match(info.base_name)
        if not m or info.base_name == keep or m["topic"] != topic or int(m["partition"]) != kp:
            continue
        if int(m["start"]) <= last and int(m["end"]) >= first:
            lake.filesystem().delete_file(info.path)
            removed.append(info.path)
    return removed
