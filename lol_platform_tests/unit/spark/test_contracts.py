"""The PySpark Pandera contracts derived from the schema module: verdicts, failing-row counts, examples."""

from __future__ import annotations

import datetime as dt

from lol_core.schemas import POSITION_STATS, spark_schema
from lol_platform.gates.pandera_spark import validate_frame


def _position_row(position="TOP", win_rate=50.0, avg_kda=3.0):
    return (dt.date(2026, 1, 1), position, 4, 2, win_rate, 2.0, 3.0, 4.0, avg_kda, 400.0, 6.0, 500.0, 20.0)


def test_a_valid_frame_passes(spark):
    df = spark.createDataFrame([_position_row(), _position_row("JUNGLE")], spark_schema(POSITION_STATS))
    result = validate_frame(df, POSITION_STATS, "position_stats")
    assert result.passed and result.rows == 2


def test_violations_are_counted_per_rule_with_examples(spark):
    rows = [_position_row(), _position_row("SUPPORT"), _position_row(win_rate=140.0), _position_row(win_rate=120.0, avg_kda=-1.0)]
    df = spark.createDataFrame(rows, spark_schema(POSITION_STATS))
    result = validate_frame(df, POSITION_STATS, "position_stats", ["position", "win_rate", "avg_kda"])
    assert not result.passed
    assert result.failures == {
        "position.allowed": 1,
        "win_rate.max": 2,
        "avg_kda.min": 1,
    }
    assert {"rule": "win_rate.max", "position": "TOP", "win_rate": 140.0, "avg_kda": 3.0} in result.examples
    assert result.pandera_errors  # Pandera's own verdict is kept in the metadata too


def test_a_frame_of_the_wrong_shape_fails_on_pandera_schema_checks(spark):
    from pyspark.sql import functions as F

    df = spark.createDataFrame([_position_row()], spark_schema(POSITION_STATS))
    wrong = df.withColumn("games_played", F.col("games_played").cast("string")).withColumn("extra", F.lit(1))
    result = validate_frame(wrong, POSITION_STATS, "position_stats")
    assert not result.passed and result.rows == 1
    report = " ".join(" ".join(v) for v in result.pandera_errors.values())
    assert "games_played" in report and "extra" in report, result.pandera_errors
