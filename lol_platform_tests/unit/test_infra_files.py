"""The files under infra/ agree with the schema module and the resources' defaults."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import yaml

from lol_core import schemas
from lol_platform.resources import CassandraResource, ElasticsearchResource, KafkaResource, LakeResource
from lol_platform.resources.cassandra import cql_statements
from lol_stack import StackConfig

INFRA = Path(__file__).resolve().parents[2] / "infra"


def _cql_tables() -> dict[str, dict]:
    tables = {}
    for stmt in cql_statements((INFRA / "cassandra" / "schema.cql").read_text()):
        m = re.match(r"CREATE TABLE IF NOT EXISTS lol_data\.(\w+) \((.*)\)", stmt, re.S)
        if not m:
            continue
        body = m[2]
        columns = dict(re.findall(r"^\s*(\w+) ([\w<>]+),?$", body, re.M))
        key = re.search(r"PRIMARY KEY \((.*)\)", body)[1]
        tables[m[1]] = {"columns": columns, "key": key}
    return tables


def test_cql_tables_have_exactly_the_schema_module_columns_and_types():
    tables = _cql_tables()
    expected = {
        "match_participants": schemas.CLEANED_PARTICIPANTS,
        "champion_stats": schemas.CHAMPION_STATS,
        "position_stats": schemas.POSITION_STATS,
        "date_summary": schemas.DATE_SUMMARY,
    }
    for table, fields in expected.items():
        assert tables[table]["columns"] == {f.name: schemas.CQL_TYPES[f.type] for f in fields}, table


def test_cql_keys_are_the_ones_other_systems_query_by():
    tables = _cql_tables()
    assert tables["match_participants"]["key"] == "(match_date, match_id), participant_id"
    assert tables["champion_stats"]["key"] == "(stat_date), champion_name"
    assert tables["position_stats"]["key"] == "(stat_date), position"
    assert tables["date_summary"]["key"] == "(match_date), table_name"  # a date's counts: one partition
    stats_columns = {"games_played", "win_rate", "avg_kda", "avg_gpm"}
    assert stats_columns <= set(tables["champion_stats"]["columns"]) and stats_columns <= set(tables["position_stats"]["columns"])


def test_es_template_maps_every_stream_field_with_an_explicit_type():
    template = json.loads((INFRA / "elasticsearch" / "lol_matches_stream.template.json").read_text())
    assert template["index_patterns"] == ["lol_matches_stream"]
    mappings = template["template"]["mappings"]
    props = mappings["properties"]
    assert mappings["dynamic"] == "strict"
    assert set(props) == set(schemas.names(schemas.STREAM_DOCUMENT))
    for f in schemas.STREAM_DOCUMENT:
        assert props[f.name]["type"] in (schemas.ES_TYPES[f.type], "text"), f.name
    assert props["riot_id_game_name"]["type"] == "text" and props["champion_name"]["type"] == "keyword"
    assert props["game_creation"]["type"] == "date"


def _pom_version(service: str, artifact: str) -> str:
    """The version infra/poms/<service>/pom.xml resolves for an artifact (Maven properties substituted)."""
    root = ET.parse(INFRA / "poms" / service / "pom.xml").getroot()
    ns = {"m": root.tag.split("}")[0].strip("{")} if root.tag.startswith("{") else {"m": ""}
    q = (lambda tag: f"m:{tag}") if ns["m"] else (lambda tag: tag)
    properties = {child.tag.split("}")[-1]: child.text for child in root.findall(q("properties") + "/*", ns)}
    for dep in root.iter(f"{{{ns['m']}}}dependency" if ns["m"] else "dependency"):
        if dep.find(q("artifactId"), ns).text == artifact:
            version = dep.find(q("version"), ns).text
            return re.sub(r"\$\{([^}]+)\}", lambda m: properties[m.group(1)], version)
    raise AssertionError(f"{artifact} is not a dependency of infra/poms/{service}/pom.xml")


def test_compose_file_parses_and_publishes_the_resources_default_ports():
    compose = yaml.safe_load((INFRA / "docker-compose.yml").read_text())
    services = compose["services"]
    published = {
        int(p.split(":")[-1]) for svc in services.values() for p in svc.get("ports", [])
    }
    config = StackConfig()
    assert KafkaResource().bootstrap_servers == f"127.0.0.1:{config.kafka_port}" and config.kafka_port in published
    assert LakeResource(root="hdfs://127.0.0.1:8020").webhdfs_port == config.namenode_http_port in published
    assert config.namenode_rpc_port in published and config.datanode_port in published
    assert CassandraResource().port == config.cassandra_port in published
    assert ElasticsearchResource().url == f"http://127.0.0.1:{config.elasticsearch_port}" and config.elasticsearch_port in published
    assert {"kafka", "namenode", "datanode", "cassandra", "elasticsearch", "kibana", "dagster-webserver", "dagster-daemon"} <= set(services)
    # Docker users run the versions the tests run: each image's tag is the version the launcher's pom resolves.
    tags = {name: svc["image"].rsplit(":", 1)[1] for name, svc in services.items() if "image" in svc}
    assert tags["kafka"] == _pom_version("kafka", "kafka_2.13")
    assert tags["namenode"] == tags["datanode"] == _pom_version("hdfs", "hadoop-hdfs")
    assert tags["cassandra"] == _pom_version("cassandra", "cassandra-all")
    assert tags["elasticsearch"] == tags["kibana"] == _pom_version("elasticsearch", "elasticsearch")
    assert services["kafka"]["environment"]["KAFKA_PROCESS_ROLES"] == "broker,controller"  # KRaft, no ZooKeeper
    env = compose["x-dagster-env"]
    assert env["LOL_CASSANDRA_PORT"] == str(config.cassandra_port)
    # The batch assets run on the compose file's Spark master and worker, on the launcher's default ports.
    assert {"spark-master", "spark-worker"} <= set(services)
    assert config.spark_master_port in published and config.spark_master_ui_port in published
    assert env["LOL_SPARK_MASTER"] == f"spark://spark-master:{config.spark_master_port}"
    assert env["LOL_SPARK_PYTHON_ENV"] and env["LOL_SPARK_DRIVER_HOST"] == services["dagster-daemon"]["hostname"]
    assert services["spark-worker"]["command"][-1] == env["LOL_SPARK_MASTER"]
