"""derive derivation NET.toml | --preset NAME [--format F] [-o FILE]"""

from __future__ import annotations

import argparse

from ..printers import FORMATS
from . import positive_int


def add_arguments(p: argparse.ArgumentParser) -> None:
    from ..presets import PRESETS

    p.add_argument("network", metavar="NET.toml", nargs="?", help="the network description (SPEC §2)")
    p.add_argument("--preset", choices=list(PRESETS), help="a classic network instead of NET.toml")
    p.add_argument("--format", "-f", default="latex", choices=list(FORMATS), help="output format (default latex)")
    p.add_argument("-o", "--output", metavar="FILE", help="write here instead of stdout")
    p.add_argument("--body", action="store_true", help="LaTeX: only the body, to paste into one's own notes")
    p.add_argument("--max-units", type=positive_int, metavar="N",
                   help="derive a softmax output of up to N units (default 10)")


def run(args: argparse.Namespace) -> int:
    from ..errors import InputError, NotSupportedError
    from ..network import Network
    from ..output import emit
    from ..presets import preset
    from ..printers import render, takes_body

    if (args.network is None) == (args.preset is None):
        raise InputError("derivation: give either NET.toml or --preset NAME")
    if args.body and not takes_body(args.format):
        raise InputError(f"--body: the {args.format} format has no separate body; --body goes with "
                         f"{' or '.join(f for f in FORMATS if takes_body(f))}")
    from ..layers.commands import read

    net = preset(args.preset) if args.preset else read(args.network) or Network.from_toml(args.network)
    from ..derivation import backprop  # SymPy's import only once the input is known to be good

    options = {"body": True} if args.body else {}
    bounds = {} if args.max_units is None else {"max_units": args.max_units}
    try:
        derivation = backprop(net, **bounds)
    except NotSupportedError as e:
        raise NotSupportedError(f"{args.network or args.preset}: {e}") from None
    text = render(derivation, args.format, **options)
    emit(text, args.output, inputs=[args.network])
    return 0
