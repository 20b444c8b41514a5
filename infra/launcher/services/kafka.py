"""Apache Kafka 4.x in KRaft mode: one combined broker + controller on 127.0.0.1.

Multi-node mode (StackConfig.nodes, lol_stack/nodes.py): `nodes` combined brokers + controllers, node i on
127.0.0.i with the same ports, a static controller quorum of every node (`controller.quorum.voters`), one
cluster id for all, and the internal topics replicated to every node with a majority in sync (3 and 2 for
three nodes), as `default.replication.factor` / `min.insync.replicas` for topics created without them.

Secure mode (StackConfig.secure) locks it down (see lol_stack/security.py for the material):

- the client listener is SASL_SSL with SCRAM-SHA-512 and PLAIN. SCRAM users are written into the metadata
  log when the storage is formatted (`kafka-storage format --add-scram`) and upserted by `provision` when the
  credentials changed; PLAIN users are the listener's JAAS `user_<name>` entries;
- the controller listener is SASL_SSL too, PLAIN as lol_admin, on loopback: the broker's own connections to
  the controller authenticate as User:lol_admin, so no anonymous principal is a super user anywhere;
- the StandardAuthorizer denies what no ACL allows; lol_admin is the only super user; `provision` creates
  the topic and exactly the ACLs of KAFKA_GRANTS.

server.properties then holds passwords (the JAAS entries, the keystore's), so it is written 0600.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import time
import uuid

from lol_stack.nodes import kafka_quorum_voters, majority
from lol_stack.process import JavaService, ServiceStartError, port_open

MATCH_TOPIC = "lol_matches"
MATCH_TOPIC_PARTITIONS = 4

# Least privilege, per principal (keys of security.KAFKA_PRINCIPALS): (resource type, PREFIXED pattern,
# operations). lol_admin is the super user and needs none. Nothing else is allowed to anyone.
KAFKA_GRANTS = {
    "INGEST": [  # the batch landing sensor; the freshness sensor reads the stream group's offsets for its lag
        ("TOPIC", MATCH_TOPIC, ("READ", "DESCRIBE")),
        ("GROUP", "lol-platform-batch", ("READ", "DESCRIBE")),
        ("GROUP", "lol-platform-stream", ("DESCRIBE",)),
    ],
    "STREAM": [  # the stream indexer
        ("TOPIC", MATCH_TOPIC, ("READ", "DESCRIBE")),
        ("GROUP", "lol-platform-stream", ("READ", "DESCRIBE")),
    ],
    "PRODUCER": [  # the match producer (idempotent: WRITE on a topic is enough for InitProducerId since KIP-679)
        ("TOPIC", MATCH_TOPIC, ("WRITE", "DESCRIBE")),
    ],
}


class Kafka(JavaService):
    name = "kafka"
    pom = "kafka"

    def __init__(self, config, node: int | None = None):
        """`node`: which node (1-based) of a multi-node Kafka; None: the single node."""
        self.node = node
        if node is not None:
            self.name = f"kafka-{node}"
        super().__init__(config)

    @property
    def host(self) -> str:
        return self.config.node_host(self.node) if self.node else self.config.host

    @property
    def node_id(self) -> int:
        return self.node or 1

    def jvm_options(self) -> list[str]:
        if not self.node:
            return self._jvm_options(super().jvm_options())
        heap = int(os.environ.get("LOL_KAFKA_NODE_HEAP_MB", 256))
        return self._jvm_options([f"-Xms{heap // 2}m", f"-Xmx{heap}m"])

    def may_be_followed(self) -> bool:
        # A controller alone has no quorum and so is never ready: the next node may start once this one's
        # controller listens (it can then vote).
        return port_open(self.host, self.config.kafka_controller_port)

    @property
    def data_dir(self):
        return self.home / "data"

    @property
    def properties_path(self):
        return self.home / "server.properties"

    def address(self) -> str:
        return f"{self.host}:{self.config.kafka_port}"

    def ports(self) -> list[int]:
        return [self.config.kafka_port, self.config.kafka_controller_port]

    def main_class(self) -> str:
        return "kafka.Kafka"

    def args(self) -> list[str]:
        return [str(self.properties_path)]

    def _jvm_options(self, heap: list[str]) -> list[str]:
        log4j = self.home / "log4j.properties"
        return [*heap, f"-Dlog4j.configuration=file:{log4j}", "-Dkafka.logs.dir=" + str(self.home / "logs")]

    def _listener_lines(self) -> list[str]:
        c = self.config
        if not c.secure:
            return [
                f"listeners=PLAINTEXT://{self.host}:{c.kafka_port},CONTROLLER://{self.host}:{c.kafka_controller_port}",
                f"advertised.listeners=PLAINTEXT://{self.host}:{c.kafka_port},CONTROLLER://{self.host}:{c.kafka_controller_port}",
                "controller.listener.names=CONTROLLER",
                "inter.broker.listener.name=PLAINTEXT",
                "listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
            ]
        if self.node:
            raise ServiceStartError("kafka: the secure stack runs single-node only (LOL_STACK_NODES=1)")
        from lol_stack.security import ensure_security, load_credentials

        files = ensure_security(c)
        creds = load_credentials(c)
        admin, admin_pw = creds["LOL_KAFKA_ADMIN_USERNAME"], creds["LOL_KAFKA_ADMIN_PASSWORD"]
        plain_users = " ".join(f'user_{name}="{password}"' for name, password in self._scram_users(creds).items())
        plain = "org.apache.kafka.common.security.plain.PlainLoginModule required"
        scram = "org.apache.kafka.common.security.scram.ScramLoginModule required"
        login = f'username="{admin}" password="{admin_pw}"'
        return [
            f"listeners=SASL_SSL://{c.host}:{c.kafka_port},CONTROLLER://{c.host}:{c.kafka_controller_port}",
            f"advertised.listeners=SASL_SSL://{c.host}:{c.kafka_port},CONTROLLER://{c.host}:{c.kafka_controller_port}",
            "controller.listener.names=CONTROLLER",
            "inter.broker.listener.name=SASL_SSL",
            "listener.security.protocol.map=CONTROLLER:SASL_SSL,SASL_SSL:SASL_SSL",
            # Clients: SCRAM-SHA-512 (credentials in the metadata log) or PLAIN (the user_ entries below).
            "listener.name.sasl_ssl.sasl.enabled.mechanisms=SCRAM-SHA-512,PLAIN",
            f"listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config={scram} {login};",
            f"listener.name.sasl_ssl.plain.sasl.jaas.config={plain} {login} {plain_users};",
            # The broker's own connections (to itself, to the controller) are lol_admin over PLAIN: its
            # credentials live in this file, not in the metadata log that is not loaded yet at start.
            "sasl.mechanism.inter.broker.protocol=PLAIN",
            "sasl.mechanism.controller.protocol=PLAIN",
            "listener.name.controller.sasl.enabled.mechanisms=PLAIN",
            f'listener.name.controller.plain.sasl.jaas.config={plain} {login} user_{admin}="{admin_pw}";',
            "ssl.keystore.type=PKCS12",
            f"ssl.keystore.location={files.keystore}",
            f"ssl.keystore.password={files.store_password}",
            f"ssl.key.password={files.store_password}",
            "ssl.truststore.type=PKCS12",
            f"ssl.truststore.location={files.truststore}",
            f"ssl.truststore.password={files.store_password}",
            "ssl.client.auth=none",
            "ssl.endpoint.identification.algorithm=https",
            "authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer",
            "allow.everyone.if.no.acl.found=false",
            f"super.users=User:{admin}",
        ]

    def prepare(self, classpath: str) -> None:
        self.write_config()
        if not (self.data_dir / "meta.properties").exists():
            self._format_storage(classpath)

    def write_config(self) -> None:
        """server.properties (0600: in secure mode it holds passwords) and log4j.properties."""
        self.home.mkdir(parents=True, exist_ok=True)
        c = self.config
        lines = [
            "process.roles=broker,controller",
            f"node.id={self.node_id}",
            *self._quorum_lines(),
            *self._listener_lines(),
            f"log.dirs={self.data_dir}",
            "num.partitions=4",
            *self._replication_lines(),
            "group.initial.rebalance.delay.ms=0",
            # Secure: only lol_admin creates topics (provision); the clients have no CREATE anyway.
            f"auto.create.topics.enable={'false' if c.secure else 'true'}",
            "log.retention.hours=168",
            "log.retention.bytes=2147483648",  # and by size (per partition): a flood must not fill the disk
            # The log cleaner allocates its offset map (128 MiB by default) when the broker starts. A multi-node
            # broker (256 MiB heap) restarted after kill -9 recovers its logs first, and then ran out of heap
            # allocating it. 32 MiB holds ~1.4M keys; the compacted topics here (__consumer_offsets) hold hundreds.
            "log.cleaner.dedupe.buffer.size=33554432",
            "",
        ]
        _write_owner_only(self.properties_path, "\n".join(lines))
        (self.home / "log4j.properties").write_text(
            "log4j.rootLogger=INFO, stdout\n"
            "log4j.appender.stdout=org.apache.log4j.ConsoleAppender\n"
            "log4j.appender.stdout.layout=org.apache.log4j.PatternLayout\n"
            "log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n\n"
            "log4j.logger.kafka=INFO\nlog4j.logger.org.apache.kafka=INFO\n"
        )

    def _quorum_lines(self) -> list[str]:
        c = self.config
        if not self.node:
            return [f"controller.quorum.bootstrap.servers={c.host}:{c.kafka_controller_port}"]
        return [f"controller.quorum.voters={kafka_quorum_voters(c)}"]

    def _replication_lines(self) -> list[str]:
        """Internal topics on every node with a majority in sync; topics created without settings likewise."""
        replicas = self.config.nodes if self.node else 1
        in_sync = majority(replicas) if self.node else 1
        return [
            f"offsets.topic.replication.factor={replicas}",
            f"transaction.state.log.replication.factor={replicas}",
            f"transaction.state.log.min.isr={in_sync}",
            f"share.coordinator.state.topic.replication.factor={replicas}",
            f"share.coordinator.state.topic.min.isr={in_sync}",
            f"default.replication.factor={replicas}",
            f"min.insync.replicas={in_sync}",
            # A broker that cannot register with the controller quorum within this shuts down. The nodes start
            # one after another and a quorum needs a majority of them: give the first one time to wait.
            f"initial.broker.registration.timeout.ms={300_000 if self.node else 60_000}",
        ]

    def _cluster_id(self) -> str:
        """One id for every node of the cluster (kept in the stack dir); a fresh one for a single node."""
        if not self.node:
            return str(uuid.uuid4())
        path = self.config.stack_dir / "kafka-cluster.id"
        if not path.exists():
            path.write_text(str(uuid.uuid4()))
        return path.read_text().strip()

    def _format_storage(self, classpath: str) -> None:
        # One node: a standalone dynamic quorum. Nodes: the static quorum of controller.quorum.voters.
        quorum = [] if self.node else ["--standalone"]
        args = [
            "-Xmx256m", "-cp", classpath, "kafka.tools.StorageTool", "format",
            *quorum, "-t", self._cluster_id(), "-c", str(self.properties_path),
        ]  # fmt: skip
        if not self.config.secure:
            proc = subprocess.run([self.java(), *args], capture_output=True, text=True, cwd=self.home)
        else:
            # The SCRAM users go into the metadata log at format time. Their passwords are passed in a java
            # @argfile (0600, removed right after), not on the command line that `ps` shows every user.
            creds = self._credentials()
            for name, password in self._scram_users(creds).items():
                args += ["--add-scram", f"SCRAM-SHA-512=[name={name},password={password}]"]
            argfile = self.home / ".format.args"
            _write_owner_only(argfile, "\n".join(_argfile_quote(a) for a in args) + "\n")
            try:
                proc = subprocess.run([self.java(), f"@{argfile}"], capture_output=True, text=True, cwd=self.home)
            finally:
                argfile.unlink(missing_ok=True)
            if proc.returncode == 0:
                _write_owner_only(self._scram_stamp, _scram_fingerprint(creds))
        if proc.returncode != 0:
            raise ServiceStartError(f"kafka storage format failed:\n{proc.stdout[-1500:]}{proc.stderr[-1500:]}")

    # -- secure mode ------------------------------------------------------------------------
    def _credentials(self) -> dict[str, str]:
        from lol_stack.security import load_credentials

        return load_credentials(self.config)

    @staticmethod
    def _scram_users(creds: dict[str, str]) -> dict[str, str]:
        from lol_stack.security import KAFKA_PRINCIPALS

        return {creds[f"LOL_KAFKA_{key}_USERNAME"]: creds[f"LOL_KAFKA_{key}_PASSWORD"] for key in KAFKA_PRINCIPALS}

    @property
    def _scram_stamp(self):
        """A digest of the SCRAM passwords the metadata log holds, to tell whether they need upserting."""
        return self.home / "scram-credentials.sha256"

    def client_config(self, principal: str = "ADMIN", mechanism: str | None = None) -> dict:
        """confluent-kafka settings to reach this broker: the bootstrap alone, or SASL_SSL as a principal."""
        if not self.config.secure:
            return {"bootstrap.servers": self.address()}
        from lol_stack.security import kafka_client_config

        return kafka_client_config(self._credentials(), principal, mechanism)

    def provision(self, progress=print) -> None:
        """Secure mode, once the broker serves: SCRAM users in step with credentials.env, the match topic,
        and exactly the ACLs of KAFKA_GRANTS for the client principals (others of theirs are deleted)."""
        if not self.config.secure:
            return
        from confluent_kafka.admin import (
            AclBinding,
            AclBindingFilter,
            AclOperation,
            AclPermissionType,
            AdminClient,
            NewTopic,
            ResourcePatternType,
            ResourceType,
            ScramCredentialInfo,
            ScramMechanism,
            UserScramCredentialUpsertion,
        )

        creds = self._credentials()
        # PLAIN: its users are in server.properties, so it works even when the SCRAM ones are stale.
        admin = AdminClient({**self.client_config("ADMIN", "PLAIN"), "log_level": 4})
        fingerprint = _scram_fingerprint(creds)
        if not self._scram_stamp.exists() or self._scram_stamp.read_text() != fingerprint:
            upserts = [
                UserScramCredentialUpsertion(name, ScramCredentialInfo(ScramMechanism.SCRAM_SHA_512, 8192), pw.encode())
                for name, pw in self._scram_users(creds).items()
            ]
            for future in admin.alter_user_scram_credentials(upserts).values():
                future.result(30)
            _write_owner_only(self._scram_stamp, fingerprint)
            progress(f"  {self.name:<14} SCRAM credentials updated")
        if MATCH_TOPIC not in admin.list_topics(timeout=10).topics:
            try:
                admin.create_topics([NewTopic(MATCH_TOPIC, MATCH_TOPIC_PARTITIONS, 1)])[MATCH_TOPIC].result(30)
            except Exception as exc:  # noqa: BLE001 - a concurrent creation is fine
                if "TOPIC_ALREADY_EXISTS" not in str(exc):
                    raise
        _wait_for_leaders(admin, MATCH_TOPIC)
        wanted = {
            AclBinding(ResourceType[rtype], pattern, ResourcePatternType.PREFIXED,
                       f"User:{creds[f'LOL_KAFKA_{key}_USERNAME']}", "*", AclOperation[op], AclPermissionType.ALLOW)
            for key, grants in KAFKA_GRANTS.items()
            for rtype, pattern, ops in grants
            for op in ops
        }  # fmt: skip
        principals = {binding.principal for binding in wanted}
        existing = set()
        for principal in sorted(principals):
            flt = AclBindingFilter(ResourceType.ANY, None, ResourcePatternType.ANY, principal, None,
                                   AclOperation.ANY, AclPermissionType.ANY)  # fmt: skip
            existing |= set(admin.describe_acls(flt, request_timeout=10).result(30))
        extra = [
            AclBindingFilter(b.restype, b.name, b.resource_pattern_type, b.principal, b.host, b.operation,
                             b.permission_type)
            for b in existing - wanted
        ]  # fmt: skip
        if extra:
            for future in admin.delete_acls(extra, request_timeout=10).values():
                future.result(30)
        missing = list(wanted - existing)
        if missing:
            for future in admin.create_acls(missing, request_timeout=10).values():
                future.result(30)
        names = ", ".join(p.split(":", 1)[1] for p in sorted(principals))
        progress(
            f"  {self.name:<14} topic {MATCH_TOPIC} ({MATCH_TOPIC_PARTITIONS} partitions); {len(wanted)} ACLs for "
            f"{names} ({len(missing)} added, {len(extra)} removed)"
        )

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
        if not port_open(self.host, self.config.kafka_port):
            self.not_ready_reason = f"nothing listens on {self.address()} yet"
            return False
        try:
            # Secure: as lol_admin over PLAIN with CA verification (PLAIN users are in server.properties).
            client = self.client_config("ADMIN", "PLAIN")
            self.not_ready_reason = _serving_problem(self.address(), client_config=client, broker_id=self.node,
                                                     probe_replicas=self.config.nodes if self.node else 1)
        except Exception as exc:  # noqa: BLE001 - any client error means "not yet"; the reason says which
            self.not_ready_reason = f"{type(exc).__name__}: {exc}"
        return self.not_ready_reason is None


PROBE_TOPIC = "__lol_stack_probe"
PROBE_GROUP = "__lol_stack_probe"


def _write_owner_only(path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        os.fchmod(f.fileno(), 0o600)
        f.write(text)


def _argfile_quote(arg: str) -> str:
    """One argument of a java @argfile: quoted, with backslashes and quotes escaped."""
    return '"' + arg.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _scram_fingerprint(creds: dict[str, str]) -> str:
    users = sorted(Kafka._scram_users(creds).items())
    return hashlib.sha256("\n".join(f"{name}={password}" for name, password in users).encode()).hexdigest()


def _wait_for_leaders(admin, topic: str, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        meta = admin.list_topics(topic=topic, timeout=10).topics.get(topic)
        partitions = meta.partitions.values() if meta is not None and meta.error is None else []
        if partitions and all(p.leader >= 0 for p in partitions):
            return
        if time.monotonic() > deadline:
            raise ServiceStartError(f"kafka: topic {topic} has no leader for every partition after {timeout_s:.0f}s")
        time.sleep(0.2)


def _serving_problem(
    bootstrap: str, timeout_s: float = 2.0, settle_s: float = 5.0, client_config: dict | None = None,
    broker_id: int | None = None, probe_replicas: int = 1,
) -> str | None:
    """None if the broker serves a topic and a consumer group; else what it does not serve yet.

    A broker that answers metadata is given `settle_s` to elect the leaders it is about to: one call then
    gives the answer, which a one-off `stack status` (and the test session's "is it already up?") relies on.
    `client_config` carries the secure stack's SASL_SSL settings (see Kafka.client_config). A node of a
    multi-node Kafka (`broker_id`) must itself be registered; its probe topic lives on every node
    (`probe_replicas`), so one node's loss does not make the others look unready.
    """
    from confluent_kafka.admin import AdminClient

    settings = {"bootstrap.servers": bootstrap, **(client_config or {})}
    admin = AdminClient({**settings, "socket.timeout.ms": int(timeout_s * 1000), "log_level": 4})
    deadline = time.monotonic() + settle_s
    while True:
        problem = _probe_once(admin, timeout_s, broker_id, probe_replicas)
        if problem is None or time.monotonic() >= deadline:
            return problem
        time.sleep(0.2)


def _probe_once(admin, timeout_s: float, broker_id: int | None = None, probe_replicas: int = 1) -> str | None:
    from confluent_kafka import KafkaException, TopicPartition
    from confluent_kafka.admin import NewTopic, OffsetSpec

    metadata = admin.list_topics(timeout=timeout_s)
    if not metadata.brokers:
        return "no broker registered in the cluster metadata"
    if broker_id is not None and broker_id not in metadata.brokers:
        return f"broker {broker_id} is not registered yet (registered: {sorted(metadata.brokers)})"
    topic = metadata.topics.get(PROBE_TOPIC)
    if topic is None:
        try:
            probe = NewTopic(PROBE_TOPIC, num_partitions=1, replication_factor=probe_replicas)
            admin.create_topics([probe])[PROBE_TOPIC].result(timeout_s * 5)
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
