"""Stage 4: decide one equation: shapes, then random points, then proofs.

The order is cheapest first: shapes (no evaluation), then a numeric check at
several sizes and points (refutes in milliseconds, with a counterexample), then
a proof for what agreed numerically.  A verdict is never stronger than its
evidence: a failed proof leaves ``checked``, an inconclusive comparison is
``undecided``, and nothing is ``refuted`` without a point where the sides differ.
This package is the only place that makes a verdict *hold* (see CONTRACT.md).
"""

from __future__ import annotations

import time
import zlib
from dataclasses import dataclass, field, replace

import numpy as np

from derivcheck.codes import Diagnosis, diagnosis
from derivcheck.decide.canonical import same_canonical_form
from derivcheck.decide.crosscheck import crosscheck_derivatives
from derivcheck.decide.instantiate import Proof
from derivcheck.decide.options import Options
from derivcheck.decide.points import (
    Sample,
    find_counterexample,
    magnitude,
    sample_both,
)
from derivcheck.decide.tolerance import AGREE, DISAGREE
from derivcheck.engine.core import Engine
from derivcheck.engine.numeric import BudgetExceeded, EvalError
from derivcheck.engine.shapes import fmt_shape
from derivcheck.errors import ShapeError, Unsupported
from derivcheck.ir import E
from derivcheck.results import Counterexample, Evidence, Verdict

RESOLVABLE = 1e4  # largest value at which agreement to AGREE still resolves differences ~1e-4


@dataclass
class Outcome:
    """What ``check_equation`` found (turned into a ``LinkResult`` by the caller)."""

    verdict: Verdict
    diagnoses: list[Diagnosis]
    evidence: Evidence
    counterexample: Counterexample | None = None
    reference: E | None = None  # the engine's own side (for display), if any
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
    reference = _reference(lhs, lhs_f) or _reference(rhs, rhs_f)
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
    resolved = sum(1 for s in samples if magnitude(s) <= RESOLVABLE)
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


def _same_normal_form(engine: Engine, lhs: E, rhs: E) -> str:
    """What both sides rewrite to ("both sides rewrite to `f`"), else ''.

    The canonical forms (``canonical``) are identities at every size, given the
    declared kinds, so equal forms prove the claim for all sizes.
    """
    text, entries, cleared = same_canonical_form(lhs, rhs, engine)
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


def _reference(raw: E, resolved: E) -> E | None:
    """The engine's side of the equation (the one holding a derivative), if any."""
    if raw.op != "d" and not any(n.op == "d" for n in raw.walk()):
        return None
    return resolved


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


