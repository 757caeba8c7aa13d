"""Input errors: a mistake in how a file is written, kept apart from verdicts.

Every error carries where it happened and what to do about it; ``format``
is the one place that turns it into text (with the source line and a caret).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class InputError(Exception):
    """A file could not be read as a derivation.

    ``line`` and ``col`` are 1-based; 0 means unknown.  ``source_line`` is the
    line of the file the caret points into.
    """

    message: str
    path: str = "<input>"
    line: int = 0
    col: int = 0
    hint: str = ""
    source_line: str = ""
    context: str = ""  # e.g. "step dL_dW1"

    def __post_init__(self) -> None:
        Exception.__init__(self, self.message)

    def format(self) -> str:
        where = self.path
        if self.line:
            where += f":{self.line}"
            if self.col:
                where += f":{self.col}"
        head = f"{where}: "
        if self.context:
            head += f"{self.context}: "
        text = head + self.message
        if self.source_line:
            text += "\n    " + self.source_line.rstrip("\n")
            if self.col:
                text += "\n    " + " " * (self.col - 1) + "^"
        if self.hint:
            text += "\n  hint: " + self.hint
        return text

    def __str__(self) -> str:
        return self.format()


@dataclass
class ExprError(Exception):
    """An error inside one expression string; ``offset`` is 0-based in the string.

    The loader turns it into an ``InputError`` with the file position.
    """

    message: str
    offset: int = 0
    hint: str = ""

    def __post_init__(self) -> None:
        Exception.__init__(self, self.message)


class Unsupported(Exception):
    """A well-formed construct the engine cannot decide (gives ``undecided``)."""


class ShapeError(Exception):
    """Shapes do not fit; carries the offending sub-expression and the shapes."""

    def __init__(self, message: str, *, where: str = "", shapes: tuple = ()) -> None:
        super().__init__(message)
        self.message = message
        self.where = where
        self.shapes = shapes


class IndexAsNumber(ShapeError):
    """An index used as a number (``Sum(k, k)``): not a shape mistake of the claim but
    a construct derivcheck does not evaluate (the decide stage makes the step
    undecided, ``unsupported``); a ``ShapeError`` for every other caller."""
