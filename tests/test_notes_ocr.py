"""The OCR confusion table and its one-edit variants (derivcheck/notes/ocr.py, issue 15)."""

from __future__ import annotations

import dataclasses
import re
import time

import pytest

from derivcheck.notes.ocr import CONFUSIONS, Edit, single_edits

LIMIT = 1000


def _variants(text: str, vocabulary: str = "") -> dict[str, str]:
    """Repaired text -> code."""
    return {e.latex: e.code for e in single_edits(text, limit=LIMIT, vocabulary=vocabulary)}


@pytest.mark.parametrize("code", sorted(CONFUSIONS))
def test_every_confusion_repairs_its_own_example(code: str) -> None:
    written, intended = CONFUSIONS[code].example
    assert _variants(written).get(intended) == code


# (name, written, vocabulary, the repaired text, its code)
CASES = [
    ("minus-lost-before-a-fraction", r"\frac{y}{s}", "", r"-\frac{y}{s}", "lost-minus"),
    ("minus-lost-between-factors", "s y", "", "s - y", "lost-minus"),
    ("minus-lost-in-an-exponent", "X^1", "", "X^{-1}", "lost-minus"),
    ("minus-lost-in-a-bracket", r"a (b + c)", "", r"a (-b + c)", "lost-minus"),
    ("T-read-as-7", "W^7 x", "", "W^T x", "transpose-as-digit"),
    ("T-read-as-1-braced", "W^{1} x", "", "W^{T} x", "transpose-as-digit"),
    ("inverse-transpose-read-as-inverse", "X^{-1}", "", "X^{-T}", "transpose-as-digit"),
    ("plus-for-minus", "s + y", "", "s - y", "sign-confusion"),
    ("minus-for-plus", "s - y", "", "s + y", "sign-confusion"),
    ("l-for-1", "W_l", "", "W_1", "letter-confusion"),
    ("i-for-j-in-a-subscript", r"s_i \delta_{ij}", "", r"s_j \delta_{ij}", "letter-confusion"),
    ("O-for-0", "x_O", "", "x_0", "letter-confusion"),
    ("capital-for-small", "S - y", "", "s - y", "letter-confusion"),
    ("x-for-times", "a x b", "", r"a \times b", "letter-confusion"),
    ("transpose-lost", "W x", "", "W^T x", "lost-superscript"),
    ("square-lost-on-a-function", r"1 - \tanh c", "", r"1 - \tanh^2 c", "lost-superscript"),
    ("square-lost-on-a-bracket", "(1 - s)", "", "(1 - s)^2", "lost-superscript"),
    ("subscript-lost", "a - y_j", "", "a_j - y_j", "lost-subscript"),
    ("subscript-from-the-other-side", "a - y", "y_k", "a - y_k", "lost-subscript"),
    ("subscript-lost-on-bold", r"\mathbf{W} x", "W_2", r"\mathbf{W}_2 x", "lost-subscript"),
    ("prime-lost", r"\sigma(z)", "", r"\sigma'(z)", "lost-prime"),
    ("prime-lost-on-an-operator-name", r"\operatorname{relu}(z)", "",
     r"\operatorname{relu}'(z)", "lost-prime"),
    ("superscript-for-subscript", "x^2", "", "x_2", "script-level"),
    ("subscript-for-superscript", "x_2", "", "x^2", "script-level"),
    ("odot-lost", "a b", "", r"a \odot b", "lost-operator"),
    ("cdot-lost", "a b", "", r"a \cdot b", "lost-operator"),
    ("subscripts-swapped", "V_{kj}", "", "V_{jk}", "swapped-subscripts"),
    ("subscripts-swapped-with-a-comma", "V_{k,j}", "", "V_{j,k}", "swapped-subscripts"),
    ("cdot-for-odot", r"a \cdot b", "", r"a \odot b", "operator-confusion"),
    ("pair-lost", "a b + c", "", "a (b + c)", "dropped-bracket"),
    ("pair-lost-before-a-transpose", "a + b^T", "", "(a + b)^T", "dropped-bracket"),
    ("closing-bracket-lost", "(a + b", "", "(a + b)", "dropped-bracket"),
    ("opening-bracket-lost", "a + b) c", "", "(a + b) c", "dropped-bracket"),
    ("sized-closing-bracket-lost", r"\left(a + b c", "", r"\left(a + b\right) c",
     "dropped-bracket"),
    ("accent-lost", r"y - \hat{y}", "", r"\hat{y} - \hat{y}", "lost-accent"),
    ("sqrt-for-reciprocal", r"-\sqrt{a_j}", "", "-1/a_j", "sqrt-for-reciprocal"),
    ("sqrt-for-reciprocal-in-a-product", r"b \sqrt{a}", "", r"b \frac{1}{a}",
     "sqrt-for-reciprocal"),
    ("reciprocal-fraction-for-sqrt", r"\frac{1}{a}", "", r"\sqrt{a}", "sqrt-for-reciprocal"),
    ("reciprocal-slash-for-sqrt", "1/a_j", "", r"\sqrt{a_j}", "sqrt-for-reciprocal"),
    ("closing-bracket-misplaced", "(a + b) c", "", "(a + b c)", "misplaced-bracket"),
    ("opening-bracket-misplaced", "a (b + c)", "", "(a b + c)", "misplaced-bracket"),
    ("alpha-read-as-a", "a x", "", r"\alpha x", "greek-confusion"),
    ("alpha-read-as-a-before-a-letter", "ax", "", r"\alpha x", "greek-confusion"),
    ("Sigma-for-sum", r"\Sigma_k y_k", "", r"\sum_k y_k", "greek-confusion"),
    ("minus-added", "-a", "", "a", "extra-minus"),
    ("stray-bracket", "a + b)", "", "a + b", "stray-bracket"),
    ("subscript-added", "x_i^T w", "", "x^T w", "extra-subscript"),
    ("superscript-added", "W^T x", "", "W x", "extra-superscript"),
    ("prime-added", "f'(x)", "", "f(x)", "extra-prime"),
    ("accent-added", r"\hat{x}_i", "", "x_i", "extra-accent"),
    # a T whose bar is lost; digits; more handwritten glyph pairs
    ("T-read-as-I", "u^I x", "", "u^T x", "transpose-as-letter"),
    ("T-read-as-l-braced", "u^{l} x", "", "u^{T} x", "transpose-as-letter"),
    ("inverse-transpose-with-an-I", "X^{-I}", "", "X^{-T}", "transpose-as-letter"),
    ("7-for-2", "7 x", "", "2 x", "digit-confusion"),
    ("9-for-4", "x^9", "", "x^4", "digit-confusion"),
    ("8-for-0-in-a-number", "18", "", "10", "digit-confusion"),
    ("5-for-S", "5_k", "", "S_k", "letter-confusion"),
    ("2-for-z", "w^T x + b = 2", "", "w^T x + b = z", "letter-confusion"),
    ("n-for-m", "x_n", "", "x_m", "letter-confusion"),
    ("h-for-b", "a h^T", "", "a b^T", "letter-confusion"),
    ("v-for-y", "p - v", "", "p - y", "letter-confusion"),
    ("alpha-inside-a-name", r"\operatorname{softm\alpha x}(z)", "",
     r"\operatorname{softmax}(z)", "greek-confusion"),
    # a letter twice or once too few
    ("letter-twice", r"\sigma(-aa)", "", r"\sigma(-a)", "repeated-letter"),
    ("letter-twice-before-a-subscript", "aa_1", "", "a_1", "repeated-letter"),
    ("letter-twice-in-a-name", r"\operatorname{diiag}(x)", "", r"\operatorname{diag}(x)",
     "repeated-letter"),
    ("factor-read-once", r"\mathrm{tr}(X)", "", r"\mathrm{tr}(X X)", "dropped-letter"),
    ("factor-read-once-keeps-its-script", "x^T", "", "x x^T", "dropped-letter"),
    # a fraction's bar lost, or read as a minus
    ("fraction-bar-lost", r"\partial L \partial z", "", r"\frac{\partial L}{\partial z}",
     "lost-fraction-bar"),
    ("fraction-bar-lost-in-an-operator", r"\partial \partial w f", "",
     r"\frac{\partial}{\partial w} f", "lost-fraction-bar"),
    ("fraction-bar-lost-no-space", "ab + c", "", r"\frac{a}{b} + c", "lost-fraction-bar"),
    ("fraction-bar-lost-in-a-bracket", "x (1 n + y)", "", r"x (\frac{1}{n} + y)",
     "lost-fraction-bar"),
    ("fraction-bar-read-as-minus", "1 - n y", "", r"\frac{1}{n y}", "fraction-bar-as-minus"),
    # scripts and brackets in more places
    ("norm-square-lost", r"\|w\|", "", r"\|w\|^2", "lost-superscript"),
    ("norm-square-lost-after-its-subscript", r"\|w\|_2", "", r"\|w\|_2^2",
     "lost-superscript"),
    ("inverse-transpose-lost", "P", "", "P^{-T}", "lost-superscript"),
    ("opening-bracket-lost-before-a-minus", r"\sigma-a)", "", r"\sigma(-a)",
     "dropped-bracket"),
    ("closing-bracket-lost-before-a-script", r"\operatorname{f}(z_k", "",
     r"\operatorname{f}(z)_k", "dropped-bracket"),
    ("pair-lost-around-an-argument-with-a-script", r"\operatorname{f} z_k", "",
     r"\operatorname{f} (z)_k", "dropped-bracket"),
]


@pytest.mark.parametrize(("written", "wrong"), [
    (r"\tanh c", r"\frac{\tanh}{c}"),  # a function's argument is not a denominator
    (r"\partial L \partial z", r"\frac{\partial}{L} \partial z"),
    (r"\operatorname{relu}'(z)", r"\operatorname{r\epsilonlu}'(z)"),  # no glued command
])
def test_variants_that_are_not_offered(written: str, wrong: str) -> None:
    assert wrong not in _variants(written)


@pytest.mark.parametrize(("written", "vocabulary", "intended", "code"),
                         [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_each_confusion_gives_the_expected_variant(written: str, vocabulary: str,
                                                   intended: str, code: str) -> None:
    assert _variants(written, vocabulary).get(intended) == code


def test_an_edit_says_what_it_replaced() -> None:
    edit = next(e for e in single_edits(r"\frac{\partial L}{\partial z} = -\sqrt{a_j}",
                                        limit=LIMIT) if e.code == "sqrt-for-reciprocal")
    assert (edit.written, edit.reading) == (r"\sqrt{a_j}", "1/a_j")
    text = r"\frac{\partial L}{\partial z} = -\sqrt{a_j}"
    assert text[edit.start:edit.end] == edit.written
    assert edit.latex == text[:edit.start] + edit.reading + text[edit.end:]
    assert edit.prior == CONFUSIONS["sqrt-for-reciprocal"].prior
    with pytest.raises(dataclasses.FrozenInstanceError):
        edit.latex = "x"  # type: ignore[misc]


INPUTS = [
    r"\frac{\partial L}{\partial W_2} = (a_2 - y) a_1^T",
    r"\frac{\partial s_i}{\partial z_j} = s_i (\delta_{ij} - s_j)",
    r"\left(\mathbf{W}^{T} \boldsymbol{\delta}\right) \odot \operatorname{relu}'(z_1)",
    r"-\sum_{k=1}^{K} y_k \log \hat{y}_k + \lambda \|w\|_2^2",
    r"\sqrt[3]{x} + \frac{1}{\sqrt{a_j}} \cdot \mathbb{1}[z > 0]",
    r"X^{-T} \alpha\beta \tanh^2(c) \Sigma",
]
_CMD = re.compile(r"\\(?:[A-Za-z]+|.)")


def _commands(text: str) -> list[tuple[int, int]]:
    return [m.span() for m in _CMD.finditer(text)]


def _nested(text: str) -> bool:
    depth = 0
    for m in re.finditer(r"\\.|[{}]", text):
        depth += {"{": 1, "}": -1}.get(m.group(0), 0)
        if depth < 0:
            return False
    return depth == 0


@pytest.mark.parametrize("text", INPUTS)
def test_edits_never_split_a_command_and_keep_braces_balanced(text: str) -> None:
    edits = single_edits(text, limit=LIMIT)
    assert edits
    known = {c for _, c in _table_commands()}
    before = {text[s:e] for s, e in _commands(text)}
    for edit in edits:
        for s, e in _commands(text):
            assert not s < edit.start < e and not s < edit.end < e, edit
        after = {edit.latex[s:e] for s, e in _commands(edit.latex)}
        assert after <= before | known, edit  # no command glued from pieces (\alphab)
        assert _nested(edit.latex), edit


def _table_commands() -> list[tuple[str, str]]:
    from derivcheck.notes import ocr_glyphs as ocr

    words = [w for pair in (*ocr.LOOKALIKE_PAIRS, *ocr.GREEK_PAIRS, *ocr.OPERATOR_PAIRS)
             for w in pair] + ["\\odot", "\\cdot", "\\frac", "\\sqrt", "\\hat", "\\right"]
    return [("", w) for w in words if w.startswith("\\")]


@pytest.mark.parametrize("text", INPUTS)
def test_edits_are_ranked_distinct_and_deterministic(text: str) -> None:
    edits = single_edits(text, limit=LIMIT)
    assert edits == single_edits(text, limit=LIMIT)
    priors = [e.prior for e in edits]
    assert priors == sorted(priors, reverse=True)
    assert len({e.latex for e in edits}) == len(edits)
    assert text not in {e.latex for e in edits}
    assert all(isinstance(e, Edit) and e.code in CONFUSIONS for e in edits)


@pytest.mark.parametrize("limit", [0, 1, 5, 40])
def test_the_limit_is_honoured(limit: int) -> None:
    edits = single_edits(INPUTS[0], limit=limit)
    assert len(edits) == min(limit, len(single_edits(INPUTS[0], limit=LIMIT)))
    if limit:  # the most probable confusion comes first whatever the limit
        assert edits[0].prior == max(CONFUSIONS[c].prior for c in CONFUSIONS
                                     if any(e.code == c for e in single_edits(
                                         INPUTS[0], limit=LIMIT)))


def test_the_work_is_bounded_on_the_longest_input() -> None:
    text = " + ".join(INPUTS * 12)[:2000]
    started = time.perf_counter()
    edits = single_edits(text, limit=50)
    assert len(edits) == 50
    assert time.perf_counter() - started < 2.0


@pytest.mark.parametrize("text", [
    "", " ", "\\", "{{{", "}}}", "((((", "))", "^_^_'", "\\left", "\\right)", "é∂ 😀",
    "{" * 300 + "a" + "}" * 300, "(" * 300, "x" * 4001, "\\frac" * 50, "_{", "a_{b",
])
def test_garbage_never_raises(text: str) -> None:
    edits = single_edits(text, limit=100, vocabulary=text)
    assert len(edits) <= 100
