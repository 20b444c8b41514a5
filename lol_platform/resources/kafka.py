"""Kafka through confluent-kafka: producers, consumers and topic administration."""

from __future__ import annotations

from typing import Any

from confluent_kafka import Consumer, KafkaException, Producer
from confluent_kafka.admin import AdminClient, NewTopic
from dagster import ConfigurableResource
from pydantic import Field

from lol_platform.resources.errors import ServiceUnavailable


class KafkaResource(ConfigurableResource):
    """Connection settings for the match stream."""

    bootstrap_servers: str = Field(default="127.0.0.1:9092", description="Kafka bootstrap servers")
    topic: str = Field(default="lol_matches", description="topic carrying one Match-V5 JSON per message")
    topic_partitions: int = Field(default=4, description="partitions used when the topic is created")
    request_timeout_s: float = Field(default=5.0, description="admin/metadata request timeout")

    def _base_config(self) -> dict[str, Any]:
        return {"bootstrap.servers": self.bootstrap_servers, "socket.timeout.ms": int(self.request_timeout_s * 1000)}

    def producer(self, **overrides: Any) -> Producer:
        config = {
            **self._base_config(),
            "enable.idempotence": True,  # retries never write a message twice
            "linger.ms": 20,
            "compression.type": "lz4",
            **overrides,
        }
        return Producer(config)

    def consumer(self, group_id: str, **overrides: Any) -> Consumer:
        config = {
            **self._base_config(),
            "group.id": group_id,
            "enable.auto.commit": False,  # offsets move only after the data is durably written
            "auto.offset.reset": "earliest",
            **overrides,
        }
        return Consumer(config)

    def admin(self) -> AdminClient:
        return AdminClient(self._base_config())

    def health_check(self) -> None:
        try:
            metadata = self.admin().list_topics(timeout=self.request_timeout_s)
        except KafkaException as exc:
            raise ServiceUnavailable("Kafka", self.bootstrap_servers, exc, "LOL_KAFKA_BOOTSTRAP") from exc
        if not metadata.brokers:
            raise ServiceUnavailable("Kafka", self.bootstrap_servers, "no broker answered", "LOL_KAFKA_BOOTSTRAP")

    def ensure_topic(self, topic: str | None = None, partitions: int | None = None) -> bool:
        """Create the topic if missing; returns True if it was created."""
        topic = topic or self.topic
        self.health_check()
        admin = self.admin()
        if topic in admin.list_topics(timeout=self.request_timeout_s).topics:
            return False
        futures = admin.create_topics([NewTopic(topic, num_partitions=partitions or self.topic_partitions, replication_factor=1)])
        try:
            futures[topic].result(timeout=30)
        except KafkaException as exc:
            if "TOPIC_ALREADY_EXISTS" not in str(exc):
                raise
            return False
        return True

    def partitions(self, topic: str | None = None) -> list[int]:
        topic = topic or self.topic
        try:
            metadata = self.admin().list_topics(topic=topic, timeout=self.request_timeout_s)
        except KafkaException as exc:
            raise ServiceUnavailable("Kafka", self.bootstrap_servers, exc, "LOL_KAFKA_BOOTSTRAP") from exc
        meta = metadata.topics.get(topic)
        if meta is None or meta.error is not None:
            return []
        return sorted(meta.partitions)
