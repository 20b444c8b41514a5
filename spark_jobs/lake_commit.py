"""Write-audit-publish for the lake: a run writes its dates under a staging root, the gates read them there,
and only then does commit() swap them into the live tables, date by date.

Layout: <root>/_staging/<name>/ (one per writer) holds the same relative table paths as the live root. commit() first
writes the run's COMMIT record (atomically: a temp file renamed), then, for each table and date of the
range, moves the live partition aside into the staging dir and moves the staged one in (or leaves the
date empty when the run wrote no rows for it), then deletes the staging dir.

What a reader of the live lake sees, at any moment and after a kill -9 at any line:
- before COMMIT exists: the old dates, untouched; recover() deletes the staging dir (a rolled-back run);
- during the swap: each date is the old partition, then for the two renames' few milliseconds absent,
  then the new one; never a mix of old and new files, never a half-written file;
- killed mid-swap: recover() (run first by every batch run) finishes the swap from the COMMIT record;
  until then a date being swapped may read as absent (never partial).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from pyspark.sql import SparkSession

from lol_core import faults
from lol_core.dates import DateRange, dates_in_range
from lol_core.lake_paths import PartitionedTable, join

STAGING_DIR = "_staging"
COMMIT_FILE = "COMMIT"
REPLACED_DIR = "_replaced"  # inside a run's staging dir: the live partitions its commit moved aside


class LakeCommitError(RuntimeError):
    """A rename the swap depends on was refused by the file system."""


@dataclass(frozen=True)
class Staging:
    """Where one run stages its writes, under the live lake root."""

    root: str  # the live lake root
    name: str  # unique per writer: a Dagster run and step ("<run_id>.<asset>"), or a spark-submit job

    @property
    def uri(self) -> str:
        """The root the run's jobs write to: the same table layout as the live root."""
        return join(self.root, STAGING_DIR, self.name)


def commit(spark: SparkSession, staging: Staging, tables: Iterable[PartitionedTable], dates: DateRange) -> None:
    """Swap the staged dates of `tables` into the live lake (see the module doc), then drop the staging."""
    fs = _fs(spark, staging.root)
    record = {"tables": [[t.path, t.partition_column] for t in tables], "start": str(dates.start), "end": str(dates.end)}
    _write_atomically(spark, fs, join(staging.uri, COMMIT_FILE), json.dumps(record))
    _swap(spark, fs, staging, record)


def abort(spark: SparkSession, staging: Staging) -> None:
    """Drop what the run staged; the live lake was never touched."""
    _delete(spark, _fs(spark, staging.root), staging.uri)


def recover(spark: SparkSession, root: str, is_active: Callable[[str], bool]) -> dict[str, str]:
    """Finish or roll back the staging dirs of runs that died: committed ones are swapped in, the others
    deleted. `is_active(name)` says the staging's writer is still going: its staging dir is left alone.
    Returns {staging name: "rolled_forward" | "rolled_back"}."""
    fs = _fs(spark, root)
    base = _path(spark, join(root, STAGING_DIR))
    if not fs.exists(base):
        return {}
    done = {}
    for status in fs.listStatus(base):
        name = status.getPath().getName()
        if not status.isDirectory() or is_active(name):
            continue
        staging = Staging(root, name)
        record = _read(spark, fs, join(staging.uri, COMMIT_FILE))
        if record is None:
            _delete(spark, fs, staging.uri)
            done[name] = "rolled_back"
        else:
            _swap(spark, fs, staging, json.loads(record))
            done[name] = "rolled_forward"
    return done


def leftovers(spark: SparkSession, root: str) -> list[str]:
    """Staging dirs present under the root (none after every run has finished or been recovered)."""
    fs = _fs(spark, root)
    base = _path(spark, join(root, STAGING_DIR))
    return sorted(s.getPath().getName() for s in fs.listStatus(base)) if fs.exists(base) else []


# -- the swap (idempotent: re-running it after a kill finishes the same swap) ------------------------------


def _swap(spark: SparkSession, fs, staging: Staging, record: dict) -> None:
    days = dates_in_range(dt.date.fromisoformat(record["start"]), dt.date.fromisoformat(record["end"]))
    for path, column in record["tables"]:
        table = PartitionedTable(path, column)
        for day in days:
            _swap_date(spark, fs, table, staging, day)
    _delete(spark, fs, staging.uri)


def _swap_date(spark: SparkSession, fs, table: PartitionedTable, staging: Staging, day: dt.date) -> None:
    # The aside dir exists once the live partition is out of the way (moved there, or there was none):
    # the step that tells a resumed swap where it stopped.
    live = _path(spark, table.partition_uri(staging.root, day))
    staged = _path(spark, table.partition_uri(staging.uri, day))
    aside = _path(spark, join(staging.uri, REPLACED_DIR, table.path, _name(table, day)))
    if not fs.exists(aside):
        fs.mkdirs(aside.getParent())
        if fs.exists(live):
            _rename(fs, live, aside)
        else:
            fs.mkdirs(aside)
    faults.point("lake.swap")  # test hook (lol_core/faults.py): off unless LOL_FAULT_DIR is set
    if fs.exists(staged):
        if fs.exists(live):  # a rename onto an existing dir would nest it inside: never write through
            raise LakeCommitError(f"{live.toString()} reappeared during the swap: another writer is on this date")
        fs.mkdirs(live.getParent())
        _rename(fs, staged, live)


def _name(table: PartitionedTable, day: dt.date) -> str:
    return f"{table.partition_column}={day.isoformat()}"


# -- Hadoop FileSystem through the session's JVM -------------------------------------------------------------


def _path(spark: SparkSession, uri: str):
    return spark.sparkContext._jvm.org.apache.hadoop.fs.Path(uri)


def _fs(spark: SparkSession, uri: str):
    return _path(spark, uri).getFileSystem(spark.sparkContext._jsc.hadoopConfiguration())


def _rename(fs, source, target) -> None:
    # HDFS reports some failures (missing parent, existing target) by returning false, not by raising.
    if not fs.rename(source, target):
        raise LakeCommitError(f"the lake refused to rename {source.toString()} to {target.toString()}; "
                              "check the NameNode log and permissions, then re-run the date (the commit resumes)")  # fmt: skip


def _delete(spark: SparkSession, fs, uri: str) -> None:
    path = _path(spark, uri)
    if fs.exists(path):
        fs.delete(path, True)


def _write_atomically(spark: SparkSession, fs, uri: str, text: str) -> None:
    target = _path(spark, uri)
    temp = _path(spark, uri + ".tmp")
    out = fs.create(temp, True)
    try:
        out.write(bytearray(text.encode()))
    finally:
        out.close()
    _delete(spark, fs, uri)
    _rename(fs, temp, target)


def _read(spark: SparkSession, fs, uri: str) -> str | None:
    path = _path(spark, uri)
    if not fs.exists(path):
        return None
    stream = fs.open(path)
    try:
        reader = spark.sparkContext._jvm.java.io.BufferedReader(spark.sparkContext._jvm.java.io.InputStreamReader(stream))
        return "\n".join(iter(reader.readLine, None))
    finally:
        stream.close()
