"""The encoded documents in derivations/: they load, and every verdict is the one expected."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import pytest

from derivcheck.load import load_file
from derivcheck.results import FileResult, Verdict
from derivcheck.verify import verify_file
from tests.conftest import DERIVATIONS, FAST, SEEDS

FILES = sorted(DERIVATIONS.glob("*.yaml"))
SEED_FILES = [f for f in FILES if re.match(r"\d{3}_", f.name)]
STEPS = [(f, s.id) for f in FILES for s in load_file(f).steps]


@cache
def verified(path: Path) -> FileResult:
    """Each file is verified once for the whole session."""
    return verify_file(path, FAST)


def step_result(path: Path, step_id: str):
    return next(s for s in verified(path).steps if s.id == step_id)


def test_there_are_derivations() -> None:
    assert len(FILES) >= 5
    assert SEED_FILES


@pytest.mark.parametrize("path", FILES, ids=[f.name for f in FILES])
def test_file_loads(path: Path) -> None:
    derivation = load_file(path)
    assert derivation.title
    assert derivation.steps
    result = verified(path)
    assert result.error is None
    assert len(result.steps) == len(derivation.steps)


@pytest.mark.parametrize(("path", "step_id"), STEPS, ids=[f"{f.name}:{s}" for f, s in STEPS])
def test_step_matches_expect(path: Path, step_id: str) -> None:
    result = step_result(path, step_id)
    assert result.expected is not None, "every encoded step says what it expects"
    got = [link.verdict.value for link in result.links]
    assert result.matches_expected, f"expected {list(result.expected)}, got {got}: " \
                                     f"{result.message}"


@pytest.mark.parametrize(("path", "step_id"), STEPS, ids=[f"{f.name}:{s}" for f, s in STEPS])
def test_step_has_a_note(path: Path, step_id: str) -> None:
    step = next(s for s in load_file(path).steps if s.id == step_id)
    assert step.note.strip()


@pytest.mark.parametrize("path", SEED_FILES, ids=[f.name for f in SEED_FILES])
def test_seed_file_names_its_source(path: Path) -> None:
    source = load_file(path).source
    assert source, "a file encoding a seed document says which one"
    if not SEEDS.is_dir():
        pytest.skip(f"{SEEDS} is not here")
    assert (SEEDS / source).is_file()
    assert source.startswith(path.name[:4])  # 004_... encodes 004_...


SEED_STEPS = [(f, s) for f, s in STEPS if f in SEED_FILES]


@pytest.mark.parametrize(("path", "step_id"), SEED_STEPS,
                         ids=[f"{f.name}:{s}" for f, s in SEED_STEPS])
def test_refuted_links_in_seed_files_are_explained(path: Path, step_id: str) -> None:
    for link in step_result(path, step_id).links:
        if link.verdict == Verdict.REFUTED:
            assert link.codes, f"link {link.index + 1} has no diagnosis"
            assert link.counterexample is not None, f"link {link.index + 1}"
            assert link.counterexample.lhs != link.counterexample.rhs
