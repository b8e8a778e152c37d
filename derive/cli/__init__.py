"""The ``derive`` command: parses the command line and connects the pure functions behind it.

Exit codes: 0 success, 1 a check found a wrong claim (or a wrong answer), 2 bad input (one line on
stderr naming what is wrong and what is allowed; nothing written), 3 an internal error (rerun with
--debug for the traceback).
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

from derive.errors import CheckError, InputError
from derive.io.output import check_target, collected, refuse_inputs, silence_stdout, write_stdout

COMMANDS: dict[str, tuple[str, str]] = {
    "derivation": ("derive.cli.commands.derivation", "the full backpropagation derivation of a network"),
    "numeric": ("derive.cli.commands.numeric", "cost, activations, deltas and gradients for given parameters and data"),
    "example": ("derive.cli.commands.example", "a worked numeric example: every number substituted, one descent step"),
    "exercise": ("derive.cli.commands.exercise", "the worked answer to an exercise (squared-error)"),
    "graph": ("derive.cli.commands.graph",
              "a computation graph: forward values, reverse-mode derivatives, nudge check"),
    "check": ("derive.cli.commands.check", "check the numbers claimed in a worked example"),
    "lecture": ("derive.cli.commands.lecture", "regenerate the lecture set in outputs/"),
    "grade": ("derive.cli.commands.grade", "grade an answer (or a class file) against the derivation"),
    "sheet": ("derive.cli.commands.sheet", "exercise variants from a seed, with answer keys and quizzes"),
}


MAX_WORD = 200
"""characters of one word (an argument, a path) that an error line quotes; the rest is cut with an ellipsis"""
MAX_LINE = 1000
"""characters of one line on stderr"""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # one line, exit 2, as for every other bad input
        self.exit(2, f"derive: error: {message} (see derive --help)")

    def exit(self, status: int = 0, message: str | None = None) -> NoReturn:
        if message:
            say(message)
        sys.exit(status)


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="derive", description="Backpropagation derivations, derived by SymPy.")
    parser.add_argument("--debug", action="store_true", help="show the traceback of an internal error")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser, metavar="COMMAND")
    for name, (module, help_text) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
        try:
            importlib.import_module(module).add_arguments(p)
        except Exception as e:  # a command that cannot load must not take the others down with it
            if isinstance(e, ModuleNotFoundError) and e.name == module:
                p.set_defaults(missing=name)
            else:
                p.set_defaults(broken=e)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if getattr(args, "missing", None):
        say(f"derive: error: the {args.missing!r} command is not available in this version")
        return 2
    try:
        with warnings.catch_warnings(), collected() as pending:
            if not args.debug:  # stderr carries one line per run; --debug shows everything
                warnings.simplefilter("ignore")
            if getattr(args, "broken", None):
                raise args.broken
            _refuse_output_over_inputs(args)
            module = importlib.import_module(COMMANDS[args.command][0])
            code = int(module.run(args) or 0)
            if code != 2:  # a refused run writes nothing, on stdout or in a file
                pending.commit()
            if sys.stdout is not None:  # what a command printed itself: full or closed is exit 2
                write_stdout("")
            return code
    except InputError as e:
        say(f"derive: error: {e}")
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # the reader went away (e.g. `| head`): stop quietly
        silence_stdout()
        return 0
    except Exception as e:  # the last line of defence (CheckError included): never a bare traceback
        if args.debug:
            raise
        what = str(e) if isinstance(e, CheckError) else f"{type(e).__name__}: {e}"
        say(f"derive: internal error: {what} (rerun with --debug for the traceback)")
        return 3


def _refuse_output_over_inputs(args: argparse.Namespace) -> None:
    """-o naming one of the files the command reads is refused before any work (emit checks again)."""
    output = getattr(args, "output", None)
    if isinstance(output, str) and output != "-":
        check_target(output)
        inputs = [v for k, v in vars(args).items() if k != "output" and isinstance(v, str) and os.path.isfile(v)]
        refuse_inputs(Path(output), inputs)


def say(line: str) -> None:
    """One line on stderr, whatever the message holds: every line derive writes there passes here. Newlines
    and tabs become spaces, other control characters (terminal escapes) are shown escaped, a word longer than
    MAX_WORD characters and a line longer than MAX_LINE are cut with an ellipsis."""
    text = "".join(c if c.isprintable() else " " if c in "\n\r\t\v\f\x1c\x1d\x1e\x85\u2028\u2029"
                   else repr(c)[1:-1] for c in line.strip())
    words = [w if len(w) <= MAX_WORD else w[:MAX_WORD] + "…" for w in text.split(" ")]
    text = " ".join(words)
    if len(text) > MAX_LINE:
        text = text[:MAX_LINE] + "…"
    if sys.stderr is not None:
        try:
            print(text, file=sys.stderr, flush=True)
        except (OSError, ValueError):
            pass

