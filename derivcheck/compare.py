"""Stage 4: decide one equation: shapes, then random points, then a symbolic proof.

The order is cheapest first: shapes (no evaluation), then a numeric check at
several sizes and points (refutes in milliseconds, with a counterexample), then
a symbolic proof for what agreed numerically.  A verdict is never stronger than
its evidence: a failed proof leaves ``checked``, an inconclusive comparison is
``undecided``, and nothing is ``refuted`` without a point where the sides differ.
"""

from __future__ import annotations

import time
import zlib
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from derivcheck.codes import Diagnosis, diagnosis
from derivcheck.engine.core import Engine, index_assignments
from derivcheck.engine.crosscheck import crosscheck_derivatives
from derivcheck.engine.normal import same_canonical_form
from derivcheck.engine.numeric import BudgetExceeded, EvalError, Point
from derivcheck.engine.sampling import draw_batch, readable, size_settings, smallest_setting
from derivcheck.engine.shapes import fmt_shape
from derivcheck.engine.simplify import simplify
from derivcheck.engine.symbolic import Proof
from derivcheck.errors import ShapeError, Unsupported
from derivcheck.ir import E
from derivcheck.printer import to_text
from derivcheck.results import Counterexample, Evidence, Verdict

AGREE = 1e-8  # relative error at or below which two values agree
DISAGREE = 1e-6  # relative error at or above which they certainly differ
KINK_MARGIN = 1e-3  # how far from a kink (ReLU at 0) every point stays
MAX_TRIES = 40  # draws per wanted point before giving up on the domain
SCALES = (1.0, 0.1, 4.0, 1.0, 16.0)  # magnitudes of the points of one size setting
RESOLVABLE = 1e4  # largest value at which agreement to AGREE still resolves differences ~1e-4
CLEAR = 0.05  # a counterexample this far apart is shown without looking further
ROUNDING_CEILING = 0.1  # a relative difference above this is never taken for rounding


@dataclass(frozen=True)
class Options:
    """How hard to check.

    Attributes:
        seed: makes every run reproducible (each equation derives its own stream).
        settings: how many settings of the dimension sizes (>= 3).
        points: random points per setting (>= 5).
        symbolic: try a symbolic proof for what agrees numerically.
        time_limit: seconds for each symbolic (CAS) attempt.
        workers: processes for the numeric checks of several files and for the proofs.
        file_time_limit: seconds for the numeric checks of one file (in a worker).
        latex: check the LaTeX form of the steps that have one (``latex:``).
        second_reader: also read LaTeX with latex2sympy2 and note disagreements
            (never changes a verdict; about 1 s per file, so off by default).
    """

    seed: int = 0
    settings: int = 3
    points: int = 5
    symbolic: bool = True
    time_limit: float = 5.0
    workers: int = 2
    file_time_limit: float = 600.0
    latex: bool = False
    second_reader: bool = False


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


@dataclass
class Outcome:
    """What ``check_equation`` found (turned into a ``LinkResult`` by the caller)."""

    verdict: Verdict
    diagnoses: list[Diagnosis]
    evidence: Evidence
    counterexample: Counterexample | None = None
    reference: str = ""
    # for the diagnose stage
    lhs: E | None = None
    rhs: E | None = None
    free: frozenset[str] = frozenset()
    samples: list[Sample] = field(default_factory=list)
    shapes: tuple = ()
    await_proof: bool = False  # undecided numerically; a symbolic proof may still decide


def rng_for(options: Options, *parts: object) -> np.random.Generator:
    """A random stream that depends only on the seed and what is being checked."""
    key = "\x1f".join(str(p) for p in parts).encode()
    return np.random.default_rng([options.seed, zlib.crc32(key)])


def check_equation(engine: Engine, lhs: E, rhs: E, layout: str, options: Options,
                   rng: np.random.Generator) -> Outcome:
    """Decide ``lhs = rhs``; see the module docstring for the order of checks.

    A refuted or ill-formed outcome carries what the diagnose stage needs
    (the resolved sides and the samples); it adds the diagnoses.
    """
    started = time.perf_counter()
    shapes = engine.shapes(layout)
    try:
        sl, sr = shapes.of(lhs), shapes.of(rhs)
    except ShapeError as exc:
        out = Outcome(Verdict.ILL_FORMED, [diagnosis("shape-mismatch", detail=exc.message)],
                      Evidence("shape", reason=exc.message))
        try:  # the sides, for the diagnose stage (a transposed factor that fits the shapes)
            out.lhs, out.rhs = engine.resolve(lhs, layout), engine.resolve(rhs, layout)
            out.free = engine.free_indices(out.lhs) | engine.free_indices(out.rhs)
        except (ShapeError, Unsupported):
            out.lhs = out.rhs = None
        return out
    except Unsupported as exc:
        return _undecided("unsupported", str(exc), reason=str(exc))
    try:
        lhs_f, rhs_f = engine.resolve(lhs, layout), engine.resolve(rhs, layout)
    except Unsupported as exc:
        return _undecided("unsupported", str(exc), reason=str(exc))
    reference = _reference(engine, lhs, lhs_f) or _reference(engine, rhs, rhs_f)
    problem = crosscheck_derivatives(engine, [lhs, rhs], layout, rng)
    if problem:
        out = _undecided("engine-crosscheck", problem, reason=problem)
        out.reference = reference
        return out
    free = engine.free_indices(lhs_f) | engine.free_indices(rhs_f)
    if sl != sr and not _scalar_constant(lhs, sl) and not _scalar_constant(rhs, sr):
        detail = f"the left side is {fmt_shape(sl)}, the right side {fmt_shape(sr)}"
        return Outcome(Verdict.ILL_FORMED, [diagnosis("shape-mismatch", detail=detail)],
                       Evidence("shape", reason=detail), reference=reference,
                       lhs=lhs_f, rhs=rhs_f, free=free, shapes=(sl, sr))
    try:
        samples, tries = sample_both(engine, lhs_f, rhs_f, free, options, rng)
    except BudgetExceeded as exc:
        return _undecided("time-limit", str(exc), reason=str(exc))
    except EvalError as exc:
        return _undecided("unsupported", str(exc), reason=f"cannot evaluate: {exc}")
    except Unsupported as exc:
        return _undecided("unsupported", str(exc), reason=str(exc))
    sizes = tuple(s.sizes for s in _unique_sizes(samples))
    if len(samples) < options.points:
        detail = (f"only {len(samples)} valid points in {tries} tries (both sides must be "
                  "finite, away from kinks)")
        return _undecided("no-valid-points", detail, reason=detail)
    worst = max(e for s in samples for e in s.errors)
    n_idx = sum(len(s.indices) for s in samples)

    def evidence(method: str = "numeric", **extra: object) -> Evidence:
        return Evidence(method, sizes, len(samples), n_idx, options.seed, worst,
                        seconds=time.perf_counter() - started, **extra)  # type: ignore[arg-type]

    if worst >= DISAGREE:
        bad = max(samples, key=lambda s: max(s.errors))
        cex = find_counterexample(engine, lhs_f, rhs_f, free, bad, rng)
        return Outcome(Verdict.REFUTED, [], evidence(), cex, reference,
                       lhs=lhs_f, rhs=rhs_f, free=free, samples=samples)
    if worst > AGREE:
        detail = f"the sides agree only to a relative error of {worst:.1e}"
        return Outcome(Verdict.UNDECIDED, [diagnosis("unsupported", reason=detail)],
                       evidence(reason=detail), reference=reference)
    if options.symbolic:
        same = _same_normal_form(engine, lhs_f, rhs_f)
        if same:
            return Outcome(Verdict.PROVED, [], evidence("symbolic", proof=f"for all sizes: {same}"),
                           reference=reference)
    resolved = sum(1 for s in samples if _magnitude(s) <= RESOLVABLE)
    if resolved < max(options.settings, 1):
        # Agreement to 1e-8 of values above RESOLVABLE cannot see a difference of a few
        # units (exp(100) + s = exp(100) agrees to 1e-43): only a proof can decide.
        detail = (f"the values exceed {RESOLVABLE:.0e} at {len(samples) - resolved} of "
                  f"{len(samples)} points: agreement to a relative {AGREE:.0e} there cannot "
                  "exclude a difference; only a symbolic proof can decide")
        return Outcome(Verdict.UNDECIDED, [diagnosis("unsupported", reason=detail)],
                       evidence(reason=detail), reference=reference,
                       lhs=lhs_f, rhs=rhs_f, free=free, await_proof=True)
    # The CAS proof of what agreed is the orchestrator's next step (run in parallel).
    return Outcome(Verdict.CHECKED, [], evidence(), reference=reference,
                   lhs=lhs_f, rhs=rhs_f, free=free)


def _magnitude(sample: Sample) -> float:
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


def _same_normal_form(engine: Engine, lhs: E, rhs: E) -> str:
    """What both sides rewrite to ("both sides rewrite to `f`"), else ''.

    The rewrite rules are identities (given the declared kinds) at every size,
    so equal normal forms prove the claim for all sizes, without SymPy: first
    ``simplify``'s, then the canonical polynomials of ``engine.normal`` (the only
    ones for Jacobians).
    """
    entries = cleared = False
    if any(n.op in ("jac", "seed") for side in (lhs, rhs) for n in side.walk()):
        # entry by entry (simplify has no rules for Jacobians)
        text, entries, cleared = same_canonical_form(lhs, rhs, engine)
    else:
        a, b = simplify(lhs, engine), simplify(rhs, engine)
        if a == b:
            text = to_text(a)
        else:
            text, entries, cleared = same_canonical_form(a, b, engine)
    if not text:
        return ""
    text = text if len(text) <= 90 else text[:87] + "..."
    sides = "every entry [_row, _col] of both sides" if entries else "both sides"
    if cleared:
        return f"{sides}, multiplied by their denominators, rewrite to `{text}`"
    return f"{sides} {'rewrites' if entries else 'rewrite'} to `{text}`"


def wants_proof(outcome: Outcome) -> bool:
    """Would a symbolic proof add to this outcome (it agreed numerically, or awaits one)?"""
    wanted = outcome.verdict == Verdict.CHECKED or outcome.await_proof
    return wanted and outcome.lhs is not None and outcome.rhs is not None


def with_proof(outcome: Outcome, proof: Proof) -> Outcome:
    """A checked outcome upgraded to proved, or annotated with why there is no proof."""
    ev = outcome.evidence
    if proof.proved:
        evidence = replace(ev, method="symbolic", proof=proof.description, reason="")
        return replace(outcome, verdict=Verdict.PROVED, evidence=evidence, diagnoses=[])
    reason = f"no symbolic proof: {proof.reason}"
    if outcome.await_proof:
        reason = f"{ev.reason}; {reason}"
    return replace(outcome, evidence=replace(ev, reason=reason))


def _undecided(code: str, detail: str, *, reason: str) -> Outcome:
    key = "reason" if code == "unsupported" else "detail"
    return Outcome(Verdict.UNDECIDED, [diagnosis(code, **{key: detail})],
                   Evidence("none", reason=reason))


def _reference(engine: Engine, raw: E, resolved: E) -> str:
    if raw.op != "d" and not any(n.op == "d" for n in raw.walk()):
        return ""
    try:
        return to_text(simplify(resolved, engine))
    except (Unsupported, ShapeError, RecursionError):
        return to_text(resolved)


def _scalar_constant(node: E, shape: tuple) -> bool:
    return shape == () and node.op == "num"


def _unique_sizes(samples: list[Sample]) -> list[Sample]:
    seen: list[dict[str, int]] = []
    out = []
    for s in samples:
        if s.sizes not in seen:
            seen.append(s.sizes)
            out.append(s)
    return out


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


def batch_errors(lv: list[np.ndarray], rv: list[np.ndarray]) -> np.ndarray:
    """Relative errors, ``(index settings, points)``: see ``relative_error``."""
    out = []
    with np.errstate(all="ignore"):  # unusable points (inf, nan) are masked by the caller
        if len(lv) > 1 and len({v.shape for v in lv}) == 1 and len({v.shape for v in rv}) == 1:
            # every index setting at once (the same operations on a stacked axis)
            a, b = np.broadcast_arrays(np.stack(lv), np.stack(rv))
            big = np.maximum(np.abs(a).max(axis=(2, 3)), np.abs(b).max(axis=(2, 3)))
            return np.abs(a - b).max(axis=(2, 3)) / (1.0 + big)  # type: ignore[no-any-return]
        for a, b in zip(lv, rv):
            a, b = np.broadcast_arrays(a, b)
            big = np.maximum(np.abs(a).max(axis=(1, 2)), np.abs(b).max(axis=(1, 2)))
            out.append(np.abs(a - b).max(axis=(1, 2)) / (1.0 + big))
    return np.array(out)


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
