"""End to end: a date landed while Dagster is down is processed after restart, with no manual step.

`dagster dev` runs the platform's definitions on a temporary DAGSTER_HOME (the repository's dagster.yaml),
its own lake root under hdfs:///e2e/ and its own Kafka topic and consumer group (a few lines of code
location around lol_platform.definitions, so the shared `lol_matches` topic and group are never touched).
It is started until its sensors have ticked, then stopped. While it is down, matches of one date are
produced to the topic and landed exactly as kafka_match_sensor's tick does (its own functions: poll, land
Parquet in the lake, report the raw_matches materialization to the instance, commit the offsets). Dagster
is started again, and the test only waits (bounded) until the gate, cleaned_participants and both stats
assets have run for that date, with every check passed.
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import requests

from lol_platform.devtools.dev import init_instance
from lol_platform_tests.e2e.conftest import REPO, DevFlow, _free_port

pytestmark = pytest.mark.stack

MATCHES = 40
START_TIMEOUT_S = 180
FIRST_TICKS_TIMEOUT_S = 150
HEAL_TIMEOUT_S = 15 * 60  # gate + two Spark runs (serialized by the pool) on a busy 2-core machine
CHAIN = ("cleaned_participants", "champion_stats", "position_stats")

CODE_LOCATION = '''"""The platform's definitions on this test's own Kafka topic and consumer group."""
import os

from dagster import Definitions

from lol_platform import definitions as _platform
from lol_platform.ingestion.sensor import IngestSettings
from lol_platform.resources import KafkaResource

TOPIC, GROUP = __TOPIC__, __GROUP__
defs = Definitions(
    assets=list(_platform.defs.assets),
    asset_checks=list(_platform.defs.asset_checks),
    sensors=list(_platform.defs.sensors),
    resources={
        **_platform.defs.resources,
        "kafka": KafkaResource(bootstrap_servers=os.environ.get("LOL_KAFKA_BOOTSTRAP", "127.0.0.1:9092"), topic=TOPIC),
        "ingest": IngestSettings(group_id=GROUP),
    },
    executor=_platform.defs.executor,
)
'''


class RestartFlow(DevFlow):
    """`dagster dev` alone (no generator, no stream indexer), started and stopped at will."""

    topic: str = ""
    group: str = ""

    @property
    def code_location(self) -> Path:
        return self.home / "restart_defs.py"

    def start(self) -> None:
        self.code_location.write_text(CODE_LOCATION.replace("__TOPIC__", repr(self.topic)).replace("__GROUP__", repr(self.group)))
        env = {
            **os.environ,
            "LOL_KEEP_STACK": "1",
            "DAGSTER_HOME": str(self.home),
            "LOL_LAKE_ROOT": self.lake_root,
            "LOL_E2E_TOKEN": self.token,
            "PYTHONUNBUFFERED": "1",
        }
        self.log_dir.mkdir(exist_ok=True)
        init_instance(self.home)
        out = open(self.log_dir / "dagster.log", "ab")
        cmd = [str(Path(sys.executable).parent / "dagster"), "dev", "-f", str(self.code_location),
               "-p", str(self.port), "-h", "127.0.0.1"]  # fmt: skip
        self.proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, start_new_session=True)  # fmt: skip
        out.close()
        self.started_at = time.monotonic()

        def server_info():
            return requests.get(f"{self.url}/server_info", timeout=3).status_code == 200

        self.wait_for(f"the webserver on {self.url}", server_info, timeout_s=START_TIMEOUT_S, every_s=2)

    def stop(self, timeout_s: float = 75) -> tuple[int | None, float]:
        """SIGTERM to dagster dev's process group (as `make dev` stops it), SIGKILL what is left."""
        if self.proc is None or self.proc.poll() is not None:
            return (self.proc.returncode if self.proc else None), 0.0
        t0 = time.monotonic()
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        deadline = time.monotonic() + 20
        while self.processes() and time.monotonic() < deadline:  # code servers and run workers end too
            time.sleep(0.5)
        return self.proc.returncode, time.monotonic() - t0


def _instance(flow: RestartFlow):
    from dagster import DagsterInstance

    return DagsterInstance.from_config(str(flow.home))


def _sensors_ticked(flow: RestartFlow, names: set[str]) -> bool:
    with _instance(flow) as instance:
        ticked = {
            state.instigator_name
            for state in instance.all_instigator_state()
            if instance.get_ticks(state.instigator_origin_id, state.selector_id, limit=1)
        }
    return names <= ticked


def _land_while_down(flow: RestartFlow, date: dt.date) -> int:
    """Produce MATCHES matches dated `date` to the flow's topic and land them as kafka_match_sensor's tick
    does, into the (stopped) instance. Returns the storage id of the raw_matches materialization."""
    from dagster import AssetKey

    from lol_platform.devtools.generator import MatchGenerator, encode
    from lol_platform.ingestion.sensor import IngestSettings, _materialization, ingest_tick
    from lol_platform.resources import KafkaResource, LakeResource

    kafka = KafkaResource(bootstrap_servers=os.environ.get("LOL_KAFKA_BOOTSTRAP", "127.0.0.1:9092"), topic=flow.topic)
    producer = kafka.producer()
    generator = MatchGenerator(seed=flow.seed, start_date=date, days=1, late_share=0.0, matches_per_day=MATCHES)
    for match in generator.matches(MATCHES):
        producer.produce(flow.topic, key=match["metadata"]["matchId"].encode(), value=encode(match))
    assert producer.flush(30) == 0, "messages left unsent"

    lake = LakeResource(root=flow.lake_root)
    settings = IngestSettings(group_id=flow.group, max_seconds=15.0)
    offsets, report, poll = ingest_tick({}, kafka, lake, settings)
    assert report is not None, "nothing landed"
    assert {part.date for part in report.partitions.values()} == {date}, report.partitions
    events = [_materialization(lake, part, report, poll) for part in report.partitions.values()]
    kafka.commit(flow.group, offsets)  # the restarted sensor must not land them again
    with _instance(flow) as instance:
        for event in events:
            instance.report_runless_asset_event(event)
        return instance.fetch_materializations(AssetKey("raw_matches"), limit=1).records[0].storage_id


def _processed(flow: RestartFlow, date: str, landed_id: int):
    """Whether the date went through the gate, cleaned_participants and both stats after it landed, with
    every check passed in the runs that did it: those runs' tags, or a string saying what is missing."""
    from dagster import AssetCheckKey, AssetKey, AssetRecordsFilter, DagsterEventType, DagsterRunStatus, RunsFilter

    gate_key = AssetCheckKey(AssetKey("raw_matches"), "raw_matches_contract")
    with _instance(flow) as instance:
        latest, counts = {}, {}
        for name in CHAIN:
            records = instance.fetch_materializations(
                AssetRecordsFilter(asset_key=AssetKey(name), asset_partitions=[date], after_storage_id=landed_id), limit=10
            ).records
            counts[name] = len(records)
            if not records:
                failed = [r.dagster_run.run_id[:8] for r in instance.get_run_records(RunsFilter(statuses=[DagsterRunStatus.FAILURE]))]
                return f"{name} not materialized for {date} since it landed (failed runs so far: {failed})"
            latest[name] = records[0]
        if any(latest[n].storage_id < latest["cleaned_participants"].storage_id for n in CHAIN[1:]):
            return "stats not yet recomputed from the latest cleaned_participants"
        run_ids = {r.run_id for r in latest.values()}
        evaluations: dict[tuple[str, str], list[bool]] = {}
        for run_id in run_ids:
            for entry in instance.all_logs(run_id, of_type=DagsterEventType.ASSET_CHECK_EVALUATION):
                ev = entry.dagster_event.event_specific_data
                evaluations.setdefault((ev.asset_key.to_user_string(), ev.check_name), []).append(ev.passed)
        gate = next(iter(instance.event_log_storage.get_asset_check_partition_info([gate_key], partition_keys=[date])), None)
        gate_passed = gate is not None and gate.latest_execution_status.value == "SUCCEEDED" and gate.is_current
        if not (gate_passed or all(evaluations.get(("raw_matches", gate_key.name), [False]))):
            return f"the raw gate has not passed on {date}'s landing yet"
        expected = {(k.asset_key.to_user_string(), k.name) for n in CHAIN for k in _check_keys(n)}
        if not expected <= set(evaluations):
            return f"checks not evaluated in those runs yet: {sorted(expected - set(evaluations))}"
        failed = sorted(f"{a}:{c}" for (a, c), results in evaluations.items() if not all(results))
        assert not failed, f"checks failed on {date}: {failed}"
        runs = {r.dagster_run.run_id: dict(r.dagster_run.tags) for r in instance.get_run_records(RunsFilter(run_ids=sorted(run_ids)))}
        return {"materializations": counts, "runs": runs}


def _check_keys(asset_name: str):
    from dagster import AssetKey

    from lol_platform.definitions import defs

    return defs.resolve_assets_def(AssetKey(asset_name)).check_keys


@pytest.fixture
def restart_flow(service_stack, tmp_path_factory):
    from lol_platform.resources import KafkaResource, LakeResource

    unique = uuid.uuid4().hex[:10]
    home = tmp_path_factory.mktemp("dagster_home_restart")
    shutil.copyfile(REPO / "dagster.yaml", home / "dagster.yaml")
    flow = RestartFlow(
        home=home,
        port=_free_port(),
        seed=1 + secrets.randbelow(4095),
        lake_root=f"hdfs://127.0.0.1:8020/e2e/{unique}",
        token=unique,
        dates=("", ""),
        start_offsets={},
    )
    flow.topic, flow.group = f"lol_e2e_restart_{unique}", f"lol-e2e-restart-{unique}"
    kafka = KafkaResource(bootstrap_servers=os.environ.get("LOL_KAFKA_BOOTSTRAP", "127.0.0.1:9092"), topic=flow.topic)
    kafka.ensure_topic(partitions=2)
    try:
        yield flow
    finally:
        # The test is over (its clean stop is asserted in the test): a run the restart launched may still be
        # finishing, and waiting out dagster dev's SIGTERM for it cost CI 75 s of teardown.
        flow.stop(timeout_s=15)
        left = flow.kill_leftovers()
        logs = REPO / "test-artifacts" / "restart-logs"
        shutil.rmtree(logs, ignore_errors=True)
        if flow.log_dir.exists():
            shutil.copytree(flow.log_dir, logs)
        try:
            LakeResource(root=flow.lake_root).delete_dir("")
        except Exception as exc:  # noqa: BLE001 - clean-up must not mask the test's result
            print(f"could not remove {flow.lake_root}: {exc}")
        try:
            admin = kafka.admin()
            admin.delete_topics([flow.topic])[flow.topic].result(timeout=30)
        except Exception as exc:  # noqa: BLE001
            print(f"could not delete topic {flow.topic}: {exc}")
        if left:
            print(f"killed leftover processes: {left}")


def test_a_date_landed_while_dagster_is_down_is_processed_after_restart(restart_flow):
    flow = restart_flow
    # A date of last year, unique to this run of the test: Cassandra is shared and a run replaces its dates.
    date = dt.date(2025, 2, 1) + dt.timedelta(days=secrets.randbelow(300))

    flow.start()
    flow.wait_for("the sensors' first ticks", lambda: _sensors_ticked(flow, {"kafka_match_sensor", "lol_automation_sensor", "healing_sensor"}),
                  timeout_s=FIRST_TICKS_TIMEOUT_S, every_s=5)  # fmt: skip
    returncode, took = flow.stop()
    assert not flow.processes(), f"Dagster left processes running: {flow.processes()}"

    landed_id = _land_while_down(flow, date)

    flow.start()  # nothing else: no run launched, no backfill, no sensor toggled
    t0 = time.monotonic()
    outcome = flow.wait_for(f"{date} gated, cleaned and aggregated after the restart",
                            lambda: _processed(flow, date.isoformat(), landed_id), timeout_s=HEAL_TIMEOUT_S, every_s=10)  # fmt: skip
    print(f"{date} processed {time.monotonic() - t0:.0f}s after the restart: {outcome}")
    # Launched by automation (runs or its backfills) or by the healing sensor: nothing by hand.
    assert all(
        "dagster/from_automation_condition" in tags or "lol_platform/healing" in tags or "dagster/backfill" in tags
        for tags in outcome["runs"].values()
    ), outcome
    # Once each: the landing was not lost, and not processed twice either.
    assert outcome["materializations"] == {name: 1 for name in CHAIN}, outcome
