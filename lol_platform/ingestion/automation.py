"""The raw gate's declarative automation condition, and why it is not Dagster's stock one.

Dagster's `since_last_handled()` resets on `newly_requested | newly_updated | initial_evaluation`. Two things
go wrong with that here:

* For an asset check, `newly_updated` is not per partition: Dagster looks up the check's latest evaluation
  of *any* partition and, if it is newer than the previous tick, returns the full subset
  (`AssetGraphView._compute_updated_since_time_subset`). So a gate run finishing on one date "handled"
  every date of `raw_matches_contract`, and a date that landed in that same tick was dropped for good
  (issue 9 item 6: 2026-11-21, `any_deps_updated` true on 3 partitions, `handled` true on all 693).
* An OR of conditions carries no per-partition timing, so `since` cannot tell "landed after my run" from
  "landed before it" when both happen in one tick: the landing loses.

`RAW_GATE_AUTOMATION` therefore compares storage ids per date (the gate is due where the latest landing is
newer than the check's latest event for that date, planned or evaluated). The downstream assets' condition,
which the second point shapes, is lol_platform.batch.automation.BATCH_AUTOMATION.
"""

from __future__ import annotations

from dagster import AssetCheckKey, AutomationCondition, DagsterEventType
from dagster._core.definitions.declarative_automation.automation_condition import AutomationResult
from dagster._core.definitions.declarative_automation.automation_context import AutomationContext


class InstanceSubsetCondition(AutomationCondition):
    """A condition whose true partitions are read from the instance by `partition_keys` (per partition, which
    Dagster's own operands do not always give): the base of this project's Python conditions."""

    @property
    def requires_cursor(self) -> bool:
        return False

    def partition_keys(self, instance, key) -> set[str]:
        raise NotImplementedError

    def evaluate(self, context: AutomationContext) -> AutomationResult:
        key = context.key
        partitions_def = context.asset_graph.get(key).partitions_def
        if context.candidate_subset.is_empty or partitions_def is None:
            return AutomationResult(context, context.get_empty_subset())
        keys = {p for p in self.partition_keys(context.asset_graph_view.instance, key) if partitions_def.has_partition_key(p)}
        subset = context.asset_graph_view.get_subset_from_partition_keys(key, partitions_def, keys)
        return AutomationResult(context, subset.compute_intersection(context.candidate_subset))


class LandedSinceLastGated(InstanceSubsetCondition):
    """True for each partition of a check whose asset has a materialization newer than the check's latest
    event (planned or evaluated) for that partition, or that was never checked: the latest landing of that
    date has not been, and is not being, judged."""

    @property
    def name(self) -> str:
        return "landed_since_last_gated"

    @property
    def description(self) -> str:
        return "the latest raw landing of this date is newer than the gate's latest run for it"

    def partition_keys(self, instance, key: AssetCheckKey) -> set[str]:
        return gate_due_partitions(instance, key)


def gate_due_partitions(instance, check_key: AssetCheckKey) -> set[str]:
    """Partitions whose latest materialization of the checked asset is newer than the check's latest event."""
    storage = instance.event_log_storage
    landed = storage.get_latest_storage_id_by_partition(check_key.asset_key, DagsterEventType.ASSET_MATERIALIZATION)
    gated = {
        info.partition_key: info.latest_check_event_storage_id
        for info in storage.get_asset_check_partition_info([check_key])
        if info.partition_key is not None
    }
    return {p for p, landed_id in landed.items() if landed_id > gated.get(p, 0)}


# The gate runs for every date whose latest landing it has not judged: late dates, dates that landed while
# another date's gate run finished, and dates left behind before this fix (they are due on the first tick).
RAW_GATE_AUTOMATION = (
    LandedSinceLastGated() & ~AutomationCondition.in_progress() & ~AutomationCondition.newly_requested()
).with_label("raw_landed")
