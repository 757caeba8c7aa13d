"""Runs the stages in order for files and folders: load -> engine -> compare -> diagnose.

Returns data only (``Report``); the reporters turn it into text or JSON.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from derivcheck.codes import diagnosis
from derivcheck.compare import Options, Outcome, check_equation, rng_for, with_proof
from derivcheck.diagnose import diagnose
from derivcheck.engine.core import Engine
from derivcheck.engine.limits import Limited, WorkerPool
from derivcheck.engine.symbolic import as_proof, proof_job
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
    """Verify every derivation file in ``paths``; one bad file never stops the run.

    Numeric checks run in this process; symbolic proofs of what agreed run
    meanwhile in ``options.workers`` worker processes, each with a time limit.
    """
    options = options or Options()
    with _pool(options) as pool:
        runs = [_start_file(p, options, pool) for p in expand_paths(paths)]
        proofs = pool.results() if pool else {}
    return Report(tuple(run.finish(proofs) for run in runs), options.seed)


def verify_file(path: str | Path, options: Options | None = None) -> FileResult:
    """Verify one file; an unreadable file gives a ``FileResult`` with ``error`` set."""
    return verify_paths([path], options).files[0]


def verify_derivation(derivation: Derivation, options: Options | None = None
                      ) -> tuple[StepResult, ...]:
    """Check every step of a loaded derivation.

    Raises:
        InputError: a definition is ill-shaped, so nothing can be checked.
    """
    options = options or Options()
    with _pool(options) as pool:
        run = _FileRun(derivation.path, options, pool, derivation=derivation)
        proofs = pool.results() if pool else {}
    return run.steps(proofs)


class _NoPool:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


def _pool(options: Options) -> WorkerPool | _NoPool:
    if not options.symbolic:
        return _NoPool()
    return WorkerPool(options.workers, seconds=options.time_limit)


def _start_file(path: Path, options: Options, pool: WorkerPool | None) -> _FileRun:
    try:
        return _FileRun(str(path), options, pool)
    except InputError as exc:
        return _FileRun.failed(str(path), exc)


class _FileRun:
    """One file: numeric checks done at construction, proofs submitted to the pool."""

    def __init__(self, path: str, options: Options, pool: WorkerPool | None,
                 derivation: Derivation | None = None) -> None:
        started = time.perf_counter()
        self.path = path
        self.error: str | None = None
        self.derivation = derivation or load_file(path)
        engine = Engine(self.derivation)
        self.drafts = [_check_links(engine, step, options, pool)
                       for step in self.derivation.steps]
        self.seconds = time.perf_counter() - started

    @classmethod
    def failed(cls, path: str, exc: InputError) -> _FileRun:
        run = cls.__new__(cls)
        run.path, run.error, run.derivation, run.drafts, run.seconds = (
            path, exc.format(), None, [], 0.0)
        return run

    def steps(self, proofs: dict[int, Limited]) -> tuple[StepResult, ...]:
        assert self.derivation is not None
        for links in self.drafts:
            for d in links:
                if d.job is not None and d.job in proofs:
                    d.outcome = with_proof(d.outcome, as_proof(proofs[d.job]))
        return tuple(_step_result(step, links)
                     for step, links in zip(self.derivation.steps, self.drafts))

    def finish(self, proofs: dict[int, Limited]) -> FileResult:
        if self.error or self.derivation is None:
            return FileResult(self.path, error=self.error, seconds=self.seconds)
        return FileResult(self.path, self.derivation.title, self.derivation.source,
                          self.steps(proofs), seconds=self.seconds)


def _has_derivative(node: E) -> bool:
    return any(n.op == "d" for n in node.walk())


@dataclass
class _Draft:
    """A link before its symbolic proof: the outcome and the diagnoses found."""

    outcome: Outcome
    found: list
    against: Verdict | None
    job: int | None = None


def _check_links(engine: Engine, step: Step, options: Options,
                 pool: WorkerPool | None) -> list[_Draft]:
    """Check each link of a step; mark links that follow correctly from an earlier error."""
    exprs = [e.node for e in step.exprs]
    drafts: list[_Draft] = []
    first_wrong: int | None = None
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
            truth = check_equation(engine, exprs[0], rhs, step.layout, options,
                                   rng_for(options, name, step.id, k, "truth"))
            against = truth.verdict
            if truth.verdict in (Verdict.REFUTED, Verdict.ILL_FORMED):
                found.append(diagnosis("follows-from-error", first_wrong=first_wrong + 1))
        if first_wrong is None and out.verdict in (Verdict.REFUTED, Verdict.ILL_FORMED):
            first_wrong = k
        job = None
        if pool is not None and out.verdict == Verdict.CHECKED and out.lhs is not None:
            key = (out.lhs, out.rhs, out.free)
            jobs = engine.__dict__.setdefault("_proof_jobs", {})
            if key not in jobs:  # identical equations are proved once
                jobs[key] = pool.submit(*proof_job(engine, out.lhs, out.rhs, out.free))
            job = jobs[key]
            pool.pump()
        drafts.append(_Draft(out, found, against, job))
    return drafts


def _step_result(step: Step, drafts: list[_Draft]) -> StepResult:
    links = tuple(LinkResult(
        index=k,
        lhs=step.exprs[k].text,
        rhs=step.exprs[k + 1].text,
        verdict=d.outcome.verdict,
        diagnoses=tuple(d.found),
        evidence=d.outcome.evidence,
        counterexample=d.outcome.counterexample,
        reference=d.outcome.reference,
        expected=step.expect[k] if step.expect else None,
        against_truth=d.against,
    ) for k, d in enumerate(drafts))
    verdict = combine([link.verdict for link in links])
    return StepResult(step.id, step.loc.line if step.loc else 0, step.form, verdict,
                      links, step.expect, step.note)
