"""The code location: the ingestion, batch and speed domains' definitions and the shared resources, merged
into the one Definitions (docs/architecture.md)."""

from dagster import AssetSelection, AutomationConditionSensorDefinition, DefaultSensorStatus, Definitions, in_process_executor

from lol_platform import alerts, catalog
from lol_platform.batch import definitions as batch
from lol_platform.batch.healing import RETRY_FROM_FAILURE
from lol_platform.freshness import definitions as freshness
from lol_platform.ingestion import definitions as ingestion
from lol_platform.resources import build_resources
from lol_platform.speed import definitions as speed

# Dagster's implicit default automation sensor starts STOPPED on a new instance; declare it RUNNING so a
# fresh DAGSTER_HOME (make dev, CI) materializes downstream partitions without a manual step.
automation_sensor = AutomationConditionSensorDefinition(
    "lol_automation_sensor",
    target=AssetSelection.all() | AssetSelection.all_asset_checks(),
    default_status=DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=30,
    # Evaluated in the code server: the raw gate's condition (lol_platform.ingestion.automation) is Python code.
    use_user_code_server=True,
    # Runs it launches (and the backfills' runs) are retried from the failed step (dagster.yaml run_retries).
    run_tags=RETRY_FROM_FAILURE,
)

# Dagster loads the one Definitions found at module scope: the domains' own stay inside their modules.
# Every asset gets its catalog entry (columns, storage, owners, code: lol_platform/catalog.py).
defs = Definitions.merge(
    ingestion.defs,
    batch.defs,
    speed.defs,
    freshness.defs,
    alerts.defs,
    Definitions(
        sensors=[automation_sensor],
        # The shared resources; each domain adds its own tuning (`ingest`, `stream`).
        resources=build_resources(),
        # One process per run, so a run's Spark steps share one SparkSession (one JVM) instead of
        # paying a JVM start per step as the multiprocess executor would.
        executor=in_process_executor,
    ),
).map_asset_specs(func=catalog.describe)
