"""Shape-aware rewriting of engine formulas, so a person can read them.

Used to show the engine's own result (``a2 - y`` rather than the raw output of
reverse mode) and residuals.  Every rule is an identity wherever the input is
defined, given the declared kinds (``sum(y) = 1`` only for a ``prob`` or
``onehot`` y).  Nothing is decided from a simplified formula: verdicts come from
``compare``; this is for display and for splitting a formula into terms.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from derivcheck import ir
from derivcheck.engine import budget
from derivcheck.errors import ShapeError, Unsupported
from derivcheck.ir import E

if TYPE_CHECKING:
    from derivcheck.engine.core import Engine

MAX_PASSES = 6


def simplify(node: E, engine: Engine) -> E:
    """Rewrite ``node`` to a simpler equal formula (or return it unchanged)."""
    rw = _Rewriter(engine)
    for _ in range(MAX_PASSES):
        try:
            new = rw.run(node)
        except (ShapeError, Unsupported, KeyError, RecursionError):
            return node
        if new == node:
            break
        node = new
    return node


class _Rewriter:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.aliases = {expr: E("ref", val=name) for name, expr in engine.definitions.items()
                        if expr.args}
        self.normalised = {name for name, s in engine.symbols.items()
                           if "prob" in s.constraints and not s.is_index}
        self._memo: dict[E, E] = {}

    def shape(self, node: E) -> tuple:
        return self.engine._plain_shape(node)

    def run(self, node: E) -> E:
        hit = self._memo.get(node)
        if hit is None:
            budget.check()
            hit = self._node(node)
            self._memo[node] = hit
        return hit

    def _node(self, node: E) -> E:
        if not node.args:
            return node
        args = tuple(self.run(a) for a in node.args)
        node = E(node.op, args, node.val)
        alias = self.aliases.get(node)
        if alias is not None:
            return alias
        rule = getattr(self, f"_{node.op}", None)
        return rule(node) if rule else node

    # -- rules ---------------------------------------------------------------
    def _mul(self, node: E) -> E:
        a, b = node.args
        for x, y in ((a, b), (b, a)):
            if y.op == "ones" and self.shape(x) == tuple(y.val):  # type: ignore[arg-type]
                return x
            if y.op == "mul" and self.shape(x) == self.shape(y):  # (c * ones) * x -> c * x
                for c, o in ((y.args[0], y.args[1]), (y.args[1], y.args[0])):
                    if o.op == "ones" and self.shape(c) == ():
                        return self.run(E("mul", (c, x)))
            if y.op == "div" and y.args[1] == x and self._covers(y.args[0], x):
                return y.args[0]
            if x.op == "num" and x.val == 0 and self.shape(y) == ():
                return ir.ZERO
        if ir.is_num(a, 0) and self.shape(b) == ():
            return ir.ZERO
        if ir.is_num(b, 0) and self.shape(a) == ():
            return ir.ZERO
        if a.op == "div" and ir.is_num(a.args[0], 1):  # (1 / s) * x -> x / s
            return self.run(E("div", (b, a.args[1])))
        if a.op == "neg" or b.op == "neg":
            product = self.run(ir.mul(a.args[0] if a.op == "neg" else a,
                                      b.args[0] if b.op == "neg" else b))
            return product if a.op == b.op == "neg" else ir.neg(product)  # (-a) * (-b) = a * b
        for x, y in ((a, b), (b, a)):
            if y.op in ("add", "sub"):
                left = self.run(E("mul", (x, y.args[0])))
                right = self.run(E("mul", (x, y.args[1])))
                if left != E("mul", (x, y.args[0])) or right != E("mul", (x, y.args[1])):
                    return self.run(E(y.op, (left, right)))
        return ir.mul(a, b)

    def _covers(self, b: E, a: E) -> bool:
        """``a * (b / a) == b`` keeps its shape only if b's shape already covers a's."""
        from derivcheck.engine.shapes import broadcast

        return broadcast(self.shape(a), self.shape(b)) == self.shape(b)

    def _div(self, node: E) -> E:
        a, b = node.args
        if a.op == "mul":
            for x, y in ((a.args[0], a.args[1]), (a.args[1], a.args[0])):
                if x == b and self._covers(y, b):
                    return y
        return ir.div(a, b)

    def _delta(self, node: E) -> E:
        i, j = node.args
        if i == j:
            return ir.ONE
        if i.op == "int" and j.op == "int":
            return ir.ZERO
        return node

    def _elem(self, node: E) -> E:
        base, index = node.args[0], node.args[1:]
        if base.op == "onehot" and len(index) == 1:
            return self.run(E("delta", (base.args[0], index[0])))
        if base.op == "mul":
            a, b = base.args
            sa, sb = self.shape(a), self.shape(b)
            shape = self.shape(base)
            if sa == () or sa == shape:
                ea = a if sa == () else E("elem", (a, *index))
                if sb == () or sb == shape:
                    eb = b if sb == () else E("elem", (b, *index))
                    return self.run(E("mul", (ea, eb)))
        if base.op in ("add", "sub"):
            parts = tuple(x if self.shape(x) == () else E("elem", (x, *index))
                          for x in base.args)
            return self.run(E(base.op, parts))
        if base.op == "neg":
            return ir.neg(self.run(E("elem", (base.args[0], *index))))
        return node

    def _collect(self, node: E) -> E:
        """Combine equal terms of a sum: ``a + y - (a - y)`` -> ``2 * y``."""
        terms: list[tuple[object, E]] = []
        for sign, term in signed_terms(node):
            coeff, core = sign, term
            if term.op == "mul" and term.args[0].op == "num":
                coeff, core = sign * term.args[0].val, term.args[1]  # type: ignore[operator]
            for k, (c, t) in enumerate(terms):
                if t == core:
                    terms[k] = (c + coeff, t)  # type: ignore[operator]
                    break
            else:
                terms.append((coeff, core))
        if len(terms) == len(signed_terms(node)):
            return node
        out: E | None = None
        for c, t in terms:
            if c == 0:
                continue
            piece = t if c in (1, -1) else ir.mul(ir.num(abs(c)), t)  # type: ignore[arg-type]
            if out is None:
                out = piece if c > 0 else ir.neg(piece)  # type: ignore[operator]
            else:
                out = ir.add(out, piece) if c > 0 else ir.sub(out, piece)  # type: ignore[operator]
        if out is None or self.shape(out) != self.shape(node):
            return node
        return out

    def _add(self, node: E) -> E:
        collected = self._collect(node)
        if collected is not node:
            return collected
        a, b = node.args
        if a.op == "neg" and b.op != "neg":
            return ir.sub(b, a.args[0])
        if _is_zeros(a):
            return b if self.shape(b) == self.shape(node) else node
        if _is_zeros(b):
            return a if self.shape(a) == self.shape(node) else node
        return ir.add(a, b)

    def _sub(self, node: E) -> E:
        collected = self._collect(node)
        if collected is not node:
            return collected
        a, b = node.args
        if a == b:
            shape = self.shape(a)
            return ir.ZERO if shape == () else E("mul", (ir.ZERO, E("ones", val=tuple(shape))))
        if a.op == "neg" and b.op == "neg":
            return ir.sub(b.args[0], a.args[0])
        if _is_zeros(b):
            return a
        return ir.sub(a, b)

    def _neg(self, node: E) -> E:
        return ir.neg(node.args[0])

    def _sum(self, node: E) -> E:
        (a,) = node.args
        shape = self.shape(a)
        if node.val is not None and shape != () and (
                (node.val == 0 and shape[1] == 1) or (node.val == 1 and shape[0] == 1)):
            return self.run(E("sum", (a,), None))
        if node.val is None:
            if shape == ():
                return a
            if a.op == "neg":
                return ir.neg(self.run(E("sum", (a.args[0],), None)))
            if a.op == "mul" and a.args[0].op == "num":
                return ir.mul(a.args[0], self.run(E("sum", (a.args[1],), None)))
            if a.op == "sym" and a.val in self.normalised:
                return ir.ONE
            if a.op == "onehot" or (a.op == "ref" and self.engine.definitions[
                    str(a.val)].op == "onehot"):
                return ir.ONE
            if a.op == "mul":  # sum(x * onehot(i, K)) -> x[i]
                for x, y in ((a.args[0], a.args[1]), (a.args[1], a.args[0])):
                    if y.op == "onehot" and self.shape(x) == self.shape(y):
                        return self.run(E("elem", (x, y.args[0])))
        return node

    def _Sum(self, node: E) -> E:
        """``Sum(m, s[m] * onehot(m, K))`` -> the vector ``s`` (elementwise over K)."""
        var, body = str(node.val), node.args[0]
        if body.op == "neg":
            return ir.neg(self.run(E("Sum", (body.args[0],), var)))
        if body.op == "mul":
            for s, e in ((body.args[0], body.args[1]), (body.args[1], body.args[0])):
                if e.op == "onehot" and e.args[0] == E("idx", val=var):
                    vec = _vectorize(s, var, self.shape(e), self.shape)
                    if vec is not None:
                        return self.run(vec)
        if var not in ir.free_indices(body, self.engine.def_free):
            return ir.mul(E("dim", val=self.engine.index_range[var]), body)
        return node

    def _matmul(self, node: E) -> E:
        a, b = node.args
        if a.op == "eye":
            return b
        if b.op == "eye":
            return a
        return ir.matmul(a, b)

    def _T(self, node: E) -> E:
        return ir.transpose(node.args[0])


def _vectorize(node: E, var: str, shape: tuple, shape_of) -> E | None:  # type: ignore[no-untyped-def]
    """``node`` with every ``v[var]`` (v of ``shape``) replaced by ``v``, if that is all
    ``var`` does in it; None otherwise."""
    if node.op == "elem" and len(node.args) == 2 and node.args[1] == E("idx", val=var):
        return node.args[0] if shape_of(node.args[0]) == shape else None
    if node.op in ("num", "dim", "sym", "ref", "int"):
        return node
    if node.op == "idx":
        return None if node.val == var else node
    if node.op in ("add", "sub", "mul", "div", "neg", "pow") or (
            node.op == "fn" and node.val in ir.ELEMENTWISE_FUNCS):
        args = [_vectorize(a, var, shape, shape_of) for a in node.args]
        if any(a is None for a in args):
            return None
        return E(node.op, tuple(args), node.val)  # type: ignore[arg-type]
    if not any(n.op == "idx" and n.val == var for n in node.walk()):
        return node if shape_of(node) == () else None
    return None


def signed_terms(node: E, sign: int = 1) -> list[tuple[int, E]]:
    """``node`` as a signed sum of its top-level terms (through ``+``, ``-`` and negation)."""
    if node.op == "add":
        return signed_terms(node.args[0], sign) + signed_terms(node.args[1], sign)
    if node.op == "sub":
        return signed_terms(node.args[0], sign) + signed_terms(node.args[1], -sign)
    if node.op == "neg":
        return signed_terms(node.args[0], -sign)
    return [(sign, node)]


def _is_zeros(node: E) -> bool:
    return ir.is_num(node, 0) or (node.op == "mul" and ir.is_num(node.args[0], 0))


class _TooMany(Exception):
    """An expansion passed its budget of terms (see ``expand_terms``)."""


def expand_terms(node: E, engine: Engine, limit: int = 32,
                 most: int = 256) -> list[tuple[int, E]]:
    """``node`` as a signed sum of terms, distributing ``*``, ``/``, ``@`` and ``.T``.

    ``2 / N * X.T @ (X @ w - y)`` gives the terms ``2 / N * X.T @ X @ w`` and
    ``-(2 / N * X.T @ y)``: the diagnosis of a missing term looks for a single
    dropped term among these.  A product is not distributed past ``limit`` terms.

    Work is proportional to the expression's DAG, not to the tree it unfolds to:
    each node (by identity) is expanded once; a sum of more than ``most`` terms
    gives up, and ``node`` is returned as its one term. (Nested definitions such
    as ``z_k = tanh(z_{k-1}) * tanh(z_{k-1}) + s`` share sub-expressions whose tree
    is exponentially large.)
    """
    memo: dict[int, list[tuple[int, E]]] = {}
    keep: list[E] = []  # ids stay valid while the nodes are alive

    def go(n: E, sign: int) -> list[tuple[int, E]]:
        hit = memo.get(id(n))
        if hit is None:
            budget.check()
            hit = plain(n)
            memo[id(n)] = hit
            keep.append(n)
        return hit if sign == 1 else [(-s, t) for s, t in hit]

    def plain(n: E) -> list[tuple[int, E]]:
        if n.op in ("add", "sub"):
            left = go(n.args[0], 1)
            right = go(n.args[1], 1 if n.op == "add" else -1)
            if len(left) + len(right) > most:
                raise _TooMany
            return left + right
        if n.op == "neg":
            return go(n.args[0], -1)
        if n.op == "T":
            return [(s, ir.transpose(t)) for s, t in go(n.args[0], 1)]
        if n.op == "ref":  # a definition that is itself a sum, e.g. r = X @ w - y
            try:
                inner = go(engine.definitions[str(n.val)], 1)
            except _TooMany:
                return [(1, n)]
            return inner if len(inner) > 1 else [(1, n)]
        if n.op == "div":
            return [(s, ir.div(t, n.args[1])) for s, t in go(n.args[0], 1)]
        if n.op in ("mul", "matmul"):
            a, b = n.args
            try:
                left = go(a, 1)
                right = go(b, 1) if len(left) <= limit else []
            except _TooMany:
                return [(1, n)]
            if not right or len(left) * len(right) > limit:
                return [(1, n)]
            build = ir.mul if n.op == "mul" else ir.matmul
            return [(sa * sb, build(ta, tb)) for sa, ta in left for sb, tb in right]
        return [(1, n)]

    try:
        return go(node, 1)
    except _TooMany:
        return [(1, node)]
