"""Grading speed: a generated class of the source document 004 derivation.

Generates the class with bench/grade_class.py (correct ones and realistic
mistakes; ``--varied``: every file distinct, each student's own names, ids and
equivalent forms), then runs `derivcheck grade examples/mlp004/key.yaml CLASS` as
a whole process (start-up, key preparation, proofs included) with each worker
count asked for, and with ``--dask`` on a 2-worker LocalCluster, and reports
seconds, submissions per second, the distinct files, the equations decided (and
how many decisions the workers made, and answered from their caches), the load
average, and whether every run wrote the same outputs (grades.json,
gradebook.csv, every feedback file, byte for byte).  Targets (issue 12): 10,000
submissions of at least 2,000 distinct files in under 60 s on a 2-core machine,
2 workers at least 1.6 times as fast as 1, Dask no slower than 2 workers.  A
benchmark, not a test: it asserts nothing.

Usage: python bench/grade_bench.py [--n 1000] [--workers 1 2] [--varied] [--dask]
       [--json FILE]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# the Dask cluster's processes import derivcheck: this checkout's, not an installed one
sys.path.insert(0, str(ROOT))
KEY = ROOT / "examples" / "mlp004" / "key.yaml"
STATS = re.compile(r"equations decided: (\d+) distinct \((\d+) decisions in the workers, "
                   r"(\d+) answers from their caches\)")


def _outputs_digest(out: Path) -> str:
    h = hashlib.sha256()
    for name in ("grades.json", "gradebook.csv"):
        h.update((out / name).read_bytes())
    for p in sorted((out / "feedback").iterdir()):
        h.update(p.name.encode() + b"\0" + p.read_bytes())
    return h.hexdigest()


def _grade(cls: Path, out: Path, extra: list[str]) -> dict:
    load = os.getloadavg()[0]
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "derivcheck", "grade", str(KEY), str(cls),
                           "-o", str(out), *extra], cwd=ROOT, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"derivcheck grade failed: {proc.stderr}")
    doc = json.loads((out / "grades.json").read_text())
    s = doc["summary"]
    m = STATS.search(proc.stderr)
    return {"submissions": s["submissions"], "seconds": round(seconds, 2),
            "per_second": round(s["submissions"] / seconds, 1), "average": s["average"],
            "equations": int(m.group(1)) if m else None,
            "decisions": int(m.group(2)) if m else None,
            "cache_hits": int(m.group(3)) if m else None,
            "load_before": round(load, 2), "load_after": round(os.getloadavg()[0], 2),
            "outputs": _outputs_digest(out)}


def _dask_run(cls: Path, out: Path) -> dict:
    import dask
    from dask.distributed import LocalCluster

    with dask.config.set({"distributed.worker.daemon": False}), \
            LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                         dashboard_address=None) as cluster:
        return _grade(cls, out, ["--dask", cluster.scheduler_address])


def run(n: int, workers: list[int], varied: bool, dask: bool) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        cls = Path(tmp) / "class"
        subprocess.run([sys.executable, str(ROOT / "bench" / "grade_class.py"), str(cls),
                        "--n", str(n), *(["--varied"] if varied else [])], check=True)
        distinct = len({hashlib.sha256(p.read_bytes()).hexdigest() for p in cls.iterdir()})
        rows = []
        for w in workers:
            row = _grade(cls, Path(tmp) / f"out{w}", ["--workers", str(w)])
            rows.append({"runner": f"--workers {w}", **row})
        if dask:
            rows.append({"runner": "--dask (LocalCluster, 2 workers)",
                         **_dask_run(cls, Path(tmp) / "outdask")})
        same = len({r.pop("outputs") for r in rows}) == 1
        return {"machine": f"{platform.machine()}, {os.cpu_count()} cores, "
                           f"Python {platform.python_version()}",
                "date": time.strftime("%Y-%m-%d %H:%M"), "submissions": n,
                "distinct_files": distinct, "varied": varied, "same_outputs": same,
                "runs": rows}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--varied", action="store_true",
                        help="a class of distinct files (bench/grade_class.py --varied)")
    parser.add_argument("--dask", action="store_true",
                        help="also on a 2-worker Dask LocalCluster (needs distributed)")
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()
    result = run(args.n, args.workers, args.varied, args.dask)
    print(f"grading {args.n} generated submissions of 004, {result['distinct_files']} "
          f"distinct files ({result['machine']}); same outputs in every run: "
          f"{'yes' if result['same_outputs'] else 'NO'}")
    for r in result["runs"]:
        print(f"  {r['runner']}: {r['seconds']:.1f} s, {r['per_second']:.1f} submissions/s, "
              f"{r['equations']} equations decided ({r['decisions']} decisions, "
              f"{r['cache_hits']} cache answers), load average {r['load_before']} -> "
              f"{r['load_after']} (average score {r['average']})")
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
