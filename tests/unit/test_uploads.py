"""A dropped file (dashboard.uploads): the loaders' checks, a generated name inside the data folder,
never an overwrite, and refusals that show neither content nor paths."""

from __future__ import annotations

import dataclasses
import datetime as dt
import doctest
import os
import re
from pathlib import Path

import pytest

from analytics.catalog import holder_for
from analytics.errors import ChainDataError
from analytics.sources import common
from dashboard import service, uploads
from dashboard.uploads import store_bytes
from dashboard.web.callbacks import upload as upload_callback

TODAY = dt.date(2026, 11, 30)


def files(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}


@pytest.fixture
def folder(tmp_path) -> Path:
    out = tmp_path / "data"
    out.mkdir()
    return out


def test_a_real_deribit_file_is_stored_under_a_generated_name_and_listed(folder, shared_data):
    raw = (shared_data / "deribit_btc_ticker_greeks_2026-02-28_tessicin.csv").read_bytes()
    result = store_bytes(raw, folder, today=TODAY)
    assert result.ok and result.underlying == "BTC", result
    assert re.fullmatch(r"upload-20261130-[0-9a-f]{16}\.csv", result.name)
    assert files(folder) == {result.name} and (folder / result.name).read_bytes() == raw
    assert holder_for(folder).get().get(result.entry_id) is not None


def test_the_same_content_twice_is_stored_once(folder, shared_data):
    raw = (shared_data / "deribit_btc_ticker_greeks_2026-02-28_tessicin.csv").read_bytes()
    first = store_bytes(raw, folder, today=TODAY)
    again = store_bytes(raw, folder, today=TODAY + dt.timedelta(days=1))
    assert again.ok and again.name == first.name and "already in the data folder" in again.message
    assert files(folder) == {first.name}


def test_an_existing_file_is_never_replaced(folder, shared_data, monkeypatch):
    raw = (shared_data / "deribit_btc_ticker_greeks_2026-02-28_tessicin.csv").read_bytes()
    monkeypatch.setattr(uploads, "_already_stored", lambda root, digest, raw: None)  # the name is taken anyway
    first = store_bytes(raw, folder, today=TODAY)
    (folder / first.name).write_bytes(b"the desk's own edit")
    assert store_bytes(raw, folder, today=TODAY).name == first.name
    assert (folder / first.name).read_bytes() == b"the desk's own edit"


def test_a_parquet_table_keeps_its_extension(folder, demo_dir):
    raw = sorted(demo_dir.glob("spx_table_*.parquet"))[0].read_bytes()
    result = store_bytes(raw, folder, today=TODAY)
    assert result.ok and result.name.endswith(".parquet") and result.underlying == "SPX"


@pytest.mark.parametrize(("raw", "reason"), [
    (bytes(range(256)) * 8, "binary content, not a text file"),
    (b"password,token\nhunter2,SECRET-TOKEN-123\n",
     "unknown format (comma-separated text, 2 fields on its first line, starts '…')"),
    (b'{"api_key": "sk-live-0123456789abcdef"}', "unknown format (a JSON object, starts '…')"),
])
def test_hostile_content_is_refused_without_showing_it_and_nothing_is_written(folder, raw, reason):
    result = store_bytes(raw, folder, today=TODAY)
    assert not result.ok and result.message.startswith(f"refused ({len(raw):,} bytes): {reason}")
    for leak in ("hunter2", "SECRET", "sk-live", "password", str(folder)):
        assert leak not in result.message
    assert files(folder) == set()


def test_a_file_over_the_size_limit_gets_the_loaders_message(folder, monkeypatch):
    monkeypatch.setattr(common, "MAX_FILE_BYTES", 1024)
    raw = b"x" * 2048
    with pytest.raises(ChainDataError) as cli_error:  # what `mmpos analyze` says about such a file
        common.checked_size(_written(folder.parent / "big.csv", raw))
    result = store_bytes(raw, folder, today=TODAY)
    assert not result.ok and result.message == f"refused (2,048 bytes): {cli_error.value.reason}"
    assert files(folder) == set()


def _written(path: Path, raw: bytes) -> Path:
    path.write_bytes(raw)
    return path


@pytest.fixture
def read_only(folder, tmp_path, monkeypatch) -> Path:
    """``folder`` refuses new files (as a read-only mount would; tests run as root, so chmod would not);
    session folders go to a temporary state folder."""
    write = uploads._write_hidden

    def refuse_in_folder(root: Path, raw: bytes) -> tuple[Path, int]:
        if root == folder.resolve():
            raise PermissionError(13, "Permission denied")
        return write(root, raw)

    monkeypatch.setattr(uploads, "_write_hidden", refuse_in_folder)
    monkeypatch.setenv("MMPOS_STATE_DIR", str(tmp_path / "state"))
    return folder


def test_a_read_only_folder_keeps_the_file_for_the_session_and_lists_it(read_only, shared_data):
    raw = (shared_data / "deribit_btc_ticker_greeks_2026-02-28_tessicin.csv").read_bytes()
    result = store_bytes(raw, read_only, today=TODAY)
    assert result.ok and "kept for this session only" in result.message, result
    assert files(read_only) == set()
    session = uploads.session_dir(read_only)
    assert files(session) == {result.name} and str(session).startswith(os.environ["MMPOS_STATE_DIR"])
    catalog = service.get_catalog(read_only)
    assert result.entry_id.startswith("session-") and catalog.get(result.entry_id).path == session / result.name
    assert catalog.underlyings() == ["BTC"]
    again = store_bytes(raw, read_only, today=TODAY)
    assert again.ok and "already in this session's uploads" in again.message and files(session) == {result.name}


def test_a_read_only_folder_refuses_bad_files_the_same_way(read_only):
    bad = store_bytes(b"\x00\x01junk", read_only, today=TODAY)
    assert bad.message.startswith("refused (6 bytes): binary content") and files(read_only) == set()
    assert files(uploads.session_dir(read_only)) == set()


def test_another_server_run_does_not_list_the_last_runs_session_uploads(read_only, shared_data, monkeypatch):
    raw = (shared_data / "deribit_btc_ticker_greeks_2026-02-28_tessicin.csv").read_bytes()
    assert store_bytes(raw, read_only, today=TODAY).ok
    monkeypatch.setattr(os, "getpgrp", lambda: -1)
    assert service.get_catalog(read_only).underlyings() == []


def test_the_upload_callback_opens_a_stored_snapshot_and_keeps_the_rest_of_the_view(folder, shared_data):
    raw = (shared_data / "deribit_btc_ticker_greeks_2026-02-28_tessicin.csv").read_bytes()
    stored = store_bytes(raw, folder, today=TODAY)  # what the upload route does, then answers
    reply = {"status": 200, "size": len(raw), "body": dataclasses.asdict(stored)}
    banner, search = upload_callback.upload(reply, {"u": "SPX", "conv": "dealer-short-all"})
    assert "File added" in str(banner)
    assert "u=BTC" in search and "conv=dealer-short-all" in search and "snap=btc-" in search


def test_doctests():
    assert doctest.testmod(uploads).failed == 0


def test_a_hidden_file_swapped_for_a_link_before_its_check_is_refused_and_not_stored(folder, tmp_path, shared_data,
                                                                                    monkeypatch):
    raw = (shared_data / "deribit_btc_ticker_greeks_2026-02-28_tessicin.csv").read_bytes()
    secret = tmp_path / "outside.csv"
    secret.write_bytes(raw)  # a chain the loaders accept, outside the data folder
    write = uploads._write_hidden

    def write_then_swap(root: Path, data: bytes) -> tuple[Path, int]:
        hidden, inode = write(root, data)
        hidden.unlink()
        hidden.symlink_to(secret)  # what a writer of the folder could do between the write and the check
        return hidden, inode

    monkeypatch.setattr(uploads, "_write_hidden", write_then_swap)
    result = store_bytes(b"underlying,expiry\n", folder, today=TODAY)
    assert not result.ok and "not inside the data folder" in result.message, result
    assert files(folder) == set() and str(tmp_path) not in result.message
