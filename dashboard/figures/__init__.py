"""Figure builders: pure functions, plain data in, ``go.Figure`` out (no dash import, no clock).

One module per view: :mod:`.gamma` (GEX by strike and the per-strike breakdown), :mod:`.hedge`
(hedge flow vs spot shock over GEX vs spot), :mod:`.term` (vega and ATM IV by expiry), :mod:`.kpi`
(the KPI strip as plain dicts) and :mod:`.common` (formatting, template, ``graph_config``,
``empty_figure``).
"""

from dashboard.figures.common import (
    CUSTOMDATA_EXPIRY,
    CUSTOMDATA_IMPLIED_SPOT,
    CUSTOMDATA_SHOCK_PCT,
    CUSTOMDATA_STRIKE,
    CUSTOMDATA_TERM_EXPIRY,
    LINE_CALL_WALL,
    LINE_MARKER_SPOT,
    LINE_PUT_WALL,
    LINE_SPOT,
    LINE_ZERO_GAMMA,
    PALETTE,
    Palette,
    apply_house_layout,
    empty_figure,
    format_number,
    format_number_array,
    format_pct,
    format_strike,
    format_usd,
    format_usd_array,
    graph_config,
    house_template,
    snapshot_subtitle,
)
from dashboard.figures.gamma import default_strike_window, gamma_by_strike_figure, strike_breakdown_figure
from dashboard.figures.hedge import hedge_curve_figure
from dashboard.figures.kpi import HEDGE_SHOCKS_PCT, hedge_flow_key, kpi_cards, kpi_values
from dashboard.figures.term import term_structure_figure

__all__ = [
    "CUSTOMDATA_EXPIRY",
    "CUSTOMDATA_IMPLIED_SPOT",
    "CUSTOMDATA_SHOCK_PCT",
    "CUSTOMDATA_STRIKE",
    "CUSTOMDATA_TERM_EXPIRY",
    "HEDGE_SHOCKS_PCT",
    "LINE_CALL_WALL",
    "LINE_MARKER_SPOT",
    "LINE_PUT_WALL",
    "LINE_SPOT",
    "LINE_ZERO_GAMMA",
    "PALETTE",
    "Palette",
    "apply_house_layout",
    "default_strike_window",
    "empty_figure",
    "format_number",
    "format_number_array",
    "format_pct",
    "format_strike",
    "format_usd",
    "format_usd_array",
    "gamma_by_strike_figure",
    "graph_config",
    "hedge_curve_figure",
    "hedge_flow_key",
    "house_template",
    "kpi_cards",
    "kpi_values",
    "snapshot_subtitle",
    "strike_breakdown_figure",
    "term_structure_figure",
]
