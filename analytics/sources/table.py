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
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd

from analytics.chain import (
    OptionChain,
    PricingModel,
    check_contract_columns,
    check_names,
    check_spot,
    live_rows,
    make_chain,
    settlement_instants,
)
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
OFFSET_AT_END = r"(?:Z|[+-]\d{2}:?\d{2})$"  # a settlement time ends with its UTC offset
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


def _distinct(col: pd.Series) -> tuple[np.ndarray, pd.Series]:
    """(codes, the first row of each distinct value of ``col``, in order of appearance).

    A table's text columns hold a handful of distinct values (one underlying, a few hundred expiries):
    every per-value rule runs on those rows and is taken back to all rows by ``codes``. Values that
    compare equal but read differently stay apart (floats by their bits, so ``-0.0`` is not ``0.0``; an
    object column that is not all text is not grouped at all).
    """
    n = len(col)
    values = col.to_numpy()
    if col.dtype.kind == "f":
        codes = pd.factorize(values.view(np.int64))[0]
    elif col.dtype == object and pd.api.types.infer_dtype(values, skipna=True) not in ("string", "empty"):
        return np.arange(n, dtype=np.intp), col
    else:
        codes = pd.factorize(col, use_na_sentinel=False)[0]
    n_distinct = int(codes.max()) + 1 if n else 0
    first = np.empty(n_distinct, dtype=np.intp)
    first[codes[::-1]] = np.arange(n - 1, -1, -1, dtype=np.intp)
    return codes, col.iloc[first]


def _spread(distinct: pd.Series, codes: np.ndarray, index: pd.Index) -> pd.Series:
    """A per-distinct result back on every row (the inverse of :func:`_distinct`)."""
    return pd.Series(distinct.array.take(codes), index=index, name=distinct.name)


def _as_text(values: pd.Series) -> pd.Series:
    """``values`` as text, the way a CSV cell reads (numbers and the like through Python's ``str``)."""
    if values.dtype.kind in "biufcmM":
        values = values.astype(object)
    return values.astype(str).str.strip()


def _single_value(rows: pd.DataFrame, col: str, path: Path, line_offset: int) -> str:
    codes, distinct = _distinct(rows[col])
    values = _as_text(distinct)
    first = values.iloc[codes[0]]
    differs = (values != first).to_numpy()[codes]
    if differs.any():
        i = int(np.flatnonzero(differs)[0])
        raise _fail(
            f"{col} must be the same on every row ({values.iloc[codes[i]]!r} differs from {first!r})",
            path, i, rows, line_offset, col,
        )
    return first


def _numbers(rows: pd.DataFrame, col: str, path: Path, line_offset: int) -> np.ndarray:
    """A numeric column as float64 (:func:`~analytics.sources.common.numbers`: blanks NaN, anything
    else unreadable an error at its first line), each distinct text read once."""
    raw = rows[col]
    if pd.api.types.is_numeric_dtype(raw.dtype) and not pd.api.types.is_bool_dtype(raw.dtype):
        return raw.astype(float).to_numpy()
    codes, distinct = _distinct(raw)  # in order of first appearance: the first bad value is the first bad row
    return numbers(distinct, path=path, field=col, line_offset=line_offset).to_numpy()[codes]


def _spot_number(text: str) -> float:
    """The spot a table's ``spot`` text gives (NaN when it is not a number)."""
    return float(pd.to_numeric(pd.Series([text]), errors="coerce").iloc[0])


def _default_settlement(expiry_of: pd.Series, expiry_codes: np.ndarray, root_of: pd.Series, root_codes: np.ndarray,
                        index: pd.Index) -> pd.Series:
    """Each row's default settlement (:func:`~analytics.chain.settlement_instants`) from the distinct
    expiries and roots and each row's codes into them: computed once per distinct (expiry, root)."""
    pair_codes, pairs = pd.factorize(expiry_codes.astype(np.int64) * len(root_of) + root_codes)
    pair_first = np.empty(len(pairs), dtype=np.intp)
    pair_first[pair_codes[::-1]] = np.arange(len(pair_codes) - 1, -1, -1, dtype=np.intp)
    pair_settlement = settlement_instants(
        _spread(expiry_of, expiry_codes[pair_first], pd.RangeIndex(len(pairs))),
        _spread(root_of, root_codes[pair_first], pd.RangeIndex(len(pairs))),
    )
    return _spread(pair_settlement, pair_codes, index)


def _first_duplicate(root: np.ndarray, expiry: np.ndarray, strike: np.ndarray, side: np.ndarray) -> tuple[int, int] | None:
    """The first two rows of the first contract (root, expiry, side codes; strike to 1e-8) that appears
    twice (ordered by its second appearance), or None: one pass over integer keys."""
    key = np.zeros(len(root), dtype=np.int64)
    for part in (root, expiry, np.round(strike, 8), side):
        codes, uniques = pd.factorize(part, use_na_sentinel=False)
        key = pd.factorize(key * len(uniques) + codes)[0]  # stays below n_rows**2: no overflow
    n = len(key)
    first = np.empty(n, dtype=np.intp)  # first row of each key
    first[key[::-1]] = np.arange(n - 1, -1, -1, dtype=np.intp)
    again = np.flatnonzero(first[key] != np.arange(n))
    if not again.size:
        return None
    j = int(again[0])
    return int(first[key[j]]), j


#: ``fail(reason, row, field)``: the error for a broken rule at a row (position; None: no line) and field.
Fail = Callable[[str, int | None, str | None], ChainDataError]

# The table's own rules (what make_chain then checks is in analytics.chain: check_spot,
# check_contract_columns, live_rows): one home each, shared by frame_to_chain and parquet_table_facts.


def _snapshot_time(text: str, fail: Fail) -> pd.Timestamp:
    """The table's ``as_of`` from its text: an ISO 8601 time with a UTC offset."""
    try:
        as_of = pd.Timestamp(text)
    except ValueError as exc:
        raise fail(f"not an ISO 8601 time ({text!r})", 0, "as_of") from exc
    if as_of.tzinfo is None:
        raise fail(f"as_of has no UTC offset ({text!r}); write e.g. 2024-01-07T10:52:00-05:00", 0, "as_of")
    return as_of


def _table_spot(text: str, fail: Fail) -> float:
    """The table's ``spot`` from its text: a number (:func:`~analytics.chain.check_spot` then wants it positive)."""
    spot = _spot_number(text)
    if not np.isfinite(spot):
        raise fail(f"not a number ({text!r})", 0, "spot")
    return spot


def _expiry_dates(text: pd.Series) -> pd.Series:
    """The date of each (distinct, stripped) expiry text: ``YYYY-MM-DD``, NaT for anything else."""
    return pd.to_datetime(text, format="%Y-%m-%d", errors="coerce")


def _settlement_times(text: pd.Series, given: pd.Series | None = None) -> tuple[pd.Series, pd.Series]:
    """(given without a UTC offset, the UTC instant of each given text or NaT) for distinct, stripped
    settlement texts (``given``: the texts that are not blank; None: all)."""
    has_offset = text.str.contains(OFFSET_AT_END, regex=True)
    if given is None:
        return ~has_offset, pd.to_datetime(text, format="ISO8601", utc=True, errors="coerce")
    return given & ~has_offset, pd.to_datetime(text.where(given), format="ISO8601", utc=True, errors="coerce")


def _filled_multipliers(values: np.ndarray, multiplier: float | None, warnings: list[str]) -> np.ndarray:
    """The table's multipliers, blanks filled with ``multiplier`` (else ``DEFAULT_MULTIPLIER``, with a warning)."""
    if not np.isnan(values).any():
        return values
    if multiplier is None:
        warnings.append(f"no contract multiplier given: {DEFAULT_MULTIPLIER:g} assumed")
    return np.where(np.isnan(values), float(multiplier if multiplier is not None else DEFAULT_MULTIPLIER), values)


def _pricing_model(forward: np.ndarray) -> PricingModel:
    """Black-76 on the forwards when every row has a positive one, else Black-Scholes on spot."""
    return "black76" if np.all(np.isfinite(forward) & (forward > 0)) else "bsm"


def _duplicate_contract(root_of: pd.Series, root_codes: np.ndarray, expiry_of: pd.Series, expiry_codes: np.ndarray,
                        strike: np.ndarray, side_of: pd.Series, side_codes: np.ndarray) -> tuple[int, int] | None:
    """:func:`_first_duplicate` on the values read (per distinct value, then each row's codes): ``" SPXW"`` is
    ``"SPXW"``, two expiry texts of one day are one expiry."""
    return _first_duplicate(
        pd.factorize(root_of)[0][root_codes],
        pd.factorize(expiry_of.to_numpy().view(np.int64))[0][expiry_codes],
        strike,
        pd.factorize(side_of)[0][side_codes],
    )


def frame_to_chain(
    rows: pd.DataFrame,
    *,
    source: str | Path,
    line_offset: int = 2,
    multiplier: float | None = None,
) -> OptionChain:
    """Validate a canonical table (already read into a DataFrame) into an :class:`OptionChain`.

    Text rules run once per distinct value of a column (:func:`_distinct`) and numbers stay typed,
    so a table costs a few vectorised passes, not one pandas text operation per row and rule.

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

    def fail(reason: str, i: int | None, field: str | None) -> ChainDataError:
        return _fail(reason, path, i, rows, line_offset, field)

    as_of = _snapshot_time(_single_value(rows, "as_of", path, line_offset), fail)
    spot = _table_spot(_single_value(rows, "spot", path, line_offset), fail)

    side_codes, side_rows = _distinct(rows["side"])
    side_of = _as_text(side_rows).str.upper().map(SIDE_WORDS)
    unknown = side_of.isna().to_numpy()[side_codes]
    if unknown.any():
        i = int(np.flatnonzero(unknown)[0])
        raise _fail(f"side must be C or P, got {rows['side'].iloc[i]!r}", path, i, rows, line_offset, "side")

    expiry_codes, expiry_rows = _distinct(rows["expiry"])
    expiry_of = _expiry_dates(_as_text(expiry_rows))
    bad_date = expiry_of.isna().to_numpy()[expiry_codes]
    if bad_date.any():
        i = int(np.flatnonzero(bad_date)[0])
        raise _fail(
            f"expiry must be YYYY-MM-DD, got {rows['expiry'].iloc[i]!r}", path, i, rows, line_offset, "expiry"
        )

    if "root" in rows.columns:
        root_codes, root_rows = _distinct(rows["root"])
        given_root = root_rows.notna() & (_as_text(root_rows) != "")
        root_of = root_rows.where(given_root, underlying).astype(str).str.strip()
    else:
        root_codes = np.zeros(len(rows), dtype=np.intp)
        root_of = pd.Series([underlying], dtype=object).astype(str).str.strip()

    settlement = _default_settlement(expiry_of, expiry_codes, root_of, root_codes, rows.index)
    if "settlement" in rows.columns:
        set_codes, set_rows = _distinct(rows["settlement"])
        given_of = set_rows.notna() & (_as_text(set_rows) != "")
        if given_of.any():
            text = _as_text(set_rows)
            naive_of, parsed_of = _settlement_times(text, given_of)
            naive = naive_of.to_numpy()[set_codes]
            if naive.any():
                i = int(np.flatnonzero(naive)[0])
                raise _fail(f"settlement has no UTC offset ({text.iloc[set_codes[i]]!r})", path, i, rows,
                            line_offset, "settlement")
            unreadable = (given_of & parsed_of.isna()).to_numpy()[set_codes]
            if unreadable.any():
                i = int(np.flatnonzero(unreadable)[0])
                raise _fail(f"not an ISO 8601 time ({text.iloc[set_codes[i]]!r})", path, i, rows, line_offset,
                            "settlement")
            given = given_of.to_numpy()[set_codes]
            settlement = settlement.where(~given, _spread(parsed_of, set_codes, rows.index))

    out = pd.DataFrame(
        {
            "underlying": underlying,
            "root": _spread(root_of, root_codes, rows.index),
            "expiry": _spread(expiry_of, expiry_codes, rows.index),
            "settlement": settlement,
            "strike": _numbers(rows, "strike", path, line_offset),
            "side": _spread(side_of, side_codes, rows.index),
            "open_interest": _numbers(rows, "open_interest", path, line_offset),
        },
        index=rows.index,
    )
    for col in ("iv", "bid", "ask", "mark", "forward", "multiplier"):
        out[col] = _numbers(rows, col, path, line_offset) if col in rows.columns else np.nan
    check_iv_is_decimal(out["iv"], path=path, wants="the table")

    out["multiplier"] = _filled_multipliers(out["multiplier"].to_numpy(), multiplier, warnings)

    strike = out["strike"].to_numpy()
    expiry = out["expiry"].to_numpy()
    dup = _duplicate_contract(root_of, root_codes, expiry_of, expiry_codes, strike, side_of, side_codes)
    if dup is not None:
        i, j = dup
        raise _fail(
            f"duplicate contract {out['root'].iloc[i]} {pd.Timestamp(expiry[i]).date()} {np.round(strike[i], 8):g} "
            f"{out['side'].iloc[i]}: line {int(rows.index[i]) + line_offset} and line {int(rows.index[j]) + line_offset}",
            path, j, rows, line_offset,
        )

    return make_chain(
        out,
        underlying=underlying,
        as_of=as_of,
        spot=float(spot),
        model=_pricing_model(out["forward"].to_numpy()),
        source=str(path),
        warnings=warnings,
        line_offset=line_offset,
    )


class TableFacts(NamedTuple):
    """What a data folder's catalog shows of a canonical table (:func:`parquet_table_facts`)."""

    underlying: str
    as_of: pd.Timestamp
    spot: float
    n_rows: int  # live contract rows, as the chain would hold
    n_expiries: int  # live expiry dates


_TEXT_COLUMNS = frozenset({"underlying", "as_of", "expiry", "side", "root", "settlement"})


def parquet_table_facts(raw: bytes) -> TableFacts | None:
    """The catalog facts of a clean canonical Parquet table, read from Arrow without building its chain;
    None unless the table provably loads (then :func:`load_table` would give exactly these facts).

    A scan describes hundreds of snapshots: this costs a Parquet read and a few Arrow/numpy passes
    over distinct values (~1 ms for a small table) where the load costs ~30 ms of pandas work. It
    keeps only what is Arrow's: the plain layout :func:`write_table` and the demo/collector writers
    give (exact lower-case column names, text and number types, no missing text, no pandas index,
    one underlying, time and spot, sides exactly ``C``/``P``). The rules themselves are the load's
    own functions, called on the distinct values and number arrays (one home each): this module's
    ``_snapshot_time``, ``_table_spot``, ``SIDE_WORDS``, ``_expiry_dates``, ``_settlement_times``,
    ``_filled_multipliers``, ``_pricing_model``, ``_duplicate_contract`` and
    :func:`~analytics.sources.common.check_iv_is_decimal`, then :mod:`analytics.chain`'s
    ``check_spot``, ``check_names``, ``check_contract_columns`` and ``live_rows`` (what
    :func:`~analytics.chain.make_chain` calls). Anything else (spaces, blanks, typed dates, extra
    columns, a rule broken) is None: the caller loads the file, which says what is wrong. The facts
    are those of :func:`load_table` without a ``multiplier`` argument (the catalog's load).
    ``tests/unit/test_catalog_quick.py`` requires a refused variant for every message the load can raise.

    Raises
    ------
    Exception
        Whatever Arrow or pandas raise on a file they cannot read (the caller loads it then).
    """
    import json

    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pq.ParquetFile(pa.BufferReader(raw)).read()
    names, n = table.column_names, table.num_rows
    if n == 0 or len(set(names)) != len(names) or not set(REQUIRED) <= set(names) <= set(COLUMNS):
        return None
    pandas_meta = json.loads((table.schema.metadata or {}).get(b"pandas", b"{}"))
    if any(isinstance(index, str) for index in pandas_meta.get("index_columns", [])):
        return None  # pandas would make that column the index
    text: dict[str, tuple[np.ndarray, list[str]]] = {}  # column -> (row codes, distinct values)
    number: dict[str, np.ndarray] = {}
    for name in names:
        column = table.column(name)
        kind = column.type
        if name in _TEXT_COLUMNS:
            kind = kind.value_type if pa.types.is_dictionary(kind) else kind
            if not (pa.types.is_string(kind) or pa.types.is_large_string(kind)) or column.null_count:
                return None
            encoded = column.cast(kind).dictionary_encode().combine_chunks()
            distinct = encoded.dictionary.to_pylist()
            if any(not v or v != v.strip() for v in distinct):
                return None
            text[name] = (encoded.indices.to_numpy(zero_copy_only=False).astype(np.intp), distinct)
        elif pa.types.is_floating(kind) or pa.types.is_integer(kind):
            number[name] = column.to_numpy()  # nulls are NaN, as pandas reads them
        else:
            return None
    (_, underlyings), (_, as_of_texts) = text["underlying"], text["as_of"]
    spot_values = number["spot"]
    same_spot = spot_values.view(np.int64) if spot_values.dtype.kind == "f" else spot_values
    if len(underlyings) != 1 or len(as_of_texts) != 1 or table.column("spot").null_count or np.any(same_spot != same_spot[0]):
        return None
    underlying = underlyings[0]
    side_codes, sides = text["side"]
    expiry_codes, expiries = text["expiry"]
    root_codes, roots = text["root"] if "root" in text else (np.zeros(n, np.intp), [underlying])
    # From here on the rules are the load's own functions (one home each: this module's helpers for the
    # table's rules, analytics.chain's for make_chain's), on the distinct values and the number arrays:
    # a rule they refuse makes the answer None and the caller's load reports it.
    try:
        as_of = _snapshot_time(as_of_texts[0], _refuse)
        spot = _table_spot(str(table.column("spot")[0].as_py()), _refuse)  # as the load reads the spot's text
        check_spot(spot)
        if any(SIDE_WORDS.get(side) != side for side in sides):
            return None  # refused, or a side the load reads ("call", "c"): not the plain layout
        side_of = pd.Series(sides, dtype=object)
        expiry_of = _expiry_dates(pd.Series(expiries, dtype=object))
        if expiry_of.isna().any():
            return None
        root_of = pd.Series(roots, dtype=object)
        check_names(pd.Series([underlying, *roots], dtype=object), path=None, field="underlying or root")
        if "settlement" in text:
            settle_codes, settles = text["settlement"]
            naive, settle_of = _settlement_times(pd.Series(settles, dtype=object))
            if naive.any() or settle_of.isna().any():
                return None
            live = live_rows(settle_of, as_of)[settle_codes]  # per distinct settlement: every one has rows
        else:
            live = live_rows(_default_settlement(expiry_of, expiry_codes, root_of, root_codes, pd.RangeIndex(n)), as_of)
        check_iv_is_decimal(number.get("iv", np.full(n, np.nan)), path=None, wants="the table")
        strike, oi = number["strike"].astype(float), number["open_interest"].astype(float)
        forward = number.get("forward", np.full(n, np.nan)).astype(float)
        check_contract_columns(
            strike, oi, _filled_multipliers(number.get("multiplier", np.full(n, np.nan)).astype(float), None, []),
            np.zeros(n, np.intp), np.array([underlying], dtype=object), spot=spot,
            forward=forward if _pricing_model(forward) == "black76" else None,
        )
        if _duplicate_contract(root_of, root_codes, expiry_of, expiry_codes, strike, side_of, side_codes) is not None:
            return None
    except ChainDataError:
        return None
    expiry_day = pd.factorize(expiry_of.to_numpy().view(np.int64))[0][expiry_codes]
    return TableFacts(underlying, as_of, spot, int(live.sum()), len(np.unique(expiry_day[live])))


def _refuse(reason: str, i: int | None, field: str | None) -> ChainDataError:
    """The :data:`Fail` of :func:`parquet_table_facts`: the error, no file or line (it is caught there)."""
    return ChainDataError(reason, field=field)


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
    """Parquet may store dates and times as typed columns: write them the way the CSV spells them.

    Numbers (not booleans) and text stay as read; any other type becomes Python objects, read as
    their ``str`` like a CSV cell (a boolean ``open_interest`` is "not a number (True)")."""
    out = {}
    for col in rows.columns:
        values = rows[col]
        name = str(col).strip().lower()
        if pd.api.types.is_datetime64_any_dtype(values) and name == "expiry":
            values = values.dt.strftime("%Y-%m-%d")
        elif pd.api.types.is_datetime64_any_dtype(values) and name in ("as_of", "settlement"):
            fmt = "%Y-%m-%dT%H:%M:%S" if values.dt.tz is None else "%Y-%m-%dT%H:%M:%S%z"
            values = values.dt.strftime(fmt)  # naive times stay naive and are rejected
        numeric = pd.api.types.is_numeric_dtype(values.dtype) and not pd.api.types.is_bool_dtype(values.dtype)
        if not (numeric and values.dtype.kind in "iuf") and not _is_text(values):
            values = values.astype(object)
        out[col] = values
    return pd.DataFrame(out, index=rows.index, columns=rows.columns) if out else rows.astype(object)


def _is_text(values: pd.Series) -> bool:
    """A pandas text column (``str``/``string``, not Python objects)."""
    return isinstance(values.dtype, pd.StringDtype)


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
