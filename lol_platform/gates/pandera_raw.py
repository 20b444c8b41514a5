"""The contract of a raw_matches partition, checked without Spark: the files are read over the lake's
filesystem (WebHDFS for HDFS) and validated with Pandera's pandas backend, plus the per-match relations.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

import pandas as pd
import pandera.pandas as pdx
import pyarrow as pa

from lol_core.rules import rule_id
from lol_core.schemas import PARTICIPANTS_PER_MATCH, Field
from lol_platform.gates.pandera_spark import field_checks

_PANDAS_DTYPES = {
    "int16": "int16", "int32": "int32", "int64": "int64", "float64": "float64", "bool": "bool",
    "timestamp": "datetime64[us, UTC]",
}  # fmt: skip  (strings, dates and lists arrive as Python objects: no dtype to enforce)


def pandas_schema(fields: list[Field], name: str) -> pdx.DataFrameSchema:
    columns = {}
    for f in fields:
        columns[f.name] = pdx.Column(_PANDAS_DTYPES.get(f.type), checks=field_checks(f, pdx.Check), nullable=f.nullable)
    return pdx.DataFrameSchema(columns, name=name, strict=True)


@dataclass
class RawCheckResult:
    passed: bool
    rows: int
    matches: int
    duplicate_rows: int = 0  # redelivered rows: counted, left to cleaning's dedupe
    failures: dict[str, int] = field(default_factory=dict)
    examples: list[dict] = field(default_factory=list)


# What the per-match relations and the redelivery count need: the only columns kept for the whole date.
RELATION_COLUMNS = ["match_id", "participant_id", "team_id", "win", "kafka_offset"]
CHUNK_ROWS = 250_000  # rows validated at a time: a date's memory is one chunk plus its relation columns


def check_raw_partition(data: pa.Table | Iterable[pa.Table], fields: list[Field]) -> RawCheckResult:
    """Validate a partition given as one table or as its files' tables (read lazily, validated a chunk at a time)."""
    schema = pandas_schema(fields, "raw_matches")
    failures: dict[str, int] = {}
    examples: list[dict] = []
    keys: list[pa.Table] = []
    for chunk in _chunks([data] if isinstance(data, pa.Table) else data, CHUNK_ROWS):
        try:
            schema.validate(chunk.to_pandas(types_mapper=_arrow_strings), lazy=True)
        except pdx.errors.SchemaErrors as exc:
            cases = exc.failure_cases
            for (column, check), group in cases.groupby(["column", "check"], dropna=False):
                failures[_rule(column, check)] = failures.get(_rule(column, check), 0) + len(group)
            examples += [{k: _plain(v) for k, v in row.items()} for row in cases.head(5).to_dict("records")]
        keys.append(chunk.select([c for c in RELATION_COLUMNS if c in chunk.column_names]))
    df = pa.concat_tables(keys, promote_options="permissive").to_pandas() if keys else pd.DataFrame(columns=RELATION_COLUMNS)
    if not set(RELATION_COLUMNS) <= set(df.columns):
        return RawCheckResult(False, len(df), 0, 0, failures, examples[:8])  # the schema failure names the missing column
    relation_failures, relation_examples = _relations(df)
    failures.update(relation_failures)
    examples += relation_examples
    duplicates = int(df.duplicated(["match_id", "participant_id"]).sum()) if len(df) else 0
    return RawCheckResult(not failures, len(df), df["match_id"].nunique() if len(df) else 0, duplicates, failures, examples[:8])


def _arrow_strings(arrow_type: pa.DataType):
    """Strings stay Arrow-backed in pandas: Pandera's pattern and length checks then run in Arrow compute
    instead of a Python loop over objects (they were four fifths of the gate's time)."""
    return pd.ArrowDtype(arrow_type) if pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type) else None


def _chunks(tables: Iterable[pa.Table], rows: int) -> Iterator[pa.Table]:
    """The tables regrouped into chunks of at least `rows` rows (the last one smaller): Pandera's cost per call
    is paid per chunk, not per small landed file."""
    pending: list[pa.Table] = []
    pending_rows = 0
    for table in tables:
        pending.append(table)
        pending_rows += table.num_rows
        if pending_rows >= rows:
            yield pa.concat_tables(pending, promote_options="permissive")
            pending, pending_rows = [], 0
    if pending:
        yield pa.concat_tables(pending, promote_options="permissive")


def _relations(df: pd.DataFrame) -> tuple[dict[str, int], list[dict]]:
    """10 participants and exactly one winning team per match.

    A match delivered twice (Kafka is at-least-once) is not a violation: like cleaning, the check keeps the
    latest copy of each (match_id, participant_id) and judges that.
    """
    if df.empty:
        return {}, []
    latest = df.sort_values("kafka_offset", kind="stable").drop_duplicates(["match_id", "participant_id"], keep="last")
    participants = latest.groupby("match_id")["participant_id"].nunique()
    won = latest[latest["win"] == True]  # noqa: E712 - elementwise; a null win is not a win
    per_match = pd.DataFrame({
        "participants": participants,
        "winning_teams": won.groupby("match_id")["team_id"].nunique().reindex(participants.index, fill_value=0),
    })  # fmt: skip
    failures: dict[str, int] = {}
    examples: list[dict] = []
    for rule, bad in {
        "match.participants": per_match[per_match.participants != PARTICIPANTS_PER_MATCH],
        "match.winner": per_match[per_match.winning_teams != 1],
    }.items():
        if len(bad):
            failures[rule] = len(bad)
            examples += [{"rule": rule, "match_id": mid, **{k: int(v) for k, v in row.items()}} for mid, row in bad.head(3).iterrows()]
    return failures, examples


def _rule(column, check) -> str:
    """Pandera's failure case as a rulebook id: value checks are named by their rule, the rest map here."""
    check = str(check)
    if "." in check and not check.startswith("dtype"):
        return check  # a rule id, e.g. kills.min
    if check == "not_nullable":
        return rule_id(str(column), "missing")
    if check.startswith("dtype") or check.startswith("column_in_dataframe") or check.startswith("column_in_schema"):
        return rule_id(str(column), "type") if column and str(column) != "nan" else f"schema: {check}"
    return f"{column}: {check}"


def _plain(value):
    return value if isinstance(value, (int, float, str, bool, type(None))) else str(value)
