"""The ``derivcheck`` command: argument parsing and exit codes, nothing else.

Exit codes of ``verify``: 0 every step holds (or, with ``--check-expected``,
every verdict agrees with ``expect:``); 1 a step does not hold (refuted,
ill-formed or undecided) or disagrees with ``expect:``; 2 an input could not be
read or the command line is wrong; 3 an internal error of derivcheck (reported
as such, never a bare traceback); 130 interrupted.  An equation of a Markdown or
LaTeX document that cannot be read is listed and gives 1, not 2: the rest of the
document was checked.  ``report`` exits 0 when the
report is written (whatever the verdicts), 2 for an input, output or TeX problem.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from derivcheck.escape import term_lines, term_text

if TYPE_CHECKING:
    from derivcheck.decide import Options

EXIT_OK, EXIT_FAIL, EXIT_INPUT, EXIT_INTERNAL, EXIT_INTERRUPT = 0, 1, 2, 3, 130


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="derivcheck",
        description="Check hand derivations: the engine computes the derivatives itself "
                    "and proves, checks or refutes every claimed step.")
    from derivcheck import __version__

    parser.add_argument("--version", action="version", version=f"derivcheck {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    verify = sub.add_parser("verify", help="check derivation files or folders")
    verify.add_argument("paths", nargs="+", help="derivation files (.yaml) or folders, or "
                        "Markdown/LaTeX documents (.md, .tex; .txt with display math)")
    verify.add_argument("--format", choices=("text", "json"), default="text")
    verify.add_argument("--json", dest="format", action="store_const", const="json",
                        help="the same as --format json")
    verify.add_argument("--check-expected", action="store_true",
                        help="compare verdicts with each step's expect: (exit 0 only if all agree)")
    add_check_options(verify)
    verify.add_argument("--second-reader", action="store_true",
                        help="also read LaTeX with latex2sympy2 and note where it reads "
                             "differently (never changes a verdict; slower)")
    verify.add_argument("-v", "--verbose", action="store_true",
                        help="show the evidence of every step")
    verify.add_argument("-o", "--output", help="write the report to this file")
    verify.add_argument("--no-repairs", action="store_true",
                        help="for a Markdown/LaTeX document: do not look for transcription "
                             "errors (one-edit repairs) in the links that do not hold")
    verify.add_argument("--annotate", metavar="OUT",
                        help="for one Markdown or LaTeX document: write a copy of it with a "
                             "mark beside each equation and notes on those that do not hold")
    report = sub.add_parser("report", help="write a LaTeX (and PDF) report of the verdicts")
    report.add_argument("paths", nargs="+", help="derivation files (.yaml) or folders")
    report.add_argument("-o", "--output", default="report.tex",
                        help="the .tex file to write (default report.tex); a name ending "
                             "in .pdf writes only the PDF")
    report.add_argument("--pdf", action="store_true",
                        help="also compile the PDF next to the .tex (needs latexmk or pdflatex)")
    report.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    report.add_argument("--no-symbolic", action="store_true",
                        help="skip symbolic proofs (verdicts are then at most 'checked')")
    report.add_argument("--latex", action="store_true",
                        help="check the LaTeX form (latex:) of the steps that have one")
    report.add_argument("--workers", type=int, default=2,
                        help="worker processes for files and proofs (default 2)")
    report.add_argument("--step-time-limit", type=float, default=30.0,
                        help="seconds for each in-process stage (numeric check, diagnosis, "
                             "display) of each equation; past it: undecided, time-limit "
                             "(default 30)")
    from derivcheck.grade.cli import add_parser as add_grade

    add_grade(sub)
    from derivcheck.schema.cli import add_parser as add_schema

    add_schema(sub)
    from derivcheck.notes.cli import add_parser as add_extract

    add_extract(sub)
    return parser


def add_check_options(p: argparse.ArgumentParser,
                      workers_help: str = "worker processes for files and proofs (default 2)"
                      ) -> None:
    """How hard to check: the options ``verify`` and ``grade`` share (see ``check_options``)."""
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--points", type=int, default=5, help="random points per size (>= 5)")
    p.add_argument("--sizes", type=int, default=3, help="settings of the dimension sizes (>= 3)")
    p.add_argument("--time-limit", type=float, default=5.0,
                   help="seconds for each symbolic proof attempt (default 5)")
    p.add_argument("--step-time-limit", type=float, default=30.0,
                   help="seconds for each in-process stage (numeric check, diagnosis, "
                        "display) of each equation; past it: undecided, time-limit "
                        "(default 30)")
    p.add_argument("--workers", type=int, default=2, help=workers_help)
    p.add_argument("--latex", action="store_true",
                   help="check the LaTeX form (latex:) of the steps that have one")
    p.add_argument("--no-symbolic", action="store_true",
                   help="skip symbolic proofs (verdicts are then at most 'checked')")


CHECK_OPTIONS_RULE = ("--points must be >= 5, --sizes >= 3, --time-limit > 0, "
                      "--step-time-limit > 0, --workers >= 1")


def check_options(args: argparse.Namespace) -> Options | None:
    """The ``Options`` of ``add_check_options``'s arguments, or None if one is out of range."""
    if args.points < 5 or args.sizes < 3 or args.time_limit <= 0 or args.workers < 1 \
            or args.step_time_limit <= 0:
        return None
    from derivcheck.decide import Options

    return Options(seed=args.seed, settings=args.sizes, points=args.points,
                   symbolic=not args.no_symbolic, time_limit=args.time_limit,
                   step_time_limit=args.step_time_limit, workers=args.workers, latex=args.latex,
                   second_reader=getattr(args, "second_reader", False),
                   repairs=not getattr(args, "no_repairs", False))


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    try:
        return _main(argv)
    except KeyboardInterrupt:
        print("derivcheck: interrupted", file=sys.stderr)
        return EXIT_INTERRUPT
    except BrokenPipeError:  # `derivcheck verify ... | head`: the reader left, not a bug
        with contextlib.suppress(OSError, ValueError):  # no second error at exit's flush
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_INTERRUPT
    except Exception as exc:  # a bug in derivcheck: say so, never a bare traceback
        print(f"derivcheck: internal error: {type(exc).__name__}: {exc} (please report it)",
              file=sys.stderr)
        return EXIT_INTERNAL


def _main(argv: Sequence[str] | None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return EXIT_INPUT if exc.code else EXIT_OK
    if args.command == "report":
        return _report(args)
    if args.command == "schema":
        from derivcheck.schema.cli import run as schema

        return schema(args)
    if args.command == "grade":
        from derivcheck.grade.cli import run as grade

        return grade(args)
    if args.command == "extract":
        from derivcheck.notes.cli import run as extract

        return extract(args)
    options = check_options(args)
    if options is None:
        print(f"derivcheck: {CHECK_OPTIONS_RULE}", file=sys.stderr)
        return EXIT_INPUT
    from derivcheck.notes import is_document
    from derivcheck.verify import expand_paths, verify_paths

    missing = [p for p in args.paths if not expand_paths([p]) or not _exists(p)]
    if missing:
        for p in missing:
            print(f"derivcheck: {term_text(p)}: no such file, or no .yaml files in that folder",
                  file=sys.stderr)
        return EXIT_INPUT
    if args.annotate and (len(args.paths) != 1 or not is_document(args.paths[0])):
        print("derivcheck: --annotate takes one Markdown (.md) or LaTeX (.tex) document",
              file=sys.stderr)
        return EXIT_INPUT
    report = verify_paths(args.paths, options)
    if args.annotate and not report.files[0].error:
        from derivcheck.atomic import write_text
        from derivcheck.load import read_text
        from derivcheck.notes.document import kind_of
        from derivcheck.report.annotate import annotate

        doc = args.paths[0]
        marked = annotate(read_text(doc), report.files[0], kind_of(doc) or "markdown")
        write_text(args.annotate, marked if marked.endswith("\n") else marked + "\n")
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


def _report(args: argparse.Namespace) -> int:
    """``derivcheck report``: 0 written; 2 an input, output or TeX problem (one line each)."""
    from pathlib import Path

    from derivcheck.decide import Options
    from derivcheck.verify import expand_paths, verify_paths

    if args.workers < 1:
        print("derivcheck: --workers must be >= 1", file=sys.stderr)
        return EXIT_INPUT
    missing = [p for p in args.paths if not expand_paths([p]) or not _exists(p)]
    for p in missing:
        print(f"derivcheck: {term_text(p)}: no such file, or no .yaml files in that folder",
              file=sys.stderr)
    if missing:
        return EXIT_INPUT
    output = Path(args.output)
    pdf_only = output.suffix.lower() == ".pdf"
    tex_path = output.with_suffix(".tex") if pdf_only else output
    if not output.parent.is_dir():
        print(f"derivcheck: {output.parent}: no such folder for the output", file=sys.stderr)
        return EXIT_INPUT
    if args.step_time_limit <= 0 or args.workers < 1:
        print("derivcheck: --step-time-limit must be > 0, --workers >= 1", file=sys.stderr)
        return EXIT_INPUT
    options = Options(seed=args.seed, symbolic=not args.no_symbolic, workers=args.workers,
                      latex=args.latex, step_time_limit=args.step_time_limit)
    report = verify_paths(args.paths, options)

    from derivcheck.atomic import write_bytes, write_text
    from derivcheck.report.latex import render

    notes = [text for flag, text in ((args.no_symbolic, "symbolic proofs off"),
                                     (args.latex, "steps checked from their LaTeX form"))
             if flag]
    tex = render(report, subtitle="; ".join(notes))
    try:
        if not pdf_only:
            write_text(tex_path, tex)
        if pdf_only or args.pdf:
            from derivcheck.report.pdf import TexError, compile_pdf

            try:
                pdf = compile_pdf(tex)
            except TexError as exc:
                print(f"derivcheck: no PDF written: {term_lines(exc.message)}",
                      file=sys.stderr)
                if exc.log_excerpt:
                    print(term_lines(exc.log_excerpt), file=sys.stderr)
                return EXIT_INPUT
            write_bytes(tex_path.with_suffix(".pdf"), pdf)
    except OSError as exc:
        print(f"derivcheck: cannot write {term_text(exc.filename or output)}: "
              f"{exc.strerror or exc}",
              file=sys.stderr)
        return EXIT_INPUT
    errors = [f for f in report.files if f.error]
    if errors:
        print(f"derivcheck: {len(errors)} file{'s' if len(errors) != 1 else ''} could not be "
              f"read (shown in the report): {', '.join(term_text(f.path) for f in errors)}",
              file=sys.stderr)
        return EXIT_INPUT
    return EXIT_OK


def _exists(path: str) -> bool:
    from pathlib import Path

    return Path(path).exists()


def exit_code(report, *, check_expected: bool) -> int:  # type: ignore[no-untyped-def]
    """0, 1 or 2 for a report (see the module docstring)."""
    if any(f.error for f in report.files):
        return EXIT_INPUT
    if any(f.unread for f in report.files):  # a document's equation not read: not all checked
        return EXIT_FAIL
    steps = [s for f in report.files for s in f.steps]
    if check_expected:
        # a step without expect: is the author's claim: it is expected to hold
        return EXIT_OK if all(s.agrees_with_expectation for s in steps) else EXIT_FAIL
    return EXIT_OK if all(s.verdict.holds for s in steps) else EXIT_FAIL
