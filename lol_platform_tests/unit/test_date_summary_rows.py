"""The per-date summary rows the batch assets write (lol_platform/batch/summary.py), shaped without Cassandra."""

from __future__ import annotations

import datetime as dt

from lol_core.schemas import names, DATE_SUMMARY
from lol_platform.batch.summary import participant_rows, stats_rows

AT = dt.datetime(2026, 11, 24, 6, tzinfo=dt.timezone.utc)
D1, D2 = dt.date(2026, 11, 22), dt.date(2026, 11, 23)


def test_participant_rows_count_rows_matches_and_quarantine_per_date_and_zero_for_an_emptied_date():
    index = {D1: {"A": 10, "B": 10, "C": 9}}
    rows = participant_rows([D1, D2], index, {D1: 7}, AT, "run1")
    assert [(r["match_date"], r["row_count"], r["match_count"], r["quarantined_rows"]) for r in rows] == [(D1, 29, 3, 7), (D2, 0, 0, 0)]
    assert all(set(r) == set(names(DATE_SUMMARY)) and r["table_name"] == "match_participants" for r in rows)


def test_stats_rows_count_rows_and_matches_from_games_played():
    rows = stats_rows("champion_stats", [D1, D2], {str(D1): 120}, {str(D1): 300}, AT, None)
    assert [(r["match_date"], r["row_count"], r["match_count"], r["quarantined_rows"]) for r in rows] == [(D1, 120, 30, None), (D2, 0, 0, None)]
