"""The canonical option table: one documented layout (CSV or Parquet) any vendor export maps to.

One row per contract side. Column names are lower case, exactly as below; extra columns are
ignored. CSV is UTF-8 with a header line; Parquet uses the same column names.

================ ========== ===================================================================
column           required   meaning and unit
================ ========== ===================================================================
underlying       yes        ticker of the underlying (``SPX``, ``BTC``); the same on every row
as_of            yes        snapshot time, ISO 8601 *with* offset (``2024-01-07T10:52:00-05:00``);
                            the same on every row
spot             yes        underlying price at ``as_of`` (index level, share price, coin index
                            in USD); the same on every row
expiry           yes        expiry date ``YYYY-MM-DD`` (the date printed on the contract)
strike           yes        strike price, in the underlying's currency (> 0)
side             yes        ``C`` or ``P`` (``call``/``put`` accepted)
open_interest    yes        open interest in contracts (>= 0)
root             no         option root/class (``SPXW``); default: the underlying. Decides the
                            default settlement time and tells apart contracts that share
                            (expiry, strike, side), e.g. SPX (AM) and SPXW (PM)
settlement       no         settlement instant, ISO 8601 with offset. Default per row from the
                            root: 09:30 New York for AM-settled roots (SPX, NDX, RUT, VIX, ...),
                            16:00 New York otherwise (see ``analytics.chain.settlement_instants``).
                            Crypto and non-US products should fill it in (Deribit: 08:00 UTC)
iv               no         implied volatility as a decimal (0.25 = 25%); blank where unknown
bid, ask, mark   no         option prices per 1 unit of underlying, in the quote currency (USD)
forward          no         the expiry's forward. When every row has one the chain is priced with
                            Black-76 on it (r = 0); otherwise Black-Scholes on ``spot``
multiplier       no         units of underlying per contract (100 for US listed options, 1 for
                            Deribit). Default: the ``multiplier`` argument, else 100 (with a
                            warning)
================ ========== ===================================================================

Checks, each a :class:`~analytics.errors.ChainDataError` naming the file, the line (CSV: the file
line; Parquet: the 1-based row) and the field: missing required columns, non-numeric numbers,
negative open interest, a bad side or date, differing ``as_of``/``spot``/``underlying`` values,
IV given in percent (median of the positive IVs above 3), and duplicate contract rows (same
underlying, root, expiry, strike and side: the message names both lines). Rows settled before
``as_of`` are dropped with a warning; a table with no live row is an error.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pandas as pd

from analytics.chain import OptionChain, PricingModel, make_chain, settlement_instants
from analytics.errors import ChainDataError
from analytics.sources.common import (
    Head,
    Source,
    check_iv_is_decimal,
    check_not_truncated,
    input_text,
    numbers,
    read_input,
)

REQUIRED: tuple[str, ...] = ("underlying", "as_of", "spot", "expiry", "strike", "side", "open_interest")
OPTIONAL: tuple[str, ...] = ("root", "settlement", "iv", "bid", "ask", "mark", "forward", "multiplier")
COLUMNS: tuple[str, ...] = REQUIRED + OPTIONAL
DEFAULT_MULTIPLIER = 100.0
SIDE_WORDS = {"C": "C", "CALL": "C", "P": "P", "PUT": "P"}


def csv_header_names(head_text: str) -> set[str]:
    """Lower-case column names of the first non-blank line of a CSV head (empty set if none).

    Examples
    --------
    >>> sorted(csv_header_names('\\n"Strike", Side\\n1,C'))
    ['side', 'strike']
    """
    lines = [ln for ln in head_text.splitlines() if ln.strip()]
    return {h.strip().strip('"').lower() for h in lines[0].split(",")} if lines else set()


def looks_like_parquet(head: Head) -> bool:
    """True for a Parquet file (magic bytes ``PAR1``)."""
    return head.raw.startswith(b"PAR1")


def looks_like_table_csv(head: Head) -> bool:
    """True for a text file whose first line names every required canonical column."""
    return looks_like_table(head.text)


def looks_like_table(head_text: str) -> bool:
    """True when the first line of a CSV names every required canonical column.

    Examples
    --------
    >>> looks_like_table("underlying,as_of,spot,expiry,strike,side,open_interest,iv\\n")
    True
    >>> looks_like_table("underlying,expiry,strike,side,quantity\\n")
    False
    """
    return set(REQUIRED) <= csv_header_names(head_text)


def _fail(reason: str, path: Path, i: int | None, rows: pd.DataFrame, line_offset: int, field: str | None = None):
    line = int(rows.index[i]) + line_offset if i is not None else None
    return ChainDataError(reason, path=path, line=line, field=field)


def _single_value(rows: pd.DataFrame, col: str, path: Path, line_offset: int) -> str:
    values = rows[col].astype(str).str.strip()
    first = values.iloc[0]
    differs = (values != first).to_numpy()
    if differs.any():
        i = int(np.flatnonzero(differs)[0])
        raise _fail(
            f"{col} must be the same on every row ({values.iloc[i]!r} differs from {first!r})",
            path, i, rows, line_offset, col,
        )
    return first


def frame_to_chain(
    rows: pd.DataFrame,
    *,
    source: str | Path,
    line_offset: int = 2,
    multiplier: float | None = None,
) -> OptionChain:
    """Validate a canonical table (already read into a DataFrame) into an :class:`OptionChain`.

    Parameters
    ----------
    rows : DataFrame
        Columns as in the module docstring; ``rows.index + line_offset`` is each row's line.
    source : path-like
        Named in messages.
    line_offset : int
        2 for a CSV with its header on line 1; 1 for Parquet (1-based row numbers).
    multiplier : float, optional
        Used where the table has no ``multiplier`` column (or leaves it blank).

    Returns
    -------
    OptionChain
        ``model="black76"`` when every row has a forward, else ``"bsm"``.

    Raises
    ------
    ChainDataError
        See the module docstring.
    """
    path = Path(source)
    warnings: list[str] = []
    rows = rows.rename(columns=lambda c: str(c).strip().lower())
    missing = [c for c in REQUIRED if c not in rows.columns]
    if missing:
        raise ChainDataError(
            f"missing required column(s) {', '.join(missing)} (required: {', '.join(REQUIRED)})", path=path
        )
    rows = rows.dropna(how="all")
    if rows.empty:
        raise ChainDataError("no option rows (header only)", path=path)

    underlying = _single_value(rows, "underlying", path, line_offset)
    as_of_text = _single_value(rows, "as_of", path, line_offset)
    try:
        as_of = pd.Timestamp(as_of_text)
    except ValueError as exc:
        raise _fail(f"not an ISO 8601 time ({as_of_text!r})", path, 0, rows, line_offset, "as_of") from exc
    if as_of.tzinfo is None:
        raise _fail(
            f"as_of has no UTC offset ({as_of_text!r}); write e.g. 2024-01-07T10:52:00-05:00",
            path, 0, rows, line_offset, "as_of",
        )
    spot_text = _single_value(rows, "spot", path, line_offset)
    spot = pd.to_numeric(pd.Series([spot_text]), errors="coerce").iloc[0]
    if not np.isfinite(spot):
        raise _fail(f"not a number ({spot_text!r})", path, 0, rows, line_offset, "spot")

    side_raw = rows["side"].astype(str).str.strip().str.upper()
    side = side_raw.map(SIDE_WORDS)
    if side.isna().any():
        i = int(np.flatnonzero(side.isna().to_numpy())[0])
        raise _fail(f"side must be C or P, got {rows['side'].iloc[i]!r}", path, i, rows, line_offset, "side")

    expiry = pd.to_datetime(rows["expiry"].astype(str).str.strip(), format="%Y-%m-%d", errors="coerce")
    if expiry.isna().any():
        i = int(np.flatnonzero(expiry.isna().to_numpy())[0])
        raise _fail(
            f"expiry must be YYYY-MM-DD, got {rows['expiry'].iloc[i]!r}", path, i, rows, line_offset, "expiry"
        )

    root = rows["root"] if "root" in rows.columns else pd.Series(np.nan, index=rows.index)
    root = root.where(root.notna() & (root.astype(str).str.strip() != ""), underlying).astype(str).str.strip()

    settlement = settlement_instants(expiry, root)
    if "settlement" in rows.columns:
        given = rows["settlement"].notna() & (rows["settlement"].astype(str).str.strip() != "")
        if given.any():
            text = rows["settlement"].astype(str).str.strip()
            naive = given & ~text.str.contains(r"(?:Z|[+-]\d{2}:?\d{2})$", regex=True)
            if naive.any():
                i = int(np.flatnonzero(naive.to_numpy())[0])
                raise _fail(f"settlement has no UTC offset ({text.iloc[i]!r})", path, i, rows, line_offset,
                            "settlement")
            parsed = pd.to_datetime(text.where(given), format="ISO8601", utc=True, errors="coerce")
            unreadable = given & parsed.isna()
            if unreadable.any():
                i = int(np.flatnonzero(unreadable.to_numpy())[0])
                raise _fail(f"not an ISO 8601 time ({text.iloc[i]!r})", path, i, rows, line_offset, "settlement")
            settlement = settlement.where(~given, parsed)

    out = pd.DataFrame(
        {
            "underlying": underlying,
            "root": root,
            "expiry": expiry,
            "settlement": settlement,
            "strike": rows["strike"],
            "side": side,
            "open_interest": rows["open_interest"],
        },
        index=rows.index,
    )
    for col in ("iv", "bid", "ask", "mark", "forward", "multiplier"):
        out[col] = rows[col] if col in rows.columns else np.nan
    for col in ("strike", "open_interest", "iv", "bid", "ask", "mark", "forward", "multiplier"):
        out[col] = numbers(out[col], path=path, field=col, line_offset=line_offset)
    check_iv_is_decimal(out["iv"], path=path, wants="the table")

    if out["multiplier"].isna().any():
        fill = multiplier if multiplier is not None else DEFAULT_MULTIPLIER
        if multiplier is None:
            warnings.append(f"no contract multiplier given: {DEFAULT_MULTIPLIER:g} assumed")
        out["multiplier"] = out["multiplier"].fillna(float(fill))

    key = pd.DataFrame(
        {"root": out["root"], "expiry": out["expiry"], "strike": out["strike"].round(8), "side": out["side"]}
    )
    dup = key.duplicated(keep=False).to_numpy()
    if dup.any():
        first_dup = int(np.flatnonzero(key.duplicated(keep="first").to_numpy())[0])
        same = (key == key.iloc[first_dup]).all(axis=1).to_numpy()
        i, j = (int(k) for k in np.flatnonzero(same)[:2])
        r = key.iloc[i]
        raise _fail(
            f"duplicate contract {r['root']} {r['expiry'].date()} {r['strike']:g} {r['side']}: "
            f"line {int(rows.index[i]) + line_offset} and line {int(rows.index[j]) + line_offset}",
            path, j, rows, line_offset,
        )

    fwd = out["forward"].to_numpy()
    model: PricingModel = "black76" if np.all(np.isfinite(fwd) & (fwd > 0)) else "bsm"
    return make_chain(
        out,
        underlying=underlying,
        as_of=as_of,
        spot=float(spot),
        model=model,
        source=str(path),
        warnings=warnings,
        line_offset=line_offset,
    )


def read_table_text(text: str, path: str | Path, *, multiplier: float | None = None) -> OptionChain:
    """Parse the text of a canonical table CSV.

    Parameters
    ----------
    text : str
        The whole file.
    path : path-like
        Named in messages.
    multiplier : float, optional
        Default contract multiplier where the table has none.

    Returns
    -------
    OptionChain
    """
    check_not_truncated(text, Path(path))
    lead = len(text) - len(text.lstrip("\r\n"))
    blank_lines = text[:lead].count("\n")
    rows = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, na_values=[""], skip_blank_lines=True)
    return frame_to_chain(rows, source=path, line_offset=2 + blank_lines, multiplier=multiplier)


def load_table(path: str | Path, *, multiplier: float | None = None, as_of: object = None,
               date_order: object = None) -> OptionChain:
    """Load a canonical table from CSV or Parquet (chosen by content: Parquet starts with ``PAR1``).

    Parameters
    ----------
    path : path-like
        The file.
    multiplier : float, optional
        Default contract multiplier where the table has none.
    as_of : object
        Unused: a table carries its own ``as_of`` (accepted as every source loader is).
    date_order : object
        Unused: a table's dates are ISO 8601 (accepted as every source loader is).

    Returns
    -------
    OptionChain

    Raises
    ------
    ChainDataError
        See the module docstring.
    """
    path = Path(path)
    raw = read_input(path)  # read once, from the checked descriptor (analytics.sources.common)
    if raw[:4] == b"PAR1":
        from pyarrow import ArrowException  # read_parquet loads pyarrow anyway; CSV users never pay for it

        try:
            rows = pd.read_parquet(io.BytesIO(raw))
        except ArrowException as exc:
            detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ChainDataError(f"cannot parse the table-parquet file: {detail}", path=path) from exc
        return frame_to_chain(_typed_to_text(rows), source=path, line_offset=1, multiplier=multiplier)
    return read_table_text(input_text(raw, path), path, multiplier=multiplier)


def _typed_to_text(rows: pd.DataFrame) -> pd.DataFrame:
    """Parquet may store dates and times as typed columns: write them the way the CSV spells them."""
    rows = rows.copy()
    for col in rows.columns:
        if not pd.api.types.is_datetime64_any_dtype(rows[col]):
            continue
        name = str(col).strip().lower()
        if name == "expiry":
            rows[col] = rows[col].dt.strftime("%Y-%m-%d")
        elif name in ("as_of", "settlement"):
            fmt = "%Y-%m-%dT%H:%M:%S" if rows[col].dt.tz is None else "%Y-%m-%dT%H:%M:%S%z"
            rows[col] = rows[col].dt.strftime(fmt)  # naive times stay naive and are rejected
    return rows.astype(object)


def chain_to_frame(chain: OptionChain) -> pd.DataFrame:
    """The canonical table of a chain (the inverse of :func:`frame_to_chain`).

    Parameters
    ----------
    chain : OptionChain
        Any chain.

    Returns
    -------
    DataFrame
        One row per contract side, columns in ``COLUMNS`` order.
    """
    rows = chain.rows
    as_of = pd.Timestamp(chain.as_of).isoformat()
    out = pd.DataFrame(
        {
            "underlying": chain.underlying,
            "as_of": as_of,
            "spot": chain.spot,
            "expiry": pd.to_datetime(rows["expiry"]).dt.strftime("%Y-%m-%d"),
            "strike": rows["strike"],
            "side": rows["side"],
            "open_interest": rows["open_interest"],
            "root": rows["root"],
            "settlement": pd.to_datetime(rows["settlement"], utc=True).dt.strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
    )
    for col in ("iv", "bid", "ask", "mark", "forward", "multiplier"):
        out[col] = rows[col]
    return out[list(COLUMNS)]


def write_table(chain: OptionChain, path: str | Path) -> Path:
    """Write a chain as a canonical table: Parquet if ``path`` ends in ``.parquet``, else CSV.

    Parameters
    ----------
    chain : OptionChain
        The chain to write.
    path : path-like
        Destination.

    Returns
    -------
    Path
        ``path``.
    """
    path = Path(path)
    frame = chain_to_frame(chain)
    if path.suffix.lower() == ".parquet":
        frame.to_parquet(path, index=False)
    else:
        frame.to_csv(path, index=False, float_format="%.10g")
    return path


SOURCES = (
    Source("table-parquet", "the canonical table, Parquet", looks_like_parquet, load_table),
    Source("table-csv", "the canonical table, CSV", looks_like_table_csv, load_table),
)
