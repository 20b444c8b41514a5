"""DateRange: a run's partition key range, as dates, from Dagster to the Spark jobs."""

from __future__ import annotations

import datetime as dt

import pytest
from dagster import PartitionKeyRange

from lol_core.dates import DateRange
from lol_platform.partitions import date_range
from spark_jobs.job_cli import parse_args


def test_a_key_range_becomes_its_dates_and_back():
    dates = date_range(PartitionKeyRange("2025-12-30", "2026-01-02"))  # across a year end
    assert dates == DateRange(dt.date(2025, 12, 30), dt.date(2026, 1, 2))
    assert dates.days() == list(dates) == [dt.date(2025, 12, 30), dt.date(2025, 12, 31), dt.date(2026, 1, 1), dt.date(2026, 1, 2)]
    assert dates.keys() == ["2025-12-30", "2025-12-31", "2026-01-01", "2026-01-02"]
    assert str(dates) == "2025-12-30..2026-01-02"
    assert DateRange.of_keys("2026-01-05", "2026-01-05").days() == [dt.date(2026, 1, 5)]


def test_a_reversed_range_is_refused():
    with pytest.raises(ValueError, match="before start date"):
        DateRange(dt.date(2026, 1, 2), dt.date(2026, 1, 1))


def test_spark_submit_arguments_give_the_same_range():
    args = parse_args("job", ["--date", "2025-12-30", "--end-date", "2026-01-02", "--lake-root", "file:///tmp/lake"])
    assert args.dates == date_range(PartitionKeyRange("2025-12-30", "2026-01-02"))
    assert parse_args("job", ["--date", "2026-01-05", "--lake-root", "file:///x"]).dates == DateRange.of_keys("2026-01-05", "2026-01-05")
    with pytest.raises(SystemExit):
        parse_args("job", ["--date", "2026-01-05", "--end-date", "2026-01-04", "--lake-root", "file:///x"])
