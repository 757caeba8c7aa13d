"""Baseline: naive SymPy, what a user writes in an afternoon.

Dimensions are instantiated at small sizes (2 and 3 alternately, by name);
every entry of every symbol is a SymPy symbol (positive where the kind says
so; one-hot vectors are a concrete basis vector; the sum-to-one of a
probability vector is ignored); both sides are built as SymPy matrices from the
parsed tree (never from strings), derivatives by ``sympy.diff``, and the claim
holds when ``simplify(lhs - rhs) == 0`` for every component and every value of
the free indices.  Each claim runs in a forked child killed at the time limit.
"""

from __future__ import annotations

import itertools
import multiprocessing as mp
import time
from dataclasses import dataclass, field
from typing import Any

import sympy as sp

from derivcheck.ir import E
from derivcheck.model import Derivation


class NaiveShapeError(Exception):
    pass


def naive_sizes(dims: tuple[str, ...]) -> dict[str, int]:
    return {d: 2 + k % 2 for k, d in enumerate(sorted(dims))}


@dataclass
class _Env:
    derivation: Derivation
    sizes: dict[str, int]
    values: dict[str, Any]
    layout: str
    overrides: dict[str, Any] = field(default_factory=dict)
    indices: dict[str, int] = field(default_factory=dict)


def _symbol_value(name: str, sym: Any, sizes: dict[str, int]) -> Any:
    shape = tuple(d if isinstance(d, int) else sizes[d] for d in sym.shape)
    c = sym.constraints
    positive = bool(c & {"positive", "unit"}) and "onehot" not in c
    if not shape:
        return sp.Symbol(name, real=True, positive=positive or None)
    m, n = shape
    if "onehot" in c:
        return sp.Matrix(m, 1, lambda i, j: 1 if i == 0 else 0)
    if "onehot_columns" in c:
        return sp.Matrix(m, n, lambda i, j: 1 if i == j % m else 0)
    sym_entry = {}

    def entry(i: int, j: int) -> Any:
        if "symmetric" in c and i > j:
            i, j = j, i
        key = (i, j)
        if key not in sym_entry:
            sym_entry[key] = sp.Symbol(f"{name}_{i}_{j}", real=True, positive=positive or None)
        return sym_entry[key]

    return sp.Matrix(m, n, entry)


def _is_mat(a: Any) -> bool:
    return isinstance(a, sp.MatrixBase)


def _scalar(a: Any) -> Any:
    return a[0, 0] if _is_mat(a) and a.shape == (1, 1) else a


def _bcast(a: Any, b: Any, fn: Any) -> Any:
    if not _is_mat(a) and not _is_mat(b):
        return fn(a, b)
    sa = a.shape if _is_mat(a) else (1, 1)
    sb = b.shape if _is_mat(b) else (1, 1)
    shape = []
    for x, y in zip(sa, sb):
        if x != y and 1 not in (x, y):
            raise NaiveShapeError(f"{sa} and {sb}")
        shape.append(max(x, y))

    def get(v: Any, s: tuple, i: int, j: int) -> Any:
        if not _is_mat(v):
            return v
        return v[0 if s[0] == 1 else i, 0 if s[1] == 1 else j]

    return sp.Matrix(shape[0], shape[1], lambda i, j: fn(get(a, sa, i, j), get(b, sb, i, j)))


def _map(a: Any, fn: Any) -> Any:
    return a.applyfunc(fn) if _is_mat(a) else fn(a)


def _relu(x: Any) -> Any:
    return sp.Piecewise((x, x > 0), (0, True))


def _relu_prime(x: Any) -> Any:
    return sp.Piecewise((1, x > 0), (0, True))


ELEMENTWISE = {"log": sp.log, "log2": lambda x: sp.log(x, 2), "log10": lambda x: sp.log(x, 10),
               "exp": sp.exp, "sqrt": sp.sqrt, "abs": sp.Abs, "tanh": sp.tanh,
               "sigmoid": lambda x: 1 / (1 + sp.exp(-x)), "relu": _relu,
               "relu_prime": _relu_prime, "sign": sp.sign}
BINOPS = {"add": lambda x, y: x + y, "sub": lambda x, y: x - y, "mul": lambda x, y: x * y,
          "div": lambda x, y: x / y, "pow": lambda x, y: x ** y}


def build(node: E, env: _Env) -> Any:
    """The SymPy value of ``node`` (a Matrix, or a scalar expression)."""
    op = node.op
    if op == "num":
        return sp.Rational(node.val.numerator, node.val.denominator)
    if op == "sym":
        return env.overrides.get(node.val, env.values[node.val])
    if op == "ref":
        if node.val in env.overrides:
            return env.overrides[node.val]
        return build(env.derivation.definition(node.val).expr, env)
    if op == "dim":
        return sp.Integer(env.sizes[node.val])
    if op in BINOPS:
        return _bcast(build(node.args[0], env), build(node.args[1], env), BINOPS[op])
    if op == "neg":
        return -build(node.args[0], env)
    if op == "matmul":
        a, b = build(node.args[0], env), build(node.args[1], env)
        if not (_is_mat(a) and _is_mat(b)) or a.shape[1] != b.shape[0]:
            raise NaiveShapeError("matmul")
        return a * b
    if op == "T":
        a = build(node.args[0], env)
        return a.T if _is_mat(a) else a
    if op == "fn":
        return _fn(node.val, build(node.args[0], env))
    if op in ("sum", "mean"):
        a = build(node.args[0], env)
        if not _is_mat(a):
            return a
        m, n = a.shape
        div = {None: m * n, 0: m, 1: n}[node.val] if op == "mean" else 1
        if node.val is None:
            return sum(a) / div
        if node.val == 0:
            return sp.Matrix(1, n, lambda i, j: sum(a[:, j]) / div)
        return sp.Matrix(m, 1, lambda i, j: sum(a[i, :]) / div)
    if op == "elem":
        a = build(node.args[0], env)
        idx = [_index(i, env) for i in node.args[1:]]
        if not _is_mat(a):
            raise NaiveShapeError("element of a scalar")
        if len(idx) == 1:
            return a[idx[0], 0] if a.shape[1] == 1 else a[0, idx[0]]
        return a[idx[0], idx[1]]
    if op == "Sum":
        var = node.val
        n = env.sizes[env.derivation.symbols[var].dims[0]]
        terms = [build(node.args[0], _with_index(env, var, k)) for k in range(n)]
        out = terms[0]
        for t in terms[1:]:
            out = _bcast(out, t, BINOPS["add"])
        return out
    if op == "delta":
        i, j = (_index(a, env) for a in node.args)
        return sp.Integer(1 if i == j else 0)
    if op == "onehot":
        t = _index(node.args[0], env)
        return sp.Matrix(env.sizes[node.val], 1, lambda i, j: 1 if i == t else 0)
    if op == "eye":
        return sp.eye(env.sizes[node.val])
    if op == "d":
        return _derivative(node, env)
    raise NotImplementedError(op)


def _with_index(env: _Env, name: str, value: int) -> _Env:
    return _Env(env.derivation, env.sizes, env.values, env.layout, env.overrides,
                {**env.indices, name: value})


def _index(node: E, env: _Env) -> int:
    return int(node.val) if node.op == "int" else env.indices[node.val]


def _fn(name: str, a: Any) -> Any:
    if name in ELEMENTWISE:
        return _map(a, ELEMENTWISE[name])
    if not _is_mat(a):
        raise NaiveShapeError(f"{name} of a scalar")
    if name == "softmax":
        e = a.applyfunc(sp.exp)
        return sp.Matrix(a.shape[0], a.shape[1], lambda i, j: e[i, j] / sum(e[:, j]))
    if name == "logsumexp":
        return _scalar(sp.Matrix(1, a.shape[1],
                                 lambda i, j: sp.log(sum(a[:, j].applyfunc(sp.exp)))))
    if name == "diag":
        if a.shape[1] == 1:
            return sp.diag(*a)
        return sp.Matrix(a.shape[0], 1, lambda i, j: a[i, i])
    if a.shape[0] != a.shape[1]:
        raise NaiveShapeError(f"{name} of a non-square matrix")
    return {"tr": lambda: a.trace(), "det": lambda: a.det(), "inv": lambda: a.inv()}[name]()


def _derivative(node: E, env: _Env) -> Any:
    f, v = node.args
    base = v.args[0] if v.op == "elem" else v
    if base.op == "ref":
        # backpropagation: the intermediate becomes fresh symbols, downstream recomputed
        value = build(base, env)
        fresh = (sp.Matrix(*value.shape, lambda i, j: sp.Symbol(f"_{base.val}_{i}_{j}"))
                 if _is_mat(value) else sp.Symbol(f"_{base.val}"))
        inner = _Env(env.derivation, env.sizes, env.values, env.layout,
                     {**env.overrides, base.val: fresh}, env.indices)
        out = _derivative_by(f, v, inner, fresh)
        pairs = (list(zip(fresh, value)) if _is_mat(value) else [(fresh, value)])
        return _map(out, lambda e: e.subs(pairs, simultaneous=True))
    return _derivative_by(f, v, env, build(base, env))


def _derivative_by(f: E, v: E, env: _Env, var: Any) -> Any:
    fv = _scalar(build(f, env))
    if v.op == "elem":
        idx = [_index(i, env) for i in v.args[1:]]
        x = (var[idx[0], 0] if var.shape[1] == 1 else var[0, idx[0]]) if len(idx) == 1 \
            else var[idx[0], idx[1]]
        return _map(fv, lambda e: sp.diff(e, x))
    if not _is_mat(var):
        return _map(fv, lambda e: sp.diff(e, var))
    if not _is_mat(fv):
        g = var.applyfunc(lambda x: sp.diff(fv, x))
        return g.T if env.layout == "numerator" else g
    if fv.shape[1] != 1 or var.shape[1] != 1:
        raise NotImplementedError("a tensor derivative")
    jac = sp.Matrix(var.shape[0], fv.shape[0], lambda j, i: sp.diff(fv[i, 0], var[j, 0]))
    return jac.T if env.layout == "numerator" else jac


def decide(lhs: E, rhs: E, derivation: Derivation, layout: str, free: list[str]) -> str:
    """holds / refuted / ill_formed for one claim (no time limit here)."""
    sizes = naive_sizes(derivation.dims)
    values = {n: _symbol_value(n, s, sizes) for n, s in derivation.symbols.items()
              if not s.is_index}
    ranges = [range(sizes[derivation.symbols[n].dims[0]]) for n in free]
    for combo in itertools.product(*ranges):
        env = _Env(derivation, sizes, values, layout, indices=dict(zip(free, combo)))
        try:
            a, b = _scalar(build(lhs, env)), _scalar(build(rhs, env))
        except NaiveShapeError:
            return "ill_formed"
        sa = a.shape if _is_mat(a) else ()
        sb = b.shape if _is_mat(b) else ()
        if sa != sb:
            return "ill_formed"
        pairs = zip(a, b) if _is_mat(a) else [(a, b)]
        for x, y in pairs:
            if sp.simplify(x - y) != 0:
                return "refuted"
    return "holds"


def _child(conn: Any, args: tuple) -> None:
    start = time.perf_counter()
    try:
        verdict = decide(*args)
        conn.send((verdict, "", time.perf_counter() - start))
    except Exception as exc:  # the baseline cannot express it
        conn.send(("error", f"{type(exc).__name__}: {exc}"[:200], time.perf_counter() - start))
    finally:
        conn.close()


def decide_limited(lhs: E, rhs: E, derivation: Derivation, layout: str, free: list[str],
                   seconds: float) -> tuple[str, str, float]:
    """(verdict, detail, seconds) in a forked child killed after ``seconds`` of wall time.

    Verdicts: holds, refuted, ill_formed, undecided (time limit), error.
    """
    ctx = mp.get_context("fork")
    parent, child = ctx.Pipe(duplex=False)
    start = time.perf_counter()
    proc = ctx.Process(target=_child, args=(child, (lhs, rhs, derivation, layout, free)),
                       daemon=True)
    proc.start()
    child.close()
    try:
        if parent.poll(seconds):
            try:
                verdict, detail, _ = parent.recv()
            except EOFError:
                verdict, detail = "error", "the child died"
            return verdict, detail, time.perf_counter() - start
        return "undecided", f"time limit {seconds:g} s", seconds
    finally:
        parent.close()
        if proc.is_alive():
            proc.kill()
        proc.join()
