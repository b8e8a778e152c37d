"""The grader's work is bounded (README "Errors and limits"): deep networks, worker threads, class files.

Every bound here is enforced by the grader's own clock and size guards, which work in any thread; an answer
whose exact comparison runs out of its bounds is "wrong" with the text saying it was undecided, never correct.
"""

from __future__ import annotations

import threading
import time

import derive
from derive.grading.classfile import Row
from derive.grading.exact import BUDGET
from derive.grading.report import grade_rows

NET = {"layers": [2, 3, 2]}
SLOW = "a[3][1] - y[1] + 0*(" + "+".join(
    f"sqrt(sigmoid(z[2][{1 + i % 3}] + {i})*sigmoid(z[3][{1 + i % 2}] - {i}) + exp(z[2][1]/{i + 1}))"
    f"*tanh(z[2][2]*{i + 2})" for i in range(45)) + ")"
"""a correct answer (0 times a long positive term) whose exact evaluation takes longer than the budget"""


def _in_thread(f):
    out = {}
    worker = threading.Thread(target=lambda: out.setdefault("value", f()))
    worker.start()
    worker.join()
    return out["value"]


def test_a_deep_network_is_graded_in_bounded_time():
    """[2, 3 × 14, 1]: the errors are evaluated layer by layer, never expanded (once exponential in depth)."""
    net = derive.Network.from_dict({"layers": [2] + [3] * 14 + [1]})
    start = time.perf_counter()
    back = " + ".join(f"Theta[2][{k}][1]*delta[3][{k}]" for k in (1, 2, 3))
    assert derive.grade(net, "delta[2][1]", f"({back})*a[2][1]*(1 - a[2][1])").verdict == "correct"
    assert derive.grade(net, "delta[2][1]", f"({back})").mistake == "missing_activation_derivative"
    assert derive.grade(net, "delta[15][1]", "delta[15][1]").mistake == "circular"
    assert time.perf_counter() - start < 60


def test_the_budget_holds_in_a_worker_thread():
    derive.grade(NET, "delta[3][1]", "a[3][1] - y[1]")  # derived once, outside the measurement
    for run in (lambda f: f(), _in_thread):
        start = time.perf_counter()
        v = run(lambda: derive.grade(NET, "delta[3][1]", SLOW))
        elapsed = time.perf_counter() - start
        assert v.verdict == "wrong" and v.mistake is None and "undecided" in v.text, v.text
        assert elapsed < BUDGET + 3, elapsed


def test_a_huge_exact_number_is_undecided_at_once():
    nested = "x[1]"
    for _ in range(6):
        nested = f"({nested}^10*x[1])"
    start = time.perf_counter()
    v = derive.grade(NET, "delta[3][1]", f"a[3][1] - y[1] + 1e-300*{nested}")
    assert v.verdict == "wrong" and time.perf_counter() - start < BUDGET + 1


def test_a_class_file_shares_one_time_bound():
    """Once the class's seconds are spent, answers that need an exact comparison are undecided: wrong (a
    comparison already decided for the same answer is remembered, so fresh answers are used)."""
    net = derive.Network.from_dict(NET)
    rows = [Row(str(k), "delta[3][1]", f"(a[3][1] - y[1])*{k + 2}/{k + 2}") for k in range(40)]
    derive.grade(net, "delta[3][1]", "a[3][1] - y[1]")
    unbounded = grade_rows(net, rows)
    assert {g.verdict.verdict for g in unbounded} == {"correct"}
    start = time.perf_counter()
    fresh = [Row(str(k), "delta[3][1]", f"(a[3][1] - y[1])*{k + 2}/{k + 2}") for k in range(40, 80)]
    spent = grade_rows(net, fresh + [Row("slow", "delta[3][1]", SLOW)] * 3, seconds=0.0)
    assert time.perf_counter() - start < 5
    assert {(g.verdict.verdict, g.verdict.mistake) for g in spent} == {("wrong", None)}
    assert all("undecided" in g.verdict.text for g in spent)


def _random_formula(rng, depth: int = 0) -> str:
    tokens = ["x[1]", "z[2][1]", "a[2][2]", "y[1]", "Theta[1][1][0]", "2", "0.5", "1e-9", "1e12"]
    if depth > 4 or rng.random() < 0.3:
        return rng.choice(tokens)
    op = rng.choice(["+", "-", "*", "/", "**"])
    function = rng.choice(["exp", "log", "sqrt", "sigmoid", "tanh", ""])
    right = rng.choice(["2", "3", "0.5", "-1"]) if op == "**" else _random_formula(rng, depth + 1)
    return f"{function}(({_random_formula(rng, depth + 1)}){op}({right}))"


def test_nested_transcendental_answers_stay_bounded():
    """Answers that agree numerically (the correct result plus 0 or 1e-300 times a nested formula) reach the
    exact comparison; each is decided or left undecided quickly (SymPy's evaluation of nested exponentials
    once ran for ever), and adding 1e-300 times a non-zero formula is never correct."""
    import random

    rng = random.Random(3)
    derive.grade(NET, "delta[3][1]", "a[3][1] - y[1]")
    start = time.perf_counter()
    for _ in range(200):
        formula = _random_formula(rng)
        tiny = derive.grade(NET, "delta[3][1]", f"a[3][1] - y[1] + 1e-300*({formula})")
        if tiny.verdict == "correct":  # only when the formula is itself exactly zero
            assert derive.grade(NET, "delta[3][1]", f"a[3][1] - y[1] + {formula}").verdict == "correct", formula
        derive.grade(NET, "delta[3][1]", f"a[3][1] - y[1] + 0*({formula})")
    assert time.perf_counter() - start < 120
