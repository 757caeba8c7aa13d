"""Grading: answer keys with a rubric, submissions, partial credit, batch runs.

Typical use::

    from derivcheck import Options
    from derivcheck.grade import grade_one, load_key, prepare
    prepared = prepare(load_key("examples/mlp004/key.yaml"), Options(seed=0))
    g = grade_one(prepared, "ada", "examples/mlp004/submissions/ada.yaml")
    print(g.score, g.max_score, [(i.id, i.status) for i in g.items])

The names are imported on first use, so that the command line (which registers
``derivcheck grade``) does not load the engine to print its help.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_EXPORTS = {
    "AnswerKey": "derivcheck.grade.key",
    "Item": "derivcheck.grade.key",
    "Policy": "derivcheck.grade.key",
    "Rubric": "derivcheck.grade.key",
    "load_key": "derivcheck.grade.key",
    "load_key_text": "derivcheck.grade.key",
    "KeyProblem": "derivcheck.grade.check",
    "Prepared": "derivcheck.grade.check",
    "grade_one": "derivcheck.grade.check",
    "prepare": "derivcheck.grade.check",
    "ItemGrade": "derivcheck.grade.score",
    "SubmissionGrade": "derivcheck.grade.score",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'derivcheck.grade' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
