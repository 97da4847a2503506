"""Data notes with numbers: what a treatment touched and how much of the result it carries.

A :class:`Note` says which rows a cleaning step or model choice affected (``rows``, ``contracts`` of
open interest) and, once greeks exist, their share of the gross GEX and of the gross +5% hedge flow:
"602 IVs taken from the other side: 14% of gross GEX, 48% of the +5% flow". Preparation records a row
mask with each note (over the prepared rows); :func:`quantify` fills the shares after the engine ran.
Shares are of gross quantities (sums of absolute per-row values), so they lie in [0, 1].
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

FLOW_SHOCK_PCT = 5.0  # the shock whose hedge flow a note's share is quoted for
# Notes whose rows a data repair touched (an IV kept, filled, solved or interpolated; an expiry priced on
# spot for want of parity quotes): leaving those rows out is the alternative treatment
# (``Scenario.without_notes``, ``mmpos analyze --without-note CODE``; the headline band of
# :mod:`analytics.headline` shows it when the rows carry a material share of gross GEX)
ROW_REPAIRS: tuple[str, ...] = ("iv-placeholder", "iv-from-twin", "iv-solved", "iv-otm-interpolated",
                                "iv-otm-file", "forward-fallback")


@dataclass(frozen=True)
class Note:
    """One structured warning.

    Attributes
    ----------
    code : str
        Stable identifier (``"iv-from-twin"``, ``"dropped-no-quote"``, ``"forward-basis"``...).
    summary : str
        What happened, without the shares (``"602 IVs taken from the other side of the same strike"``).
    rows : int
        Rows affected.
    contracts : float
        Open interest of those rows, contracts.
    share_of_gross : float or None
        Their share of the gross GEX (sum of absolute per-row GEX), 0-1; None until quantified.
    share_of_flow : float or None
        Their share of the gross +5% hedge flow (sum of absolute per-row delta changes), 0-1.
    value : float or None
        The note's own number where it has one (the ill-conditioned flag's slope, USD per 1% per point).
    mask : ndarray of bool or None
        The affected rows among the prepared rows (None for rows that did not survive preparation).
    outside_gex, outside_flow : float or None
        For rows that did not survive preparation (dropped): their gross GEX (USD per 1%) and gross +5%
        flow (units) at a sane IV, computed where they were dropped; their shares are of the gross
        with them added back.
    """

    code: str
    summary: str
    rows: int
    contracts: float
    share_of_gross: float | None = None
    share_of_flow: float | None = None
    value: float | None = None
    mask: np.ndarray | None = field(default=None, repr=False, compare=False)
    outside_gex: float | None = field(default=None, repr=False)
    outside_flow: float | None = field(default=None, repr=False)

    @property
    def message(self) -> str:
        """The summary followed by the shares that are known."""
        parts = []
        if self.share_of_gross is not None:
            parts.append(f"{_pct(self.share_of_gross)} of gross GEX")
        if self.share_of_flow is not None:
            parts.append(f"{_pct(self.share_of_flow)} of the +{FLOW_SHOCK_PCT:g}% flow")
        return self.summary + (": " + ", ".join(parts) if parts else "")

    def to_dict(self) -> dict[str, Any]:
        """The JSON form: ``{code, message, rows, contracts, share_of_gross, share_of_flow}``."""
        return {"code": self.code, "message": self.message, "rows": int(self.rows),
                "contracts": float(self.contracts), "share_of_gross": self.share_of_gross,
                "share_of_flow": self.share_of_flow, "value": self.value}


def _pct(share: float) -> str:
    pct = 100.0 * share
    return f"{pct:.0f}%" if pct >= 1 or pct == 0 else "<1%"


def row_note(code: str, summary: str, mask: np.ndarray, open_interest: np.ndarray, *,
             keep_mask: bool = True) -> Note:
    """A note about the rows in ``mask``: counts them and their open interest.

    Examples
    --------
    >>> n = row_note("iv-from-twin", "2 IVs taken from the other side", np.array([True, False, True]),
    ...              np.array([10.0, 5.0, 1.0]))
    >>> n.rows, n.contracts
    (2, 11.0)
    """
    mask = np.asarray(mask, dtype=bool)
    oi = np.asarray(open_interest, dtype=float)
    return Note(code=code, summary=summary, rows=int(mask.sum()), contracts=float(np.nansum(oi[mask])),
                mask=mask if keep_mask else None)


def quantify(note: Note, gex_rows, delta_change=None, mask=None) -> Note:
    """Fill a note's share of gross GEX (and of the gross flow) from per-row engine results.

    Parameters
    ----------
    note : Note
    gex_rows : array_like
        Per-row dealer GEX, USD per 1% move, over the prepared rows.
    delta_change : array_like, optional
        Per-row change of dealer delta for a +5% spot move (units); its absolute sum is the gross flow.
    mask : array_like of bool, optional
        The affected rows; defaults to ``note.mask``. A note without a mask is returned unchanged.

    Examples
    --------
    >>> n = Note("iv-from-twin", "1 IV taken from the other side", 1, 10.0, mask=np.array([True, False]))
    >>> quantify(n, np.array([30.0, -70.0]), np.array([-1.0, 3.0])).message
    '1 IV taken from the other side: 30% of gross GEX, 25% of the +5% flow'
    """
    mask = note.mask if mask is None else np.asarray(mask, dtype=bool)
    if mask is None:
        return note if note.outside_gex is None else _quantify_outside(note, gex_rows, delta_change)
    gex = np.abs(np.asarray(gex_rows, dtype=float))
    gross = gex.sum()
    share_gex = float(gex[mask].sum() / gross) if gross > 0 else 0.0
    share_flow = None
    if delta_change is not None:
        dd = np.abs(np.asarray(delta_change, dtype=float))
        share_flow = float(dd[mask].sum() / dd.sum()) if dd.sum() > 0 else 0.0
    return replace(note, share_of_gross=share_gex, share_of_flow=share_flow, mask=mask)


def stale_spot(file_spot: float, spot: float, zero_gamma_levels, hedge_curve) -> Note:
    """The note of a stale header spot: both spots, and the levels on the file's spot.

    With every forward held (the parity fit), the engine's gamma profile and USD flows depend on the
    spot shock ``x`` only, not on the spot they are drawn around: a zero crossing at ``S (1 + x)`` on
    ``spot`` lies at ``file_spot (1 + x)`` on the file's spot, and a flow of ``u`` units at a shock is
    ``u spot / file_spot`` units there (the same USD). ``hedge_curve`` has ``shock_pct`` and
    ``hedge_flow_units``.

    Examples
    --------
    >>> import pandas as pd
    >>> c = pd.DataFrame({"shock_pct": [5.0], "hedge_flow_units": [-1000.0]})
    >>> n = stale_spot(101.5, 100.0, [99.0], c)
    >>> n.code, n.value
    ('spot-stale', 101.5)
    >>> n.summary.split("On the file's spot: ")[1]
    'zero gamma 100.485 (here 99), +5% hedge flow -985.2 units (here -1,000)'
    """
    ratio = float(file_spot) / float(spot)
    zeros = [float(z) for z in zero_gamma_levels]
    if zeros:
        here = ", ".join(f"{z:,.6g}" for z in zeros)
        zero_text = f"zero gamma {', '.join(f'{z * ratio:,.6g}' for z in zeros)} (here {here})"
    else:
        zero_text = "no zero gamma either"
    up = hedge_curve.loc[np.isclose(hedge_curve["shock_pct"], FLOW_SHOCK_PCT), "hedge_flow_units"]
    flow_text = ""
    if len(up):
        u = float(up.iloc[0])
        flow_text = f", +{FLOW_SHOCK_PCT:g}% hedge flow {u / ratio:,.4g} units (here {u:,.4g})"
    summary = (f"the file's spot {file_spot:,.6g} is stale: the near expiries' put-call-parity forwards imply "
               f"spot {spot:,.6g} ({100 * (spot / file_spot - 1):+.2f}%), and every level here is on it "
               f"(quotes of the last session beside a later spot, or a dividend before the first expiry). "
               f"On the file's spot: {zero_text}{flow_text}")
    return Note(code="spot-stale", summary=summary, rows=0, contracts=0.0, value=float(file_spot))


def _quantify_outside(note: Note, gex_rows, delta_change) -> Note:
    """Shares of rows that left the chain: their gross over the chain's gross with theirs added back.

    Examples
    --------
    >>> n = Note("dropped-no-quote", "1 row dropped", 1, 5.0, outside_gex=25.0, outside_flow=1.0)
    >>> _quantify_outside(n, np.array([30.0, -45.0]), np.array([-1.0, 2.0])).message
    '1 row dropped: 25% of gross GEX, 25% of the +5% flow'
    """
    outside_gex = note.outside_gex or 0.0
    gross = float(np.abs(np.asarray(gex_rows, dtype=float)).sum()) + outside_gex
    share_flow = None
    if delta_change is not None and note.outside_flow is not None:
        flow = float(np.abs(np.asarray(delta_change, dtype=float)).sum()) + note.outside_flow
        share_flow = note.outside_flow / flow if flow > 0 else 0.0
    return replace(note, share_of_gross=outside_gex / gross if gross > 0 else 0.0, share_of_flow=share_flow)

