"""Transcription errors apart from mathematics: which one-edit reading makes a link hold.

A link written in LaTeX that is refuted, ill-formed or unreadable may be a
transcription error (a lost minus, ``^T`` read as ``^7``) rather than a mathematical
one.  ``repair_link`` tries the single edits of either side (``notes/ocr.py``), most
probable first, reads each in the derivation's scope, screens it with a numeric check
and decides what passes with the normal decision procedure (``verify.decide_equation``
with the caller's options).  A repair is offered only if the repaired link is
``proved`` or ``checked`` there.

It only proposes: a repaired reading is never the verdict of what is written, which
stays whatever the engine found for it.  A mathematical error that no single edit
explains gets no repair.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass

from derivcheck.decide.options import Options
from derivcheck.decide.pipeline import rng_for
from derivcheck.engine import budget
from derivcheck.engine.core import Engine
from derivcheck.ir import E
from derivcheck.load import read_latex_in
from derivcheck.model import Derivation
from derivcheck.notes.ocr import Edit, single_edits
from derivcheck.parse.latex import LatexError, LatexNames
from derivcheck.printer import to_text_bounded
from derivcheck.results import Evidence, Verdict
from derivcheck.verify import decide_equation

__all__ = ["Repair", "repair_link"]

MAX_CANDIDATES = 300  # edits tried per link (both sides together), most probable first
TIME_BUDGET = 30.0  # seconds for one link, reading and deciding every candidate
SIDES = ("lhs", "rhs")
Reading = tuple[E, dict[str, str]]  # a side as read, and the summation indices it needs


@dataclass(frozen=True)
class Repair:
    """A reading one edit away from what is written under which the link holds.

    Attributes:
        edit: the edit (its ``latex`` is the repaired side).
        side: which side it edits, ``"lhs"`` or ``"rhs"``.
        lhs_latex, rhs_latex: the repaired link.
        verdict: the verdict of the repaired link (``proved`` or ``checked``), never
            that of the link as written.
        evidence: how that verdict was reached.
    """

    edit: Edit
    side: str
    lhs_latex: str
    rhs_latex: str
    verdict: Verdict
    evidence: Evidence

    @property
    def code(self) -> str:
        return self.edit.code

    @property
    def latex(self) -> str:
        """The repaired link, ``lhs = rhs``."""
        return f"{self.lhs_latex} = {self.rhs_latex}"

    @property
    def message(self) -> str:
        return (f"probable transcription error ({self.edit.code}): reading "
                f"`{self.edit.reading}` for `{self.edit.written}` makes it hold "
                f"({self.verdict.value})")


def repair_link(derivation: Derivation, lhs_latex: str, rhs_latex: str, *, options: Options,
                layout: str | None = None, top: int = 3, max_candidates: int = MAX_CANDIDATES,
                time_budget: float = TIME_BUDGET) -> tuple[Repair, ...]:
    """The single edits of ``lhs_latex = rhs_latex`` that make it hold, most probable first.

    Only a link that does not hold as written is repaired: refuted, ill-formed, or a
    side that cannot be read.  A link that holds, or is undecided, gets ``()``.

    Args:
        derivation: the scope (symbols, definitions, LaTeX names, conventions).
        lhs_latex, rhs_latex: the two sides as written.
        options: how the repaired links are decided (a cheaper numeric screen with
            the same seed comes first).
        layout: the link's layout (default: the derivation's).
        top: at most this many repairs.
        max_candidates: at most this many edits are read and screened.
        time_budget: seconds for the whole search; candidates not reached are
            not tried (never a verdict: the search is shorter).

    Returns:
        Repairs ranked by the confusion's prior, then fewer changed characters; no two
        give the same reading.  Never raises on bad input: what cannot be read or
        decided is skipped.
    """
    if not isinstance(lhs_latex, str) or not isinstance(rhs_latex, str) or top < 1:
        return ()
    layout = layout or derivation.conventions.layout
    search = _Search(derivation, layout, options, time_budget)
    if search.engine is None:
        return ()
    with budget.stage("transcription repair", time_budget):
        return search.run((lhs_latex, rhs_latex), top, max_candidates)


class _Search:
    def __init__(self, derivation: Derivation, layout: str, options: Options,
                 seconds: float) -> None:
        self.derivation = derivation
        self.layout = layout
        self.options = options
        self.screen = dataclasses.replace(options, symbolic=False, settings=3, points=5)
        self.deadline = time.monotonic() + seconds
        self.engines: dict[tuple, Engine | None] = {}
        self.engine = self.engine_for(dict(derivation.bound))

    def engine_for(self, bound: dict[str, str]) -> Engine | None:
        """An engine that knows the summation indices a reading inferred."""
        key = tuple(sorted(bound.items()))
        if key not in self.engines:
            try:
                d = self.derivation if bound == self.derivation.bound else \
                    dataclasses.replace(self.derivation, bound=bound)
                self.engines[key] = Engine(d)
            except Exception:  # an ill-shaped definition: nothing can be decided
                self.engines[key] = None
        return self.engines[key]

    def read(self, latex: str) -> Reading | None:
        try:
            return read_latex_in(self.derivation, latex, self.layout)
        except Exception:  # unreadable (LatexError), or refused in any other way
            return None

    def engine_of(self, lhs: Reading, rhs: Reading) -> Engine | None:
        """An engine that knows the summation indices both sides inferred (None if they
        gave one name two ranges: each side was read alone)."""
        bound = {**lhs[1], **rhs[1]}
        if any(bound[n] != r for n, r in lhs[1].items()):
            return None
        return self.engine_for(bound)

    def decide(self, lhs: Reading, rhs: Reading, options: Options,
               what: str) -> tuple[Verdict, Evidence] | None:
        engine = self.engine_of(lhs, rhs)
        if engine is None:
            return None
        rng = rng_for(options, self.derivation.path, "transcription", what)
        out, _ = decide_equation(engine, lhs[0], rhs[0], self.layout, options, rng,
                                 with_diagnosis=False)
        return out.verdict, out.evidence

    def run(self, written: tuple[str, str], top: int, limit: int) -> tuple[Repair, ...]:
        lhs, rhs = (self.read(side) for side in written)
        if lhs is not None and rhs is not None:
            decided = self.decide(lhs, rhs, self.options, " = ".join(written))
            if decided is None or decided[0] not in (Verdict.REFUTED, Verdict.ILL_FORMED):
                return ()  # it holds, or cannot be decided: nothing to repair
        seen = {_key(lhs, rhs)}
        found: list[Repair] = []
        for k, edit in _candidates(written, (lhs, rhs), limit, _names(self.derivation)):
            if len(found) >= top or time.monotonic() > self.deadline:
                break
            repaired = self.read(edit.latex)
            sides = (repaired, rhs) if k == 0 else (lhs, repaired)
            if sides[0] is None or sides[1] is None or _key(*sides) in seen:
                continue
            seen.add(_key(*sides))
            texts = (edit.latex, written[1]) if k == 0 else (written[0], edit.latex)
            what = " = ".join(texts)
            screened = self.decide(sides[0], sides[1], self.screen, what)
            if screened is None or screened[0] in (Verdict.REFUTED, Verdict.ILL_FORMED):
                continue  # the screen only rules out (undecided there may hold here)
            decided = self.decide(sides[0], sides[1], self.options, what)
            if decided is not None and decided[0].holds:
                found.append(Repair(edit, SIDES[k], texts[0], texts[1], *decided))
        return tuple(found)


def _key(a: Reading | None, b: Reading | None) -> tuple[str, str]:
    """What a link reads as, without the places it was read from."""
    return (to_text_bounded(a[0]) if a else "", to_text_bounded(b[0]) if b else "")


def _candidates(written: tuple[str, str], read: tuple[Reading | None, Reading | None],
                limit: int, names: str) -> list[tuple[int, Edit]]:
    """Edits of both sides, most probable first; a readable side is not edited while the
    other cannot be read (one edit cannot mend both).  A lost subscript, superscript or
    accent is restored from the other side, then from ``names``."""
    out: list[tuple[int, Edit]] = []
    for k in (0, 1):
        if read[1 - k] is None:
            continue
        out += [(k, e) for e in single_edits(written[k], limit=limit,
                                              vocabulary=f"{written[1 - k]} {names}")]
    out.sort(key=lambda ke: (-ke[1].prior, ke[1].changed, ke[0], ke[1].start))
    return out[:limit]


def _names(derivation: Derivation) -> str:
    """The LaTeX names of the derivation's symbols and definitions that carry a script or
    an accent (``W_{2}``, ``\\hat{y}``), as one text: what a lost mark may be restored from."""
    try:
        names = LatexNames.build([*derivation.symbols, *(d.name for d in derivation.definitions)],
                                 derivation.latex_names)
    except LatexError:
        return ""
    out = []
    for base, sub in names.table:
        if ":" in base:  # an accent: ("hat:y", "")
            accent, letter = base.split(":", 1)
            out.append(f"\\{accent}{{{letter}}}")
        elif sub and not sub.startswith("^"):
            out.append(f"{base}_{{{sub}}}")
    return " ".join(sorted(set(out)))
