"""The Intraday tab as functions: the figure builder on a hand-made session, the callbacks' bodies on a
folder of snapshots of one session (the demo SPX close re-stamped at other times)."""

from __future__ import annotations

import base64
import datetime as dt
import shutil
import struct
import zlib
from pathlib import Path

import numpy as np
import plotly.graph_objects as go
import pytest
from dash.exceptions import PreventUpdate

from analytics.catalog import forget_holders, holder_for
from analytics.intraday import session_matrix
from dashboard.web import ids
from dashboard.web.callbacks import controls
from dashboard.web.callbacks import intraday as cb
from dashboard.web.figures import intraday as ifig
from dashboard.web.state import from_query, to_query
from tests.intraday_files import write_snapshot
from tests.unit.test_intraday import summary

URL = f"{ids.URL}.search"
OUT = {key: i for i, (key, _, _) in enumerate(controls.OUTPUTS)}
TIMES = (dt.time(9, 35), dt.time(9, 40), dt.time(9, 45))


@pytest.fixture()
def three_matrix():
    items = [
        ("a.csv", summary("09:35", 101.0, [100, 110], [(5, -1), (2, 0)], [(1, -1), (0, 0)], (95.0, 104.0))),
        ("b.csv", summary("09:40", 108.0, [100, 110, 120], [(3, -4), (6, -2), (6, 0)], [(0, -3), (2, 0), (1, 0)],
                          (95.0, 104.0))),
        ("c.csv", summary("09:45", 95.0, [90, 100], [(0, -7), (1, -7)], [(0, 0), (0, 0)])),
    ]
    return session_matrix(items), session_matrix(items, expiries="0dte")


# ----------------------------------------------------------------------------- the figure


def png_pixels(uri: str) -> np.ndarray:
    """The RGBA pixels of the builder's ``data:image/png;base64`` URI (8-bit RGBA, filter 0, one IDAT)."""
    raw = base64.b64decode(uri.split(",", 1)[1])
    assert raw[:8] == b"\x89PNG\r\n\x1a\n" and raw[12:16] == b"IHDR"
    w, h = struct.unpack(">II", raw[16:24])
    assert raw[24:26] == bytes([8, 6])  # 8-bit RGBA
    at = raw.index(b"IDAT") - 4
    rows = np.frombuffer(zlib.decompress(raw[at + 8:at + 8 + struct.unpack(">I", raw[at:at + 4])[0]]), np.uint8)
    rows = rows.reshape(h, 1 + 4 * w)
    assert (rows[:, 0] == 0).all()
    return rows[:, 1:].reshape(h, w, 4)


def cell(pixels: np.ndarray, row: int, col: int, rows: int, cols: int) -> tuple[int, ...]:
    """The RGBA of one cell (row 0 = the highest strike) of an image of ``rows`` x ``cols`` cells."""
    fy, fx = pixels.shape[0] // rows, pixels.shape[1] // cols
    return tuple(int(v) for v in pixels[row * fy + fy // 2, col * fx + fx // 2])


def test_the_heatmap_draws_each_time_and_strike_on_a_scale_centred_at_zero(three_matrix):
    m, _ = three_matrix
    fig = ifig.intraday_figure(m, ["s1", "s2", "s3"], selected=1, strike_window=(85.0, 125.0), max_rows=8)
    go.Figure(fig)  # a valid Plotly figure
    assert [t["name"] for t in fig["data"]] == ["Net GEX", "Net GEX scale", "Spot", "Zero gamma", "Call wall",
                                                 "Put wall"]
    cells, scale, spot, zero, call, put = fig["data"]
    assert scale["marker"]["cmid"] == 0.0 and scale["marker"]["cmin"] == -scale["marker"]["cmax"] == -7.0
    assert scale["marker"]["colorbar"]["title"]["text"] == "Net GEX<br>USD per 1%"
    # strikes listed every 10: buckets of 10 from 80 to 130, 6 rows per time; an unlisted strike holds 0
    assert fig["layout"]["yaxis"]["title"]["text"] == "Strike (buckets of 10)"
    assert np.asarray(cells["y"]).tolist() == [80.0, 90.0, 100.0, 110.0, 120.0, 130.0] * 3
    assert list(cells["text"]) == ["$0", "$0", "+$4", "+$2", "$0", "$0", "$0", "$0", "-$1", "+$4", "+$6", "$0",
                                   "$0", "-$7", "-$6", "$0", "$0", "$0"]
    assert cells["x"][0] == "2026-11-20 09:35:00" and cells["x"][6] == "2026-11-20 09:40:00"
    assert cells["customdata"][6] == [80.0, "s2"]  # a cell names its strike bucket and its snapshot
    assert "%{x|%H:%M}" in cells["hovertemplate"] and "strike" in cells["hovertemplate"] \
        and "per 1%" in cells["hovertemplate"]
    # the cells' image: one column per 5-minute slot from 09:32:30, highest strike (130, top edge 135) on top
    image = fig["layout"]["images"][0]
    assert (image["x"], image["y"], image["sizex"], image["sizey"]) == ("2026-11-20 09:32:30", 135.0, 900_000, 60.0)
    pixels = png_pixels(image["source"])
    assert cell(pixels, 0, 0, 6, 3) == (247, 247, 247, 255)  # 0 at 130: the scale's middle
    assert cell(pixels, 4, 2, 6, 3) == (213, 94, 0, 255)  # -7 at 90, 09:45: the put end
    assert cell(pixels, 1, 1, 6, 3) == (35, 171, 134, 255)  # +6 at 120, 09:40: 6/7 of the way to the call colour
    assert spot["y"].tolist() == [101.0, 108.0, 95.0] and spot["x"][2] == "2026-11-20 09:45:00"
    np.testing.assert_array_equal(zero["y"], [104.0, 104.0, np.nan])
    assert call["y"].tolist() == [100.0, 110.0, 100.0] and put["y"].tolist() == [100.0, 100.0, 90.0]
    assert fig["layout"]["xaxis"]["type"] == "date" and fig["layout"]["xaxis"]["title"]["text"] == "Time (America/New_York)"
    assert fig["layout"]["shapes"][0]["x0"] == "2026-11-20 09:40:00"  # the replayed moment
    assert fig["layout"]["annotations"][0]["text"] == "replay 09:40"
    assert "USD per 1% move" in fig["layout"]["title"]["text"]


def test_a_missed_fetch_leaves_its_column_empty(three_matrix):
    items = [("a.csv", summary("09:35", 101.0, [100], [(5, -1)], [(0, 0)])),
             ("c.csv", summary("09:45", 95.0, [100], [(1, -7)], [(0, 0)])),
             ("d.csv", summary("09:50", 95.0, [100], [(1, -7)], [(0, 0)]))]
    fig = ifig.intraday_figure(session_matrix(items), ["a", "c", "d"], strike_window=(95.0, 105.0))
    image = fig["layout"]["images"][0]
    assert image["sizex"] == 4 * 300_000  # 09:35 to 09:50: four slots
    pixels = png_pixels(image["source"])
    rows = pixels.shape[0] // (fig["data"][0]["y"].size // 3)
    assert [cell(pixels, 0, c, pixels.shape[0] // rows, 4)[3] for c in range(4)] == [255, 0, 255, 255]


def test_the_0dte_heatmap_says_so_and_names_the_zero_gamma_line_every_expiry_s(three_matrix):
    _, zero = three_matrix
    fig = ifig.intraday_figure(zero, ["s1", "s2", "s3"], subtitle=ifig.session_subtitle(zero, "Dealers long calls"))
    go.Figure(fig)
    assert fig["data"][3]["name"] == "Zero gamma (all expiries)"
    assert np.isnan(fig["data"][4]["y"][2])  # no 0DTE call GEX at 09:45: no call wall
    assert fig["layout"]["title"]["subtitle"]["text"] == \
        "SPX · session 2026-11-20 · 3 snapshots · 0DTE (2026-11-20) · Dealers long calls"


def test_an_empty_session_says_so():
    fig = ifig.intraday_figure(session_matrix([]), [])
    assert fig["layout"]["annotations"][0]["text"] == "No snapshot of this session summarised yet"
    with pytest.raises(ValueError, match="2 snapshot ids for 1 snapshots"):
        ifig.intraday_figure(session_matrix([("a", summary("09:35", 1.0, [1.0], [(1, 0)], [(0, 0)]))]),
                             ["x", "y"])


# ----------------------------------------------------------------------------- the callbacks


@pytest.fixture
def folder(tmp_path, demo_dir) -> Path:
    """Three snapshots of the 2026-11-20 SPX session and the previous session's close."""
    out = tmp_path / "data"
    out.mkdir()
    for i, t in enumerate(TIMES):
        write_snapshot(demo_dir, out, t, 1.0 + 0.1 * i)
    shutil.copy2(demo_dir / "spx_quotedata_2026-11-19.csv", out)
    forget_holders()
    yield out
    forget_holders()


def open_tab(folder: Path, search: str) -> dict:
    return controls.update(URL, {URL: search}, None, str(folder))[OUT["store"]]


def test_the_tab_fills_its_session_a_few_files_per_tick_then_draws_every_snapshot(folder):
    state = open_tab(folder, "?u=SPX&tab=intraday")
    assert state["snap"] == "spx-20261120-0945" and state["tab"] == "intraday" and state["iexp"] == "all"
    first = cb.fill_step(state, str(folder), max_files=2)
    assert first == {"u": "SPX", "session": "2026-11-20", "done": 2, "total": 3, "newest": "spx-20261120-0945"}
    assert cb.tick_ms(first) < cb.tick_ms({**first, "done": 3})
    half = cb.draw(state, str(folder), first)
    assert half["ids"] == ["spx-20261120-0935", "spx-20261120-0940"] and half["value"] is None
    assert "2 of 3 snapshots of the session summarised" in half["status"]
    assert cb.fill_step(state, str(folder), max_files=2)["done"] == 3
    out = cb.draw(state, str(folder))
    assert out["ids"] == ["spx-20261120-0935", "spx-20261120-0940", "spx-20261120-0945"]
    assert (out["max"], out["value"], out["marks"]) == (2, 2, {0: "09:35"})
    assert out["status"].startswith("replay 09:45: snapshot 3 of 3")
    go.Figure(out["figure"])
    assert len(out["figure"]["data"][2]["y"]["bdata"]) > 0  # spot, as a typed array
    # the previous session's close is not part of it, and was not summarised for it
    assert cb.fill_step({**state, "snap": "spx-20261119-1615"}, str(folder), 0)["total"] == 1


def test_a_snapshot_that_lands_is_a_new_column_at_the_next_tick(folder, demo_dir):
    state = open_tab(folder, "?u=SPX&tab=intraday")
    before = cb.fill_step(state, str(folder), max_files=5)
    write_snapshot(demo_dir, folder, dt.time(9, 50), 1.3)
    holder_for(folder).refresh()  # the catalog's rescan timer, due
    after = cb.fill_step(state, str(folder), max_files=5)
    assert (before["total"], after["total"], after["done"]) == (3, 4, 4)
    assert after["newest"] == "spx-20261120-0950" and after != before  # the store changed: the tab redraws
    out = cb.draw(state, str(folder), after)
    assert out["ids"][-1] == "spx-20261120-0950" and out["value"] == 2  # the chosen snapshot stays chosen


def test_moving_the_slider_selects_that_snapshot_in_the_url(folder):
    state = open_tab(folder, "?u=SPX&tab=intraday")
    cb.fill_step(state, str(folder), max_files=5)
    snapshot_ids = cb.draw(state, str(folder))["ids"]
    search = to_query(state)
    query = cb.navigate(f"{ids.INTRADAY_SLIDER}.value", "all", 0, snapshot_ids, state, search)
    assert from_query(query)["snap"] == "spx-20261120-0935" and from_query(query)["tab"] == "intraday"
    moved = open_tab(folder, query)  # the controls read the URL: every view follows
    assert moved["snap"] == "spx-20261120-0935"
    assert cb.draw(moved, str(folder))["value"] == 0
    with pytest.raises(PreventUpdate):  # the slider set to the snapshot shown: nothing to do
        cb.navigate(f"{ids.INTRADAY_SLIDER}.value", "all", 2, snapshot_ids, state, search)
    with pytest.raises(PreventUpdate):
        cb.navigate(f"{ids.INTRADAY_SLIDER}.value", "all", 7, snapshot_ids, state, search)


def test_the_expiry_toggle_is_a_view_state_key_in_the_url(folder):
    state = open_tab(folder, "?u=SPX&tab=intraday")
    query = cb.navigate(f"{ids.INTRADAY_EXPIRIES}.value", "0dte", None, [], state, to_query(state))
    assert "iexp=0dte" in query and from_query(query)["iexp"] == "0dte"
    assert from_query("?iexp=weekly")["iexp"] == "all"  # refused: the default
    cb.fill_step(state, str(folder), max_files=5)
    zero = cb.draw(from_query(query) | {"snap": state["snap"]}, str(folder))
    assert "0DTE (2026-11-20)" in zero["figure"]["layout"]["title"]["subtitle"]["text"]
    with pytest.raises(PreventUpdate):  # the toggle set to what the state holds (the draw sets it so)
        cb.navigate(f"{ids.INTRADAY_EXPIRIES}.value", "0dte", None, [], from_query(query), query)


def test_the_strike_window_spans_spot_over_the_session_like_the_strike_views(three_matrix, monkeypatch):
    monkeypatch.setenv("MMPOS_STRIKE_WINDOW_PCT", "5")
    lo, hi = cb.strike_window(three_matrix[0])
    assert lo < 95.0 * 0.95 and hi > 108.0 * 1.05 and hi < 108.0 * 1.06


def test_one_huge_cell_saturates_instead_of_washing_out_the_rest_and_the_colour_bar_says_so():
    strikes = [float(k) for k in range(100, 300, 10)]  # 20 strikes x 10 times of GEX 1, one cell of 50
    items = []
    for i in range(10):
        calls = [(50.0 if (i, k) == (9, 200.0) else 1.0, 0.0) for k in strikes]
        items.append((f"{i}.csv", summary(f"10:{i * 5:02d}", 200.0, strikes, calls, [(0, 0)] * len(strikes))))
    fig = ifig.intraday_figure(session_matrix(items), [str(i) for i in range(10)], strike_window=(100.0, 290.0))
    scale = fig["data"][1]["marker"]
    assert (scale["cmin"], scale["cmax"]) == (-1.0, 1.0)
    assert scale["colorbar"]["title"]["text"] == "Net GEX<br>USD per 1%<br>full colour beyond<br>±$1"
    pixels = png_pixels(fig["layout"]["images"][0]["source"])
    assert cell(pixels, 19 - 10, 9, 20, 10) == cell(pixels, 0, 0, 20, 10) == (0, 158, 115, 255)  # the call colour


def test_a_click_on_a_column_selects_that_snapshot_like_the_slider(folder):
    state = open_tab(folder, "?u=SPX&tab=intraday")
    cb.fill_step(state, str(folder), max_files=5)
    out = cb.draw(state, str(folder))
    click = {"points": [{"x": "2026-11-20 09:40:00", "customdata": out["figure"]["data"][0]["customdata"][-1][:1]
                         + ["spx-20261120-0940"]}]}
    query = cb.navigate(f"{ids.INTRADAY_GRAPH}.clickData", "all", None, out["ids"], state, to_query(state), click)
    assert from_query(query)["snap"] == "spx-20261120-0940" and from_query(query)["tab"] == "intraday"
    with pytest.raises(PreventUpdate):  # a click naming no snapshot of the session
        cb.navigate(f"{ids.INTRADAY_GRAPH}.clickData", "all", None, out["ids"], state, to_query(state),
                    {"points": [{"customdata": [6800.0, "spx-20261119-1615"]}]})
