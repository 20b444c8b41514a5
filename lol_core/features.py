"""Per-participant feature formulas, written once for both layers.

The batch layer evaluates them on Spark Columns, the speed layer on numpy arrays. The formulas only use
arithmetic and two guarded operations, so each engine supplies those two through an `Ops` object and the
definitions below stay the single place where a feature is defined (docs/architecture.md, "Data contract").
"""

from __future__ import annotations

from typing import Any, Protocol


class Ops(Protocol):
    def safe_div(self, numerator: Any, denominator: Any) -> Any:
        """numerator / denominator, and 0.0 where the denominator is 0."""

    def at_least_one(self, value: Any) -> Any:
        """max(value, 1)."""


# The columns the formulas read. Engines pass them as 64-bit floats: two int32 counters near their limit
# (which the contract allows) would overflow an integer sum.
FEATURE_INPUTS = ("game_duration_s", "kills", "deaths", "assists", "gold_earned", "total_minions_killed",
                  "neutral_minions_killed", "total_damage_dealt_to_champions", "vision_score", "team_kills", "team_damage")  # fmt: skip


def feature_columns(c: dict[str, Any], ops: Ops) -> dict[str, Any]:
    """Feature name -> expression, from the participant's columns plus `team_kills` / `team_damage`."""
    minutes = c["game_duration_s"] / 60.0
    return {
        "game_minutes": minutes,
        "kda": (c["kills"] + c["assists"]) / ops.at_least_one(c["deaths"]),
        "gpm": ops.safe_div(c["gold_earned"], minutes),
        "cs_per_min": ops.safe_div(c["total_minions_killed"] + c["neutral_minions_killed"], minutes),
        "dpm": ops.safe_div(c["total_damage_dealt_to_champions"], minutes),
        "kill_participation": ops.safe_div(c["kills"] + c["assists"], c["team_kills"]),
        "damage_share": ops.safe_div(c["total_damage_dealt_to_champions"], c["team_damage"]),
        "vision_per_min": ops.safe_div(c["vision_score"], minutes),
    }


class SparkOps:
    def safe_div(self, numerator, denominator):
        from pyspark.sql import functions as F

        return F.when(denominator > 0, numerator / denominator).otherwise(F.lit(0.0))

    def at_least_one(self, value):
        from pyspark.sql import functions as F

        return F.greatest(value, F.lit(1))


class NumpyOps:
    """Vectorised over numpy arrays: the speed layer's micro-batches."""

    def safe_div(self, numerator, denominator):
        import numpy as np

        num = np.asarray(numerator, dtype="float64")
        den = np.asarray(denominator, dtype="float64")
        out = np.zeros_like(num)
        np.divide(num, den, out=out, where=den > 0)
        return out

    def at_least_one(self, value):
        import numpy as np

        return np.maximum(np.asarray(value, dtype="float64"), 1.0)
