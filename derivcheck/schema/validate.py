"""Validates a parsed YAML document against a shipped schema; every problem has a place.

A small validator for the part of draft-07 the shipped schemas use (``type``,
``enum``, ``pattern``, ``minimum``/``maximum``, ``minItems``/``maxItems``,
``minProperties``, ``required``, ``properties``, ``additionalProperties``,
``propertyNames``, ``items``, ``anyOf``, ``not`` and local ``$ref``), rather
than the ``jsonschema`` library: importing that costs about 170 ms, more than
loading and parsing a derivation, and every run of derivcheck pays for the import.
The tests check the schemas with ``jsonschema`` and that both validators agree.

Problems are data (``Problem``): the path in the document, and the message
and hint from ``derivcheck.schema.messages``; ``position`` maps a path to the
line and column that ruamel.yaml recorded.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from typing import Any

from derivcheck.schema import load_schema
from derivcheck.schema.messages import describe

__all__ = ["Located", "Problem", "first_problem", "position", "problems"]

Path = tuple[Any, ...]
_TYPES: dict[str, Any] = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "integer": lambda v: (isinstance(v, int) and not isinstance(v, bool))
    or (isinstance(v, float) and v.is_integer()),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
}


@dataclass(frozen=True)
class Problem:
    """Where a document breaks its schema, and what to say about it.

    ``path`` leads from the document to the offending value (keys and list
    indices); ``at_key`` is true when the problem is the last key itself (an
    unknown key, a name that cannot be a symbol); ``keyword`` is the schema
    keyword that failed (``required``, ``enum`` ...).
    """

    path: Path
    message: str
    hint: str = ""
    at_key: bool = False
    context: str = ""
    keyword: str = ""


def problems(doc: Any, name: str) -> list[Problem]:
    """Every place where ``doc`` breaks the schema ``name``, in the order of the document."""
    raw = _Validator(load_schema(name)).check(doc, load_schema(name), (), ())
    found = [_describe(r, doc, name) for r in raw]
    unknown = [p.path for p in found if p.keyword == "additionalProperties"]

    def later(p: Problem) -> bool:
        """A key missing from a step that has an unknown key (often its misspelling:
        ``claims:`` for ``claim:``), or a missing top-level key: after the others."""
        if p.keyword == "required" and not p.path:
            return True
        step = p.keyword in ("required", "anyOf") and len(p.path) == 2 and \
            p.path[0] == "steps"  # a step needs claim, chain or latex
        return step and any(u[:2] == p.path and len(u) <= 3 for u in unknown)

    return sorted(found, key=lambda p: (later(p), position(doc, p.path, at_key=p.at_key)))


@dataclass(frozen=True)
class _Raw:
    """A problem before it is put in words (most are dropped: a branch of anyOf, not)."""

    keyword: str
    value: Any
    path: Path
    where: Path
    at_key: bool
    args: dict[str, Any]


def _describe(raw: _Raw, doc: Any, name: str) -> Problem:
    message, hint = describe(raw.keyword, raw.where, raw.value, raw.path, schema_name=name,
                             **raw.args)
    return Problem(raw.path, message, hint, raw.at_key, _context(doc, raw.path), raw.keyword)


@dataclass(frozen=True)
class Located:
    """The first problem, with its 0-based line and column, as the loader reports it."""

    message: str
    line: int
    col: int
    hint: str
    context: str


def first_problem(doc: Any, name: str, *, skip_steps: bool = False) -> Located | None:
    """The first problem of ``doc`` (None if it fits the schema); the hint counts the others.

    ``skip_steps`` leaves out the problems inside steps (a submission's steps are
    refused one at a time by the loader, and the others are still graded).
    """
    found = [p for p in problems(doc, name)
             if not (skip_steps and len(p.path) > 1 and p.path[0] == "steps")]
    if not found:
        return None
    first = found[0]
    hint = first.hint
    if len(found) > 1:
        lines = sorted({position(doc, p.path, at_key=p.at_key)[0] + 1 for p in found[1:]})
        more = (f"{len(found) - 1} more problem{'s' if len(found) > 2 else ''} on line"
                f"{'s' if len(lines) > 1 else ''} {', '.join(map(str, lines))}")
        hint = f"{hint}; {more}" if hint else more
    line, col = position(doc, first.path, at_key=first.at_key)
    return Located(first.message, line, col, hint, first.context)


def position(doc: Any, path: Path, *, at_key: bool = False) -> tuple[int, int]:
    """The 0-based line and column of the value (or the key) at ``path`` in ``doc``.

    A problem about the whole document (a missing top-level key) is at 0, 0.
    """
    if not path:
        return 0, 0
    parent = doc
    for step in path[:-1]:
        parent = parent[step]
    last = path[-1]
    lc = getattr(parent, "lc", None)
    try:
        if isinstance(parent, list):
            line, col = lc.item(last)  # type: ignore[union-attr]
        elif at_key:
            line, col = lc.key(last)  # type: ignore[union-attr]
        else:
            line, col = lc.value(last)  # type: ignore[union-attr]
        return int(line), int(col)
    except (AttributeError, KeyError, TypeError, IndexError):
        return (int(lc.line), int(lc.col)) if lc is not None else (0, 0)


@cache
def _regex(pattern: str) -> re.Pattern[str]:
    # ECMA-262 '$' (what editors use) never matches before a final newline; Python's does.
    return re.compile(pattern[:-1] + r"\Z" if pattern.endswith("$") else pattern)


def _equal(a: Any, b: Any) -> bool:
    """JSON equality: booleans are not numbers, 1 equals 1.0."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_equal(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_equal(a[k], b[k]) for k in a)
    if a is None or b is None:
        return a is None and b is None
    return isinstance(a, str) and isinstance(b, str) and a == b


class _Validator:
    """``check`` returns the problems of one value; ``where`` is the path with every
    list index and every free key (a symbol's name) written ``*``, which is how the
    messages are looked up."""

    def __init__(self, root: dict[str, Any]) -> None:
        self.root = root
        self.strings: dict[int, frozenset[str]] = {}  # id of an enum -> its strings

    def in_enum(self, value: Any, enum: list[Any]) -> bool:
        if isinstance(value, str):  # by hashing: every symbol name is checked against 70
            if id(enum) not in self.strings:
                self.strings[id(enum)] = frozenset(e for e in enum if isinstance(e, str))
            return value in self.strings[id(enum)]
        return any(_equal(value, e) for e in enum)

    def resolve(self, schema: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in schema:
            ref = schema["$ref"]
            if not ref.startswith("#/definitions/"):
                raise ValueError(f"unsupported $ref {ref!r}")
            schema = self.root["definitions"][ref[len("#/definitions/"):]]
        return schema

    @staticmethod
    def problem(keyword: str, value: Any, path: Path, where: Path, *, at_key: bool = False,
                **args: Any) -> _Raw:
        return _Raw(keyword, value, path, where, at_key, args)

    def type_ok(self, schema: dict[str, Any], value: Any) -> bool:
        types = schema.get("type")
        if types is None:
            return True
        return any(_TYPES[t](value) for t in ([types] if isinstance(types, str) else types))

    def check(self, value: Any, schema: dict[str, Any], path: Path, where: Path) -> list[_Raw]:
        schema = self.resolve(schema)
        if not self.type_ok(schema, value):
            return [self.problem("type", value, path, where, types=schema["type"])]
        if "enum" in schema and not self.in_enum(value, schema["enum"]):
            return [self.problem("enum", value, path, where, allowed=schema["enum"])]
        out: list[_Raw] = []
        if "anyOf" in schema:
            out += self.any_of(value, schema["anyOf"], path, where)
        if "not" in schema and not self.check(value, schema["not"], path, where):
            out.append(self.problem("not", value, path, where))
        if isinstance(value, str) and "pattern" in schema \
                and not _regex(schema["pattern"]).search(value):
            out.append(self.problem("pattern", value, path, where))
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            # `not (a <= b)` also refuses NaN
            low, high = schema.get("minimum"), schema.get("maximum")
            if low is not None and not value >= low:
                out.append(self.problem("minimum", value, path, where, limit=low, low=low,
                                        high=high if high is not None else float("inf")))
            elif high is not None and not value <= high:
                out.append(self.problem("maximum", value, path, where, limit=high, high=high,
                                        low=low if low is not None else float("-inf")))
        if isinstance(value, list):
            out += self.array(value, schema, path, where)
        if isinstance(value, dict):
            out += self.object(value, schema, path, where)
        return out

    def any_of(self, value: Any, branches: list[dict[str, Any]], path: Path,
               where: Path) -> list[_Raw]:
        """No problem if a branch fits; else the problems of the branch of the value's type."""
        results = []
        for branch in branches:
            found = self.check(value, branch, path, where)
            if not found:
                return []
            results.append((self.resolve(branch), found))
        typed = [(b, found) for b, found in results if "type" in b]
        if not typed:
            return [self.problem("anyOf", value, path, where)]
        fitting = [found for b, found in typed if self.type_ok(b, value)]
        if not fitting:
            types = [t for b, _found in typed
                     for t in ([b["type"]] if isinstance(b["type"], str) else b["type"])]
            return [self.problem("type", value, path, where, types=types)]
        return fitting[0]

    def array(self, value: list[Any], schema: dict[str, Any], path: Path,
              where: Path) -> list[_Raw]:
        if len(value) < schema.get("minItems", 0):
            return [self.problem("minItems", value, path, where, limit=schema["minItems"])]
        if "maxItems" in schema and len(value) > schema["maxItems"]:
            return [self.problem("maxItems", value, path, where, limit=schema["maxItems"])]
        out: list[_Raw] = []
        if "items" in schema:
            for i, item in enumerate(value):
                out += self.check(item, schema["items"], (*path, i), (*where, "*"))
        return out

    def object(self, value: dict[Any, Any], schema: dict[str, Any], path: Path,
               where: Path) -> list[_Raw]:
        out: list[_Raw] = []
        if len(value) < schema.get("minProperties", 0):
            out.append(self.problem("minProperties", value, path, where))
        properties = schema.get("properties", {})
        extra = schema.get("additionalProperties", True)
        names = schema.get("propertyNames")
        for key, item in value.items():
            if names is not None and self.check(str(key), names, (*path, key), (*where, "*")):
                out.append(self.problem("propertyNames", key, (*path, key), where,
                                        at_key=True))
                continue
            if key in properties:
                out += self.check(item, properties[key], (*path, key), (*where, key))
            elif extra is False:
                out.append(self.problem("additionalProperties", key, (*path, key), where,
                                        at_key=True, allowed=list(properties)))
            elif isinstance(extra, dict):
                out += self.check(item, extra, (*path, key), (*where, "*"))
        for prop in schema.get("required", ()):
            if prop not in value:
                out.append(self.problem("required", value, path, where, prop=prop))
        return out


def _context(doc: Any, path: Path) -> str:
    """``step <id>``, ``rubric item <id>`` or ``define <name>``, as the loader says."""
    try:
        if len(path) >= 3 and path[0] == "steps":
            sid = doc["steps"][path[1]].get("id")
            return f"step {sid}" if isinstance(sid, (str, int, float)) else ""
        if len(path) >= 4 and path[:2] == ("rubric", "items"):
            iid = doc["rubric"]["items"][path[2]].get("id")
            return f"rubric item {iid}" if isinstance(iid, (str, int, float)) else ""
        if len(path) >= 2 and path[0] == "define":
            return f"define {path[1]}"
    except (AttributeError, KeyError, IndexError, TypeError):
        pass
    return ""
