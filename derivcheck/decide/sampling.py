"""Random points that respect the declared kinds and assumptions.

Two styles: ``float`` (the numeric check) and ``small`` (small integers or
simple fractions, used to find a readable counterexample).
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import numpy as np

from derivcheck.engine.numeric import Point
from derivcheck.model import Symbol

# Size settings: within a setting distinct dimensions get distinct sizes (a lost
# transpose cannot hide behind a square shape), and across settings sums, products
# and differences of sizes change (no accidental relation such as N + D + K = 9
# holds at every setting).
SIZE_POOLS = ((2, 3, 4, 5), (3, 5, 2, 4), (4, 2, 5, 3))


def size_settings(dims: tuple[str, ...], count: int = 3) -> list[dict[str, int]]:
    """``count`` settings of the dimension sizes (see ``SIZE_POOLS``)."""
    settings = []
    for s in range(count):
        pool = SIZE_POOLS[s % len(SIZE_POOLS)]
        grow = s // len(SIZE_POOLS)  # settings beyond the third are larger
        settings.append({d: pool[k % len(pool)] + grow for k, d in enumerate(dims)})
    return settings


def smallest_setting(dims: tuple[str, ...]) -> dict[str, int]:
    return {d: 2 + (k % 2) for k, d in enumerate(dims)}


def _shape(sym: Symbol, sizes: dict[str, int]) -> tuple[int, ...]:
    return tuple(d if isinstance(d, int) else sizes[d] for d in sym.shape)


def draw(sym: Symbol, sizes: dict[str, int], rng: np.random.Generator,
         style: str = "float", constraints: frozenset[str] | None = None,
         scale: float = 1.0) -> np.ndarray:
    """A value for ``sym`` under its constraints (or ``constraints`` if given).

    ``scale`` multiplies unbounded values (real, positive, matrix entries): the
    numeric check draws some points at other magnitudes than 1, so that a claim
    true only for small values (``relu(x + 10) = x + 10``) or only up to rounding
    at large ones is caught.  Bounded kinds (unit, prob, binary) ignore it.
    """
    tags = sym.constraints if constraints is None else constraints
    return _draw_value(tags, _shape(sym, sizes), rng, style == "small", scale)


def _draw_value(tags: frozenset[str], shape: tuple[int, ...], rng: np.random.Generator,
                small: bool, scale: float) -> np.ndarray:
    """``draw`` for a symbol of these constraints and shape."""
    if "onehot" in tags:
        out = np.zeros(shape)
        out[rng.integers(shape[0]), 0] = 1.0
        return out
    if "onehot_columns" in tags:
        out = np.zeros(shape)
        for c in range(shape[1]):
            out[rng.integers(shape[0]), c] = 1.0
        return out
    if "multihot" in tags:
        out = rng.integers(0, 2, size=shape).astype(float)
        if not out.any():
            out[rng.integers(shape[0]), 0] = 1.0
        return out
    if "binary" in tags:
        return _scalarize(rng.integers(0, 2, size=shape).astype(float), shape)
    if "prob" in tags:
        if small:
            weights = rng.integers(1, 4, size=shape).astype(float)
        else:
            weights = rng.uniform(0.2, 1.0, size=shape)
        return weights / weights.sum()
    if "unit" in tags:
        if small:
            return _scalarize(rng.choice([0.25, 0.5, 0.75], size=shape or None), shape)
        return _scalarize(rng.uniform(0.05, 0.95, size=shape or None), shape)
    if "spd" in tags:
        n = shape[0]
        a = (rng.integers(-2, 3, size=(n, n)).astype(float) if small
             else rng.normal(size=(n, n)) * scale)
        return a @ a.T + n * scale * scale * np.eye(n)
    if "symmetric" in tags:
        n = shape[0]
        a = (rng.integers(-3, 4, size=(n, n)).astype(float) if small
             else rng.normal(size=(n, n)) * scale)
        return np.triu(a) + np.triu(a, 1).T
    if "positive" in tags:
        if small:
            return _scalarize(rng.integers(1, 4, size=shape or None).astype(float), shape)
        return _scalarize(rng.uniform(0.3, 2.0, size=shape or None) * scale, shape)
    if small:
        values = rng.integers(-3, 4, size=shape or None).astype(float)
    else:
        values = rng.normal(size=shape or None) * 1.2 * scale
    if "sum1" in tags and shape:  # any signs, entries summing to 1 (diagnosis only)
        values = values - (values.sum() - 1.0) / values.size
    if "invertible" in tags:
        n = shape[0]
        for _ in range(20):
            if abs(np.linalg.det(values)) > 0.2 * scale ** n and np.linalg.cond(values) < 200:
                break
            values = (rng.integers(-3, 4, size=(n, n)).astype(float) if small
                      else rng.normal(size=(n, n)) * scale)
            values = values + (0 if small else 0.5 * scale * np.eye(n))
    return _scalarize(values, shape)


def draw_point(symbols: dict[str, Symbol], names: list[str], sizes: dict[str, int],
               rng: np.random.Generator, style: str = "float",
               constraints: dict[str, frozenset[str]] | None = None,
               scale: float = 1.0) -> Point:
    """A point: values for ``names`` (in that order, for reproducibility)."""
    values = {}
    for name in names:
        tags = (constraints or {}).get(name)
        values[name] = draw(symbols[name], sizes, rng, style, tags, scale)
    return Point(dict(sizes), values)


def draw_batch(symbols: dict[str, Symbol], names: list[str], sizes: dict[str, int],
               rng: np.random.Generator, scales: list[float], style: str = "float",
               constraints: dict[str, frozenset[str]] | None = None) -> Point:
    """``draw_point`` at each scale, in turn (the same random stream), as one batch.

    Equal to ``stack([draw_point(..., scale) for scale in scales])``: every value is
    drawn by the same calls in the same order, and written into its place in the batch.
    """
    small = style == "small"
    plan = []
    values: dict[str, np.ndarray] = {}
    for name in names:
        sym = symbols[name]
        tags = (constraints or {}).get(name)
        shape = _shape(sym, sizes)
        # one point's value as a batch entry: a scalar (1, 1), a vector (n, 1)
        entry = (1, 1) if shape == () else (shape[0], 1) if len(shape) == 1 else shape
        values[name] = np.empty((len(scales), *entry))
        plan.append((values[name], sym.constraints if tags is None else tags, shape, entry))
    for k, scale in enumerate(scales):
        for out, tags, shape, entry in plan:
            out[k] = np.asarray(_draw_value(tags, shape, rng, small, scale),
                                dtype=float).reshape(entry)
    return Point(dict(sizes), values, batched=True)


def _scalarize(values: np.ndarray | float, shape: tuple) -> Any:
    if shape == ():
        return np.float64(values)
    return np.asarray(values, dtype=float).reshape(shape)


def readable(value: np.ndarray | float) -> object:
    """A value as nested lists of short numbers (integers and simple fractions kept exact)."""
    arr = np.asarray(value, dtype=float)
    if arr.ndim == 0:
        return _short(float(arr))
    return [[_short(float(x)) for x in row] for row in arr]


def _short(x: float) -> object:
    if x != x or x in (float("inf"), float("-inf")):
        return str(x)
    if abs(x) < 1e-12:
        return 0
    if float(x).is_integer() and abs(x) < 1e15:
        return int(x)
    frac = Fraction(x).limit_denominator(64)
    if abs(float(frac) - x) < 1e-12 * max(1.0, abs(x)):
        if frac.denominator == 1:
            return frac.numerator
        return f"{frac.numerator}/{frac.denominator}"
    short = float(f"{x:.6g}")
    return int(short) if short.is_integer() and abs(short) < 1e15 else short
