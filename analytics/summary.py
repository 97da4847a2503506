"""One snapshot's summary for the history (:class:`Summary`): the history store's one call into the
analytics (:func:`summarize_chain`), and :func:`summarize_file` for the backfill's workers.

:mod:`analytics.history` keeps the summaries (SQLite + Parquet); :mod:`analytics.history_window` shapes
many of them into what the history views draw.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple, cast

import numpy as np
import pandas as pd

from analytics.chain import OptionChain
from analytics.errors import ChainDataError
from analytics.exposure import TOP_WALLS, top_walls

FLOW_SHOCKS_PCT: tuple[float, ...] = (-5.0, -2.0, -1.0, 1.0, 2.0, 5.0)
#: per-strike columns of a summary: every live expiry, then the 0DTE expiries alone (:func:`zero_dte_expiries`)
STRIKE_COLUMNS: tuple[str, ...] = ("call_gex_usd_per_1pct", "put_gex_usd_per_1pct", "net_gex_usd_per_1pct",
                                   "call_gex_0dte_usd_per_1pct", "put_gex_0dte_usd_per_1pct",
                                   "net_gex_0dte_usd_per_1pct")
#: the columns of :data:`STRIKE_COLUMNS` (call, put, net) of every expiry and of the 0DTE expiries
ALL_EXPIRY_COLUMNS, ZERO_DTE_COLUMNS = slice(0, 3), slice(3, 6)


@dataclass(frozen=True)
class Summary:
    """What the history keeps of one snapshot (plain values: picklable, JSON-friendly).

    Attributes
    ----------
    underlying, as_of, spot, convention
        The snapshot (``as_of`` time-zone aware) and the dealer sign convention used.
    total_gex_usd_per_1pct, dealer_delta_units, net_vega_usd_per_vol_pt : float
        Headline numbers (USD per 1% move, units of the underlying, USD per vol point).
    zero_gamma_levels : tuple of float
        Every zero crossing of the gamma profile vs spot, ascending.
    call_walls, put_walls : tuple of (strike, GEX)
        The :data:`TOP_WALLS` strikes with the largest call GEX (> 0) and the most negative put GEX (< 0),
        first is the wall (:func:`analytics.exposure.top_walls`).
    hedge_flows : tuple of (shock %, units, USD)
        Dealer hedge flow for each of :data:`FLOW_SHOCKS_PCT` (positive = dealers buy).
    term : tuple of (expiry ISO date, days to expiry, ATM IV, net vega USD per vol pt)
        One per expiry; ATM IV is NaN where it cannot be interpolated.
    strikes : numpy.ndarray
        Strikes, ascending.
    strike_gex : numpy.ndarray
        Shape ``(len(strikes), 6)``: call, put and net GEX of every expiry, then of the 0DTE expiries
        (:data:`STRIKE_COLUMNS`).
    session : str
        The ISO date of the session the snapshot belongs to (:func:`analytics.previous.session_date`).
    zero_dte_expiries : tuple of str
        The ISO expiry dates of the 0DTE columns (:func:`zero_dte_expiries`).
    """

    underlying: str
    as_of: pd.Timestamp
    spot: float
    convention: str
    total_gex_usd_per_1pct: float
    dealer_delta_units: float
    net_vega_usd_per_vol_pt: float
    zero_gamma_levels: tuple[float, ...]
    call_walls: tuple[tuple[float, float], ...]
    put_walls: tuple[tuple[float, float], ...]
    hedge_flows: tuple[tuple[float, float, float], ...]
    term: tuple[tuple[str, float, float, float], ...]
    strikes: np.ndarray
    strike_gex: np.ndarray
    session: str
    zero_dte_expiries: tuple[str, ...]

    def equals(self, other: Summary, rtol: float = 1e-9) -> bool:
        """Same snapshot and same numbers up to ``rtol`` (NaN equals NaN)."""
        same = ("underlying", "as_of", "convention", "session", "zero_dte_expiries")
        if any(getattr(self, k) != getattr(other, k) for k in same):
            return False

        def close(a: Any, b: Any) -> bool:
            a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
            return a.shape == b.shape and bool(np.allclose(a, b, rtol=rtol, atol=0.0, equal_nan=True))

        scalars = ("spot", "total_gex_usd_per_1pct", "dealer_delta_units", "net_vega_usd_per_vol_pt")
        pairs = [(getattr(self, k), getattr(other, k)) for k in scalars]
        pairs += [(self.zero_gamma_levels, other.zero_gamma_levels), (self.call_walls, other.call_walls),
                  (self.put_walls, other.put_walls), (self.hedge_flows, other.hedge_flows),
                  (self.strikes, other.strikes), (self.strike_gex, other.strike_gex),
                  ([t[1:] for t in self.term], [t[1:] for t in other.term])]
        return all(close(a, b) for a, b in pairs) and [t[0] for t in self.term] == [t[0] for t in other.term]


def zero_dte_expiries(chain: OptionChain, expiries: list[dt.date]) -> tuple[dt.date, list[dt.date]]:
    """The snapshot's session and its 0DTE expiries among the live ``expiries``: the page's ``0dte``
    preset (:func:`analytics.calendars.preset_expiries`) on the session date
    (:func:`analytics.previous.session_date`; a Deribit chain's session is its UTC day): the expiries
    of the session date, else (settled already, or none that day) the next live one."""
    from analytics.calendars import preset_expiries
    from analytics.previous import session_date

    session = session_date(pd.Timestamp(chain.as_of), round_the_clock=chain.model == "black76")
    return session, preset_expiries("0dte", expiries, session)


def summarize_chain(chain: OptionChain) -> Summary:
    """Summarise one chain for the history: the store's one call into the analytics.

    Parameters
    ----------
    chain : OptionChain
        Any loaded chain; every live expiry is used, with the default convention and scenario.

    Returns
    -------
    Summary
    """
    from analytics.report import analyze

    result = analyze(chain, band=False)  # the store keeps no headline band: not worth 3 more preparations
    by_strike = result.by_strike
    strikes = by_strike["strike"].to_numpy(float)
    session, zero_dte = zero_dte_expiries(chain, list(result.expiries))
    by_expiry = result.by_strike_expiry
    all_columns = list(STRIKE_COLUMNS[ALL_EXPIRY_COLUMNS])
    in_zero_dte = pd.to_datetime(by_expiry["expiry"]).dt.date.isin(set(zero_dte)).to_numpy()
    zero = (by_expiry.loc[in_zero_dte].groupby("strike")[all_columns].sum()
            .reindex(strikes, fill_value=0.0).to_numpy(float))
    strike_gex = np.column_stack([by_strike[all_columns].to_numpy(float), zero])
    call_walls, put_walls = top_walls(by_strike, TOP_WALLS)  # the page's and the JSON's rule
    curve = result.hedge_curve.set_index("shock_pct")
    flows = tuple(
        (s, float(cast(float, curve.at[s, "hedge_flow_units"])), float(cast(float, curve.at[s, "hedge_flow_usd"])))
        for s in FLOW_SHOCKS_PCT
    )
    ts = result.term_structure
    term = tuple(
        (pd.Timestamp(e).date().isoformat(), float(d), float(iv), float(v))
        for e, d, iv, v in zip(ts["expiry"], ts["days_to_expiry"], ts["atm_iv"], ts["net_vega_usd_per_vol_pt"],
                               strict=True)
    )
    return Summary(
        underlying=result.underlying,
        as_of=pd.Timestamp(result.as_of),
        spot=float(result.spot),
        convention=result.convention,
        total_gex_usd_per_1pct=result.total_gex_usd_per_1pct,
        dealer_delta_units=result.dealer_delta_units,
        net_vega_usd_per_vol_pt=result.net_vega_usd_per_vol_pt,
        zero_gamma_levels=tuple(float(z) for z in result.zero_gamma_levels),
        call_walls=tuple(call_walls),
        put_walls=tuple(put_walls),
        hedge_flows=flows,
        term=term,
        strikes=strikes,
        strike_gex=strike_gex,
        session=session.isoformat(),
        zero_dte_expiries=tuple(d.isoformat() for d in zero_dte),
    )


class Outcome(NamedTuple):
    """What summarising one file gave: a summary, or the reason it is not a snapshot."""

    summary: Summary | None
    reason: str | None


def summarize_file(path: str | Path, loader: Callable[[Path], OptionChain] | None = None, *,
                   root: str | Path | None = None) -> Outcome:
    """Load and summarise one file; a positions file or a broken file gives its reason instead.

    A top-level function of plain arguments, so process pools and Dask workers can run it. With
    ``root`` (the data folder), every read is confined to it
    (:func:`analytics.sources.common.confined_to`): a link pointed outside after the listing is refused.
    """
    from analytics.sources import detect_format, load_chain
    from analytics.sources.common import confined_to

    path = Path(path)
    try:
        with confined_to(root) if root is not None else contextlib.nullcontext():
            if detect_format(path) == "book":
                return Outcome(None, "positions (book) file")
            chain = (loader or load_chain)(path)
        return Outcome(summarize_chain(chain), None)
    except ChainDataError as exc:
        return Outcome(None, ChainDataError(exc.reason, line=exc.line, field=exc.field).message)
