"""Partitioning: one partition per UTC calendar date of the match (info.gameCreation)."""

import datetime as dt
import os

from dagster import DailyPartitionsDefinition

PARTITIONS_START = os.environ.get("LOL_PARTITIONS_START", "2025-01-01")

# end_offset=1: today's partition exists while the day is still filling (the stream is live).
daily_partitions = DailyPartitionsDefinition(start_date=PARTITIONS_START, end_offset=1, timezone="UTC")


def partition_key(date: dt.date) -> str:
    return date.isoformat()


def date_window() -> tuple[dt.date, dt.date]:
    """First and last date that have a partition now; matches outside it cannot be landed."""
    keys = daily_partitions.get_partition_keys()
    return dt.date.fromisoformat(keys[0]), dt.date.fromisoformat(keys[-1])
