"""When two float64 values agree, and when they certainly differ: the one definition.

Float64 comparisons are a filter, never the last word on a claim that holds:
``relative_error`` is ``|a - b| / (1 + max |a|, |b|)``, an *absolute* test below
magnitude 1, so two sides of size 1e-13 that differ in sign "agree" to 1e-8, and
``(s + 1e18) - 1e18`` absorbs ``s``.  A difference at or above ``DISAGREE`` refutes
(it is far above float64 rounding); agreement to ``AGREE`` only makes a claim a
candidate for ``checked``, which the high-precision evaluation (``exact``) must
confirm at the same points.
"""

from __future__ import annotations

import numpy as np

AGREE = 1e-8  # relative error at or below which two float64 values are candidates to agree
DISAGREE = 1e-6  # relative error at or above which they certainly differ
ROUNDING_CEILING = 0.1  # a relative difference above this is never taken for rounding


def relative_error(a: np.ndarray, b: np.ndarray) -> float:
    """max |a - b| relative to 1 + the largest magnitude on either side (inf if not finite)."""
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    if a.shape != b.shape:
        a, b = np.broadcast_arrays(a, b)
    with np.errstate(all="ignore"):
        big = max(float(np.max(np.abs(a), initial=0.0)),
                  float(np.max(np.abs(b), initial=0.0)))
        err = float(np.max(np.abs(a - b), initial=0.0)) / (1.0 + big)
    # NaN or inf never agrees: a caller testing ``err <= tol`` or ``err > tol`` gets
    # "different" either way (NaN would pass neither test)
    return err if np.isfinite(err) else float("inf")


def batch_errors(lv: list[np.ndarray], rv: list[np.ndarray]) -> np.ndarray:
    """``relative_error`` of every point of a batch, ``(index settings, points)``."""
    out = []
    with np.errstate(all="ignore"):  # unusable points (inf, nan) are masked by the caller
        if len(lv) > 1 and len({v.shape for v in lv}) == 1 and len({v.shape for v in rv}) == 1:
            # every index setting at once (the same operations on a stacked axis)
            a, b = np.broadcast_arrays(np.stack(lv), np.stack(rv))
            big = np.maximum(np.abs(a).max(axis=(2, 3)), np.abs(b).max(axis=(2, 3)))
            return np.abs(a - b).max(axis=(2, 3)) / (1.0 + big)  # type: ignore[no-any-return]
        for a, b in zip(lv, rv):
            a, b = np.broadcast_arrays(a, b)
            big = np.maximum(np.abs(a).max(axis=(1, 2)), np.abs(b).max(axis=(1, 2)))
            out.append(np.abs(a - b).max(axis=(1, 2)) / (1.0 + big))
    return np.array(out)
