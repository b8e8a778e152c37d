"""derive check NET.toml --params P.json --data D.json --claims C.json [--format text|json]"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable

from derive.cli.commands.numeric import add_arguments as _numeric_arguments


def add_arguments(p: argparse.ArgumentParser) -> None:
    _numeric_arguments(p)
    p.add_argument("--claims", required=True, metavar="C.json", help='{"claims": {"a[2][1]": "0.6236336", …}}')
    p.add_argument("--format", "-f", default="text", choices=("text", "json"), help="report format (default text)")


def report_text(rows: list, language: str) -> str:
    from derive.catalogue import catalogue

    words = catalogue(language).table["claims"]
    width = max(len(r.name) for r in rows)
    lines = []
    for r in rows:
        mark, verdict = ("✓", words["holds"]) if r.holds else ("✗", words["wrong"])
        line = f"{mark} {r.name:<{width}}  {r.claimed:>12}  {r.computed:.10g}  {verdict}"
        if not r.holds:
            line += "; " + words["right_value"].format(computed=f"{r.computed:.10g}", rounded=r.rounded)
        lines.append(line)
    wrong = sum(not r.holds for r in rows)
    lines.append(words["summary"].format(wrong=wrong, total=len(rows)) if wrong
                 else words["all_hold"].format(total=len(rows)))
    return "\n".join(lines) + "\n"


def report_json(rows: list) -> str:
    doc = {"claims": [{"name": r.name, "claimed": r.claimed, "computed": r.computed, "holds": r.holds,
                       **({} if r.holds else {"right": r.rounded})} for r in rows],
           "wrong": [r.name for r in rows if not r.holds]}
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def read_claims(path: str) -> dict:
    """The claims object; a name given twice (at any level of the file) is refused, not silently dropped."""
    import json

    from derive.cli.commands.numeric import read_json
    from derive.errors import InputError
    from derive.model.network import read_text

    claims = read_json(path, ("claims",))["claims"]  # validation first, with its messages

    def unique(pairs: list[tuple[str, object]]) -> dict:
        names = [k for k, _ in pairs]
        twice = next((k for n, k in enumerate(names) if k in names[:n]), None)
        if twice is not None:
            raise InputError(f"{path}: {twice[:40]!r} is given twice; give each name once")
        return dict(pairs)

    json.loads(read_text(path), object_pairs_hook=unique)
    return claims


def exact_values(args: argparse.Namespace, net: object) -> Callable[[], object]:
    """The problem's quantities in exact arithmetic (derive.document.worked_example.Exact), computed when first asked
    for; None when the files hold numbers only a double reads (beyond derive.io.decimals' bounds)."""
    def compute() -> object:
        from derive.document.worked_example import exact_example, read_problem
        from derive.engine.backprop import backprop
        from derive.errors import InputError

        try:  # numbers a double reads but exact arithmetic refuses (1e-999): judge against the double instead
            problem = read_problem(args.params, args.data)
        except InputError:
            return None
        return exact_example(net, backprop(net), problem)  # type: ignore[arg-type]
    return compute


def run(args: argparse.Namespace) -> int:
    from derive.cli.commands.numeric import load
    from derive.document.claims import check
    from derive.io.output import emit
    from derive.layers.commands import check as check_layered
    from derive.layers.commands import read

    layered = read(args.network)
    if layered is not None:
        net, rows = layered, check_layered(layered, args)
    else:
        net, fn, thetas, X, Y = load(args)
        rows = check(net, fn.backward(thetas, X, Y), read_claims(args.claims), source=args.claims, params=thetas,
                     exact=exact_values(args, net))
    text = report_json(rows) if args.format == "json" else report_text(rows, net.language)
    emit(text, args.output, inputs=[args.network, args.params, args.data, args.claims])
    from derive.cli import say

    wrong = [r for r in rows if not r.holds]
    for r in wrong:
        say(f"derive: claim {r.name} = {r.claimed} is wrong; computed {r.computed:.10g} "
            f"(to the digits shown: {r.rounded})")
    return 1 if wrong else 0
