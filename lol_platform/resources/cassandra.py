"""Cassandra through cassandra-driver: one session per resource, schema applied from infra/cassandra."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

from dagster import ConfigurableResource
from pydantic import Field, PrivateAttr

from lol_platform.resources.errors import ServiceUnavailable

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
    request_timeout_s: float = Field(default=30.0, description="per-request timeout")
    schema_path: str = Field(default=str(SCHEMA_CQL), description="CQL applied idempotently before use")

    _cluster = PrivateAttr(default=None)
    _session = PrivateAttr(default=None)

    def address(self) -> str:
        return f"{self.hosts}:{self.port}"

    def contact_points(self) -> tuple[str, ...]:
        return tuple(h.strip() for h in self.hosts.split(",") if h.strip())

    def session(self):
        """A connected session (created once), with the keyspace and tables in place."""
        if self._session is None:
            from cassandra.cluster import Cluster, NoHostAvailable

            cluster = Cluster(
                list(self.contact_points()),
                port=self.port,
                connect_timeout=self.connect_timeout_s,
                protocol_version=5,
            )
            try:
                session = cluster.connect()
            except (NoHostAvailable, OSError) as exc:
                cluster.shutdown()
                raise ServiceUnavailable("Cassandra", self.address(), exc, "LOL_CASSANDRA_HOSTS / LOL_CASSANDRA_PORT") from exc
            session.default_timeout = self.request_timeout_s
            self._cluster, self._session = cluster, session
            self.ensure_schema()
        return self._session

    def ensure_schema(self) -> None:
        for statement in cql_statements(Path(self.schema_path).read_text()):
            self._session.execute(statement)

    def health_check(self) -> None:
        self.session().execute("SELECT release_version FROM system.local")

    def close(self) -> None:
        if self._cluster is not None:
            self._cluster.shutdown()
        self._cluster = self._session = None

    def teardown_after_execution(self, context) -> None:
        self.close()

    # -- per-date replace: clear a run's dates before writing, count a date's rows

    def clear_stat_dates(self, table: str, dates: list[dt.date]) -> None:
        """Stats tables are partitioned by stat_date: a date is one partition delete."""
        session = self.session()
        delete = session.prepare(f"DELETE FROM {self.keyspace}.{table} WHERE stat_date = ?")
        for day in dates:
            session.execute(delete, [day])

    def clear_participant_dates(self, dates: list[dt.date]) -> int:
        """match_participants is partitioned by (match_date, match_id): find a date's matches through
        matches_by_date, delete each match partition, then the index. Returns matches removed."""
        from cassandra.concurrent import execute_concurrent_with_args

        session = self.session()
        ks = self.keyspace
        select = session.prepare(f"SELECT match_id FROM {ks}.matches_by_date WHERE match_date = ?")
        delete_match = session.prepare(f"DELETE FROM {ks}.match_participants WHERE match_date = ? AND match_id = ?")
        delete_index = session.prepare(f"DELETE FROM {ks}.matches_by_date WHERE match_date = ?")
        removed = 0
        for day in dates:
            match_ids = [r.match_id for r in session.execute(select, [day])]
            execute_concurrent_with_args(session, delete_match, [(day, m) for m in match_ids], concurrency=64, raise_on_first_error=True)
            session.execute(delete_index, [day])
            removed += len(match_ids)
        return removed

    def count_participants(self, day: dt.date) -> int:
        """Rows of match_participants for a date, counted match by match through matches_by_date."""
        from cassandra.concurrent import execute_concurrent_with_args

        session = self.session()
        ks = self.keyspace
        match_ids = [r.match_id for r in session.execute(f"SELECT match_id FROM {ks}.matches_by_date WHERE match_date = %s", [day])]
        count = session.prepare(f"SELECT COUNT(*) FROM {ks}.match_participants WHERE match_date = ? AND match_id = ?")
        results = execute_concurrent_with_args(session, count, [(day, m) for m in match_ids], concurrency=64, raise_on_first_error=True)
        return sum(result.result_or_exc.one()[0] for result in results)

    def count_stats(self, table: str, day: dt.date) -> int:
        return self.session().execute(f"SELECT COUNT(*) FROM {self.keyspace}.{table} WHERE stat_date = %s", [day]).one()[0]

