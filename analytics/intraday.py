"""One session's snapshots as the Intraday view draws them: net GEX by strike x time, with spot, the
zero-gamma level nearest spot and the call/put walls at each time (:func:`session_matrix`).

The snapshots come from the history store (:meth:`analytics.history.HistoryStore.session_summaries`),
each summarised once with its session (:func:`analytics.previous.session_date`) and its per-strike GEX
of every expiry and of the 0DTE expiries (:func:`analytics.summary.zero_dte_expiries`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from analytics.exposure import top_wall_positions
from analytics.summary import ALL_EXPIRY_COLUMNS, ZERO_DTE_COLUMNS, Summary

ExpirySet = Literal["all", "0dte"]
EXPIRY_SETS: tuple[ExpirySet, ...] = ("all", "0dte")


@dataclass(frozen=True)
class SessionMatrix:
    """One session of one underlying: ``net_gex[i, j]`` at ``times[i]`` and ``strikes[j]``.

    Attributes
    ----------
    underlying, session : str
        The underlying and the session's ISO date.
    expiries : {"all", "0dte"}
        Which expiries the GEX (and the walls) cover.
    files : tuple of str
        Each snapshot's file (relative path), oldest first.
    times : pandas.DatetimeIndex
        Each snapshot's time, in the time zone of the newest.
    strikes : ndarray, shape (k,)
        The union of every snapshot's strikes, ascending.
    net_gex, call_gex, put_gex : ndarray, shape (n, k)
        GEX in USD per 1% move; NaN where a snapshot lists no such strike.
    spot, zero_gamma, call_wall, put_wall : ndarray, shape (n,)
        Spot; the zero-gamma level nearest spot (every expiry: the summaries keep the profile of every
        expiry only); the call wall (largest call GEX > 0) and put wall (most negative put GEX < 0) of
        ``expiries``, ties to the lower strike (:func:`analytics.exposure.top_walls`'s rule). NaN where none.
    zero_dte_expiries : tuple of tuple of str
        The 0DTE expiry dates of each snapshot.
    conventions : tuple of str
        The dealer conventions of the summaries (one, unless the store is mixed).
    """

    underlying: str
    session: str
    expiries: ExpirySet
    files: tuple[str, ...]
    times: pd.DatetimeIndex
    strikes: np.ndarray
    net_gex: np.ndarray
    call_gex: np.ndarray
    put_gex: np.ndarray
    spot: np.ndarray
    zero_gamma: np.ndarray
    call_wall: np.ndarray
    put_wall: np.ndarray
    zero_dte_expiries: tuple[tuple[str, ...], ...]
    conventions: tuple[str, ...]

    @property
    def empty(self) -> bool:
        """No snapshot of the session is stored."""
        return len(self.files) == 0


def nearest_levels(levels: Sequence[Sequence[float]], spot: np.ndarray) -> np.ndarray:
    """Per snapshot, the level of ``levels[i]`` nearest ``spot[i]`` (NaN where there is none).

    Examples
    --------
    >>> nearest_levels([(90.0, 104.0, 130.0), (), (99.0,)], np.array([100.0, 100.0, 120.0])).tolist()
    [104.0, nan, 99.0]
    """
    spot = np.asarray(spot, dtype=float)
    counts = np.array([len(x) for x in levels], dtype=np.int64)
    width = int(counts.max(initial=0))
    padded = np.full((len(counts), max(width, 1)), np.nan)
    if width:
        flat = np.fromiter((float(v) for x in levels for v in x), dtype=float, count=int(counts.sum()))
        rows = np.repeat(np.arange(len(counts)), counts)
        cols = np.arange(len(flat)) - np.repeat(np.cumsum(counts) - counts, counts)
        padded[rows, cols] = flat
    distance = np.abs(padded - spot[:, None])
    best = np.argmin(np.where(np.isnan(distance), np.inf, distance), axis=1)
    return padded[np.arange(len(counts)), best]


def column_walls(strikes: np.ndarray, call_gex: np.ndarray, put_gex: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per row (snapshot): the call wall (strike of the largest call GEX > 0) and the put wall (strike of
    the most negative put GEX < 0), ties to the lower strike; NaN where no strike qualifies. The rule is
    :func:`analytics.exposure.top_wall_positions`' (the snapshot view's walls), over every row at once.

    Examples
    --------
    >>> k = np.array([90.0, 100.0, 110.0])
    >>> call, put = column_walls(k, np.array([[1.0, 7.0, 7.0], [0.0, np.nan, 0.0]]),
    ...                          np.array([[-9.0, -3.0, 0.0], [np.nan, 0.0, -1.0]]))
    >>> call.tolist(), put.tolist()
    ([100.0, nan], [90.0, 110.0])
    """
    call_at, put_at = top_wall_positions(call_gex, put_gex, 1)
    at = np.append(np.asarray(strikes, dtype=float), np.nan)  # position -1 (no wall): NaN
    rows = np.shape(call_gex)[0]
    if call_at.shape[-1] == 0:  # no strike at all
        return np.full(rows, np.nan), np.full(rows, np.nan)
    return at[call_at[:, 0]], at[put_at[:, 0]]


def session_matrix(items: Sequence[tuple[str, Summary]], *, expiries: ExpirySet = "all",
                   underlying: str = "", session: str = "") -> SessionMatrix:
    """Shape one session's summaries (oldest first) into a strike x time matrix.

    Parameters
    ----------
    items : sequence of (relative path, Summary)
        The session's snapshots, oldest first (:meth:`analytics.history.HistoryStore.session_summaries`).
    expiries : {"all", "0dte"}
        GEX of every expiry, or of each snapshot's 0DTE expiries (the walls follow).
    underlying, session : str
        Names kept on the result (default: the first summary's).

    Returns
    -------
    SessionMatrix
        Strikes aligned by their union; NaN where a snapshot does not list a strike.

    Examples
    --------
    >>> from analytics.intraday import session_matrix
    >>> m = session_matrix([])
    >>> m.empty, m.net_gex.shape
    (True, (0, 0))
    """
    if expiries not in EXPIRY_SETS:
        raise ValueError(f"expiries must be one of {', '.join(EXPIRY_SETS)}, got {expiries!r}")
    summaries = [s for _, s in items]
    n = len(summaries)
    if n == 0:
        nothing = np.zeros(0)
        return SessionMatrix(underlying, session, expiries, (), pd.DatetimeIndex([]), nothing, np.zeros((0, 0)),
                             np.zeros((0, 0)), np.zeros((0, 0)), nothing, nothing, nothing, nothing, (), ())
    columns = ZERO_DTE_COLUMNS if expiries == "0dte" else ALL_EXPIRY_COLUMNS
    listed = np.concatenate([s.strikes for s in summaries])
    values = np.concatenate([s.strike_gex[:, columns] for s in summaries])  # (total rows, 3): call, put, net
    strikes = np.unique(listed)
    cube = np.full((n, len(strikes), 3), np.nan)
    cube[np.repeat(np.arange(n), [len(s.strikes) for s in summaries]), np.searchsorted(strikes, listed)] = values
    spot = np.array([s.spot for s in summaries], dtype=float)
    call_wall, put_wall = column_walls(strikes, cube[:, :, 0], cube[:, :, 1])
    times = pd.DatetimeIndex([s.as_of.tz_convert("UTC") for s in summaries]).tz_convert(summaries[-1].as_of.tz)
    return SessionMatrix(
        underlying=underlying or summaries[0].underlying,
        session=session or summaries[0].session,
        expiries=expiries,
        files=tuple(rel for rel, _ in items),
        times=times,
        strikes=strikes,
        net_gex=cube[:, :, 2],
        call_gex=cube[:, :, 0],
        put_gex=cube[:, :, 1],
        spot=spot,
        zero_gamma=nearest_levels([s.zero_gamma_levels for s in summaries], spot),
        call_wall=call_wall,
        put_wall=put_wall,
        zero_dte_expiries=tuple(s.zero_dte_expiries for s in summaries),
        conventions=tuple(dict.fromkeys(s.convention for s in summaries)),
    )
