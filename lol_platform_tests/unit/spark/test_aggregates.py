"""champion_stats / position_stats: hand-computed numbers, schema, multi-day = each day alone."""

from __future__ import annotations

import datetime as dt

import pytest

from lol_core.schemas import CHAMPION_STATS, POSITION_STATS, spark_schema
from spark_jobs.aggregates import champion_stats, position_stats
from spark_jobs.cleaning import clean_participants

from .sample_matches import DAY, match_one, match_two, raw_frame, two_matches

pytestmark = pytest.mark.spark

NEXT_DAY = DAY + dt.timedelta(days=1)


@pytest.fixture(scope="module")
def cleaned(spark):
    return clean_participants(raw_frame(spark, two_matches())).cleaned.cache()


@pytest.fixture(scope="module")
def champions(cleaned):
    return {row.champion_name: row for row in champion_stats(cleaned).collect()}


@pytest.fixture(scope="module")
def positions(cleaned):
    return {row.position: row for row in position_stats(cleaned).collect()}


def measures(row, names):
    return {name: getattr(row, name) for name in names}


def test_schemas_are_the_schema_module_ones(cleaned):
    assert champion_stats(cleaned).schema == spark_schema(CHAMPION_STATS)
    assert position_stats(cleaned).schema == spark_schema(POSITION_STATS)


def test_ahri_stats_by_hand(champions):
    # EUW1_1: 10/0/5, kda 15, gpm 15000/30, cs (240+6)/30, dpm 30000/30, vision 30, team 100 won
    # EUW1_2:  4/2/6, kda 5,  gpm 10000/20, cs 160/20,     dpm 12000/20, vision 20, team 200 won
    ahri = champions["Ahri"]
    assert (ahri.stat_date, ahri.champion_id, ahri.games_played, ahri.wins) == (DAY, 103, 2, 2)
    assert measures(ahri, ["win_rate", "avg_kills", "avg_deaths", "avg_assists"]) == pytest.approx(
        {"win_rate": 100.0, "avg_kills": 7.0, "avg_deaths": 1.0, "avg_assists": 5.5}
    )
    assert measures(ahri, ["avg_kda", "avg_gpm"]) == pytest.approx({"avg_kda": (15 + 5) / 2, "avg_gpm": 500.0})
    assert measures(ahri, ["avg_cs_per_min", "avg_dpm", "avg_vision"]) == pytest.approx(
        {"avg_cs_per_min": (8.2 + 8.0) / 2, "avg_dpm": (1000 + 600) / 2, "avg_vision": 25.0}
    )
    assert (ahri.pick_rate, ahri.ban_rate) == (100.0, 0.0)  # picked in both matches, never banned


def test_garen_stats_by_hand(champions):
    # EUW1_1 won with 2/2/2 (kda 2, gpm 300); EUW1_2 lost with 0/2/0 (kda 0, gpm 450)
    garen = champions["Garen"]
    assert (garen.games_played, garen.wins) == (2, 1)
    assert measures(garen, ["win_rate", "avg_kills", "avg_assists", "avg_kda", "avg_gpm", "avg_dpm"]) == pytest.approx(
        {"win_rate": 50.0, "avg_kills": 1.0, "avg_assists": 1.0, "avg_kda": 1.0, "avg_gpm": 375.0, "avg_dpm": 500.0}
    )


def test_pick_and_ban_rates_by_hand(champions):
    zed, lux, syndra = champions["Zed"], champions["Lux"], champions["Syndra"]
    # Zed: picked in EUW1_1 (lost), banned by team 100 in EUW1_2
    assert (zed.games_played, zed.win_rate, zed.pick_rate, zed.ban_rate) == (1, 0.0, 50.0, 50.0)
    # Lux: picked in EUW1_1 (won), banned by both teams in EUW1_2: that match counts once
    assert (lux.games_played, lux.win_rate, lux.pick_rate, lux.ban_rate) == (1, 100.0, 50.0, 50.0)
    assert (syndra.pick_rate, syndra.ban_rate) == (50.0, 0.0)


def test_champions_only_banned_have_no_row(champions):
    # Yasuo (banned in both matches) and Katarina (banned in EUW1_1) were never picked.
    assert len(champions) == 12
    assert {row.champion_id for row in champions.values()}.isdisjoint({157, 55})


def test_position_stats_by_hand(positions):
    assert set(positions) == {"TOP", "JUNGLE", "MIDDLE", "BOTTOM", "UTILITY"}
    # MIDDLE: Ahri 10/0/5 won, Zed 2/2/2 lost (EUW1_1, 30 min); Syndra 0/2/0 lost, Ahri 4/2/6 won (EUW1_2, 20 min)
    middle = positions["MIDDLE"]
    assert (middle.stat_date, middle.games_played, middle.wins) == (DAY, 4, 2)
    assert measures(middle, ["win_rate", "avg_kills", "avg_deaths", "avg_assists", "avg_kda"]) == pytest.approx(
        {
            "win_rate": 50.0,
            "avg_kills": (10 + 2 + 0 + 4) / 4,
            "avg_deaths": (0 + 2 + 2 + 2) / 4,
            "avg_assists": (5 + 2 + 0 + 6) / 4,
            "avg_kda": (15 + 2 + 0 + 5) / 4,
        }
    )
    assert measures(middle, ["avg_gpm", "avg_cs_per_min", "avg_dpm", "avg_vision"]) == pytest.approx(
        {
            "avg_gpm": (500 + 300 + 450 + 500) / 4,
            "avg_cs_per_min": (246 / 30 + 160 / 30 + 160 / 20 + 160 / 20) / 4,
            "avg_dpm": (1000 + 400 + 600 + 600) / 4,
            "avg_vision": (30 + 20 + 20 + 20) / 4,
        }
    )
    # TOP: Garen 2/2/2 won and 0/2/0 lost, Darius 2/2/2 lost and won
    top = positions["TOP"]
    assert (top.games_played, top.wins, top.avg_kills, top.avg_kda) == (4, 2, 1.5, pytest.approx((2 + 2 + 0 + 2) / 4))


# -- a date range is one job -------------------------------------------------------------------------------


def rows_by_key(rows, key_names):
    return {tuple(getattr(row, k) for k in key_names): row.asDict() for row in rows}


def assert_same_rows(actual, expected, key_names):
    actual, expected = rows_by_key(actual, key_names), rows_by_key(expected, key_names)
    assert actual.keys() == expected.keys()
    for key, row in expected.items():
        assert actual[key] == pytest.approx(row), key  # averages may sum in another order


def collected(cleaning_result):
    """(cleaned, quarantine, champion stats, position stats) rows of one run; cached: each is used twice."""
    cleaned = cleaning_result.cleaned.cache()
    return (
        cleaned.collect(),
        cleaning_result.quarantine.collect(),
        champion_stats(cleaned).collect(),
        position_stats(cleaned).collect(),
    )


def test_a_date_range_gives_each_day_what_it_gives_alone(spark, cleaned, champions, positions):
    day_two = match_two(NEXT_DAY, match_id="EUW1_3", offset=300)
    day_two += match_one(NEXT_DAY, match_id="EUW1_4", offset=400)[:9]
    both = collected(clean_participants(raw_frame(spark, two_matches(DAY) + day_two)))
    day_one_alone = (cleaned.collect(), [], list(champions.values()), list(positions.values()))
    day_two_alone = collected(clean_participants(raw_frame(spark, day_two)))

    for day, alone in ((DAY, day_one_alone), (NEXT_DAY, day_two_alone)):
        assert sorted(row for row in both[0] if row.match_date == day) == sorted(alone[0])
        assert len([row for row in both[1] if row.date == day]) == len(alone[1])
        assert_same_rows([r for r in both[2] if r.stat_date == day], alone[2], ["stat_date", "champion_name"])
        assert_same_rows([r for r in both[3] if r.stat_date == day], alone[3], ["stat_date", "position"])
    # the second day really differs: one clean match (the other has 9 rows), so every pick is 100 %
    assert {row.pick_rate for row in both[2] if row.stat_date == NEXT_DAY} == {100.0}
    assert len(day_two_alone[1]) == 9
