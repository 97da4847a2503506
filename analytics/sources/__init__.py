"""Input formats, detected by content, each turned into the one chain model.

:func:`load_chain` is the single entry point: it checks the file (exists, not empty, at most
``MAX_FILE_BYTES``), sniffs the first ``SNIFF_BYTES`` to decide the format (never the file name),
reads it with the matching module and wraps any parser failure into a
:class:`~analytics.errors.ChainDataError` that names the file.

============================ ===================================================================
format (``detect_format``)   what it is
============================ ===================================================================
``cboe``                     CBOE delayed quote table download, CSV (:mod:`.cboe`)
``cboe-json``                CBOE delayed quotes JSON (``cdn.cboe.com/api/global/delayed_quotes``,
                             :func:`.fetch.parse_cboe_delayed_json`)
``deribit-book-summary``     Deribit ``public/get_book_summary_by_currency``, JSON or CSV
                             (:mod:`.deribit`)
``deribit-ticker``           Deribit ``public/ticker`` records with greeks, JSON or CSV
``table-csv``                the canonical table, CSV (:mod:`.table`)
``table-parquet``            the canonical table, Parquet
``book``                     a positions file (:mod:`.book`); not a chain: use ``load_book``
============================ ===================================================================
"""

from __future__ import annotations

import csv
import json
import os
import re
from pathlib import Path

import pandas as pd
from pyarrow import ArrowException

from analytics.chain import OptionChain
from analytics.errors import ChainDataError

MAX_FILE_BYTES = 32 * 1024 * 1024
SNIFF_BYTES = 8192
FORMATS: tuple[str, ...] = (
    "cboe",
    "cboe-json",
    "deribit-book-summary",
    "deribit-ticker",
    "table-csv",
    "table-parquet",
    "book",
)
_CBOE_JSON = re.compile(r'"option"\s*:\s*"[A-Z]+\d{6}[CP]\d{8}"')
_PARSER_ERRORS = (
    pd.errors.ParserError,
    pd.errors.EmptyDataError,
    UnicodeDecodeError,
    json.JSONDecodeError,
    ArrowException,
    csv.Error,
)

__all__ = ["FORMATS", "MAX_FILE_BYTES", "checked_size", "detect_format", "load_chain", "read_text_file"]


def checked_size(path: str | Path) -> int:
    """Size of ``path`` in bytes, after checking it exists, is a file, is not empty and is at most
    ``MAX_FILE_BYTES`` (``os.stat`` only: nothing is read).

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
    if not path.is_file():
        raise ChainDataError("not a regular file", path=path)
    if st.st_size == 0:
        raise ChainDataError("empty file", path=path)
    if st.st_size > MAX_FILE_BYTES:
        raise ChainDataError(
            f"file too large: {st.st_size / 2**20:.1f} MiB, the limit is {MAX_FILE_BYTES / 2**20:.0f} MiB "
            "(trim the chain to the expiries you need)",
            path=path,
        )
    return st.st_size


def read_text_file(path: str | Path) -> str:
    """The text of an input file after :func:`checked_size` (UTF-8, with or without a BOM).

    Raises
    ------
    ChainDataError
        For a missing, empty, too large or binary file, naming it.
    """
    path = Path(path)
    checked_size(path)
    try:
        return path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ChainDataError("not a text file (binary content)", path=path) from exc


def _head_text(head: bytes, path: Path) -> str:
    if b"\x00" in head:
        raise ChainDataError("binary content, not a text file", path=path)
    for cut in range(4):  # the sniff window may split a multi-byte character
        try:
            return head[: len(head) - cut].decode("utf-8-sig")
        except UnicodeDecodeError:
            continue
    raise ChainDataError("binary content, not a UTF-8 text file", path=path)


def _format_of_text(text: str) -> str | None:
    from analytics.sources.book import looks_like_book
    from analytics.sources.cboe import looks_like_cboe
    from analytics.sources.deribit import looks_like_deribit
    from analytics.sources.table import looks_like_table

    stripped = text.lstrip()
    if stripped.startswith(("{", "[")):
        if _CBOE_JSON.search(text):
            return "cboe-json"
        return looks_like_deribit(stripped)
    if looks_like_cboe(text):
        return "cboe"
    for name, test in (("deribit", looks_like_deribit), ("table-csv", looks_like_table), ("book", looks_like_book)):
        found = test(stripped)
        if found:
            return found if name == "deribit" else name
    return None


def detect_format(path: str | Path) -> str:
    """Name the format of a file from its content (the first ``SNIFF_BYTES``), never its name.

    Parameters
    ----------
    path : path-like
        The file.

    Returns
    -------
    str
        One of ``FORMATS``.

    Raises
    ------
    ChainDataError
        No such file, empty, larger than ``MAX_FILE_BYTES`` (checked with ``os.stat`` before any
        read), binary junk, or a format that is not supported (the message lists those that are).
    """
    path = Path(path)
    checked_size(path)
    with path.open("rb") as fh:
        head = fh.read(SNIFF_BYTES)
    if head.startswith(b"PAR1"):
        return "table-parquet"
    text = _head_text(head, path)
    if not text.strip():
        raise ChainDataError("empty file (only blank lines)", path=path)
    found = _format_of_text(text)
    if found is None:
        first = " ".join(text.split())[:60]
        raise ChainDataError(
            f"unknown format (starts {first!r}); supported: {', '.join(FORMATS)}", path=path
        )
    return found


def _check_not_truncated(text: str, path: Path) -> None:
    """A CSV cut mid-line: its last line (no final newline) has fewer fields than the header."""
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


def load_chain(
    path: str | Path,
    *,
    multiplier: float | None = None,
    as_of: pd.Timestamp | str | None = None,
) -> OptionChain:
    """Load any supported option-chain file into an :class:`~analytics.chain.OptionChain`.

    Parameters
    ----------
    path : path-like
        The file; its format is detected by content (:func:`detect_format`).
    multiplier : float, optional
        Contract multiplier for formats that do not carry one (CBOE: default 100; canonical
        table rows without a ``multiplier``). Deribit is always 1 (open interest in coins).
    as_of : Timestamp or str, optional
        Snapshot time for Deribit files that carry none (see :mod:`analytics.sources.deribit`).

    Returns
    -------
    OptionChain

    Raises
    ------
    ChainDataError
        One line naming the file and the problem (and the line and field where known).
    """
    from analytics.sources.cboe import read_cboe_text
    from analytics.sources.deribit import read_deribit_text
    from analytics.sources.fetch import parse_cboe_delayed_json
    from analytics.sources.table import load_table, read_table_text

    path = Path(path)
    fmt = detect_format(path)
    try:
        if fmt == "table-parquet":
            return load_table(path, multiplier=multiplier)
        if fmt == "book":
            raise ChainDataError(
                "this is a positions (book) file, not an option chain: apply it to a chain with load_book",
                path=path,
            )
        text = path.read_text(encoding="utf-8-sig")
        if fmt == "cboe-json":
            return parse_cboe_delayed_json(
                json.loads(text), source=path, multiplier=100.0 if multiplier is None else multiplier
            )
        if fmt == "cboe":  # its loader checks every row's width against the header
            return read_cboe_text(text, path, multiplier=100.0 if multiplier is None else multiplier)
        _check_not_truncated(text, path)
        if fmt.startswith("deribit"):
            return read_deribit_text(text, path, as_of=as_of)
        return read_table_text(text, path, multiplier=multiplier)
    except ChainDataError as exc:
        if exc.path:
            raise
        raise exc.with_path(path) from exc
    except json.JSONDecodeError as exc:
        raise ChainDataError(
            f"not valid JSON (truncated?): {exc.msg} at line {exc.lineno} column {exc.colno}", path=path
        ) from exc
    except _PARSER_ERRORS as exc:
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ChainDataError(f"cannot parse the {fmt} file: {detail}", path=path) from exc

