"""Synthetic CBOE-like chains with a known forward and discount per expiry, priced by analytics.pricing.

Quotes are Black-76 prices on the expiry's forward ``F`` with discount ``D`` (rate ``r = -ln(D)/T``,
carry ``r``), with a bid-ask spread that widens with the price; far wings whose bid would be zero show
no bid, a minimum-tick ask and no mark, as on a real screen.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analytics import pricing
from analytics.chain import OptionChain, make_chain, settlement_instants, years_between

AS_OF = pd.Timestamp("2024-03-01 12:00", tz="America/New_York")


def smile(strike: np.ndarray, forward: np.ndarray, atm: float = 0.20) -> np.ndarray:
    """A gentle equity skew: higher vol below the forward."""
    return atm - 0.10 * np.log(strike / forward) + 0.30 * np.log(strike / forward) ** 2


def quotes_frame(*, spot: float = 100.0, days=(7, 30, 91), strikes=None, rate: float = 0.0,
                 div_yield: float = 0.0, forward_shift: float = 0.0, atm_iv: float = 0.20,
                 flat_iv: bool = False, open_interest: float = 1000.0) -> pd.DataFrame:
    """One row per (expiry, strike, side) with the true ``forward``, ``discount`` and ``true_iv`` columns.

    ``F = (S - forward_shift) e^{(r - q) T}`` (a dividend of ``forward_shift`` paid before the first
    expiry), ``D = e^{-r T}``.
    """
    strikes = np.arange(70.0, 131.0, 1.0) if strikes is None else np.asarray(strikes, dtype=float)
    expiry = pd.Series(pd.to_datetime([(AS_OF + pd.Timedelta(days=d)).date() for d in days]))
    settle = settlement_instants(expiry, pd.Series(["XYZ"] * len(days)))
    t = years_between(AS_OF, settle)
    grid = pd.MultiIndex.from_product([range(len(days)), strikes, ["C", "P"]], names=["i", "strike", "side"])
    rows = grid.to_frame(index=False)
    i = rows["i"].to_numpy()
    k = rows["strike"].to_numpy(float)
    years = t[i]
    forward = (spot - forward_shift) * np.exp((rate - div_yield) * years)
    discount = np.exp(-rate * years)
    iv = np.full(k.size, atm_iv) if flat_iv else smile(k, forward, atm_iv)
    w = pricing.side_sign(rows["side"].to_numpy())
    px = pricing.price(forward, k, years, iv, w, rate, rate)
    half = 0.01 + 0.01 * px
    quoted = px - half > 0.005  # far wings: no bid, a minimum-tick ask, no mark (as on a CBOE screen)
    bid = np.where(quoted, px - half, 0.0)
    ask = np.where(quoted, px + half, 0.05)
    return pd.DataFrame({
        "root": "XYZ", "expiry": expiry.to_numpy()[i], "settlement": settle.to_numpy()[i], "strike": k,
        "side": rows["side"], "open_interest": open_interest, "iv": iv, "bid": bid, "ask": ask,
        "mark": np.where(quoted, px, np.nan), "multiplier": 100.0, "years": years,
        "forward": forward, "discount": discount, "true_iv": iv, "price": px,
    })


def chain_from(frame: pd.DataFrame, *, spot: float = 100.0) -> OptionChain:
    """The frame as an :class:`OptionChain` (the true-value columns are not part of the chain)."""
    cols = ["root", "expiry", "settlement", "strike", "side", "open_interest", "iv", "bid", "ask", "mark",
            "multiplier"]
    return make_chain(frame[cols], underlying="XYZ", as_of=AS_OF, spot=spot, source="synthetic")
