"""The finite-difference cross-check accepts the engine's formulas and catches wrong ones.

The cross-check evaluates every moved point of a finite difference in one batch;
these cases cover each kind of target it moves: a matrix, a vector, a scalar, one
element, and a defined intermediate (moved through an override).
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from derivcheck.decide.crosscheck import crosscheck_derivatives
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


# -- the batch's magnitudes, computed once per batch, are those of each point ----------------

@pytest.mark.parametrize(("model", "lhs", "rhs"), [
    pytest.param("mlp", "d(L)/d(W1)", "((W2.T @ (a2 - y)) * relu_prime(z1)) @ x.T", id="matrix"),
    pytest.param("softmax", "d(L)/d(z[i])", "a[i] - t[i]", id="free-index"),
    pytest.param("sigmoid", "J", "mean(-(t * log(pb) + (1 - t) * log(1 - pb)))", id="scalar"),
])
def test_sample_magnitude_is_the_points(model_engine, model: str, lhs: str, rhs: str) -> None:
    from dataclasses import replace

    from derivcheck.decide import Options
    from derivcheck.decide.points import magnitude as _magnitude
    from derivcheck.decide.points import sample_both

    m = model_engine(model)
    left = m.engine.resolve(m.parse(lhs), "gradient")
    right = m.engine.resolve(m.parse(rhs), "gradient")
    free = m.engine.free_indices(left) | m.engine.free_indices(right)
    samples, _ = sample_both(m.engine, left, right, free, Options(symbolic=False),
                             np.random.default_rng(3))
    assert len(samples) >= 15  # 5 per size setting, plus any that reach a side of a kink
    for s in samples:
        assert s.magnitude is not None
        assert _magnitude(s) == _magnitude(replace(s, magnitude=None))


# -- relative errors of all index settings at once equal those computed one by one ----------

@pytest.mark.parametrize(("settings", "lshape", "rshape"), [
    pytest.param(1, (5, 3, 4), (1, 3, 4), id="one-setting"),
    pytest.param(4, (5, 3, 1), (1, 3, 1), id="vectors-broadcast"),
    pytest.param(12, (5, 1, 1), (5, 1, 1), id="scalars"),
])
def test_batch_errors_match_one_setting_at_a_time(settings: int, lshape: tuple,
                                                  rshape: tuple) -> None:
    from derivcheck.decide.tolerance import batch_errors

    rng = np.random.default_rng(0)
    lv = [rng.normal(size=lshape) * 10.0 ** rng.integers(-3, 4) for _ in range(settings)]
    rv = [np.broadcast_to(rng.normal(size=rshape), lshape) for _ in range(settings)]
    lv[0][1, 0, 0] = np.nan
    lv[-1][2, 0, 0] = np.inf
    with np.errstate(all="ignore"):
        expected = np.array([np.abs(a - b).max(axis=(1, 2)) / (1.0 + np.maximum(
            np.abs(a).max(axis=(1, 2)), np.abs(b).max(axis=(1, 2)))) for a, b in zip(lv, rv)])
    np.testing.assert_array_equal(batch_errors(lv, rv), expected)
