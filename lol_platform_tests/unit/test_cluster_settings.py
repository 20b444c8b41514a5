"""Each clustered-store setting reaches the client or the statement it configures (issue 12): Kafka topic
replication and producer/consumer guarantees, Cassandra replication, routing and consistency, Elasticsearch
shards/replicas/refresh, HDFS replication for Python and Spark writes. No service needed."""

from __future__ import annotations

import pytest
from cassandra import ConsistencyLevel
from cassandra.cluster import EXEC_PROFILE_DEFAULT
from cassandra.policies import DCAwareRoundRobinPolicy, TokenAwarePolicy

from lol_platform.resources import (
    CassandraResource,
    ElasticsearchResource,
    KafkaResource,
    ServiceRejected,
    cassandra_resource,
    elasticsearch_resource,
    kafka_resource,
)
from lol_platform.resources.cassandra import SCHEMA_CQL, cql_statements, replication_map, with_replication
from lol_platform.resources.spark import spark_config


def test_kafka_topic_replication_and_min_insync_reach_the_created_topic():
    topic = KafkaResource(replication_factor=3, min_insync_replicas=2).new_topic("lol_matches", 12)
    assert (topic.topic, topic.num_partitions, topic.replication_factor) == ("lol_matches", 12, 3)
    assert topic.config == {"min.insync.replicas": "2", "retention.ms": str(168 * 3_600_000), "retention.bytes": str(2 * 1024**3)}
    sized = KafkaResource(retention_hours=24, retention_bytes=1024).new_topic("t", 1)
    assert (sized.config["retention.ms"], sized.config["retention.bytes"]) == ("86400000", "1024")


def test_kafka_producer_acks_and_consumer_isolation_reach_librdkafka(monkeypatch):
    seen = {}
    monkeypatch.setattr("lol_platform.resources.kafka.Producer", lambda config: seen.setdefault("producer", config))
    monkeypatch.setattr("lol_platform.resources.kafka.Consumer", lambda config: seen.setdefault("consumer", config))
    KafkaResource(acks="all", isolation_level="read_committed").producer()
    KafkaResource(isolation_level="read_uncommitted").consumer("g")
    assert seen["producer"]["acks"] == "all" and seen["producer"]["enable.idempotence"] is True
    assert seen["consumer"]["isolation.level"] == "read_uncommitted"
    seen.clear()
    KafkaResource(acks="1").producer()
    assert seen["producer"]["enable.idempotence"] is False  # idempotence needs acks=all


def test_kafka_cluster_settings_come_from_the_environment(monkeypatch):
    for name, value in {"LOL_KAFKA_TOPIC_PARTITIONS": "12", "LOL_KAFKA_REPLICATION_FACTOR": "3", "LOL_KAFKA_MIN_INSYNC_REPLICAS": "2",
                        "LOL_KAFKA_ACKS": "all", "LOL_KAFKA_ISOLATION_LEVEL": "read_committed",
                        "LOL_KAFKA_RETENTION_HOURS": "72", "LOL_KAFKA_RETENTION_BYTES": "5000000"}.items():  # fmt: skip
        monkeypatch.setenv(name, value)
    kafka = kafka_resource("INGEST").process_config_and_initialize()
    assert (kafka.topic_partitions, kafka.replication_factor, kafka.min_insync_replicas) == (12, 3, 2)
    assert (kafka.retention_hours, kafka.retention_bytes) == (72, 5_000_000)


@pytest.mark.parametrize(
    "setting, cql",
    [
        ("3", "{'class': 'SimpleStrategy', 'replication_factor': 3}"),
        ("dc1:3, dc2:2", "{'class': 'NetworkTopologyStrategy', 'dc1': 3, 'dc2': 2}"),
    ],
)
def test_the_keyspace_statement_follows_the_replication_setting(setting, cql):
    assert replication_map(setting) == cql
    keyspace = next(s for s in cql_statements(SCHEMA_CQL.read_text()) if s.upper().startswith("CREATE KEYSPACE"))
    assert with_replication(keyspace, setting).endswith(f"WITH replication = {cql}")
    table = next(s for s in cql_statements(SCHEMA_CQL.read_text()) if s.upper().startswith("CREATE TABLE"))
    assert with_replication(table, setting) == table


@pytest.mark.parametrize("setting", ["", "dc1", "dc1:x", "dc'1:3", "3,dc1:2"])
def test_a_malformed_replication_setting_is_refused(setting):
    with pytest.raises(ValueError, match="LOL_CASSANDRA_REPLICATION"):
        replication_map(setting)


def test_cassandra_routing_and_consistency_reach_the_driver():
    cluster = CassandraResource(hosts="10.0.0.1,10.0.0.2", local_datacenter="dc1", consistency="LOCAL_QUORUM",
                                request_timeout_s=12).connection().cluster()  # fmt: skip
    profile = cluster.profile_manager.profiles[EXEC_PROFILE_DEFAULT]
    assert profile.consistency_level == ConsistencyLevel.LOCAL_QUORUM and profile.request_timeout == 12
    assert isinstance(profile.load_balancing_policy, TokenAwarePolicy)
    child = profile.load_balancing_policy._child_policy
    assert isinstance(child, DCAwareRoundRobinPolicy) and child.local_dc == "dc1"
    assert cluster.contact_points == ["10.0.0.1", "10.0.0.2"]


def test_an_unknown_consistency_is_refused_naming_the_variable():
    with pytest.raises(ServiceRejected, match="LOL_CASSANDRA_CONSISTENCY"):
        CassandraResource(consistency="MOSTLY").connection()


def test_cassandra_cluster_settings_come_from_the_environment(monkeypatch):
    for name, value in {"LOL_CASSANDRA_REPLICATION": "dc1:3", "LOL_CASSANDRA_LOCAL_DC": "dc1", "LOL_CASSANDRA_CONSISTENCY": "QUORUM"}.items():
        monkeypatch.setenv(name, value)
    with cassandra_resource().process_config_and_initialize_cm() as cassandra:
        assert (cassandra.replication, cassandra.local_datacenter, cassandra.consistency) == ("dc1:3", "dc1", "QUORUM")


def test_elasticsearch_shards_replicas_and_refresh_reach_the_index_template(monkeypatch):
    for name, value in {"LOL_ES_SHARDS": "6", "LOL_ES_REPLICAS": "1", "LOL_ES_REFRESH_INTERVAL": "5s"}.items():
        monkeypatch.setenv(name, value)
    settings = elasticsearch_resource().process_config_and_initialize().template()["template"]["settings"]
    assert settings == {"number_of_shards": 6, "number_of_replicas": 1, "refresh_interval": "5s"}
    default = ElasticsearchResource().template()["template"]
    assert default["settings"]["number_of_replicas"] == 0 and default["mappings"]["dynamic"] == "strict"


def test_hdfs_replication_reaches_spark_writes():
    assert spark_config({"LOL_HDFS_REPLICATION": "3"})["spark.hadoop.dfs.replication"] == "3"
    assert "spark.hadoop.dfs.replication" not in spark_config({})
