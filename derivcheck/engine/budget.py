"""A cooperative time budget for the work done in this process on one equation.

The SymPy proofs run in worker processes that are killed at their limit; the other
stages (the numeric check, the canonical forms, the diagnosis, simplifying for
display) run in the calling process in every mode (a single file, ``--workers 1``,
``report``, the pytest plugin, grading).  Each runs inside ``stage(name, seconds)``;
the loops that can run long (the evaluator, the canonical form, ``simplify``) call
``check()``, which raises ``StepTimeout`` once the stage's deadline has passed.  The
caller turns it into an ``undecided`` link (or, for the diagnosis of a step already
decided, a note that the diagnosis was cut short): never a hang, and never a verdict
that holds.

The deadline lives in a context variable, so threads and nested stages keep their own.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass


class StepTimeout(Exception):
    """A stage used up its time budget for one equation.

    Attributes:
        stage: which stage ("numeric check", "diagnosis", ...).
        seconds: the budget it had.
    """

    def __init__(self, stage: str, seconds: float) -> None:
        super().__init__(f"the {stage} used up its time budget of {seconds:g} s "
                         "for this equation")
        self.stage = stage
        self.seconds = seconds


@dataclass(frozen=True)
class _Deadline:
    stage: str
    seconds: float
    at: float  # time.monotonic() value


_CURRENT: ContextVar[_Deadline | None] = ContextVar("derivcheck_deadline", default=None)


@contextmanager
def stage(name: str, seconds: float | None) -> Iterator[None]:
    """Run the body with a deadline ``seconds`` from now (``None``: no deadline).

    A stage inside another keeps the earlier of the two deadlines (and the outer
    stage's name if the outer one comes first).
    """
    outer = _CURRENT.get()
    if seconds is None:
        token = _CURRENT.set(outer)
    else:
        mine = _Deadline(name, seconds, time.monotonic() + seconds)
        token = _CURRENT.set(outer if outer is not None and outer.at <= mine.at else mine)
    try:
        yield
    finally:
        _CURRENT.reset(token)


def check() -> None:
    """Raise ``StepTimeout`` if the current stage's deadline has passed."""
    deadline = _CURRENT.get()
    if deadline is not None and time.monotonic() > deadline.at:
        raise StepTimeout(deadline.stage, deadline.seconds)


def active() -> bool:
    """Is a deadline set (for loops that check only every so many iterations)?"""
    return _CURRENT.get() is not None
