"""The speed domain's definitions: match_stream_index (its tuning is run config, StreamRunConfig)."""

from dagster import Definitions

from lol_platform.speed.assets import match_stream_index

defs = Definitions(assets=[match_stream_index])
