"""The code location: every asset, check, sensor and resource of lol_platform, in one Definitions."""

from dagster import Definitions, in_process_executor

from lol_platform.resources import build_resources

defs = Definitions(
    resources=build_resources(),
    # One process per run, so a run's Spark steps share one SparkSession (one JVM) instead of
    # paying a JVM start per step as the multiprocess executor would.
    executor=in_process_executor,
)
