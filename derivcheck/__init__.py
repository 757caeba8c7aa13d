"""derivcheck: checks hand derivations by computing the derivatives itself.

Typical use::

    from derivcheck import Options, verify_paths
    report = verify_paths(["derivations/"], Options(seed=1))
    for f in report.files:
        for step in f.steps:
            print(step.id, step.verdict.value, step.codes)

Grading::

    from derivcheck import Options, grade_one, load_key, prepare_key
    prepared = prepare_key(load_key("examples/mlp004/key.yaml"), Options(seed=0))
    g = grade_one(prepared, "ada", "examples/mlp004/submissions/ada.yaml")
    print(g.score, g.max_score, [(i.id, i.status) for i in g.items])

The names below are the public API; they are imported on first use so that
``import derivcheck`` (and the command line) start fast.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

__version__ = "0.1.0"

_EXPORTS = {
    "load_file": "derivcheck.load",
    "load_text": "derivcheck.load",
    "verify_paths": "derivcheck.verify",
    "verify_file": "derivcheck.verify",
    "verify_derivation": "derivcheck.verify",
    "proof_pool": "derivcheck.verify",
    "Options": "derivcheck.decide",
    "Report": "derivcheck.results",
    "FileResult": "derivcheck.results",
    "StepResult": "derivcheck.results",
    "LinkResult": "derivcheck.results",
    "Evidence": "derivcheck.results",
    "Counterexample": "derivcheck.results",
    "Verdict": "derivcheck.results",
    "Diagnosis": "derivcheck.codes",
    "CODES": "derivcheck.codes",
    "InputError": "derivcheck.errors",
    "report_dict": "derivcheck.report.json_report",
    # grading (derivcheck.grade has the rest)
    "load_key": "derivcheck.grade.key",
    "prepare_key": "derivcheck.grade.check:prepare",
    "grade_one": "derivcheck.grade.check",
    "grade_dict": "derivcheck.grade.export",
    "SubmissionGrade": "derivcheck.grade.score",
    "ItemGrade": "derivcheck.grade.score",
}

__all__ = sorted(_EXPORTS) + ["__version__"]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'derivcheck' has no attribute {name!r}")
    module, _, attr = module.partition(":")
    value = getattr(import_module(module), attr or name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
