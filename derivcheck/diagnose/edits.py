"""Rules that repair the claim with one small edit, and name the edit.

Each candidate edit is applied to the claim (or, for a forgotten ReLU, to the
reference) and kept only if the edited claim equals the reference at every
compared point: a factor transposed, the ReLU's input used for its output, a
symbol or an index that should be another, the factors of a product in the
wrong order, a logarithm with the wrong base.  Candidates are few (one per
occurrence and alternative), and most fail at the first point.
"""

from __future__ import annotations

from collections.abc import Iterator
from itertools import combinations

import numpy as np

from derivcheck import ir
from derivcheck.codes import Diagnosis, diagnosis
from derivcheck.decide import AGREE, Options, sample_both
from derivcheck.diagnose.probe import Path, Probe, positions, replace_all, replace_at
from derivcheck.display import readable
from derivcheck.engine.core import Engine
from derivcheck.engine.numeric import EvalError
from derivcheck.errors import ShapeError, Unsupported
from derivcheck.ir import E, Shape
from derivcheck.printer import to_text_bounded

MAX_CANDIDATES = 300  # per rule: bounds the cost on long claims
LOGS = ("log", "log2", "log10")
_NOT_EDITED = frozenset({"num", "dim", "eye", "delta", "span", "idx", "int", "seed", "jac", "ones"})


def _shaped(probe: Probe, claim: E) -> Iterator[tuple[Path, E, Shape, str]]:
    """Sub-expressions of the claim (not the whole) with their shapes and parent's op."""
    parents = {path: node.op for path, node in positions(claim)}
    for path, node in positions(claim):
        if not path or node.op in _NOT_EDITED:
            continue
        shape = probe.shape(node)
        if shape is not None:
            yield path, node, shape, parents[path[:-1]]


def _holds(probe: Probe, edited: E, want: Shape | None) -> bool:
    return probe.shape(edited) == want and probe.equals(edited)


# -- a factor transposed -------------------------------------------------------------

def _transposable(probe: Probe, claim: E, square: bool) -> list[tuple[Path, E]]:
    """Matrix sub-expressions, smallest first; a transposed one counts once (as ``A.T``).

    Not the matrix of an element ``A[i, j]``: there the indices are swapped instead.
    """
    found = []
    sizes = ir.tree_sizes(claim)
    for path, node, shape, parent in _shaped(probe, claim):
        if len(shape) != 2 or parent in ("T", "elem") or 1 in shape:
            continue
        if (shape[0] == shape[1]) == square:
            found.append((sizes[id(node)], path, node))
    found.sort(key=lambda c: (c[0], c[1]))
    return [(p, n) for _, p, n in found[:MAX_CANDIDATES]]


def _transposed_text(node: E) -> str:
    return (f"the claim holds with `{to_text_bounded(ir.transpose(node))}` in place of "
            f"`{to_text_bounded(node)}`")


def transposed_factor(probe: Probe, claim: E) -> Diagnosis | None:
    """Transposing one square matrix of the claim makes it hold (``A @ a`` for ``A.T @ a``)."""
    want = probe.shape(claim)
    for path, node in _transposable(probe, claim, square=True):
        if _holds(probe, replace_at(claim, path, ir.transpose(node)), want):
            return diagnosis("transpose", detail=_transposed_text(node))
    return None


def agrees_at_fresh_points(engine: Engine, ref: E, edited: E, free: frozenset[str],
                           options: Options, rng: np.random.Generator) -> bool:
    """``edited`` equals ``ref`` at fresh points (2 size settings, 3 points each)."""
    quick = Options(options.seed, 2, 3, False)
    try:
        samples, _ = sample_both(engine, ref, edited, free, quick, rng,
                                 stop_at_disagreement=True)
    except (EvalError, ShapeError, Unsupported):
        return False
    return len(samples) >= quick.points * quick.settings and \
        max(e for s in samples for e in s.errors) <= AGREE


def transposed_whole(engine: Engine, ref: E, claim: E, free: frozenset[str], options: Options,
                     rng: np.random.Generator) -> Diagnosis | None:
    """For an ill-formed claim of the transposed shape: its transpose holds."""
    if agrees_at_fresh_points(engine, ref, ir.transpose(claim), free, options, rng):
        return diagnosis("transpose", detail="the claimed side is the transpose of the "
                                             "reference side")
    return None


def transposed_factor_shapes(engine: Engine, ref: E, claim: E, free: frozenset[str],
                             options: Options, rng: np.random.Generator
                             ) -> Diagnosis | None:
    """For an ill-formed claim: transposing one non-square factor makes the shapes fit
    and the claim hold (``X @ r`` for ``X.T @ r``), checked at fresh points."""
    probe = Probe(engine, [])
    want = probe.shape(ref)
    if want is None:
        return None
    tried = 0
    for path, node in _transposable(probe, claim, square=False):
        edited = replace_at(claim, path, ir.transpose(node))
        if probe.shape(edited) != want:
            continue
        tried += 1
        if tried > 4:
            break
        if agrees_at_fresh_points(engine, ref, edited, free, options, rng):
            return diagnosis("transpose", detail=_transposed_text(node))
    return None


# -- the ReLU's input used for its output ------------------------------------------------

def relu_input(probe: Probe, ref: E) -> Diagnosis | None:
    """The claim equals the reference with a ReLU's output replaced by its input
    (``z1`` written for ``a1 = relu(z1)``): the mask ``relu_prime(z1)`` is missing."""
    defs = probe.engine.definitions
    sites: dict[E, tuple[E, list[Path]]] = {}
    for path, node in positions(ref):
        if node.op == "ref" and defs[str(node.val)].op == "fn" and \
                defs[str(node.val)].val == "relu":
            inner = defs[str(node.val)].args[0]
        elif node.op == "fn" and node.val == "relu":
            inner = node.args[0]
        else:
            continue
        sites.setdefault(node, (inner, []))[1].append(path)
    for node, (inner, paths) in sites.items():
        # every occurrence first (the input used throughout), then each one alone
        everywhere = replace_all(ref, node, inner)
        alone = [replace_at(ref, p, inner) for p in paths] if len(paths) > 1 else []
        for edited in [everywhere, *alone]:
            if probe.equals(edited, "claim"):
                text = to_text_bounded(inner)
                named = f"`{to_text_bounded(node)}` = " if node.op == "ref" else ""
                return diagnosis("missing-relu-mask",
                                 mask=f"relu_prime({text}) (the claim uses `{text}` where the "
                                      f"reference has {named}relu({text}))")
    return None


# -- a wrong symbol, index, order or log base ----------------------------------------------

def wrong_symbol(probe: Probe, ref: E, claim: E) -> Diagnosis | None:
    """Another symbol or defined name of the same shape in one place (or everywhere), or
    two of them swapped, makes the claim hold (the wrong layer's weights)."""
    engine = probe.engine
    want = probe.shape(claim)
    usable = engine.used_symbols(ref) | engine.used_symbols(claim)
    names = [E("sym", val=n) for n in sorted(usable)]
    names += [E("ref", val=n) for n in sorted(engine.definitions)
              if not engine.def_free.get(n) and engine.used_symbols(E("ref", val=n)) <= usable]
    by_shape: dict[Shape, list[E]] = {}
    for n in names:
        shape = probe.shape(n)
        if shape is not None:
            by_shape.setdefault(shape, []).append(n)
    sites = [(p, n, s) for p, n in positions(claim) if n.op in ("sym", "ref")
             for s in [probe.shape(n)] if s is not None]
    tried = 0
    for path, node, shape in sites:
        for other in by_shape.get(shape, []):
            if other == node:
                continue
            tried += 1
            edited = replace_at(claim, path, other)
            if _is_the_reference(engine, edited, ref):
                continue  # `r` for the claim of `r = -q`: says nothing
            if tried <= MAX_CANDIDATES and _holds(probe, edited, want):
                return _symbol(node, other, edited, "")
    for node in dict.fromkeys(n for _, n, _ in sites):  # one name for another everywhere
        paths = [p for p, n, _ in sites if n == node]
        if len(paths) < 2:
            continue
        for other in by_shape.get(probe.shape(node) or (), []):
            if other == node:
                continue
            edited = claim
            for p in paths:
                edited = replace_at(edited, p, other)
            if _holds(probe, edited, want):
                return _symbol(node, other, edited, " everywhere")
    for (p1, n1, s1), (p2, n2, s2) in list(combinations(sites, 2))[:MAX_CANDIDATES]:
        if n1 == n2 or s1 != s2:
            continue
        edited = replace_at(replace_at(claim, p1, n2), p2, n1)
        if _holds(probe, edited, want):
            return diagnosis("wrong-symbol", fixed=to_text_bounded(edited),
                             detail=f"`{to_text_bounded(n1)}` and `{to_text_bounded(n2)}` "
                                    "are swapped")
    return None


def _is_the_reference(engine: Engine, edited: E, ref: E) -> bool:
    """Whether an edited claim is the reference itself (through defined names): a
    repair that replaces the whole claim by the other side explains nothing."""
    def body(node: E) -> E:
        seen: set[str] = set()
        while node.op == "ref" and str(node.val) in engine.definitions \
                and str(node.val) not in seen:
            seen.add(str(node.val))
            node = engine.definitions[str(node.val)]
        return node
    return edited == ref or body(edited) == body(ref)


def _symbol(node: E, other: E, edited: E, where: str) -> Diagnosis:
    return diagnosis("wrong-symbol", fixed=to_text_bounded(edited),
                     detail=f"`{to_text_bounded(node)}` where `{to_text_bounded(other)}` "
                            f"fits{where}")


def wrong_index(probe: Probe, claim: E) -> Diagnosis | None:
    """Another index of the same range in one place, or the two indices of one element
    swapped (``W[j, i]`` for ``W[i, j]``), makes the claim hold."""
    ranges = {n: s.dims[0] for n, s in probe.engine.symbols.items() if s.is_index}
    want = probe.shape(claim)
    tried = 0
    for path, node in positions(claim):
        if node.op == "elem" and len(node.args) == 3 and node.args[1] != node.args[2]:
            a, i, j = node.args
            edited = replace_at(claim, path, E("elem", (a, j, i)))
            if _holds(probe, edited, want):
                return diagnosis("wrong-index", fixed=to_text_bounded(edited),
                                 detail=f"`{to_text_bounded(node)}` has its indices swapped")
        if node.op != "idx" or node.val not in ranges:
            continue
        for other in sorted(ranges):
            if other == node.val or ranges[other] != ranges[node.val]:
                continue
            tried += 1
            if tried > MAX_CANDIDATES:
                return None
            edited = replace_at(claim, path, E("idx", val=other))
            if _holds(probe, edited, want):
                return diagnosis("wrong-index", fixed=to_text_bounded(edited),
                                 detail=f"`{node.val}` where `{other}` fits")
    return None


def wrong_order(probe: Probe, claim: E) -> Diagnosis | None:
    """Swapping the two factors of one matrix product makes the claim hold
    (``inv(G) @ inv(Q)`` for ``inv(Q) @ inv(G)``, ``s.T @ s`` for ``s @ s.T``)."""
    want = probe.shape(claim)
    for path, node in positions(claim):
        if node.op != "matmul" or node.args[0] == node.args[1]:
            continue
        swapped = E("matmul", (node.args[1], node.args[0]))
        if _holds(probe, replace_at(claim, path, swapped), want):
            return diagnosis("wrong-order", product=to_text_bounded(node),
                             fixed=to_text_bounded(swapped))
    return None


def log_base(probe: Probe, claim: E) -> Diagnosis | None:
    """Another base for one logarithm (``log10`` for ``log``) makes the claim hold."""
    want = probe.shape(claim)
    for path, node in positions(claim):
        if node.op != "fn" or node.val not in LOGS:
            continue
        for other in LOGS:
            if other != node.val and _holds(probe, replace_at(claim, path, ir.fn(
                    other, *node.args)), want):
                return diagnosis("log-base", detail=f"`{to_text_bounded(node)}` with {other} for "
                                 f"{node.val} makes the claim hold")
    return None


# -- a sum left out ------------------------------------------------------------------

def missing_sum(probe: Probe, ref: E, claim: E) -> Diagnosis | None:
    """The claim has an index the reference does not (free on the right only), and
    summing the claim over it makes the claim hold: the sum was left out (one
    example's term for a batch sum, one ``j`` of ``sum_j (A_ij + A_ji) x_j``)."""
    engine = probe.engine
    extra = sorted(engine.free_indices(claim) - engine.free_indices(ref))
    want = probe.shape(claim)
    for var in extra:
        summed = ir.index_sum(var, claim)
        if _holds(probe, summed, want):
            return diagnosis("missing-sum", index=var, fixed=to_text_bounded(summed))
    return None


def partial_sum(probe: Probe, ref: E, claim: E) -> Diagnosis | None:
    """A sum over part of its range (``\\sum_{k=1}^{K-1}``: ``span`` in the IR) that, run
    over the whole range, makes the step hold: in the claim, or in the reference where
    that is the other side as written (``\\sum_{k=1}^{K-1} y_k = 1``)."""
    want = probe.shape(claim)
    for side, node in (("claim", claim), ("ref", ref)):
        for path, sub in positions(node):
            if sub.op != "mul" or not any(a.op == "span" for a in sub.args):
                continue
            span, body = sub.args if sub.args[0].op == "span" else sub.args[::-1]
            fixed = replace_at(node, path, body)
            holds = _holds(probe, fixed, want) if side == "claim" else \
                probe.equals(fixed, "claim")
            if holds:
                first, dropped, dim = span.val  # type: ignore[misc]
                return diagnosis("partial-sum", kept=f"{first}..{dim}-{dropped + 1}",
                                 index=to_text_bounded(span.args[0]),
                                 fixed=to_text_bounded(fixed))
    return None


# -- the diagonal term of a sum kept ------------------------------------------------

MAX_DIAGONAL_EDITS = 12  # sums of the reference tried


def diagonal_only(probe: Probe, ref: E, claim: E) -> Diagnosis | None:
    """The claim is the reference with one sum reduced to its diagonal term: the chain
    rule through a softmax written ``dL/da_i da_i/dz_i`` (the terms k != i left out),
    ``tr(A B)`` written ``sum_k A_kk B_kk``.  Tried on the reference: ``Sum(k, body)``
    with ``k`` set to a free index of the same range; a column sum ``sum(X, 0)`` that
    is broadcast back over the entries of ``X`` replaced by ``X`` (entry i for entry i);
    ``tr(X @ Y)`` as ``tr(X * Y)``.  Named as the terms that are missing."""
    engine = probe.engine
    want = probe.shape(ref)
    if want is None:
        return None

    def shown(node: E) -> str:
        """The sum as written for people, its summand simplified for display (the sum
        itself may simplify to a number: ``sum(softmax(z) * y / s) = -1``)."""
        try:
            args = tuple(readable(a, engine) for a in node.args)
        except (ShapeError, Unsupported, RecursionError):
            args = node.args
        return to_text_bounded(E(node.op, args, node.val))

    ranges = dict(engine.index_range)
    free = sorted(engine.free_indices(ref) | engine.free_indices(claim))
    tried = 0
    for path, node in positions(ref):
        candidates: list[tuple[E, str]] = []
        if node.op == "Sum" and node.val in ranges:
            body = node.args[0]
            nested = any(n.op == "Sum" and n.val == node.val for n in body.walk())
            for i in free:
                if not nested and i != node.val and ranges.get(i) == ranges[node.val]:
                    kept = replace_all(body, E("idx", val=node.val), E("idx", val=i))
                    candidates.append((kept, f"the terms {node.val} != {i} of "
                                             f"`{shown(node)}` (only {node.val} = {i} is "
                                             "kept: a sum reduced to its diagonal term)"))
        elif node.op == "sum" and node.val == 0 and len(node.args) == 1:
            inner = probe.shape(node.args[0])
            if inner is not None and len(inner) == 2 and inner[1] == 1:
                candidates.append((node.args[0], f"the off-diagonal terms of "
                                                 f"`{shown(node)}` (each entry keeps only "
                                                 "its own term: a sum of the chain rule "
                                                 "reduced to its diagonal term)"))
        elif node.op == "fn" and node.val == "tr" and len(node.args) == 1 and \
                node.args[0].op == "matmul":
            x, y = node.args[0].args
            xs, ys = (to_text_bounded(a) if a.op in ("sym", "ref") else
                      f"({to_text_bounded(a)})" for a in (x, y))
            candidates.append((ir.fn("tr", ir.mul(x, y)),
                               f"the terms j != k of `{shown(node)}` = sum_k sum_j "
                               f"{xs}[k, j] {ys}[j, k] (only the diagonal j = k is kept)"))
        for kept, text in candidates:
            tried += 1
            if tried > MAX_DIAGONAL_EDITS:
                return None
            edited = replace_at(ref, path, kept)
            if probe.shape(edited) == want and probe.equals(edited, "claim"):
                return diagnosis("missing-term", term=text)
    return None


# -- two mistakes: a transposed factor and one more edit -----------------------------

MAX_FIRST_EDITS = 4  # transposes tried as the first of two mistakes
MAX_TWO_EDIT_SIZE = 60  # nodes: larger claims are not searched for two edits


def transposed_and_edit(probe: Probe, ref: E, claim: E) -> list[Diagnosis]:
    """Two mistakes: one square factor transposed, and a second single edit (another
    transpose, a symbol, an index, the order of a product) that together make the
    claim hold. Both are named; the second's corrected claim is the fully repaired one.
    Bounded: small claims only, a few first edits."""
    if sum(1 for _ in claim.walk()) > MAX_TWO_EDIT_SIZE:
        return []
    for path, node in _transposable(probe, claim, square=True)[:MAX_FIRST_EDITS]:
        first = replace_at(claim, path, ir.transpose(node))
        second = transposed_factor(probe, first) or wrong_symbol(probe, ref, first) or \
            wrong_index(probe, first) or wrong_order(probe, first)
        if second is not None:
            return [diagnosis("transpose", detail=_transposed_text(node)
                              + " (and a second mistake, below)"), second]
    return []
