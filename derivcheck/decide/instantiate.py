"""Symbolic proofs: both sides instantiated at small sizes, the residual reduced to 0.

The dimensions get small sizes, every entry of every symbol becomes a SymPy
symbol, and each component of ``lhs - rhs`` must reduce to exactly 0 for every
value of the free indices.  Kinds are used soundly:

* finite kinds are enumerated (``onehot y`` is proved for each basis vector,
  ``binary`` for every 0/1 pattern), so the proof covers exactly their values;
* ``prob p`` substitutes ``p_last = 1 - (p_0 + ...)``; ``positive`` kinds give
  positive symbols; ``symmetric`` shares the mirrored entries; other kinds
  (spd, invertible, unit) are proved over a larger set, which is still a proof;
* ReLU, its derivative and ``abs`` are split into cases on the sign of their
  argument (each case is proved), so a proof holds everywhere off the kinks.

Reduction is exact: exponentials become powers of positive symbols (as they
are built), logs of positive arguments are expanded (only where SymPy knows the
argument is positive: ``log(x**2) = 2 log(x)`` is false for a negative real x),
then ``cancel`` decides rational functions;
``simplify`` is a last resort.  A failed reduction is "not proved", never
"refuted".  Everything runs in a child process with a time limit (``limits``).

A worker keeps what it converted: a definition's SymPy value at given sizes,
values of the symbols it uses and sign cases it consulted is the same in every
later sign case and job that has them (``_Memory``).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

from derivcheck.decide.sampling import smallest_setting
from derivcheck.engine.core import Engine, index_assignments
from derivcheck.engine.limits import Limited, WorkerPool
from derivcheck.ir import E

MAX_CASES = 64  # enumerated kind values x sign cases
MAX_COMPONENTS = 400
MAX_REMEMBERED = 20_000  # converted definitions a worker keeps (then starts afresh)


@dataclass(frozen=True)
class Proof:
    """Whether the residual reduced to 0, and what the proof covers."""

    proved: bool
    description: str = ""
    reason: str = ""


class _Branch(Exception):
    def __init__(self, key: Any) -> None:
        super().__init__("branch")
        self.key = key


class _Give(Exception):
    """The instantiated problem is too large or uses something not supported."""


def preload() -> None:
    """Import what proofs use, e.g. in a parent before it forks its workers (which then
    share the modules instead of each importing its own, about 0.4 s of CPU each)."""
    import sympy  # noqa: F401
    from sympy.polys.fields import sfield  # noqa: F401


def proof_setting(dims: tuple[str, ...], floor: int = 2) -> dict[str, int]:
    """The sizes a proof instantiates: the smallest pairwise different sizes (``2, 3, ...``,
    from ``floor`` where an integer index needs it), so that no two dimensions can stand
    in for each other."""
    return smallest_setting(dims, floor)


def prove(engine: Engine, lhs: E, rhs: E, free: frozenset[str], time_limit: float) -> Proof:
    """Try to prove ``lhs = rhs`` at ``proof_setting`` sizes, within ``time_limit``."""
    with WorkerPool(1, seconds=time_limit) as pool:
        job = pool.submit(*proof_job(engine, lhs, rhs, free))
        return as_proof(pool.results()[job])


def proof_job(engine: Engine, lhs: E, rhs: E, free: frozenset[str]) -> tuple:
    """``(function, *arguments)`` of a proof, to run in a worker process."""
    d = engine.derivation
    return prove_call(d, lhs, rhs, free, proof_setting(d.dims, d.size_floor),
                      dict(engine.index_range))


def prove_call(derivation: Any, lhs: E, rhs: E, free: frozenset[str], sizes: dict[str, int],
               index_range: dict[str, str]) -> tuple:
    """``(function, *arguments)`` of a proof at ``sizes``, to run in a worker process."""
    return (_prove_job, derivation, lhs, rhs, free, sizes, index_range)


def as_proof(result: Limited) -> Proof:
    """A worker's answer as a ``Proof`` (a time or memory limit is "not proved")."""
    if result.ok:
        return result.value  # type: ignore[no-any-return]
    return Proof(False, reason=result.reason)


def _prove_job(derivation: Any, lhs: E, rhs: E, free: frozenset[str],
               sizes: dict[str, int], index_range: dict[str, str]) -> Proof:
    engine = Engine(derivation)
    engine.index_range.update(index_range)  # indices the engine renamed while differentiating
    return _prove_at(engine, lhs, rhs, free, sizes)


class _Memory:
    """What a worker keeps between sign cases and jobs.

    ``terms`` maps each exponent term ``t`` to the positive symbol standing for
    ``exp(t)`` (the same symbol in every job, so remembered values stay valid);
    ``defs`` maps a derivation's definitions (with index ranges and the ReLU
    convention) to their converted values, see ``_Converter._ref``.
    """

    def __init__(self) -> None:
        self.terms: dict[Any, Any] = {}  # exponent term -> positive symbol
        self.back: dict[Any, Any] = {}  # positive symbol -> exponent term
        self.powers: dict[Any, Any] = {}  # exponent -> exp of it as powers (_exp_power)
        self.defs: dict[tuple, dict[tuple, list[tuple[dict[Any, bool], Any]]]] = {}
        self.count = 0
        self._prints: dict[Any, int] = {}

    def print_id(self, value: Any) -> int:
        """A small number standing for a symbol's SymPy value (equal values, equal ids)."""
        import sympy

        key = (value.shape, tuple(value)) if isinstance(value, sympy.MatrixBase) else value
        return self._prints.setdefault(key, len(self._prints))

    def for_engine(self, engine: Engine) -> dict[tuple, list[tuple[dict[Any, bool], Any]]]:
        if self.count > MAX_REMEMBERED:  # (symbols of exponent terms stay: values use them)
            self.defs.clear()
            self.count = 0
        key = (tuple(engine.definitions.items()), tuple(sorted(engine.index_range.items())),
               engine.derivation.conventions.relu_prime_at_zero)
        return self.defs.setdefault(key, {})


_MEMORY = _Memory()
_UNSET = object()


def _prove_at(engine: Engine, lhs: E, rhs: E, free: frozenset[str],
              sizes: dict[str, int]) -> Proof:
    names = sorted(engine.used_symbols(lhs) | engine.used_symbols(rhs))
    try:
        cases = list(_kind_cases(engine, names, sizes))
    except _Give as exc:
        return Proof(False, reason=str(exc))
    indices = index_assignments(free, engine.index_range, sizes)
    total_branches = 0
    remembered = _MEMORY.for_engine(engine)
    def_symbols = {name: sorted(engine.used_symbols(expr))
                   for name, expr in engine.definitions.items()}
    for values in cases:
        prints = {name: _MEMORY.print_id(v) for name, v in values.items()}
        pending: list[dict[Any, bool]] = [{}]
        while pending:
            signs = pending.pop()
            conv = _Converter(engine, sizes, values, signs, remembered=remembered,
                              prints=prints, def_symbols=def_symbols)
            try:
                residuals = []
                for idx in indices:
                    a, b = conv.value(lhs, idx), conv.value(rhs, idx)
                    residuals.extend(_components(a, b))
            except _Branch as br:
                total_branches += 2
                if total_branches * len(cases) > MAX_CASES * 2:
                    return Proof(False, reason="too many ReLU/abs sign cases to enumerate")
                pending.append({**signs, br.key: True})
                pending.append({**signs, br.key: False})
                continue
            except _Give as exc:
                return Proof(False, reason=str(exc))
            if len(residuals) > MAX_COMPONENTS:
                return Proof(False, reason="too many components to prove symbolically")
            for r in residuals:
                if not _is_zero(r, _MEMORY):
                    return Proof(False, reason="the residual did not reduce to 0")
    where = ", ".join(f"{k}={v}" for k, v in sizes.items()) or "all sizes (no dimensions)"
    parts = [f"for sizes {where}" if sizes else "(no dimensions: for every value)"]
    if len(cases) > 1:
        parts.append(f"every one of the {len(cases)} values of the finite kinds")
    if total_branches:
        parts.append("every sign case of ReLU/abs (off the kinks)")
    return Proof(True, description="; ".join(parts))


def _kind_cases(engine: Engine, names: list[str], sizes: dict[str, int]):  # type: ignore[no-untyped-def]
    """Yield dicts name -> SymPy value (scalar or Matrix), one per enumerated case."""
    import sympy

    fixed: dict[str, Any] = {}
    choices: list[tuple[str, list[Any]]] = []
    for name in names:
        sym = engine.symbols[name]
        shape = tuple(sizes[d] if isinstance(d, str) else d for d in sym.shape)
        tags = sym.constraints
        if "onehot" in tags:
            n = shape[0]
            choices.append((name, [sympy.Matrix(n, 1, lambda i, j, k=k: 1 if i == k else 0)
                                   for k in range(n)]))
        elif "onehot_columns" in tags:
            m, cols = shape
            options = list(itertools.product(range(m), repeat=cols))
            choices.append((name, [sympy.Matrix(m, cols, lambda i, j, o=o: 1 if o[j] == i else 0)
                                   for o in options]))
        elif "binary" in tags:
            count = 1
            for d in shape:
                count *= d
            patterns = list(itertools.product((0, 1), repeat=count))
            if "multihot" in tags:
                patterns = [p for p in patterns if any(p)]
            rows, cols = (shape + (1, 1))[:2] if shape else (1, 1)
            vals = []
            for p in patterns:
                mat = sympy.Matrix(rows, cols, list(p))
                vals.append(mat if shape else mat[0, 0])
            choices.append((name, vals))
        else:
            fixed[name] = _symbolic_value(name, shape, tags)
        total = 1
        for _, opts in choices:
            total *= len(opts)
        if total > MAX_CASES:
            raise _Give("too many values of finite kinds to enumerate")
    if not choices:
        yield fixed
        return
    for combo in itertools.product(*(opts for _, opts in choices)):
        out = dict(fixed)
        out.update({name: value for (name, _), value in zip(choices, combo)})
        yield out


def _symbolic_value(name: str, shape: tuple[int, ...], tags: frozenset[str]) -> Any:
    import sympy

    positive = "positive" in tags
    opts = {"positive": True} if positive else {"real": True}
    # Names are injective whatever the user calls things: an entry is "x[0]" or "W[0,1]",
    # which no declared name can be (names are identifiers), so the scalar x_0 and the
    # entry x[0] are different SymPy symbols.
    if shape == ():
        return sympy.Symbol(name, **opts)
    rows, cols = shape
    if "symmetric" in tags:
        return sympy.Matrix(rows, cols, lambda i, j: sympy.Symbol(
            f"{name}[{min(i, j)},{max(i, j)}]", **opts))
    mat = sympy.Matrix(rows, cols, lambda i, j: sympy.Symbol(
        f"{name}[{i}]" if cols == 1 else f"{name}[{i},{j}]", **opts))
    if "prob" in tags and cols == 1:
        mat[rows - 1, 0] = 1 - sum(mat[k, 0] for k in range(rows - 1))
    return mat


def _components(a: Any, b: Any) -> list[Any]:
    """The components of ``a - b`` (arrays broadcast against scalars)."""
    import numpy as np

    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        try:
            a2, b2 = np.broadcast_arrays(np.asarray(a, dtype=object), np.asarray(b, dtype=object))
        except ValueError:
            raise _Give("shapes differ after instantiation") from None
        return [x - y for x, y in zip(a2.flat, b2.flat)]
    return [a - b]


def _is_zero(expr: Any, memory: _Memory) -> bool:
    """Exact zero test: exponentials and logs to a rational function, then ``cancel``.

    ``exp(c1*t1 + c2*t2)`` is ``E1**c1 * E2**c2`` with a positive symbol per
    term ``t`` (``memory``; the converter builds exponentials this way already,
    ``_exp_power``), so every exponential of a linear combination shares the same
    generators; logs of what SymPy knows to be positive are expanded (not others:
    ``log(x**2) = 2 log(x)`` is false for a negative real ``x``) and ``log(E)`` goes
    back to its term.  What is left is a
    rational function in symbols and log atoms, whose zero test is exact.
    ``simplify`` is the last resort.
    """
    import sympy

    if expr == 0:
        return True
    e = expr.rewrite(sympy.exp) if expr.has(sympy.tanh) else expr
    if e.has(sympy.exp):  # (both rewrites leave an expression without exp or log as it is)
        e = e.replace(lambda x: isinstance(x, sympy.exp),
                      lambda x: _exp_power(x.args[0], memory))
    if e.has(sympy.log):
        # Not force=True: log(a * b) = log(a) + log(b) and log(a**2) = 2 log(a) hold only
        # for positive a, b (SymPy applies them where the assumptions say so: the exp
        # symbols are positive, real entries are not).
        e = sympy.expand_log(e, force=False)
        back = {a: memory.back[a.args[0]] for a in e.atoms(sympy.log)
                if a.args[0] in memory.back}
        e = e.xreplace(back)
    if not _tame(e):
        return False  # not shown this way (and never a refutation)
    if _zero_in_field(e):
        return True
    if sympy.cancel(sympy.together(e)) == 0:
        return True
    if e.has(sympy.log, sympy.Abs, sympy.sign, sympy.exp):
        return bool(sympy.simplify(e) == 0)
    return False


MAX_EXPONENT = 10_000  # numerator of an exponent the exact zero test accepts
MAX_EXPONENT_DENOMINATOR = 1_000


def _tame(expr: Any) -> bool:
    """No power with a huge rational exponent (``E**(999999999999/10**12)``, from a constant
    like ``-1 + 1e-12``): polynomial arithmetic would need a generator of that degree,
    which GMP cannot allocate (it aborts the process) and pure Python cannot finish."""
    import sympy

    for p in expr.atoms(sympy.Pow):
        e = p.exp
        if e.is_Rational and (abs(e.p) > MAX_EXPONENT or e.q > MAX_EXPONENT_DENOMINATOR):
            return False
        if e.is_Float:
            return False
    return True


def _exp_power(arg: Any, memory: _Memory) -> Any:
    """``exp(arg)`` as a product of powers of positive symbols, one per term of ``arg``.

    ``exp(c1*t1 + c2*t2 + c0) = exp(c0) * E1**c1 * E2**c2`` with ``E = exp(t)``
    (a positive symbol, the same for the same ``t``: ``memory``).  Treating the
    ``E`` as independent makes a zero found this way zero for every value.
    """
    import sympy

    hit = memory.powers.get(arg)
    if hit is not None:
        return hit
    out = sympy.Integer(1)
    for term in sympy.Add.make_args(arg if arg.is_Symbol else sympy.expand(arg)):
        coeff, rest = term.as_coeff_Mul()
        if rest == 1:
            out *= sympy.exp(coeff)
            continue
        sym = memory.terms.get(rest)
        if sym is None:
            sym = sympy.Dummy(f"E{len(memory.terms)}", positive=True)
            memory.terms[rest] = sym
            memory.back[sym] = rest
        out *= sym ** coeff
    if len(memory.powers) < MAX_REMEMBERED:
        memory.powers[arg] = out
    return out


def _zero_in_field(expr: Any) -> bool:
    """Is ``expr`` 0 as a rational function of its atoms (sparse field arithmetic)?

    Atoms that are not polynomial generators (logs, powers of symbols) are taken
    as independent generators: zero there means zero for every value, so a True
    answer is a proof; False only means "not shown this way".
    """
    from sympy.polys.fields import sfield
    from sympy.polys.polyerrors import PolynomialError

    try:
        _, element = sfield(expr)
    except (PolynomialError, ValueError, TypeError, NotImplementedError):
        return False
    return bool(element == 0)


class _Converter:
    """IR -> SymPy at fixed sizes and values, with sign cases for kinks.

    Arrays are NumPy object arrays of SymPy expressions (much cheaper to build
    than SymPy matrices); scalars are SymPy expressions.
    """

    def __init__(self, engine: Engine, sizes: dict[str, int], values: dict[str, Any],
                 signs: dict[Any, bool], *,
                 remembered: dict[tuple, list[tuple[dict[Any, bool], Any]]] | None = None,
                 prints: dict[str, Any] | None = None,
                 def_symbols: dict[str, list[str]] | None = None) -> None:
        import numpy as np
        import sympy

        self.np = np
        self.sp = sympy
        self.engine = engine
        self.sizes = sizes
        self.values = {k: self._from_sympy(v) for k, v in values.items()}
        self.signs = signs
        self.at_zero = engine.derivation.conventions.relu_prime_at_zero
        self.seed: Any = None
        # definition key -> [(the sign cases its conversion consulted, its value)]
        self._defs: dict[tuple, list[tuple[dict[Any, bool], Any]]] = (
            {} if remembered is None else remembered)
        self._prints = prints if prints is not None else {
            k: _MEMORY.print_id(v) for k, v in values.items()}
        self._def_symbols = def_symbols if def_symbols is not None else {
            name: sorted(engine.used_symbols(expr))
            for name, expr in engine.definitions.items()}
        self._sizes_key = tuple(sorted(sizes.items()))
        self._frames: list[dict[Any, bool]] = []  # sign cases consulted, per open definition

    # -- arrays ------------------------------------------------------------------
    def _from_sympy(self, x: Any) -> Any:
        if isinstance(x, self.sp.MatrixBase):
            out = self.np.empty(x.shape, dtype=object)
            for i in range(x.shape[0]):
                for j in range(x.shape[1]):
                    out[i, j] = x[i, j]
            return out
        return x

    def _is_arr(self, x: Any) -> bool:
        return isinstance(x, self.np.ndarray)

    def _squeeze(self, x: Any) -> Any:
        if self._is_arr(x) and x.shape == (1, 1):
            return x[0, 0]
        return x

    def _full(self, rows: int, cols: int, fn: Any) -> Any:
        out = self.np.empty((rows, cols), dtype=object)
        for i in range(rows):
            for j in range(cols):
                out[i, j] = fn(i, j)
        return out

    def _elementwise(self, fn: Any, *xs: Any) -> Any:
        if not any(self._is_arr(x) for x in xs):
            return fn(*xs)
        return self.np.frompyfunc(fn, len(xs), 1)(*xs)

    def _sign(self, arg: Any, kind: str) -> bool:
        """Is ``arg`` > 0 in the current case? (branches when unknown)"""
        arg = self.sp.expand(arg)
        if arg.is_number:
            return bool(arg > 0)
        if arg.is_positive:
            return True
        if arg.is_negative:
            return False
        key = arg  # SymPy expressions compare structurally (assumptions included)
        if key in self.signs:
            for frame in self._frames:
                frame[key] = self.signs[key]
            return self.signs[key]
        raise _Branch(key)

    def _relu_prime(self, x: Any) -> Any:
        if x.is_number and x == 0:
            return self.sp.Integer(self.at_zero)  # the stated convention at the kink
        return self.sp.Integer(1) if self._sign(x, "relu") else self.sp.Integer(0)

    def _ref(self, name: str, idx: dict[str, int]) -> Any:
        """A definition's value, converted once for every sign case and job that agree on
        what the conversion depends on: the free indices, sizes, values of the symbols it
        uses, and the sign cases it consulted (the same consulted signs send a
        conversion down the same path, so it gives the same value)."""
        free = self.engine.def_free.get(name, frozenset())
        key = (name, tuple(sorted((k, idx[k]) for k in free)), self._sizes_key,
               tuple(self._prints[s] for s in self._def_symbols[name]))
        entries = self._defs.get(key)
        if entries is not None:
            for consulted, value in entries:
                if all(self.signs.get(k, _UNSET) == v for k, v in consulted.items()):
                    for outer in self._frames:
                        outer.update(consulted)
                    return value
        frame: dict[Any, bool] = {}
        self._frames.append(frame)
        try:
            value = self._squeeze(self._conv(self.engine.definitions[name], idx))
        finally:
            self._frames.pop()
        for outer in self._frames:
            outer.update(frame)
        self._defs.setdefault(key, []).append((frame, value))
        _MEMORY.count += 1
        return value

    def _exp(self, x: Any) -> Any:
        """``exp(x)``: as powers of positive symbols (``_exp_power``), except where SymPy
        itself would rewrite it (``x`` a number or containing a log: ``exp(log(u)) = u``)."""
        if x.is_number or x.has(self.sp.log):
            return self.sp.exp(x)
        return _exp_power(x, _MEMORY)

    def _tanh(self, x: Any) -> Any:
        if x.is_number or x.has(self.sp.log):
            return self.sp.tanh(x)
        e = _exp_power(x, _MEMORY)
        return (e - 1 / e) / (e + 1 / e)  # tanh(x).rewrite(exp)

    def _index(self, node: E, idx: dict[str, int]) -> int:
        return int(node.val) if node.op == "int" else idx[str(node.val)]  # type: ignore[arg-type]

    def value(self, node: E, idx: dict[str, int]) -> Any:
        return self._conv(node, dict(idx))

    def _add_all(self, items: list[Any]) -> Any:
        if not any(self._is_arr(x) for x in items):
            return self.sp.Add(*items)
        total = items[0]
        for x in items[1:]:
            total = self._elementwise(lambda u, v: u + v, total, x)
        return total

    def _conv(self, node: E, idx: dict[str, int]) -> Any:
        sp, np = self.sp, self.np
        op, args = node.op, node.args
        if op == "num":
            return sp.Rational(node.val.numerator, node.val.denominator)  # type: ignore[union-attr]
        if op == "sym":
            return self.values[str(node.val)]
        if op == "ref":
            return self._ref(str(node.val), idx)
        if op == "dim":
            return sp.Integer(self.sizes[str(node.val)])
        if op in ("add", "sub", "mul", "div", "pow"):
            a, b = self._conv(args[0], idx), self._conv(args[1], idx)
            fn = {"add": lambda x, y: x + y, "sub": lambda x, y: x - y,
                  "mul": lambda x, y: x * y, "div": lambda x, y: x / y,
                  "pow": lambda x, y: x ** y}[op]
            return self._squeeze(self._elementwise(fn, a, b))
        if op == "neg":
            a = self._conv(args[0], idx)
            return self._elementwise(lambda x: -x, a)
        if op == "matmul":
            a, b = self._conv(args[0], idx), self._conv(args[1], idx)
            if not self._is_arr(a) or not self._is_arr(b):
                return self._squeeze(self._elementwise(lambda x, y: x * y, a, b))
            out = self._full(a.shape[0], b.shape[1], lambda i, j: sp.Add(
                *[a[i, k] * b[k, j] for k in range(a.shape[1])]))
            return self._squeeze(out)
        if op == "T":
            a = self._conv(args[0], idx)
            return a.T if self._is_arr(a) else a
        if op == "fn":
            return self._fn(node, idx)
        if op in ("sum", "mean"):
            a = self._conv(args[0], idx)
            if not self._is_arr(a):
                return a
            if node.val is None:
                total = sp.Add(*a.flat)
                return total if op == "sum" else total / a.size
            if node.val == 0:
                out = self._full(1, a.shape[1], lambda i, j: sp.Add(*a[:, j]))
                count = a.shape[0]
            else:
                out = self._full(a.shape[0], 1, lambda i, j: sp.Add(*a[i, :]))
                count = a.shape[1]
            if op == "mean":
                out = self._elementwise(lambda x: x / count, out)
            return self._squeeze(out)
        if op == "elem":
            base = self._conv(args[0], idx)
            keys = [self._index(a, idx) for a in args[1:]]
            if len(keys) == 1:
                return base[keys[0], 0] if base.shape[1] == 1 else base[0, keys[0]]
            return base[keys[0], keys[1]]
        if op == "Sum":
            var = str(node.val)
            n = self.sizes[self.engine.index_range[var]]
            return self._add_all([self._conv(args[0], {**idx, var: k}) for k in range(n)])
        if op == "delta":
            return sp.Integer(1 if self._index(args[0], idx) == self._index(args[1], idx) else 0)
        if op == "span":
            first, dropped, dim = node.val  # type: ignore[misc]
            k = self._index(args[0], idx)
            return sp.Integer(1 if first <= k <= self.sizes[dim] - 1 - dropped else 0)
        if op == "onehot":
            n = self.sizes[str(node.val)]
            k = self._index(args[0], idx)
            return self._full(n, 1, lambda i, j: sp.Integer(1 if i == k else 0))
        if op == "eye":
            n = self.sizes[str(node.val)]
            return self._full(n, n, lambda i, j: sp.Integer(1 if i == j else 0))
        if op == "ones":
            shape = [d if isinstance(d, int) else self.sizes[d] for d in node.val]  # type: ignore[union-attr]
            if not shape:
                return sp.Integer(1)
            return self._squeeze(self._full(shape[0], shape[1], lambda i, j: sp.Integer(1)))
        if op == "jac":
            n_dim = node.val[0]  # type: ignore[index]
            n = self.sizes[n_dim] if isinstance(n_dim, str) else int(n_dim)
            cols = []
            saved = self.seed
            for j in range(n):
                self.seed = self._full(n, 1, lambda i, c, j=j: sp.Integer(1 if i == j else 0))
                col = self._conv(args[0], idx)
                col = col if self._is_arr(col) else np.array([[col]], dtype=object)
                cols.append(col.reshape(-1, 1))
            self.seed = saved
            return np.hstack(cols)
        if op == "seed":
            return self.seed
        raise _Give(f"no symbolic rule for '{op}'")

    def _fn(self, node: E, idx: dict[str, int]) -> Any:
        sp = self.sp
        name = node.val
        a = self._conv(node.args[0], idx)
        simple = {
            "exp": self._exp, "log": sp.log, "sqrt": sp.sqrt, "tanh": self._tanh,
            "log2": lambda x: sp.log(x) / sp.log(2), "log10": lambda x: sp.log(x) / sp.log(10),
            "sigmoid": lambda x: 1 / (1 + self._exp(-x)),
            "relu": lambda x: x if self._sign(x, "relu") else sp.Integer(0),
            "relu_prime": self._relu_prime,
            "abs": lambda x: x if self._sign(x, "abs") else -x,
            "sign": lambda x: sp.sign(x) if x.is_number else (
                sp.Integer(1) if self._sign(x, "abs") else sp.Integer(-1)),
        }
        if name in simple:
            return self._elementwise(simple[name], a)  # type: ignore[index]
        m = a if self._is_arr(a) else self.np.array([[a]], dtype=object)
        rows, cols = m.shape
        if name == "softmax":
            out = self.np.empty(m.shape, dtype=object)
            for j in range(cols):
                col = [self._exp(m[i, j]) for i in range(rows)]
                total = sp.Add(*col)
                for i in range(rows):
                    out[i, j] = col[i] / total
            return out
        if name == "logsumexp":
            out = self._full(1, cols, lambda i, j: sp.log(
                sp.Add(*[self._exp(m[k, j]) for k in range(rows)])))
            return self._squeeze(out)
        if name == "diag":
            if cols == 1:
                return self._full(rows, rows, lambda i, j: m[i, 0] if i == j else sp.Integer(0))
            if rows == 1:
                return self._full(cols, cols, lambda i, j: m[0, i] if i == j else sp.Integer(0))
            return self._full(rows, 1, lambda i, j: m[i, i])
        if name == "tr":
            return sp.Add(*[m[i, i] for i in range(rows)])
        matrix = sp.Matrix(m.tolist())
        if name == "det":
            return matrix.det()
        if name == "inv":
            return self._squeeze(self._from_sympy(matrix.inv()))
        raise _Give(f"no symbolic rule for {name}")
