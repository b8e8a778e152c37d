"""The catalogues: the same keys in every language, an entry for every rule a derivation uses, and no
placeholder a text cannot fill."""

from __future__ import annotations

import itertools
import string
from functools import cache

import pytest

import derive
from derive.catalogue import catalogue
from derive.errors import InputError
from derive.model.activations import ACTIVATIONS
from derive.model.losses import LOSSES
from derive.model.network import LANGUAGES, REDUCTIONS
from derive.model.notation import PROFILES, section_title, step_text, text_args

HIDDEN = [name for name, g in ACTIVATIONS.items() if g.elementwise]


def _keys(language: str) -> set[str]:
    return {f"{group}.{key}" for group, table in catalogue(language).table.items() for key in table}


def _placeholders(text: str) -> set[str]:
    return {field for _, field, _, _ in string.Formatter().parse(text) if field}


@pytest.mark.parametrize(("one", "other"), list(itertools.permutations(LANGUAGES, 2)))
def test_no_key_missing(one, other):
    missing = sorted(_keys(one) - _keys(other))
    assert not missing, f"in {one}.toml but not in {other}.toml: {missing}"


@pytest.mark.parametrize("key", sorted(_keys("en")))
def test_same_placeholders_in_every_language(key):
    group, name = key.split(".", 1)
    texts = {lang: catalogue(lang).table[group][name] for lang in LANGUAGES}
    assert all(isinstance(t, str) and t.strip() for t in texts.values()), texts
    assert len({frozenset(_placeholders(t)) for t in texts.values()}) == 1, texts


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_registry_name_has_words(language):
    names = catalogue(language).table["names"]
    for name in [*ACTIVATIONS, *LOSSES, *REDUCTIONS]:
        assert name in names, f"{language}.toml: names.{name} is missing"


def _combinations():
    """Every output × loss the network accepts, with every hidden activation appearing beside them."""
    hidden = itertools.cycle(HIDDEN)
    for output, loss in itertools.product(ACTIVATIONS, LOSSES):
        try:
            yield derive.Network.from_dict({"layers": [2, 2, 2, 2], "output": output, "loss": loss,
                                            "activation": [next(hidden), next(hidden)]})
        except InputError:
            continue


@cache
def _derivations() -> tuple[derive.Derivation, ...]:
    return tuple(derive.backprop(net) for net in _combinations())


def test_the_combinations_cover_every_registry_entry():
    nets = [d.network for d in _derivations()]
    assert {n.output for n in nets} == set(ACTIVATIONS)
    assert {n.loss for n in nets} == set(LOSSES)
    assert {a for n in nets for a in n.activations} == set(HIDDEN)


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_rule_note_and_section_of_every_derivation_has_words(language):
    words = catalogue(language)
    for d in _derivations():
        for section in d.sections:
            for profile in PROFILES:
                title = section_title(profile, words, section)
                assert title and "{" not in title
                for step in section.steps:
                    text = step_text(profile, words, step)
                    assert text and "{" not in text
            assert words.heading(section)
            for step in section.steps:
                assert words.explain(step)


def _texts(language: str, group: str, key: str) -> list[tuple[str, str]]:
    """The text of group.key and of every profile's own wording of it."""
    table = catalogue(language).table
    groups = [group] + [p.wording[group] for p in PROFILES.values() if group in p.wording]
    return [(f"{g}.{key}", table[g][key]) for g in groups if key in table.get(g, {})]


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_placeholder_is_in_the_args(language):
    for d in _derivations():
        for section in d.sections:
            args = set(text_args(section.args))
            for name, text in _texts(language, "sections", section.id.rstrip("0123456789")):
                assert _placeholders(text) <= args, f"{name} needs {_placeholders(text) - args} ({section.id})"
            for step in section.steps:
                args = set(text_args(step.args))
                for name, text in _texts(language, "rules", step.rule) + _texts(language, "notes", step.note or ""):
                    assert _placeholders(text) <= args, f"{name} needs {_placeholders(text) - args} ({step.id})"


def test_a_missing_key_is_named():
    with pytest.raises(KeyError, match="rules.no_such_rule"):
        catalogue("zh").rule("no_such_rule")


def test_chinese_sentences_use_full_width_punctuation():
    import re

    table = catalogue("zh").table

    def sentences(x, path=""):
        if isinstance(x, dict):
            for k, v in x.items():
                yield from sentences(v, f"{path}.{k}")
        elif isinstance(x, str):
            yield path, x

    ascii_by_chinese = re.compile(r"[\u4e00-\u9fff][,;:()]|[,;:()][\u4e00-\u9fff]")
    for path, text in sentences(table):
        assert not ascii_by_chinese.search(re.sub(r"\{[^}]*\}", "", text)), f"zh{path}: {text}"


def test_every_layer_kind_is_named_in_every_language():
    """A heading names a layer by its kind (Layer 1 (self-attention) …): each kind of the registry has its
    words in every catalogue, never the registry id set in a Chinese sentence."""
    import derive.layers  # noqa: F401  (registers the kinds)
    from derive.layers.registry import KINDS

    for language in LANGUAGES:
        names = catalogue(language).table["names"]
        assert not set(KINDS) - set(names), (language, sorted(set(KINDS) - set(names)))
    zh = catalogue("zh").table["names"]
    assert all(not zh[k].isascii() for k in KINDS if k not in ("lstm",)), zh
