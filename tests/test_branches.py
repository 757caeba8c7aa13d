"""Both sides of every kink (decide/points.py's coverage, decide/signs.py).

Random points drawn near 0 never reach ``s > 100``: a claim wrong only beyond a
threshold must not be ``checked``.  The numeric stage searches each side of every
``relu``/``relu_prime``/``abs``/``sign`` argument, entry by entry, along rays from
the sampled points; a side the sign analysis shows impossible is not searched for;
a side neither reached nor impossible leaves the claim undecided.
"""

from __future__ import annotations

import pytest

from derivcheck.decide.signs import ANY, NONNEG, POS, ZERO, SignAnalysis
from derivcheck.engine.core import Engine
from derivcheck.load import load_text
from derivcheck.results import Verdict

# (id, symbols, claim, verdict)
THRESHOLDS = [
    ("relu beyond 100", {"s": "scalar"}, "relu(s - 100) = 0", Verdict.REFUTED),
    ("relu beyond a million", {"s": "scalar"}, "relu(s - 1000000) = 0", Verdict.REFUTED),
    ("relu below -100", {"s": "scalar"}, "relu(s + 100) = s + 100", Verdict.REFUTED),
    ("mask beyond a threshold", {"x": "vector n"}, "relu_prime(x - 50) = 0 * x",
     Verdict.REFUTED),
    ("abs beyond a threshold", {"s": "scalar"}, "abs(s - 300) = s - 300", Verdict.REFUTED),
    ("clipped value", {"s": "scalar"}, "relu(s) - relu(s - 40) = relu(s)", Verdict.REFUTED),
    ("both sides of a threshold hold", {"s": "scalar"},
     "relu(s - 100) = (s - 100) * relu_prime(s - 100)", Verdict.CHECKED),
    ("positive argument: one side only", {"q": "posvector n"}, "abs(q) = q", Verdict.CHECKED),
    ("relu of a relu", {"x": "vector n"}, "relu_prime(relu(x)) = relu_prime(x)",
     Verdict.CHECKED),
    ("structural zero", {"x": "vector n"}, "relu_prime(0 * x) = 0 * x", Verdict.CHECKED),
]


@pytest.mark.parametrize(("symbols", "claim", "verdict"), [c[1:] for c in THRESHOLDS],
                         ids=[c[0] for c in THRESHOLDS])
def test_every_side_of_every_kink(check, symbols, claim: str, verdict: Verdict) -> None:
    result = check(claim, symbols=symbols)
    assert result.verdict == verdict, result.message


def test_a_side_never_reached_is_undecided(check) -> None:
    # the argument is positive only for |s - 3.3| < 0.001: neither the random points nor
    # the rays (steps of powers of ten) land there, and nothing proves that side
    # impossible, so the claim (false in that window) is not checked
    result = check("relu(1 - 1000000 * (s - 3.3) ** 2) = 0", symbols={"s": "scalar"})
    assert result.verdict == Verdict.UNDECIDED
    assert result.codes == ("unreached-branch",)


def _signs(expr: str, symbols: dict[str, str]) -> frozenset[int]:
    lines = ["title: signs", "symbols:"] + [f"  {k}: {v}" for k, v in symbols.items()]
    lines += ["steps:", f"  - {{id: s, claim: '{expr} = {expr}'}}"]
    d = load_text("\n".join(lines) + "\n", "signs.yaml")
    return SignAnalysis(Engine(d)).of(d.steps[0].exprs[0].node)


# (expression, symbols, signs its entries can take: never fewer than the truth)
SIGNS = [
    ("q", {"q": "posvector n"}, POS),
    ("x", {"x": "vector n"}, ANY),
    ("y", {"y": "onehot n"}, NONNEG),
    ("exp(x) + q", {"x": "vector n", "q": "posvector n"}, POS),
    ("x * x", {"x": "vector n"}, NONNEG),
    ("x * u", {"x": "vector n", "u": "vector n"}, ANY),
    ("-exp(x)", {"x": "vector n"}, frozenset({-1})),
    ("relu(x)", {"x": "vector n"}, NONNEG),
    ("0 * x", {"x": "vector n"}, ZERO),
    ("x ** 2", {"x": "vector n"}, NONNEG),
    ("q - q", {"q": "posvector n"}, ANY),  # not known to be 0: any sign
    ("sqrt(x)", {"x": "vector n"}, NONNEG),
    ("softmax(x)", {"x": "vector n"}, POS),
    ("log(q)", {"q": "posvector n"}, ANY),
    ("W @ q", {"W": "matrix n n", "q": "posvector n"}, ANY),
    ("sum(q)", {"q": "posvector n"}, NONNEG | {1}),
]


@pytest.mark.parametrize(("expr", "symbols", "signs"), SIGNS, ids=[c[0] for c in SIGNS])
def test_sign_analysis(expr: str, symbols: dict[str, str], signs: frozenset[int]) -> None:
    assert _signs(expr, symbols) == signs
