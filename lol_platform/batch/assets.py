"""The batch layer: cleaned_participants -> champion_stats / position_stats, daily, on Spark.

Every asset takes a date range (one partition, or a whole backfill as one Spark job through
BackfillPolicy.single_run), replaces exactly those dates in the lake and in Cassandra, and reports its
Pandera contract and a Cassandra reconciliation as blocking checks, so a failed gate stops downstream.
"""


import datetime as dt
import time
from contextlib import contextmanager
from dataclasses import dataclass

from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    BackfillPolicy,
    MaterializeResult,
    MetadataValue,
    asset,
)
from dagster_pyspark import LazyPySparkResource
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from lol_core import lake_paths
from lol_core.dates import DateRange
from lol_core.schemas import CHAMPION_STATS, CLEANED_PARTICIPANTS, POSITION_STATS, names
from lol_platform.batch import cassandra_publish as cw
from lol_platform.batch import reconcile, summary
from lol_platform.batch.automation import BATCH_AUTOMATION
from lol_platform.batch.spark_pool import SPARK_POOL
from lol_platform.gates.pandera_spark import ContractResult, validate_frame
from lol_platform.ingestion.assets import raw_matches
from lol_platform.partitions import daily_partitions, date_range
from lol_platform.resources.cassandra import CassandraResource
from lol_platform.resources.lake import LakeResource
from spark_jobs import lake_commit, lake_io
from spark_jobs.jobs import CHAMPION_STATS as CHAMPION_STATS_JOB
from spark_jobs.jobs import POSITION_STATS as POSITION_STATS_JOB
from spark_jobs.jobs import StatsJob, clean_dates, commit_clean, commit_stats, stats_dates
from spark_jobs.lake_commit import Staging

# Downstream partitions follow their parents by BATCH_AUTOMATION: late dates and backfills included, never
# past a failed blocking check, and a parent update that coincides with this date's own run is not lost (see
# lol_platform.batch.automation for why this is not eager()/since_last_handled()).


class Stages:
    """Times a run's stages and logs each as it ends (with what it did), so a long run shows its progress
    in the UI's log and its metadata says where the time went."""

    def __init__(self, log):
        self.log = log
        self.seconds: dict[str, float] = {}

    @contextmanager
    def __call__(self, name: str, done=None):
        self.log.info(f"{name}: started")
        t0 = time.monotonic()
        yield
        self.seconds[name] = round(time.monotonic() - t0, 2)
        self.log.info(f"{name}: done in {self.seconds[name]} s" + (f" ({done()})" if done else ""))


@dataclass
class SparkRun:
    """What every Spark asset run starts from: its dates, a session, the lake recovered, its own staging."""

    dates: DateRange
    stages: Stages
    spark: SparkSession
    recovered: dict[str, str]  # staging dir -> what recovery did with it
    staging: Staging
    started: float  # time.monotonic()

    def metadata(self) -> dict:
        """The materialization metadata every Spark asset reports: its range, timings and Spark application."""
        return {
            "dates": str(self.dates),
            "recovered_stagings": MetadataValue.json(self.recovered),
            "duration_s": round(time.monotonic() - self.started, 2),
            "stage_seconds": MetadataValue.json(self.stages.seconds),
            "spark_application_id": self.spark.sparkContext.applicationId,
        }


def _open_spark_run(context: AssetExecutionContext, pyspark: LazyPySparkResource, lake: LakeResource, asset_name: str) -> SparkRun:
    started, stages = time.monotonic(), Stages(context.log)
    with stages("spark_session"):
        spark = lake_io.configure(pyspark.spark_session)
    with stages("recover"):
        recovered = _recover_lake(context, spark, lake)
    staging = Staging(lake.root, f"{context.run_id}.{asset_name}")
    return SparkRun(date_range(context.partition_key_range), stages, spark, recovered, staging, started)


def _recover_lake(context: AssetExecutionContext, spark, lake: LakeResource) -> dict[str, str]:
    """Finish the lake commits of runs that died mid-swap, drop the staging of runs that died before it.
    A staging dir is left alone while its run is going, and when it is not a Dagster run's (spark-submit's)."""

    def active(name: str) -> bool:
        run = context.instance.get_run_by_id(name.split(".")[0])
        return run is None or not run.is_finished

    recovered = lake_commit.recover(spark, lake.root, active)
    for name, outcome in recovered.items():
        context.log.warning(f"lake staging {name} of a run that died: {outcome.replace('_', ' ')}")
    return recovered


def _contract_check(name: str, result: ContractResult) -> AssetCheckResult:
    return AssetCheckResult(
        check_name=name,
        passed=result.passed,
        severity=AssetCheckSeverity.ERROR,
        metadata={k: MetadataValue.json(v) if isinstance(v, (dict, list)) else v for k, v in result.metadata().items()},
    )


def _markdown_table(rows: list[dict], columns: list[str]) -> str:
    head = "| " + " | ".join(columns) + " |\n|" + "---|" * len(columns) + "\n"
    return head + "\n".join("| " + " | ".join(_fmt(r[c]) for c in columns) + " |" for r in rows)


def _fmt(value) -> str:
    return f"{value:.2f}" if isinstance(value, float) else str(value)


def _per_date_counts(df: DataFrame, column: str) -> dict[str, int]:
    return {str(r[0]): r[1] for r in df.groupBy(column).count().orderBy(column).collect()}


# Matches read back column by column per date, on top of the whole date's match set and counts.
CONTENT_SAMPLE_MATCHES = 50


def _timestamps_as_ms(df: DataFrame) -> DataFrame:
    # Collected timestamps would come back in the Python process's local zone: compare epoch ms instead.
    return df.select(*[F.unix_millis(f.name).alias(f.name) if f.dataType.typeName() == "timestamp" else F.col(f.name) for f in df.schema.fields])


def _reconcile_participants(cleaned: DataFrame, cassandra: CassandraResource, lake_index: dict) -> AssetCheckResult:
    """Per date: the index holds exactly the lake's matches and participant counts, and a sample of matches
    reads back identical in every column."""
    mismatched, sampled = {}, 0
    columns = names(CLEANED_PARTICIPANTS)
    for day, matches in sorted(lake_index.items()):
        diff = reconcile.diff_index(matches, cassandra.indexed_matches(day))
        sample = reconcile.sample_keys(matches, CONTENT_SAMPLE_MATCHES)
        lake_rows = [r.asDict() for r in _timestamps_as_ms(cleaned.where((F.col("match_date") == day) & F.col("match_id").isin(sample))).collect()]
        content = reconcile.diff_rows(lake_rows, cassandra.match_rows(day, sample), ("match_id", "participant_id"), columns)
        sampled += len(sample)
        if diff or content:
            mismatched[str(day)] = {**diff, **({"content": content} if content else {})}
    return AssetCheckResult(
        check_name="cassandra_matches_lake",
        passed=not mismatched,
        severity=AssetCheckSeverity.ERROR,
        metadata={
            "lake_rows": sum(sum(m.values()) for m in lake_index.values()),
            "matches_compared": sum(len(m) for m in lake_index.values()),
            "matches_read_back": sampled,
            "mismatched_dates": MetadataValue.json(mismatched),
        },
    )


def _reconcile_stats(table: "StatsTable", stats: DataFrame, cassandra: CassandraResource, lake_counts: dict[str, int]) -> AssetCheckResult:
    """Per date, every row and column of the stats in Cassandra equals the lake's."""
    columns = names(table.fields)
    lake_rows: dict[str, list[dict]] = {d: [] for d in lake_counts}
    for row in stats.collect():  # a few hundred rows per date
        lake_rows.setdefault(str(row.stat_date), []).append(row.asDict())
    mismatched = {}
    for day, rows in sorted(lake_rows.items()):
        diff = reconcile.diff_rows(rows, cassandra.stat_rows(table.name, dt.date.fromisoformat(day)), table.key, columns)
        if diff:
            mismatched[day] = diff
    return AssetCheckResult(
        check_name=f"{table.name}_cassandra_matches_lake",
        passed=not mismatched,
        severity=AssetCheckSeverity.ERROR,
        metadata={"lake_rows": sum(lake_counts.values()), "dates_compared": len(lake_rows), "mismatched_dates": MetadataValue.json(mismatched)},
    )


# What every Spark asset of the chain shares: daily partitions, a date range as one Spark run, the Spark pool,
# the batch automation condition.
SPARK_ASSET = dict(
    partitions_def=daily_partitions,
    backfill_policy=BackfillPolicy.single_run(),
    group_name="batch",
    kinds={"spark", "parquet", "cassandra"},
    pool=SPARK_POOL,
    automation_condition=BATCH_AUTOMATION,
)


# -- cleaned_participants ----------------------------------------------------------------------------------


@asset(
    **SPARK_ASSET,
    deps=[raw_matches],
    description=(
        "Raw participants validated, one copy per match (the newest by Kafka offset, across dates) and enriched with features "
        "(kda, gpm, cs_per_min, dpm, kill_participation, damage_share, vision_per_min). Bad rows go to "
        "data/lol_quarantine/stage=clean with their reason. Published to Cassandra lol_data.match_participants."
    ),
    check_specs=[
        AssetCheckSpec("cleaned_participants_contract", asset="cleaned_participants", blocking=True,
                       description="Pandera contract of every column (types, nullability, ranges, positions)."),
        AssetCheckSpec("cassandra_matches_lake", asset="cleaned_participants", blocking=True,
                       description="match_participants rows in Cassandra equal the lake's rows, per date."),
    ],  # fmt: skip
)
def cleaned_participants(
    context: AssetExecutionContext, pyspark: LazyPySparkResource, lake: LakeResource, cassandra: CassandraResource
):
    opened = _open_spark_run(context, pyspark, lake, "cleaned_participants")
    run_dates, stages, spark, staging = opened.dates, opened.stages, opened.spark, opened.staging
    # Write-audit-publish: the run's dates are written to staging, gated there, and only then swapped into
    # the lake and published; a failed gate leaves the lake and Cassandra as they were.
    with stages("clean", lambda: f"{run.rows_in:,} raw rows in {run.tasks} tasks -> {len(run.cleaned_dates)} dates (staged)"):
        run = clean_dates(spark, lake.root, run_dates, staging)  # the same function as spark-submit's job
    rows_in, quarantine_reasons, written_dates = run.rows_in, run.quarantine_reasons, run.cleaned_dates
    with stages("contract", lambda: f"{sum(lake_counts.values()):,} cleaned rows"):
        cleaned = lake_io.read_cleaned(spark, staging.uri, run_dates).persist()  # what readers will see
        contract = validate_frame(cleaned, CLEANED_PARTICIPANTS, "cleaned_participants", ["match_id", "participant_id", "kills", "kda", "team_position"])
        lake_counts = _per_date_counts(cleaned, "match_date")
    publish = cw.PublishReport()
    superseded_dates, superseded_examples = [], []
    if contract.passed:
        with stages("commit", lambda: f"{len(run_dates.days())} dates swapped into the lake"):
            superseded = commit_clean(spark, staging, run_dates).persist()
        with stages("find_superseded"):
            # Dates that still hold a copy a newer one supersedes: superseded_dates_sensor re-runs them.
            superseded_dates = sorted(str(r[0]) for r in superseded.select("match_date").distinct().collect())
            superseded_examples = [{k: str(v) for k, v in r.asDict().items()} for r in superseded.limit(5).collect()]
            superseded.unpersist()
        with stages("publish", lambda: f"{publish.rows:,} rows at {publish.rows_per_s:,.0f} rows/s, {publish.write.retries} retries"):
            publish = cw.publish_participants(cleaned, names(CLEANED_PARTICIPANTS), cassandra, run_dates.days())
        with stages("reconcile"):
            reconciliation = _reconcile_participants(cleaned, cassandra, publish.lake_index)
        if reconciliation.passed:  # the per-date counts readers query (lol_data.date_summary)
            summary.record_participants(spark, lake.root, cassandra, run_dates, publish.lake_index, context.run_id)
    else:
        lake_commit.abort(spark, staging)
        reconciliation = AssetCheckResult(check_name="cassandra_matches_lake", passed=False, severity=AssetCheckSeverity.ERROR,
                                          metadata={"skipped": "contract failed: the staged dates were dropped; the lake and Cassandra keep the last good state"})  # fmt: skip
    rows_out = sum(lake_counts.values())
    quarantined = sum(quarantine_reasons.values())
    cleaned.unpersist()
    yield MaterializeResult(
        metadata={
            "dagster/row_count": rows_out,
            "rows_in": rows_in,
            "spark_tasks_judging": run.tasks,
            "rows_quarantined": quarantined,
            "quarantine_reasons": MetadataValue.json(quarantine_reasons),
            "rows_per_date": MetadataValue.json(lake_counts),
            "dates_with_data": len(written_dates),
            **publish.metadata(),
            "superseded_dates": MetadataValue.json(superseded_dates),
            "superseded_examples": MetadataValue.json(superseded_examples),
            "committed_to_lake": contract.passed,
            "path": MetadataValue.path(lake.table_uri(lake_paths.CLEANED_PARTICIPANTS)),
            **opened.metadata(),
        }
    )
    yield _contract_check("cleaned_participants_contract", contract)
    yield reconciliation


# -- stats -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StatsTable:
    """What differs between the two daily aggregates; everything else is one code path."""

    job: StatsJob  # computes and writes the table (spark_jobs.jobs)
    fields: list
    description: str
    preview_columns: list[str]
    preview_sort: list[tuple[str, bool]]  # (column, descending)
    key: tuple[str, ...]  # the Cassandra primary key: rows are compared by it

    @property
    def name(self) -> str:
        return self.job.name


def _stats_checks(table: str) -> list[AssetCheckSpec]:
    return [
        AssetCheckSpec(f"{table}_contract", asset=table, blocking=True,
                       description="Pandera contract: types, nullability, win_rate 0-100, averages >= 0."),
        AssetCheckSpec(f"{table}_games_match_participants", asset=table, blocking=True,
                       description="Per date, games_played sums to the cleaned participant count."),
        AssetCheckSpec(f"{table}_cassandra_matches_lake", asset=table, blocking=True,
                       description="Cassandra rows equal the lake's rows, per date."),
    ]  # fmt: skip


def _materialize_stats(context: AssetExecutionContext, pyspark, lake: LakeResource, cassandra: CassandraResource, table: StatsTable):
    opened = _open_spark_run(context, pyspark, lake, table.name)
    run_dates, stages, spark, staging = opened.dates, opened.stages, opened.spark, opened.staging
    with stages("aggregate", lambda: f"{len(run.dates)} dates (staged)"):
        run = stats_dates(spark, lake.root, run_dates, table.job, staging)  # the same function as spark-submit's job
    cleaned, stats = run.cleaned, run.stats
    with stages("contract"):
        participants = _per_date_counts(cleaned, "match_date")
        contract = validate_frame(stats, table.fields, table.name, table.preview_columns)
        games = {str(r[0]): r[1] for r in stats.groupBy("stat_date").agg(F.sum("games_played")).collect()}
        sums_match = {d: {"games_played": games.get(d, 0), "participants": n} for d, n in participants.items() if games.get(d, 0) != n}
        lake_counts = _per_date_counts(stats, "stat_date")
    publish = cw.PublishReport()
    committed = contract.passed and not sums_match
    if committed:
        with stages("commit"):
            commit_stats(spark, staging, run_dates, table.job)
        with stages("publish", lambda: f"{publish.rows:,} rows"):
            publish = cw.publish_stats(stats, table.name, names(table.fields), cassandra, run_dates.days())
    else:
        lake_commit.abort(spark, staging)  # the lake and Cassandra keep the last good state
    with stages("reconcile"):
        reconciliation = _reconcile_stats(table, stats, cassandra, lake_counts)
    if committed and reconciliation.passed:  # the per-date counts (lol_data.date_summary)
        summary.record_stats(cassandra, table.name, run_dates.days(), lake_counts, games, context.run_id)
    latest = max(lake_counts) if lake_counts else None
    preview = []
    if latest:
        columns, descending = zip(*table.preview_sort)
        latest_day = stats.where(stats["stat_date"] == dt.date.fromisoformat(latest))
        preview = [r.asDict() for r in latest_day.orderBy(list(columns), ascending=[not d for d in descending]).limit(10).collect()]
    stats.unpersist()
    yield MaterializeResult(
        metadata={
            "dagster/row_count": sum(lake_counts.values()),
            "rows_per_date": MetadataValue.json(lake_counts),
            **publish.metadata(),
            "committed_to_lake": committed,
            "path": MetadataValue.path(lake.table_uri(table.job.table)),
            **opened.metadata(),
            "preview": MetadataValue.md(f"**{table.name} on {latest}**\n\n" + _markdown_table(preview, table.preview_columns) if preview else "no rows"),
        }
    )
    yield _contract_check(f"{table.name}_contract", contract)
    yield AssetCheckResult(
        check_name=f"{table.name}_games_match_participants",
        passed=not sums_match,
        severity=AssetCheckSeverity.ERROR,
        metadata={"dates_checked": len(participants), "mismatched_dates": MetadataValue.json(sums_match)},
    )
    yield reconciliation


def stats_asset(table: StatsTable):
    @asset(
        **SPARK_ASSET,
        name=table.name,
        deps=[cleaned_participants],
        description=table.description,
        check_specs=_stats_checks(table.name),
    )
    def _asset(context: AssetExecutionContext, pyspark: LazyPySparkResource, lake: LakeResource, cassandra: CassandraResource):
        yield from _materialize_stats(context, pyspark, lake, cassandra, table)

    return _asset


champion_stats = stats_asset(
    StatsTable(
        job=CHAMPION_STATS_JOB,
        fields=CHAMPION_STATS,
        description="Per champion per day: games, wins, win_rate (%), average KDA/GPM/CS/DPM/vision, pick and ban "
        "rates. Published to Cassandra lol_data.champion_stats.",
        preview_columns=["champion_name", "games_played", "win_rate", "avg_kda", "avg_gpm", "pick_rate", "ban_rate"],
        preview_sort=[("games_played", True), ("win_rate", True)],
        key=("stat_date", "champion_name"),
    )
)

position_stats = stats_asset(
    StatsTable(
        job=POSITION_STATS_JOB,
        fields=POSITION_STATS,
        description="Per position per day: games, wins, win_rate (%), average KDA/GPM/CS/DPM/vision. "
        "Published to Cassandra lol_data.position_stats.",
        preview_columns=["position", "games_played", "win_rate", "avg_kda", "avg_gpm", "avg_cs_per_min", "avg_vision"],
        preview_sort=[("position", False)],
        key=("stat_date", "position"),
    )
)
