"""superseded_dates_sensor: a stale date reported by cleaned_participants gets one run of the Spark chain."""

from __future__ import annotations

from dagster import (
    AssetKey,
    AssetMaterialization,
    DagsterInstance,
    DefaultSensorStatus,
    MetadataValue,
    SensorResult,
    SkipReason,
    build_sensor_context,
)

from lol_platform.batch.superseded import SUPERSEDED_DATES, TRIGGER_TAG, superseded_dates_sensor
from lol_platform.definitions import defs

CLEANED = AssetKey("cleaned_participants")


def _report(instance: DagsterInstance, partition: str, stale: list[str] | None) -> None:
    metadata = {"rows_in": 10} if stale is None else {SUPERSEDED_DATES: MetadataValue.json(stale), "rows_in": 10}
    instance.report_runless_asset_event(AssetMaterialization(asset_key=CLEANED, partition=partition, metadata=metadata))


def _evaluate(instance: DagsterInstance, cursor: str | None):
    return superseded_dates_sensor(build_sensor_context(instance=instance, cursor=cursor))


def test_each_reported_stale_date_gets_one_tagged_run_of_the_chain_and_the_cursor_moves_on():
    with DagsterInstance.ephemeral() as instance:
        _report(instance, "2025-05-02", ["2025-05-01"])
        _report(instance, "2025-05-03", [])
        _report(instance, "2025-05-04", None)  # a materialization from before the feature: no key at all
        _report(instance, "2025-05-05", ["2025-05-01", "2025-04-30"])  # the same date twice in one tick: one run
        _report(instance, "2025-05-07", ["2025-05-06"])  # a range run reports the same dates once per partition
        _report(instance, "2025-05-08", ["2025-05-06"])
        result = _evaluate(instance, None)
        assert isinstance(result, SensorResult)
        requests = result.run_requests
        assert [r.partition_key for r in requests] == ["2025-04-30", "2025-05-01", "2025-05-06"]
        for request in requests:
            assert {k.to_user_string() for k in request.asset_selection} == {"cleaned_participants", "champion_stats", "position_stats"}
            assert request.tags[TRIGGER_TAG] == "superseded_dates_sensor"
            assert request.tags["lol_platform/spark"] == "true"
        assert len({r.run_key for r in requests}) == 3

        # Nothing new: no run. A later report: only its date.
        assert isinstance(_evaluate(instance, result.cursor), SkipReason)
        _report(instance, "2025-05-09", ["2025-05-02"])
        later = _evaluate(instance, result.cursor)
        assert [r.partition_key for r in later.run_requests] == ["2025-05-02"]
        assert int(later.cursor) > int(result.cursor)


def test_the_sensor_is_registered_and_starts_running():
    sensors = {s.name: s for s in defs.sensors}
    assert sensors["superseded_dates_sensor"].default_status == DefaultSensorStatus.RUNNING
