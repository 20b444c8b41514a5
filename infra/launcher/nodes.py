"""Multi-node mode (StackConfig.nodes > 1): the layout of the replicated stores on loopback addresses.

Node i of Kafka and of Cassandra binds 127.0.0.i with the same ports as every other node (a Cassandra driver
reaches every node on one native port; a Kafka client learns each broker's address from the metadata). Node
services are named `kafka-<i>` and `cassandra-<i>`, each with its own directory, log and pid file in the stack
dir, so a stack dir holds either the single-node services (`kafka`, `cassandra`) or the nodes.
"""

from __future__ import annotations

from lol_stack.config import MAX_NODES, StackConfig

MURMUR3_MIN_TOKEN = -(2**63)


def node_services(config: StackConfig, cls) -> list:
    """The services of one store: the single node, or `config.nodes` nodes each following the one before.

    Also any node of the other layout that is still running (a stack started with another LOL_STACK_NODES),
    so that `status` and `down` cover every process this stack dir started."""
    wanted = [cls(config)] if not config.multi_node else [cls(config, node) for node in range(1, config.nodes + 1)]
    others = [cls(config)] + [cls(config, node) for node in range(1, MAX_NODES + 1)]
    names = {svc.name for svc in wanted}
    leftovers = [svc for svc in others if svc.name not in names and svc.is_running()]
    for before, after in zip(wanted, wanted[1:]):
        after.follows = before
    return wanted + leftovers


def kafka_bootstrap(config: StackConfig) -> str:
    """LOL_KAFKA_BOOTSTRAP for this stack: every broker, so a client starts even with one of them down."""
    return ",".join(f"{host}:{config.kafka_port}" for host in store_hosts(config))


def cassandra_hosts(config: StackConfig) -> str:
    """LOL_CASSANDRA_HOSTS for this stack: every node as a contact point."""
    return ",".join(store_hosts(config))


def store_hosts(config: StackConfig) -> list[str]:
    if not config.multi_node:
        return [config.host]
    return [config.node_host(node) for node in range(1, config.nodes + 1)]


def kafka_quorum_voters(config: StackConfig) -> str:
    """controller.quorum.voters: every node is a controller (id@host:port), a static quorum of `nodes`."""
    port = config.kafka_controller_port
    return ",".join(f"{node}@{config.node_host(node)}:{port}" for node in range(1, config.nodes + 1))


def cassandra_initial_token(node: int, nodes: int) -> int:
    """Evenly spaced Murmur3 tokens, one per node: a balanced ring without vnodes or a token allocator."""
    return MURMUR3_MIN_TOKEN + (node - 1) * (2**64 // nodes)


def majority(nodes: int) -> int:
    return nodes // 2 + 1
