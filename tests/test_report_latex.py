"""The LaTeX/PDF report: escaping, the IR -> LaTeX printer, the document, the compile, the CLI.

The compile tests need latexmk or pdflatex, and poppler-utils (pdftotext,
pdftoppm); they are skipped, with the reason, where those are missing (CI
installs them in ``.ci/run``).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest

from derivcheck.cli import main
from derivcheck.engine.core import Engine
from derivcheck.ir import E
from derivcheck.load import load_text
from derivcheck.model import Derivation
from derivcheck.parse.expr import Scope, parse_expression
from derivcheck.report import pdf as pdf_module
from derivcheck.report.latex import (
    _UNICODE,
    MACRO,
    PREAMBLE,
    WORD,
    _shape_oracle,
    code_tex,
    escape_tex,
    render,
    value_tex,
)
from derivcheck.report.pdf import TexFailed, TexNotInstalled, compile_pdf, tex_available
from derivcheck.report.tex_printer import TexPrinter, safe_latex_name, tex_name, to_latex
from derivcheck.results import FileResult, Report, Verdict
from derivcheck.verify import verify_derivation, verify_paths
from tests.conftest import DERIVATIONS, FAST, derivation_yaml

NEEDS_TEX = pytest.mark.skipif(
    tex_available() is None or not shutil.which("pdftotext") or not shutil.which("pdftoppm"),
    reason="needs latexmk or pdflatex, and poppler-utils (pdftotext, pdftoppm): "
           "apt-get install texlive-latex-base texlive-latex-recommended latexmk poppler-utils")

HOSTILE = [
    pytest.param(r"\input{/etc/passwd}", id="input"),
    pytest.param(r"\write18{touch x}", id="write18"),
    pytest.param(r"\immediate\write18{rm -rf /}", id="immediate-write18"),
    pytest.param(r"}\end{document}", id="end-document"),
    pytest.param(r"\end{document}", id="end-document-bare"),
    pytest.param("100% sure & done # 1", id="percent-ampersand-hash"),
    pytest.param("a_b^c ~ $x$ {y}", id="scripts-tilde-dollars-braces"),
    pytest.param(r"\\ \par \def\x{\x}\x", id="backslashes-and-a-loop"),
    pytest.param(r"\catcode`\@=0 @input{/etc/passwd}", id="catcode"),
    pytest.param("^^5cinput{/etc/passwd}", id="double-caret-notation"),
    pytest.param("line one\n\nline two\r\n\tend", id="paragraph-break"),
    pytest.param("nul\x00 esc\x1b bell\x07", id="control-characters"),
    pytest.param("≤ α é ∃ — “quoted”", id="unicode"),
    pytest.param("\"quoted\" and <angle> | bar", id="quotes-angles-bar"),
]

# What escape_tex may emit: escapes of the specials, the Unicode table, accents.
_ALLOWED = re.compile("|".join(
    [re.escape(v) for v in sorted(
        [r"\textbackslash{}", r"\{", r"\}", r"{\upshape\$}", r"\&", r"\#", r"\%", r"\_",
         r"\textasciicircum{}", r"\textasciitilde{}", r"\textless{}", r"\textgreater{}",
         r"\textbar{}", *_UNICODE.values()], key=len, reverse=True)]
    + [r"\\[`'^\"~=cruv]\{\\?[A-Za-z]\}"]))


def inert(tex: str) -> bool:
    """No command, group, math shift, alignment, comment or parameter left in ``tex``."""
    rest = _ALLOWED.sub("", tex)
    return not any(ch in rest for ch in "\\{}$&#%^_~\n\r\x00")


# -- escaping ---------------------------------------------------------------------------

@pytest.mark.parametrize("text", HOSTILE)
def test_escape_tex_leaves_nothing_active(text: str) -> None:
    out = escape_tex(text)
    assert inert(out), out
    assert "\n" not in out  # no paragraph break inside a table cell or a heading


@pytest.mark.parametrize("text", HOSTILE)
def test_code_tex_leaves_nothing_active(text: str) -> None:
    out = code_tex(text, breakable=True)
    assert out.startswith(r"\texttt{") and out.endswith("}")
    body = re.sub(r"\{\\char\d+\}|\\allowbreak\{\}", "", out[len(r"\texttt{"):-1])
    assert inert(body), body


@pytest.mark.parametrize(("text", "expected"), [
    pytest.param("100%", r"100\%", id="percent"),
    pytest.param("a_b", r"a\_b", id="underscore"),
    pytest.param("x & y", r"x \& y", id="ampersand"),
    pytest.param("#1", r"\#1", id="hash"),
    pytest.param("\\", r"\textbackslash{}", id="backslash"),
    pytest.param("{}", r"\{\}", id="braces"),
    pytest.param("~^", r"\textasciitilde{}\textasciicircum{}", id="tilde-caret"),
    pytest.param("$5", r"{\upshape\$}5", id="dollar"),
    pytest.param('say "hi"', "say ``hi''", id="quotes"),
    pytest.param("a  \n b", "a b", id="white-space"),
    pytest.param("café", r"caf\'{e}", id="accent"),
    pytest.param("x ≤ y", r"x $\le$ y", id="math-symbol"),
    pytest.param("∃", "[U+2203]", id="unknown-character"),
])
def test_escape_tex_examples(text: str, expected: str) -> None:
    assert escape_tex(text) == expected


def test_code_tex_keeps_underscores_real() -> None:
    # \char95 is cmtt's underscore glyph: pdftotext and copy-paste give "_"
    assert code_tex("dL_dW1") == r"\texttt{dL{\char95}dW1}"


@pytest.mark.parametrize(("latex", "safe"), [
    pytest.param("W^{(1)}", True, id="layer-superscript"),
    pytest.param(r"\hat{y}", True, id="hat"),
    pytest.param(r"\mathbf{W}_2", True, id="bold"),
    pytest.param(r"\lambda_{1}", True, id="greek"),
    pytest.param(r"\input{/etc/passwd}", False, id="input"),
    pytest.param(r"W}\end{document}", False, id="unbalanced"),
    pytest.param(r"\write18", False, id="write18"),
    pytest.param("a$b", False, id="dollar"),
    pytest.param("W_2_3", False, id="double-subscript"),
    pytest.param("W_", False, id="dangling-subscript"),
    pytest.param(r"\hat", False, id="accent-without-argument"),
    pytest.param("x" * 61, False, id="too-long"),
])
def test_declared_latex_names_are_whitelisted(latex: str, safe: bool) -> None:
    assert safe_latex_name(latex) is safe


# -- the printer ---------------------------------------------------------------------------

SYMBOLS = {"W2": "matrix K H", "a2": "vector K", "x": "vector H", "y": "vector K",
           "z": "vector K", "A": "matrix K K", "gamma": "scalar", "lam": "posscalar",
           "tau": "scalar", "yhat": "vector K", "xbar": "vector H", "i": "index K",
           "j": "index K", "k": "index K", "t": "index K"}
DEFINE = {"s": "softmax(z)", "L": "-sum(y * log(s))"}


@pytest.fixture(scope="module")
def printer_model() -> tuple[Derivation, Scope, TexPrinter]:
    text = derivation_yaml(symbols=SYMBOLS, define=DEFINE, steps=[{"id": "s0", "claim": "z = z"}])
    derivation = load_text(text, path="printer.yaml")
    scope = Scope(derivation.symbols, frozenset(DEFINE), frozenset(derivation.dims))
    return derivation, scope, TexPrinter(_shape_oracle(Engine(derivation), "gradient"))


@pytest.mark.parametrize(("expr", "latex"), [
    pytest.param("W2.T", r"W_{2}^{\top}", id="transpose-and-subscript"),
    pytest.param("a2", "a_{2}", id="trailing-digits"),
    pytest.param("gamma * a2", r"\gamma a_{2}", id="greek-gamma-scalar-product"),
    pytest.param("lam", r"\lambda", id="greek-lam"),
    pytest.param("tau", r"\tau", id="greek-tau"),
    pytest.param("yhat", r"\hat{y}", id="hat"),
    pytest.param("xbar", r"\bar{x}", id="bar"),
    pytest.param("W2.T @ a2", r"W_{2}^{\top} a_{2}", id="matmul"),
    pytest.param("a2 @ x.T", r"a_{2} x^{\top}", id="outer-product"),
    pytest.param("a2 * y", r"a_{2} \odot y", id="elementwise"),
    pytest.param("z * 2", r"z \cdot 2", id="number-after"),
    pytest.param("a2 / y", r"\frac{a_{2}}{y}", id="division"),
    pytest.param("1 / K * z", r"\frac{1}{K} z", id="dimension-as-number"),
    pytest.param("0.5 * z", "0.5 z", id="decimal"),
    pytest.param("1/3 * z", r"\frac{1}{3} z", id="fraction"),
    pytest.param("d(L)/d(z)", r"\frac{\partial L}{\partial z}", id="derivative"),
    pytest.param("d(L)/d(z[i])", r"\frac{\partial L}{\partial z_{i}}", id="derivative-element"),
    pytest.param("d(s[i])/d(z[j])", r"\frac{\partial s_{i}}{\partial z_{j}}",
                 id="derivative-of-element"),
    pytest.param("d(d(L)/d(z))/d(z)", r"\frac{\partial^{2} L}{\partial z \, \partial z}",
                 id="hessian"),
    pytest.param("d(sum(exp(z)))/d(z)",
                 r"\frac{\partial ({\textstyle\sum}(\exp(z)))}{\partial z}",
                 id="derivative-of-expression"),
    pytest.param("Sum(k, y[k] * z[k])", r"\sum_{k} y_{k} z_{k}", id="index-sum"),
    pytest.param("Sum(k, y[k]) * z[i]", r"\left(\sum_{k} y_{k}\right) z_{i}",
                 id="index-sum-cannot-swallow-a-factor"),
    pytest.param("delta(i, j)", r"\delta_{ij}", id="delta"),
    pytest.param("relu_prime(z)", r"\operatorname{ReLU}'(z)", id="relu-prime"),
    pytest.param("relu(z)", r"\operatorname{ReLU}(z)", id="relu"),
    pytest.param("softmax(z)", r"\operatorname{softmax}(z)", id="softmax"),
    pytest.param("logsumexp(z)", r"\operatorname{logsumexp}(z)", id="logsumexp"),
    pytest.param("diag(z)", r"\operatorname{diag}(z)", id="diag"),
    pytest.param("tr(A)", r"\operatorname{tr}(A)", id="trace"),
    pytest.param("det(A)", r"\det(A)", id="det"),
    pytest.param("inv(A)", "A^{-1}", id="inverse"),
    pytest.param("inv(A).T", r"(A^{-1})^{\top}", id="inverse-transposed"),
    pytest.param("exp(z)", r"\exp(z)", id="exp"),
    pytest.param("log(z)", r"\log(z)", id="log"),
    pytest.param("log2(z)", r"\log_{2}(z)", id="log2"),
    pytest.param("log10(z)", r"\log_{10}(z)", id="log10"),
    pytest.param("sigmoid(z)", r"\sigma(z)", id="sigmoid"),
    pytest.param("tanh(z)", r"\tanh(z)", id="tanh"),
    pytest.param("sqrt(z)", r"\sqrt{z}", id="sqrt"),
    pytest.param("abs(z)", "|z|", id="abs"),
    pytest.param("z[i]", "z_{i}", id="element"),
    pytest.param("a2[i]", "a_{2,i}", id="element-of-subscripted"),
    pytest.param("A[i, j]", "A_{ij}", id="matrix-element"),
    pytest.param("A[0, 1]", "A_{0,1}", id="matrix-element-literal"),
    pytest.param("(W2 @ x)[i]", "(W_{2} x)_{i}", id="element-of-expression"),
    pytest.param("sum(z)", r"{\textstyle\sum}(z)", id="sum"),
    pytest.param("sum(A, 0)", r"\mathbf{1}^{\top} A", id="sum-axis-0"),
    pytest.param("sum(A, 1)", r"A \mathbf{1}", id="sum-axis-1"),
    pytest.param("mean(z)", r"\operatorname{mean}(z)", id="mean"),
    pytest.param("onehot(t, K)", "e_{t}", id="onehot"),
    pytest.param("eye(K)", "I_{K}", id="eye"),
    pytest.param("z ** 2", "z^{2}", id="power"),
    pytest.param("(a2 - y) ** 2", "(a_{2} - y)^{2}", id="power-of-sum"),
    pytest.param("-(a2 - y)", "-(a_{2} - y)", id="negation"),
    pytest.param("a2 - (y - z)", "a_{2} - (y - z)", id="subtraction-grouping"),
    pytest.param("a2 + -y", "a_{2} + (-y)", id="plus-minus"),
    pytest.param("(a2 * y).T", r"(a_{2} \odot y)^{\top}", id="transposed-product"),
])
def test_printer(printer_model, expr: str, latex: str) -> None:
    _, scope, printer = printer_model
    assert printer.math(parse_expression(expr, scope)) == latex


def test_printer_without_shapes_uses_cdot_for_unknown_products(printer_model) -> None:
    _, scope, _ = printer_model
    assert to_latex(parse_expression("a2 * y", scope)) == r"a_{2} \cdot y"
    assert to_latex(parse_expression("a2[i] * y[i]", scope)) == "a_{2,i} y_{i}"


def test_printer_ones() -> None:
    assert to_latex(E("ones", val=("K", 1))) == r"\mathbf{1}"


def test_printer_uses_safe_declared_names_only(printer_model) -> None:
    _, scope, _ = printer_model
    node = parse_expression("W2.T @ x + a2[i]", scope)
    declared = TexPrinter(names={"W2": "W^{(2)}", "a2": r"\input{/etc/passwd}"}).math(node)
    assert declared.startswith(r"{W^{(2)}}^{\top} x")
    assert r"\input" not in declared and "a_{2,i}" in declared
    element = parse_expression("W2[i, k] + x[k]", scope)
    assert TexPrinter(names={"W2": "W^{(2)}", "x": "x_0"}).math(element) == \
        "W^{(2)}_{ik} + {x_0}_{k}"


@pytest.mark.parametrize(("name", "expected"), [
    pytest.param("W2", ("W", "2"), id="digits"),
    pytest.param("W_out", ("W", r"\mathrm{out}"), id="underscore-word"),
    pytest.param("aL", ("a", "L"), id="two-letters"),
    pytest.param("lse", (r"\mathrm{lse}", ""), id="word"),
    pytest.param("lambda", (r"\lambda", ""), id="greek"),
    pytest.param("yhat2", (r"\hat{y}", "2"), id="accent-and-digits"),
])
def test_tex_name(name: str, expected: tuple[str, str]) -> None:
    assert tex_name(name) == expected


def test_long_sums_break_into_terms(printer_model) -> None:
    _, scope, printer = printer_model
    node = parse_expression("a2 - y + z * gamma - x[0] * y", scope)
    assert [sign for sign, _, _ in printer.terms(node)] == ["", "-", "+", "-"]


@pytest.mark.parametrize(("value", "latex"), [
    pytest.param(3, "3", id="integer"),
    pytest.param(-2, "-2", id="negative"),
    pytest.param("-3/4", r"-\tfrac{3}{4}", id="fraction"),
    pytest.param(0.00247262, "0.002473", id="float"),
    pytest.param(4704488042902904832, r"4.704 \times 10^{18}", id="huge-integer"),
    pytest.param("nan", r"\mathrm{NaN}", id="nan"),
    pytest.param([[1], [2]], r"\left(\begin{smallmatrix}1 & 2\end{smallmatrix}\right)^{\top}",
                 id="column"),
    pytest.param([[1, 2], [3, 4]],
                 r"\left(\begin{smallmatrix}1 & 2 \\ 3 & 4\end{smallmatrix}\right)",
                 id="matrix"),
    pytest.param("}\\end{document}", r"\mbox{\texttt{", id="not-a-number"),
])
def test_counterexample_values(value: object, latex: str) -> None:
    assert value_tex(value).startswith(latex)


# -- the document ---------------------------------------------------------------------------

SOFTMAX = {"z": "vector K", "t": "onehot K", "i": "index K"}
SOFTMAX_DEFS = {"a": "softmax(z)", "L": "-sum(t * log(a))"}
NOTE = r"see }\end{document} and \input{/etc/passwd}; 100% & _#~^$"
STEPS = [
    {"id": "grad_ok", "claim": "d(L)/d(z) = a - t", "note": NOTE},
    {"id": "sign_flip", "claim": "d(L)/d(z) = t - a"},
    {"id": "bad_shape", "claim": "d(L)/d(z) = (a - t).T"},
    {"id": "chain_of_three", "chain": ["d(L)/d(z[i])", "t[i] - a[i]", "-(a[i] - t[i])"]},
]
EXPECTED = {"grad_ok": Verdict.CHECKED, "sign_flip": Verdict.REFUTED,
            "bad_shape": Verdict.ILL_FORMED, "chain_of_three": Verdict.REFUTED}


@pytest.fixture(scope="module")
def small_report() -> tuple[Report, Derivation]:
    text = derivation_yaml(symbols=SOFTMAX, define=SOFTMAX_DEFS, steps=STEPS,
                           title=r"Softmax }\end{document} \write18{touch x}",
                           source="notes_%_#.txt")
    derivation = load_text(text, path="small.yaml")
    steps = verify_derivation(derivation, FAST)
    report = Report((FileResult("small.yaml", derivation.title, derivation.source, steps),),
                    seed=0)
    return report, derivation


@pytest.fixture(scope="module")
def small_tex(small_report) -> str:
    report, derivation = small_report
    return render(report, derivations={"small.yaml": derivation})


def test_the_small_derivation_has_the_expected_verdicts(small_report) -> None:
    report, _ = small_report
    assert {s.id: s.verdict for s in report.files[0].steps} == EXPECTED


def test_document_is_one_complete_document(small_tex: str) -> None:
    assert small_tex.startswith(r"\documentclass")
    assert small_tex.count(r"\begin{document}") == 1
    assert small_tex.count(r"\end{document}") == 1
    assert small_tex.rstrip().endswith(r"\end{document}")


@pytest.mark.parametrize("step_id", list(EXPECTED))
def test_document_has_every_step_with_its_verdict(small_tex: str, step_id: str) -> None:
    verdict = EXPECTED[step_id]
    word = f"\\dcword{{{MACRO[verdict]}}}{{{WORD[verdict]}}}"
    rows = [line for line in small_tex.splitlines() if code_tex(step_id) in line]
    assert any(word in row for row in rows), rows  # the verdict table's row
    assert sum(r"\dcstep{" in row for row in rows) == 1  # the step's own heading


def test_input_text_is_escaped_in_the_document(small_tex: str) -> None:
    body = small_tex.split(r"\begin{document}", 1)[1]
    assert r"\input{/etc/passwd}" not in body
    assert r"\write18" not in body
    assert body.count(r"\end{document}") == 1
    assert escape_tex(NOTE) in body


def test_refuted_step_shows_diagnosis_engine_result_and_counterexample(small_tex: str) -> None:
    block = small_tex.split(code_tex("sign_flip"))[-1].split(r"\dcstep")[0]
    assert "(sign-error)" in block
    assert r"\dclabel{engine's result}" in block
    assert r"\frac{\partial L}{\partial z} = &\dcfit{\dimexpr\linewidth-8em\relax}{a - t}" \
        in block
    assert r"\dclabel{counterexample}" in block and "left side" in block


def test_a_long_engine_result_is_broken_over_lines_not_shrunk() -> None:
    from derivcheck.report.latex import _Context, _reference
    from derivcheck.results import LinkResult

    d = load_text("title: t\nsymbols: {a: scalar, b: scalar, c: scalar}\nsteps:\n"
                  "  - {id: s, claim: 'a = b'}\n", "t.yaml")
    ctx = _Context.of(d)
    long = " + ".join(f"{v} * {w} * (a - b) ** 3" for v in "abc" for w in "abc")
    link = LinkResult(index=0, lhs="a", rhs="b", verdict=Verdict.REFUTED, reference=long)
    rows = "\n".join(_reference(link, [None, None], ctx.printer("gradient"), ctx))
    assert rows.count(r"\dcfit") >= 2  # several lines, each fitted on its own


def test_chain_has_a_mark_per_link(small_tex: str) -> None:
    block = small_tex.split(code_tex("chain_of_three"))[-1].split(r"\dcstep")[0]
    equations = block.split(r"\begin{align*}")[1].split(r"\end{align*}")[0]
    assert equations.count(r"\tag*{") == 2
    assert r"\dcmarkrefuted" in equations and r"\dcmarkchecked" in equations
    assert "(follows-from-error)" in block


def test_a_step_read_from_latex_shows_it_as_written_and_as_read(small_report) -> None:
    report, derivation = small_report
    step = report.files[0].steps[0]
    link = replace(step.links[0], lhs_latex=r"\frac{\partial L}{\partial z}",
                   rhs_latex="a - t", reading=("z_{2i} read as the element z2[i]",))
    one = replace(report.files[0], steps=(replace(step, links=(link,)),))
    tex = render(Report((one,), seed=0), derivations={"small.yaml": derivation})
    assert r"\dclabel{as written}" in tex and r"\dclabel{read as}" in tex
    assert code_tex(r"\frac{\partial L}{\partial z} = a - t", breakable=True) in tex
    assert r"\dclabel{ambiguous}" in tex and r"z\_\{2i\} read as" in tex


@pytest.mark.parametrize("verdict", list(Verdict))
def test_every_verdict_has_its_own_mark_and_color(verdict: Verdict) -> None:
    name = MACRO[verdict]
    assert f"\\newcommand{{\\dcmark{name}}}{{\\textcolor{{dc{name}}}" in PREAMBLE
    assert f"\\definecolor{{dc{name}}}" in PREAMBLE
    marks = {line.split("}{", 1)[1] for line in PREAMBLE.splitlines()
             if line.startswith(r"\newcommand{\dcmark")}
    assert len(marks) == len(Verdict)  # visibly different


def test_an_input_error_is_shown_in_the_document() -> None:
    error = "bad.yaml:3:7: unknown symbol 'W3'\n  z: W3 @ x\n     ^"
    tex = render(Report((FileResult("bad.yaml", error=error),), seed=0))
    assert "Input error" in tex
    for line in error.splitlines():  # spaces kept: the caret stays under the column
        assert code_tex(line, keep_spaces=True) in tex


# -- compiling --------------------------------------------------------------------------------

def test_no_tex_installed_is_a_typed_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pdf_module.shutil, "which", lambda name: None)
    with pytest.raises(TexNotInstalled, match="no TeX installation found"):
        compile_pdf(r"\documentclass{article}\begin{document}x\end{document}")


@NEEDS_TEX
def test_compile_error_names_the_error_from_the_log() -> None:
    doc = r"\documentclass{article}\begin{document}\undefinedthing\end{document}"
    with pytest.raises(TexFailed) as info:
        compile_pdf(doc, time_limit=60)
    assert "LaTeX failed" in info.value.message
    assert "Undefined control sequence" in str(info.value)


@NEEDS_TEX
def test_compile_is_stopped_at_the_time_limit() -> None:
    doc = r"\documentclass{article}\begin{document}\def\x{\x}\x\end{document}"
    with pytest.raises(TexFailed, match="did not finish within 2 s"):
        compile_pdf(doc, time_limit=2)


@NEEDS_TEX
def test_compile_has_no_shell_escape_and_no_reads_outside(tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    secret = tmp_path / "secret.tex"
    secret.write_text("SECRET", encoding="utf-8")
    doc = (r"\documentclass{article}\begin{document}"
           rf"\immediate\write18{{touch {tmp_path / 'pwned'}}}"
           rf"\IfFileExists{{{secret}}}{{\typeout{{found}}READABLE}}{{}}ok\end{{document}}")
    pdf = compile_pdf(doc, time_limit=60)
    text = pdftotext(pdf, tmp_path)
    assert not (tmp_path / "pwned").exists()
    assert "READABLE" not in text and "ok" in text


def pdftotext(pdf: bytes, folder: Path) -> str:
    path = folder / "out.pdf"
    path.write_bytes(pdf)
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True,
                          text=True, check=True, timeout=60).stdout


@NEEDS_TEX
def test_report_of_every_derivation_compiles_and_reads_back(tmp_path: Path) -> None:
    report = verify_paths([DERIVATIONS], FAST)
    assert len(report.files) >= 9 and not any(f.error for f in report.files)
    pdf = compile_pdf(render(report))
    text = pdftotext(pdf, tmp_path)
    lines = text.splitlines()
    missing = []
    for f in report.files:
        for s in f.steps:
            pattern = re.compile(rf"(^|\s){re.escape(s.id)}(\s|$).*\b{WORD[s.verdict]}\b")
            if not any(pattern.search(line) for line in lines):
                missing.append(f"{f.path}: {s.id} {WORD[s.verdict]}")
    assert not missing
    fonts = subprocess.run(["pdffonts", str(tmp_path / "out.pdf")], capture_output=True,
                           text=True, timeout=60).stdout if shutil.which("pdffonts") else ""
    assert "Type 3" not in fonts  # no bitmap fallback fonts
    subprocess.run(["pdftoppm", "-png", "-r", "60", "-f", "1", "-l", "1",
                    str(tmp_path / "out.pdf"), str(tmp_path / "page")], check=True, timeout=60)
    pages = list(tmp_path.glob("page*.png"))
    assert len(pages) == 1
    assert pages[0].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


# -- the command line --------------------------------------------------------------------------

def write_small(folder: Path) -> Path:
    path = folder / "small.yaml"
    path.write_text(derivation_yaml(symbols=SOFTMAX, define=SOFTMAX_DEFS, steps=STEPS,
                                    title=r"Title }\end{document} \input{/etc/passwd}"),
                    encoding="utf-8")
    return path


def test_cli_report_writes_the_tex_whatever_the_verdicts(tmp_path: Path, capsys) -> None:
    source = write_small(tmp_path)
    out = tmp_path / "r.tex"
    assert main(["report", str(source), "-o", str(out), "--no-symbolic"]) == 0
    tex = out.read_text(encoding="utf-8")
    assert all(code_tex(step_id) in tex for step_id in EXPECTED)
    assert not (tmp_path / "r.pdf").exists()
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize(("argv", "message"), [
    pytest.param(["report", "{missing}"], "no such file", id="missing-input"),
    pytest.param(["report", "{source}", "-o", "{tmp}/no/such/r.tex"], "no such folder",
                 id="missing-output-folder"),
    pytest.param(["report", "{source}", "--workers", "0"], "--workers", id="bad-workers"),
])
def test_cli_report_problems_exit_2_with_one_line(tmp_path: Path, capsys, argv: list[str],
                                                  message: str) -> None:
    source = write_small(tmp_path)
    args = [a.format(missing=tmp_path / "nope.yaml", source=source, tmp=tmp_path) for a in argv]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1


def test_cli_report_without_tex_says_so(tmp_path: Path, capsys,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pdf_module.shutil, "which", lambda name: None)
    source = write_small(tmp_path)
    assert main(["report", str(source), "-o", str(tmp_path / "r.pdf"), "--no-symbolic"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("derivcheck: no PDF written: no TeX installation found")
    assert len(err.strip().splitlines()) == 1
    assert not list(tmp_path.glob("r.*"))


def test_cli_report_with_an_unreadable_file_exits_2(tmp_path: Path, capsys) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("title: t\n", encoding="utf-8")
    out = tmp_path / "r.tex"
    assert main(["report", str(write_small(tmp_path)), str(bad), "-o", str(out),
                 "--no-symbolic"]) == 2
    assert "bad.yaml" in capsys.readouterr().err
    assert "Input error" in out.read_text(encoding="utf-8")  # the report is still written


@NEEDS_TEX
def test_cli_report_pdf_prints_hostile_text_as_written(tmp_path: Path, capsys,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    write_small(tmp_path)
    assert main(["report", "small.yaml", "-o", "r.tex", "--pdf", "--no-symbolic"]) == 0
    text = subprocess.run(["pdftotext", "r.pdf", "-"], capture_output=True, text=True,
                          check=True, timeout=60).stdout
    assert r"\input{/etc/passwd}" in text and r"}\end{document}" in text
    assert r"\end{document} and \input{/etc/passwd}; 100% &" in " ".join(text.split())
    assert not (tmp_path / "x").exists()


def test_power_of_an_element_with_a_layer_superscript(printer_model) -> None:
    # a^{(1)}_{j} squared was printed a^{(1)}_{j}^{2}: a double superscript, TeX stops
    _, scope, _ = printer_model
    node = parse_expression("W2[i, k] ** 2", scope)
    text = TexPrinter(names={"W2": "W^{(2)}"}).math(node)
    assert text == "{W^{(2)}_{ik}}^{2}"


@NEEDS_TEX
def test_proofs_naming_internal_indices_compile(tmp_path: Path) -> None:
    # a proof's canonical form names its summation indices _K_1, _K_2, typeset as math
    # from the file: in \texttt each character was \char<code>, and "\char95" then "1"
    # read as the code 951 (no PDF at all for a proved sum)
    path = tmp_path / "sums.yaml"
    path.write_text("title: sums\nsymbols: {y: vector K, i: index K}\nsteps:\n"
                    "  - {id: rename, latex: '\\sum_j y_j = \\sum_k y_k'}\n"
                    "  - {id: but-one, latex: '\\sum_{j \\neq i} y_j = \\sum_k y_k - y_i'}\n")
    out = tmp_path / "sums.pdf"
    assert main(["report", str(path), "-o", str(out), "--latex"]) == 0
    text = pdftotext(out.read_bytes(), tmp_path)
    assert "but-one" in text and "rewrite to" in text
