"""CBOE delayed quote table downloads (CSV), every vintage seen in the wild and in any site language.

Layout: an optional blank line; a title line with the spot (``S&P 500 INDEX,Last: 4697.2402,...``
or, in the 2020 ``quotedata.dat`` vintage, ``SPY (SPDR S&P 500 ETF Trust),310.68,1.98``); a date
line (``"Date: January 7, 2024 at 10:52 AM EST"``, ``"Date: July 12, 2022, 11:55 AM EDT"``,
``"Date: February 5 2022, 8:26 PM EST"`` or ``Jun 22 2020 @ 20:42 ET``); a header
``Expiration Date,Calls,Last Sale,Net,Bid,Ask,Volume|Vol,IV,Delta,Gamma,Open Interest|Open Int,
Strike,Puts,...`` and one row per (expiry, strike, root) with the call on the left and the put on the
right. Trailing commas are tolerated. SPX and SPXW rows sharing (expiry, strike) are both kept:
they are different contracts (AM- and PM-settled) and their exposures add up.

A table saved from the site in another language keeps the rows as they are but writes the date the
browser's way (``"Date: 12 de enero de 2026, 13:36 GMT-5"``, ``12. Januar 2026 um 13:36 GMT-5``,
``2026年1月12日 13:36 GMT-5``) and groups digits in the header fields (``Volume: 21.801.210``).
:func:`parse_snapshot_time` reads month names in ``MONTH_NAMES`` (English, Spanish, Portuguese,
French, German, Italian, Dutch), the Chinese/Japanese/Korean ``年月日`` forms, 12- and 24-hour
clocks, and the zone from ``GMT-5``/``UTC−5`` offsets or the US zone names in ``ZONE_NAMES``, taken
literally (``CST`` is Chicago, one hour behind New York). The snapshot is returned in New York time.
A date it cannot read is refused with the line quoted.

Nothing is guessed. A numeric date whose day and month could swap (``07/01/2024`` in the date line or
the expiry column) is read only where the file decides the order: a number above 12, the expiry
column's own dates, or the rows' OCC symbols (``YYMMDD``) matching one reading; else ``date_order``
(``--date-order dmy|mdy``) must, or the file is refused naming both readings. A date line without a
time of day is refused saying so. The table Excel saves in a European locale (``;`` between fields,
decimal commas) and Windows-1252 files read too (:func:`analytics.sources.common.decode_text`); a
decimal comma left unquoted in a header line (``Last: 4.697,2402``) is joined back. A row listing
an (expiry, strike, root) an earlier row lists is refused with the count and the lines: an exact copy
would double its exposures (SPX and SPXW rows sharing a strike differ in root and add up).

Roots with digits (``AMD1``, ``SPY1``: adjusted deliverables) are kept and flagged in the chain's
``adjusted`` column (:func:`analytics.chain.is_adjusted_root`); :func:`analytics.prepare.prepare_chain`
prices them on their deliverable or leaves them out.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import unicodedata
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from analytics.chain import (
    NEW_YORK,
    OCC_SYMBOL_PATTERN,
    OptionChain,
    make_chain,
    occ_root_codes,
    occ_root_codes_in_bytes,
    settlement_instants,
    underlying_for_root,
)
from analytics.errors import ChainDataError
from analytics.sources.common import (
    DATE_ORDER_OPTION,
    DATE_ORDERS,
    DateOrder,
    Head,
    Source,
    input_text,
    numbers,
    read_input,
)

DEFAULT_MULTIPLIER = 100.0
_SYNONYMS = {"vol": "volume", "open int": "open interest", "oi": "open interest"}
_SIDE_FIELDS = {  # normalised header name -> chain column (the numbers the analytics use)
    "bid": "bid",
    "ask": "ask",
    "iv": "iv",
    "open interest": "open_interest",
}
_FIELD_LABELS = {"open_interest": "Open Interest", "iv": "IV", "strike": "Strike", "bid": "Bid", "ask": "Ask"}
#: Month names as browsers write them (``Intl.DateTimeFormat``, month "long"), accents removed, lower case.
MONTH_NAMES: dict[str, tuple[str, ...]] = {
    "en": ("january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
           "november", "december"),
    "es": ("enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto", "septiembre", "octubre",
           "noviembre", "diciembre"),
    "pt": ("janeiro", "fevereiro", "marco", "abril", "maio", "junho", "julho", "agosto", "setembro", "outubro",
           "novembro", "dezembro"),
    "fr": ("janvier", "fevrier", "mars", "avril", "mai", "juin", "juillet", "aout", "septembre", "octobre",
           "novembre", "decembre"),
    "de": ("januar", "februar", "marz", "april", "mai", "juni", "juli", "august", "september", "oktober",
           "november", "dezember"),
    "it": ("gennaio", "febbraio", "marzo", "aprile", "maggio", "giugno", "luglio", "agosto", "settembre",
           "ottobre", "novembre", "dicembre"),
    "nl": ("januari", "februari", "maart", "april", "mei", "juni", "juli", "augustus", "september", "oktober",
           "november", "december"),
}
#: Languages that write 1.234,5 (a lone "." before three digits groups thousands).
DECIMAL_COMMA_LANGUAGES = frozenset({"es", "pt", "fr", "de", "it", "nl"})
_MONTH_OF: dict[str, tuple[int, str]] = {}
for _lang, _names in MONTH_NAMES.items():
    for _i, _name in enumerate(_names, start=1):
        _MONTH_OF.setdefault(_name, (_i, _lang))
for _i, _name in enumerate(MONTH_NAMES["en"], start=1):  # Jan, Sep and Sept (2020 vintage, US formats)
    _MONTH_OF.setdefault(_name[:3], (_i, "en"))
_MONTH_OF["sept"] = (9, "en")
_MONTH_OF["setiembre"] = (9, "es")
#: US zone names as browsers print them (English; ``HNE``/``HAE`` in Canadian French): a UTC offset in
#: hours, or the IANA zone for the generic names (``ET`` follows New York's summer time).
ZONE_NAMES: dict[str, int | str] = {
    "EST": -5, "EDT": -4, "ET": NEW_YORK, "HNE": -5, "HAE": -4,
    "CST": -6, "CDT": -5, "CT": "America/Chicago",
    "MST": -7, "MDT": -6, "MT": "America/Denver",
    "PST": -8, "PDT": -7, "PT": "America/Los_Angeles",
}
_ZONE_WORDS = re.compile(r"\b(" + "|".join(ZONE_NAMES) + r")\b")
_OFFSET = re.compile(r"\b(?:GMT|UTC)\s*(?:([+\-\u2212])\s*(\d{1,2})(?::?(\d{2}))?)?(?![\w+\-])")
_CJK_DATE = re.compile(r"(\d{4})\s*[年년]\s*(\d{1,2})\s*[月월]\s*(\d{1,2})\s*[日일]")
_NUMERIC_DATE = re.compile(r"\b(\d{1,2})([./-])(\d{1,2})\2(\d{4})\b")
_NUMERIC_EXPIRY = r"^(\d{1,2})[./-](\d{1,2})[./-](\d{4})$"
_BARE_DIGITS = re.compile(r"\s*\d+\s*")
_KEYED = re.compile(r"\s*[^\W\d_][^:]*:")  # a "Key:" field (a clock's "10:52" is not one)
_CLOCK = re.compile(r"(\d{1,2})\s*(?::|\bh\b)\s*(\d{2})")
_PM = re.compile(r"\bp\.?\s?m\b\.?|下午|午後|오후")
_AM = re.compile(r"\ba\.?\s?m\b\.?|上午|午前|오전")
_WORD = re.compile(r"[^\W\d_]+")
#: Bytes an OCC symbol field is read in (the longest root read from bytes, 8 characters, plus the
#: 15-character tail, fits); a field as long may have been cut and is read as text.
SYMBOL_FIELD_BYTES = 24
#: Bytes of a body scanned at a time (:func:`_space_opens_a_field`).
_SCAN_BLOCK_BYTES = 1 << 20
#: The header line is looked for in the first this many characters.
HEADER_WITHIN_CHARS = 65536


class AmbiguousDateError(ChainDataError):
    """A numeric date whose day and month could swap (``07/01/2024``), with nothing to decide the order."""

    def __init__(self, text: str, *, path: str | Path | None = None, line: int | None = None,
                 field: str | None = None, why: str = "no day above 12, no numeric expiry dates") -> None:
        self.text = text
        super().__init__(ambiguity(text, why), path=path, line=line, field=field)


def ambiguity(text: str, why: str) -> str:
    """The message for an ambiguous numeric date: both readings, why the file does not decide, the option.

    Examples
    --------
    >>> ambiguity("07/01/2024", "no day above 12")
    'ambiguous date 07/01/2024: 7 January or 1 July? Nothing in the file decides (no day above 12); give --date-order dmy|mdy'
    """
    m = _NUMERIC_DATE.search(text)
    first, second = (int(m.group(1)), int(m.group(3))) if m else (0, 0)
    months = MONTH_NAMES["en"]
    readings = (f"{first} {months[second - 1].title()} or {second} {months[first - 1].title()}?"
                if m and 1 <= first <= 12 and 1 <= second <= 12 else "day or month first?")
    return (f"ambiguous date {text}: {readings} Nothing in the file decides ({why}); give {DATE_ORDER_OPTION} "
            f"{'|'.join(DATE_ORDERS)}")


def _own_order(first: int, second: int) -> DateOrder | None:
    """The order a numeric date decides by itself: a number above 12 can only be the day."""
    if first > 12 >= second:
        return "dmy"
    if second > 12 >= first:
        return "mdy"
    return None


def looks_like_cboe(head: str) -> bool:
    """True when the first lines of a file look like a CBOE quote table (any vintage)."""
    lines = [ln for ln in head.splitlines() if ln.strip()][:6]
    return any(ln.lstrip('"').startswith("Expiration Date") and "Strike" in ln and "Calls" in ln for ln in lines)


def _norm(name: str) -> str:
    n = name.strip().strip('"').lower()
    return _SYNONYMS.get(n, n)


def _fields(line: str, delimiter: str = ",") -> list[str]:
    return next(csv.reader([line], delimiter=delimiter), [])


def _plain(text: str) -> str:
    """Lower case, accents removed (``März`` -> ``marz``), CJK characters kept."""
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return unicodedata.normalize("NFKC", stripped).lower()  # recompose Hangul syllables


def parse_snapshot_time(text: str, *, date_order: DateOrder | None = None) -> tuple[pd.Timestamp, str] | None:
    """The snapshot instant of a CBOE date field, in New York time, and the language it was read in.

    Parameters
    ----------
    text : str
        The date field (``"Date: 12 de enero de 2026, 13:36 GMT-5"``); a ``Date:`` label is optional.
    date_order : {"dmy", "mdy"}, optional
        How a numeric date whose day and month could swap (``07/01/2024``) is read. Without it such a
        date raises :class:`AmbiguousDateError`. A number above 12 decides by itself (it can only be
        the day); a ``date_order`` that contradicts it is an error.

    Returns
    -------
    (Timestamp, str) or None
        The time (zone ``America/New_York``) and a language code (``"en"``, ``"es"``, ..., ``"cjk"``,
        ``"numeric"``); None when no date can be read. A field without a zone raises.

    Raises
    ------
    ChainDataError
        When the field has no time of day, names no time zone, or its numeric date contradicts
        ``date_order``; :class:`AmbiguousDateError` for a numeric date only ``date_order`` can read.

    Examples
    --------
    >>> parse_snapshot_time("Date: 12 de enero de 2026, 13:36 GMT-5")
    (Timestamp('2026-01-12 13:36:00-0500', tz='America/New_York'), 'es')
    >>> parse_snapshot_time("Jun 22 2020 @ 20:42 ET")[0].isoformat()
    '2020-06-22T20:42:00-04:00'
    >>> parse_snapshot_time("Date: 07/01/2024, 10:52 GMT-5", date_order="dmy")[0].isoformat()
    '2024-01-07T10:52:00-05:00'
    """
    found = _snapshot(text, date_order)
    return None if found is None else found[:2]


def _snapshot(text: str, date_order: DateOrder | None) -> tuple[pd.Timestamp, str, DateOrder | None] | None:
    """:func:`parse_snapshot_time` plus the order a numeric date decided by itself (a day above 12)."""
    text = unicodedata.normalize("NFKC", text).strip()
    if text.lower().startswith("date:"):
        text = text[5:]
    offset = _OFFSET.search(text)
    named = _ZONE_WORDS.search(text)
    zone_at = offset if offset is not None else named
    rest = text if zone_at is None else text[: zone_at.start()] + " " + text[zone_at.end():]
    plain = _plain(rest)

    clock = _CLOCK.search(plain)
    if clock is None:
        raise ChainDataError(f"no time of day (hh:mm) in the date line {text.strip()!r}", field="Date")
    if zone_at is None:
        raise ChainDataError(f"no time zone in the date line {text.strip()!r}", field="Date")
    hour, minute = int(clock.group(1)), int(clock.group(2))
    if _PM.search(plain) and hour < 12:
        hour += 12
    elif _AM.search(plain) and hour == 12:
        hour = 0
    plain = plain[: clock.start()] + " " + plain[clock.end():]

    language = "numeric"
    own: DateOrder | None = None
    if (cjk := _CJK_DATE.search(plain)) is not None:
        year, month, day = int(cjk.group(1)), int(cjk.group(2)), int(cjk.group(3))
        language = "cjk"
    elif (num := _NUMERIC_DATE.search(plain)) is not None:
        first, second, year = int(num.group(1)), int(num.group(3)), int(num.group(4))
        own = _own_order(first, second)
        order = date_order or own
        if order is None and first != second:
            raise AmbiguousDateError(num.group(0), field="Date")
        if date_order is not None and own is not None and own != date_order:
            raise ChainDataError(f"{num.group(0)} in the date line is not a date under {DATE_ORDER_OPTION} "
                                 f"{date_order}", field="Date")
        day, month = (first, second) if order == "dmy" else (second, first)
    else:
        months = [_MONTH_OF[w] for w in _WORD.findall(plain) if w in _MONTH_OF]
        years = re.findall(r"\b(\d{4})\b", plain)
        if len(months) != 1 or len(years) != 1:
            return None
        month, language = months[0]
        year = int(years[0])
        days = re.findall(r"\b(\d{1,2})\b", plain.replace(years[0], " "))
        if len(days) != 1:
            return None
        day = int(days[0])
    try:
        naive = dt.datetime(year, month, day, hour, minute)
    except ValueError:
        return None
    if offset is not None:
        sign = -1 if offset.group(1) in ("-", "\u2212") else 1
        minutes = sign * (int(offset.group(2) or 0) * 60 + int(offset.group(3) or 0))
    else:
        zone = ZONE_NAMES[zone_at.group(1)]  # the named zone: no offset
        if isinstance(zone, str):
            return pd.Timestamp(naive).tz_localize(zone).tz_convert(NEW_YORK), language, own
        minutes = zone * 60
    fixed = dt.timezone(dt.timedelta(minutes=minutes))
    return pd.Timestamp(naive.replace(tzinfo=fixed)).tz_convert(NEW_YORK), language, own


def header_number(text: str, *, decimal_comma: bool = False) -> float:
    """A number from a header field, with the digit grouping of any language.

    ``4,697.24``, ``4.697,24``, ``4 697,24``, ``4'697.24`` and ``21.801.210`` all read. A single
    separator followed by exactly three digits is ambiguous (``1.234``); ``decimal_comma`` (the
    date's language writes 1.234,5) settles it.

    Raises
    ------
    ValueError
        When ``text`` is not a number.

    Examples
    --------
    >>> header_number("21.801.210"), header_number("4,697.2402"), header_number("4 697,24")
    (21801210.0, 4697.2402, 4697.24)
    >>> header_number("1.234", decimal_comma=True), header_number("1.234")
    (1234.0, 1.234)
    """
    s = re.sub(r"[\s'\u00a0\u202f\u2009]", "", unicodedata.normalize("NFKC", text)).replace("\u2212", "-")
    if not re.fullmatch(r"[-+]?[\d.,]*\d[\d.,]*(?:[eE][-+]?\d+)?", s):
        raise ValueError(f"not a number: {text!r}")
    commas, dots = s.count(","), s.count(".")
    if commas and dots:
        decimal = "," if s.rfind(",") > s.rfind(".") else "."
    elif commas + dots == 0:
        decimal = "."
    else:
        mark = "," if commas else "."
        grouped = re.fullmatch(rf"[-+]?\d{{1,3}}(?:{re.escape(mark)}\d{{3}})+", s) is not None
        if commas + dots > 1 or (grouped and (mark == ",") != decimal_comma):
            decimal = "." if mark == "," else ","  # the mark groups thousands
        else:
            decimal = mark
    thousands = "," if decimal == "." else "."
    return float(s.replace(thousands, "").replace(decimal, "."))


def header_fields(lines: list[str], *, decimal_comma: bool = False, delimiter: str = ",") -> dict[str, float]:
    """Every ``Key: number`` field of the title and date lines (``{"Last": 4697.24, "Volume": 0.0}``).

    A decimal comma the export left unquoted splits a number into two fields (``Last: 4.697,2402``
    reads as ``Last: 4.697`` then ``2402``): bare digit fields after a ``Key: number`` field are
    joined back to it with the comma they were split at.

    Examples
    --------
    >>> header_fields(['QQQ,Last: 626.54', '"Date: 12 de enero de 2026, 13:36 GMT-5",Volume: 21.801.210'])
    {'Last': 626.54, 'Volume': 21801210.0}
    >>> header_fields(['S&P 500 INDEX,Last: 4.697,2402,Change:  8.5602'])
    {'Last': 4697.2402, 'Change': 8.5602}
    """
    out: dict[str, float] = {}
    for line in lines:
        fields = _fields(line, delimiter)
        for i, field in enumerate(fields):
            key, sep, value = field.partition(":")
            if not sep or not key.strip() or key.strip().lower() == "date":
                continue
            j = i + 1
            while delimiter == "," and j < len(fields) and _BARE_DIGITS.fullmatch(fields[j]):
                value += "," + fields[j].strip()
                j += 1
            try:
                out.setdefault(key.strip(), header_number(value, decimal_comma=decimal_comma))
            except ValueError:
                continue
    return out


def _parse_snapshot(line: str, path: Path, delimiter: str,
                    date_order: DateOrder | None) -> tuple[pd.Timestamp, str, DateOrder | None]:
    """The date field of the date line (a ``Date:`` field with the pieces an unquoted comma split off
    it, up to the next ``Key:`` field)."""
    fields = _fields(line, delimiter) or [""]
    end = 1
    if fields[0].strip().lower().startswith("date:"):
        end = next((i for i, f in enumerate(fields) if i and _KEYED.match(f)), len(fields))
    first = delimiter.join(fields[:end])
    try:
        found = _snapshot(first, date_order)
    except AmbiguousDateError as exc:
        raise AmbiguousDateError(exc.text, path=path, field="Date",
                                 why="no day above 12, no numeric expiry dates that decide") from None
    except ChainDataError as exc:
        raise ChainDataError(exc.reason, path=path, field="Date") from None
    if found is None:
        raise ChainDataError(f"unreadable snapshot time {line.strip()!r}", path=path, field="Date")
    return found


def _parse_title(line: str, fields: dict[str, float], path: Path, delimiter: str) -> tuple[str, float]:
    parts = [f.strip() for f in _fields(line, delimiter)]
    name = parts[0] if parts else ""
    spot = fields.get("Last")
    if spot is None and len(parts) > 1 and ":" not in parts[1]:  # 2020 .dat vintage: "SPY (SPDR ...),310.68,1.98"
        try:
            spot = header_number(parts[1])
        except ValueError:
            spot = None
    if spot is None:
        raise ChainDataError(f"no spot ('Last:') in the title line {line.strip()[:80]!r}", path=path, line=None)
    ticker = name.split("(")[0].strip().split(" ")[0] if "(" in name else name
    return ticker, spot


def _distinct(values: pd.Series) -> tuple[np.ndarray, list[str]]:
    """Codes into the distinct stripped texts of ``values`` (missing cells: code -1)."""
    uniques: pd.Index | np.ndarray
    if isinstance(values.dtype, pd.CategoricalDtype):  # the C parser's categories: no second hashing pass
        codes, uniques = values.cat.codes.to_numpy(), values.cat.categories
    else:
        codes, uniques = pd.factorize(values.to_numpy(dtype=object))
    return codes, [str(u).strip() for u in uniques]


def _parse_expiry(values: pd.Series, path: Path, first_line: int, *, date_order: DateOrder | None,
                  symbols: Callable[[], pd.Series], hint: DateOrder | None,
                  distinct: tuple[np.ndarray, list[str]] | None = None) -> tuple[np.ndarray, DateOrder | None]:
    """Expiry dates (``Fri Jan 19 2024``, or numeric ``06/22/2020``), parsed once per distinct value,
    and the day/month order the column decided by itself (a day above 12, or its OCC symbols).

    A numeric column is read in ``date_order`` when given, else in the order its own values decide
    (a number above 12 is the day), else in the order the rows' OCC symbols (``YYMMDD``) agree with,
    else in ``hint`` (the date line's own order); where none decides and a day and month could swap,
    the column is refused naming the first such date and the option. ``distinct``: :func:`_distinct` of
    ``values`` when known (its texts may hold more, unused, values). ``symbols``: the rows' call symbols
    (called only for a numeric column).
    """
    codes, uniques = _distinct(values) if distinct is None else distinct
    text = pd.Series(uniques + [""], dtype=object)
    parsed = pd.to_datetime(text, format="%a %b %d %Y", errors="coerce")
    decided: DateOrder | None = None
    numeric = parsed.isna().to_numpy().copy()
    if numeric.any():
        numeric &= text.str.match(_NUMERIC_EXPIRY).to_numpy(bool)
    if numeric.any():
        parts = text[numeric].str.extract(_NUMERIC_EXPIRY).astype(int).to_numpy()
        first, second, year = parts[:, 0], parts[:, 1], parts[:, 2]
        own = {o for o in (_own_order(int(a), int(b)) for a, b in zip(first, second, strict=True)) if o}
        if len(own) > 1:
            raise ChainDataError(f"expiry dates in both day/month orders ({', '.join(text[numeric])[:80]}); give "
                                 f"{DATE_ORDER_OPTION} {'|'.join(DATE_ORDERS)}", path=path, field="Expiration Date")
        decided = own.pop() if own else _occ_order(codes, numeric, first, second, year, symbols())
        order = date_order or decided or hint
        swap = first != second
        if order is None and swap.any():
            at = np.flatnonzero(numeric)[np.flatnonzero(swap)[0]]
            i = int(np.flatnonzero(codes == at)[0])
            raise AmbiguousDateError(text[at], path=path, line=first_line + int(values.index[i]),
                                     field="Expiration Date",
                                     why="no day above 12, no OCC symbols that match one reading")
        day, month = (first, second) if order == "dmy" else (second, first)
        read = pd.to_datetime(pd.DataFrame({"year": year, "month": month, "day": day}), errors="coerce")
        parsed[numeric] = read.to_numpy()
    bad = parsed.isna().to_numpy()[codes]  # code -1 (a blank cell) picks the trailing "" entry
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        under = f" under {DATE_ORDER_OPTION} {date_order}" if date_order and numeric.any() else ""
        raise ChainDataError(
            f"unreadable expiry date {values.iloc[i]!r}{under}", path=path, line=first_line + int(values.index[i]),
            field="Expiration Date",
        )
    return parsed.to_numpy()[codes], decided


def _occ_order(codes: np.ndarray, numeric: np.ndarray, first: np.ndarray, second: np.ndarray, year: np.ndarray,
               symbols: pd.Series) -> DateOrder | None:
    """The day/month order in which the numeric expiry cells equal their rows' OCC symbol dates, if one."""
    at = np.full(len(numeric), -1)
    at[np.flatnonzero(numeric)] = np.arange(int(numeric.sum()))
    rows = np.flatnonzero(at[codes] >= 0)
    ymd = symbols.iloc[rows].astype(str).str.strip().str.extract(f"^{OCC_SYMBOL_PATTERN}$")["ymd"]
    have = ymd.notna().to_numpy()
    if not have.any():
        return None
    occ = ymd[have].astype(int).to_numpy()
    k = at[codes[rows[have]]]
    y2 = year[k] % 100 * 10000
    as_mdy = (occ == y2 + first[k] * 100 + second[k])
    as_dmy = (occ == y2 + second[k] * 100 + first[k])
    if as_mdy.all() and not as_dmy.all():
        return "mdy"
    if as_dmy.all() and not as_mdy.all():
        return "dmy"
    return None


def _refuse_repeated_rows(read: Callable[[], pd.DataFrame], expiry: np.ndarray, strike: np.ndarray, root_codes: np.ndarray,
                          roots: list[str], open_interest: np.ndarray, path: Path, first_line: int) -> None:
    """Refuse rows listing an (expiry, strike, root) an earlier row lists: CBOE writes each once.

    An exact repeat (a file saved or pasted twice) would double its exposures; a repeat with other
    numbers leaves no way to tell which is right. SPX and SPXW rows sharing (expiry, strike) differ in
    root and are different contracts (both kept, their exposures add up). ``read``: every field read, by
    row (called only when a key repeats).
    """
    days = expiry.view("int64")
    order = np.lexsort((strike, days, root_codes))  # stable: a repeat sorts after the row it repeats
    same = ((days[order][1:] == days[order][:-1]) & (strike[order][1:] == strike[order][:-1])
            & (root_codes[order][1:] == root_codes[order][:-1]))
    if not same.any():
        return
    raw = read()
    key = pd.DataFrame({"e": days, "k": strike, "r": root_codes})
    repeats = key.duplicated(keep="first").to_numpy()
    root = np.array(roots, dtype=object)[root_codes]
    exact = raw.duplicated(keep="first").to_numpy()  # every field read, symbols included
    line = first_line + raw.index.to_numpy()
    conflicting = repeats & ~exact
    if conflicting.any():
        j = int(np.flatnonzero(conflicting)[0])
        i = int(np.flatnonzero((key == key.iloc[j]).all(axis=1).to_numpy())[0])
        raise ChainDataError(
            f"contract {root[j]} {pd.Timestamp(expiry[j]).date()} {strike[j]:g} listed twice with different numbers: "
            f"line {line[i]} and line {line[j]} (a file holds each expiry, strike and root once)",
            path=path, line=int(line[j]),
        )
    j = int(np.flatnonzero(exact)[0])
    i = int(np.flatnonzero((key == key.iloc[j]).all(axis=1).to_numpy())[0])
    oi = np.nan_to_num(open_interest)
    distinct = float(oi[~exact].sum())
    share = float(oi[exact].sum()) / distinct if distinct > 0 else 0.0
    raise ChainDataError(
        f"{int(exact.sum()):,} row(s) repeat an earlier row exactly (same expiry, strike, root and numbers: rows "
        f"saved twice?); counted again they would add {100 * share:.0f}% of the open interest (first: line "
        f"{line[j]} repeats line {line[i]}); remove the copies", path=path, line=int(line[j]),
    )


def _space_opens_a_field(data: bytes, delimiter: str, start: int = 0) -> bool:
    """True when a space opens a CSV field of ``data[start:]`` (first, or after a delimiter or a line
    end), or it holds a tab: only then can skipping spaces at the start of fields change what is read.

    Examples
    --------
    >>> _space_opens_a_field(b"Fri Jan 19 2024,SPX,1", ","), _space_opens_a_field(b"a, b", ","), _space_opens_a_field(b"a\\n b", ",")
    (False, True, True)
    """
    if data.find(b"\t", start) >= 0:
        return True
    codes = np.frombuffer(data, dtype=np.uint8)[start:]
    if codes.size and codes[0] == ord(" "):
        return True
    opening = np.frombuffer(f"{delimiter}\n\r".encode(), dtype=np.uint8)
    # block by block into one buffer: a mask of the whole body is fresh memory the kernel must map
    space = np.empty(min(codes.size, _SCAN_BLOCK_BYTES), dtype=bool)
    for first in range(1, codes.size, _SCAN_BLOCK_BYTES):
        block = codes[first: first + _SCAN_BLOCK_BYTES]
        at = np.flatnonzero(np.equal(block, ord(" "), out=space[: block.size])) + first
        if np.isin(codes[at - 1], opening).any():
            return True
    return False


def _fixed_width_root_codes(values: np.ndarray, default: str) -> tuple[np.ndarray, list[str]] | None:
    """:func:`analytics.chain.occ_root_codes` of OCC symbol fields read as fixed-width bytes (numpy ``S``,
    NUL-padded; an empty field is ``b""``), or None when the text must decide: a value filling the width
    (it may have been cut), a byte above ASCII, or what :func:`occ_root_codes_in_bytes` leaves to the pattern.
    The caller checks the values hold no NUL.

    Examples
    --------
    >>> _fixed_width_root_codes(np.array([b"SPXW240119C04700000", b"", b"SPX240119P04700000"], dtype="S24"), "SPX")
    (array([0, 1, 1]), ['SPXW', 'SPX'])
    """
    width = values.dtype.itemsize
    flat = np.ascontiguousarray(values).view(np.uint8)
    if not width or flat.max(initial=0) >= 0x80:
        return None
    length = np.strings.str_len(values)  # the bytes before the NUL padding
    if (length == width).any():
        return None
    start = np.arange(len(values), dtype=np.intp) * width
    return occ_root_codes_in_bytes(flat, start, start + length, default)


def _after_line(text: str | bytes, index: int) -> int | None:
    """Where the text after line ``index`` (0-based) starts when lines end in ``\\n``; None otherwise."""
    pos = 0
    for _ in range(index + 1):
        pos = (text.find("\n", pos) if isinstance(text, str) else text.find(b"\n", pos)) + 1
        if pos == 0:
            return None
    return pos


#: A character ``\\S`` matches, over ASCII bytes (``\\s`` of a str pattern also matches ``\\x1c``-``\\x1f``).
_NOT_SPACE_ASCII = re.compile(rb"[^\s\x1c-\x1f]")

#: The body of a table below its header line ``index``: (bytes, where the body starts in them), or None
#: when it holds nothing but whitespace.
_Body = Callable[[int], tuple[bytes, int] | None]


def _text_body(text: str, index: int) -> tuple[bytes, int] | None:
    """The body of ``text`` below line ``index``, as UTF-8 bytes (the parser is handed bytes: from text
    it encodes chunk by chunk itself, a third of its time)."""
    pos = _after_line(text, index)
    # lines not ending in "\n" (old Mac "\r"): split them all
    body = "\n".join(text.splitlines()[index + 1:]) if pos is None else text[pos:]
    return None if re.search(r"\S", body) is None else (body.encode("utf-8"), 0)


def _ascii_body(raw: bytes, index: int) -> tuple[bytes, int] | None:
    """:func:`_text_body` of an ASCII file's bytes, without a copy: the bytes themselves and where the
    body starts (the text of ASCII bytes is the bytes)."""
    pos = _after_line(raw, index)
    if pos is None:
        return _text_body(raw.decode("ascii"), index)
    return None if _NOT_SPACE_ASCII.search(raw, pos) is None else (raw, pos)


def read_cboe_text(text: str, path: Path, *, multiplier: float = DEFAULT_MULTIPLIER,
                   date_order: DateOrder | None = None) -> OptionChain:
    """Parse the text of a CBOE quote table into an :class:`OptionChain` (see module docstring).

    ``date_order`` reads numeric dates whose day and month could swap (``07/01/2024``); without it
    the file must decide (a day above 12, the expiry column against its OCC symbols) or it is refused.
    """
    return _read_cboe(text[:HEADER_WITHIN_CHARS], lambda index: _text_body(text, index), path,
                      multiplier=multiplier, date_order=date_order)


def _read_cboe(head: str, body: _Body, path: Path, *, multiplier: float,
               date_order: DateOrder | None) -> OptionChain:
    """:func:`read_cboe_text` of a table whose first ``HEADER_WITHIN_CHARS`` characters are ``head``;
    ``body(i)``: its body below line ``i``."""
    lines = head.splitlines()
    header_idx = next(
        (i for i, ln in enumerate(lines) if ln.lstrip('"').startswith("Expiration Date")), None
    )
    if header_idx is None:
        raise ChainDataError("no 'Expiration Date,Calls,...' header line (not a CBOE quote table?)", path=path)
    # Excel in a European locale saves ';' between fields and decimal commas
    delimiter = ";" if lines[header_idx].lstrip('"').startswith(("Expiration Date;", 'Expiration Date";')) else ","
    meta = [ln for ln in lines[:header_idx] if ln.strip()]
    if len(meta) < 2:
        raise ChainDataError("missing the title and date lines above the header", path=path)
    ambiguous: AmbiguousDateError | None = None
    try:
        as_of, language, line_order = _parse_snapshot(meta[1], path, delimiter, date_order)
    except AmbiguousDateError as exc:  # the expiry column may decide the order: read it first
        ambiguous, language, line_order = exc, "numeric", None
    decimal_comma = delimiter == ";" or language in DECIMAL_COMMA_LANGUAGES
    fields = header_fields(meta[:2], decimal_comma=decimal_comma, delimiter=delimiter)
    ticker, spot = _parse_title(meta[0], fields, path, delimiter)

    header = [_norm(h) for h in _fields(lines[header_idx], delimiter)]
    while header and header[-1] == "":
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

    first_line = header_idx + 2  # 1-based file line of the first data row
    found = body(header_idx)
    if found is None:
        raise ChainDataError("no option rows below the header (truncated file?)", path=path, line=first_line)
    data, start = found  # the body: data[start:]
    text_cols = [0, calls_at, puts_at]
    used = [*text_cols, strike_at, len(header) - 1, *(c for f in (call_fields, put_fields)
                                                      for n, c in f.items() if n in _SIDE_FIELDS)]
    # numbers read as numbers by the C parser (a column with a stray word comes back as text); the text
    # columns as plain objects: categories cost the parser twice the time for OCC symbols that are
    # all distinct, and _distinct factorizes the few expiry dates in one pass anyway
    # a ';' file writes decimal commas: a '.' there is read only where it groups thousands (numbers())
    # spaces opening a field are skipped, a pass of the parser's worth a fifth of its time: asked only for
    # a body that has such a space or a tab
    # the OCC symbols (all distinct) cost the parser half its time as Python strings: they are read as
    # fixed-width bytes (SYMBOL_FIELD_BYTES, no object per row; an empty field is b""), their roots read
    # there, and read again as text only where a rare check needs the text (symbol_texts())
    thousands, decimal = ("," , ".") if delimiter == "," else (".", ",")
    skip_spaces = _space_opens_a_field(data, delimiter, start)
    symbol_cols = [calls_at, puts_at]

    def parse(symbols_as_bytes: bool) -> pd.DataFrame:
        symbol_type = f"S{SYMBOL_FIELD_BYTES}" if symbols_as_bytes else object
        try:
            stream = io.BytesIO(data)  # shares the bytes
            stream.seek(start)
            out = pd.read_csv(stream, encoding="utf-8", header=None, skip_blank_lines=False, engine="c",
                              sep=delimiter, names=range(len(header)), index_col=False, usecols=sorted(set(used)),
                              keep_default_na=False, na_values=[""], thousands="," if delimiter == "," else None,
                              decimal=decimal, skipinitialspace=skip_spaces,
                              dtype={c: object for c in text_cols} | {c: symbol_type for c in symbol_cols})
        except pd.errors.ParserError as exc:
            raise ChainDataError(f"malformed CSV: {exc}", path=path) from exc
        out.index = pd.RangeIndex(len(out))
        return out

    in_bytes = data.find(b"\0", start) < 0  # a NUL would end a fixed-width value early
    raw = parse(symbols_as_bytes=in_bytes)
    texts: list[pd.DataFrame] = []

    def symbol_texts() -> pd.DataFrame:
        """The symbol columns as text (str, an empty field NaN), on ``raw``'s rows."""
        if not in_bytes:
            return raw[symbol_cols]
        if not texts:
            texts.append(parse(symbols_as_bytes=False)[symbol_cols])
        return texts[0].loc[raw.index]

    def every_field() -> pd.DataFrame:
        """``raw`` with the symbols as text."""
        if not in_bytes:
            return raw
        out = raw.copy()
        for at, column in symbol_texts().items():
            out[at] = column
        return out

    first_codes, first_texts = _distinct(raw[0])
    blank = np.array([t == "" for t in first_texts] + [True])[first_codes]  # first field empty, then the rest
    if blank.any():
        at = np.flatnonzero(blank)
        others = raw.iloc[at].drop(columns=[0, *symbol_cols]).isna().all(axis=1).to_numpy()
        empty = [raw[c].to_numpy()[at] == b"" if in_bytes else raw[c].isna().to_numpy()[at] for c in symbol_cols]
        blank[at] = others & np.logical_and.reduce(empty)
    if blank.any():
        raw = raw.loc[~blank]
        first_codes = first_codes[~blank]
    short = raw[len(header) - 1].isna().to_numpy()
    if short.any():
        i = int(np.flatnonzero(short)[0])
        raise ChainDataError(
            f"row has fewer than the {len(header)} fields of the header (truncated file?)",
            path=path, line=first_line + int(raw.index[i]),
        )
    expiry, expiry_order = _parse_expiry(raw[0], path, first_line, date_order=date_order,
                                         symbols=lambda: symbol_texts()[calls_at], hint=line_order,
                                         distinct=(first_codes, first_texts))
    if ambiguous is not None:
        if expiry_order is None:
            raise ambiguous
        as_of, _, _ = _parse_snapshot(meta[1], path, delimiter, expiry_order)
    strike = numbers(raw[strike_at], path=path, field="Strike", line_offset=first_line, thousands=thousands,
                     decimal=decimal).to_numpy()

    def side_frame(fields: dict[str, int], side: str) -> dict[str, np.ndarray]:
        out = {"expiry": expiry, "strike": strike}
        for name, col in _SIDE_FIELDS.items():  # a field the header lacks for this side stays unknown
            out[col] = (numbers(raw[fields[name]], path=path, field=_FIELD_LABELS[col], line_offset=first_line,
                                thousands=thousands, decimal=decimal).to_numpy()
                        if name in fields else np.full(len(raw), np.nan))
        return out

    calls, puts = side_frame(call_fields, "C"), side_frame(put_fields, "P")
    # roots as codes into a few names: every text column below is built once per name, then taken
    (call_codes, call_names), (put_codes, put_names) = (
        (_fixed_width_root_codes(raw[at].to_numpy(), ticker) if in_bytes else None)
        or occ_root_codes(symbol_texts()[at], ticker) for at in (calls_at, puts_at))
    names = list(dict.fromkeys(call_names + put_names))
    root_codes = np.concatenate([np.array([names.index(n) for n in call_names], dtype=np.intp)[call_codes],
                                 np.array([names.index(n) for n in put_names], dtype=np.intp)[put_codes]])
    _refuse_repeated_rows(every_field, expiry, strike, root_codes[: len(raw)], names,
                          calls["open_interest"] + puts["open_interest"], path, first_line)
    index = np.concatenate([raw.index.to_numpy()] * 2)
    frame = pd.DataFrame({k: np.concatenate([calls[k], puts[k]]) for k in calls}, index=index, copy=False)
    # the text columns as categories over their few names: make_chain checks each name once and writes
    # the rows' strings once, in chain order
    frame["root"] = pd.Categorical.from_codes(root_codes, categories=pd.Index(names, dtype=object))
    frame["side"] = pd.Categorical.from_codes(np.repeat(np.arange(2, dtype=np.int8), len(raw)), categories=pd.Index(["C", "P"]))
    frame["multiplier"] = float(multiplier)
    bid, ask = frame["bid"].to_numpy(float), frame["ask"].to_numpy(float)
    two_sided = np.isfinite(bid) & np.isfinite(ask) & (ask > 0) & (ask >= bid)
    frame["mark"] = np.where(two_sided, 0.5 * (bid + ask), np.nan)
    underlying_codes, underlyings = pd.factorize(np.array([underlying_for_root(n) for n in names], dtype=object))
    row_underlying = underlying_codes[root_codes] if len(names) else root_codes
    frame["underlying"] = pd.Categorical.from_codes(row_underlying, categories=pd.Index(underlyings, dtype=object))
    counts = np.bincount(row_underlying) if len(frame) else np.array([])
    underlying = underlyings[int(np.argmax(counts))] if len(frame) else ticker
    # settlement is a function of (expiry, root): worked out once per pair of the rows' expiry text and root
    expiry_codes = np.where(first_codes < 0, len(first_texts), first_codes)
    pair = np.concatenate([expiry_codes] * 2) * max(len(names), 1) + root_codes
    seen = np.zeros((len(first_texts) + 1) * max(len(names), 1), dtype=bool)
    seen[pair] = True
    pair_codes = (np.cumsum(seen) - 1)[pair]  # codes into the pairs present, without a sort
    one = np.empty(int(seen.sum()), dtype=np.intp)
    one[pair_codes] = np.arange(len(pair))  # a row of each pair
    settlement = settlement_instants(pd.Series(frame["expiry"].to_numpy()[one]),
                                     pd.Series(np.array(names, dtype=object)[root_codes[one]], dtype=object))
    frame["settlement"] = settlement.array.take(pair_codes)
    return make_chain(
        frame,
        underlying=str(underlying),
        as_of=as_of,
        spot=spot,
        model="bsm",
        source=str(path),
        line_offset=first_line,
    )


def load_cboe(
    path: str | Path, *, multiplier: float | None = DEFAULT_MULTIPLIER, as_of: object = None,
    date_order: DateOrder | None = None,
) -> OptionChain:
    """Load a CBOE delayed quote table (CSV or the 2020 ``.dat`` vintage).

    Parameters
    ----------
    path : path-like
        The downloaded file.
    multiplier : float, optional
        Contract multiplier (default 100, US equity and index options).
    as_of : object
        Unused: the file carries its snapshot time (accepted as every source loader is).
    date_order : {"dmy", "mdy"}, optional
        How numeric dates whose day and month could swap are read (``--date-order``); without it the
        file must decide, or it is refused naming the date.

    Raises
    ------
    ChainDataError
        With the file, the line and the problem.
    """
    path = Path(path)
    mult = DEFAULT_MULTIPLIER if multiplier is None else multiplier
    raw = read_input(path)
    if raw.isascii() and b"\0" not in raw:  # its text is its bytes: parsed without a decoded copy
        return _read_cboe(raw[:HEADER_WITHIN_CHARS].decode("ascii"), lambda index: _ascii_body(raw, index), path,
                          multiplier=mult, date_order=date_order)
    return read_cboe_text(input_text(raw, path), path, multiplier=mult, date_order=date_order)


def _sniff(head: Head) -> bool:
    return looks_like_cboe(head.text)


SOURCES = (Source("cboe", "CBOE delayed quote table download, CSV (any vintage or site language)", _sniff,
                  load_cboe),)
