"""Hand-made raw participant rows (RAW_PARTICIPANTS columns) whose features and stats are computed by hand.

Two matches on DAY:
  EUW1_1  30 min, team 100 wins.  100: Garen TOP, LeeSin JUNGLE, Ahri MIDDLE, Jinx BOTTOM, Lux UTILITY
                                  200: Darius, Vi, Zed, Caitlyn, Thresh (same positions)
          bans 100: [Yasuo] 200: [Katarina]
  EUW1_2  20 min, team 200 wins.  100: Garen, LeeSin, Syndra, Jinx, Nami  (every kills and assists 0)
                                  200: Darius, Vi, Ahri, Caitlyn, Thresh
          bans 100: [Yasuo, Zed, Lux] 200: [Yasuo, Lux]
Everyone has kills 2, deaths 2, assists 2, gold 9000, cs 150 + 10, damage 12000, vision 20 unless stated.
"""

from __future__ import annotations

import datetime as dt

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import types as T

from lol_core.schemas import POSITIONS, RAW_PARTICIPANTS, spark_schema

DAY = dt.date(2026, 1, 1)

GAREN, LEE_SIN, AHRI, JINX, LUX = (86, "Garen"), (64, "LeeSin"), (103, "Ahri"), (222, "Jinx"), (99, "Lux")
DARIUS, VI, ZED, CAITLYN, THRESH = (122, "Darius"), (254, "Vi"), (238, "Zed"), (51, "Caitlyn"), (412, "Thresh")
SYNDRA, NAMI = (134, "Syndra"), (267, "Nami")
YASUO, KATARINA = 157, 55

DEFAULT_STATS = {
    "kills": 2,
    "deaths": 2,
    "assists": 2,
    "gold_earned": 9000,
    "total_minions_killed": 150,
    "neutral_minions_killed": 10,
    "total_damage_dealt_to_champions": 12000,
    "vision_score": 20,
    "champ_level": 14,
}


def match_rows(
    match_id: str,
    day: dt.date,
    duration_s: int,
    winner: int,
    champions: list[tuple[int, str]],
    bans: dict[int, list[int]],
    overrides: dict[int, dict] | None = None,
    offset: int = 0,
) -> list[dict]:
    """Ten rows: participants 1-5 are team 100, 6-10 team 200, positions in POSITIONS order per team."""
    created = dt.datetime.combine(day, dt.time(12), tzinfo=dt.timezone.utc)
    rows = []
    for index, (champion_id, champion_name) in enumerate(champions):
        participant_id = index + 1
        team_id = 100 if index < 5 else 200
        rows.append(
            {
                "match_id": match_id,
                "match_date": day,
                "game_creation": created,
                "game_duration_s": duration_s,
                "game_version": "14.23.1",
                "queue_id": 420,
                "platform_id": "EUW1",
                "participant_id": participant_id,
                "puuid": f"puuid-{match_id}-{participant_id}",
                "riot_id_game_name": f"player{participant_id}",
                "champion_id": champion_id,
                "champion_name": champion_name,
                "team_id": team_id,
                "team_position": POSITIONS[index % 5],
                "win": team_id == winner,
                **DEFAULT_STATS,
                "team_bans": bans[team_id],
                "kafka_topic": "lol_matches",
                "kafka_partition": 0,
                "kafka_offset": offset,
                "ingested_at": created + dt.timedelta(hours=1),
                **(overrides or {}).get(participant_id, {}),
            }
        )
    return rows


def match_one(day: dt.date = DAY, match_id: str = "EUW1_1", offset: int = 100) -> list[dict]:
    return match_rows(
        match_id,
        day,
        duration_s=1800,
        winner=100,
        champions=[GAREN, LEE_SIN, AHRI, JINX, LUX, DARIUS, VI, ZED, CAITLYN, THRESH],
        bans={100: [YASUO], 200: [KATARINA]},
        overrides={
            3: {
                "kills": 10,
                "deaths": 0,
                "assists": 5,
                "gold_earned": 15000,
                "total_minions_killed": 240,
                "neutral_minions_killed": 6,
                "total_damage_dealt_to_champions": 30000,
                "vision_score": 30,
            }
        },
        offset=offset,
    )


def match_two(day: dt.date = DAY, match_id: str = "EUW1_2", offset: int = 200) -> list[dict]:
    team_100_no_kills = {pid: {"kills": 0, "assists": 0} for pid in range(1, 6)}
    return match_rows(
        match_id,
        day,
        duration_s=1200,
        winner=200,
        champions=[GAREN, LEE_SIN, SYNDRA, JINX, NAMI, DARIUS, VI, AHRI, CAITLYN, THRESH],
        bans={100: [YASUO, ZED[0], LUX[0]], 200: [YASUO, LUX[0]]},
        overrides={**team_100_no_kills, 8: {"kills": 4, "deaths": 2, "assists": 6, "gold_earned": 10000}},
        offset=offset,
    )


def two_matches(day: dt.date = DAY) -> list[dict]:
    return match_one(day) + match_two(day)


def nullable(schema: T.StructType) -> T.StructType:
    """What a Parquet read gives: the same columns, all nullable, lists too (so tests can feed nulls in)."""

    def relaxed(data_type: T.DataType) -> T.DataType:
        return T.ArrayType(data_type.elementType, True) if isinstance(data_type, T.ArrayType) else data_type

    return T.StructType([T.StructField(f.name, relaxed(f.dataType), True) for f in schema.fields])


RAW_SCHEMA = nullable(spark_schema(RAW_PARTICIPANTS))


def raw_frame(spark: SparkSession, rows: list[dict], schema: T.StructType = RAW_SCHEMA) -> DataFrame:
    return spark.createDataFrame([tuple(row.get(name) for name in schema.names) for row in rows], schema)

