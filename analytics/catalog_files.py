"""A data file's content version (:class:`FileVersion`) and this process's cache of its loads, keyed on it
(:func:`load_path_cached`, :func:`load_book_cached`, :func:`load_entry`).

Freshness is keyed on the file's content version (size, ``mtime_ns``, inode, ``ctime_ns``): a file
replaced with its modification time kept (``cp -p``, ``rsync -t``) still changes its ctime (or inode) and
is read again. The last ``CACHE_SIZE`` good files are kept, and up to ``ERROR_CACHE_SIZE`` broken ones
apart (thousands of junk files never evict the chains). Nothing is written to disk, so gunicorn workers
each keep their own cache safely. Cached chains are shared: treat them as read-only (``OptionChain`` is
frozen; never modify its ``rows`` in place, use ``chain.with_rows``/``select`` which copy).
"""

from __future__ import annotations

import contextlib
import logging
import os
from pathlib import Path
from typing import NamedTuple

import cachetools
import pandas as pd

from analytics.catalog_entries import BOOK_FORMAT, CatalogEntry, FileVersion
from analytics.chain import OptionChain
from analytics.errors import ChainDataError
from analytics.locks import ForkSafeLock
from analytics.sources import detect_format, load_chain
from analytics.sources.book import load_book
from analytics.sources.common import confined_to, read_input
from analytics.sources.table import TableFacts, parquet_table_facts

CACHE_SIZE = 64
ERROR_CACHE_SIZE = 65_536
QUICK_FORMAT = "table-parquet"  # the format whose facts a scan reads without loading (quick_facts)

log = logging.getLogger("analytics.catalog")

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
        self._lock = ForkSafeLock()
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


def quick_facts(key: _FileKey) -> TableFacts | None:
    """A clean canonical Parquet table's catalog facts, read without loading its chain
    (:func:`analytics.sources.table.parquet_table_facts`), confined like a load; None for any other
    file, or one that fails a rule or cannot be read: the scan loads that one (:func:`_load_uncached`
    says what is wrong). Nothing is cached: a rescan reuses the entry of an unchanged file."""
    try:
        with confined_to(key.root, key.version.inode) if key.root else contextlib.nullcontext():
            if detect_format(key.path) != QUICK_FORMAT:
                return None
            return parquet_table_facts(read_input(key.path))
    except Exception:  # noqa: BLE001 - whatever it is, the load that follows reports it
        return None


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
