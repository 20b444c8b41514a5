"""Freshness checks and the sensor that runs them (on by default).

Each check is an asset check (so the UI shows it on the asset, and it can be run by hand) whose evaluation is
one function of the probes and the time. `freshness_sensor` evaluates all of them every few minutes and
reports the results as check evaluations, plus the Kafka consumer lag of both groups as asset observations
(numeric metadata the UI plots over time). The rules are in lol_platform/freshness/rules.py.
"""

# No `from __future__ import annotations`: Dagster reads the check's context annotation as a class.
import datetime as dt
import os
from collections.abc import Callable
from dataclasses import dataclass

from dagster import (
    AssetCheckEvaluation,
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetCheckSeverity,
    AssetKey,
    AssetObservation,
    ConfigurableResource,
    DefaultSensorStatus,
    Definitions,
    MetadataValue,
    SensorEvaluationContext,
    SensorResult,
    asset_check,
    sensor,
)
from pydantic import Field

from lol_platform.batch import summary
from lol_platform.freshness import probes
from lol_platform.freshness.anomalies import judge_volume, judge_win_rates
from lol_platform.freshness.rules import Verdict, dates_due, judge_consumer, judge_daily
from lol_platform.ingestion.sensor import BATCH_GROUP
from lol_platform.partitions import daily_partitions
from lol_platform.resources.cassandra import CassandraResource
from lol_platform.resources.errors import ServiceUnavailable
from lol_platform.resources.kafka import KafkaResource
from lol_platform.speed.indexer import STREAM_GROUP


class FreshnessSettings(ConfigurableResource):
    """When each table is late. Editable in the launchpad; the deadline also from LOL_FRESHNESS_DEADLINE_HOURS."""

    deadline_hours: float = Field(default=6.0, description="a date must be published this long after it ends (UTC)")
    republish_grace_minutes: float = Field(default=60.0, description="data landing after the deadline must be published within this")
    lookback_days: int = Field(default=3, description="how many of the newest due dates are checked")
    landing_max_lag_minutes: float = Field(default=10.0, description="longest a message may wait for kafka_match_sensor")
    stream_max_lag_minutes: float = Field(default=5.0, description="longest a message may wait for the stream indexer")
    batch_group: str = Field(default=BATCH_GROUP, description="consumer group of the landing")
    stream_group: str = Field(default=STREAM_GROUP, description="consumer group of the stream indexer")
    anomaly_window_days: int = Field(default=14, description="trailing dates the anomaly checks compare the newest due date with")

    @property
    def deadline(self) -> dt.timedelta:
        return dt.timedelta(hours=self.deadline_hours)

    @property
    def grace(self) -> dt.timedelta:
        return dt.timedelta(minutes=self.republish_grace_minutes)


def now_utc() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


# -- evaluations: probes in, verdict out ---------------------------------------------------------------------


def daily_verdict(instance, cassandra: CassandraResource, settings: FreshnessSettings, table: str, now: dt.datetime) -> Verdict:
    """A serving table's due dates are published after their last landing (raw_matches), or how late."""
    first = dt.date.fromisoformat(daily_partitions.start.strftime("%Y-%m-%d"))
    dates = dates_due(now, settings.deadline, settings.lookback_days, first)
    landed = probes.landed_at(instance, "raw_matches", dates)
    published = probes.published_as_of(instance, cassandra, table, dates)
    return judge_daily(table, now, settings.deadline, settings.grace, dates, landed, published)


def landing_verdict(instance, kafka: KafkaResource, settings: FreshnessSettings, now: dt.datetime) -> Verdict:
    """kafka_match_sensor keeps up with the topic: no message waits longer than the bound."""
    verdict = judge_consumer("landing (kafka_match_sensor)", probes.consumer_lag(kafka, settings.batch_group), now,
                             dt.timedelta(minutes=settings.landing_max_lag_minutes))  # fmt: skip
    last = probes.last_landing(instance, "raw_matches")
    verdict.metadata["last_landing"] = last.isoformat() if last else "never"
    return verdict


def stream_verdict(kafka: KafkaResource, settings: FreshnessSettings, now: dt.datetime) -> Verdict:
    """The stream indexer keeps Elasticsearch within the bound of the topic."""
    return judge_consumer("stream indexing", probes.consumer_lag(kafka, settings.stream_group), now,
                          dt.timedelta(minutes=settings.stream_max_lag_minutes))  # fmt: skip


def _anomaly_dates(settings: FreshnessSettings, now: dt.datetime) -> tuple[dt.date, list[dt.date]]:
    """The newest due date and its trailing window."""
    (day,) = dates_due(now, settings.deadline, 1)
    return day, [day - dt.timedelta(days=i) for i in range(1, settings.anomaly_window_days + 1)]


def volume_verdict(cassandra: CassandraResource, settings: FreshnessSettings, now: dt.datetime) -> Verdict:
    """The newest due date's published match count against its trailing window (lol_data.date_summary)."""
    day, window = _anomaly_dates(settings, now)
    rows = summary.read_dates(cassandra, [day, *window])
    counts = {d: r["match_participants"]["match_count"] for d, r in rows.items() if "match_participants" in r}
    return judge_volume(day, counts.pop(day, None), counts)


def win_rate_verdict(cassandra: CassandraResource, settings: FreshnessSettings, now: dt.datetime) -> Verdict:
    """Each champion's win rate on the newest due date against its games and wins over the trailing window."""
    day, window = _anomaly_dates(settings, now)
    today = {r["champion_name"]: (r["games_played"], r["win_rate"]) for r in cassandra.stat_rows("champion_stats", day)}
    trailing: dict[str, tuple[int, int]] = {}
    for past in window:  # one partition each
        for r in cassandra.stat_rows("champion_stats", past):
            games, wins = trailing.get(r["champion_name"], (0, 0))
            trailing[r["champion_name"]] = (games + r["games_played"], wins + r["wins"])
    return judge_win_rates(day, today, trailing)


@dataclass(frozen=True)
class Freshness:
    """One freshness check: its asset, its name and how it is evaluated from the resources."""

    asset: str
    name: str
    evaluate: Callable[..., Verdict]  # (instance, kafka, cassandra, settings, now) -> Verdict
    description: str
    severity: AssetCheckSeverity = AssetCheckSeverity.ERROR


def _daily(table: str) -> Callable[..., Verdict]:
    return lambda instance, kafka, cassandra, settings, now: daily_verdict(instance, cassandra, settings, table, now)


CHECKS = [
    Freshness("raw_matches", "raw_matches_landing_freshness", lambda i, k, c, s, now: landing_verdict(i, k, s, now),
              "Landing has not stalled while Kafka holds data: no message of lol_matches waits for kafka_match_sensor "
              "longer than landing_max_lag_minutes."),
    Freshness("cleaned_participants", "cleaned_participants_freshness", _daily("match_participants"),
              "Each date is published to lol_data.match_participants, after its last landing, by deadline_hours after it ends."),
    Freshness("champion_stats", "champion_stats_freshness", _daily("champion_stats"),
              "Each date is published to lol_data.champion_stats, after its last landing, by deadline_hours after it ends."),
    Freshness("position_stats", "position_stats_freshness", _daily("position_stats"),
              "Each date is published to lol_data.position_stats, after its last landing, by deadline_hours after it ends."),
    Freshness("match_stream_index", "match_stream_index_freshness", lambda i, k, c, s, now: stream_verdict(k, s, now),
              "The stream indexer (group lol-platform-stream) lags the topic by at most stream_max_lag_minutes."),
    # Anomalies only warn: an odd day is worth a look, not a page.
    Freshness("cleaned_participants", "match_volume_anomaly", lambda i, k, c, s, now: volume_verdict(c, s, now),
              "The newest due date's match count is within its trailing window (robust z-score <= 3.5).",
              AssetCheckSeverity.WARN),
    Freshness("champion_stats", "champion_win_rate_anomaly", lambda i, k, c, s, now: win_rate_verdict(c, s, now),
              "No champion's win rate on the newest due date is far (4 standard errors and 10 points) from its trailing window.",
              AssetCheckSeverity.WARN),
]  # fmt: skip


def evaluate(check: Freshness, instance, kafka, cassandra, settings, now: dt.datetime) -> Verdict:
    """The check's verdict; a service that cannot be reached fails it with what to do."""
    try:
        return check.evaluate(instance, kafka, cassandra, settings, now)
    except ServiceUnavailable as exc:
        return Verdict(False, f"cannot tell whether {check.asset} is fresh: {exc}", {"service_unavailable": str(exc)})


def _metadata(verdict: Verdict) -> dict:
    return {k: MetadataValue.json(v) if isinstance(v, (dict, list)) else v for k, v in verdict.metadata.items()}


def _asset_check(check: Freshness):
    @asset_check(asset=check.asset, name=check.name, blocking=False, description=check.description)
    def _check(context: AssetCheckExecutionContext, kafka: KafkaResource, cassandra: CassandraResource,
               freshness: FreshnessSettings) -> AssetCheckResult:  # fmt: skip
        verdict = evaluate(check, context.instance, kafka, cassandra, freshness, now_utc())
        return AssetCheckResult(passed=verdict.passed, severity=check.severity, description=verdict.description,
                                metadata=_metadata(verdict))  # fmt: skip

    return _check


freshness_checks = [_asset_check(check) for check in CHECKS]

FRESHNESS_INTERVAL_S = 120


@sensor(
    name="freshness_sensor",
    minimum_interval_seconds=FRESHNESS_INTERVAL_S,
    default_status=DefaultSensorStatus.RUNNING,
    description="Evaluates every freshness check and records the Kafka consumer lag of both groups.",
)
def freshness_sensor(context: SensorEvaluationContext, kafka: KafkaResource, cassandra: CassandraResource, freshness: FreshnessSettings):
    now = now_utc()
    events = []
    for check in CHECKS:
        verdict = evaluate(check, context.instance, kafka, cassandra, freshness, now)
        events.append(AssetCheckEvaluation(asset_key=AssetKey(check.asset), check_name=check.name, passed=verdict.passed,
                                           severity=check.severity, description=verdict.description,
                                           metadata=_metadata(verdict), blocking=False))  # fmt: skip
        if "kafka_lag_messages" in verdict.metadata:  # the lag as a time series on the asset (plotted by the UI)
            lag = {k: verdict.metadata[k] for k in ("kafka_lag_messages", "oldest_waiting_age_s")}
            events.append(AssetObservation(asset_key=check.asset, metadata={**lag, "consumer_group": verdict.metadata["consumer_group"]}))
        if not verdict.passed:
            context.log.warning(f"{check.name}: {verdict.description}")
    return SensorResult(asset_events=events)


def _settings() -> FreshnessSettings:
    if os.environ.get("LOL_FRESHNESS_DEADLINE_HOURS"):
        return FreshnessSettings(deadline_hours=float(os.environ["LOL_FRESHNESS_DEADLINE_HOURS"]))
    return FreshnessSettings()


defs = Definitions(asset_checks=freshness_checks, sensors=[freshness_sensor], resources={"freshness": _settings()})
