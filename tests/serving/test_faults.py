"""Faults in the data folder while ``mmpos serve`` runs: a file deleted, truncated, replaced with its
mtime kept, made unreadable or linked out of the folder; 20,000 junk files; the folder removed and
restored. Each time: no 500, and the page's own callbacks (the controls and the main update, posted
as the browser posts them) answer with the right banner, never an absolute path or file content.

One server for the module, rescanning on every call (``MMPOS_RESCAN_SECONDS=0``), run without the
capabilities that let root read any file (``setpriv``), so ``chmod 000`` means unreadable here too.
Every test puts the folder back as it found it.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from dashboard.web import ids
from tests.serving.conftest import DEMO_FILES, Served, start_server
from tests.serving.test_hostile_http import CONTROLS, MAIN, UPDATE, callback_body

NEWEST, OLDER = DEMO_FILES[1], DEMO_FILES[0]
NEWEST_ID, OLDER_ID = "spx-20261120-1615", "spx-20261119-1615"
NO_CAPS = ("setpriv", "--bounding-set=-dac_override,-dac_read_search", "--")
JUNK_FILES = 20_000
BANNER_BYTES_LIMIT = 20_000  # the catalog banner is capped, whatever the number of broken files


@pytest.fixture(scope="module")
def served(tmp_path_factory) -> Iterator[Served]:
    if shutil.which("setpriv") is None:
        pytest.skip("setpriv (util-linux) is needed to drop root's file-reading capabilities")
    server = start_server(tmp_path_factory.mktemp("faults"), {"MMPOS_WORKERS": "1"},
                          prefix=NO_CAPS if os.geteuid() == 0 else ())
    yield server
    server.stop()


@pytest.fixture(scope="module")
def deps(served: Served) -> list[dict[str, Any]]:
    return json.loads(served.get("/_dash-dependencies").body)


def post(served: Served, body: dict[str, Any]) -> tuple[int, dict[str, Any], str]:
    reply = served.request("POST", UPDATE, body=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
    assert reply.status != 500, reply.text[:300]
    assert str(served.data_dir) not in reply.text and "Traceback" not in reply.text
    return reply.status, (json.loads(reply.body) if reply.status == 200 else {}), reply.text


def controls(served: Served, deps, search: str = "?u=SPX") -> tuple[dict[str, Any], str]:
    """The controls callback on first load: (the view state it resolves, the catalog banner as text)."""
    status, payload, _ = post(served, callback_body(deps, CONTROLS, {CONTROLS: search}))
    assert status == 200
    response = payload["response"]
    return response[ids.VIEW_STORE]["data"], json.dumps(response[ids.CATALOG_BANNER]["children"])


def main_update(served: Served, deps, state: dict[str, Any]) -> tuple[str, str]:
    """The main update of ``state``: (the header title, the banner as text)."""
    status, payload, _ = post(served, callback_body(deps, MAIN, {MAIN: state}))
    assert status == 200
    response = payload["response"]
    return response[ids.HEADER_TITLE]["children"], json.dumps(response[ids.BANNER]["children"])


@contextmanager
def put_back(path: Path) -> Iterator[bytes]:
    """Restore ``path`` (content, mode, times) after the block."""
    content, st = path.read_bytes(), path.stat()
    try:
        yield content
    finally:
        if path.is_symlink() or path.exists():
            path.unlink()
        path.write_bytes(content)
        os.chmod(path, st.st_mode & 0o777)
        os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))


def test_the_served_folder_starts_with_two_readable_snapshots(served, deps):
    state, banner = controls(served, deps)
    assert state["snap"] == NEWEST_ID and banner == "[]"
    title, _ = main_update(served, deps, state)
    assert title.startswith("SPX")


def test_a_deleted_file_leaves_the_other_snapshot_and_a_stale_view_says_nothing_to_show(served, deps):
    good, _ = controls(served, deps)
    with put_back(served.data_dir / NEWEST):
        (served.data_dir / NEWEST).unlink()
        state, banner = controls(served, deps)
        assert state["snap"] == OLDER_ID and banner == "[]"
        title, banner = main_update(served, deps, good)  # a page still showing the deleted snapshot
        assert "Nothing to show" in banner and "no snapshot for SPX" in banner
    assert controls(served, deps)[0]["snap"] == NEWEST_ID


def test_a_truncated_file_is_listed_as_broken_with_its_reason_and_the_other_one_serves(served, deps):
    with put_back(served.data_dir / NEWEST) as content:
        (served.data_dir / NEWEST).write_bytes(content[: len(content) // 2])
        state, banner = controls(served, deps)
        assert NEWEST in banner and "could not be read" in banner and "truncated" in banner
        assert state["snap"] == OLDER_ID
        title, _ = main_update(served, deps, state)
        assert title.startswith("SPX")


def test_a_file_replaced_with_its_mtime_kept_is_read_again(served, deps):
    state, _ = controls(served, deps)
    before = main_update(served, deps, state)
    with put_back(served.data_dir / NEWEST) as content:
        text = content.decode()
        last = text.split("Last: ", 1)[1].split(",", 1)[0]
        changed = text.replace(f"Last: {last}", "Last: " + f"{float(last) * 1.01:.4f}".rjust(len(last))[: len(last)], 1)
        assert len(changed) == len(text)  # same size and mtime: only the content (and ctime) differ
        st = (served.data_dir / NEWEST).stat()
        (served.data_dir / NEWEST).write_text(changed)
        os.utime(served.data_dir / NEWEST, ns=(st.st_atime_ns, st.st_mtime_ns))
        after = main_update(served, deps, {**state, "h": 0})
        # the new content is read: a header spot 1% off the quotes after the close is named stale in the
        # notes, the levels staying on the spot the quotes imply (analytics.prepare's stale-spot rule)
        assert after != before and after[0].startswith("SPX")
        assert "spot-stale" in after[1] or "stale" in after[1]


def test_an_unreadable_file_is_one_broken_entry_without_its_path(served, deps):
    path = served.data_dir / NEWEST
    with put_back(path):
        path.chmod(0)
        state, banner = controls(served, deps)
        assert NEWEST in banner and "could not be read" in banner and "ermission denied" in banner
        assert state["snap"] == OLDER_ID and str(served.data_dir) not in banner
        assert served.get("/readyz").status == 200  # the folder is still listable


def test_a_link_out_of_the_folder_is_refused_unopened(served, deps):
    link = served.data_dir / "secrets.csv"
    link.symlink_to("/etc/passwd")
    try:
        state, banner = controls(served, deps)
        assert "secrets.csv" in banner and "points outside the data folder" in banner
        assert "root:" not in banner and "/etc/passwd" not in banner
        assert state["snap"] == NEWEST_ID
    finally:
        link.unlink()


def test_twenty_thousand_junk_files_give_a_capped_banner_and_the_views_keep_working(served, deps):
    junk = served.data_dir / "junk"
    junk.mkdir()
    try:
        first_junk = junk / "junk_00000.csv"
        first_junk.write_bytes(b"not,an,option,chain\n")
        for i in range(1, JUNK_FILES):  # hard links: one system call per name, 20,000 names all the same
            os.link(first_junk, junk / f"junk_{i:05d}.csv")
        t0 = time.monotonic()
        state, banner = controls(served, deps)
        first = time.monotonic() - t0
        assert f"{JUNK_FILES:,} files in the data folder could not be read" in banner
        assert "more" in banner and len(banner) < BANNER_BYTES_LIMIT
        title, _ = main_update(served, deps, state)
        assert title.startswith("SPX") and state["snap"] == NEWEST_ID
        print(f"first controls update over {JUNK_FILES:,} junk files: {first:.1f} s")
    finally:
        shutil.rmtree(junk)
    assert controls(served, deps)[1] == "[]"


def test_the_data_folder_removed_and_restored(served, deps):
    state, _ = controls(served, deps)
    away = served.data_dir.with_name("data-away")
    served.data_dir.rename(away)
    try:
        _, payload, text = post(served, callback_body(deps, CONTROLS, {CONTROLS: "?u=SPX"}))
        banner = json.dumps(payload["response"][ids.CATALOG_BANNER]["children"])
        assert "The data folder cannot be read" in banner and str(served.data_dir) not in text
        ready = served.get("/readyz")
        assert ready.status == 503 and str(served.data_dir) not in ready.text
        title, banner = main_update(served, deps, state)  # a page open before the folder went
        assert "The data folder cannot be read" in banner and "Unexpected" not in banner
    finally:
        away.rename(served.data_dir)
    state, banner = controls(served, deps)
    assert state["snap"] == NEWEST_ID and banner == "[]"
    assert served.get("/readyz").status == 200
