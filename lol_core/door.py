"""The door: one Kafka message's bytes -> 10 participant rows, or the rule it breaks.

Pure functions, no I/O: the speed layer and `lol-platform validate` call `parse_match` (10 row dicts), the
sensor's landing `parse_match_columns` (the same checks, the match as columns: no row dicts to build and undo).
Whatever the bytes are, both return the match or raise ContractViolation (never anything else), with
a reason from the rulebook (lol_core.rules): what the door accepts, no later gate rejects.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

import orjson

from lol_core import rules
from lol_core.rules import GAME_CREATION_MS, Broken, check_value, rule_id
from lol_core.schemas import MATCH_FIELDS, PARTICIPANT_FIELDS, PARTICIPANTS_PER_MATCH, POSITIONS, TEAM_IDS, Field

UTC = dt.timezone.utc


class ContractViolation(ValueError):
    """A message that breaks the contract; `reason` ("<rule id>: <detail>") is what the quarantine records."""

    def __init__(self, reason: str, match_id: str | None = None):
        super().__init__(reason)
        self.reason = reason
        self.rule = rules.rule_of(reason)
        self.match_id = match_id


_FIELDS = {f.name: f for f in [*MATCH_FIELDS, *PARTICIPANT_FIELDS]}

# Riot key -> row column.
_MATCH_KEYS = {"gameDuration": "game_duration_s", "gameVersion": "game_version", "queueId": "queue_id", "platformId": "platform_id"}
_PARTICIPANT_KEYS = {
    "participantId": "participant_id", "puuid": "puuid", "riotIdGameName": "riot_id_game_name",
    "championId": "champion_id", "championName": "champion_name", "teamId": "team_id", "teamPosition": "team_position",
    "win": "win", "kills": "kills", "deaths": "deaths", "assists": "assists", "goldEarned": "gold_earned",
    "totalMinionsKilled": "total_minions_killed", "neutralMinionsKilled": "neutral_minions_killed",
    "totalDamageDealtToChampions": "total_damage_dealt_to_champions", "visionScore": "vision_score",
    "champLevel": "champ_level",
}  # fmt: skip
_NO_BAN = -1  # Riot's championId for a skipped ban
# (Riot key, column, its fast predicate): a value the predicate passes skips check_value and its error text.
_PARTICIPANT_CHECKS = [(key, col, rules.passes(_FIELDS[col])) for key, col in _PARTICIPANT_KEYS.items()]


def quarantine_text(value: bytes | None) -> str | None:
    """A rejected message's bytes as text, losslessly: UTF-8 as is, anything else as `base64:<...>`."""
    if value is None:
        return None
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        return "base64:" + base64.b64encode(value).decode("ascii")


def _violation(broken: Broken, match_id: str | None) -> ContractViolation:
    return ContractViolation(broken.text(), match_id)


def _fail(rule: str, detail: str, match_id: str | None = None) -> ContractViolation:
    return ContractViolation(rules.reason(rule, detail), match_id)


# -- bytes -> document ------------------------------------------------------------------------------------


def decode(value: bytes | None) -> dict:
    """Strict RFC 8259 parse within the door's limits; the document must be a JSON object."""
    if value is None:
        raise _fail("message.empty", "no value (tombstone)")
    if len(value) > rules.MAX_MESSAGE_BYTES:
        raise _fail("message.too_large", f"{len(value)} bytes, at most {rules.MAX_MESSAGE_BYTES}")
    try:
        doc = orjson.loads(value)
    except orjson.JSONDecodeError as exc:
        raise _parse_error(str(exc)) from None
    if not isinstance(doc, dict):
        raise _fail("message.not_object", f"a JSON {type(doc).__name__}")
    _reject_duplicate_keys(value, doc)
    return doc


def _parse_error(message: str) -> ContractViolation:
    text = message[:200]
    if "depth limit" in message or "recursion" in message:
        return _fail("message.too_deep", f"more than {rules.MAX_NESTING_DEPTH} levels")
    if "UTF-8" in message or "surrogate" in message:
        return _fail("message.encoding", text)
    return _fail("message.not_json", text)


def _reject_duplicate_keys(value: bytes, doc: dict) -> None:
    """orjson keeps the last of repeated keys silently. Every key owns exactly one ':' outside strings and
    strings keep their ':' when re-encoded, so re-encoding loses colons exactly when a key was dropped;
    only a \\u003a escape (a ':' spelled as an escape) breaks that count, and then the slow exact parse runs."""
    if b"\\u003" not in value and orjson.dumps(doc).count(b":") == value.count(b":"):
        return
    try:
        json.loads(value, object_pairs_hook=_unique_keys)
    except _DuplicateKey as exc:
        raise _fail("message.duplicate_key", f"key {str(exc)[:64]!r} repeated in one object") from None
    except RecursionError:
        raise _fail("message.too_deep", "too deep to check for repeated keys") from None


class _DuplicateKey(ValueError):
    pass


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict:
    out = dict(pairs)
    if len(out) != len(pairs):
        seen: set[str] = set()
        raise _DuplicateKey(next(k for k, _ in pairs if k in seen or seen.add(k)))
    return out


# -- document -> rows ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ParsedMatch:
    """One valid match: its match fields once, and each participant field as a column of 10 (document order)."""

    match: dict[str, Any]
    participants: dict[str, list]

    def rows(self) -> list[dict[str, Any]]:
        """The 10 rows, match fields denormalized (columns in the order of the schema module's lists)."""
        names, rows = list(self.participants), []
        for values in zip(*self.participants.values()):
            row = self.match.copy()
            row.update(zip(names, values))  # a quarter faster than merging two dicts
            rows.append(row)
        return rows


def parse_match(value: bytes | None, date_window: tuple[dt.date, dt.date] | None = None) -> list[dict[str, Any]]:
    """Validate one message and flatten it to 10 rows (match fields denormalized). Raises ContractViolation.

    `date_window` (first, last) bounds the match dates that have a partition.
    """
    return parse_match_columns(value, date_window).rows()


def parse_match_columns(value: bytes | None, date_window: tuple[dt.date, dt.date] | None = None) -> ParsedMatch:
    """parse_match's checks, the match kept as columns. Raises ContractViolation."""
    doc = decode(value)
    metadata = _object(doc, "metadata", None)
    match_id = _value(_FIELDS["match_id"], metadata.get("matchId"), "metadata.matchId", None)
    info = _object(doc, "info", match_id)
    match = {col: _value(_FIELDS[col], info.get(key), f"info.{key}", match_id) for key, col in _MATCH_KEYS.items()}
    creation_ms = _value(GAME_CREATION_MS, info.get("gameCreation"), "info.gameCreation", match_id)
    game_creation = dt.datetime.fromtimestamp(creation_ms / 1000, tz=UTC)
    match.update(match_id=match_id, match_date=game_creation.date(), game_creation=game_creation)
    if date_window and not date_window[0] <= match["match_date"] <= date_window[1]:
        raise _fail("match.date_window", f"match date {match['match_date']} outside {date_window[0]}..{date_window[1]} (LOL_PARTITIONS_START)", match_id)

    bans = _team_bans(info, match_id)
    participants = info.get("participants")
    if not isinstance(participants, list):
        raise _fail("match.participants", f"info.participants is {type(participants).__name__}, expected a list", match_id)
    if len(participants) != PARTICIPANTS_PER_MATCH:
        raise _fail("match.participants", f"{len(participants)} participants, expected {PARTICIPANTS_PER_MATCH}", match_id)
    columns = _checked_columns(participants) or _columns_row_by_row(participants, match_id)
    columns["team_bans"] = [bans[team_id] for team_id in columns["team_id"]]
    _check_match_rules(columns, match_id)
    return ParsedMatch(match, columns)


def _object(parent: dict, key: str, match_id: str | None) -> dict:
    value = parent.get(key)
    if not isinstance(value, dict):
        raise _fail("message.shape", f"{key} is {'missing' if value is None else type(value).__name__}, expected an object", match_id)
    return value


def _value(field: Field, value: Any, where: str, match_id: str | None) -> Any:
    broken = check_value(field, value, where)
    if broken:
        raise _violation(broken, match_id)
    return value


def _team_bans(info: dict, match_id: str) -> dict[int, list[int]]:
    """Champion ids banned per team (Riot's -1, a skipped ban, is left out); `teams` itself is optional."""
    bans: dict[int, list[int]] = {team_id: [] for team_id in TEAM_IDS}
    teams = info.get("teams")
    if teams is None:
        return bans
    if not isinstance(teams, list) or len(teams) > len(TEAM_IDS):
        raise _fail("message.shape", "info.teams is not a list of at most 2 teams", match_id)
    for i, team in enumerate(teams):
        where = f"info.teams[{i}]"
        if not isinstance(team, dict):
            raise _fail("message.shape", f"{where} is not an object", match_id)
        team_id = _value(_FIELDS["team_id"], team.get("teamId"), f"{where}.teamId", match_id)
        if any(isinstance(t, dict) and t.get("teamId") == team_id for t in teams[:i]):
            raise _fail("message.shape", f"{where}.teamId {team_id} repeated", match_id)
        raw = team.get("bans") or []
        if not isinstance(raw, list) or not all(isinstance(b, dict) for b in raw):
            raise _fail(rule_id("team_bans", "type"), f"{where}.bans is not a list of objects", match_id)
        ids = [b.get("championId") for b in raw]
        bans[team_id] = _value(_FIELDS["team_bans"], [c for c in ids if c != _NO_BAN], f"{where}.bans[].championId", match_id)
    return bans


def _checked_columns(participants: list) -> dict[str, list] | None:
    """The participant fields as columns when every value keeps its rules, else None (then _columns_row_by_row
    names the first broken value in document order, the reason a multi-fault message has always carried)."""
    if not all(isinstance(p, dict) for p in participants):
        return None
    columns = {col: [p.get(key) for p in participants] for key, col, _ in _PARTICIPANT_CHECKS}
    for _, col, passes in _PARTICIPANT_CHECKS:
        values = columns[col]
        # passes() decides most values; the rest (non-ASCII names, ...) go the full way, as row by row.
        if not all(map(passes, values)) and any(check_value(_FIELDS[col], v, "") for v in values):
            return None
    return columns


def _columns_row_by_row(participants: list, match_id: str) -> dict[str, list]:
    columns: dict[str, list] = {col: [] for _, col, _ in _PARTICIPANT_CHECKS}
    for index, p in enumerate(participants):
        where = f"info.participants[{index}]"
        if not isinstance(p, dict):
            raise _fail("message.shape", f"{where} is not an object", match_id)
        for key, col, passes in _PARTICIPANT_CHECKS:
            value = p.get(key)
            columns[col].append(value if passes(value) else _value(_FIELDS[col], value, f"{where}.{key}", match_id))
    return columns


def _check_match_rules(columns: dict[str, list], match_id: str) -> None:
    ids, kills, assists = columns["participant_id"], columns["kills"], columns["assists"]
    if len(set(ids)) != len(ids):
        raise _fail("match.participants", f"participant ids {sorted({i for i in ids if ids.count(i) > 1})} repeated", match_id)
    winners = set()
    for team_id in TEAM_IDS:
        team = [i for i, t in enumerate(columns["team_id"]) if t == team_id]  # row indexes
        if len(team) != PARTICIPANTS_PER_MATCH // 2:
            raise _fail("match.team_size", f"team {team_id} has {len(team)} participants", match_id)
        positions = sorted(columns["team_position"][i] for i in team)
        if positions != sorted(POSITIONS):
            raise _fail("match.positions", f"team {team_id} positions are {positions}", match_id)
        wins = {columns["win"][i] for i in team}
        if len(wins) != 1:
            raise _fail("match.winner", f"team {team_id} has mixed win flags", match_id)
        if wins == {True}:
            winners.add(team_id)
        team_kills = sum(kills[i] for i in team)
        for i in team:
            if kills[i] + assists[i] > team_kills:
                raise _fail("match.kill_participation", f"participant {ids[i]} kills + assists "
                            f"{kills[i] + assists[i]} > team kills {team_kills}", match_id)  # fmt: skip
    if len(winners) != 1:
        raise _fail("match.winner", f"{len(winners)} winning teams", match_id)
