"""The batch layer on the stack's Spark standalone cluster: the code and its dependencies reach the executors
the way a real cluster gets them, and a backfill gives exactly the rows local mode gives."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
from dagster import AssetSelection

from lol_platform.devtools.generator import MatchGenerator, encode
from lol_platform_tests.integration.batch_support import cassandra_rows, lake_rows, land, run_batch

pytestmark = [pytest.mark.stack, pytest.mark.spark_cluster]

REPO = Path(__file__).resolve().parents[2]
SPARK_ASSETS = ["cleaned_participants", "champion_stats", "position_stats"]
LAKE_TABLES = [("lol_cleaned_participants", "match_date"), ("lol_champion_stats", "stat_date"), ("lol_position_stats", "stat_date")]


def _json(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=5) as resp:
        return json.load(resp)


def _cluster_env(master, python_env: str, **settings: str) -> dict[str, str]:
    """The driver's environment for a run on the cluster: only settings change, nothing in the code."""
    return {**os.environ, "LOL_SPARK_MASTER": master.master_url, "LOL_SPARK_PYTHON_ENV": python_env, **settings}


def _executors_per_worker(master, app_id: str) -> dict[str, int]:
    """Executors each worker ran for the application, from the master's and the workers' JSON APIs."""
    state = _json(f"http://{master.config.host}:{master.config.spark_master_ui_port}/json/")
    assert app_id in {a["id"] for a in state["activeapps"] + state["completedapps"]}
    counts = {}
    for worker in state["workers"]:
        if worker["state"] != "ALIVE":
            continue
        own = _json(worker["webuiaddress"] + "/json/")
        counts[worker["id"]] = sum(e["appid"] == app_id for e in own["executors"] + own["finishedexecutors"])
    return counts


def test_executors_import_the_shipped_code_and_environment_not_the_drivers_install(spark_cluster, spark_python_env, unique_name):
    probe = Path(__file__).with_name("executor_probe.py")
    proc = subprocess.run([sys.executable, str(probe)], env=_cluster_env(spark_cluster, spark_python_env, LOL_SPARK_APP_NAME=f"probe_{unique_name}"),
                          capture_output=True, text=True, timeout=300)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    tasks, app_id = lines[:-1], lines[-1]["application_id"]
    assert len(tasks) == 4 and app_id.startswith("app-")
    for task in tasks:
        # The project from the zip the session shipped, cassandra-driver from the unpacked environment, whose
        # interpreter runs the task; what was not shipped (the rest of the project, dagster) is not there.
        assert "/lol_code-" in task["spark_jobs"] and task["spark_jobs"].endswith(".zip/spark_jobs/cassandra_sink.py")
        assert "/lol_code-" in task["lol_core"]
        assert task["python"] == f"{task['cwd']}/lol_env/bin/python"
        assert task["cassandra"].startswith(f"{task['cwd']}/lol_env/lib/")
        assert not task["lol_platform_importable"] and not task["dagster_importable"]
    per_worker = _executors_per_worker(spark_cluster, app_id)
    assert len(per_worker) == spark_cluster.config.spark_workers == 2 and all(n >= 1 for n in per_worker.values()), per_worker


def _generated(start: dt.date, days: int, per_day: int, seed: int) -> list[bytes]:
    gen = MatchGenerator(seed=seed, start_date=start, days=days, late_share=0.1, matches_per_day=per_day)
    return [encode(m) for m in gen.matches(days * per_day)]


def _served(cassandra, dates: list[dt.date]) -> dict[str, list[dict]]:
    session = cassandra.session()
    by_match = session.prepare("SELECT * FROM lol_data.match_participants WHERE match_date = ? AND match_id IN ?")
    participants = []
    for day in dates:
        ids = [r.match_id for r in session.execute("SELECT match_id FROM lol_data.matches_by_date WHERE match_date = %s", [day])]
        for i in range(0, len(ids), 50):
            participants += [r._asdict() for r in session.execute(by_match, [day, ids[i:i + 50]])]
    return {
        "match_participants": sorted(participants, key=lambda r: (r["match_id"], r["participant_id"])),
        "champion_stats": cassandra_rows(cassandra, "champion_stats", dates),
        "position_stats": cassandra_rows(cassandra, "position_stats", dates),
    }


def _spark_submit(master, python_env: str, job: str, start: dt.date, end: dt.date, lake_root: str) -> list[str]:
    """The README's spark-submit of a job to the cluster: the code zip and the packed environment ship with it."""
    import pyspark

    from lol_platform.resources.spark_shipping import build_code_zip

    return [
        str(Path(pyspark.__file__).parent / "bin" / "spark-submit"), "--master", master.master_url,
        "--py-files", str(build_code_zip()), "--archives", f"{python_env}#lol_env",
        "--conf", "spark.pyspark.python=./lol_env/bin/python", "--conf", f"spark.pyspark.driver.python={sys.executable}",
        "--conf", "spark.driver.host=127.0.0.1", "--conf", "spark.driver.bindAddress=127.0.0.1",
        # The platform's session setting; Spark's default of 200 shuffle partitions made the clean job 5x slower here.
        "--conf", "spark.sql.shuffle.partitions=8",
        str(REPO / "spark_jobs" / f"{job}_job.py"), "--date", str(start), "--end-date", str(end), "--lake-root", lake_root,
    ]  # fmt: skip


def test_a_backfill_on_the_cluster_gives_exactly_the_rows_of_local_mode(spark_cluster, spark_python_env, hdfs_lake, cassandra, spark,
                                                                         unique_name, tmp_path):  # fmt: skip
    # Two dates are a range (the jobs' and the run's multi-date path); the rows only need to fill both workers' tasks.
    start, end = dt.date(2025, 10, 1), dt.date(2025, 10, 2)
    dates = [start, end]
    land(hdfs_lake, _generated(start, 2, 60, seed=12))

    local = run_batch(hdfs_lake, cassandra, start, end, selection=AssetSelection.assets(*SPARK_ASSETS))
    assert local.success
    local_lake = {t: lake_rows(spark, hdfs_lake, t, c, start, end) for t, c in LAKE_TABLES}
    local_served = _served(cassandra, dates)
    assert len(local_lake["lol_cleaned_participants"]) == len(local_served["match_participants"]) > 1000
    assert {r["match_date"] for r in local_lake["lol_cleaned_participants"]} == set(dates)

    # The README's spark-submit on the cluster rewrites the same dates with the same rows: the clean job, and one
    # stats job (position_stats_job.py is the same stats_main with another StatsJob; all three entry points run
    # in local mode in unit/spark/test_jobs.py, and the Dagster run below runs all three steps on the cluster).
    for job in ("clean_participants", "champion_stats"):
        submitted = subprocess.run(_spark_submit(spark_cluster, spark_python_env, job, start, end, hdfs_lake.root),
                                   env={**os.environ, "SPARK_LOCAL_IP": "127.0.0.1"}, capture_output=True, text=True, timeout=300)  # fmt: skip
        assert submitted.returncode == 0, submitted.stdout[-2000:] + submitted.stderr[-3000:]
        assert f"{start}..{end}" in submitted.stdout
    assert {t: lake_rows(spark, hdfs_lake, t, c, start, end) for t, c in LAKE_TABLES} == local_lake

    # The same backfill as a user runs it, in its own process (one Spark application per run), on the cluster.
    app_name = f"lol_platform_cluster_{unique_name}"
    (tmp_path / "dagster.yaml").write_text("")
    cmd = [sys.executable, "-m", "dagster", "asset", "materialize", "-m", "lol_platform.definitions",
           "--select", ",".join(SPARK_ASSETS), "--partition-range", f"{start}...{end}"]  # fmt: skip
    env = _cluster_env(spark_cluster, spark_python_env, LOL_SPARK_APP_NAME=app_name, LOL_LAKE_ROOT=hdfs_lake.root,
                       DAGSTER_HOME=str(tmp_path))  # fmt: skip
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]

    assert {t: lake_rows(spark, hdfs_lake, t, c, start, end) for t, c in LAKE_TABLES} == local_lake
    assert _served(cassandra, dates) == local_served

    # The master ran the application, and both workers ran executors of it.
    state = _json(f"http://{spark_cluster.config.host}:{spark_cluster.config.spark_master_ui_port}/json/")
    app_ids = [a["id"] for a in state["activeapps"] + state["completedapps"] if a["name"] == app_name]
    assert len(app_ids) == 1, app_ids  # one run, one Spark application over both dates
    per_worker = _executors_per_worker(spark_cluster, app_ids[0])
    assert len(per_worker) == spark_cluster.config.spark_workers == 2 and all(n >= 1 for n in per_worker.values()), per_worker
