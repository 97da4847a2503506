"""The option-chain model: one DataFrame schema for every source, validation, time to settlement.

A chain is an :class:`OptionChain`: a snapshot (underlying, time with zone, spot) plus one row per
contract side. Every loader in :mod:`analytics.sources` produces one; every analytic consumes one.

Row columns (``ROW_COLUMNS``):

============== ================================================================================
underlying     ticker of the underlying (``SPX``, ``BTC``)
root           option root/class (``SPX``, ``SPXW``, ``NDXP``, ``BTC``); decides settlement time
expiry         expiry date (naive ``datetime64``, the calendar date printed on the contract)
settlement     settlement instant, UTC (``datetime64[ns, UTC]``)
strike         strike price, in the underlying's currency
side           ``"C"`` or ``"P"``
open_interest  open interest in contracts (>= 0)
iv             implied volatility as a decimal (0.25 = 25%); NaN where unknown
bid, ask, mark option prices in the quote currency per unit of underlying (NaN where unknown)
forward        the expiry's forward where the source gives one (Deribit), else NaN
multiplier     units of underlying per contract (100 for US listed options, 1 for Deribit)
position       signed contracts held by the dealer/desk (``book`` convention); NaN if no book
adjusted       True for an adjusted-deliverable root (letters then digits: ``AMD1``, ``SPY1``,
               after a corporate action): its deliverable is not ``multiplier`` shares, so the
               analysis layer decides whether to keep it (:func:`is_adjusted_root`)
============== ================================================================================

Option symbols follow the OCC layout ``OCC_SYMBOL_PATTERN``: root (letters, then digits for an
adjusted deliverable), ``YYMMDD``, ``C``/``P``, strike x 1000 on 8 digits (``SPXW240119C04700000``,
``AMD1240119C00100000``).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Literal

import numpy as np
import pandas as pd
import pyarrow as pa

from analytics.codes import pair_key
from analytics.errors import ChainDataError

SECONDS_PER_YEAR = 365.0 * 24 * 3600  # ACT/365 in seconds
#: Most contracts one row may hold: the largest listed open interest is ~1e7 (SPX ~3e5 per strike),
#: so more is garbage (a 1e20 row was accepted silently and 1e308 overflowed the engine).
MAX_OPEN_INTEREST = 1e9
#: Highest strike taken, as a multiple of spot: listed strikes span a few times spot at most, so beyond
#: this a strike is garbage (1e308 was accepted and turned an expiry's ATM IV into null with numpy warnings).
MAX_STRIKE_TO_SPOT = 100.0
NEW_YORK = "America/New_York"

ROW_COLUMNS: tuple[str, ...] = (
    "underlying",
    "root",
    "expiry",
    "settlement",
    "strike",
    "side",
    "open_interest",
    "iv",
    "bid",
    "ask",
    "mark",
    "forward",
    "multiplier",
    "position",
    "adjusted",
)
REQUIRED_COLUMNS: tuple[str, ...] = ("expiry", "settlement", "strike", "side", "open_interest")
NUMERIC_COLUMNS: tuple[str, ...] = (
    "strike",
    "open_interest",
    "iv",
    "bid",
    "ask",
    "mark",
    "forward",
    "multiplier",
    "position",
)

# Roots whose standard (monthly) contracts settle on the opening print (SOQ), 09:30 New York.
AM_SETTLED_ROOTS: frozenset[str] = frozenset({"SPX", "NDX", "RUT", "VIX", "DJX", "MXEA", "MXEF", "OEX_AM"})
# Weekly/PM roots mapped to their underlying ticker.
ROOT_TO_UNDERLYING: dict[str, str] = {
    "SPXW": "SPX",
    "SPXPM": "SPX",
    "NDXP": "NDX",
    "RUTW": "RUT",
    "VIXW": "VIX",
    "XSP": "XSP",
    "DJX": "DJX",
}

#: OCC option symbol: root (letters, digits after them on adjusted roots), YYMMDD, side, strike x 1000.
OCC_SYMBOL_PATTERN = r"(?P<root>[A-Z]+\d*?)(?P<ymd>\d{6})(?P<side>[CP])(?P<strike>\d{8})"
#: The fixed tail of an OCC symbol after its root: ``YYMMDD``, side, strike x 1000 on 8 digits.
OCC_TAIL_CHARS = 15
#: Longest root :func:`occ_root_codes` reads from the symbols' bytes (longer ones: by the pattern).
_PACKED_ROOT_CHARS = 8
#: An adjusted-deliverable root: letters followed by digits (``AMD1``, ``SPY1``).
ADJUSTED_ROOT_PATTERN = r"^[A-Z]+\d+$"

#: What a name read from a file (underlying, option root, a book's names) may hold: ASCII letters, digits,
#: space and ``. _ - / ^`` (``SPX``, ``BRK.B``, ``^VIX``, ``BTC-PERP``), first a letter, digit or ``^``,
#: at most ``MAX_NAME_CHARS``. Names are data, never markup or formulas: ``<``, ``>``, ``&``, quotes,
#: ``=``, ``+``, ``@``, a leading ``-`` and control characters are refused.
SAFE_NAME_PATTERN = r"[A-Za-z0-9^][A-Za-z0-9._\-/^ ]*"
MAX_NAME_CHARS = 32
_SAFE_NAME = re.compile(SAFE_NAME_PATTERN)

PricingModel = Literal["bsm", "black76"]


@dataclass(frozen=True)
class OptionChain:
    """One snapshot of an option chain.

    Attributes
    ----------
    underlying : str
        Ticker of the underlying, e.g. ``"SPX"``.
    as_of : pandas.Timestamp
        Snapshot time, time-zone aware.
    spot : float
        Spot (index level, share price or coin index) at ``as_of``.
    rows : pandas.DataFrame
        One row per contract side with the columns in ``ROW_COLUMNS``; only live rows
        (settlement strictly after ``as_of``).
    model : {"bsm", "black76"}
        ``"bsm"``: Black-Scholes-Merton on spot with rate and dividend yield.
        ``"black76"``: Black-76 on each row's ``forward`` (Deribit).
    source : str
        Path or description of where the chain came from (named in messages).
    warnings : tuple of str
        Readable notes from loading (rows dropped and why).
    """

    underlying: str
    as_of: pd.Timestamp
    spot: float
    rows: pd.DataFrame
    model: PricingModel = "bsm"
    source: str = ""
    warnings: tuple[str, ...] = field(default_factory=tuple)

    @property
    def expiries(self) -> list[dt.date]:
        """Live expiry dates, ascending."""
        return sorted({ts.date() for ts in pd.to_datetime(self.rows["expiry"].unique())})

    @property
    def default_multiplier(self) -> float:
        m = self.rows["multiplier"].dropna()
        return float(m.iloc[0]) if len(m) else 100.0

    @property
    def has_book(self) -> bool:
        return "position" in self.rows and bool(self.rows["position"].notna().any())

    @property
    def adjusted_roots(self) -> list[str]:
        """Adjusted-deliverable roots present in the chain (``AMD1``), sorted; see ``adjusted``."""
        return sorted(set(self.rows.loc[self.rows["adjusted"].to_numpy(bool), "root"]))

    def years_to_settlement(self, horizon_days: float = 0.0) -> np.ndarray:
        """ACT/365 year fractions from ``as_of`` (+ ``horizon_days``) to each row's settlement."""
        return years_between(self.as_of, self.rows["settlement"], horizon_days=horizon_days)

    def select(
        self,
        expiries: list[dt.date | str] | None = None,
        max_dte: float | None = None,
    ) -> OptionChain:
        """Keep only the given expiry dates and/or expiries within ``max_dte`` calendar days.

        Raises ChainDataError naming the source if nothing is left.
        """
        rows = self.rows
        mask = np.ones(len(rows), dtype=bool)
        if expiries:
            # one pass over the chain and one over the request: linear in each, never chain x request
            wanted = pd.DatetimeIndex(pd.to_datetime(tuple(expiries))).normalize().unique()
            live = pd.DatetimeIndex(rows["expiry"].unique())
            unknown = [w.date().isoformat() for w in wanted[~wanted.isin(live)].sort_values()]
            if unknown:
                shown = ", ".join(unknown[:8]) + (f" and {len(unknown) - 8:,} more" if len(unknown) > 8 else "")
                raise ChainDataError(
                    f"expiry {shown} not in the live chain "
                    f"(live: {', '.join(d.isoformat() for d in self.expiries[:8])}"
                    f"{' ...' if len(self.expiries) > 8 else ''})",
                    path=self.source or None,
                )
            mask &= rows["expiry"].isin(wanted).to_numpy()
        if max_dte is not None:
            days = self.years_to_settlement() * 365.0
            mask &= days <= max_dte
        if not mask.any():
            raise ChainDataError("no expiries left after the expiry filter", path=self.source or None)
        return replace(self, rows=rows.loc[mask].reset_index(drop=True))

    def with_rows(self, rows: pd.DataFrame, *extra_warnings: str) -> OptionChain:
        return replace(self, rows=rows.reset_index(drop=True), warnings=self.warnings + tuple(extra_warnings))


def years_between(as_of: pd.Timestamp, settlement: pd.Series | np.ndarray, horizon_days: float = 0.0) -> np.ndarray:
    """ACT/365 year fraction in seconds between ``as_of`` (+ horizon) and each settlement instant.

    Examples
    --------
    >>> t0 = pd.Timestamp("2024-01-05 16:00", tz="America/New_York")
    >>> s = pd.Series(pd.to_datetime(["2024-01-06 16:00"]).tz_localize("America/New_York"))
    >>> float(years_between(t0, s)[0] * 365)
    1.0
    """
    settle = pd.DatetimeIndex(pd.to_datetime(settlement, utc=True))
    start = pd.Timestamp(as_of).tz_convert("UTC") + pd.Timedelta(days=float(horizon_days))
    seconds = (settle - start).total_seconds().to_numpy(dtype=float)
    return seconds / SECONDS_PER_YEAR


def underlying_for_root(root: str) -> str:
    """Map an option root to its underlying ticker.

    Examples
    --------
    >>> underlying_for_root("SPXW"), underlying_for_root("AMD1"), underlying_for_root("QQQ")
    ('SPX', 'AMD', 'QQQ')
    """
    if root in ROOT_TO_UNDERLYING:
        return ROOT_TO_UNDERLYING[root]
    return root.rstrip("0123456789") or root


def is_adjusted_root(root: pd.Series | np.ndarray | list[str]) -> np.ndarray:
    """True where a root names an adjusted deliverable (letters then digits, ``ADJUSTED_ROOT_PATTERN``).

    Such contracts (``AMD1``, ``SPY1``) follow a corporate action; their deliverable is not the
    standard 100 shares. Chains carry the answer in their ``adjusted`` column.

    Examples
    --------
    >>> is_adjusted_root(["SPXW", "AMD1", "SPY12", "BTC"]).tolist()
    [False, True, True, False]
    """
    values = root if isinstance(root, pd.Series) else np.asarray(root, dtype=object)
    codes, uniques = pd.factorize(values)  # a chain has a handful of roots (Arrow strings: no object pass)
    flags = [re.match(ADJUSTED_ROOT_PATTERN, str(u)) is not None for u in uniques]
    return np.array([*flags, False], dtype=bool)[codes]


def occ_root_codes(symbols: pd.Series, default: str) -> tuple[np.ndarray, list[str]]:
    """Codes into the option roots of OCC symbols (``SPXW240119C04700000`` -> ``SPXW``; ``AMD1...`` ->
    ``AMD1``), and those roots in order of first appearance. A value that is not an OCC symbol
    (``OCC_SYMBOL_PATTERN`` after stripping surrounding whitespace), or is missing, gets ``default``.

    The root is what precedes the fixed ``OCC_TAIL_CHARS``-character tail. Read from the symbols'
    bytes at once (:func:`_occ_root_codes_ascii`); a column with a value the bytes cannot settle (a
    non-ASCII character, whitespace at either end, a root above 8 characters) is read by the pattern.

    Examples
    --------
    >>> codes, roots = occ_root_codes(pd.Series(["SPXW240119C04700000", "n/a", "SPX240119P04700000", None]), "SPX")
    >>> codes.tolist(), roots
    ([0, 1, 1, 1], ['SPXW', 'SPX'])
    """
    fast = _occ_root_codes_ascii(symbols, default)
    if fast is not None:
        return fast
    text = symbols.astype("str").str.strip()
    occ = text.str.fullmatch(OCC_SYMBOL_PATTERN).to_numpy(dtype=bool, na_value=False)
    codes, names = pd.factorize(text.str.slice(stop=-OCC_TAIL_CHARS).where(occ, default))
    return codes, [str(n) for n in names]


def _occ_root_codes_ascii(symbols: pd.Series, default: str) -> tuple[np.ndarray, list[str]] | None:
    """:func:`occ_root_codes` over the symbols' UTF-8 bytes (one Arrow buffer) with numpy, or None when
    a value needs the pattern itself: a value that is not text, a NUL or non-ASCII byte (``\\d`` also
    matches other scripts' digits), or what :func:`occ_root_codes_in_bytes` leaves to the pattern.
    """
    try:
        arr = pa.array(symbols.to_numpy(dtype=object), type=pa.string(), from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return None
    n = len(arr)
    if n == 0:
        return np.zeros(0, dtype=np.intp), []
    _, offsets_buffer, data_buffer = arr.buffers()
    offsets = np.frombuffer(offsets_buffer, dtype=np.int32, count=n + 1, offset=4 * arr.offset).astype(np.intp)
    start, end = offsets[:-1] - offsets[0], offsets[1:] - offsets[0]  # a missing value has no bytes
    data = np.zeros(int(end[-1]) + 8, dtype=np.uint8)  # 8 zero bytes after the last value: a word read there
    if end[-1]:
        data[:-8] = np.frombuffer(data_buffer, dtype=np.uint8, count=int(end[-1]), offset=int(offsets[0]))
    if ((data[:-8] - np.uint8(1)) >= 0x7F).any():  # NUL (wraps to 255) or a byte above ASCII
        return None
    return occ_root_codes_in_bytes(data, start, end, default)


def occ_root_codes_in_bytes(data: np.ndarray, start: np.ndarray, end: np.ndarray,
                            default: str) -> tuple[np.ndarray, list[str]] | None:
    """:func:`occ_root_codes` of the values ``data[start[i]:end[i]]`` (an empty value: missing), read with
    numpy, or None when a value needs the pattern itself: a control character or space at either end of
    a value (stripped first), or an OCC symbol whose root is longer than ``_PACKED_ROOT_CHARS``.

    ``data``: uint8 bytes, ASCII without NUL (the caller checks; ``\\d`` also matches other scripts'
    digits). Every word read lies inside a value longer than ``OCC_TAIL_CHARS`` bytes.

    Each value is read as 8-byte words at fixed places from its end (the tail's ``YYMMDD``, side and
    strike digits, checked a word at a time) and from its start (the root, packed into one integer);
    the integers are factorized and the few distinct roots checked by the pattern's root part. No
    Python string per row.
    """
    n = len(start)
    if n == 0:
        return np.zeros(0, dtype=np.intp), []
    filled = end > start
    ends = np.concatenate([data[start[filled]], data[end[filled] - 1]])
    if ((ends <= 0x20) | (ends == 0x7F)).any():
        return None
    word = np.ndarray((max(len(data) - 7, 0),), dtype="<u8", buffer=data, strides=(1,))  # 8 bytes from each place
    cand = np.flatnonzero(end - start > OCC_TAIL_CHARS)
    root_len = end[cand] - start[cand] - OCC_TAIL_CHARS
    ymd_side, strike = word[end[cand] - OCC_TAIL_CHARS], word[end[cand] - 8]
    occ = (_all_digits(strike, 8) & _all_digits(ymd_side, 6)
           & np.isin(ymd_side >> np.uint64(48) & np.uint64(0xFF), [ord("C"), ord("P")]))
    if (occ & (root_len > _PACKED_ROOT_CHARS)).any():
        return None
    keys = np.zeros(n, dtype=np.uint64)
    at = cand[occ]
    keys[at] = word[start[at]] & _LOW_BYTES[np.minimum(root_len[occ], _PACKED_ROOT_CHARS)]
    key_codes, distinct = pd.factorize(keys)
    names = [int(k).to_bytes(_PACKED_ROOT_CHARS, "little").rstrip(b"\0").decode("ascii") for k in distinct]
    names = [name if _OCC_ROOT.fullmatch(name) else default for name in names]
    roots = list(dict.fromkeys(names))  # the default may also be a root read from a symbol
    return np.array([roots.index(name) for name in names], dtype=np.intp)[key_codes], roots


#: Masks keeping the first k bytes of a little-endian 8-byte word, k = 0..8.
_LOW_BYTES = np.array([(1 << (8 * k)) - 1 for k in range(_PACKED_ROOT_CHARS + 1)], dtype=np.uint64)
#: The root part of ``OCC_SYMBOL_PATTERN`` over ASCII (``\d`` there is [0-9] on ASCII text).
_OCC_ROOT = re.compile(r"[A-Z]+[0-9]*")


def _all_digits(words: np.ndarray, k: int) -> np.ndarray:
    """True where the first ``k`` bytes of each little-endian 8-byte word are ASCII digits ``0``-``9``:
    each byte's high nibble is 3 and its low nibble stays below 16 when 6 is added (no carry out)."""
    mask = _LOW_BYTES[k] & np.uint64(0xF0F0F0F0F0F0F0F0)
    threes = _LOW_BYTES[k] & np.uint64(0x3030303030303030)
    sixes = _LOW_BYTES[k] & np.uint64(0x0606060606060606)
    return ((words & mask) == threes) & (((words + sixes) & mask) == threes)


def settlement_instants(expiry: pd.Series, root: pd.Series) -> pd.Series:
    """Settlement instant (UTC) for US-listed options from expiry date and root.

    AM-settled roots (``AM_SETTLED_ROOTS``: SPX monthlies, NDX, RUT, VIX, ...) settle at 09:30
    New York on the expiry date; every other root (SPXW, NDXP, stocks, ETFs) at 16:00 New York.

    Examples
    --------
    >>> e = pd.Series(pd.to_datetime(["2024-01-19", "2024-01-19"]))
    >>> r = pd.Series(["SPX", "SPXW"])
    >>> [t.isoformat() for t in settlement_instants(e, r)]
    ['2024-01-19T14:30:00+00:00', '2024-01-19T21:00:00+00:00']
    """
    exp = _normalized(pd.to_datetime(expiry))
    root_codes, roots = pd.factorize(root, use_na_sentinel=False)  # then each distinct root as text
    am = np.isin(pd.Series(roots, dtype=object).astype(str).to_numpy(dtype=object), list(AM_SETTLED_ROOTS))[root_codes]
    # a chain has a few hundred (expiry, AM/PM) pairs: localise those (zone rules per value are the
    # cost), then take them back to the rows
    day_codes = pd.factorize(exp.to_numpy().view("int64"))[0]
    pair_codes, pairs = pd.factorize(2 * day_codes + am)
    first = np.empty(len(pairs), dtype=np.intp)
    first[pair_codes[::-1]] = np.arange(len(pair_codes))[::-1]
    offset = np.where(am[first], 9 * 3600 + 30 * 60, 16 * 3600).astype("int64")
    local = exp.iloc[first] + pd.to_timedelta(offset, unit="s")
    instants = local.dt.tz_localize(NEW_YORK).dt.tz_convert("UTC")
    return pd.Series(instants.array.take(pair_codes), index=exp.index, name=exp.name)


def utc_instants(expiry: pd.Series, hour_utc: int = 8) -> pd.Series:
    """Settlement at a fixed UTC hour on the expiry date (Deribit: 08:00 UTC)."""
    exp = pd.to_datetime(expiry).dt.normalize()
    return (exp + pd.Timedelta(hours=hour_utc)).dt.tz_localize("UTC")


def unsafe_names(names: pd.Series | np.ndarray | list[str]) -> np.ndarray:
    """True where a name breaks :data:`SAFE_NAME_PATTERN` or is longer than :data:`MAX_NAME_CHARS`
    (missing values are not names: False).

    Examples
    --------
    >>> unsafe_names(["SPXW", "BRK.B", "^VIX", '<a href="x">X</a>', '=HYPERLINK("x")', None]).tolist()
    [False, False, False, True, True, False]
    """
    values = names if isinstance(names, pd.Series) else pd.Series(names, dtype=object)
    codes, uniques = pd.factorize(values)  # a chain has a few distinct names: check those
    text = pd.Series(uniques, dtype=object).astype(str)
    bad = ~(text.str.fullmatch(SAFE_NAME_PATTERN).to_numpy(dtype=bool) & (text.str.len() <= MAX_NAME_CHARS).to_numpy())
    return np.append(bad, False)[codes]  # code -1 (missing) picks the appended False


def check_names(names: pd.Series, *, path: str | None, field: str, line_offset: int | None = None,
                bad: np.ndarray | None = None) -> None:
    """Refuse the first name of ``names`` that :func:`unsafe_names` flags: the one home of the rule.
    ``bad``: those flags when the caller has them already (:func:`make_chain` flags each distinct value once).

    Raises
    ------
    ChainDataError
        ``underlying '<a href=...' is not a name: names hold letters, digits, space and . _ - / ^ (at most
        32 characters)``, at the value's line (``names.index + line_offset``) when known.
    """
    bad = unsafe_names(names) if bad is None else bad
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        line = int(names.index[i]) + line_offset if line_offset is not None else None
        value = str(names.iloc[i])
        shown = value if len(value) <= 60 else value[:59] + "…"
        raise ChainDataError(
            f"{field} {shown!r} is not a name: names hold letters, digits, space and . _ - / ^ "
            f"(at most {MAX_NAME_CHARS} characters)", path=path, line=line, field=field,
        )


def _coerce_numeric(rows: pd.DataFrame, col: str, path: str | None, line_offset: int | None) -> None:
    if pd.api.types.is_numeric_dtype(rows[col].dtype) and not pd.api.types.is_bool_dtype(rows[col].dtype):
        rows[col] = rows[col].astype(float)  # already numbers: nothing to check (no text round trip)
        return
    values = pd.to_numeric(rows[col], errors="coerce")
    bad = values.isna() & rows[col].notna() & (rows[col].astype(str).str.strip() != "")
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        line = (int(rows.index[i]) + line_offset) if line_offset is not None else None
        raise ChainDataError(f"not a number ({rows[col].iloc[i]!r})", path=path, line=line, field=col)
    rows[col] = values.astype(float)


@dataclass(frozen=True)
class _Coded:
    """A column as codes into its distinct values (a missing value is one of them): what
    :func:`make_chain` checks and converts once per distinct value, then takes to the rows once."""

    codes: np.ndarray
    distinct: pd.Series

    @classmethod
    def of(cls, values: pd.Series) -> _Coded:
        codes, distinct = pd.factorize(values, use_na_sentinel=False)
        return cls(codes, pd.Series(distinct, dtype=values.dtype))

    def map(self, fn: Callable[[pd.Series], pd.Series]) -> _Coded:
        """``fn`` (elementwise) applied to the distinct values."""
        return _Coded(self.codes, fn(self.distinct).reset_index(drop=True))

    def rows(self, at: np.ndarray | None = None) -> pd.api.extensions.ExtensionArray:
        """The column's values, at rows ``at`` (all rows when None)."""
        return self.distinct.array.take(self.codes if at is None else self.codes[at])


#: The order of a chain's rows.
ROW_ORDER: tuple[str, ...] = ("expiry", "strike", "side", "root")


def _in_chain_order(rows: pd.DataFrame, keep: np.ndarray, text: dict[str, _Coded],
                    adjusted: np.ndarray) -> pd.DataFrame:
    """The chain's rows: rows ``keep`` of ``rows`` with the ``text`` columns and ``adjusted``, the
    columns of ``ROW_COLUMNS``, stably sorted by ``ROW_ORDER`` as ``sort_values`` would, on a fresh
    index. One ``np.lexsort`` of numbers and of the ranks of the few distinct texts, then one take per
    column (sorting on the text columns cost more than the rest of the ordering)."""
    expiry = rows["expiry"].to_numpy()[keep]
    side, root = text["side"], text["root"]
    if np.isnat(expiry).any() or side.distinct.isna().to_numpy()[side.codes[keep]].any() \
            or root.distinct.isna().to_numpy()[root.codes[keep]].any():
        full = rows.assign(**{col: coded.rows() for col, coded in text.items()}, adjusted=adjusted)
        return full.iloc[keep][list(ROW_COLUMNS)].sort_values(list(ROW_ORDER), kind="stable").reset_index(drop=True)
    side_rank = pd.factorize(side.distinct, sort=True)[0][side.codes[keep]]
    root_ranks = pd.factorize(root.distinct, sort=True)[0]
    root_rank = root_ranks[root.codes[keep]]
    n_roots = int(root_ranks.max(initial=0)) + 1
    minor = side_rank * n_roots + root_rank  # side, then root
    strike = rows["strike"].to_numpy()[keep]
    # one integer key (ranks of expiry, strike, then minor) sorted stably: the rows come as runs already in
    # order (each side of a quote table), which a stable sort merges in a pass; lexsort sorts each key
    day_rank, days = pd.factorize(expiry.view("int64"), sort=True)
    strike_rank, strikes = pd.factorize(strike, sort=True, use_na_sentinel=False)
    n_minor = (int(side_rank.max(initial=0)) + 1) * n_roots
    if len(days) * len(strikes) * n_minor < 2**62 and not np.isnan(strikes).any():
        at = keep[np.argsort(pair_key(pair_key(day_rank, strike_rank, len(strikes)), minor, n_minor), kind="stable")]
    else:
        at = keep[np.lexsort((minor, strike, expiry.view("int64")))]
    columns = {col: text[col].rows(at) if col in text else adjusted[at] if col == "adjusted" else _take(rows[col], at)
               for col in ROW_COLUMNS}
    return pd.DataFrame(columns, copy=False)  # fresh arrays: no copy before the blocks are formed


def _take(column: pd.Series, at: np.ndarray) -> np.ndarray | pd.api.extensions.ExtensionArray:
    """``column``'s values at rows ``at``: numpy's take for a numpy dtype (a third of pandas' cost on
    floats), the array's own take otherwise (a zone-aware time keeps its zone)."""
    return column.to_numpy().take(at) if isinstance(column.dtype, np.dtype) else column.array.take(at)


def _normalized(dates: pd.Series) -> pd.Series:
    """``dates.dt.normalize()``, without the pass when the dates are naive and every one is a midnight."""
    if not (isinstance(dates.dtype, np.dtype) and dates.dtype.kind == "M"):
        return dates.dt.normalize()  # zone aware: midnights are local
    values = dates.to_numpy()
    unit, _ = np.datetime_data(values.dtype)
    per_day = np.timedelta64(1, "D").astype(f"timedelta64[{unit}]").astype(np.int64)
    ticks = values.view(np.int64)
    if ((ticks % per_day == 0) | np.isnat(values)).all():
        return dates
    return dates.dt.normalize()


def check_spot(spot: float, *, path: str | None = None) -> None:
    """Refuse a spot that is not a positive finite number (the one home of the rule: :func:`make_chain`
    and the catalog's quick description of a table call it).

    Raises
    ------
    ChainDataError
        ``spot must be a positive number, got 0.0``.
    """
    if not np.isfinite(spot) or spot <= 0:
        raise ChainDataError(f"spot must be a positive number, got {spot!r}", path=path)


def check_contract_columns(
    strike: np.ndarray,
    open_interest: np.ndarray,
    multiplier: np.ndarray,
    underlying_codes: np.ndarray,
    underlyings: np.ndarray,
    *,
    spot: float,
    forward: np.ndarray | None = None,
    path: str | None = None,
    where: Callable[[np.ndarray], int | None] | None = None,
) -> None:
    """The rules :func:`make_chain` applies to a chain's number columns, over plain float arrays (one
    value per row): their one home, also called by the catalog's quick description of a Parquet table
    (:func:`analytics.sources.table.parquet_table_facts`) on the columns it reads from Arrow.

    Strikes are positive, finite and at most ``MAX_STRIKE_TO_SPOT`` times ``spot``; open interest is
    NaN (unknown) or in ``[0, MAX_OPEN_INTEREST]``; every row has the same underlying (``underlyings``
    [``underlying_codes``]); multipliers are known, positive and finite; with ``forward`` given (Black-76)
    every forward is positive and finite.

    Parameters
    ----------
    where : callable, optional
        A row mask -> the line of its first row, for messages (None: no line).

    Raises
    ------
    ChainDataError
        At the first broken rule, in the order above, naming the first row that breaks it.
    """
    def line(mask: np.ndarray) -> int | None:
        return where(mask) if where is not None else None

    bad = ~(np.isfinite(strike) & (strike > 0))
    if bad.any():
        raise ChainDataError(
            f"strike must be a positive number, got {strike[bad][0]!r}", path=path, line=line(bad), field="strike"
        )
    far = strike > MAX_STRIKE_TO_SPOT * spot
    if far.any():
        raise ChainDataError(
            f"strike {strike[far][0]:,.6g} is more than {MAX_STRIKE_TO_SPOT:g}x spot {spot:,.6g}: not plausible data",
            path=path, line=line(far), field="strike",
        )
    oi = open_interest
    if (oi < 0).any():
        neg = oi < 0
        raise ChainDataError(
            f"negative open interest ({oi[neg][0]:g})", path=path, line=line(neg), field="open_interest"
        )
    absurd = ~np.isnan(oi) & ~(oi <= MAX_OPEN_INTEREST)
    if absurd.any():
        raise ChainDataError(
            f"open interest {oi[absurd][0]:g} is above {MAX_OPEN_INTEREST:g} contracts on one row: not plausible data",
            path=path, line=line(absurd), field="open_interest",
        )
    codes, names = underlying_codes, underlyings
    other = (names != names[codes[0]])[codes] if len(codes) else np.zeros(0, bool)
    if other.any():
        raise ChainDataError(
            f"rows of two underlyings in one file: {names[codes[0]]} and {names[codes][other][0]} (each file holds "
            "one underlying; its spot prices every row)", path=path, line=line(other), field="underlying",
        )
    mult = multiplier
    if np.isnan(mult).all():
        raise ChainDataError("contract multiplier unknown", path=path, field="multiplier")
    if ((mult <= 0) | ~np.isfinite(mult)).any():
        badm = (mult <= 0) | ~np.isfinite(mult)
        raise ChainDataError("contract multiplier must be positive", path=path, line=line(badm), field="multiplier")
    if forward is not None:
        badf = ~(np.isfinite(forward) & (forward > 0))
        if badf.any():
            raise ChainDataError("Black-76 rows need a positive forward", path=path, line=line(badf), field="forward")


def live_rows(settlement: pd.Series, as_of: pd.Timestamp, *, path: str | None = None) -> np.ndarray:
    """The rows of a chain that are live: settlement (UTC instants) strictly after ``as_of`` (zone aware).

    The one home of the rule for :func:`make_chain` and the catalog's quick description of a table.

    Raises
    ------
    ChainDataError
        ``no option rows`` for an empty chain, ``no live rows: all N rows settled before the snapshot
        ...`` when every row has settled.
    """
    n_total = len(settlement)
    if n_total == 0:
        raise ChainDataError("no option rows", path=path)
    live = np.asarray(settlement > as_of.tz_convert("UTC"), dtype=bool)
    if not live.any():
        raise ChainDataError(
            f"no live rows: all {n_total} rows settled before the snapshot {as_of.isoformat()}", path=path
        )
    return live


def make_chain(
    rows: pd.DataFrame,
    *,
    underlying: str,
    as_of: pd.Timestamp,
    spot: float,
    model: PricingModel = "bsm",
    source: str = "",
    warnings: list[str] | tuple[str, ...] = (),
    line_offset: int | None = None,
) -> OptionChain:
    """Validate rows into an :class:`OptionChain`, dropping settled and empty rows with a count.

    Parameters
    ----------
    rows : DataFrame
        Columns as in ``ROW_COLUMNS`` (missing optional ones are added as NaN).
    line_offset : int, optional
        ``rows.index + line_offset`` is the file line of a row, for messages.

    Raises
    ------
    ChainDataError
        Naming ``source`` and the problem: missing columns, non-numeric values, negative open
        interest, non-positive strikes or strikes above ``MAX_STRIKE_TO_SPOT`` times spot, bad sides, a snapshot without a time zone, a bad spot, or
        no live rows.
    """
    path = source or None
    warnings = list(warnings)
    as_of = pd.Timestamp(as_of)
    if as_of.tzinfo is None:
        raise ChainDataError("snapshot time has no time zone", path=path)
    check_spot(spot, path=path)
    missing = [c for c in REQUIRED_COLUMNS if c not in rows.columns]
    if missing:
        raise ChainDataError(f"missing column(s) {', '.join(missing)}", path=path)
    rows = rows.copy(deep=False)  # copy-on-write: the columns set below never reach the caller's frame
    for col in ROW_COLUMNS:
        if col not in rows.columns:
            rows[col] = np.nan
    if rows["underlying"].isna().all():
        rows["underlying"] = underlying
    if rows["root"].isna().all():
        rows["root"] = underlying
    # the text columns hold a few distinct values: each is checked and converted once per value and
    # taken to the rows once, in chain order, at the end
    text = {col: _Coded.of(rows[col]) for col in ("underlying", "root", "side")}
    for col in ("underlying", "root"):
        check_names(rows[col], path=path, field=col, line_offset=line_offset,
                    bad=unsafe_names(text[col].distinct)[text[col].codes])
    check_names(pd.Series([underlying], dtype=object), path=path, field="underlying")
    for col in NUMERIC_COLUMNS:
        _coerce_numeric(rows, col, path, line_offset)

    def where(mask: np.ndarray) -> int | None:
        i = int(np.flatnonzero(mask)[0])
        return (int(rows.index[i]) + line_offset) if line_offset is not None else None

    side = text["side"].map(lambda s: s.astype(str).str.upper().str.strip().str[:1])
    bad_side = ~side.distinct.isin(["C", "P"]).to_numpy()[side.codes]
    if bad_side.any():
        raise ChainDataError(
            f"side must be C or P, got {rows['side'].to_numpy()[bad_side][0]!r}",
            path=path, line=where(bad_side), field="side",
        )
    codes, distinct = text["underlying"].codes, text["underlying"].distinct
    names = distinct.astype(object).astype(str).where(distinct.notna(), underlying).to_numpy()
    oi = rows["open_interest"].to_numpy()
    check_contract_columns(
        rows["strike"].to_numpy(), oi, rows["multiplier"].to_numpy(), codes, names, spot=spot,
        forward=rows["forward"].to_numpy() if model == "black76" else None, path=path, where=where,
    )
    n_nan_oi = int(np.isnan(oi).sum())
    if n_nan_oi:
        rows["open_interest"] = np.nan_to_num(oi, nan=0.0)
        warnings.append(f"{n_nan_oi} row(s) without open interest counted as 0")

    expiry = pd.to_datetime(rows["expiry"])
    if expiry.dt.tz is not None:
        expiry = expiry.dt.tz_localize(None)
    rows["expiry"] = _normalized(expiry)
    rows["settlement"] = pd.to_datetime(rows["settlement"], utc=True)
    text["side"] = side
    text["underlying"] = text["underlying"].map(lambda s: s.astype(str))
    text["root"] = text["root"].map(lambda s: s.astype(str))
    adjusted = is_adjusted_root(text["root"].distinct)[text["root"].codes]

    live = live_rows(rows["settlement"], as_of, path=path)
    n_settled = int((~live).sum())
    if n_settled:
        settled_exp = sorted({d.date().isoformat() for d in rows.loc[~live, "expiry"].unique()})
        shown = ", ".join(settled_exp[:4]) + (" ..." if len(settled_exp) > 4 else "")
        warnings.append(f"dropped {n_settled} row(s) settled before the snapshot (expiry {shown})")
    rows = _in_chain_order(rows, np.flatnonzero(live), text, adjusted)
    return OptionChain(
        underlying=underlying,
        as_of=as_of,
        spot=float(spot),
        rows=rows.reset_index(drop=True),
        model=model,
        source=str(source),
        warnings=tuple(warnings),
    )
