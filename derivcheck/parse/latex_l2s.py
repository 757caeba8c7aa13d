"""latex2sympy2 as a second, independent reader of LaTeX expressions (a cross-check).

derivcheck reads LaTeX with its own reader (``parse/latex.py``).  For the scalar
subset that latex2sympy2 1.9.1 reads correctly, the same LaTeX is also handed to
latex2sympy2, and both readings are compared at random points.  A disagreement
becomes a ``reading`` note on the expression, saying both readings; it never
changes a verdict (the verdict is always derivcheck's reading).

What latex2sympy2 is given is never the input text.  It is a string rebuilt
from derivcheck's own tokens over a fixed alphabet (``_ALPHABET``): numbers,
placeholder letters (one per declared name or element, as derivcheck's reader
identified it, and one per scalar derivative ``\\frac{\\partial f}{\\partial v}``,
which it cannot read; never ``d``, ``e``, ``E``, ``I``, ``T``, ``i``, ``j``, which
latex2sympy2 reads as a differential, Euler's number, the imaginary unit or a
transpose; a differential also overwrites its module-global ``var`` (line 688,
under the ``global var`` of line 642), breaking every later call in the process),
``+ - * / ^ { } ( ) [ ]``, ``\\frac``,
``\\sqrt``, ``\\exp``, ``\\ln`` (``\\log`` is rewritten: latex2sympy2 reads it as
base 10), ``\\log_{10}``, ``\\log_{2}``, ``\\tanh``, ``\\cdot``, ``\\times`` and
``e^``.  Anything else in the input (``^T``, ``\\odot``, ``\\partial``, ``\\sum``,
``\\sigma``, norms, unknown commands, matrices and vectors...) means no second
reading: "not applicable", with the reason.  So latex2sympy2's hazards cannot
act: a transpose never reaches it (it would drop it), products it would commute
are products of scalars, ``\\log`` never reaches it, an unknown command never
reaches it (it could vanish), ``e_t`` never reaches it (a name is a placeholder).

Safety (the project rule: nothing from an input reaches ``eval``, ``exec``,
``sympify`` or ``parse_expr``).  Read in latex2sympy2 1.9.1 (``latex2sympy2.py``):

- ``parse_expr`` (imported at line 18) is called at line 712 only, for a
  ``\\variable{name}`` atom whose name is a key of the ``variable_values``
  mapping given by the caller; it parses ``str()`` of the caller's value, not
  the input.  We pass no mapping, and ``\\variable`` is not in the alphabet.
- ``sympy.Number(s)`` (lines 679, 686, 727) calls ``sympify(s)``
  (``sympy/core/numbers.py`` line 342) when ``sympy.Rational(s)`` fails, with
  the text of a NUMBER, E_NOTATION or PERCENT_NUMBER token.  Our numbers are
  ``\\d+(\\.\\d+)?`` (at most 12 digits), which ``Rational`` (``fractions.Fraction``)
  always accepts, so that call is not reached; were it reached, the lexer
  allows only digits, ``,`` ``.`` ``E`` and a sign in that text.
- No ``eval``/``exec`` in latex2sympy2 or its generated ANTLR parser (``gen/``);
  in the ANTLR runtime ``eval`` is a method name (semantic predicates).
- Other entry points act on SymPy objects, not text, and are out of the
  alphabet anyway: ``sympy.solve`` for ``:=`` (line 175), ``nsimplify`` for
  ``\\gcd`` (line 1074), matrix methods for ``\\operatorname{...}``.

The child process re-checks every string against ``_ALPHABET`` before handing
it over, and runs with a wall-time, CPU and memory limit; what it sends back is
JSON (a tree of whitelisted nodes), re-checked here.  latex2sympy2 is imported
only in that child: its import (ANTLR, and a ``simplify`` at import time) and
its parses (0.02-0.1 s each, ANTLR's Python runtime) stay off the default path.
"""

from __future__ import annotations

import json
import math
import os
import random
import re
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

from derivcheck.errors import ShapeError, Unsupported
from derivcheck.ir import E
from derivcheck.parse.latex import (
    ACCENTS,
    FONT_COMMANDS,
    GREEK,
    LatexError,
    LatexScope,
    Tok,
    read_name_at,
    read_primary_at,
    tokenize,
)
from derivcheck.printer import to_text

__all__ = ["SecondReading", "Prepared", "prepare", "check_all", "AGREES", "DISAGREES"]

AGREES = "agrees"
DISAGREES = "disagrees"
NOT_APPLICABLE = "not applicable"
NOT_RUN = "not run"
INCONCLUSIVE = "inconclusive"

# what derivcheck's reading may contain for a second reading (everything else: not applicable)
_LEAVES = {"sym", "ref", "dim", "idx"}
_OPS = {"num", "add", "sub", "mul", "div", "pow", "neg", "fn", "elem"}
_FUNCTIONS = {"exp", "log", "log10", "log2", "sqrt", "tanh"}
# LaTeX commands passed on, and what they become
_COMMANDS = {"frac": r"\frac", "dfrac": r"\frac", "tfrac": r"\frac", "sqrt": r"\sqrt",
             "exp": r"\exp", "ln": r"\ln", "tanh": r"\tanh", "cdot": r"\cdot",
             "times": r"\times"}
_CHARS = set("+-*/^{}()[]")
_LOG_BASES = {"10": r"\log_{10}", "2": r"\log_{2}", "e": r"\ln"}
# one letter per name: subscripted placeholders (v_{0}) make ANTLR's prediction 5x slower
PLACEHOLDERS = "abcfghklmnopqrstuvwxyzABCDFGHJKLMNOPQRSUVWXYZ"
# every string handed to latex2sympy2 is a sequence of these (checked again in the child)
_ALPHABET = re.compile(rf"(?:[{PLACEHOLDERS}](?![A-Za-z_])|\d{{1,12}}(?:\.\d{{1,12}})?"
                       r"|\\(?:frac|sqrt|exp|ln|tanh|cdot|times)(?![A-Za-z])"
                       r"|\\log_\{(?:10|2)\}|e(?=\^)|[-+*/^{}()\[\] ])*")
MAX_NORMALISED = 2000
MEMORY_MB = 1536
SECONDS_START = 8.0  # Python, SymPy and latex2sympy2 start in the child
SECONDS_EACH = 2.0


class NotApplicable(Exception):
    """The expression is outside the subset handed to latex2sympy2."""


@dataclass(frozen=True)
class Prepared:
    """One LaTeX expression, ready for the second reader (or why it is not).

    ``normalised`` is what latex2sympy2 is given; ``leaves[k]`` is what the
    placeholder ``v_k`` stands for; ``ours`` is derivcheck's reading.
    """

    ours: E
    normalised: str = ""
    leaves: tuple[E, ...] = ()
    skip: str = ""  # why there is no second reading


@dataclass(frozen=True)
class SecondReading:
    """What the second reader says about one expression.

    ``status``: ``agrees``, ``disagrees``, ``not applicable: why``,
    ``not run: why`` or ``inconclusive``; ``note`` (for a disagreement) is the
    ambiguity note shown beside the expression; ``theirs`` is latex2sympy2's
    reading in the expression syntax, when it has one.
    """

    status: str
    note: str = ""
    theirs: str = ""


# -- derivcheck's side: the normalised string ----------------------------------------------
def prepare(text: str, node: E, scope: LatexScope) -> Prepared:
    """The string latex2sympy2 is given for ``text`` (read by derivcheck as ``node``).

    Never raises: outside the subset, ``skip`` says why.
    """
    try:
        _check_subset(node, scope)
        normalised, leaves = _Normaliser(text, scope).run()
    except NotApplicable as exc:
        return Prepared(node, skip=str(exc))
    if len(normalised) > MAX_NORMALISED or not _ALPHABET.fullmatch(normalised):
        return Prepared(node, skip="the normalised form is too long")
    return Prepared(node, normalised, leaves)


def _check_subset(node: E, scope: LatexScope) -> None:
    """Scalars only, and only the operations latex2sympy2 reads correctly."""
    if node.op in _LEAVES or node.op in ("elem", "d"):
        if node.op == "elem" and node.args[0].op not in ("sym", "ref"):
            raise NotApplicable("an element of an expression")
        try:
            shape = scope.shape_of(node)
        except (ShapeError, Unsupported, KeyError):
            shape = None
        if shape != ():
            raise NotApplicable(f"'{to_text(node)}' is not a scalar")
        return
    if node.op not in _OPS:
        raise NotApplicable(f"'{node.op}' is outside the subset")
    if node.op == "fn" and node.val not in _FUNCTIONS:
        raise NotApplicable(f"the function {node.val} is outside the subset")
    for arg in node.args:
        _check_subset(arg, scope)


class _Normaliser:
    """derivcheck's tokens -> the string for latex2sympy2 (see the module docstring).

    Arguments of ``\\frac``, ``\\sqrt`` and ``^`` follow TeX: an unbraced argument
    is one token, one digit of a number (``\\frac12`` is a half, ``x^12`` is
    ``x^1 2``), so latex2sympy2 reads what TeX would typeset, not what
    derivcheck's reader made of it.
    """

    def __init__(self, text: str, scope: LatexScope) -> None:
        self.text = text
        self.scope = scope
        try:
            self.toks = tokenize(text)
        except LatexError as exc:
            raise NotApplicable(exc.message) from None
        self.out: list[str] = []
        self.leaves: dict[E, int] = {}

    def run(self) -> tuple[str, tuple[E, ...]]:
        i = self.seq(0, closing=False)
        if i != len(self.toks):
            raise NotApplicable("unbalanced braces")
        return " ".join(self.out), tuple(self.leaves)

    def seq(self, i: int, *, closing: bool) -> int:
        """Tokens from ``i`` up to an unmatched ``}`` (when ``closing``) or the end."""
        while i < len(self.toks):
            tok = self.toks[i]
            if tok.kind == "char" and tok.text == "}":
                if closing:
                    return i
                raise NotApplicable("unbalanced braces")
            i = self.item(i)
        if closing:
            raise NotApplicable("unbalanced braces")
        return i

    def item(self, i: int) -> int:
        tok = self.toks[i]
        if tok.kind == "num":
            self.out.append(_number(tok.text))
            return i + 1
        if tok.kind == "char":
            if tok.text == "{":
                return self.group(i)
            if tok.text == "^":
                self.out.append("^")
                return self.arg(i + 1)
            if tok.text in _CHARS:
                self.out.append(tok.text)
                return i + 1
            raise NotApplicable(f"'{tok.text}' is outside the subset")
        if tok.kind == "letter" and tok.text == "e" and self.exp_ahead(i):
            self.out.append("e^")
            return self.arg(i + 2)
        if tok.kind == "letter" or tok.text in GREEK or tok.text in FONT_COMMANDS \
                or tok.text in ACCENTS:
            return self.name(i)
        if tok.text in ("frac", "dfrac", "tfrac") and self.derivative_ahead(i):
            return self.derivative(i)
        if tok.text in ("frac", "dfrac", "tfrac"):
            self.out.append(r"\frac")
            return self.arg(self.arg(i + 1))
        if tok.text == "sqrt":
            self.out.append(r"\sqrt")
            return self.arg(i + 1)
        if tok.text == "log":
            return self.log(i)
        if tok.text == "partial":  # \partial f / \partial v
            return self.derivative(i)
        if tok.text in _COMMANDS:
            self.out.append(_COMMANDS[tok.text])
            return i + 1
        raise NotApplicable(f"\\{tok.text} is outside the subset")

    def derivative_ahead(self, i: int) -> bool:
        """``\\frac{\\partial f}{\\partial v}`` (or ``d f``), not the operator form
        ``\\frac{\\partial}{\\partial v} f`` (whose operand derivcheck delimits)."""
        ahead = self.toks[i + 1:i + 4]
        if len(ahead) < 3 or ahead[0].text != "{" or ahead[2].text == "}":
            return False
        return ahead[1].text == "partial" or (ahead[1].kind == "letter" and ahead[1].text == "d")

    def derivative(self, i: int) -> int:
        """A scalar derivative is one placeholder: latex2sympy2 cannot read ``\\partial``."""
        try:
            node, j = read_primary_at(self.text, self.toks, i, self.scope)
        except LatexError as exc:
            raise NotApplicable(exc.message) from None
        if node.op != "d":
            raise NotApplicable(f"'{to_text(node)}' is not a derivative")
        self.placeholder(node)
        return j

    def exp_ahead(self, i: int) -> bool:
        """``e^...`` read as the exponential (``e`` not a declared name)."""
        nxt = self.toks[i + 1] if i + 1 < len(self.toks) else None
        return (nxt is not None and nxt.text == "^" and nxt.kind == "char"
                and self.scope.names.lookup("e") is None)

    def group(self, i: int) -> int:
        self.out.append("{")
        i = self.seq(i + 1, closing=True)
        self.out.append("}")
        return i + 1

    def arg(self, i: int) -> int:
        """One TeX argument: a group, one token, or one digit of a number."""
        if i >= len(self.toks):
            raise NotApplicable("a missing argument")
        tok = self.toks[i]
        if tok.kind == "char" and tok.text == "{":
            return self.group(i)
        if tok.kind == "char" and tok.text in "([":
            return self.bracketed(i)
        if tok.kind == "num":
            if tok.text.startswith("."):
                raise NotApplicable("an argument that starts with '.'")
            self.out.append("{" + tok.text[0] + "}")
            if len(tok.text) == 1:
                return i + 1
            self.toks[i] = Tok("num", tok.text[1:], tok.pos + 1)  # the rest follows
            return i
        if tok.kind == "letter" or tok.text in GREEK or tok.text in FONT_COMMANDS \
                or tok.text in ACCENTS:
            self.out.append("{")
            i = self.name(i)
            self.out.append("}")
            return i
        raise NotApplicable(f"the argument '{tok.text}' is outside the subset")

    def bracketed(self, i: int) -> int:
        """``x^(a+b)``: not TeX, but derivcheck reads the bracket as the argument."""
        close = ")" if self.toks[i].text == "(" else "]"
        self.out.append("{")
        self.out.append(self.toks[i].text)
        i += 1
        while i < len(self.toks) and not (self.toks[i].kind == "char"
                                          and self.toks[i].text == close):
            i = self.item(i)
        if i >= len(self.toks):
            raise NotApplicable("an unclosed bracket")
        self.out.append(close)
        self.out.append("}")
        return i + 1

    def name(self, i: int) -> int:
        try:
            node, j = read_name_at(self.text, self.toks, i, self.scope)
        except LatexError as exc:
            raise NotApplicable(exc.message) from None
        if node.op not in _LEAVES and node.op != "elem":
            raise NotApplicable(f"'{to_text(node)}' is not a name")
        self.placeholder(node)
        return j

    def placeholder(self, node: E) -> None:
        _check_subset(node, self.scope)  # a scalar
        k = self.leaves.setdefault(node, len(self.leaves))
        if k >= len(PLACEHOLDERS):
            raise NotApplicable(f"more than {len(PLACEHOLDERS)} names")
        self.out.append(PLACEHOLDERS[k])

    def log(self, i: int) -> int:
        """``\\log`` is natural here (latex2sympy2: base 10), so it is handed over as ``\\ln``."""
        nxt = self.toks[i + 1] if i + 1 < len(self.toks) else None
        if nxt is None or nxt.text != "_" or nxt.kind != "char":
            self.out.append(r"\ln")
            return i + 1
        j = i + 2
        if j < len(self.toks) and self.toks[j].text == "{":
            inner = self.toks[j + 1:j + 3]
            if len(inner) == 2 and inner[1].text == "}":
                base, j = inner[0].text, j + 3
            else:
                raise NotApplicable("a logarithm base")
        elif j < len(self.toks):
            base, j = self.toks[j].text, j + 1
        else:
            raise NotApplicable("a logarithm base")
        if base not in _LOG_BASES:
            raise NotApplicable(f"the logarithm base {base}")
        self.out.append(_LOG_BASES[base])
        return j


def _number(text: str) -> str:
    if text.startswith("."):
        text = "0" + text
    if len(text) > 12:
        raise NotApplicable("a number too long")
    return text


# -- running latex2sympy2 ---------------------------------------------------------------
def check_all(items: Sequence[Prepared], *, seconds: float | None = None) -> list[SecondReading]:
    """The second reading of each item: one child process reads them all.

    ``seconds`` bounds the child's wall time (default: a start-up allowance
    plus a few seconds per expression); what it has not read by then is
    ``not run``.  Never raises.
    """
    out: list[SecondReading | None] = [
        SecondReading(f"{NOT_APPLICABLE}: {p.skip}") if p.skip else None for p in items]
    todo = [k for k, p in enumerate(items) if not p.skip]
    if todo:
        limit = seconds if seconds is not None else SECONDS_START + SECONDS_EACH * len(todo)
        answers = _run_child([(items[k].normalised, len(items[k].leaves)) for k in todo], limit)
        for k, answer in zip(todo, answers):
            out[k] = _judge(items[k], answer)
    return [r if r is not None else SecondReading(NOT_RUN) for r in out]


def _run_child(requests: list[tuple[str, int]], seconds: float) -> list[Any]:
    """Answers from the child, one per request (``None`` where it gave none)."""
    root = Path(__file__).resolve().parents[2]
    cmd = [sys.executable, "-m", "derivcheck.parse.latex_l2s"]
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "PYTHONPATH", "HOME", "LANG")}
    stdout: str | bytes | None
    try:
        done = subprocess.run(cmd, input=json.dumps(requests), capture_output=True, text=True,
                              timeout=seconds, cwd=root, env=env, check=False,
                              preexec_fn=lambda: _limit_child(seconds))
        stdout = done.stdout
        failure = "" if done.returncode == 0 else _child_failure(done.returncode, done.stderr)
    except subprocess.TimeoutExpired as exc:
        stdout = exc.stdout
        failure = f"time limit of {seconds:g} s reached"
    except OSError as exc:
        stdout, failure = "", f"cannot start latex2sympy2: {exc}"
    if isinstance(stdout, bytes):
        stdout = stdout.decode("utf-8", "replace")
    answers: list[Any] = [None] * len(requests)
    for line in (stdout or "").splitlines():
        if not line.startswith(_MARK):
            continue  # anything else on stdout (ANTLR warnings) is not an answer
        try:
            k, answer = json.loads(line[len(_MARK):])
        except (ValueError, TypeError):
            continue
        if isinstance(k, int) and 0 <= k < len(requests):
            answers[k] = answer
    if failure:
        answers = [a if a is not None else {"failed": failure} for a in answers]
    return answers


def _limit_child(seconds: float) -> None:
    try:
        import resource

        limit = MEMORY_MB * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        cpu = int(seconds) + 1
        resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    except (ImportError, ValueError, OSError):
        pass  # the wall-time limit still holds


def _child_failure(code: int, stderr: str) -> str:
    last = (stderr or "").strip().splitlines()[-1:] or [f"exit status {code}"]
    if "ModuleNotFoundError" in last[0] and "latex2sympy2" in last[0]:
        return "latex2sympy2 is not installed"
    return last[0][:200]


def _judge(item: Prepared, answer: Any) -> SecondReading:
    if not isinstance(answer, dict):
        return SecondReading(f"{NOT_RUN}: no answer from latex2sympy2")
    ours = to_text(item.ours)
    if "failed" in answer:
        return SecondReading(f"{NOT_RUN}: {str(answer['failed'])[:200]}")
    if "unreadable" in answer:
        # in the subset, a failure to parse means unusual TeX (\frac 1 2 x ...)
        why = str(answer["unreadable"]).splitlines()[0][:120]
        return SecondReading(
            DISAGREES, f"second reader: latex2sympy2 cannot read '{item.normalised}' ({why}); "
            f"derivcheck reads {ours}")
    if "outside" in answer:
        what = str(answer["outside"])[:80]
        return SecondReading(
            DISAGREES, f"second reader: latex2sympy2 reads something outside the whitelist "
            f"({what}); derivcheck reads {ours}")
    try:
        theirs = _from_tree(answer.get("tree"), item.leaves)
    except (ValueError, TypeError, KeyError, IndexError, RecursionError):
        return SecondReading(f"{NOT_RUN}: a malformed answer")
    theirs_text = to_text(theirs)
    same = _numerically_equal(item.ours, theirs, item.leaves)
    if same is None:
        return SecondReading(INCONCLUSIVE, theirs=theirs_text)
    if same:
        return SecondReading(AGREES, theirs=theirs_text)
    return SecondReading(
        DISAGREES, f"second reader: latex2sympy2 reads {theirs_text}, derivcheck reads "
        f"{ours} (the verdict is for derivcheck's reading; braces or parentheses would make "
        "the LaTeX unambiguous)", theirs_text)


# -- latex2sympy2's side, back as IR ------------------------------------------------------
def _from_tree(tree: Any, leaves: tuple[E, ...]) -> E:
    """The child's JSON tree -> IR, re-checked node by node (and written as a person
    would: ``a - b`` rather than ``a + -1 * b``)."""
    if not isinstance(tree, list) or not tree:
        raise ValueError("not a node")
    head, rest = tree[0], tree[1:]
    if head == "num" and len(rest) == 2 and all(type(v) is int for v in rest) and rest[1] > 0:
        return E("num", val=Fraction(rest[0], rest[1]))
    if head == "var" and len(rest) == 1 and type(rest[0]) is int:
        if not 0 <= rest[0] < len(leaves):
            raise ValueError("no such placeholder")
        return leaves[rest[0]]
    if head == "add" and len(rest) >= 2:
        terms = [_from_tree(a, leaves) for a in rest]
        node = terms[0]
        for t in terms[1:]:
            node = E("sub", (node, t.args[0])) if t.op == "neg" else E("add", (node, t))
        return node
    if head == "mul" and len(rest) >= 2:
        return _product([_from_tree(a, leaves) for a in rest])
    if head == "pow" and len(rest) == 2:
        base, expo = _from_tree(rest[0], leaves), _from_tree(rest[1], leaves)
        if expo.op == "num" and expo.val == Fraction(1, 2):
            return E("fn", (base,), "sqrt")
        if expo.op == "num" and expo.val < 0:
            flipped = base if expo.val == -1 else E("pow", (base, E("num", val=-expo.val)))
            return E("div", (E("num", val=Fraction(1)), flipped))
        return E("pow", (base, expo))
    if head == "fn" and len(rest) == 2 and rest[0] in _FUNCTIONS - {"sqrt"}:
        return E("fn", (_from_tree(rest[1], leaves),), rest[0])
    raise ValueError(f"unexpected node {head!r}")


def _product(factors: list[E]) -> E:
    """Factors -> ``c * a * b / (d * f)``, the numbers gathered into one coefficient."""
    coefficient = Fraction(1)
    above: list[E] = []
    below: list[E] = []
    for f in factors:
        if f.op == "num":
            coefficient *= f.val
        elif f.op == "neg":
            coefficient = -coefficient
            above.append(f.args[0])
        elif f.op == "div" and f.args[0] == E("num", val=Fraction(1)):
            below.append(f.args[1])
        else:
            above.append(f)
    size = abs(coefficient)
    if size.denominator != 1:
        below.insert(0, E("num", val=Fraction(size.denominator)))
    if size.numerator != 1 or not above:
        above.insert(0, E("num", val=Fraction(size.numerator)))
    node = above[0]
    for f in above[1:]:
        node = E("mul", (node, f))
    if below:
        den = below[0]
        for f in below[1:]:
            den = E("mul", (den, f))
        node = E("div", (node, den))
    return E("neg", (node,)) if coefficient < 0 else node


def _numerically_equal(ours: E, theirs: E, leaves: tuple[E, ...]) -> bool | None:
    """Both readings at random points: True, False, or None (no point where both are real)."""
    rng = random.Random(20240611)  # fixed: a side check, independent of --seed
    valid = 0
    for _ in range(12):
        values = {leaf: rng.choice((rng.uniform(0.15, 0.95), rng.uniform(1.1, 2.9)))
                  for leaf in leaves}
        try:
            a, b = _value(ours, values), _value(theirs, values)
        except (ArithmeticError, ValueError, TypeError, RecursionError):
            continue
        if not (math.isfinite(a) and math.isfinite(b)):
            continue
        if abs(a - b) > 1e-6 * max(1.0, abs(a), abs(b)):
            return False
        valid += 1
        if valid >= 5:
            return True
    return True if valid >= 2 else None


def _value(node: E, values: dict[E, float]) -> float:
    if node in values:
        return values[node]
    op = node.op
    if op == "num":
        return float(node.val)
    if op == "neg":
        return -_value(node.args[0], values)
    if op == "fn":
        x = _value(node.args[0], values)
        fn = {"exp": math.exp, "log": math.log, "log10": math.log10, "log2": math.log2,
              "sqrt": math.sqrt, "tanh": math.tanh}[node.val]
        return float(fn(x))
    a, b = (_value(arg, values) for arg in node.args)
    if op == "add":
        return a + b
    if op == "sub":
        return a - b
    if op == "mul":
        return a * b
    if op == "div":
        return a / b
    if op == "pow":
        r = a ** b
        if isinstance(r, complex):
            raise ValueError("not real")
        return float(r)
    raise ValueError(f"no value for {op}")


# -- the child process ------------------------------------------------------------------
_MARK = "l2s "


class _Outside(Exception):
    pass


def _to_tree(x: Any, n_vars: int) -> list[Any]:
    """latex2sympy2's result -> a JSON tree: only Add, Mul, Pow, integers and
    rationals, the placeholders, exp, log (natural, 10, 2), tanh and E."""
    import sympy

    if x is sympy.E:
        return ["fn", "exp", ["num", 1, 1]]
    if isinstance(x, sympy.Rational):  # Integer, Half, One... are Rationals
        p, q = int(x.p), int(x.q)
        if abs(p) > 10**30 or q > 10**30:
            raise _Outside("a number too large")
        return ["num", p, q]
    if isinstance(x, sympy.Symbol):
        k = PLACEHOLDERS.find(x.name) if len(x.name) == 1 else -1
        if not 0 <= k < n_vars:
            raise _Outside(f"the symbol {x.name}")
        return ["var", k]
    if isinstance(x, sympy.Add | sympy.Mul):
        return ["add" if isinstance(x, sympy.Add) else "mul",
                *(_to_tree(a, n_vars) for a in x.args)]
    if isinstance(x, sympy.Pow):
        return ["pow", _to_tree(x.base, n_vars), _to_tree(x.exp, n_vars)]
    if isinstance(x, sympy.exp):
        return ["fn", "exp", _to_tree(x.args[0], n_vars)]
    if isinstance(x, sympy.tanh):
        return ["fn", "tanh", _to_tree(x.args[0], n_vars)]
    if isinstance(x, sympy.log):
        base = x.args[1] if len(x.args) == 2 else sympy.E
        name = {sympy.E: "log", sympy.Integer(10): "log10", sympy.Integer(2): "log2"}.get(base)
        if name is None:
            raise _Outside(f"log base {base}")
        return ["fn", name, _to_tree(x.args[0], n_vars)]
    raise _Outside(type(x).__name__)


def _child_main() -> None:
    """Read ``[[normalised, n_vars], ...]`` on stdin; one answer line per item on stdout."""
    requests = json.loads(sys.stdin.read())
    out = sys.stdout
    sys.stdout = sys.stderr  # ANTLR prints version warnings: keep them out of the answers
    for k, (text, n_vars) in enumerate(requests):
        answer: dict[str, Any]
        if not (isinstance(text, str) and len(text) <= MAX_NORMALISED
                and _ALPHABET.fullmatch(text) and isinstance(n_vars, int)):
            answer = {"failed": "refused: not a normalised string"}
        else:
            from latex2sympy2 import latex2sympy

            try:
                answer = {"tree": _to_tree(latex2sympy(text), n_vars)}
            except _Outside as exc:
                answer = {"outside": str(exc)}
            except RecursionError:
                answer = {"failed": "too deeply nested"}
            except Exception as exc:  # latex2sympy2 raises bare Exceptions for syntax errors
                answer = {"unreadable": str(exc) or type(exc).__name__}
        out.write(_MARK + json.dumps([k, answer]) + "\n")
        out.flush()


if __name__ == "__main__":
    _child_main()
