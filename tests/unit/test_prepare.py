"""From a chain to the engine's inputs under each forward and IV choice (analytics.prepare)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from analytics import pricing
from analytics.errors import ChainDataError
from analytics.prepare import placeholder_ivs, prepare_chain
from analytics.report import analyze
from analytics.sources.cboe import load_cboe
from tests.unit.synthetic import chain_from, quotes_frame


@pytest.fixture(scope="module")
def spx(spx_path):
    return load_cboe(spx_path)


def codes(prep) -> list[str]:
    return [n.code for n in prep.notes]


def otm_quoted(frame: pd.DataFrame) -> np.ndarray:
    """Rows of strikes whose out-of-the-money side (relative to the true forward) has a bid."""
    otm = np.where(frame["side"] == "C", frame["strike"] >= frame["forward"], frame["strike"] < frame["forward"])
    quoted = pd.Series(otm & (frame["bid"] > 0)).groupby([frame["expiry"], frame["strike"]]).transform("any")
    return quoted.to_numpy()


def model_forward(prep) -> np.ndarray:
    return prep.level * np.exp((prep.rate - prep.carry) * prep.years)


def test_the_default_choices_are_parity_forwards_and_otm_ivs(spx):
    default = prepare_chain(spx)
    explicit = prepare_chain(spx, forward="parity", iv_policy="otm")
    np.testing.assert_array_equal(default.iv, explicit.iv)
    np.testing.assert_array_equal(default.carry, explicit.carry)
    assert default.forwards is not None and (default.forward, default.iv_policy) == ("parity", "otm")


def test_spot_and_file_price_on_the_header_spot_with_no_rate_or_yield(spx):
    classic = prepare_chain(spx, forward="spot", iv_policy="file")
    assert (classic.level == spx.spot).all() and (classic.rate == 0).all() and (classic.carry == 0).all()
    assert classic.forwards is None and (classic.forward, classic.iv_policy) == ("spot", "file")
    assert set(classic.priced_forwards()["method"]) == {"spot-carry"}


def test_unknown_choices_are_refused_with_the_valid_ones_named(spx):
    with pytest.raises(ChainDataError, match="spot, parity"):
        prepare_chain(spx, forward="futures")
    with pytest.raises(ChainDataError, match="file, otm"):
        prepare_chain(spx, iv_policy="mid")


def test_parity_prices_every_row_black76_on_its_expiry_forward_and_discount():
    frame = quotes_frame(rate=0.05, div_yield=0.02, days=(7, 30, 91))
    prep = prepare_chain(chain_from(frame), forward="parity", iv_policy="otm")
    assert len(prep.iv) == len(frame)  # every row kept: OTM mids give an IV for both sides
    np.testing.assert_allclose(model_forward(prep) / frame["forward"], 1.0, atol=1e-6)
    np.testing.assert_allclose(np.exp(-prep.rate * prep.years), frame["discount"], atol=1e-6)
    quoted = otm_quoted(frame)
    np.testing.assert_allclose(prep.iv[quoted], frame["true_iv"][quoted], atol=1e-6)
    px = pricing.price(prep.level, frame["strike"], prep.years, prep.iv, prep.side, prep.rate, prep.carry)
    np.testing.assert_allclose(px[quoted], frame["price"][quoted], atol=1e-6)
    assert prep.forwards["method"].eq("parity").all()
    # the far wings, with no out-of-the-money quote, take the smile interpolated (flat beyond the last quote)
    wings = {n.code: n.rows for n in prep.notes}["iv-otm-interpolated"]
    assert wings == int((~quoted).sum())
    assert prep.iv[~quoted].min() >= frame["true_iv"][quoted].min() - 1e-6


def test_otm_policy_gives_both_sides_of_a_strike_the_out_of_the_money_sides_iv():
    frame = quotes_frame(days=(30,))
    itm = np.where(frame["side"] == "C", frame["strike"] < 100, frame["strike"] > 100)
    frame.loc[itm, "iv"] += 0.05  # file IVs of in-the-money rows disagree with their twins
    chain = chain_from(frame)
    by_file = prepare_chain(chain, iv_policy="file")
    by_otm = prepare_chain(chain, iv_policy="otm")
    assert not np.allclose(by_file.iv, frame["true_iv"], atol=1e-3)
    quoted = otm_quoted(frame)
    np.testing.assert_allclose(by_otm.iv[quoted], frame["true_iv"][quoted], atol=1e-6)
    per_strike = pd.Series(by_otm.iv).groupby(by_otm.chain.rows["strike"]).agg(np.ptp)
    assert per_strike.max() == 0


def test_placeholder_ivs_repeated_on_in_the_money_rows_are_found_and_unused_under_otm():
    frame = quotes_frame(days=(14, 45))
    itm = np.where(frame["side"] == "C", frame["strike"] < 97, frame["strike"] > 103)
    frame.loc[itm, "iv"] = 0.02  # the 2020 .dat vintage: one tiny value on in-the-money rows
    chain = chain_from(frame)
    found = placeholder_ivs(chain.rows["iv"], chain.rows["expiry"], chain.rows["strike"],
                            pricing.side_sign(chain.rows["side"]), 100.0)
    np.testing.assert_array_equal(found, itm)
    kept = prepare_chain(chain, iv_policy="file")  # the file policy computes what it always did ...
    assert (kept.iv[itm] == 0.02).all()
    note = kept.notes[codes(kept).index("iv-placeholder")]
    assert note.rows == int(itm.sum()) and "0.02" in note.message and "kept" in note.message
    unused = prepare_chain(chain, iv_policy="otm")  # ... the OTM policy never uses them
    quoted = otm_quoted(frame)
    np.testing.assert_allclose(unused.iv[quoted], frame["true_iv"][quoted], atol=1e-6)
    assert not np.isin(unused.iv, 0.02).any()
    assert "not used" in unused.notes[codes(unused).index("iv-placeholder")].message


def test_a_value_shared_by_many_rows_near_the_atm_level_is_not_a_placeholder():
    frame = quotes_frame(days=(30,), flat_iv=True)  # every row at 0.20, the ATM IV itself
    chain = chain_from(frame)
    assert "iv-placeholder" not in codes(prepare_chain(chain))


def test_drop_notes_tell_no_quote_apart_from_a_quote_at_or_below_intrinsic():
    frame = quotes_frame(days=(30,))
    frame.loc[frame["strike"] == 75, ["iv", "bid", "ask", "mark"]] = np.nan  # both sides: nothing at all
    k120 = frame["strike"] == 120
    frame.loc[k120, "iv"] = np.nan  # both sides without IV; the ITM put quoted below intrinsic (20)
    frame.loc[k120 & (frame["side"] == "P"), ["bid", "ask", "mark"]] = [19.4, 19.6, 19.5]
    frame.loc[k120, "open_interest"] = [10.0, 7.0]
    prep = prepare_chain(chain_from(frame), forward="spot", iv_policy="file")
    notes = {n.code: n for n in prep.notes}
    assert notes["dropped-no-quote"].rows == 2
    assert "no quote" in notes["dropped-no-quote"].message
    at_intrinsic = notes["dropped-at-intrinsic"]
    assert (at_intrinsic.rows, at_intrinsic.contracts) == (1, 7.0)
    assert "at or below intrinsic" in at_intrinsic.message and "(7 contracts" in at_intrinsic.message
    assert notes["iv-solved"].rows == 1  # the 120 call had a sound quote
    assert len(prep.iv) == len(frame) - 3


def ex_dividend_eve(*, american: bool) -> pd.DataFrame:
    """An ETF the night before a 0.30 dividend: every forward sits 0.3% below spot. American quotes put
    in-the-money calls at exactly intrinsic (exercised tonight) and in-the-money puts at least at K - F.
    File IVs are what a vendor solves from those mids on spot with r = q = 0 (0 where none exists)."""
    frame = quotes_frame(days=(3, 7, 14, 30, 60), forward_shift=0.3)
    call = frame["side"] == "C"
    big = np.where(call, frame["strike"] >= 100, frame["strike"] < 100)
    near = frame["strike"].between(88, 112)  # open interest near the money; the wings carry none
    frame["open_interest"] = np.where(near, np.where(big, np.where(call, 2000.0, 3000.0), 200.0), 0.0)
    if american:
        px = frame["price"].to_numpy()
        px = np.where(call, np.maximum(px, 100.0 - frame["strike"]), np.maximum(px, frame["strike"] - frame["forward"]))
        half = 0.01 + 0.01 * px
        quoted = px - half > 0.005
        frame["bid"] = np.where(quoted, px - half, 0.0)
        frame["ask"] = np.where(quoted, px + half, 0.05)
        frame["mark"] = np.where(quoted, px, np.nan)
    mid = np.where(frame["bid"] > 0, 0.5 * (frame["bid"] + frame["ask"]), np.nan)
    vendor = pricing.implied_vol(mid, 100.0, frame["strike"], frame["years"], pricing.side_sign(frame["side"]))
    frame["iv"] = np.nan_to_num(vendor, nan=0.0)
    return frame


def true_total(frame: pd.DataFrame) -> float:
    r = -np.log(frame["discount"]) / frame["years"]
    w = pricing.side_sign(frame["side"])
    g = pricing.greeks(frame["forward"], frame["strike"], frame["years"], frame["true_iv"], w, r, r)
    return float(np.sum(w * frame["open_interest"] * 100 * g.gamma * frame["forward"] ** 2 * 0.01))


def test_ex_dividend_eve_warns_about_the_forward_and_parity_keeps_the_total_stable():
    american, european = ex_dividend_eve(american=True), ex_dividend_eve(american=False)
    truth = true_total(european)
    a = analyze(chain_from(american), forward="parity", iv_policy="otm", grid_points=61)
    assert any("parity forwards sit -0.30% from spot" in w for w in a.warnings)
    # within 1% of the true model's total (the unquoted wings take a flat smile) ...
    assert a.total_gex_usd_per_1pct == pytest.approx(truth, rel=1e-2)
    # ... and blind to the early-exercise quotes: only out-of-the-money mids and near-money parity count
    e = analyze(chain_from(european), forward="parity", iv_policy="otm", grid_points=61)
    assert a.total_gex_usd_per_1pct == pytest.approx(e.total_gex_usd_per_1pct, rel=1e-6)
    # the classic recipe on the vendor's spot-based IVs does not even get the sign
    classic = analyze(chain_from(american), forward="spot", iv_policy="file", grid_points=61)
    assert classic.total_gex_usd_per_1pct * truth < 0
    # ... and says why: the options' own forwards disagree with the spot it prices on
    assert any("parity forwards sit -0.30% from spot" in w for w in classic.warnings)


def test_the_per_strike_mean_is_pandas_group_mean_to_the_last_bit(spx):
    """The call/put mean per (root, expiry, strike) (bincount sums) against pandas' own group mean:
    NaNs skipped, a group of NaNs NaN, tiny and huge values; a group of three takes pandas' path."""
    from analytics.prepare import _by_strike, row_groups

    groups = row_groups(spx.rows)
    rng = np.random.default_rng(7)
    for _ in range(4):
        v = rng.normal(0.3, 0.1, len(spx.rows)) * rng.choice([1.0, 1e-300, 1e300], len(spx.rows))
        v[rng.random(v.size) < 0.3] = np.nan
        expected = pd.Series(v).groupby(groups.strike_codes).transform("mean").to_numpy(float)
        assert np.array_equal(_by_strike(v, groups), expected, equal_nan=True)
    three = dataclasses.replace(groups, strike_codes=np.array([0, 0, 0, 1]))
    v = np.array([0.1, 0.2, 0.7, np.nan])
    assert np.array_equal(_by_strike(v, three), pd.Series(v).groupby([0, 0, 0, 1]).transform("mean").to_numpy(),
                          equal_nan=True)
