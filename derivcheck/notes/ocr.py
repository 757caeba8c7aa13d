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
only).  The tokens and structure are ``ocr_text.py``'s, the generator of each
confusion ``ocr_edits.py``'s (of the glyph confusions, ``ocr_glyphs.py``'s).  Nothing
here knows what an expression means: a variant may not read, or not hold; the caller
decides (``notes/transcribe.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import islice

from derivcheck.notes.ocr_edits import GENERATORS
from derivcheck.notes.ocr_text import ENDS_IN_NAME, Doc, braces

__all__ = ["CONFUSIONS", "Confusion", "Edit", "single_edits"]

MAX_TEXT = 4000  # longer texts get no edits (the LaTeX reader refuses them anyway)


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
    Confusion("transpose-as-letter", 0.65, ("W^I x", "W^T x")),
    Confusion("sign-confusion", 0.60, ("s + y", "s - y")),
    Confusion("letter-confusion", 0.60, ("x_l", "x_1")),
    Confusion("digit-confusion", 0.50, ("x^3", "x^5")),
    Confusion("lost-superscript", 0.55, ("W x", "W^T x")),
    Confusion("lost-subscript", 0.55, ("a - y_j", "a_j - y_j")),
    # a subscript flattened onto the line, with no space: Bj for B_j, hij for h_{ij}
    Confusion("inline-subscript", 0.50, ("V_{kj} Bj", "V_{kj} B_j")),
    Confusion("lost-prime", 0.50, ("\\sigma(z)", "\\sigma'(z)")),
    Confusion("script-level", 0.45, ("x^2", "x_2")),
    Confusion("lost-operator", 0.45, ("a b", "a \\odot b")),
    Confusion("swapped-subscripts", 0.40, ("V_{kj}", "V_{jk}")),
    Confusion("operator-confusion", 0.40, ("a \\cdot b", "a \\odot b")),
    Confusion("dropped-bracket", 0.40, ("a b + c", "a (b + c)")),
    Confusion("lost-accent", 0.40, ("y - \\hat{y}", "\\hat{y} - \\hat{y}")),
    Confusion("repeated-letter", 0.35, ("aa_1", "a_1")),
    Confusion("sqrt-for-reciprocal", 0.35, ("\\sqrt{a_j}", "1/a_j")),
    Confusion("misplaced-bracket", 0.35, ("(a + b) c", "(a + b c)")),
    Confusion("lost-fraction-bar", 0.30, ("a b", "\\frac{a}{b}")),
    Confusion("greek-confusion", 0.30, ("a x", "\\alpha x")),
    Confusion("extra-minus", 0.30, ("-a", "a")),
    Confusion("stray-bracket", 0.30, ("(a + b", "a + b")),
    Confusion("fraction-bar-as-minus", 0.25, ("a - b", "\\frac{a}{b}")),
    Confusion("extra-subscript", 0.25, ("x_i^T w", "x^T w")),
    Confusion("extra-superscript", 0.25, ("W^T x", "W x")),
    Confusion("extra-prime", 0.25, ("f'(x)", "f(x)")),
    Confusion("dropped-letter", 0.20, ("X", "X X")),
    Confusion("extra-accent", 0.20, ("\\hat{x}", "x")),
)}


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
    doc = Doc(latex, vocabulary[:MAX_TEXT])
    found: dict[str, Edit] = {}
    priors = sorted({c.prior for c in CONFUSIONS.values()}, reverse=True)
    for prior in priors:
        for conf in CONFUSIONS.values():
            if conf.prior != prior:
                continue
            for start, end, reading in islice(GENERATORS[conf.code](doc), limit):
                edit = _edit(doc, conf, start, end, reading)
                if edit is not None:
                    old = found.get(edit.latex)
                    if old is None or _rank(edit) < _rank(old):
                        found[edit.latex] = edit
        if len(found) >= limit:
            break
    return tuple(sorted(found.values(), key=_rank)[:limit])


def _rank(edit: Edit) -> tuple:
    return (-edit.prior, edit.changed, edit.start, edit.end, edit.code, edit.reading)


def _edit(doc: Doc, conf: Confusion, start: int, end: int, reading: str) -> Edit | None:
    """The edit replacing ``doc.text[start:end]`` by ``reading`` (None if it changes
    nothing or the balance of braces)."""
    text = doc.text
    written = text[start:end]
    if written == reading or braces(written) != braces(reading):
        return None
    head, tail = text[:start], text[end:]
    # a command name never runs on into a letter (\\alpha b, not \\alphab)
    if ENDS_IN_NAME.search(head[-40:]) and (reading or tail)[:1].isalpha():
        reading = " " + reading
    if ENDS_IN_NAME.search((head[-40:] + reading)[-40:]) and tail[:1].isalpha():
        reading += " "
    return Edit(conf.code, start, end, written, reading, head + reading + tail, conf.prior)


assert set(GENERATORS) == set(CONFUSIONS)
