"""derive lecture [--out outputs]"""

from __future__ import annotations

import argparse
from pathlib import Path


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", default="outputs", metavar="FOLDER", help="where the lecture set goes (default outputs)")


def run(args: argparse.Namespace) -> int:
    from derive.cli import say
    from derive.document.lecture_set import write

    names = write(Path(args.out))
    say(f"derive: wrote {len(names)} files to {args.out}")
    return 0
