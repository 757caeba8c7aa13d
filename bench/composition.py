"""What the corpus is made of, against issue 6's list of mistake kinds.

A false claim's kind is read from its note ("mistake: <code>; <explanation>"):
the code, and for the kinds no code names, words of the explanation.
"""

from __future__ import annotations

import re
from collections import Counter

from bench.corpus import Claim

# kind -> (diagnosis codes, words in the note), either suffices
KINDS: dict[str, tuple[tuple[str, ...], str | None]] = {
    "sign": (("sign-error",), None),
    "transpose": (("transpose",), r"\btranspose|in the wrong order"),
    "index": (("wrong-index",), r"\bindex mistake|wrong index|indices swapped"),
    "dropped factor or term": (("scale-factor", "missing-term"), r"\bdropped\b"),
    "missing ReLU mask": (("missing-relu-mask",), None),
    "wrong layer's weights": ((), r"wrong layer|layers' weights"),
    "outer vs inner product": ((), r"inner product|outer product"),
    "missing sum": ((), r"sum over \w+ is dropped|missing sum|sum is missing"),
    "log base": (("log-base",), r"log ?base|log10|log2|natural-log|natural log"),
    "one-hot assumed, undeclared": (("needs-assumption",),
                                    r"one-hot|sum\(\w+\) = 1|unit norm"),
}
# kinds whose code alone is not enough: the note's words are required too
NEEDS_WORDS = frozenset({"one-hot assumed, undeclared"})


def mistake_kinds(claim: Claim) -> list[str]:
    """The issue's mistake kinds a false claim exhibits (empty for true claims)."""
    if claim.true:
        return []
    note = claim.step.note or ""
    out = []
    for kind, (codes, words) in KINDS.items():
        by_code = claim.mistake in codes
        by_words = bool(words and re.search(words, note, re.IGNORECASE))
        if (by_code and by_words) if kind in NEEDS_WORDS else (by_code or by_words):
            out.append(kind)
    return out


def composition(claims: list[Claim]) -> dict:
    """Counts for the report: sizes, true/false, LaTeX, kinds, sources."""
    false = [c for c in claims if not c.true]
    kinds: Counter[str] = Counter()
    for c in false:
        kinds.update(mistake_kinds(c))
    return {
        "claims": len(claims),
        "true": len(claims) - len(false),
        "false": len(false),
        "false_fraction": round(len(false) / len(claims), 3) if claims else 0.0,
        "with_latex": sum(1 for c in claims if c.latex_lhs is not None),
        "derivative_claims": sum(1 for c in claims if c.has_derivative),
        "source_document_claims": sum(1 for c in claims if c.derivation.source),
        "files": dict(Counter(c.file for c in claims)),
        "mistake_codes": dict(Counter(c.mistake or "(none given)" for c in false)),
        "mistake_kinds": {k: kinds.get(k, 0) for k in KINDS},
        "missing_kinds": [k for k in KINDS if not kinds.get(k)],
    }
