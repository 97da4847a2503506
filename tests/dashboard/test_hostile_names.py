"""Names are data, never markup or formulas (issue #17), proved without a browser: a name that somehow got
past the load check (here put into an analysis by hand) is escaped in every figure the page and the report
draw, and neutralised in the CSV export."""

from __future__ import annotations

import dataclasses
import io
import json

import pandas as pd
import plotly.graph_objects as go
import pytest

from analytics.scenario import Scenario
from dashboard import service
from dashboard.report_html import ReportInputs, render_report, report_figures
from dashboard.web import figures as fig
from dashboard.web.callbacks import export, table
from dashboard.web.figures.common import add_reference_lines, new_figure
from tests.dashboard.test_report import FAKE_PLOTLY, hand_made_window

LINK = '<a href="https://evil.example/">CLICK</a>'
FORMULA = '=HYPERLINK("http://evil.example","x")'


@pytest.fixture(autouse=True)
def history_store_outside_the_demo_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("MMPOS_STATE_DIR", str(tmp_path / "state"))


@pytest.fixture(scope="module")
def hostile(demo_dir):
    """The newest demo SPX analysis, its underlying replaced by a link (what the load check refuses)."""
    entry = service.report_entry(demo_dir, "SPX")
    analysis = service.analysis_for(demo_dir, entry, service.report_scenario(Scenario(expiries=None)))
    return dataclasses.replace(analysis, underlying=LINK)


def no_markup(figure: dict) -> None:
    text = json.dumps(figure, default=repr).lower()
    assert "<a" not in text and "</a" not in text
    go.Figure(figure)  # still a valid figure


def test_every_report_figure_escapes_a_hostile_underlying(hostile):
    window = dataclasses.replace(hand_made_window(), underlying=LINK)
    inputs = ReportInputs(current=hostile, full=hostile, levels_text="", history=window, source_name="x.csv",
                          generated_at="now", plotly_js=FAKE_PLOTLY)
    figures = report_figures(inputs)
    assert len(figures) == 6
    for figure in figures.values():
        no_markup(figure)
    gamma_title = figures["fig-gamma"]["layout"]["title"]["subtitle"]["text"]
    assert gamma_title.startswith("&lt;a href=") and "&gt;CLICK&lt;/a&gt;" in gamma_title  # shown as typed
    html = render_report(inputs)
    assert '<a href="https://evil' not in html


def test_the_hedge_view_in_units_escapes_the_name_in_its_hover_texts_and_axis(hostile):
    figure = fig.hedge_curve_figure(hostile.hedge_curves, gamma_profile=hostile.gamma_profile, spot=hostile.spot,
                                    zero_gamma_levels=hostile.zero_gamma_levels, units="units",
                                    underlying=hostile.underlying)
    no_markup(figure)
    assert "&lt;/a&gt; units" in figure["layout"]["yaxis"]["title"]["text"]
    assert any(str(t).endswith("&lt;/a&gt;") for t in figure["data"][0]["text"])


def test_titles_messages_and_line_labels_are_escaped_where_the_builders_take_them():
    empty = fig.empty_figure(LINK, title=LINK, subtitle=LINK)
    no_markup(empty)
    lines = new_figure({})
    add_reference_lines(lines, [("spot", 1.0, LINK, "#000", "solid")])
    no_markup(lines)


def test_the_export_subtitle_from_the_url_state_is_escaped(hostile):
    subtitle, names = export.export_labels({"u": LINK, "conv": "dealer-long-calls"}, hostile.as_of)
    figure = export.with_subtitle(new_figure({"title": {"text": "GEX"}}), subtitle)
    no_markup(figure)
    assert all("<" not in name and ">" not in name for name in names.values())


def test_the_strike_csv_neutralises_a_formula_name_and_keeps_negative_numbers(demo_dir, monkeypatch):
    entry = service.report_entry(demo_dir, "SPX")
    real = service.analysis_for

    def hostile_analysis(*args, **kwargs):
        return dataclasses.replace(real(*args, **kwargs), underlying=FORMULA)

    monkeypatch.setattr(service, "analysis_for", hostile_analysis)
    payload = table.strike_csv({"snap": entry.id, "u": "SPX", "conv": "dealer-long-calls"}, str(demo_dir))
    frame = pd.read_csv(io.StringIO(payload["content"]), dtype={"underlying": str})
    assert set(frame["underlying"]) == {"'" + FORMULA}
    net = frame["net_gex_usd_per_1pct"] if "net_gex_usd_per_1pct" in frame else frame.select_dtypes("number").iloc[:, 1]
    assert pd.api.types.is_float_dtype(net.dtype) and (net < 0).any()  # negative numbers are still numbers
