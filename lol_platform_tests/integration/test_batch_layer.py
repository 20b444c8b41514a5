"""Batch layer on real Spark + HDFS + Cassandra: exact stats, backfills, idempotence, gates."""

from __future__ import annotations

import datetime as dt

import pytest
from dagster import AssetSelection

from lol_platform.devtools.generator import MatchGenerator, encode
from lol_platform_tests.integration.batch_support import cassandra_rows, lake_rows, land, run_batch
from lol_platform_tests.support.matches import encode as encode_doc
from lol_platform_tests.support.matches import make_match

pytestmark = pytest.mark.stack
UTC = dt.timezone.utc


def _stat(rows: list[dict], key: str, value) -> dict:
    return next(r for r in rows if r[key] == value)


def test_one_partition_end_to_end_gives_the_exact_expected_stats(hdfs_lake, cassandra, spark):
    day = dt.date(2025, 3, 1)
    at = dt.datetime.combine(day, dt.time(12), UTC)
    # Match A: 30 min, team 100 wins. Match B: 40 min, team 200 wins. Same ten champions in both.
    land(hdfs_lake, [encode_doc(make_match("EUW1_A", at, 1800, 100)), encode_doc(make_match("EUW1_B", at, 2400, 200))])
    result = run_batch(hdfs_lake, cassandra, day)
    assert result.success
    assert all(e.passed for e in result.get_asset_check_evaluations())

    champions = lake_rows(spark, hdfs_lake, "lol_champion_stats", "stat_date", day, day)
    assert len(champions) == 10
    champ1 = _stat(champions, "champion_name", "Champ1")  # TOP, team 100: kills 0, deaths 2, assists 3, gold 9000
    assert (champ1["games_played"], champ1["wins"], champ1["win_rate"]) == (2, 1, 50.0)
    assert champ1["avg_kda"] == pytest.approx(1.5)
    assert champ1["avg_gpm"] == pytest.approx((9000 / 30 + 9000 / 40) / 2)
    assert champ1["pick_rate"] == 100.0 and champ1["ban_rate"] == 0.0
    champ4 = _stat(champions, "champion_name", "Champ4")  # kills 3 of team 100's 10 kills, assists 3
    assert champ4["avg_kills"] == 3.0 and champ4["avg_cs_per_min"] == pytest.approx((160 / 30 + 160 / 40) / 2)

    positions = lake_rows(spark, hdfs_lake, "lol_position_stats", "stat_date", day, day)
    top = _stat(positions, "position", "TOP")  # Champ1 (kills 0) and Champ6 (kills 5) in both matches
    assert (top["games_played"], top["wins"], top["win_rate"]) == (4, 2, 50.0)
    assert top["avg_kills"] == 2.5
    assert top["avg_gpm"] == pytest.approx((9000 / 30 + 9000 / 40 + 9500 / 30 + 9500 / 40) / 4)

    # Cassandra holds the same numbers.
    served = cassandra_rows(cassandra, "champion_stats", [day])
    assert [(r["champion_name"], r["games_played"], r["win_rate"]) for r in served] == [
        (r["champion_name"], r["games_played"], r["win_rate"]) for r in sorted(champions, key=lambda r: r["champion_name"])
    ]
    assert _stat(served, "champion_name", "Champ1")["avg_gpm"] == pytest.approx(champ1["avg_gpm"])
    assert _stat(cassandra_rows(cassandra, "position_stats", [day]), "position", "TOP")["win_rate"] == 50.0
    assert cassandra.count_participants(day) == 20
    # The queries the platform's users run answer with this data.
    session = cassandra.session()
    # (one partition read: a full-table COUNT(*) times out once a date holds 100k matches)
    summary = session.execute("SELECT row_count, match_count FROM lol_data.date_summary WHERE match_date = %s AND table_name = 'match_participants'", [day]).one()
    assert (summary.row_count, summary.match_count) == (20, 2)
    rows = session.execute("SELECT champion_name, games_played, win_rate, avg_kda, avg_gpm FROM lol_data.champion_stats LIMIT 10").all()
    assert len(rows) == 10 and all(0 <= r.win_rate <= 100 and r.games_played > 0 for r in rows)


def _generated(start: dt.date, days: int, per_day: int, seed: int) -> list[bytes]:
    gen = MatchGenerator(seed=seed, start_date=start, days=days, late_share=0.1, matches_per_day=per_day)
    return [encode(m) for m in gen.matches(days * per_day)]


def test_a_three_day_backfill_is_one_run_and_equals_three_single_date_runs(hdfs_lake, cassandra, spark):
    # Three dates: a range with a first, a middle and a last date, each also run alone.
    start, end = dt.date(2025, 4, 1), dt.date(2025, 4, 3)
    dates = [start + dt.timedelta(days=i) for i in range(3)]
    land(hdfs_lake, _generated(start, 3, 15, seed=11))
    for day in dates:
        assert run_batch(hdfs_lake, cassandra, day).success
    singles = {t: lake_rows(spark, hdfs_lake, t, c, start, end) for t, c in
               [("lol_cleaned_participants", "match_date"), ("lol_champion_stats", "stat_date"), ("lol_position_stats", "stat_date")]}  # fmt: skip
    singles_served = cassandra_rows(cassandra, "champion_stats", dates)

    backfill = run_batch(hdfs_lake, cassandra, start, end)
    assert backfill.success
    steps = [e for e in backfill.all_events if e.event_type_value == "STEP_SUCCESS"]
    # each step once, over the whole range
    assert sorted(e.step_key for e in steps) == ["champion_stats", "cleaned_participants", "position_stats", "raw_matches_raw_matches_contract"]
    materialized = {e.asset_key.to_user_string() for e in backfill.get_asset_materialization_events()}
    assert materialized == {"cleaned_participants", "champion_stats", "position_stats"}
    # One run, one Spark application: the three Spark steps shared a single session (one JVM).
    app_ids = {e.materialization.metadata["spark_application_id"].value for e in backfill.get_asset_materialization_events()}
    assert len(app_ids) == 1
    for table, rows in singles.items():
        date_column = "match_date" if "cleaned" in table else "stat_date"
        again = lake_rows(spark, hdfs_lake, table, date_column, start, end)
        if table == "lol_cleaned_participants":
            rows = [{k: v for k, v in r.items() if k != "ingested_at"} for r in rows]
            again = [{k: v for k, v in r.items() if k != "ingested_at"} for r in again]
        assert again == rows, table
    assert cassandra_rows(cassandra, "champion_stats", dates) == singles_served
    assert len(singles["lol_cleaned_participants"]) == 3 * 15 * 10


def test_rerunning_a_date_changes_nothing_in_the_lake_or_cassandra(hdfs_lake, cassandra, spark):
    day = dt.date(2025, 5, 1)
    land(hdfs_lake, _generated(day, 1, 20, seed=21))
    assert run_batch(hdfs_lake, cassandra, day).success
    first = (lake_rows(spark, hdfs_lake, "lol_champion_stats", "stat_date", day, day), cassandra_rows(cassandra, "champion_stats", [day]),
             cassandra.count_participants(day))  # fmt: skip
    assert run_batch(hdfs_lake, cassandra, day).success
    again = (lake_rows(spark, hdfs_lake, "lol_champion_stats", "stat_date", day, day), cassandra_rows(cassandra, "champion_stats", [day]),
             cassandra.count_participants(day))  # fmt: skip
    assert again == first and first[2] == 200


def test_bad_rows_are_quarantined_with_reasons_and_a_contract_violation_stops_downstream(hdfs_lake, cassandra, spark):
    import pyarrow as pa

    from lol_core.door import parse_match
    from lol_platform.ingestion.landing import RAW_SCHEMA

    day = dt.date(2025, 6, 1)
    at = dt.datetime.combine(day, dt.time(9), UTC)
    land(hdfs_lake, [encode_doc(make_match("EUW1_ok", at))])
    # A foreign writer drops a file the sensor would never have accepted: a negative kill count.
    rows = parse_match(encode_doc(make_match("EUW1_bad", at)))
    rows[0]["kills"] = -4
    for r in rows:
        r.update(kafka_topic="manual", kafka_partition=0, kafka_offset=1, ingested_at=at)
    hdfs_lake.write_parquet(pa.Table.from_pylist(rows, schema=RAW_SCHEMA), "data/lol_matches/2025/06/01/manual-upload.parquet")

    gated = run_batch(hdfs_lake, cassandra, day, raise_on_error=False)
    raw_check = next(e for e in gated.get_asset_check_evaluations() if e.check_name == "raw_matches_contract")
    assert not raw_check.passed
    assert raw_check.metadata["failing_by_rule"].value == {"kills.min": 1}
    assert not gated.get_asset_materialization_events()  # the gate held: nothing downstream ran

    # Run without the gate (as a user forcing it would): cleaning still quarantines the bad match with its reason.
    forced = run_batch(hdfs_lake, cassandra, day, selection=AssetSelection.assets("cleaned_participants"))
    meta = forced.get_asset_materialization_events()[0].materialization.metadata
    assert meta["dagster/row_count"].value == 10 and meta["rows_quarantined"].value == 10
    assert any("kills" in reason for reason in meta["quarantine_reasons"].value)
    quarantine = spark.read.parquet(hdfs_lake.uri("data/lol_quarantine")).where(f"stage = 'clean' AND date = '{day}'").collect()
    assert {r.match_id for r in quarantine} == {"EUW1_bad"} and all(r.reason for r in quarantine)


def test_a_failed_gate_leaves_the_lake_and_cassandra_at_the_last_good_state(hdfs_lake, cassandra, spark, monkeypatch):
    """Write-audit-publish: a date is gated in staging; when a blocking gate fails, the staged rows are dropped
    and neither the lake nor Cassandra changes (the gate is made to fail by a test hook on the verdict)."""
    import lol_platform.batch.assets as batch_assets
    from lol_platform.gates.pandera_spark import ContractResult
    from spark_jobs import lake_commit

    day = dt.date(2025, 7, 1)
    at = dt.datetime.combine(day, dt.time(10), UTC)
    land(hdfs_lake, [encode_doc(make_match("EUW1_v1a", at)), encode_doc(make_match("EUW1_v1b", at, 2400, 200))])
    assert run_batch(hdfs_lake, cassandra, day).success
    good = (lake_rows(spark, hdfs_lake, "lol_cleaned_participants", "match_date", day, day),
            lake_rows(spark, hdfs_lake, "lol_champion_stats", "stat_date", day, day),
            sorted(cassandra.indexed_matches(day).items()), cassandra_rows(cassandra, "champion_stats", [day]))  # fmt: skip
    assert len(good[0]) == 20 and len(good[2]) == 2

    # A third match lands; this time the cleaned contract rejects the date.
    land(hdfs_lake, [encode_doc(make_match("EUW1_v2", at))], first_offset=2)
    real = batch_assets.validate_frame

    def rejecting(df, fields, name, *args):
        verdict = real(df, fields, name, *args)
        return ContractResult(False, verdict.rows, failures={"injected.by_test": verdict.rows}) if name == "cleaned_participants" else verdict

    monkeypatch.setattr(batch_assets, "validate_frame", rejecting)
    gated = run_batch(hdfs_lake, cassandra, day, raise_on_error=False)
    checks = {e.check_name: e.passed for e in gated.get_asset_check_evaluations()}
    assert checks["cleaned_participants_contract"] is False and checks["cassandra_matches_lake"] is False
    meta = gated.get_asset_materialization_events()[0].materialization.metadata
    assert meta["committed_to_lake"].value is False and meta["rows_in"].value == 30
    after = (lake_rows(spark, hdfs_lake, "lol_cleaned_participants", "match_date", day, day),
             lake_rows(spark, hdfs_lake, "lol_champion_stats", "stat_date", day, day),
             sorted(cassandra.indexed_matches(day).items()), cassandra_rows(cassandra, "champion_stats", [day]))  # fmt: skip
    assert after == good  # the staged 30 rows never reached a reader of either store
    assert lake_commit.leftovers(spark, hdfs_lake.root) == []

    # The gate passes again: the date moves to the new state in both stores.
    monkeypatch.setattr(batch_assets, "validate_frame", real)
    assert run_batch(hdfs_lake, cassandra, day).success
    assert len(lake_rows(spark, hdfs_lake, "lol_cleaned_participants", "match_date", day, day)) == 30
    assert sorted(cassandra.indexed_matches(day)) == ["EUW1_v1a", "EUW1_v1b", "EUW1_v2"]
    assert lake_commit.leftovers(spark, hdfs_lake.root) == []
