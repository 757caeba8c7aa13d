"""OCR and transcription confusions, and every one-edit repair of a LaTeX text.

A document read by OCR (or transcribed by a person or a language model) loses thin
strokes and small marks: a minus sign, a prime, a subscript, a bracket; it reads
``^T`` as ``^7``, ``l`` as ``1``, ``\\odot`` as nothing.  ``CONFUSIONS`` lists these
confusions, each with a stable code and a prior weight; ``single_edits`` gives every
text one such edit away from a LaTeX text, most probable first.

The priors are general OCR knowledge, not fitted to any document: marks that are
thin or small (a minus, a superscript ``T``, a prime, a subscript) are lost or misread
most often; confusions between glyph shapes (``l``/``1``, ``s``/``S``) next; whole
structures (brackets, roots) least.  Only their order matters.

Pure string work: the text is split into tokens (commands, braces, brackets, letters,
digits), so an edit never splits a command, and every edit keeps ``{ }`` balanced
(``dropped-bracket``, ``misplaced-bracket`` and ``stray-bracket`` work on ``( ) [ ]``
only).  Nothing here knows what an expression means: a variant may not read, or not
hold; the caller decides (``derivcheck/notes/transcribe.py``).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from itertools import islice, pairwise

__all__ = ["CONFUSIONS", "Confusion", "Edit", "single_edits"]

MAX_TEXT = 4000  # longer texts get no edits (the LaTeX reader refuses them anyway)
MAX_NESTING = 40  # deeper groups are edited as a whole, not inside
MAX_SPAN = 12  # items a dropped pair of brackets may enclose
MAX_MOVE = 6  # items a misplaced bracket may move by
MAX_VOCABULARY = 12  # subscripts, superscripts and accents to restore, most used first


@dataclass(frozen=True)
class Confusion:
    """One kind of transcription error.

    Attributes:
        code: stable, kebab-case: what happened to the text as written.
        prior: how probable it is, relative to the others (0..1).
        example: the written text, then the intended one.
    """

    code: str
    prior: float
    example: tuple[str, str]


CONFUSIONS: dict[str, Confusion] = {c.code: c for c in (
    # lost at the start of a term, between two factors (a - b read a b), in an exponent
    Confusion("lost-minus", 0.80, ("\\frac{y}{s}", "-\\frac{y}{s}")),
    Confusion("transpose-as-digit", 0.75, ("W^7 x", "W^T x")),
    Confusion("sign-confusion", 0.60, ("s + y", "s - y")),
    Confusion("letter-confusion", 0.60, ("x_l", "x_1")),
    Confusion("lost-superscript", 0.55, ("W x", "W^T x")),
    Confusion("lost-subscript", 0.55, ("a - y_j", "a_j - y_j")),
    Confusion("lost-prime", 0.50, ("\\sigma(z)", "\\sigma'(z)")),
    Confusion("script-level", 0.45, ("x^2", "x_2")),
    Confusion("lost-operator", 0.45, ("a b", "a \\odot b")),
    Confusion("swapped-subscripts", 0.40, ("V_{kj}", "V_{jk}")),
    Confusion("operator-confusion", 0.40, ("a \\cdot b", "a \\odot b")),
    Confusion("dropped-bracket", 0.40, ("a b + c", "a (b + c)")),
    Confusion("lost-accent", 0.40, ("y - \\hat{y}", "\\hat{y} - \\hat{y}")),
    Confusion("sqrt-for-reciprocal", 0.35, ("\\sqrt{a_j}", "1/a_j")),
    Confusion("misplaced-bracket", 0.35, ("(a + b) c", "(a + b c)")),
    Confusion("greek-confusion", 0.30, ("a x", "\\alpha x")),
    Confusion("extra-minus", 0.30, ("-a", "a")),
    Confusion("stray-bracket", 0.30, ("(a + b", "a + b")),
    Confusion("extra-subscript", 0.25, ("x_i^T w", "x^T w")),
    Confusion("extra-superscript", 0.25, ("W^T x", "W x")),
    Confusion("extra-prime", 0.25, ("f'(x)", "f(x)")),
    Confusion("extra-accent", 0.20, ("\\hat{x}", "x")),
)}

# Glyphs that OCR takes for one another (either way).  Case pairs are those whose
# capital differs from the small letter only in size.
_LOOKALIKES = (
    ("l", "1"), ("l", "i"), ("1", "i"), ("l", "I"), ("1", "I"), ("l", "|"), ("1", "|"),
    ("i", "j"), ("O", "0"), ("o", "0"), ("O", "o"), ("s", "S"), ("S", "5"), ("c", "C"),
    ("x", "X"), ("z", "Z"), ("z", "2"), ("Z", "2"), ("v", "V"), ("w", "W"), ("u", "U"),
    ("k", "K"), ("p", "P"), ("y", "Y"), ("u", "v"), ("n", "h"), ("e", "c"), ("b", "6"),
    ("g", "9"), ("q", "9"), ("B", "8"), ("x", "\\times"), ("1", "7"),
)
_GREEK = (
    ("a", "\\alpha"), ("B", "\\beta"), ("w", "\\omega"), ("v", "\\nu"), ("u", "\\mu"),
    ("n", "\\eta"), ("p", "\\rho"), ("o", "\\sigma"), ("t", "\\tau"), ("T", "\\tau"),
    ("e", "\\epsilon"), ("e", "\\varepsilon"), ("x", "\\chi"), ("y", "\\gamma"),
    ("k", "\\kappa"), ("\\Sigma", "\\sum"), ("\\Pi", "\\prod"), ("\\phi", "\\varphi"),
    ("\\epsilon", "\\varepsilon"),
)
_OPERATOR_PAIRS = (("\\odot", "\\cdot"), ("\\cdot", "\\times"), ("\\odot", "\\circ"))
_SUPERSCRIPTS = ("T", "2", "{-1}")  # restored wherever a superscript can go


def _table(pairs: tuple[tuple[str, str], ...]) -> dict[str, tuple[str, ...]]:
    out: dict[str, list[str]] = {}
    for a, b in pairs:
        out.setdefault(a, []).append(b)
        out.setdefault(b, []).append(a)
    return {k: tuple(v) for k, v in out.items()}


LOOKALIKE = _table(_LOOKALIKES)
GREEK_LOOKALIKE = _table(_GREEK)
OPERATOR_LOOKALIKE = _table(_OPERATOR_PAIRS)


@dataclass(frozen=True)
class Edit:
    """One repair: ``written`` (``latex[start:end]`` of the text as written) read as
    ``reading``.

    Attributes:
        code: the confusion (a key of ``CONFUSIONS``).
        start, end: where ``written`` is in the text as written.
        written: the fragment as written (a whole atom such as ``W^7``, for people).
        reading: what it is read as.
        latex: the whole text with the edit made.
        prior: the confusion's prior.
    """

    code: str
    start: int
    end: int
    written: str
    reading: str
    latex: str
    prior: float

    @property
    def changed(self) -> int:
        """Characters changed: the longer of the two fragments, once their common
        beginning and end are set aside."""
        a, b = self.written, self.reading
        head = 0
        while head < min(len(a), len(b)) and a[head] == b[head]:
            head += 1
        tail = 0
        while tail < min(len(a), len(b)) - head and a[-1 - tail] == b[-1 - tail]:
            tail += 1
        return max(len(a), len(b)) - head - tail


def single_edits(latex: str, *, limit: int, vocabulary: str = "") -> tuple[Edit, ...]:
    """Every text one confusion away from ``latex``, most probable first.

    Ranked by the confusion's prior, then by fewer changed characters, then by place;
    no two edits give the same text, and none gives ``latex`` itself.

    Args:
        latex: one LaTeX expression or equation, as written.
        limit: at most this many edits (and the work done is bounded by it: the
            confusions are tried in order of prior, each yields at most ``limit``
            candidates, and the search stops once ``limit`` are found, so an edit
            lost to the bound is never more probable than one returned).
        vocabulary: other LaTeX (the other side of the equation) whose subscripts,
            superscripts and accents a lost one may be restored from, with ``latex``'s own.

    Returns:
        The edits; ``()`` for an empty text, one over ``MAX_TEXT`` characters, or
        ``limit < 1``.
    """
    if limit < 1 or not latex.strip() or len(latex) > MAX_TEXT:
        return ()
    doc = _Doc(latex, vocabulary[:MAX_TEXT])
    found: dict[str, Edit] = {}
    priors = sorted({c.prior for c in CONFUSIONS.values()}, reverse=True)
    for prior in priors:
        for conf in CONFUSIONS.values():
            if conf.prior != prior:
                continue
            for start, end, reading in islice(_GENERATORS[conf.code](doc), limit):
                edit = doc.edit(conf, start, end, reading)
                if edit is not None:
                    old = found.get(edit.latex)
                    if old is None or _rank(edit) < _rank(old):
                        found[edit.latex] = edit
        if len(found) >= limit:
            break
    return tuple(sorted(found.values(), key=_rank)[:limit])


def _rank(edit: Edit) -> tuple:
    return (-edit.prior, edit.changed, edit.start, edit.end, edit.code, edit.reading)


# ----------------------------------------------------------------------- tokens

_SIZED = r"left|right|bigl|bigr|Bigl|Bigr|biggl|biggr|big|Big|bigg|Bigg"
_TOKEN = re.compile(
    rf"(?P<sized>\\(?:{_SIZED})(?![A-Za-z])\s*(?:\\[{{}}|]|\\[A-Za-z]+|[()\[\]|./]))"
    r"|(?P<cmd>\\[A-Za-z]+|\\.)|(?P<space>\s+)|(?P<char>.)", re.S)
_SPACING = {"\\,", "\\;", "\\:", "\\!", "\\ ", "\\quad", "\\qquad", "\\displaystyle",
            "\\textstyle", "\\limits", "\\nolimits"}
_ENDS_IN_NAME = re.compile(r"\\[A-Za-z]+\Z")
_OPENERS = {"(": ")", "[": "]", "\\{": "\\}", "\\langle": "\\rangle"}
_CLOSERS = {v: k for k, v in _OPENERS.items()}


@dataclass(frozen=True)
class _Tok:
    kind: str  # cmd letter digit open close lbr rbr script prime op
    text: str
    start: int
    end: int


def _tokens(text: str) -> list[_Tok]:
    out: list[_Tok] = []
    for m in _TOKEN.finditer(text):
        s, e, t = m.start(), m.end(), m.group(0)
        if m.lastgroup == "space" or t in _SPACING or t == "~":
            continue
        if m.lastgroup == "sized":
            out.append(_Tok(_sized_kind(t), t, s, e))
        elif m.lastgroup == "cmd":
            kind = "lbr" if t in _OPENERS else "rbr" if t in _CLOSERS else "cmd"
            out.append(_Tok(kind, t, s, e))
        elif t.isascii() and t.isalpha():
            out.append(_Tok("letter", t, s, e))
        elif t.isdigit():
            out.append(_Tok("digit", t, s, e))
        else:
            kind = {"{": "open", "}": "close", "(": "lbr", "[": "lbr", ")": "rbr", "]": "rbr",
                    "^": "script", "_": "script", "'": "prime"}.get(t, "op")
            out.append(_Tok(kind, t, s, e))
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


def _partner(text: str) -> str:
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
class _Item:
    """An atom (a base with its scripts) or an operator, in one sequence."""

    kind: str  # "atom" or "op"
    first: int  # token indices
    end: int
    base: str = ""  # letter number cmd group bracket frac sqrt font accent name big func
    base_end: int = 0
    sub: tuple[int, int] | None = None  # token range of a script's argument
    sup: tuple[int, int] | None = None
    prime: int | None = None  # token index of the first prime
    inner: list[list[_Item]] = field(default_factory=list)  # its arguments' sequences


class _Doc:
    """A text, its tokens and its sequences of items, for the generators."""

    def __init__(self, text: str, vocabulary: str) -> None:
        self.text = text
        self.toks = _tokens(text)
        self.match = _matches(self.toks)
        self.sequences: list[tuple[str, list[_Item]]] = []
        self.owner: dict[int, _Item] = {}  # token -> the innermost atom outside scripts
        self.named: set[int] = set()  # tokens inside \operatorname{...}, \text{...}
        self.top = self.sequence(0, len(self.toks), "top", 0)
        words = _tokens(vocabulary) if vocabulary else []
        self.vocabulary = self._scripts(self.toks, text) + self._scripts(words, vocabulary)

    # -- parsing ------------------------------------------------------------
    def sequence(self, i: int, stop: int, kind: str, depth: int) -> list[_Item]:
        items: list[_Item] = []
        while i < stop:
            item = self.item(i, stop, kind, depth)
            items.append(item)
            i = item.end
        self.sequences.append((kind, items))
        return items

    def item(self, i: int, stop: int, kind: str, depth: int) -> _Item:
        tok = self.toks[i]
        if tok.kind in ("op", "close", "script", "prime", "rbr") or tok.text in _OPERATORS \
                or (tok.kind == "lbr" and i not in self.match):
            return _Item("op", i, i + 1)
        atom = _Item("atom", i, i + 1)
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

    def base(self, atom: _Item, i: int, stop: int, depth: int) -> int:
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
    def _scripts(toks: list[_Tok], text: str) -> list[tuple[str, str]]:
        """(kind, text) of the subscripts, superscripts and accents used, most used first."""
        found: Counter[tuple[str, str]] = Counter()
        match = _matches(toks)
        for i, tok in enumerate(toks[:-1]):
            nxt = toks[i + 1]
            if tok.kind == "script" or tok.text in ("\\hat", "\\bar", "\\tilde"):
                if nxt.kind == "open" and i + 1 not in match:
                    continue
                end = match[i + 1] if nxt.kind == "open" else i + 1
                arg = text[nxt.start:toks[end].end] if end < len(toks) else ""
                if len(arg) > 1 and arg[0] == "{" and len(_tokens(arg)) == 3:
                    arg = arg[1:-1].strip()
                kind = {"_": "sub", "^": "sup"}.get(tok.text, tok.text)
                if arg and len(arg) <= 12:
                    found[(kind, arg)] += 1
        return [k for k, _ in sorted(found.items(), key=lambda kv: (-kv[1], kv[0]))]

    # -- text ---------------------------------------------------------------
    def start(self, item: _Item) -> int:
        return self.toks[item.first].start

    def stop(self, item: _Item) -> int:
        return self.toks[item.end - 1].end

    def span(self, a: int, b: int) -> str:
        """The text of tokens ``a..b-1``."""
        return self.text[self.toks[a].start:self.toks[b - 1].end] if b > a else ""

    def piece(self, item: _Item) -> str:
        return self.text[self.start(item):self.stop(item)]

    def edit(self, conf: Confusion, start: int, end: int, reading: str) -> Edit | None:
        written = self.text[start:end]
        if written == reading or _braces(written) != _braces(reading):
            return None
        head, tail = self.text[:start], self.text[end:]
        # a command name never runs on into a letter (\alpha b, not \alphab)
        if _ENDS_IN_NAME.search(head[-40:]) and (reading or tail)[:1].isalpha():
            reading = " " + reading
        if _ENDS_IN_NAME.search((head[-40:] + reading)[-40:]) and tail[:1].isalpha():
            reading += " "
        latex = head + reading + tail
        return Edit(conf.code, start, end, written, reading, latex, conf.prior)

    def atoms(self, *kinds: str) -> Iterator[tuple[str, int, _Item]]:
        """(sequence kind, place, atom) of every atom, in sequences of these kinds."""
        for kind, items in self.sequences:
            if not kinds or kind in kinds:
                for k, item in enumerate(items):
                    if item.kind == "atom":
                        yield kind, k, item


def _braces(text: str) -> int:
    """``{`` less ``}`` (an edit keeps it, so a balanced text stays balanced)."""
    kinds = [t.kind for t in _tokens(text)]
    return kinds.count("open") - kinds.count("close")


def _matches(toks: list[_Tok]) -> dict[int, int]:
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


# ------------------------------------------------------------------- generators
# Each yields (start, end, reading): the characters replaced and what replaces them.

Found = Iterator[tuple[int, int, str]]
_TERMS = ("top", "group", "bracket", "arg")  # sequences whose items are terms


def _lost_minus(doc: _Doc) -> Found:
    for kind, items in doc.sequences:
        if kind in (*_TERMS, "sup") and items and items[0].kind == "atom":
            atom = items[0]
            yield doc.start(atom), doc.stop(atom), "-" + doc.piece(atom)
    for a, b in _adjacent(doc):  # between two factors: a binary minus lost
        if a.base not in ("big", "func", "partial", "name") and b.base != "partial":
            yield doc.start(a), doc.stop(b), doc.piece(a) + " - " + doc.piece(b)
    for _kind, _k, atom in doc.atoms():
        if atom.sup and atom.sup[1] - atom.sup[0] == 1 and doc.toks[atom.sup[0]].kind != "open":
            arg = doc.toks[atom.sup[0]]
            yield arg.start, arg.end, "{-" + arg.text + "}"


def _extra_minus(doc: _Doc) -> Found:
    for _kind, items in doc.sequences:
        if len(items) > 1 and items[0].kind == "op" and doc.toks[items[0].first].text == "-" \
                and items[1].kind == "atom":
            yield doc.start(items[0]), doc.stop(items[1]), doc.piece(items[1])


def _sign_confusion(doc: _Doc) -> Found:
    for _kind, items in doc.sequences:
        for k in range(1, len(items) - 1):
            op = doc.toks[items[k].first]
            if items[k].kind == "op" and op.text in ("+", "-"):
                new = "-" if op.text == "+" else "+"
                a, b = items[k - 1], items[k + 1]
                yield (doc.start(a), doc.stop(b), doc.text[doc.start(a):op.start] + new
                       + doc.text[op.end:doc.stop(b)])


def _transpose_as_digit(doc: _Doc) -> Found:
    swaps = {"7": "T", "1": "T", "{7}": "{T}", "{1}": "{T}", "{-1}": "{-T}", "{-T}": "{-1}",
             "{-7}": "{-T}"}
    for _kind, _k, atom in doc.atoms():
        if atom.sup:
            arg = re.sub(r"\s+", "", doc.span(*atom.sup))
            if arg in swaps:
                a, b = doc.toks[atom.sup[0]].start, doc.toks[atom.sup[1] - 1].end
                yield (doc.start(atom), doc.stop(atom), doc.text[doc.start(atom):a]
                       + swaps[arg] + doc.text[b:doc.stop(atom)])


def _replace_token(doc: _Doc, table: dict[str, tuple[str, ...]]) -> Found:
    for i, tok in enumerate(doc.toks):
        if i in doc.named or tok.text not in table:
            continue
        owner = doc.owner.get(i)
        start, stop = (doc.start(owner), doc.stop(owner)) if owner else (tok.start, tok.end)
        for new in table[tok.text]:
            yield (start, stop, doc.text[start:tok.start] + new + doc.text[tok.end:stop])


def _letter_confusion(doc: _Doc) -> Found:
    return _replace_token(doc, LOOKALIKE)


def _greek_confusion(doc: _Doc) -> Found:
    return _replace_token(doc, GREEK_LOOKALIKE)


def _operator_confusion(doc: _Doc) -> Found:
    return _replace_token(doc, OPERATOR_LOOKALIKE)


_NAMED_BASES = ("letter", "cmd", "font", "accent")


def _vocabulary(doc: _Doc, kind: str, extra: tuple[str, ...] = ()) -> list[str]:
    words = list(extra) + [w for k, w in doc.vocabulary if k == kind]
    return list(dict.fromkeys(words))[:MAX_VOCABULARY]


def _insert_after_base(doc: _Doc, atom: _Item, mark: str) -> tuple[int, int, str]:
    at = doc.toks[atom.base_end - 1].end
    return (doc.start(atom), doc.stop(atom),
            doc.text[doc.start(atom):at] + mark + doc.text[at:doc.stop(atom)])


def _script_removed(doc: _Doc, atom: _Item, arg: tuple[int, int]) -> tuple[int, int, str]:
    a, b = doc.toks[arg[0] - 1].start, doc.toks[arg[1] - 1].end
    return (doc.start(atom), doc.stop(atom),
            doc.text[doc.start(atom):a] + doc.text[b:doc.stop(atom)])


def _lost_subscript(doc: _Doc) -> Found:
    subs = _vocabulary(doc, "sub")
    for _kind, _k, atom in doc.atoms(*_TERMS):
        if atom.sub is None and atom.base in _NAMED_BASES:
            for sub in subs:
                yield _insert_after_base(doc, atom, "_" + _braced(sub))


def _extra_subscript(doc: _Doc) -> Found:
    for _kind, _k, atom in doc.atoms():
        if atom.sub:
            yield _script_removed(doc, atom, atom.sub)


def _swapped_subscripts(doc: _Doc) -> Found:
    for _kind, _k, atom in doc.atoms():
        if atom.sub and doc.toks[atom.sub[0]].kind == "open":
            inner = doc.toks[atom.sub[0] + 1:atom.sub[1] - 1]
            simple = [t for t in inner if t.kind in ("letter", "digit")]
            if len(inner) in (2, 3) and len(simple) == 2 and (
                    len(inner) == 2 or inner[1].text == ","):
                a, b = simple
                text = doc.piece(atom)
                base = doc.start(atom)
                chars = list(text)
                chars[a.start - base], chars[b.start - base] = b.text, a.text
                yield doc.start(atom), doc.stop(atom), "".join(chars)


def _script_level(doc: _Doc) -> Found:
    for _kind, _k, atom in doc.atoms():
        arg = atom.sub if atom.sup is None else atom.sup if atom.sub is None else None
        if arg is not None:
            mark = doc.toks[arg[0] - 1]
            new = "^" if mark.text == "_" else "_"
            yield (doc.start(atom), doc.stop(atom), doc.text[doc.start(atom):mark.start] + new
                   + doc.text[mark.end:doc.stop(atom)])


def _lost_superscript(doc: _Doc) -> Found:
    sups = _vocabulary(doc, "sup", _SUPERSCRIPTS)
    for _kind, _k, atom in doc.atoms(*_TERMS):
        if atom.sup is None and atom.prime is None and atom.base in (
                *_NAMED_BASES, "bracket", "group", "func"):
            for sup in sups:
                yield doc.start(atom), doc.stop(atom), doc.piece(atom) + "^" + _braced(sup)


def _extra_superscript(doc: _Doc) -> Found:
    for _kind, _k, atom in doc.atoms():
        if atom.sup:
            yield _script_removed(doc, atom, atom.sup)


def _braced(script: str) -> str:
    return script if len(_tokens(script)) == 1 or script.startswith("{") else "{" + script + "}"


def _adjacent(doc: _Doc) -> Iterator[tuple[_Item, _Item]]:
    for kind, items in doc.sequences:
        if kind in _TERMS:
            for a, b in pairwise(items):
                if a.kind == b.kind == "atom":
                    yield a, b


def _lost_operator(doc: _Doc) -> Found:
    for a, b in _adjacent(doc):
        if a.base not in ("big", "func", "partial", "name") and b.base != "partial":
            gap = doc.text[doc.stop(a):doc.start(b)]
            for op in ("\\odot", "\\cdot"):
                yield (doc.start(a), doc.stop(b),
                       doc.piece(a) + (gap or " ") + op + " " + doc.piece(b))


def _lost_prime(doc: _Doc) -> Found:
    for a, b in _adjacent(doc):
        if b.base == "bracket" and a.prime is None and a.base in ("func", "cmd", "name",
                                                                  "letter", "font"):
            yield doc.start(a), doc.stop(a), doc.piece(a) + "'"


def _extra_prime(doc: _Doc) -> Found:
    for _kind, _k, atom in doc.atoms():
        if atom.prime is not None:
            p = doc.toks[atom.prime]
            yield (doc.start(atom), doc.stop(atom), doc.text[doc.start(atom):p.start]
                   + doc.text[p.end:doc.stop(atom)])


def _lost_accent(doc: _Doc) -> Found:
    accents = [(k, w) for k, w in doc.vocabulary if k.startswith("\\")][:MAX_VOCABULARY]
    for _kind, _k, atom in doc.atoms(*_TERMS):
        letter = doc.toks[atom.first].text
        if atom.base == "letter":
            for accent, inner in accents:
                if inner == letter:
                    yield _wrapped(doc, atom, accent)


def _wrapped(doc: _Doc, atom: _Item, accent: str) -> tuple[int, int, str]:
    base = doc.toks[atom.first]
    return (doc.start(atom), doc.stop(atom), f"{accent}{{{base.text}}}"
            + doc.text[base.end:doc.stop(atom)])


def _extra_accent(doc: _Doc) -> Found:
    for _kind, _k, atom in doc.atoms():
        if atom.base == "accent" and atom.inner and len(atom.inner[0]) == 1:
            inner = atom.inner[0][0]
            if inner.base == "letter" and inner.end - inner.first == 1:
                yield (doc.start(atom), doc.stop(atom), doc.piece(inner)
                       + doc.text[doc.toks[atom.base_end - 1].end:doc.stop(atom)])


def _sqrt_for_reciprocal(doc: _Doc) -> Found:
    for _kind, items in doc.sequences:
        for k, atom in enumerate(items):
            if atom.kind != "atom":
                continue
            if atom.base == "sqrt" and atom.inner and atom.sub is None and atom.sup is None:
                x = doc.span(atom.inner[0][0].first, atom.inner[0][-1].end) \
                    if atom.inner[0] else ""
                simple = len(atom.inner[0]) == 1 and (k == 0 or items[k - 1].kind == "op")
                if x:
                    yield (doc.start(atom), doc.stop(atom),
                           f"1/{x}" if simple else f"\\frac{{1}}{{{x}}}")
            elif atom.base == "frac" and len(atom.inner) == 2 and atom.inner[1] and \
                    len(atom.inner[0]) == 1 and doc.piece(atom.inner[0][0]) == "1":
                den = atom.inner[1]
                yield (doc.start(atom), doc.stop(atom),
                       f"\\sqrt{{{doc.span(den[0].first, den[-1].end)}}}")
            elif atom.base == "number" and doc.piece(atom) == "1" and k + 2 < len(items) \
                    and doc.toks[items[k + 1].first].text == "/" and items[k + 2].kind == "atom":
                yield (doc.start(atom), doc.stop(items[k + 2]),
                       f"\\sqrt{{{doc.piece(items[k + 2])}}}")


def _has_sum(doc: _Doc, items: list[_Item]) -> bool:
    return any(i.kind == "op" and doc.toks[i.first].text in ("+", "-") for i in items)


def _dropped_bracket(doc: _Doc) -> Found:
    for kind, items in doc.sequences:
        if kind not in _TERMS:
            continue
        for k, item in enumerate(items):  # a bracket whose partner is lost
            tok = doc.toks[item.first]
            if item.kind == "op" and tok.kind == "lbr":
                for other in items[k + 1:k + 1 + MAX_SPAN]:
                    if other.kind == "atom":
                        yield (tok.start, doc.stop(other),
                               doc.text[tok.start:doc.stop(other)] + _partner(tok.text))
            elif item.kind == "op" and tok.kind == "rbr" and item.first not in doc.match:
                for other in reversed(items[max(0, k - MAX_SPAN):k]):
                    if other.kind == "atom":
                        yield (doc.start(other), tok.end,
                               _partner(tok.text) + doc.text[doc.start(other):tok.end])
        for p, first in enumerate(items):  # a pair lost
            if first.kind != "atom":
                continue
            for q in range(p + 1, min(len(items), p + MAX_SPAN)):
                last = items[q]
                if last.kind != "atom" or (p == 0 and q == len(items) - 1 and
                                           last.base_end == last.end):
                    continue
                a, b = doc.start(first), doc.stop(last)
                if _has_sum(doc, items[p:q + 1]) and not (p == 0 and q == len(items) - 1):
                    yield a, b, "(" + doc.text[a:b] + ")"
                if last.base_end < last.end:  # its scripts belong to the whole: (a + b)^T
                    at = doc.toks[last.base_end - 1].end
                    yield a, b, "(" + doc.text[a:at] + ")" + doc.text[at:b]


def _misplaced_bracket(doc: _Doc) -> Found:
    for _kind, items in doc.sequences:
        for b, atom in enumerate(items):
            if atom.kind != "atom" or atom.base != "bracket" or not atom.inner:
                continue
            inner = atom.inner[0]
            o, c = doc.toks[atom.first], doc.toks[atom.base_end - 1]
            closing = doc.text[c.start:doc.stop(atom)]  # with its scripts
            for k in range(max(0, b - MAX_MOVE), b):  # ( moved left
                p = doc.start(items[k])
                yield p, o.end, o.text + doc.text[p:o.start]
            for m in range(1, min(len(inner), MAX_MOVE + 1)):  # ( moved right
                p = doc.start(inner[m])
                yield o.start, p, doc.text[o.end:p] + o.text
            for m in range(max(0, len(inner) - 1 - MAX_MOVE), len(inner) - 1):  # ) left
                p = doc.stop(inner[m])
                yield p, doc.stop(atom), closing + doc.text[p:c.start]
            for k in range(b + 1, min(len(items), b + 1 + MAX_MOVE)):  # ) right
                p = doc.stop(items[k])
                yield c.start, p, doc.text[doc.stop(atom):p] + closing


def _stray_bracket(doc: _Doc) -> Found:
    for _kind, items in doc.sequences:
        for k, item in enumerate(items):
            tok = doc.toks[item.first]
            if item.kind == "op" and tok.kind in ("lbr", "rbr") and item.first not in doc.match:
                near = items[k + 1] if k + 1 < len(items) else items[k - 1] if k else None
                if near is None:
                    yield tok.start, tok.end, ""
                elif near.first > item.first:
                    yield tok.start, doc.stop(near), doc.text[tok.end:doc.stop(near)].lstrip()
                else:
                    yield doc.start(near), tok.end, doc.text[doc.start(near):tok.start].rstrip()


_GENERATORS: dict[str, Callable[[_Doc], Found]] = {
    "lost-minus": _lost_minus,
    "transpose-as-digit": _transpose_as_digit,
    "sign-confusion": _sign_confusion,
    "letter-confusion": _letter_confusion,
    "lost-superscript": _lost_superscript,
    "lost-subscript": _lost_subscript,
    "lost-prime": _lost_prime,
    "script-level": _script_level,
    "lost-operator": _lost_operator,
    "swapped-subscripts": _swapped_subscripts,
    "operator-confusion": _operator_confusion,
    "dropped-bracket": _dropped_bracket,
    "lost-accent": _lost_accent,
    "sqrt-for-reciprocal": _sqrt_for_reciprocal,
    "misplaced-bracket": _misplaced_bracket,
    "greek-confusion": _greek_confusion,
    "extra-minus": _extra_minus,
    "stray-bracket": _stray_bracket,
    "extra-subscript": _extra_subscript,
    "extra-superscript": _extra_superscript,
    "extra-prime": _extra_prime,
    "extra-accent": _extra_accent,
}
assert set(_GENERATORS) == set(CONFUSIONS)
