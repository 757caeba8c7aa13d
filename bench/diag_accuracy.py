"""Diagnosis accuracy on the labelled corpus (a measurement, not a test).

For every false claim of bench/corpus/*.yaml (its note says "mistake: <code>"),
compares the code derivcheck gives with the labelled one, three ways:

- first code: the first diagnosis of the step is the labelled code;
- primary code: the same, skipping `shape-mismatch` (an ill-formed step's first
  code restates the verdict; the code after it says why);
- any code: the labelled code is among the step's codes.

Usage: python bench/diag_accuracy.py [--seed N] [--all]
  (--all lists every false claim, not only those whose primary code differs)
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from derivcheck import Options, verify_paths  # noqa: E402

MISTAKE = re.compile(r"mistake:\s*([\w-]+)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--all", action="store_true")
    args = parser.parse_args(argv)
    paths = sorted(str(p) for p in (ROOT / "bench" / "corpus").glob("*.yaml"))
    report = verify_paths(paths, Options(seed=args.seed))
    total = first = primary = anywhere = 0
    for f in report.files:
        for step in f.steps:
            found = MISTAKE.search(step.note)
            if not found:
                continue
            want = found.group(1)
            codes = list(step.codes)
            main_codes = [c for c in codes if c != "shape-mismatch"] or codes
            total += 1
            first += bool(codes) and codes[0] == want
            hit = bool(main_codes) and main_codes[0] == want
            primary += hit
            anywhere += want in codes
            if args.all or not hit:
                print(f"{'ok ' if hit else 'MISS'} {Path(f.path).name}:{step.id} "
                      f"[{step.verdict.value}] labelled {want}, got {codes}")
                print(f"       {step.message[:300]}")
    print(f"false claims: {total}; first code {first}/{total}, primary code "
          f"{primary}/{total}, any code {anywhere}/{total} (seed {args.seed})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
