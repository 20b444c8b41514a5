"""The platform on the locked-down stack: Kafka SASL_SSL (SCRAM-SHA-512) and Cassandra with a password and client
TLS, each role with its own principal. HDFS and Elasticsearch are the plain session stack's.

One flow runs once for the module, the way users run it: the producer's principal sends matches, the landing
sensor lands them as the ingest principal, a batch run launched through Dagster's GraphQL API (a run worker
process, resources from EnvVar) publishes them as the Cassandra publisher, and the stream indexes them as the
stream principal. Then: the counts agree everywhere, and no secret appears in anything a user can see.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from dagster import AssetKey, DagsterInstance, DagsterRunStatus, SkipReason, build_sensor_context
from dagster._serdes import serialize_value
from dagster._core.test_utils import instance_for_test

from lol_platform.devtools.generator import MatchGenerator, encode, key
from lol_platform.ingestion.sensor import IngestSettings, kafka_match_sensor
from lol_platform.resources import CassandraResource, ElasticsearchResource, KafkaResource, LakeResource, ServiceRejected
from lol_platform.speed.indexer import StreamConfig, StreamIndexer

pytestmark = [pytest.mark.stack, pytest.mark.secure_stack]
DAY = dt.date(2026, 2, 3)
MATCHES = 30
REPO = Path(__file__).resolve().parents[2]
BATCH_KEYS = [AssetKey("cleaned_participants"), AssetKey("champion_stats"), AssetKey("position_stats")]


def secure_kafka(creds: dict, role: str, topic: str, **override) -> KafkaResource:
    settings = dict(
        bootstrap_servers=creds["LOL_KAFKA_BOOTSTRAP"], topic=topic, security_protocol=creds["LOL_KAFKA_SECURITY_PROTOCOL"],
        sasl_mechanism=creds["LOL_KAFKA_SASL_MECHANISM"], sasl_username=creds[f"LOL_KAFKA_{role}_USERNAME"],
        sasl_password=creds[f"LOL_KAFKA_{role}_PASSWORD"], ssl_ca_location=creds["LOL_KAFKA_SSL_CA_LOCATION"],
        settings_env=f"LOL_KAFKA_{role}", request_timeout_s=10,
    )  # fmt: skip
    return KafkaResource(**{**settings, **override})


def secure_cassandra(creds: dict, role: str | None = None, **override) -> CassandraResource:
    prefix = f"LOL_CASSANDRA_{role}" if role else "LOL_CASSANDRA"
    settings = dict(
        hosts=creds["LOL_CASSANDRA_HOSTS"], port=int(creds["LOL_CASSANDRA_PORT"]), username=creds[f"{prefix}_USERNAME"],
        password=creds[f"{prefix}_PASSWORD"], ssl_ca_file=creds["LOL_CASSANDRA_SSL_CA_FILE"], settings_env=prefix, connect_timeout_s=5,
    )  # fmt: skip
    return CassandraResource(**{**settings, **override})


def other_ca(tmp_path: Path) -> str:
    """A CA nobody's certificate chains to."""
    from lol_platform_tests.unit.test_security_settings import _ca_pem

    path = tmp_path / "other-ca.pem"
    path.write_text(_ca_pem())
    return str(path)


def secrets_of(creds: dict) -> list[str]:
    return [v for k, v in creds.items() if k.endswith("_PASSWORD")]


@pytest.fixture(scope="module")
def flow(secure_stack, tmp_path_factory):
    """Produce → land → GraphQL-launched batch run → stream, once; returns what each step left behind."""
    from dagster_graphql.test.utils import define_out_of_process_context, materialize_assets

    creds = secure_stack.credentials
    name = uuid.uuid4().hex[:10]
    topic = f"lol_matches_secure_{name}"
    lake_root = f"hdfs://127.0.0.1:8020/tests/secure_{name}"
    secure_kafka(creds, "ADMIN", topic).ensure_topic()

    # The producer's principal sends a day of generated matches.
    generator = MatchGenerator(seed=11, start_date=DAY, days=1, late_share=0.0, matches_per_day=MATCHES)
    matches = list(generator.matches(MATCHES))
    producer = secure_kafka(creds, "PRODUCER", topic).producer()
    for match in matches:
        producer.produce(topic, key=key(match), value=encode(match))
    assert producer.flush(30) == 0

    # The landing sensor as the ingest principal (its group is one of the prefix it is granted).
    kafka, lake = secure_kafka(creds, "INGEST", topic), LakeResource(root=lake_root)
    ingest = IngestSettings(group_id=f"lol-platform-batch-{name}", max_messages=1000, max_seconds=20)
    cursor, landed = None, 0
    for _ in range(10):
        context = build_sensor_context(cursor=cursor, instance=DagsterInstance.ephemeral(),
                                       resources={"kafka": kafka, "lake": lake, "ingest": ingest})  # fmt: skip
        result = kafka_match_sensor(context)
        if isinstance(result, SkipReason):
            break
        landed += sum(e.metadata["batch_rows"].value for e in result.asset_events)
        cursor = result.cursor

    # A batch run launched as the UI launches it: a run worker process reading its settings from the environment.
    env = {**creds, "LOL_LAKE_ROOT": lake_root, "LOL_SPARK_MASTER": "local[2]"}
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    home = tmp_path_factory.mktemp("dagster_home")
    try:
        # Runs launch at once (no daemon dequeues here) into a run worker process, as the default launcher does.
        with instance_for_test(temp_dir=str(home), synchronous_run_coordinator=True) as instance:
            with define_out_of_process_context(str(REPO / "lol_platform" / "definitions.py"), "defs", instance) as gql:
                launched = materialize_assets(gql, BATCH_KEYS, partition_keys=[DAY.isoformat()])[0]
                run_id = launched.data["launchPipelineExecution"]["run"]["runId"]
                run = _wait(instance, run_id)
                answers = _graphql_answers(gql, run_id)
            records = [serialize_value(entry) for entry in instance.all_logs(run_id)]
            logs = _captured_logs(home)
    finally:
        for k, v in saved.items():
            os.environ.pop(k) if v is None else os.environ.__setitem__(k, v)

    # The stream as its own principal, into an index of its own on the plain Elasticsearch.
    es = ElasticsearchResource(index=f"lol_matches_stream_secure_{name}")
    config = StreamConfig(group_id=f"lol-platform-stream-{name}")
    with StreamIndexer(secure_kafka(creds, "STREAM", topic), es, config, log=lambda line: None) as indexer:
        streamed = indexer.drain(60)
    es.client().indices.refresh(index=es.index)
    documents = es.client().count(index=es.index)["count"]
    es.client().indices.delete(index=es.index, ignore=[404])
    return {"creds": creds, "landed": landed, "matches": matches, "run": run, "answers": answers, "records": records,
            "logs": logs, "streamed": streamed, "documents": documents}  # fmt: skip


def _wait(instance, run_id: str, timeout_s: float = 900):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        run = instance.get_run_by_id(run_id)
        if run.status in (DagsterRunStatus.SUCCESS, DagsterRunStatus.FAILURE, DagsterRunStatus.CANCELED):
            return run
        time.sleep(1)
    raise AssertionError(f"run {run_id} did not finish in {timeout_s}s")


RUN_QUERY = """
query Run($runId: ID!) {
  runOrError(runId: $runId) { ... on Run { runId status runConfigYaml tags { key value } } }
  logsForRun(runId: $runId, limit: 10000) {
    ... on EventConnection { events { __typename ... on MessageEvent { message }
      ... on MaterializationEvent { metadataEntries { label ... on TextMetadataEntry { text } ... on JsonMetadataEntry { jsonString }
                                                      ... on MarkdownMetadataEntry { mdStr } ... on UrlMetadataEntry { url } ... on PathMetadataEntry { path } } }
      ... on ExecutionStepFailureEvent { error { message stack } } } }
  }
}
"""
RESOURCE_QUERY = """
query Resources($selector: RepositorySelector!) {
  allTopLevelResourceDetailsOrError(repositorySelector: $selector) {
    ... on ResourceDetailsList { results { name configuredValues { key value type } } }
  }
}
"""


def _graphql_answers(gql, run_id: str) -> list[dict]:
    from dagster_graphql.test.utils import execute_dagster_graphql, infer_repository_selector

    run = execute_dagster_graphql(gql, RUN_QUERY, variables={"runId": run_id})
    resources = execute_dagster_graphql(gql, RESOURCE_QUERY, variables={"selector": infer_repository_selector(gql)})
    return [run.data, resources.data]


def _captured_logs(home: Path) -> str:
    """Everything the run worker wrote to stdout/stderr (Dagster's captured compute logs)."""
    return "\n".join(p.read_text(errors="replace") for p in home.rglob("*") if p.is_file() and p.suffix in (".out", ".err", ".log"))


def test_the_sensor_lands_a_run_publishes_and_the_stream_indexes_on_the_secure_stack(flow, secure_stack):
    rows = sum(len(m["info"]["participants"]) for m in flow["matches"])
    assert flow["landed"] == rows
    assert flow["run"].status == DagsterRunStatus.SUCCESS, flow["answers"][0]
    reader = secure_cassandra(secure_stack.credentials, "READER")
    try:
        summary = reader.session().execute(
            "SELECT row_count, match_count FROM lol_data.date_summary WHERE match_date = %s AND table_name = 'match_participants'", [DAY]
        ).one()  # fmt: skip
        games = reader.session().execute("SELECT SUM(games_played) FROM lol_data.position_stats WHERE stat_date = %s", [DAY]).one()[0]
    finally:
        reader.close()
    assert (summary.row_count, summary.match_count) == (rows, MATCHES)
    assert games == rows
    assert flow["documents"] == rows and flow["streamed"].documents == rows


def test_no_secret_appears_in_run_logs_metadata_or_the_graphql_answers(flow):
    secrets = secrets_of(flow["creds"])
    assert len(secrets) >= 6
    seen = {
        "graphql": json.dumps(flow["answers"]),
        "event log": "\n".join(flow["records"]),
        "captured stdout/stderr": flow["logs"],
    }
    assert "LOL_CASSANDRA_PASSWORD" in seen["graphql"]  # the resource page shows where the secret comes from...
    assert len(seen["event log"]) > 10_000  # (the scan reads a real run's events, not an empty list)
    for where, text in seen.items():
        leaked = [s[:3] + "…" for s in secrets if s in text]
        assert not leaked, f"secrets found in the {where}: {leaked}"  # ...never its value


# -- refusals: fast, named, actionable ---------------------------------------------------------------------


def _refused(call, *names: str, within_s: float = 15.0) -> str:
    t0 = time.monotonic()
    with pytest.raises(ServiceRejected) as info:
        call()
    assert time.monotonic() - t0 < within_s, f"took {time.monotonic() - t0:.1f}s"
    message = str(info.value)
    for name in names:
        assert name in message, message
    return message


def test_kafka_refusals_name_the_setting_to_fix(secure_stack, tmp_path):
    creds, topic = secure_stack.credentials, "lol_matches"
    _refused(secure_kafka(creds, "INGEST", topic, sasl_password="wrong").health_check, "LOL_KAFKA_INGEST_PASSWORD", creds["LOL_KAFKA_BOOTSTRAP"])
    _refused(secure_kafka(creds, "INGEST", topic, sasl_password=None).health_check, "LOL_KAFKA_INGEST_PASSWORD", within_s=1)
    _refused(secure_kafka(creds, "INGEST", topic, ssl_ca_location=other_ca(tmp_path)).health_check, "LOL_KAFKA_SSL_CA_LOCATION")
    _refused(secure_kafka(creds, "INGEST", topic, security_protocol="PLAINTEXT").health_check, "LOL_KAFKA_SECURITY_PROTOCOL")


def test_a_principal_outside_its_grants_is_refused_by_name(secure_stack):
    # The stream's principal may not read the batch landing's consumer group.
    stream_as_batch = secure_kafka(secure_stack.credentials, "STREAM", "lol_matches")
    _refused(lambda: stream_as_batch.poll_bounded("lol-platform-batch", {}, 10, 5), "'lol_stream'", "Grant it the ACLs")


def test_cassandra_refusals_name_the_setting_to_fix(secure_stack, tmp_path):
    creds = secure_stack.credentials
    cases = [
        (dict(password="wrong"), ["LOL_CASSANDRA_PASSWORD", "lol_publisher"]),
        (dict(username=None, password=None), ["Set LOL_CASSANDRA_USERNAME and LOL_CASSANDRA_PASSWORD"]),
        (dict(ssl_ca_file=other_ca(tmp_path)), ["LOL_CASSANDRA_SSL_CA_FILE"]),
        (dict(ssl_ca_file=None), ["LOL_CASSANDRA_SSL_CA_FILE"]),
    ]
    for override, names in cases:
        cassandra = secure_cassandra(creds, **override)
        try:
            _refused(cassandra.health_check, *names, f"127.0.0.1:{creds['LOL_CASSANDRA_PORT']}")
        finally:
            cassandra.close()


def test_the_cli_says_what_to_fix_without_a_traceback(secure_stack):
    env = {**os.environ, **secure_stack.credentials, "LOL_KAFKA_PRODUCER_PASSWORD": "wrong"}
    t0 = time.monotonic()
    proc = subprocess.run([str(Path(sys.executable).parent / "lol-platform"), "produce", "--count", "1"], env=env,
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    assert proc.returncode == 1
    assert "LOL_KAFKA_PRODUCER_PASSWORD" in proc.stderr and "Traceback" not in proc.stderr + proc.stdout
    assert time.monotonic() - t0 < 60
