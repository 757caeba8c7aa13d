"""Bounded CAS calls: a child process with a wall-time and memory limit.

``signal.alarm`` does not work in threads and cannot interrupt C code, so every
SymPy call that could run long runs in a forked child: the parent waits at most
``seconds``, then kills it.  ``RLIMIT_AS`` bounds its memory, ``RLIMIT_CPU``
its processor time.  Where ``fork`` is unavailable the ``spawn`` start method
is used (slower to start, same limits).
"""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
import sys
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

DEFAULT_MEMORY_MB = 2048


@dataclass(frozen=True)
class Limited:
    """What a bounded call gave: a value, or why there is none."""

    ok: bool
    value: Any = None
    reason: str = ""


def _context() -> Any:
    methods = mp.get_all_start_methods()
    return mp.get_context("fork" if "fork" in methods else "spawn")


PARENT_CHECK_SECONDS = 1.0
_PR_SET_PDEATHSIG = 1  # linux/prctl.h


def die_with_parent(parent_pid: int) -> None:
    """Make this (child) process end when ``parent_pid`` does, even by ``kill -9``.

    On Linux the kernel sends SIGKILL when the parent dies (``PR_SET_PDEATHSIG``);
    everywhere, a daemon thread checks every ``PARENT_CHECK_SECONDS`` that the
    parent is still the same process (after its death the child is re-parented).
    Without this, a worker blocked on its pipe outlives a killed batch for good:
    every worker holds the parent's ends of the other workers' pipes, so none of
    them ever reads end-of-file.
    """
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
        except (OSError, AttributeError):  # pragma: no cover - no prctl: the thread holds
            pass
    if os.getppid() != parent_pid:  # the parent died before the line above
        os._exit(1)
    # the parent's handlers (SIGTERM raising to stop a batch) are not the child's: a
    # SIGTERM ends it (multiprocessing's exit handler terminates, then joins, daemonic
    # children: a worker that caught it would block its parent's exit for good), and
    # Ctrl-C at a terminal, which reaches the whole process group, is the parent's
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threading.Thread(target=_watch_parent, args=(parent_pid,), daemon=True,
                     name="derivcheck-parent-check").start()


def _watch_parent(parent_pid: int) -> None:
    while True:
        time.sleep(PARENT_CHECK_SECONDS)
        if os.getppid() != parent_pid:
            os._exit(1)


def _child(conn: Any, fn: Callable[..., Any], args: tuple, memory_mb: int,
           cpu_seconds: int, parent_pid: int) -> None:
    die_with_parent(parent_pid)
    try:
        try:
            import resource

            limit = memory_mb * 1024 * 1024
            resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
            resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds + 1))
        except (ImportError, ValueError, OSError):
            pass  # not on this platform: the wall-time kill still holds
        conn.send(("ok", fn(*args)))
    except MemoryError:
        conn.send(("error", f"memory limit of {memory_mb} MB reached"))
    except RecursionError:
        conn.send(("error", "expression too deeply nested for the CAS"))
    except Exception as exc:
        conn.send(("error", f"{type(exc).__name__}: {exc}"[:300]
                   or traceback.format_exc(limit=1)))
    finally:
        conn.close()


def run_limited(fn: Callable[..., Any], *args: Any, seconds: float,
                memory_mb: int = DEFAULT_MEMORY_MB) -> Limited:
    """Run ``fn(*args)`` in a child; give up after ``seconds`` of wall time."""
    ctx = _context()
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child, args=(child, fn, args, memory_mb,
                                            max(1, int(seconds) + 1), os.getpid()),
                       daemon=True)
    proc.start()
    child.close()
    try:
        if parent.poll(seconds):
            try:
                status, value = parent.recv()
            except (EOFError, OSError):
                return Limited(False, reason="the CAS process ended without an answer "
                               "(probably its memory or CPU limit)")
            if status == "ok":
                return Limited(True, value)
            return Limited(False, reason=str(value))
        return Limited(False, reason=f"time limit of {seconds:g} s reached")
    finally:
        parent.close()
        if proc.is_alive():
            proc.kill()
        proc.join(timeout=5)
        if proc.is_alive():  # pragma: no cover - a child that ignores SIGKILL
            os.kill(proc.pid, 9)


def _worker_loop(conn: Any, memory_mb: int, parent_pid: int,
                 init: tuple | None = None) -> None:
    """A pool worker: run jobs from ``conn`` until it closes, or the parent dies.

    ``init`` (``(fn, *args)``) runs once first; each job message carries the calls
    broadcast since this worker's previous job (``WorkerPool.broadcast``), run before it.
    """
    die_with_parent(parent_pid)
    try:
        import resource

        limit = memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    except (ImportError, ValueError, OSError):
        pass
    if init is not None:
        init[0](*init[1:])
    while True:
        try:
            job_id, fn, args, before = conn.recv()
        except (EOFError, OSError):
            return
        try:
            for call in before:
                call[0](*call[1:])
            reply = (job_id, "ok", fn(*args))
        except MemoryError:
            reply = (job_id, "error", f"memory limit of {memory_mb} MB reached")
        except RecursionError:
            reply = (job_id, "error", "expression too deeply nested for the CAS")
        except Exception as exc:
            reply = (job_id, "error", f"{type(exc).__name__}: {exc}"[:300])
        try:
            conn.send(reply)
        except (OSError, ValueError):
            return


class WorkerPool:
    """Long-lived worker processes with a wall-time limit per job.

    Workers keep SymPy's caches warm between jobs (a fresh process per job
    would pay for them every time).  A job that runs past ``seconds`` gets its
    worker killed and replaced; its result is a ``Limited`` with the reason.
    Jobs are dispatched as workers free up; ``pump`` does that without
    blocking (call it between other work), ``results`` waits for everything.

    ``init`` (``(fn, *args)``) runs once in every worker as it starts (with ``fork``
    its arguments are inherited, not sent): what every job shares, sent once.
    ``broadcast`` sends what every worker should learn (results other workers found).
    ``prefetch``: each busy worker is also sent its next (small) job, so that it
    starts it without waiting for the parent; its time limit starts when the job
    before it ends, and a worker killed or dead before starting it gives it back to
    the queue.
    """

    def __init__(self, workers: int = 2, *, seconds: float = 5.0,
                 memory_mb: int = DEFAULT_MEMORY_MB, init: tuple | None = None,
                 prefetch: bool = False) -> None:
        self.size = max(1, workers)
        self.seconds = seconds
        self.memory_mb = memory_mb
        self.init = init
        self.prefetch = prefetch
        # connection -> the job sent ahead, not started: (job, fn, args, seconds)
        self._ahead: dict[Any, tuple[int, Callable[..., Any], tuple, float]] = {}
        self._log: list[tuple] = []  # broadcast calls, in order
        self._heard: dict[Any, int] = {}  # connection -> calls of _log it has run
        self._ctx = _context()
        self._queue: deque[tuple[int, Callable[..., Any], tuple, float]] = deque()
        self._idle: list[tuple[Any, Any]] = []  # (connection, process)
        # connection -> (process, job, deadline, limit)
        self._busy: dict[Any, tuple[Any, int, float, float]] = {}
        self._done: dict[int, Limited] = {}
        self._unreported: set[int] = set()  # done, not yet returned by ``wait``
        self._next = 0
        self._started = 0
        self._stale: set[Any] = set()  # connections of workers to replace once idle (renew)

    def submit(self, fn: Callable[..., Any], *args: Any, seconds: float | None = None) -> int:
        """Queue ``fn(*args)``; ``seconds`` overrides the pool's time limit for this job."""
        job = self._next
        self._next += 1
        self._queue.append((job, fn, args, self.seconds if seconds is None else seconds))
        self.pump()
        return job

    def _spawn(self) -> tuple[Any, Any]:
        parent, child = self._ctx.Pipe(duplex=True)
        proc = self._ctx.Process(target=_worker_loop,
                                 args=(child, self.memory_mb, os.getpid(), self.init),
                                 daemon=True)
        proc.start()
        child.close()
        self._started += 1
        self._heard[parent] = 0  # a new worker hears every broadcast so far
        return parent, proc

    def broadcast(self, fn: Callable[..., Any], *args: Any) -> None:
        """Run ``fn(*args)`` in every worker, present and future, before its next job.

        For what one worker found that the others should not compute again: the
        calls must not change what any job returns (a cache of deterministic results).
        """
        self._log.append((fn, *args))

    def _send(self, conn: Any, job: int, fn: Callable[..., Any], args: tuple,
              limit: int | None = None) -> bool:
        """Send a job with the broadcasts ``conn`` has not heard; False if it was not sent
        (larger than ``limit`` bytes: a pipe holds 64 KB, and a job sent ahead must not
        block the parent while the worker is busy)."""
        from multiprocessing.reduction import ForkingPickler

        heard = self._heard.get(conn, 0)
        data = bytes(ForkingPickler.dumps((job, fn, args, self._log[heard:])))
        if limit is not None and len(data) > limit:
            return False
        conn.send_bytes(data)
        self._heard[conn] = len(self._log)
        return True

    def _dispatch(self) -> None:
        while self._queue and (self._idle or len(self._busy) < self.size):
            conn, proc = self._idle.pop() if self._idle else self._spawn()
            job, fn, args, seconds = self._queue.popleft()
            try:
                self._send(conn, job, fn, args)
            except (OSError, ValueError) as exc:
                self._finish(job, Limited(False, reason=f"cannot send the job: {exc}"))
                self._retire(conn, proc)
                continue
            self._busy[conn] = (proc, job, time.monotonic() + seconds, seconds)
        if not self.prefetch:
            return
        for conn in list(self._busy):
            if not self._queue or conn in self._ahead or conn in self._stale:
                continue
            job, fn, args, seconds = self._queue[0]
            try:
                if not self._send(conn, job, fn, args, limit=16_384):
                    return  # a large job waits for an idle worker
            except (OSError, ValueError):
                continue  # the worker is gone: its running job will say so
            self._queue.popleft()
            self._ahead[conn] = (job, fn, args, seconds)

    def _give_back(self, conn: Any) -> None:
        """The job sent ahead to ``conn`` never started: first in the queue again."""
        ahead = self._ahead.pop(conn, None)
        if ahead is not None:
            self._queue.appendleft(ahead)

    def renew(self) -> None:
        """Replace the workers started so far by fresh ones, each as soon as it is idle.

        For modules the parent imported after the workers started (the CAS): with
        ``fork``, the new workers share the parent's copy instead of each importing
        its own.  Running jobs are not disturbed.
        """
        for conn, proc in self._idle:
            self._retire(conn, proc)
        self._idle.clear()
        self._stale.update(self._busy)

    def _retire(self, conn: Any, proc: Any) -> None:
        self._give_back(conn)
        self._stale.discard(conn)
        self._heard.pop(conn, None)
        conn.close()
        if proc.is_alive():
            proc.kill()
        proc.join(timeout=5)

    def _collect(self, timeout: float) -> None:
        from multiprocessing.connection import wait

        if not self._busy:
            return
        for ready in wait(list(self._busy), timeout=timeout):
            conn: Any = ready
            proc, job, _, _ = self._busy.pop(conn)
            try:
                _job_id, status, value = conn.recv()
                self._finish(job, Limited(True, value) if status == "ok"
                             else Limited(False, reason=str(value)))
                ahead = self._ahead.pop(conn, None)
                if ahead is not None:  # the worker started it as it sent this answer
                    self._busy[conn] = (proc, ahead[0], time.monotonic() + ahead[3], ahead[3])
                elif conn in self._stale:
                    self._retire(conn, proc)
                else:
                    self._idle.append((conn, proc))
            except (EOFError, OSError):
                self._finish(job, Limited(False, reason="the CAS process ended without an "
                                          "answer (probably its memory limit)"))
                self._retire(conn, proc)
        now = time.monotonic()
        for conn, (proc, job, deadline, limit) in list(self._busy.items()):
            if now >= deadline:
                self._busy.pop(conn)
                self._retire(conn, proc)
                self._finish(job, Limited(False, reason=f"time limit of {limit:g} s reached"))

    def _finish(self, job: int, result: Limited) -> None:
        self._done[job] = result
        self._unreported.add(job)

    def pump(self) -> None:
        """Collect finished jobs and start queued ones, without waiting."""
        self._collect(0)
        self._dispatch()

    def wait(self, jobs: set[int]) -> list[int]:
        """Block until at least one of ``jobs`` is done; the ones done (removed from ``jobs``)."""
        self._dispatch()
        while True:
            ready = sorted(self._unreported & jobs)
            if ready or not (self._busy or self._queue):
                jobs.difference_update(ready)
                self._unreported.difference_update(ready)
                return ready
            soonest = min((d for _, _, d, _ in self._busy.values()), default=time.monotonic())
            self._collect(max(0.0, min(soonest - time.monotonic(), 0.5)))
            self._dispatch()

    def result(self, job: int) -> Limited:
        return self._done[job]

    def take(self, job: int) -> Limited:
        """A done job's result, forgotten by the pool (a long batch keeps no copy)."""
        self._unreported.discard(job)
        return self._done.pop(job)

    def results(self) -> dict[int, Limited]:
        """Wait for every submitted job; job id -> result."""
        self._dispatch()
        while self._busy or self._queue:
            soonest = min((d for _, _, d, _ in self._busy.values()), default=time.monotonic())
            self._collect(max(0.0, min(soonest - time.monotonic(), 0.5)))
            self._dispatch()
        self._unreported.clear()
        return dict(self._done)

    def close(self) -> None:
        for conn, proc in list(self._idle):
            self._retire(conn, proc)
        for conn, (proc, _, _, _) in list(self._busy.items()):
            self._retire(conn, proc)
        self._idle.clear()
        self._busy.clear()

    def __enter__(self) -> WorkerPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
