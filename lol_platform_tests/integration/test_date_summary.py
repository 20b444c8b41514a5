"""The per-date summary (lol_data.date_summary) after a real batch run equals what the lake and Cassandra hold."""

from __future__ import annotations

import datetime as dt
import zlib

import pytest
from pyspark.sql import functions as F

from lol_core.dates import DateRange
from lol_platform.batch import summary
from lol_platform_tests.integration.batch_support import land, run_batch
from lol_platform_tests.support.matches import encode, make_match
from spark_jobs import lake_io

pytestmark = pytest.mark.stack
UTC = dt.timezone.utc


def test_the_summary_equals_the_lakes_and_cassandras_counts_after_a_run(hdfs_lake, cassandra, spark, unique_name):
    # A date of this test only (Cassandra's keyspace is shared by the suite).
    day = dt.date(2025, 10, 1) + dt.timedelta(days=zlib.crc32(unique_name.encode()) % 300)
    noon = dt.datetime.combine(day, dt.time(12), UTC)
    matches = [encode(make_match(f"EUW1_{unique_name}_{i}", noon + dt.timedelta(minutes=i))) for i in range(12)]
    # Two copies of one match: the older is quarantined in the clean stage (match.superseded).
    land(hdfs_lake, [*matches, matches[0]])

    result = run_batch(hdfs_lake, cassandra, day)
    assert result.success

    got = summary.read_dates(cassandra, [day])[day]
    assert set(got) == {"match_participants", "champion_stats", "position_stats"}
    run_id = result.run_id
    assert all(row["run_id"] == run_id and row["published_at"] is not None for row in got.values())

    cleaned = lake_io.read_cleaned(spark, hdfs_lake.root, DateRange(day, day))
    lake_rows, lake_matches = cleaned.count(), cleaned.select("match_id").distinct().count()
    lake_quarantined = lake_io.read_quarantine(spark, hdfs_lake.root, DateRange(day, day)).count()
    participants = got["match_participants"]
    assert (participants["row_count"], participants["match_count"], participants["quarantined_rows"]) == (lake_rows, lake_matches, lake_quarantined)
    assert (cassandra.count_participants(day), len(cassandra.indexed_matches(day))) == (lake_rows, lake_matches)
    assert lake_quarantined > 0  # the superseded copy: the count is not trivially zero

    for table, read in (("champion_stats", lake_io.read_champion_stats), ("position_stats", lake_io.read_position_stats)):
        stats = read(spark, hdfs_lake.root, DateRange(day, day))
        games = stats.agg(F.sum("games_played")).first()[0]
        assert (got[table]["row_count"], got[table]["match_count"]) == (stats.count(), games // 10), table
        assert got[table]["row_count"] == len(cassandra.stat_rows(table, day)), table
        assert got[table]["match_count"] == lake_matches, table
