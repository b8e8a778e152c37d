"""The commands on a layered network: ``derive numeric`` and ``derive derivation`` (the others refuse it)."""

from __future__ import annotations

import argparse
import json
import math
from typing import Any

from derive.model.network import is_layered, read_toml, show

from ..errors import InputError, NotSupportedError
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


def load(net: LayeredNetwork, args: argparse.Namespace) -> tuple[Any, list, Any, Any, dict]:
    """(numeric functions, parameters, X, Y, the engine's cost and gradients) from the command's files, every
    failure one line naming the file."""
    import numpy as np

    from derive.cli.commands.numeric import read_json

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
    return fn, layers, data["X"], data["Y"], out


def numeric(net: LayeredNetwork, args: argparse.Namespace) -> int:
    from derive.io.output import emit

    _, _, _, _, out = load(net, args)
    doc = {"cost": out["cost"], "gradients": [{k: v.tolist() for k, v in g.items()} for g in out["gradients"]]}
    emit(json.dumps(doc, indent=2) + "\n", args.output, inputs=[args.network, args.params, args.data])
    return 0


def _inner(net: LayeredNetwork) -> int:
    """Values per example of the tensors inside the layers (attention's Q, K, V and its T × T scores S and P)."""
    from .registry import KINDS

    return sum(math.prod(shape) for layer in net.stack if "shapes" in KINDS[layer.kind].extra
               for shape in KINDS[layer.kind].extra["shapes"](layer.input, layer.config).values())


def _exact(net: LayeredNetwork, args: argparse.Namespace) -> Any:
    """The exact trace of the files, computed when first asked for (None beyond exact arithmetic's bounds)."""
    from .exact import read_or_none

    done: list[Any] = []

    def compute() -> Any:
        if not done:
            done.append(read_or_none(net, args.params, args.data))
        return done[0]
    return compute


def example(net: LayeredNetwork, args: argparse.Namespace) -> int:
    """derive example on a layered network: bounded, every number checked against the exact trace."""
    from derive.document.worked_example import with_claims
    from derive.io.output import emit

    from ..render import render
    from .example import bounds, worked_example

    fn, params, X, Y, _ = load(net, args)
    bounds(net, len(X), args.network, args.data)
    exact = _exact(net, args)
    d = worked_example(net, fn, params, X, Y, exact(), rate=args.rate, digits=args.digits)
    if args.claims:
        from derive.cli.commands.check import read_claims

        from .claims import check, section

        rows = check(net, fn.backward(params, X, Y, trace=True), read_claims(args.claims), source=args.claims,
                     exact=exact)
        d = with_claims(d, section(rows))
    from derive.cli.commands import document_settings

    emit(render(d, args.format, **document_settings(args)), args.output,
         inputs=[args.network, args.params, args.data, args.claims])
    return 0


def check(net: LayeredNetwork, args: argparse.Namespace) -> list:
    """derive check on a layered network: the report's rows (the command prints them as for §2 networks)."""
    from derive.cli.commands.check import read_claims

    from .claims import check as judge
    from .example import MAX_EXAMPLES, MAX_PARAMETERS_SHOWN, MAX_VALUES_SHOWN

    fn, params, X, Y, _ = load(net, args)
    small = (len(X) <= MAX_EXAMPLES and net.parameter_count <= MAX_PARAMETERS_SHOWN
             and math.prod(net.input) + sum(math.prod(layer.output) for layer in net.stack) <= MAX_VALUES_SHOWN)
    return judge(net, fn.backward(params, X, Y, trace=True), read_claims(args.claims), source=args.claims,
                 exact=_exact(net, args) if small else None)


def refuse(command: str, path: str) -> None:
    raise NotSupportedError(f"{path}: derive {command} is not yet supported for layered networks (SPEC §9); "
                            "use derive numeric or derive derivation")
