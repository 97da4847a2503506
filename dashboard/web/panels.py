"""The page's charts, one declaration each: id, title, builder, what it reads, height, place.

A chart is one :class:`Panel` in :data:`PANELS`, its pure figure builder in :mod:`dashboard.web.figures`
and its export name in :data:`dashboard.web.figures.common.EXPORT_NAMES` (there, the report reads it too). Everything else reads the registry: the layout
(:func:`dashboard.web.layout.views`: cards in ``PANELS`` order, their widths, heights and tools), the
main update's dictionary outputs and its "what changed" keys (:mod:`dashboard.web.callbacks.views`),
the export file names (:mod:`dashboard.web.callbacks.export`) and the controls callback (a panel's
:class:`Choice` is a view-state key: in the URL, wired into the controls callback).

A builder takes the typed view state and the computed analyses and returns a figure dict; it reads
only the view-state keys its panel lists in ``reads`` (a test checks the names exist).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import pandas as pd

from analytics.fmt import format_stamp
from analytics.report import Analysis
from dashboard.runtime import config
from dashboard.web import figures as fig
from dashboard.web import ids
from dashboard.web.figures.common import EXPORT_NAMES, Figure
from dashboard.web.figures.smile import MAX_SMILE_LINES, max_pain_figure, smile_figure
from dashboard.web.state import (
    CHANGE_BASIS_KEY,
    FIELDS,
    MAX_PAIN_RR_KEY,
    SMILE_X_KEY,
    STRIKE_MODE_KEY,
    TERM_SPACING_KEY,
    ZOOM_KEY,
    ViewState,
    scenario_from_state,
)


class PreviousLike(Protocol):
    """The previous snapshot's analysis for the same view, or why there is none."""

    @property
    def analysis(self) -> Analysis | None: ...
    @property
    def note(self) -> str | None: ...


class Computed(Protocol):
    """What one render computed (:class:`dashboard.web.callbacks.views.Analyses`)."""

    @property
    def current(self) -> Analysis: ...
    @property
    def full(self) -> Analysis: ...
    @property
    def previous(self) -> PreviousLike | None: ...


Builder = Callable[[ViewState, Computed], Figure]


@dataclass(frozen=True)
class Choice:
    """A panel's own control whose value is a view-state key (and so a URL parameter).

    ``options`` are (value, label); a ``check`` is one tick box (the key true when ticked)."""

    control_id: str
    key: str
    options: tuple[tuple[Any, str], ...]
    kind: str = "radio"  # "radio" or "check"

    def to_state(self, value: Any) -> Any:
        """The key's value for the control's value."""
        if self.kind == "check":
            return bool(value) and self.options[0][0] in value
        return value

    def to_control(self, value: Any) -> Any:
        """The control's value showing the key's value."""
        if self.kind == "check":
            return [self.options[0][0]] if value else []
        return value


@dataclass(frozen=True)
class Panel:
    """One chart of the main view."""

    name: str  # the main update's output key, the result store's "drawn" name
    graph_id: str
    title: str  # the card's accessible name
    hint: str  # the line under the chart
    build: Builder
    reads: tuple[str, ...]  # view-state keys the figure depends on (equal values: nothing to redraw)
    height: int  # pixels, the figure and its container
    span: int  # grid columns of 12
    choice: Choice | None = None
    graph_kwargs: Mapping[str, Any] = field(default_factory=dict)

    @property
    def export(self) -> str:
        """The view's name in PNG file names (the camera button): :data:`fig.common.EXPORT_NAMES`."""
        return EXPORT_NAMES[self.name]


# --------------------------------------------------------------------------- what panels read

SELECTION = ("u", "snap", "preset", "exp", "conv", "fwd", "iv")  # the analysis of the selection
SCENARIO = (*SELECTION, "shock", "h", "vol", "volv", "volasked")  # ... and its scenario (every number of hedging and KPIs)


# --------------------------------------------------------------------------- shared pieces


def strike_window(a: Analysis, state: ViewState) -> tuple[float, float] | None:
    """The strike views' initial x range: :func:`fig.view_strike_window` (spot +/- ``config.strike_window_pct()``
    percent, widened to a call or put wall just outside it), the report's range as well.

    It depends on the snapshot's spot and walls only, never on the measure: Plotly keeps a user's zoom
    across redraws (``uirevision``) only while the figure's own range stays the same.
    A zoom the user made on this snapshot (``xzoom``, see ``views.with_display``) wins: Dash
    redraws the chart after a zoom with the zoomed layout, which makes Plotly forget it was the user's.
    """
    zoom = getattr(state, ZOOM_KEY)
    if zoom:
        return float(zoom[0]), float(zoom[1])
    return fig.view_strike_window(a.spot, config.strike_window_pct(), walls=(a.call_wall, a.put_wall))


def snapshot_revision(state: ViewState | Mapping[str, Any]) -> str:
    """Zoom and pan of a view survive every control change of the same snapshot."""
    u, snap = (state.u, state.snap) if isinstance(state, ViewState) else (state.get("u"), state.get("snap"))
    return f"{u}|{snap}"


def _as_of(a: Analysis) -> pd.Timestamp:
    return a.as_of.tz_localize(None) if a.as_of.tzinfo else a.as_of


def _selected(state: ViewState, a: Analysis) -> list[str] | None:
    return [d.isoformat() for d in a.expiries] if state.preset != "all" else None


def gamma_figure(state: ViewState | Mapping[str, Any], a: Analysis, previous: Analysis | None,
                 comparison: PreviousLike | None = None) -> Figure:
    """View 1 in its measure (gamma, vanna, charm or change), with the previous snapshot's net GEX line
    in gamma mode when ``previous`` is given. ``comparison`` is the previous snapshot the change mode
    compares with."""
    state = state if isinstance(state, ViewState) else ViewState.of(state)
    mode = getattr(state, STRIKE_MODE_KEY)
    window = strike_window(a, state)
    height, rev = BY_NAME["gamma"].height, snapshot_revision(state)
    common: dict[str, Any] = dict(spot=a.spot, zero_gamma_levels=a.zero_gamma_levels, strike_window=window,
                                  height=height, uirevision=rev)
    if mode in ("vanna", "charm"):
        out: Figure = fig.exposure_by_strike_figure(a.vanna_charm_by_strike, mode, **common)
        return out
    if mode == "change":
        prev = comparison.analysis if comparison is not None else None
        if prev is None:
            note = (comparison.note if comparison is not None else None) or "no previous snapshot"
            return fig.gex_change_figure(None, note=f"No change shown: {note}", **common)
        stamp = format_stamp(prev.as_of)
        return fig.gex_change_figure(fig.gex_change_by_strike(a.by_strike, prev.by_strike),
                                     previous_label=f"the {stamp} snapshot", **common)
    return fig.gamma_by_strike_figure(
        a.by_strike,
        spot=a.spot,
        zero_gamma_levels=a.zero_gamma_levels,
        call_wall=a.call_wall,
        put_wall=a.put_wall,
        previous_net=previous.by_strike[["strike", "net_gex_usd_per_1pct"]] if previous is not None else None,
        by_strike_expiry=a.by_strike_expiry,
        stack_by_expiry=state.stack,
        highlight_strike=state.strike,
        strike_window=window,
        height=height,
        uirevision=rev,
    )


two_line_axis_titles = fig.two_line_axis_titles  # the hedge view's stacked-row titles (the report's too)


# --------------------------------------------------------------------------- builders


def _gamma(state: ViewState, got: Computed) -> Figure:
    return gamma_figure(state, got.current, None, got.previous)


def _breakdown(state: ViewState, got: Computed) -> Figure:
    a = got.current
    strike = state.strike
    if strike is None and not a.by_strike.empty:  # until a bar is clicked: the largest |net GEX| strike
        net = np.abs(a.by_strike["net_gex_usd_per_1pct"].to_numpy(float))
        strike = float(a.by_strike["strike"].to_numpy(float)[int(np.argmax(net))])
    title = f"Strike {fig.format_strike(strike)} by expiry" if strike is not None else None
    return fig.strike_breakdown_figure(a.by_strike_expiry, strike, title=title,
                                       height=BY_NAME["breakdown"].height)


def _hedge(state: ViewState, got: Computed) -> Figure:
    a = got.current
    shown = scenario_from_state(state.model_dump())  # the horizons asked for (the analysis may hold the levels' +1 day)
    horizons = {shown.horizon_days, *shown.compare_horizons_days}
    return two_line_axis_titles(fig.hedge_curve_figure(
        {h: c for h, c in a.hedge_curves.items() if h in horizons},
        gamma_profile=a.gamma_profile,
        spot=a.spot,
        zero_gamma_levels=a.zero_gamma_levels,
        units="units" if state.units == "units" else "usd",
        underlying=a.underlying,
        height=BY_NAME["hedge"].height,
        uirevision=snapshot_revision(state),
        adv_units=a.adv_units,
    ))


def _term(state: ViewState, got: Computed) -> Figure:
    a, spacing = got.current, bool(getattr(state, TERM_SPACING_KEY))
    return fig.term_structure_figure(
        got.full.term_structure,
        selected_expiries=_selected(state, a),
        height=BY_NAME["term"].height,
        uirevision=f"{snapshot_revision(state)}|{spacing}",
        equal_spacing=spacing,
        as_of=_as_of(a),
    )


def _expiry(state: ViewState, got: Computed) -> Figure:
    a = got.current
    return fig.gamma_by_expiry_figure(
        got.full.by_expiry,
        selected_expiries=_selected(state, a),
        as_of=_as_of(a),
        height=BY_NAME["expiry"].height,
        uirevision=snapshot_revision(state),
    )


def _smile(state: ViewState, got: Computed) -> Figure:
    a = got.current
    return smile_figure(
        getattr(a, "smile", None),  # Analysis.smile (an analysis without it draws a message)
        a.term_structure,
        x=getattr(state, SMILE_X_KEY),
        selected_expiries=_selected(state, a),
        spot=a.spot,
        height=BY_NAME["smile"].height,
        uirevision=f"{snapshot_revision(state)}|{getattr(state, SMILE_X_KEY)}",
    )


def _max_pain(state: ViewState, got: Computed) -> Figure:
    a = got.current
    return max_pain_figure(
        got.full.by_expiry,
        spot=a.spot,
        rr25=bool(getattr(state, MAX_PAIN_RR_KEY)),
        selected_expiries=_selected(state, a),
        as_of=_as_of(a),
        height=BY_NAME["max_pain"].height,
        uirevision=snapshot_revision(state),
    )


# --------------------------------------------------------------------------- the registry

STRIKE_MODE_CHOICE = Choice(ids.STRIKE_MODE, STRIKE_MODE_KEY, tuple((v, label) for v, label in fig.STRIKE_MODE_LABELS))
TERM_SPACING_CHOICE = Choice(ids.TERM_SPACING, TERM_SPACING_KEY, (("equal", "Equal spacing"),), kind="check")
SMILE_X_CHOICE = Choice(ids.SMILE_X, SMILE_X_KEY, (("moneyness", "ln(K/F)"), ("strike", "Strike")))
MAX_PAIN_RR_CHOICE = Choice(ids.MAX_PAIN_RR, MAX_PAIN_RR_KEY, (("rr", "25Δ risk reversal"),), kind="check")
# what the KPI strip, key levels and the previous-net line compare with (sits under the KPI strip, no panel's own)
CHANGE_BASIS_CHOICE = Choice(ids.CHANGE_BASIS, CHANGE_BASIS_KEY,
                             (("day", "previous close"), ("intraday", "previous snapshot")))

PANELS: tuple[Panel, ...] = (  # in layout order (the key-levels card follows KEY_LEVELS_AFTER)
    Panel("gamma", ids.GAMMA_GRAPH, "Dealer gamma by strike", "click a bar for its expiry breakdown", _gamma,
          reads=(*SELECTION, "vol", "volv", "stack", "strike", STRIKE_MODE_KEY, ZOOM_KEY, CHANGE_BASIS_KEY),
          height=460, span=8, choice=STRIKE_MODE_CHOICE),
    Panel("expiry", ids.EXPIRY_GRAPH, "Dealer gamma by expiry", "click or box-select expiries to filter the other views",
          _expiry, reads=SELECTION, height=400, span=8),
    Panel("breakdown", ids.BREAKDOWN_GRAPH, "Strike breakdown by expiry",
          "the clicked strike (at first: the largest |net GEX|)", _breakdown, reads=(*SELECTION, "strike"),
          height=460, span=4),
    Panel("hedge", ids.HEDGE_GRAPH, "Spot-shock hedging", "hover a shock to mark its spot on the gamma view", _hedge,
          reads=(*SCENARIO, "units"), height=480, span=6,
          graph_kwargs={"clear_on_unhover": True}),
    Panel("term", ids.TERM_GRAPH, "Vega term structure", "click or box-select expiries to filter the other views",
          _term, reads=(*SELECTION, TERM_SPACING_KEY), height=480, span=6,
          choice=TERM_SPACING_CHOICE),
    Panel("smile", ids.SMILE_GRAPH, "IV smile by expiry",
          f"the selected expiries' OTM implied vols (the nearest {MAX_SMILE_LINES} drawn); diamonds: ATM at each forward", _smile,
          reads=(*SELECTION, SMILE_X_KEY), height=440, span=6, choice=SMILE_X_CHOICE),
    Panel("max_pain", ids.MAX_PAIN_GRAPH, "Max pain by expiry",
          "the strike where holders' payout at expiry is least, against spot (dashed); orange: 25Δ risk reversal", _max_pain,
          reads=(*SELECTION, MAX_PAIN_RR_KEY), height=440, span=6, choice=MAX_PAIN_RR_CHOICE),
)
BY_NAME: dict[str, Panel] = {p.name: p for p in PANELS}
BY_GRAPH: dict[str, Panel] = {p.graph_id: p for p in PANELS}
CHOICES: tuple[Choice, ...] = (*(p.choice for p in PANELS if p.choice is not None), CHANGE_BASIS_CHOICE)
KEY_LEVELS_AFTER = "gamma"  # the key-levels card sits right of the strike view
FIGURE_HEIGHT: dict[str, int] = {p.name: p.height for p in PANELS}
assert all(set(p.reads) <= set(FIELDS) for p in PANELS), "a panel reads a key the view state does not declare"
assert all(c.key in FIELDS for c in CHOICES)


def build(name: str, state: ViewState, got: Computed) -> Figure:
    """One panel's figure from computed analyses (pure: calls the figure builders)."""
    return BY_NAME[name].build(state, got)
