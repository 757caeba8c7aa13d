"""The finite-difference cross-check accepts the engine's formulas and catches wrong ones.

The cross-check evaluates every moved point of a finite difference in one batch;
these cases cover each kind of target it moves: a matrix, a vector, a scalar, one
element, and a defined intermediate (moved through an override).
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from derivcheck.engine.crosscheck import crosscheck_derivatives
from derivcheck.ir import E

CASES = [
    pytest.param("mlp", "d(L)/d(W1)", "gradient", id="matrix"),
    pytest.param("mlp", "d(L)/d(b2)", "gradient", id="vector"),
    pytest.param("mlp", "d(a2)/d(z2)", "numerator", id="jacobian"),
    pytest.param("mlp", "d(L)/d(z2)", "gradient", id="intermediate"),
    pytest.param("mlp", "d(L)/d(W2[i, j])", "gradient", id="element"),
    pytest.param("sigmoid", "d(L)/d(b)", "gradient", id="scalar"),
    pytest.param("sigmoid", "d(J)/d(zb)", "gradient", id="batch-intermediate"),
]


def _wrong(formula: E) -> E:
    """The formula scaled by 1.5: a derivative the cross-check must reject."""
    return E("mul", (E("num", (), Fraction(3, 2)), formula))


@pytest.mark.parametrize(("model", "text", "layout"), CASES)
def test_engine_formula_passes(model_engine, model: str, text: str, layout: str) -> None:
    m = model_engine(model)
    node = m.parse(text)
    assert crosscheck_derivatives(m.engine, [node], layout, np.random.default_rng(1)) is None


@pytest.mark.parametrize(("model", "text", "layout"), CASES)
def test_wrong_formula_is_caught(model_engine, model: str, text: str, layout: str) -> None:
    m = model_engine(model)
    node = m.parse(text)
    d = next(iter(m.engine.derivative_nodes(node)))
    m.engine._derivatives[(d, layout)] = _wrong(m.engine.derivative(d, layout))
    problem = crosscheck_derivatives(m.engine, [node], layout, np.random.default_rng(1))
    assert problem is not None and "finite differences" in problem
