"""Chains e0 = e1 = e2 ...: each link checked, errors located, follow-through recognised."""

from __future__ import annotations

import itertools

import pytest

from derivcheck.results import Verdict

BCE_CHAIN = [
    "d(L)/d(z)",
    "(-y / p + (1 - y) / (1 - p)) * p * (1 - p)",
    "-y * (1 - p) + (1 - y) * p",
    "p - y",
]


def test_every_link_of_a_correct_chain_holds(check) -> None:
    result = check(chain=BCE_CHAIN, model="sigmoid")
    assert result.form == "chain"
    assert len(result.links) == 3
    assert all(link.verdict.holds for link in result.links)
    assert result.verdict.holds
    assert result.codes == ()
    assert [(link.lhs, link.rhs) for link in result.links] == list(itertools.pairwise(BCE_CHAIN))


def test_links_are_indexed_in_order(check) -> None:
    result = check(chain=BCE_CHAIN, model="sigmoid")
    assert [link.index for link in result.links] == [0, 1, 2]


# The sign of d/dp of -(1 - y) log(1 - p) is lost in link 1; links 2 and 3 are right
# algebra from the wrong line: -y (1 - p) - (1 - y) p = -y + 2 y p - p.
SIGN_CHAIN = [
    "d(L)/d(z)",
    "(-y / p - (1 - y) / (1 - p)) * p * (1 - p)",
    "-y * (1 - p) - (1 - y) * p",
    "2 * y * p - y - p",
]


def test_first_wrong_link_is_refuted_and_later_ones_follow_from_it(check) -> None:
    result = check(chain=SIGN_CHAIN, model="sigmoid")
    first, second, third = result.links
    assert first.verdict == Verdict.REFUTED
    assert first.counterexample is not None
    assert "follows-from-error" not in first.codes
    for link in (second, third):
        assert link.verdict.holds
        assert link.codes == ("follows-from-error",)
        assert "link 1" in link.message
        assert link.against_truth in (Verdict.REFUTED, Verdict.ILL_FORMED)
    assert result.verdict == Verdict.REFUTED


def test_follow_through_names_the_first_wrong_link(check) -> None:
    chain = ["d(L)/d(z)", "a - t", "2 * (a - t)", "2 * a - 2 * t", "-2 * t + 2 * a"]
    result = check(chain=chain, model="softmax")
    verdicts = [link.verdict for link in result.links]
    assert verdicts[0].holds
    assert verdicts[1] == Verdict.REFUTED
    assert verdicts[2].holds and verdicts[3].holds
    assert result.links[1].codes == ("scale-factor",)
    for link in result.links[2:]:
        assert link.codes == ("follows-from-error",)
        assert "link 2" in link.message
    assert "link 3: " in result.message and "link 4: " in result.message


def test_chain_that_returns_to_the_truth(check) -> None:
    chain = ["d(L)/d(z)", "t - a", "a - t", "-(t - a)"]
    result = check(chain=chain, model="softmax")
    first, second, third = result.links
    assert first.verdict == Verdict.REFUTED and first.codes == ("sign-error",)
    # back from the wrong line to the right one: wrong as a step, right as a result
    assert second.verdict == Verdict.REFUTED and second.codes == ("sign-error",)
    assert third.verdict.holds
    assert "follows-from-error" not in third.codes
    assert third.against_truth is not None and third.against_truth.holds


def test_ill_formed_link_then_consistent_links(check) -> None:
    chain = ["d(L)/d(w)", "(p - y) * x.T", "((p - y) * x).T"]
    result = check(chain=chain, model="sigmoid")
    first, second = result.links
    assert first.verdict == Verdict.ILL_FORMED
    assert first.codes == ("shape-mismatch", "transpose")
    assert second.verdict.holds
    assert second.codes == ("follows-from-error",)
    assert result.verdict == Verdict.ILL_FORMED


def test_middle_link_diagnosed_against_the_previous_expression(check) -> None:
    chain = ["d(L)/d(w)", "2 / N * X.T @ r", "2 / N * X.T @ (y - X @ w)"]
    result = check(chain=chain, model="linreg")
    assert result.links[0].verdict.holds
    assert result.links[1].verdict == Verdict.REFUTED
    assert result.links[1].codes == ("sign-error",)
    assert result.message.startswith("link 2: ")


def test_chain_with_index_sums(check) -> None:
    chain = [
        "d(L)/d(z[i])",
        "Sum(k, -t[k] / a[k] * a[k] * (delta(k, i) - a[i]))",
        "Sum(k, -t[k] * (delta(k, i) - a[i]))",
        "-t[i] + a[i] * Sum(k, t[k])",
        "a[i] - t[i]",
    ]
    result = check(chain=chain, model="softmax")
    assert all(link.verdict.holds for link in result.links)


def test_chain_that_uses_an_undeclared_assumption(check) -> None:
    chain = ["d(Ly)/d(z)", "a * sum(y) - y", "a - y"]
    result = check(chain=chain, model="softmax")
    assert result.links[0].verdict.holds
    assert result.links[1].verdict == Verdict.REFUTED
    assert result.links[1].codes == ("needs-assumption",)
    assert "sum(y) = 1" in result.links[1].message


def test_verdict_of_a_chain_is_its_worst_link(check) -> None:
    chain = ["d(L)/d(z)", "a - t", "t - a", "(t - a) * x"]
    result = check(chain=chain, model="softmax", symbols={"x": "vector D"})
    verdicts = [link.verdict for link in result.links]
    assert verdicts[0].holds
    assert verdicts[1:] == [Verdict.REFUTED, Verdict.ILL_FORMED]
    assert result.verdict == Verdict.ILL_FORMED


def test_refuted_is_worse_than_undecided(check) -> None:
    # link 1: both sides undefined everywhere (no valid point: undecided); link 2: the left
    # side is undefined where the right side is defined (refuted: a domain difference)
    result = check(chain=["log(-exp(x))", "log(-exp(x)) + 0 * x", "2 * x"],
                   symbols={"x": "vector n"})
    assert [link.verdict for link in result.links] == [Verdict.UNDECIDED, Verdict.REFUTED]
    assert result.links[1].codes[0] == "domain"
    assert result.verdict == Verdict.REFUTED


# -- per-link expect ---------------------------------------------------------------------

# (id, expect as written, matches)
EXPECTS = [
    ("all right", ["refuted", "holds", "holds"], True),
    ("checked is a kind of holds", ["refuted", "holds", "checked"], True),
    ("one wrong expectation", ["holds", "holds", "holds"], False),
    ("refuted where it holds", ["refuted", "refuted", "holds"], False),
    ("ill_formed where it is refuted", ["ill_formed", "holds", "holds"], False),
]


@pytest.mark.parametrize(("expect", "matches"), [c[1:] for c in EXPECTS],
                         ids=[c[0] for c in EXPECTS])
def test_per_link_expect(check, expect: list[str], matches: bool) -> None:
    result = check(chain=SIGN_CHAIN, model="sigmoid", expect=expect)
    assert result.expected == tuple(expect)
    assert [link.expected for link in result.links] == expect
    assert result.matches_expected is matches


def test_single_expect_applies_to_every_link(check) -> None:
    result = check(chain=BCE_CHAIN, model="sigmoid", expect="holds")
    assert result.expected == ("holds", "holds", "holds")
    assert result.matches_expected is True


def test_no_expect_means_no_judgement(check) -> None:
    result = check(chain=BCE_CHAIN, model="sigmoid")
    assert result.expected is None
    assert result.matches_expected is None
