"""Pure: Kafka messages -> Elasticsearch documents (with the batch layer's features) or quarantine records."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np

from lol_core.door import ContractViolation, parse_match, quarantine_text
from lol_core.features import FEATURE_INPUTS, NumpyOps, feature_columns
from lol_core.schemas import FEATURE_FIELDS, STREAM_DOCUMENT, names
from lol_platform.resources.kafka import KafkaMessage

_FEATURES = names(FEATURE_FIELDS)
_DOC_COLUMNS = [f.name for f in STREAM_DOCUMENT if f.name not in _FEATURES]  # taken from the row as they are
_TEMPORAL = {f.name for f in STREAM_DOCUMENT if f.type in ("date", "timestamp")}  # sent as ISO 8601 text


# A document's Elasticsearch version (external versioning): its message's Kafka coordinates, so a copy of a
# match indexed later but sent earlier never overwrites a newer one (Elasticsearch answers 409, which the
# indexer counts as done). The order is the batch layer's (spark_jobs.cleaning.newest_first): the higher
# offset, then the higher partition. Equal versions are the same message: a replay rewrites it unchanged.
_PARTITION_BITS = 16


def document_version(partition: int, offset: int) -> int:
    if not 0 <= partition < 2**_PARTITION_BITS or not 0 <= offset < 2 ** (63 - _PARTITION_BITS):
        raise ValueError(f"Kafka partition {partition} / offset {offset} do not fit an Elasticsearch version")
    return (offset << _PARTITION_BITS) | partition


@dataclass
class DocumentBatch:
    documents: list[dict] = field(default_factory=list)  # each with "_id" and "_version"
    quarantined: list[dict] = field(default_factory=list)  # each with "_id" (topic-partition-offset)
    created_ms: list[int] = field(default_factory=list)  # broker timestamps, for latency


def document_id(match_id: str, participant_id: int) -> str:
    """Deterministic: a replay overwrites the same document instead of adding one."""
    return f"{match_id}_{participant_id}"


def build_documents(messages: list[KafkaMessage], now: dt.datetime, date_window: tuple[dt.date, dt.date] | None = None) -> DocumentBatch:
    """The same door as the batch layer, `date_window` included, so both layers hold the same matches."""
    batch = DocumentBatch()
    rows: list[dict] = []
    indexed_at = now.isoformat()
    for m in messages:
        try:
            match_rows = parse_match(m.value, date_window)
        except ContractViolation as exc:
            batch.quarantined.append(_quarantine_doc(m, exc, now))
            continue
        _add_team_totals(match_rows)
        # The match's dates are shared by its 10 rows: turned into text once.
        shared = {name: match_rows[0][name].isoformat() for name in _TEMPORAL if name != "indexed_at"}
        version = document_version(m.partition, m.offset)
        for row in match_rows:
            row.update(shared, kafka_partition=m.partition, kafka_offset=m.offset, indexed_at=indexed_at, _version=version)
        rows += match_rows
        if m.timestamp_ms:
            batch.created_ms.append(m.timestamp_ms)
    if rows:
        features = {name: values.tolist() for name, values in _features(rows).items()}
        for i, row in enumerate(rows):
            doc = {name: row[name] for name in _DOC_COLUMNS}
            for name, values in features.items():
                doc[name] = values[i]
            doc["_id"] = document_id(row["match_id"], row["participant_id"])
            doc["_version"] = row["_version"]
            batch.documents.append(doc)
    return batch


def _add_team_totals(rows: list[dict]) -> None:
    kills: dict[int, int] = defaultdict(int)
    damage: dict[int, int] = defaultdict(int)
    for r in rows:
        kills[r["team_id"]] += r["kills"]
        damage[r["team_id"]] += r["total_damage_dealt_to_champions"]
    for r in rows:
        r["team_kills"], r["team_damage"] = kills[r["team_id"]], damage[r["team_id"]]


def _features(rows: list[dict]) -> dict[str, np.ndarray]:
    """The batch layer's formulas, vectorised over the whole micro-batch."""
    columns = {name: np.fromiter((r[name] for r in rows), dtype="float64", count=len(rows)) for name in FEATURE_INPUTS}
    return {name: np.broadcast_to(values, len(rows)) for name, values in feature_columns(columns, NumpyOps()).items()}


def _quarantine_doc(m: KafkaMessage, exc: ContractViolation, now: dt.datetime) -> dict:
    return {
        "_id": f"{m.topic}-{m.partition}-{m.offset}",
        "quarantined_at": now.isoformat(), "stage": "stream", "reason": exc.reason, "match_id": exc.match_id,
        "kafka_topic": m.topic, "kafka_partition": m.partition, "kafka_offset": m.offset,
        "raw": quarantine_text(m.value),
    }  # fmt: skip
