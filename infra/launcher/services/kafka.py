"""Apache Kafka 4.x in KRaft mode: one combined broker + controller on 127.0.0.1."""

from __future__ import annotations

import subprocess
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
        if not port_open(self.config.host, self.config.kafka_port):
            return False
        # The port opens before the broker can serve metadata; ask for it as a client would.
        try:
            from confluent_kafka.admin import AdminClient

            admin = AdminClient({"bootstrap.servers": self.address(), "socket.timeout.ms": 2000})
            md = admin.list_topics(timeout=2)
            return len(md.brokers) > 0
        except Exception:
            return False
