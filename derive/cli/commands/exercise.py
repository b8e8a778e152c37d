"""derive exercise squared-error [--format F] [-o FILE] [--layers 3,5,5,4] [--activation sigmoid] [NET.toml]"""

from __future__ import annotations

import argparse

from derive.cli.commands import add_document_options, add_format_option, document_settings

SLIDES = {"layers": [3, 5, 5, 4], "activation": "sigmoid", "output": "sigmoid"}
"""the network of the slides' exercise: 4 layers, sigmoid everywhere"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("name", metavar="EXERCISE", help="the exercise: squared-error")
    p.add_argument("network", metavar="NET.toml", nargs="?", help="pose it for this network instead of the slides'")
    add_format_option(p)
    p.add_argument("-o", "--output", metavar="FILE", help="write here instead of stdout")
    p.add_argument("--layers", metavar="3,5,5,4", help="units per layer, input first")
    p.add_argument("--activation", metavar="NAME", help="the activation g of every layer (hidden and output)")
    add_document_options(p)


def network(args: argparse.Namespace):  # noqa: ANN201 - Network, imported lazily
    """The slides' network, or NET.toml, with --layers/--activation applied."""
    from derive.document.exercise import parse_layers
    from derive.errors import InputError
    from derive.model.network import Network

    net = Network.from_toml(args.network) if args.network else Network.from_dict(SLIDES)
    changes: dict = {"loss": "squared_error"}  # first, so that an output cross-entropy refuses is allowed
    if args.layers is not None:  # given empty is refused, never ignored
        if not args.layers.isascii():
            raise InputError(f"--layers {args.layers}: expected whole numbers written with the digits 0-9 "
                             "separated by commas, e.g. 3,5,5,4")
        changes["layers"] = parse_layers(args.layers)
    if args.activation is not None:
        changes.update(activation=args.activation, output=args.activation)
    return net.replace(**changes)


def run(args: argparse.Namespace) -> int:
    from derive.document.exercise import exercise
    from derive.io.output import emit
    from derive.render import render

    text = render(exercise(args.name, network(args)), args.format, **document_settings(args))
    emit(text, args.output, inputs=[args.network])
    return 0
