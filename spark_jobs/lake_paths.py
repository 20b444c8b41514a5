"""Where each table lives under the lake root (a URI: file:///tmp/lake, hdfs://127.0.0.1:8020, s3://bucket/x).

Raw matches keep the seed system's layout data/lol_matches/YYYY/MM/DD/*.parquet; the Spark-written tables
are Hive-style partitioned by their date column, so a date-range job replaces exactly its dates.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

RAW_MATCHES = "data/lol_matches"


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
CLEAN_QUARANTINE = PartitionedTable("data/lol_quarantine/stage=clean", "match_date")
# One row per match kept on a date: the Kafka coordinates of its copy (spark_jobs.cleaning.MATCH_VERSIONS).
MATCH_VERSIONS = PartitionedTable("data/lol_match_versions", "match_date")


def join(root: str, *parts: str) -> str:
    return "/".join([root.rstrip("/"), *(part.strip("/") for part in parts)])


def raw_day_uri(root: str, day: dt.date) -> str:
    return join(root, RAW_MATCHES, f"{day:%Y/%m/%d}")


def dates_in_range(start: dt.date, end: dt.date) -> list[dt.date]:
    if end < start:
        raise ValueError(f"end date {end} is before start date {start}")
    return [start + dt.timedelta(days=i) for i in range((end - start).days + 1)]
