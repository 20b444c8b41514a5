"""The long-running stream (`StreamIndexer.run`, as `lol-platform stream` runs it) rides out outages.

Outages are made cheaply, without touching the shared stack: Elasticsearch is reached through a small TCP
relay on a port of its own, which the test closes (nothing listens: connection refused, and open
connections are cut) and opens again. A Kafka commit outage ("Waiting for coordinator", as after a broker
restart) is injected into the consumer's commit. Each test runs `run()` in a thread and checks that the
loop kept going through the outage, committed nothing Elasticsearch had not acknowledged, and then
indexed every message exactly once.
"""

from __future__ import annotations

import datetime as dt
import socket
import threading
import time
import uuid
from urllib.parse import urlparse

import pytest
from confluent_kafka import KafkaError, KafkaException, TopicPartition

from lol_platform.resources import ElasticsearchResource
from lol_platform.speed.indexer import StreamConfig, StreamIndexer
from lol_platform_tests.support.matches import encode, make_match

pytestmark = pytest.mark.stack
UTC = dt.timezone.utc


class Relay:
    """A TCP relay 127.0.0.1:<port> -> target that can be closed (refuses and cuts connections) and reopened."""

    def __init__(self, target_host: str, target_port: int):
        self.target = (target_host, target_port)
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self._listener: socket.socket | None = None
        self._conns: list[socket.socket] = []
        self._lock = threading.Lock()

    def open(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def close(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None:
            try:
                listener.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept(); close() alone would not stop it
            except OSError:
                pass
            listener.close()
        with self._lock:
            conns, self._conns = self._conns, []
        for conn in conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            conn.close()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # closed
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._conns += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass


class FlakyCommits:
    """The real consumer, except that its next `failures` commits fail as after a Kafka broker restart."""

    def __init__(self, consumer, failures: int):
        self._consumer, self.failures, self.failed = consumer, failures, 0

    def commit(self, *args, **kwargs):
        if self.failed < self.failures:
            self.failed += 1
            raise KafkaException(KafkaError(KafkaError._WAIT_COORD, "Waiting for coordinator", retriable=True))
        return self._consumer.commit(*args, **kwargs)

    def __getattr__(self, name):
        return getattr(self._consumer, name)


def _produce(kafka, matches: list[dict]) -> None:
    producer = kafka.producer()
    for m in matches:
        producer.produce(kafka.topic, key=m["metadata"]["matchId"].encode(), value=encode(m))
    assert producer.flush(30) == 0


def _matches(n: int, prefix: str) -> list[dict]:
    return [make_match(f"{prefix}_{i}", dt.datetime(2026, 2, 1 + i % 3, 12, tzinfo=UTC), duration_s=1500 + 30 * i) for i in range(n)]


def _expected_ids(matches: list[dict]) -> set[str]:
    return {f"{m['metadata']['matchId']}_{p['participantId']}" for m in matches for p in m["info"]["participants"]}


def _indexed_ids(es: ElasticsearchResource) -> set[str]:
    client = es.client()
    if not client.indices.exists(index=es.index):
        return set()
    client.indices.refresh(index=es.index)
    hits = client.search(index=es.index, body={"query": {"match_all": {}}, "size": 10_000, "_source": False})["hits"]["hits"]
    return {h["_id"] for h in hits}


def _end_offsets(kafka) -> dict[int, int]:
    consumer = kafka.consumer(f"probe-{uuid.uuid4().hex[:8]}")
    try:
        ends = {p: consumer.get_watermark_offsets(TopicPartition(kafka.topic, p), timeout=10)[1] for p in kafka.partitions()}
        return {p: o for p, o in ends.items() if o > 0}
    finally:
        consumer.close()


class RunInThread:
    """indexer.run() in a thread, with its log lines and whatever it raised."""

    def __init__(self, indexer: StreamIndexer):
        self.indexer, self.lines, self.error, self.stats = indexer, [], None, None
        indexer.log = lambda line: self.lines.append((time.monotonic(), line))
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        try:
            self.stats = self.indexer.run(should_stop=self._stop.is_set, report_every_s=3600)
        except BaseException as exc:  # noqa: BLE001 - the test asserts there was none
            self.error = exc

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self.thread.join(60)

    def wait(self, what: str, condition, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while not condition():
            assert self.thread.is_alive(), f"run() ended while waiting for {what}: {self.error!r}\n{self.log_text()}"
            assert time.monotonic() < deadline, f"timed out waiting for {what}\n{self.log_text()}"
            time.sleep(0.2)

    def log_text(self) -> str:
        return "\n".join(line for _, line in self.lines[-30:])


def _config(**kw) -> StreamConfig:
    return StreamConfig(group_id=f"stream-outage-{uuid.uuid4().hex[:8]}", batch_max_messages=5,
                        retry_initial_s=0.1, retry_max_s=0.4, **kw)  # fmt: skip


@pytest.mark.parametrize("max_attempts", [2, None], ids=["step-gives-up-run-retries", "step-retries-forever"])
def test_elasticsearch_outage_is_ridden_out_and_everything_is_indexed_once(kafka, elasticsearch, max_attempts):
    url = urlparse(elasticsearch.url)
    relay = Relay(url.hostname, url.port)
    relay.open()
    through_relay = ElasticsearchResource(url=f"http://127.0.0.1:{relay.port}", index=elasticsearch.index)
    config = _config(max_attempts=max_attempts)
    matches = _matches(12, f"EUW1_esout{max_attempts}")
    try:
        with StreamIndexer(kafka, through_relay, config) as indexer:
            relay.close()  # Elasticsearch goes away with the stream running: refused, open connections cut
            _produce(kafka, matches)
            with RunInThread(indexer) as run:
                run.wait("three logged Elasticsearch failures",
                         lambda: sum("Elasticsearch" in line for _, line in run.lines) >= 3, timeout_s=60)  # fmt: skip
                assert _indexed_ids(elasticsearch) == set(), "documents were indexed through a closed port"
                assert kafka.committed_offsets(config.group_id) == {}, "offsets were committed while Elasticsearch was down"
                time.sleep(2)  # more failed attempts: the loop must keep going, with its backoff capped
                assert run.thread.is_alive(), f"run() ended during the outage: {run.error!r}\n{run.log_text()}"

                relay.open()  # Elasticsearch is back
                run.wait("every document indexed", lambda: _indexed_ids(elasticsearch) == _expected_ids(matches), timeout_s=60)
                run.wait("the offsets committed", lambda: kafka.committed_offsets(config.group_id) == _end_offsets(kafka), timeout_s=30)
            assert run.error is None, f"run() raised {run.error!r}\n{run.log_text()}"
    finally:
        relay.close()
    # Exactly once: each message acknowledged and counted once, however often its batch was retried.
    assert run.stats.messages == len(matches), run.log_text()
    assert run.stats.documents == 10 * len(matches)
    assert len(_indexed_ids(elasticsearch)) == 10 * len(matches)
    assert any("recovered" in line for _, line in run.lines) or max_attempts is None, run.log_text()


def test_failed_offset_commits_are_ridden_out_and_committed_later(kafka, elasticsearch):
    config = _config()
    matches = _matches(10, "EUW1_commitout")
    _produce(kafka, matches)
    with StreamIndexer(kafka, elasticsearch, config) as indexer:
        flaky = FlakyCommits(indexer._consumer, failures=4)
        indexer._consumer = flaky
        with RunInThread(indexer) as run:
            run.wait("four failed commits", lambda: flaky.failed >= 4, timeout_s=60)
            run.wait("every document indexed", lambda: _indexed_ids(elasticsearch) == _expected_ids(matches), timeout_s=60)
            run.wait("the offsets committed", lambda: kafka.committed_offsets(config.group_id) == _end_offsets(kafka), timeout_s=30)
        indexer._consumer = flaky._consumer  # closed by __exit__
    assert run.error is None, f"run() raised {run.error!r}\n{run.log_text()}"
    outages = [line for _, line in run.lines if "Waiting for coordinator" in line]
    assert len(outages) == 4, run.log_text()
    assert any("recovered" in line for _, line in run.lines), run.log_text()
    assert run.stats.messages == len(matches) and run.stats.documents == 10 * len(matches), run.log_text()
    # the backoff between failed commits grew (0.1, 0.2, 0.4, 0.4 s): the loop waited rather than spun
    times = [t for t, line in run.lines if "Waiting for coordinator" in line]
    assert times[-1] - times[0] >= 0.1 + 0.2 + 0.4 - 0.05, run.log_text()
