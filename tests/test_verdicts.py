"""Verdicts, diagnoses, counterexamples and reproducibility: correct claims and their mutations.

Every expected value here is worked out by hand from the mathematics: a correct
claim must hold, a mutation of it must never hold, and a diagnosis names what
the mutation did.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from derivcheck.decide import Options
from derivcheck.engine.numeric import Point
from derivcheck.results import Verdict
from tests.conftest import ModelEngine, build

# -- claims that hold ----------------------------------------------------------------

# (id, model, claim, layout)
HOLDS = [
    ("mlp dL/dz2", "mlp", "d(L)/d(z2) = a2 - y", None),
    ("mlp dL/dW2", "mlp", "d(L)/d(W2) = (a2 - y) @ a1.T", None),
    ("mlp dL/db2", "mlp", "d(L)/d(b2) = a2 - y", None),
    ("mlp dL/da1", "mlp", "d(L)/d(a1) = W2.T @ (a2 - y)", None),
    ("mlp dL/dz1", "mlp", "d(L)/d(z1) = (W2.T @ (a2 - y)) * relu_prime(z1)", None),
    ("mlp dL/dW1", "mlp", "d(L)/d(W1) = ((W2.T @ (a2 - y)) * relu_prime(z1)) @ x.T", None),
    ("mlp dL/db1", "mlp", "d(L)/d(b1) = (W2.T @ (a2 - y)) * relu_prime(z1)", None),
    ("mlp dL/dx", "mlp", "d(L)/d(x) = W1.T @ ((W2.T @ (a2 - y)) * relu_prime(z1))", None),
    ("mlp mask on a1", "mlp", "d(L)/d(z1) = (W2.T @ (a2 - y)) * relu_prime(a1)", None),
    ("mlp dL/dW1 numerator", "mlp",
     "d(L)/d(W1) = x @ ((W2.T @ (a2 - y)) * relu_prime(z1)).T", "numerator"),
    ("mlp element dL/dz2[i]", "mlp", "d(L)/d(z2[i]) = a2[i] - y[i]", None),
    ("mlp element dL/dW2[i, j]", "mlp", "d(L)/d(W2[i, j]) = (a2[i] - y[i]) * a1[j]", None),
    ("mlp element dL/dW1[j, k]", "mlp",
     "d(L)/d(W1[j, k]) = Sum(i, (a2[i] - y[i]) * W2[i, j]) * relu_prime(z1[j]) * x[k]", None),
    ("softmax CE", "softmax", "d(L)/d(z) = a - t", None),
    ("softmax CE prob target", "softmax", "d(Lp)/d(z) = a - p", None),
    ("softmax CE plain target", "softmax", "d(Ly)/d(z) = a * sum(y) - y", None),
    ("softmax jacobian", "softmax", "d(a)/d(z) = diag(a) - a @ a.T", None),
    ("softmax jacobian numerator", "softmax", "d(a)/d(z) = diag(a) - a @ a.T", "numerator"),
    ("softmax element jacobian", "softmax", "d(a[i])/d(z[j]) = a[i] * (delta(i, j) - a[j])",
     None),
    ("softmax jacobian is symmetric", "softmax",
     "d(a[i])/d(z[j]) = a[j] * (delta(i, j) - a[i])", None),
    ("log-softmax jacobian", "softmax", "d(ls)/d(z) = eye(K) - a", None),
    ("log-softmax jacobian numerator", "softmax", "d(ls)/d(z) = eye(K) - a.T", "numerator"),
    ("logsumexp gradient", "softmax", "d(lse)/d(z) = a", None),
    ("log-softmax identity", "softmax", "ls = z - logsumexp(z)", None),
    ("sigmoid derivative", "sigmoid", "d(p)/d(z) = p * (1 - p)", None),
    ("BCE by z", "sigmoid", "d(L)/d(z) = p - y", None),
    ("BCE by w", "sigmoid", "d(L)/d(w) = (p - y) * x", None),
    ("BCE by b", "sigmoid", "d(L)/d(b) = p - y", None),
    ("BCE by p", "sigmoid", "d(L)/d(p) = -y / p + (1 - y) / (1 - p)", None),
    ("batch BCE by w", "sigmoid", "d(J)/d(w) = X.T @ (pb - t) / N", None),
    ("batch BCE by b", "sigmoid", "d(J)/d(b) = mean(pb - t)", None),
    ("binary target squared", "sigmoid", "d(J)/d(w) = X.T @ (pb - t ** 2) / N", None),
    ("least squares", "linreg", "d(L)/d(w) = 2 / N * X.T @ r", None),
    ("least squares expanded", "linreg", "d(L)/d(w) = 2 / N * (X.T @ X @ w - X.T @ y)", None),
    ("least squares by r", "linreg", "d(L)/d(r) = 2 * r / N", None),
    ("least squares element", "linreg", "d(L)/d(w[j]) = 2 / N * Sum(n, r[n] * X[n, j])", None),
    ("ridge", "linreg", "d(Lr)/d(w) = 2 / N * X.T @ r + 2 * lam * w", None),
    ("hessian", "linreg", "d(g)/d(w) = 2 / N * X.T @ X", None),
    ("jacobian numerator", "linreg", "d(r)/d(w) = X", "numerator"),
    ("jacobian gradient", "linreg", "d(r)/d(w) = X.T", None),
    ("linear form", "cookbook", "d(a.T @ x)/d(x) = a", None),
    ("quadratic form", "cookbook", "d(x.T @ A @ x)/d(x) = (A + A.T) @ x", None),
    ("symmetric quadratic form", "cookbook", "d(x.T @ S @ x)/d(x) = 2 * S @ x", None),
    ("trace", "cookbook", "d(tr(A @ X))/d(X) = A.T", None),
    ("log det", "cookbook", "d(log(det(P)))/d(P) = inv(P).T", None),
    ("log abs det", "cookbook", "d(log(abs(det(G))))/d(G) = inv(G).T", None),
    ("det", "cookbook", "d(det(G))/d(G) = det(G) * inv(G).T", None),
    ("bilinear", "cookbook", "d(u.T @ M @ v)/d(M) = u @ v.T", None),
    ("inverse of a product", "cookbook", "inv(G @ H) = inv(H) @ inv(G)", "none"),
    ("trace is cyclic", "cookbook", "tr(A @ B) = tr(B @ A)", "none"),
    ("transpose of a product", "cookbook", "(A @ B).T = B.T @ A.T", "none"),
    ("gradient of a constant", "cookbook", "d(tr(A))/d(X) = 0", None),
]


@pytest.mark.parametrize(("model", "claim", "layout"), [c[1:] for c in HOLDS],
                         ids=[c[0] for c in HOLDS])
def test_correct_claims_hold(check, model: str, claim: str, layout: str | None) -> None:
    result = check(claim, model=model, layout=layout)
    assert result.verdict.holds, result.message
    assert result.codes == ()
    link = result.links[0]
    assert link.counterexample is None
    assert link.evidence.points >= 15  # 3 size settings x 5 points


def test_holds_evidence_names_sizes_and_seed(check) -> None:
    link = check("d(L)/d(z) = a - t", model="softmax", options=Options(seed=11,
                                                                         symbolic=False)).links[0]
    assert link.evidence.seed == 11
    assert len(link.evidence.sizes) == 3
    assert {frozenset(s) for s in link.evidence.sizes} == {frozenset({"K"})}
    assert len({s["K"] for s in link.evidence.sizes}) >= 2  # not one size three times
    assert link.evidence.worst_error is not None and link.evidence.worst_error <= 1e-8


# One claim per verdict (proved is the symbolic stage's, tested with it).
EVERY_VERDICT = [
    ("holds", "d(L)/d(z) = a - t", None),
    ("refuted", "d(L)/d(z) = t - a", Verdict.REFUTED),
    ("ill_formed", "d(L)/d(z) = a.T - t.T", Verdict.ILL_FORMED),
    ("undecided", "sum(log(-exp(z))) = sum(log(-exp(z))) + sum(z)", Verdict.UNDECIDED),
]


@pytest.mark.parametrize(("claim", "verdict"), [c[1:] for c in EVERY_VERDICT],
                         ids=[c[0] for c in EVERY_VERDICT])
def test_every_verdict(check, claim: str, verdict: Verdict | None) -> None:
    result = check(claim, model="softmax")
    if verdict is None:
        assert result.verdict.holds
    else:
        assert result.verdict == verdict
        assert result.codes


# Kinds, assume: and conventions decide what is true.
# (id, symbols, define, assume, conventions, claim, holds)
DECLARED = [
    ("symmetric by assumption", {"A": "matrix n n", "x": "vector n"}, None, ["is_symmetric(A)"],
     None, "d(x.T @ A @ x)/d(x) = 2 * A @ x", True),
    ("spd by assumption", {"A": "matrix n n"}, None, ["is_spd(A)"], None,
     "d(log(det(A)))/d(A) = inv(A)", True),
    ("one-hot by assumption", {"y": "vector n", "z": "vector n"},
     {"L": "-sum(y * log(softmax(z)))"}, ["is_onehot(y)"], None, "d(L)/d(z) = softmax(z) - y",
     True),
    ("positive by assumption", {"x": "vector n"}, None, ["is_positive(x)"], None,
     "sqrt(x ** 2) = x", True),
    ("positive by kind", {"q": "posvector n"}, None, None, None, "abs(q) = q", True),
    ("not positive", {"x": "vector n"}, None, None, None, "abs(x) = x", False),
    ("binary squares to itself", {"t": "binary n"}, None, None, None, "t ** 2 = t", True),
    ("unit interval does not", {"u": "unitscalar"}, None, None, None, "u ** 2 = u", False),
    ("one-hot sums to one", {"t": "onehot n"}, None, None, None, "sum(t) = 1", True),
    ("multi-hot need not", {"t": "multihot n"}, None, None, None, "sum(t) = 1", False),
    ("prob sums to one", {"p": "prob n"}, None, None, None, "sum(p) = 1", True),
    ("one-hot columns", {"Y": "onehotmatrix K B"}, None, None, None, "sum(Y, 0) = 1 + 0 * "
     "sum(Y, 0)", True),
    ("symmatrix is symmetric", {"S": "symmatrix n"}, None, None, None, "S = S.T", True),
    ("relu'(0) = 1 by convention", {"x": "vector n"}, None, None, {"relu_prime_at_zero": 1},
     "relu_prime(0 * x) = 1 + 0 * x", True),
    ("relu'(0) = 0 by convention", {"x": "vector n"}, None, None, {"relu_prime_at_zero": 0},
     "relu_prime(0 * x) = 0 * x", True),
    ("relu'(relu) under relu'(0) = 0", {"x": "vector n"}, None, None,
     {"relu_prime_at_zero": 0}, "relu_prime(relu(x)) = relu_prime(x)", True),
    ("relu'(relu) under relu'(0) = 1", {"x": "vector n"}, None, None,
     {"relu_prime_at_zero": 1}, "relu_prime(relu(x)) = relu_prime(x)", False),
    ("relu splits x", {"x": "vector n"}, None, None, None, "relu(x) - relu(-x) = x", True),
]


@pytest.mark.parametrize(("symbols", "define", "assume", "conventions", "claim", "holds"),
                         [c[1:] for c in DECLARED], ids=[c[0] for c in DECLARED])
def test_declarations_decide_what_holds(check, symbols, define, assume, conventions,
                                        claim: str, holds: bool) -> None:
    result = check(claim, symbols=symbols, define=define, assume=assume,
                   conventions=conventions)
    assert result.verdict.holds is holds
    if not holds:
        assert result.verdict == Verdict.REFUTED


# -- undecided ---------------------------------------------------------------------

# (id, symbols, define, claim, code)
UNDECIDED = [
    ("matrix by matrix", {"A": "matrix n n", "X": "matrix n n"}, None, "d(A @ X)/d(X) = A",
     "unsupported"),
    ("vector by matrix", {"W": "matrix n m", "x": "vector m"}, None, "d(W @ x)/d(W) = x.T",
     "unsupported"),
    ("derivative of a Jacobian", {"z": "vector K"}, {"a": "softmax(z)"},
     "d(d(a)/d(z))/d(z) = eye(K)", "unsupported"),
    # both sides undefined everywhere: no point says anything
    ("log of a negative-only quantity", {"x": "vector n"}, None,
     "log(-exp(x)) = log(-exp(x)) + x", "no-valid-points"),
    ("sqrt of a negative-only quantity", {"s": "scalar"}, None,
     "sqrt(-1 - s ** 2) = sqrt(-2 - s ** 2) + s", "no-valid-points"),
    # defined at sizes 2 and 3 only (the large setting draws 5 and up): the points the
    # kink search adds at the small sizes never stand in for the large setting's
    ("no point at the large sizes", {"X": "matrix N N"}, None,
     "log(4.5 - N) * (tanh(X) + relu(X - 3) + relu(-X - 3)) "
     "= log(4.5 - N) * ((exp(2 * X) - 1) / (exp(2 * X) + 1) + relu(X - 3) + relu(-X - 3))",
     "no-valid-points"),
    # an index used as a number is not evaluated: not a mistake of the claim (it was
    # ill_formed, shape-mismatch, for the true sum 0 + 1 + ... + K - 1; bench/outside5)
    ("an index used as a number", {"x": "vector K", "k": "index K"}, None,
     "Sum(k, k) = K * (K - 1) / 2", "unsupported"),
]


@pytest.mark.parametrize(("symbols", "define", "claim", "code"), [c[1:] for c in UNDECIDED],
                         ids=[c[0] for c in UNDECIDED])
def test_undecided(check, symbols, define, claim: str, code: str) -> None:
    result = check(claim, symbols=symbols, define=define)
    assert result.verdict == Verdict.UNDECIDED
    assert result.codes == (code,)
    assert result.message
    assert result.links[0].counterexample is None


# Second derivatives: the engine differentiates its own first-derivative formula.
# (id, symbols, define, claim, holds)
HESSIANS = [
    ("logsumexp hessian", {"z": "vector K"}, {"L": "logsumexp(z)", "a": "softmax(z)"},
     "d(d(L)/d(z))/d(z) = diag(a) - a @ a.T", True),
    ("logsumexp hessian is not the identity", {"z": "vector K"}, {"L": "logsumexp(z)"},
     "d(d(L)/d(z))/d(z) = eye(K)", False),
    ("least squares hessian", {"X": "matrix N D", "w": "vector D", "y": "vector N"},
     {"L": "mean((X @ w - y) ** 2)"}, "d(d(L)/d(w))/d(w) = 2 / N * X.T @ X", True),
    ("least squares hessian without 1/N", {"X": "matrix N D", "w": "vector D",
                                           "y": "vector N"},
     {"L": "mean((X @ w - y) ** 2)"}, "d(d(L)/d(w))/d(w) = 2 * X.T @ X", False),
    ("quadratic form hessian", {"x": "vector n", "A": "matrix n n"}, None,
     "d(d(x.T @ A @ x)/d(x))/d(x) = A + A.T", True),
    ("quadratic form hessian, general A", {"x": "vector n", "A": "matrix n n"}, None,
     "d(d(x.T @ A @ x)/d(x))/d(x) = 2 * A", False),
]


@pytest.mark.parametrize(("symbols", "define", "claim", "holds"), [c[1:] for c in HESSIANS],
                         ids=[c[0] for c in HESSIANS])
def test_second_derivatives(check, symbols, define, claim: str, holds: bool) -> None:
    result = check(claim, symbols=symbols, define=define)
    assert result.verdict.holds is holds, result.message
    if not holds:
        assert result.verdict == Verdict.REFUTED


# A point where one side is undefined (outside a function's domain, confirmed in high
# precision) and the other defined refutes: the claim equates something with nothing there.
# Declaring the assumption that keeps the side defined makes the claim hold.
# (id, symbols, claim, the undefined side or None if it holds)
DOMAIN = [
    ("log of a negative-only quantity", {"x": "vector n"}, "log(-exp(x)) = x + 1", "left"),
    ("log of a square, real x", {"x": "scalar"}, "log(x ** 2) = 2 * log(x)", "right"),
    ("log of a square, positive x", {"x": "posscalar"}, "log(x ** 2) = 2 * log(x)", None),
    ("square of a square root, real x", {"x": "vector n"}, "sqrt(x) ** 2 = x", "left"),
    ("square of a square root, positive x", {"x": "posvector n"}, "sqrt(x) ** 2 = x", None),
    ("sqrt of a negative-only quantity", {"s": "scalar"}, "sqrt(-1 - s ** 2) = s", "left"),
    # the outside tester's: the float rules, run on the points where the sides agree,
    # added "A.T in place of A" and "holds when A > 0", neither true
    ("log of a determinant", {"A": "matrix n n"}, "log(det(A)) = log(abs(det(A)))", "left"),
]


@pytest.mark.parametrize(("symbols", "claim", "side"), [c[1:] for c in DOMAIN],
                         ids=[c[0] for c in DOMAIN])
def test_one_side_undefined_is_a_domain_difference(check, symbols, claim: str,
                                                   side: str | None) -> None:
    result = check(claim, symbols=symbols)
    if side is None:
        assert result.verdict.holds
        return
    assert result.verdict == Verdict.REFUTED
    assert result.codes == ("domain",), result.message  # the explanation, nothing guessed
    assert f"the {side} side is undefined" in result.message
    cex = result.links[0].counterexample
    assert cex is not None and (cex.lhs if side == "left" else cex.rhs) == "undefined"


# -- diagnoses -----------------------------------------------------------------------

# (id, model, claim, expected codes, fragment of the message)
DIAGNOSES = [
    # sign flips
    ("sign mlp", "mlp", "d(L)/d(z2) = y - a2", ("sign-error",), "negative"),
    ("sign hidden", "mlp", "d(L)/d(a1) = W2.T @ (y - a2)", ("sign-error",), "negative"),
    ("sign softmax", "softmax", "d(L)/d(z) = t - a", ("sign-error",), "negative"),
    ("sign jacobian", "softmax", "d(a)/d(z) = a @ a.T - diag(a)", ("sign-error",), "negative"),
    ("sign sigmoid", "sigmoid", "d(L)/d(z) = y - p", ("sign-error",), "negative"),
    ("sign least squares", "linreg", "d(L)/d(w) = 2 / N * X.T @ (y - X @ w)", ("sign-error",),
     "negative"),
    ("sign linear form", "cookbook", "d(a.T @ x)/d(x) = -a", ("sign-error",), "negative"),
    # constant factors
    ("factor 2 sigmoid", "sigmoid", "d(L)/d(z) = 2 * (p - y)", ("scale-factor",), "is 2 times"),
    ("factor 1/2 sigmoid", "sigmoid", "d(L)/d(z) = (p - y) / 2", ("scale-factor",),
     "is 1/2 times"),
    ("factor 2 least squares", "linreg", "d(L)/d(w) = 4 / N * X.T @ r", ("scale-factor",),
     "is 2 times"),
    ("factor 1/2 least squares", "linreg", "d(L)/d(w) = 1 / N * X.T @ r", ("scale-factor",),
     "is 1/2 times"),
    ("factor 2 quadratic form", "cookbook", "d(x.T @ S @ x)/d(x) = 4 * S @ x",
     ("scale-factor",), "is 2 times"),
    ("factor 1/2 quadratic form", "cookbook", "d(x.T @ S @ x)/d(x) = S @ x", ("scale-factor",),
     "is 1/2 times"),
    # factors that are a dimension
    ("missing 1/N least squares", "linreg", "d(L)/d(w) = 2 * X.T @ r", ("scale-factor",),
     "is N times"),
    ("missing 1/N batch", "sigmoid", "d(J)/d(w) = X.T @ (pb - t)", ("scale-factor",),
     "is N times"),
    ("missing 1/N bias", "sigmoid", "d(J)/d(b) = sum(pb - t)", ("scale-factor",), "is N times"),
    ("extra 1/N", "sigmoid", "d(J)/d(w) = X.T @ (pb - t) / N / N", ("scale-factor",),
     "is 1/N times"),
    # transposes of square results
    ("transpose trace", "cookbook", "d(tr(A @ X))/d(X) = A", ("transpose",), "transpose"),
    ("transpose log abs det", "cookbook", "d(log(abs(det(G))))/d(G) = inv(G)", ("transpose",),
     "transpose"),
    ("transpose det", "cookbook", "d(det(G))/d(G) = det(G) * inv(G)", ("transpose",),
     "transpose"),
    ("transpose bilinear", "cookbook", "d(u.T @ A @ x)/d(A) = x @ u.T", ("transpose",),
     "transpose"),
    ("transpose log-softmax", "softmax", "d(ls)/d(z) = eye(K) - a.T", ("transpose",),
     "transpose"),
    # terms
    ("missing penalty term", "linreg", "d(Lr)/d(w) = 2 / N * X.T @ r", ("missing-term",),
     "lam"),
    ("missing data term", "linreg", "d(Lr)/d(w) = 2 * lam * w", ("missing-term",), "X.T"),
    ("missing target", "mlp", "d(L)/d(z2) = a2", ("missing-term",), "y"),
    ("missing prediction", "mlp", "d(L)/d(z2) = -y", ("missing-term",), "a2"),
    ("missing target sigmoid", "sigmoid", "d(L)/d(z) = p", ("missing-term",), "y"),
    ("extra bias", "mlp", "d(L)/d(b2) = a2 - y + b2", ("extra-term",), "b2"),
    ("extra penalty", "linreg", "d(L)/d(w) = 2 / N * X.T @ r + lam * w", ("extra-term",),
     "lam * w"),
    ("extra w", "linreg", "d(Lr)/d(w) = 2 / N * X.T @ r + 2 * lam * w + w", ("extra-term",),
     "adds w"),
    # ReLU masks
    ("no mask dL/dz1", "mlp", "d(L)/d(z1) = W2.T @ (a2 - y)", ("missing-relu-mask",),
     "relu_prime(z1)"),
    ("no mask dL/db1", "mlp", "d(L)/d(b1) = W2.T @ (a2 - y)", ("missing-relu-mask",),
     "relu_prime(z1)"),
    ("no mask dL/dW1", "mlp", "d(L)/d(W1) = (W2.T @ (a2 - y)) @ x.T", ("missing-relu-mask",),
     "relu_prime(z1)"),
    ("no mask dL/dx", "mlp", "d(L)/d(x) = W1.T @ (W2.T @ (a2 - y))", ("missing-relu-mask",),
     "relu_prime"),
    ("no mask element", "mlp", "d(L)/d(W1[j, k]) = Sum(i, (a2[i] - y[i]) * W2[i, j]) * x[k]",
     ("missing-relu-mask",), "relu_prime"),
    # assumptions used without being declared
    ("sum(y) = 1", "softmax", "d(Ly)/d(z) = a - y", ("needs-assumption",), "sum(y) = 1"),
    ("symmetric A", "cookbook", "d(x.T @ A @ x)/d(x) = 2 * A @ x", ("needs-assumption",),
     "A is symmetric"),
    # a factor that varies with the point, named; the factors of a product swapped
    ("unnormalised logsumexp", "softmax", "d(lse)/d(z) = exp(z)", ("scale-factor",),
     "`sum(exp(z))` times"),
    ("wrong inverse order", "cookbook", "inv(G @ H) = inv(G) @ inv(H)", ("wrong-order",),
     "`inv(H) @ inv(G)`"),
    # an activation's derivative for another (it was residual before wrong-factor)
    ("tanh derivative for the sigmoid", "sigmoid", "d(p)/d(z) = 1 - p ** 2", ("wrong-factor",),
     "where `p * (1 - p)` (sigmoid'(z)) makes it hold"),
    # what no rule explains
    ("an unrelated expression", "sigmoid", "d(p)/d(z) = p ** 3 + z", ("residual",),
     "differ by"),
]


@pytest.mark.parametrize(("model", "claim", "codes", "fragment"), [c[1:] for c in DIAGNOSES],
                         ids=[c[0] for c in DIAGNOSES])
def test_diagnosis_of_a_mutation(check, model: str, claim: str, codes: tuple[str, ...],
                                 fragment: str) -> None:
    result = check(claim, model=model)
    assert result.verdict == Verdict.REFUTED
    assert result.codes == codes, result.message
    assert fragment in result.message


def test_one_hot_target_declared_as_a_plain_vector(check) -> None:
    """The brief's example: with y a plain vector, a - y is right only if sum(y) = 1."""
    result = check("d(L)/d(z) = a - y", symbols={"z": "vector K", "y": "vector K"},
                   define={"a": "softmax(z)", "L": "-sum(y * log(a))"})
    assert result.verdict == Verdict.REFUTED
    assert result.codes == ("needs-assumption",)
    assert "sum(y) = 1" in result.message
    assert "is_prob(y)" in result.message or "onehot" in result.message


def test_declaring_the_assumption_makes_it_hold(check) -> None:
    result = check("d(L)/d(z) = a - y", symbols={"z": "vector K", "y": "vector K"},
                   define={"a": "softmax(z)", "L": "-sum(y * log(a))"}, assume=["is_prob(y)"])
    assert result.verdict.holds


def test_binary_target_needs_one_hot(check) -> None:
    # With y binary (0/1 entries), sum(y) = 1 means exactly one 1: one-hot.
    result = check("d(L)/d(z) = a - y", symbols={"z": "vector K", "y": "binary K"},
                   define={"a": "softmax(z)", "L": "-sum(y * log(a))"})
    assert result.codes == ("needs-assumption",)
    assert "one-hot" in result.message


WRONG_INDEX = [
    ("softmax a[i] for a[j]", "softmax", "d(a[i])/d(z[j]) = a[i] * (delta(i, j) - a[i])"),
    ("softmax no delta", "softmax", "d(a[i])/d(z[j]) = a[i] * (1 - a[j])"),
    ("hessian repeated j", "linreg", "d(g[j])/d(w[k]) = 2 / N * Sum(n, X[n, j] * X[n, j])"),
    ("gradient with k for j", "linreg", "d(L)/d(w[j]) = 2 / N * Sum(n, r[n] * X[n, k])"),
    ("true class only", "mlp", "d(L)/d(z2[i]) = a2[i] - 1"),
]


@pytest.mark.parametrize(("model", "claim"), [c[1:] for c in WRONG_INDEX],
                         ids=[c[0] for c in WRONG_INDEX])
def test_wrong_index(check, model: str, claim: str) -> None:
    result = check(claim, model=model)
    assert result.verdict == Verdict.REFUTED
    assert "wrong-components" in result.codes or "residual" in result.codes
    if "wrong-components" in result.codes:
        # these claims are right on some index values: the message says which
        assert "holds for" in result.message and "fails for" in result.message


DROPPED_FACTOR = [
    ("softmax element without a[i]", "softmax", "d(a[i])/d(z[j]) = delta(i, j) - a[j]"),
    ("gradient element without X", "linreg", "d(L)/d(w[j]) = 2 / N * Sum(n, r[n])"),
    ("BCE by w without x", "sigmoid", "d(L)/d(w) = (p - y) * w"),
    ("W2 gradient with z1 for a1", "mlp", "d(L)/d(W2[i, j]) = (a2[i] - y[i]) * z1[j]"),
]


@pytest.mark.parametrize(("model", "claim"), [c[1:] for c in DROPPED_FACTOR],
                         ids=[c[0] for c in DROPPED_FACTOR])
def test_dropped_factor_is_refuted_with_a_diagnosis(check, model: str, claim: str) -> None:
    result = check(claim, model=model)
    assert result.verdict == Verdict.REFUTED
    assert result.codes
    assert "sign-error" not in result.codes and "scale-factor" not in result.codes


def test_dropped_term_of_an_expansion(check) -> None:
    result = check("d(L)/d(w) = 2 / N * X.T @ X @ w", model="linreg")
    assert result.codes == ("missing-term",)
    assert "y" in result.message


def test_dropped_term_of_the_softmax_jacobian(check) -> None:
    # reference a[i] (delta(i, j) - a[j]) = a[i] delta(i, j) - a[i] a[j]
    result = check("d(a[i])/d(z[j]) = a[i] * delta(i, j)", model="softmax")
    assert result.codes == ("missing-term",)


def test_positive_assumption_is_named_not_a_stronger_one(check) -> None:
    # sqrt(x ** 2) = abs(x), which equals x exactly when x >= 0; [2, 3] satisfies it.
    result = check("sqrt(x ** 2) = x", symbols={"x": "vector n"})
    assert result.codes == ("needs-assumption",)
    assert "x > 0" in result.message
    assert "sum(x) = 1" not in result.message


@pytest.mark.parametrize(("symbols", "claim"), [
    (None, "d(L)/d(w) = 2 / (D - 1) * X.T @ r"),
    ({"u": "vector N", "v": "vector D"}, "sum(u / u) = D - 1"),
], ids=["least squares", "minimal"])
def test_no_assumption_for_a_wrong_dimension(check, symbols, claim: str) -> None:
    # N = D - 1 is not an identity (N = D = 2), and no property of a symbol makes it one.
    result = check(claim, model="linreg", symbols=symbols)
    assert result.verdict == Verdict.REFUTED
    assert "needs-assumption" not in result.codes


def test_factor_found_when_the_reference_has_a_small_entry(check) -> None:
    # the reference is [1, 1e-7, 0, ...]; the claim is exactly twice it
    result = check("d(x[0] + 0.0000001 * x[1])/d(x) = 2 * (onehot(0, n) + 0.0000001 * "
                   "onehot(1, n))", symbols={"x": "vector n"})
    assert result.codes == ("scale-factor",)
    assert "is 2 times" in result.message


# -- soundness: a mutation of a correct claim never holds ------------------------------

# (id, model, mutated claim, layout); the correct claim is in HOLDS
MUTATIONS = [
    # MLP (correct: a2 - y, (a2 - y) a1^T, W2^T (a2 - y), masks relu_prime(z1))
    ("mlp z2 sign", "mlp", "d(L)/d(z2) = y - a2", None),
    ("mlp z2 factor 2", "mlp", "d(L)/d(z2) = 2 * (a2 - y)", None),
    ("mlp z2 half", "mlp", "d(L)/d(z2) = (a2 - y) / 2", None),
    ("mlp z2 no target", "mlp", "d(L)/d(z2) = a2", None),
    ("mlp z2 no prediction", "mlp", "d(L)/d(z2) = -y", None),
    ("mlp z2 sigmoid-style", "mlp", "d(L)/d(z2) = a2 * (1 - a2) * (a2 - y)", None),
    ("mlp W2 with z1", "mlp", "d(L)/d(W2) = (a2 - y) @ z1.T", None),
    ("mlp W2 transposed", "mlp", "d(L)/d(W2) = a1 @ (a2 - y).T", None),
    ("mlp W2 gradient claimed in numerator layout", "mlp", "d(L)/d(W2) = (a2 - y) @ a1.T",
     "numerator"),
    ("mlp b2 extra", "mlp", "d(L)/d(b2) = a2 - y + b2", None),
    ("mlp a1 no transpose", "mlp", "d(L)/d(a1) = W2 @ (a2 - y)", None),
    ("mlp a1 sign", "mlp", "d(L)/d(a1) = W2.T @ (y - a2)", None),
    ("mlp z1 no mask", "mlp", "d(L)/d(z1) = W2.T @ (a2 - y)", None),
    ("mlp z1 relu for mask", "mlp", "d(L)/d(z1) = (W2.T @ (a2 - y)) * relu(z1)", None),
    ("mlp z1 wrong layer", "mlp", "d(L)/d(z1) = (W1 @ x) * relu_prime(z1)", None),
    ("mlp W1 no mask", "mlp", "d(L)/d(W1) = (W2.T @ (a2 - y)) @ x.T", None),
    ("mlp W1 a1 for x", "mlp", "d(L)/d(W1) = ((W2.T @ (a2 - y)) * relu_prime(z1)) @ a1.T",
     None),
    ("mlp b1 mask only", "mlp", "d(L)/d(b1) = relu_prime(z1)", None),
    ("mlp x no mask", "mlp", "d(L)/d(x) = W1.T @ (W2.T @ (a2 - y))", None),
    ("mlp z2[i] true class only", "mlp", "d(L)/d(z2[i]) = a2[i] - 1", None),
    ("mlp W2[i, j] with z1", "mlp", "d(L)/d(W2[i, j]) = (a2[i] - y[i]) * z1[j]", None),
    ("mlp W1[j, k] no mask", "mlp",
     "d(L)/d(W1[j, k]) = Sum(i, (a2[i] - y[i]) * W2[i, j]) * x[k]", None),
    ("mlp W1[j, k] no sum", "mlp",
     "d(L)/d(W1[j, k]) = (a2[j] - y[j]) * W2[j, j] * relu_prime(z1[j]) * x[k]", None),
    # softmax
    ("softmax CE sign", "softmax", "d(L)/d(z) = t - a", None),
    ("softmax CE without softmax", "softmax", "d(L)/d(z) = z - t", None),
    ("softmax CE with da/dz dropped", "softmax", "d(L)/d(z) = -t / a", None),
    ("softmax CE with a(1 - a)", "softmax", "d(L)/d(z) = a * (1 - a) - t", None),
    ("softmax CE plain target", "softmax", "d(Ly)/d(z) = a - y", None),
    ("softmax jacobian inner product", "softmax", "d(a)/d(z) = diag(a) - a.T @ a", None),
    ("softmax jacobian plus", "softmax", "d(a)/d(z) = diag(a) + a @ a.T", None),
    ("softmax jacobian sign", "softmax", "d(a)/d(z) = a @ a.T - diag(a)", None),
    ("softmax jacobian diagonal only", "softmax", "d(a)/d(z) = diag(a * (1 - a))", None),
    ("softmax element wrong index", "softmax", "d(a[i])/d(z[j]) = a[i] * (delta(i, j) - a[i])",
     None),
    ("softmax element no delta", "softmax", "d(a[i])/d(z[j]) = a[i] * (1 - a[j])", None),
    ("log-softmax transposed", "softmax", "d(ls)/d(z) = eye(K) - a.T", None),
    ("logsumexp unnormalised", "softmax", "d(lse)/d(z) = exp(z)", None),
    ("log-softmax sign", "softmax", "ls = logsumexp(z) - z", None),
    # sigmoid / BCE
    ("sigmoid as tanh", "sigmoid", "d(p)/d(z) = 1 - p ** 2", None),
    ("sigmoid dropped factor", "sigmoid", "d(p)/d(z) = p", None),
    ("BCE sign", "sigmoid", "d(L)/d(z) = y - p", None),
    ("BCE extra sigmoid'", "sigmoid", "d(L)/d(z) = p * (1 - p) * (p - y)", None),
    ("BCE squared target", "sigmoid", "d(L)/d(z) = p - y ** 2", None),
    ("BCE by p sign", "sigmoid", "d(L)/d(p) = -y / p - (1 - y) / (1 - p)", None),
    ("BCE w as a row", "sigmoid", "d(L)/d(w) = (p - y) * x.T", None),
    ("BCE w with w", "sigmoid", "d(L)/d(w) = (p - y) * w", None),
    ("BCE b extra", "sigmoid", "d(L)/d(b) = p - y + b", None),
    ("batch no mean", "sigmoid", "d(J)/d(w) = X.T @ (pb - t)", None),
    ("batch wrong dimension", "sigmoid", "d(J)/d(w) = X.T @ (pb - t) / D", None),
    ("batch no transpose", "sigmoid", "d(J)/d(w) = X @ (pb - t) / N", None),
    ("batch bias not summed", "sigmoid", "d(J)/d(b) = (pb - t) / N", None),
    ("batch bias summed only", "sigmoid", "d(J)/d(b) = sum(pb - t)", None),
    # linear regression
    ("least squares no 1/N", "linreg", "d(L)/d(w) = 2 * X.T @ r", None),
    ("least squares no 2", "linreg", "d(L)/d(w) = 1 / N * X.T @ r", None),
    ("least squares N - 1", "linreg", "d(L)/d(w) = 2 / (N - 1) * X.T @ r", None),
    ("least squares 1/D", "linreg", "d(L)/d(w) = 2 / D * X.T @ r", None),
    ("least squares no transpose", "linreg", "d(L)/d(w) = 2 / N * X @ r", None),
    ("least squares sign", "linreg", "d(L)/d(w) = 2 / N * X.T @ (y - X @ w)", None),
    ("least squares dropped term", "linreg", "d(L)/d(w) = 2 / N * X.T @ X @ w", None),
    ("least squares wrong expansion", "linreg", "d(L)/d(w) = 2 / N * (X.T @ X @ w - y.T @ X)",
     None),
    ("ridge half penalty", "linreg", "d(Lr)/d(w) = 2 / N * X.T @ r + lam * w", None),
    ("ridge no penalty", "linreg", "d(Lr)/d(w) = 2 / N * X.T @ r", None),
    ("ridge penalty on the wrong loss", "linreg", "d(L)/d(w) = 2 / N * X.T @ r + 2 * lam * w",
     None),
    ("hessian outer", "linreg", "d(g)/d(w) = 2 / N * X @ X.T", None),
    ("hessian wrong index", "linreg", "d(g[j])/d(w[k]) = 2 / N * Sum(n, X[n, j] * X[n, j])",
     None),
    ("gradient element wrong index", "linreg", "d(L)/d(w[j]) = 2 / N * Sum(n, r[n] * X[n, k])",
     None),
    ("jacobian in the wrong layout", "linreg", "d(r)/d(w) = X", None),
    # Matrix Cookbook
    ("quadratic form 2Ax", "cookbook", "d(x.T @ A @ x)/d(x) = 2 * A @ x", None),
    ("quadratic form Ax", "cookbook", "d(x.T @ A @ x)/d(x) = A @ x", None),
    ("trace no transpose", "cookbook", "d(tr(A @ X))/d(X) = A", None),
    ("log det without inverse", "cookbook", "d(log(det(P)))/d(P) = P", None),
    ("log abs det no transpose", "cookbook", "d(log(abs(det(G))))/d(G) = inv(G)", None),
    ("det no transpose", "cookbook", "d(det(G))/d(G) = det(G) * inv(G)", None),
    ("det without det", "cookbook", "d(det(G))/d(G) = inv(G).T", None),
    ("bilinear swapped", "cookbook", "d(u.T @ M @ v)/d(M) = v @ u.T", None),
    ("bilinear square swapped", "cookbook", "d(u.T @ A @ x)/d(A) = x @ u.T", None),
    ("inverse of a product", "cookbook", "inv(G @ H) = inv(G) @ inv(H)", "none"),
    ("transpose of a product", "cookbook", "(A @ B).T = A.T @ B.T", "none"),
    ("trace of a product", "cookbook", "tr(A @ B) = tr(A) * tr(B)", "none"),
    ("symmetric identity on a general matrix", "cookbook", "A = A.T", "none"),
]


@pytest.mark.parametrize(("model", "claim", "layout"), [c[1:] for c in MUTATIONS],
                         ids=[c[0] for c in MUTATIONS])
def test_mutations_never_hold(check, model: str, claim: str, layout: str | None) -> None:
    result = check(claim, model=model, layout=layout)
    assert not result.verdict.holds
    assert result.verdict in (Verdict.REFUTED, Verdict.ILL_FORMED)
    assert result.codes


def test_a_difference_small_only_relative_to_huge_values_is_not_agreement(check) -> None:
    result = check("exp(100 * s) = exp(100 * s) + 1", symbols={"s": "posscalar"})
    assert not result.verdict.holds


# -- counterexamples -----------------------------------------------------------------

# (id, model, claim) -- refuted claims whose counterexample is checked by evaluating it
COUNTEREXAMPLES = [
    ("mlp sign", "mlp", "d(L)/d(z2) = y - a2"),
    ("mlp no mask", "mlp", "d(L)/d(z1) = W2.T @ (a2 - y)"),
    ("softmax jacobian", "softmax", "d(a)/d(z) = diag(a) - a.T @ a"),
    ("softmax element", "softmax", "d(a[i])/d(z[j]) = a[i] * (1 - a[j])"),
    ("plain target", "softmax", "d(Ly)/d(z) = a - y"),
    ("sigmoid", "sigmoid", "d(p)/d(z) = 1 - p ** 2"),
    ("batch", "sigmoid", "d(J)/d(w) = X.T @ (pb - t)"),
    ("least squares", "linreg", "d(L)/d(w) = 2 / N * X.T @ X @ w"),
    ("hessian element", "linreg", "d(g[j])/d(w[k]) = 2 / N * Sum(n, X[n, j] * X[n, j])"),
    ("trace", "cookbook", "d(tr(A @ X))/d(X) = A"),
]


def _exact(value: object) -> np.ndarray:
    def one(x: object) -> float:
        return float(Fraction(x)) if isinstance(x, str) else float(x)  # type: ignore[arg-type]
    if isinstance(value, list):
        return np.array([[one(x) for x in row] for row in value], dtype=float)
    return np.float64(one(value))


@pytest.mark.parametrize(("model", "claim"), [c[1:] for c in COUNTEREXAMPLES],
                         ids=[c[0] for c in COUNTEREXAMPLES])
def test_counterexample_is_a_real_one(check, model: str, claim: str) -> None:
    derivation = build(claim=claim, model=model)
    result = check(claim, model=model)
    assert result.verdict == Verdict.REFUTED
    cex = result.links[0].counterexample
    assert cex is not None
    assert set(cex.sizes) == set(derivation.dims)
    assert cex.values
    assert not np.allclose(_exact(cex.lhs), _exact(cex.rhs))
    # small integers or simple fractions, so a person can redo it by hand
    assert cex.readable
    for value in cex.values.values():
        flat = value if not isinstance(value, list) else [x for row in value for x in row]
        for x in flat if isinstance(flat, list) else [flat]:
            assert isinstance(x, int) or (isinstance(x, str) and "/" in x), (x, value)
    # evaluated here, at the counterexample's point, both sides are what it says
    m = ModelEngine(derivation)
    values = {name: _exact(v) for name, v in cex.values.items()}
    ev = m.engine.evaluator(Point(dict(cex.sizes), values))
    lhs, rhs = derivation.steps[0].exprs[0].node, derivation.steps[0].exprs[1].node
    lhs_value = ev.value(m.engine.derivative(lhs, "gradient"), cex.indices)
    rhs_value = ev.value(rhs, cex.indices)
    np.testing.assert_allclose(lhs_value, _exact(cex.lhs), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(rhs_value, _exact(cex.rhs), rtol=1e-5, atol=1e-6)


def test_counterexample_names_the_free_indices(check) -> None:
    result = check("d(a[i])/d(z[j]) = a[i] * (1 - a[j])", model="softmax")
    cex = result.links[0].counterexample
    assert set(cex.indices) == {"i", "j"}
    assert cex.indices["i"] != cex.indices["j"]  # the claim is right on the diagonal


# -- reproducibility -------------------------------------------------------------------

REPRO = [
    ("holds", "mlp", "d(L)/d(W1) = ((W2.T @ (a2 - y)) * relu_prime(z1)) @ x.T"),
    ("refuted", "mlp", "d(L)/d(W1) = (W2.T @ (a2 - y)) @ x.T"),
    ("assumption", "softmax", "d(Ly)/d(z) = a - y"),
    ("index", "linreg", "d(g[j])/d(w[k]) = 2 / N * Sum(n, X[n, j] * X[n, j])"),
    ("ill-formed", "sigmoid", "d(J)/d(b) = (pb - t) / N"),
]


def _fingerprint(result) -> tuple:
    return (result.verdict, result.codes, result.message,
            tuple((link.counterexample, link.evidence.sizes, link.evidence.points,
                   link.evidence.worst_error, link.reference) for link in result.links))


@pytest.mark.parametrize(("model", "claim"), [c[1:] for c in REPRO], ids=[c[0] for c in REPRO])
def test_same_seed_same_result(check, model: str, claim: str) -> None:
    options = Options(seed=5, symbolic=False)
    first = check(claim, model=model, options=options)
    second = check(claim, model=model, options=options)
    assert _fingerprint(first) == _fingerprint(second)


@pytest.mark.parametrize(("model", "claim"), [c[1:] for c in REPRO], ids=[c[0] for c in REPRO])
def test_other_seeds_same_verdict(check, model: str, claim: str) -> None:
    results = [check(claim, model=model, options=Options(seed=s, symbolic=False))
               for s in (0, 1, 2)]
    assert len({r.verdict for r in results}) == 1
    assert len({r.codes for r in results}) == 1


def test_other_seed_other_points(check) -> None:
    claim = "d(L)/d(W1) = (W2.T @ (a2 - y)) @ x.T"
    a = check(claim, model="mlp", options=Options(seed=0, symbolic=False))
    b = check(claim, model="mlp", options=Options(seed=1, symbolic=False))
    assert a.links[0].counterexample != b.links[0].counterexample


# -- a Sum's index is bound inside it only ----------------------------------------------

REUSED_INDEX = [
    ("evaluation", "Sum(i, x[i]) * y[i] = sum(x) * y[i]", False),
    ("derivative, other letter", "d(Sum(k, x[k] ** 2) * y[i])/d(x[j]) = 2 * x[j] * y[i]", False),
    ("derivative, same letter outside", "d(Sum(i, x[i] ** 2) * y[i])/d(x[j]) = 2 * x[j] * y[i]",
     True),
    ("derivative, same letter in the target", "d(Sum(i, x[i] * x))/d(x[i]) = x + sum(x) * "
     "onehot(i, n)", True),
    ("derivative, bound letter first", "d(y[i] * Sum(i, x[i]))/d(x[j]) = y[i]", True),
]


@pytest.mark.parametrize("claim", [pytest.param(c[1], id=c[0])
                                   for c in REUSED_INDEX])
def test_sum_index_reused_outside_the_sum(check, claim: str) -> None:
    result = check(claim, symbols={"x": "vector n", "y": "vector n", "i": "index n",
                                   "j": "index n", "k": "index n"})
    assert result.verdict.holds, result.message


# -- reductions over an axis of a 1 x 1 value ----------------------------------------------

# A 1 x 1 result is a scalar; summing or averaging it over either axis leaves it unchanged.
AXIS_OF_SCALAR = [
    ("sum rows of x.T y", "sum(x.T @ y, 0) = x.T @ y", False),
    ("gradient of a row sum of a scalar", "d(sum(s, 0))/d(s) = 1", False),
    ("sum columns of x.T y", "sum(x.T @ y, 1) = x.T @ y", True),
    ("mean rows of x.T y", "mean(x.T @ y, 0) = x.T @ y", True),
    ("mean columns of a scalar", "mean(s, 1) = s", True),
    ("gradient of a mean of a scalar", "d(mean(s, 1))/d(s) = 1", True),
]


@pytest.mark.parametrize("claim", [pytest.param(c[1], id=c[0])
                                   for c in AXIS_OF_SCALAR])
def test_axis_reduction_of_a_scalar(check, claim: str) -> None:
    result = check(claim, symbols={"x": "vector n", "y": "vector n", "s": "scalar"})
    assert result.verdict.holds


# A sign flipped in one term of the reference is a sign error, and says which term.
ONE_TERM_SIGN = [
    ("ridge penalty term", "linreg", "d(Lr)/d(w) = 2 / N * X.T @ r - 2 * lam * w", "lam"),
    ("data term", "linreg", "d(Lr)/d(w) = 2 / N * X.T @ (y - X @ w) + 2 * lam * w", "X.T"),
]


@pytest.mark.parametrize(("model", "claim", "term_part"), [c[1:] for c in ONE_TERM_SIGN],
                         ids=[c[0] for c in ONE_TERM_SIGN])
def test_a_sign_flipped_in_one_term(check, model: str, claim: str, term_part: str) -> None:
    result = check(claim, model=model)
    assert result.verdict == Verdict.REFUTED
    assert result.codes == ("sign-error",)
    assert "in one term" in result.message and term_part in result.message
