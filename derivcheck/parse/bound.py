"""Summation indices a file uses without declaring them (``\\sum_k y_k``, ``Sum(k, y[k])``).

A bound index needs a range, and it has one already: the dimension of what it
subscripts (``y_k`` with ``y: vector K`` makes ``k`` run over ``K``). Both readers
(the expression syntax and LaTeX) open a ``BoundSum`` when a sum's index is not
declared, report each subscript it fills with ``use``, and ``close`` it when the
body is read. Every use must give the same dimension, and at least one must
exist; otherwise the sum is refused (never guessed).

One name has one range in a file (the shape inference and the engine see index
ranges by name): a letter inferred over ``K`` in one step and over ``D`` in
another is, the second time, bound under a new name (``k_D``), which is exact,
since a bound index can be renamed, and is said in the reading notes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from derivcheck.errors import ShapeError, Unsupported
from derivcheck.ir import E, Shape
from derivcheck.printer import to_text


class BoundError(Exception):
    """A bound index whose range cannot be inferred; the reader adds the place."""

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


@dataclass
class BoundSum:
    """One sum being read whose index is not declared."""

    var: str  # as written
    name: str  # as bound in the IR (``var``, or a new name once the range is known)
    dim: str | None = None
    first_use: str = ""  # what fixed the range, as read ("y[k]")


@dataclass
class BoundIndices:
    """The file's undeclared summation indices: IR name -> inferred range.

    ``ranges`` is the loader's table of index ranges, shared with its shape
    inference: a bound name is added there as soon as its range is known, so the
    rest of the body is typed with it. ``taken`` says whether a name is declared
    (a symbol, an index, a definition, a dimension or a function).
    """

    ranges: dict[str, str]
    taken: Callable[[str], bool]
    inferred: dict[str, str] = field(default_factory=dict)

    def open(self, var: str) -> BoundSum:
        return BoundSum(var, var)

    def use(self, bound: BoundSum, dim: str | int, where: str) -> str:
        """``bound``'s index subscripts a dimension ``dim`` (in ``where``): the IR name
        to write there.

        Raises:
            BoundError: the dimension is not a named one, or differs from an earlier use.
        """
        if not isinstance(dim, str):
            raise BoundError(f"the summation index {bound.var} subscripts {where}, a dimension "
                             f"of size {dim}: its range cannot be inferred from it",
                             f"declare it ('{bound.var}: index N') to sum over a named "
                             "dimension")
        if bound.dim is None:
            bound.dim = dim
            bound.first_use = where
            bound.name = self._name_for(bound.var, dim)
            self.ranges[bound.name] = dim
            self.inferred[bound.name] = dim
        elif bound.dim != dim:
            raise BoundError(f"the summation index {bound.var} is not declared, and its uses "
                             f"disagree on its range: {bound.first_use} makes it run over "
                             f"{bound.dim}, {where} over {dim}",
                             f"use one letter per range, or declare the index "
                             f"('{bound.var}: index {bound.dim}')")
        return bound.name

    def close(self, bound: BoundSum, body: E) -> tuple[E, str]:
        """The body with the index under its IR name, and the reading note.

        Raises:
            BoundError: the index subscripts nothing (its range is unknown).
        """
        if bound.dim is None:
            raise BoundError(f"the summation index {bound.var} is not declared and subscripts "
                             "nothing: its range cannot be inferred",
                             f"declare it ('{bound.var}: index N'), or write the sum over "
                             "the elements it runs through")
        if bound.name != bound.var:
            body = rename_index(body, bound.var, bound.name)
            note = (f"the summation index {bound.var} is not declared: it runs over "
                    f"{bound.dim}, the range of what it subscripts ({bound.first_use}); "
                    f"{bound.var} runs over {self.inferred[bound.var]} elsewhere in this "
                    f"file, so here it is read as {bound.name}")
        else:
            note = (f"the summation index {bound.var} is not declared: it runs over "
                    f"{bound.dim}, the range of what it subscripts ({bound.first_use})")
        return body, note

    def _name_for(self, var: str, dim: str) -> str:
        """``var``, or (``var`` has another range in this file) ``var_dim``, ``var_dim2``...:
        the first that already stands for this range or is free."""
        if self.inferred.get(var, dim) == dim:
            return var
        name, n = f"{var}_{dim}", 2
        while self.inferred.get(name) != dim and (
                self.taken(name) or name in self.inferred or name in self.ranges):
            name, n = f"{var}_{dim}{n}", n + 1
        return name


def rename_index(node: E, old: str, new: str) -> E:
    """``node`` with the index ``old`` renamed ``new`` (not inside a Sum rebinding ``old``)."""
    if node.op == "idx" and node.val == old:
        return E("idx", val=new, pos=node.pos)
    if node.op == "Sum" and node.val == old:
        return node
    if not node.args:
        return node
    return E(node.op, tuple(rename_index(a, old, new) for a in node.args), node.val,
             pos=node.pos)


def subscript_dim(shape_of: Callable[[E], Shape], base: E, n: int, k: int,
                  word: str = "index", words: str = "indices") -> str | int:
    """The dimension the ``k``-th of ``n`` subscripts of ``base`` runs over (both readers;
    ``word``/``words``: what each reader calls a subscript in its messages).

    Raises:
        BoundError: the shape of ``base`` is unknown, or it takes no such subscript.
    """
    shown = to_text(base)
    try:
        shape = shape_of(base)
    except (ShapeError, Unsupported, KeyError) as exc:
        raise BoundError(f"the range of a summation index cannot be inferred from "
                         f"`{shown}`, whose shape is unknown ({exc})",
                         "declare the index ('k: index N')") from None
    if shape == () or (n == 1 and 1 not in shape):
        what = "a scalar" if shape == () else f"a matrix, which takes two {words}"
        raise BoundError(f"`{shown}` is {what}: its {word} gives no range for the "
                         "summation index", "declare the index ('k: index N')")
    if n == 1:
        return shape[0] if shape[1] == 1 else shape[1]
    return shape[k]
