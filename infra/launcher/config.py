"""Stack settings: ports and the stack directory, each overridable by an environment variable."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

INFRA_DIR = Path(__file__).resolve().parent.parent
REPO_ROOT = INFRA_DIR.parent
MAX_NODES = 9  # 127.0.0.1 .. 127.0.0.9 (all of 127.0.0.0/8 is on lo on Linux)


def _env_int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


def _env_str(name: str, default: str) -> str:
    return os.environ.get(name) or default


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")


def _env_optional_int(name: str) -> int | None:
    value = os.environ.get(name)
    return int(value) if value not in (None, "") else None


@dataclass(frozen=True)
class StackConfig:
    """Where the stack lives and which loopback ports it binds. Defaults match the resources'.

    `secure` (`stack up --secure` or LOL_STACK_SECURE=1) is the locked-down stack (lol_stack/security.py):
    Kafka with SASL over TLS and ACLs, Cassandra with passwords, roles and client TLS. Without LOL_STACK_DIR
    it lives in <repo>/.stack-secure, never in a plain stack's directory (whose Kafka was formatted without
    SCRAM users and whose Cassandra has no roles).
    """

    # None: LOL_STACK_DIR, else <repo>/.stack (or <repo>/.stack-secure when secure); see __post_init__.
    stack_dir: Path | None = None
    secure: bool = field(default_factory=lambda: _env_flag("LOL_STACK_SECURE"))
    host: str = "127.0.0.1"
    kafka_port: int = field(default_factory=lambda: _env_int("LOL_KAFKA_PORT", 9092))
    kafka_controller_port: int = field(default_factory=lambda: _env_int("LOL_KAFKA_CONTROLLER_PORT", 9093))
    namenode_rpc_port: int = field(default_factory=lambda: _env_int("LOL_HDFS_NAMENODE_PORT", 8020))
    namenode_http_port: int = field(default_factory=lambda: _env_int("LOL_WEBHDFS_PORT", 9870))
    datanode_port: int = field(default_factory=lambda: _env_int("LOL_HDFS_DATANODE_PORT", 9866))
    datanode_http_port: int = field(default_factory=lambda: _env_int("LOL_HDFS_DATANODE_HTTP_PORT", 9864))
    datanode_ipc_port: int = field(default_factory=lambda: _env_int("LOL_HDFS_DATANODE_IPC_PORT", 9867))
    cassandra_port: int = field(default_factory=lambda: _env_int("LOL_CASSANDRA_PORT", 9042))
    cassandra_storage_port: int = field(default_factory=lambda: _env_int("LOL_CASSANDRA_STORAGE_PORT", 7000))
    # Cassandra's local JMX (nodetool); 0 turns it off. None: 7199, but off in secure mode (JMX has no
    # authentication here), unless LOL_CASSANDRA_JMX_PORT asks for it.
    cassandra_jmx_port: int | None = field(default_factory=lambda: _env_optional_int("LOL_CASSANDRA_JMX_PORT"))
    elasticsearch_port: int = field(default_factory=lambda: _env_int("LOL_ES_PORT", 9200))
    elasticsearch_transport_port: int = field(default_factory=lambda: _env_int("LOL_ES_TRANSPORT_PORT", 9300))
    heap_mb: int = field(default_factory=lambda: _env_int("LOL_STACK_HEAP_MB", 512))
    # Multi-node mode (`stack up --nodes 3` or LOL_STACK_NODES=3): Kafka and Cassandra run as `nodes` nodes,
    # node i on loopback address 127.0.0.i with the same ports (lol_stack/nodes.py); HDFS and ES stay single.
    nodes: int = field(default_factory=lambda: _env_int("LOL_STACK_NODES", 1))
    # The Spark standalone cluster (opt-in: `stack up --spark-cluster` or LOL_STACK_SPARK_CLUSTER=1): a master
    # and `spark_workers` workers; worker i binds spark_worker_port + i - 1 and spark_worker_ui_port + i - 1.
    spark_cluster: bool = field(default_factory=lambda: os.environ.get("LOL_STACK_SPARK_CLUSTER") == "1")
    spark_master_port: int = field(default_factory=lambda: _env_int("LOL_SPARK_MASTER_PORT", 7077))
    spark_master_ui_port: int = field(default_factory=lambda: _env_int("LOL_SPARK_MASTER_UI_PORT", 8080))
    spark_workers: int = field(default_factory=lambda: _env_int("LOL_SPARK_WORKERS", 2))
    spark_worker_port: int = field(default_factory=lambda: _env_int("LOL_SPARK_WORKER_PORT", 7078))
    spark_worker_ui_port: int = field(default_factory=lambda: _env_int("LOL_SPARK_WORKER_UI_PORT", 8081))
    spark_worker_cores: int = field(default_factory=lambda: _env_int("LOL_SPARK_WORKER_CORES", 1))
    spark_worker_memory: str = field(default_factory=lambda: _env_str("LOL_SPARK_WORKER_MEMORY", "1g"))
    spark_daemon_memory: str = field(default_factory=lambda: _env_str("LOL_SPARK_DAEMON_MEMORY", "256m"))
    start_timeout_s: float = field(default_factory=lambda: float(os.environ.get("LOL_STACK_START_TIMEOUT", 180)))

    def __post_init__(self) -> None:
        if self.stack_dir is None:
            default = REPO_ROOT / (".stack-secure" if self.secure else ".stack")
            object.__setattr__(self, "stack_dir", Path(os.environ.get("LOL_STACK_DIR") or default).resolve())
        else:
            object.__setattr__(self, "stack_dir", Path(self.stack_dir).resolve())
        if not 1 <= self.nodes <= MAX_NODES:
            raise ValueError(f"LOL_STACK_NODES={self.nodes}: the local stack runs 1 to {MAX_NODES} nodes")
        if self.cassandra_jmx_port is None:
            object.__setattr__(self, "cassandra_jmx_port", 0 if self.secure else 7199)

    @property
    def multi_node(self) -> bool:
        return self.nodes > 1

    def node_host(self, node: int) -> str:
        """Loopback address of node `node` (1-based) of a multi-node store."""
        return f"127.0.0.{node}"

    @property
    def security_dir(self) -> Path:
        """Certificates, keystores and credentials of the secure stack (0700; never committed)."""
        return self.stack_dir / "security"

    @property
    def poms_dir(self) -> Path:
        return INFRA_DIR / "poms"

    @classmethod
    def on_port_base(cls, base: int, stack_dir: Path | str, **settings) -> StackConfig:
        """A stack that never meets the default one: its own directory, and every port at an offset from `base`
        (Kafka base+92, Cassandra base+42, its JMX base+190 (+1 a node), Elasticsearch base+200, the NameNode
        base+20/+870, ...). Keep base+870 below 32768, where Linux starts handing out ephemeral ports.
        Nothing is read from LOL_*_PORT: a test's stack ignores the developer's."""
        ports = dict(
            kafka_port=base + 92, kafka_controller_port=base + 93,
            namenode_rpc_port=base + 20, namenode_http_port=base + 870,
            datanode_port=base + 866, datanode_http_port=base + 864, datanode_ipc_port=base + 867,
            cassandra_port=base + 42, cassandra_storage_port=base, cassandra_jmx_port=base + 190,
            elasticsearch_port=base + 200, elasticsearch_transport_port=base + 300,
        )  # fmt: skip
        return cls(stack_dir=stack_dir, secure=False, spark_cluster=False, **{**ports, **settings})
