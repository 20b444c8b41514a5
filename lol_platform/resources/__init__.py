"""Resources: one module per external system, each a ConfigurableResource with loopback defaults."""

import os

from dagster import EnvVar

from lol_platform.resources.cassandra import CassandraResource
from lol_platform.resources.elasticsearch import ElasticsearchResource
from lol_platform.resources.errors import ServiceUnavailable
from lol_platform.resources.kafka import KafkaResource
from lol_platform.resources.lake import LakeResource
from lol_platform.resources.spark import spark_resource


def _env(name: str, default: str):
    """EnvVar when the variable is set (shown as such in the UI), else the local default."""
    return EnvVar(name) if os.environ.get(name) else default


def _env_int(name: str, default: int):
    return EnvVar.int(name) if os.environ.get(name) else default


def build_resources() -> dict:
    return {
        "kafka": KafkaResource(bootstrap_servers=_env("LOL_KAFKA_BOOTSTRAP", "127.0.0.1:9092")),
        "lake": LakeResource(
            root=_env("LOL_LAKE_ROOT", LakeResource.model_fields["root"].default),
            webhdfs_port=_env_int("LOL_WEBHDFS_PORT", 9870),
        ),
        "cassandra": CassandraResource(
            hosts=_env("LOL_CASSANDRA_HOSTS", "127.0.0.1"),
            port=_env_int("LOL_CASSANDRA_PORT", 9042),
            max_in_flight=_env_int("LOL_CASSANDRA_MAX_IN_FLIGHT", 64),
        ),
        "elasticsearch": ElasticsearchResource(url=_env("LOL_ES_URL", "http://127.0.0.1:9200")),
        "pyspark": spark_resource(),
    }


__all__ = [
    "CassandraResource",
    "ElasticsearchResource",
    "KafkaResource",
    "LakeResource",
    "ServiceUnavailable",
    "build_resources",
    "spark_resource",
]
