"""The flow the multi-node test keeps running through its kills, each part in a thread of its own:

- `MatchProducer`: matches (and some invalid messages) at a steady rate through the platform's producer
  (acks=all, idempotent); it keeps what the brokers acknowledged, per date: the expected counts.
- `SensorLoop`: `kafka_match_sensor` evaluated tick after tick with its cursor, as the daemon does; a tick that
  fails (a broker just died) is counted and the next one goes on from the same cursor.
- `IndexerLoop`: the stream indexer's long-running loop (`StreamIndexer.run`, as `lol-platform stream`).
"""

from __future__ import annotations

import datetime as dt
import threading
import time
import uuid
from collections import defaultdict

from dagster import DagsterInstance, SensorResult, build_sensor_context

from lol_core.door import ContractViolation, parse_match
from lol_platform.devtools.generator import MatchGenerator, encode, key
from lol_platform.ingestion.sensor import IngestSettings, kafka_match_sensor
from lol_platform.partitions import date_window
from lol_platform.speed.indexer import StreamConfig, StreamIndexer

Key = tuple[str, int]
INVALID = [b"{this is not json", b"[1, 2, 3]", b'{"metadata": {"matchId": "EUW1_broken"}}']


class Background:
    """A loop in a daemon thread until stop(); what it raised is kept for the test to assert on."""

    def __init__(self, name: str):
        self.error: BaseException | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._guarded, name=name, daemon=True)

    def _guarded(self) -> None:
        try:
            self.loop(self._stop)
        except BaseException as exc:  # noqa: BLE001 - asserted by the test
            self.error = exc

    def loop(self, stop: threading.Event) -> None:
        raise NotImplementedError

    def start(self):
        self._thread.start()
        return self

    def stop(self, timeout_s: float = 90) -> None:
        self._stop.set()
        self._thread.join(timeout_s)

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()


class MatchProducer(Background):
    """`total` matches over `days` dates from `start`, `per_second` of them, one invalid message every
    `invalid_every`; the acknowledged valid ones are the flow's expected rows."""

    def __init__(self, kafka, start: dt.date, days: int, total: int, per_second: float, invalid_every: int = 20):
        super().__init__("match-producer")
        self.kafka, self.total, self.per_second, self.invalid_every = kafka, total, per_second, invalid_every
        self.generator = MatchGenerator(seed=12, start_date=start, days=days, late_share=0.0, matches_per_day=total / days)
        self.expected: dict[dt.date, set[Key]] = defaultdict(set)
        self.acked = self.failed = self.invalid_acked = 0
        self._lock = threading.Lock()

    def loop(self, stop: threading.Event) -> None:
        producer = self.kafka.producer()
        window = date_window()
        for i in range(self.total):
            if stop.is_set():
                break
            match = self.generator.match()
            value = encode(match)
            producer.produce(self.kafka.topic, key=key(match), value=value, on_delivery=self._delivered(value, window))
            if i % self.invalid_every == 0:
                bad = INVALID[(i // self.invalid_every) % len(INVALID)]
                producer.produce(self.kafka.topic, key=b"bad", value=bad, on_delivery=self._delivered(bad, window))
            producer.poll(0)
            time.sleep(1 / self.per_second)
        producer.flush(120)

    def _delivered(self, value: bytes, window):
        def on_delivery(err, _msg) -> None:
            with self._lock:
                if err is not None:
                    self.failed += 1  # not acknowledged: not expected anywhere (the test asserts there is none)
                    return
                try:
                    rows = parse_match(value, window)
                except ContractViolation:
                    self.invalid_acked += 1
                    return
                self.acked += 1
                for row in rows:
                    self.expected[row["match_date"]].add((row["match_id"], row["participant_id"]))

        return on_delivery

    @property
    def done(self) -> bool:
        return not self.alive


class SensorLoop(Background):
    """The landing sensor, evaluated back to back (a pause between ticks, as the daemon's interval)."""

    def __init__(self, kafka, lake, pause_s: float = 1.0):
        super().__init__("sensor-loop")
        self.kafka, self.lake, self.pause_s = kafka, lake, pause_s
        self.cursor: str | None = None
        self.landed_rows = 0
        self.ticks = 0
        self.failed_ticks: list[str] = []
        self.idle = False  # the last tick found nothing new

    def loop(self, stop: threading.Event) -> None:
        ingest = IngestSettings(max_messages=2_000, max_seconds=5, group_id=f"mn-batch-{uuid.uuid4().hex[:8]}")
        # One instance, made and disposed of in this thread: its SQLite storage refuses any other thread.
        with DagsterInstance.ephemeral() as instance:
            while not stop.is_set():
                try:
                    self._tick(ingest, instance)
                except Exception as exc:  # noqa: BLE001 - a failed tick: the next one retries from the same cursor
                    self.failed_ticks.append(f"{type(exc).__name__}: {exc}"[:300])
                stop.wait(self.pause_s)

    def _tick(self, ingest: IngestSettings, instance: DagsterInstance) -> None:
        context = build_sensor_context(cursor=self.cursor, instance=instance,
                                       resources={"kafka": self.kafka, "lake": self.lake, "ingest": ingest})  # fmt: skip
        result = kafka_match_sensor(context)
        self.ticks += 1
        if isinstance(result, SensorResult):
            self.landed_rows += sum(e.metadata["batch_rows"].value for e in result.asset_events if "batch_rows" in e.metadata)
            self.cursor = result.cursor or self.cursor
            self.idle = not result.asset_events
        else:
            self.cursor = context.cursor or self.cursor
            self.idle = True


class IndexerLoop(Background):
    """The stream indexer's own run loop, which rides out outages itself."""

    def __init__(self, kafka, es):
        super().__init__("stream-indexer")
        self.config = StreamConfig(group_id=f"mn-stream-{uuid.uuid4().hex[:8]}", max_attempts=None, retry_max_s=2.0)
        self.kafka, self.es = kafka, es
        self.lines: list[str] = []
        self.stats = None

    def loop(self, stop: threading.Event) -> None:
        with StreamIndexer(self.kafka, self.es, self.config, log=self.lines.append) as indexer:
            self.stats = indexer.run(should_stop=stop.is_set, report_every_s=3600)


def wait_for(what: str, condition, timeout_s: float, *loops: Background) -> None:
    """Wait until `condition()`; fail naming `what` if it never holds, or at once if a loop died."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        for loop in loops:
            assert loop.error is None, f"{loop._thread.name} failed while waiting for {what}: {loop.error!r}"
        assert time.monotonic() < deadline, f"{what}: not reached within {timeout_s:.0f} s"
        time.sleep(0.5)
