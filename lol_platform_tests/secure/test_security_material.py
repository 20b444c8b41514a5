"""The secure stack's material and configuration, without starting a service (keytool is needed)."""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import shutil
import socket
import ssl
import stat
import subprocess
import threading
from pathlib import Path

import pytest

from lol_platform.devtools.cli import build_parser
from lol_platform.devtools.dev import parse_args as parse_dev_args
from lol_stack import StackConfig
from lol_stack.security import (
    CASSANDRA_ROLES,
    CREDENTIAL_NAMES,
    KAFKA_PRINCIPALS,
    cassandra_ssl_context,
    ensure_security,
    load_credentials,
)
from lol_stack.services.cassandra import CASSANDRA_GRANTS, Cassandra
from lol_stack.services.kafka import KAFKA_GRANTS, Kafka

REPO = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(shutil.which("keytool") is None, reason="the JDK's keytool is not on PATH")

EXPECTED_NAMES = """
LOL_KAFKA_BOOTSTRAP LOL_KAFKA_SECURITY_PROTOCOL LOL_KAFKA_SASL_MECHANISM LOL_KAFKA_SSL_CA_LOCATION
LOL_KAFKA_ADMIN_USERNAME LOL_KAFKA_ADMIN_PASSWORD LOL_KAFKA_INGEST_USERNAME LOL_KAFKA_INGEST_PASSWORD
LOL_KAFKA_STREAM_USERNAME LOL_KAFKA_STREAM_PASSWORD LOL_KAFKA_PRODUCER_USERNAME LOL_KAFKA_PRODUCER_PASSWORD
LOL_CASSANDRA_HOSTS LOL_CASSANDRA_PORT LOL_CASSANDRA_SSL_CA_FILE
LOL_CASSANDRA_ADMIN_USERNAME LOL_CASSANDRA_ADMIN_PASSWORD LOL_CASSANDRA_USERNAME LOL_CASSANDRA_PASSWORD
LOL_CASSANDRA_READER_USERNAME LOL_CASSANDRA_READER_PASSWORD
""".split()


def _config(stack_dir: Path, **overrides) -> StackConfig:
    ports = dict(kafka_port=29092, kafka_controller_port=29093, cassandra_port=29042, cassandra_storage_port=27000)
    return StackConfig(stack_dir=stack_dir, secure=True, **{**ports, **overrides})


@pytest.fixture(scope="module")
def material(tmp_path_factory):
    """One secure stack directory for the module: keytool runs once (a few seconds)."""
    config = _config(tmp_path_factory.mktemp("secure") / "stack")
    return config, ensure_security(config)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_credentials_file_has_every_name_owner_only_and_a_shell_reads_it(material):
    config, files = material
    assert _mode(files.dir) == 0o700
    assert {path.name: _mode(path) for path in files.dir.iterdir()} == dict.fromkeys(
        ["ca.p12", "ca.pem", "server.p12", "truststore.p12", "stores.env", "credentials.env"], 0o600
    )
    creds = load_credentials(config)
    assert list(creds) == CREDENTIAL_NAMES == EXPECTED_NAMES
    assert all(value for value in creds.values())
    assert creds["LOL_KAFKA_BOOTSTRAP"] == "127.0.0.1:29092" and creds["LOL_CASSANDRA_PORT"] == "29042"
    assert creds["LOL_KAFKA_SECURITY_PROTOCOL"] == "SASL_SSL" and creds["LOL_KAFKA_SASL_MECHANISM"] == "SCRAM-SHA-512"
    assert creds["LOL_KAFKA_SSL_CA_LOCATION"] == creds["LOL_CASSANDRA_SSL_CA_FILE"] == str(files.ca_pem)
    assert [creds[f"LOL_KAFKA_{key}_USERNAME"] for key in KAFKA_PRINCIPALS] == [
        "lol_admin", "lol_ingest", "lol_stream", "lol_producer"
    ]  # fmt: skip
    assert [creds[f"{prefix}USERNAME"] for prefix, _ in CASSANDRA_ROLES.values()] == [
        "lol_admin", "lol_publisher", "lol_reader"
    ]  # fmt: skip
    passwords = [value for key, value in creds.items() if key.endswith("_PASSWORD")]
    assert len(passwords) == 7 and len(set(passwords)) == 7 and all(len(p) >= 32 for p in passwords)
    # One KEY=value a line, and what `set -a; . file` exports is exactly what load_credentials reads.
    lines = [line for line in files.credentials_env.read_text().splitlines() if line and not line.startswith("#")]
    assert len(lines) == len(EXPECTED_NAMES) and all("=" in line for line in lines)
    shell = subprocess.run(
        ["bash", "-c", 'set -a; . "$0"; set +a; env -0', str(files.credentials_env)],
        capture_output=True, text=True, check=True, env={"PATH": os.environ["PATH"]},
    )  # fmt: skip
    exported = dict(item.split("=", 1) for item in shell.stdout.split("\0") if "=" in item)
    assert {key: exported[key] for key in creds} == creds


def test_the_server_certificate_chains_to_the_ca_and_names_127_0_0_1(material):
    x509 = pytest.importorskip("cryptography.x509")
    from cryptography.hazmat.primitives.serialization import pkcs12

    _config_, files = material
    ca = x509.load_pem_x509_certificate(files.ca_pem.read_bytes())
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).critical
    key, cert, chain = pkcs12.load_key_and_certificates(files.keystore.read_bytes(), files.store_password.encode())
    assert key is not None and cert.subject.rfc4514_string() == "CN=localhost,O=lol_platform"
    cert.verify_directly_issued_by(ca)  # raises if the CA did not sign it
    assert [c.fingerprint(c.signature_hash_algorithm) for c in chain] == [ca.fingerprint(ca.signature_hash_algorithm)]
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert ipaddress.ip_address("127.0.0.1") in san.get_values_for_type(x509.IPAddress)
    assert "localhost" in san.get_values_for_type(x509.DNSName)
    assert cert.not_valid_after_utc > dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=365)
    # The keystore holds that one key entry; the truststore the CA certificate alone.
    listing = subprocess.run(
        ["keytool", "-list", "-keystore", str(files.keystore), "-storepass:env", "P"],
        capture_output=True, text=True, env={**os.environ, "P": files.store_password}, check=True,
    ).stdout  # fmt: skip
    assert "contains 1 entry" in listing and "PrivateKeyEntry" in listing
    listing = subprocess.run(
        ["keytool", "-list", "-keystore", str(files.truststore), "-storepass:env", "P"],
        capture_output=True, text=True, env={**os.environ, "P": files.store_password}, check=True,
    ).stdout  # fmt: skip
    assert "contains 1 entry" in listing and "trustedCertEntry" in listing


def test_a_client_that_trusts_ca_pem_completes_a_tls_handshake_with_the_server_key_for_127_0_0_1(material, tmp_path):
    """What librdkafka and cassandra-driver do, with Python's ssl: verify the chain and the IP address."""
    pytest.importorskip("cryptography")
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.serialization import pkcs12

    _config_, files = material
    key, cert, chain = pkcs12.load_key_and_certificates(files.keystore.read_bytes(), files.store_password.encode())
    pem = tmp_path / "server.pem"
    pem.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        + cert.public_bytes(serialization.Encoding.PEM)
    )
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_context.load_cert_chain(pem)
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def serve():
        conn, _ = listener.accept()
        try:
            with server_context.wrap_socket(conn, server_side=True) as tls:
                tls.recv(1)
        except (ssl.SSLError, OSError):
            pass

    def handshake(context: ssl.SSLContext):
        thread = threading.Thread(target=serve, daemon=True)
        thread.start()
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
                with context.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
                    tls.sendall(b"x")
                    return tls.getpeercert()["subjectAltName"]
        finally:
            thread.join(5)

    try:
        assert ("IP Address", "127.0.0.1") in handshake(cassandra_ssl_context(files.ca_pem))
        with pytest.raises(ssl.SSLCertVerificationError):
            handshake(ssl.create_default_context())  # the system CAs do not know the stack's CA
    finally:
        listener.close()


def test_a_second_run_reuses_every_file_and_only_the_addresses_follow_the_ports(material):
    config, files = material
    before = {path.name: (path.read_bytes(), path.stat().st_mtime_ns) for path in files.dir.iterdir()}
    again = ensure_security(config)
    after = {path.name: (path.read_bytes(), path.stat().st_mtime_ns) for path in files.dir.iterdir()}
    assert again == files
    assert {n: v for n, v in after.items() if n != "credentials.env"} == {
        n: v for n, v in before.items() if n != "credentials.env"
    }
    assert after["credentials.env"][0] == before["credentials.env"][0]
    # Other ports: the same passwords and certificates, new addresses.
    moved = _config(config.stack_dir, kafka_port=29192, cassandra_port=29142)
    creds, moved_creds = load_credentials(config), (ensure_security(moved), load_credentials(moved))[1]
    assert moved_creds["LOL_KAFKA_BOOTSTRAP"] == "127.0.0.1:29192" and moved_creds["LOL_CASSANDRA_PORT"] == "29142"
    assert {k: v for k, v in moved_creds.items() if "PASSWORD" in k} == {
        k: v for k, v in creds.items() if "PASSWORD" in k
    }
    assert files.ca_pem.read_bytes() == before["ca.pem"][0]
    ensure_security(config)  # back to the module's ports


def test_a_missing_password_is_generated_and_the_others_are_kept(material, tmp_path):
    config = _config(tmp_path / "stack")
    shutil.copytree(material[0].security_dir, config.security_dir)  # the module's keystores: no keytool run
    files = ensure_security(config)
    creds = load_credentials(config)
    text = files.credentials_env.read_text()
    kept = [line for line in text.splitlines() if not line.startswith("LOL_KAFKA_STREAM_PASSWORD=")]
    files.credentials_env.write_text("\n".join(kept))
    ensure_security(config)
    again = load_credentials(config)
    assert (
        again["LOL_KAFKA_STREAM_PASSWORD"] and again["LOL_KAFKA_STREAM_PASSWORD"] != creds["LOL_KAFKA_STREAM_PASSWORD"]
    )
    assert {k: v for k, v in again.items() if k != "LOL_KAFKA_STREAM_PASSWORD"} == {
        k: v for k, v in creds.items() if k != "LOL_KAFKA_STREAM_PASSWORD"
    }
    assert _mode(files.credentials_env) == 0o600


def _properties(path: Path) -> dict[str, str]:
    lines = [line for line in path.read_text().splitlines() if line and not line.startswith("#")]
    return dict(line.split("=", 1) for line in lines)


def test_the_secure_kafka_config_has_only_sasl_ssl_listeners_an_authorizer_and_one_super_user(material):
    config, files = material
    kafka = Kafka(config)
    kafka.write_config()
    assert _mode(kafka.properties_path) == 0o600
    props = _properties(kafka.properties_path)
    assert props["listeners"] == "SASL_SSL://127.0.0.1:29092,CONTROLLER://127.0.0.1:29093"
    assert props["listener.security.protocol.map"] == "CONTROLLER:SASL_SSL,SASL_SSL:SASL_SSL"
    assert props["inter.broker.listener.name"] == "SASL_SSL"
    assert props["listener.name.sasl_ssl.sasl.enabled.mechanisms"] == "SCRAM-SHA-512,PLAIN"
    assert props["listener.name.controller.sasl.enabled.mechanisms"] == "PLAIN"
    assert props["authorizer.class.name"] == "org.apache.kafka.metadata.authorizer.StandardAuthorizer"
    assert props["allow.everyone.if.no.acl.found"] == "false"
    assert props["super.users"] == "User:lol_admin"
    assert props["auto.create.topics.enable"] == "false" and props["log.retention.hours"] == "168"
    assert props["ssl.keystore.location"] == str(files.keystore) and props["ssl.keystore.type"] == "PKCS12"
    text = kafka.properties_path.read_text()
    assert "PLAINTEXT" not in text and "ANONYMOUS" not in text
    # Secrets: Kafka's own users (PLAIN needs them in its JAAS entries) and the keystore's; nothing else.
    creds = load_credentials(config)
    for key, value in creds.items():
        if key.startswith("LOL_KAFKA_") and key.endswith("_PASSWORD"):
            holders = [k for k, v in props.items() if value in v]
            assert holders and all(k.endswith(".sasl.jaas.config") for k in holders), key
        elif key.endswith("_PASSWORD"):
            assert value not in text, key
    store = files.store_password
    assert [k for k, v in props.items() if store in v] == [
        "ssl.keystore.password",
        "ssl.key.password",
        "ssl.truststore.password",
    ]
    assert _ca_store_password(config) not in text  # the CA's key stays with keytool


def _ca_store_password(config: StackConfig) -> str:
    stores = dict(line.split("=", 1) for line in (config.security_dir / "stores.env").read_text().split())
    return stores["CA_STORE_PASSWORD"]


def test_the_secure_cassandra_config_requires_passwords_permissions_and_tls(material):
    yaml = pytest.importorskip("yaml")
    config, files = material
    cassandra = Cassandra(config)
    cassandra.write_config()
    assert _mode(cassandra.yaml_path) == 0o600
    settings = yaml.safe_load(cassandra.yaml_path.read_text())
    assert settings["authenticator"] == "PasswordAuthenticator"
    assert settings["authorizer"] == "CassandraAuthorizer"
    assert settings["role_manager"] == "CassandraRoleManager"
    client = settings["client_encryption_options"]
    assert client["enabled"] is True and client["optional"] is False
    assert client["keystore"] == str(files.keystore) and client["store_type"] == "PKCS12"
    assert client["keystore_password"] == files.store_password
    assert settings["server_encryption_options"]["internode_encryption"] == "all"
    assert settings["native_transport_port"] == 29042 and settings["storage_port"] == 27000
    assert cassandra.jmx_port == 0 and not any(opt.startswith("-Dcassandra.jmx") for opt in cassandra.jvm_options())
    text = cassandra.yaml_path.read_text()
    assert not [key for key, value in load_credentials(config).items() if key.endswith("_PASSWORD") and value in text]
    assert _ca_store_password(config) not in text


def test_the_plain_stack_is_unchanged(tmp_path):
    config = StackConfig(stack_dir=tmp_path / "plain", secure=False, cassandra_jmx_port=None)
    kafka, cassandra = Kafka(config), Cassandra(config)
    kafka.write_config()
    cassandra.write_config()
    props = _properties(kafka.properties_path)
    assert props["listener.security.protocol.map"] == "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT"
    assert "authorizer.class.name" not in props and props["auto.create.topics.enable"] == "true"
    text = cassandra.yaml_path.read_text()
    assert "authenticator: AllowAllAuthenticator" in text and "client_encryption_options" not in text
    assert not (tmp_path / "plain" / "security").exists()


def test_secure_mode_has_its_own_stack_dir_and_switches(monkeypatch):
    monkeypatch.delenv("LOL_STACK_DIR", raising=False)
    monkeypatch.delenv("LOL_CASSANDRA_JMX_PORT", raising=False)
    monkeypatch.setenv("LOL_STACK_SECURE", "1")
    assert StackConfig().secure and StackConfig().stack_dir == REPO / ".stack-secure"
    assert StackConfig().cassandra_jmx_port == 0  # JMX has no authentication: off unless asked for
    monkeypatch.delenv("LOL_STACK_SECURE")
    assert not StackConfig().secure and StackConfig().stack_dir == REPO / ".stack"
    assert StackConfig().cassandra_jmx_port == 7199
    assert StackConfig(secure=True).stack_dir == REPO / ".stack-secure"
    monkeypatch.setenv("LOL_STACK_DIR", "/tmp/elsewhere")
    assert StackConfig(secure=True).stack_dir == Path("/tmp/elsewhere")
    for action in ("up", "down", "status", "fetch"):
        assert build_parser().parse_args(["stack", action, "--secure"]).secure
    assert not build_parser().parse_args(["stack", "up"]).secure
    monkeypatch.delenv("LOL_STACK_SECURE", raising=False)
    assert parse_dev_args(["--secure"]).secure and not parse_dev_args([]).secure
    monkeypatch.setenv("LOL_STACK_SECURE", "1")  # make dev-secure
    assert parse_dev_args([]).secure
    ignored = (REPO / ".gitignore").read_text().split()
    assert ".stack-secure/" in ignored and ".stack-secure-test/" in ignored


def test_the_grants_are_the_documented_least_privilege():
    assert KAFKA_GRANTS == {
        "INGEST": [
            ("TOPIC", "lol_matches", ("READ", "DESCRIBE")),
            ("GROUP", "lol-platform-batch", ("READ", "DESCRIBE")),
            ("GROUP", "lol-platform-stream", ("DESCRIBE",)),
        ],
        "STREAM": [
            ("TOPIC", "lol_matches", ("READ", "DESCRIBE")),
            ("GROUP", "lol-platform-stream", ("READ", "DESCRIBE")),
        ],
        "PRODUCER": [("TOPIC", "lol_matches", ("WRITE", "DESCRIBE"))],
    }
    assert CASSANDRA_GRANTS == {"PUBLISHER": ("SELECT", "MODIFY"), "READER": ("SELECT",)}
    # The README's table names every principal and role.
    readme = (REPO / "README.md").read_text()
    section = readme[readme.index("## Locked-down local stack") :]
    for name in [*KAFKA_PRINCIPALS.values(), *(role for _, role in CASSANDRA_ROLES.values())]:
        assert f"`{name}`" in section, name
