"""Alerts: a failed run or a failed blocking check posts a Slack-compatible message (`{"text": ...}`) to the
webhook in LOL_ALERT_WEBHOOK_URL. Unset, alerts are off: the sensors skip and say so.

Both sensors start RUNNING. The messages are built by pure functions; the webhook is a resource.
"""

import os

import requests
from dagster import (
    AssetCheckEvaluation,
    AssetCheckKey,
    ConfigurableResource,
    DagsterEventType,
    DefaultSensorStatus,
    Definitions,
    EnvVar,
    EventRecordsFilter,
    RunFailureSensorContext,
    SensorEvaluationContext,
    SensorResult,
    SkipReason,
    run_failure_sensor,
    sensor,
)
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


def failed_blocking_checks(records, is_blocking) -> list[tuple[AssetCheckEvaluation, str | None]]:
    """(evaluation, run id) of each failed evaluation whose check blocks downstream."""
    found = []
    for record in records:
        evaluation = record.event_log_entry.dagster_event.event_specific_data
        if not evaluation.passed and is_blocking(evaluation):
            found.append((evaluation, record.event_log_entry.run_id or None))
    return found


@sensor(name="failed_check_alert_sensor", minimum_interval_seconds=30, default_status=DefaultSensorStatus.RUNNING,
        description=f"Posts every failed blocking asset check to {WEBHOOK_ENV}.")  # fmt: skip
def failed_check_alert_sensor(context: SensorEvaluationContext, alert_webhook: AlertWebhook):
    if not context.cursor:  # first tick: start from now, never alert on history
        latest = context.instance.get_event_records(EventRecordsFilter(DagsterEventType.ASSET_CHECK_EVALUATION), limit=1)
        return SensorResult(cursor=str(latest[0].storage_id if latest else 0))
    records = context.instance.get_event_records(
        EventRecordsFilter(DagsterEventType.ASSET_CHECK_EVALUATION, after_cursor=int(context.cursor)), limit=200, ascending=True
    )
    if not records:
        return SkipReason("no new check evaluations")
    graph = context.repository_def.asset_graph if context.repository_def else None

    def is_blocking(evaluation: AssetCheckEvaluation) -> bool:
        key = AssetCheckKey(evaluation.asset_key, evaluation.check_name)
        if graph is not None and key in graph.asset_check_keys:
            return graph.get_check_spec(key).blocking
        return bool(evaluation.blocking)

    failed = failed_blocking_checks(records, is_blocking)
    if failed and alert_webhook.enabled:
        for evaluation, run_id in failed:
            alert_webhook.post(check_failure_text(evaluation, run_id, alert_webhook.ui_url))
    elif failed:
        context.log.info(f"{len(failed)} failed blocking checks, not alerted: {OFF.skip_message}")
    return SensorResult(cursor=str(records[-1].storage_id))


def webhook_from_env() -> AlertWebhook:
    """The webhook URL is a secret: an EnvVar (read at run time, shown as such in the UI) when it is set."""
    return AlertWebhook(
        url=EnvVar(WEBHOOK_ENV) if os.environ.get(WEBHOOK_ENV) else "",
        ui_url=EnvVar("LOL_DAGSTER_URL") if os.environ.get("LOL_DAGSTER_URL") else "http://127.0.0.1:3000",
    )


defs = Definitions(sensors=[run_failure_alert_sensor, failed_check_alert_sensor], resources={"alert_webhook": webhook_from_env()})
