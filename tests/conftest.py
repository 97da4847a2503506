"""Shared fixtures for every test layer: the committed demo data and the real files in ../shared/data.

Both are read in place, never copied or regenerated: ``demo_data_dir`` is the committed ``data/`` folder
(``tests/unit/test_demo_data.py`` checks it is what the generator writes). ``demo_dir`` is its demo month
alone (the files at its top, hard-linked into one folder per test session, without the 173 intraday
snapshots of ``data/intraday/``): what most tests were written against, and a catalog of 41 files,
which fits the catalog's load cache (a fresh scan of all of ``data/`` loads 214 files every time).
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DEMO_DATA = ROOT / "data"
SHARED_DATA = ROOT.parent / "shared" / "data"

# No test reads or writes the user's shared results cache (~/.cache/mmpos): analyses are computed
# in each process, as each test expects. Tests of the shared cache turn it on with their own folder
# or redis-server (dashboard.service.use_shared_cache, or MMPOS_SHARED_CACHE=on in a subprocess).
os.environ["MMPOS_SHARED_CACHE"] = "off"
# Nor the user's job and response folders beside it (~/.cache/mmpos.jobs, .responses): each test process
# (an xdist worker, or a suite another checkout runs at the same time) has its own. Dash keys a background
# job by its callback and arguments, so two processes showing the same view in one jobs folder would read
# (and consume) each other's results. Tests that need a folder of their own set MMPOS_CACHE_DIR again.
# A cold view's predicted cost is measured on this machine as it runs: on a loaded CI machine running two
# test processes, an ordinary view could be refused as over the 3 s request budget ("View not computed"),
# and a test waiting for its charts would fail. Tests of the budget set MMPOS_REQUEST_BUDGET_S themselves.
os.environ["MMPOS_REQUEST_BUDGET_S"] = "300"
os.environ["MMPOS_CACHE_DIR"] = _TEST_CACHE = tempfile.mkdtemp(prefix="mmpos-test-cache-")
atexit.register(shutil.rmtree, Path(_TEST_CACHE).parent / (Path(_TEST_CACHE).name + ".jobs"), ignore_errors=True)
atexit.register(shutil.rmtree, Path(_TEST_CACHE).parent / (Path(_TEST_CACHE).name + ".responses"), ignore_errors=True)
atexit.register(shutil.rmtree, _TEST_CACHE, ignore_errors=True)


FILE_LOADS_CACHE = "analytics.catalog.files"


def clear_caches_but_file_loads() -> None:
    """``service.clear_caches()`` but for this process's cache of loaded files (``analytics.catalog_files``,
    keyed on each file's content version, so never stale): catalogs, holders, analyses, preparations,
    figures and responses start from nothing, and the next test reading the demo month does not load its
    41 files again (about 3 s of a core). Tests of the file cache itself, or measuring a cold request's
    cost, use ``service.clear_caches()``."""
    from dashboard import service  # noqa: F401  (registers the analytics caches)
    from dashboard.runtime import caches

    for name in caches.registered():
        if name != FILE_LOADS_CACHE:
            caches.clear(name)


def copy_demo_files(src: Path, out: Path, *, intraday: bool = False, only: tuple[str, ...] = ()) -> list[Path]:
    """Copy the data files of ``src`` (the catalog's rule: ``analytics.catalog.data_files``) and its ADV
    file into ``out``; never a local history store (``data/.mmpos``, made by any ``mmpos serve``) or
    README. Only the files at the top of ``src`` (the demo month) unless ``intraday`` (then its
    subfolders too, ``intraday/`` kept as it is); with ``only`` (name patterns, ``fnmatch``), the ADV file
    and the data files matching one of them (a few days load in a fraction of the month's ~3 s). Returns
    the copies."""
    from fnmatch import fnmatch

    from analytics.adv import ADV_FILE_NAME
    from analytics.catalog import data_files

    adv = src / ADV_FILE_NAME
    out.mkdir(parents=True, exist_ok=True)
    copies = []
    for path in [*data_files(src), *([adv] if adv.is_file() else [])]:
        rel = path.relative_to(src)
        if len(rel.parts) > 1 and not intraday:
            continue
        if only and path != adv and not any(fnmatch(path.name, pattern) for pattern in only):
            continue
        (out / rel).parent.mkdir(parents=True, exist_ok=True)
        copies.append(Path(shutil.copy2(path, out / rel)))
    return copies


def _link_or_copy(path: Path, out: Path) -> None:
    try:
        os.link(path, out / path.name)
    except OSError:  # another file system: a copy
        shutil.copy2(path, out / path.name)


def shared_file(name: str) -> Path:
    path = SHARED_DATA / name
    if not path.exists():
        pytest.fail(f"{path} is missing: CI keeps ../shared/data beside the checkout")
    return path


@pytest.fixture(scope="session")
def demo_data_dir() -> Path:
    """The committed demo folder ``data/``, read in place: the demo month (twenty days of SPX and BTC
    snapshots, the SPX positions file, the ADV file) and the intraday demo in ``data/intraday/``."""
    if not any(DEMO_DATA.glob("spx_quotedata_*.csv")):
        pytest.fail(f"{DEMO_DATA} holds no demo snapshots: run `mmpos demo-data --out data`")
    return DEMO_DATA


@pytest.fixture(scope="session")
def demo_dir(demo_data_dir, tmp_path_factory) -> Path:
    """The demo month alone: the files at the top of ``data/`` (hard links, read-only by convention),
    without ``data/intraday/``."""
    out = tmp_path_factory.mktemp("demo-month")
    for path in sorted(demo_data_dir.iterdir()):
        if path.is_file() and not path.name.startswith("."):
            _link_or_copy(path, out)
    return out


@pytest.fixture(scope="session")
def demo_files(demo_dir) -> dict[str, Path]:
    """The committed demo data files by name: read them in place, or copy the few a test needs into its
    tmp_path (cheaper than writing the demo days again; test_demo_data proves they are the generator's)."""
    from analytics.catalog import data_files

    return {p.name: p for p in data_files(demo_dir)}


@pytest.fixture(scope="session")
def shared_data() -> Path:
    return SHARED_DATA


@pytest.fixture(scope="session")
def spx_path() -> Path:
    return shared_file("cboe_spx_2024-01-07_phammings.csv")


@pytest.fixture(scope="session")
def ndx_path() -> Path:
    return shared_file("cboe_ndx_2022-02-05_lucacastelli.csv")


@pytest.fixture(scope="session")
def deribit_ticker_path() -> Path:
    return shared_file("deribit_btc_ticker_greeks_2026-02-28_tessicin.csv")


@pytest.fixture(scope="session")
def deribit_book_summary_path() -> Path:
    return shared_file("deribit_btc_book_summary_2024-03-12_stevenmaharaj_TESTNET.csv")


@pytest.fixture(scope="session")
def demo_last_day(tmp_path_factory) -> list[Path]:
    """``write_demo_data`` of the newest demo day alone (default seed; the SPX and BTC files and the SPX
    book, about 0.7 s): written once per test process for the tests that compare a fresh write with it.
    Read it, never edit it."""
    from analytics.demo import DEMO_DAYS, write_demo_data

    return write_demo_data(tmp_path_factory.mktemp("demo-last-day"), days=DEMO_DAYS[-1:])


@pytest.fixture(scope="session", autouse=True)
def history_stores_without_disk_flushes():
    """The test processes' history stores (``analytics.history.HistoryStore``) ask SQLite not to flush
    each commit to the disk (``PRAGMA synchronous=OFF`` on each connection, before the store checks and
    creates its schema). The stores live in temporary folders that no test reads after a crash, and a
    flush is invisible to every test; each commit costs several ``fdatasync`` calls, ~5 ms apiece on this
    machine (840 in tests/unit/test_history.py alone, ~4 s of waiting). The product's stores keep SQLite's
    default (FULL), and so do the processes a test starts (``mmpos serve``, a backfill)."""
    import sqlite3

    from analytics import history

    ensure_schema = history.HistoryStore._ensure_schema

    def ensure_schema_without_flushes(self, conn):
        with contextlib.suppress(sqlite3.DatabaseError):  # not a database: the store's own check says so
            conn.execute("PRAGMA synchronous=OFF")
        ensure_schema(self, conn)

    history.HistoryStore._ensure_schema = ensure_schema_without_flushes
    yield
    history.HistoryStore._ensure_schema = ensure_schema
