"""Documents read raw (issue 15): how much of each source document derivcheck reads.

For each of the five source documents in ``../shared/seeds/`` (OCR'd notes, read
as Markdown exactly as they are, with no declarations block), and for any other
document given on the command line:

- found: display equations (the equations and the unread pieces of math that
  ``derivcheck.notes`` cut from the display blocks);
- read: those that became a definition or a step; decided: steps proved,
  checked or refuted (ill-formed and undecided steps are read, not decided);
- counterparts: links of the hand encoding in ``derivations/`` (its ``latex:``
  forms, matched to the document's links after normalising spacing, ``\\left``/
  ``\\right`` and braces) that the document's reading decides, and whether the
  verdicts agree with its ``expect:``; also on the document with derivcheck's
  proposed definition repairs made (as a reader taking them would);
- genuine errors: links the hand encoding expects refuted, and how many of them
  the document reading refutes.

A measurement, not a test: it asserts nothing.  The corrupted-corpus half of
the issue's benchmark is ``bench/notes_corrupt.py``.

Usage: python bench/notes.py [--markdown] [--seed N] [DOCUMENT ...]
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from derivcheck import Options  # noqa: E402
from derivcheck.load import load_file  # noqa: E402
from derivcheck.notes.build import read_document  # noqa: E402
from derivcheck.results import Verdict, matches  # noqa: E402
from derivcheck.verify import verify_document  # noqa: E402

SEEDS = ROOT.parent / "shared" / "seeds"
DERIVATIONS = ROOT / "derivations"


@dataclass
class Row:
    name: str
    found: int = 0
    read: int = 0
    definitions: int = 0
    steps: int = 0
    decided: int = 0
    counterparts: int = 0
    agree: int = 0
    errors: int = 0
    errors_found: int = 0
    seconds: float = 0.0
    repaired: int = 0  # read once the definition repairs derivcheck proposes are made
    # the same counterpart comparison on the document with those repairs made
    repaired_counterparts: int = 0
    repaired_agree: int = 0
    repaired_errors_found: int = 0


def normal(latex: str) -> str:
    t = re.sub(r"\\(left|right|big|Big|bigg|Bigg)(?![A-Za-z])", "", latex)
    t = re.sub(r"\\(,|;|!|quad|qquad|cdot|displaystyle)(?![A-Za-z])", "", t)
    t = re.sub(r"\\math(bf|rm)\{([^{}]*)\}", r"\2", t)
    t = re.sub(r"\{(\w)\}", r"\1", t)
    return re.sub(r"\s+", "", t)


def measure(path: Path, options: Options) -> Row:
    started = time.perf_counter()
    row = Row(path.name)
    found = read_document(path.read_text(), str(path), "markdown")
    equations = [e for e in found.entries if e.line]
    # an equation is a place (line, column): a chain partly read has an unread entry and
    # step entries for its readable runs, at one place; it counts once, as read (partly)
    places = {(e.line, e.col) for e in equations}
    row.found = len(places)
    row.read = len({(e.line, e.col) for e in equations if e.kind in ("definition", "step")})
    row.definitions = sum(1 for e in equations if e.kind == "definition")
    row.repaired, repaired = _read_after_repairs(path.read_text(), str(path), found, row.read)
    links, results = _links(found, options)
    if results is not None:
        row.steps = len(results)
        row.decided = sum(1 for r in results
                          if r.verdict in (Verdict.PROVED, Verdict.CHECKED, Verdict.REFUTED))
    hand = _hand_encoding(path)
    if hand is not None:
        row.errors, row.counterparts, row.agree, row.errors_found = _compare(hand, links)
        if repaired is not found:
            again, _ = _links(repaired, options)
            _, row.repaired_counterparts, row.repaired_agree, row.repaired_errors_found = \
                _compare(hand, again)
        else:
            row.repaired_counterparts, row.repaired_agree, row.repaired_errors_found = \
                row.counterparts, row.agree, row.errors_found
    row.seconds = time.perf_counter() - started
    return row


def _links(found, options: Options):  # type: ignore[no-untyped-def]
    """The document's links by their normalised LaTeX (first verdict of each), and the
    step results (None: nothing read)."""
    links: dict[tuple[str, str], Verdict] = {}
    if found.derivation is None:
        return links, None
    results = verify_document(found, options).steps  # as `derivcheck verify notes.md`
    for step, r in zip(found.derivation.steps, results):
        if step.latex is None:
            continue
        for k, link in enumerate(r.links):
            key = (normal(step.latex[k].latex), normal(step.latex[k + 1].latex))
            links.setdefault(key, link.verdict)
    return links, results


def _compare(hand, links: dict[tuple[str, str], Verdict]  # type: ignore[no-untyped-def]
             ) -> tuple[int, int, int, int]:
    """(genuine errors of the hand encoding, its links with a counterpart in ``links``,
    those whose verdicts agree with its ``expect:``, genuine errors refuted there)."""
    errors = counterparts = agree = found = 0
    for step in hand.steps:
        if step.latex is None or step.expect is None:
            continue
        for k, expect in enumerate(step.expect):
            key = (normal(step.latex[k].latex), normal(step.latex[k + 1].latex))
            wrong = expect == "refuted"
            errors += wrong
            if key in links and links[key] != Verdict.UNDECIDED:  # a verdict to compare
                counterparts += 1
                agree += matches(expect, links[key])
                found += wrong and links[key] == Verdict.REFUTED
    return errors, counterparts, agree, found


_PROPOSAL = re.compile(r"reading `([^`]*)` for `([^`]*)` makes the definition")


def _read_after_repairs(text: str, path: str, found, read: int):  # type: ignore[no-untyped-def]
    """Equations read once every proposed definition repair is made, as a reader who
    takes derivcheck's proposals would (each is applied on its line, first occurrence;
    repeated while new proposals appear, at most 5 rounds), and that reading."""
    for _ in range(5):
        lines = text.split("\n")
        changed = False
        for e in found.entries:
            m = _PROPOSAL.search(e.reason) if e.kind == "unread" and e.line else None
            if m and m.group(2) in lines[e.line - 1]:
                lines[e.line - 1] = lines[e.line - 1].replace(m.group(2), m.group(1), 1)
                changed = True
        if not changed:
            break
        text = "\n".join(lines)
        found = read_document(text, path, "markdown")
        read = len({(e.line, e.col) for e in found.entries
                    if e.line and e.kind in ("definition", "step")})
    return read, found


def _hand_encoding(path: Path):  # type: ignore[no-untyped-def]
    for f in sorted(DERIVATIONS.glob("*.yaml")):
        if path.stem in f.read_text():
            try:
                return load_file(f)
            except Exception:
                return None
    return None


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("documents", nargs="*", help="documents (default: the five seeds)")
    ap.add_argument("--markdown", action="store_true")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    paths = [Path(p) for p in args.documents] or sorted(SEEDS.glob("*.txt"))
    options = Options(seed=args.seed)
    rows = [measure(p, options) for p in paths]
    total = Row("all")
    for r in rows:
        for field in ("found", "read", "definitions", "steps", "decided", "counterparts",
                      "agree", "errors", "errors_found", "repaired", "repaired_counterparts",
                      "repaired_agree", "repaired_errors_found", "seconds"):
            setattr(total, field, getattr(total, field) + getattr(r, field))
    head = ("| document | equations found | read (definitions) | steps | decided | "
            "counterparts agreeing | genuine errors found | read after the proposed "
            "definition repairs | there: counterparts agreeing | there: genuine errors "
            "found | seconds |")
    print(head)
    print("|" + "---|" * 11)
    for r in [*rows, total]:
        pct = f" ({100 * (r.read) / r.found:.0f}%)" if r.found else ""
        print(f"| {r.name} | {r.found} | {r.read}{pct} ({r.definitions}) | {r.steps} | "
              f"{r.decided} | {r.agree} of {r.counterparts} | {r.errors_found} of {r.errors} | "
              f"{r.repaired} | {r.repaired_agree} of {r.repaired_counterparts} | "
              f"{r.repaired_errors_found} of {r.errors} | {r.seconds:.1f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
