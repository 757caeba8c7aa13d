"""Stage 5: why a step fails: sign, factor, transpose, assumption, mask, term, components.

Every diagnosis is tested on all the points where the sides were compared, not
guessed from one: "sign error" means the claimed side equals minus the
reference at every point.  The reference side is the one holding a derivative
(the engine's truth), else the left side (the previous expression of a chain).
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np

from derivcheck import ir
from derivcheck.codes import Diagnosis, diagnosis
from derivcheck.compare import AGREE, DISAGREE, Options, Outcome, Sample, sample_both
from derivcheck.engine.core import Engine
from derivcheck.engine.numeric import EvalError, relative_error
from derivcheck.engine.simplify import expand_terms, signed_terms, simplify
from derivcheck.errors import ShapeError, Unsupported
from derivcheck.ir import E
from derivcheck.printer import to_text
from derivcheck.results import Verdict

MATCH = 1e-7  # relative error for "this explanation fits"


def diagnose(engine: Engine, outcome: Outcome, options: Options, rng: np.random.Generator,
             *, reference_is_rhs: bool = False) -> list[Diagnosis]:
    """Diagnoses for a refuted or ill-formed outcome (empty for the others)."""
    if outcome.lhs is None or outcome.rhs is None:
        return []
    ref, claim = (outcome.rhs, outcome.lhs) if reference_is_rhs else (outcome.lhs, outcome.rhs)
    if outcome.verdict == Verdict.ILL_FORMED and outcome.shapes:
        return _transposed_shape(engine, ref, claim, outcome, options, rng)
    if outcome.verdict != Verdict.REFUTED or not outcome.samples:
        return []
    samples = outcome.samples
    if reference_is_rhs:
        samples = [Sample(s.sizes, s.point, s.indices, s.rhs, s.lhs, s.errors) for s in samples]
    found: list[Diagnosis] = []
    for rule in (_sign, _scale, _transpose):
        d = rule(samples)
        if d:
            found.append(d)
            return found
    d = _needs_assumption(engine, ref, claim, outcome.free, options, rng)
    if d:
        return [d]
    d = _missing_mask(engine, ref, samples)
    if d:
        return [d]
    d = _terms(engine, ref, claim, samples)
    if d:
        return [d]
    d = _components(samples)
    if d:
        found.append(d)
    found.append(diagnosis("residual", residual=_residual_text(engine, ref, claim)))
    return found


def _all_fit(samples: list[Sample], transform) -> bool:
    """True if ``claim == transform(ref)`` at every compared point."""
    for s in samples:
        for ref, claim in zip(s.lhs, s.rhs):
            try:
                expected = transform(np.asarray(ref, dtype=float))
            except ValueError:
                return False
            if np.shape(expected) != np.shape(claim) and np.ndim(claim) and np.ndim(expected):
                return False
            if relative_error(claim, expected) > MATCH:
                return False
    return True


def _nonzero(samples: list[Sample]) -> bool:
    return any(np.max(np.abs(np.asarray(r, dtype=float)), initial=0.0) > 1e-9
               for s in samples for r in s.lhs)


def _sign(samples: list[Sample]) -> Diagnosis | None:
    if _nonzero(samples) and _all_fit(samples, lambda r: -r):
        return diagnosis("sign-error", where=": it is the negative of the reference side")
    return None


def _scale(samples: list[Sample]) -> Diagnosis | None:
    ratios: list[tuple[np.ndarray, dict[str, int]]] = []
    for s in samples:
        per = []
        for ref, claim in zip(s.lhs, s.rhs):
            try:
                ref, claim = np.broadcast_arrays(np.atleast_1d(np.asarray(ref, dtype=float)),
                                                 np.atleast_1d(np.asarray(claim, dtype=float)))
            except ValueError:
                return None
            big = float(np.max(np.abs(ref)))
            mask = np.abs(ref) > 1e-6 * (1 + big)
            # where the reference is (nearly) 0 the claim must be too, on its own scale
            if np.any(np.abs(claim[~mask]) > 1e-6 * (1 + float(np.max(np.abs(claim))))):
                return None
            per.append(claim[mask] / ref[mask])
        if per and sum(p.size for p in per):
            ratios.append((np.concatenate(per), s.sizes))
    if not ratios:
        return None
    flat = np.concatenate([r for r, _ in ratios])
    c = float(np.median(flat))
    if np.all(np.abs(flat - c) <= 1e-7 * max(1.0, abs(c))):
        if abs(c - 1) > 1e-6 and abs(c + 1) > 1e-6 and abs(c) > 1e-9:
            return diagnosis("scale-factor", factor=_fraction(c))
        return None
    return _size_factor(ratios)


def _size_factor(ratios: list[tuple[np.ndarray, dict[str, int]]]) -> Diagnosis | None:
    """A factor that depends on a dimension, such as a missing 1/N."""
    per_size: list[tuple[float, dict[str, int]]] = []
    for r, sizes in ratios:
        c = float(np.median(r))
        if not np.all(np.abs(r - c) <= 1e-7 * max(1.0, abs(c))):
            return None
        per_size.append((c, sizes))
    dims = per_size[0][1].keys()
    for d in dims:
        for power, label in ((1, d), (-1, f"1/{d}")):
            scaled = {round(c / (sizes[d] ** power), 9) for c, sizes in per_size}
            if len(scaled) == 1:
                k = scaled.pop()
                if abs(k) > 1e-12:
                    text = label if abs(k - 1) < 1e-9 else f"{_fraction(k)} * {label}"
                    return diagnosis("scale-factor", factor=text)
    return None


def _fraction(c: float) -> str:
    frac = Fraction(c).limit_denominator(1000)
    if abs(float(frac) - c) <= 1e-9 * max(1.0, abs(c)):
        return str(frac)
    return f"{c:.6g}"


def _transpose(samples: list[Sample]) -> Diagnosis | None:
    square = all(np.ndim(r) == 2 and np.shape(r)[0] == np.shape(r)[1] and np.shape(r)[0] > 1
                 for s in samples for r in s.lhs)
    if not square:
        return None
    if _all_fit(samples, lambda r: r.T):
        return diagnosis("transpose")
    return None


def _transposed_shape(engine: Engine, ref: E, claim: E, outcome: Outcome, options: Options,
                      rng: np.random.Generator) -> list[Diagnosis]:
    sl, sr = outcome.shapes
    if not (len(sl) == 2 and len(sr) == 2 and (sl[1], sl[0]) == sr):
        return []
    flipped = ir.transpose(claim)
    try:
        samples, _ = sample_both(engine, ref, flipped, outcome.free,
                                 Options(options.seed, 2, 3, False), rng,
                                 stop_at_disagreement=True)
    except (EvalError, ShapeError, Unsupported):
        return []
    if samples and max(e for s in samples for e in s.errors) <= AGREE:
        return [diagnosis("transpose")]
    return []


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


def _needs_assumption(engine: Engine, ref: E, claim: E, free: frozenset[str], options: Options,
                      rng: np.random.Generator) -> Diagnosis | None:
    names = sorted(engine.used_symbols(ref) | engine.used_symbols(claim))
    quick = Options(options.seed, max(options.settings, 3), 3, False)
    for tag, tags, condition, fix in _STRONGER:
        for name in names:
            sym = engine.symbols[name]
            if tag in sym.constraints or not _applies(tag, sym.shape):
                continue
            if sym.constraints - tags - {"binary"} and tag != "positive":
                continue
            try:
                samples, _ = sample_both(engine, ref, claim, free, quick, rng,
                                         constraints={name: sym.constraints | tags},
                                         stop_at_disagreement=True)
            except (EvalError, ShapeError, Unsupported):
                continue
            if len(samples) >= quick.points * quick.settings and \
                    max(e for s in samples for e in s.errors) <= AGREE:
                return diagnosis("needs-assumption", condition=condition.format(n=name),
                                 fix=fix.format(n=name))
    return None


def _applies(tag: str, shape: tuple) -> bool:
    if tag in ("prob", "onehot", "sum1"):
        return len(shape) == 2 and shape[1] == 1
    if tag == "symmetric":
        return len(shape) == 2 and shape[0] == shape[1]
    return True


def _values(engine: Engine, node: E, samples: list[Sample], *, no_relu_mask: bool = False
            ) -> list[list[np.ndarray]] | None:
    out = []
    try:
        for s in samples:
            ev = engine.evaluator(s.point, no_relu_mask=no_relu_mask)
            out.append([ev.value(node, idx) for idx in s.indices])
    except (EvalError, KeyError):
        return None
    return out


def _fits(claimed: list[list[np.ndarray]], samples: list[Sample],
          values: list[list[np.ndarray]] | None) -> bool:
    if values is None:
        return False
    for per_claim, per_value in zip(claimed, values):
        for c, v in zip(per_claim, per_value):
            if np.shape(c) != np.shape(v) and np.ndim(c) and np.ndim(v):
                return False
            if relative_error(c, v) > MATCH:
                return False
    return True


def _missing_mask(engine: Engine, ref: E, samples: list[Sample]) -> Diagnosis | None:
    masks = [n for n in ref.walk() if n.op == "fn" and n.val == "relu_prime"]
    if not masks:
        masks = [n for n in _expanded_refs(engine, ref) if n.op == "fn" and n.val == "relu_prime"]
    if not masks:
        return None
    unmasked = _values(engine, ref, samples, no_relu_mask=True)
    claimed = [s.rhs for s in samples]
    if _fits(claimed, samples, unmasked):
        return diagnosis("missing-relu-mask", mask=to_text(masks[0]))
    return None


def _expanded_refs(engine: Engine, node: E) -> list[E]:
    out: list[E] = []
    for name in sorted(ir.refs(node)):
        out.extend(engine.definitions[name].walk())
    return out


def _signed(sign: int, node: E) -> E:
    return node if sign > 0 else ir.neg(node)


def _dropping_one(terms: list[tuple[int, E]]):  # type: ignore[no-untyped-def]
    """For each term: (the term with its sign, the sum of all the other terms)."""
    for k, (sign, term) in enumerate(terms):
        rest = [_signed(s, t) for j, (s, t) in enumerate(terms) if j != k]
        total = rest[0]
        for t in rest[1:]:
            total = ir.add(total, t)
        yield _signed(sign, term), total


def _terms(engine: Engine, ref: E, claim: E, samples: list[Sample]) -> Diagnosis | None:
    """A single term of the reference missing from the claim, or one the claim adds."""
    claimed = [s.rhs for s in samples]
    simple = simplify(ref, engine)
    splits = [signed_terms(simple)]
    expanded = expand_terms(simple, engine)
    if len(expanded) > len(splits[0]):
        splits.append(expanded)
    for ref_terms in splits:
        if len(ref_terms) < 2:
            continue
        for term, others in _dropping_one(ref_terms):
            if _fits(claimed, samples, _values(engine, others, samples)):
                return diagnosis("missing-term", term=to_text(term))
        for term, others in _dropping_one(ref_terms):  # one term with its sign flipped
            if _fits(claimed, samples, _values(engine, ir.sub(others, term), samples)):
                return diagnosis("sign-error", where=f" in one term: `{to_text(term)}`")
    claim_terms = signed_terms(claim)
    if len(claim_terms) >= 2:
        refs = [s.lhs for s in samples]
        for term, others in _dropping_one(claim_terms):
            if _fits(refs, samples, _values(engine, others, samples)):
                return diagnosis("extra-term", term=to_text(term))
    return None


def _components(samples: list[Sample]) -> Diagnosis | None:
    """Which index values (free indices) or entries differ, at the worst point."""
    s = max(samples, key=lambda x: max(x.errors))
    if len(s.indices) > 1:
        bad = [idx for idx, e in zip(s.indices, s.errors) if e >= DISAGREE]
        good = [idx for idx, e in zip(s.indices, s.errors) if e <= AGREE]
        if good and bad:
            return diagnosis("wrong-components",
                             detail=f"holds for {_fmt_idx(good)}, fails for {_fmt_idx(bad)} "
                                    f"(sizes {_fmt_sizes(s.sizes)})")
        return None
    ref = np.asarray(s.lhs[0], dtype=float)
    claim = np.asarray(s.rhs[0], dtype=float)
    if ref.ndim == 0 or ref.shape != claim.shape:
        return None
    scale = 1.0 + max(np.max(np.abs(ref)), np.max(np.abs(claim)))
    diff = np.abs(ref - claim) / scale
    entries = [tuple(int(x) for x in p) for p in np.argwhere(diff >= DISAGREE)]
    if 0 < len(entries) < diff.size:
        shown = ", ".join(str(p[0] if ref.shape[1] == 1 else p) for p in entries[:8])
        more = "" if len(entries) <= 8 else f" and {len(entries) - 8} more"
        return diagnosis("wrong-components",
                         detail=f"entries {shown}{more} of {diff.size} differ, the others agree "
                                f"(sizes {_fmt_sizes(s.sizes)})")
    return None


def _fmt_idx(items: list[dict[str, int]]) -> str:
    shown = ["(" + ", ".join(f"{k}={v}" for k, v in sorted(d.items())) + ")" for d in items[:4]]
    return " ".join(shown) + (f" and {len(items) - 4} more" if len(items) > 4 else "")


def _fmt_sizes(sizes: dict[str, int]) -> str:
    return ", ".join(f"{k}={v}" for k, v in sizes.items())


def _residual_text(engine: Engine, ref: E, claim: E) -> str:
    try:
        text = to_text(simplify(ir.sub(claim, ref), engine))
    except (Unsupported, ShapeError, RecursionError):
        text = to_text(ir.sub(claim, ref))
    return f"`{text}` (claimed minus reference)"
