"""CBOE quote-table loader: every vintage in DOMAIN.md, settlement per root, readable errors."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from analytics.errors import ChainDataError
from analytics.sources.cboe import load_cboe, looks_like_cboe

HEADER = ("Expiration Date,Calls,Last Sale,Net,Bid,Ask,Volume,IV,Delta,Gamma,Open Interest,Strike,"
          "Puts,Last Sale,Net,Bid,Ask,Volume,IV,Delta,Gamma,Open Interest")
ROWS = [
    "Fri Jan 19 2024,SPX240119C04700000,50,0,49,51,10,0.12,0.52,0.004,1000,4700.00,"
    "SPX240119P04700000,45,0,44,46,10,0.13,-0.48,0.004,2000",
    "Fri Jan 19 2024,SPXW240119C04700000,50,0,49,51,10,0.12,0.52,0.004,300,4700.00,"
    "SPXW240119P04700000,45,0,44,46,10,0.13,-0.48,0.004,400",
    "Mon Jan 08 2024,SPXW240108C04750000,5,0,4,6,10,0.10,0.2,0.003,10,4750.00,"
    "SPXW240108P04750000,55,0,54,56,10,0.11,-0.8,0.003,20",
    "Fri Jan 05 2024,SPXW240105C04750000,0,0,0,0.05,0,0,0,0,7,4750.00,SPXW240105P04750000,0,0,0,0.05,0,0,0,0,9",
]


def write(tmp_path: Path, text: str, name: str = "q.csv") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def quote_table(date_line: str, *, blank_first: bool = True, trailing_commas: bool = False) -> str:
    tail = ",," if trailing_commas else ""
    lines = (["" if blank_first else None] + ["S&P 500 INDEX,Last: 4697.2402,Change:  8.5602" + tail, date_line + tail,
                                              HEADER + tail] + [r + tail for r in ROWS])
    return "\n".join(x for x in lines if x is not None) + "\n"


@pytest.mark.parametrize(
    "date_line, expected",
    [
        ('"Date: January 7, 2024 at 10:52 AM EST",Bid: 4645.23,Ask: 4753.8999,Size: 1*1,Volume: 0', "2024-01-07 10:52"),
        ('"Date: July 12, 2022, 11:55 AM EDT",Bid: 0,Ask: 0,Size: 0*0,Volume: 0', "2022-07-12 11:55"),
        ('"Date: February 5 2022, 8:26 PM EST",Bid: 0,Ask: 0,Size: 0*0,Volume: 0', "2022-02-05 20:26"),
    ],
)
@pytest.mark.parametrize("blank_first", [True, False])
@pytest.mark.parametrize("trailing_commas", [True, False])
def test_every_date_wording_with_or_without_blank_line_and_trailing_commas(tmp_path, date_line, expected,
                                                                            blank_first, trailing_commas):
    # the July 2022 snapshot is after every expiry in ROWS: move the rows' year forward for it
    text = quote_table(date_line, blank_first=blank_first, trailing_commas=trailing_commas)
    if "2022" in date_line:
        text = text.replace("2024,", "2022,").replace("Fri Jan 19 2022", "Fri Aug 19 2022")
    chain = load_cboe(write(tmp_path, text))
    assert chain.as_of == pd.Timestamp(expected, tz="America/New_York")
    assert chain.spot == pytest.approx(4697.2402)
    assert chain.underlying == "SPX"


def test_spx_and_spxw_rows_sharing_expiry_and_strike_are_both_kept_and_settle_differently(tmp_path):
    text = quote_table('"Date: January 7, 2024 at 10:52 AM EST",Bid: 0')
    chain = load_cboe(write(tmp_path, text))
    jan19 = chain.rows[chain.rows.expiry == pd.Timestamp("2024-01-19")]
    assert sorted(jan19.root.unique()) == ["SPX", "SPXW"]
    assert jan19.groupby("side").open_interest.sum().to_dict() == {"C": 1300.0, "P": 2400.0}
    settle = jan19.groupby("root").settlement.first()
    assert settle["SPX"] == pd.Timestamp("2024-01-19 09:30", tz="America/New_York")  # AM, opening print
    assert settle["SPXW"] == pd.Timestamp("2024-01-19 16:00", tz="America/New_York")  # PM


def test_rows_settled_before_the_snapshot_are_dropped_and_counted(tmp_path):
    chain = load_cboe(write(tmp_path, quote_table('"Date: January 7, 2024 at 10:52 AM EST",x')))
    assert pd.Timestamp("2024-01-05") not in set(chain.rows.expiry)
    assert any("dropped 2 row(s) settled before the snapshot" in w for w in chain.warnings)


def test_the_2020_dat_vintage_with_vol_and_open_int_headers_loads(tmp_path):
    text = "\n".join([
        "SPY (SPDR S&P 500 ETF Trust),310.68,1.98,",
        "Jun 22 2020 @ 20:42 ET,Bid,310.6,Ask,310.7,Size,5x10,Vol,50000,",
        "Expiration Date,Calls,Last Sale,Net,Bid,Ask,Vol,IV,Delta,Gamma,Open Int,Strike,Puts,Last Sale,Net,Bid,Ask,"
        "Vol,IV,Delta,Gamma,Open Int,",
        "06/22/2020,SPY200622C00300000,10.5,0,10.4,10.8,5,0.3,0.9,0.01,120,300.00,SPY200622P00300000,0.01,0,0,0.02,1,"
        "0.5,-0.01,0.001,340,",
        "06/24/2020,SPY200624C00310000,2.5,0,2.4,2.6,5,0.25,0.5,0.05,1200,310.00,SPY200624P00310000,2.1,0,2.0,2.2,1,"
        "0.26,-0.5,0.05,1500,",
        "",
    ])
    chain = load_cboe(write(tmp_path, text, "quotedata.dat"))
    assert chain.underlying == "SPY"
    assert chain.spot == pytest.approx(310.68)
    assert chain.as_of == pd.Timestamp("2020-06-22 20:42", tz="America/New_York")
    assert chain.expiries == [pd.Timestamp("2020-06-24").date()]  # 06/22 settled at 16:00, before 20:42
    assert chain.rows.open_interest.tolist() == [1200.0, 1500.0]
    assert chain.rows.settlement.iloc[0] == pd.Timestamp("2020-06-24 16:00", tz="America/New_York")


def test_both_real_cboe_files_load(spx_path, ndx_path):
    spx = load_cboe(spx_path)
    ndx = load_cboe(ndx_path)
    assert (spx.underlying, ndx.underlying) == ("SPX", "NDX")
    assert len(spx.expiries) == 54  # 55 in the file, the 2024-01-05 expiry already settled
    assert len(ndx.expiries) == 34
    assert spx.spot == pytest.approx(4697.2402) and ndx.spot == pytest.approx(14694.3506)
    assert set(spx.rows.root) == {"SPX", "SPXW"} and set(ndx.rows.root) == {"NDX", "NDXP"}
    assert (spx.rows.multiplier == 100).all()
    assert looks_like_cboe(spx_path.read_text()[:4096])


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda t: t.replace("4700.00,SPX240119P", "abc,SPX240119P"), "line 5, field 'Strike': not a number ('abc')"),
        (lambda t: t.replace(",1000,4700.00", ",-5,4700.00"), "negative open interest"),
        (lambda t: t.replace("Open Interest,Strike", "OpenInterest,Strike"), "lacks 'open interest'"),
        (lambda t: t.replace("Expiration Date", "Expiry"), "no 'Expiration Date,Calls,...' header"),
        (lambda t: t.replace("Fri Jan 19 2024,SPX240119C", "Jan 32 2024,SPX240119C"), "unreadable expiry date"),
        (lambda t: t.split("Fri Jan 19 2024,SPXW")[0] + "Fri Jan 19 2024,SPXW240119C047", "truncated file"),
        (lambda t: t.replace("Last: 4697.2402", "Last: n/a"), "no spot"),
        (lambda t: t.replace("EST", ""), "no time zone"),
        (lambda t: t.replace("2024,SPX", "2023,SPX").replace("2024,SPXW", "2023,SPXW"), "no live rows"),
    ],
)
def test_malformed_files_raise_one_clear_message_naming_the_file(tmp_path, mutate, message):
    text = mutate(quote_table('"Date: January 7, 2024 at 10:52 AM EST",Bid: 0'))
    path = write(tmp_path, text, "broken_quotes.csv")
    with pytest.raises(ChainDataError) as err:
        load_cboe(path)
    assert str(err.value).startswith("broken_quotes.csv: ")
    assert message in str(err.value)


def test_adjusted_roots_with_digits_keep_their_root_are_flagged_and_keep_the_underlying(tmp_path):
    text = "\n".join([
        "ADVANCED MICRO DEVICES,Last: 146.5,Change: 1.2",
        '"Date: January 7, 2024 at 10:52 AM EST",Bid: 146.4,Ask: 146.6,Size: 1*1,Volume: 0',
        HEADER,
        "Fri Jan 19 2024,AMD240119C00150000,2,0,1.9,2.1,10,0.4,0.4,0.03,5000,150.00,"
        "AMD240119P00150000,5,0,4.9,5.1,10,0.4,-0.6,0.03,6000",
        "Fri Jan 19 2024,AMD1240119C00150000,2,0,1.9,2.1,1,0.4,0.4,0.03,7,150.00,"
        "AMD1240119P00150000,5,0,4.9,5.1,1,0.4,-0.6,0.03,9",
        "",
    ])
    chain = load_cboe(write(tmp_path, text))
    rows = chain.rows
    assert chain.underlying == "AMD"
    assert sorted(rows["root"].unique()) == ["AMD", "AMD1"]
    assert rows.groupby("root")["adjusted"].all().to_dict() == {"AMD": False, "AMD1": True}
    assert (rows["underlying"] == "AMD").all()
    assert chain.adjusted_roots == ["AMD1"]
    assert rows.loc[rows["adjusted"], "open_interest"].tolist() == [7.0, 9.0]


def test_blank_and_whitespace_lines_between_rows_are_skipped_and_line_numbers_stay_true(tmp_path):
    text = quote_table('"Date: January 7, 2024 at 10:52 AM EST",Bid: 0')
    text = text.replace("\nFri Jan 19 2024,SPXW", "\n\n   \nFri Jan 19 2024,SPXW")
    assert len(load_cboe(write(tmp_path, text)).rows) == 6
    bad = text.replace("4750.00,SPXW240108P", "x,SPXW240108P")
    with pytest.raises(ChainDataError, match=r"line 9, field 'Strike': not a number \('x'\)"):
        load_cboe(write(tmp_path, bad))


def test_windows_line_ends_read_the_same_and_keep_line_numbers(tmp_path):
    text = quote_table('"Date: January 7, 2024 at 10:52 AM EST",Bid: 0')
    unix = load_cboe(write(tmp_path, text, "unix.csv"))
    (tmp_path / "dos.csv").write_bytes(text.replace("\n", "\r\n").encode())
    pd.testing.assert_frame_equal(load_cboe(tmp_path / "dos.csv").rows, unix.rows)
    (tmp_path / "bad.csv").write_bytes(text.replace("4700.00,SPX240119P", "abc,SPX240119P").replace("\n", "\r\n").encode())
    with pytest.raises(ChainDataError, match=r"line 5, field 'Strike': not a number \('abc'\)"):
        load_cboe(tmp_path / "bad.csv")


def test_a_quote_column_missing_on_one_side_is_unknown_there_not_an_error(tmp_path):
    text = quote_table('"Date: January 7, 2024 at 10:52 AM EST",Bid: 0')
    text = text.replace("Puts,Last Sale,Net,Bid,Ask,Volume,IV", "Puts,Last Sale,Net,Bid,Ask,Volume,Implied")
    rows = load_cboe(write(tmp_path, text)).rows
    assert rows.loc[rows["side"] == "P", "iv"].isna().all()
    assert rows.loc[rows["side"] == "C", "iv"].notna().all()
