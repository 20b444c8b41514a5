"""`kafka_match_sensor`: each tick lands a bounded batch of matches in the lake and reports raw_matches.

The cursor holds the next offset per Kafka partition. It is returned (and so advanced) only after every
file of the batch is durably written; a tick that fails leaves it where it was, and the next tick
rewrites the same files (names derive from the offsets) before moving on.

The consumer group mirrors the cursor Dagster has persisted (each evaluation commits the cursor it was given),
never the offsets an evaluation is about to return: an evaluation can outlive the sensor timeout, or the daemon
can die before storing its result, and an empty cursor (a new instance) starts from the group's offsets.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
import uuid

from dagster import (
    AssetMaterialization,
    ConfigurableResource,
    DefaultSensorStatus,
    MetadataValue,
    SensorEvaluationContext,
    SensorResult,
    SkipReason,
    sensor,
)
from pydantic import Field

from lol_core import faults
from lol_core.dates import partition_key
from lol_core.lake_paths import raw_partition_dir
from lol_platform.ingestion.assets import raw_matches
from lol_platform.ingestion.landing import LandingReport, build_batch, land_batch
from lol_platform.partitions import date_window
from lol_platform.resources.kafka import KafkaResource
from lol_platform.resources.lake import LakeResource

BATCH_GROUP = "lol-platform-batch"


class IngestSettings(ConfigurableResource):
    """Bounds of one sensor tick: it must finish well inside Dagster's 60 s sensor timeout.

    A resource, not run config: a sensor evaluation has no run to configure (assets take run config)."""

    max_messages: int = Field(default=20_000, description="messages per tick at most")
    max_seconds: float = Field(default=20.0, description="seconds spent polling per tick at most")
    group_id: str = Field(default=BATCH_GROUP, description="consumer group mirrored with the cursor")
    lease_seconds: float = Field(
        default=180.0, description="how long a tick owns the landing before a dead tick's lease may be broken"
    )


# One evaluation at a time lands: a tick that outlives Dagster's sensor timeout keeps running in the code
# server while the next one starts from the same cursor; each would delete the other's files as stale.
LANDING_LEASE = "data/lol_matches/_landing.lease"  # `_` names are never read as data


class LandingBusy(Exception):
    """Another evaluation holds the landing lease."""


# Releasing the lease reads it back, which needs the lake: after a failure of the lake under the tick (a
# DataNode down holds the lease's block, the NameNode down) the release is retried for RELEASE_RETRY_S, and
# a lease still not released is remembered: its evaluation is over, so the next evaluation of this process
# releases it before taking its own, rather than every tick skipping until it expires (lease_seconds, 180 s
# without landing after a few seconds of HDFS outage). A lease whose evaluation may still be running (one
# that outlived the sensor timeout, or another process's) is never touched: it expires or is released.
RELEASE_RETRY_S = 15.0
_UNRELEASED: set[str] = set()
_UNRELEASED_LOCK = threading.Lock()


def _release(lake: LakeResource, holder: str) -> None:
    delay, deadline = 0.5, time.monotonic() + RELEASE_RETRY_S
    while True:
        try:
            lake.release_lease(LANDING_LEASE, holder)
            return
        except Exception:
            if time.monotonic() + delay > deadline:
                with _UNRELEASED_LOCK:
                    _UNRELEASED.add(holder)
                raise
            time.sleep(delay)
            delay = min(delay * 2, 4.0)


def _release_ended_evaluations(lake: LakeResource) -> None:
    with _UNRELEASED_LOCK:
        holders = sorted(_UNRELEASED)
    for holder in holders:
        try:
            lake.release_lease(LANDING_LEASE, holder)
        except Exception:  # the lake still fails: the tick will say so; try again next time
            continue
        with _UNRELEASED_LOCK:
            _UNRELEASED.discard(holder)


def decode_cursor(cursor: str | None) -> dict[int, int]:
    return {int(p): int(o) for p, o in json.loads(cursor).items()} if cursor else {}


def encode_cursor(offsets: dict[int, int]) -> str:
    return json.dumps({str(p): o for p, o in sorted(offsets.items())})


def ingest_tick(
    cursor: dict[int, int], kafka: KafkaResource, lake: LakeResource, settings: IngestSettings, log=None
) -> tuple[dict[int, int], LandingReport | None, object]:
    """One tick without Dagster around it: poll, land, and return the new offsets (or None if idle).
    Raises LandingBusy when another evaluation is landing."""
    lake.health_check()  # before polling: a down lake must not cost a poll
    _release_ended_evaluations(lake)
    holder = uuid.uuid4().hex
    if not lake.try_lease(LANDING_LEASE, holder, settings.lease_seconds):
        raise LandingBusy(f"another evaluation is landing (lease {lake.uri(LANDING_LEASE)}); this tick skips")
    try:
        faults.point("ingest.leased")  # test hook (lol_core/faults.py): off unless LOL_FAULT_DIR is set
        poll = kafka.poll_bounded(settings.group_id, cursor, settings.max_messages, settings.max_seconds)
        if not poll.messages:
            return cursor, None, poll
        batch = build_batch(poll.messages, dt.datetime.now(dt.timezone.utc), date_window())
        report = land_batch(lake, batch)
        faults.point("ingest.landed")
        return poll.next_offsets(), report, poll
    finally:
        _release(lake, holder)


@sensor(
    name="kafka_match_sensor",
    minimum_interval_seconds=30,
    default_status=DefaultSensorStatus.RUNNING,
    description="Lands Match-V5 messages from Kafka `lol_matches` as raw_matches Parquet partitions in the lake.",
)
def kafka_match_sensor(
    context: SensorEvaluationContext, kafka: KafkaResource, lake: LakeResource, ingest: IngestSettings
):
    cursor = decode_cursor(context.cursor)
    if cursor:
        kafka.commit(ingest.group_id, cursor)  # the persisted cursor only (see the module doc)
    try:
        offsets, report, poll = ingest_tick(cursor, kafka, lake, ingest)
    except LandingBusy as busy:
        return SkipReason(str(busy))
    if report is None:
        return SkipReason(f"no new messages on {kafka.topic} (lag 0, offsets {encode_cursor(offsets)})")
    events = [_materialization(lake, part, report, poll) for part in report.partitions.values()]
    context.log.info(
        f"landed {sum(p.rows for p in report.partitions.values())} rows in {len(report.partitions)} partitions, "
        f"quarantined {report.quarantined}, lag {poll.lag()}"
    )
    if report.quarantined and not report.partitions:
        context.update_cursor(encode_cursor(offsets))
        return SkipReason(f"all {report.quarantined} messages quarantined: {report.quarantine_reasons}")
    return SensorResult(asset_events=events, cursor=encode_cursor(offsets))


def _materialization(lake: LakeResource, part, report: LandingReport, poll) -> AssetMaterialization:
    files = lake.list_files(raw_partition_dir(part.date))
    return AssetMaterialization(
        asset_key=raw_matches.key,
        partition=partition_key(part.date),
        description=f"{part.rows} participant rows of {part.matches} matches landed",
        metadata={
            "batch_rows": part.rows,
            "batch_matches": part.matches,
            "batch_bytes": MetadataValue.int(part.bytes),
            "batch_files": MetadataValue.json(part.files),
            "offset_ranges": MetadataValue.json({str(k): list(v) for k, v in part.offset_ranges.items()}),
            "partition_files": len(files),
            "partition_bytes": sum(f.size for f in files),
            "path": MetadataValue.path(lake.uri(raw_partition_dir(part.date))),
            "quarantined_in_tick": report.quarantined,
            "quarantine_reasons": MetadataValue.json(report.quarantine_reasons),
            "stale_files_replaced": len(report.stale_files_removed),
            "kafka_lag_after_tick": poll.lag(),
            "poll_seconds": round(poll.seconds, 3),
            "write_seconds": round(report.seconds, 3),
        },
    )
