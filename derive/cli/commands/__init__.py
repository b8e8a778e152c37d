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


def add_document_options(p: argparse.ArgumentParser) -> None:
    """--language, --notation, --title, --author, --date: the words and symbols a document is printed in, from
    the catalogues and the notation profiles (SPEC §3); they override the network file's defaults."""
    from derive.model.network import LANGUAGES, NOTATIONS

    p.add_argument("--language", choices=LANGUAGES, help="the words of the document (default: the file's, or en)")
    p.add_argument("--notation", choices=NOTATIONS, help="the symbols of the document (default: the file's, or ng)")
    p.add_argument("--title", help="the document's title (LaTeX, Beamer, HTML)")
    p.add_argument("--author", default="", help="the author shown under the title")
    p.add_argument("--date", default="", help="the date shown under the title")


def add_format_option(p: argparse.ArgumentParser) -> None:
    """--format, offered from the printer table."""
    from derive.render import FORMATS

    p.add_argument("--format", "-f", default="latex", choices=list(FORMATS), help="output format (default latex)")


def document_settings(args: argparse.Namespace) -> dict:
    """The printer settings the document options give (only those given)."""
    settings = {k: getattr(args, k, None) for k in ("language", "notation", "title", "author", "date")}
    return {k: v for k, v in settings.items() if v not in (None, "")}
