"""A test module's own service stack (its directory, its ports), for tests that must never meet the session
stack: the three-node stack, and the fault-injection suite that kills services with SIGKILL."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass


@dataclass
class OwnStack:
    stack: object  # lol_stack.Stack
    started_here: list[str]
    start_s: float


@contextmanager
def own_stack(config) -> Iterator[OwnStack]:
    """The stack of `config`, started unless already up, and at the end stopped (what was started here) unless
    LOL_KEEP_STACK=1 keeps it for the next run."""
    from lol_stack import Stack

    stack = Stack(config)
    started_here = [row["service"] for row in stack.status() if row["state"] != "up"]
    t0 = time.monotonic()
    if started_here:
        try:
            stack.up(progress=lambda line: print(line, flush=True))
        except Exception:
            Stack(config, only=started_here).down(progress=lambda line: None, grace_s=3)
            raise
    try:
        yield OwnStack(stack, started_here, round(time.monotonic() - t0, 1))
    finally:
        if started_here and os.environ.get("LOL_KEEP_STACK") != "1":
            # The stack is the test's own and every store in it survives SIGKILL: a short grace is enough
            # (nine JVMs of the three-node stack stopped gracefully one by one took a minute).
            stack.down(progress=lambda line: None, grace_s=3)
