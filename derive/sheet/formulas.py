"""The formula questions of a sheet: §8 targets, their derived answers and the mistakes that apply."""

from __future__ import annotations

from ..network import Network
from .model import Formula


def formula_questions(net: Network, language: str) -> tuple[Formula, ...]:
    """The formula questions for ``net`` in ``language`` (en or zh)."""
    return ()  # the §8 targets and mistakes are filled in by the formula-question work (issue 17)
