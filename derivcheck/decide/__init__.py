"""Deciding an equation: the only package that can make a verdict hold.

Everything a ``proved`` or ``checked`` verdict rests on lives here: the
tolerances (``tolerance``), the random points and counterexamples (``sampling``,
``points``), the high-precision confirmation (``exact``), the canonical forms that
prove a claim for every size (``canonical``), the instantiated proofs that are
evidence at given sizes (``instantiate``), and the pipeline that puts them
together (``pipeline``).  CONTRACT.md states the invariants and the tests that
enforce them.  Display (``engine.simplify``, the reporters) cannot be imported
from here.

Names are imported on first use, so that ``from derivcheck.decide import Options``
(the command line) stays cheap.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from derivcheck.decide.options import Options

if TYPE_CHECKING:
    from derivcheck.decide.pipeline import (
        Outcome,
        check_equation,
        rng_for,
        wants_proof,
        with_proof,
    )
    from derivcheck.decide.points import Sample, sample_both
    from derivcheck.decide.tolerance import AGREE, DISAGREE, batch_errors, relative_error

_EXPORTS = {
    "Outcome": "derivcheck.decide.pipeline",
    "check_equation": "derivcheck.decide.pipeline",
    "rng_for": "derivcheck.decide.pipeline",
    "wants_proof": "derivcheck.decide.pipeline",
    "with_proof": "derivcheck.decide.pipeline",
    "Sample": "derivcheck.decide.points",
    "sample_both": "derivcheck.decide.points",
    "AGREE": "derivcheck.decide.tolerance",
    "DISAGREE": "derivcheck.decide.tolerance",
    "batch_errors": "derivcheck.decide.tolerance",
    "relative_error": "derivcheck.decide.tolerance",
}

__all__ = [
    "AGREE", "DISAGREE", "Options", "Outcome", "Sample", "batch_errors", "check_equation",
    "relative_error", "rng_for", "sample_both", "wants_proof", "with_proof",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'derivcheck.decide' has no attribute {name!r}")
    return getattr(import_module(module), name)
