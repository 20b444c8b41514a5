"""Suite-wide fixtures: the real service stack, started once per test session (or reused if already up)."""

from __future__ import annotations

import os
import sys
import uuid

import pytest

# Spark's Python workers must run this interpreter (the venv), whichever fixture creates the session first.
os.environ.setdefault("PYSPARK_PYTHON", sys.executable)


# `make test` runs two lanes (pytest-xdist, --dist loadgroup): the tests of the session stack and of the secure
# test stack in one, in collection order; in the other the tests with a stack of their own (the fault-injection
# suite, the three-node stack) and those that need none. A stack is only ever used from one lane, so the suite
# that kills services never meets a test that needs them, and no stack is started twice.
SESSION_LANE, OWN_STACKS_LANE = "session-stack", "own-stacks"
SESSION_FIXTURES = {"service_stack", "secure_stack"}  # session-scoped: one lane may start each


def lane(fixturenames) -> str:
    """The lane of a test, from the fixtures it uses (with those they use in turn)."""
    return SESSION_LANE if SESSION_FIXTURES & set(fixturenames) else OWN_STACKS_LANE


@pytest.hookimpl(trylast=True)  # after secure/conftest.py has given its tests their fixture
def pytest_collection_modifyitems(items):
    for item in items:
        # Every test marked `stack` gets the session stack; unit tests never start it.
        if item.get_closest_marker("stack"):
            item.fixturenames.insert(0, "service_stack")
        item.add_marker(pytest.mark.xdist_group(lane(item.fixturenames)))


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
