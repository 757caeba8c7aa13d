"""How hard to check: the options every mode (verify, report, grade, pytest) shares."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Options:
    """How hard to check.

    Attributes:
        seed: makes every run reproducible (each equation derives its own stream).
        settings: how many settings of the dimension sizes (>= 3).
        points: random points per setting (>= 5).
        symbolic: try a symbolic proof for what agrees numerically.
        time_limit: seconds for each symbolic (CAS) attempt.
        workers: processes for the numeric checks of several files and for the proofs.
        file_time_limit: seconds for the numeric checks of one file (in a worker).
        step_time_limit: seconds for each stage of the work on one equation done in the
            calling process, in every mode: the numeric check (with the canonical
            forms), the diagnosis, simplifying the engine's side for display.  Past it
            the equation is ``undecided`` (``time-limit``, naming the stage and the
            limit); a diagnosis cut short leaves the verdict as decided and says so.
            ``None``: no limit.
        latex: check the LaTeX form of the steps that have one (``latex:``).
        second_reader: also read LaTeX with latex2sympy2 and note disagreements
            (never changes a verdict; about 1 s per file, so off by default).
        repairs: for a Markdown/LaTeX document, try the one-edit transcription repairs
            on each link that does not hold (``derivcheck.notes.repairs``; never changes
            a verdict).
    """

    seed: int = 0
    settings: int = 3
    points: int = 5
    symbolic: bool = True
    time_limit: float = 5.0
    workers: int = 2
    file_time_limit: float = 600.0
    step_time_limit: float | None = 30.0
    latex: bool = False
    second_reader: bool = False
    repairs: bool = True
