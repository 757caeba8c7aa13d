"""Trying a candidate explanation at the points where the two sides were compared.

Every diagnosis is a fact about those points: "`A.T` in place of `A` makes the
claim hold" means the edited claim equals the reference at every compared point
(every size setting, every value of the free indices), to ``MATCH``.  ``Probe``
evaluates candidate expressions there, with one evaluator per point, so the
definitions are evaluated once for all the candidates of a step.
"""

from __future__ import annotations

from collections.abc import Iterator
from fractions import Fraction

import numpy as np

from derivcheck.decide import Sample, batch_errors
from derivcheck.engine.core import Engine
from derivcheck.engine.numeric import EvalError, Evaluator, stack
from derivcheck.errors import ShapeError, Unsupported
from derivcheck.ir import E, Shape, tree_size

MATCH = 1e-7  # relative error for "this explanation fits"

# What evaluating a candidate may raise: the candidate is then no explanation.
_FAILURES = (EvalError, KeyError, ValueError, IndexError, ZeroDivisionError, ShapeError,
             Unsupported, FloatingPointError, np.linalg.LinAlgError)

Values = list[list[np.ndarray]]  # per sample, per setting of the free indices
ROUNDING = MATCH / 10  # float64 vs extended precision: beyond this a point is ill-conditioned


def close(value: object, target: object, *, strict: bool = True) -> bool:
    """``value`` equals ``target`` to ``MATCH`` (as ``relative_error``), both finite.

    ``strict``: the shapes must be the same (else a 0-d value may stand for any shape).
    """
    a = np.asarray(value, dtype=float)
    b = np.asarray(target, dtype=float)
    if a.shape != b.shape:
        if strict or (a.ndim and b.ndim):
            return False
        a, b = np.broadcast_arrays(a, b)
    with np.errstate(all="ignore"):
        big = max(float(np.max(np.abs(a), initial=0.0)), float(np.max(np.abs(b), initial=0.0)))
        diff = float(np.max(np.abs(a - b), initial=0.0))
    # a NaN or inf compares false with everything: an undefined value never fits
    return bool(np.isfinite(big) and np.isfinite(diff) and diff <= MATCH * (1.0 + big))


def well_conditioned(engine: Engine, ref: E, claim: E, samples: list[Sample]) -> list[Sample]:
    """The points where both sides are accurate in float64 (if most are).

    The compared points include ill-conditioned ones (``log(1 - sigmoid(z))`` at
    large z): a large difference refutes there, but a fit to ``MATCH`` cannot be
    seen.  Each side is evaluated again in extended precision (``np.longdouble``),
    the points of one size setting as one batch; a point where float64 is off by
    more than ``ROUNDING`` is left out of the diagnosis, unless that would leave
    out more than a third of the points (then every point counts, as before).
    """
    if np.finfo(np.longdouble).eps >= np.finfo(np.float64).eps:
        return samples
    keep = [True] * len(samples)
    groups: dict[tuple, list[int]] = {}
    for k, s in enumerate(samples):
        groups.setdefault(tuple(sorted(s.sizes.items())), []).append(k)
    try:
        for members in groups.values():
            batch = stack([samples[k].point for k in members])
            indices = samples[members[0]].indices
            plain = engine.evaluator(batch)
            extended = engine.evaluator(batch, dtype=np.longdouble)
            for node in (ref, claim):
                errors = batch_errors(plain.values(node, indices),
                                      [np.asarray(v, dtype=float)
                                       for v in extended.values(node, indices)])
                with np.errstate(invalid="ignore"):
                    bad = ~(errors.max(axis=0) <= ROUNDING)
                for j, k in enumerate(members):
                    keep[k] = keep[k] and not bool(bad[j])
    except _FAILURES:
        return samples
    if 3 * sum(keep) < 2 * len(samples):
        return samples
    return [s for s, ok in zip(samples, keep) if ok]


class Probe:
    """Candidate expressions evaluated at the compared points.

    ``samples`` hold the reference values in ``lhs`` and the claimed ones in ``rhs``.
    """

    def __init__(self, engine: Engine, samples: list[Sample]) -> None:
        self.engine = engine
        self.samples = samples
        self._evaluators: dict[int, Evaluator] = {}
        # The evaluators memoize by id(node): every node they saw is kept alive, so an
        # id is never reused by a later candidate while they exist.
        self._keep: list[E] = []
        self._shapes = engine.shapes("gradient")  # resolved sides hold no `d` nodes

    def shape(self, node: E) -> Shape | None:
        """The symbolic shape of a resolved expression, None if it is ill-shaped."""
        try:
            return self._shapes.of(node)
        except (ShapeError, Unsupported, KeyError):
            return None

    def _evaluator(self, k: int) -> Evaluator:
        ev = self._evaluators.get(k)
        if ev is None:
            ev = self.engine.evaluator(self.samples[k].point)
            self._evaluators[k] = ev
        ev.operations = 0  # the budget is per candidate, not per step
        return ev

    def at(self, node: E, k: int) -> list[np.ndarray] | None:
        """``node`` at sample ``k``, per setting of the free indices; None if it fails."""
        self._keep.append(node)
        try:
            return self._evaluator(k).values(node, self.samples[k].indices)
        except _FAILURES:
            return None

    def values(self, node: E) -> Values | None:
        out = []
        for k in range(len(self.samples)):
            got = self.at(node, k)
            if got is None:
                return None
            out.append(got)
        return out

    def targets(self, side: str) -> Iterator[list[np.ndarray]]:
        for s in self.samples:
            yield s.lhs if side == "ref" else s.rhs

    def equals(self, node: E, side: str = "ref", *, strict: bool = True) -> bool:
        """``node`` equals the reference (``side="ref"``) or the claim at every point.

        Stops at the first point and index setting where it does not (most
        candidates fail at the first).
        """
        self._keep.append(node)
        for k, target in enumerate(self.targets(side)):
            ev = self._evaluator(k)
            for idx, t in zip(self.samples[k].indices, target):
                try:
                    got = ev.value(node, idx)
                except _FAILURES:
                    return False
                if not close(got, t, strict=strict):
                    return False
        return True


# -- editing a tree at one place ---------------------------------------------------

Path = tuple[int, ...]


def positions(node: E, path: Path = ()) -> Iterator[tuple[Path, E]]:
    """Every sub-expression with its path (child indices from the root), pre-order.

    A node shared by several parents (by identity: the engine's derivatives reuse
    sub-expressions) is yielded at its first path only, and its sub-tree is entered
    once, so the work follows the DAG, not the tree it unfolds to; a parsed claim is
    a tree, where every position is yielded.
    """
    seen: set[int] = set()  # nodes stay alive under ``node`` while the walk lasts
    stack = [(path, node)]
    while stack:
        where, cur = stack.pop()
        if id(cur) in seen:
            continue
        seen.add(id(cur))
        yield where, cur
        stack.extend(((*where, k), child) for k, child in reversed(list(enumerate(cur.args))))


def replace_at(node: E, path: Path, new: E) -> E:
    """``node`` with the sub-expression at ``path`` replaced by ``new``."""
    if not path:
        return new
    k = path[0]
    args = list(node.args)
    args[k] = replace_at(args[k], path[1:], new)
    return E(node.op, tuple(args), node.val)


def replace_all(node: E, old: E, new: E) -> E:
    """``node`` with every sub-expression equal to ``old`` replaced by ``new`` (each
    shared node rebuilt once)."""
    memo: dict[int, E] = {}
    keep: list[E] = []  # ids in memo stay valid while their nodes are alive
    stack: list[tuple[E, bool]] = [(node, False)]
    while stack:
        cur, done = stack.pop()
        if id(cur) in memo:
            continue
        if cur == old:
            memo[id(cur)] = new
            keep.append(cur)
            continue
        if not done:
            stack.append((cur, True))
            stack.extend((a, False) for a in cur.args if id(a) not in memo)
            continue
        args = tuple(memo[id(a)] for a in cur.args)
        memo[id(cur)] = cur if all(a is b for a, b in zip(args, cur.args)) else \
            E(cur.op, args, cur.val)
        keep.append(cur)
    return memo[id(node)]


def size(node: E) -> int:
    """The number of nodes of ``node`` as a tree (counted on its DAG)."""
    return tree_size(node)


def fraction_text(c: float) -> str:
    """``c`` as a fraction with a small denominator where it is one, else 6 digits."""
    frac = Fraction(c).limit_denominator(1000)
    if abs(float(frac) - c) <= 1e-9 * max(1.0, abs(c)):
        return str(frac)
    return f"{c:.6g}"
