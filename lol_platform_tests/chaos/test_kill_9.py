"""Fault injection on the real stack (issue 10): kill -9 of every part mid-flow, then nothing lost, doubled or
half-published.

A seeded stream of matches (three dates, three waves, a few invalid messages) flows through the whole
platform: `dagster dev` (sensors, automation, the healing sensor, run retries, the Spark pool) and the live
stream indexer, both under `make dev`'s supervisor, on the suite's own stack (chaos/conftest.py). While it flows,
the suite kills with SIGKILL, at the fault points the code exposes (lol_core/faults.py) and at a random moment:

1. Kafka while a sensor tick has written its files but its cursor is not stored yet, and while a stream batch
   is acknowledged by Elasticsearch but its offsets are not committed (one kill, both held there);
2. a manual backfill of the same dates, launched as the UI does while automation's run of them is queued or
   running: the Spark pool must keep them apart;
3. Elasticsearch in the middle of a stream bulk request (wave 2), while automation's run holds after
   publishing participants and before the date's index;
4. then together, between two landing ticks: the code server that launched that run (so nothing reports its
   worker's death), the run worker, and the Dagster daemon (`dagster dev` exits with it; the supervisor
   restarts it). The run is left STARTED: the healing sensor must fail it, run retries take it from there;
   and the DataNode during the raw write of wave 2 (while no Spark run does I/O);
5. a landing evaluation held past Dagster's sensor timeout (60 s) with wave 3 waiting: the next evaluation
   must skip on the landing lease, and the late one's landing must be neither lost nor doubled;
6. the NameNode inside a Spark overwrite (a live date moved aside, the staged one not yet in);
7. Cassandra in the middle of a Spark publish;
8. the code server's proxy (`dagster code-server start`) at a random moment (seeded: LOL_CHAOS_SEED).

Each killed service is restarted (as a service manager would), the Dagster processes by the supervisor; then
the platform is left alone until it settles. Then, for every date: the valid matches re-read from Kafka = raw
rows = cleaned rows = Cassandra rows = Elasticsearch documents; Σ games_played = participants in both stats
tables; no temp, staging or lease leftovers in the lake; no run left in flight; the sensor cursor = the batch
group's offsets = the topic's end; the stream group's offsets = the topic's end. A reader polling Cassandra
through matches_by_date during all of it must never see a date that is not a complete published set
(support.judge_reads). The figures go to bench/chaos.json.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import shutil
import threading
import time
import uuid

import pytest

from lol_core.lake_paths import CHAMPION_STATS, CLEANED_PARTICIPANTS, POSITION_STATS, raw_partition_dir
from lol_platform.ingestion.sensor import decode_cursor
from lol_platform_tests.chaos.support import (
    BATCH_ASSETS,
    REPO,
    CassandraReader,
    ChaosFlow,
    FaultPoints,
    StackFaults,
    cassandra_keys,
    es_keys,
    judge_reads,
    kafka_valid_matches,
    kill_process,
    lake_keys,
    lake_leftovers,
    lake_sum,
    load_average,
    lost_and_doubled,
    machine,
)
from lol_platform_tests.e2e.conftest import _free_port

pytestmark = pytest.mark.chaos  # on its own stack (chaos/conftest.py), never the session one

DATES = 3
FAULTS = ("kafka", "manual_backfill", "elasticsearch", "datanode", "code_server", "run_worker", "dagster_daemon",
          "slowed_sensor_evaluation", "namenode", "cassandra", "code_server_proxy")  # fmt: skip
WAVES = (12, 6, 3)  # valid matches per date in each wave
INVALID_PER_WAVE = 2
SETTLE_TIMEOUT_S = 12 * 60
BENCH_FILE = REPO / "bench" / "chaos.json"

BACKFILL = """mutation($params: LaunchBackfillParams!) { launchPartitionBackfill(backfillParams: $params) {
  __typename ... on LaunchBackfillSuccess { backfillId } ... on Error { message } } }"""


# -- the seeded stream ----------------------------------------------------------------------------------


def _door_accepts(value: bytes) -> bool:
    from lol_core.door import ContractViolation, parse_match
    from lol_platform.partitions import date_window

    try:
        parse_match(value, date_window())
    except ContractViolation:
        return False
    return True


def _waves(seed: int, dates: list[dt.date]) -> list[list[tuple[bytes, bytes | None]]]:
    """(key, value) messages per wave: each wave holds matches of every date, in a seeded order, and a few
    messages the door must quarantine."""
    from lol_platform.devtools.generator import MatchGenerator, encode
    from lol_platform_tests.support.matches import malformed_messages

    rng = random.Random(seed)
    per_date = sum(WAVES)
    generator = MatchGenerator(seed=seed % 4096, start_date=dates[0], days=len(dates), late_share=0.0, matches_per_day=per_date)
    by_date: dict[dt.date, list[dict]] = {}
    for match in generator.matches(per_date * len(dates)):
        day = dt.datetime.fromtimestamp(match["info"]["gameCreation"] / 1000, tz=dt.timezone.utc).date()
        by_date.setdefault(day, []).append(match)
    assert sorted(by_date) == dates and all(len(m) == per_date for m in by_date.values()), {d: len(m) for d, m in by_date.items()}
    bad = list(malformed_messages(next(iter(by_date.values()))[0]).items())
    bad = [(name, value) for name, (value, _) in bad if value is not None and len(value) < 100_000]
    # A "bad" message the door accepts is a second copy of the base match: raw would hold it twice, rightly.
    accepted = [name for name, value in bad if _door_accepts(value)]
    assert not accepted, f"messages meant to be quarantined pass the door on this seed's base match: {accepted}"
    waves, taken = [], 0
    for size in WAVES:
        wave = [(m["metadata"]["matchId"].encode(), encode(m)) for day in dates for m in by_date[day][taken : taken + size]]
        wave += [(f"bad-{name}".encode()[:60], value) for name, value in rng.sample(bad, INVALID_PER_WAVE)]
        rng.shuffle(wave)
        waves.append(wave)
        taken += size
    return waves


def _produce(kafka, messages) -> None:
    producer = kafka.producer()
    for key, value in messages:
        producer.produce(kafka.topic, key=key, value=value)
    assert producer.flush(60) == 0, "messages left unsent"


# -- what Dagster says --------------------------------------------------------------------------------------


def _raw_landed(flow: ChaosFlow, dates: list[dt.date], after_id: int = 0):
    from dagster import AssetKey, AssetRecordsFilter

    with flow.instance() as instance:
        records = instance.fetch_materializations(
            AssetRecordsFilter(asset_key=AssetKey("raw_matches"), asset_partitions=[d.isoformat() for d in dates], after_storage_id=after_id),
            limit=1000,
        ).records
    landed = {r.partition_key for r in records}
    return max(r.storage_id for r in records) if landed == {d.isoformat() for d in dates} else f"landed {sorted(landed)}"


def _launch_backfill(flow: ChaosFlow, dates: list[dt.date]) -> str:
    """The dates' Spark chain as one backfill, launched as the UI's Materialize button does."""
    params = {
        "partitionNames": [d.isoformat() for d in dates],
        "assetSelection": [{"path": [name]} for name in BATCH_ASSETS],
        "tags": [{"key": "lol_platform/chaos", "value": "manual backfill"}],
    }
    result = flow.graphql(BACKFILL, {"params": params})["launchPartitionBackfill"]
    assert result["__typename"] == "LaunchBackfillSuccess", result
    return result["backfillId"]


def _automation_spark_run(flow: ChaosFlow) -> str | None:
    """A Spark run that automation launched and that is queued or running."""
    from lol_platform.batch.healing import FLIGHT_STATUSES

    for record in _spark_runs(flow):
        run = record.dagster_run
        if run.status in FLIGHT_STATUSES and run.tags.get("dagster/from_automation_condition") == "true":
            return run.run_id
    return None


def _run_of_worker(flow: ChaosFlow, pid: int) -> str | None:
    """The run whose worker logged this pid."""
    from dagster import DagsterEventType, DagsterRunStatus, RunsFilter

    from lol_platform.batch.healing import _PID

    with flow.instance() as instance:
        for record in instance.get_run_records(RunsFilter(statuses=[DagsterRunStatus.STARTED])):
            for event in instance.all_logs(record.dagster_run.run_id, of_type=DagsterEventType.ENGINE_EVENT):
                if (m := _PID.search(event.message or "")) and int(m.group(1)) == pid:
                    return record.dagster_run.run_id
    return None


def _failure_message(flow: ChaosFlow, run_id: str) -> str:
    from dagster import DagsterEventType

    with flow.instance() as instance:
        failures = instance.all_logs(run_id, of_type=DagsterEventType.RUN_FAILURE)
    return failures[-1].message[:200] if failures else ""


def _run_status(flow: ChaosFlow, run_id: str) -> str:
    with flow.instance() as instance:
        run = instance.get_run_by_id(run_id)
        return run.status.value if run else "missing"


def _sensor_ticks(flow: ChaosFlow, name: str, limit: int = 50) -> list:
    with flow.instance() as instance:
        state = next((s for s in instance.all_instigator_state() if s.instigator_name == name), None)
        return [] if state is None else list(instance.get_ticks(state.instigator_origin_id, state.selector_id, limit=limit))


def _sensor_cursor(flow: ChaosFlow, name: str) -> str | None:
    with flow.instance() as instance:
        state = next((s for s in instance.all_instigator_state() if s.instigator_name == name), None)
        return state.instigator_data.cursor if state is not None and state.instigator_data is not None else None


def _between_ticks(flow: ChaosFlow) -> bool:
    """The landing sensor's latest tick has just ended: a kill of Dagster now cuts no evaluation that holds the
    landing lease (one that did would block landing until the lease expires, 180 s)."""
    ticks = _sensor_ticks(flow, "kafka_match_sensor", limit=1)
    if not ticks or ticks[0].status.value == "STARTED" or ticks[0].end_timestamp is None:
        return False
    return time.time() - ticks[0].end_timestamp < 15




def _in_flight(flow: ChaosFlow) -> list[str]:
    from dagster import RunsFilter
    from dagster._core.execution.backfill import BulkActionsFilter

    from lol_platform.batch.healing import ACTIVE_BACKFILL, FLIGHT_STATUSES

    with flow.instance() as instance:
        runs = [f"{r.dagster_run.run_id[:8]}:{r.dagster_run.status.value}" for r in instance.get_run_records(RunsFilter(statuses=FLIGHT_STATUSES))]
        backfills = [f"backfill {b.backfill_id}:{b.status.value}" for b in instance.get_backfills(filters=BulkActionsFilter(statuses=ACTIVE_BACKFILL))]
    return runs + backfills


def _settled(flow: ChaosFlow, kafka, dates: list[dt.date], ends: dict[int, int]):
    """True once the platform has nothing left to do: everything landed and indexed, no run in flight, every
    date's chain and gate up to date with its latest landing. Otherwise what is still going on."""
    from lol_platform.batch.healing import GATE, gather, stage_needed
    from lol_platform.ingestion.automation import gate_due_partitions
    from lol_platform.ingestion.sensor import decode_cursor

    cursor = decode_cursor(_sensor_cursor(flow, "kafka_match_sensor"))
    if cursor != ends:
        return f"sensor cursor {cursor} short of the topic's end {ends}"
    group = kafka.committed_offsets(flow.group)
    if group != cursor:
        return f"batch group at {group}, behind the cursor {cursor} (it mirrors the stored cursor on the next tick)"
    stream = kafka.committed_offsets(flow.stream_group)
    if stream != ends:
        return f"stream group at {stream}, topic end {ends}"
    flying = _in_flight(flow)
    if flying:
        return f"in flight: {flying}"
    with flow.instance() as instance:
        states = {s.date: s for s in gather(instance, time.time())}
        due = gate_due_partitions(instance, GATE)
    for day in dates:
        state = states.get(day.isoformat())
        if state is None:
            return f"{day} has no landing"
        if (need := stage_needed(state)) is not None:
            return f"{day} needs {need.value} (failed={state.failed}, held={state.held})"
        if day.isoformat() in due:
            return f"{day}: the raw gate has not judged its latest landing"
    return True


def _running_spark_run(flow: ChaosFlow) -> str | None:
    """The Spark run in progress (the pool allows one)."""
    from dagster import DagsterRunStatus

    started = [r for r in _spark_runs(flow) if r.dagster_run.status == DagsterRunStatus.STARTED]
    return started[0].dagster_run.run_id if len(started) == 1 else None


def _tick_during(flow: ChaosFlow, at: float) -> str:
    """How the landing sensor's tick that was running at `at` ended."""
    for tick in _sensor_ticks(flow, "kafka_match_sensor", limit=100):
        if tick.timestamp <= at <= (tick.end_timestamp or time.time()):
            error = tick.error
            while error is not None and error.cause is not None:  # the root cause, not Dagster's wrappers
                error = error.cause
            text = (error.message.strip().splitlines() or [""])[0][:200] if error else (tick.skip_reason or "")[:100]
            return f"{tick.status.value} after {(tick.end_timestamp or tick.timestamp) - tick.timestamp:.1f}s{': ' + text if text else ''}"
    return "no tick found"


def _spark_runs(flow: ChaosFlow) -> list:
    from dagster import AssetKey, RunsFilter

    spark = {AssetKey(n) for n in BATCH_ASSETS}
    with flow.instance() as instance:
        records = instance.get_run_records(RunsFilter(), limit=500)
    return [r for r in records if set(r.dagster_run.asset_selection or ()) & spark]


# -- the test ------------------------------------------------------------------------------------------------


@pytest.fixture
def chaos(chaos_stack, tmp_path_factory):
    from lol_platform.resources import CassandraResource, ElasticsearchResource, KafkaResource, LakeResource

    seed = int(os.environ.get("LOL_CHAOS_SEED", int(time.time()) % 100_000))
    rng = random.Random(seed)
    unique = uuid.uuid4().hex[:10]
    # Three dates of January 2025, which no other test writes; Cassandra is shared, so they are cleared first.
    first = dt.date(2025, 1, 2) + dt.timedelta(days=rng.randrange(0, 27))
    dates = [first + dt.timedelta(days=i) for i in range(DATES)]
    home = tmp_path_factory.mktemp("dagster_home_chaos")
    shutil.copyfile(REPO / "dagster.yaml", home / "dagster.yaml")
    # The flow and the suite talk to the suite's own stack (chaos/conftest.py).
    c = chaos_stack.config
    endpoints = {
        "LOL_KAFKA_BOOTSTRAP": f"{c.host}:{c.kafka_port}",
        "LOL_CASSANDRA_HOSTS": c.host,
        "LOL_CASSANDRA_PORT": str(c.cassandra_port),
        "LOL_ES_URL": f"http://{c.host}:{c.elasticsearch_port}",
        "LOL_WEBHDFS_PORT": str(c.namenode_http_port),
    }
    flow = ChaosFlow(
        home=home, port=_free_port(), seed=seed, lake_root=f"hdfs://{c.host}:{c.namenode_rpc_port}/chaos/{unique}", token=unique,
        dates=(dates[0].isoformat(), dates[-1].isoformat()), start_offsets={},
        topic=f"lol_chaos_{unique}", group=f"lol-chaos-batch-{unique}", stream_group=f"lol-chaos-stream-{unique}",
        index=f"lol_matches_stream_chaos_{unique}",
        extra_env={
            **endpoints,
            "LOL_SPARK_MASTER": "local[2]",
            "LOL_SPARK_SHUFFLE_PARTITIONS": "2",  # tens of matches a date: fewer, busier tasks
            "LOL_HEALING_GRACE_S": "30",  # automation and run retries still act first (they do within seconds)
            "LOL_HEALING_WORKER_GRACE_S": "20",  # a dead worker is found on the healing sensor's next tick
        },
    )  # fmt: skip
    kafka = KafkaResource(bootstrap_servers=endpoints["LOL_KAFKA_BOOTSTRAP"], topic=flow.topic)
    kafka.ensure_topic(partitions=1)  # one partition: the topic's order is the order every store lands in
    es = ElasticsearchResource(url=endpoints["LOL_ES_URL"], index=flow.index)
    es.ensure_index()
    cassandra = CassandraResource(hosts=c.host, port=c.cassandra_port)
    for day in dates:  # what an earlier run of this suite on the same dates left
        cassandra.remove_matches_except(day, set(), time.time_ns() // 1000)
        for table in ("champion_stats", "position_stats"):
            cassandra.delete_stat_dates(table, [day], time.time_ns() // 1000)
        cassandra.session().execute("DELETE FROM lol_data.date_summary WHERE match_date = %s", [day])
    lake = LakeResource(root=flow.lake_root, webhdfs_port=c.namenode_http_port)
    stack = StackFaults(chaos_stack, log=lambda line: print(f"[chaos {time.strftime('%H:%M:%S')}] {line}", flush=True))
    try:
        yield {"flow": flow, "kafka": kafka, "es": es, "cassandra": cassandra, "lake": lake, "stack": stack, "dates": dates,
               "seed": seed, "rng": rng}  # fmt: skip
    finally:
        flow.stop()
        left = flow.kill_leftovers()
        stack.wait_restarted(timeout_s=300)
        stack.ensure_up()  # a kept stack (LOL_KEEP_STACK=1) is left whole for the next run
        logs = REPO / "test-artifacts" / "chaos-logs"
        shutil.rmtree(logs, ignore_errors=True)
        if flow.log_dir.exists():
            shutil.copytree(flow.log_dir, logs)
        admin = kafka.admin()  # kept referenced until the deletion's result is in
        for cleanup in (lambda: lake.delete_dir(""), lambda: es.client().indices.delete(index=flow.index, ignore=[404]),
                        lambda: admin.delete_topics([flow.topic])[flow.topic].result(timeout=30), cassandra.close):  # fmt: skip
            try:
                cleanup()
            except Exception as exc:  # noqa: BLE001 - clean-up must not mask the test's result
                print(f"clean-up: {exc}")
        assert not left, f"processes of the flow outlived it: {left}"


def test_kill_9_of_every_part_mid_flow_loses_doubles_and_tears_nothing(chaos):
    t0 = time.monotonic()
    flow, kafka, es, lake, stack, dates, rng = (chaos[k] for k in ("flow", "kafka", "es", "lake", "stack", "dates", "rng"))
    points = FaultPoints(flow.fault_dir)
    faults: list[dict] = []
    lock = threading.Lock()

    def log(line: str) -> None:
        print(f"[chaos {time.monotonic() - t0:6.1f}s] {line}", flush=True)

    stack.log = log

    def injected(fault: str, how: str, **detail) -> None:
        with lock:
            faults.append({"fault": fault, "how": how, "at_s": round(time.monotonic() - t0, 1), **detail})
        log(f"FAULT {fault}: {how} {detail or ''}")

    waves = _waves(chaos["seed"], dates)
    log(f"seed {chaos['seed']}, dates {[str(d) for d in dates]}, waves {[len(w) for w in waves]} messages, lake {flow.lake_root}")

    with CassandraReader(dates, chaos["cassandra"].hosts, chaos["cassandra"].port) as reader:
        flow.start()

        # Automation sees a landing as an update of raw_matches only from its second evaluation on: a landing
        # before its first (a new instance) is left to the healing sensor. Wave 1 comes after it.
        flow.wait_for("the first evaluations of automation and of the landing sensor",
                      lambda: all(_sensor_ticks(flow, name, limit=1) for name in ("lol_automation_sensor", "kafka_match_sensor")),
                      timeout_s=240)  # fmt: skip

        # 1. Kafka during a tick and during a stream batch: wave 1 is landed and indexed, nothing committed yet.
        points.arm("ingest.landed")
        points.arm("stream.indexed")
        _produce(kafka, waves[0])
        held = points.wait(["ingest.landed", "stream.indexed"], timeout_s=120, flow=flow)
        assert len(held) == 2, f"not held: {set(['ingest.landed', 'stream.indexed']) - set(held)}\n{flow.diagnostics()}"
        stack.kill("kafka")
        points.release("ingest.landed")
        points.release("stream.indexed")
        stack.restart_later("kafka")
        injected("kafka", "SIGKILL while a sensor tick held its landed files (its cursor not stored yet) and a stream "
                 "batch was acknowledged by Elasticsearch (offsets not committed)", tick_at=held["ingest.landed"]["at"])  # fmt: skip

        # 2. The run worker mid-run, with a manual backfill of the same dates overlapping automation's run.
        points.arm("cassandra.rows_written", hold_s=900)
        flow.wait_for("wave 1 landed on every date", lambda: _raw_landed(flow, dates), timeout_s=300)
        automation_run = flow.wait_for("automation's Spark run of wave 1", lambda: [r] if (r := _automation_spark_run(flow)) else None,
                                       timeout_s=300)[0]  # (wait_for takes a string for "not yet")
        backfill_id = _launch_backfill(flow, dates)
        injected("manual_backfill", "the dates' Spark chain launched as a backfill (as the UI does) while automation's run of "
                 "the same dates is queued or running", backfill=backfill_id, over=automation_run[:8])  # fmt: skip
        worker = points.wait(["cassandra.rows_written"], timeout_s=420, flow=flow).get("cassandra.rows_written")
        assert worker, f"no run reached its publish\n{flow.diagnostics()}"
        dead_run = _run_of_worker(flow, worker["pid"])
        assert dead_run, f"no STARTED run logged worker pid {worker['pid']}"
        log(f"run {dead_run} (worker pid {worker['pid']}) holds after publishing participants, before the index")

        # 3. While that run holds: Elasticsearch in the middle of a bulk request of wave 2's stream batch.
        points.arm("stream.mid_bulk")
        points.arm("lake.raw_write")  # wave 2's landing: the DataNode (4.)
        _produce(kafka, waves[1])
        held = points.wait(["stream.mid_bulk"], timeout_s=60, flow=flow)
        assert held, f"the stream never reached the middle of a bulk request\n{flow.diagnostics()}"
        stack.kill("elasticsearch")
        points.release("stream.mid_bulk")
        stack.restart_later("elasticsearch")
        injected("elasticsearch", "SIGKILL in the middle of a stream bulk request (half of the batch's documents sent)")

        def datanode_fault() -> None:  # whenever a tick reaches a raw write of wave 2 (never left holding)
            held = points.wait(["lake.raw_write"], timeout_s=300, flow=flow).get("lake.raw_write")
            if held is None:
                log("no tick reached a raw write of wave 2: the DataNode fault was not injected")
                return
            stack.kill("datanode")
            points.release("lake.raw_write")
            stack.restart_later("datanode")
            injected("datanode", "SIGKILL during a raw write of a sensor tick (wave 2), no Spark run doing I/O", tick_at=held["at"])

        datanode = threading.Thread(target=datanode_fault, name="datanode-fault", daemon=True)
        datanode.start()

        # 4. Between two landing ticks (no evaluation holds the landing lease): the code server that launched the
        #    held run (so nothing reports its worker's death), the run worker, and the Dagster daemon (dagster dev
        #    exits with it; the supervisor starts it again). The run is left STARTED: the healing sensor must find
        #    its worker gone and fail it, and run retries take it from there. Meanwhile no Spark run holds the
        #    pool: the first tick of the restarted daemon lands wave 2, and the DataNode dies under it.
        flow.wait_for("a moment between two landing ticks", lambda: _between_ticks(flow), timeout_s=90, every_s=1)
        code_servers = flow.find("dagster api grpc ")
        daemons = flow.find("dagster._daemon run")
        assert code_servers and daemons, f"no code server or daemon: {flow.processes()}"
        for pid in code_servers:
            kill_process(pid)
        injected("code_server", f"SIGKILL of the code server `dagster api grpc` (pid {code_servers}) that runs the sensors and "
                 "launched the held run's worker")  # fmt: skip
        kill_process(worker["pid"])
        injected("run_worker", "SIGKILL of the run worker after it published participants, before the date's index",
                 run=dead_run)  # fmt: skip
        for pid in daemons:
            kill_process(pid)
        injected("dagster_daemon", f"SIGKILL of `dagster-daemon run` (pid {daemons}); dagster dev exits, the supervisor restarts it")
        datanode.join(300)
        slowed = threading.Thread(target=_slowed_evaluation, args=(flow, kafka, waves[2], points, stack, injected, log), daemon=True)
        slowed.start()  # 5. (wave 3, once waves 1-2 are published)
        flow.wait_for(f"run {dead_run} failed (its worker is gone)", lambda: _run_status(flow, dead_run) in ("FAILURE", "CANCELED"),
                      timeout_s=300)  # fmt: skip
        log(f"run {dead_run} is {_run_status(flow, dead_run)}: {_failure_message(flow, dead_run)}")

        # 5-8 run side by side: the slowed evaluation (wave 3, started above), the code server at a random moment,
        # and the NameNode and Cassandra inside the Spark runs that now take the pool.
        points.arm("lake.swap")
        code_server_at = rng.uniform(30, 150)
        killer = threading.Thread(target=_kill_code_server_at, args=(flow, code_server_at, points, injected, log), daemon=True)
        killer.start()

        held = points.wait(["lake.swap"], timeout_s=420, flow=flow)
        assert held, f"no Spark commit reached its swap\n{flow.diagnostics()}"
        swap_run = _running_spark_run(flow)
        stack.kill("namenode")
        points.release("lake.swap")
        stack.restart_later("namenode").join(240)
        injected("namenode", "SIGKILL inside a Spark overwrite: a live date moved aside, the staged one not yet in", run=swap_run)
        points.arm("cassandra.mid_publish")
        held = points.wait(["cassandra.mid_publish"], timeout_s=420, flow=flow)
        assert held, f"no Spark task reached the middle of a publish\n{flow.diagnostics()}"
        publish_run = _running_spark_run(flow)
        stack.kill("cassandra")
        points.release("cassandra.mid_publish")
        stack.restart_later("cassandra")
        injected("cassandra", "SIGKILL while a Spark task was publishing (its first Cassandra partition written)", run=publish_run)

        slowed.join(420)
        killer.join(300)
        failed = stack.wait_restarted()
        assert not failed, f"services that did not come back: {failed}"

        # Settle: no manual step, only waiting.
        ends = kafka_valid_matches(kafka)[2]
        settle_t0 = time.monotonic()
        outcome = flow.wait_for("the platform to settle", lambda: _settled(flow, kafka, dates, ends), timeout_s=SETTLE_TIMEOUT_S, every_s=5)
        log(f"settled {time.monotonic() - settle_t0:.0f}s after the last fault: {outcome}")
        time.sleep(2)  # a last round of reads of the settled dates
    assert reader.error is None, f"the reader failed: {reader.error!r}"

    # -- read every store back ------------------------------------------------------------------------------
    order, expected, ends, rejected = kafka_valid_matches(kafka)
    session = chaos["cassandra"].session()
    stores = {s: {"rows": 0, "lost": 0, "doubled": 0} for s in ("raw", "cleaned", "cassandra", "elasticsearch")}
    per_date, games = {}, {}
    for day in dates:
        want = expected.get(day, set())
        matches = {m for m, _ in want}
        reachable, orphans = cassandra_keys(session, day, matches)
        found = {
            "raw": lake_keys(lake, raw_partition_dir(day)),
            "cleaned": lake_keys(lake, f"{CLEANED_PARTICIPANTS.path}/match_date={day.isoformat()}"),
            "cassandra": reachable,
            "elasticsearch": es_keys(es, day),
        }
        per_date[str(day)] = {"expected": len(want), **{s: len(keys) for s, keys in found.items()}, "cassandra_unindexed_rows": len(orphans)}
        for store, keys in found.items():
            lost, doubled = lost_and_doubled(want, keys)
            stores[store]["rows"] += len(keys)
            stores[store]["lost"] += lost
            stores[store]["doubled"] += doubled
        for table in (CHAMPION_STATS, POSITION_STATS):
            name = table.path.split("/")[-1].removeprefix("lol_")  # data/lol_champion_stats -> champion_stats
            in_cassandra = sum(r.games_played for r in session.execute(f"SELECT games_played FROM lol_data.{name} WHERE stat_date = %s", [day]))
            in_lake = lake_sum(lake, f"{table.path}/stat_date={day.isoformat()}", "games_played")
            games[f"{day} {name}"] = {"participants": len(want), "cassandra": in_cassandra, "lake": in_lake}
    partial = judge_reads(reader.observations, order)
    leftovers = lake_leftovers(lake)
    if any(name.endswith(".lease") for name in leftovers):  # a tick may hold it right now: look again
        time.sleep(3)
        leftovers = lake_leftovers(lake)
    cursor = _sensor_cursor(flow, "kafka_match_sensor")
    batch_group, stream_group = kafka.committed_offsets(flow.group), kafka.committed_offsets(flow.stream_group)
    spark_runs = _spark_runs(flow)
    in_flight = _in_flight(flow)
    for fault in faults:  # what each fault led to, now that it is over
        if "tick_at" in fault:
            fault["tick"] = _tick_during(flow, fault.pop("tick_at"))
        if fault.get("run"):
            fault["run_status"] = _run_status(flow, fault["run"])
            if fault["run_status"] == "FAILURE":
                fault["run_failure"] = _failure_message(flow, fault["run"])
            fault["run"] = fault["run"][:8]
    seconds = round(time.monotonic() - t0, 1)

    figures = {
        "faults_injected": len(faults),
        "rows_lost": sum(s["lost"] for s in stores.values()),
        "rows_doubled": sum(s["doubled"] for s in stores.values()),
        "partial_reads_seen": len(partial),
        "seconds": seconds,
        "machine": machine(),
        "load_average_at_end": load_average(),
        "measured_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "seed": chaos["seed"],
        "dates": [str(d) for d in dates],
        "valid_matches": sum(len({m for m, _ in k}) for k in expected.values()),
        "participant_rows": sum(len(k) for k in expected.values()),
        "invalid_messages": rejected,
        "faults": faults,
        "stores": stores,
        "per_date": per_date,
        "games_played": games,
        "reads": {"answers": reader.reads, "distinct_answers": len(reader.observations), "failed_during_outages": reader.failed_reads,
                  "matches_seen_per_date": _answers_per_date(reader.observations), "partial": partial[:20]},  # fmt: skip
        "services_down_s": stack.down_s,
        "dagster_restarts": flow.restarts(),
        "spark_runs": [{"run": r.dagster_run.run_id[:8], "status": r.dagster_run.status.value,
                        "tags": {k: v for k, v in r.dagster_run.tags.items() if k.startswith(("dagster/backfill", "dagster/from_automation", "lol_platform/", "dagster/parent_run_id"))},
                        "seconds": round((r.end_time or 0) - (r.start_time or 0), 1) if r.start_time else None}
                       for r in sorted(spark_runs, key=lambda r: r.create_timestamp)],  # fmt: skip
    }
    BENCH_FILE.write_text(json.dumps(figures, indent=2) + "\n")
    log(f"figures: { {k: figures[k] for k in ('faults_injected', 'rows_lost', 'rows_doubled', 'partial_reads_seen', 'seconds')} } -> {BENCH_FILE}")

    # -- what must hold ---------------------------------------------------------------------------------------
    assert sorted(f["fault"] for f in faults) == sorted(FAULTS), json.dumps(faults, indent=1)
    assert figures["rows_lost"] == 0 and figures["rows_doubled"] == 0, json.dumps({"stores": stores, "per_date": per_date}, indent=1)
    assert not partial, json.dumps(partial[:10], indent=1)
    assert all(g["participants"] == g["cassandra"] == g["lake"] for g in games.values()), games
    assert not leftovers, f"left in the lake: {leftovers}"
    assert not in_flight, f"runs left in flight: {in_flight}"
    assert decode_cursor(cursor) == batch_group == ends, f"cursor {cursor}, group {batch_group}, topic end {ends}"
    assert stream_group == ends, f"stream group {stream_group}, topic end {ends}"
    # The pool kept Spark runs apart, the manual backfill included, and that backfill did overlap automation.
    spans = sorted((r.start_time, r.end_time or time.time(), r.dagster_run.run_id[:8]) for r in spark_runs if r.start_time)
    assert all(a[1] <= b[0] + 1.0 for a, b in zip(spans, spans[1:])), f"Spark runs overlapped: {spans}"
    backfill_runs = [r for r in spark_runs if r.dagster_run.tags.get("dagster/backfill") == backfill_id]
    assert backfill_runs, "the manual backfill launched no run"
    first_backfill_run = min(r.create_timestamp.timestamp() for r in backfill_runs)
    automation = next(r for r in spark_runs if r.dagster_run.run_id == automation_run)
    assert automation.end_time and automation.end_time > first_backfill_run, (
        f"the manual backfill's run was not queued while automation's run of the same dates was going: {figures['spark_runs']}")
    assert reader.reads > 100, f"the reader made only {reader.reads} reads"


def _answers_per_date(observations) -> dict[str, list[int]]:
    """The successive numbers of indexed matches the reader saw per date (0 -> a set -> a larger set: growth)."""
    seen: dict[str, list[int]] = {}
    for obs in sorted(observations, key=lambda o: o.first_at):
        counts = seen.setdefault(str(obs.date), [])
        if not counts or counts[-1] != len(obs.indexed):
            counts.append(len(obs.indexed))
    return seen


def _published(flow: ChaosFlow) -> bool:
    from dagster import AssetKey

    with flow.instance() as instance:
        return bool(instance.fetch_materializations(AssetKey("cleaned_participants"), limit=1).records)


def _slowed_evaluation(flow: ChaosFlow, kafka, wave, points: FaultPoints, stack: StackFaults, injected, log) -> None:
    """Once the first waves are published (so the reader sees a published date grow), a landing evaluation
    holds the lease past Dagster's sensor timeout with wave 3 waiting; released once a later evaluation has
    skipped on the lease (and the NameNode serves, so the late one can finish)."""
    deadline = time.monotonic() + 300
    while not _published(flow) and time.monotonic() < deadline:
        time.sleep(2)
    points.arm("ingest.leased", hold_s=600)
    _produce(kafka, wave)
    held = points.wait(["ingest.leased"], timeout_s=240, flow=flow).get("ingest.leased")
    if held is None:
        log("no landing evaluation reached ingest.leased: the slowed evaluation was not injected")
        return
    skip, deadline = None, time.monotonic() + 300
    while skip is None and time.monotonic() < deadline:
        ticks = [t for t in _sensor_ticks(flow, "kafka_match_sensor") if t.timestamp > held["at"]]
        skip = next((t for t in reversed(ticks) if t.status.value == "SKIPPED" and "another evaluation is landing" in (t.skip_reason or "")), None)
        time.sleep(2)
    namenode = stack.stack.service("namenode")
    while not (namenode.is_running() and namenode.is_ready()) and time.monotonic() < deadline + 240:
        time.sleep(1)
    points.release("ingest.leased")
    held_s = time.time() - held["at"]
    if skip is None:
        log(f"held {held_s:.0f}s at ingest.leased, but no later evaluation skipped on the lease")
        return
    timed_out = [t.status.value for t in _sensor_ticks(flow, "kafka_match_sensor") if abs(t.timestamp - held["at"]) < 5]
    injected("slowed_sensor_evaluation", f"a landing evaluation held the lease {held_s:.0f}s (Dagster's sensor timeout is 60 s; "
             f"its tick ended {timed_out}); a later evaluation skipped: {skip.skip_reason[:80]}")  # fmt: skip


def _kill_code_server_at(flow: ChaosFlow, at_s: float, points: FaultPoints, injected, log) -> None:
    """SIGKILL of the code server's proxy (`dagster code-server start`, which dagster dev restarts) at a seeded
    random moment, not while the slowed evaluation holds the landing lease in it (its death would leave the lease
    to expire: 180 s without landing)."""
    t0 = time.monotonic()
    time.sleep(at_s)
    deadline = time.monotonic() + 600
    while points.holding("ingest.leased") and time.monotonic() < deadline:
        time.sleep(0.5)
    pids = flow.find("dagster code-server start")
    if not pids:
        log(f"no code server to kill: {flow.processes()}")
        return
    for pid in pids:
        kill_process(pid)
    injected("code_server_proxy", f"SIGKILL of `dagster code-server start` (pid {pids}) {time.monotonic() - t0:.0f}s into the "
             f"Spark faults (drawn: {at_s:.0f}s)")  # fmt: skip
