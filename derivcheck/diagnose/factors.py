"""Rules about one factor: missing from the claim, or one too many.

``missing-factor`` means ``claim * f = reference`` at every compared point;
``extra-factor`` means ``claim = reference * f``.  The factors tried are the
derivatives of the activations the derivation uses, written with the file's own
names where the activation is a definition (``a1: tanh(z1)`` gives ``1 - a1 ** 2``,
tanh'(z1); ``p: sigmoid(u)`` gives ``p * (1 - p)``; a softplus ``log(1 + exp(u))``
gives ``sigmoid(u)``; ``relu(u)`` gives ``relu_prime(u)``, for an extra mask only: a
missing one is ``missing-relu-mask``).  A power of a dimension missing from one term
(``1/N``) is found in ``terms``.

A factor of the reference's products in general is not tried: the engine's
products are not the author's (``softmax(z) * (...)`` would make ``a2`` "lack" the
other factor of ``a2 - y``). The file's own names are: a symbol or a defined name
the reference is written with, of the claim's shape, as an elementwise factor of the
whole claim (``gamma`` of a batch norm, the forget gate ``f`` of an LSTM cell; a
scalar name is a ``scale-factor``).

``wrong-factor`` means the claim holds with one of its elementwise factors replaced by
such a derivative: sigmoid' written for tanh' (``a1 * (1 - a1)`` for ``1 - a1 ** 2``),
the derivative of another layer (``1 - a2 ** 2`` for ``1 - a1 ** 2``, often ill-formed
as well, then checked at fresh points), ``1 - a1`` or ``a1`` for ``1 - a1 ** 2``.

A factor is tried only where it has the claim's shape or is a scalar (an elementwise
or scalar product), so every candidate is a well-formed edit of the claim; a missing
factor is also tried on each operand of the claim's matrix products that it fits
(``W2.T @ d @ x.T`` for ``((W2.T @ d) * (1 - a1 ** 2)) @ x.T``).  Like
every diagnosis, a fit is checked at all the compared points, never guessed.
"""

from __future__ import annotations

import numpy as np

from derivcheck import ir
from derivcheck.codes import Diagnosis, diagnosis
from derivcheck.decide import Options
from derivcheck.diagnose.probe import Probe, positions, replace_at
from derivcheck.engine.core import Engine
from derivcheck.ir import E
from derivcheck.printer import to_text_bounded as to_text

MAX_FACTORS = 40  # candidate factors tried (each costs up to two evaluations per point)
MAX_PLACES = 40  # operands of a product a factor is tried on, inside the claim
MAX_SWAPS = 200  # (factor of the claim, derivative) pairs tried for wrong-factor
MAX_SWAPS_FRESH = 6  # the same for an ill-formed claim (each checked at fresh points)


def _ref(name: str) -> E:
    return E("ref", val=name)


def _derivative_factor(node: E, written: E | None = None) -> tuple[E, str] | None:
    """(f'(u), the activation's name) for an activation ``node = f(u)``; f'(u) is
    written with ``written`` (the definition's name) for f(u) where it appears."""
    value = node if written is None else written
    if node.op == "fn" and len(node.args) == 1:
        u = node.args[0]
        if node.val == "tanh":
            return ir.sub(ir.num(1), ir.power(value, ir.num(2))), f"tanh'({to_text(u)})"
        if node.val == "sigmoid":
            return ir.mul(value, ir.sub(ir.num(1), value)), f"sigmoid'({to_text(u)})"
        if node.val == "relu":
            return ir.fn("relu_prime", u), f"relu'({to_text(u)})"
    if node.op == "fn" and node.val == "log" and len(node.args) == 1:
        inner = node.args[0]
        if inner.op == "add" and len(inner.args) == 2:
            one, ex = inner.args
            if ir.is_num(ex, 1):
                one, ex = ex, one
            if ir.is_num(one, 1) and ex.op == "fn" and ex.val == "exp":
                u = ex.args[0]
                return ir.fn("sigmoid", u), f"softplus'({to_text(u)})"
    return None


def _activation_factors(probe: Probe, roots: tuple[E, ...]) -> list[tuple[E, str]]:
    """The derivative factor of every activation reachable from ``roots``: through the
    definitions they use (named by the definition), then those of the other definitions,
    then the activations written inline."""
    engine = probe.engine
    out: list[tuple[E, str]] = []
    seen_defs: set[str] = set()
    inline: list[E] = []
    stack = list(roots)
    visited: set[int] = set()
    while stack:
        node = stack.pop()
        if id(node) in visited:
            continue
        visited.add(id(node))
        if node.op == "ref" and node.val in engine.definitions and node.val not in seen_defs:
            name = str(node.val)
            seen_defs.add(name)
            expr = engine.definitions[name]
            found = _derivative_factor(expr, _ref(name))  # 1 - a1 ** 2, p * (1 - p)
            if found:
                out.append(found)
            stack.append(expr)
            continue
        if _derivative_factor(node):
            inline.append(node)
        stack.extend(node.args)
    # then the activations of the definitions the sides do not name (the reference is
    # often written without them: the derivative of a softplus is not the softplus), in
    # the file's names before the same written out (``p * (1 - p)`` for p: sigmoid(u + b))
    for name, expr in engine.definitions.items():
        if name not in seen_defs:
            found = _derivative_factor(expr, _ref(name))
            if found:
                out.append(found)
    for node in inline:
        found = _derivative_factor(node)
        if found:
            out.append(found)
    return out


def _fits_shape(probe: Probe, factor: E, want: object) -> bool:
    shape = probe.shape(factor)
    return shape is not None and (shape == want or shape in ((), (1, 1)))


def factor(probe: Probe, ref: E, claim: E) -> Diagnosis | None:
    """A factor missing from the claim, or one the claim has too many (see the module
    docstring)."""
    want = probe.shape(claim)
    if want is None:
        return None
    tried = 0
    for f, what in _activation_factors(probe, (ref, claim)):
        if tried >= MAX_FACTORS:
            break
        if not _fits_shape(probe, f, want):
            continue
        tried += 1
        mask = f.op == "fn" and f.val == "relu_prime"  # a missing mask has its own rule
        if not mask and probe.equals(ir.mul(claim, f), "ref"):
            return diagnosis("missing-factor", detail=f"the claim lacks the factor "
                             f"`{to_text(f)}` ({what})")
        if probe.equals(ir.mul(ref, f), "claim"):
            return diagnosis("extra-factor", detail=f"the claim multiplies by `{to_text(f)}` "
                             f"({what}), which the reference does not")
    # A name of the file (a symbol or a definition the reference uses: gamma in a batch
    # norm, the forget gate f of an LSTM cell) as the whole factor: the author's own
    # names, not the engine's products
    for f in _named_factors(probe, ref)[:MAX_FACTORS]:
        if probe.shape(f) != want or want in ((), (1, 1)):
            continue  # a scalar name is a scale-factor ("`tau` times"), found later
        if probe.equals(ir.mul(claim, f), "ref"):
            return diagnosis("missing-factor", detail=f"the claim lacks the factor "
                             f"`{to_text(f)}`")
        if probe.equals(ir.mul(ref, f), "claim"):
            return diagnosis("extra-factor", detail=f"the claim multiplies by `{to_text(f)}`, "
                             "which the reference does not")
    # The factor of one operand of a matrix product: ((W2.T @ d) * (1 - a1**2)) @ x.T
    # written W2.T @ d @ x.T.  Each operand it fits is tried, the claim's own nodes.
    places = 0
    for f, what in _activation_factors(probe, (ref, claim)):
        if f.op == "fn" and f.val == "relu_prime":
            continue  # a missing mask has its own rule
        for path, operand in _operands(claim):
            if places >= MAX_PLACES * 4:
                return None
            shape = probe.shape(operand)
            if shape is None or not _fits_shape(probe, f, shape):
                continue
            places += 1
            if probe.equals(replace_at(claim, path, ir.mul(operand, f)), "ref"):
                return diagnosis("missing-factor", detail=f"the claim lacks the factor "
                                 f"`{to_text(f)}` ({what}) on `{to_text(operand)}`")
    return wrong_factor(probe, ref, claim)


def _swaps(probe: Probe, ref: E, claim: E) -> list[tuple[tuple[int, ...], E, E, str]]:
    """(path, the claim's factor there, a derivative factor, its name): each elementwise
    factor of the claim (an operand of ``*``, or the whole claim: ``1 - p ** 2`` for
    sigmoid') against each activation derivative of the
    file that is not the same expression, the claim's smaller factors first."""
    factors_ = _activation_factors(probe, (ref, claim))
    places: list[tuple[int, tuple[int, ...], E]] = \
        [(ir.tree_size(claim, 10_000), (), claim)] if _derivative_like(claim) else []
    for path, node in positions(claim):
        if node.op == "mul":
            for k, arg in enumerate(node.args):
                if arg.op != "num":
                    places.append((ir.tree_size(arg, 10_000), (*path, k), arg))
    places.sort(key=lambda c: c[0])
    out: list[tuple[tuple[int, ...], E, E, str]] = []
    for _, path, arg in places[:MAX_PLACES]:
        for f, what in factors_:
            if f != arg:
                out.append((path, arg, f, what))
    return out


def _derivative_like(node: E) -> bool:
    """``node`` is written as an activation's derivative is: ``1 - u ** 2``, ``1 - u``,
    ``u * (1 - u)``, ``sigmoid(u)``, ``tanh(u)``, ``relu_prime(u)`` (a whole claim that
    is a wrong derivative, not any wrong claim whose reference happens to be one)."""
    def one_minus(n: E) -> bool:
        return n.op == "sub" and ir.is_num(n.args[0], 1)

    if one_minus(node):
        return True
    if node.op == "mul" and len(node.args) == 2:
        return any(one_minus(a) for a in node.args)
    return node.op == "fn" and node.val in ("sigmoid", "tanh", "relu_prime")


def _swap_text(arg: E, f: E, what: str) -> str:
    return f"the claim has `{to_text(arg)}` where `{to_text(f)}` ({what}) makes it hold"


def wrong_factor(probe: Probe, ref: E, claim: E) -> Diagnosis | None:
    """One elementwise factor of the claim in place of an activation's derivative (see
    the module docstring): the claim with that factor replaced equals the reference at
    every compared point."""
    want = probe.shape(claim)
    if want is None:
        return None
    swaps = _swaps(probe, ref, claim)[:MAX_SWAPS]
    # ``1 - a1 ** 2`` for ``1 - a2 ** 2``: a wrong symbol, which edits.wrong_symbol names
    # (the derivative is also tried written out, ``1 - tanh(z2) ** 2``: skipped with it)
    symbol_slips = {(path, what) for path, arg, f, what in swaps if _one_name_apart(arg, f)}
    for path, arg, f, what in swaps:
        if (path, what) in symbol_slips:
            continue
        edited = replace_at(claim, path, f)
        if probe.shape(edited) == want and probe.equals(edited, "ref"):
            return diagnosis("wrong-factor", detail=_swap_text(arg, f, what))
    return None


def _one_name_apart(a: E, b: E) -> bool:
    """``a`` and ``b`` are the same but for one name (a symbol or a definition) written
    for another, wherever it occurs: the smaller edit ``edits.wrong_symbol`` names."""
    pairs: set[tuple[tuple[str, str], tuple[str, str]]] = set()
    stack = [(a, b)]
    while stack:
        x, y = stack.pop()
        if x.op in ("sym", "ref") and y.op in ("sym", "ref"):
            if (x.op, x.val) != (y.op, y.val):
                pairs.add(((x.op, str(x.val)), (y.op, str(y.val))))
            continue
        if x.op != y.op or x.val != y.val or len(x.args) != len(y.args):
            return False
        stack.extend(zip(x.args, y.args))
    return len(pairs) == 1


def wrong_factor_shapes(engine: Engine, ref: E, claim: E, free: frozenset[str],
                        options: Options, rng: np.random.Generator) -> Diagnosis | None:
    """For an ill-formed claim: replacing one elementwise factor by an activation's
    derivative makes the shapes fit and the claim hold at fresh points (``1 - a2 ** 2``
    of the output layer written for the hidden layer's ``1 - a1 ** 2``)."""
    from derivcheck.diagnose.edits import agrees_at_fresh_points

    probe = Probe(engine, [])
    want = probe.shape(ref)
    if want is None:
        return None
    tried = 0
    for path, arg, f, what in _swaps(probe, ref, claim):
        if probe.shape(arg) == probe.shape(f):
            continue  # the shapes would not fit after it either
        edited = replace_at(claim, path, f)
        if probe.shape(edited) != want:
            continue
        tried += 1
        if tried > MAX_SWAPS_FRESH:
            break
        if agrees_at_fresh_points(engine, ref, edited, free, options, rng):
            return diagnosis("wrong-factor", detail=_swap_text(arg, f, what))
    return None


def _named_factors(probe: Probe, ref: E) -> list[E]:
    """The symbols and defined names the reference is written with, through the
    definitions it uses (not indices), in the order first met."""
    engine = probe.engine
    out: list[E] = []
    seen: set[tuple[str, str]] = set()
    roots = [ref]
    while roots:
        for node in roots.pop(0).walk():
            key = (node.op, str(node.val))
            if node.op not in ("sym", "ref") or key in seen:
                continue
            seen.add(key)
            sym = engine.symbols.get(str(node.val)) if node.op == "sym" else None
            if sym is None or not sym.is_index:
                out.append(E(node.op, val=node.val))
            if node.op == "ref" and node.val in engine.definitions:
                roots.append(engine.definitions[str(node.val)])
    return out


def _operands(claim: E) -> list[tuple[tuple[int, ...], E]]:
    """The operands of the claim's matrix products and the summands of its sums and
    means, smallest first (the factor most often belongs on the innermost one)."""
    found = []
    for path, node in positions(claim):
        if node.op == "matmul":
            for k, arg in enumerate(node.args):
                found.append((ir.tree_size(arg, 10_000), (*path, k), arg))
        elif node.op in ("sum", "mean", "Sum"):  # the summand: mean(x * (p - y)) lacks p (1-p)
            found.append((ir.tree_size(node.args[0], 10_000), (*path, 0), node.args[0]))
    found.sort(key=lambda c: c[0])
    return [(p, a) for _, p, a in found[:MAX_PLACES]]
