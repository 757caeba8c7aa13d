"""Values computed once at a batch of points and kept for every equation evaluated there.

The steps of a derivation are checked at the same points (``decide.pool``), and most of
what they evaluate is the same: a deep network's forward pass (its definitions) and the
chain of its gradient.  An evaluator given a ``SharedValues`` keeps the values of the
*plain* nodes there, for the next evaluator at the same batch, instead of in its own
memo.  A plain node has no free or bound index, no Jacobian seed below it (through
definitions too), so its value depends on the points alone: each is computed once per
batch, whichever equation asks first, and the same in every case.

What an evaluation also records must not depend on what was computed before: for the
plain kinks (``relu``, ``relu_prime``, ``abs``, ``sign``, a root of an even power) the
record of their arguments (how close to the kink, which side each entry was on) is kept
with the values, and an evaluator adds the record of every plain kink its expression
reaches (``Plan.kinks``, found by walking the expression, not by what it computed).  Its
operation count adds every plain node its expression reaches (``Plan.plain``), as if it
had computed them.
So values, kink records and operation counts are those of an evaluator with no shared
values (``tests/test_shared_points.py``).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from derivcheck.ir import E

Cover = dict[int, tuple[E, np.ndarray, np.ndarray]]  # id(kink) -> (kink, > 0, < 0)
KINK_FUNCTIONS = frozenset({"relu", "relu_prime", "abs", "sign"})
_NOT_PLAIN = frozenset({"idx", "Sum", "jac", "seed"})


def hidden_kink(node: E, definitions: Mapping[str, E] | None = None) -> E | None:
    """The even power a root (or a log) is taken of, if ``node`` is such a node, else
    None.

    ``sqrt(q**2)`` is ``abs(q)``, kinked where ``q = 0`` although its argument ``q**2``
    never changes sign: for ``sqrt(b)``, ``b**r`` with ``r`` not an integer, or
    ``log(b)`` (``exp(log(q**2) / 2)`` is ``abs(q)`` too), where ``b`` is ``q**(2k)``
    or ``q * q`` (written there, or the body of a defined name: ``u: q**2``, ``r:
    sqrt(u)``), ``b`` is recorded as a kink of ``q`` (its first argument), so points
    are sought on both sides of ``q = 0``.
    """
    if not ((node.op == "fn" and node.val in ("sqrt", "log"))
            or (node.op == "pow" and not _integer(node.args[1]))):
        return None
    base = node.args[0]
    seen: set[str] = set()
    while base.op == "ref" and definitions is not None and str(base.val) in definitions \
            and str(base.val) not in seen:
        seen.add(str(base.val))
        base = definitions[str(base.val)]
    if base.op == "pow":
        power = base.args[1]
        return base if _integer(power) and power.val % 2 == 0 else None
    if base.op == "mul" and base.args[0] == base.args[1]:
        return base
    return None


def _integer(node: E) -> bool:
    return node.op == "num" and isinstance(node.val, Fraction) and node.val.denominator == 1


def evaluated_args(node: E) -> tuple[E, ...]:
    """The children the evaluator computes as values (not index arguments, not a second
    argument of a function, which ``Evaluator._fn`` does not read)."""
    if node.op in ("elem", "fn"):
        return node.args[:1]
    if node.op in ("delta", "onehot"):
        return ()
    return node.args


@dataclass(frozen=True)
class Plan:
    """What evaluating one expression reaches, through definitions.

    ``plain``: ids of the plain nodes computed (each once per evaluator); ``kinks``: the
    plain kink nodes among them, in the order first reached; ``shareable``: no Jacobian
    anywhere (a Jacobian's body is evaluated once per seed, outside any memo, and counts
    its operations each time: such an expression is evaluated without shared values).
    """

    root: E
    plain: frozenset[int]
    kinks: tuple[E, ...]
    shareable: bool


class Plans:
    """The ``Plan`` of the expressions of one derivation (the last ``KEPT`` of them kept:
    a plan holds an id for every node its expression reaches).

    Keyed by identity: the expressions must outlive this object (the pool interns them,
    and holds them).
    """

    KEPT = 16

    def __init__(self, definitions: Mapping[str, E]) -> None:
        self.definitions = definitions
        self._plain: dict[int, bool] = {}  # id(node) -> plain (nodes alive: see _keep)
        self._keep: list[E] = []
        self._plans: OrderedDict[int, Plan] = OrderedDict()

    def plan(self, root: E) -> Plan:
        hit = self._plans.get(id(root))
        if hit is None:
            hit = self._analyse(root)
            self._plans[id(root)] = hit
            self._keep.append(root)
            if len(self._plans) > self.KEPT:
                self._plans.popitem(last=False)
        else:
            self._plans.move_to_end(id(root))
        return hit

    def _is_plain(self, node: E) -> bool:
        """Whether the whole of ``node``, through definitions, has no index and no seed."""
        known = self._plain.get(id(node))
        if known is not None:
            return known
        # bottom-up without recursion: a deep network's chain is thousands of nodes deep
        stack: list[tuple[E, bool]] = [(node, False)]
        while stack:
            cur, expanded = stack.pop()
            if id(cur) in self._plain:
                continue
            below = self._children(cur)
            if not expanded:
                stack.append((cur, True))
                stack.extend((c, False) for c in below if id(c) not in self._plain)
                continue
            plain = cur.op not in _NOT_PLAIN and all(self._plain[id(c)] for c in below)
            self._plain[id(cur)] = plain
            self._keep.append(cur)
        return self._plain[id(node)]

    def _children(self, node: E) -> tuple[E, ...]:
        if node.op == "ref":
            body = self.definitions.get(node.val)  # type: ignore[call-overload]
            return (body,) if body is not None else ()
        return node.args

    def _analyse(self, root: E) -> Plan:
        plain: set[int] = set()
        kinks: list[E] = []
        seen: set[int] = set()
        hidden_seen: set[int] = set()
        shareable = True
        stack = [root]
        while stack:
            node = stack.pop()
            if id(node) in seen:
                continue
            seen.add(id(node))
            if node.op == "jac":
                shareable = False
            if self._is_plain(node):
                plain.add(id(node))
                if node.op == "fn" and node.val in KINK_FUNCTIONS:
                    kinks.append(node)
            hidden = hidden_kink(node, self.definitions)
            if hidden is not None and self._is_plain(hidden) and id(hidden) not in hidden_seen:
                hidden_seen.add(id(hidden))
                kinks.append(hidden)
            below = ((self.definitions[node.val],) if node.op == "ref"  # type: ignore[index]
                     and node.val in self.definitions else evaluated_args(node))
            stack.extend(reversed(below))
        return Plan(root, frozenset(plain), tuple(kinks), shareable)


class SharedValues:
    """The plain nodes' values at one batch of points, and the records of its plain kinks.

    ``kinks``: id(kink node) -> (node, entries > 0, entries < 0, per point the smallest
    non-zero |entry|), as ``Evaluator._kink`` records them.  ``combined``: per plan, the
    union of its kinks' records (``Evaluator`` adds it in one go), by its expression.
    """

    def __init__(self, plans: Plans) -> None:
        self.plans = plans
        self.memo: dict[int, np.ndarray] = {}
        self.kinks: dict[int, tuple[E, np.ndarray, np.ndarray, np.ndarray]] = {}
        self.kink_args: dict[int, tuple[np.ndarray, np.ndarray,
                                        tuple[np.ndarray, np.ndarray]]] = {}
        self.combined: dict[int, tuple[np.ndarray, Cover]] = {}
        self.nbytes = 0

    def store(self, node: E, value: np.ndarray) -> None:
        self.memo[id(node)] = value
        if node.op != "sym" and value.base is None:  # not a point's value, nor a view
            self.nbytes += value.nbytes

    def record(self, plan: Plan, batch: int) -> tuple[np.ndarray, Cover]:
        """Per point the smallest distance to a plain kink of ``plan``, and per kink the
        sides reached (computed once per plan)."""
        hit = self.combined.get(id(plan.root))
        if hit is None:
            dist = np.full(batch, np.inf)
            cover: Cover = {}
            for node in plan.kinks:
                _, pos, neg, d = self.kinks[id(node)]
                dist = np.minimum(dist, d)
                cover[id(node)] = (node, pos, neg)
            hit = (dist, cover)
            self.combined[id(plan.root)] = hit
        return hit
