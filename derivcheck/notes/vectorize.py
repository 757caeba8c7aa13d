"""An element-wise definition ``P_c = e^{O_c} / \\sum_k e^{O_k}`` as a vector one.

A document often defines a vector by its entries.  ``vectorize(node, c, K)``
turns the expression of entry ``c`` into the vector whose entry ``c`` it is:
``O[c]`` becomes ``O``, a matrix entry ``V[c, j]`` the column ``V.T @ onehot(j)``
... transposed as needed, ``delta(c, k)`` the basis vector ``onehot(k, K)``, and
what does not depend on ``c`` stays a scalar that broadcasts.  Anything else
that depends on ``c`` is refused (``None``).

The rewrite is not trusted: the equation it came from stays a step of the
derivation (``P[c] = ...`` with ``P`` the vector built here), so it is checked
like every other claim and a wrong rewrite would be refuted, never hidden.
"""

from __future__ import annotations

from derivcheck.ir import ELEMENTWISE_FUNCS, E, free_indices

_ELEMENTWISE_OPS = ("add", "sub", "mul", "div", "pow")
MAX_NODES = 20_000


def vectorize(node: E, index: str, dim: str, ranges: dict[str, str]) -> E | None:
    """The vector over ``dim`` whose entry ``index`` is ``node``, or None.

    ``ranges``: index name -> its dimension (for the basis vectors of columns).
    """
    memo: dict[int, E | None] = {}
    budget = [MAX_NODES]

    def go(n: E) -> E | None:
        hit = memo.get(id(n), False)
        if hit is not False:
            return hit  # type: ignore[return-value]
        budget[0] -= 1
        if budget[0] < 0:
            return None
        out = _go(n)
        memo[id(n)] = out
        return out

    def _go(n: E) -> E | None:
        if index not in free_indices(n):
            return n
        if n.op == "idx":
            return None  # the index itself as a number
        if n.op == "elem":
            base, *idx = n.args
            if index in free_indices(base):
                return None
            hits = [k for k, i in enumerate(idx) if i.op == "idx" and i.val == index]
            if len(hits) != 1 or any(index in free_indices(i) for k, i in enumerate(idx)
                                     if k not in hits):
                return None
            if len(idx) == 1:
                return base
            other = idx[1 - hits[0]]
            if other.op != "idx" or other.val not in ranges:
                return None
            # base[c, j] over c: the column j; base[j, c]: the row j, as a column
            column = base if hits[0] == 0 else E("T", (base,))
            return E("matmul", (column, E("onehot", (other,), ranges[other.val])))
        if n.op == "delta":
            a, b = n.args
            if a.op == "idx" and a.val == index and not (b.op == "idx" and b.val == index):
                return E("onehot", (b,), dim)
            if b.op == "idx" and b.val == index and not (a.op == "idx" and a.val == index):
                return E("onehot", (a,), dim)
            return None
        if n.op in _ELEMENTWISE_OPS or n.op == "neg" or (
                n.op == "fn" and n.val in ELEMENTWISE_FUNCS and len(n.args) == 1):
            args = [go(a) for a in n.args]
            if any(a is None for a in args):
                return None
            return E(n.op, tuple(a for a in args if a is not None), n.val)
        if n.op == "Sum" and n.val != index:
            body = go(n.args[0])
            return None if body is None else E("Sum", (body,), n.val)
        return None

    return go(node)
