"""derivcheck's benchmark: accuracy and speed, side by side with the alternatives.

One run measures, on the labelled corpus (bench/corpus/*.yaml) and on the
steps of the five source documents (derivations/ files with a ``source:``):

1. every label checked by finite differences, independently of the engine
   (bench/npeval.py, bench/fd_labels.py), and the corpus's composition;
2. derivcheck, each claim on its own in a warm process; the baselines on the
   same claims: naive SymPy (bench/naive_sympy.py), math-verify in its own
   environment (bench/mv_worker.py), a finite-difference gradient check;
3. false accepts, false rejects, undecided, correct, time per claim (median,
   p95), time ratios pair by pair, derivcheck's diagnosis accuracy; start-up,
   `derivcheck verify derivations/` as a whole process, peak memory.

Writes bench/results.json and bench/results.md.  A benchmark, not a test: it
asserts nothing.

Usage: python bench/run.py [--quick] [--repeat N] [--time-limit S] [--skip-mathverify]
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import baselines, measure  # noqa: E402
from bench.composition import composition  # noqa: E402
from bench.corpus import Claim, load_corpus  # noqa: E402
from bench.fd_labels import agrees, verify_claim  # noqa: E402
from bench.report import diagnosis_accuracy, markdown, ratios, score  # noqa: E402

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


def source_documents() -> list[Claim]:
    """The steps of the source documents (derivations/ files that name a source)."""
    return [c for c in load_corpus(ROOT / "derivations") if c.derivation.source]


def fd_section(claims: list[Claim], log: list[str]) -> dict:
    agree, disagree, undecided, unsupported = 0, [], [], []
    worst_true, least_false = 0.0, float("inf")
    for c in claims:
        fd = verify_claim(c)
        ok = agrees(c, fd)
        if fd.verdict == "true":
            worst_true = max(worst_true, fd.worst)
        if fd.verdict == "false" and fd.reason.startswith("values"):
            least_false = min(least_false, fd.worst)
        line = f"{c.key}: label {c.label}, FD {fd.verdict} ({fd.reason}); {c.text}"
        if fd.verdict == "unsupported":
            unsupported.append(line)
        elif ok is None:
            undecided.append(line)
        elif ok:
            agree += 1
        else:
            disagree.append(line)
    log.append(f"FD labels: {agree}/{len(claims)} agree")
    return {"checked": len(claims), "agree": agree, "disagree": disagree,
            "undecided": undecided, "unsupported": unsupported,
            "worst_true": worst_true, "least_false": least_false}


def single_claim(repeat: int) -> str:
    """The old headline: one MLP gradient claim, numeric only and with the proof."""
    from derivcheck.decide import Options
    from derivcheck.load import load_text
    from derivcheck.verify import verify_derivation

    derivation = load_text(MLP, "bench.yaml")
    verify_derivation(derivation, Options(symbolic=False))
    numeric, full = [], []
    for k in range(repeat):
        start = time.perf_counter()
        verify_derivation(derivation, Options(seed=k, symbolic=False))
        numeric.append(time.perf_counter() - start)
        start = time.perf_counter()
        verify_derivation(derivation, Options(seed=k))
        full.append(time.perf_counter() - start)
    return (f"numeric check {statistics.median(numeric) * 1000:.1f} ms, with symbolic proof "
            f"{statistics.median(full) * 1000:.1f} ms (median of {repeat})")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="a smoke run: every 10th claim, 1 repeat, 2 s time limit")
    parser.add_argument("--repeat", type=int, default=5, help="whole-process repeats")
    parser.add_argument("--time-limit", type=float, default=5.0,
                        help="seconds per claim for derivcheck's CAS and naive SymPy")
    parser.add_argument("--skip-mathverify", action="store_true")
    parser.add_argument("--out", default=str(ROOT / "bench"), help="folder for the results")
    args = parser.parse_args(argv)
    if args.quick:
        args.repeat, args.time_limit = 1, 2.0
    log: list[str] = []
    groups = {"corpus": load_corpus(), "source documents": source_documents()}
    if args.quick:
        groups = {k: v[::10] for k, v in groups.items()}
    every = [c for cs in groups.values() for c in cs]
    comp = {name: composition(cs) for name, cs in groups.items()}
    comp["all"] = composition(every)
    print(f"{len(every)} claims; checking labels by finite differences", flush=True)
    fd = fd_section(every, log)
    print("derivcheck", flush=True)
    tools = {"derivcheck": measure.derivcheck_claims(every, time_limit=args.time_limit),
             "derivcheck --latex": measure.derivcheck_claims(every, time_limit=args.time_limit,
                                                              latex=True)}
    print("naive SymPy", flush=True)
    tools["naive SymPy"] = baselines.naive_sympy(every, args.time_limit)
    if not args.skip_mathverify:
        print("math-verify", flush=True)
        tools["math-verify"] = baselines.math_verify(every, log)
    print("gradient check", flush=True)
    tools["FD gradient check"] = baselines.gradcheck(every)
    index = {c.key: k for k, c in enumerate(every)}
    accuracy, ratio, diagnosis = {}, {}, {}
    for name, cs in {**groups, "all": every}.items():
        pick = [index[c.key] for c in cs]
        accuracy[name] = {t: score(cs, [d[k] for k in pick]) for t, d in tools.items()}
        ours = [tools["derivcheck"][k] for k in pick]
        ratio[name] = {t: ratios(cs, ours, [d[k] for k in pick]) for t, d in tools.items()
                       if t != "derivcheck"}
        diagnosis[name] = diagnosis_accuracy(cs, ours)
    print("whole process", flush=True)
    results = {
        "date": datetime.date.today().isoformat(),
        "machine": f"{platform.machine()}, {platform.python_implementation()} "
                   f"{platform.python_version()}, {os.cpu_count()} cores",
        "command": "python bench/run.py" + (" --quick" if args.quick else ""),
        "quick": args.quick, "time_limit_s": args.time_limit,
        "composition": comp, "fd_labels": fd, "accuracy": accuracy, "ratios": ratio,
        "diagnosis": diagnosis,
        "whole_process": measure.whole_process(args.repeat),
        "speed": {"one MLP gradient claim (dL/dW1), warm": single_claim(args.repeat),
                  "numeric stage per equation in derivations/":
                      measure.per_equation_numeric()},
        "per_claim": {t: [d.__dict__ for d in ds] for t, ds in tools.items()},
        "notes": log + [
            "math-verify cannot compute derivatives: claims whose LaTeX has a derivative "
            "are 'not expressible' for it, as are LaTeX forms it cannot parse.",
            "naive SymPy: dimensions at sizes 2 and 3, one-hot vectors a fixed basis "
            "vector, probability vectors positive symbols (their sum is not 1), "
            "ReLU as Piecewise; simplify(lhs - rhs) == 0 per component; forked child "
            f"killed after {args.time_limit:g} s (counted as undecided).",
            "FD gradient check: one random point at one size setting, 2-point central "
            "differences with step 1e-6, np.allclose(rtol=1e-3, atol=1e-5) as "
            "torch.autograd.gradcheck; derivative claims only.",
            "derivcheck: each claim verified alone by the API (verify_derivation, "
            "1 worker, symbolic proofs on) in a warm process; 'derivcheck --latex' "
            "reads the claim from its LaTeX form.",
        ],
    }
    out = Path(args.out)
    (out / "results.json").write_text(json.dumps(results, indent=1, default=str) + "\n")
    (out / "results.md").write_text(markdown(results) + _kept(out / "results.md"))
    print(markdown(results))
    return 0


# Sections measured by other scripts (the fuzzer, diagnosis accuracy, grading, scaling)
# follow this line in results.md; a new run of this benchmark keeps them.
KEPT_MARKER = "<!-- measured by other scripts: kept when bench/run.py rewrites the file -->"


def _kept(path: Path) -> str:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return ""
    at = text.find(KEPT_MARKER)
    return "\n" + text[at:] if at >= 0 else ""


if __name__ == "__main__":
    raise SystemExit(main())
