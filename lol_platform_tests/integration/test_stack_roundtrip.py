"""Foundation acceptance: data round-trips through each real service via the platform's resources."""

from __future__ import annotations

import datetime as dt
import uuid

import pyarrow as pa
import pytest

from lol_core.schemas import CHAMPION_STATS, arrow_schema

pytestmark = pytest.mark.stack


def test_stack_reports_every_service_up(service_stack):
    states = {row["service"]: row["state"] for row in service_stack.status()}
    assert states == {name: "up" for name in ("kafka", "namenode", "datanode", "cassandra", "elasticsearch")}


def test_kafka_writes_its_own_log(service_stack):
    # Its slf4j binding must match Kafka's slf4j-api (1.7): with a 2.x binding Kafka logged nothing at all.
    log = {row["service"]: row["log"] for row in service_stack.status()}["kafka"]
    assert "Kafka Server started" in open(log, errors="replace").read()


def test_a_created_topic_is_retained_by_size_as_well_as_time(kafka):
    from confluent_kafka.admin import ConfigResource

    resource = ConfigResource(ConfigResource.Type.TOPIC, kafka.topic)
    admin = kafka.admin()  # held: a client collected mid-request cancels it
    configs = admin.describe_configs([resource])[resource].result(timeout=30)
    assert configs["retention.bytes"].value == str(kafka.retention_bytes) != "-1"
    assert configs["retention.ms"].value == str(kafka.retention_hours * 3_600_000)
    assert configs["min.insync.replicas"].value == str(kafka.min_insync_replicas)


def test_kafka_produce_and_consume(kafka):
    producer = kafka.producer()
    payload = f'{{"hello": "{uuid.uuid4()}"}}'.encode()
    producer.produce(kafka.topic, key=b"k1", value=payload)
    assert producer.flush(10) == 0
    consumer = kafka.consumer(f"test-{uuid.uuid4().hex[:6]}")
    consumer.subscribe([kafka.topic])
    received = []
    for _ in range(30):
        msg = consumer.poll(1.0)
        if msg is not None and msg.error() is None:
            received.append((msg.key(), msg.value()))
            break
    consumer.close()
    assert received == [(b"k1", payload)]


def test_parquet_written_over_webhdfs_reads_back_in_spark_over_hdfs(hdfs_lake, spark):
    table = pa.table({"match_id": ["EUW1_1", "EUW1_2"], "kills": pa.array([3, 7], pa.int32())})
    size = hdfs_lake.write_parquet(table, "roundtrip/part-0.parquet")
    assert size > 0
    assert hdfs_lake.read_parquet("roundtrip/part-0.parquet").equals(table)
    uri = hdfs_lake.uri("roundtrip")
    assert uri.startswith("hdfs://127.0.0.1:8020/")
    rows = spark.read.parquet(uri).orderBy("match_id").collect()
    assert [(r.match_id, r.kills) for r in rows] == [("EUW1_1", 3), ("EUW1_2", 7)]
    # and the other way: Spark writes over hdfs://, Python reads over WebHDFS
    spark.createDataFrame([("EUW1_3", 11)], "match_id string, kills int").write.mode("overwrite").parquet(hdfs_lake.uri("from_spark"))
    assert hdfs_lake.list_files("from_spark")
    assert hdfs_lake.read_parquet("from_spark").to_pylist() == [{"match_id": "EUW1_3", "kills": 11}]


def test_cassandra_schema_applied_and_cql_roundtrip(cassandra):
    session = cassandra.session()
    tables = {r.table_name for r in session.execute("SELECT table_name FROM system_schema.tables WHERE keyspace_name='lol_data'")}
    assert {"match_participants", "champion_stats", "position_stats"} <= tables
    day = dt.date(2001, 1, 1) + dt.timedelta(days=uuid.uuid4().int % 3000)
    columns = [f.name for f in CHAMPION_STATS]
    insert = session.prepare(f"INSERT INTO lol_data.champion_stats ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})")
    row = dict(zip(columns, [day, "Ahri", 103, 4, 3, 75.0, 5.0, 2.0, 6.0, 5.5, 410.0, 7.5, 600.0, 20.0, 40.0, 10.0]))
    session.execute(insert, [row[c] for c in columns])
    got = session.execute("SELECT champion_name, games_played, win_rate FROM lol_data.champion_stats WHERE stat_date=%s", [day]).all()
    assert [(r.champion_name, r.games_played, r.win_rate) for r in got] == [("Ahri", 4, 75.0)]
    session.execute("DELETE FROM lol_data.champion_stats WHERE stat_date=%s", [day])
    assert arrow_schema(CHAMPION_STATS).names == columns


def test_elasticsearch_index_and_search(elasticsearch):
    elasticsearch.ensure_index()
    es = elasticsearch.client()
    mapping = es.indices.get_mapping(index=elasticsearch.index)[elasticsearch.index]["mappings"]
    assert mapping["properties"]["champion_name"]["type"] == "keyword"
    es.index(index=elasticsearch.index, id="EUW1_1_1", body={"match_id": "EUW1_1", "participant_id": 1, "champion_name": "Ahri", "kda": 4.5})
    es.indices.refresh(index=elasticsearch.index)
    hits = es.search(index=elasticsearch.index, body={"query": {"term": {"champion_name": "Ahri"}}})["hits"]["hits"]
    assert [(h["_id"], h["_source"]["kda"]) for h in hits] == [("EUW1_1_1", 4.5)]


def test_a_failed_lake_write_leaves_no_temp_file_behind(hdfs_lake):
    import pyarrow as pa
    import pyarrow.fs as pafs

    fs = hdfs_lake.filesystem()
    # The target name is taken by a directory: the write cannot be swapped into place and must fail.
    fs.create_dir(hdfs_lake.path("data/blocked/file.parquet"), recursive=True)
    hdfs_lake.write_parquet(pa.table({"x": [0]}), "data/blocked/file.parquet/inside.parquet")
    with pytest.raises((OSError, RuntimeError)):  # (fsspec reports WebHDFS refusals as RuntimeError)
        hdfs_lake.write_parquet(pa.table({"x": [1, 2, 3]}), "data/blocked/file.parquet")
    left = fs.get_file_info(pafs.FileSelector(hdfs_lake.path("data/blocked"), recursive=True))
    assert sorted(i.base_name for i in left) == ["file.parquet", "inside.parquet"]  # no _tmp.* file anywhere
    assert hdfs_lake.write_parquet(pa.table({"x": [1]}), "data/ok/file.parquet") > 0
