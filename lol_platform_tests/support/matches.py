"""Hand-made Match-V5 documents for tests: small, explicit, and easy to break on purpose."""

from __future__ import annotations

import copy
import datetime as dt
import json

POSITIONS = ["TOP", "JUNGLE", "MIDDLE", "BOTTOM", "UTILITY"]


def make_match(match_id: str = "EUW1_1", created: dt.datetime = dt.datetime(2026, 1, 1, 12, tzinfo=dt.timezone.utc),
               duration_s: int = 1800, winner: int = 100) -> dict:  # fmt: skip
    participants = []
    for i in range(10):
        team = 100 if i < 5 else 200
        participants.append({
            "participantId": i + 1, "puuid": f"puuid-{match_id}-{i}", "riotIdGameName": f"player{i}",
            "championId": i + 1, "championName": f"Champ{i + 1}", "teamId": team,
            "teamPosition": POSITIONS[i % 5], "win": team == winner,
            "kills": i, "deaths": 2, "assists": 3, "goldEarned": 9000 + 100 * i,
            "totalMinionsKilled": 150, "neutralMinionsKilled": 10, "totalDamageDealtToChampions": 15000 + i,
            "visionScore": 20, "champLevel": 15,
        })  # fmt: skip
    return {
        "metadata": {"matchId": match_id, "participants": [p["puuid"] for p in participants]},
        "info": {
            "gameCreation": int(created.timestamp() * 1000), "gameDuration": duration_s,
            "gameVersion": "14.23.1", "queueId": 420, "platformId": "EUW1",
            "teams": [
                {"teamId": 100, "win": winner == 100, "bans": [{"championId": 50 + k, "pickTurn": k} for k in range(5)]},
                {"teamId": 200, "win": winner == 200, "bans": [{"championId": 60 + k, "pickTurn": k} for k in range(5)]},
            ],
            "participants": participants,
        },
    }  # fmt: skip


def encode(doc: dict) -> bytes:
    return json.dumps(doc).encode()


def broken(doc: dict, mutate) -> bytes:
    doc = copy.deepcopy(doc)
    mutate(doc)
    return encode(doc)


def _set(path: list, value):
    def mutate(doc):
        target = doc
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value

    return mutate


def _delete(path: list):
    def mutate(doc):
        target = doc
        for key in path[:-1]:
            target = target[key]
        del target[path[-1]]

    return mutate


def _participant(i: int, key: str, value):
    return _set(["info", "participants", i, key], value)


def _drop_participant(doc):
    doc["info"]["participants"].pop()


def _add_participant(doc):
    doc["info"]["participants"].append(copy.deepcopy(doc["info"]["participants"][0]))


def _duplicate_participant(doc):
    doc["info"]["participants"][9]["participantId"] = 1


def _two_winners(doc):
    for p in doc["info"]["participants"]:
        p["win"] = True


def _mixed_win_flags(doc):
    doc["info"]["participants"][0]["win"] = not doc["info"]["participants"][0]["win"]


def _six_a_side(doc):
    doc["info"]["participants"][9]["teamId"] = 100


def _duplicate_position(doc):
    doc["info"]["participants"][1]["teamPosition"] = doc["info"]["participants"][0]["teamPosition"]


def _too_many_bans(doc):
    doc["info"]["teams"][0]["bans"].append({"championId": 99, "pickTurn": 6})


def _three_teams(doc):
    doc["info"]["teams"].append(copy.deepcopy(doc["info"]["teams"][0]))


def _created(when: dt.datetime):
    return _set(["info", "gameCreation"], int(when.timestamp() * 1000))


def _raw_replace(doc: dict, old: str, new: str) -> bytes:
    """Edit the encoded bytes: for what json.dumps cannot produce (repeated keys, invalid bytes)."""
    text = encode(doc)
    assert old.encode() in text, old
    return text.replace(old.encode(), new.encode(), 1)


_KILLS_MARK = 987_654_321  # a value no generated match holds, so the edit lands in participant 3's own "kills"


def _participant_kills_text(doc: dict, text: str) -> bytes:
    """`"kills": 0` would also match the teams' objectives (`"baron": {"kills": 0}`), fields the door does not
    read: edited there, the message is a valid match. Mark participant 3's kills, then edit the mark."""
    marked = copy.deepcopy(doc)
    marked["info"]["participants"][3]["kills"] = _KILLS_MARK
    return _raw_replace(marked, f'"kills": {_KILLS_MARK}', text)


# Every kind of bad message the door must quarantine: name -> (message bytes, the rule it breaks).
# What a careful attacker would send, not only what a generator makes.
def malformed_messages(base: dict) -> dict[str, tuple[bytes | None, str]]:
    first = base["info"]["participants"][0]
    return {
        # bytes that are not a match document
        "tombstone": (None, "message.empty"),
        "empty bytes": (b"", "message.not_json"),
        "not json": (b"{this is not json", "message.not_json"),
        "not an object": (b"[1, 2, 3]", "message.not_object"),
        "json null": (b"null", "message.not_object"),
        "json string": (b'"EUW1_1"', "message.not_object"),
        "nested 5000 deep": (b'{"a":' * 5000 + b"1" + b"}" * 5000, "message.too_deep"),
        "array nested 100000 deep": (b"[" * 100_000 + b"]" * 100_000, "message.too_deep"),
        "over 1 MiB": (encode({**base, "padding": "x" * (1 << 20)}), "message.too_large"),
        "invalid utf-8": (_raw_replace(base, first["championName"], "Ahri\xff") .replace(b"Ahri\xc3\xbf", b"Ahri\xff"), "message.encoding"),
        "lone surrogate escape": (_raw_replace(base, f'"{first["championName"]}"', '"\\ud800"'), "message.encoding"),
        "utf-8 byte order mark": (b"\xef\xbb\xbf" + encode(base), "message.encoding"),
        "NaN literal": (_participant_kills_text(base, '"kills": NaN'), "message.not_json"),
        "number overflowing a double": (_participant_kills_text(base, '"kills": 1e999'), "message.not_json"),
        "repeated top-level key": (_raw_replace(base, '{"metadata": ', '{"metadata": {}, "metadata": '), "message.duplicate_key"),
        "repeated participant key": (_participant_kills_text(base, '"kills": 0, "kills": 3'), "message.duplicate_key"),
        "repeated key behind a \\u003a escape": (
            _participant_kills_text(base, '"kills": 0, "riot\\u003a": 1, "kills": 3'), "message.duplicate_key"),
        # shape
        "metadata not an object": (broken(base, _set(["metadata"], ["EUW1_1"])), "message.shape"),
        "info missing": (broken(base, _delete(["info"])), "message.shape"),
        "participants not a list": (broken(base, _set(["info", "participants"], {"0": first})), "match.participants"),
        "participant not an object": (broken(base, _set(["info", "participants", 4], "Teemo")), "message.shape"),
        "three teams": (broken(base, _three_teams), "message.shape"),
        # field rules: missing, type, width, range, allowed, length, pattern
        "missing field": (broken(base, _delete(["info", "gameDuration"])), "game_duration_s.missing"),
        "null field": (broken(base, _participant(3, "puuid", None)), "puuid.missing"),
        "mistyped field": (broken(base, _participant(3, "kills", "seven")), "kills.type"),
        "bool as int": (broken(base, _participant(3, "kills", True)), "kills.type"),
        "fraction as int": (broken(base, _participant(3, "kills", 3.5)), "kills.type"),
        "int beyond 64 bits": (_participant_kills_text(base, '"kills": 99999999999999999999999'), "kills.type"),
        "goldEarned beyond int32": (broken(base, _participant(2, "goldEarned", 2**31)), "gold_earned.width"),
        "champLevel beyond int16": (broken(base, _participant(2, "champLevel", 40_000)), "champ_level.width"),
        "champLevel above 30": (broken(base, _participant(2, "champLevel", 31)), "champ_level.max"),
        "gameDuration under a minute": (broken(base, _set(["info", "gameDuration"], 30)), "game_duration_s.min"),
        "gameDuration over 4 hours": (broken(base, _set(["info", "gameDuration"], 20_000)), "game_duration_s.max"),
        "championId 0": (broken(base, _participant(5, "championId", 0)), "champion_id.min"),
        "negative queueId": (broken(base, _set(["info", "queueId"], -1)), "queue_id.min"),
        "negative stat": (broken(base, _participant(2, "deaths", -1)), "deaths.min"),
        "gameCreation negative": (broken(base, _set(["info", "gameCreation"], -5)), "game_creation.min"),
        "gameCreation as text": (broken(base, _set(["info", "gameCreation"], "2026-01-01")), "game_creation.type"),
        "unknown position": (broken(base, _participant(0, "teamPosition", "SUPPORT")), "team_position.allowed"),
        "unknown team": (broken(base, _participant(6, "teamId", 300)), "team_id.allowed"),
        "matchId too long": (broken(base, _set(["metadata", "matchId"], "EUW1_" + "9" * 100)), "match_id.length"),
        "matchId empty": (broken(base, _set(["metadata", "matchId"], "")), "match_id.length"),
        "matchId path traversal": (broken(base, _set(["metadata", "matchId"], "../../etc/passwd")), "match_id.pattern"),
        "matchId as number": (broken(base, _set(["metadata", "matchId"], 6000001)), "match_id.type"),
        "puuid with a newline": (broken(base, _participant(1, "puuid", "abc\ndef")), "puuid.pattern"),
        "championName with NUL": (broken(base, _participant(1, "championName", "Ahri\u0000")), "champion_name.pattern"),
        "platformId injection": (broken(base, _set(["info", "platformId"], "EUW1';DROP--")), "platform_id.pattern"),
        "100 kB player name": (broken(base, _participant(1, "riotIdGameName", "n" * 100_000)), "riot_id_game_name.length"),
        "ban id as text": (broken(base, _set(["info", "teams", 0, "bans", 0, "championId"], "Ahri")), "team_bans.type"),
        "six bans a team": (broken(base, _too_many_bans), "team_bans.length"),
        # match rules
        "not 10 participants": (broken(base, _drop_participant), "match.participants"),
        "11 participants": (broken(base, _add_participant), "match.participants"),
        "duplicate participant": (broken(base, _duplicate_participant), "match.participants"),
        "six a side": (broken(base, _six_a_side), "match.team_size"),
        "a position twice in a team": (broken(base, _duplicate_position), "match.positions"),
        "two winning teams": (broken(base, _two_winners), "match.winner"),
        "mixed win flags": (broken(base, _mixed_win_flags), "match.winner"),
        "kill participation above 1": (broken(base, _participant(0, "assists", 500)), "match.kill_participation"),
        "dated in the year 3000": (broken(base, _created(dt.datetime(3000, 1, 1, tzinfo=dt.timezone.utc))), "match.date_window"),
        "dated before the partitions": (broken(base, _created(dt.datetime(2001, 1, 1, tzinfo=dt.timezone.utc))), "match.date_window"),
    }  # fmt: skip


KAFKA_DEFAULT_MAX_BYTES = 1_000_000


def sendable_on_default_topic(corpus: dict[str, tuple[bytes | None, str]]) -> dict[str, tuple[bytes | None, str]]:
    """The corpus minus what a default-configured Kafka refuses itself (over ~1 MB); test_hostile_input sends
    those on a topic configured to take them, so the door is what refuses them there."""
    return {k: v for k, v in corpus.items() if v[0] is None or len(v[0]) < KAFKA_DEFAULT_MAX_BYTES}
