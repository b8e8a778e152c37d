"""Recurrent layers (SPEC §9): LSTM gradients against PyTorch CPU autograd.

    python benchmarks/recurrent_bench.py [--rounds N]

LSTM with T = 20 time steps, n = 16 inputs, 32 units, returning the last step, then a dense layer of 4 linear units,
squared error, mean, m = 64, float64: ``derive.lambdify(net).gradients`` against ``torch.nn.LSTM`` (+ a linear
layer) forward and ``backward()`` on the same batch in the same process, interleaved in alternating order; the
gradients are checked to agree before anything is timed; the best time of each and the median of the paired
ratios are reported. One BLAS thread for NumPy and one intra-op thread for PyTorch.
"""

from __future__ import annotations

import os

THREADS = os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # measure the checkout this script sits in

from derive.layers import LayeredNetwork  # noqa: E402
from derive.layers.numeric import lambdify  # noqa: E402

T, N, UNITS, M = 20, 16, 32, 64
LSTM = {"input": [T, N], "loss": "squared_error", "layer": [{"kind": "lstm", "units": UNITS, "returns": "last"},
                                                             {"kind": "dense", "units": 4}]}


def lstm(rounds: int) -> dict:
    import torch

    torch.set_num_threads(int(THREADS))
    net = LayeredNetwork.from_dict(LSTM)
    rng = np.random.default_rng(0)
    params = [{n: rng.normal(0, 0.2, s) for n, s in layer.parameters} for layer in net.stack]
    X, Y = rng.normal(0, 1, (M, T, N)), rng.normal(0, 1, (M, 4))
    fn = lambdify(net)
    module = torch.nn.LSTM(N, UNITS, batch_first=True).double()
    with torch.no_grad():
        module.weight_hh_l0.copy_(torch.tensor(params[0]["W"]))
        module.weight_ih_l0.copy_(torch.tensor(params[0]["U"]))
        module.bias_ih_l0.copy_(torch.tensor(params[0]["b"]))
        module.bias_hh_l0.zero_()
    V, c = (torch.tensor(params[1][k], requires_grad=True) for k in ("W", "b"))
    tX, tY = torch.tensor(X), torch.tensor(Y)
    leaves = [*module.parameters(), V, c]

    def torch_grads() -> list:
        for v in leaves:
            v.grad = None
        h, _ = module(tX)
        J = 0.5 * ((h[:, -1] @ V.T + c - tY) ** 2).sum() / M
        J.backward()
        return [module.weight_hh_l0.grad, module.weight_ih_l0.grad, module.bias_ih_l0.grad, V.grad]

    ours = fn.gradients(params, X, Y)
    theirs = torch_grads()
    for a, b in zip([ours[0]["W"], ours[0]["U"], ours[0]["b"], ours[1]["W"]], theirs):
        np.testing.assert_allclose(a, b.numpy(), rtol=1e-7, atol=1e-12)
    times: dict[str, list[float]] = {"derive": [], "torch": []}
    for r in range(rounds):
        order = [("derive", lambda: fn.gradients(params, X, Y)), ("torch", torch_grads)]
        for name, run in order if r % 2 == 0 else order[::-1]:
            start = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - start)
    ratios = [d / t for d, t in zip(times["derive"], times["torch"])]
    return {"derive": min(times["derive"]), "torch": min(times["torch"]),
            "ratio": min(times["derive"]) / min(times["torch"]), "median_ratio": statistics.median(ratios),
            "parameters": net.parameter_count, "torch_version": torch.__version__, "threads": torch.get_num_threads()}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=40)
    args = parser.parse_args()
    r = lstm(args.rounds)
    print(f"LSTM gradients, T = {T}, n = {N}, {UNITS} units, m = {M}, {r['parameters']:,} parameters: derive "
          f"{r['derive'] * 1e3:.2f} ms, PyTorch {r['torch_version']} ({r['threads']} thread) "
          f"{r['torch'] * 1e3:.2f} ms, "
          f"ratio {r['ratio']:.2f} (median of paired ratios {r['median_ratio']:.2f}; target ≤ 2)")


if __name__ == "__main__":
    main()
