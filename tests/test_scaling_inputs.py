"""Small hostile files and deep networks finish with the right class of verdict (issue 11).

Each case is a generated file (bench/scaling.py's generators) verified as a whole
process with ``--workers 1`` (everything but the proofs in that process).  A case
asserts the verdict class of each step (a false claim is never reported as holding,
a true one never refuted) and that no internal error or traceback occurs.  The
engine's own limits bound the work (``--step-time-limit``, the proofs' ``--time-limit``);
the subprocess timeout is a safety net only, never the thing tested.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from bench.scaling import mlp, nested
from derivcheck import verify
from derivcheck.decide import Options
from derivcheck.engine import budget
from derivcheck.engine.core import Engine
from derivcheck.results import Verdict
from tests.conftest import build

ROOT = Path(__file__).resolve().parent.parent
SAFETY_NET = 300  # seconds; the engine's own limits end each case far sooner

HOLDS = {"proved", "checked"}
NOT_HOLDS = {"refuted", "undecided", "ill_formed"}
NOT_REFUTED = {"proved", "checked", "undecided"}


def _chain_file(n: int, *, squared: bool) -> str:
    """Nested definitions with true and false steps that use the engine's derivatives."""
    text = nested(n, squared=squared).split("steps:")[0]
    m = n - 1
    factor = f"z{m}" if squared else f"tanh(z{m}) * (1 - tanh(z{m})**2)"
    return text + "\n".join([
        "steps:",
        "  - id: chain_true",
        f"    claim: 'd(z{n})/d(s) = 2 * {factor} * d(z{m})/d(s) + 1'",
        "  - id: chain_factor",
        f"    claim: 'd(z{n})/d(s) = {factor} * d(z{m})/d(s) + 1'",
        "  - id: sign",
        f"    claim: 'd(z{n})/d(s) = -d(z{n})/d(s)'",
    ]) + "\n"


# (name, file text, allowed verdicts per step id)
CASES = [
    ("tanh_nested_20_claim_zero", nested(20, squared=False), {"claim": NOT_HOLDS}),
    ("tanh_nested_40_claim_zero", nested(40, squared=False), {"claim": NOT_HOLDS}),
    ("square_nested_11_claim_zero", nested(11, squared=True), {"claim": NOT_HOLDS}),
    ("square_nested_20_claim_zero", nested(20, squared=True), {"claim": NOT_HOLDS}),
    ("tanh_nested_40_chain_steps", _chain_file(40, squared=False),
     {"chain_true": NOT_REFUTED, "chain_factor": NOT_HOLDS, "sign": NOT_HOLDS}),
    ("square_nested_20_chain_steps", _chain_file(20, squared=True),
     {"chain_true": NOT_REFUTED, "chain_factor": NOT_HOLDS, "sign": NOT_HOLDS}),
    ("relu_mlp_8_layers", mlp(8), None),  # every step true: never refuted
    ("relu_mlp_16_layers", mlp(16), None),
]


def _verify(path: Path, *extra: str) -> tuple[subprocess.CompletedProcess, dict]:
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    proc = subprocess.run([sys.executable, "-m", "derivcheck", "verify", str(path),
                           "--workers", "1", "--format", "json", *extra],
                          capture_output=True, text=True, env=env, cwd=ROOT,
                          timeout=SAFETY_NET, check=False)
    assert proc.returncode in (0, 1), proc.stderr[-2000:]  # 3 would be an internal error
    assert "Traceback" not in proc.stderr
    return proc, json.loads(proc.stdout)


@pytest.mark.parametrize(("text", "allowed"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_hostile_file_gets_the_right_class_of_verdict(text: str, allowed: dict | None,
                                                      tmp_path: Path) -> None:
    path = tmp_path / "hostile.yaml"
    path.write_text(text, encoding="utf-8")
    _, report = _verify(path)
    steps = report["files"][0]["steps"]
    assert report["files"][0]["error"] is None
    assert steps
    for step in steps:
        assert "internal-error" not in step["diagnosis"], step
        want = NOT_REFUTED if allowed is None else allowed[step["id"]]
        assert step["verdict"] in want, (step["id"], step["verdict"], step["diagnosis"])
        assert len(json.dumps(step)) < 200_000  # messages are summarised, not megabytes


def test_a_stage_past_its_budget_is_undecided_with_the_stage_named(tmp_path: Path) -> None:
    """A budget far too small for the work: every step that ran out is undecided
    (time-limit, naming the stage and the limit), none holds because of it, and the
    run still ends normally with every step reported."""
    path = tmp_path / "deep.yaml"
    path.write_text(mlp(8), encoding="utf-8")
    _, report = _verify(path, "--step-time-limit", "0.001")
    steps = report["files"][0]["steps"]
    assert len(steps) == 25
    timed_out = [s for s in steps if "time-limit" in s["diagnosis"]]
    assert timed_out
    for s in timed_out:
        assert s["verdict"] == "undecided"
        assert "used up its time budget of 0.001 s" in json.dumps(s)
    assert all(s["verdict"] != "refuted" for s in steps)


def test_a_diagnosis_past_its_budget_keeps_the_verdict(monkeypatch: pytest.MonkeyPatch) -> None:
    """The diagnosis stage cut short: the refuted verdict (with its counterexample)
    stands, and a time-limit note says the explanation is missing."""
    derivation = build(claim="d(sum(x * x))/d(x) = 3 * x", symbols={"x": "vector N"})
    engine = Engine(derivation)
    lhs, rhs = (e.node for e in derivation.steps[0].exprs)

    def out_of_time(*args: object, **kwargs: object) -> list:
        raise budget.StepTimeout("diagnosis", 0.5)

    monkeypatch.setattr(verify, "diagnose", out_of_time)
    out, found = verify.decide_equation(engine, lhs, rhs, "gradient", Options(symbolic=False),
                                        np.random.default_rng(0))
    assert out.verdict == Verdict.REFUTED
    assert out.counterexample is not None
    assert [d.code for d in found] == ["time-limit"]
    assert "the verdict stands" in found[0].message


def test_budget_check_raises_only_past_the_deadline() -> None:
    budget.check()  # no stage: never raises
    with budget.stage("numeric check", 60.0):
        budget.check()
        with budget.stage("diagnosis", 0.0):  # the earlier deadline wins
            with pytest.raises(budget.StepTimeout) as info:
                budget.check()
            assert info.value.stage == "diagnosis"
        budget.check()  # the outer stage again
    assert not budget.active()
