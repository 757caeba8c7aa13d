"""The five source documents in their own notation: both encodings, the same verdicts."""

from __future__ import annotations

from pathlib import Path

import pytest

from derivcheck.decide import Options
from derivcheck.load import load_file
from derivcheck.verify import verify_derivation

from .conftest import DERIVATIONS

DOCUMENTS = sorted(DERIVATIONS.glob("00[0-9]_*.yaml"))


def test_there_are_five_documents() -> None:
    assert len(DOCUMENTS) == 5


@pytest.mark.parametrize("path", DOCUMENTS, ids=[p.name for p in DOCUMENTS])
def test_every_step_carries_its_latex(path: Path) -> None:
    d = load_file(path)
    missing = [s.id for s in d.steps if not s.latex]
    assert not missing, f"steps without latex: {missing}"


@pytest.mark.parametrize("path", DOCUMENTS, ids=[p.name for p in DOCUMENTS])
def test_both_encodings_get_the_same_verdicts(path: Path) -> None:
    d = load_file(path)
    syntax = verify_derivation(d, Options(symbolic=False))
    latex = verify_derivation(d, Options(symbolic=False, latex=True))
    for a, b in zip(syntax, latex, strict=True):
        assert [link.verdict for link in a.links] == [link.verdict for link in b.links], a.id
        assert a.codes == b.codes, a.id
        assert all(link.lhs_latex and link.rhs_latex for link in b.links), a.id
    assert all(step.matches_expected is not False for step in latex)
