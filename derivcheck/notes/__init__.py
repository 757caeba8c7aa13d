"""Reading derivations from documents (issue 15): Markdown and LaTeX notes.

``document`` finds the display math and the declarations block, ``equations``
cuts it into chains (``conditions`` rewrites cases and conditions), ``build``
writes the derivation file and reads it with the ordinary loader; ``load_notes``
is what ``derivcheck verify notes.md`` calls.  ``ocr`` (with ``ocr_text`` and
``ocr_edits``) lists typed transcription confusions and ``transcribe`` the one-edit
repairs that make a refuted or unreadable link hold: proposals, never the verdict
of what is written.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from derivcheck.errors import InputError
from derivcheck.model import Derivation, Step
from derivcheck.notes.document import NOTE_SUFFIXES, TEXT_SUFFIXES, kind_of

if TYPE_CHECKING:
    from derivcheck.notes.build import Entry, Extraction

__all__ = ["NOTE_SUFFIXES", "as_derivation", "is_document", "load_notes", "loose_names",
           "read_notes"]


def is_document(path: str | Path) -> bool:
    """Is ``path`` a Markdown or LaTeX document (by its suffix)?"""
    return kind_of(str(path)) is not None


def load_notes(path: str | Path) -> Derivation:
    """A document read as a derivation; its unread equations are ``step_errors``
    (``"line N"``, the reason) and its inferences and definitions ``warnings``.

    Raises:
        InputError: the file cannot be read, its declarations block is not valid,
            or no equation of it could be read as a step.
    """
    return as_derivation(read_notes(path))


def read_notes(path: str | Path, *, repairs: bool = True) -> Extraction:
    """A document read: the derivation, what became of every equation, the inferences.

    Raises:
        InputError: the file cannot be read or its declarations block is not valid.
    """
    from derivcheck.load import read_text
    from derivcheck.notes.build import read_document

    kind = kind_of(str(path))
    assert kind is not None
    found = read_document(read_text(path), str(path), kind, repairs=repairs)
    if found.error is not None:
        raise found.error
    return found


def unread_of(entries: tuple[Entry, ...]) -> tuple[tuple[str, str], ...]:
    """(``"line N"``, the reason) of each equation not read."""
    return tuple((f"line {e.line}" if e.line else "document", e.reason)
                 for e in entries if e.kind == "unread")


def _unplaced(message: str, path: str) -> str:
    """A message without its leading ``path:line:col:`` (the list says the line)."""
    prefix = f"{path}:"
    if message.startswith(prefix):
        rest = message[len(prefix):].split(":", 2)
        if len(rest) == 3 and rest[0].isdigit() and rest[1].isdigit():
            return rest[2].strip()
    return message


def loose_names(found: Extraction, step: Step) -> tuple[str, ...]:
    """The names a document's step relates its model to without saying what they are.

    A step that uses a defined name (it is about the document's model) and a name only
    inferred that no definition uses (``B_j [y_k - P_k]`` where the document never says
    what ``y`` is): it can hold for every value of such a name (a proof or a check is
    about all of them, the one meant included), but failing for some value says
    nothing about the value meant.  A step about inferred names only (algebra, no
    definition involved) has none.
    """
    d = found.derivation
    if d is None or not found.inferred_names or not d.definitions:
        return ()
    anchored = {str(n.val) for definition in d.definitions for n in definition.expr.walk()
                if n.op == "sym"}
    defined = {definition.name for definition in d.definitions}
    nodes = [n for expr in step.exprs for n in expr.node.walk()]
    if not any(n.op == "ref" and n.val in defined for n in nodes):
        return ()
    return tuple(sorted({str(n.val) for n in nodes if n.op == "sym"
                         and n.val in found.inferred_names and n.val not in anchored}))


def as_derivation(found: Extraction) -> Derivation:
    """The derivation of a document read (``read_notes``).

    Raises:
        InputError: no equation of it could be read as a step.
    """
    unread = unread_of(found.entries)
    if found.derivation is None:
        reasons = "; ".join(f"{where}: {_unplaced(why.splitlines()[0], found.path)}"
                            for where, why in unread[:5])
        repairs = [f"{where}: {line}" for where, why in unread for line in why.splitlines()
                   if line.startswith("probable transcription error")][:3]
        raise InputError("no equation could be read as a step" +
                         (f" ({reasons})" if reasons else ""), found.path,
                         hint="; ".join(repairs + [
                             "see 'derivcheck extract' for what was read; declare symbols "
                             "in a ```derivcheck block (docs/notes.md)"]))
    defined = tuple(f"defined: {d.name} = {d.text} (line {d.loc.line})"
                    for d in found.derivation.definitions if d.loc is not None and d.loc.line)
    read_as: tuple[str, ...] = ()
    if str(found.path).lower().endswith(TEXT_SUFFIXES):
        read_as = (f"read as a {'LaTeX' if found.kind == 'latex' else 'Markdown'} document "
                   "(a plain-text file with display math)",)
    return replace(found.derivation, step_errors=unread,
                   warnings=read_as + found.inferred + defined)
