"""``derivation.results``: the results of ``backprop`` without checking every step, for the numeric functions.

It runs the same code as the checked derivation, so its results must be identical to ``backprop(net).results``
for every registry combination; and it must really skip the checks (that is its point), while ``backprop``
still runs them.
"""

from __future__ import annotations

import itertools

import pytest

import derive
from derive.engine.backprop import backprop, results
from derive.engine.derivation import Checker
from derive.errors import CheckError
from derive.model.activations import ACTIVATIONS
from derive.model.losses import LOSSES


def _combinations():
    hidden = itertools.cycle(n for n, a in ACTIVATIONS.items() if a.hidden)
    for output, loss in itertools.product(ACTIVATIONS, LOSSES):
        try:
            yield derive.Network.from_dict({"layers": [2, 3, 2], "activation": next(hidden), "output": output,
                                            "loss": loss})
        except derive.InputError:  # cross-entropy on an output outside (0, 1)
            continue
    yield derive.Network.from_dict({"layers": [3, 2, 2, 3], "activation": ["relu", "tanh"], "output": "softmax",
                                    "reduction": "sum", "lambda": 0.3})
    yield derive.Network.from_dict({"layers": [2, 1]})


@pytest.mark.parametrize("net", list(_combinations()), ids=lambda n: f"{'-'.join(n.activations)}-{n.output}-{n.loss}")
def test_results_equal_the_checked_derivations(net):
    assert results(net) == backprop(net).results


def test_results_skip_the_checks_and_backprop_keeps_them(monkeypatch):
    def refuse(self, step, left, right):
        raise CheckError(step, "checked")

    monkeypatch.setattr(Checker, "equal", refuse)
    net = derive.Network.from_dict({"layers": [2, 3, 2], "activation": "tanh", "output": "softmax"})
    results(net)
    derive.lambdify(net)
    with pytest.raises(CheckError):
        backprop(net)
    with pytest.raises(CheckError):  # the unchecked block ends with the results
        results(net)
        backprop(derive.Network.from_dict({"layers": [2, 2]}))
