"""The JSON view of a ``Report`` (schema version 1, documented in the README)."""

from __future__ import annotations

import json
from typing import Any

from derivcheck.results import FileResult, LinkResult, Report, StepResult

SCHEMA_VERSION = 1


def link_dict(link: LinkResult) -> dict[str, Any]:
    out: dict[str, Any] = {
        "index": link.index,
        "lhs": link.lhs,
        "rhs": link.rhs,
        "verdict": link.verdict.value,
        "diagnosis": list(link.codes),
        "diagnoses": [d.as_dict() for d in link.diagnoses],
        "message": link.message,
        "expected": link.expected,
        "evidence": link.evidence.as_dict(),
    }
    if link.lhs_latex or link.rhs_latex:
        out["latex"] = {"lhs": link.lhs_latex, "rhs": link.rhs_latex,
                        "ambiguous_readings": list(link.reading)}
        if any(link.second_reader):
            out["latex"]["second_reader"] = dict(zip(("lhs", "rhs"), link.second_reader))
    if link.reference:
        out["reference"] = link.reference
    if link.counterexample is not None:
        out["counterexample"] = link.counterexample.as_dict()
    if link.against_truth is not None:
        out["against_first"] = link.against_truth.value
    return out


def step_dict(step: StepResult) -> dict[str, Any]:
    first = step.links[0]
    return {
        "id": step.id,
        "line": step.line,
        "form": step.form,
        "verdict": step.verdict.value,
        "diagnosis": list(step.codes),
        "message": step.message,
        "expected": list(step.expected) if step.expected else None,
        "matches_expected": step.matches_expected,
        "evidence": first.evidence.as_dict() if step.form == "claim" else None,
        "counterexample": (first.counterexample.as_dict()
                           if step.form == "claim" and first.counterexample else None),
        "reference": first.reference or None,
        "note": step.note,
        "links": [link_dict(link) for link in step.links],
    }


def file_dict(result: FileResult) -> dict[str, Any]:
    return {
        "path": result.path,
        "title": result.title,
        "source": result.source,
        "error": result.error,
        "seconds": round(result.seconds, 4),
        "steps": [step_dict(s) for s in result.steps],
        **({"unread": [{"where": w, "reason": r} for w, r in result.unread],
            "inferred": list(result.inferred)} if result.unread or result.inferred else {}),
    }


def report_dict(report: Report) -> dict[str, Any]:
    counts = report.counts()
    steps = [s for f in report.files for s in f.steps]
    return {
        "schema_version": SCHEMA_VERSION,
        "seed": report.seed,
        "files": [file_dict(f) for f in report.files],
        "summary": {
            "files": len(report.files),
            "steps": len(steps),
            "verdicts": {k: v for k, v in counts.items() if k != "input_errors"},
            "input_errors": counts["input_errors"],
            "expected_mismatches": sum(1 for s in steps if s.matches_expected is False),
        },
    }


def render(report: Report) -> str:
    return json.dumps(report_dict(report), indent=2, ensure_ascii=False)
