"""Publishing lake tables to Cassandra, idempotently per date: clear the dates, then write from Spark.

Re-running a date leaves exactly the new rows, never a mix of old and new.
"""

from __future__ import annotations

import datetime as dt

from pyspark.sql import DataFrame

from lol_platform.resources.cassandra import CassandraResource
from spark_jobs.cassandra_sink import CassandraTarget, write_to_cassandra


def publish(df: DataFrame, cassandra: CassandraResource, table: str, columns: list[str]) -> int:
    """Write df's rows to `table` from the Spark tasks; returns the rows written."""
    target = CassandraTarget(cassandra.contact_points(), cassandra.port, cassandra.keyspace, table)
    return write_to_cassandra(df, target, columns)


# -- per-date replace ------------------------------------------------------------------------------------


def clear_stat_dates(cassandra: CassandraResource, table: str, dates: list[dt.date]) -> None:
    """Stats tables are partitioned by stat_date: a date is one partition delete."""
    session = cassandra.session()
    delete = session.prepare(f"DELETE FROM {cassandra.keyspace}.{table} WHERE stat_date = ?")
    for day in dates:
        session.execute(delete, [day])


def clear_participant_dates(cassandra: CassandraResource, dates: list[dt.date]) -> int:
    """match_participants is partitioned by (match_date, match_id): find a date's matches through
    matches_by_date, delete each match partition, then the index. Returns matches removed."""
    from cassandra.concurrent import execute_concurrent_with_args

    session = cassandra.session()
    ks = cassandra.keyspace
    select = session.prepare(f"SELECT match_id FROM {ks}.matches_by_date WHERE match_date = ?")
    delete_match = session.prepare(f"DELETE FROM {ks}.match_participants WHERE match_date = ? AND match_id = ?")
    delete_index = session.prepare(f"DELETE FROM {ks}.matches_by_date WHERE match_date = ?")
    removed = 0
    for day in dates:
        match_ids = [r.match_id for r in session.execute(select, [day])]
        execute_concurrent_with_args(session, delete_match, [(day, m) for m in match_ids], concurrency=64, raise_on_first_error=True)
        session.execute(delete_index, [day])
        removed += len(match_ids)
    return removed


def count_participants(cassandra: CassandraResource, day: dt.date) -> int:
    """Rows of match_participants for a date, counted match by match through matches_by_date."""
    from cassandra.concurrent import execute_concurrent_with_args

    session = cassandra.session()
    ks = cassandra.keyspace
    match_ids = [r.match_id for r in session.execute(f"SELECT match_id FROM {ks}.matches_by_date WHERE match_date = %s", [day])]
    count = session.prepare(f"SELECT COUNT(*) FROM {ks}.match_participants WHERE match_date = ? AND match_id = ?")
    results = execute_concurrent_with_args(session, count, [(day, m) for m in match_ids], concurrency=64, raise_on_first_error=True)
    return sum(result.result_or_exc.one()[0] for result in results)


def count_stats(cassandra: CassandraResource, table: str, day: dt.date) -> int:
    return cassandra.session().execute(f"SELECT COUNT(*) FROM {cassandra.keyspace}.{table} WHERE stat_date = %s", [day]).one()[0]
