"""Declarative automation: landed raw partitions (late ones too) pull their downstream, a failed gate holds it."""

from __future__ import annotations

import datetime as dt

from dagster import (
    AssetCheckEvaluation,
    AssetCheckKey,
    AssetKey,
    AssetMaterialization,
    DagsterInstance,
    evaluate_automation_conditions,
)

from lol_platform.definitions import defs

RAW = AssetKey("raw_matches")
CLEANED = AssetKey("cleaned_participants")
RAW_CHECK = AssetCheckKey(RAW, "raw_matches_contract")
NOW = dt.datetime(2026, 1, 10, 12, tzinfo=dt.timezone.utc)


def _land(instance: DagsterInstance, partition: str) -> None:
    instance.report_runless_asset_event(AssetMaterialization(asset_key=RAW, partition=partition))


def _requested(result, key) -> set[str]:
    """Partitions requested for an asset or a check on this evaluation."""
    evaluated = next(r for r in result.results if r.key == key)
    return set(evaluated.true_subset.expensively_compute_partition_keys())


def test_a_landed_partition_requests_its_gate_and_downstream_and_late_dates_are_not_left_out():
    instance = DagsterInstance.ephemeral()
    first = evaluate_automation_conditions(defs, instance, evaluation_time=NOW)
    assert _requested(first, CLEANED) == set()  # nothing landed: nothing to do
    _land(instance, "2026-01-10")
    _land(instance, "2026-01-03")  # a late match, a week old
    result = evaluate_automation_conditions(defs, instance, evaluation_time=NOW, cursor=first.cursor)
    assert _requested(result, CLEANED) == {"2026-01-10", "2026-01-03"}
    assert _requested(result, RAW_CHECK) == {"2026-01-10", "2026-01-03"}
    # The stats ride in the same request: cleaned_participants' blocking checks stop them within the run.
    assert _requested(result, AssetKey("champion_stats")) == {"2026-01-10", "2026-01-03"}
    assert _requested(result, AssetKey("position_stats")) == {"2026-01-10", "2026-01-03"}
    # Nothing new landed: nothing is requested again (the requests are in flight, not repeated).
    again = evaluate_automation_conditions(defs, instance, evaluation_time=NOW, cursor=result.cursor)
    assert all(_requested(again, key) == set() for key in (CLEANED, RAW_CHECK, AssetKey("champion_stats")))


def test_a_failed_raw_gate_holds_downstream_for_that_date():
    instance = DagsterInstance.ephemeral()
    first = evaluate_automation_conditions(defs, instance, evaluation_time=NOW)
    _land(instance, "2026-01-09")
    instance.report_runless_asset_event(
        AssetCheckEvaluation(asset_key=RAW, check_name="raw_matches_contract", passed=False, partition="2026-01-09")
    )
    result = evaluate_automation_conditions(defs, instance, evaluation_time=NOW, cursor=first.cursor)
    assert "2026-01-09" not in _requested(result, CLEANED)



def _cleaned_and_gated(instance: DagsterInstance, partition: str) -> None:
    """cleaned_participants of the date written, and both of its blocking checks passed on that write."""
    from dagster import AssetRecordsFilter
    from dagster._core.definitions.asset_checks.asset_check_evaluation import AssetCheckEvaluationTargetMaterializationData

    instance.report_runless_asset_event(AssetMaterialization(asset_key=CLEANED, partition=partition))
    record = instance.fetch_materializations(AssetRecordsFilter(asset_key=CLEANED, asset_partitions=[partition]), limit=1).records[0]
    target = AssetCheckEvaluationTargetMaterializationData(storage_id=record.storage_id, run_id=record.run_id, timestamp=record.timestamp)
    for check in ("cleaned_participants_contract", "cassandra_matches_lake"):
        instance.report_runless_asset_event(AssetCheckEvaluation(asset_key=CLEANED, check_name=check, passed=True, partition=partition,
                                                                 target_materialization_data=target))  # fmt: skip


def test_a_date_a_queued_run_will_aggregate_is_not_requested_again():
    # Two runs of a date wait in the Spark pool; the first to finish hides the other's plan from Dagster's
    # in_progress(). A new cleaned_participants must not ask for stats that a queued run of the date will write.
    from dagster import DagsterRun, DagsterRunStatus
    from dagster._core.storage.tags import ASSET_PARTITION_RANGE_END_TAG, ASSET_PARTITION_RANGE_START_TAG

    champion, position = AssetKey("champion_stats"), AssetKey("position_stats")
    instance, cursor = DagsterInstance.ephemeral(), None

    def tick():
        nonlocal cursor
        result = evaluate_automation_conditions(defs, instance, evaluation_time=NOW, cursor=cursor)
        cursor = result.cursor
        return result

    tick()
    for day in ("2026-01-08", "2026-01-09"):
        _land(instance, day)
    assert _requested(tick(), champion) == {"2026-01-08", "2026-01-09"}  # with cleaned_participants, one request
    tick()  # (that request was launched)
    queued = DagsterRun(job_name="__ASSET_JOB", status=DagsterRunStatus.NOT_STARTED, asset_selection=frozenset({CLEANED, champion}),
                        tags={ASSET_PARTITION_RANGE_START_TAG: "2026-01-08", ASSET_PARTITION_RANGE_END_TAG: "2026-01-08"})  # fmt: skip
    instance.add_run(queued)
    for day in ("2026-01-08", "2026-01-09"):
        _cleaned_and_gated(instance, day)  # written by another run, which finished first
    result = tick()
    assert _requested(result, champion) == {"2026-01-09"}  # 01-08: the queued run aggregates it
    assert _requested(result, position) == {"2026-01-08", "2026-01-09"}  # not in the queued run
    # Once that run is over without its stats (here: it failed first), the date is asked for.
    instance.report_run_failed(queued)
    assert _requested(tick(), champion) == {"2026-01-08"}
