"""derive sheet NET.toml --variants N --seed S --out DIR [--language en|zh] [--notation ng|nielsen]"""

from __future__ import annotations

import argparse

from derive.cli.commands import add_document_options

SHEET = "derive sheet"
"""the writer a sheet folder's manifest names: only derive sheet replaces a sheet folder"""


def whole(text: str) -> int:
    """An argparse type: a whole number written in decimal digits (the bounds are checked with the network)."""
    stripped = text.strip()
    digits = stripped[1:] if stripped[:1] in "+-" else stripped
    if not digits.isascii() or not digits.isdigit() or len(digits) > 30:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text[:40]!r}")
    return int(stripped)


def add_arguments(p: argparse.ArgumentParser) -> None:
    from derive.sheet.limits import MAX_SEED, MAX_VARIANTS

    p.add_argument("network", metavar="NET.toml")
    p.add_argument("--variants", required=True, type=whole, metavar="N",
                   help=f"how many variants to draw (1 … {MAX_VARIANTS})")
    p.add_argument("--seed", required=True, type=whole, metavar="S",
                   help=f"the seed the numbers are drawn from (a whole number 0 … {MAX_SEED})")
    p.add_argument("--out", required=True, metavar="DIR",
                   help="the sheet folder (missing, empty, or one derive sheet wrote)")
    add_document_options(p)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from derive.cli import say
    from derive.document.lecture_set import write_folder
    from derive.errors import InputError
    from derive.layers.commands import read
    from derive.model.network import Network
    from derive.sheet.files import sheet_files
    from derive.sheet.variants import Engine, check_request, make_sheet

    if read(args.network) is not None:
        raise InputError(f"{args.network}: derive sheet takes a network of layers = [...] (SPEC §2), "
                         "not a layered network")
    net = Network.from_toml(args.network)
    net = net.replace(language=args.language or net.language, notation=args.notation or net.notation)
    check_request(net, args.variants, args.seed)
    engine = Engine(net)

    def make() -> dict[str, bytes]:
        sheet = make_sheet(net, count=args.variants, seed=args.seed, engine=engine)
        return sheet_files(sheet, engine=engine, title=args.title, author=args.author, date=args.date)

    names = write_folder(Path(args.out), make, by=SHEET)
    say(f"derive: wrote {len(names)} files to {args.out}")
    return 0
