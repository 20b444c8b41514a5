"""Where each table lives under the lake root (a URI: file:///tmp/lake, hdfs://127.0.0.1:8020, s3://bucket/x).

Raw matches keep the seed system's layout data/lol_matches/YYYY/MM/DD/*.parquet; the Spark-written tables
are Hive-style partitioned by their date column, so a date-range job replaces exactly its dates.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

RAW_MATCHES = "data/lol_matches"

# The Spark SQL settings every lake read and write relies on; runtime settings, so safe to set on a shared
# session. The Spark resource starts sessions with them and spark_jobs.lake_io.configure applies them.
SPARK_LAKE_SETTINGS = {
    "spark.sql.session.timeZone": "UTC",  # match_date is a UTC date; timestamps print and parse as UTC
    # Spark 4 writes INT96 unless told; every other reader of the lake wants micros.
    "spark.sql.parquet.outputTimestampType": "TIMESTAMP_MICROS",
    "spark.sql.parquet.compression.codec": "snappy",
    # An overwrite replaces only the partitions the DataFrame carries, not the whole table.
    "spark.sql.sources.partitionOverwriteMode": "dynamic",
}

# Settings a session must start with (core settings, fixed once it runs), for the clean step's judging
# (spark_jobs.jobs.clean_dates). Every sort, hash table and aggregate of a task holds at least one memory
# page, and Spark sizes a page for a few of them per task (1/16 of a core's share: 32 MB at a 2g driver).
# The judging's one stage runs about twenty in each task: a 30-day backfill (3M rows) failed with "not enough
# memory to build hash map" at 32 MB pages and passes at 4 MB, as fast on a 1M-row date (README, benchmarks).
SPARK_SESSION_START_SETTINGS = {"spark.buffer.pageSize": "4m"}


@dataclass(frozen=True)
class PartitionedTable:
    path: str  # relative to the lake root
    partition_column: str

    def uri(self, root: str) -> str:
        return join(root, self.path)

    def partition_uri(self, root: str, day: dt.date) -> str:
        return join(root, self.path, f"{self.partition_column}={day.isoformat()}")


CLEANED_PARTICIPANTS = PartitionedTable("data/lol_cleaned_participants", "match_date")
CHAMPION_STATS = PartitionedTable("data/lol_champion_stats", "stat_date")
POSITION_STATS = PartitionedTable("data/lol_position_stats", "stat_date")
# The quarantine is one table, partitioned by stage and date (ingest: the arrival date of a message the door
# refused; clean: the match date of a row the clean stage refused). QUARANTINE_DATE names that column.
QUARANTINE_ROOT = "data/lol_quarantine"
QUARANTINE_DATE = "date"  # the last column of lol_core.schemas.QUARANTINE_TABLE
CLEAN_QUARANTINE = PartitionedTable(f"{QUARANTINE_ROOT}/stage=clean", QUARANTINE_DATE)
# One row per match kept on a date: the Kafka coordinates of its copy (spark_jobs.cleaning.MATCH_VERSIONS).
MATCH_VERSIONS = PartitionedTable("data/lol_match_versions", "match_date")


def join(root: str, *parts: str) -> str:
    return "/".join([root.rstrip("/"), *(part.strip("/") for part in parts)])


def raw_partition_dir(day: dt.date) -> str:
    """data/lol_matches/YYYY/MM/DD (relative to the lake root): the seed system's layout, a name other
    systems depend on (docs/architecture.md)."""
    return f"{RAW_MATCHES}/{day:%Y/%m/%d}"


def quarantine_dir(stage: str, day: dt.date) -> str:
    """Where the door's quarantine records of a date land (relative to the lake root)."""
    return f"{QUARANTINE_ROOT}/stage={stage}/{QUARANTINE_DATE}={day:%Y-%m-%d}"


def raw_day_uri(root: str, day: dt.date) -> str:
    return join(root, raw_partition_dir(day))
