"""Shape inference over the IR: every expression's shape, or a ``ShapeError``.

Shapes are ``()`` for a scalar or ``(rows, cols)`` whose entries are dimension
names or the integer 1.  A ``1 x 1`` result counts as a scalar.
"""

from __future__ import annotations

from collections.abc import Callable

from derivcheck.errors import IndexAsNumber, ShapeError, Unsupported
from derivcheck.ir import E, Shape
from derivcheck.printer import to_text


def fmt_shape(shape: Shape) -> str:
    if shape == ():
        return "scalar"
    return "(" + ", ".join(str(d) for d in shape) + ")"


def normalize(shape: Shape) -> Shape:
    return () if shape == (1, 1) else shape


def broadcast(a: Shape, b: Shape) -> Shape | None:
    """numpy broadcasting of two shapes, or None when they do not fit."""
    a, b = normalize(a), normalize(b)
    if a == ():
        return b
    if b == ():
        return a
    out = []
    for x, y in zip(a, b):
        if x == y:
            out.append(x)
        elif x == 1:
            out.append(y)
        elif y == 1:
            out.append(x)
        else:
            return None
    return normalize(tuple(out))


# The children ``_infer`` always looks at first, by operator: all, or only the first.
_WARM_ARGS: dict[str, int] = {
    **dict.fromkeys(("add", "sub", "mul", "div", "pow", "matmul"), 2),
    **dict.fromkeys(("neg", "T", "fn", "sum", "mean", "Sum", "elem"), 1),
}


class ShapeInference:
    """Infers shapes, given the shapes of symbols and defined names.

    ``index_range`` maps an index name to the dimension it ranges over;
    ``derivative_shape`` is called for ``d`` nodes (the engine knows layouts).
    """

    def __init__(self, symbol_shapes: dict[str, Shape], index_range: dict[str, str],
                 def_shapes: dict[str, Shape],
                 derivative_shape: Callable[[E], Shape] | None = None) -> None:
        self.symbol_shapes = symbol_shapes
        self.index_range = index_range
        self.def_shapes = def_shapes
        self.derivative_shape = derivative_shape
        self._cache: dict[E, Shape] = {}

    def of(self, node: E) -> Shape:
        hit = self._cache.get(node)
        if hit is None:
            if node.op in _WARM_ARGS:
                self._warm(node)
            hit = normalize(self._infer(node))
            self._cache[node] = hit
        return hit

    def _warm(self, root: E) -> None:
        """Infer the shapes below ``root`` bottom-up, without recursion.

        A derivative of a long sum is a tree hundreds of levels deep; inferring it
        recursively (three frames a level) would overflow the stack. Children are
        visited left first, as ``_infer`` visits them, so the first error raised is
        the one the recursive walk would raise.
        """
        cache = self._cache
        stack: list[tuple[E, bool]] = [(root, False)]
        while stack:
            node, expanded = stack.pop()
            if node in cache:
                continue
            if expanded:
                if node is not root:
                    cache[node] = normalize(self._infer(node))
                continue
            stack.append((node, True))
            shown = _WARM_ARGS.get(node.op, 0)
            stack.extend((c, False) for c in reversed(node.args[:shown]))

    def _mismatch(self, node: E, what: str, *shapes: Shape) -> ShapeError:
        text = to_text(node)
        shown = " vs ".join(fmt_shape(s) for s in shapes)
        return ShapeError(f"{what} in `{text}`: {shown}", where=text, shapes=shapes)

    def _infer(self, node: E) -> Shape:
        op = node.op
        if op in ("num", "dim", "delta", "span"):
            return ()
        if op == "sym":
            return self.symbol_shapes[node.val]  # type: ignore[index]
        if op == "ref":
            return self.def_shapes[node.val]  # type: ignore[index]
        if op in ("idx", "int"):
            # not a mistake in the claim: a construct derivcheck does not evaluate
            raise IndexAsNumber(f"the index `{to_text(node)}` is used as a number, which "
                                "derivcheck does not support (use it only to index: for "
                                "weights k + 1, declare a vector and index it)",
                                where=to_text(node))
        if op in ("add", "sub", "mul", "div", "pow"):
            a, b = (self.of(x) for x in node.args)
            out = broadcast(a, b)
            if out is None:
                symbol = {"add": "+", "sub": "-", "mul": "elementwise *", "div": "/",
                          "pow": "**"}[op]
                what = f"shapes do not broadcast for {symbol}"
                raise self._mismatch(node, what, a, b)
            return out
        if op == "neg":
            return self.of(node.args[0])
        if op == "matmul":
            a, b = (self.of(x) for x in node.args)
            a2 = a if a != () else (1, 1)
            b2 = b if b != () else (1, 1)
            if a2[1] != b2[0]:
                raise self._mismatch(node, "inner dimensions differ for @", a, b)
            return (a2[0], b2[1])
        if op == "T":
            a = self.of(node.args[0])
            return () if a == () else (a[1], a[0])
        if op == "fn":
            return self._fn(node)
        if op in ("sum", "mean"):
            a = self.of(node.args[0])
            if node.val is None or a == ():
                return ()
            return (1, a[1]) if node.val == 0 else (a[0], 1)
        if op == "elem":
            return self._elem(node)
        if op == "Sum":
            return self.of(node.args[0])
        if op == "onehot":
            self._check_index(node.args[0], node.val, node)  # type: ignore[arg-type]
            return (node.val, 1)  # type: ignore[return-value]
        if op == "eye":
            return (node.val, node.val)  # type: ignore[return-value]
        if op == "ones":
            return tuple(node.val)  # type: ignore[arg-type]
        if op == "d":
            if self.derivative_shape is None:
                raise Unsupported("derivative outside the engine")
            return self.derivative_shape(node)
        if op == "jac":
            return tuple(node.val[2])  # type: ignore[index]
        if op == "seed":
            return tuple(node.val)  # type: ignore[arg-type]
        raise Unsupported(f"no shape rule for {op}")

    def _fn(self, node: E) -> Shape:
        name = node.val
        a = self.of(node.args[0])
        if name in ("softmax",):
            if a == ():
                raise self._mismatch(node, "softmax needs a vector or matrix", a)
            return a
        if name == "logsumexp":
            if a == ():
                raise self._mismatch(node, "logsumexp needs a vector or matrix", a)
            return () if a[1] == 1 else (1, a[1])
        if name == "diag":
            if a == ():
                raise self._mismatch(node, "diag needs a vector or a square matrix", a)
            if a[1] == 1:
                return (a[0], a[0])
            if a[0] == 1:
                return (a[1], a[1])
            if a[0] != a[1]:
                raise self._mismatch(node, "diag of a non-square matrix", a)
            return (a[0], 1)
        if name in ("tr", "det", "inv"):
            if a == ():
                return ()
            if a[0] != a[1]:
                raise self._mismatch(node, f"{name} needs a square matrix", a)
            return () if name != "inv" else a
        return a  # elementwise

    def _check_index(self, index: E, dim: str | int, node: E) -> None:
        if index.op == "idx":
            rng = self.index_range[index.val]  # type: ignore[index]
            if rng != dim:
                raise ShapeError(
                    f"index `{index.val}` ranges over {rng} but is used on a dimension of size "
                    f"{dim} in `{to_text(node)}`", where=to_text(node), shapes=())

    def _elem(self, node: E) -> Shape:
        base = self.of(node.args[0])
        idx = node.args[1:]
        if base == ():
            raise ShapeError(f"`{to_text(node.args[0])}` is a scalar: it has no elements",
                             where=to_text(node))
        if len(idx) == 1:
            if base[1] == 1:
                self._check_index(idx[0], base[0], node)
            elif base[0] == 1:
                self._check_index(idx[0], base[1], node)
            else:
                raise ShapeError(f"`{to_text(node.args[0])}` is a matrix {fmt_shape(base)}: "
                                 "an element needs two indices", where=to_text(node),
                                 shapes=(base,))
            return ()
        self._check_index(idx[0], base[0], node)
        self._check_index(idx[1], base[1], node)
        return ()


def derivative_shape(node: E, layout: str, shape_of: Callable[[E], Shape]) -> Shape:
    """The shape of ``d(f)/d(v)`` in ``layout`` (see docs/format.md), or a ShapeError.

    Raises ``Unsupported`` for derivatives that would be tensors.
    """
    f, v = node.args
    fs = shape_of(f)
    target, index = (v.args[0], v.args[1:]) if v.op == "elem" else (v, ())
    ts = shape_of(target)
    if index or ts == ():
        shape_of(v)  # checks the index ranges
        return fs
    if fs == ():
        if layout == "none":
            raise ShapeError(f"layout 'none' has no derivative of a scalar by the "
                             f"{fmt_shape(ts)} `{target.val}`: choose a layout",
                             where=str(target.val))
        return ts if layout == "gradient" else (ts[1], ts[0])
    if len(fs) == 2 and (fs[1] == 1 or fs[0] == 1) and ts[1] == 1:
        if layout == "none":
            raise ShapeError("layout 'none' has no Jacobian: choose a layout",
                             where=str(target.val))
        m = fs[0] if fs[1] == 1 else fs[1]
        return (m, ts[0]) if layout == "numerator" else (ts[0], m)
    text = to_text(f)
    text = text if len(text) <= 40 else text[:37] + "..."
    raise Unsupported(f"d({text})/d({target.val}) is a derivative of a {fmt_shape(fs)} by a "
                      f"{fmt_shape(ts)}: a tensor; write it per element, e.g. "
                      "d(z[i])/d(W[j, k])")
