"""The batch assets' declarative automation condition (see lol_platform.ingestion.automation for why the
stock `eager()` / `since_last_handled()` conditions lose dates here).

`BATCH_AUTOMATION` resets only on the asset's own materialization of that date, with timing, so a landing
after it still wins.
"""

from __future__ import annotations

from dagster import AutomationCondition

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
BATCH_AUTOMATION = (
    (
        (
            _DEPS_UPDATED.since(AutomationCondition.newly_updated()).with_label("deps_updated_since_materialized")
            & _DEPS_UPDATED.since(AutomationCondition.newly_requested()).with_label("deps_updated_since_requested")
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
