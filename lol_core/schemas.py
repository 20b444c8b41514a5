"""The single source of truth for every table of the platform.

Each table is a list of `Field`s. The Arrow schema (Parquet in the lake), the Spark schema, the Pandera
contracts (lol_platform/gates), the CQL in infra/cassandra and the Elasticsearch template in
infra/elasticsearch all derive from these lists or are checked against them by a test.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

POSITIONS = ("TOP", "JUNGLE", "MIDDLE", "BOTTOM", "UTILITY")
TEAM_IDS = (100, 200)
PARTICIPANTS_PER_MATCH = 10


@dataclass(frozen=True)
class Field:
    """One column: its type, nullability and the value rules the quality gates enforce."""

    name: str
    type: str  # one of _ARROW_TYPES
    nullable: bool = False
    ge: float | None = None
    le: float | None = None
    isin: tuple | None = None
    max_len: int | None = None  # strings: most characters; lists: most elements
    pattern: str | None = None  # strings: a full-match regular expression
    doc: str = ""


_ARROW_TYPES: dict[str, pa.DataType] = {
    "string": pa.string(),
    "int16": pa.int16(),
    "int32": pa.int32(),
    "int64": pa.int64(),
    "float64": pa.float64(),
    "bool": pa.bool_(),
    "date": pa.date32(),
    "timestamp": pa.timestamp("us", tz="UTC"),
    "list<int32>": pa.list_(pa.int32()),
}

# Kafka lineage carried by every raw row, so any row can be traced back to its message.
LINEAGE_FIELDS = [
    Field("kafka_topic", "string", doc="source topic"),
    Field("kafka_partition", "int32", ge=0, doc="source partition"),
    Field("kafka_offset", "int64", ge=0, doc="source offset"),
    Field("ingested_at", "timestamp", doc="when the sensor landed the row"),
]

MATCH_FIELDS = [
    Field("match_id", "string", max_len=64, pattern=r"[A-Za-z0-9_-]+", doc="metadata.matchId"),
    Field("match_date", "date", doc="UTC date of info.gameCreation: the partition key"),
    Field("game_creation", "timestamp", doc="info.gameCreation"),
    Field("game_duration_s", "int32", ge=60, le=4 * 3600, doc="info.gameDuration in seconds"),
    Field("game_version", "string", max_len=32, pattern=r"[0-9A-Za-z._-]+", doc="info.gameVersion"),
    Field("queue_id", "int32", ge=0, doc="info.queueId"),
    Field("platform_id", "string", max_len=16, pattern=r"[A-Za-z0-9_]+", doc="info.platformId"),
]

PARTICIPANT_FIELDS = [
    Field("participant_id", "int16", ge=1, le=PARTICIPANTS_PER_MATCH),
    Field("puuid", "string", max_len=128, pattern=r"[A-Za-z0-9_-]+"),
    Field("riot_id_game_name", "string", nullable=True, max_len=64),
    Field("champion_id", "int32", ge=1),
    Field("champion_name", "string", max_len=64, pattern=r"[A-Za-z0-9' .&_-]+"),
    Field("team_id", "int16", isin=TEAM_IDS),
    Field("team_position", "string", isin=POSITIONS),
    Field("win", "bool"),
    Field("kills", "int32", ge=0),
    Field("deaths", "int32", ge=0),
    Field("assists", "int32", ge=0),
    Field("gold_earned", "int32", ge=0),
    Field("total_minions_killed", "int32", ge=0),
    Field("neutral_minions_killed", "int32", ge=0),
    Field("total_damage_dealt_to_champions", "int32", ge=0),
    Field("vision_score", "int32", ge=0),
    Field("champ_level", "int16", ge=1, le=30),
    Field("team_bans", "list<int32>", ge=1, max_len=5, doc="champion ids banned by this participant's team (-1, no ban, is left out)"),
]

RAW_PARTICIPANTS = [*MATCH_FIELDS, *PARTICIPANT_FIELDS, *LINEAGE_FIELDS]

FEATURE_FIELDS = [
    Field("game_minutes", "float64", ge=0, doc="gameDuration / 60"),
    Field("kda", "float64", ge=0, doc="(kills + assists) / max(deaths, 1)"),
    Field("gpm", "float64", ge=0, doc="goldEarned / minutes"),
    Field("cs_per_min", "float64", ge=0, doc="(totalMinionsKilled + neutralMinionsKilled) / minutes"),
    Field("dpm", "float64", ge=0, doc="totalDamageDealtToChampions / minutes"),
    Field("kill_participation", "float64", ge=0, le=1, doc="(kills + assists) / team kills, 0 if none"),
    Field("damage_share", "float64", ge=0, le=1, doc="damage / team damage, 0 if none"),
    Field("vision_per_min", "float64", ge=0, doc="visionScore / minutes"),
]

CLEANED_PARTICIPANTS = [*MATCH_FIELDS, *PARTICIPANT_FIELDS, *FEATURE_FIELDS, *LINEAGE_FIELDS]

_STAT_MEASURES = [
    Field("games_played", "int64", ge=0),
    Field("wins", "int64", ge=0),
    Field("win_rate", "float64", ge=0, le=100, doc="percent"),
    Field("avg_kills", "float64", ge=0),
    Field("avg_deaths", "float64", ge=0),
    Field("avg_assists", "float64", ge=0),
    Field("avg_kda", "float64", ge=0),
    Field("avg_gpm", "float64", ge=0),
    Field("avg_cs_per_min", "float64", ge=0),
    Field("avg_dpm", "float64", ge=0),
    Field("avg_vision", "float64", ge=0),
]

CHAMPION_STATS = [
    Field("stat_date", "date"),
    Field("champion_name", "string"),
    Field("champion_id", "int32", ge=1),
    *_STAT_MEASURES,
    Field("pick_rate", "float64", ge=0, le=100, doc="percent of the day's matches that picked it"),
    Field("ban_rate", "float64", ge=0, le=100, doc="percent of the day's matches that banned it"),
]

POSITION_STATS = [
    Field("stat_date", "date"),
    Field("position", "string", isin=POSITIONS),
    *_STAT_MEASURES,
]

QUARANTINE = [
    Field("quarantined_at", "timestamp"),
    Field("stage", "string", doc="where it was caught: ingest, clean, stream"),
    Field("reason", "string"),
    Field("match_id", "string", nullable=True),
    Field("participant_id", "int16", nullable=True),
    Field("kafka_topic", "string", nullable=True),
    Field("kafka_partition", "int32", nullable=True),
    Field("kafka_offset", "int64", nullable=True),
    Field("raw", "string", nullable=True, doc="the offending message or row, as text"),
]
# The quarantine as one lake table (data/lol_quarantine/stage=<stage>/date=<date>, lol_core.lake_paths): the
# records plus the date they are partitioned by.
QUARANTINE_TABLE = [*QUARANTINE, Field("date", "date", nullable=True, doc="partition: arrival date (ingest) or match date (clean)")]

# Cassandra only: per date and serving table, what its last publish wrote, so "how many rows on date X" is
# one partition read (lol_platform/batch/summary.py writes it after each reconciled publish).
SUMMARY_TABLES = ("match_participants", "champion_stats", "position_stats")
DATE_SUMMARY = [
    Field("match_date", "date", doc="the partition date (stat_date for the stats tables)"),
    Field("table_name", "string", isin=SUMMARY_TABLES, doc="the Cassandra table of lol_data it counts"),
    Field("row_count", "int64", ge=0, doc="rows of the date in the table (equal to the lake's: reconciled)"),
    Field("match_count", "int64", ge=0, doc="matches of the date (stats: games_played summed / 10)"),
    Field("quarantined_rows", "int64", nullable=True, ge=0, doc="clean-stage quarantine rows of the date (match_participants)"),
    Field("published_at", "timestamp", doc="when the publish was reconciled"),
    Field("run_id", "string", nullable=True, doc="the Dagster run that published it"),
]

# Elasticsearch: one document per participant; the stream has no lineage columns of the lake.
STREAM_DOCUMENT = [
    *MATCH_FIELDS,
    *PARTICIPANT_FIELDS,
    *FEATURE_FIELDS,
    Field("kafka_partition", "int32", ge=0),
    Field("kafka_offset", "int64", ge=0),
    Field("indexed_at", "timestamp"),
]

def arrow_schema(fields: list[Field]) -> pa.Schema:
    return pa.schema([pa.field(f.name, _ARROW_TYPES[f.type], nullable=f.nullable) for f in fields])


def spark_schema(fields: list[Field]):
    """The Spark StructType of a table (imported lazily: pyspark is not needed to land raw data)."""
    from pyspark.sql import types as T

    simple = {
        "string": T.StringType(),
        "int16": T.ShortType(),
        "int32": T.IntegerType(),
        "int64": T.LongType(),
        "float64": T.DoubleType(),
        "bool": T.BooleanType(),
        "date": T.DateType(),
        "timestamp": T.TimestampType(),
        "list<int32>": T.ArrayType(T.IntegerType(), containsNull=False),
    }
    return T.StructType([T.StructField(f.name, simple[f.type], nullable=f.nullable) for f in fields])


CQL_TYPES = {
    "string": "text",
    "int16": "smallint",
    "int32": "int",
    "int64": "bigint",
    "float64": "double",
    "bool": "boolean",
    "date": "date",
    "timestamp": "timestamp",
    "list<int32>": "list<int>",
}

ES_TYPES = {
    "string": "keyword",
    "int16": "short",
    "int32": "integer",
    "int64": "long",
    "float64": "double",
    "bool": "boolean",
    "date": "date",
    "timestamp": "date",
    "list<int32>": "integer",
}


def names(fields: list[Field]) -> list[str]:
    return [f.name for f in fields]
