"""Resources pointed at the session stack, each test on its own topic, lake root and index."""

from __future__ import annotations

import os

import pytest

from lol_platform.resources import CassandraResource, ElasticsearchResource, KafkaResource, LakeResource


@pytest.fixture
def kafka(unique_name) -> KafkaResource:
    resource = KafkaResource(topic=f"lol_matches_test_{unique_name}")
    resource.ensure_topic()
    return resource


@pytest.fixture
def hdfs_lake(unique_name) -> LakeResource:
    return LakeResource(root=f"hdfs://127.0.0.1:8020/tests/{unique_name}")


@pytest.fixture(scope="session")
def cassandra() -> CassandraResource:
    resource = CassandraResource()
    yield resource
    resource.close()


@pytest.fixture
def elasticsearch(unique_name) -> ElasticsearchResource:
    resource = ElasticsearchResource(index=f"lol_matches_stream_test_{unique_name}")
    yield resource
    resource.client().indices.delete(index=resource.index, ignore=[404])


@pytest.fixture(scope="session")
def spark_cluster(service_stack):
    """The stack's Spark standalone master and two workers (`lol-platform stack up --spark-cluster`), started once
    per session unless already up; what was started here is stopped at the end unless LOL_KEEP_STACK=1."""
    from lol_stack import Stack
    from lol_stack.services.spark import spark_services

    names = [s.name for s in spark_services(service_stack.config)]
    cluster = Stack(config=service_stack.config, only=names, spark_cluster=True)
    started_here = [row["service"] for row in cluster.status() if row["state"] != "up"]
    if started_here:
        Stack(config=service_stack.config, only=started_here, spark_cluster=True).up(progress=lambda line: print(line, flush=True))
    yield cluster.service("spark-master")
    if started_here and os.environ.get("LOL_KEEP_STACK") != "1":
        Stack(config=service_stack.config, only=started_here, spark_cluster=True).down(progress=lambda line: None)


@pytest.fixture(scope="session")
def spark_python_env() -> str:
    """The executors' packed Python environment (`lol-platform spark-env`), built once and reused after."""
    from lol_platform.devtools.spark_env import build_executor_env

    return str(build_executor_env())
