"""Lake vs Cassandra comparisons: what counts as the same value, and what a difference reports."""

from __future__ import annotations

import datetime as dt

from cassandra.util import Date

from lol_platform.batch.reconcile import diff_index, diff_rows, normalize, sample_keys

DAY = dt.date(2025, 5, 1)


def test_values_of_both_stores_meet_in_one_form():
    assert normalize(Date(DAY)) == DAY
    # Cassandra keeps milliseconds; the lake keeps microseconds: compared at Cassandra's precision.
    assert normalize(dt.datetime(2025, 5, 1, 12, 0, 0, 123456)) == normalize(dt.datetime(2025, 5, 1, 12, 0, 0, 123000, tzinfo=dt.timezone.utc))
    assert normalize([1, 2]) == normalize((1, 2))
    assert normalize(0.1 + 0.2) != normalize(0.3)  # doubles travel exactly: no tolerance hides a change


def test_the_index_diff_names_missing_extra_and_miscounted_matches():
    assert diff_index({"a": 10, "b": 10}, {"b": 10, "a": 10}) == {}
    diff = diff_index({"a": 10, "b": 10, "c": 10}, {"a": 10, "b": 9, "d": 10})
    assert (diff["missing_matches"], diff["extra_matches"], diff["participant_counts_differ"]) == (1, 1, 1)
    assert diff["examples"] == ["c", "d", "b"]


def test_the_row_diff_finds_one_changed_value_among_many():
    lake = [{"k": str(i), "v": float(i), "when": dt.datetime(2025, 5, 1, 0, 0, i)} for i in range(50)]
    same = [dict(r, when=r["when"].replace(tzinfo=dt.timezone.utc)) for r in lake]
    assert diff_rows(lake, same, ("k",), ["v", "when"]) == {}
    changed = [dict(r) for r in same]
    changed[7]["v"] = 7.000001
    del changed[3]
    diff = diff_rows(lake, changed, ("k",), ["v", "when"])
    assert (diff["missing_rows"], diff["extra_rows"], diff["rows_differ"]) == (1, 0, 1)
    assert {"key": ["7"], "columns": ["v"]} in diff["examples"]


def test_the_sample_is_the_same_on_every_run_and_spread_over_the_keys():
    keys = [f"EUW1_{i}" for i in range(1000)]
    first, again = sample_keys(keys, 20), sample_keys(list(reversed(keys)), 20)
    assert first == again and len(set(first)) == 20
    assert max(int(k.split("_")[1]) for k in first) - min(int(k.split("_")[1]) for k in first) > 500
