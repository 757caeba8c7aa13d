"""How verify's time and memory grow with the size of a derivation (issue 11).

Families of generated derivation files, each verified as a whole process
(``python -m derivcheck verify FILE --workers 1``, as a single file is checked),
one size at a time:

* ``tanh``: nested definitions ``z0: s``, ``z_k: tanh(z_{k-1}) * tanh(z_{k-1}) + s``,
  claim ``d(z_n)/d(s) = 0`` (false: the derivative is a DAG whose tree has about
  2^n nodes);
* ``square``: the same with ``z_k: z_{k-1} * z_{k-1} + s``;
* ``mlp``: an L-layer ReLU MLP with softmax cross-entropy and its backprop by hand
  (``d(loss)/d(a)``, the delta recursion ``d(loss)/d(z_l) = (W_{l+1}.T @
  d(loss)/d(z_{l+1})) * relu_prime(z_l)``, then ``d(loss)/d(W_l)`` and
  ``d(loss)/d(b_l)`` for every layer: 3L + 1 steps, all true);
* ``steps``: one small MLP with the same true step repeated (10 to 1,000 steps).

For each size: wall time, the peak resident memory of the verifying process and its
children (``ru_maxrss``), the verdict counts, and whether the run went past its
timeout.  Last, the growth between the sizes that finished, fitted as a power
``time ~ size^k`` (least squares on the logarithms).  A benchmark, not a test: it
asserts nothing and prints its table (Markdown with ``--markdown``).

Usage: python bench/scaling.py [--family tanh,square,mlp,steps] [--sizes 4,8,...]
                               [--timeout S] [--markdown]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

DEFAULT_SIZES = {
    "tanh": (4, 8, 12, 16, 20, 30, 40),
    "square": (4, 8, 11, 16, 20, 30, 40),
    "mlp": (2, 4, 8, 16, 20, 22, 24, 32, 64, 128),
    "steps": (10, 30, 100, 300, 1000),
}


def nested(n: int, *, squared: bool) -> str:
    """The nested-definition file of depth ``n``: ``tanh`` (or plain) products."""
    lines = ["title: nested definitions", "symbols: {s: scalar}", "define:", "  z0: s"]
    for k in range(1, n + 1):
        inner = f"z{k - 1}" if squared else f"tanh(z{k - 1})"
        lines.append(f"  z{k}: {inner} * {inner} + s")
    lines += ["steps:", "  - id: claim", f"    claim: d(z{n})/d(s) = 0", "    expect: refuted"]
    return "\n".join(lines) + "\n"


def mlp(layers: int) -> str:
    """An L-layer ReLU MLP with softmax cross-entropy, and its backprop (3L + 1 steps)."""
    n = layers
    sym = ["x: vector D", "y: onehot K"]
    for k in range(1, n + 1):
        rows = "K" if k == n else "H"
        cols = "D" if k == 1 else "H"
        sym += [f"W{k}: matrix {rows} {cols}", f"b{k}: vector {rows}"]
    lines = ["title: deep ReLU MLP", "symbols:"] + [f"  {s.split(':')[0]}: "
                                                  f"'{s.split(': ')[1]}'" for s in sym]
    lines += ["conventions: {layout: gradient, relu_prime_at_zero: 0}", "define:"]
    for k in range(1, n + 1):
        below = "x" if k == 1 else f"a{k - 1}"
        lines.append(f"  z{k}: W{k} @ {below} + b{k}")
        if k < n:
            lines.append(f"  a{k}: relu(z{k})")
    lines += [f"  p: softmax(z{n})", "  loss: -sum(y * log(p))", "steps:"]

    def step(sid: str, claim: str) -> None:
        lines.extend([f"  - id: {sid}", f"    claim: '{claim}'", "    expect: holds"])

    step("dloss_dp", "d(loss)/d(p) = -y / p")
    step(f"dloss_dz{n}", f"d(loss)/d(z{n}) = p - y")
    for k in range(n - 1, 0, -1):
        step(f"dloss_dz{k}",
             f"d(loss)/d(z{k}) = (W{k + 1}.T @ d(loss)/d(z{k + 1})) * relu_prime(z{k})")
    for k in range(n, 0, -1):
        below = "x" if k == 1 else f"a{k - 1}"
        step(f"dloss_dW{k}", f"d(loss)/d(W{k}) = d(loss)/d(z{k}) @ {below}.T")
        step(f"dloss_db{k}", f"d(loss)/d(b{k}) = d(loss)/d(z{k})")
    return "\n".join(lines) + "\n"


def many_steps(count: int) -> str:
    """A two-layer MLP with ``count`` steps (the same true gradient, repeated)."""
    lines = ["title: many steps",
             "symbols: {x: vector D, W1: matrix H D, b1: vector H, W2: matrix K H, "
             "b2: vector K, y: onehot K}",
             "define:", "  z1: W1 @ x + b1", "  a1: relu(z1)", "  z2: W2 @ a1 + b2",
             "  p: softmax(z2)", "  loss: -sum(y * log(p))", "steps:"]
    for k in range(count):
        lines += [f"  - id: s{k}",
                  "    claim: 'd(loss)/d(W1) = ((W2.T @ (p - y)) * relu_prime(z1)) @ x.T'",
                  "    expect: holds"]
    return "\n".join(lines) + "\n"


FAMILIES = {
    "tanh": lambda n: nested(n, squared=False),
    "square": lambda n: nested(n, squared=True),
    "mlp": mlp,
    "steps": many_steps,
}


@dataclass
class Run:
    family: str
    size: int
    seconds: float
    peak_mb: float
    summary: str  # the verdict counts, or why there are none
    finished: bool


def _children_peak_mb() -> float:
    # ru_maxrss of the children waited for: the largest of them (kB on Linux)
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def measure(family: str, size: int, folder: Path, timeout: float) -> Run:
    """Verify the generated file of ``size`` in a fresh process; time and peak memory.

    Each run is measured in its own ``python`` launched through a small parent
    (``bench.scaling --one``), so that ``ru_maxrss`` counts this run alone.
    """
    path = folder / f"{family}_{size}.yaml"
    path.write_text(FAMILIES[family](size))
    cmd = [sys.executable, __file__, "--one", str(path)]
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    start = time.perf_counter()
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env,
                              cwd=ROOT)
    except subprocess.TimeoutExpired:
        return Run(family, size, time.perf_counter() - start, float("nan"),
                   f"stopped after {timeout:g} s", False)
    took = time.perf_counter() - start
    try:
        got = json.loads(done.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return Run(family, size, took, float("nan"), f"failed: {tail[:80]}", False)
    return Run(family, size, got["seconds"], got["peak_mb"], got["summary"], True)


def one(path: str) -> None:
    """Child side of ``measure``: run verify in a grandchild, report as one JSON line."""
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "derivcheck", "verify", path, "--workers", "1",
                           "--format", "json"], capture_output=True, text=True, cwd=ROOT)
    took = time.perf_counter() - start
    try:
        report = json.loads(done.stdout)
        counts: dict[str, int] = {}
        for f in report["files"]:
            if f.get("error"):
                counts["input error"] = counts.get("input error", 0) + 1
            for s in f["steps"]:
                counts[s["verdict"]] = counts.get(s["verdict"], 0) + 1
                for d in s.get("diagnosis", []):
                    if d in ("internal-error", "time-limit"):
                        counts[d] = counts.get(d, 0) + 1
        summary = ", ".join(f"{v} {k}" for k, v in sorted(counts.items()))
    except (ValueError, KeyError):
        summary = f"exit {done.returncode}: {done.stderr.strip()[-80:]}"
    print(json.dumps({"seconds": took, "peak_mb": _children_peak_mb(), "summary": summary}))


def growth(runs: list[Run]) -> str:
    """The exponent k of ``time ~ size^k`` fitted to the finished runs (None if < 3)."""
    pts = [(math.log(r.size), math.log(r.seconds)) for r in runs if r.finished and r.seconds > 0]
    if len(pts) < 3:
        return "too few finished sizes to fit"
    mx = sum(x for x, _ in pts) / len(pts)
    my = sum(y for _, y in pts) / len(pts)
    k = sum((x - mx) * (y - my) for x, y in pts) / sum((x - mx) ** 2 for x, _ in pts)
    word = ("about constant" if k < 0.3 else "linear or less" if k < 1.3 else
            "about quadratic" if k < 2.3 else "faster than quadratic")
    return f"time ~ size^{k:.2f} ({word}; includes the ~0.7 s start-up)"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--family", default="tanh,square,mlp,steps")
    p.add_argument("--sizes", default="", help="comma-separated sizes (default: per family)")
    p.add_argument("--timeout", type=float, default=120.0, help="seconds per run")
    p.add_argument("--markdown", action="store_true")
    p.add_argument("--one", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.one:
        one(args.one)
        return 0
    with tempfile.TemporaryDirectory(prefix="derivcheck-scaling-") as tmp:
        for family in args.family.split(","):
            sizes = ([int(s) for s in args.sizes.split(",")] if args.sizes
                     else DEFAULT_SIZES[family])
            runs: list[Run] = []
            if args.markdown:
                print(f"\n{family}:\n\n| size | seconds | peak MB | verdicts |\n|---|---|---|---|")
            for size in sizes:
                run = measure(family, size, Path(tmp), args.timeout)
                runs.append(run)
                if args.markdown:
                    print(f"| {size} | {run.seconds:.2f} | {run.peak_mb:.0f} | {run.summary} |",
                          flush=True)
                else:
                    print(f"{family:7s} {size:5d} {run.seconds:8.2f} s {run.peak_mb:7.0f} MB  "
                          f"{run.summary}", flush=True)
                if not run.finished:
                    break  # larger sizes would not finish either
            print(f"{family}: {growth(runs)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
