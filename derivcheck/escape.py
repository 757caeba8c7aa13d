"""Text from input files made safe for each kind of output: one function per kind.

Names, ids, titles and expressions are kept as written everywhere derivcheck
stores them; they are escaped only where they are written out:

- ``term_text``: one line on a terminal (a log line, a progress bar, a test id);
- ``term_lines``: derivcheck's own multi-line text (line breaks kept) on a terminal;
- ``json_dumps``: JSON, one line, that no reader splits (U+2028, U+0085 escaped);
- ``csv_cell``: a spreadsheet cell that is never a formula;
- ``md_text`` / ``md_code`` / ``md_block``: Markdown that makes no link, image or HTML;
- ``escape_tex`` (in ``derivcheck.report.latex``): LaTeX text.

What is unsafe to show raw (``is_unsafe``): control characters (C0, DEL, C1 such
as U+009B, the one-byte CSI), format characters (bidi overrides and isolates,
U+200E/U+200F, U+061C, U+FEFF, ...) except the zero-width (non-)joiners that
Persian and Indic names need, line and paragraph separators (U+2028, U+2029) and
lone surrogates.  They are shown as ``\\uXXXX`` (``\\U0001XXXX``) escapes: visible,
and never acted on.
"""

from __future__ import annotations

import json
import re
import unicodedata
from typing import Any

_KEPT_FORMAT = frozenset("\u200c\u200d")  # ZWNJ, ZWJ: part of how some names are spelt


def is_unsafe(ch: str) -> bool:
    """True for a character a terminal, an editor or a viewer may act on or hide."""
    if ch in _KEPT_FORMAT:
        return False
    return unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp", "Cs")


def _escape(ch: str) -> str:
    code = ord(ch)
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"


def _visible(text: str, keep: str = "") -> str:
    return "".join(_escape(ch) if ch not in keep and is_unsafe(ch) else ch for ch in text)


def term_text(text: object) -> str:
    """One terminal line: every unsafe character (line breaks too) shown as an escape."""
    return _visible(str(text))


def term_lines(text: object) -> str:
    """Multi-line text for a terminal: line breaks and tabs kept, every other unsafe
    character shown as an escape (so no escape sequence, no bidi reordering, and no
    line break a terminal would show but ``splitlines`` would not)."""
    return _visible(str(text), keep="\n\t")


_JSON_UNSAFE = re.compile(r"[^\x00-\x7f]")


def json_dumps(obj: Any, **kwargs: Any) -> str:
    """``json.dumps`` (non-ASCII letters kept) with every unsafe character as a ``\\u``
    escape: the same data, but U+2028, U+0085, C1 controls and bidi overrides never
    reach a reader raw, and a JSON line is one line for every line splitter."""
    text = json.dumps(obj, ensure_ascii=False, **kwargs)

    def escape(m: re.Match[str]) -> str:
        ch = m.group(0)
        if not is_unsafe(ch):
            return ch
        return json.dumps(ch)[1:-1]  # \uXXXX, or a surrogate pair

    # outside strings JSON is ASCII: every non-ASCII character is inside a string
    return _JSON_UNSAFE.sub(escape, text)


# -- CSV --------------------------------------------------------------------------------
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n", "|", "%")


def csv_cell(value: object) -> str:
    """A cell a spreadsheet shows as text, on one line: a formula starter is neutralised
    with a quote, line breaks become spaces, other unsafe characters escapes."""
    text = "" if value is None else str(value)
    text = re.sub(r"[\r\n\u2028\u2029\x85]", " ", text)
    text = _visible(text, keep="\t")
    if text.startswith(_FORMULA_START):
        return "'" + text
    return text


# -- Markdown -----------------------------------------------------------------------------
# What can start markup inline: emphasis, code, links and images, tables, strike,
# escapes; an underscore only at a word edge (inside a word it is plain text).
_MD_SPECIAL = re.compile(r"([\\`*\[\]|~]|(?<![A-Za-z0-9])_|_(?![A-Za-z0-9]))")
# What GitHub-flavoured Markdown turns into a link by itself (extended autolinks)
_BARE_LINK = re.compile(r"(?i)\b(?:(?:https?|ftp|mailto|xmpp):\S*"
                        r"|www\.\S+|[\w.+-]+@[\w-]+(?:\.[\w-]+)+)")


def md_text(text: object) -> str:
    """Inline text from a submission: Markdown markup escaped, HTML made inert, a bare
    URL or e-mail address as a code span (never a link), unsafe characters as escapes."""
    text = re.sub(r"\s+", " ", str(text))
    out: list[str] = []
    last = 0
    for m in _BARE_LINK.finditer(text):
        out.append(_md_plain(text[last:m.start()]))
        out.append(md_code(m.group(0)))
        last = m.end()
    out.append(_md_plain(text[last:]))
    joined = "".join(out)
    if joined.lstrip().startswith(("#", "-", "+", "=", ">")):
        joined = "\\" + joined  # would start a heading, a list or a quote
    return re.sub(r"^(\d+)([.)])", r"\1\\\2", joined)  # an ordered list


def _md_plain(text: str) -> str:
    text = _visible(text)
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _MD_SPECIAL.sub(r"\\\1", text)


def md_code(text: object) -> str:
    """An inline code span that no backtick in ``text`` can close."""
    text = _visible(" ".join(str(text).split()))
    run = max((len(m) for m in re.findall(r"`+", text)), default=0)
    fence = "`" * (run + 1)
    pad = " " if text.startswith("`") or text.endswith("`") or not text else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def md_block(text: object) -> str:
    """A fenced block of derivcheck's multi-line text (an error with its caret line)."""
    text = _visible(str(text), keep="\n\t")
    run = max((len(m) for m in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, run + 1)
    return f"{fence}text\n{text}\n{fence}"
