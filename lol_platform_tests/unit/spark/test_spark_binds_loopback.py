"""The Spark driver and its UI listen on 127.0.0.1 only, like every other local service."""

from __future__ import annotations

import subprocess
import sys

SCRIPT = """
import os, subprocess
from pyspark.sql import SparkSession
from lol_platform.resources.spark import spark_resource
resource = spark_resource({"LOL_SPARK_MASTER": "local[1]"})
builder = SparkSession.builder
for key, value in resource.spark_config.items():
    builder = builder.config(key, value)
spark = builder.getOrCreate()
spark.range(10).count()
jvm_pid = spark.sparkContext._jvm.java.lang.ProcessHandle.current().pid()
print("UI", spark.sparkContext.uiWebUrl)
for line in subprocess.run(["ss", "-ltnpH"], capture_output=True, text=True).stdout.splitlines():
    if f"pid={jvm_pid}," in line:
        print("LISTEN", line.split()[3])
spark.stop()
"""


def test_driver_and_ui_listen_on_loopback_only():
    env_free = {k: v for k, v in __import__("os").environ.items() if k != "SPARK_LOCAL_IP"}
    out = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=180, env=env_free).stdout
    listening = [line.split()[1] for line in out.splitlines() if line.startswith("LISTEN")]
    assert len(listening) >= 2, out  # at least the driver's RPC port and the UI
    assert all(address.rsplit(":", 1)[0] in ("127.0.0.1", "[::ffff:127.0.0.1]") for address in listening), listening
    assert "UI http://127.0.0.1:" in out
