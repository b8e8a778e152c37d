"""Layered networks (SPEC §9): numeric gradients of LeNet-5 against PyTorch, and deriving the CNN lecture.

    python benchmarks/layers_bench.py [--rounds N]

1. numeric gradients of LeNet-5 (input [1, 28, 28]; conv 6×5×5 ReLU; max pool 2; conv 16×5×5 ReLU; max pool 2;
   flatten; dense 120 ReLU, 84 ReLU, 10 softmax; cross-entropy, mean; m = 64): ``derive.lambdify(net).gradients``
   against PyTorch CPU autograd on the same float64 batch in the same process, interleaved in alternating
   order; the best time of each and the median of the paired ratios are reported, and the gradients are
   checked to agree before anything is timed;
2. deriving the CNN lecture network (input [1, 6, 6], conv 2×3×3 ReLU, max pool 2, flatten, dense 3 softmax,
   cross-entropy): ``derive derivation -f json`` in a fresh process (wall clock, Python start included), best
   of three.
"""

from __future__ import annotations

import os

# one BLAS thread for NumPy and one intra-op thread for PyTorch: on a shared machine a spinning thread pool
# measures the load, not the code (OPENBLAS_NUM_THREADS must be set before NumPy is imported)
THREADS = os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # measure the checkout this script sits in

from derive.layers import LayeredNetwork  # noqa: E402
from derive.layers.numeric import lambdify  # noqa: E402

LENET = {"input": [1, 28, 28], "loss": "cross_entropy", "layer": [
    {"kind": "conv2d", "channels": 6, "kernel": 5, "activation": "relu"}, {"kind": "maxpool", "size": 2},
    {"kind": "conv2d", "channels": 16, "kernel": 5, "activation": "relu"}, {"kind": "maxpool", "size": 2},
    {"kind": "flatten"}, {"kind": "dense", "units": 120, "activation": "relu"},
    {"kind": "dense", "units": 84, "activation": "relu"}, {"kind": "dense", "units": 10, "activation": "softmax"}]}

CNN_LECTURE = """input = [1, 6, 6]
loss = "cross_entropy"

[[layer]]
kind = "conv2d"
channels = 2
kernel = 3
activation = "relu"

[[layer]]
kind = "maxpool"
size = 2

[[layer]]
kind = "flatten"

[[layer]]
kind = "dense"
units = 3
activation = "softmax"
"""


def lenet(rounds: int) -> dict:
    import torch

    torch.set_num_threads(int(THREADS))
    net = LayeredNetwork.from_dict(LENET)
    rng = np.random.default_rng(0)
    params = [{n: rng.normal(0, 0.1, s) for n, s in layer.parameters} for layer in net.stack]
    X = rng.normal(0, 1, (64, 1, 28, 28))
    Y = np.eye(10)[rng.integers(0, 10, 64)]
    fn = lambdify(net)
    F = torch.nn.functional
    tp = [{k: torch.tensor(v, requires_grad=True) for k, v in p.items()} for p in params]
    tX, tY = torch.tensor(X), torch.tensor(Y)

    def torch_grads() -> list:
        for p in tp:
            for v in p.values():
                v.grad = None
        A = F.max_pool2d(torch.relu(F.conv2d(tX, tp[0]["K"], tp[0]["b"])), 2)
        A = F.max_pool2d(torch.relu(F.conv2d(A, tp[2]["K"], tp[2]["b"])), 2).reshape(64, -1)
        A = torch.relu(A @ tp[5]["W"].T + tp[5]["b"])
        A = torch.relu(A @ tp[6]["W"].T + tp[6]["b"])
        J = -(tY * torch.log_softmax(A @ tp[7]["W"].T + tp[7]["b"], 1)).sum() / 64
        J.backward()
        return [{k: v.grad for k, v in p.items()} for p in tp]

    ours = fn.gradients(params, X, Y)
    theirs = torch_grads()
    for a, b in zip(ours, theirs):
        for k in a:
            np.testing.assert_allclose(a[k], b[k].numpy(), rtol=1e-7, atol=1e-12)
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


def derivation_latency() -> float:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "cnn.toml"
        path.write_text(CNN_LECTURE)
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        best = float("inf")
        for _ in range(3):
            start = time.perf_counter()
            subprocess.run([sys.executable, "-m", "derive.cli", "derivation", str(path), "-f", "json", "-o",
                            str(Path(tmp) / "out.json")], check=True, env=env, capture_output=True)
            best = min(best, time.perf_counter() - start)
        return best


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args()
    result = lenet(args.rounds)
    print(f"LeNet-5 gradients, m = 64, {result['parameters']:,} parameters: derive {result['derive'] * 1e3:.1f} ms, "
          f"PyTorch {result['torch_version']} ({result['threads']} threads) {result['torch'] * 1e3:.1f} ms, "
          f"ratio {result['ratio']:.2f} (median of paired ratios {result['median_ratio']:.2f}; target ≤ 1.5)")
    latency = derivation_latency()
    print(f"derive derivation, CNN lecture network, -f json, fresh process: {latency:.2f} s (target < 5 s)")


if __name__ == "__main__":
    main()
