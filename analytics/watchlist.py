"""The watchlist (issue 18): one row per underlying, from its newest snapshot, for the morning review.

:func:`watchlist_row` reads the analysis the page's opening view of that underlying draws (and the
comparable previous snapshot's, :func:`dashboard.service.find_previous`) through
:func:`analytics.levels.key_levels`, so every number is the one the positioning view shows: spot, the
regime of the headline band (:mod:`analytics.headline`), total GEX and its day-over-day change, zero gamma
nearest spot and its distance, the call and put walls, the hedge flows at -1% and +1%, the snapshot's age
and the total GEX of every snapshot the history store holds (the sparkline).

A row is ``stale`` when its snapshot is older than :data:`STALE_AFTER_HOURS` at ``now`` (the caller's
clock: this module reads none).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import pandas as pd

from analytics.fmt import format_level, format_pct, format_strike, format_usd
from analytics.headline import nearest_zero
from analytics.levels import analysis_regime_line, key_levels

if TYPE_CHECKING:
    from analytics.report import Analysis

STALE_AFTER_HOURS = 24.0  # a newest snapshot older than this (at the review's clock) is marked stale
FLOW_SHOCKS_PCT: tuple[float, float] = (-1.0, 1.0)  # the watchlist's hedge-flow columns


@dataclass(frozen=True)
class WatchRow:
    """One underlying's row (GEX in USD per 1% move; flows in USD, + = dealers buy)."""

    underlying: str
    snapshot: str  # the catalog id of the newest snapshot (a click opens /?u=UNDERLYING)
    as_of: str  # ISO timestamp with its zone
    age_hours: float
    stale: bool
    spot: float
    regime: str  # analytics.headline.REGIMES
    regime_badge: str  # "SHORT γ"
    regime_text: str  # the whole regime line
    total_gex_usd_per_1pct: float
    total_gex_change_usd_per_1pct: float | None  # None: no comparable previous snapshot
    zero_gamma: float | None  # the level nearest spot
    zero_gamma_distance_pct: float | None
    call_wall: float | None
    put_wall: float | None
    flow_m1pct_usd: float | None
    flow_p1pct_usd: float | None
    history_total_gex_usd_per_1pct: tuple[float, ...]  # the history store's snapshots, oldest first

    @property
    def uncertain(self) -> bool:
        return self.regime == "uncertain"

    def to_record(self) -> dict[str, Any]:
        """A grid row: the numbers (what a column sorts by), their texts in the house formats
        (:mod:`analytics.fmt`) and the flags; JSON-ready (NaN becomes None)."""
        rec = {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in asdict(self).items()}
        rec["history_total_gex_usd_per_1pct"] = [None if not math.isfinite(x) else x
                                                 for x in self.history_total_gex_usd_per_1pct]
        rec.update(
            uncertain=self.uncertain,
            spot_text=format_level(self.spot) if self.spot >= 1000 else format_strike(round(self.spot, 2)),
            total_text=format_usd(self.total_gex_usd_per_1pct),
            change_text=("n/a" if self.total_gex_change_usd_per_1pct is None
                         else format_usd(self.total_gex_change_usd_per_1pct, signed=True)),
            zero_gamma_text="none" if self.zero_gamma is None else format_strike(
                round(self.zero_gamma, 0 if self.spot >= 1000 else 2)),
            distance_text=("" if self.zero_gamma_distance_pct is None
                           else format_pct(self.zero_gamma_distance_pct, signed=True)),
            call_wall_text=format_strike(self.call_wall), put_wall_text=format_strike(self.put_wall),
            flow_m1_text=format_usd(self.flow_m1pct_usd, signed=True),
            flow_p1_text=format_usd(self.flow_p1pct_usd, signed=True),
            age_text=age_text(self.age_hours),
        )
        return rec


def age_text(hours: float) -> str:
    """A snapshot's age as a desk says it.

    Examples
    --------
    >>> age_text(0.4), age_text(5.2), age_text(63.0)
    ('24 min', '5.2 h', '2 d 15 h')
    """
    if not math.isfinite(hours):
        return "n/a"
    if hours < 1:
        return f"{max(hours * 60, 0):.0f} min"
    if hours < 24:
        return f"{hours:.1f} h"
    return f"{int(hours // 24)} d {int(hours % 24)} h"


def watchlist_row(snapshot: str, analysis: Analysis, previous: Analysis | None,
                  history: Sequence[tuple[pd.Timestamp, float]], now: pd.Timestamp, *,
                  stale_after_hours: float = STALE_AFTER_HOURS) -> WatchRow:
    """The row of one underlying.

    Parameters
    ----------
    snapshot : str
        The catalog id of ``analysis``'s snapshot.
    analysis : Analysis
        The opening view's analysis (the key levels' shocks and horizon: ``service.view_analysis_for``).
    previous : Analysis or None
        The comparable previous snapshot's (``service.kpi_analysis_for``); None: no change is shown.
    history : sequence of (as_of, total GEX)
        The history store's totals of this underlying, oldest first (``HistoryStore.totals``).
    now : pandas.Timestamp
        The review's clock (time-zone aware), for the age.
    """
    if previous is not None and (previous.convention != analysis.convention or not previous.as_of < analysis.as_of):
        previous = None  # not comparable (key_levels' rule): no change is shown
    flows = {f.shock_pct: f.usd for f in key_levels(analysis).flows}  # the changes of every level are not shown
    line = analysis_regime_line(analysis, float(previous.total_gex_usd_per_1pct) if previous is not None else None)
    zero = nearest_zero(analysis.zero_gamma_levels, analysis.spot)
    age = (pd.Timestamp(now) - pd.Timestamp(analysis.as_of)).total_seconds() / 3600.0
    return WatchRow(
        underlying=analysis.underlying, snapshot=snapshot, as_of=pd.Timestamp(analysis.as_of).isoformat(),
        age_hours=age, stale=age > stale_after_hours, spot=float(analysis.spot), regime=line.regime,
        regime_badge=line.badge, regime_text=line.text,
        total_gex_usd_per_1pct=float(analysis.total_gex_usd_per_1pct),
        total_gex_change_usd_per_1pct=(None if previous is None else
                                       float(analysis.total_gex_usd_per_1pct - previous.total_gex_usd_per_1pct)),
        zero_gamma=zero, zero_gamma_distance_pct=None if zero is None else 100.0 * (zero / analysis.spot - 1.0),
        call_wall=analysis.call_wall, put_wall=analysis.put_wall,
        flow_m1pct_usd=flows.get(FLOW_SHOCKS_PCT[0]), flow_p1pct_usd=flows.get(FLOW_SHOCKS_PCT[1]),
        history_total_gex_usd_per_1pct=tuple(float(t) for _, t in history),
    )
