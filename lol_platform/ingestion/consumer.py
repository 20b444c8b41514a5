"""A bounded poll of the match topic from explicit offsets (the sensor cursor), never auto-committed."""

from __future__ import annotations

import time
from dataclasses import dataclass

from confluent_kafka import OFFSET_BEGINNING, KafkaError, KafkaException, TopicPartition

from lol_platform.resources.errors import ServiceUnavailable
from lol_platform.resources.kafka import KafkaMessage, KafkaResource, next_offsets


@dataclass
class PollResult:
    messages: list[KafkaMessage]
    start_offsets: dict[int, int]  # partition -> first offset asked for
    high_watermarks: dict[int, int]
    seconds: float

    def next_offsets(self) -> dict[int, int]:
        """Cursor after this poll: one past the last message read per partition (or unchanged)."""
        return next_offsets(self.messages, {p: o for p, o in self.start_offsets.items() if o >= 0})

    def lag(self) -> int:
        nxt = self.next_offsets()
        return sum(max(high - nxt.get(p, 0), 0) for p, high in self.high_watermarks.items())


def poll_bounded(
    kafka: KafkaResource, group_id: str, cursor: dict[int, int], max_messages: int, max_seconds: float
) -> PollResult:
    """Read at most `max_messages` within `max_seconds`, from the cursor's offsets; stop early once caught up.

    Offsets come from the cursor (assign + seek), else from the group's committed offsets, else the start.
    """
    kafka.health_check()
    partitions = kafka.partitions()
    t0 = time.monotonic()
    consumer = kafka.consumer(group_id, **{"enable.partition.eof": True, "fetch.max.bytes": 52428800})
    try:
        start = _start_offsets(consumer, kafka.topic, partitions, cursor)
        highs = {p: consumer.get_watermark_offsets(TopicPartition(kafka.topic, p), timeout=kafka.request_timeout_s)[1] for p in partitions}
        pending = {p for p in partitions if highs[p] > max(start[p], 0)}
        consumer.assign([TopicPartition(kafka.topic, p, start[p] if start[p] >= 0 else OFFSET_BEGINNING) for p in pending])
        messages: list[KafkaMessage] = []
        deadline = t0 + max_seconds
        while pending and len(messages) < max_messages and time.monotonic() < deadline:
            batch = consumer.consume(num_messages=min(10_000, max_messages - len(messages)), timeout=min(1.0, max(deadline - time.monotonic(), 0.01)))
            for msg in batch:
                err = msg.error()
                if err is not None:
                    if err.code() == KafkaError._PARTITION_EOF:
                        pending.discard(msg.partition())
                        continue
                    raise KafkaException(err)
                messages.append(KafkaMessage.from_record(msg))
                if msg.offset() + 1 >= highs[msg.partition()]:
                    pending.discard(msg.partition())
    except KafkaException as exc:
        raise ServiceUnavailable("Kafka", kafka.bootstrap_servers, exc, "LOL_KAFKA_BOOTSTRAP") from exc
    finally:
        consumer.close()
    return PollResult(messages, start, highs, time.monotonic() - t0)


def _start_offsets(consumer, topic: str, partitions: list[int], cursor: dict[int, int]) -> dict[int, int]:
    missing = [p for p in partitions if p not in cursor]
    committed = {}
    if missing:
        for tp in consumer.committed([TopicPartition(topic, p) for p in missing], timeout=10):
            committed[tp.partition] = tp.offset  # negative = none committed
    return {p: cursor[p] if p in cursor else committed.get(p, -1) for p in partitions}


def commit_offsets(kafka: KafkaResource, group_id: str, offsets: dict[int, int]) -> None:
    """Mirror the cursor into the consumer group, so standard Kafka tooling shows the lag."""
    consumer = kafka.consumer(group_id)
    try:
        consumer.commit(offsets=[TopicPartition(kafka.topic, p, o) for p, o in offsets.items()], asynchronous=False)
    finally:
        consumer.close()
