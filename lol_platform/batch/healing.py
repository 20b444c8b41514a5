"""`healing_sensor`: every landed date whose downstream is stale or failed is brought up to date, with no
manual step, whatever automation missed (a restart, a crashed or cancelled run, a lost trigger).

Each evaluation (every 60 s) reads, per date with raw data, what the instance knows: the latest raw landing,
the latest materialization of cleaned_participants (and when the run that wrote it started) and of each
stats asset, the latest attempt of each that failed before materializing, blocking checks that failed on
the current data, and the runs and backfills queued or in progress. `plan_healing` (pure, unit-tested)
decides; the sensor requests one run per contiguous date range (a single-run backfill policy: one Spark
job per range), tagged `lol_platform/healing`:

* stale or failed cleaned_participants (raw landed after the run that wrote it started, never written, or
  its last attempt failed): the raw gate + cleaned_participants + both stats, with their blocking checks;
* stats older than cleaned_participants (or never written): both stats with their checks.

It leaves alone a date with a run or backfill in flight, a date held by a failed blocking check (the gate
is doing its job), a date active in the last `grace_s` (automation and run retries act first), and a date
whose healing failed `max_failures` times since it last landed. At most `max_dates` dates per evaluation.

It also fails runs whose worker process is gone (a `make dev` killed mid-run leaves them STARTED forever:
with the default run launcher Dagster's run monitoring cannot see the worker), so run retries re-run them
and their dates stop counting as in flight.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum

from dagster import (
    AssetCheckKey,
    AssetKey,
    AssetRecordsFilter,
    AssetSelection,
    DagsterEventType,
    DagsterInstance,
    DagsterRunStatus,
    DefaultSensorStatus,
    RunRequest,
    RunsFilter,
    SensorEvaluationContext,
    SensorResult,
    SkipReason,
    sensor,
)
from dagster._core.execution.backfill import BulkActionsFilter, BulkActionStatus
from dagster._core.storage.asset_check_execution_record import AssetCheckExecutionRecordStatus
from dagster._core.storage.tags import (
    ASSET_PARTITION_RANGE_END_TAG,
    ASSET_PARTITION_RANGE_START_TAG,
    RETRY_STRATEGY_TAG,
    ROOT_RUN_ID_TAG,
)

from lol_core.dates import DateRange
from lol_platform.batch.assets import champion_stats, cleaned_participants, position_stats
from lol_platform.batch.automation import FLIGHT_STATUSES, tagged_dates
from lol_platform.batch.spark_pool import ensure_pool_limits
from lol_platform.ingestion.assets import raw_matches, raw_matches_contract
from lol_platform.partitions import daily_partitions

HEALING_TAG = "lol_platform/healing"
# Run retries (dagster.yaml run_retries) re-execute only the failed steps of these runs.
RETRY_FROM_FAILURE = {RETRY_STRATEGY_TAG: "FROM_FAILURE"}

RAW = raw_matches.key
GATE = AssetCheckKey(RAW, "raw_matches_contract")
CLEANED = cleaned_participants.key
STATS = (champion_stats.key, position_stats.key)
CHAIN = (CLEANED, *STATS)

GRACE_S = float(os.environ.get("LOL_HEALING_GRACE_S", 180))  # automation and run retries act first
MAX_DATES = 31
MAX_FAILURES = 3
# A run younger than this may not have logged its worker pid yet (the fault-injection suite shortens it).
WORKER_GRACE_S = float(os.environ.get("LOL_HEALING_WORKER_GRACE_S", 120))

FAILED_STATUSES = {DagsterRunStatus.FAILURE, DagsterRunStatus.CANCELED}
ACTIVE_BACKFILL = [BulkActionStatus.REQUESTED, BulkActionStatus.CANCELING, BulkActionStatus.FAILING]


class Stage(Enum):
    FULL = "full"  # raw gate + cleaned_participants + stats
    STATS = "stats"  # champion_stats + position_stats


@dataclass(frozen=True)
class DateState:
    """What the instance knows about one date that has raw data."""

    date: str
    raw_landed_at: float  # timestamp of the latest raw_matches materialization
    cleaned_id: int | None = None  # storage id of the latest cleaned_participants materialization
    cleaned_read_at: float | None = None  # start of the run that wrote it
    stats_ids: tuple[int | None, ...] = (None, None)  # latest materialization storage id per stats asset
    failed: bool = False  # the latest attempt at the gate or a batch asset failed before completing
    held: bool = False  # a blocking check failed on this date's current data
    in_flight: bool = False  # a run or backfill that targets this date is queued or in progress
    last_activity_at: float = 0.0  # newest landing, materialization or failure of this date
    healing_failures: int = 0  # failed healing runs for this date since its latest landing


@dataclass(frozen=True)
class HealRange:
    start: str
    end: str
    stage: Stage

    @property
    def dates(self) -> list[str]:
        return DateRange.of_keys(self.start, self.end).keys()


@dataclass
class Plan:
    ranges: list[HealRange] = field(default_factory=list)
    left: dict[str, str] = field(default_factory=dict)  # date -> why a date that needs work is left for now

    @property
    def dates(self) -> list[str]:
        return [d for r in self.ranges for d in r.dates]


def stage_needed(state: DateState) -> Stage | None:
    """What a date needs, ignoring whether now is the time: None if it is up to date."""
    if (
        state.failed
        or state.cleaned_id is None
        or state.cleaned_read_at is None
        or state.raw_landed_at >= state.cleaned_read_at  # landed after that run started reading raw
    ):
        return Stage.FULL
    if any(stats_id is None or stats_id < state.cleaned_id for stats_id in state.stats_ids):
        return Stage.STATS
    return None


def plan_healing(
    states: Iterable[DateState],
    now: float,
    *,
    grace_s: float = GRACE_S,
    max_dates: int = MAX_DATES,
    max_failures: int = MAX_FAILURES,
) -> Plan:
    """The runs to request now: dates that need work and are not left alone (see the module docstring),
    oldest first, at most max_dates, as contiguous ranges of one stage."""
    plan = Plan()
    chosen: list[tuple[str, Stage]] = []
    for state in sorted(states, key=lambda s: s.date):
        stage = stage_needed(state)
        if stage is None:
            continue
        if state.in_flight:
            plan.left[state.date] = "a run or backfill for it is queued or in progress"
        elif state.held:
            plan.left[state.date] = "held: a blocking check failed on its current data"
        elif state.healing_failures >= max_failures:
            plan.left[state.date] = f"gave up: {state.healing_failures} healing runs failed since it landed"
        elif now - state.last_activity_at < grace_s:
            plan.left[state.date] = f"active {now - state.last_activity_at:.0f}s ago: automation and retries first"
        elif len(chosen) >= max_dates:
            plan.left[state.date] = f"over this evaluation's bound of {max_dates} dates"
        else:
            chosen.append((state.date, stage))
    for date, stage in chosen:
        last = plan.ranges[-1] if plan.ranges else None
        if last and last.stage == stage and dt.date.fromisoformat(date) - dt.date.fromisoformat(last.end) == dt.timedelta(days=1):
            plan.ranges[-1] = HealRange(last.start, date, stage)
        else:
            plan.ranges.append(HealRange(date, date, stage))
    return plan


def _check_keys(*assets) -> list[AssetCheckKey]:
    return sorted({key for a in assets for key in a.check_keys}, key=lambda k: (k.asset_key.to_string(), k.name))


def run_request(heal: HealRange) -> RunRequest:
    """One run for a range: a partition key for one date, the range tags (one Spark job) for several."""
    if heal.stage is Stage.FULL:
        assets, checks = list(CHAIN), [GATE, *_check_keys(cleaned_participants, champion_stats, position_stats)]
    else:
        assets, checks = list(STATS), _check_keys(champion_stats, position_stats)
    tags = {HEALING_TAG: heal.stage.value, **RETRY_FROM_FAILURE}
    if heal.start == heal.end:
        return RunRequest(asset_selection=assets, asset_check_keys=checks, partition_key=heal.start, tags=tags)
    tags.update({ASSET_PARTITION_RANGE_START_TAG: heal.start, ASSET_PARTITION_RANGE_END_TAG: heal.end})
    return RunRequest(asset_selection=assets, asset_check_keys=checks, tags=tags)


# -- what the instance knows ---------------------------------------------------------------------------


def run_dates(tags: Mapping[str, str], all_dates: Iterable[str]) -> set[str]:
    """The dates a run targets, from its partition tags; every date if it has none."""
    dates = tagged_dates(tags)
    return set(all_dates) if dates is None else dates


def _targets_chain(run) -> bool:
    assets = run.asset_selection or set()
    checks = run.asset_check_selection or set()
    return bool(set(CHAIN) & set(assets)) or GATE in checks


def _records_by_partition(instance: DagsterInstance, key: AssetKey, ids: Mapping[str, int]) -> dict[str, object]:
    records = {}
    wanted = sorted(ids.values())
    for i in range(0, len(wanted), 500):
        chunk = wanted[i : i + 500]
        result = instance.fetch_materializations(AssetRecordsFilter(asset_key=key, storage_ids=chunk), limit=len(chunk))
        for record in result.records:
            records[record.partition_key] = record
    return records


def _run_records(instance: DagsterInstance, run_ids: Iterable[str]) -> dict[str, object]:
    run_ids = sorted(set(run_ids))
    found = {}
    for i in range(0, len(run_ids), 500):
        for record in instance.get_run_records(RunsFilter(run_ids=run_ids[i : i + 500])):
            found[record.dagster_run.run_id] = record
    return found


def gather(instance: DagsterInstance, now: float) -> list[DateState]:
    """One DateState per date with raw data (a bounded number of queries, whatever the number of dates)."""
    storage = instance.event_log_storage
    mat = DagsterEventType.ASSET_MATERIALIZATION
    raw_ids = {d: i for d, i in storage.get_latest_storage_id_by_partition(RAW, mat).items() if daily_partitions.has_partition_key(d)}
    if not raw_ids:
        return []
    raw_records = _records_by_partition(instance, RAW, raw_ids)
    dates = set(raw_records)
    ids = {key: storage.get_latest_storage_id_by_partition(key, mat) for key in CHAIN}
    chain_records = {key: _records_by_partition(instance, key, ids[key]) for key in CHAIN}

    # latest attempts that planned a partition and did not materialize it (in progress, failed or cancelled)
    attempts: dict[str, list[str]] = {}
    for key in CHAIN:
        for date, (run_id, _) in storage.get_latest_asset_partition_materialization_attempts_without_materializations(key).items():
            attempts.setdefault(date, []).append(run_id)
    gate_infos = [i for i in storage.get_asset_check_partition_info([GATE]) if i.partition_key in dates]
    blocking = [GATE, *(k for k in cleaned_participants.check_keys)]
    held = {
        info.partition_key
        for info in storage.get_asset_check_partition_info(blocking)
        if info.partition_key in dates
        and info.latest_execution_status == AssetCheckExecutionRecordStatus.FAILED
        and info.is_current
    }
    for info in gate_infos:
        if info.latest_execution_status == AssetCheckExecutionRecordStatus.PLANNED:
            attempts.setdefault(info.partition_key, []).append(info.latest_planned_run_id)

    cleaned_runs = {r.run_id for r in chain_records[CLEANED].values()}
    runs = _run_records(instance, cleaned_runs | {r for ids_ in attempts.values() for r in ids_})

    in_flight: set[str] = set()
    for record in instance.get_run_records(RunsFilter(statuses=FLIGHT_STATUSES)):
        if _targets_chain(record.dagster_run):
            in_flight |= run_dates(record.dagster_run.tags, dates)
    for backfill in instance.get_backfills(filters=BulkActionsFilter(statuses=ACTIVE_BACKFILL)):
        data = backfill.asset_backfill_data
        if data is None:
            in_flight |= dates  # a job backfill: no per-asset targets to read, wait for it
            continue
        for key, subset in data.target_subset.partitions_subsets_by_asset_key.items():
            if key in CHAIN:
                in_flight |= set(subset.get_partition_keys())

    healing_failures: dict[str, set[str]] = {}
    since = dt.datetime.fromtimestamp(now - 7 * 86400, tz=dt.timezone.utc)
    for record in instance.get_run_records(
        RunsFilter(tags={HEALING_TAG: [s.value for s in Stage]}, statuses=list(FAILED_STATUSES), created_after=since), limit=1000
    ):
        run = record.dagster_run
        for date in run_dates(run.tags, dates) & dates:
            if record.create_timestamp.timestamp() > raw_records[date].timestamp:
                healing_failures.setdefault(date, set()).add(run.tags.get(ROOT_RUN_ID_TAG, run.run_id))

    states = []
    for date in sorted(dates):
        landed = raw_records[date].timestamp
        cleaned = chain_records[CLEANED].get(date)
        cleaned_run = runs.get(cleaned.run_id) if cleaned is not None else None
        failed_attempts = [runs[r] for r in attempts.get(date, []) if r in runs and runs[r].dagster_run.status in FAILED_STATUSES]
        activity = [landed, *(r.timestamp for key in CHAIN if (r := chain_records[key].get(date)) is not None)]
        activity += [r.end_time or r.create_timestamp.timestamp() for r in failed_attempts]
        states.append(
            DateState(
                date=date,
                raw_landed_at=landed,
                cleaned_id=cleaned.storage_id if cleaned is not None else None,
                cleaned_read_at=cleaned_run.start_time if cleaned_run is not None else None,
                stats_ids=tuple(ids[key].get(date) for key in STATS),
                failed=bool(failed_attempts),
                held=date in held,
                in_flight=date in in_flight,
                last_activity_at=max(activity),
                healing_failures=len(healing_failures.get(date, ())),
            )
        )
    return states


# -- runs whose worker died --------------------------------------------------------------------------------

_PID = re.compile(r"\(pid: (\d+)\)")


def worker_alive(pid: int, started_by: float, proc: str = "/proc") -> bool | None:
    """Whether process `pid` is the one that logged itself at `started_by` (a later process with a reused pid
    is not); None where /proc cannot tell (not Linux)."""
    if not os.path.isdir(proc):
        return None
    try:
        with open(f"{proc}/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        with open(f"{proc}/stat") as f:
            boot = next(float(line.split()[1]) for line in f if line.startswith("btime"))
    except (OSError, StopIteration, IndexError, ValueError):
        return False
    if fields[0] == "Z":  # zombie: exited, not yet reaped
        return False
    started_at = boot + int(fields[19]) / os.sysconf("SC_CLK_TCK")
    return started_at <= started_by + 2.0


def fail_dead_runs(instance: DagsterInstance, now: float, log=None) -> list[str]:
    """Mark as failed the STARTED runs of this deployment whose worker process no longer exists.

    Only with the default run launcher (run workers are local processes of the code server, as the sensor
    is); Dagster's run monitoring cannot check their health, and a run left STARTED by a killed `make dev`
    would hold the Spark pool and its dates forever. Run retries then re-run it from the failed step."""
    from dagster._core.launcher import DefaultRunLauncher

    if not isinstance(instance.run_launcher, DefaultRunLauncher):
        return []
    failed = []
    for record in instance.get_run_records(RunsFilter(statuses=[DagsterRunStatus.STARTED])):
        if record.start_time is None or now - record.start_time < WORKER_GRACE_S:
            continue
        run = record.dagster_run
        pids = [
            (int(m.group(1)), e.timestamp)
            for e in instance.all_logs(run.run_id, of_type=DagsterEventType.ENGINE_EVENT)
            if (m := _PID.search(e.message or ""))
        ]
        if not pids:
            continue
        pid, logged_at = pids[-1]
        if worker_alive(pid, logged_at) is False:
            fresh = instance.get_run_by_id(run.run_id)
            if fresh is None or fresh.status != DagsterRunStatus.STARTED:
                continue
            message = f"Run worker (pid {pid}) is gone: the run was left STARTED (Dagster stopped or killed mid-run)."
            instance.report_run_failed(fresh, message)
            failed.append(run.run_id)
            if log:
                log.warning(f"{run.run_id}: {message}")
    return failed


@sensor(
    name="healing_sensor",
    minimum_interval_seconds=60,
    default_status=DefaultSensorStatus.RUNNING,
    asset_selection=AssetSelection.assets(*CHAIN) | AssetSelection.checks(raw_matches_contract),
    description="Brings every landed date whose cleaned_participants or stats are stale or failed up to date "
    "(one run per contiguous range, tagged lol_platform/healing), and fails runs whose worker is gone.",
)
def healing_sensor(context: SensorEvaluationContext):
    now = dt.datetime.now(dt.timezone.utc).timestamp()
    ensure_pool_limits(context.instance)  # instances not started by `make dev` (see spark_pool.py)
    dead = fail_dead_runs(context.instance, now, context.log)
    plan = plan_healing(gather(context.instance, now), now, grace_s=GRACE_S, max_dates=MAX_DATES, max_failures=MAX_FAILURES)
    if plan.left:
        context.log.info(f"left for now: {dict(sorted(plan.left.items())[:20])}")
    if not plan.ranges:
        return SkipReason(f"nothing to heal ({len(plan.left)} dates left for now, {len(dead)} dead runs failed)")
    context.log.info(f"healing {[f'{r.start}..{r.end} ({r.stage.value})' for r in plan.ranges]}")
    return SensorResult(run_requests=[run_request(r) for r in plan.ranges])


__all__: Sequence[str] = ["HEALING_TAG", "RETRY_FROM_FAILURE", "healing_sensor", "plan_healing", "gather", "DateState", "Stage"]
