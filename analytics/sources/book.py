"""Positions ("book") files: a desk's signed quantity per contract, for the ``book`` convention.

CSV, UTF-8, one line per contract, header line first; column names lower case:

============= ========== =====================================================================
column        required   meaning
============= ========== =====================================================================
underlying    yes        ticker of the underlying (``SPX``, ``BTC``), as in the chain
expiry        yes        expiry date ``YYYY-MM-DD``
strike        yes        strike price (> 0)
side          yes        ``C`` or ``P`` (``call``/``put`` accepted)
quantity      yes        signed contracts held by the dealer/desk: + long, - short
root          no         option root (``SPX`` vs ``SPXW``). Needed only where two roots share
                         (expiry, strike, side) in the chain; blank matches any root
============= ========== =====================================================================

A contract listed twice is an error naming both lines (net the fills first). Applying a book to a
chain (:func:`apply_book`) fills the chain's ``position`` column: contracts not in the book get 0,
book lines that match no live contract of the chain are reported in the chain's warnings.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pandas as pd

from analytics.chain import OptionChain, check_names
from analytics.errors import ChainDataError
from analytics.sources.common import Head, Source, read_text_file
from analytics.sources.table import SIDE_WORDS, csv_header_names

BOOK_REQUIRED: tuple[str, ...] = ("underlying", "expiry", "strike", "side", "quantity")
BOOK_OPTIONAL: tuple[str, ...] = ("root",)
_STRIKE_DECIMALS = 6


def looks_like_book(head_text: str) -> bool:
    """True when the first line of a CSV is a positions-file header.

    Examples
    --------
    >>> looks_like_book("underlying,expiry,strike,side,quantity\\n")
    True
    >>> looks_like_book("underlying,as_of,spot,expiry,strike,side,open_interest\\n")
    False
    """
    header = csv_header_names(head_text)
    return set(BOOK_REQUIRED) <= header and "open_interest" not in header


def read_book_text(text: str, path: str | Path) -> pd.DataFrame:
    """Parse the text of a positions file.

    Parameters
    ----------
    text : str
        The whole file.
    path : path-like
        Named in messages.

    Returns
    -------
    DataFrame
        As :func:`load_book`.
    """
    path = Path(path)
    lead = len(text) - len(text.lstrip("\r\n"))
    offset = 2 + text[:lead].count("\n")
    if not text.strip():
        raise ChainDataError("empty file", path=path)
    raw = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, na_values=[""])
    raw = raw.rename(columns=lambda c: str(c).strip().lower()).dropna(how="all")
    missing = [c for c in BOOK_REQUIRED if c not in raw.columns]
    if missing:
        raise ChainDataError(
            f"missing column(s) {', '.join(missing)} (a book needs {', '.join(BOOK_REQUIRED)})", path=path
        )
    if raw.empty:
        raise ChainDataError("no positions (header only)", path=path)

    def fail(reason: str, mask: np.ndarray, field: str | None = None) -> ChainDataError:
        i = int(np.flatnonzero(mask)[0])
        return ChainDataError(reason, path=path, line=int(raw.index[i]) + offset, field=field)

    book = pd.DataFrame(index=raw.index)
    book["underlying"] = raw["underlying"].astype(str).str.strip().str.upper()
    root = raw["root"] if "root" in raw.columns else pd.Series(pd.NA, index=raw.index, dtype="string")
    root = root.astype("string").str.strip().str.upper()
    book["root"] = root.where(root != "")
    for col in ("underlying", "root"):
        check_names(book[col], path=str(path), field=col, line_offset=offset)
    book["expiry"] = pd.to_datetime(raw["expiry"].astype(str).str.strip(), format="%Y-%m-%d", errors="coerce")
    bad = book["expiry"].isna().to_numpy()
    if bad.any():
        raise fail(f"expiry must be YYYY-MM-DD, got {raw['expiry'].to_numpy()[bad][0]!r}", bad, "expiry")
    for col in ("strike", "quantity"):
        values = pd.to_numeric(raw[col], errors="coerce")
        bad = values.isna().to_numpy() | ~np.isfinite(values.to_numpy(dtype=float))
        if bad.any():
            raise fail(f"not a number ({raw[col].to_numpy()[bad][0]!r})", bad, col)
        book[col] = values.astype(float)
    bad = (book["strike"] <= 0).to_numpy()
    if bad.any():
        raise fail(f"strike must be positive, got {book['strike'].to_numpy()[bad][0]:g}", bad, "strike")
    side = raw["side"].astype(str).str.strip().str.upper().map(SIDE_WORDS)
    bad = side.isna().to_numpy()
    if bad.any():
        raise fail(f"side must be C or P, got {raw['side'].to_numpy()[bad][0]!r}", bad, "side")
    book["side"] = side
    book["line"] = (raw.index.to_numpy() + offset).astype(int)

    key = pd.DataFrame(
        {
            "underlying": book["underlying"],
            "root": book["root"].fillna(""),
            "expiry": book["expiry"],
            "strike": book["strike"].round(_STRIKE_DECIMALS),
            "side": book["side"],
        }
    )
    dup = key.duplicated(keep="first").to_numpy()
    if dup.any():
        j = int(np.flatnonzero(dup)[0])
        same = (key == key.iloc[j]).all(axis=1).to_numpy()
        i = int(np.flatnonzero(same)[0])
        r = book.iloc[j]
        raise fail(
            f"contract {r['underlying']} {r['expiry'].date()} {r['strike']:g} {r['side']} listed twice "
            f"(line {int(book['line'].iloc[i])} and line {int(book['line'].iloc[j])}); net them into one line",
            dup,
        )
    return book.reset_index(drop=True)[["underlying", "root", "expiry", "strike", "side", "quantity", "line"]]


def load_book(path: str | Path) -> pd.DataFrame:
    """Read a positions file.

    Parameters
    ----------
    path : path-like
        CSV with the columns in the module docstring.

    Returns
    -------
    DataFrame
        Columns ``underlying``, ``root`` (missing where not given), ``expiry`` (datetime64),
        ``strike``, ``side`` (``"C"``/``"P"``), ``quantity`` (float, signed) and ``line`` (the file
        line of each position).

    Raises
    ------
    ChainDataError
        Naming the file, the line and the field at fault; also for a missing, empty, binary or
        too large (``analytics.sources.MAX_FILE_BYTES``) file.
    """
    path = Path(path)
    text = read_text_file(path)
    try:
        return read_book_text(text, path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise ChainDataError(f"not a readable CSV ({str(exc).splitlines()[0]})", path=path) from exc


def apply_book(chain: OptionChain, book: pd.DataFrame, *, source: str | Path | None = None) -> OptionChain:
    """Fill the chain's ``position`` column from a book.

    Parameters
    ----------
    chain : OptionChain
        The chain.
    book : DataFrame
        As returned by :func:`load_book`.
    source : path-like, optional
        The book file, named in messages.

    Returns
    -------
    OptionChain
        The chain with ``position`` = the book's quantity for matched contracts and 0 elsewhere,
        and a warning for book lines that match nothing (other underlying, settled or unknown
        contract).

    Raises
    ------
    ChainDataError
        When a book line without a root matches contracts of several roots (name the root).
    """
    rows = chain.rows
    chain_key = pd.DataFrame(
        {
            "row": np.arange(len(rows)),
            "underlying": rows["underlying"].astype(str).str.upper().to_numpy(),
            "chain_root": rows["root"].astype(str).str.upper().to_numpy(),
            "expiry": pd.to_datetime(rows["expiry"]).dt.normalize().to_numpy(),
            "strike": rows["strike"].round(_STRIKE_DECIMALS).to_numpy(),
            "side": rows["side"].to_numpy(),
        }
    )
    lines = book.assign(
        strike=book["strike"].round(_STRIKE_DECIMALS),
        expiry=pd.to_datetime(book["expiry"]).dt.normalize(),
        underlying=book["underlying"].astype(str).str.upper(),
    )
    merged = lines.merge(chain_key, on=["underlying", "expiry", "strike", "side"], how="inner")
    root_given = merged["root"].notna()
    merged = merged[~root_given | (merged["root"] == merged["chain_root"])]
    per_line = merged.groupby("line")["row"].nunique()
    ambiguous = per_line[per_line > 1]
    if len(ambiguous):
        line = int(ambiguous.index[0])
        roots = sorted(merged.loc[merged["line"] == line, "chain_root"].unique())
        raise ChainDataError(
            f"position matches contracts of several roots ({', '.join(roots)}); add a root column",
            path=source, line=line, field="root",
        )
    position = np.zeros(len(rows))
    np.add.at(position, merged["row"].to_numpy(), merged["quantity"].to_numpy(dtype=float))
    out = rows.copy()
    out["position"] = position
    unmatched = np.setdiff1d(book["line"].to_numpy(), merged["line"].to_numpy())
    notes = []
    if unmatched.size:
        shown = ", ".join(str(int(x)) for x in unmatched[:5]) + (" ..." if unmatched.size > 5 else "")
        name = f"{Path(source).name}: " if source else ""
        notes.append(
            f"{name}{unmatched.size} book line(s) match no live contract of the chain (line {shown})"
        )
    return chain.with_rows(out, *notes)


def _not_a_chain(path: str | Path, **_: object) -> OptionChain:
    raise ChainDataError(
        "this is a positions (book) file, not an option chain: apply it to a chain with load_book", path=path
    )


def _sniff_book(head: Head) -> bool:
    return looks_like_book(head.text)


SOURCES = (
    Source("book", "a positions file; not a chain: apply it with load_book and apply_book", _sniff_book,
           _not_a_chain),
)
