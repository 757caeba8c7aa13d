"""The pytest plugin: which files are collected, how steps pass and fail, JUnit properties.

Each case runs pytest in this process (``pytester.runpytest``); the plugin is
found through its ``pytest11`` entry point, as in any project.  Most cases skip
the symbolic proofs (numeric checks decide everything but ``proved``).
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from dataclasses import dataclass, field, replace
from pathlib import Path
from xml.etree import ElementTree

import pytest

pytest_plugins = ["pytester"]

HEAD = """\
title: softmax cross-entropy
symbols:
  z: vector K
  t: onehot K
  i: index K
define:
  a: softmax(z)
  L: -sum(t * log(a))
steps:
"""

GOOD = HEAD + """\
  - id: grad
    claim: d(L)/d(z) = a - t
    points: 2
  - id: grad_indexed
    chain:
      - d(L)/d(z[i])
      - a[i] - t[i]
"""

SIGN = HEAD + """\
  - id: grad
    claim: d(L)/d(z) = a - t
  - id: grad_sign
    claim: d(L)/d(z) = t - a
    points: 1.5
"""

SIGN_EXPECTED = HEAD + """\
  - id: grad_sign
    claim: d(L)/d(z) = t - a
    expect: refuted
"""

CHAIN_EXPECTED_WRONG = HEAD + """\
  - id: chain
    chain:
      - d(L)/d(z[i])
      - a[i] - t[i]
      - t[i] - a[i]
    expect: [holds, holds]
"""

UNKNOWN_NAME = """\
title: bad
symbols:
  z: vector K
steps:
  - id: s
    claim: d(q)/d(z) = z
"""

KEY = HEAD + """\
  - id: grad
    claim: d(L)/d(z) = a - t
rubric: {}
"""

SUBMISSION = """\
steps:
  - id: grad
    claim: d(L)/d(z) = a - t
"""

FAST = "--derivcheck-no-symbolic"
# Other installed plugins off: an in-process run re-imports what they load on
# each run.  The rewrite warning only concerns this in-process set-up.
QUIET = ("-p", "no:cacheprovider", "-p", "no:hypothesispytest",
         "-W", "ignore::pytest.PytestAssertRewriteWarning")


@dataclass(frozen=True)
class Case:
    files: dict[str, str]
    args: tuple[str, ...]
    outcomes: dict[str, int]  # passed / failed / errors; missing names are 0
    output: tuple[str, ...] = ()  # substrings of the output
    ini: str = ""
    ret: int | None = None
    absent: tuple[str, ...] = field(default=())  # substrings that must not appear


CASES = {
    "passing derivation, with proofs": Case(
        {"d/sm.yaml": GOOD}, ("--derivcheck", "d"), {"passed": 2},
        ("derivcheck: seed 0, symbolic proofs on", "d/sm.yaml ..")),
    "refuted step fails with diagnosis and counterexample": Case(
        {"d/sm.yaml": SIGN}, ("--derivcheck", FAST, "d"), {"passed": 1, "failed": 1},
        ("d/sm.yaml:12: step grad_sign: refuted, expected holds (no expect:)",
         "[sign-error] the claimed side has the wrong sign",
         "engine's result: a - t", "counterexample at sizes K=2:",
         "left side  = ", "right side = ", "seed 0",
         "FAILED d/sm.yaml::grad_sign")),
    "expect: refuted passes": Case(
        {"d/sm.yaml": SIGN_EXPECTED}, ("--derivcheck", FAST, "d"), {"passed": 1}),
    "chain: per-link verdicts and expectations": Case(
        {"d/sm.yaml": CHAIN_EXPECTED_WRONG}, ("--derivcheck", FAST, "d"), {"failed": 1},
        ("step chain: refuted, expected holds, holds",
         "link 1: checked", "link 2: REFUTED", "(expected holds)")),
    "unreadable file: one failing item with file:line:col": Case(
        {"d/bad.yaml": UNKNOWN_NAME}, ("--derivcheck", FAST, "d"), {"failed": 1},
        ("input error: d/bad.yaml:6:14: step s: unknown name 'q'", "^",
         "FAILED d/bad.yaml::input")),
    "nothing collected without opt-in": Case(
        {"d/sm.yaml": SIGN}, ("d",), {}, ret=pytest.ExitCode.NO_TESTS_COLLECTED,
        absent=("derivcheck:",)),
    "the flag collects every derivation file among the paths": Case(
        {"d/sm.yaml": GOOD, "d/sub/more.yml": SIGN_EXPECTED, "e/other.yaml": GOOD},
        ("--derivcheck", FAST, "d"), {"passed": 3}, absent=("other.yaml",)),
    "the ini option collects under its folders only": Case(
        {"derivations/sm.yaml": GOOD, "elsewhere/sm.yaml": SIGN},
        ("derivations", "elsewhere"), {"passed": 2},
        ("derivcheck: seed 5, symbolic proofs off",),
        ini="[pytest]\nderivcheck_paths = derivations\nderivcheck_seed = 5\n"
            "derivcheck_symbolic = false\n",
        absent=("elsewhere",)),

    "*.deriv.yaml is collected with no option": Case(
        {"notes/sm.deriv.yaml": GOOD, "notes/plain.yaml": GOOD}, (FAST, "notes"),
        {"passed": 2}, absent=("plain.yaml",)),
    "a file named on the command line is collected": Case(
        {"d/sm.yaml": SIGN_EXPECTED}, (FAST, "d/sm.yaml"), {"passed": 1}),
    "answer keys and submissions are not derivation files": Case(
        {"d/key.yaml": KEY, "d/alice.yaml": SUBMISSION, "d/sm.yaml": SIGN_EXPECTED},
        ("--derivcheck", FAST, "d"), {"passed": 1}, absent=("key.yaml", "alice.yaml")),
    "seed from the command line, recorded in the header and the evidence": Case(
        {"d/sm.yaml": SIGN}, ("--derivcheck", FAST, "--derivcheck-seed", "7", "d"),
        {"passed": 1, "failed": 1}, ("derivcheck: seed 7, symbolic proofs off", "seed 7,")),
}


def _write(pytester: pytest.Pytester, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = pytester.path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_plugin(pytester: pytest.Pytester, case: Case) -> None:
    _write(pytester, case.files)
    if case.ini:
        pytester.makeini(case.ini)
    result = pytester.runpytest(*QUIET, *case.args)
    result.assert_outcomes(**case.outcomes)
    out = result.stdout.str()
    for text in case.output:
        assert text in out
    for text in case.absent:
        assert text not in out
    if case.ret is not None:
        assert result.ret == case.ret


def test_a_bad_ini_seed_is_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nderivcheck_seed = x\n")
    result = pytester.runpytest(*QUIET)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*derivcheck_seed must be an integer, not 'x'"])


def test_junitxml_has_points_verdict_and_diagnosis(pytester: pytest.Pytester) -> None:
    # A separate process, with proofs: the plugin as any project meets it. Under
    # pytest's default JUnit family (xunit2) a test case has no properties: the steps'
    # properties are the test suite's, named after the test, beside the seed.
    _write(pytester, {"d/sm.yaml": SIGN})
    result = pytester.runpytest_subprocess(*QUIET, "--derivcheck", "d", "--junitxml=report.xml",
                                           "--derivcheck-seed", "7", "-W", "error")
    result.assert_outcomes(passed=1, failed=1)
    root = ElementTree.parse(pytester.path / "report.xml").getroot()
    suite = root.find("testsuite")
    assert suite is not None
    for case in suite.iter("testcase"):
        assert case.find("properties") is None  # invalid under xunit2
    props = {p.get("name"): p.get("value") for p in suite.iter("property")}
    assert props["derivcheck_seed"] == "7"
    assert props["derivcheck_symbolic"] == "on"
    assert props["d/sm.yaml::grad_sign points"] == "1.5"
    assert props["d/sm.yaml::grad_sign verdict"] == "refuted"
    assert props["d/sm.yaml::grad_sign diagnosis"] == "sign-error"
    assert "proved" in props.values()  # the step that holds
    xml = (pytester.path / "report.xml").read_text()
    assert '<testcase classname="d.sm.yaml" name="grad_sign"' in xml
    assert "counterexample at sizes" in xml


def test_junitxml_xunit1_puts_properties_on_each_test_case(pytester: pytest.Pytester) -> None:
    _write(pytester, {"d/sm.yaml": SIGN})
    result = pytester.runpytest(*QUIET, "--derivcheck", FAST, "d", "--junitxml=report.xml",
                                "-o", "junit_family=xunit1")
    result.assert_outcomes(passed=1, failed=1)
    xml = (pytester.path / "report.xml").read_text()
    assert '<property name="points" value="1.5" />' in xml
    assert '<property name="verdict" value="refuted" />' in xml
    assert '<property name="diagnosis" value="sign-error" />' in xml
    assert '<property name="derivcheck_seed" value="0" />' in xml


def test_each_file_is_verified_once(pytester: pytest.Pytester,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    import derivcheck.verify

    calls: list[str] = []
    real = derivcheck.verify.verify_derivation

    def counting(derivation, options=None):  # type: ignore[no-untyped-def]
        calls.append(derivation.path)
        return real(derivation, options)

    monkeypatch.setattr(derivcheck.verify, "verify_derivation", counting)
    _write(pytester, {"d/a.yaml": GOOD, "d/b.yaml": SIGN})
    pytester.runpytest(*QUIET, "--derivcheck", FAST, "d").assert_outcomes(passed=3, failed=1)
    assert sorted(calls) == ["d/a.yaml", "d/b.yaml"]


def test_undecided_is_not_a_pass(pytester: pytest.Pytester,
                                 monkeypatch: pytest.MonkeyPatch) -> None:
    import derivcheck.verify
    from derivcheck.results import Evidence, Verdict

    real = derivcheck.verify.verify_derivation

    def undecided(derivation, options=None):  # type: ignore[no-untyped-def]
        gave_up = Evidence("none", reason="the proof ran out of time")
        return tuple(
            replace(s, verdict=Verdict.UNDECIDED,
                    links=tuple(replace(k, verdict=Verdict.UNDECIDED, evidence=gave_up,
                                        diagnoses=(), counterexample=None)
                                for k in s.links))
            for s in real(derivation, options))

    monkeypatch.setattr(derivcheck.verify, "verify_derivation", undecided)
    _write(pytester, {"d/sm.yaml": HEAD + """\
  - id: should_hold
    claim: d(L)/d(z) = a - t
  - id: known_limit
    claim: d(L)/d(z) = a - t
    expect: undecided
"""})
    result = pytester.runpytest(*QUIET, "--derivcheck", FAST, "d")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*step should_hold: undecided, expected holds (no expect:)",
                                 "*undecided is not a pass*",
                                 "*reason: the proof ran out of time"])


def test_loading_the_plugin_imports_nothing_heavy() -> None:
    # The plugin loads in every pytest run where derivcheck is installed.
    code = textwrap.dedent("""
        import sys
        import derivcheck.pytest_plugin
        heavy = ("sympy", "numpy", "ruamel", "derivcheck.load", "derivcheck.verify")
        print(sorted(m for m in heavy if m in sys.modules))
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=Path(__file__).parent)
    assert out.stdout.strip() == "[]"


class _Config:
    """The two accessors ``_options`` reads, over plain dictionaries."""

    def __init__(self, options: dict, ini: dict) -> None:
        self.options, self.ini = options, ini

    def getoption(self, name: str) -> object:
        return self.options.get(name)

    def getini(self, name: str) -> object:
        return self.ini[name]


@pytest.mark.parametrize(("given", "want"), [(None, 30.0), (2.5, 2.5)], ids=["default", "given"])
def test_the_step_time_limit_reaches_the_options(given: float | None, want: float) -> None:
    from derivcheck.pytest_plugin import _options

    config = _Config({"derivcheck_step_time_limit": given, "derivcheck_seed": None},
                     {"derivcheck_seed": "0", "derivcheck_symbolic": True})
    assert _options(config).step_time_limit == want  # type: ignore[arg-type]


def test_a_bad_step_time_limit_is_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makefile(".yaml", sm=GOOD)
    result = pytester.runpytest("--derivcheck", "--derivcheck-step-time-limit", "0", *QUIET)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
