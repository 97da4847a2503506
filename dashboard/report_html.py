"""The morning report: one self-contained HTML file (``mmpos report``, the page's "Download report").

Pure: analyses and the history frame in, an HTML string out; no disk (beyond the package's own
template), no clock, no network. The caller (:func:`dashboard.service.report_for`) gathers the inputs
into a :class:`ReportInputs`.

The file holds, in order: the key levels as text (:meth:`analytics.levels.KeyLevels.to_text`), the
three views (gamma by strike, hedge curves over the gamma profile vs spot, vega term structure), the
history charts (the History tab's three, drawn by the same builders: key levels over time, net GEX by
strike x date, net vega and ATM IV term over the last snapshots) and the conventions and data notes
(units, sign, model, the analysis' warnings). The page is the Jinja2 template
``dashboard/templates/report.html.j2`` with autoescape on, so every text from the data is escaped;
each chart is :func:`plotly.io.to_html`'s ``<div>`` and ``Plotly.newPlot`` script (its JSON escapes
``<``, ``>`` and ``/``), and plotly.js is inlined once in the head, so the file opens offline in any
browser and asks for nothing from the network.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import cast

import jinja2
import plotly.io as pio
from markupsafe import Markup

from analytics import conventions
from analytics.fmt import format_stamp
from analytics.headline import RegimeLine
from analytics.history import HistoryWindow
from analytics.report import CONVENTIONS_TEXT, Analysis
from dashboard.runtime import config
from dashboard.web import figures as fig
from dashboard.web.figures.common import EXPORT_NAMES, export_filename
from dashboard.web.figures.history import history_subtitle, history_view_figures

FIGURE_HEIGHT_PX = 460
# chart id -> the page's panel of the same view, whose export name its PNG file name takes
# (dashboard.web.figures.common.EXPORT_NAMES); other charts: "history-..." for the History tab's
REPORT_PANELS = {"fig-gamma": "gamma", "fig-hedge": "hedge", "fig-term": "term"}
TEMPLATE = "report.html.j2"  # in dashboard/templates (package data: pyproject's tool.setuptools.package-data)


@functools.cache
def _template() -> jinja2.Template:
    """The report template, loaded from the package once (autoescape on; an unknown name is an error)."""
    env = jinja2.Environment(loader=jinja2.PackageLoader("dashboard", "templates"), autoescape=True,
                             undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
    return env.get_template(TEMPLATE)


@dataclass(frozen=True)
class ReportInputs:
    """Everything one report shows.

    Attributes
    ----------
    current : Analysis
        The selection (expiry set, convention, scenario): gamma view, hedge view, key levels.
    full : Analysis
        The same snapshot over every live expiry (the term-structure view).
    levels_text : str
        The key levels block (``key_levels(current, previous).to_text()``).
    history : HistoryWindow or None
        The history store's last snapshots of the underlying (:func:`dashboard.service.history_window`;
        None: no history charts).
    source_name : str
        The snapshot's file name (no folder: the report is sent outside).
    generated_at : str
        When the report was made, as text.
    plotly_js : str
        The plotly.js bundle to inline.
    notes : tuple of str
        Extra lines for the data notes (why there is no comparison, no history...).
    regime : RegimeLine or None
        The regime line (``key_levels(...).regime``), shown as a coloured badge above the key levels.
    static : bool
        The HTML is printed to PDF or PNG: the charts draw no modebar (:func:`fig.graph_config`).
    """

    current: Analysis
    full: Analysis
    levels_text: str
    history: HistoryWindow | None
    source_name: str
    generated_at: str
    plotly_js: str
    notes: tuple[str, ...] = ()
    regime: RegimeLine | None = None
    static: bool = False


def report_figures(inputs: ReportInputs) -> dict[str, dict]:
    """The report's figure dicts by element id, in page order (pure: calls the figure builders)."""
    a = inputs.current
    subtitle = fig.snapshot_subtitle(a.underlying, a.as_of, a.convention)
    window = fig.view_strike_window(a.spot, config.strike_window_pct(), walls=(a.call_wall, a.put_wall))
    out = {
        "fig-gamma": fig.gamma_by_strike_figure(
            a.by_strike, spot=a.spot, zero_gamma_levels=a.zero_gamma_levels, call_wall=a.call_wall,
            put_wall=a.put_wall, by_strike_expiry=a.by_strike_expiry, subtitle=subtitle, strike_window=window,
            height=FIGURE_HEIGHT_PX),
        "fig-hedge": fig.two_line_axis_titles(fig.hedge_curve_figure(
            a.hedge_curves, gamma_profile=a.gamma_profile, spot=a.spot, zero_gamma_levels=a.zero_gamma_levels,
            units="usd", underlying=a.underlying, height=FIGURE_HEIGHT_PX + 60)),
        "fig-term": fig.term_structure_figure(
            inputs.full.term_structure, selected_expiries=[d.isoformat() for d in a.expiries],
            subtitle=subtitle, height=FIGURE_HEIGHT_PX),
    }
    h = inputs.history
    if h is not None:
        sub = history_subtitle(h.underlying, len(h.levels), h.conventions, view_convention=a.convention,
                               view_expiries=None if len(a.expiries) == len(inputs.full.expiries)
                               else f"{len(a.expiries)} of {len(inputs.full.expiries)} expiries")
        views = history_view_figures(h, subtitle=sub, height=FIGURE_HEIGHT_PX)
        out.update({f"fig-history-{name}": figure for name, figure in views.items()})
    return out


def chart_config(inputs: ReportInputs, element_id: str) -> dict:
    """The page's Plotly config (:func:`fig.graph_config`: no cloud button, no logo), its PNG named as the
    page names its exports (:func:`fig.export_filename`); no modebar when the report is printed."""
    a = inputs.current
    view = EXPORT_NAMES[REPORT_PANELS[element_id]] if element_id in REPORT_PANELS else element_id.removeprefix("fig-")
    preset = "all" if len(a.expiries) == len(inputs.full.expiries) else "custom"
    name = export_filename(view, a.underlying, a.as_of, a.convention, preset,
                           [d.isoformat() for d in a.expiries])
    config = fig.graph_config(name, static=inputs.static)
    # plotly.io warns on the two Chart Studio switches the page also sets (plotly.js keeps them off by
    # default, and the buttons they would show are in the config's modeBarButtonsToRemove): leave them out
    return {k: v for k, v in config.items() if k not in ("showEditInChartStudio", "showLink")}


def chart_html(element_id: str, figure: dict, config: dict | None = None) -> Markup:
    """One chart as plotly.io writes it: a ``<div id=element_id>`` and the script drawing it with the
    plotly.js the page inlines once. Numbers travel as base64 typed arrays (:func:`fig.encode_arrays`,
    as on the page); the figure dicts are validated by the builders' tests, not again here."""
    return Markup(pio.to_html(fig.encode_arrays(figure), include_plotlyjs=False, full_html=False, div_id=element_id,
                              config=config or {}, default_height=FIGURE_HEIGHT_PX, validate=False))


def units_rows(a: Analysis) -> list[tuple[str, str]]:
    """The conventions table: (what, how it is measured) per row."""
    conv = conventions.units_text(a.convention)
    units = cast("dict[str, str]", CONVENTIONS_TEXT["units"])
    return [*units.items(), ("sign", str(CONVENTIONS_TEXT["sign"])), ("time", str(CONVENTIONS_TEXT["time"])),
            ("model", a.model_description or a.model),
            ("convention", f"{conv['name']}: calls {conv['calls']}, puts {conv['puts']}. {conv['help']}"),
            ("multiplier", f"{a.multiplier:g} per contract")]


def render_report(inputs: ReportInputs) -> str:
    """The whole report as one HTML document (UTF-8 text).

    Parameters
    ----------
    inputs : ReportInputs

    Returns
    -------
    str
        ``<!DOCTYPE html>`` ... with plotly.js inlined once and one chart ``<div>`` per figure.
    """
    if "</script" in inputs.plotly_js.lower():
        raise ValueError("the plotly.js bundle contains '</script' and cannot be inlined")
    a = inputs.current
    stamp = format_stamp(a.as_of)
    charts = report_figures(inputs)
    return _template().render(
        title=f"{a.underlying} dealer positioning, {stamp}",
        plotly_js=Markup(inputs.plotly_js),  # the page's own bundle, checked above
        spot=fig.format_number(a.spot, compact=False),
        convention=a.convention,
        expiries=(f"{len(a.expiries)} expiries ({a.expiries[0].isoformat()} .. {a.expiries[-1].isoformat()})"
                  if a.expiries else "no expiry"),
        source_name=inputs.source_name,
        model=a.model_description or a.model,
        generated_at=inputs.generated_at,
        levels_text=inputs.levels_text,
        regime=inputs.regime,
        view_charts=[chart_html(k, v, chart_config(inputs, k)) for k, v in charts.items()
                     if not k.startswith("fig-history")],
        history_charts=[chart_html(k, v, chart_config(inputs, k)) for k, v in charts.items()
                        if k.startswith("fig-history")],
        units=units_rows(a),
        notes=[*a.warnings, *inputs.notes],
    )
