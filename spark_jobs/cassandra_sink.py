"""Write a Spark DataFrame to a Cassandra table: concurrent prepared inserts from every Spark partition.

There is no Spark-Cassandra connector for Spark 4, so each Spark task opens its own cassandra-driver
session and writes its rows with `execute_concurrent_with_args`. Runs inside Spark's Python workers:
it imports nothing but pyspark and cassandra-driver.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T

TIMESTAMP_MS_SUFFIX = "__ms"


@dataclass(frozen=True)
class CassandraTarget:
    """Where a DataFrame goes: plain settings a Spark task can carry (picklable, no session)."""

    hosts: tuple[str, ...]
    port: int
    keyspace: str
    table: str
    concurrency: int = 64


def write_to_cassandra(df: DataFrame, target: CassandraTarget, columns: list[str]) -> int:
    """Insert every row of `df` (the given columns) into the target table; returns the rows written."""
    timestamps = {f.name for f in df.schema.fields if isinstance(f.dataType, T.TimestampType)}
    # Timestamps travel as epoch ms: Python workers would otherwise turn them into naive local times.
    selected = df.select(*[
        (F.unix_millis(F.col(c)).alias(c + TIMESTAMP_MS_SUFFIX) if c in timestamps else F.col(c)) for c in columns
    ])  # fmt: skip
    return selected.rdd.mapPartitions(lambda rows: [_write_partition(rows, target, columns, timestamps)]).sum()


def _write_partition(rows, target: CassandraTarget, columns: list[str], timestamps: set[str]) -> int:
    from cassandra.cluster import Cluster
    from cassandra.concurrent import execute_concurrent_with_args

    rows = list(rows)
    if not rows:
        return 0
    cluster = Cluster(list(target.hosts), port=target.port, protocol_version=5)
    try:
        session = cluster.connect(target.keyspace)
        insert = session.prepare(
            f"INSERT INTO {target.table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
        )
        params = (tuple(_value(row, c, timestamps) for c in columns) for row in rows)
        execute_concurrent_with_args(session, insert, params, concurrency=target.concurrency, raise_on_first_error=True)
    finally:
        cluster.shutdown()
    return len(rows)


def _value(row, column: str, timestamps: set[str]):
    if column in timestamps:
        ms = row[column + TIMESTAMP_MS_SUFFIX]
        return None if ms is None else dt.datetime.fromtimestamp(ms / 1000, tz=dt.timezone.utc)
    return row[column]
