"""The history store: one summary per snapshot file, kept beside the data so history views are instant.

Each chain snapshot of a data folder is summarised once (spot, total GEX, every zero-gamma level, the
top three call and put walls, hedge flows for +-1/2/5% moves, dealer delta, net vega, ATM IV and net
vega per expiry, and net GEX by strike) and kept in an embedded store:

* ``<data>/.mmpos/history.sqlite`` (stdlib :mod:`sqlite3`, nothing to start) holds one row per file:
  its version, whether it is a snapshot, and the summary's scalars and small lists (JSON text);
* ``<data>/.mmpos/strikes/<key>.parquet`` holds each snapshot's call/put/net GEX by strike.

The catalog (and every loader) skips dotted names, so the store never shows up as data.

A file version is ``size:mtime_ns:inode:ctime_ns`` of the file (relative path as the key): editing,
touching, replacing or renaming a file over another changes it, and the summary is recomputed the next
time it is asked for (:meth:`HistoryStore.sync`, called by every query). Files that vanished are
pruned. Files that are not snapshots (positions files, broken files) are remembered with their reason
so they are not re-read on every query.

The store is never a source of truth: everything in it is recomputed from the data files. A
corrupt database file is moved aside (``history.sqlite.corrupt-<n>``) and rebuilt, a database of
another schema version is dropped and rebuilt, a missing Parquet file is recomputed. With
``$MMPOS_STATE_DIR`` set, the store lives there instead (one subfolder per data folder): the way to
keep a history for a read-only data folder. Without it, a folder that cannot be written keeps the
store in memory for the process, and :attr:`HistoryStore.note` says so.

Only one process should write at a time in a batch (``mmpos backfill`` computes in workers and
writes from the parent); concurrent lazy fills from dashboard workers are safe (SQLite locks, Parquet
files are written to a temporary name and renamed) but may compute the same summary twice.

All analysis goes through :func:`analytics.summary.summarize_chain`, the one place the store calls
:func:`analytics.report.analyze` (with its defaults: every live expiry, the default convention).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import math
import os
import socket
import sqlite3
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from analytics.errors import ChainDataError
from analytics.history_window import HistoryWindow, StrikeMatrix, levels_frame, strike_matrix, term_frame
from analytics.summary import STRIKE_COLUMNS, Outcome, Summary, summarize_file

STATE_DIR_ENV = "MMPOS_STATE_DIR"
STORE_DIRNAME = ".mmpos"
DB_NAME = "history.sqlite"
STRIKES_DIRNAME = "strikes"
#: Bump when the summary's content or the analysis behind it changes: the store rebuilds itself.
SCHEMA_VERSION = 4  # 4: the session and the 0DTE expiries' GEX by strike (issue 19); 3: issue 16
_BUSY_TIMEOUT_S = 30.0
#: a backfill whose progress row was not updated for this long is taken as dead (killed, machine lost)
BACKFILL_STALE_SECONDS = 120.0

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS files (
    rel_path TEXT PRIMARY KEY,
    version TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('snapshot', 'skipped')),
    reason TEXT,
    underlying TEXT,
    as_of TEXT,
    as_of_ns INTEGER,
    spot REAL,
    convention TEXT,
    total_gex_usd_per_1pct REAL,
    dealer_delta_units REAL,
    net_vega_usd_per_vol_pt REAL,
    zero_gamma_levels TEXT,
    call_walls TEXT,
    put_walls TEXT,
    hedge_flows TEXT,
    term TEXT,
    strikes_file TEXT,
    session TEXT,
    zero_dte_expiries TEXT
);
CREATE INDEX IF NOT EXISTS files_by_underlying ON files (underlying, as_of_ns);
CREATE INDEX IF NOT EXISTS files_by_session ON files (underlying, session, as_of_ns);
CREATE TABLE IF NOT EXISTS backfill (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    pid INTEGER NOT NULL,
    host TEXT NOT NULL,
    started_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    done INTEGER NOT NULL,
    total INTEGER NOT NULL,
    finished INTEGER NOT NULL
);
"""


#: the ``files`` table's columns, in the order :meth:`HistoryStore.put` writes them
_COLUMNS: tuple[str, ...] = (
    "rel_path", "version", "status", "reason", "underlying", "as_of", "as_of_ns", "spot", "convention",
    "total_gex_usd_per_1pct", "dealer_delta_units", "net_vega_usd_per_vol_pt", "zero_gamma_levels", "call_walls",
    "put_walls", "hedge_flows", "term", "strikes_file", "session", "zero_dte_expiries",
)


# --------------------------------------------------------------------------- file versions


class StoredVersion(NamedTuple):
    """One version of one data file: its path relative to the data folder and a version string."""

    rel_path: str
    path: Path
    version: str

    @property
    def root(self) -> Path:
        """The data folder (``path`` less ``rel_path``): where every read of the file is confined."""
        return self.path.parents[len(Path(self.rel_path).parts) - 1]


def data_files(data_dir: Path) -> list[Path]:
    """The files the catalog would look at (README files and dotted names skipped), sorted."""
    from analytics.catalog import data_files as catalog_files  # the catalog owns the rule

    return sorted(catalog_files(data_dir))


def file_version(path: Path, data_dir: Path) -> StoredVersion:
    """``size:mtime_ns:inode:ctime_ns`` of ``path`` (the catalog's :class:`~analytics.catalog.FileVersion`
    as text); raises OSError when it vanished."""
    from analytics.catalog import FileVersion

    v = FileVersion.of(path.stat())
    return StoredVersion(path.relative_to(data_dir).as_posix(), path, ":".join(str(x) for x in v))


def _strikes_name(rel_path: str, version: str) -> str:
    return hashlib.sha1(f"{rel_path}\0{version}".encode()).hexdigest()[:20] + ".parquet"


# --------------------------------------------------------------------------- the store


def _finite_or_none(x: float) -> float | None:
    return float(x) if math.isfinite(x) else None


def _dumps(value: Any) -> str:
    """JSON with NaN as null (strict JSON; :func:`_floats` turns null back into NaN)."""

    def clean(v: Any) -> Any:
        if isinstance(v, (list, tuple)):
            return [clean(x) for x in v]
        if isinstance(v, float):
            return _finite_or_none(v)
        return v

    return json.dumps(clean(value), separators=(",", ":"), allow_nan=False)


def _floats(v: Any) -> Any:
    if isinstance(v, list):
        return tuple(_floats(x) for x in v)
    return float("nan") if v is None else v


def default_store_dir(data_dir: Path) -> Path:
    """``<data>/.mmpos``, or ``$MMPOS_STATE_DIR/<data folder name>-<hash>`` when that variable is set."""
    env = os.environ.get(STATE_DIR_ENV, "").strip()
    if env:
        tag = hashlib.sha1(str(data_dir).encode()).hexdigest()[:10]
        return Path(env).expanduser() / f"{data_dir.name or 'data'}-{tag}"
    return data_dir / STORE_DIRNAME


def _writable_dir(path: Path) -> bool:
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path, prefix=".probe-"):
            pass
        return True
    except OSError:
        return False


@dataclass(frozen=True)
class BackfillProgress:
    """How far the last ``mmpos backfill`` of a store got, as it keeps the store's one progress row.

    Attributes
    ----------
    pid, host : int, str
        The backfilling process and its machine.
    started_at, updated_at : float
        Seconds since the epoch: when it started, when it last stored a file (or started).
    done, total : int
        Files stored so far, files it set out to summarise.
    finished : bool
        It ended (all done, interrupted or failed: it says so on its way out).
    """

    pid: int
    host: str
    started_at: float
    updated_at: float
    done: int
    total: int
    finished: bool = False

    @classmethod
    def start(cls, total: int, now: float) -> BackfillProgress:
        """The row of a backfill of ``total`` files starting now, in this process."""
        return cls(pid=os.getpid(), host=socket.gethostname(), started_at=now, updated_at=now, done=0, total=total)

    def is_running(self, now: float, stale_after: float = BACKFILL_STALE_SECONDS) -> bool:
        """Still going: not finished, updated within ``stale_after`` seconds of ``now`` and, when it runs
        on this machine, its process still alive (a killed backfill never says it finished).

        Examples
        --------
        >>> p = BackfillProgress(pid=1, host="elsewhere", started_at=0.0, updated_at=100.0, done=3, total=9)
        >>> p.is_running(150.0), p.is_running(100.0 + BACKFILL_STALE_SECONDS + 1), p.is_running(150.0, 10.0)
        (True, False, False)
        """
        if self.finished or now - self.updated_at > stale_after:
            return False
        return self.host != socket.gethostname() or _pid_alive(self.pid)


def _pid_alive(pid: int) -> bool:
    """Whether a process of this id exists on this machine."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    except OSError:
        return False
    return True


class HistoryStore:
    """The summaries of one data folder's snapshots, filled lazily and kept up to date with the files.

    Parameters
    ----------
    data_dir : path-like
        The data folder (its files are the truth).
    store_dir : path-like, optional
        Where the store lives; default :func:`default_store_dir`. When it cannot be written the store
        is kept in memory and :attr:`note` says why.
    """

    def __init__(self, data_dir: str | Path, store_dir: str | Path | None = None) -> None:
        self.data_dir = Path(data_dir).expanduser().resolve()
        if not self.data_dir.is_dir():
            raise ChainDataError("data directory not found (set --data-dir or MMPOS_DATA_DIR)", path=self.data_dir)
        wanted = Path(store_dir).expanduser() if store_dir is not None else default_store_dir(self.data_dir)
        self.note: str | None = None
        if _writable_dir(wanted):
            self.store_dir: Path | None = wanted
            self.db_path: str = str(wanted / DB_NAME)
            (wanted / STRIKES_DIRNAME).mkdir(exist_ok=True)
        else:
            self.store_dir = None
            self.db_path = ":memory:"
            self.note = (f"cannot write the history store at {wanted}: kept in memory for this process "
                         f"(set {STATE_DIR_ENV} to a writable folder to keep it)")
        self._memory_strikes: dict[str, np.ndarray] = {}
        self._conn = self._open()

    # ---- opening, and rebuilding what is broken

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.db_path, timeout=_BUSY_TIMEOUT_S, isolation_level=None)
        conn.execute("PRAGMA foreign_keys=OFF")
        return conn

    def _open(self) -> sqlite3.Connection:
        conn = self._connect()
        try:
            self._ensure_schema(conn)
            return conn
        except sqlite3.DatabaseError:
            conn.close()
            self._move_aside()
            conn = self._connect()
            self._ensure_schema(conn)
            return conn

    def _ensure_schema(self, conn: sqlite3.Connection) -> None:
        conn.execute("PRAGMA quick_check").fetchall()  # raises DatabaseError on a file that is not a database
        conn.executescript(_SCHEMA)
        row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        if row is None or row[0] != str(SCHEMA_VERSION):
            with conn:
                conn.execute("BEGIN IMMEDIATE")
                conn.execute("DROP TABLE IF EXISTS files")  # its columns may differ: made again below
            conn.executescript(_SCHEMA)
            with conn:
                conn.execute("BEGIN IMMEDIATE")
                conn.execute("INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
            self._remove_orphan_strikes(conn)

    def _move_aside(self) -> None:
        """A database file SQLite cannot read: keep it for inspection and start a new one."""
        if self.store_dir is None:
            return
        db = Path(self.db_path)
        n = 1
        while db.with_name(f"{db.name}.corrupt-{n}").exists():
            n += 1
        os.replace(db, db.with_name(f"{db.name}.corrupt-{n}"))
        for suffix in ("-journal", "-wal", "-shm"):
            with contextlib.suppress(FileNotFoundError):
                db.with_name(db.name + suffix).unlink()
        self.note = f"the history store was unreadable: moved aside to {db.name}.corrupt-{n} and rebuilt"

    def close(self) -> None:
        """Close the database connection."""
        self._conn.close()

    def __enter__(self) -> HistoryStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- per-strike arrays

    def _write_strikes(self, name: str, summary: Summary) -> None:
        array = np.column_stack([summary.strikes, summary.strike_gex]) if len(summary.strikes) else np.zeros((0, len(STRIKE_COLUMNS) + 1))
        if self.store_dir is None:
            self._memory_strikes[name] = array
            return
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = pa.table({col: array[:, i] for i, col in enumerate(("strike", *STRIKE_COLUMNS))})
        folder = self.store_dir / STRIKES_DIRNAME
        folder.mkdir(exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".tmp-", suffix=".parquet", delete=False) as fh:
            tmp = Path(fh.name)
        try:
            pq.write_table(table, tmp, compression="zstd")
            os.replace(tmp, folder / name)
        finally:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()

    def _read_strikes(self, name: str) -> np.ndarray | None:
        """The ``(n, 4)`` array (strike, call, put, net) or None when missing or unreadable."""
        if self.store_dir is None:
            return self._memory_strikes.get(name)
        import pyarrow.parquet as pq

        try:
            table = pq.read_table(self.store_dir / STRIKES_DIRNAME / name)
            return np.column_stack([table.column(c).to_numpy() for c in ("strike", *STRIKE_COLUMNS)])
        except (OSError, KeyError, ValueError):  # missing, truncated or foreign file: recompute
            return None

    def _has_strikes(self, name: str) -> bool:
        if self.store_dir is None:
            return name in self._memory_strikes
        return (self.store_dir / STRIKES_DIRNAME / name).is_file()

    def _remove_strikes(self, name: str | None) -> None:
        if not name:
            return
        if self.store_dir is None:
            self._memory_strikes.pop(name, None)
            return
        with contextlib.suppress(FileNotFoundError):
            (self.store_dir / STRIKES_DIRNAME / name).unlink()

    def _remove_orphan_strikes(self, conn: sqlite3.Connection) -> None:
        if self.store_dir is None:
            self._memory_strikes.clear()
            return
        keep = {r[0] for r in conn.execute("SELECT strikes_file FROM files WHERE strikes_file IS NOT NULL")}
        for path in (self.store_dir / STRIKES_DIRNAME).glob("*.parquet"):
            if path.name not in keep:
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()

    # ---- writing

    def put(self, fv: StoredVersion, outcome: Outcome) -> None:
        """Record one file version's outcome (a summary, or why it is not a snapshot)."""
        old = self._conn.execute("SELECT strikes_file FROM files WHERE rel_path = ?", (fv.rel_path,)).fetchone()
        s = outcome.summary
        values: tuple[Any, ...]
        if s is None:
            values = (fv.rel_path, fv.version, "skipped", outcome.reason) + (None,) * (len(_COLUMNS) - 4)
        else:
            name = _strikes_name(fv.rel_path, fv.version)
            self._write_strikes(name, s)
            values = (
                fv.rel_path, fv.version, "snapshot", None, s.underlying, s.as_of.isoformat(), int(s.as_of.value),
                s.spot, s.convention, s.total_gex_usd_per_1pct, s.dealer_delta_units, s.net_vega_usd_per_vol_pt,
                _dumps(s.zero_gamma_levels), _dumps(s.call_walls), _dumps(s.put_walls), _dumps(s.hedge_flows),
                _dumps(s.term), name, s.session, _dumps(s.zero_dte_expiries),
            )
        with self._conn:
            self._conn.execute("BEGIN IMMEDIATE")
            self._conn.execute(f"INSERT OR REPLACE INTO files ({','.join(_COLUMNS)}) "
                               f"VALUES ({','.join('?' * len(_COLUMNS))})", values)
        if old is not None and old[0] != values[_COLUMNS.index("strikes_file")]:
            self._remove_strikes(old[0])

    def record_backfill(self, progress: BackfillProgress) -> None:
        """Keep ``progress`` as the store's one backfill row (the page reads it, see :meth:`backfill`)."""
        p = progress
        with self._conn:
            self._conn.execute("BEGIN IMMEDIATE")
            self._conn.execute("INSERT OR REPLACE INTO backfill VALUES (1, ?, ?, ?, ?, ?, ?, ?)",
                               (p.pid, p.host, p.started_at, p.updated_at, p.done, p.total, int(p.finished)))

    def backfill(self) -> BackfillProgress | None:
        """The last backfill's progress row, or None when no backfill ever ran on this store."""
        row = self._conn.execute("SELECT pid, host, started_at, updated_at, done, total, finished FROM backfill"
                                 ).fetchone()
        if row is None:
            return None
        pid, host, started_at, updated_at, done, total, finished = row
        return BackfillProgress(pid, host, started_at, updated_at, done, total, finished=bool(finished))

    def _forget(self, rel_paths: Iterable[str]) -> None:
        rel_paths = list(rel_paths)
        if not rel_paths:
            return
        names = []
        with self._conn:
            self._conn.execute("BEGIN IMMEDIATE")
            for rel in rel_paths:
                row = self._conn.execute("SELECT strikes_file FROM files WHERE rel_path = ?", (rel,)).fetchone()
                if row is not None:
                    names.append(row[0])
                self._conn.execute("DELETE FROM files WHERE rel_path = ?", (rel,))
        for name in names:
            self._remove_strikes(name)

    # ---- keeping up with the folder

    def stale(self) -> list[StoredVersion]:
        """Files whose current version has no record yet (new or changed), sorted by relative path.

        Records of files that vanished are pruned on the way; a snapshot whose Parquet file is missing
        counts as stale.
        """
        current: dict[str, StoredVersion] = {}
        for path in data_files(self.data_dir):
            try:
                fv = file_version(path, self.data_dir)
            except OSError:  # vanished between listing and stat
                continue
            current[fv.rel_path] = fv
        known = {r[0]: (r[1], r[2], r[3]) for r in
                 self._conn.execute("SELECT rel_path, version, status, strikes_file FROM files")}
        self._forget(rel for rel in known if rel not in current)
        out = []
        for rel, fv in sorted(current.items()):
            record = known.get(rel)
            if record is None or record[0] != fv.version:
                out.append(fv)
            elif record[1] == "snapshot" and not self._has_strikes(record[2]):
                out.append(fv)
        return out

    def sync(self, compute: Callable[[list[StoredVersion]], Iterable[tuple[StoredVersion, Outcome]]] | None = None,
             ) -> int:
        """Summarise every new or changed file and record it; return how many were summarised.

        Parameters
        ----------
        compute : callable, optional
            Takes the stale file versions, yields ``(file version, outcome)`` pairs in any order (a
            process pool or a cluster; see :mod:`dashboard.backfill`). Default: one by one in this
            process, through the catalog's cached loader.
        """
        todo = self.stale()
        if not todo:
            return 0
        if compute is None:
            results: Iterable[tuple[StoredVersion, Outcome]] = ((fv, self.summarize(fv)) for fv in todo)
        else:
            results = compute(todo)
        n = 0
        for fv, outcome in results:
            self.put(fv, outcome)
            n += 1
        return n

    def get_or_compute(self, path: str | Path) -> Summary | None:
        """The summary of one data file, computed and stored if missing or stale (None if not a snapshot)."""
        path = Path(path).expanduser().resolve()
        try:
            fv = file_version(path, self.data_dir)
        except ValueError as exc:
            raise ChainDataError("not inside the data directory", path=path) from exc
        except OSError as exc:
            raise ChainDataError("no such file", path=path) from exc
        summary = self._summary_of(fv)
        if summary is not None:
            return summary
        outcome = self.summarize(fv)
        self.put(fv, outcome)
        return outcome.summary

    def summarize(self, fv: StoredVersion) -> Outcome:
        """:func:`summarize_file` of one of this folder's files, through the catalog's cached loader, every
        read confined to the folder."""
        from analytics.catalog import load_path_cached

        return summarize_file(fv.path, loader=functools.partial(load_path_cached, root=self.data_dir),
                              root=self.data_dir)

    def _summary_of(self, fv: StoredVersion) -> Summary | None:
        row = self._conn.execute("SELECT * FROM files WHERE rel_path = ? AND version = ? AND status = 'snapshot'",
                                 (fv.rel_path, fv.version)).fetchone()
        if row is None:
            return None
        cols = [d[0] for d in self._conn.execute("SELECT * FROM files LIMIT 0").description]
        return self._summary_from_row(dict(zip(cols, row, strict=True)))

    def _summary_from_row(self, r: dict[str, Any]) -> Summary | None:
        array = self._read_strikes(r["strikes_file"])
        if array is None:
            return None
        return Summary(
            underlying=r["underlying"], as_of=pd.Timestamp(r["as_of"]), spot=r["spot"], convention=r["convention"],
            total_gex_usd_per_1pct=r["total_gex_usd_per_1pct"], dealer_delta_units=r["dealer_delta_units"],
            net_vega_usd_per_vol_pt=r["net_vega_usd_per_vol_pt"],
            zero_gamma_levels=_floats(json.loads(r["zero_gamma_levels"])),
            call_walls=_floats(json.loads(r["call_walls"])), put_walls=_floats(json.loads(r["put_walls"])),
            hedge_flows=_floats(json.loads(r["hedge_flows"])), term=_floats(json.loads(r["term"])),
            strikes=array[:, 0].copy(), strike_gex=array[:, 1:].copy(), session=r["session"],
            zero_dte_expiries=tuple(json.loads(r["zero_dte_expiries"])),
        )

    # ---- reading (each query first brings the store up to date)

    def summaries(self, underlying: str | None = None, last_n: int | None = None, *,
                  refresh: bool = True) -> list[tuple[str, Summary]]:
        """``(relative path, summary)`` of the snapshots (of ``underlying``), oldest first, the last ``last_n``."""
        if refresh:
            self.sync()
        query = "SELECT * FROM files WHERE status = 'snapshot'"
        params: tuple[Any, ...] = ()
        if underlying:
            query += " AND upper(underlying) = ?"
            params = (underlying.upper(),)
        query += " ORDER BY as_of_ns DESC, rel_path"
        if last_n is not None:
            query += " LIMIT ?"
            params += (max(int(last_n), 0),)
        cur = self._conn.execute(query, params)
        return self._summaries_of(cur)[::-1]

    def _summaries_of(self, cur: sqlite3.Cursor) -> list[tuple[str, Summary]]:
        """``(relative path, summary)`` of each row a ``SELECT *`` over ``files`` returned, in its order
        (rows whose summary cannot be read back are left out)."""
        cols = [d[0] for d in cur.description]
        out = []
        for row in cur.fetchall():
            r = dict(zip(cols, row, strict=True))
            s = self._summary_from_row(r)
            if s is not None:
                out.append((r["rel_path"], s))
        return out

    def session_of(self, rel_path: str) -> str | None:
        """The stored session (ISO date) of one data file's summary, or None when it has none yet."""
        row = self._conn.execute("SELECT session FROM files WHERE rel_path = ? AND status = 'snapshot'",
                                 (rel_path,)).fetchone()
        return None if row is None else row[0]

    def session_summaries(self, underlying: str, session: str) -> list[tuple[str, Summary]]:
        """``(relative path, summary)`` of the stored snapshots of ``underlying`` in one session (ISO
        date, :attr:`Summary.session`), oldest first. Reads only what is stored (the caller fills it)."""
        cur = self._conn.execute("SELECT * FROM files WHERE status = 'snapshot' AND upper(underlying) = ? "
                                 "AND session = ? ORDER BY as_of_ns, rel_path", (underlying.upper(), session))
        return self._summaries_of(cur)

    def totals(self, *, refresh: bool = False) -> dict[str, list[tuple[pd.Timestamp, float]]]:
        """Total GEX (USD per 1% move) of every stored snapshot, by upper-cased underlying, oldest first:
        the watchlist's sparklines. One query over scalar columns; no strike file is read. With
        ``refresh=False`` (the default: a page never waits for a folder to be summarised) only what is
        stored is read."""
        if refresh:
            self.sync()
        out: dict[str, list[tuple[pd.Timestamp, float]]] = {}
        rows = self._conn.execute("SELECT upper(underlying), as_of, total_gex_usd_per_1pct FROM files "
                                  "WHERE status = 'snapshot' ORDER BY as_of_ns, rel_path")
        for underlying, as_of, total in rows:
            out.setdefault(underlying, []).append((pd.Timestamp(as_of), float(total) if total is not None else math.nan))
        return out

    def skipped(self) -> list[tuple[str, str]]:
        """``(relative path, reason)`` of the files that are not snapshots."""
        return list(self._conn.execute("SELECT rel_path, reason FROM files WHERE status = 'skipped' ORDER BY rel_path"))

    def history(self, underlying: str, last_n: int | None = None, *, refresh: bool = True) -> pd.DataFrame:
        """Key levels over time, one row per snapshot of ``underlying``, oldest first.

        Columns: ``as_of``, ``file``, ``spot``, ``convention``, ``total_gex_usd_per_1pct``,
        ``dealer_delta_units``, ``net_vega_usd_per_vol_pt``, ``zero_gamma_levels`` (a tuple each),
        ``call_wall``, ``put_wall`` (NaN when none), ``call_walls``/``put_walls`` (tuples of (strike,
        GEX)), and per shock ``hedge_flow_units_<+-n>pct``/``hedge_flow_usd_<+-n>pct`` (``_m5pct`` =
        -5%, ``_p5pct`` = +5%). With ``refresh=False`` (this and the other queries) only what is
        already stored is read.
        """
        return levels_frame(self.summaries(underlying, last_n, refresh=refresh))

    def strike_matrix(self, underlying: str, last_n: int | None = None, *, refresh: bool = True) -> StrikeMatrix:
        """Net GEX by strike x snapshot for ``underlying`` (the union of strikes; 0 where not listed)."""
        return strike_matrix([s for _, s in self.summaries(underlying, last_n, refresh=refresh)])

    def term_history(self, underlying: str, last_n: int | None = None, *, refresh: bool = True) -> pd.DataFrame:
        """Net vega and ATM IV per expiry over time (long format), oldest snapshot first.

        Columns: ``as_of``, ``file``, ``expiry`` (ISO date), ``days_to_expiry``, ``atm_iv`` (decimal,
        NaN where not interpolable), ``net_vega_usd_per_vol_pt``.
        """
        return term_frame(self.summaries(underlying, last_n, refresh=refresh))

    def window(self, underlying: str, last_n: int | None = None, *, refresh: bool = True) -> HistoryWindow:
        """The last ``last_n`` snapshots of ``underlying`` as the history views draw them, read once:
        :meth:`history`, :meth:`term_history` and :meth:`strike_matrix` of the same summaries."""
        items = self.summaries(underlying, last_n, refresh=refresh)
        levels = levels_frame(items)
        term = term_frame(items)
        return HistoryWindow(underlying=underlying, levels=levels.assign(snapshot_id=levels["file"]),
                             term=term.assign(snapshot_id=term["file"]),
                             matrix=strike_matrix([s for _, s in items]), note=self.note)


def open_store(data_dir: str | Path | None = None) -> HistoryStore:
    """The history store of ``data_dir`` (default: the catalog's default data folder)."""
    from analytics.catalog import resolve_data_dir

    return HistoryStore(resolve_data_dir(data_dir))
