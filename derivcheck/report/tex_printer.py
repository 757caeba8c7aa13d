"""IR -> LaTeX math: the expression tree typeset the way a derivation is written by hand.

``W2.T @ (a2 - y)`` becomes ``W_{2}^{\\top} (a_{2} - y)``, ``d(L)/d(z2[i])``
becomes ``\\frac{\\partial L}{\\partial z_{2,i}}``, ``Sum(k, e)`` becomes
``\\sum_{k} e``.  Names follow the usual conventions: trailing digits are
subscripts, ``yhat`` is ``\\hat{y}``, ``gamma``/``lam`` are Greek letters.

An elementwise product ``*`` is ``\\odot`` between two non-scalars and
juxtaposition when a factor is a scalar; whether a factor is a scalar is asked
of the ``scalar`` callback (the report passes the engine's shape inference) and
guessed from the tree otherwise; when it cannot be known the product is
``\\cdot``.

Every piece of output is built from the tree's own vocabulary (names are
identifiers, ``[A-Za-z][A-Za-z0-9_]*``), so no text from an input file reaches
the LaTeX source unescaped.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from fractions import Fraction

from derivcheck.ir import E

ScalarOracle = Callable[[E], "bool | None"]

# precedence: higher binds tighter
ADD, MUL, NEG, POW, ATOM = 1, 2, 3, 4, 9

GREEK = {
    "alpha": r"\alpha", "beta": r"\beta", "gamma": r"\gamma", "epsilon": r"\varepsilon",
    "eps": r"\varepsilon", "zeta": r"\zeta", "eta": r"\eta", "theta": r"\theta",
    "iota": r"\iota", "kappa": r"\kappa", "lam": r"\lambda", "lambda": r"\lambda",
    "lmbda": r"\lambda", "mu": r"\mu", "nu": r"\nu", "xi": r"\xi", "rho": r"\rho",
    "sigma": r"\sigma", "tau": r"\tau", "upsilon": r"\upsilon", "phi": r"\phi",
    "chi": r"\chi", "psi": r"\psi", "omega": r"\omega", "Gamma": r"\Gamma",
    "Delta": r"\Delta", "Theta": r"\Theta", "Lambda": r"\Lambda", "Xi": r"\Xi",
    "Pi": r"\Pi", "Sigma": r"\Sigma", "Phi": r"\Phi", "Psi": r"\Psi", "Omega": r"\Omega",
}
ACCENTS = {"hat": r"\hat", "bar": r"\bar", "tilde": r"\tilde", "dot": r"\dot",
           "vec": r"\vec"}

FUNCS = {
    "log": r"\log", "log2": r"\log_{2}", "log10": r"\log_{10}", "exp": r"\exp",
    "tanh": r"\tanh", "sigmoid": r"\sigma", "relu": r"\operatorname{ReLU}",
    "relu_prime": r"\operatorname{ReLU}'", "sign": r"\operatorname{sign}",
    "softmax": r"\operatorname{softmax}", "logsumexp": r"\operatorname{logsumexp}",
    "diag": r"\operatorname{diag}", "tr": r"\operatorname{tr}", "det": r"\det",
}
# visible width of each function name, in the units of ``_R.width`` (about 0.5em)
_FUNC_WIDTH = {"log2": 4, "log10": 5, "sigmoid": 1, "relu": 4, "relu_prime": 5,
               "softmax": 7, "logsumexp": 9}

_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*\Z")
_TRAILING_DIGITS = re.compile(r"([A-Za-z]+?)(\d+)\Z")


def tex_name(name: str) -> tuple[str, str]:
    """A name as (head, subscript): ``W2`` -> (``W``, ``2``), ``yhat`` -> (``\\hat{y}``, ````).

    Anything that is not an identifier is shown verbatim in ``\\texttt`` with every
    character escaped (names come from the parser, so this is only a safeguard).
    """
    if not _NAME.match(name):
        # braced: "\\char95" before a digit would read as another character code
        return r"\texttt{" + "".join(f"{{\\char{ord(c)}}}" if not c.isalnum() else c
                                     for c in name[:40]) + "}", ""
    if "_" in name:
        base, rest = name.split("_", 1)
        head, sub = tex_name(base)
        extra = ",".join(_subscript_word(part) for part in rest.split("_") if part)
        return head, ",".join(s for s in (sub, extra) if s)
    digits = ""
    m = _TRAILING_DIGITS.match(name)
    if m:
        name, digits = m.group(1), m.group(2)
    head, sub = _letters(name)
    return head, ",".join(s for s in (sub, digits) if s)


def _letters(word: str) -> tuple[str, str]:
    if word in GREEK:
        return GREEK[word], ""
    for suffix, accent in ACCENTS.items():
        if word.endswith(suffix) and len(word) > len(suffix):
            head, sub = _letters(word[:-len(suffix)])
            return f"{accent}{{{head}}}", sub
    if len(word) == 1:
        return word, ""
    if len(word) == 2:  # aL -> a_L, Lr -> L_r
        return word[0], word[1]
    return r"\mathrm{" + word + "}", ""


def _subscript_word(word: str) -> str:
    if word.isdigit() or len(word) == 1:
        return word
    if word in GREEK:
        return GREEK[word]
    return r"\mathrm{" + word + "}"


_SAFE_COMMANDS = frozenset({
    "hat", "bar", "tilde", "dot", "ddot", "vec", "check", "breve", "mathbf", "boldsymbol",
    "bm", "mathrm", "mathit", "mathsf", "mathcal", "mathbb", "top", "intercal", "prime", "ell",
    "varepsilon", "vartheta", "varphi", "varrho", "varsigma", *(g[1:] for g in GREEK.values()),
})
_LATEX_TOKEN = re.compile(r"\\([A-Za-z]+)|([A-Za-z0-9_^{}()',. ])")


_TAKES_ARGUMENT = frozenset({"hat", "bar", "tilde", "dot", "ddot", "vec", "check", "breve",
                             "mathbf", "boldsymbol", "bm", "mathrm", "mathit", "mathsf",
                             "mathcal", "mathbb"})


def safe_latex_name(latex: str) -> bool:
    """True if a declared LaTeX name is harmless to typeset as it is.

    Only letters, digits, ``_ ^ { } ( ) ' , .``, spaces and accent/font/Greek
    commands are allowed, braces must balance, scripts must have an argument and
    appear at most once per level, and the length is bounded: a declared name can
    style a symbol but never run a command or break the document.
    """
    if not latex or len(latex) > 60:
        return False
    tokens = []
    pos = 0
    while pos < len(latex):
        m = _LATEX_TOKEN.match(latex, pos)
        if m is None or (m.group(1) is not None and m.group(1) not in _SAFE_COMMANDS):
            return False
        tokens.append(("\\" + m.group(1)) if m.group(1) is not None else m.group(2))
        pos = m.end()
    tokens = [t for t in tokens if t != " "]
    scripts: list[set[str]] = [set()]
    for k, tok in enumerate(tokens):
        after = tokens[k + 1] if k + 1 < len(tokens) else None
        if tok == "{":
            scripts.append(set())
        elif tok == "}":
            scripts.pop()
            if not scripts:
                return False
        elif tok in ("_", "^"):
            if tok in scripts[-1] or after is None or after in ("_", "^", "}"):
                return False
            scripts[-1].add(tok)
        elif tok[1:] in _TAKES_ARGUMENT and (after is None or after in ("_", "^", "}")):
            return False
    return len(scripts) == 1


def _top_level(latex: str) -> str:
    """The characters of ``latex`` outside every brace group."""
    out, depth = [], 0
    for ch in latex:
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
        elif depth == 0:
            out.append(ch)
    return "".join(out)


def name_tex(name: str) -> str:
    """A name as LaTeX math: ``W2`` -> ``W_{2}``, ``lam`` -> ``\\lambda``."""
    head, sub = tex_name(name)
    return f"{head}_{{{sub}}}" if sub else head


@dataclass(frozen=True)
class _R:
    """A rendered sub-expression."""

    text: str
    prec: int
    width: float  # a rough estimate of the printed width, in units of about 0.5em
    tall: bool = False  # holds a fraction or a big operator: parentheses use \left \right
    open: bool = False  # ends in a \sum that would swallow a factor written after it


def guess_scalar(node: E) -> bool | None:
    """Whether ``node`` is a scalar, from the tree alone (None: cannot tell)."""
    op = node.op
    if op in ("num", "dim", "idx", "int", "delta", "span", "elem"):
        return True
    if op == "fn":
        if node.val in ("tr", "det", "logsumexp"):
            return True
        return guess_scalar(node.args[0]) if node.val != "softmax" else None
    if op in ("sum", "mean"):
        return True if node.val is None else None
    if op in ("add", "sub", "mul", "div", "pow"):
        a, b = (guess_scalar(x) for x in node.args)
        return True if a and b else None
    if op in ("neg", "T", "Sum"):
        return guess_scalar(node.args[0])
    if op == "d":
        f, v = (guess_scalar(x) for x in node.args)
        return True if f and v else None
    return None


class TexPrinter:
    """Renders IR trees as LaTeX math.

    Args:
        scalar: tells whether a sub-expression is a scalar (True), not a scalar
            (False) or unknown (None); defaults to ``guess_scalar``.
        names: LaTeX declared for symbols (``W1: {latex: 'W^{(1)}'}``); a name that
            ``safe_latex_name`` refuses is set by the default rules instead.
    """

    def __init__(self, scalar: ScalarOracle | None = None,
                 names: Mapping[str, str] | None = None) -> None:
        self._oracle = scalar
        # declared LaTeX names (checked by safe_latex_name), braced so that scripts attach
        self._names = {k: "{" + v + "}" for k, v in (names or {}).items()
                       if safe_latex_name(v)}
        # a declared name without a subscript of its own takes an element's directly:
        # W^{(2)}_{iq}, not {W^{(2)}}_{iq}
        self._subscriptable = {k: v[1:-1] for k, v in self._names.items()
                               if "_" not in _top_level(v[1:-1])}

    def name(self, name: str) -> tuple[str, str]:
        """(head, subscript) of a name: its declared LaTeX, else ``tex_name``."""
        declared = self._names.get(name)
        return (declared, "") if declared is not None else tex_name(name)

    # -- public -----------------------------------------------------------------
    def math(self, node: E) -> str:
        """``node`` as LaTeX math (without the surrounding ``$``)."""
        return self._render(node).text

    def width(self, node: E) -> float:
        """A rough estimate of the printed width (units of about 0.5em)."""
        return self._render(node).width

    def terms(self, node: E) -> list[tuple[str, str, float]]:
        """The top-level terms of a sum as (sign, text, width): where a long line may break.

        The first sign is ``""`` (or ``"-"`` for a leading negation is kept in the text).
        """
        pieces: list[tuple[str, E]] = []
        self._collect(node, "", pieces)
        out = []
        for sign, term in pieces:
            r = self._render(term)
            text = self._wrap(r, ADD, strict=True) if sign else r.text
            out.append((sign, text, r.width + (2 if r.prec <= ADD else 0)))
        return out

    # -- tree walk --------------------------------------------------------------
    def _collect(self, node: E, sign: str, out: list[tuple[str, E]]) -> None:
        if node.op in ("add", "sub"):
            a, b = node.args
            self._collect(a, sign, out)
            out.append(("+" if node.op == "add" else "-", b))
        else:
            out.append((sign, node))

    def _scalar(self, node: E) -> bool | None:
        if self._oracle is not None:
            found = self._oracle(node)
            if found is not None:
                return found
        return guess_scalar(node)

    def _render(self, node: E) -> _R:
        op = node.op
        if op == "num":
            return _number(node.val)
        if op in ("sym", "ref", "dim", "idx"):
            head, sub = self.name(str(node.val))
            text = f"{head}_{{{sub}}}" if sub else head
            return _R(text, ATOM, _name_width(head, sub))
        if op == "int":
            return _R(str(node.val), ATOM, len(str(node.val)))
        if op in ("add", "sub"):
            return self._additive(node)
        if op in ("mul", "matmul"):
            return self._product(node)
        if op == "div":
            a, b = (self._render(x) for x in node.args)
            return _R(rf"\frac{{{a.text}}}{{{b.text}}}", ATOM, max(a.width, b.width) + 1,
                      tall=True)
        if op == "pow":
            return self._power(node)
        if op == "neg":
            inner = self._render(node.args[0])
            wrap = inner.prec <= NEG and inner.prec != MUL
            text = self._wrap(inner, NEG, strict=True) if wrap else inner.text
            return _R("-" + text, NEG, inner.width + 1.5 + (2 if wrap else 0), inner.tall,
                      inner.open and not wrap)
        if op == "T":
            inner = self._render(node.args[0])
            base = inner.text if _plain_base(node.args[0]) else self._parens(inner)
            return _R(base + r"^{\top}", POW, inner.width + 1 + (0 if _plain_base(
                node.args[0]) else 2), inner.tall)
        if op == "elem":
            return self._element(node)
        if op == "fn":
            return self._function(node)
        if op in ("sum", "mean"):
            return self._reduction(node)
        if op == "Sum":
            body = self._render(node.args[0])
            idx = self.full_name(str(node.val))
            text = self._wrap(body, MUL, strict=False)
            return _R(rf"\sum_{{{idx}}} {text}", MUL, body.width + 3, True, True)
        if op == "delta":
            return _R(r"\delta_{" + self._indices(node.args) + "}", ATOM, 2.5)
        if op == "span":
            first, dropped, dim = node.val
            k = self._indices(node.args)
            top = self.full_name(str(dim)) + f" - {dropped + 1}"
            return _R(rf"[{first} \le {k} \le {top}]", ATOM, 6)
        if op == "onehot":
            return _R(r"e_{" + self._indices(node.args) + "}", ATOM, 2)
        if op == "eye":
            return _R(r"I_{" + self.full_name(str(node.val)) + "}", ATOM, 2)
        if op == "ones":
            return _R(r"\mathbf{1}", ATOM, 1.5)
        if op == "d":
            return self._derivative(node)
        if op == "jac":
            inner = self._render(node.args[0])
            return _R(r"\operatorname{jac}" + self._parens(inner), ATOM, inner.width + 5,
                      inner.tall)
        if op == "seed":
            return _R("e_{j}", ATOM, 2)
        return _R(r"\mathord{?}", ATOM, 1)

    def _additive(self, node: E) -> _R:
        a, b = (self._render(x) for x in node.args)
        left = a.text  # \sum_k a_k + b: the sum ends at the + (the usual reading)
        right = self._wrap(b, ADD, strict=True)
        if b.prec == NEG:  # a + -b reads badly: a + (-b)
            right = self._parens(b)
        sym = "+" if node.op == "add" else "-"
        return _R(f"{left} {sym} {right}", ADD, a.width + b.width + 2.5, a.tall or b.tall,
                  b.open and right == b.text)

    def _product(self, node: E) -> _R:
        a_node, b_node = node.args
        a, b = self._render(a_node), self._render(b_node)
        kind = self._kind(node)
        sep = {"jux": " ", "odot": r" \odot ", "cdot": r" \cdot "}[kind]
        # a factor that is itself a product of another kind is parenthesised: A (x \odot y)
        wrap_left = a.prec < MUL or a.open or (
            a_node.op in ("mul", "matmul") and self._kind(a_node) != kind)
        wrap_right = b.prec <= MUL or b.prec == NEG
        if b_node.op == "Sum":
            wrap_right = False  # a \sum_k ... closing a product reads as intended
        left = self._parens(a) if wrap_left else a.text
        right = self._parens(b) if wrap_right else b.text
        if kind == "jux":
            if right[:1].isdigit() or right.startswith("-"):
                sep = r" \cdot "
            elif a.tall and b.tall:
                sep = r" \, "
        width = a.width + b.width + (0.5 if sep.strip() in ("", r"\,") else 2.5)
        width += 2 * (wrap_left + wrap_right)
        return _R(left + sep + right, MUL, width, a.tall or b.tall,
                  b.open and not wrap_right)

    def _kind(self, node: E) -> str:
        """How a product is written: juxtaposition, \\odot or \\cdot (shapes unknown)."""
        if node.op == "matmul":
            return "jux"
        sa, sb = (self._scalar(x) for x in node.args)
        if sa or sb:
            return "jux"
        return "odot" if sa is False and sb is False else "cdot"

    def _power(self, node: E) -> _R:
        base_node, exp_node = node.args
        base = self._render(base_node)
        exponent = _inline_number(exp_node) or self._render(exp_node).text
        if exp_node.op == "num" and exp_node.val == Fraction(1, 2):
            return _R(rf"\sqrt{{{base.text}}}", ATOM, base.width + 1.5, base.tall)
        plain = _plain_base(base_node) or _simple(base_node)
        text = base.text if plain else self._parens(base)
        if plain and _has_top_superscript(text):  # a^{(1)}_{j} squared: {a^{(1)}_{j}}^{2}
            text = "{" + text + "}"
        return _R(f"{text}^{{{exponent}}}", POW, base.width + 0.7 * len(exponent)
                  + (0 if plain else 2), base.tall)

    def _element(self, node: E) -> _R:
        base_node = node.args[0]
        idx = list(node.args[1:])
        if base_node.op in ("sym", "ref"):
            head, sub = self.name(str(base_node.val))
            head = self._subscriptable.get(str(base_node.val), head)
            inner = self._indices(idx)
            full = f"{sub},{inner}" if sub else inner
            return _R(f"{head}_{{{full}}}", ATOM, _name_width(head, full))
        base = self._render(base_node)
        return _R(self._parens(base) + "_{" + self._indices(idx) + "}", ATOM,
                  base.width + 2 + 0.7 * len(idx), base.tall)

    def full_name(self, name: str) -> str:
        """A name as LaTeX math (declared, else by the default rules)."""
        head, sub = self.name(name)
        return f"{head}_{{{sub}}}" if sub else head

    def _indices(self, idx: list[E] | tuple[E, ...]) -> str:
        parts = [self.full_name(str(i.val)) if i.op == "idx" else str(i.val) for i in idx]
        single = all(i.op == "idx" and len(p) == 1 for i, p in zip(idx, parts))
        return ("" if single else ",").join(parts)

    def _function(self, node: E) -> _R:
        name = str(node.val)
        arg = self._render(node.args[0])
        if name == "sqrt":
            return _R(rf"\sqrt{{{arg.text}}}", ATOM, arg.width + 1.5, arg.tall)
        if name == "abs":
            bars = (r"\left|", r"\right|") if arg.tall else ("|", "|")
            return _R(bars[0] + arg.text + bars[1], ATOM, arg.width + 1, arg.tall)
        if name == "inv":
            base = arg.text if _plain_base(node.args[0]) else self._parens(arg)
            return _R(base + "^{-1}", POW, arg.width + 2, arg.tall)
        command = FUNCS.get(name, r"\operatorname{" + name.replace("_", r"\_") + "}")
        width = _FUNC_WIDTH.get(name, len(name))
        return _R(command + self._parens(arg), ATOM, arg.width + width + 2, arg.tall)

    def _reduction(self, node: E) -> _R:
        arg = self._render(node.args[0])
        if node.op == "sum":
            if node.val == 0:
                return _R(r"\mathbf{1}^{\top} " + self._wrap(arg, MUL, strict=True), MUL,
                          arg.width + 3, arg.tall)
            if node.val == 1:
                return _R(self._wrap(arg, MUL, strict=False) + r" \mathbf{1}", MUL,
                          arg.width + 3, arg.tall)
            # a bare \sum over every entry; parenthesised so that it cannot swallow more
            return _R(r"{\textstyle\sum}" + self._parens(arg), ATOM, arg.width + 3, arg.tall)
        sub = "" if node.val is None else f"_{{{node.val}}}"
        return _R(r"\operatorname{mean}" + sub + self._parens(arg), ATOM, arg.width + 6,
                  arg.tall)

    def _derivative(self, node: E) -> _R:
        f, v = node.args
        var = self._render(v)
        if f.op == "d" and _simple(f.args[0]):  # a second derivative
            inner_var = self._render(f.args[1])
            top = self._render(f.args[0])
            den = rf"\partial {var.text} \, \partial {inner_var.text}"
            return _R(rf"\frac{{\partial^{{2}} {top.text}}}{{{den}}}", ATOM,
                      var.width + inner_var.width + 4, True)
        top = self._render(f)
        if _simple(f):
            return _R(rf"\frac{{\partial {top.text}}}{{\partial {var.text}}}", ATOM,
                      max(top.width, var.width) + 2, True)
        if top.width <= 14 and not top.tall:
            return _R(rf"\frac{{\partial {self._parens(top)}}}{{\partial {var.text}}}", ATOM,
                      max(top.width + 2, var.width) + 2, True)
        text = rf"\frac{{\partial}}{{\partial {var.text}}} " + self._parens(top, "[", "]")
        return _R(text, ATOM, var.width + top.width + 4, True)

    # -- parentheses ------------------------------------------------------------
    @staticmethod
    def _parens(r: _R, left: str = "(", right: str = ")") -> str:
        if r.tall:
            return rf"\left{left}{r.text}\right{right}"
        return left + r.text + right

    def _wrap(self, r: _R, prec: int, *, strict: bool) -> str:
        if r.prec < prec or (strict and r.prec == prec):
            return self._parens(r)
        return r.text


def _simple(node: E) -> bool:
    """A name, or an element of one: written inside ``\\partial`` without parentheses."""
    if node.op in ("sym", "ref"):
        return True
    return node.op == "elem" and node.args[0].op in ("sym", "ref")


def _plain_base(node: E) -> bool:
    """Can carry a superscript (``^{\\top}``, ``^{2}``) without parentheses."""
    return node.op in ("sym", "ref", "dim", "onehot", "eye", "ones") or (
        node.op == "num" and isinstance(node.val, Fraction) and node.val.denominator == 1
        and node.val >= 0)


def _name_width(head: str, sub: str) -> float:
    visible = 1 if head.startswith("\\") and "mathrm" not in head else len(
        re.sub(r"\\[a-z]+|[{}]", "", head))
    return max(visible, 1) + 0.7 * len(re.sub(r"\\[a-z]+|[{}]", "x", sub))


def _number(value: object) -> _R:
    if isinstance(value, Fraction):
        if value.denominator == 1:
            text = str(value.numerator)
            return _R(text, NEG if value < 0 else ATOM, len(text))
        decimal = _finite_decimal(value)
        if decimal is not None:
            return _R(decimal, NEG if value < 0 else ATOM, len(decimal))
        sign = "-" if value < 0 else ""
        text = rf"{sign}\frac{{{abs(value.numerator)}}}{{{value.denominator}}}"
        return _R(text, NEG if value < 0 else ATOM,
                  len(str(max(abs(value.numerator), value.denominator))) + 1, True)
    if isinstance(value, float):
        text = float_tex(value)
        return _R(text, NEG if value < 0 else ATOM, len(text) / 2)
    return _R(r"\mathord{?}", ATOM, 1)


def _inline_number(node: E) -> str | None:
    """A number for an exponent: ``-1``, ``3/2`` (no stacked fraction)."""
    target = node.args[0] if node.op == "neg" else node
    if target.op != "num" or not isinstance(target.val, Fraction):
        return None
    value = -target.val if node.op == "neg" else target.val
    if value.denominator == 1:
        return str(value.numerator)
    return _finite_decimal(value) or f"{value.numerator}/{value.denominator}"


def _finite_decimal(value: Fraction) -> str | None:
    d = value.denominator
    for p in (2, 5):
        while d % p == 0:
            d //= p
    if d != 1:
        return None
    text = format(value.numerator / value.denominator, ".12g")
    if "e" in text or Fraction(text) != value:
        return None
    return text


def float_tex(value: float) -> str:
    """A float as LaTeX math: ``0.25``, ``-1.5 \\times 10^{-8}``, ``\\infty``."""
    if value != value:
        return r"\mathrm{NaN}"
    if value in (float("inf"), float("-inf")):
        return r"\infty" if value > 0 else r"-\infty"
    text = f"{value:.4g}"
    if "e" in text:
        mantissa, exponent = text.split("e")
        return rf"{mantissa} \times 10^{{{int(exponent)}}}"
    return text


def to_latex(node: E, scalar: ScalarOracle | None = None) -> str:
    """``node`` as LaTeX math (see ``TexPrinter``)."""
    return TexPrinter(scalar).math(node)


def _has_top_superscript(text: str) -> bool:
    """Does ``text`` carry a ``^`` outside braces (a name with a layer superscript)?"""
    depth = 0
    for ch in text:
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
        elif ch == "^" and depth == 0:
            return True
    return False
