"""Freshness rules (lol_platform/freshness/rules.py): when a date or a consumer is late, and by how much."""

from __future__ import annotations

import datetime as dt

from lol_platform.freshness.rules import ConsumerLag, dates_due, due_at, human, judge_consumer, judge_daily

UTC = dt.timezone.utc
DEADLINE, GRACE = dt.timedelta(hours=6), dt.timedelta(hours=1)
D = dt.date(2026, 11, 22)


def at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), UTC)


def test_a_date_is_due_its_deadline_after_it_ends():
    assert dates_due(at(D + dt.timedelta(1), 5, 59), DEADLINE, 2) == [D - dt.timedelta(1), D - dt.timedelta(2)]
    assert dates_due(at(D + dt.timedelta(1), 6), DEADLINE, 2) == [D, D - dt.timedelta(1)]
    assert dates_due(at(D + dt.timedelta(1), 6), DEADLINE, 3, first=D - dt.timedelta(1)) == [D, D - dt.timedelta(1)]


def test_late_data_moves_the_due_time_by_the_grace():
    assert due_at(D, DEADLINE, at(D, 20), GRACE) == at(D + dt.timedelta(1), 6)
    assert due_at(D, DEADLINE, at(D + dt.timedelta(1), 9), GRACE) == at(D + dt.timedelta(1), 10)


def test_an_unpublished_date_past_its_deadline_fails_saying_by_how_much_and_passes_once_published():
    now = at(D + dt.timedelta(1), 8, 30)
    landed = {D: at(D, 23)}
    late = judge_daily("champion_stats", now, DEADLINE, GRACE, [D], landed, {D: None})
    assert not late.passed
    assert late.description == "champion_stats of 2026-11-22 not published; due 2026-11-23 06:00 UTC, late by 2h 30m"
    assert late.metadata["late_dates"] == 1 and late.metadata["max_late_s"] == 9000
    assert judge_daily("champion_stats", now, DEADLINE, GRACE, [D], landed, {D: at(D + dt.timedelta(1), 1)}).passed


def test_a_date_published_before_its_last_landing_is_late_once_the_grace_is_over():
    landed = {D: at(D + dt.timedelta(1), 7)}  # late data after the deadline
    published = {D: at(D + dt.timedelta(1), 1)}
    assert judge_daily("t", at(D + dt.timedelta(1), 7, 59), DEADLINE, GRACE, [D], landed, published).passed
    stale = judge_daily("t", at(D + dt.timedelta(1), 8, 15), DEADLINE, GRACE, [D], landed, published)
    assert not stale.passed and "before its last landing" in stale.description and stale.description.endswith("late by 15m 00s")


def test_a_date_without_data_and_a_date_not_yet_due_pass():
    now = at(D + dt.timedelta(1), 5)
    assert judge_daily("t", now, DEADLINE, GRACE, [D], {D: None}, {D: None}).passed
    assert judge_daily("t", now, DEADLINE, GRACE, [D], {D: at(D, 12)}, {D: None}).passed  # due at 06:00


def _lag(committed, ends, oldest):
    return ConsumerLag("g", "topic", committed, ends, oldest)


def test_a_consumer_is_late_when_a_message_waited_longer_than_the_bound():
    now = at(D, 12)
    lag = _lag({0: 10, 1: 5}, {0: 15, 1: 5, 2: 3}, now - dt.timedelta(minutes=25))
    assert lag.messages == 8  # partition 2 never committed: all of it waits
    verdict = judge_consumer("landing", lag, now, dt.timedelta(minutes=10))
    assert not verdict.passed
    assert verdict.description.endswith("8 messages on topic not consumed by group g, the oldest for 25m 00s (bound 10m 00s), late by 15m 00s")
    assert verdict.metadata["kafka_lag_messages"] == 8 and verdict.metadata["oldest_waiting_age_s"] == 1500


def test_a_consumer_within_the_bound_or_caught_up_passes():
    now = at(D, 12)
    assert judge_consumer("x", _lag({0: 10}, {0: 12}, now - dt.timedelta(minutes=2)), now, dt.timedelta(minutes=10)).passed
    assert judge_consumer("x", _lag({0: 12}, {0: 12}, None), now, dt.timedelta(0)).passed


def test_human_durations():
    assert [human(dt.timedelta(seconds=s)) for s in (40, 192, 7500, 90000)] == ["40s", "3m 12s", "2h 05m", "1d 1h"]
