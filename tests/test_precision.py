"""Rounding is not a counterexample: disagreements are re-checked in extended precision."""

from __future__ import annotations

import pytest

from derivcheck.decide import Options
from derivcheck.load import load_text
from derivcheck.results import Verdict
from derivcheck.verify import verify_derivation

BCE = """title: bce
symbols: {z: scalar, y: scalar}
define:
  p: sigmoid(z)
  L: -(y * log(p) + (1 - y) * log(1 - p))
steps:
  - {id: s, claim: "CLAIM"}
"""

# (id, claim, holds) -- log(1 - sigmoid(z)) loses its digits at large z in float64
CASES = [
    ("logits form of BCE", "L = log(1 + exp(-z)) + (1 - y) * z", True),
    ("logits form, y and 1 - y swapped", "L = log(1 + exp(-z)) + y * z", False),
    ("log of 1 - sigmoid", "log(1 - p) = -z - log(1 + exp(-z))", True),
    ("log of 1 - sigmoid, sign of z", "log(1 - p) = z - log(1 + exp(-z))", False),
]


@pytest.mark.parametrize(("claim", "holds"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_rounding_is_not_a_counterexample(claim: str, holds: bool) -> None:
    for seed in (0, 1, 2):
        d = load_text(BCE.replace("CLAIM", claim), "bce.yaml")
        result = verify_derivation(d, Options(seed=seed, symbolic=False))[0]
        if holds:
            assert result.verdict == Verdict.CHECKED, (seed, result.message)
        else:
            assert result.verdict == Verdict.REFUTED, (seed, result.message)
            cex = result.links[0].counterexample
            assert cex is not None and cex.lhs != cex.rhs
