"""A pid file that outlived its service must not make the launcher think the service runs: pids are reused."""

from __future__ import annotations

import os

from lol_stack import StackConfig
from lol_stack.services.kafka import Kafka


def test_a_pid_reused_by_another_process_is_not_the_service(tmp_path, monkeypatch):
    monkeypatch.setenv("LOL_STACK_DIR", str(tmp_path))
    kafka = Kafka(StackConfig())
    kafka.pid_path.parent.mkdir(parents=True, exist_ok=True)
    kafka.pid_path.write_text(str(os.getpid()))  # alive, but started after the pid file was written
    # Written before this machine booted, so before this process, however long the suite has run (a fixed
    # "an hour ago" failed once a cold `make test` passed the hour).
    before_boot = _boot_time() - 3600
    os.utime(kafka.pid_path, (before_boot, before_boot))
    assert kafka.pid() is None and not kafka.is_running()


def test_a_process_started_before_its_pid_file_is_the_service(tmp_path, monkeypatch):
    monkeypatch.setenv("LOL_STACK_DIR", str(tmp_path))
    kafka = Kafka(StackConfig())
    kafka.pid_path.parent.mkdir(parents=True, exist_ok=True)
    kafka.pid_path.write_text(str(os.getpid()))  # as start() does: the process first, then its pid file
    assert kafka.pid() == os.getpid()


def test_a_dead_pid_is_not_the_service(tmp_path, monkeypatch):
    monkeypatch.setenv("LOL_STACK_DIR", str(tmp_path))
    kafka = Kafka(StackConfig())
    kafka.pid_path.parent.mkdir(parents=True, exist_ok=True)
    kafka.pid_path.write_text("999999999")
    assert kafka.pid() is None


def _boot_time() -> int:
    return next(int(line.split()[1]) for line in open("/proc/stat") if line.startswith("btime"))
