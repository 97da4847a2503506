"""The KPI strip: one plain dict per card, with its change against the previous snapshot, and
the one renderer that turns the cards into the strip's HTML.

``kpi_values`` flattens a snapshot into the plain mapping of floats that ``kpi_cards`` compares, and
``kpi_strip`` draws the cards, so a callback does::

    cards = kpi_cards(kpi_values(**now), kpi_values(**before), underlying="SPX")
    children = kpi_strip(cards, horizon_days=0, comparison=comparison_note("SPX", as_of, None))

``kpi_strip`` builds Dash HTML components (plain data in, components out; the only dash import
under ``figures/``): the markup lives here, beside the numbers, and the callbacks only wire.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from dash import html

from analytics.fmt import MISSING as _MISSING
from analytics.fmt import format_number, format_stamp, format_strike, format_usd
from analytics.headline import RegimeLine
from analytics.scenario import VolScenario, describe_scenario

HEDGE_SHOCKS_PCT: tuple[float, ...] = (-5.0, -1.0, 1.0, 5.0)
UNITS: tuple[str, ...] = ("usd", "units")  # the Units toggle: money amounts in USD or in the underlying
# cards whose number a vol scenario or a horizon changes (the rest are the snapshot's, at chain IVs, now)
VOL_ADJUSTED = frozenset({"total_gex", "zero_gamma_levels", "hedge_flow"})
HORIZON_ADJUSTED = frozenset({"hedge_flow"})
NOT_ADJUSTED = "not scenario-adjusted"  # the card's tooltip says why: the snapshot's own number, chain IVs, now


def hedge_flow_key(shock_pct: float, units: str = "usd") -> str:
    """Key of the hedge flow at a shock in the KPI mapping, in USD or in units of the underlying.

    Examples
    --------
    >>> hedge_flow_key(-5.0), hedge_flow_key(1), hedge_flow_key(1, "units")
    ('hedge_flow_usd_at_-5pct', 'hedge_flow_usd_at_+1pct', 'hedge_flow_units_at_+1pct')
    """
    return f"hedge_flow_{'units' if units == 'units' else 'usd'}_at_{float(shock_pct):+g}pct"


def profile_at_spot(gamma_profile: pd.DataFrame | None, spot: float) -> float:
    """Total GEX read off the gamma profile at ``spot`` (linear interpolation; NaN without one).

    Under a vol scenario the profile is revalued with the scenario's IVs while the headline total
    keeps the chain's: this is the total the scenario implies at today's spot.

    Examples
    --------
    >>> profile_at_spot(pd.DataFrame({"spot": [90.0, 110.0], "gex_usd_per_1pct": [-1e9, 3e9]}), 100.0)
    1000000000.0
    """
    if gamma_profile is None or gamma_profile.empty or not math.isfinite(_f(spot)):
        return math.nan
    curve = gamma_profile.sort_values("spot")
    return float(np.interp(float(spot), curve["spot"].to_numpy(float), curve["gex_usd_per_1pct"].to_numpy(float),
                           left=np.nan, right=np.nan))


def scenario_basis(key: str, *, horizon_days: float = 0.0, vol_mode: str | None = None,
                   vol_value: float = 0.0, vol: VolScenario | None = None) -> str | None:
    """Whether a card's number follows the scenario, in words; None when no scenario is on.

    Examples
    --------
    >>> scenario_basis("total_gex_usd_per_1pct", vol_mode="shift", vol_value=2)
    'scenario: vols +2 pts'
    >>> scenario_basis("hedge_flow_usd_up1", vol_mode="beta", vol_value=-0.5, horizon_days=1)
    'scenario: spot-vol beta -0.5, horizon +1 day'
    >>> scenario_basis("call_wall", horizon_days=1)
    'not scenario-adjusted'
    >>> scenario_basis("zero_gamma_levels", horizon_days=1)
    'now (horizon: flows only)'
    >>> scenario_basis("spot") is None
    True
    >>> scenario_basis("total_gex_usd_per_1pct", vol=VolScenario(-7.24, asked_shift_pts=-20))
    'scenario: vols -7.24 pts (asked -20, clamped: the lowest IV of this chain is 7.25%)'

    ``vol``, the vol scenario the analysis applied (:attr:`analytics.scenario.Scenario.vol`), wins over
    ``vol_mode``/``vol_value`` (what was asked).
    """
    scenario = vol if vol is not None else VolScenario(vol_value if vol_mode == "shift" else 0.0,
                                                       vol_value if vol_mode == "beta" else 0.0)
    vol = ", ".join(describe_scenario(scenario)) or None  # the one describer (analytics.scenario)
    horizon = ", ".join(describe_scenario(horizon_days=horizon_days)) or None
    if not vol and not horizon:
        return None
    family = next((f for f in VOL_ADJUSTED if key.startswith(f)), None)
    if family is None:
        return NOT_ADJUSTED
    parts = [vol] if vol else []
    if horizon and family in HORIZON_ADJUSTED:
        parts.append(horizon)
    if not parts:
        return "now (horizon: flows only)"
    return "scenario: " + ", ".join(parts)


def kpi_values(
    *,
    spot: float,
    total_gex_usd_per_1pct: float,
    zero_gamma_levels: Sequence[float],
    call_wall: float | None,
    put_wall: float | None,
    dealer_delta_units: float,
    net_vega_usd_per_vol_pt: float,
    hedge_curve: pd.DataFrame | None = None,
    shocks_pct: Sequence[float] = HEDGE_SHOCKS_PCT,
) -> dict[str, object]:
    """Flatten one snapshot's headline numbers into the plain mapping ``kpi_cards`` reads.

    Hedge flows at ``shocks_pct`` are read off ``hedge_curve`` (``shock_pct`` in percent,
    ``hedge_flow_usd`` and, when present, ``hedge_flow_units``) by linear interpolation; NaN outside
    the curve's range or without a curve. Amounts come in both unit systems of the Units toggle:
    ``total_gex_units_per_1pct`` = total GEX / spot, ``dealer_delta_usd_per_1pct`` = delta x spot x 1% (the
    P&L of dealers' option delta for a 1% move: the dollar-delta-per-1% a desk quotes).

    Returns
    -------
    dict
        Keys ``spot, total_gex_usd_per_1pct, total_gex_units_per_1pct, zero_gamma_levels`` (a list)
        ``, call_wall, put_wall, dealer_delta_units, dealer_delta_usd_per_1pct, net_vega_usd_per_vol_pt`` and
        one :func:`hedge_flow_key` per shock and unit.

    Examples
    --------
    >>> curve = pd.DataFrame({"shock_pct": [-10.0, 0.0, 10.0], "hedge_flow_usd": [-2e9, 0.0, 1e9]})
    >>> v = kpi_values(spot=100.0, total_gex_usd_per_1pct=1e9, zero_gamma_levels=[97.0], call_wall=105.0,
    ...                put_wall=95.0, dealer_delta_units=-1e6, net_vega_usd_per_vol_pt=3e6, hedge_curve=curve)
    >>> v["hedge_flow_usd_at_-5pct"], v["hedge_flow_usd_at_+1pct"]
    (-1000000000.0, 100000000.0)
    """
    values: dict[str, object] = {
        "spot": _f(spot),
        "total_gex_usd_per_1pct": _f(total_gex_usd_per_1pct),
        "zero_gamma_levels": [float(z) for z in (zero_gamma_levels or [])],
        "call_wall": _f(call_wall),
        "put_wall": _f(put_wall),
        "dealer_delta_units": _f(dealer_delta_units),
        "net_vega_usd_per_vol_pt": _f(net_vega_usd_per_vol_pt),
    }
    values["total_gex_units_per_1pct"] = values["total_gex_usd_per_1pct"] / values["spot"] if spot else math.nan
    values["dealer_delta_usd_per_1pct"] = values["dealer_delta_units"] * values["spot"] * 0.01
    shocks = np.asarray(shocks_pct, dtype=float)
    for units in UNITS:
        flows = np.full(shocks.size, np.nan)
        column = f"hedge_flow_{units}"
        if hedge_curve is not None and not hedge_curve.empty and column in hedge_curve:
            curve = hedge_curve.sort_values("shock_pct")
            x = curve["shock_pct"].to_numpy(dtype=float)
            flows = np.interp(shocks, x, curve[column].to_numpy(dtype=float), left=np.nan, right=np.nan)
        values.update({hedge_flow_key(s, units): float(f) for s, f in zip(shocks, flows, strict=True)})
    return values


@dataclass(frozen=True)
class _Spec:
    key: str
    label: str
    unit: str
    help: str
    value_text: Callable[[float], str]
    delta_text: Callable[[float, float], str]


def _signed_level(delta: float, _previous: float) -> str:
    """A level's change, signed; one that rounds to zero is ``"0"`` (never ``"-0"``).

    Examples
    --------
    >>> _signed_level(-12.5, 0), _signed_level(-0.003, 0)
    ('-12.5', '0')
    """
    text = format_strike(abs(delta))
    return text if text == "0" else ("+" if delta > 0 else "-") + text


def _spot_delta(delta: float, previous: float) -> str:
    pct = delta / previous * 100 if previous else math.nan
    text = format_number(delta, compact=False, decimals=2, signed=True)
    return text if not math.isfinite(pct) else f"{text} ({pct:+.2f}%)"


def _flow_text(x: float, amount: Callable[[float], str] = format_usd) -> str:
    if not math.isfinite(x):
        return _MISSING
    if amount(abs(x)) in (amount(0.0), _MISSING):
        return "no flow"
    return ("dealers buy " if x > 0 else "dealers sell ") + amount(abs(x))


DEALER_DELTA_HELP = (
    "Dealers' net delta from options under the chosen convention, {what}. Under a model convention "
    "(dealer-long-calls, dealer-short-all, dealer-long-all) it is the delta that convention implies from "
    "open interest, not a position anyone reported; only the book convention reads a desk's own positions. "
    "Dealers who hedge hold about the opposite amount of the underlying."
)


def _specs(underlying: str, shocks_pct: Sequence[float], units_mode: str = "usd") -> list[_Spec]:
    usd_delta = lambda d, _p: format_usd(d, signed=True)  # noqa: E731
    units = f"{underlying} units" if underlying else "units of underlying"
    in_units = units_mode == "units"
    amount = (lambda x: format_number(x)) if in_units else format_usd  # noqa: E731
    amount_delta = (lambda d, _p: format_number(d, signed=True)) if in_units else usd_delta  # noqa: E731
    specs = [
        _Spec(
            "spot",
            "Spot",
            "price",
            "Underlying price at the snapshot.",
            lambda x: format_number(x, compact=False, decimals=2),
            _spot_delta,
        ),
        _Spec(
            "total_gex_units_per_1pct" if in_units else "total_gex_usd_per_1pct",
            "Total GEX",
            f"{units} per 1% move" if in_units else "USD per 1% move",
            "Change in dealers' delta for a 1% spot move"
            + (" (USD GEX / spot)" if in_units else " (dollar delta)") + ". Positive: dealers long gamma, "
            "their hedging damps moves; negative: short gamma, their hedging amplifies moves.",
            amount,
            amount_delta,
        ),
        _Spec(
            "zero_gamma_levels",
            "Zero gamma",
            "spot level",
            "Spot level(s) where total GEX changes sign: dealers flip from damping to amplifying moves. "
            "The change compares the level nearest spot.",
            lambda x: format_strike(round(x, 2)),
            _signed_level,
        ),
        _Spec(
            "call_wall",
            "Call wall",
            "strike",
            "Strike with the largest call GEX in the selected expiries.",
            format_strike,
            _signed_level,
        ),
        _Spec(
            "put_wall",
            "Put wall",
            "strike",
            "Strike with the most negative put GEX in the selected expiries.",
            format_strike,
            _signed_level,
        ),
        _Spec(
            "dealer_delta_units" if in_units else "dealer_delta_usd_per_1pct",
            "Dealer delta",
            f"{units if in_units else 'USD per 1% move'}; convention's, not a position",
            DEALER_DELTA_HELP.format(what=f"in {units}" if in_units else
                                     "in USD per 1% move (units of the underlying x spot x 1%: what dealers' "
                                     "option delta makes or loses if spot moves 1%)"),
            amount,
            amount_delta,
        ),
        _Spec(
            "net_vega_usd_per_vol_pt",
            "Net vega",
            "USD per vol point",
            "Dealers' net vega: P&L for a 1 vol point rise in every implied vol.",
            format_usd,
            usd_delta,
        ),
    ]
    for shock in shocks_pct:
        specs.append(
            _Spec(
                hedge_flow_key(shock, units_mode),
                f"Hedge flow at {float(shock):+g}%",
                f"{units if in_units else 'USD'}; + = dealers buy",
                f"What dealers must trade to stay delta-neutral if spot moves {float(shock):+g}% "
                "(full revaluation under the scenario shown).",
                lambda x, amount=amount: _flow_text(x, amount),
                amount_delta,
            )
        )
    return specs


def kpi_cards(
    current: Mapping[str, object],
    previous: Mapping[str, object] | None = None,
    *,
    underlying: str = "",
    shocks_pct: Sequence[float] = HEDGE_SHOCKS_PCT,
    units: str = "usd",
) -> list[dict[str, object]]:
    """One plain dict per KPI card, with the change against a previous snapshot when given.

    Parameters
    ----------
    current : mapping
        Plain floats keyed as :func:`kpi_values` returns them (``zero_gamma_levels`` is a list).
    previous : mapping, optional
        The same for the previous snapshot; missing keys or NaN give no change.
    underlying : str, optional
        Names the unit of dealer delta.
    shocks_pct : sequence of float
        Shocks whose hedge flows get a card (keys from :func:`hedge_flow_key`).
    units : {"usd", "units"}
        The Units toggle: total GEX, dealer delta and hedge flows in USD or in units of the
        underlying (net vega stays in USD per vol point).

    Returns
    -------
    list of dict
        Each with ``key, label, value, value_text, delta, delta_text, delta_sign, unit, help``;
        ``delta = value - previous value``, ``delta_sign`` is -1, 0, 1 or None (no comparison).

    Examples
    --------
    >>> cards = kpi_cards({"spot": 101.0, "total_gex_usd_per_1pct": 1.5e9},
    ...                   {"spot": 100.0, "total_gex_usd_per_1pct": 2e9})
    >>> [(c["label"], c["value_text"], c["delta_text"], c["delta_sign"]) for c in cards[:2]]
    [('Spot', '101.00', '+1.00 (+1.00%)', 1), ('Total GEX', '$1.5bn', '-$500m', -1)]
    """
    previous = previous or {}
    cards = []
    for spec in _specs(underlying, shocks_pct, units):
        if spec.key == "zero_gamma_levels":
            cards.append(_zero_gamma_card(spec, current, previous))
            continue
        value = _f(current.get(spec.key))
        before = _f(previous.get(spec.key))
        cards.append(_card(spec, value, before, spec.value_text(value) if math.isfinite(value) else _MISSING))
    return cards


def _zero_gamma_card(spec: _Spec, current: Mapping[str, object], previous: Mapping[str, object]) -> dict:
    now = _levels(current.get("zero_gamma_levels"))
    before = _levels(previous.get("zero_gamma_levels"))
    spot_now = _f(current.get("spot"))
    spot_before = _f(previous.get("spot"))
    value = _nearest(now, spot_now)
    prior = _nearest(before, spot_before if math.isfinite(spot_before) else spot_now)
    text = " · ".join(format_strike(round(z, 2)) for z in now) if now else "none in range"
    card = _card(spec, value, prior, text)
    if len(now) > 1:
        card["label"] = "Zero-gamma levels"
    return card


def _card(spec: _Spec, value: float, before: float, value_text: str) -> dict:
    delta = value - before if math.isfinite(value) and math.isfinite(before) else math.nan
    if not math.isfinite(delta):
        delta_text, sign = "", None
    elif delta == 0:
        delta_text, sign = "unchanged", 0
    else:
        delta_text, sign = spec.delta_text(delta, before), int(np.sign(delta))
    return {
        "key": spec.key,
        "label": spec.label,
        "value": value if math.isfinite(value) else None,
        "value_text": value_text,
        "delta": delta if math.isfinite(delta) else None,
        "delta_text": delta_text,
        "delta_sign": sign,
        "unit": spec.unit,
        "help": spec.help,
    }


def _levels(raw: object) -> list[float]:
    if raw is None:
        return []
    if isinstance(raw, (int, float)):
        raw = [raw]
    arr = np.asarray(list(raw), dtype=float)
    return sorted(arr[np.isfinite(arr)].tolist())


def _nearest(levels: list[float], spot: float) -> float:
    if not levels:
        return math.nan
    if not math.isfinite(spot):
        return levels[0] if len(levels) == 1 else math.nan
    arr = np.asarray(levels)
    return float(arr[np.argmin(np.abs(arr - spot))])


def _f(x: object) -> float:
    if x is None:
        return math.nan
    try:
        return float(x)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return math.nan


# --- the strip's markup -------------------------------------------------------------------------
def comparison_note(previous_underlying: str | None, previous_as_of: pd.Timestamp | None,
                    why_not: str | None, *, basis: str = "day") -> str:
    """The first sentence under the strip: what the changes compare against, or why there are none.
    ``basis`` (the view's ``chg``) names the comparison: an earlier session (day over day) or the
    snapshot before this one in its session (intraday).

    Examples
    --------
    >>> comparison_note("SPX", pd.Timestamp("2026-11-19 16:15", tz="America/New_York"), None)
    'Changes vs the previous SPX snapshot of an earlier session (day over day), 2026-11-19 16:15 EST.'
    >>> comparison_note("SPX", pd.Timestamp("2026-11-20 11:55", tz="America/New_York"), None, basis="intraday")
    'Changes vs the previous SPX snapshot of the same session (intraday), 2026-11-20 11:55 EST.'
    >>> comparison_note(None, None, "none of the selected expiries was live in the previous snapshot")
    'No changes shown: none of the selected expiries was live in the previous snapshot.'
    >>> comparison_note(None, None, None)
    'No earlier snapshot of this underlying: no changes shown.'
    """
    if previous_as_of is not None:
        stamp = format_stamp(previous_as_of)
        which = "the same session (intraday)" if basis == "intraday" else "an earlier session (day over day)"
        return f"Changes vs the previous {previous_underlying} snapshot of {which}, {stamp}."
    if why_not:
        return f"No changes shown: {why_not}."
    return "No earlier snapshot of this underlying: no changes shown."


def kpi_strip(
    cards: Sequence[Mapping[str, object]],
    *,
    horizon_days: float = 0.0,
    vol_mode: str | None = None,
    vol_value: float = 0.0,
    comparison: str | None = None,
    regime: RegimeLine | None = None,
    vol: VolScenario | None = None,
) -> list:
    """The KPI strip as Dash HTML: the regime line first (when given), then label, value, unit and
    change per card (help on hover).

    The hedge-flow cards share one wide card: "what dealers trade if spot moves x%".

    Parameters
    ----------
    cards : sequence of mapping
        What :func:`kpi_cards` returns.
    horizon_days : float, default 0
        Horizon of the hedge flows (0 = now, else "in 1 day").
    vol_mode, vol_value
        The vol scenario (``"shift"`` in vol points or ``"beta"``), named in the note.
    vol : VolScenario, optional
        The vol scenario the analysis applied (what a clamp left of the ask); wins over ``vol_mode``.
    comparison : str, optional
        What the changes compare against (:func:`comparison_note`); None while the comparison is
        still being computed.
    regime : RegimeLine, optional
        The regime line (:func:`analytics.headline.regime_line`), drawn as :func:`regime_banner`.

    Returns
    -------
    list of dash.html components
        The card grid and the note under it.

    Examples
    --------
    >>> strip = kpi_strip(kpi_cards({"spot": 101.0}), comparison="No earlier snapshot.")
    >>> strip[1].children
    'No earlier snapshot. Hedge flows: full revaluation, IV held per contract.'
    """
    singles = [c for c in cards if not str(c.get("key", "")).startswith("hedge_flow")]
    flows = [c for c in cards if str(c.get("key", "")).startswith("hedge_flow")]

    def basis(card: Mapping[str, object]) -> str | None:
        return scenario_basis(str(card.get("key", "")), horizon_days=horizon_days, vol_mode=vol_mode,
                              vol_value=vol_value, vol=vol)

    children = [_kpi_card(c, basis(c)) for c in singles]
    if flows:
        horizon = "in 1 day" if horizon_days else "now"
        flow_basis = basis(flows[0])
        children.append(
            html.Div(
                className="kpi kpi-wide",
                children=[
                    html.Div(f"Dealer hedge flow if spot moves {horizon}", className="kpi-label"),
                    html.Div(className="flow-grid", children=[_flow_cell(c) for c in flows]),
                    html.Div(flows[0].get("unit", ""), className="kpi-unit"),
                    *([_basis_tag(flow_basis)] if flow_basis else []),
                ],
            )
        )
    foot = f"{comparison} " if comparison else ""
    foot += "Hedge flows: full revaluation, IV held per contract"
    if vol is not None:
        foot += "".join(f", {w}" for w in describe_scenario(vol)) + "."
    else:
        foot += {"shift": f", vols shifted {vol_value:+g} pts.", "beta": f", spot-vol beta {vol_value:+g}."}.get(
            vol_mode or "", ".")
    regime_basis = scenario_basis("regime", horizon_days=horizon_days, vol_mode=vol_mode, vol_value=vol_value,
                                  vol=vol)
    return [*([regime_banner(regime, regime_basis)] if regime is not None else []),
            html.Div(className="kpi-grid", children=children), html.Div(foot, className="kpi-note")]


REGIME_CLASS: dict[str, str] = {"long-gamma": "regime-long", "short-gamma": "regime-short",
                                "uncertain": "regime-uncertain"}
REGIME_HELP = ("Dealers' gamma regime under the chosen convention. Short γ: their hedging amplifies moves; "
               "long γ: it damps them; uncertain: the sign depends on how the file is read (forward, IVs, data "
               "repairs) or spot sits at the zero-gamma level. Walls: call / put. d/d: vs the comparable "
               "previous snapshot.")


def regime_banner(line: RegimeLine, basis: str | None = None) -> html.Div:
    """The regime line as a coloured badge (red short, green long, amber uncertain) and its detail; under
    a scenario, ``basis`` (:func:`scenario_basis`) says its numbers are the snapshot's own (chain IVs, now).

    Examples
    --------
    >>> from analytics.headline import RegimeLine
    >>> b = regime_banner(RegimeLine("short-gamma", "SHORT γ", "zero γ 6,943 (+2.8%)"))
    >>> b.className, b.children[0].children, b.children[0].className
    ('regime-line', 'SHORT γ', 'regime-badge regime-short')
    """
    return html.Div(className="regime-line", title=REGIME_HELP, **{"data-regime": line.regime}, children=[
        html.Span(line.badge, className=f"regime-badge {REGIME_CLASS[line.regime]}"),
        html.Span(line.detail, className="regime-detail"),
        *([_basis_tag(basis)] if basis else []),
    ])


def _basis_tag(text: str) -> html.Div:
    adjusted = text.startswith("scenario")
    why = text if adjusted else f"{text}: the snapshot's own number, at the chain's IVs, now"
    return html.Div(text, className="kpi-basis " + ("kpi-basis-on" if adjusted else "kpi-basis-off"), title=why)


def _kpi_card(card: Mapping[str, object], basis: str | None = None) -> html.Div:
    value, unit = str(card.get("value_text", "")), str(card.get("unit", ""))
    label = card.get("label", "")
    also = None
    if card.get("key") == "zero_gamma_levels" and " · " in value:
        # several crossings: the one nearest spot is the headline, every other one listed in full
        # underneath (wrapping, never cut off)
        nearest = format_strike(round(float(card["value"]), 2))
        others = [v for v in value.split(" · ") if v != nearest]
        value, unit = nearest, "nearest spot"
        also = html.Div(f"also {', '.join(others)}", className="kpi-also")
        label = "Zero gamma"
    return html.Div(
        className="kpi",
        title=card.get("help") or None,
        children=[
            html.Div(label, className="kpi-label"),
            html.Div(value, className="kpi-value" + (" kpi-value-long" if len(value) > 11 else "")),
            html.Div(unit, className="kpi-unit", title=unit),
            *([also] if also is not None else []),
            *([_basis_tag(basis)] if basis else []),
            html.Div(card.get("delta_text") or "\u00a0", className=_delta_class(card)),
        ],
    )


def _delta_class(card: Mapping[str, object]) -> str:
    sign = card.get("delta_sign") or 0
    return "kpi-delta " + ("up" if sign > 0 else "down" if sign < 0 else "flat")


def _flow_cell(card: Mapping[str, object]) -> html.Div:
    shock = str(card.get("label", "")).rsplit(" ", 1)[-1]
    value = str(card.get("value_text", "")).removeprefix("dealers ")
    side = "buy" if value.startswith("buy") else "sell" if value.startswith("sell") else "flat"
    return html.Div(
        className="flow-cell",
        title=card.get("help") or None,
        children=[
            html.Div(shock, className="flow-shock"),
            html.Div(value, className=f"flow-value flow-{side}"),
            html.Div(card.get("delta_text") or "", className=_delta_class(card)),
        ],
    )
