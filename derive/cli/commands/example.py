"""derive example NET.toml --params P.json --data D.json [--rate 0.5] [--digits 7] [--claims C.json] [--format F]"""

from __future__ import annotations

import argparse

from derive.cli.commands import add_document_options, add_format_option, document_settings

EXACTNESS = ("Every JSON number is read as the exact decimal it spells. Weighted sums, and every quantity that stays "
             "rational (linear/relu layers, squared error), are shown exactly after checking them against the "
             "engine; the rest are the engine's values to --digits significant digits.")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.epilog = EXACTNESS
    p.add_argument("network", metavar="NET.toml")
    p.add_argument("--params", required=True, metavar="P.json",
                   help='{"Theta": [Θ^(1), …]}, column 0 the bias; for a layered network '
                        '{"layers": [{"K": …, "b": …}, {}, …]}, one object per [[layer]]')
    p.add_argument("--data", required=True, metavar="D.json", help='{"X": [[…], …], "Y": [[…], …]}')
    p.add_argument("--rate", type=float, default=0.5, help="learning rate of the descent step (default 0.5)")
    p.add_argument("--digits", type=int, default=7, help="significant digits of inexact numbers (default 7)")
    p.add_argument("--claims", metavar="C.json", help="add a section checking these claims (see derive check)")
    add_format_option(p)
    p.add_argument("-o", "--output", metavar="FILE", help="write here instead of stdout")
    add_document_options(p)


def run(args: argparse.Namespace) -> int:
    from derive.cli.commands.numeric import load
    from derive.document.worked_example import read_problem, with_claims, worked_example
    from derive.io.output import emit
    from derive.layers.commands import example, read
    from derive.render import render

    layered = read(args.network)
    if layered is not None:
        return example(layered, args)
    net, fn, thetas, X, Y = load(args)  # validates the three files against the network, with their messages
    d = worked_example(net, read_problem(args.params, args.data), rate=args.rate, digits=args.digits)
    if args.claims:
        from derive.cli.commands.check import exact_values, read_claims
        from derive.document.claims import check, section

        d = with_claims(d, section(check(net, fn.backward(thetas, X, Y), read_claims(args.claims),
                                         source=args.claims, params=thetas, exact=exact_values(args, net))))
    emit(render(d, args.format, **document_settings(args)), args.output,
         inputs=[args.network, args.params, args.data, args.claims])
    return 0
