"""Write-audit-publish of the lake (spark_jobs.lake_commit) on a file:// lake: a commit swaps exactly the staged
dates, an abort or a dead uncommitted run leaves the live lake as it was, and a commit killed at any rename is
finished by recover() into the same state as an uninterrupted one."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from lol_core.dates import DateRange
from lol_core.lake_paths import PartitionedTable
from spark_jobs import lake_commit
from spark_jobs.lake_commit import Staging

pytestmark = pytest.mark.spark

TABLES = [PartitionedTable("data/t_one", "match_date"), PartitionedTable("data/t_two", "match_date")]
D1, D2, D3, OUTSIDE = dt.date(2026, 1, 1), dt.date(2026, 1, 2), dt.date(2026, 1, 3), dt.date(2026, 1, 9)
RANGE = DateRange(D1, D3)


def put(root: Path, table: PartitionedTable, day: dt.date, content: str) -> None:
    directory = root / table.path / f"{table.partition_column}={day}"
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "part-0.parquet").write_text(content)


def state(root: Path) -> dict[str, str]:
    """Every live data file and its content (the staging area aside)."""
    return {
        str(f.relative_to(root)): f.read_text()
        for f in sorted(root.rglob("*"))
        if f.is_file() and not f.name.startswith(".") and lake_commit.STAGING_DIR not in f.parts
    }


def setup_lake(path: Path, name: str = "run1.asset") -> Staging:
    """Live: old rows on D1, D2 and OUTSIDE in both tables. Staged: new rows on D1 and D3 (D2 now empty)."""
    for table in TABLES:
        for day in (D1, D2, OUTSIDE):
            put(path, table, day, f"old {day}")
    staging = Staging(path.as_uri(), name)
    staged_root = path / lake_commit.STAGING_DIR / name
    for table in TABLES:
        for day in (D1, D3):
            put(staged_root, table, day, f"new {day}")
    return staging


def expected_after_commit() -> dict[str, str]:
    return {
        f"{t.path}/match_date={day}/part-0.parquet": text
        for t in TABLES
        for day, text in ((D1, f"new {D1}"), (D3, f"new {D3}"), (OUTSIDE, f"old {OUTSIDE}"))
    }


def test_a_commit_swaps_in_exactly_the_staged_dates_and_leaves_no_staging(spark, tmp_path):
    staging = setup_lake(tmp_path)
    lake_commit.commit(spark, staging, TABLES, RANGE)
    assert state(tmp_path) == expected_after_commit()  # D2 emptied, OUTSIDE untouched
    assert lake_commit.leftovers(spark, staging.root) == []


def test_an_abort_or_a_dead_uncommitted_run_leaves_the_live_lake_as_it_was(spark, tmp_path):
    staging = setup_lake(tmp_path)
    before = state(tmp_path)
    lake_commit.abort(spark, staging)
    assert state(tmp_path) == before and lake_commit.leftovers(spark, staging.root) == []

    dead = setup_lake(tmp_path, "run2.asset")
    assert lake_commit.recover(spark, dead.root, is_active=lambda name: False) == {"run2.asset": "rolled_back"}
    assert state(tmp_path) == before and lake_commit.leftovers(spark, dead.root) == []


def test_a_running_writers_staging_is_left_alone(spark, tmp_path):
    staging = setup_lake(tmp_path)
    assert lake_commit.recover(spark, staging.root, is_active=lambda name: name == "run1.asset") == {}
    assert lake_commit.leftovers(spark, staging.root) == ["run1.asset"]


class Killed(Exception):
    pass


def renames_in_a_commit(spark, tmp_path: Path) -> int:
    staging = setup_lake(tmp_path / "count")
    calls = []
    real = lake_commit._rename
    lake_commit._rename = lambda fs, a, b: (calls.append(1), real(fs, a, b))[1]
    try:
        lake_commit.commit(spark, staging, TABLES, RANGE)
    finally:
        lake_commit._rename = real
    return len(calls)


def test_a_commit_killed_at_any_rename_is_finished_by_recover(spark, tmp_path, monkeypatch):
    total = renames_in_a_commit(spark, tmp_path)
    assert total >= 6  # the COMMIT record + live-aside and staged-live moves of every table and date
    for kill_at in range(total):
        lake = tmp_path / f"kill{kill_at}"
        staging = setup_lake(lake)
        calls = []
        real = lake_commit._rename

        def dying_rename(fs, source, target):
            if len(calls) == kill_at:
                raise Killed(f"killed before rename {kill_at}")
            calls.append(1)
            return real(fs, source, target)

        monkeypatch.setattr(lake_commit, "_rename", dying_rename)
        with pytest.raises(Killed):
            lake_commit.commit(spark, staging, TABLES, RANGE)
        monkeypatch.setattr(lake_commit, "_rename", real)
        outcome = lake_commit.recover(spark, staging.root, is_active=lambda name: False)
        # Killed before the COMMIT record was renamed into place (rename 0): rolled back, the old state intact.
        old = {f"{t.path}/match_date={day}/part-0.parquet": f"old {day}" for t in TABLES for day in (D1, D2, OUTSIDE)}
        assert state(lake) == (expected_after_commit() if kill_at > 0 else old), kill_at
        assert outcome == {"run1.asset": "rolled_forward" if kill_at > 0 else "rolled_back"}
        assert lake_commit.leftovers(spark, staging.root) == []
