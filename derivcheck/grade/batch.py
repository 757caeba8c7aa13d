"""Grading a class: find the submissions, grade them in worker processes, never lose one.

Stages: ``discover`` (paths -> ``Submission``s, nothing followed outside the
paths given) -> ``grade_batch`` (numeric checks of each submission as a pool
job with its own time and memory limit; the symbolic proofs the class needs,
each equation once, as further jobs) -> grade dictionaries, in the order of
the submissions.  A journal (one JSON line per graded submission, flushed and
synced) makes an interrupted batch resumable with exactly the same results.
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import json
import os
import sys
import time
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import IO, Any

from derivcheck.atomic import write_text
from derivcheck.engine.limits import DEFAULT_MEMORY_MB, Limited, WorkerPool
from derivcheck.errors import InputError
from derivcheck.escape import is_unsafe, json_dumps, term_text
from derivcheck.grade.check import (
    Checked,
    Prepared,
    cache_hits_since,
    check_submission,
    decided_since,
    finish,
    forget_proofs,
    learn,
    proofs_known,
)
from derivcheck.grade.export import Rendered, grade_dict, render
from derivcheck.grade.score import SubmissionGrade
from derivcheck.load import read_text

YAML_SUFFIXES = (".yaml", ".yml")
JOURNAL = ".derivcheck-journal.jsonl"
JOURNAL_VERSION = 1
SYNC_SECONDS = 1.0
NOT_YAML = ("not a .yaml file: only .yaml and .yml files are graded (rename it, e.g. "
            "answer.yaml, if it is one)")


@dataclass(frozen=True)
class Submission:
    """One student's file, or why there is none to read."""

    student: str  # unique in a batch, from the file name (``student_id``)
    path: str
    problem: str = ""  # set when the submission cannot be read at all


@dataclass
class BatchOptions:
    """How a batch runs (not what it finds: results do not depend on these)."""

    workers: int = 2
    time_limit: float = 60.0  # wall seconds for one submission's numeric checks
    memory_mb: int = DEFAULT_MEMORY_MB
    resume: bool = False
    journal_dir: str | None = None  # where the journal lives (the output folder)
    progress: Callable[[int, int, str], None] | None = None
    # the students' Markdown feedback is made by the workers at this detail
    # (``export.DETAILS``); None: no feedback text is made
    feedback_detail: str | None = None
    # the folder of the feedback files, ``<student>.md``: each is written as its
    # submission is graded (by the local worker that graded it), not all at the end
    feedback_dir: str | None = None


def student_id(name: str) -> str:
    """The id of the student whose file (or folder) is called ``name`` (suffix removed).

    The name as written (NFC), so ids keep every letter (``Иван``, ``张伟``), and two
    different names give two different ids: only what a file name must not hold is
    percent-encoded, reversibly (``%`` itself, ``/``, ``\\``, a leading ``.``, and the
    characters of ``derivcheck.escape.is_unsafe``: controls, bidi overrides, line
    separators).  Safety for a spreadsheet, Markdown, LaTeX or a terminal is the job of
    each output's escaping, not of the id.  A very long name keeps its first 150 bytes
    and a digest of the rest.
    """
    name = unicodedata.normalize("NFC", name)
    out = []
    for k, ch in enumerate(name):
        if ch in "%/\\" or (k == 0 and ch == ".") or is_unsafe(ch):
            out.append("".join(f"%{b:02X}" for b in ch.encode("utf-8", "surrogatepass")))
        else:
            out.append(ch)
    sid = "".join(out) or "%"
    raw = sid.encode("utf-8")
    if len(raw) > 200:
        digest = hashlib.sha256(raw).hexdigest()[:12]
        sid = raw[:150].decode("utf-8", "ignore") + "~" + digest
    return sid


def discover(paths: Iterable[str | Path]) -> tuple[list[Submission], list[str]]:
    """Submissions in ``paths``, and the entries skipped (with why).

    A file is one student (the id is its name without the suffix).  A folder
    holds one YAML file per student, or one folder per student with exactly one
    YAML file in it.  Symbolic links are never followed (a submission cannot
    point outside the folders given); hidden entries are skipped.
    """
    found: list[Submission] = []
    skipped: list[str] = []
    for p in paths:
        path = Path(p)
        if path.is_symlink():
            found.append(Submission(student_id(path.stem), str(path),
                                    "a symbolic link: not followed"))
        elif path.is_dir():
            for entry in sorted(os.scandir(path), key=lambda e: e.name):
                _entry(entry, found, skipped)
        elif path.is_file():
            found.append(Submission(student_id(path.stem), str(path)))
        else:
            found.append(Submission(student_id(path.stem), str(path), "no such file"))
    _check_unique(found)
    return found, skipped


def _entry(entry: os.DirEntry, found: list[Submission], skipped: list[str]) -> None:
    name = entry.name
    if name.startswith("."):
        return
    stem = name.rsplit(".", 1)[0] if "." in name else name
    if entry.is_symlink():
        found.append(Submission(student_id(stem), entry.path, "a symbolic link: not followed"))
    elif entry.is_file(follow_symlinks=False):
        if name.lower().endswith(YAML_SUFFIXES):
            found.append(Submission(student_id(stem), entry.path))
        else:  # listed with 0, so that no student vanishes; the whole name is the id
            found.append(Submission(student_id(name), entry.path, NOT_YAML))
    elif entry.is_dir(follow_symlinks=False):
        files = []
        links = []
        for sub in sorted(os.scandir(entry.path), key=lambda e: e.name):
            if sub.name.startswith(".") or not sub.name.lower().endswith(YAML_SUFFIXES):
                continue
            if sub.is_symlink():
                links.append(sub.name)
            elif sub.is_file(follow_symlinks=False):
                files.append(sub.path)
        sid = student_id(name)
        if len(files) == 1 and not links:
            found.append(Submission(sid, files[0]))
        elif links:
            found.append(Submission(sid, entry.path, f"a symbolic link in the folder "
                                    f"({links[0]}): not followed"))
        elif not files:
            found.append(Submission(sid, entry.path, "the folder has no .yaml file"))
        else:
            found.append(Submission(sid, entry.path, f"the folder has {len(files)} .yaml "
                                    "files; one was expected"))
    else:
        skipped.append(f"{entry.path}: not a regular file")


def _check_unique(subs: list[Submission]) -> None:
    """Two files that give one id (``alice.yaml`` and ``alice.yml``, a folder ``alice/``
    and ``alice.yaml``, or ids that differ only in case, which share a feedback file
    on macOS and Windows) cannot be told apart: an error naming both."""
    seen: dict[str, Submission] = {}
    for s in subs:
        folded = s.student.casefold()
        other = seen.get(folded)
        if other is not None:
            same = "the same student id" if other.student == s.student else (
                "student ids that differ only in case")
            raise InputError(f"{other.path} and {s.path} give {same} "
                             f"({other.student!r}, {s.student!r}): which one to grade "
                             "cannot be decided", s.path,
                             hint="rename or remove one of the two files")
        seen[folded] = s


# -- the journal --------------------------------------------------------------------
def _header(prepared: Prepared) -> dict[str, Any]:
    o = prepared.options
    return {"journal": JOURNAL_VERSION, "key": prepared.key.digest, "seed": o.seed,
            "settings": o.settings, "points": o.points, "symbolic": o.symbolic,
            "time_limit": o.time_limit, "step_time_limit": o.step_time_limit,
            "latex": o.latex}


class Journal:
    """Graded submissions, one JSON line each, synced to disk as they finish."""

    def __init__(self, folder: str | None, prepared: Prepared, resume: bool) -> None:
        self.path = Path(folder) / JOURNAL if folder else None
        self.done: dict[str, dict] = {}  # student -> entry
        self.handle: IO[str] | None = None
        self.synced = 0.0
        if self.path is None:
            return
        header = _header(prepared)
        if resume and self.path.exists():
            self.done = self._read(header)
            self.handle = open(self.path, "a", encoding="utf-8")  # noqa: SIM115
        else:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.handle = open(self.path, "w", encoding="utf-8")  # noqa: SIM115
            self._write(header)

    def _read(self, header: dict) -> dict[str, dict]:
        assert self.path is not None
        # one entry per "\n": splitlines() would also split at U+2028 or U+0085, which
        # a journal written by an older version may hold raw inside a string
        lines = [line for line in self.path.read_text(encoding="utf-8").split("\n") if line]
        try:
            first = json.loads(lines[0]) if lines else None
        except json.JSONDecodeError:
            first = None
        if first != header:
            raise InputError("the journal to resume was made with another answer key or "
                             "other options", str(self.path),
                             hint="run again without --resume (it starts over), or with the "
                             "same key, --seed and check options")
        done: dict[str, dict] = {}
        for line in lines[1:]:
            try:
                entry = json.loads(line)
            except json.JSONDecodeError:
                continue  # a line cut short by a kill: that submission is graded again
            if isinstance(entry, dict) and "student" in entry and "grade" in entry:
                done[entry["student"]] = entry
        return done

    def _write(self, obj: dict) -> None:
        # keys in the order the grade was built (sort_keys would reorder a counterexample's
        # sizes, and a resumed batch would write other outputs); unsafe characters escaped
        self._write_line(json_dumps(obj))

    def _write_line(self, line: str) -> None:
        """One line, flushed at once (a killed process loses nothing written); synced to
        the disk at most every ``SYNC_SECONDS`` (a machine crash loses at most those
        lines, which ``--resume`` grades again) and when the journal is closed."""
        assert self.handle is not None
        self.handle.write(line + "\n")
        self.handle.flush()
        now = time.monotonic()
        if now - self.synced >= SYNC_SECONDS:
            self._sync()
            self.synced = now

    def _sync(self) -> None:
        if self.handle is not None:
            with contextlib.suppress(OSError):
                os.fsync(self.handle.fileno())

    def reuse(self, sub: Submission, fingerprint: str) -> dict | None:
        entry = self.done.get(sub.student)
        if entry and entry.get("fingerprint") == fingerprint and entry.get("path") == sub.path:
            return entry["grade"]  # type: ignore[no-any-return]
        return None

    def seconds(self, sub: Submission) -> float:
        """How long the journalled grading of ``sub`` took (0 if not recorded)."""
        value = self.done.get(sub.student, {}).get("seconds", 0.0)
        return float(value) if isinstance(value, (int, float)) else 0.0

    def add(self, sub: Submission, fingerprint: str, grade: str,
            seconds: float = 0.0) -> None:
        """Journal a graded submission; ``grade`` is its grade dictionary as ``json_dumps``
        wrote it (the line is the ``json_dumps`` of the whole entry, built from it)."""
        if self.handle is not None:
            self._write_line(journal_line(sub, fingerprint, grade, seconds))

    def close(self) -> None:
        if self.handle is not None:
            self._sync()
            self.handle.close()
            self.handle = None


def journal_line(sub: Submission, fingerprint: str, grade: str, seconds: float) -> str:
    """``json_dumps`` of a journal entry, with the grade already written as ``grade``."""
    return (f'{{"student": {json_dumps(sub.student)}, "path": {json_dumps(sub.path)}, '
            f'"fingerprint": {json_dumps(fingerprint)}, "grade": {grade}, '
            f'"seconds": {json_dumps(round(seconds, 3))}}}')


# -- running ------------------------------------------------------------------------
@dataclass
class _Pending:
    sub: Submission
    fingerprint: str
    text: str = ""
    checked: Checked | None = None
    waiting: set[tuple] = field(default_factory=set)
    retried: bool = False


def _worth_retrying(result: Limited) -> bool:
    """A worker that ended without an answer (not a time limit) is tried once more."""
    return "time limit" not in result.reason and "ended without an answer" in result.reason


def _read(sub: Submission) -> tuple[str | None, str, str | None]:
    """(text, fingerprint, problem)."""
    if sub.problem:
        return None, "problem:" + sub.problem, f"{sub.path}: {sub.problem}"
    try:
        text = read_text(sub.path)
    except InputError as exc:
        return None, "error:" + exc.message, exc.format()
    return text, hashlib.sha256(text.encode("utf-8")).hexdigest(), None


def _failed(prepared: Prepared, sub: Submission, reason: str) -> SubmissionGrade:
    return SubmissionGrade(sub.student, sub.path, 0.0, prepared.key.rubric.max_points, (), (),
                           (), reason, 0.0)


def grade_batch(prepared: Prepared, subs: list[Submission], batch: BatchOptions,
                runner: str = "local", dask_address: str | None = None,
                timings: dict[str, float] | None = None) -> list[dict]:
    """Grade every submission; grade dictionaries in the order of ``subs``.

    ``timings``, if given, receives each student's checking time in seconds (kept
    out of the grades, which are identical on every run; Gradescope's
    ``execution_time``).

    Raises:
        KeyboardInterrupt: interrupted (the journal keeps what was finished).
    """
    return [r.data() for r in run_batch(prepared, subs, batch, runner, dask_address, timings)]


class _Collector:
    """The graded submissions of a batch, journalled as they come in."""

    def __init__(self, prepared: Prepared, batch: BatchOptions, total: int,
                 journal: Journal, seconds: dict[str, float]) -> None:
        self.prepared = prepared
        self.batch = batch
        self.total = total
        self.journal = journal
        self.seconds = seconds
        self.out: dict[str, Rendered] = {}

    def rendered(self, sub: Submission, fingerprint: str, r: Rendered, seconds: float) -> None:
        """A submission graded (and its outputs rendered) in a worker."""
        self.journal.add(sub, fingerprint, r.grade, seconds)
        self.out[sub.student] = _written(r, self.batch.feedback_dir)
        self.seconds[sub.student] = seconds
        _tick(self.batch, len(self.out), self.total, sub.student)

    def graded(self, sub: Submission, fingerprint: str, grade: SubmissionGrade) -> None:
        """A submission graded here (its proofs came in after its checks, or it failed)."""
        r = render(grade_dict(grade, self.prepared), self.prepared, self.batch.feedback_detail)
        self.rendered(sub, fingerprint, r, grade.seconds)


def run_batch(prepared: Prepared, subs: list[Submission], batch: BatchOptions,
              runner: str = "local", dask_address: str | None = None,
              timings: dict[str, float] | None = None,
              stats: dict[str, int] | None = None) -> list[Rendered]:
    """``grade_batch``, each grade's outputs as text (``Rendered``), in the order of ``subs``.

    ``stats``, if given, receives the counts of ``STATS`` (for benchmarks; they depend on
    the order work was done in, the grades never do).
    """
    journal = Journal(batch.journal_dir, prepared, batch.resume)
    seconds: dict[str, float] = timings if timings is not None else {}
    into = _Collector(prepared, batch, len(subs), journal, seconds)
    detail = batch.feedback_detail
    try:
        todo: list[tuple[Submission, str, str]] = []
        for sub in subs:
            text, fingerprint, problem = _read(sub)
            old = journal.reuse(sub, fingerprint)
            if old is not None:
                into.out[sub.student] = _written(render(old, prepared, detail),
                                                 batch.feedback_dir)
                seconds[sub.student] = journal.seconds(sub)
            elif problem is not None or text is None:
                into.graded(sub, fingerprint, _failed(prepared, sub, problem or "not read"))
            else:
                todo.append((sub, fingerprint, text))
        _tick(batch, len(into.out), len(subs), "")
        if runner == "dask":
            from derivcheck.grade.dask_runner import run_dask

            run_dask(prepared, todo, batch, dask_address or "", into, stats)
        else:
            _run_local(prepared, todo, batch, into, stats)
    finally:
        journal.close()
    return [into.out[s.student] for s in subs]


def _tick(batch: BatchOptions, n: int, total: int, student: str) -> None:
    if batch.progress is not None:
        batch.progress(n, total, student)


def _written(r: Rendered, folder: str | None) -> Rendered:
    """``r`` with its feedback written to ``folder/<student>.md`` (if a folder is given and
    it is not written yet): the text is not kept."""
    if folder is None or r.feedback is None or r.feedback_written:
        return r
    write_text(Path(folder) / f"{r.student}.md", r.feedback)
    return replace(r, feedback=None, feedback_written=True)


# -- in a worker ----------------------------------------------------------------------
_WORKER: dict[str, Any] = {}


def _start_worker(prepared: Prepared, detail: str | None,
                  feedback_dir: str | None = None) -> None:
    """A batch's worker starts: what every job shares; nothing learnt from another batch."""
    _WORKER["prepared"] = prepared
    _WORKER["detail"] = detail
    _WORKER["feedback_dir"] = feedback_dir
    decided_since()  # the key's own decisions (inherited): the other workers have them
    forget_proofs()
    # what the parent built (SymPy, the key; a Dask worker's own state) stays as it is:
    # the collector no longer walks it, nor writes to its pages (copy on write)
    gc.freeze()


def grade_job(student: str, path: str, text: str) -> tuple:
    """One submission in a worker: its checks; if every proof they want is known here,
    its score and its outputs as text (the main process only writes them).

    Returns ``("rendered", Rendered, seconds, hits, decided)`` or ``("checked",
    Checked, hits, decided)``: ``decided`` the equations this worker decided meanwhile
    (for the other workers), ``hits`` how many it took from its cache.
    """
    prepared: Prepared = _WORKER["prepared"]
    checked = check_submission(prepared, student, path, text)
    decided = decided_since()
    known = proofs_known()
    if prepared.options.symbolic and any(k not in known for k in checked.proofs):
        return ("checked", checked, cache_hits_since(), decided)
    grade = _finish(prepared, Submission(student, path), checked, known)
    rendered = _written(render(grade_dict(grade, prepared), prepared, _WORKER["detail"]),
                        _WORKER["feedback_dir"])
    return ("rendered", rendered, grade.seconds, cache_hits_since(), decided)


# -- in the main process --------------------------------------------------------------
class Shared:
    """The decided equations of a batch, passed on to every worker once; and counts."""

    def __init__(self, stats: dict[str, int] | None = None) -> None:
        self.keys: set[tuple] = set()
        self.stats = stats if stats is not None else {}
        for name in STATS:
            self.stats.setdefault(name, 0)

    def new(self, decided: list[tuple], hits: int = 0) -> list[tuple]:
        """Of ``decided`` (from one worker), the entries no worker has been sent yet."""
        self.stats["decisions"] += len(decided)
        self.stats["cache_hits"] += hits
        fresh = []
        for key, hit in decided:
            if key not in self.keys:
                self.keys.add(key)
                fresh.append((key, hit))
        self.stats["equations"] = len(self.keys)
        return fresh


# what ``run_batch(stats=...)`` counts: equations decided (distinct), decisions made by
# the workers (an equation two workers met at once is decided twice), decisions taken
# from a worker's cache, submissions finished in a worker / here (proofs came later)
STATS = ("equations", "decisions", "cache_hits", "finished_in_workers", "finished_here")


def _run_local(prepared: Prepared, todo: list[tuple[Submission, str, str]],
               batch: BatchOptions, into: _Collector,
               stats: dict[str, int] | None = None) -> None:
    options = prepared.options
    if options.symbolic and todo:
        from derivcheck.decide.instantiate import preload

        preload()  # SymPy once, before the workers fork: they share it
    forget_proofs()
    with WorkerPool(batch.workers, seconds=batch.time_limit, memory_mb=batch.memory_mb,
                    init=(_start_worker, prepared, batch.feedback_detail,
                          batch.feedback_dir), prefetch=True) as pool:
        check_jobs: dict[int, _Pending] = {}
        for sub, fingerprint, text in todo:
            job = pool.submit(grade_job, sub.student, sub.path, text)
            check_jobs[job] = _Pending(sub, fingerprint, text)
        book = Proofs()
        shared = Shared(stats)
        waiting: list[_Pending] = []
        pending = set(check_jobs)

        def submit_proof(call: tuple) -> int:
            job = pool.submit(*call, seconds=options.time_limit)
            pending.add(job)
            return job

        while pending or waiting:
            for job in pool.wait(pending) if pending else []:
                result = pool.take(job)
                if book.got(job, result):
                    pool.broadcast(learn, [], [(book.key_of[job], result)])
                    continue
                p = check_jobs.pop(job)
                if not result.ok and _worth_retrying(result) and not p.retried:
                    # the worker died (killed from outside, or it crashed): once more
                    p.retried = True
                    retry = pool.submit(grade_job, p.sub.student, p.sub.path, p.text)
                    check_jobs[retry] = p
                    pending.add(retry)
                    continue
                if not result.ok:
                    into.graded(p.sub, p.fingerprint, not_graded(prepared, p.sub, result))
                    continue
                kind, value, *rest = result.value
                fresh = shared.new(rest[-1], rest[-2])
                if fresh:
                    pool.broadcast(learn, fresh)
                if kind == "rendered":
                    into.rendered(p.sub, p.fingerprint, value, rest[0])
                    shared.stats["finished_in_workers"] += 1
                    continue
                shared.stats["finished_here"] += 1
                book.want(p, value, options.symbolic, submit_proof)
                waiting.append(p)
            waiting = finish_ready(prepared, waiting, book.results, into.graded)
            if not pending and waiting:  # cannot happen: every awaited proof is a job
                for p in waiting:
                    into.graded(p.sub, p.fingerprint, _finish_pending(prepared, p,
                                                                      book.results))
                waiting = []


class Proofs:
    """The symbolic proofs a class needs, each asked for once, whatever runs them.

    ``handle`` is what the runner gives back for a submitted proof (a pool job,
    a Dask future).
    """

    def __init__(self) -> None:
        self.asked: dict[tuple, Any] = {}  # proof key -> handle
        self.key_of: dict[Any, tuple] = {}  # handle -> proof key
        self.results: dict[tuple, Limited] = {}

    def want(self, p: _Pending, checked: Checked, symbolic: bool,
             submit: Callable[[tuple], Any]) -> None:
        """Record a checked submission; submit the proofs it needs that nobody asked for."""
        p.checked = checked
        for key, call in (checked.proofs.items() if symbolic else ()):
            if key not in self.asked:
                handle = submit(call)
                self.asked[key] = handle
                self.key_of[handle] = key
            if key not in self.results:
                p.waiting.add(key)

    def got(self, handle: Any, result: Limited) -> bool:
        """Record a proof's result; False if ``handle`` is not a proof."""
        key = self.key_of.get(handle)
        if key is None:
            return False
        self.results[key] = result
        return True


def not_graded(prepared: Prepared, sub: Submission, result: Limited) -> SubmissionGrade:
    """A submission whose checks ran out of a limit (or whose worker died): 0, the reason."""
    return _failed(prepared, sub, f"not graded: {result.reason} (the limit for one "
                   "submission)")


def finish_ready(prepared: Prepared, waiting: list[_Pending], proofs: dict[tuple, Limited],
                 done: Callable[[Submission, str, SubmissionGrade], None]) -> list[_Pending]:
    """Score every checked submission whose proofs are all in; the ones still waiting."""
    still = []
    for p in waiting:
        p.waiting -= set(proofs)
        if p.waiting:
            still.append(p)
        else:
            done(p.sub, p.fingerprint, _finish_pending(prepared, p, proofs))
    return still


def _finish_pending(prepared: Prepared, p: _Pending,
                    proofs: dict[tuple, Limited]) -> SubmissionGrade:
    assert p.checked is not None
    return _finish(prepared, p.sub, p.checked, proofs)


def _finish(prepared: Prepared, sub: Submission, checked: Checked,
            proofs: dict[tuple, Limited]) -> SubmissionGrade:
    try:
        return finish(prepared, checked, proofs)
    except Exception as exc:  # a bug in derivcheck never stops a batch
        return _failed(prepared, sub, f"derivcheck failed on this submission "
                       f"({type(exc).__name__}: {str(exc)[:200]}); please report it")


class Progress:
    """A one-line progress bar on a terminal; silent when the stream is not one."""

    def __init__(self, stream: IO[str] | None = None, enabled: bool | None = None) -> None:
        self.stream = stream or sys.stderr
        self.enabled = self.stream.isatty() if enabled is None else enabled
        self.started = time.monotonic()
        self.shown = False

    def __call__(self, n: int, total: int, student: str) -> None:
        if not self.enabled:
            return
        width = 30
        filled = int(width * n / total) if total else width
        rate = n / max(time.monotonic() - self.started, 1e-6)
        name = term_text(student)[:24]
        self.stream.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {n}/{total} "
                          f"{rate:5.1f}/s {name:<24}")
        self.stream.flush()
        self.shown = True

    def close(self) -> None:
        if self.enabled and self.shown:
            self.stream.write("\n")
            self.stream.flush()

