"""Resources fail with a message naming the service, its address and what to do; Spark config is settings."""

from __future__ import annotations

import pytest

from lol_platform.resources import (
    CassandraResource,
    ElasticsearchResource,
    KafkaResource,
    LakeResource,
    ServiceUnavailable,
)
from lol_core.lake_paths import SPARK_LAKE_SETTINGS
from lol_platform.resources.spark import SPARK_ENV, spark_config

CLOSED = "127.0.0.1:1"  # nothing listens on port 1


@pytest.mark.parametrize(
    "resource, service",
    [
        (KafkaResource(bootstrap_servers=CLOSED, request_timeout_s=2), "Kafka"),
        (LakeResource(root="hdfs://127.0.0.1:1", webhdfs_port=1), "the lake"),
        (CassandraResource(hosts="127.0.0.1", port=1, connect_timeout_s=2), "Cassandra"),
        (ElasticsearchResource(url=f"http://{CLOSED}"), "Elasticsearch"),
    ],
    ids=["kafka", "hdfs", "cassandra", "elasticsearch"],
)
def test_a_down_service_is_named_with_its_address_and_what_to_do(resource, service):
    with pytest.raises(ServiceUnavailable) as info:
        resource.health_check()
    message = str(info.value)
    assert message.startswith(f"{service} is not reachable at ")
    assert "127.0.0.1:1" in message
    assert "lol-platform stack up" in message


def test_lake_addresses_for_spark_and_python():
    lake = LakeResource(root="hdfs://127.0.0.1:8020/lake")
    assert lake.uri("data", "lol_matches") == "hdfs://127.0.0.1:8020/lake/data/lol_matches"
    assert lake.path("data", "x.parquet") == "/lake/data/x.parquet"
    local = LakeResource(root="file:///tmp/lake")
    assert local.uri("data") == "file:///tmp/lake/data"
    s3 = LakeResource(root="s3://bucket/prefix")
    assert s3.path("data") == "bucket/prefix/data"
    assert s3.uri("data") == "s3://bucket/prefix/data"


def test_unknown_lake_scheme_says_which_settings_work():
    with pytest.raises(ValueError, match="hdfs://, file:// or s3://"):
        LakeResource(root="ftp://x").filesystem()


def test_spark_master_and_timestamps_are_configuration():
    # Sessions the platform starts carry every setting the lake code relies on (micros timestamps, snappy,
    # UTC, dynamic overwrite), the same values spark_jobs.lake_io.configure applies to a spark-submit session.
    assert SPARK_LAKE_SETTINGS["spark.sql.parquet.outputTimestampType"] == "TIMESTAMP_MICROS"
    assert spark_config({}).items() >= SPARK_LAKE_SETTINGS.items()
    assert spark_config({})["spark.master"] == "local[*]"
    # Every documented variable overrides its setting, and only that one.
    for var, key in SPARK_ENV.items():
        config = spark_config({var: "from-env"})
        assert config[key] == "from-env"
        assert {k: v for k, v in config.items() if k != key} == {k: v for k, v in spark_config({}).items() if k != key}
    assert spark_config({"LOL_SPARK_MASTER": ""})["spark.master"] == "local[*]"  # empty means unset
