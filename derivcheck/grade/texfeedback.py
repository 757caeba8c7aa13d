"""A student's feedback as a LaTeX document (from the grade dictionary).

Uses the report's preamble and escaping: expressions and messages from the
submission are typeset as text (``code_tex``, ``escape_tex``), never as TeX.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from derivcheck.grade.export import points_text as _num
from derivcheck.report.latex import PREAMBLE, code_tex, escape_tex, pdf_string, verdict_tex
from derivcheck.results import Verdict

if TYPE_CHECKING:
    from derivcheck.grade.check import Prepared


def feedback_tex(g: dict, prepared: Prepared) -> str:
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
        lines.append(f"{code_tex(texts.get(i['id'], i['id']), breakable=True)} & "
                     f"{_num(i['points'])}/{_num(i['max_points'])} & "
                     f"\\small{{}}{escape_tex(i['feedback'])} \\\\")
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
            lines.append(r"\item " + code_tex(f"{link['lhs']} = {link['rhs']}", breakable=True)
                         + f" \\hfill {verdict_tex(Verdict(link['verdict']))}")
            if link["message"]:
                lines.append(r"\\ {\small " + escape_tex(link["message"]) + "}")
            if link.get("reference"):
                lines.append(r"\\ {\small derivcheck's result: "
                             + code_tex(link["reference"], breakable=True) + "}")
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
