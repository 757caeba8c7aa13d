"""An oracle for derivation claims that shares no code with derivcheck.

It judges whether a claim of a derivation file is true by evaluating both sides in
high precision (mpmath, ``DIGITS`` digits) at random points, at several random size
settings of its own (pairwise distinct sizes, larger than derivcheck's smallest),
with derivatives by central finite differences at a step of ``1e-15``, where the
precision makes both the truncation and the rounding error negligible next to the
``1e-9`` relative differences it reports.

Everything is written here from the format's documentation (docs/format.md): the
YAML is read with ruamel.yaml, expressions with Python's ``ast`` module (the syntax
is a subset of Python's once ``d(f)/d(v)`` is rewritten as a call), values are NumPy
arrays of mpmath numbers.  No module of ``derivcheck`` is imported, so a mistake in
derivcheck's reader, canonical forms, differentiator or evaluator cannot be repeated
here.  (It is used by the soundness fuzzer, tests/test_soundness_fuzz.py, and by
bench/mutants.py; parsing Python syntax with ``ast.parse`` never evaluates it.)

Conventions (docs/format.md): every value is a 2-D array (a scalar is ``1 x 1``),
vectors are columns; ``d(scalar)/d(X)`` has the shape of ``X`` in gradient layout
and of ``X.T`` in numerator layout; ``d(f)/d(v)`` of vectors is ``(n, m)`` in
gradient layout and ``(m, n)`` in numerator layout; a derivative by a scalar or an
element has the shape of ``f``; ``d(f)/d(u)`` with ``u`` defined is backpropagation.
"""

from __future__ import annotations

import ast
import decimal
import itertools
import random
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import mpmath
import numpy as np

DIGITS = 70
STEP = mpmath.mpf("1e-15")
FALSE_AT = 1e-9  # a relative difference above this at some point: the claim is false
EQUAL_BELOW = 1e-20  # below this everywhere: the claim holds at the points tried
MAX_ASSIGNMENTS = 24  # free-index assignments tried per point (all when fewer)


class Unsupported(Exception):
    """The oracle cannot evaluate this claim (counted, never guessed)."""


class Undefined(Exception):
    """A value is undefined at this point (log of a negative number, ...)."""


class ShapeMismatch(Exception):
    """The sides or an operation do not fit together."""


# ---------------------------------------------------------------- reading


def _match_paren(text: str, start: int) -> int:
    """Index of the parenthesis closing the one at ``start``."""
    depth = 0
    for i in range(start, len(text)):
        if text[i] == "(":
            depth += 1
        elif text[i] == ")":
            depth -= 1
            if depth == 0:
                return i
    raise Unsupported(f"unbalanced parentheses in {text!r}")


_D_AT = re.compile(r"(?<![A-Za-z0-9_.])d\(")


def rewrite_derivatives(text: str) -> str:
    """``d(f)/d(v)`` -> ``D__(f, v)``, innermost first, so that Python's ``ast`` reads it."""
    out = []
    pos = 0
    while True:
        m = _D_AT.search(text, pos)
        if not m:
            out.append(text[pos:])
            return "".join(out)
        open_f = m.end() - 1
        close_f = _match_paren(text, open_f)
        rest = text[close_f + 1:]
        m2 = re.match(r"\s*/\s*d\(", rest)
        if not m2:
            raise Unsupported(f"d(...) without /d(...) in {text!r}")
        open_v = close_f + 1 + m2.end() - 1
        close_v = _match_paren(text, open_v)
        f = rewrite_derivatives(text[open_f + 1:close_f])
        v = rewrite_derivatives(text[open_v + 1:close_v])
        out.append(text[pos:m.start()])
        out.append(f"D__({f}, {v})")
        pos = close_v + 1


def parse(text: str) -> ast.expr:
    """One side of a claim, as a Python expression tree."""
    try:
        tree = ast.parse(rewrite_derivatives(text.strip()), mode="eval")
    except SyntaxError as exc:
        raise Unsupported(f"cannot read {text!r}: {exc.msg}") from None
    return tree.body


def split_claim(claim: str) -> tuple[str, str]:
    parts = re.split(r"(?<![<>=!])=(?!=)", claim)
    if len(parts) != 2:
        raise Unsupported(f"not one equation: {claim!r}")
    return parts[0], parts[1]


_BINOPS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Pow: "**",
           ast.MatMult: "@"}


def show(node: ast.expr) -> str:
    """The derivcheck syntax of a tree (fully parenthesised where it matters)."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Constant):
        value = node.value
        if isinstance(value, float):  # decimals, never exponents (the format has none)
            return format(decimal.Decimal(repr(value)), "f")
        return str(value)
    if isinstance(node, ast.BinOp):
        return f"({show(node.left)} {_BINOPS[type(node.op)]} {show(node.right)})"
    if isinstance(node, ast.UnaryOp):
        sign = "-" if isinstance(node.op, ast.USub) else "+"
        return f"({sign}{show(node.operand)})"
    if isinstance(node, ast.Attribute):
        return f"{show(node.value)}.{node.attr}"
    if isinstance(node, ast.Subscript):
        inner = node.slice
        items = inner.elts if isinstance(inner, ast.Tuple) else [inner]
        return f"{show(node.value)}[{', '.join(show(i) for i in items)}]"
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        if node.func.id == "D__":
            return f"(d({show(node.args[0])})/d({show(node.args[1])}))"
        return f"{node.func.id}({', '.join(show(a) for a in node.args)})"
    raise Unsupported(f"cannot show {ast.dump(node)}")


# ---------------------------------------------------------------- the file


@dataclass(frozen=True)
class Sym:
    name: str
    kind: str
    dims: tuple[str, ...]


@dataclass
class Problem:
    """What the oracle needs of a derivation file."""

    symbols: dict[str, Sym]
    defines: list[tuple[str, ast.expr]]
    layout: str = "gradient"
    dims: list[str] = field(default_factory=list)
    fixed: set[str] = field(default_factory=set)  # indices the definitions use

    @property
    def indices(self) -> dict[str, str]:
        return {s.name: s.dims[0] for s in self.symbols.values() if s.kind == "index"}


_ASSUME = {"is_onehot": "onehot", "is_prob": "prob", "is_unit": "unitscalar",
           "is_binary": "binary", "is_symmetric": "symmatrix", "is_spd": "spdmatrix",
           "is_invertible": "invmatrix", "is_onehot_columns": "onehotmatrix"}
_POSITIVE = {"scalar": "posscalar", "vector": "posvector", "matrix": "posmatrix"}


def problem(doc: dict) -> Problem:
    """A parsed YAML derivation document (a plain mapping) as a ``Problem``."""
    symbols: dict[str, Sym] = {}
    dims: list[str] = []
    for name, spec in (doc.get("symbols") or {}).items():
        if isinstance(spec, dict):
            spec = spec.get("kind", "")
        words = str(spec).split()
        if not words:
            raise Unsupported(f"symbol {name}: empty kind")
        symbols[str(name)] = Sym(str(name), words[0], tuple(words[1:]))
        for d in words[1:]:
            if d not in dims and not d.isdigit():
                dims.append(d)
    for text in doc.get("assume") or []:
        m = re.fullmatch(r"\s*(is_\w+)\((\w+)\)\s*", str(text))
        if not m or m.group(2) not in symbols:
            raise Unsupported(f"assumption {text!r}")
        fn, name = m.groups()
        sym = symbols[name]
        if fn == "is_positive":
            kind = _POSITIVE.get(sym.kind, sym.kind)
        elif fn in _ASSUME:
            kind = _ASSUME[fn]
        else:
            raise Unsupported(f"assumption {text!r}")
        symbols[name] = Sym(name, kind, sym.dims)
    defines = [(str(k), parse(str(v))) for k, v in (doc.get("define") or {}).items()]
    layout = str((doc.get("conventions") or {}).get("layout", "gradient"))
    prob = Problem(symbols, defines, layout, dims)
    for _, node in defines:  # an index a definition uses is a value of the point
        prob.fixed |= free_indices(node, prob.indices)
    return prob


def true_claims(doc: dict) -> Iterator[tuple[str, str, str, str]]:
    """(step id, left, right, layout) of every equation the file expects to hold."""
    layout = str((doc.get("conventions") or {}).get("layout", "gradient"))
    for step in doc.get("steps") or []:
        step_layout = str(step.get("layout", layout))
        expect = step.get("expect", "holds")
        if "claim" in step:
            links = [split_claim(str(step["claim"]))]
            expects = [expect]
        elif "chain" in step:
            chain = [str(c) for c in step["chain"]]
            links = list(itertools.pairwise(chain))
            expects = expect if isinstance(expect, list) else [expect] * len(links)
        else:
            continue
        for n, ((lhs, rhs), want) in enumerate(zip(links, expects, strict=False)):
            if str(want) in ("holds", "proved", "checked"):
                yield f"{step.get('id')}#{n}", lhs, rhs, step_layout


# ---------------------------------------------------------------- points


def sizes(prob: Problem, rng: random.Random, large: bool) -> dict[str, int]:
    """Pairwise distinct sizes: 2.. or, for ``large``, 4.. (at most 7)."""
    base = 4 if large else 2
    pool = list(range(base, max(base + len(prob.dims), 8)))
    rng.shuffle(pool)
    return dict(zip(prob.dims, pool, strict=False))


def _size(dim: str, setting: dict[str, int]) -> int:
    return int(dim) if dim.isdigit() else setting[dim]


def _mp(x: float) -> Any:
    return mpmath.mpf(repr(float(x)))


def draw(prob: Problem, setting: dict[str, int], rng: random.Random) -> dict[str, np.ndarray]:
    """Values for every symbol, respecting its kind."""
    out: dict[str, np.ndarray] = {}
    scale = rng.choice([0.6, 1.0, 2.0])

    def real(shape: tuple[int, int], lo: float = -1.0, hi: float = 1.0) -> np.ndarray:
        a = np.empty(shape, dtype=object)
        for i, j in itertools.product(range(shape[0]), range(shape[1])):
            a[i, j] = _mp(scale * rng.uniform(lo, hi))
        return a

    for sym in prob.symbols.values():
        n = [_size(d, setting) for d in sym.dims]
        k = sym.kind
        if k == "index":
            continue
        if k == "scalar":
            out[sym.name] = real((1, 1))
        elif k == "posscalar":
            out[sym.name] = np.array([[_mp(rng.uniform(0.2, 2.5))]], dtype=object)
        elif k == "unitscalar":
            out[sym.name] = np.array([[_mp(rng.uniform(0.05, 0.95))]], dtype=object)
        elif k == "vector":
            out[sym.name] = real((n[0], 1))
        elif k == "posvector":
            out[sym.name] = np.array([[_mp(rng.uniform(0.2, 2.5))] for _ in range(n[0])],
                                     dtype=object)
        elif k == "prob":
            raw = [rng.uniform(0.2, 1.0) for _ in range(n[0])]
            total = mpmath.fsum(_mp(r) for r in raw)
            out[sym.name] = np.array([[_mp(r) / total] for r in raw], dtype=object)
        elif k in ("onehot", "multihot", "binary"):
            if k == "onehot":
                hot = {rng.randrange(n[0])}
            else:
                hot = {i for i in range(n[0]) if rng.random() < 0.5}
                if k == "multihot" and not hot:
                    hot = {rng.randrange(n[0])}
            out[sym.name] = np.array([[mpmath.mpf(int(i in hot))] for i in range(n[0])],
                                     dtype=object)
        elif k == "matrix":
            out[sym.name] = real((n[0], n[1]))
        elif k == "posmatrix":
            out[sym.name] = real((n[0], n[1]), 0.2, 2.5)
        elif k == "symmatrix":
            a = real((n[0], n[0]))
            out[sym.name] = (a + a.T) / 2
        elif k == "spdmatrix":
            a = real((n[0], n[0]))
            out[sym.name] = a @ a.T + np.eye(n[0], dtype=int).astype(object) * mpmath.mpf(
                n[0]) / 4
        elif k == "invmatrix":
            a = real((n[0], n[0]))
            out[sym.name] = a + np.eye(n[0], dtype=int).astype(object) * mpmath.mpf(n[0])
        elif k == "onehotmatrix":
            m = np.full((n[0], n[1]), mpmath.mpf(0), dtype=object)
            for col in range(n[1]):
                m[rng.randrange(n[0]), col] = mpmath.mpf(1)
            out[sym.name] = m
        else:
            raise Unsupported(f"kind {k}")
    return out


# ---------------------------------------------------------------- evaluation


def _scalar(a: np.ndarray) -> bool:
    return a.shape == (1, 1)


def _elementwise(fn: Any, a: np.ndarray) -> np.ndarray:
    out = np.empty(a.shape, dtype=object)
    for i, j in itertools.product(range(a.shape[0]), range(a.shape[1])):
        out[i, j] = fn(a[i, j])
    return out


def _log(x: Any, base: Any = None) -> Any:
    if x <= 0:
        raise Undefined("log of a non-positive number")
    return mpmath.log(x) if base is None else mpmath.log(x) / mpmath.log(base)


def _sqrt(x: Any) -> Any:
    if x < 0:
        raise Undefined("sqrt of a negative number")
    return mpmath.sqrt(x)


_UNARY = {
    "exp": mpmath.exp,
    "log": _log,
    "log2": lambda x: _log(x, 2),
    "log10": lambda x: _log(x, 10),
    "sqrt": _sqrt,
    "abs": abs,
    "tanh": mpmath.tanh,
    "sigmoid": lambda x: 1 / (1 + mpmath.exp(-x)),
    "relu": lambda x: x if x > 0 else mpmath.mpf(0),
    "relu_prime": lambda x: mpmath.mpf(1) if x > 0 else mpmath.mpf(0),
}
KINKED = ("relu", "relu_prime", "abs")


class Env:
    """Values of the symbols and definitions at one point; definitions recomputed on demand."""

    def __init__(self, prob: Problem, setting: dict[str, int], values: dict[str, np.ndarray],
                 fixed: dict[str, int]):
        self.prob = prob
        self.fixed = fixed
        self.setting = setting
        self.base = values
        self.values = dict(values)
        self.kink = mpmath.mpf(10) ** -10  # a kink closer than this: the point is unusable
        for name, node in prob.defines:
            self.values[name] = self.eval(node, fixed)

    def with_value(self, name: str, value: np.ndarray) -> Env:
        """This point with ``name`` set to ``value`` and what is downstream recomputed."""
        new = Env.__new__(Env)
        new.prob, new.setting, new.base, new.kink = self.prob, self.setting, self.base, self.kink
        new.fixed = self.fixed
        new.values = dict(self.values)
        new.values[name] = value
        names = [n for n, _ in self.prob.defines]
        start = names.index(name) + 1 if name in names else 0
        for dname, node in self.prob.defines[start:]:
            new.values[dname] = new.eval(node, self.fixed)
        return new

    # -- the tree

    def eval(self, node: ast.expr, idx: dict[str, int]) -> np.ndarray:
        if isinstance(node, ast.Constant):
            if isinstance(node.value, bool) or not isinstance(node.value, int | float):
                raise Unsupported(f"constant {node.value!r}")
            return np.array([[mpmath.mpf(repr(node.value))]], dtype=object)
        if isinstance(node, ast.Name):
            return self._name(node.id, idx)
        if isinstance(node, ast.UnaryOp):
            a = self.eval(node.operand, idx)
            return -a if isinstance(node.op, ast.USub) else a
        if isinstance(node, ast.BinOp):
            return self._binop(node, idx)
        if isinstance(node, ast.Attribute):
            if node.attr != "T":
                raise Unsupported(f"attribute .{node.attr}")
            return self.eval(node.value, idx).T
        if isinstance(node, ast.Subscript):
            return self._element(node, idx)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            return self._call(node.func.id, node.args, idx)
        raise Unsupported(f"cannot evaluate {ast.dump(node)[:80]}")

    def _name(self, name: str, idx: dict[str, int]) -> np.ndarray:
        if name in idx:
            raise Unsupported(f"index {name} used as a value")
        if name in self.values:
            return self.values[name]
        if name in self.prob.dims:
            return np.array([[mpmath.mpf(self.setting[name])]], dtype=object)
        raise Unsupported(f"unknown name {name}")

    def _binop(self, node: ast.BinOp, idx: dict[str, int]) -> np.ndarray:
        a, b = self.eval(node.left, idx), self.eval(node.right, idx)
        op = type(node.op)
        if op is ast.MatMult:
            if a.shape[1] == b.shape[0]:
                return a @ b
            if _scalar(a) or _scalar(b):  # a 1 x 1 product is a scalar
                return a * b
            raise ShapeMismatch(f"matmul {a.shape} @ {b.shape}")
        try:
            np.broadcast_shapes(a.shape, b.shape)
        except ValueError:
            raise ShapeMismatch(f"{a.shape} vs {b.shape}") from None
        if op is ast.Add:
            return a + b
        if op is ast.Sub:
            return a - b
        if op is ast.Mult:
            return a * b
        if op is ast.Div:
            if any(v == 0 for v in b.flat):
                raise Undefined("division by zero")
            return a / b
        if op is ast.Pow:
            out = np.empty(np.broadcast_shapes(a.shape, b.shape), dtype=object)
            aa, bb = np.broadcast_arrays(a, b)
            for i, j in itertools.product(range(out.shape[0]), range(out.shape[1])):
                x, y = aa[i, j], bb[i, j]
                if x < 0 and y != int(y):
                    raise Undefined("fractional power of a negative number")
                if x == 0 and y < 0:
                    raise Undefined("zero to a negative power")
                out[i, j] = x ** y
            return out
        raise Unsupported(f"operator {op.__name__}")

    def _index(self, node: ast.expr, idx: dict[str, int], dim: int) -> int:
        if isinstance(node, ast.Constant) and isinstance(node.value, int):
            value = node.value
        elif isinstance(node, ast.Name) and node.id in idx:
            value = idx[node.id]
        else:
            raise Unsupported(f"index {ast.dump(node)[:40]}")
        if not 0 <= value < dim:
            raise ShapeMismatch(f"index {value} out of range {dim}")
        return value

    def _element(self, node: ast.Subscript, idx: dict[str, int]) -> np.ndarray:
        a = self.eval(node.value, idx)
        items = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
        if len(items) == 1:
            if a.shape[1] != 1:
                raise ShapeMismatch("one index of a matrix")
            i = self._index(items[0], idx, a.shape[0])
            return a[i:i + 1, 0:1]
        if len(items) == 2:
            i = self._index(items[0], idx, a.shape[0])
            j = self._index(items[1], idx, a.shape[1])
            return a[i:i + 1, j:j + 1]
        raise Unsupported("three indices")

    def _range(self, index: str) -> int:
        dim = self.prob.indices.get(index)
        if dim is None:
            raise Unsupported(f"{index} is not an index")
        return _size(dim, self.setting)

    def _call(self, fn: str, args: list[ast.expr], idx: dict[str, int]) -> np.ndarray:
        if fn == "D__":
            return self._derivative(args[0], args[1], idx)
        if fn == "Sum":
            if not isinstance(args[0], ast.Name) or len(args) != 2:
                raise Unsupported("Sum(k, expr) only")
            k = args[0].id
            terms = [self.eval(args[1], {**idx, k: v}) for v in range(self._range(k))]
            total = terms[0]
            for t in terms[1:]:
                total = total + t
            return total
        if fn == "delta":
            i, j = (self._index_value(a, idx) for a in args)
            return np.array([[mpmath.mpf(int(i == j))]], dtype=object)
        if fn == "onehot":
            t = self._index_value(args[0], idx)
            n = self._dim_value(args[1])
            return np.array([[mpmath.mpf(int(r == t))] for r in range(n)], dtype=object)
        if fn == "eye":
            n = self._dim_value(args[0])
            return np.array([[mpmath.mpf(int(r == c)) for c in range(n)] for r in range(n)],
                            dtype=object)
        a = self.eval(args[0], idx)
        if fn in _UNARY and len(args) == 1:
            if fn in KINKED and any(abs(v) < self.kink for v in a.flat):
                raise Undefined("too close to a kink")
            return _elementwise(_UNARY[fn], a)
        if fn in ("sum", "mean"):
            n = a.shape[0] * a.shape[1]
            if len(args) == 1:
                total = np.array([[mpmath.fsum(a.flat)]], dtype=object)
                return total / n if fn == "mean" else total
            axis = args[1].value if isinstance(args[1], ast.Constant) else None
            if axis not in (0, 1):
                raise Unsupported("axis")
            out = np.array([[mpmath.fsum(col) for col in a.T]], dtype=object) if axis == 0 \
                else np.array([[mpmath.fsum(row)] for row in a], dtype=object)
            return out / a.shape[axis] if fn == "mean" else out
        if fn in ("softmax", "logsumexp"):
            cols = []
            for c in range(a.shape[1]):
                col = a[:, c]
                top = max(col)
                total = mpmath.fsum(mpmath.exp(v - top) for v in col)
                if fn == "softmax":
                    cols.append([mpmath.exp(v - top) / total for v in col])
                else:
                    cols.append([top + mpmath.log(total)])
            return np.array(cols, dtype=object).T
        if fn in ("tr", "det", "inv", "diag"):
            return self._matrix_fn(fn, a)
        raise Unsupported(f"function {fn}")

    def _index_value(self, node: ast.expr, idx: dict[str, int]) -> int:
        if isinstance(node, ast.Constant) and isinstance(node.value, int):
            return node.value
        if isinstance(node, ast.Name) and node.id in idx:
            return idx[node.id]
        raise Unsupported("index value")

    def _dim_value(self, node: ast.expr) -> int:
        if isinstance(node, ast.Constant) and isinstance(node.value, int):
            return node.value
        if isinstance(node, ast.Name) and node.id in self.setting:
            return self.setting[node.id]
        raise Unsupported("dimension")

    @staticmethod
    def _matrix_fn(fn: str, a: np.ndarray) -> np.ndarray:
        if fn == "diag":
            if a.shape[1] == 1:
                n = a.shape[0]
                out = np.full((n, n), mpmath.mpf(0), dtype=object)
                for i in range(n):
                    out[i, i] = a[i, 0]
                return out
            if a.shape[0] != a.shape[1]:
                raise ShapeMismatch("diag of a non-square matrix")
            return np.array([[a[i, i]] for i in range(a.shape[0])], dtype=object)
        if a.shape[0] != a.shape[1]:
            raise ShapeMismatch(f"{fn} of a non-square matrix")
        if fn == "tr":
            return np.array([[mpmath.fsum(a[i, i] for i in range(a.shape[0]))]], dtype=object)
        m = mpmath.matrix(a.tolist())
        if fn == "det":
            return np.array([[mpmath.det(m)]], dtype=object)
        if mpmath.det(m) == 0:
            raise Undefined("singular matrix")
        inv = m ** -1
        return np.array([[inv[i, j] for j in range(m.cols)] for i in range(m.rows)],
                        dtype=object)

    # -- derivatives

    def _target(self, node: ast.expr, idx: dict[str, int]) -> tuple[str, list[tuple[int, int]],
                                                                     bool]:
        """The variable a derivative is taken by: name, the entries, by an element?"""
        if isinstance(node, ast.Name):
            name = node.id
            if name not in self.values:
                raise Unsupported(f"d(...)/d({name})")
            shape = self.values[name].shape
            return name, list(itertools.product(range(shape[0]), range(shape[1]))), False
        if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name):
            name = node.value.id
            if name not in self.values:
                raise Unsupported(f"d(...)/d({name}[...])")
            shape = self.values[name].shape
            items = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
            if len(items) == 1:
                if shape[1] != 1:
                    raise ShapeMismatch("one index of a matrix")
                entry = (self._index(items[0], idx, shape[0]), 0)
            else:
                entry = (self._index(items[0], idx, shape[0]),
                         self._index(items[1], idx, shape[1]))
            return name, [entry], True
        raise Unsupported("derivative by an expression")

    def _partial(self, f: ast.expr, name: str, entry: tuple[int, int],
                 idx: dict[str, int]) -> np.ndarray:
        base = self.values[name]
        sides = []
        for sign in (1, -1):
            value = base.copy()
            value[entry] = value[entry] + sign * STEP
            sides.append(self.with_value(name, value).eval(f, idx))
        return (sides[0] - sides[1]) / (2 * STEP)

    def _derivative(self, f: ast.expr, v: ast.expr, idx: dict[str, int]) -> np.ndarray:
        name, entries, element = self._target(v, idx)
        shape = self.values[name].shape
        fval = self.eval(f, idx)
        if element or shape == (1, 1):
            return self._partial(f, name, entries[0], idx)
        parts = {e: self._partial(f, name, e, idx) for e in entries}
        numerator = self.prob.layout == "numerator"
        if _scalar(fval):
            grad = np.empty(shape, dtype=object)
            for e, p in parts.items():
                grad[e] = p[0, 0]
            return grad.T if numerator else grad
        if fval.shape[1] == 1 and shape[1] == 1:  # vector by vector
            jac = np.empty((fval.shape[0], shape[0]), dtype=object)
            for (i, _), p in parts.items():
                jac[:, i] = p[:, 0]
            return jac if numerator else jac.T
        raise Unsupported("a derivative that is a tensor")


# ---------------------------------------------------------------- judging


def free_indices(node: ast.expr, indices: dict[str, str], bound: frozenset[str] = frozenset()
                 ) -> set[str]:
    if isinstance(node, ast.Name):
        return {node.id} if node.id in indices and node.id not in bound else set()
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and \
            node.func.id == "Sum" and node.args and isinstance(node.args[0], ast.Name):
        return free_indices(node.args[1], indices, bound | {node.args[0].id})
    out: set[str] = set()
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.expr):
            out |= free_indices(child, indices, bound)
    return out


@dataclass(frozen=True)
class Judgement:
    """``false``: differs by more than ``FALSE_AT`` relative at some point where both sides
    are defined; ``shape``: the sides never fit; ``equal``: agree to ``EQUAL_BELOW`` at
    every point tried; ``tiny``: differences between the two; ``unusable``: no point
    where both sides are defined."""

    label: str
    difference: float = 0.0
    points: int = 0


def relative(a: np.ndarray, b: np.ndarray) -> Any:
    a, b = np.broadcast_arrays(a, b)
    scale = max([abs(x) for x in a.flat] + [abs(x) for x in b.flat] + [mpmath.mpf(0)])
    diff = max(abs(x - y) for x, y in zip(a.flat, b.flat, strict=True))
    if diff == 0:
        return mpmath.mpf(0)
    return diff / scale


@dataclass
class Judge:
    """Judges claims of one derivation, caching the left sides at its points."""

    prob: Problem
    seed: int = 0
    settings: int = 2
    points: int = 3
    _envs: list[tuple[Env, list[dict[str, int]]]] | None = None

    def envs(self, free: set[str]) -> Iterator[tuple[Env, dict[str, int]]]:
        if self._envs is None:
            self._envs = []
            rng = random.Random(self.seed)
            with mpmath.workdps(DIGITS):
                for s in range(self.settings):
                    setting = sizes(self.prob, rng, large=s % 2 == 1)
                    made = 0
                    for _ in range(self.points * 4):
                        if made == self.points:
                            break
                        try:
                            fixed = {i: rng.randrange(_size(self.prob.indices[i], setting))
                                     for i in sorted(self.prob.fixed)}
                            env = Env(self.prob, setting, draw(self.prob, setting, rng), fixed)
                        except Undefined:
                            continue
                        made += 1
                        self._envs.append((env, []))
        rng = random.Random(self.seed + 1)
        for env, _ in self._envs:
            names = sorted(free)
            ranges = [range(env._range(n)) for n in names]
            combos = list(itertools.product(*ranges))
            if len(combos) > MAX_ASSIGNMENTS:
                combos = rng.sample(combos, MAX_ASSIGNMENTS)
            for combo in combos:
                yield env, {**env.fixed, **dict(zip(names, combo, strict=True))}

    def judge(self, lhs: ast.expr, rhs: ast.expr) -> Judgement:
        free = free_indices(lhs, self.prob.indices) | free_indices(rhs, self.prob.indices)
        free -= self.prob.fixed
        worst = mpmath.mpf(0)
        used = 0
        shape_errors = 0
        with mpmath.workdps(DIGITS):
            for env, idx in self.envs(free):
                try:
                    a = env.eval(lhs, idx)
                    b = env.eval(rhs, idx)
                except Undefined:
                    continue
                except ShapeMismatch:
                    shape_errors += 1
                    continue
                if a.shape != b.shape and not (_scalar(a) or _scalar(b)):
                    shape_errors += 1
                    continue
                used += 1
                worst = max(worst, relative(a, b))
                if worst > FALSE_AT:
                    return Judgement("false", float(worst), used)
        if used == 0:
            return Judgement("shape" if shape_errors else "unusable", 0.0, 0)
        if worst < EQUAL_BELOW:
            return Judgement("equal", float(worst), used)
        return Judgement("tiny", float(worst), used)
