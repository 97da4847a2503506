"""Shared fixtures for every test layer: the committed demo data and the real files in ../shared/data.

Both are read in place, never copied or regenerated: ``demo_dir`` is the committed ``data/`` folder
(``tests/unit/test_demo_data.py`` checks it is what the generator writes).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DEMO_DATA = ROOT / "data"
SHARED_DATA = ROOT.parent / "shared" / "data"

# No test reads or writes the user's shared results cache (~/.cache/mmpos): analyses are computed
# in each process, as each test expects. Tests of the shared cache turn it on with their own folder
# or redis-server (dashboard.service.use_shared_cache, or MMPOS_SHARED_CACHE=on in a subprocess).
os.environ["MMPOS_SHARED_CACHE"] = "off"


def copy_demo_files(src: Path, out: Path) -> list[Path]:
    """Copy the data files of ``src`` (the catalog's rule: ``analytics.catalog.data_files``) and its ADV
    file into ``out``; never a local history store (``data/.mmpos``, made by any ``mmpos serve``) or
    README. Returns the copies."""
    from analytics.adv import ADV_FILE_NAME
    from analytics.catalog import data_files

    adv = src / ADV_FILE_NAME
    out.mkdir(parents=True, exist_ok=True)
    return [Path(shutil.copy2(path, out / path.name)) for path in [*data_files(src), *([adv] if adv.is_file() else [])]]


def shared_file(name: str) -> Path:
    path = SHARED_DATA / name
    if not path.exists():
        pytest.fail(f"{path} is missing: CI keeps ../shared/data beside the checkout")
    return path


@pytest.fixture(scope="session")
def demo_dir() -> Path:
    """The committed demo folder: five days of SPX and BTC snapshots plus the SPX positions file."""
    if not any(DEMO_DATA.glob("spx_quotedata_*.csv")):
        pytest.fail(f"{DEMO_DATA} holds no demo snapshots: run `mmpos demo-data --out data`")
    return DEMO_DATA


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
