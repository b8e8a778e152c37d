"""derive derivation NET.toml | --preset NAME [--format F] [-o FILE] [--language L] [--notation N] [--title T]
[--author A] [--date D] [--sections LIST] [--handout]"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from derive.cli.commands import add_document_options, add_format_option, document_settings, positive_int

if TYPE_CHECKING:
    from derive.layers import LayeredNetwork
    from derive.model.network import Network


def add_arguments(p: argparse.ArgumentParser) -> None:
    from derive.model.presets import PRESETS

    p.add_argument("network", metavar="NET.toml", nargs="?", help="the network description (SPEC §2)")
    p.add_argument("--preset", choices=list(PRESETS), help="a classic network instead of NET.toml")
    add_format_option(p)
    p.add_argument("-o", "--output", metavar="FILE", help="write here instead of stdout")
    p.add_argument("--body", action="store_true", help="LaTeX: only the body, to paste into one's own notes")
    p.add_argument("--max-units", type=positive_int, metavar="N",
                   help="derive a softmax output of up to N units (default 10)")
    add_document_options(p)
    p.add_argument("--sections", metavar="LIST",
                   help="comma-separated: forward, cost, output, hidden, gradients, regularization, algorithm, "
                        "summary (default all, in that order)")
    p.add_argument("--handout", action="store_true", help="Beamer: a handout (no overlays)")


def run(args: argparse.Namespace) -> int:
    from derive.document.sections import selected
    from derive.errors import InputError, NotSupportedError
    from derive.io.output import emit
    from derive.model.network import Network, is_layered, read_toml
    from derive.model.presets import preset
    from derive.render import FORMATS, render, takes

    if (args.network is None) == (args.preset is None):
        raise InputError("derivation: give either NET.toml or --preset NAME")
    for flag in ("body", "handout"):
        if getattr(args, flag) and not takes(args.format, flag):
            raise InputError(f"--{flag}: the {args.format} format has no such setting; --{flag} goes with "
                             f"{' or '.join(f for f in FORMATS if takes(f, flag))}")
    settings = document_settings(args)
    if args.sections is not None:
        settings["sections"] = [s.strip() for s in args.sections.split(",")]
        selected(settings["sections"])  # refused before any work
    settings.update({flag: True for flag in ("body", "handout") if getattr(args, flag)})
    net: Network | LayeredNetwork
    if args.preset:
        net = preset(args.preset)
    else:
        spec = read_toml(args.network)
        if is_layered(spec):  # the layered networks' modules only for a layered network
            from derive.layers import LayeredNetwork

            net = LayeredNetwork.from_dict(spec, source=str(args.network))
        else:
            net = Network.from_dict(spec, source=str(args.network))
    from derive.engine.backprop import backprop  # SymPy's import only once the input is known to be good

    bounds = {} if args.max_units is None else {"max_units": args.max_units}
    try:
        derivation = backprop(net, **bounds)
    except NotSupportedError as e:
        raise NotSupportedError(f"{args.network or args.preset}: {e}") from None
    emit(render(derivation, args.format, **settings), args.output, inputs=[args.network])
    return 0
