"""raw_matches: the landed Kafka messages, one partition per match date, written by kafka_match_sensor,
and its data quality gate."""

import time

from dagster import AssetCheckExecutionContext, AssetCheckResult, AssetCheckSeverity, AssetSpec, MetadataValue, asset_check

from lol_core.lake_paths import raw_partition_dir
from lol_core.schemas import RAW_PARTICIPANTS
from lol_platform.gates.pandera_raw import check_raw_partition
from lol_platform.ingestion.automation import RAW_GATE_AUTOMATION
from lol_platform.ingestion.landing import RAW_SCHEMA
from lol_platform.partitions import daily_partitions, date_range
from lol_platform.resources.lake import LakeResource

raw_matches = AssetSpec(
    key="raw_matches",
    group_name="ingestion",
    partitions_def=daily_partitions,
    description=(
        "Match-V5 participants landed from Kafka `lol_matches` by `kafka_match_sensor`: "
        "Parquet (snappy) under /data/lol_matches/YYYY/MM/DD/, 10 rows per match, with Kafka lineage."
    ),
    kinds={"kafka", "parquet", "hdfs"},
)


@asset_check(
    asset=raw_matches.key,
    name="raw_matches_contract",
    blocking=True,
    partitions_def=daily_partitions,
    description="Pandera contract of the landed rows, 10 participants and one winning team per match.",
    # Runs for every date whose latest landing it has not judged (late data too), in the same tick as its
    # downstream; see lol_platform.ingestion.automation for why not `any_deps_updated().since_last_handled()`.
    automation_condition=RAW_GATE_AUTOMATION,
)
def raw_matches_contract(context: AssetCheckExecutionContext, lake: LakeResource) -> AssetCheckResult:
    files = [info for day in date_range(context.partition_key_range) for info in lake.list_files(raw_partition_dir(day))]
    # Read lazily, a few files ahead: the gate validates a chunk at a time and keeps only the relation columns.
    tables = lake.read_parquet_files([lake.relative(info) for info in files]) if files else iter([RAW_SCHEMA.empty_table()])
    t0 = time.monotonic()
    result = check_raw_partition(tables, RAW_PARTICIPANTS)
    gate_s = time.monotonic() - t0
    context.log.info(f"raw gate: {result.rows:,} rows in {len(files)} files checked in {gate_s:.1f} s")
    return AssetCheckResult(
        passed=result.passed,
        severity=AssetCheckSeverity.ERROR,
        metadata={
            "rows_checked": result.rows,
            "matches_checked": result.matches,
            "duplicate_rows_redelivered": result.duplicate_rows,
            "files": len(files),
            "gate_s": round(gate_s, 2),
            "failing_by_rule": MetadataValue.json(result.failures),
            "examples": MetadataValue.json(result.examples),
        },
    )
