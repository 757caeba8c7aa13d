"""Shape inference, and claims that are ill-formed because their shapes do not fit."""

from __future__ import annotations

import pytest

from derivcheck.errors import ShapeError, Unsupported
from derivcheck.results import Verdict

SYMBOLS = {"x": "vector n", "y": "vector n", "v": "vector m", "A": "matrix n n",
           "M": "matrix n m", "s": "scalar", "i": "index n", "j": "index m"}
DEFINE = {"L": "sum(x ** 2) + v.T @ M.T @ x", "z": "M @ v", "r": "x.T @ M"}

# (expression, expected shape); a vector is a column (n, 1), a 1 x 1 result a scalar ()
SHAPES = [
    ("x", ("n", 1)),
    ("x.T", (1, "n")),
    ("s", ()),
    ("2", ()),
    ("n", ()),
    ("x.T @ y", ()),
    ("x @ y.T", ("n", "n")),
    ("M @ v", ("n", 1)),
    ("M.T @ x", ("m", 1)),
    ("A @ M", ("n", "m")),
    ("x.T @ M", (1, "m")),
    ("x + 1", ("n", 1)),
    ("s * x", ("n", 1)),
    ("x * v.T", ("n", "m")),
    ("x + v.T", ("n", "m")),
    ("M + x", ("n", "m")),
    ("M - v.T", ("n", "m")),
    ("M / (x.T @ y)", ("n", "m")),
    ("x ** 2", ("n", 1)),
    ("-M", ("n", "m")),
    ("exp(M)", ("n", "m")),
    ("relu_prime(x) * x", ("n", 1)),
    ("sum(M)", ()),
    ("sum(M, 0)", (1, "m")),
    ("sum(M, 1)", ("n", 1)),
    ("mean(M, 0)", (1, "m")),
    ("mean(M, 1)", ("n", 1)),
    ("sum(x, 0)", ()),
    ("sum(x, 1)", ("n", 1)),
    ("softmax(x)", ("n", 1)),
    ("softmax(M)", ("n", "m")),
    ("logsumexp(x)", ()),
    ("logsumexp(M)", (1, "m")),
    ("diag(x)", ("n", "n")),
    ("diag(A)", ("n", 1)),
    ("tr(A)", ()),
    ("det(A)", ()),
    ("inv(A)", ("n", "n")),
    ("x[i]", ()),
    ("x[0]", ()),
    ("M[i, j]", ()),
    ("onehot(i, n)", ("n", 1)),
    ("eye(n)", ("n", "n")),
    ("delta(i, i)", ()),
    ("Sum(i, x[i] * A)", ("n", "n")),
    ("z", ("n", 1)),
    ("z[i]", ()),
    ("r", (1, "m")),
]


@pytest.mark.parametrize(("text", "shape"), SHAPES, ids=[c[0] for c in SHAPES])
def test_shape_inference(model_engine, text: str, shape: tuple) -> None:
    m = model_engine(symbols=SYMBOLS, define=DEFINE)
    assert m.engine.shape(m.parse(text)) == shape


# (derivative, shape in the gradient layout, shape in the numerator layout)
DERIVATIVE_SHAPES = [
    ("d(L)/d(x)", ("n", 1), (1, "n")),
    ("d(L)/d(M)", ("n", "m"), ("m", "n")),
    ("d(L)/d(s)", (), ()),
    ("d(L)/d(x[i])", (), ()),
    ("d(L)/d(M[i, j])", (), ()),
    ("d(L)/d(z)", ("n", 1), (1, "n")),
    ("d(M @ v)/d(v)", ("m", "n"), ("n", "m")),
    ("d(x)/d(x)", ("n", "n"), ("n", "n")),
    ("d(z)/d(x)", ("n", "n"), ("n", "n")),
    ("d(r)/d(x)", ("n", "m"), ("m", "n")),
    ("d(M @ v)/d(M[i, j])", ("n", 1), ("n", 1)),
    ("d(s * M)/d(s)", ("n", "m"), ("n", "m")),
    ("d(z[i])/d(v)", ("m", 1), (1, "m")),
]


@pytest.mark.parametrize(("text", "gradient", "numerator"), DERIVATIVE_SHAPES,
                         ids=[c[0] for c in DERIVATIVE_SHAPES])
def test_derivative_shapes(model_engine, text: str, gradient: tuple, numerator: tuple) -> None:
    m = model_engine(symbols=SYMBOLS, define=DEFINE)
    node = m.parse(text)
    assert m.engine.shape(node, "gradient") == gradient
    assert m.engine.shape(node, "numerator") == numerator


# (expression, a fragment of the shape error)
SHAPE_ERRORS = [
    ("x + v", "(n, 1) vs (m, 1)"),
    ("M @ x", "(n, m) vs (n, 1)"),
    ("x @ y", "(n, 1) vs (n, 1)"),
    ("M * A", "(n, m) vs (n, n)"),
    ("tr(M)", "(n, m)"),
    ("inv(M)", "(n, m)"),
    ("diag(M)", "(n, m)"),
    ("softmax(s)", "scalar"),
    ("x[j]", "ranges over m"),
    ("M[j, i]", "ranges over m"),
    ("M[i]", "two indices"),
    ("s[i]", "no elements"),
    ("onehot(j, n)", "ranges over m"),
]


@pytest.mark.parametrize(("text", "fragment"), SHAPE_ERRORS, ids=[c[0] for c in SHAPE_ERRORS])
def test_shape_errors(model_engine, text: str, fragment: str) -> None:
    m = model_engine(symbols=SYMBOLS, define=DEFINE)
    with pytest.raises(ShapeError) as info:
        m.engine.shape(m.parse(text))
    assert fragment in info.value.message


def test_derivative_of_a_matrix_by_a_matrix_is_unsupported(model_engine) -> None:
    m = model_engine(symbols=SYMBOLS, define=DEFINE)
    with pytest.raises(Unsupported):
        m.engine.shape(m.parse("d(A @ M)/d(M)"))


def test_layout_none_has_no_gradient_of_a_vector(model_engine) -> None:
    m = model_engine(symbols=SYMBOLS, define=DEFINE)
    with pytest.raises(ShapeError):
        m.engine.shape(m.parse("d(L)/d(x)"), "none")
    assert m.engine.shape(m.parse("d(L)/d(x[i])"), "none") == ()


# -- ill-formed claims ----------------------------------------------------------------

# (id, claim, layout, the two shapes the message must name, expected codes)
ILL_FORMED = [
    ("vectors of different sizes", "x = v", None, ("(n, 1)", "(m, 1)"), ("shape-mismatch",)),
    ("broadcast fails inside", "x + v = x", None, ("(n, 1)", "(m, 1)"), ("shape-mismatch",)),
    ("matmul inner dims", "M @ x = y", None, ("(n, m)", "(n, 1)"), ("shape-mismatch",)),
    ("column vs row, not a transpose", "log(x ** 2) = y.T", None, ("(n, 1)", "(1, n)"),
     ("shape-mismatch",)),
    ("scalar vs vector", "x.T @ y = x", None, ("scalar", "(n, 1)"), ("shape-mismatch",)),
    ("gradient of a vector claimed as a row", "d(x.T @ y)/d(x) = y.T", None,
     ("(n, 1)", "(1, n)"), ("shape-mismatch", "transpose")),
    ("gradient of a matrix claimed transposed", "d(x.T @ M @ v)/d(M) = v @ x.T", None,
     ("(n, m)", "(m, n)"), ("shape-mismatch", "transpose")),
    ("numerator layout claimed as a column", "d(x.T @ y)/d(x) = y", "numerator",
     ("(1, n)", "(n, 1)"), ("shape-mismatch", "transpose")),
    ("jacobian in the wrong layout", "d(M @ v)/d(v) = M", None, ("(m, n)", "(n, m)"),
     ("shape-mismatch", "transpose")),
]


@pytest.mark.parametrize(("claim", "layout", "shapes", "codes"), [c[1:] for c in ILL_FORMED],
                         ids=[c[0] for c in ILL_FORMED])
def test_ill_formed_claims(check, claim: str, layout: str | None, shapes: tuple[str, str],
                           codes: tuple[str, ...]) -> None:
    result = check(claim, symbols=SYMBOLS, define=DEFINE, layout=layout)
    assert result.verdict == Verdict.ILL_FORMED
    assert result.codes == codes
    for shape in shapes:
        assert shape in result.message


def test_ill_formed_has_no_counterexample(check) -> None:
    result = check("x = v", symbols=SYMBOLS)
    assert result.links[0].counterexample is None
    assert result.links[0].evidence.method == "shape"


def test_zero_constant_broadcasts_against_any_shape(check) -> None:
    result = check("d(s * 0)/d(M) = 0", symbols=SYMBOLS)
    assert result.verdict.holds
