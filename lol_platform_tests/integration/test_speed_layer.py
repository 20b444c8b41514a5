"""Speed layer on real Kafka + Elasticsearch: exact documents, idempotent replays, outages, quarantine."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

from lol_platform.resources import ServiceUnavailable
from lol_platform.speed.indexer import StreamConfig, StreamIndexer
from lol_platform_tests.support.matches import encode, make_match, malformed_messages, sendable_on_default_topic

pytestmark = pytest.mark.stack
UTC = dt.timezone.utc


def _produce(kafka, payloads: list[bytes]) -> None:
    producer = kafka.producer()
    for i, payload in enumerate(payloads):
        producer.produce(kafka.topic, key=str(i).encode(), value=payload)
    assert producer.flush(30) == 0


def _matches(n: int, prefix: str) -> list[dict]:
    return [make_match(f"{prefix}_{i}", dt.datetime(2026, 1, 1 + i % 3, 10, tzinfo=UTC), duration_s=1200 + 60 * i, winner=100 + 100 * (i % 2))
            for i in range(n)]  # fmt: skip


def _docs(es, index: str) -> dict[str, dict]:
    es.indices.refresh(index=index)
    hits = es.search(index=index, body={"query": {"match_all": {}}, "size": 10_000})["hits"]["hits"]
    return {h["_id"]: h["_source"] for h in hits}


def _config(**kw) -> StreamConfig:
    return StreamConfig(group_id=f"stream-test-{uuid.uuid4().hex[:8]}", batch_max_messages=7, **kw)


def test_exactly_the_produced_documents_appear_with_their_values(kafka, elasticsearch):
    matches = _matches(12, "EUW1_exact")
    _produce(kafka, [encode(m) for m in matches])
    with StreamIndexer(kafka, elasticsearch, _config()) as indexer:
        stats = indexer.drain(max_seconds=60)
    assert stats.messages == 12 and stats.documents == 120 and stats.batches >= 2
    docs = _docs(elasticsearch.client(), elasticsearch.index)
    assert len(docs) == 120
    for match in matches:
        for p in match["info"]["participants"]:
            doc = docs[f"{match['metadata']['matchId']}_{p['participantId']}"]
            assert (doc["champion_name"], doc["kills"], doc["win"], doc["team_position"]) == (p["championName"], p["kills"], p["win"], p["teamPosition"])
            assert doc["game_duration_s"] == match["info"]["gameDuration"]
            assert doc["gpm"] == pytest.approx(p["goldEarned"] / (match["info"]["gameDuration"] / 60))
    assert stats.latency_percentiles()["p50_ms"] >= 0


def test_replaying_the_same_offsets_leaves_the_index_unchanged(kafka, elasticsearch):
    _produce(kafka, [encode(m) for m in _matches(5, "EUW1_replay")])
    with StreamIndexer(kafka, elasticsearch, _config()) as indexer:
        indexer.drain(max_seconds=60)
    before = _docs(elasticsearch.client(), elasticsearch.index)
    with StreamIndexer(kafka, elasticsearch, _config()) as replay:  # a new group reads every offset again
        stats = replay.drain(max_seconds=60)
    after = _docs(elasticsearch.client(), elasticsearch.index)
    assert stats.documents == 50
    assert len(after) == 50
    strip = lambda docs: {k: {f: v for f, v in d.items() if f != "indexed_at"} for k, d in docs.items()}  # noqa: E731
    assert strip(after) == strip(before)


def test_malformed_messages_are_quarantined_and_good_ones_in_the_same_batch_are_indexed(kafka, elasticsearch):
    bad = sendable_on_default_topic(malformed_messages(make_match("EUW1_bad")))
    payloads = [encode(make_match("EUW1_good1"))] + [m for m, _ in bad.values()] + [encode(make_match("EUW1_good2"))]
    _produce(kafka, payloads)
    with StreamIndexer(kafka, elasticsearch, _config()) as indexer:
        stats = indexer.drain(max_seconds=60)
        quarantine_index = indexer.quarantine_index
    assert stats.documents == 20 and stats.quarantined == len(bad)
    reasons = sorted(d["reason"] for d in _docs(elasticsearch.client(), quarantine_index).values())
    for _, expected in bad.values():
        assert any(expected in r for r in reasons), expected
    elasticsearch.client().indices.delete(index=quarantine_index, ignore=[404])


def test_elasticsearch_down_mid_stream_loses_nothing_and_doubles_nothing(kafka, elasticsearch, service_stack):
    config = _config(retry_initial_s=0.2, retry_max_s=0.5, max_attempts=3)
    _produce(kafka, [encode(m) for m in _matches(6, "EUW1_before")])
    es_service = service_stack.service("elasticsearch")
    try:
        with StreamIndexer(kafka, elasticsearch, config) as indexer:
            indexer.drain(max_seconds=60)
            es_service.stop()  # mid-stream: the consumer is live, Elasticsearch goes away
            _produce(kafka, [encode(m) for m in _matches(6, "EUW1_during")])
            with pytest.raises(ServiceUnavailable, match=r"Elasticsearch is not reachable at http://127\.0\.0\.1:\d+.*nothing committed"):
                indexer.drain(max_seconds=60)
    finally:
        if not es_service.is_running():
            es_service.start()
        es_service.wait_ready()
    with StreamIndexer(kafka, elasticsearch, config) as indexer:
        stats = indexer.drain(max_seconds=60)
    assert stats.messages == 6  # exactly the messages that were not acknowledged, read again
    docs = _docs(elasticsearch.client(), elasticsearch.index)
    assert len(docs) == 120 and sum(1 for k in docs if k.startswith("EUW1_during")) == 60


def test_two_indexers_in_one_group_share_the_partitions_and_index_everything_once(kafka, elasticsearch):
    import threading
    import time

    config = _config()  # one group id for both
    with StreamIndexer(kafka, elasticsearch, config) as a, StreamIndexer(kafka, elasticsearch, config) as b:
        deadline = time.monotonic() + 60
        while not (a._consumer.assignment() and b._consumer.assignment()) and time.monotonic() < deadline:
            a.step(), b.step()  # polling drives the group join
        assert a._consumer.assignment() and b._consumer.assignment(), "the group never split its partitions"
        _produce(kafka, [encode(m) for m in _matches(40, "EUW1_scale")])
        stats = {}
        threads = [threading.Thread(target=lambda n=n, ix=ix: stats.__setitem__(n, ix.drain(max_seconds=60))) for n, ix in (("a", a), ("b", b))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
    assert len(_docs(elasticsearch.client(), elasticsearch.index)) == 400
    assert sum(s.documents for s in stats.values()) == 400
    assert all(s.documents > 0 for s in stats.values()), {k: s.documents for k, s in stats.items()}


def test_the_asset_drains_the_backlog_with_its_run_config(kafka, elasticsearch):
    from dagster import materialize

    from lol_platform.speed.assets import match_stream_index

    _produce(kafka, [encode(m) for m in _matches(9, "EUW1_asset")])
    run_config = {"ops": {"match_stream_index": {"config": {"max_seconds": 60, "batch_max_messages": 4, "chunk_size": 25}}}}
    result = materialize([match_stream_index], resources={"stream_kafka": kafka, "elasticsearch": elasticsearch}, run_config=run_config)
    metadata = result.asset_materializations_for_node("match_stream_index")[0].metadata
    # 9 messages at 4 per micro-batch: the run config's batch size, not the default 2,000, shaped the run.
    assert metadata["documents_indexed"].value == 90 and metadata["micro_batches"].value == 3
    assert metadata["lag_after"].value == 0
    assert len(_docs(elasticsearch.client(), elasticsearch.index)) == 90
