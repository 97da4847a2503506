"""CBOE quote tables saved from the site in another language: the date and header numbers as a browser
writes them, the rows unchanged. Fixtures rewrite the header of the real SPX file in a tmp dir."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from analytics.errors import ChainDataError
from analytics.sources import load_chain
from analytics.sources.cboe import header_fields, header_number, load_cboe, parse_snapshot_time

SPX_AS_OF = pd.Timestamp("2024-01-07 10:52", tz="America/New_York")

# The SPX snapshot instant as Node 20's Intl.DateTimeFormat (ICU 78.2) writes it: toLocaleString(locale,
# {timeZone: "America/New_York", year: "numeric", month: "long", day: "numeric", hour: "numeric",
# minute: "2-digit", timeZoneName: "short"}).
INTL_DATES = {
    "en-US": "January 7, 2024 at 10:52 AM EST",
    "es-ES": "7 de enero de 2024 a las 10:52 GMT-5",
    "es-MX": "7 de enero de 2024 a las 10:52 a.m. GMT-5",
    "pt-BR": "7 de janeiro de 2024 às 10:52 GMT-5",
    "fr-FR": "7 janvier 2024 à 10:52 UTC\u22125",
    "fr-CA": "7 janvier 2024 à 10 h 52 HNE",
    "de-DE": "7. Januar 2024 um 10:52 GMT-5",
    "it-IT": "7 gennaio 2024 alle ore 10:52 GMT-5",
    "nl-NL": "7 januari 2024 om 10:52 EST",
    "zh-CN": "2024年1月7日 GMT-5 10:52",
    "zh-TW": "2024年1月7日 上午10:52 [EST]",
    "ja-JP": "2024年1月7日 10:52 GMT-5",
    "ko-KR": "2024년 1월 7일 AM 10:52 GMT-5",
}


def with_header(spx_path: Path, tmp_path: Path, *, title: str | None = None, date: str | None = None) -> Path:
    """The real SPX file with its title and/or date line replaced (blank line 1, title 2, date 3)."""
    lines = spx_path.read_text().splitlines(keepends=True)
    assert lines[1].startswith("S&P 500 INDEX") and lines[2].startswith('"Date:')
    if title is not None:
        lines[1] = title + "\n"
    if date is not None:
        lines[2] = date + "\n"
    path = tmp_path / "spx_localized.csv"
    path.write_text("".join(lines), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def english(spx_path):
    return load_cboe(spx_path)


@pytest.mark.parametrize("locale", sorted(INTL_DATES))
def test_a_table_saved_in_any_site_language_gives_the_english_snapshot(spx_path, tmp_path, english, locale):
    date = f'"Date: {INTL_DATES[locale]}",Bid: 4645.23,Ask: 4753.8999,Size: 1*1,Volume: 21.801.210'
    chain = load_chain(with_header(spx_path, tmp_path, date=date))
    assert chain.as_of == SPX_AS_OF
    assert chain.spot == english.spot
    pd.testing.assert_frame_equal(chain.rows, english.rows)


def test_the_real_spanish_qqq_date_line_reads_with_its_gmt_offset():
    as_of, language = parse_snapshot_time("Date: 12 de enero de 2026, 13:36 GMT-5")
    assert language == "es"
    assert as_of == pd.Timestamp("2026-01-12 13:36", tz="America/New_York")
    assert as_of.tz_convert("UTC") == pd.Timestamp("2026-01-12 18:36", tz="UTC")


def test_a_gmt_offset_is_taken_literally_even_when_new_york_is_on_summer_time():
    as_of, _ = parse_snapshot_time("12 de julio de 2022, 11:55 GMT-5")
    assert as_of == pd.Timestamp("2022-07-12 12:55", tz="America/New_York")  # 16:55 UTC = 12:55 EDT


def test_thousands_separators_in_header_fields_are_read_in_the_dates_language(spx_path, tmp_path):
    title = 'S&P 500 INDEX,"Last: 4.697,2402",Change:  8.5602'
    date = '"Date: 7. Januar 2024 um 10:52 GMT-5",Bid: 4645.23,Ask: 4753.8999,Size: 1*1,Volume: 21.801.210'
    path = with_header(spx_path, tmp_path, title=title, date=date)
    chain = load_chain(path)
    assert chain.spot == pytest.approx(4697.2402)
    fields = header_fields(path.read_text().splitlines()[1:3], decimal_comma=True)
    assert fields["Volume"] == 21801210.0 and fields["Last"] == pytest.approx(4697.2402)


@pytest.mark.parametrize(
    ("text", "decimal_comma", "value"),
    [
        ("21.801.210", True, 21801210.0),
        ("21,801,210", False, 21801210.0),
        ("21\u202f801\u202f210", True, 21801210.0),  # French narrow no-break spaces
        ("21'801'210", False, 21801210.0),  # Swiss German
        ("4,697.2402", False, 4697.2402),
        ("4.697,2402", True, 4697.2402),
        ("4697.2402", True, 4697.2402),  # four decimals cannot be a thousands group
        ("2184,5", True, 2184.5),
        ("1.234", True, 1234.0),
        ("1.234", False, 1.234),
        ("-8.5602", False, -8.5602),
        ("0", False, 0.0),
    ],
)
def test_header_numbers_read_every_digit_grouping(text, decimal_comma, value):
    assert header_number(text, decimal_comma=decimal_comma) == pytest.approx(value)


def test_a_header_field_that_is_not_a_number_is_refused():
    with pytest.raises(ValueError, match="not a number"):
        header_number("n/a")


def test_a_language_without_a_month_table_is_still_refused_with_the_clear_message(spx_path, tmp_path):
    date = '"Date: 7 января 2024 г. в 10:52 GMT-5",Bid: 4645.23'  # Russian: no month table
    with pytest.raises(ChainDataError, match=r"^spx_localized\.csv: field 'Date': unreadable snapshot time"):
        load_chain(with_header(spx_path, tmp_path, date=date))


def test_a_localized_date_without_a_zone_is_refused_as_before(spx_path, tmp_path):
    with pytest.raises(ChainDataError, match="no time zone in the date line"):
        load_chain(with_header(spx_path, tmp_path, date='"Date: 7 de enero de 2024, 10:52",Bid: 0'))


@pytest.mark.parametrize(
    ("text", "new_york"),
    [
        ("January 7, 2024 at 9:52 AM CST", "2024-01-07 10:52"),  # Chicago is one hour behind
        ("July 12, 2022, 8:55 AM PDT", "2022-07-12 11:55"),
        ("Jun 22 2020 @ 20:42 ET", "2020-06-22 20:42"),
        ("7 janvier 2024 à 10 h 52 HNE", "2024-01-07 10:52"),
        ("7 de enero de 2024, 16:52 GMT+1", "2024-01-07 10:52"),  # a browser in Madrid
    ],
)
def test_zone_names_and_offsets_are_taken_literally(text, new_york):
    assert parse_snapshot_time(text)[0] == pd.Timestamp(new_york, tz="America/New_York")


# --------------------------------------------------------------------------- issue 16: never misread a date or number


def _spx_lines(spx_path: Path) -> list[str]:
    return spx_path.read_text().splitlines(keepends=True)


def _write(tmp_path: Path, lines: list[str], name: str = "spx_rewritten.csv", encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes("".join(lines).encode(encoding))
    return path


def test_a_numeric_date_whose_day_and_month_could_swap_is_refused_naming_the_choice(spx_path, tmp_path):
    # 07/01/2024 read as 1 July dropped 17,770 rows as settled and turned -11bn into +1.6bn, exit 0
    path = with_header(spx_path, tmp_path, date='"Date: 07/01/2024, 10:52 GMT-5",Bid: 4645.23')
    with pytest.raises(ChainDataError, match=r"^spx_localized\.csv: field 'Date': ambiguous date 07/01/2024: "
                                             r"7 January or 1 July\?.*--date-order dmy\|mdy"):
        load_chain(path)


@pytest.mark.parametrize(("order", "as_of"), [("dmy", "2024-01-07 10:52"), ("mdy", "2024-07-01 11:52")])
def test_date_order_decides_an_ambiguous_date_line(spx_path, tmp_path, english, order, as_of):
    path = with_header(spx_path, tmp_path, date='"Date: 07/01/2024, 10:52 GMT-5",Bid: 4645.23')
    if order == "mdy":  # 1 July 2024 at 10:52 GMT-5 (11:52 New York summer time): most expiries settled
        chain = load_chain(path, date_order=order)
        assert chain.as_of == pd.Timestamp(as_of, tz="America/New_York")
        return
    chain = load_chain(path, date_order=order)
    assert chain.as_of == pd.Timestamp(as_of, tz="America/New_York")
    pd.testing.assert_frame_equal(chain.rows, english.rows)


def test_a_day_above_twelve_decides_the_order_of_the_date_line(spx_path, tmp_path):
    path = with_header(spx_path, tmp_path, date='"Date: 13/01/2024, 10:52 GMT-5",Bid: 4645.23')
    assert load_chain(path).as_of == pd.Timestamp("2024-01-13 10:52", tz="America/New_York")
    with pytest.raises(ChainDataError, match="13/01/2024"):
        load_chain(path, date_order="mdy")  # month 13 does not exist


DAT_HEADER = ("Expiration Date,Calls,Last Sale,Net,Bid,Ask,Vol,IV,Delta,Gamma,Open Int,Strike,Puts,Last Sale,Net,"
              "Bid,Ask,Vol,IV,Delta,Gamma,Open Int,")


def _dat(date_line: str, expiries: list[tuple[str, str]]) -> str:
    """A 2020-vintage table: one row per (expiry cell, OCC yymmdd)."""
    rows = [f"{cell},SPY{ymd}C00310000,2.5,0,2.4,2.6,5,0.25,0.5,0.05,1200,310.00,SPY{ymd}P00310000,2.1,0,2.0,2.2,1,"
            f"0.26,-0.5,0.05,1500," for cell, ymd in expiries]
    return "\n".join(["SPY (SPDR S&P 500 ETF Trust),310.68,1.98,", date_line, DAT_HEADER, *rows, ""])


def test_the_expiry_columns_dates_decide_the_order_of_an_ambiguous_date_line(tmp_path):
    # 06/22/2020 can only be month-first: the date line 06/07/2020 is then 7 June
    text = _dat("Date: 06/07/2020 20:42 ET,Bid,310.6", [("06/22/2020", "200622"), ("07/01/2020", "200701")])
    chain = load_cboe(_write(tmp_path, [text], "quotedata.dat"))
    assert chain.as_of == pd.Timestamp("2020-06-07 20:42", tz="America/New_York")
    assert chain.expiries == [pd.Timestamp("2020-06-22").date(), pd.Timestamp("2020-07-01").date()]


@pytest.mark.parametrize(("cell", "ymd"), [("07/01/2020", "200701"), ("01/07/2020", "200701")])
def test_the_occ_symbols_decide_the_order_of_ambiguous_expiry_dates(tmp_path, cell, ymd):
    text = _dat("Jun 22 2020 @ 20:42 ET,Bid,310.6", [(cell, ymd)])
    chain = load_cboe(_write(tmp_path, [text], "quotedata.dat"))
    assert chain.expiries == [pd.Timestamp("2020-07-01").date()]


def test_ambiguous_expiry_dates_without_occ_symbols_are_refused(tmp_path):
    text = _dat("Jun 22 2020 @ 20:42 ET,Bid,310.6", [("07/08/2020", "200708")]).replace("SPY200708", "X")
    with pytest.raises(ChainDataError, match=r"line 4, field 'Expiration Date': ambiguous date 07/08/2020.*"
                                             r"--date-order"):
        load_cboe(_write(tmp_path, [text], "quotedata.dat"))
    chain = load_cboe(_write(tmp_path, [text], "quotedata.dat"), date_order="dmy")
    assert chain.expiries == [pd.Timestamp("2020-08-07").date()]


def test_a_date_line_without_a_time_of_day_says_so(spx_path, tmp_path):
    with pytest.raises(ChainDataError, match="no time of day"):
        load_chain(with_header(spx_path, tmp_path, date='"Date: January 7, 2024 EST",Bid: 0'))
    with pytest.raises(ChainDataError, match="no time of day"):
        load_chain(with_header(spx_path, tmp_path, date='"Date: 7 de enero de 2024",Bid: 0'))


@pytest.mark.parametrize("last", ["Last: 4.697,2402", "Last: 4697,2402"])
def test_an_unquoted_decimal_comma_spot_reads_as_the_export_means_it(spx_path, tmp_path, last):
    # the CSV splits "Last: 4.697,2402" into "Last: 4.697" and "2402"; it was read as 4,697.0 (or 4.697)
    chain = load_chain(with_header(spx_path, tmp_path, title=f"S&P 500 INDEX,{last},Change:  8.5602"))
    assert chain.spot == 4697.2402


def _excel_european(line: str) -> str:
    """One line as Excel saves it in a German or French locale: ';' between fields, decimal commas."""
    import csv
    import re

    cells = next(csv.reader([line.rstrip("\n")]), [])
    number = re.compile(r"(?:[^:]+:\s*)?-?\d+\.\d+")  # a number, or a "Key: number" header field
    return ";".join(re.sub(r"(\d)\.(\d)", r"\1,\2", c) if number.fullmatch(c) else c for c in cells) + "\n"


@pytest.fixture(scope="module")
def european_lines(spx_path) -> tuple[str, ...]:
    """The real SPX file's lines as Excel saves them in Europe, converted once for the module (a tuple:
    a test that changes a line works on its own list)."""
    return tuple(_excel_european(ln) for ln in _spx_lines(spx_path))


def test_the_semicolon_decimal_comma_csv_excel_saves_in_europe_reads_the_same(european_lines, tmp_path, english):
    lines = list(european_lines)
    assert lines[1] == "S&P 500 INDEX;Last: 4697,2402;Change:  8,5602\n"
    assert lines[4].startswith("Fri Jan 05 2024;SPXW240105C01200000;3499,25;-1,1;")
    chain = load_chain(_write(tmp_path, lines, encoding="cp1252"))
    assert chain.spot == english.spot and chain.as_of == english.as_of
    pd.testing.assert_frame_equal(chain.rows, english.rows)


def test_a_semicolon_file_with_a_dot_that_could_group_thousands_or_mark_decimals_is_refused(european_lines,
                                                                                             tmp_path):
    lines = list(european_lines)
    lines[4] = lines[4].replace(";3499,25;", ";3.499;", 1).replace(";24;1200,00;", ";0.5;1200,00;", 1)
    with pytest.raises(ChainDataError, match=r"line 5, field 'Open Interest': not a number \('0\.5'\)"):
        load_chain(_write(tmp_path, lines))


def test_a_windows_1252_file_reads(spx_path, tmp_path, english):
    lines = _spx_lines(spx_path)
    lines[2] = '"Date: 7 janvier 2024 à 10:52 GMT-5",Bid: 4645.23,Ask: 4753.8999,Size: 1*1,Volume: 0\n'
    path = _write(tmp_path, lines, encoding="cp1252")
    with pytest.raises(UnicodeDecodeError):
        path.read_bytes().decode("utf-8")
    chain = load_chain(path)
    assert chain.as_of == SPX_AS_OF
    pd.testing.assert_frame_equal(chain.rows, english.rows)


def test_a_cboe_file_with_every_row_twice_is_refused_with_the_count(spx_path, tmp_path):
    # it was accepted: exit 0, total GEX doubled, no note
    lines = _spx_lines(spx_path)
    n = len(lines) - 4
    path = _write(tmp_path, lines[:4] + lines[4:] * 2)
    with pytest.raises(ChainDataError, match=rf"{n:,} row\(s\) repeat an earlier row exactly .*100% of the "
                                             rf"open interest.*first: line {4 + n + 1} repeats line 5"):
        load_chain(path)


def test_a_contract_listed_twice_with_different_numbers_is_refused_naming_both_lines(spx_path, tmp_path):
    lines = _spx_lines(spx_path)
    cells = lines[100].split(",")
    cells[10] = str(int(cells[10]) + 777)  # the call's open interest
    twin = ",".join(cells)
    path = _write(tmp_path, lines + [twin])
    with pytest.raises(ChainDataError, match=rf"line {len(lines) + 1}: .*listed twice with different numbers"
                                             rf".*line 101 and line {len(lines) + 1}"):
        load_chain(path)


@pytest.mark.parametrize("strike", ["1e308", "inf", "0", "-5", "470000"])
def test_an_absurd_strike_is_refused_with_its_line(spx_path, tmp_path, strike):
    lines = _spx_lines(spx_path)
    cells = lines[199].split(",")
    cells[11] = strike
    lines[199] = ",".join(cells)
    with pytest.raises(ChainDataError, match=r"line 200, field 'strike'"):
        load_chain(_write(tmp_path, lines))


def test_the_cli_on_a_1e308_strike_exits_2_with_one_line_and_no_numpy_warning(spx_path, tmp_path, capsys):
    """Through main() in process, every warning recorded (a process would print each once on stderr; the
    real process's exit: tests/unit/test_cli.py test_the_process_prints_all_of_a_one_shot_answer)."""
    import warnings

    from dashboard import cli

    lines = _spx_lines(spx_path)
    cells = lines[199].split(",")
    cells[11] = "1e308"
    lines[199] = ",".join(cells)
    path = _write(tmp_path, lines, "huge_strike.csv")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        code = cli.main(["analyze", str(path)])
    out, err = capsys.readouterr()
    assert code == 2 and out == ""
    assert [str(w.message) for w in caught] == [] and "Warning" not in err
    assert err.count("\n") == 1 and "huge_strike.csv: line 200, field 'strike'" in err


def test_the_cli_refuses_an_ambiguous_date_and_takes_date_order(spx_path, tmp_path, capsys):
    from dashboard import cli

    path = with_header(spx_path, tmp_path, date='"Date: 07/01/2024, 10:52 GMT-5",Bid: 4645.23')
    args = ["analyze", str(path), "--grid-points", "3", "--shocks", "0"]
    assert cli.main(args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "ambiguous date 07/01/2024" in err and "--date-order" in err
    assert cli.main([*args, "--date-order", "dmy"]) == 0
    assert json.loads(capsys.readouterr().out)["as_of"] == "2024-01-07T10:52:00-05:00"
    with pytest.raises(SystemExit) as exited:
        cli.main([*args, "--date-order", "ymd"])
    assert exited.value.code == 2 and "invalid choice: 'ymd'" in capsys.readouterr().err
