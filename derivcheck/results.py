"""Verdicts and the evidence behind them: frozen dataclasses, the contract for every output."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from derivcheck.codes import Diagnosis


class Verdict(StrEnum):
    """What the engine concluded about one equation.

    ``proved``: a symbolic proof. ``checked``: agreement at random points.
    ``refuted``: a counterexample. ``ill_formed``: the equation does not make
    sense (shapes). ``undecided``: anything inconclusive, with the reason.
    """

    PROVED = "proved"
    CHECKED = "checked"
    REFUTED = "refuted"
    ILL_FORMED = "ill_formed"
    UNDECIDED = "undecided"

    @property
    def holds(self) -> bool:
        return self in (Verdict.PROVED, Verdict.CHECKED)


# Worst first: how links combine into the verdict of a step.
_SEVERITY = [Verdict.ILL_FORMED, Verdict.REFUTED, Verdict.UNDECIDED, Verdict.CHECKED,
             Verdict.PROVED]


def combine(verdicts: list[Verdict]) -> Verdict:
    return min(verdicts, key=_SEVERITY.index)


def matches(expected: str, verdict: Verdict) -> bool:
    """Does ``verdict`` satisfy an ``expect:`` value?"""
    if expected == "holds":
        return verdict.holds
    return expected == verdict.value


@dataclass(frozen=True)
class Counterexample:
    """A point where the two sides differ: sizes, symbol values, indices, both sides."""

    sizes: dict[str, int]
    values: dict[str, object]
    indices: dict[str, int]
    lhs: object
    rhs: object
    readable: bool  # small integers / simple fractions

    def as_dict(self) -> dict:
        return {"sizes": self.sizes, "values": self.values, "indices": self.indices,
                "lhs": self.lhs, "rhs": self.rhs, "readable_point": self.readable}


@dataclass(frozen=True)
class Evidence:
    """How a verdict was reached."""

    method: str  # "symbolic", "numeric", "shape", "none"
    sizes: tuple[dict[str, int], ...] = ()
    points: int = 0
    index_values: int = 0
    seed: int | None = None
    worst_error: float | None = None
    proof: str = ""  # what the symbolic proof covers, e.g. "for sizes K=2, H=3"
    reason: str = ""
    seconds: float = 0.0

    def as_dict(self) -> dict:
        out: dict = {"method": self.method}
        if self.sizes:
            out["sizes"] = list(self.sizes)
        if self.points:
            out["points"] = self.points
            out["index_values"] = self.index_values
            out["worst_relative_error"] = self.worst_error
        if self.seed is not None:
            out["seed"] = self.seed
        if self.proof:
            out["proof"] = self.proof
        if self.reason:
            out["reason"] = self.reason
        out["seconds"] = round(self.seconds, 4)
        return out

    def summary(self) -> str:
        if self.method == "symbolic":
            text = f"proved {self.proof}"
            if self.points:
                text += f"; also agrees at {self.points} random points"
            return text
        if self.method == "numeric":
            sizes = "; ".join(", ".join(f"{k}={v}" for k, v in s.items()) or "-"
                              for s in self.sizes)
            return (f"{self.points} random points at sizes [{sizes}], seed {self.seed}, "
                    f"worst relative error {self.worst_error:.1e}")
        return self.reason


@dataclass(frozen=True)
class LinkResult:
    """One equation: a claim, or one link ``e[k] = e[k+1]`` of a chain."""

    index: int
    lhs: str
    rhs: str
    verdict: Verdict
    diagnoses: tuple[Diagnosis, ...] = ()
    evidence: Evidence = field(default_factory=lambda: Evidence("none"))
    counterexample: Counterexample | None = None
    reference: str = ""  # the engine's own result for a derivative side, as a formula
    expected: str | None = None
    against_truth: Verdict | None = None  # for chains: this expression vs the first
    lhs_latex: str = ""  # the LaTeX each side was read from (lhs/rhs: how it was read)
    rhs_latex: str = ""
    reading: tuple[str, ...] = ()  # ambiguous LaTeX readings, with the choice made
    second_reader: tuple[str, str] = ("", "")  # latex2sympy2 on each side, if asked

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(d.code for d in self.diagnoses)

    @property
    def message(self) -> str:
        return "; ".join(d.message for d in self.diagnoses)


@dataclass(frozen=True)
class StepResult:
    """The result of one step, with one ``LinkResult`` per equation in it."""

    id: str
    line: int
    form: str
    verdict: Verdict
    links: tuple[LinkResult, ...]
    expected: tuple[str, ...] | None = None
    note: str = ""

    @property
    def diagnoses(self) -> tuple[Diagnosis, ...]:
        return tuple(d for link in self.links for d in link.diagnoses)

    @property
    def codes(self) -> tuple[str, ...]:
        seen: list[str] = []
        for d in self.diagnoses:
            if d.code not in seen:
                seen.append(d.code)
        return tuple(seen)

    @property
    def message(self) -> str:
        parts = []
        for link in self.links:
            if link.diagnoses:
                prefix = f"link {link.index + 1}: " if self.form == "chain" else ""
                parts.append(prefix + link.message)
        return "; ".join(parts)

    @property
    def agrees_with_expectation(self) -> bool:
        """``matches_expected``, where a step without ``expect:`` is expected to hold."""
        found = self.matches_expected
        return self.verdict.holds if found is None else found

    @property
    def matches_expected(self) -> bool | None:
        if self.expected is None:
            return None
        return all(matches(e, link.verdict) for e, link in zip(self.expected, self.links))


@dataclass(frozen=True)
class FileResult:
    """All steps of one file, or the input error that stopped it being read."""

    path: str
    title: str = ""
    source: str | None = None
    steps: tuple[StepResult, ...] = ()
    error: str | None = None
    seconds: float = 0.0


@dataclass(frozen=True)
class Report:
    """The results of one run."""

    files: tuple[FileResult, ...]
    seed: int

    def counts(self) -> dict[str, int]:
        out = {v.value: 0 for v in Verdict}
        for f in self.files:
            for s in f.steps:
                out[s.verdict.value] += 1
        out["input_errors"] = sum(1 for f in self.files if f.error)
        return out
