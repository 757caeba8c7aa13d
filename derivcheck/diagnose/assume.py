"""Rules that change how the reference is evaluated: an undeclared assumption, no ReLU mask.

``needs-assumption`` samples again, with a symbol drawn under a stronger
constraint; ``missing-relu-mask`` evaluates the reference with every mask set to 1.
"""

from __future__ import annotations

import numpy as np

from derivcheck import ir
from derivcheck.codes import Diagnosis, diagnosis
from derivcheck.decide import AGREE, Options, Sample, sample_both
from derivcheck.diagnose.probe import Probe, close
from derivcheck.engine.core import Engine
from derivcheck.engine.numeric import EvalError
from derivcheck.errors import ShapeError, Unsupported
from derivcheck.ir import E
from derivcheck.printer import to_text_bounded

# Candidate assumptions, weakest first: the diagnosis names the first that suffices.
_STRONGER = (
    ("positive", frozenset({"positive"}), "{n} > 0",
     "declare {n} with a positive kind (posscalar, posvector), or add is_positive({n}) to "
     "assume"),
    ("sum1", frozenset({"sum1"}), "sum({n}) = 1",
     "declare {n} as 'prob' or 'onehot', or add is_prob({n}) to assume"),
    ("prob", frozenset({"prob", "positive"}), "{n} is a probability vector (positive, sum 1)",
     "declare {n} as 'prob', or add is_prob({n}) to assume"),
    ("onehot", frozenset({"onehot", "binary", "prob", "positive"}), "{n} is one-hot",
     "declare {n} as 'onehot', or add is_onehot({n}) to assume"),
    ("symmetric", frozenset({"symmetric"}), "{n} is symmetric",
     "declare {n} as 'symmatrix', or add is_symmetric({n}) to assume"),
)


def _holds_widely(engine: Engine, ref: E, claim: E, free: frozenset[str], options: Options,
                  rng: np.random.Generator, constraints: dict[str, frozenset[str]]) -> bool:
    """The sides agree under the condition at points of every magnitude the sampler draws
    (``SCALES``, up to 16: ten points a setting), not only at the quick check's three.
    Drawn under a condition, a point cannot be moved along a ray to reach a far kink
    (``relu(z - 10) = 0`` agrees at small z with sum(z) = 1, and fails at z = [11, -10])."""
    wide = Options(options.seed, max(options.settings, 3), 10, False)
    try:
        samples, _ = sample_both(engine, ref, claim, free, wide, rng, constraints=constraints,
                                 stop_at_disagreement=True)
    except (EvalError, ShapeError, Unsupported):
        return False
    return len(samples) >= wide.points * wide.settings and \
        max(e for s in samples for e in s.errors) <= AGREE


def needs_assumption(engine: Engine, ref: E, claim: E, free: frozenset[str], options: Options,
                     rng: np.random.Generator,
                     compared: list[Sample] | None = None) -> Diagnosis | None:
    """The weakest condition on one symbol under which the sides agree at new points,
    and at every compared point (``compared``: the step's own) where it already held:
    "holds when u > 0" is never said of a claim refuted at a point with u > 0."""
    names = sorted(engine.used_symbols(ref) | engine.used_symbols(claim))
    quick = Options(options.seed, max(options.settings, 3), 3, False)
    for tag, tags, condition, fix in _STRONGER:
        for name in names:
            sym = engine.symbols[name]
            if tag in sym.constraints or not _applies(tag, sym.shape):
                continue
            base, drawn = sym.constraints, tags
            # a multi-hot vector whose entries sum to 1 is one-hot
            multihot = "multihot" in base and tag in ("sum1", "onehot")
            if multihot:
                base, drawn = base - {"multihot"}, _STRONGER[3][1]  # drawn one-hot
            if base - drawn - {"binary"} and tag != "positive":
                continue
            try:
                samples, _ = sample_both(engine, ref, claim, free, quick, rng,
                                         constraints={name: base | drawn},
                                         stop_at_disagreement=True)
            except (EvalError, ShapeError, Unsupported):
                continue
            if len(samples) >= quick.points * quick.settings and \
                    max(e for s in samples for e in s.errors) <= AGREE and \
                    not _refuted_where_it_holds(compared or [], name, tag) and \
                    not _refuted_at_its_sizes(engine, ref, claim, compared or [], name,
                                              base | drawn, rng) and \
                    _holds_widely(engine, ref, claim, free, options, rng, {name: base | drawn}):
                if multihot:
                    return diagnosis(
                        "needs-assumption", condition=f"{name} is one-hot (sum({name}) = 1)",
                        fix=f"{name} is declared multi-hot, and the step holds only for a "
                            f"one-hot {name}: declare it 'onehot' if it is one, else keep the "
                            f"factor sum({name})")
                return diagnosis("needs-assumption", condition=condition.format(n=name),
                                 fix=fix.format(n=name))
    return None


def _holds_at(value: np.ndarray, tag: str) -> bool:
    """Does a drawn value satisfy the condition ``tag`` (to rounding)?"""
    v = np.asarray(value, dtype=float)
    total_one = abs(float(np.sum(v)) - 1) <= 1e-9
    if tag == "positive":
        return bool(np.all(v > 0))
    if tag == "sum1":
        return total_one
    if tag == "prob":
        return total_one and bool(np.all(v > 0))
    if tag == "onehot":
        return total_one and bool(np.all((v == 0) | (v == 1)))
    if tag == "symmetric":
        return v.ndim == 2 and v.shape[0] == v.shape[1] and bool(np.allclose(v, v.T))
    return False


def _refuted_where_it_holds(compared: list[Sample], name: str, tag: str) -> bool:
    """Some compared point satisfies the condition and the sides differ there."""
    for s in compared:
        value = s.point.values.get(name)
        if value is not None and _holds_at(value, tag) and \
                max(s.errors, default=0.0) > AGREE:
            return True
    return False


AT_ITS_SIZES = 4  # the step's own refuting points where a condition is tried
DRAWS_AT_ITS_SIZES = 3  # values drawn under the condition at each


def _refuted_at_its_sizes(engine: Engine, ref: E, claim: E, compared: list[Sample],
                          name: str, constraints: frozenset[str],
                          rng: np.random.Generator) -> bool:
    """The sides differ at one of the step's own refuting points with ``name`` drawn
    again under the condition (the other symbols, the sizes, the indices kept): the
    new points of ``sample_both`` are at sizes of its own, and a claim failing at the
    step's K = 9, D = 5 whatever ``v`` is (a polynomial in K - D, zero at the others)
    was said to hold when v > 0."""
    from derivcheck.decide.sampling import draw
    from derivcheck.engine.numeric import Point

    sym = engine.symbols[name]
    refuting = [c for c in compared if max(c.errors, default=0.0) > AGREE][:AT_ITS_SIZES]
    for c in refuting:
        for _ in range(DRAWS_AT_ITS_SIZES):
            values = dict(c.point.values)
            try:
                values[name] = draw(sym, c.sizes, rng, constraints=constraints)
                ev = engine.evaluator(Point(dict(c.point.sizes), values))
                a, b = ev.values(ref, c.indices), ev.values(claim, c.indices)
            except (EvalError, ShapeError, Unsupported, KeyError, ValueError):
                continue
            if not all(np.all(np.isfinite(np.asarray(x, dtype=float))) for x in (*a, *b)):
                continue
            if not all(close(x, y, strict=False) for x, y in zip(a, b)):
                return True
    return False


def _applies(tag: str, shape: tuple) -> bool:
    if tag in ("prob", "onehot", "sum1"):
        return len(shape) == 2 and shape[1] == 1
    if tag == "symmetric":
        return len(shape) == 2 and shape[0] == shape[1]
    return True


def missing_mask(probe: Probe, ref: E) -> Diagnosis | None:
    """The claim equals the reference evaluated with every ReLU mask set to 1."""
    engine = probe.engine
    masks = [n for n in ref.walk() if n.op == "fn" and n.val == "relu_prime"]
    if not masks:
        masks = [n for n in _expanded_refs(engine, ref) if n.op == "fn" and n.val == "relu_prime"]
    if not masks:
        return None
    try:
        for s in probe.samples:
            ev = engine.evaluator(s.point, no_relu_mask=True)
            values = ev.values(ref, s.indices)
            if not all(close(c, v, strict=False) for c, v in zip(s.rhs, values)):
                return None
    except (EvalError, KeyError, ValueError):
        return None
    return diagnosis("missing-relu-mask", mask=to_text_bounded(masks[0]))


def _expanded_refs(engine: Engine, node: E) -> list[E]:
    out: list[E] = []
    for name in sorted(ir.refs(node)):
        out.extend(engine.definitions[name].walk())
    return out
