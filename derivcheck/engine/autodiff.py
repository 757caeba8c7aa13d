"""The engine's own derivatives, as IR formulas.

Reverse mode (vector-Jacobian products) gives the gradient of a scalar with
respect to any symbol or defined intermediate, at the matrix level, in terms
of the definitions (``W2.T @ (...)``, ``relu_prime(z1)``), so it can be shown
as a formula.  Forward mode (Jacobian-vector products) gives derivatives of
vectors: by a scalar or an element directly, and full Jacobians column by
column (a ``jac`` node evaluated once per basis direction).

Differentiating with respect to a defined intermediate ``v`` cuts the graph at
``v``: what is upstream of ``v`` is held fixed, what is downstream is
recomputed from ``v`` (backpropagation's meaning of dL/dz).

The formulas are only as good as the rules below; the engine never trusts
them alone: ``compare`` cross-checks every derivative against central finite
differences before using it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from derivcheck import ir
from derivcheck.errors import Unsupported
from derivcheck.ir import ONE, E, Shape

_LOG2 = ir.fn("log", ir.num(2))
_LOG10 = ir.fn("log", ir.num(10))


class Differentiator:
    """Builds derivative formulas for one derivation.

    Args:
        definitions: defined name -> expression, in definition order.
        shape_of: the shape of any IR node.
    """

    def __init__(self, definitions: Mapping[str, E], shape_of: Callable[[E], Shape],
                 free_of: Callable[[E], frozenset[str]] | None = None,
                 fresh_index: Callable[[str], str] | None = None) -> None:
        self.defs = dict(definitions)
        self.order = list(definitions)
        self.shape = shape_of
        self.free_of = free_of or (lambda node: ir.free_indices(node))
        self.fresh_index = fresh_index

    def unclash(self, node: E, avoid: frozenset[str]) -> E:
        """``Sum(k, body)`` with ``k`` renamed if ``k`` is free in what surrounds it.

        Reverse mode wraps what flows out of a ``Sum`` in ``Sum(k, ...)``; if the
        incoming adjoint (or, in forward mode, the tangent) uses a free index of
        the same name, it would be captured.
        """
        var = str(node.val)
        if var not in avoid:
            return node
        if self.fresh_index is None:
            raise Unsupported(f"the summation index {var} is also used as a free index")
        new = self.fresh_index(var)
        return E("Sum", (_rename(node.args[0], var, new),), new)

    # -- dependency --------------------------------------------------------
    def _dependents(self, target: E) -> set[str]:
        """Defined names whose value changes when ``target`` changes (cut at target)."""
        dep: set[str] = set()
        for name in self.order:
            if target.op == "ref" and name == target.val:
                continue
            if self._uses(self.defs[name], target, dep):
                dep.add(name)
        return dep

    @staticmethod
    def _uses(node: E, target: E, dep: set[str]) -> bool:
        for sub in node.walk():
            if sub.op == target.op and sub.val == target.val:
                return True
            if sub.op == "ref" and sub.val in dep:
                return True
        return False

    # -- reverse mode --------------------------------------------------------
    def gradient(self, f: E, target: E) -> E:
        """d(f)/d(target) for scalar ``f``; the result has ``target``'s shape."""
        if self.shape(f) != ():
            raise Unsupported("reverse mode needs a scalar")
        dep = self._dependents(target)
        acc: dict[tuple[str, str], list[E]] = {}
        run = _Reverse(self, target, dep, acc)
        run.vjp(f, ONE)
        for name in reversed(self.order):
            key = ("ref", name)
            if name in dep and key in acc:
                g = _sum_all(acc.pop(key))
                run.vjp(self.defs[name], g)
        grads = acc.get((target.op, str(target.val)), [])
        tshape = self.shape(target)
        if not grads:
            return _zeros(tshape)
        return _fill(_sum_all(grads), self.shape, tshape)

    # -- forward mode ----------------------------------------------------------
    def directional(self, f: E, target: E, tangent: E) -> E:
        """The derivative of ``f`` along ``tangent`` (which has ``target``'s shape)."""
        dep = self._dependents(target)
        tangents: dict[tuple[str, str], E] = {(target.op, str(target.val)): tangent}
        run = _Forward(self, target, dep, tangents)
        for name in self.order:
            if name in dep:
                t = run.jvp(self.defs[name])
                if t is not None:
                    tangents[("ref", name)] = t
        out = run.jvp(f)
        fshape = self.shape(f)
        if out is None:
            return _zeros(fshape)
        return _fill(out, self.shape, fshape)


def _sum_all(items: list[E]) -> E:
    out = items[0]
    for item in items[1:]:
        out = ir.add(out, item)
    return out


def _zeros(shape: Shape) -> E:
    if shape == ():
        return ir.ZERO
    return E("mul", (ir.ZERO, E("ones", val=tuple(shape))))


def _fill(g: E, shape_of: Callable[[E], Shape], shape: Shape) -> E:
    """Broadcast ``g`` to ``shape`` when it is smaller (a scalar adjoint of a vector)."""
    if shape_of(g) == shape or shape == ():
        return g
    return ir.mul(g, E("ones", val=tuple(shape)))


def _count(shape: Shape, axis: int | None) -> E:
    if shape == ():
        return ONE  # a scalar (1 x 1) reduces over one entry
    dims = list(shape) if axis is None else [shape[axis]]
    out: E = ONE
    for d in dims:
        out = ir.mul(out, ir.num(d) if isinstance(d, int) else E("dim", val=d))
    return out


class _Reverse:
    def __init__(self, owner: Differentiator, target: E, dep: set[str],
                 acc: dict[tuple[str, str], list[E]]) -> None:
        self.owner = owner
        self.shape = owner.shape
        self.target = target
        self.dep = dep
        self.acc = acc
        self._memo: dict[E, bool] = {}

    def depends(self, node: E) -> bool:
        hit = self._memo.get(node)
        if hit is None:
            hit = Differentiator._uses(node, self.target, self.dep)
            self._memo[node] = hit
        return hit

    def unbroadcast(self, g: E, out: Shape, arg: E) -> E:
        shape = self.shape(arg)
        if shape == out:
            return g
        if shape == ():
            return ir.total(g)
        if out == ():
            return _fill(g, self.shape, shape)
        if shape[0] == 1 and out[0] != 1:
            g = ir.total(g, 0)
        if shape[1] == 1 and out[1] != 1:
            g = ir.total(g, 1)
        return g

    def vjp(self, node: E, g: E) -> None:
        if not self.depends(node):
            return
        out = self.shape(node)
        g = _fill(g, self.shape, out)
        op, args = node.op, node.args
        if op in ("sym", "ref"):
            self.acc.setdefault((op, str(node.val)), []).append(g)
            return
        if op == "add":
            self.vjp(args[0], self.unbroadcast(g, out, args[0]))
            self.vjp(args[1], self.unbroadcast(g, out, args[1]))
        elif op == "sub":
            self.vjp(args[0], self.unbroadcast(g, out, args[0]))
            self.vjp(args[1], self.unbroadcast(ir.neg(g), out, args[1]))
        elif op == "neg":
            self.vjp(args[0], ir.neg(g))
        elif op == "mul":
            a, b = args
            self.vjp(a, self.unbroadcast(ir.mul(g, b), out, a))
            self.vjp(b, self.unbroadcast(ir.mul(a, g), out, b))
        elif op == "div":
            a, b = args
            self.vjp(a, self.unbroadcast(ir.div(g, b), out, a))
            self.vjp(b, self.unbroadcast(ir.neg(ir.div(ir.mul(g, node), b)), out, b))
        elif op == "pow":
            a, b = args
            if self.depends(a):
                expo = ir.num(b.val - 1) if b.op == "num" else ir.sub(b, ONE)  # type: ignore[operator]
                da = ir.mul(g, ir.mul(b, ir.power(a, expo)))
                self.vjp(a, self.unbroadcast(da, out, a))
            if self.depends(b):
                self.vjp(b, self.unbroadcast(ir.mul(g, ir.mul(ir.fn("log", a), node)), out, b))
        elif op == "matmul":
            a, b = args
            if self.shape(a) == () or self.shape(b) == ():
                self.vjp(a, self.unbroadcast(ir.mul(g, b), out, a))
                self.vjp(b, self.unbroadcast(ir.mul(a, g), out, b))
            else:
                self.vjp(a, ir.matmul(g, ir.transpose(b)))
                self.vjp(b, ir.matmul(ir.transpose(a), g))
        elif op == "T":
            self.vjp(args[0], ir.transpose(g))
        elif op in ("sum", "mean"):
            a = args[0]
            shape = self.shape(a)
            ga = g if op == "sum" else ir.div(g, _count(shape, node.val))  # type: ignore[arg-type]
            self.vjp(a, _fill(ga, self.shape, shape) if node.val is None
                     else ir.mul(ga, E("ones", val=tuple(shape))))
        elif op == "elem":
            self.vjp(args[0], ir.mul(g, _unit(self.shape(args[0]), args[1:])))
        elif op == "Sum":
            node = self.owner.unclash(node, self.owner.free_of(g))
            args = node.args
            inner: dict[tuple[str, str], list[E]] = {}
            sub = _Reverse.__new__(_Reverse)
            sub.__dict__.update(self.__dict__)
            sub.acc = inner
            sub.vjp(args[0], g)
            for key, items in inner.items():
                self.acc.setdefault(key, []).append(ir.index_sum(str(node.val), _sum_all(items)))
        elif op == "fn":
            self.vjp_fn(node, g)
        elif op in ("num", "dim", "idx", "int", "delta", "span", "onehot", "eye", "ones"):
            return
        else:
            raise Unsupported(f"cannot differentiate through '{op}'")

    def vjp_fn(self, node: E, g: E) -> None:
        name, a = node.val, node.args[0]
        local = {
            "exp": lambda: ir.mul(g, node),
            "log": lambda: ir.div(g, a),
            "log2": lambda: ir.div(g, ir.mul(a, _LOG2)),
            "log10": lambda: ir.div(g, ir.mul(a, _LOG10)),
            "sqrt": lambda: ir.div(g, ir.mul(ir.num(2), node)),
            "abs": lambda: ir.mul(g, ir.fn("sign", a)),
            "tanh": lambda: ir.mul(g, ir.sub(ONE, ir.power(node, ir.num(2)))),
            "sigmoid": lambda: ir.mul(g, ir.mul(node, ir.sub(ONE, node))),
            "relu": lambda: ir.mul(g, ir.fn("relu_prime", a)),
            "softmax": lambda: ir.mul(node, ir.sub(g, ir.total(ir.mul(node, g), 0))),
            "logsumexp": lambda: ir.mul(ir.fn("softmax", a), g),
            "diag": lambda: ir.fn("diag", g),
            "tr": lambda: ir.mul(g, E("eye", val=self.shape(a)[0])),
            "det": lambda: ir.mul(g, ir.mul(node, ir.transpose(ir.fn("inv", a)))),
            "inv": lambda: ir.neg(ir.matmul(ir.matmul(ir.transpose(node), g),
                                            ir.transpose(node))),
        }
        if name in ("relu_prime", "sign"):
            return  # zero derivative away from the kink
        rule = local.get(name)  # type: ignore[arg-type]
        if rule is None:
            raise Unsupported(f"no derivative rule for {name}")
        if name in ("tr", "det") and self.shape(a) == ():
            self.vjp(a, g)  # the trace or determinant of a scalar is the scalar
            return
        self.vjp(a, rule())


def _unit(shape: Shape, index: tuple[E, ...]) -> E:
    """The basis array with a 1 at ``index`` in an array of ``shape``.

    A vector indexed with two indices (``c[k, 0]`` of a column) is a vector: the index
    of its dimension of size 1 can only be 0 (shapes checked that)."""
    if len(index) == 2 and shape[1] == 1:
        return E("onehot", (index[0],), shape[0])
    if len(index) == 2 and shape[0] == 1:
        return ir.transpose(E("onehot", (index[1],), shape[1]))
    if len(index) == 2:
        return ir.matmul(E("onehot", (index[0],), shape[0]),
                         ir.transpose(E("onehot", (index[1],), shape[1])))
    if shape[1] == 1:
        return E("onehot", (index[0],), shape[0])
    return ir.transpose(E("onehot", (index[0],), shape[1]))


class _Forward:
    def __init__(self, owner: Differentiator, target: E, dep: set[str],
                 tangents: dict[tuple[str, str], E]) -> None:
        self.owner = owner
        self.shape = owner.shape
        self.target = target
        self.dep = dep
        self.tangents = tangents

    def jvp(self, node: E) -> E | None:
        op, args = node.op, node.args
        if op in ("sym", "ref"):
            return self.tangents.get((op, str(node.val)))
        if op in ("num", "dim", "idx", "int", "delta", "span", "onehot", "eye", "ones"):
            return None
        if op == "add":
            return _plus(self.jvp(args[0]), self.jvp(args[1]))
        if op == "sub":
            ta, tb = self.jvp(args[0]), self.jvp(args[1])
            return _plus(ta, None if tb is None else ir.neg(tb))
        if op == "neg":
            t = self.jvp(args[0])
            return None if t is None else ir.neg(t)
        if op == "mul":
            a, b = args
            ta, tb = self.jvp(a), self.jvp(b)
            return _plus(None if ta is None else ir.mul(ta, b),
                         None if tb is None else ir.mul(a, tb))
        if op == "div":
            a, b = args
            ta, tb = self.jvp(a), self.jvp(b)
            return _plus(None if ta is None else ir.div(ta, b),
                         None if tb is None else ir.neg(ir.div(ir.mul(node, tb), b)))
        if op == "pow":
            a, b = args
            ta, tb = self.jvp(a), self.jvp(b)
            expo = ir.num(b.val - 1) if b.op == "num" else ir.sub(b, ONE)  # type: ignore[operator]
            return _plus(None if ta is None else ir.mul(ir.mul(b, ir.power(a, expo)), ta),
                         None if tb is None else ir.mul(ir.mul(ir.fn("log", a), node), tb))
        if op == "matmul":
            a, b = args
            ta, tb = self.jvp(a), self.jvp(b)
            scalar = self.shape(a) == () or self.shape(b) == ()
            prod = ir.mul if scalar else ir.matmul
            return _plus(None if ta is None else prod(ta, b),
                         None if tb is None else prod(a, tb))
        if op == "T":
            t = self.jvp(args[0])
            return None if t is None else ir.transpose(t)
        if op in ("sum", "mean"):
            t = self.jvp(args[0])
            if t is None:
                return None
            out = E(op, (t,), node.val)
            return out
        if op == "elem":
            t = self.jvp(args[0])
            return None if t is None else E("elem", (t, *args[1:]))
        if op == "Sum":
            avoid: frozenset[str] = frozenset()
            for tangent in self.tangents.values():
                avoid |= self.owner.free_of(tangent)
            node = self.owner.unclash(node, avoid)
            t = self.jvp(node.args[0])
            return None if t is None else ir.index_sum(str(node.val), t)
        if op == "fn":
            return self.jvp_fn(node)
        raise Unsupported(f"cannot differentiate through '{op}'")

    def jvp_fn(self, node: E) -> E | None:
        name, a = node.val, node.args[0]
        t = self.jvp(a)
        if t is None or name in ("relu_prime", "sign"):
            return None
        rules = {
            "exp": lambda: ir.mul(node, t),
            "log": lambda: ir.div(t, a),
            "log2": lambda: ir.div(t, ir.mul(a, _LOG2)),
            "log10": lambda: ir.div(t, ir.mul(a, _LOG10)),
            "sqrt": lambda: ir.div(t, ir.mul(ir.num(2), node)),
            "abs": lambda: ir.mul(ir.fn("sign", a), t),
            "tanh": lambda: ir.mul(ir.sub(ONE, ir.power(node, ir.num(2))), t),
            "sigmoid": lambda: ir.mul(ir.mul(node, ir.sub(ONE, node)), t),
            "relu": lambda: ir.mul(ir.fn("relu_prime", a), t),
            "softmax": lambda: ir.mul(node, ir.sub(t, ir.total(ir.mul(node, t), 0))),
            "logsumexp": lambda: ir.total(ir.mul(ir.fn("softmax", a), t), 0),
            "diag": lambda: ir.fn("diag", t),
            "tr": lambda: ir.fn("tr", t),
            "det": lambda: ir.mul(node, ir.fn("tr", ir.matmul(ir.fn("inv", a), t))),
            "inv": lambda: ir.neg(ir.matmul(ir.matmul(node, t), node)),
        }
        rule = rules.get(name)  # type: ignore[arg-type]
        if rule is None:
            raise Unsupported(f"no derivative rule for {name}")
        if name in ("tr", "det", "inv") and self.shape(a) == ():
            return {"tr": lambda: t, "det": lambda: t,
                    "inv": lambda: ir.neg(ir.div(t, ir.power(a, ir.num(2))))}[name]()
        return rule()


def _rename(node: E, old: str, new: str) -> E:
    """``node`` with the index ``old`` renamed ``new`` (not inside a Sum rebinding ``old``)."""
    if node.op == "idx" and node.val == old:
        return E("idx", val=new)
    if node.op == "Sum" and node.val == old:
        return node
    if not node.args:
        return node
    return E(node.op, tuple(_rename(a, old, new) for a in node.args), node.val)


def _plus(a: E | None, b: E | None) -> E | None:
    if a is None:
        return b
    if b is None:
        return a
    return ir.add(a, b)
