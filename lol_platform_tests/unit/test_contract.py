"""The Match-V5 contract: good matches flatten to 10 rows, every kind of bad one says why."""

from __future__ import annotations

import datetime as dt

import pytest

from lol_core.door import ContractViolation, parse_match
from lol_core.rules import rulebook
from lol_core.schemas import RAW_PARTICIPANTS, LINEAGE_FIELDS, names
from lol_platform_tests.support.matches import encode, make_match, malformed_messages


WINDOW = (dt.date(2025, 1, 1), dt.date(2026, 12, 31))


def test_a_match_flattens_to_ten_rows_with_match_fields_denormalized():
    rows = parse_match(encode(make_match("EUW1_42", dt.datetime(2026, 3, 4, 23, 59, tzinfo=dt.timezone.utc))))
    assert len(rows) == 10
    assert {r["match_id"] for r in rows} == {"EUW1_42"}
    assert {r["match_date"] for r in rows} == {dt.date(2026, 3, 4)}
    assert [r["participant_id"] for r in rows] == list(range(1, 11))
    assert rows[0]["team_bans"] == [50, 51, 52, 53, 54] and rows[9]["team_bans"] == [60, 61, 62, 63, 64]
    expected_columns = set(names(RAW_PARTICIPANTS)) - set(names(LINEAGE_FIELDS))
    assert set(rows[0]) == expected_columns


def test_the_partition_date_is_the_utc_date_of_game_creation_not_local_time():
    just_after_midnight_utc = dt.datetime(2026, 3, 5, 0, 0, 1, tzinfo=dt.timezone.utc)
    assert parse_match(encode(make_match(created=just_after_midnight_utc)))[0]["match_date"] == dt.date(2026, 3, 5)


@pytest.mark.parametrize("kind", list(malformed_messages(make_match())))
def test_each_kind_of_bad_message_is_rejected_with_its_rule(kind):
    message, rule = malformed_messages(make_match())[kind]
    with pytest.raises(ContractViolation) as info:
        parse_match(message, WINDOW)
    assert info.value.rule == rule, info.value.reason
    assert rule in rulebook(RAW_PARTICIPANTS)


def test_a_rejection_carries_the_match_id_when_it_is_known():
    message, _ = malformed_messages(make_match("EUW1_7"))["negative stat"]
    assert parse_match(encode(make_match("EUW1_7")), WINDOW)  # the unbroken match passes
    with pytest.raises(ContractViolation) as info:
        parse_match(message)
    assert info.value.match_id == "EUW1_7"


def test_an_empty_message_is_rejected():
    with pytest.raises(ContractViolation, match="message.empty"):
        parse_match(None)


def test_docs_rulebook_lists_every_rule_of_the_door():
    from pathlib import Path

    from lol_core.rules import rulebook_markdown

    assert Path(__file__).parents[2].joinpath("docs/rulebook.md").read_text() == rulebook_markdown(RAW_PARTICIPANTS), (
        "docs/rulebook.md is stale: regenerate it with rulebook_markdown(RAW_PARTICIPANTS)"
    )
