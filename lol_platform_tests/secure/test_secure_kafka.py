"""The locked-down Kafka: who gets in (SASL over TLS, the stack's CA) and what each principal may do (ACLs)."""

from __future__ import annotations

import os
import subprocess
import time
import uuid

import pytest
from confluent_kafka import Consumer, ConsumerGroupTopicPartitions, KafkaError, KafkaException, Producer
from confluent_kafka.admin import (
    AclBinding,
    AclBindingFilter,
    AclOperation,
    AclPermissionType,
    AdminClient,
    NewTopic,
    ResourcePatternType,
    ResourceType,
)

pytestmark = pytest.mark.secure_stack

QUIET = {"log_level": 0}  # the refused clients would fill the output with librdkafka's retries


def _produce(config: dict, topic: str, value: bytes, timeout_s: float = 20) -> KafkaError | None:
    """Produce one message; the delivery error (None: delivered)."""
    results = []
    producer = Producer({**config, **QUIET, "message.timeout.ms": int(timeout_s * 1000) - 2000})
    producer.produce(topic, value, on_delivery=lambda err, msg: results.append(err))
    producer.flush(timeout_s)
    assert results, "no delivery report"
    return results[0]


def _consume_until(config: dict, group: str, topics: list[str], wanted: bytes, timeout_s: float = 30):
    """Consume from the start until `wanted` shows up; returns (found, first error seen)."""
    consumer = Consumer({**config, **QUIET, "group.id": group, "auto.offset.reset": "earliest"})
    consumer.subscribe(topics)
    deadline = time.monotonic() + timeout_s
    try:
        while time.monotonic() < deadline:
            try:
                msg = consumer.poll(0.5)
            except KafkaException as exc:
                return False, exc.args[0]
            if msg is None:
                continue
            if msg.error():
                if msg.error().code() == KafkaError._PARTITION_EOF:
                    continue
                return False, msg.error()
            if msg.value() == wanted:
                consumer.commit(msg, asynchronous=False)
                return True, None
        return False, None
    finally:
        consumer.close()


def _first_client_error(config: dict, timeout_s: float = 15) -> tuple[KafkaError | None, float]:
    """Start a producer and return the first error librdkafka reports (error_cb) and how long it took."""
    errors: list[KafkaError] = []
    producer = Producer({**config, **QUIET, "error_cb": errors.append})
    t0 = time.monotonic()
    while not errors and time.monotonic() - t0 < timeout_s:
        producer.poll(0.2)
    return (errors[0] if errors else None), time.monotonic() - t0


@pytest.mark.parametrize("mechanism", ["SCRAM-SHA-512", "PLAIN"])
def test_the_admin_produces_and_consumes_over_sasl_ssl_verifying_the_stack_ca(secure_stack, mechanism):
    config = secure_stack.kafka_config("ADMIN", mechanism)
    assert config["security.protocol"] == "SASL_SSL" and config["ssl.ca.location"] == secure_stack.ca_file
    assert "ssl.endpoint.identification.algorithm" not in config  # librdkafka's default: the name is checked
    topic = f"secure_roundtrip_{uuid.uuid4().hex[:8]}"
    admin = AdminClient(config)
    admin.create_topics([NewTopic(topic, 1, 1)])[topic].result(30)
    value = f"hello {mechanism} {uuid.uuid4()}".encode()
    assert _produce(config, topic, value) is None
    found, error = _consume_until(config, f"secure-test-{uuid.uuid4().hex[:8]}", [topic], value)
    assert found and error is None
    admin.delete_topics([topic])[topic].result(30)


def test_a_wrong_password_is_an_authentication_error_within_seconds(secure_stack):
    config = {**secure_stack.kafka_config("STREAM"), "sasl.password": "not-the-password"}
    error, seconds = _first_client_error(config)
    assert error is not None and error.code() == KafkaError._AUTHENTICATION, error
    assert "invalid credentials" in error.str() and seconds < 15
    plain = {**secure_stack.kafka_config("ADMIN", "PLAIN"), "sasl.password": "not-the-password"}
    error, seconds = _first_client_error(plain)
    assert error is not None and error.code() == KafkaError._AUTHENTICATION and seconds < 15, error


def test_a_plaintext_client_or_one_without_sasl_gets_nothing_from_the_port(secure_stack):
    bootstrap = secure_stack.credentials["LOL_KAFKA_BOOTSTRAP"]
    plaintext = {"bootstrap.servers": bootstrap, "security.protocol": "PLAINTEXT", **QUIET}
    tls_only = {**plaintext, "security.protocol": "SSL", "ssl.ca.location": secure_stack.ca_file}  # no login
    for config in (plaintext, tls_only):
        admin = AdminClient(config)
        with pytest.raises(KafkaException) as refused:
            admin.list_topics(timeout=3)
        assert refused.value.args[0].code() == KafkaError._TRANSPORT


def test_a_client_that_trusts_another_ca_fails_certificate_verification(secure_stack, tmp_path):
    env = {**os.environ, "P": "changeit-" + uuid.uuid4().hex}
    for args in (
        ["-genkeypair", "-alias", "other", "-dname", "CN=some other CA", "-keyalg", "RSA", "-keysize", "2048",
         "-ext", "bc:c", "-validity", "2", "-keystore", "other.p12", "-storetype", "PKCS12", "-storepass:env", "P"],
        ["-exportcert", "-rfc", "-alias", "other", "-keystore", "other.p12", "-storepass:env", "P", "-file", "other.pem"],
    ):  # fmt: skip
        subprocess.run(["keytool", *args], cwd=tmp_path, env=env, check=True, capture_output=True)
    config = {**secure_stack.kafka_config("ADMIN"), "ssl.ca.location": str(tmp_path / "other.pem")}
    error, seconds = _first_client_error(config)
    assert error is not None and "certificate verify failed" in error.str(), error


def test_the_acls_are_exactly_the_documented_grants(secure_stack):
    from lol_stack.services.kafka import KAFKA_GRANTS

    admin = AdminClient(secure_stack.kafka_config("ADMIN"))
    everything = AclBindingFilter(ResourceType.ANY, None, ResourcePatternType.ANY, None, None,
                                  AclOperation.ANY, AclPermissionType.ANY)  # fmt: skip
    acls = {
        (b.principal, b.restype.name, b.name, b.resource_pattern_type.name, b.operation.name, b.permission_type.name)
        for b in admin.describe_acls(everything, request_timeout=10).result(30)
    }
    creds = secure_stack.credentials
    assert acls == {
        (f"User:{creds[f'LOL_KAFKA_{key}_USERNAME']}", rtype, pattern, "PREFIXED", op, "ALLOW")
        for key, grants in KAFKA_GRANTS.items()
        for rtype, pattern, ops in grants
        for op in ops
    }


def test_each_principal_does_its_job_and_nothing_else(secure_stack):
    from lol_stack.services.kafka import MATCH_TOPIC

    producer, stream, ingest = (secure_stack.kafka_config(p) for p in ("PRODUCER", "STREAM", "INGEST"))
    value = f"match {uuid.uuid4()}".encode()
    # The producer writes the match topic, idempotently as the platform's producer does (no IDEMPOTENT_WRITE
    # on the cluster needed: WRITE on a topic is enough since KIP-679).
    assert _produce({**producer, "enable.idempotence": True}, MATCH_TOPIC, value) is None
    # The stream indexer reads it in its group; the batch sensor in its own.
    suffix = uuid.uuid4().hex[:8]
    assert _consume_until(stream, f"lol-platform-stream-{suffix}", [MATCH_TOPIC], value) == (True, None)
    assert _consume_until(ingest, f"lol-platform-batch-{suffix}", [MATCH_TOPIC], value) == (True, None)
    # The freshness probe (as lol_ingest) reads the stream group's committed offsets.
    ingest_admin = AdminClient(ingest)  # kept in a variable: a collected client never completes its futures
    offsets = ingest_admin.list_consumer_group_offsets([ConsumerGroupTopicPartitions(f"lol-platform-stream-{suffix}")])
    committed = offsets[f"lol-platform-stream-{suffix}"].result(30).topic_partitions
    assert committed and any(tp.offset > 0 for tp in committed if tp.topic == MATCH_TOPIC)

    # Refusals: the stream and the ingest principals cannot write the topic ...
    for reader in (stream, ingest):
        error = _produce({**reader, "enable.idempotence": False}, MATCH_TOPIC, b"x")
        assert error is not None and error.code() == KafkaError.TOPIC_AUTHORIZATION_FAILED, error
    # ... the stream principal cannot use the batch group, the producer cannot consume at all ...
    found, error = _consume_until(stream, "lol-platform-batch", [MATCH_TOPIC], b"never", timeout_s=15)
    assert not found and error is not None and error.code() == KafkaError.GROUP_AUTHORIZATION_FAILED, error
    found, error = _consume_until(producer, f"lol-platform-stream-{suffix}", [MATCH_TOPIC], b"never", timeout_s=15)
    assert not found and error is not None and error.code() == KafkaError.GROUP_AUTHORIZATION_FAILED, error
    # ... nobody but the admin creates topics or grants ACLs.
    topic = f"lol_matches_{suffix}"  # even a name inside their prefix
    for config in (producer, stream, ingest):
        client = AdminClient({**config, **QUIET})
        with pytest.raises(KafkaException) as refused:
            client.create_topics([NewTopic(topic, 1, 1)])[topic].result(30)
        assert refused.value.args[0].code() in (
            KafkaError.TOPIC_AUTHORIZATION_FAILED,
            KafkaError.CLUSTER_AUTHORIZATION_FAILED,
        )
    grant = AclBinding(ResourceType.TOPIC, "lol", ResourcePatternType.PREFIXED, "User:lol_stream", "*",
                       AclOperation.ALL, AclPermissionType.ALLOW)  # fmt: skip
    client = AdminClient({**stream, **QUIET})
    with pytest.raises(KafkaException) as refused:
        client.create_acls([grant], request_timeout=10)[grant].result(30)
    assert refused.value.args[0].code() == KafkaError.CLUSTER_AUTHORIZATION_FAILED
    # And the stream principal does not even see the other topics.
    visible = AdminClient(stream).list_topics(timeout=10).topics
    assert MATCH_TOPIC in visible and "__consumer_offsets" not in visible


def test_provisioning_again_changes_nothing_and_removes_a_grant_added_by_hand(secure_stack):
    from lol_stack.services.kafka import MATCH_TOPIC

    kafka = secure_stack.stack.service("kafka")
    admin = AdminClient(secure_stack.kafka_config("ADMIN"))
    extra = AclBinding(ResourceType.TOPIC, MATCH_TOPIC, ResourcePatternType.PREFIXED, "User:lol_stream", "*",
                       AclOperation.WRITE, AclPermissionType.ALLOW)  # fmt: skip
    admin.create_acls([extra], request_timeout=10)[extra].result(30)
    lines: list[str] = []
    kafka.provision(progress=lines.append)
    assert "(0 added, 1 removed)" in lines[-1], lines
    kafka.provision(progress=lines.append)
    assert "(0 added, 0 removed)" in lines[-1], lines
    error = _produce({**secure_stack.kafka_config("STREAM"), "enable.idempotence": False}, MATCH_TOPIC, b"x")
    assert error is not None and error.code() == KafkaError.TOPIC_AUTHORIZATION_FAILED
    assert all(row["state"] == "up" for row in secure_stack.stack.status())  # status probes with the credentials
