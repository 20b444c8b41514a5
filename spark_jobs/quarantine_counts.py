"""The whole quarantine (every stage, every date) counted by stage and rule in one Spark aggregation."""

from __future__ import annotations

from dataclasses import dataclass

from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from lol_core.lake_paths import QUARANTINE_DATE


@dataclass(frozen=True)
class QuarantineCount:
    stage: str
    rule: str  # the reason up to its first ':' (the rulebook's rule id, e.g. `gold_earned.width`)
    rows: int
    dates: int
    latest_date: str | None


def count_quarantine(spark: SparkSession, quarantine_uri: str) -> list[QuarantineCount]:
    """Counts by stage and rule; an absent quarantine (nothing ever refused) counts nothing."""
    try:
        frame = spark.read.parquet(quarantine_uri)  # partitions stage=/date= are columns
    except Exception as exc:  # noqa: BLE001 - Spark raises AnalysisException for a missing path
        if "PATH_NOT_FOUND" in str(exc) or "Path does not exist" in str(exc):
            return []
        raise
    rule = F.split(F.col("reason"), ":").getItem(0)
    rows = (
        frame.groupBy("stage", rule.alias("rule"))
        .agg(F.count(F.lit(1)).alias("rows"), F.countDistinct(QUARANTINE_DATE).alias("dates"),
             F.max(QUARANTINE_DATE).cast("string").alias("latest_date"))  # fmt: skip
        .collect()
    )
    return sorted((QuarantineCount(r.stage, r.rule, r.rows, r.dates, r.latest_date) for r in rows), key=lambda c: (c.stage, -c.rows, c.rule))
