"""Deribit option snapshots: ``public/get_book_summary_by_currency`` and ``public/ticker``.

Accepted inputs (detected by content, see :func:`analytics.sources.detect_format`):

* JSON as the API returns it: ``{"jsonrpc": "2.0", "result": [...], "usOut": ...}``, a bare list of
  records, or one ``public/ticker`` result (``{"result": {...}}``). Ticker records carry nested
  ``greeks`` (delta, gamma, vega, theta, rho) and ``stats`` objects; they are flattened.
  Files written by :func:`analytics.sources.fetch.fetch_deribit` add an ``mmpos`` object with the
  fetch time and the index price.
* CSV with one record per line and the API field names as header (the layouts of
  ``deribit_btc_book_summary_*.csv`` and ``deribit_btc_ticker_greeks_*.csv`` in ``../shared/data``;
  the ticker CSV names the quotes ``best_bid_price``/``best_ask_price``, the book summary
  ``bid_price``/``ask_price``).

Conventions (checked against Deribit's own greeks in the tessicin ticker file):

* Instrument ``BTC-13MAR26-61000-C``: base currency, expiry ``DMMMYY``, strike (a ``d`` stands for the
  decimal point, ``XRP_USDC-30JUN25-2d2-C``), side. Settlement 08:00 UTC on the expiry date.
* ``underlying_price`` is that expiry's forward (the future or synthetic index named in
  ``underlying_index``); the chain model is Black-76 on it with r = 0.
* ``mark_iv``, ``bid_iv``, ``ask_iv`` are percent: ``iv = mark_iv / 100``.
* ``open_interest`` is in coins of the base currency, so the multiplier is 1.
* Inverse options are quoted in coin per coin of underlying. The USD price is
  ``coin_price * underlying_price``: Black-76 on ``underlying_price`` with ``mark_iv`` reproduces
  ``mark_price * underlying_price`` to within the 4-decimal rounding of ``mark_price`` (median
  error 1.9 USD on the tessicin file), while ``mark_price * index`` is off by up to 368 USD.
  Linear options (``quote_currency`` USDC/USD, names like ``BTC_USDC-...``) are already in USD.
* Spot is the index: ``estimated_delivery_price``, else ``index_price``, else ``spot_ref``.

Snapshot time (``as_of``), first rule that applies:

1. the ``as_of`` argument;
2. the ``mmpos.as_of`` written by the fetcher, else the JSON-RPC response time ``usOut``;
3. a ``timestamp`` field (the ticker's quote time, ms) - the latest one;
4. ``creation_timestamp`` when every row carries (almost) the same value: in a book summary it is
   the response time. In the ticker CSV it is the *instrument's* creation time (a year of spread in
   the tessicin file) and is not used;
5. Deribit's own greeks: the instant at which Black-76 (r = 0, ACT/365 to 08:00 UTC,
   sigma = mark_iv / 100) reproduces the file's deltas best (least squares over the rows with
   0.02 < |delta| < 0.98), found by a scan and a bounded minimisation. The chain carries a warning
   saying so. On the tessicin file this gives 2026-03-01 13:49:10 UTC (the source says "about
   13:49"); there every delta agrees within 2.6e-5 and every vega within 5e-5 relative;
6. otherwise a :class:`~analytics.errors.ChainDataError` asks for the time.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from analytics import pricing
from analytics.chain import SECONDS_PER_YEAR, OptionChain, make_chain, utc_instants
from analytics.errors import ChainDataError
from analytics.sources.common import Head, Source, check_not_truncated, loads_json, numbers, read_text_file

SETTLEMENT_HOUR_UTC = 8
#: ``BASE[_QUOTE]-DMMMYY-STRIKE-C|P``; strikes may use ``d`` as the decimal point.
INSTRUMENT_PATTERN = (
    r"^(?P<base>[A-Z0-9]+)(?:_(?P<quote>[A-Z0-9]+))?-(?P<expiry>\d{1,2}[A-Z]{3}\d{2})-"
    r"(?P<strike>\d+(?:[.D]\d+)?)-(?P<side>[CP])$"
)
_SPOT_FIELDS = ("estimated_delivery_price", "index_price", "spot_ref")
_LINEAR_QUOTES = frozenset({"USDC", "USDT", "USD"})
#: Rows whose ``creation_timestamp`` spread is within this are one response.
SAME_RESPONSE_MS = 60_000


def looks_like_book_summary(head: Head) -> bool:
    """True for a Deribit ``get_book_summary_by_currency`` file (JSON or CSV)."""
    return looks_like_deribit(head.text) == "deribit-book-summary"


def looks_like_ticker(head: Head) -> bool:
    """True for Deribit ``public/ticker`` records with greeks (JSON or CSV)."""
    return looks_like_deribit(head.text) == "deribit-ticker"


def looks_like_deribit(head_text: str) -> str | None:
    """Return ``"deribit-ticker"``, ``"deribit-book-summary"`` or None from the first KB of a file.

    Examples
    --------
    >>> looks_like_deribit("instrument_name,mark_iv,underlying_price,open_interest\\n")
    'deribit-book-summary'
    >>> looks_like_deribit('{"result": [{"instrument_name": "BTC-1JAN27-1-C", "greeks": {}}]}')
    'deribit-ticker'
    >>> looks_like_deribit("strike,side\\n") is None
    True
    """
    if "instrument_name" not in head_text or ("mark_iv" not in head_text and "greeks" not in head_text):
        return None
    stripped = head_text.lstrip()
    if stripped.startswith(("{", "[")):
        return "deribit-ticker" if '"greeks"' in head_text else "deribit-book-summary"
    header = {h.strip().strip('"') for h in stripped.splitlines()[0].split(",")}
    if "instrument_name" not in header:
        return None
    return "deribit-ticker" if {"delta", "gamma"} <= header else "deribit-book-summary"


def api_error_text(obj: Any) -> str | None:
    """The reason a saved Deribit API error response gives, in one line, or None for other JSON.

    A JSON-RPC error is ``{"jsonrpc": "2.0", "error": {"message": ..., "code": ...}}`` (no result).

    Examples
    --------
    >>> api_error_text({"jsonrpc": "2.0", "error": {"message": "Invalid params", "code": -32602}})
    'the file holds a Deribit API error, not data: Invalid params (code -32602)'
    >>> api_error_text({"result": []}) is None
    True
    """
    if not isinstance(obj, dict) or "error" not in obj or "result" in obj:
        return None
    err = obj["error"]
    if isinstance(err, dict):
        message = " ".join(str(err.get("message") or "no message").split())[:200]
        reason = err.get("data", {}).get("reason") if isinstance(err.get("data"), dict) else None
        detail = f"{message}{f': {str(reason)[:100]}' if reason else ''}"
        code = err.get("code")
        detail += f" (code {code})" if isinstance(code, int) and not isinstance(code, bool) else ""
    else:
        detail = " ".join(str(err).split())[:200]
    return f"the file holds a Deribit API error, not data: {detail}"


def parse_instrument_names(names: pd.Series) -> pd.DataFrame:
    """Split Deribit option names into base currency, quote, expiry, strike and side (vectorised).

    Rows that do not match get NaN everywhere (the caller decides whether that is an error).

    Examples
    --------
    >>> p = parse_instrument_names(pd.Series(["BTC-13MAR26-61000-C", "XRP_USDC-5APR24-0d625-P"]))
    >>> p[["base", "quote", "strike", "side"]].values.tolist()
    [['BTC', nan, 61000.0, 'C'], ['XRP', 'USDC', 0.625, 'P']]
    >>> str(p["expiry"].iloc[1].date())
    '2024-04-05'
    """
    parts = names.astype(str).str.strip().str.upper().str.extract(INSTRUMENT_PATTERN)
    parts["strike"] = pd.to_numeric(parts["strike"].str.replace("D", ".", regex=False), errors="coerce")
    parts["expiry"] = pd.to_datetime(parts["expiry"], format="%d%b%y", errors="coerce")
    parts["base"] = parts["base"].astype(object)
    parts["quote"] = parts["quote"].astype(object)
    parts["side"] = parts["side"].astype(object)
    return parts


def _records_from_json(obj: Any, path: Path) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Records and snapshot metadata from any of the accepted JSON shapes."""
    meta: dict[str, Any] = {}
    if isinstance(obj, dict):
        if "error" in obj and "result" not in obj:
            raise ChainDataError(api_error_text(obj) or "the file holds an API error, not data", path=path)
        meta = dict(obj.get("mmpos") or {})
        if "usOut" in obj and "as_of" not in meta:
            meta["response_us"] = obj["usOut"]
        records = obj.get("result", obj if "instrument_name" in obj else None)
    else:
        records = obj
    if isinstance(records, dict):
        records = [records]
    if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
        raise ChainDataError("JSON is not a Deribit result (expected a list of records)", path=path)
    if not records:
        raise ChainDataError("no option rows (empty result)", path=path)
    frame = pd.json_normalize(records)
    frame.columns = [c.split(".", 1)[1] if c.startswith(("greeks.", "stats.")) else c for c in frame.columns]
    frame = frame.loc[:, ~frame.columns.duplicated()]
    return frame, meta


def read_deribit_text(text: str, path: str | Path, *, as_of: pd.Timestamp | str | None = None) -> OptionChain:
    """Parse the text of a Deribit book-summary or ticker file (JSON or CSV) into a chain.

    Parameters
    ----------
    text : str
        The whole file.
    path : path-like
        Named in messages and stored as the chain's source.
    as_of : Timestamp or str, optional
        Snapshot time; overrides every rule in the module docstring.

    Returns
    -------
    OptionChain
        Black-76 chain (``model="black76"``), multiplier 1, prices in USD.
    """
    path = Path(path)
    stripped = text.lstrip()
    if stripped.startswith(("{", "[")):
        obj = loads_json(text, path=path)
        frame, meta = _records_from_json(obj, path)
        line_offset = None
    else:
        check_not_truncated(text, path)
        frame = pd.read_csv(io.StringIO(text), skip_blank_lines=True)
        meta = {}
        line_offset = 2 + text[: len(text) - len(stripped)].count("\n")  # header line + leading blanks
    return records_to_chain(frame, source=path, meta=meta, as_of=as_of, line_offset=line_offset)


def load_deribit(
    path: str | Path, *, as_of: pd.Timestamp | str | None = None, multiplier: float | None = None,
    date_order: object = None,
) -> OptionChain:
    """Load a Deribit book-summary or ticker snapshot (JSON or CSV).

    Parameters
    ----------
    path : path-like
        The file.
    as_of : Timestamp or str, optional
        Snapshot time when the file does not carry one (see the module docstring).
    multiplier : float, optional
        Unused: Deribit open interest is in coins, the multiplier is always 1.
    date_order : object
        Unused: Deribit dates are written ``13MAR26`` (accepted as every source loader is).

    Returns
    -------
    OptionChain

    Raises
    ------
    ChainDataError
        With the file, line and problem.
    """
    path = Path(path)
    return read_deribit_text(read_text_file(path), path, as_of=as_of)


def _num(frame: pd.DataFrame, col: str, path: Path, line_offset: int | None) -> pd.Series:
    return numbers(frame[col], path=path, field=col, line_offset=line_offset)


def _line(i: int, line_offset: int | None, frame: pd.DataFrame) -> int | None:
    return int(frame.index[i]) + line_offset if line_offset is not None else None


def _first_present(frame: pd.DataFrame, names: tuple[str, ...]) -> str | None:
    return next((n for n in names if n in frame.columns and frame[n].notna().any()), None)


def records_to_chain(
    frame: pd.DataFrame,
    *,
    source: str | Path,
    meta: dict[str, Any] | None = None,
    as_of: pd.Timestamp | str | None = None,
    line_offset: int | None = None,
) -> OptionChain:
    """Turn Deribit records (API field names, one per instrument) into an :class:`OptionChain`.

    Parameters
    ----------
    frame : DataFrame
        Book-summary or ticker records, greeks flattened (``delta``, ``gamma``, ...).
    source : path-like
        Named in messages.
    meta : dict, optional
        ``as_of`` (ISO), ``response_us`` (JSON-RPC ``usOut``) and ``index_price`` from the fetcher.
    as_of : Timestamp or str, optional
        Snapshot time override.
    line_offset : int, optional
        ``frame.index + line_offset`` is the file line of a record (CSV).

    Returns
    -------
    OptionChain
        Black-76, multiplier 1, prices in USD, one row per option.
    """
    path = Path(source)
    meta = meta or {}
    warnings: list[str] = []
    if "instrument_name" not in frame.columns:
        raise ChainDataError("missing column instrument_name: not a Deribit file", path=path)
    frame = frame.reset_index(drop=True)
    names = frame["instrument_name"].astype(str).str.strip()
    is_option = (names.str.count("-") == 3).to_numpy()  # BASE-EXPIRY-STRIKE-SIDE; futures have 1 or 2 parts
    if not is_option.all():
        warnings.append(f"skipped {int((~is_option).sum())} non-option instrument(s) (futures, perpetuals)")
    parts = parse_instrument_names(names)
    bad = is_option & (parts["expiry"].isna() | parts["strike"].isna()).to_numpy()
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ChainDataError(
            f"cannot read instrument name {names.iloc[i]!r} (expected like BTC-13MAR26-61000-C)",
            path=path, line=_line(i, line_offset, frame), field="instrument_name",
        )
    if not is_option.any():
        raise ChainDataError("no option rows (only futures or perpetuals)", path=path)
    keep = np.flatnonzero(is_option)
    frame = frame.iloc[keep]
    parts = parts.iloc[keep]
    for col in ("underlying_price", "open_interest", "mark_iv"):
        if col not in frame.columns:
            raise ChainDataError(f"missing column {col}: not a Deribit option snapshot", path=path, field=col)

    bases = parts["base"].unique()
    if len(bases) != 1:
        raise ChainDataError(f"several underlyings in one file ({', '.join(map(str, bases))})", path=path)
    underlying = str(bases[0])

    forward = _num(frame, "underlying_price", path, line_offset)
    open_interest = _num(frame, "open_interest", path, line_offset)
    mark_iv = _num(frame, "mark_iv", path, line_offset)
    positive_iv = mark_iv[mark_iv > 0]
    if len(positive_iv) and float(positive_iv.median()) < 3.0:
        raise ChainDataError(
            f"mark_iv looks like decimals (median {float(positive_iv.median()):.3g}); Deribit gives percent "
            "(52.3 for 52.3%)", path=path, field="mark_iv",
        )
    iv = (mark_iv / 100.0).where(mark_iv > 0)

    quote = frame["quote_currency"].astype(str).str.upper() if "quote_currency" in frame else parts["quote"]
    linear = quote.isin(_LINEAR_QUOTES).to_numpy() | parts["quote"].isin(_LINEAR_QUOTES).to_numpy()
    to_usd = np.where(linear, 1.0, forward.to_numpy())
    prices = {}
    for out, candidates in (
        ("bid", ("best_bid_price", "bid_price")),
        ("ask", ("best_ask_price", "ask_price")),
        ("mark", ("mark_price",)),
    ):
        found = next((c for c in candidates if c in frame.columns), None)
        coin = _num(frame, found, path, line_offset) if found else pd.Series(np.nan, index=frame.index)
        if out == "ask":
            coin = coin.where(coin > 0)
        prices[out] = coin.to_numpy() * to_usd

    spot_col = _first_present(frame, _SPOT_FIELDS)
    if meta.get("index_price") is not None:
        spot = float(meta["index_price"])
    elif spot_col is not None:
        spot = float(_num(frame, spot_col, path, line_offset).median())
    else:
        nearest = parts["expiry"].to_numpy() == parts["expiry"].min()
        spot = float(np.median(forward.to_numpy()[nearest]))
        warnings.append("no index price in the file: spot taken as the nearest expiry's forward")

    rows = pd.DataFrame(
        {
            "underlying": underlying,
            "root": underlying,
            "expiry": parts["expiry"].to_numpy(),
            "settlement": utc_instants(parts["expiry"], SETTLEMENT_HOUR_UTC).to_numpy(),
            "strike": parts["strike"].to_numpy(),
            "side": parts["side"].to_numpy(),
            "open_interest": open_interest.to_numpy(),
            "iv": iv.to_numpy(),
            "bid": prices["bid"],
            "ask": prices["ask"],
            "mark": prices["mark"],
            "forward": forward.to_numpy(),
            "multiplier": 1.0,
        },
        index=frame.index,
    )
    snapshot, note = snapshot_time(frame, rows, meta=meta, as_of=as_of, path=path)
    if note:
        warnings.append(note)
    return make_chain(
        rows,
        underlying=underlying,
        as_of=snapshot,
        spot=spot,
        model="black76",
        source=str(path),
        warnings=warnings,
        line_offset=line_offset,
    )


def _utc(value: Any, unit: str | None = None) -> pd.Timestamp:
    ts = pd.Timestamp(value, unit=unit) if unit else pd.Timestamp(value)
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


def snapshot_time(
    frame: pd.DataFrame,
    rows: pd.DataFrame,
    *,
    meta: dict[str, Any],
    as_of: pd.Timestamp | str | None,
    path: Path,
) -> tuple[pd.Timestamp, str | None]:
    """Apply the snapshot-time rules of the module docstring.

    Parameters
    ----------
    frame : DataFrame
        The Deribit records (``timestamp``, ``creation_timestamp``, ``delta`` are looked at).
    rows : DataFrame
        The chain rows built from them (strike, side, iv, forward, settlement).
    meta : dict
        Snapshot metadata from the JSON wrapper (``as_of``, ``response_us``).
    as_of : Timestamp or str or None
        Explicit override.
    path : Path
        Named in messages.

    Returns
    -------
    (Timestamp, str or None)
        The snapshot time (UTC) and a note for the chain's warnings when it was inferred.
    """
    if as_of is not None:
        ts = pd.Timestamp(as_of)
        if ts.tzinfo is None:
            raise ChainDataError("as_of has no time zone", path=path, field="as_of")
        return ts.tz_convert("UTC"), None
    if meta.get("as_of"):
        return _utc(meta["as_of"]), None
    if meta.get("response_us"):
        return _utc(int(meta["response_us"]), unit="us"), None
    if "timestamp" in frame.columns and pd.to_numeric(frame["timestamp"], errors="coerce").notna().any():
        return _utc(int(pd.to_numeric(frame["timestamp"], errors="coerce").max()), unit="ms"), None
    if "creation_timestamp" in frame.columns:
        created = pd.to_numeric(frame["creation_timestamp"], errors="coerce").dropna()
        if len(created) and created.max() - created.min() <= SAME_RESPONSE_MS:
            return _utc(int(created.max()), unit="ms"), None
    if {"delta"} <= set(frame.columns):
        return _snapshot_from_greeks(frame, rows, path)
    raise ChainDataError(
        "no snapshot time in the file (no timestamp, usOut or common creation_timestamp, no greeks); "
        "give one with as_of",
        path=path,
    )


def _model_delta(as_of_s: np.ndarray, settle_s, fwd, strike, iv, call) -> np.ndarray:
    """Black-76 delta (r = 0) from the project's one pricing engine, per candidate snapshot x option."""
    years = (np.asarray(settle_s)[None, :] - np.asarray(as_of_s, dtype=float).reshape(-1, 1)) / SECONDS_PER_YEAR
    with np.errstate(divide="ignore", invalid="ignore"):
        return pricing.greeks(fwd, strike, years, iv, np.where(call, 1.0, -1.0)).delta


def _delta_error(as_of_s: np.ndarray, settle_s: np.ndarray, fwd, strike, iv, call, delta) -> np.ndarray:
    """Root-mean-square Black-76 delta - file delta for each candidate snapshot (seconds since epoch).

    Smooth in the snapshot time, so the bounded minimisation finds one well-defined instant."""
    model = _model_delta(as_of_s, settle_s, fwd, strike, iv, call)
    err = np.where(np.isfinite(model), model - delta, 1.0)
    return np.sqrt(np.mean(err * err, axis=1))


def _snapshot_from_greeks(frame: pd.DataFrame, rows: pd.DataFrame, path: Path) -> tuple[pd.Timestamp, str]:
    delta = pd.to_numeric(frame["delta"], errors="coerce").to_numpy(dtype=float)
    iv = rows["iv"].to_numpy(dtype=float)
    fwd = rows["forward"].to_numpy(dtype=float)
    strike = rows["strike"].to_numpy(dtype=float)
    call = (rows["side"] == "C").to_numpy()
    settle_s = pd.DatetimeIndex(rows["settlement"]).as_unit("s").asi8.astype(float)
    use = np.isfinite(delta) & np.isfinite(iv) & (iv > 0) & (np.abs(delta) > 0.02) & (np.abs(delta) < 0.98)
    if use.sum() < 3:
        raise ChainDataError("no snapshot time in the file and too few greeks to infer one; give as_of", path=path)
    idx = np.flatnonzero(use)[:400]
    args = (settle_s[idx], fwd[idx], strike[idx], iv[idx], call[idx], delta[idx])
    upper = float(settle_s[idx].min()) - 60.0
    lower = upper - 400 * 86400.0
    if "creation_timestamp" in frame.columns:
        created = pd.to_numeric(frame["creation_timestamp"], errors="coerce").max()
        if np.isfinite(created) and created / 1000.0 < upper:
            lower = max(lower, float(created) / 1000.0)
    step = max(1800.0, (upper - lower) / 2000.0)  # at most ~2000 x 400 candidate errors in memory
    grid = np.arange(lower, upper, step)
    coarse = _delta_error(grid, *args)
    best = float(grid[int(np.argmin(coarse))])
    from scipy.optimize import minimize_scalar  # only this fallback needs scipy: keep it off the import path

    # minimise over the offset from ``best``: Brent's tolerance is relative to |x|, and epoch
    # seconds (~1.8e9) would leave it at ~30 s
    res = minimize_scalar(
        lambda off: float(_delta_error(np.array([best + off]), *args)[0]),
        bounds=(max(lower, best - step) - best, min(upper, best + step) - best),
        method="bounded",
        options={"xatol": 0.5},
    )
    ts = pd.Timestamp(round(best + float(res.x)), unit="s", tz="UTC")
    worst = float(np.max(_worst_delta_error(ts, args)))
    note = (
        f"snapshot time not in the file: inferred {ts.isoformat()} from Deribit's own deltas "
        f"(Black-76, r=0, ACT/365 to 08:00 UTC; max |delta error| {worst:.1e})"
    )
    return ts, note


def _worst_delta_error(ts: pd.Timestamp, args: tuple) -> np.ndarray:
    settle_s, fwd, strike, iv, call, delta = args
    return np.abs(_model_delta(np.array([ts.value / 1e9]), settle_s, fwd, strike, iv, call)[0] - delta)


SOURCES = (
    Source("deribit-book-summary", "Deribit public/get_book_summary_by_currency, JSON or CSV",
           looks_like_book_summary, load_deribit),
    Source("deribit-ticker", "Deribit public/ticker records with greeks, JSON or CSV", looks_like_ticker,
           load_deribit),
)
