"""The fault points of lol_core/faults.py: inert unless LOL_FAULT_DIR is set and the point armed; an armed point
holds exactly one caller until released; the places that call them are the documented ones."""

from __future__ import annotations

import json
import re
import threading
import time
from pathlib import Path

from lol_core import faults

REPO = Path(__file__).resolve().parents[2]


def test_a_point_is_inert_without_the_fault_dir(monkeypatch, tmp_path):
    monkeypatch.delenv(faults.FAULT_DIR_ENV, raising=False)
    (tmp_path / "x.arm").write_text("{}")
    t0 = time.monotonic()
    faults.point("x")
    assert time.monotonic() - t0 < 0.05
    assert not (tmp_path / "x.reached").exists()
    items = iter([1, 2, 3])
    assert faults.midway(items, 3, "x") is items  # not even wrapped


def test_an_unarmed_point_returns_at_once(monkeypatch, tmp_path):
    monkeypatch.setenv(faults.FAULT_DIR_ENV, str(tmp_path))
    faults.point("x")
    assert list(tmp_path.iterdir()) == []


def test_an_armed_point_holds_one_caller_until_released(monkeypatch, tmp_path):
    monkeypatch.setenv(faults.FAULT_DIR_ENV, str(tmp_path))
    (tmp_path / "x.arm").write_text(json.dumps({"hold_s": 30}))
    done = []
    holder = threading.Thread(target=lambda: (faults.point("x"), done.append(1)))
    holder.start()
    deadline = time.monotonic() + 5
    while not (tmp_path / "x.reached").exists():
        assert time.monotonic() < deadline
        time.sleep(0.01)
    reached = json.loads((tmp_path / "x.reached").read_text())
    assert reached["point"] == "x" and isinstance(reached["pid"], int)
    t0 = time.monotonic()
    faults.point("x")  # a second caller of the same arming passes
    assert time.monotonic() - t0 < 0.5
    time.sleep(0.2)
    assert not done, "the first caller went on before the release"
    (tmp_path / "x.release").touch()
    holder.join(5)
    assert done == [1]


def test_an_armed_point_gives_up_after_its_hold(monkeypatch, tmp_path):
    monkeypatch.setenv(faults.FAULT_DIR_ENV, str(tmp_path))
    (tmp_path / "x.arm").write_text(json.dumps({"hold_s": 0.3}))
    t0 = time.monotonic()
    faults.point("x")
    assert 0.25 <= time.monotonic() - t0 < 3


def test_midway_reaches_the_point_after_half_of_the_items(monkeypatch, tmp_path):
    monkeypatch.setenv(faults.FAULT_DIR_ENV, str(tmp_path))
    (tmp_path / "m.arm").write_text(json.dumps({"hold_s": 0.01}))
    taken = []
    for item in faults.midway(iter(range(10)), 10, "m"):
        taken.append(item)
        if item == 4:
            assert not (tmp_path / "m.reached").exists()
        if item == 5:
            assert (tmp_path / "m.reached").exists()
    assert taken == list(range(10))


def test_every_documented_point_is_called_once_in_the_code():
    doc = faults.__doc__
    documented = set(re.findall(r"^\| `([a-z_]+\.[a-z_]+)` \|", doc, re.MULTILINE))
    assert len(documented) == 8, documented
    calls: dict[str, int] = {}
    for package in ("lol_core", "lol_platform", "spark_jobs"):
        for path in (REPO / package).rglob("*.py"):
            for name in re.findall(r"faults\.(?:point|midway)\([^\"]*\"([a-z_]+\.[a-z_]+)\"", path.read_text()):
                calls[name] = calls.get(name, 0) + 1
    assert calls == {name: 1 for name in documented}

