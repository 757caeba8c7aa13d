"""Grading speed: 1,000 generated submissions of the source document 004 derivation.

Generates the class with bench/grade_class.py (correct ones and realistic
mistakes), then runs `derivcheck grade examples/mlp004/key.yaml CLASS` as a whole
process (start-up, key preparation, proofs included) with 1 and 2 workers, and
reports submissions per second.  Target (issue 4): 1,000 in under 60 s on a
2-core machine.  A benchmark, not a test: it asserts nothing.

Usage: python bench/grade_bench.py [--n 1000] [--workers 1 2] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run(n: int, workers: list[int]) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        cls = Path(tmp) / "class"
        subprocess.run([sys.executable, str(ROOT / "bench" / "grade_class.py"), str(cls),
                        "--n", str(n)], check=True)
        rows = []
        for w in workers:
            out = Path(tmp) / f"out{w}"
            start = time.perf_counter()
            proc = subprocess.run([sys.executable, "-m", "derivcheck", "grade",
                                   str(ROOT / "examples" / "mlp004" / "key.yaml"), str(cls),
                                   "-o", str(out), "-q", "--workers", str(w)],
                                  cwd=ROOT, capture_output=True, text=True)
            seconds = time.perf_counter() - start
            if proc.returncode != 0:
                raise SystemExit(f"derivcheck grade failed: {proc.stderr}")
            doc = json.loads((out / "grades.json").read_text())
            s = doc["summary"]
            rows.append({"workers": w, "submissions": s["submissions"],
                         "seconds": round(seconds, 2),
                         "per_second": round(s["submissions"] / seconds, 1),
                         "average": s["average"],
                         "common_mistakes": [m["code"] for m in s["common_mistakes"][:4]]})
        return {"machine": f"{platform.machine()}, {os.cpu_count()} cores, "
                           f"Python {platform.python_version()}",
                "date": time.strftime("%Y-%m-%d"), "runs": rows}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()
    result = run(args.n, args.workers)
    print(f"grading {args.n} generated submissions of 004 ({result['machine']}):")
    for r in result["runs"]:
        print(f"  {r['workers']} worker{'s' if r['workers'] > 1 else ''}: "
              f"{r['seconds']:.1f} s, {r['per_second']:.1f} submissions/s "
              f"(average score {r['average']}; most common: {', '.join(r['common_mistakes'])})")
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
