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


def _drop_participant(doc):
    doc["info"]["participants"].pop()


def _duplicate_participant(doc):
    doc["info"]["participants"][9]["participantId"] = 1


def _two_winners(doc):
    for p in doc["info"]["participants"]:
        p["win"] = True


# Every kind of bad message the contract must quarantine: name -> (message bytes, expected reason fragment)
def malformed_messages(base: dict) -> dict[str, tuple[bytes, str]]:
    return {
        "not json": (b"{this is not json", "not valid JSON"),
        "not an object": (b"[1, 2, 3]", "not a JSON object"),
        "missing field": (broken(base, _delete(["info", "gameDuration"])), "missing field info.gameDuration"),
        "mistyped field": (broken(base, _set(["info", "participants", 3, "kills"], "seven")), "kills is str, expected int"),
        "not 10 participants": (broken(base, _drop_participant), "match has 9 participants"),
        "duplicate participant": (broken(base, _duplicate_participant), "duplicate participant ids [1]"),
        "unknown position": (broken(base, _set(["info", "participants", 0, "teamPosition"], "SUPPORT")), "unknown position"),
        "negative stat": (broken(base, _set(["info", "participants", 2, "deaths"], -1)), "negative stat"),
        "two winning teams": (broken(base, _two_winners), "exactly one winning team"),
    }
