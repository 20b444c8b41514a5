"""Resources pointed at the session stack (its ports: the LOL_*_PORT settings, defaults otherwise), each test on
its own topic, lake root and index."""

from __future__ import annotations

import os

import pytest

from lol_platform.resources import CassandraResource, ElasticsearchResource, KafkaResource, LakeResource


def _stack():
    from lol_stack.config import StackConfig

    return StackConfig()


@pytest.fixture
def kafka(unique_name) -> KafkaResource:
    c = _stack()
    resource = KafkaResource(bootstrap_servers=f"{c.host}:{c.kafka_port}", topic=f"lol_matches_test_{unique_name}")
    resource.ensure_topic()
    return resource


@pytest.fixture
def hdfs_lake(unique_name) -> LakeResource:
    c = _stack()
    return LakeResource(root=f"hdfs://{c.host}:{c.namenode_rpc_port}/tests/{unique_name}", webhdfs_port=c.namenode_http_port)


@pytest.fixture(scope="session")
def cassandra() -> CassandraResource:
    c = _stack()
    resource = CassandraResource(hosts=c.host, port=c.cassandra_port)
    yield resource
    resource.close()


@pytest.fixture
def elasticsearch(unique_name) -> ElasticsearchResource:
    c = _stack()
    resource = ElasticsearchResource(url=f"http://{c.host}:{c.elasticsearch_port}", index=f"lol_matches_stream_test_{unique_name}")
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
