"""derive graph PROGRAM.txt --at NAME=VALUE … [--format F] [-o FILE]"""

from __future__ import annotations

import argparse

from derive.cli.commands import add_document_options, document_settings


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("program", metavar="PROGRAM.txt", help="scalar assignments, one per line (SPEC §5)")
    p.add_argument("--at", nargs="*", default=[], metavar="NAME=VALUE", help="the value of every input")
    p.add_argument("--data", default="", metavar="NAMES",
                   help="inputs that are data, comma-separated (e.g. x,y): no derivative and no nudge check for them "
                        "or for nodes computed from them alone; every other input is a parameter")
    from derive.render import FORMATS

    p.add_argument("--format", "-f", default="json", choices=list(FORMATS), help="output format (default json)")
    p.add_argument("-o", "--output", metavar="FILE", help="write here instead of stdout")
    add_document_options(p)


def parse_at(items: list[str]) -> dict[str, str]:
    """NAME=VALUE pairs, each name once (values stay text: graph.parse_value reads them exactly)."""
    from derive.errors import InputError

    at: dict[str, str] = {}
    for item in items:
        name, sep, value = item.partition("=")
        shown = item if len(item) <= 40 else item[:37] + "..."
        if not sep or not name.strip() or not value.strip():
            raise InputError(f"--at {shown!r}: expected NAME=VALUE, e.g. --at w=2 b=8")
        if name.strip() in at:
            raise InputError(f"--at: {name.strip()[:40]!r} is given twice")
        at[name.strip()] = value.strip()
    return at


def run(args: argparse.Namespace) -> int:
    from derive.engine.computation_graph import graph
    from derive.io.output import emit
    from derive.model.network import read_text
    from derive.render import render

    text = read_text(args.program, limit=1_000_000)
    data = [n.strip() for n in args.data.split(",") if n.strip()]
    g = graph(text, parse_at(args.at), source=args.program, data=data)
    emit(render(g, args.format, **document_settings(args)), args.output, inputs=[args.program])
    return 0
