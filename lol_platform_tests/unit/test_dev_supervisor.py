"""`make dev` supervision: a child that exits is reported and restarted with backoff; the others keep running.

The rules (backoff schedule, when the count resets) are pure functions; the Supervisor is exercised with
real short-lived processes (no services needed) and a fast policy.
"""

from __future__ import annotations

import os
import signal
import sys
import time

import pytest

from lol_platform.devtools.dev import RestartPolicy, Supervisor, backoff_s, describe_exit, failures_after_exit, parse_args


def test_backoff_starts_at_one_second_doubles_and_is_capped_at_sixty():
    assert [backoff_s(n) for n in range(1, 10)] == [1, 2, 4, 8, 16, 32, 60, 60, 60]
    assert backoff_s(0) == 0
    assert backoff_s(10_000) == 60  # no overflow however long it keeps failing
    fast = RestartPolicy(initial_s=0.5, max_s=3)
    assert [backoff_s(n, fast) for n in range(1, 6)] == [0.5, 1, 2, 3, 3]


def test_quick_exits_accumulate_and_a_stable_run_resets_the_count():
    policy = RestartPolicy(stable_after_s=60)
    failures, delays = 0, []
    for uptime in [2, 0.5, 10, 59.9, 300, 1, 1]:  # 4 quick deaths, one after a long stable run, 2 quick
        failures = failures_after_exit(failures, uptime, policy)
        delays.append(backoff_s(failures, policy))
    assert delays == [1, 2, 4, 8, 1, 2, 4]


def test_exit_descriptions_name_the_code_or_the_signal():
    assert describe_exit(0) == "exited with code 0"
    assert describe_exit(3) == "exited with code 3"
    assert describe_exit(-signal.SIGKILL) == "was killed by SIGKILL"
    assert describe_exit(-signal.SIGTERM) == "was killed by SIGTERM"


def test_the_generator_can_be_left_out(monkeypatch):
    monkeypatch.delenv("LOL_DEV_GENERATOR", raising=False)
    assert parse_args([]).no_generator is False
    assert parse_args(["--no-generator"]).no_generator is True
    for value in ["0", "false", "off"]:
        monkeypatch.setenv("LOL_DEV_GENERATOR", value)
        assert parse_args([]).no_generator is True
    monkeypatch.setenv("LOL_DEV_GENERATOR", "1")
    assert parse_args([]).no_generator is False


def test_the_matches_a_date_gets_reach_the_generator_command(monkeypatch):
    monkeypatch.delenv("LOL_DEV_PER_DAY", raising=False)
    assert parse_args([]).per_day == 1000
    assert parse_args(["--per-day", "100"]).per_day == 100
    monkeypatch.setenv("LOL_DEV_PER_DAY", "50")
    assert parse_args([]).per_day == 50
    from lol_platform.devtools.cli import build_parser

    produce = build_parser().parse_args(["produce", "--per-day", "100", "--days", "2"])
    assert (produce.per_day, produce.days) == (100, 2)


def _alive(pid: int) -> bool:
    """Running (a zombie waiting for a reaper that is not us does not count)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.fixture
def supervisor(tmp_path):
    lines: list[str] = []
    sup = Supervisor(dict(os.environ), tmp_path, RestartPolicy(initial_s=0.1, max_s=0.4, stable_after_s=30), out=lines.append)
    sup.lines = lines
    yield sup
    sup.stop()


def _poll_for(sup: Supervisor, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        sup.poll()
        time.sleep(0.02)


def test_a_child_that_exits_is_restarted_with_backoff_and_the_others_keep_running(supervisor, tmp_path):
    steady = supervisor.start("steady", [sys.executable, "-c", "import time; time.sleep(120)"])
    crasher = supervisor.start("crasher", [sys.executable, "-c", "import sys; sys.exit(3)"])
    steady_pid = steady.proc.pid
    starts = []
    deadline = time.monotonic() + 20
    while crasher.restarts < 4 and time.monotonic() < deadline:
        pid = crasher.proc.pid
        supervisor.poll()
        if crasher.proc.pid != pid:
            starts.append(time.monotonic())
        time.sleep(0.01)
    assert crasher.restarts >= 4, supervisor.lines

    # the others never noticed: same process, still running, never restarted
    assert steady.proc.pid == steady_pid and steady.proc.poll() is None and steady.restarts == 0

    # reported clearly: which child, its exit code, where its log is; the log itself says so too
    deaths = [line for line in supervisor.lines if "crasher exited with code 3" in line]
    assert len(deaths) >= 4, supervisor.lines
    assert all(str(tmp_path / "crasher.log") in line for line in deaths)
    assert "restarting in" in deaths[0]
    assert "== make dev: crasher exited with code 3" in (tmp_path / "crasher.log").read_text()
    assert not any("steady" in line for line in supervisor.lines)

    # backoff: waits of 0.1, 0.2, 0.4, 0.4 s between restarts (the process itself lives ~50 ms)
    gaps = [b - a for a, b in zip(starts, starts[1:])]
    assert gaps[0] >= 0.2 - 0.05 and gaps[1] >= 0.4 - 0.05, gaps
    assert max(gaps) < 0.4 + 2.0, gaps  # capped (with room for a slow interpreter start)


def test_a_child_that_ran_stably_restarts_after_the_initial_delay_again(tmp_path):
    now = [1000.0]
    lines: list[str] = []
    sup = Supervisor(dict(os.environ), tmp_path, RestartPolicy(initial_s=1, max_s=60, stable_after_s=60),
                     out=lines.append, clock=lambda: now[0])  # fmt: skip
    try:
        child = sup.start("short", [sys.executable, "-c", "pass"])
        child.failures = 5  # it had been failing
        child.proc.wait(10)
        now[0] += 120  # ...but this run lasted two minutes
        sup.poll()
        assert child.failures == 1 and child.restart_at == now[0] + 1, lines
        assert "after 120s" in lines[-1] and "restarting in 1s" in lines[-1]
        sup.poll()
        assert child.restarts == 0  # not due yet
        now[0] += 1
        sup.poll()
        assert child.restarts == 1 and child.restart_at is None
        child.proc.wait(10)
        now[0] += 2  # died again quickly
        sup.poll()
        assert child.failures == 2 and child.restart_at == now[0] + 2
    finally:
        sup.stop()


def test_each_restart_can_get_its_own_command_line(supervisor, tmp_path):
    out = tmp_path / "seeds.txt"
    child = supervisor.start("gen", lambda n: [sys.executable, "-c", f"open({str(out)!r}, 'a').write('{100 + n}\\n')"])
    _poll_for(supervisor, 3)
    assert child.restarts >= 2
    seeds = out.read_text().split()
    assert seeds[:3] == ["100", "101", "102"]


def test_stop_ends_every_child_and_whatever_is_left_in_its_process_group(supervisor, tmp_path):
    pidfile = tmp_path / "grandchild.pid"
    # the child starts a grandchild in its own group, then exits: the restart must not leave it behind
    script = ("import subprocess, sys, time; "
              f"p = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(120)']); open({str(pidfile)!r}, 'w').write(str(p.pid)); "
              "sys.exit(1)")  # fmt: skip
    leaver = supervisor.start("leaver", [sys.executable, "-c", script])
    steady = supervisor.start("steady", [sys.executable, "-c", "import time; time.sleep(120)"])
    leaver.proc.wait(10)
    deadline = time.monotonic() + 5
    while not (pidfile.exists() and pidfile.read_text()) and time.monotonic() < deadline:
        time.sleep(0.05)
    grandchild = int(pidfile.read_text())
    supervisor.poll()  # notices the exit: the group's leftovers go before any restart
    deadline = time.monotonic() + 10
    while _alive(grandchild) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(grandchild), "a dead child's leftover process was not stopped"

    steady_pid = steady.proc.pid
    supervisor.stop()
    assert steady.proc.poll() is not None and not _alive(steady_pid)


def test_init_instance_creates_the_storage_and_the_spark_pools_limit_before_dagster_starts(tmp_path):
    import shutil

    from dagster import DagsterInstance

    from lol_platform.batch.spark_pool import POOLS
    from lol_platform.devtools.dev import REPO, init_instance

    shutil.copyfile(REPO / "dagster.yaml", tmp_path / "dagster.yaml")
    limits = init_instance(tmp_path)
    assert set(limits) == set(POOLS) and all(limit >= 1 for limit in limits.values()), limits
    assert any(tmp_path.rglob("*.db")), sorted(p.name for p in tmp_path.rglob("*"))  # the SQLite storage
    with DagsterInstance.from_config(str(tmp_path)) as instance:  # a second process opens the same storage
        assert {p.name: p.limit for p in instance.event_log_storage.get_pool_limits() if p.name in POOLS} == limits
    assert init_instance(tmp_path) == limits  # idempotent: make dev runs it on every start
