"""Bring the whole stack up, down, or report on it."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

from lol_stack.config import StackConfig
from lol_stack.nodes import node_services
from lol_stack.process import JavaService, ServiceStartError, resolve_classpath
from lol_stack.services import SERVICE_CLASSES, Cassandra, Kafka
from lol_stack.services.spark import spark_services


class Stack:
    """The stack's services. The Spark cluster is opt-in (`spark_cluster`, default LOL_STACK_SPARK_CLUSTER=1):
    `up` starts it only then, but `status` and `down` also cover a Spark daemon that is running without it.
    Likewise Kafka and Cassandra are one node each or `config.nodes` nodes (lol_stack/nodes.py)."""

    def __init__(self, config: StackConfig | None = None, only: list[str] | None = None, spark_cluster: bool | None = None):
        self.config = config or StackConfig()
        wanted = self.config.spark_cluster if spark_cluster is None else spark_cluster
        wanted = wanted or any(name.startswith("spark-") for name in only or [])
        spark = [s for s in spark_services(self.config) if wanted or s.is_running()]
        services = [svc for cls in SERVICE_CLASSES for svc in self._store(cls)] + spark
        self.services: list[JavaService] = [s for s in services if not only or s.name in only]

    def _store(self, cls) -> list[JavaService]:
        return node_services(self.config, cls) if cls in (Kafka, Cassandra) else [cls(self.config)]

    def service(self, name: str) -> JavaService:
        return next(s for s in self.services if s.name == name)

    def up(self, progress=print) -> dict[str, float]:
        """Start every service that is not running and wait for all; returns seconds to ready each.

        Services start together (they are independent JVMs) and readiness is awaited in parallel, except that
        a further node of a multi-node store starts only once the node it follows may be followed. Then each
        service's provisioning hook runs (the secure stack's users, grants, topic and schema; idempotent).
        """
        t0 = time.monotonic()
        for svc in self.services:
            if svc.is_running() and svc.is_ready():
                progress(f"  {svc.name:<14} already up at {svc.address()}")
                continue
            if svc.follows is None or svc.follows not in self.services:
                self._start(svc, progress)
        errors: list[str] = []
        ready: dict[str, float] = {}
        failed: set[str] = set()

        def wait(svc: JavaService):
            try:
                if not svc.is_running():
                    self._await_followed(svc, failed)
                    self._start(svc, progress)
                svc.wait_ready()
                ready[svc.name] = time.monotonic() - t0
                progress(f"  {svc.name:<14} up after {ready[svc.name]:.1f}s")
            except ServiceStartError as exc:
                failed.add(svc.name)
                errors.append(str(exc))

        with ThreadPoolExecutor(max_workers=len(self.services)) as pool:
            list(pool.map(wait, self.services))
        if errors:
            raise ServiceStartError("\n\n".join(errors))
        for svc in self.services:
            t1 = time.monotonic()
            try:
                svc.provision(progress=progress)
            except ServiceStartError:
                raise
            except Exception as exc:  # a client error while provisioning: say which service, not a traceback
                raise ServiceStartError(f"{svc.name}: provisioning failed: {type(exc).__name__}: {exc}") from exc
            if time.monotonic() - t1 > 0.05:
                progress(f"  {svc.name:<14} provisioned in {time.monotonic() - t1:.1f}s")
        return ready

    @staticmethod
    def _start(svc: JavaService, progress) -> None:
        progress(f"  {svc.name:<14} starting on {svc.address()} (log: {svc.log_path})")
        svc.start()

    def _await_followed(self, svc: JavaService, failed: set[str]) -> None:
        """Block until the node `svc` follows may be followed (it may itself wait for its own predecessor);
        raise if that node failed to start."""
        before = svc.follows
        while not before.may_be_followed():
            if before.name in failed:
                raise ServiceStartError(f"{svc.name} not started: {before.name}, which it follows, did not start")
            time.sleep(0.5)

    def fetch(self, progress=print) -> None:
        """Resolve every service's jars (Maven Central -> ~/.m2) without starting anything."""
        for pom in dict.fromkeys(svc.pom for svc in self.services if svc.pom):
            t0 = time.monotonic()
            classpath = resolve_classpath(self.config, pom)
            progress(f"  {pom:<14} {classpath.count(':') + 1} jars resolved in {time.monotonic() - t0:.1f}s")

    def down(self, progress=print, grace_s: float = 30) -> None:
        """Stop every service: SIGTERM, and SIGKILL after `grace_s` (a throwaway test stack passes a short one;
        every store here survives a SIGKILL, which the fault-injection suite proves)."""
        for svc in reversed(self.services):
            if svc.stop(timeout_s=grace_s):
                progress(f"  {svc.name:<14} stopped")
            else:
                progress(f"  {svc.name:<14} was not running")

    def status(self) -> list[dict]:
        return [svc.status() for svc in self.services]
