"""The one previous-snapshot rule (analytics.previous, through dashboard.service.find_previous) on a
real folder's situations: a file of the same evening is no previous snapshot, and one listing only a
few of today's expiries is not comparable."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from analytics import previous as prev_rule
from dashboard import service


def table_copy(src: Path, dst: Path, *, as_of: str | None = None, expiries: int | None = None) -> None:
    frame = pd.read_parquet(src)
    if as_of is not None:
        frame["as_of"] = as_of
    if expiries is not None:
        frame = frame.loc[frame["expiry"].isin(sorted(frame["expiry"].unique())[:expiries])]
    frame.to_parquet(dst, index=False)


def test_a_file_of_the_same_evening_is_not_the_previous_snapshot(demo_dir, tmp_path):
    demo = Path(demo_dir)
    table_copy(demo / "spx_table_2026-11-12.parquet", tmp_path / "spx_table_2026-11-12.parquet")
    table_copy(demo / "spx_table_2026-11-13.parquet", tmp_path / "spx_table_2026-11-13.parquet")
    # 38 minutes earlier, the same evening, a few expiries only: the same session's quotes
    table_copy(demo / "spx_table_2026-11-13.parquet", tmp_path / "spx_table_2026-11-13_early.parquet",
               as_of="2026-11-13T15:37:00-05:00", expiries=5)
    catalog = service.get_catalog(tmp_path)
    today = catalog.latest("SPX")
    assert today.as_of == pd.Timestamp("2026-11-13 16:15", tz="America/New_York")
    found = service.find_previous(catalog, today)
    assert found.entry is not None and found.entry.as_of.date().isoformat() == "2026-11-12"
    assert found.note is None


def test_a_previous_session_file_with_few_of_todays_expiries_is_not_comparable(demo_dir, tmp_path):
    demo = Path(demo_dir)
    table_copy(demo / "spx_table_2026-11-12.parquet", tmp_path / "spx_table_2026-11-12.parquet", expiries=2)
    table_copy(demo / "spx_table_2026-11-13.parquet", tmp_path / "spx_table_2026-11-13.parquet")
    catalog = service.get_catalog(tmp_path)
    today = catalog.latest("SPX")
    listed = service.facts_for(catalog.snapshots("SPX")[1]).expiries
    share = prev_rule.coverage(service.gross_by_expiry(today), listed)
    assert share < prev_rule.PREVIOUS_MIN_COVERAGE
    found = service.find_previous(catalog, today)
    assert found.entry is None
    assert found.note.startswith("no comparable previous snapshot") and f"{100 * share:.0f}%" in found.note
    # the report (mmpos report, the page's download) goes by the same rule
    assert service.previous_entry(catalog, today) is None


def _session_folder(demo: Path, tmp_path: Path) -> Path:
    """The 19 November close, three intraday snapshots of the 20th and the 20th's after-close file."""
    import shutil

    shutil.copy2(demo / "spx_quotedata_2026-11-19.csv", tmp_path / "spx_quotedata_2026-11-19.csv")
    shutil.copy2(demo / "spx_quotedata_2026-11-20.csv", tmp_path / "spx_quotedata_2026-11-20.csv")
    (tmp_path / "intraday").mkdir()
    for hm in ("0935", "0940", "1555"):
        name = f"spx_intraday_2026-11-20_{hm}_near35d.parquet"
        shutil.copy2(demo / "intraday" / name, tmp_path / "intraday" / name)
    return tmp_path


def test_intraday_changes_compare_with_the_snapshot_before_in_the_session_day_changes_with_the_previous_close(
        demo_data_dir, tmp_path):
    catalog = service.get_catalog(_session_folder(demo_data_dir, tmp_path))
    by_time = {e.as_of.strftime("%m-%d %H:%M"): e for e in catalog.snapshots("SPX")}
    t0940 = by_time["11-20 09:40"]
    assert service.find_previous(catalog, t0940, basis="intraday").entry == by_time["11-20 09:35"]
    assert service.find_previous(catalog, t0940).entry == by_time["11-19 16:15"]  # day over day, the default
    assert service.find_previous(catalog, t0940, basis="day").entry == by_time["11-19 16:15"]
    first = service.find_previous(catalog, by_time["11-20 09:35"], basis="intraday")
    assert first.entry is None and "first snapshot of its session (2026-11-20)" in first.note
    # the after-close file lists every expiry; the intraday ones the nearer only: not comparable, said why
    after_close = service.find_previous(catalog, by_time["11-20 16:15"], basis="intraday")
    assert after_close.entry is None and "15:55" in after_close.note and "% of this one's gross GEX" in after_close.note
    # day over day, the after-close file still compares with the 19th's close (the intraday files are of its session)
    assert service.find_previous(catalog, by_time["11-20 16:15"]).entry == by_time["11-19 16:15"]


def test_previous_analysis_follows_the_basis(demo_data_dir, tmp_path):
    from analytics.scenario import Scenario

    folder = _session_folder(demo_data_dir, tmp_path)
    catalog = service.get_catalog(folder)
    t0940 = next(e for e in catalog.snapshots("SPX") if e.as_of.strftime("%H:%M") == "09:40")
    day = service.previous_analysis(folder, catalog, t0940, Scenario(), "all", None)
    intraday = service.previous_analysis(folder, catalog, t0940, Scenario(), "all", None, basis="intraday")
    assert day.entry.rel == "spx_quotedata_2026-11-19.csv"
    assert intraday.entry.rel == "intraday/spx_intraday_2026-11-20_0935_near35d.parquet"
    assert intraday.analysis.spot != day.analysis.spot


def test_the_snapshot_list_shows_a_session_as_one_day(demo_data_dir, tmp_path):
    import shutil

    from dashboard.web.callbacks.controls import resolve
    from dashboard.web.state import default_state

    folder = _session_folder(demo_data_dir, tmp_path)  # SPX: 19th close, 20th 09:35, 09:40, 15:55 and after close
    shutil.copy2(demo_data_dir / "spx_quotedata_2026-11-18.csv", folder)
    for name in ("btc_book_summary_2026-11-19.json", "btc_book_summary_2026-11-20.json",
                 "intraday/btc_intraday_2026-11-19_2345_near35d.parquet",
                 "intraday/btc_intraday_2026-11-19_0000_near35d.parquet"):
        shutil.copy2(demo_data_dir / name, folder / name)
    catalog = service.get_catalog(folder)
    got = resolve({**default_state(), "u": "SPX"}, catalog)
    labels = [o["label"] for o in got.snapshots]
    assert len(labels) == 3  # three days, though the 20th holds 4 snapshots
    assert labels[0].startswith("2026-11-20 16:15") and labels[0].endswith("· session 2026-11-20: 4 snapshots")
    assert "session" not in labels[1] and "session" not in labels[2]  # a day of one snapshot keeps its plain label
    # an earlier snapshot of the session is listed (with its place) while it is the one selected
    t0940 = next(e for e in catalog.snapshots("SPX") if e.as_of.strftime("%m-%d %H:%M") == "11-20 09:40")
    got = resolve({**default_state(), "u": "SPX", "snap": str(t0940.id)}, catalog)
    assert got.state["snap"] == str(t0940.id) and len(got.snapshots) == 4
    chosen = next(o for o in got.snapshots if o["value"] == str(t0940.id))
    assert chosen["label"].endswith("· 2 of 4 in session 2026-11-20")
    # Deribit: a session is the UTC day
    btc = [o["label"] for o in resolve({**default_state(), "u": "BTC"}, catalog).snapshots]
    assert len(btc) == 2 and btc[1].startswith("2026-11-19 23:45 UTC") and btc[1].endswith("session 2026-11-19: 3 snapshots")


def test_the_page_shows_intraday_changes_against_the_snapshot_before_when_chg_is_intraday(demo_data_dir, tmp_path):
    """``chg=intraday`` (the "Changes vs" control under the KPI strip): the KPI strip and the key levels
    compare the 12:00 snapshot with 11:55; ``chg=day`` with the previous session's close. The link keeps it."""
    import shutil

    from dashboard.web import ids
    from dashboard.web.callbacks import controls, views
    from dashboard.web.state import scenario_from_state, to_query

    shutil.copy2(demo_data_dir / "spx_quotedata_2026-11-19.csv", tmp_path / "spx_quotedata_2026-11-19.csv")
    (tmp_path / "intraday").mkdir()
    for hm in ("1155", "1200"):
        name = f"spx_intraday_2026-11-20_{hm}_near35d.parquet"
        shutil.copy2(demo_data_dir / "intraday" / name, tmp_path / "intraday" / name)
    folder = str(tmp_path)
    catalog = service.get_catalog(folder)
    by_time = {e.as_of.strftime("%m-%d %H:%M"): e for e in catalog.snapshots("SPX")}
    noon, before, close = by_time["11-20 12:00"], by_time["11-20 11:55"], by_time["11-19 16:15"]
    out_index = {key: i for i, (key, _, _) in enumerate(controls.OUTPUTS)}
    url = f"{ids.URL}.search"

    opened = controls.update(None, {url: f"?u=SPX&snap={noon.id}&chg=intraday"}, None, folder)
    state = opened[out_index["store"]]
    assert state["chg"] == "intraday" and opened[out_index["chg"]] == "intraday"  # the control shows it
    assert "chg=intraday" in to_query(state)  # the URL round trip keeps it

    def summary(s: dict) -> tuple:
        main = views.main_update(s, None, folder)
        got = views.comparison(s, main["result"], folder)
        return got["levels_text"], got["kpis"], got["levels_note"]

    def strip_against(s: dict, entry, comparison: str):
        current = service.view_analyses(folder, noon, scenario_from_state(s)).current
        return views.kpi_strip(current, service.kpi_analysis_for(folder, entry, scenario_from_state(s)), s, comparison)

    def html(components) -> str:
        return json.dumps([c.to_plotly_json() for c in components], default=lambda c: c.to_plotly_json())

    text, kpis, note = summary(state)
    assert note == "Changes vs the previous SPX snapshot of the same session (intraday), 2026-11-20 11:55 EST."
    assert "changes vs 2026-11-20 11:55 EST (the snapshot before in the session: intraday)" in text  # the copy block
    assert " vs 11:55)" in html(kpis) and " d/d)" not in html(kpis)  # the regime line's net GEX change
    assert html(kpis) == html(strip_against(state, before, note))  # every change is against 11:55
    assert views.compute_previous(state, catalog, noon, folder).entry == before

    # the control back to "previous close": the strip and key levels redraw, against the 19th's close
    changed = controls.update(f"{ids.CHANGE_BASIS}.value", {url: "", f"{ids.CHANGE_BASIS}.value": "day"},
                              state, folder)
    day_state = changed[out_index["store"]]
    assert day_state["chg"] == "day" and "chg" not in changed[out_index["search"]]  # the default: left out
    assert views.panel_keys(day_state)["summary"] != views.panel_keys(state)["summary"]
    assert views.panel_keys(day_state)["gamma"] != views.panel_keys(state)["gamma"]  # the previous-net line
    day_text, day_kpis, day_note = summary(day_state)
    assert day_note == "Changes vs the previous SPX snapshot of an earlier session (day over day), 2026-11-19 16:15 EST."
    assert "changes vs 2026-11-19 16:15 EST\n" in day_text and " d/d)" in html(day_kpis)
    assert html(day_kpis) == html(strip_against(day_state, close, day_note))
    assert html(day_kpis) != html(kpis)

    # the first snapshot of the session has no intraday change: the note says why
    first = controls.update(None, {url: f"?u=SPX&snap={before.id}&chg=intraday"}, None, folder)[out_index["store"]]
    _, _, first_note = summary(first)
    assert first_note == "No changes shown: the first snapshot of its session (2026-11-20): no intraday change."
