"""Publish generated matches to Kafka at a steady rate, with delivery reports checked."""

from __future__ import annotations

import datetime as dt
import itertools
import sys
import time
from dataclasses import dataclass, field

from lol_platform.devtools.generator import MatchGenerator, encode, key
from lol_platform.resources.kafka import KafkaResource


@dataclass
class ProduceStats:
    sent: int = 0
    delivered: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def on_delivery(self, err, _msg) -> None:
        if err is None:
            self.delivered += 1
        else:
            self.failed += 1
            if len(self.errors) < 10:
                self.errors.append(str(err))


def produce_matches(
    kafka: KafkaResource,
    count: int | None,
    rate: float | None = None,
    seed: int = 0,
    start_date: dt.date | None = None,
    days: int = 3,
    late_share: float = 0.05,
    per_day: float | None = None,
    progress_every_s: float = 5.0,
    out=sys.stderr,
    should_stop=lambda: False,
) -> ProduceStats:
    """Send `count` matches (None: until `should_stop()` or Ctrl-C) at `rate` matches/s (None: as fast as possible).

    `per_day`: matches a date gets before the clock moves on to the next (default: a bounded run spreads its
    `count` evenly over the dates, an endless one laps them 1,000 a day)."""
    kafka.ensure_topic()
    producer = kafka.producer()
    if per_day is None:
        per_day = count / days if count else 1000.0
    generator = MatchGenerator(seed=seed, start_date=start_date, days=days, late_share=late_share, matches_per_day=max(per_day, 1.0))
    stats = ProduceStats()
    t0 = last_report = time.monotonic()
    sequence = range(count) if count is not None else itertools.count()
    try:
        for i in sequence:
            if should_stop():
                break
            match = generator.match()
            _send(producer, kafka.topic, key(match), encode(match), stats)
            if i % 1000 == 0:
                producer.poll(0)  # serve delivery reports
            if rate:
                # Pace against the schedule, not per message, so the rate holds on average.
                ahead = (i + 1) / rate - (time.monotonic() - t0)
                if ahead > 0:
                    time.sleep(ahead)  # not producer.poll(ahead): it returns early on each delivery report
                    producer.poll(0)
            now = time.monotonic()
            if now - last_report >= progress_every_s:
                last_report = now
                print(f"produced {stats.sent} matches ({stats.sent / (now - t0):.0f}/s), delivered {stats.delivered}, failed {stats.failed}", file=out, flush=True)
    except KeyboardInterrupt:
        print("interrupted: flushing what was sent", file=out)
    finally:
        remaining = producer.flush(30)
        stats.seconds = time.monotonic() - t0
    if remaining:
        stats.failed += remaining
        stats.errors.append(f"{remaining} messages not delivered within 30 s of flush: is Kafka at {kafka.bootstrap_servers} up?")
    return stats


def _send(producer, topic: str, k: bytes, value: bytes, stats: ProduceStats) -> None:
    while True:
        try:
            producer.produce(topic, value=value, key=k, on_delivery=stats.on_delivery)
            stats.sent += 1
            return
        except BufferError:
            producer.poll(0.5)  # local queue full: let deliveries drain, then retry
