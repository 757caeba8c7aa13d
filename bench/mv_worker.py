"""Runs inside bench/.venv-mathverify (math-verify's own environment): no derivcheck here.

Reads a JSON list of {"key", "lhs", "rhs"} (LaTeX) on standard input and
writes a JSON list of {"key", "verdict", "detail", "seconds"} on standard
output.  verdict: "holds" (verify() is True), "refuted" (False) or
"unparsed" (parse() found no expression on a side).
"""

from __future__ import annotations

import json
import sys
import time


def main() -> None:
    from math_verify import parse, verify

    pairs = json.load(sys.stdin)
    # warm: the first parse loads the grammar
    verify(parse("$x + 1$"), parse("$1 + x$"))
    out = []
    for item in pairs:
        start = time.perf_counter()
        try:
            lhs = parse(f"${item['lhs']}$")
            rhs = parse(f"${item['rhs']}$")
            if not lhs or not rhs:
                verdict, detail = "unparsed", "parse() found no expression"
            else:
                verdict = "holds" if verify(lhs, rhs) else "refuted"
                detail = f"read as {lhs[0]} = {rhs[0]}"
        except Exception as exc:  # math-verify swallows most errors itself
            verdict, detail = "unparsed", f"{type(exc).__name__}: {exc}"[:200]
        out.append({"key": item["key"], "verdict": verdict, "detail": detail[:300],
                    "seconds": time.perf_counter() - start})
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
