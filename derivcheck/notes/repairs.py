"""Transcription errors told apart from mathematical ones, on a whole document.

After a document's steps are decided, every link that is refuted or ill-formed,
and every equation that could not be read, is tried against the one-edit repairs
of ``transcribe.repair_link``.  A repair that makes it hold is reported beside the
verdict, as the diagnosis ``transcription-error`` (or after the reason an equation
was not read): "probable transcription error: reading `-1/a_j` for `-\\sqrt{a_j}`
makes it hold".  The verdict stays the verdict of what is written; a link no edit
explains keeps its mathematical diagnosis alone.
"""

from __future__ import annotations

import time
from dataclasses import replace

from derivcheck.codes import diagnosis
from derivcheck.decide.options import Options
from derivcheck.model import Derivation
from derivcheck.notes.build import Entry
from derivcheck.notes.transcribe import Repair, repair_link
from derivcheck.results import StepResult, Verdict

DOCUMENT_SECONDS = 120.0  # repairs tried on one document, all links together
LINK_SECONDS = 10.0


def with_repairs(derivation: Derivation, steps: tuple[StepResult, ...],
                 unread: tuple[Entry, ...], options: Options
                 ) -> tuple[tuple[StepResult, ...], tuple[Entry, ...]]:
    """``steps`` with a ``transcription-error`` diagnosis on each failing link that one
    edit repairs, and ``unread`` with the repairs that make an equation read and hold."""
    deadline = time.monotonic() + DOCUMENT_SECONDS
    by_id = {s.id: s for s in derivation.steps}
    out_steps = []
    for result in steps:
        step = by_id.get(result.id)
        if step is None or step.latex is None or result.verdict.holds:
            out_steps.append(result)
            continue
        links = list(result.links)
        for k, link in enumerate(links):
            if link.verdict not in (Verdict.REFUTED, Verdict.ILL_FORMED):
                continue
            left = deadline - time.monotonic()
            if left <= 0:
                break
            found = repair_link(derivation, step.latex[k].latex, step.latex[k + 1].latex,
                                options=options, layout=step.layout,
                                time_budget=min(LINK_SECONDS, left))
            if found:
                links[k] = replace(link, diagnoses=link.diagnoses + (_diagnosis(found),))
        out_steps.append(replace(result, links=tuple(links)))
    out_unread = []
    for entry in unread:
        if entry.kind != "unread" or len(entry.pieces) < 2 or entry.name.startswith("definition"):
            out_unread.append(entry)
            continue
        notes = []
        for k in range(len(entry.pieces) - 1):
            left = deadline - time.monotonic()
            if left <= 0:
                break
            found = repair_link(derivation, entry.pieces[k], entry.pieces[k + 1],
                                options=options, time_budget=min(LINK_SECONDS, left))
            if found:
                where = f"link {k + 1}: " if len(entry.pieces) > 2 else ""
                notes.append(where + _diagnosis(found).message)
        if notes:
            entry = replace(entry, reason=entry.reason + "\n" + "\n".join(notes))
        out_unread.append(entry)
    return tuple(out_steps), tuple(out_unread)


def _diagnosis(found: tuple[Repair, ...]):  # type: ignore[no-untyped-def]
    best = found[0]
    others = "; ".join(f"`{r.edit.reading}` for `{r.edit.written}`" for r in found[1:])
    return diagnosis("transcription-error", confusion=best.code, reading=best.edit.reading,
                     written=best.edit.written, verdict=best.verdict.value,
                     repaired=best.latex, also=f"; other readings that hold: {others}"
                     if others else "")
