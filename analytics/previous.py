"""The one rule for "the previous snapshot" a view's changes are measured against (the page's KPI
strip and key levels, ``mmpos report``): :func:`choose_previous`.

A snapshot is comparable with today's when it is

* of the same underlying and the same source kind (a test-network file is never yesterday for a
  production one);
* from an earlier session (:func:`session_date`: a file downloaded 38 minutes before, the same
  evening, carries the same session's quotes and is no "previous" one);
* at most ``PREVIOUS_MAX_AGE_DAYS`` calendar days older (session to session);
* listing the expiries that carry at least ``PREVIOUS_MIN_COVERAGE`` of today's gross GEX
  (:func:`gross_gex_by_expiry`): a file saved with a few expiries is not the chain of yesterday.

The newest candidate that passes is the previous snapshot; where none does, the note says why.

That is the day-over-day basis (``basis="day"``, the default): the previous session's close (its newest
comparable snapshot). Snapshots collected through a session (``mmpos collect``) also compare on the
intraday basis (``basis="intraday"``): the same underlying's snapshot before it *in the same session*
(the newest earlier one that passes the same source-kind and coverage tests); the first snapshot of a
session has none. :func:`session_groups` groups a list of snapshots by session (the page's snapshot
list shows a session as one "day").

The rule is pure: the caller supplies the snapshots' facts and the coverage of a candidate
(:mod:`dashboard.service` reads them from the catalog, cached).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from analytics import calendars, pricing

PREVIOUS_MAX_AGE_DAYS = 7  # an older "previous snapshot" is not yesterday: no change is shown
PREVIOUS_MIN_COVERAGE = 0.8  # share of today's gross GEX in expiries the previous snapshot also lists
Basis = Literal["day", "intraday"]
BASES: tuple[Basis, ...] = ("day", "intraday")  # day-over-day (the default), or within the session


@dataclass(frozen=True)
class Snapshot:
    """What the rule reads of one snapshot: ``key`` (the catalog id), ``underlying``, source ``kind``,
    ``as_of`` and ``session`` (:func:`session_date`)."""

    key: str
    underlying: str
    kind: str
    as_of: pd.Timestamp
    session: dt.date


@dataclass(frozen=True)
class Choice:
    """The previous snapshot's key, or None and why (``note``; None when there is nothing older at all)."""

    key: str | None
    note: str | None = None


def session_date(as_of: pd.Timestamp, *, round_the_clock: bool) -> dt.date:
    """The session whose quotes a snapshot carries: on the NYSE, the one in progress at ``as_of``, else
    the last one closed before it (a Sunday file carries Friday's); for a market that never closes
    (``round_the_clock``, Deribit) the UTC date.

    Examples
    --------
    >>> session_date(pd.Timestamp("2024-01-07 10:52", tz="America/New_York"), round_the_clock=False)
    datetime.date(2024, 1, 5)
    >>> session_date(pd.Timestamp("2024-01-05 11:00", tz="America/New_York"), round_the_clock=False)
    datetime.date(2024, 1, 5)
    >>> session_date(pd.Timestamp("2024-03-12 05:57", tz="UTC"), round_the_clock=True)
    datetime.date(2024, 3, 12)
    """
    t = pd.Timestamp(as_of)
    if round_the_clock:
        return t.tz_convert("UTC").date()
    close = calendars.quotes_session_close(t)
    return (t.tz_convert(calendars.NYSE_TIME_ZONE) if close is None else close).date()


def gross_gex_by_expiry(expiry, gex_rows) -> dict[dt.date, float]:
    """Gross GEX (sum of absolute per-row GEX, USD per 1%) per expiry date.

    Examples
    --------
    >>> gross_gex_by_expiry(np.array(["2024-01-08", "2024-01-08", "2024-01-09"], dtype="datetime64[D]"),
    ...                     [3.0, -1.0, 2.0])
    {datetime.date(2024, 1, 8): 4.0, datetime.date(2024, 1, 9): 2.0}
    """
    s = pd.Series(np.abs(np.asarray(gex_rows, dtype=float)), index=pd.to_datetime(np.asarray(expiry)))
    sums = s.groupby(level=0, sort=True).sum()
    return {ts.date(): float(v) for ts, v in zip(pd.DatetimeIndex(sums.index), sums.to_numpy(), strict=True)}


def prepared_gross_by_expiry(prep) -> dict[dt.date, float]:
    """:func:`gross_gex_by_expiry` of a prepared chain (:class:`analytics.prepare.PreparedChain`): every
    row's open interest at its own greeks, whatever the dealer convention (a gross is unsigned)."""
    rows = prep.chain.rows
    g = pricing.greeks(prep.level, rows["strike"].to_numpy(float), prep.years, prep.iv, prep.side, prep.rate,
                       prep.carry)
    gex = rows["open_interest"].to_numpy(float) * prep.multiplier * g.gamma * prep.level ** 2 * 0.01
    return gross_gex_by_expiry(rows["expiry"].to_numpy(), gex)


def coverage(gross: Mapping[dt.date, float], expiries: Iterable[dt.date]) -> float:
    """The share of ``gross`` (per expiry) carried by the expiries in ``expiries`` (0-1; 1 when empty).

    Examples
    --------
    >>> import datetime as dt
    >>> coverage({dt.date(2024, 1, 8): 3.0, dt.date(2024, 1, 9): 1.0}, [dt.date(2024, 1, 8)])
    0.75
    """
    total = sum(gross.values())
    listed = set(expiries)
    return 1.0 if total <= 0 else sum(v for k, v in gross.items() if k in listed) / total


def _first_covered(candidates: list[Snapshot], coverage_of: Callable[[str], float],
                   min_coverage: float) -> tuple[str | None, float | None]:
    """The first of ``candidates`` (newest first) listing at least ``min_coverage`` of today's gross
    GEX, and the first candidate's share (for the note when none does); ``coverage_of`` is asked in
    order and no further than needed."""
    first_share: float | None = None
    for s in candidates:
        share = coverage_of(s.key)
        if share >= min_coverage:
            return s.key, share
        first_share = share if first_share is None else first_share
    return None, first_share


def choose_previous(current: Snapshot, snapshots: Iterable[Snapshot], coverage_of: Callable[[str], float], *,
                    max_age_days: int = PREVIOUS_MAX_AGE_DAYS,
                    min_coverage: float = PREVIOUS_MIN_COVERAGE, basis: Basis = "day") -> Choice:
    """The newest comparable snapshot before ``current`` (module docstring), or why there is none.

    ``coverage_of(key)`` is the share of today's gross GEX in the expiries that snapshot lists
    (:func:`coverage`); it is asked only of candidates that pass the other tests, newest first.
    ``basis="day"`` looks in earlier sessions (day over day), ``basis="intraday"`` in the same session,
    before ``current`` (:func:`choose_intraday_previous`).

    Examples
    --------
    >>> def snap(key, day, hour):
    ...     t = pd.Timestamp(f"2024-01-{day:02d} {hour}", tz="America/New_York")
    ...     return Snapshot(key, "SPX", "production", t, session_date(t, round_the_clock=False))
    >>> today, earlier_tonight, yesterday = snap("c", 4, "20:26"), snap("b", 4, "19:48"), snap("a", 3, "16:15")
    >>> choose_previous(today, [earlier_tonight, yesterday], lambda key: 1.0)
    Choice(key='a', note=None)
    >>> print(choose_previous(today, [earlier_tonight, yesterday], lambda key: 0.4).note)
    no comparable previous snapshot: the newest of an earlier session (2024-01-03 16:15) lists the expiries of 40% of today's gross GEX (at least 80% needed)
    """
    if basis == "intraday":
        return choose_intraday_previous(current, snapshots, coverage_of, min_coverage=min_coverage)
    if basis != "day":
        raise ValueError(f"basis must be one of {BASES}, not {basis!r}")
    want = current.underlying.upper()
    older = sorted((s for s in snapshots
                    if s.underlying.upper() == want and s.kind == current.kind and s.session < current.session),
                   key=lambda s: s.as_of, reverse=True)
    if not older:
        return Choice(None)  # the first session of its kind: nothing to say
    recent = [s for s in older if (current.session - s.session).days <= max_age_days]
    if not recent:
        newest = older[0]
        return Choice(None, f"no recent previous snapshot (the newest, {newest.as_of:%Y-%m-%d}, is "
                            f"{(current.session - newest.session).days} days older; at most {max_age_days})")
    key, first_share = _first_covered(recent, coverage_of, min_coverage)
    if key is not None:
        return Choice(key)
    return Choice(None, f"no comparable previous snapshot: the newest of an earlier session "
                        f"({recent[0].as_of:%Y-%m-%d %H:%M}) lists the expiries of {100 * (first_share or 0.0):.0f}% of "
                        f"today's gross GEX (at least {100 * min_coverage:.0f}% needed)")


def choose_intraday_previous(current: Snapshot, snapshots: Iterable[Snapshot], coverage_of: Callable[[str], float], *,
                             min_coverage: float = PREVIOUS_MIN_COVERAGE) -> Choice:
    """The snapshot before ``current`` in the same session (the base of intraday changes), or why there
    is none: the newest earlier snapshot of the same underlying, source kind and session whose expiries
    carry at least ``min_coverage`` of ``current``'s gross GEX.

    Examples
    --------
    >>> def snap(key, day, hm):
    ...     t = pd.Timestamp(f"2026-11-{day:02d} {hm}", tz="America/New_York")
    ...     return Snapshot(key, "SPX", "production", t, session_date(t, round_the_clock=False))
    >>> close, t0935, t0940, t0945 = snap("a", 19, "16:15"), snap("b", 20, "09:35"), snap("c", 20, "09:40"), snap("d", 20, "09:45")
    >>> choose_intraday_previous(t0945, [close, t0935, t0940], lambda key: 1.0)
    Choice(key='c', note=None)
    >>> print(choose_intraday_previous(t0935, [close], lambda key: 1.0).note)
    the first snapshot of its session (2026-11-20): no intraday change
    >>> choose_previous(t0945, [close, t0935, t0940], lambda key: 1.0)  # day over day: the previous close
    Choice(key='a', note=None)
    """
    want = current.underlying.upper()
    earlier = sorted((s for s in snapshots
                      if s.underlying.upper() == want and s.kind == current.kind and s.session == current.session
                      and s.as_of < current.as_of), key=lambda s: s.as_of, reverse=True)
    if not earlier:
        return Choice(None, f"the first snapshot of its session ({current.session.isoformat()}): no intraday change")
    key, first_share = _first_covered(earlier, coverage_of, min_coverage)
    if key is not None:
        return Choice(key)
    return Choice(None, f"no comparable earlier snapshot in the session: the one before "
                        f"({earlier[0].as_of:%H:%M}) lists the expiries of {100 * (first_share or 0.0):.0f}% of "
                        f"this one's gross GEX (at least {100 * min_coverage:.0f}% needed)")


def session_groups(snapshots: Iterable[Snapshot]) -> list[list[Snapshot]]:
    """Snapshots grouped by (underlying, session), each group newest first, groups newest first: the
    page lists a session as one "day".

    Examples
    --------
    >>> t = [pd.Timestamp(x, tz="UTC") for x in ("2026-11-19 14:00", "2026-11-19 14:15", "2026-11-20 14:00")]
    >>> snaps = [Snapshot(str(i), "BTC", "production", ts, session_date(ts, round_the_clock=True)) for i, ts in enumerate(t)]
    >>> [[s.key for s in group] for group in session_groups(snaps)]
    [['2'], ['1', '0']]
    """
    groups: dict[tuple[str, dt.date], list[Snapshot]] = {}
    for s in sorted(snapshots, key=lambda s: s.as_of, reverse=True):
        groups.setdefault((s.underlying.upper(), s.session), []).append(s)
    return list(groups.values())
