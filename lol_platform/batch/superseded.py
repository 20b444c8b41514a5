"""`superseded_dates_sensor`: one truth per matchId, brought downstream with no manual step.

When cleaning a date keeps a copy of a match that supersedes a copy kept on another date (the same matchId
re-sent with other timestamps: see spark_jobs.cleaning, "one truth per matchId"), that other date is stale:
its cleaned rows, its Cassandra rows and its stats still count the old copy. cleaned_participants lists
such dates in its materialization metadata (`superseded_dates`); this sensor reads every new
materialization of it (the cursor is the last event's storage id) and requests, per stale date, one run of
cleaned_participants + champion_stats + position_stats (with their blocking checks). Re-cleaning the date
quarantines the old copy as `match.superseded` and republishes the date. A re-run never reports the date
that made it stale (that date's copy wins), so this converges whichever date was cleaned first.
"""

from __future__ import annotations

from collections.abc import Sequence

from dagster import (
    AssetRecordsFilter,
    DefaultSensorStatus,
    RunRequest,
    SensorEvaluationContext,
    SensorResult,
    SkipReason,
    sensor,
)

from lol_platform.batch.spark_pool import SPARK_TAGS
from lol_platform.batch.assets import champion_stats, cleaned_participants, position_stats

SUPERSEDED_DATES = "superseded_dates"  # the metadata key cleaned_participants reports stale dates under
TRIGGER_TAG = "lol_platform/trigger"
STALE_FROM_TAG = "lol_platform/superseded_by_run"
RECORDS_PER_TICK = 200
TARGET = [cleaned_participants.key, champion_stats.key, position_stats.key]


def stale_dates(records: Sequence) -> dict[str, str]:
    """Materialization records of cleaned_participants -> {stale date: id of the (last) run that reported it}."""
    found: dict[str, str] = {}
    for record in records:
        materialization = record.asset_materialization
        entry = materialization.metadata.get(SUPERSEDED_DATES) if materialization is not None else None
        for day in (entry.value if entry is not None else None) or []:
            found[str(day)] = record.run_id
    return found


def run_requests(records: Sequence) -> list[RunRequest]:
    """One run per stale date; the run key names the last event read, so a tick that is retried with the
    same cursor asks for the same runs (Dagster launches a run key once)."""
    if not records:
        return []
    last = records[-1].storage_id
    return [
        RunRequest(
            run_key=f"superseded:{day}:{last}",
            partition_key=day,
            asset_selection=TARGET,
            tags={**SPARK_TAGS, TRIGGER_TAG: "superseded_dates_sensor", STALE_FROM_TAG: run_id},
        )
        for day, run_id in sorted(stale_dates(records).items())
    ]


@sensor(
    name="superseded_dates_sensor",
    minimum_interval_seconds=30,
    default_status=DefaultSensorStatus.RUNNING,
    asset_selection=TARGET,
    description="Re-cleans and re-publishes (lake, Cassandra, stats) the dates that cleaned_participants reports "
    "in `superseded_dates`: they hold an older copy of a match a newer copy on another date supersedes.",
)
def superseded_dates_sensor(context: SensorEvaluationContext):
    after = int(context.cursor) if context.cursor else None
    records = context.instance.fetch_materializations(
        AssetRecordsFilter(asset_key=cleaned_participants.key, after_storage_id=after), limit=RECORDS_PER_TICK, ascending=True
    ).records
    if not records:
        return SkipReason("no new materialization of cleaned_participants")
    requests = run_requests(records)
    if requests:
        context.log.info(f"stale dates (a newer copy of a match is kept elsewhere): {[r.partition_key for r in requests]}")
    return SensorResult(run_requests=requests, cursor=str(records[-1].storage_id))
