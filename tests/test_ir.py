"""Structural equality of expression nodes (ir.E), and what it remembers.

``E.__eq__`` compares structure; nodes found equal are linked to one
representative so that comparing them again takes one step.  The links must never
make two different expressions equal, whatever was compared before.
"""

from __future__ import annotations

from fractions import Fraction

import pytest

from derivcheck import ir
from derivcheck.ir import E


def _sym(name: str) -> E:
    return E("sym", val=name)


def _chain(depth: int, leaf: str = "x", top: str = "W") -> E:
    """``W @ relu(W @ relu(... x))``: a deep expression, built afresh on every call."""
    node = _sym(leaf)
    for _ in range(depth):
        node = ir.matmul(_sym(top), ir.fn("relu", node))
    return node


def _dag(depth: int, leaf: str = "s") -> E:
    """``z_k = z_{k-1} * z_{k-1} + s``: a DAG whose tree has 2^depth leaves."""
    node = _sym("s")
    for _ in range(depth):
        node = E("add", (E("mul", (node, node)), _sym(leaf)))
    return node


# (id, build the first node, build the second, equal?)
CASES = [
    ("same chain, built apart", lambda: _chain(40), lambda: _chain(40), True),
    ("different leaf, deep down", lambda: _chain(40), lambda: _chain(40, leaf="y"), False),
    ("different depth", lambda: _chain(40), lambda: _chain(39), False),
    ("different matrix at the top only",
     lambda: _chain(40), lambda: ir.matmul(_sym("V"), ir.fn("relu", _chain(39))), False),
    ("equal DAGs built apart", lambda: _dag(60), lambda: _dag(60), True),
    ("DAGs with another leaf", lambda: _dag(60), lambda: _dag(60, leaf="t"), False),
    ("number 1/2 against 1/3", lambda: E("num", val=Fraction(1, 2)),
     lambda: E("num", val=Fraction(1, 3)), False),
]


@pytest.mark.parametrize(("first", "second", "equal"), [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
def test_equality_is_structural(first, second, equal: bool) -> None:
    a, b = first(), second()
    assert (a == b) is equal
    assert (a == b) is equal  # asked again: the links remembered give the same answer
    assert (b == a) is equal
    assert (ir._representative(a) is ir._representative(b)) is equal


def test_remembered_equalities_never_make_different_nodes_equal() -> None:
    # three equal chains linked in turn, then nodes that differ from them at every depth
    first, second, third = _chain(30), _chain(30), _chain(30)
    assert first == second and second == third and first == third
    for depth in range(1, 31):
        other = _chain(depth, leaf="y")
        for _ in range(30 - depth):
            other = ir.matmul(_sym("W"), ir.fn("relu", other))
        assert other != first and other != third
    # the sub-chains of equal chains are equal, and were linked on the way
    a, b = first, third
    while a.op == "matmul":
        assert ir._representative(a) is ir._representative(b)
        a, b = a.args[1].args[0], b.args[1].args[0]


def test_a_node_used_as_a_key_is_found_by_an_equal_node_built_apart() -> None:
    table = {_chain(50): "found"}
    for _ in range(3):
        assert table.get(_chain(50)) == "found"
        assert table.get(_chain(50, leaf="y")) is None
