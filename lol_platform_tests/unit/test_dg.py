"""`dg` as an entry point: `dg check defs` passes and `dg dev` serves the same code location as `make dev`
(workspace.yaml): same location name, same assets and sensors."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import tomllib
import urllib.request
from pathlib import Path

import yaml

from lol_platform.definitions import defs

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def _env(**extra) -> dict:
    return {**os.environ, "PATH": f"{BIN}:{os.environ.get('PATH', '')}", **extra}


def test_dg_check_defs_passes():
    proc = subprocess.run([str(BIN / "dg"), "check", "defs"], cwd=REPO, env=_env(), capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "All definitions loaded successfully" in proc.stdout + proc.stderr


def test_dg_and_workspace_yaml_name_the_same_code_location():
    dg = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["dg"]["project"]
    (entry,) = yaml.safe_load((REPO / "workspace.yaml").read_text())["load_from"]
    assert (dg["code_location_target_module"], dg["code_location_name"]) == (entry["python_module"]["module_name"], entry["python_module"]["location_name"])


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


GRAPHQL = "{ workspaceOrError { ... on Workspace { locationEntries { name locationOrLoadError { __typename " \
          "... on RepositoryLocation { repositories { assetNodes { assetKey { path } } sensors { name } } } } } } } }"


def _location(port: int) -> dict | None:
    request = urllib.request.Request(f"http://127.0.0.1:{port}/graphql", data=json.dumps({"query": GRAPHQL}).encode(),
                                     headers={"Content-Type": "application/json"})  # fmt: skip
    try:
        entries = json.load(urllib.request.urlopen(request, timeout=5))["data"]["workspaceOrError"]["locationEntries"]
    except OSError:
        return None  # not serving yet
    loaded = [e for e in entries if e["locationOrLoadError"] and e["locationOrLoadError"]["__typename"] == "RepositoryLocation"]
    return loaded[0] if loaded else None


def test_dg_dev_serves_the_code_location_of_make_dev(tmp_path):
    port = _free_port()
    # Services pointed nowhere: the daemon's sensors must not consume the shared topic while this runs.
    env = _env(DAGSTER_HOME=str(tmp_path), LOL_KAFKA_BOOTSTRAP="127.0.0.1:1", LOL_CASSANDRA_HOSTS="127.0.0.2",
               LOL_ES_URL="http://127.0.0.1:1", LOL_LAKE_ROOT=(tmp_path / "lake").as_uri())  # fmt: skip
    proc = subprocess.Popen([str(BIN / "dg"), "dev", "-p", str(port), "-h", "127.0.0.1"], cwd=REPO, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)  # fmt: skip
    try:
        location = None
        for _ in range(180):  # until it serves (or exits)
            location = _location(port)
            if location or proc.poll() is not None:
                break
            time.sleep(1)
        assert location is not None, f"dg dev did not serve the code location (exit code {proc.poll()})"
        assert location["name"] == "lol_platform"
        (repo,) = location["locationOrLoadError"]["repositories"]
        assert {"/".join(a["assetKey"]["path"]) for a in repo["assetNodes"]} == {k.to_user_string() for k in defs.resolve_asset_graph().get_all_asset_keys()}
        assert {s["name"] for s in repo["sensors"]} == {s.name for s in defs.sensors}
    finally:
        # dg dev may have inherited an ignored SIGTERM; what is left of its group is killed.
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(proc.pid, sig)
                proc.wait(timeout=20)
                break
            except subprocess.TimeoutExpired:
                continue
            except ProcessLookupError:
                break
