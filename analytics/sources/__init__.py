"""Input formats, detected by content, each turned into the one chain model.

Every format is declared once, in its own module, as a :class:`~analytics.sources.common.Source`
(name, content sniffer, loader) in that module's ``SOURCES``. ``_MODULES`` below lists the modules;
``REGISTRY`` and ``FORMATS`` are built from it. **A new format is one new module declaring
``SOURCES`` plus one entry in** ``_MODULES``. The shared helpers (checked reading, "not a number" at a
line, percent-vs-decimal IV) live in :mod:`analytics.sources.common`.

:func:`load_chain` is the single entry point: it checks the file (exists, not empty, at most
``MAX_FILE_BYTES``), sniffs the first ``SNIFF_BYTES`` to decide the format (never the file name;
sniffers are tried in registry order), reads it with the matching loader and wraps any parser
failure into a :class:`~analytics.errors.ChainDataError` that names the file.

============================ ===================================================================
format (``detect_format``)   what it is
============================ ===================================================================
``table-parquet``            the canonical table, Parquet (:mod:`.table`)
``table-csv``                the canonical table, CSV
``cboe-json``                CBOE delayed quotes JSON (``cdn.cboe.com/api/global/delayed_quotes``,
                             :mod:`.cboe_json`; :mod:`.fetch` downloads it)
``cboe``                     CBOE delayed quote table download, CSV (:mod:`.cboe`)
``deribit-book-summary``     Deribit ``public/get_book_summary_by_currency``, JSON or CSV
                             (:mod:`.deribit`)
``deribit-ticker``           Deribit ``public/ticker`` records with greeks, JSON or CSV
``book``                     a positions file (:mod:`.book`); not a chain: use ``load_book``
============================ ===================================================================
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pandas as pd

from analytics.chain import OptionChain
from analytics.errors import ChainDataError
from analytics.sources import book, cboe, cboe_json, deribit, table
from analytics.sources.common import (
    DATE_ORDERS,
    MAX_FILE_BYTES,
    SNIFF_BYTES,
    DateOrder,
    Source,
    checked_size,
    loads_json,
    read_head,
    read_text_file,
)

# The registry: one entry per format module, in sniffing order (binary formats first).
_MODULES = (table, cboe_json, cboe, deribit, book)
REGISTRY: tuple[Source, ...] = tuple(source for module in _MODULES for source in module.SOURCES)
FORMATS: tuple[str, ...] = tuple(source.name for source in REGISTRY)
_PARSER_ERRORS = (
    pd.errors.ParserError,
    pd.errors.EmptyDataError,
    UnicodeDecodeError,
    json.JSONDecodeError,
    csv.Error,
)

__all__ = [
    "DATE_ORDERS",
    "FORMATS",
    "MAX_FILE_BYTES",
    "REGISTRY",
    "SNIFF_BYTES",
    "checked_size",
    "detect_format",
    "load_chain",
    "read_text_file",
    "source_named",
]


def source_named(name: str) -> Source:
    """The registered :class:`~analytics.sources.common.Source` called ``name``.

    Raises
    ------
    KeyError
        For a name not in ``FORMATS``.
    """
    found = next((source for source in REGISTRY if source.name == name), None)
    if found is None:
        raise KeyError(f"no source named {name!r}; registered: {', '.join(FORMATS)}")
    return found


def _detect(path: Path) -> Source:
    head = read_head(path)
    for source in REGISTRY:
        if source.sniff(head):
            return source
    if not head.text.strip():
        raise ChainDataError("empty file (only blank lines)", path=path)
    if head.text.lstrip().startswith("{") and '"error"' in head.text and len(head.raw) < SNIFF_BYTES:
        try:  # a saved API error response (small): pass the API's own message on
            message = deribit.api_error_text(loads_json(head.text, path=path))
        except ChainDataError:
            message = None
        if message:
            raise ChainDataError(message, path=path)
    first = " ".join(head.text.split())[:60]
    supported = ", ".join(source.name for source in REGISTRY)
    raise ChainDataError(f"unknown format ({describe_start(head.text)}, starts {first!r}); supported: {supported}",
                         path=path)


def describe_start(text: str) -> str:
    r"""What the start of an unreadable text file looks like, in words that quote none of it: a banner
    redacts the quoted excerpt (:func:`analytics.catalog.public_reason`), and this still tells the desk
    what the file is.

    Examples
    --------
    >>> describe_start("password,token\nhunter2,SECRET\n")
    'comma-separated text, 2 fields on its first line'
    >>> describe_start('{"api_key": "sk-live"}'), describe_start("<!DOCTYPE html><html>")
    ('a JSON object', 'an HTML page')
    """
    stripped = text.lstrip()
    lowered = stripped[:512].lower()
    if stripped.startswith("{"):
        return "a JSON object"
    if stripped.startswith("["):
        return "a JSON array"
    if stripped.startswith("<") and ("<html" in lowered or "<!doctype html" in lowered):
        return "an HTML page"
    if stripped.startswith("<"):
        return "XML or markup"
    line = stripped.splitlines()[0] if stripped else ""
    for sep, name in ((",", "comma"), ("\t", "tab"), (";", "semicolon"), ("|", "pipe")):
        if sep in line:
            return f"{name}-separated text, {line.count(sep) + 1} fields on its first line"
    return "plain text"


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
        No such file, empty, larger than ``MAX_FILE_BYTES`` (checked on the opened file before
        it is read, :func:`~analytics.sources.common.read_input`), binary junk, or a format that is not supported (the message lists those that are).
    """
    return _detect(Path(path)).name


def load_chain(
    path: str | Path,
    *,
    multiplier: float | None = None,
    as_of: pd.Timestamp | str | None = None,
    date_order: DateOrder | None = None,
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
    date_order : {"dmy", "mdy"}, optional
        How a numeric date whose day and month could swap (``07/01/2024``) is read (``DATE_ORDERS``,
        the CLI's ``--date-order``). Without it such a date is read only where the file decides the
        order (a day above 12, the expiry column against its OCC symbols), else refused.

    Returns
    -------
    OptionChain

    Raises
    ------
    ChainDataError
        One line naming the file and the problem (and the line and field where known).
    """
    path = Path(path)
    source = _detect(path)
    fmt = source.name
    try:
        if date_order is None:  # a loader whose dates cannot be ambiguous need not take the argument
            return source.load(path, multiplier=multiplier, as_of=as_of)
        return source.load(path, multiplier=multiplier, as_of=as_of, date_order=date_order)
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
