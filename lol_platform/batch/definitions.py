"""The batch domain's definitions: the Spark assets with their checks, and the sensors that keep dates current."""

from dagster import Definitions

from lol_platform.batch.assets import champion_stats, cleaned_participants, position_stats
from lol_platform.batch.healing import healing_sensor
from lol_platform.batch.quarantine import lol_quarantine
from lol_platform.batch.superseded import superseded_dates_sensor

defs = Definitions(
    assets=[cleaned_participants, champion_stats, position_stats, lol_quarantine],
    sensors=[healing_sensor, superseded_dates_sensor],
)
