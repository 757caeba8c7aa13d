"""The high-precision confirmation (decide/exact.py), called directly at given points.

Each case fixes the values of a point and asks ``confirm_point`` whether the two
sides differ there: a real difference (however small next to float64's resolution),
rounding (an identity computed two ways), a domain difference, or a point that
cannot be judged.  Then the pipeline's use of it: what float64 calls agreement is
``checked`` only if high precision agrees.
"""

from __future__ import annotations

import numpy as np
import pytest

from derivcheck.decide.exact import _Budget, confirm_point
from derivcheck.engine.core import Engine
from derivcheck.engine.numeric import Point
from derivcheck.load import load_text
from derivcheck.results import Verdict

SYMBOLS = {"s": "scalar", "t": "scalar", "x": "vector n", "z": "vector K", "p": "prob K",
           "x_0": "scalar", "W": "matrix n n", "W_01": "scalar"}


def _judge(claim: str, values: dict[str, object], sizes: dict[str, int] | None = None) -> str:
    d = load_text("\n".join(
        ["title: e", "symbols:"] + [f"  {k}: {v}" for k, v in SYMBOLS.items()]
        + ["steps:", f"  - {{id: s, claim: '{claim}'}}"]) + "\n", "e.yaml")
    engine = Engine(d)
    lhs, rhs = d.steps[0].exprs[0].node, d.steps[0].exprs[1].node
    point = Point(dict(sizes or {}), {k: np.asarray(v, dtype=float) for k, v in values.items()})
    return confirm_point(engine, lhs, rhs, point, [{}], _Budget(10 ** 6)).status


# (id, claim, values, what high precision finds)
POINTS = [
    ("identity", "s * (s + t) = s * s + s * t", {"s": 0.7, "t": -1.3}, "agree"),
    ("identity with rounding", "(s + t) * (s + t) = s * s + 2 * s * t + t * t",
     {"s": 0.1, "t": 0.2}, "agree"),
    ("tiny term", "s + t / 10**24 = s", {"s": 0.4, "t": 1.5}, "differ"),
    ("tiny constant", "s + 1e-12 = s", {"s": 0.4}, "differ"),
    ("hidden under a large value", "exp(100) + s = exp(100)", {"s": 0.7}, "differ"),
    ("hidden under a larger value", "exp(200) + s = exp(200)", {"s": 0.7}, "differ"),
    ("two tiny values of opposite sign", "2 * s * exp(-30 - s * s) = -2 * s * exp(-30 - s * s)",
     {"s": 0.8}, "differ"),
    ("a quotient of moderate values", "exp(s) / (exp(s) + exp(t)) = 1 / (1 + exp(t - s))",
     {"s": 6.5, "t": 4.0}, "agree"),
    # values of 1e282 on the way: rounding at 240 digits could hide an absolute difference
    # far above 1e-20 there, so this point is not judged (others of its setting are)
    ("a quotient of huge values", "exp(s) / (exp(s) + exp(t)) = 1 / (1 + exp(t - s))",
     {"s": 650.0, "t": 640.0}, "inconclusive"),
    ("domain: log of a square", "log(s ** 2) = 2 * log(s)", {"s": -2.0}, "domain"),
    ("defined on both sides", "log(s ** 2) = 2 * log(s)", {"s": 2.0}, "agree"),
    ("undefined on both sides", "log(-exp(s)) = log(-exp(s)) + s", {"s": 0.3}, "skip"),
    ("lost to rounding, not a domain", "1 / (1 - 1 / (1 + exp(-s))) = 1 + exp(s)",
     {"s": 600.0}, "inconclusive"),
    # softmax(z)[0] is within 1e-5211 of 1: it rounds to 1 at every level, so the
    # difference left (the two small entries, 1e-5212) is stable but only rounding
    ("stable but below rounding", "softmax(z)[0] - 1 + softmax(z)[1] + softmax(z)[2] = 0",
     {"z": [[12000.0], [0.0], [0.0]]}, "inconclusive"),
    ("aliased names are different symbols", "x_0 = x[0]",
     {"x_0": 0.5, "x": [[0.5000000001], [2.0]]}, "differ"),
]


@pytest.mark.parametrize(("claim", "values", "status"), [c[1:] for c in POINTS],
                         ids=[c[0] for c in POINTS])
def test_high_precision_at_a_point(claim: str, values: dict, status: str) -> None:
    sizes = {"n": 2} if "x" in values else {"K": 3} if "z" in values else {}
    assert _judge(claim, values, sizes) == status


def test_a_prob_vector_sums_to_one_exactly() -> None:
    """Float64 entries of a prob vector sum to 1 only to ~1e-16; the exact point is
    normalised again, so sum(p) = 1 is an identity there, not a tiny difference."""
    p = np.array([[0.1], [0.2], [0.7000000000000001]])
    assert _judge("sum(p) = 1", {"p": p}, {"K": 3}) == "agree"


# -- the pipeline: float64 agreement is a candidate only -----------------------------

# (id, symbols, claim, verdict, first code)
PIPELINE = [
    ("tiny term", {"s": "scalar", "t": "scalar"}, "s + t / 10**24 = s", Verdict.REFUTED,
     "tiny-difference"),
    ("dropped eps of a loss", {"p": "posscalar"}, "-log(p + 1e-12) = -log(p)",
     Verdict.REFUTED, "tiny-difference"),
    ("weight decay of 1e-9 dropped", {"w": "vector n", "g": "vector n"},
     "g + 1e-9 * w = g", Verdict.REFUTED, "tiny-difference"),
    ("large common value", {"s": "scalar"}, "exp(100) + s = exp(100)", Verdict.REFUTED,
     "tiny-difference"),
    ("small values, wrong sign", {"s": "scalar"},
     "d(exp(-30 - s*s))/d(s) = 2*s*exp(-30 - s*s)", Verdict.REFUTED, "tiny-difference"),
    ("an identity of tiny values", {"s": "scalar"},
     "d(exp(-30 - s*s))/d(s) = -2*s*exp(-30 - s*s)", Verdict.CHECKED, None),
]


@pytest.mark.parametrize(("symbols", "claim", "verdict", "code"), [c[1:] for c in PIPELINE],
                         ids=[c[0] for c in PIPELINE])
def test_float_agreement_needs_high_precision(check, symbols, claim: str, verdict: Verdict,
                                              code: str | None) -> None:
    result = check(claim, symbols=symbols)
    assert result.verdict == verdict, result.message
    if code:
        assert result.codes[0] == code
        cex = result.links[0].counterexample
        assert cex is not None and cex.difference and cex.digits >= 30
    else:  # a point of every size setting confirmed
        evidence = result.links[0].evidence
        assert evidence.precise >= len({tuple(sorted(s.items())) for s in evidence.sizes})
