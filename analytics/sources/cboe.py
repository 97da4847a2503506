"""CBOE delayed quote table downloads (CSV), every vintage seen in the wild.

Layout: an optional blank line; a title line with the spot (``S&P 500 INDEX,Last: 4697.2402,...``
or, in the 2020 ``quotedata.dat`` vintage, ``SPY (SPDR S&P 500 ETF Trust),310.68,1.98``); a date
line (``"Date: January 7, 2024 at 10:52 AM EST"``, ``"Date: July 12, 2022, 11:55 AM EDT"``,
``"Date: February 5 2022, 8:26 PM EST"`` or ``Jun 22 2020 @ 20:42 ET``); a header
``Expiration Date,Calls,Last Sale,Net,Bid,Ask,Volume|Vol,IV,Delta,Gamma,Open Interest|Open Int,
Strike,Puts,...`` and one row per (expiry, strike, root) with the call on the left and the put on the
right. Trailing commas are tolerated. SPX and SPXW rows sharing (expiry, strike) are both kept:
they are different contracts (AM- and PM-settled) and their exposures add up.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import numpy as np
import pandas as pd

from analytics.chain import NEW_YORK, OptionChain, make_chain, settlement_instants, underlying_for_root
from analytics.errors import ChainDataError

_SYNONYMS = {"vol": "volume", "open int": "open interest", "oi": "open interest"}
_SIDE_FIELDS = {  # normalised header name -> chain column
    "bid": "bid",
    "ask": "ask",
    "iv": "iv",
    "open interest": "open_interest",
    "last sale": "last",
}
_TZ_WORDS = re.compile(r"\b(EST|EDT|ET|CST|CDT|CT)\b")
_ROOT_RE = re.compile(r"^\s*([A-Z]+)\s*\d{6}[CP]")


def looks_like_cboe(head: str) -> bool:
    """True when the first lines of a file look like a CBOE quote table (any vintage)."""
    lines = [ln for ln in head.splitlines() if ln.strip()][:6]
    return any(ln.lstrip('"').startswith("Expiration Date") and "Strike" in ln and "Calls" in ln for ln in lines)


def _norm(name: str) -> str:
    n = name.strip().strip('"').lower()
    return _SYNONYMS.get(n, n)


def _parse_snapshot(line: str, path: Path) -> pd.Timestamp:
    first = next(iter(pd.read_csv(io.StringIO(line), header=None, dtype=str).iloc[0]), "")
    text = str(first).strip()
    if text.lower().startswith("date:"):
        text = text[5:]
    tz_match = _TZ_WORDS.search(text)
    if tz_match is None:
        raise ChainDataError(f"no time zone in the date line {line.strip()!r}", path=path, line=None, field="Date")
    text = _TZ_WORDS.sub("", text)
    text = re.sub(r"\bat\b|@|,", " ", text)
    text = " ".join(text.split())
    for fmt in ("%B %d %Y %I:%M %p", "%b %d %Y %I:%M %p", "%b %d %Y %H:%M", "%B %d %Y %H:%M", "%m/%d/%Y %H:%M"):
        try:
            naive = pd.to_datetime(text, format=fmt)
        except ValueError:
            continue
        return naive.tz_localize(NEW_YORK)
    raise ChainDataError(f"unreadable snapshot time {line.strip()!r}", path=path, field="Date")


def _parse_title(line: str, path: Path) -> tuple[str, float]:
    fields = [f.strip() for f in line.split(",")]
    name = fields[0].strip('"')
    spot = None
    for f in fields[1:]:
        m = re.match(r"^Last:\s*([-+0-9.eE]+)$", f)
        if m:
            spot = float(m.group(1))
            break
    if spot is None and len(fields) > 1:  # 2020 .dat vintage: "SPY (SPDR ...),310.68,1.98"
        try:
            spot = float(fields[1])
        except ValueError:
            spot = None
    if spot is None:
        raise ChainDataError(f"no spot ('Last:') in the title line {line.strip()[:80]!r}", path=path, line=None)
    ticker = name.split("(")[0].strip().split(" ")[0] if "(" in name else name
    return ticker, spot


def _parse_expiry(values: pd.Series, path: Path, first_line: int) -> pd.Series:
    text = values.astype(str).str.strip()
    out = pd.to_datetime(text, format="%a %b %d %Y", errors="coerce")
    alt = pd.to_datetime(text, format="%m/%d/%Y", errors="coerce")
    out = out.fillna(alt)
    bad = out.isna().to_numpy()
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ChainDataError(
            f"unreadable expiry date {values.iloc[i]!r}", path=path, line=first_line + i, field="Expiration Date"
        )
    return out


def read_cboe_text(text: str, path: Path, *, multiplier: float = 100.0) -> OptionChain:
    """Parse the text of a CBOE quote table into an :class:`OptionChain` (see module docstring)."""
    lines = text.splitlines()
    header_idx = next(
        (i for i, ln in enumerate(lines) if ln.lstrip('"').startswith("Expiration Date")), None
    )
    if header_idx is None:
        raise ChainDataError("no 'Expiration Date,Calls,...' header line (not a CBOE quote table?)", path=path)
    meta = [(i, ln) for i, ln in enumerate(lines[:header_idx]) if ln.strip()]
    if len(meta) < 2:
        raise ChainDataError("missing the title and date lines above the header", path=path)
    ticker, spot = _parse_title(meta[0][1], path)
    as_of = _parse_snapshot(meta[1][1], path)

    header = [h for h in next(iter(pd.read_csv(io.StringIO(lines[header_idx]), header=None, dtype=str).values))]
    header = [_norm(str(h)) for h in header]
    while header and header[-1] in ("", "nan"):
        header.pop()
    try:
        strike_at = header.index("strike")
        calls_at = header.index("calls")
        puts_at = header.index("puts")
    except ValueError as exc:
        raise ChainDataError(f"header lacks Calls, Strike or Puts: {lines[header_idx][:120]!r}", path=path,
                             line=header_idx + 1) from exc
    call_fields = {name: j for j, name in enumerate(header[:strike_at]) if name}
    put_fields = {name: puts_at + j for j, name in enumerate(header[puts_at:]) if name}
    for need in ("open interest",):
        if need not in call_fields or need not in put_fields:
            raise ChainDataError(f"header lacks {need!r} for both calls and puts", path=path, line=header_idx + 1)

    body = "\n".join(lines[header_idx + 1:])
    first_line = header_idx + 2  # 1-based file line of the first data row
    if not body.strip():
        raise ChainDataError("no option rows below the header (truncated file?)", path=path, line=first_line)
    try:
        raw = pd.read_csv(io.StringIO(body), header=None, dtype=str, skip_blank_lines=False,
                          names=range(max(len(header), 1) + 8), keep_default_na=False)
    except pd.errors.ParserError as exc:
        raise ChainDataError(f"malformed CSV: {exc}", path=path) from exc
    raw.index = pd.RangeIndex(len(raw))
    blank = raw.apply(lambda col: col.str.strip() == "").all(axis=1).to_numpy()
    raw = raw.loc[~blank]
    n_cols_present = raw.apply(lambda col: col.str.strip() != "").to_numpy()
    short = ~n_cols_present[:, len(header) - 1] if len(header) else np.zeros(len(raw), bool)
    if short.any():
        i = int(np.flatnonzero(short)[0])
        raise ChainDataError(
            f"row has fewer than the {len(header)} fields of the header (truncated file?)",
            path=path, line=first_line + int(raw.index[i]),
        )
    expiry = _parse_expiry(raw[0], path, first_line)

    def side_frame(fields: dict[str, int], symbol_col: int, side: str) -> pd.DataFrame:
        frame = pd.DataFrame(index=raw.index)
        frame["expiry"] = expiry.to_numpy()
        frame["strike"] = raw[strike_at].str.strip()
        frame["side"] = side
        symbol = raw[symbol_col].str.strip()
        root = symbol.str.extract(_ROOT_RE, expand=False)
        frame["root"] = root.fillna(ticker)
        for name, col in _SIDE_FIELDS.items():
            if name in fields:
                frame[col] = raw[fields[name]].str.strip()
        return frame

    frame = pd.concat([side_frame(call_fields, calls_at, "C"), side_frame(put_fields, puts_at, "P")])
    for col in ("bid", "ask", "iv", "open_interest", "last", "strike"):
        if col in frame:
            vals = frame[col].str.replace(",", "", regex=False)
            num = pd.to_numeric(vals, errors="coerce")
            bad = num.isna() & (vals != "")
            if bad.any():
                i = int(np.flatnonzero(bad.to_numpy())[0])
                label = {"open_interest": "Open Interest", "iv": "IV", "strike": "Strike"}.get(col, col.title())
                raise ChainDataError(f"not a number ({frame[col].iloc[i]!r})", path=path,
                                     line=first_line + int(frame.index[i]), field=label)
            frame[col] = num
    frame["multiplier"] = float(multiplier)
    bid, ask = frame["bid"].to_numpy(float), frame["ask"].to_numpy(float)
    two_sided = np.isfinite(bid) & np.isfinite(ask) & (ask > 0) & (ask >= bid)
    frame["mark"] = np.where(two_sided, 0.5 * (bid + ask), np.nan)
    frame["underlying"] = frame["root"].map(underlying_for_root)
    underlying = frame["underlying"].mode().iloc[0] if len(frame) else ticker
    frame["settlement"] = settlement_instants(frame["expiry"], frame["root"]).to_numpy()
    frame = frame.drop(columns=["last"], errors="ignore")
    return make_chain(
        frame,
        underlying=str(underlying),
        as_of=as_of,
        spot=spot,
        model="bsm",
        source=str(path),
        line_offset=first_line,
    )


def load_cboe(path: str | Path, *, multiplier: float = 100.0) -> OptionChain:
    """Load a CBOE delayed quote table (CSV or the 2020 ``.dat`` vintage).

    Parameters
    ----------
    path : path-like
        The downloaded file.
    multiplier : float
        Contract multiplier (100 for US equity and index options).

    Raises
    ------
    ChainDataError
        With the file, the line and the problem.
    """
    from analytics.sources import read_text_file  # the package imports this module

    path = Path(path)
    return read_cboe_text(read_text_file(path), path, multiplier=multiplier)
