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
