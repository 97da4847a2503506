"""The CBOE loader reads the OCC symbol columns as fixed-width bytes and their roots there: every odd
spelling of a real table gives the rows and roots a plain reading gives (Python's csv module, the OCC
pattern one symbol at a time), and the rare checks that need the symbols' text still see it."""

from __future__ import annotations

import csv
import functools
import io
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analytics.chain import occ_root_codes
from analytics.errors import ChainDataError
from analytics.sources import cboe, load_chain
from analytics.sources.cboe import SYMBOL_FIELD_BYTES, _fixed_width_root_codes, read_cboe_text
from analytics.sources.common import input_text
from tests.unit.test_occ_roots import EDGES, roots_one_by_one

TITLE = "SPX,Last: 4697.2402,Change:  8.5602"  # a ticker that is a name: a symbol that is no OCC symbol gets it
AS_OF = pd.Timestamp("2024-01-07 10:52", tz="America/New_York")


def table(spx_path: Path, rows: int = 400) -> tuple[list[str], list[str]]:
    """The head (title, date, header) and ``rows`` option rows of the real SPX file, with a ticker title."""
    lines = spx_path.read_text().splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("Expiration Date"))
    return [TITLE, *lines[at - 1: at + 1]], lines[at + 1: at + 1 + rows]


def plain_rows(text: str, ticker: str = "SPX") -> pd.DataFrame:
    """The live rows a plain reading gives: csv module, blank rows skipped, spaces opening a field
    skipped, each side's root by the OCC pattern one symbol at a time, sorted as a chain is."""
    lines = text.splitlines()
    at = next(i for i, line in enumerate(lines) if line.lstrip('"').startswith("Expiration Date"))
    out = []

    @functools.cache
    def live(expiry_text: str, root: str) -> tuple[pd.Timestamp, bool]:  # the same for every row of the pair
        expiry = pd.Timestamp(expiry_text)
        settle = expiry + (pd.Timedelta(hours=9.5) if root == "SPX" else pd.Timedelta(hours=16))
        return expiry, settle.tz_localize("America/New_York") > AS_OF

    for row in csv.reader(io.StringIO("\n".join(lines[at + 1:])), skipinitialspace=True):
        if not any(field.strip() for field in row):
            continue
        for side, symbol, oi in (("C", row[1], row[10]), ("P", row[12], row[21])):
            root = roots_one_by_one([symbol], ticker)[0]
            expiry, alive = live(row[0], root)
            if alive:
                out.append((expiry, float(row[11]), side, root, float(oi or 0)))
    frame = pd.DataFrame(out, columns=["expiry", "strike", "side", "root", "open_interest"])
    return frame.sort_values(["expiry", "strike", "side", "root"], kind="stable").reset_index(drop=True)


def chain_rows(chain) -> pd.DataFrame:
    rows = chain.rows[["expiry", "strike", "side", "root", "open_interest"]].copy()
    return rows.astype({"expiry": "datetime64[ns]", "side": object, "root": object}).reset_index(drop=True)


def check_against_plain(path: Path, text: str) -> None:
    pd.testing.assert_frame_equal(chain_rows(load_chain(path)), plain_rows(text), check_dtype=False)


def weekly(body: list[str]) -> list[str]:
    """The SPXW rows."""
    return [line for line in body if ",SPXW" in line]


def rewrite(body: list[str], pattern: str, repl: str, every: int = 1) -> list[str]:
    return [re.sub(pattern, repl, line) if i % every == 0 else line for i, line in enumerate(body)]


SPELLINGS = {  # name -> (head, body) -> text of the same table, spelled another way
    "plain": lambda h, b: "\n".join(h + b) + "\n",
    "crlf": lambda h, b: "\r\n".join(h + b) + "\r\n",
    "old_mac_cr": lambda h, b: "\r".join(h + b) + "\r",
    "bom": lambda h, b: "\ufeff" + "\n".join(h + b) + "\n",
    "no_final_line_end": lambda h, b: "\n".join(h + b),
    "blank_lines": lambda h, b: "\n".join(h + [""] + b[:5] + ["", "   ", "," * 21] + b[5:] + ["", ""]) + "\n",
    "spaces_after_commas": lambda h, b: "\n".join(h + [", ".join(line.split(",")) for line in b]) + "\n",
    "tabs_after_commas": lambda h, b: "\n".join(h + [",\t".join(line.split(",")) for line in b[:9]] + b[9:]) + "\n",
    "quoted_fields": lambda h, b: "\n".join(h + [",".join(f'"{f}"' for f in line.split(",")) for line in b]) + "\n",
    "quoted_symbols": lambda h, b: "\n".join(h + rewrite(b, r"([A-Z]+\d{6}[CP]\d{8})", r'"\1"', 3)) + "\n",
    "trailing_commas": lambda h, b: "\n".join(h + [line + ",," for line in b]) + "\n",
    "spaces_after_symbols": lambda h, b: "\n".join(h + rewrite(b, r"(\d{6}[CP]\d{8}),", r"\1  ,", 2)) + "\n",
    "adjusted_roots": lambda h, b: "\n".join(h + rewrite(b, r",SPXW(\d{6})", r",SPX7\1", 5)) + "\n",
    # one root in every row (a long root is its own underlying)
    "eight_letter_root": lambda h, b: "\n".join(h + rewrite(weekly(b), r",SPXW(\d{6})", r",ABCDEFGH\1")) + "\n",
    "nine_letter_root": lambda h, b: "\n".join(h + rewrite(weekly(b), r",SPXW(\d{6})", r",ABCDEFGHI\1")) + "\n",
    "non_ascii_root": lambda h, b: "\n".join(h + rewrite(b, r",SPXW(\d{6})", r",SPXÉ\1", 6)) + "\n",
    "not_symbols": lambda h, b: "\n".join(h + rewrite(b, r",SPXW\d{6}[CP]\d{8}", ",n/a", 7)) + "\n",
    "empty_symbols": lambda h, b: "\n".join(h + rewrite(b, r",SPXW\d{6}[CP]\d{8}", ",", 7)) + "\n",
    "long_text_symbols": lambda h, b: "\n".join(h + rewrite(b, r",SPXW\d{6}[CP]\d{8}", "," + "N" * 40, 7)) + "\n",
    "symbols_filling_the_width": lambda h, b: "\n".join(
        h + rewrite(b, r",(SPXW\d{6}[CP]\d{8})", r",\1" + " " * (SYMBOL_FIELD_BYTES - 19), 7)) + "\n",
}
SAME_AS_PLAIN = ("crlf", "old_mac_cr", "bom", "no_final_line_end", "blank_lines", "spaces_after_commas",
                 "tabs_after_commas", "quoted_fields", "quoted_symbols", "trailing_commas", "spaces_after_symbols",
                 "symbols_filling_the_width")


@pytest.fixture(scope="module")
def plain_chain(tmp_path_factory, spx_path):
    """The plain spelling's chain, loaded once for the spellings compared with it."""
    path = tmp_path_factory.mktemp("plain") / "plain.csv"
    path.write_text(SPELLINGS["plain"](*table(spx_path)))
    return load_chain(path)


@pytest.mark.parametrize("name", list(SPELLINGS))
def test_every_spelling_reads_the_rows_and_roots_a_plain_reading_gives(tmp_path, spx_path, plain_chain, name):
    head, body = table(spx_path)
    text = SPELLINGS[name](head, body)
    path = tmp_path / f"{name}.csv"
    path.write_bytes(text.encode("utf-8"))
    check_against_plain(path, text)
    from_text = read_cboe_text(input_text(path.read_bytes(), path), path)  # an ASCII file loads from its bytes
    loaded = load_chain(path)
    assert loaded.rows.equals(from_text.rows) and loaded.warnings == from_text.warnings
    if name in SAME_AS_PLAIN:
        plain, other = plain_chain, loaded
        assert other.rows.equals(plain.rows) and list(other.rows.dtypes) == list(plain.rows.dtypes)
        assert (other.warnings, other.as_of, other.spot, other.underlying) == (
            plain.warnings, plain.as_of, plain.spot, plain.underlying)


def test_numeric_expiries_are_ordered_by_the_symbols_text(tmp_path, spx_path):
    """``01/05/2024`` could be either order: the OCC symbols decide it (they are read as text for that)."""
    head, body = table(spx_path)
    body = [line for line in body if pd.Timestamp(line.split(",")[0]).day <= 12]  # no day decides the order
    numeric = [",".join([pd.Timestamp(line.split(",")[0]).strftime("%m/%d/%Y"), *line.split(",")[1:]]) for line in body]
    (tmp_path / "mdy.csv").write_text("\n".join(head + numeric) + "\n")
    (tmp_path / "plain.csv").write_text("\n".join(head + body) + "\n")
    pd.testing.assert_frame_equal(chain_rows(load_chain(tmp_path / "mdy.csv")),
                                  chain_rows(load_chain(tmp_path / "plain.csv")))


def test_repeated_rows_are_told_apart_by_their_symbols_text(tmp_path, spx_path):
    head, body = table(spx_path)
    fields = body[4].split(",")
    twin = ",".join([fields[0], fields[1][:-1] + ("1" if fields[1][-1] != "1" else "2"), *fields[2:]])
    (tmp_path / "exact.csv").write_text("\n".join(head + body[:9] + [body[4]] + body[9:]) + "\n")
    (tmp_path / "twin.csv").write_text("\n".join(head + body[:9] + [twin] + body[9:]) + "\n")
    with pytest.raises(ChainDataError, match=r"line 13: 1 row\(s\) repeat an earlier row exactly .* line 13 repeats line 8"):
        load_chain(tmp_path / "exact.csv")
    # same expiry, strike and root (the symbol's strike digits are not read), other symbol text: not a copy
    with pytest.raises(ChainDataError, match=r"listed twice with different numbers: line 8 and line 13"):
        load_chain(tmp_path / "twin.csv")


def test_a_row_holding_only_a_symbol_is_not_a_blank_row(tmp_path, spx_path):
    head, body = table(spx_path)
    symbol_only = ",".join(["", body[0].split(",")[1]] + [""] * 20)
    (tmp_path / "t.csv").write_text("\n".join(head + body[:3] + [symbol_only] + body[3:]) + "\n")
    with pytest.raises(ChainDataError, match="line 7: row has fewer than the 22 fields"):
        load_chain(tmp_path / "t.csv")


def test_a_nul_in_a_symbol_reads_the_symbols_as_text(spx_path):
    head, body = table(spx_path)
    body = rewrite(body, r",SPXW(\d{6}C)", ",SPX\x00W\\1", 3)
    text = "\n".join([head[0], head[1], head[2], *body]) + "\n"
    chain = read_cboe_text(text, Path("nul.csv"))
    pd.testing.assert_frame_equal(chain_rows(chain), plain_rows(text), check_dtype=False)


def fixed(values: list[object]) -> np.ndarray:
    """``values`` as the C parser reads them into numpy ``S`` (UTF-8, cut at the width; missing: b"")."""
    return np.array([v.encode("utf-8") if isinstance(v, str) else b"" for v in values],
                    dtype=f"S{SYMBOL_FIELD_BYTES}")


@pytest.mark.parametrize("shift", range(0, len(EDGES), 3))
def test_fixed_width_roots_agree_with_the_text_rule(shift):
    values = [v for v in EDGES[shift:] + EDGES[:shift] if not (isinstance(v, str) and "\x00" in v)]
    found = _fixed_width_root_codes(fixed(values), "TICKER")
    assert found is not None
    codes, roots = found
    want_codes, want_roots = occ_root_codes(pd.Series([v if isinstance(v, str) and v else np.nan for v in values],
                                                      dtype=object), "TICKER")
    assert (codes.tolist(), roots) == (list(want_codes), want_roots)
    assert [roots[c] for c in codes] == roots_one_by_one(values, "TICKER")


@pytest.mark.parametrize("value", ["SPXÉ240119C04700000", "X" * SYMBOL_FIELD_BYTES, "ABCDEFGHI240119C04700000",
                                   " SPXW240119C04700000", "SPXW240119C04700000 "])
def test_values_the_bytes_cannot_settle_are_left_to_the_text(value):
    assert _fixed_width_root_codes(fixed(["SPXW240119C04700000", value]), "TICKER") is None


@pytest.mark.parametrize("block", [1, 2, 5, 1 << 20])
def test_the_space_check_block_by_block_is_the_plain_rule(monkeypatch, block):
    """A space opens a field (first, or after the delimiter or a line end) or a tab is anywhere, in
    ``data[start:]``: checked one byte at a time here, in blocks by the loader."""
    monkeypatch.setattr(cboe, "_SCAN_BLOCK_BYTES", block)
    rng = np.random.default_rng(block)
    for _ in range(400):
        data = bytes(rng.choice(list(b"ab ,;\n\r\t" if rng.random() < 0.1 else b"ab ,;\n\r"), rng.integers(0, 14)))
        start = int(rng.integers(0, len(data) + 1))
        for delimiter in ",;":
            body = data[start:]
            plain = b"\t" in body or any(c == ord(" ") and (i == 0 or chr(body[i - 1]) in delimiter + "\n\r")
                                         for i, c in enumerate(body))
            assert cboe._space_opens_a_field(data, delimiter, start) == plain, (data, start, delimiter)


def test_an_ascii_body_is_found_where_the_text_finds_it():
    """Every ASCII character alone below the header (whitespace or not, ``\\x1c`` included), and bodies
    with and without ``\\n`` line ends: the bytes reading finds the body the text reading finds."""
    for body in [chr(c) for c in range(1, 128)] + ["\r\r", "a\rb", " \x1c\x1f\x0b\x0c ", "\n\n", ""]:
        for head in ("t\nd\nh\n", "t\rd\rh\r", "t\r\nd\r\nh\r\n"):
            text = head + body
            want = cboe._text_body(text, 2)
            got = cboe._ascii_body(text.encode("ascii"), 2)
            assert (want is None) == (got is None), repr(text)
            if got is not None:
                assert got[0][got[1]:] == want[0][want[1]:], repr(text)
