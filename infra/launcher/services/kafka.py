"""Apache Kafka 4.x in KRaft mode: one combined broker + controller on 127.0.0.1."""

from __future__ import annotations

import subprocess
import time
import uuid

from lol_stack.process import JavaService, ServiceStartError, port_open


class Kafka(JavaService):
    name = "kafka"
    pom = "kafka"

    @property
    def data_dir(self):
        return self.home / "data"

    @property
    def properties_path(self):
        return self.home / "server.properties"

    def address(self) -> str:
        return f"{self.config.host}:{self.config.kafka_port}"

    def ports(self) -> list[int]:
        return [self.config.kafka_port, self.config.kafka_controller_port]

    def main_class(self) -> str:
        return "kafka.Kafka"

    def args(self) -> list[str]:
        return [str(self.properties_path)]

    def jvm_options(self) -> list[str]:
        log4j = self.home / "log4j.properties"
        return [*super().jvm_options(), f"-Dlog4j.configuration=file:{log4j}", "-Dkafka.logs.dir=" + str(self.home / "logs")]

    def prepare(self, classpath: str) -> None:
        c = self.config
        self.properties_path.write_text(
            "\n".join(
                [
                    "process.roles=broker,controller",
                    "node.id=1",
                    f"controller.quorum.bootstrap.servers={c.host}:{c.kafka_controller_port}",
                    f"listeners=PLAINTEXT://{c.host}:{c.kafka_port},CONTROLLER://{c.host}:{c.kafka_controller_port}",
                    f"advertised.listeners=PLAINTEXT://{c.host}:{c.kafka_port},CONTROLLER://{c.host}:{c.kafka_controller_port}",
                    "controller.listener.names=CONTROLLER",
                    "inter.broker.listener.name=PLAINTEXT",
                    "listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
                    f"log.dirs={self.data_dir}",
                    "num.partitions=4",
                    "offsets.topic.replication.factor=1",
                    "transaction.state.log.replication.factor=1",
                    "transaction.state.log.min.isr=1",
                    "share.coordinator.state.topic.replication.factor=1",
                    "share.coordinator.state.topic.min.isr=1",
                    "group.initial.rebalance.delay.ms=0",
                    "auto.create.topics.enable=true",
                    "log.retention.hours=168",
                    "",
                ]
            )
        )
        (self.home / "log4j.properties").write_text(
            "log4j.rootLogger=INFO, stdout\n"
            "log4j.appender.stdout=org.apache.log4j.ConsoleAppender\n"
            "log4j.appender.stdout.layout=org.apache.log4j.PatternLayout\n"
            "log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n\n"
            "log4j.logger.kafka=INFO\nlog4j.logger.org.apache.kafka=INFO\n"
        )
        if not (self.data_dir / "meta.properties").exists():
            self._format_storage(classpath)

    def _format_storage(self, classpath: str) -> None:
        cmd = [
            self.java(), "-Xmx256m", "-cp", classpath, "kafka.tools.StorageTool", "format",
            "--standalone", "-t", str(uuid.uuid4()), "-c", str(self.properties_path),
        ]  # fmt: skip
        proc = subprocess.run(cmd, capture_output=True, text=True, cwd=self.home)
        if proc.returncode != 0:
            raise ServiceStartError(f"kafka storage format failed:\n{proc.stdout[-1500:]}{proc.stderr[-1500:]}")

    def is_ready(self) -> bool:
        """Ready means serving, not just listening: the port opens, and the broker registers, before it can
        lead a partition or coordinate a group. A client that came right after an earlier readiness check
        got NOT_LEADER_FOR_PARTITION on its first topic; so readiness is what a client does first:

        1. a metadata request lists this broker;
        2. a probe topic (created once) has a leader that answers an offsets request;
        3. the group coordinator answers (its __consumer_offsets partitions have leaders), as a consumer
           group's first commit needs.

        What is still missing is kept in `not_ready_reason` for the start-up error message.
        """
        if not port_open(self.config.host, self.config.kafka_port):
            self.not_ready_reason = f"nothing listens on {self.address()} yet"
            return False
        try:
            self.not_ready_reason = _serving_problem(self.address())
        except Exception as exc:  # noqa: BLE001 - any client error means "not yet"; the reason says which
            self.not_ready_reason = f"{type(exc).__name__}: {exc}"
        return self.not_ready_reason is None


PROBE_TOPIC = "__lol_stack_probe"
PROBE_GROUP = "__lol_stack_probe"


def _serving_problem(bootstrap: str, timeout_s: float = 2.0, settle_s: float = 5.0) -> str | None:
    """None if the broker serves a topic and a consumer group; else what it does not serve yet.

    A broker that answers metadata is given `settle_s` to elect the leaders it is about to: one call then
    gives the answer, which a one-off `stack status` (and the test session's "is it already up?") relies on.
    """
    from confluent_kafka.admin import AdminClient

    admin = AdminClient({"bootstrap.servers": bootstrap, "socket.timeout.ms": int(timeout_s * 1000), "log_level": 4})
    deadline = time.monotonic() + settle_s
    while True:
        problem = _probe_once(admin, timeout_s)
        if problem is None or time.monotonic() >= deadline:
            return problem
        time.sleep(0.2)


def _probe_once(admin, timeout_s: float) -> str | None:
    from confluent_kafka import KafkaException, TopicPartition
    from confluent_kafka.admin import NewTopic, OffsetSpec

    metadata = admin.list_topics(timeout=timeout_s)
    if not metadata.brokers:
        return "no broker registered in the cluster metadata"
    topic = metadata.topics.get(PROBE_TOPIC)
    if topic is None:
        try:
            admin.create_topics([NewTopic(PROBE_TOPIC, num_partitions=1, replication_factor=1)])[PROBE_TOPIC].result(timeout_s * 5)
        except KafkaException as exc:
            if "TOPIC_ALREADY_EXISTS" not in str(exc):
                return f"cannot create the probe topic {PROBE_TOPIC}: {exc}"
        return f"probe topic {PROBE_TOPIC} just created"  # its leader is checked on the next probe
    if topic.error is not None or not topic.partitions or any(p.leader < 0 for p in topic.partitions.values()):
        return f"probe topic {PROBE_TOPIC} has no leader yet ({topic.error})"
    offsets = admin.list_offsets({TopicPartition(PROBE_TOPIC, 0): OffsetSpec.latest()}, request_timeout=timeout_s)
    try:
        for future in offsets.values():
            future.result()
    except KafkaException as exc:
        return f"the leader of {PROBE_TOPIC} does not serve yet: {exc}"
    groups = admin.describe_consumer_groups([PROBE_GROUP], request_timeout=timeout_s)
    try:
        for future in groups.values():
            future.result()
    except KafkaException as exc:
        return f"the group coordinator does not serve yet: {exc}"
    return None
