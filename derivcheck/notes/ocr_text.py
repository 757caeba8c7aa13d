"""The tokens and structure of a LaTeX text, for the confusion generators (``ocr_edits``).

Pure string work, no meaning: tokens (commands, braces, brackets, letters, digits,
scripts), matched braces and brackets, and the sequences of items (an atom is a base
with its scripts; an operator stands alone) at every level of nesting.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field

MAX_NESTING = 40  # deeper groups are edited as a whole, not inside

_SIZED = r"left|right|bigl|bigr|Bigl|Bigr|biggl|biggr|big|Big|bigg|Bigg"
_TOKEN = re.compile(
    rf"(?P<sized>\\(?:{_SIZED})(?![A-Za-z])\s*(?:\\[{{}}|]|\\[A-Za-z]+|[()\[\]|./]))"
    r"|(?P<cmd>\\[A-Za-z]+|\\.)|(?P<space>\s+)|(?P<char>.)", re.S)
_SPACING = {"\\,", "\\;", "\\:", "\\!", "\\ ", "\\quad", "\\qquad", "\\displaystyle",
            "\\textstyle", "\\limits", "\\nolimits"}
ENDS_IN_NAME = re.compile(r"\\[A-Za-z]+\Z")
_OPENERS = {"(": ")", "[": "]", "\\{": "\\}", "\\langle": "\\rangle"}
_CLOSERS = {v: k for k, v in _OPENERS.items()}


@dataclass(frozen=True)
class Tok:
    kind: str  # cmd letter digit open close lbr rbr script prime op
    text: str
    start: int
    end: int


def tokens(text: str) -> list[Tok]:
    out: list[Tok] = []
    for m in _TOKEN.finditer(text):
        s, e, t = m.start(), m.end(), m.group(0)
        if m.lastgroup == "space" or t in _SPACING or t == "~":
            continue
        if m.lastgroup == "sized":
            out.append(Tok(_sized_kind(t), t, s, e))
        elif m.lastgroup == "cmd":
            kind = "lbr" if t in _OPENERS else "rbr" if t in _CLOSERS else "cmd"
            out.append(Tok(kind, t, s, e))
        elif t.isascii() and t.isalpha():
            out.append(Tok("letter", t, s, e))
        elif t.isdigit():
            out.append(Tok("digit", t, s, e))
        else:
            kind = {"{": "open", "}": "close", "(": "lbr", "[": "lbr", ")": "rbr", "]": "rbr",
                    "^": "script", "_": "script", "'": "prime"}.get(t, "op")
            out.append(Tok(kind, t, s, e))
    return out


def _sized_kind(text: str) -> str:
    word = re.match(r"\\([A-Za-z]+)", text)
    name = word.group(1) if word else ""
    if name in ("left", "bigl", "Bigl", "biggl"):
        return "lbr"
    if name in ("right", "bigr", "Bigr", "biggr"):
        return "rbr"
    delim = text[len(name) + 1:].strip()
    return "lbr" if delim in _OPENERS else "rbr" if delim in _CLOSERS else "op"


def _delimiter(text: str) -> str:
    """The bracket itself of a token (``\\left(`` -> ``(``)."""
    m = re.match(rf"\\(?:{_SIZED})\s*", text)
    return text[m.end():] if m else text


_SIZE_PARTNER = {"left": "right", "right": "left", "bigl": "bigr", "bigr": "bigl",
                 "Bigl": "Bigr", "Bigr": "Bigl", "biggl": "biggr", "biggr": "biggl"}


def partner(text: str) -> str:
    """The other bracket of a pair, sized as this one is (``\\left(`` -> ``\\right)``)."""
    m = re.match(rf"\\({_SIZED})\s*", text)
    delim = _delimiter(text)
    other = _OPENERS.get(delim) or _CLOSERS.get(delim) or delim
    if not m:
        return other
    return f"\\{_SIZE_PARTNER.get(m.group(1), m.group(1))}{other}"


# -------------------------------------------------------------------- structure

_TWO_ARGS = {"\\frac", "\\dfrac", "\\tfrac", "\\binom"}
_FONTS = {"\\mathbf", "\\boldsymbol", "\\bm", "\\mathit", "\\mathrm", "\\vec", "\\mathsf",
          "\\mathcal", "\\mathbb"}
_ACCENTS = {"\\hat", "\\bar", "\\tilde", "\\widehat", "\\overline", "\\dot", "\\ddot"}
_NAMES = {"\\operatorname", "\\text", "\\textrm", "\\mathop", "\\begin", "\\end"}
_OPERATORS = {"\\cdot", "\\odot", "\\circ", "\\times", "\\ast", "\\pm", "\\mp", "\\otimes",
              "\\oplus", "\\le", "\\leq", "\\ge", "\\geq", "\\neq", "\\approx", "\\equiv",
              "\\to", "\\mid", "\\in", "\\sim", "\\propto", "\\Leftrightarrow", "\\Rightarrow",
              "\\iff", "\\implies", "\\gt", "\\lt", "\\vert", "\\Vert", "\\|", "\\lVert",
              "\\rVert", "\\lvert", "\\rvert"}
_BIG = {"\\sum", "\\prod", "\\max", "\\min", "\\lim", "\\int", "\\argmax", "\\argmin",
        "\\sup", "\\inf"}
_FUNCTIONS = {"\\log", "\\ln", "\\exp", "\\tanh", "\\sinh", "\\cosh", "\\sin", "\\cos",
              "\\det", "\\tr", "\\diag", "\\operatorname"}
_PARTIALS = {"\\partial", "\\nabla", "\\mathrm{d}"}


@dataclass
class Item:
    """An atom (a base with its scripts) or an operator, in one sequence."""

    kind: str  # "atom" or "op"
    first: int  # token indices
    end: int
    base: str = ""  # letter number cmd group bracket frac sqrt font accent name big func
    base_end: int = 0
    sub: tuple[int, int] | None = None  # token range of a script's argument
    sup: tuple[int, int] | None = None
    prime: int | None = None  # token index of the first prime
    inner: list[list[Item]] = field(default_factory=list)  # its arguments' sequences


class Doc:
    """A text, its tokens and its sequences of items, for the generators."""

    def __init__(self, text: str, vocabulary: str) -> None:
        self.text = text
        self.toks = tokens(text)
        self.match = matches(self.toks)
        self.sequences: list[tuple[str, list[Item]]] = []
        self.owner: dict[int, Item] = {}  # token -> the innermost atom outside scripts
        self.named: set[int] = set()  # tokens inside \operatorname{...}, \text{...}
        self.top = self.sequence(0, len(self.toks), "top", 0)
        words = tokens(vocabulary) if vocabulary else []
        self.vocabulary = self._scripts(self.toks, text) + self._scripts(words, vocabulary)

    # -- parsing ------------------------------------------------------------
    def sequence(self, i: int, stop: int, kind: str, depth: int) -> list[Item]:
        items: list[Item] = []
        while i < stop:
            item = self.item(i, stop, kind, depth)
            items.append(item)
            i = item.end
        self.sequences.append((kind, items))
        return items

    def item(self, i: int, stop: int, kind: str, depth: int) -> Item:
        tok = self.toks[i]
        if tok.kind in ("op", "close", "script", "prime", "rbr") or tok.text in _OPERATORS \
                or (tok.kind == "lbr" and i not in self.match):
            return Item("op", i, i + 1)
        atom = Item("atom", i, i + 1)
        j = self.base(atom, i, stop, depth)
        atom.base_end = j
        while j < stop and self.toks[j].kind in ("script", "prime"):
            if self.toks[j].kind == "prime":
                atom.prime = j if atom.prime is None else atom.prime
                j += 1
                continue
            arg_end = min(self.arg_end(j + 1, stop, depth), stop)
            if arg_end <= j + 1:
                break
            if self.toks[j].text == "_" and atom.sub is None:
                atom.sub = (j + 1, arg_end)
            elif self.toks[j].text == "^" and atom.sup is None:
                atom.sup = (j + 1, arg_end)
            else:
                break
            if self.toks[j + 1].kind == "open" and depth < MAX_NESTING:
                self.sequence(j + 2, arg_end - 1, "sub" if self.toks[j].text == "_" else "sup",
                              depth + 1)
            j = arg_end
        atom.end = j
        if kind not in ("sub", "sup"):
            for k in range(atom.first, atom.end):
                self.owner.setdefault(k, atom)
        return atom

    def base(self, atom: Item, i: int, stop: int, depth: int) -> int:
        """Read the base of ``atom`` from token ``i``; returns the token after it."""
        tok = self.toks[i]
        if tok.kind == "letter":
            atom.base = "letter"
            return i + 1
        if tok.kind == "digit":
            atom.base = "number"
            j = i + 1
            while j < stop and (self.toks[j].kind == "digit" or (
                    self.toks[j].text == "." and j + 1 < stop
                    and self.toks[j + 1].kind == "digit")):
                j += 1
            return j
        if tok.kind in ("open", "lbr"):
            atom.base = "group" if tok.kind == "open" else "bracket"
            close = min(self.match.get(i, stop - 1), stop - 1)
            if depth < MAX_NESTING:
                atom.inner.append(self.sequence(i + 1, close, atom.base, depth + 1))
            return close + 1
        text = tok.text
        if text in _TWO_ARGS or text in _FONTS or text in _ACCENTS or text in _NAMES \
                or text == "\\sqrt":
            atom.base = ("frac" if text in _TWO_ARGS else "font" if text in _FONTS else
                         "accent" if text in _ACCENTS else "name" if text in _NAMES else "sqrt")
            j = i + 1
            if text == "\\sqrt" and j < stop and self.toks[j].text == "[" and j in self.match:
                atom.base = "root"
                j = self.match[j] + 1
            for _ in range(2 if text in _TWO_ARGS else 1):
                end = min(self.arg_end(j, stop, depth), stop)
                if end <= j:
                    break
                if atom.base == "name":
                    self.named.update(range(j, end))
                elif self.toks[j].kind == "open" and depth < MAX_NESTING:
                    atom.inner.append(self.sequence(j + 1, end - 1, "arg", depth + 1))
                j = end
            return j
        atom.base = ("big" if text in _BIG else "func" if text in _FUNCTIONS else
                     "partial" if text in _PARTIALS else "cmd")
        return i + 1

    def arg_end(self, i: int, stop: int, depth: int) -> int:
        """The token after the argument starting at ``i`` (a group, a command with its
        arguments, or one token)."""
        if i >= stop:
            return i
        tok = self.toks[i]
        if tok.kind == "open":
            return self.match.get(i, stop - 1) + 1
        if depth < MAX_NESTING and (tok.text in _TWO_ARGS or tok.text in _FONTS
                                    or tok.text in _ACCENTS):
            j = i + 1
            for _ in range(2 if tok.text in _TWO_ARGS else 1):
                j = self.arg_end(j, stop, depth + 1)
            return j
        return i + 1

    @staticmethod
    def _scripts(toks: list[Tok], text: str) -> list[tuple[str, str]]:
        """(kind, text) of the subscripts, superscripts and accents used, most used first."""
        found: Counter[tuple[str, str]] = Counter()
        match = matches(toks)
        for i, tok in enumerate(toks[:-1]):
            nxt = toks[i + 1]
            if tok.kind == "script" or tok.text in ("\\hat", "\\bar", "\\tilde"):
                if nxt.kind == "open" and i + 1 not in match:
                    continue
                end = match[i + 1] if nxt.kind == "open" else i + 1
                arg = text[nxt.start:toks[end].end] if end < len(toks) else ""
                if len(arg) > 1 and arg[0] == "{" and len(tokens(arg)) == 3:
                    arg = arg[1:-1].strip()
                kind = {"_": "sub", "^": "sup"}.get(tok.text, tok.text)
                if arg and len(arg) <= 12:
                    found[(kind, arg)] += 1
                if kind == "sub" and nxt.kind == "open":  # each index of V_{jk}, alone too
                    for inner in toks[i + 2:end]:
                        if inner.kind == "letter":
                            found[("sub", inner.text)] += 1
        return [k for k, _ in sorted(found.items(), key=lambda kv: (-kv[1], kv[0]))]

    # -- text ---------------------------------------------------------------
    def start(self, item: Item) -> int:
        return self.toks[item.first].start

    def stop(self, item: Item) -> int:
        return self.toks[item.end - 1].end

    def span(self, a: int, b: int) -> str:
        """The text of tokens ``a..b-1``."""
        return self.text[self.toks[a].start:self.toks[b - 1].end] if b > a else ""

    def piece(self, item: Item) -> str:
        return self.text[self.start(item):self.stop(item)]

    def atoms(self, *kinds: str) -> Iterator[tuple[str, int, Item]]:
        """(sequence kind, place, atom) of every atom, in sequences of these kinds."""
        for kind, items in self.sequences:
            if not kinds or kind in kinds:
                for k, item in enumerate(items):
                    if item.kind == "atom":
                        yield kind, k, item


_BRACE = re.compile(r"\\.|[{}]", re.S)


def braces(text: str) -> int:
    """``{`` less ``}`` (an edit keeps it, so a balanced text stays balanced)."""
    marks = _BRACE.findall(text)  # \\{ and \\} are commands, not braces
    return marks.count("{") - marks.count("}")


def matches(toks: list[Tok]) -> dict[int, int]:
    """Matched braces and brackets, both ways (unmatched ones are left out)."""
    out: dict[int, int] = {}
    braces: list[int] = []
    brackets: list[int] = []
    for i, tok in enumerate(toks):
        if tok.kind == "open":
            braces.append(i)
        elif tok.kind == "close" and braces:
            j = braces.pop()
            out[i], out[j] = j, i
        elif tok.kind == "lbr":
            brackets.append(i)
        elif tok.kind == "rbr" and brackets:
            j = brackets[-1]
            if _OPENERS.get(_delimiter(toks[j].text)) == _delimiter(tok.text) \
                    or _delimiter(toks[j].text) == ".":
                brackets.pop()
                out[i], out[j] = j, i
    return out
