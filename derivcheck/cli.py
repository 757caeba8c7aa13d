"""The ``derivcheck`` command: argument parsing and exit codes, nothing else.

Exit codes: 0 every step holds (or, with ``--check-expected``, every verdict
agrees with ``expect:``); 1 a step does not hold (refuted, ill-formed or
undecided) or disagrees with ``expect:``; 2 an input could not be read or the
command line is wrong; 130 interrupted.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

EXIT_OK, EXIT_FAIL, EXIT_INPUT, EXIT_INTERRUPT = 0, 1, 2, 130


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="derivcheck",
        description="Check hand derivations: the engine computes the derivatives itself "
                    "and proves, checks or refutes every claimed step.")
    sub = parser.add_subparsers(dest="command", required=True)
    verify = sub.add_parser("verify", help="check derivation files or folders")
    verify.add_argument("paths", nargs="+", help="derivation files (.yaml) or folders")
    verify.add_argument("--format", choices=("text", "json"), default="text")
    verify.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    verify.add_argument("--check-expected", action="store_true",
                        help="compare verdicts with each step's expect: (exit 0 only if all agree)")
    verify.add_argument("--points", type=int, default=5, help="random points per size (>= 5)")
    verify.add_argument("--sizes", type=int, default=3,
                        help="settings of the dimension sizes (>= 3)")
    verify.add_argument("--time-limit", type=float, default=5.0,
                        help="seconds for each symbolic proof attempt (default 5)")
    verify.add_argument("--workers", type=int, default=2,
                        help="worker processes for files and proofs (default 2)")
    verify.add_argument("--latex", action="store_true",
                        help="check the LaTeX form (latex:) of the steps that have one")
    verify.add_argument("--no-symbolic", action="store_true",
                        help="skip symbolic proofs (verdicts are then at most 'checked')")
    verify.add_argument("-v", "--verbose", action="store_true",
                        help="show the evidence of every step")
    verify.add_argument("-o", "--output", help="write the report to this file")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    try:
        return _main(argv)
    except KeyboardInterrupt:
        print("derivcheck: interrupted", file=sys.stderr)
        return EXIT_INTERRUPT


def _main(argv: Sequence[str] | None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return EXIT_INPUT if exc.code else EXIT_OK
    if args.points < 5 or args.sizes < 3 or args.time_limit <= 0 or args.workers < 1:
        print("derivcheck: --points must be >= 5, --sizes >= 3, --time-limit > 0, "
              "--workers >= 1", file=sys.stderr)
        return EXIT_INPUT
    from derivcheck.compare import Options
    from derivcheck.verify import expand_paths, verify_paths

    missing = [p for p in args.paths if not expand_paths([p]) or not _exists(p)]
    if missing:
        for p in missing:
            print(f"derivcheck: {p}: no such file, or no .yaml files in that folder",
                  file=sys.stderr)
        return EXIT_INPUT
    options = Options(seed=args.seed, settings=args.sizes, points=args.points,
                      symbolic=not args.no_symbolic, time_limit=args.time_limit,
                      workers=args.workers, latex=args.latex)
    report = verify_paths(args.paths, options)
    if args.format == "json":
        from derivcheck.report.json_report import render
        text = render(report)
    else:
        from derivcheck.report.text import render as render_text
        text = render_text(report, check_expected=args.check_expected, verbose=args.verbose)
    if args.output:
        from derivcheck.atomic import write_text
        write_text(args.output, text + "\n")
    else:
        print(text)
    return exit_code(report, check_expected=args.check_expected)


def _exists(path: str) -> bool:
    from pathlib import Path

    return Path(path).exists()


def exit_code(report, *, check_expected: bool) -> int:  # type: ignore[no-untyped-def]
    """0, 1 or 2 for a report (see the module docstring)."""
    if any(f.error for f in report.files):
        return EXIT_INPUT
    steps = [s for f in report.files for s in f.steps]
    if check_expected:
        # a step without expect: is the author's claim: it is expected to hold
        return EXIT_OK if all(s.agrees_with_expectation for s in steps) else EXIT_FAIL
    return EXIT_OK if all(s.verdict.holds for s in steps) else EXIT_FAIL
