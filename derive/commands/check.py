"""derive check NET.toml --params P.json --data D.json --claims C.json [--format text|json]"""

from __future__ import annotations

import argparse
import json

from .numeric import add_arguments as _numeric_arguments


def add_arguments(p: argparse.ArgumentParser) -> None:
    _numeric_arguments(p)
    p.add_argument("--claims", required=True, metavar="C.json", help='{"claims": {"a[2][1]": "0.6236336", …}}')
    p.add_argument("--format", "-f", default="text", choices=("text", "json"), help="report format (default text)")


def report_text(rows: list, language: str) -> str:
    from ..text import catalogue

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
    from .numeric import read_json

    return read_json(path, ("claims",))["claims"]


def run(args: argparse.Namespace) -> int:
    from ..claims import check
    from ..output import emit
    from .numeric import load

    net, fn, thetas, X, Y = load(args)
    rows = check(net, fn.backward(thetas, X, Y), read_claims(args.claims), source=args.claims, params=thetas)
    text = report_json(rows) if args.format == "json" else report_text(rows, net.language)
    emit(text, args.output, inputs=[args.network, args.params, args.data, args.claims])
    from ..cli import say

    wrong = [r for r in rows if not r.holds]
    for r in wrong:
        say(f"derive: claim {r.name} = {r.claimed} is wrong; computed {r.computed:.10g} "
            f"(to the digits shown: {r.rounded})")
    return 1 if wrong else 0
