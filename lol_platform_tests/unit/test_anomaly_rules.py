"""Anomaly rules (lol_platform/freshness/anomalies.py): volume and win rate far outside the trailing window."""

from __future__ import annotations

import datetime as dt

from lol_platform.freshness.anomalies import judge_volume, judge_win_rates

D = dt.date(2026, 11, 22)


def _window(values):
    return {D - dt.timedelta(days=i + 1): v for i, v in enumerate(values)}


WINDOW = _window([1000, 1040, 980, 1010, 995, 1020, 970, 1005])


def test_a_normal_day_passes_and_a_collapsed_or_doubled_one_is_flagged():
    assert judge_volume(D, 1015, WINDOW).passed
    low = judge_volume(D, 300, WINDOW)
    assert not low.passed and low.description.startswith("far outside its window: 2026-11-22: 300 matches against a trailing median of 1,002")
    assert low.metadata["robust_z"] < -3.5
    assert not judge_volume(D, 2100, WINDOW).passed


def test_one_odd_day_in_the_window_does_not_hide_the_next():
    odd = {**WINDOW, D - dt.timedelta(days=1): 9000}
    assert not judge_volume(D, 300, odd).passed


def test_a_flat_window_uses_the_relative_change_and_short_history_passes():
    flat = _window([500] * 6)
    assert judge_volume(D, 600, flat).passed and not judge_volume(D, 800, flat).passed
    assert judge_volume(D, 5, _window([500, 500])).passed  # two dates are no baseline
    assert judge_volume(D, None, WINDOW).passed  # not published yet: the freshness check's business


def test_a_champions_win_rate_far_from_its_trailing_rate_is_flagged_with_enough_games():
    trailing = {"Ahri": (1000, 500), "Zed": (1000, 480), "Lux": (20, 10)}
    today = {"Ahri": (200, 80.0), "Zed": (200, 52.0), "Lux": (200, 90.0)}
    verdict = judge_win_rates(D, today, trailing)
    assert not verdict.passed and set(verdict.metadata["outliers"]) == {"Ahri"}  # Lux has too little history
    assert "Ahri 80.0% (trailing 50.0%, 200 games)" in verdict.description


def test_few_games_are_noise_not_an_anomaly():
    assert judge_win_rates(D, {"Ahri": (10, 90.0)}, {"Ahri": (1000, 500)}).passed  # under min_games
    assert judge_win_rates(D, {"Ahri": (40, 70.0)}, {"Ahri": (1000, 500)}).passed  # 20 points, but 40 games: within 4 SE


def test_a_date_without_stats_passes_saying_so():
    verdict = judge_win_rates(D, {}, {"Ahri": (1000, 500)})
    assert verdict.passed and "not published yet" in verdict.description
