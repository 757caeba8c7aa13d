"""Random points that respect the declared kinds and assumptions.

Two styles: ``float`` (the numeric check) and ``small`` (small integers or
simple fractions, used to find a readable counterexample).
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np

from derivcheck.engine.numeric import Point
from derivcheck.model import Symbol

SIZE_POOL = (2, 3, 4)


def size_settings(dims: tuple[str, ...], count: int = 3) -> list[dict[str, int]]:
    """``count`` settings of the dimensions, small and mostly distinct per dimension.

    Distinct sizes for distinct dimension names make a lost transpose or a
    wrong dimension show up instead of hiding behind a square shape.
    """
    settings = []
    for s in range(count):
        sizes = {}
        for k, d in enumerate(dims):
            sizes[d] = SIZE_POOL[(k + s) % len(SIZE_POOL)]
        settings.append(sizes)
    return settings


def smallest_setting(dims: tuple[str, ...]) -> dict[str, int]:
    return {d: 2 + (k % 2) for k, d in enumerate(dims)}


def _shape(sym: Symbol, sizes: dict[str, int]) -> tuple[int, ...]:
    return tuple(d if isinstance(d, int) else sizes[d] for d in sym.shape)


def draw(sym: Symbol, sizes: dict[str, int], rng: np.random.Generator,
         style: str = "float", constraints: frozenset[str] | None = None) -> np.ndarray:
    """A value for ``sym`` under its constraints (or ``constraints`` if given)."""
    tags = sym.constraints if constraints is None else constraints
    shape = _shape(sym, sizes)
    small = style == "small"
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
        a = rng.integers(-2, 3, size=(n, n)).astype(float) if small else rng.normal(size=(n, n))
        return a @ a.T + n * np.eye(n)
    if "symmetric" in tags:
        n = shape[0]
        a = rng.integers(-3, 4, size=(n, n)).astype(float) if small else rng.normal(size=(n, n))
        return np.triu(a) + np.triu(a, 1).T
    if "positive" in tags:
        if small:
            return _scalarize(rng.integers(1, 4, size=shape or None).astype(float), shape)
        return _scalarize(rng.uniform(0.3, 2.0, size=shape or None), shape)
    if small:
        values = rng.integers(-3, 4, size=shape or None).astype(float)
    else:
        values = rng.normal(size=shape or None) * 1.2
    if "invertible" in tags:
        n = shape[0]
        for _ in range(20):
            if abs(np.linalg.det(values)) > 0.2 and np.linalg.cond(values) < 200:
                break
            values = (rng.integers(-3, 4, size=(n, n)).astype(float) if small
                      else rng.normal(size=(n, n)))
            values = values + (0 if small else 0.5 * np.eye(n))
    return _scalarize(values, shape)


def draw_point(symbols: dict[str, Symbol], names: list[str], sizes: dict[str, int],
               rng: np.random.Generator, style: str = "float",
               constraints: dict[str, frozenset[str]] | None = None) -> Point:
    """A point: values for ``names`` (in that order, for reproducibility)."""
    values = {}
    for name in names:
        tags = (constraints or {}).get(name)
        values[name] = draw(symbols[name], sizes, rng, style, tags)
    return Point(dict(sizes), values)


def _scalarize(values: np.ndarray | float, shape: tuple) -> np.ndarray:
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
