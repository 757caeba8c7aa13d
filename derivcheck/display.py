"""Formulas for people: the engine's expressions made readable (display only).

The engine differentiates mechanically, so its result for a sigmoid with binary
cross-entropy reads ``p * ((1 - y) / (1 - p)) - y - ((1 - y) / (1 - p) - y / p) *
(p * p)``; shown to a student it should read ``p - y``.  ``readable`` rewrites an
expression for display:

1. ``engine.simplify.simplify`` (constants, zeros, ones, transposes);
2. every maximal *elementwise* region (``+ - * /``, numeric powers, ``exp``,
   ``log``, ``tanh``, ``sqrt`` over operands of one shape or scalars) is handed to
   SymPy as a rational function of commuting symbols, one per operand that is not
   elementwise (a matrix product, a sum, an element...), and brought back in its
   shortest form among ``cancel`` and ``factor_terms(cancel)``.  Elementwise algebra
   is the algebra of commuting scalars, entry by entry, so the identities SymPy
   uses are identities of the region (a cancelled factor may hide a point where the
   raw formula divided by 0: the display is the formula, not its domain).  The
   operands inside a region are made readable first (``g @ (0.5 * (2 * x))`` is
   ``g @ x``).

This module decides nothing: no verdict depends on it, and ``decide/`` cannot import
it (import-linter).  SymPy objects are built directly from the tree, with generated
names: no text reaches ``sympify`` or ``parse_expr``.  Work is bounded: a region
larger than ``MAX_REGION`` nodes or with more than ``MAX_ATOMS`` operands is left
as ``simplify`` wrote it.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from derivcheck import ir
from derivcheck.engine.core import Engine
from derivcheck.engine.simplify import simplify
from derivcheck.errors import ShapeError, Unsupported
from derivcheck.ir import E

MAX_REGION = 80  # nodes of one elementwise region given to SymPy
MAX_ATOMS = 12  # distinct operands of one region
_ELEMENTWISE_OPS = frozenset({"add", "sub", "mul", "div", "neg", "pow", "num", "ones"})
_FUNCS = ("exp", "log", "tanh", "sqrt")


# (derivation, expression) -> its readable form: a class's submissions share the
# key's derivatives, so each is rewritten once per process. The derivation is kept
# in the value, so its id is not reused while the entry lives.
_SHOWN: dict[tuple[int, E], tuple[object, E]] = {}
_SHOWN_LIMIT = 20_000


def readable(node: E, engine: Engine) -> E:
    """``node`` rewritten for display (see the module docstring); ``node`` itself (as
    ``simplify`` leaves it) where a region cannot be rewritten."""
    key = (id(engine.derivation), node)
    hit = _SHOWN.get(key)
    if hit is not None and hit[0] is engine.derivation:
        return hit[1]
    out = _readable(node, engine)
    if len(_SHOWN) >= _SHOWN_LIMIT:
        _SHOWN.clear()
    _SHOWN[key] = (engine.derivation, out)
    return out


def _readable(node: E, engine: Engine) -> E:
    try:
        simple = simplify(node, engine)
    except (Unsupported, ShapeError, RecursionError):
        simple = node
    try:
        return _readable_of(engine).run(simple)
    except (Unsupported, ShapeError, RecursionError, ValueError, TypeError,
            ZeroDivisionError, OverflowError):
        return simple


def _readable_of(engine: Engine) -> _Readable:
    """The engine's rewriter: its memo is shared by every formula of the derivation (the
    references of a deep network's steps share their upper chain, built afresh for each).
    A copy of the engine (``Engine.clone``) gets its own: it may name new indices."""
    mine = engine.__dict__.get("_display")
    if not isinstance(mine, _Readable) or mine.engine is not engine:
        mine = _Readable(engine)
        engine.__dict__["_display"] = mine
    return mine


def _is_elementwise(node: E) -> bool:
    if node.op in _ELEMENTWISE_OPS:
        return node.op != "pow" or node.args[1].op == "num"
    return node.op == "fn" and node.val in _FUNCS and len(node.args) == 1


class _Readable:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.shapes = engine.shapes("gradient")
        # by structure: equal sub-expressions built apart are rewritten once (E equality
        # remembers the pairs it proved equal, so a lookup is one step after the first)
        self.memo: dict[E, E] = {}

    def shape(self, node: E) -> Any:
        return self.shapes.of(node)

    def run(self, node: E) -> E:
        hit = self.memo.get(node)
        if hit is not None:
            return hit
        if _is_elementwise(node) and node.op not in ("num", "ones"):
            out = self.region(node)
        else:
            args = tuple(self.run(a) for a in node.args)
            out = E(node.op, args, node.val) if args != node.args else node
            if out.op == "jac":
                out = self.jacobian(out)
            elif out.op == "matmul":
                out = self._without_unit(out)
            elif out.op == "elem" and len(out.args) == 2 and out.args[0].op == "Sum":
                entry = _entry_of_sum(out)
                if entry is not None:
                    out = self.run(entry)  # an elementwise region again, made readable
            elif out.op == "T" and out.args[0].op in ("T", "matmul"):
                inside = _transposed(out.args[0])
                if _transposes(inside) < _transposes(out):  # only where it reads simpler
                    out = inside
        self.memo[node] = out
        return out

    def _without_unit(self, node: E) -> E:
        """``1 @ X`` and ``X @ 1`` (a 1 x 1 one, the seed of a scalar's gradient) as ``X``;
        ``(X @ Y).T`` left to the caller.  Not valid syntax as the engine writes it."""
        a, b = node.args
        for unit, other in ((a, b), (b, a)):
            if (unit.op == "num" and unit.val == 1) or \
                    (unit.op == "ones" and self._shape_is(unit, (1, 1))):
                return other
        return node

    def _shape_is(self, node: E, shape: tuple) -> bool:
        try:
            return tuple(self.shape(node)) == shape
        except (ShapeError, Unsupported, KeyError):
            return False

    def jacobian(self, node: E) -> E:
        """``jacobian(f(e_j))`` as the matrix ``M`` when ``f(e) = M @ e`` is linear in the
        seed ``e`` (a Hessian of a quadratic: ``A.T @ A + lam * eye(D)``); else as is."""
        n_dim, seed_shape, _ = node.val
        if len(seed_shape) != 2 or seed_shape[1] != 1:
            return node
        try:
            if self.shape(node.args[0])[1:] != (1,):
                return node
        except (ShapeError, Unsupported, KeyError, IndexError):
            return node
        matrix = _linear_map(node.args[0], n_dim, self)
        return matrix if matrix is not None else node

    def region(self, root: E) -> E:
        """An elementwise region through SymPy, its operands made readable first."""
        import sympy

        atoms: dict[E, Any] = {}  # readable operand -> its SymPy symbol
        count = 0

        def to_sympy(n: E) -> Any:
            nonlocal count
            count += 1
            if count > MAX_REGION:
                raise _TooLarge
            if n.op == "num":
                return _rational(n.val)
            if n.op == "ones":
                return sympy.Integer(1)
            if n.op in ("add", "sub", "mul", "div"):
                a, b = to_sympy(n.args[0]), to_sympy(n.args[1])
                if n.op == "add":
                    return a + b
                if n.op == "sub":
                    return a - b
                return a * b if n.op == "mul" else a / b
            if n.op == "neg":
                return -to_sympy(n.args[0])
            if n.op == "pow" and n.args[1].op == "num":
                return to_sympy(n.args[0]) ** _rational(n.args[1].val)
            if n.op == "fn" and n.val in _FUNCS and len(n.args) == 1:
                inner = to_sympy(n.args[0])
                return {"exp": sympy.exp, "log": sympy.log, "tanh": sympy.tanh,
                        "sqrt": sympy.sqrt}[str(n.val)](inner, evaluate=False)
            operand = self.run(n)
            sym = atoms.get(operand)
            if sym is None:
                if len(atoms) >= MAX_ATOMS:
                    raise _TooLarge
                extra = {"positive": True} if operand.op == "dim" else {}
                sym = sympy.Symbol(f"_x{len(atoms)}", real=True, **extra)
                atoms[operand] = sym
            return sym

        try:
            expr = to_sympy(root)
        except _TooLarge:
            args = tuple(self.run(a) for a in root.args)
            return E(root.op, args, root.val) if args != root.args else root
        if expr.has(sympy.zoo, sympy.nan):
            return root
        cancelled = sympy.cancel(expr)
        candidates = [sympy.factor_terms(cancelled), cancelled]
        best = min(candidates, key=lambda c: (sympy.count_ops(c), candidates.index(c)))
        back = {sym: node for node, sym in atoms.items()}
        out = _from_sympy(best, back)
        if self.shape(out) != self.shape(root):
            # the region lost its shape (every operand cancelled): keep it as written
            args = tuple(self.run(a) for a in root.args)
            return E(root.op, args, root.val) if args != root.args else root
        return out


def _transposed(node: E) -> E:
    """``node.T`` with the transpose taken inside: ``(x.T @ A.T).T`` is ``A @ x``."""
    if node.op == "T":
        return node.args[0]
    if node.op == "matmul":
        return ir.matmul(_transposed(node.args[1]), _transposed(node.args[0]))
    return E("T", (node,))


def _entry_of_sum(node: E) -> E | None:
    """``Sum(k, onehot(k, n) * f(k))[j]`` (a vector built entry by entry, then one entry
    of it) as ``f(j)``; None if the sum is not of that form (one one-hot factor of the
    bound index, the rest a product or quotient around it)."""
    total, j = node.args
    k = str(total.val)
    if j.op != "idx" or any(n.op == "Sum" and n.val == j.val for n in total.args[0].walk()):
        return None

    def pick(n: E) -> E | None:
        if n.op == "onehot" and n.args and n.args[0].op == "idx" and n.args[0].val == k:
            return ir.num(1)
        if n.op == "neg":
            inner = pick(n.args[0])
            return None if inner is None else ir.neg(inner)
        if n.op in ("mul", "div"):
            for side in ((0, 1) if n.op == "mul" else (0,)):
                inner = pick(n.args[side])
                if inner is not None:
                    args = list(n.args)
                    args[side] = inner
                    return ir.mul(*args) if n.op == "mul" else ir.div(*args)
        return None

    rest = pick(total.args[0])
    if rest is None or any(n.op == "onehot" for n in rest.walk()):
        return None
    return _renamed(rest, k, j)


def _renamed(node: E, k: str, j: E) -> E:
    """``node`` with the index ``k`` written ``j`` (each shared node rebuilt once)."""
    memo: dict[int, E] = {}

    def go(n: E) -> E:
        hit = memo.get(id(n))
        if hit is None:
            if n.op == "idx" and n.val == k:
                hit = j
            else:
                args = tuple(go(a) for a in n.args)
                hit = E(n.op, args, n.val) if args != n.args else n
            memo[id(n)] = hit
        return hit

    return go(node)


def _transposes(node: E) -> int:
    return sum(1 for n in node.walk() if n.op == "T")


def _has_seed(node: E) -> bool:
    return any(n.op == "seed" for n in node.walk())


def _linear_map(node: E, dim: object, r: _Readable) -> E | None:
    """``M`` with ``node = M @ seed`` for a node linear in the seed, else None."""
    if node.op == "seed":
        return E("eye", val=dim)
    if node.op == "neg":
        inner = _linear_map(node.args[0], dim, r)
        return None if inner is None else ir.neg(inner)
    if node.op in ("add", "sub"):
        a, b = (_linear_map(x, dim, r) for x in node.args)
        if a is None or b is None:
            return None
        return ir.add(a, b) if node.op == "add" else ir.sub(a, b)
    if node.op == "matmul" and not _has_seed(node.args[0]):
        inner = _linear_map(node.args[1], dim, r)
        return None if inner is None else _product(node.args[0], inner)
    if node.op in ("mul", "div"):
        for k in ((0, 1) if node.op == "mul" else (0,)):
            t, c = node.args[k], node.args[1 - k]
            if _has_seed(c):
                continue
            shape = r.shape(c)
            inner = _linear_map(t, dim, r)
            if inner is None:
                continue
            if shape in ((), (1, 1)):
                return ir.mul(c, inner) if node.op == "mul" else ir.div(inner, c)
            if node.op == "mul" and len(shape) == 2 and shape[1] == 1 and \
                    r.shape(t) == shape:
                return _product(ir.fn("diag", c), inner)  # c * (M @ e) = diag(c) @ M @ e
    return None


def _product(a: E, b: E) -> E:
    """``a @ b``, without a factor ``eye``, associated to the left (as it is written)."""
    if b.op == "eye":
        return a
    if a.op == "eye":
        return b
    if b.op == "matmul":
        return ir.matmul(_product(a, b.args[0]), b.args[1])
    return ir.matmul(a, b)


class _TooLarge(Exception):
    pass


def _rational(value: object) -> Any:
    import sympy

    if isinstance(value, Fraction):
        return sympy.Rational(value.numerator, value.denominator)
    if isinstance(value, int):
        return sympy.Integer(value)
    assert isinstance(value, float)
    frac = Fraction(value).limit_denominator(10 ** 6)
    if float(frac) == value:
        return sympy.Rational(frac.numerator, frac.denominator)
    return sympy.Float(value)


def _num(value: Any) -> E:
    import sympy

    if isinstance(value, sympy.Rational):
        return ir.num(Fraction(int(value.p), int(value.q)))
    return ir.num(float(value))


def _from_sympy(expr: Any, back: dict[Any, E]) -> E:
    """A SymPy expression of the region's symbols as a tree again."""
    import sympy

    if expr in back:
        return back[expr]
    if expr.is_Number:
        return _num(expr)
    if expr.is_Add:
        out: E | None = None
        for term in expr.as_ordered_terms():
            negative = term.could_extract_minus_sign()
            node = _from_sympy(-term if negative else term, back)
            if out is None:
                out = ir.neg(node) if negative else node
            else:
                out = ir.sub(out, node) if negative else ir.add(out, node)
        assert out is not None
        return out
    if expr.is_Mul:
        if expr.could_extract_minus_sign():
            return ir.neg(_from_sympy(-expr, back))
        numer, denom = expr.as_numer_denom()
        if denom != 1:
            return ir.div(_from_sympy(numer, back), _from_sympy(denom, back))
        out = None
        for factor in expr.as_ordered_factors():
            node = _from_sympy(factor, back)
            out = node if out is None else ir.mul(out, node)
        assert out is not None
        return out
    if expr.is_Pow:
        base, exponent = expr.as_base_exp()
        if exponent == sympy.Rational(1, 2):
            return ir.fn("sqrt", _from_sympy(base, back))
        if exponent.is_Number and exponent < 0:
            return ir.div(ir.num(1), _from_sympy(base ** -exponent, back))
        return ir.power(_from_sympy(base, back), _num(exponent))
    for name, cls in (("exp", sympy.exp), ("log", sympy.log), ("tanh", sympy.tanh)):
        if isinstance(expr, cls):
            return ir.fn(name, _from_sympy(expr.args[0], back))
    raise Unsupported(f"cannot show {type(expr).__name__}")
