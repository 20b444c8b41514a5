"""Each security setting reaches the client it configures, a half-set login fails before any connection with the
variable to set, and secrets stay out of reprs and of the definitions (EnvVar names only, never values).

The secured stack itself is exercised in lol_platform_tests/secure; these tests need no service.
"""

from __future__ import annotations

import pickle
import ssl

import pytest
from cassandra import AuthenticationFailed
from cassandra.cluster import NoHostAvailable
from confluent_kafka import KafkaError

from lol_core.cassandra_connection import CassandraConnection
from lol_platform.resources import (
    CassandraResource,
    ElasticsearchResource,
    KafkaResource,
    LakeResource,
    ServiceRejected,
    build_resources,
    kafka_resource,
)
from lol_platform.resources.cassandra import connect_error
from lol_platform.resources.kafka import kafka_rejection
from spark_jobs.cassandra_sink import CassandraTarget

SECRET = "s3cr3t-Value-never-shown"


def _ca_pem() -> str:
    """A throwaway self-signed CA certificate in PEM."""
    import datetime as dt

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "lol test CA")])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now).not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True).sign(key, hashes.SHA256()))  # fmt: skip
    return cert.public_bytes(serialization.Encoding.PEM).decode()


# -- Kafka --------------------------------------------------------------------------------------------------


def test_kafka_sasl_ssl_settings_reach_librdkafka():
    kafka = KafkaResource(bootstrap_servers="broker:9093", security_protocol="SASL_SSL", sasl_mechanism="PLAIN",
                          sasl_username="lol_ingest", sasl_password=SECRET, ssl_ca_location="/etc/ca.pem")  # fmt: skip
    config = kafka._base_config()
    assert config["security.protocol"] == "SASL_SSL"
    assert config["sasl.mechanism"] == "PLAIN"
    assert (config["sasl.username"], config["sasl.password"]) == ("lol_ingest", SECRET)
    assert config["ssl.ca.location"] == "/etc/ca.pem"
    assert config["enable.ssl.certificate.verification"] is True


def test_plaintext_kafka_sends_no_credentials():
    config = KafkaResource()._base_config()
    assert config["security.protocol"] == "PLAINTEXT"
    assert not {"sasl.username", "sasl.password", "ssl.ca.location"} & set(config)


@pytest.mark.parametrize("missing", ["USERNAME", "PASSWORD"])
def test_a_missing_kafka_credential_names_the_variable_before_connecting(missing):
    login = {"sasl_username": "lol_stream", "sasl_password": SECRET}
    login["sasl_username" if missing == "USERNAME" else "sasl_password"] = None
    kafka = KafkaResource(bootstrap_servers="127.0.0.1:1", security_protocol="SASL_SSL", settings_env="LOL_KAFKA_STREAM", **login)
    with pytest.raises(ServiceRejected) as info:
        kafka.health_check()  # no connection attempt: port 1 would only time out
    assert f"LOL_KAFKA_STREAM_{missing}" in str(info.value)
    assert str(info.value).startswith("Kafka at 127.0.0.1:1 refused the platform")


def test_an_unknown_protocol_is_refused_with_the_allowed_ones():
    with pytest.raises(ServiceRejected, match="LOL_KAFKA_SECURITY_PROTOCOL.*"):
        KafkaResource(security_protocol="SASL_TLS")._base_config()


@pytest.mark.parametrize(
    "error, says",
    [
        (KafkaError(KafkaError._AUTHENTICATION, "SASL authentication error: Authentication failed during authentication "
                    "due to invalid credentials with SASL mechanism SCRAM-SHA-512"), "Check LOL_KAFKA_INGEST_USERNAME and LOL_KAFKA_INGEST_PASSWORD"),
        (KafkaError(KafkaError._SSL, "SSL handshake failed: error:0A000086:SSL routines::certificate verify failed"),
         "LOL_KAFKA_SSL_CA_LOCATION"),
        (KafkaError(KafkaError.TOPIC_AUTHORIZATION_FAILED, "Topic authorization failed"), "Grant it the ACLs"),
        (KafkaError(KafkaError.GROUP_AUTHORIZATION_FAILED, "Group authorization failed"), "Grant it the ACLs"),
    ],
    ids=["wrong-password", "untrusted-certificate", "topic-acl", "group-acl"],
)
def test_kafka_refusals_say_what_to_fix(error, says):
    rejected = kafka_rejection([error], "127.0.0.1:19092", "LOL_KAFKA_INGEST", "lol_ingest")
    assert rejected is not None and says in str(rejected)
    assert "127.0.0.1:19092" in str(rejected)


def test_a_transport_error_is_not_a_refusal():
    assert kafka_rejection([KafkaError(KafkaError._TRANSPORT, "Connection refused")], "h:1", "LOL_KAFKA", None) is None


# -- Cassandra ----------------------------------------------------------------------------------------------


def test_cassandra_login_builds_auth_and_a_verifying_tls_context(tmp_path):
    ca = tmp_path / "ca.pem"
    ca.write_text(_ca_pem())
    cluster = CassandraResource(username="lol_publisher", password=SECRET, ssl_ca_file=str(ca)).connection().cluster()
    assert cluster.auth_provider.username == "lol_publisher"
    assert cluster.auth_provider.password == SECRET
    context = cluster.ssl_context
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    assert len(context.get_ca_certs()) == 1  # only the configured CA is trusted, not the system's


def test_cassandra_without_settings_connects_plain():
    cluster = CassandraResource().connection().cluster()
    assert cluster.auth_provider is None and cluster.ssl_context is None


@pytest.mark.parametrize("missing", ["USERNAME", "PASSWORD"])
def test_a_half_set_cassandra_login_names_the_missing_variable(missing):
    login = {"username": "lol_publisher", "password": SECRET}
    login["username" if missing == "USERNAME" else "password"] = None
    with pytest.raises(ServiceRejected, match=f"LOL_CASSANDRA_{missing}"):
        CassandraResource(**login).connection()


def test_an_unreadable_cassandra_ca_names_the_variable(tmp_path):
    with pytest.raises(ServiceRejected, match="LOL_CASSANDRA_SSL_CA_FILE"):
        CassandraResource(ssl_ca_file=str(tmp_path / "absent.pem")).connection()


def test_cassandra_connect_errors_are_classified():
    refused = NoHostAvailable("x", {"127.0.0.1:19042": AuthenticationFailed("Provided username lol_publisher and/or password are incorrect")})
    assert "Check LOL_CASSANDRA_USERNAME and LOL_CASSANDRA_PASSWORD" in str(connect_error(refused, "127.0.0.1:19042", "LOL_CASSANDRA", "lol_publisher"))
    anonymous = NoHostAvailable("x", {"127.0.0.1:19042": AuthenticationFailed("Remote end requires authentication")})
    assert "Set LOL_CASSANDRA_USERNAME and LOL_CASSANDRA_PASSWORD" in str(connect_error(anonymous, "127.0.0.1:19042", "LOL_CASSANDRA", None))
    untrusted = NoHostAvailable("x", {"127.0.0.1:19042": ssl.SSLCertVerificationError(1, "certificate verify failed")})
    assert "LOL_CASSANDRA_SSL_CA_FILE" in str(connect_error(untrusted, "127.0.0.1:19042", "LOL_CASSANDRA", "lol_publisher"))


def test_the_login_travels_to_spark_tasks_without_showing_its_secret():
    connection = CassandraConnection(("127.0.0.1",), 9042, "lol_publisher", SECRET, _ca_pem())
    target = CassandraTarget(connection, "lol_data", "t", ("k",), 1)
    assert pickle.loads(pickle.dumps(target)).connection == connection  # what Spark ships to each task
    assert SECRET not in repr(target) and SECRET not in repr(connection)


# -- Elasticsearch and WebHDFS (no secured local service: tested on the client configuration) -------------


def test_elasticsearch_api_key_and_ca_reach_the_client():
    es = ElasticsearchResource(url="https://es:9200", api_key=SECRET, ca_certs="/etc/ca.pem")
    options = es.client_options()
    assert options["api_key"] == SECRET and options["ca_certs"] == "/etc/ca.pem" and options["verify_certs"] is True
    client = es.client()
    connection = client.transport.get_connection()
    assert connection.use_ssl
    assert connection.headers["authorization"].startswith("ApiKey ")


def test_elasticsearch_basic_auth_reaches_the_client():
    connection = ElasticsearchResource(url="https://es:9200", username="lol_indexer", password=SECRET).client().transport.get_connection()
    assert connection.headers["authorization"].startswith("Basic ")


@pytest.mark.parametrize(
    "settings, says",
    [
        ({"url": "http://es:9200", "api_key": SECRET}, "LOL_ES_URL"),
        ({"url": "https://es:9200", "username": "u"}, "LOL_ES_PASSWORD"),
        ({"url": "https://es:9200", "username": "u", "password": SECRET, "api_key": SECRET}, "not both"),
    ],
    ids=["clear-text", "half-login", "two-logins"],
)
def test_unsafe_or_half_set_elasticsearch_logins_are_refused(settings, says):
    with pytest.raises(ServiceRejected, match=says):
        ElasticsearchResource(**settings).client_options()


def test_webhdfs_over_https_with_a_delegation_token():
    lake = LakeResource(root="hdfs://nn:8020/lake", webhdfs_port=9871, webhdfs_https=True, webhdfs_ca_file="/etc/ca.pem",
                        hdfs_delegation_token=SECRET)  # fmt: skip
    assert lake.webhdfs_options() == {"use_https": True, "session_verify": "/etc/ca.pem", "token": SECRET}
    assert lake.webhdfs_url() == "https://nn:9871/webhdfs/v1"
    webhdfs = lake.filesystem().handler.fs
    assert webhdfs.url.startswith("https://") and webhdfs.pars["delegation"] == SECRET


def test_a_delegation_token_never_travels_over_http():
    with pytest.raises(ServiceRejected, match="LOL_WEBHDFS_HTTPS"):
        LakeResource(root="hdfs://nn:8020/lake", hdfs_delegation_token=SECRET).webhdfs_options()


# -- the definitions hold variable names, never secret values ------------------------------------------------


def test_secrets_enter_the_definitions_as_variable_names_only(monkeypatch):
    env = {
        "LOL_KAFKA_SECURITY_PROTOCOL": "SASL_SSL", "LOL_KAFKA_INGEST_USERNAME": "lol_ingest", "LOL_KAFKA_INGEST_PASSWORD": SECRET,
        "LOL_KAFKA_STREAM_USERNAME": "lol_stream", "LOL_KAFKA_STREAM_PASSWORD": SECRET + "2",
        "LOL_CASSANDRA_USERNAME": "lol_publisher", "LOL_CASSANDRA_PASSWORD": SECRET + "3", "LOL_ES_API_KEY": SECRET + "4",
        "LOL_HDFS_DELEGATION_TOKEN": SECRET + "5",
    }  # fmt: skip
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    resources = build_resources()
    shown = repr({name: r for name, r in resources.items() if name != "pyspark"})
    assert SECRET not in shown  # the definitions (and the UI's resource page) carry "LOL_..._PASSWORD", not the value
    assert resources["kafka"].sasl_password == "LOL_KAFKA_INGEST_PASSWORD"
    assert resources["stream_kafka"].sasl_username == "LOL_KAFKA_STREAM_USERNAME"
    resolved = resources["kafka"].process_config_and_initialize()
    assert resolved.sasl_password == SECRET and resolved.settings_env == "LOL_KAFKA_INGEST"


def test_each_role_has_its_own_kafka_principal(monkeypatch):
    for role in ("INGEST", "STREAM", "PRODUCER"):
        monkeypatch.setenv(f"LOL_KAFKA_{role}_USERNAME", f"user_{role.lower()}")
        monkeypatch.setenv(f"LOL_KAFKA_{role}_PASSWORD", f"pw_{role.lower()}")
    users = {role: kafka_resource(role).process_config_and_initialize().sasl_username for role in ("INGEST", "STREAM", "PRODUCER")}
    assert users == {"INGEST": "user_ingest", "STREAM": "user_stream", "PRODUCER": "user_producer"}
