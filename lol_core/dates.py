"""Date ranges: one UTC calendar date per partition, an inclusive range of them per run or job.

A Dagster partition key range, a `spark-submit --date/--end-date` pair and the Spark filters all meet in
`DateRange`, so a range is never unpacked into strings and re-expanded by hand.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass


def partition_key(date: dt.date) -> str:
    """The daily partition key of a date (YYYY-MM-DD)."""
    return date.isoformat()


def dates_in_range(start: dt.date, end: dt.date) -> list[dt.date]:
    if end < start:
        raise ValueError(f"end date {end} is before start date {start}")
    return [start + dt.timedelta(days=i) for i in range((end - start).days + 1)]


@dataclass(frozen=True)
class DateRange:
    """An inclusive range of dates, start <= end."""

    start: dt.date
    end: dt.date

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError(f"end date {self.end} is before start date {self.start}")

    @classmethod
    def of_keys(cls, start_key: str, end_key: str) -> DateRange:
        """From partition keys (YYYY-MM-DD), e.g. a Dagster `PartitionKeyRange`'s start and end."""
        return cls(dt.date.fromisoformat(start_key), dt.date.fromisoformat(end_key))

    def days(self) -> list[dt.date]:
        return dates_in_range(self.start, self.end)

    def keys(self) -> list[str]:
        return [partition_key(day) for day in self.days()]

    def __iter__(self) -> Iterator[dt.date]:
        return iter(self.days())

    def __str__(self) -> str:
        return f"{self.start}..{self.end}"
