"""``mmpos backfill`` on local cores and on a Dask cluster, ``mmpos history`` and ``mmpos list --format json``."""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import time
from pathlib import Path

import pytest

from analytics.history import HistoryStore
from dashboard.backfill import backfill
from dashboard.cli import main

DAYS = ("2026-11-19", "2026-11-20")


def _folder(root: Path, demo_files: dict[str, Path]) -> Path:
    root.mkdir()
    names = [f"spx_quotedata_{d}.csv" for d in DAYS] + [f"btc_book_summary_{d}.json" for d in DAYS]
    for name in names + ["spx_table_2026-10-26.parquet", "spx_book_demo.csv"]:
        shutil.copy2(demo_files[name], root / name)
    (root / "notes.csv").write_text("this,is\nnot,a chain\n")
    return root


@pytest.fixture()
def data_dir(tmp_path, demo_files) -> Path:
    """Three SPX days (one a Parquet table), two BTC days, the SPX book and a broken file."""
    return _folder(tmp_path / "data", demo_files)


def _summaries(data_dir: Path) -> dict[str, object]:
    with HistoryStore(data_dir) as store:
        return dict(store.summaries(refresh=False)), dict(store.skipped())


@pytest.fixture(scope="module")
def filled(tmp_path_factory, demo_files):
    """The same folder backfilled in this process once for the module: the folder, the result and what the
    store holds. Tests that only read the filled store (``mmpos history``, ``mmpos list``) use the folder;
    none edits it."""
    root = _folder(tmp_path_factory.mktemp("ref") / "data", demo_files)
    result = backfill(root, workers=1)
    return root, result, _summaries(root)


@pytest.fixture(scope="module")
def in_process_result(filled):
    return filled[1:]


@pytest.fixture()
def filled_dir(filled) -> Path:
    return filled[0]


def _assert_same_store(got, want) -> None:
    (got_snaps, got_skipped), (want_snaps, want_skipped) = got, want
    assert sorted(got_snaps) == sorted(want_snaps) and got_skipped == want_skipped
    for rel, summary in want_snaps.items():
        assert got_snaps[rel].equals(summary, rtol=1e-12), rel


def test_an_in_process_backfill_summarises_every_snapshot_and_skips_the_rest(in_process_result):
    result, (snaps, skipped) = in_process_result
    assert (result.snapshots, result.skipped, result.engine) == (5, 2, "in process")
    assert len(snaps) == 5 and sorted(skipped) == ["notes.csv", "spx_book_demo.csv"]


@pytest.mark.slow  # starts worker processes that import the engine
def test_a_process_pool_fills_the_same_store_as_one_process(data_dir, in_process_result):
    done = []
    result = backfill(data_dir, workers=2, progress=lambda i, n: done.append((i, n)))
    assert result.engine == "2 local processes" and result.snapshots == 5
    assert done == [(i, 7) for i in range(1, 8)]
    _assert_same_store(_summaries(data_dir), in_process_result[1])


@pytest.mark.slow  # starts a local dask cluster
def test_a_dask_local_cluster_fills_the_same_store_as_one_process(data_dir, in_process_result):
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False,
                                  dashboard_address=None) as cluster:
        result = backfill(data_dir, scheduler=cluster.scheduler_address)
    assert result.engine.startswith("dask") and result.snapshots == 5 and result.skipped == 2
    _assert_same_store(_summaries(data_dir), in_process_result[1])


def test_a_second_backfill_has_nothing_to_do(data_dir):
    backfill(data_dir, workers=1)
    again = backfill(data_dir, workers=2)
    assert (again.summarised, again.snapshots) == (0, 0)


def test_a_backfill_keeps_its_progress_in_the_store_while_it_runs(data_dir):
    seen = []

    def look(done, total):  # what another process (the page) reads from the store at that moment
        with HistoryStore(data_dir) as other:
            seen.append(other.backfill())

    backfill(data_dir, workers=1, progress=look)
    assert [(p.done, p.total) for p in seen] == [(i, 7) for i in range(1, 8)]
    assert all(p.pid == os.getpid() and not p.finished and p.is_running(time.time()) for p in seen)
    with HistoryStore(data_dir) as store:
        final = store.backfill()
    assert (final.done, final.total, final.finished) == (7, 7, True) and not final.is_running(time.time())


def test_an_interrupted_backfill_marks_its_progress_finished(data_dir):
    def stop(done, total):
        if done == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        backfill(data_dir, workers=1, progress=stop)
    with HistoryStore(data_dir) as store:
        row = store.backfill()
        assert (row.done, row.total, row.finished) == (2, 7, True)
        assert len(store.stale()) == 5  # what it finished is kept


def test_the_backfill_command_reports_what_it_did(data_dir, capsys):
    assert main(["backfill", "--data-dir", str(data_dir), "--workers", "1", "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "summarised 5 snapshot(s), 2 other file(s)" in out and str(data_dir / ".mmpos") in out


def test_the_backfill_command_rejects_zero_workers(data_dir, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["backfill", "--data-dir", str(data_dir), "--workers", "0"])
    assert exc.value.code == 2 and "at least 1" in capsys.readouterr().err


def test_history_json_gives_key_levels_oldest_first(filled_dir, capsys):
    assert main(["history", "spx", "--data-dir", str(filled_dir)]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["as_of"][:10] for r in rows] == ["2026-10-26", *DAYS]
    first = rows[0]
    for key in ("spot", "total_gex_usd_per_1pct", "zero_gamma_levels", "call_wall", "put_wall_3_gex_usd_per_1pct",
                "net_vega_usd_per_vol_pt", "hedge_flow_usd_m5pct", "hedge_flow_units_p1pct"):
        assert key in first
    assert isinstance(first["zero_gamma_levels"], list) and first["put_wall_gex_usd_per_1pct"] < 0


def test_history_csv_has_a_header_and_one_line_per_snapshot(filled_dir, capsys):
    assert main(["history", "BTC", "--data-dir", str(filled_dir), "--format", "csv", "--last", "1"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert len(rows) == 1 and rows[0]["file"] == "btc_book_summary_2026-11-20.json"
    assert float(rows[0]["spot"]) > 0


def test_history_of_an_unknown_underlying_is_a_readable_error(filled_dir, capsys):
    assert main(["history", "NDX", "--data-dir", str(filled_dir)]) == 2
    assert "no snapshot of 'NDX'" in capsys.readouterr().err


def test_list_json_describes_snapshots_books_and_broken_files(filled_dir, capsys):
    assert main(["list", "--data-dir", str(filled_dir), "--format", "json"]) == 0
    records = json.loads(capsys.readouterr().out)
    by_file = {r["file"]: r for r in records}
    spx = by_file["spx_quotedata_2026-11-20.csv"]
    assert spx["id"] == "spx-20261120-1615" and spx["status"] == "snapshot" and spx["source_kind"] == "cboe"
    assert spx["as_of"] == "2026-11-20T16:15:00-05:00" and spx["rows"] > 1000 and spx["expiries"] > 20
    assert spx["spot"] > 0 and spx["error"] is None
    assert by_file["btc_book_summary_2026-11-19.json"]["source_kind"] == "deribit-book-summary"
    assert by_file["spx_book_demo.csv"]["status"] == "book"
    broken = by_file["notes.csv"]
    assert broken["status"] == "broken" and broken["error"] and broken["underlying"] is None
    assert by_file["spx_table_2026-10-26.parquet"]["source_kind"] == "table-parquet"
    assert [r["status"] for r in records] == ["snapshot"] * 5 + ["book", "broken"]
