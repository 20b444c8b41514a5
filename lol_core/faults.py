"""Fault points: named places where the fault-injection suite (lol_platform_tests/chaos) can hold the code, so
that it kills a process (a service, a run worker) at a defined moment of the flow.

Off unless the environment variable LOL_FAULT_DIR names a directory: then `point(name)` costs one `stat` and
returns at once unless the suite armed that point. The suite arms a point by creating `<dir>/<name>.arm`; the
first process to reach it creates `<dir>/<name>.reached` (whole, with its pid, by a hard link: exactly one caller holds
per arming) and waits until `<dir>/<name>.release` exists, or for the arm file's `hold_s` (default 300 s).
The code then carries on as if nothing happened: whatever was killed meanwhile is what it meets next.

The points (one line each where they are):

| point | where | the suite kills |
|---|---|---|
| `ingest.leased` | a sensor tick holds the landing lease, before polling | nothing: the tick outlives the sensor timeout |
| `ingest.landed` | a tick's files are written, the cursor and the group's offsets not yet advanced | Kafka |
| `lake.raw_write` | one landing file is about to be written | the DataNode |
| `lake.swap` | a Spark commit moved a live date aside, the staged one not yet in | the NameNode |
| `cassandra.rows_written` | participants published, the date's index not yet | the run worker |
| `cassandra.mid_publish` | a Spark task wrote its first Cassandra partition | Cassandra |
| `stream.indexed` | a stream batch is acknowledged by Elasticsearch, offsets not committed | Kafka |
| `stream.mid_bulk` | half of a stream batch's documents went to the bulk request | Elasticsearch |

Imports nothing of the project: Spark's Python workers (spark_jobs) reach these points too.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterable, Iterator

FAULT_DIR_ENV = "LOL_FAULT_DIR"
DEFAULT_HOLD_S = 300.0


def enabled() -> bool:
    return bool(os.environ.get(FAULT_DIR_ENV))


def point(name: str) -> None:
    """Hold here if the fault-injection suite armed `name` (see the module doc); otherwise return at once."""
    directory = os.environ.get(FAULT_DIR_ENV)
    if not directory:
        return
    arm = os.path.join(directory, f"{name}.arm")
    try:
        with open(arm) as f:
            text = f.read()
    except OSError:
        return  # not armed
    if not _claim(os.path.join(directory, f"{name}.reached"), {"point": name, "pid": os.getpid(), "at": time.time()}):
        return  # another caller (or an earlier pass) took this arming
    try:
        hold_s = float(json.loads(text or "{}").get("hold_s", DEFAULT_HOLD_S))
    except (ValueError, AttributeError):
        hold_s = DEFAULT_HOLD_S
    release = os.path.join(directory, f"{name}.release")
    deadline = time.monotonic() + hold_s
    while not os.path.exists(release) and time.monotonic() < deadline:
        time.sleep(0.05)


def _claim(path: str, record: dict) -> bool:
    """Create `path` holding `record`, unless it exists: written aside, then hard-linked into place, so the
    file appears whole (a reader polling for it never reads it empty) and exactly one caller wins."""
    temp = f"{path}.{os.getpid()}.{time.monotonic_ns()}.tmp"
    with open(temp, "w") as f:
        json.dump(record, f)
    try:
        os.link(temp, path)
        return True
    except FileExistsError:
        return False
    finally:
        os.unlink(temp)


def midway(items: Iterable, count: int, name: str) -> Iterable:
    """`items` unchanged, except that `point(name)` is reached once half of its `count` items were taken."""
    if not enabled():
        return items
    return _midway(items, max(count // 2, 1), name)


def _midway(items: Iterable, half: int, name: str) -> Iterator:
    for i, item in enumerate(items):
        if i == half:
            point(name)
        yield item
