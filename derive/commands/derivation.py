"""derive derivation NET.toml [--format F] [-o FILE]"""

from __future__ import annotations

import argparse

from ..printers import FORMATS


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("network", metavar="NET.toml", help="the network description (SPEC §2)")
    p.add_argument("--format", "-f", default="latex", choices=list(FORMATS), help="output format (default latex)")
    p.add_argument("-o", "--output", metavar="FILE", help="write here instead of stdout")
    p.add_argument("--body", action="store_true", help="LaTeX: only the body, to paste into one's own notes")


def run(args: argparse.Namespace) -> int:
    from ..derivation import backprop
    from ..network import Network
    from ..output import emit
    from ..printers import render

    net = Network.from_toml(args.network)
    options = {"body": True} if args.body else {}
    text = render(backprop(net), args.format, **options)
    emit(text, args.output, inputs=[args.network])
    return 0
