"""The data catalog: what a data directory holds, stable ids, broken files, the mtime-keyed cache."""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest

from analytics import catalog as cat
from analytics.catalog import (
    format_catalog,
    load_entry,
    load_path_cached,
    resolve,
    scan_catalog,
)
from analytics.demo import DEMO_DAYS
from analytics.errors import ChainDataError


@pytest.fixture()
def data_dir(tmp_path, demo_files) -> Path:
    """Two SPX days, two BTC days, the SPX book, a broken file, a README and a dotfile."""
    root = tmp_path / "data"
    root.mkdir()
    for name in ("spx_quotedata_2026-11-16.csv", "spx_quotedata_2026-11-17.csv", "btc_table_2026-11-16.parquet",
                 "btc_table_2026-11-18.parquet", "spx_book_demo.csv"):
        shutil.copy(demo_files[name], root / name)
    (root / "notes.csv").write_text("this,is\nnot,a chain\n")
    (root / "README.md").write_text("# about this folder\n")
    (root / ".partial.csv").write_text("junk")
    return root


def test_snapshots_are_listed_newest_first(data_dir):
    catalog = scan_catalog(data_dir)
    snaps = catalog.snapshots()
    assert [e.id for e in snaps] == [
        "btc-20261118-1400", "spx-20261117-1615", "spx-20261116-1615", "btc-20261116-1400",
    ]
    assert [e.as_of for e in snaps] == sorted((e.as_of for e in snaps), reverse=True)
    assert [e.id for e in catalog.snapshots("spx")] == ["spx-20261117-1615", "spx-20261116-1615"]
    assert list(catalog.entries[:4]) == snaps


def test_entries_describe_each_snapshot(data_dir):
    entry = scan_catalog(data_dir).get("spx-20261116-1615")
    assert entry.path == (data_dir / "spx_quotedata_2026-11-16.csv").resolve()
    assert entry.format == "cboe" and entry.underlying == "SPX" and not entry.broken
    assert entry.as_of == pd.Timestamp("2026-11-16 16:15", tz="America/New_York")
    chain = load_entry(entry)
    assert entry.spot == chain.spot and entry.n_rows == len(chain.rows) and entry.n_expiries == len(chain.expiries)


def test_ids_survive_rescans_renames_and_listing_order(data_dir, tmp_path):
    first = {e.id for e in scan_catalog(data_dir).snapshots()}
    assert {e.id for e in scan_catalog(data_dir).snapshots()} == first
    other = tmp_path / "renamed"
    other.mkdir()
    for i, path in enumerate(sorted(data_dir.iterdir(), reverse=True)):
        shutil.copy(path, other / f"{i:02d}_{path.name}")
    assert {e.id for e in scan_catalog(other).snapshots()} == first


def test_two_files_of_one_snapshot_get_distinct_ids_whatever_order_they_are_added_in(data_dir):
    shutil.copy(data_dir / "spx_quotedata_2026-11-16.csv", data_dir / "zz_copy.csv")
    ids = {e.path.name: e.id for e in scan_catalog(data_dir).snapshots("SPX")}
    assert ids["spx_quotedata_2026-11-16.csv"] == "spx-20261116-1615"
    assert ids["zz_copy.csv"].startswith("spx-20261116-1615-") and len(ids["zz_copy.csv"]) == len("spx-20261116-1615") + 7
    again = {e.path.name: e.id for e in scan_catalog(data_dir).snapshots("SPX")}
    assert again == ids


def test_a_broken_file_is_listed_with_its_reason_and_the_rest_still_load(data_dir):
    catalog = scan_catalog(data_dir)
    broken = catalog.broken()
    assert [e.path.name for e in broken] == ["notes.csv"]
    assert broken[0].broken and broken[0].id == "file-notes-csv"
    assert "unknown format" in broken[0].error
    assert catalog.get("file-notes-csv") is broken[0]
    with pytest.raises(ChainDataError, match="unknown format"):
        load_entry(broken[0])
    assert all(len(load_entry(e).rows) > 0 for e in catalog.snapshots())


def test_a_truncated_chain_is_broken_with_the_line(data_dir):
    text = (data_dir / "spx_quotedata_2026-11-17.csv").read_text()
    (data_dir / "cut.csv").write_text(text[: len(text) // 3])
    entry = next(e for e in scan_catalog(data_dir).broken() if e.path.name == "cut.csv")
    assert entry.format == "cboe" and "line" in entry.error and "cut.csv" not in entry.error


def test_readme_and_dotfiles_are_skipped(data_dir):
    names = {e.path.name for e in scan_catalog(data_dir)}
    assert "README.md" not in names and ".partial.csv" not in names


def test_book_files_are_listed_apart_from_snapshots(data_dir):
    catalog = scan_catalog(data_dir)
    book = catalog.book_for("SPX")
    assert book is not None and book.is_book and book.path.name == "spx_book_demo.csv"
    assert book.id == "book-spx-book-demo-csv" and book.n_rows == 8
    assert catalog.book_for("spx") == book
    assert catalog.book_for("BTC") is None
    assert book not in catalog.snapshots() and book not in catalog.broken()
    assert catalog.underlyings() == ["BTC", "SPX"]
    with pytest.raises(ChainDataError, match="positions"):
        load_entry(book)


def test_underlyings_only_counts_good_snapshots(tmp_path, demo_files):
    shutil.copy(demo_files["spx_book_demo.csv"], tmp_path / "book.csv")
    (tmp_path / "bad.json").write_text('{"jsonrpc": "2.0", "result": [')
    catalog = scan_catalog(tmp_path)
    assert catalog.underlyings() == []
    assert catalog.snapshots() == [] and catalog.latest() is None


def test_an_unknown_id_gets_no_entry(data_dir):
    assert scan_catalog(data_dir).get("no-such-id") is None


def test_loading_is_cached_until_the_file_changes(data_dir):
    path = data_dir / "spx_quotedata_2026-11-16.csv"
    first = load_path_cached(path, root=data_dir)  # a file of the folder, read confined to it
    assert load_path_cached(path, root=data_dir) is first
    entry = scan_catalog(data_dir).get("spx-20261116-1615")
    assert load_entry(entry) is first  # a rescan reuses the cache
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))  # touch
    reloaded = load_path_cached(path, root=data_dir)
    assert reloaded is not first
    assert reloaded.rows.equals(first.rows)
    assert load_entry(entry) is reloaded  # an entry from before the touch gets the fresh chain


def test_rescanning_reads_no_file_again(data_dir):
    scan_catalog(data_dir)
    before = cat.cache_info()
    scan_catalog(data_dir)
    after = cat.cache_info()
    assert after.misses == before.misses and after.hits > before.hits


def test_resolve_accepts_an_id_a_path_or_a_name_in_the_data_dir(data_dir, tmp_path):
    target = (data_dir / "btc_table_2026-11-18.parquet").resolve()
    assert resolve("btc-20261118-1400", data_dir) == target
    assert resolve(str(target), data_dir) == target
    assert resolve(target, tmp_path / "elsewhere") == target
    assert resolve("btc_table_2026-11-18.parquet", data_dir) == target
    with pytest.raises(ChainDataError, match="no such file or catalog id 'spx-19990101-0000'"):
        resolve("spx-19990101-0000", data_dir)


def test_the_list_table_shows_every_snapshot_the_book_and_broken_reasons(data_dir):
    text = format_catalog(scan_catalog(data_dir))
    lines = text.splitlines()
    assert lines[0].split() == ["id", "underlying", "snapshot", "spot", "expiries", "rows", "file"]
    assert lines[1].startswith("btc-20261118-1400")
    assert "2026-11-16 16:15 EST" in text and "spx_quotedata_2026-11-16.csv" in text
    assert "book-spx-book-demo-csv" in text
    assert "notes.csv: unknown format" in text


def test_default_data_dir_reads_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("MMPOS_DATA_DIR", str(tmp_path))
    assert cat.default_data_dir() == tmp_path
    monkeypatch.delenv("MMPOS_DATA_DIR")
    assert cat.default_data_dir() == Path(cat.__file__).resolve().parents[1] / "data"


def test_a_missing_data_dir_is_a_readable_error(tmp_path):
    with pytest.raises(ChainDataError, match="data directory not found"):
        scan_catalog(tmp_path / "nope")


@pytest.mark.slow  # many seconds of a core: make test runs it, make test-fast leaves it out
def test_the_project_data_dir_lists_the_demo_month():
    catalog = scan_catalog(Path(cat.__file__).resolve().parents[1] / "data")
    assert catalog.underlyings() == ["BTC", "SPX"]
    # the month, and the intraday demo in data/intraday/ (the SPX session; the BTC day beside its 14:00 daily file)
    from analytics.demo_intraday import btc_day_times, spx_session_times

    assert len(catalog.snapshots("SPX")) == len(DEMO_DAYS) + len(spx_session_times()) == 20 + 78
    assert len(catalog.snapshots("BTC")) == len(DEMO_DAYS) + len(btc_day_times()) == 20 + 95
    assert sum(e.rel.startswith("intraday/") for e in catalog.snapshots()) == 78 + 95
    # the newest snapshot of each underlying is still the daily file (many tests name it)
    assert catalog.latest("SPX").rel == "spx_quotedata_2026-11-20.csv"
    assert catalog.latest("BTC").rel == "btc_book_summary_2026-11-20.json"
    assert catalog.broken() == [] and catalog.book_for("SPX") is not None


# --------------------------------------------------------------------------- hostile folders


@pytest.fixture()
def unreadable(monkeypatch):
    """Make files unreadable: ``chmod 000``, and (root ignores modes) a PermissionError on open (every
    input file is opened by ``os.open`` in analytics.sources.common.read_input)."""
    blocked: set[str] = set()
    real_open = os.open

    def guarded_open(path, *args, **kwargs):
        if os.path.realpath(path) in blocked:
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(os, "open", guarded_open)

    def make(path: Path) -> Path:
        path.chmod(0)
        blocked.add(str(path.resolve()))
        return path

    yield make
    for path in blocked:
        Path(path).chmod(0o644)


def test_an_unreadable_file_is_one_broken_entry_and_every_other_file_still_loads(data_dir, unreadable):
    unreadable(data_dir / "spx_quotedata_2026-11-16.csv")
    catalog = scan_catalog(data_dir)
    assert catalog.underlyings() == ["BTC", "SPX"]
    assert [e.id for e in catalog.snapshots("SPX")] == ["spx-20261117-1615"]
    entry = next(e for e in catalog.broken() if e.rel == "spx_quotedata_2026-11-16.csv")
    assert entry.error == "cannot read the file (Permission denied)"
    assert str(data_dir) not in entry.error
    assert "spx_quotedata_2026-11-16.csv: cannot read the file" in format_catalog(catalog)


def test_a_link_pointing_outside_the_data_folder_is_refused_unopened(data_dir, tmp_path):
    secret = tmp_path / "outside" / "passwd"
    secret.parent.mkdir()
    secret.write_text("root:x:0:0:root:/root:/bin/bash\n")
    (data_dir / "passwd.csv").symlink_to(secret)
    (data_dir / "etc").symlink_to(secret.parent, target_is_directory=True)
    (data_dir / "inside.csv").symlink_to(data_dir / "spx_quotedata_2026-11-17.csv")
    catalog = scan_catalog(data_dir)
    refused = {e.rel: e.error for e in catalog.broken()}
    assert refused["passwd.csv"] == refused["etc"] == "refused: a link that points outside the data folder"
    assert not any("root:" in (e.error or "") for e in catalog)
    assert {e.rel for e in catalog.snapshots("SPX")} >= {"inside.csv", "spx_quotedata_2026-11-17.csv"}


def test_a_secret_bearing_json_never_shows_its_content_in_the_reason(data_dir):
    secret = "s3cr3t-KEY-9f8e7d6c5b4a"
    payload = {"client_id": "desk-bot", "client_secret": secret, "note": 'it\'s "quoted"'}
    (data_dir / "api_key.json").write_text(json.dumps(payload))
    catalog = scan_catalog(data_dir)
    entry = next(e for e in catalog.broken() if e.rel == "api_key.json")
    assert secret not in entry.error and "client_id" not in entry.error and "desk-bot" not in entry.error
    assert entry.error.startswith("unknown format")
    assert secret not in format_catalog(catalog)


@pytest.mark.slow
def test_twenty_thousand_junk_files_are_scanned_once_and_summarised(tmp_path, demo_files):
    root = tmp_path / "junk"
    root.mkdir()
    shutil.copy(demo_files["spx_quotedata_2026-11-17.csv"], root / "spx.csv")
    for i in range(20_000):
        (root / f"junk_{i:05d}.txt").write_text("x")
    holder = cat.CatalogHolder(root, interval_s=0)
    catalog = holder.get()
    assert catalog.underlyings() == ["SPX"] and len(catalog.broken()) == 20_000
    summary = catalog.broken_summary(limit=3)
    assert [rel for rel, _ in summary.shown] == ["junk_00000.txt", "junk_00001.txt", "junk_00002.txt"]
    assert summary.n_more == 19_997 and summary.lines()[-1] == "... and 19,997 more"
    before = cat.cache_info()
    again = holder.get()  # rescans (interval 0) by stat only: no file is looked up again
    assert cat.cache_info().misses == before.misses and cat.cache_info().hits == before.hits
    assert [e.id for e in again] == [e.id for e in catalog]


def test_a_file_replaced_with_its_mtime_and_size_kept_gets_new_numbers(data_dir):
    path = data_dir / "spx_quotedata_2026-11-16.csv"
    old = scan_catalog(data_dir).get("spx-20261116-1615")
    st = path.stat()
    text = path.read_text()
    last = re.search(r"Last: (\d{4})\.(\d+),", text)
    assert last is not None and last.group(1)[1] != "9"
    bumped = f"Last: {int(last.group(1)) + 100}.{last.group(2)},"  # same size, spot + 100
    path.write_text(text.replace(last.group(0), bumped, 1))
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))  # what cp -p / rsync -t do
    assert path.stat().st_mtime_ns == st.st_mtime_ns and path.stat().st_size == st.st_size
    new = scan_catalog(data_dir).get("spx-20261116-1615")
    assert new.version != old.version
    assert new.spot == pytest.approx(old.spot + 100) and load_entry(new).spot == new.spot


def test_the_holder_rescans_only_when_its_interval_has_passed(data_dir, demo_files):
    now = [0.0]
    holder = cat.CatalogHolder(data_dir, interval_s=2.0, clock=lambda: now[0])
    first = holder.get()
    shutil.copy(demo_files["spx_quotedata_2026-11-18.csv"], data_dir / "new.csv")
    now[0] = 1.9
    assert holder.get() is first and holder.scans == 1
    now[0] = 2.0
    assert "spx-20261118-1615" in {e.id for e in holder.get().snapshots()} and holder.scans == 2


def test_a_removed_data_folder_is_not_ready_and_comes_back_when_restored(data_dir, tmp_path):
    holder = cat.CatalogHolder(data_dir, interval_s=0)
    assert holder.readiness()[0] and holder.get().underlyings() == ["BTC", "SPX"]
    aside = tmp_path / "aside"
    data_dir.rename(aside)
    ready, reason = holder.readiness()
    assert not ready and reason.startswith("data directory not found")
    with pytest.raises(ChainDataError, match="data directory not found"):
        holder.get()
    aside.rename(data_dir)
    assert holder.readiness()[0] and holder.get().underlyings() == ["BTC", "SPX"]


def test_one_holder_per_folder_and_process(data_dir):
    holder = cat.holder_for(data_dir)
    assert cat.holder_for(str(data_dir) + "/.") is holder and holder.interval_s == cat.RESCAN_INTERVAL_S
    assert cat.holder_for(data_dir, interval_s=5) is holder and holder.interval_s == 5
    cat.forget_holders()
    assert cat.holder_for(data_dir) is not holder
