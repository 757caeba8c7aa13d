"""Property tests of the mechanisms that can make a verdict hold, called directly.

The canonical forms (``decide.canonical``) prove claims for every size, and the
instantiated SymPy check (``decide.instantiate``) is evidence at its sizes.  Here
they are called on pairs of random typed expressions (``randexpr``): an expression
and a rewrite of it by rules that are identities, some pairs also by a rule that is
not.  No numeric check runs in front: whenever a mechanism calls a pair equal, both
sides are evaluated at random points at several settings of pairwise different sizes
(the engine's evaluator, a separate mechanism), and they must agree.

``DERIVCHECK_FUZZ=long`` (``make fuzz``) draws many more pairs.
"""

from __future__ import annotations

import os
import random
from collections import Counter

import numpy as np
import pytest

from derivcheck.decide.canonical import same_canonical_form
from derivcheck.decide.instantiate import _prove_at
from derivcheck.decide.sampling import draw_point, size_settings, smallest_setting
from derivcheck.engine.core import Engine, index_assignments
from derivcheck.errors import ShapeError, Unsupported
from derivcheck.load import load_text

from .randexpr import SYMBOLS, Gen, independent, pair

LONG = os.environ.get("DERIVCHECK_FUZZ", "ci") == "long"
PAIRS = 20_000 if LONG else 600
PROOF_PAIRS = 2_000 if LONG else 60


def _engine() -> Engine:
    lines = ["title: properties", "symbols:"]
    lines += [f"  {name}: {kind}" for name, kind in SYMBOLS.items()]
    lines += ["steps:", "  - {id: s, claim: 'a = a'}"]
    return Engine(load_text("\n".join(lines) + "\n", "properties.yaml"))


ENGINE = _engine()


def _read(left: str, right: str):
    """Both sides read by derivcheck's reader (a derivation with the one claim)."""
    lines = ["title: pair", "symbols:"]
    lines += [f"  {name}: {kind}" for name, kind in SYMBOLS.items()]
    lines += ["steps:", "  - id: s", f"    claim: \"{left} = {right}\""]
    d = load_text("\n".join(lines) + "\n", "pair.yaml")
    step = d.steps[0]
    return step.exprs[0].node, step.exprs[1].node


def _agree(engine: Engine, left, right, settings: list[dict[str, int]], rng) -> bool:
    """Both sides agree (to 1e-7, relative to 1 + the magnitude) at 4 points per setting."""
    free = engine.free_indices(left) | engine.free_indices(right)
    names = sorted(engine.used_symbols(left) | engine.used_symbols(right))
    for sizes in settings:
        indices = index_assignments(free, engine.index_range, sizes)
        for _ in range(4):
            point = draw_point(engine.symbols, names, sizes, rng)
            ev = engine.evaluator(point)
            for idx in indices:
                a = np.asarray(ev.value(left, idx), dtype=float)
                b = np.asarray(ev.value(right, idx), dtype=float)
                if not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))):
                    continue
                a, b = np.broadcast_arrays(a, b)
                big = max(float(np.max(np.abs(a), initial=0)), float(np.max(np.abs(b),
                                                                               initial=0)))
                if float(np.max(np.abs(a - b), initial=0)) > 1e-7 * (1 + big):
                    return False
    return True


def _pairs(seed: int, count: int, *, sound: bool):
    """``count`` pairs: rewrites of one expression (by sound rules, plus one unsound rule
    unless ``sound``), and without ``sound`` a quarter of independent expressions."""
    g = Gen(random.Random(seed))
    made = 0
    while made < count:
        got = independent(g) if not sound and made % 4 == 3 else pair(g, sound=sound)
        if got is None:
            continue
        made += 1
        yield got


@pytest.mark.parametrize("sound", [True, False], ids=["identities", "with-a-false-rule"])
def test_equal_canonical_forms_are_equal_at_random_points(sound: bool) -> None:
    """Equal by the canonical forms implies equal at random points at distinct sizes."""
    rng = np.random.default_rng(7)
    settings = size_settings(ENGINE.derivation.dims, 3, np.random.default_rng(11))
    assert len({tuple(s.values()) for s in settings}) == 3
    called_equal: Counter[str] = Counter()
    tried: Counter[str] = Counter()
    wrong = []
    for _, left_text, right_text, rules in _pairs(1 if sound else 2, PAIRS, sound=sound):
        try:
            left, right = _read(left_text, right_text)
            if ENGINE.shape(left) != ENGINE.shape(right):
                continue
        except Exception:
            continue
        tried[rules.split("+")[-1]] += 1
        text, _, _ = same_canonical_form(left, right, ENGINE)
        if not text:
            continue
        called_equal[rules.split("+")[-1]] += 1
        if not _agree(ENGINE, left, right, settings, rng):
            wrong.append(f"{rules}: {left_text}  =  {right_text}  (form {text})")
    assert not wrong, "\n".join(wrong[:10])
    if sound:
        # not vacuous: the identities are recognised often enough to exercise the rules
        assert sum(called_equal.values()) >= 0.3 * sum(tried.values()), (called_equal, tried)


def test_instantiated_proofs_are_equal_at_random_points_at_their_sizes() -> None:
    """An exact check at instantiated sizes implies equality at random points there."""
    rng = np.random.default_rng(5)
    sizes = smallest_setting(ENGINE.derivation.dims)
    wrong = []
    proved = 0
    for sound in (True, False):
        for _, left_text, right_text, rules in _pairs(3 + sound, PROOF_PAIRS, sound=sound):
            try:
                left, right = _read(left_text, right_text)
                if ENGINE.shape(left) != ENGINE.shape(right):
                    continue
            except Exception:
                continue
            free = ENGINE.free_indices(left) | ENGINE.free_indices(right)
            try:
                proof = _prove_at(ENGINE, left, right, free, sizes)
            except (ShapeError, Unsupported, RecursionError):
                continue
            if proof.proved:
                proved += 1
                if not _agree(ENGINE, left, right, [sizes], rng):
                    wrong.append(f"{rules}: {left_text}  =  {right_text}")
    assert not wrong, "\n".join(wrong[:10])
    assert proved >= PROOF_PAIRS // 4
