"""The Cassandra sink's pacing, without a server: the window adapts, retries are bounded, failures surface.

The fake session answers requests from a script (ok, or an exception) on a background thread, like the
driver's event loop does; everything else is the real PacedWriter and AdaptiveWindow.
"""

from __future__ import annotations

import threading
import time

import pytest
from cassandra import WriteTimeout, WriteType
from cassandra.protocol import SyntaxException

from spark_jobs.cassandra_sink import AdaptiveWindow, PacedWriter, is_retryable


class FakeFuture:
    def __init__(self):
        self.callbacks = None

    def add_callbacks(self, callback, errback, callback_args=(), errback_args=()):
        self.callbacks = (callback, errback, callback_args, errback_args)


class ScriptedSession:
    """execute_async that fails the first `failures[statement]` attempts of a statement, then succeeds."""

    def __init__(self, failures: dict | None = None, error=None, latency_s: float = 0.002):
        self.failures = dict(failures or {})
        self.error = error or WriteTimeout("timed out", consistency=1, required_responses=1, received_responses=0, write_type=WriteType.UNLOGGED_BATCH)
        self.latency_s = latency_s
        self.attempts: dict = {}
        self.in_flight = 0
        self.most_in_flight = 0
        self.lock = threading.Lock()

    def execute_async(self, statement, timeout=None):
        future = FakeFuture()
        with self.lock:
            self.attempts[statement] = self.attempts.get(statement, 0) + 1
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
            fail = self.failures.get(statement, 0) >= self.attempts[statement]
        threading.Timer(self.latency_s, self._answer, (future, fail)).start()
        return future

    def _answer(self, future, fail):
        while future.callbacks is None:
            time.sleep(0.0005)
        callback, errback, cargs, eargs = future.callbacks
        with self.lock:
            self.in_flight -= 1
        if fail:
            errback(self.error, *eargs)
        else:
            callback(None, *cargs)


def writer_for(session, ceiling=8, attempts=6):
    return PacedWriter(session.execute_async, AdaptiveWindow(ceiling), attempts, 5.0)


def test_every_request_is_written_once_and_in_flight_never_exceeds_the_window():
    session = ScriptedSession()
    writer = writer_for(session, ceiling=8)
    for i in range(300):
        writer.submit(f"stmt-{i}", rows=10)
    writer.drain()
    assert writer.rows == 3000
    assert set(session.attempts.values()) == {1}
    assert 2 <= session.most_in_flight <= 8  # it widened from its start (2) but never past the ceiling


def test_a_timeout_is_retried_with_the_window_halved_and_nothing_is_lost():
    session = ScriptedSession(failures={"stmt-5": 2, "stmt-9": 1})
    writer = writer_for(session, ceiling=8)
    for i in range(40):
        writer.submit(f"stmt-{i}", rows=1)
    writer.drain()
    assert writer.rows == 40
    assert session.attempts["stmt-5"] == 3 and session.attempts["stmt-9"] == 2
    assert writer.retries == 3
    assert writer.window.smallest < 2  # halved at least once from its start


def test_a_request_that_keeps_timing_out_fails_the_publish_after_its_attempts():
    session = ScriptedSession(failures={"stmt-3": 99})
    writer = writer_for(session, attempts=3)
    with pytest.raises(WriteTimeout):
        for i in range(10):
            writer.submit(f"stmt-{i}", rows=1)
        writer.drain()
    assert session.attempts["stmt-3"] == 3


def test_an_error_that_is_not_about_load_is_raised_at_once():
    session = ScriptedSession(failures={"stmt-0": 1}, error=SyntaxException(code=0x2000, message="bad cql", info=None))
    writer = writer_for(session)
    with pytest.raises(SyntaxException):
        writer.submit("stmt-0", rows=1)
        writer.drain()
    assert session.attempts["stmt-0"] == 1


def test_the_window_halves_on_overload_and_grows_back_about_one_step_per_window_of_successes():
    window = AdaptiveWindow(ceiling=16, start=16)
    window.on_overload()
    window.on_overload()
    assert window.allowed == 4 and window.smallest == 4
    for _ in range(4):
        window.on_success()
    assert window.allowed == 4  # 1/limit per success: a whole window of them is about one step
    window.on_success()
    assert window.allowed == 5
    for _ in range(1000):
        window.on_success()
    assert window.allowed == 16  # never past the ceiling
    for _ in range(10):
        window.on_overload()
    assert window.allowed == 1  # never below one request


def test_what_counts_as_retryable():
    assert is_retryable(WriteTimeout("t", consistency=1, required_responses=1, received_responses=0, write_type=WriteType.BATCH))
    assert not is_retryable(SyntaxException(code=0x2000, message="bad", info=None))
    assert not is_retryable(ValueError("a bug"))
