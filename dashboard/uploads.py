"""A file dropped into the page (``dcc.Upload``): checked like any file the CLI reads, then stored in
the data folder under a name the server makes.

The browser posts the file's bytes to its own route (``POST /_mmpos/upload``, body
``application/octet-stream``, see :mod:`dashboard.web.callbacks.upload`), the one route whose body may be
as large as a file the loaders accept (``MAX_FILE_BYTES``, 32 MiB): every other request keeps the
edge's 1 MiB (:func:`dashboard.http.edge.allow_body`). The rules, in order:

* a larger body gets 413 before it is read (:func:`too_large` is what the page then says);
* the bytes go to a hidden temporary file in the data folder (a dotted name: the catalog never lists
  it) and are checked there by the loaders themselves (:func:`analytics.sources.detect_format`, then
  :func:`analytics.sources.load_chain` or :func:`analytics.sources.book.load_book`): the same size
  limit (``MAX_FILE_BYTES``) and the same errors as ``mmpos analyze``;
* a good file is linked to ``upload-<YYYYMMDD>-<sha256 prefix>[--<original name>].<ext>`` in the folder
  itself, the extension from the detected format. The client's file name is kept only as a label:
  its last path part reduced to letters, digits and ``. _ -`` (:func:`label_slug`), never a path of its
  own; the snapshot list shows it (:func:`original_name`). ``os.link`` never replaces an existing
  name, and a file whose content is already in the folder (under any name: same size, then same
  sha256) is not stored again: the answer says "already here" and names it;
* the catalog is rescanned at once (:meth:`analytics.catalog.CatalogHolder.refresh`);
* a refusal is a message without the file's content or any server path
  (:func:`analytics.catalog.public_reason`).

A data folder that cannot be written keeps a good file for this server's session only: in a private
folder (:func:`session_dir`: under ``$MMPOS_STATE_DIR`` or the system temp folder, one per data folder
and server run), whose files :func:`with_session_uploads` adds to the catalog with ``session-`` ids. A
later server run (another process group) never lists them.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

from analytics import sources
from analytics.catalog import Catalog, holder_for, public_reason
from analytics.errors import ChainDataError
from analytics.fmt import format_stamp
from analytics.sources.book import load_book
from analytics.sources.common import MAX_FILE_BYTES, confined_to, read_input
from dashboard.runtime import config

UPLOAD_PREFIX = "upload-"
SESSION_DIRNAME = "mmpos-session-uploads"
SESSION_ID_PREFIX = "session-"
HASH_CHARS = 16  # hex digits of the content's sha256 in the stored name
MAX_LABEL_CHARS = 80  # of the original file name kept in the stored name
NAME_SEPARATOR = "--"  # between the content hash and the original name in a stored name
_STORED = re.compile(rf"{UPLOAD_PREFIX}\d{{8}}-[0-9a-f]{{{HASH_CHARS}}}{NAME_SEPARATOR}(?P<label>[A-Za-z0-9._-]+)\.[a-z]+")
UPLOAD_PATH = "_mmpos/upload"  # the route a dropped file is posted to, under Dash's pathname prefix
UPLOAD_MIMETYPE = "application/octet-stream"  # not a form type: another site's page cannot post it
NAME_HEADER = "X-Mmpos-Filename"  # the client's file name, URI-encoded (a label only: label_slug)
MAX_UPLOAD_BYTES = MAX_FILE_BYTES  # the upload route's body limit: the loaders' own


@dataclass(frozen=True)
class UploadResult:
    """What happened to one dropped file.

    Attributes
    ----------
    ok : bool
        True when the file is (now or already) in the data folder's catalog.
    message : str
        One line for the banner: never the file's content, never a server path.
    name : str or None
        The stored file's name in the data folder.
    entry_id, underlying : str or None
        Its catalog entry (a snapshot's id and underlying; a positions file's id).
    already : bool
        The same content was already in the folder (nothing stored): the page says "already here".
    """

    ok: bool
    message: str
    name: str | None = None
    entry_id: str | None = None
    underlying: str | None = None
    already: bool = False


def label_slug(client_name: str | None) -> str | None:
    """The part of a client's file name kept as a label: the last path part without its extension,
    every run of other characters than letters, digits and ``. _ -`` made one ``_`` (None: nothing left).

    Examples
    --------
    >>> label_slug("cboe_spx_2024-01-07 (1).csv"), label_slug("..\\\\..//evil.csv"), label_slug("<>.csv")
    ('cboe_spx_2024-01-07_1', 'evil', None)
    """
    if not client_name:
        return None
    base = re.split(r"[/\\]", str(client_name))[-1][:4 * MAX_LABEL_CHARS]
    stem = base.rsplit(".", 1)[0] if "." in base.lstrip(".") else base
    slug = re.sub(r"[^A-Za-z0-9._-]+", "_", stem).strip("._-")[:MAX_LABEL_CHARS].strip("._-")
    return slug or None


def original_name(path: str | Path) -> str | None:
    """The client's file name (its label) kept in a stored upload's name; None for any other file.

    Examples
    --------
    >>> original_name("upload-20261206-6ba94f4c1fbc1267--cboe_spx_2024-01-07.csv")
    'cboe_spx_2024-01-07'
    >>> original_name("upload-20261206-6ba94f4c1fbc1267.csv"), original_name("spx_quotedata.csv")
    (None, None)
    """
    found = _STORED.fullmatch(Path(path).name)
    return found.group("label") if found else None


def extension(fmt: str, head: bytes) -> str:
    """The stored file's extension: from the detected format, JSON or CSV for formats that come as both.

    Examples
    --------
    >>> extension("table-parquet", b"PAR1"), extension("deribit-ticker", b' [{"a": 1}]'), extension("cboe", b"x")
    ('parquet', 'json', 'csv')
    """
    if fmt == "table-parquet":
        return "parquet"
    return "json" if head.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] in (b"{", b"[") else "csv"


def _check(path: Path, inode: int) -> str:
    """The detected format of ``path`` after loading it as the CLI would (raises ChainDataError); every
    read must land on the file written (``inode``), inside its folder: a name swapped for a link is refused."""
    with confined_to(path.parent, inode):
        fmt = sources.detect_format(path)
        if fmt == "book":
            load_book(path)
        else:
            sources.load_chain(path)
    return fmt


def _already_stored(data_dir: Path, digest: str, raw: bytes) -> Path | None:
    """A file of the folder with this content: an earlier upload (by the hash in its name), else any
    catalog file of the same size whose sha256 matches (a file copied in by hand, under its own name)."""
    named = sorted(data_dir.glob(f"{UPLOAD_PREFIX}*-{digest}.*")) + sorted(
        data_dir.glob(f"{UPLOAD_PREFIX}*-{digest}{NAME_SEPARATOR}*.*"))
    if named:
        return named[0]
    try:
        entries = holder_for(data_dir).get().entries
    except ChainDataError:
        return None
    full = hashlib.sha256(raw).hexdigest()
    for entry in entries:
        if entry.version is None or entry.version.size != len(raw) or entry.path.parent != data_dir:
            continue
        try:
            with confined_to(data_dir, entry.version.inode):
                same = hashlib.sha256(read_input(entry.path)).hexdigest() == full
        except (OSError, ChainDataError):
            continue
        if same:
            return entry.path
    return None


def _write_hidden(data_dir: Path, raw: bytes) -> tuple[Path, int]:
    """The hidden file written with ``raw``, and its inode (what the check must read)."""
    fd, name = tempfile.mkstemp(prefix=".upload-", suffix=".part", dir=data_dir)
    with os.fdopen(fd, "wb") as fh:
        fh.write(raw)
        os.fchmod(fh.fileno(), 0o644)  # mkstemp's 0600 would hide it from a server running as another user
        inode = os.fstat(fh.fileno()).st_ino
    return Path(name), inode


def _refused(err: ChainDataError, data_dir: Path, size: int | None = None) -> UploadResult:
    what = "refused" if size is None else f"refused ({size:,} bytes)"
    return UploadResult(False, f"{what}: {public_reason(err, data_dir)}")


def too_large(size: int) -> UploadResult:
    """The refusal of a file the upload route would not read (over ``MAX_FILE_BYTES``).

    Examples
    --------
    >>> too_large(40 * 2**20).message
    'refused (41,943,040 bytes): file too large: 40.0 MiB, the limit is 32 MiB (trim the chain to the expiries you need)'
    """
    # the loaders' own words for such a file (analytics.sources.common.checked_size)
    return UploadResult(False, f"refused ({size:,} bytes): file too large: {size / 2**20:.1f} MiB, the limit is "
                               f"{MAX_FILE_BYTES / 2**20:.0f} MiB (trim the chain to the expiries you need)")


def store_bytes(raw: bytes, data_dir: str | Path, *, today: dt.date, client_name: str | None = None) -> UploadResult:
    """Check a dropped file and store it in ``data_dir`` under a generated name (see the module docstring).

    Parameters
    ----------
    raw : bytes
        The file's content, as the upload route received it.
    data_dir : path-like
        The data folder the catalog scans.
    today : date
        The date in the stored name (the caller's clock).
    client_name : str, optional
        The file's name on the client: kept as a label in the stored name (:func:`label_slug`).

    Returns
    -------
    UploadResult
    """
    root = Path(data_dir).expanduser().resolve()
    digest = hashlib.sha256(raw).hexdigest()[:HASH_CHARS]
    store_dir, kept = root, "added"
    try:
        hidden, inode = _write_hidden(root, raw)
    except OSError:  # a read-only data folder: keep the file for this server's session
        store_dir, kept = session_dir(root), "kept for this session only (the data folder is read-only)"
        try:
            store_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
            hidden, inode = _write_hidden(store_dir, raw)
        except OSError as exc:
            return UploadResult(False, f"not stored: neither the data folder nor a session folder can be "
                                       f"written ({exc.strerror or 'I/O error'})")
    try:
        try:
            fmt = _check(hidden, inode)
        except ChainDataError as err:
            return _refused(err, root, len(raw))
        existing = _already_stored(root, digest, raw) or (_already_stored(store_dir, digest, raw)
                                                           if store_dir != root else None)
        if existing is not None:
            where = "the data folder" if existing.parent == root else "this session's uploads"
            return dataclasses.replace(_result(root, existing, f"already in {where} as {existing.name}"),
                                       already=True)
        label = label_slug(client_name)
        named = f"{digest}{NAME_SEPARATOR}{label}" if label else digest
        target = store_dir / f"{UPLOAD_PREFIX}{today:%Y%m%d}-{named}.{extension(fmt, raw[:64])}"
        if target.parent != store_dir:  # the name is ours, but never write anywhere else
            return UploadResult(False, "refused: generated name outside the data folder")
        try:
            os.link(hidden, target, follow_symlinks=False)  # atomic, never replaces a name, never follows a link
        except FileExistsError:
            return _result(root, target, f"already stored as {target.name}")
        except OSError as exc:
            return UploadResult(False, f"not stored: the folder refused the file ({exc.strerror or 'I/O error'})")
        return _result(root, target, f"{kept} as {target.name}")
    finally:
        hidden.unlink(missing_ok=True)


def session_dir(data_dir: str | Path) -> Path:
    """The folder of this server run's uploads for a read-only ``data_dir``: ``<base>/mmpos-session-uploads/
    <hash of the folder and the process group>``, base ``$MMPOS_STATE_DIR`` or the system temp folder.

    Every worker of one server (one process group) shares it; the next run of the server gets another.
    """
    root = Path(data_dir).expanduser().resolve()
    base = config.setting("state_dir") or Path(tempfile.gettempdir())
    key = hashlib.sha256(f"{root}|{os.getpgrp()}".encode()).hexdigest()[:16]
    return base / SESSION_DIRNAME / key


def with_session_uploads(catalog: Catalog) -> Catalog:
    """``catalog`` plus this session's uploads for its folder (ids prefixed ``session-``), or ``catalog``
    itself when there are none. Snapshots stay newest first, then books, then broken files."""
    folder = session_dir(catalog.data_dir)
    if not folder.is_dir():
        return catalog
    try:
        extra = holder_for(folder).get()
    except ChainDataError:
        return catalog
    if not len(extra):
        return catalog
    added = [dataclasses.replace(e, id=f"{SESSION_ID_PREFIX}{e.id}") for e in extra]
    entries = [*catalog.entries, *added]
    snaps = sorted((e for e in entries if e.is_snapshot), key=lambda e: (-e.as_of.value, e.underlying or "", e.id))
    others = [e for e in entries if not e.is_snapshot]
    return Catalog(catalog.data_dir, tuple(snaps + [e for e in others if e.is_book] + [e for e in others if e.broken]))


def _result(root: Path, stored: Path, message: str) -> UploadResult:
    """The catalog entry of a stored upload, after a rescan."""
    if stored.parent != root:
        holder_for(stored.parent).refresh()
    catalog = with_session_uploads(holder_for(root).refresh())
    entry = next((e for e in catalog if e.path.resolve() == stored.resolve()), None)
    if entry is None:
        return UploadResult(False, f"{message}, but the catalog does not list it yet", name=stored.name)
    if entry.broken:
        return UploadResult(False, f"{message}, but the catalog cannot read it: {entry.error}", name=stored.name)
    what = (f"{entry.underlying} snapshot of {format_stamp(entry.as_of)}" if entry.is_snapshot
            else f"positions file for {entry.underlying}")
    return UploadResult(True, f"{message}: {what}", name=stored.name, entry_id=str(entry.id),
                        underlying=entry.underlying if entry.is_snapshot else None)
