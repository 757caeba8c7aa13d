"""Partial sums (``span``, issue 13): every mechanism called directly, judged by an
independent evaluation.

A partial sum is ``Sum(k, span(k, a, K - c) * body)``: the positions ``a..K-c`` of
``0..K-1``.  What could make a wrong partial sum hold is a mechanism that forgets the
``span`` (a canonical form, the instantiated proof, the evaluator), so each is called
here without the numeric gate in front of it, on pairs whose truth is decided by
NumPy slicing (``_oracle``), code that shares nothing with the engine's evaluator.
"""

from __future__ import annotations

import random

import numpy as np
import pytest

from derivcheck.decide.canonical import same_canonical_form
from derivcheck.decide.instantiate import _prove_at
from derivcheck.engine.core import Engine
from derivcheck.engine.numeric import Point
from derivcheck.load import load_text
from derivcheck.results import Verdict
from derivcheck.verify import verify_derivation
from tests.conftest import FAST

HEAD = """title: partial sums
symbols: {x: vector n, u: vector n, w: prob n, y: onehot n, i: index n, k: index n}
steps:
"""
SIZES = (2, 3, 4, 7)


def _derivation(*claims: str):
    lines = [f'  - {{id: s{n}, claim: "{c}"}}' for n, c in enumerate(claims)]
    return load_text(HEAD + "\n".join(lines) + "\n", "partial.yaml")


def _sides(claim: str):
    d = _derivation(claim)
    return Engine(d), d.steps[0].exprs[0].node, d.steps[0].exprs[1].node


# -- the oracle: the terms a..n-c of a sum, by slicing -----------------------------------
def _oracle(first: int, last_off: int, n: int, values: np.ndarray) -> float:
    """Sum of ``values[first..n-last_off]`` (inclusive, positions from 0)."""
    return float(np.sum(values[first:n - last_off + 1]))


@pytest.mark.parametrize("n", SIZES)
def test_the_evaluator_sums_exactly_the_positions_kept(n: int) -> None:
    rng = np.random.default_rng(n)
    for first in range(4):
        for off in range(1, 4):
            engine, left, _ = _sides(f"Sum(k, span(k, {first}, n - {off}) * x[k]) = 0")
            x = rng.normal(size=n)
            ev = engine.evaluator(Point({"n": n}, {"x": x.reshape(n, 1)}))
            got = float(np.asarray(ev.value(left, {})).ravel()[0])
            assert got == pytest.approx(_oracle(first, off, n, x), abs=1e-12), (first, off)


# -- canonical forms and instantiated proofs on false pairs ------------------------------
FALSE_PAIRS = {
    "partial for whole": "Sum(k, span(k, 1, n - 1) * x[k]) = sum(x)",
    "last dropped for whole": "Sum(k, span(k, 0, n - 2) * x[k]) = sum(x)",
    "first dropped for last dropped": "Sum(k, span(k, 1, n - 1) * x[k]) = "
                                      "Sum(k, span(k, 0, n - 2) * x[k])",
    "one more dropped": "Sum(k, span(k, 1, n - 1) * x[k]) = Sum(k, span(k, 2, n - 1) * x[k])",
    "a probability vector's partial sum is not 1": "Sum(k, span(k, 1, n - 1) * w[k]) = 1",
    "a one-hot vector's partial sum is not 1": "Sum(k, span(k, 0, n - 2) * y[k]) = 1",
    "the excluded term is not the first": "Sum(k, span(k, 1, n - 1) * x[k]) = "
                                          "sum(x) - x[i]",
    "a delta inside a partial sum": "Sum(k, span(k, 1, n - 1) * delta(k, i) * x[k]) = x[i]",
    "a product": "Sum(k, span(k, 1, n - 1) * x[k] * u[k]) = Sum(k, x[k] * u[k])",
}


@pytest.mark.parametrize("name", FALSE_PAIRS)
def test_no_canonical_form_equates_a_false_pair(name: str) -> None:
    engine, left, right = _sides(FALSE_PAIRS[name])
    text, _, _ = same_canonical_form(left, right, engine)
    assert not text, f"called equal for every size: {text}"


@pytest.mark.parametrize("name", FALSE_PAIRS)
@pytest.mark.parametrize("n", (2, 3))
def test_no_instantiated_proof_of_a_false_pair(name: str, n: int) -> None:
    engine, left, right = _sides(FALSE_PAIRS[name])
    free = engine.free_indices(left) | engine.free_indices(right)
    proof = _prove_at(engine, left, right, free, {"n": n})
    assert not proof.proved


@pytest.mark.parametrize("name", FALSE_PAIRS)
def test_a_false_pair_is_refuted(name: str) -> None:
    d = _derivation(FALSE_PAIRS[name])
    step = verify_derivation(d, FAST)[0]
    assert step.verdict == Verdict.REFUTED, step.links[0].evidence


TRUE_PAIRS = {
    "whole as two parts": "Sum(k, span(k, 1, n - 1) * x[k]) + x[0] = sum(x)",
    "same span": "Sum(k, span(k, 1, n - 2) * x[k]) = Sum(k, x[k] * span(k, 1, n - 2))",
    "full span is the whole sum": "Sum(k, span(k, 0, n - 1) * x[k]) = sum(x)",
    "linear": "Sum(k, span(k, 1, n - 1) * (x[k] + u[k])) = "
              "Sum(k, span(k, 1, n - 1) * x[k]) + Sum(k, span(k, 1, n - 1) * u[k])",
    "derivative of a partial sum": "d(Sum(k, span(k, 1, n - 1) * x[k] ** 2))/d(x[i]) = "
                                   "2 * x[i] * span(i, 1, n - 1)",
}


@pytest.mark.parametrize("name", TRUE_PAIRS)
def test_a_true_pair_holds(name: str) -> None:
    d = _derivation(TRUE_PAIRS[name])
    step = verify_derivation(d, FAST)[0]
    assert step.verdict.holds, step.links[0].evidence


# -- generated pairs, judged by the oracle ---------------------------------------------
def _random_pair(rng: random.Random) -> tuple[str, tuple[int, int], tuple[int, int], str]:
    """Two partial sums of the same body, with random spans; the body (x, x*u or x**2)."""
    body = rng.choice(["x[k]", "x[k] * u[k]", "x[k] ** 2"])
    a = (rng.randint(0, 2), rng.randint(1, 3))
    b = a if rng.random() < 0.3 else (rng.randint(0, 2), rng.randint(1, 3))
    return body, a, b, (f"Sum(k, span(k, {a[0]}, n - {a[1]}) * {body}) = "
                        f"Sum(k, span(k, {b[0]}, n - {b[1]}) * {body})")


def test_generated_partial_sums_are_decided_as_the_oracle_says() -> None:
    rng = random.Random(3)
    np_rng = np.random.default_rng(3)
    decided = {"equal": 0, "different": 0}
    for _ in range(40):
        body, a, b, claim = _random_pair(rng)
        different = False
        for n in SIZES:  # the oracle: slices of random vectors at several sizes
            x, u = np_rng.normal(size=n), np_rng.normal(size=n)
            terms = {"x[k]": x, "x[k] * u[k]": x * u, "x[k] ** 2": x ** 2}[body]
            if abs(_oracle(*a, n, terms) - _oracle(*b, n, terms)) > 1e-9:
                different = True
        d = _derivation(claim)
        step = verify_derivation(d, FAST)[0]
        if different:
            assert step.verdict == Verdict.REFUTED, (claim, step.links[0].evidence)
            decided["different"] += 1
        else:
            assert step.verdict.holds, (claim, step.links[0].evidence)
            decided["equal"] += 1
    assert decided["equal"] >= 8 and decided["different"] >= 20, decided


# -- LaTeX partial sums end to end --------------------------------------------------------
LATEX_CASES = {
    # the chain rule through a softmax that drops the last class: refuted (issue 10)
    "dropping the last class": (r"\sum_{k=0}^{K-2} y_k = 1", "y: onehot K", Verdict.REFUTED,
                                None),
    "the two parts, counted from 1": (r"\sum_{k=2}^{K} y_k + y_1 = 1", "y: onehot K",
                                      Verdict.CHECKED, 1),
    "every value but one": (r"\sum_{k \neq i} y_k = 1 - y_i", "y: onehot K, i: index K",
                            Verdict.PROVED, None),
}


@pytest.mark.parametrize("name", LATEX_CASES)
def test_latex_partial_sums(name: str) -> None:
    latex, symbols, want, base = LATEX_CASES[name]
    conventions = "" if base is None else f"conventions: {{latex_index_base: {base}}}\n"
    text = (f"title: t\nsymbols: {{{symbols}}}\n{conventions}steps:\n  - id: s\n"
            f"    latex: '{latex}'\n")
    d = load_text(text, "t.yaml")
    from derivcheck.decide import Options

    step = verify_derivation(d, Options(latex=True))[0]
    assert step.verdict == want, step.links[0].evidence
