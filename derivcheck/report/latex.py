"""The LaTeX view of a ``Report``: a complete document, one section per derivation file.

Each derivation shows its declarations, definitions, a table of verdicts, and
every step typeset as the claimed equation (chains as aligned equalities) with
a mark per equation, the evidence in brief and, for what fails, the diagnosis,
the engine's own result and the counterexample.

Equations are typeset from the IR (``tex_printer``), never from the input's
text.  Every piece of text that comes from an input file (titles, notes,
paths, messages that quote it) goes through ``escape_tex``, so a note such as
``}\\end{document}`` or ``\\input{/etc/passwd}`` prints as written.  The
preamble uses only packages from Debian's ``texlive-latex-base`` and
``texlive-latex-recommended``.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from derivcheck.errors import ExprError, InputError
from derivcheck.ir import E
from derivcheck.model import Derivation, Step, Symbol
from derivcheck.report.tex_printer import TexPrinter, float_tex, name_tex
from derivcheck.results import (
    Counterexample,
    Evidence,
    FileResult,
    LinkResult,
    Report,
    StepResult,
    Verdict,
)

# Approximate printed widths (units of about 0.5em at 10pt) for choosing a layout.
LINE_UNITS = 78
LONG_LHS_UNITS = 24

WORD = {
    Verdict.PROVED: "proved",
    Verdict.CHECKED: "checked",
    Verdict.REFUTED: "refuted",
    Verdict.ILL_FORMED: "ill-formed",
    Verdict.UNDECIDED: "undecided",
}
MACRO = {
    Verdict.PROVED: "proved",
    Verdict.CHECKED: "checked",
    Verdict.REFUTED: "refuted",
    Verdict.ILL_FORMED: "illformed",
    Verdict.UNDECIDED: "undecided",
}
MEANING = {
    Verdict.PROVED: "a symbolic proof",
    Verdict.CHECKED: "agreement at random points",
    Verdict.REFUTED: "a counterexample",
    Verdict.ILL_FORMED: "the shapes do not fit",
    Verdict.UNDECIDED: "inconclusive",
}

PREAMBLE = r"""\documentclass[10pt,a4paper]{article}
\usepackage[a4paper,margin=2cm,headheight=14pt]{geometry}
\usepackage[fleqn]{amsmath}
\usepackage{amssymb}
\setlength{\mathindent}{1.5em}
\usepackage{xcolor}
\usepackage{graphicx}
\usepackage{array,longtable,booktabs}
\usepackage[hidelinks,pdfcreator={derivcheck}]{hyperref}
\allowdisplaybreaks
\setlength{\parindent}{0pt}
\setlength{\parskip}{3pt plus 1pt}
\setlength{\LTpre}{4pt}
\setlength{\LTpost}{4pt}
\renewcommand{\arraystretch}{1.15}
\definecolor{dcproved}{RGB}{0,130,60}
\definecolor{dcchecked}{RGB}{20,90,200}
\definecolor{dcrefuted}{RGB}{205,20,20}
\definecolor{dcillformed}{RGB}{225,115,0}
\definecolor{dcundecided}{RGB}{115,115,115}
\definecolor{dcmuted}{RGB}{95,95,95}
\definecolor{dcrule}{RGB}{205,205,205}
\newcommand{\dcmarkproved}{\textcolor{dcproved}{\ensuremath{\checkmark}}}
\newcommand{\dcmarkchecked}{\textcolor{dcchecked}{\ensuremath{\boldsymbol{\approx}}}}
\newcommand{\dcmarkrefuted}{\textcolor{dcrefuted}{\ensuremath{\boldsymbol{\times}}}}
\newcommand{\dcmarkillformed}{\textcolor{dcillformed}{\ensuremath{\boldsymbol{\oslash}}}}
\newcommand{\dcmarkundecided}{\textcolor{dcundecided}{\textbf{?}}}
\newcommand{\dcword}[2]{\textcolor{dc#1}{\textsf{#2}}}
\newcommand{\dccode}[1]{{\small\textsf{#1}}}
\newsavebox{\dcbox}
\newsavebox{\dclhs}
\newlength{\dcavail}
% #2 in display style, scaled down to width #1 only when it is wider
\newcommand{\dcfit}[2]{\sbox{\dcbox}{$\displaystyle #2$}%
  \ifdim\wd\dcbox>#1\relax\resizebox{#1}{!}{\usebox{\dcbox}}\else\usebox{\dcbox}\fi}
% start a new page unless #1 of space is left (as needspace.sty, not in latex-base)
\makeatletter
\newcommand{\dcneed}[1]{\par\begingroup\setlength{\dimen@}{#1}%
  \vskip\z@\@plus\dimen@\penalty-100\vskip\z@\@plus-\dimen@\vskip\dimen@
  \penalty9999\vskip-\dimen@\vskip\z@skip\endgroup}
\makeatother
\newcommand{\dcstep}[5]{\dcneed{6\baselineskip}\vspace{2pt}%
  {\color{dcrule}\hrule height 0.4pt}\vspace{4pt}%
  \hypertarget{#1}{}\noindent{\large #2}\enspace\textbf{#3}\hfill #4\quad
  {\small\color{dcmuted}#5}\nopagebreak\vspace{1pt}}
\makeatletter
\renewcommand\section{\@startsection{section}{1}{\z@}{-3.2ex \@plus -1ex \@minus -.2ex}%
  {1.8ex \@plus .2ex}{\normalfont\Large\bfseries\raggedright}}
\makeatother
% ragged right without resetting \leftskip (\raggedright would)
\newcommand{\dcragged}{\rightskip=0pt plus 6em\relax}
\newcommand{\dclabel}[1]{\textsf{\small\color{dcmuted}#1}}
\makeatletter
\g@addto@macro\normalsize{\setlength{\abovedisplayskip}{5pt plus 2pt}%
  \setlength{\belowdisplayskip}{5pt plus 2pt}%
  \setlength{\abovedisplayshortskip}{3pt plus 2pt}%
  \setlength{\belowdisplayshortskip}{5pt plus 2pt}}
\makeatother
"""


# -- escaping ------------------------------------------------------------------------

_TEXT_SPECIAL = {
    # OT1 italic fonts have a pound sign where the dollar is: keep it upright
    "\\": r"\textbackslash{}", "{": r"\{", "}": r"\}", "$": r"{\upshape\$}", "&": r"\&",
    "#": r"\#",
    "%": r"\%", "_": r"\_", "^": r"\textasciicircum{}", "~": r"\textasciitilde{}",
    "<": r"\textless{}", ">": r"\textgreater{}", "|": r"\textbar{}",
}
_UNICODE = {
    "\u2013": "--", "\u2014": "---", "\u2018": "`", "\u2019": "'", "\u201c": "``",
    "\u201d": "''", "\u2026": r"\ldots{}", "\u2022": r"\textbullet{}", "\u00a0": "~",
    "\u00d7": r"$\times$", "\u00b7": r"$\cdot$", "\u2212": "$-$", "\u00b1": r"$\pm$",
    "\u2264": r"$\le$", "\u2265": r"$\ge$", "\u2260": r"$\ne$", "\u2248": r"$\approx$",
    "\u2192": r"$\to$", "\u2190": r"$\leftarrow$", "\u21d2": r"$\Rightarrow$",
    "\u2202": r"$\partial$", "\u2211": r"$\sum$", "\u2208": r"$\in$", "\u221a": r"$\surd$",
    "\u221e": r"$\infty$", "\u00b0": r"$^{\circ}$", "\u2299": r"$\odot$",
    "\u2218": r"$\circ$", "\u1d40": r"$^{\top}$", "\u00b2": "$^{2}$", "\u00b3": "$^{3}$",
    "\u00b9": "$^{1}$", "\u00bd": r"$\frac{1}{2}$", "\u2207": r"$\nabla$",
    "\u00df": r"\ss{}", "\u00e6": r"\ae{}", "\u00c6": r"\AE{}", "\u00f8": r"\o{}",
    "\u00d8": r"\O{}", "\u0153": r"\oe{}", "\u0142": r"\l{}", "\u00a7": r"\S{}",
}
# Greek letters (U+03B1.. lowercase, capitals that differ from Latin ones) as math
_GREEK_LOWER = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "iota",
                "kappa", "lambda", "mu", "nu", "xi", "-", "pi", "rho", "-", "sigma", "tau",
                "upsilon", "phi", "chi", "psi", "omega"]
_UNICODE.update({chr(0x3B1 + n): f"$\\{name}$" for n, name in enumerate(_GREEK_LOWER)
                 if name != "-"})
_UNICODE.update({chr(code): f"$\\{name}$" for code, name in (
    (0x393, "Gamma"), (0x394, "Delta"), (0x398, "Theta"), (0x39B, "Lambda"), (0x39E, "Xi"),
    (0x3A0, "Pi"), (0x3A3, "Sigma"), (0x3A6, "Phi"), (0x3A8, "Psi"), (0x3A9, "Omega"))})
_ACCENT = {"\u0301": "'", "\u0300": "`", "\u0302": "^", "\u0308": '"', "\u0303": "~",
           "\u0327": "c", "\u030a": "r", "\u0304": "=", "\u030c": "v", "\u0306": "u"}


def escape_tex(text: str) -> str:
    """Plain text (from an input file) as LaTeX text that prints exactly as written.

    Every character with a meaning to TeX is replaced by a command that prints it,
    runs of white space (including line breaks) become one space, control
    characters are dropped, and a character the document's fonts do not have is
    written as its code point, e.g. ``[U+2203]``.  Nothing in ``text`` can start a
    command, open or close a group, or end the document.
    """
    out: list[str] = []
    previous = " "
    for ch in re.sub(r"\s+", " ", str(text)):
        if ch == '"':  # straight quotes become opening and closing quotes
            out.append("``" if previous in " ([{" else "''")
        elif ch in _TEXT_SPECIAL:
            out.append(_TEXT_SPECIAL[ch])
        elif " " <= ch <= "~":
            out.append(ch)
        else:
            out.append(_non_ascii(ch))
        previous = ch
    return "".join(out)


def _non_ascii(ch: str) -> str:
    if ch in _UNICODE:
        return _UNICODE[ch]
    if unicodedata.category(ch).startswith("C"):
        return ""
    decomposed = unicodedata.normalize("NFD", ch)
    if len(decomposed) == 2 and decomposed[0].isascii() and decomposed[0].isalpha() \
            and decomposed[1] in _ACCENT:
        base = decomposed[0]
        if base in "ij" and decomposed[1] != "\u0327":
            base = "\\" + base  # dotless i and j take the accent
        return f"\\{_ACCENT[decomposed[1]]}{{{base}}}"
    return f"[U+{ord(ch):04X}]"


def code_tex(text: str, *, breakable: bool = False, keep_spaces: bool = False) -> str:
    """Text in typewriter type, every non-alphanumeric ASCII character by its code.

    The typewriter font has a glyph at each ASCII position, so ``\\char95`` is a
    real underscore: the PDF's text (``pdftotext``, copy and paste) shows ``_``.
    With ``breakable``, a line may break after ``( [ , + - * / @ =`` (long formulas);
    with ``keep_spaces``, every space is kept (a caret under an error lines up).
    """
    out: list[str] = []
    text = str(text).replace("\t", " ") if keep_spaces else " ".join(str(text).split())
    for ch in text:
        if keep_spaces and ch == " ":
            out.append("\\ ")
        elif keep_spaces and not ch.isprintable():
            continue
        elif ch.isascii() and (ch.isalnum() or ch == " "):
            out.append(ch)
        elif "!" <= ch <= "~":
            out.append(f"{{\\char{ord(ch)}}}")
            if breakable and ch in "([,+-*/@=":
                out.append(r"\allowbreak{}")
        else:
            out.append(_non_ascii(ch))
    return r"\texttt{" + "".join(out) + "}"


def pdf_string(text: str) -> str:
    """Text for the PDF's bookmarks: letters, digits and harmless punctuation only."""
    kept = re.sub(r"[^A-Za-z0-9 .,:;()+=/'-]", " ", " ".join(str(text).split()))
    return " ".join(kept.split()) or "derivation"


# -- one derivation's context ----------------------------------------------------------

@dataclass
class _Context:
    """What typesetting one file needs: its derivation (when it still loads) and printers."""

    derivation: Derivation | None
    steps: dict[str, Step]
    parse: Callable[[str], E | None]
    printer: Callable[[str], TexPrinter]  # by layout

    @classmethod
    def of(cls, derivation: Derivation | None) -> _Context:
        if derivation is None:
            return cls(None, {}, lambda text: None, lambda layout: TexPrinter())
        from derivcheck.engine.core import Engine
        from derivcheck.parse.expr import Scope, parse_expression

        try:
            engine: Engine | None = Engine(derivation)
        except InputError:
            engine = None
        defined = frozenset(d.name for d in derivation.definitions)
        bound, shape_of = None, None
        if engine is not None and derivation.bound:  # sums over inferred indices re-read
            from derivcheck.parse.bound import BoundIndices

            symbols, dims = derivation.symbols, derivation.dims
            bound = BoundIndices(dict(engine.index_range), lambda n: n in symbols or
                                 n in dims or n in defined, dict(derivation.bound))
            shape_of = engine.shapes(derivation.conventions.layout).of
        scope = Scope(derivation.symbols, defined, frozenset(derivation.dims), bound, shape_of)

        def parse(text: str) -> E | None:
            try:
                return parse_expression(text, scope)
            except ExprError:
                return None
        printers: dict[str, TexPrinter] = {}
        names = dict(getattr(derivation, "latex_names", None) or {})

        def printer(layout: str) -> TexPrinter:
            if layout not in printers:
                printers[layout] = TexPrinter(_shape_oracle(engine, layout), names)
            return printers[layout]

        return cls(derivation, {s.id: s for s in derivation.steps}, parse, printer)


def _shape_oracle(engine: object, layout: str) -> Callable[[E], bool | None]:
    def scalar(node: E) -> bool | None:
        if engine is None:
            return None
        try:
            return engine.shape(node, layout) == ()  # type: ignore[attr-defined]
        except Exception:  # a typesetting hint only: unknown is fine
            return None

    return scalar


def _load(path: str) -> Derivation | None:
    from derivcheck.verify import load_any

    try:
        return load_any(path)
    except InputError:
        return None


# -- the document ----------------------------------------------------------------------

def render(report: Report, *, derivations: Mapping[str, Derivation | None] | None = None,
           subtitle: str = "") -> str:
    """``report`` as a complete LaTeX document.

    Args:
        report: the results to typeset.
        derivations: each file's parsed derivation, by ``FileResult.path``; files
            not given are loaded again from their path (the equations are typeset
            from the parsed tree, and the declarations come from it).
        subtitle: a line under the title (plain text, escaped), e.g. the options.

    Returns:
        The document's source (pdflatex, packages from texlive-latex-base/recommended).
    """
    given = dict(derivations or {})
    lines = [PREAMBLE.rstrip("\n"), r"\hypersetup{pdftitle={derivcheck report}}",
             r"\begin{document}"]
    lines += _title(report, subtitle)
    for n, f in enumerate(report.files):
        derivation = given[f.path] if f.path in given else (None if f.error else _load(f.path))
        lines += _file(n, f, _Context.of(derivation))
    lines.append(r"\end{document}")
    return "\n".join(lines) + "\n"


def _title(report: Report, subtitle: str) -> list[str]:
    counts = report.counts()
    steps = sum(len(f.steps) for f in report.files)
    files = len(report.files)
    facts = [f"{files} file{'s' if files != 1 else ''}", f"{steps} steps",
             f"seed {report.seed}"]
    if counts["input_errors"]:
        facts.append(f"{counts['input_errors']} input error"
                     f"{'s' if counts['input_errors'] != 1 else ''}")
    out = [r"\begin{center}",
           r"{\LARGE\bfseries Derivation check report}\\[3pt]",
           r"{\small\color{dcmuted}derivcheck" + "".join(r" \enspace$\cdot$\enspace " + x for x in
                                                facts)
           + (r" \enspace$\cdot$\enspace " + escape_tex(subtitle) if subtitle else "") + "}",
           r"\end{center}",
           r"\vspace{-2pt}\begin{center}\small"]
    legend = [f"\\dcmark{MACRO[v]}~{WORD[v]}: {MEANING[v]}" for v in Verdict]
    out.append(r"\quad ".join(legend[:3]) + r"\\[1pt]" + r"\quad ".join(legend[3:]))
    out.append(r"\end{center}")
    if files > 1:
        out += _overview(report)
    return out


def _overview(report: Report) -> list[str]:
    head = " & ".join(f"\\dcmark{MACRO[v]}" for v in Verdict)
    out = [r"\begin{longtable}{@{}>{\raggedright\arraybackslash}p{0.58\linewidth}r"
           + "c" * len(Verdict) + "@{}}",
           r"\toprule", r"\textbf{Derivation} & \textbf{steps} & " + head + r"\\",
           r"\midrule\endhead"]
    for n, f in enumerate(report.files):
        title = escape_tex(f.title or f.path)
        name = code_tex(_basename(f.path))
        link = f"\\hyperlink{{dc-f{n}}}{{{title}}}\\newline{{\\footnotesize {name}}}"
        if f.error:
            out.append(f"{link} & \\multicolumn{{{len(Verdict) + 1}}}{{l}}"
                       r"{\dcword{refuted}{input error}}\\")
            continue
        cells = [str(sum(1 for s in f.steps if s.verdict == v) or "") for v in Verdict]
        out.append(f"{link} & {len(f.steps)} & " + " & ".join(cells) + r"\\")
    counts = report.counts()
    total = sum(len(f.steps) for f in report.files)
    out += [r"\midrule", r"\textbf{Total} & " + str(total) + " & "
            + " & ".join(str(counts[v.value]) for v in Verdict) + r"\\",
            r"\bottomrule", r"\end{longtable}"]
    return out


def _basename(path: str) -> str:
    return path.replace("\\", "/").rsplit("/", 1)[-1]


def _file(n: int, f: FileResult, ctx: _Context) -> list[str]:
    title = f.title or _basename(f.path)
    out = [r"\clearpage" if n else r"\medskip",
           f"\\section{{\\texorpdfstring{{{escape_tex(title)}}}{{{pdf_string(title)}}}}}",
           f"\\hypertarget{{dc-f{n}}}{{}}"]
    facts = [r"\dclabel{file}~" + code_tex(f.path)]
    if f.source:
        facts.append(r"\dclabel{source}~" + code_tex(f.source))
    out.append(r"\quad ".join(facts) + r"\par")
    if f.error:
        out += [r"\medskip\dcword{refuted}{\textbf{Input error}}: the file could not be read.",
                r"\par\smallskip{\small"]
        out += [(code_tex(line, keep_spaces=True) if line.strip() else r"\mbox{}") + r"\\"
                for line in f.error.splitlines()]
        out.append("}")
        return out
    if ctx.derivation is not None:
        out += _declarations(ctx.derivation, ctx.printer(ctx.derivation.conventions.layout))
        out += _definitions(ctx)
    out += _step_table(n, f)
    out.append(r"\subsection*{Steps}")
    for k, step in enumerate(f.steps):
        out += _step(n, k, step, ctx)
    if f.unread:  # a document's equations that could not be read, each with its reason
        out.append(r"\subsection*{Equations not read}")
        for where, why in f.unread:
            out.append(r"\par\smallskip\dcword{undecided}{" + escape_tex(where) + r"}\par{\small")
            out += [(code_tex(line, keep_spaces=True, breakable=True) if line.strip()
                     else r"\mbox{}") + r"\\" for line in why.splitlines()]
            out.append("}")
    return out




# -- declarations and definitions ---------------------------------------------------------

def _declarations(d: Derivation, printer: TexPrinter) -> list[str]:
    rows = [(f"${printer.full_name(s.name)}$", escape_tex(s.kind), _shape_tex(s))
            for s in d.symbols.values()]
    if not rows:
        return []
    half = (len(rows) + 1) // 2 if len(rows) > 4 else len(rows)
    left, right = rows[:half], rows[half:]
    cols = "lll" if not right else "lll@{\\hspace{2.5em}}lll"
    head = r"\textbf{symbol} & \textbf{kind} & \textbf{shape}"
    out = [r"\subsection*{Declarations}", r"\begin{center}\small",
           f"\\begin{{tabular}}{{{cols}}}", r"\toprule",
           head + (" & " + head if right else "") + r"\\", r"\midrule"]
    for k, row in enumerate(left):
        cells = list(row)
        if right:
            cells += list(right[k]) if k < len(right) else ["", "", ""]
        out.append(" & ".join(cells) + r"\\")
    out += [r"\bottomrule", r"\end{tabular}", r"\end{center}"]
    return out


def _shape_tex(s: Symbol) -> str:
    if s.is_index:
        return f"$0, \\dots, {name_tex(s.dims[0])} - 1$"
    dims = [name_tex(d) if isinstance(d, str) else str(d) for d in s.shape]
    if not dims:
        return "scalar"
    return "$" + r" \times ".join(dims) + "$"


def _definitions(ctx: _Context) -> list[str]:
    d = ctx.derivation
    assert d is not None
    out = []
    if d.definitions:
        printer = ctx.printer(d.conventions.layout)
        out += [r"\subsection*{Definitions}",
                r"\setlength{\dcavail}{\dimexpr\linewidth-10em\relax}",
                r"\begin{align*}"]
        rows = [f"{printer.full_name(x.name)} &\\mathrel{{:=}} \\dcfit{{\\dcavail}}"
                f"{{{printer.math(x.expr)}}}" for x in d.definitions]
        out.append("\\\\\n".join(rows))
        out.append(r"\end{align*}")
    conventions = [f"layout \\textsf{{{escape_tex(d.conventions.layout)}}}",
                   f"$\\operatorname{{ReLU}}'(0) = {d.conventions.relu_prime_at_zero}$"]
    if d.assumptions:
        conventions.append("assumptions " + ", ".join(code_tex(a) for a in d.assumptions))
    out.append(r"{\small\dclabel{conventions}\enspace " + "; ".join(conventions) + r"\par}")
    return out


def _step_table(n: int, f: FileResult) -> list[str]:
    out = [r"\subsection*{Verdicts}",
           r"{\small\begin{longtable}{@{}r>{\raggedright\arraybackslash}p{0.29\linewidth}r"
           r"l>{\raggedright\arraybackslash}p{0.38\linewidth}@{}}",
           r"\toprule",
           r"\textbf{\#} & \textbf{step} & \textbf{line} & \textbf{verdict} & "
           r"\textbf{diagnosis}\\",
           r"\midrule\endhead",
           r"\bottomrule\endlastfoot"]
    for k, s in enumerate(f.steps):
        link = f"\\hyperlink{{dc-f{n}-s{k}}}{{{code_tex(s.id)}}}"
        if s.form == "chain":
            link += f" {{\\color{{dcmuted}}\\footnotesize({len(s.links)} links)}}"
        codes = ", ".join(r"\textsf{" + escape_tex(c) + "}" for c in s.codes)
        out.append(f"{k + 1} & {link} & {s.line} & {verdict_tex(s.verdict)} & "
                   f"{{\\footnotesize\\color{{dcmuted}}{codes}}}\\\\")
    counts = {v: sum(1 for s in f.steps if s.verdict == v) for v in Verdict}
    summary = ", ".join(f"{counts[v]} {WORD[v]}" for v in Verdict if counts[v])
    out += [r"\midrule",
            f"\\multicolumn{{5}}{{@{{}}l}}{{\\textbf{{{len(f.steps)} steps:}} "
            f"{summary or 'none'}}}\\\\",
            r"\end{longtable}}"]
    return out


def verdict_tex(v: Verdict) -> str:
    """A verdict's mark and word, in its colour."""
    return f"\\dcmark{MACRO[v]}~\\dcword{{{MACRO[v]}}}{{{WORD[v]}}}"


# -- steps -------------------------------------------------------------------------------

def _step(n: int, k: int, s: StepResult, ctx: _Context) -> list[str]:
    step = ctx.steps.get(s.id)
    layout = step.layout if step is not None else "gradient"
    printer = ctx.printer(layout)
    exprs = _expressions(s, step, ctx)
    where = f"line {s.line}" if s.line else ""
    expected = ""
    if s.matches_expected is False and s.expected:
        expected = (r"\dcword{illformed}{\small expected " + escape_tex(", ".join(s.expected))
                    + r"}\quad ")
    out = [f"\\dcstep{{dc-f{n}-s{k}}}{{\\dcmark{MACRO[s.verdict]}}}{{{code_tex(s.id)}}}"
           f"{{{expected}\\dcword{{{MACRO[s.verdict]}}}{{{WORD[s.verdict]}}}}}{{{where}}}"]
    out += _equations(s, exprs, printer)
    out += _as_written(s, ctx)
    out += _details(s, exprs, printer, ctx)
    if s.note:
        out.append(r"{\footnotesize\color{dcmuted}\textit{Note.} " + escape_tex(s.note)
                   + r"\par}")
    return out


def _expressions(s: StepResult, step: Step | None, ctx: _Context) -> list[E | None]:
    """The step's expressions as trees: from the loaded file, else parsed from the result.

    A step may have two forms (the expression syntax and ``latex:``); the one the
    result was computed from is the one whose texts match the result's.
    """
    texts = [s.links[0].lhs] + [link.rhs for link in s.links]
    if step is not None:
        forms = [f for f in (step.exprs, step.latex) if f and len(f) == len(texts)]
        for form in forms:
            if [e.text for e in form] == texts:
                return [e.node for e in form]
        if forms:
            return [e.node for e in forms[0]]
    return [ctx.parse(t) for t in texts]


def _as_written(s: StepResult, ctx: _Context) -> list[str]:
    """For a step read from LaTeX: the LaTeX as written, how it was read, and the choices."""
    written = [s.links[0].lhs_latex] + [link.rhs_latex for link in s.links]
    if not any(written):
        return []
    read = [s.links[0].lhs] + [link.rhs for link in s.links]
    text = (r"\dclabel{as written}\enspace "
            + code_tex(" = ".join(w or r for w, r in zip(written, read)), breakable=True)
            + r"\\ \dclabel{read as}\enspace " + code_tex(" = ".join(read), breakable=True))
    readings = list(dict.fromkeys(note for link in s.links for note in link.reading))
    for note in readings:
        text += r"\\ \dclabel{ambiguous}\enspace " + message_tex(note, ctx)
    return [_small(text)]


def _expr_text(s: StepResult, k: int) -> str:
    return s.links[0].lhs if k == 0 else s.links[k - 1].rhs


def _equations(s: StepResult, exprs: Sequence[E | None], printer: TexPrinter) -> list[str]:
    """The claim or chain as an ``align*``: one link per row, a mark per link."""
    widths = [printer.width(e) if e is not None else len(_expr_text(s, k)) * 1.1
              for k, e in enumerate(exprs)]
    lhs = _math_or_code(exprs[0], _expr_text(s, 0), printer)
    lhs_alone = widths[0] > LONG_LHS_UNITS
    out = []
    if lhs_alone:
        out.append(r"\setlength{\dcavail}{\dimexpr\linewidth-7em\relax}")
        budget = LINE_UNITS - 10
    else:
        out += [f"\\sbox{{\\dclhs}}{{$\\displaystyle {lhs}$}}",
                r"\setlength{\dcavail}{\dimexpr\linewidth-\wd\dclhs-7em\relax}"]
        budget = LINE_UNITS - 10 - int(widths[0])
    rows: list[str] = []
    if lhs_alone:
        rows.append(f"&\\dcfit{{\\dcavail}}{{{lhs}}}")
    for j, link in enumerate(s.links):
        node = exprs[j + 1]
        tag = f"\\tag*{{{_tag(s, link)}}}"
        lines = _break(node, _expr_text(s, j + 1), printer, budget)
        first = ("\\usebox{\\dclhs} " if j == 0 and not lhs_alone else "") + "&= "
        rows.append(f"{first}\\dcfit{{\\dcavail}}{{{lines[0]}}} {tag}")
        rows += [f"&\\quad \\dcfit{{\\dcavail}}{{{line}}}" for line in lines[1:]]
    out += [r"\begin{align*}", "\\\\\n".join(rows), r"\end{align*}"]
    return out


def _tag(s: StepResult, link: LinkResult) -> str:
    mark = f"\\dcmark{MACRO[link.verdict]}"
    if s.form != "chain":
        return mark
    return f"{mark}\\,{{\\scriptsize\\color{{dcmuted}}{link.index + 1}}}"


def _break(node: E | None, text: str, printer: TexPrinter, budget: float) -> list[str]:
    """A right side as one or more display lines, broken before top-level + and -."""
    if node is None:
        return [_code_math(text)]
    if printer.width(node) <= budget:
        return [printer.math(node)]
    lines: list[str] = []
    current: list[str] = []
    used = 0.0
    for sign, term, width in printer.terms(node):
        if current and used + width > budget:
            lines.append(" ".join(current))
            current, used = [], 0.0
        piece = f"{sign} {term}" if sign else term
        if sign and not current:
            piece = "{} " + piece  # keeps the spacing of a binary + at the start of a line
        current.append(piece)
        used += width + 2.5
    lines.append(" ".join(current))
    return lines


def _math_or_code(node: E | None, text: str, printer: TexPrinter) -> str:
    return printer.math(node) if node is not None else _code_math(text)


def _code_math(text: str) -> str:
    return r"\mbox{" + code_tex(text) + "}"


# -- evidence, diagnoses, counterexamples ---------------------------------------------

def _details(s: StepResult, exprs: Sequence[E | None], printer: TexPrinter,
             ctx: _Context) -> list[str]:
    """Evidence, diagnoses, the engine's result and counterexamples, link by link."""
    if s.form != "chain":
        text = _evidence(s.links[0].evidence, ctx)
        out = [_small(text)] if text else []
        return out + _link_details(s.links[0], exprs, printer, ctx)
    out = []
    shared = _shared_sampling(s.links)
    evidence = [_evidence(link.evidence, ctx, shared=shared is not None) for link in s.links]
    quiet = all(link.verdict.holds and not link.diagnoses for link in s.links)
    if shared is not None:
        out.append(_small(r"\dclabel{evidence}\enspace " + shared + " (each link)."))
    if quiet and len(set(evidence)) == 1:
        if evidence[0]:
            out.append(_small(r"\dclabel{all links}\enspace " + evidence[0]))
        return out
    for link, text in zip(s.links, evidence):
        head = (f"\\dclabel{{link {link.index + 1}}}\\enspace {verdict_tex(link.verdict)}"
                + (f". {text}" if text else ""))
        out.append(_small(head))
        details = _link_details(link, exprs, printer, ctx)
        if details:
            out += [r"{\leftskip=1.5em\addtolength{\mathindent}{1.5em}"] + details + [r"\par}"]
    return out


def _shared_sampling(links: Sequence[LinkResult]) -> str | None:
    """The random points common to every numeric link of a chain, said once."""
    numeric = [link.evidence for link in links if link.evidence.method == "numeric"]
    if len(numeric) < 2:
        return None
    keys = {(repr(ev.sizes), ev.points, ev.seed) for ev in numeric}
    return _sampling(numeric[0]) if len(keys) == 1 else None


def _sampling(ev: Evidence) -> str:
    sizes = "; ".join(_sizes(s) for s in ev.sizes) or "-"
    seed = "" if ev.seed is None else f", seed {ev.seed}"
    return f"{ev.points} random points at sizes {sizes}{seed}"


def _small(text: str) -> str:
    return r"{\small\dcragged " + text + r"\par}"


def _evidence(ev: Evidence, ctx: _Context, *, shared: bool = False) -> str:
    """The evidence in brief; with ``shared``, the random points are said elsewhere."""
    if ev.method == "symbolic":
        text = r"\dclabel{proof}\enspace " + message_tex(ev.proof, ctx)
        if ev.points:
            text += f"; also agrees at {ev.points} random points"
        return text + "."
    if ev.method == "numeric":
        error = "" if ev.worst_error is None else (
            f"worst relative error ${float_tex(ev.worst_error)}$")
        if shared:
            text = error
        else:
            text = r"\dclabel{evidence}\enspace " + _sampling(ev) + (
                f", {error}" if error else "")
        if ev.reason:
            text += "; " + message_tex(ev.reason, ctx)
        return text + "." if text else ""
    return ""


def _sizes(sizes: Mapping[str, int]) -> str:
    return ", ".join(f"${name_tex(k)}{{=}}{int(v)}$" for k, v in sizes.items())


def _link_details(link: LinkResult, exprs: Sequence[E | None], printer: TexPrinter,
                  ctx: _Context) -> list[str]:
    out = []
    messages = [f"{message_tex(d.message, ctx)} \\dccode{{({escape_tex(d.code)})}}"
                for d in link.diagnoses]
    if not messages and link.evidence.reason and not link.verdict.holds:
        messages.append(message_tex(link.evidence.reason, ctx))
    if messages:
        out.append(_small(r"\dclabel{diagnosis}\enspace " + "; ".join(messages) + "."))
    if link.reference and not link.verdict.holds:
        out += _reference(link, exprs, printer, ctx)
    if link.counterexample is not None:
        out += _counterexample(link.counterexample, printer)
    return out


def _reference(link: LinkResult, exprs: Sequence[E | None], printer: TexPrinter,
               ctx: _Context) -> list[str]:
    """The engine's own result, as ``reference side = formula``."""
    lhs, rhs = exprs[link.index], exprs[link.index + 1]
    side = rhs if (rhs is not None and _has_d(rhs) and not (lhs is not None and _has_d(lhs))) \
        else lhs
    node = ctx.parse(link.reference)
    left = (printer.math(side) + " = ") if side is not None else ""
    # a long result is broken over lines before + and -, each fitted only if a single
    # term is still too wide: never one microscopic line
    budget = LINE_UNITS - 10 - (int(printer.width(side)) if side is not None else 0)
    lines = _break(node, link.reference, printer, max(budget, 30))
    fit = "\\dcfit{\\dimexpr\\linewidth-8em\\relax}"
    rows = [f"{left}&{fit}{{{lines[0]}}}"] + [f"&\\quad {fit}{{{line}}}" for line in lines[1:]]
    return [r"{\small\dclabel{engine's result}",
            r"\begin{align*}", "\\\\\n".join(rows), r"\end{align*}}"]


def _has_d(node: E) -> bool:
    return any(x.op == "d" for x in node.walk())


def _counterexample(c: Counterexample, printer: TexPrinter) -> list[str]:
    head = r"\dclabel{counterexample}\enspace at sizes " + _sizes(c.sizes)
    if c.indices:
        head += ", indices $" + ", ".join(f"{printer.full_name(k)} = {int(v)}"
                                          for k, v in c.indices.items()) + "$"
    if not c.readable:
        head += " (values rounded for display)"
    values = [f"${printer.full_name(name)} = {value_tex(v)}$" for name, v in c.values.items()]
    sides = [f"left side ${value_tex(c.lhs)}$", f"right side ${value_tex(c.rhs)}$"]
    return [r"{\small " + head + r":\par",
            r"\quad " + r",\quad ".join(values) + r"\par",
            r"\quad " + r",\quad ".join(sides) + r"\par}"]


def value_tex(value: object) -> str:
    """A counterexample value (a number or nested lists of numbers) as LaTeX math."""
    if isinstance(value, list):
        rows = [row if isinstance(row, list) else [row] for row in value]
        if rows and all(len(r) == 1 for r in rows) and len(rows) > 1:
            body = " & ".join(_number_tex(r[0]) for r in rows)
            return r"\left(\begin{smallmatrix}" + body + r"\end{smallmatrix}\right)^{\top}"
        body = r" \\ ".join(" & ".join(_number_tex(x) for x in r) for r in rows)
        return r"\left(\begin{smallmatrix}" + body + r"\end{smallmatrix}\right)"
    return _number_tex(value)


def _number_tex(x: object) -> str:
    if isinstance(x, bool):
        return str(int(x))
    if isinstance(x, int):
        return str(x) if abs(x) < 10**7 else float_tex(float(x))
    if isinstance(x, float):
        return float_tex(x)
    if isinstance(x, str):
        m = re.fullmatch(r"(-?)(\d{1,15})/(\d{1,15})", x.strip())
        if m:
            return f"{m.group(1)}\\tfrac{{{m.group(2)}}}{{{m.group(3)}}}"
        try:
            return float_tex(float(x))
        except ValueError:
            return r"\mbox{" + code_tex(x[:40]) + "}"
    return r"\mbox{" + code_tex(str(x)[:40]) + "}"


_CODE = re.compile(r"`([^`]{1,4000})`")
_SETTING = re.compile(r"\b([A-Za-z][A-Za-z0-9]{0,3})=(-?\d{1,9})\b")


def message_tex(text: str, ctx: _Context) -> str:
    """A message: escaped text, with each `quoted expression` and ``D=2`` typeset.

    A quoted expression that parses over the file's names is set as math when it
    is short, else in typewriter type; everything else is escaped text.
    """
    out: list[str] = []
    pos = 0
    for m in _CODE.finditer(text):
        out.append(_prose(text[pos:m.start()]))
        node = ctx.parse(m.group(1))
        if node is not None and ctx.derivation is not None:
            printer = ctx.printer(ctx.derivation.conventions.layout)
            if printer.width(node) <= 40:
                out.append(f"${printer.math(node)}$")
                pos = m.end()
                continue
        out.append(code_tex(m.group(1), breakable=True))
        pos = m.end()
    out.append(_prose(text[pos:]))
    return "".join(out)


def _prose(text: str) -> str:
    """Escaped text with settings such as ``D=2`` or ``i=0`` as math."""
    out: list[str] = []
    pos = 0
    for m in _SETTING.finditer(text):
        out.append(escape_tex(text[pos:m.start()]))
        out.append(f"${name_tex(m.group(1))}{{=}}{int(m.group(2))}$")
        pos = m.end()
    out.append(escape_tex(text[pos:]))
    return "".join(out)
