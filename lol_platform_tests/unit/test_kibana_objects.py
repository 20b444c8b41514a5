"""infra/kibana/saved_objects.ndjson: importable shape, the speed layer's index, only fields it really has."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from lol_core import schemas
from lol_platform.resources import ElasticsearchResource

NDJSON = Path(__file__).resolve().parents[2] / "infra" / "kibana" / "saved_objects.ndjson"
STREAM_FIELDS = set(schemas.names(schemas.STREAM_DOCUMENT))
INDEX = ElasticsearchResource().index  # lol_matches_stream


def _objects() -> list[dict]:
    lines = [line for line in NDJSON.read_text().splitlines() if line.strip()]
    return [json.loads(line) for line in lines]


def _by_type(kind: str) -> list[dict]:
    return [o for o in _objects() if o["type"] == kind]


def _query_fields(query: dict) -> set[str]:
    """Fields a KQL query names (`field : value` clauses); `*` names none."""
    return set(re.findall(r"([A-Za-z_][\w.]*)\s*:", query.get("query", "")))


def _fields_used(vis_state: dict) -> set[str]:
    fields = {agg["params"]["field"] for agg in vis_state.get("aggs", []) if "field" in agg.get("params", {})}
    params = vis_state["params"]
    if vis_state["type"] == "metrics":  # TSVB: fields live in the params, not in aggs
        fields |= {params["time_field"]}
        for series in params["series"]:
            fields |= {series[k] for k in ("terms_field", "filter_field") if series.get(k)}
            for metric in series["metrics"]:
                fields |= {metric["field"]} if metric.get("field") else set()
                for side in ("numerator", "denominator"):
                    fields |= _query_fields(metric.get(side, {}))
    return fields


def test_every_line_is_a_json_saved_object_with_a_unique_id():
    lines = NDJSON.read_text().splitlines()
    assert lines and all(line.strip() for line in lines), "no blank lines: Kibana's importer reads one object per line"
    objects = [json.loads(line) for line in lines]
    assert all({"id", "type", "attributes", "references"} <= set(o) for o in objects)
    assert len({(o["type"], o["id"]) for o in objects}) == len(objects)
    assert {o["type"] for o in objects} == {"index-pattern", "visualization", "dashboard"}


def test_the_index_pattern_is_the_speed_layer_index_with_game_creation_as_time():
    (pattern,) = _by_type("index-pattern")
    assert pattern["attributes"]["title"] == INDEX == "lol_matches_stream"
    assert pattern["attributes"]["timeFieldName"] == "game_creation"
    assert "game_creation" in STREAM_FIELDS


@pytest.mark.parametrize("vis", _by_type("visualization"), ids=lambda v: v["id"])
def test_visualizations_read_the_stream_index_and_only_fields_it_has(vis):
    state = json.loads(vis["attributes"]["visState"])
    assert state["title"] == vis["attributes"]["title"]
    used = _fields_used(state)
    assert used, "a visualization that names no field checks nothing"
    assert used <= STREAM_FIELDS, f"fields not in schemas.STREAM_DOCUMENT: {sorted(used - STREAM_FIELDS)}"
    if state["type"] == "metrics":
        assert state["params"]["index_pattern"] == INDEX
    else:
        search = json.loads(vis["attributes"]["kibanaSavedObjectMeta"]["searchSourceJSON"])
        ref = next(r for r in vis["references"] if r["name"] == search["indexRefName"])
        (pattern,) = _by_type("index-pattern")
        assert ref == {"id": pattern["id"], "name": search["indexRefName"], "type": "index-pattern"}


def test_the_dashboard_shows_every_visualization_through_its_references():
    (dashboard,) = _by_type("dashboard")
    panels = json.loads(dashboard["attributes"]["panelsJSON"])
    refs = {r["name"]: r for r in dashboard["references"]}
    assert 2 <= len(panels) <= 4
    assert {p["panelRefName"] for p in panels} == set(refs)
    assert {r["id"] for r in refs.values()} == {v["id"] for v in _by_type("visualization")}
    assert all(r["type"] == "visualization" for r in refs.values())
