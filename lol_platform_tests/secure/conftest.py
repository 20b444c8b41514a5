"""The locked-down stack for tests: Kafka (SASL_SSL + ACLs) and Cassandra (passwords, roles, TLS) only.

`secure_stack` (session scope) starts both once per session in secure mode, on ports of their own so that it
never meets the plain stack (nor `make dev`): Kafka 19092/19093, Cassandra 19042/17000, JMX off (each movable
with LOL_SECURE_TEST_KAFKA_PORT, LOL_SECURE_TEST_KAFKA_CONTROLLER_PORT, LOL_SECURE_TEST_CASSANDRA_PORT,
LOL_SECURE_TEST_CASSANDRA_STORAGE_PORT). Its directory is <repo>/.stack-secure-test (git-ignored;
LOL_SECURE_TEST_STACK_DIR), whose certificates, credentials and data are reused by the next session. Services
that were already up are reused and left running; the ones started here stop at the end unless LOL_KEEP_STACK=1.

Tests marked `secure_stack` get the fixture without naming it. What it yields (SecureStack):

    secure_stack.credentials        dict of credentials.env (LOL_KAFKA_*, LOL_CASSANDRA_*: see lol_stack.security)
    secure_stack.env(base=None)     os.environ (or base) with the credentials on top: a subprocess's env=
    secure_stack.apply_env(monkeypatch)   the same, set in this process for one test (resources read LOL_*)
    secure_stack.kafka_config(principal="ADMIN", mechanism=None)   confluent-kafka settings of ADMIN, INGEST,
                                    STREAM or PRODUCER (SCRAM-SHA-512 unless mechanism="PLAIN")
    secure_stack.cassandra_cluster(role="ADMIN", timeout_s=10)     a cassandra-driver Cluster over TLS as
                                    ADMIN, PUBLISHER or READER (role=None: TLS without a login); shut it down
    secure_stack.ca_file, .config (StackConfig), .stack (Stack), .start_seconds (time `stack up` took here)
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def _port(name: str, default: int) -> int:
    return int(os.environ.get(name) or default)


def secure_test_config():
    """The StackConfig of the test session's secure stack (explicit ports: never the LOL_*_PORT of a plain one)."""
    from lol_stack import StackConfig

    return StackConfig(
        stack_dir=Path(os.environ.get("LOL_SECURE_TEST_STACK_DIR") or REPO / ".stack-secure-test"),
        secure=True,
        kafka_port=_port("LOL_SECURE_TEST_KAFKA_PORT", 19092),
        kafka_controller_port=_port("LOL_SECURE_TEST_KAFKA_CONTROLLER_PORT", 19093),
        cassandra_port=_port("LOL_SECURE_TEST_CASSANDRA_PORT", 19042),
        cassandra_storage_port=_port("LOL_SECURE_TEST_CASSANDRA_STORAGE_PORT", 17000),
        cassandra_jmx_port=0,
    )


@dataclass
class SecureStack:
    config: object  # lol_stack.StackConfig
    stack: object  # lol_stack.Stack (kafka and cassandra)
    credentials: dict[str, str]
    start_seconds: float = 0.0
    provision_log: list[str] = field(default_factory=list)

    @property
    def ca_file(self) -> str:
        return self.credentials["LOL_KAFKA_SSL_CA_LOCATION"]

    def env(self, base: dict[str, str] | None = None) -> dict[str, str]:
        return {**(os.environ if base is None else base), **self.credentials}

    def apply_env(self, monkeypatch) -> None:
        for key, value in self.credentials.items():
            monkeypatch.setenv(key, value)

    def kafka_config(self, principal: str = "ADMIN", mechanism: str | None = None) -> dict:
        from lol_stack.security import kafka_client_config

        return kafka_client_config(self.credentials, principal, mechanism)

    def cassandra_cluster(self, role: str | None = "ADMIN", timeout_s: float = 10):
        from lol_stack.security import cassandra_login

        login = cassandra_login(self.credentials, role) if role else None
        return self.stack.service("cassandra").cluster(login, timeout_s=timeout_s)


def pytest_collection_modifyitems(items):
    for item in items:
        if item.get_closest_marker("secure_stack") and "secure_stack" not in item.fixturenames:
            item.fixturenames.insert(0, "secure_stack")


@pytest.fixture(scope="session")
def secure_stack():
    from lol_stack import Stack
    from lol_stack.security import load_credentials

    config = secure_test_config()
    stack = Stack(config, only=["kafka", "cassandra"])
    started_here = [row["service"] for row in stack.status() if row["state"] != "up"]
    lines: list[str] = []

    def progress(line: str) -> None:
        lines.append(line)
        print(line, flush=True)

    t0 = time.monotonic()
    try:
        stack.up(progress=progress)  # also when already up: provisioning is idempotent
    except BaseException:
        if started_here and os.environ.get("LOL_KEEP_STACK") != "1":
            Stack(config, only=started_here).down(progress=lambda line: None)
        raise
    start_seconds = time.monotonic() - t0
    print(f"secure stack ({', '.join(started_here) or 'reused'}) ready in {start_seconds:.1f}s", flush=True)
    yield SecureStack(config, stack, load_credentials(config), start_seconds, lines)
    if started_here and os.environ.get("LOL_KEEP_STACK") != "1":
        Stack(config, only=started_here).down(progress=lambda line: None)
