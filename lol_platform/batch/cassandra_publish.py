"""Publishing a run's dates to Cassandra so a reader never sees a date emptier than its old or new set.

- Stats: a date is one partition (`stat_date`). One single-partition batch deletes it and writes the new
  rows (spark_jobs.cassandra_sink, replace=True): a reader sees the old complete date or the new one.
- Participants: a match is one partition (`match_date`, `match_id`), replaced the same way, match by match.
  Then the date's index `matches_by_date` gains the new matches, and last the matches the date no longer
  has leave it (index rows first, then their rows). Through the index a reader sees each match old or new
  and every match of the old set or the new one: never an empty date, never an indexed match without rows.

Every cell of one publish carries one write timestamp. Writes are idempotent, so a killed publish is simply
done again by the next run (healing sensor, run retries) with a newer timestamp, which wins cell by cell.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass, field

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from lol_core import faults
from lol_platform.resources.cassandra import CassandraResource
from spark_jobs.cassandra_sink import CassandraTarget, WriteStats, write_to_cassandra

INDEX_TABLE = "matches_by_date"
INDEX_COLUMNS = ["match_date", "match_id", "participants"]
# A stats date is written as one batch, whatever its size (atomic replace): ~170 champions, 5 positions.
# The cluster's batch_size_fail_threshold must hold it (the local stack allows 1 MiB).
STATS_DATE_BATCH_ROWS = 100_000


@dataclass
class PublishReport:
    rows: int = 0
    seconds: float = 0.0
    write: WriteStats = field(default_factory=WriteStats)
    matches_removed: int = 0
    dates_cleared: list[str] = field(default_factory=list)
    # date -> match_id -> participants, as published (the reconciliation compares Cassandra's index with it)
    lake_index: dict[dt.date, dict[str, int]] = field(default_factory=dict)

    @property
    def rows_per_s(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0

    def metadata(self) -> dict:
        return {
            "published_rows": self.rows,
            "publish_s": round(self.seconds, 2),
            "publish_rows_per_s": round(self.rows_per_s),
            "publish_requests": self.write.requests,
            "publish_retries": self.write.retries,
            "publish_narrowest_window": self.write.smallest_window,
            "matches_removed": self.matches_removed,
        }


def write_timestamp_us() -> int:
    return time.time_ns() // 1000


def _target(cassandra: CassandraResource, table: str, key: tuple[str, ...], ts: int, replace: bool, batch_rows: int = 200) -> CassandraTarget:
    return CassandraTarget(
        connection=cassandra.connection(),
        keyspace=cassandra.keyspace,
        table=table,
        partition_key=key,
        write_timestamp_us=ts,
        replace=replace,
        max_batch_rows=batch_rows,
        max_in_flight=cassandra.max_in_flight,
    )


def publish_participants(cleaned: DataFrame, columns: list[str], cassandra: CassandraResource, dates: list[dt.date]) -> PublishReport:
    """Replace the dates' matches: rows match by match, then the index, then the matches that are gone."""
    t0, ts = time.monotonic(), write_timestamp_us()
    rows = write_to_cassandra(cleaned, _target(cassandra, "match_participants", ("match_date", "match_id"), ts, True), columns)
    faults.point("cassandra.rows_written")  # test hook (lol_core/faults.py): off unless LOL_FAULT_DIR is set
    index = cleaned.groupBy("match_date", "match_id").agg(F.count(F.lit(1)).cast("int").alias("participants")).persist()
    index_rows = write_to_cassandra(index, _target(cassandra, INDEX_TABLE, ("match_date",), ts, False), INDEX_COLUMNS)
    lake_index: dict[dt.date, dict[str, int]] = {day: {} for day in dates}
    for row in index.collect():  # ids and counts only (~100k short rows for a real day), not the rows
        lake_index.setdefault(row.match_date, {})[row.match_id] = row.participants
    removed = sum(cassandra.remove_matches_except(day, set(lake_index[day]), ts) for day in dates)
    index.unpersist()
    return PublishReport(rows.rows, time.monotonic() - t0, rows + index_rows, removed, lake_index=lake_index)


def publish_stats(stats: DataFrame, table: str, columns: list[str], cassandra: CassandraResource, dates: list[dt.date]) -> PublishReport:
    """Replace each date's partition in one batch; dates of the run without stats any more are deleted."""
    t0, ts = time.monotonic(), write_timestamp_us()
    written = write_to_cassandra(stats, _target(cassandra, table, ("stat_date",), ts, True, STATS_DATE_BATCH_ROWS), columns)
    with_rows = {r.stat_date for r in stats.select("stat_date").distinct().collect()}
    emptied = [day for day in dates if day not in with_rows]
    cassandra.delete_stat_dates(table, emptied, ts)
    return PublishReport(written.rows, time.monotonic() - t0, written, dates_cleared=[str(d) for d in emptied])
