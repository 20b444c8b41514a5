"""Alerts: a failed run or a failed blocking check posts a Slack-compatible message (`{"text": ...}`) to the
webhook in LOL_ALERT_WEBHOOK_URL. Unset, alerts are off: the sensors skip and say so.

Both sensors start RUNNING. The messages are built by pure functions; the webhook is a resource.
"""

import json
import os
from dataclasses import dataclass

import requests
from dagster import (
    AssetCheckEvaluation,
    AssetCheckKey,
    ConfigurableResource,
    DefaultSensorStatus,
    Definitions,
    EnvVar,
    RunFailureSensorContext,
    RunsFilter,
    SensorEvaluationContext,
    SensorResult,
    SkipReason,
    run_failure_sensor,
    sensor,
)
from dagster._core.storage.asset_check_execution_record import AssetCheckExecutionRecordStatus
from pydantic import Field

WEBHOOK_ENV = "LOL_ALERT_WEBHOOK_URL"


class AlertWebhook(ConfigurableResource):
    """Where alerts go: a Slack incoming webhook, or anything that takes `{"text": ...}` as JSON."""

    url: str = Field(default="", description=f"webhook URL ({WEBHOOK_ENV}); empty: alerts are off")
    ui_url: str = Field(default="http://127.0.0.1:3000", description="the Dagster UI, for links in the messages (LOL_DAGSTER_URL)")
    timeout_s: float = Field(default=10.0, description="POST timeout")

    @property
    def enabled(self) -> bool:
        return bool(self.url)

    def post(self, text: str) -> None:
        try:
            response = requests.post(self.url, json={"text": text}, timeout=self.timeout_s)
            response.raise_for_status()
        except requests.RequestException as exc:
            raise RuntimeError(f"the alert webhook did not take the alert ({exc}); check {WEBHOOK_ENV}. The alert was: {text}") from exc


OFF = SkipReason(f"{WEBHOOK_ENV} is not set: alerts are off")


# -- messages ------------------------------------------------------------------------------------------------


def run_failure_text(job: str, run_id: str, error: str, partition: str | None, ui_url: str) -> str:
    where = f" (partition {partition})" if partition else ""
    return f":red_circle: Run of {job}{where} failed: {error.strip()[:500]}\n{ui_url.rstrip('/')}/runs/{run_id}"


def check_failure_text(evaluation: AssetCheckEvaluation, run_id: str | None, ui_url: str) -> str:
    asset = evaluation.asset_key.to_user_string()
    partition = f" (partition {evaluation.partition})" if evaluation.partition else ""
    why = f": {evaluation.description}" if evaluation.description else ""
    link = f"{ui_url.rstrip('/')}/runs/{run_id}" if run_id else f"{ui_url.rstrip('/')}/assets/{asset}?view=checks"
    return f":no_entry: Blocking check {evaluation.check_name} on {asset}{partition} failed{why}; downstream is held back.\n{link}"


# -- sensors ---------------------------------------------------------------------------------------------------


@run_failure_sensor(name="run_failure_alert_sensor", default_status=DefaultSensorStatus.RUNNING,
                    description=f"Posts every failed run of this code location to {WEBHOOK_ENV}.")  # fmt: skip
def run_failure_alert_sensor(context: RunFailureSensorContext, alert_webhook: AlertWebhook):
    if not alert_webhook.enabled:
        return OFF
    run = context.dagster_run
    error = context.failure_event.message or "no error message"
    alert_webhook.post(run_failure_text(run.job_name, run.run_id, error, run.tags.get("dagster/partition"), alert_webhook.ui_url))


# Per check, the newest executions read each tick; a check runs at most once per run and partition, so more
# than this many of one check's executions between two 30 s ticks would be a flood the webhook need not repeat.
RECENT_EXECUTIONS = 100


@dataclass(frozen=True)
class CheckCursor:
    """Every execution id <= through is handled, and so are the ids in `done` above it. An execution still
    running (PLANNED) keeps `through` below it, so its verdict is read once it lands."""

    through: int = 0
    done: frozenset[int] = frozenset()

    @classmethod
    def parse(cls, text: str) -> "CheckCursor":
        if text.isdigit():  # the cursor of earlier versions: a storage id, not an execution id
            return cls(0)
        data = json.loads(text)
        return cls(data["through"], frozenset(data["done"]))

    def dump(self) -> str:
        return json.dumps({"through": self.through, "done": sorted(self.done)})

    def is_new(self, execution_id: int) -> bool:
        return execution_id > self.through and execution_id not in self.done

    def advanced(self, handled: list[int], pending: list[int]) -> "CheckCursor":
        done = self.done | set(handled)
        through = min(pending) - 1 if pending else max(done | {self.through})
        return CheckCursor(through, frozenset(i for i in done if i > through))


def blocking_check_keys(repository_def) -> list[AssetCheckKey]:
    graph = repository_def.asset_graph
    return sorted((key for key in graph.asset_check_keys if graph.get_check_spec(key).blocking), key=str)


def failed_blocking_checks(records) -> list[tuple[AssetCheckEvaluation, str | None]]:
    """(evaluation, run id) of each failed check execution among `records` (of blocking checks)."""
    return [(r.event.dagster_event.event_specific_data, r.run_id or None)
            for r in records if r.status == AssetCheckExecutionRecordStatus.FAILED and r.event is not None]  # fmt: skip


def _still_running(instance, records) -> set[int]:
    """Ids of the check executions whose verdict may still come: planned, in a run not yet finished. A planned
    check of a finished run never ran (its run failed or skipped it; run_failure_alert_sensor tells of that)."""
    planned = [r for r in records if r.status == AssetCheckExecutionRecordStatus.PLANNED]
    if not planned:
        return set()
    runs = {run.run_id: run for run in instance.get_runs(RunsFilter(run_ids=sorted({r.run_id for r in planned})))}
    return {r.id for r in planned if r.run_id in runs and not runs[r.run_id].is_finished}


@sensor(name="failed_check_alert_sensor", minimum_interval_seconds=30, default_status=DefaultSensorStatus.RUNNING,
        description=f"Posts every failed blocking asset check to {WEBHOOK_ENV}.")  # fmt: skip
def failed_check_alert_sensor(context: SensorEvaluationContext, alert_webhook: AlertWebhook):
    # Read through the check-execution table (every event log storage keeps it, SQLite's run-sharded one
    # included), per blocking check of this code location.
    storage = context.instance.event_log_storage
    records = [r for key in blocking_check_keys(context.repository_def)
               for r in storage.get_asset_check_execution_history(key, limit=RECENT_EXECUTIONS)]  # fmt: skip
    if not context.cursor:  # first tick: start from now, never alert on history
        return SensorResult(cursor=CheckCursor(max((r.id for r in records), default=0)).dump())
    cursor = CheckCursor.parse(context.cursor)
    new = sorted((r for r in records if cursor.is_new(r.id)), key=lambda r: r.id)
    running = _still_running(context.instance, new)
    pending = [r.id for r in new if r.id in running]
    handled = [r for r in new if r.id not in running]
    if not handled:
        return SkipReason(f"no new check verdicts ({len(pending)} checks running)")
    failed = failed_blocking_checks(handled)
    if failed and alert_webhook.enabled:
        for evaluation, run_id in failed:
            alert_webhook.post(check_failure_text(evaluation, run_id, alert_webhook.ui_url))
    elif failed:
        context.log.info(f"{len(failed)} failed blocking checks, not alerted: {OFF.skip_message}")
    return SensorResult(cursor=cursor.advanced([r.id for r in handled], pending).dump())


def webhook_from_env() -> AlertWebhook:
    """The webhook URL is a secret: an EnvVar (read at run time, shown as such in the UI) when it is set."""
    return AlertWebhook(
        url=EnvVar(WEBHOOK_ENV) if os.environ.get(WEBHOOK_ENV) else "",
        ui_url=EnvVar("LOL_DAGSTER_URL") if os.environ.get("LOL_DAGSTER_URL") else "http://127.0.0.1:3000",
    )


defs = Definitions(sensors=[run_failure_alert_sensor, failed_check_alert_sensor], resources={"alert_webhook": webhook_from_env()})
