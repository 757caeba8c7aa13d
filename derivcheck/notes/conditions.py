"""Cases and conditions written in documents, rewritten with indicators.

``\\begin{cases} A & \\text{if } c = k \\\\ B & \\text{otherwise} \\end{cases}`` is read
as ``\\mathbb{1}[c = k] (A) + (1 - \\mathbb{1}[c = k]) (B)``, and an equation claimed
under a condition (``a = b, z \\geq 0``, ``a \\stackrel{z \\geq 0}{=} b``) as
``\\mathbb{1}[z \\geq 0] (a) = \\mathbb{1}[z \\geq 0] (b)``: it must hold wherever the
condition does, and says nothing elsewhere.  The LaTeX reader then reads the
indicators (index equalities as ``delta``, signs as ``relu_prime``); a condition
it cannot read makes the equation unread, with the reason.

Conditions understood: ``i = k``, ``i \\neq k`` (indices), ``u > v``, ``u \\geq v``,
``u < v``, ``u \\leq v`` (any two scalars, compared through their difference),
and ``else`` / ``otherwise`` for the last case.
"""

from __future__ import annotations

import re

from derivcheck.notes.source import Src, tokens

EQUALS = ("=", "\\Leftrightarrow", "\\iff", "\\Longleftrightarrow")

MAX_CASES = 50


class ConditionError(Exception):
    """A case split or condition that cannot be rewritten (the message says why)."""


_WORDS = re.compile(r"^\s*(\\text\s*\{\s*(if|for|when|where)\s*\}|\\mathrm\s*\{\s*if\s*\}|"
                    r"\\quad|\\qquad|if\b|for\b)\s*", re.I)
_TEXT_ONLY = re.compile(r"^\s*\\(text|mathrm)\s*\{\s*(else|otherwise|o\.w\.|elsewhere)\s*\}\s*$"
                        r"|^\s*(else|otherwise)\s*$", re.I)
_COMPARE = (("\\neq", "!="), ("\\ne", "!="), ("\\geq", ">="), ("\\ge", ">="),
            ("\\leq", "<="), ("\\le", "<="), ("=", "="), (">", ">"), ("<", "<"))


def _indicator(cond: Src) -> tuple[str, str]:
    """(indicator LaTeX, how it was read) of one condition."""
    text = _WORDS.sub("", cond.text, count=1)
    text = re.sub(r"\\text\s*\{\s*(if|and)\s*\}", " ", text).strip()
    found = [(a, b, tok) for a, b, tok, depth in tokens(text) if depth == 0 and
             tok in {c for c, _ in _COMPARE}]
    if len(found) != 1:
        raise ConditionError(f"the condition '{cond.text.strip()}' is not read: a condition is "
                             "one comparison such as i = k, i \\neq k, z > 0 or z \\leq 0")
    a, b, tok = found[0]
    left, right = text[:a].strip(), text[b:].strip()
    rel = dict(_COMPARE)[tok]
    if not left or not right:
        raise ConditionError(f"the condition '{cond.text.strip()}' has an empty side")
    if rel in ("=", "!="):
        if re.fullmatch(r"[A-Za-z0-9]", left) and re.fullmatch(r"[A-Za-z0-9]", right):
            ind = f"\\delta_{{{left}{right}}}"  # reads an index literal too (0-based)
        else:
            ind = f"\\mathbb{{1}}[{left} = {right}]"
        return (ind if rel == "=" else f"\\left(1 - {ind}\\right)"), \
            f"{left} {'=' if rel == '=' else '≠'} {right}"
    diff = left if right == "0" else f"\\left({left}\\right) - \\left({right}\\right)"
    if rel in (">", ">="):
        strict = ">" if rel == ">" else "\\geq"
        return f"\\mathbb{{1}}[{diff} {strict} 0]", f"{left} {tok} {right}"
    # u < v is 1 - 1[u >= v]; u <= v is 1 - 1[u > v] (they differ only where u = v)
    flip = "\\geq" if rel == "<" else ">"
    return f"\\left(1 - \\mathbb{{1}}[{diff} {flip} 0]\\right)", f"{left} {tok} {right}"


def guard(expr: Src, cond: Src, notes: list[str]) -> Src:
    """``expr`` times the indicator of ``cond``."""
    ind, shown = _indicator(cond)
    notes.append(f"claimed under the condition {shown}: both sides multiplied by its "
                 "indicator (checked where it holds)")
    # elementwise (\odot): a condition on a vector masks it entry by entry
    return Src.join([f"{ind} \\odot \\left(", expr, "\\right)"], expr.offset())


_BEGIN = "\\begin{cases}"
_END = "\\end{cases}"


def rewrite_cases(src: Src, notes: list[str]) -> list[Src]:
    """Every ``cases`` environment of ``src`` (innermost first) as a sum of
    indicator-weighted branches.  A case holding a chain (``A = A'`` if c) gives
    more than one form: the first reads each case's first form, the next each
    case's next form (a case with fewer forms keeps its last), as written."""
    forms = [src]
    for _ in range(MAX_CASES):
        end = forms[0].text.find(_END)
        if end < 0:
            if _BEGIN in forms[0].text:
                raise ConditionError("\\begin{cases} without \\end{cases}")
            return forms
        begin = forms[0].text.rfind(_BEGIN, 0, end)
        if begin < 0:
            raise ConditionError("\\end{cases} without \\begin{cases}")
        if len(forms) > 1:
            raise ConditionError("a case holding a chain, beside another case split, is not "
                                 "read: write each form in its own equation")
        base = forms[0]
        inner = base[begin + len(_BEGIN):end]
        forms = [base.replace_span(begin, end + len(_END), f) for f in _cases(inner, notes)]
    raise ConditionError(f"more than {MAX_CASES} case splits in one expression")


def _cases(inner: Src, notes: list[str]) -> list[Src]:
    rows: list[Src] = []
    start = 0
    for a, b, tok, depth in tokens(inner.text):
        if depth == 0 and tok == "\\\\":
            rows.append(inner[start:a].strip())
            start = b
    rows.append(inner[start:].strip())
    rows = [r for r in rows if r.text]
    branches: list[tuple[list[Src], Src | None]] = []
    for row in rows:
        toks = [(a, b, tok) for a, b, tok, depth in tokens(row.text) if depth == 0]
        amp = [a for a, b, tok in toks if tok == "&"]
        commas = [a for a, b, tok in toks if tok == ","]
        cut = amp[0] if amp else commas[-1] if commas else -1
        if cut < 0:
            raise ConditionError(f"the case '{row.text}' has no condition (write "
                                 "'value & \\text{if } condition')")
        value = row[:cut].strip()
        while value.text.endswith(","):
            value = value[:-1].strip()
        cond = row[cut + 1:].strip()
        values: list[Src] = []
        start = 0
        for a, b, tok, depth in tokens(value.text):
            if depth == 0 and tok in EQUALS:
                values.append(value[start:a].strip())
                start = b
        values.append(value[start:].strip())
        if any(not v.text for v in values):
            raise ConditionError(f"the case '{row.text}' has an empty value")
        other = _TEXT_ONLY.match(cond.text.replace("&", " ")) is not None or not cond.text
        branches.append((values, None if other else cond))
    if len(branches) < 2:
        raise ConditionError("a case split needs at least two cases (with one, say the "
                             "condition after the equation: a = b, z > 0)")
    indicators: list[str] = []
    taken: list[str] = []
    shown: list[str] = []
    for k, (_values, when) in enumerate(branches):
        if when is None:
            if k != len(branches) - 1:
                raise ConditionError("'otherwise' is read only as the last case")
            indicators.append("\\left(1 - " + " - ".join(taken) + "\\right)")
            shown.append("otherwise")
        else:
            ind, text = _indicator(when)
            taken.append(ind)
            indicators.append(ind)
            shown.append(text)
    notes.append("cases (" + "; ".join(shown) + ") read as a sum of the cases, each times "
                 "the indicator of its condition")
    n_forms = max(len(values) for values, _ in branches)
    out = []
    for f in range(n_forms):
        parts: list[Src | str] = ["\\left("]
        for k, (values, _cond) in enumerate(branches):
            if k:
                parts.append(" + ")
            parts.extend([indicators[k], " \\left(", values[min(f, len(values) - 1)],
                          "\\right)"])
        parts.append("\\right)")
        out.append(Src.join(parts, inner.offset()))
    return out
