"""The fault-injection suite's own stack: it kills services with SIGKILL, so it never runs on the session stack
that other tests use (at the same time under `make test TEST_LANES=2`, README "The two commands").

LOL_CHAOS_STACK_DIR (default <repo>/.stack-chaos) and LOL_CHAOS_PORT_BASE (default 30000: Kafka on base+92,
Cassandra on base+42, Elasticsearch on base+200, the NameNode on base+20, ...) move it; LOL_KEEP_STACK=1 leaves
it running (a running one is reused).
"""

from __future__ import annotations

import os

import pytest

from lol_stack.config import REPO_ROOT


def chaos_config():
    from lol_stack import StackConfig

    return StackConfig.on_port_base(int(os.environ.get("LOL_CHAOS_PORT_BASE", 30000)),
                                    os.environ.get("LOL_CHAOS_STACK_DIR") or REPO_ROOT / ".stack-chaos")  # fmt: skip


@pytest.fixture(scope="module")
def chaos_stack():
    from lol_platform_tests.support.stacks import own_stack

    with own_stack(chaos_config()) as own:
        started = f"started {own.started_here} in {own.start_s} s" if own.started_here else "reused"
        print(f"chaos stack in {own.stack.config.stack_dir}: {started}", flush=True)
        yield own.stack
