"""The morning report as plain functions: the HTML of dashboard.report_html, the use case in
dashboard.service, ``mmpos report`` and the report button's callback body."""

from __future__ import annotations

import datetime as dt
import doctest
import json
import re
from dataclasses import replace

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest

from analytics.errors import ChainDataError
from analytics.history_window import HistoryWindow, StrikeMatrix
from analytics.scenario import Scenario
from dashboard import cli, report_html, service
from dashboard.report_html import ReportInputs, render_report, report_figures
from dashboard.web.callbacks import report as report_callback
from dashboard.web.figures import history as hfig

FAKE_PLOTLY = "/*plotly.js under test*/window.Plotly={newPlot:function(){}};"


@pytest.fixture(autouse=True)
def history_store_outside_the_demo_folder(tmp_path, monkeypatch):
    """The history store the reports read lives in a temporary folder, not in the committed data/."""
    monkeypatch.setenv("MMPOS_STATE_DIR", str(tmp_path / "state"))


HISTORY_VIEWS = ["fig-history-levels", "fig-history-heatmap", "fig-history-term"]


def hand_made_window() -> HistoryWindow:
    """Two SPX snapshots as the history store gives them: key levels, ATM IV term, net GEX by strike."""
    as_of = pd.to_datetime(["2026-11-19 16:15", "2026-11-20 16:15"]).tz_localize("America/New_York")
    files = ["spx_quotedata_2026-11-19.csv", "spx_quotedata_2026-11-20.csv"]
    levels = pd.DataFrame({
        "as_of": as_of, "file": files, "snapshot_id": ["spx-20261119-1615", "spx-20261120-1615"],
        "convention": "dealer-long-calls", "spot": [6700.0, 6753.9], "total_gex_usd_per_1pct": [-2e9, 1e9],
        "zero_gamma_levels": [(6800.0,), (6900.0, 7100.0)], "call_wall": [6800.0, 6800.0],
        "put_wall": [6600.0, float("nan")], "net_vega_usd_per_vol_pt": [-3e7, -2e7]})
    term = pd.DataFrame({"as_of": np.repeat(as_of, 2), "file": np.repeat(files, 2),
                         "snapshot_id": np.repeat(levels["snapshot_id"], 2), "days_to_expiry": [5.0, 40.0] * 2,
                         "atm_iv": [0.14, 0.17, 0.15, 0.18]})
    strikes = np.arange(6500.0, 7001.0, 25.0)
    net = np.outer([1.0, -1.5], np.sin(strikes / 80.0)) * 1e9
    return HistoryWindow("SPX", levels, term, StrikeMatrix(pd.DatetimeIndex(as_of), strikes, net,
                                                          levels["spot"].to_numpy()))


@pytest.fixture(scope="module")
def spx_inputs(demo_dir) -> ReportInputs:
    """Inputs of a report on the newest demo SPX snapshot, with hand-made history and a hostile note."""
    entry = service.report_entry(demo_dir, "SPX")
    scenario = service.report_scenario(Scenario(expiries=None))
    current = service.analysis_for(demo_dir, entry, scenario)
    return ReportInputs(current=current, full=current, levels_text="SPX key levels <b>&</b>",
                        history=hand_made_window(), source_name=entry.path.name,
                        generated_at="2026-11-30 09:00 UTC", plotly_js=FAKE_PLOTLY,
                        notes=("a note with <script>alert(1)</script>",))


def test_report_figures_are_valid_plotly_figures_in_page_order(spx_inputs):
    figures = report_figures(spx_inputs)
    assert list(figures) == ["fig-gamma", "fig-hedge", "fig-term", *HISTORY_VIEWS]
    for figure in figures.values():
        assert go.Figure(figure).data


def test_the_report_draws_the_history_tabs_three_charts_with_the_tabs_builders(spx_inputs):
    figures = report_figures(spx_inputs)
    window = spx_inputs.history
    sub = "SPX · last 2 snapshots · all expiries · Dealers long calls, short puts"
    tab = hfig.history_view_figures(window, subtitle=sub, height=report_html.FIGURE_HEIGHT_PX)
    for name in hfig.HISTORY_VIEWS:
        assert json.dumps(figures[f"fig-history-{name}"], default=repr) == json.dumps(tab[name], default=repr)
    cells, spot = figures["fig-history-heatmap"]["data"]  # the strike x date chart, bar cells the bundle draws
    assert cells["type"] == "bar" and cells["marker"]["cmid"] == 0 and spot["name"] == "Spot"
    assert set(cells["x"]) == {"spx-20261119-1615", "spx-20261120-1615"}


def test_the_history_charts_say_they_cover_every_expiry_and_which_convention(spx_inputs):
    a = spx_inputs.current
    same = report_figures(spx_inputs)["fig-history-levels"]["layout"]["title"]["subtitle"]["text"]
    assert "all expiries · Dealers long calls, short puts" in same and "snapshot view" not in same
    other = replace(spx_inputs, current=replace(a, convention="dealer-short-all", expiries=a.expiries[:2]))
    for name in HISTORY_VIEWS:
        title = report_figures(other)[name]["layout"]["title"]["subtitle"]["text"]
        assert f"(snapshot view: Dealers short calls and puts, 2 of {len(a.expiries)} expiries)" in title


def drawn_figures(page: str) -> list[tuple[str, list, dict]]:
    """(element id, data, layout) of every ``Plotly.newPlot`` call in the report, parsed as JSON."""
    decoder, out = json.JSONDecoder(), []
    for match in re.finditer(r'Plotly\.newPlot\(\s*"([^"]+)",\s*', page):
        data, end = decoder.raw_decode(page, match.end())
        layout, _ = decoder.raw_decode(page, re.compile(r",\s*").match(page, end).end())
        out.append((match[1], data, layout))
    return out


def test_the_report_inlines_plotly_once_and_one_chart_per_figure(spx_inputs):
    page = render_report(spx_inputs)
    assert page.startswith("<!DOCTYPE html>") and page.count(FAKE_PLOTLY) == 1
    ids = list(report_figures(spx_inputs))
    assert re.findall(r'<div id="(fig-[a-z-]+)" class="plotly-graph-div"', page) == ids  # plotly.io's markup
    assert [f[0] for f in drawn_figures(page)] == ids
    assert not re.search(r"<(script|link|img|iframe)[^>]+(src|href)=", page)  # nothing loaded from elsewhere


def test_figure_json_in_the_report_parses_and_cannot_close_its_script(spx_inputs):
    page = render_report(spx_inputs)
    figures = drawn_figures(page)
    assert [f[0] for f in figures][:3] == ["fig-gamma", "fig-hedge", "fig-term"]
    assert all(data and isinstance(layout, dict) for _, data, layout in figures)
    scripts = re.findall(r"<script>(.*?)</script>", page, re.S)
    assert scripts[0] == FAKE_PLOTLY and len(scripts) == 1 + len(figures)
    assert all("<" not in body for body in scripts[1:])
    hostile = "</script><script>alert(1)</script>"
    chart = report_html.chart_html("fig-x", {"data": [{"type": "bar", "name": hostile, "x": [1], "y": [2]}],
                                             "layout": {"title": {"text": hostile}}})
    assert hostile not in chart and chart.count("</script>") == 1 and drawn_figures(chart)[0][1][0]["name"] == hostile


def test_text_in_the_report_is_escaped(spx_inputs):
    page = render_report(spx_inputs)
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "SPX key levels &lt;b&gt;&amp;&lt;/b&gt;" in page


def test_an_underlying_name_is_escaped_in_the_text_and_in_the_charts(spx_inputs):
    evil = '<img src=x onerror="alert(1)">'
    a = spx_inputs.current
    page = render_report(replace(spx_inputs, current=replace(a, underlying=evil), full=replace(a, underlying=evil)))
    assert evil not in page and "<img" not in page
    assert '<title>&lt;img src=x onerror=&#34;alert(1)&#34;&gt; dealer positioning' in page
    subtitles = [layout["title"]["subtitle"]["text"] for fid, _, layout in drawn_figures(page)
                 if fid in ("fig-gamma", "fig-term")]
    # inside the charts' JSON (escaped by plotly.io for the page) and for Plotly's own markup (entities)
    assert subtitles and all(s.startswith('&lt;img src=x onerror="alert(1)"&gt;') for s in subtitles)


def test_the_template_ships_with_the_package():
    import tomllib
    from pathlib import Path

    root = Path(report_html.__file__).parent
    patterns = tomllib.loads((root.parent / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    shipped = {p.relative_to(root).as_posix() for pattern in patterns["dashboard"] for p in root.glob(pattern)}
    assert f"templates/{report_html.TEMPLATE}" in shipped


def test_the_report_states_units_sign_model_and_convention(spx_inputs):
    page = render_report(spx_inputs)
    for text in ("USD per 1% move", "positive GEX = dealers long gamma", "USD per 1 vol point",
                 "dealer-long-calls: calls +OI, puts -OI", spx_inputs.current.model_description):
        assert text in page


def test_without_history_the_report_says_so_instead_of_drawing_empty_charts(spx_inputs):
    page = render_report(replace(spx_inputs, history=None))
    assert "fig-history" not in page and "No history charts" in page


def test_a_bundle_that_would_close_its_script_is_refused(spx_inputs):
    with pytest.raises(ValueError, match="cannot be inlined"):
        render_report(replace(spx_inputs, plotly_js="x='</script>'"))


def test_report_scenario_adds_the_key_level_shocks_and_the_next_day_curve():
    s = service.report_scenario(Scenario(shocks_pct=(-5.0, 5.0)))
    assert s.shocks_pct == (-5.0, -2.0, -1.0, 0.0, 1.0, 2.0, 5.0) and s.compare_horizons_days == (1.0,)
    assert service.report_scenario(Scenario(horizon_days=1.0)).compare_horizons_days == ()


def test_report_entry_refuses_an_unknown_underlying_or_a_snapshot_of_another(demo_dir):
    with pytest.raises(ChainDataError, match="no snapshot of 'XYZ'.*underlyings: BTC, SPX"):
        service.report_entry(demo_dir, "XYZ")
    btc = service.report_entry(demo_dir, "btc")
    with pytest.raises(ChainDataError, match="is of BTC, not SPX"):
        service.report_entry(demo_dir, "SPX", str(btc.id))


def test_mmpos_report_writes_the_html_with_key_levels_and_changes(demo_dir, tmp_path, capsys):
    data = tmp_path / "data"
    data.mkdir()
    for path in sorted(demo_dir.glob("spx_quotedata_*.csv"))[-2:]:
        (data / path.name).write_bytes(path.read_bytes())
    out = tmp_path / "r.html"
    assert cli.main(["report", "--underlying", "spx", "--data-dir", str(data), "--out", str(out),
                     "--expiries", "2026-11-27", "2026-12-18"]) == 0
    page = out.read_text()
    assert "SPX key levels, 2026-11-20 16:15 EST" in page and "changes vs 2026-11-19 16:15 EST" in page
    assert "expiries: 2 (2026-11-27, 2026-12-18)" in page or "expiries: 2 (2026-11-27 to 2026-12-18)" in page
    assert "SPX \\u00b7 last 2 snapshots \\u00b7 all expiries" in page  # the history store of that folder (JSON)
    assert "fig-history-heatmap" in page
    assert f"wrote {out} (" in capsys.readouterr().out
    # issue 18: the regime line as a coloured badge above the key levels, and first in the copy block
    badge = re.search(r'<p class="regime" data-regime="([a-z-]+)"><span class="badge \1">([^<]+)</span> ([^<]+)</p>', page)
    assert badge is not None and badge[2] == {"short-gamma": "SHORT γ", "long-gamma": "LONG γ",
                                              "uncertain": "UNCERTAIN γ"}[badge[1]]
    assert "d/d)" in badge[3] and f"{badge[2]} · {badge[3]}" in page.split('<pre class="levels">')[1]


def test_mmpos_report_on_an_unknown_underlying_exits_2_with_one_line(demo_dir, tmp_path, capsys):
    assert cli.main(["report", "--underlying", "XYZ", "--data-dir", str(demo_dir), "--out",
                     str(tmp_path / "r.html")]) == cli.EXIT_BAD_INPUT
    err = capsys.readouterr().err
    assert err.startswith("mmpos: ") and err.count("\n") == 1 and not (tmp_path / "r.html").exists()


def test_the_report_button_sends_the_report_of_the_selected_snapshot(demo_dir):
    entry = service.report_entry(demo_dir, "BTC")
    state = {"u": "BTC", "snap": str(entry.id)}
    sent, status = report_callback.download(state, str(demo_dir), now=dt.datetime(2026, 11, 30, 9, 0))
    assert status == [] and sent["filename"] == f"mmpos-report-BTC-{entry.as_of:%Y%m%d-%H%M}.html"
    assert sent["content"].startswith("<!DOCTYPE html>") and "BTC key levels" in sent["content"]
    assert "generated 2026-11-30 09:00 UTC" in sent["content"]


def test_the_report_button_draws_the_history_the_store_holds_without_filling_it(demo_dir, tmp_path):
    from analytics.history import open_store

    entry = service.report_entry(demo_dir, "BTC")
    sent, _ = report_callback.download({"u": "BTC", "snap": str(entry.id)}, str(demo_dir), now=dt.datetime(2026, 1, 1))
    assert "fig-history" not in sent["content"] and "history store holds no snapshot of this underlying" in sent["content"]
    with open_store(demo_dir) as store:
        assert store.history("BTC", refresh=False).empty  # the click did not fill the store


def test_the_report_button_without_a_snapshot_says_why(demo_dir):
    _, status = report_callback.download({"u": "BTC", "snap": "gone"}, str(demo_dir), now=dt.datetime(2026, 1, 1))
    assert "no longer in the data folder" in str(status)


@pytest.mark.parametrize("module", [hfig, report_html, report_callback])
def test_doctests(module):
    assert doctest.testmod(module).failed == 0


# --- issue #18: the report is as clean as the page ------------------------------------------------


def drawn_configs(page: str) -> dict[str, dict]:
    """The Plotly config of every chart in the report, by element id (the argument after the layout)."""
    decoder, out = json.JSONDecoder(), {}
    for match in re.finditer(r'Plotly\.newPlot\(\s*"([^"]+)",\s*', page):
        end = match.end()
        for _ in range(2):  # data, layout
            _, end = decoder.raw_decode(page, end)
            end = re.compile(r",\s*").match(page, end).end()
        out[match[1]], _ = decoder.raw_decode(page, end)
    return out


def test_every_report_chart_has_the_pages_config_without_a_cloud_button(spx_inputs):
    configs = drawn_configs(render_report(spx_inputs))
    assert list(configs) == list(report_figures(spx_inputs))
    for config in configs.values():
        assert "sendDataToCloud" in config["modeBarButtonsToRemove"], config
        assert config["displaylogo"] is False and config["showSendToCloud"] is False
        assert config["displayModeBar"] == "hover"  # the interactive file keeps the page's modebar


def test_report_pngs_are_named_as_the_pages_exports(spx_inputs):
    from dashboard.web.figures.common import export_filename
    from dashboard.web.panels import BY_NAME

    a = spx_inputs.current
    configs = drawn_configs(render_report(spx_inputs))
    names = {k: c["toImageButtonOptions"]["filename"] for k, c in configs.items()}
    assert names["fig-gamma"] == export_filename(BY_NAME["gamma"].export, a.underlying, a.as_of, a.convention,
                                                 "all", [d.isoformat() for d in a.expiries])
    assert names["fig-term"].endswith(f"_{BY_NAME['term'].export}")
    assert names["fig-hedge"].endswith("_hedging-curves") and names["fig-history-heatmap"].endswith("_history-heatmap")
    assert all(n.startswith(f"mmpos_SPX_{a.as_of:%Y-%m-%dT%H%M}_") for n in names.values()), names


def test_every_panel_and_report_chart_takes_its_export_name_from_the_one_table():
    from dashboard.web.figures.common import EXPORT_NAMES
    from dashboard.web.panels import BY_NAME

    assert set(EXPORT_NAMES) == set(BY_NAME)  # no name without its panel, no panel without a name
    assert set(report_html.REPORT_PANELS.values()) <= set(BY_NAME)
    assert len(set(EXPORT_NAMES.values())) == len(EXPORT_NAMES)  # two views never share a file name


def test_a_printed_report_draws_no_modebar(spx_inputs):
    page = render_report(replace(spx_inputs, static=True))
    assert {c["displayModeBar"] for c in drawn_configs(page).values()} == {False}
    css = page[page.index("<style>"):page.index("</style>")]
    assert re.search(r"@media print\{.*\.modebar-container[^{]*\{display:none", css)  # a browser's own print


def test_no_report_heading_ends_a_printed_page(spx_inputs):
    page = render_report(spx_inputs)
    css = page[page.index("<style>"):page.index("</style>")]
    assert re.search(r"h2,h3\{break-after:avoid", css)
    assert re.search(r"\.chart-card[^{]*\{break-inside:avoid", css)


def test_the_reports_hedge_chart_breaks_both_axis_titles_so_they_do_not_overlap(spx_inputs):
    layout = report_figures(spx_inputs)["fig-hedge"]["layout"]
    titles = [layout[k]["title"]["text"] for k in ("yaxis", "yaxis2")]
    assert all("<br>(" in t for t in titles), titles


def test_the_reports_strike_chart_opens_on_the_pages_window(spx_inputs):
    from dashboard.web import panels
    from dashboard.web.state import ViewState

    a = spx_inputs.current
    shown = report_figures(spx_inputs)["fig-gamma"]["layout"]["xaxis"]["range"]
    assert tuple(shown) == panels.strike_window(a, ViewState.of({}))
    assert shown[0] > a.spot * 0.9 and shown[1] < a.spot * 1.1  # not the chain's 5,800-7,700
