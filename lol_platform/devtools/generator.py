"""Synthetic but realistic Riot Match-V5 match documents, fast and deterministic.

    gen = MatchGenerator(seed=7, start_date=date(2024, 11, 20), days=3)
    for match in gen.matches(1000):
        producer.produce("lol_matches", key=key(match), value=encode(match))

Every document is a plain JSON-serialisable dict in Riot's Match-V5 shape (docs/architecture.md, "Data
contract"). The rules a document always keeps:

- each team (100, 200) fields TOP, JUNGLE, MIDDLE, BOTTOM, UTILITY exactly once; no champion twice;
  5 bans per team, 10 distinct bans, none of them picked;
- exactly one team wins and every participant's `win` agrees with its team;
- a team's kills equal its `objectives.champion.kills`; a team's deaths equal the enemy's kills plus
  a rare execution (turret or minion kill, at most one per team);
- (kills + assists) of a participant never exceed the team's kills (kill participation <= 1);
- every stat is a non-negative int; `champLevel` is 1..18.

Time. The generator walks a clock over the UTC dates [start_date, start_date + days): match number i
gets the slot [i, i + 1) x (1 day / `matches_per_day`) after start_date and an on-time match is
created at a random point of its slot, so a stream looks like live traffic and `gameCreation` rises
with the sequence. `matches_per_day = n / days` spreads n matches exactly over the window. When the
clock passes the end of the window it laps back to the start (a longer stream makes another lap;
matchIds stay unique because they come from a counter).

Late matches. A `late_share` fraction of matches is created 1-3 days before the clock, so it lands in
an older daily partition than the traffic around it. Late matches stay inside the window (never before
start_date), so every partition a stream touches is one of its `days`. While the clock is still in
the first day there is no older partition to be late for: a late match drawn then is owed, and the
backlog is paid back afterwards at up to twice the configured rate, so over a stream that spans the
window the share comes out at `late_share` (a stream that ends in its first day has no late matches;
with days=1 there are none at all). `late_produced` counts the late matches made so far.

Determinism. All randomness comes from `random.Random(seed)` and from hashes of the seed; the same
seed and arguments give identical documents. The only exception is the default `start_date`
(today in UTC - days + 1): pass `start_date` for a reproducible stream.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import math
import random
from bisect import bisect_right
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from statistics import NormalDist

from lol_core.schemas import POSITIONS, TEAM_IDS

DAY_MS = 86_400_000
MIN_DURATION_S = 15 * 60
MAX_DURATION_S = 45 * 60

# (championId, championName as Riot's match data spells it, positions it is played in:
#  T=TOP J=JUNGLE M=MIDDLE B=BOTTOM U=UTILITY). Match-V5 spells Wukong "MonkeyKing" and
#  Fiddlesticks "FiddleSticks".
_ROSTER: tuple[tuple[int, str, str], ...] = (
    (266, "Aatrox", "T"), (103, "Ahri", "M"), (84, "Akali", "MT"), (166, "Akshan", "MT"),
    (12, "Alistar", "U"), (799, "Ambessa", "TJ"), (32, "Amumu", "JU"), (34, "Anivia", "M"),
    (1, "Annie", "MU"), (523, "Aphelios", "B"), (22, "Ashe", "BU"), (136, "AurelionSol", "M"),
    (893, "Aurora", "MT"), (268, "Azir", "M"), (432, "Bard", "U"), (200, "Belveth", "J"),
    (53, "Blitzcrank", "U"), (63, "Brand", "UMJ"), (201, "Braum", "U"), (233, "Briar", "J"),
    (51, "Caitlyn", "B"), (164, "Camille", "T"), (69, "Cassiopeia", "MT"), (31, "Chogath", "TM"),
    (42, "Corki", "MB"), (122, "Darius", "TJ"), (131, "Diana", "JM"), (119, "Draven", "B"),
    (36, "DrMundo", "TJ"), (245, "Ekko", "JM"), (60, "Elise", "J"), (28, "Evelynn", "J"),
    (81, "Ezreal", "B"), (9, "FiddleSticks", "J"), (114, "Fiora", "T"), (105, "Fizz", "M"),
    (3, "Galio", "MU"), (41, "Gangplank", "T"), (86, "Garen", "T"), (150, "Gnar", "T"),
    (79, "Gragas", "JT"), (104, "Graves", "J"), (887, "Gwen", "TJ"), (120, "Hecarim", "J"),
    (74, "Heimerdinger", "MTU"), (910, "Hwei", "MU"), (420, "Illaoi", "T"), (39, "Irelia", "TM"),
    (427, "Ivern", "J"), (40, "Janna", "U"), (59, "JarvanIV", "J"), (24, "Jax", "TJ"),
    (126, "Jayce", "TM"), (202, "Jhin", "B"), (222, "Jinx", "B"), (145, "Kaisa", "B"),
    (429, "Kalista", "B"), (43, "Karma", "UM"), (30, "Karthus", "J"), (38, "Kassadin", "M"),
    (55, "Katarina", "M"), (10, "Kayle", "TM"), (141, "Kayn", "J"), (85, "Kennen", "T"),
    (121, "Khazix", "J"), (203, "Kindred", "J"), (240, "Kled", "T"), (96, "KogMaw", "B"),
    (897, "KSante", "T"), (7, "Leblanc", "M"), (64, "LeeSin", "J"), (89, "Leona", "U"),
    (876, "Lillia", "J"), (127, "Lissandra", "M"), (236, "Lucian", "BM"), (117, "Lulu", "U"),
    (99, "Lux", "UM"), (54, "Malphite", "T"), (90, "Malzahar", "M"), (57, "Maokai", "UJT"),
    (11, "MasterYi", "J"), (800, "Mel", "MU"), (902, "Milio", "U"), (21, "MissFortune", "B"),
    (62, "MonkeyKing", "JT"), (82, "Mordekaiser", "T"), (25, "Morgana", "U"), (950, "Naafiri", "M"),
    (267, "Nami", "U"), (75, "Nasus", "T"), (111, "Nautilus", "U"), (518, "Neeko", "MU"),
    (76, "Nidalee", "J"), (895, "Nilah", "B"), (56, "Nocturne", "J"), (20, "Nunu", "J"),
    (2, "Olaf", "TJ"), (61, "Orianna", "M"), (516, "Ornn", "T"), (80, "Pantheon", "UMT"),
    (78, "Poppy", "JTU"), (555, "Pyke", "U"), (246, "Qiyana", "MJ"), (133, "Quinn", "T"),
    (497, "Rakan", "U"), (33, "Rammus", "J"), (421, "RekSai", "J"), (526, "Rell", "U"),
    (888, "Renata", "U"), (58, "Renekton", "T"), (107, "Rengar", "JT"), (92, "Riven", "T"),
    (68, "Rumble", "T"), (13, "Ryze", "MT"), (360, "Samira", "B"), (113, "Sejuani", "J"),
    (235, "Senna", "UB"), (147, "Seraphine", "UB"), (875, "Sett", "TU"), (35, "Shaco", "JU"),
    (98, "Shen", "TU"), (102, "Shyvana", "J"), (27, "Singed", "T"), (14, "Sion", "T"),
    (15, "Sivir", "B"), (72, "Skarner", "JT"), (901, "Smolder", "BM"), (37, "Sona", "U"),
    (16, "Soraka", "U"), (50, "Swain", "UMB"), (517, "Sylas", "MJ"), (134, "Syndra", "M"),
    (223, "TahmKench", "TU"), (163, "Taliyah", "JM"), (91, "Talon", "MJ"), (44, "Taric", "U"),
    (17, "Teemo", "T"), (412, "Thresh", "U"), (18, "Tristana", "BM"), (48, "Trundle", "JT"),
    (23, "Tryndamere", "T"), (4, "TwistedFate", "M"), (29, "Twitch", "B"), (77, "Udyr", "J"),
    (6, "Urgot", "T"), (110, "Varus", "B"), (67, "Vayne", "BT"), (45, "Veigar", "M"),
    (161, "Velkoz", "UM"), (711, "Vex", "M"), (254, "Vi", "J"), (234, "Viego", "J"),
    (112, "Viktor", "M"), (8, "Vladimir", "MT"), (106, "Volibear", "TJ"), (19, "Warwick", "JT"),
    (498, "Xayah", "B"), (101, "Xerath", "UM"), (5, "XinZhao", "J"), (157, "Yasuo", "MT"),
    (777, "Yone", "MT"), (83, "Yorick", "T"), (804, "Yunara", "B"), (350, "Yuumi", "U"),
    (154, "Zac", "J"), (238, "Zed", "M"), (221, "Zeri", "B"), (115, "Ziggs", "BM"),
    (26, "Zilean", "U"), (142, "Zoe", "M"), (143, "Zyra", "U"),
)

CHAMPIONS: tuple[tuple[int, str], ...] = tuple((cid, name) for cid, name, _ in _ROSTER)
CHAMPION_NAMES: dict[int, str] = dict(CHAMPIONS)
_POSITION_LETTERS = dict(zip("TJMBU", POSITIONS))
CHAMPION_POSITIONS: dict[int, tuple[str, ...]] = {
    cid: tuple(_POSITION_LETTERS[letter] for letter in letters) for cid, _, letters in _ROSTER
}


def _unit_hash(text: str) -> float:
    """A stable number in [0, 1) from text (Python's hash() is salted per process)."""
    digest = hashlib.blake2b(text.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def champion_strength(name: str) -> float:
    """Hidden strength in [-1, 1]: tilts who wins, never appears in a document."""
    return 2.0 * _unit_hash(f"strength:{name}") - 1.0


def _champion_popularity(name: str) -> float:
    """How often a champion is picked relative to others of its position (0.3..1.7)."""
    return 0.3 + 1.4 * _unit_hash(f"popularity:{name}")


CHAMPION_STRENGTH: dict[int, float] = {cid: champion_strength(name) for cid, name in CHAMPIONS}

# Log-odds of team 100 winning per unit of (strength sum 100 - strength sum 200). With strengths in
# [-1, 1] the strongest champion wins about 58% of its games, the weakest about 42%.
_WIN_TILT = 0.35


@dataclass(frozen=True)
class _PositionProfile:
    """Per-minute means of one position; a match scales them by duration and noise."""

    position: str  # teamPosition
    lane: str  # Riot's lane and role values for it: the support plays in the bottom lane
    role: str
    minions_per_min: float  # totalMinionsKilled (lane minions)
    neutral_per_min: float  # neutralMinionsKilled (jungle camps)
    base_gold_per_min: float  # gold not from kills/assists
    damage_per_min: float
    taken_per_min: float
    vision_per_min: float
    wards_per_min: float
    level_offset: float
    kill_weight: float
    death_weight: float
    assist_weight: float
    spells: tuple[int, int, int]  # Flash plus one of two usual second spells


def _position_profiles() -> dict[str, _PositionProfile]:
    """Solo-queue averages: lanes farm 6-8 minions a minute, the jungler lives on camps, the support
    farms almost nothing, wards the most and earns the least."""
    P = _PositionProfile
    rows = (
        # position  lane      role       cs/m nt/m gold dmg  taken vis   wards lvl   kill  death assist spells
        P("TOP",     "TOP",    "SOLO",    6.6, 0.3, 330, 620, 1050, 0.65, 0.35, 0.5,  1.0,  1.0,  0.8,  (4, 12, 14)),
        P("JUNGLE",  "JUNGLE", "NONE",    0.9, 5.4, 330, 520, 1150, 1.1,  0.4,  -0.3, 1.0,  1.0,  1.25, (11, 4, 4)),
        P("MIDDLE",  "MIDDLE", "SOLO",    7.1, 0.4, 340, 720, 700,  0.7,  0.35, 0.6,  1.15, 1.0,  1.0,  (4, 14, 12)),
        P("BOTTOM",  "BOTTOM", "CARRY",   7.6, 0.3, 345, 700, 600,  0.65, 0.35, 0.0,  1.3,  1.05, 0.9,  (4, 7, 21)),
        P("UTILITY", "BOTTOM", "SUPPORT", 1.0, 0.0, 205, 380, 620,  2.2,  1.0,  -1.6, 0.35, 1.0,  1.7,  (4, 14, 3)),
    )
    return {p.position: p for p in rows}


_PROFILES = _position_profiles()
_PROFILE_ROWS = tuple(_PROFILES[p] for p in POSITIONS)
_KILL_WEIGHTS = tuple(p.kill_weight for p in _PROFILE_ROWS)
_DEATH_WEIGHTS = tuple(p.death_weight for p in _PROFILE_ROWS)
_ASSIST_WEIGHTS = tuple(p.assist_weight for p in _PROFILE_ROWS)

# (platformId, share of traffic, default Riot ID tagline)
_PLATFORMS = (
    ("EUW1", 0.30, "EUW"), ("KR", 0.25, "KR1"), ("NA1", 0.20, "NA1"), ("EUN1", 0.10, "EUNE"),
    ("BR1", 0.06, "BR1"), ("TR1", 0.04, "TR1"), ("LA1", 0.03, "LAN"), ("JP1", 0.02, "JP1"),
)
_QUEUES = ((420, 0.70), (440, 0.15), (400, 0.15))  # ranked solo/duo, ranked flex, normal draft

_NAME_HEADS = (
    "Silent", "Crimson", "Lucky", "Frozen", "Shadow", "Golden", "Wild", "Lazy", "Toxic", "Tiny",
    "Mighty", "Salty", "Dark", "Happy", "Iron", "Void", "Solar", "Broken", "Swift", "Sleepy",
)
_NAME_TAILS = (
    "Fox", "Dragon", "Poro", "Baron", "Teemo", "Wolf", "Carry", "Jungler", "Mage", "Otter",
    "Knight", "Panda", "Ward", "Minion", "Raven", "Tiger", "Smite", "Flash", "Support", "Blade",
)
# KR players often carry Hangul Riot IDs: keeps the pipeline honest about UTF-8.
_KOREAN_NAMES = (
    "정글러", "미드장인", "탑신병자", "원딜킹", "서폿요정", "칼바람", "도란방패", "무한성장", "한타장인", "솔랭전사",
)


# Standard normal quantiles: one table lookup per draw instead of random.gauss (the generator's hot spot).
_NORMAL_TABLE_SIZE = 4096
_STD_NORMAL = tuple(NormalDist().inv_cdf((i + 0.5) / _NORMAL_TABLE_SIZE) for i in range(_NORMAL_TABLE_SIZE))


def _std_normal(rng: random.Random) -> float:
    return _STD_NORMAL[int(rng.random() * _NORMAL_TABLE_SIZE)]


def _noise(rng: random.Random, sd: float, floor: float) -> float:
    """A factor around 1 with standard deviation sd, never below floor."""
    return max(floor, 1.0 + sd * _std_normal(rng))


class MatchGenerator:
    """An endless, deterministic stream of Match-V5 documents (see the module docstring)."""

    def __init__(
        self,
        seed: int = 0,
        start_date: dt.date | None = None,
        days: int = 3,
        late_share: float = 0.05,
        *,
        matches_per_day: float = 1000.0,
        players_per_platform: int = 5000,
    ) -> None:
        if days < 1:
            raise ValueError("days must be >= 1")
        if not 0.0 <= late_share <= 1.0:
            raise ValueError("late_share must be within [0, 1]")
        if matches_per_day <= 0:
            raise ValueError("matches_per_day must be > 0")
        if players_per_platform < 10:
            raise ValueError("players_per_platform must be >= 10 (a match has 10 distinct players)")
        if start_date is None:
            start_date = dt.datetime.now(dt.timezone.utc).date() - dt.timedelta(days=days - 1)
        self.seed = seed
        self.start_date = start_date
        self.days = days
        self.late_share = late_share
        self.players_per_platform = players_per_platform
        self.produced = 0
        self.late_produced = 0
        self._rng = random.Random(seed)
        self._start_ms = _epoch_ms(start_date)
        self._end_ms = self._start_ms + days * DAY_MS
        self._gap_ms = DAY_MS / matches_per_day
        self._late_owed = 0
        self._game_id_base = 6_000_000_000 + (seed % 4096)
        self._players: dict[tuple[int, int], tuple[str, str, str]] = {}
        self._platform_ids = tuple(p[0] for p in _PLATFORMS)
        self._platform_cum = _cumulative(p[1] for p in _PLATFORMS)
        self._queue_cum = _cumulative(q[1] for q in _QUEUES)

    # -- public API ---------------------------------------------------------------------------------

    def match(self) -> dict:
        """The next match document."""
        rng = self._rng
        counter = self.produced
        self.produced += 1
        creation_ms = self._creation_ms(counter)
        platform_index = _weighted_index(rng, self._platform_cum)
        platform_id = self._platform_ids[platform_index]
        queue_id = _QUEUES[_weighted_index(rng, self._queue_cum)][0]
        duration_s = _game_duration_s(rng)
        bans, picks = _draft(rng)
        winner = _draw_winner(rng, picks)
        game_id = self._game_id_base + counter * 4096
        start_ms = creation_ms + rng.randint(20_000, 90_000)  # loading screen
        players = self._pick_players(platform_index)
        participants, team_stats = _participants(rng, picks, players, winner, duration_s)
        surrender = duration_s < 20 * 60 or rng.random() < 0.35
        for p in participants:
            p["gameEndedInSurrender"] = surrender
            p["gameEndedInEarlySurrender"] = False
        objectives = _objectives(rng, winner, duration_s / 60.0, surrender, team_stats)
        return {
            "metadata": {
                "dataVersion": "2",
                "matchId": f"{platform_id}_{game_id}",
                "participants": [p["puuid"] for p in participants],
            },
            "info": {
                "endOfGameResult": "GameComplete",
                "gameCreation": creation_ms,
                "gameDuration": duration_s,
                "gameEndTimestamp": start_ms + duration_s * 1000 + rng.randint(0, 999),
                "gameId": game_id,
                "gameMode": "CLASSIC",
                "gameName": f"teambuilder-match-{game_id}",
                "gameStartTimestamp": start_ms,
                "gameType": "MATCHED_GAME",
                "gameVersion": _game_version(creation_ms // DAY_MS),
                "mapId": 11,
                "participants": participants,
                "platformId": platform_id,
                "queueId": queue_id,
                "teams": [
                    _team(team_id, team_id == winner, bans[i * 5 : i * 5 + 5], i * 5, objectives[team_id])
                    for i, team_id in enumerate(TEAM_IDS)
                ],
                "tournamentCode": "",
            },
        }

    def matches(self, n: int) -> Iterator[dict]:
        """The next n match documents."""
        for _ in range(n):
            yield self.match()

    # -- time -----------------------------------------------------------------------------------------

    def _creation_ms(self, counter: int) -> int:
        """Creation time of match number `counter`: the clock, or 1-3 days before it for a late match."""
        rng = self._rng
        clock = self._clock_ms(counter)
        drawn_late = self.late_share > 0 and rng.random() < self.late_share
        self._late_owed += drawn_late
        room = clock - self._start_ms  # how far back a late match may go and stay in the window
        if not self._late_owed or room < DAY_MS:
            return clock
        # A backlog from the first day is paid back at most at the configured rate again, not in a burst.
        if drawn_late or rng.random() < self.late_share:
            self._late_owed -= 1
            self.late_produced += 1
            return clock - rng.randint(DAY_MS, min(3 * DAY_MS, room))
        return clock

    def _clock_ms(self, counter: int) -> int:
        """A jittered point in the counter's slot of the schedule: strictly rising, and n matches at
        n / days a day fill the window exactly; past its end the clock laps back to the start."""
        offset = (counter + self._rng.random()) * self._gap_ms
        return self._start_ms + int(offset) % (self._end_ms - self._start_ms)

    # -- players --------------------------------------------------------------------------------------

    def _pick_players(self, platform_index: int) -> list[tuple[str, str, str]]:
        """10 distinct players of the platform: (puuid, riotIdGameName, riotIdTagline)."""
        indexes = self._rng.sample(range(self.players_per_platform), 10)
        return [self._player(platform_index, i) for i in indexes]

    def _player(self, platform_index: int, index: int) -> tuple[str, str, str]:
        key = (platform_index, index)
        player = self._players.get(key)
        if player is None:
            player = self._players[key] = _make_player(self.seed, platform_index, index)
        return player


# -- a match, piece by piece ---------------------------------------------------------------------------


def _epoch_ms(day: dt.date) -> int:
    return int(dt.datetime(day.year, day.month, day.day, tzinfo=dt.timezone.utc).timestamp() * 1000)


def _cumulative(weights) -> list[float]:
    total, out = 0.0, []
    for w in weights:
        total += w
        out.append(total)
    return out


def _weighted_index(rng: random.Random, cum_weights: list[float]) -> int:
    """Index drawn in proportion to weights given as running sums (rng.choices without its overhead)."""
    return bisect_right(cum_weights, rng.random() * cum_weights[-1])


def _game_duration_s(rng: random.Random) -> int:
    """Normal around 30 min (sd 6.5), clipped to 15..45 min."""
    seconds = int(rng.gauss(30 * 60, 6.5 * 60))
    return min(MAX_DURATION_S, max(MIN_DURATION_S, seconds))


@lru_cache(maxsize=4096)
def _game_version(epoch_day: int) -> str:
    """Patch of a day: season = year - 2010, a new patch about every two weeks of the year."""
    day = dt.date(1970, 1, 1) + dt.timedelta(days=epoch_day)
    season, patch = day.year - 2010, min(24, (day.timetuple().tm_yday - 1) // 15 + 1)
    build = 400 + int(_unit_hash(f"build:{season}.{patch}") * 300)
    revision = 1000 + int(_unit_hash(f"rev:{season}.{patch}") * 9000)
    return f"{season}.{patch}.{build}.{revision}"


def _pick_tables() -> tuple[tuple[int, ...], list[float], dict[str, tuple[tuple[int, ...], list[float]]]]:
    """Weights for bans (strong and popular champions are banned more) and picks per position."""
    ids = tuple(cid for cid, _ in CHAMPIONS)
    ban_cum = _cumulative(_champion_popularity(CHAMPION_NAMES[c]) * math.exp(1.5 * CHAMPION_STRENGTH[c]) for c in ids)
    per_position = {}
    for position in POSITIONS:
        pool = tuple(c for c in ids if position in CHAMPION_POSITIONS[c])
        weights = (_champion_popularity(CHAMPION_NAMES[c]) * math.exp(0.5 * CHAMPION_STRENGTH[c]) for c in pool)
        per_position[position] = (pool, _cumulative(weights))
    return ids, ban_cum, per_position


_ALL_IDS, _BAN_CUM, _POSITION_POOLS = _pick_tables()


def _draft(rng: random.Random) -> tuple[list[int], list[int]]:
    """10 distinct bans (team 100's first), then 10 picks in participant order, none banned or repeated."""
    taken: set[int] = set()
    bans = [_draw_unused(rng, _ALL_IDS, _BAN_CUM, taken) for _ in range(10)]
    picks = []
    for _team_id in TEAM_IDS:
        for position in POSITIONS:
            pool, cum = _POSITION_POOLS[position]
            picks.append(_draw_unused(rng, pool, cum, taken))
    return bans, picks


def _draw_unused(rng: random.Random, pool: tuple[int, ...], cum: list[float], taken: set[int]) -> int:
    """A weighted draw from pool that is not yet taken (rejection: the pools are far bigger than 20)."""
    while True:
        champion_id = pool[_weighted_index(rng, cum)]
        if champion_id not in taken:
            taken.add(champion_id)
            return champion_id


def _draw_winner(rng: random.Random, picks: list[int]) -> int:
    """Team 100 wins with a probability tilted by the strength difference of the two line-ups."""
    edge = sum(CHAMPION_STRENGTH[c] for c in picks[:5]) - sum(CHAMPION_STRENGTH[c] for c in picks[5:])
    return TEAM_IDS[0] if rng.random() < 1.0 / (1.0 + math.exp(-_WIN_TILT * edge)) else TEAM_IDS[1]


def _split(rng: random.Random, total: int, weights: tuple[float, ...]) -> list[int]:
    """total units over 5 players; each player's weight is jittered so someone gets fed."""
    if total <= 0:
        return [0, 0, 0, 0, 0]
    jittered = [w * (0.4 + 1.2 * rng.random()) for w in weights]
    draws = rng.choices(range(5), weights=jittered, k=total)
    return [draws.count(i) for i in range(5)]


def _team_kills(rng: random.Random, minutes: float) -> tuple[int, int]:
    """(winner kills, loser kills): about 0.95 kills a minute in all, the winner taking ~63%."""
    total = max(0, round(rng.gauss(0.95 * minutes, 0.2 * minutes)))
    share = min(1.0, max(0.3, rng.gauss(0.63, 0.09)))
    winner_kills = round(total * share)
    return winner_kills, total - winner_kills


def _kda_lines(rng: random.Random, team_kills: int, enemy_kills: int) -> tuple[list[int], list[int], list[int]]:
    """kills, deaths, assists of one team's 5 players (in POSITIONS order)."""
    kills = _split(rng, team_kills, _KILL_WEIGHTS)
    executions = 1 if rng.random() < 0.08 else 0  # a death to a turret or minions: no enemy kill
    deaths = _split(rng, enemy_kills + executions, _DEATH_WEIGHTS)
    assists = _split(rng, round(team_kills * rng.uniform(1.2, 2.2)), _ASSIST_WEIGHTS)
    # A player takes part in a kill at most once, so kills + assists <= team kills.
    assists = [min(a, team_kills - k) for a, k in zip(assists, kills)]
    return kills, deaths, assists


def _participants(
    rng: random.Random, picks: list[int], players: list[tuple[str, str, str]], winner: int, duration_s: int
) -> tuple[list[dict], dict[int, dict]]:
    """The 10 participant dicts, and per team the totals its `teams[]` entry needs."""
    minutes = duration_s / 60.0
    winner_kills, loser_kills = _team_kills(rng, minutes)
    team_stats: dict[int, dict] = {}
    participants = []
    for t, team_id in enumerate(TEAM_IDS):
        won = team_id == winner
        team_kills, enemy_kills = (winner_kills, loser_kills) if won else (loser_kills, winner_kills)
        kills, deaths, assists = _kda_lines(rng, team_kills, enemy_kills)
        team_stats[team_id] = {"kills": team_kills}
        for slot, position in enumerate(POSITIONS):
            number = t * 5 + slot
            participants.append(
                _participant(
                    rng, number + 1, players[number], picks[number], team_id, position, won, minutes,
                    duration_s, kills[slot], deaths[slot], assists[slot],
                )
            )
    _mark_first_blood(rng, participants, winner_kills, loser_kills, winner, team_stats)
    return participants, team_stats


def _participant(
    rng: random.Random,
    participant_id: int,
    player: tuple[str, str, str],
    champion_id: int,
    team_id: int,
    position: str,
    won: bool,
    minutes: float,
    duration_s: int,
    kills: int,
    deaths: int,
    assists: int,
) -> dict:
    profile = _PROFILES[position]
    edge = 1.06 if won else 0.94  # winners farm and fight a little better
    gold = 500 + minutes * profile.base_gold_per_min * edge * _noise(rng, 0.1, 0.6) + 300 * kills + 110 * assists
    gold_earned = int(gold)
    minions = int(minutes * profile.minions_per_min * edge * _noise(rng, 0.12, 0.2))
    neutral = int(minutes * profile.neutral_per_min * edge * _noise(rng, 0.15, 0.0))
    involvement = 0.75 + 0.05 * (kills + assists)
    damage = int(minutes * profile.damage_per_min * involvement * _noise(rng, 0.2, 0.2))
    taken = int(minutes * profile.taken_per_min * (0.8 + 0.06 * deaths) * _noise(rng, 0.15, 0.3))
    wards = int(minutes * profile.wards_per_min * _noise(rng, 0.25, 0.1))
    vision = int(minutes * profile.vision_per_min * _noise(rng, 0.2, 0.1))
    level_mean = 3.0 + 0.42 * minutes + profile.level_offset + (0.7 if won else 0.0)
    level = round(level_mean + 0.7 * _std_normal(rng))
    puuid, game_name, tagline = player
    return {
        "participantId": participant_id,
        "puuid": puuid,
        "riotIdGameName": game_name,
        "riotIdTagline": tagline,
        "summonerName": game_name,
        "championId": champion_id,
        "championName": CHAMPION_NAMES[champion_id],
        "teamId": team_id,
        "teamPosition": position,
        "individualPosition": position,
        "lane": profile.lane,
        "role": profile.role,
        "summoner1Id": profile.spells[0],
        "summoner2Id": profile.spells[1] if rng.random() < 0.7 else profile.spells[2],
        "win": won,
        "kills": kills,
        "deaths": deaths,
        "assists": assists,
        "firstBloodKill": False,
        "goldEarned": gold_earned,
        "goldSpent": gold_earned - int(rng.random() * min(gold_earned, 900)),
        "totalMinionsKilled": minions,
        "neutralMinionsKilled": neutral,
        "totalDamageDealtToChampions": damage,
        "totalDamageTaken": taken,
        "visionScore": vision,
        "wardsPlaced": wards,
        "wardsKilled": int(wards * 0.4 * rng.random()),
        "detectorWardsPlaced": int(minutes / 8.0 * rng.random() * (2.0 if position == "UTILITY" else 1.0)),
        "champLevel": min(18, max(1, level)),
        "timePlayed": duration_s,
    }


def _mark_first_blood(
    rng: random.Random, participants: list[dict], winner_kills: int, loser_kills: int, winner: int, team_stats: dict
) -> None:
    """First blood goes to a team in proportion to its kills, then to one of its killers."""
    total = winner_kills + loser_kills
    first_team = None
    if total:
        loser = TEAM_IDS[1] if winner == TEAM_IDS[0] else TEAM_IDS[0]
        first_team = winner if rng.random() * total < winner_kills else loser
        killers = [p for p in participants if p["teamId"] == first_team and p["kills"]]
        rng.choices(killers, weights=[p["kills"] for p in killers])[0]["firstBloodKill"] = True
    for team_id in TEAM_IDS:
        team_stats[team_id]["first_blood"] = team_id == first_team


def _objectives(rng: random.Random, winner: int, minutes: float, surrender: bool, team_stats: dict) -> dict:
    """teamId -> `objectives` of both teams; for each objective at most one team was first."""
    by_team = {
        team_id: _objective_kills(rng, team_id == winner, minutes, surrender) for team_id in TEAM_IDS
    }
    for name in ("baron", "dragon", "horde", "inhibitor", "riftHerald", "tower"):
        _mark_first(rng, by_team[TEAM_IDS[0]][name], by_team[TEAM_IDS[1]][name])
    for team_id in TEAM_IDS:
        stats = team_stats[team_id]
        by_team[team_id]["champion"] = {"first": stats["first_blood"], "kills": stats["kills"]}
    return by_team


def _objective_kills(rng: random.Random, won: bool, minutes: float, surrender: bool) -> dict:
    """Objective counts of one team: the winner takes more; a won game without surrender broke the base."""
    randint = rng.randint
    dragons_up = max(1, int((minutes - 5) / 5.5) + 1)  # the first dragon spawns at 5:00, then every ~5 min
    if won:
        towers = randint(3, 8) if surrender else randint(5, 11)
        inhibitors = randint(0, 2) if surrender else randint(1, 3)
        dragons = randint(dragons_up // 2, min(5, dragons_up))
        barons = randint(0, 2) if minutes >= 20 else 0  # Baron spawns at 20:00
        heralds, horde = (1 if rng.random() < 0.6 else 0), randint(0, 6)
    else:
        towers = randint(0, 6)
        inhibitors = 1 if rng.random() < 0.12 else 0
        dragons = randint(0, dragons_up // 2)
        barons = 1 if minutes >= 20 and rng.random() < 0.2 else 0
        heralds, horde = (1 if rng.random() < 0.3 else 0), randint(0, 3)
    counts = {"baron": barons, "dragon": dragons, "horde": horde, "inhibitor": inhibitors,
              "riftHerald": heralds, "tower": towers}
    return {name: {"first": False, "kills": kills} for name, kills in counts.items()}


def _mark_first(rng: random.Random, a: dict, b: dict) -> None:
    """One of the teams that took any of an objective took it first, in proportion to their counts."""
    total = a["kills"] + b["kills"]
    if total:
        (a if rng.random() * total < a["kills"] else b)["first"] = True


def _team(team_id: int, won: bool, bans: list[int], first_turn: int, objectives: dict) -> dict:
    """A `teams[]` entry; team 100 bans on pick turns 1-5, team 200 on 6-10."""
    return {
        "teamId": team_id,
        "win": won,
        "bans": [{"championId": c, "pickTurn": first_turn + i + 1} for i, c in enumerate(bans)],
        "objectives": objectives,
    }


def _make_player(seed: int, platform_index: int, index: int) -> tuple[str, str, str]:
    """A stable player: 78-character puuid, Riot ID game name and tagline, all from a hash."""
    digest = hashlib.blake2b(f"player:{seed}:{platform_index}:{index}".encode(), digest_size=60).digest()
    puuid = base64.urlsafe_b64encode(digest).decode()[:78]
    platform_id, _, default_tag = _PLATFORMS[platform_index]
    if platform_id == "KR" and digest[0] < 128:
        name = _KOREAN_NAMES[digest[1] % len(_KOREAN_NAMES)] + str(digest[2] % 100)
    else:
        name = f"{_NAME_HEADS[digest[1] % len(_NAME_HEADS)]}{_NAME_TAILS[digest[2] % len(_NAME_TAILS)]}{digest[3]}"
    tagline = default_tag if digest[4] < 180 else str(1000 + int.from_bytes(digest[5:7], "big") % 9000)
    return puuid, name, tagline


# -- wire format ---------------------------------------------------------------------------------------


def encode(match: dict) -> bytes:
    """Compact UTF-8 JSON: the Kafka message value."""
    return json.dumps(match, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def key(match: dict) -> bytes:
    """The matchId: the Kafka message key (same match -> same partition)."""
    return match["metadata"]["matchId"].encode("utf-8")
