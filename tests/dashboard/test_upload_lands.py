"""After an upload the page lands on the uploaded snapshot, whichever worker stored it (issue #18,
"uploads open what was uploaded").

A server runs several gunicorn workers, each with its own catalog holder rescanned on a timer: the
upload route stores the file in one worker, and the next requests (the URL change, the main update)
may reach another whose last scan does not list it yet. Here the upload runs in another process (a
real second Python, like the worker that took the upload), and this process's holder has just scanned
the folder, so its timer is not due: the controls and the main update must still open the new file.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from analytics.catalog import forget_holders, holder_for
from dashboard.uploads import store_bytes
from dashboard.web import ids
from dashboard.web.callbacks import controls, upload, views
from tests.conftest import ROOT, copy_demo_files

URL = f"{ids.URL}.search"
OUT = {key: i for i, (key, _, _) in enumerate(controls.OUTPUTS)}
CHAIN_FILES = (  # every option-chain file in ../shared/data (the two big CBOE files: slow, make test only)
    pytest.param("cboe_spx_2024-01-07_phammings.csv", "SPX", marks=pytest.mark.slow),
    pytest.param("cboe_ndx_2022-02-05_lucacastelli.csv", "NDX", marks=pytest.mark.slow),
    ("deribit_btc_ticker_greeks_2026-02-28_tessicin.csv", "BTC"),  # the one make test-fast runs
    pytest.param("deribit_btc_book_summary_2024-03-12_stevenmaharaj_TESTNET.csv", "BTC", marks=pytest.mark.slow),
)
STORE_IN_ANOTHER_PROCESS = """
import dataclasses, datetime as dt, json, sys
from pathlib import Path
from dashboard.uploads import store_bytes
raw = Path(sys.argv[2]).read_bytes()
result = store_bytes(raw, sys.argv[1], today=dt.date(2026, 12, 6), client_name=sys.argv[3])
print(json.dumps(dataclasses.asdict(result)))
"""


@pytest.fixture
def folder(tmp_path, demo_dir) -> Path:
    """Two days of SPX and of BTC of the demo (the whole month: ~3 s more of loads for each test)."""
    out = tmp_path / "data"
    copy_demo_files(demo_dir, out, only=("spx_quotedata_2026-11-19.csv", "spx_quotedata_2026-11-20.csv",
                                         "btc_book_summary_2026-11-*.json"))
    forget_holders()
    holder_for(out, interval_s=3600).get()  # this worker scanned just now: its timer is not due
    yield out
    forget_holders()


def store_elsewhere(folder: Path, source: Path, client_name: str) -> dict:
    """The upload route's JSON answer, from another process (another gunicorn worker)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", STORE_IN_ANOTHER_PROCESS, str(folder), str(source), client_name],
                          capture_output=True, text=True, cwd=ROOT, env=env, timeout=120, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize(("name", "underlying"), CHAIN_FILES)
def test_an_upload_stored_by_another_worker_opens_in_the_view(folder, shared_data, name, underlying):
    before = controls.update(None, {URL: ""}, None, str(folder))[OUT["store"]]
    body = store_elsewhere(folder, shared_data / name, name)
    assert body["ok"] and body["underlying"] == underlying, body
    banner, search = upload.upload({"status": 200, "size": 1, "body": body}, before)
    assert "File added" in str(banner) and name.rsplit(".", 1)[0] in str(banner)  # the original name is kept
    out = controls.update(URL, {URL: search}, before, str(folder))
    state = out[OUT["store"]]
    assert (state["u"], state["snap"]) == (underlying, body["entry_id"])
    assert out[OUT["banner"]] == []  # nothing replaced: the link names what is there
    label = next(o["label"] for o in out[OUT["snap_options"]] if o["value"] == body["entry_id"])
    assert label.endswith(f"{name.rsplit('.', 1)[0]} (uploaded)")
    rendered = views.main_update(state, None, str(folder))
    assert "Nothing to show" not in str(rendered["banner"])
    assert rendered["gamma"]["data"] and rendered["hedge"]["data"]


def test_the_same_content_again_says_already_here_and_opens_it(folder, shared_data):
    raw = (shared_data / "cboe_spx_2024-01-07_phammings.csv").read_bytes()
    first = store_bytes(raw, folder, today=dt.date(2026, 12, 6), client_name="spx.csv")
    again = store_bytes(raw, folder, today=dt.date(2026, 12, 7), client_name="spx copy.csv")
    assert first.ok and not first.already and again.ok and again.already
    assert again.entry_id == first.entry_id and again.name == first.name
    banner, search = upload.upload({"status": 200, "size": len(raw), "body": again.__dict__}, None)
    assert "Already here" in str(banner) and "File added" not in str(banner)
    assert f"snap={first.entry_id}" in search


def test_a_file_already_in_the_folder_under_its_own_name_is_not_stored_again(folder, shared_data):
    source = shared_data / "cboe_ndx_2022-02-05_lucacastelli.csv"
    (folder / source.name).write_bytes(source.read_bytes())
    holder_for(folder).refresh()
    files = set(folder.iterdir())
    result = store_bytes(source.read_bytes(), folder, today=dt.date(2026, 12, 6), client_name=source.name)
    assert result.ok and result.already and result.name == source.name
    assert f"already in the data folder as {source.name}" in result.message
    assert set(folder.iterdir()) == files  # nothing written
