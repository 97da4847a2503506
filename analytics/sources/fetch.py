"""Optional live snapshots (standard library ``urllib`` only) and the CBOE delayed-quotes JSON parser.

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
  The option symbol is OCC style: root, ``YYMMDD``, ``C``/``P``, strike x 1000 on 8 digits.
  ``timestamp`` carries no zone. It is read as UTC; when the file also carries our own fetch
  time (``mmpos.fetched_at``) the reading (UTC or New York) closer to it is used. A warning says
  which.
"""

from __future__ import annotations

import datetime as dt
import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from analytics.chain import NEW_YORK, OptionChain, make_chain, settlement_instants, underlying_for_root
from analytics.errors import ChainDataError

DERIBIT_API = "https://www.deribit.com/api/v2/public"
CBOE_DELAYED_URL = "https://cdn.cboe.com/api/global/delayed_quotes/options/{symbol}.json"
CBOE_INDEX_SYMBOLS = frozenset({"SPX", "NDX", "RUT", "VIX", "XSP", "DJX", "OEX", "XEO", "MXEA", "MXEF"})
TIMEOUT_SECONDS = 30
MAX_RESPONSE_BYTES = 32 * 1024 * 1024
USER_AGENT = "mmpos/0.1 (+https://github.com/; option chain snapshot)"
OCC_PATTERN = r"^(?P<root>[A-Z]+)(?P<ymd>\d{6})(?P<side>[CP])(?P<strike>\d{8})$"

Opener = Callable[..., Any]


def _get_json(url: str, opener: Opener) -> Any:
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT, "Accept": "application/json"})
    try:
        with opener(request, timeout=TIMEOUT_SECONDS) as response:
            body = response.read(MAX_RESPONSE_BYTES + 1)
    except urllib.error.HTTPError as exc:
        raise ChainDataError(f"HTTP {exc.code} {exc.reason}", path=url) from exc
    except (urllib.error.URLError, TimeoutError) as exc:
        raise ChainDataError(f"cannot reach the server ({getattr(exc, 'reason', exc)})", path=url) from exc
    if len(body) > MAX_RESPONSE_BYTES:
        raise ChainDataError(f"response larger than {MAX_RESPONSE_BYTES // 2**20} MiB", path=url)
    try:
        return json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ChainDataError(f"the response is not JSON ({exc})", path=url) from exc


def _now_utc() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _write(obj: Any, out_dir: Path, name: str) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / name
    tmp = path.with_suffix(path.suffix + ".part")
    tmp.write_text(json.dumps(obj), encoding="utf-8")
    tmp.replace(path)
    return path


def fetch_deribit(
    currency: str,
    out_dir: str | Path,
    *,
    opener: Opener = urllib.request.urlopen,
    now: Callable[[], dt.datetime] = _now_utc,
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

    Returns
    -------
    Path
        The written file, loadable with :func:`analytics.sources.load_chain`.
    """
    cur = currency.strip().upper()
    query = urllib.parse.urlencode({"currency": cur, "kind": "option"})
    book_url = f"{DERIBIT_API}/get_book_summary_by_currency?{query}"
    book = _get_json(book_url, opener)
    received = now()
    index = _get_json(
        f"{DERIBIT_API}/get_index_price?{urllib.parse.urlencode({'index_name': cur.lower() + '_usd'})}", opener
    )
    if not isinstance(book, dict) or not isinstance(book.get("result"), list):
        raise ChainDataError(f"unexpected Deribit answer: {str(book)[:120]}", path=book_url)
    try:
        index_price = float(index["result"]["index_price"])
    except (KeyError, TypeError, ValueError) as exc:
        raise ChainDataError(f"unexpected get_index_price answer: {str(index)[:120]}", path=DERIBIT_API) from exc
    book["mmpos"] = {
        "source": "deribit",
        "currency": cur,
        "as_of": received.isoformat(),
        "index_price": index_price,
        "url": book_url,
    }
    return _write(book, Path(out_dir), f"deribit_{cur.lower()}_book_summary_{received:%Y%m%dT%H%M%SZ}.json")


def fetch_cboe(
    symbol: str,
    out_dir: str | Path,
    *,
    opener: Opener = urllib.request.urlopen,
    now: Callable[[], dt.datetime] = _now_utc,
) -> Path:
    """Fetch CBOE's delayed option quotes JSON for ``symbol`` and save it with the fetch time.

    Parameters
    ----------
    symbol : str
        ``"SPX"``, ``"NDX"``, ``"SPY"``...; indices get CBOE's leading underscore.
    out_dir : path-like
        Directory for ``cboe_<symbol>_<UTC time>.json``.
    opener, now : callable
        As in :func:`fetch_deribit`.

    Returns
    -------
    Path
        The written file.
    """
    sym = symbol.strip().upper().lstrip("_^")
    url = CBOE_DELAYED_URL.format(symbol=f"_{sym}" if sym in CBOE_INDEX_SYMBOLS else sym)
    obj = _get_json(url, opener)
    received = now()
    if not isinstance(obj, dict) or not isinstance(obj.get("data"), dict):
        raise ChainDataError(f"unexpected CBOE answer: {str(obj)[:120]}", path=url)
    obj["mmpos"] = {"source": "cboe", "symbol": sym, "fetched_at": received.isoformat(), "url": url}
    return _write(obj, Path(out_dir), f"cboe_{sym.lower()}_{received:%Y%m%dT%H%M%SZ}.json")


def fetch(
    source: str,
    symbol: str,
    out_dir: str | Path,
    *,
    opener: Opener = urllib.request.urlopen,
    now: Callable[[], dt.datetime] = _now_utc,
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

    Returns
    -------
    Path
        The written snapshot, loadable with :func:`analytics.sources.load_chain`.
    """
    name = source.strip().lower()
    if name == "deribit":
        return fetch_deribit(symbol, out_dir, opener=opener, now=now)
    if name == "cboe":
        return fetch_cboe(symbol, out_dir, opener=opener, now=now)
    raise ChainDataError(f"unknown source {source!r}; supported: deribit, cboe")


def _cboe_as_of(obj: dict[str, Any], source: str) -> tuple[pd.Timestamp, str]:
    stamp = obj.get("timestamp") or obj.get("data", {}).get("timestamp")
    fetched = (obj.get("mmpos") or {}).get("fetched_at")
    if not stamp:
        if fetched:
            return pd.Timestamp(fetched).tz_convert("UTC"), "CBOE timestamp missing: the fetch time is the snapshot"
        raise ChainDataError("no timestamp in the CBOE JSON", path=source, field="timestamp")
    try:
        naive = pd.Timestamp(stamp)
    except ValueError as exc:
        raise ChainDataError(f"unreadable timestamp {stamp!r}", path=source, field="timestamp") from exc
    if naive.tzinfo is not None:
        return naive, ""
    as_utc = naive.tz_localize("UTC")
    if fetched:
        as_ny = naive.tz_localize(NEW_YORK)
        got = pd.Timestamp(fetched)
        if abs(as_ny - got) < abs(as_utc - got):
            return as_ny, f"CBOE timestamp {stamp} read as New York time (closest to the fetch time)"
        return as_utc, f"CBOE timestamp {stamp} read as UTC (closest to the fetch time)"
    return as_utc, f"CBOE timestamp {stamp} has no zone: read as UTC"


def parse_cboe_delayed_json(
    obj: dict[str, Any], *, source: str | Path = "", multiplier: float = 100.0
) -> OptionChain:
    """Turn a CBOE delayed-quotes JSON object into an :class:`OptionChain` (BSM on spot).

    Parameters
    ----------
    obj : dict
        The parsed JSON (see the module docstring for the layout).
    source : path-like
        Named in messages.
    multiplier : float
        Contract multiplier (100 for US listed options).

    Returns
    -------
    OptionChain

    Raises
    ------
    ChainDataError
        Missing ``data.options`` or ``current_price``, unreadable option symbols, bad numbers.
    """
    src = str(source)
    data = obj.get("data") if isinstance(obj, dict) else None
    if not isinstance(data, dict) or not isinstance(data.get("options"), list):
        raise ChainDataError("not a CBOE delayed-quotes JSON (no data.options list)", path=src or None)
    if not data["options"]:
        raise ChainDataError("no option rows (data.options is empty)", path=src or None)
    spot = pd.to_numeric(pd.Series([data.get("current_price")]), errors="coerce").iloc[0]
    if not np.isfinite(spot) or spot <= 0:
        raise ChainDataError(f"current_price is not a positive number ({data.get('current_price')!r})",
                             path=src or None, field="current_price")
    options = pd.DataFrame.from_records(data["options"])
    if "option" not in options.columns:
        raise ChainDataError("options carry no 'option' symbol", path=src or None, field="option")
    parts = options["option"].astype(str).str.strip().str.extract(OCC_PATTERN)
    bad = parts["root"].isna().to_numpy()
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ChainDataError(
            f"option {i}: cannot read symbol {options['option'].iloc[i]!r} (expected like SPXW240119C04700000)",
            path=src or None, field="option",
        )
    expiry = pd.to_datetime(parts["ymd"], format="%y%m%d", errors="coerce")
    root = parts["root"].astype(str)
    symbol = str(data.get("symbol") or "").lstrip("_").upper()
    underlying = symbol or underlying_for_root(str(root.iloc[0]))
    as_of, note = _cboe_as_of(obj, src)

    def col(name: str) -> pd.Series:
        if name not in options.columns:
            return pd.Series(np.nan, index=options.index)
        values = pd.to_numeric(options[name], errors="coerce")
        wrong = values.isna() & options[name].notna()
        if wrong.any():
            i = int(np.flatnonzero(wrong.to_numpy())[0])
            raise ChainDataError(f"option {i}: not a number ({options[name].iloc[i]!r})", path=src or None,
                                 field=name)
        return values.astype(float)

    iv = col("iv")
    positive = iv[iv > 0]
    if len(positive) and float(positive.median()) > 3.0:
        raise ChainDataError(
            f"iv looks like percent (median {float(positive.median()):.3g}); CBOE's JSON gives decimals",
            path=src or None, field="iv",
        )
    rows = pd.DataFrame(
        {
            "underlying": underlying,
            "root": root,
            "expiry": expiry,
            "settlement": settlement_instants(expiry, root),
            "strike": parts["strike"].astype(float) / 1000.0,
            "side": parts["side"],
            "open_interest": col("open_interest"),
            "iv": iv.where(iv > 0),
            "bid": col("bid"),
            "ask": col("ask").where(col("ask") > 0),
            "mark": col("theo").where(col("theo") > 0),
            "multiplier": float(multiplier),
        }
    )
    return make_chain(
        rows,
        underlying=underlying,
        as_of=as_of,
        spot=float(spot),
        model="bsm",
        source=src,
        warnings=[note] if note else [],
    )
