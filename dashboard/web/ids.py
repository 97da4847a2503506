"""Every component id on the page, in one place.

Callbacks, layout and tests import these names; a typo becomes an ImportError, not a silent
callback that never fires.
"""

# routing and state
URL = "url"
VIEW_STORE = "view-state"  # the single source of truth: small JSON (see dashboard.web.state)
RESULT_STORE = "view-result"  # small JSON facts about what is drawn (spot), for clientside code
SHOCK_MARKER_STORE = "shock-marker"  # dummy output of the clientside hover callback

# header and messages
HEADER_TITLE = "header-title"
HEADER_SNAPSHOT = "header-snapshot"
HEADER_CONVENTION = "header-convention"
BANNER = "banner"
CATALOG_BANNER = "catalog-banner"
ALERT_LINES = "alert-lines"  # the underlying's latest alerts, one dated line each (callbacks/alerts.py)

# controls
UNDERLYING = "underlying"
SNAPSHOT = "snapshot"
EXPIRY_PRESET = "expiry-preset"
EXPIRIES = "expiries"
CONVENTION = "convention"
SHOCK_RANGE = "shock-range"
HORIZON = "horizon"
VOL_MODE = "vol-mode"
VOL_VALUE = "vol-value"
STACK = "stack-by-expiry"
UNITS = "hedge-units"

# KPI strip
KPI_STRIP = "kpi-strip"

# views
GAMMA_GRAPH = "gamma-by-strike"
BREAKDOWN_GRAPH = "strike-breakdown"
HEDGE_GRAPH = "hedge-curves"
TERM_GRAPH = "term-structure"
LOADING = "main-loading"

# per-strike table
STRIKE_TABLE = "strike-table"  # a dash-ag-grid AgGrid
STRIKE_FILTER = "strike-filter"  # the grid's quick filter (strikes)
CSV_BUTTON = "strike-csv-button"
CSV_DOWNLOAD = "strike-csv-download"

# page UX (issue 9/8): model choices, bad-link notices
FORWARD = "model-forward"
IV_POLICY = "model-iv-policy"
# key levels, strike-view measures, gamma by expiry (issue 9: the 8 a.m. view)
KEY_LEVELS = "key-levels"  # the key-levels table
KEY_LEVELS_NOTE = "key-levels-note"  # what the changes compare against
KEY_LEVELS_TEXT = "key-levels-text"  # the plain-text block the copy button copies
KEY_LEVELS_COPY = "key-levels-copy"  # dcc.Clipboard
CHANGE_BASIS = "change-basis"  # what the changes compare with: the previous close or the previous snapshot
COLLECT_STATUS = "collect-status"  # the header's line: the collector's newest fetches and failures
FLOW_COMPARE = "flow-compare"  # OI convention vs flow-inferred (Deribit trades), in the key-levels card
STRIKE_MODE = "strike-mode"  # the strike view's measure: gamma / vanna / charm / change
EXPIRY_GRAPH = "gamma-by-expiry"
TERM_SPACING = "term-spacing"  # the term view's "equal spacing" toggle
SMILE_GRAPH = "iv-smile"  # the IV smile per expiry (dashboard/web/panels.py)
SMILE_X = "smile-x"  # its x axis: log-moneyness or strike
MAX_PAIN_GRAPH = "max-pain"  # max pain per expiry against spot
MAX_PAIN_RR = "max-pain-rr"  # its 25-delta risk-reversal overlay
STRIKE_ZOOM_STORE = "strike-zoom"  # the user's x zoom on the strike view, with the snapshot it belongs to
# history tab (issue 11: key levels, strike x date heatmap, vega/IV term over the last N snapshots)
TABS = "page-tabs"
HISTORY_DEPTH = "history-depth"
HISTORY_PROGRESS = "history-progress"
HISTORY_FILL_TICK = "history-fill-tick"
HISTORY_FILL_STORE = "history-fill-state"
HISTORY_LEVELS_GRAPH = "history-levels"
HISTORY_HEATMAP_GRAPH = "history-strike-heatmap"
HISTORY_TERM_GRAPH = "history-term"
# the Intraday tab (issue 19: dashboard/web/callbacks/intraday.py)
INTRADAY_GRAPH = "intraday-heatmap"
INTRADAY_EXPIRIES = "intraday-expiries"
INTRADAY_SLIDER = "intraday-replay"
INTRADAY_TICK = "intraday-tick"
INTRADAY_FILL_STORE = "intraday-fill"
INTRADAY_IDS_STORE = "intraday-snapshots"
INTRADAY_STATUS = "intraday-status"
# long work off the request (dashboard/web/callbacks/work.py): cold analyses of big chains
READY_VIEW_STORE = "ready-view-state"  # the view state once its analyses are ready: the main update's input
PENDING_VIEW_STORE = "pending-view-state"  # a view whose analyses run as a background job
DONE_VIEW_STORE = "done-view-state"  # the view a finished job computed (drawn if still the one chosen)
WORK_PANEL = "work-panel"
WORK_TEXT = "work-text"
WORK_PROGRESS = "work-progress"
WORK_CANCEL = "work-cancel"
# report download and file upload (dashboard/web/callbacks/report.py, dashboard/web/callbacks/upload.py)
REPORT_BUTTON = "report-button"
REPORT_DOWNLOAD = "report-download"
REPORT_STATUS = "report-status"
UPLOAD = "upload"
UPLOAD_BANNER = "upload-banner"
# a dropped file goes to its own route (dashboard/web/callbacks/upload.py): the route's answer, from the page
UPLOAD_REPLY_STORE = "upload-reply"
# new snapshots in the data folder (dashboard/web/callbacks/follow.py): the poll, the notice, the newest
# snapshot per underlying when the page first polled, and the "follow newest" tick box (a view-state key)
CATALOG_POLL = "catalog-poll"
NEW_SNAPSHOT_NOTICE = "new-snapshot-notice"
KNOWN_NEWEST_STORE = "known-newest"
FOLLOW = "follow-newest"
# first paint: a chart's export file name goes into the drawn chart without redrawing it
# (dashboard/web/callbacks/export.py): the clientside callback's dummy output
EXPORT_SYNC_STORE = "export-sync"

# the watchlist (/watchlist, dashboard/web/callbacks/watchlist.py)
PAGE = "page"  # the page root: its class says which page the path shows
NAV_MAIN = "nav-positioning"
NAV_WATCHLIST = "nav-watchlist"
WATCHLIST_GRID = "watchlist-grid"
WATCHLIST_NOTE = "watchlist-note"
