"""Grading batches: interrupted and resumed, killed workers, per-submission limits, Dask.

A class of generated submissions is graded once without interruption (the
reference); then real ``derivcheck grade`` processes are interrupted at random
points (seeded) by Ctrl-C, SIGTERM, ``kill -9`` of the whole process group, or
the kill of a worker, and resumed with ``--resume``: the outputs must be
exactly the reference, and the journal must hold each student exactly once.
"""

from __future__ import annotations

import contextlib
import csv
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.test_grade import KEY, OK, SIGN, steps

N_STUDENTS = 30
# dimensions declared K before D (not alphabetical): a journal that sorted keys
# would give the counterexamples' sizes back reordered
BATCH_KEY = (KEY % "").replace("symbols: {x: vector D, W: matrix K D,",
                               "symbols: {W: matrix K D, x: vector D,")
LINE_SEPARATOR_STUDENT = 7  # a U+2028 in a step id: still one journal line


def _student(k: int) -> str:
    """Student k: correct, or a sign error, written with a factor k/k so that every
    student's equations are distinct (no cache hit: each takes real work)."""
    lines = list(OK if k % 3 else SIGN)
    rhs = "a - y" if k % 3 else "y - a"
    sid = "s1\u2028proved" if k == LINE_SEPARATOR_STUDENT else "s1"
    lines[0] = f'{{id: "{sid}", claim: "d(L)/d(z) = {rhs} + 0 * {k} * (a - y)"}}'
    return steps(*lines)


@pytest.fixture(scope="module")
def setup(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("batch")
    key = root / "key.yaml"
    assert BATCH_KEY != KEY % ""
    key.write_text(BATCH_KEY)
    cls = root / "class"
    cls.mkdir()
    for k in range(N_STUDENTS):
        (cls / f"s{k:02d}.yaml").write_text(_student(k), encoding="utf-8")
    ref = root / "reference"
    started = time.monotonic()
    proc = _grade(key, cls, ref)
    assert proc.wait(timeout=300) == 0, proc.stderr.read() if proc.stderr else ""
    return {"root": root, "key": key, "cls": cls, "ref": ref,
            "seconds": time.monotonic() - started}


def _grade(key: Path, cls: Path, out: Path, *extra: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "derivcheck", "grade", str(key), str(cls), "-o", str(out),
         "-q", "--workers", "2", *extra],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        start_new_session=True)


def _outputs(out: Path) -> dict[str, object]:
    """Every output, byte for byte (grades.json and the journal-free files)."""
    doc = json.loads((out / "grades.json").read_text())
    return {
        "grades.json": (out / "grades.json").read_bytes(),
        "students": doc["students"],
        "summary": doc["summary"],
        "gradebook": (out / "gradebook.csv").read_text(),
        "feedback": {p.name: p.read_bytes() for p in sorted((out / "feedback").iterdir())},
    }


def _journal_lines(out: Path) -> int:
    """Students in the journal so far (its first line is the header)."""
    try:
        return max(0, len((out / ".derivcheck-journal.jsonl").read_bytes().splitlines()) - 1)
    except OSError:
        return 0


def _journal_counts(out: Path) -> dict[str, int]:
    counts: dict[str, int] = {}
    lines = (out / ".derivcheck-journal.jsonl").read_text().splitlines()
    for line in lines[1:]:
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            continue
        counts[entry["student"]] = counts.get(entry["student"], 0) + 1
    return counts


def test_reference_run_graded_everyone(setup: dict) -> None:
    rows = list(csv.DictReader((setup["ref"] / "gradebook.csv").open()))
    assert len(rows) == N_STUDENTS
    # a student with k % 3 == 0 made the sign error: 1.5 of 5 (see test_grade.SCORES)
    assert {r["student"]: r["score"] for r in rows}["s00"] == "1.5"
    assert {r["student"]: r["score"] for r in rows}["s01"] == "5"


def test_reference_outputs_keep_the_key_s_order_of_sizes(setup: dict) -> None:
    doc = json.loads((setup["ref"] / "grades.json").read_text(encoding="utf-8"))
    sizes = [list(link["counterexample"]["sizes"]) for g in doc["students"]
             for step in g["steps"] for link in step["links"] if link.get("counterexample")]
    assert sizes and all(s == ["K", "D"] for s in sizes), sizes[:3]
    journal = (setup["ref"] / ".derivcheck-journal.jsonl").read_text(encoding="utf-8")
    assert "\u2028" not in journal and "\\u2028" in journal


def _worker_pids(pid: int) -> list[int]:
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                out.append(int(entry.name))
    return out


INTERRUPTIONS = {
    "ctrl-c": (signal.SIGINT, "process", 1),
    "sigterm": (signal.SIGTERM, "process", 2),
    "kill -9 of the whole run": (signal.SIGKILL, "group", 3),
    "killed worker": (signal.SIGKILL, "worker", 4),
}


@pytest.mark.parametrize("name", list(INTERRUPTIONS))
def test_interrupted_batch_resumes_to_the_same_results(name: str, setup: dict) -> None:
    sig, target, seed = INTERRUPTIONS[name]
    out = setup["root"] / f"run-{seed}"
    rng = random.Random(seed)
    proc = _grade(setup["key"], setup["cls"], out)
    # interrupt in the middle of grading: after a random number of students are done.
    # A student takes a few milliseconds, so the run is frozen (SIGSTOP to its process
    # group) the moment the journal shows them: the interruption lands there, however
    # late this process is scheduled or the run handles the signal.
    wanted = rng.randint(1, N_STUDENTS // 3)
    while proc.poll() is None and _journal_lines(out) < wanted:
        time.sleep(0.002)
    assert proc.poll() is None, "the batch ended before it could be interrupted"
    os.killpg(proc.pid, signal.SIGSTOP)
    try:
        assert _journal_lines(out) < N_STUDENTS, "not interrupted before the end"
        if target == "process":
            proc.send_signal(sig)
        elif target == "group":
            os.killpg(proc.pid, sig)
        else:
            workers = _worker_pids(proc.pid)
            assert workers, "no worker to kill"
            os.kill(rng.choice(workers), sig)
    finally:
        with contextlib.suppress(ProcessLookupError):  # gone after a kill -9 of the group
            os.killpg(proc.pid, signal.SIGCONT)
    code = proc.wait(timeout=300)
    if target != "worker":
        assert _journal_lines(out) < N_STUDENTS, "the run went on to the end"
    if target == "worker":
        assert code == 0  # the batch carries on: the submission is tried again
    else:
        assert code in (0, 130, -9), proc.stderr.read() if proc.stderr else ""
        resumed = _grade(setup["key"], setup["cls"], out, "--resume")
        assert resumed.wait(timeout=300) == 0
    assert _outputs(out) == _outputs(setup["ref"])
    counts = _journal_counts(out)
    assert sorted(counts) == sorted(f"s{k:02d}" for k in range(N_STUDENTS))
    assert set(counts.values()) == {1}, "a submission was graded twice"


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads /proc")
def test_workers_die_with_their_parent_after_kill_9(setup: dict) -> None:
    out = setup["root"] / "orphans"
    proc = _grade(setup["key"], setup["cls"], out)
    workers: list[int] = []
    deadline = time.monotonic() + 60
    while proc.poll() is None and len(workers) < 2 and time.monotonic() < deadline:
        workers = _worker_pids(proc.pid)
        time.sleep(0.01)
    assert proc.poll() is None and workers, "no worker seen before the batch ended"
    os.kill(proc.pid, signal.SIGKILL)  # the parent alone, not its process group
    proc.wait(timeout=30)
    deadline = time.monotonic() + 10
    while any(_alive(w) for w in workers) and time.monotonic() < deadline:
        time.sleep(0.05)
    left = [w for w in workers if _alive(w)]
    for w in left:  # do not leave them behind if the test fails
        os.kill(w, signal.SIGKILL)
    assert not left, "workers outlived their parent"


@pytest.mark.parametrize("changed", [("--seed", "7"), ("--step-time-limit", "12")],
                         ids=["seed", "step time limit"])
def test_resume_refuses_a_journal_of_other_options(setup: dict, changed: tuple) -> None:
    out = setup["root"] / f"other-{changed[0].strip('-')}"
    assert _grade(setup["key"], setup["cls"], out).wait(timeout=300) == 0
    proc = _grade(setup["key"], setup["cls"], out, "--resume", *changed)
    assert proc.wait(timeout=300) == 2
    assert proc.stderr is not None and "another answer key or other options" in proc.stderr.read()


def test_pathological_submission_hits_its_limit_and_the_others_finish(
        setup: dict, tmp_path: Path) -> None:
    cls = tmp_path / "class"
    cls.mkdir()
    for k in range(3):
        (cls / f"s{k}.yaml").write_text(_student(k + 1))
    # 1500 distinct chains: far more work than the limit allows
    slow = [f'{{id: c{k}, chain: ["d(L)/d(W)", "(a - y) @ x.T + {k} * 0 * (a - y) @ x.T", '
            f'"(a - y) @ x.T"]}}' for k in range(1500)]
    (cls / "slow.yaml").write_text(steps(*slow))
    out = tmp_path / "out"
    started = time.monotonic()
    proc = _grade(setup["key"], cls, out, "--submission-time-limit", "4", "--no-symbolic")
    assert proc.wait(timeout=300) == 0
    assert time.monotonic() - started < 120
    rows = {r["student"]: r for r in csv.DictReader((out / "gradebook.csv").open())}
    assert rows["slow"]["score"] == "0"
    assert "time limit of 4 s" in rows["slow"]["error"]
    assert [rows[f"s{k}"]["score"] for k in range(3)] == ["5", "5", "1.5"]


def test_dask_local_cluster_gives_the_same_gradebook(setup: dict, tmp_path: Path) -> None:
    pytest.importorskip("distributed")
    import dask
    from dask.distributed import LocalCluster

    from derivcheck.cli import main

    with dask.config.set({"distributed.worker.daemon": False}), \
            LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                         dashboard_address=None) as cluster:
        out = tmp_path / "dask"
        assert main(["grade", str(setup["key"]), str(setup["cls"]), "-o", str(out), "-q",
                     "--dask", cluster.scheduler_address]) == 0
    assert _outputs(out) == _outputs(setup["ref"])


def test_dask_keeps_the_submission_time_limit(setup: dict, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """A task grades a chunk of submissions: the slow one is stopped at its own limit,
    and the ones around it in its chunk are graded."""
    pytest.importorskip("distributed")
    import dask
    from dask.distributed import LocalCluster

    from derivcheck.cli import main
    from derivcheck.grade import dask_runner

    monkeypatch.setattr(dask_runner, "_chunks",
                        lambda todo, size: [todo[i:i + 3] for i in range(0, len(todo), 3)])

    cls = tmp_path / "class"
    cls.mkdir()
    for k in range(5):
        (cls / f"s{k}.yaml").write_text(_student(k + 1))
    slow = [f'{{id: c{k}, chain: ["d(L)/d(W)", "(a - y) @ x.T + {k} * 0 * (a - y) @ x.T", '
            f'"(a - y) @ x.T"]}}' for k in range(1500)]
    (cls / "s2slow.yaml").write_text(steps(*slow))  # in the chunk s2slow, s3, s4
    out = tmp_path / "out"
    with dask.config.set({"distributed.worker.daemon": False}), \
            LocalCluster(n_workers=1, threads_per_worker=1, processes=True,
                         dashboard_address=None) as cluster:
        assert main(["grade", str(setup["key"]), str(cls), "-o", str(out), "-q",
                     "--no-symbolic", "--submission-time-limit", "4",
                     "--dask", cluster.scheduler_address]) == 0
    rows = {r["student"]: r for r in csv.DictReader((out / "gradebook.csv").open())}
    assert rows["s2slow"]["score"] == "0"
    assert "time limit of 4 s" in rows["s2slow"]["error"]
    assert [rows[f"s{k}"]["score"] for k in range(5)] == ["5", "5", "1.5", "5", "5"]
