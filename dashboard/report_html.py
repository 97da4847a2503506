"""The morning report: one self-contained HTML file (``mmpos report``, the page's "Download report").

Pure: analyses and the history frame in, an HTML string out; no disk, no clock, no network. The
caller (:func:`dashboard.service.report_for`) gathers the inputs into a :class:`ReportInputs`.

The file holds, in order: the key levels as text (:meth:`analytics.levels.KeyLevels.to_text`), the
three views (gamma by strike, hedge curves over the gamma profile vs spot, vega term structure), the
history charts (the History tab's three, drawn by the same builders: key levels over time, net GEX by
strike x date, net vega and ATM IV term over the last snapshots) and the conventions and data notes
(units, sign, model, the analysis' warnings). plotly.js is inlined once, in one ``<script>``; each
chart is a ``<div>`` and its figure a JSON ``<script type="application/json">`` drawn by one small
loop, so the file opens offline in any browser and asks for nothing from the network.
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass

from plotly.utils import PlotlyJSONEncoder

from analytics import conventions
from analytics.history import HistoryWindow
from analytics.report import CONVENTIONS_TEXT, Analysis
from dashboard.web import figures as fig
from dashboard.web.figures.history import history_subtitle, history_view_figures

FIGURE_HEIGHT_PX = 460
CHART_CONFIG = {"displaylogo": False, "responsive": True, "displayModeBar": "hover"}
REPORT_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1E2A36;margin:0;background:#f6f7f9}
main{max-width:1180px;margin:0 auto;padding:16px 20px 40px}
h1{font-size:22px;margin:8px 0 2px}h2{font-size:17px;margin:22px 0 8px;border-bottom:1px solid #dde2e8;padding-bottom:4px}
.sub{color:#5B6773;font-size:13px;margin:2px 0}
pre.levels{background:#fff;border:1px solid #dde2e8;border-radius:6px;padding:12px 14px;font-size:13px;
  line-height:1.45;overflow-x:auto;white-space:pre}
.chart{background:#fff;border:1px solid #dde2e8;border-radius:6px;margin:10px 0;height:FIGURE_HEIGHTpx}
.note{color:#5B6773;font-size:13px}
table.units{border-collapse:collapse;font-size:13px;background:#fff}
table.units td,table.units th{border:1px solid #dde2e8;padding:4px 8px;text-align:left;vertical-align:top}
ul.warnings li{margin:3px 0;font-size:13px}
@media print{body{background:#fff}.chart{break-inside:avoid}}
""".replace("FIGURE_HEIGHT", str(FIGURE_HEIGHT_PX))
# Draws every figure of the page: each <script type="application/json" data-figure="ID"> into <div id="ID">.
DRAW_JS = """
(function(){var c=CHART_CONFIG;document.querySelectorAll('script[type="application/json"][data-figure]').forEach(
function(s){var f=JSON.parse(s.textContent);Plotly.newPlot(s.getAttribute('data-figure'),f.data,f.layout,c);});})();
""".replace("CHART_CONFIG", json.dumps(CHART_CONFIG))


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
    """

    current: Analysis
    full: Analysis
    levels_text: str
    history: HistoryWindow | None
    source_name: str
    generated_at: str
    plotly_js: str
    notes: tuple[str, ...] = ()


def report_figures(inputs: ReportInputs) -> dict[str, dict]:
    """The report's figure dicts by element id, in page order (pure: calls the figure builders)."""
    a = inputs.current
    subtitle = fig.snapshot_subtitle(a.underlying, a.as_of, a.convention)
    out = {
        "fig-gamma": fig.gamma_by_strike_figure(
            a.by_strike, spot=a.spot, zero_gamma_levels=a.zero_gamma_levels, call_wall=a.call_wall,
            put_wall=a.put_wall, by_strike_expiry=a.by_strike_expiry, subtitle=subtitle, height=FIGURE_HEIGHT_PX),
        "fig-hedge": fig.hedge_curve_figure(
            a.hedge_curves, gamma_profile=a.gamma_profile, spot=a.spot, zero_gamma_levels=a.zero_gamma_levels,
            units="usd", underlying=a.underlying, height=FIGURE_HEIGHT_PX + 60),
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


def _json_for_script(figure: dict) -> str:
    """Figure JSON safe inside ``<script>``: typed arrays for numbers, every ``<`` escaped."""
    text = json.dumps(fig.encode_arrays(figure), cls=PlotlyJSONEncoder, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _chart(element_id: str, figure: dict) -> str:
    height = int(figure.get("layout", {}).get("height") or FIGURE_HEIGHT_PX)
    return (f'<div class="chart" id="{element_id}" style="height:{height}px"></div>\n'
            f'<script type="application/json" data-figure="{element_id}">{_json_for_script(figure)}</script>')


def _units_table(a: Analysis) -> str:
    conv = conventions.units_text(a.convention)
    rows = [*CONVENTIONS_TEXT["units"].items(),
            ("sign", CONVENTIONS_TEXT["sign"]), ("time", CONVENTIONS_TEXT["time"]),
            ("model", a.model_description or a.model),
            ("convention", f"{conv['name']}: calls {conv['calls']}, puts {conv['puts']}. {conv['help']}"),
            ("multiplier", f"{a.multiplier:g} per contract")]
    body = "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(str(v))}</td></tr>" for k, v in rows)
    return f'<table class="units">{body}</table>'


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
    e = html.escape
    stamp = a.as_of.strftime("%Y-%m-%d %H:%M %Z").strip()
    title = f"{a.underlying} dealer positioning, {stamp}"
    expiries = (f"{len(a.expiries)} expiries ({a.expiries[0].isoformat()} .. {a.expiries[-1].isoformat()})"
                if a.expiries else "no expiry")
    charts = report_figures(inputs)
    views = "\n".join(_chart(k, v) for k, v in charts.items() if not k.startswith("fig-history"))
    history = "\n".join(_chart(k, v) for k, v in charts.items() if k.startswith("fig-history"))
    if not history:
        history = '<p class="note">No history charts: the history store had nothing for this underlying.</p>'
    warnings = "".join(f"<li>{e(w)}</li>" for w in [*a.warnings, *inputs.notes]) or "<li>none</li>"
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{e(title)}</title>
<style>{REPORT_CSS}</style>
<script>{inputs.plotly_js}</script>
</head><body><main>
<h1>{e(title)}</h1>
<p class="sub">spot {e(fig.format_number(a.spot, compact=False))} · {e(a.convention)} · {e(expiries)}</p>
<p class="sub">snapshot file {e(inputs.source_name)} · {e(a.model_description or a.model)}</p>
<p class="sub">generated {e(inputs.generated_at)} by mmpos · GEX in USD per 1% move, + = dealers long gamma;
hedge flows + = dealers buy</p>
<h2>Key levels</h2>
<pre class="levels">{e(inputs.levels_text)}</pre>
<h2>Views</h2>
{views}
<h2>History</h2>
{history}
<h2>Conventions and data notes</h2>
{_units_table(a)}
<h3 class="note">Data notes</h3>
<ul class="warnings">{warnings}</ul>
</main>
<script>{DRAW_JS}</script>
</body></html>
"""
