"""Optional live snapshots (standard library ``urllib`` only): network fetching only.

Nothing here runs at import time; nothing in the test suite touches the network (the HTTP call is
an injectable ``opener``).

* Deribit: ``GET https://www.deribit.com/api/v2/public/get_book_summary_by_currency?currency=BTC&kind=option``
  plus ``public/get_index_price?index_name=btc_usd``. The snapshot file is the JSON-RPC response
  with an extra ``mmpos`` object: ``{"source": "deribit", "currency": "BTC", "as_of": ISO time the
  response was received (UTC), "index_price": spot, "url": ...}``, so the loader knows the time and
  the spot without guessing.
* CBOE: ``GET https://cdn.cboe.com/api/global/delayed_quotes/options/_SPX.json`` (indices take a
  leading underscore, equities and ETFs do not). Layout, as used by public clients of the feed
  (OpenBB's ``openbb_cboe`` options-chains fetcher among them): ``{"timestamp": "YYYY-MM-DD
  HH:MM:SS", "data": {"symbol": "_SPX", "current_price": ..., "options": [{"option":
  "SPXW240119C04700000", "bid", "ask", "iv" (decimal), "open_interest", "volume", "delta",
  "gamma", "theta", "vega", "theo", "last_trade_price", "last_trade_time", ...}, ...]}}``.
  The saved file is read by :mod:`analytics.sources.cboe_json`.

Both base URLs are parameters (``base_url``; the dashboard passes ``MMPOS_DERIBIT_BASE_URL`` and
``MMPOS_CBOE_BASE_URL``), so a test serves recorded answers from a local HTTP server. A failed fetch
raises :class:`FetchError` (a :class:`ChainDataError`) carrying the HTTP status and the server's
``Retry-After`` seconds, so a scheduler (:mod:`dashboard.collect`) can back off. Snapshots are written
under a dotted temporary name (never listed by the catalog) and renamed into place (``os.replace``).
"""

from __future__ import annotations

import datetime as dt
import http.client
import json
import os
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from analytics.errors import ChainDataError
from analytics.sources.common import loads_json
from analytics.sources.deribit import api_error_text

DERIBIT_API = "https://www.deribit.com/api/v2/public"
CBOE_DELAYED_API = "https://cdn.cboe.com/api/global/delayed_quotes/options"  # + "/{symbol}.json"
CBOE_INDEX_SYMBOLS = frozenset({"SPX", "NDX", "RUT", "VIX", "XSP", "DJX", "OEX", "XEO", "MXEA", "MXEF"})
TIMEOUT_SECONDS = 30
MAX_RESPONSE_BYTES = 32 * 1024 * 1024
USER_AGENT = "mmpos/0.1 (+https://github.com/; option chain snapshot)"

Opener = Callable[..., Any]


class FetchError(ChainDataError):
    """A fetch that failed: ``status`` is the HTTP status (None when no answer came: unreachable,
    timed out, cut short or unreadable), ``retry_after_s`` the server's ``Retry-After`` in seconds
    (HTTP 429 and 503 send it), else None."""

    def __init__(self, reason: str, *, path: str | None = None, status: int | None = None,
                 retry_after_s: float | None = None) -> None:
        super().__init__(reason, path=path)
        self.status = status
        self.retry_after_s = retry_after_s


def _retry_after_s(value: str | None, now: dt.datetime) -> float | None:
    """``Retry-After`` as seconds from ``now``: delta-seconds or an HTTP date; None when absent or unreadable.

    Examples
    --------
    >>> _retry_after_s("120", dt.datetime(2025, 1, 1, tzinfo=dt.UTC))
    120.0
    >>> _retry_after_s("Wed, 01 Jan 2025 00:00:30 GMT", dt.datetime(2025, 1, 1, tzinfo=dt.UTC))
    30.0
    """
    if not value:
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        from email.utils import parsedate_to_datetime

        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return max(0.0, (when - now).total_seconds())


def _get_json(url: str, opener: Opener) -> Any:
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT, "Accept": "application/json"})
    try:
        with opener(request, timeout=TIMEOUT_SECONDS) as response:
            body = response.read(MAX_RESPONSE_BYTES + 1)
    except urllib.error.HTTPError as exc:  # Deribit answers errors with HTTP 400 and a JSON-RPC error body
        retry = _retry_after_s(exc.headers.get("Retry-After") if exc.headers else None, _now_utc())
        raise FetchError(_api_message(exc) or f"HTTP {exc.code} {exc.reason}", path=url, status=exc.code,
                         retry_after_s=retry) from exc
    except (urllib.error.URLError, TimeoutError) as exc:
        raise FetchError(f"cannot reach the server ({getattr(exc, 'reason', exc)})", path=url) from exc
    except (http.client.HTTPException, ConnectionError) as exc:  # IncompleteRead: the body was cut short
        raise FetchError(f"the answer was cut short ({type(exc).__name__})", path=url) from exc
    if len(body) > MAX_RESPONSE_BYTES:
        raise ChainDataError(f"response larger than {MAX_RESPONSE_BYTES // 2**20} MiB", path=url)
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise FetchError(f"the response is not JSON ({exc})", path=url) from exc
    try:
        return loads_json(text, path=url)  # refuses a too-deep response before parsing
    except ChainDataError as exc:  # a body cut short without a length header ends here
        raise FetchError(exc.reason, path=url) from exc


def _api_message(exc: urllib.error.HTTPError) -> str | None:
    """The API's own reason in an error response's JSON body (Deribit's JSON-RPC ``error``), if any."""
    try:
        text = exc.read(64 * 1024).decode("utf-8")
        message = api_error_text(loads_json(text))
    except (OSError, UnicodeDecodeError, ChainDataError, AttributeError, TypeError):
        return None
    return message.replace("the file holds", "the server answered", 1) if message else None


def _now_utc() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _write(obj: Any, out_dir: Path, name: str) -> Path:
    """Write ``obj`` as ``out_dir/name`` atomically: a dotted temporary file (the catalog skips dotted
    names, so a scan never sees it half written), flushed to disk, then renamed over the name."""
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / name
    tmp = out_dir / f".{name}.{os.getpid()}.part"
    try:
        with open(tmp, "w", encoding="utf-8") as out:
            out.write(json.dumps(obj))
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def fetch_deribit(
    currency: str,
    out_dir: str | Path,
    *,
    opener: Opener = urllib.request.urlopen,
    now: Callable[[], dt.datetime] = _now_utc,
    base_url: str | None = None,
    prefix: str = "",
) -> Path:
    """Fetch Deribit's option book summary and index price for ``currency`` and save a snapshot.

    Parameters
    ----------
    currency : str
        ``"BTC"`` or ``"ETH"`` (any Deribit option currency).
    out_dir : path-like
        Directory for ``deribit_<cur>_book_summary_<UTC time>.json``.
    opener : callable
        ``urllib.request.urlopen`` or a test double with the same signature.
    now : callable
        Clock returning an aware UTC datetime (injectable for tests).
    base_url : str, optional
        Deribit's public API root (default :data:`DERIBIT_API`).
    prefix : str
        Put before the file name (``mmpos collect`` marks its files ``collect_``).

    Returns
    -------
    Path
        The written file, loadable with :func:`analytics.sources.load_chain`.
    """
    api = (base_url or DERIBIT_API).rstrip("/")
    cur = currency.strip().upper()
    query = urllib.parse.urlencode({"currency": cur, "kind": "option"})
    book_url = f"{api}/get_book_summary_by_currency?{query}"
    book = _get_json(book_url, opener)
    received = now()
    index = _get_json(
        f"{api}/get_index_price?{urllib.parse.urlencode({'index_name': cur.lower() + '_usd'})}", opener
    )
    if not isinstance(book, dict) or not isinstance(book.get("result"), list):
        message = api_error_text(book)
        if message:
            raise ChainDataError(message.replace("the file holds", "the server answered", 1), path=book_url)
        raise ChainDataError(f"unexpected Deribit answer: {str(book)[:120]}", path=book_url)
    try:
        index_price = float(index["result"]["index_price"])
    except (KeyError, TypeError, ValueError) as exc:
        raise ChainDataError(f"unexpected get_index_price answer: {str(index)[:120]}", path=api) from exc
    book["mmpos"] = {
        "source": "deribit",
        "currency": cur,
        "as_of": received.isoformat(),
        "index_price": index_price,
        "url": book_url,
    }
    return _write(book, Path(out_dir), f"{prefix}deribit_{cur.lower()}_book_summary_{received:%Y%m%dT%H%M%SZ}.json")


TRADES_PAGE = 1000  # Deribit's largest ``count``
MAX_TRADE_PAGES = 50  # at most 50,000 trades a fetch; beyond, the window written ends at the last trade read


def fetch_deribit_trades(
    currency: str,
    out_dir: str | Path,
    start: dt.datetime,
    end: dt.datetime,
    *,
    opener: Opener = urllib.request.urlopen,
    base_url: str | None = None,
    name_for: Callable[[dt.datetime, dt.datetime], str],
    max_pages: int = MAX_TRADE_PAGES,
) -> Path:
    """Fetch Deribit's option trades of ``currency`` from ``start`` to ``end`` and save them.

    ``GET <api>/get_last_trades_by_currency_and_time?currency=BTC&kind=option&start_timestamp=<ms>&
    end_timestamp=<ms>&count=1000&sorting=asc``, page after page while ``has_more`` (the next page
    starts at the last trade's millisecond: a trade seen twice is counted once by its ``trade_id``).
    Deribit answers only the last 24 hours. The file (:func:`analytics.trades.trades_file_name`) holds
    the trades as ``result.trades`` and ``mmpos`` = ``{"source": "deribit", "kind": "trades",
    "currency", "start", "end", "url", "pages"}``; ``end`` is where the pages stopped when
    ``max_pages`` ran out (the window then says what was read). ``name_for(start, end)`` names the file
    (:func:`analytics.trades.trades_file_name`: the trades module reads these sources, not the reverse).

    Returns
    -------
    Path
        The written file, read by :func:`analytics.trades.read_trades_file`.
    """
    api = (base_url or DERIBIT_API).rstrip("/")
    cur = currency.strip().upper()
    start_ms = int(start.timestamp() * 1000)
    end_ms = int(end.timestamp() * 1000)
    since_ms, reached_ms, collected, first_url = start_ms, end_ms, [], ""
    for page in range(max_pages):
        query = urllib.parse.urlencode({"currency": cur, "kind": "option", "start_timestamp": since_ms,
                                        "end_timestamp": end_ms, "count": TRADES_PAGE, "sorting": "asc"})
        url = f"{api}/get_last_trades_by_currency_and_time?{query}"
        first_url = first_url or url
        answer = _get_json(url, opener)
        result = answer.get("result") if isinstance(answer, dict) else None
        batch = result.get("trades") if isinstance(result, dict) else None
        if not isinstance(result, dict) or not isinstance(batch, list):
            message = api_error_text(answer)
            raise FetchError((message or f"unexpected Deribit trades answer: {str(answer)[:120]}").replace(
                "the file holds", "the server answered", 1), path=url)
        collected.extend(batch)
        if not result.get("has_more") or not batch:
            break
        last_ms = int(batch[-1].get("timestamp", since_ms)) if isinstance(batch[-1], dict) else since_ms
        if last_ms <= since_ms or page == max_pages - 1:  # no progress, or out of pages: say how far it got
            reached_ms = max(start_ms, last_ms - 1)
            break
        since_ms = last_ms
    reached = dt.datetime.fromtimestamp(reached_ms / 1000, tz=dt.UTC)
    body = {"jsonrpc": "2.0", "result": {"trades": collected, "has_more": reached_ms < end_ms},
            "mmpos": {"source": "deribit", "kind": "trades", "currency": cur, "start": start.isoformat(),
                      "end": reached.isoformat(), "url": first_url}}
    return _write(body, Path(out_dir), name_for(start, reached))


def fetch_cboe(
    symbol: str,
    out_dir: str | Path,
    *,
    opener: Opener = urllib.request.urlopen,
    now: Callable[[], dt.datetime] = _now_utc,
    base_url: str | None = None,
    prefix: str = "",
) -> Path:
    """Fetch CBOE's delayed option quotes JSON for ``symbol`` and save it with the fetch time.

    Parameters
    ----------
    symbol : str
        ``"SPX"``, ``"NDX"``, ``"SPY"``...; indices get CBOE's leading underscore.
    out_dir : path-like
        Directory for ``cboe_<symbol>_<UTC time>.json``.
    opener, now, prefix : callable, callable, str
        As in :func:`fetch_deribit`.
    base_url : str, optional
        The delayed-quotes root (default :data:`CBOE_DELAYED_API`); the file is ``<root>/<symbol>.json``.

    Returns
    -------
    Path
        The written file.
    """
    sym = symbol.strip().upper().lstrip("_^")
    url = f"{(base_url or CBOE_DELAYED_API).rstrip('/')}/{f'_{sym}' if sym in CBOE_INDEX_SYMBOLS else sym}.json"
    obj = _get_json(url, opener)
    received = now()
    if not isinstance(obj, dict) or not isinstance(obj.get("data"), dict):
        raise ChainDataError(f"unexpected CBOE answer: {str(obj)[:120]}", path=url)
    obj["mmpos"] = {"source": "cboe", "symbol": sym, "fetched_at": received.isoformat(), "url": url}
    return _write(obj, Path(out_dir), f"{prefix}cboe_{sym.lower()}_{received:%Y%m%dT%H%M%SZ}.json")


def fetch(
    source: str,
    symbol: str,
    out_dir: str | Path,
    *,
    opener: Opener = urllib.request.urlopen,
    now: Callable[[], dt.datetime] = _now_utc,
    base_url: str | None = None,
    prefix: str = "",
) -> Path:
    """Fetch one live snapshot and return the written file (the CLI's entry point).

    Parameters
    ----------
    source : {"deribit", "cboe"}
        Where from.
    symbol : str
        Currency for Deribit (``BTC``, ``ETH``), ticker for CBOE (``SPX``).
    out_dir : path-like
        Destination directory.
    opener : callable
        ``urllib.request.urlopen`` or a test double.
    now : callable
        Clock returning an aware UTC datetime (injectable for tests).
    base_url : str, optional
        The source's API root (default: the live one).
    prefix : str
        Put before the file name.

    Returns
    -------
    Path
        The written snapshot, loadable with :func:`analytics.sources.load_chain`.
    """
    name = source.strip().lower()
    if name == "deribit":
        return fetch_deribit(symbol, out_dir, opener=opener, now=now, base_url=base_url, prefix=prefix)
    if name == "cboe":
        return fetch_cboe(symbol, out_dir, opener=opener, now=now, base_url=base_url, prefix=prefix)
    raise ChainDataError(f"unknown source {source!r}; supported: deribit, cboe")
