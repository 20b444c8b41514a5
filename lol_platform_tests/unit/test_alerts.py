"""Alerts reach a webhook: a real failing run and a real failed blocking check, both in-process Dagster, post
Slack-compatible JSON to a local HTTP receiver started here; unset, nothing is posted."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from dagster import (
    AssetCheckResult,
    AssetCheckSpec,
    DagsterEventType,
    DagsterInstance,
    Definitions,
    SkipReason,
    asset,
    build_run_status_sensor_context,
    build_sensor_context,
    job,
    materialize,
    op,
)
from dagster._core.test_utils import instance_for_test

from lol_platform.alerts import AlertWebhook, CheckCursor, failed_check_alert_sensor, run_failure_alert_sensor


@pytest.fixture
def receiver():
    """A webhook on 127.0.0.1 that records each JSON body it is sent."""
    received: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/hook", received
    server.shutdown()
    server.server_close()


@op
def explode():
    raise RuntimeError("the lake is on fire")


@job
def doomed():
    explode()


def _failed_run(instance):
    result = doomed.execute_in_process(instance=instance, raise_on_error=False)
    assert not result.success
    failure = instance.get_records_for_run(result.run_id, of_type=DagsterEventType.RUN_FAILURE).records[0].event_log_entry.dagster_event
    return instance.get_run_by_id(result.run_id), failure


def test_a_failed_run_posts_its_job_error_and_link(receiver):
    url, received = receiver
    with DagsterInstance.ephemeral() as instance:
        run, failure = _failed_run(instance)
        webhook = AlertWebhook(url=url, ui_url="http://ui.example")
        context = build_run_status_sensor_context("run_failure_alert_sensor", failure, instance, run,
                                                  resources={"alert_webhook": webhook}).for_run_failure()  # fmt: skip
        run_failure_alert_sensor(context)
    assert len(received) == 1 and set(received[0]) == {"text"}
    text = received[0]["text"]
    assert "Run of doomed failed" in text and "explode" in text and text.endswith(f"http://ui.example/runs/{run.run_id}")


def test_without_a_webhook_url_alerts_are_off(receiver):
    _, received = receiver
    with DagsterInstance.ephemeral() as instance:
        run, failure = _failed_run(instance)
        context = build_run_status_sensor_context("run_failure_alert_sensor", failure, instance, run,
                                                  resources={"alert_webhook": AlertWebhook()}).for_run_failure()  # fmt: skip
        assert isinstance(run_failure_alert_sensor(context), SkipReason)
    assert received == []


@asset(check_specs=[AssetCheckSpec("always_positive", asset="scores", blocking=True),
                    AssetCheckSpec("nice_to_have", asset="scores", blocking=False)])  # fmt: skip
def scores():
    yield AssetCheckResult(check_name="always_positive", passed=False, description="3 rows below zero")
    yield AssetCheckResult(check_name="nice_to_have", passed=False)
    return 1


def test_a_failed_blocking_check_posts_once_and_a_non_blocking_one_does_not(receiver):
    """On a SQLite instance, as `dagster dev` runs it: its run-sharded event log cannot list check
    evaluations across runs (the sensor errored on every tick when it asked for them that way)."""
    url, received = receiver
    webhook = AlertWebhook(url=url, ui_url="http://ui.example")
    defs = Definitions(assets=[scores])
    with instance_for_test() as instance:
        assert type(instance.event_log_storage).__name__ == "SqliteEventLogStorage"

        def tick(cursor):
            with build_sensor_context(instance=instance, cursor=cursor, definitions=defs, resources={"alert_webhook": webhook}) as context:
                result = failed_check_alert_sensor(context)
            return getattr(result, "cursor", None) or cursor

        materialize([scores], instance=instance, raise_on_error=False)  # history: never alerted
        cursor = tick(None)  # the first tick only places the cursor
        assert tick(cursor) == cursor and received == []
        result = materialize([scores], instance=instance, raise_on_error=False)
        cursor = tick(cursor)
        assert len(received) == 1
        text = received[0]["text"]
        assert "Blocking check always_positive on scores failed: 3 rows below zero" in text
        assert text.endswith(f"http://ui.example/runs/{result.run_id}")
        tick(cursor)  # nothing new: nothing posted again
        assert len(received) == 1


@asset(check_specs=[AssetCheckSpec("never_reached", asset="crashing", blocking=True)])
def crashing():
    raise RuntimeError("died before its check")


def test_a_check_whose_run_died_before_it_does_not_hold_the_cursor_back(receiver):
    url, received = receiver
    webhook = AlertWebhook(url=url, ui_url="http://ui.example")
    defs = Definitions(assets=[crashing])
    with instance_for_test() as instance:
        def tick(cursor):
            with build_sensor_context(instance=instance, cursor=cursor, definitions=defs, resources={"alert_webhook": webhook}) as context:
                result = failed_check_alert_sensor(context)
            return getattr(result, "cursor", None) or cursor

        cursor = tick(None)
        assert not materialize([crashing], instance=instance, raise_on_error=False).success
        cursor = CheckCursor.parse(tick(cursor))
        # The planned execution of the dead run is handled (its run's failure is run_failure_alert_sensor's).
        assert cursor.through >= 1 and cursor.done == frozenset() and received == []


def test_a_check_still_running_is_alerted_when_its_verdict_lands_and_only_once():
    cursor = CheckCursor(through=10)
    # Executions 11 (running), 12 and 13 (verdicts) are new; 12 and 13 are handled, 11 holds `through` back.
    after = cursor.advanced(handled=[12, 13], pending=[11])
    assert (after.through, after.done) == (10, frozenset({12, 13}))
    assert after.is_new(11) and not after.is_new(12) and not after.is_new(13) and after.is_new(14)
    # 11 lands: everything up to 13 is handled.
    assert after.advanced(handled=[11], pending=[]) == CheckCursor(through=13)
    assert CheckCursor.parse(after.dump()) == after
    assert CheckCursor.parse("12345") == CheckCursor(0)  # an earlier version's storage-id cursor: start over
