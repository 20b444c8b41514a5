"""The ingestion domain's definitions: raw_matches, its gate and the sensor that lands it."""

from dagster import Definitions

from lol_platform.ingestion.assets import raw_matches, raw_matches_contract
from lol_platform.ingestion.sensor import IngestSettings, kafka_match_sensor

defs = Definitions(
    assets=[raw_matches],
    asset_checks=[raw_matches_contract],
    sensors=[kafka_match_sensor],
    resources={"ingest": IngestSettings()},
)
