"""The attack corpus: hostile derivation files, each with the outcome it must get.

Every case is a file (or a folder) handed to derivcheck the way a user would:
``load_file`` + ``verify_derivation`` (the library) and ``derivcheck verify``
(the command line, JSON and text).  For each case the tests assert:

- the outcome: a typed ``InputError`` (exit code 2), or a verdict of
  ``undecided`` / ``ill_formed`` where that is the honest answer, or, for the
  few inputs that are odd but legitimate (CRLF, a BOM, markup in a title),
  that the steps hold;
- nothing else happens: the marker file the payloads try to ``touch`` is never
  created, and no process is started and no connection made while parsing and
  verifying (``subprocess.Popen``, ``os.system``, ``os.posix_spawn``, ``os.fork``,
  ``socket.socket.connect`` ... are replaced by functions that record the
  attempt and raise); no string holding the payload reaches ``eval``/``exec``;
- it finishes in time: each run under ``LIMIT`` seconds of wall time (a
  SIGALRM watchdog stops a run that would hang, so a hang fails the test instead
  of stalling CI).

These runs use ``--no-symbolic``: the symbolic stage starts worker processes
(``multiprocessing``), which the no-process guard would flag.  A subset runs
again with the symbolic stage on (``test_attack_with_symbolic_stage``), with
only the exec/shell/network guards, to check it still finishes in time.

Cases that need grading, LaTeX input or the PDF report are not here (other
issues).
"""

from __future__ import annotations

import builtins
import json
import os
import re
import signal
import socket
import stat
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from derivcheck.cli import main
from derivcheck.decide import Options
from derivcheck.errors import InputError
from derivcheck.load import load_file
from derivcheck.results import Verdict, combine
from derivcheck.verify import expand_paths, verify_derivation

LIMIT = 10.0  # seconds of wall time for each run of a case
SYMBOLIC_TIME_LIMIT = 3.0  # --time-limit for the runs with the symbolic stage on
FAST = Options(symbolic=False)
MARK = "@MARKER@"  # replaced by the absolute path of tmp_path / "MARKER" in payloads
TOUCH = f"__import__('os').system('touch {MARK}')"

# Outcomes, worst first (a folder's outcome is the worst over its files).
INPUT_ERROR, ILL_FORMED, REFUTED, UNDECIDED, HOLDS = (
    "input_error", "ill_formed", "refuted", "undecided", "holds")
_ORDER = [INPUT_ERROR, ILL_FORMED, REFUTED, UNDECIDED, HOLDS]
HOLDS_OR_UNDECIDED = frozenset({HOLDS, UNDECIDED})
NOT_HOLDS = frozenset({REFUTED, UNDECIDED})


def _worst(outcomes: list[str]) -> str:
    return min(outcomes, key=_ORDER.index)


def _of_verdict(verdict: Verdict | str) -> str:
    verdict = Verdict(verdict)
    return HOLDS if verdict.holds else verdict.value


# -- building the inputs -----------------------------------------------------------------

SYMBOLS = {"s": "scalar", "t": "posscalar", "x": "vector n", "y": "vector n",
           "W": "matrix n m", "i": "index n", "j": "index n"}
DEFINE = {"L": "sum(x * y)"}


def _q(value: Any) -> str:
    """A YAML scalar for ``value`` (JSON is YAML; non-ASCII kept as written).

    A lone surrogate cannot be written to a UTF-8 file: it becomes the YAML
    escape ``\\udXXX``, which is how a hostile file would carry one.
    """
    return re.sub("[\ud800-\udfff]", lambda m: f"\\u{ord(m.group()):04x}",
                  json.dumps(value, ensure_ascii=False))


def _doc(*, steps: list[dict[str, Any]], symbols: dict[str, str] | None = None,
         define: dict[str, str] | None = None, title: str = "attack") -> str:
    lines = [f"title: {_q(title)}", "symbols:"]
    lines += [f"  {name}: {_q(kind)}" for name, kind in (symbols or SYMBOLS).items()]
    defs = DEFINE if define is None else define
    if defs:
        lines.append("define:")
        lines += [f"  {name}: {_q(text)}" for name, text in defs.items()]
    lines.append("steps:")
    for step in steps:
        for n, (key, value) in enumerate(step.items()):
            lines.append(("  - " if n == 0 else "    ") + f"{key}: {_q(value)}")
    return "\n".join(lines) + "\n"


GOOD = _doc(steps=[{"id": "ok", "claim": "x + y = y + x"}])


@dataclass(frozen=True)
class Attack:
    """How to lay out one case under ``tmp_path``; ``make`` returns the PATH to verify."""

    make: Callable[[Path], Path]


def _write(tmp_path: Path, data: str | bytes, name: str = "attack.yaml") -> Path:
    marker = str(tmp_path / "MARKER")
    path = tmp_path / name
    if isinstance(data, str):
        path.write_text(data.replace(MARK, marker), encoding="utf-8")
    else:
        path.write_bytes(data.replace(MARK.encode(), marker.encode()))
    return path


def text(data: str) -> Attack:
    """A whole file, as text (written as UTF-8)."""
    return Attack(lambda tmp: _write(tmp, data))


def raw(data: bytes) -> Attack:
    """A whole file, as bytes."""
    return Attack(lambda tmp: _write(tmp, data))


def claim(expr: str, *, symbols: dict[str, str] | None = None,
          define: dict[str, str] | None = None) -> Attack:
    """One step whose claim is ``expr``."""
    return text(_doc(steps=[{"id": "attack", "claim": expr}], symbols=symbols, define=define))


def chain(items: list[str]) -> Attack:
    return text(_doc(steps=[{"id": "attack", "chain": items}]))


def definition(expr: str) -> Attack:
    """``expr`` as a definition; the step itself is harmless."""
    return text(_doc(steps=[{"id": "ok", "claim": "s = s"}], define={"z": expr}))


def field(key: str, value: str) -> Attack:
    """A harmless step carrying ``value`` in its ``key`` (note, id, ...)."""
    step: dict[str, Any] = {"id": "ok", "claim": "x + y = y + x"}
    step[key] = value
    return text(_doc(steps=[step]))


def folder(setup: Callable[[Path], Path]) -> Attack:
    return Attack(setup)


def _nest(template: str, depth: int, core: str) -> str:
    out = core
    for _ in range(depth):
        out = template.format(out)
    return out


def _sum_over(n: int) -> str:
    """Sum over n nested indices of the product of n elements: sum(x) ** n."""
    body = " * ".join(f"x[k{q}]" for q in range(n))
    for q in reversed(range(n)):
        body = f"Sum(k{q}, {body})"
    return body


MANY_INDICES = {"x": "vector K", **{f"k{q}": "index K" for q in range(12)}}


def _billion_laughs(levels: int = 9) -> str:
    lines = ['l0: &l0 "lol"']
    for k in range(1, levels + 1):
        refs = ", ".join([f"*l{k - 1}"] * 9)
        lines.append(f"l{k}: &l{k} [{refs}]")
    return "\n".join(lines) + "\n" + GOOD


# -- file-system cases --------------------------------------------------------------------

def _good_in(folder_: Path, name: str = "good.yaml") -> Path:
    folder_.mkdir(parents=True, exist_ok=True)
    (folder_ / name).write_text(GOOD, encoding="utf-8")
    return folder_


def _symlink_loop(tmp: Path) -> Path:
    top = _good_in(tmp / "loop")
    (top / "again").symlink_to(top, target_is_directory=True)
    (top / "sub").mkdir()
    (top / "sub" / "up").symlink_to(top, target_is_directory=True)
    (top / "sub" / "up.yaml").symlink_to(top, target_is_directory=True)
    return top


def _fifo_in_folder(tmp: Path) -> Path:
    top = _good_in(tmp / "fifo")
    os.mkfifo(top / "pipe.yaml")
    return top


def _only_a_fifo(tmp: Path) -> Path:
    top = tmp / "onlyfifo"
    top.mkdir()
    os.mkfifo(top / "pipe.yaml")
    return top


def _fifo_itself(tmp: Path) -> Path:
    os.mkfifo(tmp / "pipe.yaml")
    return tmp / "pipe.yaml"


def _devices_in_folder(tmp: Path) -> Path:
    top = _good_in(tmp / "devices")
    for dev in ("zero", "urandom", "null", "tty"):
        if os.path.exists(f"/dev/{dev}"):
            (top / f"{dev}.yaml").symlink_to(f"/dev/{dev}")
    return top


def _dev_null_itself(tmp: Path) -> Path:
    (tmp / "null.yaml").symlink_to("/dev/null")
    return tmp / "null.yaml"


def _folder_named_yaml(tmp: Path) -> Path:
    top = tmp / "top"
    _good_in(top / "inner.yaml")  # a folder whose name ends in .yaml
    return top


def _broken_symlink(tmp: Path) -> Path:
    (tmp / "gone.yaml").symlink_to(tmp / "does-not-exist.yaml")
    return tmp / "gone.yaml"


def _missing(tmp: Path) -> Path:
    return tmp / "no-such-file.yaml"


def _traversal(tmp: Path) -> Path:
    _good_in(tmp / "a" / "b")
    return tmp / "a" / "b" / ".." / ".." / "a" / "b" / "good.yaml"


def _bad_among_good(tmp: Path) -> Path:
    top = _good_in(tmp / "mixed")
    (top / "evil.yaml").write_text(f"title: !!python/object/apply:os.system ['touch {MARK}']\n"
                                   .replace(MARK, str(tmp / "MARKER")), encoding="utf-8")
    return top


# -- the table --------------------------------------------------------------------------

_BUG = "engine bug: "
HUGE_FILE = "# " + "x" * 1_100_000 + "\n" + GOOD
DEEP_FLOW = GOOD + "    note: " + "[" * 3000 + "]" * 3000 + "\n"
UNCLOSED_FLOW = GOOD + "    note: " + "[" * 20000 + "\n"

CASES = [
    # Python escapes in expressions: only the whitelisted syntax is read, nothing runs.
    pytest.param(claim("x.__class__ = x"), INPUT_ERROR, id="dunder-attribute"),
    pytest.param(claim("().__class__.__base__.__subclasses__() = x"), INPUT_ERROR,
                 id="subclasses-walk"),
    pytest.param(claim(f"{TOUCH} = s"), INPUT_ERROR, id="dunder-import"),
    pytest.param(claim("getattr(x, 'T') = x"), INPUT_ERROR, id="getattr"),
    pytest.param(claim(f"(lambda: {TOUCH})() = s"), INPUT_ERROR, id="lambda"),
    pytest.param(claim(f"sum([{TOUCH} for q in x]) = s"), INPUT_ERROR, id="list-comprehension"),
    pytest.param(claim(f"sum({TOUCH} for q in x) = s"), INPUT_ERROR, id="generator"),
    pytest.param(claim(f"sum({{q: {TOUCH} for q in x}}) = s"), INPUT_ERROR,
                 id="dict-comprehension"),
    pytest.param(claim(f"f'{{{TOUCH}}}' = s"), INPUT_ERROR, id="f-string"),
    pytest.param(claim("(s := 1) + s = s + 1"), INPUT_ERROR, id="walrus"),
    pytest.param(claim("sum(*x) = s"), INPUT_ERROR, id="starred-call"),
    pytest.param(claim("sum(x, axis=0) = s"), INPUT_ERROR, id="keyword-argument"),
    pytest.param(claim(f"exec(\"{TOUCH}\") = s"), INPUT_ERROR, id="exec-call"),
    pytest.param(claim(f"eval(\"{TOUCH}\") = s"), INPUT_ERROR, id="eval-call"),
    pytest.param(claim(f"open('{MARK}', 'w') = s"), INPUT_ERROR, id="open-call"),
    pytest.param(claim(f"compile(\"{TOUCH}\", 'f', 'exec') = s"), INPUT_ERROR,
                 id="compile-call"),
    pytest.param(claim("breakpoint() = s"), INPUT_ERROR, id="breakpoint-call"),
    pytest.param(claim("globals()['__builtins__'] = s"), INPUT_ERROR, id="globals-subscript"),
    pytest.param(claim("'touch MARKER' = s"), INPUT_ERROR, id="string-literal"),
    pytest.param(claim("b'\\x00' = s"), INPUT_ERROR, id="bytes-literal"),
    pytest.param(claim("1j = s"), INPUT_ERROR, id="complex-literal"),
    pytest.param(claim("... = s"), INPUT_ERROR, id="ellipsis-literal"),
    pytest.param(claim("True = s"), INPUT_ERROR, id="bool-literal"),
    pytest.param(claim("x.T.T.real.imag = x"), INPUT_ERROR, id="attribute-chain"),
    pytest.param(claim("x[0:1] = x"), INPUT_ERROR, id="slice-subscript"),
    pytest.param(claim("x[::-1] = x"), INPUT_ERROR, id="reverse-slice"),
    pytest.param(claim("x[s] = s"), INPUT_ERROR, id="non-index-subscript"),
    pytest.param(claim("sum(x)(s) = s"), INPUT_ERROR, id="call-on-result"),
    pytest.param(claim("x[0](s) = s"), INPUT_ERROR, id="call-on-element"),
    pytest.param(claim("x if s else y = x"), INPUT_ERROR, id="conditional"),
    pytest.param(claim("(x and y) = x"), INPUT_ERROR, id="boolean-operator"),
    pytest.param(claim("s // 2 = s % 2"), INPUT_ERROR, id="floor-div-and-mod"),
    pytest.param(claim("~s = s"), INPUT_ERROR, id="bitwise-invert"),
    pytest.param(claim("s; import os = s"), INPUT_ERROR, id="statement-separator"),
    pytest.param(claim(f"s = s\n{TOUCH}"), INPUT_ERROR, id="newline-second-statement"),
    pytest.param(claim(f"s = s # comment\n{TOUCH}"), INPUT_ERROR,
                 id="comment-hides-second-line"),
    pytest.param(claim("s = s # + 1"), INPUT_ERROR, id="hash-comment-hides-text"),
    pytest.param(claim("d(s)/d(__import__('os')) = s"), INPUT_ERROR, id="escape-in-derivative"),
    pytest.param(claim("eye(__import__) = W"), INPUT_ERROR, id="escape-as-dimension"),
    pytest.param(definition(f"{TOUCH}"), INPUT_ERROR, id="escape-in-definition"),
    pytest.param(chain(["s", f"{TOUCH}"]), INPUT_ERROR, id="escape-in-chain"),
    pytest.param(text(_doc(steps=[{"id": "a", "claim": "s = s"}],
                           symbols={"s": f"scalar {TOUCH}"})), INPUT_ERROR,
                 id="escape-in-kind"),
    pytest.param(text(_doc(steps=[{"id": "a", "claim": "s = s"}]).replace(
        "steps:", f"assume: [{_q(TOUCH)}]\nsteps:")), INPUT_ERROR, id="escape-in-assume"),

    # YAML features that build objects or multiply text.
    pytest.param(text(f"title: !!python/object/apply:os.system ['touch {MARK}']\n"
                      + GOOD.split("\n", 1)[1]), INPUT_ERROR, id="yaml-python-apply"),
    pytest.param(text("title: !!python/name:os.system\n" + GOOD.split("\n", 1)[1]),
                 INPUT_ERROR, id="yaml-python-name"),
    pytest.param(text("title: !!python/object/new:os.system\n  args: ['touch " + MARK + "']\n"
                      + GOOD.split("\n", 1)[1]), INPUT_ERROR, id="yaml-python-new"),
    pytest.param(text("title: !custom t\n" + GOOD.split("\n", 1)[1]), INPUT_ERROR,
                 id="yaml-custom-tag"),
    pytest.param(text(GOOD.replace('claim: "x + y = y + x"', 'claim: !!str "x + y = y + x"')),
                 INPUT_ERROR, id="yaml-standard-tag"),
    pytest.param(text("%TAG !e! tag:example.com,2000:\n---\ntitle: !e!t t\n"
                      + GOOD.split("\n", 1)[1]), INPUT_ERROR, id="yaml-tag-directive"),
    pytest.param(text(_billion_laughs()), INPUT_ERROR, id="billion-laughs"),
    pytest.param(text(GOOD.replace('title: "attack"', 'title: &t "attack"')), INPUT_ERROR,
                 id="yaml-anchor"),
    pytest.param(text("base: &b {x: vector n}\n" + GOOD.replace(
        "symbols:\n", "symbols:\n  <<: *b\n")), INPUT_ERROR, id="yaml-merge-alias"),
    pytest.param(text(GOOD + "---\n" + GOOD), INPUT_ERROR, id="yaml-two-documents"),
    pytest.param(text(GOOD + "title: again\n"), INPUT_ERROR, id="yaml-duplicate-key"),
    pytest.param(text("? [a, b]\n: c\n" + GOOD), INPUT_ERROR, id="yaml-complex-key"),
    pytest.param(text(GOOD + "    note: " + "[" * 500 + "]" * 500 + "\n"), INPUT_ERROR,
                 id="yaml-deep-flow-500"),
    pytest.param(text(DEEP_FLOW), INPUT_ERROR, id="yaml-deep-flow-3000"),
    pytest.param(text(UNCLOSED_FLOW), INPUT_ERROR, id="yaml-unclosed-flow-20000"),
    pytest.param(text(GOOD + "    note:\n" + "".join(
        "      " + " " * (2 * k) + "-\n" for k in range(600))), INPUT_ERROR,
        id="yaml-deep-block"),

    # Sizes.
    pytest.param(text(HUGE_FILE), INPUT_ERROR, id="file-over-1MB"),
    pytest.param(claim("s = " + " + ".join(["s"] * 1500)), INPUT_ERROR,
                 id="expression-over-4000"),
    pytest.param(text(_doc(steps=[{"id": f"s{k}", "claim": "s = s"} for k in range(2001)])),
                 INPUT_ERROR, id="too-many-steps"),
    pytest.param(text(_doc(title="t" * 900_000, steps=[{"id": "ok", "claim": "s = s"}])),
                 HOLDS, id="long-line-title"),
    pytest.param(claim("s = " + "(" * 200 + "s" + ")" * 200), INPUT_ERROR, id="deep-brackets"),
    pytest.param(claim("s = " + "-" * 3990 + "s"), INPUT_ERROR, id="unary-minus-3990"),
    # the tree may be 200 deep (a flat sum of n terms is n deep); past it: refused
    pytest.param(claim("s = " + "-" * 201 + "s"), INPUT_ERROR, id="unary-minus-201"),
    pytest.param(claim("s = " + _nest("exp({})", 100, "s")), INPUT_ERROR, id="nested-calls"),
    pytest.param(claim("s = " + _nest("{}.T", 500, "s")), INPUT_ERROR, id="transpose-chain"),
    pytest.param(claim("s = " + " * ".join(["s"] * 900)), INPUT_ERROR, id="long-product"),
    pytest.param(claim("s ** 9 ** 9 ** 9 = s"), INPUT_ERROR, id="exponent-tower"),
    pytest.param(claim("x ** 9 ** 9 ** 9 = x"), INPUT_ERROR, id="exponent-tower-vector"),
    pytest.param(claim("s ** 1e308 = s"), INPUT_ERROR, id="float-exponent"),
    pytest.param(claim("2 ** 100000 = s"), INPUT_ERROR, id="huge-exponent"),
    pytest.param(claim("s ** -100000 = s"), INPUT_ERROR, id="huge-negative-exponent"),
    pytest.param(claim("s = " + "9" * 1000), INPUT_ERROR, id="integer-1000-digits"),
    pytest.param(claim("s = 1e400"), INPUT_ERROR, id="float-overflow-literal"),
    pytest.param(claim("x[10000000] = s"), INPUT_ERROR, id="huge-index-literal"),
    pytest.param(claim("(1000000 ** 64) ** 64 = (1000000 ** 64) ** 64"), UNDECIDED,
                 id="overflowing-constant"),
    pytest.param(claim("((0.000001 ** -64) ** 64) * 0 = 0"), UNDECIDED, id="inf-times-zero"),
    pytest.param(claim("2 ** (n * n * n * n * n * n * n * n) = 2 ** (n * n * n * n * n * n * n "
                       "* n)"), HOLDS_OR_UNDECIDED, id="dimension-exponent"),
    pytest.param(claim("s / 0 = s / 0"), UNDECIDED, id="division-by-zero"),
    pytest.param(claim("log(-1 - s ** 2) = log(-1 - s ** 2)"), UNDECIDED, id="empty-domain"),
    # true, but at the sampled points the values reach 1e274, where the finite-difference
    # cross-check of the engine's derivative may fail: holds, or undecided, never refuted.
    pytest.param(claim("d(exp(exp(exp(exp(s)))))/d(s) = exp(exp(exp(exp(s)))) * "
                       "exp(exp(exp(s))) * exp(exp(s)) * exp(s)"), HOLDS_OR_UNDECIDED,
                 id="exp-tower-derivative"),
    pytest.param(claim("d(d(d(sum(x) ** 3)/d(x))/d(x))/d(x) = x"), UNDECIDED,
                 id="third-derivative-tensor"),
    pytest.param(claim("d(sum(x) ** 64)/d(x) = 64 * sum(x) ** 63"), ILL_FORMED,
                 id="derivative-shape"),
    # A wrong step must never hold: a huge constant must not hide a missing term.
    pytest.param(claim("exp(100) + s = exp(100)"), NOT_HOLDS, id="huge-constant-masks-term"),
    pytest.param(claim("1000000 ** 3 * (s ** 2 + 1) + 1 = 1000000 ** 3 * (s ** 2 + 1)"),
                 NOT_HOLDS, id="huge-factor-masks-term"),
    pytest.param(claim(" * ".join(f"(s + {k})" for k in range(1, 41)) + " = "
                       + " * ".join(f"({k} + s)" for k in reversed(range(1, 41)))),
                 HOLDS_OR_UNDECIDED, id="factorial-like-product"),  # past 1e4: proof decides

    # Absurd dimensions and index blow-ups.
    pytest.param(text(_doc(steps=[{"id": "a", "claim": "W = W"}], define={},
                           symbols={"W": "matrix 100000 100000"})), INPUT_ERROR,
                 id="matrix-100000-100000"),
    pytest.param(text(_doc(steps=[{"id": "a", "claim": "W = W"}], define={},
                           symbols={"W": "matrix N100000 M100000"})), HOLDS,
                 id="matrix-long-dimension-names"),
    pytest.param(text(_doc(steps=[{"id": "a", "claim": "v0 = v0"}], define={},
                           symbols={f"v{k}": f"vector D{k}" for k in range(13)})), INPUT_ERROR,
                 id="too-many-dimension-names"),
    pytest.param(text(_doc(steps=[{"id": "a", "claim": "W = W"}], define={},
                           symbols={"W": "matrix " + " ".join(f"D{k}" for k in range(50))})),
                 INPUT_ERROR, id="too-many-dimensions-in-kind"),
    pytest.param(claim(_sum_over(6) + " = sum(x) ** 6", symbols=MANY_INDICES, define={}),
                 HOLDS, id="nested-sum-6"),
    pytest.param(claim(_sum_over(12) + " = sum(x) ** 12", symbols=MANY_INDICES, define={}),
                 UNDECIDED, id="nested-sum-12"),
    pytest.param(claim(" * ".join(f"x[k{q}]" for q in range(12)) + " = "
                       + " * ".join(f"x[k{q}]" for q in reversed(range(12))),
                       symbols=MANY_INDICES, define={}), UNDECIDED, id="free-indices-12"),

    # Unicode: nothing may silently alias a declared (ASCII) name.
    pytest.param(claim("х = x"), INPUT_ERROR, id="cyrillic-x"),
    pytest.param(claim("Αx = x"), INPUT_ERROR, id="greek-alpha-prefix"),
    pytest.param(claim("ｘ = x"), INPUT_ERROR, id="fullwidth-x"),
    pytest.param(claim("𝐱 = x"), INPUT_ERROR, id="mathematical-bold-x"),
    pytest.param(claim("x = x + ｙ - y"), INPUT_ERROR, id="fullwidth-in-sum"),
    pytest.param(claim("s * １ = s"), INPUT_ERROR, id="fullwidth-digit"),
    pytest.param(claim("x\u200d = x"), INPUT_ERROR, id="zero-width-joiner"),
    pytest.param(claim("x\u200b + y = y + x"), INPUT_ERROR, id="zero-width-space"),
    pytest.param(claim("x = \u202ey + x\u202c - y"), INPUT_ERROR, id="right-to-left-override"),
    pytest.param(claim("x\u0301 = x"), INPUT_ERROR, id="combining-accent"),
    pytest.param(claim("x\u00a0+ y = y + x"), INPUT_ERROR, id="no-break-space"),
    pytest.param(claim("1 / ｎ = 1 / n"), INPUT_ERROR, id="fullwidth-dimension"),
    pytest.param(text(_doc(steps=[{"id": "a", "claim": "x = x"}], define={},
                           symbols={"х": "vector n", "x": "vector n"})), INPUT_ERROR,
                 id="cyrillic-symbol-declared"),
    pytest.param(text(_doc(steps=[{"id": "a", "claim": "x = x"}], define={},
                           symbols={"x": "vector ｎ"})), INPUT_ERROR,
                 id="fullwidth-dimension-declared"),
    pytest.param(text(_doc(steps=[{"id": "a", "claim": "x = x"}],
                           define={"ﬁ": "x"})), INPUT_ERROR, id="ligature-defined-name"),

    # Encodings and line endings.
    pytest.param(raw(GOOD.encode().replace(b"x + y", b"x + y\x00")), INPUT_ERROR,
                 id="nul-byte"),
    pytest.param(claim("x + y\u0000 = y + x"), INPUT_ERROR, id="nul-escape-in-claim"),
    pytest.param(raw(GOOD.encode() + b"# \xff\xfe\xc3\x28\n"), INPUT_ERROR,
                 id="invalid-utf8"),
    pytest.param(raw(GOOD.encode("utf-16")), INPUT_ERROR, id="utf16-file"),
    pytest.param(raw(b"\xef\xbb\xbf" + GOOD.encode()), HOLDS, id="utf8-bom"),
    pytest.param(raw(GOOD.replace("\n", "\r\n").encode()), HOLDS, id="crlf"),
    pytest.param(raw(GOOD.replace("\n", "\r").encode()), HOLDS, id="cr-only"),
    pytest.param(text(GOOD.replace("x + y = y + x", "x\\t+\\ty\\t=\\ty + x")), HOLDS,
                 id="tabs-in-expression"),
    pytest.param(text(GOOD.replace("  x:", "\tx:")), INPUT_ERROR, id="tab-indentation"),
    pytest.param(claim("x + y = y + x\u2028"), INPUT_ERROR, id="line-separator"),
    pytest.param(claim("x + y = y \x0c+ x"), HOLDS, id="form-feed-in-expression"),
    pytest.param(claim("x + y = y + x\ud800"), INPUT_ERROR, id="surrogate-in-claim"),
    pytest.param(text(_doc(title="\ud800", steps=[{"id": "ok", "claim": "s = s"}])),
                 INPUT_ERROR, id="surrogate-in-title"),
    pytest.param(field("note", "\udfff"), INPUT_ERROR, id="surrogate-in-note"),
    pytest.param(text(_doc(steps=[{"id": "a\udfff", "claim": "s = s"}])), INPUT_ERROR,
                 id="surrogate-in-step-id"),

    # Markup and control characters in free text are data (JSON escapes them).
    pytest.param(text(_doc(title="<script>alert(1)</script> **bold** [x](javascript:x)",
                           steps=[{"id": "ok", "claim": "s = s"}])), HOLDS, id="html-title"),
    pytest.param(field("note", "<img src=x onerror=alert(1)> | a | b |\n# heading"), HOLDS,
                 id="html-markdown-note"),
    pytest.param(field("id", "<b>id</b>`rm -rf /`"), HOLDS, id="markup-step-id"),
    pytest.param(text(_doc(title="\x1b[2J\x1b[31mred", steps=[{"id": "ok", "claim": "s = s"}])),
                 HOLDS, id="ansi-escape-title"),
    pytest.param(field("note", "\u202egnp.exe"), HOLDS, id="right-to-left-note"),
    pytest.param(text(_doc(title="$(touch " + MARK + ")`touch " + MARK + "`",
                           steps=[{"id": "ok", "claim": "s = s"}])), HOLDS,
                 id="shell-in-title"),

    # Files and folders handed to `verify`.
    pytest.param(folder(_symlink_loop), HOLDS, id="symlink-loop-folder"),
    pytest.param(folder(_fifo_in_folder), HOLDS, id="fifo-in-folder"),
    pytest.param(folder(_only_a_fifo), INPUT_ERROR, id="folder-with-only-a-fifo"),
    pytest.param(folder(_fifo_itself), INPUT_ERROR, id="fifo-given"),
    pytest.param(folder(_devices_in_folder), HOLDS, id="devices-in-folder"),
    pytest.param(folder(_dev_null_itself), INPUT_ERROR, id="dev-null-given"),
    pytest.param(folder(_folder_named_yaml), HOLDS, id="folder-named-yaml"),
    pytest.param(folder(_broken_symlink), INPUT_ERROR, id="broken-symlink"),
    pytest.param(folder(_missing), INPUT_ERROR, id="missing-path"),
    pytest.param(folder(_traversal), HOLDS, id="dot-dot-path"),
    pytest.param(folder(_bad_among_good), INPUT_ERROR, id="hostile-file-among-good"),
]

# Cases run again with the symbolic stage (worker processes) on.
SYMBOLIC_IDS = {
    "dunder-import", "billion-laughs", "exponent-tower", "integer-1000-digits",
    "overflowing-constant", "inf-times-zero", "dimension-exponent", "exp-tower-derivative",
    "factorial-like-product", "nested-sum-6", "huge-constant-masks-term",
    "matrix-long-dimension-names", "fullwidth-x",
    "crlf", "html-title", "symlink-loop-folder", "fifo-in-folder", "hostile-file-among-good",
}
SYMBOLIC_CASES = [c for c in CASES if c.id in SYMBOLIC_IDS]


# -- guards -----------------------------------------------------------------------------

class Hang(BaseException):
    """Raised by the watchdog; a BaseException so that no ``except Exception`` eats it."""


@contextmanager
def watchdog(seconds: float) -> Iterator[None]:
    """Interrupt the block after ``seconds`` of wall time (main thread only)."""
    def on_alarm(signum: int, frame: object) -> None:
        raise Hang(f"still running after {seconds:g} s")

    old = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


class Forbidden(Exception):
    """Raised in place of a process start, a connection or an eval of input."""


@dataclass
class Guard:
    """Replaces process, network and code-evaluation entry points while active."""

    monkeypatch: pytest.MonkeyPatch
    canary: str
    attempts: list[str]

    def block(self, owner: Any, name: str) -> None:
        if not hasattr(owner, name):
            return

        def refuse(*args: Any, **kwargs: Any) -> None:
            self.attempts.append(f"{getattr(owner, '__name__', owner)}.{name}{args[:2]!r}")
            raise Forbidden(f"{name} called during an attack case")

        self.monkeypatch.setattr(owner, name, refuse)

    def spy(self, name: str) -> None:
        """Let builtins.eval/exec/compile run, but record any source holding the canary."""
        real = getattr(builtins, name)

        def spying(source: Any, *args: Any, **kwargs: Any) -> Any:
            flags = args[2] if len(args) >= 3 else kwargs.get("flags", 0)
            only_ast = name == "compile" and flags & 0x400  # PyCF_ONLY_AST: ast.parse
            if isinstance(source, bytes):
                source = source.decode("utf-8", "replace")
            if isinstance(source, str) and not only_ast and self.canary in source:
                self.attempts.append(f"{name}({source[:80]!r})")
                raise Forbidden(f"{name} called on input text")
            return real(source, *args, **kwargs)

        self.monkeypatch.setattr(builtins, name, spying)


@contextmanager
def guarded(tmp_path: Path, *, processes: bool = True) -> Iterator[list[str]]:
    """Forbid processes (when ``processes``), shells and connections; yield the attempts."""
    attempts: list[str] = []
    with pytest.MonkeyPatch.context() as mp:
        guard = Guard(mp, "MARKER", attempts)
        for owner, name in [(subprocess, "Popen"), (os, "system"), (os, "popen"),
                            (os, "posix_spawn"), (os, "posix_spawnp"), (os, "execv"),
                            (os, "execve"), (os, "execvp"), (os, "spawnv"),
                            (socket.socket, "connect"), (socket.socket, "connect_ex"),
                            (socket, "create_connection")]:
            guard.block(owner, name)
        if processes:
            for name in ("fork", "forkpty"):
                guard.block(os, name)
        for name in ("eval", "exec", "compile"):
            guard.spy(name)
        mp.chdir(tmp_path)
        yield attempts


# -- running a case -----------------------------------------------------------------------

def library_outcome(path: Path, options: Options) -> str:
    """Load and verify every file of ``path`` through the Python API."""
    files = expand_paths([path])
    if not files:
        return INPUT_ERROR
    outcomes = []
    for f in files:
        try:
            steps = verify_derivation(load_file(f), options)
        except InputError:
            outcomes.append(INPUT_ERROR)
            continue
        assert steps, f"{f}: loaded without steps"
        outcomes.append(_of_verdict(combine([s.verdict for s in steps])))
    return _worst(outcomes)


def cli_outcome(argv: list[str], capsys: pytest.CaptureFixture) -> tuple[str, int, dict | None]:
    """Run ``derivcheck verify`` with JSON output: (outcome, exit code, parsed report)."""
    code = main(["verify", *argv, "--format", "json"])
    out = capsys.readouterr().out
    if code == 2 and not out.strip():  # refused before any file was read (no such path)
        return INPUT_ERROR, code, None
    report = json.loads(out)
    outcomes = []
    for f in report["files"]:
        if f["error"]:
            assert isinstance(f["error"], str) and f["error"].strip()
            outcomes.append(INPUT_ERROR)
        else:
            assert f["steps"], f"{f['path']}: no steps and no error"
            outcomes.append(_worst([_of_verdict(s["verdict"]) for s in f["steps"]]))
    assert outcomes, "the report lists no file"
    return _worst(outcomes), code, report


def _exit_code_for(outcome: str) -> int:
    return {INPUT_ERROR: 2, HOLDS: 0}.get(outcome, 1)


def timed(seconds: float, what: str, fn: Callable[[], Any]) -> Any:
    start = time.monotonic()
    hung = False
    try:
        with watchdog(seconds):
            value = fn()
    except Hang:
        hung = True
    if hung:
        # Outside the handler and without a traceback: the frame the alarm interrupted may
        # have no line number, which pytest's traceback printer cannot render.
        pytest.fail(f"{what}: did not finish within {seconds:g} s", pytrace=False)
    elapsed = time.monotonic() - start
    assert elapsed < seconds, f"{what}: took {elapsed:.1f} s (limit {seconds:g} s)"
    return value


def _check_nothing_happened(tmp_path: Path, attempts: list[str]) -> None:
    assert not (tmp_path / "MARKER").exists(), "a payload created the marker file"
    assert attempts == [], f"forbidden calls: {attempts}"


def _accepts(expected: str | frozenset[str], got: str) -> bool:
    return got in expected if isinstance(expected, frozenset) else got == expected


@pytest.mark.parametrize(("attack", "expected"), CASES)
def test_attack(attack: Attack, expected: str | frozenset[str], tmp_path: Path,
                capsys: pytest.CaptureFixture) -> None:
    work = tmp_path / "work"
    work.mkdir()
    path = attack.make(work)
    with guarded(work) as attempts:
        got = timed(LIMIT, "load + verify", lambda: library_outcome(path, FAST))
        assert _accepts(expected, got), f"outcome {got}, expected {expected}"
        _check_nothing_happened(work, attempts)

        argv = [str(path), "--no-symbolic", "--workers", "1"]
        outcome, code, report = timed(LIMIT, "derivcheck verify --format json",
                                      lambda: cli_outcome(argv, capsys))
        assert (outcome, code) == (got, _exit_code_for(got))  # same seed, same result
        if report is not None:
            errors = report["summary"]["input_errors"]
            assert errors >= 1 if got == INPUT_ERROR else errors == 0
        code_text = timed(LIMIT, "derivcheck verify (text)", lambda: main(["verify", *argv]))
        assert code_text == code
        capsys.readouterr()
        _check_nothing_happened(work, attempts)


@pytest.mark.parametrize(("attack", "expected"), SYMBOLIC_CASES)
def test_attack_with_symbolic_stage(attack: Attack, expected: str | frozenset[str],
                                    tmp_path: Path,
                                    capsys: pytest.CaptureFixture) -> None:
    work = tmp_path / "work"
    work.mkdir()
    path = attack.make(work)
    options = Options(symbolic=True, time_limit=SYMBOLIC_TIME_LIMIT, workers=2)
    with guarded(work, processes=False) as attempts:
        got = timed(LIMIT, "load + verify (symbolic)", lambda: library_outcome(path, options))
        assert _accepts(expected, got), f"outcome {got}, expected {expected}"
        argv = [str(path), "--time-limit", str(SYMBOLIC_TIME_LIMIT)]
        outcome, code, _ = timed(LIMIT, "derivcheck verify (symbolic)",
                                 lambda: cli_outcome(argv, capsys))
        assert (outcome, code) == (got, _exit_code_for(got))
        _check_nothing_happened(work, attempts)


def test_the_corpus_is_large_enough() -> None:
    assert len(CASES) >= 60
    assert len({c.id for c in CASES}) == len(CASES)
    assert {c.id for c in CASES} >= SYMBOLIC_IDS


# -- things the table cannot say -----------------------------------------------------------

def test_free_text_stays_data_in_json(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    title = '<script>alert("x")</script> **b** \x1b[31m "quoted" \\ back'
    note = "| a |\n|---|\n<img src=x onerror=alert(1)>"
    path = tmp_path / "markup.yaml"
    path.write_text(_doc(title=title, steps=[{"id": "<i>", "claim": "s = s", "note": note}]),
                    encoding="utf-8")
    assert main(["verify", str(path), "--no-symbolic", "--format", "json"]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out  # control characters are escaped by JSON
    report = json.loads(out)
    f = report["files"][0]
    assert f["title"] == title
    assert f["steps"][0]["id"] == "<i>"
    assert f["steps"][0]["note"] == note


def test_a_marker_payload_would_be_noticed(tmp_path: Path) -> None:
    """The guards are live: an eval of payload text and a process start are caught."""
    with guarded(tmp_path) as attempts:
        with pytest.raises(Forbidden):
            eval("'MARKER'")  # the spy must catch exactly this
        with pytest.raises(Forbidden):
            subprocess.run(["true"], check=False)
        with pytest.raises(Forbidden):
            os.system("true")
        with pytest.raises(Forbidden):
            socket.create_connection(("127.0.0.1", 9))
    assert len(attempts) == 4
    with pytest.raises(Hang), watchdog(0.2):
        time.sleep(5)


def test_the_fifo_cases_make_real_fifos(tmp_path: Path) -> None:
    assert stat.S_ISFIFO(os.stat(_fifo_itself(tmp_path)).st_mode)
