"""Runs the stages in order for files and folders: load -> engine -> compare -> diagnose.

Returns data only (``Report``); the reporters turn it into text or JSON.
"""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path
from typing import Iterable

from derivcheck.codes import diagnosis
from derivcheck.compare import Options, check_equation, rng_for
from derivcheck.diagnose import diagnose
from derivcheck.engine.core import Engine
from derivcheck.errors import InputError
from derivcheck.ir import E
from derivcheck.load import load_file
from derivcheck.model import Derivation, Step
from derivcheck.results import FileResult, LinkResult, Report, StepResult, Verdict, combine

YAML_SUFFIXES = (".yaml", ".yml")


def expand_paths(paths: Iterable[str | Path]) -> list[Path]:
    """Files as given, and every ``*.yaml``/``*.yml`` under each folder (sorted)."""
    out: list[Path] = []
    for p in paths:
        path = Path(p)
        if path.is_dir():
            out.extend(sorted(f for f in path.rglob("*") if f.suffix in YAML_SUFFIXES
                              and f.is_file()))
        else:
            out.append(path)
    return out


def verify_paths(paths: Iterable[str | Path], options: Options | None = None) -> Report:
    """Verify every derivation file in ``paths``; one bad file never stops the run."""
    options = options or Options()
    results = tuple(verify_file(p, options) for p in expand_paths(paths))
    return Report(results, options.seed)


def verify_file(path: str | Path, options: Options | None = None) -> FileResult:
    """Verify one file; an unreadable file gives a ``FileResult`` with ``error`` set."""
    options = options or Options()
    started = time.perf_counter()
    try:
        derivation = load_file(path)
        steps = verify_derivation(derivation, options)
    except InputError as exc:
        return FileResult(str(path), error=exc.format(),
                          seconds=time.perf_counter() - started)
    return FileResult(str(path), derivation.title, derivation.source, steps,
                      seconds=time.perf_counter() - started)


def verify_derivation(derivation: Derivation, options: Options | None = None
                      ) -> tuple[StepResult, ...]:
    """Check every step of a loaded derivation.

    Raises:
        InputError: a definition is ill-shaped, so nothing can be checked.
    """
    options = options or Options()
    engine = Engine(derivation)
    return tuple(check_step(engine, step, options) for step in derivation.steps)


def _has_derivative(node: E) -> bool:
    return any(n.op == "d" for n in node.walk())


def check_step(engine: Engine, step: Step, options: Options) -> StepResult:
    """Check each link of a step; mark links that follow correctly from an earlier error."""
    exprs = [e.node for e in step.exprs]
    links: list[LinkResult] = []
    first_wrong: int | None = None
    quick = replace(options, symbolic=False)
    name = Path(engine.derivation.path).name
    for k in range(len(exprs) - 1):
        rng = rng_for(options, name, step.id, k)
        lhs, rhs = exprs[k], exprs[k + 1]
        out = check_equation(engine, lhs, rhs, step.layout, options, rng)
        ref_is_rhs = _has_derivative(rhs) and not _has_derivative(lhs)
        found = list(out.diagnoses) + diagnose(engine, out, options, rng,
                                               reference_is_rhs=ref_is_rhs)
        against = None
        if first_wrong is not None and out.verdict.holds:
            truth = check_equation(engine, exprs[0], rhs, step.layout, quick,
                                   rng_for(options, name, step.id, k, "truth"))
            against = truth.verdict
            if truth.verdict in (Verdict.REFUTED, Verdict.ILL_FORMED):
                found.append(diagnosis("follows-from-error", first_wrong=first_wrong + 1))
        if first_wrong is None and out.verdict in (Verdict.REFUTED, Verdict.ILL_FORMED):
            first_wrong = k
        links.append(LinkResult(
            index=k,
            lhs=step.exprs[k].text,
            rhs=step.exprs[k + 1].text,
            verdict=out.verdict,
            diagnoses=tuple(found),
            evidence=out.evidence,
            counterexample=out.counterexample,
            reference=out.reference,
            expected=step.expect[k] if step.expect else None,
            against_truth=against,
        ))
    verdict = combine([link.verdict for link in links])
    return StepResult(step.id, step.loc.line if step.loc else 0, step.form, verdict,
                      tuple(links), step.expect, step.note)
