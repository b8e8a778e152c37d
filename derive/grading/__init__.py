"""Grading answers (SPEC §8): a formula checked against the derivation, with the mistake named.

``derive.grade(net, target, answer)`` returns a ``Verdict``. One module per job: ``language`` (the
answer parser), ``names`` (the names a network defines), ``draws`` (consistent random values of them),
``targets`` (what a target means and its derived result), ``mistakes`` (the registry), ``exact``
(exact consistent draws: what decides correct), ``grader`` (the comparison and the verdict), ``classfile`` and
``report`` (a class's answers in, its report out), ``example`` (the lecture set's example class).
No name exported here is also the name of a module, so neither can shadow the other.
"""

from __future__ import annotations

from .grader import Grader, Verdict, grade, grader_of

__all__ = ["grade", "grader_of", "Grader", "Verdict"]
