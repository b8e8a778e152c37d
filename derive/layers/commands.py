"""The commands on a layered network: ``derive numeric`` and ``derive derivation`` (the others refuse it)."""

from __future__ import annotations

import argparse
import json
import math
from typing import Any

from ..errors import InputError, NotSupportedError
from ..network import is_layered, read_toml, show
from .description import LayeredNetwork

MAX_VALUES = 20_000_000
"""the most values (examples × the values of every layer's output for one example) one numeric run computes"""


def read(path: str | None) -> LayeredNetwork | None:
    """The layered network in ``path``, or None when the file describes a §2 network (or there is no file)."""
    if path is None:
        return None
    spec = read_toml(path)
    return LayeredNetwork.from_dict(spec, source=str(path)) if is_layered(spec) else None


def numbers(value: Any, name: str, depth: int = 0) -> None:
    """Refuse anything but (nested lists of) numbers: no true/false, null or strings, naming the entry."""
    if depth > 8:
        raise InputError(f"{name}: nested too deeply; expected an array of numbers")
    if isinstance(value, list):
        for n, item in enumerate(value, start=1):
            numbers(item, f"{name}[{n}]", depth + 1)
    elif isinstance(value, bool) or not isinstance(value, int | float):
        shown = json.dumps(value) if value is None or isinstance(value, bool) else show(value)
        raise InputError(f"{name}: {shown} is not a number; expected an array of numbers")


def numeric(net: LayeredNetwork, args: argparse.Namespace) -> int:
    import numpy as np

    from ..commands.numeric import read_json
    from ..output import emit
    from .numeric import lambdify

    layers = read_json(args.params, ("layers",))["layers"]
    data = read_json(args.data, ("X", "Y"))
    for n, p in enumerate(layers if isinstance(layers, list) else [], start=1):
        for key, value in p.items() if isinstance(p, dict) else ():
            numbers(value, f"{args.params}: layers[{n}].{key}")
    numbers(data["X"], f"{args.data}: X")
    numbers(data["Y"], f"{args.data}: Y")
    m = len(data["X"]) if isinstance(data["X"], list) else 0
    each = sum(net.layers) + _inner(net)
    values = m * each
    if values > MAX_VALUES:
        raise InputError(f"{args.data}: {m} examples × {each:,} values per example is {values:,} values "
                         f"to compute; at most {MAX_VALUES:,} (use fewer examples)")
    try:
        fn = lambdify(net, max_units=getattr(args, "max_units", None))
    except NotSupportedError as e:
        raise NotSupportedError(f"{args.network}: {e}") from None
    try:
        out = fn.backward(layers, data["X"], data["Y"])
    except InputError as e:
        which = args.params if str(e).startswith("layers") else args.data
        raise InputError(f"{which}: {e}") from None
    grads = out["gradients"]
    if not math.isfinite(out["cost"]) or not all(np.isfinite(v).all() for g in grads for v in g.values()):
        raise InputError(f"{args.params}, {args.data}: the results overflow double precision; "
                         "use parameters and inputs of smaller magnitude")
    doc = {"cost": out["cost"], "gradients": [{k: v.tolist() for k, v in g.items()} for g in grads]}
    emit(json.dumps(doc, indent=2) + "\n", args.output, inputs=[args.network, args.params, args.data])
    return 0


def _inner(net: LayeredNetwork) -> int:
    """Values per example of the tensors inside the layers (attention's Q, K, V and its T × T scores S and P)."""
    from .registry import KINDS

    return sum(math.prod(shape) for layer in net.stack if "shapes" in KINDS[layer.kind].extra
               for shape in KINDS[layer.kind].extra["shapes"](layer.input, layer.config).values())


def refuse(command: str, path: str) -> None:
    raise NotSupportedError(f"{path}: derive {command} is not yet supported for layered networks (SPEC §9); "
                            "use derive numeric or derive derivation")
