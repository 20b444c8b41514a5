"""What the three spark-submit jobs share: their arguments, their session, their report."""

from __future__ import annotations

import argparse
import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from pyspark.sql import SparkSession

from lol_core.dates import DateRange
from lol_core.lake_paths import SPARK_SESSION_START_SETTINGS
from spark_jobs import lake_io
from spark_jobs.jobs import StatsJob, commit_stats, stats_dates
from spark_jobs.lake_commit import Staging


@dataclass(frozen=True)
class JobArgs:
    dates: DateRange
    lake_root: str


def parse_args(description: str, argv: Sequence[str] | None = None) -> JobArgs:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--date", required=True, type=dt.date.fromisoformat, help="first date, YYYY-MM-DD")
    parser.add_argument("--end-date", type=dt.date.fromisoformat, help="last date, inclusive (default: --date)")
    parser.add_argument("--lake-root", required=True, help="lake root URI, e.g. file:///tmp/lake or hdfs://host:8020")
    args = parser.parse_args(argv)
    end = args.end_date or args.date
    if end < args.date:
        parser.error(f"--end-date {end} is before --date {args.date}")
    return JobArgs(dates=DateRange(args.date, end), lake_root=args.lake_root)


def spark_session(app_name: str) -> SparkSession:
    # getOrCreate(): spark-submit's --master (or an existing session) decides where the job runs.
    # locality.wait 0: in local mode a task waiting for an HDFS datanode's host would never be offered again.
    builder = SparkSession.builder.appName(app_name).config("spark.locality.wait", "0s")
    for key, value in SPARK_SESSION_START_SETTINGS.items():  # ignored by a session that already runs
        builder = builder.config(key, value)
    return lake_io.configure(builder.getOrCreate())


def report(job: str, args: JobArgs, outputs: dict[str, list[dt.date]]) -> None:
    for table, dates in outputs.items():
        shown = ", ".join(day.isoformat() for day in dates) or "none"
        print(f"{job} {args.dates}: {table} has rows for {shown}")


def stats_main(job: StatsJob, doc: str, argv: Sequence[str] | None = None) -> int:
    """The whole entry point of a stats job; `doc` is its module docstring (line 3 describes it)."""
    args = parse_args(doc.splitlines()[2], argv)
    spark = spark_session(f"lol_{job.name}")
    staging = Staging(args.lake_root, f"spark-submit-{uuid.uuid4().hex}")
    run = stats_dates(spark, args.lake_root, args.dates, job, staging)
    commit_stats(spark, staging, args.dates, job)  # no gates here: the assets run them
    run.stats.unpersist()  # written: nothing more reads it (a shared session must not keep its blocks)
    report(job.name, args, {job.name: run.dates})
    return 0
