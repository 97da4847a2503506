"""One call from a chain to every number mmpos shows: :func:`analyze` -> :class:`Analysis`.

The CLI prints ``Analysis.to_dict()`` as JSON; the dashboard draws the same object. Every gamma and
delta below comes from one engine (:mod:`analytics.scenarios` over :mod:`analytics.pricing`).
"""

from __future__ import annotations

import datetime as dt
import functools
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from analytics import exposure, pricing, scenarios, term
from analytics.chain import OptionChain
from analytics.errors import ChainDataError
from analytics.prepare import PreparedChain, prepare_chain

DEFAULT_SHOCKS_PCT: tuple[float, ...] = tuple(float(x) for x in range(-20, 21))
DEFAULT_SPOT_RANGE: tuple[float, float] = (0.7, 1.3)
DEFAULT_GRID_POINTS = 601  # 0.1% of spot between points over 0.7x-1.3x

CONVENTIONS_TEXT = {
    "units": {
        "gex": "USD per 1% move of the underlying (gamma x contracts x multiplier x S^2 x 0.01)",
        "dealer_delta": "units of the underlying (shares, index units, coins)",
        "hedge_flow": "units and USD; positive = dealers buy",
        "vega": "USD per 1 vol point",
        "iv": "decimal (0.20 = 20%)",
    },
    "sign": "positive GEX = dealers long gamma",
    "time": "ACT/365 in seconds from the snapshot to settlement (US AM 09:30 NY, PM 16:00 NY, Deribit 08:00 UTC)",
}


def positions_from_prepared(prep: PreparedChain, convention: str) -> scenarios.Positions:
    """Engine inputs: every row's dealer weight (signed contracts x multiplier) under ``convention``."""
    rows = prep.chain.rows
    contracts = exposure.dealer_contracts(prep.side, rows["open_interest"].to_numpy(float), convention,
                                          rows["position"].to_numpy(float))
    return scenarios.Positions(
        spot=prep.chain.spot, level=prep.level, strike=rows["strike"].to_numpy(float), years=prep.years,
        iv=prep.iv, side=prep.side, rate=prep.rate, carry=prep.carry, weight=contracts * prep.multiplier,
    )


@dataclass(frozen=True)
class Analysis:
    """Everything mmpos shows for one chain, expiry set, convention and scenario."""

    underlying: str
    as_of: pd.Timestamp
    spot: float
    multiplier: float
    convention: str
    model: str
    source: str
    expiries: list[dt.date]
    total_gex_usd_per_1pct: float
    call_wall: float | None
    put_wall: float | None
    zero_gamma_levels: list[float]
    dealer_delta_units: float
    net_vega_usd_per_vol_pt: float
    by_strike: pd.DataFrame
    gamma_profile: pd.DataFrame
    hedge_curve: pd.DataFrame
    hedge_curves: dict[float, pd.DataFrame]
    scenario: dict[str, float]
    warnings: list[str] = field(default_factory=list)
    # inputs of the per-expiry views, computed on first access (a caller that needs only the
    # headline numbers, e.g. the previous snapshot's KPIs, does not pay for them)
    _per_row: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @functools.cached_property
    def by_strike_expiry(self) -> pd.DataFrame:
        """Call, put and net GEX per (strike, expiry)."""
        r = self._per_row
        return exposure.gex_by_strike_expiry(r["strike"], r["expiry"], r["side"], r["gex"])

    @functools.cached_property
    def by_expiry(self) -> pd.DataFrame:
        """Call, put and net GEX per expiry."""
        cols = ["call_gex_usd_per_1pct", "put_gex_usd_per_1pct", "net_gex_usd_per_1pct"]
        return self.by_strike_expiry.groupby("expiry", sort=True)[cols].sum().reset_index()

    @functools.cached_property
    def term_structure(self) -> pd.DataFrame:
        """Per expiry: days to expiry, ATM IV at the forward, net dealer vega (USD per vol point)."""
        r = self._per_row
        return term.term_structure(r["expiry"], r["days"], r["strike"].to_numpy(float), r["side"], r["iv"],
                                   r["forward"], r["vega"])

    def to_dict(self) -> dict[str, Any]:
        """The JSON contract of ``mmpos analyze`` (finite floats, ISO dates, conventions stated)."""

        def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
            out = []
            for rec in frame.to_dict(orient="records"):
                out.append({k: _jsonable(v) for k, v in rec.items()})
            return out

        return {
            "underlying": self.underlying,
            "as_of": self.as_of.isoformat(),
            "spot": self.spot,
            "multiplier": self.multiplier,
            "convention": self.convention,
            "model": self.model,
            "source": self.source,
            "expiries": [d.isoformat() for d in self.expiries],
            "total_gex_usd_per_1pct": self.total_gex_usd_per_1pct,
            "call_wall": self.call_wall,
            "put_wall": self.put_wall,
            "zero_gamma_levels": self.zero_gamma_levels,
            "dealer_delta_units": self.dealer_delta_units,
            "net_vega_usd_per_vol_pt": self.net_vega_usd_per_vol_pt,
            "scenario": self.scenario,
            "by_strike": records(self.by_strike),
            "by_expiry": records(self.by_expiry),
            "gamma_profile": records(self.gamma_profile),
            "hedge_curve": records(self.hedge_curve),
            "term_structure": records(self.term_structure[["expiry", "days_to_expiry", "atm_iv",
                                                           "net_vega_usd_per_vol_pt"]]),
            "units": CONVENTIONS_TEXT,
            "warnings": list(self.warnings),
        }


def _jsonable(v: Any) -> Any:
    if isinstance(v, dt.date):
        return v.isoformat()
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


def analyze(
    chain: OptionChain,
    *,
    expiries: list[dt.date | str] | None = None,
    max_dte: float | None = None,
    convention: str = exposure.DEFAULT_CONVENTION,
    rate: float = 0.0,
    div_yield: float = 0.0,
    multiplier: float | None = None,
    shocks_pct: list[float] | tuple[float, ...] | None = None,
    horizon_days: float = 0.0,
    compare_horizons_days: tuple[float, ...] = (),
    spot_range: tuple[float, float] = DEFAULT_SPOT_RANGE,
    grid_points: int = DEFAULT_GRID_POINTS,
    vol_shift_pts: float = 0.0,
    spot_vol_beta: float = 0.0,
    forward: str = "spot",
    iv_policy: str = "file",
) -> Analysis:
    """Dealer gamma by strike, walls, gamma profile vs spot with every zero crossing, hedge curves and
    the vega term structure for one chain.

    Parameters
    ----------
    chain : OptionChain
    expiries, max_dte : optional
        Expiry filter (dates) and/or a maximum of calendar days to expiry.
    convention : str
        Dealer sign convention, one of ``analytics.exposure.CONVENTIONS``.
    rate, div_yield : float
        Continuously compounded, decimals (BSM rows); Black-76 rows use ``rate`` only.
    multiplier : float, optional
        Overrides the rows' contract multiplier.
    shocks_pct : sequence of float
        Spot shocks for the hedge curve, percent (default -20..+20 step 1).
    horizon_days : float
        Revalue the hedge curve this many days later (options settling in between drop out).
    compare_horizons_days : tuple of float
        Extra horizons for which hedge curves are also computed (``hedge_curves``).
    spot_range : (float, float)
        The gamma-profile grid as fractions of spot (default 0.7-1.3).
    grid_points : int
        Points of the gamma-profile grid.
    vol_shift_pts, spot_vol_beta : float
        Vol scenario applied to the profile and the hedge curves: IV moves by
        ``vol_shift_pts + spot_vol_beta * shock_pct`` vol points. The headline numbers at the current
        spot (total, walls, by strike, vega) use the chain's IVs.
    """
    if convention not in exposure.CONVENTIONS:
        raise ChainDataError(f"unknown convention {convention!r}; choose one of {', '.join(exposure.CONVENTIONS)}")
    lo, hi = (float(x) for x in spot_range)
    if not (0 < lo < 1 < hi):
        raise ChainDataError(f"spot range must bracket 1.0 as fractions of spot, got {lo:g},{hi:g}")
    if grid_points < 3:
        raise ChainDataError("the spot grid needs at least 3 points")
    if not all(math.isfinite(float(h)) and float(h) >= 0 for h in (horizon_days, *compare_horizons_days)):
        raise ChainDataError("horizon days must be finite and not negative")
    shocks = np.asarray(DEFAULT_SHOCKS_PCT if shocks_pct is None else shocks_pct, dtype=float)
    if shocks.size == 0 or np.any(~np.isfinite(shocks)) or np.any(shocks <= -100):
        raise ChainDataError("shocks must be finite percentages above -100")

    selected = chain.select(expiries=expiries, max_dte=max_dte) if (expiries or max_dte is not None) else chain
    prep = prepare_chain(selected, rate=rate, div_yield=div_yield, multiplier=multiplier, forward=forward,
                         iv_policy=iv_policy)
    rows = prep.chain.rows
    pos_all = positions_from_prepared(prep, convention)
    nonzero = pos_all.weight != 0
    pos = pos_all.take(nonzero)

    # Per-row greeks at the current spot: by-strike bars, walls, headline total, vega
    g = pricing.greeks(prep.level, rows["strike"].to_numpy(float), prep.years, prep.iv, prep.side,
                       prep.rate, prep.carry)
    gex_rows = exposure.gex_usd_per_1pct(g.gamma, pos_all.weight / prep.multiplier, prep.multiplier, prep.level)
    by_strike = exposure.gex_by_strike(rows["strike"], prep.side, gex_rows)
    call_wall, put_wall = exposure.walls(by_strike)
    vega_rows = pos_all.weight * g.vega * 0.01
    forward = prep.level * np.exp((prep.rate - prep.carry) * prep.years)

    # Gamma profile vs spot and its zero crossings: the grid engine
    factors = np.linspace(lo, hi, int(grid_points))
    scen = {"vol_shift_pts": float(vol_shift_pts), "spot_vol_beta": float(spot_vol_beta)}
    gex_grid, _ = scenarios.revalue_grid(pos, factors, want_delta=False, **scen)
    zeros = scenarios.zero_crossings(pos, factors, gex_grid, **scen)

    # Hedge curves: D(S1) at the horizon vs D(S0) now
    shock_factors = 1.0 + shocks / 100.0
    _, delta_now = scenarios.revalue_grid(pos, [1.0])
    d0 = float(delta_now[0])

    def curve(h: float) -> pd.DataFrame:
        ph = pos.at_horizon(h)
        _, d = scenarios.revalue_grid(ph, shock_factors, **scen)
        flow_units = -(d - d0)
        s1 = chain.spot * shock_factors
        return pd.DataFrame({"shock_pct": shocks, "spot": s1, "dealer_delta_units": d,
                             "hedge_flow_units": flow_units, "hedge_flow_usd": flow_units * s1})

    horizons = [float(horizon_days)] + [float(h) for h in compare_horizons_days if float(h) != float(horizon_days)]
    curves = {h: curve(h) for h in horizons}

    warnings = list(prep.chain.warnings) + list(prep.warnings)
    if not nonzero.any():
        warnings.append("every selected contract has zero open interest/position: exposures are zero")
    mult_val = float(np.median(prep.multiplier))
    return Analysis(
        underlying=chain.underlying,
        as_of=chain.as_of,
        spot=chain.spot,
        multiplier=mult_val,
        convention=convention,
        model=chain.model,
        source=chain.source,
        expiries=prep.chain.expiries,
        total_gex_usd_per_1pct=float(gex_rows.sum()),
        call_wall=call_wall,
        put_wall=put_wall,
        zero_gamma_levels=zeros,
        dealer_delta_units=d0,
        net_vega_usd_per_vol_pt=float(vega_rows.sum()),
        by_strike=by_strike,
        gamma_profile=pd.DataFrame({"spot": factors * chain.spot, "gex_usd_per_1pct": gex_grid}),
        hedge_curve=curves[float(horizon_days)],
        hedge_curves=curves,
        scenario={**scen, "horizon_days": float(horizon_days), "rate": float(rate), "div_yield": float(div_yield)},
        warnings=warnings,
        _per_row={"strike": rows["strike"], "expiry": rows["expiry"], "side": prep.side, "gex": gex_rows,
                  "days": prep.years * 365.0, "iv": prep.iv, "forward": forward, "vega": vega_rows},
    )
