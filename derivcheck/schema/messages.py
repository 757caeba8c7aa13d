"""Schema problems -> text: the loader's wording, so a file gets the same message
whichever check finds its mistake first.

Messages are looked up by the keyword that failed and where it failed: the path
in the document with every list index and free key (a symbol's name, a step's
number) written ``*``; a keyword with no entry gets a generic message.
"""

from __future__ import annotations

import re
from typing import Any

from derivcheck.codes import CODES
from derivcheck.model import EXPECT_VALUES, KINDS, LAYOUTS, PREDICATES
from derivcheck.parse.expr import _did_you_mean
from derivcheck.schema import load_schema

Where = tuple[Any, ...]
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*")

_EXPRESSION = ("expected an expression (a string)", "")
_NAME_HINT = "use a letter followed by letters, digits or _, and not a function name"
_RUBRIC_EG = "{{id: dW, result: 'd(L)/d(W)', points: 1}}"
_VERDICT = ("unknown expected verdict '{value}'", f"values: {', '.join(EXPECT_VALUES)}")
_LAYOUT = ("unknown layout '{value}'", f"layouts: {', '.join(LAYOUTS)}")
_POINTS = {"type": ("'{label}' must be a number", "e.g. points: 2"),
           "minimum": ("'{label}' must be between {low:g} and {high:g}", ""),
           "maximum": ("'{label}' must be between {low:g} and {high:g}", "")}
_FRACTION = dict.fromkeys(("type", "minimum", "maximum"),
                          ("'{label}' is a fraction between 0 and 1", "e.g. {label}: 0.5"))
_STEP = ("steps", "*")
_ITEM = ("rubric", "items", "*")


def _all(where: Where, messages: dict[str, tuple[str, str]]) -> dict[tuple[Where, str],
                                                                      tuple[str, str]]:
    return {(where, keyword): text for keyword, text in messages.items()}


# (where, keyword) -> (message, hint); "required:<key>" for one missing key
MESSAGES: dict[tuple[Where, str], tuple[str, str]] = {
    ((), "additionalProperties"): ("unknown key '{key}'", "the keys are: {allowed}"),
    ((), "required"): ("missing '{prop}:'", "see docs/format.md for the layout"),
    ((), "required:rubric"): ("an answer key needs a 'rubric:'", f"add rubric: {{{{items: "
                                                                 f"[{_RUBRIC_EG}]}}}}"),
    (("title",), "type"): ("'title' must be a string", ""),
    (("source",), "type"): ("'source' must be a string", ""),
    # symbols
    (("symbols",), "type"): ("'symbols' must map names to kinds",
                             "e.g. symbols: {{x: vector D, W: matrix H D}}"),
    (("symbols",), "minProperties"): ("'symbols' must map names to kinds",
                                      "e.g. symbols: {{x: vector D, W: matrix H D}}"),
    (("symbols",), "propertyNames"): ("'{key}' cannot be a symbol name", _NAME_HINT),
    (("symbols", "*"), "type"): ("symbol '{name}': the kind must be a string like "
                                 "'matrix H D'", ""),
    (("symbols", "*", "kind"), "type"): ("symbol '{name}': the kind must be a string like "
                                         "'matrix H D'", ""),
    (("symbols", "*"), "required"): ("symbol '{name}': missing 'kind'", ""),
    (("symbols", "*"), "additionalProperties"): ("unknown symbol key '{key}'", "a symbol has "
                                                 "'kind' and, optionally, 'latex'"),
    (("symbols", "*", "latex"), "type"): ("'latex' is a LaTeX name such as 'W_2', "
                                          "'\\mathbf{{W}}_2', 'W^{{(1)}}' or '\\hat{{y}}'", ""),
    # conventions, assume, define
    (("conventions",), "type"): ("'conventions' must be a mapping", "e.g. conventions: "
                                 "{{layout: gradient, relu_prime_at_zero: 0}}"),
    (("conventions",), "additionalProperties"): ("unknown convention '{key}'",
                                                 "conventions: layout, relu_prime_at_zero, "
                                                 "latex_index_base"),
    (("conventions", "layout"), "enum"): _LAYOUT,
    (("conventions", "relu_prime_at_zero"), "enum"): ("relu_prime_at_zero must be 0 or 1", ""),
    (("conventions", "latex_index_base"), "enum"): ("latex_index_base must be 0 or 1",
                                                    "1: x_1 is the first entry of x in LaTeX"),
    (("assume",), "type"): ("'assume' must be a list of predicates",
                            "e.g. assume: [is_onehot(y)]"),
    (("assume", "*"), "type"): ("unknown assumption {value!r}", "predicates: {predicates}"),
    (("assume", "*"), "pattern"): ("unknown assumption {value!r}", "predicates: {predicates}"),
    (("define",), "type"): ("'define' must map names to expressions",
                            "e.g. define: {{z: W @ x + b}}"),
    (("define",), "propertyNames"): ("'{key}' cannot be a defined name", _NAME_HINT),
    (("define", "*"), "type"): _EXPRESSION,
    (("define", "*"), "required"): ("expected an expression (a string), or {{expr:, latex:}}: "
                                    "missing 'expr'", "e.g. z1: {{expr: W1 @ x + b1, latex: "
                                    "'z^{{(1)}}'}}"),
    (("define", "*"), "additionalProperties"): ("unknown definition key '{key}'",
                                                "a definition is an expression, or "
                                                "{{expr:, latex:}}"),
    (("define", "*", "expr"), "type"): _EXPRESSION,
    (("define", "*", "latex"), "type"): ("'latex' is a LaTeX name such as 'z^{{(1)}}', "
                                         "'\\bar{{x}}' or '\\hat{{y}}'", ""),
    # steps
    (("steps",), "type"): ("'steps' must be a non-empty list of steps",
                           "e.g. steps: [{{id: s1, claim: 'd(L)/d(z) = a - y'}}]"),
    (("steps",), "minItems"): ("'steps' must be a non-empty list of steps",
                               "e.g. steps: [{{id: s1, claim: 'd(L)/d(z) = a - y'}}]"),
    (("steps",), "maxItems"): ("too many steps ({n}, limit {limit})", ""),
    (_STEP, "type"): ("a step is a mapping with 'id' and 'claim' or 'chain'", ""),
    (_STEP, "additionalProperties"): ("unknown step key '{key}'", "step keys: {allowed}"),
    (_STEP, "required"): ("step without an 'id'", "add id: a_short_name"),
    (_STEP, "anyOf"): ("a step needs 'claim', 'chain' or 'latex'", ""),
    (_STEP, "not"): ("a step has either 'claim' or 'chain', not both", ""),
    ((*_STEP, "id"), "type"): ("'id' must be a string", ""),
    ((*_STEP, "claim"), "type"): ("a claim is a string 'lhs = rhs'", ""),
    ((*_STEP, "chain"), "type"): ("a chain is a list of at least two expressions", ""),
    ((*_STEP, "chain"), "minItems"): ("a chain is a list of at least two expressions", ""),
    ((*_STEP, "chain", "*"), "type"): _EXPRESSION,
    ((*_STEP, "latex"), "type"): ("'latex' is a string or a list of at least two strings", ""),
    ((*_STEP, "latex"), "minItems"): ("'latex' is a string or a list of at least two strings",
                                      ""),
    ((*_STEP, "latex", "*"), "type"): ("a LaTeX chain item is a string", ""),
    ((*_STEP, "expect"), "type"): _VERDICT,
    ((*_STEP, "expect"), "enum"): _VERDICT,
    ((*_STEP, "expect"), "minItems"): ("'expect' lists no value",
                                       "give one value, or one per chain link"),
    ((*_STEP, "expect", "*"), "enum"): _VERDICT,
    ((*_STEP, "layout"), "enum"): _LAYOUT,
    **_all((*_STEP, "points"), _POINTS),
    # the rubric of an answer key
    (("rubric",), "type"): ("'rubric' must be a mapping with 'items'",
                            f"e.g. rubric: {{{{items: [{_RUBRIC_EG}]}}}}"),
    (("rubric",), "additionalProperties"): ("unknown rubric key '{key}'",
                                            "rubric keys: {allowed}"),
    (("rubric",), "required"): ("'items' must be a non-empty list of required results",
                                f"e.g. items: [{_RUBRIC_EG}]"),
    (("rubric", "items"), "type"): ("'items' must be a non-empty list of required results",
                                    f"e.g. items: [{_RUBRIC_EG}]"),
    (("rubric", "items"), "minItems"): ("'items' must be a non-empty list of required results",
                                        f"e.g. items: [{_RUBRIC_EG}]"),
    (("rubric", "items"), "maxItems"): ("too many items ({n}, limit {limit})", ""),
    (("rubric", "policy"), "type"): ("'policy' must be a mapping",
                                     "e.g. policy: {{result: 0.5, follow_through: 0.5}}"),
    (("rubric", "policy"), "additionalProperties"): ("unknown policy key '{key}'",
                                                     "policy keys: {allowed}"),
    **_all(("rubric", "policy", "result"), _FRACTION),
    **_all(("rubric", "policy", "follow_through"), _FRACTION),
    (("rubric", "policy", "penalties"), "type"): ("'penalties' maps diagnosis codes to points",
                                                  "e.g. penalties: {{sign-error: 0.5}}"),
    (("rubric", "policy", "penalties"), "propertyNames"): ("unknown diagnosis code '{key}'",
                                                           "codes: {codes}"),
    **_all(("rubric", "policy", "penalties", "*"), _POINTS),
    (_ITEM, "type"): ("a rubric item is a mapping with 'id', 'result' and 'points'", ""),
    (_ITEM, "additionalProperties"): ("unknown rubric item key '{key}'",
                                      "item keys: {allowed}"),
    (_ITEM, "required:id"): ("rubric item without an 'id'", "add id: a_short_name"),
    (_ITEM, "required:points"): ("rubric item without 'points'", "add points: 1"),
    (_ITEM, "anyOf"): ("rubric item without 'result'", "add result: 'd(L)/d(W)' (the "
                       "derivative the student must state)"),
    ((*_ITEM, "id"), "type"): ("'id' must be a string", ""),
    ((*_ITEM, "result"), "type"): _EXPRESSION,
    ((*_ITEM, "result"), "minItems"): ("'result' lists no expression", ""),
    ((*_ITEM, "result", "*"), "type"): _EXPRESSION,
    ((*_ITEM, "latex"), "type"): ("'latex' is a LaTeX string (or a list)", ""),
    ((*_ITEM, "latex", "*"), "type"): ("'latex' is a LaTeX string (or a list)", ""),
    ((*_ITEM, "via"), "type"): _EXPRESSION,
    **_all((*_ITEM, "points"), _POINTS),
}

_GENERIC = {
    "type": ("'{label}' must be {types}", ""),
    "enum": ("'{value}' is not one of: {allowed}", ""),
    "pattern": ("'{value}' does not have the expected form", "see docs/format.md"),
    "minimum": ("'{label}' must be at least {limit}", ""),
    "maximum": ("'{label}' must be at most {limit}", ""),
    "minItems": ("'{label}' needs at least {limit} item(s)", ""),
    "maxItems": ("too many items in '{label}' ({n}, limit {limit})", ""),
    "minProperties": ("'{label}' must not be empty", ""),
    "required": ("missing '{prop}:'", ""),
    "additionalProperties": ("unknown key '{key}'", "the keys are: {allowed}"),
    "propertyNames": ("'{key}' is not allowed here", ""),
    "anyOf": ("'{label}' does not have any of the accepted forms", "see docs/format.md"),
    "not": ("'{label}' is not allowed here", ""),
}
_TYPE_WORDS = {"object": "a mapping", "array": "a list", "string": "a string",
               "number": "a number", "integer": "an integer", "boolean": "true or false",
               "null": "empty"}


def describe(keyword: str, where: Where, value: Any, path: Where, *, schema_name: str,
             **args: Any) -> tuple[str, str]:
    """The message and hint for ``keyword`` failing at ``where`` on ``value``."""
    if keyword == "pattern" and where[:1] == ("symbols",):
        return kind_message(str(value), str(path[1]))
    prop = args.get("prop", "")
    text = (MESSAGES.get((where, f"{keyword}:{prop}")) or MESSAGES.get((where, keyword))
            or _GENERIC[keyword])
    types = args.get("types", ())
    fields = {
        "key": value if keyword in ("additionalProperties", "propertyNames") else "",
        "value": value, "prop": prop,
        "name": path[1] if len(path) > 1 else "",
        "label": next((str(p) for p in reversed(path) if isinstance(p, str)), "the document"),
        "allowed": ", ".join(str(a) for a in args.get("allowed", ())),
        "limit": args.get("limit", ""), "low": args.get("low", 0), "high": args.get("high", 0),
        "n": len(value) if isinstance(value, (list, dict)) else "",
        "types": " or ".join(_TYPE_WORDS[t] for t in ([types] if isinstance(types, str)
                                                      else types)),
        "predicates": ", ".join(p + "(name)" for p in PREDICATES),
        "codes": ", ".join(CODES),
    }
    message, hint = (part.format(**fields) for part in text)
    if (keyword, where, schema_name) == ("additionalProperties", (), "submission") \
            and value in load_schema("derivation")["properties"]:
        message = f"'{value}' comes from the answer key: a submission cannot set it"
    return message, hint


def kind_message(spec: str, name: str) -> tuple[str, str]:
    """Why a symbol's kind is refused (the loader's words): unknown kind, or dimensions."""
    words = spec.split()
    word = words[0] if words else ""
    if word not in KINDS:
        return (f"unknown kind '{word}'{_did_you_mean(word, list(KINDS))}",
                f"kinds: {', '.join(KINDS)}")
    n_dims = KINDS[word][0]
    if len(words) - 1 != n_dims:
        example = f"e.g. {name}: {word} {' '.join('KHD'[:n_dims])}".rstrip()
        return (f"kind '{word}' takes {n_dims} dimension{'s' if n_dims != 1 else ''}, "
                f"got {len(words) - 1}", example)
    bad = next((d for d in words[1:] if not _NAME.fullmatch(d)), words[-1])
    return f"'{bad}' cannot be a dimension name", "dimensions are names such as K, H, D, N"
