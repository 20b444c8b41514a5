"""The catalog, read from the code location as the UI shows it: every asset's columns equal its schema-module
table, and every asset says where it lives, who owns it and where its code is."""

from __future__ import annotations

from pathlib import Path

import pytest
from dagster import AssetKey, CodeReferencesMetadataValue, TableSchema

from lol_core import lake_paths, schemas
from lol_platform import catalog
from lol_platform.definitions import defs

# Asset -> its table in the schema module (written here from the map, not from the catalog).
EXPECTED_TABLES = {
    "raw_matches": schemas.RAW_PARTICIPANTS,
    "cleaned_participants": schemas.CLEANED_PARTICIPANTS,
    "champion_stats": schemas.CHAMPION_STATS,
    "position_stats": schemas.POSITION_STATS,
    "match_stream_index": schemas.STREAM_DOCUMENT,
    "lol_quarantine": schemas.QUARANTINE_TABLE,
}


@pytest.fixture(scope="module")
def graph():
    return defs.resolve_asset_graph()


def test_every_asset_is_in_the_catalog(graph):
    assert {k.to_user_string() for k in graph.get_all_asset_keys()} == set(EXPECTED_TABLES)


@pytest.mark.parametrize("asset", sorted(EXPECTED_TABLES))
def test_column_schema_equals_the_schema_module(graph, asset):
    schema = graph.get(AssetKey(asset)).metadata["dagster/column_schema"]
    assert isinstance(schema, TableSchema)
    fields = EXPECTED_TABLES[asset]
    assert [(c.name, c.type, c.constraints.nullable) for c in schema.columns] == [(f.name, f.type, f.nullable) for f in fields]
    documented = {f.name: f.doc for f in fields if f.doc}
    assert {c.name: c.description for c in schema.columns if c.description} == documented


def test_column_rules_are_rendered(graph):
    columns = {c.name: c for c in graph.get(AssetKey("cleaned_participants")).metadata["dagster/column_schema"].columns}
    assert columns["team_position"].constraints.other == ["in " + ", ".join(schemas.POSITIONS)]
    assert columns["kill_participation"].constraints.other == [">= 0", "<= 1"]


@pytest.mark.parametrize("asset", sorted(EXPECTED_TABLES))
def test_each_asset_has_storage_identity_owners_kinds_description_and_code(graph, asset):
    node = graph.get(AssetKey(asset))
    assert node.metadata.get("dagster/uri"), asset
    assert node.owners and all(o.startswith("team:") for o in node.owners)
    assert node.kinds and node.description
    refs = node.metadata["dagster/code_references"]
    assert isinstance(refs, CodeReferencesMetadataValue) and refs.code_references
    for ref in refs.code_references:
        assert Path(ref.file_path).is_file() and ref.line_number >= 1


def test_storage_identity_names_the_lake_path_the_cassandra_table_and_the_index(graph):
    meta = {k.to_user_string(): graph.get(k).metadata for k in graph.get_all_asset_keys()}
    root = catalog.lake_root()
    assert meta["raw_matches"]["dagster/uri"] == lake_paths.join(root, "data/lol_matches")
    assert meta["cleaned_participants"]["dagster/uri"] == lake_paths.join(root, "data/lol_cleaned_participants")
    assert meta["cleaned_participants"]["dagster/relation_identifier"] == "lol_data.match_participants"
    assert meta["champion_stats"]["dagster/relation_identifier"] == "lol_data.champion_stats"
    assert meta["position_stats"]["dagster/relation_identifier"] == "lol_data.position_stats"
    assert meta["match_stream_index"]["dagster/relation_identifier"] == "lol_matches_stream"
    assert meta["match_stream_index"]["dagster/uri"].endswith("/lol_matches_stream")


def test_code_references_become_urls_when_a_code_url_is_set(monkeypatch):
    monkeypatch.setenv("LOL_CODE_URL", "https://git.example/lol/blob/main/")
    refs = catalog.code_references(catalog.TABLES["cleaned_participants"]).code_references
    assert refs[0].url.startswith("https://git.example/lol/blob/main/lol_platform/batch/assets.py#L")
    assert refs[1].url.startswith("https://git.example/lol/blob/main/spark_jobs/cleaning.py#L")


def test_the_quarantine_metadata_counts_by_stage_and_renders_a_table():
    from lol_platform.batch.quarantine import quarantine_metadata
    from spark_jobs.quarantine_counts import QuarantineCount

    meta = quarantine_metadata([QuarantineCount("clean", "match.participants", 9, 1, "2026-01-01"),
                                QuarantineCount("ingest", "message.not_json", 4, 2, "2026-01-02")])  # fmt: skip
    assert meta["dagster/row_count"] == 13 and meta["rows_ingest"].value == 4 and meta["rows_clean"].value == 9
    assert "| ingest | `message.not_json` | 4 | 2 | 2026-01-02 |" in meta["by_stage_and_rule"].value
    assert quarantine_metadata([])["by_stage_and_rule"].value == "Nothing quarantined."
