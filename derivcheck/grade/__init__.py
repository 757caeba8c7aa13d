"""Grading: answer keys with a rubric, submissions, partial credit, batch runs.

Typical use::

    from derivcheck.grade import load_key, prepare, grade_one
    from derivcheck import Options
    prepared = prepare(load_key("examples/mlp004/key.yaml"), Options(seed=0))
    g = grade_one(prepared, "alice", "examples/mlp004/submissions/alice.yaml")
    print(g.score, g.max_score, [(i.id, i.status) for i in g.items])
"""

from __future__ import annotations

from derivcheck.grade.check import KeyProblem, Prepared, grade_one, prepare
from derivcheck.grade.key import AnswerKey, Item, Policy, Rubric, load_key, load_key_text
from derivcheck.grade.score import ItemGrade, SubmissionGrade

__all__ = ["AnswerKey", "Item", "ItemGrade", "KeyProblem", "Policy", "Prepared", "Rubric",
           "SubmissionGrade", "grade_one", "load_key", "load_key_text", "prepare"]
