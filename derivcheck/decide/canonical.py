"""Canonical polynomial forms: claims proved for all sizes without SymPy.

``simplify`` rewrites a formula for people to read; two sides that it leaves
different may still be the same polynomial.  Here each side becomes a sum of
products of *atoms* (symbols, entries, definitions, function values, matrix
products, sums over an index) with exact rational coefficients, and the two
polynomials are compared.  Products are elementwise, so they commute and
distribute over sums at every shape (broadcasting included); equal polynomials
in atoms taken as independent unknowns are equal for every value of the atoms,
so equal forms prove the claim for all sizes wherever both sides are defined.

Every rewrite on the way is an identity at every size:

* an entry of a sum, product or quotient is the sum, product or quotient of
  entries (operands of another shape than the whole are not split); an entry of
  an elementwise function is the function of the entry; ``A.T[i, j] = A[j, i]``;
  ``onehot(i, K)[k] = delta(i, k)``; ``eye(K)[i, j] = delta(i, j)``;
* an entry of a matrix product is ``Sum(k, A[i, k] * B[k, j])`` over its inner
  dimension (one product if that dimension is 1);
* ``Sum(k, ...)`` distributes over terms, takes out the factors without ``k``
  (``Sum(k, c) = K * c``), contracts ``Sum(k, delta(k, j) * f(k)) = f(j)`` when
  ``j`` ranges over the same dimension as ``k``, sums the entries of a ``prob``
  (or ``onehot``) vector to 1, and names its bound index canonically (``_K_1``:
  the dimension and the nesting height; user names cannot start with ``_``);
* ``delta`` is symmetric, ``delta(i, i) = 1``, ``delta`` of two different
  literals is 0; ``a / c`` for a constant ``c`` is ``a * (1/c)``, and a small
  positive integer power is a repeated product.

A definition used through ``ref`` stays an atom; an index a definition depends
on (``y: onehot(t, K)``) is never renamed or substituted.
"""

from __future__ import annotations

import weakref
from fractions import Fraction
from typing import TYPE_CHECKING

from derivcheck import ir
from derivcheck.engine import budget
from derivcheck.engine.shapes import ShapeInference
from derivcheck.errors import ShapeError, Unsupported
from derivcheck.ir import E
from derivcheck.printer import to_text

if TYPE_CHECKING:
    from derivcheck.engine.core import Engine

Poly = dict[tuple[E, ...], Fraction]  # sorted factors -> coefficient (never 0)
MAX_TERMS = 256
MAX_REMEMBERED = 50_000  # forms a canonicalizer keeps (then a fresh one starts)
MAX_POWER = 4
# Nodes of one factor, as a tree (its text is its sort key): past this the form gives up
# (no proof this way).  A deep network's inlined derivative unfolds to trees 8 times
# larger per layer (about 460,000 nodes at 7 layers); the largest factor of derivations/
# and bench/corpus/ has 192.
MAX_FACTOR_NODES = 10_000
_VALUE_OPS = frozenset({"fn", "T", "matmul", "sum", "mean", "pow", "div"})
_ZERO_INDEX = E("int", val=0)
_LEAVES = frozenset({"sym", "ref", "dim", "onehot", "eye", "ones", "idx", "int"})


class _GiveUp(Exception):
    """Outside what the canonical form covers: no proof this way (never a refutation)."""


def same_canonical_form(lhs: E, rhs: E, engine: Engine) -> tuple[str, bool, bool]:
    """The common canonical form (as text) if both sides have the same one, else '';
    whether it is the form of their entries ``[_row, _col]`` (see below); and whether
    both sides were multiplied by their denominators first (``clear_denominators``).

    Definitions are atoms first; if that does not show the sides equal, they are
    replaced by their formulas (as the evaluator reads them: an index a definition
    uses takes the value it has where the definition is used).  Last, a vector or
    matrix claim is compared entry by entry, at indices ``_row`` (and ``_col``) that
    stand for every entry (the only way Jacobians are compared).
    """
    for entries in (False, True):
        for inline in (False, True):
            canon = _canon_for(engine, inline, entries)
            try:
                left, right = (canon.entry(lhs), canon.entry(rhs)) if entries else (lhs, rhs)
                a, b = canon.settle(canon.poly(left)), canon.settle(canon.poly(right))
                if a != b:
                    a, b = canon.clear_denominators(a, b)
                    cleared = True
                else:
                    cleared = False
            except (_GiveUp, ShapeError, Unsupported, KeyError, RecursionError, ValueError,
                    ZeroDivisionError, TypeError):
                continue
            if a == b:
                return to_text(canon.expr(a)), entries, cleared
    return "", False, False


# One canonicalizer per engine and pass, kept while the engine lives: the forms of the
# definitions (and of every sub-formula) are worked out once per file, not once per claim.
# A form depends only on the formula and the pass (fresh names are bound and renamed).
_CANONS: weakref.WeakKeyDictionary[Engine, dict[tuple[bool, bool], _Canon]] = (
    weakref.WeakKeyDictionary())


def _canon_for(engine: Engine, inline: bool, entries: bool) -> _Canon:
    if entries:  # the entry indices' ranges depend on the claim: never shared
        return _Canon(engine, inline=inline, entries=entries)
    kept = _CANONS.setdefault(engine, {})
    canon = kept.get((inline, entries))
    if canon is None or len(canon._memo) > MAX_REMEMBERED:
        canon = kept[(inline, entries)] = _Canon(engine, inline=inline, entries=entries)
    canon.refresh()
    return canon


def _add(p: Poly, q: Poly, scale: Fraction = Fraction(1)) -> Poly:
    out = dict(p)
    for k, c in q.items():
        v = out.get(k, Fraction(0)) + scale * c
        if v:
            out[k] = v
        else:
            out.pop(k, None)
    if len(out) > MAX_TERMS:
        raise _GiveUp("too many terms")
    return out


class _Canon:
    def __init__(self, engine: Engine, *, inline: bool = False, entries: bool = False) -> None:
        self.engine = engine
        self.inline = inline
        self.entries = entries  # inner products as sums of entries too
        self.free_names: set[str] = set()  # the entry indices of ``entry``
        self._index_range = dict(engine.index_range)
        self._shapes = ShapeInference(engine.symbol_shapes, self._index_range,
                                      engine.def_shapes)
        self.ranges: dict[str, str] = {}  # bound names introduced here -> dimension
        self.heights: dict[str, int] = {}  # canonical bound names -> nesting height
        self._keys: dict[E, str] = {}
        self._memo: dict[E, Poly] = {}
        self._fresh = 0

    # -- helpers ---------------------------------------------------------------
    def refresh(self) -> None:
        """Take in indices the engine named since (while differentiating)."""
        for name, dim in self.engine.index_range.items():
            self._index_range.setdefault(name, dim)

    def entry(self, node: E) -> E:
        """The entry ``node[_row, _col]`` of a vector or matrix at indices standing for all."""
        shape = self.shape(node)
        if len(shape) != 2:
            raise _GiveUp("a scalar")
        rows, cols = shape
        picks = []
        for name, dim in (("_row", rows), ("_col", cols)):
            if dim == 1:
                continue
            if not isinstance(dim, str):
                raise _GiveUp("a dimension of fixed size")
            self.name_index(name, dim)
            self.free_names.add(name)
            picks.append(E("idx", val=name))
        if not picks:
            raise _GiveUp("a 1 x 1 value")
        return E("elem", (node, *picks))

    def key(self, node: E) -> str:
        """A factor's sort key: its text.  Raises ``_GiveUp`` for a factor larger than
        ``MAX_FACTOR_NODES`` (its text would grow without bound)."""
        hit = self._keys.get(node)
        if hit is None:
            if ir.tree_size_within(node, MAX_FACTOR_NODES) > MAX_FACTOR_NODES:
                raise _GiveUp(f"a factor of more than {MAX_FACTOR_NODES:,} nodes")
            hit = self._keys[node] = to_text(node)
        return hit

    def shape(self, node: E) -> tuple:
        try:
            return tuple(self._shapes.of(node))
        except (ShapeError, Unsupported, KeyError) as exc:
            raise _GiveUp("shape") from exc

    def name_index(self, name: str, dim: str) -> None:
        """Give an index introduced here its range (for ranges and shapes)."""
        self.ranges[name] = dim
        self._index_range[name] = dim

    def range_of(self, name: str) -> str:
        rng = self.ranges.get(name) or self.engine.index_range.get(name)
        if rng is None:
            raise _GiveUp(f"no range for {name}")
        return rng

    def atom(self, node: E) -> Poly:
        return {(node,): Fraction(1)}

    def mul(self, p: Poly, q: Poly) -> Poly:
        out: Poly = {}
        for fa, ca in p.items():
            for fb, cb in q.items():
                factors = tuple(sorted(self._cancel(list(fa + fb)), key=self.key))
                out = _add(out, {factors: ca * cb})
        return out

    def _cancel(self, factors: list[E]) -> list[E]:
        """``f * (1/f) = 1`` (where defined); ``ones(shape) * x = x`` for a factor ``x`` of
        that shape (the product already has it)."""
        for k, f in enumerate(factors):
            if f.op == "div" and f.args[0] == ir.ONE and f.args[1] in factors:
                rest = factors[:k] + factors[k + 1:]
                rest.remove(f.args[1])
                return self._cancel(rest)
        for k, f in enumerate(factors):
            if f.op == "ones" and any(g.op != "ones" and self._shape_or_none(g) == f.val
                                      for g in factors):
                return self._cancel(factors[:k] + factors[k + 1:])
        return factors

    def _shape_or_none(self, node: E) -> tuple | None:
        try:
            return tuple(self._shapes.of(node))
        except (ShapeError, Unsupported, KeyError):
            return None

    def reciprocal(self, den: Poly) -> Poly:
        """``1 / den``: a monomial splits into reciprocals of its factors (``1/(1/f) = f``)."""
        if len(den) == 1:
            ((factors, c),) = den.items()
            out: Poly = {(): 1 / c}
            for f in factors:
                inv = f.args[1] if f.op == "div" else E("div", (ir.ONE, f))
                out = self.mul(out, self.atom(inv))
            return out
        return self.atom(E("div", (ir.ONE, self.expr(den))))

    def clear_denominators(self, p: Poly, q: Poly) -> tuple[Poly, Poly]:
        """``p`` and ``q`` both multiplied by ``g ** m`` for each reciprocal ``1/g`` they use
        (``m`` its highest power), until they are equal or have no reciprocal left.

        Wherever both sides are defined every ``g`` is nonzero, so ``p = q`` exactly where
        ``p * g**m = q * g**m``: equal results prove the claim there.
        """
        for _ in range(6):
            if p == q:
                break
            recips = {f for poly in (p, q) for factors in poly for f in factors
                      if f.op == "div" and f.args[0] == ir.ONE}
            if not recips:
                break
            r = min(recips, key=self.key)
            g = self.poly(r.args[1])
            if not g:
                raise _GiveUp("a reciprocal of 0")
            power = max(factors.count(r) for poly in (p, q) for factors in poly)
            p, q = self._times(p, r, g, power), self._times(q, r, g, power)
        return p, q

    def _times(self, p: Poly, r: E, g: Poly, power: int) -> Poly:
        """``p * g**power`` where ``r = 1/g`` (each ``r`` of a term cancels one ``g``)."""
        out: Poly = {}
        for factors, c in p.items():
            m = factors.count(r)
            term: Poly = {tuple(f for f in factors if f != r): c}
            for _ in range(power - m):
                term = self.mul(term, g)
            out = _add(out, term)
        return out

    def settle(self, p: Poly) -> Poly:
        """Every term ``delta(i, j) * f(j)`` as ``delta(i, j) * f(i)`` (i, j of one range;
        the name first in order stays), so equal terms look equal."""
        for _ in range(8):
            out: Poly = {}
            changed = False
            for factors, c in p.items():
                new = self._settle_term(list(factors))
                if new is None:
                    out = _add(out, {factors: c})
                else:
                    changed = True
                    out = _add(out, self.mul({(): c}, new))
            p = out
            if not changed:
                break
        return p

    def _settle_term(self, factors: list[E]) -> Poly | None:
        for k, f in enumerate(factors):
            if f.op != "delta" or f.args[0].op != "idx" or f.args[1].op != "idx":
                continue
            keep, drop = sorted((str(f.args[0].val), str(f.args[1].val)))
            others = factors[:k] + factors[k + 1:]
            if any(n.startswith("_") and n not in self.free_names for n in (keep, drop)) \
                    or self.range_of(keep) != self.range_of(drop) \
                    or not any(self._depends(g, drop) for g in others) \
                    or self._through_definition(others, drop):
                continue
            out: Poly = self.atom(f)
            for g in others:
                out = self.mul(out, self.poly(_substitute(g, drop, E("idx", val=keep))))
            return out
        return None

    def expr(self, p: Poly) -> E:
        """The polynomial as a formula: terms and factors in a fixed (textual) order."""
        terms = sorted(p.items(), key=lambda t: [self.key(f) for f in t[0]])
        out: E | None = None
        for factors, c in terms:
            body: E | None = None
            for f in factors:
                body = f if body is None else E("mul", (body, f))
            mag = abs(c)
            if body is None:
                piece = ir.num(mag)
            elif mag != 1:
                piece = E("mul", (ir.num(mag), body))
            else:
                piece = body
            if out is None:
                out = piece if c > 0 else E("neg", (piece,))
            else:
                out = E("add" if c > 0 else "sub", (out, piece))
        return out if out is not None else ir.ZERO

    # -- the polynomial of a formula -------------------------------------------------
    def poly(self, node: E) -> Poly:
        hit = self._memo.get(node)
        if hit is None:
            budget.check()
            hit = self._poly(node)
            self._memo[node] = hit
        return hit

    def _poly(self, node: E) -> Poly:
        op, args = node.op, node.args
        if op == "num":
            value = Fraction(node.val)
            return {(): value} if value else {}
        if op == "add":
            return _add(self.poly(args[0]), self.poly(args[1]))
        if op == "sub":
            return _add(self.poly(args[0]), self.poly(args[1]), Fraction(-1))
        if op == "neg":
            return _add({}, self.poly(args[0]), Fraction(-1))
        if op == "mul":
            return self.mul(self.poly(args[0]), self.poly(args[1]))
        if op == "div":
            den = self.poly(args[1])
            if set(den) <= {()}:
                c = den.get((), Fraction(0))
                if c == 0:
                    raise _GiveUp("division by 0")
                return _add({}, self.poly(args[0]), 1 / c)
            return self.mul(self.poly(args[0]), self.reciprocal(den))
        if op == "pow" and args[1].op == "num" and isinstance(args[1].val, Fraction) \
                and args[1].val.denominator == 1 and 1 <= args[1].val <= MAX_POWER:
            base = self.poly(args[0])
            out = base
            for _ in range(int(args[1].val) - 1):
                out = self.mul(out, base)
            return out
        if op == "elem":
            return self._elem(node)
        if op == "Sum":
            return self._sum(node)
        if op == "delta":
            return self._delta(node)
        if op == "span":  # the indicator of part of a range: an atom (never widened)
            if node.val[0] == 0 and node.val[1] == 0:  # type: ignore[index]
                return {(): Fraction(1)}  # positions 0..size-1: the whole range
            return self.atom(node)
        if op == "ref" and self.inline:
            return self.poly(self.engine.definitions[str(node.val)])
        if op == "sum" and (node.val is None or self._along_vector(args[0], node.val)):
            total = self._total(args[0])
            if total is not None:
                return total
        if op in _LEAVES:
            return self.atom(node)
        if op == "matmul":
            return self._matmul(node)
        if op == "T":
            return self._transpose(self.poly(args[0]))
        if op == "fn" and node.val == "tr" and len(args) == 1:
            return self._trace(args[0])
        if op == "fn" and node.val == "relu" and len(args) == 1:
            # relu(u) = u * relu_prime(u) at every u (at 0 both are 0, whatever relu_prime(0))
            return self.poly(E("mul", (args[0], E("fn", (args[0],), "relu_prime"))))
        if op in _VALUE_OPS:
            return self.atom(E(op, tuple(self._operand(a) for a in args), node.val))
        raise _GiveUp(f"no canonical form for {op}")

    def _operand(self, node: E) -> E:
        """``node``'s canonical formula, as the operand of an operation that is not
        elementwise: with its shape kept.  A polynomial forgets shapes (``x - x`` is 0
        whatever the length of ``x``), and ``logsumexp(0)`` of a length-n vector is
        ``log(n)``: where the formula alone no longer has ``node``'s shape, it is
        multiplied by ``ones`` of that shape."""
        rebuilt = self.expr(self.poly(node))
        shape = self.shape(node)
        if shape not in ((), (1, 1)) and self._shape_or_none(rebuilt) != shape:
            rebuilt = E("mul", (rebuilt, E("ones", val=tuple(shape))))
        return rebuilt

    def _delta(self, node: E) -> Poly:
        i, j = node.args
        if i == j:
            return {(): Fraction(1)}
        if i.op == "int" and j.op == "int":
            return {}
        a, b = sorted((i, j), key=self.key)
        return self.atom(E("delta", (a, b)))

    # -- entries -----------------------------------------------------------------
    def _elem(self, node: E) -> Poly:
        base, index = node.args[0], node.args[1:]
        op = base.op
        if op in ("add", "sub", "mul", "div", "neg"):
            whole = self.shape(base)
            parts = []
            for x in base.args:
                sx = self.shape(x)
                if sx == () or (sx == (1, 1) != whole):  # a scalar, broadcast
                    parts.append(x)
                elif sx == whole:
                    parts.append(E("elem", (x, *index)))
                elif len(index) == 2 and len(whole) == 2 and sx == (whole[0], 1) != whole:
                    parts.append(E("elem", (x, index[0])))  # a column repeated across
                elif len(index) == 2 and len(whole) == 2 and sx == (1, whole[1]) != whole:
                    parts.append(E("elem", (x, index[1])))  # a row repeated down
                else:
                    return self._opaque(node)
            return self.poly(E(op, tuple(parts)))
        if op == "fn" and base.val in ir.ELEMENTWISE_FUNCS and len(base.args) == 1 \
                and self.shape(base.args[0]) == self.shape(base):
            return self.poly(E("fn", (E("elem", (base.args[0], *index)),), base.val))
        if op == "T":
            inner = base.args[0]
            if len(index) == 2:
                return self.poly(E("elem", (inner, index[1], index[0])))
            return self.poly(E("elem", (inner, *index)))  # an entry of a vector
        if op == "ones":
            return {(): Fraction(1)}
        if op == "Sum" and not any(i.op == "idx" and i.val == base.val for i in index) \
                and self.shape(base.args[0]) == self.shape(base):
            return self.poly(E("Sum", (E("elem", (base.args[0], *index)),), base.val))
        if op == "ref" and self.inline:
            return self.poly(E("elem", (self.engine.definitions[str(base.val)], *index)))
        if op == "fn" and base.val == "diag" and len(base.args) == 1:
            return self._diag_entry(node)
        if op == "fn" and base.val == "softmax":
            return self._softmax_entry(node)
        if op == "onehot" and len(index) == 1:
            return self._delta(E("delta", (base.args[0], index[0])))
        if op == "eye" and len(index) == 2:
            return self._delta(E("delta", (index[0], index[1])))
        if op == "matmul":
            return self._matmul_entry(node)
        if op == "jac":
            return self._jacobian_entry(node)
        return self._opaque(node)

    def _jacobian_entry(self, node: E) -> Poly:
        """``J[i, j]``: entry ``i`` of the Jacobian's column formula at ``seed = onehot(j)``."""
        base, index = node.args[0], node.args[1:]
        n_dim, seed_shape, out = base.val
        column = base.args[0]
        if not isinstance(n_dim, str) or tuple(seed_shape) != (n_dim, 1):
            raise _GiveUp("a Jacobian by a scalar")
        rows = out[0]
        if len(index) == 2 and rows != 1:
            row, col = index
            seeded = _replace_seed(column, E("onehot", (col,), n_dim))
            return self.poly(E("elem", (seeded, row)))
        if len(index) == 1 and rows == 1:
            return self.poly(_replace_seed(column, E("onehot", (index[0],), n_dim)))
        raise _GiveUp("a Jacobian entry of another form")

    # -- matrices ------------------------------------------------------------------
    def _split(self, factors: tuple[E, ...]) -> tuple[list[E], E | None]:
        """A term's scalar factors, and the elementwise product of the others (or None)."""
        scalars: list[E] = []
        core: E | None = None
        for f in factors:
            if self._shape_or_none(f) == ():
                scalars.append(f)
            else:
                core = f if core is None else E("mul", (core, f))
        return scalars, core

    def _chain_expr(self, chain: list[E]) -> E:
        out = chain[0]
        for m in chain[1:]:
            out = E("matmul", (out, m))
        return out

    def _terms_as_matrices(self, node: E) -> list[tuple[Fraction, list[E], list[E]]]:
        """``node`` as terms ``c * scalars * (M1 @ M2 @ ...)``, each matrix product of the
        shape of ``node`` (a term broadcast from a smaller shape is not a matrix of it)."""
        shape = self.shape(node)
        out = []
        for factors, c in self.poly(node).items():
            scalars, core = self._split(factors)
            if core is None or self._shape_or_none(core) != shape:
                raise _GiveUp("a term of another shape inside a matrix product")
            out.append((c, scalars, _flatten(core)))
        return out

    def _matmul(self, node: E) -> Poly:
        """``@`` is bilinear and associative; scalars come out of it."""
        a, b = node.args
        shape_a, shape_b = self.shape(a), self.shape(b)
        if shape_a in ((), (1, 1)) or shape_b in ((), (1, 1)):
            return self.poly(E("mul", (a, b)))  # a 1 x 1 side: a product with a scalar
        if self.entries and shape_a[0] == 1 and shape_b[1] == 1 and isinstance(shape_a[1], str):
            k = self._fresh_index(shape_a[1])  # an inner product: the sum of entry products
            return self.poly(E("Sum", (E("mul", (E("elem", (a, k)), E("elem", (b, k)))),),
                               str(k.val)))
        out: Poly = {}
        for ca, sa, chain_a in self._terms_as_matrices(a):
            for cb, sb, chain_b in self._terms_as_matrices(b):
                term = self.mul({tuple(sorted(sa + sb, key=self.key)): ca * cb},
                                self.atom(self._chain_expr(chain_a + chain_b)))
                out = _add(out, term)
        return out

    def _transpose_atom(self, f: E) -> E:
        if f.op == "T":
            return f.args[0]
        if f.op == "eye" or self._shape_or_none(f) == ():
            return f
        if f.op == "ones":
            return E("ones", val=tuple(reversed(f.val)))
        if f.op == "sym":
            sym = self.engine.symbols.get(str(f.val))
            if sym is not None and "symmetric" in sym.constraints:
                return f
        if f.op == "matmul":  # (A @ B).T = B.T @ A.T
            return self._chain_expr([self._transpose_atom(m) for m in reversed(_flatten(f))])
        if f.op == "mul":  # an elementwise product, factor by factor
            return E("mul", (self._transpose_atom(f.args[0]), self._transpose_atom(f.args[1])))
        return E("T", (f,))

    def _transpose(self, p: Poly) -> Poly:
        """``.T`` of a polynomial: of each factor (transposing commutes with ``*`` and ``+``)."""
        out: Poly = {}
        for factors, c in p.items():
            term: Poly = {(): c}
            for f in factors:
                term = self.mul(term, self.atom(self._transpose_atom(f)))
            out = _add(out, term)
        return out

    def _trace(self, x: E) -> Poly:
        """``tr`` is linear, and ``tr(A @ B) = tr(B @ A)``: the first rotation in order."""
        out: Poly = {}
        for c, scalars, chain in self._terms_as_matrices(x):
            rotations = [chain[k:] + chain[:k] for k in range(len(chain))]
            best = min(rotations, key=lambda r: [self.key(m) for m in r])
            term = self.mul({tuple(sorted(scalars, key=self.key)): c},
                            self.atom(E("fn", (self._chain_expr(best),), "tr")))
            out = _add(out, term)
        return out

    def _diag_entry(self, node: E) -> Poly:
        """``diag(v)[i, j] = delta(i, j) * v[i]`` (v a vector); ``diag(M)[i] = M[i, i]``."""
        base, index = node.args[0], node.args[1:]
        x = base.args[0]
        sx = self.shape(x)
        if len(sx) != 2:
            return self._opaque(node)
        rows, cols = sx
        if len(index) == 2 and (cols == 1) != (rows == 1):
            i, j = index
            entry = E("elem", (x, i))
            return self.poly(E("mul", (E("delta", (i, j)), entry)))
        if len(index) == 1 and rows != 1 and cols != 1:
            return self.poly(E("elem", (x, index[0], index[0])))
        return self._opaque(node)

    def _fresh_index(self, dim: str) -> E:
        self._fresh += 1
        var = f"_t{self._fresh}"
        self.name_index(var, dim)
        return E("idx", val=var)

    def _softmax_entry(self, node: E) -> Poly:
        """``softmax(x)[i, j] = exp(x[i, j]) / Sum(t, exp(x[t, j]))`` (over each column)."""
        base, index = node.args[0], node.args[1:]
        x = base.args[0]
        rows, cols = self.shape(x)
        if not isinstance(rows, str) or (cols == 1) != (len(index) == 1):
            return self._opaque(node)
        t = self._fresh_index(rows)
        entry = E("fn", (E("elem", (x, *index)),), "exp")
        other = E("fn", (E("elem", (x, t, *index[1:])),), "exp")
        total = E("Sum", (other,), str(t.val))
        return self.poly(E("div", (entry, total)))

    def _along_vector(self, x: E, axis: object) -> bool:
        """Is ``sum(x, axis)`` the sum of all entries (down a column, along a row)?"""
        shape = self._shape_or_none(x)
        return shape is not None and len(shape) == 2 and (
            (axis == 0 and shape[1] == 1) or (axis == 1 and shape[0] == 1))

    def _total(self, x: E) -> Poly | None:
        """``sum(x)`` as a Sum over the entries of ``x`` (a column vector or a matrix)."""
        shape = self.shape(x)
        if shape == () or not all(isinstance(d, str) for d in shape if d != 1):
            return None
        rows, cols = shape
        if rows == 1 and cols == 1:
            return None
        i = self._fresh_index(rows) if rows != 1 else None
        j = self._fresh_index(cols) if cols != 1 else None
        body: E = _entry(x, i, j)
        for k in (j, i):
            if k is not None:
                body = E("Sum", (body,), str(k.val))
        return self.poly(body)

    def _opaque(self, node: E) -> Poly:
        base, index = node.args[0], node.args[1:]
        if base.op in _LEAVES:
            return self.atom(node)
        return self.atom(E("elem", (self._operand(base), *index)))

    def _matmul_entry(self, node: E) -> Poly:
        """``(A @ B)[i, j] = Sum(k, A[i, k] * B[k, j])`` (one product if k has size 1)."""
        (a, b), index = node.args[0].args, node.args[1:]
        sa, sb = (s if s != () else (1, 1) for s in (self.shape(a), self.shape(b)))
        if len(sa) != 2 or len(sb) != 2:
            return self._opaque(node)
        m, n = sa
        _, p = sb
        row: E | None
        col: E | None
        if len(index) == 2:
            row, col = index
            if (m == 1 and row != _ZERO_INDEX) or (p == 1 and col != _ZERO_INDEX):
                return self._opaque(node)
        elif p == 1 and m != 1:
            row, col = index[0], None
        elif m == 1 and p != 1:
            row, col = None, index[0]
        else:
            return self._opaque(node)

        if n == 1:  # an outer product (a 1 x 1 side is a scalar factor)
            if m == 1 and p == 1:
                return self._opaque(node)
            left = a if m == 1 else _entry(a, row, None)
            right = b if p == 1 else _entry(b, None, col)
            return self.poly(E("mul", (left, right)))
        if not isinstance(n, str):
            return self._opaque(node)
        k = self._fresh_index(n)
        var = str(k.val)
        left = _entry(a, None if m == 1 else row, k)
        right = _entry(b, k, None if p == 1 else col)
        return self.poly(E("Sum", (E("mul", (left, right)),), var))

    # -- sums over an index ------------------------------------------------------------
    def _depends(self, node: E, var: str) -> bool:
        return var in ir.free_indices(node, self.engine.def_free)

    def _through_definition(self, factors: list[E], var: str) -> bool:
        """Does ``var`` reach a factor through a definition (which cannot be renamed)?"""
        for f in factors:
            for sub in f.walk():
                if sub.op == "ref" and var in self.engine.def_free.get(str(sub.val), ()):
                    return True
        return False

    def _sum(self, node: E) -> Poly:
        var = str(node.val)
        rng = self.range_of(var)
        out: Poly = {}
        for factors, c in self.poly(node.args[0]).items():
            dep = [f for f in factors if self._depends(f, var)]
            rest: Poly = {tuple(f for f in factors if not self._depends(f, var)): c}
            if not dep:
                out = _add(out, self.mul(rest, self.atom(E("dim", val=rng))))
                continue
            if self._through_definition(dep, var):
                inner = self.expr({tuple(dep): Fraction(1)})
                out = _add(out, self.mul(rest, self.atom(E("Sum", (inner,), var))))
                continue
            out = _add(out, self.mul(rest, self._sum_term(dep, var, rng)))
        return out

    def _sum_term(self, dep: list[E], var: str, rng: str) -> Poly:
        """``Sum(var, product of dep)``; every factor of ``dep`` uses ``var`` explicitly."""
        for k, f in enumerate(dep):
            if f.op != "delta":
                continue
            i, j = f.args
            other = j if i == E("idx", val=var) else i if j == E("idx", val=var) else None
            if other is None or other.op != "idx" or self.range_of(str(other.val)) != rng:
                continue
            result: Poly = {(): Fraction(1)}
            for g in dep[:k] + dep[k + 1:]:
                result = self.mul(result, self.poly(_substitute(g, var, other)))
            return result
        if len(dep) == 1 and self._sums_to_one(dep[0], var, rng):
            return {(): Fraction(1)}
        height = 1 + max((self.heights.get(str(s.val), 0) for f in dep for s in f.walk()
                          if s.op == "Sum"), default=0)
        name = f"_{rng}_{height}"
        self.name_index(name, rng)
        self.heights[name] = height
        renamed = sorted((_substitute(f, var, E("idx", val=name)) for f in dep), key=self.key)
        return self.atom(E("Sum", (self.expr({tuple(renamed): Fraction(1)}),), name))

    def _sums_to_one(self, factor: E, var: str, rng: str) -> bool:
        """``factor`` is ``p[var]`` for a declared ``prob`` (or ``onehot``) vector over ``rng``."""
        if factor.op != "elem" or len(factor.args) != 2 or factor.args[1] != E("idx", val=var):
            return False
        base = factor.args[0]
        if base.op != "sym":
            return False
        sym = self.engine.symbols.get(str(base.val))
        return (sym is not None and "prob" in sym.constraints and not sym.is_index
                and tuple(sym.shape) in ((rng, 1), (rng,)))


def _replace_seed(node: E, new: E, memo: dict[int, E] | None = None) -> E:
    """``node`` with its Jacobian's seed replaced (not the seeds of Jacobians inside it).

    ``memo`` (by identity, for one call): a shared sub-expression is rebuilt once.
    """
    if node.op == "seed":
        return new
    if not node.args or node.op == "jac":
        return node
    memo = {} if memo is None else memo
    hit = memo.get(id(node))
    if hit is None:
        hit = E(node.op, tuple(_replace_seed(a, new, memo) for a in node.args), node.val)
        memo[id(node)] = hit  # node stays alive under the root while the call lasts
    return hit


def _flatten(core: E) -> list[E]:
    """The factors of a matrix product ``A @ B @ ...`` (any grouping), in order."""
    if core.op == "matmul":
        return _flatten(core.args[0]) + _flatten(core.args[1])
    return [core]


def _entry(x: E, first: E | None, second: E | None) -> E:
    """``x[first, second]``, leaving out the position of a dimension of size 1."""
    return E("elem", (x, *[i for i in (first, second) if i is not None]))


def _substitute(node: E, var: str, new: E, memo: dict[int, E] | None = None) -> E:
    """``node`` with the index ``var`` replaced by ``new`` (not inside a Sum that rebinds it).

    ``memo`` (by identity, for one call): a shared sub-expression is rebuilt once, so
    the work follows the DAG (a derivative of a deep network), not its tree.

    Raises ``_GiveUp`` where ``new`` would be captured by a Sum binding its name.
    """
    if node.op == "idx":
        return new if node.val == var else node
    if not node.args or (node.op == "Sum" and node.val == var):
        return node
    memo = {} if memo is None else memo
    hit = memo.get(id(node))
    if hit is not None:
        return hit
    if node.op == "Sum" and node.val == new.val and any(
            n.op == "idx" and n.val == var for n in node.walk()):
        raise _GiveUp("the substituted index would be captured")
    hit = E(node.op, tuple(_substitute(a, var, new, memo) for a in node.args), node.val)
    memo[id(node)] = hit  # node stays alive under the root while the call lasts
    return hit
