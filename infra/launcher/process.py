"""One JVM service process: classpath resolution, start in its own process group, readiness, stop."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from abc import ABC, abstractmethod
from pathlib import Path

from lol_stack.config import StackConfig


class ServiceStartError(RuntimeError):
    """A service did not become ready; the message names it and carries the tail of its log."""


def port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def tail(path: Path, lines: int = 40) -> str:
    if not path.exists():
        return f"(no log at {path})"
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def resolve_classpath(config: StackConfig, pom_name: str) -> str:
    """Resolve (once, cached under the stack dir) the classpath of infra/poms/<pom_name> via Maven."""
    out = config.stack_dir / "classpath" / f"{pom_name}.cp"
    pom = config.poms_dir / pom_name / "pom.xml"
    if out.exists() and out.stat().st_mtime >= pom.stat().st_mtime:
        return out.read_text().strip()
    mvn = shutil.which("mvn")
    if mvn is None:
        raise ServiceStartError("Maven (`mvn`) is not on PATH: install it (apt-get install maven) to fetch service jars")
    out.parent.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run(
        [mvn, "-q", "-B", "-f", str(pom), "dependency:build-classpath", f"-Dmdep.outputFile={out}"],
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        raise ServiceStartError(
            f"Maven could not resolve the {pom_name} jars from {pom}:\n{proc.stdout[-2000:]}{proc.stderr[-2000:]}"
        )
    return out.read_text().strip()


class JavaService(ABC):
    """A service made of one JVM process. Subclasses say how to prepare, run and probe it."""

    name: str
    pom: str | None  # None: not a Maven-resolved JVM (the Spark daemons run from the pyspark package)
    not_ready_reason: str | None = None  # set by is_ready() when it can say what is still missing
    # A further node of a multi-node store starts only once the node it follows may be followed (Stack.up):
    # Cassandra nodes must join one at a time, and two cores are not enough for every JVM's start at once.
    follows: JavaService | None = None

    def __init__(self, config: StackConfig):
        self.config = config
        self.home = config.stack_dir / self.name
        self.log_path = self.home / "logs" / f"{self.name}.out"
        self.pid_path = self.home / f"{self.name}.pid"

    # -- what a subclass says -------------------------------------------------------------
    @abstractmethod
    def main_class(self) -> str: ...

    def args(self) -> list[str]:
        return []

    def jvm_options(self) -> list[str]:
        return [f"-Xms{self.config.heap_mb // 2}m", f"-Xmx{self.config.heap_mb}m"]

    def prepare(self, classpath: str) -> None:
        """Write config files and do one-time setup (formatting storage...) before the first start."""

    def provision(self, progress=print) -> None:
        """Once every service is ready (Stack.up, each time): what the service must hold before clients come,
        e.g. the secure stack's users, ACLs and schema. Idempotent. Nothing by default."""

    @abstractmethod
    def is_ready(self) -> bool: ...

    @property
    def host(self) -> str:
        """The loopback address this service binds (a node of a multi-node store has its own)."""
        return self.config.host

    def may_be_followed(self) -> bool:
        """Whether the next node of the same store may start now (see `follows`): once this one is ready."""
        return self.is_ready()

    @abstractmethod
    def address(self) -> str: ...

    def extra_classpath(self) -> list[str]:
        return []

    # -- lifecycle ------------------------------------------------------------------------
    def pid(self) -> int | None:
        try:
            pid = int(self.pid_path.read_text().strip())
        except (OSError, ValueError):
            return None
        self._reap(pid)  # a child that died is a zombie until reaped, and kill(pid, 0) would still succeed
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None
        except PermissionError:
            pass
        if not self._is_ours(pid):
            return None  # the pid file outlived its process and the pid now belongs to another one
        return pid

    def _is_ours(self, pid: int) -> bool:
        """Whether the process is the one this pid file was written for. PIDs are reused: a pid file left by a
        killed service can name an unrelated process hours later. Ours started before its pid file was written
        (start, then write); a reused pid belongs to a process started after. (Not the command line: between
        fork and exec, and through the Cassandra launcher's exec, it is briefly someone else's.)"""
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
            start_ticks = int(stat.rsplit(")", 1)[1].split()[19])  # field 22: start time, clock ticks after boot
            boot = next(int(line.split()[1]) for line in Path("/proc/stat").read_text().splitlines() if line.startswith("btime"))
            started = boot + start_ticks / os.sysconf("SC_CLK_TCK")
            return started <= self.pid_path.stat().st_mtime + 2.0  # btime has 1 s resolution
        except (OSError, ValueError, IndexError, StopIteration):
            return True  # no /proc (or no access): trust the pid file as before

    def is_running(self) -> bool:
        return self.pid() is not None

    def java(self) -> str:
        java_home = os.environ.get("JAVA_HOME")
        return str(Path(java_home) / "bin" / "java") if java_home else (shutil.which("java") or "java")

    def start(self) -> None:
        """Start the process in its own session (process group) and return without waiting."""
        if self.is_running():
            return
        busy = [port for port in self.ports() if port_open(self.host, port)]
        if busy:
            raise ServiceStartError(
                f"{self.name} cannot start: port(s) {busy} on {self.host} are held by another process "
                f"(not one this stack started). Stop it, or set the LOL_*_PORT variables (see README)."
            )
        self.home.mkdir(parents=True, exist_ok=True)
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        classpath = resolve_classpath(self.config, self.pom) if self.pom else ""
        self.prepare(classpath)
        cmd = self.command(classpath)
        log = open(self.log_path, "ab")
        proc = subprocess.Popen(
            cmd,
            cwd=self.home,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            env=self.environment(),
        )
        self.pid_path.write_text(str(proc.pid))

    def command(self, classpath: str) -> list[str]:
        cp = os.pathsep.join([*self.extra_classpath(), classpath])
        return [self.java(), *self.jvm_options(), "-cp", cp, self.main_class(), *self.args()]

    def environment(self) -> dict[str, str]:
        return dict(os.environ)

    def wait_ready(self, timeout_s: float | None = None) -> float:
        """Block until ready; return seconds waited. Raise with the log tail if it dies or times out."""
        timeout_s = timeout_s or self.config.start_timeout_s
        t0 = time.monotonic()
        while time.monotonic() - t0 < timeout_s:
            if self.is_ready():
                return time.monotonic() - t0
            if not self.is_running():
                raise ServiceStartError(
                    f"{self.name} exited during start-up ({self.address()}). Last lines of {self.log_path}:\n"
                    f"{tail(self.log_path)}"
                )
            time.sleep(0.5)
        waiting_for = f" ({self.not_ready_reason})" if self.not_ready_reason else ""
        raise ServiceStartError(
            f"{self.name} was not ready at {self.address()} after {timeout_s:.0f}s{waiting_for}. Last lines of "
            f"{self.log_path}:\n{tail(self.log_path)}"
        )

    def stop(self, timeout_s: float = 30) -> bool:
        """Stop the whole process group that start() created. Returns True if something was stopped."""
        pid = self.pid()
        if pid is None:
            self.pid_path.unlink(missing_ok=True)
            return False
        try:
            os.killpg(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        t0 = time.monotonic()
        while time.monotonic() - t0 < timeout_s and self.pid() is not None:
            self._reap(pid)
            time.sleep(0.2)
        if self.pid() is not None:
            try:
                os.killpg(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            time.sleep(0.5)
            self._reap(pid)
        self.pid_path.unlink(missing_ok=True)
        return True

    @staticmethod
    def _reap(pid: int) -> None:
        try:
            os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            pass  # not our child (started by another process): nothing to reap

    def ports(self) -> list[int]:
        """Ports this service binds; start() refuses to run if another process holds one."""
        return []

    def status(self) -> dict:
        running = self.is_running()
        return {
            "service": self.name,
            "address": self.address(),
            "pid": self.pid(),
            "state": "up" if running and self.is_ready() else ("starting" if running else "down"),
            "log": str(self.log_path),
        }
