"""A file dropped into the page (``dcc.Upload``): checked like any file the CLI reads, then stored in
the data folder under a name the server makes.

The rules, in order:

* the upload is a base64 data URL; anything else is refused;
* the bytes go to a hidden temporary file in the data folder (a dotted name: the catalog never lists
  it) and are checked there by the loaders themselves (:func:`analytics.sources.detect_format`, then
  :func:`analytics.sources.load_chain` or :func:`analytics.sources.book.load_book`): the same size
  limit (``MAX_FILE_BYTES``) and the same errors as ``mmpos analyze``;
* a good file is linked to ``upload-<YYYYMMDD>-<sha256 prefix>.<ext>`` in the folder itself, the
  extension from the detected format. The client's file name is never used for anything (not as a
  path, not in a message); ``os.link`` never replaces an existing name, and a file whose content is
  already in the folder under an upload name is not stored twice;
* the catalog is rescanned at once (:meth:`analytics.catalog.CatalogHolder.refresh`);
* a refusal is a message without the file's content or any server path
  (:func:`analytics.catalog.public_reason`).

A data folder that cannot be written refuses the upload with a message saying so (the file is still
checked, in a private temporary folder, so the message also says whether it would have loaded).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

from analytics import sources
from analytics.catalog import holder_for, public_reason
from analytics.errors import ChainDataError
from analytics.sources.book import load_book

UPLOAD_PREFIX = "upload-"
HASH_CHARS = 16  # hex digits of the content's sha256 in the stored name
_DATA_URL = re.compile(r"^data:[\w.+/-]*(?:;[\w.+-]+=[\w.+-]+)*;base64,", re.ASCII)


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
    """

    ok: bool
    message: str
    name: str | None = None
    entry_id: str | None = None
    underlying: str | None = None


def decode(contents: str | None) -> bytes:
    """The bytes of a ``dcc.Upload`` value (``data:<type>;base64,<payload>``).

    Raises
    ------
    ChainDataError
        Not a base64 data URL, or a payload that is not valid base64.

    Examples
    --------
    >>> decode("data:text/csv;base64,YSxiCg==")
    b'a,b\\n'
    """
    match = _DATA_URL.match(contents or "")
    if match is None:
        raise ChainDataError("not a file upload (expected a base64 data URL)")
    try:
        return base64.b64decode(contents[match.end():], validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ChainDataError("the upload is not valid base64") from exc


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


def _check(path: Path) -> str:
    """The detected format of ``path`` after loading it as the CLI would (raises ChainDataError)."""
    fmt = sources.detect_format(path)
    if fmt == "book":
        load_book(path)
    else:
        sources.load_chain(path)
    return fmt


def _already_stored(data_dir: Path, digest: str) -> Path | None:
    return next(iter(sorted(data_dir.glob(f"{UPLOAD_PREFIX}*-{digest}.*"))), None)


def _write_hidden(data_dir: Path, raw: bytes) -> Path:
    fd, name = tempfile.mkstemp(prefix=".upload-", suffix=".part", dir=data_dir)
    with os.fdopen(fd, "wb") as fh:
        fh.write(raw)
    os.chmod(name, 0o644)  # mkstemp's 0600 would hide it from a server running as another user of the group
    return Path(name)


def _refused(err: ChainDataError, data_dir: Path, size: int | None = None) -> UploadResult:
    what = "refused" if size is None else f"refused ({size:,} bytes)"
    return UploadResult(False, f"{what}: {public_reason(err, data_dir)}")


def store_upload(contents: str | None, data_dir: str | Path, *, today: dt.date) -> UploadResult:
    """Check a dropped file and store it in ``data_dir`` under a generated name (see the module docstring).

    Parameters
    ----------
    contents : str
        The ``dcc.Upload`` value (a base64 data URL).
    data_dir : path-like
        The data folder the catalog scans.
    today : date
        The date in the stored name (the caller's clock).

    Returns
    -------
    UploadResult
    """
    root = Path(data_dir).expanduser().resolve()
    try:
        raw = decode(contents)
    except ChainDataError as err:
        return _refused(err, root)
    digest = hashlib.sha256(raw).hexdigest()[:HASH_CHARS]
    try:
        hidden = _write_hidden(root, raw)
    except OSError:
        return _check_only(raw, root)
    try:
        try:
            fmt = _check(hidden)
        except ChainDataError as err:
            return _refused(err, root, len(raw))
        existing = _already_stored(root, digest)
        if existing is not None:
            return _result(root, existing, f"already in the data folder as {existing.name}")
        target = root / f"{UPLOAD_PREFIX}{today:%Y%m%d}-{digest}.{extension(fmt, raw[:64])}"
        if target.parent != root:  # the name is ours, but never write anywhere else
            return UploadResult(False, "refused: generated name outside the data folder")
        try:
            os.link(hidden, target)  # atomic, and never replaces an existing name
        except FileExistsError:
            return _result(root, target, f"already in the data folder as {target.name}")
        except OSError as exc:
            return UploadResult(False, f"not stored: the data folder refused the file ({exc.strerror or 'I/O error'})")
        return _result(root, target, f"added as {target.name}")
    finally:
        hidden.unlink(missing_ok=True)


def _check_only(raw: bytes, root: Path) -> UploadResult:
    """A read-only data folder: check the file in a private temporary folder and say it was not kept."""
    with tempfile.TemporaryDirectory(prefix="mmpos-upload-") as tmp:
        path = Path(tmp) / "upload"
        path.write_bytes(raw)
        try:
            _check(path)
        except ChainDataError as err:
            return _refused(err, root, len(raw))
    return UploadResult(False, "not stored: the data folder is read-only (the file itself is readable; "
                               "ask for it to be copied into the data folder)")


def _result(root: Path, stored: Path, message: str) -> UploadResult:
    """The catalog entry of a stored upload, after a rescan."""
    catalog = holder_for(root).refresh()
    entry = next((e for e in catalog if e.path.resolve() == stored.resolve()), None)
    if entry is None:
        return UploadResult(False, f"{message}, but the catalog does not list it yet", name=stored.name)
    if entry.broken:
        return UploadResult(False, f"{message}, but the catalog cannot read it: {entry.error}", name=stored.name)
    what = (f"{entry.underlying} snapshot of {entry.as_of:%Y-%m-%d %H:%M %Z}".strip() if entry.is_snapshot
            else f"positions file for {entry.underlying}")
    return UploadResult(True, f"{message}: {what}", name=stored.name, entry_id=str(entry.id),
                        underlying=entry.underlying if entry.is_snapshot else None)
