"""``derivcheck grade KEY SUBMISSIONS...``: the command-line side of grading.

Writes, in the output folder (``-o``, default ``grades``): ``gradebook.csv``,
``grades.json`` (everything, schema in the README), ``feedback/<student>.md``
(and ``.tex``/``.pdf`` with ``--feedback-latex``/``--pdf``), and with
``--format gradescope`` Gradescope's ``results.json`` (one student:
``results.json`` in the folder; several: ``gradescope/<student>/results.json``,
and a ``results.json`` in the folder that fails visibly: Gradescope expects one).
With ``--format gradescope`` a ``results.json`` is written even when grading
cannot run (a visible failed test, score 0).

Exit codes: 0 outputs written (whatever the scores; unreadable submissions get
0 with the reason), 2 the key, a path or an option is wrong, 3 an internal
error, 130 interrupted (``--resume`` continues).
"""

from __future__ import annotations

import argparse
import signal
import sys
import time
from pathlib import Path
from typing import Any

from derivcheck.cli import CHECK_OPTIONS_RULE, add_check_options, check_options

EXIT_OK, EXIT_INPUT, EXIT_INTERNAL, EXIT_INTERRUPT = 0, 2, 3, 130
FEEDBACK_SUFFIXES = (".md", ".tex", ".pdf")


def add_parser(sub: Any) -> None:
    p = sub.add_parser("grade", help="grade student submissions against an answer key",
                       description="Grade submissions (files, a folder of files, or a folder "
                                   "of folders) against an answer key with a rubric.")
    p.add_argument("key", help="the answer key: a derivation file with a rubric:")
    p.add_argument("submissions", nargs="*",
                   help="submission files or folders (one file, or one folder, per student)")
    p.add_argument("--check-key", action="store_true",
                   help="only check the answer key (its model answer, via expressions and "
                        "result forms): exit 0 if it can be used, 2 if not")
    p.add_argument("-o", "--output", default="grades",
                   help="folder for the gradebook, grades.json and feedback (default grades)")
    p.add_argument("--format", choices=("standard", "gradescope"), default="standard",
                   help="gradescope: also write Gradescope's results.json")
    add_check_options(p, workers_help="worker processes (default 2)")
    p.add_argument("--submission-time-limit", type=float, default=60.0,
                   help="seconds for the checks of one submission (default 60)")
    p.add_argument("--memory-limit", type=int, default=2048,
                   help="megabytes of memory for each worker process (default 2048)")
    p.add_argument("--dask", metavar="SCHEDULER_ADDRESS",
                   help="run on a Dask distributed cluster (pip install 'derivcheck[dask]')")
    p.add_argument("--resume", action="store_true",
                   help="continue an interrupted batch from the journal in the output folder")
    p.add_argument("--feedback-detail", choices=("verdict", "diagnosis", "solution"),
                   default="diagnosis",
                   help="how much the students' feedback shows: 'verdict' (points and "
                        "verdicts), 'diagnosis' (default: plus each mistake's diagnosis "
                        "and counterexample), 'solution' (plus derivcheck's own result, "
                        "i.e. the solution: use it once resubmissions are closed); "
                        "grades.json always has everything")
    p.add_argument("--feedback-latex", action="store_true",
                   help="also write feedback/<student>.tex (a LaTeX report of the steps)")
    p.add_argument("--pdf", action="store_true",
                   help="with --feedback-latex: compile each .tex to PDF (needs TeX)")
    p.add_argument("-q", "--quiet", action="store_true",
                   help="no progress bar and no summary")


class _Terminated(Exception):
    pass


def run(args: argparse.Namespace) -> int:
    started = time.monotonic()
    out = Path(args.output)
    gradescope = args.format == "gradescope"
    try:
        return _run(args, out, started)
    except KeyboardInterrupt:
        print("derivcheck: interrupted; the graded submissions are kept: run the same "
              "command with --resume to finish", file=sys.stderr)
        return EXIT_INTERRUPT
    except Exception as exc:
        reason = f"internal error: {type(exc).__name__}: {exc}"
        print(f"derivcheck: {reason} (please report it)", file=sys.stderr)
        if gradescope:
            _crash_results(out, reason, started)
        return EXIT_INTERNAL


def _crash_results(out: Path, reason: str, started: float, max_score: float = 0.0) -> None:
    import json

    from derivcheck.atomic import write_text
    from derivcheck.grade.export import gradescope_crash

    try:
        out.mkdir(parents=True, exist_ok=True)
        write_text(out / "results.json", json.dumps(
            gradescope_crash(reason, time.monotonic() - started, max_score), indent=2) + "\n")
    except OSError as exc:
        print(f"derivcheck: cannot write {out / 'results.json'}: {exc}", file=sys.stderr)


def _problem(args: argparse.Namespace, out: Path, started: float, message: str) -> int:
    from derivcheck.escape import term_lines

    print(f"derivcheck: {term_lines(message)}", file=sys.stderr)
    if args.format == "gradescope":
        _crash_results(out, message, started)
    return EXIT_INPUT


def _run(args: argparse.Namespace, out: Path, started: float) -> int:
    options = check_options(args)
    if options is None or args.submission_time_limit <= 0 or args.memory_limit < 256:
        return _problem(args, out, started, f"{CHECK_OPTIONS_RULE}, "
                        "--submission-time-limit > 0, --memory-limit >= 256")
    if out.exists() and not out.is_dir():
        return _problem(args, out, started, f"{out}: exists and is not a folder")
    from derivcheck.errors import InputError
    from derivcheck.grade.batch import BatchOptions, Progress, discover, run_batch
    from derivcheck.grade.check import prepare
    from derivcheck.grade.key import load_key

    try:
        key = load_key(args.key)
        prepared = prepare(key, options)
    except InputError as exc:
        return _problem(args, out, started, f"the answer key cannot be used:\n{exc.format()}")
    if args.check_key:
        from derivcheck.escape import term_text
        from derivcheck.grade.export import points_text

        rubric = key.rubric
        print(f"{term_text(args.key)}: the answer key can be used: {len(rubric.items)} "
              f"item{'s' if len(rubric.items) != 1 else ''}, "
              f"{points_text(rubric.max_points)} points, {len(key.derivation.steps)} "
              f"model-answer step{'s' if len(key.derivation.steps) != 1 else ''} hold "
              f"(seed {options.seed})")
        return EXIT_OK
    if not args.submissions:
        return _problem(args, out, started, "no submissions given (or use --check-key to "
                        "check the key alone)")
    try:
        subs, skipped = discover(args.submissions)
    except InputError as exc:
        return _problem(args, out, started, exc.format())
    if not subs:
        return _problem(args, out, started, "no submissions found in "
                        + ", ".join(args.submissions))
    out.mkdir(parents=True, exist_ok=True)
    progress = Progress(enabled=False if args.quiet else None)
    batch = BatchOptions(workers=args.workers, time_limit=args.submission_time_limit,
                         memory_mb=args.memory_limit, resume=args.resume,
                         journal_dir=str(out), progress=progress,
                         feedback_detail=args.feedback_detail,
                         feedback_dir=str(out / "feedback"))
    (out / "feedback").mkdir(exist_ok=True)
    from derivcheck.atomic import remove_partial

    # workers write the feedback files as they go: one killed mid-write (a batch
    # interrupted, kill -9) leaves its temporary file, removed before and after a run
    remove_partial(out / "feedback", FEEDBACK_SUFFIXES)
    previous = signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        timings: dict[str, float] = {}
        stats: dict[str, int] = {}
        graded = run_batch(prepared, subs, batch, "dask" if args.dask else "local",
                           args.dask, timings, stats)
    except InputError as exc:
        return _problem(args, out, started, exc.format())
    except ImportError as exc:
        return _problem(args, out, started, f"--dask needs Dask: pip install "
                        f"'derivcheck[dask]' ({exc})")
    except _Terminated:
        raise KeyboardInterrupt from None
    finally:
        signal.signal(signal.SIGTERM, previous)
        progress.close()
    from derivcheck.grade.export import summary_of

    class_summary = summary_of([r.tally for r in graded], prepared)
    _write_outputs(args, out, prepared, graded, class_summary, time.monotonic() - started,
                   timings)
    if not args.quiet:
        from derivcheck.escape import term_text
        from derivcheck.grade.export import summary_text

        for line in skipped:
            print(f"derivcheck: skipped {term_text(line)}", file=sys.stderr)
        print(summary_text(class_summary), file=sys.stderr)
        if stats.get("decisions") or stats.get("cache_hits"):
            print(f"equations decided: {stats['equations']} distinct ({stats['decisions']} "
                  f"decisions in the workers, {stats['cache_hits']} answers from their "
                  "caches)", file=sys.stderr)
        written = [str(out / "gradebook.csv"), str(out / "grades.json"), f"{out / 'feedback'}/"]
        if args.format == "gradescope":
            written.append(str(out / "results.json"))
            if len(graded) > 1:
                written.append(f"{out / 'gradescope'}/<student>/results.json")
        print("written: " + ", ".join(written), file=sys.stderr)
    return EXIT_OK


def _on_sigterm(signum: int, frame: object) -> None:
    raise _Terminated()


def _write_outputs(args: argparse.Namespace, out: Path, prepared: Any, graded: list[Any],
                   class_summary: dict, seconds: float,
                   timings: dict[str, float] | None = None) -> None:
    """Every output file, from each student's ``Rendered`` outputs (made in the workers)."""
    import json

    from derivcheck.atomic import remove_partial, write_text
    from derivcheck.grade.export import (
        feedback_markdown,
        gradebook_csv_of,
        grades_json_of,
        gradescope_crash,
        gradescope_results,
    )

    feedback = out / "feedback"
    feedback.mkdir(exist_ok=True)
    for r in graded:
        if r.feedback_written:  # by the worker that graded it
            continue
        text = r.feedback if r.feedback is not None else feedback_markdown(
            r.data(), prepared, args.feedback_detail)
        write_text(feedback / f"{r.student}.md", text)
    if args.feedback_latex or args.format == "gradescope":
        grades = [r.data() for r in graded]
    if args.feedback_latex:
        _latex_feedback(feedback, prepared, grades, args.pdf, args.feedback_detail)
    if args.format == "gradescope":
        timings = timings or {}
        if len(grades) == 1:
            write_text(out / "results.json", json.dumps(
                gradescope_results(grades[0], prepared, seconds, args.feedback_detail),
                indent=2) + "\n")
        else:
            for g in grades:
                folder = out / "gradescope" / g["student"]
                folder.mkdir(parents=True, exist_ok=True)
                write_text(folder / "results.json", json.dumps(
                    gradescope_results(g, prepared, timings.get(g["student"], 0.0),
                                       args.feedback_detail), indent=2) + "\n")
            # Gradescope grades one submission per run and reads DIR/results.json:
            # several files in one upload must not leave it missing
            names = ", ".join(g["student"] for g in grades[:10])
            write_text(out / "results.json", json.dumps(gradescope_crash(
                f"{len(grades)} submissions were found ({names}"
                f"{', ...' if len(grades) > 10 else ''}), one was expected: upload a "
                "single .yaml file. Each one's results are in gradescope/<name>/results.json.",
                seconds, prepared.key.rubric.max_points), indent=2) + "\n")
    write_text(out / "grades.json", grades_json_of([r.grade for r in graded], class_summary,
                                                   prepared))
    write_text(out / "gradebook.csv", gradebook_csv_of([r.row for r in graded], prepared))
    remove_partial(feedback, FEEDBACK_SUFFIXES)


def _latex_feedback(folder: Path, prepared: Any, grades: list[dict], pdf: bool,
                    detail: str) -> None:
    from derivcheck.atomic import write_bytes, write_text
    from derivcheck.grade.texfeedback import feedback_tex

    for g in grades:
        tex = feedback_tex(g, prepared, detail)
        write_text(folder / f"{g['student']}.tex", tex)
        if pdf:
            from derivcheck.report.pdf import TexError, compile_pdf

            try:
                write_bytes(folder / f"{g['student']}.pdf", compile_pdf(tex))
            except TexError as exc:
                from derivcheck.escape import term_lines, term_text

                print(f"derivcheck: no PDF for {term_text(g['student'])}: "
                      f"{term_lines(exc.message)}", file=sys.stderr)
