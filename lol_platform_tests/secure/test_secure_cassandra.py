"""The locked-down Cassandra: TLS on the native port, passwords, and roles with only their grants."""

from __future__ import annotations

import datetime as dt
import ssl
import time
import uuid

import pytest
from cassandra import AuthenticationFailed, Unauthorized
from cassandra.auth import PlainTextAuthProvider
from cassandra.cluster import NoHostAvailable
from cassandra.connection import ConnectionException

pytestmark = pytest.mark.secure_stack


def _connect_error(cluster) -> Exception:
    """The error of connecting (the test fails if the connection succeeds)."""
    try:
        with pytest.raises(NoHostAvailable) as refused:
            cluster.connect()
    finally:
        cluster.shutdown()
    (error,) = refused.value.errors.values()
    return error


def _session(secure_stack, role):
    cluster = secure_stack.cassandra_cluster(role)
    return cluster, cluster.connect()


def test_no_login_and_the_well_known_default_login_are_refused(secure_stack):
    assert isinstance(_connect_error(secure_stack.cassandra_cluster(role=None)), AuthenticationFailed)
    default = secure_stack.cassandra_cluster(role=None)
    default.auth_provider = PlainTextAuthProvider("cassandra", "cassandra")
    assert isinstance(_connect_error(default), AuthenticationFailed)
    wrong = secure_stack.cassandra_cluster(role=None)
    wrong.auth_provider = PlainTextAuthProvider("lol_admin", "not-the-password")
    t0 = time.monotonic()
    assert isinstance(_connect_error(wrong), AuthenticationFailed) and time.monotonic() - t0 < 15


def test_the_default_role_can_no_longer_log_in_nor_is_superuser(secure_stack):
    cluster, session = _session(secure_stack, "ADMIN")
    try:
        roles = {
            row.role: row for row in session.execute("SELECT role, is_superuser, can_login FROM system_auth.roles")
        }
    finally:
        cluster.shutdown()
    assert not roles["cassandra"].is_superuser and not roles["cassandra"].can_login
    assert roles["lol_admin"].is_superuser and roles["lol_admin"].can_login
    assert {
        name: (r.is_superuser, r.can_login) for name, r in roles.items() if name in ("lol_publisher", "lol_reader")
    } == {
        "lol_publisher": (False, True),
        "lol_reader": (False, True),
    }


def test_the_publisher_writes_and_reads_lol_data_and_nothing_more(secure_stack):
    cluster, session = _session(secure_stack, "PUBLISHER")
    day, name = dt.date(1970, 1, 2), f"secure_test_{uuid.uuid4().hex[:8]}"
    try:
        session.execute(
            "INSERT INTO lol_data.date_summary (match_date, table_name, row_count, run_id) VALUES (%s, %s, %s, %s)",
            (day, name, 7, "secure-test"),
        )
        row = session.execute(
            "SELECT row_count FROM lol_data.date_summary WHERE match_date = %s AND table_name = %s", (day, name)
        ).one()
        assert row.row_count == 7
        session.execute("DELETE FROM lol_data.date_summary WHERE match_date = %s AND table_name = %s", (day, name))
        with pytest.raises(Unauthorized):  # no schema changes
            session.execute("CREATE TABLE lol_data.secure_test_table (k int PRIMARY KEY)")
        with pytest.raises(Unauthorized):  # no role management
            session.execute("CREATE ROLE secure_test_role WITH LOGIN = true AND PASSWORD = 'x'")
    finally:
        cluster.shutdown()


def test_the_reader_reads_and_cannot_write(secure_stack):
    cluster, session = _session(secure_stack, "READER")
    try:
        session.execute("SELECT * FROM lol_data.date_summary LIMIT 1")
        with pytest.raises(Unauthorized):
            session.execute(
                "INSERT INTO lol_data.date_summary (match_date, table_name, row_count) VALUES (%s, %s, %s)",
                (dt.date(1970, 1, 3), "secure_test_reader", 1),
            )
        with pytest.raises(Unauthorized):
            session.execute("TRUNCATE lol_data.date_summary")
    finally:
        cluster.shutdown()


def test_a_connection_without_tls_is_refused(secure_stack):
    plain = secure_stack.stack.service("cassandra").cluster(
        ("lol_admin", secure_stack.credentials["LOL_CASSANDRA_ADMIN_PASSWORD"]), timeout_s=5, tls=False
    )
    t0 = time.monotonic()
    error = _connect_error(plain)
    # The server expects a TLS handshake and drops the connection (reset by peer): no CQL is ever spoken.
    assert isinstance(error, (OSError, ConnectionException)) and time.monotonic() - t0 < 15, error


def test_a_tls_client_that_does_not_trust_the_stack_ca_fails_verification(secure_stack):
    cluster = secure_stack.cassandra_cluster("ADMIN")
    cluster.ssl_context = ssl.create_default_context()  # the system's CAs only
    error = _connect_error(cluster)
    assert "CERTIFICATE_VERIFY_FAILED" in str(error), error
    # And one that trusts the CA but expects another name (the certificate is for 127.0.0.1 / localhost).
    cluster = secure_stack.cassandra_cluster("ADMIN")
    cluster.ssl_options = {"server_hostname": "cassandra.example.org"}
    error = _connect_error(cluster)
    assert "CERTIFICATE_VERIFY_FAILED" in str(error) or "hostname" in str(error).lower(), error


def test_provisioning_again_keeps_the_grants_exact(secure_stack):
    cluster, session = _session(secure_stack, "ADMIN")
    try:
        session.execute("GRANT MODIFY ON KEYSPACE lol_data TO lol_reader")  # a grant added by hand
        secure_stack.stack.service("cassandra").provision(progress=lambda line: None)
        rows = session.execute("LIST ALL PERMISSIONS OF lol_reader NORECURSIVE")
        assert {(row.resource, row.permission) for row in rows} == {("<keyspace lol_data>", "SELECT")}
        rows = session.execute("LIST ALL PERMISSIONS OF lol_publisher NORECURSIVE")
        assert {(row.resource, row.permission) for row in rows} == {
            ("<keyspace lol_data>", "SELECT"),
            ("<keyspace lol_data>", "MODIFY"),
        }
    finally:
        cluster.shutdown()
