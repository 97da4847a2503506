"""The one registry of dealer sign conventions: sign rules, what each needs, and every place that
shows them (README table, JSON units, exposure) reads it."""

from __future__ import annotations

import doctest
from pathlib import Path

import numpy as np
import pytest

import analytics.conventions
import analytics.errors
import analytics.exposure
from analytics import conventions
from analytics.errors import ScenarioError
from analytics.exposure import dealer_contracts

ROOT = Path(__file__).resolve().parents[2]
SIDE = np.array([1.0, -1.0])
OI = np.array([10.0, 20.0])
SIGN_OF = {"+OI": 1.0, "-OI": -1.0}


def test_names_are_unique_and_the_default_is_one_of_them():
    assert len(set(conventions.NAMES)) == len(conventions.REGISTRY)
    assert conventions.DEFAULT_CONVENTION in conventions.NAMES


@pytest.mark.parametrize("convention", [c for c in conventions.REGISTRY if not c.needs], ids=lambda c: c.name)
def test_each_sign_rule_does_what_its_table_row_says(convention):
    got = dealer_contracts(SIDE, OI, convention.name)
    assert got.tolist() == [SIGN_OF[convention.calls] * 10.0, SIGN_OF[convention.puts] * 20.0]


def test_the_book_needs_positions_and_uses_them_signed():
    assert conventions.needing(conventions.POSITIONS) == ("book",)
    assert dealer_contracts(SIDE, OI, "book", [5.0, np.nan]).tolist() == [5.0, 0.0]
    with pytest.raises(ScenarioError, match="needs a positions file"):
        dealer_contracts(SIDE, OI, "book")


def test_an_unknown_convention_names_the_valid_ones():
    with pytest.raises(ScenarioError, match="choose one of dealer-long-calls, dealer-short-all"):
        dealer_contracts(SIDE, OI, "dealer-sideways")


def test_the_readme_conventions_table_is_the_registry():
    readme = (ROOT / "README.md").read_text()
    assert conventions.markdown_table() in readme


def test_every_convention_has_a_label_and_help_text():
    for c in conventions.REGISTRY:
        assert c.label and c.help and c.calls and c.puts
    assert list(conventions.labels()) == list(conventions.NAMES)


def test_the_json_units_state_the_convention_in_words():
    text = conventions.units_text("dealer-short-all")
    assert text == {"name": "dealer-short-all", "help": conventions.get("dealer-short-all").help,
                    "calls": "-OI", "puts": "-OI"}


def test_the_docstring_examples_of_the_convention_modules_hold():
    for module in (analytics.conventions, analytics.exposure, analytics.errors):
        result = doctest.testmod(module)
        assert result.failed == 0 and result.attempted > 0, module.__name__
