"""Random points: a batch is drawn exactly as its points would be one by one."""

from __future__ import annotations

import numpy as np
import pytest

from derivcheck.decide.sampling import draw_batch, draw_point, size_settings
from derivcheck.engine.numeric import stack
from derivcheck.load import load_text

KINDS = {"s": "scalar", "ps": "posscalar", "us": "unitscalar", "x": "vector D",
         "px": "posvector D", "p": "prob K", "y": "onehot K", "m": "multihot K",
         "b": "binary K", "W": "matrix K D", "S": "symmatrix K", "P": "spdmatrix K",
         "G": "invmatrix K", "Y": "onehotmatrix K D"}


@pytest.mark.parametrize("style", ["float", "small"])
def test_a_batch_is_its_points_drawn_in_turn(model_engine, style: str) -> None:
    m = model_engine(symbols=KINDS)
    names = sorted(KINDS)
    sizes = size_settings(m.derivation.dims, 1)[0]
    scales = [1.0, 0.1, 4.0, 1.0, 16.0]
    one = np.random.default_rng(7)
    expected = stack([draw_point(m.engine.symbols, names, sizes, one, style, None, scale)
                      for scale in scales])
    batch = draw_batch(m.engine.symbols, names, sizes, np.random.default_rng(7), scales, style)
    assert batch.batched and batch.sizes == expected.sizes
    for name in names:
        assert batch.values[name].shape == expected.values[name].shape, name
        assert np.array_equal(batch.values[name], expected.values[name]), name


def test_the_stream_continues_the_same(model_engine) -> None:
    m = model_engine(symbols=KINDS)
    names = sorted(KINDS)
    sizes = size_settings(m.derivation.dims, 1)[0]
    one, two = np.random.default_rng(3), np.random.default_rng(3)
    for _ in range(3):
        draw_point(m.engine.symbols, names, sizes, one)
    draw_batch(m.engine.symbols, names, sizes, two, [1.0, 1.0, 1.0])
    assert one.random() == two.random()


# (id, symbols): runs of plain real symbols (drawn with one call per point) between
# symbols of other kinds, at the start, in the middle and at the end of the names
RUNS = [
    ("a deep network's weights, then a one-hot",
     {**{f"W{k}": "matrix H H" for k in range(1, 9)}, **{f"b{k}": "vector H" for k in range(1, 9)},
      "x": "vector D", "y": "onehot K"}),
    ("plain, other kinds, plain", {"a": "scalar", "b": "vector D", "c": "posvector D",
                                   "M": "matrix K D", "r": "scalar", "f": "prob K",
                                   "g": "vector K"}),
    ("a symmetric matrix between plain ones", {"A": "matrix D D", "B": "symmatrix D",
                                               "C": "matrix D K", "D1": "scalar"}),
    ("only plain values", {"s": "scalar", "t": "scalar", "v": "vector K"}),
]


@pytest.mark.parametrize("symbols", [c[1] for c in RUNS], ids=[c[0] for c in RUNS])
def test_runs_of_plain_values_are_drawn_as_one_by_one(model_engine, symbols) -> None:
    m = model_engine(symbols=symbols)
    names = sorted(symbols)
    sizes = size_settings(m.derivation.dims, 1)[0]
    scales = [1.0, 0.1, 4.0, 1.0, 16.0, 1.0]
    one, two = np.random.default_rng(11), np.random.default_rng(11)
    expected = stack([draw_point(m.engine.symbols, names, sizes, one, "float", None, scale)
                      for scale in scales])
    batch = draw_batch(m.engine.symbols, names, sizes, two, scales)
    for name in names:
        assert np.array_equal(batch.values[name], expected.values[name]), name
    assert one.random() == two.random()  # the stream is left where it was


# -- size settings that cannot conspire ------------------------------------------------

@pytest.mark.parametrize("count", [1, 2, 3, 4, 5, 6, 8, 12])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_sizes_cannot_conspire(count: int, seed: int) -> None:
    """Within a setting every two dimensions differ; across settings every difference of
    two sizes changes sign and every sum and product changes; one setting is large and
    drawn from the stream (so no identity guessed for sizes 2, 3, 4 can hold there)."""
    dims = tuple(f"D{k}" for k in range(count))
    settings = size_settings(dims, 3, np.random.default_rng(seed))
    for s in settings:
        assert len(set(s.values())) == count, s  # pairwise different
    sums = [sum(s.values()) for s in settings]
    products = [int(np.prod(list(s.values()))) for s in settings]
    assert len(set(sums)) == 3 and len(set(products)) == 3
    for a in dims:
        for b in dims:
            if a < b:
                signs = {np.sign(s[a] - s[b]) for s in settings[:2]}
                assert signs == {1, -1}, (a, b)
    assert min(settings[2].values()) >= 5
    # and every dimension is odd in one setting, even in another (det(-A) = det(A) holds
    # for even n only; an outside tester's claim was checked with n = 2, 4 and 6)
    for d in dims:
        assert {s[d] % 2 for s in settings[:2]} == {0, 1}, (d, settings)


def test_the_large_setting_depends_on_the_stream() -> None:
    dims = ("N", "D", "K", "H")
    drawn = {tuple(size_settings(dims, 3, np.random.default_rng(seed))[2].values())
             for seed in range(12)}
    assert len(drawn) > 6


def test_more_settings_grow() -> None:
    settings = size_settings(("N", "D"), 6, np.random.default_rng(0))
    assert len({tuple(s.values()) for s in settings}) == 6


# (id, usable points found per scale so far, the scale of the later draws)
FALLBACK = [
    ("nothing found yet: magnitude 1", {}, 1.0),
    ("most at 0.3 (a deep network)", {0.3: 3, 0.5: 1, 1.0: 1}, 0.3),
    ("a tie goes to the first scale of the cycle", {0.5: 2, 1.0: 2}, 1.0),
    ("only the smallest", {0.1: 1}, 0.1),
]


@pytest.mark.parametrize(("found", "scale"), [c[1:] for c in FALLBACK],
                         ids=[c[0] for c in FALLBACK])
def test_later_draws_use_the_scale_where_points_were_found(found, scale: float) -> None:
    from derivcheck.decide.points import _fallback_scale

    assert _fallback_scale(found) == scale


# An integer index raises the sizes checked: x[2] exists only from size 3, and at size 2
# the step was undecided ("index (2,) out of range", a newcomer's report)
FLOOR_CASES = {
    "no integer index": ("x[i] = x[i]", 2),
    "index 1 fits the smallest size": ("x[1] = x[1]", 2),
    "index 2 needs size 3": ("x[2] = 0 * x[0]", 3),
    "index 5 in a delta": ("delta(i, 5) * x[i] = 0 * x[i]", 6),
    "far index: sizes not raised": ("x[40] = x[40]", 2),
}


@pytest.mark.parametrize("name", FLOOR_CASES)
def test_integer_indices_raise_the_sizes(name: str) -> None:
    from derivcheck.load import load_text
    from derivcheck.verify import verify_derivation
    from tests.conftest import FAST

    claim, floor = FLOOR_CASES[name]
    d = load_text("title: t\nsymbols: {x: vector D, i: index D}\nsteps:\n"
                  f"  - {{id: s, claim: \"{claim}\", layout: none}}\n", "t.yaml")
    assert d.size_floor == floor
    settings = size_settings(d.dims, 3, np.random.default_rng(0), floor)
    assert min(min(s.values()) for s in settings) >= floor
    if floor > 2:
        step = verify_derivation(d, FAST)[0]
        assert step.verdict.value in ("refuted", "checked", "proved"), step.links[0].evidence
        assert all(min(s.values()) >= floor for s in step.links[0].evidence.sizes)


# (claim, symbols, whether its sides can depend on the sizes): a difference found at
# size one (or at equal sizes) is said to be about sizes only where they can
SIZE_DEPENDENCE = [
    ("s * t = t * s", {"s": "scalar", "t": "scalar"}, False),
    ("relu(s) = s", {"s": "scalar", "x": "vector K"}, False),  # x declared, not used
    ("sum(x) = 0", {"x": "vector K"}, True),
    ("relu_prime(K - 9.5) * s = 0", {"s": "scalar", "x": "vector K"}, True),
]


@pytest.mark.parametrize(("claim", "symbols", "depends"), SIZE_DEPENDENCE,
                         ids=[c[0] for c in SIZE_DEPENDENCE])
def test_which_sides_depend_on_the_sizes(claim: str, symbols: dict, depends: bool) -> None:
    from derivcheck.decide.pipeline import _depends_on_sizes
    from derivcheck.engine.core import Engine

    lines = ["title: z", "symbols:"] + [f"  {k}: {v}" for k, v in symbols.items()]
    d = load_text("\n".join(lines + ["steps:", f"  - {{id: s, claim: '{claim}'}}"]) + "\n",
                  "z.yaml")
    engine = Engine(d)
    lhs, rhs = (engine.resolve(e.node, "none") for e in d.steps[0].exprs)
    assert _depends_on_sizes(engine, lhs, rhs) == depends
