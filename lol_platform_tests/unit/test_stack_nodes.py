"""Multi-node mode of the launcher (lol_stack/nodes.py): each node's address, quorum, seed, token and replication
settings, as written into its config files, and the start order of the nodes. Nothing is started."""

from __future__ import annotations

import pytest

from lol_stack import Stack, StackConfig
from lol_stack.nodes import MURMUR3_MIN_TOKEN, cassandra_hosts, cassandra_initial_token, kafka_bootstrap, kafka_quorum_voters
from lol_stack.services import Cassandra, Kafka


def _config(tmp_path, nodes: int) -> StackConfig:
    return StackConfig(stack_dir=tmp_path, nodes=nodes, secure=False, kafka_port=31092, kafka_controller_port=31093,
                       cassandra_port=31042, cassandra_storage_port=31000, cassandra_jmx_port=31199)  # fmt: skip


def _properties(kafka: Kafka) -> dict[str, str]:
    kafka.write_config()
    lines = kafka.properties_path.read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if "=" in line)


def test_the_platform_settings_list_every_node(tmp_path):
    c = _config(tmp_path, 3)
    assert kafka_bootstrap(c) == "127.0.0.1:31092,127.0.0.2:31092,127.0.0.3:31092"
    assert cassandra_hosts(c) == "127.0.0.1,127.0.0.2,127.0.0.3"
    assert kafka_bootstrap(_config(tmp_path, 1)) == "127.0.0.1:31092"


def test_each_kafka_node_is_a_voter_on_its_own_address_with_replicated_internal_topics(tmp_path):
    c = _config(tmp_path, 3)
    props = _properties(Kafka(c, 2))
    assert props["node.id"] == "2"
    assert props["listeners"] == "PLAINTEXT://127.0.0.2:31092,CONTROLLER://127.0.0.2:31093"
    assert props["controller.quorum.voters"] == kafka_quorum_voters(c) == "1@127.0.0.1:31093,2@127.0.0.2:31093,3@127.0.0.3:31093"
    assert "controller.quorum.bootstrap.servers" not in props
    for name in ("offsets.topic.replication.factor", "transaction.state.log.replication.factor", "default.replication.factor"):
        assert props[name] == "3", name
    assert props["min.insync.replicas"] == props["transaction.state.log.min.isr"] == "2"


def test_the_single_kafka_node_keeps_its_standalone_quorum_and_replication_1(tmp_path):
    props = _properties(Kafka(_config(tmp_path, 1)))
    assert props["node.id"] == "1" and props["controller.quorum.bootstrap.servers"] == "127.0.0.1:31093"
    assert props["offsets.topic.replication.factor"] == props["min.insync.replicas"] == "1"


def test_each_cassandra_node_binds_its_address_with_the_first_as_seed_and_an_even_token(tmp_path):
    c = _config(tmp_path, 3)
    node = Cassandra(c, 3)
    yaml = node._yaml()
    assert 'seeds: "127.0.0.1"' in yaml
    assert "listen_address: 127.0.0.3" in yaml and "rpc_address: 127.0.0.3" in yaml
    assert f"initial_token: {cassandra_initial_token(3, 3)}" in yaml and "auto_bootstrap: false" in yaml
    assert "native_transport_port: 31042" in yaml  # the same port on every node: the driver knows one port
    assert node.jmx_port == 31201 and node.heap_mb == 320
    assert "initial_token" not in Cassandra(_config(tmp_path, 1))._yaml()


def test_tokens_split_the_murmur3_ring_evenly():
    tokens = [cassandra_initial_token(n, 3) for n in (1, 2, 3)]
    assert tokens[0] == MURMUR3_MIN_TOKEN
    assert tokens[1] - tokens[0] == tokens[2] - tokens[1] == 2**64 // 3


def test_nodes_start_one_after_another_and_single_mode_is_unchanged(tmp_path):
    stack = Stack(_config(tmp_path, 3))
    names = [s.name for s in stack.services]
    assert names == ["kafka-1", "kafka-2", "kafka-3", "namenode", "datanode",
                     "cassandra-1", "cassandra-2", "cassandra-3", "elasticsearch"]  # fmt: skip
    assert stack.service("kafka-1").follows is None
    assert stack.service("cassandra-3").follows is stack.service("cassandra-2")
    assert [s.name for s in Stack(_config(tmp_path, 1)).services] == ["kafka", "namenode", "datanode", "cassandra", "elasticsearch"]


def test_more_nodes_than_loopback_addresses_it_uses_are_refused(tmp_path):
    with pytest.raises(ValueError, match="LOL_STACK_NODES"):
        _config(tmp_path, 10)
