"""On the multi-node stack, matches keep landing and indexing while a Kafka broker is SIGKILLed and brought back,
and the batch publishes while a Cassandra node is SIGKILLed: nothing lost, nothing doubled, per date.

The flow (flow.py) runs in threads: the producer (acks=all) at a steady rate, the landing sensor's ticks,
and the stream indexer's loop. kafka-2 is killed mid-flow; landing and indexing must go on without it
(leadership moves to the in-sync replicas), and it is restarted while matches still arrive. Once the flow
has drained, cassandra-3 is killed and the batch assets publish both dates at QUORUM on the two nodes left;
then cassandra-3 comes back. Every store is read back and reconciled, per date, with what the brokers
acknowledged: the raw lake (every file, no dedup), Cassandra (as a reader reaches the rows) and Elasticsearch.
"""

from __future__ import annotations

import datetime as dt

import pandera.backends.pandas.builtin_checks  # noqa: F401 - see below
import pytest
from confluent_kafka.admin import ConfigResource

from lol_core.lake_paths import raw_partition_dir
from lol_platform_tests.chaos.support import StackFaults, cassandra_keys, es_keys, kafka_valid_matches, lake_keys, lost_and_doubled
from lol_platform_tests.integration.batch_support import run_batch
from lol_platform_tests.multinode.conftest import NODES
from lol_platform_tests.multinode.flow import IndexerLoop, MatchProducer, SensorLoop, wait_for

# pandera imports its hypothesis strategies on a run's first validation, and pytest rewrites hypothesis (a plugin)
# with `ast`, whose state Python 3.11 shares between threads: with the flow's threads alive, that import failed
# ("AST constructor recursion depth mismatch"). Imported above, at collection, before any thread starts.
pytestmark = pytest.mark.multinode
START = dt.date(2026, 3, 1)
DAYS = 2
DATES = [START + dt.timedelta(days=d) for d in range(DAYS)]
MATCHES = 240  # over ~40 s: the broker's kill and restart happen while they arrive
PER_SECOND = 6


def test_flow_rides_out_sigkill_of_a_broker_and_a_cassandra_node(multinode_stack, stores):
    kafka, cassandra, lake, es = stores["kafka"], stores["cassandra"], stores["lake"], stores["elasticsearch"]
    faults = StackFaults(multinode_stack, log=lambda line: print(line, flush=True))
    _assert_replicated(kafka, cassandra)

    producer = MatchProducer(kafka, START, DAYS, MATCHES, PER_SECOND).start()
    sensor = SensorLoop(kafka, lake).start()
    indexer = IndexerLoop(kafka, es).start()
    try:
        wait_for("first rows landed and indexed", lambda: sensor.landed_rows > 0 and _es_count(es) > 0, 180, sensor, indexer)
        faults.kill("kafka-2")
        landed, indexed = sensor.landed_rows, _es_count(es)
        wait_for("landing goes on without kafka-2", lambda: sensor.landed_rows > landed, 120, sensor, indexer)
        wait_for("indexing goes on without kafka-2", lambda: _es_count(es) > indexed, 120, sensor, indexer)
        faults.restart_later("kafka-2")
        wait_for("every match sent", lambda: producer.done, 300, sensor, indexer)
        assert faults.wait_restarted(300) == {}, "kafka-2 did not come back"
        expected_rows = sum(len(keys) for keys in producer.expected.values())
        wait_for("everything landed", lambda: sensor.idle and sensor.landed_rows >= expected_rows, 180, sensor, indexer)
        wait_for("everything indexed", lambda: _es_count(es) >= expected_rows, 180, sensor, indexer)
    finally:
        for loop in (producer, sensor, indexer):
            loop.stop()
    for loop in (producer, sensor, indexer):
        assert loop.error is None, f"{loop._thread.name} failed: {loop.error!r}"
    assert producer.failed == 0, f"{producer.failed} messages were not acknowledged by the brokers"
    assert producer.acked == MATCHES and producer.invalid_acked > 0

    faults.kill("cassandra-3")
    result = run_batch(lake, cassandra, DATES[0], DATES[-1])  # publishes at QUORUM on the two nodes left
    assert result.success
    faults.restart_later("cassandra-3")
    assert faults.wait_restarted(300) == {}, "cassandra-3 did not come back"

    _, in_kafka, _, _ = kafka_valid_matches(kafka)
    session = cassandra.session()
    report = {}
    for day in DATES:
        expected = producer.expected[day]
        assert expected and in_kafka.get(day) == expected, f"{day}: the topic does not hold what the brokers acknowledged"
        reachable, orphans = cassandra_keys(session, day, {match_id for match_id, _ in expected})
        report[day.isoformat()] = {
            "expected": len(expected),
            "lake (lost, doubled)": lost_and_doubled(expected, lake_keys(lake, raw_partition_dir(day))),
            "cassandra (lost, doubled)": lost_and_doubled(expected, reachable),
            "cassandra orphans": len(orphans),
            "elasticsearch (lost, doubled)": lost_and_doubled(expected, es_keys(es, day)),
        }
    print(f"reconciled per date: {report}; failed sensor ticks during the kill: {len(sensor.failed_ticks)}", flush=True)
    for day, counts in report.items():
        assert all(v == (0, 0) for k, v in counts.items() if "lost, doubled" in k), f"{day}: {counts}"
        assert counts["cassandra orphans"] == 0, f"{day}: {counts}"


def _assert_replicated(kafka, cassandra) -> None:
    """The topic and the keyspace are what the settings asked for: 3 replicas, 2 in sync; replication 3."""
    admin = kafka.admin()
    topic = admin.list_topics(topic=kafka.topic, timeout=10).topics[kafka.topic]
    assert {len(p.replicas) for p in topic.partitions.values()} == {NODES}
    resource = ConfigResource(ConfigResource.Type.TOPIC, kafka.topic)
    config = admin.describe_configs([resource])[resource].result(30)
    assert config["min.insync.replicas"].value == "2"
    session = cassandra.session()  # applies the schema, with the resource's replication
    row = session.execute("SELECT replication FROM system_schema.keyspaces WHERE keyspace_name = 'lol_data'").one()
    assert row.replication["replication_factor"] == str(NODES), row.replication


def _es_count(es) -> int:
    client = es.client()
    if not client.indices.exists(index=es.index):
        return 0
    client.indices.refresh(index=es.index)
    return client.count(index=es.index)["count"]
