"""Random points that respect the declared kinds and assumptions.

Two styles: ``float`` (the numeric check) and ``small`` (small integers or
simple fractions, used to find a readable counterexample).
"""

from __future__ import annotations

import zlib
from fractions import Fraction
from typing import Any

import numpy as np

from derivcheck.engine.numeric import Point
from derivcheck.model import Symbol

# Size settings (``size_settings``).  Within a setting all dimension names get pairwise
# different sizes, so a lost transpose cannot hide behind a square shape and ``1/N``
# cannot stand in for ``1/D``.  Across settings every difference of two sizes changes
# sign and every sum and product of sizes changes, so no relation between sizes
# (``N + D + K = 9``, ``N * K = 12``, ``D - K = 1``) holds in all of them, and every
# size changes parity between the first two (``det(-A) = det(A)`` needs n even); and one
# setting uses larger sizes drawn from the equation's random stream, so an identity
# that holds only at the few sizes someone guessed (``(D - 2) * (D - 3) * x = 0``)
# cannot be arranged in advance.
LARGE_FROM = 5  # the large setting draws distinct sizes from LARGE_FROM .. large_to(n) - 1


def stream(seed: int, *parts: object) -> np.random.Generator:
    """A random stream that depends only on the seed and ``parts`` (what is drawn for)."""
    key = "\x1f".join(str(p) for p in parts).encode()
    return np.random.default_rng([seed, zlib.crc32(key)])


def large_to(count: int) -> int:
    """The end (exclusive) of the range the large setting draws ``count`` sizes from."""
    return max(LARGE_FROM + 5, LARGE_FROM + count + 2)


def size_settings(dims: tuple[str, ...], count: int = 3,
                  rng: np.random.Generator | None = None, floor: int = 2
                  ) -> list[dict[str, int]]:
    """``count`` settings of the dimension sizes (see the comment above).

    1. ``2, 3, ..., n + 1`` in the declared order (the smallest distinct sizes);
    2. ``n + 2, n + 1, ..., 3`` (from ``n + 3`` when ``n`` is even): every difference
       changes sign, sums and products grow, and every size changes parity;
    3. and beyond: distinct sizes drawn from ``rng`` in ``5 .. large_to(n) - 1`` (each
       later one from a wider range).  Without ``rng`` a fixed stream stands in (seed 0).
    """
    n = len(dims)
    settings: list[dict[str, int]] = []
    stream = rng if rng is not None else np.random.default_rng(0)
    for s in range(count):
        if s == 0:
            sizes = [2 + k for k in range(n)]
        elif s == 1:
            # from n + 2 down for n odd, from n + 3 for n even: each dimension's size
            # changes parity from the first setting (2 + k), so a claim true only for
            # even (or odd) sizes, det(-A) = det(A), cannot hold at both
            sizes = [n + 2 + (n % 2 == 0) - k for k in range(n)]
        else:
            top = large_to(n) + 3 * (s - 2)
            sizes = [int(v) for v in stream.choice(np.arange(LARGE_FROM, top), size=n,
                                                   replace=False)]
        # every size raised by the same amount when an expression writes an integer index
        # past 1 (Derivation.size_floor): distinctness and the order of sizes are kept
        settings.append(dict(zip(dims, (v + floor - 2 for v in sizes))))
    return settings


def smallest_setting(dims: tuple[str, ...], floor: int = 2) -> dict[str, int]:
    """The smallest pairwise different sizes, ``2, 3, ..., n + 1`` (readable counterexamples,
    instantiated proofs), from ``floor`` instead of 2 where an integer index needs it."""
    return {d: floor + k for k, d in enumerate(dims)}


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
    plan: list[Any] = []
    values: dict[str, np.ndarray] = {}
    for name in names:
        sym = symbols[name]
        tags = (constraints or {}).get(name)
        tags = sym.constraints if tags is None else tags
        shape = _shape(sym, sizes)
        # one point's value as a batch entry: a scalar (1, 1), a vector (n, 1)
        entry = (1, 1) if shape == () else (shape[0], 1) if len(shape) == 1 else shape
        values[name] = np.empty((len(scales), *entry))
        if not small and not tags & _NOT_PLAIN:
            # A run of plain real values: _draw_value makes one rng.normal call for each,
            # in turn, and NumPy fills a normal array value after value, so one call for
            # the whole run draws the same numbers (tests/test_sampling.py checks it).
            if plan and isinstance(plan[-1], _Run):
                plan[-1].add(values[name], int(np.prod(entry)))
            else:
                plan.append(_Run(values[name], int(np.prod(entry))))
            continue
        plan.append((values[name], tags, shape, entry))
    for step in plan:
        if isinstance(step, _Run):
            step.start(len(scales))
    for k, scale in enumerate(scales):
        for step in plan:
            if isinstance(step, _Run):
                step.draw(k, rng, scale)
                continue
            out, tags, shape, entry = step
            out[k] = np.asarray(_draw_value(tags, shape, rng, small, scale),
                                dtype=float).reshape(entry)
    for step in plan:
        if isinstance(step, _Run):
            step.finish()
    return Point(dict(sizes), values, batched=True)


# the constraints _draw_value treats otherwise than a plain real value (rng.normal)
_NOT_PLAIN = frozenset({"onehot", "onehot_columns", "multihot", "binary", "prob", "unit",
                        "spd", "symmetric", "positive", "sum1", "invertible"})


class _Run:
    """Consecutive plain real symbols of a batch, drawn with one ``rng.normal`` call per
    point (``draw_batch``)."""

    def __init__(self, out: np.ndarray, size: int) -> None:
        self.outs = [(out, size)]
        self.total = size

    def add(self, out: np.ndarray, size: int) -> None:
        self.outs.append((out, size))
        self.total += size

    def start(self, count: int) -> None:
        self.buffer = np.empty((count, self.total))

    def draw(self, k: int, rng: np.random.Generator, scale: float) -> None:
        # as _draw_value: normal * 1.2 * scale
        self.buffer[k] = rng.normal(size=self.total) * 1.2 * scale

    def finish(self) -> None:
        """Every point's values into the symbols' arrays (one copy per symbol)."""
        start = 0
        for out, size in self.outs:
            out[:] = self.buffer[:, start:start + size].reshape(out.shape)
            start += size


def _scalarize(values: np.ndarray | float, shape: tuple) -> Any:
    if shape == ():
        return np.float64(values)
    return np.asarray(values, dtype=float).reshape(shape)


def readable(value: Any, *, exact: bool = False) -> object:
    """A value as nested lists of short numbers (integers and simple fractions kept exact).

    ``exact``: every other number with all its digits (``repr``), so that the point can
    be entered again exactly (a counterexample found in high precision needs it).
    """
    arr = np.asarray(value, dtype=float)
    short = _exact if exact else _short
    if arr.ndim == 0:
        return short(float(arr))
    if arr.ndim == 1:
        arr = arr.reshape(-1, 1)
    return [[short(float(x)) for x in row] for row in arr]


def _exact(x: float) -> object:
    if x != x or x in (float("inf"), float("-inf")):
        return str(x)
    if float(x).is_integer() and abs(x) < 1e15:
        return int(x)
    frac = Fraction(x)
    if frac.denominator <= 64:
        return f"{frac.numerator}/{frac.denominator}"
    return float(repr(x))


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
