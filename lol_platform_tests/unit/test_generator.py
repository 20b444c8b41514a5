"""The synthetic match generator keeps every rule of the data contract, over thousands of matches."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import statistics
import subprocess
import sys
from collections import Counter, defaultdict

import pytest

from lol_core.rules import check_value
from lol_core.schemas import PARTICIPANT_FIELDS, POSITIONS, TEAM_IDS
from lol_platform.devtools.generator import (
    CHAMPION_STRENGTH,
    CHAMPIONS,
    DAY_MS,
    MatchGenerator,
    encode,
    key,
)

START = dt.date(2024, 11, 20)
DAYS = 3
N = 2000
START_MS = int(dt.datetime(2024, 11, 20, tzinfo=dt.timezone.utc).timestamp() * 1000)
END_MS = START_MS + DAYS * DAY_MS


def _generate(n: int = N, seed: int = 11, **kwargs) -> list[dict]:
    # 800 a day: 2000 matches cover 2.5 days of the 3-day window without lapping.
    options = {"start_date": START, "days": DAYS, "late_share": 0.05, "matches_per_day": 800, **kwargs}
    return list(MatchGenerator(seed, **options).matches(n))


@pytest.fixture(scope="module")
def matches() -> list[dict]:
    return _generate()


def _team(match: dict, team_id: int) -> list[dict]:
    return [p for p in match["info"]["participants"] if p["teamId"] == team_id]


def _minutes(match: dict) -> float:
    return match["info"]["gameDuration"] / 60.0


def _late_flags(matches: list[dict]) -> list[bool]:
    """On-time matches are created in increasing order, so a late one is older than one already seen."""
    flags, newest = [], -1
    for m in matches:
        created = m["info"]["gameCreation"]
        flags.append(created < newest)
        newest = max(newest, created)
    return flags


def _per_minute_by_position(matches: list[dict], value) -> dict[str, list[float]]:
    out: dict[str, list[float]] = defaultdict(list)
    for m in matches:
        minutes = _minutes(m)
        for p in m["info"]["participants"]:
            out[p["teamPosition"]].append(value(p) / minutes)
    return out


# -- shape ----------------------------------------------------------------------------------------------


def test_document_has_the_match_v5_shape(matches):
    for m in matches:
        info = m["info"]
        assert m["metadata"]["dataVersion"] == "2"
        assert m["metadata"]["participants"] == [p["puuid"] for p in info["participants"]]
        assert m["metadata"]["matchId"] == f"{info['platformId']}_{info['gameId']}"
        assert (info["gameMode"], info["gameType"], info["mapId"]) == ("CLASSIC", "MATCHED_GAME", 11)
        assert info["queueId"] in (420, 440, 400)
        assert info["platformId"] in ("EUW1", "KR", "NA1", "EUN1", "BR1", "TR1", "LA1", "JP1")
        assert re.fullmatch(r"\d+\.\d+\.\d+\.\d+", info["gameVersion"])
        assert info["gameCreation"] < info["gameStartTimestamp"] < info["gameEndTimestamp"]
        played_ms = info["gameEndTimestamp"] - info["gameStartTimestamp"]
        assert 0 <= played_ms - info["gameDuration"] * 1000 < 1000
        assert [p["participantId"] for p in info["participants"]] == list(range(1, 11))
        assert [t["teamId"] for t in info["teams"]] == list(TEAM_IDS)
        for p in info["participants"]:
            assert len(p["puuid"]) == 78
            assert p["riotIdGameName"] and p["riotIdTagline"]
            assert p["timePlayed"] == info["gameDuration"]
            assert p["individualPosition"] == p["teamPosition"]


def test_each_team_fields_every_position_exactly_once(matches):
    for m in matches:
        for team_id in TEAM_IDS:
            assert sorted(p["teamPosition"] for p in _team(m, team_id)) == sorted(POSITIONS)


def test_players_are_ten_distinct_people(matches):
    for m in matches:
        assert len(set(m["metadata"]["participants"])) == 10


def test_no_champion_twice_and_bans_distinct_and_not_picked(matches):
    for m in matches:
        picks = [p["championId"] for p in m["info"]["participants"]]
        bans = [b["championId"] for t in m["info"]["teams"] for b in t["bans"]]
        assert len(set(picks)) == 10
        assert all(len(t["bans"]) == 5 for t in m["info"]["teams"])
        assert len(set(bans)) == 10
        assert not set(bans) & set(picks)
        assert [b["pickTurn"] for t in m["info"]["teams"] for b in t["bans"]] == list(range(1, 11))


def test_exactly_one_winner_and_participants_agree(matches):
    for m in matches:
        winners = [t["teamId"] for t in m["info"]["teams"] if t["win"]]
        assert len(winners) == 1
        for p in m["info"]["participants"]:
            assert p["win"] is (p["teamId"] == winners[0])


# -- distributions ----------------------------------------------------------------------------------------


def test_durations_between_15_and_45_minutes_mean_near_30(matches):
    durations = [m["info"]["gameDuration"] for m in matches]
    assert min(durations) >= 15 * 60 and max(durations) <= 45 * 60
    assert 27 * 60 <= statistics.mean(durations) <= 33 * 60
    assert statistics.pstdev(durations) > 3 * 60  # spread, not a constant


def test_gold_per_minute_plausible_and_supports_lower(matches):
    gpm = _per_minute_by_position(matches, lambda p: p["goldEarned"])
    others = [g for position, values in gpm.items() if position != "UTILITY" for g in values]
    deciles = statistics.quantiles(others, n=20)
    assert 280 <= deciles[0] and deciles[-1] <= 620  # the middle 90% within ~300-600
    assert 100 <= min(min(v) for v in gpm.values()) and max(max(v) for v in gpm.values()) <= 900
    assert statistics.mean(gpm["UTILITY"]) < statistics.mean(others) - 80
    for m in matches:
        for p in m["info"]["participants"]:
            assert 0 <= p["goldSpent"] <= p["goldEarned"]


def test_cs_per_minute_by_position(matches):
    lane_cs = _per_minute_by_position(matches, lambda p: p["totalMinionsKilled"])
    all_cs = _per_minute_by_position(matches, lambda p: p["totalMinionsKilled"] + p["neutralMinionsKilled"])
    neutral = _per_minute_by_position(matches, lambda p: p["neutralMinionsKilled"])
    mean = {k: statistics.mean(v) for k, v in lane_cs.items()}
    for lane in ("TOP", "MIDDLE", "BOTTOM"):
        assert 6 <= mean[lane] <= 9
        assert mean[lane] > 3 * mean["JUNGLE"]
    assert statistics.mean(neutral["JUNGLE"]) > 4 * max(statistics.mean(neutral[p]) for p in POSITIONS if p != "JUNGLE")
    assert 4 <= statistics.mean(all_cs["JUNGLE"]) <= 8
    assert 0.5 <= statistics.mean(all_cs["UTILITY"]) <= 1.5
    assert statistics.mean(all_cs["UTILITY"]) == min(statistics.mean(v) for v in all_cs.values())


def test_kills_deaths_assists_consistent(matches):
    winner_more, kills_per_minute = 0, []
    for m in matches:
        team_kills = {t: sum(p["kills"] for p in _team(m, t)) for t in TEAM_IDS}
        team_deaths = {t: sum(p["deaths"] for p in _team(m, t)) for t in TEAM_IDS}
        for t, enemy in zip(TEAM_IDS, reversed(TEAM_IDS)):
            # Deaths come from enemy kills plus a rare execution (turret, minions).
            assert 0 <= team_deaths[t] - team_kills[enemy] <= 1
            objective = next(x for x in m["info"]["teams"] if x["teamId"] == t)["objectives"]["champion"]
            assert objective["kills"] == team_kills[t]
            for p in _team(m, t):
                assert p["kills"] + p["assists"] <= team_kills[t]  # kill participation <= 1
        winner = next(t["teamId"] for t in m["info"]["teams"] if t["win"])
        loser = TEAM_IDS[1] if winner == TEAM_IDS[0] else TEAM_IDS[0]
        winner_more += team_kills[winner] > team_kills[loser]
        kills_per_minute.append(sum(team_kills.values()) / _minutes(m))
    assert winner_more / len(matches) > 0.8
    assert 0.7 <= statistics.mean(kills_per_minute) <= 1.2  # kills scale with duration
    assert max(kills_per_minute) <= 2.5


def test_first_blood_is_one_killer_of_the_first_blood_team(matches):
    for m in matches:
        first = [p for p in m["info"]["participants"] if p["firstBloodKill"]]
        teams_first = [t["teamId"] for t in m["info"]["teams"] if t["objectives"]["champion"]["first"]]
        if any(p["kills"] for p in m["info"]["participants"]):
            assert len(first) == 1 and first[0]["kills"] >= 1 and teams_first == [first[0]["teamId"]]
        else:
            assert first == [] and teams_first == []


def test_objectives_present_and_at_most_one_first(matches):
    names = {"baron", "dragon", "tower", "inhibitor", "riftHerald", "champion"}
    for m in matches:
        a, b = (t["objectives"] for t in m["info"]["teams"])
        assert names <= set(a) and names <= set(b)
        for name in names:
            assert not (a[name]["first"] and b[name]["first"])
            assert (a[name]["first"] or b[name]["first"]) == (a[name]["kills"] + b[name]["kills"] > 0)
        if _minutes(m) < 20:
            assert a["baron"]["kills"] == b["baron"]["kills"] == 0


def test_every_stat_is_a_non_negative_int(matches):
    for m in matches:
        for p in m["info"]["participants"]:
            for name, value in p.items():
                if isinstance(value, (int, float)) and not isinstance(value, bool):
                    assert type(value) is int and value >= 0, (name, value)
        for team in m["info"]["teams"]:
            for objective in team["objectives"].values():
                assert type(objective["kills"]) is int and objective["kills"] >= 0


def test_champ_level_in_range_and_rising_with_duration(matches):
    short, long_ = [], []
    for m in matches:
        for p in m["info"]["participants"]:
            assert 1 <= p["champLevel"] <= 18
            (short if _minutes(m) < 22 else long_ if _minutes(m) > 36 else []).append(p["champLevel"])
    assert statistics.mean(long_) > statistics.mean(short) + 3


def test_supports_have_more_vision_and_less_damage(matches):
    vision = _per_minute_by_position(matches, lambda p: p["visionScore"])
    damage = _per_minute_by_position(matches, lambda p: p["totalDamageDealtToChampions"])
    support_vision = statistics.mean(vision["UTILITY"])
    assert all(support_vision > 1.5 * statistics.mean(vision[p]) for p in POSITIONS if p != "UTILITY")
    assert statistics.mean(damage["UTILITY"]) == min(statistics.mean(v) for v in damage.values())


# -- identity and time ------------------------------------------------------------------------------------


def test_match_ids_unique(matches):
    ids = [m["metadata"]["matchId"] for m in matches]
    assert len(set(ids)) == len(ids)
    assert all(re.fullmatch(r"[A-Z]+[0-9]?_\d+", i) for i in ids)


def test_creation_dates_within_window_and_cover_it(matches):
    created = [m["info"]["gameCreation"] for m in matches]
    assert all(START_MS <= c < END_MS for c in created)
    days = Counter((c - START_MS) // DAY_MS for c in created)
    assert set(days) == {0, 1, 2}


def test_on_time_matches_are_in_stream_order(matches):
    on_time = [m["info"]["gameCreation"] for m, late in zip(matches, _late_flags(matches)) if not late]
    assert on_time == sorted(on_time)


def test_late_share_close_to_configured_and_in_an_older_partition(matches):
    flags = _late_flags(matches)
    assert 0.035 <= sum(flags) / len(flags) <= 0.065
    # The stream position when a late match was made is the creation time of the next on-time match.
    next_on_time = None
    for m, late in reversed(list(zip(matches, flags))):
        created = m["info"]["gameCreation"]
        if not late:
            next_on_time = created
        elif next_on_time is not None:
            assert created // DAY_MS < next_on_time // DAY_MS  # lands in an older daily partition
            assert DAY_MS <= next_on_time - created <= 3 * DAY_MS + 3_600_000


def test_late_share_configurable():
    assert not any(_late_flags(_generate(1000, late_share=0.0)))
    gen = MatchGenerator(3, start_date=START, days=DAYS, late_share=0.2, matches_per_day=1000)
    flags = _late_flags(list(gen.matches(3000)))  # exactly one lap over the window
    assert 0.17 <= sum(flags) / len(flags) <= 0.23
    assert gen.late_produced == sum(flags)


def test_late_matches_wait_for_an_older_day_in_the_window():
    """No late match in the first day; the backlog follows at no more than twice the configured rate."""
    created = [m["info"]["gameCreation"] for m in _generate(1200, late_share=0.1)]
    flags = _late_flags([{"info": {"gameCreation": c}} for c in created])
    first_day = [late for c, late in zip(created, flags) if c < START_MS + DAY_MS and not late]
    assert not any(flags[: len(first_day)])
    after = flags[len(first_day) : len(first_day) + 200]
    assert 0.1 <= sum(after) / len(after) <= 0.3


def test_n_over_days_a_day_fills_the_window_exactly():
    created = [m["info"]["gameCreation"] for m in _generate(300, late_share=0.0, matches_per_day=100)]
    assert created == sorted(created) and START_MS <= created[0] < START_MS + DAY_MS / 100
    assert END_MS - DAY_MS / 100 <= created[-1] < END_MS
    assert Counter((c - START_MS) // DAY_MS for c in created) == {0: 100, 1: 100, 2: 100}


def test_long_stream_laps_inside_the_window():
    created = [m["info"]["gameCreation"] for m in _generate(1000, matches_per_day=100)]
    assert all(START_MS <= c < END_MS for c in created)
    assert sum(b < a for a, b in zip(created, created[1:])) > 3  # several laps, plus late matches


def test_default_start_date_ends_the_window_today():
    gen = MatchGenerator(seed=1, days=4)
    assert gen.start_date == dt.datetime.now(dt.timezone.utc).date() - dt.timedelta(days=3)


def test_rejects_bad_arguments():
    for kwargs in ({"days": 0}, {"late_share": 1.5}, {"matches_per_day": 0}):
        with pytest.raises(ValueError):
            MatchGenerator(**kwargs)


# -- determinism ------------------------------------------------------------------------------------------


def test_same_seed_same_documents_different_seed_different(matches):
    again = _generate(200)
    assert [encode(m) for m in again] == [encode(m) for m in matches[:200]]
    other = _generate(200, seed=12)
    assert [encode(m) for m in other] != [encode(m) for m in matches[:200]]
    assert {m["metadata"]["matchId"] for m in other}.isdisjoint({m["metadata"]["matchId"] for m in matches})


def test_same_documents_in_another_process():
    """No salted hash() or global state: a fresh interpreter with another hash seed gives the same bytes."""
    code = (
        "import datetime, hashlib; from lol_platform.devtools.generator import MatchGenerator, encode; "
        "g = MatchGenerator(5, start_date=datetime.date(2024, 11, 20)); "
        "print(hashlib.sha256(b''.join(encode(m) for m in g.matches(50))).hexdigest())"
    )
    digests = {
        subprocess.run(
            [sys.executable, "-c", code], env={**os.environ, "PYTHONHASHSEED": seed},
            capture_output=True, text=True, check=True,
        ).stdout
        for seed in ("1", "2")
    }
    assert len(digests) == 1


# -- champions --------------------------------------------------------------------------------------------


def test_real_champion_names_and_ids():
    table = {name: cid for cid, name in CHAMPIONS}
    assert len(CHAMPIONS) >= 160
    assert len(table) == len(CHAMPIONS) == len({cid for cid, _ in CHAMPIONS})
    expected = {"Annie": 1, "Ahri": 103, "LeeSin": 64, "Jinx": 222, "Thresh": 412, "MonkeyKing": 62,
                "MissFortune": 21, "Kaisa": 145, "Chogath": 31, "KSante": 897}
    assert {name: table[name] for name in expected} == expected
    assert all(re.fullmatch(r"[A-Za-z]+", name) for name in table)  # Riot's spelling: no spaces or quotes
    # Every entry is a value the door accepts (the rulebook's champion_id and champion_name rules).
    fields = {f.name: f for f in PARTICIPANT_FIELDS}
    broken = [check_value(fields["champion_id"], cid, name) or check_value(fields["champion_name"], name, name) for cid, name in CHAMPIONS]
    assert [b for b in broken if b is not None] == []


def test_documents_use_the_table(matches):
    names = dict(CHAMPIONS)
    seen = Counter()
    for m in matches:
        for p in m["info"]["participants"]:
            assert names[p["championId"]] == p["championName"]
            seen[p["championId"]] += 1
    assert len(seen) > 0.9 * len(CHAMPIONS)  # nearly every champion shows up


def test_stronger_champions_win_more():
    games, wins = Counter(), Counter()
    for m in _generate(10_000, seed=3, matches_per_day=5000):
        for p in m["info"]["participants"]:
            games[p["championId"]] += 1
            wins[p["championId"]] += p["win"]
    by_strength = sorted(games, key=CHAMPION_STRENGTH.get)
    weakest, strongest = by_strength[:15], by_strength[-15:]

    def pooled(ids):
        return sum(wins[c] for c in ids) / sum(games[c] for c in ids)

    assert pooled(strongest) - pooled(weakest) > 0.08
    frequent = [c for c in by_strength if games[c] >= 300]
    rates = [wins[c] / games[c] for c in frequent]
    assert statistics.correlation([CHAMPION_STRENGTH[c] for c in frequent], rates) > 0.6
    assert max(rates) - min(rates) > 0.1


# -- wire format ------------------------------------------------------------------------------------------


def test_encode_is_compact_utf8_json_and_key_is_the_match_id(matches):
    korean = next(m for m in matches if any(not p["riotIdGameName"].isascii() for p in m["info"]["participants"]))
    for m in (matches[0], korean):
        raw = encode(m)
        assert isinstance(raw, bytes) and json.loads(raw.decode("utf-8")) == m
        assert b", " not in raw and b'": ' not in raw
        assert key(m) == m["metadata"]["matchId"].encode()
    assert "\\u" not in encode(korean).decode("utf-8")  # real UTF-8, not ASCII escapes
