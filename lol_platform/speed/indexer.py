"""The one code path of the speed layer, used by the `match_stream_index` asset and `lol-platform stream`.

Consume a micro-batch (consumer group `lol-platform-stream`), turn it into documents, bulk-index them,
and commit the offsets only after Elasticsearch acknowledged every document. A failure retries the same
batch with backoff (ids are deterministic, so a retry overwrites rather than doubles) and never commits.

The long-running `run()` rides out outages: a Kafka or Elasticsearch failure is logged and retried with
capped backoff, never ends the loop. A batch Elasticsearch did not acknowledge is kept and indexed again;
offsets Kafka did not take are committed with the next commit. The bounded `drain()` (the asset) fails
with ServiceUnavailable instead.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass, field

import numpy as np
from confluent_kafka import KafkaError, KafkaException, TopicPartition

from lol_core import faults
from lol_platform.partitions import date_window
from lol_platform.resources.elasticsearch import ElasticsearchResource
from lol_platform.resources.errors import ServiceRejected, ServiceUnavailable
from lol_platform.resources.kafka import KafkaMessage, KafkaResource, next_offsets
from lol_platform.speed.documents import DocumentBatch, build_documents

STREAM_GROUP = "lol-platform-stream"


@dataclass(frozen=True)
class StreamConfig:
    group_id: str = STREAM_GROUP
    batch_max_messages: int = 2_000
    batch_max_seconds: float = 1.0
    chunk_size: int = 1_000  # documents per bulk request (measured: see README, speed layer)
    bulk_threads: int = 2
    retry_initial_s: float = 0.5
    retry_max_s: float = 10.0
    max_attempts: int | None = 8  # None: retry until it works (the long-running stream)


@dataclass
class StreamStats:
    messages: int = 0
    documents: int = 0
    quarantined: int = 0
    batches: int = 0
    retries: int = 0
    latencies_ms: list[float] = field(default_factory=list)
    committed: dict[int, int] = field(default_factory=dict)
    seconds: float = 0.0

    def add(self, other: StreamStats) -> None:
        self.messages += other.messages
        self.documents += other.documents
        self.quarantined += other.quarantined
        self.batches += other.batches
        self.retries += other.retries
        self.latencies_ms = (self.latencies_ms + other.latencies_ms)[-100_000:]  # bounded for `run`
        self.committed.update(other.committed)

    def latency_percentiles(self) -> dict[str, float]:
        if not self.latencies_ms:
            return {}
        p50, p95, p99 = np.percentile(self.latencies_ms, [50, 95, 99])
        return {"p50_ms": round(float(p50), 1), "p95_ms": round(float(p95), 1), "p99_ms": round(float(p99), 1)}


class StreamIndexer:
    def __init__(self, kafka: KafkaResource, es: ElasticsearchResource, config: StreamConfig = StreamConfig(), log=print):
        self.kafka, self.es, self.config, self.log = kafka, es, config, log
        self.quarantine_index = f"{es.index}_quarantine"
        self._consumer = None
        self._unacked: list[KafkaMessage] | None = None  # consumed, not yet acknowledged by Elasticsearch
        self._uncommitted: dict[int, int] = {}  # acknowledged by Elasticsearch, not yet committed to Kafka
        self._pending_stats = StreamStats()  # what those acknowledged batches did, reported once committed
        self._should_stop = lambda: False  # set by run(): lets a retry loop end on a stop request

    # -- lifecycle ------------------------------------------------------------------------------
    def __enter__(self) -> StreamIndexer:
        self.kafka.health_check()
        self.es.ensure_index()
        self.kafka.ensure_topic()
        self._consumer = self.kafka.consumer(self.config.group_id, **{"enable.partition.eof": False})
        self._consumer.subscribe([self.kafka.topic])
        return self

    def __exit__(self, *exc) -> None:
        if self._consumer is not None:
            self._consumer.close()  # uncommitted offsets are simply re-read by the next consumer
            self._consumer = None

    # -- one micro-batch ------------------------------------------------------------------------
    def step(self) -> StreamStats:
        """One micro-batch: consume, index until acknowledged, commit. Returns what the commit covered.

        If indexing fails, the consumed batch is kept and the next step indexes it again (not new messages);
        if the commit fails, the acknowledged offsets are kept and the next step commits them. Either way the
        failure raises (ServiceUnavailable), and nothing unacknowledged is ever committed.
        """
        if self._unacked is None:
            self._unacked = self._consume()
        messages = self._unacked
        if messages:
            batch = build_documents(messages, dt.datetime.now(dt.timezone.utc), date_window())
            retries = self._index_until_acknowledged(batch)  # raises: the batch stays in self._unacked
            faults.point("stream.indexed")  # test hook (lol_core/faults.py): off unless LOL_FAULT_DIR is set
            acked_ms = time.time() * 1000
            stats = StreamStats(messages=len(messages), documents=len(batch.documents), quarantined=len(batch.quarantined),
                                batches=1, retries=retries, latencies_ms=[acked_ms - created for created in batch.created_ms])  # fmt: skip
            self._pending_stats.add(stats)
            for partition, offset in next_offsets(messages).items():
                self._uncommitted[partition] = max(self._uncommitted.get(partition, 0), offset)
        self._unacked = None
        if not self._uncommitted:
            return StreamStats()
        offsets = dict(self._uncommitted)
        self._commit(offsets)  # raises: the offsets stay in self._uncommitted for the next commit
        self._uncommitted.clear()
        done, self._pending_stats = self._pending_stats, StreamStats()
        done.committed = offsets
        return done

    def _consume(self) -> list[KafkaMessage]:
        out: list[KafkaMessage] = []
        try:
            raw = self._consumer.consume(num_messages=self.config.batch_max_messages, timeout=self.config.batch_max_seconds)
        except KafkaException as exc:
            raise self.kafka.service_error(exc) from exc
        errors = []
        for msg in raw:
            err = msg.error()
            if err is not None:
                if err.code() != KafkaError._PARTITION_EOF:
                    errors.append(err)
                continue
            out.append(KafkaMessage.from_record(msg))
        if errors and (rejected := self.kafka.rejection(errors)) is not None:
            raise rejected  # a refused principal or certificate: retrying will not help
        if errors and (not out or any(e.fatal() for e in errors)):
            raise ServiceUnavailable("Kafka", self.kafka.bootstrap_servers, "; ".join(e.str() for e in errors[:3]), "LOL_KAFKA_BOOTSTRAP")
        if errors:  # the messages read alongside are kept: the consumer's position is already past them
            self.log(f"Kafka reported {len(errors)} error(s) with {len(out)} messages, kept: {errors[0].str()}")
        return out

    def _commit(self, offsets: dict[int, int]) -> None:
        try:
            self._consumer.commit(offsets=[TopicPartition(self.kafka.topic, p, o) for p, o in offsets.items()], asynchronous=False)
        except KafkaException as exc:
            # A rebalance (another indexer joined the group) moved these partitions away: their new owner
            # re-reads from the last commit, and the deterministic ids make that a harmless overwrite.
            if exc.args[0].code() in _REBALANCE_ERRORS:
                self.log(f"offsets not committed, partitions were reassigned: {exc.args[0].str()}")
                return
            raise self.kafka.service_error(exc) from exc

    def _index_until_acknowledged(self, batch: DocumentBatch) -> int:
        """Bulk-index documents and quarantine records; retry the whole batch with backoff on failure."""
        from elasticsearch import exceptions

        delay, attempt = self.config.retry_initial_s, 0
        while True:
            attempt += 1
            try:
                rejected = self._bulk(self.es.index, batch.documents)
                rejected += self._bulk(self.quarantine_index, batch.quarantined)
                if rejected:
                    # Documents Elasticsearch refuses (e.g. a mapping conflict) are quarantined, not retried forever.
                    self._bulk(self.quarantine_index, rejected)
                    batch.quarantined += rejected
                return attempt - 1
            except (exceptions.ConnectionError, exceptions.TransportError, _RetryableBulkError) as exc:
                if (self.config.max_attempts is not None and attempt >= self.config.max_attempts) or self._should_stop():
                    raise ServiceUnavailable("Elasticsearch", self.es.url, f"{exc} (after {attempt} attempts; nothing committed)", "LOL_ES_URL") from exc
                self.log(f"Elasticsearch at {self.es.url} failed ({type(exc).__name__}: {str(exc)[:200]}); retry {attempt} in {delay:.1f}s, offsets not committed")
                _sleep_unless(self._should_stop, delay)
                delay = min(delay * 2, self.config.retry_max_s)

    def _bulk(self, index: str, docs: list[dict]) -> list[dict]:
        """Index docs; return quarantine records for documents rejected with a 4xx. 429/5xx raise to retry.

        A document with a "_version" is indexed with external versioning (external_gte): Elasticsearch keeps
        the highest version, so a copy of a match sent earlier never overwrites a newer one, whatever the
        order they are indexed in. Its 409 (the index holds a newer copy) is success, not a rejection.
        """
        from elasticsearch.helpers import parallel_bulk

        if not docs:
            return []
        actions = (_action(index, d) for d in docs)
        if index == self.es.index:
            actions = faults.midway(actions, len(docs), "stream.mid_bulk")  # test hook (lol_core/faults.py)
        rejected: list[dict] = []
        for ok, item in parallel_bulk(
            self.es.client(), actions, thread_count=self.config.bulk_threads, chunk_size=self.config.chunk_size,
            raise_on_error=False, raise_on_exception=True,
        ):  # fmt: skip
            if ok:
                continue
            result = item.get("index", {})
            status = result.get("status", 0)
            if status == 409 and _version_conflict(result):
                continue  # a newer copy of this document is already indexed: it stays
            if status == 429 or status >= 500:
                raise _RetryableBulkError(f"bulk item {result.get('_id')} failed with {status}: {result.get('error')}")
            rejected.append({
                "_id": f"rejected-{result.get('_id')}", "stage": "stream", "reason": f"rejected by Elasticsearch: {result.get('error')}",
                "quarantined_at": dt.datetime.now(dt.timezone.utc).isoformat(), "raw": str(result.get("_id")),
            })  # fmt: skip
        return rejected

    # -- loops ----------------------------------------------------------------------------------
    def lag(self) -> int:
        """Messages not yet consumed by this consumer on its assigned partitions."""
        total = 0
        for tp in self._consumer.assignment():
            low, high = self._consumer.get_watermark_offsets(tp, timeout=5, cached=False)
            position = self._consumer.position([tp])[0].offset
            total += high - (position if position >= 0 else self._committed_or(tp, low))
        return total

    def _committed_or(self, tp: TopicPartition, low: int) -> int:
        committed = self._consumer.committed([tp], timeout=5)[0].offset
        return committed if committed >= 0 else low

    def drain(self, max_seconds: float, idle_batches_to_stop: int = 2, progress=None) -> StreamStats:
        """Catch up: micro-batches until the backlog is empty (or time is up). Used by the asset."""
        total, idle, t0 = StreamStats(), 0, time.monotonic()
        while time.monotonic() - t0 < max_seconds:
            stats = self.step()
            total.add(stats)
            if progress and stats.messages:
                progress(total)
            idle = idle + 1 if stats.messages == 0 else 0
            if idle >= idle_batches_to_stop and self._caught_up(time.monotonic() - t0):
                break
        total.seconds = time.monotonic() - t0
        return total

    def _caught_up(self, elapsed_s: float) -> bool:
        """No lag on our partitions; or, once the group had time to settle, no partitions at all (other
        indexers of the group, e.g. a running `lol-platform stream`, own them)."""
        if self._consumer.assignment():
            return self.lag() == 0
        return elapsed_s > 15

    def run(self, should_stop=lambda: False, report_every_s: float = 10.0) -> StreamStats:
        """Until stopped: second-level freshness. Start more of these in the same group to scale out.

        A Kafka or Elasticsearch outage never ends the loop: each failed step is logged and retried after a
        backoff (retry_initial_s doubling up to retry_max_s, reset by a step that works). The batch in
        flight is kept and its offsets are committed only once Elasticsearch acknowledged it.
        """
        total, t0, last = StreamStats(), time.monotonic(), time.monotonic()
        delay, outage_since = None, None
        self._should_stop = should_stop
        try:
            while not should_stop():
                try:
                    total.add(self.step())
                except ServiceRejected:
                    raise  # refused credentials or certificate: waiting will not fix them, the message says what will
                except (ServiceUnavailable, KafkaException) as exc:
                    outage_since = outage_since or time.monotonic()
                    delay = retry_delay(delay, self.config.retry_initial_s, self.config.retry_max_s)
                    total.retries += 1
                    self.log(f"outage, {time.monotonic() - outage_since:.0f}s so far ({self._in_flight()}): {exc} "
                             f"-- retrying in {delay:.1f}s")  # fmt: skip
                    _sleep_unless(should_stop, delay)
                    continue
                if outage_since is not None:
                    self.log(f"recovered after {time.monotonic() - outage_since:.0f}s; offsets committed: {total.committed}")
                    delay, outage_since = None, None
                if time.monotonic() - last >= report_every_s:
                    last = time.monotonic()
                    self.log(f"indexed {total.documents} docs from {total.messages} messages, quarantined {total.quarantined}, latency {total.latency_percentiles()}")
        finally:
            self._should_stop = lambda: False
        total.seconds = time.monotonic() - t0
        return total

    def _in_flight(self) -> str:
        unacked = len(self._unacked or [])
        return (f"{unacked} messages kept until Elasticsearch acknowledges them, "
                f"offsets {self._uncommitted or '{}'} acknowledged but not committed")  # fmt: skip


def retry_delay(previous: float | None, initial_s: float, max_s: float) -> float:
    """The next backoff: initial_s, then doubling, never above max_s."""
    return min(initial_s if previous is None else previous * 2, max_s)


def _sleep_unless(should_stop, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not should_stop() and time.monotonic() < deadline:
        time.sleep(min(0.2, max(deadline - time.monotonic(), 0)))


def _action(index: str, doc: dict) -> dict:
    action = {"_index": index, "_id": doc["_id"], "_source": {k: v for k, v in doc.items() if k not in ("_id", "_version")}}
    if doc.get("_version") is not None:
        action.update(_version=doc["_version"], _version_type="external_gte")
    return action


def _version_conflict(result: dict) -> bool:
    error = result.get("error")
    return isinstance(error, dict) and error.get("type") == "version_conflict_engine_exception"


class _RetryableBulkError(Exception):
    pass


_REBALANCE_ERRORS = {
    KafkaError.REBALANCE_IN_PROGRESS,
    KafkaError.ILLEGAL_GENERATION,
    KafkaError.UNKNOWN_MEMBER_ID,
    KafkaError._NO_OFFSET,
}
