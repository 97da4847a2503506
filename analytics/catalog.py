"""The data catalog: which snapshots (underlying x time) a data directory holds, and a cached loader.

:func:`scan_catalog` walks a directory (README files and dotfiles skipped), detects and loads every
file once, and describes it as a :class:`CatalogEntry`: a chain snapshot, a positions ("book") file, or
a broken file with the reason it failed. One bad file never hides the others.

Ids are stable across rescans and independent of the order files are found in:
``<underlying>-<YYYYmmdd>-<HHMM>`` in the snapshot's own time zone (``spx-20261120-1615``); when two
files share that, the one whose relative path sorts first keeps the plain id and the others get
``-<6 hex of sha1(relative path)>``. Books and broken files get an id from their relative path
(``book-spx-book-demo-csv``, ``file-notes-txt``).

Loading is cached per process by ``(resolved path, mtime_ns, size)`` in a bounded
:func:`functools.lru_cache`: a rescan reuses what is loaded, an edited (or touched) file is read
again. Nothing is written to disk and no other global state changes, so gunicorn workers each keep
their own cache safely. Cached chains are shared: treat them as read-only (``OptionChain`` is frozen;
never modify its ``rows`` in place, use ``chain.with_rows``/``select`` which copy).
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple

import pandas as pd

from analytics.chain import OptionChain
from analytics.errors import ChainDataError
from analytics.sources import detect_format, load_chain
from analytics.sources.book import load_book

CACHE_SIZE = 64
DATA_DIR_ENV = "MMPOS_DATA_DIR"
BOOK_FORMAT = "book"
_SKIP_NAMES = frozenset({"readme.md", "readme", "readme.txt"})


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
        Why the file could not be loaded (line, field and reason, without the file name);
        None when it loads.
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

    def previous(self, entry: CatalogEntry) -> CatalogEntry | None:
        """The next-older good snapshot of the same underlying, or None."""
        if not entry.is_snapshot:
            return None
        snaps = self.snapshots(entry.underlying)
        older = [e for e in snaps if e.as_of < entry.as_of]
        return older[0] if older else None

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


# --------------------------------------------------------------------------- cached loading


class _FileKey(NamedTuple):
    path: str
    mtime_ns: int
    size: int


class _Loaded(NamedTuple):
    """What loading one file gave: a chain, a book, or an error (cached alike)."""

    format: str | None
    chain: OptionChain | None
    book: pd.DataFrame | None
    error: ChainDataError | None


def _file_key(path: str | Path) -> _FileKey:
    resolved = Path(path).expanduser().resolve()
    try:
        st = resolved.stat()
    except FileNotFoundError as exc:
        raise ChainDataError("no such file", path=resolved) from exc
    except OSError as exc:
        raise ChainDataError(f"cannot read the file ({exc.strerror})", path=resolved) from exc
    return _FileKey(str(resolved), st.st_mtime_ns, st.st_size)


@lru_cache(maxsize=CACHE_SIZE)
def _load_key(key: _FileKey) -> _Loaded:
    """Detect and load one file version; errors are cached as values (a rescan does not retry them)."""
    fmt: str | None = None
    try:
        fmt = detect_format(key.path)
        if fmt == BOOK_FORMAT:
            return _Loaded(fmt, None, load_book(key.path), None)
        return _Loaded(fmt, load_chain(key.path), None, None)
    except ChainDataError as exc:
        # keep the facts, not the exception: its traceback would pin the parser's frames (file text)
        return _Loaded(fmt, None, None, ChainDataError(exc.reason, path=exc.path, line=exc.line, field=exc.field))


def _raise_copy(err: ChainDataError) -> None:
    """Raise a fresh copy of a cached error (never re-raise one shared instance)."""
    raise ChainDataError(err.reason, path=err.path, line=err.line, field=err.field)


def load_path_cached(path: str | Path) -> OptionChain:
    """Load an option-chain file through the per-process cache.

    Parameters
    ----------
    path : path-like
        Any file :func:`analytics.sources.load_chain` reads.

    Returns
    -------
    OptionChain
        Shared with other callers: read-only.

    Raises
    ------
    ChainDataError
        The file is missing, broken, or a positions file.
    """
    loaded = _load_key(_file_key(path))
    if loaded.error is not None:
        _raise_copy(loaded.error)
    if loaded.chain is None:
        raise ChainDataError("this is a positions (book) file, not an option chain", path=path)
    return loaded.chain


def load_book_cached(path: str | Path) -> pd.DataFrame:
    """Load a positions file through the per-process cache (a copy: callers may modify it)."""
    loaded = _load_key(_file_key(path))
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
        The entry is broken (its reason) or a positions file.
    """
    if entry.is_book:
        raise ChainDataError("this is a positions (book) file, not an option chain", path=entry.path)
    return load_path_cached(entry.path)


def cache_info():
    """``functools`` cache statistics of the loader (hits, misses, maxsize, currsize)."""
    return _load_key.cache_info()


def clear_cache() -> None:
    """Empty this process's loader cache."""
    _load_key.cache_clear()


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


def _data_files(data_dir: Path) -> Iterable[Path]:
    for path in sorted(data_dir.rglob("*")):
        rel = path.relative_to(data_dir)
        if any(part.startswith(".") for part in rel.parts):
            continue
        if path.name.lower() in _SKIP_NAMES or not path.is_file():
            continue
        yield path


def _describe(path: Path, rel: str) -> tuple[str, CatalogEntry]:
    """(base id, entry with that id) for one file."""
    try:
        loaded = _load_key(_file_key(path))
    except ChainDataError as exc:  # vanished between listing and stat
        loaded = _Loaded(None, None, None, exc)
    if loaded.error is not None:
        err = loaded.error
        reason = ChainDataError(err.reason, line=err.line, field=err.field).message  # without the file name
        base = f"file-{_slug(rel)}"
        return base, CatalogEntry(base, path, loaded.format, None, None, None, 0, 0, reason)
    if loaded.book is not None:
        book = loaded.book
        under = sorted(book["underlying"].astype(str).str.upper().unique())
        base = f"book-{_slug(rel)}"
        return base, CatalogEntry(
            base, path, loaded.format, ",".join(under) if under else None, None, None,
            len(book), int(book["expiry"].nunique()),
        )
    chain = loaded.chain
    base = f"{_slug(chain.underlying)}-{chain.as_of:%Y%m%d-%H%M}"
    return base, CatalogEntry(
        base, path, loaded.format, chain.underlying, chain.as_of, chain.spot, len(chain.rows),
        int(chain.rows["expiry"].nunique()),
    )


def scan_catalog(data_dir: str | Path | None = None) -> Catalog:
    """Describe every data file under ``data_dir`` (default :func:`default_data_dir`).

    Parameters
    ----------
    data_dir : path-like, optional
        Directory to walk recursively; ``README*`` files and anything under a dotted name are skipped.

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
    described = []
    for path in _data_files(root):
        rel = path.relative_to(root).as_posix()
        base, entry = _describe(path, rel)
        described.append((base, rel, entry))
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
        key=lambda e: (-e.as_of.value, e.underlying or "", e.id),
    )
    books = [e for _, e in sorted(unique, key=lambda item: item[0]) if e.is_book]
    broken = [e for _, e in sorted(unique, key=lambda item: item[0]) if e.broken]
    return Catalog(root, tuple(snaps + books + broken))


def _replace_id(entry: CatalogEntry, new_id: str) -> CatalogEntry:
    return entry if entry.id == new_id else replace(entry, id=new_id)


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
            (e.id, e.underlying or "", f"{e.as_of:%Y-%m-%d %H:%M %Z}", f"{e.spot:,.2f}", str(e.n_expiries),
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
    broken = catalog.broken()
    if broken:
        lines += ["", "broken files (not loaded):"]
        lines += [f"  {rel(e.path)}: {e.error}" for e in broken]
    return "\n".join(lines) + "\n"
