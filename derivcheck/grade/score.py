"""Scoring: checked items and steps -> points, with feedback a student can act on.

Pure functions over data (no engine): the rule is the ``Policy`` docstring in
``derivcheck.grade.key``.
"""

from __future__ import annotations

from dataclasses import dataclass

from derivcheck.codes import Diagnosis
from derivcheck.decide import Outcome
from derivcheck.grade.key import Item, Policy, Rubric
from derivcheck.ir import E
from derivcheck.results import LinkResult, StepResult, Verdict

# An item's status, in the feedback and the JSON (stable values).
CORRECT = "correct"
FOLLOW_THROUGH = "follow_through"
WRONG = "wrong"
UNDECIDED = "undecided"
NOT_CLOSED = "not_closed_form"
MISSING = "missing"
STATUSES = (CORRECT, FOLLOW_THROUGH, WRONG, UNDECIDED, NOT_CLOSED, MISSING)


@dataclass(frozen=True)
class ItemCheck:
    """What checking found about one required result (before scoring)."""

    item: str
    step_index: int | None = None
    step: str | None = None  # the step that states it (the last one, if several do)
    result: str = ""  # the student's final expression for it, as read
    final: E | None = None
    closed_form: bool = True
    outcome: Outcome | None = None  # required result = student's result
    diagnoses: tuple[Diagnosis, ...] = ()
    via_outcome: Outcome | None = None  # student's result = key's via, with their results
    via_expected: str = ""
    via_from: tuple[str, ...] = ()  # the items whose wrong results it follows from
    first_link: int = 0  # the step's links from this one on are the item's work


@dataclass(frozen=True)
class ItemGrade:
    """The score of one required result, and why."""

    id: str
    points: float
    max_points: float
    status: str
    step: str | None
    result: str
    verdict: Verdict | None
    result_credit: float
    work_credit: float
    penalty: float
    codes: tuple[str, ...]
    feedback: str
    needs_review: bool = False


@dataclass(frozen=True)
class SubmissionGrade:
    """One student's grade: items, every step's result, and what could not be read."""

    student: str
    path: str
    score: float
    max_score: float
    items: tuple[ItemGrade, ...]
    steps: tuple[StepResult, ...]
    step_errors: tuple[tuple[str, str], ...]
    error: str | None
    seconds: float

    @property
    def needs_review(self) -> bool:
        return any(i.needs_review for i in self.items)


def score_items(rubric: Rubric, checks: list[ItemCheck],
                steps: dict[str, StepResult]) -> list[ItemGrade]:
    by_id = {c.item: c for c in checks}
    return [score_item(item, rubric.policy, by_id[item.id], steps) for item in rubric.items]


def score_item(item: Item, policy: Policy, c: ItemCheck,
               steps: dict[str, StepResult]) -> ItemGrade:
    what = item.texts[0]
    if c.step is None:
        return ItemGrade(item.id, 0.0, item.points, MISSING, None, "", None, 0.0, 0.0, 0.0, (),
                         f"{what} is never stated: no step has it on one side. Write a step "
                         f"such as '{what} = ...'.")
    step = steps.get(c.step)
    links = step.links[c.first_link:] if step is not None else ()
    work, codes, penalty = _work(links, policy)
    verdict = c.outcome.verdict if c.outcome is not None else None
    review = False
    if not c.closed_form:
        status, credit = NOT_CLOSED, 0.0
        message = (f"{what}: step {c.step} ends with {c.result}, which still contains a "
                   "derivative; state the result in closed form.")
    elif verdict is not None and verdict.holds:
        status, credit = CORRECT, 1.0
        message = f"{what} = {c.result}: correct ({verdict.value}; step {c.step})."
    elif verdict == Verdict.UNDECIDED or verdict is None:
        status, credit, review = UNDECIDED, 0.0, True
        reason = (c.outcome.evidence.reason if c.outcome is not None else "") or "no reason"
        message = (f"{what} = {c.result}: derivcheck could not decide it ({reason}); it "
                   "scores no result credit until reviewed by hand.")
    elif c.via_outcome is not None and c.via_outcome.verdict.holds:
        status, credit = FOLLOW_THROUGH, policy.follow_through
        message = (f"{what} = {c.result} is wrong, but it follows correctly from your result "
                   f"for {', '.join(c.via_from)}, which was wrong: follow-through credit.")
    else:
        status, credit = WRONG, 0.0
        why = "; ".join(d.message for d in c.diagnoses if d.code != "follows-from-error")
        message = f"{what} = {c.result} is wrong" + (f": {why}." if why else ".")
        codes = tuple(dict.fromkeys((*codes, *(d.code for d in c.diagnoses))))
    if len(links) <= 1:
        work = credit  # a one-line answer: the work is the result
    else:
        message += " " + _work_sentence(links, c.step or "", work)
    raw = item.points * (policy.result * credit + (1 - policy.result) * work)
    points = max(0.0, min(item.points, raw - penalty))
    if penalty and raw > 0:
        message += f" Penalty: {penalty:g} point{'s' if penalty != 1 else ''} ({', '.join(codes)})."
    return ItemGrade(item.id, round(points, 4), item.points, status, c.step, c.result, verdict,
                     credit, round(work, 4), penalty, codes, message, review)


def _work_sentence(links: tuple[LinkResult, ...], step: str, work: float) -> str:
    holds = [link for link in links if link.verdict.holds]
    following = sum(1 for link in holds if "follows-from-error" in link.codes)
    text = f"Work: {len(holds)} of the {len(links)} links of step {step} hold"
    if following:
        text += (f" ({following} of them only continue{'s' if following == 1 else ''} an "
                 "earlier wrong link, for partial credit)")
    return text + f": work credit {work:.0%}."


def _work(links: tuple[LinkResult, ...], policy: Policy
          ) -> tuple[float, tuple[str, ...], float]:
    """Share of the links that hold (follow-through links count partly), their
    mistake codes, and the penalty for them."""
    if not links:
        return 0.0, (), 0.0
    credit = 0.0
    codes: list[str] = []
    penalty = 0.0
    for link in links:
        if link.verdict.holds:
            follows = "follows-from-error" in link.codes
            credit += policy.follow_through if follows else 1.0
        elif link.verdict in (Verdict.REFUTED, Verdict.ILL_FORMED):
            for code in dict.fromkeys(link.codes):
                codes.append(code)
                penalty += policy.penalty(code)
    return credit / len(links), tuple(dict.fromkeys(codes)), penalty
