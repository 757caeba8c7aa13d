"""The expression syntax (numpy-like) -> IR, without ever running the text.

The text is read by ``ast.parse`` and the tree is walked against a whitelist of
node types; SymPy is never involved here.  Anything outside the whitelist is an
``ExprError`` with the offset of the offending piece and what to write instead.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction

from derivcheck.errors import ExprError
from derivcheck.ir import E, Shape
from derivcheck.parse.bound import BoundError, BoundIndices, BoundSum, subscript_dim
from derivcheck.printer import to_text

MAX_TEXT = 4000  # characters in one expression
MAX_DEPTH = 60  # nesting of brackets
MAX_TREE_DEPTH = 200  # depth of the syntax tree (a flat sum of n terms is n deep)
MAX_INT = 10**6  # largest integer literal
MAX_EXPONENT = 64  # largest |literal exponent| in a ** b

ELEMENTWISE = ("log", "log2", "log10", "exp", "sqrt", "abs", "tanh", "sigmoid", "relu",
               "relu_prime")
MATRIX_FUNCS = ("softmax", "logsumexp", "diag", "tr", "det", "inv")
SPECIAL = ("sum", "mean", "Sum", "delta", "span", "onehot", "eye", "d")
FUNCTIONS = ELEMENTWISE + MATRIX_FUNCS + SPECIAL

_BINOPS = {ast.Add: "add", ast.Sub: "sub", ast.Mult: "mul", ast.Div: "div", ast.Pow: "pow",
           ast.MatMult: "matmul"}


@dataclass(frozen=True)
class Scope:
    """The names an expression may use."""

    symbols: dict  # name -> Symbol
    defined: frozenset[str]
    dims: frozenset[str]
    # Sums over an undeclared index, its range inferred from what it subscripts (with
    # the shapes that needs); without them such a sum is refused.
    bound: BoundIndices | None = None
    shape_of: Callable[[E], Shape] | None = None

    def declared(self) -> str:
        names = sorted(n for n, s in self.symbols.items() if not s.is_index)
        idx = sorted(n for n, s in self.symbols.items() if s.is_index)
        parts = [f"symbols: {', '.join(names) or '-'}"]
        if idx:
            parts.append(f"indices: {', '.join(idx)}")
        if self.defined:
            parts.append(f"defined: {', '.join(sorted(self.defined))}")
        if self.dims:
            parts.append(f"dimensions: {', '.join(sorted(self.dims))}")
        return "; ".join(parts)


def parse_expression(text: str, scope: Scope) -> E:
    """Parse one expression of the project's syntax.

    Args:
        text: the expression, e.g. ``"W2.T @ (a2 - y)"``.
        scope: the declared symbols, defined names and dimensions.

    Returns:
        The IR tree; each node's ``pos`` is its 0-based offset in ``text``.

    Raises:
        ExprError: for anything that is not a well-formed expression over the
            declared names (with the offset and a hint).
    """
    if not isinstance(text, str):
        raise ExprError("an expression must be a string", 0)
    if len(text) > MAX_TEXT:
        raise ExprError(f"expression too long ({len(text)} characters, limit {MAX_TEXT})", 0,
                        "split the step into a chain of shorter expressions")
    if "\n" in text.strip():
        text = " ".join(text.split("\n"))
    if not text.strip():
        raise ExprError("empty expression", 0, "write an expression, e.g. a2 - y")
    _check_depth_cheaply(text)
    _check_ascii(text)
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as exc:
        offset = max((exc.offset or 1) - 1, 0)  # SyntaxError.offset counts characters
        message = re.sub(r"\s*\((detected at|on) line \d+\)", "", exc.msg)
        raise ExprError(f"syntax error: {message}", offset + _lead(text),
                        "the syntax is numpy-like: + - * / ** @ .T f(x) a[i]") from None
    except (RecursionError, MemoryError, ValueError):
        raise ExprError("expression nested too deeply", 0) from None
    return _Reader(text, scope).read(tree.body, 0)


def _lead(text: str) -> int:
    return len(text) - len(text.lstrip())


def _check_ascii(text: str) -> None:
    """Refuse non-ASCII characters.

    Python folds identifiers with NFKC (a fullwidth x, U+FF58, reads as ``x``), and
    confusables (a Cyrillic x, U+0445) look like declared names: neither may reach
    the name lookup, so the syntax is ASCII and anything else is reported.
    """
    hash_at = text.find("#")
    if hash_at >= 0:
        raise ExprError("'#' is not allowed (Python would read the rest as a comment)", hash_at,
                        "remove the '#' and what follows, or write it in the step's note")
    for k, ch in enumerate(text):
        if ord(ch) > 127:
            import unicodedata

            name = unicodedata.name(ch, "unnamed character")
            raise ExprError(f"non-ASCII character {ch!r} (U+{ord(ch):04X} {name})", k,
                            "expressions are written in ASCII: letters a-z, A-Z, digits, "
                            "+ - * / ** @ ( ) [ ] , .")


def _check_depth_cheaply(text: str) -> None:
    level = best = 0
    for ch in text:
        if ch in "([{":
            level += 1
            best = max(best, level)
        elif ch in ")]}":
            level -= 1
    if best > MAX_DEPTH:
        raise ExprError(f"expression nested too deeply ({best} brackets, limit {MAX_DEPTH})", 0)
    # A run of unary signs nests without brackets; Python's own parser gives up on
    # a few thousand of them with no position, so the run is measured here.
    run = 0
    for k, ch in enumerate(text):
        if ch in "+-~":
            run += 1
            if run > MAX_TREE_DEPTH + 1:  # where the reader's own limit would be passed
                raise ExprError(f"expression nested too deeply (limit {MAX_TREE_DEPTH})", k)
        elif not ch.isspace():
            run = 0


class _Reader:
    def __init__(self, text: str, scope: Scope) -> None:
        self.text = text
        self.scope = scope
        self.lead = _lead(text)
        self.body = text.strip().encode("utf-8")
        self.open_sums: list[BoundSum] = []  # sums being read over an undeclared index

    def open_bound(self, name: str) -> BoundSum | None:
        for bound in reversed(self.open_sums):
            if bound.var == name:
                return bound
        return None

    def at(self, node: ast.AST) -> int:
        """The character offset of ``node`` in the text (``ast`` counts UTF-8 bytes)."""
        col = getattr(node, "col_offset", 0)
        return self.lead + len(self.body[:col].decode("utf-8", errors="ignore"))

    def fail(self, node: ast.AST, message: str, hint: str = "") -> ExprError:
        return ExprError(message, self.at(node), hint)

    # -- dispatch -----------------------------------------------------------
    def read(self, node: ast.AST, level: int) -> E:
        if level > MAX_TREE_DEPTH:
            raise self.fail(node, f"expression nested too deeply (limit {MAX_TREE_DEPTH})")
        pos = self.at(node)
        if isinstance(node, ast.BinOp):
            return self.binop(node, level)
        if isinstance(node, ast.UnaryOp):
            if isinstance(node.op, ast.USub):
                return E("neg", (self.read(node.operand, level + 1),), pos=pos)
            if isinstance(node.op, ast.UAdd):
                return self.read(node.operand, level + 1)
            raise self.fail(node, f"operator '{_opname(node.op)}' is not allowed",
                            "allowed: + - * / ** @ and .T")
        if isinstance(node, ast.Constant):
            return self.constant(node)
        if isinstance(node, ast.Name):
            return self.name(node, level)
        if isinstance(node, ast.Call):
            return self.call(node, level)
        if isinstance(node, ast.Attribute):
            if node.attr != "T":
                raise self.fail(node, f"attribute '.{node.attr}' is not allowed",
                                "the only attribute is .T (transpose)")
            return E("T", (self.read(node.value, level + 1),), pos=pos)
        if isinstance(node, ast.Subscript):
            return self.subscript(node, level)
        raise self.fail(node, f"{_describe(node)} is not allowed in an expression",
                        "allowed: numbers, declared names, + - * / ** @ .T, f(x), a[i]")

    def binop(self, node: ast.BinOp, level: int) -> E:
        op = _BINOPS.get(type(node.op))
        if op is None:
            raise self.fail(node, f"operator '{_opname(node.op)}' is not allowed",
                            "allowed: + - * / ** @")
        if op == "div" and _is_d_call(node.right) and not _is_d_call(node.left):
            regrouped = _regroup_derivative(node)
            if regrouped is not None:
                return self.read(regrouped, level)
        if op == "div" and _is_d_call(node.left) and _is_d_call(node.right):
            return self.derivative(node, level)
        if op == "div" and _is_d_call(node.left) and isinstance(node.right, ast.Attribute) \
                and node.right.attr == "T" and _is_d_call(node.right.value):
            raise self.fail(node, "d(f)/d(v).T reads as d(f) / (d(v).T)",
                            "write (d(f)/d(v)).T for the transpose of a derivative")
        left = self.read(node.left, level + 1)
        right = self.read(node.right, level + 1)
        exponent = right.args[0] if right.op == "neg" else right
        if op == "pow" and exponent.op == "num" and abs(exponent.val) > MAX_EXPONENT:  # type: ignore[arg-type]
            raise self.fail(node.right, f"exponent {_fmt_num(right)} is too large "
                            f"(limit {MAX_EXPONENT} in magnitude)")
        if op == "pow" and right.op == "pow":
            raise self.fail(node, "exponent towers (a ** b ** c) are not allowed",
                            "add parentheses: (a ** b) ** c")
        return E(op, (left, right), pos=self.at(node))

    def constant(self, node: ast.Constant) -> E:
        value = node.value
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.fail(node, f"literal {value!r} is not allowed", "only numbers are allowed")
        if isinstance(value, int):
            if abs(value) > MAX_INT:
                raise self.fail(node, f"integer {value} is too large (limit {MAX_INT})")
            return E("num", val=Fraction(value), pos=self.at(node))
        if value != value or abs(value) == float("inf") or abs(value) > MAX_INT:
            raise self.fail(node, f"number {value} is out of range")
        return E("num", val=Fraction(repr(value)), pos=self.at(node))

    def name(self, node: ast.Name, level: int) -> E:
        ident = node.id
        sym = self.scope.symbols.get(ident)
        pos = self.at(node)
        if sym is not None:
            return E("idx" if sym.is_index else "sym", val=ident, pos=pos)
        if ident in self.scope.defined:
            return E("ref", val=ident, pos=pos)
        if ident in self.scope.dims:
            return E("dim", val=ident, pos=pos)
        bound = self.open_bound(ident)
        if bound is not None:
            return E("idx", val=bound.name, pos=pos)
        if ident in FUNCTIONS:
            raise self.fail(node, f"'{ident}' is a function: call it, e.g. {ident}(x)")
        if ident == "e":
            raise self.fail(node, "'e' is not a constant here", "write exp(1) for e, "
                            "exp(x) for e**x")
        if ident == "pi":
            raise self.fail(node, "derivcheck has no constant pi", "declare a positive "
                            "scalar (PI: posscalar): a step then holds for every value of it, "
                            "pi included")
        known = [*self.scope.symbols, *self.scope.defined, *self.scope.dims]
        raise self.fail(node, f"unknown name '{ident}'{_did_you_mean(ident, known)}",
                        f"declared {self.scope.declared()}")

    def index(self, node: ast.AST) -> E:
        if isinstance(node, ast.Name):
            sym = self.scope.symbols.get(node.id)
            if sym is not None and sym.is_index:
                return E("idx", val=node.id, pos=self.at(node))
            bound = self.open_bound(node.id)
            if bound is not None:
                return E("idx", val=bound.name, pos=self.at(node))
            raise self.fail(node, f"'{node.id}' is not an index",
                            "declare it as 'index n', or use an integer (0-based)")
        if isinstance(node, ast.Constant) and isinstance(node.value, int) and not isinstance(
                node.value, bool):
            if not 0 <= node.value <= MAX_INT:
                raise self.fail(node, f"index {node.value} is out of range (0-based, >= 0)")
            return E("int", val=node.value, pos=self.at(node))
        raise self.fail(node, f"{_describe(node)} cannot be an index",
                        "an index is an index symbol or a non-negative integer")

    def subscript(self, node: ast.Subscript, level: int) -> E:
        base = self.read(node.value, level + 1)
        sl = node.slice
        items = sl.elts if isinstance(sl, ast.Tuple) else [sl]
        if not 1 <= len(items) <= 2:
            raise self.fail(node, "an element takes one or two indices: a[i] or V[k, j]")
        indices = [self.index(i) for i in items]
        for k, item in enumerate(items):
            bound = self.open_bound(item.id) if isinstance(item, ast.Name) else None
            if bound is not None:  # an undeclared summation index: this fixes its range
                assert self.scope.bound is not None
                where = f"{to_text(base)}[{', '.join(ast.unparse(i) for i in items)}]"
                try:
                    name = self.scope.bound.use(bound, self.subscript_dim(base, len(items), k),
                                                where)
                except BoundError as exc:
                    raise self.fail(node, exc.message, exc.hint) from None
                indices[k] = E("idx", val=name, pos=self.at(item))
        return E("elem", (base, *indices), pos=self.at(node))

    def subscript_dim(self, base: E, n: int, k: int) -> str | int:
        """The dimension the ``k``-th of ``n`` subscripts of ``base`` runs over."""
        assert self.scope.shape_of is not None
        return subscript_dim(self.scope.shape_of, base, n, k)

    def bound_sum(self, node: ast.Call, level: int) -> E | None:
        """``Sum(k, body)`` over an undeclared ``k``: its range is what ``k`` subscripts
        in ``body``; None if ``k`` is declared (or no inference is possible here)."""
        first = node.args[0]
        scope = self.scope
        if not isinstance(first, ast.Name) or scope.bound is None or scope.shape_of is None:
            return None
        name = first.id
        if name in scope.symbols or name in scope.defined or name in scope.dims or \
                name in FUNCTIONS:
            return None
        bound = scope.bound.open(name)
        self.open_sums.append(bound)
        try:
            body = self.read(node.args[1], level + 1)
        finally:
            self.open_sums.pop()
        try:
            body, _note = scope.bound.close(bound, body)
        except BoundError as exc:
            raise self.fail(first, exc.message, exc.hint) from None
        return E("Sum", (body,), bound.name, pos=self.at(node))

    def derivative(self, node: ast.BinOp, level: int) -> E:
        num_call, den_call = node.left, node.right
        assert isinstance(num_call, ast.Call) and isinstance(den_call, ast.Call)
        for call in (num_call, den_call):
            if len(call.args) != 1 or call.keywords:
                raise self.fail(call, "d(...) takes exactly one expression", "write d(f)/d(v)")
        f = self.read(num_call.args[0], level + 1)
        v = self.read(den_call.args[0], level + 1)
        ok = v.op in ("sym", "ref") or (v.op == "elem" and v.args[0].op in ("sym", "ref"))
        if not ok:
            raise self.fail(den_call.args[0], "d(f)/d(v): v must be a symbol, a defined name, "
                            "or an element of one", "e.g. d(L)/d(W1), d(L)/d(z2), d(L)/d(z2[i])")
        return E("d", (f, v), None, pos=self.at(node))

    def call(self, node: ast.Call, level: int) -> E:
        if not isinstance(node.func, ast.Name):
            raise self.fail(node, "only named functions can be called",
                            f"known functions: {', '.join(FUNCTIONS)}")
        name = node.func.id
        if node.keywords:
            raise self.fail(node, f"{name}(): keyword arguments are not allowed")
        if any(isinstance(a, ast.Starred) for a in node.args):
            raise self.fail(node, f"{name}(): starred arguments are not allowed")
        args = node.args
        pos = self.at(node)
        if name == "d":
            raise self.fail(node, "a derivative is written d(f)/d(v)")
        if name in ELEMENTWISE or name in MATRIX_FUNCS:
            self.arity(node, name, args, 1)
            return E("fn", (self.read(args[0], level + 1),), name, pos=pos)
        if name in ("sum", "mean"):
            if len(args) not in (1, 2):
                raise self.fail(node, f"{name}() takes 1 or 2 arguments: {name}(x) or "
                                f"{name}(M, axis)")
            axis = None
            if len(args) == 2:
                a = args[1]
                if not (isinstance(a, ast.Constant) and a.value in (0, 1)
                        and not isinstance(a.value, bool)):
                    raise self.fail(a, f"{name}(M, axis): axis must be 0 or 1")
                axis = 0 if a.value == 0 else 1
            return E(name, (self.read(args[0], level + 1),), axis, pos=pos)
        if name == "Sum":
            self.arity(node, name, args, 2)
            inferred = self.bound_sum(node, level)
            if inferred is not None:
                return inferred
            k = self.index(args[0])
            if k.op != "idx":
                raise self.fail(args[0], "Sum(k, expr): k must be an index symbol")
            return E("Sum", (self.read(args[1], level + 1),), k.val, pos=pos)
        if name == "delta":
            self.arity(node, name, args, 2)
            return E("delta", (self.index(args[0]), self.index(args[1])), pos=pos)
        if name == "span":
            return self.span(node, args, pos)
        if name == "onehot":
            self.arity(node, name, args, 2)
            return E("onehot", (self.index(args[0]),), self.dim(args[1]), pos=pos)
        if name == "eye":
            self.arity(node, name, args, 1)
            return E("eye", (), self.dim(args[0]), pos=pos)
        raise self.fail(node.func, f"unknown function '{name}'{_did_you_mean(name, FUNCTIONS)}",
                        f"known functions: {', '.join(FUNCTIONS)}")

    def span(self, node: ast.Call, args: list, pos: int) -> E:
        """``span(k, a, K - c)``: 1 where ``a <= k <= K - c`` (positions counted from 0,
        ``c >= 1``), else 0: the indicator a partial sum is written with,
        ``Sum(k, span(k, 1, K - 1) * y[k])`` (every entry but the first)."""
        self.arity(node, "span", args, 3)
        k = self.index(args[0])
        first = args[1]
        hint = "span(k, a, K - c): a an integer >= 0, K the index's dimension, c >= 1"
        if not (isinstance(first, ast.Constant) and type(first.value) is int
                and 0 <= first.value <= 999):
            raise self.fail(first, "span(): its second argument is the first position kept, "
                            "an integer", hint)
        top = args[2]
        if not (isinstance(top, ast.BinOp) and isinstance(top.op, ast.Sub)
                and isinstance(top.right, ast.Constant) and type(top.right.value) is int
                and 1 <= top.right.value <= 999):
            raise self.fail(top, "span(): its third argument is the last position kept, "
                            "written K - c with c >= 1", hint)
        dim = self.dim(top.left)
        if k.op == "idx":
            sym = self.scope.symbols.get(str(k.val))
            rng = sym.dims[0] if sym is not None and sym.is_index and sym.dims else None
            if rng is not None and rng != dim:
                raise self.fail(top.left, f"span(): {k.val} runs over {rng}, not {dim}", hint)
        return E("span", (k,), (first.value, top.right.value - 1, dim), pos=pos)

    def dim(self, node: ast.AST) -> str:
        if isinstance(node, ast.Name) and node.id in self.scope.dims:
            return node.id
        raise self.fail(node, "expected a dimension name",
                        f"dimensions: {', '.join(sorted(self.scope.dims)) or '-'}")

    def arity(self, node: ast.Call, name: str, args: list, n: int) -> None:
        if len(args) != n:
            raise self.fail(node, f"{name}() takes {n} argument{'s' if n > 1 else ''}, "
                            f"got {len(args)}")


def _fmt_num(node: E) -> str:
    if node.op == "neg":
        return "-" + _fmt_num(node.args[0])
    return str(node.val)


def _regroup_derivative(node: ast.BinOp) -> ast.AST | None:
    """Make ``d(f)/d(v)`` bind tighter than the operators around it.

    Python reads ``a * d(f)/d(v)`` as ``(a * d(f)) / d(v)`` and ``-d(f)/d(v)`` as
    ``(-d(f)) / d(v)``; both mean ``a * (d(f)/d(v))`` to a reader.  The rightmost
    operand of the left side (through ``* / @`` and unary signs) is found; if it
    is a ``d(f)`` call, the division by ``d(v)`` moves down onto it.
    """
    parent: ast.AST | None = None
    cur = node.left
    path: list[ast.AST] = []
    while True:
        if isinstance(cur, ast.BinOp) and isinstance(cur.op, (ast.Mult, ast.Div, ast.MatMult)):
            path.append(cur)
            cur = cur.right
        elif isinstance(cur, ast.UnaryOp) and isinstance(cur.op, (ast.USub, ast.UAdd)):
            path.append(cur)
            cur = cur.operand
        else:
            break
    if not path or not _is_d_call(cur):
        return None
    inner = ast.BinOp(left=cur, op=ast.Div(), right=node.right)
    ast.copy_location(inner, cur)
    parent = path[-1]
    if isinstance(parent, ast.BinOp):
        parent.right = inner
    else:
        parent.operand = inner  # type: ignore[attr-defined]
    return node.left


def _did_you_mean(word: str, known: list[str] | tuple[str, ...]) -> str:
    import difflib

    close = difflib.get_close_matches(word, list(known), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def _is_d_call(node: ast.AST) -> bool:
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "d"


def _opname(op: ast.AST) -> str:
    return {ast.FloorDiv: "//", ast.Mod: "%", ast.LShift: "<<", ast.RShift: ">>",
            ast.BitOr: "|", ast.BitXor: "^", ast.BitAnd: "&", ast.Invert: "~",
            ast.Not: "not"}.get(type(op), type(op).__name__)


def _describe(node: ast.AST) -> str:
    kinds = {ast.Lambda: "a lambda", ast.ListComp: "a comprehension",
             ast.GeneratorExp: "a generator", ast.DictComp: "a comprehension",
             ast.SetComp: "a comprehension", ast.JoinedStr: "an f-string",
             ast.NamedExpr: "an assignment expression (:=)", ast.Compare: "a comparison",
             ast.BoolOp: "a boolean operator", ast.IfExp: "a conditional expression",
             ast.List: "a list", ast.Tuple: "a tuple", ast.Dict: "a dict", ast.Set: "a set",
             ast.Starred: "a starred expression", ast.Await: "await", ast.Yield: "yield",
             ast.Slice: "a slice"}
    return kinds.get(type(node), f"'{type(node).__name__}'")


def split_claim(text: str) -> tuple[str, int, str, int]:
    """Split ``lhs = rhs`` at its single top-level ``=``.

    Returns (lhs, lhs offset, rhs, rhs offset), offsets 0-based in ``text``.

    Raises:
        ExprError: no ``=`` or more than one.
    """
    depth = 0
    found: list[int] = []
    for i, ch in enumerate(text):
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        elif ch == "=" and depth == 0:
            prev = text[i - 1] if i else ""
            nxt = text[i + 1] if i + 1 < len(text) else ""
            if prev in "<>!=" or nxt == "=":
                raise ExprError("comparisons are not allowed; a claim is 'lhs = rhs'", i)
            found.append(i)
    if not found:
        raise ExprError("a claim needs one '=': lhs = rhs", len(text),
                        "or write the expressions as a chain: [e0, e1, ...]")
    if len(found) > 1:
        raise ExprError("a claim has exactly one '='; for e0 = e1 = e2 use a chain",
                        found[1], "write chain: [e0, e1, e2]")
    i = found[0]
    return text[:i], 0, text[i + 1:], i + 1
