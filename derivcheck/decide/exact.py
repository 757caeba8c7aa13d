"""High-precision confirmation: float64 agreement is never the last word.

Two sides that agree in float64 to ``AGREE`` may still differ: by a term below
float64's resolution (``s + t / 10**24``, an ``eps`` dropped from a loss), by a
difference hidden under a large common value (``exp(100) + s`` against
``exp(100)``), or by a difference between two tiny values (``2 s exp(-30 - s^2)``
against its negative).  Here the two sides are evaluated again at the same points
in mpmath arithmetic at increasing working precisions (``LEVELS`` digits); the
input values (float64 numbers) and the constants of the formula (exact fractions)
are taken exactly, so the only error is the rounding of the working precision.

The decision is about how the difference ``d_p`` (the largest absolute difference
over every entry and every setting of the free indices) behaves as the precision
``p`` grows, against what rounding at ``p`` digits can explain: ``noise_p = M *
10^(NOISE_DIGITS - p)``, where ``M`` is the largest magnitude of any value computed
on the way (rounding errors are relative to the operands, and ``NOISE_DIGITS``
allows for their accumulation):

* a **real difference** does not depend on the precision and is more than rounding
  can explain: ``d_p`` and ``d_2p`` agree to ``STABLE`` (relative) and ``d_2p >
  noise_2p`` -> the claim is false at that point.  (Stability alone is not enough: a
  softmax entry within ``1e-5000`` of 1 rounds to 1 at every level, so a difference
  of ``1e-5208`` made by that rounding is the same at 30 and 240 digits.);
* **rounding**: ``d_p <= noise_p`` and ``d_2p <= noise_2p`` (0 included), at the
  higher level ``noise_2p <= RESOLUTION`` and ``noise_2p <= RESOLUTION * S`` for ``S``
  the sides' largest magnitude (rounding could not hide a difference above
  ``RESOLUTION``, absolutely or relative to the sides: two sides of 1e-60 are judged
  at a level where the noise is far below 1e-60; sides at rounding level up to the last
  level are 0 there, and two exact zeros agree at once), and at neither level was a
  term lost entirely in a sum (the smallest ratio of two terms added stays above
  ``10^(NOISE_DIGITS - p)``) -> the sides agree.  (The last conditions matter:
  ``exp(200) + s`` and ``exp(200)`` round to the same 60-digit number, and only at 120
  digits does ``s`` show.)  A difference that shrinks from one level to the next by
  nearly the precision gained (``SHRINK_SLACK`` decades short of it), to below
  ``RESOLUTION`` of the sides, is rounding too where the other conditions hold: sums
  of many terms of 1e13 accumulate errors a few times the noise estimate.  A
  difference below the noise is real too where the sides'
  magnitude and the difference, relative to it above ``RESOLUTION``, are the same at
  two levels and no term was lost (``s exp(-1000)`` against ``t exp(-1000)``).
* anything else at the last level is inconclusive (never "agree").

A side that is undefined (NaN: outside a function's domain) where the other is
defined and finite, at two levels, the higher one trusted as above (so that
rounding cannot be what made it undefined: ``1 - sigmoid(1000)`` is 0 at 240
digits, where ``1 + exp(-1000)`` lost its small term), is a **domain** difference:
the claim says the two are equal at a point where one of them does not exist.

Only this module decides that float64 agreement is real; a claim is ``checked``
only if every point confirmed here agrees.  Work is bounded by the evaluator's
operation budget, in operations (deterministic), never by a clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from derivcheck.engine.core import Engine
from derivcheck.engine.numeric import BudgetExceeded, EvalError
from derivcheck.ir import E

LEVELS = (30, 60, 120, 240)  # working precisions, in decimal digits
STABLE = 1e-3  # d_p and d_2p this close (relative): the difference is real
NOISE_DIGITS = 10  # rounding at p digits: up to largest magnitude * 10^(NOISE_DIGITS - p)
SHRINK_SLACK = 5  # rounding: the difference shrinks by 10^(digits gained - SHRINK_SLACK)
RESOLUTION = 1e-20  # agreement only where rounding cannot hide a difference above this
MAX_OPERATIONS = 400_000  # evaluator operations for every confirmation of one equation


@dataclass(frozen=True)
class PointCheck:
    """What the high-precision evaluation found at one point.

    ``status``: ``agree`` (the difference is rounding), ``differ`` (a real difference),
    ``domain`` (one side undefined where the other is defined), ``skip`` (both sides
    undefined: the point says nothing), ``inconclusive``.
    """

    status: str
    digits: int = 0  # the working precision that decided
    difference: str = ""  # |lhs - rhs| at that precision (largest entry), as text
    lhs: object = None  # both sides at that precision (floats for display; None: undefined)
    rhs: object = None
    index: dict[str, int] | None = None  # the setting of the free indices that differs most
    undefined: str = ""  # "left" or "right" for a domain difference


class _Budget:
    def __init__(self, limit: int) -> None:
        self.left = limit

    def spend(self, n: int) -> None:
        self.left -= n
        if self.left < 0:
            raise BudgetExceeded("the high-precision check needs more than "
                                 f"{MAX_OPERATIONS:,} operations")


def _sides(engine: Engine, lhs: E, rhs: E, point: Any, indices: list[dict[str, int]],
           digits: int, budget: _Budget, *, track: bool = True
           ) -> tuple[list[np.ndarray] | None, list[np.ndarray] | None, Any, Any]:
    """Both sides at ``point`` for each index setting, at ``digits`` digits (None: that
    side is undefined), the largest magnitude of any value computed on the way, and the
    smallest ratio of two terms added (``Evaluator.smallest_ratio``), over both sides.

    One evaluator for both: what they share (the definitions) is computed once, and
    its magnitudes and ratios are those either side's own evaluation would record.
    """
    import mpmath

    with mpmath.workdps(digits):
        ev = engine.evaluator(exact_point(engine, point), dtype=object)
        ev.tracking = track
        try:
            out = (_side(ev, lhs, indices), _side(ev, rhs, indices))
        finally:
            budget.spend(ev.operations)
    return out[0], out[1], ev.largest, ev.smallest_ratio


def _side(ev: Any, node: E, indices: list[dict[str, int]]) -> list[np.ndarray] | None:
    """``node``'s values from ``ev`` (at its working precision); None if undefined."""
    import mpmath

    try:
        out = [np.asarray(v, dtype=object) for v in ev.values(node, indices)]
    except (ZeroDivisionError, ValueError, TypeError, ArithmeticError):
        return None
    for v in out:
        for x in v.flat:
            # an mpmath real (by its interface: a second import of mpmath, as pytest's
            # in-process runs make, has another class) or a plain number; not a complex
            if not hasattr(x, "_mpf_") and not isinstance(x, (float, int)):
                return None
            if not mpmath.isfinite(x):
                return None
    return out


def exact_point(engine: Engine, point: Any) -> Any:
    """``point`` in mpmath numbers at the working precision, on its constraints exactly.

    Float64 values are taken as they are (exactly), except where a declared kind is an
    equation that rounding breaks: a ``prob`` vector's entries sum to 1 only to about
    1e-16 in float64, so it is normalised again here (at the working precision), or a
    claim that relies on ``sum(p) = 1`` would differ by the rounding.
    """
    from derivcheck.engine.numeric import Point, mp_ufuncs

    mpf = mp_ufuncs()["mpf"]
    values = {}
    for name, value in point.values.items():
        arr = np.asarray(value, dtype=np.float64)
        exact = mpf(arr) if arr.ndim else np.asarray(mpf(arr), dtype=object)
        sym = engine.symbols.get(name)
        if sym is not None and "prob" in sym.constraints and arr.ndim:
            total = sum(exact.flat)
            exact = exact / total
        values[name] = exact
    return Point(dict(point.sizes), values, dict(point.overrides), point.batched)


def _difference(a: list[np.ndarray], b: list[np.ndarray]) -> tuple[Any, int]:
    """The largest |a - b| over entries and index settings, and the setting where it is."""
    import mpmath

    best: Any = mpmath.mpf(0)
    where = 0
    for k, (x, y) in enumerate(zip(a, b)):
        x, y = np.broadcast_arrays(x, y)
        for u, v in zip(x.flat, y.flat):
            d = abs(u - v) if hasattr(u, "_mpf_") or hasattr(v, "_mpf_") \
                else abs(mpmath.mpf(u) - mpmath.mpf(v))
            if d > best:
                best, where = d, k
    return best, where


def _largest(a: list[np.ndarray], b: list[np.ndarray]) -> Any:
    """The largest magnitude of any entry of either side, at the working precision."""
    import mpmath

    best: Any = mpmath.mpf(0)
    for values in (a, b):
        for v in values:
            for x in np.asarray(v, dtype=object).flat:
                m = abs(x) if hasattr(x, "_mpf_") else abs(mpmath.mpf(x))
                if m > best:
                    best = m
    return best


def _floats(values: list[np.ndarray], k: int) -> object:
    arr = np.asarray(values[k], dtype=float)
    return float(arr) if arr.ndim == 0 else arr


def confirm_point(engine: Engine, lhs: E, rhs: E, point: Any, indices: list[dict[str, int]],
                  budget: _Budget) -> PointCheck:
    """Decide at one point whether the sides differ (see the module docstring)."""
    import mpmath

    prev: tuple[Any, bool] | None = None  # (difference, at rounding level) one level down
    prev_scale: Any = None  # the sides' largest magnitude one level down
    undefined_run: list[str] = []
    big: Any = 0
    ratio: Any = 1
    for level, digits in enumerate(LEVELS):
        # The magnitudes and the ratios of terms added hardly depend on the precision:
        # they are measured at the first level only.
        a, b, big_ab, ratio_ab = _sides(engine, lhs, rhs, point, indices, digits, budget,
                                        track=level == 0)
        with mpmath.workdps(digits):
            if level == 0:
                big = max(big_ab, mpmath.mpf(1) / 10 ** 300)
                ratio = ratio_ab
            # what rounding at this precision can explain (see the module docstring)
            unit = mpmath.mpf(10) ** (NOISE_DIGITS - digits)
            noise = big * unit
            # a term lost entirely in a sum: a value may be exactly wrong (absorbed)
            lossy = ratio < unit
            # not even the last level could trust an agreement here
            last = mpmath.mpf(10) ** (NOISE_DIGITS - LEVELS[-1])
            hopeless = big * last > RESOLUTION or ratio < last
        trusted = noise <= RESOLUTION and not lossy
        if a is None or b is None:
            prev = None
            if a is None and b is None:
                return PointCheck("skip", digits)
            if hopeless:
                return PointCheck("inconclusive", digits)
            # Undefined by rounding (1 - sigmoid(1000) is 0 at 240 digits) is not a domain
            # difference: only where rounding could not have produced it.
            side = "left" if a is None else "right"
            undefined_run.append(side)
            if len(undefined_run) >= 2 and undefined_run[-1] == undefined_run[-2] and trusted:
                return PointCheck("domain", digits, "undefined",
                                  None if a is None else _floats(a, 0),
                                  None if b is None else _floats(b, 0),
                                  indices[0] if indices else {}, side)
            continue
        undefined_run.clear()
        with mpmath.workdps(digits):  # the difference at the working precision
            d, where = _difference(a, b)
            text = mpmath.nstr(d, 5)
            scale = _largest(a, b)
        rounding = d <= noise and not lossy
        # Agreement is relative to the sides as well: two sides of 1e-60 that differ in
        # every digit are far below RESOLUTION and below the noise of the inputs' (1)
        # magnitude at 30 and 60 digits; only a level whose noise is below RESOLUTION
        # times the sides' own magnitude can tell.  Sides that stay at rounding level up
        # to the last level are 0 there (a cancellation), and two exact zeros agree.
        # A magnitude the same at two levels is a value, not rounding (rounding shrinks
        # with the precision): 5e-435 from s * exp(-1000) is real at every level.
        real = scale > 0 and prev_scale is not None and abs(scale - prev_scale) <= STABLE * scale
        resolved = noise <= RESOLUTION * scale or (d == 0 and scale == 0) or \
            (real and d <= RESOLUTION * scale) or (level == len(LEVELS) - 1 and not real)
        if prev is not None:
            before, before_rounding = prev
            stable = abs(d - before) <= STABLE * d
            if d > noise and stable:
                return PointCheck("differ", digits, text, _floats(a, where), _floats(b, where),
                                  indices[where] if indices else {})
            if real and not lossy and d > RESOLUTION * scale and stable:
                # below the noise of the inputs' magnitude, but the sides are values that
                # do not move with the precision, and so is their difference (relative)
                return PointCheck("differ", digits, text, _floats(a, where), _floats(b, where),
                                  indices[where] if indices else {})
            # Rounding shrinks with the precision, a value does not: a difference that
            # fell by (nearly) the precision gained, to below RESOLUTION of the sides, is
            # rounding even where it is a few times the noise estimate (the errors of
            # sums of many terms of 1e13 accumulate past NOISE_DIGITS).
            shrunk = d <= before * mpmath.mpf(10) ** (LEVELS[level - 1] - digits + SHRINK_SLACK) \
                and d <= RESOLUTION * scale and not lossy
            if ((rounding and before_rounding) or shrunk) and trusted and resolved:
                return PointCheck("agree", digits)
            if hopeless:  # a real difference would have shown as stable by now
                return PointCheck("inconclusive", digits)
        prev = (d, rounding)
        prev_scale = scale
    return PointCheck("inconclusive", LEVELS[-1])


@dataclass(frozen=True)
class Confirmation:
    """The high-precision check of an equation at some of its points."""

    status: str  # agree, differ, domain, inconclusive
    points: int  # points where the sides were found to agree
    digits: int  # the highest working precision used
    failed: PointCheck | None = None  # the point check that decided differ / domain / ...
    sample: Any = None  # the sample (``points.Sample``) of ``failed``
    reason: str = ""


TRIES_PER_SETTING = 4  # points of one size setting tried, the most moderate first


def confirm(engine: Engine, lhs: E, rhs: E, samples: list[Any]) -> Confirmation:
    """Confirm float64 agreement in high precision, in every size setting of ``samples``.

    In each setting the points are tried from the smallest magnitude up (rounding
    hides less there), until one agrees; a real or domain difference at any point
    tried refutes.  If no point of some setting agrees within ``TRIES_PER_SETTING``,
    the confirmation is inconclusive.
    """
    budget = _Budget(MAX_OPERATIONS)
    groups: dict[tuple, list[Any]] = {}
    for sample in samples:
        groups.setdefault(tuple(sorted(sample.sizes.items())), []).append(sample)
    agreed = 0
    digits = 0
    try:
        for group in groups.values():
            group = sorted(group, key=_magnitude)  # moderate magnitudes first
            last: PointCheck | None = None
            for sample in group[:TRIES_PER_SETTING]:
                check = confirm_point(engine, lhs, rhs, sample.point, sample.indices, budget)
                digits = max(digits, check.digits)
                if check.status in ("differ", "domain"):
                    return Confirmation(check.status, agreed, digits, check, sample)
                last = check
                if check.status == "agree":
                    agreed += 1
                    break
            else:
                return Confirmation("inconclusive", agreed, digits, last, group[0],
                                    "no point of the sizes "
                                    + ", ".join(f"{k}={v}" for k, v in group[0].sizes.items())
                                    + " could be judged (the difference neither vanished nor "
                                      f"settled at up to {LEVELS[-1]} digits)")
    except BudgetExceeded as exc:
        return Confirmation("inconclusive", agreed, digits, reason=str(exc))
    except EvalError as exc:
        return Confirmation("inconclusive", agreed, digits, reason=f"cannot evaluate: {exc}")
    return Confirmation("agree", agreed, digits)


def judge(engine: Engine, lhs: E, rhs: E, samples: list[Any]) -> Confirmation:
    """High precision at points float64 could not judge: the first real or domain
    difference decides; points that cannot be judged say nothing (status ``agree``:
    nothing against the claim was found)."""
    budget = _Budget(MAX_OPERATIONS)
    digits = 0
    judged = 0
    for sample in samples:
        try:
            check = confirm_point(engine, lhs, rhs, sample.point, sample.indices, budget)
        except (BudgetExceeded, EvalError):
            break
        digits = max(digits, check.digits)
        if check.status in ("differ", "domain"):
            return Confirmation(check.status, judged, digits, check, sample)
        judged += check.status == "agree"
    return Confirmation("agree", judged, digits)


REFUTE_TRIES = 64  # float64 disagreements of one equation judged, the most moderate first


def disagreements(engine: Engine, lhs: E, rhs: E, samples: list[Any]
                  ) -> tuple[Confirmation, list[Any]]:
    """High precision at the points where float64 finds the sides different, before
    they refute: float64 cancels at large values (``relu(m) - relu(m - 0.002)`` at ``m
    = 1e13`` is 0 or 0.0039, not 0.002), and an exact gradient was refuted there.

    The points are judged the most moderate first (a real difference shows at most
    points, so the first judged decides as a rule).  Status ``differ`` or ``domain``:
    the point (``sample``, ``failed``) where it is real; ``agree``: every one of them
    is rounding (they are returned, and say nothing against the claim); ``float64``:
    some point could not be judged (inconclusive, or the budget ran out), and float64's
    verdict stands there (``sample``).  The second value: the points found rounding.
    """
    budget = _Budget(MAX_OPERATIONS)
    rounding: list[Any] = []
    digits = 0
    ordered = sorted(samples, key=_magnitude)
    for sample in ordered[:REFUTE_TRIES]:
        try:
            check = confirm_point(engine, lhs, rhs, sample.point, sample.indices, budget)
        except (BudgetExceeded, EvalError) as exc:
            return Confirmation("float64", len(rounding), digits, sample=sample,
                                reason=str(exc)), rounding
        digits = max(digits, check.digits)
        if check.status in ("differ", "domain"):
            return Confirmation(check.status, len(rounding), digits, check, sample), rounding
        if check.status != "agree":
            return Confirmation("float64", len(rounding), digits, check, sample), rounding
        rounding.append(sample)
    if len(ordered) > REFUTE_TRIES:  # more than were judged: float64 stands at the next
        return Confirmation("float64", len(rounding), digits, sample=ordered[REFUTE_TRIES]), \
            rounding
    return Confirmation("agree", len(rounding), digits), rounding


def _magnitude(sample: Any) -> tuple[bool, float, float]:
    """Moderate points first: a side that is 0 (maybe an underflow) last; then the points
    drawn at the smallest scale (their intermediate values are the most moderate); then
    how far the sides' magnitude is from 1, in decades."""
    m = sample.magnitude if sample.magnitude is not None else 0.0
    return (m == 0, sample.scale, abs(float(np.log10(m))) if m > 0 else 0.0)
