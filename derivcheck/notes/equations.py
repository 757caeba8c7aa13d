"""Stage 1 of a document: display-math blocks -> equations (chains of expressions).

What is cut, and how:

* rows of ``align``/``aligned``/``split``/``gather`` at ``\\\\``; ``&`` dropped;
  a row (or a whole block) that begins with a relation continues the chain
  before it (``&= ...`` lines, a ``$$= ...$$`` block after an equation);
* ``=``, ``\\Leftrightarrow`` / ``\\iff`` between expressions, ``\\stackrel{c}{=}``;
  ``\\Leftrightarrow`` / ``\\iff`` between two equations, top-level commas and
  ``\\quad`` between equations, separate them;
* a leading ``\\Rightarrow``/``\\implies`` (a conclusion) is dropped;
* equation numbers (``\\tag{..}``, ``(1) \\quad``, ``\\quad (2)``), ``\\label``,
  ``\\nonumber`` and trailing punctuation are dropped;
* ``\\begin{cases}`` and a condition after an equation (``..., z \\geq 0``,
  ``\\stackrel{z \\geq 0}{=}``) are rewritten with indicators that the LaTeX
  reader understands (``conditions.py``); what cannot be is left unread.

Nothing is lost silently: a piece of math that is not an equation (an
inequality, a list of expressions, a row without a relation) comes out as an
``Unread`` with the reason.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from derivcheck.notes.conditions import EQUALS, ConditionError, guard, rewrite_cases
from derivcheck.notes.document import Block
from derivcheck.notes.source import Src, tokens

MAX_ROW_CHARS = 20_000
INEQUALITIES = ("<", ">", "\\leq", "\\geq", "\\le", "\\ge", "\\neq", "\\ne", "\\approx",
                "\\sim", "\\propto", "\\to", "\\rightarrow", "\\mapsto", "\\in", "\\subset")
CONCLUSIONS = ("\\Rightarrow", "\\implies", "\\Longrightarrow", "\\therefore")
SPACES = ("\\,", "\\;", "\\:", "\\!", "\\ ", "~", "\\displaystyle", "\\textstyle")
SEPARATORS = ("\\quad", "\\qquad")
INNER_ENVS = ("aligned", "alignedat", "split", "gathered", "array")


@dataclass(frozen=True)
class Equation:
    """A chain ``e0 = e1 = ...`` as written, with where each expression came from."""

    pieces: tuple[Src, ...]
    notes: tuple[str, ...] = ()  # how it was read (a condition kept, a case rewritten)

    @property
    def offset(self) -> int:
        return self.pieces[0].offset()


@dataclass(frozen=True)
class Unread:
    """Math that is not read as an equation, and why."""

    src: Src
    reason: str

    @property
    def offset(self) -> int:
        return self.src.offset()


Item = Equation | Unread


def split_items(blocks: tuple[Block, ...]) -> tuple[Item, ...]:
    """Every block's equations and unread pieces, in document order."""
    items: list[Item] = []
    for block in blocks:
        src = Src.at(block.text, block.offset)
        for row in _rows(_clean(src)):
            _read_row(row, items)
    return tuple(items)


def _clean(src: Src) -> Src:
    """Drop labels, tags, equation numbers and spacing; unwrap an inner aligned."""
    for pattern in (r"\\label\s*\{[^{}]*\}", r"\\tag\*?\s*\{[^{}]*\}", r"\\nonumber\b",
                    r"\\notag\b"):
        src = _sub(src, pattern, " ")
    # a definition written with := (or \coloneqq, \triangleq, \equiv) is an equation
    src = _sub(src, r":=|\\coloneqq(?![A-Za-z])|\\triangleq(?![A-Za-z])|\\equiv(?![A-Za-z])|"
                    r"\\stackrel\s*\{\s*\\(?:text|mathrm)\s*\{\s*def\s*\}\s*\}\s*\{=\}", "=")
    spans = [(a, b) for a, b, tok, _ in tokens(src.text) if tok in SPACES]
    for a, b in reversed(spans):
        src = src.replace_span(a, b, " ")
    src = _sub(src, r"\\(begin|end)\s*\{(" + "|".join(INNER_ENVS) + r")\*?\}(\{[^{}]*\})?", " ")
    return src


def _sub(src: Src, pattern: str, new: str) -> Src:
    while True:
        m = re.search(pattern, src.text)
        if not m:
            return src
        src = src.replace_span(m.start(), m.end(), new)


def _rows(src: Src) -> list[Src]:
    rows = []
    start = 0
    for a, b, tok, depth in tokens(src.text):
        if depth == 0 and tok == "\\\\":
            rows.append(src[start:a])
            start = b
    rows.append(src[start:])
    return [r for r in (row.strip() for row in rows) if r.text]


_NUMBER_END = re.compile(r"(\\q?quad\s*)?\(\s*\d+\s*\)\s*$")
_NUMBER_START = re.compile(r"^\(\s*\d+\s*\)\s*(\\q?quad)?")


def _strip_numbers(row: Src) -> Src:
    m = _NUMBER_END.search(row.text)
    if m and (m.group(1) or _ends_after_relation_side(row.text[:m.start()])):
        row = row[:m.start()].strip()
    m = _NUMBER_START.match(row.text)
    if m and m.group(1):
        row = row[m.end():].strip()
    while row.text and row.text[-1] in ".,;":
        row = row[:-1].strip()
    return row


def _ends_after_relation_side(text: str) -> bool:
    # "a = b (1)" with no \quad: an equation number only when spaced away from b
    return text.endswith((" ", "}"))


def _read_row(row: Src, items: list[Item]) -> None:
    row = _strip_numbers(row)
    if not row.text:
        return
    if len(row.text) > MAX_ROW_CHARS:
        items.append(Unread(row[:80], f"a row of {len(row.text)} characters is too long "
                            f"to read (limit {MAX_ROW_CHARS})"))
        return
    row = _drop_ampersands(row)
    segments = _segments(row)
    for k, segment in enumerate(segments):
        last = items[-1] if items else None
        if k and isinstance(last, Equation) and _INDEX_CONDITION.fullmatch(segment.text) and \
                _subscript_of(last, segment.text):
            # "a_i = b_i, \quad i = 1": the value the equation is claimed for
            items.pop()
            prev = last
            notes: list[str] = list(prev.notes)
            try:
                pieces = tuple(guard(p, segment, notes) for p in prev.pieces)
            except ConditionError as exc:
                items.append(Unread(segment, str(exc)))
                continue
            items.append(Equation(pieces, tuple(dict.fromkeys(notes))))
            continue
        _read_segment(segment, items)


def _subscript_of(eq: Equation, condition: str) -> bool:
    """Is the index a condition ``i = 1`` is about a subscript of the equation?"""
    letter = re.sub(r"\\text\s*\{[^{}]*\}", "", condition).strip()[0]
    return any(re.search(r"_(\{[^{}]*" + letter + r"[^{}]*\}|" + letter + r"(?![A-Za-z]))",
                         p.text) for p in eq.pieces)


_INDEX_CONDITION = re.compile(r"(\text\s*\{\s*(for|if)\s*\}\s*)?[a-z]\s*(=|\\neq)\s*([a-z]|\d+)")


def _drop_ampersands(row: Src) -> Src:
    spans = [(a, b) for a, b, tok, depth in tokens(row.text) if depth == 0 and tok == "&"]
    for a, b in reversed(spans):
        row = row.replace_span(a, b, " ")
    return row.strip()


def _segments(row: Src) -> list[Src]:
    """Cut a row at top-level commas, ``\\quad`` and ``\\iff`` that separate equations
    (each side holding a relation); a cut that would leave a side without one is not
    made, so ``f(a, b)`` and ``a, b = ...`` stay whole."""
    toks = tokens(row.text)
    cuts = [(a, b) for a, b, tok, depth in toks
            if depth == 0 and (tok in (",", ";") or tok in SEPARATORS
                               or tok in ("\\iff", "\\Leftrightarrow", "\\Longleftrightarrow"))]
    if not cuts:
        return [row]
    pieces: list[Src] = []
    start = 0
    for a, b in cuts:
        left = row[start:a]
        if _has_relation(left.text) and _has_equals(row.text[b:]):
            pieces.append(left.strip())
            start = b
    pieces.append(row[start:].strip())
    out = []
    for p in pieces:
        m = re.match(r"(\\q?quad\b\s*)+", p.text)
        if m:
            p = p[m.end():].strip()
        if p.text:
            out.append(p)
    return out


def _has_relation(text: str) -> bool:
    return any(depth == 0 and (tok in EQUALS or tok in INEQUALITIES or _stacked(tok))
               for _, _, tok, depth in tokens(text))


def _has_equals(text: str) -> bool:
    return any(depth == 0 and (tok in EQUALS or _stacked(tok)) for _, _, tok, depth in tokens(text))


def _stacked(tok: str) -> bool:
    return tok in ("\\stackrel", "\\overset")


def _read_segment(seg: Src, items: list[Item]) -> None:
    toks = tokens(seg.text)
    lead = next(((a, b, tok) for a, b, tok, d in toks), None)
    if lead is not None and lead[2] in CONCLUSIONS:
        seg = seg[lead[1]:].strip()
        toks = tokens(seg.text)
    pieces: list[Src] = []
    notes: list[str] = []
    conditions: list[tuple[Src, str]] = []  # (condition, the link it applies to: "" all)
    start = 0
    k = 0
    while k < len(toks):
        a, b, tok, depth = toks[k]
        if depth != 0:
            k += 1
            continue
        if tok in EQUALS:
            pieces.append(seg[start:a].strip())
            start = b
        elif _stacked(tok) and k + 1 < len(toks):
            cond_end = _group_end(toks, k + 1)
            eq_end = _group_end(toks, cond_end + 1) if cond_end + 1 < len(toks) else -1
            if eq_end < 0 or seg.text[toks[cond_end + 1][1]:toks[eq_end][0]].strip() != "=":
                items.append(Unread(seg, f"{tok}{{...}}{{...}} is read only over '='"))
                return
            cond = seg[toks[k + 1][1]:toks[cond_end][0]].strip()
            pieces.append(seg[start:a].strip())
            conditions.append((cond, str(len(pieces) - 1)))
            start = toks[eq_end][1]
            k = eq_end
        elif tok in INEQUALITIES:
            items.append(Unread(seg, f"not an equation ({tok} is not '=')"))
            return
        elif tok == ",":
            rest = seg[b:].strip()
            if not pieces:
                items.append(Unread(seg, "not an equation (a list of expressions)"))
                return
            if not any(d == 0 and t in INEQUALITIES + EQUALS for _, _, t, d in tokens(rest.text)):
                items.append(Unread(seg, "what follows the ',' is not a condition "
                                    "(such as z \\geq 0 or i = k)"))
                return
            # "a = b, z \geq 0": the condition the equation is claimed under
            pieces.append(seg[start:a].strip())
            conditions.append((rest, ""))
            start = -1  # the rest was the condition
            break
        k += 1
    if start >= 0 and (start < len(seg.text) or pieces):
        pieces.append(seg[start:].strip())
    if any(not p.text for p in pieces):
        if not pieces[0].text:
            # "= ..." continues the chain before it
            _continue(pieces, items, seg, conditions, notes)
            return
        items.append(Unread(seg, "an empty side of '='"))
        return
    if len(pieces) < 2:
        items.append(Unread(seg, "no '=' (a formula, not an equation)"))
        return
    _finish(pieces, conditions, notes, seg, items)


def _group_end(toks: list[tuple[int, int, str, int]], k: int) -> int:
    """Index of the token closing the brace group opened at ``toks[k]``."""
    if toks[k][2] != "{":
        return k
    depth = toks[k][3]
    for j in range(k + 1, len(toks)):
        if toks[j][2] == "}" and toks[j][3] == depth:
            return j
    return len(toks) - 1


def _continue(pieces: list[Src], items: list[Item], seg: Src,
              conditions: list[tuple[Src, str]], notes: list[str]) -> None:
    prev = items[-1] if items else None
    if isinstance(prev, Unread) and not pieces[0].text:
        items.append(Unread(seg, "continues an equation above that was not read"))
        return
    if not isinstance(prev, Equation) or pieces[0].text:
        items.append(Unread(seg, "begins with '=' with no equation before it to continue"))
        return
    rest = pieces[1:]
    if any(not p.text for p in rest):
        items.append(Unread(seg, "an empty side of '='"))
        return
    shifted = [(c, str(int(link) + len(prev.pieces) - 1) if link else "") for c, link in
               conditions]
    items.pop()
    _finish(list(prev.pieces) + rest, shifted, list(prev.notes) + notes, seg, items)


def _finish(pieces: list[Src], conditions: list[tuple[Src, str]], notes: list[str], seg: Src,
            items: list[Item]) -> None:
    """The chain, with its cases rewritten; a condition on the whole chain guards every
    expression, a condition on one link (``\\stackrel``) cuts the chain there and
    guards that link alone."""
    try:
        out = [form for p in pieces for form in rewrite_cases(p, notes)]
        whole = [c for c, link in conditions if not link]
        for cond in whole:
            out = [guard(p, cond, notes) for p in out]
        cut = sorted({int(link) for c, link in conditions if link})
        if not cut:
            items.append(Equation(tuple(out), tuple(dict.fromkeys(notes))))
            return
        start = 0
        for j in cut:
            if j > start:
                items.append(Equation(tuple(out[start:j + 1]), tuple(dict.fromkeys(notes))))
            lhs, rhs = out[j], out[j + 1]
            for cond, link in conditions:
                if link == str(j):
                    lhs, rhs = guard(lhs, cond, notes), guard(rhs, cond, notes)
            items.append(Equation((lhs, rhs), tuple(dict.fromkeys(notes))))
            start = j + 1
        if start < len(out) - 1:
            items.append(Equation(tuple(out[start:]), tuple(dict.fromkeys(notes))))
    except ConditionError as exc:
        items.append(Unread(seg, str(exc)))
