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
The rule is pure: the caller supplies the snapshots' facts and the coverage of a candidate
(:mod:`dashboard.service` reads them from the catalog, cached).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from analytics import calendars, pricing

PREVIOUS_MAX_AGE_DAYS = 7  # an older "previous snapshot" is not yesterday: no change is shown
PREVIOUS_MIN_COVERAGE = 0.8  # share of today's gross GEX in expiries the previous snapshot also lists


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


def choose_previous(current: Snapshot, snapshots: Iterable[Snapshot], coverage_of: Callable[[str], float], *,
                    max_age_days: int = PREVIOUS_MAX_AGE_DAYS,
                    min_coverage: float = PREVIOUS_MIN_COVERAGE) -> Choice:
    """The newest comparable snapshot before ``current`` (module docstring), or why there is none.

    ``coverage_of(key)`` is the share of today's gross GEX in the expiries that snapshot lists
    (:func:`coverage`); it is asked only of candidates that pass the other tests, newest first.

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
    first_share: float | None = None
    for s in recent:
        share = coverage_of(s.key)
        if share >= min_coverage:
            return Choice(s.key)
        first_share = share if first_share is None else first_share
    return Choice(None, f"no comparable previous snapshot: the newest of an earlier session "
                        f"({recent[0].as_of:%Y-%m-%d %H:%M}) lists the expiries of {100 * (first_share or 0.0):.0f}% of "
                        f"today's gross GEX (at least {100 * min_coverage:.0f}% needed)")
