"""What every source module shares: the :class:`Source` declaration and the checked-reading helpers.

A source module declares ``SOURCES``: one :class:`Source` per format it reads (a name, a content
sniffer and a loader). :mod:`analytics.sources` lists the modules once and builds the registry from
them. The helpers here are the only copy of: the file checks (exists, not empty, at most
``MAX_FILE_BYTES``, not binary), "not a number" with the file line, and the percent-vs-decimal IV
check. This module imports no source module, so nothing imports in a loop.

:func:`read_input` is the one place an input file is opened. It opens the file's real path without
following a link in the last component (``O_NOFOLLOW``; ``O_NONBLOCK`` so a FIFO swapped in cannot hang
it), checks the *opened descriptor* (``fstat``: a regular file, size), and reads from that descriptor
only. Under :func:`confined_to` (what the catalog, the history store and the upload check set around a
load) it also checks, after opening, that the descriptor's real path lies inside the folder and, when
given, that it is the very inode the scan checked: a link swapped to point outside between the scan and
the read is refused, never read.
"""

from __future__ import annotations

import contextlib
import contextvars
import csv
import json
import os
import re
import stat
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from analytics.chain import OptionChain
from analytics.errors import ChainDataError

MAX_FILE_BYTES = 32 * 1024 * 1024
SNIFF_BYTES = 8192
#: Above this median of the positive IVs, an IV column is taken to be in percent.
IV_PERCENT_THRESHOLD = 3.0
#: Deepest JSON nesting read (a Deribit or CBOE file is 4 deep; a callback request about 8): deeper is
#: refused before parsing (a 100k-deep file made the parser raise RecursionError).
MAX_JSON_DEPTH = 64
#: How a numeric date whose day and month could swap is read (``07/01/2024``): day first or month first.
#: The one home of the option's name and choices (``--date-order``, ``load_chain(date_order=...)``).
DateOrder = Literal["dmy", "mdy"]
DATE_ORDERS: tuple[str, ...] = ("dmy", "mdy")
DATE_ORDER_OPTION = "--date-order"
#: The 8-bit encoding tried when a file is not UTF-8: what Excel and Notepad save on Western-European
#: Windows (its five undefined bytes, and NUL, still mark a file as binary).
FALLBACK_ENCODING = "cp1252"
_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"')
_OPEN, _CLOSE = np.frombuffer(b"[{", np.uint8), np.frombuffer(b"]}", np.uint8)


class Head:
    """The first ``SNIFF_BYTES`` of a file, as bytes and (decoded on first use) as text."""

    def __init__(self, raw: bytes, path: Path) -> None:
        self.raw = raw
        self.path = path

    @cached_property
    def text(self) -> str:
        """The head decoded as UTF-8 (a BOM dropped), else as Windows-1252 (:func:`decode_text`).

        Raises
        ------
        ChainDataError
            When the head holds NUL bytes or is neither (a binary file).
        """
        if b"\x00" in self.raw:
            raise ChainDataError("binary content, not a text file", path=self.path)
        for cut in range(4):  # the sniff window may split a multi-byte character
            try:
                return self.raw[: len(self.raw) - cut].decode("utf-8-sig")
            except UnicodeDecodeError:
                continue
        try:
            return self.raw.decode(FALLBACK_ENCODING)
        except UnicodeDecodeError:
            raise ChainDataError(f"binary content, not a UTF-8 text file (nor {FALLBACK_ENCODING})",
                                 path=self.path) from None


@dataclass(frozen=True)
class Source:
    """One input format.

    Attributes
    ----------
    name : str
        The format's name (``detect_format`` returns it; messages list it).
    description : str
        One line: what the file is.
    sniff : callable
        ``sniff(head: Head) -> bool``: True when the file's first bytes are this format. Sniffers
        are tried in registry order; a binary format reads ``head.raw`` only.
    load : callable
        ``load(path: Path, *, multiplier: float | None, as_of: Timestamp | str | None) -> OptionChain``;
        a format whose numeric dates could be read day or month first also takes ``date_order``
        (``DATE_ORDERS``; passed only when the user gives one).
        Raises :class:`~analytics.errors.ChainDataError` (a format that is not a chain, such as a
        positions file, raises one that says what to do instead).
    """

    name: str
    description: str
    sniff: Callable[[Head], bool]
    load: Callable[..., OptionChain]


def _size_checked(size: int, path: Path) -> int:
    if size == 0:
        raise ChainDataError("empty file", path=path)
    if size > MAX_FILE_BYTES:
        raise ChainDataError(
            f"file too large: {size / 2**20:.1f} MiB, the limit is {MAX_FILE_BYTES / 2**20:.0f} MiB "
            "(trim the chain to the expiries you need)",
            path=path,
        )
    return size


def checked_size(path: str | Path) -> int:
    """Size of ``path`` in bytes, after checking it exists, is a file, is not empty and is at most
    ``MAX_FILE_BYTES`` (``os.stat`` only: nothing is read; :func:`read_input` checks the opened file again).

    Raises
    ------
    ChainDataError
        Naming the file and which check failed.
    """
    path = Path(path)
    try:
        st = os.stat(path)
    except FileNotFoundError as exc:
        raise ChainDataError("no such file", path=path) from exc
    except OSError as exc:
        raise ChainDataError(f"cannot read the file ({exc.strerror})", path=path) from exc
    if not stat.S_ISREG(st.st_mode):
        raise ChainDataError("not a regular file", path=path)
    return _size_checked(st.st_size, path)


class Confinement:
    """Where a read must land: inside ``root`` (a resolved folder) and, when ``inode`` is given, on that inode."""

    __slots__ = ("inode", "root")

    def __init__(self, root: str | Path, inode: int | None = None) -> None:
        self.root = os.path.realpath(root)
        self.inode = inode


_CONFINEMENT: contextvars.ContextVar[Confinement | None] = contextvars.ContextVar("mmpos_confinement", default=None)


@contextlib.contextmanager
def confined_to(root: str | Path, inode: int | None = None) -> Iterator[None]:
    """Every :func:`read_input` in this block (this thread or task) must open a file inside ``root``
    (checked on the opened descriptor), and the file with inode ``inode`` when given.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as inside, tempfile.TemporaryDirectory() as outside:
    ...     _ = (Path(outside) / "x.csv").write_text("secret")
    ...     (Path(inside) / "x.csv").symlink_to(Path(outside) / "x.csv")
    ...     with confined_to(inside):
    ...         read_input(Path(inside) / "x.csv")
    Traceback (most recent call last):
    ...
    analytics.errors.ChainDataError: x.csv: refused: the file read is not inside the data folder (a link changed since the scan?)
    """
    token = _CONFINEMENT.set(Confinement(root, inode))
    try:
        yield
    finally:
        _CONFINEMENT.reset(token)


def _inside(target: str, root: str) -> bool:
    return target == root or target.startswith(root.rstrip(os.sep) + os.sep)


def _opened_path(fd: int, real: str, st: os.stat_result) -> str | None:
    """The real path of the open descriptor ``fd`` (``/proc/self/fd``), or where ``/proc`` is missing,
    ``real`` when it still names that same file; None when neither can be established."""
    try:
        return os.readlink(f"/proc/self/fd/{fd}")
    except OSError:
        pass
    try:
        now = os.stat(real, follow_symlinks=False)
    except OSError:
        return None
    return real if (now.st_dev, now.st_ino) == (st.st_dev, st.st_ino) else None


def read_input(path: str | Path, *, limit: int | None = None) -> bytes:
    """The bytes of an input file (at most ``limit`` of them): the one place input files are opened.

    The file's real path is opened without following a link in its last component, the checks run on
    the opened descriptor (a regular file, not empty, at most ``MAX_FILE_BYTES``) and the bytes come
    from it; under :func:`confined_to`, the descriptor must be inside the folder (and the inode given).

    Raises
    ------
    ChainDataError
        A missing, unreadable, empty, too large or not regular file; a file outside the confinement.
    """
    path = Path(path)
    real = os.path.realpath(path)
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(real, flags)
    except FileNotFoundError as exc:
        raise ChainDataError("no such file", path=path) from exc
    except OSError as exc:  # ELOOP: the last component became a link after it was resolved
        raise ChainDataError(f"cannot read the file ({exc.strerror or 'I/O error'})", path=path) from exc
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise ChainDataError("not a regular file", path=path)
        size = _size_checked(st.st_size, path)
        confinement = _CONFINEMENT.get()
        if confinement is not None:
            opened = _opened_path(fd, real, st)
            if opened is None or not _inside(opened, confinement.root):
                raise ChainDataError("refused: the file read is not inside the data folder (a link changed since "
                                     "the scan?)", path=path)
            if confinement.inode is not None and st.st_ino != confinement.inode:
                raise ChainDataError("refused: not the file that was checked (replaced while being read)", path=path)
        os.set_blocking(fd, True)
        want = size if limit is None else min(size, limit)
        chunks, got = [], 0
        while got < want:
            chunk = os.read(fd, want - got)
            if not chunk:
                break
            chunks.append(chunk)
            got += len(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def read_head(path: str | Path) -> Head:
    """The first ``SNIFF_BYTES`` of a file (:func:`read_input`)."""
    path = Path(path)
    return Head(read_input(path, limit=SNIFF_BYTES), path)


def decode_text(raw: bytes, path: str | Path | None = None) -> str:
    """``raw`` as UTF-8 (a BOM dropped), else as Windows-1252 (``FALLBACK_ENCODING``: a file saved by
    Excel or Notepad on Western-European Windows). Valid UTF-8 is always read as UTF-8.

    Raises
    ------
    ChainDataError
        When the bytes are neither (binary content).

    Examples
    --------
    >>> decode_text("à 10:52".encode("utf-8")), decode_text("à 10:52".encode("cp1252"))
    ('à 10:52', 'à 10:52')
    """
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return raw.decode(FALLBACK_ENCODING)
    except UnicodeDecodeError as exc:
        raise ChainDataError("not a text file (binary content)", path=path) from exc


def read_text_file(path: str | Path) -> str:
    """The text of an input file (:func:`read_input`, then :func:`decode_text`: UTF-8, with or without a
    BOM, else Windows-1252; line ends kept as they are).

    Raises
    ------
    ChainDataError
        For a missing, empty, too large or binary file, naming it.
    """
    path = Path(path)
    return input_text(read_input(path), path)


def input_text(raw: bytes, path: str | Path) -> str:
    """The bytes of an input file as text (:func:`decode_text`; no newline translation pass), refused
    when they hold NUL bytes (binary content)."""
    text = decode_text(raw, path)
    if "\x00" in text:
        raise ChainDataError("binary content, not a text file", path=path)
    return text


def check_not_truncated(text: str, path: Path) -> None:
    """Refuse a CSV cut mid-line: its last line (no final newline) has fewer fields than the header.

    Raises
    ------
    ChainDataError
        Naming the last line.
    """
    if not text or text.endswith(("\n", "\r")):
        return
    lines = [ln for ln in text.splitlines() if ln.strip()]
    if len(lines) < 2:
        return
    header, last = next(csv.reader([lines[0]])), next(csv.reader([lines[-1]]))
    n_head = len([h for h in header if h.strip()])
    if len(last) < n_head:
        raise ChainDataError(
            f"file looks truncated: the last line has {len(last)} of {n_head} fields", path=path,
            line=text.count("\n") + 1,
        )


def numbers(
    raw: pd.Series,
    *,
    path: str | Path | None,
    field: str,
    line_offset: int | None = None,
    thousands: str | None = None,
    decimal: str = ".",
) -> pd.Series:
    """``raw`` as float64; blanks and missing values become NaN, anything else unreadable is an error.

    Parameters
    ----------
    raw : Series
        Text or numbers.
    path : path-like or None
        Named in the message.
    field : str
        Named in the message.
    line_offset : int, optional
        ``raw.index + line_offset`` is the file line of a value.
    thousands : str, optional
        A thousands separator to drop before reading (``","``).
    decimal : str
        The decimal mark. With ``","`` (a European export) a ``"."`` is read only where it groups
        thousands (``1.234,5``); ``0.25`` there could mean either and is refused.

    Returns
    -------
    Series
        float64, same index.

    Raises
    ------
    ChainDataError
        ``not a number ('abc')`` at the first bad value's line.

    Examples
    --------
    >>> numbers(pd.Series(["1,200.5", "", None]), path=None, field="x", thousands=",").tolist()
    [1200.5, nan, nan]
    >>> numbers(pd.Series(["1.200,5", "0,25"]), path=None, field="x", thousands=".", decimal=",").tolist()
    [1200.5, 0.25]
    """
    if pd.api.types.is_numeric_dtype(raw.dtype) and not pd.api.types.is_bool_dtype(raw.dtype):
        return raw.astype(float)
    text = raw.astype(object).where(raw.notna(), "").astype(str).str.strip()
    unclear = np.zeros(len(text), dtype=bool)
    if decimal != ".":
        has_dot = text.str.contains(".", regex=False)
        grouped = text.str.fullmatch(r"[-+]?\d{1,3}(?:\.\d{3})+(?:,\d*)?")
        unclear = (has_dot & ~grouped).to_numpy(bool)
    if thousands:
        text = text.str.replace(thousands, "", regex=False)
    if decimal != ".":
        text = text.str.replace(decimal, ".", regex=False)
    values = pd.to_numeric(text.where((text != "") & ~unclear), errors="coerce")
    bad = (values.isna() & (text != "")).to_numpy()
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        line = int(raw.index[i]) + line_offset if line_offset is not None else None
        raise ChainDataError(f"not a number ({raw.iloc[i]!r})", path=path, line=line, field=field)
    return values.astype(float)


def check_iv_is_decimal(iv: np.ndarray | pd.Series, *, path: str | Path | None, wants: str) -> None:
    """Refuse an IV column given in percent (median of the positive IVs above ``IV_PERCENT_THRESHOLD``).

    Parameters
    ----------
    iv : array-like
        The IVs as read.
    path : path-like or None
        Named in the message.
    wants : str
        Who wants decimals, for the message (``"the table"``, ``"CBOE's JSON"``).

    Raises
    ------
    ChainDataError
        ``iv looks like percent (median 25); <wants> gives decimals (0.25)``.

    Examples
    --------
    >>> check_iv_is_decimal(np.array([0.2, 0.25, np.nan]), path=None, wants="the table")
    """
    values = np.asarray(iv, dtype=float)
    positive = values[np.isfinite(values) & (values > 0)]
    if positive.size and float(np.median(positive)) > IV_PERCENT_THRESHOLD:
        median = float(np.median(positive))
        raise ChainDataError(
            f"iv looks like percent (median {median:.3g}); {wants} wants decimals ({median / 100:.3g})",
            path=path, field="iv",
        )


def json_depth(text: str | bytes) -> int:
    """The deepest nesting of arrays and objects in a JSON text, without parsing it (vectorised).

    Brackets inside strings do not count. Malformed text gives a number too (the parser refuses it).

    Examples
    --------
    >>> json_depth('{"a": [1, {"b": "[[["}]}'), json_depth("3"), json_depth("[" * 100_000)
    (3, 0, 100000)
    """
    raw = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else bytes(text)
    codes = np.frombuffer(_JSON_STRING.sub(b'""', raw), np.uint8)
    opens, closes = np.isin(codes, _OPEN), np.isin(codes, _CLOSE)
    steps = opens.astype(np.int64) - closes
    steps = steps[opens | closes]
    return int(np.cumsum(steps).max()) if steps.size else 0


def loads_json(text: str, *, path: str | Path | None = None, max_depth: int = MAX_JSON_DEPTH) -> object:
    """Parse JSON text, refusing a nesting deeper than ``max_depth`` before parsing.

    Raises
    ------
    ChainDataError
        Too deep, or not valid JSON (with the parser's line and column).

    Examples
    --------
    >>> loads_json('{"result": [1, 2]}')
    {'result': [1, 2]}
    >>> loads_json("[" * 100_000, path="deep.json")
    Traceback (most recent call last):
    ...
    analytics.errors.ChainDataError: deep.json: JSON nested 100,000 deep: the limit is 64
    """
    depth = json_depth(text)
    if depth > max_depth:
        raise ChainDataError(f"JSON nested {depth:,} deep: the limit is {max_depth}", path=path)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ChainDataError(
            f"not valid JSON (truncated?): {exc.msg} at line {exc.lineno} column {exc.colno}", path=path
        ) from exc
