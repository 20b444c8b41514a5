"""How a client reaches the Cassandra cluster: contact points, login, TLS trust, routing and consistency.

One plain, picklable description shared by the driver-side resource and the Spark tasks that write from the
executors, so both connect the same way. It carries the CA as PEM text rather than a path (an executor on
another machine has no copy of the driver's files); the password never appears in a repr (run logs print
objects, Spark prints failed tasks' closures).
"""

from __future__ import annotations

from dataclasses import dataclass, field

CONSISTENCY_LEVELS = ("ONE", "TWO", "THREE", "QUORUM", "ALL", "LOCAL_QUORUM", "EACH_QUORUM", "LOCAL_ONE")


@dataclass(frozen=True)
class CassandraConnection:
    hosts: tuple[str, ...] = ("127.0.0.1",)
    port: int = 9042
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    ca_pem: str | None = field(default=None, repr=False)  # TLS on when set: the nodes must chain to this CA
    verify_hostname: bool = True
    local_datacenter: str | None = None  # the DC whose nodes serve requests first (None: the driver infers it)
    consistency: str = "LOCAL_QUORUM"  # reads and writes: one node on one replica, a majority on three
    connect_timeout_s: float = 10.0
    request_timeout_s: float = 30.0

    @property
    def tls(self) -> bool:
        return bool(self.ca_pem)

    def cluster(self):
        """A cassandra.cluster.Cluster (not connected) with this login, TLS, routing and consistency."""
        from cassandra import ConsistencyLevel
        from cassandra.cluster import EXEC_PROFILE_DEFAULT, Cluster, ExecutionProfile
        from cassandra.policies import DCAwareRoundRobinPolicy, TokenAwarePolicy

        # Token-aware: each request goes to a replica of its partition; DC-aware: the local DC's nodes first.
        profile = ExecutionProfile(
            load_balancing_policy=TokenAwarePolicy(DCAwareRoundRobinPolicy(local_dc=self.local_datacenter)),
            consistency_level=ConsistencyLevel.name_to_value[self.consistency],
            request_timeout=self.request_timeout_s,
        )
        return Cluster(list(self.hosts), port=self.port, protocol_version=5, connect_timeout=self.connect_timeout_s,
                       execution_profiles={EXEC_PROFILE_DEFAULT: profile}, **self._security())  # fmt: skip

    def _security(self) -> dict:
        kwargs: dict = {}
        if self.username is not None:
            from cassandra.auth import PlainTextAuthProvider

            kwargs["auth_provider"] = PlainTextAuthProvider(username=self.username, password=self.password or "")
        if self.tls:
            import ssl

            context = ssl.create_default_context(cadata=self.ca_pem)  # verifies the chain; no system CAs
            context.check_hostname = self.verify_hostname  # the driver then checks each node's address
            kwargs["ssl_context"] = context
        return kwargs
