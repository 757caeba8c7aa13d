"""Documents as derivations (issue 15): scanning, cutting equations, conditions,
entry-wise definitions, positions, and verdicts of whole Markdown/LaTeX notes.

Tables of named cases; every verdict here is worked out by hand (noted per case).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from derivcheck.errors import InputError
from derivcheck.load import load_text
from derivcheck.notes import load_notes
from derivcheck.notes.build import read_document
from derivcheck.notes.cli import extracted_yaml
from derivcheck.notes.document import scan
from derivcheck.notes.equations import Equation, Unread, split_items
from derivcheck.report.annotate import annotate
from derivcheck.results import Verdict
from derivcheck.verify import verify_derivation, verify_paths
from tests.conftest import FAST, ROOT

MLP_BLOCK = """```derivcheck
symbols:
  x: vector D
  W: matrix K D
  y: onehot K
```
"""

# -- finding display math ------------------------------------------------------------
SCAN_CASES = {
    "dollars": ("a $$x = y$$ b", ["$$"]),
    "brackets": ("\\[ x = y \\]", ["\\["]),
    "align star": ("\\begin{align*} x &= y \\end{align*}", ["align*"]),
    "equation": ("\\begin{equation} x = y \\end{equation}", ["equation"]),
    "two blocks": ("$$a = b$$\n\n$$c = d$$", ["$$", "$$"]),
    "fenced code skipped": ("```\n$$x = y$$\n```\n$$a = b$$", ["$$"]),
    "inline math is prose": ("where $x = y$ holds", []),
    "escaped bracket": ("a \\\\[2pt] b", []),
}


@pytest.mark.parametrize("name", SCAN_CASES)
def test_scan_finds_display_math(name: str) -> None:
    text, fences = SCAN_CASES[name]
    doc = scan(text, "t.md", "markdown")
    assert [b.fence for b in doc.blocks] == fences


def test_scan_reports_an_unclosed_block() -> None:
    doc = scan("ok $$a = b$$ then $$c = d", "t.md", "markdown")
    assert len(doc.blocks) == 1 and doc.unclosed and doc.unclosed[0][1] == "$$"


DECLARATION_CASES = {
    "fence": (MLP_BLOCK + "$$x = x$$", "fenced", "x: vector D"),
    "front matter": ("---\ntitle: t\nderivcheck:\n  symbols:\n    x: vector D\n---\n$$x=x$$",
                     "front-matter", "symbols:"),
    "tex comments": ("% derivcheck\n% symbols:\n%   x: vector D\n% end derivcheck\n", "comment",
                     "x: vector D"),
}


@pytest.mark.parametrize("name", DECLARATION_CASES)
def test_declarations_block_is_found(name: str) -> None:
    text, style, inside = DECLARATION_CASES[name]
    kind = "latex" if style == "comment" else "markdown"
    doc = scan(text, "t", kind)
    assert doc.declarations is not None and doc.declarations.style == style
    assert inside in doc.declarations.text


# -- cutting equations -----------------------------------------------------------------
def _items(text: str) -> list[Equation | Unread]:
    return list(split_items(scan(text, "t.md", "markdown").blocks))


def _pieces(item: Equation | Unread) -> list[str]:
    assert isinstance(item, Equation), item
    return [p.text for p in item.pieces]


SPLIT_CASES = {
    "chain": ("$$a = b = c$$", [["a", "b", "c"]]),
    "align continuation": ("\\begin{align} a &= b \\\\ &= c \\end{align}", [["a", "b", "c"]]),
    "aligned rows": ("$$\\begin{aligned} a &= b \\\\ c &= d \\end{aligned}$$",
                     [["a", "b"], ["c", "d"]]),
    "block continues the chain": ("$$a = b$$\ntext\n$$= c$$", [["a", "b", "c"]]),
    "tag and label dropped": ("$$a = b \\tag{3} \\label{x}$$", [["a", "b"]]),
    "number after quad": ("$$a = b \\quad (1)$$", [["a", "b"]]),
    "number before quad": ("$$(1) \\quad a = b$$", [["a", "b"]]),
    "trailing period": ("$$a = b.$$", [["a", "b"]]),
    "two equations, comma": ("$$a = b, \\quad c = d$$", [["a", "b"], ["c", "d"]]),
    "two equations, qquad": ("$$a = b \\qquad c = d$$", [["a", "b"], ["c", "d"]]),
    "comma inside a function": ("$$f(a, b) = c$$", [["f(a, b)", "c"]]),
    "iff between equations": ("$$a = b \\iff c = d$$", [["a", "b"], ["c", "d"]]),
    "iff between forms": ("$$a \\Leftrightarrow b$$", [["a", "b"]]),
    "conclusion arrow dropped": ("$$\\Rightarrow a = b$$", [["a", "b"]]),
    "spacing dropped": ("$$a \\, = \\; b$$", [["a", "b"]]),
    "colon equals": ("$$a := b$$", [["a", "b"]]),
    "coloneqq": ("$$a \\coloneqq b$$", [["a", "b"]]),
    "def over equals": ("$$a \\stackrel{\\text{def}}{=} b$$", [["a", "b"]]),
}


@pytest.mark.parametrize("name", SPLIT_CASES)
def test_equations_are_cut_as_written(name: str) -> None:
    text, expected = SPLIT_CASES[name]
    items = _items(text)
    assert [_pieces(i) for i in items] == expected


UNREAD_CASES = {
    "inequality": ("$$a \\geq b$$", "not an equation"),
    "list of expressions": ("$$a, b, c$$", "not an equation"),
    "formula alone": ("$$a + b$$", "no '='"),
    "empty side": ("$$a = $$", "empty side"),
    "continuation of nothing": ("$$= b$$", "no equation before it"),
    "case without condition": ("$$a = \\begin{cases} 1 \\\\ 0 \\end{cases}$$", "no condition"),
    "one case": ("$$a = \\begin{cases} 1 & x > 0 \\end{cases}$$", "at least two cases"),
    "condition not read": ("$$a = \\begin{cases} 1 & x \\in S \\\\ 0 & \\text{else} "
                           "\\end{cases}$$", "is not read"),
}


@pytest.mark.parametrize("name", UNREAD_CASES)
def test_what_is_not_an_equation_is_listed_with_the_reason(name: str) -> None:
    text, reason = UNREAD_CASES[name]
    items = _items(text)
    assert len(items) == 1 and isinstance(items[0], Unread)
    assert reason in items[0].reason


def test_cases_become_indicators_and_keep_their_positions() -> None:
    text = "$$r = \\begin{cases} 1 & \\text{if } z > 0 \\\\ 0 & \\text{otherwise} \\end{cases}$$"
    (eq,) = _items(text)
    assert isinstance(eq, Equation)
    rhs = eq.pieces[1].text
    assert "\\mathbb{1}[z > 0]" in rhs and "\\left(1 - \\mathbb{1}[z > 0]\\right)" in rhs
    # the branch value '1' still points at its character in the document
    one = rhs.index("\\left(1\\right)") + len("\\left(")
    assert text[eq.pieces[1].offset(one)] == "1"


def test_a_case_holding_a_chain_gives_one_form_per_link() -> None:
    text = ("$$d = \\begin{cases} a = a' & i = j \\\\ b & i \\neq j \\end{cases}$$")
    (eq,) = _items(text)
    assert isinstance(eq, Equation) and len(eq.pieces) == 3
    assert "(a)" in eq.pieces[1].text.replace("\\left", "").replace("\\right", "")
    assert "(a')" in eq.pieces[2].text.replace("\\left", "").replace("\\right", "")


# -- whole documents: verdicts (worked out by hand) ----------------------------------
SOFTMAX = MLP_BLOCK + r"""
$$ z = W x $$
$$ p = \mathrm{softmax}(z) $$
$$ L = -\sum_k y_k \log p_k $$
"""

DOC_CASES = {
    # dL/dz = p - y for softmax cross-entropy with a one-hot y
    "gradient true": (r"$$\frac{\partial L}{\partial z} = p - y$$", [Verdict.PROVED]),
    "sign error": (r"$$\frac{\partial L}{\partial z} = y - p$$", [Verdict.REFUTED]),
    # dL/dW = (p - y) x^T; without the transpose the shapes do not fit
    "outer product": (r"$$\frac{\partial L}{\partial W} = (p - y) x^\top$$", [Verdict.PROVED]),
    "lost transpose": (r"$$\frac{\partial L}{\partial x} = W (p - y)$$",
                       [Verdict.ILL_FORMED]),
    "element form": (r"$$\frac{\partial L}{\partial z_i} = p_i - y_i$$", [Verdict.PROVED]),
    # a chain: the second form drops the minus sign
    "chain with a wrong link": ("\\begin{align}\\frac{\\partial L}{\\partial z} &= p - y \\\\ "
                                "&= y - p\\end{align}", [Verdict.REFUTED]),
    # a condition claimed: at i = 1 the entry is p_1 - y_1, not p_1
    "claimed under a condition, wrong": (r"$$\frac{\partial L}{\partial z_i} = p_i, \quad i = 1$$",
                                         [Verdict.REFUTED]),
}


def _verify(body: str, tmp_path: Path, prefix: str = SOFTMAX) -> list:
    path = tmp_path / "notes.md"
    path.write_text(prefix + "\n" + body + "\n")
    return list(verify_derivation(load_notes(path), FAST))


@pytest.mark.parametrize("name", DOC_CASES)
def test_document_verdicts(name: str, tmp_path: Path) -> None:
    body, verdicts = DOC_CASES[name]
    results = _verify(body, tmp_path)
    expected = [Verdict.CHECKED if v == Verdict.PROVED else v for v in verdicts]  # FAST
    assert [r.verdict for r in results] == expected


def test_refuted_step_has_a_counterexample_and_a_diagnosis(tmp_path: Path) -> None:
    (r,) = _verify(r"$$\frac{\partial L}{\partial z} = y - p$$", tmp_path)
    assert r.links[0].counterexample is not None
    assert "sign-error" in r.codes


CONDITION_CASES = {
    # relu'(z) = 1 where z > 0: true under the condition, false without it
    "relu slope under its condition": (r"$$\frac{\partial}{\partial s} \max(0, s) = 1, \quad "
                                       r"s > 0$$", Verdict.CHECKED),
    "relu slope without it": (r"$$\frac{\partial}{\partial s} \max(0, s) = 1$$",
                              Verdict.REFUTED),
    "a wrong value under the condition": (r"$$\frac{\partial}{\partial s} \max(0, s) = 2, "
                                          r"\quad s > 0$$", Verdict.REFUTED),
    "cases of relu'": (r"$$\frac{\partial}{\partial s} \max(0, s) = \begin{cases} 1 & s > 0 "
                       r"\\ 0 & \text{otherwise} \end{cases}$$", Verdict.CHECKED),
    "cases swapped": (r"$$\frac{\partial}{\partial s} \max(0, s) = \begin{cases} 0 & s > 0 "
                      r"\\ 1 & \text{otherwise} \end{cases}$$", Verdict.REFUTED),
    # a condition that random points rarely meet must still be reached (kink coverage)
    "far condition, wrong": (r"$$s^2 = 4, \quad s > 1000$$", Verdict.REFUTED),
    "nonlinear condition, wrong": (r"$$s = 5, \quad s^3 - 2 s > 1000$$", Verdict.REFUTED),
    "condition on a sum, wrong": (r"$$s + 1 = 0, \quad s \geq 1$$", Verdict.REFUTED),
    "stackrel condition": (r"$$\frac{\partial}{\partial s} \max(0, s) \stackrel{s > 0}{=} 1$$",
                           Verdict.CHECKED),
    # a condition on a vector masks it entry by entry (was read as a matrix product:
    # ill-formed)
    "condition on a vector": (r"$$\operatorname{ReLU}(z) = z, \quad z > 0$$", Verdict.CHECKED),
    "condition on a vector, wrong": (r"$$\operatorname{ReLU}(z) = 2 z, \quad z > 0$$",
                                     Verdict.REFUTED),
}


@pytest.mark.parametrize("name", CONDITION_CASES)
def test_conditions_are_checked_where_they_hold(name: str, tmp_path: Path) -> None:
    body, verdict = CONDITION_CASES[name]
    prefix = "```derivcheck\nsymbols:\n  s: scalar\n  z: vector H\n```\n"
    (r,) = _verify(body, tmp_path, prefix)
    assert r.verdict == verdict


ELEMENT_DEFINITIONS = {
    # entry-wise definitions become vectors; the equation stays a step and must hold
    "softmax by entries": ("P_c = \\frac{e^{O_c}}{\\sum_k e^{O_k}}", "exp(O) / Sum(k, exp(O[k]))"),
    "matrix-vector by entries": ("Q_k = \\sum_j V_{kj} B_j",
                                 "Sum(j, (V @ onehot(j, H)) * B[j])"),
    "transposed by entries": ("Q_j = \\sum_k V_{kj} O_k", "Sum(k, (V.T @ onehot(k, K)) * O[k])"),
}


@pytest.mark.parametrize("name", ELEMENT_DEFINITIONS)
def test_entrywise_definitions_are_vectors_and_checked(name: str, tmp_path: Path) -> None:
    equation, expr = ELEMENT_DEFINITIONS[name]
    prefix = ("```derivcheck\nsymbols:\n  O: vector K\n  B: vector H\n  V: matrix K H\n"
              "  c: index K\n  k: index K\n  j: index H\n```\n")
    path = tmp_path / "n.md"
    path.write_text(prefix + f"$${equation}$$\n")
    d = load_notes(path)
    (definition,) = d.definitions
    assert definition.text == expr
    (r,) = verify_derivation(d, FAST)
    assert r.verdict.holds  # the rewrite agrees with the entry-wise equation


def test_a_name_subscripted_by_a_declared_index_is_inferred(tmp_path: Path) -> None:
    # Y_k with k declared in the block (not inferred): was an internal error (KeyError)
    path = tmp_path / "n.md"
    path.write_text("```derivcheck\nsymbols:\n  a: vector K\n  k: index K\n```\n"
                    "$$L = -\\sum_k Y_k \\log a_k$$\n"
                    "$$\\frac{\\partial L}{\\partial a_k} = -Y_k / a_k$$\n")
    result = verify_paths([path], FAST).files[0]
    assert result.error is None and [s.verdict for s in result.steps] == [Verdict.CHECKED]
    assert "inferred: Y vector K (from Y_{k}, line 6)" in result.inferred


def test_an_index_described_in_words_is_a_given_index(tmp_path: Path) -> None:
    # J = log P_c, c = \text{true label}: c is no summation index but a given class; every
    # step is checked at every value of c. dJ/dO_k = delta_ck - P_k (log-softmax), and the
    # sign error is refuted
    path = tmp_path / "n.md"
    path.write_text("```derivcheck\nsymbols:\n  O: vector K\n```\n"
                    "$$P = \\mathrm{softmax}(O)$$\n"
                    "$$J = \\log P_c, \\quad c = \\text{true label}$$\n"
                    "$$\\frac{\\partial J}{\\partial O_k} = \\delta_{ck} - P_k$$\n"
                    "$$\\frac{\\partial J}{\\partial O_k} = P_k - \\delta_{ck}$$\n")
    result = verify_paths([path], FAST).files[0]
    assert result.error is None, result.error
    assert [s.verdict for s in result.steps] == [Verdict.CHECKED, Verdict.REFUTED]
    (where, why), = result.unread
    assert where == "line 6" and "c is described in words (true label)" in why


NOT_SCALARS = {
    # a newcomer's cheat sheet with no declarations: A, B, x were inferred scalars, and
    # (AB)^T = A^T B^T, d(x^T A x)/dx = 2 A x were proved (true only for scalars)
    "transposed product": ("$$ (A B)^\\top = A^\\top B^\\top $$\n", "A is written transposed"),
    "quadratic form": ("$$ \\frac{\\partial}{\\partial x} (x^\\top A x) = 2 A x $$\n",
                       "x is written transposed"),
    "a group transposed": ("$$ (A + B)^T = A + B $$\n", "A is written transposed"),
    "transposed on another line": ("$$ A^T = C $$\n$$ A + B = B + A $$\n",
                                   "A is written transposed (line 1)"),
    "capitals side by side": ("$$ A B = B A $$\n", "A is written beside another capital"),
    # a second outside tester's: det(2M) = 2 det(M), W x = x W in bold, Sigma^{-1} mu =
    # mu Sigma^{-1} were checked or proved as scalar algebra
    "inside a determinant": ("$$ \\det(2 A) = 2 \\det(A) $$\n",
                             "A is written inside a determinant or a trace"),
    "inside a trace": ("$$ \\operatorname{tr}(A) = A $$\n",
                       "A is written inside a determinant or a trace"),
    "in bold": ("$$ \\mathbf{A}\\mathbf{x} = \\mathbf{x}\\mathbf{A} $$\n",
                "A is written in bold"),
    "an inverted capital": ("$$ A^{-1} u = u A^{-1} $$\n", "A is written a capital inverted"),
    # g(x) read as g * x proved E[g(x)] = g(E[x]) and f(s + t) = f(s) + f(t)
    "a function applied": ("$$ A(s + t) = A(s) + A(t) $$\n",
                           "A is written right before a bracket"),
    "an expectation": ("$$ A[g + x] = A[g] + A[x] $$\n", "A is written right before a bracket"),
}


@pytest.mark.parametrize("name", NOT_SCALARS)
def test_a_name_written_transposed_is_not_inferred_scalar(name: str, tmp_path: Path) -> None:
    text, reason = NOT_SCALARS[name]
    found = read_document(text, "n.md", "markdown")
    steps = found.derivation.steps if found.derivation is not None else ()
    assert not any("A" in (s.exprs[0].text + s.exprs[1].text) for s in steps)
    assert any(reason in e.reason for e in found.unread), [e.reason for e in found.unread]


def test_an_identity_of_a_known_function_is_checked_not_defined(tmp_path: Path) -> None:
    # tr(AB) = tr(A) tr(B) was read as a definition of a new name tr_ and never checked
    path = tmp_path / "n.md"
    path.write_text("```derivcheck\nsymbols:\n  A: matrix n n\n  B: matrix n n\n```\n"
                    "$$ \\operatorname{tr}(A B) = \\operatorname{tr}(A) \\operatorname{tr}(B) $$\n"
                    "$$ \\mathrm{tr}(A B) = \\mathrm{tr}(B A) $$\n")
    result = verify_paths([path], FAST).files[0]
    assert [s.verdict for s in result.steps] == [Verdict.REFUTED, Verdict.CHECKED]


def test_the_readable_links_of_a_chain_are_checked(tmp_path: Path) -> None:
    # one unreadable piece stopped the whole chain (a newcomer's align block): the links
    # before it are checked; b = d, which the chain says only through the unread piece, not
    path = tmp_path / "n.md"
    path.write_text(SOFTMAX + r"$$\frac{\partial L}{\partial z} = p - y = "
                    r"\frac{\partial}{\partial z} (\nosuch{z}) = y - p$$" + "\n")
    result = verify_paths([path], FAST).files[0]
    assert [(s.id, s.verdict) for s in result.steps] == [("line-11.1", Verdict.CHECKED)]
    assert [where for where, _ in result.unread] == ["line 11"]


def test_a_definition_with_a_free_index_is_not_read_as_a_sum(tmp_path: Path) -> None:
    path = tmp_path / "n.md"
    path.write_text("```derivcheck\nsymbols:\n  y: vector K\n  a: vector K\n  k: index K\n```\n"
                    "$$L = -y_k \\log a_k$$\n$$\\frac{\\partial L}{\\partial a} = -y / a$$\n")
    found = read_document(path.read_text(), str(path), "markdown")
    reasons = [e.reason for e in found.unread]
    assert any("free index k" in r for r in reasons)


# -- positions and inferences ------------------------------------------------------------
def test_an_input_error_names_the_document_line_and_column(tmp_path: Path) -> None:
    text = SOFTMAX + "\nwords\n\n$$\\frac{\\partial L}{\\partial z} = \\foo{p}$$\n"
    found = read_document(text, "n.md", "markdown")
    entry, nothing = found.unread  # and: no step left to check
    assert nothing.line == 0 and "nothing to check" in nothing.reason
    line = text.splitlines()[entry.line - 1]
    assert "\\foo" in line
    assert f"n.md:{entry.line}:" in entry.reason
    col = int(entry.reason.split(":")[2])
    assert line[col - 1:].startswith("\\foo")


def test_inferred_names_are_listed(tmp_path: Path) -> None:
    text = "$$O_k = \\sum_j V_{kj} B_j$$\n$$\\frac{\\partial O_k}{\\partial V_{kj}} = B_j$$\n"
    found = read_document(text, "n.md", "markdown")
    shown = "\n".join(found.inferred)
    assert "V matrix" in shown and "B vector" in shown and "from V_{kj}" in shown
    assert found.derivation is not None


def test_an_error_in_the_declarations_is_located_in_the_document() -> None:
    text = "# t\n\n```derivcheck\nsymbols:\n  x: vektor D\n```\n$$x = x$$\n"
    found = read_document(text, "n.md", "markdown")
    assert found.derivation is None
    reasons = [e.reason for e in found.unread]
    assert any("n.md:5:6:" in r and "unknown kind 'vektor'" in r for r in reasons), reasons


def test_bad_yaml_in_the_declarations_is_an_input_error_of_the_document() -> None:
    text = "```derivcheck\nsymbols: [x\n```\n$$x = x$$\n"
    found = read_document(text, "n.md", "markdown")
    assert found.error is not None and found.error.line >= 2


# -- extract round trip, annotate, CLI -------------------------------------------------
def test_extracted_yaml_reads_back_to_the_same_verdicts(tmp_path: Path) -> None:
    body = (r"$$\frac{\partial L}{\partial z} = p - y$$" + "\n" +
            r"$$\frac{\partial L}{\partial z} = y - p$$")
    path = tmp_path / "n.md"
    path.write_text(SOFTMAX + body + "\n")
    found = read_document(path.read_text(), str(path), "markdown")
    again = load_text(extracted_yaml(found), "again.yaml")
    first = [r.verdict for r in verify_derivation(load_notes(path), FAST)]
    second = [r.verdict for r in verify_derivation(again, FAST)]
    assert first == second == [Verdict.CHECKED, Verdict.REFUTED]


def test_annotated_copy_marks_each_equation(tmp_path: Path) -> None:
    body = (r"$$\frac{\partial L}{\partial z} = p - y$$" + "\n" +
            r"$$\frac{\partial L}{\partial z} = y - p$$" + "\n$$a \\geq b$$\n")
    path = tmp_path / "n.md"
    text = SOFTMAX + body
    path.write_text(text)
    report = verify_paths([path], FAST)
    out = annotate(text, report.files[0], "markdown")
    lines = out.splitlines()
    kept = [ln.removesuffix(" ≔") for ln in lines[:len(text.splitlines()) - 3]]
    assert kept == text.splitlines()[:-3]  # the document's text is kept
    assert any(ln.endswith("≈") for ln in lines)  # checked (FAST: no proofs)
    assert any("✗[^dc-" in ln for ln in lines)
    assert any("?[^dc-" in ln for ln in lines)
    assert sum(1 for ln in lines if ln.endswith("≔")) == 3  # the three definitions
    notes = [ln for ln in lines if ln.startswith("[^dc-")]
    assert len(notes) == 2 and "sign-error" in notes[0] and "not an equation" in notes[1]


def test_cli_verify_and_extract(tmp_path: Path) -> None:
    path = tmp_path / "n.md"
    path.write_text(SOFTMAX + r"$$\frac{\partial L}{\partial z} = y - p$$" + "\n")
    out = tmp_path / "n.checked.md"
    run = subprocess.run([sys.executable, "-m", "derivcheck", "verify", str(path),
                          "--no-symbolic", "--annotate", str(out)], capture_output=True,
                         text=True, cwd=ROOT)
    assert run.returncode == 1 and "REFUTED" in run.stdout
    assert "✗" in out.read_text()
    ex = subprocess.run([sys.executable, "-m", "derivcheck", "extract", str(path)],
                        capture_output=True, text=True, cwd=ROOT)
    assert ex.returncode == 0 and "z: {latex: 'z', expr: 'W @ x'}" in ex.stdout
    bad = subprocess.run([sys.executable, "-m", "derivcheck", "extract", str(tmp_path / "a.yaml")],
                         capture_output=True, text=True, cwd=ROOT)
    assert bad.returncode == 2 and "not a document" in bad.stderr


# -- plain-text files: a document or a derivation file, by what they hold ---------------
SNIFF_CASES = {
    "markdown with dollars": ("We have\n$$L = -\\log p$$\n", "markdown"),
    "markdown with brackets": ("so \\[ a = b \\]", "markdown"),
    "an align environment": ("\\begin{align*} a &= b \\end{align*}", "markdown"),
    "a LaTeX document": ("\\documentclass{article}\n\\[ a = b \\]", "latex"),
    "a derivation file": ("title: t\nsymbols: {x: vector D}\nsteps:\n  - {id: a, "
                          "latex: '$$x = x$$'}\n", None),
    "a derivation file after a comment": ("# my notes\n\nsymbols: {x: vector D}\n"
                                          "steps: [{id: a, latex: '\\\\[x = x\\\\]'}]\n", None),
    "a derivation file after ---": ("---\nsteps: [{id: a, latex: '$$x = x$$'}]\n", None),
    "markdown with a front matter": ("---\ntitle: notes\n---\n$$a = b$$\n", "markdown"),
    "markdown with a declarations block": ("# notes\n```derivcheck\nsymbols: {x: vector D}\n"
                                           "```\n$$a = b$$\n", "markdown"),
    "prose without display math": ("inline $x = y$ only", None),
    "empty": ("", None),
}


@pytest.mark.parametrize("name", SNIFF_CASES)
def test_a_text_file_is_a_document_when_it_holds_display_math(name: str,
                                                              tmp_path: Path) -> None:
    from derivcheck.notes.document import kind_of

    text, want = SNIFF_CASES[name]
    path = tmp_path / "notes.txt"
    path.write_text(text)
    assert kind_of(str(path)) == want
    assert kind_of(str(tmp_path / "notes.yaml")) is None  # only .txt files are sniffed


def test_a_text_file_is_never_opened_unless_regular(tmp_path: Path) -> None:
    import os

    from derivcheck.notes.document import kind_of

    fifo = tmp_path / "pipe.txt"
    os.mkfifo(fifo)
    assert kind_of(str(fifo)) is None  # would block on open: the loader refuses it


def test_verify_reads_a_text_transcription_as_markdown(tmp_path: Path) -> None:
    path = tmp_path / "ocr.txt"
    path.write_text(SOFTMAX + r"$$\frac{\partial L}{\partial z} = y - p$$" + "\n")
    run = subprocess.run([sys.executable, "-m", "derivcheck", "verify", str(path),
                          "--no-symbolic", "-v"], capture_output=True, text=True, cwd=ROOT)
    assert run.returncode == 1 and "REFUTED" in run.stdout, run.stdout + run.stderr
    assert "read as a Markdown document" in run.stdout


# -- untrusted documents ----------------------------------------------------------------
HOSTILE = {
    "deep braces": "$$a = " + "{" * 3000 + "b" + "}" * 3000 + "$$",
    "many blocks": "$$a = b$$\n" * 3000,
    "deep cases": "$$a = " + "\\begin{cases}" * 80 + "1" + "\\end{cases}" * 80 + "$$",
    "unbalanced": "$$\\frac{a = b$$ $$\\left( x = y$$",
    "long row": "$$a = " + "b + " * 6000 + "b$$",
}


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_documents_never_raise(name: str) -> None:
    found = read_document(HOSTILE[name], "h.md", "markdown")
    assert found.error is None or isinstance(found.error, InputError)
    assert found.derivation is None or found.derivation.steps is not None


def test_seed_documents_are_read_without_internal_errors() -> None:
    for seed in sorted((ROOT.parent / "shared" / "seeds").glob("*.txt")):
        found = read_document(seed.read_text(), str(seed), "markdown")
        assert found.entries  # every equation is accounted for


# -- transcription errors beside the verdict ----------------------------------------
TRANSCRIPTION_CASES = {
    # (p - y) x^T read as x^7: the verdict is for what is written; the repair is beside it
    "T read as 7": (r"$$\frac{\partial L}{\partial W} = (p - y) x^7$$", Verdict.ILL_FORMED,
                    "transpose-as-digit"),
    # a factor 2 is no confusion of the table: a mathematical error alone
    "factor two": (r"$$\frac{\partial L}{\partial z} = 2 (p - y)$$", Verdict.REFUTED, None),
}


@pytest.mark.parametrize("name", TRANSCRIPTION_CASES)
def test_transcription_errors_are_told_apart(name: str, tmp_path: Path) -> None:
    body, verdict, confusion = TRANSCRIPTION_CASES[name]
    path = tmp_path / "n.md"
    path.write_text(SOFTMAX + body + "\n")
    (step,) = verify_paths([path], FAST).files[0].steps
    assert step.verdict == verdict  # never the repaired reading's verdict
    found = [d for d in step.diagnoses if d.code == "transcription-error"]
    if confusion is None:
        assert not found
    else:
        assert found and dict(found[0].args)["confusion"] == confusion
        assert step.codes[0] != "transcription-error"  # the mathematical diagnosis first


def test_an_unread_equation_gets_its_repair(tmp_path: Path) -> None:
    path = tmp_path / "n.md"
    path.write_text(SOFTMAX + r"$$\frac{\partial L}{\partial z} = p - y$$" + "\n" +
                    r"$$\frac{\partial L}{\partial z} = p - y)$$" + "\n")
    result = verify_paths([path], FAST).files[0]
    (where, why), *_ = result.unread
    assert where == "line 12"  # SOFTMAX is 10 lines, the good step 11
    assert "probable transcription error" in why


DEFINITION_REPAIRS = {
    # O_k = sum_j V_kj B_j with the subscript of B flattened onto the line (OCR): Bj is
    # B times j, which does not type; B_j makes it an entry-wise definition of V @ B
    "inline subscript": ("```derivcheck\nsymbols:\n  V: matrix K H\n  B: vector H\n```\n"
                         "$$O_k = \\sum_j V_{kj} Bj$$\n"
                         "$$\\frac{\\partial O_k}{\\partial V_{kj}} = B_j$$\n",
                         "reading `B_j` for `Bj` makes the definition of O readable, and with "
                         "it 1 more equation"),
    # the square of a lost transpose: x^7 for x^T in a quadratic form
    "transpose as a digit": ("```derivcheck\nsymbols:\n  x: vector D\n  A: matrix D D\n```\n"
                             "$$q = x^7 A x$$\n"
                             "$$\\frac{\\partial q}{\\partial x} = (A + A^T) x$$\n",
                             "reading `x^T` for `x^7` makes the definition of q readable"),
    # a mathematical mistake in a definition that reads is no transcription error: none

}


@pytest.mark.parametrize("name", DEFINITION_REPAIRS)
def test_an_unread_definition_gets_its_repair(name: str, tmp_path: Path) -> None:
    text, note = DEFINITION_REPAIRS[name]
    found = read_document(text, "d.md", "markdown")
    (entry,) = [e for e in found.entries if e.kind == "unread" and e.line == 6]
    assert note in entry.reason
    # proposed, never read in its place: the definition stays unread, and so do the
    # equations that need it
    assert found.derivation is None or all("O" not in d.name and d.name != "q"
                                           for d in found.derivation.definitions)
    quiet = read_document(text, "d.md", "markdown", repairs=False)
    assert "probable transcription error" not in " ".join(e.reason for e in quiet.entries)


# -- differential: a derivation file and the same derivation as a document ------------
def _as_markdown(path: Path) -> tuple[str, list[str]]:
    """The file's declarations in a derivcheck block and each LaTeX step as display
    math; and the ids of the steps written out, in order."""
    from io import StringIO

    from ruamel.yaml import YAML

    yaml = YAML(typ="rt", pure=True)
    doc = yaml.load(path.read_text())
    steps = doc.pop("steps")
    doc.pop("source", None)
    buf = StringIO()
    yaml.dump(doc, buf)
    out = ["# " + str(doc.get("title", path.stem)), "", "```derivcheck", buf.getvalue(), "```",
           ""]
    ids = []
    for step in steps:
        latex = step.get("latex")
        if latex is None or step.get("layout"):
            continue
        chain = latex if isinstance(latex, str) else " = ".join(str(x) for x in latex)
        if "\n" in chain or "$$" in chain:
            continue
        out.extend([f"$${chain}$$", ""])
        ids.append(str(step["id"]))
    return "\n".join(out), ids


def _files_with_latex_steps() -> list[str]:
    names = sorted(p.name for p in (ROOT / "derivations").glob("*.yaml")
                   if _as_markdown(p)[1])
    assert len(names) >= 5, names  # the differential must not silently run on nothing
    return names


@pytest.mark.parametrize("name", _files_with_latex_steps())
def test_a_document_reads_as_the_derivation_file_it_came_from(name: str, tmp_path: Path) -> None:
    """Every LaTeX step of derivations/NAME, written as display math in a Markdown
    document with the file's declarations, gets the verdict of the file's own
    LaTeX reading (cutting the math into chains changes nothing)."""
    from derivcheck.decide import Options

    source = ROOT / "derivations" / name
    text, ids = _as_markdown(source)
    doc = tmp_path / "doc.md"
    doc.write_text(text)
    options = Options(symbolic=False, latex=True, repairs=False)
    want = {s.id: s for s in verify_paths([source], options).files[0].steps}
    got = verify_paths([doc], options).files[0]
    assert got.error is None, got.error
    assert len(got.steps) == len(ids), got.unread
    for sid, step in zip(ids, got.steps):
        assert [link.verdict for link in step.links] == [
            link.verdict for link in want[sid].links], (sid, step.links[0].lhs_latex)


def test_a_derivative_of_a_name_only_inferred_is_not_read() -> None:
    # z is never defined (its definition was garbled): d z_i / d b_j would be 0, which is
    # never what the document means, so the step is listed, not refuted
    text = "$$\\frac{\\partial z_i}{\\partial b_j} = \\delta_{ij}$$\n$$a_i = a_i$$\n"
    found = read_document(text, "n.md", "markdown")
    (entry,) = [e for e in found.unread if e.line == 1]
    assert "neither declares nor defines" in entry.reason and "define z" in entry.reason


def test_the_example_notes_in_docs(tmp_path: Path) -> None:
    """docs/example-notes.md: a two-layer tanh network in lecture-notes notation (front
    matter, \\mathbf, layer superscripts, \\hat, align). By hand: every gradient is
    right except dL/dW1, which drops the factor tanh'(z1) = 1 - a1^2."""
    report = verify_paths([ROOT / "docs" / "example-notes.md"], FAST)
    f = report.files[0]
    assert f.error is None and not f.unread
    verdicts = {s.line: s.verdict for s in f.steps}
    wrong = [line for line, v in verdicts.items() if not v.holds]
    assert len(verdicts) == 6 and len(wrong) == 1
    (bad,) = [s for s in f.steps if not s.verdict.holds]
    assert bad.verdict == Verdict.REFUTED and "W1" in bad.links[0].lhs


def test_a_definition_written_as_a_function_of_its_arguments(tmp_path: Path) -> None:
    # L(w) = ... defines L, written L(w) (a fixed form); its gradient: by hand 2 (w - t)
    path = tmp_path / "n.md"
    path.write_text("```derivcheck\nsymbols:\n  w: vector D\n  t: vector D\n```\n"
                    "$$\\mathcal{L}(w) = \\|w - t\\|^2$$\n"
                    "$$\\nabla_w \\mathcal{L}(w) = 2 (w - t)$$\n"
                    "$$\\nabla_w \\mathcal{L}(w) = w - t$$\n")
    d = load_notes(path)
    assert [x.name for x in d.definitions] == ["L"]
    assert [r.verdict.holds for r in verify_derivation(d, FAST)] == [True, False]


# A name the document never says (no definition uses it, nothing declares it) beside
# its model: 002's `B_j [\mathbb{I}(k = c) - P_k] = B_j [y_k - P_k]` was refuted at a
# random y although the author means the one-hot label.  Failing for some value says
# nothing about the value meant: undecided, with what to declare.  Holding for every
# value holds for it too; algebra about inferred names alone is untouched.
LOOSE = ("```derivcheck\nsymbols:\n  x: vector D\n  W: matrix K D\n```\n"
         "$$ z = W x $$\n$$ L = \\sum_k e^{z_k} $$\n")
LOOSE_CASES = {
    "fails for some value: undecided": (
        r"$$\frac{\partial L}{\partial z} = e^{z} \odot q$$", Verdict.UNDECIDED,
        "which the document neither declares nor defines"),
    "holds for every value: kept": (
        r"$$\frac{\partial L}{\partial z} + q - q = e^{z}$$", Verdict.CHECKED, ""),
    "wrong without a loose name: refuted": (
        r"$$\frac{\partial L}{\partial z} = 2 e^{z}$$", Verdict.REFUTED, ""),
}


@pytest.mark.parametrize("name", LOOSE_CASES)
def test_a_name_the_document_never_says_cannot_refute(name: str, tmp_path: Path) -> None:
    step, verdict, reason = LOOSE_CASES[name]
    path = tmp_path / "n.md"
    path.write_text(LOOSE + step + "\n")
    result = verify_paths([path], FAST).files[0]
    (s,) = result.steps
    assert s.verdict == verdict, s
    assert reason in s.message, s.message


def test_algebra_about_inferred_names_alone_is_still_refuted(tmp_path: Path) -> None:
    path = tmp_path / "n.md"
    path.write_text("$$ (a + b)^2 = a^2 + b^2 $$\n")
    (s,) = verify_paths([path], FAST).files[0].steps
    assert s.verdict == Verdict.REFUTED


def test_a_declared_sigma_before_a_bracket_is_ambiguous(tmp_path: Path) -> None:
    # sigma declared a scalar: sigma(s + t) = sigma(s) + sigma(t) was proved as a product
    path = tmp_path / "n.md"
    path.write_text("```derivcheck\nsymbols:\n  sigma: posscalar\n  s: scalar\n  t: scalar\n```\n"
                    "$$ \\sigma(s + t) = \\sigma(s) + \\sigma(t) $$\n"
                    "$$ \\sigma \\cdot (s + t) = \\sigma s + \\sigma t $$\n")
    found = read_document(path.read_text(), str(path), "markdown")
    assert any("is ambiguous here" in e.reason for e in found.unread)
    assert found.derivation is not None and len(found.derivation.steps) == 1
