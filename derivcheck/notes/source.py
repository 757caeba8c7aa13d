"""Text that remembers where each of its characters came from in the document.

Every rewrite of a display-math block (cutting rows, dropping ``&`` and tags,
rewriting ``cases``) is done on ``Src`` values, so a message about any
character of what is finally read can name its line and column in the
document.  Inserted characters take the position of the text they replace.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Src:
    """A string and, for each character, its offset in the document."""

    text: str
    origin: tuple[int, ...]

    @classmethod
    def at(cls, text: str, offset: int) -> Src:
        return cls(text, tuple(range(offset, offset + len(text))))

    @classmethod
    def join(cls, parts: list[Src | str], anchor: int) -> Src:
        """Concatenate; plain strings are inserted text, placed at the last position seen."""
        text: list[str] = []
        origin: list[int] = []
        last = anchor
        for p in parts:
            if isinstance(p, Src):
                text.append(p.text)
                origin.extend(p.origin)
                if p.origin:
                    last = p.origin[-1]
            else:
                text.append(p)
                origin.extend([last] * len(p))
        return cls("".join(text), tuple(origin))

    def __len__(self) -> int:
        return len(self.text)

    def __getitem__(self, key: slice) -> Src:
        return Src(self.text[key], self.origin[key])

    def offset(self, k: int = 0) -> int:
        """The document offset of character ``k`` (the end of the text past its last)."""
        if not self.origin:
            return 0
        if k >= len(self.origin):
            return self.origin[-1] + 1
        return self.origin[max(k, 0)]

    def strip(self) -> Src:
        a, b = 0, len(self.text)
        while a < b and self.text[a].isspace():
            a += 1
        while b > a and self.text[b - 1].isspace():
            b -= 1
        return self[a:b]

    def replace_span(self, start: int, end: int, new: str | Src) -> Src:
        anchor = self.offset(start)
        return Src.join([self[:start], new, self[end:]], anchor)


_CMD = re.compile(r"\\([A-Za-z]+|.)")


def tokens(text: str) -> list[tuple[int, int, str, int]]:
    """(start, end, token, depth) of every token; depth counts braces, brackets,
    parentheses, ``\\left``/``\\right`` and environments around the token."""
    out = []
    depth = 0
    i = 0
    n = len(text)
    while i < n:
        ch = text[i]
        if ch == "\\":
            m = _CMD.match(text, i)
            assert m is not None
            tok = m.group(0)
            end = m.end()
            if tok in ("\\begin", "\\end"):
                env = re.match(r"\s*\{[^{}]*\}", text[end:])
                if env:
                    end += env.end()
                tok = text[i:end]
                if tok.startswith("\\end"):
                    depth -= 1
                out.append((i, end, tok, depth))
                if tok.startswith("\\begin"):
                    depth += 1
                i = end
                continue
            if tok in ("\\left", "\\right"):  # \left( ... \right): the delimiter goes with it
                k = end
                while k < n and text[k] == " ":
                    k += 1
                if text.startswith("\\", k):
                    dm = _CMD.match(text, k)
                    k = dm.end() if dm else k + 1
                else:
                    k += 1
                if tok == "\\right":
                    depth -= 1
                out.append((i, k, text[i:k], depth))
                if tok == "\\left":
                    depth += 1
                i = k
                continue
            out.append((i, end, tok, depth))
            i = end
            continue
        if ch in "{([":
            out.append((i, i + 1, ch, depth))
            depth += 1
        elif ch in "})]":
            depth -= 1
            out.append((i, i + 1, ch, depth))
        elif not ch.isspace():
            out.append((i, i + 1, ch, depth))
        i += 1
    return out
