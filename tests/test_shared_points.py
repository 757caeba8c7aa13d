"""Points shared by the steps of a derivation (``decide/pool.py``, ``engine/shared.py``).

The values kept at a batch of points for other equations must change nothing an
evaluation reports: values, how close each point came to a kink, which side of each
kink every entry reached, the operation count.  A step's points, verdict and evidence
must not depend on which other steps are in the file.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from derivcheck.decide import Options
from derivcheck.decide.points import pool_rounds
from derivcheck.decide.pool import point_pool
from derivcheck.decide.sampling import draw_batch, size_settings
from derivcheck.engine.shared import SharedValues, hidden_kink
from derivcheck.ir import E, intern
from derivcheck.load import load_text
from derivcheck.parse.expr import Scope, parse_expression
from derivcheck.printer import to_text
from derivcheck.results import Verdict
from derivcheck.verify import verify_derivation
from tests.conftest import FAST

NET = {
    "symbols": {"x": "vector D", "W1": "matrix H D", "b1": "vector H", "W2": "matrix K H",
                "b2": "vector K", "y": "onehot K", "k": "index H", "j": "index D"},
    "define": {"z1": "W1 @ x + b1", "a1": "relu(z1)", "z2": "W2 @ a1 + b2",
               "p": "softmax(z2)", "loss": "-sum(y * log(p))"},
}

# (id, expressions evaluated first at the batch (by another equation), the expression
# compared, its free indices set to every value)
SHARED = [
    ("forward pass shared", ["loss"], "W2.T @ (p - y) * relu_prime(z1)"),
    ("gradient chain shared", ["(W2.T @ (p - y)) * relu_prime(z1)"],
     "((W2.T @ (p - y)) * relu_prime(z1)) @ x.T + abs(W1)"),
    ("nothing shared yet", [], "relu(z1) + abs(b1)"),
    ("a free index", ["a1"], "relu(z1[k]) * x[j] + W1[k, j]"),
    ("a sum over a bound index", ["z1"], "Sum(j, relu(W1[k, j] * x[j])) + relu(z1[k])"),
    ("a kink inside a sum, shared outside", ["relu(b1)"],
     "Sum(k, relu(b1) * relu_prime(z1[k])) + relu(b1)"),
]


def _engine(model_engine):  # type: ignore[no-untyped-def]
    return model_engine(symbols=NET["symbols"], define=NET["define"])


def _evaluate(m, expr: E, point, indices, shared):  # type: ignore[no-untyped-def]
    ev = m.engine.evaluator(point, shared=shared)
    ev.cover = {}
    values = ev.values(expr, indices)
    cover = {to_text(node): (pos, neg) for node, pos, neg in ev.cover.values()}
    return values, np.asarray(ev.min_kink), cover, ev.operations


@pytest.mark.parametrize(("first", "compared"), [c[1:] for c in SHARED],
                         ids=[c[0] for c in SHARED])
def test_shared_values_change_nothing_an_evaluation_reports(model_engine, first: list[str],
                                                            compared: str) -> None:
    m = _engine(model_engine)
    sizes = size_settings(m.derivation.dims, 2)[1]
    names = sorted(n for n, s in m.derivation.symbols.items() if not s.is_index)
    point = draw_batch(m.engine.symbols, names, sizes, np.random.default_rng(4),
                       [1.0, 0.1, 4.0, 1.0, 16.0, 0.5])
    pool = point_pool(m.engine, FAST)
    expr = pool.intern(m.parse(compared))
    free = sorted(m.engine.free_indices(expr))
    indices = [{}] if not free else [dict(zip(free, ks)) for ks in np.ndindex(
        *(sizes[m.engine.index_range[i]] for i in free))]
    alone = _evaluate(m, expr, point, indices, None)
    shared = SharedValues(pool.plans)
    for text in first:
        _evaluate(m, pool.intern(m.parse(text)), point, [{}], shared)
    for _ in range(2):  # the first computes what is not kept yet, the second finds it all
        got = _evaluate(m, expr, point, indices, shared)
        assert all(np.array_equal(a, b, equal_nan=True) for a, b in zip(got[0], alone[0]))
        assert np.array_equal(got[1], alone[1])
        assert got[2].keys() == alone[2].keys()
        for text, (pos, neg) in alone[2].items():
            assert np.array_equal(got[2][text][0], pos) and np.array_equal(got[2][text][1], neg)
        assert got[3] == alone[3]
    assert shared.memo  # something was kept


def test_interned_expressions_are_equal_and_share_their_parts(model_engine) -> None:
    m = _engine(model_engine)
    table: dict[E, E] = {}
    a = intern(m.parse("(W2.T @ (p - y)) * relu_prime(z1)"), table)
    b = intern(m.parse("((W2.T @ (p - y)) * relu_prime(z1)) @ x.T"), table)
    assert b.args[0] is a
    fresh = m.parse("(W2.T @ (p - y)) * relu_prime(z1)")
    assert intern(fresh, table) is a and fresh == a


NET_YAML = """title: two layers
symbols: {x: vector D, W1: matrix H D, b1: vector H, W2: matrix K H, b2: vector K, y: onehot K}
conventions: {relu_prime_at_zero: 0}
define:
  z1: W1 @ x + b1
  a1: relu(z1)
  z2: W2 @ a1 + b2
  p: softmax(z2)
  loss: -sum(y * log(p))
steps:
"""
STEPS = {
    "dz2": "d(loss)/d(z2) = p - y",
    "dz1": "d(loss)/d(z1) = (W2.T @ (p - y)) * relu_prime(z1)",
    "dW1": "d(loss)/d(W1) = ((W2.T @ (p - y)) * relu_prime(z1)) @ x.T",
    "no_mask": "d(loss)/d(z1) = W2.T @ (p - y)",
    "doubled": "d(loss)/d(W2) = 2 * (p - y) @ a1.T",
    "db1": "d(loss)/d(b1) = (W2.T @ (p - y)) * relu_prime(z1)",
}
WRONG = {"no_mask", "doubled"}


def _file(ids: list[str]) -> str:
    return NET_YAML + "".join(f"  - id: {i}\n    claim: '{STEPS[i]}'\n" for i in ids)


@pytest.mark.parametrize("step", sorted(STEPS))
def test_a_step_is_decided_the_same_whatever_the_other_steps(step: str) -> None:
    options = replace(FAST, symbolic=False)  # the numeric check decides every step
    everything = verify_derivation(load_text(_file(sorted(STEPS)), path="net.yaml"), options)
    alone = verify_derivation(load_text(_file([step]), path="net.yaml"), options)
    got = {r.id: r for r in everything}[step].links[0]
    want = alone[0].links[0]
    assert got.verdict == want.verdict
    assert got.verdict == (Verdict.REFUTED if step in WRONG else Verdict.CHECKED)
    assert (got.evidence.sizes, got.evidence.points, got.evidence.branches) == \
        (want.evidence.sizes, want.evidence.points, want.evidence.branches)
    assert got.counterexample == want.counterexample
    assert got.evidence.points >= options.points * options.settings


def test_the_steps_of_a_file_share_their_sizes_and_points() -> None:
    options = replace(FAST, symbolic=False)
    results = verify_derivation(load_text(_file(sorted(STEPS)), path="net.yaml"), options)
    checked = [r.links[0].evidence for r in results if r.verdict == Verdict.CHECKED]
    assert len(checked) == len(STEPS) - len(WRONG)
    assert len({repr(ev.sizes) for ev in checked}) == 1  # every setting is the derivation's
    setting = checked[0].sizes
    assert len({tuple(sorted(s.items())) for s in setting}) == options.settings
    again = verify_derivation(load_text(_file(sorted(STEPS)), path="net.yaml"), options)
    assert [(r.verdict, replace(r.links[0].evidence, seconds=0.0), r.links[0].counterexample)
            for r in results] == \
        [(r.verdict, replace(r.links[0].evidence, seconds=0.0), r.links[0].counterexample)
         for r in again]


@pytest.mark.parametrize("points", [5, 7])
def test_the_rounds_of_draws_are_fixed_in_advance(points: int) -> None:
    rounds = pool_rounds(points)
    assert sum(rounds) == 100  # MAX_TRIES
    assert rounds[:2] == [2 * points, 2 * points]
    growing = rounds[1:-1]  # the last takes what is left
    assert growing == sorted(growing)


def test_a_clone_of_an_engine_has_its_own_pool(model_engine) -> None:
    m = _engine(model_engine)
    pool = point_pool(m.engine, Options())
    assert point_pool(m.engine, Options()) is pool
    assert point_pool(m.engine.clone(), Options()) is not pool
    assert point_pool(m.engine, Options(seed=3)) is not pool


def test_a_deep_network_is_checked_at_every_size_setting(tmp_path: Path) -> None:
    """Shared points at depth: every step of a 12-layer network holds, and the one step
    no canonical form proves (``d(loss)/d(z_L) = p - y``) is checked, its kinks covered."""
    from bench.scaling import mlp

    results = verify_derivation(load_text(mlp(12), path="deep.yaml"), Options(workers=1))
    assert all(r.verdict.holds for r in results), [(r.id, r.verdict) for r in results
                                                   if not r.verdict.holds]
    last = {r.id: r for r in results}["dloss_dz12"].links[0]
    assert last.evidence.points >= 15 and len(last.evidence.sizes) == 3


TWO_SCALARS = """
title: two scalars
symbols: {s: scalar, t: scalar}
steps:
  - id: a
    claim: s = s
"""
# A root of an even power is abs in disguise; each row: expression, the kink argument
# recorded (None: no hidden kink)
HIDDEN_KINKS = [
    ("sqrt-of-square", "sqrt((s - 1) ** 2)", "s - 1"),
    ("sqrt-of-fourth-power", "sqrt(s ** 4)", "s"),
    ("sqrt-of-product-with-itself", "sqrt((s + t) * (s + t))", "s + t"),
    ("quarter-power-of-fourth-power", "(s ** 4) ** 0.25", "s"),
    ("sqrt-of-odd-power", "sqrt(s ** 3)", None),
    ("integer-power-of-square", "(s ** 2) ** 3", None),
    ("sqrt-of-two-factors", "sqrt(s * t)", None),
    ("sqrt-of-plain-symbol", "sqrt(s)", None),
    ("square-itself", "s ** 2", None),
]


@pytest.mark.parametrize(("name", "text", "kink"), HIDDEN_KINKS,
                         ids=[c[0] for c in HIDDEN_KINKS])
def test_hidden_kink_of_a_root(name: str, text: str, kink: str | None) -> None:
    symbols = load_text(TWO_SCALARS, "<case>").symbols
    found = hidden_kink(parse_expression(text, Scope(symbols, frozenset(), frozenset())))
    assert (None if found is None else to_text(found.args[0])) == kink, name
