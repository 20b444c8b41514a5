"""`make dev`: the whole platform on this machine, stopped with one Ctrl-C.

Starts the service stack, creates the topic, the Cassandra schema and the Elasticsearch index, starts the
match generator (unless --no-generator / LOL_DEV_GENERATOR=0) and the live stream indexer, and runs
`dagster dev` (webserver + daemon, sensors and automation running) with a persistent DAGSTER_HOME.

`make dev-secure` (--secure, LOL_STACK_SECURE=1) runs it on the locked-down stack (.stack-secure): the stack
itself provisions the topic, the schema, the users and their grants, and the LOL_* names of its
security/credentials.env are put into the environment of every process started here.

The processes are supervised: one that exits is reported (name, exit code, log) and restarted after a
backoff (1 s doubling to 60 s; back to 1 s once it had stayed up 60 s), and the others keep running.
Everything it started is stopped on Ctrl-C/SIGTERM.
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
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

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


# -- supervision: the pure rules -----------------------------------------------------------------------


@dataclass(frozen=True)
class RestartPolicy:
    initial_s: float = 1.0  # first restart delay
    max_s: float = 60.0  # the delay doubles up to this
    stable_after_s: float = 60.0  # a child that stayed up this long starts again from initial_s


def backoff_s(failures: int, policy: RestartPolicy = RestartPolicy()) -> float:
    """Delay before restarting a child that has now died `failures` times in a row (1 -> initial_s)."""
    if failures < 1:
        return 0.0
    return min(policy.initial_s * 2 ** min(failures - 1, 62), policy.max_s)


def failures_after_exit(failures_before: int, uptime_s: float, policy: RestartPolicy = RestartPolicy()) -> int:
    """Consecutive failures once a child exited after `uptime_s`: a long enough run resets the count."""
    return 1 if uptime_s >= policy.stable_after_s else failures_before + 1


def describe_exit(returncode: int) -> str:
    if returncode < 0:
        try:
            return f"was killed by {signal.Signals(-returncode).name}"
        except ValueError:
            return f"was killed by signal {-returncode}"
    return f"exited with code {returncode}"


# -- supervision: the processes -------------------------------------------------------------------------


@dataclass
class Child:
    name: str
    cmd: Callable[[int], list[str]]  # the command line of start number n (0: first start, 1: first restart...)
    log_path: Path
    proc: subprocess.Popen | None = None
    started_at: float = 0.0
    failures: int = 0  # consecutive exits without a stable run in between
    restart_at: float | None = None  # when a dead child is due to start again
    restarts: int = 0


class Supervisor:
    """Starts children in their own process groups, restarts the ones that exit, stops them all at the end."""

    def __init__(self, env: dict, log_dir: Path, policy: RestartPolicy = RestartPolicy(), out=None, clock=time.monotonic):
        self.env, self.log_dir, self.policy, self.clock = env, log_dir, policy, clock
        self.out = out or (lambda line: print(line, file=sys.stderr, flush=True))
        self.children: dict[str, Child] = {}

    def start(self, name: str, cmd: list[str] | Callable[[int], list[str]]) -> Child:
        child = Child(name, cmd if callable(cmd) else (lambda _n, cmd=list(cmd): cmd), self.log_dir / f"{name}.log")
        self.children[name] = child
        self._spawn(child)
        return child

    def _spawn(self, child: Child) -> None:
        child.proc = _spawn(child.name, child.cmd(child.restarts), self.env, self.log_dir)
        child.started_at, child.restart_at = self.clock(), None

    def poll(self) -> None:
        """Notice children that exited (schedule their restart) and restart those that are due."""
        now = self.clock()
        for child in self.children.values():
            if child.restart_at is None and child.proc is not None and child.proc.poll() is not None:
                uptime = now - child.started_at
                child.failures = failures_after_exit(child.failures, uptime, self.policy)
                delay = backoff_s(child.failures, self.policy)
                child.restart_at = now + delay
                # What is left of its process group (dagster dev's webserver, daemon, code servers) goes too:
                # a restart must not find the port or the instance still held by the old one.
                _stop_group(child.proc.pid, time.monotonic() + 10)
                line = (f"{child.name} {describe_exit(child.proc.returncode)} after {uptime:.0f}s "
                        f"(failure {child.failures} in a row); restarting in {delay:.0f}s. Log: {child.log_path}")  # fmt: skip
                self.out(f"!! {line}")
                _append(child.log_path, f"== make dev: {line}")
            if child.restart_at is not None and now >= child.restart_at:
                child.restarts += 1
                self.out(f"!! {child.name}: restart {child.restarts}")
                self._spawn(child)

    def procs(self) -> dict[str, subprocess.Popen]:
        return {name: child.proc for name, child in self.children.items() if child.proc is not None}

    def stop(self) -> None:
        _stop(self.procs())


def _append(path: Path, line: str) -> None:
    try:
        with open(path, "a") as f:
            f.write(f"{time.strftime('%Y-%m-%d %H:%M:%S')} {line}\n")
    except OSError:
        pass


def _http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as response:
            return response.status == 200
    except OSError:
        return False


def _stop(procs: dict[str, subprocess.Popen]) -> None:
    for name, proc in reversed(list(procs.items())):
        if proc.poll() is None:
            try:
                os.killpg(proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
    deadline = time.monotonic() + 30
    for name, proc in reversed(list(procs.items())):
        try:
            proc.wait(timeout=max(deadline - time.monotonic(), 0.1))
        except subprocess.TimeoutExpired:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
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


def init_instance(home: Path) -> dict:
    """Create the instance's storage, and the Spark pool's limit, in one process before `dagster dev` starts three
    at once: processes that create a fresh SQLite storage together can stamp its schema version twice, and every
    later open then fails ("alembic_version has more than one head present", dagster-io/dagster#27390). The limit
    is then in place before the daemon's first queue pass (see concurrency.py). Returns the pools' limits."""
    from dagster import DagsterInstance

    from lol_platform.batch.spark_pool import ensure_pool_limits

    with DagsterInstance.from_config(str(home)) as instance:
        return ensure_pool_limits(instance)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="make dev", description=__doc__)
    parser.add_argument("--port", type=int, default=int(os.environ.get("LOL_DAGSTER_PORT", 3000)))
    parser.add_argument("--rate", type=float, default=float(os.environ.get("LOL_DEV_RATE", 10)), help="generated matches per second")
    parser.add_argument("--days", type=int, default=int(os.environ.get("LOL_DEV_DAYS", 3)), help="dates the matches spread over")
    parser.add_argument("--per-day", type=float, default=float(os.environ.get("LOL_DEV_PER_DAY", 1000)),
                        help="matches a date gets before the generator moves on to the next (then it laps the dates)")  # fmt: skip
    # A fresh seed per start: matchIds derive from it, so a restarted `make dev` never re-sends the ids of
    # an earlier one with other contents (the raw gate would rightly reject such matches).
    parser.add_argument("--seed", type=int, default=int(os.environ.get("LOL_DEV_SEED", int(time.time()) % 4096)),
                        help="generator seed (matchIds differ per seed)")  # fmt: skip
    parser.add_argument("--no-stream", action="store_true", help="do not run the live `lol-platform stream` indexer")
    parser.add_argument("--secure", action="store_true", default=os.environ.get("LOL_STACK_SECURE", "").strip().lower() in ("1", "true", "yes", "on"),
                        help="the locked-down stack (LOL_STACK_SECURE=1, `make dev-secure`): its credentials.env goes into the processes' environment")  # fmt: skip
    parser.add_argument("--no-generator", action="store_true",
                        default=os.environ.get("LOL_DEV_GENERATOR", "1").strip().lower() in ("0", "false", "no", "off"),
                        help="do not run the match generator (LOL_DEV_GENERATOR=0): start `lol-platform produce` yourself")  # fmt: skip
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)

    from lol_stack import Stack, StackConfig
    from lol_stack.security import load_credentials

    from lol_platform.resources import cassandra_resource, elasticsearch_resource, kafka_resource

    env = {**os.environ, **DEV_ENV, **{k: v for k, v in os.environ.items() if k in DEV_ENV}}
    os.environ.update(env)
    home = Path(env["DAGSTER_HOME"])
    home.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(REPO / "dagster.yaml", home / "dagster.yaml")
    print(f"== pools {init_instance(home)}", flush=True)
    log_dir = home / "dev-logs"  # dagster owns home/logs
    log_dir.mkdir(exist_ok=True)

    stack = Stack(StackConfig(secure=args.secure))
    started = [row["service"] for row in stack.status() if row["state"] != "up"]
    supervisor = Supervisor(env, log_dir)
    stopping = []
    # Started in the background by a script, this process may have inherited an ignored SIGINT: take
    # Ctrl-C and SIGTERM back so both stop everything cleanly.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(1))
    try:
        print("== stack" + (f" (secure, {stack.config.stack_dir})" if args.secure else ""), flush=True)
        stack.up()
        if args.secure:
            # Every child (and the resources made here) logs in with the generated credentials.
            credentials = load_credentials(stack.config)
            env.update(credentials)
            os.environ.update(credentials)
            print(f"== credentials from {stack.config.security_dir / 'credentials.env'}", flush=True)
        print("== topic, schema, index", flush=True)
        # The same settings and principals the children use (the LOL_* variables of the README). On the secure
        # stack the topic and schema already exist (made by lol_admin): these only check them.
        kafka_resource("PRODUCER").process_config_and_initialize().ensure_topic()
        with cassandra_resource().process_config_and_initialize_cm() as cassandra:
            cassandra.session()
        elasticsearch_resource().process_config_and_initialize().ensure_index()
        print("== processes", flush=True)
        bin_dir = Path(sys.executable).parent
        if args.no_generator:
            print(f"  {'generator':<12} left out (LOL_DEV_GENERATOR=0 / --no-generator): start it with "
                  f"`{bin_dir / 'lol-platform'} produce --rate {args.rate:g} --days {args.days} --per-day {args.per_day:g} --seed $RANDOM`", flush=True)  # fmt: skip
        else:
            # Each (re)start of the generator gets its own seed: matchIds derive from it, so a restarted
            # generator never re-sends the ids of an earlier run with other contents.
            supervisor.start("generator", lambda n: [str(bin_dir / "lol-platform"), "produce", "--rate", str(args.rate), "--days", str(args.days),
                                                     "--per-day", str(args.per_day), "--seed", str((args.seed + n) % 4096)])  # fmt: skip
        if not args.no_stream:
            supervisor.start("stream", [str(bin_dir / "lol-platform"), "stream"])
        supervisor.start("dagster", [str(bin_dir / "dagster"), "dev", "-w", str(REPO / "workspace.yaml"), "-p", str(args.port), "-h", "127.0.0.1"])
        url, t0, announced = f"http://127.0.0.1:{args.port}", time.monotonic(), False
        while not stopping:
            supervisor.poll()
            if not announced and _http_ok(f"{url}/server_info"):
                announced = True
                print(f"\nDagster UI: {url}  (answered after {time.monotonic() - t0:.1f}s). A process that exits is "
                      f"restarted; Ctrl-C stops everything.\n", flush=True)  # fmt: skip
            time.sleep(1)
        return 0
    except KeyboardInterrupt:
        return 0
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not cut the clean-up short
        print("\n== stopping", flush=True)
        supervisor.stop()
        if started and os.environ.get("LOL_KEEP_STACK") != "1":
            Stack(stack.config, only=started).down()


if __name__ == "__main__":
    sys.exit(main())
