"""Rules about terms: a term missing or added, one term with the wrong sign or factor.

The reference is split into terms (as written, then multiplied out); each term is
evaluated once at the compared points, and the candidate explanations are sums
of those values: "the claim lacks the term t" means ``claim = ref - t`` at every
point.  A split is used only if its terms add up to the reference there.
"""

from __future__ import annotations

from itertools import combinations

import numpy as np

from derivcheck import ir
from derivcheck.codes import Diagnosis, diagnosis
from derivcheck.diagnose.probe import Probe, close, fraction_text, size
from derivcheck.display import readable
from derivcheck.engine.simplify import expand_terms, signed_terms, simplify
from derivcheck.errors import ShapeError, Unsupported
from derivcheck.ir import E
from derivcheck.printer import to_text_bounded

MAX_TERMS = 24  # pairs of terms are tried: at most 276 pairs
MAX_PARTS = 60  # sub-expressions tried as a missing or extra term


class _Split:
    """A side as a signed sum of terms; the terms' values are computed when first needed."""

    def __init__(self, probe: Probe, terms: list[tuple[int, E]], side: str) -> None:
        self.probe = probe
        self.terms = terms
        self.side = side
        self._values: dict[tuple[int, int], list[np.ndarray] | None] = {}
        self._adds_up: dict[int, bool] = {}

    def text(self, k: int) -> str:
        sign, term = self.terms[k]
        return to_text_bounded(term if sign > 0 else ir.neg(term))

    def signed(self, i: int, k: int, setting: int) -> np.ndarray:
        """Term ``i`` with its sign, at sample ``k`` and index setting ``setting``."""
        values = self._values[(i, k)]
        assert values is not None  # usable(k) was checked
        return self.terms[i][0] * np.asarray(values[setting], dtype=float)

    def usable(self, k: int) -> bool:
        """Every term evaluates at sample ``k`` and the terms add up to the side there."""
        hit = self._adds_up.get(k)
        if hit is None:
            for i, (_, term) in enumerate(self.terms):
                self._values[(i, k)] = self.probe.at(term, k)
            hit = all(self._values[(i, k)] is not None for i in range(len(self.terms)))
            if hit:
                target = self.probe.samples[k].lhs if self.side == "ref" else \
                    self.probe.samples[k].rhs
                for j, t in enumerate(target):
                    total = sum(self.signed(i, k, j) for i in range(len(self.terms)))
                    hit = hit and close(np.broadcast_to(total, np.shape(t)), t)
            self._adds_up[k] = hit
        return hit


def _splits(probe: Probe, node: E, side: str) -> list[_Split]:
    """The ways to read ``node`` as a sum of at least two terms, fewest terms first."""
    engine = probe.engine
    try:
        simple = simplify(node, engine) if side == "ref" else node
    except (Unsupported, ShapeError, RecursionError):
        simple = node
    options = [signed_terms(simple)]
    for expanded in (expand_terms(simple, engine), expand_terms(_square_out(simple), engine)):
        if len(expanded) > len(options[-1]):
            options.append(expanded)
    if side == "ref" and all(len(o) < 2 for o in options):
        # the readable form splits what simplify cannot (a Hessian's jacobian(... e_j ...)
        # is A.T @ A + lam * eye(D)); a split is used only where its terms add up to the
        # side at the points (_Split.usable), so this shapes the text, not the finding
        shown = readable(node, engine)
        transposed = shown.op == "T"
        parts = signed_terms(shown.args[0] if transposed else shown)
        if transposed:
            parts = [(sign, _transposed(probe, t)) for sign, t in parts]
        if len(parts) >= 2 and parts not in options:
            options.append(parts)
    return [_Split(probe, terms, side) for terms in options if 2 <= len(terms) <= MAX_TERMS]


def _transposed(probe: Probe, term: E) -> E:
    """``term.T``, dropping it where it changes nothing (``eye``, a scalar times it)."""
    if term.op == "eye":
        return term
    if term.op == "mul" and any(a.op == "eye" for a in term.args) and \
            all(a.op == "eye" or probe.shape(a) in ((), (1, 1)) for a in term.args):
        return term
    return ir.transpose(term)


def _square_out(node: E) -> E:
    """``(a + b) ** 2`` as ``(a + b) * (a + b)``, so that expanding it gives the cross terms."""
    memo: dict[int, E] = {}  # by identity: a DAG is walked once, not as the tree it unfolds to

    def go(n: E) -> E:
        hit = memo.get(id(n))
        if hit is None:
            args = tuple(go(a) for a in n.args)
            if n.op == "pow" and ir.is_num(args[1], 2) and args[0].op in ("add", "sub"):
                hit = ir.mul(args[0], args[0])
            else:
                hit = E(n.op, args, n.val) if args != n.args else n
            memo[id(n)] = hit
        return hit

    return go(node)


def _fits(probe: Probe, target: str, base: str, parts: list[tuple[float, _Split, int]]) -> bool:
    """``target = base + sum(coef * term)`` at every point (``target``/``base``: "ref"/"claim")
    where the splits' terms add up to their side.

    The terms of a split are an expansion of the side, so where they do not add up it is
    rounding (``1 / (1 - p)`` at ``p`` near 1) or a domain: such a point says nothing
    about the split, and is left out, as long as it leaves out at most a third of the
    points (as ``probe.well_conditioned`` leaves out ill-conditioned ones).
    """
    pairs = list(zip(probe.targets(target), probe.targets(base)))
    usable = [k for k in range(len(pairs)) if all(split.usable(k) for _, split, _ in parts)]
    if not usable or 3 * (len(pairs) - len(usable)) > len(pairs):
        return False
    for k in usable:
        want, have = pairs[k]
        for j, (w, h) in enumerate(zip(want, have)):
            got = np.asarray(h, dtype=float)
            for coef, split, i in parts:
                got = got + coef * split.signed(i, k, j)
            if not close(got, w):
                return False
    return True


def terms(probe: Probe, ref: E, claim: E) -> Diagnosis | None:
    """A term of the reference missing from the claim, one the claim adds, a term with
    the wrong sign or a wrong constant factor."""
    ref_splits = _splits(probe, ref, "ref")
    claim_splits = _splits(probe, claim, "claim")[:1]  # as written
    for sp in ref_splits:  # claim = ref - t
        for i in range(len(sp.terms)):
            if _fits(probe, "claim", "ref", [(-1, sp, i)]):
                return diagnosis("missing-term", term=sp.text(i))
    for sp in claim_splits:  # claim = ref + t
        for i in range(len(sp.terms)):
            if _fits(probe, "ref", "claim", [(-1, sp, i)]):
                return diagnosis("extra-term", term=sp.text(i))
    for sp in ref_splits:  # claim = ref - t - u
        for i, j in combinations(range(len(sp.terms)), 2):
            if _fits(probe, "claim", "ref", [(-1, sp, i), (-1, sp, j)]):
                return diagnosis("missing-term", term=_pair_text(probe, sp, i, j))
    for side, splits in (("reference", ref_splits), ("claim", claim_splits)):
        target, base = ("claim", "ref") if side == "reference" else ("ref", "claim")
        for sp in splits:  # claim = ref - 2 t  (or ref = claim - 2 t)
            for i in range(len(sp.terms)):
                if _fits(probe, target, base, [(-2, sp, i)]):
                    return diagnosis("sign-error", where=f" in one term: `{sp.text(i)}`")
    for sp in claim_splits:
        for i in range(len(sp.terms)):
            d = _term_factor(probe, sp, i)
            if d:
                return d
    return _part(probe, ref, claim)


def _pair_text(probe: Probe, sp: _Split, i: int, j: int) -> str:
    same = all(sp.usable(k) and close(sp.signed(i, k, s), sp.signed(j, k, s))
               for k in range(len(probe.samples)) for s in range(len(probe.samples[k].indices)))
    if same:
        sign, term = sp.terms[i]
        return to_text_bounded(ir.mul(ir.num(2 * sign), term))
    return f"{sp.text(i)} and {sp.text(j)}"


def _term_factor(probe: Probe, sp: _Split, i: int) -> Diagnosis | None:
    """``ref = claim + (c - 1) * t`` for a term t of the claim: t should be c * t.

    c is fitted at the first point (least squares), then checked at all.
    """
    if not sp.usable(0):
        return None
    num = den = 0.0
    for j, (w, h) in enumerate(zip(probe.samples[0].lhs, probe.samples[0].rhs)):
        t = np.broadcast_to(sp.signed(i, 0, j), np.shape(w)).ravel()
        diff = (np.asarray(w, dtype=float) - np.asarray(h, dtype=float)).ravel()
        num += float(t @ diff)
        den += float(t @ t)
    if not np.isfinite(num) or den <= 1e-18:
        return None
    c = 1 + num / den  # the claim's term times c gives the reference's
    if abs(c) < 1e-9 or abs(c - 1) < 1e-6 or abs(c + 1) < 1e-6:
        return None
    if not _fits(probe, "ref", "claim", [(c - 1, sp, i)]):
        return _term_size_factor(probe, sp, i)
    return diagnosis("scale-factor", what=f"the term `{sp.text(i)}` of the claim",
                     factor=fraction_text(1 / c), than="the term that makes the claim hold")


def _term_size_factor(probe: Probe, sp: _Split, i: int) -> Diagnosis | None:
    """``ref = claim + (c - 1) * t`` with c a power of one dimension (``1/N``,
    ``sqrt(E)``): the term t of the claim lacks that factor (a mean taken on one term
    only). The sizes differ between settings, so a size factor cannot pass for a
    constant."""
    samples = probe.samples
    if len(samples) < 2 or not all(sp.usable(k) for k in range(len(samples))):
        return None
    for d in sorted(samples[0].sizes):
        if len({s.sizes[d] for s in samples}) < 2:
            continue
        for power, label in ((-1.0, f"1/{d}"), (1.0, d), (-0.5, f"1/sqrt({d})"),
                             (0.5, f"sqrt({d})")):
            coefs = [s.sizes[d] ** power - 1 for s in samples]
            if _fits_each(probe, sp, i, coefs):
                return diagnosis("missing-factor", detail=f"the term `{sp.text(i)}` of the "
                                 f"claim lacks the factor `{label}`")
    return _term_dimension_pair(probe, sp, i)


def _term_dimension_pair(probe: Probe, sp: _Split, i: int) -> Diagnosis | None:
    """``ref = claim + ((a / b) ** p - 1) * t``, one dimension written for another in one
    term of the claim (``X.T @ r / D + lam * w`` for ``X.T @ r / N + lam * w``): the term
    names ``b`` and not ``a`` (or the reverse).  The sizes of a setting are pairwise
    different, so the ratio is never 1."""
    samples = probe.samples
    term = sp.terms[i][1]
    written = {str(n.val) for n in term.walk() if n.op == "dim"}
    dims = sorted(samples[0].sizes)
    for a in dims:
        for b in dims:
            if a == b or (a in written) == (b in written):
                continue
            for power, shown in ((1.0, "{}"), (0.5, "sqrt({})")):
                coefs = [(s.sizes[a] / s.sizes[b]) ** power - 1 for s in samples]
                if _fits_each(probe, sp, i, coefs):
                    wrong, right = (b, a) if b in written else (a, b)
                    return diagnosis("wrong-dimension", detail=f"the term `{sp.text(i)}` of "
                                     f"the claim has `{shown.format(wrong)}` where "
                                     f"`{shown.format(right)}` fits")
    return None


def sign_and_size_factor(probe: Probe, claim: E) -> list[Diagnosis]:
    """Two mistakes in one term of the claim: its sign, and a power of one dimension
    (``-2 * X.T @ r`` for ``2 / N * X.T @ r``): ``ref = claim + (-s - 1) * t`` with s
    that power at each point.  Both are named, the sign first."""
    samples = probe.samples
    if len(samples) < 2:
        return []
    for sp in _splits(probe, claim, "claim")[:1]:  # as written
        if len(sp.terms) < 2 or not all(sp.usable(k) for k in range(len(samples))):
            continue  # one term is the whole side: the rules on the whole side apply
        for i in range(len(sp.terms)):
            for d in sorted(samples[0].sizes):
                if len({s.sizes[d] for s in samples}) < 2:
                    continue
                for power, label in ((-1.0, f"1/{d}"), (1.0, d), (-0.5, f"1/sqrt({d})"),
                                     (0.5, f"sqrt({d})")):
                    coefs = [-(s.sizes[d] ** power) - 1 for s in samples]
                    if _fits_each(probe, sp, i, coefs):
                        term = sp.text(i)
                        return [diagnosis("sign-error", where=f" in one term: `{term}`, and "
                                          "there is a second mistake in it (missing-factor, "
                                          "below)"),
                                diagnosis("missing-factor", detail=f"the term `{term}` of the "
                                          f"claim, its sign corrected, lacks the factor "
                                          f"`{label}`")]
    return []


def _fits_each(probe: Probe, sp: _Split, i: int, coefs: list[float]) -> bool:
    """``ref = claim + coefs[k] * t`` at every point k (t: term ``i`` of the claim)."""
    for k, (want, have) in enumerate(zip(probe.targets("ref"), probe.targets("claim"))):
        for j, (w, h) in enumerate(zip(want, have)):
            if not close(np.asarray(h, dtype=float) + coefs[k] * sp.signed(i, k, j), w):
                return False
    return True


def _part(probe: Probe, ref: E, claim: E) -> Diagnosis | None:
    """The claim lacks a sub-expression p of either side (``claim = ref - p``:
    ``logsumexp(z)`` for ``logsumexp(z + c)`` lacks ``c``), or has one of its own too
    many (``claim = ref + p``).  For a matrix claim, p may also be an outer product
    ``u @ v.T`` of vectors of the sides, with either sign (the rank-one term of a
    Jacobian: ``diag(s)`` for ``diag(s) - s @ s.T``).

    A sub-expression of the reference is not tried with the opposite sign: that the
    claim exceeds the reference by a piece of it is a coincidence, not a term.
    """
    ref_values = list(probe.targets("ref"))
    claim_values = list(probe.targets("claim"))
    parts: list[tuple[int, E, str]] = []  # (size, part, where it comes from)
    seen: set[E] = set()
    for root, origin in ((claim, "claim"), (ref, "ref")):
        sizes = ir.tree_sizes(root)
        seeded = _with_seed(root)
        for node in root.walk():
            if node is root or node.op in ("idx", "int") or ir.is_num(node, 0) or \
                    node in seen or node in (claim, ref) or id(node) in seeded:
                continue
            seen.add(node)
            parts.append((sizes[id(node)], node, origin))
    parts.sort(key=lambda p: p[0])
    parts = parts[:MAX_PARTS]
    shape = probe.shape(claim)
    if shape is not None and len(shape) == 2 and 1 not in shape:
        vectors = [p for _, p, _ in parts if _is_vector(probe.shape(p))]
        for u, v in [(a, b) for a in vectors for b in vectors][:MAX_PARTS]:
            outer = ir.matmul(u, ir.transpose(v))
            if probe.shape(outer) == shape and outer not in seen:
                seen.add(outer)
                parts.append((size(outer), outer, "outer"))
    for _, part, origin in parts:
        if _part_fits(probe, part, 1.0, ref_values, claim_values):
            return diagnosis("missing-term", term=to_text_bounded(part))
        if origin != "ref" and _part_fits(probe, part, -1.0, ref_values, claim_values):
            if origin == "claim":
                return diagnosis("extra-term", term=to_text_bounded(part))
            return diagnosis("missing-term", term=to_text_bounded(ir.neg(part)))
    return None


def _with_seed(root: E) -> set[int]:
    """Ids of the nodes of ``root`` with a ``seed`` (a Jacobian's direction) below them,
    found bottom-up, each shared node once."""
    out: set[int] = set()
    for n in ir.postorder(root):
        if n.op == "seed" or any(id(a) in out for a in n.args):
            out.add(id(n))
    return out


def _is_vector(shape: tuple | None) -> bool:
    return shape is not None and len(shape) == 2 and shape[1] == 1 and shape[0] != 1


def _part_fits(probe: Probe, part: E, sign: float, ref_values: list, claim_values: list
               ) -> bool:
    """``claim + sign * part = ref`` at every point, ``part`` broadcasting to the claim."""
    for k, (want, have) in enumerate(zip(ref_values, claim_values)):
        got = probe.at(part, k)
        if got is None:
            return False
        for w, h, p in zip(want, have, got):
            h = np.asarray(h, dtype=float)
            try:
                if np.broadcast_shapes(np.shape(h), np.shape(p)) != np.shape(h):
                    return False
            except ValueError:
                return False
            if not close(h + sign * np.asarray(p, dtype=float), w):
                return False
    return True
