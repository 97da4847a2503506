"""Forward and discount per expiry from put-call parity (analytics.forwards)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analytics import forwards
from analytics.sources.cboe import load_cboe
from tests.unit.synthetic import chain_from, quotes_frame


@pytest.fixture(scope="module")
def spx(spx_path):
    return load_cboe(spx_path)


def truth(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.groupby("expiry")[["years", "forward", "discount"]].first().reset_index()


@pytest.mark.parametrize("rate, div_yield", [(0.0, 0.03), (0.05, 0.0), (0.05, 0.02)],
                         ids=["dividend", "rate", "both"])
def test_synthetic_forward_and_discount_are_recovered_to_1e_6(rate, div_yield):
    frame = quotes_frame(rate=rate, div_yield=div_yield, days=(7, 30, 91, 365))
    table = forwards.expiry_forwards(chain_from(frame))
    want = truth(frame)
    assert (table["method"] == "parity").all()
    np.testing.assert_allclose(table["forward"] / want["forward"], 1.0, atol=1e-6)
    np.testing.assert_allclose(table["discount"], want["discount"], atol=1e-6)
    np.testing.assert_allclose(table["implied_rate"], rate, atol=1e-4)
    np.testing.assert_allclose(table["forward_basis_pct"], 100 * (want["forward"] / 100.0 - 1), atol=1e-4)
    assert (table["n_strikes"] >= forwards.MIN_PARITY_STRIKES).all()


def test_outliers_and_a_wide_quote_do_not_move_the_fit():
    frame = quotes_frame(rate=0.05, div_yield=0.02, days=(30,))
    near = frame.index[(frame["strike"].isin([99.0, 102.0])) & (frame["side"] == "C")]
    frame.loc[near, ["bid", "ask"]] += 0.8  # two stale call quotes near the money
    wide = frame.index[(frame["strike"] == 97.0) & (frame["side"] == "P")]
    frame.loc[wide, "ask"] += 3.0  # one very wide put quote: its mid is off, its weight small
    table = forwards.expiry_forwards(chain_from(frame))
    want = truth(frame)
    assert table["forward"].iloc[0] / want["forward"].iloc[0] == pytest.approx(1.0, abs=1e-6)
    assert table["discount"].iloc[0] == pytest.approx(want["discount"].iloc[0], abs=1e-6)


def test_too_few_two_sided_strikes_fall_back_to_spot_with_the_given_carry():
    frame = quotes_frame(days=(30,), strikes=[96.0, 100.0, 104.0], rate=0.05)
    table = forwards.expiry_forwards(chain_from(frame), rate=0.04, div_yield=0.01)
    t = table["years"].iloc[0]
    assert table["method"].tolist() == ["fallback"] and table["n_strikes"].tolist() == [0]
    assert table["forward"].iloc[0] == pytest.approx(100.0 * np.exp(0.03 * t))
    assert table["discount"].iloc[0] == pytest.approx(np.exp(-0.04 * t))


def test_a_fit_outside_the_sanity_bounds_falls_back():
    frame = quotes_frame(days=(30,))
    calls, puts = frame["side"] == "C", frame["side"] == "P"
    swapped = frame.copy()  # calls and puts swapped: C - P rises with K, a negative discount
    swapped.loc[calls, ["bid", "ask"]] = frame.loc[puts, ["bid", "ask"]].to_numpy()
    swapped.loc[puts, ["bid", "ask"]] = frame.loc[calls, ["bid", "ask"]].to_numpy()
    table = forwards.expiry_forwards(chain_from(swapped))
    assert table["method"].tolist() == ["fallback"]


def test_spot_basis_separates_a_dividend_tomorrow_from_carry():
    frame = quotes_frame(rate=0.05, days=(3, 7, 14, 30, 60), forward_shift=0.3)
    table = forwards.expiry_forwards(chain_from(frame))
    a, b, excess = forwards.spot_basis(table, 100.0)
    assert (table["method"] == "parity").all()
    assert a == pytest.approx(np.log(99.7 / 100.0), abs=2e-5)
    assert b == pytest.approx(0.05, abs=2e-3)
    assert (np.abs(excess) > forwards.FORWARD_BASIS_TOLERANCE).all()


def test_spx_2024_01_07_forwards_grow_with_maturity_as_rates_minus_dividends(spx):
    table = forwards.expiry_forwards(spx)
    assert (table["method"] == "parity").all()
    carry = forwards.implied_carry(table, spx.spot)
    one_month_to_a_year = carry.loc[carry["years"].between(1 / 12, 1.0)]
    rate = float(one_month_to_a_year["implied_rate"].median())
    dividend = float(one_month_to_a_year["implied_yield"].median())
    print(f"\nSPX 2024-01-07, expiries 1 month-1 year: implied rate {rate:.2%}, implied dividend yield "
          f"{dividend:.2%} (median over {len(one_month_to_a_year)} expiries)")
    assert 0.045 < rate < 0.06  # Fed funds 5.25-5.50% in January 2024
    assert 0.008 < dividend < 0.02  # S&P 500 dividend yield about 1.4%
    # the basis grows with maturity, and by (r - q) T as the expiry's own rate and yield predict
    long = table.loc[table["years"] > 1 / 12]
    assert long["forward_basis_pct"].is_monotonic_increasing
    a, b, _ = forwards.spot_basis(table, spx.spot)
    assert abs(a) < forwards.FORWARD_BASIS_TOLERANCE
    assert b == pytest.approx(rate - dividend, abs=0.01)


def test_the_closed_form_weighted_line_is_numpys_weighted_polyfit():
    rng = np.random.default_rng(3)
    k = np.sort(rng.uniform(4000, 5000, 40))
    y = 0.998 * (4720 - k) + rng.normal(0, 0.3, k.size)
    spread = rng.uniform(0.1, 2.0, k.size)
    slope, intercept = forwards._weighted_line(k, y, spread ** -2.0)
    np.testing.assert_allclose((slope, intercept), np.polyfit(k, y, 1, w=1 / spread), rtol=1e-10)


def test_a_chains_fit_is_shared_until_the_chain_goes():
    import gc

    chain = chain_from(quotes_frame(rate=0.04, days=(30, 91)))
    table = forwards.chain_forwards(chain)
    assert forwards.chain_forwards(chain) is table and forwards.chain_forwards(chain, rate=0.01) is not table
    key = id(chain)
    del chain
    gc.collect()
    assert key not in forwards._FITS


def test_theil_sen_start_of_a_long_band_takes_a_spaced_subset_and_still_ignores_outliers():
    n = 10 * forwards.THEIL_SEN_MAX_POINTS + 7
    x = np.arange(n, dtype=float)
    y = 3.0 - 0.98 * x
    y[::5] += 50.0  # a fifth of the points are outliers
    assert forwards.theil_sen(x, y) == pytest.approx((-0.98, 3.0), abs=1e-9)
    step = -(-n // forwards.THEIL_SEN_MAX_POINTS)
    i, j = np.triu_indices(len(x[::step]), k=1)
    slopes = (y[::step][j] - y[::step][i]) / (x[::step][j] - x[::step][i])
    assert forwards.theil_sen(x, y)[0] == float(np.median(slopes))


def test_theil_sen_start_of_a_short_band_takes_every_pair():
    rng = np.random.default_rng(7)
    x, y = rng.normal(size=forwards.THEIL_SEN_MAX_POINTS), rng.normal(size=forwards.THEIL_SEN_MAX_POINTS)
    i, j = np.triu_indices(x.size, k=1)
    assert forwards.theil_sen(x, y)[0] == float(np.median((y[j] - y[i]) / (x[j] - x[i])))


@pytest.mark.parametrize("copies", [2, 3], ids=["twice", "three times"])
def test_a_contract_quoted_on_several_rows_pairs_at_the_mean_of_its_rows(copies):
    frame = quotes_frame(days=(30,))
    call = frame.index[(frame["strike"] == 100.0) & (frame["side"] == "C")][0]
    extra = pd.concat([frame.loc[[call]]] * (copies - 1))
    extra["bid"] += np.arange(1, copies) * 0.1  # each copy quoted 0.1 higher
    extra["ask"] += np.arange(1, copies) * 0.1
    chain = chain_from(pd.concat([frame, extra], ignore_index=True))
    pairs, once = forwards.two_sided_pairs(chain), forwards.two_sided_pairs(chain_from(frame))
    assert pairs["strike"].tolist() == once["strike"].tolist()  # one pair per strike still
    row = pairs.loc[pairs["strike"] == 100.0].iloc[0]
    assert row["put_mid"] == once.loc[once["strike"] == 100.0, "put_mid"].iloc[0]
    mids = [0.5 * (frame.at[call, "bid"] + frame.at[call, "ask"]) + 0.1 * i for i in range(copies)]
    assert row["call_mid"] == pytest.approx(np.mean(mids), abs=1e-12)
    assert list(pairs.columns) == ["root", "expiry", "strike", "years", "call_mid", "put_mid", "spread"]
    assert pairs["strike"].is_monotonic_increasing
