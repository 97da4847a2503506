"""Alerts when a new snapshot lands: the rules of :mod:`analytics.alerts` against the comparable previous
snapshot, sent as a chat webhook and/or e-mail, at most once per rule and snapshot.

The use case (:func:`check`), for the newest snapshot of each underlying:

1. the comparable previous snapshot by the one rule (:func:`dashboard.service.find_previous`); none, no alert;
2. both snapshots' history summaries (:class:`analytics.history.HistoryStore`, computed once and kept);
3. :func:`analytics.alerts.evaluate` with the rules of the alerts file (``MMPOS_ALERTS_FILE``, TOML,
   ``docs/alerts.md``);
4. each alert is claimed in the sent-log, then sent through every channel of the file
   (:mod:`dashboard.runtime.notify`: retries with backoff); a channel that still fails gets a line
   in the dead-letter log.

Both logs live in the history store's state folder (``<data>/.mmpos``, or under ``MMPOS_STATE_DIR``):

* ``alerts.sqlite``: one row per (rule, snapshot id), its primary key. A row is inserted before
  anything is sent, and only the process whose insert succeeded sends: at most one alert per rule
  and snapshot across restarts, several gunicorn workers and ``mmpos alerts`` from cron alike (an
  alert whose sender died mid-send stays ``sending`` and is not sent again). The page reads it
  (:func:`recent_alerts`).
* ``alerts-dead.jsonl``: one JSON line per alert and channel that could not be delivered after the
  retries (the time, the channel, the tries, the last error and the alert).

In the server, every worker runs an :class:`AlertWatcher` thread (started with the warming thread,
:func:`dashboard.web.warm.start`) that looks at the catalog every few seconds; the sent-log's
key makes sure one of them sends.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
import os
import sqlite3
import threading
import time
import tomllib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from analytics.alerts import Alert, AlertConfigError, Rules, evaluate, parse_rules
from analytics.catalog import Catalog, CatalogEntry, FileVersion
from analytics.errors import ChainDataError
from analytics.fmt import format_stamp
from analytics.history import HistoryStore, default_store_dir
from dashboard import service
from dashboard.runtime import config, notify

log = logging.getLogger(__name__)

SENT_LOG_NAME = "alerts.sqlite"
DEAD_LETTER_NAME = "alerts-dead.jsonl"
PAGE_ALERTS = 5  # the page shows the newest few alerts of the underlying
_BUSY_TIMEOUT_S = 30.0
_SMTP_PORT = 25
_TOP_KEYS = ("rules", "webhook", "email")
_SCHEMA = """
CREATE TABLE IF NOT EXISTS alerts (
    rule TEXT NOT NULL,
    snapshot_id TEXT NOT NULL,
    underlying TEXT NOT NULL,
    as_of TEXT NOT NULL,
    as_of_ns INTEGER NOT NULL,
    message TEXT NOT NULL,
    line TEXT NOT NULL,
    alert TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('sending', 'delivered', 'failed', 'logged')),
    detail TEXT,
    claimed_at REAL NOT NULL,
    PRIMARY KEY (rule, snapshot_id)
);
CREATE INDEX IF NOT EXISTS alerts_by_underlying ON alerts (underlying, as_of_ns);
"""


# --------------------------------------------------------------------------- the alerts file


@dataclass(frozen=True)
class AlertsConfig:
    """An alerts file, read and checked: its rules and the channels alerts go to (none: only logged)."""

    path: Path
    rules: Rules
    channels: tuple[notify.Webhook | notify.Smtp, ...] = ()


def _fail(name: str, key: str, reason: str) -> AlertConfigError:
    return AlertConfigError(reason, path=name, field=key)


def _text(table: dict[str, Any], key: str, name: str, section: str, *, required: bool = True) -> str | None:
    value = table.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip():
        raise _fail(name, f"{section}.{key}", "required: a non-empty string" if value is None
                    else f"must be a non-empty string, got {value!r}")
    return value.strip()


def _check_keys(table: Any, allowed: Iterable[str], name: str, section: str) -> dict[str, Any]:
    if not isinstance(table, dict):
        raise _fail(name, section, f"expected a table, got {type(table).__name__}")
    allowed = tuple(allowed)
    for key in table:
        if key not in allowed:
            raise _fail(name, f"{section}.{key}", f"unknown key (allowed: {', '.join(allowed)})")
    return table


def _webhook(table: Any, name: str) -> notify.Webhook:
    table = _check_keys(table, ("url",), name, "webhook")
    url = _text(table, "url", name, "webhook")
    assert url is not None
    if not url.lower().startswith(("https://", "http://")):
        raise _fail(name, "webhook.url", "must start with https:// (or http://)")
    return notify.Webhook(url)


def _email(table: Any, name: str, env: dict[str, str]) -> notify.Smtp:
    table = _check_keys(table, ("host", "port", "from", "to", "starttls", "username", "password_env"), name, "email")
    host, sender = _text(table, "host", name, "email"), _text(table, "from", name, "email")
    port = table.get("port", _SMTP_PORT)
    if not isinstance(port, int) or isinstance(port, bool) or not 0 < port < 65536:
        raise _fail(name, "email.port", f"must be a port number 1-65535, got {port!r}")
    to = table.get("to")
    if isinstance(to, str):
        to = [to]
    if not isinstance(to, list) or not to or not all(isinstance(t, str) and "@" in t for t in to):
        raise _fail(name, "email.to", "required: an address or a list of addresses")
    starttls = table.get("starttls", False)
    if not isinstance(starttls, bool):
        raise _fail(name, "email.starttls", "must be true or false")
    username = _text(table, "username", name, "email", required=False)
    password_env = _text(table, "password_env", name, "email", required=False)
    password = None
    if password_env is not None:
        password = env.get(password_env)
        if password is None:
            raise _fail(name, "email.password_env", f"the environment variable {password_env} is not set")
    assert host is not None and sender is not None
    return notify.Smtp(host, port, sender, tuple(to), starttls=starttls, username=username, password=password)


def load_config(path: str | Path, env: dict[str, str] | None = None) -> AlertsConfig:
    """Read and check an alerts file (see ``docs/alerts.md``).

    Raises
    ------
    AlertConfigError
        One line naming the file and the key (or why the file cannot be read).
    """
    path = Path(path).expanduser()
    name = str(path)
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as err:
        raise AlertConfigError(f"cannot read the alerts file ({err.strerror or err})", path=name) from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
        raise AlertConfigError(f"not valid TOML ({err})", path=name) from None
    for key in doc:
        if key not in _TOP_KEYS:
            raise _fail(name, key, f"unknown key (allowed: {', '.join(_TOP_KEYS)})")
    rules = parse_rules(doc.get("rules"), name)
    if not rules.enabled:
        raise _fail(name, "rules", "no rule is on (add a [rules.<name>] table: zero_gamma_cross, wall_move, "
                                   "total_sign, flow_1pct)")
    channels: list[notify.Webhook | notify.Smtp] = []
    if "webhook" in doc:
        channels.append(_webhook(doc["webhook"], name))
    if "email" in doc:
        channels.append(_email(doc["email"], name, dict(os.environ if env is None else env)))
    return AlertsConfig(path=path, rules=rules, channels=tuple(channels))


# --------------------------------------------------------------------------- the sent-log and dead letters


def state_dir(data_dir: str | Path | None) -> Path:
    """Where the alert logs live: the history store's folder of ``data_dir``."""
    return default_store_dir(service.resolve_data_dir(data_dir).expanduser().resolve())


def alert_line(alert: Alert) -> str:
    """The alert as one dated line (the snapshot's time on its own clock, as the page's header shows
    it): what the page, the webhook and the e-mail say.

    Examples
    --------
    >>> import pandas as pd
    >>> alert_line(Alert("total_sign", "SPX", "spx-1", pd.Timestamp("2026-11-20 16:15", tz="America/New_York"),
    ...                  "SPX: total GEX changed sign"))
    '2026-11-20 16:15 EST SPX: total GEX changed sign'
    """
    return f"{format_stamp(alert.as_of)} {alert.message}"


class AlertLog:
    """The sent-log (SQLite, one row per rule and snapshot) and the dead-letter log of one state folder."""

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.dead_letter_path = self.folder / DEAD_LETTER_NAME
        self._conn = sqlite3.connect(self.folder / SENT_LOG_NAME, timeout=_BUSY_TIMEOUT_S, isolation_level=None)
        self._conn.executescript(_SCHEMA)

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> AlertLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def claim(self, alert: Alert) -> bool:
        """Record ``alert`` as being sent; False when its rule already fired for its snapshot (here or
        in another process): then it must not be sent."""
        row = (alert.rule, alert.snapshot_id, alert.underlying.upper(), alert.as_of.isoformat(), int(alert.as_of.value),
               alert.message, alert_line(alert), json.dumps(alert.to_dict(), allow_nan=False, default=str), "sending", None, time.time())
        cur = self._conn.execute(f"INSERT OR IGNORE INTO alerts VALUES ({','.join('?' * len(row))})", row)
        return cur.rowcount == 1

    def finish(self, alert: Alert, status: str, detail: str | None = None) -> None:
        """Record how sending went: ``delivered``, ``failed`` (see the dead-letter log) or ``logged`` (no channel)."""
        self._conn.execute("UPDATE alerts SET status = ?, detail = ? WHERE rule = ? AND snapshot_id = ?",
                           (status, detail, alert.rule, alert.snapshot_id))

    def dead_letter(self, alert: Alert, delivery: notify.Delivery) -> None:
        """Append one JSON line for an alert a channel could not take."""
        line = {"time": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), "channel": delivery.channel,
                "attempts": delivery.attempts, "error": delivery.error, "alert": alert.to_dict()}
        with self.dead_letter_path.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(line, allow_nan=False, default=str) + "\n")

    def rows(self, underlying: str | None = None, limit: int | None = None) -> list[dict[str, Any]]:
        """Logged alerts (of ``underlying``), newest snapshot first."""
        return _rows(self._conn, underlying, limit)


def _rows(conn: sqlite3.Connection, underlying: str | None, limit: int | None) -> list[dict[str, Any]]:
    query = "SELECT rule, snapshot_id, underlying, as_of, message, line, status, detail FROM alerts"
    params: list[Any] = []
    if underlying:
        query += " WHERE underlying = ?"
        params.append(underlying.upper())
    query += " ORDER BY as_of_ns DESC, rule"
    if limit is not None:
        query += " LIMIT ?"
        params.append(max(int(limit), 0))
    cur = conn.execute(query, params)
    cols = [d[0] for d in cur.description]
    return [dict(zip(cols, r, strict=True)) for r in cur.fetchall()]


def recent_alerts(data_dir: str | Path | None, underlying: str | None, limit: int = PAGE_ALERTS) -> list[str]:
    """The newest alerts of ``underlying`` as dated lines, for the page (read-only: nothing is created;
    none when no alert was ever logged)."""
    if not underlying:
        return []
    db = state_dir(data_dir) / SENT_LOG_NAME
    if not db.is_file():
        return []
    try:
        conn = sqlite3.connect(f"{db.as_uri()}?mode=ro", uri=True, timeout=_BUSY_TIMEOUT_S)
        try:
            rows = _rows(conn, underlying, limit)
        finally:
            conn.close()
    except sqlite3.Error as err:
        log.warning("cannot read the alert log %s: %s", db, err)
        return []
    out = []
    for r in rows:
        note = " (not delivered: see the dead-letter log)" if r["status"] == "failed" else ""
        out.append(r["line"] + note)
    return out


# --------------------------------------------------------------------------- the use case


@dataclass(frozen=True)
class Sent:
    """One alert and what became of it: ``delivered``, ``failed``, ``logged`` (no channel),
    ``duplicate`` (its rule already fired for its snapshot) or ``dry-run``."""

    alert: Alert
    status: str
    deliveries: tuple[notify.Delivery, ...] = ()


def alerts_for(catalog: Catalog, entry: CatalogEntry, rules: Rules, store: HistoryStore) -> list[Alert]:
    """The alerts ``entry`` fires against its comparable previous snapshot (none without one)."""
    previous = service.find_previous(catalog, entry).entry
    if previous is None:
        return []
    current_summary = store.get_or_compute(entry.path)
    previous_summary = store.get_or_compute(previous.path)
    if current_summary is None or previous_summary is None:
        return []
    fired = evaluate(current_summary, previous_summary, rules, str(entry.id), previous_id=str(previous.id))
    # the catalog's times keep the snapshot's time zone (the store's keep its UTC offset only)
    return [dataclasses.replace(a, as_of=entry.as_of or a.as_of, previous_as_of=previous.as_of or a.previous_as_of)
            for a in fired]


def newest_snapshots(catalog: Catalog, data_dir: str | Path | None) -> list[CatalogEntry]:
    """Each underlying's newest readable snapshot inside the data folder (files dropped into a
    read-only page's session are not the desk's snapshots)."""
    root = service.resolve_data_dir(data_dir).expanduser().resolve()
    out = []
    for underlying in catalog.underlyings():
        entry = next((e for e in catalog.snapshots(underlying) if Path(e.path).resolve().is_relative_to(root)), None)
        if entry is not None:
            out.append(entry)
    return out


def deliver(alerts: Iterable[Alert], cfg: AlertsConfig, alert_log: AlertLog, *, attempts: int, backoff_s: float,
            sleep: Callable[[float], None] = time.sleep) -> list[Sent]:
    """Claim each alert in the sent-log and send the ones this call claimed through every channel."""
    out = []
    for alert in alerts:
        if not alert_log.claim(alert):
            out.append(Sent(alert, "duplicate"))
            continue
        subject = f"[mmpos] {alert.underlying} {alert.rule.replace('_', ' ')}"
        deliveries = tuple(notify.send_with_retries(channel, subject, alert_line(alert), attempts=attempts,
                                                    backoff_s=backoff_s, sleep=sleep) for channel in cfg.channels)
        for d in deliveries:
            if not d.delivered:
                alert_log.dead_letter(alert, d)
                log.warning("alert %s of %s not delivered via %s after %d tries: %s", alert.rule, alert.snapshot_id,
                            d.channel, d.attempts, d.error)
        status = "logged" if not deliveries else "delivered" if all(d.delivered for d in deliveries) else "failed"
        detail = "; ".join(f"{d.channel}: {'ok' if d.delivered else d.error} ({d.attempts} tries)" for d in deliveries)
        alert_log.finish(alert, status, detail or None)
        out.append(Sent(alert, status, deliveries))
    return out


def check(data_dir: str | Path | None, cfg: AlertsConfig, settings: config.Settings, *, dry_run: bool = False,
          entries: Iterable[CatalogEntry] | None = None, sleep: Callable[[float], None] = time.sleep) -> list[Sent]:
    """Evaluate the newest snapshot of each underlying (or ``entries``) and send what fires.

    With ``dry_run`` nothing is claimed, logged or sent: the alerts that would fire are returned as
    ``dry-run`` (whether or not they were sent before).
    """
    catalog = service.get_catalog(data_dir)
    root = service.resolve_data_dir(data_dir)
    chosen = list(entries) if entries is not None else newest_snapshots(catalog, data_dir)
    alerts: list[Alert] = []
    with HistoryStore(root) as store:
        for entry in chosen:
            try:
                alerts += alerts_for(catalog, entry, cfg.rules, store)
            except ChainDataError as err:
                log.info("no alerts for %s: %s", entry.id, err)
    if dry_run:
        return [Sent(a, "dry-run") for a in alerts]
    with AlertLog(state_dir(data_dir)) as alert_log:
        return deliver(alerts, cfg, alert_log, attempts=settings.alerts_attempts, backoff_s=settings.alerts_backoff_s,
                       sleep=sleep)


# --------------------------------------------------------------------------- in the server


@dataclass
class AlertWatcher:
    """Checks each underlying's newest snapshot once per file version (one thread per worker process)."""

    data_dir: str | Path | None
    cfg: AlertsConfig
    settings: config.Settings
    interval_s: float = 2.0
    seen: set[tuple[str, FileVersion | None]] = field(default_factory=set)
    stop: threading.Event = field(default_factory=threading.Event)

    def pass_once(self) -> list[Sent]:
        """Look at the catalog once and check the snapshots not seen yet."""
        try:
            catalog = service.get_catalog(self.data_dir)
        except ChainDataError:
            return []  # the folder is missing: /readyz says so; look again later
        new = []
        for entry in newest_snapshots(catalog, self.data_dir):
            key = service.entry_key(entry)
            if key not in self.seen:
                self.seen.add(key)
                new.append(entry)
        if not new:
            return []
        try:
            return check(self.data_dir, self.cfg, self.settings, entries=new)
        except (OSError, sqlite3.Error) as err:  # the state folder cannot be written: say so, keep serving
            log.error("alerts not checked: %s", err)
            return []

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                self.pass_once()
            except Exception:  # noqa: BLE001 - an alert failure must never stop the thread or the server
                log.exception("checking alerts failed")
            self.stop.wait(self.interval_s)


def start(settings: config.Settings) -> AlertWatcher | None:
    """Start this process's alert thread (a daemon) when ``MMPOS_ALERTS_FILE`` is set; a bad file is
    logged in one line and no alert is checked (the page keeps serving)."""
    if settings.alerts_file is None:
        return None
    try:
        cfg = load_config(settings.alerts_file)
    except AlertConfigError as err:
        log.error("alerts off: %s", err)
        return None
    watcher = AlertWatcher(settings.data_dir, cfg, settings, interval_s=max(1.0, settings.rescan_s))
    threading.Thread(target=watcher.run, name="mmpos-alerts", daemon=True).start()
    return watcher
