"""Walking a data folder into a :class:`~analytics.catalog_entries.Catalog` (:func:`scan_catalog`): which
files are data (README files, the ADV config and dotfiles skipped), links confined to the folder, each
file described under its own guard, stable ids, and reasons safe to show (:func:`public_reason`).

Every file is read under its own guard (an unreadable file, a folder that cannot be listed, a parser
crash all become a broken entry), and links that point outside the data folder are refused without
being opened. Every read of a folder's file is confined to that folder
(:func:`analytics.sources.common.confined_to`). Ids: see :mod:`analytics.catalog`.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
from dataclasses import replace
from pathlib import Path
from typing import NamedTuple, cast

import pandas as pd

from analytics.adv import ADV_FILE_NAME
from analytics.catalog_entries import Catalog, CatalogEntry, FileVersion
from analytics.catalog_files import _CACHE, QUICK_FORMAT, _FileKey, quick_facts
from analytics.errors import ChainDataError
from analytics.trades import is_trades_name

DATA_DIR_ENV = "MMPOS_DATA_DIR"
MAX_FILES = 50_000  # files described per scan; beyond, one broken entry says the rest were not scanned
MAX_REASON_CHARS = 200
# not chains: README files and the ADV config (analytics.adv), wherever they sit in the folder
_SKIP_NAMES = frozenset({"readme.md", "readme", "readme.txt", ADV_FILE_NAME})
_QUOTED = re.compile(r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"")
_REDACTED = "'…'"



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


def _describe(found: _Found, root: Path, *, quick: bool = True) -> tuple[str, CatalogEntry]:
    """(base id, entry with that id) for one file; never raises. ``quick``: a clean canonical Parquet
    table is described from Arrow (:func:`~analytics.catalog_files.quick_facts`), not loaded; the
    entry is the same either way (``tests/unit/test_catalog_quick.py``)."""
    rel, path, version = found.rel, found.path, found.version
    base_broken = f"file-{_slug(rel)}"
    if found.refused is not None:
        return base_broken, CatalogEntry(base_broken, path, None, None, None, None, 0, 0, found.refused, rel, version)
    assert version is not None  # the walk stats every file it does not refuse
    key = _FileKey(str(path.resolve()), version, str(root))
    facts = quick_facts(key) if quick else None
    if facts is not None:  # a clean Parquet table: described from Arrow, its chain loaded when first viewed
        base = f"{_slug(facts.underlying)}-{facts.as_of:%Y%m%d-%H%M}"
        return base, CatalogEntry(base, path, QUICK_FORMAT, facts.underlying, facts.as_of, facts.spot, facts.n_rows,
                                  facts.n_expiries, None, rel, version)
    loaded = _CACHE.get(key)
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
    root = resolve_data_dir(data_dir).resolve()
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


def default_data_dir() -> Path:
    """``$MMPOS_DATA_DIR`` if set, else the project's ``data/`` directory."""
    env = os.environ.get(DATA_DIR_ENV, "").strip()
    if env:
        return Path(env).expanduser()
    return Path(__file__).resolve().parents[1] / "data"


def resolve_data_dir(data_dir: str | Path | None) -> Path:
    """The data folder to use: ``data_dir`` when given (not None, not empty), else :func:`default_data_dir`.

    The one rule every command, page and store follows (``--data-dir`` over ``MMPOS_DATA_DIR`` over ``data/``).

    >>> resolve_data_dir("/srv/snapshots"), resolve_data_dir("") == default_data_dir()
    (PosixPath('/srv/snapshots'), True)
    """
    return Path(data_dir).expanduser() if data_dir is not None and str(data_dir) != "" else default_data_dir()
