"""The spark-submit entry points end to end on a file:// lake: layout, formats, stale dates, idempotent re-runs."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from lol_core import lake_paths
from lol_core.dates import DateRange
from lol_core.schemas import RAW_PARTICIPANTS, arrow_schema
from spark_jobs import champion_stats_job, clean_participants_job, jobs, lake_commit, lake_io, position_stats_job
from spark_jobs.aggregates import champion_stats
from spark_jobs.cleaning import clean_participants

from .sample_matches import DAY, match_one, match_two, raw_frame, two_matches

pytestmark = pytest.mark.spark

GAP_DAY = DAY + dt.timedelta(days=1)  # no raw data: skipped on read, and any old output there is removed
LAST_DAY = DAY + dt.timedelta(days=2)
ALL_DAYS = DateRange(DAY, LAST_DAY)


def write_raw(lake: Path, day: dt.date, name: str, rows: list[dict]) -> None:
    directory = lake / lake_paths.RAW_MATCHES / f"{day:%Y/%m/%d}"
    directory.mkdir(parents=True, exist_ok=True)
    table = pa.Table.from_pylist(rows, schema=arrow_schema(RAW_PARTICIPANTS))
    pq.write_table(table, directory / name, compression="snappy")


def run_all_jobs(root: str, dates: DateRange) -> None:
    args = ["--date", dates.start.isoformat(), "--end-date", dates.end.isoformat(), "--lake-root", root]
    for job in (clean_participants_job, champion_stats_job, position_stats_job):
        assert job.main(args) == 0


def partition_dirs(lake: Path, table: lake_paths.PartitionedTable) -> list[str]:
    return sorted(p.name for p in (lake / table.path).iterdir() if p.is_dir())


def snapshot(spark, root: str) -> dict[str, list]:
    """Every table's rows, read back from the lake (quarantined_at aside: it records when a run happened)."""
    return {
        "cleaned": sorted(lake_io.read_cleaned(spark, root, ALL_DAYS).collect()),
        "champion_stats": sorted(lake_io.read_champion_stats(spark, root, ALL_DAYS).collect()),
        "position_stats": sorted(lake_io.read_position_stats(spark, root, ALL_DAYS).collect()),
        "quarantine": sorted(lake_io.read_quarantine(spark, root, ALL_DAYS).drop("quarantined_at").collect()),
    }


@pytest.fixture(scope="module")
def lake(spark, tmp_path_factory):
    """A lake with raw data on DAY (2 good matches + one of 9 rows) and LAST_DAY, none on GAP_DAY; the jobs
    run over DAY..LAST_DAY, twice. Returns (lake path, root URI, snapshot after run 1, after run 2)."""
    path = tmp_path_factory.mktemp("lake")
    root = path.as_uri()
    write_raw(path, DAY, "lol_matches-0-100-299.parquet", two_matches())
    write_raw(path, DAY, "lol_matches-0-300-300.parquet", match_one(DAY, match_id="EUW1_9", offset=300)[:9])
    write_raw(path, LAST_DAY, "lol_matches-0-400-400.parquet", match_two(LAST_DAY, match_id="EUW1_3", offset=400))
    (path / lake_paths.RAW_MATCHES / f"{DAY:%Y/%m/%d}" / "_tmp.0123.lol_matches-0-500-599.parquet").write_bytes(b"half")
    stale = path / lake_paths.CLEANED_PARTICIPANTS.path / f"match_date={GAP_DAY}"
    stale.mkdir(parents=True)
    (stale / "part-old.parquet").write_bytes(b"left by an earlier run")

    run_all_jobs(root, ALL_DAYS)
    first = snapshot(spark, root)
    run_all_jobs(root, ALL_DAYS)
    return path, root, first, snapshot(spark, root)


def test_tables_are_partitioned_by_date_and_gap_days_hold_nothing(lake):
    path, _, _, _ = lake
    expected = [f"match_date={DAY}", f"match_date={LAST_DAY}"]
    assert partition_dirs(path, lake_paths.CLEANED_PARTICIPANTS) == expected  # the stale GAP_DAY is gone
    assert partition_dirs(path, lake_paths.CHAMPION_STATS) == [f"stat_date={DAY}", f"stat_date={LAST_DAY}"]
    assert partition_dirs(path, lake_paths.POSITION_STATS) == [f"stat_date={DAY}", f"stat_date={LAST_DAY}"]
    assert partition_dirs(path, lake_paths.CLEAN_QUARANTINE) == [f"date={DAY}"]
    assert (path / "data/lol_quarantine/stage=clean").is_dir()


def test_lake_output_equals_the_in_memory_transformations(spark, lake):
    _, root, first, _ = lake
    raw = raw_frame(spark, two_matches() + match_one(DAY, match_id="EUW1_9", offset=300)[:9])
    raw = raw.unionByName(raw_frame(spark, match_two(LAST_DAY, match_id="EUW1_3", offset=400)))
    expected = clean_participants(raw)
    assert first["cleaned"] == sorted(expected.cleaned.collect())
    assert len(first["cleaned"]) == 30
    assert {(row.match_id, row.reason, row.stage) for row in first["quarantine"]} == {
        ("EUW1_9", "match.participants: 9 participants; match.team_size: team 200 has 4 participants", "clean")
    }
    # the whole quarantine table reads with its stage from the directory layout
    whole = spark.read.parquet(f"{root}/data/lol_quarantine").select("stage", "date").distinct().collect()
    assert [tuple(row) for row in whole] == [("clean", DAY)]
    champions = {(row.stat_date, row.champion_name): row for row in first["champion_stats"]}
    assert champions[(DAY, "Ahri")].avg_kda == pytest.approx(10.0)
    assert champions[(LAST_DAY, "Ahri")].pick_rate == 100.0
    assert len(champions) == len(champion_stats(expected.cleaned).collect())


def test_rerunning_the_same_dates_leaves_identical_output(lake):
    _, _, first, second = lake
    assert first == second


def test_files_are_snappy_parquet_with_microsecond_utc_timestamps(lake):
    path = lake[0]
    files = sorted((path / lake_paths.CLEANED_PARTICIPANTS.path).glob("match_date=*/*.parquet"))
    assert files
    for file in files:
        parquet = pq.ParquetFile(file)
        assert parquet.schema_arrow.field("game_creation").type == pa.timestamp("us", tz="UTC")  # not INT96
        assert parquet.metadata.row_group(0).column(0).compression == "SNAPPY"


def test_a_range_with_no_raw_data_writes_nothing(spark, tmp_path):
    root = tmp_path.as_uri()
    assert lake_io.read_raw(spark, root, ALL_DAYS).count() == 0
    clean_participants_job.main(["--date", DAY.isoformat(), "--lake-root", root])
    assert lake_io.read_cleaned(spark, root, DateRange(DAY, DAY)).count() == 0


def test_raw_files_of_foreign_types_are_still_read_and_cleaned(spark, tmp_path):
    """One file as our sensor writes it, one from a writer that stored every column as text."""
    write_raw(tmp_path, DAY, "ours.parquet", match_one(DAY))
    rows = match_two(DAY)
    texts = {name: [None if row[name] is None else str(row[name]) for row in rows] for name in rows[0]}
    texts["team_bans"] = ["[157, 238, 99]"] * 5 + ["[157, 99]"] * 5
    texts["game_creation"] = ["2026-01-01 12:00:00"] * 10
    texts["ingested_at"] = ["2026-01-01 13:00:00"] * 10
    directory = tmp_path / lake_paths.RAW_MATCHES / f"{DAY:%Y/%m/%d}"
    pq.write_table(pa.table(texts), directory / "foreign.parquet")

    result = clean_participants(lake_io.read_raw(spark, tmp_path.as_uri(), DateRange(DAY, DAY)))
    assert result.quarantine.count() == 0
    expected = clean_participants(raw_frame(spark, two_matches())).cleaned
    assert sorted(result.cleaned.collect()) == sorted(expected.collect())


def test_the_judging_gets_a_task_per_rows_per_task_rows_and_never_fewer_than_the_shuffle_partitions():
    assert jobs.tasks_for(0, minimum=8, rows_per_task=100_000) == 8
    assert jobs.tasks_for(1_000_000, minimum=8, rows_per_task=100_000) == 10  # a real day
    assert jobs.tasks_for(3_000_001, minimum=8, rows_per_task=100_000) == 31  # 30 such days in one backfill run
    with pytest.raises(ValueError, match="spark.lol.clean.rowsPerTask"):
        jobs.tasks_for(10, minimum=8, rows_per_task=0)


def test_the_outcome_does_not_depend_on_how_many_tasks_judge_the_rows(spark, lake):
    """The rows judged in 13 tasks of 3 rows (the setting a big run scales by) give exactly the outputs of the
    session's 4 tasks: every grouping is by keys that start with match_id, however the rows are split."""
    _, root, first, _ = lake
    staging = lake_commit.Staging(root, "test-rows-per-task")
    spark.conf.set(jobs.ROWS_PER_TASK_SETTING, "3")
    try:
        run = jobs.clean_dates(spark, root, ALL_DAYS, staging)
        cleaned = sorted(lake_io.read_cleaned(spark, staging.uri, ALL_DAYS).collect())
        quarantine = sorted(lake_io.read_quarantine(spark, staging.uri, ALL_DAYS).drop("quarantined_at").collect())
    finally:
        spark.conf.unset(jobs.ROWS_PER_TASK_SETTING)
        lake_commit.abort(spark, staging)
    assert (run.rows_in, run.tasks) == (39, 13)
    assert cleaned == first["cleaned"] and len(cleaned) == 30
    assert quarantine == first["quarantine"]
    assert jobs.judging_tasks(spark, 39) == 4  # the setting is gone again: the session's 4 shuffle partitions


def test_job_arguments(capsys):
    with pytest.raises(SystemExit):
        clean_participants_job.main(["--date", "2026-01-02", "--end-date", "2026-01-01", "--lake-root", "file:///x"])
    assert "before" in capsys.readouterr().err


def test_the_quarantine_is_one_table_of_both_stages_counted_by_stage_and_rule(spark, lake, tmp_path):
    """The door's quarantine (written by the landing through pyarrow) and the clean stage's (written by Spark)
    share one layout, so the lol_quarantine asset reads and counts them as one table."""
    from lol_platform.ingestion.landing import build_batch, land_batch
    from lol_platform.resources import LakeResource
    from lol_platform.resources.kafka import KafkaMessage
    from spark_jobs.quarantine_counts import QuarantineCount, count_quarantine

    _, root, _, _ = lake
    land_batch(LakeResource(root=root), build_batch([KafkaMessage("lol_matches", 0, 7, b"{not json"), KafkaMessage("lol_matches", 0, 8, None)],
                                                    dt.datetime.combine(DAY, dt.time(9), dt.timezone.utc)))  # fmt: skip
    whole = spark.read.parquet(f"{root}/{lake_paths.QUARANTINE_ROOT}")
    assert sorted(tuple(r) for r in whole.select("stage", "date").distinct().collect()) == [("clean", DAY), ("ingest", DAY)]
    counts = count_quarantine(spark, f"{root}/{lake_paths.QUARANTINE_ROOT}")
    assert counts == [
        QuarantineCount("clean", "match.participants", 9, 1, DAY.isoformat()),
        QuarantineCount("ingest", "message.empty", 1, 1, DAY.isoformat()),
        QuarantineCount("ingest", "message.not_json", 1, 1, DAY.isoformat()),
    ]
    assert count_quarantine(spark, f"{tmp_path.as_uri()}/{lake_paths.QUARANTINE_ROOT}") == []  # nothing refused yet
