"""The asset catalog: what each table contains, where it lives, who owns it and where its code is.

Everything here derives from the schema module (`lol_core.schemas`) and the lake layout (`lol_core.lake_paths`):
the column schemas are rendered from the same `Field` lists the Parquet, Spark, Pandera, CQL and ES schemas
come from, never copied. `describe` adds it to an asset's spec; lol_platform/definitions.py applies it to the
whole code location, so the domains' asset definitions stay as they are.
"""

from __future__ import annotations

import inspect
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from dagster import (
    AssetSpec,
    CodeReferencesMetadataValue,
    LocalFileCodeReference,
    MetadataValue,
    TableColumn,
    TableColumnConstraints,
    TableSchema,
    UrlCodeReference,
)

from lol_core import lake_paths, schemas
from lol_core.schemas import Field

REPO = Path(__file__).resolve().parents[1]
KEYSPACE = "lol_data"
ES_INDEX = "lol_matches_stream"
PLATFORM_TEAM = "team:lol-data-platform"
ANALYTICS_TEAM = "team:lol-analytics"


def column_schema(fields: list[Field]) -> TableSchema:
    """The Dagster column schema of a schema-module table: names, types, nullability, value rules, docs."""
    return TableSchema(columns=[_column(f) for f in fields])


def _column(f: Field) -> TableColumn:
    return TableColumn(
        name=f.name,
        type=f.type,
        description=f.doc or None,
        constraints=TableColumnConstraints(nullable=f.nullable, other=_rules(f)),
    )


def _rules(f: Field) -> list[str]:
    rules = []
    if f.ge is not None:
        rules.append(f">= {f.ge:g}")
    if f.le is not None:
        rules.append(f"<= {f.le:g}")
    if f.isin is not None:
        rules.append("in " + ", ".join(map(str, f.isin)))
    if f.max_len is not None:
        rules.append(f"at most {f.max_len} {'elements' if f.type.startswith('list') else 'characters'}")
    if f.pattern is not None:
        rules.append(f"matches {f.pattern}")
    return rules


@dataclass(frozen=True)
class Table:
    """One asset's entry: its columns (a schema-module table) and its storage identity."""

    fields: list[Field]
    owners: tuple[str, ...]
    lake_path: str | None = None  # relative to the lake root
    cassandra_table: str | None = None
    es_index: str | None = None
    quarantine_path: str | None = None
    code: tuple[Callable[[], object], ...] = field(default=())  # lazily imported objects whose source defines it


def _code(module: str, name: str) -> Callable[[], object]:
    def load():
        import importlib

        return getattr(importlib.import_module(module), name)

    return load


TABLES: dict[str, Table] = {
    "raw_matches": Table(
        schemas.RAW_PARTICIPANTS, (PLATFORM_TEAM,), lake_path=lake_paths.RAW_MATCHES,
        quarantine_path=f"{lake_paths.QUARANTINE_ROOT}/stage=ingest",
        code=(_code("lol_platform.ingestion.sensor", "ingest_tick"), _code("lol_core.door", "parse_match")),
    ),
    "cleaned_participants": Table(
        schemas.CLEANED_PARTICIPANTS, (PLATFORM_TEAM,), lake_path=lake_paths.CLEANED_PARTICIPANTS.path,
        cassandra_table="match_participants", quarantine_path=lake_paths.CLEAN_QUARANTINE.path,
        code=(_code("lol_platform.batch.assets", "cleaned_participants"), _code("spark_jobs.cleaning", "clean_participants")),
    ),
    "champion_stats": Table(
        schemas.CHAMPION_STATS, (ANALYTICS_TEAM, PLATFORM_TEAM), lake_path=lake_paths.CHAMPION_STATS.path,
        cassandra_table="champion_stats",
        code=(_code("lol_platform.batch.assets", "_materialize_stats"), _code("spark_jobs.aggregates", "champion_stats")),
    ),
    "position_stats": Table(
        schemas.POSITION_STATS, (ANALYTICS_TEAM, PLATFORM_TEAM), lake_path=lake_paths.POSITION_STATS.path,
        cassandra_table="position_stats",
        code=(_code("lol_platform.batch.assets", "_materialize_stats"), _code("spark_jobs.aggregates", "position_stats")),
    ),
    "lol_quarantine": Table(
        schemas.QUARANTINE_TABLE,
        (PLATFORM_TEAM,), lake_path=lake_paths.QUARANTINE_ROOT,
        code=(_code("lol_platform.batch.quarantine", "lol_quarantine"), _code("spark_jobs.quarantine_counts", "count_quarantine")),
    ),
    "match_stream_index": Table(
        schemas.STREAM_DOCUMENT, (PLATFORM_TEAM,), es_index=ES_INDEX,
        code=(_code("lol_platform.speed.assets", "match_stream_index"), _code("lol_platform.speed.indexer", "StreamIndexer")),
    ),
}  # fmt: skip


def lake_root() -> str:
    """The lake root the resources use (LOL_LAKE_ROOT, else the resource's default)."""
    from lol_platform.resources.lake import DEFAULT_LAKE_ROOT

    return os.environ.get("LOL_LAKE_ROOT", DEFAULT_LAKE_ROOT)


def es_url() -> str:
    return os.environ.get("LOL_ES_URL", "http://127.0.0.1:9200").rstrip("/")


def storage_metadata(table: Table) -> dict:
    """Where the table lives: `dagster/uri` is the lake path (or the index URL), `dagster/relation_identifier`
    the serving table analysts query (Cassandra keyspace.table, or the index)."""
    meta: dict = {}
    if table.lake_path:
        meta["dagster/uri"] = lake_paths.join(lake_root(), table.lake_path)
        meta["lake_path"] = MetadataValue.path(meta["dagster/uri"])
    if table.cassandra_table:
        meta["dagster/relation_identifier"] = f"{KEYSPACE}.{table.cassandra_table}"
        meta["cassandra_table"] = f"{KEYSPACE}.{table.cassandra_table}"
        meta["per_date_counts"] = f"SELECT * FROM {KEYSPACE}.date_summary WHERE match_date = '<YYYY-MM-DD>'"
    if table.es_index:
        meta["dagster/uri"] = f"{es_url()}/{table.es_index}"
        meta["dagster/relation_identifier"] = table.es_index
        meta["elasticsearch_index"] = MetadataValue.url(f"{es_url()}/{table.es_index}/_count")
    if table.quarantine_path:
        meta["quarantine_path"] = MetadataValue.path(lake_paths.join(lake_root(), table.quarantine_path))
    return meta


def code_references(table: Table) -> CodeReferencesMetadataValue:
    """Links to the code that defines the table: local files, or URLs when LOL_CODE_URL is set
    (e.g. https://github.com/org/lol_platform/blob/main)."""
    base = os.environ.get("LOL_CODE_URL", "").rstrip("/")
    refs = []
    for load in table.code:
        obj = _source_object(load())
        path, line = Path(inspect.getsourcefile(obj)).resolve(), inspect.getsourcelines(obj)[1]
        label = f"{obj.__module__}.{obj.__qualname__}"
        if base and path.is_relative_to(REPO):
            refs.append(UrlCodeReference(url=f"{base}/{path.relative_to(REPO)}#L{line}", label=label))
        else:
            refs.append(LocalFileCodeReference(file_path=str(path), line_number=line, label=label))
    return CodeReferencesMetadataValue(code_references=refs)


def _source_object(obj):
    # An asset definition's source is its decorated function.
    if hasattr(obj, "op"):
        obj = obj.op.compute_fn.decorated_fn
    return inspect.unwrap(obj)


def describe(spec: AssetSpec) -> AssetSpec:
    """The spec with its catalog entry: column schema, storage identity, owners and code references."""
    table = TABLES.get(spec.key.to_user_string())
    if table is None:
        return spec
    metadata = {
        "dagster/column_schema": column_schema(table.fields),
        **storage_metadata(table),
        "dagster/code_references": code_references(table),
    }
    return spec.merge_attributes(metadata=metadata, owners=[o for o in table.owners if o not in spec.owners])
