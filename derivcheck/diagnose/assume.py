"""Rules that change how the reference is evaluated: an undeclared assumption, no ReLU mask.

``needs-assumption`` samples again, with a symbol drawn under a stronger
constraint; ``missing-relu-mask`` evaluates the reference with every mask set to 1.
"""

from __future__ import annotations

import numpy as np

from derivcheck import ir
from derivcheck.codes import Diagnosis, diagnosis
from derivcheck.decide import AGREE, Options, sample_both
from derivcheck.diagnose.probe import Probe, close
from derivcheck.engine.core import Engine
from derivcheck.engine.numeric import EvalError
from derivcheck.errors import ShapeError, Unsupported
from derivcheck.ir import E
from derivcheck.printer import to_text_bounded

# Candidate assumptions, weakest first: the diagnosis names the first that suffices.
_STRONGER = (
    ("positive", frozenset({"positive"}), "{n} > 0",
     "declare {n} with a positive kind (posscalar, posvector), or add is_positive({n}) to "
     "assume"),
    ("sum1", frozenset({"sum1"}), "sum({n}) = 1",
     "declare {n} as 'prob' or 'onehot', or add is_prob({n}) to assume"),
    ("prob", frozenset({"prob", "positive"}), "{n} is a probability vector (positive, sum 1)",
     "declare {n} as 'prob', or add is_prob({n}) to assume"),
    ("onehot", frozenset({"onehot", "binary", "prob", "positive"}), "{n} is one-hot",
     "declare {n} as 'onehot', or add is_onehot({n}) to assume"),
    ("symmetric", frozenset({"symmetric"}), "{n} is symmetric",
     "declare {n} as 'symmatrix', or add is_symmetric({n}) to assume"),
)


def needs_assumption(engine: Engine, ref: E, claim: E, free: frozenset[str], options: Options,
                     rng: np.random.Generator) -> Diagnosis | None:
    names = sorted(engine.used_symbols(ref) | engine.used_symbols(claim))
    quick = Options(options.seed, max(options.settings, 3), 3, False)
    for tag, tags, condition, fix in _STRONGER:
        for name in names:
            sym = engine.symbols[name]
            if tag in sym.constraints or not _applies(tag, sym.shape):
                continue
            if sym.constraints - tags - {"binary"} and tag != "positive":
                continue
            try:
                samples, _ = sample_both(engine, ref, claim, free, quick, rng,
                                         constraints={name: sym.constraints | tags},
                                         stop_at_disagreement=True)
            except (EvalError, ShapeError, Unsupported):
                continue
            if len(samples) >= quick.points * quick.settings and \
                    max(e for s in samples for e in s.errors) <= AGREE:
                return diagnosis("needs-assumption", condition=condition.format(n=name),
                                 fix=fix.format(n=name))
    return None


def _applies(tag: str, shape: tuple) -> bool:
    if tag in ("prob", "onehot", "sum1"):
        return len(shape) == 2 and shape[1] == 1
    if tag == "symmetric":
        return len(shape) == 2 and shape[0] == shape[1]
    return True


def missing_mask(probe: Probe, ref: E) -> Diagnosis | None:
    """The claim equals the reference evaluated with every ReLU mask set to 1."""
    engine = probe.engine
    masks = [n for n in ref.walk() if n.op == "fn" and n.val == "relu_prime"]
    if not masks:
        masks = [n for n in _expanded_refs(engine, ref) if n.op == "fn" and n.val == "relu_prime"]
    if not masks:
        return None
    try:
        for s in probe.samples:
            ev = engine.evaluator(s.point, no_relu_mask=True)
            values = ev.values(ref, s.indices)
            if not all(close(c, v, strict=False) for c, v in zip(s.rhs, values)):
                return None
    except (EvalError, KeyError, ValueError):
        return None
    return diagnosis("missing-relu-mask", mask=to_text_bounded(masks[0]))


def _expanded_refs(engine: Engine, node: E) -> list[E]:
    out: list[E] = []
    for name in sorted(ir.refs(node)):
        out.extend(engine.definitions[name].walk())
    return out
