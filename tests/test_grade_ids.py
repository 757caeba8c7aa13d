"""Student ids and output escaping: the right student, and no output a name can forge.

Ids keep the file's name (every letter of every script); each output escapes
what it cannot hold, with the one function for that output (derivcheck.escape).
"""

from __future__ import annotations

import csv
import io
import json
import re
import unicodedata
from pathlib import Path

import pytest

from derivcheck.cli import main
from derivcheck.errors import InputError
from derivcheck.escape import (
    csv_cell,
    json_dumps,
    md_block,
    md_code,
    md_text,
    term_lines,
    term_text,
)
from derivcheck.grade.batch import discover, student_id
from derivcheck.report.latex import escape_tex
from tests.test_grade import OK, SIGN, key_text, steps

pytest_plugins = ["pytester"]

# name -> (file or folder name without the suffix, id)
STUDENT_IDS = {
    "plain": ("alice", "alice"),
    "cyrillic": ("Иван", "Иван"),
    "chinese": ("张伟", "张伟"),
    "chinese 2": ("李娜", "李娜"),
    "accents": ("José Núñez", "José Núñez"),
    "decomposed accent is normalised": ("Jose\u0301", "José"),
    "fullwidth kept": ("ｅｖｅ", "ｅｖｅ"),
    "persian with zwnj": ("\u0645\u06cc\u200c\u0631\u0648\u0645",
                          "\u0645\u06cc\u200c\u0631\u0648\u0645"),
    "leading dash kept": ("-rm", "-rm"),
    "dash suffix kept": ("alice-2", "alice-2"),
    "formula kept (the CSV escapes it)": ('=HYPERLINK("x")', '=HYPERLINK("x")'),
    "html kept (the Markdown escapes it)": ("<b>bob<b>", "<b>bob<b>"),
    "leading dot encoded": ("..", "%2E."),
    "slash encoded": ("../../etc/passwd", "%2E.%2F..%2Fetc%2Fpasswd"),
    "percent encoded (ids stay distinct)": ("a%1B", "a%251B"),
    "terminal escape encoded": ("x\x1b]0;pwned\x07", "x%1B]0;pwned%07"),
    "newline encoded": ("a\nb", "a%0Ab"),
    "line separator encoded": ("a\u2028b", "a%E2%80%A8b"),
    "C1 CSI encoded": ("a\u009b2J", "a%C2%9B2J"),
    "bidi override encoded": ("\u202eevil", "%E2%80%AEevil"),
    "empty": ("", "%"),
}


@pytest.mark.parametrize("name", list(STUDENT_IDS))
def test_student_ids_keep_the_name(name: str) -> None:
    given, want = STUDENT_IDS[name]
    got = student_id(given)
    assert got == want
    assert "/" not in got and not got.startswith(".") and got not in ("", ".", "..")
    assert not any(unicodedata.category(c) in ("Cc", "Zl", "Zp") for c in got)


def test_different_names_give_different_ids() -> None:
    names = [given for given, _ in STUDENT_IDS.values() if given != "Jose\u0301"]
    assert len({student_id(n) for n in names}) == len(names)


def test_a_long_name_is_cut_with_a_digest() -> None:
    a, b = student_id("é" * 200 + "a"), student_id("é" * 200 + "b")
    assert a != b and len(a.encode()) < 200


def _tree(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text, encoding="utf-8")


# name -> (files in the class folder, {id: file name} or the two files of the error)
CLASSES: dict[str, tuple[list[str], dict[str, str] | tuple[str, str]]] = {
    "rm and -rm are two students": (["rm.yaml", "-rm.yaml"],
                                    {"rm": "rm.yaml", "-rm": "-rm.yaml"}),
    "unicode names are three students": (["Иван.yaml", "张伟.yaml", "李娜.yaml"],
                                         {"Иван": "Иван.yaml", "张伟": "张伟.yaml",
                                          "李娜": "李娜.yaml"}),
    "a -2 suffix is a name, not a disambiguation": (["alice.yaml", "alice-2.yaml"],
                                                    {"alice": "alice.yaml",
                                                     "alice-2": "alice-2.yaml"}),
    "yaml and yml twins: an error naming both": (["alice.yaml", "alice.yml", "alice-2.yaml"],
                                                 ("alice.yaml", "alice.yml")),
    "a folder and a file of one name: an error": (["alice.yaml", "alice/answer.yaml"],
                                                  ("alice", "alice.yaml")),
    "ids differing only in case: an error": (["Bob.yaml", "bob.yaml"],
                                             ("Bob.yaml", "bob.yaml")),
    "not yaml: listed under its whole name": (["answer.txt", "hw3.yml.txt", "answer.yaml"],
                                              {"answer.txt": "answer.txt",
                                               "hw3.yml.txt": "hw3.yml.txt",
                                               "answer": "answer.yaml"}),
}


@pytest.mark.parametrize("name", list(CLASSES))
def test_ids_of_a_class(name: str, tmp_path: Path) -> None:
    files, want = CLASSES[name]
    _tree(tmp_path, dict.fromkeys(files, "steps: []\n"))
    if isinstance(want, tuple):
        with pytest.raises(InputError) as err:
            discover([tmp_path])
        text = err.value.format()
        assert all(str(tmp_path / f) in text for f in want), text
        return
    subs, _ = discover([tmp_path])
    assert {s.student: Path(s.path).name for s in subs} == want


def test_ids_are_stable_whatever_else_is_in_the_class(tmp_path: Path) -> None:
    _tree(tmp_path / "a", {"alice-2.yaml": "x"})
    _tree(tmp_path / "b", {"alice-2.yaml": "x", "alice.yaml": "x", "alicf.yaml": "x"})
    ids = [{s.student for s in discover([tmp_path / c])[0]} for c in "ab"]
    assert "alice-2" in ids[0] and "alice-2" in ids[1]


def test_a_class_of_hostile_names_is_graded_each_to_its_own_file(tmp_path: Path) -> None:
    key = tmp_path / "key.yaml"
    key.write_text(key_text())
    cls = tmp_path / "class"
    files = {"rm.yaml": steps(*OK), "-rm.yaml": steps(*SIGN), "Иван.yaml": steps(*OK),
             "张伟.yaml": steps(*SIGN), "answer.txt": steps(*OK),
             "x\x1b]0;pwned\x07.yaml": steps(*OK), "a\u2028b.yaml": steps(*OK)}
    _tree(cls, files)
    out = tmp_path / "out"
    assert main(["grade", str(key), str(cls), "-o", str(out), "--no-symbolic", "-q",
                 "--workers", "1"]) == 0
    rows = list(csv.DictReader((out / "gradebook.csv").open(encoding="utf-8")))
    name_of = {csv_cell(str(cls / f)): f for f in files}  # the path column, escaped
    assert {r["path"] for r in rows} == set(name_of)
    by_path = {name_of[r["path"]]: r for r in rows}
    assert by_path["rm.yaml"]["score"] == "5" and by_path["-rm.yaml"]["score"] == "1.5"
    assert by_path["-rm.yaml"]["student"] == "'-rm"  # the CSV's escaping, not the id's
    assert by_path["Иван.yaml"]["student"] == "Иван" and by_path["张伟.yaml"]["score"] == "1.5"
    assert by_path["answer.txt"]["score"] == "0"
    assert "not a .yaml file" in by_path["answer.txt"]["error"]
    raw = (out / "gradebook.csv").read_text(encoding="utf-8")
    assert "\x1b" not in raw and "\u2028" not in raw and raw.count("\n") == len(files) + 1
    feedback = {p.name for p in (out / "feedback").iterdir()}
    assert {"rm.md", "-rm.md", "Иван.md", "张伟.md", "answer.txt.md"} <= feedback
    assert len(feedback) == len(files)
    doc = json.loads((out / "grades.json").read_text(encoding="utf-8"))
    assert {g["student"] for g in doc["students"]} == {r["student"].lstrip("'")
                                                       for r in rows}


def test_a_collision_stops_the_batch_naming_both_files(tmp_path: Path,
                                                       capsys: pytest.CaptureFixture) -> None:
    key = tmp_path / "key.yaml"
    key.write_text(key_text())
    cls = tmp_path / "class"
    _tree(cls, {"alice.yaml": steps(*OK), "alice.yml": steps(*SIGN)})
    assert main(["grade", str(key), str(cls), "-o", str(tmp_path / "out"),
                 "--no-symbolic", "-q"]) == 2
    err = capsys.readouterr().err
    assert "alice.yaml" in err and "alice.yml" in err and "the same student id" in err


def test_skipped_and_problem_file_names_are_escaped_on_the_terminal(
        tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    import os

    key = tmp_path / "key.yaml"
    key.write_text(key_text())
    cls = tmp_path / "class"
    _tree(cls, {"good.yaml": steps(*OK)})
    os.mkfifo(cls / "x\x1b[2J\x1b]0;title\x07\nsummary: all proved")
    assert main(["grade", str(key), str(cls), "-o", str(tmp_path / "out"),
                 "--no-symbolic"]) == 0
    err = capsys.readouterr().err
    assert "\x1b" not in err and "\x07" not in err
    assert "\\u001b[2J" in err
    assert not any(line.startswith("summary: all proved") for line in err.splitlines())


# -- escaping: one function per output kind, each with the same hostile strings ----------
HOSTILE = {
    "terminal clear screen": "\x1b[2J",
    "terminal window title": "\x1b]0;pwned\x07",
    "newline forging a line": "ok\nsummary: 9 proved, 0 refuted",
    "carriage return": "ok\rproved",
    "line separator U+2028": "a\u2028proved",
    "paragraph separator U+2029": "a\u2029proved",
    "next line U+0085": "a\u0085proved",
    "C1 CSI U+009B": "a\u009b2J",
    "bidi override": "\u202edevorp",
    "bidi isolate": "\u2066x\u2069",
    "zero width no-break space": "a\ufeffb",
    "bare url": "see https://evil.example/x",
    "www link": "www.evil.example",
    "e-mail": "mail me@evil.example",
    "markdown link": "[x](javascript:alert(1))",
    "html": "<img src=x onerror=alert(1)>",
    "formula": '=HYPERLINK("http://e")',
    "latex": r"}\input{/etc/passwd}",
}
_RAW = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]")
_URL = re.compile(r"(https?://|www\.|\w@\w)")


def _no_raw_controls(text: str, newlines: bool = False) -> None:
    assert not _RAW.search(text), repr(text)
    if not newlines:
        assert "\n" not in text and "\r" not in text, repr(text)


@pytest.mark.parametrize("name", list(HOSTILE))
def test_terminal_line(name: str) -> None:
    got = term_text(HOSTILE[name])
    _no_raw_controls(got)
    assert len(got.splitlines()) <= 1


@pytest.mark.parametrize("name", list(HOSTILE))
def test_terminal_lines(name: str) -> None:
    got = term_lines("head\n" + HOSTILE[name])
    _no_raw_controls(got, newlines=True)
    assert got.startswith("head\n")
    assert len(got.splitlines()) == got.count("\n") + 1  # only \n splits it


@pytest.mark.parametrize("name", list(HOSTILE))
def test_json(name: str) -> None:
    value = {"student": HOSTILE[name], "nested": [HOSTILE[name]]}
    got = json_dumps(value)
    _no_raw_controls(got)
    assert len(got.splitlines()) == 1
    assert json.loads(got) == value  # escaping is lossless


@pytest.mark.parametrize("name", list(HOSTILE))
def test_csv(name: str) -> None:
    got = csv_cell(HOSTILE[name])
    _no_raw_controls(got)
    assert not got.startswith(("=", "+", "-", "@"))
    [[cell]] = list(csv.reader(io.StringIO(next(iter([_one_row(got)])))))
    assert cell == got


def _one_row(cell: str) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerow([cell])
    return out.getvalue()


def _outside_code(md: str) -> str:
    """Markdown with its code spans removed (what a renderer would parse as markup)."""
    return re.sub(r"(`+)(.*?)\1", "", md)


@pytest.mark.parametrize("name", list(HOSTILE))
def test_markdown(name: str) -> None:
    for got in (md_text(HOSTILE[name]), md_code(HOSTILE[name])):
        _no_raw_controls(got)
        plain = _outside_code(got)
        assert not _URL.search(plain), got  # no autolink outside a code span
        assert "<" not in plain and "](" not in plain.replace("\\](", "")
    block = md_block(HOSTILE[name])
    _no_raw_controls(block, newlines=True)


@pytest.mark.parametrize("name", list(HOSTILE))
def test_latex(name: str) -> None:
    got = escape_tex(HOSTILE[name])
    _no_raw_controls(got)
    assert "\\input" not in got


def test_a_pytest_step_id_is_escaped(pytester: pytest.Pytester) -> None:
    pytester.makefile(".yaml", deriv=(
        "title: t\nsymbols: {x: scalar}\ndefine: {f: x * x}\nsteps:\n"
        '  - {id: "s\\e[2J\\nFAKE PASSED", claim: "d(f)/d(x) = 2 * x"}\n'))
    result = pytester.runpytest("-v", "--derivcheck", "--derivcheck-no-symbolic")
    text = result.stdout.str()
    assert "\x1b[2J" not in text and "\\u001b[2J" in text
    assert not any(line.startswith("FAKE PASSED") for line in text.splitlines())


def test_verify_report_escapes_the_title_source_and_step_ids(
        tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    path = tmp_path / "d.yaml"
    path.write_text(
        'title: "t\\nsummary: 1 file, 9 steps: 9 proved\\e]0;x\\a"\n'
        'source: "s\\u2028fake \\u202egnirts"\n'
        "symbols: {x: scalar}\ndefine: {f: x * x}\nsteps:\n"
        '  - {id: "s\\n  99  fake  proved", claim: "d(f)/d(x) = 3 * x"}\n', encoding="utf-8")
    main(["verify", str(path), "--no-symbolic"])
    out = capsys.readouterr().out
    _no_raw_controls(out, newlines=True)
    assert [line for line in out.splitlines() if line.startswith("summary:")] == [
        out.splitlines()[-1]]
    assert not any(line.lstrip().startswith("99") for line in out.splitlines())
