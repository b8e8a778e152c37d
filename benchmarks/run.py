"""derive's performance, measured against baselines run in the same process (issue 6).

    python benchmarks/run.py            # the full run: table on stdout, results.json and results.png here
    python benchmarks/run.py --smoke    # the smallest sizes only, in seconds (CI runs this; no timing asserted)

Every figure is a ratio against a baseline timed in the same run, interleaved with derive's own runs, or a
growth exponent fitted over sizes: what holds on one machine holds as ratios on another.

1. numeric gradients: ``derive.lambdify(net).gradients`` against a hand-written vectorized numpy backprop
   and (when importable) PyTorch's CPU autograd in float64, same batch;
2. element-wise symbolic gradients: ``derive.elementwise`` against SymPy's ``diff`` of the fully written-out
   cost with respect to every weight (capped: "> cap" when it does not finish), over sizes P ≈ 50 … 7,000;
3. latency a user feels: ``derive derivation`` in every format and ``derive lecture``, wall time with the
   Python start, in fresh processes.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # measure the checkout this script sits in

import numpy as np  # noqa: E402
import sympy as sp  # noqa: E402
from sympy.core.cache import clear_cache  # noqa: E402

import derive  # noqa: E402
from derive.engine.weight_gradients import elementwise, naive_cost  # noqa: E402
from derive.model.notation import q  # noqa: E402

HERE = Path(__file__).resolve().parent


@dataclass
class Row:
    """One line of the table."""

    group: str
    size: str
    weights: int
    derive_s: float
    baseline: str
    baseline_s: float | None
    ratio: float | None
    """baseline time / derive time (above 1: derive is faster), or derive / baseline where noted"""
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


# --- 1. numeric gradients -------------------------------------------------------------------------------------
def numpy_backprop(Ts: list[np.ndarray], X: np.ndarray, Y: np.ndarray, lam: float) -> list[np.ndarray]:
    """The classic hand-written vectorized backprop (sigmoid layers, cross-entropy, mean, L2 without bias)."""
    m = len(X)
    acts = [np.hstack([np.ones((m, 1)), X])]
    for T in Ts:
        A = 1 / (1 + np.exp(-(acts[-1] @ T.T)))
        acts.append(np.hstack([np.ones((m, 1)), A]))
    D = acts[-1][:, 1:] - Y
    grads = []
    for n in range(len(Ts) - 1, -1, -1):
        G = D.T @ acts[n] / m
        G[:, 1:] += lam / m * Ts[n][:, 1:]
        grads.append(G)
        if n:
            A = acts[n][:, 1:]
            D = (D @ Ts[n][:, 1:]) * A * (1 - A)
    return grads[::-1]


def torch_backprop() -> Callable[[list[np.ndarray], np.ndarray, np.ndarray, float], list[np.ndarray]] | None:
    """PyTorch CPU autograd in float64 on the same cost, or None when torch is not importable."""
    try:
        import torch
    except ImportError:
        return None
    F = torch.nn.functional

    def grads(Ts: list[np.ndarray], X: np.ndarray, Y: np.ndarray, lam: float) -> list[np.ndarray]:
        ts = [torch.from_numpy(T).requires_grad_(True) for T in Ts]
        A, Yt, m = torch.from_numpy(X), torch.from_numpy(Y), len(X)
        for n, T in enumerate(ts):
            Z = torch.addmm(T[:, 0], A, T[:, 1:].T)
            A = torch.sigmoid(Z) if n < len(ts) - 1 else Z
        J = F.binary_cross_entropy_with_logits(A, Yt, reduction="sum") / m
        J = J + lam / (2 * m) * sum((T[:, 1:] ** 2).sum() for T in ts)
        return [g.numpy() for g in torch.autograd.grad(J, ts)]

    grads.version = torch.__version__  # type: ignore[attr-defined]
    return grads


def bench_numeric(layers: list[int], m: int, lam: float, repeats: int) -> list[Row]:
    net = derive.Network.from_dict({"layers": layers, "lambda": lam})
    fn = derive.lambdify(net)
    rng = np.random.default_rng(0)
    Ts = [rng.normal(0, 0.12, size=(s_out, s_in + 1)) for s_in, s_out in zip(layers, layers[1:])]
    X = rng.normal(size=(m, layers[0]))
    Y = np.eye(layers[-1])[rng.integers(layers[-1], size=m)]
    methods: dict[str, Callable[[], list[np.ndarray]]] = {
        "derive": lambda: fn.gradients(Ts, X, Y),
        "numpy (hand-written)": lambda: numpy_backprop(Ts, X, Y, lam),
    }
    torch_fn = torch_backprop()
    if torch_fn is not None:
        methods[f"torch {torch_fn.version} autograd f64"] = lambda: torch_fn(Ts, X, Y, lam)  # type: ignore[attr-defined]
    reference = methods["derive"]()
    agree = {name: float(max(np.max(np.abs(a - b)) for a, b in zip(f(), reference))) for name, f in methods.items()}
    times: dict[str, list[float]] = {name: [] for name in methods}
    names = list(methods)
    for r in range(repeats):
        # interleaved, so that a busy machine slows every method alike, and in a rotating order, so that none
        # always runs right after another's thread pools (torch's OpenMP threads spin on after their work)
        for name in names[r % len(names):] + names[:r % len(names)]:
            t = time.perf_counter()
            methods[name]()
            times[name].append(time.perf_counter() - t)
    best = {name: min(ts) for name, ts in times.items()}
    size = f"{layers}, m={m}, λ={lam:g}"
    return [Row("numeric gradients", size, net.weight_count, best["derive"], name, best[name],
                best["derive"] / best[name], "derive/baseline, best of each (target ≤ 1.10 numpy, ≤ 1.0 torch)",
                {"max_abs_difference": agree[name], "agree": agree[name] < 1e-9, "repeats": repeats,
                 "median_paired_ratio": float(np.median(np.array(times["derive"]) / np.array(times[name]))),
                 "derive_median_s": float(np.median(times["derive"])), "baseline_median_s": float(np.median(ts))})
            for name, ts in times.items() if name != "derive"]


# --- 2. element-wise symbolic gradients ---------------------------------------------------------------------
def naive_gradients(net: derive.Network, cap: float) -> tuple[float, int, dict[sp.Symbol, sp.Expr]]:
    """SymPy's diff of the written-out cost w.r.t. every weight, stopped once ``cap`` seconds have passed:
    (seconds, weights done, the derivatives found)."""
    start = time.perf_counter()
    J = naive_cost(net)
    found: dict[sp.Symbol, sp.Expr] = {}
    for w in sorted(J.free_symbols, key=str):
        if not str(w).startswith("Theta"):
            continue
        if time.perf_counter() - start > cap:
            break
        found[w] = sp.diff(J, w)
    return time.perf_counter() - start, len(found), found


def bench_elementwise(sizes: list[list[int]], naive_sizes: list[list[int]], cap: float, repeats: int,
                      check: list[int]) -> tuple[list[Row], dict[str, Any]]:
    rows: list[Row] = []
    points: list[tuple[int, float]] = []
    elementwise(derive.Network.from_dict({"layers": [1, 1]}))  # one-time costs (imports) out of the first size
    for layers in sizes:
        net = derive.Network.from_dict({"layers": layers})
        clear_cache()
        t = time.perf_counter()
        d = derive.backprop(net)
        t_derivation = time.perf_counter() - t
        best = math.inf
        for _ in range(repeats):
            clear_cache()  # SymPy's cache would make a repeat a lookup
            t = time.perf_counter()
            e = elementwise(net, derivation=d)
            best = min(best, time.perf_counter() - t)
        points.append((net.weight_count, best))
        extra: dict[str, Any] = {"derivation_s": t_derivation, "with_derivation_s": t_derivation + best}
        baseline, base_s, ratio, note = "sympy diff (naive)", None, None, "not run at this size"
        if layers in naive_sizes:
            clear_cache()
            base_s, done, found = naive_gradients(net, cap)
            extra["naive_weights_done"] = done
            if done < net.weight_count:
                note = f"> cap: naive did {done} of {net.weight_count} weights in {cap:g} s (ratio ≥)"
            else:
                note = "naive/derive (target ≥ 500 at [8, 8, 8, 4])"
            ratio = base_s / best
            extra["ratio_with_derivation"] = base_s / (t_derivation + best)
            if layers == check:
                extra["agree"] = _agree(net, e, found)
        rows.append(Row("elementwise gradients", str(layers), net.weight_count, best, baseline, base_s, ratio,
                        note, extra))
    P = np.log([p for p, _ in points])
    T = np.log([s for _, s in points])
    exponent = float(np.polyfit(P, T, 1)[0]) if len(points) > 1 else float("nan")
    large = [(p, t) for p, t in points if p >= 800]  # past the fixed costs that flatten the small sizes
    exponent_large = (float(np.polyfit(np.log([p for p, _ in large]), np.log([t for _, t in large]), 1)[0])
                      if len(large) > 1 else None)
    net = derive.Network.from_dict({"layers": sizes[-1]})
    d = derive.backprop(net)
    clear_cache()
    tracemalloc.start()
    elementwise(net, derivation=d)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return rows, {"exponent": exponent, "exponent_p_ge_800": exponent_large, "peak_bytes": peak,
                  "peak_size": sizes[-1], "points": points}


def _agree(net: derive.Network, e: Any, naive: dict[sp.Symbol, sp.Expr]) -> bool:
    """derive's element-wise gradients, the naive diff and the numeric gradients at one random example."""
    rng = np.random.default_rng(7)
    Ts = [rng.normal(0, 0.8, size=(s_out, s_in + 1)) for s_in, s_out in zip(net.layers, net.layers[1:])]
    x, y = rng.normal(size=net.layers[0]), rng.uniform(0.1, 0.9, size=net.layers[-1])
    ours = e.evaluate(Ts, x, y)
    numeric = derive.lambdify(net).gradients(Ts, x[None, :], y[None, :])
    point = {q("x", j + 1): v for j, v in enumerate(x)} | {q("y", k + 1): v for k, v in enumerate(y)}
    point |= {q("Theta", n + 1, i + 1, j): T[i, j] for n, T in enumerate(Ts) for i, j in np.ndindex(T.shape)}
    ok = all(np.allclose(np.array(a), b, rtol=1e-9, atol=1e-12) for a, b in zip(ours, numeric))
    for w, g in naive.items():
        n, i, j = (int(s) for s in str(w)[len("Theta["):-1].split("]["))
        ok &= math.isclose(float(g.xreplace(point)), ours[n - 1][i - 1][j], rel_tol=1e-9, abs_tol=1e-12)
    return bool(ok)


# --- 3. latency ----------------------------------------------------------------------------------------------
def bench_latency(formats: list[str], lecture: bool, repeats: int = 3) -> list[Row]:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        net = Path(tmp) / "slides.toml"
        net.write_text("layers = [3, 5, 5, 4]\n", encoding="utf-8")
        runs: list[tuple[str, list[str], float]] = [("derive --help", ["--help"], 1.0),
                                                    ("bad input", ["derivation", str(Path(tmp) / "missing.toml")], 1.0)]
        runs += [(f"derivation -f {f}", ["derivation", str(net), "-f", f, "-o", str(Path(tmp) / f"out.{f}")], 3.0)
                 for f in formats]
        if lecture:
            runs.append(("lecture", ["lecture", "--out", str(Path(tmp) / "outputs")], 20.0))
        for name, args, target in runs:
            wall, cpu = math.inf, math.inf
            for _ in range(1 if name == "lecture" else repeats):  # the best of a few: a busy machine only adds
                before = resource.getrusage(resource.RUSAGE_CHILDREN)
                t = time.perf_counter()
                done = subprocess.run([sys.executable, "-m", "derive.cli", *args], cwd=tmp, capture_output=True,
                                      text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
                wall = min(wall, time.perf_counter() - t)
                after = resource.getrusage(resource.RUSAGE_CHILDREN)
                cpu = min(cpu, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime))
            note = f"exit {done.returncode}" + (f": {done.stderr.strip().splitlines()[-1]}" if done.returncode
                                                and done.stderr.strip() else "")
            rows.append(Row("latency (best wall, fresh process)", name, 0, wall, f"target {target:g} s", target,
                            wall / target, f"derive/target; CPU {cpu:.2f} s; {note}",
                            {"exit": done.returncode, "cpu_s": cpu}))
    return rows


# --- output --------------------------------------------------------------------------------------------------
def machine() -> dict[str, Any]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"nproc": os.cpu_count(), "cpu": cpu, "python": platform.python_version(), "numpy": np.__version__,
            "sympy": sp.__version__, "platform": platform.platform()}


def _fmt(v: float | None, digits: int = 3) -> str:
    if v is None:
        return "—"
    return f"{v:.{digits}g}"


def table(rows: list[Row], fit: dict[str, Any]) -> str:
    head = ["benchmark", "size", "P", "derive s", "baseline", "baseline s", "ratio", "note"]
    body = [[r.group, r.size, str(r.weights or ""), _fmt(r.derive_s), r.baseline,
             _fmt(r.baseline_s) if r.baseline_s is not None else "—", _fmt(r.ratio), r.note] for r in rows]
    widths = [max(len(x) for x in col) for col in zip(head, *body)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in [head, *body]]
    lines.insert(1, "  ".join("-" * w for w in widths))
    if fit:
        lines.append("")
        large = fit.get("exponent_p_ge_800")
        lines.append(f"elementwise: fitted exponent of time in P = {fit['exponent']:.3f} (target ≤ 1.15)"
                     + (f", {large:.3f} over P ≥ 800 only" if large is not None else "") + "; "
                     f"peak memory at {fit['peak_size']} = {fit['peak_bytes'] / 1e6:.1f} MB (target < 500 MB)")
    return "\n".join(lines)


def plot(rows: list[Row], path: Path) -> bool:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    ew = [r for r in rows if r.group == "elementwise gradients"]
    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    ax.loglog([r.weights for r in ew], [r.derive_s for r in ew], "o-", label="derive.elementwise (shared deltas)")
    ax.loglog([r.weights for r in ew], [r.extra["with_derivation_s"] for r in ew], "s--", alpha=0.6,
              label="derive, with its derivation")
    naive = [r for r in ew if r.baseline_s is not None]
    full = [r for r in naive if r.extra.get("naive_weights_done") == r.weights]
    capped = [r for r in naive if r.extra.get("naive_weights_done") != r.weights]
    if full:
        ax.loglog([r.weights for r in full], [r.baseline_s for r in full], "x-", color="C3",
                  label="SymPy diff of the expanded cost (naive)")
    if capped:
        ax.loglog([r.weights for r in capped], [r.baseline_s for r in capped], "^", color="C3",
                  label="naive, stopped at the cap (lower bound)")
    ax.set_xlabel("weights P")
    ax.set_ylabel("seconds")
    ax.set_title("∂J/∂Θ for every weight")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return True


@dataclass(frozen=True)
class Plan:
    numeric: tuple[list[int], int, float, int]
    """layers, m, λ, repeats"""
    sizes: list[list[int]]
    naive: list[list[int]]
    """the sizes the naive baseline also runs at"""
    check: list[int]
    """the size at which derive, the naive diff and the numeric gradients are compared"""


FULL = Plan(
    numeric=([400, 25, 10], 5000, 1.0, 40),
    sizes=[[4, 4, 4, 2], [8, 8, 8, 4], [8, 16, 16, 4], [16, 16, 16, 16, 4], [16, 32, 32, 8], [32, 32, 32, 10],
           [32, 64, 64, 10]],
    naive=[[4, 4, 4, 2], [8, 8, 8, 4], [8, 16, 16, 4]],
    check=[4, 4, 4, 2],
)
SMOKE = Plan(numeric=([20, 8, 3], 200, 1.0, 3), sizes=[[2, 3, 2], [4, 4, 4, 2]], naive=[[2, 3, 2]], check=[2, 3, 2])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--smoke", action="store_true", help="only the smallest sizes, no latency runs")
    parser.add_argument("--cap", type=float, default=60.0, help="seconds the naive baseline may run per size")
    parser.add_argument("--out", type=Path, default=HERE, help="where results.json and results.png go")
    args = parser.parse_args(argv)
    plan = SMOKE if args.smoke else FULL
    started = time.perf_counter()
    rows = bench_numeric(*plan.numeric)
    ew_rows, fit = bench_elementwise(plan.sizes, plan.naive, args.cap, 1 if args.smoke else 3, plan.check)
    rows += ew_rows
    if not args.smoke:
        from derive.printers import FORMATS

        rows += bench_latency(list(FORMATS), lecture=True)
    print(table(rows, fit))
    args.out.mkdir(parents=True, exist_ok=True)
    result = {"machine": machine(), "smoke": args.smoke, "cap_s": args.cap, "elementwise_fit": fit,
              "rows": [asdict(r) for r in rows], "total_s": time.perf_counter() - started}
    (args.out / "results.json").write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    if plot(rows, args.out / "results.png"):
        print(f"\nwrote {args.out / 'results.json'} and {args.out / 'results.png'}")
    else:
        print(f"\nwrote {args.out / 'results.json'} (matplotlib not installed: no plot; pip install -e '.[bench]')")
    return 0


if __name__ == "__main__":
    sys.exit(main())
