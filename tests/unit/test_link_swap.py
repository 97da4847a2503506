"""Files are read as they were checked: a link inside the data folder that is pointed outside after a scan
is refused at the read, never read (issue #17: a swap between scan and read leaked the outside file)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from analytics import catalog_files as cat
from analytics.catalog import load_entry, scan_catalog
from analytics.errors import ChainDataError
from analytics.history import HistoryStore
from analytics.sources.common import confined_to, read_input

INSIDE = "spx_quotedata_2026-11-16.csv"
OUTSIDE = "spx_quotedata_2026-11-17.csv"  # another day: another spot, so a leak shows in the numbers


@pytest.fixture()
def swap(tmp_path, demo_files):
    """A data folder whose ``link.csv`` points at a file inside it, and an outside file to swap it to."""
    cat.clear_cache()
    root = tmp_path / "data"
    root.mkdir()
    shutil.copy(demo_files[INSIDE], root / "day.csv")
    outside = tmp_path / "outside"
    outside.mkdir()
    shutil.copy(demo_files[OUTSIDE], outside / "secret.csv")
    (root / "link.csv").symlink_to(root / "day.csv")
    yield root, outside / "secret.csv"
    cat.clear_cache()


def _point(link: Path, target: Path) -> None:
    tmp = link.with_name(".swap")
    tmp.symlink_to(target)
    os.replace(tmp, link)  # atomic, as an attacker would do it


def test_a_link_inside_pointing_inside_is_read(swap):
    root, _ = swap
    entry = next(e for e in scan_catalog(root).snapshots() if e.rel == "link.csv")
    assert load_entry(entry).spot == entry.spot


def test_a_link_swapped_outside_after_the_scan_is_refused_at_the_read_not_read(swap):
    root, secret = swap
    entry = next(e for e in scan_catalog(root).snapshots() if e.rel == "link.csv")
    cat.clear_cache()  # the view's process has not read the file yet (another worker)
    _point(root / "link.csv", secret)
    with pytest.raises(ChainDataError, match="not inside the data folder"):
        load_entry(entry)


def test_the_service_view_path_refuses_the_swapped_link_too(swap):
    from dashboard import service

    root, secret = swap
    entry = next(e for e in scan_catalog(root).snapshots() if e.rel == "link.csv")
    cat.clear_cache()
    _point(root / "link.csv", secret)
    with pytest.raises(ChainDataError, match="not inside the data folder"):
        service.load_chain(entry)
    with pytest.raises(ChainDataError, match="not inside the data folder"):
        service.facts_for(entry)


def test_the_history_store_refuses_a_link_swapped_outside_between_listing_and_reading(swap, tmp_path, monkeypatch):
    root, secret = swap
    store = HistoryStore(root, tmp_path / "history")
    listed = store.stale

    def stale_then_swap():
        todo = listed()
        _point(root / "link.csv", secret)  # after the listing and its stat, before the read
        return todo

    monkeypatch.setattr(store, "stale", stale_then_swap)
    assert store.sync() == 2
    kept = dict(store.summaries(refresh=False))
    assert set(kept) == {"day.csv"}
    assert dict(store.skipped())["link.csv"].endswith("not inside the data folder (a link changed since the scan?)")


def test_the_reader_refuses_a_file_outside_the_confinement_and_another_inode(tmp_path):
    inside, outside = tmp_path / "in", tmp_path / "out"
    inside.mkdir()
    outside.mkdir()
    (inside / "a.csv").write_text("a,b\n1,2\n")
    (outside / "b.csv").write_text("secret\n")
    (inside / "b.csv").symlink_to(outside / "b.csv")
    with confined_to(inside):
        assert read_input(inside / "a.csv") == b"a,b\n1,2\n"
        with pytest.raises(ChainDataError, match="not inside the data folder"):
            read_input(inside / "b.csv")
    with confined_to(inside, inode=os.stat(inside / "a.csv").st_ino + 1), pytest.raises(ChainDataError,
                                                                                        match="not the file"):
        read_input(inside / "a.csv")
    assert read_input(inside / "b.csv") == b"secret\n"  # no confinement: the CLI reads what it is given


def test_a_file_replaced_between_its_stat_and_its_read_is_not_cached_under_the_old_version(swap):
    root, _ = swap
    path = root / "day.csv"
    key = cat._file_key(path, root)  # what the scan or the view stat'ed
    shutil.copy(path, root / ".new")
    os.replace(root / ".new", path)  # another inode under the same name, before the read
    loaded = cat._load_uncached(key)
    assert loaded.chain is None and "not the file that was checked" in loaded.error.reason
    assert load_entry(next(e for e in scan_catalog(root).snapshots() if e.rel == "day.csv")).spot > 0  # next scan
