"""Grading at scale: the decided-equation cache shared by a batch's workers, outputs made
in the workers, and the worker pool's start-up and broadcast.

The cache's promise is exactness: a cached answer is what a fresh decision gives.  The
batch (two workers sharing their decisions) must give every student exactly the grade
that grading them alone, every equation decided afresh, gives; and an equation decided
under one seed or option is never an answer under another.
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path

import pytest

from derivcheck.decide import Options
from derivcheck.engine.limits import WorkerPool
from derivcheck.escape import json_dumps
from derivcheck.grade import check
from derivcheck.grade.batch import BatchOptions, Submission, journal_line, run_batch
from derivcheck.grade.check import Decider, forget, grade_one, prepare
from derivcheck.grade.export import (
    feedback_markdown,
    grade_dict,
    gradebook_csv,
    render,
    summary,
    summary_of,
)
from derivcheck.grade.key import load_key_text
from derivcheck.parse.expr import parse_expression
from tests.test_grade import OK, SIGN, key_text, steps

FAST = Options(symbolic=False, workers=1)
# a class where equations repeat (cache answers) and differ (decisions): correct and
# sign-error students, some with a distinct extra term, one with an unreadable step
CLASS = {
    "ok1": steps(*OK), "ok2": steps(*OK), "sign1": steps(*SIGN), "sign2": steps(*SIGN),
    "mixed": steps(OK[0], SIGN[1], OK[2]),
    "extra3": steps('{id: s1, claim: "d(L)/d(z) = a - y + 0 * 3 * (a - y)"}', *OK[1:]),
    "extra4": steps('{id: s1, claim: "d(L)/d(z) = y - a + 0 * 4 * (a - y)"}', *SIGN[1:]),
    "chain": steps('{id: s1, chain: ["d(L)/d(W)", "(a - y) @ x.T", "(y - a) @ x.T"]}'),
    "broken": steps(OK[0], '{id: s2, claim: "d(L)/d(W) = (a - y) @@ x.T"}'),
}


@pytest.fixture(scope="module")
def key():
    return load_key_text(key_text(), "key.yaml")


@pytest.fixture(scope="module")
def cls(tmp_path_factory) -> list[Submission]:
    root = tmp_path_factory.mktemp("scale")
    subs = []
    for name, text in CLASS.items():
        (root / f"{name}.yaml").write_text(text, encoding="utf-8")
        subs.append(Submission(name, str(root / f"{name}.yaml")))
    return subs


def _batch(key, subs: list[Submission], workers: int, stats: dict | None = None) -> list[str]:
    forget()
    prepared = prepare(key, FAST)
    out = run_batch(prepared, subs, BatchOptions(workers=workers, feedback_detail="diagnosis"),
                    stats=stats)
    return [r.grade + r.feedback for r in out]  # type: ignore[operator]


def test_shared_cache_gives_the_grades_of_fresh_decisions(key, cls) -> None:
    stats: dict[str, int] = {}
    batch = _batch(key, cls, 2, stats)
    assert stats["cache_hits"] > 0 and stats["equations"] > 0  # the cache was used
    fresh = []
    for sub in cls:
        forget()  # nothing cached: every equation of this student decided afresh
        prepared = prepare(key, FAST)
        g = grade_dict(grade_one(prepared, sub.student, sub.path), prepared)
        fresh.append(json_dumps(g) + feedback_markdown(g, prepared))
    assert batch == fresh


def test_one_worker_and_two_give_the_same_outputs(key, cls) -> None:
    assert _batch(key, cls, 1) == _batch(key, cls, 2)


# name -> options under which an equation decided with FAST must be decided again
OTHER_OPTIONS = {
    "seed": Options(symbolic=False, workers=1, seed=1),
    "points": Options(symbolic=False, workers=1, points=7),
    "settings": Options(symbolic=False, workers=1, settings=4),
}


def _evidence(out) -> str:
    """The verdict and evidence as a report shows them (arrays as lists)."""
    c = out.counterexample
    values = {k: getattr(v, "tolist", lambda v=v: v)() for k, v in c.values.items()} if c \
        else None
    evidence = dataclasses.replace(out.evidence, seconds=0.0)  # the one thing that varies
    return repr((out.verdict, evidence, c.sizes if c else None, values))


@pytest.mark.parametrize("name", list(OTHER_OPTIONS))
def test_a_decision_under_other_options_is_not_an_answer(key, name: str) -> None:
    prepared = prepare(key, FAST)
    deriv = prepared.key.derivation
    other = OTHER_OPTIONS[name]
    base = Decider(deriv, prepared.context, FAST)
    scope = _scope(deriv)
    # refuted: the counterexample depends on the points
    lhs, rhs = parse_expression("d(L)/d(z)", scope), parse_expression("y - a", scope)
    forget()
    first, _ = base(lhs, rhs, "gradient")
    moved, _ = Decider(deriv, prepared.context, other)(lhs, rhs, "gradient")
    forget()
    fresh, _ = Decider(deriv, prepared.context, other)(lhs, rhs, "gradient")
    assert _evidence(moved) == _evidence(fresh)
    assert _evidence(moved) != _evidence(first)  # the options matter: a hit would be wrong


def test_the_same_equation_under_the_same_options_is_answered_from_the_cache(key) -> None:
    prepared = prepare(key, FAST)
    deriv = prepared.key.derivation
    scope = _scope(deriv)
    lhs, rhs = parse_expression("d(L)/d(z)", scope), parse_expression("y - a", scope)
    forget()
    check.cache_hits_since()  # counted from here
    first, _ = Decider(deriv, prepared.context, FAST)(lhs, rhs, "gradient")
    again, _ = Decider(deriv, prepared.context, FAST)(
        parse_expression("d(L)/d(z)", scope), parse_expression("y - a", scope), "gradient")
    assert check.cache_hits_since() == 1
    assert _evidence(again) == _evidence(first)


def _scope(deriv):
    from derivcheck.load import _Loader

    loader = _Loader("", deriv.path, base=deriv)
    symbols, dims = dict(deriv.symbols), list(deriv.dims)
    loader.defined_names |= {d.name for d in deriv.definitions}
    loader.bound = loader.bound_indices(symbols, dims)
    return loader.expr_scope(symbols, frozenset(loader.defined_names), dims)


HOSTILE = {  # strings a grade may carry: each journal line is json_dumps of the entry
    "plain": "alice",
    "line separator": "s1\u2028proved",
    "quote and backslash": 'a"b\\c',
    "bidi override": "x\u202ey",
    "C1 control": "a\x9bb",
    "emoji": "\U0001f600",
}


@pytest.mark.parametrize("name", list(HOSTILE))
def test_a_journal_line_is_the_json_of_its_entry(name: str) -> None:
    text = HOSTILE[name]
    sub = Submission(text, f"/tmp/{text}.yaml")
    grade = {"student": text, "items": [{"feedback": text, "points": 0.5}], "score": 1.0}
    line = journal_line(sub, "f" * 64, json_dumps(grade), 0.12345)
    assert line == json_dumps({"student": sub.student, "path": sub.path,
                               "fingerprint": "f" * 64, "grade": grade, "seconds": 0.123})
    assert json.loads(line)["grade"] == grade and "\u2028" not in line


def test_rendered_outputs_are_those_of_the_grade(key, cls) -> None:
    forget()
    prepared = prepare(key, FAST)
    grades = [grade_dict(grade_one(prepared, s.student, s.path), prepared) for s in cls]
    rendered = [render(g, prepared, "verdict") for g in grades]
    assert [r.data() for r in rendered] == json.loads(json.dumps(grades))
    assert [r.feedback for r in rendered] == [feedback_markdown(g, prepared, "verdict")
                                              for g in grades]
    assert summary_of([r.tally for r in rendered], prepared) == summary(grades, prepared)
    head = gradebook_csv([], prepared)
    assert head + "".join(r.row for r in rendered) == gradebook_csv(grades, prepared)


# -- the pool ---------------------------------------------------------------------------
_SEEN: list[str] = []


def _note(word: str) -> None:
    _SEEN.append(word)


def _seen() -> list:
    return [os.getpid(), *_SEEN]


def _sleep(seconds: float) -> None:
    import time

    time.sleep(seconds)


def test_pool_init_runs_once_per_worker_and_broadcasts_reach_every_worker() -> None:
    with WorkerPool(2, seconds=5, init=(_note, "started")) as pool:
        first = [pool.submit(_seen) for _ in range(2)]  # sent at once: one to each worker
        pool.broadcast(_note, "news")  # heard by each worker before its next job
        later = [pool.submit(_seen) for _ in range(4)]
        done = pool.results()
    before = [done[j].value for j in first]
    after = [done[j].value for j in later]
    assert all(v[1:].count("started") == 1 for v in before + after)
    assert all(v[1:] == ["started"] for v in before)
    assert all(v[1:] == ["started", "news"] for v in after)
    assert len({v[0] for v in before + after}) == 2


def test_a_replacement_worker_hears_what_was_broadcast_before_it_started() -> None:
    with WorkerPool(1, seconds=0.5, init=(_note, "started")) as pool:
        pool.broadcast(_note, "news")
        slow = pool.submit(_sleep, 5.0)  # killed at its limit: the worker is replaced
        pool.wait({slow})
        assert "time limit" in pool.result(slow).reason
        pool.broadcast(_note, "more")
        job = pool.submit(_seen)
        pool.wait({job})
        assert pool.take(job).value[1:] == ["started", "news", "more"]


def test_take_forgets_a_result() -> None:
    with WorkerPool(1, seconds=5) as pool:
        job = pool.submit(_seen)
        assert pool.wait({job}) == [job]
        assert pool.take(job).ok
        with pytest.raises(KeyError):
            pool.result(job)


def test_grade_one_is_unchanged_by_a_warm_cache(key, tmp_path: Path) -> None:
    """grade_one after a batch (warm caches in this process) = grade_one cold."""
    path = tmp_path / "s.yaml"
    path.write_text(steps(*SIGN))
    forget()
    prepared = prepare(key, FAST)
    cold = grade_dict(grade_one(prepared, "s", str(path)), prepared)
    warm = grade_dict(grade_one(prepare(key, FAST), "s", str(path)), prepared)
    assert json_dumps(cold) == json_dumps(warm)


def test_a_job_sent_ahead_gets_its_whole_time_limit() -> None:
    """Sent while the job before it runs, its limit starts when that job ends."""
    with WorkerPool(1, seconds=1.5, prefetch=True) as pool:
        jobs = [pool.submit(_sleep, 0.9) for _ in range(2)]
        done = pool.results()
    assert [done[j].ok for j in jobs] == [True, True]


def test_a_job_sent_ahead_of_one_killed_at_its_limit_still_runs() -> None:
    with WorkerPool(1, seconds=0.5, prefetch=True, init=(_note, "started")) as pool:
        slow = pool.submit(_sleep, 5.0)
        after = pool.submit(_seen)  # sent ahead to the worker that will be killed
        done = pool.results()
    assert "time limit" in done[slow].reason
    assert done[after].ok and done[after].value[1:] == ["started"]


PARTIAL_FILES = {  # name -> removed: only what an atomic write killed mid-way leaves
    ".s03.md.1a5c2j0u": True,
    ".a.b.tex.abcdefgh": True,
    ".gitignore": False,
    ".s03.md": False,
    "s03.md": False,
    ".notes.txt.abcdefgh": False,
}


def test_partial_writes_are_removed_and_nothing_else(tmp_path: Path) -> None:
    from derivcheck.atomic import remove_partial

    for name in PARTIAL_FILES:
        (tmp_path / name).write_text("x")
    remove_partial(tmp_path, (".md", ".tex", ".pdf"))
    assert {n: not (tmp_path / n).exists() for n in PARTIAL_FILES} == PARTIAL_FILES
