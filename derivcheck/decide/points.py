"""Random points where both sides are compared, and counterexamples.

Points respect the declared kinds (``sampling``); each size setting gets
``options.points`` usable points: both sides finite, away from kinks, not
dominated by float64 rounding.  The comparison itself is ``tolerance``'s.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from derivcheck.decide.options import Options
from derivcheck.decide.sampling import draw_batch, readable, size_settings, smallest_setting
from derivcheck.decide.tolerance import AGREE, DISAGREE, ROUNDING_CEILING, batch_errors
from derivcheck.engine.core import Engine, index_assignments
from derivcheck.engine.numeric import Point
from derivcheck.ir import E
from derivcheck.results import Counterexample

KINK_MARGIN = 1e-3  # how far from a kink (ReLU at 0) every point stays
MAX_TRIES = 40  # draws per wanted point before giving up on the domain
SCALES = (1.0, 0.1, 4.0, 1.0, 16.0)  # magnitudes of the points of one size setting
CLEAR = 0.05  # a counterexample this far apart is shown without looking further


@dataclass
class Sample:
    """Both sides evaluated at one point, for every value of the free indices."""

    sizes: dict[str, int]
    point: Point
    indices: list[dict[str, int]]
    lhs: list[np.ndarray]
    rhs: list[np.ndarray]
    errors: list[float] = field(default_factory=list)
    magnitude: float | None = None  # largest |value| on either side (computed if None)



def magnitude(sample: Sample) -> float:
    """The largest absolute value on either side at this point (all index settings)."""
    if sample.magnitude is not None:
        return sample.magnitude
    big = 0.0
    for a, b in zip(sample.lhs, sample.rhs):
        big = max(big, float(np.max(np.abs(a), initial=0.0)), float(np.max(np.abs(b), initial=0.0)))
    return big


def _batch_magnitudes(lv: list[np.ndarray], rv: list[np.ndarray]) -> np.ndarray:
    """``_magnitude`` of every point of a batch at once: ``(points,)``."""
    big = np.zeros(lv[0].shape[0] if lv else 0)
    for v in (*lv, *rv):
        if v.size:
            big = np.maximum(big, np.abs(v).max(axis=(1, 2)))
    return big


def rounding_dominated(engine: Engine, lhs: E, rhs: E, point: Point,
                       indices: list[dict[str, int]], errors: np.ndarray) -> np.ndarray:
    """Which points' disagreement comes from float64 rounding (those points are unusable).

    Points whose sides do not agree to ``AGREE`` are evaluated again with
    extended precision (``np.longdouble``, 11 more bits of mantissa).  A real
    difference does not move; a rounding artefact (``log(1 - sigmoid(z))`` at
    large ``z``) shrinks at least tenfold.  Such a point is ill-conditioned: it
    neither refutes nor supports the claim, and another point is drawn.  Where no
    extended type exists, no point is flagged.
    """
    worst = errors.max(axis=0)
    # Rounding artefacts stay small; a relative difference past ROUNDING_CEILING is real.
    suspect = (worst > AGREE) & (worst < ROUNDING_CEILING)
    if not suspect.any() or np.finfo(np.longdouble).eps >= np.finfo(np.float64).eps:
        return np.zeros(errors.shape[1], dtype=bool)
    ev = engine.evaluator(point, dtype=np.longdouble)
    again = batch_errors(ev.values(lhs, indices), ev.values(rhs, indices))
    with np.errstate(invalid="ignore"):
        return suspect & (again.max(axis=0) < 0.1 * errors.max(axis=0))


def evaluate_batch(engine: Engine, lhs: E, rhs: E, point: Point,
                   indices: list[dict[str, int]], *, min_kink: float = KINK_MARGIN
                   ) -> tuple[list[np.ndarray], list[np.ndarray], np.ndarray]:
    """Both sides at a batch of points, for each index setting.

    Returns the values (one ``(P, rows, cols)`` array per index setting and side)
    and which points are usable: both sides finite, away from kinks.
    """
    ev = engine.evaluator(point)
    lv = ev.values(lhs, indices)
    rv = ev.values(rhs, indices)
    ok = np.asarray(ev.min_kink) >= min_kink
    for a, b in zip(lv, rv):
        ok &= np.isfinite(a).all(axis=(1, 2)) & np.isfinite(b).all(axis=(1, 2))
    return lv, rv, ok


def _one(value: np.ndarray) -> Any:
    """One point's value out of a batch: ``(rows, cols)``, or a 0-d float for a scalar."""
    return np.float64(value[0, 0]) if value.shape == (1, 1) else np.array(value)


def _draw_batch(engine: Engine, names: list[str], sizes: dict[str, int],
                rng: np.random.Generator, scales: list[float], style: str = "float",
                constraints: dict[str, frozenset[str]] | None = None) -> Point:
    return draw_batch(engine.symbols, names, sizes, rng, scales, style, constraints)


def sample_both(engine: Engine, lhs: E, rhs: E, free: frozenset[str], options: Options,
                rng: np.random.Generator,
                constraints: dict[str, frozenset[str]] | None = None,
                *, stop_at_disagreement: bool = False) -> tuple[list[Sample], int]:
    """Evaluate both sides at ``options.points`` valid points per size setting.

    Points are drawn and evaluated in batches.  Their magnitudes vary (``SCALES``);
    after a few rounds short of valid points (overflow, log of a negative), the
    remaining draws use scale 1.  With ``stop_at_disagreement`` the sampling ends
    at the first point where the sides differ (the caller only wants to know
    whether they always agree).
    """
    names = sorted(engine.used_symbols(lhs) | engine.used_symbols(rhs))
    samples: list[Sample] = []
    tries = 0
    for sizes in size_settings(engine.derivation.dims, max(options.settings, 1)):
        indices = index_assignments(free, engine.index_range, sizes)
        good = 0
        attempts = 0
        rounds = 0
        while good < options.points and attempts < MAX_TRIES:
            need = options.points - good
            count = min(need if rounds == 0 else 2 * need, MAX_TRIES - attempts)
            scales = [SCALES[(good + j) % len(SCALES)] if rounds < 3 else 1.0
                      for j in range(count)]
            rounds += 1
            attempts += count
            tries += count
            point = _draw_batch(engine, names, sizes, rng, scales, constraints=constraints)
            lv, rv, ok = evaluate_batch(engine, lhs, rhs, point, indices)
            errors = batch_errors(lv, rv)
            ok &= ~rounding_dominated(engine, lhs, rhs, point, indices, errors)
            mags = _batch_magnitudes(lv, rv)
            for p in np.flatnonzero(ok)[:need]:
                errs = [float(e) for e in errors[:, p]]
                samples.append(Sample(sizes, point.take(int(p)), indices,
                                      [_one(v[p]) for v in lv], [_one(v[p]) for v in rv], errs,
                                      float(mags[p])))
                good += 1
                if stop_at_disagreement and max(errs) > AGREE:
                    return samples, tries
        if good < options.points:
            break
    return samples, tries


def find_counterexample(engine: Engine, lhs: E, rhs: E, free: frozenset[str],
                        fallback: Sample, rng: np.random.Generator) -> Counterexample:
    """A point where the sides differ, with small integers where that works."""
    names = sorted(engine.used_symbols(lhs) | engine.used_symbols(rhs))
    sizes = smallest_setting(engine.derivation.dims)
    indices = index_assignments(free, engine.index_range, sizes)
    point = _draw_batch(engine, names, sizes, rng, [1.0] * 60, style="small")
    lv, rv, ok = evaluate_batch(engine, lhs, rhs, point, indices, min_kink=0.5)
    errors = batch_errors(lv, rv)
    ok &= ~rounding_dominated(engine, lhs, rhs, point, indices, errors)
    # Prefer a point where the reference side is not all zero (a clearer
    # illustration), then a clear difference, then the largest one.
    best: tuple[tuple, int, int] | None = None
    for p in np.flatnonzero(ok):
        k = int(np.argmax(errors[:, p]))
        err = float(errors[k, p])
        if err < DISAGREE:
            continue
        score = (bool(np.any(np.abs(lv[k][p]) > 1e-9)), err >= CLEAR, err)
        if best is None or score > best[0]:
            best = (score, int(p), k)
    if best is not None:
        _, q, k = best
        return _cex(point.take(q), indices[k], _one(lv[k][q]), _one(rv[k][q]), names,
                    readable_point=True)
    k = int(np.argmax(fallback.errors))
    return _cex(fallback.point, fallback.indices[k], fallback.lhs[k], fallback.rhs[k], names,
                readable_point=False)


def _cex(point: Point, idx: dict[str, int], a: np.ndarray, b: np.ndarray, names: list[str],
         *, readable_point: bool) -> Counterexample:
    return Counterexample(dict(point.sizes), {n: readable(point.values[n]) for n in names},
                          dict(idx), readable(a), readable(b), readable_point)
