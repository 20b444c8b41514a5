"""`make dev`: the whole platform on this machine, stopped with one Ctrl-C.

Starts the service stack, creates the topic, the Cassandra schema and the Elasticsearch index, starts the
match generator and the live stream indexer, and runs `dagster dev` (webserver + daemon, sensors and
automation running) with a persistent DAGSTER_HOME. Everything it started is stopped on Ctrl-C/SIGTERM.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

# What the dev platform points at: the local stack's HDFS for the lake.
DEV_ENV = {
    "LOL_LAKE_ROOT": "hdfs://127.0.0.1:8020",
    "DAGSTER_HOME": str(REPO / ".dagster_home"),
}


def _restore_default_signals() -> None:
    # A process started from a script can inherit SIG_IGN for SIGINT; dagster dev then ignores SIGTERM
    # too and cannot be stopped. Children get the default handlers back.
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _spawn(name: str, cmd: list[str], env: dict, log_dir: Path) -> subprocess.Popen:
    log = open(log_dir / f"{name}.log", "ab")
    print(f"  {name:<12} {' '.join(cmd[:4])}... (log: {log_dir / f'{name}.log'})", flush=True)
    return subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                            cwd=REPO, preexec_fn=_restore_default_signals, start_new_session=True)  # fmt: skip


def _wait_http(url: str, timeout_s: float) -> float:
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout_s:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return time.monotonic() - t0
        except OSError:
            time.sleep(0.5)
    raise TimeoutError(f"{url} did not answer within {timeout_s:.0f}s")


def _stop(procs: dict[str, subprocess.Popen]) -> None:
    for name, proc in reversed(list(procs.items())):
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
    deadline = time.monotonic() + 30
    for name, proc in reversed(list(procs.items())):
        try:
            proc.wait(timeout=max(deadline - time.monotonic(), 0.1))
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        _stop_group(proc.pid, deadline)
        print(f"  {name:<12} stopped", flush=True)


def _stop_group(pgid: int, deadline: float) -> None:
    """Stop what is left in a process group once its leader has exited: `dagster dev` can respawn a code
    server while it shuts down, and that orphan would otherwise live until its heartbeat times out."""
    sig = signal.SIGTERM
    while time.monotonic() < deadline + 10:
        try:
            os.killpg(pgid, sig)
        except (ProcessLookupError, PermissionError):
            return  # the group is empty
        time.sleep(0.2)
        if time.monotonic() > deadline:
            sig = signal.SIGKILL


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make dev", description=__doc__)
    parser.add_argument("--port", type=int, default=int(os.environ.get("LOL_DAGSTER_PORT", 3000)))
    parser.add_argument("--rate", type=float, default=float(os.environ.get("LOL_DEV_RATE", 10)), help="generated matches per second")
    parser.add_argument("--days", type=int, default=int(os.environ.get("LOL_DEV_DAYS", 3)), help="dates the matches spread over")
    # A fresh seed per start: matchIds derive from it, so a restarted `make dev` never re-sends the ids of
    # an earlier one with other contents (the raw gate would rightly reject such matches).
    parser.add_argument("--seed", type=int, default=int(os.environ.get("LOL_DEV_SEED", int(time.time()) % 4096)),
                        help="generator seed (matchIds differ per seed)")  # fmt: skip
    parser.add_argument("--no-stream", action="store_true", help="do not run the live `lol-platform stream` indexer")
    args = parser.parse_args(argv)

    from lol_stack import Stack

    from lol_platform.resources import CassandraResource, ElasticsearchResource, KafkaResource

    env = {**os.environ, **DEV_ENV, **{k: v for k, v in os.environ.items() if k in DEV_ENV}}
    os.environ.update(env)
    home = Path(env["DAGSTER_HOME"])
    home.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(REPO / "dagster.yaml", home / "dagster.yaml")
    log_dir = home / "dev-logs"  # dagster owns home/logs
    log_dir.mkdir(exist_ok=True)

    stack = Stack()
    started = [row["service"] for row in stack.status() if row["state"] != "up"]
    procs: dict[str, subprocess.Popen] = {}
    stopping = []
    # Started in the background by a script, this process may have inherited an ignored SIGINT: take
    # Ctrl-C and SIGTERM back so both stop everything cleanly.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(1))
    try:
        print("== stack", flush=True)
        stack.up()
        print("== topic, schema, index", flush=True)
        KafkaResource().ensure_topic()
        CassandraResource().session()
        ElasticsearchResource().ensure_index()
        print("== processes", flush=True)
        bin_dir = Path(sys.executable).parent
        procs["generator"] = _spawn("generator", [str(bin_dir / "lol-platform"), "produce", "--rate", str(args.rate), "--days", str(args.days), "--seed", str(args.seed)], env, log_dir)
        if not args.no_stream:
            procs["stream"] = _spawn("stream", [str(bin_dir / "lol-platform"), "stream"], env, log_dir)
        procs["dagster"] = _spawn("dagster", [str(bin_dir / "dagster"), "dev", "-w", str(REPO / "workspace.yaml"), "-p", str(args.port), "-h", "127.0.0.1"], env, log_dir)
        waited = _wait_http(f"http://127.0.0.1:{args.port}/server_info", 120)
        print(f"\nDagster UI: http://127.0.0.1:{args.port}  (answered after {waited:.1f}s). Ctrl-C stops everything.\n", flush=True)
        while not stopping:
            dead = [name for name, proc in procs.items() if proc.poll() is not None]
            if dead:
                print(f"{', '.join(dead)} exited; see {log_dir}. Stopping.", file=sys.stderr)
                return 1
            time.sleep(1)
        return 0
    except KeyboardInterrupt:
        return 0
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not cut the clean-up short
        print("\n== stopping", flush=True)
        _stop(procs)
        if started and os.environ.get("LOL_KEEP_STACK") != "1":
            Stack(only=started).down()


if __name__ == "__main__":
    sys.exit(main())
