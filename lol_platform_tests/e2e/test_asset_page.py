"""The UI, as a new user opens it: one asset's page shows its columns (from the schema module) and its
freshness status (a real failing evaluation of freshness_sensor: messages an hour old nobody landed).

A webserver alone (no daemon, so no sensor consumes anything) over a temporary DAGSTER_HOME into which the
sensor's evaluations were recorded. Screenshots go to test-artifacts/screenshots/.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from dagster import DagsterInstance, build_sensor_context

from lol_core.schemas import RAW_PARTICIPANTS
from lol_platform.freshness.definitions import FreshnessSettings, freshness_sensor
from lol_platform.resources import CassandraResource, KafkaResource
from lol_platform_tests.support.browser import dismiss_welcome, open_page, require_chromium

pytestmark = [pytest.mark.stack, pytest.mark.browser]
REPO = Path(__file__).resolve().parents[2]
SCREENSHOTS = REPO / "test-artifacts" / "screenshots"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _location_loaded(port: int) -> bool:
    query = '{ workspaceOrError { ... on Workspace { locationEntries { locationOrLoadError { __typename } } } } }'
    request = urllib.request.Request(f"http://127.0.0.1:{port}/graphql", data=json.dumps({"query": query}).encode(),
                                     headers={"Content-Type": "application/json"})  # fmt: skip
    try:
        entries = json.load(urllib.request.urlopen(request, timeout=5))["data"]["workspaceOrError"]["locationEntries"]
    except OSError:
        return False
    return any((e["locationOrLoadError"] or {}).get("__typename") == "RepositoryLocation" for e in entries)


@pytest.fixture
def webserver(tmp_path, unique_name):
    require_chromium()
    kafka = KafkaResource(topic=f"lol_matches_test_{unique_name}")  # this test's topic
    kafka.ensure_topic()
    cassandra = CassandraResource()
    producer = kafka.producer()
    for i in range(5):
        producer.produce(kafka.topic, value=b"{}", key=f"k{i}".encode(), timestamp=int((time.time() - 3600) * 1000))
    assert producer.flush(30) == 0
    home = tmp_path / "home"
    home.mkdir()
    settings = FreshnessSettings(batch_group=f"batch_{unique_name}", stream_group=f"stream_{unique_name}")
    with DagsterInstance.local_temp(tempdir=str(home)) as instance:
        with build_sensor_context(instance=instance, resources={"kafka": kafka, "cassandra": cassandra, "freshness": settings}) as context:
            for event in freshness_sensor(context).asset_events:
                instance.report_runless_asset_event(event)
    cassandra.close()
    port = _free_port()
    env = {**os.environ, "DAGSTER_HOME": str(home)}
    proc = subprocess.Popen([str(Path(sys.executable).parent / "dagster-webserver"), "-w", str(REPO / "workspace.yaml"),
                             "-p", str(port), "-h", "127.0.0.1"], cwd=REPO, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)  # fmt: skip
    try:
        for _ in range(180):
            if _location_loaded(port) or proc.poll() is not None:
                break
            time.sleep(1)
        assert _location_loaded(port), f"the webserver did not load the code location (exit code {proc.poll()})"
        yield f"http://127.0.0.1:{port}"
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)


def test_an_asset_page_shows_its_columns_and_its_freshness_status(webserver):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with open_page() as page:
        try:
            page.goto(f"{webserver}/assets/raw_matches", wait_until="networkidle")
            dismiss_welcome(page)
            for field in (RAW_PARTICIPANTS[0], RAW_PARTICIPANTS[-1]):  # columns from the schema module
                page.get_by_text(field.name, exact=True).first.wait_for(state="visible")
            page.screenshot(path=str(SCREENSHOTS / "10_asset_columns.png"), full_page=True)

            page.goto(f"{webserver}/assets/raw_matches?view=checks", wait_until="networkidle")
            check = page.get_by_text("raw_matches_landing_freshness", exact=True).first
            check.wait_for(state="visible")
            check.click()
            page.get_by_text("Failed").first.wait_for(state="visible")
            page.get_by_text(re.compile(r"not consumed by group batch_\w+, the oldest for 1h 00m .* late by 50m")).first.wait_for(state="visible")
            page.screenshot(path=str(SCREENSHOTS / "11_asset_freshness.png"), full_page=True)
        except BaseException:
            page.screenshot(path=str(SCREENSHOTS / "asset_page_failure.png"), full_page=True)
            raise
