"""Option trades and the dealer flow they imply (issue 19, "flow-inferred (Deribit trades)"), pure.

One record for every venue's trades, a :class:`pandas.DataFrame` with :data:`TRADE_COLUMNS`:

``trade_id``        the venue's id (text), the key of :func:`dedupe` (overlapping fetch windows repeat trades)
``underlying``      ``BTC``, ``SPX``
``root``            option root/class (``BTC``, ``SPXW``): with expiry, strike and side the series key
``expiry``          expiry date (datetime64, midnight), as in the chain's rows
``strike``          float
``side``            ``"C"`` or ``"P"``
``timestamp_ns``    when the trade printed, UTC nanoseconds (int64)
``contracts``       size in contracts (Deribit: 1 coin each)
``price``           in the venue's premium currency (Deribit: coin; CBOE: USD)
``aggressor``       +1 the customer (taker) bought, -1 sold, 0 unknown (int8)
``known_by``        how the aggressor is known: ``venue`` (the venue tags the taker: Deribit's
                    ``direction``), ``quote_rule`` (price against the bid/ask mid at trade time:
                    :func:`quote_rule_aggressor`), ``unknown``
``bid``, ``ask``    the quote at trade time where the source has it (NaN otherwise)
``iv``              the trade's implied vol as a decimal where the venue gives it (NaN otherwise)
``index_price``     the index at trade time where given (NaN otherwise)

Deribit's ``public/get_last_trades_by_currency(_and_time)`` answers (``result.trades``) become this
record in :func:`deribit_trades`; a CBOE/OPRA time-and-sales loader only maps its columns and calls
:func:`quote_rule_aggressor` for the sides.

Customers are takers, dealers makers: a customer buy of N contracts leaves dealers short N more, so the
dealer flow of a trade is ``-aggressor * contracts`` (:func:`dealer_flow_by_series`); unknown sides add
nothing and are counted apart. The flow window is ``(oi_time, as_of]``: trades after the open interest
was taken (Deribit: the daily 08:00 UTC settlement, :func:`oi_time_ns`) up to the snapshot.

Trades files (:data:`TRADES_SUFFIX`, e.g. ``deribit_btc_trades_20261119T080000Z_20261119T140000Z.trades.json``)
hold a Deribit answer plus ``mmpos`` = ``{"source": "deribit", "kind": "trades", "currency", "start",
"end"}`` (the window the fetch asked for, ISO UTC); the catalog never lists them as chains.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from analytics.errors import ChainDataError

VENUE, QUOTE_RULE, UNKNOWN = "venue", "quote_rule", "unknown"
KNOWN_BY = (VENUE, QUOTE_RULE, UNKNOWN)
TRADE_COLUMNS: tuple[str, ...] = ("trade_id", "underlying", "root", "expiry", "strike", "side", "timestamp_ns",
                                  "contracts", "price", "aggressor", "known_by", "bid", "ask", "iv", "index_price")
TRADES_SUFFIX = ".trades.json"
DERIBIT_SETTLEMENT_HOUR_UTC = 8  # Deribit settles daily at 08:00 UTC: the open interest of that settlement
NS = 1_000_000_000
_SERIES = ["root", "expiry", "strike", "side"]
_STRIKE_DECIMALS = 6
_TRADES_NAME = re.compile(r"^(?:collect_)?deribit_([a-z0-9]+)_trades_.*" + re.escape(TRADES_SUFFIX) + "$")
_WINDOW = re.compile(r"_(\d{8}T\d{6}Z)_(\d{8}T\d{6}Z)" + re.escape(TRADES_SUFFIX) + "$")


class MissingTradesError(ChainDataError):
    """The trades a snapshot's flow needs are not there (no file, or a window none covers): the
    snapshot itself reads fine, the model has no numbers for it."""


def is_trades_name(name: str) -> bool:
    """True for a trades file's name (the catalog skips them: they are not chains).

    Examples
    --------
    >>> is_trades_name("deribit_btc_trades_20261119T080000Z_20261119T140000Z.trades.json")
    True
    >>> is_trades_name("btc_book_summary_2026-11-19.json")
    False
    """
    return name.lower().endswith(TRADES_SUFFIX)


def trades_file_name(currency: str, start: pd.Timestamp, end: pd.Timestamp, prefix: str = "") -> str:
    """``<prefix>deribit_<cur>_trades_<start>_<end>.trades.json`` (UTC, to the second).

    Examples
    --------
    >>> trades_file_name("BTC", pd.Timestamp("2026-11-19 08:00", tz="UTC"), pd.Timestamp("2026-11-19 14:00", tz="UTC"))
    'deribit_btc_trades_20261119T080000Z_20261119T140000Z.trades.json'
    """
    return f"{prefix}deribit_{currency.lower()}_trades_{start:%Y%m%dT%H%M%SZ}_{end:%Y%m%dT%H%M%SZ}{TRADES_SUFFIX}"


def trades_currency(name: str) -> str | None:
    """The currency a Deribit trades file's name gives (``BTC``), else None."""
    found = _TRADES_NAME.match(name.lower())
    return found.group(1).upper() if found else None


def window_of_name(name: str) -> tuple[pd.Timestamp, pd.Timestamp] | None:
    """The (start, end) a trades file's name gives (:func:`trades_file_name`), else None.

    Examples
    --------
    >>> window_of_name("collect_deribit_btc_trades_20261119T080000Z_20261119T081500Z.trades.json")[1]
    Timestamp('2026-11-19 08:15:00+0000', tz='UTC')
    """
    found = _WINDOW.search(name)
    if not found:
        return None
    try:
        return tuple(pd.Timestamp(pd.to_datetime(g, format="%Y%m%dT%H%M%SZ"), tz="UTC") for g in found.groups())  # type: ignore[return-value]
    except ValueError:
        return None


def empty_tape() -> pd.DataFrame:
    """A trade record with no rows (every column, its dtype)."""
    return pd.DataFrame({
        "trade_id": pd.Series([], dtype=object), "underlying": pd.Series([], dtype=object),
        "root": pd.Series([], dtype=object), "expiry": pd.Series([], dtype="datetime64[ns]"),
        "strike": pd.Series([], dtype=float), "side": pd.Series([], dtype=object),
        "timestamp_ns": pd.Series([], dtype=np.int64), "contracts": pd.Series([], dtype=float),
        "price": pd.Series([], dtype=float), "aggressor": pd.Series([], dtype=np.int8),
        "known_by": pd.Series([], dtype=object), "bid": pd.Series([], dtype=float), "ask": pd.Series([], dtype=float),
        "iv": pd.Series([], dtype=float), "index_price": pd.Series([], dtype=float),
    })


def quote_rule_aggressor(price: Any, bid: Any, ask: Any) -> tuple[np.ndarray, np.ndarray]:
    """The aggressor by the quote rule (Lee-Ready's first step): above the mid a customer bought (+1),
    below it sold (-1); at the mid, or without a two-sided uncrossed quote, unknown (0).

    Returns ``(aggressor int8, known_by)`` with ``known_by`` ``"quote_rule"`` where a side was found,
    else ``"unknown"``.

    Examples
    --------
    >>> side, how = quote_rule_aggressor([1.2, 1.0, 1.1, 1.1, 1.1], [1.0, 1.0, 1.0, float("nan"), 1.3], [1.2, 1.2, 1.2, 1.2, 1.2])
    >>> side.tolist(), how.tolist()
    ([1, -1, 0, 0, 0], ['quote_rule', 'quote_rule', 'unknown', 'unknown', 'unknown'])
    """
    p, b, a = (np.asarray(x, dtype=float) for x in np.broadcast_arrays(price, bid, ask))
    valid = np.isfinite(p) & np.isfinite(b) & np.isfinite(a) & (b > 0) & (a >= b)
    mid = np.where(valid, 0.5 * (np.where(valid, b, 0.0) + np.where(valid, a, 0.0)), np.nan)
    with np.errstate(invalid="ignore"):
        side = np.where(valid & (p > mid), 1, np.where(valid & (p < mid), -1, 0)).astype(np.int8)
    known = np.where(side != 0, QUOTE_RULE, UNKNOWN).astype(object)
    return side, known


def deribit_trades(obj: Any, *, path: str | Path | None = None) -> pd.DataFrame:
    """Deribit's ``get_last_trades_by_currency(_and_time)`` answer (or its ``result``, or the list of
    trades) as the trade record; non-option instruments (futures, perpetuals) are left out.

    ``direction`` is the taker's (the venue tags the aggressor): ``buy`` -> +1, ``sell`` -> -1.

    Raises
    ------
    ChainDataError
        Not a trades answer, or a trade whose id, direction, amount or timestamp is missing or wrong
        (naming the trade).
    """
    result = obj.get("result", obj) if isinstance(obj, dict) else obj
    trades = result.get("trades") if isinstance(result, dict) else result
    if not isinstance(trades, list) or not all(isinstance(t, dict) for t in trades):
        raise ChainDataError("not a Deribit trades answer (expected result.trades, a list of trades)", path=path)
    if not trades:
        return empty_tape()
    frame = pd.DataFrame.from_records(trades)
    for col in ("trade_id", "instrument_name", "direction", "amount", "price", "timestamp"):
        if col not in frame:
            raise ChainDataError(f"Deribit trades without {col!r}", path=path, field=col)
    from analytics.sources.deribit import parse_instrument_names

    names = frame["instrument_name"].astype(str).str.strip().str.upper()
    parts = parse_instrument_names(names)
    option = parts["expiry"].notna().to_numpy() & parts["strike"].notna().to_numpy()
    frame, parts = frame.loc[option].reset_index(drop=True), parts.loc[option].reset_index(drop=True)
    if frame.empty:
        return empty_tape()
    direction = frame["direction"].astype(str).str.lower().to_numpy()
    aggressor = np.where(direction == "buy", 1, np.where(direction == "sell", -1, 0)).astype(np.int8)
    amount = pd.to_numeric(frame["amount"], errors="coerce").to_numpy(float)
    stamp = pd.to_numeric(frame["timestamp"], errors="coerce").to_numpy(float)
    ids = frame["trade_id"]
    bad = (aggressor == 0) | ~np.isfinite(amount) | (amount <= 0) | ~np.isfinite(stamp) | ids.isna().to_numpy()
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ChainDataError(f"trade {str(ids.iloc[i])[:40]!r}: direction must be buy or sell, amount > 0 and a "
                             f"timestamp in ms (got {str(frame['direction'].iloc[i])[:10]!r}, "
                             f"{str(frame['amount'].iloc[i])[:20]!r}, {str(frame['timestamp'].iloc[i])[:20]!r})",
                             path=path, line=i + 1)

    def optional(col: str, scale: float = 1.0) -> np.ndarray:
        if col not in frame:
            return np.full(len(frame), np.nan)
        return pd.to_numeric(frame[col], errors="coerce").to_numpy(float) * scale

    base = parts["base"].astype(str).to_numpy(dtype=object)
    return pd.DataFrame({
        "trade_id": ids.astype(str).to_numpy(dtype=object),
        "underlying": base,
        "root": base,
        "expiry": parts["expiry"].astype("datetime64[ns]").to_numpy(),
        "strike": parts["strike"].to_numpy(float),
        "side": parts["side"].to_numpy(dtype=object),
        "timestamp_ns": (stamp * 1e6).astype(np.int64),
        "contracts": amount,
        "price": optional("price"),
        "aggressor": aggressor,
        "known_by": np.full(len(frame), VENUE, dtype=object),
        "bid": np.full(len(frame), np.nan),
        "ask": np.full(len(frame), np.nan),
        "iv": optional("iv", 0.01),  # Deribit quotes IV in percent
        "index_price": optional("index_price"),
    })


def dedupe(tape: pd.DataFrame) -> pd.DataFrame:
    """The tape with each ``trade_id`` once (the first seen), in time order.

    Examples
    --------
    >>> t = pd.DataFrame({"trade_id": ["a", "b", "a"], "timestamp_ns": [2, 1, 2]})
    >>> dedupe(t)["trade_id"].tolist()
    ['b', 'a']
    """
    kept = tape.drop_duplicates("trade_id", keep="first")
    return kept.sort_values("timestamp_ns", kind="stable").reset_index(drop=True)


def oi_time_ns(as_of: pd.Timestamp, hour_utc: int = DERIBIT_SETTLEMENT_HOUR_UTC) -> int:
    """When the open interest the flow adds to was taken: the last daily settlement (``hour_utc`` UTC)
    at or before ``as_of``.

    Examples
    --------
    >>> pd.Timestamp(oi_time_ns(pd.Timestamp("2026-11-19 14:00", tz="UTC")), tz="UTC")
    Timestamp('2026-11-19 08:00:00+0000', tz='UTC')
    >>> pd.Timestamp(oi_time_ns(pd.Timestamp("2026-11-19 07:45", tz="UTC")), tz="UTC")
    Timestamp('2026-11-18 08:00:00+0000', tz='UTC')
    """
    t = pd.Timestamp(as_of)
    t = t.tz_localize("UTC") if t.tzinfo is None else t.tz_convert("UTC")
    settle = t.normalize() + pd.Timedelta(hours=hour_utc)
    if settle > t:
        settle -= pd.Timedelta(days=1)
    return int(settle.as_unit("ns").value)


def in_window(tape: pd.DataFrame, start_ns: int, end_ns: int) -> pd.DataFrame:
    """The trades printed after ``start_ns`` and up to ``end_ns`` (the window ``(start, end]``)."""
    ts = tape["timestamp_ns"].to_numpy(np.int64)
    return tape.loc[(ts > start_ns) & (ts <= end_ns)]


def dealer_flow_by_series(tape: pd.DataFrame) -> pd.DataFrame:
    """Per series (root, expiry, strike, side): the dealers' signed flow in contracts (customers are
    takers: ``-sum(aggressor * contracts)``), the gross traded contracts, the contracts whose side is
    unknown and the number of trades.

    Examples
    --------
    >>> t = pd.DataFrame({"root": ["BTC"] * 3, "expiry": pd.to_datetime(["2026-12-25"] * 3),
    ...                   "strike": [1e5] * 3, "side": ["C"] * 3, "aggressor": [1, 1, -1],
    ...                   "contracts": [2.0, 1.5, 0.5], "trade_id": ["1", "2", "3"]})
    >>> dealer_flow_by_series(t)[["dealer_flow", "gross", "unknown", "trades"]].values.tolist()
    [[-3.0, 4.0, 0.0, 3.0]]
    """
    if tape.empty:
        return pd.DataFrame({c: pd.Series([], dtype=float) for c in ("dealer_flow", "gross", "unknown", "trades")}
                            ).assign(**{k: pd.Series([], dtype=object) for k in _SERIES})
    aggressor = tape["aggressor"].to_numpy(float)
    contracts = tape["contracts"].to_numpy(float)
    frame = pd.DataFrame({
        "root": tape["root"].astype(str).str.upper().to_numpy(),
        "expiry": pd.to_datetime(tape["expiry"]).dt.normalize().to_numpy(),
        "strike": np.round(tape["strike"].to_numpy(float), _STRIKE_DECIMALS),
        "side": tape["side"].to_numpy(),
        "dealer_flow": -aggressor * contracts,
        "gross": contracts,
        "unknown": np.where(aggressor == 0, contracts, 0.0),
        "trades": np.ones(len(tape)),
    })
    return frame.groupby(_SERIES, sort=True, as_index=False)[["dealer_flow", "gross", "unknown", "trades"]].sum()


def flow_on_rows(rows: pd.DataFrame, by_series: pd.DataFrame) -> tuple[np.ndarray, pd.DataFrame]:
    """The dealer flow per chain row (0 where no trade) and the series traded that the chain lacks.

    ``rows`` need root, expiry, strike and side (an :class:`analytics.chain.OptionChain`'s rows).
    """
    key = pd.DataFrame({
        "row": np.arange(len(rows)),
        "root": rows["root"].astype(str).str.upper().to_numpy(),
        "expiry": pd.to_datetime(rows["expiry"]).dt.normalize().astype("datetime64[ns]").to_numpy(),
        "strike": np.round(rows["strike"].to_numpy(float), _STRIKE_DECIMALS),
        "side": rows["side"].astype(str).to_numpy(),
    })
    series = by_series.assign(expiry=pd.to_datetime(by_series["expiry"]).astype("datetime64[ns]"),
                              side=by_series["side"].astype(str), root=by_series["root"].astype(str))
    merged = series.merge(key, on=_SERIES, how="left")
    flow = np.zeros(len(rows))
    hit = merged["row"].notna().to_numpy()
    np.add.at(flow, merged.loc[hit, "row"].to_numpy(int), merged.loc[hit, "dealer_flow"].to_numpy(float))
    return flow, merged.loc[~hit, [*_SERIES, "dealer_flow", "gross", "trades"]].reset_index(drop=True)


def explained_share(open_interest: Any, dealer_flow: Any) -> float:
    """The share of open interest the flow explains: ``sum |dealer flow| / sum open interest`` over
    the series (gross, both in contracts); NaN without open interest.

    Examples
    --------
    >>> explained_share([10, 30], [-2, 2])
    0.1
    """
    oi = np.asarray(open_interest, dtype=float)
    flow = np.asarray(dealer_flow, dtype=float)
    total = float(np.nansum(oi))
    return float(np.nansum(np.abs(flow)) / total) if total > 0 else float("nan")


def coverage_gap(windows: Iterable[tuple[int, int]], start_ns: int, end_ns: int) -> tuple[int, int] | None:
    """The first part of ``[start_ns, end_ns]`` no window covers, or None when they cover all of it.

    Examples
    --------
    >>> coverage_gap([(0, 5), (5, 10)], 1, 9) is None
    True
    >>> coverage_gap([(0, 5), (7, 10)], 1, 9)
    (5, 7)
    >>> coverage_gap([], 1, 9)
    (1, 9)
    """
    spans = sorted(windows)
    reached = start_ns
    for lo, hi in spans:
        if lo > reached:
            break
        reached = max(reached, hi)
        if reached >= end_ns:
            return None
    if reached >= end_ns:
        return None
    later = [lo for lo, _ in spans if lo > reached]
    return reached, min([end_ns, *later])


@dataclass(frozen=True)
class TradesFile:
    """One trades file read: its trades and the window its fetch asked for (UTC ns)."""

    path: Path
    currency: str
    start_ns: int
    end_ns: int
    tape: pd.DataFrame


def read_trades_text(text_obj: Any, path: str | Path) -> TradesFile:
    """A trades file's parsed JSON (an ``mmpos`` object with source, currency, start, end and the
    Deribit answer) as a :class:`TradesFile`.

    Raises
    ------
    ChainDataError
        No ``mmpos`` window, or trades that do not read (:func:`deribit_trades`).
    """
    meta = text_obj.get("mmpos") if isinstance(text_obj, dict) else None
    if not isinstance(meta, dict) or meta.get("kind") != "trades":
        raise ChainDataError("not an mmpos trades file (no mmpos.kind = 'trades')", path=path)
    try:
        start = pd.Timestamp(meta["start"])
        end = pd.Timestamp(meta["end"])
        currency = str(meta["currency"]).upper()
    except (KeyError, TypeError, ValueError) as exc:
        raise ChainDataError(f"trades file without a readable window ({exc})", path=path) from exc
    start = start.tz_localize("UTC") if start.tzinfo is None else start
    end = end.tz_localize("UTC") if end.tzinfo is None else end
    if end < start:
        raise ChainDataError(f"trades window ends ({end}) before it starts ({start})", path=path)
    tape = deribit_trades(text_obj, path=path)
    return TradesFile(Path(path), currency, int(start.as_unit("ns").value), int(end.as_unit("ns").value), tape)


@dataclass(frozen=True)
class Flow:
    """The dealer flow of one snapshot: the window, the deduplicated trades in it, per series."""

    start_ns: int
    end_ns: int
    tape: pd.DataFrame
    by_series: pd.DataFrame
    duplicates: int
    files: tuple[str, ...]


def flow_for(files: Sequence[TradesFile], underlying: str, start_ns: int, end_ns: int) -> Flow:
    """The dealer flow of ``underlying`` in ``(start_ns, end_ns]`` from trades files whose windows
    together cover it, each trade once.

    Raises
    ------
    ChainDataError
        No trades file of ``underlying``, or a part of the window none covers (said in UTC times).
    """
    mine = [f for f in files if f.currency == underlying.upper()]
    gap = coverage_gap([(f.start_ns, f.end_ns) for f in mine], start_ns, end_ns)
    if gap is not None:
        def hm(ns: int) -> str:
            return f"{pd.Timestamp(ns, tz='UTC'):%Y-%m-%d %H:%M}"

        what = "no trades file" if not mine else f"the {len(mine)} trades file(s) leave {hm(gap[0])} to {hm(gap[1])} UTC uncovered"
        raise MissingTradesError(f"flow-inferred needs {underlying} trades from the open interest at {hm(start_ns)} "
                             f"to the snapshot at {hm(end_ns)} UTC: {what}")
    tapes = [f.tape for f in mine if not f.tape.empty]
    tape = pd.concat(tapes, ignore_index=True) if tapes else empty_tape()
    tape = tape.loc[tape["underlying"].astype(str).str.upper() == underlying.upper()]
    unique = dedupe(tape)
    window = in_window(unique, start_ns, end_ns)
    return Flow(start_ns, end_ns, window.reset_index(drop=True), dealer_flow_by_series(window),
                len(tape) - len(unique), tuple(sorted(f.path.name for f in mine)))


# ---- files (read through the one input reader) and the chain

def read_trades_file(path: str | Path) -> TradesFile:
    """Read one trades file (:func:`analytics.sources.common.read_input`: the checked reader).

    Raises
    ------
    ChainDataError
        Unreadable, not JSON, or not a trades file.
    """
    from analytics.sources.common import loads_json, read_input

    raw = read_input(path)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ChainDataError(f"not UTF-8 text ({exc.reason})", path=path) from exc
    return read_trades_text(loads_json(text, path=path), path)


def trades_files_in(folder: str | Path, currency: str) -> list[Path]:
    """The Deribit trades files of ``currency`` in ``folder`` (names: :func:`trades_file_name`), sorted."""
    try:
        names = sorted(p.name for p in Path(folder).iterdir() if not p.name.startswith("."))
    except OSError:
        return []
    return [Path(folder) / n for n in names if trades_currency(n) == currency.upper()]


def trades_files_near(folder: str | Path, currency: str, root: str | Path | None = None) -> list[Path]:
    """The trades files of ``currency`` in ``folder`` and in each folder above it up to ``root`` (the
    data folder): a snapshot in ``data/intraday/`` reads the trades beside it and those in ``data/``.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as d:
    ...     _ = (Path(d) / "deribit_btc_trades_a.trades.json").write_text("{}")
    ...     (Path(d) / "intraday").mkdir()
    ...     [p.name for p in trades_files_near(Path(d) / "intraday", "BTC", root=d)]
    ['deribit_btc_trades_a.trades.json']
    """
    here = Path(folder).resolve()
    top = Path(root).resolve() if root is not None else here
    folders = [here]
    if here != top and top in here.parents:
        folders += [p for p in here.parents if p == top or top in p.parents]
    return [p for f in folders for p in trades_files_in(f, currency)]


def apply_flow(chain: Any, flow: Flow) -> Any:
    """The chain (:class:`analytics.chain.OptionChain`) with ``position`` = each row's dealer flow since
    the open interest (contracts; 0 where none traded) and a note of what the flow holds."""
    rows = chain.rows
    per_row, missing = flow_on_rows(rows, flow.by_series)
    out = rows.copy()
    out["position"] = per_row
    tape = flow.tape
    unknown = float(tape.loc[tape["aggressor"].to_numpy() == 0, "contracts"].sum()) if len(tape) else 0.0
    share = explained_share(rows["open_interest"].to_numpy(float), per_row)

    def hm(ns: int) -> str:
        return f"{pd.Timestamp(ns, tz='UTC'):%Y-%m-%d %H:%M}"

    note = (f"flow-inferred: {len(tape):,} trades ({float(tape['contracts'].sum()) if len(tape) else 0.0:,.1f} "
            f"contracts) from {hm(flow.start_ns)} to {hm(flow.end_ns)} UTC in {len(flow.files)} trades file(s); "
            f"|dealer flow| / open interest = {share:.1%}")
    notes = [note]
    if flow.duplicates:
        notes.append(f"flow-inferred: {flow.duplicates:,} repeated trade(s) counted once (same trade_id)")
    if unknown:
        notes.append(f"flow-inferred: {unknown:,.1f} contracts with an unknown aggressor add no flow")
    if len(missing):
        notes.append(f"flow-inferred: {int(missing['trades'].sum()):,} trade(s) on {len(missing):,} series the "
                     f"snapshot does not list ({float(missing['gross'].sum()):,.1f} contracts) left out")
    return chain.with_rows(out, *notes)
