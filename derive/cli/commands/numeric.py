"""derive numeric NET.toml --params P.json --data D.json"""

from __future__ import annotations

import argparse
import json
from typing import Any

from derive.cli.commands import positive_int

MAX_VALUES = 500_000
"""the most activations (examples × units) one run computes and prints"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("network", metavar="NET.toml")
    p.add_argument("--params", required=True, metavar="P.json",
                   help='{"Theta": [Θ^(1), …]}, column 0 the bias; for a layered network '
                        '{"layers": [{"K": …, "b": …}, {}, …]}, one object per [[layer]]')
    p.add_argument("--data", required=True, metavar="D.json", help='{"X": [[…], …], "Y": [[…], …]}')
    p.add_argument("-o", "--output", metavar="FILE")
    p.add_argument("--max-units", type=positive_int, metavar="N",
                   help="derive a softmax output of up to N units (default 10)")


ONE_FILE = ("Theta", "X", "Y")
"""the keys of parameters and data in one file (a variant of derive sheet), read as --params and as --data"""


def read_json(path: str, keys: tuple[str, ...]) -> dict[str, Any]:
    """A JSON object with exactly ``keys`` (or, for parameters or data, the three keys of ``ONE_FILE``), every
    failure one InputError line naming the file."""
    from derive.errors import InputError
    from derive.model.network import read_json as parse

    value = parse(path)
    if not isinstance(value, dict):
        raise InputError(f"{path}: expected an object with keys {', '.join(keys)}")
    if set(keys) < set(ONE_FILE) and sorted(value) == sorted(ONE_FILE):
        return {k: value[k] for k in keys}
    missing = [k for k in keys if k not in value]
    extra = sorted(set(value) - set(keys))
    if missing or extra:
        what = f"missing key {missing[0]!r}" if missing else f"unknown key {extra[0]!r}"
        raise InputError(f"{path}: {what}; expected keys: {', '.join(keys)}")
    return value


def load(args: argparse.Namespace) -> tuple[Any, Any, list, Any, Any]:
    """(network, numeric functions, thetas, X, Y) from the command's three files."""
    import numpy as np

    from derive.engine.numeric import lambdify
    from derive.errors import InputError, NotSupportedError
    from derive.model.network import Network

    net = Network.from_toml(args.network)
    thetas = read_json(args.params, ("Theta",))["Theta"]
    data = read_json(args.data, ("X", "Y"))
    if isinstance(thetas, list):
        for n, T in enumerate(thetas, start=1):
            numbers(T, f"{args.params}: Theta[{n}]")
    values = len(data["X"]) * sum(net.layers) if isinstance(data["X"], list) else 0
    if values > MAX_VALUES:
        raise InputError(f"{args.data}: {len(data['X'])} examples × {sum(net.layers)} units is {values:,} values to "
                         f"compute and print; at most {MAX_VALUES:,} (use fewer examples)")
    numbers(data["X"], f"{args.data}: X")
    numbers(data["Y"], f"{args.data}: Y")
    try:
        fn = lambdify(net, max_units=getattr(args, "max_units", None))
    except NotSupportedError as e:
        raise NotSupportedError(f"{args.network}: {e}") from None
    try:
        out = fn.backward(thetas, data["X"], data["Y"])
    except InputError as e:
        which = args.params if str(e).startswith("Theta") else args.data
        raise InputError(f"{which}: {e}") from None
    if not all(np.all(np.isfinite(v)) for key in ("gradients", "deltas", "activations", "z") for v in out[key]) \
            or not np.isfinite(out["cost"]):
        raise InputError(f"{args.params}, {args.data}: the results overflow double precision; "
                         "use parameters and inputs of smaller magnitude")
    return net, fn, thetas, data["X"], data["Y"]


def numbers(value: Any, name: str) -> None:
    """Refuse anything but a list of rows of numbers (no true/false, null or strings), naming the entry."""
    from derive.errors import InputError
    from derive.model.network import show

    if not isinstance(value, list):
        raise InputError(f"{name}: expected a matrix (a list of rows of numbers), got {show(value)}")
    for r, row in enumerate(value, start=1):
        if not isinstance(row, list):
            raise InputError(f"{name}: expected a matrix (a list of rows of numbers), but row {r} is {show(row)}")
        for c, x in enumerate(row, start=1):
            if isinstance(x, bool) or not isinstance(x, int | float):
                shown = json.dumps(x) if x is None or isinstance(x, bool) else show(x)
                raise InputError(f"{name}: row {r}, column {c} is {shown}; expected a number")


def run(args: argparse.Namespace) -> int:
    from derive.io.output import emit
    from derive.layers.commands import numeric, read

    layered = read(args.network)
    if layered is not None:
        return numeric(layered, args)

    _, fn, thetas, X, Y = load(args)
    out = fn.backward(thetas, X, Y)
    doc = {
        "cost": out["cost"],
        "activations": [A.tolist() for A in out["activations"]],
        "z": [Z.tolist() for Z in out["z"]],
        "deltas": [D.tolist() for D in out["deltas"]],
        "gradients": [G.tolist() for G in out["gradients"]],
    }
    emit(json.dumps(doc, indent=2) + "\n", args.output, inputs=[args.network, args.params, args.data])
    return 0
