"""The door's fast predicates (rules.passes) never accept a value the full rules (check_value) refuse."""

from __future__ import annotations

import itertools

import pytest

from lol_core.rules import GAME_CREATION_MS, check_value, passes
from lol_core.schemas import MATCH_FIELDS, PARTICIPANT_FIELDS

FIELDS = [*MATCH_FIELDS, *PARTICIPANT_FIELDS, GAME_CREATION_MS]

# What a careful attacker would put in any field, plus each field's own edges (below).
HOSTILE = [None, True, False, 0, 1, -1, 2**15, 2**31, 2**63, -(2**63) - 1, 10**30, 0.0, 1.5, float("nan"), float("inf"),
           "", "x", "ADC", "TOP", "MIDDLE", "UTILITY", "JUNGLE", "BOTTOM", "EUW1_123", "NA1_9", "\ud800", "é", "a" * 10_000,
           "1", "12.3", "0" * 100, [], [1], {}, b"bytes"]  # fmt: skip


def _edges(field) -> list:
    values = []
    for bound in (field.ge, field.le):
        if bound is not None:
            values += [bound, bound - 1, bound + 1, int(bound), int(bound) - 1, int(bound) + 1]
    values += list(field.isin or ())
    if field.max_len:
        values += ["a" * field.max_len, "a" * (field.max_len + 1)]
    return values


@pytest.mark.parametrize("field", FIELDS, ids=lambda f: f.name)
def test_a_value_the_fast_path_passes_breaks_no_rule(field):
    ok = passes(field)
    accepted = 0
    for value in itertools.chain(HOSTILE, _edges(field)):
        if ok(value):
            accepted += 1
            assert check_value(field, value, "x") is None, (field.name, value)
    # The fast path must also do its job: some valid value of every scalar field takes it.
    if field.type != "list<int32>" and (field.isin or field.type in ("bool", "int16", "int32", "int64")):
        assert accepted > 0, field.name


def test_the_generator_s_matches_take_the_fast_path_for_every_ascii_participant_value():
    import datetime as dt

    from lol_core import door
    from lol_platform.devtools.generator import MatchGenerator

    for match in MatchGenerator(seed=1, start_date=dt.date(2026, 1, 1)).matches(50):
        for p in match["info"]["participants"]:
            for key, _, ok in door._PARTICIPANT_CHECKS:
                value = p.get(key)
                # Non-ASCII text goes the full way (its UTF-8 check); everything else is decided fast.
                assert ok(value) or (isinstance(value, str) and not value.isascii()), (key, value)
