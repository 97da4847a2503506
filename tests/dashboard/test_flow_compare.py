"""The flow-inferred comparison block of the key-levels card (issue 19), its callback called as a
function on the demo folder (BTC has trades beside its snapshots) and on copies of it."""

from __future__ import annotations

import json
import shutil

import pytest

from analytics.catalog import forget_holders
from dashboard import service
from dashboard.web import ids
from dashboard.web.callbacks import controls
from dashboard.web.callbacks.flow import flow_compare
from dashboard.web.layout import key_levels_panel
from tests.conftest import clear_caches_but_file_loads

URL = f"{ids.URL}.search"
OUT = {key: i for i, (key, _, _) in enumerate(controls.OUTPUTS)}


def state_for(data_dir: str, search: str) -> dict:
    return controls.update(None, {URL: search}, None, data_dir)[OUT["store"]]


def _text(children) -> str:
    return json.dumps(children, default=lambda c: c.to_plotly_json())


def _cells(children) -> list[list[str]]:
    table = children[1].to_plotly_json()["props"]["children"][1].to_plotly_json()["props"]["children"]
    return [[td.to_plotly_json()["props"]["children"] for td in tr.to_plotly_json()["props"]["children"]] for tr in table]


def test_btc_shows_the_two_models_side_by_side_with_the_share_the_flow_explains(demo_dir):
    data = str(demo_dir)
    state = state_for(data, "?u=BTC")
    children = flow_compare(state, data)
    rows = _cells(children)
    assert [r[0] for r in rows] == ["Total GEX (USD per 1%)", "Zero gamma", "Call wall", "Put wall",
                                    "Dealer flow at -1% (USD)", "Dealer flow at +1% (USD)"]
    entry = service.get_catalog(data).get(state["snap"])
    got = service.flow_comparison(data, entry, service.Scenario())
    assert got is not None and got.flow is not None and got.message is None
    assert got.flow.total_gex_usd_per_1pct != got.base.total_gex_usd_per_1pct  # the flow moved it
    text = _text(children)
    assert "of open interest (|signed flow| / open interest, gross over the snapshot's series)" in text
    assert f"{got.trades:,} trades from 2026-11-20 08:00 to 14:00 UTC" in text  # the newest BTC snapshot
    assert 0.001 < got.share < 0.05


def test_spx_without_trades_files_shows_no_block(demo_dir):
    assert flow_compare(state_for(str(demo_dir), "?u=SPX"), str(demo_dir)) == []


def test_trades_that_do_not_reach_the_snapshot_are_said_not_hidden(demo_dir, tmp_path):
    folder = tmp_path / "data"  # the trades file and the BTC days it spans (a copy of all 41 files: ~3 s of loads)
    folder.mkdir()
    for path in [*demo_dir.glob("*.trades.json"), demo_dir / "btc_table_2026-11-18.parquet",
                 *demo_dir.glob("btc_book_summary_*.json"), demo_dir / "adv.toml"]:
        shutil.copy2(path, folder / path.name)
    trades = next(folder.glob("*.trades.json"))
    body = json.loads(trades.read_text())
    body["mmpos"]["end"] = "2026-11-20T12:00:00+00:00"  # two hours short of the 14:00 snapshot
    trades.write_text(json.dumps(body))
    forget_holders()
    children = flow_compare(state_for(str(folder), "?u=BTC"), str(folder))
    text = _text(children)
    assert "Flow-inferred not available: flow-inferred needs BTC trades" in text
    assert "leave 2026-11-20 12:00 to 2026-11-20 14:00 UTC uncovered" in text
    assert all(r[2] == "—" for r in _cells(children))  # the OI column still shows its numbers
    assert all(r[1] not in ("—", "n/a") for r in _cells(children)[:4])


def test_the_key_levels_card_holds_the_block():
    assert ids.FLOW_COMPARE in _text(key_levels_panel())


@pytest.fixture(autouse=True)
def _fresh_caches():
    yield
    clear_caches_but_file_loads()


# ---- the collector's line in the header (issue 19)


def test_the_header_shows_the_collectors_newest_fetches_and_failures(tmp_path):
    import pandas as pd

    from dashboard.collect import status_path
    from dashboard.web.callbacks.collect_status import collect_line
    from dashboard.web.layout import header

    assert ids.COLLECT_STATUS in _text(header())
    assert collect_line(str(tmp_path), pd.Timestamp("2026-11-19 14:10", tz="UTC")) == ""  # never collected here
    path = status_path(tmp_path)
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"every_s": 300.0, "updated_at": "2026-11-19T14:06:00+00:00", "underlyings": {
        "SPX": {"last_fetch_at": "2026-11-19T14:05:00+00:00", "failures": 0},
        "BTC": {"last_fetch_at": "2026-11-19T13:50:00+00:00", "failures": 3, "last_error": "HTTP 503 Service Unavailable"}}}))
    line = collect_line(str(tmp_path), pd.Timestamp("2026-11-19 14:10", tz="UTC"))
    assert line == "collected SPX 14:05, BTC 13:50 UTC; BTC failing x3 (HTTP 503 Service Unavailable)"
    # 15 minutes (3 intervals) without a new status: the collector has stopped, and the line says so
    later = collect_line(str(tmp_path), pd.Timestamp("2026-11-19 14:30", tz="UTC"))
    assert later.endswith("; collector silent since 2026-11-19 14:06 UTC")


def test_choosing_flow_inferred_on_a_snapshot_without_trades_says_so_not_that_the_file_is_unreadable(demo_dir):
    from dashboard.web.callbacks import views

    data = str(demo_dir)
    state = state_for(data, "?u=BTC&conv=flow-inferred&snap=btc-20261117-1400")
    assert state["conv"] == "flow-inferred"  # kept: no silent fallback to another convention
    banner = _text(views.main_update(state, None, data)["banner"])
    assert "Flow-inferred not available" in banner and "could not be read" not in banner
    assert "the 1 trades file(s) leave 2026-11-17 08:00 to 2026-11-17 14:00 UTC uncovered" in banner
