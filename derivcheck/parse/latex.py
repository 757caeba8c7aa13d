"""LaTeX as people write derivations -> IR (the normalisation layer).

A tokenizer and a recursive-descent reader for the notation of ML derivations:
``\\frac{\\partial L}{\\partial W_2}``, ``^T``/``^\\top``, ``\\odot``, juxtaposition,
``\\cdot`` (the dot product of two vectors of one shape, a matrix product between
other non-scalars, else a product), ``\\sum_k`` (bounds read exactly or refused),
``\\delta_{ij}``, ``\\mathbb{1}[z > 0]``, ``\\operatorname{ReLU}'``, norms, ``|a|``
(abs of a scalar, det of a square matrix), elements ``a_i``, ``z_{2i}``,
``W_{jk}``...  The rule: an operator in the input is either understood or reported,
never dropped.  ``\\log`` is the natural logarithm (``\\log_{10}`` and ``\\log_2`` are explicit).

Symbols are found through their LaTeX names: the declared ``latex:`` of a symbol,
or defaults (``W2`` reads ``W_2``, ``W_{2}``, ``\\mathbf{W}_2``, ``\\boldsymbol{W}_2``;
``yhat`` reads ``\\hat{y}``; ``xbar`` reads ``\\bar{x}``; ``gamma``, ``lam``/``lambda``,
``tau``... read as the Greek letters).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from fractions import Fraction

from derivcheck.errors import ShapeError, Unsupported
from derivcheck.ir import E, Shape
from derivcheck.parse.bound import BoundError, BoundIndices, BoundSum, subscript_dim
from derivcheck.printer import to_text

MAX_LATEX = 4000
MAX_DEPTH = 60
MAX_TREE_DEPTH = 200  # as in the expression syntax (parse/expr.py): a flat sum of n terms is n deep
_DEEP_HINT = "a derivation needs only shallow nesting; split the step into a chain"

GREEK = {
    "alpha", "beta", "gamma", "delta", "epsilon", "varepsilon", "zeta", "eta", "theta",
    "iota", "kappa", "lambda", "mu", "nu", "xi", "pi", "rho", "sigma", "tau", "upsilon",
    "phi", "varphi", "chi", "psi", "omega", "Gamma", "Delta", "Theta", "Lambda", "Xi",
    "Pi", "Sigma", "Phi", "Psi", "Omega",
}
GREEK_ALIASES = {"lam": "lambda", "eps": "epsilon"}
FONT_COMMANDS = {"mathbf", "boldsymbol", "bm", "mathit", "mathrm", "vec", "mathsf", "mathcal"}
ACCENTS = {"hat": "hat", "bar": "bar", "tilde": "tilde", "widehat": "hat", "overline": "bar"}
IGNORED = {"left", "right", "big", "Big", "bigg", "Bigg", "bigl", "bigr", "Bigl", "Bigr",
           "biggl", "biggr", ",", ";", "!", ":", "quad", "qquad", " ", "displaystyle",
           "textstyle", "limits", "nolimits", "thinspace", "medspace", "thickspace",
           "negthinspace", "negmedspace", "negthickspace", "enspace"}
FUNCTIONS = {  # LaTeX function name -> IR function
    "exp": "exp", "ln": "log", "log": "log", "sqrt": "sqrt", "tanh": "tanh",
    "sigmoid": "sigmoid", "softmax": "softmax", "relu": "relu", "diag": "diag",
    "tr": "tr", "trace": "tr", "det": "det", "logsumexp": "logsumexp", "lse": "logsumexp",
    "abs": "abs", "inv": "inv",
}
_NAME_COMMANDS = ("operatorname", "text", "textrm", "mathop")  # \operatorname{softmax}, {CE}
_REDUCTIONS = {"sum": "sum", "mean": "mean"}  # \operatorname{sum}(x): every entry
_NUMBER = re.compile(r"\d+(\.\d+)?|\.\d+")


class LatexError(Exception):
    """A LaTeX expression that cannot be read; ``offset`` is 0-based in the string."""

    def __init__(self, message: str, offset: int = 0, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.offset = offset
        self.hint = hint


@dataclass(frozen=True)
class Tok:
    kind: str  # "cmd", "char", "num", "letter"
    text: str
    pos: int


def tokenize(text: str) -> list[Tok]:
    """LaTeX tokens with their offsets; spacing and sizing commands are dropped."""
    if len(text) > MAX_LATEX:
        raise LatexError(f"LaTeX too long ({len(text)} characters, limit {MAX_LATEX})", 0)
    out: list[Tok] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch.isspace() or ch == "~":
            i += 1
            continue
        if ch == "\\":
            m = re.match(r"\\([A-Za-z]+|.)", text[i:])
            if not m:
                raise LatexError("a lone backslash at the end", i)
            name = m.group(1)
            if name not in IGNORED:
                out.append(Tok("cmd", name, i))
            i += len(m.group(0))
            continue
        m = _NUMBER.match(text, i)
        if m:
            out.append(Tok("num", m.group(0), i))
            i = m.end()
            continue
        if ch.isascii() and ch.isalpha():
            out.append(Tok("letter", ch, i))
            i += 1
            continue
        if ch in "{}()[]^_'+-*/=,|<>.:":  # ':' only in a slice's subscript A_{:,n}
            out.append(Tok("char", ch, i))
            i += 1
            continue
        raise LatexError(f"unexpected character {ch!r}", i,
                         "write LaTeX math: letters, digits, + - = ^ _ { } ( ) and commands")
    return out


@dataclass(frozen=True)
class LatexNames:
    """How declared names appear in LaTeX: (base, subscript) -> name."""

    table: dict[tuple[str, str], str]

    @classmethod
    def build(cls, names: list[str], declared: dict[str, str] | None = None) -> LatexNames:
        table: dict[tuple[str, str], str] = {}
        for name in names:
            for key in _default_keys(name):
                table.setdefault(key, name)
        for name, latex in (declared or {}).items():
            found = _key_of(latex)
            if found is None:
                if latex_form(latex) is not None:
                    continue  # a fixed form such as D_{\mathrm{KL}}(p \| q): see latex_forms
                raise LatexError(f"cannot read the LaTeX name {latex!r} of '{name}'", 0)
            table[found] = name
        for a, b in (("\\epsilon", "\\varepsilon"), ("\\phi", "\\varphi")):
            for x, y in ((a, b), (b, a)):  # one variant declared: the other reads it too
                if (x, "") in table and (y, "") not in table:
                    table[(y, "")] = table[(x, "")]
        return cls(table)

    def lookup(self, base: str, sub: str = "") -> str | None:
        return self.table.get((base, sub))


def _default_keys(name: str) -> list[tuple[str, str]]:
    keys = [(name, "")]
    m = re.fullmatch(r"([A-Za-z]+)_([A-Za-z0-9]+)", name)
    if m:  # x_0 reads x_0 (as x0 does: beside a vector x, with a note saying which)
        keys.append((m.group(1), m.group(2)))
    m = re.fullmatch(r"([A-Za-z]+?)(\d+)", name)
    if m:  # W2 reads W_2, and as a layer W^{(2)} or W^{[2]}
        keys.extend([(m.group(1), m.group(2)), (m.group(1), f"^({m.group(2)})"),
                     (m.group(1), f"^[{m.group(2)}]")])
    for suffix, accent in (("hat", "hat"), ("bar", "bar"), ("tilde", "tilde")):
        if name.endswith(suffix) and len(name) > len(suffix):
            keys.append((f"{accent}:{name[:-len(suffix)]}", ""))
    m = re.fullmatch(r"([a-z]+)([A-Z][A-Za-z]*)", name)  # aL reads a_L, hT reads h_T
    if m:
        keys.extend([(m.group(1), m.group(2)), (m.group(1), f"^({m.group(2)})"),
                     (m.group(1), f"^[{m.group(2)}]")])
    greek = GREEK_ALIASES.get(name, name)
    if greek in GREEK:
        keys.append((f"\\{greek}", ""))
    m = re.fullmatch(r"([A-Za-z]+?)(\d+)", name)
    if m:
        g = GREEK_ALIASES.get(m.group(1), m.group(1))
        if g in GREEK:
            keys.append((f"\\{g}", m.group(2)))
    return keys


MAX_FORM = 200


def latex_form(latex: str) -> tuple[tuple[str, str], ...] | None:
    """The tokens of a fixed LaTeX form a symbol or definition may be written as, when
    it is not a name: a LaTeX name applied to its arguments, ``NAME(...)`` with the
    parenthesis closing at the end (``D_{\\mathrm{KL}}(p \\| q)``,
    ``\\mathcal{L}(\\theta)``, ``H(p, q)``); None if it is not one."""
    if len(latex) > MAX_FORM:
        return None
    try:
        toks = tokenize(latex)
    except LatexError:
        return None
    if len(toks) < 3 or toks[0].kind not in ("letter", "cmd"):
        return None
    # a name applied to its arguments: NAME(...), the parenthesis closing at the end
    depth = 0
    opened = -1
    for k, t in enumerate(toks):
        if t.kind == "char" and t.text in "({[":
            if t.text == "(" and depth == 0 and opened < 0:
                opened = k
            depth += 1
        elif t.kind == "char" and t.text in ")}]":
            depth -= 1
            if depth < 0 or (depth == 0 and opened >= 0 and k != len(toks) - 1):
                return None
    if depth or opened < 1 or toks[-1].text != ")":
        return None
    if _key_of_safe(latex[:toks[opened].pos]) is None:
        return None
    return tuple((t.kind, t.text) for t in toks)


def latex_forms(declared: dict[str, str]) -> tuple[tuple[tuple[tuple[str, str], ...], str], ...]:
    """The declared fixed forms (not names), longest first: (tokens, name)."""
    out = []
    for name, latex in declared.items():
        if _key_of_safe(latex) is None:
            sig = latex_form(latex)
            if sig is not None:
                out.append((sig, name))
    out.sort(key=lambda f: -len(f[0]))
    return tuple(out)


def _key_of_safe(latex: str) -> tuple[str, str] | None:
    try:
        return _key_of(latex)
    except LatexError:
        return None


def latex_name_key(latex: str) -> tuple[str, str] | None:
    """How a declared LaTeX name is looked up, or None if it is not a name."""
    try:
        return _key_of(latex)
    except LatexError:
        return None


def _key_of(latex: str) -> tuple[str, str] | None:
    toks = tokenize(latex)
    reader = _Reader(latex, toks, None)  # type: ignore[arg-type]
    try:
        base = reader.base_name()
        sub = reader.name_suffix()
        if not reader.at_end() or reader.pending_transpose:
            return None
        return (base, sub)
    except LatexError:
        return None


@dataclass
class LatexScope:
    """What a LaTeX expression may refer to, and how to know shapes."""

    names: LatexNames
    kinds: dict[str, str]  # name -> "sym" | "idx" | "ref" | "dim"
    shape_of: Callable[[E], Shape]
    ranges: dict[str, str] = field(default_factory=dict)  # index -> its dimension
    at_zero: int = 0  # the relu_prime_at_zero convention
    bound: BoundIndices | None = None  # undeclared summation indices (None: refused)
    # the latex_index_base convention: x_1 is x[0] when it is 1; None: not declared (0)
    index_base: int | None = None
    forms: tuple[tuple[tuple[tuple[str, str], ...], str], ...] = ()  # fixed forms -> name


def read_latex(text: str, scope: LatexScope) -> E:
    """Read one LaTeX expression (no ``=``) into IR.

    Raises:
        LatexError: with the offset in ``text`` and what was expected.
    """
    return read_latex_noting(text, scope)[0]


def read_latex_noting(text: str, scope: LatexScope) -> tuple[E, tuple[str, ...]]:
    """``read_latex``, and the ambiguous readings met, each with the choice made."""
    toks = tokenize(text)
    if not toks:
        raise LatexError("empty LaTeX expression", 0)
    reader = _Reader(text, toks, scope)
    node = reader.expr()
    _check_tree_depth(node)
    if reader.sized and _unsized(node):
        where = next(n.pos for n in node.walk() if n.op in ("eye", "ones") and n.val is None)
        raise LatexError(_UNSIZED, max(where, 0), _UNSIZED_HINT)
    if not reader.at_end():
        tok = reader.toks[reader.i]
        raise LatexError(f"unexpected {tok.text!r}", tok.pos,
                         "an expression ends here; is an operator or a bracket missing?")
    return node, tuple(dict.fromkeys(reader.notes))


# commands whose meaning differs between texts: refused with the forms that say it
_AMBIGUOUS_COMMANDS = {
    "lg": "it is log base 2 in computer science and base 10 elsewhere: write \\log_2 x or "
          "\\log_{10} x",
}


# the elementwise functions whose derivative a prime may name, and what it is
_PRIMES = {"relu": "relu_prime", "sigmoid": "sigmoid(z) * (1 - sigmoid(z))",
           "tanh": "1 - tanh(z) ** 2", "exp": "exp(z)", "log": "1 / z"}
_PRIME_ERROR = ("a prime is understood on ReLU, \\sigma (the sigmoid), \\tanh, \\exp and \\log "
                "(ReLU'(z), \\sigma'(z)); for another function write its derivative")


def _excluded(sub: str) -> tuple[str, str | None]:
    """``k\\neqi`` (the subscript of ``\\sum_{k \\neq i}``, spaces removed) -> ("k", "i")."""
    m = re.fullmatch(r"([A-Za-z])\\(?:neq|ne)([A-Za-z0-9]+)", sub)
    return (m.group(1), m.group(2)) if m else (sub, None)


def _left_out(reading: tuple[int, int], var: str, dim: str) -> str:
    first, drop = reading
    parts = []
    if first:
        parts.append(f"the first {first}" if first > 1 else "the first value")
    if drop:
        parts.append(f"the last {drop}" if drop > 1 else "the last value")
    return " and ".join(parts) or "nothing"


def _refuse_index_as_number(body: E, var: str, lower: str, upper: str, pos: int,
                            name: str = "") -> None:
    """Refuse a sum counted from 1 whose body uses its index other than as a subscript.

    ``\\sum_{k=1}^{K} y_k`` is the whole sum (``y_k`` is then the k-th entry counted
    from 1, and the index is read 0-based throughout); ``\\sum_{k=1}^{K} k y_k`` would
    weigh every term by one less than written, so it is refused.
    """
    name = name or var  # the index as bound in the IR
    stack = [body]
    while stack:
        node = stack.pop()
        if node.op == "Sum" and node.val == name:
            continue  # an inner sum over the same name binds its own index
        if node.op == "elem":
            stack.append(node.args[0])
            continue
        if node.op == "delta" and all(a.op == "idx" for a in node.args):
            continue  # compares two indices, both counted the same way
        if node.op == "idx" and node.val == name:
            raise LatexError(f"sum bounds {lower}..{upper} count {var} from 1, and {var} is "
                             "used as a number, not only as a subscript: it would be read "
                             "one less than written", pos,
                             f"count from 0, \\sum_{{{var}=0}}^{{{upper}-1}}, and write "
                             f"{var} + 1 where the number {var} is meant")
        stack.extend(node.args)


def _check_tree_depth(root: E) -> None:
    """Refuse a tree deeper than ``MAX_TREE_DEPTH``, at the node where it is exceeded.

    The reader's own guards bound its recursion; a left-deep chain (``a - b - c ...``,
    ``a b c ...``) is built by a loop, so it is measured here, without recursion.
    """
    stack = [(root, 1)]
    while stack:
        node, level = stack.pop()
        if level > MAX_TREE_DEPTH:
            raise LatexError(f"expression nested too deeply (limit {MAX_TREE_DEPTH} levels)",
                             max(node.pos, 0), _DEEP_HINT)
        stack.extend((c, level + 1) for c in node.args)


def read_name_at(text: str, toks: list[Tok], i: int, scope: LatexScope) -> tuple[E, int]:
    """The name (or element of one) that starts at token ``i`` of ``toks``, read as
    ``read_latex`` reads it, and the index of the token after it.

    Raises:
        LatexError: no name starts there.
    """
    reader = _Reader(text, toks, scope)
    reader.i = i
    node = reader.name_or_element()
    return node, reader.i


def read_primary_at(text: str, toks: list[Tok], i: int, scope: LatexScope) -> tuple[E, int]:
    """The operand (a bracket, a fraction, a derivative, a function application...)
    that starts at token ``i``, read as ``read_latex`` reads it, and the index of
    the token after it.

    Raises:
        LatexError: no operand starts there.
    """
    reader = _Reader(text, toks, scope)
    reader.i = i
    node = reader.primary()
    return node, reader.i


def split_latex_equation(text: str) -> list[tuple[str, int]]:
    """The sides of ``e0 = e1 = ...`` at top level, with their offsets."""
    parts: list[tuple[str, int]] = []
    depth = 0
    start = 0
    for i, ch in enumerate(text):
        if ch in "{([":
            depth += 1
        elif ch in "})]":
            depth -= 1
        elif ch == "=" and depth == 0 and not text[max(0, i - 1):i].endswith("\\"):
            parts.append((text[start:i], start))
            start = i + 1
    parts.append((text[start:], start))
    return parts


_BOLD = ("mathbf", "boldsymbol", "bm", "vec")  # \mathbf{1} is the ones vector; \mathrm{1} is not
_UNSIZED = ("the size of I (the identity) or \\mathbf{1} (the ones vector) cannot be told "
            "from its context")
_UNSIZED_HINT = "write it with its dimension: I_K, \\mathbf{I}_K, \\mathbf{1}_K"


def _unsized(node: E) -> bool:
    return any(n.op in ("eye", "ones") and n.val is None for n in node.walk())


_TRANSPOSES = ("T", "\\top", "\\intercal", "\\mathsfT", "\\mathrmT", "{T}")


def _split_layer(text: str) -> tuple[str, str]:
    """``(3)\\top`` -> (``(3)``, ``\\top``): a layer superscript and what follows it."""
    close = {"(": ")", "[": "]"}[text[0]]
    end = text.find(close)
    if end < 0:
        return text, ""
    return text[:end + 1], text[end + 1:]


# commands that end a product (closing delimiters, relations) rather than start a factor
_NOT_FACTORS = {"right", "rVert", "rvert", "}", "partial", "geq", "ge", "leq", "le", "neq",
                "gt", "lt"}
_PRODUCT_CMDS = {"cdot": "dot", "odot": "hadamard", "circ": "hadamard", "times": "times",
                 "ast": "hadamard"}


class _Reader:
    def __init__(self, text: str, toks: list[Tok], scope: LatexScope) -> None:
        self.text = text
        self.toks = toks
        self.i = 0
        self.scope = scope
        self.depth = 0
        self.level = 0  # calls of unary/primary under way (see deeper)
        self.closers: list[str] = []  # norm bars awaiting their closing bar
        self.notes: list[str] = []  # ambiguous readings, each with the choice made
        self.pending_sub = ""  # a subscript read inside an accent, for the name that follows
        self.open_sums: list[BoundSum] = []  # sums being read over an undeclared index
        self.pending_transpose = False  # W^{(3)\top}: the name's layer, then a transpose
        self.sized = 0  # identities and ones vectors read whose size is still to be known
        self.font = ""  # the command of the last name's base (\mathbf...), or ""

    # -- the identity I and the ones vector \mathbf{1}, sized by their context -------
    def shape_of(self, node: E) -> Shape:
        """The shape of ``node``; Unsupported while an ``I`` or ``\\mathbf{1}`` in it has
        no size yet."""
        if self.sized and _unsized(node):
            raise Unsupported("the size of I or \\mathbf{1} is not known yet")
        return self.scope.shape_of(node)

    def unsized(self, node: E) -> bool:
        return bool(self.sized) and _unsized(node)

    def size_from(self, node: E, rows: Shape | None, cols: Shape | None, pos: int) -> E:
        """``node`` with its unsized ``I`` / ``\\mathbf{1}`` given the size the context
        needs (``rows``/``cols``: a one-entry tuple, or None when the context does not
        say), or an input error saying how to write the size."""
        found = self.fill(node, rows[0] if rows else None, cols[0] if cols else None)
        if found is None:
            raise LatexError(_UNSIZED, pos, _UNSIZED_HINT)
        filled, notes = found
        self.notes.extend(notes)
        if not _unsized(filled):
            self.sized -= 1
        return filled

    def fill(self, node: E, rows: object, cols: object) -> tuple[E, list[str]] | None:
        """``node`` (an unsized I or 1, perhaps transposed, negated, or times or divided
        by a scalar) with the size that makes it ``rows`` x ``cols`` (None: not said),
        and the notes; None if that does not determine the size."""
        if node.op == "eye" and node.val is None:
            if rows is not None and cols is not None and rows != cols:
                return None
            size = rows if rows is not None else cols
            if not isinstance(size, str):
                return None
            return E("eye", (), size, pos=node.pos), [
                f"I read as the identity eye({size}), the size its context needs"]
        if node.op == "ones" and node.val is None:
            if not isinstance(rows, str) or cols not in (None, 1):
                return None
            return E("ones", (), (rows, 1), pos=node.pos), [
                f"\\mathbf{{1}} read as the ones column ones({rows}, 1), the size its "
                "context needs (\\mathbf{1}^\\top M sums the columns of M)"]
        if node.op in ("T", "neg"):
            found = self.fill(node.args[0], *((cols, rows) if node.op == "T" else (rows, cols)))
            if found is None:
                return None
            return E(node.op, (found[0],), node.val, pos=node.pos), found[1]
        if node.op in ("mul", "div"):
            a, b = node.args
            first = _unsized(a)
            inner, other = (a, b) if first else (b, a)
            if (node.op == "div" and not first) or _unsized(other):
                return None
            try:
                if self.scope.shape_of(other) != ():
                    return None
            except (ShapeError, Unsupported, KeyError):
                return None
            found = self.fill(inner, rows, cols)
            if found is None:
                return None
            args = (found[0], b) if first else (a, found[0])
            return E(node.op, args, node.val, pos=node.pos), found[1]
        return None

    def combine_sized(self, a: E, b: E, pos: int, how: str) -> tuple[E, E]:
        """``a`` and ``b`` about to be added (``how`` "add"), multiplied elementwise
        ("elementwise") or as matrices ("matrix"): an unsized side takes its size from
        the other; a scalar factor leaves it to the context further out."""
        ua, ub = self.unsized(a), self.unsized(b)
        if not (ua or ub):
            return a, b
        if ua and ub:
            raise LatexError(_UNSIZED, pos, _UNSIZED_HINT)
        known = b if ua else a
        try:
            shape = self.shape_of(known)
        except (ShapeError, Unsupported, KeyError):
            raise LatexError(_UNSIZED, pos, _UNSIZED_HINT) from None
        if shape == ():
            if how != "add":
                return a, b  # a scalar factor: the size comes from further out
            raise LatexError(_UNSIZED, pos, _UNSIZED_HINT)
        if how != "matrix":
            rows, cols = (shape[0],), (shape[1],)
            return (self.size_from(a, rows, cols, pos), b) if ua else \
                (a, self.size_from(b, rows, cols, pos))
        if ua:  # a @ b: a has as many columns as b has rows
            return self.size_from(a, None, (shape[0],), pos), b
        return a, self.size_from(b, (shape[1],), None, pos)

    # -- token helpers ----------------------------------------------------------
    def at_end(self) -> bool:
        return self.i >= len(self.toks)

    def peek(self) -> Tok | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def peek_char(self, ch: str) -> bool:
        t = self.peek()
        return t is not None and t.kind == "char" and t.text == ch

    def peek_cmd(self, *names: str) -> bool:
        t = self.peek()
        return t is not None and t.kind == "cmd" and t.text in names

    def next(self) -> Tok:
        if self.at_end():
            raise LatexError("the expression ends too early", len(self.text))
        tok = self.toks[self.i]
        self.i += 1
        return tok

    def expect_char(self, ch: str) -> Tok:
        tok = self.peek()
        if tok is None or tok.kind != "char" or tok.text != ch:
            pos = tok.pos if tok else len(self.text)
            raise LatexError(f"expected '{ch}'", pos)
        return self.next()

    def here(self) -> int:
        tok = self.peek()
        return tok.pos if tok else len(self.text)

    def raw_group_text(self) -> str:
        """The text of a ``{...}`` group or of one token (for names and subscripts)."""
        if self.peek_char("{"):
            start = self.next().pos
            depth = 1
            parts = []
            while depth:
                tok = self.next()
                if tok.kind == "char" and tok.text == "{":
                    depth += 1
                elif tok.kind == "char" and tok.text == "}":
                    depth -= 1
                    if depth == 0:
                        break
                parts.append(("\\" + tok.text) if tok.kind == "cmd" else tok.text)
            del start
            return "".join(parts)
        tok = self.next()
        return ("\\" + tok.text) if tok.kind == "cmd" else tok.text

    def base_name(self) -> str:
        """A symbol's base: a letter, a Greek command, a font command or an accent."""
        tok = self.next()
        self.font = tok.text if tok.kind == "cmd" else ""
        if tok.kind == "letter":
            return tok.text
        if tok.kind == "cmd" and tok.text in GREEK:
            return "\\" + tok.text
        if tok.kind == "cmd" and (tok.text in FONT_COMMANDS or tok.text in _NAME_COMMANDS):
            inner = self.raw_group_text()
            return inner
        if tok.kind == "cmd" and tok.text in ACCENTS:
            inner = self.raw_group_text()
            inner, _, sub = inner.partition("_")  # \\hat{y_i} is \\hat{y}_i
            self.pending_sub = sub.strip("{}").replace(",", "")
            return f"{ACCENTS[tok.text]}:{inner}"
        raise LatexError(f"expected a name, got {tok.text!r}", tok.pos)

    def name_suffix(self) -> str:
        """A subscript and/or a layer superscript ``^{(1)}`` that belong to a name."""
        sub = self.pending_sub  # from inside an accent: \\hat{y_i}
        self.pending_sub = ""
        seen_sub = bool(sub)
        for _ in range(2):
            if self.peek_char("_"):
                if seen_sub:
                    raise LatexError("double subscript: write a_{0h}, not a_0_h", self.here())
                self.next()
                seen_sub = True
                sub = self.raw_group_text().replace(" ", "").replace(",", "") + sub
            elif self.peek_char("^") and self.layer_superscript_ahead():
                self.next()
                at = self.here()
                layer, after = _split_layer(self.raw_group_text().replace(" ", ""))
                if after:
                    if after not in _TRANSPOSES:
                        raise LatexError(f"'{after}' after the layer {layer} in a superscript",
                                         at, f"only a transpose is read there ({layer}\\top, "
                                         f"{layer}T); write a power or an inverse outside: "
                                         f"(a^{{{layer}}})^2")
                    self.pending_transpose = True
                sub += "^" + layer
        return sub

    def layer_superscript_ahead(self) -> bool:
        """``^{(1)}`` or ``^{[1]}``: part of a name (a layer), not a power."""
        nxt = self.toks[self.i + 1:self.i + 3]
        return len(nxt) == 2 and nxt[0].text == "{" and nxt[1].text in ("(", "[")

    # -- grammar ----------------------------------------------------------------
    def expr(self) -> E:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise LatexError("expression nested too deeply", self.here())
        node = self.term()
        while self.peek_char("+") or self.peek_char("-"):
            op = self.next()
            right = self.term()
            if self.sized:
                node, right = self.combine_sized(node, right, op.pos, "add")
            node = E("add" if op.text == "+" else "sub", (node, right), pos=op.pos)
        self.depth -= 1
        return node

    def term(self) -> E:
        node = self.unary()
        slash = False  # the last operator was / (a juxtaposed factor after it is ambiguous)
        while True:
            tok = self.peek()
            if tok is None:
                return node
            if tok.kind == "cmd" and tok.text in _PRODUCT_CMDS:
                self.next()
                right = self.unary()
                node = self.product(node, right, _PRODUCT_CMDS[tok.text], tok.pos)
                slash = False
            elif tok.kind == "char" and tok.text in "*":
                self.next()
                right = self.unary()
                node = self.product(node, right, "hadamard", tok.pos)
                slash = False
            elif (tok.kind == "char" and tok.text == "/") or (tok.kind == "cmd" and
                                                              tok.text == "div"):
                self.next()
                right = self.unary()
                node = E("div", (node, right), pos=tok.pos)
                slash = True
            elif self.starts_primary(tok):
                if slash:  # 1/2s: (1/2) s here, 1/(2s) in many handwritten notes
                    note = ("a / b c read as (a / b) c, the factor after the division "
                            "multiplying the quotient; write \\frac{a}{b c} for a / (b c)")
                    if note not in self.notes:
                        self.notes.append(note)
                right = self.unary()
                node = self.product(node, right, "juxtaposition", tok.pos)
            else:
                return node

    def starts_primary(self, tok: Tok) -> bool:
        if self.closers and tok.text == self.closers[-1]:
            return False  # the closing bar of a norm, not a new factor
        if tok.kind in ("letter", "num"):
            return True
        if tok.kind == "char":
            return tok.text in "([|"
        return tok.text not in _PRODUCT_CMDS and tok.text not in _NOT_FACTORS

    def product(self, a: E, b: E, how: str, pos: int) -> E:
        """``a`` times ``b``: a matrix product between non-scalars (juxtaposition,
        ``\\cdot``; ``\\cdot`` of two vectors of one shape is their dot product),
        elementwise for ``\\odot``/``\\circ``/``*``."""
        if self.sized:
            a, b = self.combine_sized(a, b, pos, "elementwise" if how == "hadamard" else
                                      "matrix")
        if how == "hadamard":
            return E("mul", (a, b), pos=pos)
        try:
            sa, sb = self.shape_of(a), self.shape_of(b)
        except (ShapeError, Unsupported, KeyError):
            sa, sb = (), ()
        if sa != () and sb != ():
            if how == "times":
                raise LatexError("\\times between two non-scalars is ambiguous", pos,
                                 "write \\odot (elementwise) or juxtapose/\\cdot (matrix product)")
            if how == "dot" and sa == sb and len(sa) == 2 and 1 in sa and sa != (1, 1):
                # two vectors of one shape: the dot product (as a matrix product it
                # could not be formed)
                self.notes.append("u \\cdot w between two vectors of one shape read as "
                                  "their dot product (u^T w)")
                if sa[1] == 1:
                    return E("matmul", (E("T", (a,), pos=pos), b), pos=pos)
                return E("matmul", (a, E("T", (b,), pos=pos)), pos=pos)
            return E("matmul", (a, b), pos=pos)
        return E("mul", (a, b), pos=pos)

    @contextmanager
    def deeper(self) -> Iterator[None]:
        """One level of the reader's recursion, for the duration of the ``with``; past
        ``MAX_TREE_DEPTH`` (3000 minus signs, chained ``\\exp`` or ``\\frac``) an input
        error at the token, never a RecursionError. Each level stands for at most three
        Python frames."""
        self.level += 1
        try:
            if self.level > MAX_TREE_DEPTH:
                raise LatexError(f"expression nested too deeply (limit {MAX_TREE_DEPTH} "
                                 "levels)", self.here(), _DEEP_HINT)
            yield
        finally:
            self.level -= 1

    def unary(self) -> E:
        with self.deeper():
            return self._unary()

    def _unary(self) -> E:
        if self.peek_char("-"):
            tok = self.next()
            return E("neg", (self.unary(),), pos=tok.pos)
        if self.peek_char("+"):
            self.next()
            return self.unary()
        return self.postfix(self.primary())

    def postfix(self, node: E) -> E:
        while True:
            if self.peek_char("^"):
                tok = self.next()
                node = self.superscript(node, tok.pos)
            elif self.peek_char("_") and node.op not in ("sym", "ref", "idx", "dim"):
                tok = self.next()  # (expression)_i, \operatorname{softmax}(z)_i
                sub = self.raw_group_text().replace(" ", "").replace(",", "")
                node = self.element(node, sub, tok.pos)
            elif self.peek_char("'"):
                tok = self.next()
                if node.op == "fn" and len(node.args) == 1 and node.val in _PRIMES:
                    node = self.primed(str(node.val), node.args[0], tok.pos)
                else:
                    raise LatexError(_PRIME_ERROR, tok.pos)
            else:
                return node

    def superscript(self, node: E, pos: int) -> E:
        start = self.i
        text = self.raw_group_text().replace(" ", "")
        if text in ("T", "\\top", "\\intercal", "\\mathsfT", "\\mathrmT", "\\mathsf{T}",
                    "\\mathrm{T}", "{T}"):
            return E("T", (node,), pos=pos)
        if text in ("-1",):
            try:
                square = self.shape_of(node) != ()
            except (ShapeError, Unsupported, KeyError):
                square = False
            if square:
                return E("fn", (node,), "inv", pos=pos)
            return E("div", (E("num", val=Fraction(1)), node), pos=pos)
        if text in ("-T", "-\\top"):
            return E("T", (E("fn", (node,), "inv"),), pos=pos)
        self.i = start
        expo = self.group_or_atom(note=True)
        return E("pow", (node, expo), pos=pos)

    def group_or_atom(self, note: bool = False) -> E:
        if self.peek_char("{"):
            self.next()
            node = self.expr()
            self.expect_char("}")
            return node
        tok = self.peek()
        if tok is not None and tok.kind == "num":
            if len(tok.text) > 1:
                # TeX: an unbraced argument is one token, so one digit: \frac12 is
                # \frac{1}{2}, a^12 is a^{1} 2; the rest stays for what follows
                self.toks[self.i] = Tok("num", tok.text[1:], tok.pos + 1)
                if note:
                    self.notes.append(f"^{tok.text} read as TeX typesets it, ^{{{tok.text[0]}}} "
                                      f"then {tok.text[1:]}; write ^{{{tok.text}}} for the "
                                      f"power {tok.text}")
            else:
                self.next()
            return E("num", val=Fraction(tok.text[0]), pos=tok.pos)
        return self.primary()

    def primary(self) -> E:
        with self.deeper():
            return self._primary()

    def _primary(self) -> E:
        tok = self.peek()
        if tok is None:
            raise LatexError("the expression ends too early", len(self.text))
        for sig, name in self.scope.forms:  # a declared form: D_{\mathrm{KL}}(p \| q)
            if tuple((t.kind, t.text) for t in self.toks[self.i:self.i + len(sig)]) == sig:
                self.i += len(sig)
                return self.leaf(name, tok.pos)
        if tok.kind == "num":
            self.next()
            if len(tok.text) > 12:
                raise LatexError("number too long", tok.pos)
            return E("num", val=Fraction(tok.text), pos=tok.pos)
        if tok.kind == "char" and tok.text == "(":
            self.next()
            node = self.expr()
            self.close(")")
            return node
        if tok.kind == "char" and tok.text == "[":
            self.next()
            node = self.expr()
            self.close("]")
            return node
        if tok.kind == "char" and tok.text == "{":
            self.next()
            node = self.expr()
            self.expect_char("}")
            return node
        if tok.kind == "char" and tok.text == "|":
            return self.norm("bar")
        if tok.kind == "cmd":
            return self.command(tok)
        if tok.kind == "letter":
            return self.name_or_element()
        raise LatexError(f"unexpected {tok.text!r}", tok.pos)

    def close(self, ch: str) -> None:
        self.expect_char(ch)

    def command(self, tok: Tok) -> E:
        # a command is a few frames more (a fraction, a function application)
        with self.deeper():
            return self._command(tok)

    def _command(self, tok: Tok) -> E:
        name = tok.text
        if name in ("frac", "tfrac", "dfrac"):
            self.next()
            return self.fraction(tok.pos)
        if name == "partial":
            return self.partial_slash(tok)
        if name in ("sum",):
            self.next()
            return self.sum(tok.pos)
        if name == "delta" and self.toks[self.i + 1:self.i + 2] and \
                self.toks[self.i + 1].text == "_" and self.scope.names.lookup("\\delta") is None:
            self.next()
            self.expect_char("_")
            return self.delta(tok.pos)
        if name == "nabla":
            self.next()
            return self.nabla(tok.pos)
        if name in ("mathbb", "mathbf") and self.indicator_ahead(bold=name == "mathbf"):
            self.next()
            return self.indicator(tok.pos)
        if name in ("|", "Vert", "lVert", "lvert", "vert"):
            return self.norm(name)
        if name in ("operatorname", "text", "mathrm", "textrm", "mathop") and \
                self.function_name_ahead():
            self.next()
            fname = self.raw_group_text().replace(" ", "")
            return self.apply_named(fname, tok.pos)
        if name in _NAME_COMMANDS:
            return self.operator_name(tok)
        if name == "max":
            self.next()
            return self.maximum(tok.pos)
        if name == "pi" and self.scope.names.lookup("\\pi") is None:
            raise LatexError("\\pi: derivcheck has no constant pi", tok.pos,
                             "declare a positive scalar written \\pi, e.g. "
                             "PI: {kind: posscalar, latex: '\\pi'}: a step then holds for "
                             "every positive value, as a step about derivatives needs")
        if name in FUNCTIONS or (name == "sigma" and self.scope.names.lookup("\\sigma") is None):
            self.next()
            return self.apply_named(name, tok.pos)
        if name == "sigma" and self.i + 1 < len(self.toks):
            after = self.toks[self.i + 1]
            if (after.kind == "char" and after.text in "([") or \
                    (after.kind == "cmd" and after.text in ("left", "big", "Big")):
                # \sigma declared as a symbol, and \sigma(...) how the sigmoid is written
                raise LatexError("\\sigma(...) is ambiguous here: \\sigma is a declared symbol, "
                                 "and \\sigma(...) is how the sigmoid is written", tok.pos,
                                 "write \\sigma \\cdot (...) for the product, or "
                                 "\\operatorname{sigmoid}(...) for the function")
        if name in GREEK or name in FONT_COMMANDS or name in ACCENTS:
            return self.name_or_element()
        if name in _AMBIGUOUS_COMMANDS:
            raise LatexError(f"\\{name} is not read: {_AMBIGUOUS_COMMANDS[name]}", tok.pos)
        raise LatexError(f"unknown command \\{name}", tok.pos,
                         "understood: \\frac \\partial \\sum \\delta \\odot \\cdot \\log \\exp "
                         "\\sigma \\max(0, z) \\sqrt \\operatorname{...} \\mathbb{1}[...] "
                         "\\mathbf{1} I norms, and Greek letters (README, Steps in LaTeX)")

    def operator_name(self, tok: Tok) -> E:
        """``\\operatorname{...}`` that is not a known function: ``sum``/``mean`` of every
        entry, a declared name (``\\operatorname{CE}``), or an unknown function."""
        save = self.i
        self.next()
        text = self.raw_group_text().replace(" ", "")
        if text.lower() in _REDUCTIONS:
            if not (self.peek_char("(") or self.peek_char("[")):
                raise LatexError(f"\\{tok.text}{{{text}}} needs its argument in brackets: "
                                 f"\\{tok.text}{{{text}}}(x)", self.here())
            return E(_REDUCTIONS[text.lower()], (self.primary(),), None, pos=tok.pos)
        if self.scope.names.lookup(text) is not None or any(
                key[0] == text for key in self.scope.names.table):
            self.i = save
            return self.name_or_element()
        raise LatexError(f"unknown function '{text}'", tok.pos,
                         f"known: {', '.join(sorted(FUNCTIONS))}, ReLU, sigma, sum, mean; "
                         f"or a declared name")

    def maximum(self, pos: int) -> E:
        """``\\max(0, z)`` and ``\\max(z, 0)``: ReLU (elementwise); any other max refused."""
        if self.peek_cmd("{"):
            self.next()
            close, kind = "}", "cmd"
        elif self.peek_char("("):
            self.next()
            close, kind = ")", "char"
        else:
            raise LatexError("only \\max(0, z) is read (as ReLU)", pos,
                             "write \\max(0, z), or \\operatorname{ReLU}(z)")
        first = self.expr()
        self.expect_char(",")
        second = self.expr()
        end = self.next()
        if end.text != close or end.kind != kind:
            raise LatexError("expected the closing bracket of \\max", end.pos)
        zero = [e for e in (first, second) if e.op == "num" and e.val == 0]
        if len(zero) != 1:
            raise LatexError("only \\max(0, z) is read (as ReLU)", pos,
                             "a max of two expressions is not read; write \\max(0, z) or "
                             "\\operatorname{ReLU}(z)")
        arg = second if first is zero[0] else first
        return E("fn", (arg,), "relu", pos=pos)

    def function_name_ahead(self) -> bool:
        save = self.i
        try:
            self.next()
            text = self.raw_group_text().replace(" ", "")
        except LatexError:
            return False
        finally:
            self.i = save
        return text.lower() in FUNCTIONS or text in ("ReLU", "Relu", "relu", "softmax",
                                                     "Softmax", "sigmoid", "diag", "tr")

    def indicator_ahead(self, *, bold: bool = False) -> bool:
        """``\\mathbb{1}`` / ``\\mathbb{I}``: an indicator; ``\\mathbf{1}`` and
        ``\\mathbf{I}`` only with their condition ([...], (...), \\{...\\}, _{k=c}):
        alone they are the ones vector and the identity."""
        save = self.i
        try:
            self.next()
            text = self.raw_group_text()
            after = self.peek()
            if bold and after is not None and after.text == "_":
                self.next()
                cond = self.raw_group_text()
                return text in ("1", "I") and "=" in cond
        except LatexError:
            return False
        finally:
            self.i = save
        if text not in ("1", "I"):
            return False
        if not bold:
            return True
        return after is not None and after.text in ("[", "(", "{")

    def nabla(self, pos: int) -> E:
        """``\\nabla_{v} f``: the derivative of ``f`` by ``v``; like the operator
        ``\\frac{\\partial}{\\partial v}``, it takes the product that follows, up to the
        next + or - (``\\nabla_x b^\\top x`` is the gradient of ``b^\\top x``)."""
        order = self.second_order()  # \\nabla^2_x f
        if not self.peek_char("_"):
            raise LatexError("\\nabla needs its variable: \\nabla_{W} L", pos)
        self.next()
        if self.peek_char("{"):
            self.next()
            v = self.variable()
            self.expect_char("}")
        else:
            v = self.variable()
        if order == 1:
            order = self.second_order()  # \\nabla_x^2 f
        f = self.product_chain()
        return self.derivative(f, v, order, pos)

    def apply_named(self, fname: str, pos: int) -> E:
        key = fname.lower()
        if key in ("relu",):
            fn = "relu"
        elif key in ("sigma", "sigmoid"):
            fn = "sigmoid"
        elif key in FUNCTIONS:
            fn = FUNCTIONS[key]
        else:
            raise LatexError(f"unknown function {fname!r}", pos,
                             f"known: {', '.join(sorted(FUNCTIONS))}, ReLU, sigma")
        prime = False
        if self.peek_char("'"):
            self.next()
            prime = True
        if fn == "log" and self.peek_char("_"):
            self.next()
            base = self.raw_group_text()
            chosen = {"10": "log10", "2": "log2", "e": "log"}.get(base.replace(" ", ""))
            if chosen is None:
                return self.log_base(base, pos)
            fn = chosen
        power: E | None = None
        if self.peek_char("^") and fn in ("exp", "log", "tanh", "sigmoid"):
            self.next()
            power = self.group_or_atom()
        root = 2
        if fn == "sqrt" and self.peek_char("["):
            root = self.root_degree(pos)
        t = self.peek()
        if fname == "sigma" and (t is None or (t.kind == "char" and t.text in "+-*/=)]},|^_'")):
            raise LatexError("\\sigma is read as the sigmoid here (no symbol is written "
                             "\\sigma) and needs its argument", pos,
                             "write \\sigma(z); for the scalar sigma declare it (e.g. "
                             "sigma: posscalar), and \\sigma^2 is then its square")
        if fn == "sqrt" and self.peek_char("{"):
            arg = self.group_or_atom()
        elif self.peek_char("(") or self.peek_char("["):
            arg = self.primary()
        else:
            arg = self.postfix(self.primary())
            self.refuse_juxtaposed_argument(fname, pos)
        node = E("fn", (arg,), fn, pos=pos)
        if fn in ("softmax", "logsumexp"):
            self.warn_axis_of_one(fn, arg)
        if root != 2:  # an even root: x^(1/n), defined where the square root is
            node = E("pow", (arg, E("num", val=Fraction(1, root))), pos=pos)
            self.notes.append(f"\\sqrt[{root}]{{...}} read as the power 1/{root}")
        if prime:
            if fn not in _PRIMES:
                raise LatexError(_PRIME_ERROR, pos)
            node = self.primed(fn, arg, pos)
        if power is not None:
            node = E("pow", (node, power), pos=pos)
        return node

    def primed(self, fn: str, arg: E, pos: int) -> E:
        """The derivative of an elementwise function at ``arg`` (``\\sigma'(z)``,
        ``\\tanh'(z)``, ``\\operatorname{ReLU}'(z)``), said in ``read as``."""
        if fn == "relu":
            return E("fn", (arg,), "relu_prime", pos=pos)
        f = E("fn", (arg,), fn, pos=pos)
        one = E("num", val=Fraction(1))
        if fn == "sigmoid":  # sigma' = sigma (1 - sigma)
            node = E("mul", (f, E("sub", (one, f))), pos=pos)
        elif fn == "tanh":  # tanh' = 1 - tanh^2
            node = E("sub", (one, E("pow", (f, E("num", val=Fraction(2))))), pos=pos)
        elif fn == "exp":
            node = f
        else:  # log' = 1 / x
            node = E("div", (one, arg), pos=pos)
        self.notes.append(f"{fn}' read as the derivative of {fn}: {_PRIMES[fn]}")
        return node

    def warn_axis_of_one(self, fn: str, arg: E) -> None:
        """A softmax or logsumexp of a row (runs down each column, over one entry) is
        almost always a mistake: 1 everywhere, or the entries themselves. Said, not
        refused: the reading is exact."""
        try:
            shape = self.shape_of(arg)
        except (ShapeError, Unsupported, KeyError):
            return
        if len(shape) == 2 and shape[0] == 1 and shape[1] != 1:
            what = "1 in every entry" if fn == "softmax" else "the entries themselves"
            self.notes.append(f"{fn} of a row ({to_text(arg)}, 1 x {shape[1]}) runs down each "
                              f"column, over one entry: it is {what}; the {fn} of the row's "
                              "entries is that of its transpose")

    def refuse_juxtaposed_argument(self, fname: str, pos: int) -> None:
        """``\\ln x y``: is the argument ``x`` or ``x y``? Texts write both (SymPy's
        parser reads ln(xy)); a reading either way would silently change some claims,
        so the juxtaposition after an argument without parentheses is refused."""
        tok = self.peek()
        if tok is not None and self.starts_primary(tok) and not (
                tok.kind == "cmd" and tok.text in ("right", "end")):
            shown = f"\\{fname}" if fname.isalpha() else fname
            raise LatexError(f"{shown} x y is ambiguous: the argument may be x or x y", tok.pos,
                             f"write {shown}(x y) for the function of the product, or "
                             f"y {shown} x (or ({shown} x) y) for the product")

    def log_base(self, base: str, pos: int) -> E:
        """``\\log_b x`` for a base other than 2, 10 and e: ``log(x) / log(b)``."""
        try:
            inner = _Reader(base, tokenize(base), self.scope)
            b = inner.expr()
            if not inner.at_end():
                raise LatexError("", 0)
        except LatexError:
            raise LatexError(f"logarithm base {base!r} is not read", pos,
                             "use \\log (natural), \\log_2, \\log_{10}, or a base that is "
                             "an expression: \\log_{a} x is log(x) / log(a)") from None
        if self.peek_char("(") or self.peek_char("["):
            arg = self.primary()
        else:
            arg = self.postfix(self.primary())
        self.notes.append(f"\\log_{{{base}}} read as log(...) / log({to_text(b)})")
        return E("div", (E("fn", (arg,), "log", pos=pos), E("fn", (b,), "log", pos=pos)),
                 pos=pos)

    def root_degree(self, pos: int) -> int:
        """The ``n`` of ``\\sqrt[n]{x}``: 2, or an even number; an odd root is refused
        (the real cube root of a negative number is not x^(1/3), which has none)."""
        self.expect_char("[")
        tok = self.next()
        self.expect_char("]")
        if tok.kind != "num" or not tok.text.isdigit() or int(tok.text) < 2:
            raise LatexError(f"\\sqrt[{tok.text}]: the degree of a root is a whole number "
                             "from 2", pos)
        n = int(tok.text)
        if n % 2:
            raise LatexError(f"\\sqrt[{n}]{{...}}: odd roots are not read (the real root "
                             f"of a negative number is not x^{{1/{n}}}, which has none)", pos,
                             f"write x^{{1/{n}}} where x > 0")
        if n > 64:
            raise LatexError(f"\\sqrt[{n}]: degree too large (limit 64)", pos)
        return n

    def fraction(self, pos: int) -> E:
        num_start = self.i
        if self.partial_group_ahead():
            return self.derivative_fraction(pos)
        self.i = num_start
        num = self.group_or_atom()
        den = self.group_or_atom()
        return E("div", (num, den), pos=pos)

    def partial_group_ahead(self) -> bool:
        """Does a ``{\\partial ...}`` (or ``{\\mathrm{d} ...}``) numerator follow?"""
        if not self.peek_char("{"):
            return False
        tok = self.toks[self.i + 1] if self.i + 1 < len(self.toks) else None
        if tok is None or tok.kind not in ("cmd", "letter"):
            return False
        if tok.kind == "cmd" and tok.text == "partial":
            return True
        if tok.kind == "letter" and tok.text == "d" and self.scope.names.lookup("d") is None:
            return True  # \frac{d y}{d x}, \frac{d}{dx} y
        following = "".join(t.text for t in self.toks[self.i + 2:self.i + 5])
        return tok.text in ("mathrm", "operatorname") and following == "{d}"

    def derivative_fraction(self, pos: int) -> E:
        self.expect_char("{")
        self.skip_partial()
        order = self.second_order()
        if self.peek_char("}"):
            self.next()  # \frac{\partial}{\partial v} f
            self.expect_char("{")
            v = self.denominator(order)
            self.expect_char("}")
            f = self.product_chain()
            return self.derivative(f, v, order, pos)
        f = self.expr()
        self.expect_char("}")
        self.expect_char("{")
        v = self.denominator(order)
        self.expect_char("}")
        return self.derivative(f, v, order, pos)

    def second_order(self) -> int:
        """``^2`` after a ``\\partial`` (or ``d``): a second derivative; else 1."""
        if not self.peek_char("^"):
            return 1
        save = self.i
        self.next()
        if self.raw_group_text().strip() == "2":
            return 2
        self.i = save
        return 1

    def denominator(self, order: int) -> E:
        """``\\partial v`` (first order); ``\\partial v^2``, ``\\partial v \\partial v`` or
        ``\\partial v \\partial v^\\top`` (second order, the same variable twice)."""
        self.skip_partial()
        v = self.variable()
        if order == 1:
            return v
        at = self.here()
        if self.second_order() == 2:
            return v
        if not self.peek_cmd("partial"):
            raise LatexError("a second derivative is written \\partial^2 f / \\partial x^2, or "
                             "\\partial x \\partial x^\\top", at)
        self.next()
        w = self.variable()
        if self.peek_char("^"):
            save = self.i
            self.next()
            if self.raw_group_text().replace(" ", "") not in _TRANSPOSES:
                self.i = save
                raise LatexError("expected a transpose (^\\top) or nothing after the second "
                                 "variable", self.here())
        if w != v:
            raise LatexError("a mixed second derivative is not read", at,
                             "write it as a derivative of a derivative: "
                             "\\frac{\\partial}{\\partial x} \\frac{\\partial f}{\\partial y}")
        return v

    def derivative(self, f: E, v: E, order: int, pos: int) -> E:
        first = E("d", (f, v), pos=pos)
        if order == 1:
            return first
        self.notes.append(f"the second derivative read as the derivative of the derivative: "
                          f"d(d({to_text(f)})/d({to_text(v)}))/d({to_text(v)}) (the Hessian "
                          "for a vector variable)")
        return E("d", (first, v), pos=pos)

    def skip_partial(self) -> None:
        tok = self.next()
        if tok.kind == "cmd" and tok.text == "partial":
            return
        if tok.kind == "cmd" and tok.text in ("mathrm", "operatorname"):
            self.raw_group_text()
            return
        if tok.kind == "letter" and tok.text == "d":
            return
        raise LatexError("expected \\partial (or d)", tok.pos)

    def partial_slash(self, tok: Tok) -> E:
        """``\\partial f / \\partial v``."""
        self.next()
        f = self.postfix(self.primary())
        if not self.peek_char("/"):
            raise LatexError("expected '/ \\partial v' after '\\partial f'", self.here())
        self.next()
        if not self.peek_cmd("partial"):
            raise LatexError("expected \\partial after '/'", self.here())
        self.next()
        v = self.variable()
        return E("d", (f, v), pos=tok.pos)

    def variable(self) -> E:
        node = self.name_or_element()
        if node.op in ("sym", "ref") or (node.op == "elem" and node.args[0].op in ("sym", "ref")):
            return node
        raise LatexError("the variable of a derivative must be a symbol, a defined name or an "
                         "element of one", self.here())

    def sum(self, pos: int) -> E:
        if not self.peek_char("_"):
            raise LatexError("\\sum needs its index: \\sum_k or \\sum_{k=1}^{K}", pos)
        self.next()
        sub_start = self.here()
        sub = self.raw_group_text().replace(" ", "")
        var, other = _excluded(sub)
        lower = ""
        if other is None:
            var, _, lower = sub.partition("=")
        bound = self.open_bound_sum(var, sub_start)
        upper = ""
        if self.peek_char("^"):
            self.next()
            upper = self.raw_group_text().replace(" ", "")
        if other is not None and upper:
            raise LatexError(f"\\sum_{{{sub}}}^{{{upper}}}: bounds with an excluded value are "
                             "not read", sub_start, "write the sum over every value but one as "
                             f"\\sum_{{{var} \\neq {other}}}, or the range alone")
        if bound is None:
            one_based, span = self.check_bounds(var, lower, upper, sub_start)
            body = self.product_chain()
            if one_based:
                _refuse_index_as_number(body, var, lower, upper, sub_start)
            body = self.restrict(body, var, span, other, sub_start, var,
                                 self.scope.ranges.get(var, ""))
            return E("Sum", (body,), var, pos=pos)
        assert self.scope.bound is not None
        self.open_sums.append(bound)
        try:
            body = self.product_chain()
        finally:
            self.open_sums.pop()
        try:
            body, note = self.scope.bound.close(bound, body)
        except BoundError as exc:
            raise LatexError(exc.message, sub_start, exc.hint) from None
        one_based, span = self.check_bounds(var, lower, upper, sub_start, bound.dim)
        if one_based:
            _refuse_index_as_number(body, var, lower, upper, sub_start, bound.name)
        self.notes.append(note)
        body = self.restrict(body, bound.name, span, other, sub_start, var, bound.dim or "")
        return E("Sum", (body,), bound.name, pos=pos)

    def restrict(self, body: E, name: str, span: tuple[int, int, str] | None,
                 other: str | None, pos: int, written: str, dim: str = "") -> E:
        """The body of a sum over part of its index's range: times the indicator of
        the positions kept (``span``), or times ``1 - delta`` for ``\\sum_{k \\neq i}``."""
        k = E("idx", val=name)
        if span is not None:
            return E("mul", (E("span", (k,), val=span), body))
        if other is not None:
            if other == written:
                raise LatexError(f"\\sum_{{{other} \\neq {other}}}: the excluded value is the "
                                 "sum's own index", pos)
            excluded = self.index_node(other, pos) if self.is_index(other) else None
            if excluded is None:
                raise LatexError(f"'{other}' is not an index: \\sum_{{k \\neq i}} leaves out "
                                 "the term where k equals the index i", pos,
                                 "declare it as 'index n', or write the number of the entry")
            theirs = self.scope.ranges.get(other, "") if excluded.op == "idx" else ""
            if dim and theirs and theirs != dim:
                raise LatexError(f"\\sum_{{{written} \\neq {other}}}: {written} runs over {dim} "
                                 f"and {other} over {theirs}", pos,
                                 "leave out a value of the sum's own range")
            return E("mul", (E("sub", (E("num", val=Fraction(1)), E("delta", (k, excluded)))),
                             body))
        return body

    def open_bound_sum(self, var: str, pos: int) -> BoundSum | None:
        """None for a declared index; a sum over an undeclared letter whose range is
        inferred from what it subscripts (``\\sum_k y_k``); any other name refused."""
        kind = self.scope.kinds.get(var)
        if kind == "idx":
            return None
        hint = "declare it as 'index n'; the sum runs over its whole range"
        if kind is not None or self.scope.names.lookup(var) is not None:
            what = {"sym": "a symbol", "ref": "a defined name", "dim": "a dimension"}.get(
                kind or "", "the LaTeX name of a symbol")
            raise LatexError(f"'{var}' is not a declared index: it is {what}", pos,
                             "sum over an index (declared as 'index n', or a letter that is "
                             "not declared, whose range follows from what it subscripts)")
        if self.scope.bound is None or not re.fullmatch(r"[A-Za-z]", var):
            raise LatexError(f"'{var}' is not a declared index", pos, hint)
        return self.scope.bound.open(var)

    def open_bound(self, text: str) -> BoundSum | None:
        """The innermost sum being read whose undeclared index is written ``text``."""
        for bound in reversed(self.open_sums):
            if bound.var == text:
                return bound
        return None

    def product_chain(self) -> E:
        """The product that follows (up to the next + or -): the operand of ``\\sum_k``
        and of the operator ``\\frac{\\partial}{\\partial v}``."""
        body = self.unary()
        while True:
            tok = self.peek()
            if tok is None or not (self.starts_primary(tok) or (
                    tok.kind == "cmd" and tok.text in _PRODUCT_CMDS)):
                return body
            if tok.kind == "cmd" and tok.text in _PRODUCT_CMDS:
                self.next()
                body = self.product(body, self.unary(), _PRODUCT_CMDS[tok.text], tok.pos)
            else:
                body = self.product(body, self.unary(), "juxtaposition", tok.pos)

    def check_bounds(self, var: str, lower: str, upper: str, pos: int,
                     dim: str | None = None) -> tuple[bool, tuple[int, int, str] | None]:
        """Read the bounds of ``\\sum`` exactly, or refuse them; never widen a range.

        An index over ``K`` takes the positions ``0..K-1``.  The whole range is
        written ``\\sum_k``, ``\\sum_{k=0}^{K-1}``, ``\\sum_{k=0}`` or, counting from 1,
        ``\\sum_{k=1}^{K}``.  A partial range has an integer lower bound and an upper
        bound ``K`` or ``K-c``; it is read in the file's ``latex_index_base`` (0: the
        bounds are positions; 1: position = bound - 1).  Where that convention is
        not declared, integer subscripts count from 0, and so do partial sums: the
        bounds only base 0 can mean are read (``0..K-2``); bounds base 1 can also
        mean (``1..K-1``: every value but the first, or but the last) or only base 1
        (``2..K``) are refused, asking for the convention.

        Returns (whether the bounds count from 1, so that the body must use the index
        only as a subscript; the positions kept, ``(first, left out at the end,
        dim)``, or None for the whole range).
        """
        dim = dim or self.scope.ranges.get(var, "")
        declared = self.scope.index_base
        if not lower and not upper:
            return False, None
        if lower == "0" and upper in ("", f"{dim}-1") and declared != 1:
            return False, None
        if lower == "1" and upper == dim and declared != 0:
            return True, None
        forms = {None: f"\\sum_{{{var}=0}}^{{{dim}-1}}, or \\sum_{{{var}=1}}^{{{dim}}} counting "
                       "from 1", 0: f"\\sum_{{{var}=0}}^{{{dim}-1}}",
                 1: f"\\sum_{{{var}=1}}^{{{dim}}}"}
        whole = (f"write \\sum_{var} (or {forms[declared]}) for the sum over every value; "
                 f"a partial sum has an integer lower bound and an upper bound {dim} or "
                 f"{dim}-c")
        if lower == "1" and not upper:
            raise LatexError(f"sum bounds 1..?: {var} runs over 0..{dim}-1; from 1 with no "
                             "upper bound is either the whole range counted from 1 or "
                             "every value but the first", pos, whole)
        if not lower:
            raise LatexError(f"sum bounds ?..{upper}: an upper bound needs its lower bound",
                             pos, whole)
        top = re.fullmatch(re.escape(dim) + r"(?:-(\d{1,3}))?", upper) if dim else None
        if not lower.isdigit() or len(lower) > 3 or top is None:
            raise LatexError(f"sum bounds {lower}..{upper or '?'}: not read (the bounds of a "
                             f"sum over {var} are an integer and {dim or 'its dimension'} or "
                             f"{dim or 'its dimension'}-c); a sum is never widened to the whole "
                             "range", pos, whole)
        first, off = int(lower), int(top.group(1) or 0)
        readings = {}  # base -> (first position, positions left out at the end)
        if off >= 1:  # counted from 0: positions first..dim-off
            readings[0] = (first, off - 1)
        if first >= 1:  # counted from 1: positions first-1..dim-off-1
            readings[1] = (first - 1, off)
        if declared is None and 1 in readings and 0 not in readings:
            # counted from 1 they fit; but this file's integer subscripts count from 0,
            # and one expression is never read in two bases
            raise LatexError(f"sum bounds {lower}..{upper}: counted from 1 they leave out "
                             f"{_left_out(readings[1], var, dim)}, but this file's LaTeX "
                             "indices count from 0 (x_0 is the first entry)", pos,
                             "if the file counts from 1, say so: conventions: "
                             "{latex_index_base: 1}")
        if declared is not None:
            readings = {b: r for b, r in readings.items() if b == declared}
        if not readings:
            if lower == "0" and upper == dim:
                raise LatexError(f"sum bounds 0..{dim}: that is {dim} + 1 terms, but {var} has "
                                 f"{dim} values (0..{dim}-1)", pos, whole)
            raise LatexError(f"sum bounds {lower}..{upper}: not a range of {var} when indices "
                             f"count from {declared} (conventions: latex_index_base)", pos, whole)
        if len(readings) == 2:
            a, b = readings[0], readings[1]
            raise LatexError(
                f"sum bounds {lower}..{upper}: counted from 0 they leave out "
                f"{_left_out(a, var, dim)}, counted from 1 {_left_out(b, var, dim)}", pos,
                "say how this file counts: conventions: {latex_index_base: 0} or "
                "{latex_index_base: 1}")
        (base, (first_pos, drop)), = readings.items()
        how = "counted from 1" if base else "counted from 0"
        self.notes.append(f"\\sum_{{{var}={lower}}}^{{{upper}}} read {how}: {var} over positions "
                          f"{first_pos}..{dim}-{drop + 1} of 0..{dim}-1"
                          + ("" if declared is not None else
                             " (the only base these bounds fit; conventions: latex_index_base)"))
        if first_pos == 0 and drop == 0:
            return bool(base), None
        return bool(base), (first_pos, drop, dim)

    def delta(self, pos: int) -> E:
        text = self.raw_group_text().replace(" ", "").replace(",", "")
        idx = list(text)
        if len(idx) != 2 or not all(self.is_index(c) for c in idx):
            raise LatexError(f"\\delta_{{{text}}}: expected two indices", pos)
        return E("delta", tuple(self.index_node(c, pos) for c in idx), pos=pos)

    def n_indices(self, name: str) -> int:
        """How many indices an element of ``name`` takes (0 if it has no elements)."""
        try:
            shape = self.shape_of(self.leaf(name, 0))
        except (ShapeError, Unsupported, KeyError):
            return 0
        if shape == ():
            return 0
        return 1 if 1 in shape else 2

    def is_index(self, text: str) -> bool:
        return text.isdigit() or self.scope.kinds.get(text) == "idx" or \
            self.open_bound(text) is not None

    def index_node(self, text: str, pos: int) -> E:
        if text.isdigit():
            base = self.scope.index_base or 0
            if int(text) < base:
                raise LatexError(f"index {text}: this file's LaTeX indices count from {base} "
                                 "(conventions: latex_index_base)", pos,
                                 f"the first entry is _{base}")
            if base:
                self.notes.append(f"the integer subscript {text} read as entry {int(text) - base}"
                                  " (LaTeX indices count from 1: latex_index_base)")
            return E("int", val=int(text) - base, pos=pos)
        bound = self.open_bound(text)
        if bound is not None:
            return E("idx", val=bound.name, pos=pos)
        if self.scope.kinds.get(text) == "idx":
            return E("idx", val=text, pos=pos)
        raise LatexError(f"'{text}' is not a declared index", pos)

    def indicator(self, pos: int) -> E:
        """``1[z > 0]``, ``1[z \\geq 0]``, ``I(k = c)``, ``1\\{k = c\\}``, ``1_{k=c}``,
        ``1[i \\neq j]``."""
        self.raw_group_text()  # 1 or I
        if self.peek_char("_"):  # the condition as a subscript: 1_{k=c}
            self.next()
            self.expect_char("{")
            close, close_kind = "}", "char"
        elif self.peek_char("["):
            self.next()
            close, close_kind = "]", "char"
        elif self.peek_cmd("{"):
            self.next()
            close, close_kind = "}", "cmd"
        elif self.peek_char("("):
            self.next()
            close, close_kind = ")", "char"
        else:
            raise LatexError("\\mathbb{1} is an indicator and needs its condition: "
                             "\\mathbb{1}[z > 0], \\mathbb{1}[k = c]", pos,
                             "the ones vector is \\mathbf{1} (or \\mathbf{1}_K), the "
                             "identity I or \\mathbf{I}")
        self.closers.append(close)
        try:
            left = self.expr()
            op = self.next()
            relation = op.text if op.kind == "char" else {
                "geq": ">=", "ge": ">=", "neq": "!=", "ne": "!="}.get(op.text, "")
            if relation == ">" and self.peek_char("="):
                self.next()
                relation = ">="
            if relation not in ("=", ">", ">=", "!="):
                raise LatexError("an indicator is 1[z > 0], 1[z \\geq 0], I(k = c) or "
                                 "1[k \\neq c]", op.pos)
            right = self.expr()
        finally:
            self.closers.pop()
        end = self.next()
        if end.text != close or end.kind != close_kind:
            raise LatexError(f"expected the closing {close} of the indicator", end.pos)
        if relation == "!=":
            if left.op in ("idx", "int") and right.op in ("idx", "int"):
                return E("sub", (E("num", val=Fraction(1)), E("delta", (left, right))), pos=pos)
            raise LatexError("1[a \\neq b] needs two indices", op.pos)
        if relation in (">", ">="):  # the value at z = 0 is the relu_prime_at_zero convention
            if right.op == "num" and right.val == 0:
                at_zero = 1 if relation == ">=" else 0
                if at_zero != self.scope.at_zero:
                    written = "\\geq" if relation == ">=" else ">"
                    self.notes.append(
                        f"1[... {written} 0] read as relu_prime: at exactly 0 it takes the "
                        f"file's relu_prime_at_zero ({self.scope.at_zero}), not {at_zero} "
                        "(random points never land there)")
                return E("fn", (left,), "relu_prime", pos=pos)
            raise LatexError("only 1[z > 0] and 1[z \\geq 0] are understood for an inequality",
                             op.pos)
        if left.op in ("idx", "int") and right.op in ("idx", "int"):
            return E("delta", (left, right), pos=pos)
        raise LatexError("1[a = b] needs two indices", op.pos)

    def norm(self, opener: str) -> E:
        """``\\|x\\|`` (a norm) or ``|x|`` (single bars: abs, det or refused).

        ``opener`` is ``"bar"`` for a bare ``|``, else the command's name. Double
        bars are the Euclidean norm (``_2``, ``_F`` or none; ``^2`` its square).
        Single bars mean what the operand's shape allows: the absolute value of a
        scalar, the determinant of a square matrix; a vector or a non-square matrix
        is refused, because ``|x|`` is then a norm in some texts and elementwise
        in others.
        """
        tok = self.next()
        closers = {"bar": ("char", "|"), "|": ("cmd", "|"), "Vert": ("cmd", "Vert"),
                   "lVert": ("cmd", "rVert"), "lvert": ("cmd", "rvert"),
                   "vert": ("cmd", "vert")}
        kind, closer = closers[opener]
        self.closers.append(closer)
        try:
            inner = self.expr()
        finally:
            self.closers.pop()
        end = self.next()
        if end.text != closer or end.kind != kind:
            shown = closer if kind == "char" else "\\" + closer
            raise LatexError(f"expected the closing bar ({shown})", end.pos)
        if opener in ("bar", "lvert", "vert"):
            return self.single_bars(inner, tok.pos)
        sub = ""
        if self.peek_char("_"):
            self.next()
            sub = self.raw_group_text()
        sum_sq = E("sum", (E("pow", (inner, E("num", val=Fraction(2))), pos=tok.pos),), None)
        if sub not in ("", "2", "F"):
            raise LatexError(f"norm _{sub} is not supported", tok.pos, "use \\|x\\|, _2 or _F")
        if self.peek_char("^"):
            save = self.i
            self.next()
            text = self.raw_group_text()
            if text == "2":
                return sum_sq
            self.i = save
        return E("fn", (sum_sq,), "sqrt", pos=tok.pos)

    def single_bars(self, inner: E, pos: int) -> E:
        if self.peek_char("_"):
            raise LatexError("a subscript after single bars |...|", self.here(),
                             "write a norm with double bars: \\|x\\|, \\|x\\|_2 or \\|W\\|_F")
        try:
            shape = self.shape_of(inner)
        except (ShapeError, Unsupported, KeyError) as exc:
            raise LatexError(f"|...| of an expression whose shape is unknown ({exc})", pos,
                             "|a| is the absolute value of a scalar or the determinant of a "
                             "square matrix") from None
        if shape == () or shape == (1, 1):
            return E("fn", (inner,), "abs", pos=pos)
        if len(shape) == 2 and shape[0] == shape[1]:
            self.notes.append("|A| of a square matrix read as its determinant, det(A)")
            return E("fn", (inner,), "det", pos=pos)
        what = "a vector" if 1 in shape else "a matrix that is not square"
        raise LatexError(f"|...| of {what} is ambiguous (a norm, or elementwise absolute "
                         "values)", pos,
                         "write \\|x\\| (or \\|W\\|_F) for the norm, \\operatorname{abs}(x) "
                         "for elementwise absolute values, \\det for a determinant")

    def name_or_element(self) -> E:
        """A declared name, perhaps with a subscript that is part of it or its indices,
        and a transpose inside its layer superscript (``W^{(3)\\top}``)."""
        self.pending_transpose = False
        start = self.here()
        node = self._name_or_element()
        if self.pending_transpose:
            self.pending_transpose = False
            if node.op == "elem":
                raise LatexError("a transpose in the layer superscript of an element", start,
                                 "write (W^{(2)\\top})_{jk}, or the element W^{(2)}_{kj}")
            node = E("T", (node,), pos=start)
        return node

    def _name_or_element(self) -> E:
        tok = self.peek()
        start = tok.pos if tok else len(self.text)
        base = self.base_name()
        if base == "e" and self.peek_char("^") and self.scope.names.lookup("e") is None:
            self.next()
            return E("fn", (self.group_or_atom(),), "exp", pos=start)
        sub = self.name_suffix()
        names = self.scope.names
        bound = self.open_bound(base) if not sub else None
        if bound is not None:  # the undeclared index of a sum being read, as a number
            return E("idx", val=bound.name, pos=start)
        whole = names.lookup(base, sub)
        if whole is not None:
            plain = names.lookup(base, "")
            if sub and plain is not None and all(self.is_index(c) for c in sub) and \
                    len(sub) == self.n_indices(plain):
                self.notes.append(f"{base}_{{{sub}}} read as the symbol {whole}, not as an "
                                  f"element of {plain}")
            return self.leaf(whole, start)
        sup = ""
        if "^" in sub:
            sub, sup = sub.split("^", 1)
            sup = "^" + sup
            whole = names.lookup(base, sup)
            if whole is not None:
                node = self.leaf(whole, start)
                return self.element(node, sub, start) if sub else node
        if sub and not sup:
            for k in range(len(sub), -1, -1):  # the longest part of the subscript that names
                name = names.lookup(base, sub[:k])
                rest = sub[k:]
                if name is not None and rest and all(self.is_index(c) for c in rest):
                    return self.element(self.leaf(name, start), rest, start)
            name = names.lookup(base, "")
            if name is not None:
                return self.element(self.leaf(name, start), sub, start)
        m = re.fullmatch(r"(\d+)(.*)", sub)
        if m:
            name = names.lookup(base, m.group(1))
            if name is not None:
                rest = m.group(2)
                node = self.leaf(name, start)
                return self.element(node, rest, start) if rest else node
        if not sup and (base == "I" or (base == "1" and self.font in _BOLD)):
            return self.sized_object(base, sub, start)
        if base == "e" and not sup and sub and names.lookup("e") is None:
            return self.basis_vector(sub, start)
        shown = base
        if ":" in base:  # an accent: show it as written
            accent, inner = base.split(":", 1)
            shown = f"\\{accent}{{{inner}}}"
        if sup:
            shown += f"^{{{sup[1:]}}}"
        if sub:
            shown += f"_{{{sub}}}"
        raise LatexError(f"unknown name '{shown}'", start,
                         f"declared: {', '.join(sorted(set(names.table.values())))}")

    def basis_vector(self, sub: str, pos: int) -> E:
        """``e_t`` / ``\\mathbf{e}_t`` (``e`` not declared): the basis vector
        ``onehot(t, K)``, over the range of its index."""
        dim = self.scope.ranges.get(sub) if self.scope.kinds.get(sub) == "idx" else None
        if dim is None:
            raise LatexError(f"e_{{{sub}}}: a basis vector is e_t with a declared index t "
                             "(its size is the index's range)", pos,
                             "declare the index (t: index K), or write onehot(t, K) in the "
                             "expression syntax (e is Euler's number: e^{x} is exp(x))")
        self.notes.append(f"e_{{{sub}}} read as the basis vector onehot({sub}, {dim}) (the "
                          f"range of {sub})")
        return E("onehot", (E("idx", val=sub, pos=pos),), dim, pos=pos)

    def sized_object(self, base: str, sub: str, pos: int) -> E:
        """``I`` / ``\\mathbf{I}`` (the identity) and ``\\mathbf{1}`` (the ones column),
        of the dimension written (``I_K``) or, unsized, of the size the context needs."""
        op = "eye" if base == "I" else "ones"
        if not sub:
            self.sized += 1
            return E(op, (), None, pos=pos)
        if self.scope.kinds.get(sub) == "dim":
            return E(op, (), sub if op == "eye" else (sub, 1), pos=pos)
        shown = "I" if op == "eye" else "\\mathbf{1}"
        raise LatexError(f"{shown}_{{{sub}}}: the subscript of {shown} is its size, a "
                         f"dimension name, and '{sub}' is not one", pos,
                         f"write {shown}_K with a declared dimension, or {shown} alone (its "
                         "size from the context)")

    def leaf(self, name: str, pos: int) -> E:
        kind = self.scope.kinds.get(name, "sym")
        return E(kind, val=name, pos=pos)

    def element(self, base: E, sub: str, pos: int) -> E:
        if base.op in ("idx", "dim"):
            raise LatexError(f"'{base.val}' has no elements", pos)
        if ":" in sub:
            return self.slice(base, sub, pos)
        indices = [self.index_node(c, pos) for c in sub]
        if not 1 <= len(indices) <= 2:
            raise LatexError(f"an element takes one or two indices, got {sub!r}", pos)
        for k, c in enumerate(sub):
            bound = self.open_bound(c)
            if bound is not None:  # an undeclared summation index: this fixes its range
                assert self.scope.bound is not None
                where = f"{to_text(base)}[{', '.join(sub)}]"
                try:
                    name = self.scope.bound.use(bound, self.subscript_dim(base, len(sub), k),
                                                where)
                except BoundError as exc:
                    raise LatexError(exc.message, pos, exc.hint) from None
                indices[k] = E("idx", val=name, pos=pos)
        return E("elem", (base, *indices), pos=pos)

    def slice(self, base: E, sub: str, pos: int) -> E:
        """``A_{:,n}`` (the column n of a matrix, a column vector) and ``A_{n,:}`` (the
        row n, a row vector): products with the basis vector of ``n``."""
        where = next((k for k in (0, 1) if len(sub) == 2 and sub[k] == ":" and
                      sub[1 - k] != ":"), None)
        try:
            shape = self.shape_of(base)
        except (ShapeError, Unsupported, KeyError):
            shape = ()
        if where is None or len(shape) != 2 or 1 in shape:
            raise LatexError(f"_{{{sub}}}: a slice is A_{{:,n}} (a column) or A_{{n,:}} (a "
                             "row) of a matrix A", pos)
        text = sub[1 - where]
        index = self.index_node(text, pos)
        dim = shape[1] if where == 0 else shape[0]
        if not isinstance(dim, str):
            raise LatexError(f"_{{{sub}}}: the slice's dimension has no name", pos)
        basis = E("onehot", (index,), dim, pos=pos)
        shown = to_text(base)
        if where == 0:
            self.notes.append(f"{shown}_{{:,{text}}} read as the column {shown} @ "
                              f"onehot({text}, {dim})")
            return E("matmul", (base, basis), pos=pos)
        self.notes.append(f"{shown}_{{{text},:}} read as the row ({shown}.T @ onehot({text}, "
                          f"{dim})).T")
        return E("T", (E("matmul", (E("T", (base,), pos=pos), basis), pos=pos),), pos=pos)

    def subscript_dim(self, base: E, n: int, k: int) -> str | int:
        """The dimension the ``k``-th of ``n`` subscripts of ``base`` runs over."""
        return subscript_dim(self.shape_of, base, n, k, "subscript", "subscripts")
