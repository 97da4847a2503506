"""Hedge flows as a share of average daily volume: the ADV file, its loader, and where the share shows."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import plotly.graph_objects as go
import pytest

from analytics.adv import ADV_FILE_NAME, load_adv, parse_adv, pct_of_adv
from analytics.catalog import scan_catalog
from analytics.levels import key_levels
from analytics.scenario import Scenario
from dashboard import service
from dashboard.web.figures.hedge import ADV_AXIS_TITLE, hedge_curve_figure

SPX_FILE = "spx_quotedata_2026-11-20.csv"


@pytest.fixture
def folder(tmp_path, demo_dir) -> Path:
    shutil.copy2(demo_dir / SPX_FILE, tmp_path / SPX_FILE)
    return tmp_path


def test_the_committed_adv_file_gives_spx_and_btc_with_their_basis(demo_dir):
    table = load_adv(demo_dir)
    assert table.warnings == ()
    assert set(table.entries) == {"SPX", "BTC"}
    assert 1e7 < table.get("spx").adv_units < 1e9 and 1e4 < table.get("BTC").adv_units < 1e7
    assert "SPY" in table.get("SPX").basis and "perpetual" in table.get("BTC").basis


def test_a_folder_without_an_adv_file_has_no_adv_and_no_warning(tmp_path):
    table = load_adv(tmp_path)
    assert table.entries == {} and table.warnings == () and table.get("SPX") is None


@pytest.mark.parametrize("content, expected", [
    (b"[SPX\nadv_units = 1", "adv.toml is not valid TOML"),
    (b"\xff\xfe\x00garbage", "adv.toml is not UTF-8 text"),
    (b"SPX = 5\n", "adv.toml [SPX]: expected a table with adv_units"),
    (b'[SPX]\nadv_units = "lots"\n', "adv.toml [SPX]: adv_units must be a positive number"),
    (b"[SPX]\nadv_units = nan\n", "adv.toml [SPX]: adv_units must be a positive number"),
    (b"[SPX]\nadv_units = true\n", "adv.toml [SPX]: adv_units must be a positive number"),
])
def test_a_garbage_adv_file_gives_a_clear_warning_not_an_error(tmp_path, content, expected):
    (tmp_path / ADV_FILE_NAME).write_bytes(content)
    table = load_adv(tmp_path)
    assert table.get("SPX") is None and len(table.warnings) == 1 and table.warnings[0].startswith(expected)


def test_one_bad_entry_leaves_the_others_usable():
    table = parse_adv("[SPX]\nadv_units = 0\n[BTC]\nadv_units = 5e5\n")
    assert table.get("BTC").adv_units == 5e5 and table.get("SPX") is None and "[SPX]" in table.warnings[0]


def test_the_share_is_flow_units_over_adv_and_nan_without_adv():
    assert pct_of_adv([-2.0, 4.0], 200.0).tolist() == [-1.0, 2.0]
    assert np.isnan(pct_of_adv([1.0], None)).all() and np.isnan(pct_of_adv(1.0, 0.0))


def test_the_catalog_never_reads_the_adv_file_as_a_chain(folder):
    (folder / ADV_FILE_NAME).write_text("[SPX]\nadv_units = 1e8\n")
    catalog = scan_catalog(folder)
    assert catalog.broken() == [] and [e.rel for e in catalog.snapshots()] == [SPX_FILE]


def test_the_json_gives_each_hedge_curve_row_its_share_of_adv(folder):
    (folder / ADV_FILE_NAME).write_text("[SPX]\nadv_units = 5e7\n")
    doc = service.analyze_path(folder / SPX_FILE, Scenario(), data_dir=folder).to_dict()
    assert doc["adv_units_per_day"] == 5e7
    for row in doc["hedge_curve"]:
        assert row["hedge_flow_pct_adv"] == pytest.approx(row["hedge_flow_units"] / 5e7 * 100)


def test_without_adv_the_json_share_is_null_and_a_broken_file_is_a_warning(folder):
    doc = service.analyze_path(folder / SPX_FILE, Scenario(), data_dir=folder).to_dict()
    assert doc["adv_units_per_day"] is None and {r["hedge_flow_pct_adv"] for r in doc["hedge_curve"]} == {None}
    (folder / ADV_FILE_NAME).write_text("[SPX\n")
    doc = service.analyze_path(folder / SPX_FILE, Scenario(), data_dir=folder).to_dict()
    assert any("adv.toml is not valid TOML" in w["message"] for w in doc["warnings"])


def test_key_levels_size_each_flow_against_adv(folder):
    (folder / ADV_FILE_NAME).write_text("[SPX]\nadv_units = 5e7\n")
    levels = key_levels(service.analyze_path(folder / SPX_FILE, Scenario(compare_horizons_days=(1.0,)),
                                             data_dir=folder))
    assert levels.adv_units == 5e7
    for flow in (*levels.flows, levels.charm_flow):
        assert flow.pct_adv == pytest.approx(flow.units / 5e7 * 100)
    assert "of ADV)" in levels.to_text() and levels.to_dict()["flows"][0]["pct_adv"] == levels.flows[0].pct_adv


def test_the_hedge_view_reads_the_flow_axis_in_percent_of_adv(folder):
    a = service.analyze_path(folder / SPX_FILE, Scenario(), data_dir=folder)
    for units, per_flow in (("units", 100 / 5e7), ("usd", 100 / (5e7 * a.spot))):
        fig = hedge_curve_figure(a.hedge_curves, gamma_profile=a.gamma_profile, spot=a.spot,
                                 zero_gamma_levels=a.zero_gamma_levels, units=units, adv_units=5e7)
        go.Figure(fig)
        left, right = fig["layout"]["yaxis"]["range"], fig["layout"]["yaxis3"]["range"]
        assert right == pytest.approx([x * per_flow for x in left])
        assert fig["layout"]["yaxis3"]["title"]["text"] == ADV_AXIS_TITLE
    plain = hedge_curve_figure(a.hedge_curves, gamma_profile=a.gamma_profile, spot=a.spot,
                               zero_gamma_levels=a.zero_gamma_levels)
    assert "yaxis3" not in plain["layout"]


def test_an_adv_file_linked_outside_the_folder_is_refused_with_a_warning(tmp_path):
    folder, outside = tmp_path / "data", tmp_path / "outside"
    folder.mkdir()
    outside.mkdir()
    (outside / "adv.toml").write_text('[SPX]\nadv_units = 123\nbasis = "someone else\'s"\n')
    (folder / ADV_FILE_NAME).symlink_to(outside / "adv.toml")
    table = load_adv(folder)
    assert table.get("SPX") is None
    assert table.warnings and "not inside the data folder" in table.warnings[0]
