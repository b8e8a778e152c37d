"""One module per command: ``add_arguments(parser)`` and ``run(args) -> exit code``."""

import argparse


def positive_int(text: str) -> int:
    """An argparse type: a whole number >= 1 (argparse turns the error into one line and exit 2)."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {text!r}")
    return value
