"""Independent check of the corpus labels by finite differences (no derivcheck engine).

Every claim is evaluated with bench/npeval.py at several random points and
several settings of the dimension sizes; ``d(f)/d(v)`` by a 4th-order central
stencil.  A claim is

- ``true`` when both sides agree to ``AGREE`` at every point,
- ``false`` when they differ by more than ``DIFFER`` at some point, or when
  their shapes do not fit (``reason: shape``),
- ``unclear`` otherwise, ``unsupported`` when the evaluator cannot express it,
  ``no-points`` when no point off the ReLU kinks and inside the domain was found.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from bench.corpus import Claim
from bench.npeval import (
    BadPoint,
    ShapeError,
    Unsupported,
    draw_point,
    evaluate_claim,
    relative_error,
)

AGREE = 1e-5  # the stencil error is ~1e-9 (first) and ~1e-6 (second derivatives) here
DIFFER = 1e-3
POINTS = 3  # per size setting
SCALES = (1.0, 0.5, 2.0)
TRIES = 40  # draws per point before giving up (kinks, domain)


@dataclass(frozen=True)
class FDVerdict:
    key: str
    verdict: str  # true, false, unclear, unsupported, no-points
    reason: str  # "shape", "values" or the detail
    worst: float  # largest relative error seen
    seconds: float


def size_settings(dims: tuple[str, ...], rng: np.random.Generator, count: int = 3
                  ) -> list[dict[str, int]]:
    """Distinct sizes (2, 3, 4, ...) in the order of the names, then reversed, then random."""
    names = sorted(dims)
    out = [{d: 2 + k for k, d in enumerate(names)},
           {d: 1 + len(names) - k for k, d in enumerate(names)}]
    while len(out) < count:
        out.append({d: int(rng.integers(2, 6)) for d in names})
    return out[:count]


def verify_claim(claim: Claim, *, seed: int = 0, settings: int = 3,
                 points: int = POINTS) -> FDVerdict:
    """The finite-difference verdict on one claim (see the module docstring)."""
    start = time.perf_counter()
    rng = np.random.default_rng([seed, sum(map(ord, claim.key))])
    worst = 0.0
    unclear = False
    checked = 0
    derivation = claim.derivation

    def done(verdict: str, reason: str) -> FDVerdict:
        return FDVerdict(claim.key, verdict, reason, worst, time.perf_counter() - start)

    for sizes in size_settings(derivation.dims, rng, settings):
        for p in range(points):
            for _ in range(TRIES):
                values = draw_point(derivation, sizes, rng, SCALES[p % len(SCALES)])
                try:
                    got = evaluate_claim(claim.lhs, claim.rhs, derivation, claim.layout,
                                         values, sizes)
                except BadPoint:
                    continue
                except ShapeError as exc:
                    return done("false", f"shape: {exc}")
                except Unsupported as exc:
                    return done("unsupported", str(exc))
                err = relative_error(got)
                worst = max(worst, err)
                checked += 1
                if err >= DIFFER:
                    return done("false", f"values differ (relative error {err:.2e}, "
                                f"sizes {sizes})")
                if err > AGREE:
                    unclear = True
                break
    if checked == 0:
        return done("no-points", "no point off the kinks and inside the domain")
    if unclear:
        return done("unclear", f"relative error {worst:.2e} between {AGREE} and {DIFFER}")
    return done("true", f"{checked} points")


def agrees(claim: Claim, fd: FDVerdict) -> bool | None:
    """Does the label agree with the finite differences?  None: FD did not decide."""
    if fd.verdict not in ("true", "false"):
        return None
    return claim.true == (fd.verdict == "true")
