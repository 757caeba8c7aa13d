"""The command line: exit codes, the JSON report, seeds, and `python -m derivcheck`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from derivcheck.cli import main
from tests.conftest import ROOT, derivation_yaml, strip_timing

SOFTMAX = {"z": "vector K", "t": "onehot K", "i": "index K"}
SOFTMAX_DEFS = {"a": "softmax(z)", "L": "-sum(t * log(a))"}


def write(tmp_path: Path, name: str, steps: list[dict], **kwargs) -> Path:
    path = tmp_path / name
    text = derivation_yaml(symbols=kwargs.pop("symbols", SOFTMAX),
                           define=kwargs.pop("define", SOFTMAX_DEFS), steps=steps,
                           title=name, **kwargs)
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def good(tmp_path: Path) -> Path:
    return write(tmp_path, "good.yaml", [
        {"id": "grad", "claim": "d(L)/d(z) = a - t", "expect": "holds", "note": "n"},
        {"id": "elem", "claim": "d(L)/d(z[i]) = a[i] - t[i]", "expect": "holds", "note": "n"},
    ], source="000_x.txt")


@pytest.fixture
def wrong(tmp_path: Path) -> Path:
    return write(tmp_path, "wrong.yaml", [
        {"id": "grad", "claim": "d(L)/d(z) = a - t", "expect": "holds"},
        {"id": "sign", "claim": "d(L)/d(z) = t - a", "expect": "refuted"},
        {"id": "chain", "chain": ["d(L)/d(z)", "t - a", "-(a - t)"],
         "expect": ["refuted", "holds"]},
    ])


@pytest.fixture
def mislabelled(tmp_path: Path) -> Path:
    return write(tmp_path, "mislabelled.yaml", [
        {"id": "sign", "claim": "d(L)/d(z) = t - a", "expect": "holds"},
    ])


def run(argv: list[str], capsys: pytest.CaptureFixture) -> tuple[int, str, str]:
    code = main(argv)
    out = capsys.readouterr()
    return code, out.out, out.err


# -- exit codes -----------------------------------------------------------------------

def test_all_steps_hold_exits_0(good: Path, capsys) -> None:
    code, out, _ = run(["verify", str(good), "--no-symbolic"], capsys)
    assert code == 0
    assert "good.yaml" in out


def test_json_is_a_short_form_of_format_json(good: Path, capsys) -> None:
    code, out, _ = run(["verify", str(good), "--no-symbolic", "--json"], capsys)
    assert code == 0
    assert out.lstrip().startswith("{") and '"schema_version"' in out


def test_refuted_step_exits_1(wrong: Path, capsys) -> None:
    code, out, _ = run(["verify", str(wrong), "--no-symbolic"], capsys)
    assert code == 1
    assert "REFUTED" in out
    assert "sign-error" in out


def test_check_expected_agreement_exits_0(wrong: Path, capsys) -> None:
    code, _, _ = run(["verify", str(wrong), "--no-symbolic", "--check-expected"], capsys)
    assert code == 0


def test_check_expected_disagreement_exits_1(mislabelled: Path, capsys) -> None:
    code, out, _ = run(["verify", str(mislabelled), "--no-symbolic", "--check-expected"],
                       capsys)
    assert code == 1
    assert "expected holds" in out


@pytest.mark.parametrize(("claim", "code"), [
    pytest.param("d(L)/d(z) = a - t", 0, id="holds"),
    pytest.param("d(L)/d(z) = t - a", 1, id="refuted"),
])
def test_check_expected_takes_a_step_without_expect_as_expected_to_hold(
        tmp_path: Path, capsys, claim: str, code: int) -> None:
    path = write(tmp_path, "plain.yaml", [{"id": "s", "claim": claim}])
    got, out, _ = run(["verify", str(path), "--no-symbolic", "--check-expected"], capsys)
    assert got == code
    assert ("expected holds (no expect:)" in out) == (code == 1)


def test_missing_file_exits_2(tmp_path: Path, capsys) -> None:
    code, _, err = run(["verify", str(tmp_path / "nope.yaml"), "--no-symbolic"], capsys)
    assert code == 2
    assert "nope.yaml" in err


def test_bad_yaml_exits_2(tmp_path: Path, capsys) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("title: t\nsymbols: {x: vector n\nsteps: []\n", encoding="utf-8")
    code, out, _ = run(["verify", str(path), "--no-symbolic"], capsys)
    assert code == 2
    assert "bad.yaml:3:" in out and "YAML error" in out


def test_input_error_beats_a_refuted_step(wrong: Path, tmp_path: Path, capsys) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("title: t\n", encoding="utf-8")
    code, out, _ = run(["verify", str(wrong), str(bad), "--no-symbolic"], capsys)
    assert code == 2
    assert "wrong.yaml" in out  # the readable file is still checked


def test_folder_is_expanded(good: Path, capsys) -> None:
    code, out, _ = run(["verify", str(good.parent), "--no-symbolic", "--format", "json"],
                       capsys)
    assert code == 0
    assert [f["path"] for f in json.loads(out)["files"]] == [str(good)]


@pytest.mark.parametrize("argv", [
    [],
    ["verify"],
    ["frobnicate", "x.yaml"],
    ["verify", "x.yaml", "--points", "2"],
    ["verify", "x.yaml", "--sizes", "1"],
    ["verify", "x.yaml", "--format", "xml"],
], ids=["no command", "no path", "unknown command", "too few points", "too few sizes",
        "unknown format"])
def test_bad_command_line_exits_2(argv: list[str], capsys) -> None:
    assert main(argv) == 2


def test_empty_folder_exits_2(tmp_path: Path, capsys) -> None:
    (tmp_path / "notes.txt").write_text("not a derivation", encoding="utf-8")
    code, _, err = run(["verify", str(tmp_path), "--no-symbolic"], capsys)
    assert code == 2
    assert "no .yaml files" in err


def test_interrupt_exits_130(good: Path, monkeypatch, capsys) -> None:
    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt
    monkeypatch.setattr("derivcheck.verify.verify_paths", interrupted)
    code, _, err = run(["verify", str(good), "--no-symbolic"], capsys)
    assert code == 130
    assert "interrupted" in err


ALL_VERDICTS = [
    {"id": "holds", "claim": "d(L)/d(z) = a - t"},
    {"id": "refuted", "claim": "d(L)/d(z) = t - a"},
    {"id": "ill", "claim": "d(L)/d(z) = a.T - t.T"},
    {"id": "tensor", "claim": "d(A @ X)/d(X) = A"},
    {"id": "nopoints", "claim": "log(-exp(z)) = log(-exp(z)) + z"},
]


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_every_verdict_is_reported(tmp_path: Path, fmt: str, capsys) -> None:
    path = write(tmp_path, "all.yaml", ALL_VERDICTS,
                 symbols={**SOFTMAX, "A": "matrix K K", "X": "matrix K K"})
    code, out, _ = run(["verify", str(path), "--no-symbolic", "-v", "--format", fmt], capsys)
    assert code == 1
    if fmt == "json":
        steps = json.loads(out)["files"][0]["steps"]
        assert [s["verdict"] for s in steps] == ["checked", "refuted", "ill_formed",
                                                 "undecided", "undecided"]
        assert [s["diagnosis"] for s in steps] == [[], ["sign-error"],
                                                   ["shape-mismatch", "transpose"],
                                                   ["unsupported"], ["no-valid-points"]]
    else:
        for word in ("checked", "REFUTED", "ILL-FORMED", "undecided", "counterexample",
                     "1 checked, 1 refuted, 1 ill_formed, 2 undecided"):
            assert word in out


# -- JSON ------------------------------------------------------------------------------

def test_json_structure(wrong: Path, capsys) -> None:
    code, out, _ = run(["verify", str(wrong), "--no-symbolic", "--format", "json",
                        "--seed", "3"], capsys)
    assert code == 1
    report = json.loads(out)
    assert report["schema_version"] == 1
    assert report["seed"] == 3
    (entry,) = report["files"]
    assert entry["path"] == str(wrong)
    assert entry["title"] == "wrong.yaml"
    assert entry["error"] is None
    assert "source" in entry
    steps = {s["id"]: s for s in entry["steps"]}
    assert list(steps) == ["grad", "sign", "chain"]
    for step in steps.values():
        for key in ("id", "line", "verdict", "diagnosis", "message", "expected", "evidence",
                    "links"):
            assert key in step
    assert steps["grad"]["verdict"] == "checked"
    assert steps["grad"]["diagnosis"] == []
    assert steps["grad"]["evidence"]["method"] == "numeric"
    assert steps["grad"]["evidence"]["seed"] == 3
    assert steps["sign"]["verdict"] == "refuted"
    assert steps["sign"]["diagnosis"] == ["sign-error"]
    assert steps["sign"]["expected"] == ["refuted"]
    assert steps["sign"]["line"] == 13  # the line of its "- id:"
    cex = steps["sign"]["links"][0]["counterexample"]
    assert set(cex) >= {"sizes", "values", "lhs", "rhs"}
    assert cex["lhs"] != cex["rhs"]
    chain = steps["chain"]
    assert [link["verdict"] for link in chain["links"]] == ["refuted", "checked"]
    assert chain["links"][0]["diagnosis"] == ["sign-error"]
    assert chain["links"][1]["diagnosis"] == ["follows-from-error"]
    assert chain["diagnosis"] == ["sign-error", "follows-from-error"]
    summary = report["summary"]
    assert summary["files"] == 1 and summary["steps"] == 3
    assert summary["verdicts"]["refuted"] == 2 and summary["verdicts"]["checked"] == 1
    assert summary["input_errors"] == 0
    assert summary["expected_mismatches"] == 0


def test_json_for_an_input_error(tmp_path: Path, capsys) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("title: t\nsymbols:\n  x: vector n\nsteps:\n  - id: a\n    claim: x = qq\n",
                    encoding="utf-8")
    code, out, _ = run(["verify", str(path), "--no-symbolic", "--format", "json"], capsys)
    assert code == 2
    report = json.loads(out)
    (entry,) = report["files"]
    assert "unknown name 'qq'" in entry["error"]
    assert f"{path}:6:16" in entry["error"]
    assert entry["steps"] == []
    assert report["summary"]["input_errors"] == 1


def test_output_file(good: Path, tmp_path: Path, capsys) -> None:
    target = tmp_path / "report.json"
    code, out, _ = run(["verify", str(good), "--no-symbolic", "--format", "json", "-o",
                        str(target)], capsys)
    assert code == 0
    assert out == ""
    assert json.loads(target.read_text(encoding="utf-8"))["summary"]["steps"] == 2


# -- seeds ------------------------------------------------------------------------------

def json_report(path: Path, seed: int, capsys) -> dict:
    code, out, _ = run(["verify", str(path), "--no-symbolic", "--format", "json", "--seed",
                        str(seed)], capsys)
    assert code in (0, 1)
    return json.loads(out)


def test_same_seed_same_json(wrong: Path, capsys) -> None:
    first = json_report(wrong, 7, capsys)
    second = json_report(wrong, 7, capsys)
    assert strip_timing(first) == strip_timing(second)


def test_other_seed_same_verdicts(wrong: Path, capsys) -> None:
    def verdicts(report: dict) -> list:
        return [(s["id"], s["verdict"], s["diagnosis"]) for s in report["files"][0]["steps"]]
    assert verdicts(json_report(wrong, 1, capsys)) == verdicts(json_report(wrong, 2, capsys))


# -- python -m derivcheck ---------------------------------------------------------------

def test_python_m_derivcheck(wrong: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    proc = subprocess.run([sys.executable, "-m", "derivcheck", "verify", str(wrong),
                           "--no-symbolic", "--format", "json", "--check-expected"],
                          capture_output=True, text=True, env=env, cwd=ROOT, timeout=120,
                          check=False)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["summary"]["steps"] == 3


def test_report_refuses_a_bad_step_time_limit(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from derivcheck.cli import main

    assert main(["report", "derivations/softmax_jacobian.yaml", "--step-time-limit", "0",
                 "-o", str(tmp_path / "r.tex")]) == 2


def test_a_reader_that_closes_the_pipe_is_no_internal_error() -> None:
    # `derivcheck verify derivations/ -v | head -1` was "internal error: BrokenPipeError"
    import subprocess
    import sys

    from tests.conftest import DERIVATIONS, ROOT

    # twice: over 170 KB, more than a pipe holds, so the writer meets the closed end
    proc = subprocess.Popen([sys.executable, "-m", "derivcheck", "verify", str(DERIVATIONS),
                             str(DERIVATIONS), "-v", "--no-symbolic"], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.readline()
    proc.stdout.close()  # the reader leaves after one line
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=300) == 130
    assert "internal error" not in err and "Traceback" not in err
