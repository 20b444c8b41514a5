"""`make test` runs two lanes side by side (lol_platform_tests/conftest.py). They are only safe if no stack is used
from both lanes (each lane would start it) and the stacks never share a port."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

from lol_platform_tests.conftest import OWN_STACKS_LANE, SESSION_LANE, lane

REPO = Path(__file__).resolve().parents[2]
STACK_FIXTURES = ("service_stack", "secure_stack", "chaos_stack", "multinode_stack")
EPHEMERAL_PORTS_START = 32768  # Linux's default ip_local_port_range

DUMP_PLUGIN = """
import json, os
def pytest_collection_finish(session):
    rows = [{"id": i.nodeid, "fixtures": list(i.fixturenames),
             "lanes": [m.args[0] for m in i.iter_markers("xdist_group")]} for i in session.items]
    with open(os.environ["LANES_DUMP"], "w") as f:
        json.dump(rows, f)
"""


def _collected(tmp_path: Path) -> list[dict]:
    (tmp_path / "lanes_dump.py").write_text(DUMP_PLUGIN)
    env = {**os.environ, "PYTHONPATH": str(tmp_path), "LANES_DUMP": str(tmp_path / "lanes.json")}
    done = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "lanes_dump", "-p", "no:cacheprovider"],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return json.loads((tmp_path / "lanes.json").read_text())


def test_a_test_using_the_session_or_secure_stack_runs_in_the_session_lane():
    assert lane(["tmp_path", "service_stack"]) == SESSION_LANE
    assert lane(["secure_stack"]) == SESSION_LANE
    assert lane(["chaos_stack", "tmp_path_factory"]) == OWN_STACKS_LANE
    assert lane(["spark"]) == OWN_STACKS_LANE


def test_every_stack_is_used_from_one_lane_only_and_the_fault_injection_suite_never_meets_the_session_stack(tmp_path):
    items = _collected(tmp_path)
    assert all(len(item["lanes"]) == 1 for item in items), [i["id"] for i in items if len(i["lanes"]) != 1][:5]
    lanes_of = {name: {item["lanes"][0] for item in items if name in item["fixtures"]} for name in STACK_FIXTURES}
    assert all(len(lanes) == 1 for lanes in lanes_of.values()), lanes_of
    assert lanes_of["chaos_stack"] != lanes_of["service_stack"], lanes_of
    assert {item["lanes"][0] for item in items} == {SESSION_LANE, OWN_STACKS_LANE}


def _ports(config) -> dict[str, int]:
    """The ports a stack of this config binds (the Spark cluster's only when it runs one; 0 is off)."""
    names = [f.name for f in dataclasses.fields(config) if f.name.endswith("_port")]
    return {n: getattr(config, n) for n in names if getattr(config, n) and (config.spark_cluster or not n.startswith("spark_"))}


def test_the_test_stacks_never_share_a_port_and_stay_below_the_ephemeral_range(monkeypatch):
    for name in [k for k in os.environ if k.startswith("LOL_")]:
        monkeypatch.delenv(name)  # the defaults, as CI has them
    from lol_platform_tests.chaos.conftest import chaos_config
    from lol_platform_tests.multinode.conftest import multinode_config
    from lol_platform_tests.secure.conftest import secure_test_config
    from lol_stack import StackConfig

    configs = {"session": StackConfig(), "chaos": chaos_config(), "multinode": multinode_config(), "secure": secure_test_config()}
    # The secure test stack runs Kafka and Cassandra only: its other ports are the session stack's defaults, unused.
    configs["secure"] = {k: v for k, v in _ports(configs["secure"]).items() if k.startswith(("kafka", "cassandra"))}
    owners: dict[int, str] = {}
    for stack, config in configs.items():
        for setting, port in (config if isinstance(config, dict) else _ports(config)).items():
            assert port < EPHEMERAL_PORTS_START, f"{stack} {setting}={port}"
            assert port not in owners, f"{stack} {setting}={port} is also {owners[port]}"
            owners[port] = f"{stack} {setting}"
    stack_dirs = {StackConfig().stack_dir, chaos_config().stack_dir, multinode_config().stack_dir, secure_test_config().stack_dir}
    assert len(stack_dirs) == 4
