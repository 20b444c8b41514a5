"""A pid file that outlived its service must not make the launcher think the service runs: pids are reused."""

from __future__ import annotations

import os
import time

from lol_stack import StackConfig
from lol_stack.services.kafka import Kafka


def test_a_pid_reused_by_another_process_is_not_the_service(tmp_path, monkeypatch):
    monkeypatch.setenv("LOL_STACK_DIR", str(tmp_path))
    kafka = Kafka(StackConfig())
    kafka.pid_path.parent.mkdir(parents=True, exist_ok=True)
    kafka.pid_path.write_text(str(os.getpid()))  # alive, but started after a pid file written an hour ago
    an_hour_ago = time.time() - 3600
    os.utime(kafka.pid_path, (an_hour_ago, an_hour_ago))
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
