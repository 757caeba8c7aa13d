"""Generate a class of submissions of the source document 004 derivation (grading benchmark).

Each student writes the six gradients of examples/mlp004/key.yaml, as a claim or a
chain with an intermediate step, correctly or with one of the mistakes the source
documents make (sign, missing ReLU mask, lost transpose, wrong layer's weights,
dropped term, diagonal-only softmax chain rule) that then propagates into the
later results as it would on paper.  The mix is fixed by the seed.

``--varied`` writes each file as students do: a comment with their name, their own
step ids, their own spacing, and equivalent ways of writing the same result
(``-y + A2``, ``relu_prime(z1) * (w2.T @ g)``, ``(A1 @ g.T).T``): almost every file
is distinct, and the class has many more distinct equations.  Without it the class
is the one of the earlier figures (1,000 files, 209 distinct).

Usage: python bench/grade_class.py OUT_FOLDER [--n 1000] [--seed 0] [--varied]
"""

from __future__ import annotations

import argparse
import random
from pathlib import Path

# d(L)/d(z2) as students write it: the correct form and realistic wrong ones
DZ2 = {
    "ok": "A2 - y",
    "ok_alt": "-(y - A2)",
    "sign": "y - A2",
    "diagonal": "-y * (1 - A2)",          # the chain rule keeps only dA2_i/dz2_i
    "dropped": "A2",                      # the y term lost
    "scaled": "2 * (A2 - y)",
}
# how the hidden layer's delta is formed from the output delta g
DZ1 = {
    "ok": "(w2.T @ ({g})) * relu_prime(z1)",
    "no_mask": "w2.T @ ({g})",
    "wrong_layer": "(w1 @ w1.T @ w1 @ X * 0 + w2.T @ ({g})) * relu_prime(z1)",
    "mask_of_a": "(w2.T @ ({g})) * relu_prime(A1)",
}
WEIGHT = {
    "ok": "({d}) @ {v}.T",
    "no_transpose": "({d}) @ {v}",
    "outer_swapped": "{v} @ ({d}).T",
}
# --varied: the same results written other ways (each key of the tables above)
DZ2_SAME = {
    "ok": ["A2 - y", "-y + A2", "A2-y", "(A2 - y)", "-(y - A2)"],
    "sign": ["y - A2", "-A2 + y", "-(A2 - y)"],
    "diagonal": ["-y * (1 - A2)", "y * (A2 - 1)", "-(y * (1 - A2))"],
    "dropped": ["A2"],
    "scaled": ["2 * (A2 - y)", "2*A2 - 2*y", "(A2 - y) * 2"],
}
DZ1_SAME = {
    "ok": ["(w2.T @ ({g})) * relu_prime(z1)", "relu_prime(z1) * (w2.T @ ({g}))",
           "(({g}).T @ w2).T * relu_prime(z1)"],
    "no_mask": ["w2.T @ ({g})", "(({g}).T @ w2).T"],
    "wrong_layer": ["(w1 @ w1.T @ w1 @ X * 0 + w2.T @ ({g})) * relu_prime(z1)"],
    "mask_of_a": ["(w2.T @ ({g})) * relu_prime(A1)", "relu_prime(A1) * (w2.T @ ({g}))"],
}
WEIGHT_SAME = {
    "ok": ["({d}) @ {v}.T", "({v} @ ({d}).T).T"],
    "no_transpose": ["({d}) @ {v}"],
    "outer_swapped": ["{v} @ ({d}).T"],
}
ID_STYLES = [
    ("dz2", "dw2", "db2", "dz1", "dw1", "db1"),
    ("dL_dz2", "dL_dw2", "dL_db2", "dL_dz1", "dL_dw1", "dL_db1"),
    ("step1", "step2", "step3", "step4", "step5", "step6"),
    ("a", "b", "c", "d", "e", "f"),
    ("g_z2", "g_w2", "g_b2", "g_z1", "g_w1", "g_b1"),
]
NAMES = ["Ada", "Ben", "Chen", "Dana", "Eli", "Fatima", "Goran", "Hana", "Ivan", "Jun",
         "Kofi", "Lena", "Mateo", "Nia", "Omar", "Priya", "Quinn", "Rosa", "Sven", "Tariq"]


def student(rng: random.Random, varied: bool = False, k: int = 0) -> str:
    dz2_kind = rng.choices(list(DZ2), weights=[40, 10, 15, 10, 5, 5])[0]
    dz1_kind = rng.choices(list(DZ1), weights=[70, 15, 5, 10])[0]
    w2_kind = rng.choices(list(WEIGHT), weights=[80, 10, 10])[0]
    w1_kind = rng.choices(list(WEIGHT), weights=[85, 10, 5])[0]
    g = DZ2[dz2_kind]
    d1 = DZ1[dz1_kind].format(g=g)
    w2 = WEIGHT[w2_kind]
    w1 = WEIGHT[w1_kind]
    ids = ID_STYLES[0]
    lines = ["steps:"]
    if varied:
        g = rng.choice(DZ2_SAME[dz2_kind.replace("ok_alt", "ok")])
        d1 = rng.choice(DZ1_SAME[dz1_kind]).format(g=g)
        w2 = rng.choice(WEIGHT_SAME[w2_kind])
        w1 = rng.choice(WEIGHT_SAME[w1_kind])
        ids = rng.choice(ID_STYLES)
        lines = [f"# {rng.choice(NAMES)} {rng.choice(NAMES)[0]}. (student {k}), "
                 f"homework 3", "steps:"]
    chain = rng.random() < 0.5
    if chain:
        lines += [f"  - id: {ids[0]}", "    chain:", '      - "d(L)/d(z2)"',
                  '      - "A2 - y"' if dz2_kind.startswith("ok") else f'      - "{g}"',
                  f'      - "{g}"']
    else:
        lines += [f"  - id: {ids[0]}", f'    claim: "d(L)/d(z2) = {g}"']
    lines += [f"  - id: {ids[1]}", f'    claim: "d(L)/d(w2) = {w2.format(d=g, v="A1")}"',
              f"  - id: {ids[2]}", f'    claim: "d(L)/d(b2) = {g}"',
              f"  - id: {ids[3]}", f'    claim: "d(L)/d(z1) = {d1}"',
              f"  - id: {ids[4]}", f'    claim: "d(L)/d(w1) = {w1.format(d=d1, v="X")}"',
              f"  - id: {ids[5]}", f'    claim: "d(L)/d(b1) = {d1}"']
    if rng.random() < 0.1:  # some students skip a result
        lines = lines[:-2]
    return "\n".join(lines) + "\n"


def write_class(out: Path, n: int, seed: int = 0, varied: bool = False) -> None:
    """Write ``n`` submissions into the folder ``out`` (created if need be)."""
    out.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    for k in range(n):
        (out / f"s{k:05d}.yaml" if n > 10_000 or varied else out / f"s{k:04d}.yaml"
         ).write_text(student(rng, varied, k), encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("out")
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--varied", action="store_true",
                        help="names, step ids, spacing and equivalent forms of each student's "
                             "own (almost every file distinct)")
    args = parser.parse_args()
    write_class(Path(args.out), args.n, args.seed, args.varied)


if __name__ == "__main__":
    main()
