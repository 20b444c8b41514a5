"""Spark through dagster-pyspark. The master is configuration: local[*] by default, a cluster URL in prod."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping

from dagster_pyspark import LazyPySparkResource

from lol_core.lake_paths import SPARK_LAKE_SETTINGS

SPARK_DEFAULTS = {
    "spark.master": "local[*]",
    "spark.app.name": "lol_platform",
    "spark.driver.memory": "1g",
    "spark.sql.shuffle.partitions": "8",
    # UTC, micros timestamps, snappy, dynamic partition overwrite: what every lake write relies on.
    **SPARK_LAKE_SETTINGS,
    "spark.ui.showConsoleProgress": "false",
    # Local mode revives task offers only when a task finishes: a task waiting for locality to an HDFS
    # datanode host (127.0.0.1) that the local executor's hostname never matches would wait forever.
    "spark.locality.wait": "0s",
    # Datanodes advertise loopback hostnames in the local stack.
    "spark.hadoop.dfs.client.use.datanode.hostname": "true",
    # The driver (and its UI, through SPARK_LOCAL_IP) listens on loopback like every other local service;
    # on a cluster, LOL_SPARK_DRIVER_HOST names the address executors reach the driver at.
    "spark.driver.host": "127.0.0.1",
    "spark.driver.bindAddress": "127.0.0.1",
}

# Environment variable -> Spark setting it overrides.
SPARK_ENV = {
    "LOL_SPARK_MASTER": "spark.master",
    "LOL_SPARK_DRIVER_MEMORY": "spark.driver.memory",
    "LOL_SPARK_SHUFFLE_PARTITIONS": "spark.sql.shuffle.partitions",
    "LOL_SPARK_DRIVER_HOST": "spark.driver.host",
    "LOL_SPARK_DRIVER_BIND_ADDRESS": "spark.driver.bindAddress",
}


def spark_config(env: Mapping[str, str] = os.environ) -> dict[str, str]:
    config = dict(SPARK_DEFAULTS)
    config.update({key: env[var] for var, key in SPARK_ENV.items() if env.get(var)})
    return config


def spark_resource(env: Mapping[str, str] = os.environ) -> LazyPySparkResource:
    """The session starts on first use, once per run process (runs use the in-process executor)."""
    # Python workers must run this interpreter (the venv with cassandra-driver), not `python3` on PATH;
    # PySpark reads the choice from the driver's environment. A cluster sets its own PYSPARK_PYTHON.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    # Spark's web UI binds to SPARK_LOCAL_IP (all interfaces without it); keep it with the driver.
    os.environ.setdefault("SPARK_LOCAL_IP", spark_config(env)["spark.driver.bindAddress"])
    return LazyPySparkResource(spark_config=spark_config(env))
