"""CBOE quote tables saved from the site in another language: the date and header numbers as a browser
writes them, the rows unchanged. Fixtures rewrite the header of the real SPX file in a tmp dir."""

from __future__ import annotations

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
