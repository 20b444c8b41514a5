"""Freshness rules, pure: given what the probes saw and the time, is a table on time, and if not, by how much.

- Daily tables: a date is due `deadline` after it ends (UTC); by then it must be published (a row in
  lol_data.date_summary) and complete (published after the date's last landing). Data that lands after the
  deadline makes the date due again `republish_grace` after it landed. "Published" is the time the publishing
  run started (what landed later is not in it).
- Kafka consumers (landing, stream): late when the oldest message the group has not consumed is older than
  the bound; lag in messages is reported either way.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field

DAY = dt.timedelta(days=1)


@dataclass(frozen=True)
class Verdict:
    passed: bool
    description: str
    metadata: dict = field(default_factory=dict)


def human(delta: dt.timedelta) -> str:
    """2h 05m, 3m 12s, 40s: how late, for a person."""
    seconds = max(int(delta.total_seconds()), 0)
    days, seconds = divmod(seconds, 86400)
    hours, seconds = divmod(seconds, 3600)
    minutes, seconds = divmod(seconds, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes:02d}m"
    return f"{minutes}m {seconds:02d}s" if minutes else f"{seconds}s"


def dates_due(now: dt.datetime, deadline: dt.timedelta, lookback_days: int, first: dt.date | None = None) -> list[dt.date]:
    """The `lookback_days` newest dates whose deadline has passed, newest first."""
    newest = (now - deadline).date() - DAY
    dates = [newest - i * DAY for i in range(lookback_days)]
    return [d for d in dates if first is None or d >= first]


def due_at(day: dt.date, deadline: dt.timedelta, landed_at: dt.datetime | None, grace: dt.timedelta) -> dt.datetime:
    """When the date must be published: its deadline, or later if data landed late."""
    end = dt.datetime.combine(day + DAY, dt.time(), dt.timezone.utc)
    return max(end + deadline, landed_at + grace) if landed_at else end + deadline


def judge_daily(
    table: str, now: dt.datetime, deadline: dt.timedelta, grace: dt.timedelta, dates: list[dt.date],
    landed: Mapping[dt.date, dt.datetime | None], published: Mapping[dt.date, dt.datetime | None],
) -> Verdict:  # fmt: skip
    """Each due date with landed data must be published after its last landing; otherwise say how late."""
    late, checked = [], {}
    for day in dates:
        landed_at, published_at = landed.get(day), published.get(day)
        checked[str(day)] = {"landed_at": _iso(landed_at), "published_at": _iso(published_at)}
        if landed_at is None:
            continue  # nothing landed: nothing to publish (a stalled landing is raw_matches' own check)
        if published_at is not None and published_at >= landed_at:
            continue
        due = due_at(day, deadline, landed_at, grace)
        if now <= due:
            continue
        state = "not published" if published_at is None else f"published {_iso(published_at)} before its last landing {_iso(landed_at)}"
        late.append((day, now - due, f"{table} of {day} {state}; due {due:%Y-%m-%d %H:%M} UTC, late by {human(now - due)}"))
    metadata = {"dates_checked": checked, "late_dates": len(late), "deadline_hours": deadline.total_seconds() / 3600,
                "max_late_s": max((d.total_seconds() for _, d, _ in late), default=0.0)}  # fmt: skip
    if late:
        return Verdict(False, "; ".join(text for _, _, text in late), metadata)
    return Verdict(True, f"{table}: every date due ({', '.join(map(str, dates)) or 'none'}) is published and complete", metadata)


@dataclass(frozen=True)
class ConsumerLag:
    """A consumer group on a topic: per partition the group's committed offset and the end offset, and the
    timestamp of the oldest message it has not consumed (None when it is caught up)."""

    group: str
    topic: str
    committed: dict[int, int]
    ends: dict[int, int]
    oldest_waiting: dt.datetime | None

    @property
    def messages(self) -> int:
        return sum(max(end - max(self.committed.get(p, 0), 0), 0) for p, end in self.ends.items())


def judge_consumer(what: str, lag: ConsumerLag, now: dt.datetime, bound: dt.timedelta) -> Verdict:
    """Late when a message has waited longer than the bound for the group to consume it."""
    age = now - lag.oldest_waiting if lag.oldest_waiting else dt.timedelta(0)
    metadata = {"kafka_lag_messages": lag.messages, "oldest_waiting_age_s": round(age.total_seconds(), 1),
                "bound_s": bound.total_seconds(), "consumer_group": lag.group, "topic": lag.topic}  # fmt: skip
    if lag.messages and age > bound:
        return Verdict(
            False,
            f"{what} is behind: {lag.messages:,} messages on {lag.topic} not consumed by group {lag.group}, the oldest for "
            f"{human(age)} (bound {human(bound)}), late by {human(age - bound)}",
            metadata,
        )
    return Verdict(True, f"{what}: {lag.messages:,} messages waiting, oldest {human(age)} (bound {human(bound)})", metadata)


def _iso(value: dt.datetime | None) -> str | None:
    return value.strftime("%Y-%m-%d %H:%M:%S UTC") if value else None
