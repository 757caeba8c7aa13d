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
    # found in high precision: |lhs - rhs| there (the float values may look equal)
    difference: str = ""
    digits: int = 0

    def as_dict(self) -> dict:
        out = {"sizes": self.sizes, "values": self.values, "indices": self.indices,
               "lhs": self.lhs, "rhs": self.rhs, "readable_point": self.readable}
        if self.difference:
            out["difference"] = self.difference
            out["digits"] = self.digits
        return out


class Scope(StrEnum):
    """What the evidence of a verdict shows.

    ``all_sizes``: a proof for every size (canonical forms; only ``proved`` has it).
    ``at_sizes``: an exact symbolic check at instantiated sizes, plus random points
    (evidence for ``checked``, not a proof of the claim).  ``points``: agreement at
    random points, confirmed in high precision (``checked``).  ``none``: nothing
    holds (refuted, ill-formed, undecided).
    """

    ALL_SIZES = "all_sizes"
    AT_SIZES = "at_sizes"
    POINTS = "points"
    NONE = "none"


@dataclass(frozen=True)
class Evidence:
    """How a verdict was reached.

    ``points`` are the random points that could decide (float64 agreement at each,
    every value of the free indices); ``precise`` of them were confirmed in
    high-precision arithmetic (``digits`` digits at most); ``exact`` describes an exact
    check at instantiated sizes ("at sizes D=2, K=3"), ``proof`` a proof for all sizes.
    """

    method: str  # "symbolic" (a proof for all sizes), "numeric", "shape", "none"
    sizes: tuple[dict[str, int], ...] = ()
    points: int = 0
    index_values: int = 0
    seed: int | None = None
    worst_error: float | None = None
    proof: str = ""  # what the proof for all sizes rests on
    reason: str = ""
    seconds: float = 0.0
    scope: Scope = Scope.NONE
    precise: int = 0  # points confirmed in high precision
    digits: int = 0  # the highest working precision of that confirmation
    exact: str = ""  # an exact check at instantiated sizes, e.g. "at sizes D=2, K=3"
    branches: str = ""  # the kinks whose both sides the points reached, e.g. "2 of 2"

    def as_dict(self) -> dict:
        out: dict = {"method": self.method, "scope": self.scope.value}
        if self.sizes:
            out["sizes"] = list(self.sizes)
        if self.points:
            out["points"] = self.points
            out["index_values"] = self.index_values
            out["worst_relative_error"] = self.worst_error
        if self.precise:
            out["high_precision_points"] = self.precise
            out["high_precision_digits"] = self.digits
        if self.seed is not None:
            out["seed"] = self.seed
        if self.proof:
            out["proof"] = self.proof
        if self.exact:
            out["exact"] = self.exact
        if self.branches:
            out["branches"] = self.branches
        if self.reason:
            out["reason"] = self.reason
        out["seconds"] = round(self.seconds, 4)
        return out

    def sampling(self) -> str:
        """The random points, in words ("15 random points at sizes [...], seed 0")."""
        sizes = "; ".join(", ".join(f"{k}={v}" for k, v in s.items()) or "-"
                          for s in self.sizes)
        return f"{self.points} random points at sizes [{sizes}], seed {self.seed}"

    def confirmation(self) -> str:
        """The high-precision confirmation and branch coverage, in words ('' if none)."""
        parts = []
        if self.precise:
            parts.append(f"{self.precise} confirmed in {self.digits}-digit arithmetic")
        if self.branches:
            parts.append(f"both sides of {self.branches} kinks reached")
        return ", ".join(parts)

    def summary(self) -> str:
        if self.method == "symbolic":
            text = f"proved {self.proof}"
            if self.points:
                text += f"; also agrees at {self.points} random points"
            return text
        if self.method == "numeric":
            text = self.sampling()
            confirmed = self.confirmation()
            if confirmed:
                text += f" ({confirmed})"
            if self.worst_error is not None:
                text += f", worst relative error {self.worst_error:.1e}"
            if self.exact:
                text += f"; exact {self.exact}"
            if self.reason:
                text += f"; {self.reason}"
            return text
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
    # a document (derivcheck.notes): its equations not read (where, why), its inferences
    unread: tuple[tuple[str, str], ...] = ()
    inferred: tuple[str, ...] = ()


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
        out["checked_exact_at_sizes"] = sum(
            1 for f in self.files for s in f.steps
            if s.verdict == Verdict.CHECKED and s.links
            and all(link.evidence.scope in (Scope.AT_SIZES, Scope.ALL_SIZES)
                    for link in s.links))
        return out
