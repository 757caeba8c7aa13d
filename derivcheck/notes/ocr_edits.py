"""The confusion generators of ``ocr.py``: each yields every one-edit repair of a text.

A generator takes a ``Doc`` (``ocr_text``) and yields ``(start, end, reading)``: the
characters of the text replaced, and what replaces them (a whole atom, so that people
see ``W^7`` read as ``W^T``).  The tables of glyphs that OCR takes for one another are
here too.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from itertools import pairwise

from derivcheck.notes.ocr_text import Doc, Item, partner, tokens

MAX_SPAN = 12  # items a dropped pair of brackets may enclose
MAX_MOVE = 6  # items a misplaced bracket may move by
MAX_VOCABULARY = 12  # subscripts, superscripts and accents to restore, most used first

# Glyphs that OCR takes for one another (either way).  Case pairs are those whose
# capital differs from the small letter only in size.
LOOKALIKE_PAIRS = (
    ("l", "1"), ("l", "i"), ("1", "i"), ("l", "I"), ("1", "I"), ("l", "|"), ("1", "|"),
    ("i", "j"), ("O", "0"), ("o", "0"), ("O", "o"), ("s", "S"), ("S", "5"), ("c", "C"),
    ("x", "X"), ("z", "Z"), ("z", "2"), ("Z", "2"), ("v", "V"), ("w", "W"), ("u", "U"),
    ("k", "K"), ("p", "P"), ("y", "Y"), ("u", "v"), ("n", "h"), ("e", "c"), ("b", "6"),
    ("g", "9"), ("q", "9"), ("B", "8"), ("x", "\\times"), ("1", "7"),
)
GREEK_PAIRS = (
    ("a", "\\alpha"), ("B", "\\beta"), ("w", "\\omega"), ("v", "\\nu"), ("u", "\\mu"),
    ("n", "\\eta"), ("p", "\\rho"), ("o", "\\sigma"), ("t", "\\tau"), ("T", "\\tau"),
    ("e", "\\epsilon"), ("e", "\\varepsilon"), ("x", "\\chi"), ("y", "\\gamma"),
    ("k", "\\kappa"), ("\\Sigma", "\\sum"), ("\\Pi", "\\prod"), ("\\phi", "\\varphi"),
    ("\\epsilon", "\\varepsilon"),
)
OPERATOR_PAIRS = (("\\odot", "\\cdot"), ("\\cdot", "\\times"), ("\\odot", "\\circ"))
_SUPERSCRIPTS = ("T", "2", "{-1}")  # restored wherever a superscript can go


def _table(pairs: tuple[tuple[str, str], ...]) -> dict[str, tuple[str, ...]]:
    out: dict[str, list[str]] = {}
    for a, b in pairs:
        out.setdefault(a, []).append(b)
        out.setdefault(b, []).append(a)
    return {k: tuple(v) for k, v in out.items()}


LOOKALIKE = _table(LOOKALIKE_PAIRS)
GREEK_LOOKALIKE = _table(GREEK_PAIRS)
OPERATOR_LOOKALIKE = _table(OPERATOR_PAIRS)


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


def _transpose_as_digit(doc: Doc) -> Found:
    swaps = {"7": "T", "1": "T", "{7}": "{T}", "{1}": "{T}", "{-1}": "{-T}", "{-T}": "{-1}",
             "{-7}": "{-T}"}
    for _kind, _k, atom in doc.atoms():
        if atom.sup:
            arg = re.sub(r"\s+", "", doc.span(*atom.sup))
            if arg in swaps:
                a, b = doc.toks[atom.sup[0]].start, doc.toks[atom.sup[1] - 1].end
                yield (doc.start(atom), doc.stop(atom), doc.text[doc.start(atom):a]
                       + swaps[arg] + doc.text[b:doc.stop(atom)])


def _replace_token(doc: Doc, table: dict[str, tuple[str, ...]], *, names: bool = False
                   ) -> Found:
    """Each token of ``table`` read as each of its lookalikes (in ``\\operatorname{...}``
    and ``\\text{...}`` too if ``names``)."""
    for i, tok in enumerate(doc.toks):
        if (i in doc.named and not names) or tok.text not in table:
            continue
        owner = doc.owner.get(i)
        start, stop = (doc.start(owner), doc.stop(owner)) if owner else (tok.start, tok.end)
        for new in table[tok.text]:
            yield (start, stop, doc.text[start:tok.start] + new + doc.text[tok.end:stop])


def _letter_confusion(doc: Doc) -> Found:
    return _replace_token(doc, LOOKALIKE, names=True)


def _greek_confusion(doc: Doc) -> Found:
    return _replace_token(doc, GREEK_LOOKALIKE)


def _operator_confusion(doc: Doc) -> Found:
    return _replace_token(doc, OPERATOR_LOOKALIKE)


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
            elif item.kind == "op" and tok.kind == "rbr" and item.first not in doc.match:
                for other in reversed(items[max(0, k - MAX_SPAN):k]):
                    if other.kind == "atom":
                        yield (doc.start(other), tok.end,
                               partner(tok.text) + doc.text[doc.start(other):tok.end])
        for p in range(len(items)):  # a pair lost
            yield from _pairs_from(doc, items, p)


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
        if q > p and last.base_end < last.end:  # its scripts belong to the whole
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
