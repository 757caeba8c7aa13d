"""The engine for one derivation: shapes, derivative formulas, evaluation at points."""

from __future__ import annotations

import copy
from collections.abc import Mapping

import numpy as np

from derivcheck import ir
from derivcheck.engine.autodiff import Differentiator, _unit
from derivcheck.engine.numeric import Evaluator, Point
from derivcheck.engine.shapes import ShapeInference, derivative_shape
from derivcheck.engine.shared import SharedValues
from derivcheck.errors import InputError, ShapeError, Unsupported
from derivcheck.ir import ONE, E, Shape
from derivcheck.model import Derivation


class Engine:
    """Everything the checks need to know about one derivation.

    Raises (from the constructor):
        InputError: a definition is ill-shaped (the file cannot be checked).
    """

    def __init__(self, derivation: Derivation) -> None:
        self.derivation = derivation
        self.symbols = derivation.symbols
        self.index_range = {n: s.dims[0] for n, s in self.symbols.items() if s.is_index}
        self.index_range.update(derivation.bound)  # summation indices inferred, not declared
        self.symbol_shapes = {n: s.shape for n, s in self.symbols.items() if not s.is_index}
        self.definitions: dict[str, E] = {d.name: d.expr for d in derivation.definitions}
        self.def_shapes: dict[str, Shape] = {}
        self.def_free: dict[str, frozenset[str]] = {}
        base = ShapeInference(self.symbol_shapes, self.index_range, self.def_shapes)
        for d in derivation.definitions:
            if any(n.op == "d" for n in d.expr.walk()):
                raise InputError("a definition cannot contain a derivative d(f)/d(v)",
                                 d.loc.path if d.loc else derivation.path,
                                 d.loc.line if d.loc else 0, d.loc.col if d.loc else 0,
                                 "define the model; write derivatives in steps",
                                 context=f"define {d.name}")
            try:
                self.def_shapes[d.name] = base.of(d.expr)
            except ShapeError as exc:
                raise InputError(f"shape mismatch: {exc.message}",
                                 d.loc.path if d.loc else derivation.path,
                                 d.loc.line if d.loc else 0, d.loc.col if d.loc else 0,
                                 "check the shapes of the symbols this definition uses",
                                 context=f"define {d.name}") from None
            self.def_free[d.name] = ir.free_indices(d.expr, self.def_free)
        self._base_shapes = base
        self._shapes: dict[str, ShapeInference] = {}
        self.diff = Differentiator(self.definitions, self._plain_shape, self.free_indices,
                                   self.fresh_index)
        self._derivatives: dict[tuple[E, str], E] = {}
        # caches of the later stages for this derivation, by name (the random points its
        # equations share: ``decide.pool``); a clone starts without them
        self.shared: dict[object, object] = {}
        self._symbols_of: dict[str, frozenset[str]] = {}  # used_symbols of each definition

    def clone(self) -> Engine:
        """A copy whose later work cannot change this one (fresh index names, caches).

        Derivatives already computed are shared; what the copy computes next is
        named exactly as in a copy made at the same moment, whatever ran before
        on other copies (graders rely on it for reproducible results).
        """
        new = copy.copy(self)
        new.index_range = dict(self.index_range)
        new._derivatives = dict(self._derivatives)
        new._base_shapes = ShapeInference(new.symbol_shapes, new.index_range, new.def_shapes)
        new._shapes = {}
        new.shared = {}
        new.diff = Differentiator(new.definitions, new._plain_shape, new.free_indices,
                                  new.fresh_index)
        return new

    # -- shapes --------------------------------------------------------------
    def _plain_shape(self, node: E) -> Shape:
        return self._base_shapes.of(node)

    def shapes(self, layout: str) -> ShapeInference:
        inf = self._shapes.get(layout)
        if inf is None:
            inf = ShapeInference(self.symbol_shapes, self.index_range, self.def_shapes,
                                 lambda node: self.derivative_shape(node, layout))
            self._shapes[layout] = inf
        return inf

    def shape(self, node: E, layout: str = "gradient") -> Shape:
        return self.shapes(layout).of(node)

    def derivative_shape(self, node: E, layout: str) -> Shape:
        return derivative_shape(node, layout, lambda n: self.shape(n, layout))

    # -- derivatives -----------------------------------------------------------
    def resolve(self, node: E, layout: str) -> E:
        """``node`` with every ``d(f)/d(v)`` replaced by the engine's formula."""
        if node.op == "d":
            return self.derivative(node, layout)
        if not node.args or not any(n.op == "d" for n in node.walk()):
            return node
        return E(node.op, tuple(self.resolve(a, layout) for a in node.args), node.val, node.pos)

    def derivative(self, node: E, layout: str) -> E:
        key = (node, layout)
        hit = self._derivatives.get(key)
        if hit is None:
            hit = self._derivative(node, layout)
            self._derivatives[key] = hit
        return hit

    def _derivative(self, node: E, layout: str) -> E:
        self.derivative_shape(node, layout)  # shape errors first
        f_raw, v = node.args
        # A derivative of a derivative (a Hessian): differentiate the inner formula.
        f = self.resolve(f_raw, layout)
        if any(n.op in ("jac", "seed") for n in f.walk()):
            raise Unsupported("a derivative of a Jacobian is a tensor: write it per element")
        target, index = _split_target(v)
        fs = self.shape(f, layout)
        ts = self.shape(target, layout)
        if fs == ():
            grad = self.diff.gradient(f, target)
            if index:
                return ir.elem(grad, *index)
            return ir.transpose(grad) if layout == "numerator" else grad
        if index or ts == ():
            tangent = _unit(ts, index) if index else ONE
            return self.diff.directional(f, target, tangent)
        seed = E("seed", val=tuple(ts))
        column = self.diff.directional(f, target, seed)
        m = fs[0] if fs[1] == 1 else fs[1]
        jac = E("jac", (column,), (ts[0], tuple(ts), (m, ts[0])))
        return jac if layout == "numerator" else ir.transpose(jac)

    def derivative_nodes(self, node: E) -> list[E]:
        return [n for n in node.walk() if n.op == "d"]

    # -- evaluation ------------------------------------------------------------
    def evaluator(self, point: Point, *, no_relu_mask: bool = False,
                  dtype: type = np.float64, shared: SharedValues | None = None) -> Evaluator:
        ev = Evaluator(point, self.definitions, self.def_free, self.index_range,
                       self.derivation.conventions.relu_prime_at_zero, dtype, shared)
        ev.no_relu_mask = no_relu_mask
        return ev

    def fresh_index(self, like: str) -> str:
        """A new index name with the same range as ``like`` (for renaming a bound index)."""
        k = 1
        while f"{like}_{k}" in self.index_range or f"{like}_{k}" in self.symbols:
            k += 1
        name = f"{like}_{k}"
        self.index_range[name] = self.index_range[like]
        return name

    def free_indices(self, node: E) -> frozenset[str]:
        return ir.free_indices(node, self.def_free)

    def used_symbols(self, node: E) -> set[str]:
        """Declared (non-index) symbols ``node`` depends on, through definitions."""
        out: set[str] = set()
        for sub in node.walk():
            if sub.op == "sym":
                out.add(str(sub.val))
            elif sub.op == "ref":
                out |= self.definition_symbols(str(sub.val))
        return out

    def definition_symbols(self, name: str) -> frozenset[str]:
        """``used_symbols`` of a definition, computed once (the definitions it uses first,
        without recursion: a deep network's definitions nest hundreds deep)."""
        memo = self._symbols_of
        if name in memo:
            return memo[name]
        order: list[str] = []
        entered: set[str] = set()
        stack: list[tuple[str, bool]] = [(name, False)]
        while stack:
            cur, expanded = stack.pop()
            if expanded:
                order.append(cur)
            elif cur not in memo and cur not in entered:
                entered.add(cur)
                stack.append((cur, True))
                stack.extend((r, False) for r in ir.refs(self.definitions[cur]))
        for cur in order:
            found: set[str] = set()
            for sub in self.definitions[cur].walk():
                if sub.op == "sym":
                    found.add(str(sub.val))
                elif sub.op == "ref":
                    # a definition met again on its own path (a cycle, refused at loading)
                    # is walked through
                    found |= memo.get(str(sub.val)) or self._walk_symbols(str(sub.val))
            memo[cur] = frozenset(found)
        return memo[name]

    def _walk_symbols(self, name: str) -> frozenset[str]:
        seen: set[str] = set()
        out: set[str] = set()
        stack = [self.definitions[name]]
        while stack:
            for sub in stack.pop().walk():
                if sub.op == "sym":
                    out.add(str(sub.val))
                elif sub.op == "ref" and sub.val not in seen:
                    seen.add(str(sub.val))
                    stack.append(self.definitions[str(sub.val)])
        return frozenset(out)


def _split_target(v: E) -> tuple[E, tuple[E, ...]]:
    if v.op == "elem":
        return v.args[0], v.args[1:]
    return v, ()


class TooManyIndexValues(Unsupported):
    """More settings of the free indices than can all be checked."""


def index_assignments(free: frozenset[str], ranges: Mapping[str, str],
                      sizes: Mapping[str, int], limit: int = 4096, *,
                      spread: bool = False) -> list[dict[str, int]]:
    """Every assignment of the free indices.

    Past ``limit`` combinations: ``TooManyIndexValues`` (a claim must hold for
    every value, so a subset cannot check it), or with ``spread=True`` (the
    finite-difference cross-check, which may sample) an evenly spaced subset.
    """
    names = sorted(free)
    total = 1
    for name in names:
        total *= sizes[ranges[name]]
    if total > limit and not spread:
        raise TooManyIndexValues(f"{total:,} settings of the free indices {', '.join(names)} "
                                 f"(limit {limit:,}): every one must be checked")
    out: list[dict[str, int]] = [{}]
    for name in names:
        n = sizes[ranges[name]]
        out = [dict(a, **{name: k}) for a in out for k in range(n)]
        if len(out) > 4 * limit:  # spread: keep the product small while building it
            out = out[:: max(1, len(out) // (4 * limit))]
    if len(out) > limit:
        step = len(out) / limit
        out = [out[int(j * step)] for j in range(limit)]
    return out
