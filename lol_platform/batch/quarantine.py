"""`lol_quarantine`: everything the door and the clean stage refused, one table in the lake (partitioned by
stage and date, the QUARANTINE layout of lol_core.schemas), shown in the UI with its counts by stage and rule.

Materialized hourly, and on demand, by one Spark aggregation over the whole table: the counts never bring the
rows into Python, however large a hostile flood made it.
"""

from collections import Counter

from dagster import AssetExecutionContext, AutomationCondition, MaterializeResult, MetadataValue, asset
from dagster_pyspark import LazyPySparkResource

from lol_core.lake_paths import QUARANTINE_ROOT
from lol_platform.batch.assets import cleaned_participants
from lol_platform.batch.spark_pool import SPARK_POOL, SPARK_TAGS
from lol_platform.ingestion.assets import raw_matches
from lol_platform.resources.lake import LakeResource
from spark_jobs.quarantine_counts import QuarantineCount, count_quarantine


@asset(
    group_name="quality",
    kinds={"spark", "parquet"},
    deps=[raw_matches, cleaned_participants],
    pool=SPARK_POOL,
    op_tags=SPARK_TAGS,
    automation_condition=AutomationCondition.on_cron("0 * * * *"),
    description=(
        "Every message the door refused (stage=ingest, by arrival date) and every row the clean stage refused "
        "(stage=clean, by match date), with its reason, Kafka coordinates and raw text: one Parquet table under "
        "data/lol_quarantine, partitioned by stage and date. Counts by stage and rule are refreshed hourly."
    ),
)
def lol_quarantine(context: AssetExecutionContext, pyspark: LazyPySparkResource, lake: LakeResource) -> MaterializeResult:
    counts = count_quarantine(pyspark.spark_session, lake.uri(QUARANTINE_ROOT))
    context.log.info(f"quarantine: {sum(c.rows for c in counts)} rows in {len(counts)} (stage, rule) groups")
    return MaterializeResult(metadata=quarantine_metadata(counts))


def quarantine_metadata(counts: list[QuarantineCount]) -> dict:
    """Totals per stage as numbers (plotted over time by the UI) and the whole breakdown as a table."""
    per_stage = Counter()
    for c in counts:
        per_stage[c.stage] += c.rows
    table = "\n".join(
        ["| stage | rule | rows | dates | latest date |", "|---|---|---:|---:|---|"]
        + [f"| {c.stage} | `{c.rule}` | {c.rows:,} | {c.dates} | {c.latest_date or ''} |" for c in counts]
    )
    return {
        "dagster/row_count": sum(per_stage.values()),
        **{f"rows_{stage}": MetadataValue.int(per_stage.get(stage, 0)) for stage in ("ingest", "clean")},
        "rules": len(counts),
        "by_stage_and_rule": MetadataValue.md(table if counts else "Nothing quarantined."),
        "counts": MetadataValue.json([c.__dict__ for c in counts]),
    }
