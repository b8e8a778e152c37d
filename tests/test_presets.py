"""Presets: every one a valid network; `derive derivation --preset NAME` derives it."""

from __future__ import annotations

import json

import pytest
import sympy as sp

from derive.cli import main
from derive.errors import InputError
from derive.model.presets import PRESETS, preset


@pytest.mark.parametrize("name", list(PRESETS))
def test_every_preset_is_a_valid_network(name):
    net = preset(name)
    assert list(net.layers) == PRESETS[name].spec["layers"]
    assert preset(name, language="zh").language == "zh"


@pytest.mark.parametrize(("name", "layers", "loss"), [("ng-4-layer", (3, 5, 5, 4), "cross_entropy"),
                                                      ("xor-2-2-1", (2, 2, 1), "cross_entropy"),
                                                      ("squared-error-exercise", (3, 5, 5, 4), "squared_error")])
def test_the_classic_networks(name, layers, loss):
    net = preset(name)
    assert (net.layers, net.loss, net.output) == (layers, loss, "sigmoid")


def test_unknown_preset_names_the_allowed_ones():
    with pytest.raises(InputError, match="xor-2-2-1"):
        preset("xor")


def test_derivation_of_a_preset_from_the_command_line(capsys):
    assert main(["derivation", "--preset", "xor-2-2-1", "--format", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["network"]["layers"] == [2, 2, 1]
    a, y = sp.symbols("a y")
    assert sp.simplify(sp.sympify(out["results"]["output_delta"]) - (a - y)) == 0


@pytest.mark.parametrize("argv", [["derivation"], ["derivation", "net.toml", "--preset", "xor-2-2-1"]])
def test_network_file_or_preset_exactly_one(argv, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "NET.toml or --preset" in err and "Traceback" not in err
