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
    with open(os.environ["LANES_DUMP"], "w") as f:
        json.dump([{"id": i.nodeid, "fixtures": list(i.fixturenames)} for i in session.items], f)
"""


def _collected(tmp_path: Path) -> list[dict]:
    """Every test of the suite: node id and the fixtures it uses (with those they use in turn)."""
    (tmp_path / "lanes_dump.py").write_text(DUMP_PLUGIN)
    env = {**os.environ, "PYTHONPATH": str(tmp_path), "LANES_DUMP": str(tmp_path / "lanes.json")}
    done = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "lanes_dump", "-p", "no:cacheprovider"],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return json.loads((tmp_path / "lanes.json").read_text())


def test_a_test_runs_in_the_lane_of_its_folder():
    assert lane("lol_platform_tests/integration/test_speed_layer.py::test_x") == SESSION_LANE
    assert lane("lol_platform_tests/e2e/test_dev_flow.py::test_x[param/with/slashes]") == SESSION_LANE
    assert lane("lol_platform_tests/secure/test_secure_kafka.py::TestX::test_y") == SESSION_LANE
    assert lane("lol_platform_tests/chaos/test_kill_9.py::test_x") == OWN_STACKS_LANE
    assert lane("lol_platform_tests/unit/spark/test_jobs.py::test_x") == OWN_STACKS_LANE
    assert lane("lol_platform_tests/unit/test_dates.py::test_x") == OWN_STACKS_LANE


def test_every_stack_is_used_from_one_lane_only_and_the_fault_injection_suite_never_meets_the_session_stack(tmp_path):
    items = _collected(tmp_path)
    lanes_of = {name: {lane(item["id"]) for item in items if name in item["fixtures"]} for name in STACK_FIXTURES}
    assert all(len(lanes) == 1 for lanes in lanes_of.values()), lanes_of
    assert lanes_of["service_stack"] == lanes_of["secure_stack"] == {SESSION_LANE}, lanes_of
    assert lanes_of["chaos_stack"] == lanes_of["multinode_stack"] == {OWN_STACKS_LANE}, lanes_of
    assert {lane(item["id"]) for item in items} == {SESSION_LANE, OWN_STACKS_LANE}


def test_make_test_schedules_by_lane():
    """pytest-xdist asks the suite's hook for its scheduler: one unit of work per lane, whole."""
    from lol_platform_tests import conftest

    scheduler = conftest.pytest_xdist_make_scheduler(config=_XdistConfig(), log=None)
    ids = ["lol_platform_tests/unit/test_a.py::t", "lol_platform_tests/e2e/test_b.py::t", "lol_platform_tests/chaos/test_c.py::t"]
    assert [scheduler._split_scope(i) for i in ids] == [OWN_STACKS_LANE, SESSION_LANE, OWN_STACKS_LANE]


class _XdistConfig:
    """What LoadScopeScheduling reads of pytest's config at construction."""

    def getvalue(self, name):
        return {"tx": ["popen"] * 2, "numprocesses": 2}.get(name)


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
