"""Max pain per expiry: the settlement price, among an expiry's listed strikes, that minimises what
option holders collect at expiry.

If the underlying settles at ``X``, the holders of every open contract of the expiry are paid their
intrinsic value::

    payout(X) = sum_calls OI_i m_i max(X - K_i, 0) + sum_puts OI_j m_j max(K_j - X, 0)

(open interest in contracts times the contract multiplier, in the underlying's currency: USD for
index and equity options, USD for Deribit's coin options whose open interest is in coins). Max pain
is the strike ``X`` of the expiry with the smallest ``payout(X)``. ``payout`` is piecewise linear and
convex in ``X``, so with the calls below ``X`` and the puts above it in running sums it is evaluated at
every strike of every expiry at once (a sort plus cumulative sums, O(n log n)), with no loop over
strikes or expiries.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analytics.exposure import expiry_codes, expiry_strike_key, key_pairs

# payouts within this relative distance of an expiry's minimum count as tied (the running sums round
# at ~1e-16 of the expiry's total); the lowest tied strike is max pain
TIE_RTOL = 1e-12
NO_OPEN_INTEREST = "no open interest in this expiry"


def payout_by_strike(expiry, strike, side, units) -> pd.DataFrame:
    """Holders' payout at expiry if the underlying settles at each listed strike, per expiry.

    Parameters
    ----------
    expiry : array_like
        Each row's expiry (dates or timestamps; grouped by calendar date,
        :func:`analytics.exposure.expiry_codes`).
    strike : array_like
        Strike of each row, in the underlying's currency.
    side : array_like
        +1 for a call, -1 for a put (:func:`analytics.pricing.side_sign`).
    units : array_like
        Open interest times the contract multiplier (units of the underlying held by option holders),
        >= 0. Rows of zero still list their strike as a candidate settlement price.

    Returns
    -------
    pandas.DataFrame
        One row per (expiry, strike), sorted: ``expiry`` (``datetime.date``), ``strike``,
        ``call_units`` and ``put_units`` (open interest x multiplier struck there),
        ``call_payout_usd`` (calls struck below that strike), ``put_payout_usd`` (puts struck above it)
        and ``payout_usd`` (their sum).

    Examples
    --------
    One expiry: 10 calls at 100 and 10 puts at 110 (multiplier 1). Settling at 105 pays 50 + 50.

    >>> t = payout_by_strike(["2024-01-19"] * 3, [100.0, 105.0, 110.0], [1, 1, -1], [10.0, 0.0, 10.0])
    >>> t["payout_usd"].tolist()
    [100.0, 100.0, 100.0]
    """
    codes, dates = expiry_codes(expiry)
    k = np.asarray(strike, float)
    w = np.asarray(side, float)
    u = np.asarray(units, float)
    keep = (codes >= 0) & np.isfinite(k)
    codes, k, w, u = codes[keep], k[keep], w[keep], np.nan_to_num(u[keep])
    call_u = np.where(w > 0, u, 0.0)
    put_u = np.where(w < 0, u, 0.0)
    # one row per (expiry, strike), sorted by expiry then strike (one integer key per pair: the groups
    # and sums of a groupby on the two columns)
    key, strikes = expiry_strike_key(codes, k)
    per = pd.DataFrame({"c": call_u, "ck": call_u * k, "p": put_u, "pk": put_u * k}).groupby(key, sort=True).sum()
    e, x = key_pairs(per.index.to_numpy(), strikes)
    # running sums within each expiry, up to and including strike x (a strike equal to x pays nothing,
    # so "below or at x" for calls and "above x" for puts cover every contract that pays)
    run = per.groupby(e, sort=False).cumsum()
    # each expiry's put totals on its rows: the group sums ``transform("sum")`` takes, taken by position
    sums = per[["p", "pk"]].groupby(e, sort=True).sum()
    at = np.searchsorted(sums.index.to_numpy(), e)
    tot_p, tot_pk = sums["p"].to_numpy()[at], sums["pk"].to_numpy()[at]
    call_pay = x * run["c"].to_numpy() - run["ck"].to_numpy()
    put_pay = (tot_pk - run["pk"].to_numpy()) - x * (tot_p - run["p"].to_numpy())
    # exact zeros where no contract pays (the running sums can leave -1e-9 of rounding)
    call_pay = np.maximum(call_pay, 0.0)
    put_pay = np.maximum(put_pay, 0.0)
    return pd.DataFrame({
        "expiry": dates[e] if e.size else np.array([], dtype=object),
        "strike": x,
        "call_units": per["c"].to_numpy(),
        "put_units": per["p"].to_numpy(),
        "call_payout_usd": call_pay,
        "put_payout_usd": put_pay,
        "payout_usd": call_pay + put_pay,
    })


def max_pain(payout: pd.DataFrame) -> pd.DataFrame:
    """Max pain per expiry from :func:`payout_by_strike`'s table.

    The strike with the smallest ``payout_usd``; among strikes tied within :data:`TIE_RTOL` of that
    minimum (a flat stretch of the payout), the lowest. An expiry whose open interest is all zero has
    no max pain: NaN, with the reason in ``max_pain_note``.

    Parameters
    ----------
    payout : pandas.DataFrame
        Columns ``expiry``, ``strike``, ``call_units``, ``put_units``, ``payout_usd``, sorted by expiry then strike (as
        :func:`payout_by_strike` returns it).

    Returns
    -------
    pandas.DataFrame
        One row per expiry: ``expiry``, ``max_pain`` (a strike), ``max_pain_payout_usd`` (holders'
        payout if the underlying settles there) and ``max_pain_note`` (missing, or why there is none).

    Examples
    --------
    Calls at 95 (10 units) and 100 (5), puts at 105 (30): settling at 95 pays 30 x 10 = 300, at 100
    10 x 5 + 30 x 5 = 200, at 105 10 x 10 + 5 x 5 = 125.

    >>> t = payout_by_strike(["2024-01-19"] * 3, [95.0, 100.0, 105.0], [1, 1, -1], [10.0, 5.0, 30.0])
    >>> max_pain(t)[["max_pain", "max_pain_payout_usd"]].to_dict("records")
    [{'max_pain': 105.0, 'max_pain_payout_usd': 125.0}]
    """
    codes, dates = pd.factorize(payout["expiry"], sort=False)
    n_exp = len(dates)
    pay = payout["payout_usd"].to_numpy(float)
    x = payout["strike"].to_numpy(float)
    lowest = np.full(n_exp, np.inf)
    np.minimum.at(lowest, codes, pay)
    highest = np.zeros(n_exp)
    np.maximum.at(highest, codes, pay)
    units = np.bincount(codes, weights=payout["call_units"].to_numpy(float) + payout["put_units"].to_numpy(float),
                        minlength=n_exp)
    tied = pay <= lowest[codes] + TIE_RTOL * highest[codes]
    # rows are sorted by strike within each expiry: the first tied row of each expiry is its lowest strike
    first = np.flatnonzero(tied)
    first = first[np.unique(codes[first], return_index=True)[1]]
    strike_at = np.full(n_exp, np.nan)
    strike_at[codes[first]] = x[first]
    some_oi = units > 0
    note = np.full(n_exp, None, dtype=object)
    note[~some_oi] = NO_OPEN_INTEREST
    return pd.DataFrame({
        "expiry": np.asarray(dates, dtype=object),
        "max_pain": np.where(some_oi, strike_at, np.nan),
        "max_pain_payout_usd": np.where(some_oi, lowest, np.nan),
        "max_pain_note": note,
    })
