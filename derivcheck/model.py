"""What a derivation file says, once loaded and parsed: symbols, definitions, steps."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

from derivcheck.ir import E, Shape

# kind name -> (number of dimension arguments, constraint tags)
KINDS: dict[str, tuple[int, frozenset[str]]] = {
    "scalar": (0, frozenset()),
    "posscalar": (0, frozenset({"positive"})),
    "unitscalar": (0, frozenset({"unit"})),
    "vector": (1, frozenset()),
    "posvector": (1, frozenset({"positive"})),
    "prob": (1, frozenset({"prob", "positive"})),
    "onehot": (1, frozenset({"onehot", "binary", "prob"})),
    "multihot": (1, frozenset({"multihot", "binary"})),
    "binary": (1, frozenset({"binary"})),
    "matrix": (2, frozenset()),
    "symmatrix": (1, frozenset({"symmetric"})),
    "spdmatrix": (1, frozenset({"symmetric", "spd", "invertible"})),
    "invmatrix": (1, frozenset({"invertible"})),
    "onehotmatrix": (2, frozenset({"onehot_columns", "binary"})),
    "index": (1, frozenset()),
}

# assumption predicate -> (constraint tag it adds, shapes it applies to)
PREDICATES: dict[str, tuple[str, frozenset[str]]] = {
    "is_onehot": ("onehot", frozenset({"vector"})),
    "is_prob": ("prob", frozenset({"vector"})),
    "is_positive": ("positive", frozenset({"scalar", "vector", "matrix"})),
    "is_unit": ("unit", frozenset({"scalar", "vector", "matrix"})),
    "is_binary": ("binary", frozenset({"scalar", "vector", "matrix"})),
    "is_symmetric": ("symmetric", frozenset({"square"})),
    "is_spd": ("spd", frozenset({"square"})),
    "is_invertible": ("invertible", frozenset({"square"})),
    "is_onehot_columns": ("onehot_columns", frozenset({"matrix"})),
}
# A constraint implies others (used to close a symbol's constraint set).
IMPLIES: dict[str, frozenset[str]] = {
    "onehot": frozenset({"binary", "prob"}),
    "prob": frozenset({"positive"}),
    "spd": frozenset({"symmetric", "invertible"}),
    "onehot_columns": frozenset({"binary"}),
    "multihot": frozenset({"binary"}),
}

LAYOUTS = ("gradient", "numerator", "none")
EXPECT_VALUES = ("holds", "proved", "checked", "refuted", "ill_formed", "undecided")


@dataclass(frozen=True)
class Loc:
    """A place in an input file (1-based line and column)."""

    path: str
    line: int
    col: int

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.col}"


@dataclass(frozen=True)
class Symbol:
    """A declared symbol: its kind, its dimension names and its shape."""

    name: str
    kind: str
    dims: tuple[str, ...]
    shape: Shape
    constraints: frozenset[str]
    loc: Loc | None = None

    @property
    def is_index(self) -> bool:
        return self.kind == "index"

    def describe(self) -> str:
        return " ".join((self.kind, *self.dims))


@dataclass(frozen=True)
class Definition:
    """``name: expr`` from ``define:``."""

    name: str
    expr: E
    text: str
    loc: Loc | None = None


@dataclass(frozen=True)
class Expr:
    """A parsed expression with the text it came from and where."""

    node: E
    text: str
    loc: Loc | None = None
    latex: str = ""  # the LaTeX it was read from (``text`` is then how it was read)
    reading: tuple[str, ...] = ()  # ambiguous readings of that LaTeX, with the choice made
    second_reader: str = ""  # latex2sympy2's verdict on that reading ("agrees", ...), if asked


@dataclass(frozen=True)
class Step:
    """A claimed step: ``claim`` (two expressions) or ``chain`` (two or more)."""

    id: str
    form: str  # "claim" or "chain"
    exprs: tuple[Expr, ...]
    expect: tuple[str, ...] | None
    note: str = ""
    layout: str = "gradient"
    loc: Loc | None = None
    latex: tuple[Expr, ...] | None = None  # the step as written in LaTeX, when given
    points: float | None = None  # what the step is worth (``points:``), for graders and pytest

    @property
    def n_links(self) -> int:
        return len(self.exprs) - 1


@dataclass(frozen=True)
class Conventions:
    layout: str = "gradient"
    relu_prime_at_zero: int = 0
    # integer subscripts in LaTeX count from 0 (x_0) or 1 (x_1); None: not declared,
    # read as 0 (and partial sums whose bounds both bases can mean are refused)
    latex_index_base: int | None = None


MAX_FLOOR = 12  # integer indices up to 11 raise the sizes checked; beyond, they do not


@dataclass(frozen=True)
class Derivation:
    """A whole derivation file, parsed and checked for well-formed input."""

    path: str
    title: str
    source: str | None
    symbols: dict[str, Symbol]
    dims: tuple[str, ...]
    conventions: Conventions
    definitions: tuple[Definition, ...]
    steps: tuple[Step, ...]
    assumptions: tuple[str, ...] = field(default=())
    latex_names: dict[str, str] = field(default_factory=dict)  # symbol -> declared LaTeX
    # A submission is read step by step: (step id or "#n", the input error) of each
    # step that could not be read (a derivation file stops at its first error instead).
    step_errors: tuple[tuple[str, str], ...] = ()
    # What was read differently from how it is written, and why (a submission's
    # repeated step id, renamed): shown to the student, never an error.
    warnings: tuple[str, ...] = ()
    # Summation indices used without being declared: name -> the range inferred from
    # what they subscript (parse/bound.py). Only ever bound by a sum, never free.
    bound: dict[str, str] = field(default_factory=dict)

    @functools.cached_property
    def size_floor(self) -> int:
        """The smallest size every dimension is checked at: one more than the largest
        integer index any expression writes (``x[2]`` exists only from size 3; a claim
        about it at size 2 would be about nothing), at least 2, at most MAX_FLOOR (past it
        the sizes stay small and such a step is undecided, saying so)."""
        top = 1
        roots = [e.node for s in self.steps for e in (*s.exprs, *(s.latex or ()))]
        roots += [d.expr for d in self.definitions]
        seen: set[int] = set()
        stack = list(roots)
        while stack:
            node = stack.pop()
            if id(node) in seen:
                continue
            seen.add(id(node))
            if node.op == "int" and isinstance(node.val, int):
                top = max(top, node.val)
            stack.extend(node.args)
        return top + 1 if top + 1 <= MAX_FLOOR else 2

    def definition(self, name: str) -> Definition:
        for d in self.definitions:
            if d.name == name:
                return d
        raise KeyError(name)
