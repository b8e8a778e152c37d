"""Why an answer cannot be read: a catalogue key and its values, worded in the network's language."""

from __future__ import annotations

from typing import Any

from ..errors import InputError


class Unreadable(InputError):
    """An answer (or target) that is not a formula of the answer language; ``str()`` is the English line."""

    def __init__(self, key: str, **args: Any) -> None:
        self.key, self.args_ = key, args
        super().__init__(self.message("en"))

    def message(self, language: str) -> str:
        """One line in ``language``: what is wrong and what is allowed."""
        from ..text import catalogue

        return catalogue(language).word("grading", self.key, **self.args_)
