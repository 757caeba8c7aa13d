"""The soundness fuzzer: mutants of true claims, judged by an oracle that is not derivcheck.

For every equation of ``derivations/`` and ``bench/corpus/`` that its file expects to
hold (and that the independent oracle, bench/oracle.py, confirms), mutants of its right
side are made with operators that model real mistakes (a dimension name for another,
a sum range shortened, a constant perturbed by 1e-12 relative, a tiny term added, two
indices swapped, a factor transposed, a term dropped, a symbol for another of the same
kind, another log base, a ReLU threshold moved, a sign flipped, a factor of 2 or of a
size, ``*`` for ``@``).  The oracle labels each mutant (``false``: differs by more than
1e-9 relative at some point of its own; ``tiny``: differs, by less; ``equal``; ``shape``:
the sides never fit; ``unsupported``), then derivcheck verifies it.  A false accept is a
mutant the oracle labels ``false`` (or ``shape``) that derivcheck reports ``proved`` or
``checked``.

    python bench/mutants.py --count 20000 --seed 1      # the long run (make fuzz)
    python bench/mutants.py --count 300                 # a quick one

It prints the tally by oracle label and derivcheck verdict as a Markdown table (for
bench/results.md).  tests/test_soundness_fuzz.py runs a fixed seeded sample.
"""

from __future__ import annotations

import argparse
import ast
import copy
import io
import random
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ruamel.yaml import YAML

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import oracle  # noqa: E402

SOURCES = ("derivations", "bench/corpus")
ACCEPTS = ("proved", "checked")


# ---------------------------------------------------------------- mutation operators


def _nodes(tree: ast.expr) -> list[tuple[ast.AST, list[tuple[str, int | None]]]]:
    """Every expression node with the path of (field, position) that leads to it."""
    out: list[tuple[ast.AST, list[tuple[str, int | None]]]] = []

    def walk(node: ast.AST, path: list[tuple[str, int | None]]) -> None:
        out.append((node, path))
        for name, value in ast.iter_fields(node):
            if isinstance(value, ast.expr):
                walk(value, [*path, (name, None)])
            elif isinstance(value, list):
                for i, item in enumerate(value):
                    if isinstance(item, ast.expr):
                        walk(item, [*path, (name, i)])

    walk(tree, [])
    return out


def _replace(tree: ast.expr, path: list[tuple[str, int | None]], new: ast.expr) -> ast.expr:
    if not path:
        return new
    tree = copy.deepcopy(tree)
    node: ast.AST = tree
    for name, pos in path[:-1]:
        node = getattr(node, name) if pos is None else getattr(node, name)[pos]
    name, pos = path[-1]
    if pos is None:
        setattr(node, name, new)
    else:
        getattr(node, name)[pos] = new
    return tree


def _num(value: float | int) -> ast.expr:
    return ast.Constant(value)


def _bin(left: ast.expr, op: ast.operator, right: ast.expr) -> ast.expr:
    return ast.BinOp(left, op, right)


def _subst(node: ast.expr, name: str, value: ast.expr) -> ast.expr:
    class Sub(ast.NodeTransformer):
        def visit_Name(self, n: ast.Name) -> ast.expr:
            return copy.deepcopy(value) if n.id == name else n

    return Sub().visit(copy.deepcopy(node))


def mutations(tree: ast.expr, prob: oracle.Problem) -> Iterator[tuple[str, ast.expr]]:
    """(operator, mutant) for every place an operator applies."""
    syms = prob.symbols
    dims = prob.dims
    indices = prob.indices
    for node, path in _nodes(tree):
        if isinstance(node, ast.Name):
            name = node.id
            if name in dims:
                for other in dims:
                    if other != name:
                        yield "swap-dimension", _replace(tree, path, ast.Name(other))
            elif name in indices and path and path[-1] != ("args", 0):
                for other, dim in indices.items():
                    if other != name and other not in prob.fixed:
                        op = "other-index-same-range" if dim == indices[name] else "other-index"
                        yield op, _replace(tree, path, ast.Name(other))
            elif name in syms and syms[name].kind != "index":
                sym = syms[name]
                for other in syms.values():
                    if other.name != name and other.dims == sym.dims and other.kind != "index":
                        yield "other-symbol", _replace(tree, path, ast.Name(other.name))
                if len(sym.dims) == 2:
                    yield "transpose", _replace(tree, path, ast.Attribute(node, "T"))
        elif isinstance(node, ast.Constant) and isinstance(node.value, int | float) \
                and not isinstance(node.value, bool) and path and path[-1][0] != "slice":
            v = node.value
            if v != 0:
                yield "perturb-1e-12", _replace(tree, path, _num(float(v) * (1 + 1e-12)))
                yield "perturb-1e-6", _replace(tree, path, _num(float(v) * (1 + 1e-6)))
            if isinstance(v, int):
                yield "constant-plus-1", _replace(tree, path, _num(v + 1))
        elif isinstance(node, ast.BinOp):
            if isinstance(node.op, ast.Add | ast.Sub):
                yield "drop-term", _replace(tree, path, node.left)
                yield "drop-term", _replace(tree, path, node.right)
                flipped = ast.Sub() if isinstance(node.op, ast.Add) else ast.Add()
                yield "sign", _replace(tree, path, _bin(node.left, flipped, node.right))
            if isinstance(node.op, ast.Mult):
                yield "mul-for-matmul", _replace(tree, path,
                                                 _bin(node.left, ast.MatMult(), node.right))
                yield "drop-factor", _replace(tree, path, node.left)
                yield "drop-factor", _replace(tree, path, node.right)
            if isinstance(node.op, ast.MatMult):
                yield "matmul-for-mul", _replace(tree, path,
                                                 _bin(node.left, ast.Mult(), node.right))
            if isinstance(node.op, ast.Div):
                yield "drop-divisor", _replace(tree, path, node.left)
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            yield "sign", _replace(tree, path, node.operand)
        elif isinstance(node, ast.Attribute) and node.attr == "T":
            yield "transpose", _replace(tree, path, node.value)
        elif isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Tuple) \
                and len(node.slice.elts) == 2:
            i, j = node.slice.elts
            swapped = ast.Subscript(node.value, ast.Tuple([j, i]))
            yield "swap-indices", _replace(tree, path, swapped)
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            fn = node.func.id
            if fn in ("log", "log2", "log10"):
                for other in ("log", "log2", "log10"):
                    if other != fn:
                        yield "log-base", _replace(tree, path, ast.Call(ast.Name(other),
                                                                        node.args, []))
            if fn in ("relu", "relu_prime") and node.args:
                moved = _bin(node.args[0], ast.Sub(), _num(0.5))
                yield "relu-threshold", _replace(tree, path, ast.Call(ast.Name(fn), [moved], []))
            if fn in ("tanh", "sigmoid"):
                other = "sigmoid" if fn == "tanh" else "tanh"
                yield "activation", _replace(tree, path, ast.Call(ast.Name(other), node.args, []))
            if fn == "Sum" and len(node.args) == 2 and isinstance(node.args[0], ast.Name):
                first = _subst(node.args[1], node.args[0].id, _num(0))
                yield "sum-range", _replace(tree, path, _bin(node, ast.Sub(), first))
        in_index = any(name == "slice" for name, _ in path)
        if isinstance(node, ast.expr) and not isinstance(node, ast.Name | ast.Constant
                                                         | ast.Tuple) and not in_index:
            yield "tiny-term", _replace(tree, path, _bin(node, ast.Add(), _num(1e-12)))
    yield "tiny-term", _bin(tree, ast.Add(), _num(1e-12))
    yield "scale", _bin(_num(2), ast.Mult(), tree)
    for d in dims:
        yield "size-factor", _bin(tree, ast.Div(), ast.Name(d))


# ---------------------------------------------------------------- the run


@dataclass(frozen=True)
class Mutant:
    source: str  # file and step id#link
    operator: str
    lhs: str
    rhs: str
    layout: str
    label: str = ""
    difference: float = 0.0
    verdict: str = ""


def _load(path: Path) -> dict:
    return YAML(typ="safe").load(path.read_text(encoding="utf-8"))


def bases(root: Path = ROOT) -> Iterator[tuple[Path, dict, str, str, str, str]]:
    """(file, document, step id, left, right, layout) of every equation expected to hold."""
    for source in SOURCES:
        for path in sorted((root / source).glob("*.yaml")):
            doc = _load(path)
            for sid, lhs, rhs, layout in oracle.true_claims(doc):
                yield path, doc, sid, lhs, rhs, layout


def _distinct(tree: ast.expr, prob: oracle.Problem, seen: set[str]
              ) -> list[tuple[str, ast.expr, str]]:
    """(operator, mutant, its text) of every mutation of ``tree`` not in ``seen``."""
    out = []
    for op, mutant in mutations(tree, prob):
        try:
            text = oracle.show(mutant)
        except oracle.Unsupported:
            continue
        if text not in seen:
            seen.add(text)
            out.append((op, mutant, text))
    return out


def make_mutants(count: int, seed: int, root: Path = ROOT) -> list[tuple[Path, dict, Mutant]]:
    """About ``count`` distinct mutants, spread evenly over the base equations: every
    single mutation first, then (when more are asked for) two mutations composed, as two
    mistakes in one step."""
    rng = random.Random(seed)
    per_base = []
    for path, doc, sid, lhs, rhs, layout in bases(root):
        try:
            prob = oracle.problem(doc)
            tree = oracle.parse(rhs)
            seen = {oracle.show(tree)}
        except oracle.Unsupported:
            continue
        first = _distinct(tree, prob, seen)
        rng.shuffle(first)
        where = f"{path.relative_to(root)}:{sid}"
        per_base.append((path, doc, where, lhs.strip(), layout, prob, seen, first))
    out: list[tuple[Path, dict, Mutant]] = []

    def spread(lists: list[list[Mutant]]) -> None:
        depth = 0
        while len(out) < count and any(depth < len(f) for f in lists):
            for base, found in zip(per_base, lists, strict=True):
                if depth < len(found) and len(out) < count:
                    out.append((base[0], base[1], found[depth]))
            depth += 1

    spread([[Mutant(where, op, lhs, text, layout) for op, _, text in first]
            for _, _, where, lhs, layout, _, _, first in per_base])
    if len(out) < count:
        doubles = []
        # each single mutant gives up to 4 doubles: only as many singles as needed
        wanted = (count - len(out)) // (4 * max(len(per_base), 1)) + 2
        for _, _, where, lhs, layout, prob, seen, first in per_base:
            found = []
            for op, tree, _ in first[:wanted]:
                second = _distinct(tree, prob, seen)
                for op2, _, text in rng.sample(second, min(4, len(second))):
                    found.append(Mutant(where, f"{op}+{op2}", lhs, text, layout))
            rng.shuffle(found)
            doubles.append(found)
        spread(doubles)
    return out


def judge(doc: dict, mutant: Mutant, seed: int,
          judges: dict[tuple[int, str], oracle.Judge] | None = None) -> Mutant:
    """The oracle's label of ``mutant``.  ``judges``: one ``Judge`` per file and layout,
    kept across calls, so that the file is read and its points drawn once (the same seed
    draws the same points, so the label is the same)."""
    judges = {} if judges is None else judges
    try:
        key = (id(doc), mutant.layout)
        if key not in judges:
            prob = oracle.problem(doc)
            prob.layout = mutant.layout
            judges[key] = oracle.Judge(prob, seed=seed)
        j = judges[key].judge(oracle.parse(mutant.lhs), oracle.parse(mutant.rhs))
        return Mutant(**{**mutant.__dict__, "label": j.label, "difference": j.difference})
    except oracle.Unsupported:
        return Mutant(**{**mutant.__dict__, "label": "unsupported"})


def _yaml_text(doc: dict, mutants: list[Mutant]) -> str:
    out = {k: doc[k] for k in ("title", "symbols", "conventions", "assume", "define")
           if k in doc}
    out.setdefault("title", "mutants")
    out["steps"] = [{"id": f"m{n}", "claim": f"{m.lhs} = {m.rhs}", "layout": m.layout}
                    for n, m in enumerate(mutants)]
    buf = io.StringIO()
    yaml = YAML()
    yaml.width = 10 ** 6
    yaml.dump(out, buf)
    return buf.getvalue()


def verdicts(doc: dict, mutants: list[Mutant], seed: int) -> list[str]:
    """derivcheck's verdict on each mutant (``input_error`` when it refuses to read it)."""
    from derivcheck.decide import Options
    from derivcheck.errors import InputError
    from derivcheck.load import load_text
    from derivcheck.verify import verify_derivation

    options = Options(seed=seed)
    try:
        steps = verify_derivation(load_text(_yaml_text(doc, mutants), "<mutants>"), options)
        return [s.verdict.value for s in steps]
    except InputError:  # one mutant derivcheck refuses to read: find it by halves
        if len(mutants) == 1:
            return ["input_error"]
        half = len(mutants) // 2
        return verdicts(doc, mutants[:half], seed) + verdicts(doc, mutants[half:], seed)


def run(count: int, seed: int, judge_seed: int = 7, *, chunk: int = 40,
        progress: bool = False, shard: tuple[int, int] = (0, 1)) -> list[Mutant]:
    """Make, judge and verify about ``count`` mutants; every one comes back labelled.
    ``shard`` (i, n): only the i-th of every n mutants (to run n processes at once)."""
    made = make_mutants(count, seed)[shard[0]::shard[1]]
    judges: dict[tuple[int, str], oracle.Judge] = {}
    judged = [(doc, judge(doc, m, judge_seed, judges)) for _, doc, m in made]
    out: list[Mutant] = []
    by_file: dict[int, tuple[dict, list[Mutant]]] = {}
    for doc, m in judged:
        if m.label in ("unsupported", "unusable"):
            out.append(m)
            continue
        by_file.setdefault(id(doc), (doc, []))[1].append(m)
    done = 0
    for doc, ms in by_file.values():
        for start in range(0, len(ms), chunk):
            part = ms[start:start + chunk]
            for m, v in zip(part, verdicts(doc, part, seed), strict=True):
                out.append(Mutant(**{**m.__dict__, "verdict": v}))
            done += len(part)
            if progress:
                print(f"  {done} verified", file=sys.stderr, flush=True)
    return out


def false_accepts(results: list[Mutant]) -> list[Mutant]:
    return [m for m in results if m.label in ("false", "shape") and m.verdict in ACCEPTS]


def tally(results: list[Mutant]) -> Counter:
    return Counter((m.label, m.verdict or "-") for m in results)


def markdown(results: list[Mutant], seconds: float, seed: int) -> str:
    t = tally(results)
    labels = ["false", "shape", "tiny", "equal", "unusable", "unsupported"]
    verdict_names = ["proved", "checked", "refuted", "ill_formed", "undecided", "input_error",
                     "-"]
    lines = [f"{len(results)} distinct mutants of "
             f"{len({m.source for m in results})} true equations (seed {seed}), "
             f"{seconds:.0f} s in all.", "",
             "| oracle label | " + " | ".join(verdict_names) + " | all |",
             "|---|" + "---|" * (len(verdict_names) + 1)]
    for label in labels:
        row = [t[(label, v)] for v in verdict_names]
        lines.append(f"| {label} | " + " | ".join(map(str, row)) + f" | {sum(row)} |")
    fa = false_accepts(results)
    by = Counter(m.verdict for m in fa)
    lines += ["", f"False accepts (label false or shape, verdict proved or checked): "
              f"{len(fa)} ({by['proved']} proved, {by['checked']} checked)."]
    ops = Counter(m.operator for m in results if m.label == "false")
    lines += ["", "Mutants labelled false, by operator: "
              + ", ".join(f"{k} {v}" for k, v in sorted(ops.items()))]
    return "\n".join(lines)


def _shard_run(job: tuple[int, int, tuple[int, int]]) -> list[Mutant]:
    count, seed, shard = job
    return run(count, seed, progress=shard[0] == 0, shard=shard)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--count", type=int, default=300)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--shard", default="0/1", help="i/n: the i-th of every n mutants")
    ap.add_argument("--jobs", type=int, default=1, help="processes (shards run at once)")
    args = ap.parse_args(argv)
    start = time.perf_counter()
    i, n = (int(v) for v in args.shard.split("/"))
    if args.jobs > 1:
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(args.jobs) as ex:
            parts = ex.map(_shard_run, [(args.count, args.seed, (j, args.jobs))
                                        for j in range(args.jobs)])
            results = [m for part in parts for m in part]
    else:
        results = run(args.count, args.seed, progress=True, shard=(i, n))
    seconds = time.perf_counter() - start
    print(markdown(results, seconds, args.seed))
    for m in false_accepts(results):
        print(f"FALSE ACCEPT {m.verdict}: {m.source} [{m.operator}] {m.lhs} = {m.rhs}"
              f" (oracle difference {m.difference:.3g})")
    return 1 if false_accepts(results) else 0


if __name__ == "__main__":
    sys.exit(main())
