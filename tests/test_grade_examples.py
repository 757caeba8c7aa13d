"""The example class of examples/mlp004, graded once, against hand-computed scores.

The key (examples/mlp004/key.yaml) has six items: dz2 (2 points), dw2 (2),
db2 (1), dz1 (2), dw1 (2), db1 (1): 10 in all, with the policy result 0.5,
follow_through 0.5 (``Policy`` in derivcheck/grade/key.py):

    points = P * (0.5 * R + 0.5 * W)

R is 1 for a correct result, 0.5 for one that follows from the student's own
wrong result of the item named in ``via`` (dw2, db2 and dz1 via dz2; dw1 and
db1 via dz1), else 0. W is the share of the links of the student's step that
hold (a link that holds but continues an earlier wrong link counts 0.5); for a
one-line claim W = R. So a one-line answer scores P (correct), P/2
(follow-through) or 0, and only chains need the arithmetic written out.

Every number below was worked out by hand from that rule and the mathematics
of each submission, never copied from derivcheck's output. Where derivcheck
disagrees and the hand computation is right, the case is a strict xfail whose
reason says what derivcheck does.
"""

from __future__ import annotations

import csv
import json
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "mlp004"
KEY = EXAMPLE / "key.yaml"
SUBMISSIONS = EXAMPLE / "submissions"

ITEMS = ("dz2", "dw2", "db2", "dz1", "dw1", "db1")
MAX_POINTS = {"dz2": 2.0, "dw2": 2.0, "db2": 1.0, "dz1": 2.0, "dw1": 2.0, "db1": 1.0}

C, FT, W, NC, M = "correct", "follow_through", "wrong", "not_closed_form", "missing"


@dataclass(frozen=True)
class Expected:
    """One student's expected grade: (points, status) per item, and the total."""

    total: float
    items: dict[str, tuple[float, str]] | None  # None: the file cannot be read
    xfail: str = ""  # why derivcheck's answer is expected to differ (a defect)


def _all(dz2: tuple[float, str], dw2: tuple[float, str], db2: tuple[float, str],
         dz1: tuple[float, str], dw1: tuple[float, str], db1: tuple[float, str]
         ) -> dict[str, tuple[float, str]]:
    return dict(zip(ITEMS, (dz2, dw2, db2, dz1, dw1, db1), strict=True))


FULL = _all((2, C), (2, C), (1, C), (2, C), (2, C), (1, C))

CASES: dict[str, Expected] = {
    "ada": Expected(10, FULL),
    # every result right in a different form; bruno's chains all hold (W = 1)
    "bruno": Expected(10, FULL),
    "chen": Expected(10, FULL),
    "dmitri": Expected(10, FULL),  # LaTeX, a folder submission
    "uma": Expected(10, FULL),  # her own define: helpers
    # emma: dz2 and dz1 never stated: 0 each; the four parameter gradients right
    "emma": Expected(6, _all((0, M), (2, C), (1, C), (0, M), (2, C), (1, C))),
    # farah, dz2 (a 3-link chain): R = 1 (A2 - y is right); links: diagonal-only
    # chain rule wrong (0), -y/A2 ... algebra holds but continues the error (0.5),
    # "combine the cases" -y(1 - A2) = A2 - y wrong (0): W = 0.5/3 = 1/6;
    # 2 * (0.5 * 1 + 0.5 * 1/6) = 7/6 = 1.1667
    "farah": Expected(9.1667, _all((1.1667, C), (2, C), (1, C), (2, C), (2, C), (1, C))),
    # gianni, dz2: R = 0 (no via for dz2); links: wrong (0), FT (0.5), FT (0.5):
    # W = 1/3; 2 * (0.5 * 0 + 0.5 * 1/3) = 1/3 = 0.3333. Then A2 * y - y is used
    # consistently: dw2, db2, dz1 follow from dz2, dw1 and db1 from dz1: half each
    "gianni": Expected(4.3333, _all((0.3333, W), (1, FT), (0.5, FT), (1, FT), (1, FT),
                                    (0.5, FT))),
    # hiro: no ReLU mask in dz1 (wrong: dz2 is right, nothing to follow from);
    # dw1 and db1 follow from his dz1: 2 * 0.5, 1 * 0.5
    "hiro": Expected(6.5, _all((2, C), (2, C), (1, C), (0, W), (1, FT), (0.5, FT))),
    # ines: w1.T @ (A2 - y) is ill-formed; dw1 and db1 repeat it. An equation
    # between ill-formed expressions does not hold, so nothing "follows
    # correctly" from it: wrong, 0 each
    "ines": Expected(5, _all((2, C), (2, C), (1, C), (0, W), (0, W), (0, W))),
    # jonas: @ A1 and @ X for @ A1.T and @ X.T (shape errors), both from right inputs
    "jonas": Expected(6, _all((2, C), (0, W), (1, C), (2, C), (0, W), (1, C))),
    # kofi: dw1 transposed (D x H), from a right dz1
    "kofi": Expected(8, _all((2, C), (2, C), (1, C), (2, C), (0, W), (1, C))),
    # lena, dw1: R = 0 (ill-formed; her dz1 is right); links: dL/dz1 @ X.T holds
    # (1), the dropped X.T does not (0): W = 1/2; 2 * (0 + 0.5 * 0.5) = 0.5
    "lena": Expected(8.5, _all((2, C), (2, C), (1, C), (2, C), (0.5, W), (1, C))),
    # marco, dz2: R = 0; links: Jacobian chain rule holds (1), dL/dA2 = y/A2 sign
    # error (0), the algebra from it holds but continues the error (0.5):
    # W = 1.5/3 = 0.5; 2 * (0 + 0.5 * 0.5) = 0.5.
    # dw2, dz1, dw1 (2-link chains): R = 0.5 (follow through), W = 1/2 (the
    # chain-rule link holds, the substitution of his wrong result does not):
    # 2 * (0.5 * 0.5 + 0.5 * 0.5) = 1. db2, db1 (one line): follow through, half
    "marco": Expected(4.5, _all((0.5, W), (1, FT), (0.5, FT), (1, FT), (1, FT), (0.5, FT))),
    # nadia: no ReLU mask in dz1 (her one-line dz1 step: R = 0, W = R = 0).
    # dw1: R = 0.5 (follows from her dz1), W = 1/2 (dL/dz1 @ X.T holds, the
    # substitution does not): 2 * (0.25 + 0.25) = 1. db1: R = 0.5, W = 1/2:
    # 1 * (0.25 + 0.25) = 0.5. (db2's chain passes through dL/dz2 and holds.)
    "nadia": Expected(6.5, _all((2, C), (2, C), (1, C), (0, W), (1, FT), (0.5, FT))),
    "olga": Expected(8, _all((2, C), (2, C), (1, C), (2, C), (0, M), (1, C))),
    # pavel: dw1 = dL/dz1 @ X.T and db1 = dL/dz1 are true but not closed forms:
    # R = 0, one line so W = 0. His dz1 step states dz1 correctly: 2
    "pavel": Expected(7, _all((2, C), (2, C), (1, C), (2, C), (0, NC), (0, NC))),
    # quinn: dw2 one line, not closed: 0. dw1 a 2-link chain, both links hold, not
    # closed: R = 0, W = 1: 2 * (0 + 0.5 * 1) = 1
    "quinn": Expected(7, _all((2, C), (0, NC), (1, C), (2, C), (1, NC), (1, C))),
    # rosa (LaTeX): no mask in dz1 (wrong); db1 follows from it (0.5); dw1 also
    # loses X^T, ill-formed: it does not follow from anything: 0
    "rosa": Expected(5.5, _all((2, C), (2, C), (1, C), (0, W), (0, W), (0.5, FT))),
    # sam: the dw1 step cannot be read, so dw1 is never stated; the rest is right
    "sam": Expected(8, _all((2, C), (2, C), (1, C), (2, C), (0, M), (1, C))),
    # sign: y - A2 followed through to dw2, db2, dz1, dw1; db1 has the right sign
    # but no mask, which does not follow from his dz1: wrong
    "sign": Expected(3.5, _all((0, W), (1, FT), (0.5, FT), (1, FT), (1, FT), (0, W))),
    "tariq": Expected(0, None),  # YAML syntax error: nothing graded
    # victor: helper g; dw1 = g @ X.T misses the mask while his dz1 is right
    "victor": Expected(8, _all((2, C), (2, C), (1, C), (2, C), (0, W), (1, C))),
    # wei, dz1: R = 0 (dz2 is right, nothing to follow from); links: chain rule
    # holds (1), sign flipped in the substitution (0), expansion holds but
    # continues the error (0.5): W = 1.5/3 = 0.5; 2 * (0 + 0.5 * 0.5) = 0.5.
    # dw1: R = 0.5 (follows from her dz1), W = 1/2 (first link holds, second
    # not): 2 * (0.25 + 0.25) = 1. db1 one line, follows from dz1: 0.5
    "wei": Expected(7, _all((2, C), (2, C), (1, C), (0.5, W), (1, FT), (0.5, FT))),
    # xavier: y - A2 everywhere but dz2 and dz1 never stated: with no stated
    # result to follow from, the four results are simply wrong
    "xavier": Expected(0, _all((0, M), (0, W), (0, W), (0, M), (0, W), (0, W))),
    # yara: A1 for relu_prime(z1) in dz1 (wrong); dw1, db1 follow from it
    "yara": Expected(6.5, _all((2, C), (2, C), (1, C), (0, W), (1, FT), (0.5, FT))),
    # zoe: sign error in dw1 and a factor 1/2 in db1, both after a right dz1
    "zoe": Expected(7, _all((2, C), (2, C), (1, C), (2, C), (0, W), (0, W))),
}

UNREADABLE = "tariq"
MALFORMED = "sam"  # one unreadable step: dw1
GRADESCOPE_STUDENT = "gianni"  # the one-student --format gradescope run

TEST_FIELDS = ("name", "number", "score", "max_score", "status", "output", "output_format",
               "visibility")


def _grade(out: Path, *paths: Path, gradescope: bool = False) -> subprocess.CompletedProcess:
    argv = [sys.executable, "-m", "derivcheck", "grade", str(KEY), *map(str, paths),
            "-o", str(out), "--workers", "2", "-q"]
    if gradescope:
        argv += ["--format", "gradescope"]
    return subprocess.run(argv, capture_output=True, text=True, timeout=300, check=False)


@pytest.fixture(scope="module")
def graded(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The whole class, graded once: outputs folder, grades.json by student, the run."""
    out = tmp_path_factory.mktemp("class")
    run = _grade(out, SUBMISSIONS, gradescope=True)
    assert run.returncode == 0, run.stderr
    doc = json.loads((out / "grades.json").read_text(encoding="utf-8"))
    return {"out": out, "doc": doc, "by": {g["student"]: g for g in doc["students"]}}


def _case(name: str, exp: Expected) -> Any:
    marks = [pytest.mark.xfail(strict=True, reason=exp.xfail)] if exp.xfail else []
    return pytest.param(name, exp, id=name, marks=marks)


@pytest.mark.parametrize(("student", "expected"), [_case(n, e) for n, e in CASES.items()])
def test_student_scores(graded: dict[str, Any], student: str, expected: Expected) -> None:
    g = graded["by"][student]
    if expected.items is None:
        assert g["items"] == [] and g["error"]
    else:
        got = {i["id"]: (round(i["points"], 4), i["status"]) for i in g["items"]}
        want = {k: (float(p), s) for k, (p, s) in expected.items.items()}
        assert got == want
        assert {i["id"]: i["max_points"] for i in g["items"]} == MAX_POINTS
    assert g["score"] == pytest.approx(expected.total, abs=1e-4)
    assert g["max_score"] == 10


def test_table_is_consistent() -> None:
    """The hand computations themselves: totals add up, no item above its maximum."""
    for name, exp in CASES.items():
        items = exp.items or {}
        assert exp.total == pytest.approx(sum(p for p, _ in items.values()), abs=2e-4), name
        for item, (points, status) in items.items():
            assert 0 <= points <= MAX_POINTS[item], (name, item)
            # full points only for a correct result; a correct result earns at least
            # the result share (farah's dz2: correct, but most of her chain is not)
            assert points < MAX_POINTS[item] or status == C, (name, item)
            assert status != C or points >= 0.5 * MAX_POINTS[item], (name, item)


def test_table_covers_the_class(graded: dict[str, Any]) -> None:
    assert set(graded["by"]) == set(CASES)
    assert len(CASES) >= 22
    folders = [p.name for p in SUBMISSIONS.iterdir() if p.is_dir()]
    assert len(folders) >= 2 and set(folders) <= set(CASES)


def test_every_submission_opens_with_a_comment() -> None:
    for path in sorted(SUBMISSIONS.rglob("*.yaml")):
        assert path.read_text(encoding="utf-8").startswith("# "), path


def test_gradebook_csv(graded: dict[str, Any]) -> None:
    with open(graded["out"] / "gradebook.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["student", "path", "score", "max_score", *ITEMS, "needs_review",
                       "error", "seed"]
    body = {r[0]: dict(zip(rows[0], r, strict=True)) for r in rows[1:]}
    assert len(rows) - 1 == len(body) == len(CASES)
    for name, g in graded["by"].items():
        row = body[name]
        assert float(row["score"]) == pytest.approx(g["score"])
        assert row["max_score"] == "10" and row["seed"] == "0"
        assert row["path"] == g["path"] and Path(row["path"]).exists()
        for i in g["items"]:
            assert float(row[i["id"]]) == pytest.approx(i["points"])
        assert bool(row["error"]) == (name == UNREADABLE)


def _step_ids(student: str) -> list[str]:
    path = SUBMISSIONS / f"{student}.yaml"
    if not path.exists():
        path = SUBMISSIONS / student / "answer.yaml"
    doc = YAML(typ="safe", pure=True).load(path.read_text(encoding="utf-8"))
    return [s["id"] for s in doc["steps"]]


@pytest.mark.parametrize("student", [s for s in CASES if s != UNREADABLE])
def test_feedback_names_every_step_verdict(graded: dict[str, Any], student: str) -> None:
    text = (graded["out"] / "feedback" / f"{student}.md").read_text(encoding="utf-8")
    assert "**Score: " in text
    errors = " ".join(u["error"] for u in graded["by"][student]["unreadable_steps"])
    for sid in _step_ids(student):
        if f"step {sid}:" in errors:  # an unreadable step: listed apart, without a verdict
            continue
        assert re.search(rf"### Step `{re.escape(sid)}`: "
                         r"(proved|checked|refuted|ill formed|undecided)\n", text), sid
    for item, (_, status) in (CASES[student].items or {}).items():
        assert f"{status.replace('_', ' ')} |" in text, item


def test_unreadable_file_scores_zero_with_a_reason(graded: dict[str, Any]) -> None:
    g = graded["by"][UNREADABLE]
    assert g["score"] == 0 and g["items"] == [] and g["steps"] == []
    assert "YAML" in g["error"] and "tariq.yaml" in g["error"]
    text = (graded["out"] / "feedback" / f"{UNREADABLE}.md").read_text(encoding="utf-8")
    assert "**Score: 0 / 10**" in text and "could not be graded" in text and "YAML" in text


def test_malformed_step_is_skipped_and_the_rest_graded(graded: dict[str, Any]) -> None:
    g = graded["by"][MALFORMED]
    assert g["error"] is None
    [bad] = g["unreadable_steps"]
    assert "step dw1:" in bad["error"] and "relu'(z1)" in bad["error"]
    assert [s["id"] for s in g["steps"]] == ["dz2", "dw2", "db2", "dz1", "db1"]
    assert all(s["verdict"] == "proved" for s in g["steps"])
    text = (graded["out"] / "feedback" / f"{MALFORMED}.md").read_text(encoding="utf-8")
    assert "## Steps that could not be read" in text and "relu'(z1)" in text


def test_malformed_step_is_listed_by_its_id(graded: dict[str, Any]) -> None:
    assert [u["step"] for u in graded["by"][MALFORMED]["unreadable_steps"]] == ["dw1"]


def _check_gradescope(doc: dict[str, Any]) -> None:
    for key in ("score", "execution_time", "output", "tests"):
        assert key in doc, key
    assert isinstance(doc["score"], (int, float)) and isinstance(doc["tests"], list)
    for t in doc["tests"]:
        missing = [f for f in TEST_FIELDS if f not in t]
        assert not missing, (t.get("name"), missing)
        assert t["status"] in ("passed", "failed")
        assert t["output_format"] in ("text", "md", "html", "simple_format", "ansi")
        assert t["visibility"] in ("visible", "hidden", "after_due_date", "after_published")


def test_gradescope_one_student(tmp_path: Path) -> None:
    run = _grade(tmp_path, SUBMISSIONS / f"{GRADESCOPE_STUDENT}.yaml", gradescope=True)
    assert run.returncode == 0, run.stderr
    doc = json.loads((tmp_path / "results.json").read_text(encoding="utf-8"))
    _check_gradescope(doc)
    exp = CASES[GRADESCOPE_STUDENT]
    assert doc["score"] == pytest.approx(exp.total, abs=1e-4)
    assert exp.items is not None
    assert [t["number"] for t in doc["tests"]] == [str(n) for n in range(1, 7)]
    for t, item in zip(doc["tests"], ITEMS, strict=True):
        points, _ = exp.items[item]
        assert t["name"].startswith(f"{item}: ")
        assert t["score"] == pytest.approx(points, abs=1e-4)
        assert t["max_score"] == MAX_POINTS[item]
        # green only for full points: partial credit (even a correct result) is failed
        assert t["status"] == ("passed" if points == MAX_POINTS[item] else "failed")


@pytest.mark.parametrize("student", list(CASES))
def test_gradescope_per_student_files(graded: dict[str, Any], student: str) -> None:
    doc = json.loads((graded["out"] / "gradescope" / student / "results.json")
                     .read_text(encoding="utf-8"))
    _check_gradescope(doc)
    assert doc["score"] == pytest.approx(graded["by"][student]["score"])
    if student == UNREADABLE:
        assert doc["tests"][0]["status"] == "failed" and "YAML" in doc["tests"][0]["output"]
