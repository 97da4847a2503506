"""Figure builders: pure functions, plain data in, ``go.Figure`` out (no dash import, no clock).

One module per view: :mod:`.gamma` (GEX by strike and the per-strike breakdown), :mod:`.hedge`
(hedge flow vs spot shock over GEX vs spot), :mod:`.term` (vega and ATM IV by expiry), :mod:`.kpi`
(the KPI strip: cards as plain dicts and their one HTML renderer) and :mod:`.common` (formatting,
template, ``graph_config``, ``empty_figure``, ``encode_arrays``). Figures are plain dicts, validated
with ``go.Figure(fig)`` in the tests.
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
    encode_arrays,
    format_number,
    format_number_array,
    format_pct,
    format_strike,
    format_usd,
    format_usd_array,
    graph_config,
    house_template,
    merge,
    snapshot_subtitle,
)
from dashboard.figures.gamma import (
    PREVIOUS_NET_TRACE_NAME,
    default_strike_window,
    gamma_by_strike_figure,
    previous_net_trace,
    strike_breakdown_figure,
)
from dashboard.figures.hedge import hedge_curve_figure
from dashboard.figures.kpi import (
    HEDGE_SHOCKS_PCT,
    comparison_note,
    hedge_flow_key,
    kpi_cards,
    kpi_strip,
    kpi_values,
    profile_at_spot,
    scenario_basis,
)
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
    "PREVIOUS_NET_TRACE_NAME",
    "Palette",
    "apply_house_layout",
    "comparison_note",
    "default_strike_window",
    "empty_figure",
    "encode_arrays",
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
    "kpi_strip",
    "kpi_values",
    "merge",
    "previous_net_trace",
    "profile_at_spot",
    "scenario_basis",
    "snapshot_subtitle",
    "strike_breakdown_figure",
    "term_structure_figure",
]
