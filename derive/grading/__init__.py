"""Grading answers (SPEC §8): a formula checked against the derivation, with the mistake named.

``derive.grade(net, target, answer)`` returns a ``Verdict``. The modules: ``language`` (the answer
parser), ``names`` (the names a network defines), ``draws`` (consistent random values of them),
``targets`` (what a target means and its derived result), ``mistakes`` (the registry), ``symbolic``
(SymPy's equality within guards), ``grader`` (the comparison and the verdict).
"""

from __future__ import annotations

from .grader import Grader, Verdict, grade, grader

__all__ = ["grade", "grader", "Grader", "Verdict"]
