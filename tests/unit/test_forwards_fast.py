"""The batched parity fit (analytics.forwards) equals the straightforward per-expiry loop, to the last bit.

The oracle below is the product code as it was before the fit was batched (``np.median`` /
``np.unique`` per call, ``parity_fit`` per expiry in a Python loop); it is kept here only as the
reference, the product no longer uses it.
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analytics import forwards
from analytics.chain import OptionChain
from analytics.codes import group_medians, order_by_code
from analytics.errors import ChainDataError
from analytics.sources import book, detect_format, load_chain
from tests.conftest import DEMO_DATA, SHARED_DATA
from tests.unit.synthetic import chain_from, quotes_frame

F = forwards  # the constants come from the product: one home for each threshold


# ---------------------------------------------------------------------------------------------------
# the oracle: the per-expiry loop
# ---------------------------------------------------------------------------------------------------

def ref_theil_sen(x, y) -> tuple[float, float]:
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    step = max(1, -(-x.size // F.THEIL_SEN_MAX_POINTS))
    i, j = (step * ij for ij in np.triu_indices(len(x[::step]), k=1))
    dx = x[j] - x[i]
    ok = dx != 0
    slope = float(np.median((y[j] - y[i])[ok] / dx[ok]))
    return slope, float(np.median(y - slope * x))


def ref_weighted_line(x, y, w) -> tuple[float, float]:
    sw = w.sum()
    xm, ym = (w @ x) / sw, (w @ y) / sw
    dx = x - xm
    slope = float((w * dx) @ (y - ym) / ((w * dx) @ dx))
    return slope, float(ym - slope * xm)


def ref_parity_fit(strike, call_mid, put_mid, spread, discount=None) -> tuple[float, float, int]:
    k = np.asarray(strike, dtype=float)
    y = np.asarray(call_mid, dtype=float) - np.asarray(put_mid, dtype=float)
    spread = np.asarray(spread, dtype=float)
    ok = np.isfinite(k) & np.isfinite(y) & np.isfinite(spread)
    k, y, spread = k[ok], y[ok], np.maximum(spread[ok], 1e-12)
    if np.unique(k).size < F.MIN_PARITY_STRIKES:
        return np.nan, np.nan, 0
    i0 = int(np.argmin(np.abs(y)))
    k0 = k[i0]
    straddle = np.asarray(call_mid, dtype=float)[ok][i0] + np.asarray(put_mid, dtype=float)[ok][i0]
    sd = straddle / k0 * np.sqrt(np.pi / 2.0)
    dist = np.abs(np.log(k / k0))
    half_width = max(F.BAND_STDEVS * sd, np.sort(np.unique(dist))[F.MIN_PARITY_STRIKES - 1])
    band = dist <= half_width * (1 + 1e-12)
    k, y, spread = k[band], y[band], spread[band]
    if discount is None:
        slope, intercept = ref_theil_sen(k, y)
    else:
        slope, intercept = -float(discount), float(np.median(y + discount * k))
    inlier = np.ones(k.size, dtype=bool)
    for _ in range(5):
        resid = (y - (intercept + slope * k)) / spread
        med = np.median(resid[inlier])
        mad = 1.4826 * np.median(np.abs(resid[inlier] - med))
        tol = F.OUTLIER_MADS * mad + 1e-9 * (1.0 + np.abs(y).max() / spread.min())
        new = np.abs(resid - med) <= tol
        if np.unique(k[new]).size < F.MIN_PARITY_STRIKES:
            new = inlier
        w2 = spread[new] ** -2.0
        if discount is None:
            slope, intercept = ref_weighted_line(k[new], y[new], w2)
        else:
            intercept = float(np.average(y[new] - slope * k[new], weights=w2))
        if np.array_equal(new, inlier):
            break
        inlier = new
    discount = -float(slope)
    forward = float(intercept) / discount if discount != 0 else np.nan
    return forward, discount, int(np.unique(k[inlier]).size)


def ref_two_sided_pairs(chain: OptionChain) -> pd.DataFrame:
    rows = chain.rows
    keys = ["root", "expiry", "strike"]
    bid, ask = rows["bid"].to_numpy(float), rows["ask"].to_numpy(float)
    quoted = (bid > 0) & (ask > 0) & (ask >= bid)
    empty = pd.DataFrame(columns=[*keys, "years", "call_mid", "put_mid", "spread"])
    if not quoted.any():  # no quotes at all (e.g. a table with IVs only): every expiry falls back
        return empty
    q = rows.loc[quoted, keys]
    bid, ask = bid[quoted], ask[quoted]
    values = {"years": chain.years_to_settlement()[quoted], "mid": 0.5 * (bid + ask), "spread": ask - bid}
    is_call = (rows["side"].to_numpy() == "C")[quoted]
    # groups of (root, expiry, strike) in sorted order: the order pandas' pivot_table gives
    root_codes, _ = pd.factorize(q["root"], sort=True)
    expiry, strike = q["expiry"].to_numpy(), q["strike"].to_numpy(float)
    order = np.lexsort((strike, expiry, root_codes))
    sorted_keys = (root_codes[order], expiry[order], strike[order])
    starts = np.ones(order.size, dtype=bool)
    for k in sorted_keys:
        starts[1:] &= k[1:] == k[:-1]
    starts = ~starts
    starts[0] = True
    group = np.empty(order.size, dtype=np.intp)
    group[order] = np.cumsum(starts) - 1
    n_groups = int(starts.sum())
    count = {side: np.bincount(group[mask], minlength=n_groups) for side, mask in (("C", is_call), ("P", ~is_call))}
    if max(count["C"].max(), count["P"].max()) > 2:  # a mean of 3+ rows: pandas' compensated sum, exactly
        return ref_pairs_by_pivot(q.assign(side=np.where(is_call, "C", "P"), **values), keys, empty)

    def mean(side: str, name: str) -> np.ndarray:
        mask = is_call if side == "C" else ~is_call
        with np.errstate(invalid="ignore"):
            return np.bincount(group[mask], weights=values[name][mask], minlength=n_groups) / count[side]

    both = (count["C"] > 0) & (count["P"] > 0)
    first = order[starts][both]
    out = q.iloc[first].reset_index(drop=True)
    out["years"] = mean("C", "years")[both]
    out["call_mid"] = mean("C", "mid")[both]
    out["put_mid"] = mean("P", "mid")[both]
    out["spread"] = (mean("C", "spread") + mean("P", "spread"))[both]
    return out


def ref_pairs_by_pivot(q: pd.DataFrame, keys: list[str], empty: pd.DataFrame) -> pd.DataFrame:
    wide = q.pivot_table(index=keys, columns="side", values=["mid", "spread", "years"], aggfunc="mean")
    if "C" not in wide["mid"] or "P" not in wide["mid"]:
        return empty
    return pd.DataFrame({
        "years": wide["years"]["C"], "call_mid": wide["mid"]["C"], "put_mid": wide["mid"]["P"],
        "spread": wide["spread"]["C"] + wide["spread"]["P"],
    }).dropna().reset_index()


def ref_expiry_forwards(chain: OptionChain, *, rate: float = 0.0, div_yield: float = 0.0) -> pd.DataFrame:
    spot = float(chain.spot)
    rows = chain.rows
    years_all = pd.Series(chain.years_to_settlement(), index=rows.index)
    exp_years = years_all.groupby(rows["expiry"]).max()
    pairs = ref_two_sided_pairs(chain)
    columns = pairs[["strike", "call_mid", "put_mid", "spread"]].to_numpy(float)
    by_expiry = {e: columns[i] for e, i in pairs.groupby("expiry").indices.items()} if len(pairs) else {}

    def fit(expiry, t, discount=None):
        p = by_expiry.get(expiry)
        f, d, n = (np.nan, np.nan, 0) if p is None else ref_parity_fit(*p.T, discount)
        sane = (np.isfinite(f) and np.isfinite(d) and 0 < d <= F.MAX_DISCOUNT and f > 0
                and abs(np.log(f / spot)) <= F.BASIS_BOUND_BASE + F.BASIS_BOUND_PER_YEAR * t)
        return f, d, n, sane

    free = {e: fit(e, t) for e, t in exp_years.items()}
    rates = {e: -np.log(r[1]) / exp_years[e] for e, r in free.items() if r[3]}
    ref = [r for e, r in rates.items() if F.DISCOUNT_MIN_YEARS <= exp_years[e] <= 1.0 and F.MIN_RATE <= r <= F.MAX_ABS_RATE]
    ref = ref or [r for e, r in rates.items() if exp_years[e] >= F.DISCOUNT_MIN_YEARS and F.MIN_RATE <= r <= F.MAX_ABS_RATE]
    ref_rate = float(np.median(ref)) if ref else float(rate)
    records = []
    for expiry, t in exp_years.items():
        fwd, disc, n, sane = free[expiry]
        fixed = sane and ((t < F.DISCOUNT_MIN_YEARS and bool(ref))
                          or not F.MIN_RATE <= rates[expiry] <= F.MAX_ABS_RATE)
        if fixed:
            fwd, disc, n, sane = fit(expiry, t, np.exp(-ref_rate * t))
        if not sane:
            fwd, disc, n = spot * np.exp((rate - div_yield) * t), np.exp(-rate * t), 0
        records.append({"expiry": expiry, "years": float(t), "forward": float(fwd), "discount": float(disc),
                        "implied_rate": float(-np.log(disc) / t), "forward_basis_pct": 100.0 * (fwd / spot - 1.0),
                        "n_strikes": int(n), "method": "parity" if sane else "fallback",
                        "discount_fixed": bool(fixed and sane), "early_exercise": False})
    return pd.DataFrame.from_records(records, columns=list(F.FORWARD_COLUMNS))


# ---------------------------------------------------------------------------------------------------
# the comparisons
# ---------------------------------------------------------------------------------------------------

def chain_files() -> list[Path]:
    """Every option-chain file of ../shared/data and of the demo folder (positions files are no chain)."""
    not_chains = {source.name for source in book.SOURCES}
    found = []
    for folder in (SHARED_DATA, DEMO_DATA):
        for path in sorted(folder.iterdir()) if folder.is_dir() else ():
            try:
                if detect_format(path) not in not_chains:
                    found.append(path)
            except ChainDataError:
                continue
    return found


CHAIN_FILES = chain_files()
CARRY = [(0.0, 0.0), (0.05, 0.02)]


@functools.cache
def chain_of(path: Path) -> OptionChain:
    return load_chain(path)


def assert_same_table(got: pd.DataFrame, want: pd.DataFrame) -> None:
    """Same columns, dtypes and values, floats bit for bit (NaN where NaN)."""
    pd.testing.assert_frame_equal(got, want, check_exact=True)
    for column in got.columns:
        a, b = got[column].to_numpy(), want[column].to_numpy()
        if a.dtype.kind == "f":
            assert np.array_equal(a.view(np.int64), b.view(np.int64)), column


def test_every_real_file_and_the_demo_week_are_compared():
    names = {p.name for p in CHAIN_FILES}
    assert {"cboe_spx_2024-01-07_phammings.csv", "cboe_ndx_2022-02-05_lucacastelli.csv",
            "deribit_btc_ticker_greeks_2026-02-28_tessicin.csv",
            "deribit_btc_book_summary_2024-03-12_stevenmaharaj_TESTNET.csv"} <= names
    demo = [p for p in CHAIN_FILES if p.parent == DEMO_DATA]
    assert len(demo) == len(list(DEMO_DATA.glob("spx_*_20*"))) + len(list(DEMO_DATA.glob("btc_*_20*")))


def _demo_kind(path: Path) -> str:
    """A demo file's kind: its name before the date (spx_table, btc_book_summary, ...)."""
    return path.name.rsplit("_", 1)[0]


# make test-fast compares every real file and the latest demo day of each kind (each reader and layout); the
# rest of the demo month (~5 s of a core: the same generator on other days) runs in make test (slow)
FAST_DEMO_FILES = {_demo_kind(p): p for p in CHAIN_FILES if p.parent == DEMO_DATA}.values()
CHAIN_FILE_PARAMS = [pytest.param(p, id=p.name,
                                  marks=pytest.mark.slow if p.parent == DEMO_DATA and p not in FAST_DEMO_FILES else ())
                     for p in CHAIN_FILES]


@pytest.mark.parametrize("path", CHAIN_FILE_PARAMS)
def test_batched_forwards_and_the_pairs_equal_the_per_expiry_loop_on_every_chain_file(path):
    chain = chain_of(path)
    pd.testing.assert_frame_equal(forwards.two_sided_pairs(chain), ref_two_sided_pairs(chain), check_exact=True)
    for rate, div_yield in CARRY:
        got = forwards.expiry_forwards(chain, rate=rate, div_yield=div_yield)
        assert_same_table(got, ref_expiry_forwards(chain, rate=rate, div_yield=div_yield))


def test_row_order_does_not_matter_and_unsorted_expiries_take_the_general_path(spx_path):
    chain = chain_of(spx_path)
    shuffled = chain.with_rows(chain.rows.sample(frac=1.0, random_state=11))
    assert not shuffled.rows["expiry"].is_monotonic_increasing
    got = forwards.expiry_forwards(shuffled, rate=0.05, div_yield=0.02)
    assert_same_table(got, ref_expiry_forwards(shuffled, rate=0.05, div_yield=0.02))
    assert_same_table(got, forwards.expiry_forwards(chain, rate=0.05, div_yield=0.02))
    pd.testing.assert_frame_equal(forwards.two_sided_pairs(shuffled), ref_two_sided_pairs(shuffled), check_exact=True)


def test_a_contract_on_three_rows_takes_the_pivot_means_in_both():
    frame = quotes_frame(rate=0.04, days=(7, 30, 91))
    call = frame.index[(frame["strike"] == 100.0) & (frame["side"] == "C")]
    extra = pd.concat([frame.loc[call]] * 2)
    extra["bid"] += 0.1
    chain = chain_from(pd.concat([frame, extra], ignore_index=True))
    pd.testing.assert_frame_equal(forwards.two_sided_pairs(chain), ref_two_sided_pairs(chain), check_exact=True)
    assert_same_table(forwards.expiry_forwards(chain), ref_expiry_forwards(chain))


def test_outliers_wide_quotes_and_thin_expiries_match_the_loop():
    frame = quotes_frame(rate=0.05, div_yield=0.02, days=(3, 30, 200, 400))
    rng = np.random.default_rng(5)
    bad = rng.choice(frame.index[frame["bid"] > 0], 25, replace=False)
    frame.loc[bad, ["bid", "ask"]] *= rng.uniform(0.7, 1.4, (bad.size, 1))  # stale quotes
    thin = (frame["expiry"] == frame["expiry"].max()) & ~frame["strike"].isin([96.0, 100.0, 104.0])
    frame.loc[thin, "bid"] = 0.0  # the last expiry: three two-sided strikes, a fallback
    chain = chain_from(frame)
    table = forwards.expiry_forwards(chain, rate=0.03)
    assert table["method"].tolist()[-1] == "fallback" and table["discount_fixed"].any()
    assert_same_table(table, ref_expiry_forwards(chain, rate=0.03))


def test_each_expiry_of_spx_fits_alone_as_in_the_batch_with_and_without_a_discount(spx_path):
    pairs = ref_two_sided_pairs(chain_of(spx_path))
    expiries = [g[["strike", "call_mid", "put_mid", "spread"]].to_numpy(float) for _, g in pairs.groupby("expiry")]
    count = [len(p) for p in expiries]
    stacked = np.concatenate(expiries)
    for discount in (None, 0.99):
        batch = forwards.parity_fits(*stacked.T, count, None if discount is None else np.full(len(count), discount))
        alone = np.array([ref_parity_fit(*p.T, discount) for p in expiries])
        np.testing.assert_array_equal(np.column_stack(batch), alone)
        np.testing.assert_array_equal([forwards.parity_fit(*p.T, discount) for p in expiries], alone)


@pytest.mark.parametrize("n", [5, 64, 200, 400, 401, 2000, 4007])
def test_theil_sen_equals_the_pairwise_median_with_ties_and_repeated_x(n):
    rng = np.random.default_rng(n)
    x = np.round(rng.uniform(0, 50, n))  # repeated x: pairs without a slope
    y = 3.0 - 0.98 * x + rng.standard_t(2, n)
    y[:: 7] = y[3]  # repeated y values: tied slopes
    assert forwards.theil_sen(x, y) == ref_theil_sen(x, y)
    order = np.argsort(x, kind="stable")  # sorted x: slopes in a biased order for the sampled bracket
    assert forwards.theil_sen(x[order], y[order]) == ref_theil_sen(x[order], y[order])


def test_theil_sen_with_a_nan_is_nan_as_np_median_gives_it():
    x, y = np.arange(100.0), np.arange(100.0)
    y[40] = np.nan
    with np.errstate(invalid="ignore"):
        assert np.isnan(forwards.theil_sen(x, y)[0]) and np.isnan(ref_theil_sen(x, y)[0])


@pytest.mark.parametrize("n", [4096, 4097, 20000, 20001])
@pytest.mark.parametrize("layout", ["random", "ascending", "descending", "few values"])
def test_the_bracketed_median_is_np_median_exactly(n, layout):
    rng = np.random.default_rng(n)
    values = {"random": rng.normal(size=n), "ascending": np.sort(rng.normal(size=n)),
              "descending": np.sort(rng.normal(size=n))[::-1].copy(),
              "few values": rng.integers(0, 3, n).astype(float)}[layout]
    assert forwards._select_median(values, n) == float(np.median(values))
    with_gaps = np.concatenate([values, np.full(n // 3, np.nan)])
    assert forwards._select_median(with_gaps, n) == float(np.median(values))


def test_a_changed_fit_would_be_caught(spx_path, monkeypatch):
    chain = chain_of(spx_path)
    want = ref_expiry_forwards(chain)
    monkeypatch.setattr(forwards, "OUTLIER_MADS", F.OUTLIER_MADS * 1.01)
    with pytest.raises(AssertionError):
        assert_same_table(forwards.expiry_forwards(chain), want)


@pytest.mark.parametrize("dates", [["2024-01-05", "2024-01-05", "2024-02-16"], ["2024-02-16", "2024-01-05"],
                                   ["2024-01-05", "NaT"], ["NaT", "2024-01-05", "2024-01-05"], ["2024-01-05"]])
def test_expiry_codes_are_np_unique_sorted_or_not(dates):
    values = np.array(dates, dtype="datetime64[us]")
    got, want = forwards._sorted_codes(values), np.unique(values, return_inverse=True)
    np.testing.assert_array_equal(got[0], want[0])
    np.testing.assert_array_equal(got[1], want[1])


def former_model_forwards(expiry, years, level, rate, carry, spot, method) -> pd.DataFrame:
    """forwards.model_forwards as first written: every expiry's medians sorted (group_medians), the method
    broadcast to every row."""
    t = np.asarray(years, dtype=float)
    forward = np.broadcast_to(level, t.shape) * np.exp((np.asarray(rate) - carry) * t)
    implied_rate = np.broadcast_to(np.asarray(rate, dtype=float), t.shape)
    codes, dates = pd.factorize(np.asarray(expiry), sort=True)
    kept = codes >= 0
    codes = codes[kept]
    by_code = np.argsort(codes, kind="stable")
    starts = np.searchsorted(codes[by_code], np.arange(len(dates)))
    years_max = np.fmax.reduceat(t[kept][by_code], starts) if len(dates) else np.empty(0)
    methods = np.broadcast_to(np.asarray(method, dtype=object), t.shape)[kept][by_code[starts]]
    out = pd.DataFrame({"expiry": dates, "years": years_max,
                        "forward": group_medians(codes, len(dates), forward[kept]),
                        "implied_rate": group_medians(codes, len(dates), implied_rate[kept]),
                        "method": methods})
    out.insert(3, "discount", np.exp(-out["implied_rate"] * out["years"]))
    out.insert(5, "forward_basis_pct", 100.0 * (out["forward"] / float(spot) - 1.0))
    return out


@pytest.mark.parametrize("seed", range(4))
def test_model_forwards_equal_the_former_sorted_medians(seed):
    """Expiries with one forward and rate on every row (a parity or spot treatment) take it without a
    sort; expiries whose rows differ (a Deribit file's per-quote forwards, NaN, zeros of both signs) are
    sorted: every median as group_medians gives it."""
    rng = np.random.default_rng(seed)
    n, n_exp = 3000, 25
    days = np.datetime64("2024-01-05") + rng.integers(0, n_exp, n).astype("timedelta64[D]")
    expiry = days.astype("datetime64[us]")
    expiry[rng.random(n) < 0.01] = np.datetime64("NaT")
    code = (days - days.min()).astype(int)
    years = 0.01 + code / 365.0 + rng.choice([0.0, 0.3 / 365], n)  # AM beside PM roots
    per_day_rate = rng.choice([0.0, -0.0, 0.05, np.nan], n_exp)
    rate = per_day_rate[code]
    varied = rng.random(n_exp) < 0.3
    rate = np.where(varied[code], rate + rng.normal(0, 1e-3, n), rate)
    rate = np.where(varied[code] & (rng.random(n) < 0.2), rng.choice([0.0, -0.0, np.nan], n), rate)
    zeros = code == np.flatnonzero(~varied)[0]  # one expiry of zeros of both signs: its median is 0.0 (odd: either)
    rate = np.where(zeros, np.where(np.arange(n) % 2 == 0, 0.0, -0.0), rate)
    level = np.where(varied[code], 100 + rng.normal(0, 1, n), 100.0)
    carry = rate - np.log(np.where(varied[code], 101.0, 100.5) / level) / years
    for method in ("parity", np.where(rng.random(n) < 0.5, "parity", "fallback").astype(object)):
        got = forwards.model_forwards(expiry, years, level, rate, carry, 100.0, method)
        want = former_model_forwards(expiry, years, level, rate, carry, 100.0, method)
        pd.testing.assert_frame_equal(got, want, check_exact=True)
        for column in ("forward", "implied_rate", "discount"):  # == takes -0.0 for 0.0; the JSON does not
            np.testing.assert_array_equal(np.signbit(got[column]), np.signbit(want[column]))
    empty = np.array([], dtype="datetime64[us]")
    pd.testing.assert_frame_equal(forwards.model_forwards(empty, [], 100.0, 0.0, 0.0, 100.0, "spot-carry"),
                                  former_model_forwards(empty, [], 100.0, 0.0, 0.0, 100.0, "spot-carry"),
                                  check_exact=True)


@pytest.mark.parametrize("n_codes", [1, 7, 40_000])  # 40,000 codes: past the 16-bit radix sort
def test_order_by_code_is_lexsorts_order(n_codes):
    rng = np.random.default_rng(n_codes)
    codes = rng.integers(-1, n_codes, 50_000)
    values = rng.choice([0.0, -0.0, 1.5, 2.0, np.nan, np.inf, -3.0], 50_000) + rng.choice([0.0, 1e-9], 50_000)
    np.testing.assert_array_equal(order_by_code(codes, values), np.lexsort((values, codes)))
