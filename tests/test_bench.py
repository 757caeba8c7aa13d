"""The benchmark's machinery works: the FD label verifier and the naive-SymPy baseline.

A few claims only (seconds); the benchmark itself is `make bench`.  No timing
assertions.
"""

from __future__ import annotations

import pytest

from bench.corpus import load_corpus
from bench.fd_labels import agrees, verify_claim
from bench.naive_sympy import decide_limited
from bench.npeval import free_indices

CLAIMS = {c.key: c for c in load_corpus()}

CASES = [
    # (claim, FD verdict, naive SymPy verdict)
    ("softmax_ce.yaml:dL_dz", "true", "holds"),  # one-hot y, backprop to an intermediate
    ("softmax_ce.yaml:dL_dz_index_sum_slip", "false", "refuted"),  # Sum, delta, free index
    ("cookbook.yaml:quad_form_A_inner", "false", "ill_formed"),  # shapes do not fit
]


@pytest.mark.parametrize(("key", "fd_verdict", "naive_verdict"), CASES)
def test_fd_label_verifier(key: str, fd_verdict: str, naive_verdict: str) -> None:
    claim = CLAIMS[key]
    fd = verify_claim(claim, settings=2, points=2)
    assert fd.verdict == fd_verdict, fd.reason
    assert agrees(claim, fd)


@pytest.mark.parametrize(("key", "fd_verdict", "naive_verdict"), CASES)
def test_naive_sympy_baseline(key: str, fd_verdict: str, naive_verdict: str) -> None:
    claim = CLAIMS[key]
    free = sorted(free_indices(claim.lhs, claim.derivation)
                  | free_indices(claim.rhs, claim.derivation))
    verdict, detail, _ = decide_limited(claim.lhs, claim.rhs, claim.derivation, claim.layout,
                                        free, seconds=30.0)
    assert verdict == naive_verdict, detail


def test_fd_verifier_catches_a_wrong_label() -> None:
    """A true claim relabelled false is reported as a disagreement."""
    import dataclasses

    claim = dataclasses.replace(CLAIMS["softmax_ce.yaml:dL_dW"], label="refuted")
    assert agrees(claim, verify_claim(claim, settings=1, points=1)) is False
