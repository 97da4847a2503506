"""The page, built from named pieces: header, banners, controls, KPI strip, three views, table.

No data is read here: options and values arrive from the controls callback on the first load, so
building the layout touches neither the disk nor the clock.
"""

from __future__ import annotations

from typing import Any

import dash_ag_grid as dag
from dash import dcc, html

from analytics.watchlist import STALE_AFTER_HOURS
from dashboard.runtime import config
from dashboard.web import ids
from dashboard.web.figures import graph_config
from dashboard.web.panels import CHANGE_BASIS_CHOICE, KEY_LEVELS_AFTER, PANELS, Choice, Panel
from dashboard.web.state import DEFAULT_STATE, FORWARD_OPTIONS, IV_POLICY_OPTIONS, PRESETS, SHOCK_CHOICES

# Chart heights, widths, titles and tools are the registry's (dashboard.web.panels): the figure layouts
# and their containers use the same heights (the charts are responsive in width).
MIN_POLL_S = 2.0  # the new-snapshot poll's shortest period (dashboard.web.callbacks.follow)
TABLE_PAGE_SIZE = 15  # rows per page of the per-strike table (it opens at the page holding spot)
# What a graph draws before its first figure arrives: nothing. dcc.Graph plots whatever it holds when
# it mounts, which is just before the first view's request goes out; Dash's default (empty axes, grid,
# ticks) cost ~100 ms of main-thread time for the page's five graphs on the way to first paint.
BLANK_FIGURE: dict = {"data": [], "layout": {"xaxis": {"visible": False}, "yaxis": {"visible": False}}}


def header() -> html.Header:
    return html.Header(
        className="app-header",
        children=[
            html.Div(
                className="brand",
                children=[html.Span("mmpos", className="brand-name"), html.Span("dealer positioning", className="brand-sub"),
                          nav_links()],
            ),
            html.Div(id=ids.HEADER_TITLE, className="header-title", children="—"),
            html.Div(id=ids.HEADER_SNAPSHOT, className="header-snapshot", children=""),
            html.Div(id=ids.HEADER_CONVENTION, className="header-convention", children=""),
            html.Div(id=ids.COLLECT_STATUS, className="header-collect", children="", **{"aria-live": "polite"}),
        ],
    )


def banners() -> html.Div:
    return html.Div(
        className="banners",
        children=[
            html.Div(id=ids.BANNER, className="banner-slot", role="alert", **{"aria-live": "polite"}),
            html.Div(id=ids.CATALOG_BANNER, className="banner-slot"),
            html.Div(id=ids.ALERT_LINES, className="banner-slot alert-lines"),
            html.Div(id=ids.NEW_SNAPSHOT_NOTICE, className="banner-slot", **{"aria-live": "polite"}),
        ],
    )


def work_panel() -> html.Div:
    """Progress and cancel of a background analysis (dashboard/web/callbacks/work.py), hidden until one
    runs; with the two stores that route a view through it."""
    return html.Div([
        dcc.Store(id=ids.READY_VIEW_STORE, storage_type="memory"),
        dcc.Store(id=ids.PENDING_VIEW_STORE, storage_type="memory"),
        dcc.Store(id=ids.DONE_VIEW_STORE, storage_type="memory"),
        html.Div(
            id=ids.WORK_PANEL,
            className="banner banner-info work-panel",
            style={"display": "none"},
            role="status",
            children=[
                html.Span(id=ids.WORK_TEXT, children="Starting the analysis"),
                html.Progress(id=ids.WORK_PROGRESS, value="0", max="4"),
                html.Button("Cancel", id=ids.WORK_CANCEL, n_clicks=0, className="work-cancel"),
            ],
        ),
    ])


def _field(label: str, control, *, width: str = "", help_text: str | None = None) -> html.Div:
    return html.Div(
        className=f"field {width}".strip(),
        title=help_text,
        children=[html.Label(label, className="field-label"), control],
    )


def controls() -> html.Section:
    return html.Section(
        className="controls card",
        children=[
            _field("Underlying", dcc.Dropdown(id=ids.UNDERLYING, clearable=False, searchable=False), width="w-xs"),
            _field("Snapshot", html.Div([
                dcc.Dropdown(id=ids.SNAPSHOT, clearable=False, searchable=False),
                dcc.Checklist(id=ids.FOLLOW, options=[{"label": " Follow newest", "value": "follow"}], value=[],
                              className="follow-newest", inline=True),
            ]), width="w-snap", help_text="Follow newest: open each new snapshot of this underlying as it lands in "
                   "the data folder (the address keeps the choice)."),
            _field(
                "Expiry set",
                dcc.RadioItems(
                    id=ids.EXPIRY_PRESET,
                    options=[{"label": label, "value": value} for value, label in PRESETS],
                    value="all",
                    className="segmented",
                    inline=True,
                ),
                width="w-preset",
                help_text="Presets count calendar days from the snapshot time. 0DTE with no expiry on the "
                "snapshot date (weekend) takes the next expiry. Monthlies: third Friday or AM-settled root "
                "(Deribit: last Friday).",
            ),
            _field(
                "Expiries",
                dcc.Dropdown(id=ids.EXPIRIES, multi=True, placeholder="all expiries", maxHeight=320),
                width="w-lg",
            ),
            _field("Dealer convention", dcc.Dropdown(id=ids.CONVENTION, clearable=False, searchable=False), width="w-md"),
            _field(
                "Shock range",
                dcc.Dropdown(
                    id=ids.SHOCK_RANGE,
                    options=[{"label": f"±{s}%", "value": s} for s in SHOCK_CHOICES],
                    value=20,
                    clearable=False,
                    searchable=False,
                ),
                width="w-xs",
            ),
            _field(
                "Horizon",
                dcc.RadioItems(
                    id=ids.HORIZON,
                    options=[{"label": "Now", "value": 0}, {"label": "+1 day", "value": 1}],
                    value=0,
                    className="segmented",
                    inline=True,
                ),
                width="w-sm",
                help_text="Hedge flows revalued this much later (expiring options drop out); +1 day also draws the curve for now.",
            ),
            _field(
                "Vol scenario",
                html.Div(
                    className="vol-row",
                    children=[
                        dcc.RadioItems(
                            id=ids.VOL_MODE,
                            options=[
                                {"label": "None", "value": "none"},
                                {"label": "Shift (vol pts)", "value": "shift"},
                                {"label": "Spot-vol β", "value": "beta"},
                            ],
                            value="none",
                            className="segmented",
                            inline=True,
                        ),
                        dcc.Input(
                            id=ids.VOL_VALUE,
                            type="number",
                            value=0,
                            # any decimal: the engine's clamp (e.g. -7.24) and a typed -3.25 are valid numbers
                            # (with a step, Chromium marks them invalid and Dash sends NaN)
                            step="any",
                            debounce=True,
                            className="num-input",
                            disabled=True,
                        ),
                    ],
                ),
                width="w-vol",
                help_text="Shift: every IV moves by this many vol points. Beta: vol points per 1% spot "
                "shock (negative for equity skew).",
            ),
            _field(
                "Display",
                html.Div(
                    className="vol-row",
                    children=[
                        dcc.Checklist(
                            id=ids.STACK,
                            options=[{"label": "Stack by expiry", "value": "stack"}],
                            value=[],
                            className="check",
                        ),
                        dcc.RadioItems(
                            id=ids.UNITS,
                            options=[{"label": "USD", "value": "usd"}, {"label": "Units", "value": "units"}],
                            value="usd",
                            className="segmented",
                            inline=True,
                        ),
                    ],
                ),
                width="w-sm",
                help_text="Stack the gamma bars by expiry; hedge flows and the KPI strip in USD or in units "
                "of the underlying.",
            ),
            model_controls(),
        ],
    )


def model_controls() -> html.Div:
    """What every number is priced on: the forward (put-call parity or spot) and the IV policy."""
    def segmented(cid: str, options: tuple[tuple[str, str], ...], value: str) -> dcc.RadioItems:
        return dcc.RadioItems(id=cid, options=[{"label": label, "value": v} for v, label in options],
                              value=value, className="segmented", inline=True)

    return _field(
        "Model",
        html.Div(className="vol-row", children=[
            segmented(ids.FORWARD, FORWARD_OPTIONS, DEFAULT_STATE["fwd"]),
            segmented(ids.IV_POLICY, IV_POLICY_OPTIONS, DEFAULT_STATE["iv"]),
        ]),
        width="w-vol",
        help_text="Forward: each expiry's forward and discount from put-call parity (Black-76), or the header "
        "spot with zero rates (the classic recipe). IV: one IV per strike from the out-of-the-money side, or each "
        "side's own IV from the file. The header states the model in use.",
    )


def kpi_strip() -> html.Section:
    return html.Section(id=ids.KPI_STRIP, className="kpi-strip", children=[])


def change_basis() -> html.Div:
    """Under the KPI strip's "Changes vs ..." line: what the changes (KPI strip, key levels, the
    previous-net line) compare with, the previous session's close or the snapshot before in the session."""
    return html.Div(className="change-basis", children=[
        html.Span("Changes vs:", className="change-basis-label"), choice_control(CHANGE_BASIS_CHOICE)],
        title="Previous close: the newest comparable snapshot of an earlier session (day over day). "
              "Previous snapshot: the one before this in the same session (intraday changes).")


def _panel(title: str, hint: str, graph_id: str, *, filename: str, height: int, extra_class: str = "",
           tools: list | None = None, **graph_kwargs) -> html.Section:
    return html.Section(
        className=f"card panel {extra_class}".strip(),
        **{"aria-label": title},
        children=[
            *([html.Div(tools, className="panel-tools")] if tools else []),
            dcc.Graph(id=graph_id, figure=BLANK_FIGURE, config=graph_config(filename), className="graph",
                      style={"height": f"{height}px"}, **graph_kwargs),
            html.Div(hint, className="panel-hint"),
        ],
    )


def choice_control(choice: Choice) -> dcc.RadioItems | dcc.Checklist:
    """A panel's own choice (:class:`dashboard.web.panels.Choice`) showing the default view state; the
    controls callback sets it from the state (URL) and reads it back."""
    options = [{"label": label, "value": value} for value, label in choice.options]
    value = choice.to_control(DEFAULT_STATE[choice.key])
    if choice.kind == "check":
        return dcc.Checklist(id=choice.control_id, options=options, value=value, className="check")
    return dcc.RadioItems(id=choice.control_id, options=options, value=value, className="segmented", inline=True)


def panel_card(panel: Panel) -> html.Section:
    """One registered chart's card: its choice (if any), the graph at its height, its hint."""
    return _panel(panel.title, panel.hint, panel.graph_id, filename=f"mmpos-{panel.export}", height=panel.height,
                  extra_class=f"span-{panel.span}", tools=[choice_control(panel.choice)] if panel.choice else None,
                  **dict(panel.graph_kwargs))


def key_levels_panel() -> html.Section:
    """Key levels at a glance (zero gamma vs spot, walls, abs gamma, flows, charm) and a copy button."""
    return html.Section(
        className="card panel levels span-4",
        **{"aria-label": "Key levels"},
        children=[
            html.Div(
                className="panel-head",
                children=[
                    html.H2("Key levels"),
                    html.Span(id=ids.KEY_LEVELS_NOTE, className="panel-sub"),
                    dcc.Clipboard(id=ids.KEY_LEVELS_COPY, target_id=ids.KEY_LEVELS_TEXT, className="btn copy-btn",
                                  title="Copy the key levels as plain text"),
                ],
            ),
            html.Div(id=ids.KEY_LEVELS, className="levels-body"),
            html.Div(id=ids.FLOW_COMPARE, className="flow-compare", **{"aria-live": "polite"}),
            # what the copy button copies: laid out (innerText needs a rendered element) but not shown
            html.Pre(id=ids.KEY_LEVELS_TEXT, className="copy-source", children="", **{"aria-hidden": "true"}),
        ],
    )


def views() -> html.Div:
    """The charts in registry order, the key-levels card after ``KEY_LEVELS_AFTER``."""
    cards: list[html.Section] = []
    for panel in PANELS:
        cards.append(panel_card(panel))
        if panel.name == KEY_LEVELS_AFTER:
            cards.append(key_levels_panel())
    return html.Div(className="views", children=cards)


TABLE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("strike", "Strike"),
    ("call_gex_usd_per_1pct", "Call GEX (USD per 1%)"),
    ("put_gex_usd_per_1pct", "Put GEX (USD per 1%)"),
    ("net_gex_usd_per_1pct", "Net GEX (USD per 1%)"),
)
# The grid's look from the page's palette (assets/style.css): AG Grid's Theming API, parameters only.
STRIKE_GRID_THEME = (
    "themeQuartz.withParams({fontFamily: 'inherit', fontSize: 12, headerFontSize: 12, headerFontWeight: 600,"
    " foregroundColor: '#1e2a36', headerTextColor: '#233', headerBackgroundColor: '#f3f5f8',"
    " borderColor: '#dde2e8', rowBorder: {color: '#eef1f4'}, accentColor: '#0b5cab', wrapperBorderRadius: 4,"
    " rowHeight: 26, headerHeight: 32, spacing: 5, cellHorizontalPadding: 10})"
)


def strike_column_defs() -> list[dict]:
    """The per-strike grid's columns: strike pinned left, USD per 1% as whole dollars (the units
    are in the titles); numbers right-aligned, each sort arrow beside its own title. The quick
    filter looks at the strike only (digits inside dollar amounts would match nearly every row)."""
    money = {"function": "params.value == null ? '' : d3.format('$,.0f')(params.value)"}
    sign = {"gex-down": "params.value < 0", "gex-up": "params.value > 0"}
    return [
        {"field": "strike", "headerName": "Strike", "pinned": "left", "type": "rightAligned",
         "width": 110, "minWidth": 90, "flex": 0, "cellClass": "strike-cell",
         # thousands separators; up to two decimals for fractional strikes (e.g. 4697.5)
         "valueFormatter": {"function": "d3.format(',.2~f')(params.value)"}},
        *({"field": col, "headerName": name, "type": "rightAligned", "valueFormatter": money,
           "getQuickFilterText": {"function": "''"},
           **({"cellClassRules": sign} if col == "net_gex_usd_per_1pct" else {})}
          for col, name in TABLE_COLUMNS[1:]),
    ]


def strike_table() -> html.Section:
    """The per-strike exposure grid (dash-ag-grid), its strike finder and the CSV download (the
    server's export, :mod:`dashboard.web.callbacks.table`: full precision plus the view's context)."""
    return html.Section(
        className="card panel span-12",
        children=[
            html.Div(
                className="panel-head",
                children=[
                    html.H2("Per-strike exposure"),
                    html.Span("selected expiries, strikes with open interest", className="panel-sub"),
                    html.Label(className="grid-filter-label", children=[
                        "Find strike",
                        dcc.Input(id=ids.STRIKE_FILTER, type="search", placeholder="e.g. 58",
                                  className="grid-filter", debounce=False, autoComplete="off"),
                    ]),
                    html.Button("Download CSV", id=ids.CSV_BUTTON, className="btn", n_clicks=0),
                    dcc.Download(id=ids.CSV_DOWNLOAD),
                ],
            ),
            dag.AgGrid(
                id=ids.STRIKE_TABLE,
                className="strike-grid",
                columnDefs=strike_column_defs(),
                rowData=[],
                defaultColDef={"sortable": True, "resizable": True, "flex": 1, "minWidth": 150,
                               "suppressMovable": True},
                dashGridOptions={
                    "theme": {"function": STRIKE_GRID_THEME},
                    "pagination": True,
                    "paginationPageSize": TABLE_PAGE_SIZE,
                    "paginationPageSizeSelector": False,
                    "domLayout": "autoHeight",
                    "animateRows": False,
                    "suppressCellFocus": True,
                    "quickFilterText": "",
                },
                eventListeners={"sortChanged": ["params.api.paginationGoToFirstPage()"]},
                style={"width": "100%"},
            ),
        ],
    )


def report_and_upload() -> html.Section:
    """The "Download report" button (the morning report of the current view) and the drop zone for a
    chain file (stored in the data folder; see dashboard.uploads), each with its own message slot."""
    return html.Section(
        className="card tools",
        children=[
            html.Button("Download report", id=ids.REPORT_BUTTON, className="btn", n_clicks=0,
                        title="one HTML file with the key levels, the three views, the history and the notes; "
                              "opens offline"),
            dcc.Download(id=ids.REPORT_DOWNLOAD),
            html.Div(id=ids.REPORT_STATUS, className="banner-slot", role="status"),
            dcc.Upload(
                id=ids.UPLOAD,
                className="upload-zone",
                multiple=False,
                children=html.Div(["Drop an option-chain file here or ", html.A("choose one"),
                                   " (CBOE, Deribit, canonical table or positions file)"]),
            ),
            html.Div(id=ids.UPLOAD_BANNER, className="banner-slot", role="alert", **{"aria-live": "polite"}),
            dcc.Store(id=ids.UPLOAD_REPLY_STORE),  # the upload route's answer (dashboard/web/callbacks/upload.py)
        ],
    )


def poll_ms() -> int:
    """How often the page asks whether a new snapshot landed: the catalog's rescan interval
    (``MMPOS_RESCAN_SECONDS``), at least ``MIN_POLL_S`` (the answer is cached per folder state)."""
    return int(max(MIN_POLL_S, config.from_env().rescan_s) * 1000)


def build_layout() -> html.Div:
    """The whole page: the positioning view, and the watchlist shown instead on ``/watchlist``."""
    return html.Div(
        id=ids.PAGE,
        className="page",
        children=[
            dcc.Location(id=ids.URL, refresh=False),
            dcc.Store(id=ids.VIEW_STORE, storage_type="memory"),
            dcc.Store(id=ids.RESULT_STORE, storage_type="memory"),
            dcc.Store(id=ids.SHOCK_MARKER_STORE, storage_type="memory"),
            dcc.Store(id=ids.STRIKE_ZOOM_STORE, storage_type="memory"),
            dcc.Store(id=ids.EXPORT_SYNC_STORE, storage_type="memory"),
            dcc.Store(id=ids.KNOWN_NEWEST_STORE, storage_type="memory"),
            dcc.Interval(id=ids.CATALOG_POLL, interval=poll_ms()),
            header(),
            html.Main(
                className="content",
                children=[
                    banners(),
                    work_panel(),
                    controls(),
                    report_and_upload(),
                    page_tabs(dcc.Loading(
                        id=ids.LOADING,
                        type="dot",
                        delay_show=250,
                        overlay_style={"visibility": "visible", "opacity": 0.55},
                        children=html.Div([kpi_strip(), change_basis(), views(), strike_table()]),
                    )),
                ],
            ),
            watchlist_page(),
        ],
    )


# --------------------------------------------------------------------------- history tab (issue 11)

HISTORY_FIGURE_HEIGHT = 440  # pixels, each history chart (figure layout and container)
HISTORY_FILL_MS = 400  # the History tab's tick while files are summarised or a backfill runs
HISTORY_IDLE_MS = 15_000  # ... and once everything is summarised: a file or backfill that starts later shows


def history_tab() -> html.Div:
    """The History tab: depth (last N snapshots), fill progress, three charts."""
    from dashboard.web.state import HISTORY_DEPTHS

    def chart(title: str, hint: str, graph_id: str, filename: str) -> html.Section:
        return _panel(title, hint, graph_id, filename=filename, height=HISTORY_FIGURE_HEIGHT, extra_class="span-12")

    return html.Div(className="history-tab", children=[
        html.Section(className="controls card history-controls", children=[
            _field("Snapshots", dcc.RadioItems(
                id=ids.HISTORY_DEPTH,
                options=[{"label": "All" if d == "all" else f"Last {d}", "value": d} for d in HISTORY_DEPTHS],
                value=20, className="segmented", inline=True,
            ), width="w-preset", help_text="How many of the newest snapshots of the underlying the charts show."),
            html.Div(id=ids.HISTORY_PROGRESS, className="history-progress", role="status"),
            dcc.Interval(id=ids.HISTORY_FILL_TICK, interval=HISTORY_FILL_MS, disabled=True),
            dcc.Store(id=ids.HISTORY_FILL_STORE, storage_type="memory"),
        ]),
        dcc.Loading(type="dot", delay_show=250, children=html.Div(className="views", children=[
            chart("Key levels over time", "click a date to open that snapshot", ids.HISTORY_LEVELS_GRAPH,
                  "mmpos-history-levels"),
            chart("Net GEX by strike over time", "click a column to open that snapshot", ids.HISTORY_HEATMAP_GRAPH,
                  "mmpos-history-strike-heatmap"),
            chart("Net vega and ATM IV term over time", "click a date to open that snapshot", ids.HISTORY_TERM_GRAPH,
                  "mmpos-history-term"),
        ])),
    ])


# --------------------------------------------------------------------------- intraday tab (issue 19)

INTRADAY_FIGURE_HEIGHT = 600  # pixels, the session heatmap (figure layout and container)


def intraday_tab() -> html.Div:
    """The Intraday tab: 0DTE or every expiry, the replay slider, the session heatmap."""
    return html.Div(className="intraday-tab", children=[
        html.Section(className="controls card intraday-controls", children=[
            _field("Expiries", dcc.RadioItems(
                id=ids.INTRADAY_EXPIRIES,
                options=[{"label": "All expiries", "value": "all"}, {"label": "0DTE only", "value": "0dte"}],
                value=DEFAULT_STATE["iexp"], className="segmented", inline=True,
            ), width="w-preset", help_text="0DTE: each snapshot's expiries of the session date (the next live "
               "expiry once they have settled), as the 0DTE preset; the zero-gamma line stays every expiry's."),
            _field("Replay", dcc.Slider(id=ids.INTRADAY_SLIDER, min=0, max=0, step=1, value=None, marks={},
                                        included=False, updatemode="mouseup", allow_direct_input=False),
                   width="intraday-replay", help_text="One step per snapshot of the session: moving it selects that "
                   "snapshot, and every view shows that moment."),
            html.Div(id=ids.INTRADAY_STATUS, className="history-progress", role="status"),
            dcc.Interval(id=ids.INTRADAY_TICK, interval=HISTORY_FILL_MS, disabled=True),
            dcc.Store(id=ids.INTRADAY_FILL_STORE, storage_type="memory"),
            dcc.Store(id=ids.INTRADAY_IDS_STORE, storage_type="memory"),
        ]),
        html.Div(className="views", children=[_panel(
            "Net GEX by strike through the session",
            "one column per snapshot of the session (click one to replay it); spot, zero gamma and the walls "
            "drawn through time",
            ids.INTRADAY_GRAPH, filename="mmpos-intraday", height=INTRADAY_FIGURE_HEIGHT, extra_class="span-12")]),
    ])


def page_tabs(main: object) -> dcc.Tabs:
    """The main view (one snapshot), the History tab and the Intraday tab."""
    return dcc.Tabs(id=ids.TABS, value="main", className="page-tabs", children=[
        dcc.Tab(label="Positioning", value="main", children=main),
        dcc.Tab(label="History", value="history", className="tab-history", children=history_tab()),
        dcc.Tab(label="Intraday", value="intraday", className="tab-intraday", children=intraday_tab()),
    ])


# --------------------------------------------------------------------------- watchlist (issue 18)

WATCHLIST_PATH = "watchlist"  # the watchlist's path under the app's prefix (dashboard/web/callbacks/watchlist.py)


def _text_column(field: str, header: str, text: str, *, width: int, tip: str | None = None, **extra: Any) -> dict:
    """A numeric column sorted by ``field``, shown as the house-formatted ``text`` field; never narrower
    than ``width`` (its longest value and its title whole), wider when the grid has room."""
    return {"field": field, "headerName": header, "type": "rightAligned", "width": width, "minWidth": width,
            "valueFormatter": {"function": f"params.data.{text}"}, **({"headerTooltip": tip} if tip else {}), **extra}


def watchlist_column_defs() -> list[dict]:
    """The watchlist's columns: underlying pinned left, every number sortable, texts in the house formats."""
    sign = {"gex-down": "params.value < 0", "gex-up": "params.value > 0"}
    return [
        {"field": "underlying", "headerName": "Underlying", "pinned": "left", "width": 104, "minWidth": 104,
         "cellClass": "wl-underlying", "tooltipField": "regime_text"},
        _text_column("spot", "Spot", "spot_text", width=90),
        {"field": "regime", "headerName": "Regime", "width": 104, "minWidth": 104, "tooltipField": "regime_text",
         "valueFormatter": {"function": "params.data.regime_badge"},
         "cellClassRules": {"wl-short": "params.value == 'short-gamma'", "wl-long": "params.value == 'long-gamma'",
                            "wl-uncertain": "params.value == 'uncertain'"},
         "headerTooltip": "From the headline band: uncertain when the total's sign depends on the treatment "
                          "or spot sits at the zero-gamma band"},
        _text_column("total_gex_usd_per_1pct", "Total GEX", "total_text", width=100, cellClassRules=sign,
                     tip="USD per 1% move; + = dealers long gamma"),
        _text_column("total_gex_change_usd_per_1pct", "d/d", "change_text", width=84, cellClassRules=sign,
                     tip="Total GEX change vs the comparable previous snapshot (n/a: none)"),
        _text_column("zero_gamma", "Zero γ", "zero_gamma_text", width=84, tip="The zero-gamma level nearest spot"),
        _text_column("zero_gamma_distance_pct", "vs spot", "distance_text", width=76),
        _text_column("call_wall", "Call wall", "call_wall_text", width=88),
        _text_column("put_wall", "Put wall", "put_wall_text", width=88),
        _text_column("flow_m1pct_usd", "Flow −1%", "flow_m1_text", width=90, cellClassRules=sign,
                     tip="Dealers' hedge flow if spot moves -1% now, USD; + = dealers buy"),
        _text_column("flow_p1pct_usd", "Flow +1%", "flow_p1_text", width=90, cellClassRules=sign,
                     tip="Dealers' hedge flow if spot moves +1% now, USD; + = dealers buy"),
        _text_column("age_hours", "Age", "age_text", width=130,
                     tip=f"Age of the newest snapshot; stale (marked) after {STALE_AFTER_HOURS:g} h",
                     cellClassRules={"wl-stale": "params.data.stale"}),
        {"field": "spark", "headerName": "Total GEX history", "cellRenderer": "Sparkline", "sortable": False,
         "width": 130, "minWidth": 130, "headerTooltip": "Total GEX of each snapshot in the history store, oldest "
                                                         "first; the dot is the newest (green long, red short)"},
    ]


def watchlist_page() -> html.Section:
    """The watchlist's section of the page (shown on ``/watchlist`` only: :func:`register`'s switch)."""
    return html.Section(className="watchlist content", children=[
        html.Section(className="card panel", children=[
            html.Div(className="panel-head", children=[
                html.H2("Watchlist"),
                html.Span(f"newest snapshot of each underlying, its opening view (all expiries, default convention and "
                          f"model) · GEX and flows in USD per 1% move, + = dealers long gamma / buy · stale after "
                          f"{STALE_AFTER_HOURS:g} h · click a row to open it", className="panel-sub"),
            ]),
            dag.AgGrid(
                id=ids.WATCHLIST_GRID,
                className="watchlist-grid",
                columnDefs=watchlist_column_defs(),
                rowData=[],
                getRowId="params.data.underlying",
                # the columns share the grid's width (not below their minWidth): every column shows at 1440 px,
                # and below ~1,100 px the grid scrolls inside itself, the underlying pinned, the page does not
                columnSize="responsiveSizeToFit",
                defaultColDef={"sortable": True, "resizable": True, "suppressMovable": True},
                rowClassRules={"wl-row-stale": "params.data.stale", "wl-row-uncertain": "params.data.uncertain"},
                dashGridOptions={"theme": {"function": STRIKE_GRID_THEME}, "domLayout": "autoHeight",
                                 "animateRows": False, "suppressCellFocus": True, "tooltipShowDelay": 300,
                                 "rowHeight": 32},
                style={"width": "100%"},
            ),
            html.Div(id=ids.WATCHLIST_NOTE, className="panel-hint"),
        ]),
    ])


def nav_links() -> html.Nav:
    """The header's two links: the positioning view and the watchlist (relative: any URL prefix works)."""
    return html.Nav(className="nav", children=[
        dcc.Link("Positioning", href="./", id=ids.NAV_MAIN, className="nav-link"),
        dcc.Link("Watchlist", href=WATCHLIST_PATH, id=ids.NAV_WATCHLIST, className="nav-link"),
    ])
