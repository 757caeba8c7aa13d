"""Stage 5: why a step fails: sign, factor, transpose, assumption, mask, term, edit.

Every diagnosis is tested on all the points where the sides were compared, not
guessed from one: "sign error" means the claimed side equals minus the
reference at every point; "`A.T` in place of `A`" means the claim with that edit
equals the reference at every point.  The reference side is the one holding a
derivative (the engine's truth), else the left side (the previous expression of
a chain).  Diagnoses explain a verdict; they never change it.

The rules are tried from the most specific to the least, and the first that
fits is the diagnosis: the whole side (``whole``: sign, factor, a dimension for
another, transpose, minus the transpose), one transposed factor, an assumption (an
index swap first when symmetry would also explain it), a ReLU mask, a log base
(``assume``, ``edits``), an activation's derivative missing, extra or in place of
another factor (``factors``), a
sum left out, or run over part of its range (``edits``),
terms (``terms``, with a dimension missing from one term), a factor that varies with
the point, which components differ, then one edit of a product's order, a symbol or
an index (``edits``), then a wrong sign or a transposed factor together with one of
the single repairs, or a sign and a dimension's power in one term (two mistakes,
both named); ``residual`` if nothing fits.
"""

from __future__ import annotations

import numpy as np

from derivcheck import ir
from derivcheck.codes import Diagnosis, diagnosis
from derivcheck.decide import Options, Outcome, Sample
from derivcheck.diagnose import edits, factors, whole
from derivcheck.diagnose.assume import missing_mask, needs_assumption
from derivcheck.diagnose.probe import MATCH, Probe, well_conditioned
from derivcheck.diagnose.terms import sign_and_size_factor, terms
from derivcheck.engine.budget import StepTimeout
from derivcheck.engine.core import Engine
from derivcheck.ir import E
from derivcheck.printer import to_text_bounded
from derivcheck.results import Verdict

__all__ = ["MATCH", "diagnose"]


def diagnose(engine: Engine, outcome: Outcome, options: Options, rng: np.random.Generator,
             *, reference_is_rhs: bool = False) -> list[Diagnosis]:
    """Diagnoses for a refuted or ill-formed outcome (empty for the others)."""
    if outcome.lhs is None or outcome.rhs is None:
        return []
    ref, claim = (outcome.rhs, outcome.lhs) if reference_is_rhs else (outcome.lhs, outcome.rhs)
    if outcome.verdict == Verdict.ILL_FORMED:
        try:
            return _ill_formed(engine, ref, claim, outcome, options, rng)
        except StepTimeout:
            raise
        except Exception:  # as below: the verdict stands, without the explanation
            return []
    if outcome.verdict != Verdict.REFUTED or not outcome.samples:
        return []
    samples = outcome.samples
    if reference_is_rhs:
        samples = [Sample(s.sizes, s.point, s.indices, s.rhs, s.lhs, s.errors) for s in samples]
    try:
        probe = Probe(engine, well_conditioned(engine, ref, claim, samples))
        return _explain(engine, probe, ref, claim, outcome, options, rng)
    except StepTimeout:
        raise
    except Exception:  # a bug in a rule must not turn a refuted step into an undecided one
        return [diagnosis("residual", residual=f"`{to_text_bounded(ir.sub(claim, ref))}` "
                                               "(claimed minus reference)")]


def _explain(engine: Engine, probe: Probe, ref: E, claim: E, outcome: Outcome,
             options: Options, rng: np.random.Generator) -> list[Diagnosis]:
    """The rules in order (see the module docstring); the first that fits wins."""
    samples = probe.samples
    d = whole.sign(samples) or whole.scale(samples, probe, ref, claim, varying=False) or \
        whole.transpose(samples)
    if d:
        return [d]
    both = whole.sign_and_transpose(samples)
    if both:
        return both
    d = edits.transposed_factor(probe, claim)
    if d:
        # Often the same fact seen another way: "A.T for A", or "holds if A is symmetric".
        also = needs_assumption(engine, ref, claim, outcome.free, options, rng, samples)
        return [d, also] if also else [d]
    d = needs_assumption(engine, ref, claim, outcome.free, options, rng, samples)
    if d and dict(d.args)["condition"].endswith("is symmetric"):
        # V[k, j] for V[j, k]: the mistake is the index; symmetry is the alternative
        index = edits.wrong_index(probe, claim)
        if index:
            return [index, d]
    d = d or missing_mask(probe, ref) or edits.relu_input(probe, ref) or \
        edits.log_base(probe, claim) or factors.factor(probe, ref, claim) or \
        edits.missing_sum(probe, ref, claim) or edits.partial_sum(probe, ref, claim) or \
        edits.diagonal_only(probe, ref, claim) or terms(probe, ref, claim) or \
        whole.scale(samples, probe, ref, claim, varying=True)
    if d:
        return [d]
    found = []
    d = whole.components(samples)
    if d:
        found.append(d)
    d = _edit(probe, ref, claim)
    if d:  # the edit explains the step; which components differ is what it shows
        return [d, *found]
    both = _with_sign(engine, probe, ref, claim) or \
        edits.transposed_and_edit(probe, ref, claim) or sign_and_size_factor(probe, claim)
    if both:
        return both
    found.append(diagnosis("residual", residual=whole.residual_text(probe, ref, claim)))
    return found


def _with_sign(engine: Engine, probe: Probe, ref: E, claim: E) -> list[Diagnosis]:
    """Two mistakes, one of them the sign: the negated claim is explained by one of the
    single repairs (a transposed factor, a mask, an activation factor, a term, an edit).
    Both are named; an edit's corrected claim is the negated one, so it holds as shown."""
    if all(not np.any(np.asarray(v, dtype=float)) for s in probe.samples for v in s.lhs):
        return []  # a reference that is 0 everywhere has no sign to get wrong
    negated = ir.neg(claim)
    flipped = Probe(engine, [Sample(s.sizes, s.point, s.indices, s.lhs,
                                    [-np.asarray(v, dtype=float) for v in s.rhs], s.errors)
                             for s in probe.samples])
    d = edits.transposed_factor(flipped, negated) or missing_mask(flipped, ref) or \
        factors.factor(flipped, ref, negated) or terms(flipped, ref, negated) or \
        _edit(flipped, ref, negated)
    if d is None:
        return []
    return [diagnosis("sign-error", where=f", and there is a second mistake ({d.code}, "
                      "below), explained on the negated claim"), d]


def _edit(probe: Probe, ref: E, claim: E) -> Diagnosis | None:
    return edits.wrong_order(probe, claim) or edits.wrong_symbol(probe, ref, claim) or \
        edits.wrong_index(probe, claim)


def _ill_formed(engine: Engine, ref: E, claim: E, outcome: Outcome, options: Options,
                rng: np.random.Generator) -> list[Diagnosis]:
    """A claim whose shapes do not fit: the whole claim transposed, or one factor of it,
    or an activation's derivative of another layer."""
    sl, sr = outcome.shapes or ((), ())
    if len(sl) == 2 and len(sr) == 2 and (sl[1], sl[0]) == sr:
        d = edits.transposed_whole(engine, ref, claim, outcome.free, options, rng)
        if d:
            return [d]
    d = edits.transposed_factor_shapes(engine, ref, claim, outcome.free, options, rng) or \
        factors.wrong_factor_shapes(engine, ref, claim, outcome.free, options, rng)
    return [d] if d else []
