"""Pandera (PySpark) contracts for every table, derived from the schema module's Fields.

Pandera checks each frame's schema; the value rules (the same rule ids as Pandera's checks, rendered by
spark_jobs.rule_checks) are counted in one aggregation, and Pandera's per-column data report is added
when a rule fails, with a few example rows, for the check metadata.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandera.pyspark as pa
from pandera.config import ValidationDepth, config_context
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from lol_core.rules import rule_id
from lol_core.schemas import Field, spark_schema
from spark_jobs.rule_checks import row_violations


def field_checks(f: Field, check_type) -> list:
    """A Field's value rules as Pandera checks of either backend (pandas or PySpark `Check`), each named by
    its rule id. List elements are not reachable from Pandera: Spark cleaning and the door check them."""
    if f.type == "list<int32>":
        return []
    checks = []
    # name and error both carry the rule id: Pandera reports failures under the error text.
    if f.ge is not None:
        checks.append(check_type.ge(f.ge, **_named(rule_id(f, "min"))))
    if f.le is not None:
        checks.append(check_type.le(f.le, **_named(rule_id(f, "max"))))
    if f.isin is not None:
        checks.append(check_type.isin(list(f.isin), **_named(rule_id(f, "allowed"))))
    if f.type == "string" and f.max_len is not None:
        checks.append(check_type.str_length(1, f.max_len, **_named(rule_id(f, "length"))))
    if f.type == "string" and f.pattern is not None:
        checks.append(check_type.str_matches(f"^(?:{f.pattern})$", **_named(rule_id(f, "pattern"))))
    return checks


def _named(rule: str) -> dict:
    return {"name": rule, "error": rule}


def pandera_schema(fields: list[Field], name: str) -> pa.DataFrameSchema:
    types = {f.name: f_type for f, f_type in zip(fields, [sf.dataType for sf in spark_schema(fields).fields])}
    columns = {}
    for f in fields:
        columns[f.name] = pa.Column(types[f.name], checks=field_checks(f, pa.Check), nullable=f.nullable)
    return pa.DataFrameSchema(columns, name=name, strict=True)


@dataclass
class ContractResult:
    passed: bool
    rows: int
    pandera_errors: dict = field(default_factory=dict)
    failures: dict[str, int] = field(default_factory=dict)  # rule -> failing rows
    examples: list[dict] = field(default_factory=list)

    def metadata(self) -> dict:
        return {
            "rows_checked": self.rows,
            "failed_rules": len(self.failures),
            "failing_rows_by_rule": self.failures,
            "examples": self.examples[:5],
            "pandera_errors": self.pandera_errors,
        }


def validate_frame(df: DataFrame, fields: list[Field], name: str, example_columns: list[str] | None = None) -> ContractResult:
    """The contract's verdict on df in one Spark job when it holds.

    Pandera checks the schema level (columns, types, no extra column: no Spark job), and every value rule of
    the rulebook is counted in one aggregation with the row count. Pandera's own data-level validation
    runs one Spark job per column check (about 50 per table, most of a small run's time), so it runs only
    when something failed, for its per-column report beside the counts and examples."""
    schema = pandera_schema(fields, name)
    with config_context(validation_depth=ValidationDepth.SCHEMA_ONLY):
        errors = _plain(dict(schema.validate(df).pandera.errors))
    present = set(df.columns)
    rules = {rule: cond for rule, cond in row_violations(fields).items() if rule.rsplit(".", 1)[0] in present}
    counts = df.select(
        F.count(F.lit(1)).alias("rows"), *[F.sum(F.when(cond, 1).otherwise(0)).alias(str(i)) for i, cond in enumerate(rules.values())]
    ).first()
    failures = {rule: int(counts[str(i)] or 0) for i, rule in enumerate(rules) if counts[str(i)]}
    rows = int(counts["rows"])
    if not errors and not failures:
        return ContractResult(True, rows)
    if not errors:
        errors = _plain(dict(schema.validate(df).pandera.errors))
    examples: list[dict] = []
    keep = example_columns or df.columns[:8]
    for rule in list(failures)[:3]:
        for row in df.where(rules[rule]).select(*[c for c in keep if c in present]).limit(2).collect():
            examples.append({"rule": rule, **{k: _jsonable(v) for k, v in row.asDict().items()}})
    return ContractResult(False, rows, errors, failures, examples)


def _plain(errors: dict) -> dict:
    """Pandera's nested error report as JSON-friendly text (schema/column/check/error)."""
    out: dict = {}
    for level, by_type in errors.items():
        for kind, items in dict(by_type).items():
            out[f"{level}/{kind}"] = [f"{i.get('column')}: {i.get('check')}: {i.get('error')}" for i in items][:20]
    return out


def _jsonable(value):
    return value if isinstance(value, (int, float, str, bool, type(None))) else str(value)
