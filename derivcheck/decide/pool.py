"""Random points shared by the equations of one derivation.

The numeric check of an equation draws its points (``points.sample``) in batches, each
from a stream of its own that depends on the seed, the file's name, the symbols the
equation uses and the kinds they are drawn under, the sizes, and which batch it is (the
round of draws, or the sampled point and the number of a ray): never on the equation.
Two equations over the same symbols see the same batches, and what they both evaluate
there (the definitions: a deep network's forward pass; a gradient's chain, once its
nodes are interned) is computed once (``engine.shared``).  A step's points, so its
verdict and evidence, do not depend on which other steps are in the file: a batch is
the same whoever asks for it first, and values kept or computed again are the same.

The size settings come from the derivation's stream (the seed and the file's name):
the same for every equation of a file, as they must be for the points to be shared.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from derivcheck.decide.options import Options
from derivcheck.decide.sampling import size_settings, stream
from derivcheck.decide.signs import SignAnalysis
from derivcheck.engine.core import Engine
from derivcheck.engine.numeric import Point
from derivcheck.engine.shared import Plan, Plans, SharedValues
from derivcheck.ir import E, intern

# Bytes of batches (their points and the values kept there) a pool keeps; past it the
# least recently used batch is dropped (and drawn and computed again if asked for: the
# same points and values, only slower).
POOL_BYTES = 96 * 2**20


@dataclass
class Drawn:
    """One batch of points of a pool, with what is kept there."""

    point: Point
    values: SharedValues


class PointPool:
    """The batches of points of one derivation's equations (see the module docstring)."""

    def __init__(self, engine: Engine, options: Options) -> None:
        self.seed = options.seed
        self.name = Path(engine.derivation.path).name
        self.plans = Plans(engine.definitions)
        self.settings = size_settings(engine.derivation.dims, max(options.settings, 1),
                                      self.stream("sizes"), engine.derivation.size_floor)
        self._table: dict[E, E] = {}
        self._batches: OrderedDict[tuple, Drawn] = OrderedDict()
        self.signs = SignAnalysis(engine)  # which sides of its kinks can exist

    def stream(self, *parts: object) -> np.random.Generator:
        """The random stream of ``parts`` in this derivation."""
        return stream(self.seed, self.name, "shared points", *parts)

    def intern(self, node: E) -> E:
        """``node``, its sub-expressions replaced by equal ones met before (``ir.intern``)."""
        return intern(node, self._table)

    def plan(self, node: E) -> Plan:
        return self.plans.plan(node)

    def batch(self, key: tuple, make: Callable[[], Point]) -> Drawn:
        """The batch named ``key``, drawn by ``make`` the first time (``make`` draws from
        streams that depend on ``key`` alone)."""
        hit = self._batches.get(key)
        if hit is None:
            self._evict()
            hit = Drawn(make(), SharedValues(self.plans))
            self._batches[key] = hit
        else:
            self._batches.move_to_end(key)
        return hit

    def _evict(self) -> None:
        sizes = {k: _nbytes(b) for k, b in self._batches.items()}
        total = sum(sizes.values())
        while self._batches and total > POOL_BYTES:
            key, _ = self._batches.popitem(last=False)
            total -= sizes[key]


def _nbytes(drawn: Drawn) -> int:
    point = sum(np.asarray(v).nbytes for v in drawn.point.values.values())
    return point + drawn.values.nbytes


def point_pool(engine: Engine, options: Options) -> PointPool:
    """The pool of ``engine``'s derivation for these options (made on first use)."""
    key = ("point pool", options.seed, max(options.settings, 1), options.points)
    pool = engine.shared.get(key)
    if pool is None:
        pool = PointPool(engine, options)
        engine.shared[key] = pool
    return pool  # type: ignore[return-value]
