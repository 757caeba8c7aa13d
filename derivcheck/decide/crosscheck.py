"""Never trust a single route: every derivative formula against central differences.

The engine's formulas come from its own rules (``autodiff``); before a verdict
uses one, it is compared with central finite differences of the function it
differentiates, at random points away from kinks.  A disagreement makes the
step ``undecided`` (the engine is wrong, not the user); it is never turned
into ``refuted`` or ``checked``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from derivcheck.decide.sampling import draw_batch, size_settings
from derivcheck.decide.tolerance import relative_error
from derivcheck.engine.core import Engine, index_assignments
from derivcheck.engine.numeric import EvalError, Evaluator, Point
from derivcheck.ir import E
from derivcheck.printer import to_text

if TYPE_CHECKING:
    from derivcheck.decide.pool import PointPool

FD_TOLERANCE = 1e-4
FD_POINTS = 2  # points where every formula must agree with finite differences
FD_DRAWS = 30  # points drawn at most to find them
FD_BATCH = 10  # drawn and evaluated together


def crosscheck_derivatives(engine: Engine, nodes: list[E], layout: str,
                           rng: np.random.Generator, *, pool: PointPool | None = None
                           ) -> str | None:
    """Check every ``d(f)/d(v)`` inside ``nodes``; a message for the first failure.

    Each derivative is checked once per engine, at points drawn from ``rng``, or with a
    ``pool`` at the pool's batches (named by the symbols and the round: the same
    whichever equation asks first), where the formulas of all the derivatives share
    what they compute in common (a deep network's forward pass and gradient chain).
    """
    cache: dict = engine.__dict__.setdefault("_crosschecked", {})
    for node in nodes:
        for d in engine.derivative_nodes(node):
            key = (d, layout)
            if key not in cache:
                try:
                    cache[key] = _check_one(engine, d, layout, rng, pool)
                except EvalError as exc:
                    cache[key] = f"d({to_text(d.args[0])})/d({to_text(d.args[1])}): {exc}"
            if cache[key]:
                return cache[key]
    return None


def _check_one(engine: Engine, dnode: E, layout: str, rng: np.random.Generator,
               pool: PointPool | None = None) -> str | None:
    f, v = dnode.args
    f = engine.resolve(f, layout)  # a derivative of a derivative: the inner formula
    target, index = (v.args[0], v.args[1:]) if v.op == "elem" else (v, ())
    formula = engine.derivative(dnode, layout)
    free = engine.free_indices(formula) | engine.free_indices(f) | engine.free_indices(v)
    names = sorted(engine.used_symbols(f) | engine.used_symbols(formula)
                   | engine.used_symbols(target))
    sizes = size_settings(engine.derivation.dims, 1, floor=engine.derivation.size_floor)[0]
    indices = index_assignments(free, engine.index_range, sizes, limit=12, spread=True)
    done = 0
    # up to FD_DRAWS points, drawn and evaluated in batches (one evaluation per batch,
    # not per draw); the points away from kinks with finite values are used in turn
    shared = False
    if pool is not None:
        formula = pool.intern(formula)
        shared = pool.plan(formula).shareable
    for draw in range(FD_DRAWS // FD_BATCH):
        values = None
        if pool is None:
            batch = draw_batch(engine.symbols, names, sizes, rng, [1.0] * FD_BATCH)
        else:
            key = (tuple(names), "derivatives", tuple(sorted(sizes.items())), draw)
            drawn = pool.batch(key, lambda key=key: draw_batch(  # type: ignore[misc]
                engine.symbols, names, sizes, pool.stream(*key), [1.0] * FD_BATCH))
            batch, values = drawn.point, (drawn.values if shared else None)
        ev = engine.evaluator(batch, shared=values)
        got = ev.values(formula, indices)
        usable = np.asarray(ev.min_kink) >= 1e-2
        for g in got:
            usable &= np.isfinite(g).all(axis=(1, 2))
        for p in np.flatnonzero(usable):
            point = _with_fixed(engine, ev, target, batch.take(int(p)), int(p))
            for idx, batched in zip(indices, got):
                value = _unbatch(batched[p])
                base = _base(ev, target, point, idx, int(p))
                fd = _finite_difference(engine, f, target, index, point, idx, layout, base)
                if fd is None:
                    break
                err = relative_error(value, fd)
                if err > FD_TOLERANCE:  # confirm with the more accurate estimate before failing
                    fd = _finite_difference(engine, f, target, index, point, idx, layout,
                                            base, richardson=True)
                    if fd is None:
                        break
                    err = relative_error(value, fd)
                if err > FD_TOLERANCE:
                    return (f"d({to_text(f)})/d({to_text(v)}) at indices {idx or '-'}: formula "
                            f"{np.round(np.asarray(value), 6).tolist()} vs finite differences "
                            f"{np.round(np.asarray(fd), 6).tolist()}")
            else:
                done += 1
            if done >= FD_POINTS:
                return None
    return None


def _with_fixed(engine: Engine, ev: Evaluator, target: E, point: Point, p: int) -> Point:
    """``point`` with the definitions that do not depend on a symbol ``target`` set to
    their values there (``ev`` computed them): moving the target leaves them as they
    are, so the finite differences need not compute them again at every moved point (a
    deep network's layers below the one moved)."""
    if target.op != "sym":
        return point
    fixed = {name: value[p] for name, value in ev.definition_values().items()
             if str(target.val) not in engine.definition_symbols(name)}
    return Point(point.sizes, point.values, {**fixed, **point.overrides})


def _base(ev: Evaluator, target: E, point: Point, idx: dict[str, int], p: int) -> np.ndarray:
    """The value of ``target`` at point ``p`` of the batch ``ev`` evaluates (a symbol's
    value as drawn, a defined name's as evaluated)."""
    if target.op == "sym":
        return np.asarray(point.values[str(target.val)], dtype=float)
    return np.asarray(_unbatch(ev.value(target, idx)[p]), dtype=float)


def _finite_difference(engine: Engine, f: E, target: E, index: tuple[E, ...], point: Point,
                       idx: dict[str, int], layout: str, base: np.ndarray, *,
                       richardson: bool = False) -> np.ndarray | None:
    """Central differences of ``f`` in every entry of ``target`` (or the one indexed).

    ``base`` is the value of ``target`` at ``point`` (``_base``).
    """
    if base.ndim == 0:
        positions: list[tuple[int, ...]] = [()]
    elif index:
        keys = [int(i.val) if i.op == "int" else idx[str(i.val)] for i in index]
        pos: tuple[int, ...] = (keys[0], 0) if len(keys) == 1 and base.shape[1] == 1 else (
            (0, keys[0]) if len(keys) == 1 else (keys[0], keys[1]))
        positions = [tuple(pos)]
    else:
        positions = [tuple(p) for p in np.ndindex(*base.shape)]
    # Every moved point (each position, step and sign) is evaluated in one batch.
    steps_of: list[tuple[float, ...]] = []
    moved_points = []
    for pos in positions:
        x = abs(float(base[pos]))
        h = min(1e-4 * max(1.0, x), 1e-2 * x) if x > 0 else 1e-4
        steps_of.append((h, h / 2) if richardson else (h,))
        for step in steps_of[-1]:
            for sign in (1.0, -1.0):
                moved = base.copy()
                moved[pos] = moved[pos] + sign * step
                moved_points.append(moved)
    vals = _values_with(engine, f, target, point, moved_points, idx)
    if not np.all(np.isfinite(vals)):
        return None
    columns = []
    k = 0
    for steps in steps_of:
        estimates = []
        for step in steps:
            estimates.append((_unbatch(vals[k]) - _unbatch(vals[k + 1])) / (2 * step))
            k += 2
        # Richardson extrapolation: error O(h^4) instead of O(h^2).
        columns.append(estimates[0] if not richardson else (4 * estimates[1] - estimates[0]) / 3)
    if index or base.ndim == 0:
        return columns[0]
    if np.ndim(_unbatch(vals[0])) == 0:  # f is a scalar
        grad = np.array(columns, dtype=float).reshape(base.shape)
        return grad.T if layout == "numerator" else grad
    jac = np.hstack([np.asarray(c, dtype=float).reshape(-1, 1) for c in columns])
    return jac if layout == "numerator" else jac.T


def _unbatch(value: np.ndarray) -> Any:
    """One point's value out of a batch, as an unbatched evaluation gives it."""
    return np.float64(value[0, 0]) if value.shape == (1, 1) else value


def _values_with(engine: Engine, f: E, target: E, point: Point, moved: list[np.ndarray],
                 idx: dict[str, int]) -> np.ndarray:
    """``f`` at ``point`` with ``target`` set to each of ``moved``: ``(len(moved), rows, cols)``."""
    count = len(moved)

    def batch(value: Any) -> np.ndarray:
        arr = np.asarray(value, dtype=float)
        arr = arr.reshape(1, 1, 1) if arr.ndim == 0 else arr[None]
        return np.broadcast_to(arr, (count, *arr.shape[1:]))

    stacked = np.stack([np.asarray(m, dtype=float).reshape(
        (1, 1) if np.ndim(m) == 0 else np.shape(m)) for m in moved])
    values = {n: batch(v) for n, v in point.values.items()}
    overrides = {n: batch(v) for n, v in point.overrides.items()}
    (values if target.op == "sym" else overrides)[str(target.val)] = stacked
    ev = engine.evaluator(Point(point.sizes, values, overrides, batched=True))
    return np.asarray(ev.value(f, idx), dtype=float)
