"""The symbolic stage: proofs, their evidence, their limits, and the worker pool."""

from __future__ import annotations

import os
import time

import numpy as np
import pytest

from derivcheck.decide import Options
from derivcheck.decide.instantiate import prove
from derivcheck.decide.sampling import draw_point, size_settings
from derivcheck.engine.core import Engine
from derivcheck.engine.limits import WorkerPool, run_limited
from derivcheck.engine.numeric import Point
from derivcheck.engine.simplify import simplify
from derivcheck.load import load_file, load_text
from derivcheck.results import Scope, Verdict
from derivcheck.verify import verify_derivation

from .conftest import DERIVATIONS

MLP = """
title: mlp
symbols: {x: vector D, W1: matrix H D, b1: vector H, W2: matrix K H, b2: vector K,
          y: onehot K, i: index K, k: index K, yv: vector K}
define:
  z1: W1 @ x + b1
  a1: relu(z1)
  z2: W2 @ a1 + b2
  a2: softmax(z2)
  L: -sum(y * log(a2))
steps:
{steps}
"""


def _step(claim: str, **options: object) -> tuple:
    text = MLP.replace("{steps}", f"  - id: s\n    claim: '{claim}'")
    result = verify_derivation(load_text(text, "t.yaml"), Options(**options))[0]  # type: ignore[arg-type]
    return result, result.links[0]


# (name, claim, words the proof description must contain)
PROVED = [
    ("softmax-ce-all-sizes", "d(L)/d(z2) = a2 - y", "for all sizes"),
    ("mlp-w1-all-sizes", "d(L)/d(W1) = ((W2.T @ (a2 - y)) * relu_prime(z1)) @ x.T",
     "for all sizes"),
    ("indexed-all-sizes", "d(L)/d(z2[i]) = Sum(k, -y[k] * (delta(k, i) - a2[i]))",
     "for all sizes"),  # canonical forms (decide/canonical.py): sum(y) = 1, delta contracted
    ("softmax-entry-all-sizes", "d(a2[i])/d(z2[k]) = a2[i] * (delta(i, k) - a2[k])",
     "for all sizes"),
    ("relu-as-mask-all-sizes", "relu(z2)[i] = z2[i] * relu_prime(z2[i])", "for all sizes"),
    ("softmax-jacobian", "d(a2)/d(z2) = diag(a2) - a2 @ a2.T", "every entry [_row, _col]"),
    ("sum-as-entries-all-sizes", "sum(y * a2) = Sum(k, y[k] * a2[k])", "for all sizes"),
]

# Claims only SymPy shows, at instantiated sizes: evidence for checked, never a proof of the
# claim for every size.  (name, claim, words the description of the exact check contains)
EXACT_AT_SIZES = [
    ("instantiated", "relu_prime(relu(z1)) = relu_prime(z1)", "for sizes"),
    ("relu-cases", "relu_prime(a1) = relu_prime(z1)", "sign case"),
    ("onehot-enumerated", "sum(y * y) = 1", "values of the finite kinds"),
]


@pytest.mark.parametrize("claim,words", [c[1:] for c in PROVED], ids=[c[0] for c in PROVED])
def test_correct_claims_are_proved_with_evidence(claim: str, words: str) -> None:
    result, link = _step(claim)
    assert result.verdict == Verdict.PROVED, link.evidence
    assert link.evidence.method == "symbolic"
    assert link.evidence.scope == Scope.ALL_SIZES
    assert words in link.evidence.proof
    assert link.evidence.points >= 15  # the numeric check ran as well


@pytest.mark.parametrize("claim,words", [c[1:] for c in EXACT_AT_SIZES],
                         ids=[c[0] for c in EXACT_AT_SIZES])
def test_an_instantiated_proof_is_evidence_for_checked(claim: str, words: str) -> None:
    result, link = _step(claim)
    assert result.verdict == Verdict.CHECKED, link.evidence
    assert link.evidence.scope == Scope.AT_SIZES
    assert words in link.evidence.exact
    assert not link.evidence.proof
    # the sizes of the exact check are pairwise different (no dimension stands for another)
    sizes = link.evidence.exact.split("for sizes ")[1].split(";")[0]
    values = [part.split("=")[1] for part in sizes.split(", ")]
    assert len(set(values)) == len(values), sizes
    assert link.evidence.points >= 15 and link.evidence.precise >= 3


# Mutations that agree numerically nowhere: never proved, never checked.
MUTATED = [
    ("sign", "d(L)/d(z2) = y - a2"),
    ("undeclared-onehot", "d(-sum(yv * log(a2)))/d(z2) = a2 - yv"),
    ("missing-mask", "d(L)/d(W1) = (W2.T @ (a2 - y)) @ x.T"),
    ("wrong-layer", "d(L)/d(b1) = W2.T @ (a2 - y) * relu_prime(a1 - 1)"),
    ("half", "d(L)/d(b2) = (a2 - y) / 2"),
]


@pytest.mark.parametrize("claim", [c[1] for c in MUTATED], ids=[c[0] for c in MUTATED])
def test_mutations_are_never_proved(claim: str) -> None:
    result, _ = _step(claim)
    assert not result.verdict.holds


def test_a_proof_that_runs_out_of_time_leaves_checked_with_the_reason() -> None:
    claim = "relu_prime(relu(z2[i])) = relu_prime(z2[i])"  # needs SymPy
    result, link = _step(claim, time_limit=0.001)
    assert result.verdict == Verdict.CHECKED
    assert "time limit" in link.evidence.reason


def test_no_symbolic_means_at_most_checked() -> None:
    result, link = _step("d(L)/d(z2) = a2 - y", symbolic=False)
    assert result.verdict == Verdict.CHECKED
    assert link.evidence.method == "numeric"
    assert link.evidence.points >= 15 and len(link.evidence.sizes) == 3
    assert link.evidence.precise >= 3  # one point per size setting confirmed in high precision


def test_prove_directly_gives_sizes() -> None:
    d = load_text(MLP.replace("{steps}", "  - {id: s, claim: 'x = x'}"), "t.yaml")
    engine = Engine(d)
    step = d.steps[0]
    node = step.exprs[0].node
    proof = prove(engine, node, node, frozenset(), 5.0)
    assert proof.proved and "D=2" in proof.description


def _sleep(seconds: float) -> str:
    time.sleep(seconds)
    return "woke"


def _allocate(megabytes: int) -> int:
    block = bytearray(megabytes * 1024 * 1024)
    return len(block)


def test_worker_pool_kills_a_job_past_its_limit_and_finishes_the_others() -> None:
    with WorkerPool(2, seconds=0.5) as pool:
        slow = pool.submit(_sleep, 30)
        fast = [pool.submit(_sleep, 0.01) for _ in range(3)]
        started = time.monotonic()
        results = pool.results()
    assert time.monotonic() - started < 10
    assert not results[slow].ok and "time limit" in results[slow].reason
    assert all(results[j].ok and results[j].value == "woke" for j in fast)


def _pid_after(seconds: float) -> int:
    time.sleep(seconds)
    return os.getpid()


def test_worker_pool_renew_replaces_busy_and_idle_workers_and_loses_no_job() -> None:
    with WorkerPool(2, seconds=20) as pool:
        first = [pool.submit(_pid_after, 0.3), pool.submit(_pid_after, 0.01)]
        pool.wait({first[1]})  # one worker idle, one busy
        old = {pool.result(first[1]).value}
        pool.renew()
        later = [pool.submit(_pid_after, 0.01) for _ in range(4)]
        results = pool.results()
    old.add(results[first[0]].value)
    assert all(results[j].ok for j in first + later)
    assert not old & {results[j].value for j in later}  # every later job ran in a new worker


def test_memory_limit_gives_a_reason_not_a_crash() -> None:
    result = run_limited(_allocate, 4096, seconds=20, memory_mb=512)
    assert not result.ok
    assert "memory" in result.reason or "ended without an answer" in result.reason


def _formulas():  # type: ignore[no-untyped-def]
    """Every derivative formula the engine builds for derivations/ (file, layout, node)."""
    for path in sorted(DERIVATIONS.glob("*.yaml")):
        d = load_file(path)
        engine = Engine(d)
        for step in d.steps:
            for expr in step.exprs:
                for node in expr.node.walk():
                    if node.op == "d":
                        yield path.name, engine, step.layout, node


def test_simplify_preserves_the_value_of_every_engine_formula() -> None:
    """The simplifier's rewrites are identities: checked on every formula of derivations/."""
    rng = np.random.default_rng(7)
    checked = 0
    for name, engine, layout, node in _formulas():
        try:
            formula = engine.derivative(node, layout)
        except Exception:
            continue
        simple = simplify(formula, engine)
        free = sorted(engine.free_indices(formula))
        sizes = size_settings(engine.derivation.dims, 2)[1]
        names = sorted(engine.used_symbols(formula))
        for _ in range(3):
            point: Point = draw_point(engine.symbols, names, sizes, rng)
            idx = dict.fromkeys(free, 0)
            a = engine.evaluator(point).value(formula, idx)
            b = engine.evaluator(point).value(simple, idx)
            if np.all(np.isfinite(a)):
                np.testing.assert_allclose(b, a, rtol=1e-9, atol=1e-9, err_msg=f"{name}: {node}")
                checked += 1
    assert checked > 50


def test_a_proof_pool_kept_open_gives_the_same_results_as_a_pool_per_call() -> None:
    from derivcheck.verify import proof_pool

    d = load_file(DERIVATIONS / "softmax_jacobian.yaml")
    options = Options(workers=1)
    alone = [(s.id, s.verdict, s.codes) for s in verify_derivation(d, options)]
    with proof_pool(options) as pool:
        for _ in range(2):  # the second call reuses the warm worker
            again = [(s.id, s.verdict, s.codes) for s in verify_derivation(d, options, pool=pool)]
            assert again == alone
    assert any(v == Verdict.PROVED for _, v, _ in alone)


# -- what a worker remembers between sign cases and jobs (symbolic._Memory) ---------

REMEMBER = """
title: remember
symbols: {x: vector D, s: scalar, t: scalar, p: posscalar, W: matrix D D}
define:
  h: relu(W @ x)
  es: exp(s)
steps:
{steps}
"""


def _prove_in_process(claims: list[str]) -> list[bool]:
    """Prove ``claims`` one after the other in this process, as a worker would (shared memory)."""
    from derivcheck.decide import instantiate as symbolic

    steps = "\n".join(f"  - {{id: s{k}, claim: '{c}'}}" for k, c in enumerate(claims))
    d = load_text(REMEMBER.replace("{steps}", steps), "t.yaml")
    out = []
    for step in d.steps:
        lhs, rhs = step.exprs[0].node, step.exprs[1].node
        out.append(symbolic._prove_job(d, lhs, rhs, frozenset(), {"D": 2}, {}).proved)
    return out


# (name, claims proved in order in one worker, whether each is proved)
REMEMBERED = [
    # h's value in the case W@x > 0 is remembered; a claim false in the other case
    # must still be tried (and fail) there.
    ("relu-case-not-reused", ["h * 2 = 2 * relu(W @ x)", "h = W @ x", "h = relu(W @ x)"],
     [True, False, True]),
    ("exp-as-powers", ["es * exp(-s) = 1", "exp(s + log(p)) = p * es", "exp(2 * s) = es * es",
                       "exp(2 * s) = es"], [True, True, True, False]),
    ("tanh-as-powers", ["tanh(s) = 2 * sigmoid(2 * s) - 1", "tanh(s) = 2 * sigmoid(s) - 1",
                        "log(es) = s", "log(es * exp(t)) = s + t"], [True, False, True, True]),
]


@pytest.mark.parametrize("claims,expected", [c[1:] for c in REMEMBERED],
                         ids=[c[0] for c in REMEMBERED])
def test_remembered_conversions_never_change_what_is_proved(claims: list[str],
                                                            expected: list[bool]) -> None:
    assert _prove_in_process(claims) == expected
    # again, with everything already remembered, in the reverse order
    assert _prove_in_process(claims[::-1]) == expected[::-1]


# The entries of x are never the user's scalar x_0, whatever the names (issue 10, item 4):
# the instantiated check must not find these equal.
ALIASES = [
    ("vector entry and scalar", "x_0: scalar", "x_0 = x[0]"),
    ("matrix entry and scalar", "W1_01: scalar", "W1_01 = W1[0, 1]"),
    ("large constant in front", "x_0: scalar",
     "1000000 * exp(20) + x_0 = 1000000 * exp(20) + x[0]"),
]


@pytest.mark.parametrize(("extra", "claim"), [c[1:] for c in ALIASES],
                         ids=[c[0] for c in ALIASES])
def test_names_are_injective(extra: str, claim: str) -> None:
    text = MLP.replace("yv: vector K}", f"yv: vector K, {extra}}}").replace(
        "{steps}", f"  - {{id: s, claim: '{claim}'}}")
    d = load_text(text, "t.yaml")
    engine = Engine(d)
    left, right = d.steps[0].exprs[0].node, d.steps[0].exprs[1].node
    assert not prove(engine, left, right, frozenset(), 5.0).proved
    result = verify_derivation(d, Options())[0]
    assert result.verdict == Verdict.REFUTED
