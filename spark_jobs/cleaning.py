"""Raw participant rows -> cleaned participants (with features) + quarantine. Pure: DataFrame in, DataFrames out.

Every input row ends in exactly one of the two outputs (rows_in == cleaned + quarantined):
1. row rules   - each column is coerced to its schema type with a try-cast (a value that does not cast is a
                 failure), then checked for nulls and the Field's ge/le/isin rules;
2. dedupe      - rows are grouped into copies of a match: the rows of one Kafka message (COPY_KEY). Within a
                 copy one valid row per participant_id is kept (a redelivered row is `match.duplicate`);
3. match rules - are judged per copy: a copy needs exactly 10 kept participants, each team 5 with every
                 position once, one winning team, the same match fields on every row and features within
                 their ranges; otherwise all its kept rows are quarantined with the copy's reasons;
4. one truth   - among the copies that pass every rule, in the input and on other dates (`versions_elsewhere`,
                 the MATCH_VERSIONS table), the newest (newest_first()) wins as a whole match; the rows of every
                 other passing copy are quarantined as `match.superseded`, naming the winning copy.
"""

from __future__ import annotations

import datetime as dt
import functools
from typing import NamedTuple

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F
from pyspark.sql import types as T

from lol_core.features import FEATURE_INPUTS, SparkOps, feature_columns
from lol_core.schemas import (
    CLEANED_PARTICIPANTS,
    FEATURE_FIELDS,
    MATCH_FIELDS,
    PARTICIPANTS_PER_MATCH,
    POSITIONS,
    QUARANTINE_TABLE,
    RAW_PARTICIPANTS,
    Field,
)
from lol_core.lake_paths import QUARANTINE_DATE
from lol_core.rules import reason, rule_id
from spark_jobs.rule_checks import value_violations
from spark_jobs.schema_conform import castable_type, conform

STAGE = "clean"
DUPLICATE_REASON = "match.duplicate"
PARTICIPANTS_PER_TEAM = PARTICIPANTS_PER_MATCH // 2

# Optional input column: the date of the raw lake partition a row was read from (spark_jobs.lake_io.read_raw adds
# it). When present it is the quarantine partition of the row, and a row whose match_date differs is
# quarantined: writing it would replace a cleaned partition outside the job's date range.
RAW_PARTITION_DATE = "_raw_partition_date"

# The quarantine output is the lake's quarantine table: the records plus the date they are partitioned by.
QUARANTINE_OUTPUT = QUARANTINE_TABLE

_NUMERIC = (T.ByteType, T.ShortType, T.IntegerType, T.LongType, T.FloatType, T.DoubleType, T.DecimalType)
_INTEGRAL = (T.ByteType, T.ShortType, T.IntegerType, T.LongType)
_TEMPORAL = (T.DateType, T.TimestampType, T.TimestampNTZType)


class CleaningResult(NamedTuple):
    cleaned: DataFrame  # CLEANED_PARTICIPANTS columns, in order, with the schema's types
    quarantine: DataFrame  # the lake quarantine table QUARANTINE_OUTPUT: QUARANTINE columns + their date


# The outcome of judging: every input row once, with its quarantine reason (null: the row is cleaned).
OUTCOME_REASON = "_outcome_reason"


def clean_participants(
    raw: DataFrame, quarantined_at: dt.datetime | None = None, versions_elsewhere: DataFrame | None = None
) -> CleaningResult:
    """Validate, dedupe and featurize raw participant rows; nothing is dropped without a quarantine row.

    `quarantined_at` (timezone-aware) defaults to the query's current timestamp; pass one to make the
    quarantine output reproducible. `versions_elsewhere` (MATCH_VERSIONS columns) are the copies kept on
    dates outside the input's dates; a copy here that one of them supersedes is quarantined, not cleaned.
    """
    return split_outcome(judge_rows(rank_rows(raw), versions_elsewhere), quarantined_at)


def rank_rows(raw: DataFrame) -> DataFrame:
    """Steps 1-2: every raw row typed, with the row rules' _reasons, _row_ok and its _rank among the copies
    of its participant. The widest plan of the job (a rule expression per column): at volume, callers
    checkpoint its result before judge_rows reads it in several branches."""
    return _rank_duplicates(_typed_with_row_reasons(raw))


def judge_rows(ranked: DataFrame, versions_elsewhere: DataFrame | None = None) -> DataFrame:
    """rank_rows' rows, each once, featurized when kept, with OUTCOME_REASON (null when the row is cleaned).

    One frame for both outputs, in one pass over the rows: what the match rules say about each failing copy
    and which copy of each match wins are worked out first, as small per-copy and per-match frames, and
    joined back to the rows. Rows partitioned by match_id once (spark_jobs.jobs.clean_dates) are grouped and
    joined by keys that start with match_id without another shuffle.
    """
    kept = F.col("_row_ok") & (F.col("_rank") == 1)
    # Team totals count only the kept rows: a row that breaks a rule or a duplicate is in no team.
    featured = _with_features(ranked, kept)
    kept_rows = featured.where(kept)
    failing = _match_reasons(kept_rows, COPY_KEY).where(F.size("_match_reasons") > 0)
    passing = kept_rows.select(*COPY_KEY).distinct().join(failing, COPY_KEY, "left_anti")
    # The per-copy and per-match frames are hashed, not sorted, against the rows: sorting every wide row for a
    # merge join cost more than the judging itself.
    winners = _winners(passing, versions_elsewhere)
    judged = featured.join(failing.hint("shuffle_hash"), COPY_KEY, "left").join(winners.hint("shuffle_hash"), "match_id", "left")
    reason = (
        F.when(~F.col("_row_ok"), F.concat_ws("; ", "_reasons"))
        .when(F.col("_rank") > 1, F.lit(DUPLICATE_REASON))
        .when(F.col("_match_reasons").isNotNull(), F.concat_ws("; ", "_match_reasons"))
        .when(~_is_winner(), _superseded_reason())
    )
    return judged.withColumn(OUTCOME_REASON, reason)


def split_outcome(outcome: DataFrame, quarantined_at: dt.datetime | None = None) -> CleaningResult:
    """judge_rows' outcome -> the cleaned rows and the quarantine rows (stamped `quarantined_at`)."""
    stamp = F.lit(quarantined_at) if quarantined_at is not None else F.current_timestamp()
    cleaned = outcome.where(F.col(OUTCOME_REASON).isNull())
    quarantine = _quarantine_rows(outcome.where(F.col(OUTCOME_REASON).isNotNull()), F.col(OUTCOME_REASON), stamp)
    return CleaningResult(conform(cleaned, CLEANED_PARTICIPANTS), conform(quarantine, QUARANTINE_OUTPUT))


def _with_features(rows: DataFrame, kept: Column) -> DataFrame:
    """The rows with FEATURE_FIELDS, the team totals summed over the kept rows of each copy's team (aggregated
    and hashed back to the rows: a window would sort every wide row)."""
    team_key = [*COPY_KEY, "team_id"]
    totals = rows.where(kept).groupBy(*team_key).agg(
        F.sum("kills").alias("team_kills"), F.sum("total_damage_dealt_to_champions").alias("team_damage")
    )
    with_team = rows.join(totals.hint("shuffle_hash"), team_key, "left")
    features = feature_columns({name: F.col(name).cast("double") for name in FEATURE_INPUTS}, SparkOps())
    return with_team.withColumns(features).drop("team_kills", "team_damage")


# -- 1. types and row rules --------------------------------------------------------------------------------


def _typed_with_row_reasons(raw: DataFrame) -> DataFrame:
    """RAW_PARTICIPANTS columns coerced to their types, plus _raw (the input row as JSON, for an invalid row),
    _row_hash (of the input row), _partition_date and _reasons (why the row is invalid; empty when valid)."""
    typed = {f.name: _coerce(raw, f) for f in RAW_PARTICIPANTS}
    # A column already of its type is selected as it is, not under a new alias: Spark then still knows the
    # rows' partitioning by match_id (clean_dates partitions by it once) after the checkpoint.
    columns = [typed[f.name] if _is_stored_as(raw, f) else typed[f.name].alias(f.name) for f in RAW_PARTICIPANTS]
    checks = [_field_reason(raw, f, typed[f.name]) for f in RAW_PARTICIPANTS] + _cross_field_reasons(raw, typed)
    broken = F.coalesce(*checks).isNotNull()
    # The reasons array (built and filtered per row, outside code generation) only for a row that breaks a rule.
    reasons = F.when(broken, _present(checks)).otherwise(F.array().cast("array<string>"))
    partition_date = F.col(RAW_PARTITION_DATE).cast("date") if RAW_PARTITION_DATE in raw.columns else F.lit(None)
    return raw.select(
        *columns,
        # The input row as text only where a row rule fails: a valid row's typed columns are its values, and
        # carrying ~1 KB of JSON per row through every shuffle and checkpoint cost more than the judging.
        F.when(broken, _row_as_json(raw)).alias("_raw"),
        F.xxhash64(*_raw_columns(raw)).alias("_row_hash"),
        partition_date.cast("date").alias("_partition_date"),
        reasons.alias("_reasons"),
    )


def _coerce(raw: DataFrame, field: Field) -> Column:
    """The column as the field's type; null where the value does not cast (or the column is missing)."""
    target = castable_type(field)
    if field.name not in raw.columns:
        return F.lit(None).cast(target)
    source = raw.schema[field.name].dataType
    column = F.col(field.name)
    if _is_stored_as(raw, field):
        return column
    if isinstance(target, T.ArrayType) and isinstance(source, T.StringType):
        return F.from_json(column, target)  # a foreign writer may have stored the list as JSON text
    if not _can_try_cast(source, target):
        return F.lit(None).cast(target)
    typed = column.try_cast(target)
    if isinstance(target, _INTEGRAL) and isinstance(source, (T.FloatType, T.DoubleType, T.DecimalType)):
        typed = F.when(typed == column, typed)  # try_cast truncates 3.7 to 3; a fraction is not an integer
    return typed


def _is_stored_as(raw: DataFrame, field: Field) -> bool:
    return field.name in raw.columns and raw.schema[field.name].dataType.simpleString() == castable_type(field).simpleString()


def _can_try_cast(source: T.DataType, target: T.DataType) -> bool:
    """Whether Spark accepts try_cast(source AS target) at all (otherwise analysis fails)."""
    if isinstance(source, T.StringType) and not isinstance(target, T.ArrayType):
        return True
    if isinstance(target, T.StringType):
        return True
    if isinstance(target, _NUMERIC):
        return isinstance(source, _NUMERIC)
    if isinstance(target, T.BooleanType):
        return isinstance(source, T.BooleanType)
    if isinstance(target, (T.DateType, T.TimestampType)):
        return isinstance(source, _TEMPORAL)
    if isinstance(target, T.ArrayType):
        return isinstance(source, T.ArrayType) and _can_try_cast(source.elementType, target.elementType)
    return False


def _field_reason(raw: DataFrame, field: Field, typed: Column) -> Column:
    """The first rule this field breaks, as a rulebook reason, or null."""
    if field.name not in raw.columns:
        return F.lit(reason(rule_id(field, "missing"), "column missing from input"))
    original = F.col(field.name)
    checks = []
    if not field.nullable:
        checks.append((original.isNull(), F.lit(rule_id(field, "missing"))))
    not_cast = F.format_string(f"{rule_id(field, 'type')}: value '%s' is not {field.type}", original.cast("string"))
    checks.append((original.isNotNull() & typed.isNull(), not_cast))
    checks.extend(_value_checks(field, typed))
    return _first_reason(checks)


def _value_checks(field: Field, value: Column) -> list[tuple[Column, Column]]:
    """The Field's value rules (lol_core.rules, rendered by spark_jobs.rule_checks) as (broken?, reason)."""
    return [(broken, F.lit(rule)) for broken, rule in value_violations(field, value)]


def _cross_field_reasons(raw: DataFrame, typed: dict[str, Column]) -> list[Column]:
    match_date = typed["match_date"]
    reasons = [
        F.when(
            match_date != _utc_date(typed["game_creation"]),
            F.lit(reason("match.consistent", "match_date is not the UTC date of game_creation")),
        )
    ]
    if RAW_PARTITION_DATE in raw.columns:
        partition_date = F.col(RAW_PARTITION_DATE).cast("date")
        reasons.append(
            F.when(
                match_date != partition_date,
                F.format_string(
                    "match.date_window: match_date %s is not its raw partition date %s",
                    match_date.cast("string"),
                    partition_date.cast("string"),
                ),
            )
        )
    return reasons


def _utc_date(timestamp: Column) -> Column:
    # unix_seconds is time-zone free, unlike to_date, which would use the session's time zone.
    return F.date_from_unix_date(F.floor(F.unix_seconds(timestamp) / 86400).cast("int"))


def _raw_columns(raw: DataFrame) -> list[Column]:
    return [F.col(f"`{name}`") for name in raw.columns if name != RAW_PARTITION_DATE]


def _row_as_json(raw: DataFrame) -> Column:
    return F.to_json(F.struct(*_raw_columns(raw)), {"ignoreNullFields": "false"})


def _valid_row_as_json() -> Column:
    """A row that passed the row rules, as text: its typed RAW_PARTICIPANTS columns."""
    return F.to_json(F.struct(*[F.col(f.name) for f in RAW_PARTICIPANTS]), {"ignoreNullFields": "false"})


def _first_reason(checks: list[tuple[Column, Column]]) -> Column:
    reason = None
    for broken, message in checks:
        reason = F.when(broken, message) if reason is None else reason.when(broken, message)
    return reason if reason is not None else F.lit(None).cast("string")


def _present(reasons: list[Column]) -> Column:
    return F.filter(F.array(*reasons), lambda reason: reason.isNotNull())


# -- 2. dedupe and 4. one truth per matchId ------------------------------------------------------------------
#
# A copy of a match is the rows of one Kafka message: COPY_KEY. The producer keys messages by matchId, so
# every copy of a match is on the same partition, where the highest offset is the newest. newest_first()
# orders any two copies, the same way in every run whatever its date range, and the speed layer's
# Elasticsearch version (lol_platform.speed.documents.document_version) orders them identically:
#   1. higher kafka_offset, 2. higher kafka_partition (offsets of two partitions are not comparable; this
#   only matters if the topic was re-partitioned), 3. kafka_topic (ascending; the stream reads one topic,
#   so this and 4. only order foreign-written files), 4. later match_date.
# The winner is chosen among the copies that pass every rule: a newer copy that breaks a rule never
# displaces a good one (the door would have rejected it, and the stream does not index it).

COPY_KEY = ["match_id", "match_date", "kafka_topic", "kafka_partition", "kafka_offset"]
# The match versions table: one row per match kept on a date, the coordinates of the copy kept there.
MATCH_VERSIONS = [next(f for f in RAW_PARTICIPANTS if f.name == name) for name in COPY_KEY]
SUPERSEDED_RULE = "match.superseded"
_WINNER = [f"_winner_{name}" for name in COPY_KEY[1:]]


def newest_first() -> list[Column]:
    return [F.desc("kafka_offset"), F.desc("kafka_partition"), F.asc("kafka_topic"), F.desc("match_date")]


def match_versions(cleaned: DataFrame) -> DataFrame:
    """Cleaned participants -> MATCH_VERSIONS: the copy kept for each match on each date."""
    return conform(cleaned.select(*COPY_KEY).distinct(), MATCH_VERSIONS)


def superseded_versions(versions: DataFrame) -> DataFrame:
    """The MATCH_VERSIONS rows that a newer copy of the same match beats, with the winner's coordinates
    (superseded_by_<column>). Their dates hold a copy that must go: re-cleaning them removes it."""
    ranked = _with_winner(versions.select(*COPY_KEY).distinct())
    losing = ranked.where(~_is_winner())
    return losing.select(*COPY_KEY, *[F.col(w).alias(f"superseded_by_{n}") for w, n in zip(_WINNER, COPY_KEY[1:])])


def _rank_duplicates(df: DataFrame) -> DataFrame:
    """Adds _row_ok and _rank; among the valid rows of a participant within one copy, _rank 1 is kept."""
    with_ok = df.withColumn("_row_ok", F.size("_reasons") == 0)
    # Valid rows sort first, so they get ranks 1..k and an invalid row never displaces a valid one.
    # _row_ok is deliberately not a partition column: a filter on it then stays above the window instead of
    # being pushed down into the row-rule expressions, where Spark's constraint propagation explodes.
    # Rows of one copy come from one message: they differ at most in when they were landed.
    valid_first = Window.partitionBy(*COPY_KEY, "participant_id").orderBy(
        F.desc("_row_ok"),
        F.desc("ingested_at"),
        F.asc("_row_hash"),  # a total order: identical rows are interchangeable, all others are ordered
    )
    return with_ok.withColumn("_rank", F.row_number().over(valid_first))


def _winners(passing: DataFrame, versions_elsewhere: DataFrame | None) -> DataFrame:
    """match_id -> the coordinates of its newest copy (_winner_*), among the `passing` copies (COPY_KEY) and
    the versions of the same matches kept elsewhere: one row per match."""
    candidates = passing
    if versions_elsewhere is not None:
        # Only the versions of this input's matches: a semi-join on match_id.
        elsewhere = conform(versions_elsewhere, MATCH_VERSIONS).join(passing.select("match_id"), "match_id", "left_semi")
        candidates = passing.unionByName(elsewhere)
    return _with_winner(candidates).where(_is_winner()).select("match_id", *_WINNER).distinct()


def _with_winner(versions: DataFrame) -> DataFrame:
    """Adds the coordinates of each match's newest copy (_winner_*) to every version of it."""
    newest = Window.partitionBy("match_id").orderBy(*newest_first())
    return versions.withColumns({w: F.first(n).over(newest) for w, n in zip(_WINNER, COPY_KEY[1:])})


def _is_winner() -> Column:
    return functools.reduce(lambda a, b: a & b, [F.col(n).eqNullSafe(F.col(w)) for w, n in zip(_WINNER, COPY_KEY[1:])])


def _superseded_reason() -> Column:
    return F.format_string(
        f"{SUPERSEDED_RULE}: by the copy on %s (topic %s, partition %d, offset %d)",
        *[F.col(w).cast("string") if w == "_winner_match_date" else F.col(w) for w in _WINNER],
    )


# -- 3. match rules ----------------------------------------------------------------------------------------


def _match_reasons(kept: DataFrame, match_key: list[str]) -> DataFrame:
    """match_key -> _match_reasons (sorted array of what is wrong with the match), for the copies that break a
    match rule only. The rules are first judged with plain numeric aggregates over every copy; the reasons,
    built from arrays and collected lists, are worked out only for the (few) copies that fail."""
    failing = _failing_copies(kept, match_key)
    return _detailed_match_reasons(kept.join(failing, match_key, "left_semi"), match_key)


def _failing_copies(kept: DataFrame, match_key: list[str]) -> DataFrame:
    """The match_key of every copy that breaks a match rule: the same conditions as _detailed_match_reasons
    (a copy it leaves out must give no reason there), as counts, bit masks and min/max instead of sets."""
    position_bit = _first_reason([(F.col("team_position") == F.lit(p), F.lit(1 << i)) for i, p in enumerate(POSITIONS)])
    versions = F.struct(*[f.name for f in MATCH_FIELDS])
    per_team = kept.groupBy(*match_key, "team_id").agg(
        F.count(F.lit(1)).alias("n"),
        F.bit_count(F.bit_or(position_bit)).alias("positions"),
        F.sum(F.col("win").cast("int")).alias("wins"),
        F.min(versions).alias("first_version"),
        F.max(versions).alias("last_version"),
        F.max(_feature_broken().cast("int")).alias("feature_broken"),
    )
    n, wins = F.col("n"), F.col("wins")
    team_broken = (n != PARTICIPANTS_PER_TEAM) | (F.col("positions") != n) | ((wins > 0) & (wins < n))
    per_match = per_team.groupBy(*match_key).agg(
        F.sum("n").alias("n"),
        F.sum(F.when(wins == n, 1).otherwise(0)).alias("winning_teams"),
        F.min("first_version").alias("first_version"),
        F.max("last_version").alias("last_version"),
        F.max((team_broken | (F.col("feature_broken") == 1)).cast("int")).alias("team_broken"),
    )
    broken = (
        (F.col("n") != PARTICIPANTS_PER_MATCH)
        | (F.col("winning_teams") != 1)
        | ~F.col("first_version").eqNullSafe(F.col("last_version"))
        | (F.col("team_broken") == 1)
    )
    return per_match.where(broken).select(*match_key)


def _detailed_match_reasons(kept: DataFrame, match_key: list[str]) -> DataFrame:
    per_team = kept.withColumn("_feature_reasons", _feature_reasons()).groupBy(*match_key, "team_id").agg(
        F.count(F.lit(1)).alias("n"),
        F.countDistinct("team_position").alias("positions"),
        F.sum(F.col("win").cast("int")).alias("wins"),
        F.collect_set(F.struct(*[f.name for f in MATCH_FIELDS])).alias("versions"),
        F.flatten(F.collect_list("_feature_reasons")).alias("feature_reasons"),
    )
    per_match = per_team.withColumn("team_reasons", _team_reasons()).groupBy(*match_key).agg(
        F.sum("n").alias("n"),
        F.sum(F.when(F.col("wins") == F.col("n"), 1).otherwise(0)).alias("winning_teams"),
        F.size(F.array_distinct(F.flatten(F.collect_list("versions")))).alias("versions"),
        F.array_sort(F.flatten(F.collect_list("team_reasons"))).alias("team_reasons"),
        F.array_sort(F.flatten(F.collect_list("feature_reasons"))).alias("feature_reasons"),
    )
    match_level = _present(
        [
            F.when(
                F.col("n") != PARTICIPANTS_PER_MATCH, F.format_string("match.participants: %d participants", F.col("n"))
            ),
            F.when(
                F.col("winning_teams") != 1, F.format_string("match.winner: %d winning teams", F.col("winning_teams"))
            ),
            F.when(F.col("versions") > 1, F.lit(reason("match.consistent", "match fields differ between participants"))),
        ]
    )
    reasons = F.concat(match_level, F.col("team_reasons"), F.col("feature_reasons"))
    return per_match.select(*match_key, reasons.alias("_match_reasons"))


def _team_reasons() -> Column:
    n, team = F.col("n"), F.col("team_id")
    return _present(
        [
            F.when(n != PARTICIPANTS_PER_TEAM, F.format_string("match.team_size: team %d has %d participants", team, n)),
            # positions are already each one of POSITIONS, so 5 distinct ones among 5 rows means each once
            F.when(F.col("positions") != n, F.format_string("match.positions: team %d has a duplicate team_position", team)),
            F.when(
                (F.col("wins") > 0) & (F.col("wins") < n), F.format_string("match.winner: team %d has mixed win flags", team)
            ),
        ]
    )


def _feature_violations() -> list[tuple[Column, str]]:
    """(broken?, rule) for each feature outside its schema range. kill_participation > 1 means kills + assists
    exceed the team's kills: the door's match.kill_participation rule, so it carries that name here too."""
    violations = []
    for field in FEATURE_FIELDS:
        for broken, rule in value_violations(field, F.col(field.name)):
            rule = "match.kill_participation" if rule == rule_id("kill_participation", "max") else rule
            violations.append((broken, rule))
    return violations


def _feature_broken() -> Column:
    return functools.reduce(lambda a, b: a | b, [F.coalesce(broken, F.lit(False)) for broken, _ in _feature_violations()])


def _feature_reasons() -> Column:
    reasons = [F.when(broken, F.format_string(f"{rule}: participant %d", F.col("participant_id"))) for broken, rule in _feature_violations()]
    return _present(reasons)


# -- quarantine --------------------------------------------------------------------------------------------


def _quarantine_rows(df: DataFrame, reason: Column, stamp: Column) -> DataFrame:
    partition = F.coalesce(F.col("_partition_date"), F.col("match_date"), _utc_date(F.col("game_creation")))
    return df.select(
        stamp.alias("quarantined_at"),
        F.lit(STAGE).alias("stage"),
        reason.alias("reason"),
        "match_id",
        "participant_id",
        "kafka_topic",
        "kafka_partition",
        "kafka_offset",
        F.coalesce(F.col("_raw"), _valid_row_as_json()).alias("raw"),
        partition.alias(QUARANTINE_DATE),
    )

