"""derivcheck's side of the benchmark: per-claim verdicts and times, whole-run figures."""

from __future__ import annotations

import dataclasses
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

from bench.baselines import Decision
from bench.corpus import Claim
from derivcheck.decide import Options
from derivcheck.engine.limits import WorkerPool
from derivcheck.verify import proof_pool, verify_derivation

ROOT = Path(__file__).resolve().parent.parent


def _single(claim: Claim):  # type: ignore[no-untyped-def]
    """The claim's derivation reduced to this one equation."""
    step = claim.step
    k = claim.link
    latex = step.latex[k:k + 2] if step.latex and len(step.latex) == len(step.exprs) else None
    one = dataclasses.replace(step, form="claim", exprs=step.exprs[k:k + 2],
                              expect=(claim.label,), latex=latex)
    return dataclasses.replace(claim.derivation, steps=(one,))


def derivcheck_claims(claims: list[Claim], *, time_limit: float, latex: bool = False
                      ) -> list[Decision]:
    """Each claim verified on its own in this (warm) process, as the API is called."""
    options = Options(time_limit=time_limit, workers=1, latex=latex)
    with proof_pool(options) as pool:  # a warm process keeps its proof worker
        if claims:
            verify_derivation(_single(claims[0]), options, pool=pool)  # warm caches
        return [_one_claim(c, options, pool) for c in claims]


def _one_claim(c: Claim, options: Options, pool: WorkerPool) -> Decision:
    derivation = _single(c)
    start = time.perf_counter()
    try:
        result = verify_derivation(derivation, options, pool=pool)[0]
        verdict = result.verdict.value
        codes = [code for code in result.codes if code != "residual"]
        code = codes[0] if codes else ""
        detail = ", ".join(result.codes)
    except Exception as exc:  # an input error: counts as undecided, reported
        verdict, code, detail = "undecided", "internal-error", f"{type(exc).__name__}: {exc}"
    took = time.perf_counter() - start
    if verdict in ("proved", "checked"):
        verdict = "holds"
    return Decision(c.key, verdict, took, detail[:200], code)


def _wall(args: list[str], repeat: int) -> list[float]:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(args, cwd=ROOT, capture_output=True, text=True)
        times.append(time.perf_counter() - start)
    return times


_RSS = ("import resource, subprocess, sys; subprocess.run(sys.argv[1:], capture_output=True); "
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")


def whole_process(repeat: int) -> dict:
    """Start-up, `derivcheck verify derivations/` as a whole process, peak memory."""
    py = sys.executable
    startup = _wall([py, "-c", "import derivcheck.cli"], repeat)
    help_run = _wall([py, "-m", "derivcheck", "--help"], repeat)
    verify = [py, "-m", "derivcheck", "verify", "derivations/"]
    # issue 11's yardstick: a bare `import sympy` process, timed pair by pair with the
    # whole run (each pair back to back, so both see the same load)
    sympy_s, whole, ratios = [], [], []
    for _ in range(repeat):
        bare = _wall([py, "-c", "import sympy"], 1)[0]
        run = _wall(verify, 1)[0]
        sympy_s.append(bare)
        whole.append(run)
        ratios.append(run / bare)
    numeric = _wall([*verify, "--no-symbolic"], repeat)
    rss = subprocess.run([py, "-c", _RSS, *verify], cwd=ROOT, capture_output=True, text=True)
    maxrss_kb = int(rss.stdout.strip() or 0)
    return {
        "startup_import_s": _stats(startup),
        "startup_help_s": _stats(help_run),
        "verify_derivations_s": _stats(whole),
        "import_sympy_s": _stats(sympy_s),
        "verify_over_import_sympy": round(statistics.median(ratios), 2),
        "verify_derivations_no_symbolic_s": _stats(numeric),
        "peak_memory_mb": round(maxrss_kb / 1024, 1),
        "repeat": repeat,
    }


def per_equation_numeric() -> dict:
    """The numeric stage's time per equation in derivations/ (from the JSON report)."""
    proc = subprocess.run([sys.executable, "-m", "derivcheck", "verify", "derivations/",
                           "--format", "json", "--no-symbolic", "--workers", "1"],
                          cwd=ROOT, capture_output=True, text=True)
    data = json.loads(proc.stdout)
    times = sorted(link["evidence"]["seconds"] for f in data["files"] for s in f["steps"]
                   for link in s["links"])
    return {"median_s": statistics.median(times),
            "p95_s": times[int(0.95 * (len(times) - 1))], "n": len(times)}


def _stats(times: list[float]) -> dict:
    return {"median": round(statistics.median(times), 4), "best": round(min(times), 4),
            "n": len(times)}
