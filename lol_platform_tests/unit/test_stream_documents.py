"""Speed-layer documents: one per participant, deterministic ids, the feature formulas of docs/architecture.md."""

from __future__ import annotations

import datetime as dt

import pytest

from lol_core.schemas import FEATURE_FIELDS, STREAM_DOCUMENT, names
from lol_platform.resources.kafka import KafkaMessage
from lol_platform.speed.documents import build_documents
from lol_platform_tests.support.matches import encode, make_match

NOW = dt.datetime(2026, 1, 2, tzinfo=dt.timezone.utc)


def test_one_document_per_participant_with_deterministic_ids_and_every_field():
    msgs = [KafkaMessage("lol_matches", 0, 7, encode(make_match("EUW1_9")), 1_767_225_600_000)]
    batch = build_documents(msgs, NOW)
    assert [d["_id"] for d in batch.documents] == [f"EUW1_9_{i}" for i in range(1, 11)]
    assert set(batch.documents[0]) - {"_id", "_version"} == set(names(STREAM_DOCUMENT))
    assert batch.documents[0]["match_date"] == "2026-01-01" and batch.documents[0]["kafka_offset"] == 7
    assert build_documents(msgs, NOW).documents == batch.documents  # a replay builds the same documents


def test_features_follow_the_design_formulas():
    doc = make_match("EUW1_1", duration_s=1800)
    participant = doc["info"]["participants"][3]  # kills 3, deaths 2, assists 3, gold 9300, team 100
    batch = build_documents([KafkaMessage("t", 0, 0, encode(doc))], NOW)
    d = batch.documents[3]
    team_kills = sum(p["kills"] for p in doc["info"]["participants"][:5])  # 0+1+2+3+4 = 10
    team_damage = sum(p["totalDamageDealtToChampions"] for p in doc["info"]["participants"][:5])
    damage, minutes = participant["totalDamageDealtToChampions"], 1800 / 60
    # The formulas of docs/architecture.md written out here, not taken from lol_core.features: the speed layer's
    # numpy evaluation is checked against the definition, for every feature column.
    expected = {
        "game_minutes": 30.0,
        "kda": (3 + 3) / max(2, 1),
        "gpm": 9300 / minutes,
        "cs_per_min": (150 + 10) / minutes,
        "dpm": damage / minutes,
        "kill_participation": (3 + 3) / team_kills,
        "damage_share": damage / team_damage,
        "vision_per_min": 20 / minutes,
    }
    assert set(expected) == set(names(FEATURE_FIELDS))
    assert {k: d[k] for k in expected} == pytest.approx(expected)


def test_zero_deaths_and_zero_team_kills_do_not_divide_by_zero():
    doc = make_match()
    for p in doc["info"]["participants"]:
        p["kills"], p["deaths"], p["assists"] = 0, 0, 0
    d = build_documents([KafkaMessage("t", 0, 0, encode(doc))], NOW).documents[0]
    assert d["kda"] == 0.0 and d["kill_participation"] == 0.0


def test_bad_messages_become_quarantine_records_and_good_ones_still_index():
    msgs = [KafkaMessage("t", 1, 5, b"not json"), KafkaMessage("t", 1, 6, encode(make_match("EUW1_2")))]
    batch = build_documents(msgs, NOW)
    assert len(batch.documents) == 10
    assert [(q["_id"], q["stage"]) for q in batch.quarantined] == [("t-1-5", "stream")]
    assert batch.quarantined[0]["reason"].startswith("message.not_json: ")
