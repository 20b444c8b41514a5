"""The `make dev` flow as a subprocess, scaled down, on a temporary DAGSTER_HOME and lake, for end-to-end tests.

Every process the flow starts inherits LOL_E2E_TOKEN (dev.py passes its environment on, and so do dagster dev,
its code servers, run workers and their Spark JVMs): scanning /proc for that token finds all of them, in
whatever session or process group they run, and never touches anyone else's processes.
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts"
SCREENSHOTS = ARTIFACTS / "screenshots"
BATCH_GROUP = "lol-platform-batch"
RATE = 5  # generated matches per second
PER_DAY = 100  # matches a date gets before the generator moves on to the next


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class DevFlow:
    """A running `python -m lol_platform.devtools.dev`, and what the tests need to observe it."""

    home: Path
    port: int
    seed: int
    lake_root: str
    token: str
    dates: tuple[str, str]  # the generator's two partition dates: yesterday, today (UTC)
    start_offsets: dict[int, int]  # topic end offsets when the flow started: later messages are the flow's
    proc: subprocess.Popen | None = None
    started_at: float = 0.0
    seen_processes: dict[int, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_dir(self) -> Path:
        return self.home / "dev-logs"

    # -- observing -----------------------------------------------------------------------------------

    def graphql(self, query: str, variables: dict | None = None) -> dict:
        response = requests.post(f"{self.url}/graphql", json={"query": query, "variables": variables or {}}, timeout=30)
        response.raise_for_status()
        body = response.json()
        assert not body.get("errors"), f"GraphQL errors: {body['errors']}"
        return body["data"]

    def processes(self) -> dict[int, str]:
        """pid -> command line of every live process carrying this flow's token."""
        needle = f"LOL_E2E_TOKEN={self.token}".encode()
        found = {}
        for entry in os.scandir("/proc"):
            if not entry.name.isdigit():
                continue
            try:
                with open(f"/proc/{entry.name}/environ", "rb") as f:
                    if needle not in f.read().split(b"\0"):
                        continue
                with open(f"/proc/{entry.name}/cmdline", "rb") as f:
                    found[int(entry.name)] = f.read().replace(b"\0", b" ").decode(errors="replace").strip()
            except OSError:  # gone meanwhile, or not ours to read
                continue
        self.seen_processes.update(found)
        return found

    def diagnostics(self, lines: int = 40) -> str:
        """The tail of every log the flow writes: to be appended to a failure message."""
        parts = []
        for path in sorted([self.home / "dev.out", *self.log_dir.glob("*.log")]):
            if path.exists():
                tail = path.read_text(errors="replace").splitlines()[-lines:]
                parts.append(f"---- {path} (last {len(tail)} lines)\n" + "\n".join(tail))
        return "\n".join(parts)

    def wait_for(self, what: str, probe, timeout_s: float, every_s: float = 5.0):
        """Call probe() until it returns something truthy; fail with `what`, the last value and the logs."""
        deadline = time.monotonic() + timeout_s
        last = None
        while True:
            if self.proc is not None and self.proc.poll() is not None:
                pytest.fail(f"the dev flow exited ({self.proc.returncode}) while waiting for {what}\n{self.diagnostics()}")
            try:
                last = probe()
            except Exception as exc:  # noqa: BLE001 - a service that blips (a restart) is retried until the deadline
                last = f"{type(exc).__name__}: {exc}"
            else:
                if last and not isinstance(last, str):
                    return last
            if time.monotonic() > deadline:
                pytest.fail(f"timed out after {timeout_s:.0f}s waiting for {what}; last observation: {last}\n{self.diagnostics()}")
            time.sleep(every_s)

    # -- lifecycle -----------------------------------------------------------------------------------

    def start(self) -> None:
        env = {
            **os.environ,
            "LOL_KEEP_STACK": "1",  # never stop the shared stack
            "DAGSTER_HOME": str(self.home),
            "LOL_LAKE_ROOT": self.lake_root,
            "LOL_E2E_TOKEN": self.token,
            "PYTHONUNBUFFERED": "1",
        }
        # The flow keeps producing, so each later Spark run (the UI's backfill too) reads all that landed before
        # it: a slow rate keeps those runs small. A date gets PER_DAY matches before the next, so at RATE/s both
        # dates have landed within the first ~20 s (at make dev's 1,000 a date it took ~100 s at 10/s).
        cmd = [sys.executable, "-m", "lol_platform.devtools.dev", "--port", str(self.port), "--rate", str(RATE),
               "--per-day", str(PER_DAY), "--days", "2", "--seed", str(self.seed)]  # fmt: skip
        out = open(self.home / "dev.out", "wb")
        self.started_at = time.monotonic()
        self.proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, start_new_session=True)  # fmt: skip
        out.close()

        def server_info():
            return requests.get(f"{self.url}/server_info", timeout=3).status_code == 200

        self.wait_for(f"the webserver on {self.url}", server_info, timeout_s=180, every_s=1)

    def stop(self, timeout_s: float = 75) -> tuple[int | None, float]:
        """SIGTERM to the launcher, as `make dev` gets on Ctrl-C/kill; its return code and how long it took."""
        if self.proc is None or self.proc.poll() is not None:
            return (self.proc.returncode if self.proc else None), 0.0
        t0 = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            return None, time.monotonic() - t0
        return self.proc.returncode, time.monotonic() - t0

    def kill_leftovers(self) -> dict[int, str]:
        """Last resort at teardown: SIGKILL whatever of this flow still runs (only processes with our token)."""
        left = self.processes()
        for pid in left:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        return left


def _topic_end_offsets() -> dict[int, int]:
    from confluent_kafka import TopicPartition

    from lol_platform.resources import KafkaResource

    kafka = KafkaResource()
    kafka.ensure_topic()  # returns once every partition has a leader that serves (bounded, clear error)
    partitions = kafka.wait_for_leaders()  # the partitions themselves: metadata right after creation can list none
    consumer = kafka.consumer(f"lol-e2e-probe-{uuid.uuid4().hex[:8]}")
    try:
        return {p: consumer.get_watermark_offsets(TopicPartition(kafka.topic, p), timeout=10)[1] for p in partitions}
    finally:
        consumer.close()


def _skip_batch_backlog(offsets: dict[int, int]) -> None:
    """Start the flow's sensor at the topic's end rather than at whatever backlog the shared batch group has.

    A fresh DAGSTER_HOME has no sensor cursor, so the sensor starts from the group's committed offsets: on a
    machine that ran `make dev` before, that backlog can hold replays of the same seed's matches, which the
    raw contract rightly rejects as duplicates. Committed offsets are only the fallback and a mirror of
    each instance's cursor (the cursor is what an instance resumes from), so moving them costs no one data.
    """
    from lol_platform.resources import KafkaResource

    KafkaResource().commit(BATCH_GROUP, offsets)


@pytest.fixture(scope="module")
def dev_flow(service_stack, tmp_path_factory):
    """`python -m lol_platform.devtools.dev --rate 5 --per-day 100 --days 2` on a free port, a temporary DAGSTER_HOME and its own lake
    root under hdfs:///e2e/, with the shared stack (LOL_KEEP_STACK=1). Stopped, and checked for leftovers, at the end."""
    from lol_platform.resources import LakeResource

    unique = uuid.uuid4().hex[:10]
    today = dt.datetime.now(dt.timezone.utc).date()
    offsets = _topic_end_offsets()
    _skip_batch_backlog(offsets)
    flow = DevFlow(
        home=tmp_path_factory.mktemp("dagster_home"),
        port=_free_port(),
        seed=1 + secrets.randbelow(4095),  # matchIds of seed s end in s (mod 4096): never the default seed 0's
        lake_root=f"hdfs://127.0.0.1:8020/e2e/{unique}",
        token=unique,
        dates=((today - dt.timedelta(days=1)).isoformat(), today.isoformat()),
        start_offsets=offsets,
    )
    try:
        flow.start()
        yield flow
    finally:
        flow.stop()
        left = flow.kill_leftovers()
        logs = ARTIFACTS / "dev-logs"
        shutil.rmtree(logs, ignore_errors=True)
        if flow.log_dir.exists():  # kept as CI artifacts next to the screenshots
            shutil.copytree(flow.log_dir, logs)
            shutil.copy(flow.home / "dev.out", logs / "dev.out")
        try:
            LakeResource(root=flow.lake_root).delete_dir("")
        except Exception as exc:  # noqa: BLE001 - clean-up must not mask the test's result
            print(f"could not remove {flow.lake_root}: {exc}")
        if left:
            print(f"killed leftover processes of the dev flow: {left}")


@pytest.fixture(scope="session")
def screenshots() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS
