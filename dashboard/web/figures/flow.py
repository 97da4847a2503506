"""The flow-inferred comparison block of the key-levels card (issue 19): the key levels under the OI
convention the model starts from and under "flow-inferred (Deribit trades)", side by side, with the
share of open interest the flow explains. Pure: plain values in, Dash HTML out (as the key levels)."""

from __future__ import annotations

from collections.abc import Sequence

from dash import html

from analytics.fmt import format_pct, format_strike, format_usd
from analytics.levels import KeyLevels

FLOW_SHOCKS_PCT = (-1.0, 1.0)
SHARE_TEXT = "|signed flow| / open interest, gross over the snapshot's series"


def _zero_gamma(kl: KeyLevels) -> str:
    if not kl.zero_gamma:
        return "none"
    z = min(kl.zero_gamma, key=lambda z: abs(z.distance_pct))
    return f"{format_strike(z.level)} ({format_pct(z.distance_pct, signed=True)})"


def _wall(walls: Sequence) -> str:
    return format_strike(walls[0].strike) if walls else "n/a"


def _flow(kl: KeyLevels, shock_pct: float) -> str:
    horizon = min((f.horizon_days for f in kl.flows), default=0.0)
    got = next((f for f in kl.flows if abs(f.shock_pct - shock_pct) < 1e-9 and f.horizon_days == horizon), None)
    return format_usd(got.usd, signed=True) if got else "n/a"


def flow_rows(base: KeyLevels, base_total_gex: float, flow: KeyLevels | None,
              flow_total_gex: float | None) -> list[tuple[str, str, str]]:
    """(level, under the OI convention, flow-inferred) rows; ``—`` where the model has no numbers."""
    def pair(f) -> tuple[str, str]:
        return f(base), (f(flow) if flow is not None else "—")

    rows = [("Total GEX (USD per 1%)", format_usd(base_total_gex),
             format_usd(flow_total_gex) if flow_total_gex is not None else "—")]
    rows.append(("Zero gamma", *pair(_zero_gamma)))
    rows.append(("Call wall", *pair(lambda k: _wall(k.call_walls))))
    rows.append(("Put wall", *pair(lambda k: _wall(k.put_walls))))
    for shock in FLOW_SHOCKS_PCT:
        rows.append((f"Dealer flow at {shock:+g}% (USD)", *pair(lambda k, s=shock: _flow(k, s))))
    return rows


def flow_compare_block(rows: list[tuple[str, str, str]], *, base_label: str, share: float | None,
                       trades: int, window: str | None, message: str | None) -> list:
    """The block's children: a caption, the side-by-side table and the share line (or why not)."""
    head = html.Tr([html.Th("Level"), html.Th(base_label, className="num"),
                    html.Th("Flow-inferred", className="num")])
    body = [html.Tr([html.Td(a), html.Td(b, className="num"), html.Td(c, className="num")]) for a, b, c in rows]
    if message:
        foot = html.P(f"Flow-inferred not available: {message}", className="flow-note warn")
    else:
        foot = html.P(f"Flow explains {format_pct(None if share is None else 100.0 * share)} of open interest "
                      f"({SHARE_TEXT}); {trades:,} trades {window or ''}, customers as takers.",
                      className="flow-note")
    return [html.H3("OI convention vs flow-inferred (Deribit trades)"),
            html.Table(className="levels-table flow-table", children=[html.Thead(head), html.Tbody(body)]), foot]
