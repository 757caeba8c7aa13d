"""The expression tree every stage works on.

One node type, ``E``, keeps the tree small to pattern-match: ``op`` says what the
node is, ``args`` holds its children, ``val`` its payload (a name, a number, an
axis, a dimension).  Nodes are frozen and compare structurally, so equal
sub-expressions are merged in dictionaries and caches.

Operators (``op``):

=============  ==================================  =========================
op             args                                val
=============  ==================================  =========================
num            ()                                  Fraction or float
sym            ()                                  declared symbol name
ref            ()                                  defined intermediate name
dim            ()                                  dimension name (its size)
idx            ()                                  index symbol name
int            ()                                  integer index literal
add sub mul    (a, b)                              None
div pow        (a, b)                              None
neg            (a,)                                None
matmul         (a, b)                              None
T              (a,)                                None
fn             (a,) or (a, b)                      function name
sum mean       (a,)                                axis: None, 0 or 1
elem           (a, i) or (a, i, j)                 None
Sum            (body,)                             index name
delta          (i, j)                              None
span           (i,)                                (first, dropped, dimension name):
                                                   1 where first <= i <= size - 1 -
                                                   dropped, else 0 (a partial sum)
onehot         (i,)                                dimension name
eye            ()                                  dimension name
ones           ()                                  shape tuple
d              (f, v)                              layout name or None
jac            (jvp_formula,)                      (n, dimension name)
seed           ()                                  None
=============  ==================================  =========================
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

Dim = str | int
Shape = tuple[Dim, ...]
SCALAR: Shape = ()


@dataclass(frozen=True, slots=True, eq=False)
class E:
    """An expression node (see the module docstring for the operators).

    The hash is computed once (from the children's cached hashes), so nodes are
    cheap dictionary keys however deep the tree.
    """

    op: str
    args: tuple[E, ...] = ()
    val: Any = None
    pos: int = field(default=-1, compare=False, hash=False, repr=False)
    _hash: int = field(default=0, init=False, compare=False, repr=False)
    # (definitions' free indices it was computed with, free indices, sorted): see free_indices
    _free: object = field(default=None, init=False, compare=False, repr=False)
    # a node proven structurally equal to this one (``_same_tree``), or None
    _equal: E | None = field(default=None, init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_hash", hash((self.op, self.args, self.val)))

    def __hash__(self) -> int:
        return self._hash

    def __reduce__(self) -> tuple:
        # Rebuild through the constructor: string hashes differ between processes.
        return (E, (self.op, self.args, self.val, self.pos))

    def __eq__(self, other: object) -> bool:
        if self is other:
            return True
        if not isinstance(other, E) or self._hash != other._hash:
            return False
        return _same_tree(self, other)

    def walk(self) -> Iterator[E]:
        """Yield this node and every distinct node below it, pre-order, each once.

        Distinct by identity: a sub-expression shared by several parents (the
        derivative of nested definitions is a DAG whose tree is exponentially
        larger) is yielded where it is first reached, and its sub-tree is not
        entered again.  On a tree (no node reached twice) this is the plain
        pre-order walk; structurally equal nodes built apart are all yielded.
        """
        seen: set[int] = set()  # the nodes stay alive under self while the walk lasts
        stack = [self]
        while stack:
            node = stack.pop()
            if id(node) in seen:
                continue
            seen.add(id(node))
            yield node
            stack.extend(reversed(node.args))

    def __str__(self) -> str:  # pragma: no cover - convenience for debugging
        from derivcheck.printer import to_text

        return to_text(self)


def _same_tree(a: E, b: E) -> bool:
    """Structural equality of two nodes, without recursion, each pair of shared
    sub-expressions compared once: two equal DAGs built apart (a derivative of
    nested definitions) unfold to trees exponentially larger than themselves.

    Nodes found equal are remembered as equal (``_equal`` links them to one
    representative, as in union-find), so comparing them again, or comparing two
    parents whose children were found equal, takes one step: the engine builds the
    same sub-expressions afresh for every step of a derivation (the gradient of a
    deep network for each layer), and each lookup in a cache keyed by expressions
    would otherwise walk the whole sub-expression again.
    """
    seen: set[tuple[int, int]] = set()
    pairs: list[tuple[E, E]] = []
    stack = [(a, b)]
    while stack:
        x, y = stack.pop()
        if x is y:
            continue
        key = (id(x), id(y))
        if key in seen:
            continue
        if (x._hash != y._hash or x.op != y.op or x.val != y.val
                or len(x.args) != len(y.args)):
            return False
        seen.add(key)  # the nodes stay alive under a and b while the walk lasts
        rx, ry = _representative(x), _representative(y)
        if rx is ry:
            continue
        pairs.append((rx, ry))
        stack.extend(zip(x.args, y.args))
    for rx, ry in pairs:  # every pair compared is equal: link each to one representative
        rx, ry = _representative(rx), _representative(ry)
        if rx is not ry:
            object.__setattr__(ry, "_equal", rx)
    return True


def _representative(node: E) -> E:
    """The node that ``node`` was last proven equal to, through the ``_equal`` links (the
    path is shortened on the way, so it stays short)."""
    root = node
    while root._equal is not None:
        root = root._equal
    while node._equal is not None and node._equal is not root:
        nxt = node._equal
        object.__setattr__(node, "_equal", root)
        node = nxt
    return root


# Unary functions applied elementwise, and the structural ones.
ELEMENTWISE_FUNCS = frozenset(
    {"log", "log2", "log10", "exp", "sqrt", "abs", "tanh", "sigmoid", "relu",
     "relu_prime", "sign"}
)
# Functions whose value at a point can sit on a kink (non-smooth there).
KINK_FUNCS = frozenset({"relu", "relu_prime", "abs", "sign"})
STRUCT_FUNCS = frozenset({"softmax", "logsumexp", "diag", "tr", "det", "inv"})

ZERO = E("num", val=Fraction(0))
ONE = E("num", val=Fraction(1))


def num(value: int | float | Fraction) -> E:
    """A numeric constant; integers and fractions stay exact."""
    if isinstance(value, bool):
        raise TypeError("bool is not a number here")
    if isinstance(value, int):
        value = Fraction(value)
    return E("num", val=value)


def is_num(node: E, value: int | None = None) -> bool:
    """True if ``node`` is a numeric constant (equal to ``value`` if given)."""
    return node.op == "num" and (value is None or node.val == value)


# -- smart constructors: light, always-valid simplifications ------------------

def add(a: E, b: E) -> E:
    if is_num(a, 0):
        return b
    if is_num(b, 0):
        return a
    if a.op == "num" and b.op == "num":
        return num(a.val + b.val)  # type: ignore[operator]
    if b.op == "neg":
        return sub(a, b.args[0])
    return E("add", (a, b))


def sub(a: E, b: E) -> E:
    if is_num(b, 0):
        return a
    if is_num(a, 0):
        return neg(b)
    if a.op == "num" and b.op == "num":
        return num(a.val - b.val)  # type: ignore[operator]
    if b.op == "neg":
        return add(a, b.args[0])
    return E("sub", (a, b))


def neg(a: E) -> E:
    if a.op == "num":
        return num(-a.val)  # type: ignore[operator]
    if a.op == "neg":
        return a.args[0]
    return E("neg", (a,))


def mul(a: E, b: E) -> E:
    """Elementwise (broadcasting) product."""
    if is_num(a, 1):
        return b
    if is_num(b, 1):
        return a
    if a.op == "num" and b.op == "num":
        return num(a.val * b.val)  # type: ignore[operator]
    if is_num(a, -1):
        return neg(b)
    if is_num(b, -1):
        return neg(a)
    if a.op == "neg":
        return neg(mul(a.args[0], b))
    if b.op == "neg":
        return neg(mul(a, b.args[0]))
    return E("mul", (a, b))


def div(a: E, b: E) -> E:
    if is_num(b, 1):
        return a
    if a.op == "num" and b.op == "num" and b.val != 0:
        return num(a.val / b.val)  # type: ignore[operator]
    if a.op == "neg":
        return neg(div(a.args[0], b))
    return E("div", (a, b))


def power(a: E, b: E) -> E:
    if is_num(b, 1):
        return a
    return E("pow", (a, b))


def matmul(a: E, b: E) -> E:
    if a.op == "neg":
        return neg(matmul(a.args[0], b))
    if b.op == "neg":
        return neg(matmul(a, b.args[0]))
    return E("matmul", (a, b))


def transpose(a: E) -> E:
    if a.op == "T":
        return a.args[0]
    if a.op in ("num", "dim", "delta", "span") or a.op == "eye":
        return a
    if a.op == "neg":
        return neg(transpose(a.args[0]))
    return E("T", (a,))


def fn(name: str, *args: E) -> E:
    return E("fn", tuple(args), name)


def total(a: E, axis: int | None = None) -> E:
    return E("sum", (a,), axis)


def elem(a: E, *index: E) -> E:
    return E("elem", (a, *index))


def index_sum(var: str, body: E) -> E:
    if is_num(body, 0):
        return body
    return E("Sum", (body,), var)


_NO_DEFS: dict[str, frozenset[str]] = {}


def free_indices(node: E, defs_free: dict[str, frozenset[str]] | None = None) -> frozenset[str]:
    """Index names that occur in ``node`` without being bound by a ``Sum``.

    ``defs_free`` gives the free indices of each defined name (a definition such
    as ``y: onehot(t, K)`` carries the index ``t`` wherever ``y`` is used).  The
    result is cached on the node, together with the ``defs_free`` mapping it was
    computed with (held by reference, so the cache can never be mistaken for
    another derivation's).
    """
    return free_info(node, defs_free)[0]


def free_info(node: E, defs_free: dict[str, frozenset[str]] | None = None
              ) -> tuple[frozenset[str], tuple[str, ...]]:
    """``free_indices`` and the same names sorted, cached on the node."""
    defs = _NO_DEFS if defs_free is None else defs_free
    cached = node._free
    if cached is not None and cached[0] is defs:  # type: ignore[index]
        return cached[1], cached[2]  # type: ignore[index]
    if node.op == "idx":
        found: frozenset[str] = frozenset({node.val})  # type: ignore[arg-type]
    elif node.op == "ref":
        found = defs.get(node.val, frozenset())  # type: ignore[arg-type]
    else:
        found = frozenset()
        for child in node.args:
            found |= free_info(child, defs)[0]
        if node.op == "Sum":
            found -= {node.val}  # type: ignore[arg-type]
    ordered = tuple(sorted(found))
    object.__setattr__(node, "_free", (defs, found, ordered))
    return found, ordered


def refs(node: E) -> set[str]:
    """Names of the defined intermediates ``node`` uses directly."""
    return {n.val for n in node.walk() if n.op == "ref"}  # type: ignore[misc]


def postorder(root: E) -> Iterator[E]:
    """Every distinct node of ``root`` (by identity), each after all its children, each
    once, without recursion: the order for computing a value of every node bottom-up
    on a DAG."""
    done: set[int] = set()  # the nodes stay alive under root while the walk lasts
    stack: list[tuple[E, bool]] = [(root, False)]
    while stack:
        cur, expanded = stack.pop()
        if id(cur) in done:
            continue
        if expanded:
            done.add(id(cur))
            yield cur
            continue
        stack.append((cur, True))
        stack.extend((a, False) for a in cur.args if id(a) not in done)


def intern(root: E, table: dict[E, E]) -> E:
    """``root`` with every sub-expression replaced by the first structurally equal one
    ``table`` holds (adding those it does not): equal sub-expressions become one object.

    Caches keyed by node identity (the evaluator's values) then serve every expression
    that contains the sub-expression, however it was built: the engine builds the same
    gradient chain afresh for each step of a deep network.  Equal nodes mean the same
    thing, so the result is equal to ``root``; ``pos`` (a source position) is the first
    node's.  Definitions are not entered (a ``ref`` is a leaf).  ``table`` keeps its
    nodes alive, so their ids stay valid while it lives.
    """
    done: dict[int, E] = {}  # id(node of root) -> its representative
    stack: list[tuple[E, bool]] = [(root, False)]
    while stack:
        cur, expanded = stack.pop()
        if id(cur) in done:
            continue
        if not expanded:
            if table.get(cur) is cur:  # interned already, and so is everything below it
                done[id(cur)] = cur
                continue
            stack.append((cur, True))
            stack.extend((a, False) for a in cur.args if id(a) not in done)
            continue
        args = tuple(done[id(a)] for a in cur.args)
        if any(a is not b for a, b in zip(args, cur.args)):
            cur_new = E(cur.op, args, cur.val, cur.pos)
        else:
            cur_new = cur
        done[id(cur)] = table.setdefault(cur_new, cur_new)
    return done[id(root)]


def depth(node: E) -> int:
    """Nesting depth of the tree (a leaf has depth 1), computed on the DAG."""
    memo: dict[int, int] = {}
    for cur in postorder(node):
        memo[id(cur)] = 1 + max((memo[id(a)] for a in cur.args), default=0)
    return memo[id(node)]


def tree_sizes(node: E, cap: int = 10**9) -> dict[int, int]:
    """id -> the number of nodes of that sub-expression as a tree (as printed), at most
    ``cap``, for ``node`` and every node below it.

    Counted on the DAG, once per shared node: an expression built from nested
    definitions can unfold to a tree of billions of nodes.  The ids are valid while
    ``node`` is alive.
    """
    memo: dict[int, int] = {}
    stack: list[tuple[E, bool]] = [(node, False)]
    while stack:
        n, expanded = stack.pop()
        if id(n) in memo:
            continue
        if expanded:
            memo[id(n)] = min(cap, 1 + sum(memo[id(a)] for a in n.args))
            continue
        stack.append((n, True))
        stack.extend((a, False) for a in n.args if id(a) not in memo)
    return memo


def tree_size_within(node: E, cap: int) -> int:
    """``tree_size(node)`` if it is at most ``cap``, else ``cap + 1``, in work bounded by
    ``cap`` (it stops once more than ``cap`` distinct nodes are entered: the tree has
    at least as many nodes as the DAG)."""
    memo: dict[int, int] = {}
    entered: set[int] = set()
    stack: list[tuple[E, bool]] = [(node, False)]
    while stack:
        n, expanded = stack.pop()
        if expanded:
            memo[id(n)] = min(cap + 1, 1 + sum(memo[id(a)] for a in n.args))
            continue
        if id(n) in entered:
            continue
        entered.add(id(n))
        if len(entered) > cap:
            return cap + 1
        stack.append((n, True))
        stack.extend((a, False) for a in n.args if id(a) not in entered)
    return memo[id(node)]


def tree_size(node: E, cap: int = 10**9) -> int:
    """The number of nodes of ``node`` as a tree (as printed), at most ``cap``; see
    ``tree_sizes``."""
    return tree_sizes(node, cap)[id(node)]
