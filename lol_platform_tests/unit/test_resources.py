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
from lol_core.lake_paths import CHAMPION_STATS, CLEANED_PARTICIPANTS, SPARK_LAKE_SETTINGS
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
    # A lake table's URI comes from the lake layout (lol_core.lake_paths), under any root.
    assert lake.table_uri(CLEANED_PARTICIPANTS) == "hdfs://127.0.0.1:8020/lake/data/lol_cleaned_participants"
    assert LakeResource(root="hdfs://127.0.0.1:8020").table_uri(CHAMPION_STATS) == "hdfs://127.0.0.1:8020/data/lol_champion_stats"
    assert local.table_uri(CHAMPION_STATS) == "file:///tmp/lake/data/lol_champion_stats"


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
    # Small memory pages, which the clean step's judging needs (lol_core.lake_paths.SPARK_SESSION_START_SETTINGS).
    assert spark_config({})["spark.buffer.pageSize"] == "4m"


def test_cluster_settings_reach_the_session_config():
    # A cluster's executors are sized by settings; dynamic allocation is off unless asked for, and when on it
    # needs no external shuffle service (shuffle tracking) and respects the bounds given.
    default = spark_config({})
    assert (default["spark.executor.cores"], default["spark.executor.memory"]) == ("1", "1g")
    assert default["spark.dynamicAllocation.enabled"] == "false" and "spark.cores.max" not in default
    cluster = spark_config({"LOL_SPARK_MASTER": "spark://master:7077", "LOL_SPARK_EXECUTOR_CORES": "4", "LOL_SPARK_EXECUTOR_MEMORY": "8g",
                            "LOL_SPARK_CORES_MAX": "32", "LOL_SPARK_DYNAMIC_ALLOCATION": "true", "LOL_SPARK_MIN_EXECUTORS": "1",
                            "LOL_SPARK_MAX_EXECUTORS": "8"})  # fmt: skip
    assert {k: cluster[k] for k in ("spark.master", "spark.executor.cores", "spark.executor.memory", "spark.cores.max")} == {
        "spark.master": "spark://master:7077", "spark.executor.cores": "4", "spark.executor.memory": "8g", "spark.cores.max": "32"}
    assert cluster["spark.dynamicAllocation.enabled"] == "true"
    assert cluster["spark.dynamicAllocation.shuffleTracking.enabled"] == "true"
    assert (cluster["spark.dynamicAllocation.minExecutors"], cluster["spark.dynamicAllocation.maxExecutors"]) == ("1", "8")


def test_a_cluster_session_ships_the_code_zip_and_the_python_environment(tmp_path):
    import zipfile

    from lol_platform.resources.spark import spark_resource
    from lol_platform.resources.spark_shipping import EXECUTOR_PYTHON, build_code_zip, is_local, with_python_env

    # The zip holds exactly what executors import (lol_core, spark_jobs), never the rest of the project.
    first = build_code_zip(tmp_path)
    names = zipfile.ZipFile(first).namelist()
    assert "spark_jobs/cassandra_sink.py" in names and "lol_core/schemas.py" in names
    assert {n.split("/")[0] for n in names} == {"lol_core", "spark_jobs"} and not any("__pycache__" in n for n in names)
    assert build_code_zip(tmp_path) == first  # content-addressed: an unchanged tree is zipped once
    # The environment archive is added to any archives already configured and unpacked as ./lol_env.
    config = with_python_env({"spark.archives": "hdfs:///x.zip#x"}, "hdfs:///envs/lol.tar.gz")
    assert config["spark.archives"] == "hdfs:///x.zip#x,hdfs:///envs/lol.tar.gz#lol_env"
    assert EXECUTOR_PYTHON == "./lol_env/bin/python"
    assert all(is_local(m) for m in ("local", "local[2]", "local[*]")) and not is_local("spark://h:7077")
    resource = spark_resource({"LOL_SPARK_MASTER": "spark://h:7077", "LOL_SPARK_PYTHON_ENV": "/envs/lol.tar.gz"})
    assert resource.python_env == "/envs/lol.tar.gz" and resource.spark_config["spark.master"] == "spark://h:7077"


def test_an_unreachable_spark_master_says_how_to_start_it():
    import socket

    from lol_platform.resources.spark import _require_master

    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(ServiceUnavailable, match=r"spark://127.0.0.1:\d+.*lol-platform stack up --spark-cluster.*LOL_SPARK_MASTER"):
        _require_master(f"spark://127.0.0.1:{port}")
