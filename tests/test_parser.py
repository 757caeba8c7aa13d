"""The expression parser: what it accepts, how it groups, the round trip, and what it refuses.

Refusals are checked by the error's 0-based offset (it must point at the
offending piece of text) and one substring of the message.
"""

from __future__ import annotations

import builtins
import importlib
import pkgutil
import sys
from fractions import Fraction
from pathlib import Path

import pytest
import sympy
import sympy.parsing.sympy_parser as sympy_parser

import derivcheck
from derivcheck.decide import Options
from derivcheck.errors import ExprError
from derivcheck.ir import E
from derivcheck.load import load_text
from derivcheck.parse.expr import Scope, parse_expression, split_claim
from derivcheck.printer import to_text
from derivcheck.verify import verify_file
from tests.conftest import DERIVATIONS, FAST, derivation_yaml

_DOC = load_text(derivation_yaml(
    symbols={"x": "vector n", "y": "vector n", "A": "matrix n n", "M": "matrix n m",
             "s": "scalar", "u": "scalar", "i": "index n", "j": "index m", "k": "index n"},
    define={"z": "A @ x + y", "L": "sum(z ** 2)", "f": "s * u"},
    steps=[{"id": "s1", "claim": "x = x"}]))
SCOPE = Scope(_DOC.symbols, frozenset({"z", "L", "f"}), frozenset(_DOC.dims))


def parse(text: str) -> E:
    return parse_expression(text, SCOPE)


def sym(name: str) -> E:
    return E("sym", val=name)


def num(value: int | str) -> E:
    return E("num", val=Fraction(value))


def deriv(f: E, v: E) -> E:
    return E("d", (f, v), None)


# -- accepted expressions ----------------------------------------------------------

# (text, op of the root, val of the root)
ACCEPTED = [
    ("x + y", "add", None),
    ("x - y", "sub", None),
    ("x * y", "mul", None),
    ("x / y", "div", None),
    ("x ** 2", "pow", None),
    ("A @ x", "matmul", None),
    ("x.T", "T", None),
    ("-x", "neg", None),
    ("+x", "sym", "x"),
    ("2.5", "num", Fraction(5, 2)),
    ("7", "num", Fraction(7)),
    ("log(x)", "fn", "log"),
    ("log2(x)", "fn", "log2"),
    ("log10(x)", "fn", "log10"),
    ("exp(x)", "fn", "exp"),
    ("sqrt(x)", "fn", "sqrt"),
    ("abs(x)", "fn", "abs"),
    ("tanh(x)", "fn", "tanh"),
    ("sigmoid(x)", "fn", "sigmoid"),
    ("relu(x)", "fn", "relu"),
    ("relu_prime(x)", "fn", "relu_prime"),
    ("softmax(x)", "fn", "softmax"),
    ("logsumexp(x)", "fn", "logsumexp"),
    ("diag(x)", "fn", "diag"),
    ("tr(A)", "fn", "tr"),
    ("det(A)", "fn", "det"),
    ("inv(A)", "fn", "inv"),
    ("sum(x)", "sum", None),
    ("sum(M, 0)", "sum", 0),
    ("sum(M, 1)", "sum", 1),
    ("mean(x)", "mean", None),
    ("mean(M, 0)", "mean", 0),
    ("delta(i, k)", "delta", None),
    ("onehot(i, n)", "onehot", "n"),
    ("eye(n)", "eye", "n"),
    ("Sum(i, x[i])", "Sum", "i"),
    ("x[i]", "elem", None),
    ("x[0]", "elem", None),
    ("M[i, j]", "elem", None),
    ("z[i]", "elem", None),
    ("n", "dim", "n"),
    ("z", "ref", "z"),
    ("d(L)/d(x)", "d", None),
    ("d(L)/d(z)", "d", None),
    ("d(L)/d(x[i])", "d", None),
    ("d(z[i])/d(A[i, k])", "d", None),
    ("d(z)/d(x)", "d", None),
    ("d(f)/d(s)", "d", None),
]


@pytest.mark.parametrize(("text", "op", "val"), ACCEPTED, ids=[c[0] for c in ACCEPTED])
def test_accepted_expression_root(text: str, op: str, val: object) -> None:
    node = parse(text)
    assert (node.op, node.val) == (op, val)


# Derivatives bind tighter than the operators around them: each text must read as
# the tree on the right, never as a division of something by d(v).
GROUPING = [
    ("scaled", "s * d(f)/d(u)", E("mul", (sym("s"), deriv(E("ref", val="f"), sym("u"))))),
    ("negated", "-d(f)/d(u)", E("neg", (deriv(E("ref", val="f"), sym("u")),))),
    ("product of derivatives", "d(f)/d(s) * d(f)/d(u)",
     E("mul", (deriv(E("ref", val="f"), sym("s")), deriv(E("ref", val="f"), sym("u"))))),
    ("matmul of derivatives", "d(z)/d(x) @ d(L)/d(z)",
     E("matmul", (deriv(E("ref", val="z"), sym("x")),
                  deriv(E("ref", val="L"), E("ref", val="z"))))),
    ("scaled product", "2 * d(f)/d(s) * d(f)/d(u)",
     E("mul", (E("mul", (num(2), deriv(E("ref", val="f"), sym("s")))),
               deriv(E("ref", val="f"), sym("u"))))),
    ("derivative minus derivative", "d(f)/d(s) - d(f)/d(u)",
     E("sub", (deriv(E("ref", val="f"), sym("s")), deriv(E("ref", val="f"), sym("u"))))),
    ("divided by a number", "d(f)/d(s) / 2",
     E("div", (deriv(E("ref", val="f"), sym("s")), num(2)))),
]


@pytest.mark.parametrize(("text", "tree"), [c[1:] for c in GROUPING], ids=[c[0] for c in GROUPING])
def test_derivatives_group_as_products(text: str, tree: E) -> None:
    assert parse(text) == tree


def test_positions_are_offsets_into_the_text() -> None:
    node = parse("x + exp(y)")
    assert node.pos == 0
    assert node.args[1].pos == 4
    assert node.args[1].args[0].pos == 8


# -- round trip ------------------------------------------------------------------

ROUND_TRIP = [
    "x + y - z", "x - (y - z)", "(x - y) - z", "x / (y * s)", "x / y * s", "-x ** 2",
    "(-x) ** 2", "x ** (-s)", "(x ** 2) ** 3", "-x.T", "(-x).T", "(x + y).T", "x.T.T",
    "A @ x * s", "A @ (x * s)", "(x + y)[i]", "3 - -3", "s * -u", "Sum(i, x[i] * y[i])",
    "delta(i, k) * x[k]", "onehot(i, n)", "eye(n) - A", "sum(M, 0) @ M.T", "mean(M, 1)",
    "logsumexp(A)", "softmax(A @ x)", "diag(diag(A))", "tr(inv(A) @ A) / n",
    "det(A) * inv(A).T", "relu_prime(x) * relu(x)", "log2(exp(x)) + log10(abs(x))",
    "s * d(f)/d(u)", "-d(f)/d(u)", "d(f)/d(s) * d(f)/d(u)", "d(z)/d(x) @ d(L)/d(z)",
    "d(L)/d(x[i]) - x[i]", "d(z[i])/d(A[i, k])", "sqrt(tanh(sigmoid(x)))",
]


@pytest.mark.parametrize("text", ROUND_TRIP, ids=ROUND_TRIP)
def test_round_trip(text: str) -> None:
    node = parse(text)
    assert parse(to_text(node)) == node


DECIMALS = ["x * 0.5", "2 ** 0.5", "0.001 * x", "s + 2.25"]


@pytest.mark.parametrize("text", DECIMALS, ids=DECIMALS)
def test_round_trip_of_decimals(text: str) -> None:
    node = parse(text)
    assert parse(to_text(node)) == node


# -- refusals --------------------------------------------------------------------

# (id, text, offset of the offending piece, substring of the message)
REFUSED = [
    ("transpose of a derivative unparenthesised", "d(s)/d(x).T", 0,
     "d(f)/d(v).T reads as d(f) / (d(v).T)"),
    ("dunder attribute", "x + y.__class__", 4, "__class__"),
    ("dunder chain", "x.__class__.__base__", 0, "attribute"),
    ("__import__", "__import__('os')", 0, "unknown function '__import__'"),
    ("getattr", "s + getattr(x, 'T')", 4, "unknown function 'getattr'"),
    ("eval call", "eval('1')", 0, "unknown function 'eval'"),
    ("lambda", "s + (lambda: 1)", 5, "lambda"),
    ("list comprehension", "[x for x in y]", 0, "comprehension"),
    ("generator", "sum(x for x in y)", 3, "generator"),  # the generator owns the brackets
    ("f-string", "s + f'{s}'", 4, "f-string"),
    ("walrus", "s + (u := s)", 5, ":="),
    ("starred call", "sum(*x)", 0, "starred"),
    ("keyword argument", "sum(x, axis=0)", 0, "keyword"),
    ("string", "s + 'abc'", 4, "literal"),
    ("bytes", "b'x'", 0, "literal"),
    ("bool", "s * True", 4, "literal True"),
    ("None", "None", 0, "literal None"),
    ("complex literal", "s + 2j", 4, "literal 2j"),
    ("comparison", "s < u", 0, "comparison"),
    ("chained comparison", "x + (s == u)", 5, "comparison"),
    ("boolean operator", "s and u", 0, "boolean"),
    ("not", "not s", 0, "not"),
    ("conditional", "x if s else y", 0, "conditional"),
    ("floor division", "x + y // s", 4, "'//'"),
    ("modulo", "s % u", 0, "'%'"),
    ("bit and", "s & u", 0, "'&'"),
    ("bit or", "s | u", 0, "'|'"),
    ("bit xor", "s ^ u", 0, "'^'"),
    ("shift", "s << u", 0, "'<<'"),
    ("invert", "s + ~u", 4, "'~'"),
    ("unknown name", "x + W3", 4, "unknown name 'W3'"),
    ("unknown function", "x + foo(x)", 4, "unknown function 'foo'"),
    ("function used as a name", "exp + x", 0, "is a function"),
    ("method call", "x.sum()", 0, "named functions"),
    ("attribute other than T", "x.shape", 0, "'.shape'"),
    ("attribute H", "A.H", 0, "'.H'"),
    ("huge integer", "s * 10000000", 4, "too large"),
    ("huge float", "s * 1e300", 4, "out of range"),
    ("exponent tower", "2**2**2", 0, "tower"),
    ("tower with symbols", "s ** u ** 2", 0, "tower"),
    ("huge exponent", "x ** 65", 5, "exponent 65"),
    ("huge power of a number", "10 ** 100", 6, "exponent 100"),
    ("deep brackets", "(" * 61 + "x" + ")" * 61, 0, "nested too deeply"),
    ("deep unary chain", "-" * 250 + "x", 201, "nested too deeply"),  # where the limit is passed
    ("over-long text", "x" + " + x" * 1100, 0, "too long"),
    ("scalar as index", "x[s]", 2, "'s' is not an index"),
    ("dimension as index", "x[n]", 2, "'n' is not an index"),
    ("vector as index", "x[y]", 2, "'y' is not an index"),
    ("float index", "x[1.5]", 2, "cannot be an index"),
    ("negative index", "x[-1]", 2, "cannot be an index"),
    ("slice", "x[0:2]", 2, "slice"),
    ("three indices", "M[i, j, k]", 0, "one or two indices"),
    ("Sum over a non-index", "Sum(s, x)", 4, "not an index"),
    ("derivative by a transpose", "d(L)/d(x.T)", 7, "v must be"),
    ("derivative by a sum", "d(L)/d(x + y)", 7, "v must be"),
    ("lone d(f)", "d(L) + x", 0, "d(f)/d(v)"),
    ("d with two arguments", "d(L, x)/d(x)", 0, "exactly one"),
    ("sum axis 2", "sum(M, 2)", 7, "axis must be 0 or 1"),
    ("wrong arity", "exp(x, y)", 0, "takes 1 argument"),
    ("eye of a symbol", "eye(x)", 4, "dimension"),
    ("tuple", "(x, y)", 0, "tuple"),
    ("list", "[x]", 0, "list"),
    ("dict", "{1: x}", 0, "dict"),
    ("set", "{x}", 0, "set"),
    ("empty", "   ", 0, "empty"),
    ("syntax error", "x + (y", 4, "syntax error"),
]


@pytest.mark.parametrize(("text", "offset", "fragment"), [c[1:] for c in REFUSED],
                         ids=[c[0] for c in REFUSED])
def test_refused_with_offset(text: str, offset: int, fragment: str) -> None:
    with pytest.raises(ExprError) as info:
        parse(text)
    assert fragment in info.value.message
    assert info.value.offset == offset


def test_unknown_name_lists_the_declared_names() -> None:
    with pytest.raises(ExprError) as info:
        parse("W3 @ x")
    hint = info.value.hint
    for name in ("x", "y", "A", "M", "s"):
        assert name in hint
    assert "i" in hint and "z" in hint and "n" in hint


@pytest.mark.parametrize("text", ["x ** -65", "x ** -1000000"], ids=["-65", "-1000000"])
def test_huge_negative_exponent_is_refused(text: str) -> None:
    with pytest.raises(ExprError) as info:
        parse(text)
    assert "too large" in info.value.message


def test_offset_counts_characters_not_bytes() -> None:
    text = "sum('é', 2) + ñ"
    with pytest.raises(ExprError) as info:
        parse(text)
    # The first non-ASCII character is refused where it is (a character offset).
    assert info.value.offset == text.index("é")
    assert "non-ASCII" in info.value.message


# Confusables and NFKC-folded look-alikes never alias a declared name.
CONFUSABLES = [
    ("fullwidth x", "x + \uff58"),
    ("cyrillic x", "x + \u0445"),
    ("greek capital alpha", "\u0391 @ x"),
    ("zero-width joiner", "x\u200d + x"),
    ("right-to-left override", "x + \u202ex"),
    ("fullwidth digit", "x * \uff12"),
]


@pytest.mark.parametrize("text", [c[1].encode().decode("unicode_escape") for c in CONFUSABLES],
                         ids=[c[0] for c in CONFUSABLES])
def test_non_ascii_characters_are_refused(text: str) -> None:
    with pytest.raises(ExprError) as info:
        parse(text)
    assert "non-ASCII" in info.value.message
    assert ord(text[info.value.offset]) > 127


def test_leading_spaces_shift_the_offset() -> None:
    with pytest.raises(ExprError) as info:
        parse("   x + qq")
    assert info.value.offset == 7


SPLITS = [
    ("simple", "a = b", ("a ", 0, " b", 3)),
    ("equals inside brackets", "f(a) = g(b)", ("f(a) ", 0, " g(b)", 6)),
]


@pytest.mark.parametrize(("text", "parts"), [c[1:] for c in SPLITS], ids=[c[0] for c in SPLITS])
def test_split_claim(text: str, parts: tuple) -> None:
    assert split_claim(text) == parts


SPLIT_REFUSED = [
    ("no equals", "a + b", 5, "needs one '='"),
    ("two equals", "a = b = c", 6, "exactly one '='"),
    ("double equals", "a == b", 2, "comparisons"),
    ("less or equal", "a <= b", 3, "comparisons"),
    ("not equal", "a != b", 3, "comparisons"),
]


@pytest.mark.parametrize(("text", "offset", "fragment"), [c[1:] for c in SPLIT_REFUSED],
                         ids=[c[0] for c in SPLIT_REFUSED])
def test_split_claim_refuses(text: str, offset: int, fragment: str) -> None:
    with pytest.raises(ExprError) as info:
        split_claim(text)
    assert fragment in info.value.message
    assert info.value.offset == offset


# -- nothing ever evaluates input text --------------------------------------------------

def test_no_eval_sympify_or_parse_expr_during_a_whole_run(monkeypatch: pytest.MonkeyPatch,
                                                          tmp_path: Path) -> None:
    """Every forbidden entry point is replaced by one that records the call.

    ``sympify`` and ``parse_expr`` are refused from anywhere (SymPy parses a string
    only through ``parse_expr``).  ``eval`` and ``exec`` are refused when called from
    derivcheck's own code; the standard library uses them for itself (namedtuple,
    imports).  Calls are recorded in a file because symbolic proofs run in forked
    children, whose exceptions the engine turns into "no proof".
    """
    path = DERIVATIONS / "sigmoid_bce.yaml"
    for info in pkgutil.walk_packages(derivcheck.__path__, "derivcheck."):
        if info.name != "derivcheck.__main__":
            importlib.import_module(info.name)
    verify_file(path, FAST)  # lazy imports happen here, before anything is patched
    log = tmp_path / "forbidden.log"

    def record(name: str, what: object) -> None:
        with log.open("a", encoding="utf-8") as handle:
            handle.write(f"{name}({what!r:.200})\n")
        raise AssertionError(f"{name} called")

    def refuse(name: str):
        def call(*args: object, **kwargs: object) -> None:
            record(name, args[:1])
        return call

    def guarded(name: str, real):
        def call(*args: object, **kwargs: object) -> object:
            caller = sys._getframe(1).f_globals.get("__name__", "")
            if caller == "derivcheck" or caller.startswith("derivcheck."):
                record(name, args[:1])
            return real(*args, **kwargs)
        return call

    monkeypatch.setattr(builtins, "eval", guarded("eval", builtins.eval))
    monkeypatch.setattr(builtins, "exec", guarded("exec", builtins.exec))
    monkeypatch.setattr(sympy, "sympify", refuse("sympify"))
    monkeypatch.setattr(sympy, "parse_expr", refuse("parse_expr"), raising=False)
    monkeypatch.setattr(sympy_parser, "parse_expr", refuse("parse_expr"))
    for name_, module in list(sys.modules.items()):
        if module is None or not (name_ == "derivcheck" or name_.startswith("derivcheck.")):
            continue
        for name in ("eval", "exec", "sympify", "parse_expr"):
            if name in vars(module):  # bound by `from ... import` before the patch
                monkeypatch.setattr(module, name, refuse(name))

    result = verify_file(path, Options(symbolic=True))
    assert result.error is None
    assert result.steps
    assert not log.exists(), log.read_text(encoding="utf-8")
