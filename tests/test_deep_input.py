"""Deeply nested input is refused at parse time, at the place the limit is exceeded.

Each hostile input is a named case: an input error (never a RecursionError, never
an internal error) whose column points into the nesting; and a deep input that is
allowed is checked, not crashed on. With ``--workers 1`` a hostile file next to a
good one does not take the good one's result with it.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from derivcheck.cli import main
from derivcheck.errors import InputError
from derivcheck.load import load_text
from derivcheck.parse.expr import MAX_TREE_DEPTH

LIMIT = 10.0  # seconds for each case
BS = "\\"


def _latex_file(latex: str) -> str:
    return f"title: t\nsymbols: {{s: scalar}}\nsteps:\n  - id: a\n    latex: '{latex}'\n"


def _chain_file(item: str) -> str:
    return f"title: t\nsymbols: {{s: scalar}}\nsteps:\n  - id: a\n    chain: ['{item}', 's']\n"


# (name, file text, substring of the message, lowest column the error may point at)
HOSTILE = [
    ("latex_3000_unary_minus", _latex_file("s = " + "-" * 3000 + " s"),
     "nested too deeply", 200),
    ("latex_400_unary_minus", _latex_file("-" * 400 + " s = s"), "nested too deeply", 190),
    ("latex_300_chained_frac", _latex_file(f"{BS}frac1" * 300 + " s = s"),
     "nested too deeply", 100),
    ("latex_300_chained_exp", _latex_file(f"{BS}exp " * 300 + "s = s"),
     "nested too deeply", 100),
    ("latex_2000_juxtaposed_frac", _latex_file(f"{BS}frac{{1}}{{2}}" * 300 + "s = s"),
     "nested too deeply", 100),
    ("latex_250_term_sum", _latex_file("+".join(["s"] * 250) + " = 250 s"),
     "nested too deeply", 0),
    ("expr_3000_unary_minus", _chain_file("-" * 3000 + "s"), "nested too deeply", 200),
    ("expr_400_unary_minus", _chain_file("-" * 400 + "s"), "nested too deeply", 190),
    ("expr_mixed_signs", _chain_file("- + " * 800 + "s"), "nested too deeply", 200),
]


@pytest.mark.parametrize(("text", "needle", "min_col"), [c[1:] for c in HOSTILE],
                         ids=[c[0] for c in HOSTILE])
def test_deep_input_is_an_input_error_at_its_place(text: str, needle: str,
                                                   min_col: int) -> None:
    started = time.monotonic()
    with pytest.raises(InputError) as info:
        load_text(text, "deep.yaml")
    assert time.monotonic() - started < LIMIT
    err = info.value
    assert needle in err.message
    assert err.line == 5
    assert err.col > min_col
    assert "Recursion" not in err.format()


# Deep, but within the limits: checked (each side rewrites to the other), not crashed on.
ALLOWED = [
    ("latex_150_unary_minus", _latex_file("-" * 150 + " s = s")),
    ("latex_80_chained_frac", _latex_file(f"{BS}frac1" * 80 + " s = s")),
    ("latex_190_products_summed", _latex_file("+".join(["s s"] * 190) + " = 190 s^2")),
    ("expr_190_unary_minus_derivative", _chain_file(f"d({'-' * 190}s*s)/d(s) / 2")),
    ("expr_190_products_summed", _chain_file(f"d({'+'.join(['s*s'] * 190)})/d(s) / 380")),
]


@pytest.mark.parametrize("text", [c[1] for c in ALLOWED], ids=[c[0] for c in ALLOWED])
def test_deep_input_within_the_limits_is_checked(text: str, tmp_path: Path,
                                                 capsys: pytest.CaptureFixture) -> None:
    path = tmp_path / "deep.yaml"
    path.write_text(text, encoding="utf-8")
    started = time.monotonic()
    code = main(["verify", str(path), "--no-symbolic", "--workers", "1", "--format", "json"])
    assert time.monotonic() - started < LIMIT
    report = json.loads(capsys.readouterr().out)
    steps = report["files"][0]["steps"]
    assert code == 0, steps
    assert "internal-error" not in json.dumps(steps)


def test_the_limit_is_the_expression_syntax_one() -> None:
    from derivcheck.parse import latex

    assert latex.MAX_TREE_DEPTH == MAX_TREE_DEPTH


@pytest.mark.parametrize("workers", ["1", "2"])
def test_a_deep_file_does_not_lose_the_others(workers: str, tmp_path: Path,
                                              capsys: pytest.CaptureFixture) -> None:
    for name, text, *_ in HOSTILE[:4]:
        (tmp_path / f"{name}.yaml").write_text(text, encoding="utf-8")
    (tmp_path / "good.yaml").write_text(
        "title: t\nsymbols: {s: scalar}\nsteps:\n  - id: a\n    chain: ['d(s*s)/d(s)', '2*s']\n",
        encoding="utf-8")
    code = main(["verify", str(tmp_path), "--no-symbolic", "--workers", workers,
                 "--format", "json"])
    assert code == 2  # input errors, and no internal error (exit 3)
    report = json.loads(capsys.readouterr().out)
    by_name = {Path(f["path"]).name: f for f in report["files"]}
    assert len(by_name) == 5
    good = by_name["good.yaml"]
    assert [s["verdict"] for s in good["steps"]] == ["checked"]  # numeric only
    for name, *_ in HOSTILE[:4]:
        assert "nested too deeply" in json.dumps(by_name[f"{name}.yaml"])


# -- deep chains of definitions are evaluated, not a RecursionError ------------------

def _definitions(depth: int, body: str) -> str:
    lines = ["title: chain", "symbols: {s: scalar, x: vector n}", "define:", "  z0: x"]
    lines += [f"  z{k}: {body.format(prev=f'z{k - 1}')}" for k in range(1, depth + 1)]
    lines += ["steps:", "  - {id: a, claim: 'x = x'}"]
    return "\n".join(lines) + "\n"


# (id, depth, body of z_k, the value of z_depth from x and s, as NumPy computes it)
DEEP_CHAINS = [
    ("600 halvings", 600, "0.5 * {prev} + s",
     lambda x, s, n: 0.5 ** n * x + s * (2 - 0.5 ** (n - 1))),
    ("400 relu layers", 400, "relu({prev}) + s", None),
    ("300 layers through a sum", 300, "{prev} + sum({prev}) * 0 + s", lambda x, s, n: x + n * s),
]


@pytest.mark.parametrize(("depth", "body", "closed"), [c[1:] for c in DEEP_CHAINS],
                         ids=[c[0] for c in DEEP_CHAINS])
def test_a_deep_chain_of_definitions_is_evaluated(depth: int, body: str, closed) -> None:
    import numpy as np

    from derivcheck.engine.core import Engine
    from derivcheck.engine.numeric import Point
    from derivcheck.ir import E

    d = load_text(_definitions(depth, body), "chain.yaml")
    engine = Engine(d)
    x = np.array([[0.75], [-1.5], [2.0]])
    s = 0.25
    ev = engine.evaluator(Point({"n": 3}, {"x": x, "s": np.float64(s)}))
    got = ev.value(E("ref", val=f"z{depth}"))
    if closed is None:  # relu layers: computed in turn here
        want = x
        for _ in range(depth):
            want = np.maximum(want, 0) + s
    else:
        want = closed(x, s, depth)
    assert np.allclose(got, want)
    batch = engine.evaluator(Point({"n": 3}, {"x": x[None], "s": np.full((1, 1, 1), s)},
                                   batched=True))
    assert np.allclose(batch.values(E("ref", val=f"z{depth}"), [{}])[0][0], want)
