"""Transcription repairs of LaTeX links (derivcheck/notes/transcribe.py, issue 15).

True links corrupted by hand get back their intended reading; a mathematical error
that no single edit explains gets none; a link that holds gets none; garbage never
raises.  The decisions run numerically (``FAST``), as the rest of the suite does.
"""

from __future__ import annotations

import dataclasses
import time

import pytest

from derivcheck.load import load_text, read_latex_in
from derivcheck.model import Derivation
from derivcheck.notes.transcribe import Repair, repair_link
from derivcheck.parse.latex import LatexError
from derivcheck.printer import to_text
from tests.conftest import FAST, derivation_yaml, model_parts

MODELS = {
    "softmax": model_parts("softmax", None, None),
    "mlp": model_parts("mlp", None, None),
    "cookbook": model_parts("cookbook", None, None),
    "logs": ({"a": "posvector K", "j": "index K", "k": "index K"}, {"L": "-sum(log(a))"}),
    "tanh": ({"c": "scalar"}, {}),
    "norm": ({"w": "vector D"}, {}),
}
_CACHE: dict[str, Derivation] = {}


def model(name: str) -> Derivation:
    if name not in _CACHE:
        symbols, define = MODELS[name]
        first = next(n for n, k in symbols.items() if not k.startswith("index"))
        text = derivation_yaml(symbols=symbols, define=define,
                               steps=[{"id": "s", "claim": f"{first} = {first}"}])
        _CACHE[name] = load_text(text, path=f"{name}.yaml")
    return _CACHE[name]


def repairs(name: str, lhs: str, rhs: str, **kwargs: object) -> tuple[Repair, ...]:
    return repair_link(model(name), lhs, rhs, options=FAST, **kwargs)  # type: ignore[arg-type]


# (name, model, lhs as written, rhs as written, the intended link, the code)
CORRUPTED = [
    ("softmax-ce-gradient-binary-minus-lost", "softmax", r"\frac{\partial L}{\partial z}",
     "a t", r"\frac{\partial L}{\partial z} = a - t", "lost-minus"),
    ("softmax-ce-gradient-minus-for-plus", "softmax", r"\frac{\partial L}{\partial z}",
     "a + t", r"\frac{\partial L}{\partial z} = a - t", "sign-confusion"),
    ("cross-entropy-leading-minus-lost", "softmax", r"\frac{\partial L}{\partial a}",
     r"\frac{t}{a}", r"\frac{\partial L}{\partial a} = -\frac{t}{a}", "lost-minus"),
    ("transpose-read-as-7", "mlp", r"\frac{\partial L}{\partial W_2}", "(a_2 - y) a_1^7",
     r"\frac{\partial L}{\partial W_2} = (a_2 - y) a_1^T", "transpose-as-digit"),
    ("sqrt-for-reciprocal", "logs", r"\frac{\partial L}{\partial a_j}", r"-\sqrt{a_j}",
     r"\frac{\partial L}{\partial a_j} = -1/a_j", "sqrt-for-reciprocal"),
    ("softmax-jacobian-bracket-lost", "softmax", r"\frac{\partial a_i}{\partial z_j}",
     r"a_i (\delta_{ij} - a_j", r"\frac{\partial a_i}{\partial z_j} = a_i (\delta_{ij} - a_j)",
     "dropped-bracket"),
    ("tanh-square-lost", "tanh", r"\frac{\partial \tanh c}{\partial c}", r"1 - \tanh c",
     r"\frac{\partial \tanh c}{\partial c} = 1 - \tanh^2 c", "lost-superscript"),
    ("index-misread", "softmax", r"\frac{\partial a_i}{\partial z_j}",
     r"a_i (\delta_{ij} - a_i)", r"\frac{\partial a_i}{\partial z_j} = a_i (\delta_{ij} - a_j)",
     "letter-confusion"),
    ("transpose-read-as-I", "cookbook", r"\frac{\partial u^I x}{\partial x}", "u",
     r"\frac{\partial u^T x}{\partial x} = u", "transpose-as-letter"),
    ("two-read-as-seven", "cookbook", r"\frac{\partial x^T x}{\partial x}", "7 x",
     r"\frac{\partial x^T x}{\partial x} = 2 x", "digit-confusion"),
    ("y-for-v", "cookbook", r"\frac{\partial v^T Y^T u}{\partial Y}", "u y^T",
     r"\frac{\partial v^T Y^T u}{\partial Y} = u v^T", "letter-confusion"),
    ("letter-twice-in-an-operator-name", "softmax", r"\frac{\partial L}{\partial z}",
     r"\operatorname{softmaxx}(z) - t",
     r"\frac{\partial L}{\partial z} = \operatorname{softmax}(z) - t", "repeated-letter"),
    ("alpha-in-an-operator-name", "softmax", r"\frac{\partial L}{\partial z}",
     r"\operatorname{softm\alpha x}(z) - t",
     r"\frac{\partial L}{\partial z} = \operatorname{softmax}(z) - t", "greek-confusion"),
    ("factor-read-once", "tanh", r"\frac{\partial c}{\partial c}", "2 c",
     r"\frac{\partial c c}{\partial c} = 2 c", "dropped-letter"),
    ("fraction-bar-lost-in-a-derivative", "logs", r"\partial L \partial a_j",
     r"-\frac{1}{a_j}", r"\frac{\partial L}{\partial a_j} = -\frac{1}{a_j}",
     "lost-fraction-bar"),
    ("fraction-bar-lost-in-a-reciprocal", "logs", r"\frac{\partial L}{\partial a_j}",
     "-1 a_j", r"\frac{\partial L}{\partial a_j} = -\frac{1}{a_j}", "lost-fraction-bar"),
    ("fraction-bar-read-as-minus", "logs", r"\frac{\partial L}{\partial a_j}", "-1 - a_j",
     r"\frac{\partial L}{\partial a_j} = -\frac{1}{a_j}", "fraction-bar-as-minus"),
    ("norm-square-lost", "norm", r"\frac{\partial \|w\|_2}{\partial w}", "2 w",
     r"\frac{\partial \|w\|_2^2}{\partial w} = 2 w", "lost-superscript"),
    ("bracket-lost-before-a-minus", "tanh", r"\tanh-c)", r"-\tanh(c)",
     r"\tanh(-c) = -\tanh(c)", "dropped-bracket"),
    ("bracket-lost-before-a-script", "softmax", "a_k", r"\operatorname{softmax}(z_k",
     r"a_k = \operatorname{softmax}(z)_k", "dropped-bracket"),
]


def _reading(d: Derivation, link: str) -> tuple[str, str]:
    lhs, rhs = link.split(" = ")
    return to_text(read_latex_in(d, lhs)[0]), to_text(read_latex_in(d, rhs)[0])


@pytest.mark.parametrize(("name", "lhs", "rhs", "intended", "code"),
                         [c[1:] for c in CORRUPTED], ids=[c[0] for c in CORRUPTED])
def test_the_intended_reading_is_among_the_top_three(name: str, lhs: str, rhs: str,
                                                      intended: str, code: str) -> None:
    found = repairs(name, lhs, rhs)
    assert 1 <= len(found) <= 3
    want = _reading(model(name), intended)
    hits = [r for r in found if _reading(model(name), r.latex) == want]
    assert hits, [r.latex for r in found]
    assert hits[0].code == code
    assert hits[0].verdict.holds


def test_a_repair_says_what_it_read_and_is_a_proposal() -> None:
    found = repairs("logs", r"\frac{\partial L}{\partial a_j}", r"-\sqrt{a_j}")
    first = found[0]
    assert first.message.startswith("probable transcription error (sqrt-for-reciprocal): "
                                    "reading `1/a_j` for `\\sqrt{a_j}` makes it hold")
    assert (first.side, first.rhs_latex) == ("rhs", "-1/a_j")
    assert first.evidence.points > 0
    with pytest.raises(dataclasses.FrozenInstanceError):
        first.verdict = first.verdict  # type: ignore[misc]


@pytest.mark.parametrize(("name", "lhs", "rhs"), [
    # a factor 2 is a mathematical error: no single confusion of the table explains it
    ("factor-2", r"\frac{\partial L}{\partial z}", "2 (a - t)"),
    ("factor-2-quadratic-form", r"\frac{\partial x^T A x}{\partial x}", "2 A x"),
    # true as written: nothing to repair
    ("holds-as-written", r"\frac{\partial L}{\partial z}", "a - t"),
])
def test_nothing_is_offered_when_no_edit_explains_it_or_it_holds(name: str, lhs: str,
                                                                  rhs: str) -> None:
    model_name = "cookbook" if "x^T A x" in lhs else "softmax"
    assert repairs(model_name, lhs, rhs) == ()


def test_the_options_bound_the_search() -> None:
    lhs, rhs = r"\frac{\partial L}{\partial a}", r"\frac{t}{a}"
    assert len(repairs("softmax", lhs, rhs, top=1)) == 1
    assert len(repairs("softmax", lhs, rhs)) >= 2  # -lhs, and -t/a in two ways
    assert repairs("softmax", lhs, rhs, max_candidates=0) == ()
    started = time.perf_counter()
    assert repairs("softmax", lhs, rhs, time_budget=0.0) == ()
    assert time.perf_counter() - started < 2.0


@pytest.mark.parametrize(("lhs", "rhs"), [
    ("", ""), ("\\", "}"), ("{" * 200, "a"), ("a", "x" * 5000), ("é", "😀"),
    (r"\frac{\partial L}{\partial z}", r"\undefinedcommand"), ("((((", "))))"),
    (r"\sum_q q", r"\sum_q q"), (None, "a"), ("a", 3),
])
def test_garbage_never_raises(lhs: object, rhs: object) -> None:
    found = repair_link(model("softmax"), lhs, rhs, options=FAST,  # type: ignore[arg-type]
                        time_budget=5.0)
    assert all(r.verdict.holds for r in found)


def test_read_latex_in_reads_as_a_step_would_and_refuses_typos() -> None:
    d = model("softmax")
    node, bound = read_latex_in(d, r"\frac{\partial L}{\partial z}")
    assert to_text(node) == "d(L)/d(z)"
    assert bound == d.bound
    with pytest.raises(LatexError):
        read_latex_in(d, r"\frac{\partial L}{\partial w}")
