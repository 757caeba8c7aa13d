"""Random points where both sides are compared, and counterexamples.

Points respect the declared kinds (``sampling``); each size setting gets
``options.points`` usable points: both sides finite, away from kinks, not
dominated by float64 rounding.  The comparison itself is ``tolerance``'s.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from derivcheck.decide.exact import judge
from derivcheck.decide.options import Options
from derivcheck.decide.sampling import draw_batch, readable, size_settings, smallest_setting
from derivcheck.decide.signs import SignAnalysis
from derivcheck.decide.tolerance import AGREE, DISAGREE, ROUNDING_CEILING, batch_errors
from derivcheck.engine.core import Engine, index_assignments
from derivcheck.engine.numeric import EvalError, Point, entry_of, stack
from derivcheck.engine.shared import SharedValues
from derivcheck.errors import ShapeError, Unsupported
from derivcheck.ir import E
from derivcheck.printer import to_text
from derivcheck.results import Counterexample

if TYPE_CHECKING:
    from derivcheck.decide.pool import PointPool

KINK_MARGIN = 1e-3  # how far from a kink (ReLU at 0) every point stays
MAX_TRIES = 100  # draws per size setting before giving up on the domain
# Magnitudes of the points of one size setting, in turn.  The first five are the points
# a claim is usually checked at; the others are reached when points are lost: a deep
# network's values overflow at magnitude 1 with wide layers (each layer multiplies
# them) and sit on a kink at 0.1, and between the two they do neither.
SCALES = (1.0, 0.1, 4.0, 1.0, 16.0, 0.5, 0.3, 1.0, 0.2, 2.0)
CLEAR = 0.05  # a counterexample this far apart is shown without looking further


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
    scale: float = 1.0  # the magnitude the point's unbounded values were drawn at (SCALES)
    origin: tuple | None = None  # a pool's point: (the batch's key, the place in it)



def magnitude(sample: Sample) -> float:
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


@dataclass
class Batch:
    """Both sides at a batch of points: values per index setting, and what each point is.

    ``ok``: both sides finite and away from kinks (usable); ``one_sided``: away from
    kinks, one side finite and the other not (NaN or inf: outside a domain, or float64
    overflow; the high-precision check tells which); ``near``: both sides finite, but
    closer to a kink than the margin (usable only once high precision has judged it,
    ``_line_search``); ``cover``: the evaluator's record of which side of each kink
    every point was on (``Evaluator.cover``).
    """

    lhs: list[np.ndarray]
    rhs: list[np.ndarray]
    ok: np.ndarray
    one_sided: np.ndarray
    cover: dict[int, tuple[E, np.ndarray, np.ndarray]] | None = None
    near: np.ndarray | None = None
    near_one_sided: np.ndarray | None = None  # closer to a kink, one side finite
    domains: dict[int, tuple[E, np.ndarray]] | None = None  # Evaluator.domains
    kink_values: dict[int, tuple[E, np.ndarray]] | None = None  # Evaluator.kink_values


def evaluate_batch(engine: Engine, lhs: E, rhs: E, point: Point,
                   indices: list[dict[str, int]], *, min_kink: float = KINK_MARGIN
                   ) -> tuple[list[np.ndarray], list[np.ndarray], np.ndarray]:
    """Both sides at a batch of points, for each index setting (see ``evaluate``)."""
    b = evaluate(engine, lhs, rhs, point, indices, min_kink=min_kink)
    return b.lhs, b.rhs, b.ok


def evaluate(engine: Engine, lhs: E, rhs: E, point: Point, indices: list[dict[str, int]],
             *, min_kink: float = KINK_MARGIN, cover: bool = False,
             shared: SharedValues | None = None) -> Batch:
    """Both sides at a batch of points, for each index setting, with what each point is
    (``shared``: the values kept at this batch of a pool, see ``engine.shared``)."""
    ev = engine.evaluator(point, shared=shared)
    if cover:
        ev.cover = {}
        ev.domains = {}
        ev.kink_values = {}
    lv = ev.values(lhs, indices)
    rv = ev.values(rhs, indices)
    away = np.asarray(ev.min_kink) >= min_kink
    left = np.ones(point.size, dtype=bool)
    right = np.ones(point.size, dtype=bool)
    for a, b in zip(lv, rv):
        left &= np.isfinite(a).all(axis=(1, 2))
        right &= np.isfinite(b).all(axis=(1, 2))
    ok = np.broadcast_to(away & left & right, (point.size,)).copy()
    one_sided = np.broadcast_to(away & (left != right), (point.size,)).copy()
    near = np.broadcast_to(~away & left & right, (point.size,)).copy()
    near_one_sided = np.broadcast_to(~away & (left != right), (point.size,)).copy()
    return Batch(lv, rv, ok, one_sided, ev.cover, near, near_one_sided, ev.domains,
                 ev.kink_values)


def _one(value: np.ndarray) -> Any:
    """One point's value out of a batch: ``(rows, cols)``, or a 0-d float for a scalar."""
    return np.float64(value[0, 0]) if value.shape == (1, 1) else np.array(value)


def _draw_batch(engine: Engine, names: list[str], sizes: dict[str, int],
                rng: np.random.Generator, scales: list[float], style: str = "float",
                constraints: dict[str, frozenset[str]] | None = None) -> Point:
    return draw_batch(engine.symbols, names, sizes, rng, scales, style, constraints)


@dataclass
class Sampling:
    """The points of one equation (``sample``).

    ``samples``: usable points, ``options.points`` per size setting, plus points added
    to reach both sides of every kink (``short`` names a setting that fell short).
    ``doubtful``: points float64 cannot judge, for the high-precision check: one side
    undefined or overflowing (``one_sided``), or a disagreement that extended precision
    shrinks (rounding, or a real difference under it).  ``unreached``: kinks (as text)
    of which some side was never reached.
    """

    samples: list[Sample]
    tries: int
    doubtful: list[Sample] = field(default_factory=list)
    kinks: int = 0  # kink nodes (relu, relu_prime, abs, sign) the sides evaluate
    unreached: list[str] = field(default_factory=list)
    size_kinks: bool = False  # some unreached kink's argument depends on sizes alone
    # the size setting where fewer than ``options.points`` usable points were found (the
    # sampling stopped there), and how many: a verdict needs every setting's points
    short: tuple[dict[str, int], int] | None = None


MAX_DOUBTFUL = 6  # doubtful points kept per equation
RAYS = 12  # directions searched from the sampled points for an unreached side of a kink
_FIXED_ON_RAYS = frozenset({"onehot", "onehot_columns", "multihot", "binary", "prob", "unit",
                            "sum1", "invertible"})  # kinds a ray cannot move and keep
RAY_STEPS = tuple(float(10.0 ** k) for k in range(13))  # distances along a ray, both ways


def sample_both(engine: Engine, lhs: E, rhs: E, free: frozenset[str], options: Options,
                rng: np.random.Generator,
                constraints: dict[str, frozenset[str]] | None = None,
                *, stop_at_disagreement: bool = False) -> tuple[list[Sample], int]:
    """``sample``'s usable points and tries (for the diagnose stage)."""
    got = sample(engine, lhs, rhs, free, options, rng, constraints,
                 stop_at_disagreement=stop_at_disagreement)
    return got.samples, got.tries


def sample(engine: Engine, lhs: E, rhs: E, free: frozenset[str], options: Options,
           rng: np.random.Generator, constraints: dict[str, frozenset[str]] | None = None,
           *, stop_at_disagreement: bool = False, pool: PointPool | None = None) -> Sampling:
    """Evaluate both sides at ``options.points`` valid points per size setting.

    Points are drawn and evaluated in batches.  Their magnitudes vary (``SCALES``);
    after two rounds short of valid points (overflow, log of a negative, kinks), the
    remaining draws use the scale where most usable points were found (1 if none was),
    in rounds twice as large, up to ``MAX_TRIES`` draws.  For every kink (``relu``,
    ``relu_prime``, ``abs``, ``sign``) the sides go through, points are then searched on
    each side of it, entry by entry, along rays from the sampled points (``cover_kinks``).  With
    ``stop_at_disagreement`` the sampling ends at the first point where the sides differ
    (the caller only wants to know whether they always agree).

    With a ``pool`` the size settings, the batches of points and the rays are the
    derivation's (``decide.pool``), the same for every equation over the same symbols,
    and the values both compute there are computed once; the rounds have sizes fixed in
    advance (``pool_rounds``), so that a batch is the same whichever equation draws it.
    Without one they are drawn from ``rng``.
    """
    names = sorted(engine.used_symbols(lhs) | engine.used_symbols(rhs))
    out = Sampling([], 0)
    kink_nodes: set[int] = set()
    signs: SignAnalysis | None = None
    ctx = _Context(engine, lhs, rhs, names, options, rng, constraints, pool)
    for sizes in ctx.settings:
        indices = index_assignments(free, engine.index_range, sizes)
        taken: list[Sample] = []
        cover: dict[int, tuple[E, np.ndarray, np.ndarray]] = {}
        uniform: set[tuple[int, int]] = set()  # (kink, side): a point had every entry there
        attempts = 0
        rounds = 0
        found_at: dict[float, int] = {}  # usable points per scale, in this setting
        while len(taken) < options.points and attempts < MAX_TRIES:
            need = options.points - len(taken)
            point, scales, drawn, block = ctx.draw(sizes, rounds, need, attempts, found_at)
            rounds += 1
            attempts += len(scales)
            out.tries += len(scales)
            batch = evaluate(engine, ctx.lhs, ctx.rhs, point, indices, cover=True,
                             shared=drawn)
            errors = batch_errors(batch.lhs, batch.rhs)
            rounding = rounding_dominated(engine, ctx.lhs, ctx.rhs, point, indices, errors)
            mags = _batch_magnitudes(batch.lhs, batch.rhs)
            for p in np.flatnonzero(batch.one_sided | (batch.ok & rounding)):
                if len(out.doubtful) < MAX_DOUBTFUL:
                    out.doubtful.append(_sample(sizes, point, indices, batch, errors, mags, p,
                                                scales[p]))
            usable = np.flatnonzero(batch.ok & ~rounding)
            for p in usable:
                found_at[scales[p]] = found_at.get(scales[p], 0) + 1
            usable = usable[:need]
            _merge_cover(cover, batch.cover, usable)
            _merge_uniform(uniform, batch.cover, usable)
            for p in usable:
                taken.append(_sample(sizes, point, indices, batch, errors, mags, p, scales[p],
                                     None if block is None else (block, int(p))))
                if stop_at_disagreement and max(taken[-1].errors) > AGREE:
                    out.samples.extend(taken)
                    return out
        if len(taken) < options.points:
            out.samples.extend(taken)
            out.short = (sizes, len(taken))
            return out
        kink_nodes.update(cover)
        if cover:
            if signs is None:  # per derivation with a pool (the signs of its expressions)
                signs = ctx.pool.signs if ctx.pool is not None else SignAnalysis(engine)
            cover = _possible(cover, signs)
        extra, unreached = cover_kinks(engine, ctx.lhs, ctx.rhs, names, sizes, indices, taken,
                                       cover, rng, constraints, pool=ctx.rays(sizes))
        shapes = [p.shape for _, p, _ in cover.values()]
        if len(set(shapes)) < len(shapes):  # two kinks of the same shape
            extra += cover_pairs(engine, ctx.lhs, ctx.rhs, names, sizes, indices,
                                 taken + extra, rng, constraints, signs)
        if sum(int(np.prod(p)) == 1 for p in shapes) >= 3:  # three scalar kinks
            extra += cover_all_signs(engine, ctx.lhs, ctx.rhs, names, sizes, indices,
                                     taken + extra, constraints, signs)
        if any(int(np.prod(p)) > 1 for p in shapes):  # a vector kink
            extra += cover_uniform(engine, ctx.lhs, ctx.rhs, names, sizes, indices,
                                   taken, cover, uniform, constraints, signs)
        if sizes is ctx.settings[0]:  # the first setting only: the windows seldom depend on sizes
            if signs is None:
                signs = ctx.pool.signs if ctx.pool is not None else SignAnalysis(engine)
            out.doubtful += domain_search(engine, ctx.lhs, ctx.rhs, names, sizes, indices,
                                          taken + extra, constraints, signs)
        out.samples.extend(taken + extra)
        out.unreached.extend(u for u in unreached if u not in out.unreached)
        # a kink whose argument is a function of the sizes alone (relu(K - 70)): its
        # unreached side is a size no setting has, which no exact check at the
        # instantiated sizes splits
        out.size_kinks |= any(not (pos.all() and neg.all())
                              and not engine.used_symbols(node.args[0])
                              for node, pos, neg in cover.values())
        if stop_at_disagreement and any(max(s.errors) > AGREE for s in extra):
            return out
    out.kinks = len(kink_nodes)
    return out


SIZE_ONE_POINTS = 8  # points drawn with every dimension of size 1 (``size_one``)


def size_one(engine: Engine, lhs: E, rhs: E, free: frozenset[str],
             rng: np.random.Generator, pool: PointPool | None = None) -> Sample | None:
    """A usable point with every dimension of size 1 where the sides differ, if any.

    The size settings start at 2 (pairwise different sizes need room), and a claim can
    fail only at size 1 (``det(x @ x.T) = 0``, ``relu(2 - n) * s = 0``): a few points
    there can refute it.  They never count towards ``checked``: a point that cannot be
    evaluated at size 1 (a kind with no size-1 value, ``1 / (N - 1)``) says nothing.
    A dimension an integer index of the equation needs larger (``x[1]``) keeps that
    size; the others are 1.  With a ``pool`` the points are the derivation's (drawn
    once, their values shared by the steps, as ``sample``'s are); else drawn from
    ``rng``.
    """
    if not engine.derivation.dims:
        return None
    floors = _index_floors(engine, (lhs, rhs))
    if floors is None:
        return None
    # every dimension at 1, but for those an integer index needs larger (x[1]: 2)
    sizes = {d: floors.get(d, 1) for d in engine.derivation.dims}
    if all(v > 1 for v in sizes.values()):
        return None
    return _refuting_point(engine, lhs, rhs, free, sizes, rng, pool)


EQUAL_SIZES = (3, 4, 6)  # the common size of every dimension in ``equal_sizes``


def equal_sizes(engine: Engine, lhs: E, rhs: E, free: frozenset[str],
                rng: np.random.Generator, pool: PointPool | None = None) -> Sample | None:
    """A usable point with every dimension of one size (``EQUAL_SIZES``: 3, 4 and 6, or
    what the equation's integer indices need) where the sides differ, if any: the size
    settings keep dimensions pairwise different, and a claim can fail only where two
    are equal (``relu(1 - (D - H)**2) * x = 0``; from 4 on: ``relu(K - 3.5)`` times an
    equality of sizes).  Refutes only, as ``size_one``."""
    if len(engine.derivation.dims) < 2:
        return None
    floors = _index_floors(engine, (lhs, rhs))
    if floors is None:
        return None
    for size in EQUAL_SIZES:
        n = max([size, *floors.values()])
        found = _refuting_point(engine, lhs, rhs, free,
                                dict.fromkeys(engine.derivation.dims, n), rng, pool)
        if found is not None:
            return found
    return None


# the sizes of a dimension used as a value (settings over SWEEP_ENTRIES entries skipped;
# 256 at most: a K x K intermediate of 8 points stays small)
SWEEP_SIZES = (*range(1, 17), 20, 24, 32, 48, 64, 96, 128, 256)
SWEEP_DIMS = 4  # dimensions swept, at most
SWEEP_ENTRIES = 20_000  # entries of every symbol at one point: larger settings are skipped


def size_sweep(engine: Engine, lhs: E, rhs: E, free: frozenset[str],
               rng: np.random.Generator, pool: PointPool | None = None) -> Sample | None:
    """A usable point where the sides differ, at a size of a dimension that the sides
    use as a value (``relu_prime(K - 9.5)``, ``(K - 1) * ... * (K - 8) * s``, ``1 / N``,
    a ``span`` ending at ``K - 1``), if any.

    The three size settings give each dimension three values: a claim whose sides
    depend on a size as a number can agree at those and fail elsewhere (from K = 10,
    or at any K where a polynomial of degree 8 is not 0).  Each such dimension in
    turn (up to ``SWEEP_DIMS``) takes every size of ``SWEEP_SIZES`` (1 to 256), the
    others at the smallest setting's, then all of them together (pairwise different,
    then equal); settings with more than ``SWEEP_ENTRIES`` entries are skipped.
    Refutes only, as ``size_one``: sizes beyond 256 are not reached (a kink of the sizes
    alone left unreached keeps the claim undecided: ``Sampling.size_kinks``), and a
    dimension used only through a shape (``sum(x * 0 + 1)``) is not swept.
    """
    valued = valued_dims(engine, (lhs, rhs))
    if not valued:
        return None
    floors = _index_floors(engine, (lhs, rhs))
    if floors is None:
        return None
    dims = engine.derivation.dims
    base = smallest_setting(dims, engine.derivation.size_floor)
    names = sorted(engine.used_symbols(lhs) | engine.used_symbols(rhs))
    def entries(sizes: dict[str, int]) -> int:
        return sum(int(np.prod([sizes[d] if isinstance(d, str) else d
                                for d in engine.symbols[n].shape] or [1])) for n in names)

    # each dimension alone, then all of them together (pairwise different, and equal:
    # relu_prime(K - 30.5) * relu_prime(D - 30.5) needs both large at once)
    moves = [[dim] for dim in valued[:SWEEP_DIMS]]
    if len(valued) > 1:
        moves += [valued[:SWEEP_DIMS], valued[:SWEEP_DIMS]]
    for m, dims_moved in enumerate(moves):
        equal = m == len(moves) - 1 and len(dims_moved) > 1
        for size in SWEEP_SIZES:
            sizes = {**base, **{d: size + (0 if equal else k) for k, d in enumerate(dims_moved)}}
            if any(sizes[d] < floors.get(d, 1) for d in dims_moved) or sizes == base:
                continue
            if entries(sizes) > SWEEP_ENTRIES:
                break
            found = _refuting_point(engine, lhs, rhs, free, sizes, rng, pool)
            if found is not None:
                return found
    return None


def valued_dims(engine: Engine, roots: tuple[E, ...]) -> list[str]:
    """The dimensions the expressions use as values (``dim`` nodes), through the
    definitions they use, in the order of the declared dimensions."""
    used: set[str] = set()
    for node in _through_definitions(engine, roots):
        if node.op == "dim":
            used.add(str(node.val))
        elif node.op == "span" and isinstance(node.val, tuple) and any(node.val[:2]):
            used.add(str(node.val[2]))  # a partial range: empty or not by the size
    return [d for d in engine.derivation.dims if d in used]


def _through_definitions(engine: Engine, roots: tuple[E, ...]) -> Iterator[E]:
    """Every node of ``roots`` once, and of the definitions they use (a defined name is
    followed into its body)."""
    entered: set[str] = set()
    pending = list(roots)
    while pending:
        for node in pending.pop().walk():
            yield node
            name = str(node.val)
            if node.op == "ref" and name in engine.definitions and name not in entered:
                entered.add(name)
                pending.append(engine.definitions[name])


def _refuting_point(engine: Engine, lhs: E, rhs: E, free: frozenset[str],
                    sizes: dict[str, int], rng: np.random.Generator,
                    pool: PointPool | None) -> Sample | None:
    """A usable point at ``sizes`` where the sides differ beyond rounding, if any."""
    names = sorted(engine.used_symbols(lhs) | engine.used_symbols(rhs))
    scales = [SCALES[j % len(SCALES)] for j in range(SIZE_ONE_POINTS)]
    try:
        indices = index_assignments(free, engine.index_range, sizes)
        shared = None
        if pool is None:
            point = _draw_batch(engine, names, sizes, rng, scales)
        else:
            lhs, rhs = pool.intern(lhs), pool.intern(rhs)
            key = (tuple(names), "refuting sizes", tuple(sorted(sizes.items())))
            drawn = pool.batch(key, lambda: _draw_batch(engine, names, sizes,
                                                        pool.stream(*key), scales))
            point = drawn.point
            if pool.plan(lhs).shareable and pool.plan(rhs).shareable:
                shared = drawn.values
        batch = evaluate(engine, lhs, rhs, point, indices, shared=shared)
        errors = batch_errors(batch.lhs, batch.rhs)
        differ = batch.ok & (errors.max(axis=0) >= DISAGREE)
        if not differ.any():
            return None
        # rounding is judged only where a difference was seen (an extended-precision pass)
        rounding = rounding_dominated(engine, lhs, rhs, point, indices, errors)
    except (EvalError, ShapeError, Unsupported, ArithmeticError, ValueError, IndexError,
            KeyError):
        return None
    mags = _batch_magnitudes(batch.lhs, batch.rhs)
    for p in np.flatnonzero(differ & ~rounding):
        return _sample(sizes, point, indices, batch, errors, mags, p, scales[p])
    return None


def _index_floors(engine: Engine, roots: tuple[E, ...]) -> dict[str, int] | None:
    """The size each dimension needs for the integer indices the equation writes
    (through the definitions it uses): ``x[1]`` with ``x: vector K`` needs K >= 2.  None
    where an integer index past 0 is written on something that is not a declared
    symbol (its dimension is not known here).  The equation's own: an ``x[1]`` in
    another step of the file does not keep this one from size 1."""
    floors: dict[str, int] = {}
    for node in _through_definitions(engine, roots):
        if node.op != "elem":
            continue
        base, *idx = node.args
        sym = engine.symbols.get(str(base.val)) if base.op == "sym" else None
        for k, i in enumerate(idx):
            if i.op != "int" or not isinstance(i.val, int) or i.val <= 0:
                continue
            if sym is None or k >= len(sym.dims) or not isinstance(sym.dims[k], str):
                return None
            floors[sym.dims[k]] = max(floors.get(sym.dims[k], 1), i.val + 1)
    return floors


def pool_rounds(points: int) -> list[int]:
    """The sizes of the rounds of draws of one size setting with a pool: twice the points
    wanted, twice that again, then doubling, up to ``MAX_TRIES`` in all."""
    rounds: list[int] = []
    count = 2 * points
    while sum(rounds) < MAX_TRIES:
        rounds.append(min(count, MAX_TRIES - sum(rounds)))
        if len(rounds) >= 2:
            count *= 2
    return rounds


class _Context:
    """Where ``sample``'s points come from: its own stream, or a pool."""

    def __init__(self, engine: Engine, lhs: E, rhs: E, names: list[str], options: Options,
                 rng: np.random.Generator, constraints: dict[str, frozenset[str]] | None,
                 pool: PointPool | None) -> None:
        self.engine, self.names, self.rng, self.constraints = engine, names, rng, constraints
        self.pool = pool
        self.points = options.points
        self.lhs, self.rhs = lhs, rhs
        self.shared = False
        if pool is None:
            self.settings = size_settings(engine.derivation.dims, max(options.settings, 1), rng,
                                          engine.derivation.size_floor)
            return
        self.settings = pool.settings
        # equal sub-expressions as one object: their values are kept by identity
        self.lhs, self.rhs = pool.intern(lhs), pool.intern(rhs)
        self.shared = pool.plan(self.lhs).shareable and pool.plan(self.rhs).shareable
        self.rounds = pool_rounds(options.points)
        kinds = sorted((n, sorted(c)) for n, c in (constraints or {}).items())
        self.key = (tuple(names), repr(kinds))

    def draw(self, sizes: dict[str, int], rounds: int, need: int, attempts: int,
             found_at: dict[float, int]
             ) -> tuple[Point, list[float], SharedValues | None, tuple | None]:
        """Round ``rounds`` of the draws at ``sizes``: the points, their scales, the
        values kept there (with a pool), and the batch's key in the pool."""
        if self.pool is None:
            # twice the points still needed, twice as many again each round at the
            # learned scale: a batch costs about as much as one point, and deep networks
            # lose most of them (overflow at scale 16, kinks at 0.1, kinks of every layer)
            count = min(2 * need * 2 ** max(0, rounds - 1), MAX_TRIES - attempts)
            taken = self.points - need
            scales = [SCALES[(taken + j) % len(SCALES)] if rounds < 2
                      else _fallback_scale(found_at) for j in range(count)]
            point = _draw_batch(self.engine, self.names, sizes, self.rng, scales,
                                constraints=self.constraints)
            return point, scales, None, None
        count = self.rounds[rounds]
        if rounds < 2:  # the cycle of magnitudes, from its start, then from its middle
            scales = [SCALES[(rounds * len(SCALES) // 2 + j) % len(SCALES)]
                      for j in range(count)]
            which: tuple = ("cycle", rounds)
        else:
            scale = _fallback_scale(found_at)
            scales = [scale] * count
            which = ("scale", scale, rounds)
        key = (*self.key, tuple(sorted(sizes.items())), which)
        drawn = self.pool.batch(key, lambda: _draw_batch(
            self.engine, self.names, sizes, self.pool.stream(*key),  # type: ignore[union-attr]
            scales, constraints=self.constraints))
        return drawn.point, scales, drawn.values if self.shared else None, key

    def rays(self, sizes: dict[str, int]) -> _RayPool | None:
        if self.pool is None:
            return None
        return _RayPool(self.pool, (*self.key, tuple(sorted(sizes.items()))), self.shared)


@dataclass
class _RayPool:
    """The rays of one size setting of a pool: a ray is named by its sampled point (its
    batch and place) and its number, and drawn from a stream of that name."""

    pool: PointPool
    key: tuple
    shared: bool

    def rays(self, engine: Engine, names: list[str], bases: list[Sample], rays: range,
             constraints: dict[str, frozenset[str]] | None, moving: list[list[str]]
             ) -> tuple[Point, SharedValues | None]:
        """The batch of rays ``rays`` from ``bases`` (see ``_rays``), and the values kept
        there (if the equation's are shared)."""
        named = tuple((b.origin, r, tuple(m) if r >= RAYS else ())
                      for b, r, m in zip(bases, rays, moving))

        def make() -> Point:
            streams = [self.pool.stream(*self.key, "ray", *n) for n in named]
            return _rays(engine, names, [b.point for b in bases], streams, constraints, moving)

        drawn = self.pool.batch((*self.key, "rays", named), make)
        return drawn.point, drawn.values if self.shared else None


def _fallback_scale(found_at: dict[float, int]) -> float:
    """The scale of the draws after the first rounds: where most usable points were
    found so far (the first such in ``SCALES`` on a tie), else 1."""
    if not found_at:
        return 1.0
    return max(SCALES, key=lambda scale: found_at.get(scale, 0))


def _sample(sizes: dict[str, int], point: Point, indices: list[dict[str, int]], batch: Batch,
            errors: np.ndarray, mags: np.ndarray, p: Any, scale: float = 1.0,
            origin: tuple | None = None) -> Sample:
    p = int(p)
    return Sample(sizes, point.take(int(p)), indices, [_one(v[p]) for v in batch.lhs],
                  [_one(v[p]) for v in batch.rhs], [float(e) for e in errors[:, p]],
                  float(mags[p]), scale, origin)


def _merge_cover(into: dict[int, tuple[E, np.ndarray, np.ndarray]],
                 found: dict[int, tuple[E, np.ndarray, np.ndarray]] | None,
                 points: np.ndarray) -> None:
    """Add to ``into`` (per kink: entries ever positive, ever negative) what ``points`` saw."""
    for key, (node, pos, neg) in (found or {}).items():
        seen_pos, seen_neg = pos[points].any(axis=0), neg[points].any(axis=0)
        old = into.get(key)
        if old is None:
            into[key] = (node, seen_pos, seen_neg)
        elif old[1].shape == seen_pos.shape:
            into[key] = (node, old[1] | seen_pos, old[2] | seen_neg)


class _Sides:
    """Which side of each entry of each kink has been reached, as two flat boolean arrays.

    ``cover_kinks`` asks, for point after point, whether it reaches a side not reached
    yet: one test over every entry of every kink at once (the kinks of a deep network
    number in the hundreds), instead of a test per kink.  ``spans`` gives each kink's
    slice of the flat arrays; ``store`` writes what was reached back into the cover.
    """

    def __init__(self, cover: dict[int, tuple[E, np.ndarray, np.ndarray]]) -> None:
        self.spans: dict[int, tuple[int, int, tuple[int, ...]]] = {}
        self.nodes: dict[int, E] = {}
        self.pos = np.zeros(0, dtype=bool)
        self.neg = np.zeros(0, dtype=bool)
        self._extend({k: (node, pos[None], neg[None]) for k, (node, pos, neg) in cover.items()},
                     seen=True)

    def _extend(self, batch: dict[int, tuple[E, np.ndarray, np.ndarray]], *,
                seen: bool = False) -> None:
        """Take in the kinks of ``batch`` not known yet; reached on the sides ``batch``'s
        first point reached if ``seen``, else on no side (a kink first met on a ray)."""
        start = self.pos.size
        pos, neg = [self.pos], [self.neg]
        for key, (node, p, n) in batch.items():
            if key in self.spans:
                continue
            shape = p.shape[1:]
            self.spans[key] = (start, start + p[0].size, shape)
            self.nodes[key] = node
            start += p[0].size
            pos.append(p[0].ravel() if seen else np.zeros(p[0].size, dtype=bool))
            neg.append(n[0].ravel() if seen else np.zeros(n[0].size, dtype=bool))
        self.pos, self.neg = np.concatenate(pos), np.concatenate(neg)

    def missing(self) -> int:
        """How many sides of entries are not reached yet."""
        return int((~self.pos).sum() + (~self.neg).sum())

    def found(self, batch: dict[int, tuple[E, np.ndarray, np.ndarray]] | None, count: int
              ) -> tuple[np.ndarray, np.ndarray]:
        """A batch's record (``Evaluator.cover``) as ``(count, entries)`` arrays in this
        order; a kink the batch did not record, or recorded with another shape, counts as
        reached on no side (as ``_merge_cover`` leaves it)."""
        self._extend(batch or {})
        pos = np.zeros((count, self.pos.size), dtype=bool)
        neg = np.zeros((count, self.neg.size), dtype=bool)
        for key, (start, end, shape) in self.spans.items():
            got = (batch or {}).get(key)
            if got is not None and got[1].shape[1:] == shape:
                pos[:, start:end] = got[1].reshape(count, -1)
                neg[:, start:end] = got[2].reshape(count, -1)
        return pos, neg

    def add(self, pos: np.ndarray, neg: np.ndarray) -> bool:
        """Mark what one point reached; whether it reached a side not reached before."""
        new = bool((pos & ~self.pos).any() or (neg & ~self.neg).any())
        if new:
            self.pos |= pos
            self.neg |= neg
        return new

    def unreached(self) -> list[int]:
        """The kinks with an entry not reached on some side, in order."""
        return [key for key, (start, end, _) in self.spans.items()
                if not (self.pos[start:end].all() and self.neg[start:end].all())]

    def store(self, cover: dict[int, tuple[E, np.ndarray, np.ndarray]]) -> None:
        for key, (start, end, shape) in self.spans.items():
            cover[key] = (self.nodes[key], self.pos[start:end].reshape(shape),
                          self.neg[start:end].reshape(shape))


RAY_BATCHES = (1, RAYS - 1)  # rays evaluated together, in turn, until every side is reached


def cover_kinks(engine: Engine, lhs: E, rhs: E, names: list[str], sizes: dict[str, int],
                indices: list[dict[str, int]], taken: list[Sample],
                cover: dict[int, tuple[E, np.ndarray, np.ndarray]], rng: np.random.Generator,
                constraints: dict[str, frozenset[str]] | None, *, pool: _RayPool | None = None
                ) -> tuple[list[Sample], list[str]]:
    """Points on the sides of the kinks that the random points did not reach.

    From each sampled point in turn, along a random direction, points at distances
    ``RAY_STEPS`` both ways are evaluated (continuous values move along the ray,
    positive ones are scaled by the same powers of ten, bounded and discrete kinds
    stay); a point that reaches an unreached side of some entry of some kink is added.
    The ``RAYS`` rays are evaluated in two batches (``RAY_BATCHES``): the first ray
    alone (it often reaches everything), then, if some side is still unreached, the
    others together; points are taken in ray order, as if the rays were evaluated one
    by one.  Last, for each kink still not reached on some side (``TARGETED`` at most),
    a ray that moves only the symbols its argument is written with (``_own_symbols``:
    ``W_l`` and ``b_l`` for ``relu(z_l)`` with ``z_l = W_l @ a + b_l``): moving every
    symbol, or another one, changes a deep network's last layers by far more than the
    few entries that stay on one side.  With a ``pool`` (``sample``'s), the direction
    of each ray is drawn from the stream of its sampled point, its number and what it
    moves, and the batch of rays is the pool's.
    Returns the added points and the kinks still not reached on some side.
    """
    extra: list[Sample] = []
    if not cover or not taken:
        return extra, []
    sides = _Sides(cover)
    ray = 0
    for count in RAY_BATCHES:
        if ray >= RAYS or not sides.missing():
            break
        rays = range(ray, min(ray + count, RAYS))
        ray = rays.stop
        # every symbol moves on even rays; one symbol at a time on odd ones
        moving = [names if r % 2 == 0 else [names[(r // 2) % len(names)]] for r in rays]
        extra += _search(engine, lhs, rhs, names, sizes, indices, taken, sides, rng,
                         constraints, pool, rays, moving)
    if sides.missing():
        wanted = [tuple(_own_symbols(engine, sides.nodes[key].args[0], names))
                  for key in sides.unreached()[:TARGETED]]
        aims = [a for a in dict.fromkeys(wanted) if a]
        if aims:
            rays = range(RAYS, RAYS + len(aims))
            extra += _search(engine, lhs, rhs, names, sizes, indices, taken, sides, rng,
                             constraints, pool, rays, [list(a) for a in aims])
    if sides.missing():
        extra += _descend_sides(engine, lhs, rhs, names, sizes, indices, taken, sides,
                                constraints)
    sides.store(cover)
    unreached = []
    for node, pos_seen, neg_seen in cover.values():
        missed = [s for s, seen in (("> 0", pos_seen), ("< 0", neg_seen)) if not seen.all()]
        if missed:
            unreached.append(f"`{to_text(node.args[0])}` {' and '.join(missed)}")
    return extra, unreached


TARGETED = 8  # kinks still unreached after the RAYS that get a ray of their own
DESCENT_KINKS = 2  # scalar kinks still unreached after those that get a descent


def _descend_sides(engine: Engine, lhs: E, rhs: E, names: list[str], sizes: dict[str, int],
                   indices: list[dict[str, int]], taken: list[Sample], sides: _Sides,
                   constraints: dict[str, frozenset[str]] | None) -> list[Sample]:
    """Points on the sides of up to ``DESCENT_KINKS`` scalar kinks that the rays did not
    reach, by a descent on the argument (``_descend``, from the point nearest that
    side): a side that exists only in a small region where the argument is not
    monotone along a ray (``relu(1 - 1e6 (s - 3.3)**2)``, positive only for |s - 3.3|
    < 0.001) is missed by the rays' steps and by bisection."""
    kinds = _ray_kinds(engine, names, constraints)
    batch = evaluate(engine, lhs, rhs, stack([s.point for s in taken]), indices, cover=True)
    extra: list[Sample] = []
    for key in sides.unreached()[:DESCENT_KINKS]:
        first, end, _ = sides.spans[key]
        if end - first != 1:
            continue
        movable = [n for n in _own_symbols(engine, sides.nodes[key].args[0], names)
                   if kinds[n] in ("free", "scaled")]
        if not movable:
            continue
        for sign, seen in ((1, sides.pos), (-1, sides.neg)):
            if seen[first]:
                continue
            goal = _Side(key, sign)
            start = taken[int(np.argmin(goal.value(batch, len(taken))))].point
            hit = _descend(engine, lhs, rhs, sizes, indices, start, movable, kinds, goal)
            if hit is None:
                continue
            got = evaluate(engine, lhs, rhs, stack([hit.point]), indices, cover=True)
            pos, neg = sides.found(got.cover, 1)
            sides.add(pos[0], neg[0])
            extra.append(hit)
    return extra
PAIR_KINKS = 6  # scalar kinks whose sign combinations are searched pair by pair
PAIR_RAYS = 24  # rays (each moving one symbol) spent on unreached combinations


def cover_pairs(engine: Engine, lhs: E, rhs: E, names: list[str], sizes: dict[str, int],
                indices: list[dict[str, int]], points: list[Sample], rng: np.random.Generator,
                constraints: dict[str, frozenset[str]] | None, signs: SignAnalysis | None
                ) -> list[Sample]:
    """Points for the sign combinations of two kinks that no point reached.

    ``cover_kinks`` reaches each side of each kink, not each combination: a claim
    wrong only where ``s > 1000`` and ``s > t`` (``relu_prime(s - 1000) * relu(s - t)
    = 0``, a Huber loss claimed quadratic in its far tail), or only between two kinks
    (the derivative of a clip, ``relu_prime(s - 3) - relu_prime(s - 5)``, claimed 0),
    agrees wherever one of them fails.  For up to ``PAIR_KINKS`` kinks (``relu``,
    ``relu_prime``, ``abs``, ``sign``; scalars first), every pair of the same shape
    (entry by entry: ``relu_prime(x - 3) * relu_prime(5 - x)`` for a vector ``x``) with
    different arguments gets its four sign combinations that the arguments can take
    (``SignAnalysis``) and no point took searched for: first along rays that move one
    symbol each (a symbol the pair's arguments are written with), from the points,
    until each is reached or ``PAIR_RAYS`` rays are spent; then, for those still
    unreached, by bisecting up to ``PAIR_LINES`` lines (``_line_search``), which finds a
    piece between two kinks however narrow it is next to the rays' steps.  A
    combination still not reached may not exist (``abs(r) < d`` and ``r > 1000`` for a
    small ``d``): it blocks nothing; the points found are usable points, compared like
    any other.  On the lines, a point in a combination of the sides of all the kinks
    that no point had is taken as well (three kinks: ``s > 3`` with ``t`` between 5 and
    5.1), but such combinations are not searched for.
    """
    if len(points) == 0:
        return []
    base = stack([s.point for s in points])
    batch = evaluate(engine, lhs, rhs, base, indices, cover=True)
    every = sorted((pos.shape[1:] != (1, 1), i, key, node, pos, neg)
                   for i, (key, (node, pos, neg)) in enumerate((batch.cover or {}).items()))
    kinks = [(key, node, pos, neg) for _, _, key, node, pos, neg in every][:PAIR_KINKS]
    pairs = [(a, b) for a, b in _pairs(kinks)
             if a[2].shape[1:] == b[2].shape[1:] and a[1].args[0] != b[1].args[0]]
    if not pairs:
        return []
    shapes = {key: pos.shape[1:] for key, _, pos, _ in kinks}
    possible = {}
    for key, node, _, _ in kinks:
        can = signs.of(node.args[0]) if signs is not None else {1, -1}
        possible[key] = [s for s in (1, -1) if s in can]

    def combos(pos: dict[int, np.ndarray], neg: dict[int, np.ndarray]) -> set[tuple]:
        """The (kink, sign, kink, sign) combinations some point (and entry) of these
        reached."""
        found = set()
        for (ka, _, _, _), (kb, _, _, _) in pairs:
            for sa in possible[ka]:
                for sb in possible[kb]:
                    a = pos[ka] if sa > 0 else neg[ka]
                    b = pos[kb] if sb > 0 else neg[kb]
                    if (a & b).any():
                        found.add((ka, sa, kb, sb))
        return found

    def sides(cover: dict[int, tuple[E, np.ndarray, np.ndarray]] | None
              ) -> tuple[dict[int, np.ndarray], dict[int, np.ndarray]] | None:
        """The sides of the kinks at a batch of points (None if some kink is missing)."""
        got = {k: v for k, v in (cover or {}).items() if k in shapes
               and v[1].shape[1:] == shapes[k]}
        if len(got) < len(shapes):
            return None
        return {k: v[1] for k, v in got.items()}, {k: v[2] for k, v in got.items()}

    reached = combos({k: p for k, _, p, _ in kinks}, {k: n for k, _, _, n in kinks})
    wanted = [(ka, sa, kb, sb) for (ka, _, _, _), (kb, _, _, _) in pairs
              for sa in possible[ka] for sb in possible[kb]
              if (ka, sa, kb, sb) not in reached]
    nodes = {key: node for key, node, _, _ in kinks}

    def aims(limit: int) -> Iterator[tuple[int, str]]:
        """(searches so far, the symbol to move): for each wanted combination, the
        symbols its pair is written with, while it is unreached (looked at before each
        search: ``reached`` grows as they find points), up to ``limit`` searches."""
        count = 0
        for combo in wanted:
            ka, _, kb, _ = combo
            own = _own_symbols(engine, nodes[ka].args[0], names) + \
                _own_symbols(engine, nodes[kb].args[0], names)
            for name in dict.fromkeys(own):
                if count >= limit or combo in reached:
                    break
                count += 1
                yield count, name
            if count >= limit:
                return

    extra: list[Sample] = []
    for rays, name in aims(PAIR_RAYS):
        start = points[rays % len(points)]
        point = _rays(engine, names, [start.point], rng, constraints, [[name]])
        got = evaluate(engine, lhs, rhs, point, indices, cover=True)
        found = sides(got.cover)
        if found is None:
            continue
        pos, neg = found
        errors = batch_errors(got.lhs, got.rhs)
        mags = _batch_magnitudes(got.lhs, got.rhs)
        for p in np.flatnonzero(got.ok):
            new = combos({k: v[p:p + 1] for k, v in pos.items()},
                         {k: v[p:p + 1] for k, v in neg.items()}) - reached
            if new:
                reached |= new
                extra.append(_sample(sizes, point, indices, got, errors, mags, int(p)))
    if all(w in reached for w in wanted):
        return extra
    known = sides(batch.cover)
    states = set() if known is None else {_state(*known, p) for p in range(len(points))}

    def take(pos: dict[int, np.ndarray], neg: dict[int, np.ndarray], keep: bool = True
             ) -> bool:
        """Whether a point with these sides is wanted (and, with ``keep``, taken)."""
        nonlocal reached
        new = combos(pos, neg) - reached
        state = _state(pos, neg, 0)
        wanted = bool(new) or state not in states
        if keep:
            reached |= new
            states.add(state)
        return wanted

    lines = 0
    on_lines: list[tuple[Sample, str]] = []  # points the lines found, and what they moved
    for lines, name in aims(PAIR_LINES):
        start = points[lines % len(points)]
        hits = _line_search(engine, lhs, rhs, names, sizes, indices, start.point, name,
                            rng, constraints, list(nodes), shapes, take)
        extra += hits
        on_lines += [(h, name) for h in hits]
    # From the points the lines found (in a piece no point was in), lines moving the
    # other symbols the kinks are written with: the other kinks' sides there.
    movable = list(dict.fromkeys(n for node in nodes.values()
                                 for n in _own_symbols(engine, node.args[0], names)))
    for sample, moved in on_lines:
        for name in movable:
            if lines >= PAIR_LINES + PAIR_FOLLOW or name == moved:
                continue
            lines += 1
            extra += _line_search(engine, lhs, rhs, names, sizes, indices, sample.point,
                                  name, rng, constraints, list(nodes), shapes, take)
    return extra


UNIFORM_KINKS = 4  # vector kinks whose entries are searched all on one side at once
UNIFORM_LINES = 4  # lines (one symbol each, along the all-ones direction) for them


def _merge_uniform(into: set[tuple[int, int]],
                   found: dict[int, tuple[E, np.ndarray, np.ndarray]] | None,
                   points: np.ndarray) -> None:
    """Add to ``into`` the (kink, side) pairs of vector kinks that some point of
    ``points`` had with every entry on that side (``cover_uniform``)."""
    if not len(points):
        return
    for key, (_, pos, neg) in (found or {}).items():
        if pos[0].size < 2:
            continue
        for side, seen in ((1, pos), (-1, neg)):
            if (key, side) not in into and \
                    seen[points].reshape(len(points), -1).all(axis=1).any():
                into.add((key, side))


def cover_uniform(engine: Engine, lhs: E, rhs: E, names: list[str], sizes: dict[str, int],
                  indices: list[dict[str, int]], points: list[Sample],
                  cover: dict[int, tuple[E, np.ndarray, np.ndarray]],
                  uniform: set[tuple[int, int]],
                  constraints: dict[str, frozenset[str]] | None, signs: SignAnalysis | None
                  ) -> list[Sample]:
    """Points where every entry of a vector kink is on the same side, where no point was.

    ``cover_kinks`` reaches each side of each entry, and random points put a vector's
    entries on both sides: a claim wrong only where the whole mask is 1 (``det(diag(
    relu_prime(x - 1))) * s = 0``, false where every ``x_k > 1``: one point in 10^4 at
    K = 5) agrees everywhere else.  For up to ``UNIFORM_KINKS`` vector kinks missing
    "all positive" or "all negative" (where the argument can take that sign), the
    symbols the argument is written with move along the all-ones direction (positive
    kinds by powers of ten), by 1, 10, 100 and 1e4 each way (``UNIFORM_LINES`` lines,
    evaluated in one batch): every entry of an argument linear in them moves the same
    way.  Which combinations the drawn points had is ``uniform`` (``_merge_uniform``).
    """
    if not points:
        return []
    wanted: list[tuple[int, int, E]] = []
    for key, (node, pos, _) in cover.items():
        if pos.size < 2 or len({k for k, _, _ in wanted}) >= UNIFORM_KINKS:
            continue
        can = signs.of(node.args[0]) if signs is not None else {1, -1}
        wanted += [(key, side, node) for side in (1, -1)
                   if side in can and (key, side) not in uniform]
    if not wanted:
        return []
    kinds = _ray_kinds(engine, names, constraints)
    steps = np.array([1.0, -1.0, 10.0, -10.0, 100.0, -100.0, 1e4, -1e4])
    scaled = np.array([10.0, 0.1, 1e3, 1e-3, 1e6, 1e-6, 1e12, 1e-12])  # positive kinds
    start = points[0].point
    lines = [(key, side, name) for key, side, node in wanted
             for name in _own_symbols(engine, node.args[0], names)
             if kinds[name] in ("free", "scaled", "symmetric")][:UNIFORM_LINES]
    if not lines:
        return []
    # every line in one batch: ``len(steps)`` points per line, in turn
    n = len(steps)
    values: dict[str, Any] = {}
    for name, v in start.values.items():
        values[name] = np.repeat(entry_of(v)[None], n * len(lines), axis=0)
    for i, (_, _, name) in enumerate(lines):
        block = values[name][i * n:(i + 1) * n]
        if kinds[name] == "scaled":
            block *= scaled[:, None, None]
        else:
            block += steps[:, None, None]
    point = Point(dict(start.sizes), values, batched=True)
    got = evaluate(engine, lhs, rhs, point, indices, cover=True)
    errors = batch_errors(got.lhs, got.rhs)
    mags = _batch_magnitudes(got.lhs, got.rhs)
    extra: list[Sample] = []
    done: set[tuple[int, int]] = set()
    for i, (key, side, _) in enumerate(lines):
        record = (got.cover or {}).get(key)
        if record is None or (key, side) in done:
            continue
        seen = (record[1] if side > 0 else record[2])[i * n:(i + 1) * n]
        for p in np.flatnonzero(seen.reshape(n, -1).all(axis=1) & got.ok[i * n:(i + 1) * n]):
            # (a difference here that is rounding is set aside by the pipeline's
            # high-precision check of refutations, exact.disagreements: not judged here)
            extra.append(_sample(sizes, point, indices, got, errors, mags, i * n + int(p)))
            done.add((key, side))
            break
    return extra


DOMAIN_NODES = 4  # domain functions (sqrt, log, fractional powers) searched outside
DESCENT_STEPS = 6  # steps of the descent on a domain function's argument
ZOOM_POINTS = 16  # points of each zoom of a line minimisation
ZOOM_LEVELS = 16  # zooms per line (each narrows the bracket eightfold)
_LINE_T = np.concatenate([[0.0], 10.0 ** np.arange(-6, 7)])  # distances along a descent


def domain_search(engine: Engine, lhs: E, rhs: E, names: list[str], sizes: dict[str, int],
                  indices: list[dict[str, int]], points: list[Sample],
                  constraints: dict[str, frozenset[str]] | None, signs: SignAnalysis | None
                  ) -> list[Sample]:
    """Points where one side is outside a function's domain and the other is defined,
    where no point of ``points`` was outside it (for the high-precision check, which
    refutes with ``domain``).

    A side undefined only in a small region (``sqrt(s**2 - 1e-6)``, |s| < 0.001; ``x.T
    @ x < 0.01``) is missed by random points, and rays and lines cross it only by
    chance: its argument is not monotone along them.  For each of up to
    ``DOMAIN_NODES`` functions defined only where their argument is not negative
    (``sqrt``, ``log``, a power with an exponent that is not an integer) whose argument
    can be negative (``SignAnalysis``) and was not at any point, the smallest entry of
    the argument is minimised from the point where it is smallest: ``DESCENT_STEPS``
    steps along the negative finite-difference gradient in the symbols the argument is
    written with (free kinds as they are, positive kinds through their logarithm), each
    a line minimisation (``ZOOM_LEVELS`` zooms of ``ZOOM_POINTS`` points).  The first
    point of a search where the argument is negative and exactly one side is finite is
    returned; a point where both sides are undefined says nothing and ends that search.
    """
    if not points:
        return []
    base = stack([s.point for s in points])
    batch = evaluate(engine, lhs, rhs, base, indices, cover=True)
    kinds = _ray_kinds(engine, names, constraints)
    found: list[Sample] = []
    for key, (node, low) in list((batch.domains or {}).items())[:DOMAIN_NODES]:
        if not np.all(np.isfinite(low)) or (low < 0).any():
            continue  # some point was outside (the draws judge it) or not evaluated
        if signs is not None and -1 not in signs.of(node.args[0]):
            continue
        movable = [n for n in _own_symbols(engine, node.args[0], names)
                   if kinds[n] in ("free", "scaled")]
        if not movable:
            continue
        start = points[int(np.argmin(low))].point
        hit = _descend(engine, lhs, rhs, sizes, indices, start, movable, kinds, _Outside(key))
        if hit is not None:
            found.append(hit)
    return found


class _Outside:
    """``_descend``'s goal for ``domain_search``: the argument of the domain node ``key``
    below 0, with exactly one side finite there."""

    steps = DESCENT_STEPS

    def __init__(self, key: int) -> None:
        self.key = key

    def value(self, got: Batch, n: int) -> np.ndarray:
        entry = (got.domains or {}).get(self.key)
        low = entry[1] if entry is not None else np.full(n, np.inf)
        return np.where(np.isfinite(low), low, np.inf)

    def wanted(self, got: Batch, low: np.ndarray) -> tuple[np.ndarray, bool]:
        """The rows wanted, and whether the search is over: outside with both sides
        undefined (nothing to find there)."""
        outside = low < 0
        # near a kink too (a hole inside the kink margin, sqrt(abs(s) - 0.001)): the
        # point is judged in high precision like every doubtful point
        none = np.zeros(len(low), dtype=bool)
        near = got.near_one_sided if got.near_one_sided is not None else none
        both_finite_near = got.near if got.near is not None else none
        either = got.one_sided | near
        return outside & either, bool((outside & ~got.ok & ~either & ~both_finite_near).any())


class _Side:
    """``_descend``'s goal for ``cover_kinks``: the argument of the kink ``key`` (a
    scalar) on the side ``sign``, at a usable point (or one closer to a kink than the
    margin that high precision judges as float64 does)."""

    steps = DESCENT_STEPS

    def __init__(self, key: int, sign: int) -> None:
        self.key, self.sign = key, sign

    def value(self, got: Batch, n: int) -> np.ndarray:
        # the recorded smallest entry of -sign * arg (so that the goal is a value < 0)
        entry = (got.kink_values or {}).get(-self.key if self.sign > 0 else self.key)
        low = entry[1] if entry is not None else np.full(n, np.inf)
        return np.where(np.isfinite(low), low, np.inf)

    def wanted(self, got: Batch, low: np.ndarray) -> tuple[np.ndarray, bool]:
        """Usable points past the margin, or closer to a kink than the margin (a side
        that exists only there: ``_descend`` has high precision judge them)."""
        near = got.near if got.near is not None else np.zeros(len(low), dtype=bool)
        return ((low < -KINK_MARGIN) & got.ok) | ((low < 0) & near), False


class _AllSides(_Side):
    """``_descend``'s goal for ``cover_all_signs``: every scalar kink of ``keys`` on the
    side ``sign`` at once (the largest of their ``-sign * arg`` below 0)."""

    steps = 4 * DESCENT_STEPS  # a descent on several hinges zigzags between them

    def __init__(self, keys: list[int], sign: int) -> None:
        super().__init__(0, sign)
        self.keys = keys

    def largest(self, got: Batch, n: int) -> np.ndarray:
        out = np.full(n, -np.inf)
        for key in self.keys:
            out = np.maximum(out, _Side(key, self.sign).value(got, n))
        return out

    def value(self, got: Batch, n: int) -> np.ndarray:
        """A penalty the descent can follow (the largest of several is not smooth: a
        descent on it zigzags): the squares of how far each kink is from its side,
        plus the margin, summed."""
        out = np.zeros(n)
        with np.errstate(over="ignore", invalid="ignore"):
            for key in self.keys:
                v = _Side(key, self.sign).value(got, n)
                out = out + np.maximum(v + KINK_MARGIN, 0.0) ** 2
        return np.where(np.isnan(out), np.inf, out)

    def wanted(self, got: Batch, low: np.ndarray) -> tuple[np.ndarray, bool]:
        return super().wanted(got, self.largest(got, len(low)))


SIGN_KINKS = 6  # scalar kinks whose signs are sought all positive, then all negative


def cover_all_signs(engine: Engine, lhs: E, rhs: E, names: list[str], sizes: dict[str, int],
                    indices: list[dict[str, int]], points: list[Sample],
                    constraints: dict[str, frozenset[str]] | None, signs: SignAnalysis | None
                    ) -> list[Sample]:
    """Points where three or more scalar kinks are all positive (or all negative) at
    once, where no point was: ``cover_pairs`` reaches the combinations of two, and a
    claim false only in a small triangle (``relu_prime(s) * relu_prime(t) *
    relu_prime(0.001 - s - t) = 0``) agrees everywhere else.  A descent
    (``_descend``) on the largest of the kinks' ``-sign * arg``, from the point where
    it is smallest, moving the symbols the arguments are written with."""
    if not points:
        return []
    batch = evaluate(engine, lhs, rhs, stack([s.point for s in points]), indices, cover=True)
    keys = [key for key, (node, pos, _) in (batch.cover or {}).items()
            if pos[0].size == 1][:SIGN_KINKS]
    if len(keys) < 3:
        return []
    nodes = {key: (batch.cover or {})[key][0] for key in keys}
    kinds = _ray_kinds(engine, names, constraints)
    movable = [n for n in dict.fromkeys(m for key in keys
                                        for m in _own_symbols(engine, nodes[key].args[0], names))
               if kinds[n] in ("free", "scaled")]
    if not movable:
        return []
    extra: list[Sample] = []
    for sign in (1, -1):
        if signs is not None and any(sign not in signs.of(nodes[k].args[0]) for k in keys):
            continue
        goal = _AllSides(keys, sign)
        if (goal.largest(batch, len(points)) < 0).any():
            continue  # some point has them all on that side already
        start = points[int(np.argmin(goal.value(batch, len(points))))].point
        hit = _descend(engine, lhs, rhs, sizes, indices, start, movable, kinds, goal)
        if hit is not None:
            extra.append(hit)
    return extra


def _descend(engine: Engine, lhs: E, rhs: E, sizes: dict[str, int],
             indices: list[dict[str, int]], start: Point, movable: list[str],
             kinds: dict[str, str], goal: _Outside | _Side) -> Sample | None:
    """A descent on ``goal.value`` (``domain_search``, ``cover_kinks``) from ``start``,
    moving ``movable``, to a point ``goal`` wants."""
    values = {n: np.asarray(v, dtype=float) for n, v in start.values.items()}
    shapes = {n: entry_of(values[n]).shape for n in movable}
    sizes_of = [int(np.prod(shapes[n])) for n in movable]
    y = np.concatenate([(np.log(values[n]) if kinds[n] == "scaled" else values[n]).ravel()
                        for n in movable])
    if not np.all(np.isfinite(y)):
        return None

    def point(rows: np.ndarray) -> Point:
        out: dict[str, Any] = {n: _held(v, len(rows)) for n, v in values.items()
                               if n not in shapes}
        at = 0
        for n, k in zip(movable, sizes_of):
            part = rows[:, at:at + k]
            at += k
            if kinds[n] == "scaled":
                with np.errstate(over="ignore"):
                    part = np.exp(part)
            out[n] = part.reshape(len(rows), *shapes[n])
        return Point(dict(start.sizes), out, batched=True)

    def look(rows: np.ndarray) -> tuple[np.ndarray, Sample | None, bool]:
        """The objective at each row, a wanted point (if any), and whether the search
        is over (``Objective.wanted``)."""
        pt = point(rows)
        got = evaluate(engine, lhs, rhs, pt, indices, cover=True)
        low = goal.value(got, len(rows))
        want, dead = goal.wanted(got, low)
        for p in np.flatnonzero(want)[:1]:
            errors = batch_errors(got.lhs, got.rhs)
            mags = _batch_magnitudes(got.lhs, got.rhs)
            found = _sample(sizes, pt, indices, got, errors, mags, int(p))
            if got.ok[p] or isinstance(goal, _Outside) or \
                    _judged_alike(engine, lhs, rhs, found):
                return low, found, False
        return low, None, dead

    for _ in range(goal.steps):
        h = 1e-6 * np.maximum(1.0, np.abs(y))
        rows = np.vstack([y, y + np.diag(h)])
        low, hit, dead = look(rows)
        if hit is not None or dead:
            return hit
        grad = (low[1:] - low[0]) / h
        norm = float(np.linalg.norm(grad))
        if not np.isfinite(norm) or norm == 0.0:
            return None
        d = -grad / norm
        ts = _LINE_T
        low, hit, dead = look(y + ts[:, None] * d)
        if hit is not None or dead:
            return hit
        i = int(np.argmin(low))
        lo, hi = ts[max(i - 1, 0)], ts[min(i + 1, len(ts) - 1)]
        best = ts[i]
        for _ in range(ZOOM_LEVELS):
            tz = np.linspace(lo, hi, ZOOM_POINTS)
            low, hit, dead = look(y + tz[:, None] * d)
            if hit is not None or dead:
                return hit
            j = int(np.argmin(low))
            best = tz[j]
            lo, hi = tz[max(j - 1, 0)], tz[min(j + 1, ZOOM_POINTS - 1)]
        y = y + best * d
    return None


def _state(pos: dict[int, np.ndarray], neg: dict[int, np.ndarray], p: int) -> bytes:
    """The sides of every scalar kink at point ``p``, as a key (a vector's entries would
    make a state of every entry's sides: far too many to take a point for each)."""
    return b"".join(np.packbits(np.concatenate([pos[k][p].ravel(), neg[k][p].ravel()])).tobytes()
                    for k in sorted(pos) if pos[k][p].size == 1)


PAIR_LINES = 4  # lines (each moving one symbol) bisected for combinations still unreached
PAIR_FOLLOW = 2  # lines more, from the points the lines found, moving another symbol
LINE_LEVELS = 48  # bisection steps along a line (``_line_search``)
LINE_INTERVALS = 32  # intervals of a line bisected at once


def _line_search(engine: Engine, lhs: E, rhs: E, names: list[str], sizes: dict[str, int],
                 indices: list[dict[str, int]], base: Point, name: str,
                 rng: np.random.Generator, constraints: dict[str, frozenset[str]] | None,
                 keys: list[int], shapes: dict[int, tuple[int, ...]], take: Any
                 ) -> list[Sample]:
    """Points in the pieces of a line that the kinks ``keys`` cut it into.

    The line moves ``name`` alone from ``base`` (along a random direction; a positive
    kind multiplicatively, by powers of ten): a kink splits it where its argument
    changes sign, so the sides of several kinks combine in pieces, and a piece can be
    far narrower than the steps of a ray (``relu_prime(s - 3) * relu_prime(3.01 - s)``:
    ``s`` between 3 and 3.01).  The line is evaluated at the ray distances; every
    interval whose ends have different sides of some kink is bisected (``LINE_LEVELS``
    steps, ``LINE_INTERVALS`` intervals at a time), so every piece wider than what
    bisection resolves is reached.  ``take(pos, neg)`` gets the sides of each usable
    point in turn (one-point arrays per key, of the kink's ``shapes``: the entries of a
    vector's kink cut the line each at its own place) and says whether the point is
    wanted.
    """
    kind = _ray_kinds(engine, [name], constraints)[name]
    if kind == "fixed":
        return []
    x = entry_of(base.values[name])
    entry = x.shape
    if kind == "scaled":
        grid = np.linspace(-12.0, 12.0, 25)  # powers of ten
        direction = np.ones(entry)
    else:
        steps = np.array(RAY_STEPS)
        grid = np.concatenate([-steps[::-1], [0.0], steps])
        direction = rng.normal(size=entry)
        if kind == "symmetric":
            direction = direction + direction.T
        elif kind == "zerosum":
            direction = direction - direction.mean()
        direction = direction / max(float(np.abs(direction).max()), 1e-300)
    others = {n: np.asarray(base.values[n], dtype=float) for n in names if n != name}

    def at(u: np.ndarray) -> Point:
        values = {n: _held(v, len(u)) for n, v in others.items()}
        values[name] = (x[None] * 10.0 ** u[:, None, None] if kind == "scaled"
                        else x[None] + u[:, None, None] * direction[None])
        return Point(dict(base.sizes), values, batched=True)

    extra: list[Sample] = []
    width = sum(int(np.prod(shapes[key])) for key in keys)
    moving = np.zeros(width, dtype=bool)  # entries on some side somewhere on the line

    def run(u: np.ndarray) -> np.ndarray:
        """The sides of every kink's entries at the points ``u`` of the line, one row a
        point (taking the wanted points)."""
        point = at(u)
        got = evaluate(engine, lhs, rhs, point, indices, cover=True)
        cover = got.cover or {}
        pos, neg = {}, {}
        for key in keys:
            if key in cover and cover[key][1].shape[1:] == shapes[key]:
                pos[key], neg[key] = cover[key][1], cover[key][2]
            else:  # not reached at these points: neither side
                pos[key] = neg[key] = np.zeros((len(u), *shapes[key]), dtype=bool)
        state = np.concatenate([a.reshape(len(u), -1) for key in keys
                                for a in (pos[key], neg[key])], axis=1)
        # An entry on neither side is exactly on its kink: by structure (a one-hot entry,
        # the same all along the line) or because bisection landed on it (s = 1.0 for
        # relu_prime(s - 1)), where the kink convention decides a value no neighbour has;
        # the second kind is dropped (an entry that is on some side elsewhere on the line)
        sided = np.concatenate([(pos[key] | neg[key]).reshape(len(u), -1) for key in keys],
                               axis=1)
        moving[:] = moving | sided.any(axis=0)
        on_kink = (~sided & moving).any(axis=1)
        near = got.near if got.near is not None else np.zeros(len(u), dtype=bool)
        usable = np.flatnonzero((got.ok | near) & ~on_kink)
        if len(usable):
            errors = batch_errors(got.lhs, got.rhs)
            mags = _batch_magnitudes(got.lhs, got.rhs)
        for p in usable:
            sides = ({k: v[p:p + 1] for k, v in pos.items()},
                     {k: v[p:p + 1] for k, v in neg.items()})
            candidate = _sample(sizes, point, indices, got, errors, mags, int(p))
            if got.ok[p]:
                if max(candidate.errors) > AGREE and _rounding_only(engine, lhs, rhs, candidate):
                    continue
            elif not take(*sides, keep=False) or not _judged_alike(engine, lhs, rhs, candidate):
                continue  # closer to a kink than the margin: high precision must agree
            if take(*sides):
                extra.append(candidate)
        return state

    state = run(grid)
    intervals = [(grid[i], grid[i + 1], state[i], state[i + 1]) for i in range(len(grid) - 1)
                 if not np.array_equal(state[i], state[i + 1])]
    for _ in range(LINE_LEVELS):
        intervals = [iv for iv in intervals if iv[0] < (iv[0] + iv[1]) / 2 < iv[1]]
        if not intervals:
            break
        intervals = intervals[:LINE_INTERVALS]
        mids = np.array([(a + b) / 2 for a, b, _, _ in intervals])
        got = run(mids)
        nxt = []
        for (a, b, sa, sb), m, sm in zip(intervals, mids, got):
            if not np.array_equal(sa, sm):
                nxt.append((a, m, sa, sm))
            if not np.array_equal(sm, sb):
                nxt.append((m, b, sm, sb))
        intervals = nxt
    return extra


def _held(value: object, count: int) -> np.ndarray:
    """An unbatched value, the same at ``count`` points of a batch (a read-only view)."""
    entry = entry_of(value)
    return np.broadcast_to(entry[None], (count, *entry.shape))


def _rounding_only(engine: Engine, lhs: E, rhs: E, sample: Sample) -> bool:
    """Whether high precision finds the sides equal at a point where float64 does not: a
    line's far end (values of 1e12 and more) cancels terms float64 cannot (``r - relu(r -
    d)`` at ``r = 1e25`` is 0, not ``d``).  Such a point says nothing about the claim."""
    judged = judge(engine, lhs, rhs, [sample])
    return judged.status == "agree" and judged.points == 1


def _judged_alike(engine: Engine, lhs: E, rhs: E, sample: Sample) -> bool:
    """Whether high precision judges a point closer to a kink than ``KINK_MARGIN`` as
    float64 does: the sides differ in both (a real difference), or agree in both.  A
    piece between two kinks narrower than the margin (``relu(s) - relu(s - 0.001)``
    claimed ``0.001 * relu_prime(s)``, false only for ``s`` in (0, 0.001)) has no point
    away from the margin; its points are usable once high precision, which takes the
    point exactly and decides each kink's side in exact arithmetic, agrees."""
    judged = judge(engine, lhs, rhs, [sample])
    worst = max(sample.errors)
    if judged.status == "differ":
        return worst >= DISAGREE
    return judged.status == "agree" and judged.points == 1 and worst <= AGREE


def _ray_kinds(engine: Engine, names: list[str], constraints: dict[str, frozenset[str]] | None
               ) -> dict[str, str]:
    """How a ray moves each symbol: ``fixed`` (a kind it cannot move and keep), ``scaled``
    (positive kinds, by powers of ten), ``symmetric``, ``zerosum`` (entries summing to 1,
    a condition ``needs-assumption`` tries: along a direction whose entries sum to 0)
    or ``free``."""
    kinds = {}
    for name in names:
        tags = (constraints or {}).get(name, engine.symbols[name].constraints)
        zero_sum = "sum1" in tags and not tags & _FIXED_ON_RAYS - {"sum1"} \
            and bool(engine.symbols[name].shape)
        kinds[name] = ("zerosum" if zero_sum and not tags & {"positive", "spd", "symmetric"}
                       else "fixed" if tags & _FIXED_ON_RAYS else "scaled"
                       if tags & {"positive", "spd"} else "symmetric"
                       if "symmetric" in tags else "free")
    return kinds


def _pairs(items: list) -> list[tuple]:
    return [(a, b) for i, a in enumerate(items) for b in items[i + 1:]]


def _search(engine: Engine, lhs: E, rhs: E, names: list[str], sizes: dict[str, int],
            indices: list[dict[str, int]], taken: list[Sample], sides: _Sides,
            rng: np.random.Generator, constraints: dict[str, frozenset[str]] | None,
            pool: _RayPool | None, rays: range, moving: list[list[str]]) -> list[Sample]:
    """The points of the rays ``rays`` (moving ``moving``) that reach a side not reached
    before, in ray order (``cover_kinks``)."""
    bases = [taken[r % len(taken)] for r in rays]
    shared = None
    if pool is None:
        point = _rays(engine, names, [b.point for b in bases], rng, constraints, moving)
    else:
        point, shared = pool.rays(engine, names, bases, rays, constraints, moving)
    batch = evaluate(engine, lhs, rhs, point, indices, cover=True, shared=shared)
    errors = batch_errors(batch.lhs, batch.rhs)
    mags = _batch_magnitudes(batch.lhs, batch.rhs)
    pos, neg = sides.found(batch.cover, point.size)
    extra = []
    for p in np.flatnonzero(batch.ok):
        if sides.add(pos[p], neg[p]):
            extra.append(_sample(sizes, point, indices, batch, errors, mags, int(p)))
    return extra


def _own_symbols(engine: Engine, arg: E, names: list[str]) -> list[str]:
    """The symbols ``arg`` is written with: through a chain of names defined as names to
    the first expression, without entering the definitions that one uses."""
    seen: set[str] = set()
    while arg.op == "ref" and str(arg.val) in engine.definitions and arg.val not in seen:
        seen.add(str(arg.val))
        arg = engine.definitions[str(arg.val)]
    own = {str(n.val) for n in arg.walk() if n.op == "sym"}
    return [n for n in names if n in own]


def _possible(cover: dict[int, tuple[E, np.ndarray, np.ndarray]], signs: SignAnalysis
              ) -> dict[int, tuple[E, np.ndarray, np.ndarray]]:
    """``cover`` with every side the argument cannot take (``SignAnalysis``) marked reached:
    only sides that exist are searched for."""
    out = {}
    for key, (node, pos, neg) in cover.items():
        can = signs.of(node.args[0])
        out[key] = (node, pos | (1 not in can), neg | (-1 not in can))
    return out


_STEPS = np.array([sign * t for t in RAY_STEPS for sign in (1.0, -1.0)])  # along a ray
_SCALED = 10.0 ** (np.sign(_STEPS) * np.log10(np.abs(_STEPS)))  # 10**(+-k): positive kinds


def _ray(engine: Engine, names: list[str], base: Point, rng: np.random.Generator,
         constraints: dict[str, frozenset[str]] | None, moving: list[str]) -> Point:
    """A batch of points along a random direction from ``base`` (see ``cover_kinks``)."""
    return _rays(engine, names, [base], rng, constraints, [moving])


def _rays(engine: Engine, names: list[str], bases: list[Point],
          rng: np.random.Generator | list[np.random.Generator],
          constraints: dict[str, frozenset[str]] | None, moving: list[list[str]]) -> Point:
    """The rays from ``bases[r]`` moving ``moving[r]``, in turn, as one batch.

    Ray by ray, the direction's entries are drawn with one ``rng.normal`` call for all
    the symbols that move freely: the same numbers as one call per symbol in turn
    (NumPy fills a normal array value after value), as ``_ray`` drew them.  ``rng`` may
    be a list: a stream for each ray.
    """
    count = len(_STEPS)
    kinds = _ray_kinds(engine, names, constraints)
    values: dict[str, np.ndarray] = {}
    for name in names:
        values[name] = np.empty((len(bases) * count, *entry_of(bases[0].values[name]).shape))
    for r, (base, move) in enumerate(zip(bases, moving)):
        moves = set(move)
        at = slice(r * count, (r + 1) * count)
        entries = {n: np.asarray(base.values[n], dtype=float).reshape(values[n].shape[1:])
                   for n in names}
        free = [n for n in names if n in moves and kinds[n] in ("free", "symmetric", "zerosum")]
        size = sum(entries[n].size for n in free)
        stream = rng[r] if isinstance(rng, list) else rng
        direction = stream.normal(size=size) if size else np.zeros(0)
        start = 0
        for name in names:
            x, how = entries[name], kinds[name] if name in moves else "fixed"
            if how == "fixed":
                values[name][at] = x[None]
            elif how == "scaled":
                values[name][at] = x[None] * _SCALED[:, None, None]
            else:
                v = direction[start:start + x.size].reshape(x.shape)
                start += x.size
                if how == "symmetric":
                    v = v + v.T
                elif how == "zerosum":
                    v = v - v.mean()
                v = v / max(float(np.abs(v).max()), 1e-300)
                values[name][at] = x[None] + _STEPS[:, None, None] * v[None]
    return Point(dict(bases[0].sizes), values, batched=True)


def find_counterexample(engine: Engine, lhs: E, rhs: E, free: frozenset[str],
                        fallback: Sample, rng: np.random.Generator) -> Counterexample:
    """A point where the sides differ, with small integers where that works."""
    names = sorted(engine.used_symbols(lhs) | engine.used_symbols(rhs))
    sizes = smallest_setting(engine.derivation.dims, engine.derivation.size_floor)
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
