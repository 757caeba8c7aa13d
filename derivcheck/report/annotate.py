"""A copy of a document with a mark beside each equation (``verify --annotate``).

Marks: ✓ proved, ≈ checked, ✗ refuted, ⊘ ill-formed, ? undecided or not read,
≔ a definition.  In Markdown each mark goes at the end of the line that closes
the equation's block, with a footnote (``[^dc-N]``) for every equation that
does not hold or was not read: the diagnosis, the counterexample, the engine's
result, or the reason it was not read.  In LaTeX each mark is a comment at the
end of the equation's own line (``% derivcheck: ✓``, valid inside ``align``
rows too) and the notes are comment lines at the end, so the document still
compiles as before.  The document's own text is never changed.
"""

from __future__ import annotations

import re

from derivcheck.notes.document import Document, scan
from derivcheck.report.text import counterexample_lines
from derivcheck.results import FileResult, StepResult, Verdict

MARKS = {Verdict.PROVED: "✓", Verdict.CHECKED: "≈", Verdict.REFUTED: "✗",
         Verdict.ILL_FORMED: "⊘", Verdict.UNDECIDED: "?"}
UNREAD_MARK = "?"


def annotate(text: str, result: FileResult, kind: str) -> str:
    """``text`` (the document ``result`` came from) with its marks and notes."""
    doc = scan(text, result.path, kind)
    spans = _block_lines(doc)
    marks: dict[int, list[str]] = {}  # line closing a block -> marks
    notes: list[tuple[str, list[str]]] = []
    unread = [(int(m.group(1)), why) for where, why in result.unread
              if (m := re.fullmatch(r"line (\d+)", where))]
    # Markdown: after the block (text inside $$ would be math); LaTeX: a comment at the end
    # of the equation's own line, which is valid anywhere, inside align rows too
    def place(line: int) -> int:
        return _closing(spans, line) if kind == "markdown" else line

    for step in result.steps:
        close = place(step.line)
        label = f"dc-{step.line}" + ("" if step.id == f"line-{step.line}" else
                                     f"-{step.id.rsplit('-', 1)[-1]}")
        mark = MARKS[step.verdict]
        if not step.verdict.holds:
            notes.append((label, _step_note(step)))
            mark += f"[^{label}]" if kind == "markdown" else f" ({label})"
        marks.setdefault(close, []).append(mark)
    for k, (at, why) in enumerate(unread):
        close = place(at)
        label = f"dc-{at}-unread{k + 1}"
        notes.append((label, ["not read: " + why.splitlines()[0]] + why.splitlines()[1:]))
        marks.setdefault(close, []).append(
            UNREAD_MARK + (f"[^{label}]" if kind == "markdown" else f" ({label})"))
    for x in result.inferred:
        m = re.fullmatch(r"defined: .* \(line (\d+)\)", x)
        if m:
            marks.setdefault(place(int(m.group(1))), []).append("≔")
    lines = doc.text.split("\n")
    out = []
    for number, line in enumerate(lines, start=1):
        if number in marks:
            if kind == "markdown":
                out.append(line + " " + " ".join(marks[number]))
            else:
                out.append(line + "  % derivcheck: " + " ".join(marks[number]))
        else:
            out.append(line)
    if notes:
        out.extend(_notes(notes, kind))
    return "\n".join(out)


def _block_lines(doc: Document) -> list[tuple[int, int]]:
    """(first line, closing line) of every display block."""
    spans = []
    for b in doc.blocks:
        first = doc.position(b.offset)[0]
        last = doc.position(b.offset + len(b.text))[0]
        spans.append((first, last))
    return spans


def _closing(spans: list[tuple[int, int]], line: int) -> int:
    for first, last in spans:
        if first <= line <= last:
            return last
    return line


def _step_note(step: StepResult) -> list[str]:
    out = [f"line {step.line}: {step.verdict.value.replace('_', '-')}"
           + (f" [{', '.join(step.codes)}]" if step.codes else "")]
    for link in step.links:
        if link.verdict.holds:
            continue
        where = f"link {link.index + 1}: " if step.form == "chain" else ""
        out.append(f"{where}read as `{link.lhs}  =  {link.rhs}`")
        if link.diagnoses:
            out.append(link.message)
        elif link.evidence.reason:
            out.append(link.evidence.reason)
        if link.reference:
            out.append(f"the engine's result: `{link.reference}`")
        if link.counterexample is not None:
            out.extend(counterexample_lines(link.counterexample))
        break  # the first link that does not hold explains the mark
    return out


def _notes(notes: list[tuple[str, list[str]]], kind: str) -> list[str]:
    if kind == "markdown":
        out = ["", "---", "", "Checked by derivcheck: ✓ proved, ≈ checked at random points, "
               "✗ refuted, ⊘ ill-formed, ? undecided or not read.", ""]
        for label, lines in notes:
            body = "<br>".join(_md(x) for x in lines)
            out.append(f"[^{label}]: {body}")
        return out
    out = ["", "% derivcheck notes"]
    for label, lines in notes:
        out.append(f"% ({label}) " + lines[0])
        out.extend(f"%   {x}" for x in lines[1:])
    return out


def _md(text: str) -> str:
    """One line of a note, safe in a Markdown footnote (no raw HTML, no line breaks)."""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return text.replace("\n", " ").replace("|", "\\|")
