"""The per-date summary in Cassandra (`lol_data.date_summary`): one row per date and serving table, written
after each reconciled publish, so "how many rows on date X" is one partition read at any volume.

The batch assets call `record_participants` / `record_stats` once their reconciliation passed; freshness
checks read it back (`read_dates`) to tell whether a date is published. Pure shaping (`participant_rows`,
`stats_rows`) is apart from the writes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping

from lol_core.dates import DateRange
from lol_core.lake_paths import QUARANTINE_DATE
from lol_core.schemas import DATE_SUMMARY, PARTICIPANTS_PER_MATCH, names
from lol_platform.resources.cassandra import CassandraResource

TABLE = "date_summary"
COLUMNS = names(DATE_SUMMARY)


def participant_rows(
    dates: Iterable[dt.date], lake_index: Mapping[dt.date, Mapping[str, int]], quarantined: Mapping[dt.date, int],
    published_at: dt.datetime, run_id: str | None,
) -> list[dict]:  # fmt: skip
    """One summary row per date of the run (a date the run emptied counts 0), from the published index."""
    return [
        {"match_date": day, "table_name": "match_participants", "row_count": sum(lake_index.get(day, {}).values()),
         "match_count": len(lake_index.get(day, {})), "quarantined_rows": quarantined.get(day, 0),
         "published_at": published_at, "run_id": run_id}
        for day in sorted(set(dates))
    ]  # fmt: skip


def stats_rows(
    table: str, dates: Iterable[dt.date], rows_per_date: Mapping[str, int], games_per_date: Mapping[str, int],
    published_at: dt.datetime, run_id: str | None,
) -> list[dict]:  # fmt: skip
    """One summary row per date of the run; matches are the date's games_played summed over ten participants."""
    return [
        {"match_date": day, "table_name": table, "row_count": rows_per_date.get(str(day), 0),
         "match_count": games_per_date.get(str(day), 0) // PARTICIPANTS_PER_MATCH, "quarantined_rows": None,
         "published_at": published_at, "run_id": run_id}
        for day in sorted(set(dates))
    ]  # fmt: skip


def write(cassandra: CassandraResource, rows: list[dict]) -> None:
    """Each row is one single-partition write (a date's partition), idempotent on (date, table)."""
    session = cassandra.session()
    insert = session.prepare(f"INSERT INTO {cassandra.keyspace}.{TABLE} ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})")
    for row in rows:
        session.execute(insert, [row[c] for c in COLUMNS])


def now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def quarantined_per_date(spark, root: str, dates: DateRange) -> dict[dt.date, int]:
    """Clean-stage quarantine rows per date, from the lake's quarantine partitions of the run's dates."""
    from spark_jobs import lake_io

    frame = lake_io.read_quarantine(spark, root, dates)
    return {r[QUARANTINE_DATE]: r["count"] for r in frame.groupBy(QUARANTINE_DATE).count().collect()}


def record_participants(spark, root: str, cassandra: CassandraResource, dates: DateRange,
                        lake_index: Mapping[dt.date, Mapping[str, int]], run_id: str | None) -> list[dict]:  # fmt: skip
    rows = participant_rows(dates.days(), lake_index, quarantined_per_date(spark, root, dates), now(), run_id)
    write(cassandra, rows)
    return rows


def record_stats(cassandra: CassandraResource, table: str, dates: list[dt.date], rows_per_date: Mapping[str, int],
                 games_per_date: Mapping[str, int], run_id: str | None) -> list[dict]:  # fmt: skip
    rows = stats_rows(table, dates, rows_per_date, games_per_date, now(), run_id)
    write(cassandra, rows)
    return rows


def read_dates(cassandra: CassandraResource, dates: Iterable[dt.date]) -> dict[dt.date, dict[str, dict]]:
    """date -> table -> summary row, one partition read per date."""
    session = cassandra.session()
    select = session.prepare(f"SELECT * FROM {cassandra.keyspace}.{TABLE} WHERE match_date = ?")
    found: dict[dt.date, dict[str, dict]] = {}
    for day in dates:
        for row in session.execute(select, [day]):
            found.setdefault(day, {})[row.table_name] = row._asdict()
    return found
