"""One truth per matchId: the newest copy of a match (by its Kafka coordinates) wins as a whole match, in one
input and across dates, and the result does not depend on how the dates are grouped into runs."""

from __future__ import annotations

import collections
import datetime as dt
import itertools
import random

import pytest
from pyspark.sql import functions as F

from lol_core.schemas import spark_schema
from lol_platform.speed.documents import document_version
from spark_jobs.cleaning import (
    MATCH_VERSIONS,
    RAW_PARTITION_DATE,
    clean_participants,
    match_versions,
    superseded_versions,
)

from .sample_matches import DAY, match_one, match_two, raw_frame

pytestmark = pytest.mark.spark

STAMP = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc)
D1, D2 = DAY, DAY + dt.timedelta(days=1)
STAT_COLUMNS = ["kills", "deaths", "assists", "gold_earned", "vision_score"]


def resent(rows: list[dict], offset: int, day: dt.date | None = None, changes: dict[int, dict] | None = None) -> list[dict]:
    """The same match sent again as another Kafka message: new offset, optionally other timestamps/stats."""
    out = []
    for row in rows:
        copy = {**row, "kafka_offset": offset, **(changes or {}).get(row["participant_id"], {})}
        if day is not None:
            shift = day - row["match_date"]
            copy.update(match_date=day, game_creation=row["game_creation"] + shift, ingested_at=row["ingested_at"] + shift)
        out.append(copy)
    return out


def stats(rows) -> dict[int, tuple]:
    return {r.participant_id: tuple(getattr(r, c) for c in STAT_COLUMNS) for r in rows}


def expected_stats(rows: list[dict]) -> dict[int, tuple]:
    return {r["participant_id"]: tuple(r[c] for c in STAT_COLUMNS) for r in rows}


def reasons(rows) -> collections.Counter:
    return collections.Counter((r.match_id, r.reason) for r in rows)


# -- one input ---------------------------------------------------------------------------------------------

OLD = match_one(offset=100)
# The re-sent copy changes different participants' stats than the old copy has; a per-row dedupe that kept
# any row of the old copy would show up as a mix.
NEW = resent(OLD, 300, changes={1: {"kills": 7, "gold_earned": 11_000}, 7: {"deaths": 5}, 10: {"vision_score": 44}})


def test_the_newest_copy_wins_as_a_whole_match(spark):
    result = clean_participants(raw_frame(spark, OLD + NEW + match_two()), quarantined_at=STAMP)
    cleaned = [r for r in result.cleaned.collect() if r.match_id == "EUW1_1"]
    assert len(cleaned) == 10 and {r.kafka_offset for r in cleaned} == {300}
    assert stats(cleaned) == expected_stats(NEW) != expected_stats(OLD)
    quarantine = result.quarantine.collect()
    assert reasons(quarantine) == {
        ("EUW1_1", f"match.superseded: by the copy on {DAY} (topic lol_matches, partition 0, offset 300)"): 10
    }
    assert {r.kafka_offset for r in quarantine} == {100}
    assert result.cleaned.count() + len(quarantine) == 30  # rows in = cleaned + quarantined


def test_the_choice_does_not_depend_on_input_order(spark):
    rows = OLD + NEW + match_two()
    first = clean_participants(raw_frame(spark, rows), quarantined_at=STAMP)
    shuffled = rows[:]
    random.Random(7).shuffle(shuffled)
    again = clean_participants(raw_frame(spark, shuffled).repartition(3), quarantined_at=STAMP)
    assert sorted(again.cleaned.collect()) == sorted(first.cleaned.collect())
    assert sorted(again.quarantine.collect()) == sorted(first.quarantine.collect())


def test_a_newer_copy_that_breaks_a_rule_never_displaces_a_good_one(spark):
    broken = resent(OLD, 300, changes={4: {"kills": -1}})
    result = clean_participants(raw_frame(spark, OLD + broken), quarantined_at=STAMP)
    cleaned = result.cleaned.collect()
    assert len(cleaned) == 10 and {r.kafka_offset for r in cleaned} == {100}
    assert stats(cleaned) == expected_stats(OLD)
    assert reasons(result.quarantine.collect()) == {
        ("EUW1_1", "kills.min"): 1,
        ("EUW1_1", "match.participants: 9 participants; match.team_size: team 100 has 4 participants"): 9,
    }


def test_a_redelivered_row_of_the_kept_copy_is_a_duplicate_not_a_second_copy(spark):
    result = clean_participants(raw_frame(spark, OLD + NEW + NEW[:3]), quarantined_at=STAMP)
    assert {r.kafka_offset for r in result.cleaned.collect()} == {300} and result.cleaned.count() == 10
    counts = collections.Counter(r.reason.split(":")[0] for r in result.quarantine.collect())
    assert counts == {"match.duplicate": 3, "match.superseded": 10}


def test_copies_on_two_partitions_with_one_offset_the_higher_partition_wins(spark):
    other_partition = [{**row, "kafka_partition": 1, "kills": row["kills"] + 1} for row in OLD]
    result = clean_participants(raw_frame(spark, other_partition + OLD), quarantined_at=STAMP)
    assert {(r.kafka_partition, r.kafka_offset) for r in result.cleaned.collect()} == {(1, 100)}


def test_the_batch_order_of_copies_is_the_elasticsearch_version_order(spark):
    """superseded_versions keeps, of any set of copies, the one Elasticsearch keeps (the highest version)."""
    rng = random.Random(3)
    coordinates = {(rng.randrange(0, 4), rng.randrange(0, 50)) for _ in range(12)}
    versions = [
        ("EUW1_V", DAY + dt.timedelta(days=i), "lol_matches", partition, offset)
        for i, (partition, offset) in enumerate(sorted(coordinates))
    ]
    frame = spark.createDataFrame(versions, spark_schema(MATCH_VERSIONS))
    losing = {(r.kafka_partition, r.kafka_offset) for r in superseded_versions(frame).collect()}
    winner = max(coordinates, key=lambda c: document_version(*c))
    assert coordinates - losing == {winner} and len(losing) == len(coordinates) - 1


# -- across dates: a small lake of per-date runs -----------------------------------------------------------


class Lake:
    """What the asset keeps per date (cleaned rows, quarantine rows, match versions), run after run."""

    def __init__(self, spark, raw: dict[dt.date, list[dict]]):
        self.spark, self.raw = spark, raw
        self.cleaned: dict[dt.date, list] = {}
        self.quarantine: dict[dt.date, list] = {}
        self.versions: dict[dt.date, list] = {}
        self.reported: list[list[dt.date]] = []  # superseded dates of each run, in order

    def run(self, dates: list[dt.date]) -> list[dt.date]:
        """One cleaning run over `dates`, as the cleaned_participants asset does it; returns stale dates."""
        rows = [row for day in dates for row in self.raw.get(day, [])]
        raw = raw_frame(self.spark, rows).withColumn(RAW_PARTITION_DATE, F.col("match_date"))
        elsewhere = self._versions_frame([d for d in self.versions if d not in dates])
        result = clean_participants(raw, quarantined_at=STAMP, versions_elsewhere=elsewhere)
        result.cleaned.cache()  # read once per date below, as the asset reads its persisted frame
        cleaned, quarantine = result.cleaned.collect(), result.quarantine.collect()
        for day in dates:
            self.cleaned[day] = sorted(r for r in cleaned if r.match_date == day)
            self.quarantine[day] = sorted(r for r in quarantine if r.date == day)
            assert len(self.cleaned[day]) + len(self.quarantine[day]) == len(self.raw.get(day, []))
        for day in dates:
            kept = result.cleaned.where(F.col("match_date") == day)
            self.versions[day] = [tuple(r) for r in match_versions(kept).collect()]
        result.cleaned.unpersist()
        stale = sorted({r.match_date for r in superseded_versions(self._versions_frame(list(self.versions))).collect()})
        self.reported.append(stale)
        return stale

    def converge(self, runs: list[list[dt.date]]) -> Lake:
        """The given runs, then (as superseded_dates_sensor does) one run per reported stale date."""
        pending: list[dt.date] = []
        for dates in runs:
            pending += self.run(dates)
        for _ in range(5):
            if not pending:
                return self
            pending = list(itertools.chain.from_iterable(self.run([day]) for day in sorted(set(pending))))
        raise AssertionError(f"no convergence: still stale {pending}")

    def _versions_frame(self, dates: list[dt.date]):
        rows = [v for day in dates for v in self.versions.get(day, [])]
        return self.spark.createDataFrame(rows, spark_schema(MATCH_VERSIONS))

    def state(self) -> tuple:
        return self.cleaned, self.quarantine, self.versions


A_ON_D1 = match_one(D1, offset=100)  # landed on D1
B_ON_D2 = resent(A_ON_D1, 300, day=D2, changes={2: {"kills": 9}, 8: {"assists": 1}})  # re-sent a day later
RAW = {D1: A_ON_D1 + match_two(D1), D2: B_ON_D2}


@pytest.fixture(scope="module")
def shapes(spark):
    return {
        "D1 then D2": Lake(spark, RAW).converge([[D1], [D2]]),
        "D2 then D1": Lake(spark, RAW).converge([[D2], [D1]]),
        "one range": Lake(spark, RAW).converge([[D1, D2]]),
    }


def test_cross_date_the_newer_copy_ends_on_its_date_only(shapes):
    for name, lake in shapes.items():
        on_d1 = {r.match_id for r in lake.cleaned[D1]}
        assert on_d1 == {"EUW1_2"}, name
        assert len(lake.cleaned[D2]) == 10 and {(r.match_id, r.kafka_offset) for r in lake.cleaned[D2]} == {("EUW1_1", 300)}
        assert stats(lake.cleaned[D2]) == expected_stats(B_ON_D2), name
        assert reasons(lake.quarantine[D1]) == {
            ("EUW1_1", f"match.superseded: by the copy on {D2} (topic lol_matches, partition 0, offset 300)"): 10
        }, name
        assert lake.quarantine[D2] == [], name
        assert lake.versions == {D1: [("EUW1_2", D1, "lol_matches", 0, 200)], D2: [("EUW1_1", D2, "lol_matches", 0, 300)]}, name


def test_cleaning_the_older_date_first_reports_it_stale_then_converges(shapes):
    # D1 alone keeps A (nothing newer is known yet); D2 then keeps B and names D1; the re-run of D1 drops A.
    assert shapes["D1 then D2"].reported == [[], [D1], []]


def test_cleaning_the_newer_date_first_needs_no_second_pass(shapes):
    assert shapes["D2 then D1"].reported == [[], []]
    assert shapes["one range"].reported == [[]]


def test_the_result_does_not_depend_on_the_shape_of_the_backfill(shapes):
    states = {name: lake.state() for name, lake in shapes.items()}
    first = states.pop("D1 then D2")
    for name, state in states.items():
        assert state == first, name
