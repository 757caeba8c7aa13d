"""Which signs an expression's entries can take: a conservative sign analysis.

Used by the branch coverage of ``points``: every side of every kink (``relu``,
``relu_prime``, ``abs``, ``sign`` of an argument) must be reached by some point,
unless the argument cannot take that sign at all (``abs(q)`` of a ``posvector q``,
``relu_prime(relu(x))``, ``relu_prime(0 * x)``).  The analysis may answer "any sign"
where a finer one exists (the search then looks for a side in vain, and the claim is
left undecided), never a finer set than the truth: a side it rules out can never be
reached, for any values the declared kinds allow.
"""

from __future__ import annotations

from fractions import Fraction
from itertools import product

from derivcheck.engine.core import Engine
from derivcheck.ir import E

Signs = frozenset[int]  # a subset of {-1, 0, 1}
ANY: Signs = frozenset({-1, 0, 1})
POS: Signs = frozenset({1})
NONNEG: Signs = frozenset({0, 1})
ZERO: Signs = frozenset({0})

_POSITIVE_FUNCS = frozenset({"exp", "sigmoid", "softmax"})


def _negate(s: Signs) -> Signs:
    return frozenset(-x for x in s)


def _times(a: Signs, b: Signs) -> Signs:
    return frozenset(x * y for x, y in product(a, b))


def _plus(a: Signs, b: Signs) -> Signs:
    out: set[int] = set()
    for x, y in product(a, b):
        if x == 0 or y == 0 or x == y:
            out.add(x or y)
        else:  # opposite signs: anything
            out.update(ANY)
    return frozenset(out)


def _total(a: Signs) -> Signs:
    """A sum of terms of these signs (0 terms included: an empty or cancelling sum)."""
    out: set[int] = {0}
    if 1 in a and -1 in a:
        return ANY
    out.update(a)
    return frozenset(out)


class SignAnalysis:
    """Signs of the entries of expressions of one derivation (memoised per node)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._memo: dict[E, Signs] = {}

    def of(self, node: E) -> Signs:
        hit = self._memo.get(node)
        if hit is None:
            self._warm(node)
            hit = self._memo[node]
        return hit

    def _warm(self, root: E) -> None:
        """The signs of every node below ``root`` (through definitions), children first,
        without recursion: a deep network's layers nest deeper than Python's recursion
        limit, and ``_of`` then finds its children's signs known."""
        stack: list[tuple[E, bool]] = [(root, False)]
        entered: set[int] = set()
        while stack:
            node, expanded = stack.pop()
            if expanded:
                if node not in self._memo:
                    self._memo[node] = ANY  # a cycle (none in a valid file) answers "any"
                    self._memo[node] = self._of(node)
                continue
            if id(node) in entered or node in self._memo:
                continue
            entered.add(id(node))  # the nodes stay alive under root while the walk lasts
            stack.append((node, True))
            below = node.args
            if node.op == "ref":
                definition = self.engine.definitions.get(str(node.val))
                below = (definition,) if definition is not None else ()
            stack.extend((c, False) for c in below)

    def _symbol(self, name: str) -> Signs:
        sym = self.engine.symbols.get(name)
        if sym is None:
            return ANY
        tags = sym.constraints
        if tags & {"onehot", "binary", "multihot", "onehot_columns", "unit"}:
            return NONNEG
        if "positive" in tags and not tags & {"symmetric", "spd", "invertible"}:
            return POS
        return ANY

    def _of(self, node: E) -> Signs:
        op, args = node.op, node.args
        if op == "num":
            value = Fraction(node.val) if not isinstance(node.val, float) else node.val
            return frozenset({(value > 0) - (value < 0)})
        if op == "sym":
            return self._symbol(str(node.val))
        if op == "ref":
            definition = self.engine.definitions.get(str(node.val))
            return ANY if definition is None else self.of(definition)
        if op in ("dim", "ones"):
            return POS
        if op in ("delta", "span", "onehot", "eye"):
            return NONNEG
        if op in ("neg",):
            return _negate(self.of(args[0]))
        if op in ("T", "elem"):
            return self.of(args[0])
        if op == "mul":
            if args[0] == args[1]:  # a square
                return frozenset(abs(x) for x in self.of(args[0]))
            return _times(self.of(args[0]), self.of(args[1]))
        if op == "div":
            den = self.of(args[1]) - ZERO  # where defined, the denominator is not 0
            return _times(self.of(args[0]), den or ANY)
        if op == "add":
            return _plus(self.of(args[0]), self.of(args[1]))
        if op == "sub":
            return _plus(self.of(args[0]), _negate(self.of(args[1])))
        if op == "pow":
            return self._power(args[0], args[1])
        if op in ("sum", "Sum", "mean"):
            return _total(self.of(args[0]))
        if op == "matmul":
            return _total(_times(self.of(args[0]), self.of(args[1])))
        if op == "fn":
            return self._function(str(node.val), args)
        return ANY

    def _power(self, base: E, exponent: E) -> Signs:
        b = self.of(base)
        if b <= POS:
            return POS
        if exponent.op == "num" and isinstance(exponent.val, Fraction) \
                and exponent.val.denominator == 1:
            n = int(exponent.val)
            if n == 0:
                return POS
            if n % 2 == 0:
                return frozenset(abs(x) for x in b)
            return b - ZERO if n < 0 else b
        return NONNEG  # a fractional power is defined only for a base >= 0

    def _function(self, name: str, args: tuple[E, ...]) -> Signs:
        if name in _POSITIVE_FUNCS:
            return POS
        a = self.of(args[0])
        if name == "relu":
            return frozenset({1} if 1 in a else set()) | (ZERO if a & {-1, 0} else frozenset())
        if name == "relu_prime":
            at_zero = 1 if self.engine.derivation.conventions.relu_prime_at_zero else 0
            out = {1} if 1 in a else set()
            if -1 in a:
                out.add(0)
            if 0 in a:
                out.add(at_zero)
            return frozenset(out)
        if name in ("abs", "sqrt"):  # sqrt is defined only for an argument >= 0
            return frozenset({1} if a & {-1, 1} else set()) | (ZERO if 0 in a else frozenset())
        if name in ("tanh", "sign"):
            return a
        if name == "diag":
            return a | ZERO
        if name == "tr":
            return _total(a)
        return ANY
