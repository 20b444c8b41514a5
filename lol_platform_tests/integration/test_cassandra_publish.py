"""Publishing to the real Cassandra: a date is replaced as a whole, and a reader polling it meanwhile never
sees a date emptier than its old or new set, a match with part of its rows, or a stats date half old."""

from __future__ import annotations

import datetime as dt
import os
import signal
import threading
import time

import pytest

from lol_core.schemas import CHAMPION_STATS, CLEANED_PARTICIPANTS, names
from lol_platform.batch import cassandra_publish as cw
from lol_platform.batch import reconcile
from lol_platform_tests.unit.spark.sample_matches import match_one, match_two, raw_frame
from spark_jobs.aggregates import champion_stats
from spark_jobs.cleaning import clean_participants

pytestmark = pytest.mark.stack

COLUMNS = names(CLEANED_PARTICIPANTS)


def cleaned_frame(spark, day: dt.date, matches: dict[str, int]):
    """Cleaned participants of the given matches (match id -> Kafka offset: a new offset is a new copy)."""
    rows = []
    for i, (match_id, offset) in enumerate(sorted(matches.items())):
        rows += (match_one if i % 2 == 0 else match_two)(day, match_id=match_id, offset=offset)
    return clean_participants(raw_frame(spark, rows)).cleaned.persist()


class DateReader(threading.Thread):
    """Reads a date through the index, as a serving query would, until stopped; records what it saw."""

    def __init__(self, cassandra, day: dt.date):
        super().__init__(daemon=True)
        self.cassandra, self.day = cassandra, day
        self.stop = threading.Event()
        self.match_counts: list[int] = []  # matches the index listed, per read
        self.partial_matches: list[tuple[str, int]] = []  # an indexed match read with neither 0 nor 10 rows

    def run(self):
        while not self.stop.is_set():
            indexed = self.cassandra.indexed_matches(self.day)
            self.match_counts.append(len(indexed))
            rows = self.cassandra.match_rows(self.day, sorted(indexed))
            per_match = {m: 0 for m in indexed}
            for row in rows:
                per_match[row["match_id"]] += 1
            # 0 is a match removed between the two reads (index first, then rows); anything else is torn.
            self.partial_matches += [(m, n) for m, n in per_match.items() if n not in (0, 10)]


def test_a_republished_date_holds_exactly_the_new_matches_and_never_less_meanwhile(spark, cassandra, unique_name):
    day = dt.date(2031, 1, 1) + dt.timedelta(days=int(unique_name[:4], 16) % 3000)
    old = {f"EUW1_{unique_name}_{i}": 100 + i for i in range(40)}
    # 20 matches gone (0-9, 30-39), 20 kept (10-29; 20-29 as a newer copy), 20 new (40-59).
    new = {m: o for i, (m, o) in enumerate(old.items()) if 10 <= i < 30} | {m: 5000 + i for i, m in enumerate(old) if 20 <= i < 30}
    new |= {f"EUW1_{unique_name}_{i}": 100 + i for i in range(40, 60)}
    first = cw.publish_participants(cleaned_frame(spark, day, old), COLUMNS, cassandra, [day])
    assert first.rows == 400 and set(cassandra.indexed_matches(day)) == set(old)

    reader = DateReader(cassandra, day)
    reader.start()
    try:
        cleaned = cleaned_frame(spark, day, new)
        second = cw.publish_participants(cleaned, COLUMNS, cassandra, [day])
    finally:
        reader.stop.set()
        reader.join(timeout=60)

    assert second.rows == 400 and second.matches_removed == 20
    assert cassandra.indexed_matches(day) == {m: 10 for m in new}
    assert cassandra.count_participants(day) == 400
    # Every column of every row, the newer copies included, is what the lake holds.
    lake = [r.asDict() for r in cleaned.collect()]
    stored = cassandra.match_rows(day, sorted(new))
    assert reconcile.diff_rows(lake, stored, ("match_id", "participant_id"), COLUMNS) == {}
    assert {r["kafka_offset"] for r in stored if r["match_id"] == list(old)[25]} == {5025}
    # The reader saw the date while it changed: never fewer matches than the smaller set, never a torn match.
    assert reader.match_counts, "the reader never read the date"
    assert min(reader.match_counts) >= min(len(old), len(new))
    assert reader.partial_matches == []


def test_a_stats_date_is_replaced_in_one_step(spark, cassandra, unique_name):
    day = dt.date(2041, 1, 1) + dt.timedelta(days=int(unique_name[:4], 16) % 3000)
    columns = names(CHAMPION_STATS)
    before = champion_stats(cleaned_frame(spark, day, {f"EUW1_{unique_name}_a": 1})).persist()  # match_one's 10 champions
    after = champion_stats(cleaned_frame(spark, day, {f"EUW1_{unique_name}_b": 2, f"EUW1_{unique_name}_c": 3})).persist()
    old_keys = {r.champion_name for r in before.collect()}
    new_keys = {r.champion_name for r in after.collect()}
    assert old_keys != new_keys  # match_two brings other champions: a mix would be visible

    cw.publish_stats(before, "champion_stats", columns, cassandra, [day])
    seen: list[frozenset] = []
    stop = threading.Event()

    def read():
        while not stop.is_set():
            seen.append(frozenset(r["champion_name"] for r in cassandra.stat_rows("champion_stats", day)))

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        for _ in range(3):  # back and forth: each publish is a new write timestamp
            cw.publish_stats(after, "champion_stats", columns, cassandra, [day])
            cw.publish_stats(before, "champion_stats", columns, cassandra, [day])
        report = cw.publish_stats(after, "champion_stats", columns, cassandra, [day])
    finally:
        stop.set()
        reader.join(timeout=60)

    assert report.rows == len(new_keys) and report.write.partitions == 1
    assert {r["champion_name"] for r in cassandra.stat_rows("champion_stats", day)} == new_keys
    assert set(seen) <= {frozenset(old_keys), frozenset(new_keys)}, "a read saw a stats date half old, half new"
    # A run date left without stats is removed, not left as it was.
    emptied = cw.publish_stats(after.limit(0), "champion_stats", columns, cassandra, [day])
    assert emptied.dates_cleared == [str(day)] and cassandra.stat_rows("champion_stats", day) == []


@pytest.mark.chaos
def test_an_acknowledged_publish_survives_a_kill_9_of_cassandra(spark, cassandra, service_stack, unique_name):
    """The commit log is synced before a write is acknowledged (commitlog_sync: group): killing Cassandra
    with SIGKILL the moment the publish returns loses nothing (with `periodic`, the last second could go)."""
    day = dt.date(2051, 1, 1) + dt.timedelta(days=int(unique_name[:4], 16) % 3000)
    matches = {f"EUW1_{unique_name}_{i}": 100 + i for i in range(200)}
    report = cw.publish_participants(cleaned_frame(spark, day, matches), COLUMNS, cassandra, [day])
    node = service_stack.service("cassandra")
    os.kill(node.pid(), signal.SIGKILL)
    cassandra.close()
    deadline = time.monotonic() + 30
    while node.is_running() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not node.is_running(), "Cassandra did not die"
    node.start()
    node.wait_ready()
    assert report.rows == 2000
    assert cassandra.indexed_matches(day) == {m: 10 for m in matches}
    assert cassandra.count_participants(day) == 2000
