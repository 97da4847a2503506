"""``mmpos collect``: intraday snapshots on a schedule (issue 19), the use case behind the command.

Each pass (:meth:`Collector.step`) fetches every underlying that is due (:func:`analytics.collect_rules.next_fetch_ns`:
CBOE's underlyings inside NYSE sessions plus one snapshot after each close, Deribit's around the
clock) with :func:`analytics.sources.fetch.fetch`, which writes the file atomically (a dotted
temporary name renamed into place) as ``collect_<source>_<symbol>_<UTC time>.json``. The new file is
then read by the catalog (a file it cannot read counts as a failure) and summarised into the history
store (:meth:`analytics.history.HistoryStore.get_or_compute`); the server's warmer
(:mod:`dashboard.web.warm`) notices the new file on its own. A failure (HTTP error, 429 with
``Retry-After``, 5xx, timeout, a body cut short) backs that underlying off exponentially
(:func:`analytics.collect_rules.backoff_s`); the others carry on. With ``keep_days`` the retention rule
(:func:`analytics.collect_rules.to_delete`) removes the collector's own older files, never another name.

With each Deribit snapshot come that currency's option trades (:func:`analytics.sources.fetch.fetch_deribit_trades`),
from where the last trades window written ended (at first, the last 08:00 UTC settlement) up to now,
written atomically beside it as ``collect_deribit_<cur>_trades_<start>_<end>.trades.json`` (the
catalog skips ``*.trades.json``); the ``flow-inferred`` convention reads them (:mod:`analytics.trades`).
A failed trades fetch is a failure of that underlying; the next window starts where the last written
one ended, so the windows leave no gap.

The time of each underlying's newest fetch and its failures are kept in ``collect-status.json`` in the
state folder (``<data>/.mmpos`` or under ``MMPOS_STATE_DIR``: :func:`status_path`), read back by
:func:`read_status` (for the page) and :func:`status_text`.

The clock and the sleep are injected (tests run a day of schedule in milliseconds), and so is the HTTP
opener; the base URLs come from the settings (``MMPOS_CBOE_BASE_URL``, ``MMPOS_DERIBIT_BASE_URL``).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import time
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from analytics import collect_rules as rules
from analytics import trades as trade_flow
from analytics.catalog import Catalog, scan_catalog
from analytics.errors import ChainDataError
from analytics.history import HistoryStore, default_store_dir
from analytics.sources import fetch as fetchers

STATUS_NAME = "collect-status.json"
MAX_SLEEP_S = 60.0  # the loop wakes at least this often (a stop request, a parent gone)

Clock = Callable[[], dt.datetime]


def _now_utc() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _ns(t: dt.datetime) -> int:
    return int(pd.Timestamp(t).as_unit("ns").value)


def _iso(ns: int | None) -> str | None:
    if ns is None or ns in (np.iinfo(np.int64).min, np.iinfo(np.int64).max):
        return None
    return pd.Timestamp(ns, tz="UTC").isoformat()


@dataclass
class TargetStatus:
    """One underlying's state in the collector (and in its status file)."""

    underlying: str
    source: str
    last_fetch_ns: int | None = None
    last_file: str | None = None
    failures: int = 0  # in a row, since the last success
    failures_total: int = 0
    last_error: str | None = None
    last_error_ns: int | None = None
    retry_after_s: float | None = None
    next_ns: int | None = None
    trades_until_ns: int | None = None  # Deribit: the end of the last trades window written

    def as_json(self) -> dict[str, Any]:
        d = asdict(self)
        for key in ("last_fetch_ns", "last_error_ns", "next_ns", "trades_until_ns"):
            d[key.replace("_ns", "_at")] = _iso(d.pop(key))
        return d


def status_path(data_dir: str | Path) -> Path:
    """``collect-status.json`` in the data folder's state folder (:func:`analytics.history.default_store_dir`)."""
    return default_store_dir(Path(data_dir).expanduser().resolve()) / STATUS_NAME


def read_status(data_dir: str | Path) -> dict[str, Any] | None:
    """The collector's last status for ``data_dir`` (None when it never ran or the file is unreadable)."""
    try:
        got = json.loads(status_path(data_dir).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return got if isinstance(got, dict) and isinstance(got.get("underlyings"), dict) else None


SILENT_AFTER_INTERVALS = 3  # a status not rewritten for this many intervals (and 2 minutes): the collector is silent


def status_text(status: dict[str, Any] | None, now: dt.datetime | pd.Timestamp | None = None) -> str | None:
    """One line for a header: ``collected SPX 14:05, BTC 14:06 UTC; BTC failing x3 (HTTP 503)``; with
    ``now``, ``; collector silent since 14:06 UTC`` when the status was not rewritten for
    :data:`SILENT_AFTER_INTERVALS` intervals (a stopped or crashed collector)."""
    if not status:
        return None
    done, failing = [], []
    for name, s in status["underlyings"].items():
        if not isinstance(s, dict):
            continue
        at = s.get("last_fetch_at")
        done.append(f"{name} {pd.Timestamp(at).tz_convert('UTC'):%H:%M}" if at else f"{name} -")
        if s.get("failures"):
            failing.append(f"{name} failing x{s['failures']} ({str(s.get('last_error') or '')[:80]})")
    line = "collected " + ", ".join(done) + " UTC"
    line += "; " + "; ".join(failing) if failing else ""
    updated = status.get("updated_at")
    if now is not None and updated:
        try:
            last = pd.Timestamp(updated).tz_convert("UTC")
        except (TypeError, ValueError):
            return line
        every_s = float(status.get("every_s") or rules.DEFAULT_EVERY_S)
        if pd.Timestamp(now).tz_convert("UTC") - last > pd.Timedelta(seconds=max(SILENT_AFTER_INTERVALS * every_s, 120)):
            line += f"; collector silent since {last:%Y-%m-%d %H:%M} UTC"
    return line


class Collector:
    """The schedule of ``mmpos collect`` for one data folder.

    Parameters
    ----------
    data_dir : path-like
        Where the snapshots go (the dashboard's data folder).
    underlyings : sequence of str
        ``SPX``, ``NDX``, ``BTC``... (:func:`analytics.collect_rules.source_of` picks the source).
    every_s : float
        Seconds between two snapshots of one underlying.
    keep_days : int, optional
        Retention: every snapshot of the last ``keep_days`` days, the last of each day before.
        None keeps everything.
    clock, sleep : callable
        Aware UTC time and a sleep in seconds (a test passes a fake pair).
    opener : callable
        ``urllib.request.urlopen`` or a test double.
    base_urls : dict, optional
        ``{"cboe": ..., "deribit": ...}`` API roots (default: the live ones).
    sessions : (opens, closes), optional
        NYSE session bounds in UTC ns (default :func:`analytics.calendars.nyse_session_bounds`, loaded
        when a CBOE underlying first needs them).
    say : callable
        Receives one line per fetch, failure and deletion.
    """

    def __init__(self, data_dir: str | Path, underlyings: Sequence[str], every_s: float, *,
                 keep_days: int | None = None, clock: Clock = _now_utc, sleep: Callable[[float], None] = time.sleep,
                 opener: fetchers.Opener = urllib.request.urlopen, base_urls: dict[str, str] | None = None,
                 sessions: tuple[np.ndarray, np.ndarray] | None = None,
                 say: Callable[[str], None] = lambda line: None) -> None:
        self.data_dir = Path(data_dir).expanduser().resolve()
        if not self.data_dir.is_dir():
            raise ChainDataError("data directory not found", path=self.data_dir)
        self.every_ns = int(every_s * rules.NS)
        self.every_s = float(every_s)
        self.keep_days = keep_days
        self.clock, self.sleep, self.opener, self.say = clock, sleep, opener, say
        self.base_urls = dict(base_urls or {})
        self._sessions = sessions
        self._catalog: Catalog | None = None
        self._store: HistoryStore | None = None
        self.targets = {u: TargetStatus(u, rules.source_of(u)) for u in rules.parse_underlyings(",".join(underlyings))}
        self._resume_from_files()

    # ---- state

    def _resume_from_files(self) -> None:
        """Each underlying's last fetch from the newest of its files already in the folder (a restart
        does not fetch again what is there)."""
        for _name, underlying, stamp in self._collected():
            target = self.targets.get(underlying)
            ns = int(stamp.as_unit("ns").value)
            if target is not None and (target.last_fetch_ns is None or ns > target.last_fetch_ns):
                target.last_fetch_ns, target.last_file = ns, _name
        for name in self._names():
            currency, window = trade_flow.trades_currency(name), trade_flow.window_of_name(name)
            target = self.targets.get(currency or "")
            if target is not None and window is not None and name.startswith(rules.COLLECT_PREFIX):
                end = int(window[1].as_unit("ns").value)
                target.trades_until_ns = max(end, target.trades_until_ns or end)

    def _names(self) -> list[str]:
        try:
            return [e.name for e in os.scandir(self.data_dir) if e.is_file(follow_symlinks=False)]
        except OSError:
            return []

    def _collected(self) -> list[tuple[str, str, pd.Timestamp]]:
        return rules.collected_files(self._names())

    def sessions(self) -> tuple[np.ndarray, np.ndarray]:
        if self._sessions is None:
            from analytics.calendars import nyse_session_bounds

            self._sessions = nyse_session_bounds()
        return self._sessions

    def due_ns(self, target: TargetStatus) -> int:
        """When ``target`` is next fetched: the schedule's instant, pushed back while backing off."""
        if target.source == "deribit":
            opens = closes = np.empty(0, dtype=np.int64)
        else:
            opens, closes = self.sessions()
        when = rules.next_fetch_ns(target.source, target.last_fetch_ns, self.every_ns, opens, closes)
        if target.failures and target.last_error_ns is not None:
            wait_ns = int(rules.backoff_s(target.failures, target.retry_after_s) * rules.NS)
            when = max(when, target.last_error_ns + wait_ns)
        return when

    # ---- one pass

    def step(self) -> list[Path]:
        """Fetch every underlying due now, then apply the retention rule and write the status; return
        the files written."""
        written = []
        for target in self.targets.values():
            if self.due_ns(target) <= _ns(self.clock()):
                path = self._fetch(target)
                if path is not None:
                    written.append(path)
        if self.keep_days is not None:
            self.apply_retention()
        for target in self.targets.values():
            target.next_ns = self.due_ns(target)
        self._write_status()
        return written

    def _fetch(self, target: TargetStatus) -> Path | None:
        try:
            path = fetchers.fetch(target.source, target.underlying, self.data_dir, opener=self.opener,
                                  now=self.clock, base_url=self.base_urls.get(target.source),
                                  prefix=rules.COLLECT_PREFIX)
        except ChainDataError as exc:
            self._failed(target, exc.message, getattr(exc, "retry_after_s", None))
            return None
        target.last_fetch_ns, target.last_file = _ns(self.clock()), path.name
        parsed = rules.collected_name(path.name)
        if parsed is not None:  # the name's time (to the second) is the one a restart resumes from
            target.last_fetch_ns = int(parsed[1].as_unit("ns").value)
        problem = self._catalogue_and_summarise(path)
        if problem:
            self._failed(target, problem, None)
            return path
        if target.source == "deribit" and not self._fetch_trades(target):
            return path
        target.failures, target.last_error, target.retry_after_s = 0, None, None
        self.say(f"wrote {path.name}")
        return path

    def _fetch_trades(self, target: TargetStatus) -> bool:
        """Deribit's trades since the end of the last trades window (at first, and after a gap, since
        the last 08:00 UTC settlement: :func:`analytics.trades.oi_time_ns`; at most the 24 hours Deribit
        keeps) up to now, written beside the snapshot; False (and a failure) when the fetch failed."""
        now = pd.Timestamp(self.clock())
        now = now.tz_localize("UTC") if now.tzinfo is None else now.tz_convert("UTC")
        until = target.trades_until_ns
        start_ns = trade_flow.oi_time_ns(now) if until is None else until
        start_ns = max(start_ns, _ns(now - pd.Timedelta(hours=23, minutes=59)))
        try:
            path = fetchers.fetch_deribit_trades(target.underlying, self.data_dir,
                                                 pd.Timestamp(start_ns, tz="UTC").to_pydatetime(),
                                                 now.to_pydatetime(), opener=self.opener,
                                                 base_url=self.base_urls.get("deribit"),
                                                 name_for=lambda a, b: trade_flow.trades_file_name(
                                                     target.underlying, a, b, rules.COLLECT_PREFIX))
        except ChainDataError as exc:
            self._failed(target, f"trades: {exc.message}", getattr(exc, "retry_after_s", None))
            return False
        window = trade_flow.window_of_name(path.name)
        target.trades_until_ns = int(window[1].as_unit("ns").value) if window else _ns(now)
        self.say(f"wrote {path.name}")
        return True

    def _failed(self, target: TargetStatus, message: str, retry_after_s: float | None) -> None:
        target.failures += 1
        target.failures_total += 1
        target.last_error, target.last_error_ns, target.retry_after_s = message, _ns(self.clock()), retry_after_s
        wait = rules.backoff_s(target.failures, retry_after_s)
        self.say(f"{target.underlying}: {message} (failure {target.failures} in a row; next try in {wait:g} s)")

    def _catalogue_and_summarise(self, path: Path) -> str | None:
        """The catalog's reading of the new file and its summary in the history store; a reason when the
        file is not a readable snapshot."""
        self._catalog = scan_catalog(self.data_dir, previous=self._catalog)
        entry = next((e for e in self._catalog if e.path.resolve() == path.resolve()), None)
        if entry is None or entry.error:
            return f"{path.name}: written but not readable ({entry.error if entry else 'not listed'})"
        try:
            if self._store is None:
                self._store = HistoryStore(self.data_dir)
            self._store.get_or_compute(path)
        except (ChainDataError, OSError) as exc:
            return f"{path.name}: not summarised ({exc})"
        return None

    def apply_retention(self) -> list[Path]:
        """Delete the collector's files the retention rule drops (only ``collect_...`` names), and its trades
        files older than ``keep_days`` (:func:`analytics.collect_rules.trades_to_delete`); return them."""
        assert self.keep_days is not None
        found = self._collected()
        drop = rules.to_delete([(u, t) for _, u, t in found], pd.Timestamp(self.clock()), self.keep_days)
        removed = []
        for k in drop:
            path = self.data_dir / found[k][0]
            try:
                path.unlink()
            except FileNotFoundError:
                continue
            removed.append(path)
            self.say(f"removed {path.name} (retention: {self.keep_days} days, then one a day)")
        for name in rules.trades_to_delete(self._names(), pd.Timestamp(self.clock()), self.keep_days):
            path = self.data_dir / name
            try:
                path.unlink()
            except FileNotFoundError:
                continue
            removed.append(path)
            self.say(f"removed {path.name} (retention: trades of the last {self.keep_days} days)")
        return removed

    def _write_status(self) -> None:
        path = status_path(self.data_dir)
        body = {"pid": os.getpid(), "every_s": self.every_s, "keep_days": self.keep_days,
                "updated_at": pd.Timestamp(self.clock()).isoformat(),
                "underlyings": {t.underlying: t.as_json() for t in self.targets.values()}}
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f".{path.name}.{os.getpid()}.part")
            tmp.write_text(json.dumps(body, indent=1), encoding="utf-8")
            os.replace(tmp, path)
        except OSError as exc:
            self.say(f"cannot write {path}: {exc.strerror or exc}")

    # ---- the loop

    def next_wake_ns(self) -> int:
        return min(self.due_ns(t) for t in self.targets.values())

    def run(self, *, once: bool = False, should_stop: Callable[[], bool] = lambda: False) -> None:
        """Pass after pass until ``should_stop()`` (or one pass with ``once``), sleeping until the next
        underlying is due (at most :data:`MAX_SLEEP_S` at a time)."""
        while True:
            self.step()
            if once:
                return
            while True:
                if should_stop():
                    return
                wait_s = (self.next_wake_ns() - _ns(self.clock())) / rules.NS
                if wait_s <= 0:
                    break
                self.sleep(min(wait_s, MAX_SLEEP_S))
