"""Suite-wide fixtures: the real service stack, started once per test session (or reused if already up)."""

from __future__ import annotations

import os
import sys
import uuid

import pytest

# Spark's Python workers must run this interpreter (the venv), whichever fixture creates the session first.
os.environ.setdefault("PYSPARK_PYTHON", sys.executable)


# `make test TEST_LANES=2` runs two lanes side by side (pytest-xdist workers, scheduled by the hook below; the default
# is one process, README "The two commands"). One lane runs the tests of
# the session stack and of the secure test stack, in collection order; the other the tests with a stack of their
# own (the fault-injection suite, the three-node stack) and those that need none. So no stack is started from two
# lanes, and the suite that kills services never meets a test that needs them. The lane of a test is the folder it
# is in: the scheduler sees node ids only. unit/test_test_lanes.py checks that folders and fixtures agree.
SESSION_LANE, OWN_STACKS_LANE = "session-stack", "own-stacks"
SESSION_LANE_FOLDERS = ("e2e", "integration", "secure")


def lane(nodeid: str) -> str:
    """lol_platform_tests/<folder>/...::test -> its lane."""
    path = nodeid.split("::", 1)[0].split("/")
    folder = path[path.index("lol_platform_tests") + 1] if "lol_platform_tests" in path[:-1] else ""
    return SESSION_LANE if folder in SESSION_LANE_FOLDERS else OWN_STACKS_LANE


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    """Each lane is one unit of work that xdist gives a worker whole, in collection order (any other split would
    start a stack from both workers). Not `--dist loadgroup`: with pytest 9.2 it silently ignores its groups
    (pytest-dev/pytest-xdist#1386)."""
    from xdist.scheduler import LoadScopeScheduling

    class LaneScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return lane(nodeid)

    return LaneScheduling(config, log)


def pytest_collection_modifyitems(items):
    # Every test marked `stack` gets the session stack; unit tests never start it.
    for item in items:
        if item.get_closest_marker("stack"):
            item.fixturenames.insert(0, "service_stack")


@pytest.fixture(scope="session")
def service_stack():
    """Kafka, HDFS, Cassandra and Elasticsearch on 127.0.0.1, as `lol-platform stack up` runs them.

    A stack that is already up (e.g. `make dev` running) is reused and left running; one started here
    is stopped at the end (only what was started here) unless LOL_KEEP_STACK=1.
    """
    from lol_stack import Stack

    stack = Stack()
    started_here = [row["service"] for row in stack.status() if row["state"] != "up"]
    if started_here:
        stack.up(progress=lambda line: print(line, flush=True))
    yield stack
    if started_here and os.environ.get("LOL_KEEP_STACK") != "1":
        Stack(only=started_here).down(progress=lambda line: None)


@pytest.fixture
def unique_name():
    """A short unique suffix, so tests sharing one stack never see each other's topics, paths or indices."""
    return uuid.uuid4().hex[:10]


@pytest.fixture(scope="session")
def spark():
    """One local SparkSession for the whole run, configured like the platform's resource."""
    from pyspark.sql import SparkSession

    from lol_platform.resources.spark import spark_config

    builder = SparkSession.builder
    config = {**spark_config({}), "spark.master": "local[2]", "spark.ui.enabled": "false",
              "spark.sql.shuffle.partitions": "4", "spark.driver.memory": "2g"}
    for key, value in config.items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    yield session
    session.stop()
