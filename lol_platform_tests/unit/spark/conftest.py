"""One local SparkSession for every Spark unit test (no services: Spark runs inside the test process)."""

from __future__ import annotations

import pytest
from pyspark.sql import SparkSession

from lol_core.lake_paths import SPARK_LAKE_SETTINGS
from spark_jobs import lake_io

SETTINGS = {
    "spark.master": "local[2]",
    "spark.app.name": "lol_platform_spark_unit_tests",
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.sql.shuffle.partitions": "4",
    "spark.default.parallelism": "2",
    # Enough that cached frames of earlier tests never starve an aggregation of execution memory.
    "spark.driver.memory": "2g",
    # As the platform's sessions (lol_platform/resources/spark.py): no Python call site recorded per Column call.
    "spark.python.sql.dataFrameDebugging.enabled": "false",
    **SPARK_LAKE_SETTINGS,
}


@pytest.fixture(scope="session")
def spark():
    # A session the run already has (e.g. from the suite-wide fixture) is reused, not duplicated: one JVM.
    existing = SparkSession.getActiveSession()
    builder = SparkSession.builder
    for key, value in SETTINGS.items():
        builder = builder.config(key, value)
    session = lake_io.configure(builder.getOrCreate())
    session.sparkContext.setLogLevel("ERROR")
    yield session
    if existing is None:
        session.stop()


@pytest.fixture(scope="module", autouse=True)
def _release_cached_frames():
    # Module fixtures cache frames; one JVM serves the whole run, so each module gives its memory back.
    yield
    session = SparkSession.getActiveSession()
    if session is not None:
        session.catalog.clearCache()
