"""The LaTeX reader: every notation of the issue, the latex2sympy2 hazards, and errors."""

from __future__ import annotations

import re

import pytest

from derivcheck.decide import Options
from derivcheck.errors import InputError
from derivcheck.load import load_text
from derivcheck.parse.expr import Scope, parse_expression
from derivcheck.printer import to_text
from derivcheck.verify import verify_derivation

MODEL = """title: latex
symbols:
  x: vector D
  W1: matrix H D
  b1: vector H
  W2: matrix K H
  b2: vector K
  y: onehot K
  yhat: prob K
  xbar: vector D
  gamma: posscalar
  lam: posscalar
  S: symmatrix D
  i: index K
  j: index H
  k: index K
  c: index K
define:
  z1: W1 @ x + b1
  a1: relu(z1)
  z2: W2 @ a1 + b2
  a2: softmax(z2)
  L: -sum(y * log(a2))
steps:
{steps}
"""


def read(latex: str) -> str:
    """How a LaTeX expression is read, in the expression syntax."""
    quoted = latex.replace("'", "''")  # YAML single quotes
    text = MODEL.replace("{steps}", f"  - id: s\n    latex: ['{quoted}', '0']\n")
    return load_text(text, "t.yaml").steps[0].exprs[0].text


def syntax(text: str) -> str:
    """A syntax-form expression, normalised through the same printer."""
    d = load_text(MODEL.replace("{steps}", "  - {id: s, claim: 'x = x'}"), "t.yaml")
    scope = Scope(d.symbols, frozenset(x.name for x in d.definitions), frozenset(d.dims))
    from derivcheck.printer import to_text

    return to_text(parse_expression(text, scope))


# (id, LaTeX, the same in the expression syntax)
NOTATION = [
    ("partial fraction", r"\frac{\partial L}{\partial W_2}", "d(L)/d(W2)"),
    ("partial slash", r"\partial L / \partial W_2", "d(L)/d(W2)"),
    ("partial element", r"\frac{\partial L}{\partial z_{2i}}", "d(L)/d(z2[i])"),
    ("partial matrix element", r"\frac{\partial L}{\partial W_{2jk}}", "d(L)/d(W2[j, k])"),
    ("operator before f", r"\frac{\partial}{\partial z_2} L", "d(L)/d(z2)"),
    ("delta", r"\delta_{ik}", "delta(i, k)"),
    ("transpose T", r"a_1^T", "a1.T"),
    ("transpose braces", r"a_1^{T}", "a1.T"),
    ("transpose top", r"a_1^\top", "a1.T"),
    ("transpose mathsf", r"a_1^{\mathsf T}", "a1.T"),
    ("odot", r"a_2 \odot y", "a2 * y"),
    ("circ", r"a_2 \circ y", "a2 * y"),
    ("indicator bracket", r"\mathbb{1}[z_1 > 0]", "relu_prime(z1)"),
    ("indicator I", r"\mathbb{I}(k = c)", "delta(k, c)"),
    ("operatorname ReLU", r"\operatorname{ReLU}(z_1)", "relu(z1)"),
    ("text ReLU prime", r"\text{ReLU}'(z_1)", "relu_prime(z1)"),
    ("sigma", r"\sigma(W_1 x)", "sigmoid(W1 @ x)"),
    ("softmax", r"\operatorname{softmax}(z_2)", "softmax(z2)"),
    ("sum without bounds", r"\sum_k y_k", "Sum(k, y[k])"),
    ("sum with bounds", r"\sum_{k=1}^{K} y_k a_{2k}", "Sum(k, y[k] * a2[k])"),
    ("exp", r"\exp(z_{2i})", "exp(z2[i])"),
    ("e power", r"e^{z_{2i}}", "exp(z2[i])"),
    ("log is natural", r"\log a_{2i}", "log(a2[i])"),
    ("ln", r"\ln a_{2i}", "log(a2[i])"),
    ("log base 10", r"\log_{10} a_{2i}", "log10(a2[i])"),
    ("cdot matrix product", r"W_2 \cdot a_1", "W2 @ a1"),
    ("cdot scalar product", r"y_i \cdot a_{2i}", "y[i] * a2[i]"),
    ("juxtaposition matrices", r"(a_2 - y) a_1^T", "(a2 - y) @ a1.T"),
    ("juxtaposition scalar", r"2 a_1", "2 * a1"),
    ("norm bars", r"\|x\|", "sqrt(sum(x ** 2))"),
    ("norm squared", r"\lVert x \rVert_2^2", "sum(x ** 2)"),
    ("frobenius squared", r"\|W_1\|_F^2", "sum(W1 ** 2)"),
    ("trace", r"\mathrm{tr}(W_1^T W_1)", "tr(W1.T @ W1)"),
    ("det", r"\det(S)", "det(S)"),
    ("diag", r"\operatorname{diag}(a_2)", "diag(a2)"),
    ("tfrac", r"\tfrac{1}{2} \gamma", "1 / 2 * gamma"),
    ("dfrac", r"\dfrac{y_i}{a_{2i}}", "y[i] / a2[i]"),
    ("sizing", r"\left( a_2 - y \right)", "a2 - y"),
    ("big", r"\big( a_2 - y \big)", "a2 - y"),
    ("spacing", r"a_2 \, - \; y", "a2 - y"),
    ("element vector", r"a_{2i}", "a2[i]"),
    ("element matrix", r"W_{2jk}", "W2[j, k]"),
    ("mathbf name", r"\mathbf{W}_2 a_1", "W2 @ a1"),
    ("boldsymbol name", r"\boldsymbol{W}_{2} a_1", "W2 @ a1"),
    ("hat", r"\hat{y}", "yhat"),
    ("bar", r"\bar{x}", "xbar"),
    ("greek gamma", r"\gamma", "gamma"),
    ("greek lambda for lam", r"\lambda", "lam"),
    ("inverse", r"S^{-1}", "inv(S)"),
    ("power", r"a_1^2", "a1 ** 2"),
    ("plain d fraction", r"\frac{d L}{d z_2}", "d(L)/d(z2)"),
    ("plain d operator", r"\frac{d}{d z_{2i}} L", "d(L)/d(z2[i])"),
    ("mathrm d", r"\frac{\mathrm{d} L}{\mathrm{d} z_2}", "d(L)/d(z2)"),
    ("subscript after a function", r"\operatorname{softmax}(z_2)_i", "softmax(z2)[i]"),
    ("subscript after a group", r"(a_2 - y)_i", "(a2 - y)[i]"),
    ("indicator geq", r"\mathbb{1}[z_1 \geq 0]", "relu_prime(z1)"),
    ("indicator >=", r"\mathbb{1}[z_1 >= 0]", "relu_prime(z1)"),
    ("sum bounds 0..K-1", r"\sum_{k=0}^{K-1} y_k", "Sum(k, y[k])"),
    ("sum from 0 without an upper bound", r"\sum_{k=0} y_k", "Sum(k, y[k])"),
    ("1-based sum with an index as a subscript only", r"\sum_{k=1}^{K} \delta_{kc} y_k a_{2k}",
     "Sum(k, delta(k, c) * y[k] * a2[k])"),
    ("0-based sum using its index as a number", r"\sum_{k=0}^{K-1} k y_k", "Sum(k, k * y[k])"),
    ("single bars of a scalar", r"|\gamma - 1|", "abs(gamma - 1)"),
    ("single bars of a square matrix", r"\log |S|", "log(det(S))"),
    ("vert of a scalar", r"\vert \gamma \vert^2", "abs(gamma) ** 2"),
    ("lvert of a square matrix", r"\left\lvert S \right\rvert", "det(S)"),
    ("single bars of a 1 by 1 product", r"|x^T \bar{x}|", "abs(x.T @ xbar)"),
    ("double bars are the norm", r"\lVert x \rVert + \|x\|^2", "sqrt(sum(x ** 2)) + sum(x ** 2)"),
    ("cdot of two column vectors", r"x \cdot \bar{x}", "x.T @ xbar"),
    ("cdot of a matrix and a vector", r"W_1 \cdot x", "W1 @ x"),
    ("operatorname abs", r"\operatorname{abs}(x)", "abs(x)"),
]


@pytest.mark.parametrize(("latex", "expected"), [c[1:] for c in NOTATION],
                         ids=[c[0] for c in NOTATION])
def test_notation(latex: str, expected: str) -> None:
    assert read(latex) == syntax(expected)


# latex2sympy2 1.9.1 gets each of these wrong (PITFALLS.md); the reader must not.
HAZARDS = [
    ("W^T is not dropped", r"W_1^T", "W1.T"),
    ("transpose of a bold vector", r"\mathbf{a}_1^{T}", "a1.T"),
    ("products keep their order", r"(a_2 - y) a_1^{T}", "(a2 - y) @ a1.T"),
    ("log is not base 10", r"\log a_{2i}", "log(a2[i])"),
    ("sigma applies to the product", r"\sigma(W_1 x)", "sigmoid(W1 @ x)"),
    ("partial fractions read", r"\frac{\partial L}{\partial z_{2i}}", "d(L)/d(z2[i])"),
    ("odot understood", r"a_2 \odot y", "a2 * y"),
    ("sum without limits", r"\sum_k y_k", "Sum(k, y[k])"),
    ("det parses", r"\det(S)", "det(S)"),
]


@pytest.mark.parametrize(("latex", "expected"), [c[1:] for c in HAZARDS],
                         ids=[c[0] for c in HAZARDS])
def test_latex2sympy2_hazards_are_read_right(latex: str, expected: str) -> None:
    assert read(latex) == syntax(expected)


# Unknown or unsupported notation is reported, never dropped: (id, LaTeX, message part, column
# of the offending piece inside the LaTeX string, 0-based)
ERRORS = [
    ("unknown command", r"a_2 + \foo{x}", "unknown command \\foo", 6),
    ("unknown name", r"a_2 - q", "unknown name 'q'", 6),
    # was "unknown command \operatorname", while the hint listed \operatorname{...}
    ("unknown function", r"\operatorname{gelu}(z_1)", "unknown function 'gelu'", 0),
    ("unbalanced parenthesis", r"(a_2 - y", "expected ')'", 8),
    ("dangling operator", r"a_2 -", "ends too early", 5),
    ("prime on another function", r"\det'(W_1)", "a prime is understood on ReLU, \\sigma", 0),
    # an undeclared letter is a bound index whose range is inferred (BOUND below); a
    # declared name that is not an index stays refused
    ("sum over a non-index", r"\sum_x y_x", "'x' is not a declared index: it is a symbol", 5),
    ("sum over a dimension", r"\sum_K y_K", "'K' is not a declared index: it is a dimension", 5),
    ("sum over a defined name", r"\sum_{L} y_L", "'L' is not a declared index: it is a defined",
     5),
    ("sum over a word", r"\sum_{kk} y_k", "'kk' is not a declared index", 5),
    ("times between matrices", r"W_1 \times W_1", "ambiguous", 4),
    ("log base not an expression", r"\log_{a+} x", "base 'a+' is not read", 0),
    ("log of a juxtaposition", r"\ln a_2 y", "ambiguous: the argument may be x or x y", 8),
    ("unexpected character", r"a_2 ? y", "unexpected character '?'", 4),
    ("lg names two bases", r"\lg a_2", "log base 2 in computer science and base 10", 0),
    ("upper bound a number", r"\sum_{k=2}^{3} y_k", "sum bounds 2..3: not read", 5),
    ("1..K-1 without a convention", r"\sum_{k=1}^{K-1} y_k", "sum bounds 1..K-1: counted from 0 "
     "they leave out the first value, counted from 1 the last value", 5),
    ("only counted from 1, not declared", r"\sum_{k=2}^{K} y_k", "counted from 1 they leave "
     "out the first value, but this file's LaTeX indices count from 0", 5),
    ("excluded value with bounds", r"\sum_{k \neq c}^{K} y_k", "bounds with an excluded value", 5),
    ("excluded value is the index", r"\sum_{k \neq k} y_k", "the sum's own index", 5),
    ("excluded value of another range", r"\sum_{k \neq j} y_k", "k runs over K and j over H", 5),
    ("sum 0..K has K + 1 terms", r"\sum_{k=0}^{K} y_k", "that is K + 1 terms", 5),
    ("sum from 1 without an upper bound", r"\sum_{k=1} y_k", "sum bounds 1..?", 5),
    ("sum with only an upper bound", r"\sum_{k}^{K} y_k", "needs its lower bound", 5),
    ("1-based sum using its index as a number", r"\sum_{k=1}^{K} k y_k",
     "used as a number", 5),
    ("1-based sum comparing its index with a number", r"\sum_{k=1}^{K} \delta_{k0} y_k",
     "used as a number", 5),
    ("accent shown as written", r"\tilde{x}", "unknown name '\\tilde{x}'", 0),
    ("single bars of a vector", r"|x|", "of a vector is ambiguous", 0),
    ("single bars of a non-square matrix", r"\vert W_1 \vert", "not square is ambiguous", 0),
    ("subscript after single bars", r"|\gamma|_2", "a subscript after single bars", 8),
    ("a norm closed by a single bar", r"\| x |", "expected the closing bar (\\|)", 5),
]


@pytest.mark.parametrize(("latex", "message", "column"), [c[1:] for c in ERRORS],
                         ids=[c[0] for c in ERRORS])
def test_errors_name_the_column_inside_the_latex(latex: str, message: str, column: int) -> None:
    quoted = latex.replace("'", "''")  # YAML single quotes
    text = MODEL.replace("{steps}", f"  - id: s\n    latex: ['{quoted}', '0']\n")
    with pytest.raises(InputError) as info:
        load_text(text, "t.yaml")
    err = info.value
    assert message in err.message
    line = err.source_line
    start = line.index("'") + 1  # the LaTeX string starts after the quote
    quoted_column = column + latex[:column].count("'")  # a quote is written twice in YAML
    assert err.col - 1 == start + quoted_column, (err.col, start, column, err.format())
    assert "^" in err.format()


# Bounds against their literal meaning: \sum_{k=lo}^{hi} has the terms lo..hi.  Counted
# from 0 (latex_index_base 0) they are the positions lo..hi, counted from 1 the positions
# lo-1..hi-1; whatever is read must be exactly one of these, inside 0..K-1, and where the
# convention is not declared and both fit, the sum must be refused.  A body that uses k
# as a number must see the values lo..hi: counted from 1 it is refused.
_LOWERS = ["", "0", "1", "2", "K-1", "K", "N"]
_UPPERS = ["", "0", "1", "K-3", "K-2", "K-1", "K", "K+1", "N"]
_K = 7  # any size: the terms are counted symbolically below
_SPAN = re.compile(r"Sum\(k, span\(k, (\d+), K - (\d+)\) \* (y\[k\]|\(k \* y\[k\]\))\)")
_WHOLE = re.compile(r"Sum\(k, (k \* )?y\[k\]\)")


def _literal(bound: str) -> int | None:
    table = {"0": 0, "1": 1, "2": 2, "K-3": _K - 3, "K-2": _K - 2, "K-1": _K - 1, "K": _K,
             "K+1": _K + 1}
    return table.get(bound)


def _positions(text: str) -> tuple[int, int]:
    """The positions (first, last) a reading sums over, at K = _K."""
    whole = _WHOLE.fullmatch(text)
    if whole:
        return 0, _K - 1
    m = _SPAN.fullmatch(text)
    assert m, f"unexpected reading {text}"
    return int(m.group(1)), _K - int(m.group(2))


@pytest.mark.parametrize("base", [None, 0, 1])
@pytest.mark.parametrize("lower", _LOWERS)
@pytest.mark.parametrize("upper", _UPPERS)
@pytest.mark.parametrize("body", ["y_k", "k y_k"])
def test_sum_bounds_are_read_exactly_or_refused(lower: str, upper: str, body: str,
                                                base: int | None) -> None:
    sub = f"k={lower}" if lower else "k"
    sup = f"^{{{upper}}}" if upper else ""
    latex = rf"\sum_{{{sub}}}{sup} {body}"
    model = MODEL if base is None else MODEL.replace(
        "define:", f"conventions: {{latex_index_base: {base}}}\ndefine:")
    quoted = latex.replace("'", "''")
    try:
        text = load_text(model.replace("{steps}", f"  - id: s\n    latex: ['{quoted}', '0']\n"),
                         "t.yaml").steps[0].exprs[0].text
    except InputError:
        return  # refused: always allowed
    got = _positions(text)
    if not lower and not upper:
        assert got == (0, _K - 1)
        return
    if lower == "0" and not upper:
        assert got == (0, _K - 1) and base != 1  # from the first value, with no end
        return
    lo, hi = _literal(lower), _literal(upper)
    assert lo is not None and hi is not None, f"{latex} read as {text}"
    fits = {b: (lo - b, hi - b) for b in (0, 1) if lo - b >= 0 and hi - b <= _K - 1}
    assert got in [fits[b] for b in fits if base is None or b == base], \
        f"{latex} (base {base}) read as {text}: not its terms"
    if base is None and got != (0, _K - 1):
        # subscripts count from 0, so must a partial sum, unambiguously (the whole
        # range is the same counted either way, when k is only a subscript)
        assert list(fits) == [0], f"{latex} read as {text}, though base 1 fits"
    counted_from_one = got == fits.get(1)
    if body.startswith("k ") and counted_from_one:
        pytest.fail(f"{latex} read as {text}: k is counted from 1 and used as a number")


PARTIAL_SUMS = [
    # (id, convention, LaTeX, reading)
    ("all but the last, counted from 0", None, r"\sum_{k=0}^{K-2} y_k",
     "Sum(k, span(k, 0, K - 2) * y[k])"),
    ("all but the first, counted from 1", 1, r"\sum_{k=2}^{K} y_k",
     "Sum(k, span(k, 1, K - 1) * y[k])"),
    ("1..K-1 counted from 1", 1, r"\sum_{k=1}^{K-1} y_k", "Sum(k, span(k, 0, K - 2) * y[k])"),
    ("1..K-1 counted from 0", 0, r"\sum_{k=1}^{K-1} y_k", "Sum(k, span(k, 1, K - 1) * y[k])"),
    ("a number in a 0-based partial sum", 0, r"\sum_{k=1}^{K-2} k y_k",
     "Sum(k, span(k, 1, K - 2) * (k * y[k]))"),
    ("every value but one", None, r"\sum_{k \neq c} y_k", "Sum(k, (1 - delta(k, c)) * y[k])"),
    ("every value but one, \ne", None, r"\sum_{k \ne 0} y_k",
     "Sum(k, (1 - delta(k, 0)) * y[k])"),
]


@pytest.mark.parametrize(("base", "latex", "want"), [c[1:] for c in PARTIAL_SUMS],
                         ids=[c[0] for c in PARTIAL_SUMS])
def test_partial_sums_are_read_as_written(base: int | None, latex: str, want: str) -> None:
    model = MODEL if base is None else MODEL.replace(
        "define:", f"conventions: {{latex_index_base: {base}}}\ndefine:")
    quoted = latex.replace("'", "''")
    expr = load_text(model.replace("{steps}", f"  - id: s\n    latex: ['{quoted}', '0']\n"),
                     "t.yaml").steps[0].exprs[0]
    assert expr.text == want


def test_a_step_in_latex_only_is_checked() -> None:
    text = MODEL.replace("{steps}", "  - id: s\n    latex: "
                         "'\\frac{\\partial L}{\\partial z_2} = a_2 - y'\n"
                         "  - id: t\n    latex: '\\frac{\\partial L}{\\partial z_2} = y - a_2'\n")
    d = load_text(text, "t.yaml")
    results = verify_derivation(d, Options(symbolic=False))
    assert results[0].verdict.holds
    assert results[1].codes == ("sign-error",)
    assert results[0].links[0].lhs == "d(L)/d(z2)"  # echoed as read
    assert results[0].links[0].lhs_latex == "\\frac{\\partial L}{\\partial z_2}"


def test_latex_chain_string_and_list_forms() -> None:
    chain = ("\\frac{\\partial L}{\\partial z_{2i}} = \\sum_k -y_k (\\delta_{ki} - a_{2i})"
             " = a_{2i} - y_i")
    as_string = MODEL.replace("{steps}", f"  - id: s\n    latex: '{chain}'\n")
    items = [p.strip() for p in chain.split(" = ")]
    as_list = MODEL.replace("{steps}", "  - id: s\n    latex:\n" + "".join(
        f"      - '{p}'\n" for p in items))
    for text in (as_string, as_list):
        d = load_text(text, "t.yaml")
        assert d.steps[0].form == "chain" and len(d.steps[0].exprs) == 3
        assert verify_derivation(d, Options(symbolic=False))[0].verdict.holds


def test_both_forms_must_have_the_same_number_of_expressions() -> None:
    text = MODEL.replace("{steps}", "  - id: s\n    claim: d(L)/d(z2) = a2 - y\n"
                         "    latex: ['\\frac{\\partial L}{\\partial z_2}', 'a_2', 'a_2 - y']\n")
    with pytest.raises(InputError) as info:
        load_text(text, "t.yaml")
    assert "LaTeX form has 3 expressions" in info.value.message


def test_declared_latex_names() -> None:
    text = MODEL.replace("  W1: matrix H D", "  W1: {kind: matrix H D, latex: 'W^{(1)}'}")
    text = text.replace("{steps}", "  - id: s\n    latex: "
                        "'\\frac{\\partial L}{\\partial W^{(1)}} = 0'\n")
    d = load_text(text, "t.yaml")
    assert d.steps[0].exprs[0].text == "d(L)/d(W1)"
    assert d.latex_names == {"W1": "W^{(1)}"}


def test_a_name_with_a_letter_subscript_then_indices() -> None:
    # the document writes the label y_t (t: the true class) and its entries y_{ti}
    text = MODEL.replace("  y: onehot K", "  y: {kind: onehot K, latex: 'y_t'}")
    text = text.replace("{steps}", "  - id: s\n    latex: ['y_{ti}', 'y_t', 'y_{t,i}']\n")
    d = load_text(text, "t.yaml")
    assert [e.text for e in d.steps[0].exprs] == ["y[i]", "y", "y[i]"]


def test_a_declared_latex_name_must_be_a_name() -> None:
    text = MODEL.replace("  W1: matrix H D", "  W1: {kind: matrix H D, latex: 'W + 1'}")
    with pytest.raises(InputError) as info:
        load_text(text.replace("{steps}", "  - {id: s, claim: x = x}"), "t.yaml")
    assert "LaTeX name" in info.value.message


def test_with_latex_option_the_latex_forms_are_checked() -> None:
    # the syntax form holds, the LaTeX form has a sign error: each option checks its own form
    text = MODEL.replace("{steps}", "  - id: s\n    claim: d(L)/d(z2) = a2 - y\n"
                         "    latex: '\\frac{\\partial L}{\\partial z_2} = y - a_2'\n")
    d = load_text(text, "t.yaml")
    assert verify_derivation(d, Options(symbolic=False))[0].verdict.holds
    assert not verify_derivation(d, Options(symbolic=False, latex=True))[0].verdict.holds


# Ambiguous readings are reported with the choice made: (id, model change, LaTeX, note part)
AMBIGUOUS = [
    ("symbol or element", ("  S: symmatrix D", "  S: symmatrix D\n  x2: vector D"),
     r"x_2", "read as the symbol x2, not as an element of x"),
    # a symbol named x_2 reads the same way (it was read as the element, silently)
    ("symbol with an underscore or element",
     ("  S: symmatrix D", "  S: symmatrix D\n  x_2: vector D"),
     r"x_2", "read as the symbol x_2, not as an element of x"),
    # 1/2s: (1/2) s as read, 1/(2s) in many handwritten notes (an outside tester's)
    ("a factor after a division", ("steps:", "steps:"), r"1/2 a_2",
     "a / b c read as (a / b) c"),
    ("indicator and the convention at 0",
     ("steps:", "conventions: {relu_prime_at_zero: 1}\nsteps:"),
     r"\mathbb{1}[z_1 > 0]", "relu_prime_at_zero (1)"),
]


@pytest.mark.parametrize(("change", "latex", "note"), [c[1:] for c in AMBIGUOUS],
                         ids=[c[0] for c in AMBIGUOUS])
def test_ambiguous_readings_are_reported(change: tuple[str, str], latex: str, note: str) -> None:
    text = MODEL.replace(*change).replace(
        "{steps}", f"  - id: s\n    latex: ['{latex}', '{latex}']\n")
    d = load_text(text, "t.yaml")
    assert any(note in n for n in d.steps[0].exprs[0].reading)
    link = verify_derivation(d, Options(symbolic=False))[0].links[0]
    assert any(note in n for n in link.reading)


def test_an_unambiguous_reading_has_no_note() -> None:
    text = MODEL.replace("{steps}", "  - id: s\n    latex: ['W_2 a_1', 'W_2 a_1']\n")
    assert load_text(text, "t.yaml").steps[0].exprs[0].reading == ()
    # one index cannot be an element of a matrix: S_2 is only the symbol S2
    text = MODEL.replace("  S: symmatrix D", "  S: symmatrix D\n  S2: symmatrix D").replace(
        "{steps}", "  - id: s\n    latex: ['S_2', 'S_2']\n")
    assert load_text(text, "t.yaml").steps[0].exprs[0].reading == ()


# More notation found in the source documents: (id, LaTeX, syntax)
MORE = [
    ("nabla", r"\nabla_{z_2} L", "d(L)/d(z2)"),
    # the product that follows, as \frac{\partial}{\partial x} (was b^T alone, a newcomer's
    # \nabla_x b^T x = b refuted)
    # a prime names the derivative of an elementwise function (sigma' was refused)
    ("sigmoid prime", r"\sigma'(z_2)", "sigmoid(z2) * (1 - sigmoid(z2))"),
    ("tanh prime", r"\tanh'(z_2)", "1 - tanh(z2) ** 2"),
    ("exp prime", r"\exp'(z_2)", "exp(z2)"),
    ("nabla of a product", r"\nabla_x x^\top S x", "d(x.T @ S @ x)/d(x)"),
    ("nabla up to the next plus", r"\nabla_x x^\top x + L", "d(x.T @ x)/d(x) + L"),
    ("indicator subscript", r"\mathbb{1}_{k=c}", "delta(k, c)"),
    ("indicator braces", r"\mathbb{1}\{k = c\}", "delta(k, c)"),
    ("indicator neq", r"\mathbb{1}[k \neq c]", "1 - delta(k, c)"),
    ("subscript inside an accent", r"\hat{y_i}", "yhat[i]"),
    ("accent then subscript", r"\hat{y}_i", "yhat[i]"),
]


@pytest.mark.parametrize(("latex", "expected"), [c[1:] for c in MORE],
                         ids=[c[0] for c in MORE])
def test_more_notation(latex: str, expected: str) -> None:
    assert read(latex) == syntax(expected)


def test_a_letter_suffix_name_reads_with_a_subscript() -> None:
    text = MODEL.replace("  L: -sum(y * log(a2))", "  L: -sum(y * log(a2))\n  aL: a2 + 1")
    text = text.replace("{steps}", "  - id: s\n    latex: ['a_L', 'a_{L,i}']\n")
    assert [e.text for e in load_text(text, "t.yaml").steps[0].exprs] == ["aL", "aL[i]"]


def test_a_double_subscript_is_refused() -> None:
    text = MODEL.replace("{steps}", "  - id: s\n    latex: ['a_2_i', '0']\n")
    with pytest.raises(InputError) as info:
        load_text(text, "t.yaml")
    assert "double subscript" in info.value.message


# LaTeX that tries to run or read something is refused as unknown, never expanded.
HOSTILE_LATEX = [
    ("input", r"\input{/etc/passwd}"),
    ("include", r"\include{secret}"),
    ("write18", r"\write18{touch MARKER}"),
    ("immediate", r"\immediate\write18{touch MARKER}"),
    ("openin", r"\openin5=/etc/passwd"),
    ("catcode", r"\catcode`\^=11"),
    ("def", r"\def\x{1} x"),
    ("newcommand", r"\newcommand{\x}{1}"),
    ("csname", r"\csname input\endcsname{x}"),
]


@pytest.mark.parametrize("latex", [c[1] for c in HOSTILE_LATEX], ids=[c[0] for c in HOSTILE_LATEX])
def test_hostile_latex_is_refused(latex: str, tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    quoted = latex.replace("'", "''")
    text = MODEL.replace("{steps}", f"  - id: s\n    latex: ['{quoted}', '0']\n")
    with pytest.raises(InputError) as info:
        load_text(text, "t.yaml")
    assert "LaTeX" in info.value.message
    assert not (tmp_path / "MARKER").exists()


def test_the_derivative_operator_applies_to_the_whole_product() -> None:
    # \frac{\partial}{\partial v} a b c differentiates a b c, up to the next + or -
    assert read(r"\frac{\partial}{\partial z_2} \frac{1}{2} \sum_k y_k L") == \
        syntax("d(1 / 2 * Sum(k, y[k] * L))/d(z2)")
    assert read(r"\frac{\partial}{\partial z_2} L + L") == syntax("d(L)/d(z2) + L")


# Sums over an index that is not declared: its range is what it subscripts, said in the
# reading notes. (id, LaTeX, read as, note part). MODEL_BOUND declares no k, m or n.
MODEL_BOUND = MODEL.replace("  k: index K\n", "")


def read_bound(latex: str, model: str = MODEL_BOUND) -> tuple[str, tuple[str, ...]]:
    quoted = latex.replace("'", "''")
    text = model.replace("{steps}", f"  - id: s\n    latex: ['{quoted}', '0']\n")
    expr = load_text(text, "t.yaml").steps[0].exprs[0]
    return expr.text, expr.reading


BOUND = [
    ("sum of entries", r"\sum_k y_k", "Sum(k, y[k])",
     "k is not declared: it runs over K, the range of what it subscripts (y[k])"),
    ("log-sum-exp", r"\log\sum_k e^{z_{2k}}", "log(Sum(k, exp(z2[k])))", "runs over K"),
    ("mean squared error", r"\frac{1}{K}\sum_{k}(\hat{y}_k - y_k)^2",
     "1 / K * Sum(k, (yhat[k] - y[k]) ** 2)", "(yhat[k])"),
    ("sum in brackets times a vector", r"\Big(\sum_k y_k\Big) a_2 - y",
     "Sum(k, y[k]) * a2 - y", "runs over K"),
    ("1-based bounds checked against the inferred range", r"\sum_{m=1}^{H} a_{1m}",
     "Sum(m, a1[m])", "m is not declared: it runs over H"),
    ("0-based bounds", r"\sum_{m=0}^{D-1} m x_m", "Sum(m, m * x[m])", "runs over D"),
    ("a column of a matrix", r"\sum_m W_{1jm} x_m", "Sum(m, W1[j, m] * x[m])",
     "runs over D, the range of what it subscripts (W1[j, m])"),
    ("two nested", r"\sum_m \sum_n W_{1mn}", "Sum(m, Sum(n, W1[m, n]))", "n is not declared"),
    ("an element of an expression", r"\sum_k (a_2 - y)_k", "Sum(k, (a2 - y)[k])", "runs over K"),
    ("the index in a delta before its subscript", r"\sum_k \delta_{kc} y_k",
     "Sum(k, delta(k, c) * y[k])", "runs over K"),
    ("the index in an indicator", r"\sum_k \mathbb{1}[k = c] y_k",
     "Sum(k, delta(k, c) * y[k])", "runs over K"),
]


@pytest.mark.parametrize(("latex", "expected", "note"), [c[1:] for c in BOUND],
                         ids=[c[0] for c in BOUND])
def test_a_bound_index_need_not_be_declared(latex: str, expected: str, note: str) -> None:
    text, reading = read_bound(latex)
    assert text == expected
    assert any(note in n for n in reading), reading


# (id, LaTeX, message part, column): refused, never guessed
BOUND_ERRORS = [
    ("uses disagree", r"\sum_k y_k x_k", "disagree on its range: y[k] makes it run over K, "
     "x[k] over D", 11),
    ("subscripts nothing", r"\sum_k 1", "subscripts nothing", 5),
    ("used only as a number", r"\sum_k k", "subscripts nothing", 5),
    ("used only in a delta", r"\sum_k \delta_{kc}", "subscripts nothing", 5),
    ("shadowed by an inner sum", r"\sum_k \sum_k y_k", "subscripts nothing", 5),
    ("one subscript on a matrix", r"\sum_k W_{1k}", "takes two subscripts", 7),
    ("a subscript of a scalar", r"\sum_k \gamma_k", "is a scalar", 7),
    ("bounds against the inferred range", r"\sum_{k=1}^{H} y_k", "sum bounds 1..H: not read (the "
     "bounds of a sum over k are an integer and K or K-c)", 5),
    ("partial sum over an inferred index, ambiguous", r"\sum_{k=1}^{K-1} y_k",
     "counted from 0 they leave out the first value", 5),
    ("1-based, the index as a number", r"\sum_{k=1}^{K} k y_k", "used as a number", 5),
]


@pytest.mark.parametrize(("latex", "message", "column"), [c[1:] for c in BOUND_ERRORS],
                         ids=[c[0] for c in BOUND_ERRORS])
def test_a_bound_index_is_refused_when_its_range_is_not_known(latex: str, message: str,
                                                               column: int) -> None:
    quoted = latex.replace("'", "''")
    text = MODEL_BOUND.replace("{steps}", f"  - id: s\n    latex: ['{quoted}', '0']\n")
    with pytest.raises(InputError) as info:
        load_text(text, "t.yaml")
    err = info.value
    assert message in err.message
    start = err.source_line.index("'") + 1
    assert err.col - 1 == start + column + latex[:column].count("'"), err.format()


def test_a_bound_index_is_not_declared_outside_its_sum() -> None:
    # after \sum_k y_k, a free k is still undeclared
    with pytest.raises(InputError) as info:
        read_bound(r"\sum_k y_k + y_k")
    assert "'k' is not a declared index" in info.value.message


def test_one_letter_over_two_ranges_is_renamed_and_said() -> None:
    text = MODEL_BOUND.replace("{steps}", "  - id: s\n    latex: ['\\sum_k y_k', '1']\n"
                               "  - id: t\n    latex: ['\\sum_k x_k', '\\sum_{k=1}^{D} x_k']\n"
                               "  - id: u\n    claim: Sum(k, x[k]) = Sum(k, x[k])\n")
    d = load_text(text, "t.yaml")
    assert d.steps[0].exprs[0].text == "Sum(k, y[k])"
    assert [e.text for e in d.steps[1].exprs] == ["Sum(k_D, x[k_D])"] * 2
    assert any("so here it is read as k_D" in n for n in d.steps[1].exprs[0].reading)
    # the expression syntax agrees (its text stays as written; the tree has the new name)
    assert to_text(d.steps[2].exprs[0].node) == "Sum(k_D, x[k_D])"
    assert d.bound == {"k": "K", "k_D": "D"}
    results = verify_derivation(d, Options(symbolic=False))
    assert [r.verdict.holds for r in results] == [True, True, True]


def test_a_renamed_index_avoids_declared_names() -> None:
    model = MODEL_BOUND.replace("  c: index K", "  c: index K\n  k_D: scalar")
    text = model.replace("{steps}", "  - id: s\n    latex: ['\\sum_k y_k', '1']\n"
                         "  - id: t\n    latex: ['\\sum_k x_k', '0']\n")
    d = load_text(text, "t.yaml")
    assert d.steps[1].exprs[0].text == "Sum(k_D2, x[k_D2])"


# The expression syntax reads the same sums: (id, claim side, read as)
BOUND_SYNTAX = [
    ("entries", "Sum(k, y[k])", "Sum(k, y[k])"),
    ("weighted", "Sum(m, m * x[m])", "Sum(m, m * x[m])"),
    ("nested", "Sum(m, Sum(n, W1[m, n] * x[n]))", "Sum(m, Sum(n, W1[m, n] * x[n]))"),
    ("an element of a definition", "Sum(k, a2[k])", "Sum(k, a2[k])"),
]


@pytest.mark.parametrize(("claim", "expected"), [c[1:] for c in BOUND_SYNTAX],
                         ids=[c[0] for c in BOUND_SYNTAX])
def test_the_expression_syntax_infers_a_bound_index(claim: str, expected: str) -> None:
    text = MODEL_BOUND.replace("{steps}", f"  - id: s\n    claim: '{claim} = 0'\n")
    assert load_text(text, "t.yaml").steps[0].exprs[0].text == expected


BOUND_SYNTAX_ERRORS = [
    ("uses disagree", "Sum(k, y[k] * x[k])", "disagree on its range", 14),
    ("subscripts nothing", "Sum(k, 1)", "subscripts nothing", 4),
    ("a declared symbol", "Sum(x, y[x])", "'x' is not an index", 4),
]


@pytest.mark.parametrize(("claim", "message", "column"), [c[1:] for c in BOUND_SYNTAX_ERRORS],
                         ids=[c[0] for c in BOUND_SYNTAX_ERRORS])
def test_the_expression_syntax_refuses_an_unknown_range(claim: str, message: str,
                                                        column: int) -> None:
    text = MODEL_BOUND.replace("{steps}", f"  - id: s\n    claim: '{claim} = 0'\n")
    with pytest.raises(InputError) as info:
        load_text(text, "t.yaml")
    assert message in info.value.message
    start = info.value.source_line.index("'") + 1
    assert info.value.col - 1 == start + column, info.value.format()


def test_a_definition_may_sum_over_an_undeclared_index() -> None:
    text = MODEL_BOUND.replace("  L: -sum(y * log(a2))", "  L: -Sum(k, y[k] * log(a2[k]))")
    text = text.replace("{steps}", "  - id: s\n    claim: d(L)/d(z2) = a2 - y\n")
    d = load_text(text, "t.yaml")
    assert d.bound == {"k": "K"}
    assert verify_derivation(d, Options(symbolic=False))[0].verdict.holds


# Layer superscripts: z^{(1)} is z1, before or after the subscript; a transpose may sit
# in the same superscript. (id, LaTeX, read as)
MODEL_LAYERS = MODEL.replace("  c: index K", "  c: index K\n  W3: matrix H H")
LAYERS = [
    ("layer then subscript", r"z^{(1)}_i", "z1[i]"),
    ("subscript then layer", r"z_i^{(1)}", "z1[i]"),
    ("a layer of a definition", r"a^{(1)}_j", "a1[j]"),
    ("layer in brackets", r"W^{[2]} a^{[1]}", "W2 @ a1"),
    ("layer and top", r"W^{(3)\top}", "W3.T"),
    ("layer and T", r"W^{(2)T} (a_2 - y)", "W2.T @ (a2 - y)"),
    ("layer, then a transpose", r"{W^{(2)}}^\top", "W2.T"),
    ("layer in a derivative", r"\frac{\partial L}{\partial z^{(2)}_k}", "d(L)/d(z2[k])"),
]


@pytest.mark.parametrize(("latex", "expected"), [c[1:] for c in LAYERS],
                         ids=[c[0] for c in LAYERS])
def test_layer_superscripts(latex: str, expected: str) -> None:
    text, _ = read_bound(latex, MODEL_LAYERS)
    assert text == expected


LAYER_ERRORS = [
    ("an undeclared layer", r"W^{(4)}", "unknown name 'W^{(4)}'", 0),
    ("an example superscript is not a layer", r"y^{(i)}", "unknown name 'y^{(i)}'", 0),
    ("a power inside the layer superscript", r"W^{(2)2}", "'2' after the layer (2)", 2),
    ("a transpose in the layer of an element", r"W^{(2)T}_{jk}",
     "a transpose in the layer superscript of an element", 0),
]


@pytest.mark.parametrize(("latex", "message", "column"), [c[1:] for c in LAYER_ERRORS],
                         ids=[c[0] for c in LAYER_ERRORS])
def test_layer_superscript_errors(latex: str, message: str, column: int) -> None:
    quoted = latex.replace("'", "''")
    text = MODEL_LAYERS.replace("{steps}", f"  - id: s\n    latex: ['{quoted}', '0']\n")
    with pytest.raises(InputError) as info:
        load_text(text, "t.yaml")
    assert message in info.value.message
    start = info.value.source_line.index("'") + 1
    assert info.value.col - 1 == start + column, info.value.format()


def test_a_definition_declares_its_latex_name() -> None:
    text = MODEL.replace("  z1: W1 @ x + b1", "  z1: {expr: W1 @ x + b1, latex: 'h^{(l)}'}")
    text = text.replace("  L: -sum(y * log(a2))", "  L: -sum(y * log(a2))\n"
                        "  m: {expr: 'sum(x) / D', latex: '\\mu'}\n"
                        "  p: {expr: softmax(z2), latex: '\\hat{p}'}")
    text = text.replace("{steps}", "  - id: s\n    latex: ['h^{(l)}_j + \\mu', "
                        "'\\hat{p}_i', '\\frac{\\partial L}{\\partial h^{(l)}}']\n")
    d = load_text(text, "t.yaml")
    assert [e.text for e in d.steps[0].exprs] == ["z1[j] + m", "p[i]", "d(L)/d(z1)"]
    assert d.latex_names["z1"] == "h^{(l)}"


DEFINITION_ERRORS = [
    ("no expr", "  q: {latex: 'q'}", "or {expr:, latex:}: missing 'expr'"),
    ("an unknown key", "  q: {expr: x, kind: vector D}", "unknown definition key 'kind'"),
    ("latex not a name", "  q: {expr: x, latex: 'q + 1'}", "'latex' is a LaTeX name"),
]


@pytest.mark.parametrize(("line", "message"), [c[1:] for c in DEFINITION_ERRORS],
                         ids=[c[0] for c in DEFINITION_ERRORS])
def test_a_definition_latex_name_is_checked(line: str, message: str) -> None:
    text = MODEL.replace("  L: -sum(y * log(a2))", "  L: -sum(y * log(a2))\n" + line)
    with pytest.raises(InputError) as info:
        load_text(text.replace("{steps}", "  - {id: s, claim: x = x}"), "t.yaml")
    assert message in info.value.message


# Objects every text uses: (id, LaTeX, read as, note part or ""). MODEL_OBJECTS adds a
# non-square M, a declared sigma and eps, and a defined name CE.
MODEL_OBJECTS = MODEL.replace("  c: index K", "  c: index K\n  M: matrix K D\n"
                              "  sigma: posscalar\n  eps: posscalar").replace(
    "  L: -sum(y * log(a2))", "  L: -sum(y * log(a2))\n  CE: -sum(y * log(a2))")
OBJECTS = [
    ("identity sized by a sum", r"S - I", "S - eye(D)", "I read as the identity eye(D)"),
    ("identity times a scalar", r"\gamma I + S", "gamma * eye(D) + S", "eye(D)"),
    ("negated identity", r"-I + S", "-eye(D) + S", "eye(D)"),
    ("identity over a scalar", r"\frac{I}{2} + S", "eye(D) / 2 + S", "eye(D)"),
    ("identity in an inverse", r"(I - S)^{-1}", "inv(eye(D) - S)", "eye(D)"),
    ("identity on the right", r"W_1 I", "W1 @ eye(D)", "eye(D)"),
    ("identity on the left", r"I W_1", "eye(H) @ W1", "eye(H)"),
    ("bold identity", r"\mathbf{I} - S", "eye(D) - S", "eye(D)"),
    ("identity with its size", r"I_D x", "eye(D) @ x", ""),
    ("bold identity with its size", r"\mathbf{I}_{D}", "eye(D)", ""),
    ("column sums", r"\mathbf{1}^\top M", "ones(K, 1).T @ M",
     "\\mathbf{1} read as the ones column ones(K, 1)"),
    ("row sums", r"M \mathbf{1}", "M @ ones(D, 1)", "ones(D, 1)"),
    ("sum of a vector", r"\mathbf{1}^T x", "ones(D, 1).T @ x", "ones(D, 1)"),
    ("ones minus a vector", r"x - \mathbf{1}", "x - ones(D, 1)", "ones(D, 1)"),
    ("ones with its size", r"\mathbf{1}_K", "ones(K, 1)", ""),
    ("boldsymbol ones", r"\boldsymbol{1}^\top x", "ones(D, 1).T @ x", "ones(D, 1)"),
    ("bold 1 with a condition is an indicator", r"\mathbf{1}[z_1 > 0]", "relu_prime(z1)", ""),
    ("bold 1 with a subscript condition", r"\mathbf{1}_{k=c}", "delta(k, c)", ""),
    ("max is relu", r"\max(0, z_1)", "relu(z1)", ""),
    ("max the other way, in braces", r"\max\{z_1, 0\}", "relu(z1)", ""),
    ("operatorname sum", r"\operatorname{sum}(x)", "sum(x)", ""),
    ("operatorname mean", r"\operatorname{mean}(W_1)", "mean(W1)", ""),
    ("operatorname inv", r"\operatorname{inv}(S)", "inv(S)", ""),
    ("operatorname of a declared name", r"\operatorname{CE} + 1", "CE + 1", ""),
    ("sigma squared, sigma declared", r"\sigma^{2}", "sigma ** 2", ""),
    ("sigma squared unbraced", r"\sigma^2 + \epsilon", "sigma ** 2 + eps", ""),
    ("varepsilon for a declared eps", r"\varepsilon", "eps", ""),
    ("square root of degree 2", r"\sqrt[2]{\gamma}", "sqrt(gamma)", ""),
    ("even root", r"\sqrt[4]{\gamma}", "gamma ** 0.25", "\\sqrt[4]{...} read as the power"),
]


@pytest.mark.parametrize(("latex", "expected", "note"), [c[1:] for c in OBJECTS],
                         ids=[c[0] for c in OBJECTS])
def test_objects(latex: str, expected: str, note: str) -> None:
    text, reading = read_bound(latex, MODEL_OBJECTS)
    d = load_text(MODEL_OBJECTS.replace("{steps}", "  - {id: s, claim: x = x}"), "t.yaml")
    if "ones(" in expected:  # ones(n, 1) has no expression syntax: compared as printed
        assert text == expected
    else:
        scope = Scope(d.symbols, frozenset(x.name for x in d.definitions), frozenset(d.dims))
        assert text == to_text(parse_expression(expected, scope))
    if note:
        assert any(note in n for n in reading), reading
    else:
        assert not any("read as the" in n for n in reading), reading


OBJECT_ERRORS = [
    ("identity alone", r"I", "cannot be told from its context", 0),
    ("identity plus a scalar", r"I + 1", "cannot be told from its context", 2),
    ("two unsized objects", r"\mathbf{1}\mathbf{1}^\top", "cannot be told from its context",
     10),
    ("identity in a function", r"\det(I)", "cannot be told from its context", 5),
    ("identity with a number", r"I_2", "the subscript of I is its size", 0),
    ("an upright 1 is not the ones vector", r"\mathrm{1} + x", "unknown name '1'", 0),
    ("blackboard 1 without a condition", r"\mathbb{1} + x", "needs its condition", 0),
    ("max of two expressions", r"\max(z_1, b_1)", "only \\max(0, z) is read", 0),
    ("max without brackets", r"\max z_1", "only \\max(0, z) is read", 0),
    ("operatorname sum without brackets", r"\operatorname{sum} x", "needs its argument in "
     "brackets", 19),
    ("pi", r"2 \pi", "no constant pi", 2),
    ("cube root", r"\sqrt[3]{\gamma}", "odd roots are not read", 0),
    ("root of degree 1", r"\sqrt[1]{\gamma}", "a whole number from 2", 0),
    ("sigma undeclared, squared", r"\sigma^{2}", "read as the sigmoid here", 0),
    ("sigma undeclared, alone", r"\sigma + 1", "needs its argument", 0),
]


@pytest.mark.parametrize(("latex", "message", "column"), [c[1:] for c in OBJECT_ERRORS],
                         ids=[c[0] for c in OBJECT_ERRORS])
def test_object_errors(latex: str, message: str, column: int) -> None:
    model = MODEL_OBJECTS if "sigma" not in latex else MODEL
    quoted = latex.replace("'", "''")
    text = model.replace("{steps}", f"  - id: s\n    latex: ['{quoted}', '0']\n")
    with pytest.raises(InputError) as info:
        load_text(text, "t.yaml")
    assert message in info.value.message
    start = info.value.source_line.index("'") + 1
    assert info.value.col - 1 == start + column, info.value.format()


def test_identity_and_ones_are_checked() -> None:
    model = MODEL_OBJECTS.replace("{steps}", "  - id: a\n    latex: '(I - S) x = x - S x'\n"
                                  "  - id: b\n    latex: '\\mathbf{1}^\\top x = \\sum_m x_m'\n"
                                  "  - id: c\n    latex: '\\frac{\\partial}{\\partial x} "
                                  "\\mathbf{1}^\\top x = \\mathbf{1}_D'\n"
                                  "  - id: d\n    latex: '\\operatorname{sum}(M) = "
                                  "\\mathbf{1}^\\top M \\mathbf{1}'\n"
                                  "  - id: e\n    latex: '\\mathbf{1}^\\top M = "
                                  "\\mathbf{1}^\\top M + 1'\n")
    results = verify_derivation(load_text(model, "t.yaml"), Options(symbolic=False))
    assert [r.verdict.holds for r in results] == [True, True, True, True, False]


def test_a_name_cannot_be_defined_after_it_was_a_summation_index() -> None:
    text = MODEL_BOUND.replace("  L: -sum(y * log(a2))", "  L: -Sum(k, y[k] * log(a2[k]))\n"
                               "  k: 2 * x")
    with pytest.raises(InputError) as info:
        load_text(text.replace("{steps}", "  - {id: s, claim: x = x}"), "t.yaml")
    assert "'k' is a summation index above" in info.value.message


def test_a_submission_shares_the_keys_inferred_indices() -> None:
    from derivcheck.load import load_submission_text

    key = load_text(MODEL_BOUND.replace("{steps}", "  - id: s\n    latex: "
                                        "'\\sum_k y_k = 1'\n"), "key.yaml")
    assert key.bound == {"k": "K"}
    sub = load_submission_text("steps:\n  - id: s\n    latex: '\\sum_k x_k = \\sum_k y_k'\n",
                               key, "sub.yaml")
    assert [e.text for e in sub.steps[0].exprs] == ["Sum(k_D, x[k_D])", "Sum(k, y[k])"]
    with pytest.raises(InputError) as info:
        load_submission_text("symbols:\n  k: scalar\nsteps:\n  - {id: s, claim: x = x}\n",
                             key, "sub.yaml")
    assert "'k' is a summation index of the answer key" in info.value.message


# -- conventions: latex_index_base (issue 13) ----------------------------------------
BASE_CASES = {
    # (base, LaTeX, how it is read, or the error's fragment)
    "0-based first entry": (0, "x_0", "x[0]"),
    "0-based second entry": (0, "x_1", "x[1]"),
    "1-based first entry": (1, "x_1", "x[0]"),
    "1-based matrix entry": (1, "W_{12}", "W[0, 1]"),
    "1-based delta": (1, "\\delta_{i1}", "delta(i, 0)"),
    "1-based index zero refused": (1, "x_0", "count from 1"),
    "indices by name unchanged": (1, "x_i", "x[i]"),
}


@pytest.mark.parametrize("name", BASE_CASES)
def test_latex_index_base(name: str) -> None:
    from derivcheck.errors import InputError
    from derivcheck.load import load_text

    base, latex, want = BASE_CASES[name]
    text = ("title: t\nsymbols: {x: vector D, W: matrix D D, i: index D}\n"
            f"conventions: {{latex_index_base: {base}}}\n"
            f"steps:\n  - id: s\n    latex: ['{latex}', '{latex}']\n")
    if "refused" in name:
        with pytest.raises(InputError) as info:
            load_text(text)
        assert want in info.value.message
        return
    step = load_text(text).steps[0]
    assert step.exprs[0].text == want
    if base and any(c.isdigit() for c in latex):
        assert any("count from 1" in note for note in step.exprs[0].reading)


def test_latex_index_base_must_be_0_or_1() -> None:
    from derivcheck.errors import InputError
    from derivcheck.load import load_text

    with pytest.raises(InputError) as info:
        load_text("title: t\nsymbols: {x: vector D}\nconventions: {latex_index_base: 2}\n"
                  "steps: [{id: s, claim: x = x}]\n")
    assert "latex_index_base must be 0 or 1" in info.value.message


# -- e_t: a basis vector (issue 13) ---------------------------------------------------
BASIS_CASES = {
    "e_t": ("e_t", "onehot(t, K)"),
    "bold e_t": ("\\mathbf{e}_t", "onehot(t, K)"),
    "transposed in a product": ("e_t^\\top a", "onehot(t, K).T @ a"),
    "in a gradient": ("a - e_t", "a - onehot(t, K)"),
}


@pytest.mark.parametrize("name", BASIS_CASES)
def test_basis_vector_e_t(name: str) -> None:
    from derivcheck.load import load_text

    latex, want = BASIS_CASES[name]
    text = ("title: t\nsymbols: {a: vector K, t: index K}\n"
            f"steps:\n  - id: s\n    latex: ['{latex}', '{latex}']\n")
    step = load_text(text).steps[0]
    assert step.exprs[0].text == want
    assert any("basis vector" in note for note in step.exprs[0].reading)


BASIS_REFUSED = {
    "integer subscript": "e_1",
    "not an index": "e_a",
}


@pytest.mark.parametrize("name", BASIS_REFUSED)
def test_basis_vector_needs_an_index(name: str) -> None:
    from derivcheck.errors import InputError
    from derivcheck.load import load_text

    text = ("title: t\nsymbols: {a: vector K, t: index K}\n"
            f"steps:\n  - id: s\n    latex: ['{BASIS_REFUSED[name]}', 'a']\n")
    with pytest.raises(InputError) as info:
        load_text(text)
    assert "basis vector" in info.value.message


# -- slices A_{:,n}, A_{n,:} (issue 13) ----------------------------------------------
SLICE_CASES = {
    "column": ("A_{:,n}", "A @ onehot(n, N)"),
    "row": ("A_{m,:}", "(A.T @ onehot(m, M)).T"),
    "column in a product": ("A_{:,n}^\\top x", "(A @ onehot(n, N)).T @ x"),
}


@pytest.mark.parametrize("name", SLICE_CASES)
def test_slices(name: str) -> None:
    from derivcheck.load import load_text

    latex, want = SLICE_CASES[name]
    text = ("title: t\nsymbols: {A: matrix M N, x: vector M, m: index M, n: index N}\n"
            f"steps:\n  - id: s\n    latex: ['{latex}', '{latex}']\n")
    step = load_text(text).steps[0]
    assert step.exprs[0].text == want
    assert any("read as the" in note for note in step.exprs[0].reading)


def test_a_column_slice_is_the_column() -> None:
    # the column n of A is the vector of entries A[i, n]: checked at random points
    from derivcheck.load import load_text

    text = ("title: t\nsymbols: {A: matrix M N, m: index M, n: index N}\n"
            "steps:\n  - id: s\n    latex: '(A_{:,n})_m = A_{mn}'\n"
            "  - id: t\n    latex: '(A_{:,n})_m = A_{nm}'\n")
    from tests.conftest import FAST

    results = verify_derivation(load_text(text), FAST)
    assert [r.verdict.holds for r in results] == [True, False]


SLICE_REFUSED = {"two colons": "A_{:,:}", "a vector": "x_{:,n}"}


@pytest.mark.parametrize("name", SLICE_REFUSED)
def test_bad_slices_are_refused(name: str) -> None:
    from derivcheck.errors import InputError
    from derivcheck.load import load_text

    text = ("title: t\nsymbols: {A: matrix M N, x: vector M, m: index M, n: index N}\n"
            f"steps:\n  - id: s\n    latex: ['{SLICE_REFUSED[name]}', 'x']\n")
    with pytest.raises(InputError) as info:
        load_text(text)
    assert "slice" in info.value.message


# -- second derivatives and Hessians (issue 13) -------------------------------------
HESSIAN_FORMS = {
    "partial squared over x squared": "\\frac{\\partial^2 f}{\\partial w^2}",
    "x x transposed": "\\frac{\\partial^2 f}{\\partial w \\partial w^\\top}",
    "x x": "\\frac{\\partial^2 f}{\\partial w \\partial w}",
    "operator form": "\\frac{\\partial^2}{\\partial w^2} f",
    "nabla squared": "\\nabla^2_w f",
    "nabla, square after": "\\nabla_w^2 f",
    "nabla braced": "\\nabla^2_{w} f",
}


@pytest.mark.parametrize("name", HESSIAN_FORMS)
def test_hessian_forms(name: str) -> None:
    # f = w^T A w / 2 with A symmetric: the Hessian is A (by hand), and not A + I
    from derivcheck.load import load_text
    from tests.conftest import FAST

    latex = HESSIAN_FORMS[name]
    text = ("title: t\nsymbols: {w: vector D, A: symmatrix D}\n"
            "define: {f: 'w.T @ A @ w / 2'}\n"
            f"steps:\n  - id: s\n    latex: ['{latex}', 'A']\n"
            f"  - id: t\n    latex: ['{latex}', 'A + I']\n")
    d = load_text(text)
    assert d.steps[0].exprs[0].text == "d(d(f)/d(w))/d(w)"
    assert [r.verdict.holds for r in verify_derivation(d, FAST)] == [True, False]


HESSIAN_REFUSED = {
    "mixed": ("\\frac{\\partial^2 f}{\\partial w \\partial v}", "mixed second derivative"),
    "no second variable": ("\\frac{\\partial^2 f}{\\partial w}", "second derivative is written"),
}


@pytest.mark.parametrize("name", HESSIAN_REFUSED)
def test_hessian_forms_refused(name: str) -> None:
    from derivcheck.errors import InputError
    from derivcheck.load import load_text

    latex, message = HESSIAN_REFUSED[name]
    text = ("title: t\nsymbols: {w: vector D, v: vector D, A: symmatrix D}\n"
            "define: {f: 'w.T @ A @ w / 2'}\n"
            f"steps:\n  - id: s\n    latex: ['{latex}', 'A']\n")
    with pytest.raises(InputError) as info:
        load_text(text)
    assert message in info.value.message


# -- \log_b with any base, \div, spacing commands (outside benchmark: SymPy's tests) ----
MORE_READINGS = {
    "log base 3": ("\\log_3 x", "log(x) / log(3)"),
    "log base a": ("\\log_{a} x", "log(x) / log(a)"),
    "log base a squared": ("\\log_{a^2} x", "log(x) / log(a ** 2)"),
    "div": ("a \\div x", "a / x"),
    "thinspace": ("a \\thinspace x", "a * x"),
    "log of a product in parentheses": ("\\ln(a x)", "log(a * x)"),
    "product after the log": ("x \\ln a", "x * log(a)"),
}


@pytest.mark.parametrize("name", MORE_READINGS)
def test_more_readings(name: str) -> None:
    from derivcheck.load import load_text

    latex, want = MORE_READINGS[name]
    text = ("title: t\nsymbols: {a: posscalar, x: posscalar}\n"
            f"steps:\n  - id: s\n    latex: ['{latex}', '{latex}']\n")
    assert load_text(text).steps[0].exprs[0].text == want


AXIS_OF_ONE = {
    "softmax of a row": ("\\operatorname{softmax}(q^\\top K)", True),
    "softmax of a column": ("\\operatorname{softmax}(K^\\top q)", False),
    "logsumexp of a row": ("\\operatorname{lse}(q^\\top K)", True),
}


@pytest.mark.parametrize("name", AXIS_OF_ONE)
def test_softmax_over_an_axis_of_length_one_is_said(name: str) -> None:
    from derivcheck.load import load_text

    latex, warned = AXIS_OF_ONE[name]
    text = ("title: t\nsymbols: {q: vector D, K: matrix D N}\n"
            f"steps:\n  - id: s\n    latex: ['{latex}', '{latex}']\n")
    notes = load_text(text).steps[0].exprs[0].reading
    assert any("over one entry" in n for n in notes) == warned


# -- fixed LaTeX forms of a definition: D_{\mathrm{KL}}(p \| q) (issue 13) -------------
KL_DOC = ("title: t\nsymbols: {p: prob K, q: prob K}\n"
          "define:\n  KL: {expr: 'Sum(k, p[k] * log(p[k] / q[k]))', "
          "latex: 'D_{\\mathrm{KL}}(p \\| q)'}\n")

FORM_CASES = {
    "the form itself": ("D_{\\mathrm{KL}}(p \\| q)", "KL"),
    "spaced otherwise": ("D_{ \\mathrm{KL} } ( p \\| q )", "KL"),
    "in a derivative": ("\\frac{\\partial D_{\\mathrm{KL}}(p \\| q)}{\\partial q}", "d(KL)/d(q)"),
    "times a number": ("2 D_{\\mathrm{KL}}(p \\| q)", "2 * KL"),
}


@pytest.mark.parametrize("name", FORM_CASES)
def test_a_definition_written_as_a_fixed_form(name: str) -> None:
    from derivcheck.load import load_text

    latex, want = FORM_CASES[name]
    step = load_text(KL_DOC + f"steps:\n  - id: s\n    latex: ['{latex}', '{latex}']\n").steps[0]
    assert step.exprs[0].text == want


def test_a_form_is_matched_exactly_never_widened() -> None:
    from derivcheck.errors import InputError
    from derivcheck.load import load_text

    with pytest.raises(InputError):  # q and p swapped is another quantity: not KL
        load_text(KL_DOC + "steps:\n  - id: s\n    latex: ['D_{\\mathrm{KL}}(q \\| p)', '0']\n")


def test_an_unbalanced_form_is_refused() -> None:
    from derivcheck.errors import InputError
    from derivcheck.load import load_text

    with pytest.raises(InputError) as info:
        load_text("title: t\nsymbols: {p: prob K}\ndefine:\n  H: {expr: '-sum(p * log(p))', "
                  "latex: 'H(p'}\nsteps: [{id: s, claim: H = H}]\n")
    assert "fixed form" in info.value.hint or "fixed form" in info.value.message
