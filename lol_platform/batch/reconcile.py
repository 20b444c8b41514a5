"""Lake vs Cassandra, on content: pure comparisons the batch assets' reconciliation checks are built from.

A published date is compared three ways: the set of matches and their participant counts (the whole date,
from the index partition), every column of a deterministic sample of matches (read back row by row), and,
for stats, every row and column of the date. Values are normalized to what both stores can hold: Cassandra
keeps timestamps to the millisecond, so timestamps compare as epoch milliseconds.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable, Mapping

EXAMPLES = 5


def normalize(value):
    """One comparable form for a value read from either store."""
    if isinstance(value, dt.datetime):
        aware = value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)
        return int(aware.timestamp() * 1000)
    if isinstance(value, dt.date):
        return value
    if hasattr(value, "date") and callable(value.date) and type(value).__name__ == "Date":  # cassandra.util.Date
        return value.date()
    if isinstance(value, (list, tuple)):
        return tuple(normalize(v) for v in value)
    return value


def sample_keys(keys: Iterable[str], size: int) -> list[str]:
    """A deterministic, well-spread sample: the keys with the smallest digests (same sample on every run)."""
    return sorted(keys, key=lambda k: hashlib.blake2b(k.encode(), digest_size=8).digest())[:size]


def diff_index(lake: Mapping[str, int], cassandra: Mapping[str, int]) -> dict:
    """A date's matches (match_id -> participants) in the lake vs Cassandra's index; {} when they agree."""
    missing = sorted(set(lake) - set(cassandra))
    extra = sorted(set(cassandra) - set(lake))
    differing = sorted(m for m in set(lake) & set(cassandra) if lake[m] != cassandra[m])
    if not (missing or extra or differing):
        return {}
    return {
        "missing_matches": len(missing),
        "extra_matches": len(extra),
        "participant_counts_differ": len(differing),
        "examples": (missing + extra + differing)[:EXAMPLES],
    }


def diff_rows(lake_rows: list[dict], cassandra_rows: list[dict], key: tuple[str, ...], columns: list[str]) -> dict:
    """Rows keyed by `key`, compared on `columns`; {} when every row and value agrees."""

    def by_key(rows):
        return {tuple(normalize(r[k]) for k in key): r for r in rows}

    lake, stored = by_key(lake_rows), by_key(cassandra_rows)
    missing = sorted(set(lake) - set(stored), key=str)
    extra = sorted(set(stored) - set(lake), key=str)
    differing = []
    for k in sorted(set(lake) & set(stored), key=str):
        columns_off = [c for c in columns if normalize(lake[k][c]) != normalize(stored[k].get(c))]
        if columns_off:
            differing.append({"key": [str(v) for v in k], "columns": columns_off})
    if not (missing or extra or differing):
        return {}
    return {
        "rows_compared": len(lake),
        "missing_rows": len(missing),
        "extra_rows": len(extra),
        "rows_differ": len(differing),
        "examples": ([{"missing": [str(v) for v in k]} for k in missing] + [{"extra": [str(v) for v in k]} for k in extra] + differing)[:EXAMPLES],
    }
