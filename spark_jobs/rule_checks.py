"""The rulebook (lol_core.rules) rendered as Spark column expressions.

Cleaning uses them to give each rejected row its reason, and the Pandera gates use them to count the
failing rows of each rule, so a rule has one name and one meaning on Spark as at the door.
"""

from __future__ import annotations

from pyspark.sql import Column
from pyspark.sql import functions as F

from lol_core.rules import rule_id
from lol_core.schemas import Field


def value_violations(field: Field, value: Column) -> list[tuple[Column, str]]:
    """(broken?, rule id) for the field's value rules on a column already of the field's type.

    Nulls are left to the `missing` rule (a comparison with null is null, never true)."""
    if field.type == "list<int32>":
        return _list_violations(field, value)
    checks = []
    if field.ge is not None:
        checks.append((value < F.lit(field.ge), rule_id(field, "min")))
    if field.le is not None:
        checks.append((value > F.lit(field.le), rule_id(field, "max")))
    if field.isin is not None:
        checks.append((~value.isin(list(field.isin)), rule_id(field, "allowed")))
    if field.type == "string" and field.max_len is not None:
        checks.append(((F.length(value) < 1) | (F.length(value) > field.max_len), rule_id(field, "length")))
    if field.type == "string" and field.pattern is not None:
        checks.append((~value.rlike(f"^(?:{field.pattern})$"), rule_id(field, "pattern")))
    return checks


def _list_violations(field: Field, value: Column) -> list[tuple[Column, str]]:
    checks = [(F.exists(value, lambda element: element.isNull()), rule_id(field, "type"))]
    if field.max_len is not None:
        checks.append((F.size(value) > field.max_len, rule_id(field, "length")))
    if field.ge is not None:
        checks.append((F.exists(value, lambda element: element < F.lit(field.ge)), rule_id(field, "min")))
    return checks


def row_violations(fields: list[Field]) -> dict[str, Column]:
    """Rule id -> condition true on a violating row, for every rule of `fields` (the gates' counts)."""
    rules: dict[str, Column] = {}
    for f in fields:
        col = F.col(f.name)
        if not f.nullable:
            rules[rule_id(f, "missing")] = col.isNull()
        for broken, rule in value_violations(f, col):
            rules[rule] = broken if rule not in rules else rules[rule] | broken
    return rules
