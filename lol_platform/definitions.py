"""The code location: every asset, check, sensor and resource of lol_platform, in one Definitions."""

from dagster import AssetSelection, AutomationConditionSensorDefinition, DefaultSensorStatus, Definitions, in_process_executor

from lol_platform.assets.batch import champion_stats, cleaned_participants, position_stats
from lol_platform.assets.ingestion import raw_matches, raw_matches_contract
from lol_platform.assets.speed import StreamSettings, match_stream_index
from lol_platform.resources import build_resources
from lol_platform.sensors import IngestSettings, kafka_match_sensor
from lol_platform.sensors.healing import RETRY_FROM_FAILURE, healing_sensor
from lol_platform.sensors.superseded import superseded_dates_sensor

# Dagster's implicit default automation sensor starts STOPPED on a new instance; declare it RUNNING so a
# fresh DAGSTER_HOME (make dev, CI) materializes downstream partitions without a manual step.
automation_sensor = AutomationConditionSensorDefinition(
    "lol_automation_sensor",
    target=AssetSelection.all() | AssetSelection.all_asset_checks(),
    default_status=DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=30,
    # Evaluated in the code server: the raw gate's condition (lol_platform.automation) is Python code.
    use_user_code_server=True,
    # Runs it launches (and the backfills' runs) are retried from the failed step (dagster.yaml run_retries).
    run_tags=RETRY_FROM_FAILURE,
)

defs = Definitions(
    assets=[raw_matches, cleaned_participants, champion_stats, position_stats, match_stream_index],
    asset_checks=[raw_matches_contract],
    sensors=[kafka_match_sensor, automation_sensor, healing_sensor, superseded_dates_sensor],
    resources={**build_resources(), "ingest": IngestSettings(), "stream": StreamSettings()},
    # One process per run, so a run's Spark steps share one SparkSession (one JVM) instead of
    # paying a JVM start per step as the multiprocess executor would.
    executor=in_process_executor,
)
