"""The JSON form of a Derivation (SPEC §3): steps with LaTeX sides, and results SymPy reads back."""

from __future__ import annotations

import json as _json
import re
from typing import Any

import sympy as sp

from ..notation import PROFILES, Profile, step_text
from ..steps import Derivation
from ..text import catalogue
from .tex import latex


def as_dict(d: Derivation) -> dict[str, Any]:
    net, words = d.network, catalogue(d.network.language)
    profile = PROFILES[net.notation]
    steps = []
    for section in d.sections:
        for step in section.steps:
            if not profile.shows(step.form):
                continue
            steps.append({
                "id": step.id,
                "section": section.id,
                "lhs": latex(step.lhs, net.notation),
                "rhs": latex(step.rhs, net.notation),
                "rule": step.rule,
                "text": step_text(profile, words, step),
                "sympy": _written(sp.sstr(step.rhs), profile),
            })
    r = d.results
    return {
        "network": net.to_dict(),
        "steps": steps,
        "results": {
            "output_delta": sp.sstr(r.output_delta),
            "hidden_derivative": None if r.hidden_derivative is None else sp.sstr(r.hidden_derivative),
            "gradient": sp.sstr(r.gradient),
        },
    }


_NAME = re.compile(r"(?<![A-Za-z_'])[A-Za-z]+(?:\[[^\[\]]+\])*(?![A-Za-z_(])")
"""a quantity's name in SymPy's string of an expression (a word with its indices, not a function called)"""


_FUNCTION = re.compile(r"\bg('?)\[([a-z_]+)\]")
"""an activation's function symbol (derivation.g_of): g(z) in ng, sigmoid(z), tanh(z) … under nielsen"""


def _written(text: str, profile: Profile) -> str:
    """SymPy's string with every quantity named as the profile writes it (w[2][1][1] rather than Theta[1][1][1])."""
    def one(word: str) -> str:
        new = profile.written(word)
        if new == word and word.startswith("d"):  # ∂J/∂Θ prints as dJ/dTheta[…]
            new = "d" + profile.written(word[1:])
        return new
    text = _FUNCTION.sub(lambda m: (m.group(2) if profile.functions else "g") + m.group(1), text)
    return _NAME.sub(lambda m: one(m.group()), text)


def render(d: Derivation, **options: Any) -> str:
    return _json.dumps(as_dict(d), indent=2, ensure_ascii=False) + "\n"
