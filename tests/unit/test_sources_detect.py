"""load_chain / detect_format: detection by content, size limit, and one readable error per bad file."""

from __future__ import annotations

import builtins
import io
import os
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analytics.catalog import public_reason
from analytics.errors import ChainDataError
from analytics.sources import FORMATS, MAX_FILE_BYTES, detect_format, load_chain
from analytics.sources.deribit import load_deribit
from analytics.sources.table import write_table

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def copy_as(src: Path, dst: Path) -> Path:
    shutil.copyfile(src, dst)
    return dst


@pytest.mark.parametrize(
    ("fixture", "expected"),
    [
        ("spx_path", "cboe"),
        ("ndx_path", "cboe"),
        ("deribit_ticker_path", "deribit-ticker"),
        ("deribit_book_summary_path", "deribit-book-summary"),
    ],
)
def test_every_shared_chain_file_is_detected(request, fixture, expected):
    assert detect_format(request.getfixturevalue(fixture)) == expected


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("cboe_delayed_spx_response.json", "cboe-json"),
        ("deribit_book_summary_btc_response.json", "deribit-book-summary"),
        ("deribit_ticker_eth_results.json", "deribit-ticker"),
    ],
)
def test_recorded_api_responses_are_detected(name, expected):
    assert detect_format(FIXTURES / name) == expected


def test_cboe_file_renamed_json_is_still_read_as_cboe(tmp_path, spx_path):
    path = copy_as(spx_path, tmp_path / "spx.json")
    assert detect_format(path) == "cboe"
    assert len(load_chain(path).rows) == 20592


def test_table_renamed_txt_is_still_read_as_a_table(tmp_path, deribit_ticker_path):
    path = write_table(load_deribit(deribit_ticker_path), tmp_path / "btc.csv").rename(tmp_path / "btc.txt")
    assert detect_format(path) == "table-csv"
    assert len(load_chain(path).rows) == 166


def test_parquet_named_csv_is_read_as_parquet(tmp_path, deribit_ticker_path):
    path = write_table(load_deribit(deribit_ticker_path), tmp_path / "btc.parquet").rename(tmp_path / "btc.csv")
    assert detect_format(path) == "table-parquet"
    assert load_chain(path).model == "black76"


def test_deribit_csv_without_extension_is_read_as_deribit(tmp_path, deribit_book_summary_path):
    path = copy_as(deribit_book_summary_path, tmp_path / "snapshot")
    assert len(load_chain(path).rows) == 1198


def test_multiplier_argument_reaches_the_cboe_loader(spx_path):
    assert (load_chain(spx_path, multiplier=10).rows["multiplier"] == 10).all()


def test_unknown_format_lists_the_supported_ones(tmp_path):
    path = tmp_path / "notes.csv"
    path.write_text("date,close\n2024-01-05,4697.24\n")
    with pytest.raises(ChainDataError) as err:
        detect_format(path)
    message = str(err.value)
    assert message.startswith("notes.csv: unknown format")
    assert all(fmt in message for fmt in FORMATS)


def test_wrong_header_is_an_unknown_format(tmp_path, deribit_ticker_path):
    text = deribit_ticker_path.read_text().replace("instrument_name", "symbol", 1)
    path = tmp_path / "renamed_header.csv"
    path.write_text(text)
    shape = r"comma-separated text, \d+ fields on its first line"
    with pytest.raises(ChainDataError, match=rf"renamed_header\.csv: unknown format \({shape}, starts 'symbol,currency"):
        load_chain(path)


def test_other_json_is_an_unknown_format(tmp_path):
    path = tmp_path / "other.json"
    path.write_text('{"columns": ["S", "K"], "data": [[1, 2]]}')
    with pytest.raises(ChainDataError, match=r"other\.json: unknown format"):
        load_chain(path)


def test_missing_file_is_no_such_file(tmp_path):
    with pytest.raises(ChainDataError, match=r"^ghost\.csv: no such file$"):
        load_chain(tmp_path / "ghost.csv")


def test_directory_is_not_a_chain(tmp_path):
    with pytest.raises(ChainDataError, match=r"not a regular file"):
        load_chain(tmp_path)


def test_empty_file_is_rejected(tmp_path):
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    with pytest.raises(ChainDataError, match=r"^empty\.csv: empty file$"):
        load_chain(path)


def test_blank_lines_only_file_is_rejected(tmp_path):
    path = tmp_path / "blank.csv"
    path.write_text("\n \n\n")
    with pytest.raises(ChainDataError, match=r"^blank\.csv: empty file"):
        load_chain(path)


def test_binary_junk_is_rejected_as_not_text(tmp_path):
    path = tmp_path / "junk.csv"
    path.write_bytes(np.random.default_rng(7).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    with pytest.raises(ChainDataError, match=r"^junk\.csv: binary content"):
        load_chain(path)


def test_latin1_bytes_without_nul_are_rejected_as_not_utf8(tmp_path):
    path = tmp_path / "latin.csv"
    path.write_bytes("strike,côté\n".encode("latin-1") + bytes(range(0x80, 0xFF)))
    with pytest.raises(ChainDataError, match=r"^latin\.csv: binary content, not a UTF-8 text file"):
        load_chain(path)


def test_file_over_the_limit_is_rejected_before_any_read(tmp_path, monkeypatch):
    path = tmp_path / "huge.csv"
    with path.open("wb") as fh:  # 50 MB, sparse: nothing is written
        fh.truncate(50 * 1024 * 1024)
    assert os.stat(path).st_size > MAX_FILE_BYTES

    def no_reading(*args, **kwargs):
        raise AssertionError("the file was opened")

    monkeypatch.setattr(builtins, "open", no_reading)
    monkeypatch.setattr(io, "open", no_reading)
    monkeypatch.setattr(Path, "open", no_reading)
    monkeypatch.setattr(Path, "read_text", no_reading)
    monkeypatch.setattr(Path, "read_bytes", no_reading)
    monkeypatch.setattr(os, "read", no_reading)  # read_input opens, checks the size on the descriptor, reads nothing
    with pytest.raises(ChainDataError, match=r"^huge\.csv: file too large: 50\.0 MiB, the limit is 32 MiB"):
        load_chain(path)


def test_truncated_deribit_csv_is_reported_as_truncated(tmp_path, deribit_ticker_path):
    text = deribit_ticker_path.read_text()
    path = tmp_path / "cut.csv"
    path.write_text(text[: len(text) // 2].rstrip("\n"))
    with pytest.raises(ChainDataError, match=r"^cut\.csv: line \d+: file looks truncated: the last line has \d+ of 25"):
        load_chain(path)


def test_truncated_cboe_csv_is_reported_as_truncated(tmp_path, spx_path):
    text = spx_path.read_text()
    path = tmp_path / "cut_spx.csv"
    path.write_text(text[: 3 * len(text) // 4].rstrip("\n"))
    with pytest.raises(ChainDataError, match=r"^cut_spx\.csv: line \d+: .*truncated"):
        load_chain(path)


def test_truncated_json_is_reported_as_invalid_json(tmp_path):
    text = (FIXTURES / "deribit_book_summary_btc_response.json").read_text()
    path = tmp_path / "cut.json"
    path.write_text(text[: len(text) // 2])
    with pytest.raises(ChainDataError, match=r"^cut\.json: not valid JSON \(truncated\?\)"):
        load_chain(path)


def test_pandas_parser_errors_become_chain_data_errors_naming_the_file(tmp_path):
    path = tmp_path / "quotes.csv"
    path.write_text(
        "underlying,as_of,spot,expiry,strike,side,open_interest\n"
        'SPX,2024-01-05T15:00:00-05:00,4700,2024-01-19,4700,C,"100\n'
    )
    with pytest.raises(ChainDataError, match=r"^quotes\.csv: cannot parse the table-csv file"):
        load_chain(path)


def test_table_written_from_a_cboe_chain_keeps_every_row(tmp_path, ndx_path):
    chain = load_chain(ndx_path)
    back = load_chain(write_table(chain, tmp_path / "ndx.csv"))
    assert len(back.rows) == len(chain.rows)
    pd.testing.assert_series_equal(back.rows["open_interest"], chain.rows["open_interest"])


def test_corrupt_parquet_becomes_a_chain_data_error_naming_the_file(tmp_path):
    path = tmp_path / "broken.parquet"
    path.write_bytes(b"PAR1" + bytes(range(200)) + b"PAR1")
    with pytest.raises(ChainDataError, match=r"^broken\.parquet: cannot parse the table-parquet file"):
        load_chain(path)


def test_deribit_csv_with_leading_blank_lines_still_names_the_right_line(tmp_path, deribit_book_summary_path):
    lines = deribit_book_summary_path.read_text().splitlines()
    lines[3] = lines[3].replace("BTC-12MAR24-68250-P", "BTC-12MAR24-68250-Q")
    path = tmp_path / "blank_first.csv"
    path.write_text("\n\n" + "\n".join(lines) + "\n")
    with pytest.raises(ChainDataError, match=r"^blank_first\.csv: line 6, field 'instrument_name'"):
        load_chain(path)


@pytest.mark.parametrize(("text", "shape"), [
    ("password,token\nhunter2,SECRET\n", "comma-separated text, 2 fields on its first line"),
    ("a;b;c\n1;2;3\n", "semicolon-separated text, 3 fields on its first line"),
    ("a\tb\n", "tab-separated text, 2 fields on its first line"),
    ('  {"client_secret": "s3"}', "a JSON object"),
    ('[{"k": 1}]', "a JSON array"),
    ("<!DOCTYPE html>\n<html><body>Sign in</body></html>", "an HTML page"),
    ("<?xml version='1.0'?><a/>", "XML or markup"),
    ("just some notes\n", "plain text"),
])
def test_an_unknown_file_says_what_its_start_looks_like_without_quoting_it(tmp_path, text, shape):
    """Issue 18: the banner redacts the quoted start of an unknown file (it may hold a secret) and said
    only "starts '…'": it now says what the start looks like, in words of its own."""
    path = tmp_path / "stray.txt"
    path.write_text(text)
    with pytest.raises(ChainDataError) as err:
        detect_format(path)
    assert err.value.reason.startswith(f"unknown format ({shape}, starts ")  # the excerpt: for the command line
    shown = public_reason(err.value)
    assert shown.startswith(f"unknown format ({shape}, starts '…')")
    for word in ("password", "hunter2", "SECRET", "client_secret", "s3", "Sign in", "notes"):
        assert word not in shown
