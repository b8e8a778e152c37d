"""How long grading a class takes: 1000 answers for the 4-layer network of the slides.

    python benchmarks/grade_bench.py [N]

The answers mix correct ones (written many ways, each one different: a random factor k/k or a zero term
with a random coefficient makes every text and every SymPy expression distinct, so no cache helps),
classic mistakes, arbitrary wrong formulas and unreadable text, over every target kind. Prints the time
to derive the network once and to grade the answers.
"""

from __future__ import annotations

import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # measure the checkout this script sits in

import derive  # noqa: E402
from derive.grading import grader_of  # noqa: E402

NET = {"layers": [3, 5, 5, 4], "lambda": 0.5}

TEMPLATES = [
    ("delta[4][{u}]", "(a[4][{u}] - y[{u}])*{k}/{k}"),
    ("delta[4][{u}]", "sigmoid(z[4][{u}]) - y[{u}] + 0*{k}*x[1]"),
    ("delta[4][{u}]", "(a[4][{u}] - y[{u}])*a[4][{u}]*(1 - a[4][{u}])*{k}/{k}"),
    ("delta[4][{u}]", "({k}*y[{u}] - {k}*a[4][{u}])/{k}"),
    ("delta[3][{u}]", "(Theta[3][1][{u}]*delta[4][1] + Theta[3][2][{u}]*delta[4][2] + Theta[3][3][{u}]*delta[4][3]"
                      " + Theta[3][4][{u}]*delta[4][4])*a[3][{u}]*(1 - a[3][{u}])*{k}/{k}"),
    ("delta[3][{u}]", "(Theta[3][1][{u}]*delta[4][1] + Theta[3][2][{u}]*delta[4][2] + Theta[3][3][{u}]*delta[4][3]"
                      " + Theta[3][4][{u}]*delta[4][4])*sigmoid(z[3][{u}])*(1 - sigmoid(z[3][{u}]))*{k}/{k}"),
    ("delta[3][{u}]", "(Theta[3][1][{u}]*delta[4][1] + Theta[3][2][{u}]*delta[4][2] + Theta[3][3][{u}]*delta[4][3]"
                      " + Theta[3][4][{u}]*delta[4][4])*{k}/{k}"),
    ("dTheta[3][{u}][2]", "delta[4][{u}]*a[3][2]*{k}/{k}"),
    ("dTheta[3][{u}][2]", "(a[4][{u}] - y[{u}])*a[3][2] + 0*{k}"),
    ("dTheta[3][{u}][0]", "(a[4][{u}] - y[{u}])*a[4][{u}]*(1 - a[4][{u}])*{k}/{k}"),
    ("D[2][{u}][3]", "(Delta[2][{u}][3] + lambda*Theta[2][{u}][3])/m*{k}/{k}"),
    ("D[2][{u}][3]", "Delta[2][{u}][3]/m + lambda*Theta[2][{u}][3]*{k}/{k}"),
    ("D[2][{u}][0]", "Delta[2][{u}][0]/m + lambda*Theta[2][{u}][0]/m*{k}/{k}"),
    ("output_delta", "(a - y)*{k}/{k}"),
    ("hidden_derivative", "a*(1 - a)*{k}/{k}"),
    ("hidden_derivative", "sigmoid(z)*(1 - sigmoid(z)) + 0*{k}"),
    ("delta[4][{u}]", "a[4][{u}] - y[{u}] + {k}"),
    ("delta[4][{u}]", "(a[4][{u}] - y[{u}])*(1 - a[4][{u}]"),
    ("delta[4][{u}]", "__import__('os').system('true')"),
    ("delta[4][{u}]", "a[9][{u}] - y[{u}]"),
]


def answers(n: int, seed: int = 1) -> list[tuple[str, str]]:
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        target, answer = rng.choice(TEMPLATES)
        values = {"u": rng.randint(1, 4), "k": rng.randint(2, 10**6)}
        out.append((target.format(**values), answer.format(**values)))
    return out


def main(n: int = 1000) -> None:
    net = derive.Network.from_dict(NET)
    rows = answers(n)
    start = time.perf_counter()
    g = grader_of(net)
    derived = time.perf_counter() - start
    counts: dict[str, int] = {}
    start = time.perf_counter()
    for target, answer in rows:
        verdict = g.grade(target, answer)
        counts[verdict.verdict] = counts.get(verdict.verdict, 0) + 1
    graded = time.perf_counter() - start
    print(f"network {NET['layers']}: derived in {derived:.2f} s")
    print(f"{n} answers graded in {graded:.2f} s ({1000 * graded / n:.1f} ms each): "
          + ", ".join(f"{count} {verdict}" for verdict, count in sorted(counts.items())))
    print(f"total {derived + graded:.2f} s")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1000)
