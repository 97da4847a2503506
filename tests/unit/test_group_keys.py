"""Per-expiry groupings done without pandas' multi-column groupby equal the groupby, to the last bit.

The oracles below are the product code as it was before (a groupby on the expiry and strike columns,
``model_forwards``' ``groupby("expiry").agg``); they are kept here only as the reference.
"""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd
import pytest

from analytics import forwards, maxpain, prepare, smile
from analytics.codes import group_medians
from analytics.exposure import expiry_codes, expiry_strike_key, key_pairs
from analytics.sources import load_chain
from tests.conftest import shared_file

REAL_FILES = ("cboe_spx_2024-01-07_phammings.csv", "cboe_ndx_2022-02-05_lucacastelli.csv",
              "deribit_btc_ticker_greeks_2026-02-28_tessicin.csv",
              "deribit_btc_book_summary_2024-03-12_stevenmaharaj_TESTNET.csv")


@functools.cache
def _chain(name: str):
    return load_chain(shared_file(name))


@functools.cache
def _prepared(name: str, forward: str):
    return prepare.prepare_chain(_chain(name), forward=forward)


# ------------------------------------------------------------------------------------------ oracles

def ref_model_forwards(expiry, years, level, rate, carry, spot, method) -> pd.DataFrame:
    t = np.asarray(years, dtype=float)
    frame = pd.DataFrame({"expiry": np.asarray(expiry), "years": t,
                          "forward": np.broadcast_to(level, t.shape) * np.exp((np.asarray(rate) - carry) * t),
                          "implied_rate": np.broadcast_to(np.asarray(rate, dtype=float), t.shape),
                          "method": np.broadcast_to(np.asarray(method, dtype=object), t.shape)})
    out = frame.groupby("expiry", sort=True).agg(years=("years", "max"), forward=("forward", "median"),
                                                 implied_rate=("implied_rate", "median"),
                                                 method=("method", "first")).reset_index()
    out.insert(3, "discount", np.exp(-out["implied_rate"] * out["years"]))
    out.insert(5, "forward_basis_pct", 100.0 * (out["forward"] / float(spot) - 1.0))
    return out


def ref_payout_sums(codes, k, call_u, put_u) -> pd.DataFrame:
    return (pd.DataFrame({"e": codes, "k": k, "c": call_u, "ck": call_u * k, "p": put_u, "pk": put_u * k})
            .groupby(["e", "k"], sort=True).sum())


def ref_payout_by_strike(expiry, strike, side, units) -> pd.DataFrame:
    codes, dates = expiry_codes(expiry)
    k, w, u = np.asarray(strike, float), np.asarray(side, float), np.asarray(units, float)
    keep = (codes >= 0) & np.isfinite(k)
    codes, k, w, u = codes[keep], k[keep], w[keep], np.nan_to_num(u[keep])
    per = ref_payout_sums(codes, k, np.where(w > 0, u, 0.0), np.where(w < 0, u, 0.0))
    e = per.index.get_level_values(0).to_numpy()
    x = per.index.get_level_values(1).to_numpy(float)
    run = per.groupby(level=0, sort=False).cumsum()
    tot = per.groupby(level=0, sort=False)[["p", "pk"]].transform("sum")
    call_pay = np.maximum(x * run["c"].to_numpy() - run["ck"].to_numpy(), 0.0)
    put_pay = np.maximum((tot["pk"].to_numpy() - run["pk"].to_numpy())
                         - x * (tot["p"].to_numpy() - run["p"].to_numpy()), 0.0)
    return pd.DataFrame({"expiry": dates[e] if e.size else np.array([], dtype=object), "strike": x,
                         "call_units": per["c"].to_numpy(), "put_units": per["p"].to_numpy(),
                         "call_payout_usd": call_pay, "put_payout_usd": put_pay, "payout_usd": call_pay + put_pay})


def ref_otm_means(codes, k, v) -> pd.Series:
    return pd.DataFrame({"e": codes, "k": k, "v": v}).groupby(["e", "k"], sort=True)["v"].mean()


# ------------------------------------------------------------------------------------------ tests

def test_group_medians_equal_pandas_median_with_even_counts_nan_and_empty_groups():
    rng = np.random.default_rng(7)
    codes = rng.integers(0, 40, 3000)
    values = rng.normal(100.0, 5.0, codes.size)
    values[rng.random(codes.size) < 0.1] = np.nan
    values[codes == 3] = np.nan  # a group without a value
    values[codes == 5] = values[codes == 5][:1].repeat((codes == 5).sum())  # ties
    got = group_medians(codes, 41, values)  # group 40 has no row at all
    want = pd.Series(values).groupby(codes).median().reindex(range(41)).to_numpy()
    np.testing.assert_array_equal(got, want)
    assert np.isnan(got[3]) and np.isnan(got[40])
    assert np.isnan(group_medians(np.array([], dtype=np.intp), 2, np.array([]))).all()


@pytest.mark.parametrize("name", REAL_FILES)
@pytest.mark.parametrize("forward", ["parity", "spot"])
def test_model_forwards_equal_the_groupby_on_real_chains(name, forward):
    p = _prepared(name, forward)
    expiry = p.chain.rows["expiry"].to_numpy()
    method = np.where(np.arange(expiry.size) % 3 == 0, "parity", "fallback").astype(object)
    for m in ("spot-carry", method):
        args = (expiry, p.years, p.level, p.rate, p.carry, p.chain.spot, m)
        pd.testing.assert_frame_equal(forwards.model_forwards(*args), ref_model_forwards(*args), check_exact=True)


def test_model_forwards_leave_rows_without_an_expiry_out_as_the_groupby_does():
    expiry = np.array(["2024-01-19", "NaT", "2024-01-12", "2024-01-19"], dtype="datetime64[ns]")
    years = np.array([0.02, 0.5, 0.01, np.nan])
    level = np.array([100.0, 101.0, np.nan, 102.0])
    args = (expiry, years, level, 0.05, 0.01, 100.0, "parity")
    got = forwards.model_forwards(*args)
    pd.testing.assert_frame_equal(got, ref_model_forwards(*args), check_exact=True)
    assert len(got) == 2 and np.isnan(got["forward"].iloc[0])


@pytest.mark.parametrize("name", REAL_FILES)
def test_expiry_strike_key_groups_as_the_two_column_groupby_on_real_chains(name):
    rows = _chain(name).rows
    codes, _ = expiry_codes(rows["expiry"])
    k = rows["strike"].to_numpy(float)
    keep = (codes >= 0) & np.isfinite(k)
    codes, k = codes[keep], k[keep]
    w = np.where(rows["side"].to_numpy()[keep] == "C", 1.0, -1.0)
    u = np.nan_to_num(rows["open_interest"].to_numpy(float)[keep])
    call_u, put_u = np.where(w > 0, u, 0.0), np.where(w < 0, u, 0.0)
    key, strikes = expiry_strike_key(codes, k)
    got = pd.DataFrame({"c": call_u, "ck": call_u * k, "p": put_u, "pk": put_u * k}).groupby(key, sort=True).sum()
    want = ref_payout_sums(codes, k, call_u, put_u)
    e, x = key_pairs(got.index.to_numpy(), strikes)
    np.testing.assert_array_equal(e, want.index.get_level_values(0).to_numpy())
    np.testing.assert_array_equal(x, want.index.get_level_values(1).to_numpy(float))
    np.testing.assert_array_equal(got.to_numpy(), want.to_numpy())
    iv = rows["iv"].to_numpy(float)[keep]
    means = pd.Series(iv).groupby(key, sort=True).mean()
    np.testing.assert_array_equal(means.to_numpy(), ref_otm_means(codes, k, iv).to_numpy())


@pytest.mark.parametrize("name", REAL_FILES)
def test_max_pain_and_smile_points_equal_the_two_column_groupby_on_real_chains(name):
    p = _prepared(name, "parity")
    rows = p.chain.rows  # the prepared rows: ``p.side`` and ``p.iv`` are per row of them
    side = np.asarray(p.side, float)
    units = rows["open_interest"].to_numpy(float)
    got = maxpain.payout_by_strike(rows["expiry"], rows["strike"], side, units)
    pd.testing.assert_frame_equal(got, ref_payout_by_strike(rows["expiry"], rows["strike"], side, units),
                                  check_exact=True)
    codes, dates = expiry_codes(rows["expiry"])
    k = rows["strike"].to_numpy(float)
    iv = np.asarray(p.iv, float)
    fwd = np.full(len(dates), float(p.chain.spot))
    e, k_pts, v = smile.otm_iv_by_strike(codes, k, side, iv, fwd)
    valid = np.isfinite(iv) & (iv > 0) & (codes >= 0)
    otm = valid & np.where(k >= float(p.chain.spot), side > 0, side < 0)
    has_otm = np.bincount(codes[otm], minlength=len(dates)) > 0
    use = otm | (valid & ~has_otm[np.where(codes >= 0, codes, 0)])
    want = ref_otm_means(codes[use], k[use], iv[use])
    np.testing.assert_array_equal(e, want.index.get_level_values(0).to_numpy())
    np.testing.assert_array_equal(k_pts, want.index.get_level_values(1).to_numpy(float))
    np.testing.assert_array_equal(v, want.to_numpy(float))
