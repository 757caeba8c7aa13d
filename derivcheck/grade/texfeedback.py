"""A student's feedback as a LaTeX document (from the grade dictionary).

Uses the report's preamble and escaping: expressions and messages from the
submission are typeset as text (``code_tex``, ``escape_tex``), never as TeX.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from derivcheck.grade.export import DEFAULT_DETAIL, item_feedback
from derivcheck.grade.export import points_text as _num
from derivcheck.report.latex import (
    PREAMBLE,
    _break,
    _Context,
    code_tex,
    escape_tex,
    message_tex,
    pdf_string,
    verdict_tex,
)
from derivcheck.results import Verdict

if TYPE_CHECKING:
    from derivcheck.grade.check import Prepared


def feedback_tex(g: dict, prepared: Prepared, detail: str = DEFAULT_DETAIL) -> str:
    """The feedback of ``feedback_markdown`` as a LaTeX document, at the same ``detail``."""
    ctx = _Context.of(prepared.key.derivation)  # expressions typeset as math, as the report
    printer = ctx.printer(prepared.layout)

    def formula(text: str) -> str:
        node = ctx.parse(text)
        return printer.math(node) if node is not None else r"\mbox{" + code_tex(text) + "}"

    texts = {i.id: i.texts[0] for i in prepared.key.rubric.items}
    title = escape_tex(f"Feedback: {g['student']}")
    lines = [PREAMBLE.replace("pdfcreator={derivcheck}",
                              f"pdfcreator={{derivcheck}},pdftitle={{{pdf_string(title)}}}"),
             r"\begin{document}",
             f"{{\\Large\\bfseries {title}}}\\par",
             f"{escape_tex(prepared.key.derivation.title)}\\par\\medskip",
             f"\\textbf{{Score: {_num(g['score'])} / {_num(g['max_score'])}}}"
             f"\\hfill{{\\small\\color{{dcmuted}}derivcheck, seed {int(g['seed'])}}}\\par"
             r"\medskip"]
    if g["error"]:
        lines += [r"Your file could not be graded:\par",
                  r"\begin{flushleft}" + code_tex(g["error"], breakable=True)
                  + r"\end{flushleft}", r"\end{document}", ""]
        return "\n".join(lines)
    lines += [r"\section*{Required results}",
              r"\begin{longtable}{@{}p{0.34\linewidth}rp{0.5\linewidth}@{}}",
              r"\toprule result & points & \\ \midrule"]
    for i in g["items"]:
        lines.append(f"\\({formula(texts.get(i['id'], i['id']))}\\) & "
                     f"{_num(i['points'])}/{_num(i['max_points'])} & "
                     f"\\small{{}}{escape_tex(item_feedback(i, texts, detail))} \\\\")
    lines += [r"\bottomrule", r"\end{longtable}"]
    if g.get("warnings"):
        lines.append(r"\section*{Warnings}")
        lines += [escape_tex(w) + r"\par" for w in g["warnings"]]
    if g["unreadable_steps"]:
        lines.append(r"\section*{Steps that could not be read}")
        for u in g["unreadable_steps"]:
            lines.append(f"{code_tex(u['step'])}: {code_tex(u['error'], breakable=True)}\\par")
    lines.append(r"\section*{Your steps}")
    for s in g["steps"]:
        lines.append(f"\\dcneed{{4\\baselineskip}}\\textbf{{{code_tex(s['id'])}}}\\hfill "
                     f"{verdict_tex(Verdict(s['verdict']))}\\par")
        lines.append(r"\begin{itemize}")
        for link in s["links"]:
            lines.append(r"\item \(" + formula(link["lhs"]) + " = " + formula(link["rhs"])
                         + f"\\) \\hfill {verdict_tex(Verdict(link['verdict']))}")
            if detail == "verdict":
                continue
            if link["message"]:
                lines.append(r"\\ {\small " + message_tex(link["message"], ctx) + "}")
            if link.get("reference") and detail == "solution":
                # a long formula is broken over lines before + and -, never shrunk
                node = ctx.parse(link["reference"])
                rows = _break(node, link["reference"], printer, 60)
                lines.append(r"\\ {\small derivcheck's result:}")
                lines.append(r"\begin{align*}" + " \\\\\n&".join(["&" + rows[0], *rows[1:]])
                             + r"\end{align*}")
            c = link.get("counterexample")
            if c:
                sizes = ", ".join(f"{k}={v}" for k, v in c["sizes"].items())
                lines.append(r"\\ {\small counterexample at sizes " + escape_tex(sizes or "-")
                             + ": left side " + code_tex(str(c["lhs"])[:200], breakable=True)
                             + ", right side " + code_tex(str(c["rhs"])[:200], breakable=True)
                             + "}")
        lines.append(r"\end{itemize}")
    lines += [r"\end{document}", ""]
    return "\n".join(lines)
