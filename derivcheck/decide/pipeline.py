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
from dataclasses import dataclass, field, replace

import numpy as np

from derivcheck.codes import Diagnosis, diagnosis
from derivcheck.decide.canonical import same_canonical_form
from derivcheck.decide.crosscheck import crosscheck_derivatives
from derivcheck.decide.exact import Confirmation, PointCheck, confirm, disagreements, judge
from derivcheck.decide.instantiate import Proof
from derivcheck.decide.options import Options
from derivcheck.decide.points import (
    Sample,
    equal_sizes,
    find_counterexample,
    sample,
    size_one,
    size_sweep,
    valued_dims,
)
from derivcheck.decide.pool import point_pool
from derivcheck.decide.sampling import readable, stream
from derivcheck.decide.tolerance import DISAGREE
from derivcheck.engine.core import Engine
from derivcheck.engine.numeric import BudgetExceeded, EvalError
from derivcheck.engine.shapes import fmt_shape
from derivcheck.errors import IndexAsNumber, ShapeError, Unsupported
from derivcheck.ir import E
from derivcheck.results import Counterexample, Evidence, Scope, Verdict


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
    return stream(options.seed, *parts)


DOUBT = 1e-12  # a float64 relative difference above this is judged in high precision
DOUBTFUL_AT = 6  # at most this many such points per equation (the most different first)


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
    except IndexAsNumber as exc:
        return _undecided("unsupported", exc.message, reason=exc.message)
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
    pool = point_pool(engine, options)
    problem = crosscheck_derivatives(engine, [lhs, rhs], layout, rng, pool=pool)
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
        got = sample(engine, lhs_f, rhs_f, free, options, rng, pool=pool)
    except BudgetExceeded as exc:
        return _undecided("time-limit", str(exc), reason=str(exc))
    except EvalError as exc:
        return _undecided("unsupported", str(exc), reason=f"cannot evaluate: {exc}")
    except Unsupported as exc:
        return _undecided("unsupported", str(exc), reason=str(exc))
    samples = got.samples
    # A float64 difference refutes only where high precision finds it real.  Points where
    # it is rounding (cancellation at large values) agree in high precision: they stay,
    # as points judged there (their float64 difference is not the claim's: not reported).
    refuting: Confirmation | None = None
    differing = [s for s in samples if max(s.errors) >= DISAGREE]
    judged_equal = 0
    if differing:
        refuting, rounding = disagreements(engine, lhs_f, rhs_f, differing)
        if refuting.status == "agree":
            judged_equal = len(rounding)
            others = [s for s in samples if all(s is not r for r in rounding)]
            samples = [replace(s, errors=[0.0] * len(s.errors))
                       if any(s is r for r in rounding) else s for s in samples]
            refuting = None
            # float64 cancels in this claim: its agreement elsewhere may be cancellation
            # too ((s + exp(40)) - exp(40) + relu(s - 1e6) = s agrees in float64 at s =
            # 1000001.47, by rounding), so every other point is judged as well
            if others:
                refuting, _ = disagreements(engine, lhs_f, rhs_f, others)
                if refuting.status == "agree":
                    judged_equal += len(others)
                    refuting = None
                elif refuting.status == "float64":
                    detail = ("float64 cancels in this claim (high precision found the sides "
                              f"equal at {len(rounding)} points where float64 differs), and "
                              "high precision could not judge every other point")
                    return _undecided("no-valid-points", detail, reason=detail)
    sizes = tuple(s.sizes for s in _unique_sizes(samples))
    if len(samples) < options.points * max(options.settings, 1):
        detail = (f"only {len(samples)} valid points in {got.tries} tries (both sides must be "
                  "finite, away from kinks)")
        out = _undecided("no-valid-points", detail, reason=detail)
        return _with_doubtful(engine, out, lhs_f, rhs_f, free, got.doubtful, reference)
    worst = max(e for s in samples for e in s.errors)
    n_idx = sum(len(s.indices) for s in samples)
    branches = f"{got.kinks}" if got.kinks and not got.unreached else ""

    def evidence(method: str = "numeric", **extra: object) -> Evidence:
        scope = Scope.ALL_SIZES if method == "symbolic" else Scope.POINTS
        return Evidence(method, sizes, len(samples), n_idx, options.seed, worst,
                        seconds=time.perf_counter() - started, scope=scope, branches=branches,
                        **extra)  # type: ignore[arg-type]

    if refuting is not None:
        check = refuting.failed
        if refuting.status == "domain":
            refuted = _precision_verdict(engine, lhs_f, rhs_f, free, refuting, samples,
                                         evidence(), reference)
            if refuted is not None:
                return refuted
        bad = refuting.sample
        if check is not None and refuting.status == "differ" and \
                (judged_equal or not _float64_values_hold(bad, check)):
            # float64 cancels in this claim: the point and the values are high
            # precision's, and no diagnosis is drawn from float64's values
            cancelled = [diagnosis("cancellation", difference=check.difference,
                                   digits=check.digits)]
            return Outcome(Verdict.REFUTED, cancelled,
                           replace(evidence(), scope=Scope.NONE, digits=check.digits),
                           _precise_counterexample(engine, lhs_f, rhs_f, bad, check),
                           reference, lhs=lhs_f, rhs=rhs_f, free=free)
        cex = find_counterexample(engine, lhs_f, rhs_f, free, bad, rng)
        if not cex.readable and check is not None and refuting.status == "differ":
            cex = _precise_counterexample(engine, lhs_f, rhs_f, bad, check)  # not float64's
        return Outcome(Verdict.REFUTED, [], replace(evidence(), scope=Scope.NONE), cex,
                       reference, lhs=lhs_f, rhs=rhs_f, free=free, samples=samples)
    # a child stream: the draws of ``rng`` (counterexamples, rays) are as before
    one, code = None, ""
    for name, search in (("size-one", size_one), ("equal-sizes", equal_sizes),
                         ("size-dependent", size_sweep)):
        one, code = search(engine, lhs_f, rhs_f, free, rng.spawn(1)[0], pool), name
        if one is not None and disagreements(engine, lhs_f, rhs_f, [one])[0].status == "agree":
            one = None  # rounding, as high precision shows
        if one is not None:
            break
    if one is not None and not free and not _depends_on_sizes(engine, lhs_f, rhs_f):
        # no symbol has a dimension and no size is a value: the point is one more random
        # point, and says nothing about sizes (the diagnose stage explains it)
        samples = [*samples, one]
        cex = find_counterexample(engine, lhs_f, rhs_f, free, one, rng)
        return Outcome(Verdict.REFUTED, [], replace(evidence(), scope=Scope.NONE,
                                                    worst_error=max(one.errors)), cex,
                       reference, lhs=lhs_f, rhs=rhs_f, free=free, samples=samples)
    if one is not None:  # agrees at pairwise different sizes from 2, not at these
        cex = find_counterexample(engine, lhs_f, rhs_f, free, one, rng)
        dims = ", ".join(f"{d}={n}" for d, n in one.sizes.items())
        tried = {"equal-sizes": "pairwise different sizes from 2 up",
                 "size-one": "sizes tried from 2 up"}.get(code, "size settings tried")
        explained = [diagnosis(code, detail=f"the sides agree at the {tried}, and differ at "
                                            f"{dims}")]
        # no samples for the diagnose stage: one point, at another size, explains nothing
        return Outcome(Verdict.REFUTED, explained,
                       replace(evidence(), scope=Scope.NONE, worst_error=max(one.errors)), cex,
                       reference, lhs=lhs_f, rhs=rhs_f, free=free)
    # Float64 agreement is a candidate, never the last word: points float64 could not
    # judge (one side undefined or overflowing, rounding-dominated) and the points that
    # agree only roughly are judged in high precision, then one point per size setting.
    # "Roughly" is far above float64's own rounding (1e-16), not only above AGREE: a
    # difference of 1e-9 relative on one side of a kink (a leaky ReLU of slope 1e-9 for
    # the ReLU) agrees to AGREE everywhere, and the one point per setting confirmed
    # below may be on the other side; the DOUBTFUL_AT most different points are judged.
    rough = sorted((s for s in samples if max(s.errors) > DOUBT), key=lambda s: -max(s.errors))
    doubtful = got.doubtful + rough[:DOUBTFUL_AT]
    if doubtful:
        refuted = _high_precision(engine, lhs_f, rhs_f, free, doubtful, samples, evidence(),
                                  reference)
        if refuted is not None:
            return refuted
    if options.symbolic:
        same = _same_normal_form(engine, lhs_f, rhs_f)
        if same:
            return Outcome(Verdict.PROVED, [], evidence("symbolic", proof=f"for all sizes: {same}"),
                           reference=reference)
    confirmed = confirm(engine, lhs_f, rhs_f, samples)
    if confirmed.status != "agree":
        refuted = _precision_verdict(engine, lhs_f, rhs_f, free, confirmed, samples,
                                     evidence(), reference)
        if refuted is not None:
            return refuted
    checked = replace(evidence(), precise=min(len(samples), confirmed.points + judged_equal),
                      digits=confirmed.digits)
    if got.short is not None:
        # checked rests on points at every size setting: the points added at the kinks of
        # one setting never stand in for another setting's (the large one, above all)
        short_sizes, found = got.short
        detail = (f"only {found} of {options.points} valid points at sizes "
                  f"{_sizes_text(short_sizes)} in {got.tries} tries (both sides must be "
                  "finite, away from kinks)")
        out = _undecided("no-valid-points", detail, reason=detail)
        out.evidence = replace(checked, reason=detail, scope=Scope.NONE)
        out.reference = reference
        return out
    if got.unreached:
        detail = ("some side of a kink was never reached by the points tried: "
                  + "; ".join(got.unreached[:4]) + ": the claim is not checked there")
        if got.size_kinks:
            detail += (" (its argument depends on the sizes alone: no size setting tried "
                       "reaches that side, and the sizes swept found no difference)")
        return Outcome(Verdict.UNDECIDED, [diagnosis("unreached-branch", detail=detail)],
                       replace(checked, reason=detail, scope=Scope.NONE),
                       reference=reference, lhs=lhs_f, rhs=rhs_f, free=free,
                       await_proof=not got.size_kinks)
    # An exact check at instantiated sizes is the orchestrator's next step (run in parallel).
    return Outcome(Verdict.CHECKED, [], checked, reference=reference,
                   lhs=lhs_f, rhs=rhs_f, free=free)


def _float64_values_hold(sample: Sample, check: PointCheck) -> bool:
    """Whether float64's values at a refuting point are high precision's (to 1e-6
    relative): where they are not, float64 cancels there (``(s + exp(40)) - exp(40)
    + 1e-12 = s``: float64's left side is 0 or 32, not s + 1e-12), and a diagnosis
    drawn from them would explain rounding."""
    for k, idx in enumerate(sample.indices):
        if dict(idx) != dict(check.index or {}):
            continue
        for ours, theirs in ((sample.lhs[k], check.lhs), (sample.rhs[k], check.rhs)):
            if theirs is None:
                return False
            a = np.asarray(ours, dtype=float)
            b = np.asarray(theirs, dtype=float)
            if a.shape != b.shape and a.size != b.size:
                return False
            scale = max(float(np.max(np.abs(b), initial=0.0)), 1e-300)
            if float(np.max(np.abs(a.reshape(b.shape) - b), initial=0.0)) > 1e-6 * scale:
                return False
        return True
    return False


def _depends_on_sizes(engine: Engine, lhs: E, rhs: E) -> bool:
    """Whether the sides can depend on the sizes: a symbol with a dimension, or a size
    used as a value (through the definitions they use)."""
    if any(engine.symbols[n].shape for n in engine.used_symbols(lhs) | engine.used_symbols(rhs)
           if n in engine.symbols):
        return True
    return bool(valued_dims(engine, (lhs, rhs)))


def _high_precision(engine: Engine, lhs: E, rhs: E, free: frozenset[str],
                    doubtful: list[Sample], samples: list[Sample], evidence: Evidence,
                    reference: E | None) -> Outcome | None:
    """The outcome if the doubtful points show a difference (or cannot be judged)."""
    confirmed = judge(engine, lhs, rhs, doubtful)
    if confirmed.status == "agree":
        return None
    return _precision_verdict(engine, lhs, rhs, free, confirmed, samples, evidence, reference)


def _precision_verdict(engine: Engine, lhs: E, rhs: E, free: frozenset[str],
                       confirmed: Confirmation, samples: list[Sample], evidence: Evidence,
                       reference: E | None) -> Outcome | None:
    """Refuted at the point where high precision found a difference; undecided if it could
    not judge; None if every judged point agreed (skipped points say nothing)."""
    check = confirmed.failed
    if confirmed.status in ("differ", "domain") and check is not None:
        sample = confirmed.sample
        cex = _precise_counterexample(engine, lhs, rhs, sample, check)
        if confirmed.status == "domain":
            found = [diagnosis("domain", side=check.undefined, fix=_domain_fix(engine, lhs, rhs))]
        else:
            found = [diagnosis("tiny-difference", difference=check.difference,
                               digits=check.digits)]
        ev = replace(evidence, scope=Scope.NONE, digits=check.digits)
        return Outcome(Verdict.REFUTED, found, ev, cex, reference, lhs=lhs, rhs=rhs, free=free,
                       samples=samples)
    if confirmed.status == "inconclusive":
        detail = f"the high-precision check could not settle the comparison: {confirmed.reason}"
        return Outcome(Verdict.UNDECIDED, [diagnosis("unsupported", reason=detail)],
                       replace(evidence, reason=detail, scope=Scope.NONE),
                       reference=reference)
    return None


def _domain_fix(engine: Engine, lhs: E, rhs: E) -> str:
    """What to declare so that the sides stay defined, by the shapes of the symbols they
    use: posscalar for a scalar, posvector or prob for a vector, spdmatrix for a matrix."""
    kinds: list[str] = []
    for name in sorted(engine.used_symbols(lhs) | engine.used_symbols(rhs)):
        sym = engine.symbols.get(name)
        if sym is None or sym.is_index:
            continue
        rank = len(sym.shape)
        for kind in ({0: ("posscalar",), 1: ("posvector", "prob")}.get(rank, ("spdmatrix",))):
            if kind not in kinds:
                kinds.append(kind)
    shown = ", ".join(kinds) if kinds else "a positive kind"
    return f"declare the assumption that keeps it defined (a kind such as {shown}, or assume:)"


def _precise_counterexample(engine: Engine, lhs: E, rhs: E, sample: Sample,
                            check: PointCheck) -> Counterexample:
    names = sorted(engine.used_symbols(lhs) | engine.used_symbols(rhs))
    point = sample.point
    undefined = "undefined"
    return Counterexample(
        dict(point.sizes), {n: readable(point.values[n], exact=True) for n in names},
        dict(check.index or {}),
        undefined if check.lhs is None else readable(check.lhs, exact=True),
        undefined if check.rhs is None else readable(check.rhs, exact=True),
        False, difference=check.difference, digits=check.digits)


def _with_doubtful(engine: Engine, out: Outcome, lhs: E, rhs: E, free: frozenset[str],
                   doubtful: list[Sample], reference: E | None) -> Outcome:
    """An undecided outcome, unless a doubtful point shows a difference in high precision."""
    if not doubtful:
        return out
    confirmed = judge(engine, lhs, rhs, doubtful)
    if confirmed.status in ("differ", "domain"):
        refuted = _precision_verdict(engine, lhs, rhs, free, confirmed, [], out.evidence,
                                     reference)
        if refuted is not None:
            return refuted
    return out


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
    """Would an exact check at instantiated sizes add to this outcome (it is checked, or
    awaits one)?"""
    wanted = outcome.verdict == Verdict.CHECKED or outcome.await_proof
    return wanted and outcome.lhs is not None and outcome.rhs is not None


def with_proof(outcome: Outcome, proof: Proof) -> Outcome:
    """A checked outcome with an exact check at instantiated sizes added to its evidence.

    An instantiated proof is evidence at those sizes, never a proof of the claim: the
    verdict stays ``checked`` (an outcome that awaited it, for a side of a kink the
    points never reached, becomes ``checked``: the proof splits every sign case).  A
    failed or timed-out attempt is noted in the evidence and changes nothing else, so
    the verdict never depends on the time limit.
    """
    ev = outcome.evidence
    if proof.proved:
        evidence = replace(ev, scope=Scope.AT_SIZES, exact=proof.description, reason="")
        return replace(outcome, verdict=Verdict.CHECKED, evidence=evidence, diagnoses=[],
                       await_proof=False)
    reason = f"no exact check at instantiated sizes: {proof.reason}"
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


def _sizes_text(sizes: dict[str, int]) -> str:
    return ", ".join(f"{d}={n}" for d, n in sizes.items())


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


