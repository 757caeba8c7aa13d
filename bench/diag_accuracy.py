"""Diagnosis accuracy on labelled false claims (a measurement, not a test).

Two sets, reported apart:

- ``corpus``: bench/corpus/*.yaml, whose labels grew with the rules;
- ``frozen``: bench/diag_frozen/*.yaml, whose labels were committed before the rules
  that name them were written (see its README).

A false claim's note says ``mistake: <code>`` (``mistake: sign-error+transpose``
for a step with two mistakes: every code must be named). For each, the codes
derivcheck gives are compared with the label:

- named first: the first code of the step (skipping ``shape-mismatch``, which
  restates an ill-formed verdict) is the labelled one (for two mistakes: the
  first two codes are the labelled ones, in any order);
- named anywhere: every labelled code is among the step's codes.

Usage: python bench/diag_accuracy.py [--seed N] [--all] [--set corpus|frozen]
  (--all lists every false claim, not only those not named first)
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from derivcheck import Options, verify_paths  # noqa: E402

MISTAKE = re.compile(r"mistake:\s*([\w+-]+)")
SETS = {"corpus": ROOT / "bench" / "corpus", "frozen": ROOT / "bench" / "diag_frozen"}


def measure(name: str, seed: int, show_all: bool) -> tuple[int, int, int]:
    """(false claims, named first, named anywhere) of one set, printing the misses."""
    paths = sorted(str(p) for p in SETS[name].glob("*.yaml"))
    report = verify_paths(paths, Options(seed=seed))
    total = first = anywhere = 0
    for f in report.files:
        for step in f.steps:
            found = MISTAKE.search(step.note)
            if not found:
                continue
            want = found.group(1).split("+")
            codes = list(step.codes)
            main_codes = [c for c in codes if c != "shape-mismatch"] or codes
            total += 1
            hit = sorted(main_codes[:len(want)]) == sorted(want)
            first += hit
            anywhere += all(w in codes for w in want)
            if show_all or not hit:
                print(f"{'ok ' if hit else 'MISS'} {name} {Path(f.path).name}:{step.id} "
                      f"[{step.verdict.value}] labelled {'+'.join(want)}, got {codes}")
                print(f"       {step.message[:300]}")
    return total, first, anywhere


def _share(n: int, total: int) -> str:
    return f"{n}/{total} ({100 * n / total:.0f}%)" if total else "-"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--all", action="store_true")
    parser.add_argument("--set", choices=sorted(SETS), action="append")
    args = parser.parse_args(argv)
    rows = []
    for name in args.set or ["corpus", "frozen"]:
        rows.append((name, *measure(name, args.seed, args.all)))
    print(f"\n| set | false claims | named first | named anywhere | (seed {args.seed})")
    print("|---|---|---|---|")
    for name, total, first, anywhere in rows:
        print(f"| {name} | {total} | {_share(first, total)} | {_share(anywhere, total)} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
