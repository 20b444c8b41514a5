"""Partitioning: one partition per UTC calendar date of the match (info.gameCreation).

The Dagster side of lol_core.dates: the partitions definition, and a run's partition key range as a DateRange.
"""

import datetime as dt
import os

from dagster import DailyPartitionsDefinition, PartitionKeyRange

from lol_core.dates import DateRange

PARTITIONS_START = os.environ.get("LOL_PARTITIONS_START", "2025-01-01")

# end_offset=1: today's partition exists while the day is still filling (the stream is live).
daily_partitions = DailyPartitionsDefinition(start_date=PARTITIONS_START, end_offset=1, timezone="UTC")


def date_range(keys: PartitionKeyRange) -> DateRange:
    """The dates of a run's (or a check's) partition key range."""
    return DateRange.of_keys(keys.start, keys.end)


def date_window() -> tuple[dt.date, dt.date]:
    """First and last date that have a partition now; matches outside it cannot be landed."""
    keys = daily_partitions.get_partition_keys()
    return dt.date.fromisoformat(keys[0]), dt.date.fromisoformat(keys[-1])
