"""The data catalog: which snapshots (underlying x time) a data directory holds, and a cached loader.

:func:`scan_catalog` walks a directory (README files, the ADV config and dotfiles skipped), detects and loads every
file once, and describes it as a :class:`CatalogEntry`: a chain snapshot, a positions ("book") file, or
a broken file with the reason it failed. One bad file never hides the others: every file is read under
its own guard (an unreadable file, a folder that cannot be listed, a parser crash all become a broken
entry), and links that point outside the data folder are refused without being opened. Every read of
a folder's file is confined to that folder (:func:`analytics.sources.common.confined_to`): a link
pointed outside between a scan and a read is refused at the read, checked on the opened descriptor.

A broken entry's reason is safe to show to anyone who can see the page: it names the file relative to
the data folder (:attr:`CatalogEntry.rel`), never an absolute path, and quoted excerpts of the file
(``unknown format (starts '...')``, ``not a number ('...')``) are redacted, so a stray key file or a
link to ``/etc/passwd`` cannot leak through a banner. :meth:`Catalog.broken_summary` caps the list.

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
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import re
import stat
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import NamedTuple, cast

import cachetools
import pandas as pd

from analytics.adv import ADV_FILE_NAME
from analytics.chain import OptionChain
from analytics.errors import ChainDataError
from analytics.fmt import format_stamp
from analytics.sources import detect_format, load_chain
from analytics.sources.book import load_book
from analytics.sources.common import confined_to
from analytics.trades import is_trades_name

CACHE_SIZE = 64
ERROR_CACHE_SIZE = 65_536
MAX_FILES = 50_000  # files described per scan; beyond, one broken entry says the rest were not scanned
MAX_BROKEN_SHOWN = 20  # broken files a summary lists by name (the rest are counted)
MAX_REASON_CHARS = 200
RESCAN_INTERVAL_S = 2.0
MIN_NAMED_RESCAN_S = 0.25  # a request naming an id the last scan lacks rescans now, at most this often
DATA_DIR_ENV = "MMPOS_DATA_DIR"
BOOK_FORMAT = "book"
# not chains: README files and the ADV config (analytics.adv), wherever they sit in the folder
_SKIP_NAMES = frozenset({"readme.md", "readme", "readme.txt", ADV_FILE_NAME})
_QUOTED = re.compile(r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"")
_REDACTED = "'…'"

log = logging.getLogger(__name__)


def default_data_dir() -> Path:
    """``$MMPOS_DATA_DIR`` if set, else the project's ``data/`` directory."""
    env = os.environ.get(DATA_DIR_ENV, "").strip()
    if env:
        return Path(env).expanduser()
    return Path(__file__).resolve().parents[1] / "data"


@dataclass(frozen=True)
class CatalogEntry:
    """One file of the data directory.

    Attributes
    ----------
    id : str
        Stable id (see the module docstring).
    path : pathlib.Path
        The file (absolute).
    format : str or None
        Detected format (:data:`analytics.sources.FORMATS`); None when detection failed.
    underlying : str or None
        Ticker, None for broken files.
    as_of : pandas.Timestamp or None
        Snapshot time (time-zone aware); None for books and broken files.
    spot : float or None
        Spot at ``as_of``.
    n_rows : int
        Live contract rows of the chain (positions for a book; 0 when broken).
    n_expiries : int
        Live expiry dates.
    error : str or None
        Why the file could not be loaded (line, field and reason, without the file name, with
        quoted file excerpts redacted); None when it loads.
    rel : str
        The file's path relative to the data directory (POSIX separators): what a banner shows.
    version : FileVersion or None
        The file version the entry describes (None for a folder or link that was refused).
    """

    id: str
    path: Path
    format: str | None
    underlying: str | None
    as_of: pd.Timestamp | None
    spot: float | None
    n_rows: int
    n_expiries: int
    error: str | None = None
    rel: str = ""
    version: FileVersion | None = None

    @property
    def root(self) -> Path:
        """The data folder the entry was scanned in (its reads are confined to it)."""
        depth = len(Path(self.rel).parts) if self.rel else 0
        return self.path.parents[depth - 1] if 0 < depth <= len(self.path.parents) else self.path.parent

    @property
    def broken(self) -> bool:
        """True when the file failed to load."""
        return self.error is not None

    @property
    def is_book(self) -> bool:
        """True for a positions (book) file."""
        return self.format == BOOK_FORMAT and not self.broken

    @property
    def is_snapshot(self) -> bool:
        """True for a chain snapshot that loads."""
        return not self.broken and not self.is_book


@dataclass(frozen=True)
class Catalog:
    """The files of one data directory: snapshots newest first, then books, then broken files."""

    data_dir: Path
    entries: tuple[CatalogEntry, ...]
    _by_id: dict[str, CatalogEntry] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_id", {e.id: e for e in self.entries})

    def __len__(self) -> int:
        return len(self.entries)

    def __iter__(self):
        return iter(self.entries)

    def underlyings(self) -> list[str]:
        """Underlyings with at least one good snapshot, sorted."""
        return sorted({e.underlying for e in self.entries if e.is_snapshot and e.underlying})

    def snapshots(self, underlying: str | None = None) -> list[CatalogEntry]:
        """Good snapshots (of ``underlying`` if given, case-insensitive), newest first."""
        want = underlying.upper() if underlying else None
        return [e for e in self.entries if e.is_snapshot and (want is None or (e.underlying or "").upper() == want)]

    def latest(self, underlying: str | None = None) -> CatalogEntry | None:
        """The newest good snapshot (of ``underlying`` if given), or None."""
        snaps = self.snapshots(underlying)
        return snaps[0] if snaps else None

    def get(self, entry_id: str) -> CatalogEntry | None:
        """The entry with this id, or None (ids of snapshots, books and broken files alike)."""
        return self._by_id.get(str(entry_id))

    def broken(self) -> list[CatalogEntry]:
        """Files that failed to load, by path."""
        return [e for e in self.entries if e.broken]

    def books(self) -> list[CatalogEntry]:
        """Positions (book) files, by path."""
        return [e for e in self.entries if e.is_book]

    def book_for(self, underlying: str) -> CatalogEntry | None:
        """The positions file for ``underlying`` (case-insensitive), or None.

        With several, the one whose relative path sorts first.
        """
        want = underlying.upper()
        return next((b for b in self.books() if (b.underlying or "").upper() == want), None)

    def broken_summary(self, limit: int = MAX_BROKEN_SHOWN) -> BrokenSummary:
        """The broken files capped at ``limit`` (by relative path), and how many more there are.

        Examples
        --------
        >>> BrokenSummary(shown=(), n_more=2997).more_text
        '2,997 more'
        """
        broken = self.broken()
        return BrokenSummary(
            shown=tuple((e.rel, e.error or "") for e in broken[: max(limit, 0)]),
            n_more=max(len(broken) - max(limit, 0), 0),
        )


@dataclass(frozen=True)
class BrokenSummary:
    """What a banner lists: ``shown`` as (relative path, reason) pairs, then ``n_more`` left unnamed."""

    shown: tuple[tuple[str, str], ...]
    n_more: int

    @property
    def total(self) -> int:
        return len(self.shown) + self.n_more

    @property
    def more_text(self) -> str:
        """``"2,997 more"``, or ``""`` when every broken file is shown."""
        return f"{self.n_more:,} more" if self.n_more else ""

    def lines(self) -> list[str]:
        """``"rel: reason"`` per shown file, then ``"... and 2,997 more"`` when capped."""
        out = [f"{rel}: {reason}" for rel, reason in self.shown]
        if self.n_more:
            out.append(f"... and {self.more_text}")
        return out


class FileVersion(NamedTuple):
    """What identifies one version of a file's content without reading it."""

    size: int
    mtime_ns: int
    inode: int
    ctime_ns: int

    @classmethod
    def of(cls, st: os.stat_result) -> FileVersion:
        return cls(st.st_size, st.st_mtime_ns, st.st_ino, st.st_ctime_ns)


def file_version(path: str | Path) -> FileVersion | None:
    """The :class:`FileVersion` of ``path`` (links followed), or None when it cannot be stat'ed.

    This is the cache key any layer above should use for "did this file change" (never the mtime
    alone: ``cp -p`` and ``rsync -t`` keep it).
    """
    try:
        return FileVersion.of(os.stat(path))
    except OSError:
        return None




# --------------------------------------------------------------------------- cached loading


class _FileKey(NamedTuple):
    path: str
    version: FileVersion
    root: str = ""  # the folder every read of the file is confined to ("": none, a file given by hand)


class _Loaded(NamedTuple):
    """What loading one file gave: a chain, a book, or an error (cached alike)."""

    format: str | None
    chain: OptionChain | None
    book: pd.DataFrame | None
    error: ChainDataError | None


class CacheInfo(NamedTuple):
    hits: int
    misses: int
    maxsize: int
    currsize: int


class _LoadCache:
    """Two bounded LRU maps (:class:`cachetools.LRUCache`) behind one lock: good files (few, large) and
    broken ones (many, tiny)."""

    def __init__(self, good_size: int, bad_size: int) -> None:
        self._good: cachetools.LRUCache[_FileKey, _Loaded] = cachetools.LRUCache(good_size)
        self._bad: cachetools.LRUCache[_FileKey, _Loaded] = cachetools.LRUCache(bad_size)
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def get(self, key: _FileKey) -> _Loaded:
        with self._lock:
            for store in (self._good, self._bad):
                found = store.get(key)  # a hit becomes the most recently used
                if found is not None:
                    self.hits += 1
                    return found
            self.misses += 1
        loaded = _load_uncached(key)  # outside the lock: two threads may load one file twice, never wait
        with self._lock:
            (self._bad if loaded.error is not None else self._good)[key] = loaded
        return loaded

    def info(self) -> CacheInfo:
        with self._lock:
            return CacheInfo(self.hits, self.misses, int(self._good.maxsize + self._bad.maxsize),
                             len(self._good) + len(self._bad))

    def clear(self) -> None:
        with self._lock:
            self._good.clear()
            self._bad.clear()
            self.hits = self.misses = 0


def _file_key(path: str | Path, root: str | Path | None = None) -> _FileKey:
    resolved = Path(path).expanduser().resolve()
    try:
        st = resolved.stat()
    except FileNotFoundError as exc:
        raise ChainDataError("no such file", path=resolved) from exc
    except OSError as exc:
        raise ChainDataError(f"cannot read the file ({exc.strerror})", path=resolved) from exc
    return _FileKey(str(resolved), FileVersion.of(st), os.path.realpath(root) if root is not None else "")


def _load_uncached(key: _FileKey) -> _Loaded:
    """Detect and load one file version; every failure becomes an error value (a rescan does not retry)."""
    fmt: str | None = None
    try:
        # a folder's file: every read inside the folder, on the inode the key's version was stat'ed from
        with confined_to(key.root, key.version.inode) if key.root else contextlib.nullcontext():
            fmt = detect_format(key.path)
            if fmt == BOOK_FORMAT:
                return _Loaded(fmt, None, load_book(key.path), None)
            return _Loaded(fmt, load_chain(key.path), None, None)
    except ChainDataError as exc:
        # keep the facts, not the exception: its traceback would pin the parser's frames (file text)
        return _Loaded(fmt, None, None, ChainDataError(exc.reason, path=exc.path, line=exc.line, field=exc.field))
    except OSError as exc:  # unreadable (chmod 000), vanished mid-read, I/O error
        return _Loaded(fmt, None, None, ChainDataError(f"cannot read the file ({exc.strerror or 'I/O error'})",
                                                       path=key.path))
    except RecursionError:
        return _Loaded(fmt, None, None, ChainDataError("nested too deeply to read", path=key.path))
    except Exception:  # a parser bug must cost one file, not the catalog; the details go to the log
        log.exception("unexpected error loading %s", key.path)
        return _Loaded(fmt, None, None, ChainDataError("could not be read (unexpected error, see the server log)",
                                                       path=key.path))


_CACHE = _LoadCache(CACHE_SIZE, ERROR_CACHE_SIZE)


def _raise_copy(err: ChainDataError) -> None:
    """Raise a fresh copy of a cached error (never re-raise one shared instance)."""
    raise ChainDataError(err.reason, path=err.path, line=err.line, field=err.field)


def load_path_cached(path: str | Path, *, root: str | Path | None = None) -> OptionChain:
    """Load an option-chain file through the per-process cache.

    Parameters
    ----------
    path : path-like
        Any file :func:`analytics.sources.load_chain` reads.
    root : path-like, optional
        The data folder the file must be read inside (checked on the opened file, after any link):
        give it for every file of a data folder.

    Returns
    -------
    OptionChain
        Shared with other callers: read-only.

    Raises
    ------
    ChainDataError
        The file is missing, broken, or a positions file.
    """
    loaded = _CACHE.get(_file_key(path, root))
    if loaded.error is not None:
        _raise_copy(loaded.error)
    if loaded.chain is None:
        raise ChainDataError("this is a positions (book) file, not an option chain", path=path)
    return loaded.chain


def load_book_cached(path: str | Path, *, root: str | Path | None = None) -> pd.DataFrame:
    """Load a positions file through the per-process cache (a copy: callers may modify it); ``root`` as
    in :func:`load_path_cached`."""
    loaded = _CACHE.get(_file_key(path, root))
    if loaded.error is not None:
        _raise_copy(loaded.error)
    if loaded.book is None:
        raise ChainDataError("not a positions (book) file", path=path)
    return loaded.book.copy()


def load_entry(entry: CatalogEntry) -> OptionChain:
    """The chain of a catalog entry, from the cache (reloaded if the file changed since the scan).

    Raises
    ------
    ChainDataError
        The entry is broken (its reason, naming the file by its relative path) or a positions file.
    """
    if entry.broken:
        raise ChainDataError(entry.error or "unreadable file", path=entry.rel or entry.path.name)
    if entry.is_book:
        raise ChainDataError("this is a positions (book) file, not an option chain", path=entry.path)
    return load_path_cached(entry.path, root=entry.root)


def cache_info() -> CacheInfo:
    """Loader cache statistics (hits, misses, maxsize, currsize), good and broken files together."""
    return _CACHE.info()


def clear_cache() -> None:
    """Empty this process's loader cache."""
    _CACHE.clear()


# --------------------------------------------------------------------------- scanning


def _slug(text: str) -> str:
    """Lower-case, runs of other characters as one ``-``.

    Examples
    --------
    >>> _slug("sub dir/SPX_book.csv")
    'sub-dir-spx-book-csv'
    """
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "file"


def _short_hash(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:6]


def public_reason(err: ChainDataError, data_dir: str | Path | None = None) -> str:
    """The reason of ``err`` fit for a banner: no file name, no quoted file content, no absolute path.

    Examples
    --------
    >>> public_reason(ChainDataError("unknown format (starts '{\\"client_secret\\": \\"s3\\"}')", line=1))
    "line 1: unknown format (starts '…')"
    """
    text = ChainDataError(_QUOTED.sub(_REDACTED, err.reason), line=err.line, field=err.field).message
    if data_dir is not None:
        text = text.replace(str(data_dir), "<data>")
    text = " ".join(text.split())
    return text if len(text) <= MAX_REASON_CHARS else text[: MAX_REASON_CHARS - 1] + "…"


class _Found(NamedTuple):
    """One name the walk met: a file to describe, or a refusal (reason) that needs no read."""

    rel: str
    path: Path
    version: FileVersion | None
    refused: str | None


def _inside(target: str, root: str) -> bool:
    return target == root or target.startswith(root.rstrip(os.sep) + os.sep)


def _walk(root: Path) -> list[_Found]:
    """Every data file under ``root`` with its version, each name under its own ``OSError`` guard.

    Dotted names, README files and trades files (``*.trades.json``) are skipped; links are never followed into folders; a link whose
    target lies outside ``root`` is refused unopened; a folder that cannot be listed is one refusal.
    """
    root_s = str(root)
    out: list[_Found] = []
    stack = [root]
    while stack:
        folder = stack.pop()
        rel_folder = folder.relative_to(root).as_posix()
        try:
            with os.scandir(folder) as it:
                items = sorted(it, key=lambda d: d.name)
        except OSError as exc:
            out.append(_Found(rel_folder + "/", folder, None, f"cannot list the folder ({exc.strerror or 'I/O error'})"))
            continue
        subdirs = []
        for item in items:
            name = item.name
            if name.startswith(".") or name.lower() in _SKIP_NAMES or is_trades_name(name):
                continue  # (trades files are read beside their snapshots: analytics.trades)
            path = folder / name
            rel = path.relative_to(root).as_posix()
            try:
                if item.is_symlink():
                    st = os.stat(path)  # follows the link; then where that file is, and that it is the one stat'ed
                    real = os.path.realpath(path)
                    there = os.stat(real, follow_symlinks=False)
                    if not _inside(real, root_s) or (there.st_dev, there.st_ino) != (st.st_dev, st.st_ino):
                        out.append(_Found(rel, path, None, "refused: a link that points outside the data folder"))
                        continue
                    if not stat.S_ISREG(st.st_mode):
                        continue  # links to folders are not followed (their files are listed where they are)
                    out.append(_Found(rel, path, FileVersion.of(st), None))
                elif item.is_dir(follow_symlinks=False):
                    subdirs.append(path)
                elif item.is_file(follow_symlinks=False):
                    out.append(_Found(rel, path, FileVersion.of(item.stat(follow_symlinks=False)), None))
            except FileNotFoundError:  # vanished while listing, or a dangling link
                if os.path.islink(path):
                    out.append(_Found(rel, path, None, "a link to a file that does not exist"))
            except OSError as exc:
                out.append(_Found(rel, path, None, f"cannot read the file ({exc.strerror or 'I/O error'})"))
        stack.extend(reversed(subdirs))
    return out


def data_files(root: str | Path) -> list[Path]:
    """The files under ``root`` the catalog reads (dotted names, README files, links out of the folder
    and unreadable names left out), in walk order: the one rule of what counts as a data file."""
    return [f.path for f in _walk(Path(root)) if f.refused is None]


def _describe(found: _Found, root: Path) -> tuple[str, CatalogEntry]:
    """(base id, entry with that id) for one file; never raises."""
    rel, path, version = found.rel, found.path, found.version
    base_broken = f"file-{_slug(rel)}"
    if found.refused is not None:
        return base_broken, CatalogEntry(base_broken, path, None, None, None, None, 0, 0, found.refused, rel, version)
    assert version is not None  # the walk stats every file it does not refuse
    loaded = _CACHE.get(_FileKey(str(path.resolve()), version, str(root)))
    if loaded.error is not None:
        reason = public_reason(loaded.error, root)
        return base_broken, CatalogEntry(base_broken, path, loaded.format, None, None, None, 0, 0, reason, rel, version)
    if loaded.book is not None:
        book = loaded.book
        under = sorted(book["underlying"].astype(str).str.upper().unique())
        base = f"book-{_slug(rel)}"
        return base, CatalogEntry(
            base, path, loaded.format, ",".join(under) if under else None, None, None,
            len(book), int(book["expiry"].nunique()), None, rel, version,
        )
    chain = loaded.chain
    assert chain is not None  # a load gives a chain, a book or an error
    base = f"{_slug(chain.underlying)}-{chain.as_of:%Y%m%d-%H%M}"
    return base, CatalogEntry(
        base, path, loaded.format, chain.underlying, chain.as_of, chain.spot, len(chain.rows),
        int(chain.rows["expiry"].nunique()), None, rel, version,
    )


def scan_catalog(data_dir: str | Path | None = None, *, previous: Catalog | None = None) -> Catalog:
    """Describe every data file under ``data_dir`` (default :func:`default_data_dir`).

    Parameters
    ----------
    data_dir : path-like, optional
        Directory to walk recursively; ``README*`` files and anything under a dotted name are skipped.
    previous : Catalog, optional
        An earlier scan of the same directory: files whose :class:`FileVersion` did not change keep
        their description without being looked up again (what :class:`CatalogHolder` passes).

    Returns
    -------
    Catalog
        Good snapshots newest first (ties by underlying, then id), then books, then broken files
        (each by relative path).

    Raises
    ------
    ChainDataError
        ``data_dir`` does not exist or is not a directory (a bad file inside it never raises).
    """
    root = Path(data_dir) if data_dir is not None else default_data_dir()
    root = root.expanduser().resolve()
    if not root.is_dir():
        raise ChainDataError("data directory not found (set --data-dir or MMPOS_DATA_DIR)", path=root)
    reuse: dict[tuple[str, FileVersion], tuple[str, CatalogEntry]] = {}
    if previous is not None and previous.data_dir == root:
        reuse = {(e.rel, e.version): (_base_id(e), e) for e in previous.entries if e.version is not None}
    found = _walk(root)
    described = []
    for item in found[:MAX_FILES]:
        hit = reuse.get((item.rel, item.version)) if item.version is not None and item.refused is None else None
        base, entry = hit if hit is not None else _describe(item, root)
        described.append((base, item.rel, entry))
    if len(found) > MAX_FILES:
        rel = f"({len(found) - MAX_FILES:,} more files)"
        reason = f"the data folder holds {len(found):,} files; only the first {MAX_FILES:,} were scanned"
        described.append(("file-not-scanned", rel, CatalogEntry("file-not-scanned", root, None, None, None, None,
                                                                0, 0, reason, rel, None)))
    # unique ids, independent of listing order: the lowest relative path keeps the plain id
    described.sort(key=lambda item: (item[0], item[1]))
    seen: set[str] = set()
    unique = []
    for base, rel, entry in described:
        new_id = base if base not in seen else f"{base}-{_short_hash(rel)}"
        seen.add(new_id)
        unique.append((rel, _replace_id(entry, new_id)))
    snaps = sorted(
        (e for _, e in unique if e.is_snapshot),
        key=lambda e: (-cast(pd.Timestamp, e.as_of).value, e.underlying or "", e.id),  # a snapshot has as_of
    )
    by_rel = sorted(unique, key=lambda item: item[0])
    books = [e for _, e in by_rel if e.is_book]
    broken = [e for _, e in by_rel if e.broken]
    return Catalog(root, tuple(snaps + books + broken))


def _base_id(entry: CatalogEntry) -> str:
    """The id an entry had before de-duplication (recomputed, so reuse never changes ids)."""
    if entry.broken:
        return f"file-{_slug(entry.rel)}"
    if entry.is_book:
        return f"book-{_slug(entry.rel)}"
    return f"{_slug(entry.underlying or '')}-{entry.as_of:%Y%m%d-%H%M}"


def _replace_id(entry: CatalogEntry, new_id: str) -> CatalogEntry:
    return entry if entry.id == new_id else replace(entry, id=new_id)


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
        self._lock = threading.Lock()
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
_HOLDERS_LOCK = threading.Lock()


def holder_for(data_dir: str | Path | None = None, interval_s: float | None = None) -> CatalogHolder:
    """This process's :class:`CatalogHolder` for ``data_dir`` (default :func:`default_data_dir`).

    One holder per resolved folder and process, created on first use with ``interval_s`` (default
    ``RESCAN_INTERVAL_S``); a later call that passes ``interval_s`` sets the holder's interval.
    """
    root = Path(data_dir) if data_dir is not None else default_data_dir()
    key = str(root.expanduser().resolve())
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
    root = Path(data_dir) if data_dir is not None else default_data_dir()
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


def format_catalog(catalog: Catalog) -> str:
    """A plain-text table of the catalog for ``mmpos list``.

    Columns: id, underlying, snapshot time, spot, expiries, rows, file (relative to the data
    directory). Books and broken files (with their reason) follow in their own sections.
    """
    def rel(p: Path) -> str:
        try:
            return p.relative_to(catalog.data_dir).as_posix()
        except ValueError:
            return str(p)

    lines: list[str] = []
    snaps = catalog.snapshots()
    if snaps:
        rows = [("id", "underlying", "snapshot", "spot", "expiries", "rows", "file")]
        rows += [
            (e.id, e.underlying or "", format_stamp(e.as_of), f"{e.spot:,.2f}", str(e.n_expiries),
             f"{e.n_rows:,}", rel(e.path))
            for e in snaps
        ]
        widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
        right = {3, 4, 5}
        for r in rows:
            cells = [c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True))]
            lines.append("  ".join(cells).rstrip())
    else:
        lines.append(f"no option-chain snapshots in {catalog.data_dir}")
    books = catalog.books()
    if books:
        lines += ["", "positions (book) files:"]
        lines += [f"  {e.id}  {e.underlying or '?'}  {e.n_rows} position(s)  {rel(e.path)}" for e in books]
    summary = catalog.broken_summary()
    if summary.total:
        lines += ["", "broken files (not loaded):"]
        lines += [f"  {line}" for line in summary.lines()]
    return "\n".join(lines) + "\n"
