"""clean_participants: features by hand, every bad-row kind quarantined with its reason, dedupe, no row lost."""

from __future__ import annotations

import collections
import datetime as dt
import json

import pytest
from pyspark.sql import functions as F
from pyspark.sql import types as T

from lol_core.schemas import CLEANED_PARTICIPANTS, POSITIONS, QUARANTINE, spark_schema
from spark_jobs.cleaning import DUPLICATE_REASON, QUARANTINE_OUTPUT, RAW_PARTITION_DATE, clean_participants

from .sample_matches import DAY, match_one, match_two, raw_frame, two_matches

pytestmark = pytest.mark.spark

STAMP = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc)


def utc(collected: dt.datetime) -> dt.datetime:
    """PySpark hands timestamps back as naive local times of this process."""
    return collected.astimezone(dt.timezone.utc)


def by_participant(rows):
    return {(row.match_id, row.participant_id): row for row in rows}


def reasons_by_match(quarantine_rows) -> dict[str, collections.Counter]:
    found = collections.defaultdict(collections.Counter)
    for row in quarantine_rows:
        found[row.match_id][row.reason] += 1
    return found


def with_changes(rows: list[dict], changes: dict[int, dict]) -> list[dict]:
    return [{**row, **changes.get(row["participant_id"], {})} for row in rows]


# -- a clean day -------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def good(spark):
    result = clean_participants(raw_frame(spark, two_matches()), quarantined_at=STAMP)
    return result, result.cleaned.collect(), result.quarantine.collect()


def test_two_good_matches_are_all_clean(good):
    _, cleaned, quarantine = good
    assert len(cleaned) == 20 and quarantine == []


def test_output_schemas_are_the_schema_module_ones(good):
    result, _, _ = good
    assert result.cleaned.schema == spark_schema(CLEANED_PARTICIPANTS)
    assert result.quarantine.schema == spark_schema(QUARANTINE_OUTPUT)
    assert result.quarantine.drop("date").schema == spark_schema(QUARANTINE)  # + only its lake partition


def test_features_match_hand_computation(good):
    rows = by_participant(good[1])

    ahri_1 = rows[("EUW1_1", 3)]  # 30 min; 10/0/5; team 100 kills 2+2+10+2+2 = 18; team damage 4*12000 + 30000
    assert ahri_1.game_minutes == 30.0
    assert ahri_1.kda == pytest.approx((10 + 5) / 1)  # deaths 0 counts as 1
    assert ahri_1.gpm == pytest.approx(15000 / 30)
    assert ahri_1.cs_per_min == pytest.approx((240 + 6) / 30)
    assert ahri_1.dpm == pytest.approx(30000 / 30)
    assert ahri_1.kill_participation == pytest.approx(15 / 18)
    assert ahri_1.damage_share == pytest.approx(30000 / 78000)
    assert ahri_1.vision_per_min == pytest.approx(30 / 30)

    zed = rows[("EUW1_1", 8)]  # 2/2/2 in a team of five 2-kill players
    assert (zed.kda, zed.gpm, zed.dpm) == pytest.approx((4 / 2, 9000 / 30, 12000 / 30))
    assert zed.kill_participation == pytest.approx(4 / 10)
    assert zed.damage_share == pytest.approx(1 / 5)

    syndra = rows[("EUW1_2", 3)]  # 20 min; 0/2/0 in a team with no kills: participation 0, not a division error
    assert (syndra.kda, syndra.kill_participation) == (0.0, 0.0)
    assert (syndra.gpm, syndra.cs_per_min, syndra.vision_per_min) == pytest.approx((9000 / 20, 160 / 20, 20 / 20))

    ahri_2 = rows[("EUW1_2", 8)]  # 4/2/6; team 200 kills 4*2 + 4 = 12
    assert (ahri_2.kda, ahri_2.gpm) == pytest.approx(((4 + 6) / 2, 10000 / 20))
    assert ahri_2.kill_participation == pytest.approx(10 / 12)


def test_cleaned_keeps_the_raw_values(good):
    ahri = by_participant(good[1])[("EUW1_1", 3)]
    assert (ahri.match_date, ahri.team_bans, ahri.kafka_offset) == (DAY, [157], 100)
    assert utc(ahri.game_creation) == dt.datetime(2026, 1, 1, 12, tzinfo=dt.timezone.utc)


# -- every kind of bad input -------------------------------------------------------------------------------


def bad_matches() -> dict[str, list[dict]]:
    """match id -> its rows, each match broken in one way (based on match_one)."""
    base = lambda match_id, offset: match_one(match_id=match_id, offset=offset)  # noqa: E731
    every = lambda changes: {pid: changes for pid in range(1, 11)}  # noqa: E731
    return {
        "NEG": with_changes(base("NEG", 1000), {1: {"kills": -1}}),
        "POS": with_changes(base("POS", 1010), {2: {"team_position": "MID"}}),
        "NULL": with_changes(base("NULL", 1020), {4: {"puuid": None}}),
        "LVL": with_changes(base("LVL", 1030), {5: {"champ_level": 31}}),
        "TEAM": with_changes(base("TEAM", 1040), {6: {"team_id": 300}}),
        "SHORT": with_changes(base("SHORT", 1050), every({"game_duration_s": 30})),
        "DATE": with_changes(base("DATE", 1060), {7: {"match_date": DAY + dt.timedelta(days=1)}}),
        "BAN": with_changes(base("BAN", 1070), {3: {"team_bans": [157, None]}}),
        "NINE": base("NINE", 1080)[:9],
        "WIN2": with_changes(base("WIN2", 1090), every({"win": True})),
        "MIXED": with_changes(base("MIXED", 1100), {1: {"win": False}}),
        "DUPPOS": with_changes(base("DUPPOS", 1110), {1: {"team_position": "JUNGLE"}}),
        "KP": with_changes(base("KP", 1120), {1: {"assists": 50}}),
        "VER": with_changes(base("VER", 1130), {2: {"game_version": "14.24.1"}}),
    }


NINE_ROWS_TEAM_100 = "match.participants: 9 participants; match.team_size: team 100 has 4 participants"
NINE_ROWS_TEAM_200 = "match.participants: 9 participants; match.team_size: team 200 has 4 participants"
EXPECTED_REASONS = {
    "NEG": {"kills.min": 1, NINE_ROWS_TEAM_100: 9},
    "POS": {"team_position.allowed": 1, NINE_ROWS_TEAM_100: 9},
    "NULL": {"puuid.missing": 1, NINE_ROWS_TEAM_100: 9},
    "LVL": {"champ_level.max": 1, NINE_ROWS_TEAM_100: 9},
    "TEAM": {"team_id.allowed": 1, NINE_ROWS_TEAM_200: 9},
    "SHORT": {"game_duration_s.min": 10},
    "DATE": {"match.consistent: match_date is not the UTC date of game_creation": 1, NINE_ROWS_TEAM_200: 9},
    "BAN": {"team_bans.type": 1, NINE_ROWS_TEAM_100: 9},
    "NINE": {NINE_ROWS_TEAM_200: 9},
    "WIN2": {"match.winner: 2 winning teams": 10},
    "MIXED": {"match.winner: 0 winning teams; match.winner: team 100 has mixed win flags": 10},
    "DUPPOS": {"match.positions: team 100 has a duplicate team_position": 10},
    "KP": {"match.kill_participation: participant 1": 10},
    "VER": {"match.consistent: match fields differ between participants": 10},
}


def duplicates() -> list[dict]:
    ahri, jinx = match_one()[2], match_one()[3]
    return [
        {**ahri, "kafka_offset": 50, "kills": 99},  # another message with one row: a copy that breaks the match rules
        dict(jinx),  # an exact copy: one of the two is kept
        {**match_two()[7], "kafka_offset": 999, "kills": -5},  # a newer but invalid copy never displaces a valid one
    ]


@pytest.fixture(scope="module")
def bad_input():
    return two_matches() + [row for rows in bad_matches().values() for row in rows] + duplicates()


@pytest.fixture(scope="module")
def bad(spark, bad_input):
    result = clean_participants(raw_frame(spark, bad_input), quarantined_at=STAMP)
    return result.cleaned.collect(), result.quarantine.collect()


def test_each_bad_kind_is_quarantined_with_its_reason(bad):
    found = reasons_by_match(bad[1])
    for match_id, expected in EXPECTED_REASONS.items():
        assert dict(found[match_id]) == expected, match_id


def test_good_matches_survive_next_to_bad_ones(bad):
    cleaned, _ = bad
    assert {row.match_id for row in cleaned} == {"EUW1_1", "EUW1_2"}
    assert len(cleaned) == 20


def test_dedupe_keeps_exactly_one_row_the_newest_valid_one(bad):
    cleaned, quarantine = bad
    kept = by_participant(cleaned)
    assert len(kept) == len(cleaned)  # one row per (match_id, participant_id)
    assert (kept[("EUW1_1", 3)].kills, kept[("EUW1_1", 3)].kafka_offset) == (10, 100)
    assert (kept[("EUW1_2", 8)].kills, kept[("EUW1_2", 8)].kafka_offset) == (4, 200)
    one_row_copy = "match.participants: 1 participants; match.team_size: team 100 has 1 participants; match.kill_participation: participant 3"
    assert reasons_by_match(quarantine)["EUW1_1"] == {DUPLICATE_REASON: 1, one_row_copy: 1}
    assert reasons_by_match(quarantine)["EUW1_2"] == {"kills.min": 1}


def test_no_row_is_silently_dropped(bad, bad_input):
    cleaned, quarantine = bad
    assert len(bad_input) == len(cleaned) + len(quarantine) == 20 + 14 * 10 - 1 + 3


def test_quarantine_rows_carry_lineage_and_the_raw_row(bad):
    negative = next(row for row in bad[1] if row.reason == "kills.min" and row.match_id == "NEG")
    assert (negative.stage, utc(negative.quarantined_at), negative.date) == ("clean", STAMP, DAY)
    assert (negative.participant_id, negative.kafka_topic, negative.kafka_partition, negative.kafka_offset) == (
        1,
        "lol_matches",
        0,
        1000,
    )
    raw = json.loads(negative.raw)
    assert (raw["match_id"], raw["kills"], raw["riot_id_game_name"]) == ("NEG", -1, "player1")


def test_the_kept_duplicate_does_not_depend_on_input_order(spark, bad_input, bad):
    reversed_input = raw_frame(spark, list(reversed(bad_input))).repartition(3)
    cleaned = clean_participants(reversed_input, quarantined_at=STAMP).cleaned.collect()
    assert sorted(cleaned) == sorted(bad[0])


# -- input written by someone else -------------------------------------------------------------------------


def as_text(df):
    def text(field: T.StructField):
        column = F.col(field.name)
        text = F.to_json(column) if isinstance(field.dataType, T.ArrayType) else column.cast("string")
        return text.alias(field.name)

    return df.select(*[text(field) for field in df.schema.fields])


def test_text_columns_are_coerced_and_uncastable_values_quarantined(spark, good):
    broken = with_changes(match_one(match_id="TEXT", offset=3000), {})
    text = as_text(raw_frame(spark, two_matches() + broken))
    first_of_text = (F.col("match_id") == "TEXT") & (F.col("participant_id") == "1")
    text = text.withColumn("kills", F.when(first_of_text, "abc").otherwise(F.col("kills")))
    result = clean_participants(text, quarantined_at=STAMP)
    cleaned, quarantine = result.cleaned.collect(), result.quarantine.collect()

    assert result.cleaned.schema == spark_schema(CLEANED_PARTICIPANTS)
    assert sorted(cleaned) == sorted(good[1])  # the same rows as from a correctly typed file
    assert dict(reasons_by_match(quarantine)["TEXT"]) == {
        "kills.type: value 'abc' is not int32": 1,
        NINE_ROWS_TEAM_100: 9,
    }


def test_a_fraction_in_an_integer_column_is_not_truncated(spark):
    raw = raw_frame(spark, match_one()).withColumn(
        "kills", F.when(F.col("participant_id") == 1, F.lit(2.5)).otherwise(F.col("kills").cast("double"))
    )
    quarantine = clean_participants(raw).quarantine.collect()
    assert dict(reasons_by_match(quarantine)["EUW1_1"]) == {
        "kills.type: value '2.5' is not int32": 1,
        NINE_ROWS_TEAM_100: 9,
    }


def test_a_missing_column_quarantines_every_row(spark):
    result = clean_participants(raw_frame(spark, match_one()).drop("vision_score"))
    assert result.cleaned.count() == 0
    assert dict(reasons_by_match(result.quarantine.collect())["EUW1_1"]) == {"vision_score.missing: column missing from input": 10}


def test_rows_outside_their_raw_partition_are_quarantined_there(spark):
    next_day = DAY + dt.timedelta(days=1)
    raw = raw_frame(spark, two_matches()).withColumn(
        RAW_PARTITION_DATE, F.when(F.col("match_id") == "EUW1_2", F.lit(next_day)).otherwise(F.lit(DAY))
    )
    result = clean_participants(raw)
    quarantine = result.quarantine.collect()
    assert {row.match_id for row in result.cleaned.collect()} == {"EUW1_1"}
    assert {(row.match_id, row.reason, row.date) for row in quarantine} == {
        ("EUW1_2", f"match.date_window: match_date {DAY} is not its raw partition date {next_day}", next_day)
    }
    assert RAW_PARTITION_DATE not in json.loads(quarantine[0].raw)
