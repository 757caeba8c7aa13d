"""The baselines the benchmark runs beside derivcheck, one function each.

Every function returns one ``Decision`` per claim.  ``verdict`` is what the
tool said: holds, refuted, ill_formed, undecided (it ran and could not
decide: time limit, no usable point) or n/a (the tool cannot express the claim).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bench.corpus import Claim
from bench.fd_labels import size_settings
from bench.naive_sympy import decide_limited
from bench.npeval import (
    BadPoint,
    ShapeError,
    Unsupported,
    draw_point,
    evaluate_claim,
    free_indices,
)

HERE = Path(__file__).resolve().parent
MV_VENV = HERE / ".venv-mathverify"
MV_VERSION = "0.9.0"


@dataclass(frozen=True)
class Decision:
    key: str
    verdict: str
    seconds: float
    detail: str = ""
    code: str = ""  # derivcheck only: the first diagnosis code


def free_of(claim: Claim) -> list[str]:
    return sorted(free_indices(claim.lhs, claim.derivation)
                  | free_indices(claim.rhs, claim.derivation))


# -- (a) naive SymPy ----------------------------------------------------------

def naive_sympy(claims: list[Claim], seconds: float) -> list[Decision]:
    out = []
    for c in claims:
        verdict, detail, took = decide_limited(c.lhs, c.rhs, c.derivation, c.layout,
                                               free_of(c), seconds)
        if verdict == "error":
            verdict = "n/a"
        out.append(Decision(c.key, verdict, took, detail))
    return out


# -- (b) math-verify, in its own environment ------------------------------------

def ensure_mathverify(log: list[str]) -> Path | None:
    """The math-verify venv's python, created on first use; None if it cannot be made."""
    python = MV_VENV / "bin" / "python"
    if python.exists():
        return python
    log.append(f"creating {MV_VENV.relative_to(HERE.parent)} with math-verify=={MV_VERSION}")
    try:
        subprocess.run([sys.executable, "-m", "venv", str(MV_VENV)], check=True,
                       capture_output=True)
        subprocess.run([str(python), "-m", "pip", "install", "--quiet",
                        f"math-verify=={MV_VERSION}"], check=True, capture_output=True,
                       timeout=900)
    except (subprocess.SubprocessError, OSError) as exc:
        log.append(f"math-verify could not be installed: {exc}")
        return None
    return python


def is_derivative_latex(text: str) -> bool:
    return "\\partial" in text or "\\nabla" in text or "\\mathrm{d}" in text


def math_verify(claims: list[Claim], log: list[str]) -> list[Decision]:
    """verify(parse(lhs), parse(rhs)) on the LaTeX forms; derivatives are n/a."""
    python = ensure_mathverify(log)
    out: dict[str, Decision] = {}
    pairs = []
    for c in claims:
        if c.latex_lhs is None or c.latex_rhs is None:
            out[c.key] = Decision(c.key, "n/a", 0.0, "no LaTeX form")
        elif is_derivative_latex(c.latex_lhs + c.latex_rhs):
            out[c.key] = Decision(c.key, "n/a", 0.0, "a derivative (math-verify has none)")
        else:
            pairs.append({"key": c.key, "lhs": c.latex_lhs, "rhs": c.latex_rhs})
    if python is None:
        for p in pairs:
            out[p["key"]] = Decision(p["key"], "n/a", 0.0, "math-verify not installed")
        return [out[c.key] for c in claims]
    proc = subprocess.run([str(python), str(HERE / "mv_worker.py")], input=json.dumps(pairs),
                          capture_output=True, text=True, timeout=1800)
    if proc.returncode != 0:
        log.append(f"math-verify worker failed: {proc.stderr[-500:]}")
        results = []
    else:
        results = json.loads(proc.stdout)
    for r in results:
        verdict = "n/a" if r["verdict"] == "unparsed" else r["verdict"]
        out[r["key"]] = Decision(r["key"], verdict, r["seconds"], r["detail"])
    for p in pairs:
        out.setdefault(p["key"], Decision(p["key"], "n/a", 0.0, "no answer from the worker"))
    return [out[c.key] for c in claims]


# -- (c) finite-difference gradient check -----------------------------------------

GC_EPS, GC_ATOL, GC_RTOL = 1e-6, 1e-5, 1e-3  # torch.autograd.gradcheck's defaults
GC_STENCIL = ((-1, -0.5), (1, 0.5))  # the classic 2-point central difference


def gradcheck(claims: list[Claim], *, seed: int = 0) -> list[Decision]:
    """What an ML practitioner runs: one random point at one size setting, central
    differences with gradcheck's step and tolerances; derivative claims only."""
    out = []
    for c in claims:
        start = time.perf_counter()
        if not c.has_derivative:
            out.append(Decision(c.key, "n/a", 0.0, "not a derivative claim"))
            continue
        rng = np.random.default_rng([seed, sum(map(ord, c.key))])
        sizes = size_settings(c.derivation.dims, rng, 1)[0]
        verdict, detail = "undecided", "no point off the kinks"
        for _ in range(20):
            values = draw_point(c.derivation, sizes, rng)
            try:
                got = evaluate_claim(c.lhs, c.rhs, c.derivation, c.layout, values, sizes,
                                     stencil=GC_STENCIL, step=lambda _x: GC_EPS, refine=False)
            except BadPoint:
                continue
            except ShapeError as exc:
                verdict, detail = "ill_formed", str(exc)
            except Unsupported as exc:
                verdict, detail = "n/a", str(exc)
            else:
                close = all(np.allclose(a, b, rtol=GC_RTOL, atol=GC_ATOL)
                            for a, b in zip(got.lhs, got.rhs))
                verdict, detail = ("holds" if close else "refuted"), f"sizes {sizes}"
            break
        out.append(Decision(c.key, verdict, time.perf_counter() - start, detail))
    return out
