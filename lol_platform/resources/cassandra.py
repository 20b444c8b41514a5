"""Cassandra through cassandra-driver: one session per resource, schema applied from infra/cassandra."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

from dagster import ConfigurableResource
from pydantic import Field, PrivateAttr

from lol_core.cassandra_connection import CONSISTENCY_LEVELS, CassandraConnection
from lol_platform.resources.errors import ServiceRejected, ServiceUnavailable

SCHEMA_CQL = Path(__file__).resolve().parents[2] / "infra" / "cassandra" / "schema.cql"


def cql_statements(text: str) -> list[str]:
    """Split a CQL script into statements, dropping `--` comments."""
    without_comments = re.sub(r"--[^\n]*", "", text)
    return [stmt.strip() for stmt in without_comments.split(";") if stmt.strip()]


class CassandraResource(ConfigurableResource):
    hosts: str = Field(default="127.0.0.1", description="comma-separated contact points")
    port: int = Field(default=9042, description="native protocol port")
    keyspace: str = Field(default="lol_data", description="keyspace of the serving tables")
    connect_timeout_s: float = Field(default=10.0, description="connect timeout")
    request_timeout_s: float = Field(default=30.0, description="per-request timeout (a timed-out publish request is retried with backoff)")
    max_in_flight: int = Field(default=256, description="most concurrent requests per writer; the publish narrows it when the server is overloaded")
    schema_path: str = Field(default=str(SCHEMA_CQL), description="CQL applied idempotently before use")
    # A secured cluster (PasswordAuthenticator, client TLS). Secrets come from the environment (EnvVar), never
    # from run config; `settings_env` is the prefix of the variables that set them, named in error messages.
    username: str | None = Field(default=None, description="role to log in as (PasswordAuthenticator)")
    password: str | None = Field(default=None, description="the role's password: set it through an EnvVar only")
    ssl_ca_file: str | None = Field(default=None, description="PEM CA the nodes' certificates chain to; TLS is on when set")
    ssl_verify_hostname: bool = Field(default=True, description="check each node's certificate names its address")
    settings_env: str = Field(default="LOL_CASSANDRA", description="prefix of the environment variables configuring this resource")
    # A cluster of several nodes (and datacenters): how the keyspace is replicated and how requests are routed.
    replication: str = Field(default="1", description="keyspace replication when the schema creates it: a factor ('3', SimpleStrategy) "
                                                      "or 'dc1:3,dc2:3' (NetworkTopologyStrategy per datacenter)")
    local_datacenter: str | None = Field(default=None, description="datacenter served first (token-aware, DC-aware routing)")
    consistency: str = Field(default="LOCAL_QUORUM", description="consistency level of reads and writes (e.g. LOCAL_QUORUM, QUORUM, ONE)")

    _cluster = PrivateAttr(default=None)
    _session = PrivateAttr(default=None)

    def address(self) -> str:
        return f"{self.hosts}:{self.port}"

    def contact_points(self) -> tuple[str, ...]:
        return tuple(h.strip() for h in self.hosts.split(",") if h.strip())

    def connection(self) -> CassandraConnection:
        """How to reach the cluster, as the driver here or a Spark task needs it; fails fast on a half-set login."""
        env = self.settings_env
        if (self.username is None) != (self.password is None):
            missing = f"{env}_PASSWORD" if self.password is None else f"{env}_USERNAME"
            raise ServiceRejected("Cassandra", self.address(), f"a login needs a user name and a password, and {missing} is not set",
                                  f"Set {missing} (or unset both {env}_USERNAME and {env}_PASSWORD for a cluster without authentication).")
        if self.consistency not in CONSISTENCY_LEVELS:
            raise ServiceRejected("Cassandra", self.address(), f"consistency {self.consistency!r} is not one of {', '.join(CONSISTENCY_LEVELS)}",
                                  "Set LOL_CASSANDRA_CONSISTENCY to one of them.")
        ca_pem = None
        if self.ssl_ca_file:
            try:
                ca_pem = Path(self.ssl_ca_file).read_text()
            except OSError as exc:
                raise ServiceRejected("Cassandra", self.address(), f"cannot read the CA file {self.ssl_ca_file} ({exc.strerror})",
                                      f"Point {env}_SSL_CA_FILE at the PEM file of the CA that signed the nodes' certificates.") from exc
        return CassandraConnection(self.contact_points(), self.port, self.username, self.password, ca_pem, self.ssl_verify_hostname,
                                   self.local_datacenter, self.consistency, self.connect_timeout_s, self.request_timeout_s)  # fmt: skip

    def session(self):
        """A connected session (created once), with the keyspace and tables in place."""
        if self._session is None:
            from cassandra.cluster import NoHostAvailable

            cluster = self.connection().cluster()
            try:
                session = cluster.connect()
            except (NoHostAvailable, OSError) as exc:
                cluster.shutdown()
                raise self.connect_error(exc) from exc
            self._cluster, self._session = cluster, session
            self.ensure_schema()
        return self._session

    def connect_error(self, exc: Exception) -> ServiceUnavailable:
        """What a failed connect means for the user: refused credentials or certificate, else unreachable."""
        return connect_error(exc, self.address(), self.settings_env, self.username, tls=bool(self.ssl_ca_file))

    def ensure_schema(self) -> None:
        """Apply the schema unless it is all there: a least-privilege role (SELECT, MODIFY) may not CREATE."""
        from cassandra import Unauthorized

        statements = [with_replication(stmt, self.replication) for stmt in cql_statements(Path(self.schema_path).read_text())]
        if self._schema_present(statements):
            return
        try:
            for statement in statements:
                self._session.execute(statement)
        except Unauthorized as exc:
            raise ServiceRejected("Cassandra", self.address(), f"role {self.username!r} may not create the schema ({exc})",
                                  "Apply infra/cassandra/schema.cql as an administrator (`lol-platform stack up --secure` does), "
                                  "then run again.") from exc

    def _schema_present(self, statements: list[str]) -> bool:
        tables = {m.group(1).split(".")[-1].lower() for s in statements
                  if (m := re.match(r"CREATE\s+TABLE\s+IF\s+NOT\s+EXISTS\s+([\w.]+)", s, re.IGNORECASE))}  # fmt: skip
        meta = self._cluster.metadata.keyspaces.get(self.keyspace)
        return meta is not None and tables <= set(meta.tables)

    def health_check(self) -> None:
        self.session().execute("SELECT release_version FROM system.local")

    def close(self) -> None:
        if self._cluster is not None:
            self._cluster.shutdown()
        self._cluster = self._session = None

    def teardown_after_execution(self, context) -> None:
        self.close()

    # -- per-date replace (lol_platform/batch/cassandra_publish.py writes; these read, remove and count)

    def indexed_matches(self, day: dt.date) -> dict[str, int]:
        """match_id -> participants of a date, from its index partition (paged: one partition, no scan)."""
        rows = self.session().execute(f"SELECT match_id, participants FROM {self.keyspace}.matches_by_date WHERE match_date = %s", [day])
        return {r.match_id: r.participants for r in rows}

    def remove_matches_except(self, day: dt.date, kept: set[str], write_timestamp_us: int) -> int:
        """Remove from a date every indexed match not in `kept`: its index row first (so no reader finds an
        indexed match without rows), then its rows. Returns the matches removed."""
        from cassandra.concurrent import execute_concurrent_with_args

        gone = sorted(set(self.indexed_matches(day)) - kept)
        if not gone:
            return 0
        session, ks = self.session(), self.keyspace
        unindex = session.prepare(f"DELETE FROM {ks}.matches_by_date USING TIMESTAMP ? WHERE match_date = ? AND match_id = ?")
        delete = session.prepare(f"DELETE FROM {ks}.match_participants USING TIMESTAMP ? WHERE match_date = ? AND match_id = ?")
        for statement in (unindex, delete):
            execute_concurrent_with_args(session, statement, [(write_timestamp_us, day, m) for m in gone],
                                         concurrency=self.max_in_flight, raise_on_first_error=True)  # fmt: skip
        return len(gone)

    def delete_stat_dates(self, table: str, dates: list[dt.date], write_timestamp_us: int) -> None:
        """Stats tables are partitioned by stat_date: a date is one partition delete."""
        session = self.session()
        delete = session.prepare(f"DELETE FROM {self.keyspace}.{table} USING TIMESTAMP ? WHERE stat_date = ?")
        for day in dates:
            session.execute(delete, [write_timestamp_us, day])

    def match_rows(self, day: dt.date, match_ids: list[str]) -> list[dict]:
        """Every row of the given matches of a date (for content reconciliation)."""
        from cassandra.concurrent import execute_concurrent_with_args

        session = self.session()
        select = session.prepare(f"SELECT * FROM {self.keyspace}.match_participants WHERE match_date = ? AND match_id = ?")
        results = execute_concurrent_with_args(session, select, [(day, m) for m in match_ids], concurrency=self.max_in_flight,
                                               raise_on_first_error=True)  # fmt: skip
        return [row._asdict() for result in results for row in result.result_or_exc]

    def stat_rows(self, table: str, day: dt.date) -> list[dict]:
        """A stats date, all of it (one partition)."""
        rows = self.session().execute(f"SELECT * FROM {self.keyspace}.{table} WHERE stat_date = %s", [day])
        return [row._asdict() for row in rows]

    def count_participants(self, day: dt.date) -> int:
        """Rows of match_participants for a date, counted match by match through matches_by_date."""
        from cassandra.concurrent import execute_concurrent_with_args

        session = self.session()
        count = session.prepare(f"SELECT COUNT(*) FROM {self.keyspace}.match_participants WHERE match_date = ? AND match_id = ?")
        results = execute_concurrent_with_args(session, count, [(day, m) for m in self.indexed_matches(day)],
                                               concurrency=self.max_in_flight, raise_on_first_error=True)  # fmt: skip
        return sum(result.result_or_exc.one()[0] for result in results)


def replication_map(setting: str) -> str:
    """The CQL replication map of a setting: '3' -> SimpleStrategy, 'dc1:3,dc2:2' -> NetworkTopologyStrategy."""
    setting = setting.strip()
    if setting.isdigit():
        return f"{{'class': 'SimpleStrategy', 'replication_factor': {int(setting)}}}"
    pairs = [part.split(":") for part in setting.split(",") if part.strip()]
    if not pairs or any(len(p) != 2 or not re.fullmatch(r"[\w.-]+", p[0].strip()) or not p[1].strip().isdigit() for p in pairs):
        raise ValueError(f"replication {setting!r}: use a factor ('3') or datacenter:factor pairs ('dc1:3,dc2:3') (LOL_CASSANDRA_REPLICATION)")
    dcs = ", ".join(f"'{dc.strip()}': {int(rf)}" for dc, rf in pairs)
    return f"{{'class': 'NetworkTopologyStrategy', {dcs}}}"


def with_replication(statement: str, setting: str) -> str:
    """A CREATE KEYSPACE statement with the configured replication (other statements unchanged). An existing
    keyspace keeps its replication: changing it is an ALTER KEYSPACE and a repair, an operator's step."""
    if not re.match(r"CREATE\s+KEYSPACE", statement, re.IGNORECASE):
        return statement
    return re.sub(r"replication\s*=\s*\{[^}]*\}", f"replication = {replication_map(setting)}", statement, flags=re.IGNORECASE)


def connect_error(exc: Exception, address: str, env: str, username: str | None, tls: bool = False) -> ServiceUnavailable:
    """Classify a driver connect error (NoHostAvailable carries one error per host)."""
    import ssl

    from cassandra import AuthenticationFailed

    causes = list(getattr(exc, "errors", {}).values()) or [exc]
    text = " ".join(str(c) for c in causes)
    if any(isinstance(c, AuthenticationFailed) for c in causes) or "AuthenticationFailed" in text:
        if username is None:
            return ServiceRejected("Cassandra", address, "the cluster requires authentication and no user is configured",
                                   f"Set {env}_USERNAME and {env}_PASSWORD.")
        return ServiceRejected("Cassandra", address, f"the credentials of role {username!r} were not accepted",
                               f"Check {env}_USERNAME and {env}_PASSWORD.")
    if any(isinstance(c, ssl.SSLError) for c in causes) or "CERTIFICATE_VERIFY_FAILED" in text:
        return ServiceRejected("Cassandra", address, f"its TLS certificate is not trusted ({text[:200]})",
                               f"Point {env}_SSL_CA_FILE at the CA that signed the nodes' certificates.")
    if not tls and any(isinstance(c, (ConnectionResetError, ConnectionAbortedError)) for c in causes):
        # A node that requires client TLS resets a plain connection at its first request.
        return ServiceRejected("Cassandra", address, "the node reset a plain connection: it probably requires client TLS",
                               f"Set {env}_SSL_CA_FILE to the CA that signed the nodes' certificates.")
    return ServiceUnavailable("Cassandra", address, exc, f"{env}_HOSTS / {env}_PORT")
