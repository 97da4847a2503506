"""The static files the page and the report ship (``assets/``), named once for both.

:mod:`dashboard.app` serves the folder; :func:`dashboard.service.report_for` inlines the plotly.js
bundle into the self-contained report.
"""

from __future__ import annotations

from pathlib import Path

ASSETS_DIR = Path(__file__).resolve().parents[2] / "assets"
# plotly.js "basic" bundle (scatter, bar, pie: all the charts use), same version as the full bundle of
# the installed plotly package (a test checks): 1.2 MB instead of 4.8 MB to parse on first paint.
# dcc.Graph takes window.Plotly when a script defined it and then never loads the full bundle.
# Update: `npm pack plotly.js-basic-dist-min@<version>` and copy plotly-basic.min.js here (MIT).
PLOTLY_BUNDLE = ASSETS_DIR / "plotly-basic.min.js"
# Dash puts @babel/polyfill (core-js 2, 99 KB) on every page for old browsers; evaluating it took
# 100-250 ms of main-thread time on first paint in Chromium, which needs none of it. The Dash bundles
# use one piece of it, the regenerator runtime (``regeneratorRuntime.mark`` in their lazy-loading
# wrappers): that alone ships in assets/ (25 KB) and the polyfill's script tag is left off the page.
# Update: `npm pack regenerator-runtime@<version>` and copy runtime.js here (MIT).
REGENERATOR_RUNTIME = ASSETS_DIR / "regenerator-runtime.js"
