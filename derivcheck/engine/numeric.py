"""Numeric evaluation of the IR with NumPy at one point.

A point gives every dimension a size and every symbol a value.  Scalars are
0-d float arrays, vectors ``(n, 1)`` columns.  The evaluator records how close
the point came to a kink (ReLU at 0, ``abs`` at 0) so the sampler can move away
from it, and never raises on a domain error: it returns NaN, which the caller
treats as "this point is outside the domain".
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import numpy as np

from derivcheck.engine import budget
from derivcheck.engine.shared import SharedValues, hidden_kink
from derivcheck.ir import E, free_info


class EvalError(Exception):
    """The expression cannot be evaluated at any point (e.g. an index out of range)."""


class BudgetExceeded(EvalError):
    """Evaluating at one point took more operations than ``MAX_OPERATIONS``."""


# Operations one evaluator may perform (all index settings of one point): bounds the
# time of pathological inputs such as deeply nested Sum(i, Sum(j, ...)) expressions.
MAX_OPERATIONS = 300_000
# Levels of nesting ``_eval`` recurses through without ``_warm`` first: a few frames
# each, well inside Python's recursion limit (1,000) from any caller's depth.
_SHALLOW = 40


@dataclass
class Point:
    """Sizes of the dimensions and values of the symbols.

    A point is one point (``batched=False``: vectors ``(n, 1)``, scalars 0-d) or
    a batch of points evaluated together (``batched=True``: every value has a
    leading axis, ``(P, rows, cols)``, scalars ``(P, 1, 1)``).
    """

    sizes: dict[str, int]
    values: dict[str, np.ndarray]
    overrides: dict[str, np.ndarray] = field(default_factory=dict)
    batched: bool = False

    @property
    def size(self) -> int:
        """How many points (1 for an unbatched point)."""
        if not self.batched:
            return 1
        for v in (*self.values.values(), *self.overrides.values()):
            return int(np.shape(v)[0])
        return 1

    def take(self, k: int) -> Point:
        """Point ``k`` of a batch, as an unbatched point."""
        if not self.batched:
            return self
        return Point(dict(self.sizes), {n: _unbatch(v[k]) for n, v in self.values.items()},
                     {n: _unbatch(v[k]) for n, v in self.overrides.items()})


def stack(points: list[Point]) -> Point:
    """Unbatched points with the same sizes and names, as one batch."""
    first = points[0]
    values = {n: np.stack([_batch1(p.values[n])[0] for p in points]) for n in first.values}
    overrides = {n: np.stack([_batch1(p.overrides[n])[0] for p in points])
                 for n in first.overrides}
    return Point(dict(first.sizes), values, overrides, batched=True)


def entry_of(value: object) -> np.ndarray:
    """An unbatched value in a batch's layout, without the batch axis: ``(rows, cols)``
    (a scalar ``(1, 1)``, a vector ``(n, 1)``)."""
    return _batch1(value)[0]


def _batch1(value: object) -> np.ndarray:
    """An unbatched value as a batch of one: ``(1, rows, cols)`` (mpmath numbers are kept)."""
    arr = np.asarray(value)
    if arr.dtype != object:
        arr = arr.astype(float)
    if arr.ndim == 0:
        return arr.reshape(1, 1, 1)
    if arr.ndim == 1:
        return arr.reshape(1, -1, 1)
    return arr[None]


def _integer_power(exponent: E) -> bool:
    """An exponent written as an integer (``q**2``: defined for every q)."""
    return exponent.op == "num" and isinstance(exponent.val, Fraction) \
        and exponent.val.denominator == 1


def _unbatch(value: np.ndarray) -> Any:
    return np.float64(value[0, 0]) if value.shape == (1, 1) else value


_UNARY = {
    "exp": np.exp,
    "log": np.log,
    "log2": np.log2,
    "log10": np.log10,
    "sqrt": np.sqrt,
    "abs": np.abs,
    "tanh": np.tanh,
    "sign": np.sign,
}


# -- high precision: mpmath numbers in object arrays (``dtype=object``) ---------------
# Real semantics, as float64 has them: a value outside a function's domain is NaN (never
# a complex number), a division by zero is +-inf or NaN (never an exception).

def _mp() -> Any:
    import mpmath

    return mpmath


def _mp_log(x: Any, base: int | None = None) -> Any:
    mp = _mp()
    if x != x:
        return x
    if x < 0:
        return mp.mpf("nan")
    if x == 0:
        return mp.mpf("-inf")
    value = mp.log(x)
    return value if base is None else value / mp.log(base)


def _mp_sqrt(x: Any) -> Any:
    mp = _mp()
    if x != x or x < 0:
        return mp.mpf("nan")
    return mp.sqrt(x)


def _mp_div(x: Any, y: Any) -> Any:
    mp = _mp()
    if y == 0:
        if x != x or x == 0:
            return mp.mpf("nan")
        return mp.mpf("inf") if (x > 0) == (not _negzero(y)) else mp.mpf("-inf")
    return x / y


def _negzero(y: Any) -> bool:
    return isinstance(y, float) and str(y).startswith("-")


def _mp_pow(x: Any, y: Any) -> Any:
    mp = _mp()
    if x != x or y != y:
        return mp.mpf("nan")
    if x < 0 and not mp.isint(y):
        return mp.mpf("nan")
    if x == 0 and y < 0:
        return mp.mpf("inf")
    return mp.mpf(x) ** y


def _mp_sign(x: Any) -> Any:
    return 0.0 if x == 0 else (1.0 if x > 0 else -1.0)


def _mp_ufuncs() -> dict[str, Any]:
    mp = _mp()
    table = {
        "exp": mp.exp, "log": _mp_log, "log2": lambda x: _mp_log(x, 2),
        "log10": lambda x: _mp_log(x, 10), "sqrt": _mp_sqrt, "abs": abs, "tanh": mp.tanh,
        "sign": _mp_sign, "div": _mp_div, "pow": _mp_pow, "mpf": mp.mpf,
    }
    return {name: np.frompyfunc(fn, 2 if name in ("div", "pow") else 1, 1)
            for name, fn in table.items()}


_MP_UFUNCS: tuple[Any, dict[str, Any]] | None = None  # (the mpmath module, its ufuncs)


def mp_ufuncs() -> dict[str, Any]:
    """The elementwise functions of the high-precision evaluation (built on first use).

    Built again when ``mpmath`` is another module object than the one they were built
    from (pytest's in-process runs import it afresh): functions of a stale mpmath would
    compute at its precision, 53 bits, while the caller raised the new one's."""
    global _MP_UFUNCS
    mp = _mp()
    if _MP_UFUNCS is None or _MP_UFUNCS[0] is not mp:
        _MP_UFUNCS = (mp, _mp_ufuncs())
    return _MP_UFUNCS[1]


class Evaluator:
    """Evaluates IR at a point or a batch of points.

    Internally every value has three axes, ``(batch, rows, cols)``; constants
    have a batch axis of 1 and broadcast.  Definitions are evaluated once per
    setting of their free indices, sub-expressions once per setting of theirs.

    ``dtype``: ``np.float64`` (the numeric check), ``np.longdouble`` (re-checking a
    disagreement with 64-bit mantissas) or ``object``: mpmath numbers at the working
    precision of ``mpmath.mp`` (the high-precision confirmation, ``decide.exact``),
    where the input values (float64 numbers) and the constants of the formula
    (exact fractions) are taken exactly.

    ``shared`` (float64 only): the values of plain nodes at this batch, kept for other
    evaluators at the same batch (``engine.shared``); the expressions evaluated must be
    those its plans were made for (alive, and without a Jacobian: ``Plan.shareable``).
    """

    def __init__(self, point: Point, definitions: Mapping[str, E],
                 def_free: Mapping[str, frozenset[str]], index_range: Mapping[str, str],
                 relu_prime_at_zero: float = 0.0, dtype: type = np.float64,
                 shared: SharedValues | None = None) -> None:
        self.point = point
        self.batch = point.size
        self.dtype = dtype
        self.mp = dtype is object
        self._ufuncs = mp_ufuncs() if self.mp else {}
        self._binary_ops = _MP_BINARY if self.mp else _BINARY
        self._vals: dict[str, np.ndarray] = {
            n: self._cast(v if point.batched else _batch1(v)) for n, v in point.values.items()}
        self.overrides: dict[str, np.ndarray] = {
            n: self._cast(v if point.batched else _batch1(v))
            for n, v in point.overrides.items()}
        self.defs = definitions
        self.def_free = def_free
        self.index_range = index_range
        self.at_zero = float(relu_prime_at_zero)
        self._kinks = np.full(self.batch, np.inf)
        self.seed: np.ndarray | None = None
        # Diagnosis only: evaluate as if every ReLU mask were 1 (a forgotten mask).
        self.no_relu_mask = False
        self.operations = 0
        # id(kink node) -> (node, positive, negative): per point and entry of its argument,
        # whether it was ever on that side (over every index setting); None: not recorded
        self.cover: dict[int, tuple[E, np.ndarray, np.ndarray]] | None = None
        # id(node) -> (node, the smallest entry of its argument per point): the arguments
        # of the functions defined only where they are >= 0 or > 0 (sqrt, log, a power
        # with an exponent that is not an integer); recorded where cover is
        self.domains: dict[int, tuple[E, np.ndarray]] | None = None
        # the same for the arguments of kinks (key id(node)) and their negations (key
        # -id(node)): the smallest entry of each, per point
        self.kink_values: dict[int, tuple[E, np.ndarray]] | None = None
        # high precision only, with ``tracking``: the largest magnitude computed
        self.tracking = self.mp
        self.largest: Any = 0.0
        self.smallest_ratio: Any = 1.0  # and the smallest |small term| / |large term| added
        self._cache: dict[tuple, np.ndarray] = {}
        self._memo: dict[Any, np.ndarray] = {}
        self._heights: dict[int, tuple[E, int]] = {}  # see _shallow
        # id(kink argument) -> (the argument, (its entries > 0, < 0) or None): see _kink
        self._kink_args: dict[int, tuple[np.ndarray, tuple[np.ndarray, np.ndarray] | None]] = {}
        self.shared = shared
        if shared is not None and (dtype is not np.float64 or not point.batched):
            raise ValueError("shared values are for float64 batches of points")
        self._shared_memo = shared.memo if shared is not None else None
        self._plain: set[int] = set()  # plain nodes of the expressions evaluated so far
        self._ticks = 0  # plain nodes computed here (for the time budget's checks)

    def _cast(self, value: np.ndarray) -> np.ndarray:
        if self.mp:
            if np.asarray(value).dtype == object:  # already exact (decide.exact's points)
                return np.asarray(value)
            return self._ufuncs["mpf"](np.asarray(value, dtype=np.float64))  # type: ignore[no-any-return]
        if self.point.batched and value.dtype == self.dtype:
            return value  # never written to (a batch's values come out as read-only views)
        return value.astype(self.dtype)

    def _unary(self, name: str) -> Any:
        return self._ufuncs[name] if self.mp else _UNARY[name]

    @property
    def min_kink(self) -> np.ndarray | float:
        """How close each point came to a kink (a float for an unbatched point)."""
        return self._kinks if self.point.batched else float(self._kinks[0])

    def _out(self, value: np.ndarray) -> Any:
        if self.point.batched:
            if value.shape[0] == self.batch:  # a read-only view, as broadcast_to gives
                view = value.view()
                view.flags.writeable = False
                return view
            return np.broadcast_to(value, (self.batch, *value.shape[1:]))
        if self.mp:  # keep the mpmath numbers (np.float64 would round them)
            return value[0][0, 0] if value.shape[1:] == (1, 1) else value[0]
        return _unbatch(value[0])

    def value(self, node: E, idx: Mapping[str, int] | None = None) -> Any:
        """The value of ``node`` with free indices set by ``idx``.

        For a batched point, an array ``(P, rows, cols)``; else the value itself
        (a 0-d float for a scalar).
        """
        return self.values(node, [dict(idx or {})])[0]

    def values(self, node: E, indices: list[dict[str, int]]) -> list[Any]:
        """``value`` for each index setting (one error-state switch for all)."""
        plan = self._start(node)
        with np.errstate(all="ignore"):
            out = []
            deep = not self._shallow(node)
            for idx in indices:
                idx = dict(idx)
                if deep:
                    self._warm(node, idx)
                out.append(self._out(self._eval(node, idx)))
        if plan is not None:
            self._add_shared_kinks(plan)
        return out

    def _start(self, node: E) -> Any:
        """With shared values: take in ``node``'s plain nodes and count them as computed
        (an evaluator without shared values computes each once); its plan."""
        if self.shared is None:
            return None
        plan = self.shared.plans.plan(node)
        if not plan.shareable:
            raise ValueError("an expression with a Jacobian is evaluated without shared values")
        new = plan.plain - self._plain
        if new:
            self._plain |= new
            self.operations += len(new)
            if self.operations > MAX_OPERATIONS:
                raise BudgetExceeded(f"evaluation needs more than {MAX_OPERATIONS:,} "
                                     "operations per point")
        return plan

    def _add_shared_kinks(self, plan: Any) -> None:
        """Add the records of the plain kinks ``plan`` reaches (kept with the shared
        values, whoever computed them) to this evaluator's, as ``_kink`` would have."""
        assert self.shared is not None
        dist, cover = self.shared.record(plan, self.batch)
        self._kinks = np.minimum(self._kinks, dist)
        if self.cover is None:
            return
        for key, (node, pos, neg) in cover.items():
            seen = self.cover.get(key)
            if seen is None:
                self.cover[key] = (node, pos, neg)
            elif seen[1] is not pos and seen[1].shape == pos.shape:
                self.cover[key] = (node, seen[1] | pos, seen[2] | neg)

    def _shallow(self, root: E) -> bool:
        """Whether ``_eval`` can evaluate ``root`` recursively without warming first:
        its height, through definitions (as ``_eval`` follows them) and the bodies of
        sums and Jacobians, is below ``_SHALLOW`` levels.

        Heights are kept per node for the evaluator's life (with the node, so its id is
        not reused); the walk is on the DAG, once per node.
        """
        heights = self._heights
        hit = heights.get(id(root))
        if hit is None:
            stack: list[tuple[E, bool]] = [(root, False)]
            while stack:
                node, expanded = stack.pop()
                if id(node) in heights:
                    continue
                kids: tuple[E, ...] = node.args
                if node.op == "ref" and node.val not in self.overrides:
                    kids = (*kids, self.defs[node.val])  # type: ignore[index]
                if expanded:
                    heights[id(node)] = (node, 1 + max((heights[id(k)][1] for k in kids),
                                                       default=0))
                    continue
                stack.append((node, True))
                stack.extend((k, False) for k in kids if id(k) not in heights)
            hit = heights[id(root)]
        return hit[1] < _SHALLOW

    def _warm(self, root: E, idx: dict[str, int]) -> None:
        """Evaluate the nodes below ``root`` bottom-up, without recursion, into the memo.

        ``_eval`` recurses a few frames per node: a deep network's forward pass and its
        gradient (128 layers) are deeper than Python's recursion limit.  Warmed first,
        children first, every recursive call finds its children computed.  The same
        nodes are evaluated with the same index values as ``_eval`` would, so values,
        operation counts and errors are the same; the bodies of ``Sum`` (a bound index)
        and ``jac`` (a seed) are left to ``_eval``, and so is a node with a free index
        ``idx`` does not set.
        """
        if self.seed is not None:
            return
        done: set[int] = set()
        shared = self._shared_memo if self._shared_memo is not None else {}
        memo = self._memo
        stack: list[tuple[E, bool]] = [(root, False)]
        while stack:
            node, expanded = stack.pop()
            if id(node) in done or id(node) in shared:
                continue
            if expanded:
                done.add(id(node))
                self._eval(node, idx)
                continue
            free = free_info(node, self.def_free)[1]  # type: ignore[arg-type]
            if any(k not in idx for k in free):
                done.add(id(node))
                continue
            # Already computed at these index values (an earlier setting or call):
            # ``_eval`` finds it in the memo, and everything below it was computed
            # with it, so the walk need not go down there again.
            if (((id(node), tuple([idx[k] for k in free])) if free else id(node))
                    in memo):
                done.add(id(node))
                continue
            stack.append((node, True))
            if node.op in ("Sum", "jac", "delta", "span", "onehot"):
                continue
            if node.op == "ref" and node.val not in self.overrides:
                stack.append((self.defs[node.val], False))  # type: ignore[index]
            values = node.args[:1] if node.op == "elem" else node.args  # not the indices
            stack.extend((a, False) for a in reversed(values))

    def definition_values(self) -> dict[str, np.ndarray]:
        """The definitions without free indices evaluated so far, ``(P, rows, cols)``."""
        out = {name: v for (name, free), v in self._cache.items() if not free}
        if self._shared_memo is not None:  # and those kept with the shared values
            for name, body in self.defs.items():
                v = self._shared_memo.get(id(body))
                if v is not None and name not in out and not self.def_free.get(name):
                    out[name] = v
        return {name: np.broadcast_to(v, (self.batch, *v.shape[1:])) for name, v in out.items()}

    def _ref(self, name: str, idx: dict[str, int]) -> np.ndarray:
        if name in self.overrides:
            return self.overrides[name]
        free = self.def_free.get(name)
        key = (name, tuple(sorted((k, idx[k]) for k in free))) if free else (name, ())
        hit = self._cache.get(key)
        if hit is None:
            hit = self._eval(self.defs[name], idx)
            self._cache[key] = hit
        return hit

    def _index(self, node: E, idx: dict[str, int]) -> int:
        if node.op == "int":
            return int(node.val)  # type: ignore[arg-type]
        try:
            return idx[node.val]  # type: ignore[index]
        except KeyError:
            raise EvalError(f"index {node.val} has no value") from None

    def _kink(self, arg: np.ndarray, node: E | None = None) -> None:
        """Record how close a continuous argument came to a kink, per point; with
        ``cover`` on, also on which side of the kink each entry of it was, per point.

        An argument that is exactly 0 comes from the structure (``relu`` of a
        negative number, a one-hot entry), not from sampling: there the stated
        convention (``relu_prime_at_zero``) decides, and the point stays usable.
        """
        if self.shared is not None and node is not None and id(node) in self._plain:
            self._shared_kink(arg, node)
            return
        # One argument value often reaches several kinks (relu(z) in the forward pass,
        # relu_prime(z) in both sides): its distance and sides are computed once.  The
        # array is kept in the entry, so its id is not reused while the entry lives.
        known = self._kink_args.get(id(arg))
        if known is None or known[0] is not arg:
            mags = np.abs(arg)
            mags[mags == 0] = np.inf
            self._kinks = np.minimum(self._kinks, mags.reshape(mags.shape[0], -1).min(axis=1))
            known = (arg, None)
            self._kink_args[id(arg)] = known
        if self.kink_values is not None and node is not None:  # signed, for the descents
            self._domain(arg, node, self.kink_values, id(node))
            self._domain(-arg, node, self.kink_values, -id(node))
        if self.cover is None or node is None:
            return
        sides = known[1]
        if sides is None:
            full = (self.batch, *arg.shape[1:])
            above, below = arg > 0, arg < 0
            if above.shape != full:
                above = np.broadcast_to(above, full).copy()
                below = np.broadcast_to(below, full).copy()
            sides = (above, below)
            self._kink_args[id(arg)] = (arg, sides)
        pos, neg = sides
        seen = self.cover.get(id(node))
        if seen is None:
            self.cover[id(node)] = (node, pos, neg)
        elif seen[1].shape == pos.shape:  # another index setting: new arrays (pos is shared)
            self.cover[id(node)] = (node, seen[1] | pos, seen[2] | neg)

    def _domain(self, arg: np.ndarray, node: E,
                into: dict[int, tuple[E, np.ndarray]] | None = None, key: int | None = None
                ) -> None:
        """Record the smallest entry of a domain function's argument, per point (for the
        search of points outside its domain, ``decide.points.domain_search``), or into
        ``into`` at ``key`` (``kink_values``)."""
        into = self.domains if into is None else into
        if into is None or np.asarray(arg).dtype == object:
            return
        flat = np.asarray(arg, dtype=float).reshape(np.shape(arg)[0], -1)
        with np.errstate(invalid="ignore"):
            low = np.broadcast_to(flat.min(axis=1) if flat.shape[1] else np.inf,
                                  (self.batch,))
        key = id(node) if key is None else key
        seen = into.get(key)
        into[key] = (node, low if seen is None else np.fmin(seen[1], low))

    def _hidden_kink(self, node: E, idx: dict[str, int]) -> None:
        """Record the kink of a root (or log) of an even power (``shared.hidden_kink``)."""
        base = hidden_kink(node, self.defs)
        if base is not None:
            self._kink(self._eval(base.args[0], idx), base)

    def _shared_kink(self, arg: np.ndarray, node: E) -> None:
        """``_kink`` for a plain kink: its record is kept with the shared values (added
        to this evaluator's by ``_add_shared_kinks``)."""
        assert self.shared is not None
        known = self.shared.kink_args.get(id(arg))
        if known is None or known[0] is not arg:
            mags = np.abs(arg)
            mags[mags == 0] = np.inf
            dist = mags.reshape(mags.shape[0], -1).min(axis=1)
            dist = np.broadcast_to(dist, (self.batch,)).copy()
            full = (self.batch, *arg.shape[1:])
            above, below = arg > 0, arg < 0
            if above.shape != full:
                above = np.broadcast_to(above, full).copy()
                below = np.broadcast_to(below, full).copy()
            known = (arg, dist, (above, below))
            self.shared.kink_args[id(arg)] = known
        self.shared.kinks[id(node)] = (node, known[2][0], known[2][1], known[1])

    def _eval(self, node: E, idx: dict[str, int]) -> np.ndarray:
        """Memoized by node and the values of the node's own free indices.

        A sub-expression inside ``Sum(k, ...)`` that does not use ``k`` is
        evaluated once, not once per value of ``k``.  The seed of a Jacobian
        changes what ``seed`` nodes mean, so the memo is bypassed under it.
        """
        if self.seed is not None:
            out = self._compute(node, idx)
            if self.tracking:
                self._track(out)
            return out
        shared = self._shared_memo
        if shared is not None:
            hit = shared.get(id(node))
            if hit is not None:
                return hit
            if id(node) in self._plain:
                return self._eval_plain(node, idx)
        cached = node._free  # free_info's cache, read here without a call (hot path)
        if cached is not None and cached[0] is self.def_free:  # type: ignore[index]
            free = cached[2]  # type: ignore[index]
        else:
            free = free_info(node, self.def_free)[1]  # type: ignore[arg-type]
        # id() is stable here: the tree outlives the evaluator's use of it.
        key = (id(node), tuple([idx.get(k, -1) for k in free])) if free else id(node)
        hit = self._memo.get(key)
        if hit is None:
            binary = self._binary_ops.get(node.op)
            if binary is None:
                hit = self._compute(node, idx)
            else:  # the commonest case, without the calls of _compute and _binary
                self.operations += 1
                if self.operations > MAX_OPERATIONS:
                    raise BudgetExceeded(f"evaluation needs more than {MAX_OPERATIONS:,} "
                                         "operations per point")
                if not self.operations & 255:
                    budget.check()
                a, b = node.args
                x, y = self._eval(a, idx), self._eval(b, idx)
                hit = binary(x, y)
                if node.op == "pow":
                    self._hidden_kink(node, idx)
                    if not _integer_power(b):
                        self._domain(x, node)
                if self.tracking and node.op in ("add", "sub"):
                    self._track_sum(x, y)
                elif self.tracking and node.op == "matmul" and x.ndim == y.ndim == 3:
                    # the terms of each entry: x[:, i, k] * y[:, k, j] over k
                    self._track_terms(x[:, :, :, None] * y[:, None, :, :], 2)
            if self.tracking:
                self._track(hit)
            self._memo[key] = hit
        return hit

    def _eval_plain(self, node: E, idx: dict[str, int]) -> np.ndarray:
        """A plain node not computed yet at this batch: computed (counted already, by
        ``_start``) and kept with the shared values."""
        assert self.shared is not None
        self._ticks += 1
        if not self._ticks & 255:
            budget.check()
        binary = self._binary_ops.get(node.op)
        if binary is not None:
            a, b = node.args
            x = self._eval(a, idx)
            out = binary(x, self._eval(b, idx))
            if node.op == "pow":
                self._hidden_kink(node, idx)
                if not _integer_power(b):
                    self._domain(x, node)
        else:
            rule = _RULES.get(node.op)
            if rule is None:
                raise EvalError(f"cannot evaluate '{node.op}'")
            out = rule(self, node, idx)
        self.shared.store(node, out)
        return out  # type: ignore[no-any-return]

    def _track(self, value: np.ndarray) -> None:
        """Keep the largest finite magnitude of any value computed (``largest``): the
        rounding error of a high-precision evaluation is at most about that times the
        precision's unit, times the number of operations (``decide.exact``)."""
        inf = float("inf")
        for x in np.asarray(value).flat:
            m = abs(x)
            if self.largest < m < inf:  # NaN compares false
                self.largest = m

    def _track_terms(self, terms: np.ndarray, axis: int | tuple[int, ...]) -> None:
        """``_track_sum`` for the terms of a sum along ``axis`` (smallest over largest)."""
        mags = np.abs(np.asarray(terms, dtype=object))
        if mags.size == 0:
            return
        inf = float("inf")
        finite = np.where((mags > 0) & (mags < inf), mags, None)
        top = np.where(finite == None, 0, finite).max(axis=axis)  # noqa: E711
        low = np.where(finite == None, inf, finite).min(axis=axis)  # noqa: E711
        for t, m in zip(np.asarray(top).flat, np.asarray(low).flat):
            if t > 0 and m < inf and m / t < self.smallest_ratio:
                self.smallest_ratio = m / t

    def _track_sum(self, x: np.ndarray, y: np.ndarray) -> None:
        """Keep the smallest ratio |small| / |large| of two non-zero terms added
        (``smallest_ratio``): below the precision's unit, the small term was lost."""
        inf = float("inf")
        if x.size == 1 and y.size == 1:  # two numbers (the terms of a Sum of scalars)
            pairs: Any = ((x.flat[0], y.flat[0]),)
        else:
            u, v = np.broadcast_arrays(x, y)
            pairs = zip(u.flat, v.flat)
        for s, t in pairs:
            m, n = abs(s), abs(t)
            if m and n and m != inf and n != inf and m == m and n == n:  # finite, non-zero
                r = m / n if m < n else n / m
                if r < self.smallest_ratio:
                    self.smallest_ratio = r

    def _const(self, value: float | Fraction) -> np.ndarray:
        if self.mp:
            mp = _mp()
            exact = (mp.mpf(value.numerator) / value.denominator
                     if isinstance(value, Fraction) else mp.mpf(value))
            out = np.empty((1, 1, 1), dtype=object)
            out[0, 0, 0] = exact
            return out
        return np.full((1, 1, 1), float(value), dtype=self.dtype)

    def _compute(self, node: E, idx: dict[str, int]) -> np.ndarray:
        self.operations += 1
        if self.operations > MAX_OPERATIONS:
            raise BudgetExceeded(f"evaluation needs more than {MAX_OPERATIONS:,} operations "
                                 "per point")
        if not self.operations & 255:
            budget.check()  # the step's time budget (a point's operations are bounded above)
        rule = _RULES.get(node.op)
        if rule is None:
            raise EvalError(f"cannot evaluate '{node.op}'")
        return rule(self, node, idx)

    def _binary(self, node: E, idx: dict[str, int]) -> np.ndarray:
        a, b = node.args
        if node.op == "pow":
            self._hidden_kink(node, idx)
            if not _integer_power(b):
                x = self._eval(a, idx)
                self._domain(x, node)
                return self._binary_ops["pow"](x, self._eval(b, idx))  # type: ignore[no-any-return]
        return self._binary_ops[node.op](self._eval(a, idx), self._eval(b, idx))  # type: ignore[no-any-return]

    def _num(self, node: E, idx: dict[str, int]) -> np.ndarray:
        return self._const(node.val)  # type: ignore[arg-type]

    def _sym(self, node: E, idx: dict[str, int]) -> np.ndarray:
        return self._vals[node.val]  # type: ignore[index]

    def _ref_node(self, node: E, idx: dict[str, int]) -> np.ndarray:
        return self._ref(node.val, idx)  # type: ignore[arg-type]

    def _dim(self, node: E, idx: dict[str, int]) -> np.ndarray:
        return self._const(float(self.point.sizes[node.val]))  # type: ignore[index]

    def _neg(self, node: E, idx: dict[str, int]) -> np.ndarray:
        return -self._eval(node.args[0], idx)

    def _transpose(self, node: E, idx: dict[str, int]) -> np.ndarray:
        return np.swapaxes(self._eval(node.args[0], idx), 1, 2)

    def _reduce(self, node: E, idx: dict[str, int]) -> np.ndarray:
        a = self._eval(node.args[0], idx)
        axis = (1, 2) if node.val is None else (1 if node.val == 0 else 2)
        if self.tracking:
            self._track_terms(a, axis)
        reduce = np.sum if node.op == "sum" else np.mean
        return reduce(a, axis=axis, keepdims=True)  # type: ignore[no-any-return]

    def _sum_over(self, node: E, idx: dict[str, int]) -> np.ndarray:
        var = node.val
        n = self.point.sizes[self.index_range[var]]  # type: ignore[index]
        total: np.ndarray | None = None
        inner = dict(idx)
        for k in range(n):
            inner[var] = k  # type: ignore[index]
            term = self._eval(node.args[0], inner)
            if total is not None and self.mp:
                self._track_sum(total, term)
            total = term if total is None else total + term
        return total if total is not None else self._const(0.0)

    def _delta(self, node: E, idx: dict[str, int]) -> np.ndarray:
        a, b = node.args
        return self._const(float(self._index(a, idx) == self._index(b, idx)))

    def _span(self, node: E, idx: dict[str, int]) -> np.ndarray:
        first, dropped, dim = node.val  # type: ignore[misc]
        k = self._index(node.args[0], idx)
        return self._const(float(first <= k <= self.point.sizes[dim] - 1 - dropped))

    def _onehot(self, node: E, idx: dict[str, int]) -> np.ndarray:
        n = self.point.sizes[node.val]  # type: ignore[index]
        k = self._index(node.args[0], idx)
        if not 0 <= k < n:
            raise EvalError(f"onehot index {k} out of range 0..{n - 1}")
        out = np.zeros((1, n, 1))
        out[0, k, 0] = 1.0
        return out

    def _eye(self, node: E, idx: dict[str, int]) -> np.ndarray:
        return np.eye(self.point.sizes[node.val])[None]  # type: ignore[index]

    def _ones(self, node: E, idx: dict[str, int]) -> np.ndarray:
        shape = tuple(d if isinstance(d, int) else self.point.sizes[d] for d in node.val)  # type: ignore[union-attr]
        return np.ones((1, *shape)) if shape else self._const(1.0)

    def _seed(self, node: E, idx: dict[str, int]) -> np.ndarray:
        if self.seed is None:
            raise EvalError("seed outside a Jacobian")
        return self.seed

    def _fn(self, node: E, idx: dict[str, int]) -> np.ndarray:
        name = node.val
        a = self._eval(node.args[0], idx)
        if name in _UNARY:
            if name in ("abs", "sign"):
                self._kink(a, node)
            elif name in ("sqrt", "log"):
                self._hidden_kink(node, idx)
            if name in ("sqrt", "log", "log2", "log10"):
                self._domain(a, node)
            return self._unary(name)(a)  # type: ignore[no-any-return]
        exp = self._unary("exp")
        if name == "sigmoid":
            e = exp(-a)
            if self.tracking:
                self._track_sum(np.ones_like(e), e)
            return 1.0 / (1.0 + e)  # type: ignore[no-any-return]
        if name == "relu":
            self._kink(a, node)
            return np.maximum(a, 0.0)
        if name == "relu_prime":
            self._kink(a, node)
            if self.no_relu_mask:
                return np.ones_like(a, dtype=float)
            return np.where(a > 0, 1.0, np.where(a < 0, 0.0, self.at_zero))
        if name == "softmax":
            shifted = exp(a - np.max(a, axis=1, keepdims=True))
            if self.tracking:
                self._track_terms(shifted, 1)
            return shifted / np.sum(shifted, axis=1, keepdims=True)  # type: ignore[no-any-return]
        if name == "logsumexp":
            m = np.max(a, axis=1, keepdims=True)
            terms = exp(a - m)
            if self.tracking:
                self._track_terms(terms, 1)
            return m + self._unary("log")(np.sum(terms, axis=1, keepdims=True))  # type: ignore[no-any-return]
        if name == "diag":
            if a.shape[2] == 1:
                return a * np.eye(a.shape[1])[None]  # type: ignore[no-any-return]
            if a.shape[1] == 1:
                return np.swapaxes(a, 1, 2) * np.eye(a.shape[2])[None]  # type: ignore[no-any-return]
            return np.diagonal(a, axis1=1, axis2=2)[:, :, None]
        if name == "tr":
            if self.tracking:
                self._track_terms(np.diagonal(a, axis1=1, axis2=2), 1)
            return np.trace(a, axis1=1, axis2=2)[:, None, None]
        if name in ("det", "inv") and self.mp:
            return self._mp_matrix(name, a)
        if name == "det":  # np.linalg works in float64 (no extended precision)
            return np.linalg.det(a.astype(np.float64))[:, None, None].astype(self.dtype)
        if name == "inv":
            a = a.astype(np.float64)
            try:
                return np.linalg.inv(a).astype(self.dtype)
            except np.linalg.LinAlgError:  # some matrix of the batch is singular
                out = np.full(a.shape, np.nan)
                for b in range(a.shape[0]):
                    with contextlib.suppress(np.linalg.LinAlgError):
                        out[b] = np.linalg.inv(a[b])
                return out.astype(self.dtype)
        raise EvalError(f"unknown function {name}")

    def _mp_matrix(self, name: str, a: np.ndarray) -> np.ndarray:
        """``det`` or ``inv`` of each matrix of a batch, in mpmath (NaN where singular)."""
        mp = _mp()
        rows = []
        for b in range(a.shape[0]):
            m = mp.matrix(a[b].tolist())
            if name == "det":
                rows.append(np.array([[mp.det(m)]], dtype=object))
                continue
            try:
                inv = m ** -1
                rows.append(np.array(inv.tolist(), dtype=object))
            except ZeroDivisionError:
                rows.append(np.full(a.shape[1:], mp.mpf("nan"), dtype=object))
        return np.stack(rows)

    def _elem(self, node: E, idx: dict[str, int]) -> np.ndarray:
        base = self._eval(node.args[0], idx)
        keys = [self._index(i, idx) for i in node.args[1:]]
        rows, cols = base.shape[1], base.shape[2]
        if rows == 1 and cols == 1:
            raise EvalError("element of a scalar")
        if len(keys) == 1:
            r, c = (keys[0], 0) if cols == 1 else (0, keys[0])
        else:
            r, c = keys[0], keys[1]
        if not (0 <= r < rows and 0 <= c < cols):
            raise EvalError(f"index {tuple(keys)} out of range for shape {(rows, cols)}")
        return base[:, r:r + 1, c:c + 1]

    def _jacobian(self, node: E, idx: dict[str, int]) -> np.ndarray:
        n_dim, seed_shape, _out = node.val  # type: ignore[misc]
        n = self.point.sizes[n_dim] if isinstance(n_dim, str) else int(n_dim)
        cols = []
        saved = self.seed
        for j in range(n):
            e = np.zeros((1, n, 1))
            e[0, j, 0] = 1.0
            self.seed = e if seed_shape != () else self._const(1.0)
            col = self._eval(node.args[0], idx)
            cols.append(col.reshape(col.shape[0], -1, 1))
        self.seed = saved
        batch = max(c.shape[0] for c in cols)
        return np.concatenate([np.broadcast_to(c, (batch, *c.shape[1:])) for c in cols], axis=2)


_BINARY = {"add": np.add, "sub": np.subtract, "mul": np.multiply, "div": np.divide,
           "pow": np.power, "matmul": np.matmul}


def _mp_binary(name: str) -> Any:
    def op(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return mp_ufuncs()[name](a, b)  # type: ignore[no-any-return]
    return op


_MP_BINARY = {**_BINARY, "div": _mp_binary("div"), "pow": _mp_binary("pow")}

# op -> the Evaluator method that computes it
_RULES = {
    "num": Evaluator._num, "sym": Evaluator._sym, "ref": Evaluator._ref_node,
    "dim": Evaluator._dim, "neg": Evaluator._neg, "T": Evaluator._transpose,
    "fn": Evaluator._fn, "sum": Evaluator._reduce, "mean": Evaluator._reduce,
    "elem": Evaluator._elem, "Sum": Evaluator._sum_over, "delta": Evaluator._delta,
    "span": Evaluator._span,
    "onehot": Evaluator._onehot, "eye": Evaluator._eye, "ones": Evaluator._ones,
    "jac": Evaluator._jacobian, "seed": Evaluator._seed,
    **dict.fromkeys(_BINARY, Evaluator._binary),
}
