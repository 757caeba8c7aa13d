"""The soundness fuzzer in CI: a fixed, seeded sample of mutants of true claims.

The judge is bench/oracle.py, which imports nothing of derivcheck (checked below): it
reads the files with ruamel.yaml and Python's ``ast``, evaluates in 70-digit mpmath at
sizes of its own and takes derivatives by finite differences.  derivcheck must never
report ``proved`` or ``checked`` for a mutant the oracle shows false.  The long run
(20,000 mutants and more) is ``make fuzz``: ``python bench/mutants.py --count 20000``.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from bench import mutants, oracle

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = 240  # about 15 s on one core
SEED = 20261207


def test_the_oracle_imports_nothing_of_derivcheck() -> None:
    for name in ("oracle.py",):
        tree = ast.parse((ROOT / "bench" / name).read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            else:
                continue
            assert not any(n.split(".")[0] in ("derivcheck", "bench") for n in names), names


def test_the_oracle_confirms_every_true_equation() -> None:
    """Every equation the files expect to hold agrees under the oracle (else the oracle,
    or a file, is wrong: either makes the fuzzer's labels worthless)."""
    disagree = []
    count = 0
    for path, doc, sid, lhs, rhs, layout in mutants.bases():
        prob = oracle.problem(doc)
        prob.layout = layout
        j = oracle.Judge(prob, seed=3, settings=2, points=1).judge(oracle.parse(lhs),
                                                                  oracle.parse(rhs))
        count += 1
        if j.label != "equal":
            disagree.append((path.name, sid, j.label, j.difference))
    assert count >= 250
    assert not disagree


# (name, symbols and definitions, claim, label) worked out by hand
ORACLE_CASES = [
    ("softmax-ce-gradient", {"symbols": {"z": "vector K", "y": "onehot K"},
                             "define": {"L": "-sum(y * log(softmax(z)))"}},
     "d(L)/d(z) = softmax(z) - y", "equal"),
    ("sign-error", {"symbols": {"z": "vector K", "y": "onehot K"},
                    "define": {"L": "-sum(y * log(softmax(z)))"}},
     "d(L)/d(z) = y - softmax(z)", "false"),
    ("transpose-lost", {"symbols": {"W": "matrix H D", "x": "vector D", "g": "vector H"},
                        "define": {"L": "g.T @ (W @ x)"}},
     "d(L)/d(W) = x @ g.T", "shape"),
    ("outer-product", {"symbols": {"W": "matrix H D", "x": "vector D", "g": "vector H"},
                       "define": {"L": "g.T @ (W @ x)"}},
     "d(L)/d(W) = g @ x.T", "equal"),
    ("tiny", {"symbols": {"s": "scalar"}}, "s + 0.000000000001 = s", "tiny"),
    ("dimension-mix", {"symbols": {"x": "vector D", "y": "vector N"}},
     "mean(x) = sum(x) / N", "false"),
    ("hessian", {"symbols": {"w": "vector D", "A": "symmatrix D"},
                 "define": {"L": "w.T @ A @ w / 2"}},
     "d(d(L)/d(w))/d(w) = A", "equal"),
    ("backprop-through-defined", {"symbols": {"x": "vector D", "W": "matrix H D"},
                                  "define": {"z": "W @ x", "L": "sum(tanh(z))"}},
     "d(L)/d(z) = 1 - tanh(z) ** 2", "equal"),
    ("relu-mask-missing", {"symbols": {"x": "vector D"}, "define": {"L": "sum(relu(x))"}},
     "d(L)/d(x) = x * 0 + 1", "false"),
    ("element-with-sum", {"symbols": {"z": "vector K", "i": "index K", "k": "index K"}},
     "softmax(z)[i] = exp(z[i]) / Sum(k, exp(z[k]))", "equal"),
]


@pytest.mark.parametrize(("name", "doc", "claim", "label"), ORACLE_CASES,
                         ids=[c[0] for c in ORACLE_CASES])
def test_the_oracle_on_worked_cases(name: str, doc: dict, claim: str, label: str) -> None:
    prob = oracle.problem(doc)
    lhs, rhs = oracle.split_claim(claim)
    assert oracle.Judge(prob, seed=5).judge(oracle.parse(lhs), oracle.parse(rhs)).label == label


def test_every_operator_makes_mutants() -> None:
    made = mutants.make_mutants(8000, seed=1)  # every single mutant, then doubles
    ops = {m.operator for _, _, m in made if "+" not in m.operator}
    for op in ("swap-dimension", "perturb-1e-12", "tiny-term", "swap-indices", "transpose",
               "drop-term", "other-symbol", "log-base", "relu-threshold", "sign",
               "sum-range", "size-factor", "other-index-same-range", "constant-plus-1",
               "activation", "swap-dimension", "drop-factor", "mul-for-matmul"):
        assert op in ops, op
    assert any("+" in m.operator for _, _, m in made), "two mistakes in one step"
    texts = [(m.source, m.rhs) for _, _, m in made]
    assert len(set(texts)) == len(texts)


def test_no_false_accept_in_a_seeded_sample() -> None:
    results = mutants.run(SAMPLE, SEED)
    labels = [m.label for m in results]
    # the sample decides something: most mutants are false and are verified
    assert labels.count("false") >= SAMPLE // 2
    assert all(m.verdict for m in results if m.label == "false")
    accepted = mutants.false_accepts(results)
    assert not accepted, "\n".join(f"{m.verdict}: {m.source} [{m.operator}] {m.lhs} = {m.rhs}"
                                   for m in accepted)
