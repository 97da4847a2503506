"""The data catalog: which snapshots (underlying x time) a data directory holds, and a cached loader.

:func:`scan_catalog` walks a directory (README files, the ADV config and dotfiles skipped), detects and loads every
file once, and describes it as a :class:`CatalogEntry`: a chain snapshot, a positions ("book") file, or
a broken file with the reason it failed. A clean canonical Parquet table is not loaded: its facts are read
from Arrow (:func:`analytics.catalog_files.quick_facts`, ~8 ms against ~40 ms for the load), the same
entry as the load gives; its chain is loaded when first asked for. One bad file never hides the others: every file is read under
its own guard (an unreadable file, a folder that cannot be listed, a parser crash all become a broken
entry), and links that point outside the data folder are refused without being opened. Every read of
a folder's file is confined to that folder (:func:`analytics.sources.common.confined_to`): a link
pointed outside between a scan and a read is refused at the read, checked on the opened descriptor.

A broken entry's reason is safe to show to anyone who can see the page: it names the file relative to
the data folder (:attr:`CatalogEntry.rel`), never an absolute path, and quoted excerpts of the file
(``unknown format (a JSON object, starts '...')``, ``not a number ('...')``) are redacted, so a stray key
file or a link to ``/etc/passwd`` cannot leak through a banner (what an unknown file's start looks like is
said in words: :func:`analytics.sources.describe_start`). :meth:`Catalog.broken_summary` caps the list.

Ids are stable across rescans and independent of the order files are found in:
``<underlying>-<YYYYmmdd>-<HHMM>`` in the snapshot's own time zone (``spx-20261120-1615``); when two
files share that, the one whose relative path sorts first keeps the plain id and the others get
``-<6 hex of sha1(relative path)>``. Books and broken files get an id from their relative path
(``book-spx-book-demo-csv``, ``file-notes-txt``).

Freshness is keyed on the file's content version, :class:`FileVersion` (size, ``mtime_ns``, inode,
``ctime_ns``): a file replaced with its modification time kept (``cp -p``, ``rsync -t``) still changes
its ctime (or inode) and is read again. Loading is cached per process: the last ``CACHE_SIZE`` good
files, and up to ``ERROR_CACHE_SIZE`` broken ones apart (thousands of junk files never evict the
chains). Nothing is written to disk, so gunicorn workers each keep their own cache safely. Cached
chains are shared: treat them as read-only (``OptionChain`` is frozen; never modify its ``rows`` in
place, use ``chain.with_rows``/``select`` which copy).

:class:`CatalogHolder` (one per folder and process, from :func:`holder_for`) is what a server asks on
every request: it returns the last scan, and rescans at most every ``RESCAN_INTERVAL_S`` seconds,
reusing the description of every file whose version did not change (a rescan of 20,000 files is
20,000 ``stat`` calls, no reads). Only the very first scan makes callers wait.

The catalog is cut by concept: :mod:`analytics.catalog_entries` (what a catalog holds),
:mod:`analytics.catalog_files` (file versions and the cached loader), :mod:`analytics.catalog_scan`
(walking a folder into entries, ids, public reasons) and this module (the default folder, the holder a
server asks, resolving an id or path); every public name stays importable from here.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

from analytics.catalog_entries import (
    BOOK_FORMAT,
    MAX_BROKEN_SHOWN,
    BrokenSummary,
    Catalog,
    CatalogEntry,
    FileVersion,
    file_version,
    format_catalog,
)
from analytics.catalog_files import (
    CACHE_SIZE,
    ERROR_CACHE_SIZE,
    CacheInfo,
    cache_info,
    clear_cache,
    load_book_cached,
    load_entry,
    load_path_cached,
)
from analytics.catalog_scan import (
    DATA_DIR_ENV,
    MAX_FILES,
    MAX_REASON_CHARS,
    data_files,
    default_data_dir,
    public_reason,
    resolve_data_dir,
    scan_catalog,
)
from analytics.errors import ChainDataError
from analytics.locks import ForkSafeLock

__all__ = [
    "BOOK_FORMAT", "CACHE_SIZE", "DATA_DIR_ENV", "ERROR_CACHE_SIZE", "MAX_BROKEN_SHOWN", "MAX_FILES",
    "MAX_REASON_CHARS", "MIN_NAMED_RESCAN_S", "RESCAN_INTERVAL_S", "BrokenSummary", "CacheInfo", "Catalog",
    "CatalogEntry", "CatalogHolder", "FileVersion", "cache_info", "clear_cache", "data_files", "default_data_dir", "resolve_data_dir",
    "file_version", "forget_holders", "format_catalog", "holder_for", "load_book_cached", "load_entry",
    "load_path_cached", "public_reason", "resolve", "scan_catalog",
]

RESCAN_INTERVAL_S = 2.0
MIN_NAMED_RESCAN_S = 0.25  # a request naming an id the last scan lacks rescans now, at most this often


# --------------------------------------------------------------------------- the holder a server asks


class CatalogHolder:
    """The catalog of one folder as a server needs it: cheap to ask on every request, thread-safe.

    :meth:`get` returns the last scan while it is younger than ``interval_s``; after that the next
    caller rescans (reusing every unchanged file, see :func:`scan_catalog`) while concurrent callers
    keep getting the previous catalog instead of waiting. Only the first scan blocks.

    Parameters
    ----------
    data_dir : path-like
        The folder (resolved once).
    interval_s : float
        Minimum seconds between two rescans (0 rescans on every call).
    clock : callable
        Monotonic seconds (a test passes a fake clock).
    """

    def __init__(self, data_dir: str | Path, interval_s: float = RESCAN_INTERVAL_S,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.data_dir = Path(data_dir).expanduser().resolve()
        self.interval_s = float(interval_s)
        self._clock = clock
        self._lock = ForkSafeLock()  # held through a rescan: a job forked meanwhile gets it free
        self._catalog: Catalog | None = None
        self._error: ChainDataError | None = None
        self._checked_at: float | None = None
        self.scans = 0

    def _due(self) -> bool:
        return self._checked_at is None or self._clock() - self._checked_at >= self.interval_s

    def _rescan(self) -> None:
        try:
            self._catalog = scan_catalog(self.data_dir, previous=self._catalog)
            self._error = None
        except ChainDataError as exc:
            self._catalog, self._error = None, exc
        self.scans += 1
        self._checked_at = self._clock()

    def get(self) -> Catalog:
        """The current catalog (rescanned first when due).

        Raises
        ------
        ChainDataError
            The folder is missing or not a directory (as of the last scan).
        """
        if self._due():
            first = self._checked_at is None
            if self._lock.acquire(blocking=first):  # later rescans: whoever is first does it, others move on
                try:
                    if self._due():
                        self._rescan()
                finally:
                    self._lock.release()
        catalog, error = self._catalog, self._error
        if catalog is None:
            raise ChainDataError(error.reason if error else "data directory not scanned yet", path=self.data_dir)
        return catalog

    def get_naming(self, entry_id: str | None) -> Catalog:
        """The current catalog, rescanned now when it lacks ``entry_id`` (a file another process, e.g.
        another gunicorn worker's upload, just added) and the last scan is at least
        ``MIN_NAMED_RESCAN_S`` old: the request that names a new snapshot sees it. An id that names
        nothing costs at most one rescan per ``MIN_NAMED_RESCAN_S`` (unchanged files are not read again).
        """
        if not entry_id:
            return self.get()
        return self.get_having(lambda catalog: catalog.get(entry_id) is not None)

    def get_having(self, has: Callable[[Catalog], bool], *, wait: bool = False) -> Catalog:
        """The current catalog, rescanned now when ``has(catalog)`` is false and the last scan is at least
        ``MIN_NAMED_RESCAN_S`` old: a request about files the scan has not seen yet (a snapshot another
        worker stored, a file the history store already summarised) sees them. With ``wait``, a scan
        younger than that is waited out (at most ``MIN_NAMED_RESCAN_S``) and the folder rescanned: for a
        caller that knows the files are there, whose answer would otherwise stay wrong."""
        catalog = self.get()
        if has(catalog):
            return catalog
        with self._lock:
            age = None if self._checked_at is None else self._clock() - self._checked_at
            if wait and age is not None and age < MIN_NAMED_RESCAN_S:
                time.sleep(MIN_NAMED_RESCAN_S - age)
                age = MIN_NAMED_RESCAN_S
            if age is None or age >= MIN_NAMED_RESCAN_S:
                self._rescan()
        return self.get()

    def readiness(self) -> tuple[bool, str]:
        """(ready, reason): the folder can be listed and a catalog is loaded (for ``/readyz``)."""
        try:
            catalog = self.get()
        except ChainDataError as exc:
            return False, exc.reason
        if not os.access(self.data_dir, os.R_OK | os.X_OK):
            return False, "data directory not readable"
        return True, f"{len(catalog.snapshots())} snapshot(s), {len(catalog.broken())} broken file(s)"

    def refresh(self) -> Catalog:
        """Rescan now, whatever the timer says (tests, an admin action)."""
        with self._lock:
            self._rescan()
        return self.get()


_HOLDERS: dict[str, CatalogHolder] = {}
_HOLDERS_LOCK = ForkSafeLock()


def holder_for(data_dir: str | Path | None = None, interval_s: float | None = None) -> CatalogHolder:
    """This process's :class:`CatalogHolder` for ``data_dir`` (default :func:`default_data_dir`).

    One holder per resolved folder and process, created on first use with ``interval_s`` (default
    ``RESCAN_INTERVAL_S``); a later call that passes ``interval_s`` sets the holder's interval.
    """
    key = str(resolve_data_dir(data_dir).resolve())
    with _HOLDERS_LOCK:
        holder = _HOLDERS.get(key)
        if holder is None:
            holder = _HOLDERS[key] = CatalogHolder(key, RESCAN_INTERVAL_S if interval_s is None else interval_s)
        elif interval_s is not None:
            holder.interval_s = float(interval_s)
        return holder


def forget_holders() -> None:
    """Drop every holder of this process (tests; ``clear_caches``)."""
    with _HOLDERS_LOCK:
        _HOLDERS.clear()


def resolve(id_or_path: str | Path, data_dir: str | Path | None = None) -> Path:
    """Turn a catalog id or a file path into a file path.

    A path that exists (as given, or relative to ``data_dir``) wins; otherwise the argument is
    looked up as a catalog id of ``data_dir``.

    Raises
    ------
    ChainDataError
        Neither a file nor a known id (the message lists some ids).
    """
    candidate = Path(id_or_path).expanduser()
    root = resolve_data_dir(data_dir)
    for p in (candidate, root / candidate):
        if p.is_file():
            return p.resolve()
    text = str(id_or_path)
    if root.is_dir():
        catalog = scan_catalog(root)
        entry = catalog.get(text)
        if entry is not None:
            return entry.path
        known = ", ".join(e.id for e in catalog.snapshots()[:6]) or "none"
        raise ChainDataError(f"no such file or catalog id {text!r} in {root} (ids: {known})")
    raise ChainDataError(f"no such file {text!r}, and no data directory {root} to look up an id in")
