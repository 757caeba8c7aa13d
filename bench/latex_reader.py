"""The LaTeX reader against an outside benchmark: SymPy's own LaTeX parser tests (issue 13).

SymPy ships ``sympy/parsing/tests/test_latex.py``: ``GOOD_PAIRS`` (LaTeX, the
expression SymPy's parser should give) and ``BAD_STRINGS`` (LaTeX it must refuse).
Written by other people for another parser, they test derivcheck's reader from the
outside.  For every good pair, each single-letter name of the expected expression is
declared a scalar; derivcheck reads the LaTeX (``load.read_latex_in``), the engine
resolves any derivative, and the two are compared at random points (values in
[0.5, 2], where logs and roots are defined) with NumPy on derivcheck's side and
SymPy's ``evalf`` on the other: no code is shared between the two sides.

Each pair is one of:

- ``agree``: equal at every point;
- ``disagree``: read, but different at some point (each is listed: who is right is
  decided by hand in bench/results.md, SymPy's expected values have known quirks);
- ``refused, outside scope``: the expected expression uses what derivcheck does not
  model (integrals, limits, trig functions, factorials, floor/ceiling, undefined
  functions f(x), relations, complex conjugates, products, bra-kets), and derivcheck
  refused to read it;
- ``refused, in scope``: derivcheck refused notation it claims to read (listed);
- ``read, outside scope``: derivcheck read something whose expected value it cannot
  represent (listed; it should usually have refused).

And for every bad string: refused (as it must be) or read (listed).

A measurement, not a test: it asserts nothing.  Usage: python bench/latex_reader.py
[--markdown] [--list]
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import random
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import sympy  # noqa: E402

from derivcheck.engine.core import Engine  # noqa: E402
from derivcheck.engine.numeric import Point  # noqa: E402
from derivcheck.load import load_text, read_latex_in  # noqa: E402
from derivcheck.printer import to_text  # noqa: E402

OUTSIDE = (sympy.Integral, sympy.Limit, sympy.Product, sympy.core.relational.Relational,
           sympy.factorial, sympy.binomial, sympy.floor, sympy.ceiling, sympy.conjugate,
           sympy.sin, sympy.cos, sympy.tan, sympy.csc, sympy.sec, sympy.asin,
           sympy.core.function.AppliedUndef, sympy.Derivative)
POINTS = 5


def _outside(expr: object) -> bool:
    if not isinstance(expr, sympy.Basic):
        return True
    if any(isinstance(n, OUTSIDE) for n in sympy.preorder_traversal(expr)):
        # a derivative of an expression of the symbols is inside the scope
        derivs = [n for n in sympy.preorder_traversal(expr) if isinstance(n, sympy.Derivative)]
        others = [n for n in sympy.preorder_traversal(expr) if isinstance(n, OUTSIDE)
                  and not isinstance(n, sympy.Derivative)]
        return bool(others) or any(isinstance(d.expr, sympy.core.function.AppliedUndef)
                                   for d in derivs)
    if any(isinstance(n, sympy.Sum) and not all(isinstance(lim, sympy.Symbol) for lim in
           n.limits[0][1:]) for n in sympy.preorder_traversal(expr)):
        return True  # a sum with numeric bounds: derivcheck's indices run over dimensions
    if any("'" in s.name or " " in s.name or s.name == "pi" for s in expr.atoms(sympy.Symbol)):
        return True  # primes and spaces in names; pi (derivcheck has no constant pi)
    return expr.has(sympy.oo, sympy.zoo, sympy.nan, sympy.I, sympy.pi) or _is_quantum(expr)


def _is_quantum(expr: sympy.Basic) -> bool:
    return any(type(n).__module__.startswith("sympy.physics") for n in
               sympy.preorder_traversal(expr))


def _derivation(names: list[str]):  # type: ignore[no-untyped-def]
    """A derivation declaring each of SymPy's symbol names as a scalar: the name itself
    when it is an identifier, else ``s0``, ``s1``... with the name as its LaTeX."""
    import re

    from derivcheck.load import RESERVED

    decl, idents = [], {}
    for k, n in enumerate(names):
        if re.fullmatch(r"[A-Za-z][A-Za-z0-9]*", n) and n not in RESERVED:
            decl.append(f"{n}: scalar")
            idents[n] = n
        else:
            ident = f"s{k}"
            quoted = n.replace("'", "''")
            decl.append(f"{ident}: {{kind: scalar, latex: '{quoted}'}}")
            idents[ident] = n
    text = "title: t\nsymbols:\n" + "".join(f"  {d}\n" for d in decl or ["unused_: scalar"])
    return load_text(text + "steps: [{id: s, claim: '0 = 0'}]\n", "<latex bench>"), idents


def _compare(latex: str, expected: sympy.Expr, rng: random.Random) -> tuple[str, str]:
    names = sorted({str(s) for s in expected.atoms(sympy.Symbol)} - {"E", "I", "e"})
    try:
        derivation, idents = _derivation(names)
        node, bound = read_latex_in(derivation, latex)
    except Exception as exc:
        return "refused", str(exc).splitlines()[0][:120]
    engine = Engine(dataclasses.replace(derivation, bound=bound))  # indices the text sums
    try:
        resolved = engine.resolve(node, "gradient")
    except Exception as exc:
        return "refused", f"engine: {exc}"[:120]
    value = expected.doit()
    for _ in range(POINTS):
        point = {ident: rng.uniform(0.5, 2.0) for ident in idents}
        try:
            ev = engine.evaluator(Point({}, {n: np.array(v) for n, v in point.items()}))
            mine = complex(np.asarray(ev.value(resolved)).reshape(-1)[0])
        except Exception as exc:
            return "disagree", f"derivcheck could not evaluate {to_text(resolved)}: {exc}"
        theirs = complex(value.subs({sympy.Symbol(idents[i]): v for i, v in point.items()})
                         .evalf())
        if not (math.isclose(mine.real, theirs.real, rel_tol=1e-9, abs_tol=1e-12)
                and abs(mine.imag - theirs.imag) < 1e-9):
            return "disagree", (f"read as {to_text(node)}; derivcheck {mine.real:.6g}, "
                                f"SymPy {theirs.real:.6g}")
    return "agree", f"read as {to_text(node)}"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--markdown", action="store_true")
    ap.add_argument("--list", action="store_true", help="list every pair, not only the misses")
    args = ap.parse_args()
    from sympy.parsing.tests import test_latex as suite

    rng = random.Random(0)
    counts: dict[str, int] = {}
    listed: list[str] = []
    for latex, expected in suite.GOOD_PAIRS:
        outside = _outside(sympy.sympify(expected))
        expected = sympy.sympify(expected)  # SymPy's own test values (ints), not input
        how, detail = _compare(latex, expected, rng)
        if how == "refused":
            key = "refused, outside scope" if outside else "refused, in scope"
        elif outside:
            key = "read, outside scope"
        else:
            key = how
        counts[key] = counts.get(key, 0) + 1
        if args.list or key in ("disagree", "refused, in scope", "read, outside scope"):
            listed.append(f"- {key}: `{latex}` (SymPy: `{expected}`): {detail}")
    bad_read = []
    for latex in suite.BAD_STRINGS:
        try:
            read_latex_in(_derivation(list("abcxyz"))[0], latex)
            bad_read.append(latex)
        except Exception:
            continue
    total = len(suite.GOOD_PAIRS)
    print(f"SymPy {sympy.__version__}: {total} good pairs, {len(suite.BAD_STRINGS)} bad strings")
    print("")
    print("| outcome | pairs |")
    print("|---|---|")
    for key in ("agree", "disagree", "refused, in scope", "refused, outside scope",
                "read, outside scope"):
        print(f"| {key} | {counts.get(key, 0)} |")
    print(f"| bad strings refused | {len(suite.BAD_STRINGS) - len(bad_read)} of "
          f"{len(suite.BAD_STRINGS)} |")
    print("")
    for line in listed:
        print(line)
    for latex in bad_read:
        print(f"- bad string read: `{latex}`")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
