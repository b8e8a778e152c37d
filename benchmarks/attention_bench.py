"""Attention (SPEC §9): numeric gradients of one self-attention layer against PyTorch CPU autograd.

    python benchmarks/attention_bench.py [--rounds N]

Input [T = 64, n = 32], attention dk = dv = 32 (plain and causal), squared error at the layer's output, mean over
m = 32 examples: ``derive.lambdify(net).gradients`` against a hand-written PyTorch attention (Q = X Wq, K = X Wk,
V = X Wv, softmax(Q Kᵀ/√dk) V, masked_fill for the causal mask) with autograd, on the same float64 batch in the
same process, interleaved in alternating order. The gradients are checked to agree before anything is timed;
the best time of each and the median of the paired ratios are reported, every row in one run.
"""

from __future__ import annotations

import os

# one BLAS thread for NumPy and one intra-op thread for PyTorch (see layers_bench.py)
THREADS = os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse  # noqa: E402
import json  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # measure the checkout this script sits in

from derive.layers import LayeredNetwork  # noqa: E402
from derive.layers.numeric import lambdify  # noqa: E402

T, N, DK, DV, M = 64, 32, 32, 32, 32


def spec(causal: bool) -> dict:
    return {"input": [T, N], "loss": "squared_error",
            "layer": [{"kind": "attention", "dk": DK, "dv": DV, "causal": causal}]}


def measure(causal: bool, rounds: int) -> dict:
    import torch

    torch.set_num_threads(int(THREADS))
    net = LayeredNetwork.from_dict(spec(causal))
    rng = np.random.default_rng(0)
    params = [{n: rng.normal(0, 0.2, s) for n, s in layer.parameters} for layer in net.stack]
    X, Y = rng.normal(0, 1, (M, T, N)), rng.normal(0, 1, (M, T, DV))
    fn = lambdify(net)
    tp = {k: torch.tensor(v, requires_grad=True) for k, v in params[0].items()}
    tX, tY = torch.tensor(X), torch.tensor(Y)
    future = ~torch.tril(torch.ones(T, T, dtype=torch.bool))

    def torch_grads() -> dict:
        for v in tp.values():
            v.grad = None
        Q, K, V = tX @ tp["Wq"], tX @ tp["Wk"], tX @ tp["Wv"]
        S = Q @ K.transpose(-1, -2) / DK ** 0.5
        if causal:
            S = S.masked_fill(future, float("-inf"))
        O = torch.softmax(S, dim=-1) @ V
        J = 0.5 * ((O - tY) ** 2).sum() / M
        J.backward()
        return {k: v.grad for k, v in tp.items()}

    ours, theirs = fn.gradients(params, X, Y)[0], torch_grads()
    for k in ours:
        np.testing.assert_allclose(ours[k], theirs[k].numpy(), rtol=1e-8, atol=1e-12)
    times: dict[str, list[float]] = {"derive": [], "torch": []}
    for r in range(rounds):
        order = [("derive", lambda: fn.gradients(params, X, Y)), ("torch", torch_grads)]
        for name, run in order if r % 2 == 0 else order[::-1]:
            start = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - start)
    ratios = [d / t for d, t in zip(times["derive"], times["torch"])]
    return {"causal": causal, "derive_ms": min(times["derive"]) * 1e3, "torch_ms": min(times["torch"]) * 1e3,
            "ratio": min(times["derive"]) / min(times["torch"]), "median_ratio": statistics.median(ratios),
            "torch_version": torch.__version__, "threads": torch.get_num_threads()}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--json", help="also write the rows to this file")
    args = parser.parse_args()
    rows = [measure(causal, args.rounds) for causal in (False, True)]
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    for row in rows:
        print(f"attention{' causal' if row['causal'] else ''}, T = {T}, n = {N}, dk = {DK}, dv = {DV}, m = {M}: "
              f"derive {row['derive_ms']:.2f} ms, PyTorch {row['torch_version']} ({row['threads']} thread) "
              f"{row['torch_ms']:.2f} ms, ratio {row['ratio']:.2f} (median of paired ratios "
              f"{row['median_ratio']:.2f}; target ≤ 2)")
    print(f"load average {load:.1f}")
    if args.json:
        Path(args.json).write_text(json.dumps({"rows": rows, "load": load}, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
