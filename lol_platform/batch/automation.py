"""The batch assets' declarative automation condition (see lol_platform.ingestion.automation for why the
stock `eager()` / `since_last_handled()` conditions lose dates here).

`BATCH_AUTOMATION` resets only on the asset's own materialization of that date, with timing, so a landing
after it still wins.
"""

from __future__ import annotations

from collections.abc import Mapping

from dagster import AssetKey, AutomationCondition, DagsterRunStatus, RunsFilter
from dagster._core.storage.tags import ASSET_PARTITION_RANGE_END_TAG, ASSET_PARTITION_RANGE_START_TAG, PARTITION_NAME_TAG

from lol_core.dates import DateRange
from lol_platform.ingestion.automation import InstanceSubsetCondition

FLIGHT_STATUSES = [
    DagsterRunStatus.QUEUED,
    DagsterRunStatus.NOT_STARTED,
    DagsterRunStatus.STARTING,
    DagsterRunStatus.STARTED,
    DagsterRunStatus.CANCELING,
]


def tagged_dates(tags: Mapping[str, str]) -> set[str] | None:
    """The partition keys a run targets, from its partition or range tags; None if it has neither."""
    if PARTITION_NAME_TAG in tags:
        return {tags[PARTITION_NAME_TAG]}
    if ASSET_PARTITION_RANGE_START_TAG in tags and ASSET_PARTITION_RANGE_END_TAG in tags:
        return set(DateRange.of_keys(tags[ASSET_PARTITION_RANGE_START_TAG], tags[ASSET_PARTITION_RANGE_END_TAG]).keys())
    return None


def dates_in_flight(instance, key: AssetKey) -> set[str]:
    """Partitions of `key` that a queued or running run will materialize."""
    dates: set[str] = set()
    for record in instance.get_run_records(RunsFilter(statuses=FLIGHT_STATUSES)):
        run = record.dagster_run
        if key in (run.asset_selection or ()):
            dates |= tagged_dates(run.tags) or set()
    return dates


class RunQueuedOrStarted(InstanceSubsetCondition):
    """True for each partition that a queued or running run of this asset covers.

    Dagster's `in_progress()` reads a partition's latest *planned* materialization: a run logs its plan when it
    is queued, so when two runs of a date wait in the Spark pool and the one created first finishes first, its
    materialization hides the plan of the other, still waiting. Automation then asked again for what that run
    was about to write (the chaos suite: a stats-only run of 58 s while a backfill's run was computing them).
    The run records say what is in flight whatever the order. Safe with the pool: a queued run reads its parents
    as they are when it starts."""

    @property
    def name(self) -> str:
        return "run_queued_or_started"

    @property
    def description(self) -> str:
        return "a queued or running run covers this partition"

    def partition_keys(self, instance, key: AssetKey) -> set[str]:
        return dates_in_flight(instance, key)


# Downstream partitions follow their parents, late dates and backfills included (no latest-time-window
# limit), never past a failed blocking check, and never in a loop on a failed run (the healing sensor and
# run retries own failures). A parent update must be newer than both this partition's latest
# materialization and its latest request: two `since`s over bare operands (no OR inside, unlike
# any_deps_updated() and since_last_handled()), so every trigger and reset carries per-partition
# timestamps and a parent update after them wins even within one tick, while one earlier (the same run,
# or a tick that saw the run's materialization but not yet as an update) does not ask again.
# A parent requested on this tick pulls its children into the same request (one run or backfill for the
# chain instead of one per layer and tick): its blocking checks still stop them within that run.
_DEPS_UPDATED = AutomationCondition.any_deps_match(AutomationCondition.newly_updated())
_DEPS_REQUESTED = AutomationCondition.any_deps_match(AutomationCondition.will_be_requested()).with_label("deps_requested_now")
# all_deps_blocking_checks_passed() accepts a check requested on this tick, but cleaned_participants' checks
# are yielded by its own step and never requested on their own: a parent requested now counts as gated (its
# failed blocking check fails its step, so nothing downstream of it runs).
_PARENTS_GATED = AutomationCondition.all_deps_match(
    AutomationCondition.will_be_requested()
    | AutomationCondition.all_checks_match(
        AutomationCondition.check_passed() | AutomationCondition.will_be_requested(), blocking_only=True
    )
).with_label("parents_gated_or_requested_now")
# A parent's update asks for nothing that a queued or running run of this partition will write anyway (a parent
# requested on this tick still pulls its children in: the new run needs them).
BATCH_AUTOMATION = (
    (
        (
            _DEPS_UPDATED.since(AutomationCondition.newly_updated()).with_label("deps_updated_since_materialized")
            & _DEPS_UPDATED.since(AutomationCondition.newly_requested()).with_label("deps_updated_since_requested")
            & ~RunQueuedOrStarted()
        )
        | _DEPS_REQUESTED
    )
    & ~AutomationCondition.any_deps_missing()
    & ~AutomationCondition.any_deps_in_progress()
    & ~AutomationCondition.in_progress()
    & ~AutomationCondition.newly_requested()
    & ~AutomationCondition.execution_failed()
    & _PARENTS_GATED
).with_label("eager_all_dates_gated")
