"""One function per batch job, called by both the Dagster asset and the `spark-submit` entry point.

Each takes the session, the lake root and a DateRange, reads what the job needs, computes, and replaces
exactly those dates in the lake. What the callers add on top stays with them: the assets validate, publish
to Cassandra and report; the entry points print what was written.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from lol_core.dates import DateRange
from spark_jobs import lake_io
from spark_jobs.aggregates import champion_stats, position_stats
from spark_jobs.cleaning import OUTCOME_REASON, judge_rows, rank_rows, split_outcome


@dataclass
class CleanRun:
    rows_in: int  # raw participant rows read
    quarantine_reasons: dict[str, int]  # clean-stage quarantine rows written, by reason
    cleaned_dates: list[dt.date]  # dates that now hold cleaned rows
    quarantine_dates: list[dt.date]  # dates that now hold clean-stage quarantine rows
    # Match versions, in range or elsewhere, that a newer copy kept on another date supersedes; listed after
    # the write (so two runs racing on different dates cannot both miss each other). Re-run their dates.
    superseded: DataFrame


def clean_dates(spark: SparkSession, root: str, dates: DateRange) -> CleanRun:
    """Raw matches of the dates -> cleaned participants (+ their match versions) + clean-stage quarantine."""
    # Read once, judged once. Each step is checkpointed: the rule expressions make plans so large that
    # planning and code generation, repeated per action and per union branch, cost more CPU than the rows.
    # A checkpoint cuts the plan, and the cleaned rows, the quarantine and every count derive from it.
    raw = lake_io.read_raw(spark, root, dates.start, dates.end)
    ranked = rank_rows(raw).localCheckpoint(eager=True)
    # One truth per matchId: copies kept on other dates take part in choosing each match's newest copy.
    elsewhere = lake_io.read_match_versions_elsewhere(spark, root, dates.start, dates.end)
    outcome = judge_rows(ranked, versions_elsewhere=elsewhere).localCheckpoint(eager=True)
    try:
        counts = outcome.groupBy(F.col(OUTCOME_REASON)).count().collect()
        rows_in = sum(r["count"] for r in counts)
        result = split_outcome(outcome)
        cleaned_dates = lake_io.write_cleaned(result.cleaned, root, dates.start, dates.end)
        quarantine_dates = lake_io.write_quarantine(result.quarantine, root, dates.start, dates.end)
    finally:
        outcome.unpersist()
        ranked.unpersist()
    reasons = {r[OUTCOME_REASON]: r["count"] for r in counts if r[OUTCOME_REASON] is not None}
    superseded = lake_io.find_superseded(spark, root, dates.start, dates.end)
    return CleanRun(rows_in, reasons, cleaned_dates, quarantine_dates, superseded)


@dataclass(frozen=True)
class StatsJob:
    """A daily aggregate of the cleaned participants and where it is written."""

    name: str
    compute: Callable[[DataFrame], DataFrame]
    write: Callable[[DataFrame, str, dt.date, dt.date], list[dt.date]]


CHAMPION_STATS = StatsJob("champion_stats", champion_stats, lake_io.write_champion_stats)
POSITION_STATS = StatsJob("position_stats", position_stats, lake_io.write_position_stats)


@dataclass
class StatsRun:
    cleaned: DataFrame  # the cleaned participants the stats were computed from
    stats: DataFrame  # persisted (computed once for the write and the caller's checks): unpersist when done
    dates: list[dt.date]  # dates that now hold rows


def stats_dates(spark: SparkSession, root: str, dates: DateRange, job: StatsJob) -> StatsRun:
    """Cleaned participants of the dates -> the job's daily stats, replacing those dates."""
    cleaned = lake_io.read_cleaned(spark, root, dates.start, dates.end)
    stats = job.compute(cleaned).persist()
    written = job.write(stats, root, dates.start, dates.end)
    return StatsRun(cleaned, stats, written)
