"""The words of a derivation, from one catalogue per language (<language>.toml in this folder)."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from derive.engine.derivation import Section, Step


CATALOGUES = Path(__file__).parent
_CJK = "[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]"
_BETWEEN_CJK = re.compile(f"(?<={_CJK}) +(?={_CJK})")
"""spaces between two Chinese characters (or full-width punctuation)"""
LANGUAGES: tuple[str, ...] = tuple(sorted(p.stem for p in CATALOGUES.glob("*.toml")))
"""the languages a document can be written in: one catalogue each"""


@dataclass(frozen=True)
class Catalogue:
    language: str
    table: dict[str, dict[str, str]]

    def word(self, group: str, key: str, **args: Any) -> str:
        try:
            text = self.table[group][key]
        except KeyError:
            raise KeyError(f"catalogue {self.language!r} has no {group}.{key}") from None
        names = self.table.get("names", {})  # registry names (cross_entropy, mean …) in this language's words
        text = text.format(**{k: names.get(v, v) if isinstance(v, str) else v for k, v in args.items()})
        return _BETWEEN_CJK.sub("", text)  # a name put in as a word of its own (交叉熵) takes no spaces in Chinese

    def name(self, key: str) -> str:
        """A registry name (a loss, an activation, a layer kind) in this language's words: cross-entropy, 卷积."""
        return str(self.table.get("names", {}).get(key, key))

    def rule(self, rule: str) -> str:
        return self.word("rules", rule)

    def explain(self, step: Step) -> str:
        """The rule's name, then the step's note if it has one."""
        text = self.rule(step.rule)
        if step.note:
            text += ": " + self.word("notes", step.note, **dict(step.args))
        return text

    def heading(self, section: Section) -> str:
        key = re.sub(r"\d+$", "", section.id)
        return self.word("sections", key, **dict(section.args))


@cache
def catalogue(language: str) -> Catalogue:
    """The catalogue of ``language`` (en, zh)."""
    text = (CATALOGUES / f"{language}.toml").read_text(encoding="utf-8")
    return Catalogue(language, tomllib.loads(text))
