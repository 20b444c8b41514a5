"""One function per batch job, called by both the Dagster asset and the `spark-submit` entry point.

Each takes the session, the lake root, a DateRange and a Staging: it reads what the job needs from the live
lake and writes exactly those dates under the staging root (write-audit-publish, spark_jobs.lake_commit).
The caller audits the staged dates and commits them (`commit_clean`, `commit_stats`) or aborts: the assets
run their gates first; the entry points commit at once.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from lol_core import lake_paths
from lol_core.dates import DateRange
from spark_jobs import lake_commit, lake_io
from spark_jobs.lake_commit import Staging
from spark_jobs.aggregates import champion_stats, position_stats
from spark_jobs.cleaning import OUTCOME_REASON, judge_rows, rank_rows, split_outcome


@dataclass
class CleanRun:
    rows_in: int  # raw participant rows read
    quarantine_reasons: dict[str, int]  # clean-stage quarantine rows written, by reason
    cleaned_dates: list[dt.date]  # dates that hold cleaned rows once committed
    quarantine_dates: list[dt.date]  # dates that hold clean-stage quarantine rows once committed
    tasks: int  # Spark tasks the rows were judged in (judging_tasks)


# The tables a clean run replaces together.
CLEAN_TABLES = (lake_paths.CLEANED_PARTICIPANTS, lake_paths.MATCH_VERSIONS, lake_paths.CLEAN_QUARANTINE)


def clean_dates(spark: SparkSession, root: str, dates: DateRange, staging: Staging) -> CleanRun:
    """Raw matches of the dates -> cleaned participants (+ their match versions) + clean-stage quarantine,
    staged (read them under staging.uri; commit_clean makes them live)."""
    # Read once, shuffled once (by match_id), judged once. Each step is checkpointed: the rule expressions make
    # plans so large that planning and code generation, repeated per action, cost more CPU than the rows. A
    # checkpoint cuts the plan, and the cleaned rows, the quarantine and every count derive from it.
    raw = lake_io.read_raw(spark, root, dates)
    tasks = judging_tasks(spark, raw.count())  # counted from the Parquet footers
    with _session_settings(spark, {**ONE_SHUFFLE_SETTINGS, "spark.sql.shuffle.partitions": str(tasks)}):
        ranked = rank_rows(raw.repartition(tasks, "match_id")).localCheckpoint(eager=True)
        # One truth per matchId: copies kept on other dates take part in choosing each match's newest copy.
        elsewhere = lake_io.read_match_versions_elsewhere(spark, root, dates)
        outcome = judge_rows(ranked, versions_elsewhere=elsewhere).localCheckpoint(eager=True)
    try:
        counts = outcome.groupBy(F.col(OUTCOME_REASON)).count().collect()
        rows_in = sum(r["count"] for r in counts)
        result = split_outcome(outcome)
        cleaned_dates = lake_io.write_cleaned(result.cleaned, staging.uri, dates)
        quarantine_dates = lake_io.write_quarantine(result.quarantine, staging.uri, dates)
    finally:
        outcome.unpersist()
        ranked.unpersist()
    reasons = {r[OUTCOME_REASON]: r["count"] for r in counts if r[OUTCOME_REASON] is not None}
    return CleanRun(rows_in, reasons, cleaned_dates, quarantine_dates, tasks)


# Rows each task of the judging holds: its hash tables cannot spill, so the rows, not the dates, bound the
# tasks, and a backfill of any length needs the memory of a day per task.
ROWS_PER_TASK_SETTING = "spark.lol.clean.rowsPerTask"  # LOL_SPARK_ROWS_PER_TASK (lol_platform.resources.spark)
DEFAULT_ROWS_PER_TASK = 100_000


def judging_tasks(spark: SparkSession, rows: int) -> int:
    """How many tasks judge `rows` raw rows: the session's shuffle partitions, more when the rows need them."""
    minimum = int(spark.conf.get("spark.sql.shuffle.partitions"))
    return tasks_for(rows, minimum, int(spark.conf.get(ROWS_PER_TASK_SETTING, str(DEFAULT_ROWS_PER_TASK))))


def tasks_for(rows: int, minimum: int, rows_per_task: int) -> int:
    if rows_per_task < 1:
        raise ValueError(f"{ROWS_PER_TASK_SETTING} must be at least 1, not {rows_per_task}")
    return max(minimum, math.ceil(rows / rows_per_task))


# Every grouping, window and join of the judging is by keys that start with match_id, so rows partitioned by
# match_id once need no other shuffle. Adaptive execution would forget that partitioning across the checkpoint
# (every step would shuffle the date again), and a join by default wants its inputs partitioned by all its keys.
ONE_SHUFFLE_SETTINGS = {"spark.sql.adaptive.enabled": "false", "spark.sql.requireAllClusterKeysForCoPartition": "false"}


@contextmanager
def _session_settings(spark: SparkSession, settings: dict[str, str]) -> Iterator[None]:
    """The SQL settings for the block only: the session is shared with the run's other steps."""
    before = {key: spark.conf.get(key) for key in settings}  # each has a default: get never fails
    for key, value in settings.items():
        spark.conf.set(key, value)
    try:
        yield
    finally:
        for key, value in before.items():
            spark.conf.set(key, value)


def commit_clean(spark: SparkSession, staging: Staging, dates: DateRange) -> DataFrame:
    """Make a clean run's staged dates live. Returns the match versions, in range or elsewhere, that a newer
    copy kept on another date supersedes, listed after the swap (so two runs on different dates cannot
    both miss each other): their dates hold a copy that must go. Re-run them."""
    lake_commit.commit(spark, staging, CLEAN_TABLES, dates)
    return lake_io.find_superseded(spark, staging.root, dates)


@dataclass(frozen=True)
class StatsJob:
    """A daily aggregate of the cleaned participants and where it is written."""

    name: str
    compute: Callable[[DataFrame], DataFrame]
    write: Callable[[DataFrame, str, DateRange], list[dt.date]]
    table: lake_paths.PartitionedTable


CHAMPION_STATS = StatsJob("champion_stats", champion_stats, lake_io.write_champion_stats, lake_paths.CHAMPION_STATS)
POSITION_STATS = StatsJob("position_stats", position_stats, lake_io.write_position_stats, lake_paths.POSITION_STATS)


@dataclass
class StatsRun:
    cleaned: DataFrame  # the cleaned participants the stats were computed from
    stats: DataFrame  # persisted (computed once for the write and the caller's checks): unpersist when done
    dates: list[dt.date]  # dates that hold rows once committed


def stats_dates(spark: SparkSession, root: str, dates: DateRange, job: StatsJob, staging: Staging) -> StatsRun:
    """Cleaned participants of the dates -> the job's daily stats, staged (commit_stats makes them live)."""
    cleaned = lake_io.read_cleaned(spark, root, dates)
    stats = job.compute(cleaned).persist()
    written = job.write(stats, staging.uri, dates)
    return StatsRun(cleaned, stats, written)


def commit_stats(spark: SparkSession, staging: Staging, dates: DateRange, job: StatsJob) -> None:
    lake_commit.commit(spark, staging, [job.table], dates)
