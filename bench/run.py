"""Speed figures for derivcheck (a benchmark, not a test: it asserts nothing).

Measures, on this machine:
  1. `derivcheck verify derivations/` as a whole process (start-up included),
     with and without symbolic proofs: median and best of several runs;
  2. one 2-layer-MLP gradient claim (dL/dW1) decided in a warm process:
     the numeric check alone, and numeric check plus symbolic proof.

Usage: python bench/run.py [--repeat N]
"""

from __future__ import annotations

import argparse
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

MLP = """
title: bench MLP
symbols: {x: vector D, W1: matrix H D, b1: vector H, W2: matrix K H, b2: vector K, y: onehot K}
define:
  z1: W1 @ x + b1
  a1: relu(z1)
  z2: W2 @ a1 + b2
  a2: softmax(z2)
  L: -sum(y * log(a2))
steps:
  - id: dL_dW1
    claim: d(L)/d(W1) = ((W2.T @ (a2 - y)) * relu_prime(z1)) @ x.T
"""

# A claim the normal forms cannot prove: decided by SymPy at instantiated sizes.
MLP_INDEXED = MLP.replace("symbols: {", "symbols: {i: index K, k: index K, ").replace(
    """  - id: dL_dW1
    claim: d(L)/d(W1) = ((W2.T @ (a2 - y)) * relu_prime(z1)) @ x.T""",
    """  - id: dL_dz2_i
    claim: d(L)/d(z2[i]) = Sum(k, -y[k] * (delta(k, i) - a2[i]))""")


def whole_run(args: list[str], repeat: int) -> list[float]:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "derivcheck", "verify", "derivations/",
                               *args], cwd=ROOT, capture_output=True, text=True)
        times.append(time.perf_counter() - start)
        if proc.returncode not in (0, 1):
            raise SystemExit(f"derivcheck failed: {proc.stderr}")
    return times


def single_claim(repeat: int, text: str = MLP) -> tuple[list[float], list[float], str]:
    from derivcheck.compare import Options
    from derivcheck.load import load_text
    from derivcheck.verify import verify_derivation

    derivation = load_text(text, "bench.yaml")
    verify_derivation(derivation, Options(symbolic=False))  # warm imports and caches
    numeric, full = [], []
    verdict = ""
    for k in range(repeat):
        start = time.perf_counter()
        verify_derivation(derivation, Options(seed=k, symbolic=False))
        numeric.append(time.perf_counter() - start)
        start = time.perf_counter()
        result = verify_derivation(derivation, Options(seed=k))
        full.append(time.perf_counter() - start)
        verdict = result[0].verdict.value + " (" + result[0].links[0].evidence.proof + ")"
    return numeric, full, verdict


def per_claim() -> tuple[float, float, int]:
    """Median and p95 of the per-equation check time in derivations/ (numeric stage)."""
    import json

    proc = subprocess.run([sys.executable, "-m", "derivcheck", "verify", "derivations/",
                           "--format", "json", "--no-symbolic", "--workers", "1"],
                          cwd=ROOT, capture_output=True, text=True)
    data = json.loads(proc.stdout)
    times = sorted(link["evidence"]["seconds"] for f in data["files"] for s in f["steps"]
                   for link in s["links"])
    return statistics.median(times), times[int(0.95 * (len(times) - 1))], len(times)


def fmt(times: list[float]) -> str:
    return f"median {statistics.median(times):.3f} s, best {min(times):.3f} s (n={len(times)})"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    print(f"machine: {platform.machine()}, {platform.python_implementation()} "
          f"{platform.python_version()}, {__import__('os').cpu_count()} cores")
    print(f"derivcheck verify derivations/ (whole process): {fmt(whole_run([], args.repeat))}")
    print(f"derivcheck verify derivations/ --no-symbolic:   "
          f"{fmt(whole_run(['--no-symbolic'], args.repeat))}")
    numeric, full, verdict = single_claim(args.repeat)
    print(f"one MLP gradient claim, numeric check only:     {fmt(numeric)}")
    print(f"one MLP gradient claim, with symbolic proof:    {fmt(full)} -> {verdict}")
    numeric, full, verdict = single_claim(args.repeat, MLP_INDEXED)
    print(f"one indexed MLP claim, numeric check only:      {fmt(numeric)}")
    print(f"one indexed MLP claim, with SymPy proof:        {fmt(full)} -> {verdict}")
    median, p95, count = per_claim()
    print(f"numeric check per equation in derivations/:     median {median * 1000:.1f} ms, "
          f"p95 {p95 * 1000:.1f} ms (n={count}; shapes, derivative cross-check and random points)")


if __name__ == "__main__":
    main()
