"""`lol-platform`: the command line of the platform (stack, producer, stream)."""

from __future__ import annotations

import argparse
import sys


def _stack(args: argparse.Namespace) -> int:
    from lol_stack import Stack
    from lol_stack.process import ServiceStartError

    stack = Stack(only=args.only or None)
    if args.action == "up":
        try:
            ready = stack.up()
        except ServiceStartError as exc:
            print(f"stack up failed:\n{exc}", file=sys.stderr)
            return 1
        print(f"stack up: {len(ready)} services ready (slowest {max(ready.values(), default=0):.1f}s)")
    elif args.action == "down":
        stack.down()
    elif args.action == "fetch":
        stack.fetch()
        return 0
    _print_status(stack.status())
    return 0 if args.action == "down" or all(s["state"] == "up" for s in stack.status()) else 3


def _print_status(rows: list[dict]) -> None:
    print(f"{'SERVICE':<15}{'STATE':<10}{'PID':<9}{'ADDRESS':<22}LOG")
    for row in rows:
        print(f"{row['service']:<15}{row['state']:<10}{str(row['pid'] or '-'):<9}{row['address']:<22}{row['log']}")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="lol-platform", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    stack = sub.add_parser("stack", help="start, stop or inspect the local service stack")
    stack.add_argument("action", choices=["up", "down", "status", "fetch"])
    stack.add_argument("--only", nargs="*", help="limit to these services (kafka namenode datanode cassandra elasticsearch)")
    stack.set_defaults(func=_stack)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
