"""Numeric evaluation of the IR with NumPy at one point.

A point gives every dimension a size and every symbol a value.  Scalars are
0-d float arrays, vectors ``(n, 1)`` columns.  The evaluator records how close
the point came to a kink (ReLU at 0, ``abs`` at 0) so the sampler can move away
from it, and never raises on a domain error: it returns NaN, which the caller
treats as "this point is outside the domain".
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from derivcheck.ir import E, free_indices


class EvalError(Exception):
    """The expression cannot be evaluated at any point (e.g. an index out of range)."""


class BudgetExceeded(EvalError):
    """Evaluating at one point took more operations than ``MAX_OPERATIONS``."""


# Operations one evaluator may perform (all index settings of one point): bounds the
# time of pathological inputs such as deeply nested Sum(i, Sum(j, ...)) expressions.
MAX_OPERATIONS = 2_000_000


@dataclass
class Point:
    """Sizes of the dimensions and values of the symbols."""

    sizes: dict[str, int]
    values: dict[str, np.ndarray]
    overrides: dict[str, np.ndarray] = field(default_factory=dict)


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


class Evaluator:
    """Evaluates IR at a point; definitions are evaluated once per index setting."""

    def __init__(self, point: Point, definitions: Mapping[str, E],
                 def_free: Mapping[str, frozenset[str]], index_range: Mapping[str, str],
                 relu_prime_at_zero: float = 0.0,
                 free_cache: dict[E, tuple[str, ...]] | None = None) -> None:
        self.point = point
        self.defs = definitions
        self.def_free = def_free
        self.index_range = index_range
        self.at_zero = float(relu_prime_at_zero)
        self.min_kink = np.inf
        self.seed: np.ndarray | None = None
        # Diagnosis only: evaluate as if every ReLU mask were 1 (a forgotten mask).
        self.no_relu_mask = False
        self.operations = 0
        self._cache: dict[tuple, np.ndarray] = {}
        self._memo: dict[tuple, np.ndarray] = {}
        self._free: dict[E, tuple[str, ...]] = {} if free_cache is None else free_cache

    def value(self, node: E, idx: Mapping[str, int] | None = None) -> np.ndarray:
        """The value of ``node`` with free indices set by ``idx``."""
        with np.errstate(all="ignore"):
            out = self._eval(node, dict(idx or {}))
        return _squeeze(out)

    def values(self, node: E, indices: list[dict[str, int]]) -> list[np.ndarray]:
        """``value`` for each index setting (one error-state switch for all)."""
        with np.errstate(all="ignore"):
            return [_squeeze(self._eval(node, dict(idx))) for idx in indices]

    def _ref(self, name: str, idx: dict[str, int]) -> np.ndarray:
        if name in self.point.overrides:
            return self.point.overrides[name]
        free = self.def_free.get(name, frozenset())
        key = (name, tuple(sorted((k, idx[k]) for k in free)))
        hit = self._cache.get(key)
        if hit is None:
            hit = _squeeze(self._eval(self.defs[name], idx))
            self._cache[key] = hit
        return hit

    def _index(self, node: E, idx: dict[str, int]) -> int:
        if node.op == "int":
            return int(node.val)  # type: ignore[arg-type]
        try:
            return idx[node.val]  # type: ignore[index]
        except KeyError:
            raise EvalError(f"index {node.val} has no value") from None

    def _kink(self, arg: np.ndarray) -> None:
        """Record how close a continuous argument came to a kink.

        An argument that is exactly 0 comes from the structure (``relu`` of a
        negative number, a one-hot entry), not from sampling: there the stated
        convention (``relu_prime_at_zero``) decides, and the point stays usable.
        """
        mags = np.abs(np.asarray(arg, dtype=float))
        mags = mags[mags > 0]
        if mags.size:
            self.min_kink = min(self.min_kink, float(mags.min()))

    def _free_of(self, node: E) -> tuple[str, ...]:
        hit = self._free.get(node)
        if hit is None:
            hit = tuple(sorted(free_indices(node, self.def_free)))
            self._free[node] = hit
        return hit

    def _eval(self, node: E, idx: dict[str, int]) -> np.ndarray:
        """Memoized by node and the values of the node's own free indices.

        A sub-expression inside ``Sum(k, ...)`` that does not use ``k`` is
        evaluated once, not once per value of ``k``.  The seed of a Jacobian
        changes what ``seed`` nodes mean, so the memo is bypassed under it.
        """
        if not node.args or self.seed is not None:
            return self._compute(node, idx)
        free = self._free_of(node)
        # id() is stable here: the tree outlives the evaluator's use of it.
        key = (id(node), tuple([idx.get(k, -1) for k in free]) if free else ())
        hit = self._memo.get(key)
        if hit is None:
            hit = self._compute(node, idx)
            self._memo[key] = hit
        return hit

    def _compute(self, node: E, idx: dict[str, int]) -> np.ndarray:
        self.operations += 1
        if self.operations > MAX_OPERATIONS:
            raise BudgetExceeded(f"evaluation needs more than {MAX_OPERATIONS:,} operations "
                                 "per point")
        op = node.op
        args = node.args
        if op == "num":
            return np.float64(node.val)  # type: ignore[arg-type]
        if op == "sym":
            return self.point.values[node.val]  # type: ignore[index]
        if op == "ref":
            return self._ref(node.val, idx)  # type: ignore[arg-type]
        if op == "dim":
            return np.float64(self.point.sizes[node.val])  # type: ignore[index]
        if op == "add":
            return self._eval(args[0], idx) + self._eval(args[1], idx)
        if op == "sub":
            return self._eval(args[0], idx) - self._eval(args[1], idx)
        if op == "mul":
            return self._eval(args[0], idx) * self._eval(args[1], idx)
        if op == "div":
            return self._eval(args[0], idx) / self._eval(args[1], idx)
        if op == "pow":
            base, expo = self._eval(args[0], idx), self._eval(args[1], idx)
            return np.power(np.asarray(base, dtype=float), expo)
        if op == "neg":
            return -self._eval(args[0], idx)
        if op == "matmul":
            a, b = self._eval(args[0], idx), self._eval(args[1], idx)
            a = a.reshape(1, 1) if np.ndim(a) == 0 else a
            b = b.reshape(1, 1) if np.ndim(b) == 0 else b
            return _squeeze(a @ b)
        if op == "T":
            return np.transpose(self._eval(args[0], idx))
        if op == "fn":
            return self._fn(node, idx)
        if op in ("sum", "mean"):
            a = np.asarray(self._eval(args[0], idx))
            if node.val is None or a.ndim == 0:
                out = np.sum(a) if op == "sum" else np.mean(a)
            else:
                out = (np.sum if op == "sum" else np.mean)(a, axis=node.val, keepdims=True)
            return _squeeze(out)
        if op == "elem":
            return self._elem(node, idx)
        if op == "Sum":
            var = node.val
            n = self.point.sizes[self.index_range[var]]  # type: ignore[index]
            total: np.ndarray = np.float64(0.0)
            inner = dict(idx)
            for k in range(n):
                inner[var] = k  # type: ignore[index]
                total = total + self._eval(args[0], inner)
            return total
        if op == "delta":
            return np.float64(self._index(args[0], idx) == self._index(args[1], idx))
        if op == "onehot":
            n = self.point.sizes[node.val]  # type: ignore[index]
            k = self._index(args[0], idx)
            if not 0 <= k < n:
                raise EvalError(f"onehot index {k} out of range 0..{n - 1}")
            out = np.zeros((n, 1))
            out[k, 0] = 1.0
            return out
        if op == "eye":
            return np.eye(self.point.sizes[node.val])  # type: ignore[index]
        if op == "ones":
            shape = tuple(d if isinstance(d, int) else self.point.sizes[d] for d in node.val)  # type: ignore[union-attr]
            return _squeeze(np.ones(shape)) if shape else np.float64(1.0)
        if op == "jac":
            return self._jacobian(node, idx)
        if op == "seed":
            if self.seed is None:
                raise EvalError("seed outside a Jacobian")
            return self.seed
        raise EvalError(f"cannot evaluate '{op}'")

    def _fn(self, node: E, idx: dict[str, int]) -> np.ndarray:
        name = node.val
        a = self._eval(node.args[0], idx)
        if name in _UNARY:
            if name in ("abs", "sign"):
                self._kink(a)
            return _UNARY[name](a)  # type: ignore[index]
        if name == "sigmoid":
            return 1.0 / (1.0 + np.exp(-a))
        if name == "relu":
            self._kink(a)
            return np.maximum(a, 0.0)
        if name == "relu_prime":
            self._kink(a)
            if self.no_relu_mask:
                return np.ones_like(np.asarray(a, dtype=float))
            return np.where(a > 0, 1.0, np.where(a < 0, 0.0, self.at_zero))
        if name == "softmax":
            a = np.asarray(a, dtype=float)
            shifted = np.exp(a - np.max(a, axis=0, keepdims=True))
            return shifted / np.sum(shifted, axis=0, keepdims=True)
        if name == "logsumexp":
            a = np.asarray(a, dtype=float)
            m = np.max(a, axis=0, keepdims=True)
            return _squeeze(m + np.log(np.sum(np.exp(a - m), axis=0, keepdims=True)))
        if name == "diag":
            a = np.asarray(a, dtype=float)
            if a.shape[1] == 1:
                return np.diag(a[:, 0])
            if a.shape[0] == 1:
                return np.diag(a[0, :])
            return np.diag(a).reshape(-1, 1)
        if name == "tr":
            return np.float64(np.trace(np.atleast_2d(a)))
        if name == "det":
            return np.float64(np.linalg.det(np.atleast_2d(a)))
        if name == "inv":
            m = np.atleast_2d(a)
            try:
                out = np.linalg.inv(m)
            except np.linalg.LinAlgError:
                out = np.full(m.shape, np.nan)
            return _squeeze(out) if np.ndim(a) == 0 else out
        raise EvalError(f"unknown function {name}")

    def _elem(self, node: E, idx: dict[str, int]) -> np.ndarray:
        base = np.asarray(self._eval(node.args[0], idx))
        keys = [self._index(i, idx) for i in node.args[1:]]
        if base.ndim != 2:
            raise EvalError("element of a scalar")
        if len(keys) == 1:
            pos = (keys[0], 0) if base.shape[1] == 1 else (0, keys[0])
        else:
            pos = (keys[0], keys[1])
        if not (0 <= pos[0] < base.shape[0] and 0 <= pos[1] < base.shape[1]):
            raise EvalError(f"index {tuple(keys)} out of range for shape {base.shape}")
        return np.float64(base[pos])

    def _jacobian(self, node: E, idx: dict[str, int]) -> np.ndarray:
        n_dim, seed_shape, _out = node.val  # type: ignore[misc]
        n = self.point.sizes[n_dim] if isinstance(n_dim, str) else int(n_dim)
        cols = []
        saved = self.seed
        for j in range(n):
            e = np.zeros((n, 1))
            e[j, 0] = 1.0
            self.seed = e if seed_shape != () else np.float64(1.0)
            col = np.asarray(self._eval(node.args[0], idx), dtype=float)
            cols.append(col.reshape(-1, 1))
        self.seed = saved
        return np.hstack(cols)


def relative_error(a: np.ndarray, b: np.ndarray) -> float:
    """max |a - b| relative to 1 + the largest magnitude on either side."""
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    if a.shape != b.shape:
        a, b = np.broadcast_arrays(a, b)
    big = max(float(np.max(np.abs(a), initial=0.0)), float(np.max(np.abs(b), initial=0.0)))
    return float(np.max(np.abs(a - b), initial=0.0)) / (1.0 + big)


def _squeeze(value: np.ndarray) -> np.ndarray:
    """A ``1 x 1`` array is a scalar."""
    if np.ndim(value) == 2 and np.shape(value) == (1, 1):
        return np.float64(value[0, 0])
    if np.ndim(value) == 0:
        return np.float64(value)
    return value
