"""The same batch on a Dask distributed cluster (``--dask SCHEDULER_ADDRESS``).

Optional: only this module imports Dask, and only when ``--dask`` is given.
A task grades a chunk of submissions (a few tens: Dask spends a few milliseconds
on each task, as long as a submission takes); the symbolic proofs the class needs
are further tasks, each equation once.  Inside a task each submission runs in a
long-lived child process of the Dask worker (a one-process ``WorkerPool`` per
worker thread, kept for the batch) with the same time and memory limits as the
local path, one submission at a time: its
caches stay warm from one submission to the next, and what other workers decided
(equations, proofs) reaches it as it does locally (the client sends it to every
Dask worker with ``Client.run``; each child hears it before its next
submission).  Dask's worker processes are daemonic by default and may not start
children, so start workers with ``DASK_DISTRIBUTED__WORKER__DAEMON=False`` (or
``--no-nanny``).  Where a child cannot be started the submission is checked in
the task itself, and its proofs are skipped (its verdicts are then at most
"checked" and say why); the scores do not change, since "checked" and "proved"
both hold.  The children are closed when the batch ends (and die with their
Dask worker).
"""

from __future__ import annotations

import contextlib
import multiprocessing
import threading
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

from derivcheck.engine.limits import Limited, WorkerPool, run_limited
from derivcheck.grade.batch import (
    BatchOptions,
    Proofs,
    Shared,
    Submission,
    _finish_pending,
    _Pending,
    _start_worker,
    finish_ready,
    grade_job,
    not_graded,
)
from derivcheck.grade.check import Prepared, engine_for, learn

if TYPE_CHECKING:
    from derivcheck.grade.batch import _Collector

CHUNK = 25  # submissions per task at most (fewer when the class is small)
NO_CHILD = ("no symbolic proof: this Dask worker cannot start a bounded process "
            "(start the workers with DASK_DISTRIBUTED__WORKER__DAEMON=False)")

# -- in a Dask worker process ---------------------------------------------------------
_LOCK = threading.Lock()
_NEWS: dict[str, list[tuple]] = {}  # batch -> what its workers learnt, in order
_POOLS: dict[str, list[WorkerPool]] = {}  # batch -> the children started for it
_THREAD = threading.local()  # this thread's (batch, pool, calls of _NEWS it heard)
_IN_TASK: set[str] = set()  # batches whose state is set in this process (no children)


def _can_fork() -> bool:
    return not multiprocessing.current_process().daemon


def _pool(batch_id: str, prepared: Prepared, seconds: float, memory_mb: int,
          detail: str | None, folder: tuple[str, str, str] | None) -> WorkerPool:
    state = getattr(_THREAD, "state", None)
    if state is None or state[0] != batch_id:
        pool = WorkerPool(1, seconds=seconds, memory_mb=memory_mb,
                          init=(_start_worker, prepared, detail, _reachable(folder)))
        _THREAD.state = state = [batch_id, pool, 0]
        with _LOCK:
            _POOLS.setdefault(batch_id, []).append(pool)
    pool, heard = state[1], state[2]
    with _LOCK:
        news = _NEWS.get(batch_id, [])[heard:]
        state[2] = heard + len(news)
    for call in news:
        pool.broadcast(*call)
    return pool  # type: ignore[no-any-return]


def _reachable(folder: tuple[str, str, str] | None) -> str | None:
    """The client's feedback folder, if this worker sees it: the probe file the client
    wrote there (``(folder, probe name, token)``) holds the token."""
    if folder is None:
        return None
    path, name, token = folder
    try:
        return path if (Path(path) / name).read_text(encoding="utf-8") == token else None
    except OSError:
        return None


def _grade_chunk(batch_id: str, prepared: Prepared, chunk: list[tuple[str, str, str]],
                 seconds: float, memory_mb: int, detail: str | None,
                 folder: tuple[str, str, str] | None = None) -> list[Limited]:
    """Grade each ``(student, path, text)`` of ``chunk`` with its own limits (as
    ``grade_job`` in a worker): one result each, in order.  ``folder``: where the
    feedback files go, written by this worker if it sees the folder (``_reachable``)."""
    # the key's engine, built once in this worker process: the children inherit it
    engine_for(prepared.key.derivation, prepared.context)
    out = []
    for student, path, text in chunk:
        if _can_fork():
            pool = _pool(batch_id, prepared, seconds, memory_mb, detail, folder)
            job = pool.submit(grade_job, student, path, text)
            pool.wait({job})
            out.append(pool.take(job))
        else:
            out.append(_in_task(batch_id, prepared, detail, student, path, text))
    return out


def _in_task(batch_id: str, prepared: Prepared, detail: str | None, student: str, path: str,
             text: str) -> Limited:
    """A daemonic Dask worker: the submission is graded in the task itself (no limits)."""
    with _LOCK:
        if batch_id not in _IN_TASK:
            _IN_TASK.add(batch_id)
            _start_worker(prepared, detail)
        news = _NEWS.get(batch_id, [])
        for call in news:
            call[0](*call[1:])
        news.clear()
    try:
        return Limited(True, grade_job(student, path, text))
    except Exception as exc:  # pragma: no cover - check_submission catches input errors
        return Limited(False, reason=f"{type(exc).__name__}: {exc}"[:300])


async def _hear(batch_id: str, decided: list[tuple], proofs: list[tuple]) -> None:
    """What another worker found (``Client.run`` calls this in every Dask worker, on its
    event loop: a coroutine, so that the client need not wait for it)."""
    with _LOCK:
        _NEWS.setdefault(batch_id, []).append((learn, decided, proofs))


def _close(batch_id: str) -> None:
    """The batch is over: its children end, what it learnt is forgotten."""
    with _LOCK:
        pools = _POOLS.pop(batch_id, [])
        _NEWS.pop(batch_id, None)
        _IN_TASK.discard(batch_id)
    for pool in pools:
        pool.close()


def _prove_task(call: tuple, seconds: float, memory_mb: int) -> Limited:
    if not _can_fork():
        return Limited(False, reason=NO_CHILD)
    fn, *args = call
    return run_limited(fn, *args, seconds=seconds, memory_mb=memory_mb)


# -- in the client ----------------------------------------------------------------------
def run_dask(prepared: Prepared, todo: list[tuple[Submission, str, str]], batch: BatchOptions,
             address: str, into: _Collector, stats: dict[str, int] | None = None) -> None:
    from dask.distributed import Client, as_completed

    options = prepared.options
    batch_id = uuid.uuid4().hex
    with Client(address) as client:
        remote_key = client.scatter(prepared, broadcast=True)
        threads = max(1, sum(client.nthreads().values()))
        folder = _probe(batch.feedback_dir, batch_id)
        futures: dict[Any, list[_Pending]] = {}
        for part in _chunks(todo, max(1, min(CHUNK, len(todo) // (threads * 8)))):
            f = client.submit(_grade_chunk, batch_id, remote_key,
                              [(sub.student, sub.path, text) for sub, _, text in part],
                              batch.time_limit, batch.memory_mb, batch.feedback_detail,
                              folder, pure=False)
            futures[f] = [_Pending(sub, fingerprint) for sub, fingerprint, _ in part]
        book = Proofs()
        shared = Shared(stats)
        waiting: list[_Pending] = []
        queue = as_completed(list(futures), with_results=True)

        def submit_proof(call: tuple) -> Any:
            future = client.submit(_prove_task, call, options.time_limit, batch.memory_mb,
                                   pure=False)
            queue.add(future)
            return future

        def tell(decided: list[tuple], proofs: list[tuple]) -> None:
            client.run(_hear, batch_id, decided, proofs, wait=False)

        try:
            for f, results in queue:
                if f in book.key_of:
                    book.got(f, results)
                    tell([], [(book.key_of[f], results)])
                    continue
                news: list[tuple] = []  # told once for the whole chunk
                for p, result in zip(futures.pop(f), results):
                    if not result.ok:
                        into.graded(p.sub, p.fingerprint, not_graded(prepared, p.sub, result))
                        continue
                    kind, value, *rest = result.value
                    news += shared.new(rest[-1], rest[-2])
                    if kind == "rendered":
                        into.rendered(p.sub, p.fingerprint, value, rest[0])
                        shared.stats["finished_in_workers"] += 1
                    else:
                        shared.stats["finished_here"] += 1
                        book.want(p, value, options.symbolic, submit_proof)
                        waiting.append(p)
                if news:
                    tell(news, [])
                waiting = finish_ready(prepared, waiting, book.results, into.graded)
            for p in waiting:  # pragma: no cover - every awaited proof was a task
                into.graded(p.sub, p.fingerprint, _finish_pending(prepared, p, book.results))
        finally:
            # the batch's children end with it (a cluster that went away took them along)
            with contextlib.suppress(Exception):
                client.run(_close, batch_id)
            if folder is not None:
                (Path(folder[0]) / folder[1]).unlink(missing_ok=True)


def _chunks(todo: list, size: int) -> list[list]:
    """``todo`` in chunks of ``size``, the first ones smaller (1, 2, 4, ...): what the
    first submissions decide reaches every worker before most of the class is met."""
    out = []
    start, step = 0, 1
    while start < len(todo):
        out.append(todo[start:start + step])
        start += step
        step = min(size, step * 2)
    return out


def _probe(feedback_dir: str | None, batch_id: str) -> tuple[str, str, str] | None:
    """A file in the feedback folder by which a Dask worker knows it sees that folder."""
    if feedback_dir is None:
        return None
    name = f".derivcheck-probe-{batch_id}"
    token = uuid.uuid4().hex
    try:
        (Path(feedback_dir) / name).write_text(token, encoding="utf-8")
    except OSError:
        return None
    return feedback_dir, name, token
