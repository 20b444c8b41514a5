"""Speed-layer documents: one per participant, deterministic ids, the feature formulas of docs/architecture.md."""

from __future__ import annotations

import datetime as dt

import pytest

from lol_core.features import PythonOps, feature_columns
from lol_core.schemas import STREAM_DOCUMENT, names
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
    assert d["kda"] == pytest.approx((3 + 3) / 2)
    assert d["gpm"] == pytest.approx(9300 / 30)
    assert d["cs_per_min"] == pytest.approx(160 / 30)
    assert d["kill_participation"] == pytest.approx(6 / team_kills)
    team_damage = sum(p["totalDamageDealtToChampions"] for p in doc["info"]["participants"][:5])
    assert d["damage_share"] == pytest.approx(participant["totalDamageDealtToChampions"] / team_damage)
    expected = feature_columns({
        "game_duration_s": 1800, "kills": 3, "deaths": 2, "assists": 3, "gold_earned": 9300,
        "total_minions_killed": 150, "neutral_minions_killed": 10, "total_damage_dealt_to_champions": 15003,
        "vision_score": 20, "team_kills": team_kills, "team_damage": team_damage}, PythonOps())  # fmt: skip
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
