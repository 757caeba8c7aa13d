"""Answer keys: a derivation file with a ``rubric:`` (required results, points, policy).

::

    rubric:
      policy:
        result: 0.5           # share of an item's points for a correct final result
        follow_through: 0.5   # credit, relative to full, for what follows correctly from an error
        penalties: {sign-error: 0.25}   # points off an item for each wrong link with this code
      items:
        - id: dL_dW2
          result: "d(L)/d(w2)"          # or a list of equivalent forms, or latex:
          points: 2
          via: "d(L)/d(z2) @ A1.T"      # optional: how it follows from another item's result

The key's own steps are its model answer; ``prepare`` (in ``derivcheck.grade.check``)
refuses a key whose steps or ``via`` expressions do not hold.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from derivcheck.codes import CODES
from derivcheck.errors import InputError
from derivcheck.ir import E
from derivcheck.load import _item_pos, _Loader, read_text
from derivcheck.model import Derivation

RUBRIC_KEYS = ("policy", "items")
POLICY_KEYS = ("result", "follow_through", "penalties")
ITEM_KEYS = ("id", "result", "latex", "points", "via", "note")
MAX_ITEMS = 200


@dataclass(frozen=True)
class Policy:
    """How an item's points are shared out.

    An item worth ``P`` scores ``P * (result * R + (1 - result) * W)`` minus
    penalties, between 0 and ``P``: ``R`` is 1 for a correct final result,
    ``follow_through`` for one that follows correctly from the student's own
    wrong result of another item (``via``), else 0; ``W`` is the share of the
    links of the student's work that hold (a link that holds but continues an
    earlier wrong link counts ``follow_through``); a one-link step has ``W = R``.
    """

    result: float = 0.5
    follow_through: float = 0.5
    penalties: tuple[tuple[str, float], ...] = ()

    def penalty(self, code: str) -> float:
        return dict(self.penalties).get(code, 0.0)

    def as_dict(self) -> dict[str, Any]:
        return {"result": self.result, "follow_through": self.follow_through,
                "penalties": dict(self.penalties)}


@dataclass(frozen=True)
class Item:
    """A required result: the derivative a student must state, and its points."""

    id: str
    forms: tuple[E, ...]  # equivalent ways to write it, e.g. d(L)/d(W2)
    texts: tuple[str, ...]  # the same, as text
    points: float
    via: E | None = None
    via_text: str = ""
    note: str = ""
    line: int = 0


@dataclass(frozen=True)
class Rubric:
    items: tuple[Item, ...]
    policy: Policy = field(default_factory=Policy)

    @property
    def max_points(self) -> float:
        return sum(item.points for item in self.items)


@dataclass(frozen=True)
class AnswerKey:
    """A loaded answer key; ``digest`` identifies its exact text (for resuming)."""

    path: str
    derivation: Derivation
    rubric: Rubric
    digest: str


def load_key(path: str | Path) -> AnswerKey:
    """Read an answer key.

    Raises:
        InputError: the file is not a valid derivation with a valid ``rubric:``.
    """
    text = read_text(path)
    return load_key_text(text, str(path))


def load_key_text(text: str, path: str = "<key>") -> AnswerKey:
    loader = _Loader(text, path, extra_keys=("rubric",))
    derivation = loader.load()
    doc = loader.doc
    if "rubric" not in doc:
        raise loader.error("an answer key needs a 'rubric:'", 0, 0,
                           "add rubric: {items: [{id: dW, result: 'd(L)/d(W)', points: 1}]}")
    rubric = _RubricReader(loader).rubric(doc)
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    return AnswerKey(path, derivation, rubric, digest)


class _RubricReader:
    def __init__(self, loader: _Loader) -> None:
        self.ld = loader

    def rubric(self, doc: Any) -> Rubric:
        ld = self.ld
        table = doc["rubric"]
        if not isinstance(table, dict):
            raise ld.value_error(doc, "rubric", "'rubric' must be a mapping with 'items'",
                                 "e.g. rubric: {items: [{id: dW, result: 'd(L)/d(W)', "
                                 "points: 1}]}")
        for key in table:
            if key not in RUBRIC_KEYS:
                raise ld.key_error(table, key, f"unknown rubric key '{key}'",
                                   f"rubric keys: {', '.join(RUBRIC_KEYS)}")
        policy = self.policy(table) if "policy" in table else Policy()
        items = table.get("items")
        if not isinstance(items, list) or not items:
            raise ld.value_error(table, "items" if "items" in table else "policy",
                                 "'items' must be a non-empty list of required results",
                                 "e.g. items: [{id: dW, result: 'd(L)/d(W)', points: 1}]")
        if len(items) > MAX_ITEMS:
            raise ld.value_error(table, "items", f"too many items ({len(items)}, limit "
                                 f"{MAX_ITEMS})")
        out: list[Item] = []
        seen: dict[str, int] = {}
        for k, item in enumerate(items):
            line, col = _item_pos(items, k)
            if not isinstance(item, dict):
                raise ld.error("a rubric item is a mapping with 'id', 'result' and 'points'",
                               line, col)
            parsed = self.item(item, line, col)
            if parsed.id in seen:
                raise ld.value_error(item, "id", f"duplicate rubric item id '{parsed.id}'",
                                     f"first used on line {seen[parsed.id]}")
            seen[parsed.id] = parsed.line
            for other in out:
                shared = set(other.forms) & set(parsed.forms)
                if shared:
                    raise ld.value_error(item, "result" if "result" in item else "latex",
                                         f"item '{parsed.id}' asks for the same result as "
                                         f"item '{other.id}'", "merge the two items")
            out.append(parsed)
        return Rubric(tuple(out), policy)

    def policy(self, table: Any) -> Policy:
        ld = self.ld
        pol = table["policy"]
        if not isinstance(pol, dict):
            raise ld.value_error(table, "policy", "'policy' must be a mapping",
                                 "e.g. policy: {result: 0.5, follow_through: 0.5}")
        values: dict[str, float] = {"result": 0.5, "follow_through": 0.5}
        penalties: list[tuple[str, float]] = []
        for key, value in pol.items():
            if key not in POLICY_KEYS:
                raise ld.key_error(pol, key, f"unknown policy key '{key}'",
                                   f"policy keys: {', '.join(POLICY_KEYS)}")
            if key == "penalties":
                if not isinstance(value, dict):
                    raise ld.value_error(pol, key, "'penalties' maps diagnosis codes to points",
                                         "e.g. penalties: {sign-error: 0.5}")
                for code in value:
                    if code not in CODES:
                        raise ld.key_error(value, code, f"unknown diagnosis code '{code}'",
                                           f"codes: {', '.join(CODES)}")
                    points = ld.points(value, "policy", str(code))
                    penalties.append((str(code), points or 0.0))
                continue
            if isinstance(value, bool) or not isinstance(value, (int, float)) \
                    or not 0 <= value <= 1:
                raise ld.value_error(pol, key, f"'{key}' is a fraction between 0 and 1",
                                     f"e.g. {key}: 0.5")
            values[str(key)] = float(value)
        return Policy(values["result"], values["follow_through"], tuple(penalties))

    def item(self, item: Any, line: int, col: int) -> Item:
        ld = self.ld
        for key in item:
            if key not in ITEM_KEYS:
                raise ld.key_error(item, key, f"unknown rubric item key '{key}'",
                                   f"item keys: {', '.join(ITEM_KEYS)}")
        if "id" not in item:
            raise ld.error("rubric item without an 'id'", line, col, "add id: a_short_name")
        iid = ld.string(item, "id")
        ctx = f"rubric item {iid}"
        if "points" not in item:
            raise ld.error("rubric item without 'points'", line, col, "add points: 1",
                           context=ctx)
        points = ld.points(item, ctx)
        assert ld.scope is not None
        forms: list[E] = []
        texts: list[str] = []
        if "result" in item:
            value = item["result"]
            if isinstance(value, list):
                if not value:
                    raise ld.value_error(item, "result", "'result' lists no expression",
                                         context=ctx)
                exprs = [ld.expression(value, k, t, ld.scope, ctx, is_item=True)
                         for k, t in enumerate(value)]
            else:
                exprs = [ld.expression(item, "result", value, ld.scope, ctx)]
            forms += [e.node for e in exprs]
            texts += [e.text for e in exprs]
        if "latex" in item:
            value = item["latex"]
            values = value if isinstance(value, list) else [value]
            reader = ld.latex_scope(ld.scope, ld.conv.layout)
            for k, text in enumerate(values):
                if not isinstance(text, str):
                    raise ld.value_error(item, "latex", "'latex' is a LaTeX string (or a list)",
                                         context=ctx)
                if isinstance(value, list):
                    e = ld.latex_expression(value, k, text, text, 0, reader, ctx, True)
                else:
                    e = ld.latex_expression(item, "latex", text, text, 0, reader, ctx, False)
                forms.append(e.node)
                texts.append(e.text)
        if not forms:
            raise ld.error("rubric item without 'result'", line, col,
                           "add result: 'd(L)/d(W)' (the derivative the student must state)",
                           context=ctx)
        for node, text in zip(forms, texts):
            if not any(n.op == "d" for n in node.walk()):
                key = "result" if "result" in item else "latex"
                raise ld.value_error(item, key, f"'{text}' is not a derivative",
                                     "a required result is what the student must compute, "
                                     "e.g. d(L)/d(W1)", ctx)
        via = None
        via_text = ""
        if "via" in item:
            e = ld.expression(item, "via", item["via"], ld.scope, ctx)
            via, via_text = e.node, e.text
        note = str(item.get("note") or "")
        return Item(iid, tuple(dict.fromkeys(forms)), tuple(dict.fromkeys(texts)),
                    points or 0.0, via, via_text, note, line + 1)


def rubric_error(key: AnswerKey, item: Item, message: str, hint: str = "") -> InputError:
    """An error about a rubric item found after loading (e.g. its ``via`` does not hold)."""
    return InputError(message, key.path, item.line, 0, hint, context=f"rubric item {item.id}")


