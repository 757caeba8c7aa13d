"""Grading: answer keys, submissions, scores by the policy, outputs, discovery.

A small key (softmax regression) keeps these fast; the worked example class in
examples/ is tested in test_grade_examples.py.  Expected scores are worked out
from the policy (``Policy`` docstring) by hand, in the comments.
"""

from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path

import pytest

from derivcheck.cli import main
from derivcheck.decide import Options
from derivcheck.errors import InputError
from derivcheck.grade.batch import discover
from derivcheck.grade.check import KeyProblem, grade_one, prepare
from derivcheck.grade.export import csv_cell, grade_dict, gradebook_csv, md_code, md_text
from derivcheck.grade.key import load_key_text
from derivcheck.load import load_submission_text

KEY = """
title: softmax regression
symbols: {x: vector D, W: matrix K D, b: vector K, y: onehot K}
define:
  z: W @ x + b
  a: softmax(z)
  L: -sum(y * log(a))
steps:
  - id: dz
    claim: d(L)/d(z) = a - y
  - id: dW
    claim: d(L)/d(W) = (a - y) @ x.T
rubric:
  policy: {result: 0.5, follow_through: 0.5%s}
  items:
    - {id: dz, result: "d(L)/d(z)", points: 2}
    - {id: dW, result: "d(L)/d(W)", points: 2, via: "d(L)/d(z) @ x.T"}
    - {id: db, result: ["d(L)/d(b)"], points: 1, via: "d(L)/d(z)"}
"""

FAST = Options(symbolic=False, workers=1)


def key_text(penalties: str = "") -> str:
    return KEY % penalties


@pytest.fixture(scope="module")
def prepared():
    return prepare(load_key_text(key_text(), "key.yaml"), FAST)


@pytest.fixture(scope="module")
def prepared_penalty():
    return prepare(load_key_text(key_text(", penalties: {sign-error: 0.5}"), "key.yaml"), FAST)


def steps(*lines: str) -> str:
    return "steps:\n" + "".join(f"  - {line}\n" for line in lines)


OK = ['{id: s1, claim: "d(L)/d(z) = a - y"}', '{id: s2, claim: "d(L)/d(W) = (a - y) @ x.T"}',
      '{id: s3, claim: "d(L)/d(b) = a - y"}']
SIGN = ['{id: s1, claim: "d(L)/d(z) = y - a"}', '{id: s2, claim: "d(L)/d(W) = (y - a) @ x.T"}',
        '{id: s3, claim: "d(L)/d(b) = y - a"}']

# name -> (submission, {item: (points, status)}, total)
SCORES = {
    "all correct": (steps(*OK), {"dz": (2, "correct"), "dW": (2, "correct"),
                                 "db": (1, "correct")}, 5),
    # dz wrong: 0.  dW and db follow from it (via): R = 0.5 and, one-link steps, W = R:
    # dW 2 * (0.5*0.5 + 0.5*0.5) = 1, db 1 * 0.5 = 0.5
    "sign error followed through": (steps(*SIGN), {"dz": (0, "wrong"),
                                                   "dW": (1, "follow_through"),
                                                   "db": (0.5, "follow_through")}, 1.5),
    # dW never stated: 0 for it, the rest full
    "missing result": (steps(OK[0], OK[2]), {"dz": (2, "correct"), "dW": (0, "missing"),
                                            "db": (1, "correct")}, 3),
    # dW wrong on its own (x instead of x.T is ill-formed; a dropped y is a wrong value),
    # and not what the student's correct dz gives: no follow-through
    "independent error": (steps(OK[0], '{id: s2, claim: "d(L)/d(W) = a @ x.T"}', OK[2]),
                          {"dz": (2, "correct"), "dW": (0, "wrong"), "db": (1, "correct")}, 3),
    # chain: link 1 wrong, link 2 holds and continues the error (follows-from-error):
    # R = 0, W = (0 + 0.5) / 2 = 0.25: dz 2 * 0.5 * 0.25 = 0.25
    "chain following its own error": (
        steps('{id: s1, chain: ["d(L)/d(z)", "y - a", "-(a - y)"]}', OK[1], OK[2]),
        {"dz": (0.25, "wrong"), "dW": (2, "correct"), "db": (1, "correct")}, 3.25),
    # chain: every link holds, final correct: full
    "correct chain": (
        steps('{id: s1, chain: ["d(L)/d(z)", "-(y - a)", "a - y"]}', OK[1], OK[2]),
        {"dz": (2, "correct"), "dW": (2, "correct"), "db": (1, "correct")}, 5),
    # chain: two wrong links (the second undoes the first), final correct:
    # R = 1, W = 0/2: 2 * (0.5 * 1 + 0.5 * 0) = 1
    "two compensating errors": (
        steps('{id: s1, chain: ["d(L)/d(z)", "y - a", "a - y"]}', OK[1], OK[2]),
        {"dz": (1, "correct"), "dW": (2, "correct"), "db": (1, "correct")}, 4),
    # chain: one correct link, one wrong final link: R = 0, W = 1/2: 2 * 0.5 * 0.5 = 0.5
    "correct start, wrong end": (
        steps('{id: s1, chain: ["d(L)/d(z)", "a - y", "y - a"]}', OK[1], OK[2]),
        {"dz": (0.5, "wrong"), "dW": (2, "correct"), "db": (1, "correct")}, 3.5),
    # the result written with the derivative still in it: not a closed form, 0
    "not in closed form": (
        steps(OK[0], '{id: s2, claim: "d(L)/d(W) = d(L)/d(z) @ x.T"}', OK[2]),
        {"dz": (2, "correct"), "dW": (0, "not_closed_form"), "db": (1, "correct")}, 3),
    # stated right to left (result = derivative) counts the same
    "derivative on the right": (
        steps('{id: s1, claim: "a - y = d(L)/d(z)"}', OK[1], OK[2]),
        {"dz": (2, "correct"), "dW": (2, "correct"), "db": (1, "correct")}, 5),
    # the student's own definition
    "own definition": (
        "define: {g: a - y}\n" + steps('{id: s1, claim: "d(L)/d(z) = g"}',
                                       '{id: s2, claim: "d(L)/d(W) = g @ x.T"}',
                                       '{id: s3, claim: "d(L)/d(b) = g"}'),
        {"dz": (2, "correct"), "dW": (2, "correct"), "db": (1, "correct")}, 5),
    # stated twice: the last statement is the answer
    "last statement counts": (
        steps('{id: s0, claim: "d(L)/d(z) = y - a"}', *OK),
        {"dz": (2, "correct"), "dW": (2, "correct"), "db": (1, "correct")}, 5),
    # LaTeX steps
    "latex": (steps(r"""{id: s1, latex: '\frac{\partial L}{\partial z} = a - y'}""",
                    r"""{id: s2, latex: '\frac{\partial L}{\partial W} = (a - y) x^T'}""",
                    r"""{id: s3, latex: '\frac{\partial L}{\partial b} = a - y'}"""),
              {"dz": (2, "correct"), "dW": (2, "correct"), "db": (1, "correct")}, 5),
    # one unreadable step: graded on the rest, dW missing
    "malformed step": (steps(OK[0], '{id: s2, claim: "d(L)/d(W) = (a - y @ x.T"}', OK[2]),
                       {"dz": (2, "correct"), "dW": (0, "missing"), "db": (1, "correct")}, 3),
}


@pytest.mark.parametrize("name", list(SCORES))
def test_scores_follow_the_policy(name: str, prepared) -> None:
    text, want, total = SCORES[name]
    g = grade_one(prepared, "s", "s.yaml", text)
    assert g.error is None
    got = {i.id: (i.points, i.status) for i in g.items}
    assert got == {k: (float(p), s) for k, (p, s) in want.items()}
    assert g.score == total
    assert g.max_score == 5


def test_malformed_step_is_reported(prepared) -> None:
    g = grade_one(prepared, "s", "s.yaml", SCORES["malformed step"][0])
    assert [sid for sid, _ in g.step_errors] == ["s2"]
    assert "s.yaml:3:" in g.step_errors[0][1]
    assert [s.id for s in g.steps] == ["s1", "s3"]


def test_missing_result_feedback_says_so(prepared) -> None:
    g = grade_one(prepared, "s", "s.yaml", SCORES["missing result"][0])
    item = next(i for i in g.items if i.id == "dW")
    assert "never stated" in item.feedback and "d(L)/d(W) = ..." in item.feedback


def test_wrong_result_feedback_names_the_mistake(prepared) -> None:
    g = grade_one(prepared, "s", "s.yaml", steps(*SIGN))
    dz = next(i for i in g.items if i.id == "dz")
    assert dz.codes == ("sign-error",)
    assert "wrong sign" in dz.feedback


# name -> (submission, {item: points}) under the key with penalties: {sign-error: 0.5}
PENALTY_SCORES = {
    # one sign error, in dz: dz 0 - 0.5 -> 0 (never negative).  dW and db carry it over
    # correctly (follow-through) and pay nothing for it: dW 1, db 0.5
    "one sign error is paid once": (steps(*SIGN), {"dz": 0.0, "dW": 1.0, "db": 0.5}),
    # a sign error in dW alone, dz right: dW is wrong (no follow-through), 0 - 0.5 -> 0
    "a sign error of its own pays": (
        steps(OK[0], '{id: s2, claim: "d(L)/d(W) = (y - a) @ x.T"}', OK[2]),
        {"dz": 2.0, "dW": 0.0, "db": 1.0}),
    # the follow-through item as a chain: link 1 holds, link 2 is wrong only by the
    # carried sign error (no work credit, no penalty): R = 0.5, W = 1 / 2:
    # 2 * (0.5 * 0.5 + 0.5 * 0.5) = 1
    "a chain carrying the error over": (
        steps(SIGN[0], '{id: s2, chain: ["d(L)/d(W)", "d(L)/d(z) @ x.T", "(y - a) @ x.T"]}',
              SIGN[2]),
        {"dz": 0.0, "dW": 1.0, "db": 0.5}),
    # dz right as a chain with a sign error in its middle, compensated: R = 1, W = 0:
    # 2 * 0.5 - 2 * 0.5 (two wrong links with sign-error) -> 0
    "compensating sign errors pay for each": (
        steps('{id: s1, chain: ["d(L)/d(z)", "y - a", "a - y"]}', OK[1], OK[2]),
        {"dz": 0.0, "dW": 2.0, "db": 1.0}),
}


@pytest.mark.parametrize("name", list(PENALTY_SCORES))
def test_penalties_are_paid_where_the_mistake_is_made(name: str, prepared_penalty) -> None:
    text, want = PENALTY_SCORES[name]
    g = grade_one(prepared_penalty, "s", "s.yaml", text)
    assert {i.id: i.points for i in g.items} == want
    assert g.score == sum(want.values())


def test_follow_through_feedback_is_consistent(prepared_penalty) -> None:
    g = grade_one(prepared_penalty, "s", "s.yaml", steps(*SIGN))
    by = {i.id: i for i in g.items}
    assert by["dz"].codes == ("sign-error",) and by["dz"].penalty == 0.5
    for iid in ("dW", "db"):
        item = by[iid]
        assert item.status == "follow_through" and item.penalty == 0 and item.codes == ()
        assert "follow-through credit" in item.feedback and "Penalty" not in item.feedback
        assert "no penalty" in item.feedback
    chain = grade_one(prepared_penalty, "s", "s.yaml",
                      PENALTY_SCORES["a chain carrying the error over"][0])
    dw = next(i for i in chain.items if i.id == "dW")
    assert "wrong only by the mistake carried over" in dw.feedback
    assert "work credit 50%" in dw.feedback and "Penalty" not in dw.feedback


def test_unreadable_submission_scores_zero_with_the_reason(prepared) -> None:
    g = grade_one(prepared, "s", "s.yaml", "steps: [unclosed\n")
    assert g.score == 0 and g.items == ()
    assert g.error is not None and "YAML error" in g.error and "s.yaml:" in g.error


SUBMISSION_ERRORS = {
    "redeclares a key symbol": ("symbols: {W: matrix D K}\n" + steps(*OK),
                                "already declared in the answer key"),
    "redefines a key definition": ("define: {a: z}\n" + steps(*OK),
                                   "already defined in the answer key"),
    "changes the conventions": ("conventions: {layout: numerator}\n" + steps(*OK),
                                "comes from the answer key"),
    "adds an assumption": ("assume: [is_positive(x)]\n" + steps(*OK),
                           "comes from the answer key"),
    "no steps": ("title: nothing\n", "missing 'steps:'"),
}


@pytest.mark.parametrize("name", list(SUBMISSION_ERRORS))
def test_submission_errors(name: str, prepared) -> None:
    text, message = SUBMISSION_ERRORS[name]
    with pytest.raises(InputError) as err:
        load_submission_text(text, prepared.key.derivation, "s.yaml")
    assert message in err.value.message
    assert err.value.line >= 1


KEY_ERRORS = {
    "no rubric": (KEY.split("rubric:")[0], "needs a 'rubric:'"),
    "unknown rubric key": (key_text().replace("  items:", "  extra: 1\n  items:"),
                           "unknown rubric key 'extra'"),
    "points not a number": (key_text().replace("points: 2}", "points: two}", 1),
                            "'points' must be a number"),
    "negative points": (key_text().replace("points: 2}", "points: -2}", 1),
                        "'points' must be between 0"),
    "unknown penalty code": (key_text(", penalties: {sing-error: 1}"),
                             "unknown diagnosis code 'sing-error'"),
    "result not a derivative": (key_text().replace('result: "d(L)/d(z)"', 'result: "a - y"'),
                                "is not a derivative"),
    "same result twice": (key_text().replace('result: ["d(L)/d(b)"]', 'result: "d(L)/d(z)"'),
                          "asks for the same result"),
    "policy share above 1": (key_text().replace("result: 0.5", "result: 1.5"),
                             "a fraction between 0 and 1"),
    "unknown name in result": (key_text().replace('"d(L)/d(z)"', '"d(L)/d(q)"', 1),
                               "q"),
}


@pytest.mark.parametrize("name", list(KEY_ERRORS))
def test_key_errors(name: str) -> None:
    text, message = KEY_ERRORS[name]
    with pytest.raises(InputError) as err:
        load_key_text(text, "key.yaml")
    assert message in err.value.message
    assert err.value.path == "key.yaml"


KEY_PROBLEMS = {
    "a model-answer step is wrong": (key_text().replace("(a - y) @ x.T\n", "(y - a) @ x.T\n"),
                                     "step 'dW' is refuted"),
    "a via is wrong": (key_text().replace('via: "d(L)/d(z) @ x.T"', 'via: "d(L)/d(z) @ x.T * 2"'),
                       "is not equal to d(L)/d(W)"),
}


@pytest.mark.parametrize("name", list(KEY_PROBLEMS))
def test_key_that_does_not_hold_is_refused(name: str) -> None:
    text, message = KEY_PROBLEMS[name]
    with pytest.raises(KeyProblem) as err:
        prepare(load_key_text(text, "key.yaml"), FAST)
    assert message in err.value.message


# -- outputs --------------------------------------------------------------------------
CSV_CELLS = {
    "formula": ('=HYPERLINK("http://x","y")', "'=HYPERLINK(\"http://x\",\"y\")"),
    "plus": ("+1+2", "'+1+2"),
    "minus": ("-1", "'-1"),
    "at": ("@SUM(A1)", "'@SUM(A1)"),
    "tab": ("\t=1", "'\t=1"),
    "newline inside": ("a\n=b", "a =b"),
    "plain": ("alice", "alice"),
}


@pytest.mark.parametrize("name", list(CSV_CELLS))
def test_csv_cells_never_start_a_formula(name: str) -> None:
    given, want = CSV_CELLS[name]
    assert csv_cell(given) == want


MD_TEXT = {
    "link": ("[click](javascript:alert(1))", r"\[click\](javascript:alert(1))"),
    "image": ("![x](http://e/x.png)", r"!\[x\](`http://e/x.png)`"),
    "bare url": ("see http://e.example/x now", "see `http://e.example/x` now"),
    "html": ("<script>alert(1)</script>", "&lt;script&gt;alert(1)&lt;/script&gt;"),
    "emphasis": ("*bold* _it_", r"\*bold\* \_it\_"),
    "heading": ("# title", r"\# title"),
    "list": ("- item", r"\- item"),
    "table pipe": ("a | b", r"a \| b"),
    "underscore inside a word": ("relu_prime", "relu_prime"),
    "lines joined": ("a\n# b", "a # b"),
}


@pytest.mark.parametrize("name", list(MD_TEXT))
def test_markdown_text_is_inert(name: str) -> None:
    given, want = MD_TEXT[name]
    assert md_text(given) == want


def test_markdown_code_span_cannot_be_closed_by_backticks() -> None:
    span = md_code("a `` b ` c")
    fence = span[:len(span) - len(span.lstrip("`"))]
    assert len(fence) == 3 and span.endswith(fence)
    assert "```" not in span[3:-3]


def test_gradebook_csv_has_a_column_per_item_and_the_seed(prepared) -> None:
    grades = [grade_dict(grade_one(prepared, n, f"{n}.yaml", t), prepared)
              for n, t in (("ok", steps(*OK)), ("sign", steps(*SIGN)))]
    rows = list(csv.reader(io.StringIO(gradebook_csv(grades, prepared))))
    assert rows[0] == ["student", "path", "score", "max_score", "dz", "dW", "db",
                       "needs_review", "error", "seed"]
    assert rows[1] == ["ok", "ok.yaml", "5", "5", "2", "2", "1", "no", "", "0"]
    assert rows[2] == ["sign", "sign.yaml", "1.5", "5", "0", "1", "0.5", "no", "", "0"]


# -- discovery --------------------------------------------------------------------------
def _tree(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)


def test_discover_files_folders_and_links(tmp_path: Path) -> None:
    outside = tmp_path / "secret.yaml"
    outside.write_text(steps(*OK))
    cls = tmp_path / "class"
    _tree(cls, {"alice.yaml": "x", "bob/answer.yaml": "x", "carol/a.yaml": "x",
                "carol/b.yaml": "x", "dave/notes.txt": "x", ".hidden.yaml": "x",
                "README.md": "x", "alice-2/answer.yml": "x"})
    os.symlink(outside, cls / "eve.yaml")
    (cls / "frank").mkdir()
    os.symlink(outside, cls / "frank" / "answer.yaml")
    subs, skipped = discover([cls])
    found = {s.student: (Path(s.path).name, s.problem) for s in subs}
    assert found["alice"] == ("alice.yaml", "")
    assert found["alice-2"] == ("answer.yml", "")
    assert found["bob"] == ("answer.yaml", "")
    assert "2 .yaml files" in found["carol"][1]
    assert "no .yaml file" in found["dave"][1]
    assert "symbolic link" in found["eve"][1]
    assert "symbolic link" in found["frank"][1]
    assert ".hidden" not in "".join(found)
    # not a .yaml file: listed (0 points, the reason), its id the whole name
    assert found["README.md"][1].startswith("not a .yaml file")
    assert skipped == []


def test_cli_grades_a_class_and_never_writes_outside_the_output(tmp_path: Path) -> None:
    key = tmp_path / "key.yaml"
    key.write_text(key_text())
    cls = tmp_path / "class"
    _tree(cls, {"good.yaml": steps(*OK), "sign.yaml": steps(*SIGN),
                "broken.yaml": "steps: [\n", '=HYPERLINK("x").yaml': steps(*OK),
                "..evil.yaml": steps(*OK)})
    out = tmp_path / "out"
    rc = main(["grade", str(key), str(cls), "-o", str(out), "--no-symbolic", "-q",
               "--workers", "2"])
    assert rc == 0
    rows = {r["student"]: r for r in csv.DictReader((out / "gradebook.csv").open())}
    assert set(rows) == {"good", "sign", "broken", "'=HYPERLINK(\"x\")"}  # escaped cell
    assert rows["good"]["score"] == "5" and rows["sign"]["score"] == "1.5"
    assert rows["broken"]["score"] == "0" and "YAML error" in rows["broken"]["error"]
    written = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()}
    assert written >= {"gradebook.csv", "grades.json", "feedback/good.md",
                       "feedback/broken.md", 'feedback/=HYPERLINK("x").md'}
    assert all(not p.startswith("..") for p in written)
    doc = json.loads((out / "grades.json").read_text())
    assert doc["seed"] == 0 and doc["summary"]["failed_to_read"] == 1
    assert doc["summary"]["common_mistakes"][0]["code"] == "sign-error"
    assert "could not be graded" in (out / "feedback" / "broken.md").read_text()


def test_gradescope_results_for_one_student(tmp_path: Path) -> None:
    key = tmp_path / "key.yaml"
    key.write_text(key_text())
    sub = tmp_path / "submission"
    _tree(sub, {"answer.yaml": steps(*SIGN)})
    out = tmp_path / "results"
    assert main(["grade", str(key), str(sub), "-o", str(out), "--format", "gradescope",
                 "--no-symbolic", "-q"]) == 0
    r = json.loads((out / "results.json").read_text())
    assert r["score"] == 1.5 and r["execution_time"] >= 0 and "seed 0" in r["output"]
    assert [t["name"].split(":")[0] for t in r["tests"]] == ["dz", "dW", "db"]
    for t in r["tests"]:
        assert set(t) >= {"name", "number", "score", "max_score", "status", "output",
                          "output_format", "visibility"}
        assert t["visibility"] == "visible"
    assert [t["status"] for t in r["tests"]] == ["failed", "failed", "failed"]


CRASHES = {
    "key does not exist": lambda tmp: [str(tmp / "nokey.yaml")],
    "key without rubric": lambda tmp: [_write(tmp / "k.yaml", KEY.split("rubric:")[0])],
    "key whose model answer is wrong": lambda tmp: [_write(
        tmp / "k.yaml", key_text().replace("(a - y) @ x.T\n", "(y - a) @ x.T\n"))],
}


def _write(path: Path, text: str) -> str:
    path.write_text(text)
    return str(path)


@pytest.mark.parametrize("name", list(CRASHES))
def test_gradescope_results_json_is_written_even_when_grading_cannot_run(
        name: str, tmp_path: Path) -> None:
    args = CRASHES[name](tmp_path)
    sub = tmp_path / "answer.yaml"
    sub.write_text(steps(*OK))
    out = tmp_path / "results"
    rc = main(["grade", *args, str(sub), "-o", str(out), "--format", "gradescope",
               "--no-symbolic", "-q"])
    assert rc == 2
    r = json.loads((out / "results.json").read_text())
    assert r["score"] == 0
    assert r["tests"][0]["status"] == "failed" and r["tests"][0]["visibility"] == "visible"


HOSTILE_STEP_IDS = {
    "html": "<img src=x onerror=alert(1)>",
    "markdown link": "[x](javascript:alert(1))",
    "backticks": "``` evil",
    "latex": r"}\input{/etc/passwd}\write18{touch /tmp/pwned}",
    "formula": "=HYPERLINK(\"http://e\")",
}


@pytest.mark.parametrize("name", list(HOSTILE_STEP_IDS))
def test_hostile_step_ids_are_inert_in_feedback(name: str, prepared) -> None:
    from derivcheck.grade.export import feedback_markdown
    from derivcheck.grade.texfeedback import feedback_tex

    sid = HOSTILE_STEP_IDS[name]
    text = steps("{id: " + json.dumps(sid) + ', claim: "d(L)/d(z) = y - a"}')
    g = grade_dict(grade_one(prepared, "s", "s.yaml", text), prepared)
    md = feedback_markdown(g, prepared)
    line = next(x for x in md.splitlines() if x.startswith("### Step"))
    span = line[len("### Step "):line.rindex(":")]
    fence = span[:len(span) - len(span.lstrip("`"))]
    assert fence and span.endswith(fence) and sid in span  # one code span, closed
    assert fence not in span[len(fence):-len(fence)]
    tex = feedback_tex(g, prepared)
    assert "\\input{" not in tex and "\\write18" not in tex


def _hostile_class(root: Path, marker: Path) -> dict[str, str]:
    m = str(marker)
    lol = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{c}: &{c} [*{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}]\n"
        for p, c in zip("abcdefgh", "bcdefghi"))
    return {
        "good": steps(*OK),
        "import": steps(f'{{id: s1, claim: "__import__(\'os\').system(\'touch {m}\') = a"}}',
                        *OK[1:]),
        "dunder": steps('{id: s1, claim: "().__class__.__base__.__subclasses__() = a"}',
                        *OK[1:]),
        "lambda": steps('{id: s1, claim: "(lambda: 1)() = a"}', *OK[1:]),
        "yaml_tag": f"steps: !!python/object/apply:os.system ['touch {m}']\n",
        "billion_laughs": lol + steps(*OK),
        "deep": steps('{id: s1, claim: "d(L)/d(z) = ' + "(" * 500 + "a" + ")" * 500 + '"}'),
        "tower": steps('{id: s1, claim: "d(L)/d(z) = a ** 9 ** 9 ** 9"}', *OK[1:]),
        "huge_int": steps('{id: s1, claim: "d(L)/d(z) = a * 9999999999999999999999"}',
                          *OK[1:]),
        "latex_input": steps(r"""{id: s1, latex: '\input{/etc/passwd} = a'}""", *OK[1:]),
        "huge_file": "steps: []\n" + "#" * 1_100_000 + "\n",
    }


def test_a_hostile_class_is_graded_and_nothing_runs(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    key = tmp_path / "key.yaml"
    key.write_text(key_text())
    cls = tmp_path / "class"
    cls.mkdir()
    for name, text in _hostile_class(tmp_path, marker).items():
        (cls / f"{name}.yaml").write_text(text, encoding="utf-8")
    (cls / "binary.yaml").write_bytes(b"\xff\xfe\x00 steps")
    out = tmp_path / "out"
    assert main(["grade", str(key), str(cls), "-o", str(out), "-q", "--no-symbolic"]) == 0
    assert not marker.exists()
    rows = {r["student"]: r for r in csv.DictReader((out / "gradebook.csv").open())}
    assert rows["good"]["score"] == "5"
    # a hostile step is unreadable: the rest of the submission is graded (dz missing)
    for name in ("import", "dunder", "lambda", "tower", "huge_int", "latex_input"):
        assert rows[name]["score"] == "3", name
        assert rows[name]["error"] == ""
    # a hostile file cannot be read at all: 0 with the reason
    reasons = {"yaml_tag": "tag", "billion_laughs": "aliases", "huge_file": "too large",
               "binary": "UTF-8", "deep": "nested"}
    doc = json.loads((out / "grades.json").read_text())
    by = {g["student"]: g for g in doc["students"]}
    for name, reason in reasons.items():
        assert rows[name]["score"] == "0", name
        text = by[name]["error"] or " ".join(u["error"] for u in by[name]["unreadable_steps"])
        assert reason in text, (name, text)


def test_every_public_name_resolves_and_the_readme_example_runs() -> None:
    import derivcheck

    assert "__version__" in derivcheck.__all__
    for name in derivcheck.__all__:
        assert getattr(derivcheck, name) is not None, name
    root = Path(__file__).resolve().parents[1]
    prepared = derivcheck.prepare_key(derivcheck.load_key(root / "examples/mlp004/key.yaml"),
                                      FAST)
    g = derivcheck.grade_one(prepared, "ada", root / "examples/mlp004/submissions/ada.yaml")
    assert (g.score, g.max_score) == (10, 10)
    assert derivcheck.grade_dict(g, prepared)["items"][0]["status"] == "correct"


def test_progress_bar_on_a_terminal_and_silent_otherwise() -> None:
    from derivcheck.grade.batch import Progress

    shown = io.StringIO()
    bar = Progress(shown, enabled=True)
    bar(1, 4, "alice")
    bar(4, 4, "=evil\x1b[2J")
    bar.close()
    text = shown.getvalue()
    assert "[#######" in text and "1/4" in text and "4/4" in text and text.endswith("\n")
    assert "\x1b" not in text  # the student id is shown made safe
    quiet = io.StringIO()  # not a terminal
    Progress(quiet)(1, 4, "alice")
    assert quiet.getvalue() == ""


@pytest.mark.skipif(__import__("shutil").which("pdftotext") is None,
                    reason="needs TeX and poppler-utils (installed by .ci/run)")
def test_latex_feedback_compiles_with_hostile_text(tmp_path: Path) -> None:
    import subprocess

    from derivcheck.report.pdf import compile_pdf, tex_available

    if tex_available() is None:
        pytest.skip("needs latexmk or pdflatex")
    key = tmp_path / "key.yaml"
    key.write_text(key_text())
    cls = tmp_path / "class"
    _tree(cls, {"sign.yaml": steps(*SIGN[:2], '{id: "}\\\\input{x}%_&#", claim: '
                                   '"d(L)/d(b) = y - a"}'),
                "broken.yaml": "steps: [\n"})
    out = tmp_path / "out"
    assert main(["grade", str(key), str(cls), "-o", str(out), "-q", "--no-symbolic",
                 "--feedback-latex", "--feedback-detail", "solution"]) == 0
    tex = (out / "feedback" / "sign.tex").read_text()
    assert r"\frac{\partial L}{\partial z}" in tex  # formulas typeset as math, not code
    assert r"derivcheck's result:}" in tex and r"\begin{align*}" in tex
    texts = {}
    for name in ("sign", "broken"):
        pdf = tmp_path / f"{name}.pdf"
        pdf.write_bytes(compile_pdf((out / "feedback" / f"{name}.tex").read_text()))
        texts[name] = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True,
                                     text=True, check=True).stdout
    assert "Score: 1.5 / 5" in texts["sign"] and "refuted" in texts["sign"]
    assert "}\\input{x}%_&#" in texts["sign"]  # the hostile step id, printed as written
    assert "Score: 0 / 5" in texts["broken"] and "could not be graded" in texts["broken"]


def test_gradescope_upload_with_two_files_still_gets_a_results_json(tmp_path: Path) -> None:
    key = tmp_path / "key.yaml"
    key.write_text(key_text())
    sub = tmp_path / "submission"
    _tree(sub, {"answer.yaml": steps(*OK), "draft.yaml": steps(*SIGN)})
    out = tmp_path / "results"
    assert main(["grade", str(key), str(sub), "-o", str(out), "--format", "gradescope",
                 "--no-symbolic", "-q"]) == 0
    top = json.loads((out / "results.json").read_text())
    assert top["score"] == 0 and top["tests"][0]["status"] == "failed"
    assert "2 submissions were found (answer, draft)" in top["tests"][0]["output"]
    each = json.loads((out / "gradescope" / "answer" / "results.json").read_text())
    assert each["score"] == 5


# name -> (submission, {item: (points, status)}, the step stating dz, warnings)
REPEATS = {
    # the wrong first try, then the correction under the same id: the correction counts
    "repeated id, correction last": (
        steps('{id: s1, claim: "d(L)/d(z) = y - a"}', '{id: s1, claim: "d(L)/d(z) = a - y"}',
              *OK[1:]),
        {"dz": (2, "correct"), "dW": (2, "correct"), "db": (1, "correct")}, "s1-2", 1),
    # the renamed id skips one the file already uses
    "repeated id, the next name taken": (
        steps('{id: s1, claim: "d(L)/d(z) = y - a"}', '{id: s1-2, claim: "d(L)/d(b) = a - y"}',
              '{id: s1, claim: "d(L)/d(z) = a - y"}', OK[1]),
        {"dz": (2, "correct"), "dW": (2, "correct"), "db": (1, "correct")}, "s1-3", 1),
    # repeated three times, the last one wrong: the last statement is the answer
    "repeated id, last wrong": (
        steps(OK[0], OK[0], '{id: s1, claim: "d(L)/d(z) = y - a"}', *OK[1:]),
        {"dz": (0, "wrong"), "dW": (2, "correct"), "db": (1, "correct")}, "s1-3", 2),
    # no steps at all: graded, every item missing (not "unreadable")
    "no steps": ("steps: []\n", {"dz": (0, "missing"), "dW": (0, "missing"),
                                 "db": (0, "missing")}, None, 0),
}


@pytest.mark.parametrize("name", list(REPEATS))
def test_the_last_statement_counts_and_repeated_ids_are_renamed(name: str, prepared) -> None:
    text, want, stating, warnings = REPEATS[name]
    g = grade_one(prepared, "s", "s.yaml", text)
    assert g.error is None and g.step_errors == ()
    assert {i.id: (i.points, i.status) for i in g.items} == {
        k: (float(p), st) for k, (p, st) in want.items()}
    assert next(i.step for i in g.items if i.id == "dz") == stating
    assert len(g.warnings) == warnings
    assert all("is used again" in w and "s.yaml:" in w for w in g.warnings)
    if warnings:
        from derivcheck.grade.export import feedback_markdown

        md = feedback_markdown(grade_dict(g, prepared), prepared)
        assert "## Warnings" in md and "is used again" in md


def test_a_key_still_refuses_a_repeated_step_id() -> None:
    text = key_text().replace("  - id: dW\n", "  - id: dz\n")
    with pytest.raises(InputError) as err:
        load_key_text(text, "key.yaml")
    assert "duplicate step id 'dz'" in err.value.message


# -- what states an item ------------------------------------------------------------------
INDICES = "symbols: {i: index K, j: index D}\n"
# name -> (submission, {item: status}); the other items are stated correctly
STATEMENTS = {
    "element form of a matrix": (
        INDICES + steps(OK[0], '{id: s2, claim: "d(L)/d(W[i, j]) = (a[i] - y[i]) * x[j]"}',
                        OK[2]), {"dW": "correct"}),
    "element form, wrong": (
        INDICES + steps(OK[0], '{id: s2, claim: "d(L)/d(W[i, j]) = (y[i] - a[i]) * x[j]"}',
                        OK[2]), {"dW": "wrong"}),
    "element form of a vector": (
        INDICES + steps(OK[0], OK[1], '{id: s3, claim: "d(L)/d(b[i]) = a[i] - y[i]"}'),
        {"db": "correct"}),
    "one fixed element does not state it": (
        steps(OK[0], OK[1], '{id: s3, claim: "d(L)/d(b[0]) = a[0] - y[0]"}'),
        {"db": "missing"}),
    "a repeated index does not state it": (
        "symbols: {i: index K}\n" + steps(
            OK[0], '{id: s2, claim: "d(L)/d(W[i, i]) = (a[i] - y[i]) * x[i]"}', OK[2]),
        {"dW": "missing"}),
    "times a scalar": (steps('{id: s1, claim: "2 * d(L)/d(z) = 2 * a - 2 * y"}', *OK[1:]),
                       {"dz": "correct"}),
    "over a scalar": (steps('{id: s1, claim: "d(L)/d(z) / 2 = (a - y) / 2"}', *OK[1:]),
                      {"dz": "correct"}),
    "times a scalar, wrong": (steps('{id: s1, claim: "2 * d(L)/d(z) = a - y"}', *OK[1:]),
                              {"dz": "wrong"}),
    "negated": (steps('{id: s1, claim: "-d(L)/d(z) = y - a"}', *OK[1:]), {"dz": "correct"}),
    # an outside tester's full marks for (c - c) * d(L)/d(v) = (c - c) * anything (true:
    # 0 = 0): a scaled statement is graded as the derivative against final / factor
    "times zero is not a statement of it": (
        steps('{id: s1, claim: "(2 - 2) * d(L)/d(z) = (2 - 2) * a"}', *OK[1:]),
        {"dz": "wrong"}),
    "times a vector does not state it": (
        steps('{id: s1, claim: "d(L)/d(z) * a = (a - y) * a"}', *OK[1:]), {"dz": "missing"}),
}


@pytest.mark.parametrize("name", list(STATEMENTS))
def test_what_states_an_item(name: str, prepared) -> None:
    text, want = STATEMENTS[name]
    g = grade_one(prepared, "s", "s.yaml", text)
    assert g.error is None, g.error
    got = {i.id: i.status for i in g.items}
    assert got == {"dz": "correct", "dW": "correct", "db": "correct", **want}
    for i in g.items:
        if i.status != "missing":
            assert "never stated" not in i.feedback


def test_a_scaled_statement_gives_the_derivative_itself_as_the_result(prepared) -> None:
    g = grade_one(prepared, "s", "s.yaml", STATEMENTS["times a scalar"][0])
    dz = next(i for i in g.items if i.id == "dz")
    assert dz.result.replace(" ", "") in ("(2*a-2*y)/2", "(2*a-2*y)/(2)")


KEY_IDX = key_text().replace("y: onehot K}", "y: onehot K, i: index K, j: index D}")
# name -> (the dW item's result forms, the message of the refusal, or "" if accepted)
RESULT_FORMS = {
    "matrix and element form": ('["d(L)/d(W)", "d(L)/d(W[i, j])"]', ""),
    "element form first": ('["d(L)/d(W[i, j])", "d(L)/d(W)"]', ""),
    "two derivatives": ('["d(L)/d(W)", "d(L)/d(x)"]', "are not the same derivative"),
    "an element of another variable": ('["d(L)/d(W)", "d(L)/d(b[i])"]',
                                       "are not the same derivative"),
}


@pytest.mark.parametrize("name", list(RESULT_FORMS))
def test_result_forms_are_one_derivative(name: str) -> None:
    forms, message = RESULT_FORMS[name]
    text = KEY_IDX.replace('result: "d(L)/d(W)"', f"result: {forms}")
    assert text != KEY_IDX
    if message:
        with pytest.raises(KeyProblem) as err:
            prepare(load_key_text(text, "key.yaml"), FAST)
        assert message in err.value.message
        return
    p = prepare(load_key_text(text, "key.yaml"), FAST)
    # an answer in either form is graded against its own form
    for claim, status in (("d(L)/d(W[i, j]) = (a[i] - y[i]) * x[j]", "correct"),
                          ("d(L)/d(W) = (a - y) @ x.T", "correct"),
                          ("d(L)/d(W[i, j]) = (y[i] - a[i]) * x[j]", "wrong")):
        g = grade_one(p, "s", "s.yaml", steps(OK[0], f'{{id: s2, claim: "{claim}"}}', OK[2]))
        assert next(i.status for i in g.items if i.id == "dW") == status, claim


# name -> (points, max_points, status) of an item -> Gradescope's test status
GRADESCOPE_STATUS = {
    "full points": (2, 2, "correct", "passed"),
    "correct result, partial work": (1, 2, "correct", "failed"),
    "follow-through": (1, 2, "follow_through", "failed"),
    "wrong": (0, 2, "wrong", "failed"),
    "worth nothing, correct": (0, 0, "correct", "passed"),
}


@pytest.mark.parametrize("name", list(GRADESCOPE_STATUS))
def test_gradescope_partial_credit_is_failed_with_its_points(name: str) -> None:
    from derivcheck.grade.export import gradescope_results

    points, most, status, want = GRADESCOPE_STATUS[name]
    g = {"error": None, "max_score": most, "score": points, "needs_review": False, "seed": 0,
         "unreadable_steps": [], "items": [{"id": "x", "points": points, "max_points": most,
                                            "status": status, "feedback": "f"}]}
    [test] = gradescope_results(g, None, 1.0)["tests"]
    assert (test["status"], test["score"], test["max_score"]) == (want, points, most)


def test_gradescope_execution_time_is_per_student(tmp_path: Path) -> None:
    key = tmp_path / "key.yaml"
    key.write_text(key_text())
    sub = tmp_path / "submission"
    slow = [f'{{id: c{k}, chain: ["d(L)/d(W)", "(a - y) @ x.T + {k} * 0 * (a - y) @ x.T", '
            f'"(a - y) @ x.T"]}}' for k in range(40)]
    _tree(sub, {"quick.yaml": "steps: []\n", "slow.yaml": steps(*OK, *slow)})
    out = tmp_path / "results"
    assert main(["grade", str(key), str(sub), "-o", str(out), "--format", "gradescope",
                 "--no-symbolic", "-q", "--workers", "1"]) == 0
    times = {s: json.loads((out / "gradescope" / s / "results.json").read_text())
             ["execution_time"] for s in ("quick", "slow")}
    assert times["slow"] > times["quick"] and times["quick"] < 0.5


# name -> (argv with {key} / {bad} for the key files, exit code, text in the output)
COMMANDS = {
    "verify on a key hints at --check-key": (["verify", "{key}"], 2,
                                            "derivcheck grade --check-key KEY"),
    "check a good key": (["grade", "{key}", "--check-key", "--no-symbolic"], 0,
                         "the answer key can be used: 3 items, 5 points"),
    "check a key whose model answer is wrong": (["grade", "{bad}", "--check-key",
                                                 "--no-symbolic"], 2, "step 'dW' is refuted"),
    "grade without submissions": (["grade", "{key}", "--no-symbolic"], 2,
                                  "no submissions given"),
    "version": (["--version"], 0, "derivcheck 0."),
}


@pytest.mark.parametrize("name", list(COMMANDS))
def test_commands(name: str, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    argv, code, text = COMMANDS[name]
    key = _write(tmp_path / "key.yaml", key_text())
    bad = _write(tmp_path / "bad.yaml", key_text().replace("(a - y) @ x.T\n", "(y - a) @ x.T\n"))
    argv = [a.format(key=key, bad=bad) for a in argv]
    assert main([*argv, "-o", str(tmp_path / "out")] if argv[0] == "grade" else argv) == code
    captured = capsys.readouterr()
    assert text in captured.out + captured.err


# How much the feedback shows (--feedback-detail): (id, detail, shown, hidden)
DETAIL = [
    ("verdict only", "verdict", ["is wrong: 0 of 2 points", "**refuted**"],
     ["sign", "negative", "counterexample", "derivcheck's result"]),
    ("diagnosis", "diagnosis", ["negative of the reference", "counterexample at sizes"],
     ["derivcheck's result"]),
    ("solution", "solution", ["negative of the reference", "derivcheck's result: `a - y`"],
     []),
]


@pytest.mark.parametrize(("detail", "shown", "hidden"), [c[1:] for c in DETAIL],
                         ids=[c[0] for c in DETAIL])
def test_feedback_detail(detail: str, shown: list[str], hidden: list[str], prepared) -> None:
    from derivcheck.grade.export import feedback_markdown, gradescope_results
    from derivcheck.grade.texfeedback import feedback_tex

    text = steps('{id: dz, claim: "d(L)/d(z) = y - a"}')
    g = grade_dict(grade_one(prepared, "s", "s.yaml", text), prepared)
    md = feedback_markdown(g, prepared, detail)
    for text in shown:
        assert text in md, md
    for text in hidden:
        assert text not in md, md
    tex = feedback_tex(g, prepared, detail)
    assert ("derivcheck's result" in tex) == (detail == "solution")
    [dz, *_] = gradescope_results(g, prepared, 1.0, detail)["tests"]
    assert ("negative" in dz["output"]) == (detail != "verdict")


def test_feedback_detail_choices_are_the_exporters() -> None:
    import argparse

    from derivcheck.cli import build_parser
    from derivcheck.grade.export import DEFAULT_DETAIL, DETAILS

    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    grade = sub.choices["grade"]
    action = next(a for a in grade._actions if a.dest == "feedback_detail")
    assert tuple(action.choices) == DETAILS and action.default == DEFAULT_DETAIL
