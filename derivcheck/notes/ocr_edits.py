"""The confusion generators of ``ocr.py``: each yields every one-edit repair of a text.

A generator takes a ``Doc`` (``ocr_text``) and yields ``(start, end, reading)``: the
characters of the text replaced, and what replaces them (a whole atom, so that people
see ``W^7`` read as ``W^T``).  These are the structural ones (signs, scripts, brackets,
fractions, roots); the glyph confusions and their tables are ``ocr_glyphs.py``'s.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from itertools import pairwise

from derivcheck.notes import ocr_glyphs as glyphs
from derivcheck.notes.ocr_text import Doc, Item, partner, tokens

MAX_SPAN = 12  # items a dropped pair of brackets may enclose
MAX_MOVE = 6  # items a misplaced bracket may move by
MAX_VOCABULARY = 12  # subscripts, superscripts and accents to restore, most used first
MAX_FRACTION = 6  # items a numerator or a denominator read without its bar may have

_SUPERSCRIPTS = ("T", "2", "{-1}", "{-T}")  # restored wherever a superscript can go
_BARS = {"|", "\\|", "\\rVert", "\\rvert", "\\Vert", "\\vert"}  # a norm's closing bar


# Each yields (start, end, reading): the characters replaced and what replaces them.

Found = Iterator[tuple[int, int, str]]
_TERMS = ("top", "group", "bracket", "arg", "sup")  # sequences whose items are terms


def _lost_minus(doc: Doc) -> Found:
    for kind, items in doc.sequences:
        if kind in _TERMS and items and items[0].kind == "atom":
            atom = items[0]
            yield doc.start(atom), doc.stop(atom), "-" + doc.piece(atom)
    for a, b in _adjacent(doc):  # between two factors: a binary minus lost
        if a.base not in ("big", "func", "partial", "name") and b.base != "partial":
            yield doc.start(a), doc.stop(b), doc.piece(a) + " - " + doc.piece(b)
    for _kind, _k, atom in doc.atoms():
        if atom.sup and atom.sup[1] - atom.sup[0] == 1 and doc.toks[atom.sup[0]].kind != "open":
            arg = doc.toks[atom.sup[0]]
            yield arg.start, arg.end, "{-" + arg.text + "}"


def _extra_minus(doc: Doc) -> Found:
    for _kind, items in doc.sequences:
        if len(items) > 1 and items[0].kind == "op" and doc.toks[items[0].first].text == "-" \
                and items[1].kind == "atom":
            yield doc.start(items[0]), doc.stop(items[1]), doc.piece(items[1])


def _sign_confusion(doc: Doc) -> Found:
    for _kind, items in doc.sequences:
        for k in range(1, len(items) - 1):
            op = doc.toks[items[k].first]
            if items[k].kind == "op" and op.text in ("+", "-"):
                new = "-" if op.text == "+" else "+"
                a, b = items[k - 1], items[k + 1]
                yield (doc.start(a), doc.stop(b), doc.text[doc.start(a):op.start] + new
                       + doc.text[op.end:doc.stop(b)])


_NAMED_BASES = ("letter", "cmd", "font", "accent")


def _vocabulary(doc: Doc, kind: str, extra: tuple[str, ...] = ()) -> list[str]:
    words = list(extra) + [w for k, w in doc.vocabulary if k == kind]
    return list(dict.fromkeys(words))[:MAX_VOCABULARY]


def _insert_after_base(doc: Doc, atom: Item, mark: str) -> tuple[int, int, str]:
    at = doc.toks[atom.base_end - 1].end
    return (doc.start(atom), doc.stop(atom),
            doc.text[doc.start(atom):at] + mark + doc.text[at:doc.stop(atom)])


def _script_removed(doc: Doc, atom: Item, arg: tuple[int, int]) -> tuple[int, int, str]:
    a, b = doc.toks[arg[0] - 1].start, doc.toks[arg[1] - 1].end
    return (doc.start(atom), doc.stop(atom),
            doc.text[doc.start(atom):a] + doc.text[b:doc.stop(atom)])


def _lost_subscript(doc: Doc) -> Found:
    subs = _vocabulary(doc, "sub")
    for _kind, _k, atom in doc.atoms(*_TERMS):
        if atom.sub is None and atom.base in (*_NAMED_BASES, "big", "bracket"):
            for sub in subs:
                yield _insert_after_base(doc, atom, "_" + _braced(sub))


def _plain(atom: Item) -> bool:
    return atom.kind == "atom" and atom.sub is None and atom.sup is None and atom.prime is None


def _inline_subscript(doc: Doc) -> Found:
    """A subscript flattened onto the line: ``Bj`` read ``B_j``, ``hij`` read ``h_{ij}``,
    ``z2`` read ``z_2`` (a letter, then one or two letters or a number, written with no
    space between them)."""
    for kind, items in doc.sequences:
        if kind not in _TERMS:
            continue
        for k, a in enumerate(items):
            if not _plain(a) or a.base != "letter":
                continue
            run: list[Item] = []
            for b in items[k + 1:k + 3]:
                prev = run[-1] if run else a
                if not _plain(b) or b.base not in ("letter", "number") or \
                        doc.start(b) != doc.stop(prev):
                    break
                run.append(b)
                if b.base == "number":
                    break
            for n in range(1, len(run) + 1):
                script = doc.text[doc.start(run[0]):doc.stop(run[n - 1])]
                yield doc.start(a), doc.stop(run[n - 1]), doc.piece(a) + "_" + _braced(script)


def _extra_subscript(doc: Doc) -> Found:
    for _kind, _k, atom in doc.atoms():
        if atom.sub:
            yield _script_removed(doc, atom, atom.sub)


def _swapped_subscripts(doc: Doc) -> Found:
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


def _script_level(doc: Doc) -> Found:
    for _kind, _k, atom in doc.atoms():
        arg = atom.sub if atom.sup is None else atom.sup if atom.sub is None else None
        if arg is not None:
            mark = doc.toks[arg[0] - 1]
            new = "^" if mark.text == "_" else "_"
            yield (doc.start(atom), doc.stop(atom), doc.text[doc.start(atom):mark.start] + new
                   + doc.text[mark.end:doc.stop(atom)])


def _lost_superscript(doc: Doc) -> Found:
    sups = _vocabulary(doc, "sup", _SUPERSCRIPTS)
    for _kind, _k, atom in doc.atoms(*_TERMS):
        if atom.sup is None and atom.prime is None and atom.base in (
                *_NAMED_BASES, "bracket", "group", "func"):
            for sup in sups:
                yield doc.start(atom), doc.stop(atom), doc.piece(atom) + "^" + _braced(sup)
    for start, end in _closing_bars(doc):  # a norm's square: \|x\|^2, \|w\|_2^2
        for sup in sups:
            yield start, end, doc.text[start:end] + "^" + _braced(sup)


def _closing_bars(doc: Doc) -> Iterator[tuple[int, int]]:
    """Each closing norm or absolute-value bar without a superscript, with its
    subscript if it has one: where a lost superscript would go after it."""
    seen: dict[str, int] = {}
    toks, n = doc.toks, len(doc.toks)
    for i, tok in enumerate(toks):
        if tok.text not in _BARS:
            continue
        seen[tok.text] = seen.get(tok.text, 0) + 1
        if tok.text in ("|", "\\|", "\\Vert", "\\vert") and seen[tok.text] % 2:
            continue  # an opening bar
        j = i + 1
        if j < n and toks[j].text == "_":
            j = doc.arg_end(j + 1, n, 0)
        if j == n or toks[j].text != "^":
            yield tok.start, toks[j - 1].end


def _extra_superscript(doc: Doc) -> Found:
    for _kind, _k, atom in doc.atoms():
        if atom.sup:
            yield _script_removed(doc, atom, atom.sup)


def _braced(script: str) -> str:
    return script if len(tokens(script)) == 1 or script.startswith("{") else "{" + script + "}"


def _adjacent(doc: Doc) -> Iterator[tuple[Item, Item]]:
    for kind, items in doc.sequences:
        if kind in _TERMS:
            for a, b in pairwise(items):
                if a.kind == b.kind == "atom":
                    yield a, b


def _lost_operator(doc: Doc) -> Found:
    for a, b in _adjacent(doc):
        if a.base not in ("big", "func", "partial", "name") and b.base != "partial":
            gap = doc.text[doc.stop(a):doc.start(b)]
            for op in ("\\odot", "\\cdot"):
                yield (doc.start(a), doc.stop(b),
                       doc.piece(a) + (gap or " ") + op + " " + doc.piece(b))


def _lost_prime(doc: Doc) -> Found:
    for a, b in _adjacent(doc):
        if b.base == "bracket" and a.prime is None and a.base in ("func", "cmd", "name",
                                                                  "letter", "font"):
            yield doc.start(a), doc.stop(a), doc.piece(a) + "'"


def _extra_prime(doc: Doc) -> Found:
    for _kind, _k, atom in doc.atoms():
        if atom.prime is not None:
            p = doc.toks[atom.prime]
            yield (doc.start(atom), doc.stop(atom), doc.text[doc.start(atom):p.start]
                   + doc.text[p.end:doc.stop(atom)])


def _lost_accent(doc: Doc) -> Found:
    accents = [(k, w) for k, w in doc.vocabulary if k.startswith("\\")][:MAX_VOCABULARY]
    for _kind, _k, atom in doc.atoms(*_TERMS):
        letter = doc.toks[atom.first].text
        if atom.base == "letter":
            for accent, inner in accents:
                if inner == letter:
                    yield _wrapped(doc, atom, accent)


def _wrapped(doc: Doc, atom: Item, accent: str) -> tuple[int, int, str]:
    base = doc.toks[atom.first]
    return (doc.start(atom), doc.stop(atom), f"{accent}{{{base.text}}}"
            + doc.text[base.end:doc.stop(atom)])


def _extra_accent(doc: Doc) -> Found:
    for _kind, _k, atom in doc.atoms():
        if atom.base == "accent" and atom.inner and len(atom.inner[0]) == 1:
            inner = atom.inner[0][0]
            if inner.base == "letter" and inner.end - inner.first == 1:
                yield (doc.start(atom), doc.stop(atom), doc.piece(inner)
                       + doc.text[doc.toks[atom.base_end - 1].end:doc.stop(atom)])


def _sqrt_for_reciprocal(doc: Doc) -> Found:
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


def _fraction(doc: Doc, num: list[Item], den: list[Item]) -> Found:
    """``\\frac{num}{den}`` (none if the numerator ends in a function or a ``\\partial``
    that the denominator would be the argument of, but ``\\frac{\\partial}{\\partial w}``
    itself is one)."""
    operator = len(num) == 1 and num[0].base == "partial" and den[0].base == "partial"
    if num[-1].base in (*_APPLIED, "big", "partial") and not operator:
        return
    a, b = doc.start(num[0]), doc.stop(den[-1])
    top = doc.text[a:doc.stop(num[-1])]
    bottom = doc.text[doc.start(den[0]):b]
    yield a, b, f"\\frac{{{top}}}{{{bottom}}}"


def _spans(items: list[Item], start: int, step: int) -> Iterator[int]:
    """Ends (``step`` 1) or starts (``step`` -1) of the spans of at most ``MAX_FRACTION``
    items from ``items[start]`` that begin and end with an atom."""
    k = start
    while 0 <= k < len(items) and abs(k - start) < MAX_FRACTION:
        if items[k].kind == "atom":
            yield k
        k += step


def _lost_fraction_bar(doc: Doc) -> Found:
    """A fraction whose bar is lost: its numerator and its denominator read one after
    the other (``\\frac{a}{b}`` read ``a b`` or ``ab``)."""
    for kind, items in doc.sequences:
        if kind not in _TERMS:
            continue
        for q in range(1, len(items)):  # the denominator starts at items[q]
            if items[q].kind != "atom" or items[q - 1].kind != "atom":
                continue
            for p in _spans(items, q - 1, -1):
                for r in _spans(items, q, 1):
                    yield from _fraction(doc, items[p:q], items[q:r + 1])


def _fraction_bar_as_minus(doc: Doc) -> Found:
    """A fraction bar read as a minus sign (the same stroke: ``\\frac{a}{b}`` read
    ``a - b``)."""
    for kind, items in doc.sequences:
        if kind not in _TERMS:
            continue
        for k in range(1, len(items) - 1):
            if items[k].kind == "op" and doc.toks[items[k].first].text == "-" \
                    and items[k - 1].kind == items[k + 1].kind == "atom":
                for p in _spans(items, k - 1, -1):
                    for r in _spans(items, k + 1, 1):
                        yield from _fraction(doc, items[p:k], items[k + 1:r + 1])


_APPLIED = ("func", "name", "cmd", "font")  # what a bracket after it may be the argument of
_BINARY = {"+", "-", "/", "*", "\\cdot", "\\odot", "\\times", "\\circ", "\\ast"}


def _has_operator(doc: Doc, items: list[Item]) -> bool:
    return any(i.kind == "op" and doc.toks[i.first].text in _BINARY for i in items)


def _dropped_bracket(doc: Doc) -> Found:
    for kind, items in doc.sequences:
        if kind not in _TERMS:
            continue
        for k, item in enumerate(items):  # a bracket whose partner is lost
            tok = doc.toks[item.first]
            if item.kind == "op" and tok.kind == "lbr":
                for other in items[k + 1:k + 1 + MAX_SPAN]:
                    if other.kind == "atom":
                        yield (tok.start, doc.stop(other),
                               doc.text[tok.start:doc.stop(other)] + partner(tok.text))
                    if other.kind == "atom" and other.base_end < other.end:
                        at = doc.toks[other.base_end - 1].end  # before its scripts: (z)_k
                        yield (tok.start, doc.stop(other), doc.text[tok.start:at]
                               + partner(tok.text) + doc.text[at:doc.stop(other)])
            elif item.kind == "op" and tok.kind == "rbr" and item.first not in doc.match:
                for j in range(k - 1, max(0, k - MAX_SPAN) - 1, -1):
                    if items[j].kind == "atom" or _unary_minus(doc, items, j):
                        at = doc.start(items[j])
                        yield at, tok.end, partner(tok.text) + doc.text[at:tok.end]
        for p in range(len(items)):  # a pair lost
            yield from _pairs_from(doc, items, p)


def _unary_minus(doc: Doc, items: list[Item], j: int) -> bool:
    """``items[j]`` is a minus with no term before it (first, after an operator, or
    after a function it is the argument of: \\sigma -a)."""
    if items[j].kind != "op" or doc.toks[items[j].first].text != "-":
        return False
    before = items[j - 1] if j else None
    return before is None or before.kind == "op" or before.base in _APPLIED


def _pairs_from(doc: Doc, items: list[Item], p: int) -> Found:
    """A lost pair of brackets opening before ``items[p]``: around a span with an
    operator in it, before a script that belongs to the whole span (``(a + b)^T``), or
    around the argument of a function (``\\sigma(-a)``, ``\\operatorname{f}(z_k)``)."""
    first = items[p]
    minus = first.kind == "op" and doc.toks[first.first].text == "-"
    if first.kind != "atom" and not minus:
        return
    applied = p > 0 and items[p - 1].kind == "atom" and items[p - 1].base in _APPLIED
    for q in range(p, min(len(items), p + MAX_SPAN)):
        last = items[q]
        if last.kind != "atom":
            continue
        a, b = doc.start(first), doc.stop(last)
        whole = p == 0 and q == len(items) - 1
        if applied or (q > p and not whole and _has_operator(doc, items[p:q + 1])):
            yield a, b, "(" + doc.text[a:b] + ")"
        if (q > p or applied) and last.base_end < last.end:  # scripts of the whole
            at = doc.toks[last.base_end - 1].end
            yield a, b, "(" + doc.text[a:at] + ")" + doc.text[at:b]


def _misplaced_bracket(doc: Doc) -> Found:
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


def _stray_bracket(doc: Doc) -> Found:
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


GENERATORS: dict[str, Callable[[Doc], Found]] = {
    "lost-minus": _lost_minus,
    "transpose-as-digit": glyphs.transpose_as_digit,
    "transpose-as-letter": glyphs.transpose_as_letter,
    "sign-confusion": _sign_confusion,
    "letter-confusion": glyphs.letter_confusion,
    "digit-confusion": glyphs.digit_confusion,
    "lost-superscript": _lost_superscript,
    "lost-subscript": _lost_subscript,
    "inline-subscript": _inline_subscript,
    "lost-prime": _lost_prime,
    "script-level": _script_level,
    "lost-operator": _lost_operator,
    "swapped-subscripts": _swapped_subscripts,
    "operator-confusion": glyphs.operator_confusion,
    "dropped-bracket": _dropped_bracket,
    "lost-accent": _lost_accent,
    "repeated-letter": glyphs.repeated_letter,
    "sqrt-for-reciprocal": _sqrt_for_reciprocal,
    "misplaced-bracket": _misplaced_bracket,
    "lost-fraction-bar": _lost_fraction_bar,
    "greek-confusion": glyphs.greek_confusion,
    "extra-minus": _extra_minus,
    "stray-bracket": _stray_bracket,
    "fraction-bar-as-minus": _fraction_bar_as_minus,
    "extra-subscript": _extra_subscript,
    "extra-superscript": _extra_superscript,
    "extra-prime": _extra_prime,
    "dropped-letter": glyphs.dropped_letter,
    "extra-accent": _extra_accent,
}
