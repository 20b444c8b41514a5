"""Spark through dagster-pyspark. The master is configuration: local[*] by default, a cluster URL in prod."""

from __future__ import annotations

import os
import socket
import sys
from collections.abc import Mapping

from dagster_pyspark import LazyPySparkResource
from dagster_pyspark.resources import spark_session_from_config

from lol_core.lake_paths import SPARK_LAKE_SETTINGS, SPARK_SESSION_START_SETTINGS
from lol_platform.resources.errors import ServiceUnavailable
from lol_platform.resources.spark_shipping import EXECUTOR_PYTHON, build_code_zip, executor_python, is_local, with_python_env

SPARK_DEFAULTS = {
    "spark.master": "local[*]",
    "spark.app.name": "lol_platform",
    # A 1M-row date spills gigabytes at 1g (local mode: the driver is the executor); 2g holds it.
    "spark.driver.memory": "2g",
    "spark.sql.shuffle.partitions": "8",
    # UTC, micros timestamps, snappy, dynamic partition overwrite: what every lake write relies on.
    **SPARK_LAKE_SETTINGS,
    "spark.ui.showConsoleProgress": "false",
    **SPARK_SESSION_START_SETTINGS,  # small memory pages: the clean step's judging runs ~20 memory users per task
    # The row rules compile to methods past HotSpot's 8,000-bytecode limit, which it then never JIT-compiles:
    # the rank step ran interpreted, at twice the CPU (measured: 14.3 -> 7.3 s for 1M rows).
    "spark.driver.extraJavaOptions": "-XX:-DontCompileHugeMethods",
    "spark.executor.extraJavaOptions": "-XX:-DontCompileHugeMethods",
    # PySpark 4 otherwise records the Python call site of every Column function (5 JVM round trips and a
    # stack walk each): a third of a small run's driver time. Errors keep Spark's own plan context.
    "spark.python.sql.dataFrameDebugging.enabled": "false",
    # Local mode revives task offers only when a task finishes: a task waiting for locality to an HDFS
    # datanode host (127.0.0.1) that the local executor's hostname never matches would wait forever.
    "spark.locality.wait": "0s",
    # Datanodes advertise loopback hostnames in the local stack.
    "spark.hadoop.dfs.client.use.datanode.hostname": "true",
    # The driver (and its UI, through SPARK_LOCAL_IP) listens on loopback like every other local service;
    # on a cluster, LOL_SPARK_DRIVER_HOST names the address executors reach the driver at.
    "spark.driver.host": "127.0.0.1",
    "spark.driver.bindAddress": "127.0.0.1",
    # On a cluster (ignored in local mode): executor size, and a fixed set of executors unless dynamic allocation
    # is switched on; shuffle tracking lets it release executors without an external shuffle service.
    "spark.executor.cores": "1",
    "spark.executor.memory": "1g",
    "spark.dynamicAllocation.enabled": "false",
    "spark.dynamicAllocation.shuffleTracking.enabled": "true",
    "spark.dynamicAllocation.minExecutors": "0",
}

# Environment variable -> Spark setting it overrides.
SPARK_ENV = {
    "LOL_SPARK_MASTER": "spark.master",
    "LOL_SPARK_DRIVER_MEMORY": "spark.driver.memory",
    "LOL_SPARK_SHUFFLE_PARTITIONS": "spark.sql.shuffle.partitions",
    # Raw rows per task of the clean step's judging (spark_jobs.jobs.judging_tasks); lower it for small executors.
    "LOL_SPARK_ROWS_PER_TASK": "spark.lol.clean.rowsPerTask",
    "LOL_SPARK_DRIVER_HOST": "spark.driver.host",
    "LOL_SPARK_DRIVER_BIND_ADDRESS": "spark.driver.bindAddress",
    "LOL_SPARK_APP_NAME": "spark.app.name",
    "LOL_SPARK_EXECUTOR_CORES": "spark.executor.cores",
    "LOL_SPARK_EXECUTOR_MEMORY": "spark.executor.memory",
    # Replace the JIT option above (keep -XX:-DontCompileHugeMethods in what you set).
    "LOL_SPARK_DRIVER_JAVA_OPTIONS": "spark.driver.extraJavaOptions",
    "LOL_SPARK_EXECUTOR_JAVA_OPTIONS": "spark.executor.extraJavaOptions",
    "LOL_SPARK_CORES_MAX": "spark.cores.max",
    "LOL_SPARK_DYNAMIC_ALLOCATION": "spark.dynamicAllocation.enabled",
    "LOL_SPARK_MIN_EXECUTORS": "spark.dynamicAllocation.minExecutors",
    "LOL_SPARK_MAX_EXECUTORS": "spark.dynamicAllocation.maxExecutors",
    # The HDFS user the executors act as (the driver's is HADOOP_USER_NAME, set from the same variable).
    "LOL_HDFS_USER": "spark.executorEnv.HADOOP_USER_NAME",
    # Replicas of each lake file Spark writes (unset: the cluster's dfs.replication).
    "LOL_HDFS_REPLICATION": "spark.hadoop.dfs.replication",
}


def spark_config(env: Mapping[str, str] = os.environ) -> dict[str, str]:
    config = dict(SPARK_DEFAULTS)
    config.update({key: env[var] for var, key in SPARK_ENV.items() if env.get(var)})
    return config


class PlatformSparkResource(LazyPySparkResource):
    """dagster-pyspark's lazy session, plus what a cluster's executors need from the driver.

    With a cluster master (anything but local[...]) the session ships the project's code (a zip of lol_core and
    spark_jobs, `SparkContext.addPyFile`) and, when `python_env` names a venv-pack archive (LOL_SPARK_PYTHON_ENV),
    the executors' Python environment (`spark.archives`, unpacked as ./lol_env and used as their interpreter).
    Without `python_env` the executors run PYSPARK_PYTHON, an interpreter the workers must already have.
    In local mode the executors are this process's threads and interpreter: nothing is shipped.
    """

    python_env: str = ""

    def _init_session(self) -> None:
        if self._spark_session is not None:
            return
        master = self.spark_config.get("spark.master", "local[*]")
        if is_local(master):
            self._spark_session = spark_session_from_config(self.spark_config)
            return
        config = with_python_env(self.spark_config, self.python_env) if self.python_env else dict(self.spark_config)
        with executor_python(EXECUTOR_PYTHON if self.python_env else None):
            session = _cluster_session(config, master)
        session.sparkContext.addPyFile(str(build_code_zip()))
        self._spark_session = session


def _cluster_session(config: dict, master: str):
    _require_master(master)
    return spark_session_from_config(config)


def _require_master(master: str) -> None:
    """Fail fast on an unreachable standalone master: Spark itself retries for a minute, then leaves a stopped
    context behind that fails the first job with an unrelated message."""
    if not master.startswith("spark://"):
        return  # yarn, k8s://...: their clients report their own errors
    hosts = [h.rsplit(":", 1) for h in master.removeprefix("spark://").split(",")]
    errors = []
    for host, port in hosts:
        try:
            socket.create_connection((host, int(port)), timeout=3).close()
            return
        except OSError as exc:
            errors.append(f"{host}:{port}: {exc}")
    raise ServiceUnavailable("the Spark master", master, "; ".join(errors), "LOL_SPARK_MASTER",
                             start="lol-platform stack up --spark-cluster")


def spark_resource(env: Mapping[str, str] = os.environ) -> PlatformSparkResource:
    """The session starts on first use, once per run process (runs use the in-process executor)."""
    # Python workers must run this interpreter (the venv with cassandra-driver), not `python3` on PATH;
    # PySpark reads the choice from the driver's environment. A cluster sets its own PYSPARK_PYTHON.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    # Spark's web UI binds to SPARK_LOCAL_IP (all interfaces without it); keep it with the driver.
    os.environ.setdefault("SPARK_LOCAL_IP", spark_config(env)["spark.driver.bindAddress"])
    if env.get("LOL_HDFS_USER"):
        os.environ.setdefault("HADOOP_USER_NAME", env["LOL_HDFS_USER"])
    return PlatformSparkResource(spark_config=spark_config(env), python_env=env.get("LOL_SPARK_PYTHON_ENV", ""))
