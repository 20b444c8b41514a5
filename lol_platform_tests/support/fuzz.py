"""Hypothesis strategies that mutate valid Match-V5 documents into what a careless or hostile producer sends."""

from __future__ import annotations

import copy
import datetime as dt
import json

from hypothesis import strategies as st

from lol_platform_tests.support.matches import make_match

UTC = dt.timezone.utc

# Values at the edges of every rule: widths, ranges, types, encodings.
_EDGE_INTS = [0, 1, -1, 10, 30, 31, 59, 60, 14_400, 14_401, 2**15 - 1, 2**15, 2**31 - 1, 2**31, 2**63 - 1, 2**63, 2**64, -(2**63) - 1]
_EDGE_STRINGS = ["", "TOP", "SUPPORT", "EUW1_1", "a" * 65, "\u0000", "\ud800", "é", "../x", "Ahri", " ", "💥" * 3]

json_values = st.recursive(
    st.none() | st.booleans() | st.sampled_from(_EDGE_INTS) | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
    | st.sampled_from(_EDGE_STRINGS) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3),
    max_leaves=6,
)


def _paths(doc, prefix=()):
    """Every path to a value in the document (dict keys and list indexes)."""
    yield prefix
    if isinstance(doc, dict):
        for key, value in doc.items():
            yield from _paths(value, (*prefix, key))
    elif isinstance(doc, list):
        for index, value in enumerate(doc):
            yield from _paths(value, (*prefix, index))


def _apply(doc, path, action, value):
    if not path:
        return value if action == "set" else doc
    parent = doc
    for key in path[:-1]:
        parent = parent[key]
    if action == "set":
        parent[path[-1]] = value
    elif action == "delete":
        del parent[path[-1]]
    return doc


@st.composite
def base_matches(draw, start: dt.date, days: int):
    day = start + dt.timedelta(days=draw(st.integers(0, days - 1)))
    created = dt.datetime.combine(day, dt.time(draw(st.integers(0, 23)), draw(st.integers(0, 59))), UTC)
    match_id = f"FUZZ_{draw(st.integers(0, 10**9))}"
    return make_match(match_id, created, duration_s=draw(st.integers(600, 3000)), winner=draw(st.sampled_from([100, 200])))


_PARTICIPANT_KEYS = ["participantId", "puuid", "riotIdGameName", "championId", "championName", "teamId", "teamPosition",
                     "win", "kills", "deaths", "assists", "goldEarned", "totalMinionsKilled", "neutralMinionsKilled",
                     "totalDamageDealtToChampions", "visionScore", "champLevel"]  # fmt: skip
_INFO_KEYS = ["gameCreation", "gameDuration", "gameVersion", "queueId", "platformId"]
field_values = st.sampled_from(_EDGE_INTS) | st.integers(-5, 500) | st.integers() | json_values


@st.composite
def mutated_messages(draw, start: dt.date, days: int) -> bytes | None:
    """A valid match with 0-3 targeted field edits and 0-2 edits anywhere, then maybe a byte-level one."""
    doc = draw(base_matches(start, days))
    for _ in range(draw(st.integers(0, 3))):
        if draw(st.booleans()):
            path = ("info", "participants", draw(st.integers(0, 9)), draw(st.sampled_from(_PARTICIPANT_KEYS)))
        else:
            path = ("info", draw(st.sampled_from(_INFO_KEYS)))
        doc = _apply(copy.deepcopy(doc), path, "set", draw(field_values))
    for _ in range(draw(st.integers(0, 2))):
        paths = list(_paths(doc))
        path = draw(st.sampled_from(paths))
        action = draw(st.sampled_from(["set", "set", "delete"]))
        if action == "delete" and not path:
            continue
        doc = _apply(copy.deepcopy(doc), path, action, draw(json_values))
    text = json.dumps(doc, ensure_ascii=draw(st.booleans()), allow_nan=False)
    data = text.encode("utf-8", errors="surrogatepass")
    byte_edit = draw(st.sampled_from(["none"] * 12 + ["truncate", "flip", "repeat_key", "tombstone"]))
    if byte_edit == "truncate" and data:
        data = data[: draw(st.integers(0, len(data) - 1))]
    elif byte_edit == "flip" and data:
        at = draw(st.integers(0, len(data) - 1))
        data = data[:at] + bytes([draw(st.integers(0, 255))]) + data[at + 1 :]
    elif byte_edit == "repeat_key" and b'"kills": ' in data:
        data = data.replace(b'"kills": ', b'"kills": 1, "kills": ', 1)
    elif byte_edit == "tombstone":
        return None
    return data
