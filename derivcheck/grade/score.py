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
    warnings: tuple[str, ...] = ()  # e.g. a repeated step id, renamed

    @property
    def needs_review(self) -> bool:
        return any(i.needs_review for i in self.items)


# Codes that name no particular mistake: in a follow-through item they describe
# how far the inherited mistake is from the truth, not a new mistake.
UNSPECIFIC = frozenset({"residual", "wrong-components", "follows-from-error"})


def score_items(rubric: Rubric, checks: list[ItemCheck],
                steps: dict[str, StepResult]) -> list[ItemGrade]:
    """Score every item of the rubric (see ``score_item``)."""
    by_id = {c.item: c for c in checks}
    return [score_item(item, rubric.policy, by_id[item.id], steps,
                       _inherited(by_id[item.id], by_id, steps))
            for item in rubric.items]


def _mistakes(c: ItemCheck, steps: dict[str, StepResult]) -> set[str]:
    """The codes of an item's mistakes: its result's diagnosis and its wrong links'."""
    codes = {d.code for d in c.diagnoses}
    step = steps.get(c.step) if c.step is not None else None
    for link in step.links[c.first_link:] if step is not None else ():
        if link.verdict in (Verdict.REFUTED, Verdict.ILL_FORMED):
            codes.update(link.codes)
    return codes


def _inherited(c: ItemCheck, by_id: dict[str, ItemCheck],
               steps: dict[str, StepResult]) -> frozenset[str]:
    """What a follow-through item may carry without paying for it: the mistakes of the
    wrong results it follows from (and codes that name no particular mistake)."""
    if not c.via_from or c.via_outcome is None or not c.via_outcome.verdict.holds:
        return frozenset()
    codes = set(UNSPECIFIC)
    for other in c.via_from:
        if other in by_id:
            codes |= _mistakes(by_id[other], steps)
    return frozenset(codes)


def score_item(item: Item, policy: Policy, c: ItemCheck,
               steps: dict[str, StepResult],
               inherited: frozenset[str] = frozenset()) -> ItemGrade:
    """One item's points and feedback by the policy (``Policy`` in grade/key.py).

    ``inherited``: for a result that follows through (it equals the key's ``via``
    with the student's own wrong results), the codes of the mistakes it inherited.
    A wrong link of its work whose codes are all inherited pays no penalty (it
    earns no work credit either: the result's follow-through credit covers it), so a
    mistake is paid for once, where it is made.
    """
    what = item.texts[0]
    if c.step is None:
        return ItemGrade(item.id, 0.0, item.points, MISSING, None, "", None, 0.0, 0.0, 0.0, (),
                         f"{what} is never stated: no step has it on one side. Write a step "
                         f"such as '{what} = ...'.")
    step = steps.get(c.step)
    links = step.links[c.first_link:] if step is not None else ()
    verdict = c.outcome.verdict if c.outcome is not None else None
    follows = (c.closed_form and verdict is not None and not verdict.holds
               and verdict != Verdict.UNDECIDED
               and c.via_outcome is not None and c.via_outcome.verdict.holds)
    work, codes, penalty = _work(links, policy, inherited if follows else frozenset())
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
    elif follows:
        status, credit = FOLLOW_THROUGH, policy.follow_through
        message = (f"{what} = {c.result} is not the true derivative, but it follows "
                   f"correctly from your result for {', '.join(c.via_from)}, which was "
                   "wrong: follow-through credit, and no penalty for the mistake it "
                   "carries over.")
    else:
        status, credit = WRONG, 0.0
        why = "; ".join(d.message for d in c.diagnoses if d.code != "follows-from-error")
        message = f"{what} = {c.result} is wrong" + (f": {why}." if why else ".")
        codes = tuple(dict.fromkeys((*codes, *(d.code for d in c.diagnoses))))
    if len(links) <= 1:
        work = credit  # a one-line answer: the work is the result
    else:
        message += " " + _work_sentence(links, c.step or "", work,
                                        inherited if follows else frozenset())
    raw = item.points * (policy.result * credit + (1 - policy.result) * work)
    points = max(0.0, min(item.points, raw - penalty))
    if penalty and raw > 0:
        message += f" Penalty: {penalty:g} point{'s' if penalty != 1 else ''} ({', '.join(codes)})."
    return ItemGrade(item.id, round(points, 4), item.points, status, c.step, c.result, verdict,
                     credit, round(work, 4), penalty, codes, message, review)


def _carried_over(link: LinkResult, inherited: frozenset[str]) -> bool:
    """A wrong link whose every mistake is one its item inherited."""
    return (bool(inherited) and link.verdict in (Verdict.REFUTED, Verdict.ILL_FORMED)
            and set(link.codes) <= inherited)


def _work_sentence(links: tuple[LinkResult, ...], step: str, work: float,
                   inherited: frozenset[str] = frozenset()) -> str:
    holds = [link for link in links if link.verdict.holds]
    following = sum(1 for link in holds if "follows-from-error" in link.codes)
    carried = sum(1 for link in links if _carried_over(link, inherited))
    text = f"Work: {len(holds)} of the {len(links)} links of step {step} hold"
    if following:
        text += (f" ({following} of them only continue{'s' if following == 1 else ''} an "
                 "earlier wrong link, for partial credit)")
    if carried:
        text += (f"; {carried} more {'is' if carried == 1 else 'are'} wrong only by the "
                 "mistake carried over (no penalty)")
    return text + f": work credit {work:.0%}."


def _work(links: tuple[LinkResult, ...], policy: Policy,
          inherited: frozenset[str] = frozenset()
          ) -> tuple[float, tuple[str, ...], float]:
    """Share of the links that hold (follow-through links count partly), the codes of
    the mistakes made here, and the penalty for them.  A wrong link that only carries
    an ``inherited`` mistake earns no work credit and pays no penalty."""
    if not links:
        return 0.0, (), 0.0
    credit = 0.0
    codes: list[str] = []
    penalty = 0.0
    for link in links:
        if link.verdict.holds:
            follows = "follows-from-error" in link.codes
            credit += policy.follow_through if follows else 1.0
        elif _carried_over(link, inherited):
            pass  # no work credit (the result's follow-through credit covers it), no penalty
        elif link.verdict in (Verdict.REFUTED, Verdict.ILL_FORMED):
            for code in dict.fromkeys(link.codes):
                codes.append(code)
                penalty += policy.penalty(code)
    return credit / len(links), tuple(dict.fromkeys(codes)), penalty
