"""Kafka through confluent-kafka: producers, consumers, topic administration, and the bounded poll and
offset commit the batch sensor runs on (the message type both layers share is here too)."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from confluent_kafka import (
    OFFSET_BEGINNING,
    Consumer,
    ConsumerGroupTopicPartitions,
    KafkaError,
    KafkaException,
    Producer,
    TopicPartition,
)
from confluent_kafka.admin import AdminClient, NewTopic, OffsetSpec
from dagster import ConfigurableResource
from pydantic import Field

from lol_platform.resources.errors import ServiceRejected, ServiceUnavailable


# 2 GiB a partition (8 GiB for the default 4): size it to the brokers' disks with LOL_KAFKA_RETENTION_BYTES.
DEFAULT_RETENTION_BYTES = 2 * 1024**3

@dataclass(frozen=True)
class KafkaMessage:
    """One message of the match topic as both layers see it: the batch sensor lands it, the stream indexes it."""

    topic: str
    partition: int
    offset: int
    value: bytes | None
    timestamp_ms: int | None = None

    @classmethod
    def from_record(cls, record) -> KafkaMessage:
        """From a confluent-kafka Message that carries no error."""
        ts_type, ts = record.timestamp()
        return cls(record.topic(), record.partition(), record.offset(), record.value(), ts if ts_type else None)


def next_offsets(messages: Iterable[KafkaMessage], start: dict[int, int] | None = None) -> dict[int, int]:
    """The offsets to resume from: per partition, one past the last message read, else `start`'s offset."""
    offsets = dict(start or {})
    for m in messages:
        offsets[m.partition] = max(offsets.get(m.partition, 0), m.offset + 1)
    return offsets


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


SECURITY_PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
SASL_MECHANISMS = ("SCRAM-SHA-512", "SCRAM-SHA-256", "PLAIN")


class KafkaResource(ConfigurableResource):
    """Connection settings for the match stream."""

    bootstrap_servers: str = Field(default="127.0.0.1:9092", description="Kafka bootstrap servers")
    topic: str = Field(default="lol_matches", description="topic carrying one Match-V5 JSON per message")
    topic_partitions: int = Field(default=4, description="partitions used when the topic is created")
    request_timeout_s: float = Field(default=5.0, description="admin/metadata request timeout")
    topic_ready_timeout_s: float = Field(
        default=60.0, description="how long ensure_topic waits for every partition of the topic to have a serving leader"
    )
    # A secured cluster: SASL over TLS. Each role (landing, stream, producer) is its own principal; secrets come
    # from the environment (EnvVar), never from run config. `settings_env` is the prefix of the variables that
    # set this resource's principal (e.g. LOL_KAFKA_INGEST), named in error messages.
    security_protocol: str = Field(default="PLAINTEXT", description="PLAINTEXT locally; SASL_SSL on a secured cluster (or SSL, SASL_PLAINTEXT)")
    sasl_mechanism: str = Field(default="SCRAM-SHA-512", description="SCRAM-SHA-512, SCRAM-SHA-256 or PLAIN")
    sasl_username: str | None = Field(default=None, description="SASL principal of this role")
    sasl_password: str | None = Field(default=None, description="its password: set it through an EnvVar only")
    ssl_ca_location: str | None = Field(default=None, description="PEM CA the brokers' certificates chain to")
    settings_env: str = Field(default="LOL_KAFKA", description="prefix of the environment variables of this role's principal")
    # A cluster of several brokers: how a created topic is replicated, and what producers and consumers ask for.
    replication_factor: int = Field(default=1, description="replicas of each partition of a topic created here (3 on a cluster)")
    min_insync_replicas: int = Field(default=1, description="min.insync.replicas of a created topic: with acks=all, writes need this many replicas (2 of 3)")
    # Retention by time and by size: a burst (or a stalled consumer) must not fill the brokers' disks.
    retention_hours: int = Field(default=168, description="retention.ms of a created topic, in hours")
    retention_bytes: int = Field(default=DEFAULT_RETENTION_BYTES, description="retention.bytes of a created topic, per partition (-1: no limit)")
    acks: str = Field(default="all", description="producer acks: 'all' (with idempotence, no loss and no duplicate on retry), '1' or '0'")
    isolation_level: str = Field(default="read_committed", description="consumer isolation.level: read_committed or read_uncommitted")

    def _base_config(self) -> dict[str, Any]:
        return {
            "bootstrap.servers": self.bootstrap_servers,
            "socket.timeout.ms": int(self.request_timeout_s * 1000),
            **self.security_config(),
        }

    def security_config(self) -> dict[str, Any]:
        """librdkafka's security settings; fails fast, naming the variable, when a SASL login is incomplete."""
        for name, value, allowed in (("SECURITY_PROTOCOL", self.security_protocol, SECURITY_PROTOCOLS), ("SASL_MECHANISM", self.sasl_mechanism, SASL_MECHANISMS)):
            if value not in allowed:
                raise ServiceRejected("Kafka", self.bootstrap_servers, f"{name.lower()} {value!r} is not one of {', '.join(allowed)}",
                                      f"Set LOL_KAFKA_{name} to one of them.")
        config: dict[str, Any] = {"security.protocol": self.security_protocol}
        if self.security_protocol.startswith("SASL"):
            missing = [f"{self.settings_env}_{name}" for name, value in (("USERNAME", self.sasl_username), ("PASSWORD", self.sasl_password)) if not value]
            if missing:
                raise ServiceRejected("Kafka", self.bootstrap_servers, f"{self.security_protocol} needs a SASL login and {' and '.join(missing)} is not set",
                                      f"Set {' and '.join(missing)} (the stack's credentials are in <stack>/security/credentials.env).")
            config.update({"sasl.mechanism": self.sasl_mechanism, "sasl.username": self.sasl_username, "sasl.password": self.sasl_password})
        if self.security_protocol.endswith("SSL"):
            config["enable.ssl.certificate.verification"] = True
            if self.ssl_ca_location:
                config["ssl.ca.location"] = self.ssl_ca_location
        return config

    def _client_config(self) -> tuple[dict[str, Any], list]:
        """The base config plus an error callback that keeps the client's errors: a refused login or certificate
        shows up there at once, while the request itself would only time out."""
        errors: list = []
        return {**self._base_config(), "error_cb": errors.append}, errors

    def producer(self, **overrides: Any) -> Producer:
        config = {
            **self._base_config(),
            "enable.idempotence": self.acks == "all",  # retries never write a message twice (needs acks=all)
            "acks": self.acks,
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
            "isolation.level": self.isolation_level,
            **overrides,
        }
        return Consumer(config)

    def admin(self) -> AdminClient:
        return AdminClient(self._base_config())

    def health_check(self) -> None:
        """Metadata from a broker within request_timeout_s; a refused login or certificate fails at once."""
        config, errors = self._client_config()
        admin = AdminClient(config)
        deadline = time.monotonic() + self.request_timeout_s
        while True:
            try:
                metadata = admin.list_topics(timeout=min(0.5, max(deadline - time.monotonic(), 0.01)))
                if metadata.brokers:
                    return
                problem: object = "no broker answered"
            except KafkaException as exc:
                problem = exc
            admin.poll(0)  # serves error_cb: a refused login is reported there, not by list_topics
            rejected = self.rejection(errors) or self._plaintext_refused(errors)
            if rejected is not None:
                raise rejected
            if time.monotonic() >= deadline:
                raise ServiceUnavailable("Kafka", self.bootstrap_servers, problem, "LOL_KAFKA_BOOTSTRAP")

    def service_error(self, exc: KafkaException, errors: list = ()) -> ServiceUnavailable:
        """A failed Kafka call as the user should read it: refused (and what to fix), else unreachable."""
        rejected = self.rejection([*errors, *(a for a in exc.args if isinstance(a, KafkaError))])
        return rejected or ServiceUnavailable("Kafka", self.bootstrap_servers, exc, "LOL_KAFKA_BOOTSTRAP")

    def _plaintext_refused(self, errors: list) -> ServiceRejected | None:
        """A plaintext client whose broker accepts the TCP connection and then drops it: a TLS or SASL listener."""
        if self.security_protocol != "PLAINTEXT" or not any(isinstance(e, KafkaError) and e.code() == KafkaError._ALL_BROKERS_DOWN for e in errors):
            return None
        host, _, port = self.bootstrap_servers.split(",")[0].strip().rpartition(":")
        try:
            socket.create_connection((host, int(port)), timeout=1).close()
        except (OSError, ValueError):
            return None  # really down: the timeout's ServiceUnavailable says so
        return ServiceRejected("Kafka", self.bootstrap_servers, "the broker accepts connections but drops plaintext clients (a TLS/SASL listener)",
                               "Set LOL_KAFKA_SECURITY_PROTOCOL (e.g. SASL_SSL), LOL_KAFKA_SSL_CA_LOCATION and the principal's credentials.")

    def rejection(self, errors: list) -> ServiceRejected | None:
        """A refused login, certificate or permission among a client's errors, as the user should read it."""
        return kafka_rejection(errors, self.bootstrap_servers, self.settings_env, self.sasl_username)

    def ensure_topic(self, topic: str | None = None, partitions: int | None = None) -> bool:
        """Create the topic if missing, then wait until every partition has a leader that serves it.

        Returns True if it was created. A topic the controller just created (or a broker that just started)
        is listed with leaders a moment before the leaders answer: reading it at once fails with
        NOT_LEADER_FOR_PARTITION. Waiting here means callers can use the topic as soon as this returns.
        """
        topic = topic or self.topic
        self.health_check()
        admin = self.admin()
        created, expected = False, None  # an existing topic keeps whatever partition count it has
        if topic not in admin.list_topics(timeout=self.request_timeout_s).topics:
            expected = partitions or self.topic_partitions
            futures = admin.create_topics([self.new_topic(topic, expected)])
            try:
                futures[topic].result(timeout=30)
                created = True
            except KafkaException as exc:
                if "TOPIC_ALREADY_EXISTS" not in str(exc):
                    raise
        self.wait_for_leaders(topic, expected_partitions=expected if created else None)
        return created

    def new_topic(self, topic: str, partitions: int) -> NewTopic:
        """The topic as this resource creates it: partitions, replication and the in-sync minimum for acks=all."""
        return NewTopic(topic, num_partitions=partitions, replication_factor=self.replication_factor, config=self.topic_config())

    def topic_config(self) -> dict[str, str]:
        return {"min.insync.replicas": str(self.min_insync_replicas),
                "retention.ms": str(self.retention_hours * 3_600_000), "retention.bytes": str(self.retention_bytes)}  # fmt: skip

    def wait_for_leaders(self, topic: str | None = None, expected_partitions: int | None = None,
                         timeout_s: float | None = None) -> list[int]:  # fmt: skip
        """Block until the topic has its partitions (at least `expected_partitions`, if given), each with an
        elected leader that answers an offsets request; return the partitions. Raise ServiceUnavailable naming
        the partitions still without a serving leader after `timeout_s` (default topic_ready_timeout_s)."""
        topic = topic or self.topic
        timeout_s = self.topic_ready_timeout_s if timeout_s is None else timeout_s
        admin = self.admin()
        deadline, delay = time.monotonic() + timeout_s, 0.05
        while True:
            state = _topic_leader_state(admin, topic, expected_partitions, self.request_timeout_s)
            if isinstance(state, list):
                return state
            if time.monotonic() >= deadline:
                raise ServiceUnavailable(
                    "Kafka", self.bootstrap_servers,
                    f"topic {topic!r} has no serving leader for every partition after {timeout_s:.0f}s ({state})",
                    "LOL_KAFKA_BOOTSTRAP",
                )  # fmt: skip
            time.sleep(min(delay, max(deadline - time.monotonic(), 0)))
            delay = min(delay * 2, 1.0)

    def partitions(self, topic: str | None = None) -> list[int]:
        topic = topic or self.topic
        try:
            metadata = self.admin().list_topics(topic=topic, timeout=self.request_timeout_s)
        except KafkaException as exc:
            raise self.service_error(exc) from exc
        meta = metadata.topics.get(topic)
        if meta is None or meta.error is not None:
            return []
        return sorted(meta.partitions)

    def poll_bounded(self, group_id: str, cursor: dict[int, int], max_messages: int, max_seconds: float) -> PollResult:
        """Read at most `max_messages` within `max_seconds`, from the cursor's offsets; stop early once caught up.

        Offsets come from the cursor (assign + seek), else from the group's committed offsets, else the start.
        """
        self.health_check()
        partitions = self.partitions()
        t0 = time.monotonic()
        consumer = self.consumer(group_id, **{"enable.partition.eof": True, "fetch.max.bytes": 52428800})
        admin = self.admin()  # held in a variable: a collected AdminClient never completes its futures
        try:
            start = _start_offsets(admin, group_id, self.topic, partitions, cursor, self.request_timeout_s)
            highs = {p: consumer.get_watermark_offsets(TopicPartition(self.topic, p), timeout=self.request_timeout_s)[1] for p in partitions}
            pending = {p for p in partitions if highs[p] > max(start[p], 0)}
            consumer.assign([TopicPartition(self.topic, p, start[p] if start[p] >= 0 else OFFSET_BEGINNING) for p in pending])
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
            raise self.service_error(exc) from exc
        finally:
            consumer.close()
        return PollResult(messages, start, highs, time.monotonic() - t0)

    def committed_offsets(self, group_id: str) -> dict[int, int]:
        """The group's committed next offset per partition of the topic (partitions without a commit left out)."""
        try:
            committed = _group_offsets(self.admin(), group_id, self.topic, self.partitions(), self.request_timeout_s)
        except KafkaException as exc:
            raise self.service_error(exc) from exc
        return {p: o for p, o in committed.items() if o >= 0}

    def commit(self, group_id: str, offsets: dict[int, int]) -> None:
        """Mirror the cursor into the consumer group, so standard Kafka tooling shows the lag."""
        consumer = self.consumer(group_id)
        try:
            consumer.commit(offsets=[TopicPartition(self.topic, p, o) for p, o in offsets.items()], asynchronous=False)
        except KafkaException as exc:
            raise self.service_error(exc) from exc
        finally:
            consumer.close()


CA_SETTING = "LOL_KAFKA_SSL_CA_LOCATION"


def kafka_rejection(errors: list, address: str, env: str, username: str | None) -> ServiceRejected | None:
    """The refusal among a client's errors (login, certificate, ACL), phrased with the setting to fix; else None."""
    for err in errors:
        code, text = (err.code(), err.str()) if isinstance(err, KafkaError) else (None, str(err))
        lowered = text.lower()
        if code == KafkaError._AUTHENTICATION and ("certificate" in lowered or "ssl handshake" in lowered):
            return ServiceRejected("Kafka", address, f"the broker's TLS certificate is not trusted ({text})",
                                   f"Point {CA_SETTING} at the CA that signed the brokers' certificates.")
        if code == KafkaError._AUTHENTICATION:
            return ServiceRejected("Kafka", address, f"the SASL login of {username!r} was refused ({text})",
                                   f"Check {env}_USERNAME and {env}_PASSWORD.")
        if code == KafkaError._SSL or "certificate verify failed" in lowered:
            return ServiceRejected("Kafka", address, f"the TLS handshake failed ({text})",
                                   f"Point {CA_SETTING} at the CA that signed the brokers' certificates.")
        if code in (KafkaError.TOPIC_AUTHORIZATION_FAILED, KafkaError.GROUP_AUTHORIZATION_FAILED, KafkaError.CLUSTER_AUTHORIZATION_FAILED):
            return ServiceRejected("Kafka", address, f"principal {username!r} is not allowed to do this ({text})",
                                   "Grant it the ACLs its role needs (README, \"Locked-down local stack\").")
    return None


def _start_offsets(admin: AdminClient, group_id: str, topic: str, partitions: list[int], cursor: dict[int, int],
                   timeout_s: float) -> dict[int, int]:  # fmt: skip
    """The cursor's offsets, else the group's committed ones (negative = none). Asked through the admin API: a
    consumer's committed() only times out when the principal may not read the group; this names the refusal."""
    missing = [p for p in partitions if p not in cursor]
    committed = _group_offsets(admin, group_id, topic, missing, timeout_s) if missing else {}
    return {p: cursor[p] if p in cursor else committed.get(p, -1) for p in partitions}


def _group_offsets(admin: AdminClient, group_id: str, topic: str, partitions: list[int], timeout_s: float) -> dict[int, int]:
    request = ConsumerGroupTopicPartitions(group_id, [TopicPartition(topic, p) for p in partitions])
    result = admin.list_consumer_group_offsets([request], request_timeout=timeout_s)[group_id].result()
    return {tp.partition: tp.offset for tp in result.topic_partitions}


def _topic_leader_state(admin: AdminClient, topic: str, expected: int | None, timeout_s: float) -> list[int] | str:
    """The topic's partitions if each has a leader that answers ListOffsets; else what is still missing."""
    try:
        meta = admin.list_topics(topic=topic, timeout=timeout_s).topics.get(topic)
    except KafkaException as exc:
        return f"metadata request failed: {exc}"
    if meta is None or meta.error is not None:
        return f"topic not in metadata yet ({meta.error if meta is not None else 'absent'})"
    if not meta.partitions or (expected is not None and len(meta.partitions) < expected):
        return f"{len(meta.partitions)} of {expected or 'its'} partitions in metadata"
    leaderless = sorted(p for p, pm in meta.partitions.items() if pm.leader < 0 or pm.error is not None)
    if leaderless:
        return f"partitions {leaderless} have no leader"
    try:
        futures = admin.list_offsets(
            {TopicPartition(topic, p): OffsetSpec.latest() for p in meta.partitions}, request_timeout=timeout_s
        )
    except KafkaException as exc:
        return f"offsets request failed: {exc}"
    failed = {}
    for tp, future in futures.items():
        try:
            future.result()
        except KafkaException as exc:
            failed[tp.partition] = exc.args[0].name() if exc.args and hasattr(exc.args[0], "name") else str(exc)
    if failed:
        return f"leaders not serving yet: {dict(sorted(failed.items()))}"
    return sorted(meta.partitions)
