"""Helpers for the batch-layer tests: land raw data through the real landing code, run assets, read back."""

from __future__ import annotations

import datetime as dt

from dagster import AssetSelection, DagsterInstance, materialize

from lol_platform.batch.assets import champion_stats, cleaned_participants, position_stats
from lol_platform.ingestion.assets import raw_matches, raw_matches_contract
from lol_platform.ingestion.landing import build_batch, land_batch
from lol_platform.resources import CassandraResource, LakeResource, spark_resource
from lol_platform.resources.kafka import KafkaMessage

BATCH_ASSETS = [raw_matches, raw_matches_contract, cleaned_participants, champion_stats, position_stats]
# What an automation or backfill run executes: the raw gate, then the Spark chain with its own checks.
BATCH_SELECTION = AssetSelection.checks(raw_matches_contract) | AssetSelection.assets(cleaned_participants, champion_stats, position_stats)


def land(lake: LakeResource, payloads: list[bytes], partition: int = 0, first_offset: int = 0) -> None:
    messages = [KafkaMessage("lol_matches", partition, first_offset + i, p) for i, p in enumerate(payloads)]
    land_batch(lake, build_batch(messages, dt.datetime.now(dt.timezone.utc)))


def resources(lake: LakeResource, cassandra: CassandraResource) -> dict:
    return {"lake": lake, "cassandra": cassandra, "pyspark": spark_resource({"LOL_SPARK_MASTER": "local[2]"})}


def run_batch(lake, cassandra, start: dt.date, end: dt.date | None = None, selection=None, instance=None, raise_on_error=True):
    """One run over a date (or a whole range, as a single-run backfill does) of the batch assets."""
    end = end or start
    tags = {}
    kwargs = {}
    if end == start:
        kwargs["partition_key"] = start.isoformat()
    else:
        tags = {"dagster/asset_partition_range_start": start.isoformat(), "dagster/asset_partition_range_end": end.isoformat()}
    return materialize(
        BATCH_ASSETS, selection=selection or BATCH_SELECTION, resources=resources(lake, cassandra),
        instance=instance or DagsterInstance.ephemeral(), tags=tags, raise_on_error=raise_on_error, **kwargs,
    )  # fmt: skip


def lake_rows(spark, lake: LakeResource, table: str, date_column: str, start: dt.date, end: dt.date) -> list[dict]:
    df = spark.read.parquet(lake.uri("data", table)).where(f"{date_column} between '{start}' and '{end}'")
    return sorted((r.asDict() for r in df.collect()), key=lambda r: tuple(str(v) for v in r.values()))


def cassandra_rows(cassandra: CassandraResource, table: str, dates: list[dt.date]) -> list[dict]:
    session = cassandra.session()
    rows = []
    for day in dates:
        rows += [r._asdict() for r in session.execute(f"SELECT * FROM lol_data.{table} WHERE stat_date = %s", [day])]
    return sorted(rows, key=lambda r: tuple(str(v) for v in r.values()))
