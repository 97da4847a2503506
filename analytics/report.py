"""One call from a chain to every number mmpos shows: :func:`analyze` -> :class:`Analysis`.

The CLI prints ``Analysis.to_dict()`` as JSON; the dashboard draws the same object. Every gamma and
delta below comes from one engine (:mod:`analytics.scenarios` over :mod:`analytics.pricing`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from analytics import conventions, exposure, maxpain, notes, pricing, scenarios, term
from analytics import forwards as fwd
from analytics import headline as hl
from analytics.adv import pct_of_adv
from analytics.chain import OptionChain
from analytics.errors import ChainDataError, ScenarioError
from analytics.notes import Note
from analytics.prepare import (
    FORWARD_CHOICES,
    IV_POLICIES,
    IV_POLICY_TEXT,
    PreparedChain,
    model_text,
    per_rows,
    prepare_chain,
    row_years,
)
from analytics.scenario import Scenario, VolScenario
from analytics.smile import smile as smile_points
from analytics.smile import wings_25d

CONVENTIONS_TEXT: dict[str, Any] = {
    "units": {
        "gex": "USD per 1% move of the underlying (gamma x contracts x multiplier x S^2 x 0.01)",
        "dealer_delta": "units of the underlying (shares, index units, coins)",
        "hedge_flow": "units and USD; positive = dealers buy",
        "hedge_flow_pct_adv": "hedge flow in units / the underlying's average daily volume (adv_units_per_day, "
                              "from the data folder's adv.toml) x 100; null when no ADV is known",
        "vega": "USD per 1 vol point",
        "iv": "decimal (0.20 = 20%)",
        "max_pain": "by_expiry: the listed strike minimising holders' intrinsic payout at expiry (open interest x "
                    "multiplier of the analysed rows); max_pain_payout_usd is that payout",
        "smile": "by_expiry: column arrays strike, log_moneyness ln(K/F), iv (the OTM side's; 6 decimals); rr25_vol_pts = 100 (iv_25d_call - "
                 "iv_25d_put), bf25_vol_pts = 100 (mean of the two - atm_iv), 25-delta IVs interpolated in Black-76 "
                 "forward delta, null with rr25_note/bf25_note where the point lies beyond the quoted strikes",
    },
    "sign": "positive GEX = dealers long gamma",
    "time": "ACT/365 in seconds from the snapshot to settlement (US AM 09:30 NY, PM 16:00 NY, Deribit 08:00 UTC)",
    "forwards": "per expiry: forward F (underlying's currency), discount factor D, implied_rate -ln(D)/T, "
                "forward_basis_pct 100 (F/S - 1)",
    "warnings": "{code, message, rows, contracts (open interest), share_of_gross (of gross GEX, 0-1), "
                "share_of_flow (of the gross +5% hedge flow, 0-1), value}",
    "walls": f"call_walls/put_walls: the {exposure.TOP_WALLS} strikes with the largest call GEX (most negative "
             "put GEX), the wall first; share_of_top = GEX / the wall's GEX (the runner-up's margin is 1 - it)",
    "headline": hl.RULE_TEXT,
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
    scenario: Scenario
    warnings: list[str] = field(default_factory=list)
    # the structured form of the warnings that have one (rows, contracts, shares); ``warnings`` holds
    # every message, in order, for the page's data notes
    notes: list[Note] = field(default_factory=list)
    model_description: str = ""
    forwards: pd.DataFrame | None = None
    # the underlying's average daily volume (units per day) from the data folder's adv.toml, set by
    # the caller that knows the folder (analytics.adv); None: flows are not sized against volume
    adv_units: float | None = None
    # the headline under every reasonable treatment and its regime (analytics.headline); None when
    # analyze was asked for no band
    headline: hl.Headline | None = None
    # inputs of the per-expiry views, computed on first access (a caller that needs only the
    # headline numbers, e.g. the previous snapshot's KPIs, does not pay for them)
    _per_row: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @functools.cached_property
    def walls(self) -> dict[str, list[dict[str, float]]]:
        """``{"call_walls": [...], "put_walls": [...]}``: the :data:`~analytics.exposure.TOP_WALLS`
        strongest strikes per side, the wall first, each ``{strike, gex_usd_per_1pct, share_of_top}``
        (GEX over the wall's GEX: a runner-up at 0.95 is within 5% of taking the wall)."""
        calls, puts = exposure.top_walls(self.by_strike)
        return {name: [{"strike": k, "gex_usd_per_1pct": g, "share_of_top": g / side[0][1]} for k, g in side]
                for name, side in (("call_walls", calls), ("put_walls", puts))}

    @functools.cached_property
    def by_strike_expiry(self) -> pd.DataFrame:
        """Call, put and net GEX per (strike, expiry)."""
        r = self._per_row
        return exposure.gex_by_strike_expiry(r["strike"], r["expiry"], r["side"], r["gex"])

    @functools.cached_property
    def by_expiry(self) -> pd.DataFrame:
        """Call, put and net GEX per expiry, then :attr:`expiry_stats` (max pain, 25-delta wings)."""
        cols = ["call_gex_usd_per_1pct", "put_gex_usd_per_1pct", "net_gex_usd_per_1pct"]
        gex = self.by_strike_expiry.groupby("expiry", sort=True)[cols].sum().reset_index()
        return gex.merge(self.expiry_stats, on="expiry", how="left")

    @functools.cached_property
    def max_pain_payout(self) -> pd.DataFrame:
        """Holders' payout per expiry if it settles at each listed strike (:func:`analytics.maxpain.payout_by_strike`)."""
        r = self._per_row
        return maxpain.payout_by_strike(r["expiry"], r["strike"], r["side"], r["units"])

    @functools.cached_property
    def smile(self) -> pd.DataFrame:
        """Per (expiry, strike): log_moneyness ln(K/F), iv (the policy in force, OTM side) and Black-76
        call_delta (:func:`analytics.smile.smile`, on the term structure's forward and time)."""
        r, ts = self._per_row, self.term_structure.set_index("expiry")
        return smile_points(r["expiry"], r["strike"], r["side"], r["iv"], ts["forward"], ts["days_to_expiry"] / 365.0)

    @functools.cached_property
    def expiry_stats(self) -> pd.DataFrame:
        """Per expiry: max pain (:func:`analytics.maxpain.max_pain`) and the 25-delta IVs, risk reversal and
        butterfly in vol points (:func:`analytics.smile.wings_25d`), each NaN with a ``*_note`` saying why."""
        wings = wings_25d(self.smile, self.term_structure.set_index("expiry")["atm_iv"])
        return maxpain.max_pain(self.max_pain_payout).merge(wings, on="expiry", how="outer")

    @functools.cached_property
    def vanna_charm_by_strike(self) -> pd.DataFrame:
        """Call, put and net dealer vanna (USD delta per vol point) and charm (USD delta per day) per
        strike at the current spot (:func:`analytics.exposure.vanna_charm_by_strike`)."""
        return exposure.vanna_charm_by_strike(self._per_row["positions"])

    @functools.cached_property
    def term_structure(self) -> pd.DataFrame:
        """Per expiry: days to expiry, ATM IV at the forward, net dealer vega (USD per vol point)."""
        r = self._per_row
        return term.term_structure(r["expiry"], r["days"], r["strike"].to_numpy(float), r["side"], r["iv"],
                                   r["forward"], r["vega"])

    def to_dict(self) -> dict[str, Any]:
        """The JSON contract of ``mmpos analyze`` (finite floats, ISO dates, conventions stated)."""

        smile_json = _columns_by_expiry(self.smile, ("strike", "log_moneyness", "iv"), SMILE_JSON_DECIMALS)
        return {
            "underlying": self.underlying,
            "as_of": self.as_of.isoformat(),
            "spot": self.spot,
            "multiplier": self.multiplier,
            "convention": self.convention,
            "model": self.model_description or self.model,
            "pricing_model": self.model,
            "source": self.source,
            "expiries": [d.isoformat() for d in self.expiries],
            "total_gex_usd_per_1pct": self.total_gex_usd_per_1pct,
            "call_wall": self.call_wall,
            "put_wall": self.put_wall,
            **self.walls,
            "zero_gamma_levels": self.zero_gamma_levels,
            "headline": None if self.headline is None else self.headline.to_dict(),
            "dealer_delta_units": self.dealer_delta_units,
            "net_vega_usd_per_vol_pt": self.net_vega_usd_per_vol_pt,
            "scenario": self.scenario.to_dict(),
            "by_strike": json_records(self.by_strike),
            "by_expiry": [{**rec, "smile": smile_json.get(rec["expiry"], {})} for rec in json_records(self.by_expiry)],
            "gamma_profile": json_records(self.gamma_profile),
            "hedge_curve": json_records(self.hedge_curve.assign(
                hedge_flow_pct_adv=pct_of_adv(self.hedge_curve["hedge_flow_units"], self.adv_units))),
            "adv_units_per_day": self.adv_units,
            "term_structure": json_records(self.term_structure[["expiry", "days_to_expiry", "atm_iv",
                                                           "net_vega_usd_per_vol_pt"]]),
            "forwards": [] if self.forwards is None else json_records(self.forwards),
            "units": {**CONVENTIONS_TEXT,
                      "units": {**CONVENTIONS_TEXT["units"],
                                "iv": f"{CONVENTIONS_TEXT['units']['iv']}; policy "
                                      f"{IV_POLICY_TEXT[self.scenario.iv_policy]}"},
                      "model": self.model_description or self.model,
                      "convention": conventions.units_text(self.convention)},
            "warnings": self.structured_warnings(),
        }

    def structured_warnings(self) -> list[dict[str, Any]]:
        """Every warning as ``{code, message, rows, contracts, share_of_gross, share_of_flow, value}``:
        a note's numbers where the message is a note's, else code ``"load"`` and nulls (loader and page
        messages carry only text)."""
        by_message = {n.message: n for n in self.notes}
        out = []
        for message in self.warnings:
            n = by_message.get(message)
            out.append(n.to_dict() if n is not None else
                       {"code": "load", "message": message, "rows": None, "contracts": None,
                        "share_of_gross": None, "share_of_flow": None, "value": None})
        return out


SMILE_JSON_DECIMALS = 6  # log-moneyness and IV in the JSON smile: 1e-6 is far below any quote's precision


def _columns_by_expiry(frame: pd.DataFrame, columns: tuple[str, ...],
                       decimals: int | None = None) -> dict[str, dict[str, list[float | None]]]:
    """``frame``'s float ``columns`` per ISO expiry as column arrays (``{"strike": [...], "iv": [...]}``,
    NaN/inf -> None), for a frame sorted by expiry: thousands of smile points converted column-wise,
    and written as arrays rather than one object per point (7x smaller JSON, 3x faster to write)."""
    expiry = frame["expiry"].to_numpy(object)
    if not expiry.size:
        return {}
    change = np.ones(expiry.size, dtype=bool)
    change[1:] = expiry[1:] != expiry[:-1]  # each expiry's rows are one run: its first row starts it
    dates = expiry[change]
    starts = np.r_[np.flatnonzero(change), expiry.size]
    out: dict[str, dict[str, list[float | None]]] = {d.isoformat(): {} for d in dates}
    for name in columns:
        a = frame[name].to_numpy(float)
        if decimals is not None and name != "strike":
            a = np.round(a, decimals)
        column: list[float | None] = a.tolist()
        for missing in np.flatnonzero(~np.isfinite(a)):
            column[missing] = None
        for i, d in enumerate(dates):
            out[d.isoformat()][name] = column[starts[i]:starts[i + 1]]
    return out


def json_records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """``frame``'s rows as JSON-ready dicts keyed by ``str(column)``: numbers as Python numbers (NaN/inf
    -> None), dates ISO, what ``frame.to_dict("records")`` then :func:`_jsonable` gives, built column by
    column (``tolist`` on the numpy columns, one zip over them) instead of a pandas pass per row.

    Examples
    --------
    >>> json_records(pd.DataFrame({"expiry": [dt.date(2024, 1, 19)], "iv": [float("nan")], "n": [3]}))
    [{'expiry': '2024-01-19', 'iv': None, 'n': 3}]
    """
    names = [str(c) for c in frame.columns]
    if not names:
        return [{} for _ in range(len(frame))]
    columns = [_json_column(column) for _, column in frame.items()]
    return [dict(zip(names, row, strict=True)) for row in zip(*columns, strict=True)]


def _json_column(column: pd.Series) -> list[Any]:
    """One column as :func:`_jsonable` values: numpy floats, ints and bools converted in one ``tolist``."""
    dtype = column.dtype
    if isinstance(dtype, np.dtype) and dtype.kind in "fiub":
        a = column.to_numpy()
        out: list[Any] = a.tolist()
        if dtype.kind == "f":
            for i in np.flatnonzero(~np.isfinite(a)):
                out[i] = None
        return out
    return [_jsonable(v) for v in column.to_numpy(dtype=object).tolist()]  # Arrow strings: no per-item access


def _jsonable(v: Any) -> Any:
    if isinstance(v, dt.date):
        return v.isoformat()
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


# What preparing a chain (:func:`prepare_for`) reads from a Scenario: the expiry selection and the
# pricing inputs. The convention, shocks, horizons, vol scenario and grid leave the prepared inputs
# unchanged, so one preparation serves every one of them (dashboard.service caches it by this key).
PREPARE_FIELDS: tuple[str, ...] = ("expiries", "max_dte", "rate", "div_yield", "multiplier",
                                   "adjusted_deliverables", "forward", "iv_policy", "without_notes")


def preparation(scenario: Scenario) -> Scenario:
    """The part of ``scenario`` :func:`prepare_for` reads (:data:`PREPARE_FIELDS`; every other field
    at its default): equal preparations give identical prepared inputs, so it is a cache key.

    Examples
    --------
    >>> preparation(Scenario(convention="dealer-short-all", shocks_pct=(-1, 1))) == preparation(Scenario())
    True
    >>> preparation(Scenario(rate=0.05)) == preparation(Scenario())
    False
    """
    return Scenario(**{name: getattr(scenario, name) for name in PREPARE_FIELDS})


def prepare_for(chain: OptionChain, scenario: Scenario) -> PreparedChain:
    """The scenario's expiry selection of ``chain`` with its engine inputs (:func:`prepare_chain`), read
    from :func:`preparation` only: levels, rates and carry (the parity fit of the whole chain, so an
    expiry's forward does not depend on the selection) and one IV per row.

    Raises ChainDataError when no expiry is left or no row has a usable IV.
    """
    p = preparation(scenario)
    # the chain's last expiry selection is kept, shared by the headline band's treatments (and their
    # treatment-independent row groups with it, :func:`analytics.prepare.per_rows`); one per chain, so a
    # server holding many chains keeps no more than one selected copy of each
    selected = chain
    if p.expiries or p.max_dte is not None:
        key = (chain.as_of, p.expiries, p.max_dte)
        last: dict[tuple[Any, ...], pd.DataFrame] = per_rows(chain.rows, "last-selection", dict)
        rows = last.get(key)
        if rows is None:
            rows = chain.select(expiries=list(p.expiries or ()), max_dte=p.max_dte).rows
            last.clear()
            last[key] = rows
        selected = dataclasses.replace(chain, rows=rows)
    # the parity fit of the whole snapshot, once per chain object: an expiry's forward does not depend
    # on the expiry filter, and a new scenario does not refit
    fit = (fwd.chain_forwards(chain, rate=p.rate, div_yield=p.div_yield, years=row_years(chain))
           if chain.model == "bsm" else None)
    prep = prepare_chain(selected, rate=p.rate, div_yield=p.div_yield, multiplier=p.multiplier,
                         adjusted_deliverables=p.adjusted_deliverables, forward=p.forward, iv_policy=p.iv_policy,
                         forwards=fit)
    return without_notes(prep, p.without_notes) if p.without_notes else prep


def without_notes(prep: PreparedChain, codes: tuple[str, ...]) -> PreparedChain:
    """``prep`` without the rows of its notes coded ``codes`` (data repairs,
    :data:`analytics.notes.ROW_REPAIRS`); those notes give way to one ``without-notes`` note counting
    the rows left out.

    Raises ChainDataError when no row is left.
    """
    mask = np.zeros(len(prep.iv), dtype=bool)
    for n in prep.notes:
        if n.code in codes and n.mask is not None:
            mask |= n.mask
    keep = ~mask
    rows = prep.chain.rows
    oi = rows["open_interest"].to_numpy(float)
    note = notes.row_note("without-notes", f"left out {int(mask.sum()):,} row(s) of {', '.join(codes)} (--without-note; "
                          f"{int(oi[mask].sum()):,} contracts of open interest)", mask, oi, keep_mask=False)
    if not keep.any():
        raise ChainDataError(f"no row left without {', '.join(codes)}", path=prep.chain.source or None)
    kept = tuple(dataclasses.replace(n, mask=None if n.mask is None else n.mask[keep])
                 for n in prep.notes if n.code not in codes) + (note,)
    arrays = {f.name: getattr(prep, f.name)[keep] for f in dataclasses.fields(prep)
              if isinstance(getattr(prep, f.name), np.ndarray) and getattr(prep, f.name).shape == keep.shape}
    return dataclasses.replace(prep, chain=prep.chain.with_rows(rows.loc[keep]), notes=kept,
                               warnings=tuple(n.message for n in kept), **arrays)


# An input too large overflows to inf (then inf - inf to NaN) somewhere in the sums: _require_finite refuses
# such a result naming it, so numpy's own overflow warnings would only print noise on stderr beside that refusal.
@np.errstate(over="ignore", invalid="ignore")
def analyze(chain: OptionChain, scenario: Scenario | None = None, *, prepared: PreparedChain | None = None,
            prepare: Callable[[Scenario], PreparedChain] | None = None, band: bool = True,
            **changes: Any) -> Analysis:
    """Dealer gamma by strike, walls, gamma profile vs spot with every zero crossing, hedge curves and
    the vega term structure for one chain under one :class:`~analytics.scenario.Scenario`.

    Parameters
    ----------
    chain : OptionChain
    scenario : Scenario, optional
        Expiry set, convention, rates, shocks, horizon, vol scenario and grid (default: ``Scenario()``).
        The vol scenario moves every IV by ``vol_shift_pts + spot_vol_beta * shock_pct`` vol points in
        the profile and the hedge curves; the headline numbers at the current spot (total, walls, by
        strike, vega) use the chain's IVs.
    prepared : PreparedChain, optional
        ``prepare_for(chain, scenario)`` computed before (a cache's): it must be of this chain and of
        an equal :func:`preparation`. Default: prepared here.
    prepare : callable, optional
        ``prepare(scenario) -> PreparedChain`` for the headline band's other treatments (a cache's,
        e.g. the dashboard's per file version and :func:`preparation`); default :func:`prepare_for`.
    band : bool, default True
        Compute :attr:`Analysis.headline` (the headline under every treatment, :mod:`analytics.headline`)
        and the ``ill-conditioned`` note from it; False: neither (benchmarks measure its cost).
    **changes
        Shorthand for ``scenario.replace(**changes)``: ``analyze(chain, expiries=["2024-01-19"])``.

    Raises
    ------
    ScenarioError
        A scenario value out of range, or one this chain cannot take (a vol shift below minus its
        lowest IV, ``book`` without positions).
    ChainDataError
        No expiry left after the filter, no usable IV, or a result that is not a finite number.
    """
    scenario = (scenario or Scenario()).replace(**changes) if changes else (scenario or Scenario())
    prep = prepare_for(chain, scenario) if prepared is None else prepared
    scenario.check_against(prep.chain, iv=prep.iv)
    rows = prep.chain.rows
    spot = prep.chain.spot  # the file's, or the spot the quotes imply where the file's is stale
    pos_all = positions_from_prepared(prep, scenario.convention)
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
    lo, hi = scenario.spot_range
    factors = np.linspace(lo, hi, scenario.grid_points)
    vol = scenario.vol  # the one vol-scenario value both grid engines receive
    gex_grid, _ = scenarios.revalue_grid(pos, factors, want_delta=False, vol=vol)
    zeros = scenarios.zero_crossings(pos, factors, gex_grid, vol=vol)

    # Hedge curves: D(S1) at the horizon vs D(S0) now
    shocks = np.asarray(scenario.shocks_pct, dtype=float)
    shock_factors = 1.0 + shocks / 100.0
    _, delta_now = scenarios.revalue_grid(pos, [1.0])
    d0 = float(delta_now[0])

    def curve(h: float) -> pd.DataFrame:
        ph = pos.at_horizon(h)
        _, d = scenarios.revalue_grid(ph, shock_factors, vol=vol)
        flow_units = -(d - d0)
        s1 = spot * shock_factors
        return pd.DataFrame({"shock_pct": shocks, "spot": s1, "dealer_delta_units": d,
                             "hedge_flow_units": flow_units, "hedge_flow_usd": flow_units * s1})

    horizons = [scenario.horizon_days] + [h for h in scenario.compare_horizons_days if h != scenario.horizon_days]
    curves = {h: curve(h) for h in horizons}

    # Data notes with numbers: each note's share of gross GEX and of the gross +5% flow (per-row dealer
    # delta change from the same engine)
    delta_up = scenarios.row_greeks(pos_all, 1.0 + notes.FLOW_SHOCK_PCT / 100.0).delta
    delta_change = pos_all.weight * (delta_up - g.delta)
    quantified = [notes.quantify(n, gex_rows, delta_change) for n in prep.notes]
    if prep.placeholder_smile is not None:  # placeholder rows sized at their expiry's smile, not the placeholder
        sane = replace(pos_all, iv=np.where(np.isfinite(prep.placeholder_smile), prep.placeholder_smile, prep.iv))
        g_sane = scenarios.row_greeks(sane)
        gex_sane = exposure.gex_usd_per_1pct(g_sane.gamma, sane.weight / prep.multiplier, prep.multiplier,
                                             prep.level)
        change_sane = sane.weight * (scenarios.row_greeks(sane, 1.0 + notes.FLOW_SHOCK_PCT / 100.0).delta
                                     - g_sane.delta)
        quantified = [notes.quantify(n, gex_sane, change_sane) if n.code == "iv-placeholder" else n
                      for n in quantified]
    if prep.file_spot is not None:
        quantified.insert(0, notes.stale_spot(prep.file_spot, spot, zeros, curves[scenario.horizon_days]))
    warnings = list(prep.chain.warnings) + [n.message for n in quantified]
    if not nonzero.any():
        warnings.append("every selected contract has zero open interest/position: exposures are zero")
    mult_val = float(np.median(prep.multiplier))
    total = float(gex_rows.sum())
    vega_total = float(vega_rows.sum())
    _require_finite({"total GEX": total, "dealer delta": d0, "net vega": vega_total,
                     "GEX by strike": by_strike["net_gex_usd_per_1pct"].to_numpy(), "gamma profile": gex_grid,
                     **{f"hedge curve at +{h:g} days": c["hedge_flow_usd"].to_numpy() for h, c in curves.items()}},
                    source=chain.source)
    headline = None
    if band:  # the headline under every treatment, and the ill-conditioned flag from its band
        own = _Numbers(prep, pos_all, gex_rows, (call_wall, put_wall), gex_grid, zeros)
        headline = _headline(chain, scenario, own, quantified, factors, vol,
                             prepare or functools.partial(prepare_for, chain))
        fragile = hl.ill_conditioned_note(headline, spot, zeros, factors * spot, gex_grid)
        if fragile is not None:
            quantified.append(fragile)
            warnings.append(fragile.message)
    return Analysis(
        underlying=chain.underlying,
        as_of=chain.as_of,
        spot=spot,
        multiplier=mult_val,
        convention=scenario.convention,
        model=chain.model,
        source=chain.source,
        expiries=prep.chain.expiries,
        total_gex_usd_per_1pct=total,
        call_wall=call_wall,
        put_wall=put_wall,
        zero_gamma_levels=zeros,
        dealer_delta_units=d0,
        net_vega_usd_per_vol_pt=vega_total,
        by_strike=by_strike,
        gamma_profile=pd.DataFrame({"spot": factors * spot, "gex_usd_per_1pct": gex_grid}),
        hedge_curve=curves[scenario.horizon_days],
        hedge_curves=curves,
        scenario=scenario,
        warnings=warnings,
        notes=quantified,
        model_description=model_text(chain.model, scenario.forward, scenario.iv_policy, scenario.rate,
                                     scenario.div_yield),
        forwards=prep.priced_forwards(),
        headline=headline,
        _per_row={"strike": rows["strike"], "expiry": rows["expiry"], "side": prep.side, "gex": gex_rows,
                  "days": prep.years * 365.0, "iv": prep.iv, "forward": forward, "vega": vega_rows,
                  "positions": pos, "units": rows["open_interest"].to_numpy(float) * prep.multiplier},
    )


@dataclass(frozen=True)
class _Numbers:
    """What one treatment's headline is read from: its prepared rows, their positions and GEX at spot,
    its walls, and its gamma profile on the grid with its zero crossings."""

    prep: PreparedChain
    pos_all: scenarios.Positions
    gex_rows: np.ndarray
    walls: tuple[float | None, float | None]
    gex_grid: np.ndarray | None  # the analysis's own profile (None for another treatment: not computed)
    zeros: list[float]

    def treatment(self, name: str, flags: tuple[str, ...], keep: np.ndarray | None = None,
                  factors: np.ndarray | None = None, vol: VolScenario | None = None) -> hl.Treatment:
        """The treatment's numbers; ``keep``: those of the kept rows only (a "without" treatment: its
        profile is this one's minus the left-out rows', so only those rows are revalued; needs the profile)."""
        if keep is None:
            return hl.Treatment(name, flags, float(self.gex_rows.sum()), tuple(self.zeros), *self.walls)
        if factors is None or vol is None or self.gex_grid is None:
            raise ValueError("a treatment without some rows is read from the analysis's own profile and grid")
        rows = self.prep.chain.rows
        gex = self.gex_rows[keep]
        walls = exposure.walls_of_rows(rows["strike"].to_numpy(float)[keep], self.prep.side[keep], gex)
        nonzero = self.pos_all.weight != 0
        left_out, _ = scenarios.revalue_grid(self.pos_all.take(~keep & nonzero), factors, want_delta=False,
                                             vol=vol)
        grid = self.gex_grid - left_out
        zeros = scenarios.zero_crossings(self.pos_all.take(keep & nonzero), factors, grid,
                                         vol=vol)
        return hl.Treatment(name, flags, float(gex.sum()), tuple(zeros), *walls)


def _numbers(prep: PreparedChain, scenario: Scenario, factors: np.ndarray, vol: VolScenario) -> _Numbers:
    """The headline of one more treatment: GEX at spot per row (the engine :func:`analyze` uses), walls and
    the gamma profile's zero crossings (:func:`analytics.scenarios.zero_gamma_levels`: the levels without
    the whole profile); no hedge curve, delta or vega."""
    rows = prep.chain.rows
    pos_all = positions_from_prepared(prep, scenario.convention)
    gamma = pricing.gamma(prep.level, rows["strike"].to_numpy(float), prep.years, prep.iv, prep.rate, prep.carry)
    gex_rows = exposure.gex_usd_per_1pct(gamma, pos_all.weight / prep.multiplier, prep.multiplier, prep.level)
    walls = exposure.walls_of_rows(rows["strike"].to_numpy(float), prep.side, gex_rows)
    zeros = scenarios.zero_gamma_levels(pos_all.take(pos_all.weight != 0), factors, vol=vol)
    return _Numbers(prep, pos_all, gex_rows, walls, None, zeros)


def treatment_name(scenario: Scenario, model: str) -> tuple[str, tuple[str, ...]]:
    """A treatment's name and the ``mmpos analyze`` flags that select it.

    Examples
    --------
    >>> treatment_name(Scenario(forward="spot", iv_policy="file", without_notes=("iv-solved",)), "bsm")
    ('spot/file without iv-solved', ('--forward', 'spot', '--iv', 'file', '--without-note', 'iv-solved'))
    >>> treatment_name(Scenario(iv_policy="otm"), "black76")[0]
    'exchange/otm'
    """
    forward = scenario.forward if model == "bsm" else "exchange"
    name = f"{forward}/{scenario.iv_policy}" + "".join(f" without {c}" for c in scenario.without_notes)
    flags = (("--forward", scenario.forward) if model == "bsm" else ()) + ("--iv", scenario.iv_policy)
    for code in scenario.without_notes:
        flags += ("--without-note", code)
    return name, flags


def _headline(chain: OptionChain, scenario: Scenario, own: _Numbers, quantified: list[Note], factors: np.ndarray,
              vol: VolScenario, prepare: Callable[[Scenario], PreparedChain]) -> hl.Headline:
    """The headline under the scenario's own treatment, the other forward and IV choices (one more
    preparation each, through ``prepare``) and without each material data repair."""
    treatments = [own.treatment(*treatment_name(scenario, chain.model))]
    skipped = []
    forwards = FORWARD_CHOICES if chain.model == "bsm" else (scenario.forward,)
    for forward in forwards:
        for iv_policy in IV_POLICIES:
            if (forward, iv_policy) == (scenario.forward, scenario.iv_policy):
                continue
            other = scenario.replace(forward=forward, iv_policy=iv_policy)
            name, flags = treatment_name(other, chain.model)
            try:
                prep = prepare(other)
                other.check_against(prep.chain, iv=prep.iv)
                treatments.append(_numbers(prep, other, factors, vol).treatment(name, flags))
            except (ChainDataError, ScenarioError) as err:
                skipped.append(f"{name}: {err}")
    repairs: dict[str, np.ndarray] = {}
    for n in quantified:  # the scenario's own notes, quantified: their rows' share of gross GEX
        if n.mask is not None and n.code not in scenario.without_notes and hl.is_material_repair(n, scenario.iv_policy):
            repairs[n.code] = repairs.get(n.code, np.zeros_like(n.mask)) | n.mask
    for code, mask in repairs.items():
        other = scenario.replace(without_notes=(*scenario.without_notes, code))
        if mask.all():
            skipped.append(f"{treatment_name(other, chain.model)[0]}: no row left")
            continue
        treatments.append(own.treatment(*treatment_name(other, chain.model), keep=~mask, factors=factors, vol=vol))
    return hl.headline_of(own.prep.chain.spot, treatments, skipped=skipped)


def _require_finite(results: dict[str, Any], *, source: str | None) -> None:
    """Refuse results that overflowed (e.g. absurd open interest times spot squared), naming which."""
    for what, value in results.items():
        if not np.all(np.isfinite(np.asarray(value, dtype=float))):
            raise ChainDataError(f"the {what} is not a finite number (an input is too large: check open "
                                 f"interest, multiplier and spot)", path=source or None)
