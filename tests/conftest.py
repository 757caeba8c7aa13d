"""Shared helpers: small models, YAML documents built from dicts, and one-claim checks.

Tests build derivations through ``load_text`` (the public entry point), so each
case reads as the YAML a user would write.  Most checks run with
``Options(symbolic=False)``: the numeric stage decides every verdict except
``proved``, and the suite stays fast.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from derivcheck.decide import Options
from derivcheck.engine.core import Engine
from derivcheck.ir import E
from derivcheck.load import load_text
from derivcheck.model import Derivation
from derivcheck.parse.expr import Scope, parse_expression
from derivcheck.results import StepResult
from derivcheck.verify import verify_derivation

ROOT = Path(__file__).resolve().parents[1]

DERIVATIONS = ROOT / "derivations"
SEEDS = ROOT.parent / "shared" / "seeds"

FAST = Options(symbolic=False)

# The models the tables refer to by name.  Dimension names are declared in an
# order that gives each its own size at every setting.
MODELS: dict[str, dict[str, Any]] = {
    # x -> z1 -> a1 = relu(z1) -> z2 -> a2 = softmax(z2) -> cross-entropy with a one-hot y
    "mlp": {
        "symbols": {"x": "vector D", "W1": "matrix H D", "b1": "vector H",
                    "W2": "matrix K H", "b2": "vector K", "y": "onehot K",
                    "i": "index K", "j": "index H", "k": "index D"},
        "define": {"z1": "W1 @ x + b1", "a1": "relu(z1)", "z2": "W2 @ a1 + b2",
                   "a2": "softmax(z2)", "L": "-sum(y * log(a2))"},
    },
    # softmax + cross-entropy with targets of three kinds: onehot t, prob p, plain y
    "softmax": {
        "symbols": {"z": "vector K", "t": "onehot K", "p": "prob K", "y": "vector K",
                    "i": "index K", "j": "index K", "k": "index K"},
        "define": {"a": "softmax(z)", "L": "-sum(t * log(a))", "Lp": "-sum(p * log(a))",
                   "Ly": "-sum(y * log(a))", "lse": "logsumexp(z)", "ls": "log(a)"},
    },
    # logistic regression, one example (L) and a batch mean (J)
    "sigmoid": {
        "symbols": {"w": "vector D", "x": "vector D", "b": "scalar", "y": "unitscalar",
                    "X": "matrix N D", "t": "binary N"},
        "define": {"z": "w.T @ x + b", "p": "sigmoid(z)",
                   "L": "-(y * log(p) + (1 - y) * log(1 - p))",
                   "zb": "X @ w + b", "pb": "sigmoid(zb)",
                   "J": "mean(-(t * log(pb) + (1 - t) * log(1 - pb)))"},
    },
    # least squares with the mean, and a ridge penalty
    "linreg": {
        "symbols": {"X": "matrix N D", "w": "vector D", "y": "vector N", "lam": "posscalar",
                    "j": "index D", "k": "index D", "n": "index N"},
        "define": {"r": "X @ w - y", "L": "mean(r**2)", "Lr": "L + lam * sum(w**2)",
                   "g": "2 / N * X.T @ r"},
    },
    # square and rectangular matrices for Matrix Cookbook identities
    "cookbook": {
        "symbols": {"x": "vector n", "a": "vector n", "u": "vector n", "v": "vector m",
                    "A": "matrix n n", "B": "matrix n n", "X": "matrix n n",
                    "M": "matrix n m", "Y": "matrix n m", "S": "symmatrix n",
                    "P": "spdmatrix n", "G": "invmatrix n", "H": "invmatrix n"},
        "define": {},
    },
}


def derivation_yaml(*, symbols: dict[str, str], steps: list[dict[str, Any]],
                    define: dict[str, str] | None = None,
                    conventions: dict[str, Any] | None = None,
                    assume: list[str] | None = None, title: str = "test",
                    source: str | None = None) -> str:
    """A derivation file as text; every value is a JSON scalar or list (valid YAML)."""
    lines = [f"title: {json.dumps(title)}"]
    if source is not None:
        lines.append(f"source: {json.dumps(source)}")
    lines.append("symbols:")
    lines.extend(f"  {name}: {json.dumps(kind)}" for name, kind in symbols.items())
    if conventions:
        lines.append(f"conventions: {json.dumps(conventions)}")
    if assume:
        lines.append(f"assume: {json.dumps(assume)}")
    if define:
        lines.append("define:")
        lines.extend(f"  {name}: {json.dumps(text)}" for name, text in define.items())
    lines.append("steps:")
    for step in steps:
        for n, (key, value) in enumerate(step.items()):
            lines.append(("  - " if n == 0 else "    ") + f"{key}: {json.dumps(value)}")
    return "\n".join(lines) + "\n"


def model_parts(model: str | None, symbols: dict[str, str] | None,
                define: dict[str, str] | None) -> tuple[dict[str, str], dict[str, str]]:
    """Symbols and definitions of a named model, extended or replaced by explicit ones."""
    base = MODELS[model] if model else {"symbols": {}, "define": {}}
    syms = {**base["symbols"], **(symbols or {})}
    defs = {**base["define"], **(define or {})}
    return syms, defs


def build(*, claim: str | None = None, chain: list[str] | None = None,
          model: str | None = None, symbols: dict[str, str] | None = None,
          define: dict[str, str] | None = None, layout: str | None = None,
          conventions: dict[str, Any] | None = None, assume: list[str] | None = None,
          expect: Any = None, step_id: str = "s") -> Derivation:
    """A one-step derivation (a claim or a chain) over a model."""
    syms, defs = model_parts(model, symbols, define)
    step: dict[str, Any] = {"id": step_id}
    if claim is not None:
        step["claim"] = claim
    if chain is not None:
        step["chain"] = chain
    if layout is not None:
        step["layout"] = layout
    if expect is not None:
        step["expect"] = expect
    text = derivation_yaml(symbols=syms, steps=[step], define=defs, conventions=conventions,
                           assume=assume)
    return load_text(text, path="case.yaml")


@pytest.fixture
def check() -> Callable[..., StepResult]:
    """``check(claim, model=..., ...)`` -> the ``StepResult`` of a one-claim derivation.

    Keyword ``chain=[...]`` checks a chain instead; ``options`` defaults to FAST.
    """
    def run(claim: str | None = None, *, options: Options = FAST, **kwargs: Any) -> StepResult:
        return verify_derivation(build(claim=claim, **kwargs), options)[0]

    return run


class ModelEngine:
    """An ``Engine`` for a model, with a parser for expressions over its names."""

    def __init__(self, derivation: Derivation) -> None:
        self.derivation = derivation
        self.engine = Engine(derivation)
        self.scope = Scope(derivation.symbols,
                           frozenset(d.name for d in derivation.definitions),
                           frozenset(derivation.dims))

    def parse(self, text: str) -> E:
        return parse_expression(text, self.scope)


@pytest.fixture
def model_engine() -> Callable[..., ModelEngine]:
    """``model_engine(model, symbols=..., define=..., conventions=...)`` -> ``ModelEngine``."""
    def make(model: str | None = None, *, symbols: dict[str, str] | None = None,
             define: dict[str, str] | None = None,
             conventions: dict[str, Any] | None = None) -> ModelEngine:
        syms, defs = model_parts(model, symbols, define)
        first = next(n for n, k in syms.items() if not k.startswith("index"))
        text = derivation_yaml(symbols=syms, define=defs, conventions=conventions,
                               steps=[{"id": "s", "claim": f"{first} = {first}"}])
        return ModelEngine(load_text(text, path="engine.yaml"))

    return make


def draw_values(derivation: Derivation, sizes: dict[str, int],
                rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Values for every non-index symbol, drawn here (not by the engine's sampler).

    Only the kinds the derivative tables use are supported; anything else is a
    mistake in the test.
    """
    values: dict[str, np.ndarray] = {}
    for name, sym in derivation.symbols.items():
        if sym.is_index:
            continue
        shape = tuple(sizes[d] if isinstance(d, str) else d for d in sym.shape)
        if sym.kind in ("scalar", "vector", "matrix"):
            value = rng.normal(size=shape)
        elif sym.kind in ("posscalar", "posvector"):
            value = rng.uniform(0.5, 2.0, size=shape)
        elif sym.kind == "unitscalar":
            value = rng.uniform(0.1, 0.9, size=shape)
        elif sym.kind == "onehot":
            value = np.zeros(shape)
            value[rng.integers(shape[0]), 0] = 1.0
        elif sym.kind == "binary":
            value = rng.integers(0, 2, size=shape).astype(float)
        elif sym.kind == "prob":
            w = rng.uniform(0.2, 1.0, size=shape)
            value = w / w.sum()
        elif sym.kind == "spdmatrix":
            a = rng.normal(size=shape)
            value = a @ a.T + shape[0] * np.eye(shape[0])
        elif sym.kind == "invmatrix":
            value = rng.normal(size=shape) + 3 * np.eye(shape[0])
        elif sym.kind == "symmatrix":
            a = rng.normal(size=shape)
            value = a + a.T
        else:
            raise AssertionError(f"draw_values: no rule for kind {sym.kind}")
        values[name] = np.float64(value) if shape == () else np.asarray(value, dtype=float)
    return values


def strip_timing(obj: Any) -> Any:
    """A JSON value with every ``seconds`` field removed (timings differ between runs)."""
    if isinstance(obj, dict):
        return {k: strip_timing(v) for k, v in obj.items() if k != "seconds"}
    if isinstance(obj, list):
        return [strip_timing(v) for v in obj]
    return obj
