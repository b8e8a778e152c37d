"""derive numeric NET.toml --params P.json --data D.json"""

from __future__ import annotations

import argparse
import json
from typing import Any


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("network", metavar="NET.toml")
    p.add_argument("--params", required=True, metavar="P.json", help='{"Theta": [Θ^(1), …]}, column 0 the bias')
    p.add_argument("--data", required=True, metavar="D.json", help='{"X": [[…], …], "Y": [[…], …]}')
    p.add_argument("-o", "--output", metavar="FILE")


def read_json(path: str, keys: tuple[str, ...]) -> dict[str, Any]:
    """A JSON object with exactly ``keys``, every failure one InputError line naming the file."""
    from ..errors import InputError
    from ..network import read_text

    try:
        value = json.loads(read_text(path), parse_constant=_no_constant)
    except json.JSONDecodeError as e:
        raise InputError(f"{path}: not valid JSON ({e.msg} at line {e.lineno})") from None
    except ValueError as e:
        raise InputError(f"{path}: {e}") from None
    if not isinstance(value, dict):
        raise InputError(f"{path}: expected an object with keys {', '.join(keys)}")
    missing = [k for k in keys if k not in value]
    extra = sorted(set(value) - set(keys))
    if missing or extra:
        what = f"missing key {missing[0]!r}" if missing else f"unknown key {extra[0]!r}"
        raise InputError(f"{path}: {what}; expected keys: {', '.join(keys)}")
    return value


def _no_constant(name: str) -> None:
    raise ValueError(f"{name} is not allowed; only finite numbers")


def load(args: argparse.Namespace) -> tuple[Any, Any, list, Any, Any]:
    """(network, numeric functions, thetas, X, Y) from the command's three files."""
    from ..errors import InputError
    from ..network import Network
    from ..numeric import lambdify

    net = Network.from_toml(args.network)
    thetas = read_json(args.params, ("Theta",))["Theta"]
    data = read_json(args.data, ("X", "Y"))
    fn = lambdify(net)
    try:
        fn.backward(thetas, data["X"], data["Y"])
    except InputError as e:
        which = args.params if str(e).startswith("Theta") else args.data
        raise InputError(f"{which}: {e}") from None
    return net, fn, thetas, data["X"], data["Y"]


def run(args: argparse.Namespace) -> int:
    from ..output import emit

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
