"""What a data folder's catalog holds (:mod:`analytics.catalog`): one :class:`CatalogEntry` per file (a
snapshot, a positions file or a broken file with its reason), the :class:`Catalog` of one scan
(snapshots newest first, then books, then broken files; looked up by id) and the capped list of broken
files a banner shows (:class:`BrokenSummary`), and the ``mmpos list`` table (:func:`format_catalog`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import pandas as pd

from analytics.fmt import format_stamp

MAX_BROKEN_SHOWN = 20  # broken files a summary lists by name (the rest are counted)
BOOK_FORMAT = "book"


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
