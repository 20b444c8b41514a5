"""The rulebook: every field rule and match rule of the data contract, written once, with one name each.

A rule's id is the reason every engine records when the rule is broken, so a quarantine counted by
reason means the same thing at the door (plain Python, `lol_core.door`), in the gates
(Pandera, `lol_platform.gates`) and in cleaning (Spark, `spark_jobs.cleaning`):

- field rules, derived from the schema module's `Field`s: `<column>.<kind>` with kind one of
  `missing` (absent or null where required), `type`, `width` (integer beyond its column type),
  `min`, `max`, `allowed`, `length`, `pattern`, `encoding` (a string that is not valid Unicode);
- match rules: `match.<kind>` (see MATCH_RULES);
- message rules, for bytes that are not a match document at all: `message.<kind>` (MESSAGE_RULES).

A reason is stored as `<rule id>` or `<rule id>: <detail>`; `rule_of(reason)` gives the id back.
This module imports only the schema module, so every engine can render it.
"""

from __future__ import annotations

import datetime as _dt
import re
from dataclasses import dataclass
from functools import lru_cache

from lol_core.schemas import Field

# Explicit limits of the door (documented in docs/architecture.md and the README).
MAX_MESSAGE_BYTES = 1_048_576  # Kafka's default message.max.bytes; a Match-V5 document is 10-60 kB
MAX_NESTING_DEPTH = 1024  # the JSON parser's own limit (orjson); deeper documents are rejected

# Fields the door reads in another form than the table stores them: gameCreation arrives as epoch ms.
_LAST_MS = int(_dt.datetime(9999, 12, 31, tzinfo=_dt.timezone.utc).timestamp() * 1000)
GAME_CREATION_MS = Field("game_creation", "int64", ge=0, le=_LAST_MS, doc="info.gameCreation, epoch ms")
DOOR_FIELDS = [GAME_CREATION_MS]

INT_BOUNDS: dict[str, tuple[int, int]] = {
    "int16": (-(2**15), 2**15 - 1),
    "int32": (-(2**31), 2**31 - 1),
    "int64": (-(2**63), 2**63 - 1),
}

MESSAGE_RULES = {
    "message.empty": "the message has no value (a tombstone)",
    "message.too_large": f"the message is larger than {MAX_MESSAGE_BYTES} bytes",
    "message.encoding": "the bytes are not valid UTF-8, or a string holds a lone surrogate",
    "message.too_deep": f"JSON nested deeper than {MAX_NESTING_DEPTH} levels",
    "message.not_json": "not valid JSON (RFC 8259: no NaN/Infinity, numbers within 64 bits)",
    "message.duplicate_key": "a JSON object repeats a key (parsers disagree on which value wins)",
    "message.not_object": "the document is not a JSON object",
    "message.shape": "a part of the document is not the Match-V5 shape (e.g. info is not an object)",
}

MATCH_RULES = {
    "match.participants": "a match has exactly 10 participants, with ids 1..10 each once",
    "match.team_size": "each team has 5 participants",
    "match.positions": "each team fields every position exactly once",
    "match.winner": "exactly one team wins, and every participant's win agrees with its team",
    "match.kill_participation": "a participant's kills + assists do not exceed its team's kills",
    "match.date_window": "the match date has a partition (LOL_PARTITIONS_START .. tomorrow, UTC)",
    "match.consistent": "every row of a match carries the same match fields",
    "match.superseded": "a newer copy of the match (higher Kafka offset) exists",
    "match.duplicate": "the same participant row arrived twice (a Kafka redelivery)",
}

def rule_id(field: Field | str, kind: str) -> str:
    name = field if isinstance(field, str) else field.name
    return f"{name}.{kind}"


def reason(rule: str, detail: str | None = None) -> str:
    return f"{rule}: {detail}" if detail else rule


def rule_of(text: str) -> str:
    """The rule id of a stored reason (several reasons joined by '; ' give the first)."""
    return text.split("; ", 1)[0].split(": ", 1)[0].strip()


def field_rules(field: Field) -> dict[str, str]:
    """Rule id -> description for each rule a field carries."""
    rules = {}
    if not field.nullable:
        rules[rule_id(field, "missing")] = f"{field.name} is present and not null"
    rules[rule_id(field, "type")] = f"{field.name} is a {field.type}"
    element = "int32" if field.type == "list<int32>" else field.type
    if element in INT_BOUNDS:
        rules[rule_id(field, "width")] = f"{field.name} fits {element}"
    if field.ge is not None:
        rules[rule_id(field, "min")] = f"{field.name} >= {_number(field.ge)}"
    if field.le is not None:
        rules[rule_id(field, "max")] = f"{field.name} <= {_number(field.le)}"
    if field.isin is not None:
        rules[rule_id(field, "allowed")] = f"{field.name} in {list(field.isin)}"
    if field.max_len is not None:
        span = f"at most {field.max_len} elements" if element != field.type else f"1..{field.max_len} characters"
        rules[rule_id(field, "length")] = f"{field.name} has {span}"
    if field.pattern is not None:
        rules[rule_id(field, "pattern")] = f"{field.name} matches {field.pattern}"
    if field.type == "string":
        rules[rule_id(field, "encoding")] = f"{field.name} is valid Unicode (no lone surrogates)"
    return rules


def rulebook(fields: list[Field]) -> dict[str, str]:
    """Every rule of a table and of a match: the list the docs and the tests read."""
    book = dict(MESSAGE_RULES)
    for f in [*fields, *DOOR_FIELDS]:
        book.update(field_rules(f))
    book.update(MATCH_RULES)
    return book


# -- the plain Python rendering (the door) -----------------------------------------------------------------


@dataclass(frozen=True)
class Broken:
    rule: str
    detail: str

    def text(self) -> str:
        return reason(self.rule, self.detail)


_PY_TYPES = {"string": str, "bool": bool, "int16": int, "int32": int, "int64": int}


def check_value(field: Field, value, where: str) -> Broken | None:
    """The first rule `value` breaks as a value of `field` (a Python value from JSON), or None."""
    if value is None:
        return None if field.nullable else Broken(rule_id(field, "missing"), f"{where} is missing")
    if field.type == "list<int32>":
        return _check_list(field, value, where)
    expected = _PY_TYPES[field.type]
    if not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
        return Broken(rule_id(field, "type"), f"{where} is {type(value).__name__}, expected {field.type}")
    if field.type in INT_BOUNDS:
        low, high = INT_BOUNDS[field.type]
        if not low <= value <= high:
            return Broken(rule_id(field, "width"), f"{where} = {value} does not fit {field.type}")
    if field.type == "string":
        return _check_string(field, value, where)
    return _check_range(field, value, where)


def passes(field: Field):
    """A predicate that is True only for values check_value(field, ...) accepts: the door's hot path. It answers
    the common case in a few comparisons; False means "ask check_value", which names the rule broken (or, for
    what the predicate does not decide, such as non-ASCII strings, accepts)."""
    if field.type == "list<int32>" or field.type not in _PY_TYPES or (field.type == "string" and (field.ge, field.le) != (None, None)):
        return lambda value: False
    nullable, isin = field.nullable, field.isin
    if field.type == "string":
        longest, pattern = field.max_len, _compiled(field.pattern).fullmatch if field.pattern else None
        return lambda v: (v is None and nullable) or (
            type(v) is str and v.isascii() and (longest is None or 1 <= len(v) <= longest)
            and (pattern is None or pattern(v) is not None) and (isin is None or v in isin))  # fmt: skip
    if field.type == "bool":
        return lambda v: (v is None and nullable) or (type(v) is bool and (isin is None or v in isin))
    low, high = INT_BOUNDS[field.type]
    low, high = max(low, field.ge) if field.ge is not None else low, min(high, field.le) if field.le is not None else high
    return lambda v: (v is None and nullable) or (type(v) is int and low <= v <= high and (isin is None or v in isin))


def _check_range(field: Field, value, where: str) -> Broken | None:
    if field.ge is not None and value < field.ge:
        return Broken(rule_id(field, "min"), f"{where} = {value} < {_number(field.ge)}")
    if field.le is not None and value > field.le:
        return Broken(rule_id(field, "max"), f"{where} = {value} > {_number(field.le)}")
    if field.isin is not None and value not in field.isin:
        return Broken(rule_id(field, "allowed"), f"{where} = {_short(value)} not in {list(field.isin)}")
    return None


def _check_string(field: Field, value: str, where: str) -> Broken | None:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return Broken(rule_id(field, "encoding"), f"{where} holds a lone surrogate")
    if field.max_len is not None and not 1 <= len(value) <= field.max_len:
        return Broken(rule_id(field, "length"), f"{where} has {len(value)} characters, expected 1..{field.max_len}")
    if field.pattern is not None and not _compiled(field.pattern).fullmatch(value):
        return Broken(rule_id(field, "pattern"), f"{where} = {_short(value)} does not match {field.pattern}")
    return _check_range(field, value, where)


def _check_list(field: Field, value, where: str) -> Broken | None:
    if not isinstance(value, list):
        return Broken(rule_id(field, "type"), f"{where} is {type(value).__name__}, expected a list")
    if field.max_len is not None and len(value) > field.max_len:
        return Broken(rule_id(field, "length"), f"{where} has {len(value)} elements, expected at most {field.max_len}")
    low, high = INT_BOUNDS["int32"]
    for i, element in enumerate(value):
        if not isinstance(element, int) or isinstance(element, bool):
            return Broken(rule_id(field, "type"), f"{where}[{i}] is {type(element).__name__}, expected int32")
        if not low <= element <= high:
            return Broken(rule_id(field, "width"), f"{where}[{i}] = {element} does not fit int32")
        if field.ge is not None and element < field.ge:
            return Broken(rule_id(field, "min"), f"{where}[{i}] = {element} < {_number(field.ge)}")
    return None


@lru_cache(maxsize=None)
def _compiled(pattern: str) -> re.Pattern:
    return re.compile(pattern)


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _short(value, limit: int = 40) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "..."


def rulebook_markdown(fields: list[Field]) -> str:
    """docs/rulebook.md: every rule by id (a unit test keeps the file equal to this)."""
    lines = [
        "# The rulebook",
        "",
        "Generated from `lol_core/rules.py` and the schema module (`lol_core/schemas.py`); a unit test keeps",
        "this file equal to them. A quarantined message or row carries `<rule id>` or `<rule id>: <detail>` as its",
        "reason, with the same id at the door (`lol-platform validate`, the sensor, the stream), in the Pandera",
        "gates and in Spark cleaning.",
        "",
        f"Limits of the door: a message is at most {MAX_MESSAGE_BYTES:,} bytes, nested at most {MAX_NESTING_DEPTH} levels,",
        "UTF-8 without lone surrogates, strict RFC 8259 JSON (no NaN or Infinity, no key repeated in an object).",
        "",
        "| rule id | holds when |",
        "|---|---|",
    ]
    lines += [f"| `{rule}` | {text.replace('|', '&#124;')} |" for rule, text in rulebook(fields).items()]
    return "\n".join(lines) + "\n"
