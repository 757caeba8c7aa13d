"""Grades as data and as files: the grade dictionary (JSON), the gradebook CSV,
Markdown feedback, Gradescope's ``results.json`` and the class summary.

Every writer takes grade dictionaries (what the journal stores), so a resumed
batch writes exactly what an uninterrupted one does.  Text that comes from a
submission is kept as written in the data and escaped for the format it goes
into, by the one function for that format in ``derivcheck.escape``: no
spreadsheet formula, no Markdown link or image, no HTML, no control character.
"""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from derivcheck.escape import csv_cell, json_dumps, md_block, md_code, md_text
from derivcheck.report.json_report import step_dict

if TYPE_CHECKING:
    from derivcheck.grade.check import Prepared
    from derivcheck.grade.score import SubmissionGrade

GRADE_SCHEMA_VERSION = 1


def grade_dict(g: SubmissionGrade, prepared: Prepared) -> dict[str, Any]:
    """One student's grade as JSON-ready data (no timings: identical on every run)."""
    return {
        "student": g.student,
        "path": g.path,
        "score": g.score,
        "max_score": g.max_score,
        "needs_review": g.needs_review,
        "error": g.error,
        "seed": prepared.options.seed,
        "items": [{
            "id": i.id, "points": i.points, "max_points": i.max_points, "status": i.status,
            "step": i.step, "result": i.result,
            "verdict": i.verdict.value if i.verdict is not None else None,
            "result_credit": i.result_credit, "work_credit": i.work_credit,
            "penalty": i.penalty, "diagnosis": list(i.codes), "feedback": i.feedback,
            "needs_review": i.needs_review,
        } for i in g.items],
        "steps": [_no_timing(step_dict(s)) for s in g.steps],
        "unreadable_steps": [{"step": sid, "error": err} for sid, err in g.step_errors],
        "warnings": list(g.warnings),
    }


def _no_timing(step: dict[str, Any]) -> dict[str, Any]:
    """A step's dictionary without the evidence's seconds (which vary run to run)."""
    for holder in (step, *step["links"]):
        evidence = holder.get("evidence")
        if isinstance(evidence, dict):
            evidence.pop("seconds", None)
    return step


# -- the class ------------------------------------------------------------------------
@dataclass(frozen=True)
class Tally:
    """What the class summary needs of one grade (computed where the grade is made)."""

    student: str
    read: bool
    score: float
    needs_review: bool
    points: dict[str, float]  # item id -> points
    mistakes: tuple[str, ...]  # the named mistakes of its wrong links, one per link and code


def tally(g: dict) -> Tally:
    points: dict[str, float] = {}
    for i in g["items"]:
        points.setdefault(i["id"], float(i["points"]))
    mistakes: list[str] = []
    if g["error"] is None:
        for step in g["steps"]:
            for link in step["links"]:
                if link["verdict"] in ("refuted", "ill_formed"):
                    mistakes.extend(_named_mistakes(link["diagnosis"]))
    return Tally(g["student"], g["error"] is None, g["score"], bool(g["needs_review"]),
                 points, tuple(mistakes))


def summary(grades: list[dict], prepared: Prepared) -> dict[str, Any]:
    """How the class did: counts, the average, and the most common mistakes."""
    return summary_of([tally(g) for g in grades], prepared)


def summary_of(tallies: list[Tally], prepared: Prepared) -> dict[str, Any]:
    """``summary`` from each grade's ``tally``."""
    read = [t for t in tallies if t.read]
    mistakes: Counter[str] = Counter()
    students: dict[str, set[str]] = {}
    for t in read:
        for code in t.mistakes:
            mistakes[code] += 1
            students.setdefault(code, set()).add(t.student)
    scores = [t.score for t in tallies]
    return {
        "submissions": len(tallies),
        "graded": len(read),
        "failed_to_read": len(tallies) - len(read),
        "needs_review": sum(1 for t in tallies if t.needs_review),
        "max_score": prepared.key.rubric.max_points,
        "average": round(sum(scores) / len(scores), 4) if scores else None,
        "average_of_graded": (round(sum(t.score for t in read) / len(read), 4)
                              if read else None),
        "items": {item.id: round(sum(t.points.get(item.id, 0.0) for t in tallies)
                                 / max(1, len(tallies)), 4)
                  for item in prepared.key.rubric.items},
        "common_mistakes": [{"code": code, "links": n, "students": len(students[code])}
                            for code, n in sorted(mistakes.items(),
                                                  key=lambda kv: (-len(students[kv[0]]),
                                                                  -kv[1], kv[0]))],
        "seed": prepared.options.seed,
    }


# Codes that say a step is wrong without naming the mistake: a link's specific
# codes (sign-error, transpose, missing-relu-mask...) are counted instead when it has any.
GENERIC = frozenset({"residual", "wrong-components", "shape-mismatch", "follows-from-error",
                     "unsupported", "time-limit", "no-valid-points", "engine-crosscheck",
                     "internal-error"})


def _named_mistakes(codes: list[str]) -> list[str]:
    codes = list(dict.fromkeys(codes))
    specific = [c for c in codes if c not in GENERIC]
    return specific or codes


def grades_json(grades: list[dict], prepared: Prepared) -> str:
    return grades_json_of([json_dumps(g) for g in grades], summary(grades, prepared), prepared)


def grades_json_of(lines: list[str], class_summary: dict[str, Any],
                   prepared: Prepared) -> str:
    """``grades.json`` from each grade as ``json_dumps`` wrote it, and the summary."""
    key = prepared.key
    head = {
        "schema_version": GRADE_SCHEMA_VERSION,
        "key": {"path": key.path, "sha256": key.digest,
                "items": [{"id": i.id, "result": list(i.texts), "points": i.points,
                           "via": i.via_text or None} for i in key.rubric.items],
                "policy": key.rubric.policy.as_dict(), "max_score": key.rubric.max_points},
        "seed": prepared.options.seed,
        "summary": class_summary,
    }
    # one student per line: readable, and json's fast encoder (indent= is pure Python,
    # about 10 s for a class of 1,000)
    out = ["{" + ",\n".join(f" {json.dumps(k)}: {json_dumps(v)}"
                             for k, v in head.items()) + ","]
    out.append(' "students": [')
    out.append(",\n".join("  " + line for line in lines))
    out.append(" ]\n}")
    return "\n".join(out) + "\n"


def summary_text(s: dict[str, Any]) -> str:
    lines = [f"graded {s['graded']} of {s['submissions']} submissions; "
             f"{s['failed_to_read']} could not be read; {s['needs_review']} need review"]
    if s["average"] is not None:
        lines.append(f"average {s['average']:g} / {s['max_score']:g}"
                     + (f" (of those read: {s['average_of_graded']:g})"
                        if s["failed_to_read"] and s["average_of_graded"] is not None else ""))
    if s["common_mistakes"]:
        lines.append("most common mistakes: " + ", ".join(
            f"{m['code']} ({m['students']} student{'s' if m['students'] != 1 else ''})"
            for m in s["common_mistakes"][:5]))
    lines.append(f"seed {s['seed']}")
    return "\n".join(lines)


# -- CSV ------------------------------------------------------------------------------
def points_text(x: float) -> str:
    """Points as people write them: 2, 1.5, 0.3333."""
    return f"{x:.4f}".rstrip("0").rstrip(".") if x != int(x) else str(int(x))


_num = points_text


GRADEBOOK_HEAD = ("student", "path", "score", "max_score")


def gradebook_csv(grades: list[dict], prepared: Prepared) -> str:
    return gradebook_csv_of([gradebook_row(g, prepared) for g in grades], prepared)


def gradebook_csv_of(rows: list[str], prepared: Prepared) -> str:
    """``gradebook.csv`` from each grade's ``gradebook_row``."""
    items = [i.id for i in prepared.key.rubric.items]
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerow(
        [*GRADEBOOK_HEAD, *items, "needs_review", "error", "seed"])
    return out.getvalue() + "".join(rows)


def gradebook_row(g: dict, prepared: Prepared) -> str:
    """One student's line of ``gradebook.csv`` (with its line end)."""
    by = {i["id"]: i["points"] for i in g["items"]}
    first_error = (g["error"] or "").splitlines()[0] if g["error"] else ""
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerow(
        [csv_cell(g["student"]), csv_cell(g["path"]), _num(g["score"]), _num(g["max_score"]),
         *(_num(by.get(i.id, 0.0)) for i in prepared.key.rubric.items),
         "yes" if g["needs_review"] else "no", csv_cell(first_error), str(g["seed"])])
    return out.getvalue()


@dataclass(frozen=True)
class Rendered:
    """One student's outputs as text, made where the grade is made (in a worker): the
    main process of a batch only writes them.  ``grade`` is ``json_dumps`` of the grade
    dictionary (its line in grades.json and in the journal); ``feedback`` the Markdown
    at the batch's detail (None: not asked for)."""

    student: str
    grade: str
    row: str
    feedback: str | None
    tally: Tally
    feedback_written: bool = False  # written to its file where it was made

    def data(self) -> dict[str, Any]:
        """The grade dictionary (read back from ``grade``, as a resumed batch reads it)."""
        return json.loads(self.grade)  # type: ignore[no-any-return]


def render(g: dict, prepared: Prepared, detail: str | None) -> Rendered:
    """``g``'s outputs as text (``Rendered``); its feedback at ``detail`` if given."""
    return Rendered(g["student"], json_dumps(g), gradebook_row(g, prepared),
                    feedback_markdown(g, prepared, detail) if detail is not None else None,
                    tally(g))


# -- Markdown -------------------------------------------------------------------------
def md_message(text: str) -> str:
    """A derivcheck message: its `quoted` expressions as code spans, the rest as text."""
    parts = str(text).split("`")
    if len(parts) % 2 == 0:  # unbalanced: all text
        return md_text(text).strip()
    return "".join(md_code(p) if k % 2 else md_text(p) for k, p in enumerate(parts)).strip()


# How much of the grading a student's feedback shows (``--feedback-detail``): the
# verdicts only; plus the diagnoses and counterexamples (the default); plus
# derivcheck's own result under every link, which is the solution.
DETAILS = ("verdict", "diagnosis", "solution")
DEFAULT_DETAIL = "diagnosis"


def item_feedback(i: dict, texts: dict[str, str], detail: str) -> str:
    """An item's feedback at ``detail``: at ``verdict`` a wrong result says only that it
    is wrong and what it scored (its diagnosis would say how to fix it)."""
    if detail != "verdict" or i["status"] != "wrong":
        return str(i["feedback"])
    what = texts.get(i["id"], i["id"])
    return (f"{what} = {i['result']} is wrong: {_num(i['points'])} of "
            f"{_num(i['max_points'])} points.")


def feedback_markdown(g: dict, prepared: Prepared, detail: str = DEFAULT_DETAIL) -> str:
    """What a student reads: the score, each required result, then every step, with as
    much detail as ``detail`` allows (``DETAILS``)."""
    title = prepared.key.derivation.title
    lines = [f"# Feedback: {md_text(g['student'])}", "",
             f"{md_text(title)}", "",
             f"**Score: {_num(g['score'])} / {_num(g['max_score'])}**", ""]
    if g["error"]:
        lines += ["Your file could not be graded:", "", md_block(g["error"]), "",
                  f"_derivcheck, seed {g['seed']}_", ""]
        return "\n".join(lines)
    if g["needs_review"]:
        lines += ["Some results could not be decided by derivcheck and will be reviewed by "
                  "hand.", ""]
    lines += ["## Required results", "", "| result | points | status |", "|---|---|---|"]
    texts = {i.id: i.texts[0] for i in prepared.key.rubric.items}
    for i in g["items"]:
        lines.append(f"| {md_code(texts.get(i['id'], i['id']))} | {_num(i['points'])} / "
                     f"{_num(i['max_points'])} | {i['status'].replace('_', ' ')} |")
    lines.append("")
    for i in g["items"]:
        lines.append(f"- {md_message(item_feedback(i, texts, detail))}")
    lines.append("")
    if g.get("warnings"):
        lines += ["## Warnings", ""]
        lines += [f"- {md_text(w)}" for w in g["warnings"]]
        lines.append("")
    if g["unreadable_steps"]:
        lines += ["## Steps that could not be read", ""]
        for u in g["unreadable_steps"]:
            lines += [f"Step {md_code(u['step'])}:", "", md_block(u["error"]), ""]
    lines += ["## Your steps", ""]
    for s in g["steps"]:
        lines += _md_step(s, detail)
    lines += [f"_derivcheck, seed {g['seed']}_", ""]
    return "\n".join(lines)


def _md_step(s: dict, detail: str) -> list[str]:
    out = [f"### Step {md_code(s['id'])}: {s['verdict'].replace('_', ' ')}", ""]
    for link in s["links"]:
        prefix = f"link {link['index'] + 1}: " if s["form"] == "chain" else ""
        out.append(f"- {prefix}{md_code(link['lhs'] + ' = ' + link['rhs'])}: "
                   f"**{link['verdict'].replace('_', ' ')}**")
        if detail == "verdict":
            continue
        if link["message"]:
            out.append(f"  - {md_message(link['message'])}")
        ev = link.get("evidence", {})
        if link["verdict"] == "checked" and ev.get("points"):
            out.append(f"  - checked at {ev['points']} random points")
        if link.get("reference") and detail == "solution":
            out.append(f"  - derivcheck's result: {md_code(link['reference'])}")
        c = link.get("counterexample")
        if c:
            sizes = ", ".join(f"{k}={v}" for k, v in c["sizes"].items())
            idx = ", ".join(f"{k}={v}" for k, v in c["indices"].items())
            out.append(f"  - counterexample at sizes {md_text(sizes or '-')}"
                       + (f", indices {md_text(idx)}" if idx else "") + ":")
            for name, value in c["values"].items():
                out.append(f"    - {md_code(name)} = {md_code(_short(value))}")
            out.append(f"    - left side {md_code(_short(c['lhs']))}, right side "
                       f"{md_code(_short(c['rhs']))}")
    out.append("")
    return out


def _short(value: object, limit: int = 300) -> str:
    text = json.dumps(value) if not isinstance(value, str) else value
    return text if len(text) <= limit else text[:limit] + " ..."


# -- Gradescope -----------------------------------------------------------------------
def gradescope_results(g: dict, prepared: Prepared | None, seconds: float,
                       detail: str = DEFAULT_DETAIL) -> dict[str, Any]:
    """Gradescope's autograder ``results.json`` for one student (visible tests per item).

    ``seconds``: the time spent grading this student (``execution_time``); ``detail``:
    as in ``feedback_markdown``.
    """
    tests: list[dict[str, Any]] = []
    if g["error"]:
        tests.append({"name": "read the submission", "number": "0", "score": 0.0,
                      "max_score": g["max_score"], "status": "failed",
                      "output": g["error"], "output_format": "text",
                      "visibility": "visible"})
    texts = {i.id: i.texts[0] for i in prepared.key.rubric.items} if prepared else {}
    for n, i in enumerate(g["items"], 1):
        tests.append({"name": f"{i['id']}: {texts.get(i['id'], i['id'])}", "number": str(n),
                      "score": i["points"], "max_score": i["max_points"],
                      # "passed" (green) only for full points: partial credit is a
                      # failed test with its points, never a green 1.2 / 3
                      "status": "passed" if i["points"] >= i["max_points"] > 0 or (
                          i["max_points"] == 0 and i["status"] == "correct") else "failed",
                      "output": item_feedback(i, texts, detail), "output_format": "text",
                      "visibility": "visible"})
    for n, u in enumerate(g["unreadable_steps"], len(tests) + 1):
        tests.append({"name": f"step {u['step']} could not be read", "number": str(n),
                      "score": 0.0,
                      "max_score": 0.0, "status": "failed", "output": u["error"],
                      "output_format": "text", "visibility": "visible"})
    return {
        "score": g["score"],
        "execution_time": round(seconds, 3),
        "output": (f"derivcheck: {_num(g['score'])} / {_num(g['max_score'])}"
                   + (" (some results need review by hand)" if g["needs_review"] else "")
                   + f"; seed {g['seed']}"
                   + "".join(f"\nwarning: {w}" for w in g.get("warnings", ()))),
        "output_format": "text",
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "tests": tests,
        "extra_data": {"seed": g["seed"], "needs_review": g["needs_review"]},
    }


def gradescope_crash(reason: str, seconds: float, max_score: float = 0.0) -> dict[str, Any]:
    """``results.json`` when grading could not run at all: a visible failed test, score 0."""
    return {
        "score": 0.0,
        "execution_time": round(seconds, 3),
        "output": "derivcheck could not grade this submission: " + reason,
        "output_format": "text",
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "tests": [{"name": "derivcheck ran", "number": "0", "score": 0.0,
                   "max_score": max_score, "status": "failed", "output": reason,
                   "output_format": "text", "visibility": "visible"}],
    }
