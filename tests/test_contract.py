"""The soundness contract's structural rules (derivcheck/decide/CONTRACT.md, rule 1).

Only ``derivcheck/decide/`` may make a verdict hold: outside it, ``proved`` and
``checked`` may be compared with, listed, or mapped to words, never given to an
outcome or a result.  (The import rules are ``lint-imports``'s, in ``make test``.)
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "derivcheck"
HOLDING = {"PROVED", "CHECKED"}
# where the words may stand as data: the enum itself, and maps from a verdict to text
ALLOWED_FILES = {"results.py"}


def _holding(node: ast.AST) -> bool:
    return (isinstance(node, ast.Attribute) and node.attr in HOLDING
            and isinstance(node.value, ast.Name) and node.value.id == "Verdict")


def _uses(tree: ast.AST) -> list[tuple[int, str]]:
    """Places where ``Verdict.PROVED``/``CHECKED`` (or ``Verdict("proved")``) is used other
    than as an operand of a comparison or a key of a dict display."""
    allowed: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare):
            for operand in [node.left, *node.comparators]:
                for sub in ast.walk(operand):
                    allowed.add(id(sub))
        if isinstance(node, ast.Dict):
            for key in node.keys:
                if key is not None:
                    allowed.add(id(key))
    found = []
    for node in ast.walk(tree):
        if _holding(node) and id(node) not in allowed:
            found.append((node.lineno, ast.unparse(node)))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) \
                and node.func.id == "Verdict" and node.args \
                and isinstance(node.args[0], ast.Constant) \
                and node.args[0].value in ("proved", "checked"):
            found.append((node.lineno, ast.unparse(node)))
    return found


def _modules() -> list[Path]:
    return sorted(p for p in ROOT.rglob("*.py") if "decide" not in p.relative_to(ROOT).parts
                  and p.name not in ALLOWED_FILES)


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(ROOT)))
def test_only_decide_makes_a_verdict_hold(path: Path) -> None:
    found = _uses(ast.parse(path.read_text(encoding="utf-8")))
    assert not found, f"{path.name}: {found}"


@pytest.mark.parametrize(("source", "flagged"), [
    ("out = Outcome(Verdict.PROVED, [], ev)", True),
    ("replace(o, verdict=Verdict.CHECKED)", True),
    ("v = Verdict('checked')", True),
    ("if o.verdict == Verdict.PROVED: pass", False),
    ("ok = o.verdict in (Verdict.PROVED, Verdict.CHECKED)", False),
    ("WORDS = {Verdict.PROVED: 'proved'}", False),
])
def test_the_rule_itself(source: str, flagged: bool) -> None:
    assert bool(_uses(ast.parse(source))) is flagged


def test_the_contract_names_tests_that_exist() -> None:
    """Every test the contract cites is a test file of this suite (so it cannot rot)."""
    contract = (ROOT / "decide" / "CONTRACT.md").read_text(encoding="utf-8")
    cited = {word.strip("`,.;():") for word in contract.split() if word.startswith("`tests/")}
    assert cited, "the contract cites no tests"
    tests = Path(__file__).resolve().parent
    for name in cited:
        path = name.split("::")[0]
        assert (tests.parent / path).is_file(), f"CONTRACT.md cites {name}, which is not a file"
        if "::" in name:
            assert name.split("::")[1] in (tests.parent / path).read_text(encoding="utf-8"), name
