"""Why an answer cannot be read: a catalogue key and its values, worded in the network's language."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..errors import InputError


@dataclass(frozen=True, init=False)
class Words:
    """A catalogue text (grading.<key>) inside another message, worded in the same language."""

    key: str
    args: dict[str, Any] = field(default_factory=dict)

    def __init__(self, key: str, **args: Any) -> None:
        object.__setattr__(self, "key", key)
        object.__setattr__(self, "args", args)

    def message(self, language: str) -> str:
        from derive.catalogue import catalogue

        return catalogue(language).word("grading", self.key, **self.args)


def shown(text: str) -> str:
    """User text as one printable line: every control character (a newline, a terminal escape) written as
    its escape sequence, so that nothing the user typed can move a cursor or start a new line."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


class Unreadable(InputError):
    """An answer (or target) that is not a formula of the answer language; ``str()`` is the English line."""

    def __init__(self, key: str, **args: Any) -> None:
        self.key, self.args_ = key, args
        super().__init__(self.message("en"))

    def message(self, language: str) -> str:
        """One line in ``language``: what is wrong and what is allowed."""
        from derive.catalogue import catalogue

        from .language import function_names

        args = {k: v.message(language) if isinstance(v, Words) else v for k, v in self.args_.items()}
        return catalogue(language).word("grading", self.key, functions=" ".join(function_names()), **args)
