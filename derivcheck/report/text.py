"""The terminal view of a ``Report``: one line per step, details for what fails."""

from __future__ import annotations

from derivcheck.escape import term_lines, term_text
from derivcheck.results import Counterexample, FileResult, LinkResult, Report, StepResult, Verdict

_MARK = {
    Verdict.PROVED: "proved",
    Verdict.CHECKED: "checked",
    Verdict.REFUTED: "REFUTED",
    Verdict.ILL_FORMED: "ILL-FORMED",
    Verdict.UNDECIDED: "undecided",
}


def render(report: Report, *, check_expected: bool = False, verbose: bool = False) -> str:
    lines: list[str] = []
    for f in report.files:
        lines.extend(_file(f, check_expected, verbose))
        lines.append("")
    lines.append(summary_line(report, check_expected))
    return _printable("\n".join(lines))


def _printable(text: str) -> str:
    """Control characters from input files (terminal escapes, bidi overrides, U+2028)
    made visible; the line breaks of derivcheck's own layout kept.  Fields from a file
    (its path, title, source, step ids) are escaped on their own first (``term_text``),
    so a line break in one of them cannot forge a report line."""
    return term_lines(text)


def summary_line(report: Report, check_expected: bool = False) -> str:
    counts = report.counts()
    steps = sum(len(f.steps) for f in report.files)
    parts = [f"{counts[v.value]} {v.value}" for v in Verdict]
    if counts.get("checked_exact_at_sizes"):  # evidence at instantiated sizes, not a proof
        k = parts.index(f"{counts['checked']} checked")
        parts[k] += f" ({counts['checked_exact_at_sizes']} exact at instantiated sizes)"
    text = (f"summary: {len(report.files)} file{'s' if len(report.files) != 1 else ''}, "
            f"{steps} steps: {', '.join(parts)}; {counts['input_errors']} input error"
            f"{'s' if counts['input_errors'] != 1 else ''} (seed {report.seed})")
    if check_expected:
        bad = sum(1 for f in report.files for s in f.steps if not s.agrees_with_expectation)
        text += f"; {bad} step{'s' if bad != 1 else ''} differ from expect:"
    return text


def render_step(step: StepResult, *, check_expected: bool = False, verbose: bool = False
                ) -> str:
    """One step as in ``render``: its line, then per-link verdicts, evidence and counterexample."""
    width = len(term_text(step.id))
    return _printable("\n".join(_step(step, width, check_expected, verbose)))


def printable(text: str) -> str:
    """``text`` (e.g. an input error quoting the file) with control characters made visible."""
    return _printable(text)


def _file(f: FileResult, check_expected: bool, verbose: bool) -> list[str]:
    if f.error:
        return [f"{term_text(f.path)}: input error",
                "  " + term_lines(f.error).replace("\n", "\n  ")]
    head = f"{term_text(f.path)}: {term_text(f.title)}"
    if f.source:
        head += f"  [source: {term_text(f.source)}]"
    out = [head]
    width = max((len(term_text(s.id)) for s in f.steps), default=0)
    for s in f.steps:
        out.extend(_step(s, width, check_expected, verbose))
    for where, why in f.unread:
        lines = term_lines(why).splitlines() or [""]
        out.append(f"  {where}: not read: {lines[0]}")
        out.extend(f"      {ln}" for ln in lines[1:])
    if f.inferred and verbose:
        out.extend(f"  {term_text(x)}" for x in f.inferred)
    elif f.inferred:
        n_inferred = sum(1 for x in f.inferred if x.startswith("inferred:"))
        n_defined = len(f.inferred) - n_inferred
        out.append(f"  {n_defined} definitions read, {n_inferred} names inferred from how "
                   "they are written (--verbose lists them; 'derivcheck extract' writes the "
                   "derivation file)")
    return out


def _step(s: StepResult, width: int, check_expected: bool, verbose: bool) -> list[str]:
    flag = ""
    if check_expected and not s.agrees_with_expectation:
        flag = f"  << expected {', '.join(s.expected or ('holds (no expect:)',))}"
    first = s.links[0]
    brief = s.message if s.message else first.evidence.summary()
    if s.form == "chain":
        wrong = [link.index + 1 for link in s.links if not link.verdict.holds]
        brief = f"chain of {len(s.links)} links"
        if wrong:
            brief += f"; first link that does not hold: {wrong[0]}"
    sid = term_text(s.id)
    out = [f"  {s.line:>4}  {sid:<{width}}  {_MARK[s.verdict]:<10} {_codes(s.codes)}"
           f"{term_text(brief)}{flag}"]
    if s.form == "claim" and (first.lhs_latex or first.rhs_latex):
        out.append(f"          read as: {first.lhs}  =  {first.rhs}")
    for link in s.links:
        for note in link.reading:
            out.append(f"          LaTeX reading: {note}")
    show_links = s.form == "chain"
    for link in s.links:
        if show_links:
            expect = ""
            if check_expected and link.expected and s.matches_expected is False:
                expect = f"  (expected {link.expected})"
            out.append(f"          link {link.index + 1}: {_MARK[link.verdict]:<10} "
                       f"{_codes(link.codes)}{link.lhs}  =  {link.rhs}{expect}")
            if link.diagnoses:
                out.append(f"          {'':9}{link.message}")
        out.extend(_details(link, verbose))
    return out


def _codes(codes: tuple[str, ...]) -> str:
    return f"[{', '.join(codes)}] " if codes else ""


def _details(link: LinkResult, verbose: bool) -> list[str]:
    pad = "          "
    out = []
    if link.verdict in (Verdict.REFUTED, Verdict.ILL_FORMED, Verdict.UNDECIDED) or verbose:
        if link.verdict.holds or link.verdict == Verdict.REFUTED:
            out.append(f"{pad}evidence: {link.evidence.summary()}")
        elif link.evidence.reason and not link.diagnoses:
            out.append(f"{pad}reason: {link.evidence.reason}")
        if link.reference and not link.verdict.holds:
            out.append(f"{pad}engine's result: {link.reference}")
        if link.counterexample is not None:
            out.extend(pad + line for line in _counterexample(link.counterexample))
    return out


def counterexample_lines(c: Counterexample) -> list[str]:
    """A counterexample as lines of text (the sizes, the values, both sides)."""
    return _counterexample(c)


def _counterexample(c: Counterexample) -> list[str]:
    sizes = ", ".join(f"{k}={v}" for k, v in c.sizes.items())
    lines = [("counterexample" + (f" at sizes {sizes}" if sizes else ""))
             + ("" if c.readable else " (values rounded for display)") + ":"]
    for name, value in c.values.items():
        lines.append(f"  {name} = {_fmt(value)}")
    if c.indices:
        lines.append("  " + ", ".join(f"{k} = {v}" for k, v in c.indices.items()))
    lines.append(f"  left side  = {_fmt(c.lhs)}")
    lines.append(f"  right side = {_fmt(c.rhs)}")
    return lines


def _fmt(value: object) -> str:
    if isinstance(value, list) and value and isinstance(value[0], list):
        if all(len(row) == 1 for row in value):
            return "[" + ", ".join(str(row[0]) for row in value) + "]^T"
        return "[" + "; ".join(", ".join(str(x) for x in row) for row in value) + "]"
    return str(value)
