"""What a sheet is, apart from how it is written: the variants with their numerical questions, and the formula
questions shared by every variant. Every writer (the .tex sheets and keys, answers.csv, GIFT, Moodle XML,
Canvas QTI) reads a ``Sheet`` and nothing else."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from derive.model.network import Network


@dataclass(frozen=True)
class Numerical:
    """One numerical question of one variant: a quantity named as a claim of SPEC §6."""

    name: str
    """the claim name, e.g. ``a[2][1]``, ``delta[3][1]``, ``J``, ``D[1][1][2]``"""
    prompt: str
    """the question in the sheet's language, plain text with the quantity in the §8 answer language"""
    value: float
    """the exact value to double precision (checked before the sheet is written)"""
    decimals: int
    """the digits after the point the question asks for"""

    @property
    def tolerance(self) -> float:
        """half a unit in the last digit asked: every number that rounds to the asked digits is accepted"""
        return 0.5 * 10.0 ** -self.decimals


@dataclass(frozen=True)
class Variant:
    number: int
    """1-based"""
    parameters: Any
    """the parameters as ``derive numeric`` reads them (``Theta`` lists, or ``W``/``b`` in Nielsen notation)"""
    X: list[list[float]]
    Y: list[list[float]]
    questions: tuple[Numerical, ...]


@dataclass(frozen=True)
class Mistake:
    """A §8 mistake that applies to a formula question: the wrong formula it leads to and what to tell the student."""

    id: str
    """the §8 mistake id"""
    expression: str
    """the wrong formula in the §8 answer language"""
    feedback: str
    """in the sheet's language"""


@dataclass(frozen=True)
class Formula:
    """A formula question (the same in every variant): a §8 target and its derived answer."""

    target: str
    """the §8 target, e.g. ``delta[L]`` or ``dTheta[1]``"""
    prompt: str
    expected: str
    """the derived formula in the §8 answer language"""
    mistakes: tuple[Mistake, ...]


@dataclass(frozen=True)
class Sheet:
    net: Network
    language: str
    seed: int
    variants: tuple[Variant, ...]
    formulas: tuple[Formula, ...]
