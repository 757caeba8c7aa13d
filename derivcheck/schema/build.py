"""Builds the JSON Schemas (draft-07) from the loader's constants.

The shipped ``*.schema.json`` files are this module's output, committed so that
an editor can use them without running derivcheck; ``tests/test_schema.py``
checks that they equal what this module builds, so the enums (kinds, layouts,
expected verdicts, diagnosis codes) cannot drift from the code.  Regenerate
with ``python -m derivcheck.schema.build``.

Each schema is self-contained (its own ``definitions``), so one file path or URL
is all an editor needs.  The schemas accept exactly what the loader accepts
where JSON Schema can say it; what it cannot say (an expression's syntax, a
duplicate step id, the number of ``expect`` values of a chain, a symbol that is
also a dimension) is left to the loader.
"""

from __future__ import annotations

import json
from typing import Any

from derivcheck.codes import CODES
from derivcheck.grade.key import MAX_ITEMS
from derivcheck.load import (
    MAX_POINTS,
    MAX_STEPS,
    RESERVED,
    SUBMISSION_KEYS,
    TOP_KEYS,
)
from derivcheck.model import EXPECT_VALUES, KINDS, LAYOUTS, PREDICATES
from derivcheck.schema import NAMES, schema_path

DRAFT = "http://json-schema.org/draft-07/schema#"
NAME_PATTERN = "^[A-Za-z][A-Za-z0-9_]*$"
# Python's soft keyword 'type' (3.12+) is reserved only on some versions: the
# schema leaves it to the loader, so the schema never refuses what a loader accepts.
SCHEMA_RESERVED = tuple(sorted(n for n in RESERVED if n != "type" and n != "_"))
# The loader reads `conventions:`, `assume:` and `define:` with `or` a default:
# an empty value of any type is the same as leaving the key out.
EMPTY: dict[str, Any] = {"enum": [None, False, 0, "", [], {}],
                         "description": "empty: the same as leaving the key out"}


def _kind_pattern() -> str:
    by_dims: dict[int, list[str]] = {}
    for kind, (n_dims, _tags) in KINDS.items():
        by_dims.setdefault(n_dims, []).append(kind)
    dim = r"\s+[A-Za-z][A-Za-z0-9_]*"
    forms = [f"(?:{'|'.join(kinds)}){dim * n}" for n, kinds in sorted(by_dims.items())]
    return r"^\s*(?:" + "|".join(forms) + r")\s*$"


def _text(description: str) -> dict[str, Any]:
    """A string, or a number (the loader reads ``2`` as the text ``'2'``)."""
    return {"type": ["string", "number"], "description": description}


def _points(description: str) -> dict[str, Any]:
    return {"type": "number", "minimum": 0, "maximum": MAX_POINTS, "description": description}


def _definitions() -> dict[str, Any]:
    dim_names = {0: "", 1: " n", 2: " m n"}
    kinds_doc = ", ".join(f"{k}{dim_names[n]}" for k, (n, _t) in KINDS.items())
    return {
        "name": {
            "type": "string", "pattern": NAME_PATTERN, "not": {"enum": list(SCHEMA_RESERVED)},
            "description": "a name: a letter, then letters, digits or _; not a function name "
                           "or a Python keyword",
        },
        "expression": _text("an expression in derivcheck's numpy-like syntax, e.g. "
                            "'W @ x + b' or 'd(L)/d(W)' (docs/format.md)"),
        "kind": {
            "type": "string", "pattern": _kind_pattern(),
            "description": f"the kind and its dimension names: {kinds_doc}",
            "examples": ["vector D", "matrix H D", "scalar", "index K", "onehot K"],
        },
        "symbol": {
            "description": "a kind with dimension names ('matrix H D'), or {kind:, latex:}",
            "anyOf": [
                {"$ref": "#/definitions/kind"},
                {"type": "object", "title": "symbol",
                 "description": "a kind with the symbol's LaTeX name",
                 "required": ["kind"], "additionalProperties": False,
                 "properties": {
                     "kind": {"$ref": "#/definitions/kind"},
                     "latex": {"type": "string",
                               "description": "how the symbol is written in LaTeX steps, "
                                              "e.g. 'W_2', '\\mathbf{W}_2', 'W^{(1)}', "
                                              "'\\hat{y}'"},
                 }},
            ],
        },
        "definition": {
            "description": "an expression, or {expr:, latex:}",
            "anyOf": [
                {"$ref": "#/definitions/expression"},
                {"type": "object", "title": "definition",
                 "description": "an expression with the defined name's LaTeX name",
                 "required": ["expr"], "additionalProperties": False,
                 "properties": {
                     "expr": {"$ref": "#/definitions/expression"},
                     "latex": {"type": "string",
                               "description": "how the defined name is written in LaTeX "
                                              "steps, e.g. 'z^{(1)}', '\\bar{x}', "
                                              "'\\hat{y}'"},
                 }},
            ],
        },
        "symbols": {
            "type": "object", "minProperties": 1,
            "description": "the declared symbols: name -> 'kind dims' (docs/format.md, "
                           "Symbol kinds)",
            "propertyNames": {"$ref": "#/definitions/name"},
            "additionalProperties": {"$ref": "#/definitions/symbol"},
        },
        "define": {
            "description": "ordered definitions name -> expression; later ones may use "
                           "earlier ones",
            "anyOf": [
                {"type": "object", "propertyNames": {"$ref": "#/definitions/name"},
                 "additionalProperties": {"$ref": "#/definitions/definition"}},
                EMPTY,
            ],
        },
        "conventions": {
            "description": "conventions of the whole file",
            "anyOf": [
                {"type": "object", "additionalProperties": False,
                 "properties": {
                     "layout": {"enum": list(LAYOUTS),
                                "description": "layout of derivatives: gradient (default, "
                                               "d(scalar)/d(X) has the shape of X), numerator "
                                               "(Jacobians) or none (plain identities)"},
                     "relu_prime_at_zero": {"enum": [0, 1],
                                            "description": "the value of relu_prime at 0 "
                                                           "(default 0)"},
                     "latex_index_base": {"enum": [0, 1],
                                          "description": "where integer subscripts in LaTeX "
                                                         "count from: 0 (default, x_0 is the "
                                                         "first entry) or 1 (x_1 is)"},
                 }},
                EMPTY,
            ],
        },
        "assume": {
            "description": "extra predicates on declared symbols",
            "anyOf": [
                {"type": "array",
                 "items": {
                     "type": "string",
                     "pattern": r"^\s*(?:" + "|".join(PREDICATES) +
                                r")\s*\(\s*[A-Za-z][A-Za-z0-9_]*\s*\)\s*$",
                     "description": "a predicate on a symbol: "
                                    + ", ".join(f"{p}(name)" for p in PREDICATES)}},
                EMPTY,
            ],
        },
        "expect": {"enum": list(EXPECT_VALUES),
                   "description": "the verdict the author expects: holds (proved or "
                                  "checked), proved, checked, refuted, ill_formed, undecided"},
        "step": {
            "type": "object", "title": "step",
            "description": "a claimed step: an id and a claim, a chain or a LaTeX form",
            "required": ["id"],
            "anyOf": [{"required": ["claim"]}, {"required": ["chain"]},
                      {"required": ["latex"]}],
            "not": {"required": ["claim", "chain"]},
            "additionalProperties": False,
            "properties": {
                "id": _text("the step's name, unique in the file"),
                "claim": {"type": "string",
                          "description": "one equation 'lhs = rhs', e.g. "
                                         "'d(L)/d(z2) = a2 - y'"},
                "chain": {"type": "array", "minItems": 2,
                          "items": {"$ref": "#/definitions/expression"},
                          "description": "a chain e0 = e1 = e2 ...: each link is checked"},
                "latex": {
                    "description": "the step in LaTeX: 'lhs = rhs', 'e0 = e1 = ...', or a "
                                   "list of expressions",
                    "anyOf": [{"type": "string"},
                              {"type": "array", "minItems": 2, "items": {"type": "string"}}]},
                "expect": {
                    "description": "the expected verdict: one value, or one per chain link",
                    "anyOf": [{"$ref": "#/definitions/expect"},
                              {"type": "array", "minItems": 1,
                               "items": {"$ref": "#/definitions/expect"}}]},
                "note": {"description": "free text, e.g. the document's line and how it was "
                                        "read"},
                "layout": {"enum": list(LAYOUTS),
                           "description": "the layout of this step's derivatives (overrides "
                                          "conventions.layout)"},
                "points": _points("points for this step (grading)"),
            },
        },
        "steps": {"type": "array", "minItems": 1, "maxItems": MAX_STEPS,
                  "items": {"$ref": "#/definitions/step"},
                  "description": "the claimed steps, in the document's order"},
    }


def _rubric_definitions() -> dict[str, Any]:
    fraction = {"type": "number", "minimum": 0, "maximum": 1}
    return {
        "policy": {
            "type": "object", "title": "policy", "additionalProperties": False,
            "description": "how an item's points are shared out",
            "properties": {
                "result": {**fraction, "description": "share of an item's points for a "
                                                      "correct final result (default 0.5)"},
                "follow_through": {**fraction,
                                   "description": "credit, relative to full, for what follows "
                                                  "correctly from an earlier error (default "
                                                  "0.5)"},
                "penalties": {
                    "type": "object",
                    "description": "points off an item for each wrong link with this "
                                   "diagnosis code",
                    "propertyNames": {"enum": list(CODES)},
                    "additionalProperties": _points("points off for this diagnosis code"),
                },
            },
        },
        "item": {
            "type": "object", "title": "rubric item", "additionalProperties": False,
            "description": "a required result: the derivative a student must state, and its "
                           "points",
            "required": ["id", "points"],
            "anyOf": [{"required": ["result"]}, {"required": ["latex"]}],
            "properties": {
                "id": _text("the item's name, unique in the rubric"),
                "result": {
                    "description": "the derivative the student must state, e.g. "
                                   "'d(L)/d(W1)', or a list of equivalent forms",
                    "anyOf": [{"$ref": "#/definitions/expression"},
                              {"type": "array", "minItems": 1,
                               "items": {"$ref": "#/definitions/expression"}}]},
                "latex": {"description": "the result in LaTeX (or a list of forms)",
                          "anyOf": [{"type": "string"},
                                    {"type": "array", "items": {"type": "string"}}]},
                "points": _points("the item's points"),
                "via": _text("how the result follows from another item's result, e.g. "
                             "'d(L)/d(z2) @ A1.T' (for follow-through credit)"),
                "note": {"description": "free text for the instructor"},
            },
        },
        "rubric": {
            "type": "object", "title": "rubric", "additionalProperties": False,
            "description": "the answer key's rubric: required results, points and the policy "
                           "for partial credit",
            "required": ["items"],
            "properties": {
                "policy": {"$ref": "#/definitions/policy"},
                "items": {"type": "array", "minItems": 1, "maxItems": MAX_ITEMS,
                          "items": {"$ref": "#/definitions/item"},
                          "description": "the required results"},
            },
        },
    }


def _top_properties() -> dict[str, Any]:
    return {
        "title": _text("a human title"),
        "source": _text("the document the file encodes, e.g. 004_2210f1e06613752a.txt"),
        "symbols": {"$ref": "#/definitions/symbols"},
        "conventions": {"$ref": "#/definitions/conventions"},
        "assume": {"$ref": "#/definitions/assume"},
        "define": {"$ref": "#/definitions/define"},
        "steps": {"$ref": "#/definitions/steps"},
        "rubric": {"$ref": "#/definitions/rubric"},
    }


def build(name: str) -> dict[str, Any]:
    """The schema ``name`` (derivation, key or submission) as a dict."""
    definitions = _definitions()
    top = _top_properties()
    keys: tuple[str, ...]
    if name == "derivation":
        keys, required = TOP_KEYS, ["title", "symbols", "steps"]
        title = "derivcheck derivation file"
        about = "A derivation: symbols, definitions and the claimed steps (docs/format.md)."
    elif name == "key":
        definitions.update(_rubric_definitions())
        keys, required = (*TOP_KEYS, "rubric"), ["title", "symbols", "steps", "rubric"]
        title = "derivcheck answer key"
        about = "An answer key: a derivation file (the model answer) with a rubric."
    elif name == "submission":
        keys, required = SUBMISSION_KEYS, ["steps"]
        title = "derivcheck submission"
        about = ("A student's submission: steps over an answer key, whose symbols, "
                 "definitions and conventions apply (new names may be declared).")
        # no steps is a submission too: graded, every required result missing
        definitions["steps"] = {**definitions["steps"], "minItems": 0}
    else:
        raise KeyError(name)
    used = {"symbols", "define", "steps"} | ({"conventions", "assume"} if name != "submission"
                                             else set())
    defs = {k: v for k, v in definitions.items()
            if k not in ("symbols", "define", "steps", "conventions", "assume") or k in used}
    return {
        "$schema": DRAFT,
        "title": title,
        "description": about,
        "type": "object",
        "required": required,
        "additionalProperties": False,
        "properties": {k: top[k] for k in keys},
        "definitions": defs,
    }


def dump(name: str) -> str:
    """The schema ``name`` as the text of its shipped file."""
    return json.dumps(build(name), indent=2, ensure_ascii=False) + "\n"


def main() -> None:
    for name in NAMES:
        schema_path(name).write_text(dump(name), encoding="utf-8")


if __name__ == "__main__":
    main()
