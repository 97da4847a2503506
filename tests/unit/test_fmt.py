"""The one number formatter: compact signed USD, strikes and levels with separators, never "-0"."""

from __future__ import annotations

import math

import numpy as np
import pytest

from analytics.fmt import (
    format_level,
    format_number,
    format_pct,
    format_strike,
    format_usd,
    format_usd_array,
)


@pytest.mark.parametrize("x", [0.0, -0.0, -1e-12, 1e-12, -0.004, 0.004])
def test_nothing_that_rounds_to_zero_prints_a_sign(x):
    assert format_pct(x, decimals=0, signed=True) == "0%"
    assert format_pct(x, decimals=1, signed=True) == "0.0%"
    assert format_level(x, signed=True) == "0.0"
    assert format_usd(x, signed=True) == "$0"
    assert format_strike(x) == "0"


def test_a_strike_and_a_computed_level_share_thousands_separators():
    assert f"{format_strike(4800.0)} beside {format_level(4734.71)}" == "4,800 beside 4,734.7"
    assert format_strike(14_787.5) == "14,787.5"
    assert format_strike(61_000) == "61,000"


def test_usd_is_compact_with_k_m_bn_tn_and_a_sign_for_changes():
    assert format_usd_array([950, 12_345, -4.5e8, 1.234e9, 2.5e12], signed=True).tolist() == [
        "+$950", "+$12.3k", "-$450m", "+$1.23bn", "+$2.5tn"]
    assert format_usd(-7.9962e10) == "-$80bn"


def test_rounding_moves_an_amount_into_the_next_suffix():
    assert format_usd(999_999) == "$1m"
    assert format_usd(999_499) == "$999k"


def test_missing_values_print_as_not_available():
    assert [format_usd(None), format_level(math.nan), format_strike(None), format_pct(np.nan)] == ["n/a"] * 4


def test_fixed_numbers_keep_the_requested_decimals():
    assert format_number(4697.2402, compact=False) == "4,697.24"
    assert format_number(-1_234_567.891, compact=False, decimals=0) == "-1,234,568"
    assert format_number(2.0, compact=False, decimals=1, signed=True) == "+2.0"
