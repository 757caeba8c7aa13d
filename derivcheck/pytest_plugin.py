"""A pytest plugin: every step of a derivation file is a test item.

Registered through the ``pytest11`` entry point, so it is loaded by every
pytest run where derivcheck is installed.  It therefore collects nothing
unless a project opts in, and it imports nothing heavy (SymPy, NumPy, the
engine) until a derivation file is actually collected.

Which files are collected (see the README, "pytest and JUnit"):

- ``*.deriv.yaml`` / ``*.deriv.yml`` anywhere pytest looks: the name is the
  opt-in;
- a derivation file named on the command line (``pytest notes.yaml``);
- with ``--derivcheck`` on the command line, every derivation file among the
  paths pytest looks at;
- every derivation file under the folders of the ini option
  ``derivcheck_paths``.

A *derivation file* (for the last two rules) is a ``.yaml``/``.yml`` file with
top-level ``steps:`` and ``symbols:`` keys and no ``rubric:`` key: answer keys
(``rubric:``) and submissions (no ``symbols:``) are read by ``derivcheck
grade``, not on their own.

A step passes when its verdict agrees with its ``expect:``; a step without
``expect:`` must hold (``proved`` or ``checked``).  ``undecided`` is not a
pass: a step that should hold and could not be decided fails, since a check
that was not made must not look like one that succeeded (write
``expect: undecided`` to record a known limitation).
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:  # the engine is imported on first use, never at pytest start-up
    from derivcheck.decide import Options
    from derivcheck.model import Derivation, Step
    from derivcheck.results import StepResult

DERIV_SUFFIXES = (".deriv.yaml", ".deriv.yml")
YAML_SUFFIXES = (".yaml", ".yml")
MAX_SNIFF_BYTES = 1 << 20  # the loader refuses larger files anyway

# A top-level key: at column 0 of a block mapping, optionally quoted.
_TOP_KEY = re.compile(r"""^["']?(steps|symbols|rubric)["']?[ \t]*:""", re.MULTILINE)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("derivcheck", "derivation files (derivcheck)")
    group.addoption("--derivcheck", action="store_true", default=False,
                    help="collect every derivation file (YAML with steps: and symbols:) "
                         "among the given paths; each step is a test")
    group.addoption("--derivcheck-seed", type=int, default=None, metavar="N",
                    help="random seed for the numeric checks (default: ini derivcheck_seed, 0)")
    group.addoption("--derivcheck-no-symbolic", action="store_true", default=False,
                    help="skip symbolic proofs: numeric checks only (faster; 'checked', "
                         "never 'proved')")
    group.addoption("--derivcheck-latex", action="store_true", default=False,
                    help="check the LaTeX form of the steps that have one")
    group.addoption("--derivcheck-time-limit", type=float, default=None, metavar="SECONDS",
                    help="seconds for each symbolic proof attempt (default 5)")
    group.addoption("--derivcheck-step-time-limit", type=float, default=None,
                    metavar="SECONDS",
                    help="seconds for each in-process stage (numeric check, diagnosis, "
                         "display) of each step; past it the step is undecided (default 30)")
    parser.addini("derivcheck_paths", type="paths", default=[],
                  help="folders whose derivation files are collected without --derivcheck")
    parser.addini("derivcheck_seed", default="0", help="random seed (default 0)")
    parser.addini("derivcheck_symbolic", type="bool", default=True,
                  help="try symbolic proofs (default true)")


def pytest_configure(config: pytest.Config) -> None:
    _seed(config)  # a bad ini value is a usage error at start-up, not a failing step


def pytest_report_header(config: pytest.Config) -> str | None:
    if not (config.getoption("derivcheck") or config.getini("derivcheck_paths")):
        return None
    options = _options(config)
    proofs = "on" if options.symbolic else "off"
    return f"derivcheck: seed {options.seed}, symbolic proofs {proofs}"


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> DerivationFile | None:
    if _wanted(file_path, parent.config, parent.session):
        return DerivationFile.from_parent(parent, path=file_path)
    return None


def _wanted(path: Path, config: pytest.Config, session: pytest.Session) -> bool:
    name = path.name
    if name.endswith(DERIV_SUFFIXES):
        return True
    if not name.endswith(YAML_SUFFIXES):
        return False
    if not (config.getoption("derivcheck") or session.isinitpath(path)):
        folders: list[Path] = config.getini("derivcheck_paths")
        if not any(path.is_relative_to(folder) for folder in folders):
            return False
    return is_derivation_file(path)


def is_derivation_file(path: Path) -> bool:
    """Does ``path`` look like a derivation file (top-level ``steps:`` and ``symbols:``)?

    A text scan, not a YAML parse: collection stays cheap and imports nothing.
    A file that cannot be read is not a derivation file.
    """
    try:
        if not path.is_file():  # regular files only: a FIFO would block
            return False
        with path.open("rb") as f:
            head = f.read(MAX_SNIFF_BYTES).decode("utf-8", errors="replace")
    except OSError:
        return False
    keys = set(_TOP_KEY.findall(head))
    return {"steps", "symbols"} <= keys and "rubric" not in keys


def _options(config: pytest.Config) -> Options:
    from derivcheck.decide import Options

    seed = _seed(config)
    symbolic = (bool(config.getini("derivcheck_symbolic"))
                and not config.getoption("derivcheck_no_symbolic"))
    limit = config.getoption("derivcheck_time_limit")
    step_limit = config.getoption("derivcheck_step_time_limit")
    if step_limit is not None and step_limit <= 0:
        raise pytest.UsageError("--derivcheck-step-time-limit must be > 0")
    options = Options(seed=seed, symbolic=symbolic, latex=config.getoption("derivcheck_latex"))
    if limit is not None:
        options = dataclasses.replace(options, time_limit=float(limit))
    if step_limit is not None:
        options = dataclasses.replace(options, step_time_limit=float(step_limit))
    return options


def _seed(config: pytest.Config) -> int:
    seed: int | None = config.getoption("derivcheck_seed")
    if seed is not None:
        return seed
    try:
        return int(config.getini("derivcheck_seed"))
    except ValueError:
        raise pytest.UsageError("ini option derivcheck_seed must be an integer, not "
                                f"{config.getini('derivcheck_seed')!r}") from None


_RECORDED = pytest.StashKey[bool]()  # the run's properties were written


def _junit(config: pytest.Config) -> Any:
    """The JUnit XML writer of this run (``--junitxml``), or None."""
    try:
        from _pytest.junitxml import xml_key
    except ImportError:  # pragma: no cover - a pytest without the junitxml plugin
        return None
    return config.stash.get(xml_key, None)


def _per_testcase_properties(config: pytest.Config) -> bool:
    """Whether step properties go on each ``<testcase>``: only where the JUnit family
    allows it (``xunit1``, ``legacy``); pytest's default ``xunit2`` schema has no
    properties in a test case, so there they are properties of the ``<testsuite>``,
    named after the test (``d/sm.yaml::grad_sign verdict``)."""
    return str(config.getini("junit_family")) in ("xunit1", "legacy")


def _record(item: pytest.Item, name: str, value: str) -> None:
    if _per_testcase_properties(item.config):
        item.user_properties.append((name, value))
        return
    xml = _junit(item.config)
    if xml is not None:
        xml.add_global_property(f"{item.nodeid} {name}", value)


def _record_run(config: pytest.Config) -> None:
    """The seed and the proof setting, once, as properties of the test suite."""
    xml = _junit(config)
    if xml is None or config.stash.get(_RECORDED, False):
        return
    config.stash[_RECORDED] = True
    options = _options(config)
    xml.add_global_property("derivcheck_seed", str(options.seed))
    xml.add_global_property("derivcheck_symbolic", "on" if options.symbolic else "off")


class DerivationFailure(Exception):
    """A step whose verdict differs from what was expected; the text says why."""


class DerivationFile(pytest.File):
    """One derivation file: loaded at collection, verified once, on the first step run."""

    derivation: Derivation | None = None
    _results: dict[str, StepResult] | None = None
    _error: str | None = None

    def collect(self) -> Iterator[pytest.Item]:
        from derivcheck.errors import InputError
        from derivcheck.load import load_file

        _record_run(self.config)
        try:
            self.derivation = load_file(self.display_path)
        except InputError as exc:
            yield InputErrorItem.from_parent(self, name="input", message=exc.format())
            return
        from derivcheck.escape import term_text

        for step in self.derivation.steps:
            # the test id is printed by ``pytest -v``: a terminal escape or a line break
            # in a step id is shown escaped (the step itself keeps its id)
            yield StepItem.from_parent(self, name=term_text(step.id), step=step)

    @property
    def display_path(self) -> str:
        """The path as messages show it: relative to where pytest was started, if inside."""
        rel = os.path.relpath(self.path, self.config.invocation_params.dir)
        return str(self.path) if rel.startswith("..") else rel

    def result(self, step_id: str) -> StepResult:
        """The result of one step; the whole file is verified on the first call.

        Raises:
            DerivationFailure: the file could not be checked (e.g. a definition
                is ill-shaped); every step of it fails with that text.
        """
        if self._results is None and self._error is None:
            self._verify()
        if self._error is not None:
            from derivcheck.report.text import printable

            raise DerivationFailure(printable(self._error))
        assert self._results is not None
        return self._results[step_id]

    def _verify(self) -> None:
        from derivcheck.errors import InputError
        from derivcheck.verify import verify_derivation

        assert self.derivation is not None
        try:
            steps = verify_derivation(self.derivation, _options(self.config))
        except InputError as exc:
            self._error = exc.format()
            return
        self._results = {s.id: s for s in steps}


class _Item(pytest.Item):
    """A derivcheck item: its failure is the text derivcheck wrote, not a traceback."""

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException],
                     style: Any = None) -> str:
        if isinstance(excinfo.value, DerivationFailure):
            return str(excinfo.value)
        return str(super().repr_failure(excinfo, style=style))


class StepItem(_Item):
    """One step: passes when its verdict agrees with ``expect:`` (or holds, without one)."""

    def __init__(self, *, step: Step, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.step = step

    @property
    def file(self) -> DerivationFile:
        assert isinstance(self.parent, DerivationFile)
        return self.parent

    def runtest(self) -> None:
        if self.step.points is not None:
            _record(self, "points", f"{self.step.points:g}")
        result = self.file.result(self.step.id)
        _record(self, "verdict", result.verdict.value)
        if result.codes:
            _record(self, "diagnosis", ", ".join(result.codes))
        if result.message:
            _record(self, "diagnosis_message", result.message)
        if not result.agrees_with_expectation:
            raise DerivationFailure(_failure_text(self.file.display_path, result))

    def reportinfo(self) -> tuple[Path, int | None, str]:
        line = self.step.loc.line - 1 if self.step.loc else None
        from derivcheck.escape import term_text

        return self.path, line, f"step {term_text(self.step.id)} ({term_text(self.path.name)})"


class InputErrorItem(_Item):
    """Stands for a file that cannot be read: fails with the input error (file:line:col)."""

    def __init__(self, *, message: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.message = message

    def runtest(self) -> None:
        from derivcheck.report.text import printable

        raise DerivationFailure(printable(f"input error: {self.message}"))

    def reportinfo(self) -> tuple[Path, int | None, str]:
        return self.path, None, f"input error ({self.path.name})"


def _failure_text(path: str, result: StepResult) -> str:
    from derivcheck.report.text import printable, render_step

    expected = ", ".join(result.expected) if result.expected else "holds (no expect:)"
    from derivcheck.escape import term_text

    head = (f"{term_text(path)}:{result.line}: step {term_text(result.id)}: "
            f"{result.verdict.value}, "
            f"expected {expected}")
    if result.verdict.value == "undecided":
        head += ("\n  undecided is not a pass; write `expect: undecided` to record a "
                 "known limitation")
    # the head says what was expected; a chain's lines say it per link
    per_link = result.form == "chain" and result.expected is not None
    return printable(head) + "\n" + render_step(result, check_expected=per_link)
