"""The vol scenario is one value both grid engines receive, and one function says a scenario in words."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from analytics import scenarios
from analytics.levels import _scenario_summary
from analytics.scenario import MIN_IV, Scenario, VolScenario, describe_scenario
from tests.unit.test_engine import random_positions


def test_the_bumped_ivs_move_by_shift_plus_beta_times_shock_and_stop_at_the_floor():
    vol = VolScenario(shift_pts=2.0, spot_vol_beta=-0.5)
    iv = np.array([0.2, 0.015])
    got = vol.bumped_iv(iv, np.array([-10.0, 0.0, 10.0]))
    assert got.shape == (3, 2)
    assert got[:, 0] == pytest.approx([0.2 + 0.07, 0.22, 0.2 - 0.03])
    assert got[2, 1] == MIN_IV  # 1.5% - 3 vol points: floored
    assert vol.bump_for_factors([0.9, 1.1]) == pytest.approx([0.07, -0.03])


def test_a_scenario_hands_the_engines_its_vol_scenario():
    s = Scenario(vol_shift_pts=1.5, spot_vol_beta=-0.25)
    assert s.vol == VolScenario(1.5, -0.25) and not Scenario().vol


@pytest.mark.parametrize("path", ["numpy", "kernel"])
def test_both_engine_paths_read_the_same_vol_scenario(monkeypatch, path):
    pos = random_positions(300, seed=3)
    factors = np.linspace(0.8, 1.2, 81)
    vol = VolScenario(2.0, -0.5)
    monkeypatch.setattr(scenarios, "_kernel_for", lambda work: scenarios.load_kernel() if path == "kernel" else None)
    gex, delta = scenarios.revalue_grid(pos, factors, vol=vol)
    ivs = [vol.bumped_iv(pos.iv, (f - 1.0) * 100.0) for f in factors]
    from tests.unit.test_engine import reference_totals

    ref_gex, ref_delta = reference_totals(pos, factors, ivs)
    np.testing.assert_allclose(gex, ref_gex, rtol=1e-10)
    np.testing.assert_allclose(delta, ref_delta, rtol=1e-10)


def test_the_key_levels_the_csv_and_the_kpi_strip_say_the_scenario_in_the_same_words():
    from dashboard.web.callbacks.table import scenario_text
    from dashboard.web.figures.kpi import scenario_basis

    s = Scenario(vol_shift_pts=2.0, horizon_days=1.0)
    words = describe_scenario(s.vol, s.horizon_days)
    assert words == ("vols +2 pts", "horizon +1 day")
    levels = _scenario_summary(s.to_dict())
    csv = scenario_text(SimpleNamespace(scenario=s, model_description="black-76"))
    kpi = scenario_basis("hedge_flow_usd_up1", vol_mode="shift", vol_value=2.0, horizon_days=1.0)
    for text in (levels, csv, kpi):
        assert "vols +2 pts" in text and "horizon +1 day" in text, text
