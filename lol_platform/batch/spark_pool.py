"""The Spark pool: one Spark run at a time on this machine, whoever launches it.

A run of a Spark asset holds a ~1 GB JVM and the machine has 2 cores. The assets are in a Dagster
concurrency pool (not a tag: op tags never reach the run queue's tag limits), and dagster.yaml gives every
pool a limit of one run at a time (granularity `run`): automation, backfills, the healing sensor and the UI
all queue behind it, so a date is never written by two Spark runs at once.
"""

from __future__ import annotations

from dagster import DagsterInstance

SPARK_POOL = "lol_spark"
POOLS = (SPARK_POOL,)
# Run tag that marks runs of Spark assets for people (UI filters); the limit itself is the pool.
SPARK_TAGS = {"lol_platform/spark": "true"}


def ensure_pool_limits(instance: DagsterInstance, pools=POOLS) -> dict[str, int]:
    """Write each pool's configured default limit now, instead of on first use.

    Dagster's run queue reads the pools that have a limit before it writes the default for a new one, so in
    the queue iteration that first sees a pool nothing is limited: every queued run of it starts (seen under
    `make dev`: a UI backfill and an automation run of the same dates started together). Called by the
    `make dev` launcher before Dagster starts and by the healing sensor on every tick, for other instances.
    Returns the limits in force."""
    storage = instance.event_log_storage
    for pool in pools:
        storage.initialize_concurrency_limit_to_default(pool)
    return {p.name: p.limit for p in storage.get_pool_limits() if p.name in pools}
