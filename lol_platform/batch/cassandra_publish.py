"""Publishing lake tables to Cassandra from Spark. The batch assets clear a run's dates first
(CassandraResource.clear_stat_dates / clear_participant_dates), so re-running a date leaves exactly the new
rows, never a mix of old and new.
"""

from __future__ import annotations

from pyspark.sql import DataFrame

from lol_platform.resources.cassandra import CassandraResource
from spark_jobs.cassandra_sink import CassandraTarget, write_to_cassandra


def publish(df: DataFrame, cassandra: CassandraResource, table: str, columns: list[str]) -> int:
    """Write df's rows to `table` from the Spark tasks; returns the rows written."""
    target = CassandraTarget(cassandra.contact_points(), cassandra.port, cassandra.keyspace, table)
    return write_to_cassandra(df, target, columns)
