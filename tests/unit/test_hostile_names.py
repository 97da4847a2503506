"""Names are data, never markup or formulas (issue #17): an underlying or a root outside the safe set
(letters, digits, space and ``. _ - / ^``) is refused at load with the file and the line."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest

from analytics.chain import unsafe_names
from analytics.errors import ChainDataError
from analytics.sources import load_chain
from analytics.sources.book import load_book
from dashboard.uploads import store_bytes

LINK = '<a href="https://evil.example/">CLICK</a>'
FORMULA = '=HYPERLINK("http://evil.example","x")'
HEADER = ["underlying", "as_of", "spot", "expiry", "strike", "side", "open_interest", "root"]


def table(underlying: str = "SPX", root: str = "SPXW", bad_line: int = 3) -> bytes:
    """A canonical table of four rows of ``underlying``; the row at file line ``bad_line`` has ``root``."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(HEADER)
    for line, (strike, side) in enumerate([(4700, "C"), (4700, "P"), (4750, "C"), (4750, "P")], start=2):
        writer.writerow([underlying, "2024-01-05T15:00:00-05:00", 4700, "2024-01-19", strike, side, 100,
                         root if line == bad_line else "SPXW"])
    return out.getvalue().encode()


def test_safe_names_pass_and_markup_or_formulas_do_not():
    names = ["SPX", "SPXW", "BRK.B", "^VIX", "BTC-PERP", "ES/MES", "my_root 2", LINK, FORMULA, "A&B", "x" * 33,
             "tab\there"]
    assert unsafe_names(names).tolist() == [False] * 7 + [True] * 5


@pytest.mark.parametrize(("name", "underlying", "root"), [("link", LINK, "SPXW"), ("formula", FORMULA, "SPXW"),
                                                          ("root", "SPX", "<b>SPXW</b>")])
def test_an_unsafe_name_in_a_table_is_refused_with_the_file_and_line(tmp_path, name, underlying, root):
    path = tmp_path / f"{name}.csv"
    path.write_bytes(table(underlying, root, bad_line=3))
    field, line = ("root", 3) if name == "root" else ("underlying", 2)  # a bad underlying: on every row
    with pytest.raises(ChainDataError, match=rf"^{name}\.csv: line {line}, field '{field}': {field} .* is not a name"):
        load_chain(path)


def test_an_unsafe_name_in_a_positions_file_is_refused_with_the_line(tmp_path):
    path = tmp_path / "book.csv"
    path.write_text(f"underlying,expiry,strike,side,quantity\nSPX,2024-01-19,4700,C,5\n\"{LINK.upper()}\",2024-01-19,"
                    "4700,P,-5\n")
    with pytest.raises(ChainDataError, match=r"^book\.csv: line 3, field 'underlying': underlying .* is not a name"):
        load_book(path)


def test_an_upload_whose_underlying_is_a_link_is_refused_with_a_clear_message(tmp_path):
    folder = tmp_path / "data"
    folder.mkdir()
    result = store_bytes(table(LINK, "SPXW", bad_line=2), folder, today=dt.date(2026, 11, 30))
    assert not result.ok
    assert result.message.startswith("refused (")
    assert "line 2, field 'underlying': underlying '…' is not a name: names hold letters, digits" in result.message
    assert "<a" not in result.message and not any(folder.iterdir())
