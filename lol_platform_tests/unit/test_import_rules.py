"""The module map of docs/architecture.md, enforced: who may import whom.

Every import statement of the project's packages is read with `ast` (imports inside functions included, and
relative imports resolved), without importing anything:

- `lol_core` (schemas, rulebook, features, door, lake layout, dates) imports nothing of the project, nor dagster;
- `spark_jobs` imports no dagster and nothing of `lol_platform` (the core only);
- nothing under `lol_platform` imports the tests or the service launcher (`lol_stack`, infra/launcher)
  outside the developer tools (`lol_platform.devtools`);
- the domains stay apart: ingestion, batch, speed, gates, resources and partitions import no other package of
  lol_platform, nor spark_jobs, but what the map allows;
- no import cycle between packages (top-level packages, and the packages inside `lol_platform`).
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
# Importable name -> folder. The launcher is installed as `lol_stack` from infra/launcher (pyproject).
PACKAGES = {
    "lol_core": REPO / "lol_core",
    "spark_jobs": REPO / "spark_jobs",
    "lol_platform": REPO / "lol_platform",
    "lol_stack": REPO / "infra" / "launcher",
    "lol_platform_tests": REPO / "lol_platform_tests",
}
PROJECT = tuple(PACKAGES)
DAGSTER = ("dagster", "dagster_pyspark", "dagster_aws", "dagster_pandera", "dagster_webserver", "dagster_graphql")
DEVTOOLS = "lol_platform.devtools"
LAUNCHER = ("lol_stack", "infra")

# Which packages inside lol_platform, and whether spark_jobs, each of these may import (lol_core and third
# parties are open to all of them). The domains share resources, partitions and the Pandera gates; batch
# reads the raw_matches asset it depends on; only batch and the gates run Spark code. The code location
# (definitions) and the developer tools see everything. docs/architecture.md shows the same map.
DOMAIN_MAY_IMPORT = {
    "lol_platform.ingestion": {"lol_platform.resources", "lol_platform.partitions", "lol_platform.gates"},
    "lol_platform.batch": {"lol_platform.resources", "lol_platform.partitions", "lol_platform.gates", "lol_platform.ingestion", "spark_jobs"},
    "lol_platform.speed": {"lol_platform.resources", "lol_platform.partitions"},
    "lol_platform.gates": {"spark_jobs"},
    "lol_platform.resources": set(),
    "lol_platform.partitions": set(),
    # Operations around the domains: they read the domains, no domain reads them.
    "lol_platform.catalog": {"lol_platform.resources"},
    "lol_platform.freshness": {"lol_platform.resources", "lol_platform.partitions", "lol_platform.batch", "lol_platform.ingestion", "lol_platform.speed"},
    "lol_platform.alerts": set(),
}


@dataclass(frozen=True)
class Import:
    importer: str  # dotted module name of the file
    imported: str  # dotted name it imports (a module, or a name inside one)
    where: str  # path:line

    def __str__(self) -> str:
        return f"{self.where}: {self.importer} imports {self.imported}"


def module_name(package: str, root: Path, path: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join([package, *parts])


def imports_of(source: str, module: str, is_package: bool, where: str) -> list[Import]:
    """Every import in a module's source, with relative imports made absolute."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [Import(module, alias.name, f"{where}:{node.lineno}") for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".") if is_package else module.split(".")[:-1]
                base = base[: len(base) - (node.level - 1)]
                prefix = ".".join(base + ([node.module] if node.module else []))
            else:
                prefix = node.module or ""
            # `from pkg import mod` may import a module: keep both spellings, rules match by prefix.
            found += [Import(module, f"{prefix}.{alias.name}", f"{where}:{node.lineno}") for alias in node.names]
    return found


def scan(packages: dict[str, Path]) -> list[Import]:
    found = []
    for package, root in packages.items():
        for path in sorted(root.rglob("*.py")):
            if any(part.startswith(".") or part == "__pycache__" for part in path.relative_to(root).parts):
                continue
            module = module_name(package, root, path)
            where = str(path.relative_to(REPO)) if path.is_relative_to(REPO) else str(path)
            found += imports_of(path.read_text(), module, path.name == "__init__.py", where)
    return found


def within(name: str, prefixes: tuple[str, ...] | str) -> bool:
    prefixes = (prefixes,) if isinstance(prefixes, str) else prefixes
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def unit_of(name: str) -> str | None:
    """The package an import counts for: a top-level project package, or lol_platform.<package or module>."""
    parts = name.split(".")
    if parts[0] not in PROJECT:
        return None
    if parts[0] == "lol_platform" and len(parts) > 1:
        return f"lol_platform.{parts[1]}"
    return parts[0]


def broken_rules(imports: list[Import]) -> list[str]:
    broken = []
    for imp in imports:
        src, dst = imp.importer, imp.imported
        if within(src, "lol_core") and (within(dst, PROJECT) and not within(dst, "lol_core") or within(dst, DAGSTER)):
            broken.append(f"the core imports outside itself: {imp}")
        if within(src, "spark_jobs") and (within(dst, DAGSTER) or within(dst, ("lol_platform", "lol_platform_tests", *LAUNCHER))):
            broken.append(f"spark_jobs imports dagster or lol_platform: {imp}")
        if within(src, "lol_platform") and not within(src, DEVTOOLS):
            if within(dst, "lol_platform_tests"):
                broken.append(f"lol_platform imports the tests: {imp}")
            if within(dst, LAUNCHER):
                broken.append(f"lol_platform imports the stack launcher outside {DEVTOOLS}: {imp}")
            if within(dst, DEVTOOLS):
                broken.append(f"lol_platform imports the developer tools: {imp}")
        src_unit, dst_unit = unit_of(src), unit_of(dst)
        restricted = dst_unit == "spark_jobs" or (dst_unit or "").startswith("lol_platform.")
        if src_unit in DOMAIN_MAY_IMPORT and restricted and dst_unit != src_unit:
            if dst_unit not in DOMAIN_MAY_IMPORT[src_unit]:
                broken.append(f"{src_unit} may not import {dst_unit}: {imp}")
    return broken


def package_cycles(imports: list[Import]) -> list[list[str]]:
    """Cycles in the graph of units (see unit_of); each cycle listed once."""
    graph: dict[str, set[str]] = {}
    for imp in imports:
        src, dst = unit_of(imp.importer), unit_of(imp.imported)
        if src and dst and src != dst:
            graph.setdefault(src, set()).add(dst)
    cycles, state, stack = [], {}, []

    def visit(node: str) -> None:
        state[node] = "open"
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == "open":
                cycles.append(stack[stack.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            visit(node)
    return cycles


@pytest.fixture(scope="module")
def project_imports() -> list[Import]:
    return scan(PACKAGES)


def test_the_scan_sees_the_project(project_imports):
    importers = {imp.importer for imp in project_imports}
    # A scan that found nothing would pass every rule: make sure it reads each package.
    for package in ("lol_core.door", "spark_jobs.cleaning", "lol_platform.definitions", "lol_stack.stack"):
        assert package in importers
    assert any(within(imp.imported, "lol_core") for imp in project_imports if within(imp.importer, "spark_jobs"))


def test_the_module_map_holds(project_imports):
    broken = broken_rules(project_imports)
    assert not broken, "\n".join(broken)


def test_no_import_cycle_between_packages(project_imports):
    cycles = package_cycles(project_imports)
    assert not cycles, "\n".join(" -> ".join(cycle) for cycle in cycles)


# -- the checker itself: each rule catches what it is for ---------------------------------------------------


@pytest.mark.parametrize(
    ("module", "source", "expected"),
    [
        ("lol_core.schemas", "from lol_platform.partitions import daily_partitions", "the core imports outside itself"),
        ("lol_core.dates", "import dagster", "the core imports outside itself"),
        ("spark_jobs.cleaning", "def f():\n    from dagster import asset", "spark_jobs imports dagster"),
        ("spark_jobs.lake_io", "from lol_platform import partitions", "spark_jobs imports dagster or lol_platform"),
        ("lol_platform.batch.assets", "from lol_stack import Stack", "the stack launcher"),
        ("lol_platform.speed.indexer", "import lol_platform_tests.support.matches", "imports the tests"),
        ("lol_platform.speed.indexer", "from lol_platform.ingestion.landing import build_batch", "may not import lol_platform.ingestion"),
        ("lol_platform.ingestion.sensor", "from ..batch import assets", "may not import lol_platform.batch"),
        ("lol_platform.resources.lake", "from spark_jobs import lake_io", "may not import spark_jobs"),
    ],
)
def test_each_rule_catches_a_bad_import(module, source, expected):
    broken = broken_rules(imports_of(source, module, False, "example.py"))
    assert any(expected in line for line in broken), broken


def test_the_stack_launcher_is_allowed_in_the_developer_tools():
    assert broken_rules(imports_of("from lol_stack import Stack", "lol_platform.devtools.dev", False, "x.py")) == []


def test_a_cycle_is_found():
    imports = imports_of("import spark_jobs.cleaning", "lol_core.schemas", False, "a.py")
    imports += imports_of("from lol_core import schemas", "spark_jobs.cleaning", False, "b.py")
    assert package_cycles(imports) == [["lol_core", "spark_jobs", "lol_core"]]
