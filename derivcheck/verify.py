"""Runs the stages in order for files and folders: load -> engine -> compare -> diagnose.

Returns data only (``Report``); the reporters turn it into text or JSON.
"""

from __future__ import annotations

import os
import stat
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from derivcheck.codes import Diagnosis, diagnosis
from derivcheck.decide.instantiate import as_proof, preload, proof_setting, prove_call
from derivcheck.decide.options import Options
from derivcheck.decide.pipeline import (
    Outcome,
    check_equation,
    rng_for,
    wants_proof,
    with_proof,
)
from derivcheck.diagnose import diagnose
from derivcheck.display import readable
from derivcheck.engine import budget
from derivcheck.engine.budget import StepTimeout
from derivcheck.engine.core import Engine
from derivcheck.engine.limits import Limited, WorkerPool
from derivcheck.errors import InputError
from derivcheck.ir import E
from derivcheck.load import load_file
from derivcheck.model import Derivation, Step
from derivcheck.notes import (
    as_derivation,
    is_document,
    load_notes,
    loose_names,
    read_notes,
    unread_of,
)
from derivcheck.notes.build import Extraction
from derivcheck.printer import to_text_bounded
from derivcheck.results import (
    Evidence,
    FileResult,
    LinkResult,
    Report,
    Scope,
    StepResult,
    Verdict,
    combine,
)

YAML_SUFFIXES = (".yaml", ".yml")


def expand_paths(paths: Iterable[str | Path]) -> list[Path]:
    """Files as given, and every ``*.yaml``/``*.yml`` under each folder (sorted).

    Folders are walked without following symbolic links (no loops), and only
    regular files are taken from them (no FIFOs or devices that would block).
    """
    out: list[Path] = []
    for p in paths:
        path = Path(p)
        if path.is_dir():
            found = []
            for root, _dirs, files in os.walk(path, followlinks=False):
                for name in files:
                    f = Path(root) / name
                    if f.suffix in YAML_SUFFIXES and _is_regular(f):
                        found.append(f)
            out.extend(sorted(found))
        else:
            out.append(path)
    return out


def _is_regular(path: Path) -> bool:
    try:
        return stat.S_ISREG(path.lstat().st_mode)
    except OSError:
        return False


def verify_paths(paths: Iterable[str | Path], options: Options | None = None) -> Report:
    """Verify every derivation file in ``paths``; one bad file never stops the run.

    With several files, each file's numeric checks run as a job in a pool of
    ``options.workers`` processes; as a file finishes, the symbolic proofs of
    what agreed are queued in the same pool (each with ``options.time_limit``),
    so both cores stay busy.  A single file is checked in this process while
    its proofs run in the pool.
    """
    options = options or Options()
    files = expand_paths(paths)
    with WorkerPool(options.workers, seconds=options.time_limit) as pool:
        if len(files) > 1 and options.workers > 1:
            runs = _numeric_in_pool(files, options, pool)
        else:
            if options.symbolic and files:
                # one worker imports the CAS while this process runs the numeric checks
                pool.submit(preload)
            runs = [_start_file(p, options, pool if options.symbolic else None) for p in files]
        proofs = pool.results()
    return Report(tuple(run.finish(proofs) for run in runs), options.seed)


def _numeric_in_pool(files: list[Path], options: Options, pool: WorkerPool) -> list[_FileRun]:
    # Largest files first (their size predicts their time): the last file to finish
    # is then a short one, and both workers stay busy to the end.
    order = sorted(range(len(files)), key=lambda k: -_size(files[k]))
    jobs = {pool.submit(_numeric_job, str(files[k]), options,
                        seconds=options.file_time_limit): k for k in order}
    if options.symbolic:
        # While the workers run the numeric checks, import the CAS here once; workers
        # forked from now on (each replaces one as it finishes a file) share it.
        preload()
        pool.renew()
    runs: list[_FileRun | None] = [None] * len(files)
    pending = set(jobs)
    while pending:
        for job in pool.wait(pending):
            k = jobs[job]
            result = pool.result(job)
            run = result.value if result.ok else _FileRun.failed(
                str(files[k]), f"{files[k]}: not checked: {result.reason}")
            if options.symbolic:
                run.submit_proofs(pool)
            runs[k] = run
    return [r for r in runs if r is not None]


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def verify_file(path: str | Path, options: Options | None = None) -> FileResult:
    """Verify one file; an unreadable file gives a ``FileResult`` with ``error`` set."""
    return verify_paths([path], options).files[0]


def verify_derivation(derivation: Derivation, options: Options | None = None, *,
                      pool: WorkerPool | None = None) -> tuple[StepResult, ...]:
    """Check every step of a loaded derivation.

    ``pool``: a ``proof_pool`` kept open across calls (a warm process checking many
    derivations: the workers and their CAS stay up); by default a pool is started
    for this call and closed after it.

    Raises:
        InputError: a definition is ill-shaped, so nothing can be checked.
    """
    options = options or Options()
    if pool is not None:
        run = _FileRun(derivation.path, options, pool if options.symbolic else None,
                       derivation=derivation)
        return run.steps(pool.results() if options.symbolic else {})
    with _pool(options) as own:
        run = _FileRun(derivation.path, options, own, derivation=derivation)
        proofs = own.results() if own else {}
    return run.steps(proofs)


def verify_document(found: Extraction, options: Options | None = None) -> FileResult:
    """Check a document already read (``notes.read_notes`` or ``build.read_document``),
    as ``derivcheck verify notes.md`` does: its steps, what was not read, the proposed
    transcription repairs.

    Raises:
        InputError: no equation of it could be read as a step.
    """
    options = options or Options()
    with _pool(options) as own:
        run = _FileRun(found.path, options, own, extraction=found)
        proofs = own.results() if own else {}
    return run.finish(proofs)


def proof_pool(options: Options | None = None) -> WorkerPool:
    """Worker processes for symbolic proofs, to pass to ``verify_derivation`` again and
    again (use as a context manager).  The CAS is imported here first, so every worker
    starts with it."""
    options = options or Options()
    if options.symbolic:
        preload()
    return WorkerPool(options.workers, seconds=options.time_limit)


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
        return _FileRun.failed(str(path), exc.format())
    except RecursionError:
        # The readers bound nesting at parse time; this is a safety net, so that one
        # file never takes the others' results with it (a single run, --workers 1).
        return _FileRun.failed(str(path), f"{path}: nested too deeply to be checked "
                               "(a recursion limit was reached)")


def _numeric_job(path: str, options: Options) -> _FileRun:
    return _start_file(Path(path), options, None)


class _FileRun:
    """One file: numeric checks done at construction; proofs submitted to a pool."""

    def __init__(self, path: str, options: Options, pool: WorkerPool | None,
                 derivation: Derivation | None = None,
                 extraction: Extraction | None = None) -> None:
        started = time.perf_counter()
        self.path = path
        self.error: str | None = None
        self.latex = options.latex
        self.options = options
        # a Markdown/LaTeX document, as read
        self.extraction: Extraction | None = extraction
        if extraction is not None:
            derivation = as_derivation(extraction)
        elif derivation is None and is_document(path):
            self.extraction = read_notes(path, repairs=options.repairs)
            derivation = as_derivation(self.extraction)
        self.derivation: Derivation | None = derivation or load_file(
            path, second_reader=options.second_reader)
        engine = Engine(self.derivation)
        self.drafts = [_check_links(engine, step, options) for step in self.derivation.steps]
        if self.extraction is not None:
            for step, links in zip(self.derivation.steps, self.drafts):
                _about_loose_names(loose_names(self.extraction, step), links)
        # names of indices the engine introduced while differentiating, for the proofs
        self.index_range = dict(engine.index_range)
        self.seconds = time.perf_counter() - started
        if pool is not None:
            self.submit_proofs(pool)

    @classmethod
    def failed(cls, path: str, error: str) -> _FileRun:
        run = cls.__new__(cls)
        run.path, run.error, run.derivation, run.drafts, run.seconds = (
            path, error, None, [], 0.0)
        run.latex = False
        run.index_range = {}
        run.extraction = None
        return run

    def submit_proofs(self, pool: WorkerPool) -> None:
        """Submit a proof of every checked link (identical equations proved once)."""
        if self.derivation is None:
            return
        jobs: dict[tuple, int] = {}
        sizes = proof_setting(self.derivation.dims, self.derivation.size_floor)
        for links in self.drafts:
            for d in links:
                o = d.outcome
                if not wants_proof(o):
                    continue
                assert o.lhs is not None and o.rhs is not None
                key = (o.lhs, o.rhs, o.free)
                if key not in jobs:
                    jobs[key] = pool.submit(*prove_call(self.derivation, o.lhs, o.rhs, o.free,
                                                        sizes, self.index_range))
                d.job = jobs[key]

    def steps(self, proofs: dict[int, Limited]) -> tuple[StepResult, ...]:
        assert self.derivation is not None
        for links in self.drafts:
            for d in links:
                if d.job is not None and d.job in proofs:
                    d.apply_proof(proofs[d.job])
        return tuple(_step_result(step, links, self.latex)
                     for step, links in zip(self.derivation.steps, self.drafts))

    def finish(self, proofs: dict[int, Limited]) -> FileResult:
        if self.error or self.derivation is None:
            return FileResult(self.path, error=self.error, seconds=self.seconds)
        d = self.derivation
        steps = self.steps(proofs)
        if self.extraction is None:
            return FileResult(self.path, d.title, d.source, steps, seconds=self.seconds)
        unread = self.extraction.unread
        if self.options.repairs:
            from derivcheck.notes.repairs import with_repairs

            steps, unread = with_repairs(d, steps, unread, self.options)
        return FileResult(self.path, d.title, d.source, steps, seconds=self.seconds,
                          unread=unread_of(unread), inferred=d.warnings)


def _about_loose_names(names: tuple[str, ...], links: list[_Draft]) -> None:
    """A document's link that fails for some value of a name the document never says
    (``notes.loose_names``) is undecided, not refuted: the value meant may not be one
    of those tried.  Links that hold (for every value) keep their verdict."""
    if not names:
        return
    listed = ", ".join(names)
    for d in links:
        if d.outcome.verdict != Verdict.REFUTED:
            continue
        reason = (f"it fails for some values of {listed}, which the document neither "
                  "declares nor defines and no definition uses: the value meant may not be "
                  f"one of them; declare {names[0]} in a derivcheck block (e.g. "
                  f"`{names[0]}: onehot K` for a label) or define it")
        d.outcome = Outcome(Verdict.UNDECIDED, [], replace(d.outcome.evidence, reason=reason,
                                                           scope=Scope.NONE),
                            reference=d.outcome.reference)
        d.found = [diagnosis("unsupported", reason=reason)]


def load_any(path: str | Path, *, second_reader: bool = False) -> Derivation:
    """A derivation file, or a Markdown/LaTeX document read as one (``derivcheck.notes``)."""
    if is_document(path):
        return load_notes(path)
    return load_file(path, second_reader=second_reader)


def _has_derivative(node: E) -> bool:
    return any(n.op == "d" for n in node.walk())


@dataclass
class _Draft:
    """A link before its symbolic proof: the outcome and the diagnoses found."""

    outcome: Outcome
    found: list
    against: Verdict | None
    job: int | None = None
    reference: str = ""  # the engine's side, simplified for display

    def apply_proof(self, result: Limited) -> None:
        """The outcome with what a proof job gave (a time or memory limit: no proof)."""
        before = self.outcome.verdict
        self.outcome = with_proof(self.outcome, as_proof(result))
        if self.outcome.verdict != before and self.outcome.verdict.holds:
            # the proof decided it: what said why it was undecided no longer applies
            self.found = [f for f in self.found
                          if f.code not in ("unsupported", "unreached-branch")]


# decide(lhs, rhs, layout, what, with_diagnosis) -> (outcome, diagnoses); ``what``
# names the equation within its step, for the random stream.
Decide = Callable[[E, E, str, tuple, bool], tuple[Outcome, list[Diagnosis]]]


def decide_equation(engine: Engine, lhs: E, rhs: E, layout: str, options: Options,
                    rng: np.random.Generator, with_diagnosis: bool = True
                    ) -> tuple[Outcome, list[Diagnosis]]:
    """Check one equation and diagnose it; a bug in derivcheck gives ``undecided``.

    The numeric check and the diagnosis each run within ``options.step_time_limit``
    (``engine.budget``): a numeric check past it is ``undecided`` (``time-limit``); a
    diagnosis past it leaves the verdict as decided, with a ``time-limit`` note in
    place of the explanation.
    """
    limit = options.step_time_limit
    try:
        with budget.stage("numeric check", limit):
            out = check_equation(engine, lhs, rhs, layout, options, rng)
        if not with_diagnosis:
            return out, list(out.diagnoses)
        ref_is_rhs = _has_derivative(rhs) and not _has_derivative(lhs)
        found = list(out.diagnoses)
        # The float64 rules cannot see a difference only high precision found: their
        # points are those where the sides agree (a domain difference is at a point
        # where one side is undefined, so any edit "fits" the others: A.T for A).
        if not any(d.code in ("tiny-difference", "domain") for d in found):
            try:
                with budget.stage("diagnosis", limit):
                    found += diagnose(engine, out, options, rng, reference_is_rhs=ref_is_rhs)
            except StepTimeout as exc:
                found.append(diagnosis("time-limit", detail=f"{exc}; the verdict stands, "
                                       "without an explanation"))
    except StepTimeout as exc:
        out = Outcome(Verdict.UNDECIDED, [], Evidence("none", reason=str(exc)))
        found = [diagnosis("time-limit", detail=str(exc))]
    except Exception as exc:  # a bug in derivcheck never stops a run
        detail = f"{type(exc).__name__}: {exc}"[:200]
        out = Outcome(Verdict.UNDECIDED, [], Evidence("none", reason=detail))
        found = [diagnosis("internal-error", detail=detail)]
    return out, found


def reference_text(engine: Engine, outcome: Outcome,
                   seconds: float | None = None) -> str:
    """The engine's own side of an equation as a formula for people (simplified for
    display, within ``seconds``: past them, as the engine built it)."""
    node = outcome.reference
    if node is None:
        return ""
    try:
        with budget.stage("display", seconds):
            return to_text_bounded(readable(node, engine))
    except StepTimeout:
        return to_text_bounded(node)


def _check_links(engine: Engine, step: Step, options: Options,
                 decide: Decide | None = None) -> list[_Draft]:
    """Check each link of a step; mark links that follow correctly from an earlier error."""
    forms = step.latex if options.latex and step.latex else step.exprs
    exprs = [e.node for e in forms]
    if decide is None:
        name = Path(engine.derivation.path).name

        def decide(lhs: E, rhs: E, layout: str, what: tuple, with_diagnosis: bool
                   ) -> tuple[Outcome, list[Diagnosis]]:
            rng = rng_for(options, name, step.id, *what)
            return decide_equation(engine, lhs, rhs, layout, options, rng, with_diagnosis)

    drafts: list[_Draft] = []
    first_wrong: int | None = None
    for k in range(len(exprs) - 1):
        out, found = decide(exprs[k], exprs[k + 1], step.layout, (k,), True)
        against = None
        if first_wrong is not None and out.verdict.holds:
            truth, _ = decide(exprs[0], exprs[k + 1], step.layout, (k, "truth"), False)
            against = truth.verdict
            if truth.verdict in (Verdict.REFUTED, Verdict.ILL_FORMED):
                found.append(diagnosis("follows-from-error", first_wrong=first_wrong + 1))
        if first_wrong is None and out.verdict in (Verdict.REFUTED, Verdict.ILL_FORMED):
            first_wrong = k
        drafts.append(_Draft(out, found, against, reference=reference_text(
            engine, out, options.step_time_limit)))
    return drafts


def _step_result(step: Step, drafts: list[_Draft], use_latex: bool) -> StepResult:
    forms = step.latex if use_latex and step.latex else step.exprs
    links = tuple(LinkResult(
        index=k,
        lhs=forms[k].text,
        rhs=forms[k + 1].text,
        lhs_latex=forms[k].latex,
        rhs_latex=forms[k + 1].latex,
        reading=tuple(dict.fromkeys(forms[k].reading + forms[k + 1].reading)),
        second_reader=(forms[k].second_reader, forms[k + 1].second_reader),
        verdict=d.outcome.verdict,
        diagnoses=tuple(d.found),
        evidence=d.outcome.evidence,
        counterexample=d.outcome.counterexample,
        reference=d.reference,
        expected=step.expect[k] if step.expect else None,
        against_truth=d.against,
    ) for k, d in enumerate(drafts))
    verdict = combine([link.verdict for link in links])
    return StepResult(step.id, step.loc.line if step.loc else 0, step.form, verdict,
                      links, step.expect, step.note)
