"""The fault-injection suite's judges (lol_platform_tests/chaos/support.py), on made-up answers: a reader's
answer is a complete published set or it is counted as a partial read; a store's rows are lost or doubled."""

from __future__ import annotations

import datetime as dt

from lol_platform_tests.chaos.support import Observation, judge_reads, lost_and_doubled

DAY = dt.date(2025, 1, 7)
# The date's valid matches in topic order (m2 was sent twice: its second copy changes nothing).
ORDER = {DAY: [("m1", 10), ("m2", 10), ("m2", 10), ("m3", 10)]}


def _read(at: float, *matches: str, torn=()) -> Observation:
    return Observation(DAY, frozenset((m, 10) for m in matches), tuple(torn), at, at)


def test_complete_sets_in_topic_order_are_not_partial():
    reads = [_read(1), _read(2, "m1"), _read(3, "m1", "m2"), _read(4, "m1", "m2", "m3"), _read(5, "m1", "m2", "m3")]
    assert judge_reads(reads, ORDER) == []


def test_a_set_no_run_could_publish_is_partial():
    (partial,) = judge_reads([_read(1, "m1"), _read(2, "m1", "m3")], ORDER)  # m3 without m2: half of a new set
    assert "no prefix" in partial["why"]


def test_an_answer_emptier_than_one_already_seen_is_partial():
    partial = judge_reads([_read(1, "m1", "m2"), _read(2), _read(3, "m1"), _read(4, "m1", "m2")], ORDER)
    assert [p["at"] for p in partial] == [2, 3]  # the empty window and the old-minus-one set
    assert all("emptier" in p["why"] for p in partial)


def test_an_indexed_match_without_all_its_rows_is_partial():
    (partial,) = judge_reads([_read(1, "m1", torn=[("m1", 4)])], ORDER)
    assert "without all their rows" in partial["why"]


def test_an_unknown_match_is_partial():
    assert judge_reads([Observation(DAY, frozenset({("zz", 10)}), (), 1, 1)], ORDER)


def test_lost_and_doubled_rows():
    expected = {("m1", 1), ("m1", 2), ("m2", 1)}
    assert lost_and_doubled(expected, [("m1", 1), ("m1", 2), ("m2", 1)]) == (0, 0)
    assert lost_and_doubled(expected, [("m1", 1), ("m1", 1), ("m2", 1)]) == (1, 1)  # m1/2 lost, m1/1 twice
    assert lost_and_doubled(expected, [("m1", 1), ("m1", 2), ("m2", 1), ("x", 9)]) == (0, 1)  # a stray row
