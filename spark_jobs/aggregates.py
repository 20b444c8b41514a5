"""Daily aggregates of cleaned participants. Pure: DataFrame in, DataFrame out.

Every measure is grouped by the match date, so a multi-day input (one backfill job) gives, for each day,
exactly what that day alone gives. Nothing is rounded: consumers round.

Averages are means of the per-participant features (avg_kda is the mean of each player's kda, not the kda of
the summed kills/deaths/assists).

Champions that were banned but never picked on a day have no row that day: the table is keyed by
champion_name and a ban only carries a champion id, and a row of zero "averages" for games never played
would read as real values. So ban_rate is reported for the champions that were picked that day.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from lol_core.schemas import CHAMPION_STATS, POSITION_STATS
from spark_jobs.schema_conform import conform


def _stat_date() -> Column:
    return F.col("match_date").alias("stat_date")


def champion_stats(cleaned: DataFrame) -> DataFrame:
    """CHAMPION_STATS per (stat_date, champion_name).

    pick_rate = 100 * matches that picked the champion / matches that day (equal to games_played / matches
    in every draft queue; counting matches keeps it <= 100 where a champion can be picked twice).
    ban_rate = 100 * matches where either team banned it (a match counts once) / matches that day.
    """
    picks = cleaned.groupBy(_stat_date(), "champion_name").agg(
        F.min("champion_id").alias("champion_id"),  # one id per name; min() only makes the choice explicit
        *_measures(),
        F.countDistinct("match_id").alias("picked_matches"),
    )
    with_rates = (
        picks.join(_matches_per_day(cleaned), "stat_date")
        .join(_banned_matches(cleaned), ["stat_date", "champion_id"], "left")
        .withColumns(
            {
                "pick_rate": _percent(F.col("picked_matches"), F.col("day_matches")),
                "ban_rate": _percent(F.coalesce(F.col("banned_matches"), F.lit(0)), F.col("day_matches")),
            }
        )
    )
    return conform(with_rates, CHAMPION_STATS)


def position_stats(cleaned: DataFrame) -> DataFrame:
    """POSITION_STATS per (stat_date, position)."""
    stats = cleaned.groupBy(_stat_date(), F.col("team_position").alias("position")).agg(*_measures())
    return conform(stats, POSITION_STATS)


def _measures() -> list[Column]:
    """The _STAT_MEASURES of the schema module, as aggregate expressions (same names, same order)."""
    games = F.count(F.lit(1))
    wins = F.sum(F.col("win").cast("long"))
    return [
        games.alias("games_played"),
        wins.alias("wins"),
        _percent(wins, games).alias("win_rate"),
        F.avg("kills").alias("avg_kills"),
        F.avg("deaths").alias("avg_deaths"),
        F.avg("assists").alias("avg_assists"),
        _mean("kda").alias("avg_kda"),
        _mean("gpm").alias("avg_gpm"),
        _mean("cs_per_min").alias("avg_cs_per_min"),
        _mean("dpm").alias("avg_dpm"),
        F.avg("vision_score").alias("avg_vision"),
    ]


# Exact sums: each double rounds once, to 18 decimals, and decimal addition does not depend on the order.
_EXACT = "decimal(38,18)"


def _mean(column: str) -> Column:
    """The mean of a double column, with the same result whatever order the rows arrive in: floating-point
    addition is not associative, so Spark's avg() changes in the last bits with the order of the rows, and a
    re-run or a backfill of another shape must give exactly the same numbers. The values are summed as
    decimals (exact; each value rounded once to 1e-18, far inside the 1e-12 the stores are compared to),
    an ordinary aggregate rather than a sorted list of every value of the group."""
    return F.sum(F.col(column).cast(_EXACT)).cast("double") / F.count(F.col(column))


def _matches_per_day(cleaned: DataFrame) -> DataFrame:
    return cleaned.groupBy(_stat_date()).agg(F.countDistinct("match_id").alias("day_matches"))


def _banned_matches(cleaned: DataFrame) -> DataFrame:
    """(stat_date, champion_id) -> in how many matches either team banned it."""
    # Each of a team's 5 rows repeats its bans and both teams may ban the same champion: distinct() makes
    # each (match, champion) count once.
    bans = cleaned.select(_stat_date(), "match_id", F.explode("team_bans").alias("champion_id")).distinct()
    return bans.groupBy("stat_date", "champion_id").agg(F.count(F.lit(1)).alias("banned_matches"))


def _percent(part: Column, whole: Column) -> Column:
    return part * 100.0 / whole
