"""Write a Spark DataFrame to a Cassandra table from the Spark tasks: one request per Cassandra partition,
paced by the server.

There is no Spark-Cassandra connector for Spark 4, so each Spark task opens its own cassandra-driver session.
Rows are brought together by the table's partition key (shuffled and sorted), and each partition is written
as one UNLOGGED batch: a batch on a single partition is applied atomically and in isolation on each replica,
so a reader sees a partition's old rows or its new ones, never a mix. With `replace=True` the batch starts
with a partition delete one microsecond before the run's write timestamp: rows the new set no longer has
disappear in the same step. Every statement carries the run's write timestamp, so a retried request is a
no-op and an older run's late write loses to a newer run.

In-flight requests are bounded by an additive-increase / multiplicative-decrease window: a timeout or an
overloaded server halves it and the request is retried after a backoff, success widens it again. The
publish slows down to the server's pace instead of timing out.

Runs inside Spark's Python workers: it imports nothing but pyspark, pyarrow, numpy and cassandra-driver.
"""

from __future__ import annotations

import heapq
import itertools
import operator
import random
import struct
import threading
import time
from dataclasses import dataclass

from pyspark.sql import DataFrame

from lol_core import faults
from lol_core.cassandra_connection import CassandraConnection
from spark_jobs import cql_values

@dataclass(frozen=True)
class CassandraTarget:
    """Where a DataFrame goes and how: plain settings a Spark task can carry (picklable, no session)."""

    connection: CassandraConnection  # contact points, login, TLS, routing, consistency (travels with the task)
    keyspace: str
    table: str
    partition_key: tuple[str, ...]  # the table's partition key columns: one request per key
    write_timestamp_us: int  # every cell of this publish carries it (retries are idempotent, newer wins)
    replace: bool = False  # each partition written replaces the partition (delete at timestamp - 1)
    max_batch_rows: int = 200  # rows per request; a partition larger than this is written in several
    max_in_flight: int = 256  # ceiling of the adaptive window, per Spark task (see the cassandra service: group commit)
    max_attempts: int = 12  # per request; backoff doubles from 0.05 s up to 5 s between attempts


@dataclass
class WriteStats:
    """What one Spark task (or, summed, the whole publish) did."""

    rows: int = 0
    partitions: int = 0
    requests: int = 0
    retries: int = 0
    smallest_window: int = 0  # the narrowest the in-flight window got (0 = nothing written)

    def __add__(self, other: WriteStats) -> WriteStats:
        windows = [w for w in (self.smallest_window, other.smallest_window) if w]
        return WriteStats(self.rows + other.rows, self.partitions + other.partitions, self.requests + other.requests,
                          self.retries + other.retries, min(windows) if windows else 0)  # fmt: skip


# What each Spark task reports back (its WriteStats, one row).
_STATS_SCHEMA = "rows long, partitions long, requests long, retries long, smallest_window long"


def write_to_cassandra(df: DataFrame, target: CassandraTarget, columns: list[str]) -> WriteStats:
    """Write every row of `df` (the given columns) to the target table, partition by partition."""
    key = list(target.partition_key)
    # A partition's rows meet in one task, next to each other: one request per partition.
    grouped = df.select(*columns, *[k for k in key if k not in columns]).repartition(*key).sortWithinPartitions(*key)
    # Rows reach Python as Arrow columns, not pickled Rows, and are serialized column by column: the JVM ->
    # Python hop and the per-cell conversion and binding were most of the writer's CPU.
    reports = grouped.mapInArrow(lambda batches: _write_task(batches, target, columns), _STATS_SCHEMA).collect()
    return sum((WriteStats(**r.asDict()) for r in reports), WriteStats())


def _write_task(batches, target: CassandraTarget, columns: list[str]):
    import pyarrow as pa

    stats = _write_batches(batches, target, columns)
    yield pa.RecordBatch.from_pylist([vars(stats)])


def _write_batches(batches, target: CassandraTarget, columns: list[str]) -> WriteStats:
    """Arrow batches of rows grouped by partition key (columns, then key columns not among them), written
    partition by partition. A partition may span two batches: rows are grouped across them."""
    stats = WriteStats()
    batches = (b for b in batches if b.num_rows)
    first = next(batches, None)
    if first is None:
        return stats  # nothing to write: no connection either
    cluster = target.connection.cluster()
    try:
        session = cluster.connect(target.keyspace)
        statements = _Statements(session, target, columns)
        writer = PacedWriter(session.execute_async, AdaptiveWindow(target.max_in_flight),
                             target.max_attempts, target.connection.request_timeout_s)  # fmt: skip
        rows = statements.encoded_rows(itertools.chain([first], batches))
        for key, group in itertools.groupby(rows, key=operator.itemgetter(0)):
            for batch, size in statements.batches(key, [values for _, values in group]):
                writer.submit(batch, size)
            stats.partitions += 1
            if stats.partitions == 1:
                faults.point("cassandra.mid_publish")  # test hook (lol_core/faults.py): off unless LOL_FAULT_DIR is set
        writer.drain()
        stats.rows, stats.requests, stats.retries = writer.rows, writer.requests, writer.retries
        stats.smallest_window = writer.window.smallest
    finally:
        cluster.shutdown()
    return stats


class _Statements:
    """The prepared statements of one target, and how rows become their values and requests.

    Values are serialized column by column (spark_jobs.cql_values) and set on each BoundStatement as `bind`
    would have set them: per-value binding in Python was most of the publish's client CPU.
    """

    def __init__(self, session, target: CassandraTarget, columns: list[str]):
        self.target, self.columns = target, columns
        cols = ", ".join(columns)
        marks = ", ".join("?" * len(columns))
        self.insert = session.prepare(f"INSERT INTO {target.table} ({cols}) VALUES ({marks}) USING TIMESTAMP ?")
        where = " AND ".join(f"{k} = ?" for k in target.partition_key)
        self.delete = session.prepare(f"DELETE FROM {target.table} USING TIMESTAMP ? WHERE {where}")
        types = {m.name: m.type for m in [*self.insert.column_metadata, *self.delete.column_metadata]}
        self._encoders = {name: cql_values.encoder(types[name]) for name in {*columns, *target.partition_key}}
        self._timestamp = struct.pack(">q", target.write_timestamp_us)
        self._delete_timestamp = struct.pack(">q", target.write_timestamp_us - 1)  # the new rows win over it

    def encoded_rows(self, batches):
        """(partition key values, row values) per row of the Arrow batches, both as serialized CQL values."""
        for batch in batches:
            encoded = {name: self._encoders[name](batch.column(name)) for name in self._encoders}
            yield from zip(zip(*[encoded[k] for k in self.target.partition_key]), zip(*[encoded[c] for c in self.columns]))

    def batches(self, key: tuple, rows: list[tuple]):
        """(batch, rows) requests for one partition: the delete (if replacing) rides with the first rows."""
        from cassandra.query import BatchStatement, BatchType, BoundStatement

        def bound(prepared, values: list):
            # What `prepared.bind` would store in `values`, already serialized.
            statement = BoundStatement(prepared)
            statement.values = statement.raw_values = values
            return statement

        size = self.target.max_batch_rows
        for start in range(0, max(len(rows), 1), size):
            batch = BatchStatement(batch_type=BatchType.UNLOGGED)
            if start == 0 and self.target.replace:
                batch.add(bound(self.delete, [self._delete_timestamp, *key]))
            chunk = rows[start : start + size]
            for row in chunk:
                batch.add(bound(self.insert, [*row, self._timestamp]))
            yield batch, len(chunk)


class AdaptiveWindow:
    """How many requests may be in flight: +1 per window of successes, halved on overload (AIMD)."""

    def __init__(self, ceiling: int, start: int | None = None):
        self.ceiling = max(1, ceiling)
        self.limit = float(min(self.ceiling, start or max(1, self.ceiling // 4)))
        self.smallest = int(self.limit)

    @property
    def allowed(self) -> int:
        return int(self.limit)

    def on_success(self) -> None:
        self.limit = min(float(self.ceiling), self.limit + 1.0 / self.limit)

    def on_overload(self) -> None:
        self.limit = max(1.0, self.limit / 2)
        self.smallest = min(self.smallest, int(self.limit))


def is_retryable(exc: BaseException) -> bool:
    """Failures that mean "too fast" or "not now" (the write is idempotent, so repeating it is safe)."""
    from cassandra import OperationTimedOut, Unavailable, WriteTimeout
    from cassandra.cluster import NoHostAvailable
    from cassandra.protocol import OverloadedErrorMessage, ServerError, TruncateError

    return isinstance(exc, (OperationTimedOut, WriteTimeout, Unavailable, NoHostAvailable, OverloadedErrorMessage,
                            ServerError, TruncateError, ConnectionError))  # fmt: skip


class PacedWriter:
    """Submits requests through `execute_async` under an AdaptiveWindow, retrying what is retryable."""

    def __init__(self, execute_async, window: AdaptiveWindow, max_attempts: int, timeout_s: float,
                 retryable=is_retryable, sleep=time.sleep):  # fmt: skip
        self._execute_async = execute_async
        self.window = window
        self._max_attempts = max_attempts
        self._timeout_s = timeout_s
        self._retryable = retryable
        self._sleep = sleep
        self._cond = threading.Condition()
        self._in_flight = 0
        self._due: list = []  # heap of (ready_at, seq, statement, rows, attempt) waiting for a retry
        self._seq = itertools.count()
        self._failure: BaseException | None = None
        self.rows = self.requests = self.retries = 0

    def submit(self, statement, rows: int) -> None:
        self._send_when_allowed(statement, rows, attempt=1)

    def drain(self) -> None:
        """Wait for every request, retries included; raise the first failure that exhausted its attempts."""
        while True:
            with self._cond:
                self._raise_failure()
                if not self._due and self._in_flight == 0:
                    return
                if not self._due:
                    self._cond.wait(timeout=0.5)
                    continue
            self._send_due_retry()

    def _send_when_allowed(self, statement, rows: int, attempt: int) -> None:
        while True:
            with self._cond:
                self._raise_failure()
                retry_waiting = bool(self._due) and self._due[0][0] <= time.monotonic()
                if not retry_waiting and self._in_flight < self.window.allowed:
                    self._in_flight += 1
                    break
                if not retry_waiting:
                    self._cond.wait(timeout=0.5)
                    continue
            self._send_due_retry()  # retries go first: they are older
        self._send(statement, rows, attempt)

    def _send_due_retry(self) -> None:
        with self._cond:
            if not self._due:
                return
            ready_at, _, statement, rows, attempt = self._due[0]
            wait = ready_at - time.monotonic()
        if wait > 0:
            self._sleep(min(wait, 0.5))
            return
        with self._cond:
            if self._in_flight >= self.window.allowed:
                self._cond.wait(timeout=0.5)
                return
            heapq.heappop(self._due)
            self._in_flight += 1
            self.retries += 1
        self._send(statement, rows, attempt)

    def _send(self, statement, rows: int, attempt: int) -> None:
        self.requests += 1
        try:
            future = self._execute_async(statement, timeout=self._timeout_s)
        except Exception as exc:  # noqa: BLE001 - a synchronous failure is judged like an asynchronous one
            self._failed(exc, statement, rows, attempt)
            return
        future.add_callbacks(self._succeeded, self._failed, callback_args=(rows,), errback_args=(statement, rows, attempt))

    def _succeeded(self, _result, rows: int) -> None:
        with self._cond:
            self._in_flight -= 1
            self.rows += rows
            self.window.on_success()
            self._cond.notify_all()

    def _failed(self, exc: BaseException, statement, rows: int, attempt: int) -> None:
        with self._cond:
            self._in_flight -= 1
            if self._retryable(exc) and attempt < self._max_attempts:
                self.window.on_overload()
                backoff = min(5.0, 0.05 * 2 ** (attempt - 1)) * random.uniform(0.5, 1.0)
                heapq.heappush(self._due, (time.monotonic() + backoff, next(self._seq), statement, rows, attempt + 1))
            elif self._failure is None:
                self._failure = exc
            self._cond.notify_all()

    def _raise_failure(self) -> None:
        if self._failure is not None:
            raise self._failure
