"""A Spark standalone cluster: one master and N workers on 127.0.0.1, run from the pyspark package's own jars.

The daemons are what `sbin/start-master.sh` / `start-worker.sh` start (`bin/spark-class ...Master|Worker`),
run in the foreground in their own process group like every other service of the stack. Their environment
is scrubbed of the caller's Python settings (PYTHONPATH, PYSPARK_PYTHON, the virtualenv): executors must
get the project's code and dependencies from the job, as on a real cluster, never from whoever ran
`stack up`.
"""

from __future__ import annotations

import importlib.util
import json
import os
import urllib.request
from pathlib import Path

from lol_stack.config import StackConfig
from lol_stack.process import JavaService, ServiceStartError, port_open

# Never inherited by the daemons (and so by executors and their Python workers).
SCRUBBED_ENV = ("PYTHONPATH", "PYTHONHOME", "PYSPARK_PYTHON", "PYSPARK_DRIVER_PYTHON", "VIRTUAL_ENV", "SPARK_HOME",
                "SPARK_CONF_DIR", "SPARK_LOCAL_IP", "SPARK_LOCAL_DIRS", "CONDA_PREFIX")  # fmt: skip


def spark_home() -> Path:
    """The pyspark package directory: its bin/spark-class and jars/ are a complete Spark distribution."""
    spec = importlib.util.find_spec("pyspark")
    if spec is None or not spec.submodule_search_locations:
        raise ServiceStartError("pyspark is not installed in this interpreter: the Spark cluster runs from its jars")
    return Path(next(iter(spec.submodule_search_locations)))


def master_json(config: StackConfig, timeout: float = 2) -> dict:
    """The master's state as its web UI serves it (workers, active and completed applications)."""
    url = f"http://{config.host}:{config.spark_master_ui_port}/json/"
    with urllib.request.urlopen(url, timeout=timeout) as resp:
        return json.load(resp)


class _SparkDaemon(JavaService):
    pom = None

    def main_class(self) -> str:
        raise NotImplementedError

    def daemon_args(self) -> list[str]:
        return []

    def command(self, classpath: str) -> list[str]:
        return [str(spark_home() / "bin" / "spark-class"), self.main_class(), *self.daemon_args()]

    def prepare(self, classpath: str) -> None:
        # An empty conf dir: no spark-defaults.conf or spark-env.sh of the caller's leaks in.
        (self.home / "conf").mkdir(parents=True, exist_ok=True)

    def environment(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in SCRUBBED_ENV}
        venv = os.environ.get("VIRTUAL_ENV")
        if venv:  # the caller's virtualenv first on PATH would be the executors' `python3`
            env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep) if not p.startswith(venv))
        env.update(
            SPARK_HOME=str(spark_home()),
            SPARK_CONF_DIR=str(self.home / "conf"),
            SPARK_LOG_DIR=str(self.home / "logs"),
            SPARK_LOCAL_IP=self.config.host,  # RPC and web UI on loopback, like every other service
            SPARK_DAEMON_MEMORY=self.config.spark_daemon_memory,
        )
        return env

    @property
    def master_url(self) -> str:
        return f"spark://{self.config.host}:{self.config.spark_master_port}"


class SparkMaster(_SparkDaemon):
    name = "spark-master"

    def main_class(self) -> str:
        return "org.apache.spark.deploy.master.Master"

    def daemon_args(self) -> list[str]:
        c = self.config
        return ["--host", c.host, "--port", str(c.spark_master_port), "--webui-port", str(c.spark_master_ui_port)]

    def address(self) -> str:
        return f"{self.master_url} (UI http://{self.config.host}:{self.config.spark_master_ui_port})"

    def ports(self) -> list[int]:
        return [self.config.spark_master_port, self.config.spark_master_ui_port]

    def is_ready(self) -> bool:
        if not port_open(self.config.host, self.config.spark_master_ui_port):
            return False
        try:
            return master_json(self.config).get("status") == "ALIVE"
        except Exception:  # noqa: BLE001 - not answering yet
            return False


class SparkWorker(_SparkDaemon):
    def __init__(self, config: StackConfig, index: int):
        self.index = index
        self.name = f"spark-worker-{index}"
        super().__init__(config)

    @property
    def port(self) -> int:
        return self.config.spark_worker_port + self.index - 1

    @property
    def ui_port(self) -> int:
        return self.config.spark_worker_ui_port + self.index - 1

    def main_class(self) -> str:
        return "org.apache.spark.deploy.worker.Worker"

    def daemon_args(self) -> list[str]:
        c = self.config
        return [
            "--host", c.host, "--port", str(self.port), "--webui-port", str(self.ui_port),
            "--cores", str(c.spark_worker_cores), "--memory", c.spark_worker_memory,
            "--work-dir", str(self.home / "work"), self.master_url,
        ]  # fmt: skip

    def environment(self) -> dict[str, str]:
        # Finished applications' directories (their shipped code and Python environment) are removed after a day.
        opts = "-Dspark.worker.cleanup.enabled=true -Dspark.worker.cleanup.appDataTtl=86400"
        return {**super().environment(), "SPARK_WORKER_OPTS": opts}

    def address(self) -> str:
        return f"{self.config.host}:{self.port} (UI http://{self.config.host}:{self.ui_port})"

    def ports(self) -> list[int]:
        return [self.port, self.ui_port]

    def is_ready(self) -> bool:
        """Ready once the master lists this worker as ALIVE (registered, so it can be given executors)."""
        if not port_open(self.config.host, self.ui_port):
            self.not_ready_reason = f"nothing listens on {self.config.host}:{self.ui_port} yet"
            return False
        try:
            workers = master_json(self.config).get("workers", [])
        except Exception as exc:  # noqa: BLE001 - the master is not answering (yet)
            self.not_ready_reason = f"the master at {self.master_url} does not answer: {exc}"
            return False
        alive = any(w.get("host") == self.config.host and w.get("port") == self.port and w.get("state") == "ALIVE"
                    for w in workers)  # fmt: skip
        self.not_ready_reason = None if alive else f"not registered with the master at {self.master_url} yet"
        return alive


def spark_services(config: StackConfig) -> list[JavaService]:
    return [SparkMaster(config), *(SparkWorker(config, i) for i in range(1, config.spark_workers + 1))]
