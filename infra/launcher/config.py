"""Stack settings: ports and the stack directory, each overridable by an environment variable."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

INFRA_DIR = Path(__file__).resolve().parent.parent
REPO_ROOT = INFRA_DIR.parent


def _env_int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


def _env_str(name: str, default: str) -> str:
    return os.environ.get(name) or default


@dataclass(frozen=True)
class StackConfig:
    """Where the stack lives and which loopback ports it binds. Defaults match the resources'."""

    stack_dir: Path = field(
        default_factory=lambda: Path(os.environ.get("LOL_STACK_DIR", REPO_ROOT / ".stack")).resolve()
    )
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
    elasticsearch_port: int = field(default_factory=lambda: _env_int("LOL_ES_PORT", 9200))
    elasticsearch_transport_port: int = field(default_factory=lambda: _env_int("LOL_ES_TRANSPORT_PORT", 9300))
    heap_mb: int = field(default_factory=lambda: _env_int("LOL_STACK_HEAP_MB", 512))
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

    @property
    def poms_dir(self) -> Path:
        return INFRA_DIR / "poms"
