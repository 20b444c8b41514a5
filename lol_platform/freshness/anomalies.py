"""Anomaly rules, pure: a date's match volume, or a champion's win rate, far outside its trailing window.

- Volume: robust z-score against the trailing dates (median and median absolute deviation), so one odd day
  in the window does not hide the next; with a flat window (MAD 0) a relative change beyond `flat_change`.
- Win rate: a champion with enough games whose win rate is more than `sigmas` binomial standard errors (at
  its games count) from its trailing rate, and at least `min_points` percentage points away.
"""

from __future__ import annotations

import datetime as dt
import math
import statistics
from collections.abc import Mapping

from lol_platform.freshness.rules import Verdict


def judge_volume(day: dt.date, matches: int | None, trailing: Mapping[dt.date, int], max_z: float = 3.5,
                 flat_change: float = 0.5, min_history: int = 5) -> Verdict:  # fmt: skip
    """The date's match count against the trailing dates' counts."""
    history = [v for _, v in sorted(trailing.items())]
    meta = {"date": str(day), "matches": matches, "trailing_dates": len(history)}
    if matches is None:
        return Verdict(True, f"{day} not published yet: nothing to compare", meta)
    if len(history) < min_history:
        return Verdict(True, f"{day}: {matches:,} matches; only {len(history)} trailing dates (need {min_history})", meta)
    median = statistics.median(history)
    mad = statistics.median(abs(v - median) for v in history)
    meta.update(trailing_median=median, trailing_mad=mad)
    if mad:
        z = 0.6745 * (matches - median) / mad
        meta["robust_z"] = round(z, 2)
        off = abs(z) > max_z
    else:
        change = abs(matches - median) / median if median else (1.0 if matches else 0.0)
        meta["relative_change"] = round(change, 3)
        off = change > flat_change
    text = f"{day}: {matches:,} matches against a trailing median of {median:,.0f} over {len(history)} dates"
    return Verdict(not off, ("far outside its window: " if off else "") + text, meta)


def judge_win_rates(day: dt.date, today: Mapping[str, tuple[int, float]], trailing: Mapping[str, tuple[int, int]],
                    min_games: int = 30, sigmas: float = 4.0, min_points: float = 10.0) -> Verdict:  # fmt: skip
    """today: champion -> (games, win rate %); trailing: champion -> (games, wins) over the window."""
    if not today:
        return Verdict(True, f"{day} not published yet: nothing to compare", {"date": str(day)})
    outliers = {}
    for champion, (games, rate) in sorted(today.items()):
        past_games, past_wins = trailing.get(champion, (0, 0))
        if games < min_games or past_games < min_games:
            continue
        base = 100.0 * past_wins / past_games
        stderr = math.sqrt(max(base * (100 - base), 1.0) / games)  # percentage points, at today's games
        if abs(rate - base) > max(sigmas * stderr, min_points):
            outliers[champion] = {"win_rate": round(rate, 1), "trailing_win_rate": round(base, 1), "games": games}
    meta = {"date": str(day), "champions_compared": sum(1 for c, (g, _) in today.items() if g >= min_games), "outliers": outliers}
    if outliers:
        shown = ", ".join(f"{c} {o['win_rate']}% (trailing {o['trailing_win_rate']}%, {o['games']} games)" for c, o in list(outliers.items())[:5])
        return Verdict(False, f"{day}: {len(outliers)} champions' win rate far outside their trailing window: {shown}", meta)
    return Verdict(True, f"{day}: every champion's win rate is within its trailing window", meta)
