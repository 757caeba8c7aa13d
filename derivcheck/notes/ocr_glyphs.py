"""The glyph confusions of ``ocr.py``: one glyph read as another, twice, or once too few.

The tables of glyphs that OCR (of handwriting and of print) takes for one another,
and the generators that read one token as a lookalike.  Like ``ocr_edits``, each
generator takes a ``Doc`` and yields ``(start, end, reading)``: the characters
replaced (the whole atom the token is in, so that people see ``W^I`` read as
``W^T``) and what replaces them.

The tables are general knowledge of how glyphs are misread, not fitted to any text:
shapes that differ by a stroke or a loop (``l``/``1``, ``n``/``m``, ``h``/``b``,
``u``/``v``), capitals that differ from the small letter only in size, the digit pairs
that handwritten-digit recognisers confuse most (``4``/``9``, ``3``/``5``/``8``,
``1``/``7``, ``0``/``6``), and a ``T`` whose bar is lost or faint (``^7``, ``^1``,
``^I``, ``^l``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from derivcheck.notes.ocr_text import ENDS_IN_NAME, Doc

__all__ = ["DIGIT_PAIRS", "GREEK_PAIRS", "LOOKALIKE_PAIRS", "OPERATOR_PAIRS"]

Found = Iterator[tuple[int, int, str]]

# Glyphs that OCR takes for one another (either way).  Case pairs are those whose
# capital differs from the small letter only in size.
LOOKALIKE_PAIRS = (
    ("l", "1"), ("l", "i"), ("1", "i"), ("l", "I"), ("1", "I"), ("l", "|"), ("1", "|"),
    ("i", "j"), ("O", "0"), ("o", "0"), ("O", "o"), ("s", "S"), ("S", "5"), ("c", "C"),
    ("x", "X"), ("z", "Z"), ("z", "2"), ("Z", "2"), ("v", "V"), ("w", "W"), ("u", "U"),
    ("k", "K"), ("p", "P"), ("y", "Y"), ("u", "v"), ("n", "h"), ("e", "c"), ("b", "6"),
    ("g", "9"), ("q", "9"), ("B", "8"), ("x", "\\times"),
    # handwriting: a stroke or a loop more or less
    ("n", "m"), ("h", "b"), ("h", "k"), ("u", "n"), ("y", "v"), ("y", "g"), ("a", "d"),
    ("a", "o"), ("r", "v"), ("f", "t"), ("q", "g"),
)
# Handwritten digits most often confused for one another (either way).
DIGIT_PAIRS = (
    ("1", "7"), ("4", "9"), ("7", "9"), ("3", "5"), ("3", "8"), ("5", "8"), ("5", "6"),
    ("0", "6"), ("6", "8"), ("0", "8"), ("2", "7"),
)
GREEK_PAIRS = (
    ("a", "\\alpha"), ("B", "\\beta"), ("w", "\\omega"), ("v", "\\nu"), ("u", "\\mu"),
    ("n", "\\eta"), ("p", "\\rho"), ("o", "\\sigma"), ("t", "\\tau"), ("T", "\\tau"),
    ("e", "\\epsilon"), ("e", "\\varepsilon"), ("x", "\\chi"), ("y", "\\gamma"),
    ("k", "\\kappa"), ("\\Sigma", "\\sum"), ("\\Pi", "\\prod"), ("\\phi", "\\varphi"),
    ("\\epsilon", "\\varepsilon"),
)
OPERATOR_PAIRS = (("\\odot", "\\cdot"), ("\\cdot", "\\times"), ("\\odot", "\\circ"))

# A superscript T read as a digit, or as a letter (its bar lost or faint); and back,
# for a T that was a digit (X^{-T} for X^{-1}).
_T_AS_DIGIT = {"7": "T", "1": "T", "{7}": "{T}", "{1}": "{T}", "{-1}": "{-T}",
               "{-T}": "{-1}", "{-7}": "{-T}"}
_T_AS_LETTER = {"I": "T", "l": "T", "{I}": "{T}", "{l}": "{T}", "{-I}": "{-T}",
                "{-l}": "{-T}"}


def _table(pairs: tuple[tuple[str, str], ...]) -> dict[str, tuple[str, ...]]:
    out: dict[str, list[str]] = {}
    for a, b in pairs:
        out.setdefault(a, []).append(b)
        out.setdefault(b, []).append(a)
    return {k: tuple(v) for k, v in out.items()}


LOOKALIKE = _table(LOOKALIKE_PAIRS)
DIGIT_LOOKALIKE = _table(DIGIT_PAIRS)
GREEK_LOOKALIKE = _table(GREEK_PAIRS)
OPERATOR_LOOKALIKE = _table(OPERATOR_PAIRS)


def _superscript_swapped(doc: Doc, swaps: dict[str, str]) -> Found:
    for _kind, _k, atom in doc.atoms():
        if atom.sup:
            arg = re.sub(r"\s+", "", doc.span(*atom.sup))
            if arg in swaps:
                a, b = doc.toks[atom.sup[0]].start, doc.toks[atom.sup[1] - 1].end
                yield (doc.start(atom), doc.stop(atom), doc.text[doc.start(atom):a]
                       + swaps[arg] + doc.text[b:doc.stop(atom)])


def transpose_as_digit(doc: Doc) -> Found:
    return _superscript_swapped(doc, _T_AS_DIGIT)


def transpose_as_letter(doc: Doc) -> Found:
    return _superscript_swapped(doc, _T_AS_LETTER)


def _replaced(doc: Doc, i: int, new: str) -> tuple[int, int, str]:
    """Token ``i`` replaced by ``new``, as an edit of the atom it is in."""
    tok = doc.toks[i]
    owner = doc.owner.get(i)
    start, stop = (doc.start(owner), doc.stop(owner)) if owner else (tok.start, tok.end)
    head, tail = doc.text[start:tok.start], doc.text[tok.end:stop]
    # a command name never runs on into a letter (r\\epsilon lu, \\mathbf a)
    if ENDS_IN_NAME.search(new) and tail[:1].isalpha():
        new += " "
    if ENDS_IN_NAME.search(head) and new[:1].isalpha():
        new = " " + new
    if i in doc.named and tok.kind == "cmd" and not ENDS_IN_NAME.search(new):
        tail = tail.lstrip()  # the space that ended the name goes too: softm\\alpha x
    return start, stop, head + new + tail


def _replace_token(doc: Doc, table: dict[str, tuple[str, ...]], *, names: bool = False
                   ) -> Found:
    """Each token of ``table`` read as each of its lookalikes (in ``\\operatorname{...}``
    and ``\\text{...}`` too if ``names``)."""
    for i, tok in enumerate(doc.toks):
        if (i in doc.named and not names) or tok.text not in table:
            continue
        for new in table[tok.text]:
            yield _replaced(doc, i, new)


def letter_confusion(doc: Doc) -> Found:
    return _replace_token(doc, LOOKALIKE, names=True)


def digit_confusion(doc: Doc) -> Found:
    return _replace_token(doc, DIGIT_LOOKALIKE)


def greek_confusion(doc: Doc) -> Found:
    # in a name too: OCR does not know that softm\alpha x was a word
    return _replace_token(doc, GREEK_LOOKALIKE, names=True)


def operator_confusion(doc: Doc) -> Found:
    return _replace_token(doc, OPERATOR_LOOKALIKE)


def repeated_letter(doc: Doc) -> Found:
    """A letter read twice (``aa_1`` for ``a_1``, ``\\operatorname{lsee}``): the second of
    two equal letters written together is dropped."""
    toks = doc.toks
    for i in range(1, len(toks)):
        a, b = toks[i - 1], toks[i]
        if a.kind == b.kind == "letter" and a.text == b.text and a.end == b.start:
            yield _replaced(doc, i, "")


def dropped_letter(doc: Doc) -> Found:
    """One of two equal letters written together read once (``X X`` read ``X``, ``ss``
    read ``s``): a letter is doubled, as a factor (``X X``) and within a name."""
    for i, tok in enumerate(doc.toks):
        owner = doc.owner.get(i)
        if tok.kind != "letter":
            continue
        if i in doc.named:
            yield _replaced(doc, i, tok.text + tok.text)
        elif owner is not None and owner.first == i and owner.base == "letter":
            yield _replaced(doc, i, f"{tok.text} {tok.text}")  # the scripts stay on the second
