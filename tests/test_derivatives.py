"""The engine's derivative formulas against central finite differences computed here.

``Engine.derivative`` gives a formula; it is evaluated at random points drawn by
the test (not by the engine's sampler) and compared with central differences of
the function it differentiates.  The differences use the engine's evaluator for
the function's value, so the evaluator itself is first checked against NumPy
written out in this file.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable

import numpy as np
import pytest

from derivcheck.engine.numeric import Point
from derivcheck.ir import E
from tests.conftest import ModelEngine, draw_values

SIZES = {"n": 3, "m": 2, "D": 3, "H": 4, "K": 3, "N": 4}
STEP = 1e-6
POINTS = 3
KINK_MARGIN = 1e-2


def sizes_for(m: ModelEngine) -> dict[str, int]:
    return {d: SIZES[d] for d in m.derivation.dims}


# -- the evaluator against NumPy ---------------------------------------------------

def _softmax(a: np.ndarray) -> np.ndarray:
    e = np.exp(a - a.max(axis=0, keepdims=True))
    return e / e.sum(axis=0, keepdims=True)


def _sigmoid(a: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-a))


EVAL_SYMBOLS = {"x": "vector n", "q": "posvector n", "M": "matrix n m", "A": "matrix n n",
                "G": "invmatrix n", "s": "scalar", "i": "index n", "j": "index m"}

# (expression, NumPy of the same, given the values v and the index values ix)
FORWARD: list[tuple[str, Callable[[dict, dict], np.ndarray]]] = [
    ("softmax(x)", lambda v, ix: _softmax(v["x"])),
    ("softmax(M)", lambda v, ix: _softmax(v["M"])),
    ("logsumexp(x)", lambda v, ix: np.log(np.exp(v["x"]).sum())),
    ("logsumexp(M)", lambda v, ix: np.log(np.exp(v["M"]).sum(axis=0, keepdims=True))),
    ("sigmoid(M)", lambda v, ix: _sigmoid(v["M"])),
    ("relu(M)", lambda v, ix: np.maximum(v["M"], 0)),
    ("relu_prime(M)", lambda v, ix: (v["M"] > 0).astype(float)),
    ("tanh(x) + abs(x)", lambda v, ix: np.tanh(v["x"]) + np.abs(v["x"])),
    ("log2(q) - log10(q) + sqrt(q)", lambda v, ix: np.log2(v["q"]) - np.log10(v["q"])
     + np.sqrt(v["q"])),
    ("diag(x)", lambda v, ix: np.diag(v["x"][:, 0])),
    ("diag(A)", lambda v, ix: np.diag(v["A"]).reshape(-1, 1)),
    ("tr(A) + det(A)", lambda v, ix: np.trace(v["A"]) + np.linalg.det(v["A"])),
    ("inv(G)", lambda v, ix: np.linalg.inv(v["G"])),
    ("sum(M)", lambda v, ix: v["M"].sum()),
    ("sum(M, 0)", lambda v, ix: v["M"].sum(axis=0, keepdims=True)),
    ("sum(M, 1)", lambda v, ix: v["M"].sum(axis=1, keepdims=True)),
    ("mean(M)", lambda v, ix: v["M"].mean()),
    ("mean(M, 0)", lambda v, ix: v["M"].mean(axis=0, keepdims=True)),
    ("mean(M, 1)", lambda v, ix: v["M"].mean(axis=1, keepdims=True)),
    ("x * M", lambda v, ix: v["x"] * v["M"]),
    ("x.T @ A @ x", lambda v, ix: (v["x"].T @ v["A"] @ v["x"])[0, 0]),
    ("q ** x", lambda v, ix: v["q"] ** v["x"]),
    ("M[i, j]", lambda v, ix: v["M"][ix["i"], ix["j"]]),
    ("x[i] * s", lambda v, ix: v["x"][ix["i"], 0] * v["s"]),
    ("Sum(i, x[i] * A[i, 0])", lambda v, ix: (v["x"][:, 0] * v["A"][:, 0]).sum()),
    ("delta(i, 1) + onehot(i, n).T @ x",
     lambda v, ix: float(ix["i"] == 1) + v["x"][ix["i"], 0]),
    ("eye(n) * s - n", lambda v, ix: np.eye(3) * v["s"] - 3),
]


@pytest.mark.parametrize(("text", "reference"), FORWARD, ids=[c[0] for c in FORWARD])
def test_evaluator_matches_numpy(model_engine, text: str, reference) -> None:
    m = model_engine(symbols=EVAL_SYMBOLS)
    node = m.parse(text)
    rng = np.random.default_rng(7)
    for _ in range(POINTS):
        values = draw_values(m.derivation, sizes_for(m), rng)
        ev = m.engine.evaluator(Point(sizes_for(m), values))
        for ix in ({"i": 0, "j": 1}, {"i": 2, "j": 0}):
            got = np.asarray(ev.value(node, ix), dtype=float)
            want = np.asarray(reference(values, ix), dtype=float)
            assert got.shape == want.shape
            np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


# -- derivatives against finite differences -----------------------------------------

def index_settings(m: ModelEngine, names: tuple[str, ...]) -> list[dict[str, int]]:
    ranges = [range(SIZES[m.derivation.symbols[n].dims[0]]) for n in names]
    return [dict(zip(names, combo)) for combo in itertools.product(*ranges)]


def finite_difference(m: ModelEngine, dnode: E, values: dict[str, np.ndarray],
                      sizes: dict[str, int], ix: dict[str, int], layout: str) -> np.ndarray:
    """Central differences of ``f`` in ``d(f)/d(v)``, laid out as the layout says.

    A defined ``v`` is moved through ``Point.overrides``: what is upstream of it
    stays fixed, what is downstream is recomputed (the meaning of backprop's dL/dz).
    """
    f, v = dnode.args
    target, index = (v.args[0], v.args[1:]) if v.op == "elem" else (v, ())
    name = str(target.val)
    point = Point(sizes, values)
    if target.op == "sym":
        base = np.asarray(values[name], dtype=float)
    else:
        base = np.asarray(m.engine.evaluator(point).value(target, ix), dtype=float)

    def f_at(moved: np.ndarray) -> np.ndarray:
        value = moved if moved.ndim else np.float64(moved)
        if target.op == "sym":
            p = Point(sizes, {**values, name: value})
        else:
            p = Point(sizes, values, {name: value})
        return np.asarray(m.engine.evaluator(p).value(f, ix), dtype=float)

    if index:
        keys = [int(k.val) if k.op == "int" else ix[str(k.val)] for k in index]
        if len(keys) == 2:
            positions = [tuple(keys)]
        else:
            positions = [(keys[0], 0) if base.shape[1] == 1 else (0, keys[0])]
    elif base.ndim == 0:
        positions = [()]
    else:
        positions = list(np.ndindex(*base.shape))
    columns = []
    for pos in positions:
        plus, minus = base.copy(), base.copy()
        plus[pos] += STEP
        minus[pos] -= STEP
        columns.append((f_at(plus) - f_at(minus)) / (2 * STEP))
    if index or base.ndim == 0:
        return columns[0]  # the shape of f
    if f_at(base).ndim == 0:
        grad = np.array(columns).reshape(base.shape)
        return grad if layout == "gradient" else grad.T
    jac = np.column_stack([c.reshape(-1) for c in columns])  # J[a, b] = d f_a / d v_b
    return jac if layout == "numerator" else jac.T


MLP = "mlp"
# (id, model, extra symbols, extra definitions, derivative, layout, free indices)
CASES = [
    ("linear", "cookbook", None, None, "d(a.T @ x)/d(x)", "gradient", ()),
    ("linear numerator", "cookbook", None, None, "d(a.T @ x)/d(x)", "numerator", ()),
    ("quadratic form by x", "cookbook", None, None, "d(x.T @ A @ x)/d(x)", "gradient", ()),
    ("quadratic form by A", "cookbook", None, None, "d(x.T @ A @ x)/d(A)", "gradient", ()),
    ("bilinear by M", "cookbook", None, None, "d(u.T @ M @ v)/d(M)", "gradient", ()),
    ("bilinear by M numerator", "cookbook", None, None, "d(u.T @ M @ v)/d(M)", "numerator", ()),
    ("softmax CE by z", "softmax", None, None, "d(L)/d(z)", "gradient", ()),
    ("softmax CE with prob target", "softmax", None, None, "d(Lp)/d(z)", "gradient", ()),
    ("softmax CE with plain target", "softmax", None, None, "d(Ly)/d(z)", "gradient", ()),
    ("indexed CE", None, {"z": "vector K", "c": "index K"},
     {"a": "softmax(z)", "L": "-log(a[c])"}, "d(L)/d(z)", "gradient", ("c",)),
    ("sigmoid BCE by w", "sigmoid", None, None, "d(L)/d(w)", "gradient", ()),
    ("sigmoid BCE by b", "sigmoid", None, None, "d(L)/d(b)", "gradient", ()),
    ("sigmoid BCE by z (cut)", "sigmoid", None, None, "d(L)/d(z)", "gradient", ()),
    ("sigmoid BCE by p (cut)", "sigmoid", None, None, "d(L)/d(p)", "gradient", ()),
    ("batch BCE by w", "sigmoid", None, None, "d(J)/d(w)", "gradient", ()),
    ("batch BCE by X", "sigmoid", None, None, "d(J)/d(X)", "gradient", ()),
    ("batch BCE by b", "sigmoid", None, None, "d(J)/d(b)", "gradient", ()),
    ("tanh layer", None, {"W": "matrix H D", "x": "vector D", "b": "vector H"},
     {"h": "tanh(W @ x + b)", "L": "sum(h ** 2)"}, "d(L)/d(W)", "gradient", ()),
    ("log-sum-exp of a vector", "softmax", None, None, "d(lse)/d(z)", "gradient", ()),
    ("log-sum-exp of a matrix", None, {"M": "matrix n m"}, {"L": "sum(logsumexp(M))"},
     "d(L)/d(M)", "gradient", ()),
    ("relu MLP by W1", MLP, None, None, "d(L)/d(W1)", "gradient", ()),
    ("relu MLP by b1", MLP, None, None, "d(L)/d(b1)", "gradient", ()),
    ("relu MLP by W2", MLP, None, None, "d(L)/d(W2)", "gradient", ()),
    ("relu MLP by x", MLP, None, None, "d(L)/d(x)", "gradient", ()),
    ("relu MLP by W1 numerator", MLP, None, None, "d(L)/d(W1)", "numerator", ()),
    ("relu MLP by z1 (cut)", MLP, None, None, "d(L)/d(z1)", "gradient", ()),
    ("relu MLP by a1 (cut)", MLP, None, None, "d(L)/d(a1)", "gradient", ()),
    ("relu MLP by z2 (cut)", MLP, None, None, "d(L)/d(z2)", "gradient", ()),
    ("relu MLP element by z1[j]", MLP, None, None, "d(L)/d(z1[j])", "gradient", ("j",)),
    ("relu MLP element by W1[j, k]", MLP, None, None, "d(L)/d(W1[j, k])", "gradient",
     ("j", "k")),
    ("cut holds the upstream fixed", None, {"W": "matrix K D", "x": "vector D"},
     {"z": "W @ x", "L": "sum(softmax(z) ** 2) + sum(x ** 3) + sum(z)"}, "d(L)/d(z)",
     "gradient", ()),
    ("det", "cookbook", None, None, "d(det(G))/d(G)", "gradient", ()),
    ("log det", "cookbook", None, None, "d(log(det(P)))/d(P)", "gradient", ()),
    ("log abs det", "cookbook", None, None, "d(log(abs(det(G))))/d(G)", "gradient", ()),
    ("trace of a product", "cookbook", None, None, "d(tr(A @ X))/d(X)", "gradient", ()),
    ("trace of an inverse", "cookbook", None, None, "d(tr(inv(G) @ A))/d(G)", "gradient", ()),
    ("sum of an inverse", "cookbook", None, None, "d(sum(inv(G)))/d(G)", "gradient", ()),
    ("inverse by an element", "cookbook", {"i": "index n", "j": "index n"}, None,
     "d(inv(G))/d(G[i, j])", "gradient", ("i", "j")),
    ("element by element", None, {"W": "matrix H D", "x": "vector D", "b": "vector H",
                                  "i": "index H", "j": "index H", "k": "index D"},
     {"z": "W @ x + b"}, "d(z[i])/d(W[j, k])", "gradient", ("i", "j", "k")),
    ("element by a bias element", None, {"W": "matrix H D", "x": "vector D", "b": "vector H",
                                         "i": "index H", "j": "index H"},
     {"z": "W @ x + b"}, "d(z[i])/d(b[j])", "gradient", ("i", "j")),
    ("softmax jacobian", "softmax", None, None, "d(a)/d(z)", "gradient", ()),
    ("softmax jacobian numerator", "softmax", None, None, "d(a)/d(z)", "numerator", ()),
    ("log-softmax jacobian", "softmax", None, None, "d(ls)/d(z)", "gradient", ()),
    ("log-softmax jacobian numerator", "softmax", None, None, "d(ls)/d(z)", "numerator", ()),
    ("rectangular jacobian", None, {"M": "matrix n m", "v": "vector m"}, None,
     "d(tanh(M @ v))/d(v)", "gradient", ()),
    ("rectangular jacobian numerator", None, {"M": "matrix n m", "v": "vector m"}, None,
     "d(tanh(M @ v))/d(v)", "numerator", ()),
    ("jacobian of a row", None, {"M": "matrix n m", "x": "vector n"}, None,
     "d(x.T @ M)/d(x)", "gradient", ()),
    ("jacobian of a row numerator", None, {"M": "matrix n m", "x": "vector n"}, None,
     "d(x.T @ M)/d(x)", "numerator", ()),
    ("jacobian by a cut", MLP, None, None, "d(a2)/d(z2)", "numerator", ()),
    ("softmax element jacobian", "softmax", None, None, "d(a[i])/d(z[j])", "gradient",
     ("i", "j")),
    ("vector by a scalar", None, {"x": "vector n", "s": "scalar"}, None,
     "d(tanh(s * x))/d(s)", "gradient", ()),
    ("matrix by an element", None, {"M": "matrix n m", "i": "index n", "j": "index m"},
     None, "d(exp(M) * M)/d(M[i, j])", "gradient", ("i", "j")),
    ("scalar by a scalar", None, {"s": "scalar", "u": "scalar"}, None,
     "d(sigmoid(s * u) / (1 + u ** 2))/d(s)", "gradient", ()),
    ("mean over rows", None, {"M": "matrix n m"}, None, "d(sum(mean(M, 0) ** 2))/d(M)",
     "gradient", ()),
    ("sum over columns", None, {"M": "matrix n m"}, None, "d(sum(sum(M, 1) ** 3))/d(M)",
     "gradient", ()),
    ("mean of everything", None, {"M": "matrix n m"}, None, "d(mean(exp(M)))/d(M)",
     "gradient", ()),
    ("mean in a jacobian", None, {"M": "matrix n m", "x": "vector n"}, None,
     "d(mean(x * M, 1))/d(x)", "gradient", ()),
    ("pow by the base", None, {"x": "vector n"}, None, "d(sum(x ** 3))/d(x)", "gradient", ()),
    ("pow by the exponent", None, {"x": "vector n", "q": "posvector n"}, None,
     "d(sum(q ** x))/d(x)", "gradient", ()),
    ("pow by both", None, {"s": "posscalar", "u": "posscalar"}, None, "d(s ** u)/d(s)",
     "gradient", ()),
    ("pow with a dimension", None, {"q": "posvector n"}, None, "d(sum(q ** n))/d(q)",
     "gradient", ()),
    ("negative power", None, {"q": "posvector n"}, None, "d(sum(q ** -2))/d(q)",
     "gradient", ()),
    ("sqrt", None, {"q": "posvector n"}, None, "d(sum(sqrt(q)))/d(q)", "gradient", ()),
    ("abs", None, {"x": "vector n"}, None, "d(sum(abs(x) * x))/d(x)", "gradient", ()),
    ("log2 and log10", None, {"q": "posvector n"}, None, "d(sum(log2(q) * log10(q)))/d(q)",
     "gradient", ()),
    ("division", None, {"x": "vector n", "q": "posvector n"}, None, "d(sum(x / q))/d(q)",
     "gradient", ()),
    ("diag of a vector", None, {"x": "vector n", "y": "vector n"}, None,
     "d(sum(diag(x) @ y * y))/d(x)", "gradient", ()),
    ("diag of a matrix", None, {"A": "matrix n n"}, None, "d(sum(diag(A) ** 2))/d(A)",
     "gradient", ()),
    ("Sum of squares", None, {"x": "vector n", "k": "index n"}, None,
     "d(Sum(k, x[k] ** 2))/d(x)", "gradient", ()),
    ("Sum with a free index", None, {"W": "matrix n n", "x": "vector n", "i": "index n",
                                     "j": "index n", "k": "index n"}, None,
     "d(Sum(k, W[i, k] * x[k]))/d(x[j])", "gradient", ("i", "j")),
    ("Sum over a defined name", "softmax", None, None,
     "d(-Sum(k, t[k] * log(a[k])))/d(z)", "gradient", ()),
    ("delta in a Sum", None, {"x": "vector n", "i": "index n", "k": "index n"}, None,
     "d(Sum(k, delta(i, k) * x[k] ** 2))/d(x)", "gradient", ("i",)),
    ("onehot picks an entry", None, {"x": "vector n", "i": "index n"}, None,
     "d(exp(onehot(i, n).T @ x))/d(x)", "gradient", ("i",)),
    ("ridge", "linreg", None, None, "d(Lr)/d(w)", "gradient", ()),
    ("hessian of least squares", "linreg", None, None, "d(g)/d(w)", "gradient", ()),
]


_SYMS = {"x": "vector n", "y": "vector n", "i": "index n", "j": "index n"}
# A Sum's index is bound inside it only; the same letter outside it is free.
CAPTURE_CASES = [
    pytest.param(None, _SYMS, None, "d(Sum(i, x[i] ** 2) * y[i])/d(x[j])", "gradient",
                 ("i", "j"), id="Sum index reused outside, reverse mode"),
    pytest.param(None, _SYMS, None, "d(Sum(i, x[i] * x))/d(x[i])", "gradient", ("i",),
                 id="Sum index reused by the target, forward mode"),
    pytest.param(None, _SYMS, None, "d(Sum(j, x[j] ** 2) * y[i])/d(x[i])", "gradient", ("i",),
                 id="Sum index not reused"),
]


@pytest.mark.parametrize(("model", "symbols", "define", "text", "layout", "free"),
                         [pytest.param(*c[1:], id=c[0]) for c in CASES] + CAPTURE_CASES)
def test_derivative_matches_finite_differences(model_engine, model, symbols, define,
                                               text: str, layout: str,
                                               free: tuple[str, ...]) -> None:
    m = model_engine(model, symbols=symbols, define=define)
    dnode = m.parse(text)
    formula = m.engine.derivative(dnode, layout)
    sizes = sizes_for(m)
    rng = np.random.default_rng(2024)
    done = 0
    for _ in range(50):
        values = draw_values(m.derivation, sizes, rng)
        ev = m.engine.evaluator(Point(sizes, values))
        settings = index_settings(m, free)
        got = [np.asarray(ev.value(formula, ix), dtype=float) for ix in settings]
        for ix in settings:
            ev.value(dnode.args[0], ix)  # records how close f comes to a kink
        if ev.min_kink < KINK_MARGIN:
            continue  # a ReLU or abs too close to 0 for finite differences
        for ix, value in zip(settings, got):
            fd = finite_difference(m, dnode, values, sizes, ix, layout)
            assert value.shape == fd.shape, ix
            np.testing.assert_allclose(value, fd, rtol=1e-5, atol=1e-6, err_msg=str(ix))
        done += 1
        if done == POINTS:
            break
    assert done == POINTS, "too few points away from the kinks"


def test_derivative_by_an_unrelated_symbol_is_zero(model_engine) -> None:
    m = model_engine(symbols={"x": "vector n", "y": "vector n"})
    formula = m.engine.derivative(m.parse("d(sum(exp(x)))/d(y)"), "gradient")
    values = draw_values(m.derivation, sizes_for(m), np.random.default_rng(1))
    value = m.engine.evaluator(Point(sizes_for(m), values)).value(formula)
    assert np.shape(value) == (3, 1)
    assert not np.any(value)


def test_derivative_of_a_name_by_itself_is_one(model_engine) -> None:
    m = model_engine("softmax")
    formula = m.engine.derivative(m.parse("d(L)/d(L)"), "gradient")
    values = draw_values(m.derivation, sizes_for(m), np.random.default_rng(1))
    assert m.engine.evaluator(Point(sizes_for(m), values)).value(formula) == 1.0
