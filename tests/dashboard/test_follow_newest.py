"""The page follows new files (issue #18): a snapshot that lands in the data folder while the page is
open raises a notice at the next poll, and "follow newest" (in the URL) opens it by itself."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from dash.exceptions import PreventUpdate

from analytics.catalog import forget_holders, holder_for
from dashboard import service
from dashboard.web import ids
from dashboard.web.callbacks import controls, follow
from dashboard.web.state import from_query

URL = f"{ids.URL}.search"
OUT = {key: i for i, (key, _, _) in enumerate(controls.OUTPUTS)}


@pytest.fixture
def folder(tmp_path, demo_dir) -> Path:
    """The SPX demo quote tables but the newest: the test drops that one in later."""
    out = tmp_path / "data"
    out.mkdir()
    for path in sorted(demo_dir.glob("spx_quotedata_*.csv"))[:-1]:
        shutil.copy2(path, out / path.name)
    forget_holders()
    yield out
    forget_holders()


def drop_newest(folder: Path, demo_dir: Path) -> None:
    newest = sorted(demo_dir.glob("spx_quotedata_*.csv"))[-1]
    shutil.copy2(newest, folder / newest.name)
    holder_for(folder).refresh()  # the holder's timer, due


def open_page(folder: Path, search: str = "?u=SPX") -> dict:
    return controls.update(URL, {URL: search}, None, str(folder))[OUT["store"]]


def test_a_new_snapshot_raises_a_notice_with_a_link_that_opens_it(folder, demo_dir):
    state = open_page(folder)
    notice, known, search = follow.poll(state, None, service.get_catalog(str(folder)))
    assert notice == [] and known == {"SPX": state["snap"]}  # the first poll remembers the newest
    assert follow.poll(state, known, service.get_catalog(str(folder))) == (
        follow.no_update, follow.no_update, follow.no_update)  # nothing new
    drop_newest(folder, demo_dir)
    catalog = service.get_catalog(str(folder))
    newest = catalog.latest("SPX")
    assert newest.id != state["snap"]
    notice, known_after, search = follow.poll(state, known, catalog)
    text = str(notice)
    assert "New snapshot available" in text and f"snap={newest.id}" in text
    assert search is follow.no_update  # not followed: the view stays
    link = notice[0].children[2].href
    assert from_query(link)["snap"] == newest.id and from_query(link)["u"] == "SPX"


def test_follow_newest_is_in_the_url_and_opens_a_new_snapshot_by_itself(folder, demo_dir):
    first = controls.update(URL, {URL: "?u=SPX"}, None, str(folder))
    ticked = controls.update(f"{ids.FOLLOW}.value", {URL: "", f"{ids.FOLLOW}.value": ["follow"]},
                             first[OUT["store"]], str(folder))
    state = ticked[OUT["store"]]
    assert state["follow"] is True and "follow=1" in ticked[OUT["search"]]
    assert ticked[OUT["follow"]] == ["follow"]
    _, known, _ = follow.poll(state, None, service.get_catalog(str(folder)))
    drop_newest(folder, demo_dir)
    notice, known_after, search = follow.poll(state, known, service.get_catalog(str(folder)))
    newest = service.get_catalog(str(folder)).latest("SPX")
    assert notice == [] and known_after == {"SPX": newest.id}
    assert from_query(search)["snap"] == newest.id and from_query(search)["follow"] is True
    opened = controls.update(URL, {URL: search}, state, str(folder))[OUT["store"]]
    assert opened["snap"] == newest.id


def test_no_view_yet_polls_nothing(folder):
    with pytest.raises(PreventUpdate):
        follow.poll(None, None, service.get_catalog(str(folder)))
