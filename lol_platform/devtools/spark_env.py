"""`lol-platform spark-env`: the Python environment a Spark cluster's executors run, packed with venv-pack.

Executors import, besides pyspark (which every Spark worker provides), cassandra-driver, pyarrow and numpy (the
Cassandra publish receives its rows as Arrow batches through mapInArrow): see
`lol_platform/resources/spark_shipping.py`. The archive holds a virtualenv of this interpreter's Python version
(PySpark refuses a worker of another minor version) with those at the driver's own versions, and is
shipped with each application (`spark.archives`, LOL_SPARK_PYTHON_ENV). Built once per requirement set into the
user's cache (~/.cache/lol_platform/spark): its name carries their hash, so a rebuild happens only when they
change. A venv-pack archive links to the base interpreter by path (here the one this virtualenv was made from):
every worker needs Python at that path.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tempfile
from importlib.metadata import version
from pathlib import Path

# What executors import beyond pyspark and the project's shipped code.
EXECUTOR_DISTRIBUTIONS = ("cassandra-driver", "pyarrow", "numpy")
VENV_PACK = "venv-pack==0.2.0"


def executor_requirements() -> list[str]:
    """Pinned to the driver's versions: the executors run the same client as the driver was tested with."""
    return [f"{name}=={version(name)}" for name in EXECUTOR_DISTRIBUTIONS]


def code_zip_dir() -> Path:
    """Where the code zip is built: the project's own stack directory (it changes with the code)."""
    from lol_stack import StackConfig

    return StackConfig().stack_dir / "spark"


def env_cache_dir() -> Path:
    """Where the packed environment is kept: the user's cache, like pip's, so a fresh clone (CI) reuses it. Its
    name is the hash of what it holds, so a stale one is never picked."""
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "lol_platform" / "spark"


def archive_path(out_dir: Path, requirements: list[str]) -> Path:
    python = f"py{sys.version_info.major}{sys.version_info.minor}"
    key = hashlib.sha256("\n".join([sys.version, sys.base_prefix, *requirements]).encode()).hexdigest()[:12]
    return out_dir / f"lol_executor_env-{python}-{key}.tar.gz"


def build_executor_env(out_dir: Path | None = None, progress=lambda line: print(line, file=sys.stderr)) -> Path:
    """Create (or reuse) the packed environment; returns its path."""
    out_dir = (out_dir or env_cache_dir()).resolve()
    requirements = executor_requirements()
    out = archive_path(out_dir, requirements)
    if out.exists():
        return out
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="lol_executor_env_") as tmp:
        venv = Path(tmp) / "venv"
        progress(f"building the executors' Python environment ({', '.join(requirements)}) in {venv}")
        _run([sys.executable, "-m", "venv", str(venv)])
        _run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--disable-pip-version-check", *requirements, VENV_PACK])
        # Per process (two builds may race in a shared cache); venv-pack infers the format from the extension.
        partial = out.with_name(f".partial-{os.getpid()}-{out.name}")
        _run([str(venv / "bin" / "venv-pack"), "-p", str(venv), "-o", str(partial), "-f", "-q"])
        partial.replace(out)
    progress(f"packed {out} ({out.stat().st_size / 1e6:.1f} MB)")
    return out


def _run(cmd: list[str]) -> None:
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd[:4])} ... failed ({proc.returncode}):\n{proc.stdout[-2000:]}{proc.stderr[-2000:]}")
