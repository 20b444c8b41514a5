"""Self-healing: a landed date is never left behind.

1. The skipped date of issue 9 (item 6), reproduced: a gate run that finishes on one date made Dagster's
   `newly_updated` true on *every* partition of the check, so `since_last_handled()` dropped a date that
   landed in the same tick, for good. The platform's conditions (lol_platform.ingestion.automation, lol_platform.batch.automation) keep it.
2. The healing sensor's decision (`plan_healing`, pure) and what it reads from an instance (`gather`).
3. The instance: one Spark run at a time through a concurrency pool that every run of the Spark assets
   carries, run retries, and run monitoring, read from the repository's dagster.yaml.
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest
from dagster import (
    AssetKey,
    AssetMaterialization,
    AssetSelection,
    AutomationCondition,
    DagsterInstance,
    DagsterRunStatus,
    Definitions,
    RunsFilter,
    asset,
    asset_check,
    build_sensor_context,
    define_asset_job,
    evaluate_automation_conditions,
)
from dagster._core.execution.api import create_execution_plan
from dagster._core.storage.dagster_run import DagsterRun
from dagster._core.storage.tags import ASSET_PARTITION_RANGE_END_TAG, ASSET_PARTITION_RANGE_START_TAG, PARTITION_NAME_TAG

from lol_platform.batch.spark_pool import SPARK_POOL, ensure_pool_limits
from lol_platform.definitions import defs
from lol_platform.ingestion.assets import raw_matches, raw_matches_contract
from lol_platform.partitions import daily_partitions
from lol_platform.resources.lake import LakeResource
from lol_platform.batch.healing import (
    CHAIN,
    GATE,
    HEALING_TAG,
    DateState,
    HealRange,
    Stage,
    gather,
    healing_sensor,
    plan_healing,
    run_request,
    stage_needed,
    worker_alive,
)

REPO = Path(__file__).resolve().parents[2]
RAW = raw_matches.key
CLEANED = AssetKey("cleaned_participants")
T0 = dt.datetime(2026, 1, 10, 12, tzinfo=dt.timezone.utc)  # evaluation clock (events carry the wall clock, later)
TICK = dt.timedelta(seconds=30)


# -- 1. automation: the skipped date --------------------------------------------------------------------


def _land(instance: DagsterInstance, partition: str) -> None:
    """What kafka_match_sensor reports for a landed batch."""
    instance.report_runless_asset_event(AssetMaterialization(asset_key=RAW, partition=partition))


def _gate_run(instance: DagsterInstance, partition: str, tmp_path: Path) -> None:
    """A real run of raw_matches_contract for one date, as automation launches it: Dagster records a planned
    event, then an evaluation of that partition that targets its latest landing. (The lake is empty, so the
    gate passes on zero rows.)"""
    gate_defs = Definitions(assets=[raw_matches], asset_checks=[raw_matches_contract],
                            resources={"lake": LakeResource(root=f"file://{tmp_path}/lake")})  # fmt: skip
    job = define_asset_job("gate", selection=AssetSelection.checks(raw_matches_contract), partitions_def=daily_partitions)
    result = job.resolve(asset_graph=gate_defs.resolve_asset_graph(), resource_defs=gate_defs.resources).execute_in_process(
        instance=instance, tags={PARTITION_NAME_TAG: partition}  # (partition_key= wants an asset in the job)
    )
    assert result.success


def _requested(result, key) -> set[str]:
    evaluated = next(r for r in result.results if r.key == key)
    return set(evaluated.true_subset.expensively_compute_partition_keys())


class _Ticks:
    """evaluate_automation_conditions one tick after another, as the automation sensor does."""

    def __init__(self, definitions: Definitions, instance: DagsterInstance):
        self.defs, self.instance, self.cursor, self.n = definitions, instance, None, 0

    def tick(self):
        result = evaluate_automation_conditions(self.defs, self.instance, evaluation_time=T0 + self.n * TICK, cursor=self.cursor)
        self.cursor, self.n = result.cursor, self.n + 1
        return result


@asset_check(asset=RAW, name="raw_matches_contract", blocking=True, partitions_def=daily_partitions,
             automation_condition=AutomationCondition.any_deps_updated().since_last_handled())  # fmt: skip
def _gate_before_the_fix():
    """The condition raw_matches_contract had when 2026-11-21 was left behind."""


@asset_check(asset=RAW, name="raw_matches_contract", partitions_def=daily_partitions,
             automation_condition=AutomationCondition.newly_updated())  # fmt: skip
def _gate_newly_updated():
    """Probe: on which partitions does Dagster call a partitioned check newly_updated?"""


def test_root_cause_a_gate_run_on_one_date_is_newly_updated_on_every_date(tmp_path):
    instance = DagsterInstance.ephemeral()
    ticks = _Ticks(Definitions(assets=[raw_matches], asset_checks=[_gate_newly_updated]), instance)
    ticks.tick()
    _land(instance, "2026-01-09")
    _gate_run(instance, "2026-01-09", tmp_path)
    newly_updated = _requested(ticks.tick(), _gate_newly_updated.check_key)
    # One date was checked; Dagster reports the check as updated on all of them (the latest execution of the
    # check, whatever its partition, newer than the previous tick: the full subset).
    assert newly_updated == set(daily_partitions.get_partition_keys(current_time=T0 + TICK))
    assert len(newly_updated) > 300


def test_before_the_fix_a_date_landing_as_another_dates_gate_run_finishes_is_dropped_for_good(tmp_path):
    instance = DagsterInstance.ephemeral()
    ticks = _Ticks(Definitions(assets=[raw_matches], asset_checks=[_gate_before_the_fix]), instance)
    ticks.tick()
    _land(instance, "2026-01-09")
    assert _requested(ticks.tick(), GATE) == {"2026-01-09"}
    _gate_run(instance, "2026-01-09", tmp_path)  # the gate run finishes...
    _land(instance, "2026-01-03")  # ...and a late match lands, within the same tick
    assert _requested(ticks.tick(), GATE) == set()  # any_deps_updated was true on 01-03; "handled" on all dates
    for _ in range(3):
        assert _requested(ticks.tick(), GATE) == set()  # and nothing brings it back


def test_a_date_landing_as_another_dates_gate_run_finishes_is_gated_and_cleaned(tmp_path):
    instance = DagsterInstance.ephemeral()
    ticks = _Ticks(defs, instance)
    ticks.tick()
    _land(instance, "2026-01-09")
    first = ticks.tick()
    assert _requested(first, GATE) == {"2026-01-09"} and _requested(first, CLEANED) == {"2026-01-09"}
    _gate_run(instance, "2026-01-09", tmp_path)
    _land(instance, "2026-01-03")
    result = ticks.tick()
    assert _requested(result, GATE) == {"2026-01-03"}  # the gated date is not asked again
    assert _requested(result, CLEANED) == {"2026-01-03"}  # the downstream rides in the same tick
    _gate_run(instance, "2026-01-03", tmp_path)
    assert _requested(ticks.tick(), GATE) == set()  # judged: nothing more to do, no loop


def test_dates_left_behind_before_the_fix_are_gated_on_the_first_tick_and_a_new_landing_regates(tmp_path):
    instance = DagsterInstance.ephemeral()
    _land(instance, "2026-01-05")  # landed, never checked (the state 2026-11-21 was left in)
    _land(instance, "2026-01-06")
    _gate_run(instance, "2026-01-06", tmp_path)
    ticks = _Ticks(defs, instance)
    assert _requested(ticks.tick(), GATE) == {"2026-01-05"}
    _land(instance, "2026-01-06")  # more late matches for a date the gate had passed
    assert _requested(ticks.tick(), GATE) == {"2026-01-06"}


def test_a_landing_in_the_tick_its_own_date_finished_cleaning_is_cleaned_again(tmp_path):
    """The same race one level down: eager() resets on `newly_requested | newly_updated`, an OR without
    timing, so a landing in the tick its date's cleaned_participants materialized was dropped too."""
    instance = DagsterInstance.ephemeral()
    ticks = _Ticks(defs, instance)
    ticks.tick()
    _land(instance, "2026-01-08")
    assert _requested(ticks.tick(), CLEANED) == {"2026-01-08"}
    ticks.tick()  # the run runs (a Spark run outlasts a 30 s tick)
    _gate_run(instance, "2026-01-08", tmp_path)
    instance.report_runless_asset_event(AssetMaterialization(asset_key=CLEANED, partition="2026-01-08"))
    _land(instance, "2026-01-08")  # after that run read raw: its rows are not in cleaned_participants
    result = ticks.tick()
    assert _requested(result, GATE) == {"2026-01-08"}
    assert _requested(result, CLEANED) == {"2026-01-08"}


@asset(name="cleaned_participants", partitions_def=daily_partitions, deps=[raw_matches],
       automation_condition=AutomationCondition.eager().without(AutomationCondition.in_latest_time_window())
       & AutomationCondition.all_deps_blocking_checks_passed())  # fmt: skip
def _cleaned_before_the_fix():
    """cleaned_participants with the condition it had before (BATCH_AUTOMATION)."""


def test_before_the_fix_that_landing_was_dropped_too(tmp_path):
    instance = DagsterInstance.ephemeral()
    old = Definitions(assets=[raw_matches, _cleaned_before_the_fix], asset_checks=[raw_matches_contract],
                      resources={"lake": LakeResource(root=f"file://{tmp_path}/lake")})  # fmt: skip
    ticks = _Ticks(old, instance)
    ticks.tick()
    _land(instance, "2026-01-08")
    assert _requested(ticks.tick(), CLEANED) == {"2026-01-08"}
    ticks.tick()
    _gate_run(instance, "2026-01-08", tmp_path)
    instance.report_runless_asset_event(AssetMaterialization(asset_key=CLEANED, partition="2026-01-08"))
    _land(instance, "2026-01-08")
    for _ in range(3):
        assert _requested(ticks.tick(), CLEANED) == set()


def test_a_requested_date_is_not_requested_again_until_something_new_lands():
    """Seen in the e2e run: a tick that sees cleaned_participants' new materialization as "not in progress" but
    not yet as "newly updated" must not ask for the same date again (the request resets the trigger too)."""
    instance = DagsterInstance.ephemeral()
    ticks = _Ticks(defs, instance)
    ticks.tick()
    _land(instance, "2026-01-08")
    assert _requested(ticks.tick(), CLEANED) == {"2026-01-08"}
    for _ in range(3):  # no run here: nothing in progress, nothing updated
        assert _requested(ticks.tick(), CLEANED) == set()


def test_a_cleaned_date_is_not_requested_again_without_a_new_landing(tmp_path):
    instance = DagsterInstance.ephemeral()
    ticks = _Ticks(defs, instance)
    ticks.tick()
    _land(instance, "2026-01-08")
    ticks.tick()
    _gate_run(instance, "2026-01-08", tmp_path)
    instance.report_runless_asset_event(AssetMaterialization(asset_key=CLEANED, partition="2026-01-08"))
    for _ in range(2):
        result = ticks.tick()
        assert _requested(result, CLEANED) == set() and _requested(result, GATE) == set()


# -- 2. the healing sensor ----------------------------------------------------------------------------------

NOW = 1_800_000_000.0
OLD = NOW - 3600


def _state(date: str, **kw) -> DateState:
    base = dict(date=date, raw_landed_at=OLD - 100, cleaned_id=10, cleaned_read_at=OLD - 50, stats_ids=(11, 12), last_activity_at=OLD)
    return DateState(**{**base, **kw})


def test_what_a_date_needs():
    assert stage_needed(_state("2026-01-01")) is None
    assert stage_needed(_state("2026-01-01", raw_landed_at=OLD - 10)) is Stage.FULL  # landed after that run started
    assert stage_needed(_state("2026-01-01", cleaned_id=None, cleaned_read_at=None)) is Stage.FULL  # never cleaned
    assert stage_needed(_state("2026-01-01", failed=True)) is Stage.FULL  # last attempt failed
    assert stage_needed(_state("2026-01-01", stats_ids=(9, 12))) is Stage.STATS  # champion_stats older than cleaned
    assert stage_needed(_state("2026-01-01", stats_ids=(11, None))) is Stage.STATS


def test_plan_groups_contiguous_dates_of_one_stage_oldest_first():
    stale = {"raw_landed_at": OLD - 10}
    states = [
        _state("2026-01-03", **stale), _state("2026-01-01", **stale), _state("2026-01-02", **stale),
        _state("2026-01-05", **stale), _state("2026-01-06", stats_ids=(1, 12)), _state("2026-01-07"),
    ]  # fmt: skip
    plan = plan_healing(states, NOW)
    assert plan.ranges == [
        HealRange("2026-01-01", "2026-01-03", Stage.FULL),
        HealRange("2026-01-05", "2026-01-05", Stage.FULL),
        HealRange("2026-01-06", "2026-01-06", Stage.STATS),
    ]
    assert plan.left == {}


def test_plan_leaves_alone_what_is_in_flight_held_recent_or_given_up_and_is_bounded():
    stale = {"raw_landed_at": OLD - 10}
    states = [
        _state("2026-01-01", in_flight=True, **stale),
        _state("2026-01-02", held=True, **stale),
        _state("2026-01-03", raw_landed_at=NOW - 30, last_activity_at=NOW - 30),  # automation's turn first
        _state("2026-01-04", healing_failures=3, **stale),
        *[_state(f"2026-02-{d:02d}", **stale) for d in range(1, 11)],
    ]
    plan = plan_healing(states, NOW, max_dates=4)
    assert plan.dates == ["2026-02-01", "2026-02-02", "2026-02-03", "2026-02-04"]
    assert plan.ranges == [HealRange("2026-02-01", "2026-02-04", Stage.FULL)]
    assert set(plan.left) == {"2026-01-01", "2026-01-02", "2026-01-03", "2026-01-04", *[f"2026-02-{d:02d}" for d in range(5, 11)]}
    assert "in progress" in plan.left["2026-01-01"] and "held" in plan.left["2026-01-02"]
    assert "automation" in plan.left["2026-01-03"] and "gave up" in plan.left["2026-01-04"]


def test_run_requests_carry_the_gate_the_checks_the_range_and_the_tags():
    one = run_request(HealRange("2026-01-05", "2026-01-05", Stage.FULL))
    assert one.partition_key == "2026-01-05"
    assert set(one.asset_selection) == set(CHAIN)
    assert GATE in one.asset_check_keys
    checks_of_chain = {k for key in CHAIN for k in defs.resolve_assets_def(key).check_keys}
    assert checks_of_chain <= set(one.asset_check_keys)
    assert one.tags[HEALING_TAG] == "full" and one.tags["dagster/retry_strategy"] == "FROM_FAILURE"

    span = run_request(HealRange("2026-01-01", "2026-01-03", Stage.STATS))
    assert span.partition_key is None  # one run, one Spark job for the range (BackfillPolicy.single_run)
    assert span.tags[ASSET_PARTITION_RANGE_START_TAG] == "2026-01-01" and span.tags[ASSET_PARTITION_RANGE_END_TAG] == "2026-01-03"
    assert set(span.asset_selection) == {AssetKey("champion_stats"), AssetKey("position_stats")}
    assert GATE not in span.asset_check_keys


def test_a_healing_request_is_one_run_over_its_range_in_the_spark_pool():
    job = defs.resolve_implicit_global_asset_job_def()  # what an asset-selection sensor's runs execute
    for stage, steps in [(Stage.FULL, {"raw_matches_raw_matches_contract", "cleaned_participants", "champion_stats", "position_stats"}),
                         (Stage.STATS, {"champion_stats", "position_stats"})]:  # fmt: skip
        request = run_request(HealRange("2026-01-01", "2026-01-03", stage))
        subset = job.get_subset(asset_selection=set(request.asset_selection), asset_check_selection=set(request.asset_check_keys))
        assert set(create_execution_plan(subset, tags=request.tags).step_keys_to_execute) == steps
        run = DagsterInstance.ephemeral().create_run_for_job(subset, tags=request.tags, asset_selection=frozenset(request.asset_selection))
        assert run.get_resolved_partitions_subset_for_events(daily_partitions).get_partition_keys() == ["2026-01-01", "2026-01-02", "2026-01-03"]
        assert run.run_op_concurrency.all_pools == {SPARK_POOL}


def _add_run(instance, status, tags, assets=(CLEANED,)):
    run = DagsterRun(job_name="__ASSET_JOB", status=status, tags=tags, asset_selection=frozenset(assets))
    instance.add_run(run)
    return run


def test_gather_reads_landed_dates_runs_in_flight_and_failed_healing_runs():
    instance = DagsterInstance.ephemeral()
    for date in ["2026-01-01", "2026-01-02", "2026-01-03", "2026-01-04"]:
        _land(instance, date)
    now = dt.datetime.now(dt.timezone.utc).timestamp() + 3600
    _add_run(instance, DagsterRunStatus.NOT_STARTED, {PARTITION_NAME_TAG: "2026-01-02"})
    _add_run(instance, DagsterRunStatus.STARTED, {ASSET_PARTITION_RANGE_START_TAG: "2026-01-03", ASSET_PARTITION_RANGE_END_TAG: "2026-01-03"})
    _add_run(instance, DagsterRunStatus.NOT_STARTED, {PARTITION_NAME_TAG: "2026-01-01"}, assets=(AssetKey("elsewhere"),))  # not ours
    for _ in range(2):
        _add_run(instance, DagsterRunStatus.FAILURE, {PARTITION_NAME_TAG: "2026-01-04", HEALING_TAG: "full"})
    states = {s.date: s for s in gather(instance, now)}
    assert sorted(states) == ["2026-01-01", "2026-01-02", "2026-01-03", "2026-01-04"]
    assert [d for d, s in states.items() if s.in_flight] == ["2026-01-02", "2026-01-03"]
    assert states["2026-01-04"].healing_failures == 2
    assert all(s.cleaned_id is None and stage_needed(s) is Stage.FULL for s in states.values())
    plan = plan_healing(states.values(), now)
    assert plan.ranges == [HealRange("2026-01-01", "2026-01-01", Stage.FULL), HealRange("2026-01-04", "2026-01-04", Stage.FULL)]


def test_the_sensor_requests_runs_its_target_allows(monkeypatch):
    import lol_platform.batch.healing as healing

    instance = DagsterInstance.ephemeral()
    _land(instance, "2026-01-01")
    _land(instance, "2026-01-02")
    # Fresh landings are automation's: the sensor waits out its grace period.
    assert not healing_sensor.evaluate_tick(build_sensor_context(instance=instance, definitions=defs)).run_requests
    monkeypatch.setattr(healing, "GRACE_S", 0.0)
    requests = healing_sensor.evaluate_tick(build_sensor_context(instance=instance, definitions=defs)).run_requests
    assert len(requests) == 1
    request = requests[0]
    assert request.tags[ASSET_PARTITION_RANGE_START_TAG] == "2026-01-01" and request.tags[ASSET_PARTITION_RANGE_END_TAG] == "2026-01-02"
    assert GATE in request.asset_check_keys and set(request.asset_selection) == set(CHAIN)


def test_a_worker_pid_counts_as_alive_only_for_the_process_that_logged_it():
    import os

    me = os.getpid()
    now = dt.datetime.now(dt.timezone.utc).timestamp()
    assert worker_alive(me, now) is True
    assert worker_alive(me, now - 10 * 365 * 86400) is False  # a process started after the log line: a reused pid
    assert worker_alive(2**22 + 12345, now) is False  # no such process


# -- 3. the instance: one Spark run at a time, retries, monitoring --------------------------------------------


def test_every_spark_asset_is_in_the_spark_pool_and_nothing_else_is():
    pools = {key.to_user_string(): defs.resolve_assets_def(key).node_def.pool for key in CHAIN}
    assert pools == {"cleaned_participants": SPARK_POOL, "champion_stats": SPARK_POOL, "position_stats": SPARK_POOL}
    assert raw_matches_contract.node_def.pool is None  # the gate is plain Python: it never waits for Spark


@pytest.fixture
def repo_instance(tmp_path):
    """An instance configured by the repository's dagster.yaml, as `make dev` copies it into DAGSTER_HOME."""
    shutil.copyfile(REPO / "dagster.yaml", tmp_path / "dagster.yaml")
    with DagsterInstance.from_config(str(tmp_path)) as instance:
        yield instance


def test_dagster_yaml_retries_failed_runs_and_fails_runs_whose_worker_died(repo_instance):
    assert repo_instance.run_retries_enabled and repo_instance.run_retries_max_retries == 2
    assert repo_instance.run_monitoring_enabled
    assert repo_instance.run_monitoring_max_resume_run_attempts == 0  # the default launcher cannot resume
    assert repo_instance.run_monitoring_start_timeout_seconds > 0 and repo_instance.run_monitoring_cancel_timeout_seconds > 0
    assert type(repo_instance.run_launcher).__name__ == "DefaultRunLauncher"
    assert defs.resolve_sensor_def("lol_automation_sensor").run_tags["dagster/retry_strategy"] == "FROM_FAILURE"


def test_dagster_yaml_lets_one_spark_run_at_a_time_whoever_launched_it(repo_instance):
    from dagster._core.instance.config import PoolGranularity
    from dagster._core.op_concurrency_limits_counter import GlobalOpConcurrencyLimitsCounter

    config = repo_instance.get_concurrency_config()
    assert config.pool_config.pool_granularity == PoolGranularity.RUN and config.pool_config.default_pool_limit == 1
    assert config.run_queue_config.max_concurrent_runs == 2

    graph = defs.resolve_asset_graph()

    def create(status, name, selection, tags=None):
        job = define_asset_job(name, selection=selection, partitions_def=daily_partitions).resolve(
            asset_graph=graph, resource_defs=defs.resources
        )
        return repo_instance.create_run_for_job(job, status=status, tags={PARTITION_NAME_TAG: "2026-01-05", **(tags or {})})

    running = create(DagsterRunStatus.STARTED, "automation", [CLEANED])
    healing = create(DagsterRunStatus.NOT_STARTED, "healing", [AssetKey("champion_stats")], {HEALING_TAG: "stats"})
    backfill = create(DagsterRunStatus.NOT_STARTED, "backfill", [AssetKey("position_stats")], {"dagster/backfill": "abc"})
    gate = create(DagsterRunStatus.NOT_STARTED, "gate", AssetSelection.checks(raw_matches_contract))
    assert running.run_op_concurrency.all_pools == {SPARK_POOL}  # every run of a Spark asset carries the pool
    assert gate.run_op_concurrency is None

    def counter():  # what the run queue daemon builds on each dequeue
        queued = [healing, backfill, gate]
        in_progress = repo_instance.get_run_records(RunsFilter(statuses=[DagsterRunStatus.STARTED]))
        return GlobalOpConcurrencyLimitsCounter(
            repo_instance, queued, in_progress,
            concurrency_keys=repo_instance.event_log_storage.get_concurrency_keys(),
            pool_limits=repo_instance.event_log_storage.get_pool_limits(),
            pool_granularity=config.pool_config.pool_granularity,
        )  # fmt: skip

    counter()  # the first pass writes the default limit for the pools it sees
    limits = {p.name: p.limit for p in repo_instance.event_log_storage.get_pool_limits()}
    assert limits == {SPARK_POOL: 1}
    blocked = counter()
    assert blocked.is_blocked(healing) and blocked.is_blocked(backfill)
    assert not blocked.is_blocked(gate)
    repo_instance.report_run_failed(repo_instance.get_run_by_id(running.run_id))
    assert not counter().is_blocked(healing)



def test_the_spark_pool_is_limited_from_the_first_queue_pass(repo_instance):
    """Dagster writes a pool's default limit only after the queue pass that first sees it has read the limits,
    so that pass starts every queued Spark run; ensure_pool_limits (make dev, healing sensor) closes it."""
    from dagster._core.op_concurrency_limits_counter import GlobalOpConcurrencyLimitsCounter

    graph = defs.resolve_asset_graph()
    job = define_asset_job("spark", selection=[CLEANED], partitions_def=daily_partitions).resolve(
        asset_graph=graph, resource_defs=defs.resources
    )
    first, second = (
        repo_instance.create_run_for_job(job, status=DagsterRunStatus.NOT_STARTED, tags={PARTITION_NAME_TAG: "2026-01-05"})
        for _ in range(2)
    )

    def first_pass():  # the queue daemon's counter, then its launch loop over the queued runs
        counter = GlobalOpConcurrencyLimitsCounter(
            repo_instance, [first, second], [],
            concurrency_keys=repo_instance.event_log_storage.get_concurrency_keys(),
            pool_limits=repo_instance.event_log_storage.get_pool_limits(),
            pool_granularity=repo_instance.get_concurrency_config().pool_config.pool_granularity,
        )  # fmt: skip
        launched = []
        for run in (first, second):
            if not counter.is_blocked(run):
                counter.update_counters_with_launched_item(run)
                launched.append(run.run_id)
        return launched

    assert ensure_pool_limits(repo_instance) == {SPARK_POOL: 1}
    assert first_pass() == [first.run_id]
