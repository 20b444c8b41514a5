"""Freshness checks on the real stack: a date left unpublished past its deadline fails and passes once published
(Cassandra date_summary + a Dagster instance), and a stopped landing is flagged while Kafka holds data."""

from __future__ import annotations

import datetime as dt
import time
import zlib

import pytest
from dagster import AssetCheckEvaluation, AssetMaterialization, AssetObservation, DagsterInstance, build_sensor_context

from lol_platform.batch import summary
from lol_platform.freshness import probes
from lol_platform.freshness.definitions import CHECKS, FreshnessSettings, daily_verdict, freshness_sensor, landing_verdict, now_utc, stream_verdict

pytestmark = pytest.mark.stack
UTC = dt.timezone.utc


def test_a_date_unpublished_past_its_deadline_fails_and_passes_once_published(cassandra, unique_name):
    day = dt.date(2025, 6, 1) + dt.timedelta(days=zlib.crc32(unique_name.encode()) % 300)  # this test's date only
    settings = FreshnessSettings(deadline_hours=6, republish_grace_minutes=60, lookback_days=3)
    with DagsterInstance.ephemeral() as instance:
        # Data of an old date lands now (the instance stamps it): it is due within the grace, an hour.
        instance.report_runless_asset_event(AssetMaterialization("raw_matches", partition=day.isoformat()))
        landed = probes.landed_at(instance, "raw_matches", [day])[day]
        now = landed + dt.timedelta(hours=2)
        settings = settings.model_copy(update={"lookback_days": (now.date() - day).days})  # reach back to the date
        late = daily_verdict(instance, cassandra, settings, "champion_stats", now)
        assert not late.passed
        assert late.description == f"champion_stats of {day} not published; due {landed + dt.timedelta(hours=1):%Y-%m-%d %H:%M} UTC, late by 1h 00m"

        rows = summary.stats_rows("champion_stats", [day], {str(day): 10}, {str(day): 20}, now_utc(), None)
        summary.write(cassandra, rows)
        try:
            on_time = daily_verdict(instance, cassandra, settings, "champion_stats", now)
            assert on_time.passed, on_time.description
            # The other serving tables of the date are still unpublished: their own checks still fail.
            assert not daily_verdict(instance, cassandra, settings, "position_stats", now).passed
        finally:
            cassandra.session().execute("DELETE FROM lol_data.date_summary WHERE match_date = %s", [day])


def test_a_stopped_landing_is_flagged_while_kafka_holds_data_and_passes_once_consumed(kafka, cassandra, unique_name):
    produced_ms = int((time.time() - 3600) * 1000)  # messages produced an hour ago that nobody consumed
    producer = kafka.producer()
    for i in range(7):
        producer.produce(kafka.topic, value=b"{}", key=f"k{i}".encode(), timestamp=produced_ms)
    assert producer.flush(30) == 0
    settings = FreshnessSettings(batch_group=f"batch_{unique_name}", stream_group=f"stream_{unique_name}", landing_max_lag_minutes=10)

    with DagsterInstance.ephemeral() as instance:
        stalled = landing_verdict(instance, kafka, settings, now_utc())
        assert not stalled.passed
        assert stalled.metadata["kafka_lag_messages"] == 7 and stalled.metadata["oldest_waiting_age_s"] >= 3600
        assert f"7 messages on {kafka.topic} not consumed by group batch_{unique_name}, the oldest for 1h 00m" in stalled.description
        assert "late by 50m" in stalled.description
        assert stalled.metadata["last_landing"] == "never"
        assert not stream_verdict(kafka, settings, now_utc()).passed  # the stream group is behind too

        # The sensor reports the same as check evaluations, and both groups' lag as numeric observations.
        with build_sensor_context(instance=instance, resources={"kafka": kafka, "cassandra": cassandra, "freshness": settings}) as context:
            result = freshness_sensor(context)
        evaluations = {e.check_name: e for e in result.asset_events if isinstance(e, AssetCheckEvaluation)}
        assert set(evaluations) == {c.name for c in CHECKS}
        assert not evaluations["raw_matches_landing_freshness"].passed and "late by 50m" in evaluations["raw_matches_landing_freshness"].description
        lags = {e.asset_key.to_user_string(): e.metadata["kafka_lag_messages"].value for e in result.asset_events if isinstance(e, AssetObservation)}
        assert lags == {"raw_matches": 7, "match_stream_index": 7}

        ends = probes.consumer_lag(kafka, settings.batch_group).ends
        kafka.commit(settings.batch_group, ends)  # the landing caught up
        caught_up = landing_verdict(instance, kafka, settings, now_utc())
        assert caught_up.passed and caught_up.metadata["kafka_lag_messages"] == 0
