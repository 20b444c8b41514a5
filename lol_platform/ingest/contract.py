"""The Match-V5 message contract: parse one Kafka message into 10 participant rows, or say why not.

Pure functions, no I/O: the sensor and the speed layer both call `parse_match`.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from lol_platform.schemas import PARTICIPANTS_PER_MATCH, POSITIONS, TEAM_IDS

UTC = dt.timezone.utc


class ContractViolation(ValueError):
    """A message that breaks the contract; `reason` is what the quarantine records."""

    def __init__(self, reason: str, match_id: str | None = None):
        super().__init__(reason)
        self.reason = reason
        self.match_id = match_id


# Riot field -> (row column, accepted Python type). ints must not be bools.
_MATCH_FIELDS = {
    "gameCreation": ("game_creation", int),
    "gameDuration": ("game_duration_s", int),
    "gameVersion": ("game_version", str),
    "queueId": ("queue_id", int),
    "platformId": ("platform_id", str),
}
_PARTICIPANT_INTS = {
    "participantId": "participant_id",
    "championId": "champion_id",
    "teamId": "team_id",
    "kills": "kills",
    "deaths": "deaths",
    "assists": "assists",
    "goldEarned": "gold_earned",
    "totalMinionsKilled": "total_minions_killed",
    "neutralMinionsKilled": "neutral_minions_killed",
    "totalDamageDealtToChampions": "total_damage_dealt_to_champions",
    "visionScore": "vision_score",
    "champLevel": "champ_level",
}
_NON_NEGATIVE = ("kills", "deaths", "assists", "goldEarned", "totalMinionsKilled", "neutralMinionsKilled",
                 "totalDamageDealtToChampions", "visionScore")  # fmt: skip


def _require(obj: dict, key: str, kind: type | tuple, where: str, match_id: str | None) -> Any:
    if key not in obj or obj[key] is None:
        raise ContractViolation(f"missing field {where}{key}", match_id)
    value = obj[key]
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        names = kind.__name__ if isinstance(kind, type) else "/".join(k.__name__ for k in kind)
        raise ContractViolation(f"field {where}{key} is {type(value).__name__}, expected {names}", match_id)
    return value


def match_date_of(game_creation_ms: int) -> dt.date:
    """The partition key: the UTC calendar date of the match."""
    return dt.datetime.fromtimestamp(game_creation_ms / 1000, tz=UTC).date()


def decode(value: bytes | None) -> dict:
    if value is None:
        raise ContractViolation("empty message (tombstone)")
    try:
        doc = json.loads(value)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ContractViolation(f"not valid JSON: {exc}") from None
    if not isinstance(doc, dict):
        raise ContractViolation(f"not a JSON object but {type(doc).__name__}")
    return doc


def parse_match(value: bytes | None) -> list[dict[str, Any]]:
    """Validate one message and flatten it to 10 rows (match fields denormalized). Raises ContractViolation."""
    doc = decode(value)
    metadata = _require(doc, "metadata", dict, "", None)
    match_id = _require(metadata, "matchId", str, "metadata.", None)
    info = _require(doc, "info", dict, "", match_id)
    match = {col: _require(info, key, kind, "info.", match_id) for key, (col, kind) in _MATCH_FIELDS.items()}
    if match["game_duration_s"] <= 0:
        raise ContractViolation(f"info.gameDuration must be positive, got {match['game_duration_s']}", match_id)
    try:
        game_creation = dt.datetime.fromtimestamp(match["game_creation"] / 1000, tz=UTC)
    except (OverflowError, OSError, ValueError):
        raise ContractViolation(f"info.gameCreation {match['game_creation']} is not a valid epoch ms", match_id) from None
    match.update(match_id=match_id, match_date=game_creation.date(), game_creation=game_creation)

    bans = _team_bans(info, match_id)
    participants = _require(info, "participants", list, "info.", match_id)
    if len(participants) != PARTICIPANTS_PER_MATCH:
        raise ContractViolation(f"match has {len(participants)} participants, expected {PARTICIPANTS_PER_MATCH}", match_id)
    rows = [_participant_row(p, i, match, bans, match_id) for i, p in enumerate(participants)]
    _check_match_relations(rows, match_id)
    return rows


def _team_bans(info: dict, match_id: str) -> dict[int, list[int]]:
    bans: dict[int, list[int]] = {team_id: [] for team_id in TEAM_IDS}
    for team in info.get("teams") or []:
        if isinstance(team, dict) and team.get("teamId") in bans:
            bans[team["teamId"]] = [b["championId"] for b in team.get("bans") or []
                                    if isinstance(b, dict) and isinstance(b.get("championId"), int) and b["championId"] > 0]  # fmt: skip
    return bans


def _participant_row(p: Any, index: int, match: dict, bans: dict, match_id: str) -> dict[str, Any]:
    where = f"info.participants[{index}]."
    if not isinstance(p, dict):
        raise ContractViolation(f"{where[:-1]} is not an object", match_id)
    row = dict(match)
    for key, col in _PARTICIPANT_INTS.items():
        row[col] = _require(p, key, int, where, match_id)
    for key in _NON_NEGATIVE:
        if p[key] < 0:
            raise ContractViolation(f"negative stat {where}{key} = {p[key]}", match_id)
    row["puuid"] = _require(p, "puuid", str, where, match_id)
    row["champion_name"] = _require(p, "championName", str, where, match_id)
    row["win"] = _require(p, "win", bool, where, match_id)
    name = p.get("riotIdGameName")
    row["riot_id_game_name"] = name if isinstance(name, str) else None
    position = _require(p, "teamPosition", str, where, match_id)
    if position not in POSITIONS:
        raise ContractViolation(f"unknown position {where}teamPosition = {position!r}", match_id)
    row["team_position"] = position
    if row["team_id"] not in TEAM_IDS:
        raise ContractViolation(f"unknown team {where}teamId = {row['team_id']}", match_id)
    if not 1 <= row["participant_id"] <= PARTICIPANTS_PER_MATCH:
        raise ContractViolation(f"{where}participantId = {row['participant_id']} not in 1..10", match_id)
    row["team_bans"] = bans[row["team_id"]]
    return row


def _check_match_relations(rows: list[dict], match_id: str) -> None:
    ids = [r["participant_id"] for r in rows]
    if len(set(ids)) != len(ids):
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        raise ContractViolation(f"duplicate participant ids {dupes}", match_id)
    for team_id in TEAM_IDS:
        team = [r for r in rows if r["team_id"] == team_id]
        positions = sorted(r["team_position"] for r in team)
        if positions != sorted(POSITIONS):
            raise ContractViolation(f"team {team_id} positions are {positions}, expected each of {list(POSITIONS)} once", match_id)
    winners = {r["team_id"] for r in rows if r["win"]}
    losers = {r["team_id"] for r in rows if not r["win"]}
    if len(winners) != 1 or winners & losers:
        raise ContractViolation(f"expected exactly one winning team, got winners {sorted(winners)}", match_id)
