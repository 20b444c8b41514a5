"""End to end: the `make dev` flow, scaled down, runs the platform by itself and stops cleanly.

One flow (module fixture `dev_flow`: 5 matches/s over 2 dates, 100 a date and lapped, a temporary DAGSTER_HOME
and lake) serves every test here, in order: a headless Chromium sees the asset graph with every asset and its checks and
launches a date-range backfill from the UI (its Spark run queues in the pool behind automation's);
automation lands and materializes partitions with no manual step and the speed layer indexes the flow's
matches; SIGTERM then stops the flow with nothing left running. Screenshots go to test-artifacts/screenshots/.
"""

from __future__ import annotations

import contextlib
import re
import time
from pathlib import Path

import pytest

from lol_platform.devtools.generator import MatchGenerator
from lol_platform.freshness.definitions import CHECKS as FRESHNESS_CHECKS
from lol_platform_tests.e2e.conftest import PER_DAY
from lol_platform_tests.support.browser import dismiss_welcome, open_page, require_chromium

pytestmark = pytest.mark.stack

ASSETS = ["raw_matches", "cleaned_participants", "champion_stats", "position_stats", "match_stream_index"]
BATCH = ["cleaned_participants", "champion_stats", "position_stats"]
AUTOMATION_TAG = "dagster/from_automation_condition"

# Bounded waits. Sensor and automation tick every 30 s; a Spark run (raw gate, cleaned_participants and both
# stats, one date) takes 1-2 min on 2 busy cores, and Spark runs are serialized (pool lol_spark, one run at a
# time), so the UI's backfill may queue behind the automation runs of the first landed dates.
RAW_TIMEOUT_S = 3 * 60
BACKFILL_TIMEOUT_S = 10 * 60
AUTOMATION_TIMEOUT_S = 8 * 60

RUNS = """query($filter: RunsFilter) { runsOrError(filter: $filter, limit: 500) { __typename
  ... on Runs { results { runId status assetSelection { path } tags { key value } } }
  ... on PythonError { message } } }"""
RUN_EVENTS = """query($runId: ID!) { logsForRun(runId: $runId, limit: 20000) { __typename
  ... on EventConnection { events { __typename
    ... on MaterializationEvent { assetKey { path } partition }
    ... on AssetCheckEvaluationEvent { evaluation { checkName success partition assetKey { path } } }
    ... on ExecutionStepFailureEvent { stepKey error { message } }
    ... on RunFailureEvent { message } } }
  ... on PythonError { message } } }"""
RAW_MATERIALIZATIONS = """{ assetOrError(assetKey: {path: ["raw_matches"]}) { __typename
  ... on Asset { assetMaterializations(limit: 500) { partition runId metadataEntries { label } } } } }"""
BACKFILL = """query($id: String!) { partitionBackfillOrError(backfillId: $id) { __typename
  ... on PartitionBackfill { id status partitionNames assetSelection { path } error { message }
    runs(limit: 20) { runId status tags { key value } } }
  ... on PythonError { message } } }"""


def _expected_checks() -> dict[str, set[str]]:
    from lol_platform.definitions import defs

    checks: dict[str, set[str]] = {}
    for key in defs.resolve_asset_graph().asset_check_keys:
        checks.setdefault(key.asset_key.to_user_string(), set()).add(key.name)
    return checks


def _run_outcome(flow, run_id: str) -> dict:
    """What a finished run did: partitions materialized per asset, check results, failure messages."""
    data = flow.graphql(RUN_EVENTS, {"runId": run_id})["logsForRun"]
    assert data["__typename"] == "EventConnection", data
    outcome = {"materialized": {}, "checks": {}, "failures": []}
    for event in data["events"]:
        kind = event["__typename"]
        if kind == "MaterializationEvent":
            outcome["materialized"].setdefault(event["assetKey"]["path"][-1], set()).add(event["partition"])
        elif kind == "AssetCheckEvaluationEvent":
            ev = event["evaluation"]
            outcome["checks"].setdefault(ev["checkName"], []).append(ev["success"])
        elif kind == "ExecutionStepFailureEvent":
            outcome["failures"].append(f"{event['stepKey']}: {(event['error'] or {}).get('message', '')[:500]}")
        elif kind == "RunFailureEvent":
            outcome["failures"].append(event["message"][:500])
    return outcome


def _runs(flow, **filter_) -> list[dict]:
    data = flow.graphql(RUNS, {"filter": filter_})["runsOrError"]
    assert data["__typename"] == "Runs", data
    return data["results"]


def _automation_spark_runs(flow) -> list[dict]:
    runs = _runs(flow, tags=[{"key": AUTOMATION_TAG, "value": "true"}])
    return [r for r in runs if {a["path"][-1] for a in r["assetSelection"] or []} & set(BATCH)]


def _flow_documents(flow) -> int:
    """Documents in lol_matches_stream from messages produced after the flow started (offsets >= its start)."""
    from lol_platform.resources import ElasticsearchResource

    es = ElasticsearchResource()
    query = {"bool": {"minimum_should_match": 1, "should": [
        {"bool": {"filter": [{"term": {"kafka_partition": p}}, {"range": {"kafka_offset": {"gte": o}}}]}}
        for p, o in flow.start_offsets.items()
    ]}}  # fmt: skip
    return es.client().count(index=es.index, body={"query": query})["count"]


def _wait_raw_landed(flow) -> list[dict]:
    """raw_matches materializations of both of the flow's dates, as kafka_match_sensor reports them."""

    def landed():
        data = flow.graphql(RAW_MATERIALIZATIONS)["assetOrError"]
        events = [e for e in data.get("assetMaterializations") or [] if e["partition"] in flow.dates]
        dates = {e["partition"] for e in events}
        return events if dates == set(flow.dates) else f"raw_matches landed for {sorted(dates)} of {flow.dates}"

    return flow.wait_for(f"raw_matches partitions {flow.dates} landed by kafka_match_sensor", landed, timeout_s=RAW_TIMEOUT_S)


# -- (a) the UI, in a real browser -----------------------------------------------------------------------


@pytest.fixture
def page(dev_flow, screenshots):
    require_chromium()
    with open_page() as page:
        yield page


@contextlib.contextmanager
def _screenshot_on_failure(page, path: Path):
    """What the browser showed when a step failed, next to the other screenshots."""
    try:
        yield
    except BaseException:
        with contextlib.suppress(Exception):
            page.screenshot(path=str(path))
        raise


@pytest.mark.browser
def test_the_ui_shows_every_asset_with_its_checks_and_backfills_a_date_range(dev_flow, page, screenshots):
    flow = dev_flow
    expected_checks = _expected_checks()
    with _screenshot_on_failure(page, screenshots / "failed_ui.png"):
        _ui_checks_and_backfill(flow, page, screenshots, expected_checks)


def _ui_checks_and_backfill(flow, page, screenshots: Path, expected_checks: dict[str, set[str]]) -> None:
    # The asset graph, all groups expanded: every asset, and the checks row on each node.
    page.goto(f"{flow.url}/asset-groups", wait_until="networkidle")
    dismiss_welcome(page)
    _show_asset_graph(page, expected_checks, screenshots / "01_asset_graph.png")

    # A backfill of the batch assets over both dates, launched from the catalog like a user would, once the
    # sensor has landed raw data for both and automation has launched its Spark run of them: the backfill's run
    # then queues behind it in the pool (launched first, it would hold automation's chain back until it ends).
    start, end = flow.dates
    _wait_raw_landed(flow)
    flow.wait_for("automation's first Spark run", lambda: _automation_spark_runs(flow), timeout_s=AUTOMATION_TIMEOUT_S)
    page.goto(f"{flow.url}/assets", wait_until="networkidle")
    for asset in BATCH:
        page.locator("label", has=page.get_by_test_id(f"checkbox-{asset}")).click()
    page.get_by_role("button", name="Materialize selected").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_text(f"Launch runs to materialize {len(BATCH)} assets").wait_for()
    partitions = dialog.get_by_placeholder("No matching partitions")
    partitions.fill(f"[{start}...{end}]")
    partitions.press("Enter")
    dialog.get_by_text("2 partitions", exact=True).wait_for()
    page.screenshot(path=str(screenshots / "02_backfill_dialog.png"))
    dialog.get_by_role("button", name="Launch backfill").click()
    created = page.get_by_text(re.compile(r"Created backfill \w+"))
    created.wait_for()
    backfill_id = re.search(r"Created backfill (\w+)", created.inner_text())[1]
    page.goto(f"{flow.url}/runs/b/{backfill_id}?tab=runs", wait_until="networkidle")
    page.get_by_text(re.compile(rf"{start}\s*(\.\.\.|…)\s*{end}")).first.wait_for()  # the partition selection
    page.screenshot(path=str(screenshots / "03_backfill_launched.png"))

    # The backfill runs to success: one run over both dates (single-run backfill policy), every check passed.
    def backfill_done():
        data = flow.graphql(BACKFILL, {"id": backfill_id})["partitionBackfillOrError"]
        assert data["__typename"] == "PartitionBackfill", data
        if data["status"] in ("FAILED", "CANCELED", "COMPLETED_FAILED", "FAILING", "CANCELING"):
            pytest.fail(f"backfill {backfill_id} {data['status']}: {data}\n{flow.diagnostics()}")
        return data if data["status"] == "COMPLETED_SUCCESS" else f"backfill {data['status']}, runs {data['runs']}"

    backfill = flow.wait_for(f"backfill {backfill_id} to succeed", backfill_done, timeout_s=BACKFILL_TIMEOUT_S)
    assert sorted(backfill["partitionNames"]) == [start, end]
    assert sorted(a["path"][-1] for a in backfill["assetSelection"]) == sorted(BATCH)
    (run,) = backfill["runs"]
    tags = {t["key"]: t["value"] for t in run["tags"]}
    assert run["status"] == "SUCCESS" and tags.get("dagster/from_ui") == "true", run
    assert (tags["dagster/asset_partition_range_start"], tags["dagster/asset_partition_range_end"]) == (start, end)
    outcome = _run_outcome(flow, run["runId"])
    assert {a: outcome["materialized"].get(a) for a in BATCH} == {a: {start, end} for a in BATCH}, outcome
    for asset in BATCH:
        for name in expected_checks[asset]:
            assert outcome["checks"].get(name) and all(outcome["checks"][name]), (name, outcome["checks"])

    page.goto(f"{flow.url}/runs/b/{backfill_id}?tab=runs", wait_until="networkidle")
    page.get_by_text(backfill_id).first.wait_for()
    page.wait_for_timeout(1000)
    page.screenshot(path=str(screenshots / "04_backfill_succeeded.png"))

    # Each asset's checks, by name, on its Checks tab (evaluated by now).
    for asset, names in sorted(expected_checks.items()):
        page.goto(f"{flow.url}/assets/{asset}?view=checks", wait_until="networkidle")
        page.get_by_text(f"Checks ({len(names)})", exact=True).wait_for(state="visible")
        for name in names:  # the list middle-truncates long names; the full name is in the DOM
            page.get_by_text(name, exact=True).first.wait_for(state="attached")
        page.screenshot(path=str(screenshots / f"05_checks_{asset}.png"))

    page.goto(f"{flow.url}/assets", wait_until="networkidle")
    page.wait_for_timeout(1000)
    page.screenshot(path=str(screenshots / "06_catalog.png"))
    page.goto(f"{flow.url}/asset-groups", wait_until="networkidle")
    # Groups stay expanded from the first visit, and a graph laid out expanded is fitted as it is.
    _show_asset_graph(page, expected_checks, screenshots / "07_asset_graph_after_backfill.png", zoom_out=False)


def _show_asset_graph(page, expected_checks: dict[str, set[str]], path: Path, zoom_out: bool = True) -> None:
    """On the lineage page: hide the group tree, expand every group, fit the graph; check it and save it."""
    page.get_by_text("Global asset lineage").first.wait_for()
    if page.get_by_placeholder("Jump to…").is_visible():  # the UI remembers both settings between visits
        page.locator('button:has([aria-label="panel_show_right"])').last.click()
    page.locator('button:has([aria-label="settings"])').last.click()
    expand = page.get_by_role("menuitem", name="Expand all groups")
    page.get_by_role("menuitem", name=re.compile("(Expand|Collapse) all groups")).wait_for()
    if expand.count():
        expand.click()
    page.keyboard.press("Escape")
    for asset in ASSETS:
        page.get_by_text(asset, exact=True).first.wait_for(state="visible")
    page.wait_for_timeout(1000)
    if zoom_out:  # expanding groups keeps the collapsed graph's zoom: one step out makes it all fit
        page.locator('button:has([aria-label="zoom_out"])').click()
    page.wait_for_timeout(1500)
    graph_text = page.locator("body").inner_text()
    assert all(asset in graph_text for asset in ASSETS), graph_text
    assert graph_text.count("Asset checks") >= len(expected_checks), graph_text
    page.screenshot(path=str(path))


# -- (b) automation and the speed layer, with no manual step --------------------------------------------


def test_automation_materializes_landed_partitions_and_the_stream_indexes_them(dev_flow):
    from lol_platform.resources import ElasticsearchResource

    flow = dev_flow
    # The checks a batch run evaluates: the asset's own gates. Freshness and anomaly checks are evaluated
    # by freshness_sensor outside runs (automation does not request them), so no automation run has them.
    runless = {check.name for check in FRESHNESS_CHECKS}
    expected_checks = {asset: names - runless for asset, names in _expected_checks().items()}

    # The speed layer: the flow's own matches (its seed's first match, and offsets past its start) get indexed.
    first_match = MatchGenerator(seed=flow.seed, days=2, late_share=0.05, matches_per_day=PER_DAY).match()["metadata"]["matchId"]
    es = ElasticsearchResource()
    flow.wait_for(
        f"document {first_match}_1 of the flow's first match in {es.index}",
        lambda: es.client().exists(index=es.index, id=f"{first_match}_1"),
        timeout_s=120,
    )
    docs_first = flow.wait_for("the flow's documents in Elasticsearch", lambda: _flow_documents(flow), timeout_s=60)
    docs_first_at = time.monotonic()

    # The batch layer: raw partitions reported by the Kafka sensor (no run: runless events with its metadata).
    raw = _wait_raw_landed(flow)
    for event in raw:
        labels = {m["label"] for m in event["metadataEntries"]}
        assert {"offset_ranges", "batch_rows", "partition_files"} <= labels, event
        assert not event["runId"], f"raw_matches is landed by the sensor, not by a run: {event}"

    # Downstream: runs launched by the automation sensor materialize cleaned_participants, then the stats,
    # with every check of each asset passed. A failed batch automation run fails the test at once, with its
    # error (match_stream_index runs are left out: they fail whenever Elasticsearch restarts).
    outcomes: dict[str, dict] = {}

    def automated():
        for run in _runs(flow, tags=[{"key": AUTOMATION_TAG, "value": "true"}]):
            if run["runId"] in outcomes or run["status"] not in ("SUCCESS", "FAILURE", "CANCELED"):
                continue
            outcome = outcomes[run["runId"]] = _run_outcome(flow, run["runId"])
            assets = {a["path"][-1] for a in run["assetSelection"] or []}
            if run["status"] != "SUCCESS" and assets != {"match_stream_index"}:  # the batch layer's runs
                pytest.fail(f"automation run {run['runId']} ({[a['path'][-1] for a in run['assetSelection'] or []]}) "
                            f"ended {run['status']}: {outcome['failures']}\n{flow.diagnostics()}")  # fmt: skip
        done = {}
        for asset in ("cleaned_participants", "champion_stats"):
            for run_id, outcome in outcomes.items():
                partitions = outcome["materialized"].get(asset, set()) & set(flow.dates)
                results = {name: outcome["checks"].get(name, []) for name in expected_checks[asset]}
                if partitions and all(r and all(r) for r in results.values()):
                    done[asset] = (run_id, sorted(partitions))
        return done if len(done) == 2 else f"so far: {done}; automation runs finished: {len(outcomes)}"

    done = flow.wait_for("cleaned_participants and champion_stats materialized by automation with passing checks",
                         automated, timeout_s=AUTOMATION_TIMEOUT_S, every_s=10)  # fmt: skip
    print(f"automation: {done} after {time.monotonic() - flow.started_at:.0f}s")

    # ...and the stream keeps up: more of the flow's documents than a while ago.
    time.sleep(max(0.0, 20 - (time.monotonic() - docs_first_at)))
    docs_later = _flow_documents(flow)
    assert docs_later > docs_first > 0, (
        f"Elasticsearch documents from the flow did not grow: {docs_first} -> {docs_later}\n{flow.diagnostics()}"
    )


# -- (c) one SIGTERM stops everything --------------------------------------------------------------------


def test_sigterm_stops_the_flow_and_everything_it_started(dev_flow):
    flow = dev_flow
    running = flow.processes()
    commands = "\n".join(running.values())
    for part in ["lol_platform.devtools.dev", "lol-platform produce", "lol-platform stream", "dagster dev",
                 "dagster_webserver", "dagster._daemon", "dagster code-server"]:  # fmt: skip
        assert part in commands, f"{part!r} is not among the flow's processes:\n{commands}"

    returncode, seconds = flow.stop(timeout_s=75)
    assert returncode == 0, f"the launcher did not exit cleanly on SIGTERM (returncode {returncode})\n{flow.diagnostics()}"

    deadline = time.monotonic() + 10
    while (left := flow.processes()) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not left, "still running after the flow stopped:\n" + "\n".join(f"{pid} {cmd[:200]}" for pid, cmd in left.items())
    print(f"stopped in {seconds:.1f}s; {len(flow.seen_processes)} processes of the flow seen, none left")
