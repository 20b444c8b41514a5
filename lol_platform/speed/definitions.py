"""The speed domain's definitions: match_stream_index and its tuning."""

from dagster import Definitions

from lol_platform.speed.assets import StreamSettings, match_stream_index

defs = Definitions(assets=[match_stream_index], resources={"stream": StreamSettings()})
