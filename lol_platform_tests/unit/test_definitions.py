"""The code location loads, validates, and declares what the design promises."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from dagster import AssetKey, BackfillPolicy, DefaultSensorStatus

from lol_platform.definitions import defs

REPO = Path(__file__).resolve().parents[2]


def test_dagster_definitions_validate_passes():
    dagster = Path(sys.executable).parent / "dagster"
    proc = subprocess.run([str(dagster), "definitions", "validate", "-w", str(REPO / "workspace.yaml")],
                          capture_output=True, text=True, cwd=REPO, timeout=180)  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "Validation successful" in proc.stdout + proc.stderr


def test_the_asset_graph_and_its_gates():
    graph = defs.resolve_asset_graph()
    keys = {k.to_user_string() for k in graph.get_all_asset_keys()}
    assert keys == {"raw_matches", "cleaned_participants", "champion_stats", "position_stats", "match_stream_index", "lol_quarantine"}
    for name in ("cleaned_participants", "champion_stats", "position_stats"):
        node = graph.get(AssetKey(name))
        assert node.partitions_def is not None
        assert node.backfill_policy == BackfillPolicy.single_run()
        assert node.automation_condition is not None
    checks = {(c.asset_key.to_user_string(), c.name) for c in graph.asset_check_keys}
    assert ("raw_matches", "raw_matches_contract") in checks
    assert ("cleaned_participants", "cleaned_participants_contract") in checks
    assert ("champion_stats", "champion_stats_cassandra_matches_lake") in checks
    # Every gate blocks; freshness checks only report (a late table must not stop its own catch-up).
    freshness = {key for key in graph.asset_check_keys if key.name.endswith(("_freshness", "_anomaly"))}
    assert {(k.asset_key.to_user_string(), k.name) for k in freshness} == {
        ("cleaned_participants", "match_volume_anomaly"), ("champion_stats", "champion_win_rate_anomaly"),
        ("raw_matches", "raw_matches_landing_freshness"), ("cleaned_participants", "cleaned_participants_freshness"),
        ("champion_stats", "champion_stats_freshness"), ("position_stats", "position_stats_freshness"),
        ("match_stream_index", "match_stream_index_freshness"),
    }  # fmt: skip
    assert all(graph.get_check_spec(key).blocking for key in graph.asset_check_keys - freshness)
    assert not any(graph.get_check_spec(key).blocking for key in freshness)


def test_sensors_start_running():
    sensors = {s.name: s for s in defs.sensors}
    assert set(sensors) == {"kafka_match_sensor", "lol_automation_sensor", "healing_sensor", "superseded_dates_sensor", "freshness_sensor",
                            "run_failure_alert_sensor", "failed_check_alert_sensor"}
    # A fresh DAGSTER_HOME (make dev, CI) runs the platform with no manual step: no sensor starts STOPPED.
    assert [name for name, s in sensors.items() if s.default_status != DefaultSensorStatus.RUNNING] == []
    # The running automation sensor is the one that evaluates every materializable asset's and every check's
    # condition (Dagster's implicit default sensor, which starts STOPPED, is left with nothing).
    graph = defs.resolve_asset_graph()
    selection = sensors["lol_automation_sensor"].asset_selection
    assert selection.resolve(graph) == set(graph.materializable_asset_keys)
    assert selection.resolve_checks(graph) == set(graph.asset_check_keys)
    # Freshness checks have no automation condition: freshness_sensor evaluates them.
    assert all(graph.get_check_spec(k).automation_condition is None for k in graph.asset_check_keys if k.name.endswith(("_freshness", "_anomaly")))
