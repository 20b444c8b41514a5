"""Resources pointed at the session stack, each test on its own topic, lake root and index."""

from __future__ import annotations

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
