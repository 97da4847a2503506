"""Every component id on the page, in one place.

Callbacks, layout and tests import these names; a typo becomes an ImportError, not a silent
callback that never fires.
"""

# routing and state
URL = "url"
VIEW_STORE = "view-state"  # the single source of truth: small JSON (see dashboard.state)
RESULT_STORE = "view-result"  # small JSON facts about what is drawn (spot), for clientside code
SHOCK_MARKER_STORE = "shock-marker"  # dummy output of the clientside hover callback

# header and messages
HEADER_TITLE = "header-title"
HEADER_SNAPSHOT = "header-snapshot"
HEADER_CONVENTION = "header-convention"
BANNER = "banner"
CATALOG_BANNER = "catalog-banner"

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
STRIKE_TABLE = "strike-table"
CSV_BUTTON = "strike-csv-button"
CSV_DOWNLOAD = "strike-csv-download"

# report download and file upload (dashboard/callbacks/report.py, dashboard/callbacks/upload.py)
REPORT_BUTTON = "report-button"
REPORT_DOWNLOAD = "report-download"
REPORT_STATUS = "report-status"
UPLOAD = "upload"
UPLOAD_BANNER = "upload-banner"
