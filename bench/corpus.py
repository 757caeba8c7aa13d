"""The labelled benchmark corpus: every claim of bench/corpus/*.yaml as one record.

Only derivcheck's *reader* is used here (YAML and expression syntax -> tree);
the labels come from the files' ``expect:`` and the mistake from the note
("mistake: <code>; ...").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from derivcheck.ir import E
from derivcheck.load import load_file
from derivcheck.model import Derivation, Step

CORPUS = Path(__file__).resolve().parent / "corpus"
HOLDS = ("holds", "proved", "checked")
_MISTAKE = re.compile(r"mistake:\s*([a-z-]+)")


@dataclass(frozen=True)
class Claim:
    """One labelled equation ``lhs = rhs`` (a claim, or one link of a chain)."""

    file: str  # file name in bench/corpus/
    id: str  # step id, with ``#k`` for link k of a chain
    lhs: E
    rhs: E
    text: str
    layout: str
    label: str  # the expect: value
    mistake: str | None  # the corpus's "mistake: <code>", for false claims
    latex_lhs: str | None
    latex_rhs: str | None
    derivation: Derivation
    step: Step
    link: int

    @property
    def true(self) -> bool:
        return self.label in HOLDS

    @property
    def key(self) -> str:
        return f"{self.file}:{self.id}"

    @property
    def has_derivative(self) -> bool:
        return any(n.op == "d" for side in (self.lhs, self.rhs) for n in side.walk())


def load_corpus(folder: Path = CORPUS) -> list[Claim]:
    """Every labelled equation of every file in ``folder``, in file order."""
    claims: list[Claim] = []
    for path in sorted(folder.glob("*.yaml")):
        derivation = load_file(path)
        for step in derivation.steps:
            expect = step.expect or ("holds",) * step.n_links
            for k in range(step.n_links):
                latex = step.latex if step.latex and len(step.latex) == len(step.exprs) else None
                m = _MISTAKE.search(step.note or "")
                cid = step.id if step.n_links == 1 else f"{step.id}#{k + 1}"
                claims.append(Claim(
                    file=path.name, id=cid, lhs=step.exprs[k].node, rhs=step.exprs[k + 1].node,
                    text=f"{step.exprs[k].text} = {step.exprs[k + 1].text}",
                    layout=step.layout, label=expect[k],
                    mistake=m.group(1) if m and expect[k] not in HOLDS else None,
                    latex_lhs=latex[k].latex if latex else None,
                    latex_rhs=latex[k + 1].latex if latex else None,
                    derivation=derivation, step=step, link=k))
    return claims
