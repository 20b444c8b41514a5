"""The secure stack's certificates and credentials, made on the spot under <stack dir>/security/.

Nothing here is committed or fixed: each stack directory gets its own CA, server key pair and passwords the
first time it is brought up secure, and keeps them (a second `ensure_security` reuses every file).

  security/            0700
    ca.p12             the CA's key pair (PKCS12; `keytool -genkeypair -ext bc:c`); signs the server cert
    ca.pem             the CA certificate (PEM) the Python clients verify against: librdkafka's
                       ssl.ca.location, cassandra-driver's ssl.SSLContext
    server.p12         the server's key pair for CN=localhost, SAN ip:127.0.0.1,dns:localhost, signed by the CA,
                       with its chain [server, CA] (PKCS12, one entry): the keystore of Kafka's and Cassandra's
                       TLS listeners
    truststore.p12     the CA certificate alone (PKCS12): the JVM services' truststore
    stores.env         the keystores' passwords (read by the launcher only)
    credentials.env    every principal's name and password and how to reach the services, as KEY=value lines
                       a shell can source (`set -a; . credentials.env; set +a`): see CREDENTIAL_NAMES

Every file is 0600. Passwords come from `secrets.token_urlsafe` and are handed to keytool through the
environment (`-storepass:env`), never on a command line another user could read in /proc.
"""

from __future__ import annotations

import os
import secrets
import shlex
import shutil
import ssl
import subprocess
from dataclasses import dataclass
from pathlib import Path

from lol_stack.config import StackConfig
from lol_stack.process import ServiceStartError

# Who is who. Kafka principals: the admin provisions (topics, ACLs) and is the only super user; the others
# are the platform's clients, each with the grants of lol_stack/services/kafka.py KAFKA_GRANTS.
KAFKA_PRINCIPALS = {
    "ADMIN": "lol_admin",  # super user: stack provisioning, topic creation, tests
    "INGEST": "lol_ingest",  # batch landing sensor + freshness lag probes
    "STREAM": "lol_stream",  # stream indexer
    "PRODUCER": "lol_producer",  # match producer
}
# Cassandra roles: key -> (env prefix, role name). The publisher's variables are the resource's plain
# LOL_CASSANDRA_USERNAME / LOL_CASSANDRA_PASSWORD (it is the batch layer's writer).
CASSANDRA_ROLES = {
    "ADMIN": ("LOL_CASSANDRA_ADMIN_", "lol_admin"),  # superuser: schema, roles
    "PUBLISHER": ("LOL_CASSANDRA_", "lol_publisher"),  # SELECT, MODIFY on keyspace lol_data
    "READER": ("LOL_CASSANDRA_READER_", "lol_reader"),  # SELECT on keyspace lol_data
}
KAFKA_MECHANISM = "SCRAM-SHA-512"  # the default mechanism of credentials.env; PLAIN is enabled too

CREDENTIAL_NAMES = [
    "LOL_KAFKA_BOOTSTRAP",
    "LOL_KAFKA_SECURITY_PROTOCOL",
    "LOL_KAFKA_SASL_MECHANISM",
    "LOL_KAFKA_SSL_CA_LOCATION",
    *[f"LOL_KAFKA_{key}_{what}" for key in KAFKA_PRINCIPALS for what in ("USERNAME", "PASSWORD")],
    "LOL_CASSANDRA_HOSTS",
    "LOL_CASSANDRA_PORT",
    "LOL_CASSANDRA_SSL_CA_FILE",
    *[f"{prefix}{what}" for prefix, _ in CASSANDRA_ROLES.values() for what in ("USERNAME", "PASSWORD")],
]

CA_VALIDITY_DAYS = 3650
SERVER_VALIDITY_DAYS = 825
_STORE_KEYS = ("CA_STORE_PASSWORD", "STORE_PASSWORD")


@dataclass(frozen=True)
class SecurityFiles:
    """Where a stack's TLS material and credentials are, and the password of its keystores."""

    dir: Path
    store_password: str  # server.p12 and truststore.p12

    @property
    def ca_p12(self) -> Path:
        return self.dir / "ca.p12"

    @property
    def ca_pem(self) -> Path:
        return self.dir / "ca.pem"

    @property
    def keystore(self) -> Path:
        return self.dir / "server.p12"

    @property
    def truststore(self) -> Path:
        return self.dir / "truststore.p12"

    @property
    def credentials_env(self) -> Path:
        return self.dir / "credentials.env"


def credentials_path(config: StackConfig) -> Path:
    return config.security_dir / "credentials.env"


def ensure_security(config: StackConfig) -> SecurityFiles:
    """Create what is missing of the CA, server keystore, truststore, ca.pem and credentials; reuse the rest.

    credentials.env is rewritten every time with the same passwords, so that its addresses follow the
    configured ports; a principal that is missing from it (an older file) gets a new password.
    """
    directory = config.security_dir
    directory.mkdir(parents=True, exist_ok=True)
    directory.chmod(0o700)
    stores = _read_env(directory / "stores.env")
    pki = [directory / name for name in ("ca.p12", "ca.pem", "server.p12", "truststore.p12")]
    if not all(stores.get(key) for key in _STORE_KEYS) or not all(p.exists() for p in pki):
        stores = {key: secrets.token_urlsafe(24) for key in _STORE_KEYS}
        _make_pki(config, directory, stores)
    files = SecurityFiles(directory, stores["STORE_PASSWORD"])
    _write_credentials(config, files)
    for path in directory.iterdir():
        if path.is_file():
            path.chmod(0o600)
    return files


def load_credentials(config: StackConfig) -> dict[str, str]:
    """The KEY=value pairs of <stack dir>/security/credentials.env (raises if the stack was never secured)."""
    path = credentials_path(config)
    if not path.exists():
        raise ServiceStartError(f"no credentials at {path}: bring the stack up with `lol-platform stack up --secure`")
    return _read_env(path)


def store_password(config: StackConfig) -> str:
    return _read_env(config.security_dir / "stores.env")["STORE_PASSWORD"]


# -- how clients use the credentials --------------------------------------------------------------------


def kafka_client_config(credentials: dict[str, str], principal: str = "ADMIN", mechanism: str | None = None) -> dict:
    """confluent-kafka settings for one principal (ADMIN, INGEST, STREAM, PRODUCER) over SASL_SSL."""
    return {
        "bootstrap.servers": credentials["LOL_KAFKA_BOOTSTRAP"],
        "security.protocol": credentials["LOL_KAFKA_SECURITY_PROTOCOL"],
        "sasl.mechanism": mechanism or credentials["LOL_KAFKA_SASL_MECHANISM"],
        "sasl.username": credentials[f"LOL_KAFKA_{principal}_USERNAME"],
        "sasl.password": credentials[f"LOL_KAFKA_{principal}_PASSWORD"],
        "ssl.ca.location": credentials["LOL_KAFKA_SSL_CA_LOCATION"],
    }


def cassandra_login(credentials: dict[str, str], role: str = "ADMIN") -> tuple[str, str]:
    """(username, password) of a Cassandra role: ADMIN, PUBLISHER or READER."""
    prefix, _ = CASSANDRA_ROLES[role]
    return credentials[f"{prefix}USERNAME"], credentials[f"{prefix}PASSWORD"]


def cassandra_ssl_context(ca_file: str | Path) -> ssl.SSLContext:
    """A client TLS context that trusts only the stack's CA and checks the server's name (pass
    ssl_options={"server_hostname": host} to cassandra-driver's Cluster with it)."""
    context = ssl.create_default_context(cafile=str(ca_file))
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


# -- the files ------------------------------------------------------------------------------------------


def _read_env(path: Path) -> dict[str, str]:
    if not path.exists():
        return {}
    values = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        parsed = shlex.split(value)
        values[key.strip()] = parsed[0] if parsed else ""
    return values


def _write_private(path: Path, text: str) -> None:
    """Write a file that only its owner can read, replacing it atomically."""
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        os.fchmod(f.fileno(), 0o600)
        f.write(text)
    os.replace(tmp, path)


def _write_credentials(config: StackConfig, files: SecurityFiles) -> None:
    old = _read_env(files.credentials_env)

    def password(key: str) -> str:
        return old.get(key) or secrets.token_urlsafe(24)

    ca = str(files.ca_pem)
    lines = [
        "# Generated by lol_stack (infra/launcher/security.py) for this stack directory only. Never commit it.",
        "# Use:  set -a; . <this file>; set +a",
        "",
        "# Kafka: SASL_SSL; SCRAM-SHA-512 (PLAIN is enabled too), server certificate signed by ca.pem",
        f"LOL_KAFKA_BOOTSTRAP={config.host}:{config.kafka_port}",
        "LOL_KAFKA_SECURITY_PROTOCOL=SASL_SSL",
        f"LOL_KAFKA_SASL_MECHANISM={KAFKA_MECHANISM}",
        f"LOL_KAFKA_SSL_CA_LOCATION={shlex.quote(ca)}",
    ]
    notes = {
        "ADMIN": "super user: stack provisioning, topic creation, tests",
        "INGEST": "batch landing sensor + freshness lag probes",
        "STREAM": "stream indexer",
        "PRODUCER": "match producer",
    }
    for key, name in KAFKA_PRINCIPALS.items():
        lines += [
            f"# {notes[key]}",
            f"LOL_KAFKA_{key}_USERNAME={name}",
            f"LOL_KAFKA_{key}_PASSWORD={password(f'LOL_KAFKA_{key}_PASSWORD')}",
        ]
    lines += [
        "",
        "# Cassandra: PasswordAuthenticator + CassandraAuthorizer, client TLS (server certificate signed by ca.pem)",
        f"LOL_CASSANDRA_HOSTS={config.host}",
        f"LOL_CASSANDRA_PORT={config.cassandra_port}",
        f"LOL_CASSANDRA_SSL_CA_FILE={shlex.quote(ca)}",
    ]
    notes = {
        "ADMIN": "superuser: schema and roles",
        "PUBLISHER": "batch publisher: SELECT, MODIFY on keyspace lol_data",
        "READER": "SELECT on keyspace lol_data only",
    }
    for key, (prefix, name) in CASSANDRA_ROLES.items():
        lines += [
            f"# {notes[key]}",
            f"{prefix}USERNAME={name}",
            f"{prefix}PASSWORD={password(f'{prefix}PASSWORD')}",
        ]
    _write_private(files.credentials_env, "\n".join(lines) + "\n")


def _keytool(directory: Path, stores: dict[str, str], *args: str) -> None:
    java_home = os.environ.get("JAVA_HOME")
    keytool = shutil.which("keytool", path=str(Path(java_home) / "bin")) if java_home else None
    keytool = keytool or shutil.which("keytool")
    if keytool is None:
        raise ServiceStartError("the secure stack needs the JDK's `keytool` on PATH (or under $JAVA_HOME/bin)")
    env = {**os.environ, **{f"LOL_STACK_{key}": value for key, value in stores.items()}}
    proc = subprocess.run([keytool, *args], cwd=directory, env=env, capture_output=True, text=True, timeout=120)
    if proc.returncode != 0:
        raise ServiceStartError(f"keytool {args[0]} failed:\n{proc.stdout[-1500:]}{proc.stderr[-1500:]}")


def _make_pki(config: StackConfig, directory: Path, stores: dict[str, str]) -> None:
    """A CA, a server key pair signed by it (with its chain) and a truststore, all with keytool.

    Made under new names and moved into place at the end, so that an interrupted run leaves no half set.
    """
    work = directory / ".pki.tmp"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(mode=0o700)
    ca_pass = ["-storepass:env", "LOL_STACK_CA_STORE_PASSWORD"]
    store_pass = ["-storepass:env", "LOL_STACK_STORE_PASSWORD"]
    hosts = dict.fromkeys(["ip:127.0.0.1", "dns:localhost", f"ip:{config.host}"])
    san = "SAN=" + ",".join(hosts)
    rsa = ["-keyalg", "RSA", "-keysize", "2048"]

    def run(*args: str) -> None:
        _keytool(work, stores, *args)

    # The CA: a self-signed key pair whose BasicConstraints (critical) say it is a CA.
    run("-genkeypair", "-alias", "ca", "-dname", "CN=lol_platform local stack CA,O=lol_platform", *rsa,
        "-validity", str(CA_VALIDITY_DAYS), "-ext", "bc:c", "-ext", "KeyUsage:c=keyCertSign,cRLSign",
        "-keystore", "ca.p12", "-storetype", "PKCS12", *ca_pass)  # fmt: skip
    run("-exportcert", "-rfc", "-alias", "ca", "-keystore", "ca.p12", *ca_pass, "-file", "ca.pem")
    # The server: a key pair for CN=localhost, a request, the CA's signature, then the chain imported back.
    run("-genkeypair", "-alias", "server", "-dname", "CN=localhost,O=lol_platform", *rsa,
        "-validity", str(SERVER_VALIDITY_DAYS), "-ext", san,
        "-keystore", "server.p12", "-storetype", "PKCS12", *store_pass)  # fmt: skip
    run("-certreq", "-alias", "server", "-keystore", "server.p12", *store_pass, "-file", "server.csr")
    run("-gencert", "-alias", "ca", "-keystore", "ca.p12", *ca_pass, "-infile", "server.csr", "-outfile", "server.crt",
        "-rfc", "-validity", str(SERVER_VALIDITY_DAYS), "-ext", san,
        "-ext", "KeyUsage:c=digitalSignature,keyEncipherment", "-ext", "ExtendedKeyUsage=serverAuth,clientAuth")  # fmt: skip
    run("-importcert", "-noprompt", "-alias", "ca", "-file", "ca.pem", "-keystore", "server.p12", *store_pass)
    run("-importcert", "-alias", "server", "-file", "server.crt", "-keystore", "server.p12", *store_pass)
    run("-delete", "-alias", "ca", "-keystore", "server.p12", *store_pass)  # the chain has it; one entry left
    run("-importcert", "-noprompt", "-alias", "ca", "-file", "ca.pem",
        "-keystore", "truststore.p12", "-storetype", "PKCS12", *store_pass)  # fmt: skip
    # stores.env goes first and comes back last: a run cut short in between leaves no stores.env, and the
    # next one makes everything again rather than pairing old passwords with new keystores.
    (directory / "stores.env").unlink(missing_ok=True)
    for name in ("ca.p12", "ca.pem", "server.p12", "truststore.p12"):
        (work / name).chmod(0o600)
        os.replace(work / name, directory / name)
    _write_private(directory / "stores.env", "".join(f"{key}={value}\n" for key, value in stores.items()))
    shutil.rmtree(work, ignore_errors=True)
