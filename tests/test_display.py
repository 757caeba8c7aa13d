"""The display simplifier (derivcheck/display.py), called directly.

It decides nothing, but what it shows is the reference a student reads, so it must
be the same function: the readable form of random typed expressions (randexpr) must
agree with the original at random points at several settings of pairwise different
sizes.  Then named cases: the engine's raw derivatives as they are shown.
"""

from __future__ import annotations

import random

import numpy as np
import pytest

from derivcheck.decide.sampling import size_settings
from derivcheck.display import readable
from derivcheck.engine.core import Engine
from derivcheck.load import load_text
from derivcheck.printer import to_text

from .randexpr import Gen, text
from .test_canonical_properties import ENGINE, _agree, _read


def test_readable_forms_are_equal_at_random_points() -> None:
    rng = np.random.default_rng(3)
    settings = size_settings(ENGINE.derivation.dims, 3, np.random.default_rng(13))
    g = Gen(random.Random(17))
    changed = 0
    wrong = []
    for k in range(400):
        e = g.expr(["s", "n", "nn", "m"][k % 4], depth=4)
        try:
            node, _ = _read(text(e), text(e))
        except Exception:  # an expression the reader refuses is not the test's subject
            continue
        shown = readable(node, ENGINE)
        if shown == node:
            continue
        changed += 1
        if not _agree(ENGINE, node, shown, settings, rng):
            wrong.append(f"{to_text(node)}  shown as  {to_text(shown)}")
    assert not wrong, "\n".join(wrong[:10])
    assert changed >= 50, changed  # not vacuous: many were rewritten


MODEL = """
title: display
symbols: {x: "vector D", w: "vector D", X: "matrix N D", t: "binary N", y: "binary K",
          W: "matrix K D", ty: "vector K", V: "matrix K H", U: "matrix H D",
          A: "matrix M D", r: "vector M", lam: posscalar, c: "vector M", S: "matrix D D",
          j: "index D", k: "index D"}
define:
  z: "W @ x"
  p: "sigmoid(z)"
  L: "-sum(y * log(p) + (1 - y) * log(1 - p))"
  pb: "sigmoid(X @ w)"
  J: "-sum(t * log(pb) + (1 - t) * log(1 - pb)) / N"
  u: "U @ x"
  h: "tanh(u)"
  o: "V @ h"
  Q: "sum((o - ty) ** 2) / 2"
  R: "sum((A @ w - r) ** 2) / 2 + lam * sum(w ** 2) / 2"
  C: "sum(c * (A @ w) ** 2) / 2"
  qf: "x.T @ S @ x"
steps:
  - {id: s, claim: "x = x"}
"""
DISPLAY = Engine(load_text(MODEL, "display.yaml"))

# (id, derivative, how the engine's result is shown)
SHOWN = [
    ("sigmoid with cross-entropy", "d(L)/d(z)", "p - y"),
    ("batch mean of a logistic loss", "d(J)/d(w)", "X.T @ ((pb - t) / N)"),
    ("tanh layer", "d(Q)/d(u)", "(V.T @ (o - ty)) * (1 - h ** 2)"),
    ("through the sigmoid", "d(L)/d(p)", "(y - p) / (p * (p - 1))"),
    # a Jacobian linear in its seed is that matrix (jacobian(... e_j ...) before)
    ("Hessian of ridge regression", "d(d(R)/d(w))/d(w)", "(A.T @ A + lam * eye(D)).T"),
    ("Hessian with weights", "d(d(C)/d(w))/d(w)", "(A.T @ diag(c) @ A).T"),
    # the 1 x 1 seed of a scalar's gradient was shown as `1 @ ...` (not valid syntax) and
    # the transposes of products left outside: (1 @ x.T @ S.T).T + (x.T @ S).T @ 1
    ("quadratic form", "d(qf)/d(x)", "S @ x + S.T @ x"),
    # a vector built entry by entry, then one entry of it (an outside tester's Gaussian
    # NLL showed Sum(j, onehot(j, D) * (...))[j])
    ("one entry of a vector built by entries", "Sum(k, onehot(k, D) * x[k] / (2 * w[k]))[j]",
     "x[j] / (2 * w[j])"),
]


@pytest.mark.parametrize(("derivative", "shown"), [c[1:] for c in SHOWN],
                         ids=[c[0] for c in SHOWN])
def test_how_the_engines_results_are_shown(derivative: str, shown: str) -> None:
    d = load_text(MODEL.replace("x = x", f"{derivative} = x"), "display.yaml")
    node = DISPLAY.resolve(d.steps[0].exprs[0].node, "gradient")
    shown_node = readable(node, DISPLAY)
    assert to_text(shown_node) == shown, to_text(node)
    settings = size_settings(DISPLAY.derivation.dims, 3, np.random.default_rng(5))
    assert _agree(DISPLAY, node, shown_node, settings, np.random.default_rng(6))


@pytest.mark.parametrize("order", ["as listed", "reversed"])
def test_the_shared_memo_changes_no_formula(order: str) -> None:
    # one engine rewrites every derivative of the table in turn (its memo shared by all,
    # as for the steps of one derivation); each must read as on an engine of its own
    import derivcheck.display as display

    cases = SHOWN if order == "as listed" else SHOWN[::-1]
    shared = Engine(load_text(MODEL, "display.yaml"))
    for _, derivative, shown in cases:
        d = load_text(MODEL.replace("x = x", f"{derivative} = x"), "display.yaml")
        alone = Engine(load_text(MODEL, "display.yaml"))
        node = alone.resolve(d.steps[0].exprs[0].node, "gradient")
        again = shared.resolve(d.steps[0].exprs[0].node, "gradient")
        display._SHOWN.clear()  # the per-process cache of whole formulas would answer first
        assert to_text(readable(again, shared)) == to_text(readable(node, alone)) == shown
