"""How a Cassandra client proves who it is: user name and password, and the CA its TLS server must chain to.

Shared by the driver-side resource and the Spark tasks that write from the executors, so it carries the CA as
PEM text rather than a path: an executor on another machine has no copy of the driver's files. The password
never appears in a repr (run logs print objects, Spark prints failed tasks' closures).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class CassandraLogin:
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    ca_pem: str | None = field(default=None, repr=False)  # TLS on when set: the server must chain to this CA
    verify_hostname: bool = True

    @property
    def tls(self) -> bool:
        return bool(self.ca_pem)

    def cluster_kwargs(self) -> dict:
        """Keyword arguments for cassandra.cluster.Cluster: an auth provider and an SSL context, as configured."""
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
