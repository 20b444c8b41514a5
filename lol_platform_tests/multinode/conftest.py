"""The multi-node stack (3 Kafka brokers, 3 Cassandra nodes on 127.0.0.1-3; HDFS and Elasticsearch single), started
by this module's fixture in a stack dir and on ports of its own, so it never meets the session stack, and the
platform's resources pointed at it with nothing but settings: every broker and node listed, replication 3,
min.insync.replicas 2, QUORUM.

LOL_MULTINODE_STACK_DIR (default <repo>/.stack-multinode) and LOL_MULTINODE_PORT_BASE (default 31000: Kafka on
base+92, Cassandra on base+42, Elasticsearch on base+200, ...) move it; LOL_KEEP_STACK=1 leaves it running (a
running one is reused).
"""

from __future__ import annotations

import json
import os
import uuid

import pytest

from lol_stack.config import REPO_ROOT

NODES = 3


def multinode_config():
    from lol_stack import StackConfig

    return StackConfig.on_port_base(
        int(os.environ.get("LOL_MULTINODE_PORT_BASE", 31000)),
        os.environ.get("LOL_MULTINODE_STACK_DIR") or REPO_ROOT / ".stack-multinode",
        nodes=NODES,
        start_timeout_s=float(os.environ.get("LOL_STACK_START_TIMEOUT", 420)),  # nodes start one after another
    )


def rss_mb(pid: int) -> float:
    """Resident memory of a process, MiB."""
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


@pytest.fixture(scope="module")
def multinode_stack():
    """The multi-node stack, started here unless already up, and stopped at the end (unless LOL_KEEP_STACK=1).
    What it cost (seconds to start, each service's RSS once up) is printed and kept in <stack dir>/cost.json."""
    from lol_platform_tests.support.stacks import own_stack

    with own_stack(multinode_config()) as own:
        stack = own.stack
        cost = {
            "start_s": own.start_s,
            "started": own.started_here,
            "rss_mb": {svc.name: round(rss_mb(svc.pid())) for svc in stack.services if svc.pid()},
            "load_average": os.getloadavg(),
        }
        (stack.config.stack_dir / "cost.json").write_text(json.dumps(cost, indent=2))
        print(f"multi-node stack: {json.dumps(cost)}", flush=True)
        yield stack


@pytest.fixture(scope="module")
def stores(multinode_stack):
    """The platform's resources on the multi-node stack: only their settings differ from a single node's."""
    from lol_platform.resources import CassandraResource, ElasticsearchResource, KafkaResource, LakeResource
    from lol_stack.nodes import cassandra_hosts, kafka_bootstrap, majority

    c = multinode_stack.config
    name = uuid.uuid4().hex[:10]
    kafka = KafkaResource(bootstrap_servers=kafka_bootstrap(c), topic=f"lol_matches_mn_{name}",
                          replication_factor=NODES, min_insync_replicas=majority(NODES))  # fmt: skip
    kafka.ensure_topic()
    cassandra = CassandraResource(hosts=cassandra_hosts(c), port=c.cassandra_port, replication=str(NODES), consistency="QUORUM")
    lake = LakeResource(root=f"hdfs://{c.host}:{c.namenode_rpc_port}/tests/{name}", webhdfs_port=c.namenode_http_port)
    es = ElasticsearchResource(url=f"http://{c.host}:{c.elasticsearch_port}", index=f"lol_matches_stream_mn_{name}")
    yield {"kafka": kafka, "cassandra": cassandra, "lake": lake, "elasticsearch": es}
    cassandra.close()
