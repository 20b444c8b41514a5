"""`make bench`: throughput and latency of each layer on this machine, written to bench/results.md.

Every figure is a median over repeats (this machine is noisy); ratios compare two ways of doing the same
work in the same run. Needs the stack (started here if it is not up, and stopped again afterwards).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import platform
import statistics
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "bench" / "results.md"
UTC = dt.timezone.utc


def _stack_config():
    from lol_stack.config import StackConfig

    return StackConfig()


# The bench's resources follow the stack's ports (the LOL_*_PORT settings), like the integration tests: a bench
# run beside another stack on the default ports must not write into it.
def _lake():
    from lol_platform.resources import LakeResource

    c = _stack_config()
    return LakeResource(root=f"hdfs://{c.host}:{c.namenode_rpc_port}/bench/{uuid.uuid4().hex[:6]}", webhdfs_port=c.namenode_http_port)


def _kafka(topic: str):
    from lol_platform.resources import KafkaResource

    c = _stack_config()
    return KafkaResource(bootstrap_servers=f"{c.host}:{c.kafka_port}", topic=topic)


def _cassandra():
    from lol_platform.resources import CassandraResource

    c = _stack_config()
    return CassandraResource(hosts=c.host, port=c.cassandra_port)


def _elasticsearch(index: str):
    from lol_platform.resources import ElasticsearchResource

    c = _stack_config()
    return ElasticsearchResource(url=f"http://{c.host}:{c.elasticsearch_port}", index=index)


def _median_time(fn, repeats: int) -> float:
    samples = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t0)
    return statistics.median(samples)


def bench_generator(results: dict) -> None:
    from lol_platform.devtools.generator import MatchGenerator, encode

    n = 5_000
    gen_s = _median_time(lambda: list(MatchGenerator(seed=1, start_date=dt.date(2026, 1, 1)).matches(n)), 5)
    enc_s = _median_time(lambda: [encode(m) for m in MatchGenerator(seed=1, start_date=dt.date(2026, 1, 1)).matches(n)], 5)
    results["generator_matches_per_s"] = round(n / gen_s)
    results["generator_with_json_matches_per_s"] = round(n / enc_s)


def bench_contract(results: dict) -> None:
    from lol_platform.devtools.generator import MatchGenerator, encode
    from lol_platform.ingestion.landing import build_batch
    from lol_platform.resources.kafka import KafkaMessage

    payloads = [encode(m) for m in MatchGenerator(seed=2, start_date=dt.date(2026, 1, 1)).matches(5_000)]
    messages = [KafkaMessage("bench", 0, i, p) for i, p in enumerate(payloads)]
    seconds = _median_time(lambda: build_batch(messages, dt.datetime.now(UTC)), 5)
    results["contract_flatten_messages_per_s"] = round(len(messages) / seconds)


def _produce(kafka, payloads: list[bytes]) -> None:
    producer = kafka.producer()
    for p in payloads:
        while True:
            try:
                producer.produce(kafka.topic, value=p)
                break
            except BufferError:
                producer.poll(0.2)
    producer.flush(60)


def bench_ingestion(results: dict) -> None:
    """Kafka -> HDFS through the sensor's own tick function: rows landed per second."""
    from lol_platform.devtools.generator import MatchGenerator, encode
    from lol_platform.ingestion.sensor import IngestSettings
    from lol_platform.ingestion.sensor import ingest_tick

    kafka = _kafka(f"bench_ingest_{uuid.uuid4().hex[:6]}")
    kafka.ensure_topic()
    lake = _lake()
    n = 20_000
    _produce(kafka, [encode(m) for m in MatchGenerator(seed=3, start_date=dt.date(2026, 1, 1), days=3, matches_per_day=n / 3).matches(n)])
    settings = IngestSettings(max_messages=5_000, max_seconds=20)
    cursor: dict[int, int] = {}
    ticks, rows = [], 0
    t0 = time.perf_counter()
    while True:
        t = time.perf_counter()
        cursor, report, _ = ingest_tick(cursor, kafka, lake, settings)
        if report is None:
            break
        ticks.append(time.perf_counter() - t)
        rows += sum(p.rows for p in report.partitions.values())
    total = time.perf_counter() - t0
    results["ingest_matches"] = n
    results["ingest_rows_landed"] = rows
    results["ingest_rows_per_s"] = round(rows / total)
    results["ingest_tick_median_s_for_5000_messages"] = round(statistics.median(ticks), 2)


def bench_stream_latency(results: dict) -> None:
    """Produce-to-searchable: from produce() to the document answering a search, while the stream runs."""
    from lol_platform.devtools.generator import MatchGenerator, encode

    with _running_indexer("stream") as (kafka, es, producer):
        gen = MatchGenerator(seed=4, start_date=dt.date(2026, 1, 1))
        latencies = [_searchable_latency(kafka, es, producer, gen.match()) for _ in range(30)]
        # Throughput: a backlog of 10,000 matches (100,000 documents) drained by one indexer.
        _produce(kafka, [encode(m) for m in gen.matches(10_000)])
        t0 = time.perf_counter()
        es.client().indices.refresh(index=es.index)
        while es.client().count(index=es.index)["count"] < 100_030 and time.perf_counter() - t0 < 600:
            time.sleep(0.5)
            es.client().indices.refresh(index=es.index)
        drain_s = time.perf_counter() - t0
    results["stream_produce_to_searchable_median_s"] = round(statistics.median(latencies), 3)
    results["stream_produce_to_searchable_p95_s"] = round(_p95(latencies), 3)
    results["stream_docs_per_s"] = round(100_000 / drain_s)


def bench_stream_scaleout(results: dict) -> None:
    """The same backlog (4 Kafka partitions) drained by one `lol-platform stream` process and by two in one
    consumer group: documents per second from the first document searchable to the last."""
    from lol_platform.devtools.generator import MatchGenerator, encode

    matches = int(os.environ.get("LOL_BENCH_SCALEOUT_MATCHES", "10000"))
    payloads = [encode(m) for m in MatchGenerator(seed=15, start_date=dt.date(2026, 1, 1)).matches(matches)]
    for indexers in (1, 2):
        name = f"scaleout{indexers}_{uuid.uuid4().hex[:6]}"
        kafka, es = _kafka(f"bench_{name}"), _elasticsearch(f"lol_matches_stream_{name}")
        kafka.ensure_topic()
        _produce(kafka, payloads)
        es.ensure_index()
        env = {**os.environ, "LOL_BENCH_TOPIC": kafka.topic, "LOL_BENCH_INDEX": es.index, "LOL_BENCH_GROUP": f"bench-{name}"}
        procs = [subprocess.Popen([sys.executable, "-m", "lol_platform_tests.bench", "stream-indexer"], env=env,
                                  stdout=subprocess.DEVNULL) for _ in range(indexers)]  # fmt: skip
        try:
            first, last = _wait_for_documents(es, matches * 10, timeout_s=900)
        finally:
            for proc in procs:
                proc.terminate()
            for proc in procs:
                proc.wait(60)
            es.client().indices.delete(index=es.index, ignore=[404])
        results[f"stream_{indexers}_indexer{'s' if indexers > 1 else ''}_docs_per_s"] = round(matches * 10 / (last - first))
    results["stream_scaleout_matches"] = matches
    results["stream_two_indexers_speedup"] = round(results["stream_2_indexers_docs_per_s"] / results["stream_1_indexer_docs_per_s"], 2)


def _wait_for_documents(es, expected: int, timeout_s: float) -> tuple[float, float]:
    """(when the first document was searchable, when the expected count was), polling every 0.25 s."""
    client, first, t0 = es.client(), None, time.perf_counter()
    while time.perf_counter() - t0 < timeout_s:
        client.indices.refresh(index=es.index)
        count = client.count(index=es.index)["count"]
        now = time.perf_counter()
        first = first if first is not None or count == 0 else now
        if count >= expected:
            return first, now
        time.sleep(0.25)
    raise TimeoutError(f"{es.index}: fewer than {expected} documents after {timeout_s:.0f} s")


def stream_indexer_main() -> int:
    """One bench stream indexer (`python -m lol_platform_tests.bench stream-indexer`): `lol-platform stream`'s
    loop on LOL_BENCH_TOPIC, LOL_BENCH_INDEX and LOL_BENCH_GROUP, until SIGTERM."""
    from lol_platform.devtools.cli import stream_until_stopped
    from lol_platform.speed.indexer import StreamConfig

    kafka, es = _kafka(os.environ["LOL_BENCH_TOPIC"]), _elasticsearch(os.environ["LOL_BENCH_INDEX"])
    return stream_until_stopped(kafka, es, StreamConfig(group_id=os.environ["LOL_BENCH_GROUP"], max_attempts=None))


@contextlib.contextmanager
def _running_indexer(name: str):
    """A topic and an index of their own with one live stream indexer between them: (kafka, es, producer)."""
    from lol_platform.speed.indexer import StreamConfig, StreamIndexer

    kafka = _kafka(f"bench_{name}_{uuid.uuid4().hex[:6]}")
    kafka.ensure_topic()
    es = _elasticsearch(f"lol_matches_stream_{name}_{uuid.uuid4().hex[:6]}")
    stop = threading.Event()
    indexer = StreamIndexer(kafka, es, StreamConfig(group_id=f"bench-{uuid.uuid4().hex[:6]}", batch_max_seconds=0.2), log=lambda *_: None)
    try:
        with indexer:
            runner = threading.Thread(target=lambda: indexer.run(should_stop=stop.is_set, report_every_s=3600), daemon=True)
            runner.start()
            time.sleep(5)  # consumer group assignment
            try:
                yield kafka, es, kafka.producer(**{"linger.ms": 0})
            finally:
                stop.set()
                runner.join(30)
    finally:
        es.client().indices.delete(index=es.index, ignore=[404])


def _searchable_latency(kafka, es, producer, match) -> float:
    """Seconds from produce() to the match's first document answering a (non-realtime) lookup."""
    from lol_platform.devtools.generator import encode

    doc_id = f"{match['metadata']['matchId']}_1"
    t0 = time.perf_counter()
    producer.produce(kafka.topic, value=encode(match))
    producer.flush(10)
    while not es.client().exists(index=es.index, id=doc_id, realtime=False) and time.perf_counter() - t0 < 30:
        time.sleep(0.02)
    return time.perf_counter() - t0


def _p95(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[max(0, int(0.95 * len(ordered)) - 1)]


def bench_stream_busy(results: dict) -> None:
    """Produce -> searchable while a Spark batch run (one landed date, raw gate to Cassandra) is busy on the
    same 2 cores: one sample a second for as long as the run lasts."""
    from lol_platform.devtools.generator import MatchGenerator, encode
    from lol_platform_tests.integration.batch_support import land, run_batch

    matches = int(os.environ.get("LOL_BENCH_BUSY_MATCHES", "10000"))
    lake, cassandra = _lake(), _cassandra()
    day = dt.date(2025, 3, 10)
    land(lake, [encode(m) for m in MatchGenerator(seed=12, start_date=day, days=1, late_share=0.0, matches_per_day=matches).matches(matches)])
    with _running_indexer("busy") as (kafka, es, producer):
        gen = MatchGenerator(seed=13, start_date=dt.date(2026, 1, 2))
        batch = threading.Thread(target=lambda: run_batch(lake, cassandra, day), daemon=True)
        t0 = time.perf_counter()
        batch.start()
        latencies = []
        while batch.is_alive():
            latencies.append(_searchable_latency(kafka, es, producer, gen.match()))
            time.sleep(max(0.0, 1.0 - latencies[-1]))
        busy_s = time.perf_counter() - t0
    cassandra.close()
    results["stream_busy_batch_matches"] = matches
    results["stream_busy_batch_run_s"] = round(busy_s, 1)
    results["stream_busy_samples"] = len(latencies)
    results["stream_median_busy_s"] = round(statistics.median(latencies), 3)
    results["stream_p95_busy_s"] = round(_p95(latencies), 3)


def bench_backfill_30d(results: dict) -> None:
    """A backfill as one run against one run per date, on the same landed dates (default 30 x 10,000 matches;
    LOL_BENCH_BACKFILL_DAYS / LOL_BENCH_BACKFILL_PER_DAY size it, and the figures say which size ran)."""
    from lol_platform.devtools.generator import MatchGenerator, encode
    from lol_platform_tests.integration.batch_support import land, run_batch

    days = int(os.environ.get("LOL_BENCH_BACKFILL_DAYS", "30"))
    per_day = int(os.environ.get("LOL_BENCH_BACKFILL_PER_DAY", "10000"))
    lake, cassandra = _lake(), _cassandra()
    start = dt.date(2025, 4, 1)
    payloads = [encode(m) for m in MatchGenerator(seed=14, start_date=start, days=days, late_share=0.0, matches_per_day=per_day).matches(days * per_day)]
    for first in range(0, len(payloads), 10_000):
        land(lake, payloads[first : first + 10_000], first_offset=first)
    end = start + dt.timedelta(days=days - 1)
    t0 = time.perf_counter()
    run_batch(lake, cassandra, start, end)
    one_run_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    for i in range(days):
        run_batch(lake, cassandra, start + dt.timedelta(days=i))
    singles_s = time.perf_counter() - t0
    cassandra.close()
    results["backfill_days"] = days
    results["backfill_matches_per_day"] = per_day
    results["backfill_one_run_s"] = round(one_run_s, 1)
    results["backfill_single_date_runs_s"] = round(singles_s, 1)
    results["backfill_30d_speedup"] = round(singles_s / one_run_s, 2)


def bench_batch(results: dict) -> None:
    """Spark batch chain: one 3-day backfill as one run, against three single-date runs."""
    from lol_platform.devtools.generator import MatchGenerator, encode
    from lol_platform_tests.integration.batch_support import land, run_batch

    lake = _lake()
    cassandra = _cassandra()
    start = dt.date(2025, 2, 1)  # inside the partitions (LOL_PARTITIONS_START)
    per_day = 1_000
    land(lake, [encode(m) for m in MatchGenerator(seed=5, start_date=start, days=3, late_share=0.05, matches_per_day=per_day).matches(3 * per_day)])
    run_batch(lake, cassandra, start)  # warm-up: the JVM and the code paths
    singles = []
    for repeat in range(2):
        t0 = time.perf_counter()
        for i in range(3):
            run_batch(lake, cassandra, start + dt.timedelta(days=i))
        singles.append(time.perf_counter() - t0)
    backfills = []
    for repeat in range(2):
        t0 = time.perf_counter()
        run_batch(lake, cassandra, start, start + dt.timedelta(days=2))
        backfills.append(time.perf_counter() - t0)
    results["batch_matches_per_day"] = per_day
    results["batch_three_single_date_runs_s"] = round(statistics.median(singles), 1)
    results["batch_one_three_day_backfill_run_s"] = round(statistics.median(backfills), 1)
    results["batch_backfill_speedup"] = round(statistics.median(singles) / statistics.median(backfills), 2)
    cassandra.close()


def bench_spark_cluster(results: dict) -> None:
    """The same 3-day backfill run as a user runs it (`dagster asset materialize`, one process and one Spark
    application each) in local[2] and on the stack's two-worker standalone cluster; on one 2-core machine the
    cluster cannot be faster: the ratio is its overhead (executor start, shipping code and environment, RPC)."""
    import tempfile

    from lol_stack import Stack
    from lol_stack.services.spark import spark_services

    from lol_platform.devtools.generator import MatchGenerator, encode
    from lol_platform.devtools.spark_env import build_executor_env
    from lol_platform_tests.integration.batch_support import land

    names = [s.name for s in spark_services(Stack().config)]
    cluster = Stack(only=names, spark_cluster=True)
    started = [row["service"] for row in cluster.status() if row["state"] != "up"]
    if started:
        Stack(only=started, spark_cluster=True).up()
    try:
        lake = _lake()
        start, per_day = dt.date(2025, 2, 11), int(os.environ.get("LOL_BENCH_CLUSTER_PER_DAY", 1_000))
        land(lake, [encode(m) for m in MatchGenerator(seed=6, start_date=start, days=3, late_share=0.05, matches_per_day=per_day).matches(3 * per_day)])
        python_env = str(build_executor_env())
        cmd = [sys.executable, "-m", "dagster", "asset", "materialize", "-m", "lol_platform.definitions", "--select",
               "cleaned_participants,champion_stats,position_stats", "--partition-range", f"{start}...{start + dt.timedelta(days=2)}"]  # fmt: skip
        seconds = {}
        for mode, master in [("local", "local[2]"), ("cluster", cluster.service("spark-master").master_url)]:
            with tempfile.TemporaryDirectory() as home:
                (Path(home) / "dagster.yaml").write_text("")
                env = {**os.environ, "DAGSTER_HOME": home, "LOL_LAKE_ROOT": lake.root, "LOL_SPARK_MASTER": master,
                       "LOL_SPARK_PYTHON_ENV": python_env}  # fmt: skip
                t0 = time.perf_counter()
                proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
                seconds[mode] = time.perf_counter() - t0
                if proc.returncode != 0:
                    raise RuntimeError(f"the {mode} backfill failed:\n{proc.stderr[-3000:]}")
        results["cluster_matches_per_day"] = per_day
        results["cluster_backfill_local2_s"] = round(seconds["local"], 1)
        results["cluster_backfill_two_workers_s"] = round(seconds["cluster"], 1)
        results["cluster_overhead_ratio"] = round(seconds["cluster"] / seconds["local"], 2)
    finally:
        if started and os.environ.get("LOL_KEEP_STACK") != "1":
            Stack(only=started, spark_cluster=True).down()


def synthetic_cleaned(spark, matches: int, day: dt.date):
    """`matches` x 10 rows shaped like cleaned participants (every column, its type), made in Spark: the
    publish's input without the clean run in front of it. Values are filler; only shape and volume matter."""
    from pyspark.sql import functions as F

    from lol_core.schemas import CLEANED_PARTICIPANTS
    from spark_jobs.schema_conform import conform

    row = F.col("id")
    special = {
        "match_id": F.concat(F.lit("BENCH_"), (row / 10).cast("long").cast("string")),
        "match_date": F.lit(day),
        "participant_id": row % 10 + 1,
        "team_id": F.when(row % 10 < 5, 100).otherwise(200),
        "team_bans": F.array(*[F.lit(i) for i in range(5)]),
        "riot_id_game_name": F.concat(F.lit("player"), (row % 9973).cast("string")),
    }
    by_type = {"string": lambda n: F.concat(F.lit(n), (row % 97).cast("string")), "bool": lambda n: row % 2 == 0,
               "float64": lambda n: F.rand(7) * 10, "timestamp": lambda n: F.current_timestamp(), "date": lambda n: F.lit(day)}  # fmt: skip
    columns = [special.get(f.name, by_type.get(f.type, lambda n: row % 1000)(f.name)).alias(f.name) for f in CLEANED_PARTICIPANTS]
    return conform(spark.range(matches * 10).select(*columns), CLEANED_PARTICIPANTS)


def bench_cassandra_publish(results: dict) -> None:
    """The participants' publish alone (match partitions replaced in single-partition batches, then the date's
    index), on rows already cached in Spark: rows/s of the Cassandra write path, median of 3."""
    from lol_core.schemas import CLEANED_PARTICIPANTS, names
    from lol_platform.batch.cassandra_publish import publish_participants
    from lol_platform_tests.integration.batch_support import resources

    matches = int(os.environ.get("LOL_BENCH_PUBLISH_MATCHES", "20000"))
    cassandra = _cassandra()
    cassandra.session()  # the schema
    spark = resources(_lake(), cassandra)["pyspark"].spark_session
    day = dt.date(2025, 3, 20)
    rows = synthetic_cleaned(spark, matches, day).persist()
    rows.count()
    rates, retries = [], 0
    for _ in range(3):
        report = publish_participants(rows, names(CLEANED_PARTICIPANTS), cassandra, [day])
        rates.append(report.rows_per_s)
        retries += report.write.retries
    rows.unpersist()
    results["cassandra_publish_micro_rows"] = matches * 10
    results["cassandra_publish_micro_rows_per_s"] = round(statistics.median(rates))
    results["cassandra_publish_micro_retries"] = retries
    cassandra.close()


class PeakRss(threading.Thread):
    """Samples the resident memory of this process and its children (the Spark JVM) until stopped."""

    def __init__(self, interval_s: float = 0.5):
        super().__init__(daemon=True)
        self.interval_s, self.peak_mb, self._stop_event = interval_s, 0.0, threading.Event()

    def run(self):
        while not self._stop_event.wait(self.interval_s):
            self.peak_mb = max(self.peak_mb, _tree_rss_mb(os.getpid()))

    def stop(self) -> float:
        self._stop_event.set()
        self.join()
        return round(self.peak_mb)


def _tree_rss_mb(pid: int) -> float:
    out = subprocess.run(["ps", "-e", "-o", "pid=,ppid=,rss="], capture_output=True, text=True).stdout.split("\n")
    rows = [tuple(int(x) for x in line.split()) for line in out if line.strip()]
    tree, grew = {pid}, True
    while grew:
        grew = False
        for child, parent, _ in rows:
            if parent in tree and child not in tree:
                tree.add(child)
                grew = True
    return sum(rss for p, _, rss in rows if p in tree) / 1024


def _materialization(result, asset: str) -> dict:
    for event in result.get_asset_materialization_events():
        if event.asset_key.to_user_string() == asset:
            return {k: v.value for k, v in event.materialization.metadata.items()}
    raise AssertionError(f"{asset} was not materialized")


def bench_real_day(results: dict) -> None:
    """One date of 100,000 matches (1M participant rows): landed in sensor-sized batches, then the whole
    chain (raw gate, clean, both stats, every check, Cassandra) as one run, Spark start included."""
    from dagster import DagsterInstance

    from lol_platform.devtools.generator import MatchGenerator, encode
    from lol_platform_tests.integration.batch_support import land, run_batch

    matches = int(os.environ.get("LOL_BENCH_DAY_MATCHES", "100000"))
    lake = _lake()
    cassandra = _cassandra()
    day = dt.date(2025, 3, 3)
    payloads = [encode(m) for m in MatchGenerator(seed=11, start_date=day, days=1, late_share=0.0, matches_per_day=matches).matches(matches)]
    t0 = time.perf_counter()
    batch = 10_000
    for first in range(0, len(payloads), batch):
        land(lake, payloads[first : first + batch], first_offset=first)
    landing_s = time.perf_counter() - t0
    rss = PeakRss()
    rss.start()
    t0 = time.perf_counter()
    instance = DagsterInstance.ephemeral()
    result = run_batch(lake, cassandra, day, instance=instance)
    run_s = time.perf_counter() - t0
    peak = rss.stop()
    cleaned = _materialization(result, "cleaned_participants")
    stats = [_materialization(result, t) for t in ("champion_stats", "position_stats")]
    steps = _step_seconds(instance, result.run_id)
    transform = cleaned["stage_seconds"].get("clean", 0) + sum(s["stage_seconds"].get("aggregate", 0) for s in stats)
    results["day_matches"] = matches
    results["day_rows"] = cleaned["dagster/row_count"]
    results["day_1m_rows_run_s"] = round(run_s, 1)
    results["day_step_seconds"] = steps
    results["day_cleaned_stage_seconds"] = cleaned["stage_seconds"]
    results["cassandra_rows_per_s"] = cleaned["publish_rows_per_s"]
    results["cassandra_publish_retries"] = cleaned["publish_retries"]
    results["spark_transform_s"] = round(transform, 1)
    results["raw_gate_1m_rows_s"] = next((s for k, s in steps.items() if k.endswith("raw_matches_contract")), None)
    results["landing_matches_per_s"] = round(matches / landing_s)
    results["day_1m_peak_rss_mb"] = peak
    results["polars_floor_s"] = round(polars_floor_s(_read_raw_date(lake, day)), 2)
    results["spark_transform_vs_polars_floor"] = round(transform / results["polars_floor_s"], 1)
    cassandra.close()


class _PolarsOps:
    def safe_div(self, numerator, denominator):
        import polars as pl

        return pl.when(denominator > 0).then(numerator / denominator).otherwise(0.0)

    def at_least_one(self, value):
        import polars as pl

        return pl.max_horizontal(value, pl.lit(1.0))


def polars_floor_s(raw) -> float:
    """The batch transform's work on the same raw rows in one polars process: newest copy per participant,
    the features (the same formulas, lol_core.features), both daily aggregates with pick and ban rates.
    Median of 3; a floor to compare Spark's transform time with, not a second implementation to serve."""
    import polars as pl

    from lol_core.features import FEATURE_INPUTS, feature_columns

    def transform():
        df = pl.from_arrow(raw).lazy()
        df = df.sort("kafka_offset").unique(subset=["match_id", "participant_id"], keep="last")
        team = ["match_id", "team_id"]
        df = df.with_columns(
            pl.col("kills").sum().over(team).alias("team_kills"),
            pl.col("total_damage_dealt_to_champions").sum().over(team).alias("team_damage"),
        )
        cols = {c: pl.col(c).cast(pl.Float64) for c in FEATURE_INPUTS}
        df = df.with_columns(**feature_columns(cols, _PolarsOps())).collect()
        averages = [pl.col(c).mean().alias(f"avg_{c}") for c in ("kills", "deaths", "assists", "kda", "gpm", "cs_per_min", "dpm", "vision_score")]
        matches = df.select(pl.col("match_id").n_unique()).item()
        champions = df.group_by("match_date", "champion_name", "champion_id").agg(
            pl.len().alias("games_played"), pl.col("win").sum().alias("wins"), *averages
        ).with_columns((pl.col("games_played") / matches * 100).alias("pick_rate"))
        bans = df.filter(pl.col("participant_id").is_in([1, 6])).explode("team_bans").group_by("team_bans").agg(pl.len().alias("bans"))
        positions = df.group_by("match_date", "team_position").agg(pl.len().alias("games_played"), pl.col("win").sum().alias("wins"), *averages)
        champions = champions.join(bans, left_on="champion_id", right_on="team_bans", how="left").with_columns(
            (pl.col("bans").fill_null(0) / matches * 100).alias("ban_rate")
        )
        return champions.height + positions.height

    return _median_time(transform, 3)


def _read_raw_date(lake, day: dt.date):
    import pyarrow as pa

    relative = f"data/lol_matches/{day:%Y/%m/%d}"
    return pa.concat_tables([lake.read_parquet(lake.relative(f)) for f in lake.list_files(relative)], promote_options="default")


def _step_seconds(instance, run_id: str) -> dict[str, float]:
    """Seconds per step of a run, from the timestamps of its step start and success events."""
    started, seconds = {}, {}
    for entry in instance.all_logs(run_id):
        event = entry.dagster_event
        if event is None:
            continue
        if event.event_type_value == "STEP_START":
            started[event.step_key] = entry.timestamp
        elif event.event_type_value == "STEP_SUCCESS" and event.step_key in started:
            seconds[event.step_key] = round(entry.timestamp - started[event.step_key], 1)
    return seconds


def machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name")), platform.processor())
    mem_gb = round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30)
    java = subprocess.run(["java", "-version"], capture_output=True, text=True).stderr.splitlines()[0]
    return f"{os.cpu_count()} cores ({cpu}), {mem_gb} GiB, Python {platform.python_version()}, {java}"


def main() -> int:
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    from lol_stack import Stack

    stack = Stack()
    started = [row["service"] for row in stack.status() if row["state"] != "up"]
    results: dict = {}
    only = set(filter(None, os.environ.get("LOL_BENCH_ONLY", "").split(",")))
    try:
        if started:
            t0 = time.perf_counter()
            stack.up()
            results["stack_start_s"] = round(time.perf_counter() - t0, 1)
        results["stack_rss_mb"] = _stack_rss_mb(stack)
        cases = [("generator", bench_generator), ("contract", bench_contract), ("ingestion", bench_ingestion),
                 ("stream", bench_stream_latency), ("stream_scaleout", bench_stream_scaleout), ("cassandra_publish", bench_cassandra_publish), ("real_day", bench_real_day), ("stream_busy", bench_stream_busy),
                 ("backfill_30d", bench_backfill_30d), ("batch", bench_batch),
                 ("spark_cluster", bench_spark_cluster)]  # fmt: skip
        for name, fn in [(n, f) for n, f in cases if not only or n in only]:
            print(f"== {name}", flush=True)
            t0 = time.perf_counter()
            try:
                fn(results)
            except Exception as exc:  # noqa: BLE001 - one failed case keeps the others' figures
                results[f"{name}_error"] = f"{type(exc).__name__}: {exc}"[:500]
            # When each case last ran: a LOL_BENCH_ONLY run keeps the other cases' figures from earlier runs.
            results.setdefault("case_measured_at", {})[name] = f"{dt.datetime.now(UTC):%Y-%m-%d %H:%M} UTC"
            print(f"   {time.perf_counter() - t0:.0f}s: " + json.dumps({k: v for k, v in results.items()}), flush=True)
    finally:
        if started and os.environ.get("LOL_KEEP_STACK") != "1":
            Stack(only=started).down()
    _write(results, partial=bool(only))
    return 0


def _stack_rss_mb(stack) -> dict:
    rss = {}
    for row in stack.status():
        if row["pid"]:
            out = subprocess.run(["ps", "-o", "rss=", "-g", str(row["pid"])], capture_output=True, text=True).stdout.split()
            rss[row["service"]] = round(sum(int(x) for x in out) / 1024)
    return rss


def _write(results: dict, partial: bool = False) -> None:
    OUT.parent.mkdir(exist_ok=True)
    if partial and (OUT.parent / "results.json").exists():
        # LOL_BENCH_ONLY ran some cases: the others keep their last figures.
        earlier = json.loads((OUT.parent / "results.json").read_text())
        earlier.pop("machine", None)
        for name in results.get("case_measured_at", {}):  # a case that ran again drops its earlier failure
            earlier.pop(f"{name}_error", None)
        measured_at = {**earlier.get("case_measured_at", {}), **results.get("case_measured_at", {})}
        results = {**earlier, **results, "case_measured_at": measured_at}
    lines = [
        "# Benchmark results", "",
        f"Measured {dt.datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {machine()}. `make bench` rewrites this file.",
        "Figures are medians over repeats; the machine is shared and noisy, so compare ratios within a run.", "",
        "| measure | value |", "|---|---|",
    ]  # fmt: skip
    lines += [f"| {k} | {v} |" for k, v in results.items()]
    OUT.write_text("\n".join(lines) + "\n")
    (OUT.parent / "results.json").write_text(json.dumps({"machine": machine(), **results}, indent=2) + "\n")
    print(f"written {OUT}")


if __name__ == "__main__":
    sys.exit(stream_indexer_main() if sys.argv[1:] == ["stream-indexer"] else main())
