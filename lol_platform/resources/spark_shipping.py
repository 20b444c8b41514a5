"""What a Spark cluster's executors need from the driver: the project's code as a zip, and a Python environment.

Executors run Python only for tasks written in Python: `spark_jobs.cassandra_sink`'s mapInArrow, which imports
`spark_jobs`, `lol_core`, cassandra-driver, pyarrow and numpy. On a cluster none of these is on the workers, so every session
with a cluster master ships them (see docs/architecture.md, "Spark on a cluster"):

- the code: `lol_core` and `spark_jobs`, zipped from the driver's own copy at session start (content-addressed
  under the temp dir, so an unchanged tree is zipped once) and added with `SparkContext.addPyFile`, which puts it
  first on every executor's Python path;
- the third-party packages: a venv-pack archive (`lol-platform spark-env` builds it) shipped with
  `spark.archives` and unpacked by each executor as `./lol_env`, whose interpreter then runs the Python workers.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import tempfile
import zipfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

# The packages executors import (spark_jobs imports only lol_core of the project: test_import_rules holds it).
SHIPPED_PACKAGES = ("lol_core", "spark_jobs")
ENV_ALIAS = "lol_env"  # the directory each executor unpacks the Python environment archive into
EXECUTOR_PYTHON = f"./{ENV_ALIAS}/bin/python"


def is_local(master: str) -> bool:
    """local, local[N], local[*], local-cluster[...]: executors share the driver's machine and interpreter."""
    return master.startswith("local")


def _package_dir(name: str) -> Path:
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(f"cannot ship {name} to the Spark executors: it is not importable as a package here")
    return Path(next(iter(spec.submodule_search_locations)))


def _package_files(packages: tuple[str, ...]) -> list[tuple[str, Path]]:
    files = []
    for name in packages:
        root = _package_dir(name)
        files += [(f"{name}/{p.relative_to(root).as_posix()}", p) for p in sorted(root.rglob("*"))
                  if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"]  # fmt: skip
    return files


def build_code_zip(out_dir: Path | None = None, packages: tuple[str, ...] = SHIPPED_PACKAGES) -> Path:
    """Zip the packages as the driver imports them; the name carries a hash of their contents."""
    files = _package_files(packages)
    digest = hashlib.sha256()
    for arcname, path in files:
        digest.update(arcname.encode() + b"\0" + path.read_bytes() + b"\0")
    out_dir = out_dir or Path(tempfile.gettempdir()) / "lol_platform_spark"
    out = out_dir / f"lol_code-{digest.hexdigest()[:16]}.zip"
    if out.exists():
        return out
    out_dir.mkdir(parents=True, exist_ok=True)
    partial = out.with_suffix(f".{os.getpid()}.part")
    with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as archive:
        for arcname, path in files:
            archive.write(path, arcname)
    partial.replace(out)  # atomic: a concurrent run never ships a half-written zip
    return out


def with_python_env(config: Mapping[str, str], python_env: str) -> dict[str, str]:
    """The Spark settings that ship a packed Python environment (a path or URI) to every executor."""
    archives = [a for a in config.get("spark.archives", "").split(",") if a]
    return {**config, "spark.archives": ",".join([*archives, f"{python_env}#{ENV_ALIAS}"])}


@contextmanager
def executor_python(python: str | None) -> Iterator[None]:
    """PySpark takes the executors' interpreter from PYSPARK_PYTHON when the SparkContext starts; set it only
    for that moment, so nothing else in the process sees a relative path."""
    if python is None:
        yield
        return
    before = os.environ.get("PYSPARK_PYTHON")
    os.environ["PYSPARK_PYTHON"] = python
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("PYSPARK_PYTHON", None)
        else:
            os.environ["PYSPARK_PYTHON"] = before
