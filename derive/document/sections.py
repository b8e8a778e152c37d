"""The sections ``--sections`` names (SPEC §3), and the kinds of derivation section each stands for (no SymPy
here: the command line checks the list before any work)."""

from __future__ import annotations

from collections.abc import Sequence

from ..errors import InputError

SECTIONS: dict[str, tuple[str, ...]] = {
    "forward": ("forward",),
    "cost": ("cost",),
    "output": ("output_delta",),
    "hidden": ("hidden_delta",),
    "gradients": ("gradient",),
    "regularization": ("regularized",),
    "algorithm": ("update",),
    "summary": ("summary",),
}
"""the names --sections takes, and the kinds of section (id without its layer number) each stands for"""


def selected(sections: Sequence[str] | None) -> frozenset[str] | None:
    """The section kinds --sections names, refused by name when one is unknown."""
    if sections is None:
        return None
    unknown = [s for s in sections if s not in SECTIONS]
    if unknown or not sections:
        raise InputError(f"--sections {','.join(sections)}: unknown section {unknown[0] if unknown else ''!r}; "
                         f"allowed (comma-separated): {','.join(SECTIONS)}")
    return frozenset(k for s in sections for k in SECTIONS[s])
