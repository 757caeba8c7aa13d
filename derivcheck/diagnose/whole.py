"""Rules about the two sides as wholes: sign, factor, transpose, which components differ.

These need only the values already computed at the compared points (no new
evaluation), except the factor that varies with the point, which is named by
evaluating candidate scalars.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from derivcheck import ir
from derivcheck.codes import Diagnosis, diagnosis
from derivcheck.decide import AGREE, DISAGREE, Sample
from derivcheck.diagnose.probe import Probe, close, fraction_text
from derivcheck.display import readable
from derivcheck.ir import E
from derivcheck.printer import to_text_bounded


def all_fit(samples: list[Sample], transform: Callable[[np.ndarray], np.ndarray]) -> bool:
    """True if ``claim == transform(ref)`` at every compared point."""
    for s in samples:
        for ref, claim in zip(s.lhs, s.rhs):
            try:
                expected = transform(np.asarray(ref, dtype=float))
            except ValueError:
                return False
            if not close(claim, expected, strict=False):
                return False
    return True


def _nonzero(samples: list[Sample]) -> bool:
    return any(np.max(np.abs(np.asarray(r, dtype=float)), initial=0.0) > 1e-9
               for s in samples for r in s.lhs)


def sign(samples: list[Sample]) -> Diagnosis | None:
    if _nonzero(samples) and all_fit(samples, lambda r: -r):
        return diagnosis("sign-error", where=": it is the negative of the reference side")
    return None


def _flat(values: list[np.ndarray]) -> np.ndarray:
    return np.concatenate([np.atleast_1d(np.asarray(v, dtype=float)).ravel() for v in values])


def _point_ratios(samples: list[Sample]) -> list[float] | None:
    """For each point, the c that best gives ``claim = c * reference`` (least squares).

    NaN at a point where both sides are zero (any c fits there); None if the
    reference alone is zero at some point, or the shapes differ, or c is determined at
    fewer than three points (fewer than all, with fewer points).
    """
    out = []
    for s in samples:
        if any(np.shape(r) != np.shape(c) for r, c in zip(s.lhs, s.rhs)):
            return None
        ref, claim = _flat(s.lhs), _flat(s.rhs)
        with np.errstate(all="ignore"):
            norm, dot = float(ref @ ref), float(ref @ claim)
        if not (np.isfinite(norm) and np.isfinite(dot)):
            return None
        if norm <= 1e-18:
            if not close(claim, 0 * claim):
                return None
            out.append(float("nan"))
            continue
        out.append(dot / norm)
    # the factor must be seen: at one point any c fits (a claim wrong only in a far
    # tail, both sides 0 elsewhere, is not "c times" the reference)
    seen = {_point_key(s) for s, r in zip(samples, out) if not np.isnan(r)}
    if len(seen) < min(3, len({_point_key(s) for s in samples})):
        return None
    return out


def _point_key(sample: Sample) -> tuple:
    """A point by its sizes and values (settings without dimensions repeat points)."""
    values = sample.point.values
    return (tuple(sorted(sample.sizes.items())),
            tuple((n, np.asarray(values[n], dtype=float).tobytes()) for n in sorted(values)))


def scale(samples: list[Sample], probe: Probe, ref: E, claim: E, *,
          varying: bool) -> Diagnosis | None:
    """``claim = c * ref``: c a constant, a power of a dimension, or (``varying``) a
    scalar that changes from point to point but not across entries or index values."""
    ratios = _point_ratios(samples)
    if ratios is None:
        return None
    values = [([np.asarray(r, dtype=float) for r in s.lhs],
               [np.asarray(c, dtype=float) for c in s.rhs]) for s in samples]

    def fits(factors: list[float]) -> bool:
        """``claim = c * ref`` at every point, for every setting of the free indices."""
        return all(np.isnan(c) or all(close(cv, c * rv) for rv, cv in zip(*v))
                   for c, v in zip(factors, values))

    c = float(np.nanmedian(ratios))
    if fits([c] * len(samples)):
        if abs(c - 1) > 1e-6 and abs(c + 1) > 1e-6 and abs(c) > 1e-9:
            return _log_base(c) or _factor(fraction_text(c))
        return None
    found = _size_factor(ratios, samples, fits) or _dimension_pair(samples, claim, fits)
    if found or not varying:
        return found
    return _varying_factor(ratios, samples, probe, ref, claim, fits)


def _size_factor(ratios: list[float], samples: list[Sample],
                 fits: Callable[[list[float]], bool]) -> Diagnosis | None:
    """A factor that depends on a dimension, such as a missing 1/N."""
    for d in samples[0].sizes:
        for power, label in ((1, d), (-1, f"1/{d}"), (0.5, f"sqrt({d})"),
                             (-0.5, f"1/sqrt({d})")):
            k = float(np.nanmedian([c / s.sizes[d] ** power for c, s in zip(ratios, samples)]))
            if abs(k) > 1e-12 and fits([k * s.sizes[d] ** power for s in samples]):
                text = label if abs(k - 1) < 1e-9 else f"{fraction_text(k)} * {label}"
                return _factor(text)
    return None


def _dimension_pair(samples: list[Sample], claim: E,
                    fits: Callable[[list[float]], bool]) -> Diagnosis | None:
    """``claim = (a / b) ** p * ref`` for two dimensions a, b (p = 1 or 1/2): one
    dimension written for another (``1/N`` for ``1/D``, ``sqrt(S)`` for ``sqrt(E)``).
    The sizes of a setting are pairwise different, so a ratio of sizes cannot be 1."""
    if len(samples) < 2:
        return None
    dims = sorted(samples[0].sizes)
    written = {str(n.val) for n in claim.walk() if n.op == "dim"}
    for a in dims:
        for b in dims:
            if a == b:
                continue
            for power, shown in ((1.0, "{}"), (0.5, "sqrt({})")):
                if not fits([(s.sizes[a] / s.sizes[b]) ** power for s in samples]):
                    continue
                ratio = f"{a}/{b}" if power == 1 else f"sqrt({a}/{b})"
                if (b in written) != (a in written):
                    wrong, right = (b, a) if b in written else (a, b)
                    detail = (f"the claim has `{shown.format(wrong)}` where "
                              f"`{shown.format(right)}` fits (the claimed side is {ratio} "
                              "times the reference side)")
                else:
                    detail = (f"the claimed side is {ratio} times the reference side: one of "
                              f"{a} and {b} is written for the other")
                return diagnosis("wrong-dimension", detail=detail)
    return None


def _varying_factor(ratios: list[float], samples: list[Sample], probe: Probe, ref: E,
                    claim: E, fits: Callable[[list[float]], bool]) -> Diagnosis | None:
    """``claim = c * ref`` with a scalar c that varies with the point, named if it is a
    scalar of the expressions (or its reciprocal).

    Meaningful only where each point has several entries that are not zero (with
    one entry, any two values are proportional): at a third of them at least.
    """
    if any(np.isnan(ratios)):
        return None
    informative = 0
    for s in samples:
        ref_values = _flat(s.lhs)
        big = float(np.max(np.abs(ref_values)))
        informative += int(big > 1e-6 and np.count_nonzero(np.abs(ref_values) > 1e-3 * big) >= 2)
    if informative < max(3, len(samples) // 3):
        return None
    if not fits(ratios):
        return None
    for cand in _scalar_candidates(probe, ref, claim):
        values = probe.values(cand)
        if values is None:
            continue
        v = np.asarray([float(np.asarray(per[0], dtype=float).reshape(-1)[0]) for per in values])
        with np.errstate(all="ignore"):
            guesses = ((to_text_bounded(cand), v), (f"-{_paren(cand)}", -v),
                       (f"1 / {_paren(cand)}", 1 / v), (f"-1 / {_paren(cand)}", -1 / v))
        for text, guess in guesses:
            if np.all(np.isfinite(guess)) and fits(list(guess)):
                return _factor(f"`{text}`")
    return _factor(f"a scalar that varies with the point ({fraction_text(ratios[0])} at "
                   f"one point, {fraction_text(ratios[-1])} at another)")


# the ratios of logarithms in two bases (log10(x) = log(x) / ln 10), and their names
_LOG_RATIOS = ((float(np.log(10)), "ln 10"), (float(np.log(2)), "ln 2"),
               (float(np.log2(10)), "log2(10)"))


def _log_base(c: float) -> Diagnosis | None:
    """A constant factor ln 10, ln 2 or log2(10) (or its reciprocal) is a log in another
    base."""
    for ratio, name in _LOG_RATIOS:
        for value, text in ((ratio, name), (1 / ratio, f"1 / {name}")):
            if abs(abs(c) - value) <= 1e-9 * value:
                sign = "-" if c < 0 else ""
                return diagnosis("log-base", detail=f"the claimed side is {sign}{text} "
                                 f"({fraction_text(c)}) times the reference side, the ratio "
                                 "of logarithms in two bases (log, log2, log10): a logarithm "
                                 "in the claim or its derivative is in the wrong base")
    return None


def _factor(text: str) -> Diagnosis:
    return diagnosis("scale-factor", what="the claimed side", factor=text,
                     than="the reference side")


def _paren(node: E) -> str:
    text = to_text_bounded(node)
    return text if node.op in ("sym", "ref", "fn", "sum", "dim", "elem") else f"({text})"


def _scalar_candidates(probe: Probe, ref: E, claim: E) -> list[E]:
    """Scalar sub-expressions of both sides and of the definitions they use, without
    free indices; for each softmax, its normaliser ``sum(exp(.))``."""
    engine = probe.engine
    roots = [claim, ref]
    seen_refs: set[str] = set()
    k = 0
    while k < len(roots):
        for node in roots[k].walk():
            if node.op == "ref" and node.val not in seen_refs:
                seen_refs.add(str(node.val))
                roots.append(engine.definitions[str(node.val)])
        k += 1
    out: list[E] = []
    for root in roots:
        for node in root.walk():
            cands = [node]
            if node.op == "fn" and node.val == "softmax":
                cands.append(ir.total(ir.fn("exp", node.args[0])))
            for c in cands:
                if c.op in ("num", "idx", "int") or c in out or engine.free_indices(c):
                    continue
                if probe.shape(c) == ():
                    out.append(c)
    return out[:40]


def transpose(samples: list[Sample]) -> Diagnosis | None:
    square = all(np.ndim(r) == 2 and np.shape(r)[0] == np.shape(r)[1] and np.shape(r)[0] > 1
                 for s in samples for r in s.lhs)
    if square and all_fit(samples, lambda r: r.T):
        return diagnosis("transpose", detail="the claimed side is the transpose of the "
                                             "reference side")
    return None


def sign_and_transpose(samples: list[Sample]) -> list[Diagnosis]:
    """Two mistakes at once: the claimed side is minus the transpose of the reference."""
    square = all(np.ndim(r) == 2 and np.shape(r)[0] == np.shape(r)[1] and np.shape(r)[0] > 1
                 for s in samples for r in s.lhs)
    if square and _nonzero(samples) and all_fit(samples, lambda r: -r.T):
        return [diagnosis("sign-error", where=": the claimed side is minus the transpose of "
                                              "the reference side"),
                diagnosis("transpose", detail="the claimed side is also transposed")]
    return []


def components(samples: list[Sample]) -> Diagnosis | None:
    """Which index values (free indices) or entries differ, shown at the worst point.

    Only if some agree and some differ at most points: at a point where the values
    are tiny (a saturated softmax) entries agree by accident, not by structure.
    """
    mixed = [s for s in samples if _mixed(s)]
    if 2 * len(mixed) <= len(samples):
        return None
    # shown where the fewest agree (the fewest accidental agreements), then the worst
    s = min(mixed, key=lambda x: (_agreeing(x), -max(x.errors)))
    if len(s.indices) > 1:
        bad = [idx for idx, e in zip(s.indices, s.errors) if e >= DISAGREE]
        good = [idx for idx, e in zip(s.indices, s.errors) if e <= AGREE]
        return diagnosis("wrong-components",
                         detail=f"holds for {_fmt_idx(good)}, fails for {_fmt_idx(bad)} "
                                f"(sizes {_fmt_sizes(s.sizes)})")
    ref = np.asarray(s.lhs[0], dtype=float)
    entries = [tuple(int(x) for x in p) for p in np.argwhere(_entry_errors(s) >= DISAGREE)]
    shown = ", ".join(str(p[0] if ref.shape[1] == 1 else p) for p in entries[:8])
    more = "" if len(entries) <= 8 else f" and {len(entries) - 8} more"
    which = "entry" if len(entries) == 1 else "entries"
    return diagnosis("wrong-components",
                     detail=f"{len(entries)} of the {ref.size} entries differ ({which} "
                            f"{shown}{more}, counting from 0) and the others agree, at a "
                            f"point with sizes {_fmt_sizes(s.sizes)}")


def _entry_errors(s: Sample) -> np.ndarray:
    ref = np.asarray(s.lhs[0], dtype=float)
    claim = np.asarray(s.rhs[0], dtype=float)
    scale_ = 1.0 + max(np.max(np.abs(ref)), np.max(np.abs(claim)))
    return np.abs(ref - claim) / scale_


def _agreeing(s: Sample) -> int:
    if len(s.indices) > 1:
        return sum(1 for e in s.errors if e <= AGREE)
    return int(np.count_nonzero(_entry_errors(s) < DISAGREE))


def _mixed(s: Sample) -> bool:
    """At this point, some index settings (or entries) agree and others differ."""
    if len(s.indices) > 1:
        return any(e >= DISAGREE for e in s.errors) and any(e <= AGREE for e in s.errors)
    ref, claim = np.asarray(s.lhs[0]), np.asarray(s.rhs[0])
    if ref.ndim != 2 or ref.shape != claim.shape:
        return False
    bad = int(np.count_nonzero(_entry_errors(s) >= DISAGREE))
    return 0 < bad < ref.size


def _fmt_idx(items: list[dict[str, int]]) -> str:
    shown = ["(" + ", ".join(f"{k}={v}" for k, v in sorted(d.items())) + ")" for d in items[:4]]
    return " ".join(shown) + (f" and {len(items) - 4} more" if len(items) > 4 else "")


def _fmt_sizes(sizes: dict[str, int]) -> str:
    return ", ".join(f"{k}={v}" for k, v in sizes.items())


def residual_text(probe: Probe, ref: E, claim: E) -> str:
    text = to_text_bounded(readable(ir.sub(claim, ref), probe.engine))
    return f"`{text}` (claimed minus reference)"
