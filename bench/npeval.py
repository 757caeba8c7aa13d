"""A small NumPy evaluator of derivcheck's expression trees, independent of its engine.

Used by the benchmark to verify the corpus labels by finite differences and as
the gradient-check baseline.  It shares nothing with ``derivcheck.engine``: the
tree comes from derivcheck's reader, everything else (values, random points
respecting the declared kinds, derivatives by central differences, index
loops) is written here from the format's documentation (docs/format.md).

Conventions (docs/format.md): vectors are columns ``(n, 1)``; a ``1 x 1``
matrix product is a scalar; ``sum``/``mean`` keep dimensions when given an
axis; ``softmax``/``logsumexp`` work over axis 0; ``d(f)/d(v)`` in gradient
layout has ``v``'s shape for a scalar ``f`` and is ``(n, m)`` for vectors
``f`` (m) and ``v`` (n); numerator layout is its transpose; a derivative by a
scalar or an element has ``f``'s shape.  ``d(f)/d(u)`` with ``u`` a defined
name is backpropagation: ``u`` is replaced by a perturbed value and what is
downstream recomputed.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from derivcheck.ir import E
from derivcheck.model import Derivation


class Unsupported(Exception):
    """The evaluator cannot express this claim (reported, never guessed)."""


class ShapeError(Exception):
    """The two sides (or a sub-expression) do not fit: the claim cannot hold."""


class BadPoint(Exception):
    """This random point is unusable: draw another."""


class KinkError(BadPoint):
    """A ReLU/abs argument is too close to its kink, or a stencil crossed it."""


class DomainError(BadPoint):
    """A function is outside its domain here (log of a non-positive number, ...)."""


# Derivatives: 5-point central stencil, truncation error O(h^4).
STENCIL = ((-2, 1.0 / 12), (-1, -8.0 / 12), (1, 8.0 / 12), (2, -1.0 / 12))
KINK_MARGIN = 1e-2
REFINE = 40  # most step sizes tried by _partial (it stops once the estimates settle)
SATURATED = 12.0  # |argument| of sigmoid/tanh beyond which float64 cannot resolve 1 - f


def fd_step(value: float) -> float:
    """The base step (near a pole, log(s) at a small s, ``_partial`` shrinks it)."""
    return 1e-3 * max(1.0, abs(value))


@dataclass
class Ctx:
    """One evaluation: symbol values, sizes, overrides of symbols/definitions, indices."""

    derivation: Derivation
    values: dict[str, np.ndarray]
    sizes: dict[str, int]
    relu_at_zero: float = 0.0
    layout: str = "gradient"
    overrides: dict[str, np.ndarray] = field(default_factory=dict)
    indices: dict[str, int] = field(default_factory=dict)
    # (derivative rule) the stencil used for d(f)/d(v): 4th order, or the classic 2-point
    stencil: tuple = STENCIL
    step: Any = fd_step
    refine: bool = True  # shrink the step until the estimate settles (see _partial)
    kinks: list = field(default_factory=list)  # sign patterns of kink arguments, in order
    memo: dict = field(default_factory=dict)

    def with_override(self, name: str, value: np.ndarray) -> Ctx:
        """The same point with ``name`` (a symbol or a definition) set to ``value``."""
        return replace(self, overrides={**self.overrides, name: value}, kinks=[], memo={})

    def with_index(self, name: str, value: int) -> Ctx:
        return replace(self, indices={**self.indices, name: value})


def index_range(ctx: Ctx, name: str) -> int:
    sym = ctx.derivation.symbols[name]
    return ctx.sizes[sym.dims[0]]


def _shape(ctx: Ctx, shape: tuple) -> tuple[int, ...]:
    return tuple(d if isinstance(d, int) else ctx.sizes[d] for d in shape)


def evaluate(node: E, ctx: Ctx) -> np.ndarray:
    """The value of ``node`` (a float array; scalars are 0-d)."""
    op = node.op
    if op == "num":
        return np.asarray(float(node.val))
    if op == "sym":
        if node.val in ctx.overrides:
            return ctx.overrides[node.val]
        return ctx.values[node.val]
    if op == "ref":
        return _ref(node.val, ctx)
    if op == "dim":
        return np.asarray(float(ctx.sizes[node.val]))
    if op in ("idx", "int"):
        raise Unsupported("an index used as a number")
    if op in ("add", "sub", "mul", "div", "pow"):
        a, b = evaluate(node.args[0], ctx), evaluate(node.args[1], ctx)
        try:
            with np.errstate(all="raise"):
                return _binop(op, a, b)
        except ValueError as exc:
            raise ShapeError(f"{op}: {a.shape} and {b.shape}") from exc
        except FloatingPointError as exc:
            raise DomainError(f"{op}: {exc}") from exc
    if op == "neg":
        return -evaluate(node.args[0], ctx)
    if op == "matmul":
        a, b = evaluate(node.args[0], ctx), evaluate(node.args[1], ctx)
        if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[0]:
            raise ShapeError(f"matmul: {a.shape} @ {b.shape}")
        return a @ b  # a 1 x 1 result stays (1, 1): it broadcasts like a scalar
    if op == "T":
        return evaluate(node.args[0], ctx).T
    if op == "fn":
        return _function(node, ctx)
    if op in ("sum", "mean"):
        a = evaluate(node.args[0], ctx)
        reduce = np.sum if op == "sum" else np.mean
        if node.val is None:
            return np.asarray(reduce(a))
        if a.ndim != 2:
            raise ShapeError(f"{op}(., axis) of shape {a.shape}")
        return reduce(a, axis=node.val, keepdims=True)
    if op == "elem":
        return _element(node, ctx)
    if op == "Sum":
        var = node.val
        total: np.ndarray | None = None
        for k in range(index_range(ctx, var)):
            term = evaluate(node.args[0], ctx.with_index(var, k))
            total = term if total is None else _binop("add", total, term)
        assert total is not None
        return total
    if op == "delta":
        i, j = (_index(a, ctx) for a in node.args)
        return np.asarray(1.0 if i == j else 0.0)
    if op == "onehot":
        out = np.zeros((ctx.sizes[node.val], 1))
        out[_index(node.args[0], ctx), 0] = 1.0
        return out
    if op == "eye":
        return np.eye(ctx.sizes[node.val])
    if op == "ones":
        return np.ones(_shape(ctx, node.val))
    if op == "d":
        return derivative(node, ctx)
    raise Unsupported(f"operator {op!r}")


def _binop(op: str, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    if op == "add":
        return a + b
    if op == "sub":
        return a - b
    if op == "mul":
        return a * b
    if op == "div":
        return a / b
    return a ** b


def _ref(name: str, ctx: Ctx) -> np.ndarray:
    if name in ctx.overrides:
        return ctx.overrides[name]
    key = (name, tuple(sorted(ctx.indices.items())))
    if key not in ctx.memo:
        ctx.memo[key] = evaluate(ctx.derivation.definition(name).expr, ctx)
    return ctx.memo[key]


def _index(node: E, ctx: Ctx) -> int:
    if node.op == "int":
        return int(node.val)
    if node.op == "idx":
        if node.val not in ctx.indices:
            raise Unsupported(f"index {node.val} has no value")
        return ctx.indices[node.val]
    raise Unsupported(f"index expression {node.op}")


def _element(node: E, ctx: Ctx) -> np.ndarray:
    a = evaluate(node.args[0], ctx)
    idx = [_index(i, ctx) for i in node.args[1:]]
    if len(idx) == 1:
        if a.ndim != 2 or 1 not in a.shape:
            raise ShapeError(f"a[i] of shape {a.shape}")
        flat = a.reshape(-1)
        if idx[0] >= flat.size:
            raise ShapeError("index out of range")
        return np.asarray(flat[idx[0]])
    if a.ndim != 2 or idx[0] >= a.shape[0] or idx[1] >= a.shape[1]:
        raise ShapeError(f"a[i, j] of shape {a.shape}")
    return np.asarray(a[idx[0], idx[1]])


def _softmax(a: np.ndarray) -> np.ndarray:
    e = np.exp(a - a.max(axis=0, keepdims=True))
    return e / e.sum(axis=0, keepdims=True)


def _kink(ctx: Ctx, a: np.ndarray) -> None:
    ctx.kinks.append(np.sign(a).tobytes())
    if a.size and np.min(np.abs(a)) < KINK_MARGIN * 1e-2:
        raise KinkError("argument at a kink")


def _function(node: E, ctx: Ctx) -> np.ndarray:
    name = node.val
    a = evaluate(node.args[0], ctx)
    with np.errstate(all="raise"):
        try:
            return _apply(name, a, ctx)
        except FloatingPointError as exc:
            raise DomainError(f"{name}: {exc}") from exc


def _apply(name: str, a: np.ndarray, ctx: Ctx) -> np.ndarray:
    simple = {"log": np.log, "log2": np.log2, "log10": np.log10, "exp": np.exp,
              "sqrt": np.sqrt}
    if name in simple:
        if name in ("log", "log2", "log10", "sqrt") and np.any(a <= 0):
            raise DomainError(f"{name} of a non-positive value")
        return simple[name](a)
    if name in ("sigmoid", "tanh") and np.any(np.abs(a) > SATURATED):
        # 1 - sigmoid(a) and 1 - tanh(a)**2 lose every digit out there: float64
        # differences would be rounding, not evidence
        raise DomainError(f"{name} saturated in float64")
    if name == "sigmoid":
        return 1.0 / (1.0 + np.exp(-a))
    if name == "tanh":
        return np.tanh(a)
    if name in ("relu", "relu_prime", "abs", "sign"):
        _kink(ctx, a)
        if name == "relu":
            return np.maximum(a, 0.0)
        if name == "abs":
            return np.abs(a)
        if name == "sign":
            return np.sign(a)
        return np.where(a > 0, 1.0, np.where(a < 0, 0.0, ctx.relu_at_zero))
    if name == "softmax":
        if a.ndim != 2:
            raise ShapeError("softmax of a scalar")
        if a.size and np.max(np.ptp(a, axis=0)) > 2 * SATURATED:
            raise DomainError("softmax saturated in float64")
        return _softmax(a)
    if name == "logsumexp":
        if a.ndim != 2:
            raise ShapeError("logsumexp of a scalar")
        m = a.max(axis=0, keepdims=True)
        return m + np.log(np.exp(a - m).sum(axis=0, keepdims=True))
    square = a.ndim == 2 and a.shape[0] == a.shape[1]
    if name == "diag":
        if a.ndim == 2 and a.shape[1] == 1:
            return np.diag(a[:, 0])
        if square:
            return np.diag(a).reshape(-1, 1)
        raise ShapeError(f"diag of {a.shape}")
    if not square:
        raise ShapeError(f"{name} of a non-square {a.shape}")
    if name == "tr":
        return np.asarray(np.trace(a))
    if name == "det":
        return np.asarray(np.linalg.det(a))
    if name == "inv":
        return np.linalg.inv(a)
    raise Unsupported(f"function {name}")


# -- derivatives --------------------------------------------------------------

def _target(v: E, ctx: Ctx) -> tuple[str, tuple[int, ...] | None, np.ndarray]:
    """(name overridden, element position or None, base value of the variable)."""
    if v.op == "elem":
        base = v.args[0]
        name = base.val
        value = evaluate(base, ctx)
        pos = tuple(_index(i, ctx) for i in v.args[1:])
        if len(pos) == 1:
            if value.ndim != 2 or 1 not in value.shape:
                raise ShapeError("v[i] of a non-vector")
            pos = (pos[0], 0) if value.shape[1] == 1 else (0, pos[0])
        return name, pos, value
    if v.op in ("sym", "ref"):
        return v.val, None, evaluate(v, ctx)
    raise Unsupported(f"derivative by {v.op}")


def _partial(f: E, ctx: Ctx, name: str, value: np.ndarray, pos: tuple[int, ...]) -> np.ndarray:
    """d f / d value[pos] by the context's central stencil.

    With ``ctx.refine`` the step shrinks by 4 while the estimates keep getting
    closer to each other (truncation error, falling as h^4, dominates), and stops
    when they drift apart again (rounding, growing as 1/h, dominates): near a
    pole (log(s) at s = 1e-7) the base step is far too coarse, for a smooth
    function one shrink is enough.  Steps that leave the domain or cross a kink
    are skipped.
    """
    h0 = ctx.step(float(value[pos]) if value.ndim else float(value))
    if not ctx.refine:
        return _stencil(f, ctx, name, value, pos, h0)
    prev: np.ndarray | None = None
    best: np.ndarray | None = None
    best_change = np.inf
    for k in range(REFINE):
        try:
            cur = _stencil(f, ctx, name, value, pos, h0 / 4 ** k)
        except BadPoint:
            if best is not None:
                break
            continue
        if prev is not None:
            change = float(np.max(np.abs(cur - prev))) if np.size(cur) else 0.0
            if change <= best_change:
                best, best_change = cur, change
            elif change > 4 * best_change:
                break
        prev = cur
    if best is None:
        if prev is None:
            raise DomainError("every finite-difference stencil left the domain or crossed a kink")
        return prev
    return best


def _stencil(f: E, ctx: Ctx, name: str, value: np.ndarray, pos: tuple[int, ...],
             h: float) -> np.ndarray:
    total: np.ndarray | None = None
    base_kinks: list | None = None
    for offset, weight in ctx.stencil:
        moved = np.array(value, dtype=float, copy=True)
        moved[pos] += offset * h
        # inner derivatives (a Hessian) use the fixed step: a step chosen per
        # stencil point would make the function differentiated discontinuous
        sub = replace(ctx.with_override(name, moved), refine=False)
        fv = evaluate(f, sub)
        if base_kinks is None:
            base_kinks = sub.kinks
        elif sub.kinks != base_kinks:
            raise KinkError("a finite-difference stencil crossed a kink")
        term = weight * fv
        total = term if total is None else total + term
    assert total is not None
    return total / h


def derivative(node: E, ctx: Ctx) -> np.ndarray:
    f, v = node.args
    layout = ctx.layout
    if ctx.refine and any(n.op == "d" for n in f.walk()):
        # a second derivative: differences of differences amplify rounding by 1/h^2,
        # so both levels take a coarser fixed step (the 4th-order stencil keeps the
        # truncation error near h^4 = 1e-8)
        base = ctx.step
        ctx = replace(ctx, step=lambda x: 10 * base(x), refine=False)
    name, pos, value = _target(v, ctx)
    if pos is None and value.size == 1:  # a scalar (or a 1 x 1 product)
        pos = (0,) * value.ndim
    if pos is not None:
        return _partial(f, ctx, name, value, pos)
    fval = evaluate(f, ctx)
    if fval.size == 1:
        grad = np.zeros(value.shape)
        for p in np.ndindex(*value.shape):
            grad[p] = _partial(f, ctx, name, value, p).item()
        return grad.T if layout == "numerator" else grad
    if layout == "none":
        raise ShapeError("a derivative by a vector in layout none")
    f_col = fval.ndim == 2 and fval.shape[1] == 1
    v_col = value.ndim == 2 and value.shape[1] == 1
    if not (f_col and v_col):
        raise Unsupported(f"a derivative of shape {fval.shape} by shape {value.shape} (a tensor)")
    jac = np.zeros((value.shape[0], fval.shape[0]))  # gradient layout: (n, m)
    for j in range(value.shape[0]):
        jac[j, :] = _partial(f, ctx, name, value, (j, 0))[:, 0]
    return jac.T if layout == "numerator" else jac


# -- random points ------------------------------------------------------------

def draw_value(constraints: frozenset[str], shape: tuple[int, ...],
               rng: np.random.Generator, scale: float = 1.0) -> np.ndarray:
    """A random value of ``shape`` respecting the declared kind's constraints."""
    if not shape:
        if "unit" in constraints:
            return np.asarray(rng.uniform(0.02, 0.98))
        if "positive" in constraints:
            return np.asarray(rng.uniform(0.3, 3.0))
        return np.asarray(rng.normal() * scale)
    m, n = shape
    if "onehot" in constraints:
        out = np.zeros(shape)
        out[rng.integers(m), 0] = 1.0
        return out
    if "onehot_columns" in constraints:
        out = np.zeros(shape)
        out[rng.integers(m, size=n), np.arange(n)] = 1.0
        return out
    if "multihot" in constraints:
        out = rng.integers(0, 2, size=shape).astype(float)
        out[rng.integers(m), 0] = 1.0
        return out
    if "binary" in constraints:
        return rng.integers(0, 2, size=shape).astype(float)
    if "prob" in constraints:
        return _softmax(rng.normal(size=shape))
    if "positive" in constraints:
        return rng.uniform(0.3, 3.0, size=shape)
    if "unit" in constraints:
        return rng.uniform(0.02, 0.98, size=shape)
    if "spd" in constraints:
        a = rng.normal(size=shape)
        return a @ a.T / m + 0.5 * np.eye(m)
    if "symmetric" in constraints:
        a = rng.normal(size=shape) * scale
        return (a + a.T) / 2
    if "invertible" in constraints:
        while True:
            a = rng.normal(size=shape) * scale
            if np.linalg.cond(a) < 10:
                return a
    return rng.normal(size=shape) * scale


def draw_point(derivation: Derivation, sizes: dict[str, int], rng: np.random.Generator,
               scale: float = 1.0) -> dict[str, np.ndarray]:
    values = {}
    for name, sym in derivation.symbols.items():
        if sym.is_index:
            continue
        shape = tuple(d if isinstance(d, int) else sizes[d] for d in sym.shape)
        values[name] = draw_value(sym.constraints, shape, rng, scale)
    return values


def free_indices(node: E, derivation: Derivation) -> set[str]:
    """Index names used in ``node`` (or in the definitions it uses) not bound by Sum."""
    out: set[str] = set()

    def walk(n: E, bound: frozenset[str], seen: frozenset[str]) -> None:
        if n.op == "idx" and n.val not in bound:
            out.add(n.val)
        if n.op == "ref" and n.val not in seen:
            walk(derivation.definition(n.val).expr, frozenset(), seen | {n.val})
        inner = bound | {n.val} if n.op == "Sum" else bound
        for a in n.args:
            walk(a, inner, seen)

    walk(node, frozenset(), frozenset())
    return out


@dataclass
class ClaimValues:
    """Both sides at one point, for every value of the free indices."""

    lhs: list[np.ndarray]
    rhs: list[np.ndarray]


def evaluate_claim(lhs: E, rhs: E, derivation: Derivation, layout: str,
                   values: dict[str, np.ndarray], sizes: dict[str, int], *,
                   stencil: tuple = STENCIL, step: Any = fd_step,
                   refine: bool = True) -> ClaimValues:
    """Both sides at one point, looping over every value of the free indices.

    Raises:
        ShapeError: a side is ill-shaped, or the two sides' shapes differ.
        KinkError: the point is on (or a stencil crosses) a ReLU/abs kink.
        Unsupported: something this evaluator does not express.
    """
    names = sorted(free_indices(lhs, derivation) | free_indices(rhs, derivation))
    ranges = [range(sizes[derivation.symbols[n].dims[0]]) for n in names]
    relu0 = float(derivation.conventions.relu_prime_at_zero)
    out = ClaimValues([], [])
    for combo in itertools.product(*ranges):
        ctx = Ctx(derivation, values, sizes, relu0, layout, indices=dict(zip(names, combo)),
                  stencil=stencil, step=step, refine=refine)
        a, b = evaluate(lhs, ctx), evaluate(rhs, ctx)
        if np.size(a) == 1 and np.size(b) == 1:
            a, b = a.reshape(()), b.reshape(())
        if a.shape != b.shape:
            raise ShapeError(f"the sides have shapes {a.shape} and {b.shape}")
        out.lhs.append(a)
        out.rhs.append(b)
    return out


def relative_error(values: ClaimValues) -> float:
    """Largest difference over the largest magnitude (floored at 1e-3)."""
    diff = max((float(np.max(np.abs(a - b))) if a.size else 0.0)
               for a, b in zip(values.lhs, values.rhs))
    scale = max(max((float(np.max(np.abs(a))) if a.size else 0.0) for a in values.lhs),
                max((float(np.max(np.abs(b))) if b.size else 0.0) for b in values.rhs), 1e-3)
    return diff / scale
