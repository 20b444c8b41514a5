"""`lol-platform`: the command line of the platform (stack, producer, validate, stream)."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path


def _stack(args: argparse.Namespace) -> int:
    from lol_stack import Stack, StackConfig
    from lol_stack.process import ServiceStartError

    # --secure is the same as LOL_STACK_SECURE=1: the locked-down stack, in .stack-secure unless LOL_STACK_DIR.
    overrides = {"nodes": args.nodes} if args.nodes else {}
    config = StackConfig(secure=True, **overrides) if args.secure else StackConfig(**overrides)
    stack = Stack(config, only=args.only or None, spark_cluster=args.spark_cluster or None)
    if config.secure and args.action != "fetch":
        print(f"secure stack in {config.stack_dir}")
    if args.action == "up":
        try:
            ready = stack.up()
        except ServiceStartError as exc:
            print(f"stack up failed:\n{exc}", file=sys.stderr)
            return 1
        print(f"stack up: {len(ready)} services ready (slowest {max(ready.values(), default=0):.1f}s)")
        if any(s.name == "spark-master" for s in stack.services):
            print(SPARK_CLUSTER_HINT.format(master=stack.service("spark-master").master_url))
        if config.secure:
            print(secure_hint(config))
        if config.multi_node:
            print(multi_node_hint(config))
    elif args.action == "down":
        stack.down()
    elif args.action == "fetch":
        stack.fetch()
        return 0
    _print_status(stack.status())
    return 0 if args.action == "down" or all(s["state"] == "up" for s in stack.status()) else 3


SECURE_HINT = """\
Credentials (generated for this stack directory, never committed): {credentials}
Load them into a shell (the platform's resources read these LOL_* names):
  set -a; . {shown}; set +a
Kafka {bootstrap}: SASL_SSL, SCRAM-SHA-512 or PLAIN, CA {ca}. Cassandra {cassandra}: TLS + passwords.
HDFS and Elasticsearch run as in the plain stack, without authentication (see README, "Locked-down local stack").
"""


MULTI_NODE_HINT = """\
Multi-node stack: {nodes} Kafka brokers and {nodes} Cassandra nodes. The platform's settings for it:
  export LOL_KAFKA_BOOTSTRAP={bootstrap}
  export LOL_KAFKA_REPLICATION_FACTOR={nodes} LOL_KAFKA_MIN_INSYNC_REPLICAS={majority}
  export LOL_CASSANDRA_HOSTS={cassandra} LOL_CASSANDRA_PORT={port}
  export LOL_CASSANDRA_REPLICATION={nodes} LOL_CASSANDRA_CONSISTENCY=QUORUM
"""


def multi_node_hint(config) -> str:
    from lol_stack.nodes import cassandra_hosts, kafka_bootstrap, majority

    return MULTI_NODE_HINT.format(nodes=config.nodes, majority=majority(config.nodes), bootstrap=kafka_bootstrap(config),
                                  cassandra=cassandra_hosts(config), port=config.cassandra_port)


def secure_hint(config) -> str:
    from lol_stack.security import credentials_path, load_credentials

    path = credentials_path(config)
    try:
        shown = path.relative_to(Path.cwd())
    except ValueError:
        shown = path
    creds = load_credentials(config)
    return SECURE_HINT.format(
        credentials=path, shown=shown, bootstrap=creds["LOL_KAFKA_BOOTSTRAP"], ca=creds["LOL_KAFKA_SSL_CA_LOCATION"],
        cassandra=f"{creds['LOL_CASSANDRA_HOSTS']}:{creds['LOL_CASSANDRA_PORT']}",
    )  # fmt: skip


SPARK_CLUSTER_HINT = """\
Spark cluster: {master}. Run the batch assets on it with
  export LOL_SPARK_MASTER={master}
  export LOL_SPARK_PYTHON_ENV=$(lol-platform spark-env)   # the executors' Python environment, built once
"""


def _spark_env(args: argparse.Namespace) -> int:
    from lol_platform.devtools.spark_env import build_executor_env

    print(build_executor_env(args.out_dir))
    return 0


def _spark_code(args: argparse.Namespace) -> int:
    from lol_platform.devtools.spark_env import code_zip_dir
    from lol_platform.resources.spark_shipping import build_code_zip

    print(build_code_zip(args.out_dir or code_zip_dir()))
    return 0


def _print_status(rows: list[dict]) -> None:
    print(f"{'SERVICE':<15}{'STATE':<10}{'PID':<9}{'ADDRESS':<58}LOG")
    for row in rows:
        print(f"{row['service']:<15}{row['state']:<10}{str(row['pid'] or '-'):<9}{row['address']:<58}{row['log']}")


def _produce(args: argparse.Namespace) -> int:
    from lol_platform.devtools.producer import produce_matches
    from lol_platform.resources import kafka_resource

    # The producer's own principal (LOL_KAFKA_PRODUCER_*): it may write the topic, nothing else.
    kafka = kafka_resource("PRODUCER").process_config_and_initialize()  # resolves the LOL_KAFKA_* settings
    stats = produce_matches(
        kafka, count=args.count, rate=args.rate, seed=args.seed, start_date=args.start_date,
        days=args.days, late_share=args.late_share, per_day=args.per_day,
    )  # fmt: skip
    print(f"sent {stats.sent}, delivered {stats.delivered}, failed {stats.failed} in {stats.seconds:.1f}s to {kafka.topic}")
    for err in stats.errors:
        print(f"  delivery error: {err}", file=sys.stderr)
    return 0 if stats.failed == 0 else 1


def _stream(args: argparse.Namespace) -> int:
    """Index until stopped. Outages never end it: at start-up (a service not up yet) and in the loop (see
    StreamIndexer.run) a failing Kafka or Elasticsearch is logged and retried with capped backoff."""
    from lol_platform.resources import build_resources
    from lol_platform.speed.indexer import StreamConfig

    resources = build_resources()
    # Outside a Dagster run the LOL_* settings (EnvVar fields) are only resolved by initializing the resource.
    kafka, es = (resources[name].process_config_and_initialize() for name in ("stream_kafka", "elasticsearch"))
    return stream_until_stopped(kafka, es, StreamConfig(max_attempts=None))  # live: wait out an outage, never skip


def stream_until_stopped(kafka, es, config) -> int:
    """`lol-platform stream`'s loop on the given resources, until SIGTERM or Ctrl-C (also run by the
    fault-injection suite on its own topic and index)."""
    import signal
    import time

    from lol_platform.resources import ServiceRejected, ServiceUnavailable
    from lol_platform.speed.indexer import StreamIndexer, retry_delay

    def log(line: str) -> None:
        print(f"{dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M:%S}Z {line}", flush=True)

    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(1))
    stats, delay = None, None
    try:
        while not stopping:
            try:
                with StreamIndexer(kafka, es, config, log=log) as indexer:
                    log(f"streaming {indexer.kafka.topic} -> {indexer.es.index} (group {config.group_id}); Ctrl-C to stop")
                    stats = indexer.run(should_stop=lambda: bool(stopping))
            except ServiceRejected:
                raise  # refused credentials or certificate: main() prints what to fix; waiting would not
            except ServiceUnavailable as exc:  # only start-up raises it: run() retries its own failures
                delay = retry_delay(delay, config.retry_initial_s, config.retry_max_s)
                log(f"cannot start yet: {exc} -- retrying in {delay:.1f}s")
                deadline = time.monotonic() + delay
                while not stopping and time.monotonic() < deadline:
                    time.sleep(0.2)
                continue
            break
    except KeyboardInterrupt:
        stats = None
    if stats:
        log(f"indexed {stats.documents} documents, quarantined {stats.quarantined}, latency {stats.latency_percentiles()}")
    return 0


def _validate(args: argparse.Namespace) -> int:
    """The door as a command: each path holds one message's bytes; one line per message, never a traceback."""
    from lol_core.door import ContractViolation, parse_match
    from lol_platform.partitions import date_window

    window, rejected, unreadable = date_window(), 0, 0
    for path in args.paths:
        try:
            value = sys.stdin.buffer.read() if path == "-" else open(path, "rb").read()
        except OSError as exc:
            print(f"{path}: cannot read: {exc.strerror or exc}", flush=True)
            unreadable += 1
            continue
        try:
            rows = parse_match(value, window)
        except ContractViolation as exc:
            print(f"{path}: rejected: {exc.reason}", flush=True)
            rejected += 1
            continue
        print(f"{path}: ok ({rows[0]['match_id']}, {rows[0]['match_date']}, {len(rows)} participants)", flush=True)
    return 2 if unreadable else 1 if rejected else 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="lol-platform", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    stack = sub.add_parser("stack", help="start, stop or inspect the local service stack")
    stack.add_argument("action", choices=["up", "down", "status", "fetch"])
    stack.add_argument("--only", nargs="*", help="limit to these services (kafka namenode datanode cassandra elasticsearch "
                       "spark-master spark-worker-1 spark-worker-2; with --nodes 3: kafka-1..3, cassandra-1..3)")
    stack.add_argument("--spark-cluster", action="store_true",
                       help="also a Spark standalone master and two workers (or LOL_STACK_SPARK_CLUSTER=1)")
    stack.add_argument("--nodes", type=int, choices=range(1, 10), metavar="N",
                       help="Kafka and Cassandra as N nodes each on 127.0.0.1..127.0.0.N (or LOL_STACK_NODES=N; "
                       "README \"Multi-node mode\")")
    stack.add_argument("--secure", action="store_true",
                       help="the locked-down stack (or LOL_STACK_SECURE=1): Kafka SASL_SSL with ACLs, Cassandra "
                       "with passwords, roles and TLS; credentials generated into <stack dir>/security; "
                       "stack dir .stack-secure unless LOL_STACK_DIR")
    stack.set_defaults(func=_stack)

    spark_env = sub.add_parser("spark-env", help="build (once) the Spark executors' packed Python environment; prints its path")
    spark_env.add_argument("--out-dir", type=Path, help="where to keep it (default: ~/.cache/lol_platform/spark)")
    spark_env.set_defaults(func=_spark_env)
    spark_code = sub.add_parser("spark-code", help="zip lol_core and spark_jobs for spark-submit --py-files; prints its path")
    spark_code.add_argument("--out-dir", type=Path, help="where to keep it (default: <stack dir>/spark)")
    spark_code.set_defaults(func=_spark_code)

    produce = sub.add_parser("produce", help="publish generated Match-V5 matches to Kafka")
    produce.add_argument("--count", type=int, default=None, help="matches to send (default: until Ctrl-C)")
    produce.add_argument("--rate", type=float, default=10.0, help="matches per second (0: as fast as possible)")
    produce.add_argument("--seed", type=int, default=0)
    produce.add_argument("--start-date", type=dt.date.fromisoformat, default=None, help="first match date (UTC)")
    produce.add_argument("--days", type=int, default=3, help="number of dates the matches spread over")
    produce.add_argument("--late-share", type=float, default=0.05, help="share of matches that arrive late")
    produce.add_argument("--per-day", type=float, default=None,
                         help="matches a date gets before the next (default: --count spread over --days, or 1,000 when endless)")  # fmt: skip
    produce.set_defaults(func=_produce)

    validate = sub.add_parser(
        "validate", help="check Match-V5 messages against the contract before sending them",
        description="Each PATH is one message (a file holding exactly its bytes; - for standard input). Prints "
        "'ok' or 'rejected: <rule>: <detail>' per message; exits 1 if any was rejected, 2 if a file could not be read.",
    )  # fmt: skip
    validate.add_argument("paths", nargs="+", metavar="PATH")
    validate.set_defaults(func=_validate)

    stream = sub.add_parser("stream", help="index the match stream into Elasticsearch until stopped")
    stream.set_defaults(func=_stream)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from lol_platform.resources import ServiceUnavailable

    try:
        return args.func(args)
    except ServiceUnavailable as exc:  # a service that is down: say which and where, not a traceback
        print(f"lol-platform {args.command}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
