"""The history store: summaries keyed by file version, lazily filled, rebuilt when broken, never the truth."""

from __future__ import annotations

import dataclasses
import os
import shutil
import sqlite3
import subprocess
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analytics import history as hist
from analytics.errors import ChainDataError
from analytics.history import BackfillProgress, HistoryStore
from analytics.report import analyze
from analytics.sources import load_chain
from analytics.summary import summarize_chain

SPX_DAYS = ("2026-11-18", "2026-11-19", "2026-11-20")


def _make_data_dir(root: Path, demo_files) -> Path:
    root.mkdir()
    for name in [f"spx_quotedata_{d}.csv" for d in SPX_DAYS] + ["btc_book_summary_2026-11-20.json",
                                                               "spx_book_demo.csv"]:
        shutil.copy2(demo_files[name], root / name)
    (root / "notes.csv").write_text("this,is\nnot,a chain\n")
    return root


@pytest.fixture()
def data_dir(tmp_path, demo_files) -> Path:
    """Three SPX days, one BTC day, the SPX book and a broken file; no store yet (tests that edit the
    folder or the store, or watch it being filled)."""
    return _make_data_dir(tmp_path / "data", demo_files)


@pytest.fixture(scope="module")
def synced_dir(tmp_path_factory, demo_files) -> Path:
    """The same folder with its store filled once for the module: for tests that only query the store
    (each would otherwise summarise the six files again, ~0.6 s). Not to be edited."""
    root = _make_data_dir(tmp_path_factory.mktemp("history") / "data", demo_files)
    with HistoryStore(root) as store:
        store.sync()
    return root


def test_the_first_query_summarises_every_snapshot_into_a_store_inside_the_data_folder(data_dir):
    with HistoryStore(data_dir) as store:
        frame = store.history("SPX")
        assert store.store_dir == data_dir / ".mmpos" and store.note is None
    assert (data_dir / ".mmpos" / "history.sqlite").is_file()
    assert len(list((data_dir / ".mmpos" / "strikes").glob("*.parquet"))) == 4  # 3 SPX + 1 BTC
    assert [t.date().isoformat() for t in frame["as_of"]] == list(SPX_DAYS)  # oldest first
    assert frame["file"].tolist() == [f"spx_quotedata_{d}.csv" for d in SPX_DAYS]


def test_a_summary_holds_the_same_numbers_as_the_analysis(synced_dir):
    path = synced_dir / "spx_quotedata_2026-11-20.csv"
    chain = load_chain(path)
    result = analyze(chain)
    with HistoryStore(synced_dir) as store:
        s = store.get_or_compute(path)
    assert s.spot == chain.spot and s.total_gex_usd_per_1pct == pytest.approx(result.total_gex_usd_per_1pct)
    assert s.call_walls[0][0] == result.call_wall and s.put_walls[0][0] == result.put_wall
    assert list(s.zero_gamma_levels) == pytest.approx(result.zero_gamma_levels)
    assert s.net_vega_usd_per_vol_pt == pytest.approx(result.net_vega_usd_per_vol_pt)
    flows = dict((shock, usd) for shock, _, usd in s.hedge_flows)
    curve = result.hedge_curve.set_index("shock_pct")["hedge_flow_usd"]
    assert sorted(flows) == [-5.0, -2.0, -1.0, 1.0, 2.0, 5.0]
    assert all(flows[k] == pytest.approx(curve[k]) for k in flows)
    np.testing.assert_allclose(s.strike_gex[:, 2], result.by_strike["net_gex_usd_per_1pct"].to_numpy())
    assert [t[0] for t in s.term] == [d.isoformat() for d in result.term_structure["expiry"]]


def test_top_walls_are_the_three_strongest_strikes_of_each_side_strongest_first(synced_dir):
    with HistoryStore(synced_dir) as store:
        s = store.get_or_compute(synced_dir / "spx_quotedata_2026-11-20.csv")
    call = dict(zip(s.strikes, s.strike_gex[:, 0], strict=True))
    put = dict(zip(s.strikes, s.strike_gex[:, 1], strict=True))
    assert [k for k, _ in s.call_walls] == sorted(call, key=lambda k: -call[k])[:3]
    assert [k for k, _ in s.put_walls] == sorted(put, key=lambda k: put[k])[:3]
    assert all(g > 0 for _, g in s.call_walls) and all(g < 0 for _, g in s.put_walls)


def test_a_stored_summary_reads_back_equal_to_a_fresh_one(synced_dir):
    path = synced_dir / "spx_quotedata_2026-11-19.csv"
    with HistoryStore(synced_dir) as store:
        store.sync()
    with HistoryStore(synced_dir) as store:  # a new process would read the same file
        stored = store.get_or_compute(path)
    assert stored.equals(summarize_chain(load_chain(path)))


def test_positions_and_broken_files_are_remembered_with_their_reason_not_summarised(synced_dir):
    with HistoryStore(synced_dir) as store:
        store.sync()
        skipped = dict(store.skipped())
        assert store.stale() == []
    assert skipped["spx_book_demo.csv"] == "positions (book) file"
    assert "notes.csv" in skipped and skipped["notes.csv"]


def test_a_second_query_computes_nothing(data_dir):
    with HistoryStore(data_dir) as store:
        assert store.sync() == 6
        assert store.sync() == 0


def test_an_edited_file_is_summarised_again_and_its_old_arrays_removed(data_dir):
    path = data_dir / "spx_quotedata_2026-11-20.csv"
    with HistoryStore(data_dir) as store:
        store.sync()
        before = store.get_or_compute(path)
        old_arrays = set((data_dir / ".mmpos" / "strikes").glob("*.parquet"))
        # another day's chain saved under this name: a new version of the file
        shutil.copyfile(data_dir / "spx_quotedata_2026-11-18.csv", path)
        assert [fv.rel_path for fv in store.stale()] == ["spx_quotedata_2026-11-20.csv"]
        assert store.sync() == 1
        after = store.get_or_compute(path)
        new_arrays = set((data_dir / ".mmpos" / "strikes").glob("*.parquet"))
    assert after.as_of == pd.Timestamp("2026-11-18 16:15", tz="America/New_York") != before.as_of
    assert len(new_arrays) == len(old_arrays) and new_arrays != old_arrays


def test_a_touched_file_counts_as_a_new_version(data_dir):
    path = data_dir / "spx_quotedata_2026-11-19.csv"
    with HistoryStore(data_dir) as store:
        store.sync()
        st = path.stat()
        os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
        assert [fv.rel_path for fv in store.stale()] == ["spx_quotedata_2026-11-19.csv"]


def test_a_deleted_file_leaves_the_history(data_dir):
    with HistoryStore(data_dir) as store:
        assert len(store.history("SPX")) == 3
        (data_dir / "spx_quotedata_2026-11-19.csv").unlink()
        frame = store.history("SPX")
    assert frame["file"].tolist() == ["spx_quotedata_2026-11-18.csv", "spx_quotedata_2026-11-20.csv"]
    assert len(list((data_dir / ".mmpos" / "strikes").glob("*.parquet"))) == 3


def test_a_corrupt_database_is_moved_aside_and_rebuilt(data_dir):
    with HistoryStore(data_dir) as store:
        store.sync()
    db = data_dir / ".mmpos" / "history.sqlite"
    db.write_bytes(b"this is not a database" * 100)
    with HistoryStore(data_dir) as store:
        assert "moved aside" in store.note
        assert len(store.history("SPX")) == 3
    assert (data_dir / ".mmpos" / "history.sqlite.corrupt-1").read_bytes().startswith(b"this is not")
    assert sqlite3.connect(db).execute("SELECT count(*) FROM files").fetchone()[0] == 6


def test_a_missing_store_folder_or_array_file_is_rebuilt(data_dir):
    with HistoryStore(data_dir) as store:
        store.sync()
    for path in (data_dir / ".mmpos" / "strikes").glob("*.parquet"):
        path.unlink()
        break
    with HistoryStore(data_dir) as store:
        assert len(store.stale()) == 1
    shutil.rmtree(data_dir / ".mmpos")
    with HistoryStore(data_dir) as store:
        assert len(store.history("SPX")) == 3


def test_a_store_of_another_schema_version_is_dropped_and_rebuilt(data_dir, monkeypatch):
    with HistoryStore(data_dir) as store:
        store.sync()
    monkeypatch.setattr(hist, "SCHEMA_VERSION", hist.SCHEMA_VERSION + 1)
    with HistoryStore(data_dir) as store:
        assert len(store.stale()) == 6
        assert list((data_dir / ".mmpos" / "strikes").glob("*.parquet")) == []


def test_a_read_only_data_folder_keeps_the_store_in_memory_and_says_so(data_dir, monkeypatch):
    monkeypatch.delenv(hist.STATE_DIR_ENV, raising=False)
    monkeypatch.setattr(hist, "_writable_dir", lambda path: False)
    with HistoryStore(data_dir) as store:
        assert store.store_dir is None and hist.STATE_DIR_ENV in store.note
        assert len(store.history("SPX")) == 3
        assert store.sync() == 0
    assert not (data_dir / ".mmpos").exists()


def test_the_state_dir_variable_moves_the_store_out_of_the_data_folder(data_dir, tmp_path, monkeypatch):
    monkeypatch.setenv(hist.STATE_DIR_ENV, str(tmp_path / "state"))
    with HistoryStore(data_dir) as store:
        store.history("BTC")
        assert store.store_dir.parent == tmp_path / "state"
    assert not (data_dir / ".mmpos").exists()
    assert (store.store_dir / "history.sqlite").is_file()


def test_the_strike_matrix_spans_the_union_of_strikes_with_zeros_where_unlisted(synced_dir):
    with HistoryStore(synced_dir) as store:
        m = store.strike_matrix("SPX")
        summaries = [s for _, s in store.summaries("SPX")]
    assert m.net_gex.shape == (3, len(m.strikes)) and np.all(np.diff(m.strikes) > 0)
    assert [d.date().isoformat() for d in m.dates] == list(SPX_DAYS)
    for row, s in zip(m.net_gex, summaries, strict=True):
        listed = np.isin(m.strikes, s.strikes)
        np.testing.assert_array_equal(row[listed], s.strike_gex[:, 2])
        assert np.all(row[~listed] == 0)
    np.testing.assert_array_equal(m.spots, [s.spot for s in summaries])


def test_last_n_keeps_the_newest_snapshots(synced_dir):
    with HistoryStore(synced_dir) as store:
        assert store.history("spx", last_n=2)["file"].tolist() == [f"spx_quotedata_{d}.csv" for d in SPX_DAYS[1:]]
        assert len(store.strike_matrix("SPX", last_n=1).dates) == 1
        assert store.history("NDX").empty


def test_term_history_has_one_row_per_snapshot_and_expiry(synced_dir):
    with HistoryStore(synced_dir) as store:
        term = store.term_history("SPX")
        n_expiries = [len(s.term) for _, s in store.summaries("SPX")]
    assert len(term) == sum(n_expiries)
    assert list(term.columns) == ["as_of", "file", "expiry", "days_to_expiry", "atm_iv", "net_vega_usd_per_vol_pt"]
    assert term["atm_iv"].between(0.05, 1.0).mean() > 0.9


def test_a_window_holds_the_three_history_views_of_the_same_snapshots(synced_dir):
    with HistoryStore(synced_dir) as store:
        window = store.window("SPX", last_n=2)
        levels, term, matrix = store.history("SPX", 2), store.term_history("SPX", 2), store.strike_matrix("SPX", 2)
    files = [f"spx_quotedata_{d}.csv" for d in SPX_DAYS[1:]]
    pd.testing.assert_frame_equal(window.levels.drop(columns="snapshot_id"), levels)
    pd.testing.assert_frame_equal(window.term.drop(columns="snapshot_id"), term)
    np.testing.assert_array_equal(window.matrix.net_gex, matrix.net_gex)
    assert window.snapshot_ids == files and window.conventions == ("dealer-long-calls",) and not window.empty
    named = window.named({files[1]: "spx-newest"})
    assert named.snapshot_ids == [files[0], "spx-newest"]
    assert set(named.term["snapshot_id"]) == {files[0], "spx-newest"}


def test_the_backfill_row_tells_a_running_backfill_from_a_dead_or_silent_one(data_dir):
    now = time.time()
    with HistoryStore(data_dir) as store:
        assert store.backfill() is None  # no backfill ever ran here
        row = dataclasses.replace(BackfillProgress.start(total=9, now=now), done=4)
        store.record_backfill(row)
        assert store.backfill() == row and row.is_running(now + 1)
    gone = subprocess.Popen(["true"])
    gone.wait()
    assert not dataclasses.replace(row, pid=gone.pid).is_running(now + 1)  # killed: it never said it finished
    elsewhere = dataclasses.replace(row, host="another-machine", pid=gone.pid)
    assert elsewhere.is_running(now + hist.BACKFILL_STALE_SECONDS - 1)  # another machine's pid is not checked
    assert not elsewhere.is_running(now + hist.BACKFILL_STALE_SECONDS + 1)  # silent too long: taken as dead
    assert not dataclasses.replace(row, finished=True).is_running(now + 1)


def test_a_file_outside_the_data_folder_is_refused(synced_dir, demo_files):
    with HistoryStore(synced_dir) as store, pytest.raises(ChainDataError, match="not inside the data directory"):
        store.get_or_compute(demo_files["spx_quotedata_2026-11-16.csv"])
