"""Key levels at a glance: zero gamma vs spot, walls, absolute-gamma strike, hedge flows, charm flow.

:func:`key_levels` reads an :class:`analytics.report.Analysis` (and optionally the previous snapshot's)
into a frozen :class:`KeyLevels`, which prints itself as a plain-text block for the morning chat
(:meth:`KeyLevels.to_text`) or as JSON (:meth:`KeyLevels.to_dict`).

What the Analysis must hold (``analyze`` inputs):

* hedge-curve shocks ``REQUIRED_SHOCKS_PCT`` = -2, -1, 0, +1, +2 percent (``shocks_pct``; the
  default -20..+20 grid has them);
* a hedge curve at horizon ``CHARM_HORIZON_DAYS`` = 1 day (``hedge_curves[1.0]``): with the default
  horizon 0, ``compare_horizons_days=(1.0,)``; with ``horizon_days=1`` the Analysis's own curve.

Definitions (GEX in USD per 1% move, summed over the Analysis's expiry set):

* call walls: the strikes with the largest positive call GEX, largest first, at most ``WALLS_PER_SIDE``;
  put walls: the strikes with the most negative put GEX, most negative first. Fewer when fewer exist
  (none under a convention that makes every call GEX negative). Ties go to the lower strike.
  The first of each is ``analytics.exposure.walls``.
* absolute-gamma strike: the strike with the largest ``|call GEX| + |put GEX|`` (per-strike sums over
  the expiry set, so a ``book`` strike holding long and short calls counts their net). Under
  ``dealer-long-calls`` that is ``call GEX - put GEX``, the strike carrying the most gamma either way.
* hedge flows: the Analysis's hedge curve at -2/-1/+1/+2% (its own horizon and vol scenario):
  ``-(D(S1) - D(S0))`` units of the underlying and that times S1 in USD; positive = dealers buy.
  ``pct_adv``: the units as percent of the underlying's average daily volume (``Analysis.adv_units``,
  from the data folder's ``adv.toml``: :mod:`analytics.adv`), None when no ADV is known.
* charm flow into the close: the +1 day curve at 0% shock, ``-(D_{t+1d}(S0) - D_t(S0))`` in units
  (x S0 in USD): what dealers trade over the next day at unchanged spot and IVs as delta decays and
  options settle (under the Analysis's vol scenario, as every hedge curve).

Changes since the previous snapshot (None without one): a zero-gamma level minus the nearest
previous level; for a wall (or the absolute-gamma strike) the previous snapshot's strike of the same
rank and the GEX change at today's strike (a strike absent from the previous snapshot had 0); for a
flow the change in units and USD at the same shock.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from analytics.adv import pct_of_adv
from analytics.exposure import TOP_WALLS, top_walls
from analytics.fmt import format_level, format_number, format_pct, format_stamp, format_strike, format_usd
from analytics.headline import NO_PREVIOUS_TEXT, RegimeLine, regime_line
from analytics.previous import Basis
from analytics.scenario import VolScenario, describe_scenario

if TYPE_CHECKING:
    from analytics.report import Analysis

REQUIRED_SHOCKS_PCT: tuple[float, ...] = (-2.0, -1.0, 0.0, 1.0, 2.0)
FLOW_SHOCKS_PCT: tuple[float, ...] = (-2.0, -1.0, 1.0, 2.0)
CHARM_HORIZON_DAYS = 1.0
WALLS_PER_SIDE = TOP_WALLS
_SHOCK_TOL = 1e-9


class MissingAnalysisInput(ValueError):
    """The Analysis lacks a hedge-curve shock or horizon the key levels read (a caller's bug)."""


@dataclass(frozen=True)
class ZeroGamma:
    """One zero-gamma level: where total GEX vs spot changes sign."""

    level: float
    distance_pct: float  # (level / spot - 1) x 100
    change: float | None  # level minus the nearest previous level


StrikeLevelKind = Literal["call wall", "put wall", "abs gamma"]


@dataclass(frozen=True)
class StrikeLevel:
    """A wall or the absolute-gamma strike, with its GEX (USD per 1%)."""

    kind: StrikeLevelKind
    rank: int  # 1 = the wall
    strike: float
    gex_usd_per_1pct: float
    previous_strike: float | None  # the previous snapshot's strike of the same kind and rank
    gex_change_usd_per_1pct: float | None  # at this strike, today minus the previous snapshot


@dataclass(frozen=True)
class Flow:
    """Dealers' hedge flow for a spot shock at a horizon; positive = dealers buy."""

    shock_pct: float
    horizon_days: float
    units: float
    usd: float
    units_change: float | None
    usd_change: float | None
    pct_adv: float | None = None  # units as percent of the underlying's average daily volume (None: no ADV)


@dataclass(frozen=True)
class KeyLevels:
    """The key levels of one snapshot, expiry set, convention and scenario (see the module docstring)."""

    underlying: str
    as_of: pd.Timestamp
    spot: float
    convention: str
    expiries: tuple[dt.date, ...]
    scenario: Mapping[str, float]
    zero_gamma: tuple[ZeroGamma, ...]
    call_walls: tuple[StrikeLevel, ...]
    put_walls: tuple[StrikeLevel, ...]
    abs_gamma: StrikeLevel | None
    flows: tuple[Flow, ...]
    charm_flow: Flow
    previous_as_of: pd.Timestamp | None = None
    adv_units: float | None = None  # the average daily volume the flows' pct_adv is against (units per day)
    regime: RegimeLine | None = None  # the regime line (analytics.headline.regime_line): the block's first line
    previous_basis: Basis = "day"  # the previous snapshot is of an earlier session, or the one before in the session

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: ISO timestamps and dates, finite floats or None."""

        def clean(v: Any) -> Any:
            if isinstance(v, dict):
                return {k: clean(x) for k, x in v.items()}
            if isinstance(v, (list, tuple)):
                return [clean(x) for x in v]
            if isinstance(v, (pd.Timestamp, dt.date)):
                return v.isoformat()
            if isinstance(v, np.generic):
                v = v.item()
            if isinstance(v, float) and not math.isfinite(v):
                return None
            return v

        return clean({
            "underlying": self.underlying,
            "as_of": self.as_of,
            "previous_as_of": self.previous_as_of,
            "spot": self.spot,
            "convention": self.convention,
            "expiries": list(self.expiries),
            "scenario": dict(self.scenario),
            "zero_gamma": [asdict(z) for z in self.zero_gamma],
            "call_walls": [asdict(w) for w in self.call_walls],
            "put_walls": [asdict(w) for w in self.put_walls],
            "abs_gamma": asdict(self.abs_gamma) if self.abs_gamma else None,
            "flows": [asdict(f) for f in self.flows],
            "charm_flow": asdict(self.charm_flow),
            "adv_units_per_day": self.adv_units,
            "regime": None if self.regime is None else {"regime": self.regime.regime, "text": self.regime.text},
            "units": {
                "gex": "USD per 1% move",
                "flows": "units of the underlying and USD; positive = dealers buy",
                "pct_adv": "flow units / average daily volume x 100 (adv.toml in the data folder); null without",
                "distance_pct": "percent of spot",
            },
        })

    def to_text(self) -> str:
        """A plain-text block for the morning chat (deterministic; one item per line).

        Amounts use :mod:`analytics.fmt`: compact signed USD, strikes and levels with thousands
        separators. ``chg`` columns appear only when a previous snapshot was given.
        """
        chg = self.previous_as_of is not None
        lines = [
            f"{self.underlying} key levels, {_stamp(self.as_of)}",
            *([self.regime.text] if self.regime is not None else []),
            f"spot {format_number(self.spot, compact=False)} | {self.convention} | GEX in USD per 1%, "
            f"+ = dealers long gamma",
            f"expiries: {_expiry_summary(self.expiries)}",
            f"scenario: {_scenario_summary(self.scenario)}",
            f"changes vs {_stamp(self.previous_as_of)}{INTRADAY_SUFFIX if self.previous_basis == 'intraday' else ''}"
            if chg else "changes: no previous snapshot",
            "",
        ]

        def row(label: str, text: str) -> None:
            lines.append(f"{label:<15}{text}")

        for z in self.zero_gamma:
            row("zero gamma", f"{format_level(z.level)} ({format_pct(z.distance_pct, decimals=2, signed=True)} "
                              f"vs spot)" + (f", chg {format_level(z.change, signed=True)}" if chg else ""))
        if not self.zero_gamma:
            row("zero gamma", "none in range")
        for label, walls in (("call wall", self.call_walls), ("put wall", self.put_walls)):
            for w in walls:
                row(f"{label} {w.rank}", _strike_text(w, chg))
            if not walls:
                row(label, "none")
        row("abs gamma", _strike_text(self.abs_gamma, chg) if self.abs_gamma else "none")
        for f in self.flows:
            row(f"flow {format_pct(f.shock_pct, decimals=0, signed=True)}", _flow_text(f, chg))
        row("charm to close", _flow_text(self.charm_flow, chg))
        horizon = _horizon(self.flows[0].horizon_days) if self.flows else "now"
        lines.append(f"(flows: + = dealers buy; spot shocks {horizon}; charm = 0% shock "
                     f"{_horizon(self.charm_flow.horizon_days)})")
        return "\n".join(lines)


def key_levels(analysis: Analysis, previous: Analysis | None = None, *,
               no_previous: str = NO_PREVIOUS_TEXT, basis: Basis = "day") -> KeyLevels:
    """Key levels of ``analysis``, with changes against ``previous`` (the previous snapshot's Analysis).

    Parameters
    ----------
    analysis : analytics.report.Analysis
        Computed with hedge-curve shocks including ``REQUIRED_SHOCKS_PCT`` and a hedge curve at its
        horizon ``CHARM_HORIZON_DAYS`` (horizon 0: ``compare_horizons_days=(1.0,)``).
    previous : analytics.report.Analysis, optional
        The previous snapshot of the same underlying under the same convention and expiry choice,
        computed the same way. Choosing it (same source kind, recent enough) is the caller's job.
    no_previous : str
        What the regime line says instead of the day-over-day change when ``previous`` is None.
    basis : {"day", "intraday"}
        Which previous snapshot ``previous`` is (:func:`analytics.previous.choose_previous`): named in the
        regime line's change (:func:`change_label`) and the plain text's "changes vs" line.

    Raises
    ------
    MissingAnalysisInput
        A required shock or horizon is missing from either Analysis.
    ValueError
        ``previous`` is of another underlying or convention, or not older than ``analysis``.
    """
    if previous is not None:
        if previous.underlying != analysis.underlying or previous.convention != analysis.convention:
            raise ValueError(f"previous snapshot is {previous.underlying}/{previous.convention}, "
                             f"not {analysis.underlying}/{analysis.convention}")
        if not previous.as_of < analysis.as_of:
            raise ValueError(f"previous snapshot ({previous.as_of}) is not older than {analysis.as_of}")
    adv = getattr(analysis, "adv_units", None)
    flows_now = _flows(analysis)
    flows_prev = _flows(previous) if previous is not None else None
    charm = _charm_flow(analysis)
    charm_prev = _charm_flow(previous) if previous is not None else None
    calls, puts, absg = _strike_levels(analysis.by_strike)
    if previous is not None:
        p_calls, p_puts, p_abs = _strike_levels(previous.by_strike)
        calls = _with_previous(calls, p_calls, analysis.by_strike, previous.by_strike)
        puts = _with_previous(puts, p_puts, analysis.by_strike, previous.by_strike)
        absg = _with_previous(absg, p_abs, analysis.by_strike, previous.by_strike)
    prev_levels = np.asarray(previous.zero_gamma_levels if previous is not None else [], dtype=float)
    zeros = tuple(
        ZeroGamma(level=float(z), distance_pct=(float(z) / analysis.spot - 1.0) * 100.0,
                  change=float(z - prev_levels[np.argmin(np.abs(prev_levels - z))]) if prev_levels.size else None)
        for z in analysis.zero_gamma_levels
    )
    return KeyLevels(
        underlying=analysis.underlying,
        as_of=analysis.as_of,
        spot=float(analysis.spot),
        convention=analysis.convention,
        expiries=tuple(analysis.expiries),
        scenario=dict(_scenario_items(analysis.scenario)),
        zero_gamma=zeros,
        call_walls=calls,
        put_walls=puts,
        abs_gamma=absg[0] if absg else None,
        flows=tuple(_flow(s, h, u, d, flows_prev, adv) for s, (h, u, d) in flows_now.items()),
        charm_flow=_flow(0.0, *charm, {0.0: charm_prev} if charm_prev else None, adv),
        previous_as_of=previous.as_of if previous is not None else None,
        adv_units=adv,
        regime=analysis_regime_line(analysis, float(previous.total_gex_usd_per_1pct) if previous is not None else None,
                                    no_previous=no_previous,
                                    change_label=change_label(basis, previous.as_of if previous is not None else None)),
        previous_basis=basis,
    )


INTRADAY_SUFFIX = " (the snapshot before in the session: intraday)"  # the plain text's "changes vs" line


def change_label(basis: Basis, previous_as_of: pd.Timestamp | None) -> str:
    """What the regime line's net GEX change is against: "d/d" (an earlier session), or the time of the
    snapshot before in the session.

    >>> change_label("day", None), change_label("intraday", pd.Timestamp("2026-11-20 11:55", tz="America/New_York"))
    ('d/d', 'vs 11:55')
    """
    if basis == "intraday" and previous_as_of is not None:
        return f"vs {previous_as_of:%H:%M}"
    return "d/d"


def analysis_regime_line(analysis: Analysis, previous_total_gex_usd_per_1pct: float | None, *,
                         no_previous: str = NO_PREVIOUS_TEXT, change_label: str = "d/d") -> RegimeLine:
    """The regime line (:func:`analytics.headline.regime_line`) of ``analysis``: its own headline numbers and
    band, the change against the comparable previous snapshot's total (None: ``no_previous`` is said)."""
    return regime_line(getattr(analysis, "headline", None), spot=float(analysis.spot),
                       total_gex_usd_per_1pct=float(analysis.total_gex_usd_per_1pct),
                       zero_gamma_levels=analysis.zero_gamma_levels, call_wall=analysis.call_wall,
                       put_wall=analysis.put_wall, previous_total_gex_usd_per_1pct=previous_total_gex_usd_per_1pct,
                       no_previous=no_previous, change_label=change_label)


# --- reading the Analysis -----------------------------------------------------------------------


def _scenario_items(scenario: Any) -> dict[str, float]:
    """The scenario as name -> number, from a mapping or a frozen value object with numeric fields."""
    items = scenario.items() if isinstance(scenario, Mapping) else vars(scenario).items()
    return {str(k): float(v) for k, v in items if isinstance(v, (int, float)) and not isinstance(v, bool)}


def _horizon_days(analysis: Analysis) -> float:
    return _scenario_items(analysis.scenario).get("horizon_days", 0.0)


def _curve_at(analysis: Analysis, horizon: float, shocks: Sequence[float]) -> dict[float, tuple[float, float]]:
    """(units, USD) per shock from the hedge curve at ``horizon``; raise naming what analyze lacked."""
    curves = analysis.hedge_curves
    key = next((h for h in curves if abs(float(h) - horizon) < _SHOCK_TOL), None)
    if key is None:
        raise MissingAnalysisInput(
            f"{analysis.underlying} {analysis.as_of}: no hedge curve at horizon {horizon:g} day(s) "
            f"(have {', '.join(f'{h:g}' for h in sorted(curves))}); key levels need analyze(..., "
            f"compare_horizons_days=({CHARM_HORIZON_DAYS:g},)) or horizon_days={CHARM_HORIZON_DAYS:g}")
    curve = curves[key]
    have = curve["shock_pct"].to_numpy(float)
    out = {}
    for s in shocks:
        hit = np.flatnonzero(np.abs(have - s) < _SHOCK_TOL)
        if not hit.size:
            raise MissingAnalysisInput(
                f"{analysis.underlying} {analysis.as_of}: the hedge curve has no {s:+g}% shock; key levels "
                f"need analyze(..., shocks_pct=...) to include {', '.join(f'{x:+g}' for x in REQUIRED_SHOCKS_PCT)}")
        row = curve.iloc[int(hit[0])]
        out[float(s)] = (float(row["hedge_flow_units"]), float(row["hedge_flow_usd"]))
    return out


def _flows(analysis: Analysis) -> dict[float, tuple[float, float, float]]:
    h = _horizon_days(analysis)
    return {s: (h, u, d) for s, (u, d) in _curve_at(analysis, h, FLOW_SHOCKS_PCT).items()}


def _charm_flow(analysis: Analysis) -> tuple[float, float, float]:
    units, usd = _curve_at(analysis, CHARM_HORIZON_DAYS, (0.0,))[0.0]
    return CHARM_HORIZON_DAYS, units, usd


def _flow(shock: float, horizon: float, units: float, usd: float,
          previous: Mapping[float, tuple[float, float, float]] | None, adv_units: float | None = None) -> Flow:
    prev = previous.get(shock) if previous else None
    pct = float(pct_of_adv(units, adv_units))
    return Flow(shock_pct=float(shock), horizon_days=float(horizon), units=units, usd=usd,
                units_change=units - prev[1] if prev else None, usd_change=usd - prev[2] if prev else None,
                pct_adv=pct if math.isfinite(pct) else None)


def _strike_levels(by_strike: pd.DataFrame) -> tuple[tuple[StrikeLevel, ...], ...]:
    strikes = by_strike["strike"].to_numpy(float)
    calls = by_strike["call_gex_usd_per_1pct"].to_numpy(float)
    puts = by_strike["put_gex_usd_per_1pct"].to_numpy(float)
    gross = np.abs(calls) + np.abs(puts)

    def top(kind: StrikeLevelKind, key: np.ndarray, shown: np.ndarray, n: int) -> tuple[StrikeLevel, ...]:
        # the n most negative keys (< 0 only); a stable sort over ascending strikes gives ties to the lower
        order = [int(i) for i in np.argsort(key, kind="stable") if key[i] < 0][:n]
        return tuple(StrikeLevel(kind=kind, rank=r + 1, strike=float(strikes[i]), gex_usd_per_1pct=float(shown[i]),
                                 previous_strike=None, gex_change_usd_per_1pct=None)
                     for r, i in enumerate(order))

    def walls(kind: Literal["call wall", "put wall"], ranked: list[tuple[float, float]]) -> tuple[StrikeLevel, ...]:
        return tuple(StrikeLevel(kind=kind, rank=r + 1, strike=k, gex_usd_per_1pct=g, previous_strike=None,
                                 gex_change_usd_per_1pct=None) for r, (k, g) in enumerate(ranked))

    call_walls, put_walls = top_walls(by_strike, WALLS_PER_SIDE)
    return walls("call wall", call_walls), walls("put wall", put_walls), top("abs gamma", -gross, gross, 1)


def _with_previous(levels: tuple[StrikeLevel, ...], previous: tuple[StrikeLevel, ...], by_strike: pd.DataFrame,
                   prev_by_strike: pd.DataFrame) -> tuple[StrikeLevel, ...]:
    def gex_at(frame: pd.DataFrame, kind: str, strike: float) -> float:
        hit = frame.loc[frame["strike"] == strike]
        calls = float(hit["call_gex_usd_per_1pct"].sum())
        puts = float(hit["put_gex_usd_per_1pct"].sum())
        return {"call wall": calls, "put wall": puts, "abs gamma": abs(calls) + abs(puts)}[kind]

    out = []
    for lv in levels:
        prev_strike = previous[lv.rank - 1].strike if lv.rank <= len(previous) else None
        change = gex_at(by_strike, lv.kind, lv.strike) - gex_at(prev_by_strike, lv.kind, lv.strike)
        out.append(StrikeLevel(kind=lv.kind, rank=lv.rank, strike=lv.strike, gex_usd_per_1pct=lv.gex_usd_per_1pct,
                               previous_strike=prev_strike, gex_change_usd_per_1pct=change))
    return tuple(out)


# --- text pieces ----------------------------------------------------------------------------------


def _stamp(ts: pd.Timestamp | None) -> str:
    return format_stamp(ts)


def _expiry_summary(expiries: Sequence[dt.date]) -> str:
    if not expiries:
        return "none"
    if len(expiries) == 1:
        return f"1 ({expiries[0].isoformat()})"
    return f"{len(expiries)} ({expiries[0].isoformat()} to {expiries[-1].isoformat()})"


def _scenario_summary(scenario: Mapping[str, float]) -> str:
    """The scenario in words (:func:`analytics.scenario.describe_scenario`) and what it moves."""
    vol = VolScenario(scenario.get("vol_shift_pts", 0.0), scenario.get("spot_vol_beta", 0.0),
                      scenario.get("asked_vol_shift_pts"))
    parts = describe_scenario(vol, scenario.get("horizon_days", 0.0))
    if parts:
        return ", ".join(parts) + " (zero gamma and flows; walls at today's IVs)"
    return "none (sticky strike, the chain's IVs)"


def _horizon(days: float) -> str:
    if not days:
        return "now"
    return f"+{days:g} day" + ("" if days == 1 else "s")


def _strike_text(level: StrikeLevel, chg: bool) -> str:
    text = f"{format_strike(level.strike)}  {format_usd(level.gex_usd_per_1pct)}"
    if chg:
        text += f", chg {format_usd(level.gex_change_usd_per_1pct, signed=True)}"
        if level.previous_strike is None:
            text += " (new rank)"
        elif level.previous_strike != level.strike:
            text += f" (was {format_strike(level.previous_strike)})"
    return text


def _flow_text(flow: Flow, chg: bool) -> str:
    text = f"{format_usd(flow.usd, signed=True)} ({format_number(flow.units, signed=True)} units"
    text += f", {format_pct(flow.pct_adv, decimals=1, signed=True)} of ADV)" if flow.pct_adv is not None else ")"
    if chg:
        text += f", chg {format_usd(flow.usd_change, signed=True)}"
    return text
