"""Many snapshots' summaries as the history views draw them (the History tab, the report):
:class:`HistoryWindow`, its frames and the net-GEX-by-strike matrix (:class:`StrikeMatrix`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from analytics.summary import FLOW_SHOCKS_PCT, Summary


class StrikeMatrix(NamedTuple):
    """Net GEX by strike over time: ``net_gex[i, j]`` at ``dates[i]`` and ``strikes[j]`` (0 where unlisted)."""

    dates: pd.DatetimeIndex
    strikes: np.ndarray
    net_gex: np.ndarray
    spots: np.ndarray


def levels_frame(items: list[tuple[str, Summary]]) -> pd.DataFrame:
    """:meth:`analytics.history.HistoryStore.history`'s frame of ``(relative path, summary)`` pairs."""
    rows = []
    for rel, s in items:
        row: dict[str, Any] = {
            "as_of": s.as_of, "file": rel, "spot": s.spot, "convention": s.convention,
            "total_gex_usd_per_1pct": s.total_gex_usd_per_1pct, "dealer_delta_units": s.dealer_delta_units,
            "net_vega_usd_per_vol_pt": s.net_vega_usd_per_vol_pt, "zero_gamma_levels": s.zero_gamma_levels,
            "call_wall": s.call_walls[0][0] if s.call_walls else float("nan"),
            "put_wall": s.put_walls[0][0] if s.put_walls else float("nan"),
            "call_walls": s.call_walls, "put_walls": s.put_walls,
        }
        for shock, units, usd in s.hedge_flows:
            tag = flow_tag(shock)
            row[f"hedge_flow_units_{tag}"] = units
            row[f"hedge_flow_usd_{tag}"] = usd
        rows.append(row)
    columns = ["as_of", "file", "spot", "convention", "total_gex_usd_per_1pct", "dealer_delta_units",
               "net_vega_usd_per_vol_pt", "zero_gamma_levels", "call_wall", "put_wall", "call_walls",
               "put_walls"]
    columns += [f"hedge_flow_{u}_{flow_tag(s)}" for s in FLOW_SHOCKS_PCT for u in ("units", "usd")]
    return pd.DataFrame(rows, columns=columns)


def strike_matrix(items: list[Summary]) -> StrikeMatrix:
    """:meth:`analytics.history.HistoryStore.strike_matrix` of summaries, oldest first."""
    if not items:
        return StrikeMatrix(pd.DatetimeIndex([]), np.zeros(0), np.zeros((0, 0)), np.zeros(0))
    strikes = np.unique(np.concatenate([s.strikes for s in items]))
    matrix = np.zeros((len(items), len(strikes)))
    for i, s in enumerate(items):
        matrix[i, np.searchsorted(strikes, s.strikes)] = s.strike_gex[:, 2]
    dates = pd.DatetimeIndex([s.as_of.tz_convert("UTC") for s in items]).tz_convert(items[-1].as_of.tz)
    return StrikeMatrix(dates, strikes, matrix, np.array([s.spot for s in items]))


def term_frame(items: list[tuple[str, Summary]]) -> pd.DataFrame:
    """:meth:`analytics.history.HistoryStore.term_history`'s frame of ``(relative path, summary)`` pairs."""
    rows = [(s.as_of, rel, *t) for rel, s in items for t in s.term]
    return pd.DataFrame(rows, columns=["as_of", "file", "expiry", "days_to_expiry", "atm_iv",
                                       "net_vega_usd_per_vol_pt"])


@dataclass(frozen=True)
class HistoryWindow:
    """One underlying's last snapshots, as every history view draws them (the History tab, the report).

    Attributes
    ----------
    underlying : str
    levels : pandas.DataFrame
        :meth:`analytics.history.HistoryStore.history`'s frame plus ``snapshot_id`` (one row per snapshot, oldest first).
    term : pandas.DataFrame
        :meth:`analytics.history.HistoryStore.term_history`'s frame plus ``snapshot_id``.
    matrix : StrikeMatrix
        Net GEX by strike, one row per snapshot in the order of ``levels``.
    note : str or None
        The store's :attr:`analytics.history.HistoryStore.note` (kept in memory, rebuilt), if any.

    ``snapshot_id`` is the file's relative path until :meth:`named` gives the catalog's ids.
    """

    underlying: str
    levels: pd.DataFrame
    term: pd.DataFrame
    matrix: StrikeMatrix
    note: str | None = None

    @property
    def empty(self) -> bool:
        """No snapshot of the underlying is stored."""
        return self.levels.empty

    @property
    def snapshot_ids(self) -> list[str]:
        """One id per snapshot, oldest first."""
        return self.levels["snapshot_id"].astype(str).tolist()

    @property
    def conventions(self) -> tuple[str, ...]:
        """The dealer sign conventions the summaries were made with (one, unless the store is mixed)."""
        return tuple(dict.fromkeys(self.levels["convention"].astype(str)))

    def named(self, id_of: Mapping[str, str]) -> HistoryWindow:
        """The same window with ``snapshot_id`` = ``id_of[file]`` (the file's path where it has none)."""
        return replace(self, levels=self.levels.assign(snapshot_id=[id_of.get(f, f) for f in self.levels["file"]]),
                       term=self.term.assign(snapshot_id=[id_of.get(f, f) for f in self.term["file"]]))


def flow_tag(shock_pct: float) -> str:
    """Column tag of a shock: ``-5.0`` -> ``m5pct``, ``1.0`` -> ``p1pct``.

    Examples
    --------
    >>> flow_tag(-5.0), flow_tag(2.0), flow_tag(0.5)
    ('m5pct', 'p2pct', 'p0.5pct')
    """
    return f"{'m' if shock_pct < 0 else 'p'}{abs(shock_pct):g}pct"
