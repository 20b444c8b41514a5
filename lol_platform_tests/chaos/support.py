"""What the fault-injection suite is made of: the flow it runs, the faults it injects, and what it measures.

- `ChaosFlow`: `dagster dev` on this suite's code location (code_location.py) and the live stream indexer
  (stream_main.py), both under `make dev`'s own supervisor (lol_platform.devtools.dev.Supervisor), which
  restarts a process that dies (a killed Dagster daemon takes `dagster dev` down with it); on a temporary
  DAGSTER_HOME with the repository's dagster.yaml, its own lake root, topic, groups and index. Every process
  of the flow carries LOL_E2E_TOKEN, so DevFlow.processes() finds them all (run workers and Spark included).
- `FaultPoints`: the suite's side of lol_core/faults.py (arm a point, wait until a process holds there,
  release it).
- `StackFaults`: SIGKILL of one stack service's process group and its restart (lol_stack).
- `CassandraReader`: a thread that polls each date through matches_by_date during the faults.
- `StoreCounts` and friends: every store read back after the flow settled.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from lol_platform.devtools.dev import init_instance
from lol_platform_tests.e2e.conftest import REPO, DevFlow

CHAOS_DIR = Path(__file__).resolve().parent
BATCH_ASSETS = ("cleaned_participants", "champion_stats", "position_stats")


# -- fault points -----------------------------------------------------------------------------------------


class FaultPoints:
    """Arm, await and release the fault points of lol_core/faults.py in the flow's LOL_FAULT_DIR."""

    def __init__(self, directory: Path):
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)

    def _file(self, name: str, kind: str) -> Path:
        return self.directory / f"{name}.{kind}"

    def arm(self, name: str, hold_s: float = 300.0) -> None:
        for kind in ("reached", "release"):
            self._file(name, kind).unlink(missing_ok=True)
        self._file(name, "arm").write_text(json.dumps({"hold_s": hold_s}))

    def reached(self, name: str) -> dict | None:
        try:
            return json.loads(self._file(name, "reached").read_text())
        except (OSError, ValueError):
            return None  # not yet (or being written)

    def holding(self, name: str) -> bool:
        """A process holds at `name` now (reached it, not yet released)."""
        return self.reached(name) is not None and not self._file(name, "release").exists()

    def release(self, name: str) -> None:
        self._file(name, "arm").unlink(missing_ok=True)  # disarmed first: nobody else holds on this arming
        self._file(name, "release").touch()

    def wait(self, names: list[str], timeout_s: float, flow: ChaosFlow | None = None) -> dict[str, dict]:
        """Wait until every point in `names` holds a process (or the timeout); returns those that do."""
        deadline = time.monotonic() + timeout_s
        while True:
            held = {n: r for n in names if (r := self.reached(n)) is not None}
            if len(held) == len(names) or time.monotonic() > deadline:
                return held
            if flow is not None:
                flow.check_alive()
            time.sleep(0.1)


# -- the stack's services ---------------------------------------------------------------------------------


class StackFaults:
    """SIGKILL of a service of the chaos stack and its restart, each exactly once per service."""

    def __init__(self, stack, log):
        self.stack, self.log = stack, log
        self.restarts: dict[str, threading.Thread] = {}
        self.errors: dict[str, str] = {}
        self.down_s: dict[str, float] = {}

    def kill(self, name: str) -> int:
        svc = self.stack.service(name)
        pid = svc.pid()
        assert pid is not None, f"{name} is not running: nothing to kill"
        os.killpg(pid, signal.SIGKILL)  # the service's own process group (lol_stack starts each in a new session)
        deadline = time.monotonic() + 30
        while svc.pid() is not None and time.monotonic() < deadline:  # pid() reaps it if it is our child
            time.sleep(0.05)
        assert svc.pid() is None, f"{name} (pid {pid}) survived SIGKILL"
        # The JVM's pid can be gone a moment before the kernel has closed its listening sockets: a restart
        # then would find its ports held. Wait until they are free.
        from lol_stack.process import port_open

        while any(port_open(host, port) for host, port in self._endpoints(svc)) and time.monotonic() < deadline:
            time.sleep(0.05)
        self.log(f"SIGKILL {name} (pid {pid})")
        return pid

    def _endpoints(self, svc) -> list[tuple[str, int]]:
        """(address, port) the service listens on: its own address (a node's is 127.0.0.i), JMX on 127.0.0.1."""
        c = self.stack.config
        if svc.name.startswith("cassandra"):  # checked by its own start, not listed by ports()
            ports = [(svc.host, c.cassandra_port), (svc.host, c.cassandra_storage_port), (c.host, getattr(svc, "jmx_port", 0))]
            return [(host, port) for host, port in ports if port]
        return [(svc.host, port) for port in svc.ports()]

    def restart_later(self, name: str) -> threading.Thread:
        """Start the killed service again in the background (as its supervisor would), ready or an error."""
        t0 = time.monotonic()

        def restart():
            svc = self.stack.service(name)
            try:
                svc.start()
                svc.wait_ready()
                self.down_s[name] = round(time.monotonic() - t0, 1)
                self.log(f"{name} restarted, ready after {self.down_s[name]} s")
            except Exception as exc:  # noqa: BLE001 - reported by wait_restarted()
                self.errors[name] = f"{type(exc).__name__}: {exc}"
                self.log(f"{name} did not come back: {exc}")

        thread = threading.Thread(target=restart, name=f"restart-{name}", daemon=True)
        self.restarts[name] = thread
        thread.start()
        return thread

    def wait_restarted(self, timeout_s: float = 240) -> dict[str, str]:
        deadline = time.monotonic() + timeout_s
        for thread in self.restarts.values():
            thread.join(max(deadline - time.monotonic(), 0.1))
        return {**self.errors, **{n: "still starting" for n, t in self.restarts.items() if t.is_alive()}}

    def ensure_up(self) -> None:
        """Last resort at teardown: whatever of the stack is down (a restart that failed) is started again,
        so a kept stack (LOL_KEEP_STACK=1) is whole for the next run."""
        for svc in self.stack.services:
            if not svc.is_running():
                self.log(f"teardown: {svc.name} was down, starting it")
                svc.start()
        for svc in self.stack.services:
            svc.wait_ready()


# -- the flow ----------------------------------------------------------------------------------------------


@dataclass
class ChaosFlow(DevFlow):
    """`dagster dev` + the live stream indexer under make dev's supervisor (see the module doc)."""

    topic: str = ""
    group: str = ""
    stream_group: str = ""
    index: str = ""
    extra_env: dict = field(default_factory=dict)
    supervisor: object = None
    _polling: threading.Event = field(default_factory=threading.Event)
    _poller: threading.Thread | None = None

    @property
    def fault_dir(self) -> Path:
        return self.home / "faults"

    def env(self) -> dict:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("LOL_ALERT_", "DAGSTER_"))}
        env.update({
            "LOL_KEEP_STACK": "1",  # never stop the shared stack
            "DAGSTER_HOME": str(self.home),
            "LOL_LAKE_ROOT": self.lake_root,
            "LOL_E2E_TOKEN": self.token,
            "LOL_FAULT_DIR": str(self.fault_dir),
            "LOL_CHAOS_TOPIC": self.topic,
            "LOL_CHAOS_GROUP": self.group,
            "LOL_CHAOS_STREAM_GROUP": self.stream_group,
            "LOL_CHAOS_INDEX": self.index,
            "PYTHONUNBUFFERED": "1",
            **self.extra_env,
        })  # fmt: skip
        return env

    def start(self) -> None:
        from lol_platform.devtools.dev import RestartPolicy, Supervisor

        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.fault_dir.mkdir(parents=True, exist_ok=True)
        lines = []
        self.supervisor = Supervisor(self.env(), self.log_dir, RestartPolicy(initial_s=1.0, max_s=10.0),
                                     out=lambda line: (lines.append(line), print(line, flush=True)))  # fmt: skip
        self.supervisor_lines = lines
        init_instance(self.home)
        bin_dir = Path(sys.executable).parent
        self.supervisor.start("stream", [sys.executable, str(CHAOS_DIR / "stream_main.py")])
        self.supervisor.start("dagster", [str(bin_dir / "dagster"), "dev", "-f", str(CHAOS_DIR / "code_location.py"),
                                          "-p", str(self.port), "-h", "127.0.0.1"])  # fmt: skip
        self.started_at = time.monotonic()

        def poll():
            while not self._polling.wait(1.0):
                self.supervisor.poll()

        self._poller = threading.Thread(target=poll, name="supervisor", daemon=True)
        self._poller.start()

    def check_alive(self) -> None:
        if self._poller is not None and not self._poller.is_alive():
            pytest.fail("the supervisor thread died")

    def wait_for(self, what: str, probe, timeout_s: float, every_s: float = 2.0):
        self.proc = None  # the supervisor owns the processes (DevFlow.wait_for would watch one)
        return super().wait_for(what, probe, timeout_s, every_s)

    def stop(self, timeout_s: float = 75) -> tuple[int | None, float]:
        t0 = time.monotonic()
        self._polling.set()
        if self._poller is not None:
            self._poller.join(10)
        if self.supervisor is not None:
            self.supervisor.stop()
        return 0, time.monotonic() - t0

    def restarts(self) -> dict[str, int]:
        return {name: child.restarts for name, child in self.supervisor.children.items()}

    # -- Dagster's processes --------------------------------------------------------------------------

    def find(self, *needles: str) -> list[int]:
        """Pids of the flow's processes whose command line holds all the needles."""
        return sorted(pid for pid, cmd in self.processes().items() if all(n in cmd for n in needles))

    def instance(self):
        from dagster import DagsterInstance

        return DagsterInstance.from_config(str(self.home))

    def webserver_up(self) -> bool:
        import requests

        try:
            return requests.get(f"{self.url}/server_info", timeout=3).status_code == 200
        except requests.RequestException:
            return False


def kill_process(pid: int) -> None:
    os.kill(pid, signal.SIGKILL)


# -- the partial-read checker --------------------------------------------------------------------------------


@dataclass
class Observation:
    """One read of a date through matches_by_date: the indexed matches and, for each, the rows found."""

    date: dt.date
    indexed: frozenset  # {(match_id, participants in the index)}
    torn: tuple  # ((match_id, rows found), ...) for indexed matches whose rows differ from their index count
    first_at: float
    last_at: float
    times: int = 1


class CassandraReader:
    """Polls every date the way a serving reader would (the index partition, then the rows of the indexed
    matches) while the faults happen, and keeps each distinct answer. Judged afterwards against the Kafka
    re-read (see judge_reads)."""

    def __init__(self, dates: list[dt.date], host: str, port: int, every_s: float = 0.25):
        self.dates, self.host, self.port, self.every_s = dates, host, port, every_s
        self.observations: list[Observation] = []
        self.failed_reads = 0
        self.reads = 0
        self._last: dict[dt.date, Observation] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="cassandra-reader", daemon=True)
        self.error: BaseException | None = None

    def __enter__(self) -> CassandraReader:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(30)

    def _session(self):
        from cassandra.cluster import Cluster
        from cassandra.policies import ConstantReconnectionPolicy

        # Reconnect every half second: a killed Cassandra is read again as soon as it serves.
        cluster = Cluster([self.host], port=self.port, protocol_version=5, connect_timeout=3,
                          reconnection_policy=ConstantReconnectionPolicy(0.5))  # fmt: skip
        session = cluster.connect("lol_data")
        session.default_timeout = 5
        return cluster, session

    def _run(self) -> None:
        cluster = session = None
        try:
            while not self._stop.is_set():
                if session is None:
                    try:
                        cluster, session = self._session()
                        index = session.prepare("SELECT match_id, participants FROM matches_by_date WHERE match_date = ?")
                        rows = session.prepare("SELECT match_id FROM match_participants WHERE match_date = ? AND match_id IN ?")
                    except Exception:  # noqa: BLE001 - Cassandra down: try again
                        self.failed_reads += 1
                        if cluster is not None:
                            cluster.shutdown()
                        cluster = session = None
                        self._stop.wait(0.5)
                        continue
                for day in self.dates:
                    try:
                        self._read(session, index, rows, day)
                    except Exception:  # noqa: BLE001 - a read during an outage: not an answer
                        self.failed_reads += 1
                self._stop.wait(self.every_s)
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            self.error = exc
        finally:
            if cluster is not None:
                cluster.shutdown()

    def _read(self, session, index, rows, day: dt.date) -> None:
        indexed = {r.match_id: r.participants for r in session.execute(index, [day])}
        found: Counter = Counter()
        ids = sorted(indexed)
        for i in range(0, len(ids), 100):
            for r in session.execute(rows, [day, ids[i : i + 100]]):
                found[r.match_id] += 1
        torn = tuple(sorted((m, found[m]) for m, n in indexed.items() if found[m] != n))
        self.reads += 1
        now = time.time()
        obs = Observation(day, frozenset(indexed.items()), torn, now, now)
        last = self._last.get(day)
        if last is not None and last.indexed == obs.indexed and last.torn == obs.torn:
            last.last_at, last.times = now, last.times + 1
            return
        self._last[day] = obs
        self.observations.append(obs)


def judge_reads(observations: list[Observation], order: dict[dt.date, list[tuple[str, int]]]) -> list[dict]:
    """The reads that were not a complete published set: an indexed match without all its rows (torn), a set
    of matches that no run could publish (not the valid matches of a prefix of the topic), or a set smaller
    than one already seen (emptier than the old complete set).

    `order[date]` lists the date's valid matches (match_id, participants) in the order of their first offset
    on the topic (one partition). A run publishes what the lake held when it read it, and the lake of a date
    only grows by landings in offset order: every complete set is such a prefix."""
    prefixes: dict[dt.date, dict[frozenset, int]] = {}
    for day, matches in order.items():
        seen, prefixes[day] = set(), {frozenset(): 0}
        for k, (match_id, participants) in enumerate(matches, 1):
            if (match_id, participants) in seen:
                continue
            seen.add((match_id, participants))
            prefixes[day][frozenset(seen)] = k
    partial, best = [], defaultdict(int)
    for obs in sorted(observations, key=lambda o: o.first_at):
        k = prefixes.get(obs.date, {}).get(obs.indexed)
        why = None
        if obs.torn:
            why = f"indexed matches without all their rows: {list(obs.torn)[:5]}"
        elif k is None:
            why = f"{len(obs.indexed)} indexed matches that are no prefix of the date's valid matches"
        elif k < best[obs.date]:
            why = f"{len(obs.indexed)} matches after {best[obs.date]} had been seen (emptier than the old set)"
        if why:
            partial.append({"date": str(obs.date), "at": obs.first_at, "reads": obs.times, "why": why})
        else:
            best[obs.date] = max(best[obs.date], k)
    return partial


# -- reading the stores back ------------------------------------------------------------------------------------


Key = tuple[str, int]  # (match_id, participant_id)


def kafka_valid_matches(kafka) -> tuple[dict[dt.date, list[tuple[str, int]]], dict[dt.date, set[Key]], dict[int, int], int]:
    """Re-read the whole topic from its start through the door: per date, the valid matches in offset order
    and the (match_id, participant_id) keys of the newest valid copy; the end offsets; messages rejected."""
    import uuid

    from confluent_kafka import OFFSET_BEGINNING, TopicPartition

    from lol_core.door import ContractViolation, parse_match
    from lol_platform.partitions import date_window

    consumer = kafka.consumer(f"chaos-reread-{uuid.uuid4().hex[:8]}", **{"enable.partition.eof": True})
    window = date_window()
    messages = []
    ends = {}
    try:
        for p in kafka.partitions():
            ends[p] = consumer.get_watermark_offsets(TopicPartition(kafka.topic, p), timeout=10)[1]
        pending = {p for p, end in ends.items() if end > 0}
        consumer.assign([TopicPartition(kafka.topic, p, OFFSET_BEGINNING) for p in pending])
        deadline = time.monotonic() + 60
        while pending and time.monotonic() < deadline:
            for msg in consumer.consume(num_messages=1000, timeout=1.0):
                if msg.error() is not None:
                    pending.discard(msg.partition())
                    continue
                messages.append((msg.partition(), msg.offset(), msg.value()))
                if msg.offset() + 1 >= ends[msg.partition()]:
                    pending.discard(msg.partition())
    finally:
        consumer.close()
    assert not pending, f"could not re-read partitions {pending} of {kafka.topic}"
    order: dict[dt.date, list[tuple[str, int]]] = defaultdict(list)
    newest: dict[tuple[dt.date, str], list[dict]] = {}
    rejected = 0
    for _, _, value in sorted(messages, key=lambda m: (m[1], m[0])):
        try:
            rows = parse_match(value, window)
        except ContractViolation:
            rejected += 1
            continue
        day, match_id = rows[0]["match_date"], rows[0]["match_id"]
        order[day].append((match_id, len(rows)))
        newest[(day, match_id)] = rows
    keys: dict[dt.date, set[Key]] = defaultdict(set)
    for (day, match_id), rows in newest.items():
        keys[day] |= {(r["match_id"], r["participant_id"]) for r in rows}
    return dict(order), dict(keys), ends, rejected


def lake_keys(lake, relpath: str) -> list[Key]:
    """(match_id, participant_id) of every row of the Parquet files under a lake directory (no dedup)."""
    import pyarrow.parquet as pq

    keys: list[Key] = []
    for info in lake.list_files(relpath, recursive=True):
        table = pq.read_table(info.path, filesystem=lake.filesystem(), columns=["match_id", "participant_id"])
        keys += list(zip(table.column("match_id").to_pylist(), table.column("participant_id").to_pylist()))
    return keys


def lake_sum(lake, relpath: str, column: str) -> int:
    import pyarrow.parquet as pq

    total = 0
    for info in lake.list_files(relpath, recursive=True):
        total += sum(v or 0 for v in pq.read_table(info.path, filesystem=lake.filesystem(), columns=[column]).column(column).to_pylist())
    return total


def lake_leftovers(lake) -> list[str]:
    """Temp files, staging dirs and a landing lease under the lake root: none once the flow has settled."""
    import pyarrow.fs as pafs

    fs = lake.filesystem()
    found = []
    for info in fs.get_file_info(pafs.FileSelector(lake.path(), recursive=True, allow_not_found=True)):
        rel = lake.relative(info)
        name = info.base_name
        temp = name.startswith(("_tmp.", "_temporary", ".spark-staging")) or name.endswith(".tmp")
        if temp or (rel.startswith("_staging/") and rel.count("/") == 1) or name.endswith(".lease"):
            found.append(rel)
    return sorted(found)


def cassandra_keys(session, day: dt.date, expected_matches: set[str]) -> tuple[list[Key], list[Key]]:
    """The date's rows a reader reaches through matches_by_date, and rows of expected matches that exist but
    are not indexed (unreachable)."""
    indexed = sorted(r.match_id for r in _read(session, "SELECT match_id FROM lol_data.matches_by_date WHERE match_date = %s", [day]))
    select = session.prepare("SELECT match_id, participant_id FROM lol_data.match_participants WHERE match_date = ? AND match_id IN ?")

    def rows(ids):
        out = []
        for i in range(0, len(ids), 20):
            out += [(r.match_id, r.participant_id) for r in _read(session, select, [day, ids[i : i + 20]])]
        return out

    reachable = rows(indexed)
    orphans = rows(sorted(expected_matches - set(indexed)))
    return reachable, orphans


def _read(session, statement, params, deadline_s: float = 120.0) -> list:
    """A read as a patient reader makes it: a node just back from SIGKILL replays its commit log and hints and
    may miss the coordinator's 5 s read timeout (QUORUM then hears 1 of 2); such a read is retried, not judged."""
    from cassandra import OperationTimedOut, ReadTimeout, Unavailable

    deadline = time.monotonic() + deadline_s
    while True:
        try:
            return list(session.execute(statement, params))
        except (ReadTimeout, Unavailable, OperationTimedOut) as exc:
            if time.monotonic() > deadline:
                raise
            print(f"cassandra read retried after {type(exc).__name__}: {exc}", flush=True)
            time.sleep(2)


def es_keys(es, day: dt.date) -> list[Key]:
    client = es.client()
    client.indices.refresh(index=es.index)
    body = {"query": {"term": {"match_date": day.isoformat()}}, "size": 10_000, "_source": ["match_id", "participant_id"]}
    hits = client.search(index=es.index, body=body)["hits"]["hits"]
    return [(h["_source"]["match_id"], h["_source"]["participant_id"]) for h in hits]


def lost_and_doubled(expected: set[Key], found: list[Key]) -> tuple[int, int]:
    """Rows of `expected` missing from `found`; rows of `found` beyond one per expected key (copies, strays)."""
    distinct = set(found)
    return len(expected - distinct), (len(found) - len(distinct)) + len(distinct - expected)


def machine() -> str:
    import platform

    cores = os.cpu_count()
    mem_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    cpu = ""
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    java = subprocess.run(["java", "-version"], capture_output=True, text=True).stderr.splitlines()[:1]
    return f"{cores} cores ({cpu}), {mem_gib:.0f} GiB, Python {platform.python_version()}, {java[0] if java else 'java ?'}"


def load_average() -> str:
    return " ".join(f"{v:.1f}" for v in os.getloadavg())


__all__ = ["REPO"]
