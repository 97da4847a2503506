"""Positions (book) files: reading them, applying them to a chain, and readable errors."""

from __future__ import annotations

import pandas as pd
import pytest

from analytics.errors import ChainDataError
from analytics.sources import detect_format, load_chain
from analytics.sources.book import apply_book, load_book
from analytics.sources.cboe import load_cboe
from analytics.sources.deribit import load_deribit

HEADER = "underlying,expiry,strike,side,quantity,root"


def write(tmp_path, name: str, *lines: str, header: str = HEADER):
    path = tmp_path / name
    path.write_text("\n".join((header, *lines)) + "\n")
    return path


@pytest.fixture(scope="module")
def spx(spx_path):
    return load_cboe(spx_path)


def test_book_file_reads_signed_quantities_with_their_lines(tmp_path):
    book = load_book(write(tmp_path, "book.csv", "SPX,2024-01-19,4700,C,-150,SPX", "SPX,2024-01-19,4600,put,25,"))
    assert book["quantity"].tolist() == [-150.0, 25.0]
    assert book["side"].tolist() == ["C", "P"]
    assert book["root"].iloc[0] == "SPX" and pd.isna(book["root"].iloc[1])
    assert book["line"].tolist() == [2, 3]
    assert book["expiry"].iloc[0] == pd.Timestamp("2024-01-19")


def test_applying_a_book_fills_positions_and_zero_elsewhere(tmp_path, spx):
    book = load_book(write(tmp_path, "book.csv", "SPX,2024-01-19,4700,C,-150,SPX", "SPX,2024-01-19,4700,P,80,SPXW"))
    chain = apply_book(spx, book)
    rows = chain.rows
    at = rows[(rows["expiry"] == pd.Timestamp("2024-01-19")) & (rows["strike"] == 4700)]
    got = dict(zip(zip(at["root"], at["side"], strict=True), at["position"], strict=True))
    assert got == {("SPX", "C"): -150.0, ("SPX", "P"): 0.0, ("SPXW", "C"): 0.0, ("SPXW", "P"): 80.0}
    assert rows["position"].notna().all()
    assert rows["position"].abs().sum() == 230.0
    assert chain.has_book


def test_book_line_without_root_matches_the_only_root_listed(tmp_path, spx):
    # 2024-01-10 is a Wednesday: only SPXW lists it
    book = load_book(write(tmp_path, "book.csv", "SPX,2024-01-10,4700,C,10,"))
    rows = apply_book(spx, book).rows
    assert rows.loc[rows["position"] != 0, "root"].tolist() == ["SPXW"]


def test_book_line_without_root_matching_two_roots_is_an_error(tmp_path, spx):
    path = write(tmp_path, "ambiguous.csv", "SPX,2024-01-19,4700,C,10,")
    with pytest.raises(ChainDataError, match=r"ambiguous\.csv: line 2, field 'root': .*several roots \(SPX, SPXW\)"):
        apply_book(spx, load_book(path), source=path)


def test_book_lines_matching_nothing_are_reported_in_warnings(tmp_path, spx):
    path = write(
        tmp_path, "stale.csv",
        "SPX,2024-01-19,4700,C,-150,SPX",
        "SPX,2024-01-05,4700,C,5,SPXW",  # settled before the snapshot
        "SPX,2024-01-19,4701,C,5,SPX",  # no such strike
        "NDX,2024-01-19,17000,C,5,NDX",  # another underlying
    )
    chain = apply_book(spx, load_book(path), source=path)
    assert any("stale.csv: 3 book line(s) match no live contract" in w and "line 3, 4, 5" in w for w in chain.warnings)
    assert chain.rows["position"].sum() == -150.0


def test_deribit_book_matches_on_expiry_strike_side(tmp_path, deribit_ticker_path):
    chain = load_deribit(deribit_ticker_path)
    book = load_book(write(tmp_path, "btc.csv", "BTC,2026-03-27,70000,C,-12.5,", "btc,2026-03-27,65000,P,4,"))
    rows = apply_book(chain, book).rows
    assert rows.loc[rows["position"] != 0, ["strike", "side", "position"]].values.tolist() == [
        [65000.0, "P", 4.0], [70000.0, "C", -12.5]
    ]


def test_book_file_is_detected_by_content_and_is_not_a_chain(tmp_path):
    path = write(tmp_path, "positions.txt", "SPX,2024-01-19,4700,C,-150,SPX")
    assert detect_format(path) == "book"
    with pytest.raises(ChainDataError, match=r"positions\.txt: this is a positions \(book\) file"):
        load_chain(path)


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("SPX,2024-01-19,47x0,C,-150,SPX", r"line 3, field 'strike': not a number \('47x0'\)"),
        ("SPX,2024-01-19,4700,C,ten,SPX", r"line 3, field 'quantity': not a number \('ten'\)"),
        ("SPX,2024-01-19,4700,straddle,1,SPX", r"line 3, field 'side': side must be C or P"),
        ("SPX,19 Jan 2024,4700,C,1,SPX", r"line 3, field 'expiry': expiry must be YYYY-MM-DD"),
        ("SPX,2024-01-19,-4700,C,1,SPX", r"line 3, field 'strike': strike must be positive"),
        ("SPX,2024-01-19,4700,C,,SPX", r"line 3, field 'quantity': not a number"),
    ],
)
def test_bad_book_lines_name_file_line_and_field(tmp_path, line, message):
    path = write(tmp_path, "bad_book.csv", "SPX,2024-01-19,4600,P,5,SPX", line)
    with pytest.raises(ChainDataError, match=r"bad_book\.csv: " + message):
        load_book(path)


def test_contract_listed_twice_in_a_book_names_both_lines(tmp_path):
    path = write(tmp_path, "twice.csv", "SPX,2024-01-19,4700,C,-150,SPX", "SPX,2024-01-19,4600,P,5,SPX",
                 "spx,2024-01-19,4700.0,call,20,spx")
    with pytest.raises(ChainDataError, match=r"twice\.csv: line 4: .*listed twice \(line 2 and line 4\)"):
        load_book(path)


def test_book_missing_quantity_column_is_named(tmp_path):
    path = write(tmp_path, "noqty.csv", "SPX,2024-01-19,4700,C,SPX", header="underlying,expiry,strike,side,root")
    with pytest.raises(ChainDataError, match=r"noqty\.csv: missing column\(s\) quantity"):
        load_book(path)


def test_missing_and_empty_book_files_are_errors(tmp_path):
    with pytest.raises(ChainDataError, match=r"nope\.csv: no such file"):
        load_book(tmp_path / "nope.csv")
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(ChainDataError, match=r"empty\.csv: empty file"):
        load_book(tmp_path / "empty.csv")
