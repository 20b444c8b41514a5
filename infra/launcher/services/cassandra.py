"""Apache Cassandra 5.0: one single-token node on 127.0.0.1, CassandraDaemon in the foreground.

Files under <stack>/cassandra/:
  cassandra.yaml     generated on every start (single node, small memtables and caches)
  logback.xml        INFO to logs/system.log (rolling, capped) and to stdout (logs/cassandra.out)
  data/              data, commitlog, saved_caches, hints, cdc_raw (kept across restarts)
  java-no-memlock.sh when run as root: execs java without CAP_IPC_LOCK (see Cassandra.java())

JMX listens on localhost only (default 7199, LOL_CASSANDRA_JMX_PORT; 0 turns it off), so
`Cassandra(config).nodetool("status")` works (NodeTool needs the same --add-opens flags as the
server on Java 17, which that method passes).
The heap is LOL_CASSANDRA_HEAP_MB (default 768) rather than the stack-wide LOL_STACK_HEAP_MB:
Cassandra 5.0 does not run comfortably in 512m.

Multi-node mode (StackConfig.nodes, lol_stack/nodes.py): `nodes` nodes, node i on 127.0.0.i with the same
native and storage ports, 127.0.0.1 the seed, one evenly spaced token each, JMX on LOL_CASSANDRA_JMX_PORT + i - 1
and a heap of LOL_CASSANDRA_NODE_HEAP_MB (default 320). The nodes of a new cluster join without bootstrap
streaming (there is no data yet) and one at a time: a node is ready once it serves CQL and sees the nodes
started before it.

Secure mode (StackConfig.secure; material from lol_stack/security.py): PasswordAuthenticator,
CassandraAuthorizer and CassandraRoleManager, and TLS required on the native port (client_encryption_options,
the stack's PKCS12 keystore). JMX is off unless LOL_CASSANDRA_JMX_PORT asks for it (it has no authentication
here). `provision` then makes lol_admin the superuser, disables the well-known cassandra/cassandra, applies
infra/cassandra/schema.cql and creates the client roles of CASSANDRA_GRANTS. cassandra.yaml holds the
keystore password, so it is written 0600.
"""

from __future__ import annotations

import os
import re
import secrets
import shlex
import shutil
import subprocess
import time
from pathlib import Path

from lol_stack.config import INFRA_DIR
from lol_stack.nodes import cassandra_initial_token
from lol_stack.process import JavaService, ServiceStartError, port_open, resolve_classpath

SCHEMA_CQL = INFRA_DIR / "cassandra" / "schema.cql"  # the same file the platform's Cassandra resource applies
KEYSPACE = "lol_data"
# Least privilege, per role (keys of security.CASSANDRA_ROLES): permissions on KEYSPACE. lol_admin is the
# superuser and needs none. provision() makes each role's permissions exactly these.
CASSANDRA_GRANTS = {
    "PUBLISHER": ("SELECT", "MODIFY"),  # the batch publisher: writes and replaces a date's rows, reads them back
    "READER": ("SELECT",),
}

# The JPMS flags of Cassandra 5.0's conf/jvm17-server.options. Only cassandra-all is on the
# classpath (not the tarball's conf/), so the list is carried here. Keep it in step when the
# version in infra/poms/cassandra/pom.xml changes.
JVM17_MODULE_FLAGS = [
    "-Djdk.attach.allowAttachSelf=true",
    "--add-exports", "java.base/jdk.internal.misc=ALL-UNNAMED",
    "--add-exports", "java.management.rmi/com.sun.jmx.remote.internal.rmi=ALL-UNNAMED",
    "--add-exports", "java.rmi/sun.rmi.registry=ALL-UNNAMED",
    "--add-exports", "java.rmi/sun.rmi.server=ALL-UNNAMED",
    "--add-exports", "java.sql/java.sql=ALL-UNNAMED",
    "--add-exports", "java.base/java.lang.ref=ALL-UNNAMED",
    "--add-exports", "jdk.unsupported/sun.misc=ALL-UNNAMED",
    "--add-opens", "java.base/java.lang.module=ALL-UNNAMED",
    "--add-opens", "java.base/jdk.internal.loader=ALL-UNNAMED",
    "--add-opens", "java.base/jdk.internal.ref=ALL-UNNAMED",
    "--add-opens", "java.base/jdk.internal.reflect=ALL-UNNAMED",
    "--add-opens", "java.base/jdk.internal.math=ALL-UNNAMED",
    "--add-opens", "java.base/jdk.internal.module=ALL-UNNAMED",
    "--add-opens", "java.base/jdk.internal.util.jar=ALL-UNNAMED",
    "--add-opens", "jdk.management/com.sun.management.internal=ALL-UNNAMED",
    "--add-opens", "java.base/sun.nio.ch=ALL-UNNAMED",
    "--add-opens", "java.base/java.io=ALL-UNNAMED",
    "--add-opens", "java.base/java.lang.reflect=ALL-UNNAMED",
    "--add-opens", "java.base/java.lang=ALL-UNNAMED",
    "--add-opens", "java.base/java.util=ALL-UNNAMED",
    # Netty settings from the same file.
    "-Dio.netty.tryReflectionSetAccessible=true",
    "-Dio.netty.allocator.useCacheForAllThreads=true",
    "-Dio.netty.allocator.maxOrder=11",
]  # fmt: skip

# bin/cassandra adds these only when a full JDK (javac) is present, since a JRE lacks the
# jdk.compiler / jdk.attach modules (CASSANDRA-19001); they serve sjk/jcmd-style tooling.
JDK_ONLY_MODULE_FLAGS = [
    "--add-exports", "jdk.attach/sun.tools.attach=ALL-UNNAMED",
    "--add-exports", "jdk.compiler/com.sun.tools.javac.file=ALL-UNNAMED",
    "--add-opens", "jdk.compiler/com.sun.tools.javac=ALL-UNNAMED",
]  # fmt: skip


def _env_int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


class Cassandra(JavaService):
    name = "cassandra"
    pom = "cassandra"

    def __init__(self, config, node: int | None = None):
        """`node`: which node (1-based) of a multi-node Cassandra; None: the single node."""
        self.node = node
        if node is not None:
            self.name = f"cassandra-{node}"
        super().__init__(config)
        self.heap_mb = _env_int("LOL_CASSANDRA_NODE_HEAP_MB", 320) if node else _env_int("LOL_CASSANDRA_HEAP_MB", 768)
        self.jmx_port = config.cassandra_jmx_port  # LOL_CASSANDRA_JMX_PORT; 7199, or off in secure mode
        if node and self.jmx_port:
            self.jmx_port += node - 1  # JMX binds 127.0.0.1 whatever the node's address: a port each
        self._jamm_jar: str | None = None

    @property
    def data_root(self) -> Path:
        return self.home / "data"

    @property
    def yaml_path(self) -> Path:
        return self.home / "cassandra.yaml"

    @property
    def logback_path(self) -> Path:
        return self.home / "logback.xml"

    @property
    def host(self) -> str:
        return self.config.node_host(self.node) if self.node else self.config.host

    def address(self) -> str:
        return f"{self.host}:{self.config.cassandra_port}"

    def main_class(self) -> str:
        return "org.apache.cassandra.service.CassandraDaemon"

    # -- JVM -------------------------------------------------------------------------------
    def jvm_options(self) -> list[str]:
        logs = self.home / "logs"
        opts = [
            f"-Xms{min(256, self.heap_mb)}m",
            f"-Xmx{self.heap_mb}m",
            "-Xss512k",
            "-XX:+UseG1GC",
            "-XX:+ParallelRefProcEnabled",
            "-XX:MaxTenuringThreshold=1",
            "-XX:MaxGCPauseMillis=300",
            "-XX:+UseThreadPriorities",
            "-XX:+UseTLAB",
            "-XX:+ResizeTLAB",
            "-XX:+ExitOnOutOfMemoryError",  # Cassandra's own start-up check asks for this
            "-Djava.net.preferIPv4Stack=true",
            *JVM17_MODULE_FLAGS,
        ]
        if self._is_jdk():
            opts += JDK_ONLY_MODULE_FLAGS
        if self._jamm_jar:
            opts.append(f"-javaagent:{self._jamm_jar}")
        opts += [
            "-Dcassandra-foreground=yes",
            f"-Dcassandra.config=file://{self.yaml_path}",
            f"-Dcassandra.storagedir={self.data_root}",
            f"-Dcassandra.logdir={logs}",
            f"-Dlogback.configurationFile={self.logback_path}",
            f"-Dcassandra.triggers_dir={self.home / 'triggers'}",
            # A lone seed node has no peers to wait for; skip the gossip settle wait (~10s).
            "-Dcassandra.skip_wait_for_gossip_to_settle=0",
        ]
        if self.jmx_port:
            # Local-only JMX (what cassandra-env.sh does with LOCAL_JMX=yes); nodetool uses it.
            opts.append(f"-Dcassandra.jmx.local.port={self.jmx_port}")
        if self.config.secure:
            # The default superuser (cassandra/cassandra, which provision() disables) is created this long
            # after start; 10 s by default, for a cluster's nodes to agree who creates it. One node: at once.
            opts.append("-Dcassandra.superuser_setup_delay_ms=0")
        return opts

    def _is_jdk(self) -> bool:
        return (Path(super().java()).resolve().parent / "javac").exists()

    # Cassandra calls mlockall(MCL_CURRENT) at start. As root (CAP_IPC_LOCK) that succeeds and
    # marks every mapping locked, so the whole heap becomes resident as it is committed and can
    # never be reclaimed. A dev stack does not want that: as root, start the JVM without
    # CAP_IPC_LOCK (setpriv execs java, so the pid is unchanged); mlockall then fails against
    # RLIMIT_MEMLOCK and Cassandra only logs a warning. LOL_CASSANDRA_MLOCK=1 keeps the lock.
    @property
    def _launcher_path(self) -> Path:
        return self.home / "java-no-memlock.sh"

    def _drop_memlock(self) -> bool:
        return (
            os.geteuid() == 0
            and os.environ.get("LOL_CASSANDRA_MLOCK", "0") != "1"
            and shutil.which("setpriv") is not None
        )

    def java(self) -> str:
        if self._drop_memlock() and self._launcher_path.exists():
            return str(self._launcher_path)
        return super().java()

    # -- files -----------------------------------------------------------------------------
    def prepare(self, classpath: str) -> None:
        jamm = [p for p in classpath.split(os.pathsep) if Path(p).name.startswith("jamm-") and p.endswith(".jar")]
        if not jamm:
            raise ServiceStartError("cassandra: no jamm jar in the resolved classpath (needed as -javaagent)")
        self._jamm_jar = jamm[0]
        c = self.config
        ports = {"native": c.cassandra_port, "storage": c.cassandra_storage_port, "JMX": self.jmx_port}
        busy = [f"{what} {port}" for what, port in ports.items() if port and port_open(self._port_host(what), port)]
        if busy:  # e.g. a Cassandra left running without a pid file: readiness would probe it
            raise ServiceStartError(
                f"{self.name}: port(s) already in use on {self.host}: {', '.join(busy)} (another Cassandra?). "
                "Stop it, or move ports with LOL_CASSANDRA_PORT / LOL_CASSANDRA_STORAGE_PORT / "
                "LOL_CASSANDRA_JMX_PORT (0 turns JMX off)."
            )
        for sub in ("data", "commitlog", "saved_caches", "hints", "cdc_raw"):
            (self.data_root / sub).mkdir(parents=True, exist_ok=True)
        (self.home / "triggers").mkdir(exist_ok=True)
        self.write_config()
        if self._drop_memlock():
            self._launcher_path.write_text(
                "#!/bin/sh\n# Generated by lol_stack: run java without CAP_IPC_LOCK (see cassandra.py).\n"
                f"exec {shlex.quote(shutil.which('setpriv'))} --bounding-set=-ipc_lock --inh-caps=-ipc_lock -- "
                f'{shlex.quote(super().java())} "$@"\n'
            )
            self._launcher_path.chmod(0o755)
        self.logback_path.write_text(self._logback())
        self._tools_logback_path.write_text(
            '<configuration><appender name="E" class="ch.qos.logback.core.ConsoleAppender">'
            "<target>System.err</target><encoder><pattern>%-5level %msg%n</pattern></encoder></appender>"
            '<root level="WARN"><appender-ref ref="E"/></root></configuration>\n'
        )

    def _port_host(self, what: str) -> str:
        return self.config.host if what == "JMX" else self.host

    def write_config(self) -> None:
        """cassandra.yaml, 0600: in secure mode it holds the keystore's password."""
        self.home.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.yaml_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            os.fchmod(f.fileno(), 0o600)
            f.write(self._yaml())

    def _yaml(self) -> str:
        c = self.config
        d = self.data_root
        return f"""\
# Generated by lol_stack (infra/launcher/services/cassandra.py) on every start; edits are lost.
cluster_name: lol_stack
num_tokens: 1
partitioner: org.apache.cassandra.dht.Murmur3Partitioner
endpoint_snitch: SimpleSnitch
seed_provider:
  - class_name: org.apache.cassandra.locator.SimpleSeedProvider
    parameters:
      - seeds: "{self._seed()}"
listen_address: {self.host}
broadcast_address: {self.host}
rpc_address: {self.host}
broadcast_rpc_address: {self.host}
{self._ring_yaml()}storage_port: {c.cassandra_storage_port}
start_native_transport: true
native_transport_port: {c.cassandra_port}

data_file_directories:
  - {d / "data"}
commitlog_directory: {d / "commitlog"}
saved_caches_directory: {d / "saved_caches"}
hints_directory: {d / "hints"}
cdc_raw_directory: {d / "cdc_raw"}

# group: a write is acknowledged only once the commit log holding it is fsynced (one fsync per 15 ms
# window, shared by every write in it), so a kill -9 loses nothing that was acknowledged. (periodic
# acknowledges first and syncs later: a kill -9 lost up to a period of "published" rows.)
commitlog_sync: group
commitlog_sync_group_window: 15ms
commitlog_segment_size: 32MiB
commitlog_total_space: 256MiB
auto_snapshot: false
snapshot_before_compaction: false
storage_compatibility_mode: CASSANDRA_4

# A stats date is published as one single-partition batch, so that readers see the old date or the new
# one, never a mix (about 40 KiB for ~170 champions): allowed up to 1 MiB, warned above 64 KiB.
batch_size_warn_threshold: 64KiB
batch_size_fail_threshold: 1024KiB
# A write the replicas do not acknowledge within 2 s fails fast; the publisher then halves its in-flight
# window and retries after a backoff (spark_jobs/cassandra_sink.py) rather than waiting longer.
write_request_timeout: 2000ms

{self._security_yaml()}

# Memtables hold their cells off the heap, so they can be several times larger than the heap could take:
# with 64 MiB on-heap memtables a publish flushed every ~7,500 partitions (the publish rate barely moved
# with this alone; concurrent_writes below was the limit).
memtable_allocation_type: offheap_objects
memtable_heap_space: {self._memtable_mib() // 4}MiB
memtable_offheap_space: {self._memtable_mib()}MiB
memtable_flush_writers: 1
key_cache_size: 16MiB
row_cache_size: 0MiB
counter_cache_size: 4MiB
prepared_statements_cache_size: 8MiB
file_cache_size: 32MiB
networking_cache_size: 16MiB
index_summary_capacity: 8MiB
concurrent_reads: 8
# With group commit a write's thread waits for the window's fsync, so the writes in flight at once set the
# throughput (8 threads / 15 ms window capped a publish at ~500 partitions/s); the waiting threads cost no CPU.
concurrent_writes: 64
concurrent_counter_writes: 8
concurrent_materialized_view_writes: 4
concurrent_compactors: 1
compaction_throughput: 64MiB/s
native_transport_max_threads: 128
"""

    def _seed(self) -> str:
        return self.config.node_host(1) if self.node else self.config.host

    def _ring_yaml(self) -> str:
        """A node's place in the ring. The nodes of a new cluster take evenly spaced tokens and join without
        streaming (auto_bootstrap: false), which is right only because the cluster starts empty."""
        if not self.node:
            return ""
        return f"initial_token: {cassandra_initial_token(self.node, self.config.nodes)}\nauto_bootstrap: false\n"

    def _memtable_mib(self) -> int:
        return 512 if self.heap_mb >= 512 else 128  # off-heap; a node of the multi-node stack gets less

    def _security_yaml(self) -> str:
        if not self.config.secure:
            return "authenticator: AllowAllAuthenticator\nauthorizer: AllowAllAuthorizer\n"
        if self.node:
            raise ServiceStartError("cassandra: the secure stack runs single-node only (LOL_STACK_NODES=1)")
        from lol_stack.security import ensure_security

        files = ensure_security(self.config)
        return f"""\
# Secure mode: logins with passwords (roles in system_auth), permissions checked, TLS required on the native
# port (optional: false: a plaintext client is refused), with the stack's keystore (lol_stack/security.py).
authenticator: PasswordAuthenticator
authorizer: CassandraAuthorizer
role_manager: CassandraRoleManager
client_encryption_options:
  enabled: true
  optional: false
  keystore: {files.keystore}
  keystore_password: "{files.store_password}"
  truststore: {files.truststore}
  truststore_password: "{files.store_password}"
  store_type: PKCS12
  require_client_auth: false
  protocol: TLS
  accepted_protocols: [TLSv1.2, TLSv1.3]
# The storage port too: mutual TLS, so only a holder of a key signed by the stack's CA can speak internode.
server_encryption_options:
  internode_encryption: all
  optional: false
  keystore: {files.keystore}
  keystore_password: "{files.store_password}"
  truststore: {files.truststore}
  truststore_password: "{files.store_password}"
  store_type: PKCS12
  require_client_auth: true
  protocol: TLS
  accepted_protocols: [TLSv1.2, TLSv1.3]
"""

    def _logback(self) -> str:
        logs = self.home / "logs"
        return f"""\
<!-- Generated by lol_stack on every start. -->
<configuration scan="false">
  <appender name="SYSTEMLOG" class="ch.qos.logback.core.rolling.RollingFileAppender">
    <file>{logs}/system.log</file>
    <rollingPolicy class="ch.qos.logback.core.rolling.SizeAndTimeBasedRollingPolicy">
      <fileNamePattern>{logs}/system.log.%d{{yyyy-MM-dd}}.%i.zip</fileNamePattern>
      <maxFileSize>20MB</maxFileSize>
      <maxHistory>7</maxHistory>
      <totalSizeCap>200MB</totalSizeCap>
    </rollingPolicy>
    <encoder>
      <pattern>%-5level [%thread] %date{{ISO8601}} %F:%L - %msg%n</pattern>
    </encoder>
  </appender>
  <appender name="STDOUT" class="ch.qos.logback.core.ConsoleAppender">
    <encoder>
      <pattern>%-5level [%thread] %date{{ISO8601}} %F:%L - %msg%n</pattern>
    </encoder>
  </appender>
  <root level="INFO">
    <appender-ref ref="SYSTEMLOG"/>
    <appender-ref ref="STDOUT"/>
  </root>
  <logger name="org.apache.cassandra" level="INFO"/>
</configuration>
"""

    @property
    def _tools_logback_path(self) -> Path:
        return self.home / "logback-tools.xml"

    def nodetool(self, *args: str, timeout_s: float = 60) -> str:
        """Run `nodetool <args>` against this node over local JMX; return its stdout."""
        if not self.jmx_port:
            raise ServiceStartError("cassandra: JMX is off (LOL_CASSANDRA_JMX_PORT=0), nodetool cannot connect")
        cmd = [
            super().java(), "-Xmx128m", *JVM17_MODULE_FLAGS,
            f"-Dlogback.configurationFile={self._tools_logback_path}",
            "-cp", resolve_classpath(self.config, self.pom), "org.apache.cassandra.tools.NodeTool",
            "-h", "127.0.0.1", "-p", str(self.jmx_port), *args,
        ]  # fmt: skip
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s, cwd=self.home)
        if proc.returncode != 0:
            raise ServiceStartError(f"nodetool {' '.join(args)} failed:\n{proc.stdout[-1500:]}{proc.stderr[-1500:]}")
        return proc.stdout

    # -- clients ---------------------------------------------------------------------------
    def cluster(self, login: tuple[str, str] | None = None, timeout_s: float = 3, tls: bool | None = None):
        """A cassandra-driver Cluster for this node; secure mode: TLS verified against the stack's CA, and
        `login` (username, password) if given. The caller shuts it down."""
        try:
            from cassandra.auth import PlainTextAuthProvider
            from cassandra.cluster import EXEC_PROFILE_DEFAULT, Cluster, ExecutionProfile
            from cassandra.policies import DCAwareRoundRobinPolicy, WhiteListRoundRobinPolicy
        except ImportError as exc:  # pragma: no cover - the venv pins cassandra-driver
            raise ServiceStartError("cassandra readiness needs the cassandra-driver package") from exc
        extra = {}
        if self.config.secure if tls is None else tls:
            from lol_stack.security import cassandra_ssl_context

            extra["ssl_context"] = cassandra_ssl_context(self.config.security_dir / "ca.pem")
            extra["ssl_options"] = {"server_hostname": self.host}
        if login is not None:
            extra["auth_provider"] = PlainTextAuthProvider(username=login[0], password=login[1])
        # A node of several is asked alone: its readiness is its own, not that of whichever node answers.
        policy = WhiteListRoundRobinPolicy([self.host]) if self.node else DCAwareRoundRobinPolicy(local_dc="datacenter1")
        return Cluster(
            [self.host],
            port=self.config.cassandra_port,
            protocol_version=5,
            execution_profiles={
                EXEC_PROFILE_DEFAULT: ExecutionProfile(load_balancing_policy=policy, request_timeout=timeout_s)
            },
            connect_timeout=timeout_s,
            control_connection_timeout=timeout_s,
            **extra,
        )

    def _admin_logins(self) -> list[tuple[str, str]]:
        """Who readiness logs in as: lol_admin, or before the first provision the default superuser."""
        from lol_stack.security import cassandra_login, load_credentials

        return [cassandra_login(load_credentials(self.config), "ADMIN"), ("cassandra", "cassandra")]

    # -- readiness -------------------------------------------------------------------------
    def is_ready(self) -> bool:
        if not port_open(self.host, self.config.cassandra_port):
            self.not_ready_reason = f"nothing listens on {self.address()} yet"
            return False
        # The native port can accept TCP before CQL is served; ask as a client would.
        try:
            logins = self._admin_logins() if self.config.secure else [None]
        except ServiceStartError as exc:
            self.not_ready_reason = str(exc)
            return False
        for login in logins:
            cluster = self.cluster(login)
            try:
                session = cluster.connect()
                row = session.execute("SELECT release_version FROM system.local").one()
                self.not_ready_reason = self._missing_peers(session)
                return row is not None and self.not_ready_reason is None
            except Exception as exc:  # noqa: BLE001 - any client error means "not yet"
                self.not_ready_reason = f"{type(exc).__name__}: {exc}"[:300]
            finally:
                cluster.shutdown()
        return False

    def _missing_peers(self, session) -> str | None:
        """A node of several has joined once it knows every node started before it as a peer."""
        if not self.node:
            return None
        seen = {str(row.peer) for row in session.execute("SELECT peer FROM system.peers_v2")}
        missing = [host for host in (self.config.node_host(n) for n in range(1, self.node)) if host not in seen]
        return f"has not seen {', '.join(missing)} yet" if missing else None

    # -- secure mode: roles, schema, grants ------------------------------------------------
    def provision(self, progress=print, timeout_s: float = 60) -> None:
        """Secure mode, once CQL is served (idempotent, each `stack up`):

        1. lol_admin (SUPERUSER, LOGIN) exists with the password of credentials.env, created as the default
           cassandra/cassandra superuser the first time (which appears a moment after start: retried);
        2. as lol_admin, the role cassandra loses its login, its superuser status and its well-known password;
        3. infra/cassandra/schema.cql is applied;
        4. lol_publisher and lol_reader exist with their passwords and exactly the permissions of
           CASSANDRA_GRANTS on keyspace lol_data;
        5. cassandra/cassandra is checked to be refused.
        """
        if not self.config.secure:
            return
        from cassandra.cluster import NoHostAvailable

        from lol_stack.security import CASSANDRA_ROLES, cassandra_login, load_credentials

        creds = load_credentials(self.config)
        admin_name, admin_pw = cassandra_login(creds, "ADMIN")
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                cluster, session = self._session((admin_name, admin_pw))
                break
            except NoHostAvailable as exc:
                if not _auth_failed(exc):
                    raise
            # lol_admin does not exist yet: make it as the default superuser (whose role is being created).
            try:
                boot, boot_session = self._session(("cassandra", "cassandra"))
            except NoHostAvailable as exc:
                if not _auth_failed(exc) or time.monotonic() > deadline:
                    raise ServiceStartError(
                        f"cassandra: neither lol_admin (credentials.env) nor the default superuser can log in at "
                        f"{self.address()}: {exc}. If {self.config.security_dir} was made again after this node was "
                        f"provisioned, its old roles are locked: remove {self.home} to start over."
                    ) from exc
                time.sleep(0.5)
                continue
            try:
                boot_session.execute(
                    f"CREATE ROLE IF NOT EXISTS {admin_name} WITH SUPERUSER = true AND LOGIN = true AND PASSWORD = %s",
                    (admin_pw,),
                )
                boot_session.execute(f"ALTER ROLE {admin_name} WITH PASSWORD = %s", (admin_pw,))
                progress(f"  {self.name:<14} role {admin_name} created (superuser)")
            finally:
                boot.shutdown()
        try:
            rows = session.execute("SELECT role, is_superuser, can_login FROM system_auth.roles")
            roles = {row.role: row for row in rows}
            default = roles.get("cassandra")
            if default is not None and (default.is_superuser or default.can_login):
                session.execute(
                    "ALTER ROLE cassandra WITH PASSWORD = %s AND SUPERUSER = false AND LOGIN = false",
                    (secrets.token_urlsafe(32),),
                )
                progress(f"  {self.name:<14} default role cassandra disabled (no login, no superuser, random password)")
            for statement in cql_statements(SCHEMA_CQL.read_text()):
                session.execute(statement, timeout=60)
            for key, permissions in CASSANDRA_GRANTS.items():
                name, password = cassandra_login(creds, key)
                session.execute(f"CREATE ROLE IF NOT EXISTS {name} WITH LOGIN = true AND PASSWORD = %s", (password,))
                session.execute(
                    f"ALTER ROLE {name} WITH PASSWORD = %s AND LOGIN = true AND SUPERUSER = false", (password,)
                )
                rows = session.execute(f"LIST ALL PERMISSIONS OF {name} NORECURSIVE")
                granted = {(row.resource, row.permission) for row in rows}
                wanted = {(f"<keyspace {KEYSPACE}>", permission) for permission in permissions}
                for resource, permission in granted - wanted:
                    session.execute(f"REVOKE {permission} ON {_cql_resource(resource)} FROM {name}")
                for _, permission in wanted - granted:
                    session.execute(f"GRANT {permission} ON KEYSPACE {KEYSPACE} TO {name}")
            names = ", ".join(role for _, role in CASSANDRA_ROLES.values())
            progress(f"  {self.name:<14} schema {SCHEMA_CQL.name} applied; roles {names} in place")
        finally:
            cluster.shutdown()
        # The credentials cache (credentials_validity, 2 s) may still let the old password in for a moment.
        while True:
            try:
                probe, _ = self._session(("cassandra", "cassandra"))
                probe.shutdown()
            except NoHostAvailable as exc:
                if _auth_failed(exc):
                    return
                raise
            if time.monotonic() > deadline:
                raise ServiceStartError("cassandra: the login cassandra/cassandra still works after provisioning")
            time.sleep(0.5)

    def _session(self, login: tuple[str, str]):
        cluster = self.cluster(login, timeout_s=10)
        try:
            return cluster, cluster.connect()
        except Exception:
            cluster.shutdown()
            raise


def cql_statements(text: str) -> list[str]:
    """Split a CQL script into statements, dropping `--` comments (as the platform's resource does)."""
    without_comments = re.sub(r"--[^\n]*", "", text)
    return [stmt.strip() for stmt in without_comments.split(";") if stmt.strip()]


def _auth_failed(exc: Exception) -> bool:
    from cassandra import AuthenticationFailed

    errors = getattr(exc, "errors", {}) or {}
    return bool(errors) and all(isinstance(err, AuthenticationFailed) for err in errors.values())


def _cql_resource(resource: str) -> str:
    """LIST PERMISSIONS' resource name ('<keyspace ks>', '<table ks.t>', '<all keyspaces>'...) as CQL."""
    kind, _, name = resource.strip("<>").partition(" ")
    if kind == "all":
        return f"ALL {name.upper()}"
    return f"{kind.upper()} {name}"
