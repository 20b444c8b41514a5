"""Resources: one module per external system, each a ConfigurableResource with loopback defaults.

Every setting can come from the environment (shown as an EnvVar in the UI, its value never): the names are in
the README. Secrets (passwords, tokens, API keys) come only from there, never from run config.
"""

import os

from dagster import EnvVar

from lol_platform.resources.cassandra import CassandraResource
from lol_platform.resources.elasticsearch import ElasticsearchResource
from lol_platform.resources.errors import ServiceRejected, ServiceUnavailable
from lol_platform.resources.kafka import DEFAULT_RETENTION_BYTES, KafkaResource
from lol_platform.resources.lake import LakeResource
from lol_platform.resources.spark import spark_resource


def _env(name: str, default):
    """EnvVar when the variable is set (shown as such in the UI), else the local default."""
    return EnvVar(name) if os.environ.get(name) else default


def _env_int(name: str, default: int):
    return EnvVar.int(name) if os.environ.get(name) else default


def _env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    return default if not value else value.lower() in ("1", "true", "yes")


def kafka_resource(role: str | None = None) -> KafkaResource:
    """The topic's connection as one role's principal: INGEST (landing sensor, lag probes), STREAM (indexer),
    PRODUCER (match producer), ADMIN (topic administration). Its login is LOL_KAFKA_<ROLE>_USERNAME/_PASSWORD."""
    prefix = f"LOL_KAFKA_{role}" if role else "LOL_KAFKA"
    return KafkaResource(
        bootstrap_servers=_env("LOL_KAFKA_BOOTSTRAP", "127.0.0.1:9092"),
        security_protocol=_env("LOL_KAFKA_SECURITY_PROTOCOL", "PLAINTEXT"),
        sasl_mechanism=_env("LOL_KAFKA_SASL_MECHANISM", "SCRAM-SHA-512"),
        sasl_username=_env(f"{prefix}_USERNAME", None),
        sasl_password=_env(f"{prefix}_PASSWORD", None),
        ssl_ca_location=_env("LOL_KAFKA_SSL_CA_LOCATION", None),
        settings_env=prefix,
        topic_partitions=_env_int("LOL_KAFKA_TOPIC_PARTITIONS", 4),
        replication_factor=_env_int("LOL_KAFKA_REPLICATION_FACTOR", 1),
        min_insync_replicas=_env_int("LOL_KAFKA_MIN_INSYNC_REPLICAS", 1),
        retention_hours=_env_int("LOL_KAFKA_RETENTION_HOURS", 168),
        retention_bytes=_env_int("LOL_KAFKA_RETENTION_BYTES", DEFAULT_RETENTION_BYTES),
        acks=_env("LOL_KAFKA_ACKS", "all"),
        isolation_level=_env("LOL_KAFKA_ISOLATION_LEVEL", "read_committed"),
    )


def cassandra_resource(role: str | None = None) -> CassandraResource:
    """The serving keyspace as the publisher (LOL_CASSANDRA_USERNAME/_PASSWORD) or another role's login."""
    prefix = f"LOL_CASSANDRA_{role}" if role else "LOL_CASSANDRA"
    return CassandraResource(
        hosts=_env("LOL_CASSANDRA_HOSTS", "127.0.0.1"),
        port=_env_int("LOL_CASSANDRA_PORT", 9042),
        max_in_flight=_env_int("LOL_CASSANDRA_MAX_IN_FLIGHT", 256),
        username=_env(f"{prefix}_USERNAME", None),
        password=_env(f"{prefix}_PASSWORD", None),
        ssl_ca_file=_env("LOL_CASSANDRA_SSL_CA_FILE", None),
        ssl_verify_hostname=_env_bool("LOL_CASSANDRA_SSL_VERIFY_HOSTNAME", True),
        settings_env=prefix,
        replication=_env("LOL_CASSANDRA_REPLICATION", "1"),
        local_datacenter=_env("LOL_CASSANDRA_LOCAL_DC", None),
        consistency=_env("LOL_CASSANDRA_CONSISTENCY", "LOCAL_QUORUM"),
    )


def elasticsearch_resource() -> ElasticsearchResource:
    return ElasticsearchResource(
        url=_env("LOL_ES_URL", "http://127.0.0.1:9200"),
        username=_env("LOL_ES_USERNAME", None),
        password=_env("LOL_ES_PASSWORD", None),
        api_key=_env("LOL_ES_API_KEY", None),
        ca_certs=_env("LOL_ES_CA_CERTS", None),
        shards=_env_int("LOL_ES_SHARDS", 1),
        replicas=_env_int("LOL_ES_REPLICAS", 0),
        refresh_interval=_env("LOL_ES_REFRESH_INTERVAL", "1s"),
    )


def lake_resource() -> LakeResource:
    return LakeResource(
        root=_env("LOL_LAKE_ROOT", LakeResource.model_fields["root"].default),
        webhdfs_port=_env_int("LOL_WEBHDFS_PORT", 9870),
        hdfs_user=_env("LOL_HDFS_USER", LakeResource.model_fields["hdfs_user"].default_factory()),
        webhdfs_https=_env_bool("LOL_WEBHDFS_HTTPS", False),
        webhdfs_ca_file=_env("LOL_WEBHDFS_CA_FILE", None),
        hdfs_delegation_token=_env("LOL_HDFS_DELEGATION_TOKEN", None),
        hdfs_replication=_env_int("LOL_HDFS_REPLICATION", 0),
    )


def build_resources() -> dict:
    return {
        "kafka": kafka_resource("INGEST"),
        "stream_kafka": kafka_resource("STREAM"),
        "lake": lake_resource(),
        "cassandra": cassandra_resource(),
        "elasticsearch": elasticsearch_resource(),
        "pyspark": spark_resource(),
    }


__all__ = [
    "CassandraResource",
    "ElasticsearchResource",
    "KafkaResource",
    "LakeResource",
    "ServiceRejected",
    "ServiceUnavailable",
    "build_resources",
    "cassandra_resource",
    "elasticsearch_resource",
    "kafka_resource",
    "lake_resource",
    "spark_resource",
]
