"""Generate a class of submissions of the source document 004 derivation (grading benchmark).

Each student writes the six gradients of examples/mlp004/key.yaml, as a claim or a
chain with an intermediate step, correctly or with one of the mistakes the source
documents make (sign, missing ReLU mask, lost transpose, wrong layer's weights,
dropped term, diagonal-only softmax chain rule) that then propagates into the
later results as it would on paper.  The mix is fixed by the seed.

Usage: python bench/grade_class.py OUT_FOLDER [--n 1000] [--seed 0]
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


def student(rng: random.Random) -> str:
    dz2_kind = rng.choices(list(DZ2), weights=[40, 10, 15, 10, 5, 5])[0]
    dz1_kind = rng.choices(list(DZ1), weights=[70, 15, 5, 10])[0]
    w2_kind = rng.choices(list(WEIGHT), weights=[80, 10, 10])[0]
    w1_kind = rng.choices(list(WEIGHT), weights=[85, 10, 5])[0]
    g = DZ2[dz2_kind]
    d1 = DZ1[dz1_kind].format(g=g)
    chain = rng.random() < 0.5
    lines = ["steps:"]
    if chain:
        lines += ["  - id: dz2", "    chain:", '      - "d(L)/d(z2)"',
                  '      - "A2 - y"' if dz2_kind.startswith("ok") else f'      - "{g}"',
                  f'      - "{g}"']
    else:
        lines += ["  - id: dz2", f'    claim: "d(L)/d(z2) = {g}"']
    lines += ["  - id: dw2", f'    claim: "d(L)/d(w2) = {WEIGHT[w2_kind].format(d=g, v="A1")}"',
              "  - id: db2", f'    claim: "d(L)/d(b2) = {g}"',
              "  - id: dz1", f'    claim: "d(L)/d(z1) = {d1}"',
              "  - id: dw1", f'    claim: "d(L)/d(w1) = {WEIGHT[w1_kind].format(d=d1, v="X")}"',
              "  - id: db1", f'    claim: "d(L)/d(b1) = {d1}"']
    if rng.random() < 0.1:  # some students skip a result
        lines = lines[:-2]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("out")
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rng = random.Random(args.seed)
    for k in range(args.n):
        (out / f"s{k:04d}.yaml").write_text(student(rng), encoding="utf-8")


if __name__ == "__main__":
    main()
