"""Random typed expressions in derivcheck's syntax, and random rewrites of them.

For the property tests of the rules that can make a verdict hold (canonical forms,
instantiated proofs): an expression is drawn at random for a shape, then rewritten
at a random place by a rule that is an identity (``SOUND``) or one that is not
(``UNSOUND``: the mistakes people make, and rules that hold only on part of the
domain).  The tests call the mechanism directly on the pair, with no numeric check
in front, and evaluate both sides at random points whenever it calls them equal.

The trees here are this module's own (``N``), printed to text and read by
derivcheck's reader: nothing of the engine's is used to build them.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field

SYMBOLS = {
    "a": "scalar", "b": "scalar", "p": "posscalar", "r": "posscalar",
    "x": "vector n", "u": "vector n", "q": "posvector n", "w": "prob n", "y": "onehot n",
    "v": "vector m", "g": "vector m",
    "A": "matrix n n", "A2": "matrix n n", "S": "symmatrix n", "B": "matrix n m",
    "C": "matrix m n",
    "i": "index n", "j": "index n", "k": "index m",
}
LEAVES = {
    "s": ["a", "b", "p", "r"], "n": ["x", "u", "q", "w", "y"], "m": ["v", "g"],
    "nn": ["A", "A2", "S"], "nm": ["B"], "mn": ["C"],
}
POSITIVE = {"p", "r", "q", "w"}
SYMMETRIC = {"S"}
PROB = {"w", "y"}
DIM_OF = {"n": "n", "m": "m"}


@dataclass(frozen=True)
class N:
    """A node: ``op`` (see ``text``), its shape ("s", "n", "m", "nn", "nm", "mn"), children."""

    op: str
    shape: str
    kids: tuple[N, ...] = ()
    val: str = ""
    positive: bool = field(default=False, compare=False)


def T(a: N) -> N:
    return N("T", _transposed(a.shape), (a,))


def _transposed(shape: str) -> str:
    return {"s": "s", "nn": "nn", "nm": "mn", "mn": "nm", "n": "rn", "m": "rm",
            "rn": "n", "rm": "m"}[shape]


def text(e: N) -> str:
    """``e`` in the expression syntax (fully parenthesised)."""
    op, k = e.op, e.kids
    if op in ("sym", "num", "dim", "idx"):
        return e.val
    if op in ("add", "sub", "mul", "div", "matmul", "pow"):
        sym = {"add": "+", "sub": "-", "mul": "*", "div": "/", "matmul": "@", "pow": "**"}[op]
        return f"({text(k[0])} {sym} {text(k[1])})"
    if op == "neg":
        return f"(-{text(k[0])})"
    if op == "T":
        return f"({text(k[0])}).T"
    if op == "fn":
        return f"{e.val}({text(k[0])})"
    if op == "sum_axis":
        return f"sum({text(k[0])}, {e.val})"
    if op == "elem":
        return f"({text(k[0])})[{', '.join(text(i) for i in k[1:])}]"
    if op == "Sum":
        return f"Sum({e.val}, {text(k[0])})"
    if op == "delta":
        return f"delta({text(k[0])}, {text(k[1])})"
    if op == "onehot":
        return f"onehot({text(k[0])}, n)"
    if op == "eye":
        return "eye(n)"
    raise ValueError(op)


def sym(name: str, shape: str) -> N:
    return N("sym", shape, val=name, positive=name in POSITIVE)


def num(value: str) -> N:
    return N("num", "s", val=value, positive=not value.startswith("-") and value != "0")


def idx(name: str) -> N:
    return N("idx", "i", val=name)


class Gen:
    """Draws expressions of a shape, depth-limited, from a seeded stream."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def pick(self, options: list[Callable[[], N]]) -> N:
        return self.rng.choice(options)()

    def expr(self, shape: str, depth: int = 3) -> N:
        r = self.rng
        if depth <= 0 or r.random() < 0.25:
            return self.leaf(shape)
        d = depth - 1
        common: list[Callable[[], N]] = [
            lambda: N("add", shape, (self.expr(shape, d), self.expr(shape, d))),
            lambda: N("sub", shape, (self.expr(shape, d), self.expr(shape, d))),
            lambda: N("mul", shape, (self.expr("s", d), self.expr(shape, d))),
            lambda: N("mul", shape, (self.expr(shape, d), self.expr(shape, d))),
            lambda: N("neg", shape, (self.expr(shape, d),)),
            lambda: N("fn", shape, (self.expr(shape, d),), "relu"),
            lambda: N("fn", shape, (self.expr(shape, d),), "exp", positive=True),
            lambda: N("div", shape, (self.expr(shape, d), self.positive(shape, d))),
            lambda: self.cancelling(shape, d),
        ]
        special: dict[str, list[Callable[[], N]]] = {
            "s": [
                lambda: N("fn", "s", (self.expr("n", d),), "sum"),
                lambda: N("matmul", "s", (T(self.expr("n", d)), self.expr("n", d))),
                lambda: N("fn", "s", (self.expr("nn", d),), "tr"),
                lambda: N("elem", "s", (self.expr("n", d), idx(r.choice("ij")))),
                lambda: N("elem", "s", (self.expr("nn", d), idx(r.choice("ij")),
                                        idx(r.choice("ij")))),
                lambda: N("Sum", "s", (N("mul", "s", (
                    N("elem", "s", (self.expr("n", d), idx("j"))),
                    N("elem", "s", (self.expr("n", d), idx("j"))))),), "j"),
                lambda: N("fn", "s", (self.positive("s", d),), "log"),
                lambda: N("fn", "s", (self.expr("n", d),), "logsumexp"),
                lambda: N("fn", "s", (self.cancelling("n", d),), r.choice(["logsumexp", "sum"])),
                lambda: N("pow", "s", (self.expr("s", d), num("2"))),
                lambda: N("delta", "s", (idx("i"), idx("j"))),
                lambda: N("dim", "s", val=r.choice("nm"), positive=True),
                lambda: N("elem", "s", (N("fn", "n", (self.expr("n", d),), "softmax"),
                                        idx("i"))),
            ],
            "n": [
                lambda: N("matmul", "n", (self.expr("nn", d), self.expr("n", d))),
                lambda: N("matmul", "n", (self.expr("nm", d), self.expr("m", d))),
                lambda: N("fn", "n", (self.expr("n", d),), "softmax", positive=True),
                lambda: N("fn", "n", (self.expr("nn", d),), "diag"),
                lambda: N("onehot", "n", (idx(r.choice("ij")),)),
                lambda: N("fn", "n", (self.expr("n", d),), "relu_prime"),
                lambda: N("sum_axis", "n", (self.expr("nm", d),), "1"),
            ],
            "m": [
                lambda: N("matmul", "m", (self.expr("mn", d), self.expr("n", d))),
                lambda: N("sum_axis", "m", (self.expr("mn", d),), "1"),
            ],
            "nn": [
                lambda: N("matmul", "nn", (self.expr("nn", d), self.expr("nn", d))),
                lambda: N("matmul", "nn", (self.expr("n", d), T(self.expr("n", d)))),
                lambda: N("matmul", "nn", (self.expr("nm", d), self.expr("mn", d))),
                lambda: T(self.expr("nn", d)),
                lambda: N("eye", "nn"),
                lambda: N("fn", "nn", (self.expr("n", d),), "diag"),
            ],
            "nm": [
                lambda: N("matmul", "nm", (self.expr("n", d), T(self.expr("m", d)))),
                lambda: N("matmul", "nm", (self.expr("nn", d), self.expr("nm", d))),
                lambda: T(self.expr("mn", d)),
            ],
            "mn": [
                lambda: N("matmul", "mn", (self.expr("m", d), T(self.expr("n", d)))),
                lambda: N("matmul", "mn", (self.expr("mn", d), self.expr("nn", d))),
                lambda: T(self.expr("nm", d)),
            ],
        }
        return self.pick(common + special[shape] * 2)

    def cancelling(self, shape: str, depth: int) -> N:
        """``t - t + c``: a formula whose value forgets ``t`` (a polynomial of it is ``c``)."""
        t = self.expr(shape, depth)
        return N("add", shape, (N("sub", shape, (t, t)), self.expr(shape, 0)))

    def leaf(self, shape: str) -> N:
        r = self.rng
        if shape == "s" and r.random() < 0.3:
            return num(r.choice(["2", "3", "-1", "0.5", "1"]))
        return sym(r.choice(LEAVES[shape]), shape)

    def positive(self, shape: str, depth: int) -> N:
        """An expression whose entries are positive (a denominator, an argument of log)."""
        r = self.rng
        if depth <= 0 or r.random() < 0.4:
            names = [n for n in LEAVES[shape] if n in POSITIVE] if shape in ("s", "n") else []
            if names:
                return sym(r.choice(names), shape)
            return N("fn", shape, (self.leaf(shape),), "exp", positive=True)
        return self.pick([
            lambda: N("fn", shape, (self.expr(shape, depth - 1),), "exp", positive=True),
            lambda: N("add", shape, (self.positive(shape, depth - 1), num("1")), positive=True),
            lambda: N("mul", shape, (self.positive(shape, depth - 1),
                                     self.positive(shape, depth - 1)), positive=True),
        ])


# -- rewrites: (name, rule); a rule returns the rewritten node or None where it does not apply

def _commute(e: N, g: Gen) -> N | None:
    if e.op in ("add", "mul") and e.kids[0].shape == e.kids[1].shape:
        return N(e.op, e.shape, (e.kids[1], e.kids[0]), e.val)
    return None


def _distribute(e: N, g: Gen) -> N | None:
    if e.op == "mul" and e.kids[1].op == "add":
        a, (b, c) = e.kids[0], e.kids[1].kids
        return N("add", e.shape, (N("mul", e.shape, (a, b)), N("mul", e.shape, (a, c))))
    if e.op == "matmul" and e.kids[1].op == "add":
        a, (b, c) = e.kids[0], e.kids[1].kids
        return N("add", e.shape, (N("matmul", e.shape, (a, b)), N("matmul", e.shape, (a, c))))
    return None


def _transpose_product(e: N, g: Gen) -> N | None:
    if e.op == "T" and e.kids[0].op == "matmul":
        a, b = e.kids[0].kids
        return N("matmul", e.shape, (T(b), T(a)))
    return None


def _double_transpose(e: N, g: Gen) -> N | None:
    return e.kids[0].kids[0] if e.op == "T" and e.kids[0].op == "T" else None


def _trace_cycle(e: N, g: Gen) -> N | None:
    if e.op == "fn" and e.val == "tr" and e.kids[0].op == "matmul":
        a, b = e.kids[0].kids
        if a.shape == b.shape == "nn":
            return N("fn", "s", (N("matmul", "nn", (b, a)),), "tr")
    return None


def _minus_as_times(e: N, g: Gen) -> N | None:
    if e.op == "sub":
        a, b = e.kids
        return N("add", e.shape, (a, N("mul", b.shape, (num("-1"), b))))
    return None


def _square(e: N, g: Gen) -> N | None:
    if e.op == "pow" and e.kids[1].val == "2":
        return N("mul", e.shape, (e.kids[0], e.kids[0]))
    return None


def _relu_mask(e: N, g: Gen) -> N | None:
    if e.op == "fn" and e.val == "relu":
        u = e.kids[0]
        return N("mul", e.shape, (u, N("fn", u.shape, (u,), "relu_prime")))
    return None


def _sum_as_entries(e: N, g: Gen) -> N | None:
    if e.op == "fn" and e.val == "sum" and e.kids[0].shape == "n" and "j" not in text(e):
        return N("Sum", "s", (N("elem", "s", (e.kids[0], idx("j"))),), "j")
    return None


def _exp_of_sum(e: N, g: Gen) -> N | None:
    if e.op == "fn" and e.val == "exp" and e.kids[0].op == "add":
        a, b = e.kids[0].kids
        return N("mul", e.shape, (N("fn", a.shape, (a,), "exp"), N("fn", b.shape, (b,), "exp")))
    return None


def _entry_of_sum(e: N, g: Gen) -> N | None:
    if e.op == "elem" and e.kids[0].op in ("add", "sub") and len(e.kids) == 2 \
            and all(k.shape == e.kids[0].shape for k in e.kids[0].kids):
        a, b = e.kids[0].kids
        i = e.kids[1]
        return N(e.kids[0].op, "s", (N("elem", "s", (a, i)), N("elem", "s", (b, i))))
    return None


def _symmetric(e: N, g: Gen) -> N | None:
    if e.op == "T" and e.kids[0].op == "sym" and e.kids[0].val in SYMMETRIC:
        return e.kids[0]
    return None


def _prob_sum(e: N, g: Gen) -> N | None:
    if e.op == "fn" and e.val == "sum" and e.kids[0].op == "sym" and e.kids[0].val in PROB:
        return num("1")
    return None


def _scalar_into_product(e: N, g: Gen) -> N | None:
    if e.op == "mul" and e.kids[0].shape == "s" and e.kids[1].op == "matmul" \
            and e.shape != "s":
        s, (a, b) = e.kids[0], e.kids[1].kids
        return N("matmul", e.shape, (N("mul", a.shape, (s, a)), b))
    return None


SOUND: list[tuple[str, Callable[[N, Gen], N | None]]] = [
    ("commute", _commute), ("distribute", _distribute),
    ("transpose-of-product", _transpose_product), ("double-transpose", _double_transpose),
    ("trace-cycle", _trace_cycle), ("minus-as-times", _minus_as_times), ("square", _square),
    ("relu-as-mask", _relu_mask), ("sum-as-entries", _sum_as_entries),
    ("exp-of-sum", _exp_of_sum), ("entry-of-sum", _entry_of_sum),
    ("symmetric-transpose", _symmetric), ("prob-sums-to-one", _prob_sum),
    ("scalar-into-product", _scalar_into_product),
]


def _transpose_unreversed(e: N, g: Gen) -> N | None:
    if e.op == "T" and e.kids[0].op == "matmul":
        a, b = e.kids[0].kids
        if a.shape == b.shape == "nn":
            return N("matmul", "nn", (T(a), T(b)))
    return None


def _swap_dim(e: N, g: Gen) -> N | None:
    if e.op == "dim":
        return N("dim", "s", val="m" if e.val == "n" else "n", positive=True)
    return None


def _swap_index(e: N, g: Gen) -> N | None:
    if e.op == "idx" and e.val in "ij":
        return idx("j" if e.val == "i" else "i")
    return None


def _drop_term(e: N, g: Gen) -> N | None:
    return e.kids[0] if e.op in ("add", "sub") and e.kids[0].shape == e.shape else None


def _flip(e: N, g: Gen) -> N | None:
    return N("sub", e.shape, (e.kids[1], e.kids[0])) if e.op == "sub" else None


def _nudge(e: N, g: Gen) -> N | None:
    if e.op == "num":
        return N("add", "s", (e, num("0.000000000001")))
    return None


def _other_symbol(e: N, g: Gen) -> N | None:
    if e.op == "sym":
        others = [n for n in LEAVES[e.shape] if n != e.val]
        return sym(g.rng.choice(others), e.shape) if others else None
    return None


def _exp_of_product(e: N, g: Gen) -> N | None:
    if e.op == "mul" and all(k.op == "fn" and k.val == "exp" for k in e.kids):
        a, b = (k.kids[0] for k in e.kids)
        if a.shape == b.shape == e.shape:
            return N("fn", e.shape, (N("mul", e.shape, (a, b)),), "exp")
    return None


def _plus_zero_on_part(e: N, g: Gen) -> N | None:
    """``e`` plus a term that is 0 only on part of the domain: ``log(a * b) - log(a) -
    log(b)`` (defined and 0 for a, b > 0 only), ``sqrt(a * a) - a`` (0 for a >= 0 only)."""
    if e.shape != "s" or e.op in ("idx",):
        return None
    a, b = sym("a", "s"), sym("b", "s")
    if g.rng.random() < 0.5:
        part = N("sub", "s", (N("sub", "s", (N("fn", "s", (N("mul", "s", (a, b)),), "log"),
                                             N("fn", "s", (a,), "log"))),
                              N("fn", "s", (b,), "log")))
    else:
        part = N("sub", "s", (N("fn", "s", (N("mul", "s", (a, a)),), "sqrt"), a))
    return N("add", "s", (e, part))


def _relu_dropped(e: N, g: Gen) -> N | None:
    return e.kids[0] if e.op == "fn" and e.val in ("relu", "exp") else None


def _sum_to_one(e: N, g: Gen) -> N | None:
    if e.op == "fn" and e.val == "sum" and e.kids[0].op == "sym" \
            and e.kids[0].val not in PROB:
        return num("1")
    return None


_RELENGTH = {"x": "v", "u": "g"}


def _relength(e: N) -> N | None:
    """``e`` (a vector of length n built from x, u and scalars) with length m instead."""
    if e.op == "sym":
        if e.shape == "s":
            return e
        return sym(_RELENGTH[e.val], "m") if e.val in _RELENGTH else None
    if e.op in ("num", "dim"):
        return e
    if (e.op in ("add", "sub", "mul", "neg", "fn") and e.op != "fn") or (
            e.op == "fn" and e.val in ("exp", "relu")):
        kids = [_relength(k) for k in e.kids]
        if any(k is None for k in kids):
            return None
        return N(e.op, "m" if e.shape == "n" else e.shape, tuple(kids), e.val)  # type: ignore[arg-type]
    return None


def _other_length(e: N, g: Gen) -> N | None:
    """A reduction of an n-vector (sum, logsumexp) of the same formula over an m-vector."""
    if e.op == "fn" and e.val in ("sum", "logsumexp") and e.kids[0].shape == "n":
        other = _relength(e.kids[0])
        if other is not None:
            return N("fn", "s", (other,), e.val)
    return None


def _plus_tiny(e: N, g: Gen) -> N | None:
    if e.shape == "s" and e.op == "sym":
        return N("add", "s", (e, N("div", "s", (sym("b", "s"), num("1000000000000000000000000")))))
    return None


def _forget_symmetry(e: N, g: Gen) -> N | None:
    if e.op == "T" and e.kids[0].op == "sym" and e.kids[0].val not in SYMMETRIC \
            and e.kids[0].shape == "nn":
        return e.kids[0]
    return None


def _mask_argument(e: N, g: Gen) -> N | None:
    if e.op == "fn" and e.val == "relu_prime":
        return N("fn", e.shape, (N("sub", e.shape, (e.kids[0], num("100"))),), "relu_prime")
    return None


UNSOUND: list[tuple[str, Callable[[N, Gen], N | None]]] = [
    ("transpose-unreversed", _transpose_unreversed), ("swap-dimension", _swap_dim),
    ("swap-index", _swap_index), ("drop-term", _drop_term), ("flip-sign", _flip),
    ("nudge-constant", _nudge), ("other-symbol", _other_symbol),
    ("exp-of-product", _exp_of_product), ("zero-on-part-of-the-domain", _plus_zero_on_part),
    ("drop-function", _relu_dropped), ("sum-to-one", _sum_to_one),
    ("forget-symmetry", _forget_symmetry), ("move-mask-threshold", _mask_argument),
    ("plus-tiny", _plus_tiny), ("other-length", _other_length),
]


def nodes(e: N) -> list[tuple[N, Callable[[N], N]]]:
    """Every node of ``e`` with a function that rebuilds ``e`` with that node replaced."""
    out: list[tuple[N, Callable[[N], N]]] = [(e, lambda new: new)]
    for k, kid in enumerate(e.kids):
        for sub, rebuild in nodes(kid):
            def put(new: N, k: int = k, rebuild: Callable[[N], N] = rebuild) -> N:
                kids = list(e.kids)
                kids[k] = rebuild(new)
                return N(e.op, e.shape, tuple(kids), e.val, e.positive)
            out.append((sub, put))
    return out


def rewrite(e: N, g: Gen, rules: list[tuple[str, Callable[[N, Gen], N | None]]]
            ) -> tuple[str, N] | None:
    """``e`` with one rule of ``rules`` applied at a random place where it applies."""
    places: dict[str, list[tuple[N, Callable[[N], N]]]] = {}
    for sub, put in nodes(e):
        for name, rule in rules:
            if rule(sub, g) is not None:
                places.setdefault(name, []).append((sub, put))
    if not places:
        return None
    name = g.rng.choice(sorted(places))  # each rule that applies equally often
    sub, put = g.rng.choice(places[name])
    new = dict(rules)[name](sub, g)
    assert new is not None
    return name, put(new)


def independent(g: Gen) -> tuple[str, str, str, str]:
    """(shape, left, right, "independent") for two expressions drawn independently at one
    shape: nearly always different, so a mechanism that calls them equal is suspect (the
    shapes that reduce to the same constant, ``logsumexp(x - x)`` of two lengths, are
    among them)."""
    shape = g.rng.choice(["s", "s", "n", "m"])
    depth = g.rng.choice([1, 2, 2, 3])
    return shape, text(g.expr(shape, depth)), text(g.expr(shape, depth)), "independent"


def pair(g: Gen, *, sound: bool) -> tuple[str, str, str, str] | None:
    """(shape, left, right, the rules applied) for a random expression and a rewrite of it:
    one to three sound rules, then with ``sound=False`` one unsound rule."""
    shape = g.rng.choice(["s", "s", "n", "m", "nn", "nm"])
    left = g.expr(shape, g.rng.choice([2, 3, 3, 4]))
    right = left
    applied = []
    for _ in range(g.rng.randint(1, 3)):
        got = rewrite(right, g, SOUND)
        if got is None:
            break
        applied.append(got[0])
        right = got[1]
    if not sound:
        got = rewrite(right, g, UNSOUND)
        if got is None:
            return None
        applied.append(got[0])
        right = got[1]
    if not applied:
        return None
    return shape, text(left), text(right), "+".join(applied)
