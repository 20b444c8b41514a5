"""A real browser for the UI tests: Debian's chromium driven by Playwright (its own browser download unused)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
# No sandbox and no /dev/shm: CI runs as root in a container-like environment.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"]


def require_chromium() -> None:
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed: run `make browser`")


@contextlib.contextmanager
def open_page(timeout_ms: int = 30_000) -> Iterator:
    """A fresh page of a headless chromium, 1600x1000, closed on exit."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_context(viewport={"width": 1600, "height": 1000}).new_page()
            page.set_default_timeout(timeout_ms)
            yield page
        finally:
            browser.close()


def dismiss_welcome(page) -> None:
    """A fresh Dagster instance greets the first visitor with a 'Join the Dagster community' dialog."""
    skip = page.get_by_role("button", name="Skip")
    try:
        skip.wait_for(state="visible", timeout=5_000)
    except Exception:  # noqa: BLE001 - not shown: nothing to dismiss
        return
    skip.click()
    skip.wait_for(state="hidden")
