"""make_chain's text columns (checked once per distinct value, written once in chain order) and its dates:
the result is what converting, filtering and sorting every row would give, whatever the input's text dtype."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from analytics.chain import (
    ADJUSTED_ROOT_PATTERN,
    ROW_COLUMNS,
    ROW_ORDER,
    _normalized,
    make_chain,
    settlement_instants,
)
from analytics.errors import ChainDataError

AS_OF = pd.Timestamp("2024-01-07 10:52", tz="America/New_York")


def rows_frame(n: int = 400, seed: int = 0) -> pd.DataFrame:
    """Rows in no order: two roots (one adjusted), sides in mixed case and spacing, some settled rows."""
    rng = np.random.default_rng(seed)
    expiry = pd.to_datetime("2024-01-05") + pd.to_timedelta(rng.integers(0, 40, n) * 7, unit="D")
    root = rng.choice(["SPX", "SPXW", "SPX7"], n)
    frame = pd.DataFrame({
        "underlying": "SPX",
        "root": root,
        "expiry": expiry,
        "strike": rng.integers(40, 60, n) * 100.0,
        "side": rng.choice(["C", "P", " c", "p "], n),
        "open_interest": rng.integers(0, 1000, n).astype(float),
        "bid": rng.random(n), "ask": rng.random(n) + 1, "multiplier": 100.0,
    })
    frame = frame.drop_duplicates(["expiry", "strike", "side", "root"]).reset_index(drop=True)
    frame["settlement"] = settlement_instants(frame["expiry"], frame["root"])
    return frame


def by_every_row(rows: pd.DataFrame) -> pd.DataFrame:
    """The chain's rows worked out row by row: converted, the settled ones dropped, sorted by ROW_ORDER."""
    out = rows.copy()
    for col in ROW_COLUMNS:
        if col not in out:
            out[col] = np.nan
    out["side"] = out["side"].astype(str).str.upper().str.strip().str[:1]
    out["underlying"], out["root"] = out["underlying"].astype(str), out["root"].astype(str)
    out["adjusted"] = [isinstance(r, str) and re.match(ADJUSTED_ROOT_PATTERN, r) is not None for r in out["root"]]
    for col in ("strike", "open_interest", "iv", "bid", "ask", "mark", "forward", "multiplier", "position"):
        out[col] = out[col].astype(float)
    out = out.loc[out["settlement"] > AS_OF, list(ROW_COLUMNS)]
    return out.sort_values(list(ROW_ORDER), kind="stable").reset_index(drop=True)


@pytest.mark.parametrize("text_dtype", ["str", "object", "category"])
def test_rows_are_converted_filtered_and_sorted_as_row_by_row_whatever_the_text_dtype(text_dtype):
    rows = rows_frame()
    given = rows.astype({c: text_dtype for c in ("underlying", "root", "side")})
    chain = make_chain(given, underlying="SPX", as_of=AS_OF, spot=4700.0)
    pd.testing.assert_frame_equal(chain.rows, by_every_row(rows), check_exact=True)
    assert chain.rows["root"].dtype == "str" and chain.rows["side"].dtype == "str"
    assert any("settled before the snapshot" in w for w in chain.warnings)


@pytest.mark.parametrize("seed", range(3))
def test_rows_sharing_a_whole_key_keep_their_order_as_a_stable_sort_keeps_it(seed):
    """A table may list a contract twice (make_chain keeps both): the one-key stable sort orders ties
    as ``sort_values(kind="stable")`` does, on runs already in order (a quote table's calls, then puts)
    as on shuffled rows."""
    rng = np.random.default_rng(seed)
    rows = rows_frame(300, seed=seed)
    runs = rows.sort_values(["side", "expiry", "strike"], kind="stable")
    twice = pd.concat([runs, runs.sample(frac=0.5, random_state=seed)]).reset_index(drop=True)
    twice["open_interest"] = rng.permutation(len(twice)).astype(float)  # tells the copies apart
    for given in (twice, twice.sample(frac=1.0, random_state=seed).reset_index(drop=True)):
        chain = make_chain(given, underlying="SPX", as_of=AS_OF, spot=4700.0)
        pd.testing.assert_frame_equal(chain.rows, by_every_row(given), check_exact=True)


def test_a_missing_root_is_sorted_as_sort_values_sorts_it():
    rows = rows_frame(seed=1)
    rows["root"] = rows["root"].astype(object)
    rows.loc[[3, 50, 51], "root"] = np.nan
    chain = make_chain(rows, underlying="SPX", as_of=AS_OF, spot=4700.0)
    pd.testing.assert_frame_equal(chain.rows, by_every_row(rows), check_exact=True)


def test_the_input_frame_is_left_as_it_was():
    rows = rows_frame(seed=2).astype({"side": "category"})
    before = rows.copy()
    make_chain(rows, underlying="SPX", as_of=AS_OF, spot=4700.0)
    pd.testing.assert_frame_equal(rows, before, check_exact=True)


@pytest.mark.parametrize("text_dtype", ["str", "category"])
def test_a_bad_name_or_side_names_the_first_row_that_has_it(text_dtype):
    rows = rows_frame(seed=3)
    rows["root"] = rows["root"].astype(object)
    rows.loc[[7, 9], "root"] = "<b>X</b>"
    given = rows.astype({"root": text_dtype})
    with pytest.raises(ChainDataError, match=r"line 17, field 'root': root '<b>X</b>' is not a name"):
        make_chain(given, underlying="SPX", as_of=AS_OF, spot=4700.0, line_offset=10)
    rows = rows_frame(seed=3)
    rows.loc[[5, 8], "side"] = "Put?"
    rows.loc[[6], "side"] = "x"
    with pytest.raises(ChainDataError, match=r"line 16, field 'side': side must be C or P, got 'x'"):
        make_chain(rows.astype({"side": text_dtype}), underlying="SPX", as_of=AS_OF, spot=4700.0, line_offset=10)


@pytest.mark.parametrize("unit", ["s", "ms", "us", "ns"])
def test_normalized_is_normalize(unit):
    midnights = pd.Series(pd.to_datetime(["2024-01-19", "1969-12-31", None, "2024-03-15"])).astype(f"datetime64[{unit}]")
    assert _normalized(midnights) is midnights  # nothing to do: no pass
    timed = pd.Series(pd.to_datetime(["2024-01-19 16:00:00", "1969-12-31 23:59:59", None])).astype(f"datetime64[{unit}]")
    pd.testing.assert_series_equal(_normalized(timed), timed.dt.normalize())
    # zone aware: 19:00 in New York is a UTC midnight, and not a local one
    evening = pd.Series(pd.to_datetime(["2024-01-18 19:00"])).dt.tz_localize("America/New_York")
    pd.testing.assert_series_equal(_normalized(evening), evening.dt.normalize())
    assert _normalized(evening).iloc[0].hour == 0
