"""The same batch on a Dask distributed cluster (``--dask SCHEDULER_ADDRESS``).

Optional: only this module imports Dask, and only when ``--dask`` is given.
Each submission's numeric checks are a task; the symbolic proofs the class
needs are further tasks, each equation once.  Inside a task the work runs in a
child process with the same time and memory limits as the local path; Dask's
worker processes are daemonic by default and may not start children, so start
workers with ``DASK_DISTRIBUTED__WORKER__DAEMON=False`` (or ``--no-nanny``).
Where a child cannot be started the submission is checked in the task itself,
and its proofs are skipped (its verdicts are then at most "checked" and say why);
the scores do not change, since "checked" and "proved" both hold.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable
from typing import Any

from derivcheck.engine.limits import Limited, run_limited
from derivcheck.grade.batch import (
    BatchOptions,
    Proofs,
    Submission,
    _finish_pending,
    _Pending,
    finish_ready,
    not_graded,
)
from derivcheck.grade.check import Prepared, check_submission, engine_for
from derivcheck.grade.score import SubmissionGrade

NO_CHILD = ("no symbolic proof: this Dask worker cannot start a bounded process "
            "(start the workers with DASK_DISTRIBUTED__WORKER__DAEMON=False)")


def _can_fork() -> bool:
    return not multiprocessing.current_process().daemon


def _check_task(prepared: Prepared, student: str, path: str, text: str, seconds: float,
                memory_mb: int) -> Limited:
    # the key's engine, built once in this worker process: the children inherit it
    engine_for(prepared.key.derivation, prepared.context)
    if _can_fork():
        return run_limited(check_submission, prepared, student, path, text, seconds=seconds,
                           memory_mb=memory_mb)
    try:
        return Limited(True, check_submission(prepared, student, path, text))
    except Exception as exc:  # pragma: no cover - check_submission catches input errors
        return Limited(False, reason=f"{type(exc).__name__}: {exc}"[:300])


def _prove_task(call: tuple, seconds: float, memory_mb: int) -> Limited:
    if not _can_fork():
        return Limited(False, reason=NO_CHILD)
    fn, *args = call
    return run_limited(fn, *args, seconds=seconds, memory_mb=memory_mb)


def run_dask(prepared: Prepared, todo: list[tuple[Submission, str, str]], batch: BatchOptions,
             address: str, done: Callable[[Submission, str, SubmissionGrade], None]) -> None:
    from dask.distributed import Client, as_completed

    options = prepared.options
    with Client(address) as client:
        remote_key = client.scatter(prepared, broadcast=True)
        futures = {}
        for sub, fingerprint, text in todo:
            f = client.submit(_check_task, remote_key, sub.student, sub.path, text,
                              batch.time_limit, batch.memory_mb, pure=False)
            futures[f] = _Pending(sub, fingerprint)
        book = Proofs()
        waiting: list[_Pending] = []
        queue = as_completed(list(futures))

        def submit_proof(call: tuple) -> Any:
            future = client.submit(_prove_task, call, options.time_limit, batch.memory_mb,
                                   pure=False)
            queue.add(future)
            return future

        for f in queue:
            if f in book.key_of:
                book.got(f, f.result())
                continue
            p = futures[f]
            result: Limited = f.result()
            if not result.ok:
                done(p.sub, p.fingerprint, not_graded(prepared, p.sub, result))
            else:
                book.want(p, result.value, options.symbolic, submit_proof)
                waiting.append(p)
            waiting = finish_ready(prepared, waiting, book.results, done)
        for p in waiting:  # pragma: no cover - every awaited proof was a task
            done(p.sub, p.fingerprint, _finish_pending(prepared, p, book.results))
