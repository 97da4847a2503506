"""CBOE delayed-quotes JSON (``cdn.cboe.com/api/global/delayed_quotes/options/<symbol>.json``).

Layout, as used by public clients of the feed (OpenBB's ``openbb_cboe`` options-chains fetcher
among them) and saved by :func:`analytics.sources.fetch.fetch_cboe`: ``{"timestamp": "YYYY-MM-DD
HH:MM:SS", "data": {"symbol": "_SPX", "current_price": ..., "options": [{"option":
"SPXW240119C04700000", "bid", "ask", "iv" (decimal), "open_interest", "volume", "delta", "gamma",
"theta", "vega", "theo", "last_trade_price", "last_trade_time", ...}, ...]}}``.

The option symbol is OCC style (:data:`analytics.chain.OCC_SYMBOL_PATTERN`); adjusted roots
(``AMD1``) are kept and flagged in the chain's ``adjusted`` column. ``timestamp`` carries no zone.
It is read as UTC; when the file also carries our own fetch time (``mmpos.fetched_at``) the reading
(UTC or New York) closer to it is used. A warning says which.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from analytics.chain import (
    NEW_YORK,
    OCC_SYMBOL_PATTERN,
    OptionChain,
    make_chain,
    settlement_instants,
    underlying_for_root,
)
from analytics.errors import ChainDataError
from analytics.sources.common import Head, Source, check_iv_is_decimal, loads_json, numbers, read_text_file

OCC_PATTERN = f"^{OCC_SYMBOL_PATTERN}$"
_SNIFF = re.compile(rf'"option"\s*:\s*"{OCC_SYMBOL_PATTERN}"')


def looks_like_cboe_json(head: Head) -> bool:
    """True for a JSON file whose first records carry OCC ``"option"`` symbols."""
    return head.text.lstrip().startswith(("{", "[")) and _SNIFF.search(head.text) is not None


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
    obj: object, *, source: str | Path = "", multiplier: float = 100.0
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
    if not isinstance(obj, dict) or not isinstance(data, dict) or not isinstance(data.get("options"), list):
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
        return numbers(options[name], path=src or None, field=name)

    iv = col("iv")
    check_iv_is_decimal(iv, path=src or None, wants="CBOE's JSON")
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


def load_cboe_json(path: str | Path, *, multiplier: float | None = None, as_of: Any = None,
                   date_order: Any = None) -> OptionChain:
    """Load a saved CBOE delayed-quotes JSON file (``multiplier`` defaults to 100; ``as_of`` and
    ``date_order`` unused: its times are ISO 8601).

    Raises
    ------
    ChainDataError
        Naming the file and the problem.
    """
    path = Path(path)
    obj = loads_json(read_text_file(path), path=path)
    return parse_cboe_delayed_json(obj, source=path, multiplier=100.0 if multiplier is None else multiplier)


SOURCES = (
    Source("cboe-json", "CBOE delayed quotes JSON (cdn.cboe.com delayed_quotes API)", looks_like_cboe_json,
           load_cboe_json),
)
