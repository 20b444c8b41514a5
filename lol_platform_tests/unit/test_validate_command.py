"""`lol-platform validate`: the door as a command for producers, one line per message, never a traceback."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys

from lol_platform_tests.support.matches import encode, make_match, malformed_messages

TODAY = dt.datetime.now(dt.timezone.utc).replace(hour=12, minute=0, second=0, microsecond=0)


def _run(*paths: str, stdin: bytes | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "lol_platform.devtools.cli", "validate", *paths], input=stdin, capture_output=True, timeout=120)


def test_every_hostile_kind_is_rejected_with_its_rule_and_a_good_one_is_ok(tmp_path):
    bad = {name: message for name, (message, _) in malformed_messages(make_match(created=TODAY)).items() if message is not None}
    paths = []
    for i, message in enumerate(bad.values()):
        path = tmp_path / f"bad-{i:02d}.json"
        path.write_bytes(message)
        paths.append(str(path))
    good = tmp_path / "good.json"
    good.write_bytes(encode(make_match("EUW1_77", created=TODAY)))
    result = _run(str(good), *paths)
    lines = result.stdout.decode().splitlines()
    assert result.returncode == 1 and result.stderr == b""
    assert len(lines) == len(paths) + 1
    assert lines[0] == f"{good}: ok (EUW1_77, {TODAY.date()}, 10 participants)"
    expected = [rule for message, rule in malformed_messages(make_match(created=TODAY)).values() if message is not None]
    for line, path, rule in zip(lines[1:], paths, expected):
        assert line.startswith(f"{path}: rejected: {rule}"), line


def test_all_good_exits_0_and_standard_input_is_one_message(tmp_path):
    result = _run("-", stdin=encode(make_match("EUW1_5", created=TODAY)))
    assert result.returncode == 0 and result.stdout.decode().startswith("-: ok (EUW1_5")


def test_an_unreadable_path_is_named_without_a_traceback(tmp_path):
    result = _run(str(tmp_path / "missing.json"))
    assert result.returncode == 2 and b"cannot read" in result.stdout and b"Traceback" not in result.stderr


def test_produce_honours_lol_kafka_bootstrap_and_names_the_down_service_without_a_traceback():
    env = {**__import__("os").environ, "LOL_KAFKA_BOOTSTRAP": "127.0.0.1:1"}
    result = subprocess.run([sys.executable, "-m", "lol_platform.devtools.cli", "produce", "--count", "1"], capture_output=True, timeout=120, env=env)
    err = result.stderr.decode()
    assert result.returncode == 1
    assert "Kafka is not reachable at 127.0.0.1:1" in err and "LOL_KAFKA_BOOTSTRAP" in err
    assert "Traceback" not in err
