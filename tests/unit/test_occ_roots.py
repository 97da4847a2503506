"""The OCC root reader: the vectorised byte reading agrees with the pattern read one symbol at a time."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from analytics.chain import OCC_SYMBOL_PATTERN, _occ_root_codes_ascii, occ_root_codes


def roots_one_by_one(values: list[object], default: str) -> list[str]:
    """The rule, one symbol at a time: strip, match the whole OCC pattern, the root group, else ``default``."""
    out = []
    for v in values:
        m = re.fullmatch(OCC_SYMBOL_PATTERN, v.strip()) if isinstance(v, str) else None
        out.append(m.group("root") if m else default)
    return out


def symbols_of(path) -> list[object]:
    header = next(i for i, line in enumerate(path.read_text().splitlines()) if line.startswith("Expiration Date"))
    raw = pd.read_csv(path, skiprows=header + 1, header=None, usecols=[1, 12], dtype=object, keep_default_na=False,
                      na_values=[""])
    return raw[1].tolist() + raw[12].tolist()


def check(values: list[object], default: str, *, fast: bool) -> None:
    series = pd.Series(values, dtype=object)
    codes, roots = occ_root_codes(series, default)
    assert [roots[c] for c in codes] == roots_one_by_one(values, default)
    assert roots == list(dict.fromkeys(roots_one_by_one(values, default)))  # order of first appearance
    assert (_occ_root_codes_ascii(series, default) is not None) == fast


def test_real_spx_and_ndx_symbols_read_as_the_pattern_reads_them(spx_path, ndx_path):
    for path, roots in ((spx_path, {"SPX", "SPXW"}), (ndx_path, {"NDX", "NDXP"})):
        values = symbols_of(path)
        check(values, "TICKER", fast=True)
        assert set(occ_root_codes(pd.Series(values, dtype=object), "TICKER")[1]) == roots


EDGES = [
    "SPXW240119C04700000", "SPX240119P04700000", "AMD1240119C00100000", "SPY12240119P00300000",
    "A240119C00001000", "ABCDEFGH240119C00100000",  # one-letter and eight-letter roots
    "spxw240119C04700000", "SPXW240119c04700000", "SPXW240119X04700000", "SPXW24011C04700000",
    "SPXW240119C0470000", "SPXW240119C047000000", "240119C04700000", "1SPX240119C04700000",
    "SP1X240119C04700000", "SPX-240119C04700000", "SPX 240119C04700000", "SPXW 01/19/24 C4700",
    "", "n/a", "C04700000", "SPXW240119C04700000x", None, float("nan"), "TICKER",
    "SPXW24011:C04700000", "SPXW/40119C04700000", "SPXW240119C0470000:", "SPXW240119C/4700000",  # next to 0-9
    "SPXW240119D04700000", "SPXW240119C04700\x7f00", "SPX_240119C04700000",
]


@pytest.mark.parametrize("shift", range(len(EDGES)))
def test_edge_cases_read_as_the_pattern_reads_them_on_the_fast_path(shift):
    check(EDGES[shift:] + EDGES[:shift], "TICKER", fast=True)


@pytest.mark.parametrize(
    "odd",
    [
        " SPXW240119C04700000",  # whitespace at either end: stripped first
        "SPXW240119C04700000\t",
        "\u00a0SPXW240119C04700000",
        "SPXW2\u06640119C04700000",  # \d reads other scripts' digits too
        "SP\u00c9240119C04700000",
        "ABCDEFGHI240119C00100000",  # a root above 8 characters, or what would be one
        "SPXW240119C04700000C04700000",
        "SPXW240119C04700000\x7f",
    ],
)
def test_values_the_bytes_cannot_settle_are_read_by_the_pattern(odd):
    check(["SPXW240119C04700000", odd, "SPX240119P04700000", None], "SPX", fast=False)


def test_a_default_that_is_also_a_root_is_one_root_and_an_empty_column_has_none():
    codes, roots = occ_root_codes(pd.Series(["junk", "SPX240119C04700000", "SPXW240119C04700000"]), "SPX")
    assert (codes.tolist(), roots) == ([0, 0, 1], ["SPX", "SPXW"])
    codes, roots = occ_root_codes(pd.Series([], dtype=object), "SPX")
    assert (codes.tolist(), roots) == ([], [])
    codes, roots = occ_root_codes(pd.Series([np.nan, np.nan], dtype=object), "SPX")
    assert (codes.tolist(), roots) == ([0, 0], ["SPX"])
