"""Stage 0 of a document: where its display math and its declarations are.

A Markdown or LaTeX document is scanned once, left to right; nothing is
evaluated.  What comes out is data: the display-math blocks, each with its
offset in the document (so every message can name a line and column), and the
optional declarations block (symbols, conventions, assumptions, definitions
that the document cannot say in its equations).

Markdown: ``$$ ... $$``, ``\\[ ... \\]`` and the ``equation``/``align``/``gather``
environments (starred or not); fenced code blocks are skipped, except a block
fenced as ```` ```derivcheck ````, which holds the declarations as YAML, as does
a YAML front matter (``---`` lines at the very top) under a ``derivcheck:`` key.
LaTeX: the same math, ``%`` comments skipped; the declarations are comment
lines between ``% derivcheck`` and ``% end derivcheck``.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass

MARKDOWN_SUFFIXES = (".md", ".markdown")
LATEX_SUFFIXES = (".tex",)
NOTE_SUFFIXES = MARKDOWN_SUFFIXES + LATEX_SUFFIXES
MAX_BLOCKS = 2000
ENVIRONMENTS = ("equation", "align", "gather", "multline", "eqnarray", "displaymath", "math")
_ENV = re.compile(r"\\begin\{(" + "|".join(ENVIRONMENTS) + r")(\*?)\}")


@dataclass(frozen=True)
class Block:
    """One display-math block: its inside, where that inside starts, how it was fenced."""

    text: str
    offset: int  # of ``text`` in the document
    fence: str  # "$$", "\\[", or the environment name ("align*", ...)


@dataclass(frozen=True)
class Declarations:
    """The document's declarations block: YAML text and where it starts."""

    text: str
    offset: int  # of ``text`` in the document
    style: str  # "fenced", "front-matter" or "comment"


@dataclass(frozen=True)
class Document:
    """A scanned document: its text, its math blocks, its declarations (if any)."""

    path: str
    text: str
    kind: str  # "markdown" or "latex"
    blocks: tuple[Block, ...]
    declarations: Declarations | None
    unclosed: tuple[tuple[int, str], ...] = ()  # (offset, fence) opened and never closed

    def position(self, offset: int) -> tuple[int, int]:
        """1-based (line, column) of an offset in the document."""
        starts = _line_starts(self.text)
        k = bisect.bisect_right(starts, offset) - 1
        return k + 1, offset - starts[k] + 1

    def line_text(self, line: int) -> str:
        lines = self.text.splitlines()
        return lines[line - 1] if 0 < line <= len(lines) else ""


def _line_starts(text: str) -> list[int]:
    starts = [0]
    starts.extend(m.end() for m in re.finditer("\n", text))
    return starts


def kind_of(path: str) -> str | None:
    """"markdown", "latex", or None for a path that is not a document.

    By the suffix; a plain-text file (``.txt``, as OCR and LLM transcriptions come)
    is a document when its beginning looks like one (``sniff``), else it is read
    as a derivation file, whose loader says what is wrong with it.
    """
    low = path.lower()
    if low.endswith(MARKDOWN_SUFFIXES):
        return "markdown"
    if low.endswith(LATEX_SUFFIXES):
        return "latex"
    if low.endswith(TEXT_SUFFIXES):
        return sniff(_head(path))
    return None


TEXT_SUFFIXES = (".txt", ".text")
SNIFF_BYTES = 65536
_YAML_TOP_KEY = re.compile(r"(title|source|symbols|define|definitions|assumptions|"
                           r"conventions|loss|steps|rubric|items)\s*:")
_LATEX_DOCUMENT = re.compile(r"\\documentclass|\\begin\{document\}")
_DISPLAY_MATH = re.compile(r"\$\$|\\\[|\\begin\{(" + "|".join(ENVIRONMENTS) + r")\*?\}")


def sniff(head: str) -> str | None:
    """"latex" for a LaTeX document, "markdown" for other text with display math,
    None for what starts as a derivation file (its first line that is not blank or
    a ``#`` comment is a top-level key such as ``steps:``, perhaps after ``---``)
    or holds no display math.  A ``---`` line closed by another ``---`` is a
    Markdown front matter, not the start of a YAML file."""
    lines = [ln for ln in head.splitlines() if ln.strip() and not ln.startswith("#")]
    if lines and lines[0].rstrip() == "---":
        if not any(ln.rstrip() == "---" for ln in lines[1:]):
            return None  # a YAML document marker, never closed: a YAML file
    elif lines and _YAML_TOP_KEY.match(lines[0]):
        return None
    if _LATEX_DOCUMENT.search(head):
        return "latex"
    return "markdown" if _DISPLAY_MATH.search(head) else None


def _head(path: str) -> str:
    """The first ``SNIFF_BYTES`` of a regular file ("" for anything else: a FIFO or
    device is never opened here, the loader refuses it with its message)."""
    import os
    import stat

    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            return ""
        with open(path, "rb") as f:
            return f.read(SNIFF_BYTES).decode("utf-8", errors="replace")
    except OSError:
        return ""


def scan(text: str, path: str, kind: str) -> Document:
    """Find the display math and the declarations of a document."""
    text = text.replace("\r\n", "\n")
    skip = _fenced_code(text) if kind == "markdown" else _comments(text)
    declarations = _declarations(text, kind)
    blocks: list[Block] = []
    unclosed: list[tuple[int, str]] = []
    i = 0
    n = len(text)
    while i < n and len(blocks) < MAX_BLOCKS:
        hidden = _inside(skip, i)
        if hidden is not None:
            i = hidden
            continue
        if text.startswith("$$", i):
            end = text.find("$$", i + 2)
            if end < 0:
                unclosed.append((i, "$$"))
                break
            blocks.append(Block(text[i + 2:end], i + 2, "$$"))
            i = end + 2
            continue
        if text.startswith("\\[", i) and (i == 0 or text[i - 1] != "\\"):
            end = text.find("\\]", i + 2)
            if end < 0:
                unclosed.append((i, "\\["))
                break
            blocks.append(Block(text[i + 2:end], i + 2, "\\["))
            i = end + 2
            continue
        if text.startswith("\\begin{", i):
            m = _ENV.match(text, i)
            if m:
                name = m.group(1) + m.group(2)
                close = f"\\end{{{name}}}"
                end = text.find(close, m.end())
                if end < 0:
                    unclosed.append((i, name))
                    break
                blocks.append(Block(text[m.end():end], m.end(), name))
                i = end + len(close)
                continue
        i += 1
    return Document(path, text, kind, tuple(blocks), declarations, tuple(unclosed))


def _inside(spans: list[tuple[int, int]], i: int) -> int | None:
    """The end of the span holding offset ``i``, if any."""
    k = bisect.bisect_right(spans, (i, float("inf"))) - 1
    if k >= 0 and spans[k][0] <= i < spans[k][1]:
        return spans[k][1]
    return None


_FENCE = re.compile(r"^(\s*)(```+|~~~+)(.*)$", re.M)


def _fenced_code(text: str) -> list[tuple[int, int]]:
    """Markdown fenced code blocks (and inline code spans would not hold $$ math)."""
    spans = []
    opened: tuple[int, str] | None = None
    for m in _FENCE.finditer(text):
        if opened is None:
            opened = (m.start(), m.group(2))
        elif m.group(2).startswith(opened[1][0]) and len(m.group(2)) >= len(opened[1]) and \
                not m.group(3).strip():
            spans.append((opened[0], m.end()))
            opened = None
    if opened is not None:
        spans.append((opened[0], len(text)))
    return spans


def _comments(text: str) -> list[tuple[int, int]]:
    """LaTeX comments: from an unescaped ``%`` to the end of its line."""
    spans = []
    for m in re.finditer(r"(?<!\\)%[^\n]*", text):
        spans.append((m.start(), m.end()))
    return spans


_FRONT = re.compile(r"\A---[ \t]*\n(.*?\n)---[ \t]*(\n|\Z)", re.S)
_DERIVCHECK_FENCE = re.compile(r"^[ \t]*(```+|~~~+)[ \t]*derivcheck[ \t]*\n(.*?)^[ \t]*\1[ \t]*$",
                               re.S | re.M)
_TEX_BLOCK = re.compile(r"^[ \t]*%[ \t]*derivcheck[ \t]*\n(.*?)^[ \t]*%[ \t]*end derivcheck",
                        re.S | re.M)


def _declarations(text: str, kind: str) -> Declarations | None:
    if kind == "markdown":
        m = _DERIVCHECK_FENCE.search(text)
        if m:
            return Declarations(m.group(2), m.start(2), "fenced")
        m = _FRONT.match(text)
        if m and re.search(r"^derivcheck:", m.group(1), re.M):
            return Declarations(m.group(1), m.start(1), "front-matter")
        return None
    m = _TEX_BLOCK.search(text)
    if not m:
        return None
    # strip the comment signs but keep every character's column: '%' becomes ' '
    body = re.sub(r"^([ \t]*)%", lambda g: g.group(1) + " ", m.group(1), flags=re.M)
    return Declarations(body, m.start(1), "comment")
