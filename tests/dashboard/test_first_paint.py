"""What the page ships for its first paint: scripts and the graphs' initial figures."""

from __future__ import annotations

import re

from dashboard.app import DROPPED_SCRIPTS, REGENERATOR_RUNTIME, create_app
from dashboard.web.layout import BLANK_FIGURE, build_layout


def _scripts(page: str) -> list[str]:
    return re.findall(r'<script src="([^"]+)"', page)


def test_the_page_ships_the_regenerator_runtime_instead_of_the_babel_polyfill(demo_dir):
    client = create_app(demo_dir).server.test_client()
    scripts = _scripts(client.get("/").get_data(as_text=True))
    assert not [s for s in scripts if any(name in s for name in DROPPED_SCRIPTS)]
    runtime = next(i for i, s in enumerate(scripts) if s.startswith(f"/assets/{REGENERATOR_RUNTIME.name}?m="))
    renderer = next(i for i, s in enumerate(scripts) if "/dash-renderer/" in s)
    assert runtime < renderer  # defined before any Dash bundle can reach regeneratorRuntime.mark
    assert "regeneratorRuntime = runtime" in REGENERATOR_RUNTIME.read_text()
    bundle = client.get(scripts[renderer]).get_data(as_text=True)
    assert "regeneratorRuntime.mark" in bundle  # why the runtime has to stay


def test_every_graph_starts_blank_so_its_first_plot_draws_no_axes():
    from tests.dashboard.test_callbacks import _walk

    graphs = [c for c in _walk(build_layout()) if type(c).__name__ == "Graph"]
    assert graphs and all(g.figure is BLANK_FIGURE for g in graphs)
    assert BLANK_FIGURE["data"] == []
    assert BLANK_FIGURE["layout"]["xaxis"]["visible"] is False and BLANK_FIGURE["layout"]["yaxis"]["visible"] is False
