"""The prepared pricing inputs of a chain (levels, rates, carry, one IV per row) are computed once per
file version, expiry selection and pricing inputs, and shared by the analyses of every other scenario
field (dashboard.service's prepared cache): never stale, and never a different number."""

from __future__ import annotations

import csv
import io
import shutil

import numpy as np
import pandas as pd
import pytest

from analytics.prepare import FORWARD_CHOICES, IV_POLICIES
from analytics.report import PREPARE_FIELDS, Analysis, analyze, preparation
from analytics.scenario import Scenario
from dashboard import service
from tests.conftest import clear_caches_but_file_loads

SNAPSHOT = "spx_quotedata_2026-11-20.csv"


@pytest.fixture()
def folder(tmp_path, demo_dir):
    """One demo SPX snapshot alone in a folder of its own, with the process caches emptied (but the loaded
    files: tests/conftest.py clear_caches_but_file_loads)."""
    shutil.copy2(demo_dir / SNAPSHOT, tmp_path / SNAPSHOT)
    clear_caches_but_file_loads()
    yield tmp_path
    clear_caches_but_file_loads()


def entry_of(folder):
    catalog = service.get_catalog(folder)
    (entry,) = [e for e in catalog.entries if e.path.name == SNAPSHOT]
    return entry


def uncached(folder, scenario: Scenario) -> Analysis:
    """The analysis computed from the file with no cache in between."""
    from analytics.sources import load_chain

    return analyze(load_chain(folder / SNAPSHOT), scenario)


def assert_same_numbers(got: Analysis, want: Analysis) -> None:
    for name in ("by_strike", "gamma_profile", "by_strike_expiry", "term_structure"):
        pd.testing.assert_frame_equal(getattr(got, name), getattr(want, name), check_exact=True)
    pd.testing.assert_frame_equal(got.forwards, want.forwards, check_exact=True)
    assert got.hedge_curves.keys() == want.hedge_curves.keys()
    for h in want.hedge_curves:
        pd.testing.assert_frame_equal(got.hedge_curves[h], want.hedge_curves[h], check_exact=True)
    assert got.zero_gamma_levels == want.zero_gamma_levels
    assert (got.total_gex_usd_per_1pct, got.dealer_delta_units, got.net_vega_usd_per_vol_pt) == (
        want.total_gex_usd_per_1pct, want.dealer_delta_units, want.net_vega_usd_per_vol_pt)
    assert got.warnings == want.warnings


def misses() -> int:
    return service._prepared.cache_info().misses


def preparations(*scenarios: Scenario) -> int:
    """How many preparations analysing ``scenarios`` needs: each analysis's headline band prepares the
    scenario under every forward and IV choice (analytics.headline) through the same cache."""
    return len({preparation(s.replace(forward=f, iv_policy=i)) for s in scenarios
                for f in FORWARD_CHOICES for i in IV_POLICIES})


def test_another_convention_shock_grid_horizon_or_vol_scenario_reuses_the_prepared_inputs(folder):
    entry = entry_of(folder)
    base = Scenario(grid_points=61)
    variations = [base, base.replace(convention="dealer-short-all"), base.replace(shocks_pct=(-3.0, 0.0, 3.0)),
                  base.replace(horizon_days=1.0), base.replace(vol_shift_pts=2.0, spot_vol_beta=-0.5)]
    for scenario in variations:
        assert_same_numbers(service.analysis_for(folder, entry, scenario), uncached(folder, scenario))
    assert misses() == preparations(base) == 4


@pytest.mark.parametrize("change", [
    {"expiries": ("2026-12-18",)}, {"max_dte": 30.0}, {"forward": "spot"}, {"iv_policy": "file"},
    {"forward": "spot", "rate": 0.05}, {"forward": "spot", "div_yield": 0.02}, {"multiplier": 50.0},
])
def test_a_changed_selection_or_pricing_input_is_prepared_again_and_gives_the_uncached_numbers(folder, change):
    entry = entry_of(folder)
    base = Scenario(grid_points=61)
    first = service.analysis_for(folder, entry, base)
    changed = base.replace(**change)
    got = service.analysis_for(folder, entry, changed)
    assert misses() == preparations(base, changed)
    assert_same_numbers(got, uncached(folder, changed))
    assert not got.by_strike.equals(first.by_strike)


def test_every_field_preparation_reads_is_in_its_key_and_no_other():
    changed = {"expiries": ("2026-12-18",), "max_dte": 30.0, "rate": 0.05, "div_yield": 0.02, "multiplier": 50.0,
               "adjusted_deliverables": "AMD1=10", "forward": "spot", "iv_policy": "file",
               "without_notes": ("iv-solved",)}
    assert set(changed) == set(PREPARE_FIELDS)
    for name, value in changed.items():
        assert preparation(Scenario(**{name: value})) != preparation(Scenario()), name
    others = Scenario(convention="dealer-short-all", shocks_pct=(-1.0, 1.0), horizon_days=2.0,
                      compare_horizons_days=(1.0,), vol_shift_pts=3.0, spot_vol_beta=-1.0,
                      spot_range=(0.9, 1.1), grid_points=31)
    assert preparation(others) == preparation(Scenario())


def rewrite_quotes(path, *, call_quote_factor: float, call_oi_factor: float) -> None:
    """The same snapshot with every call's bid and ask and open interest scaled (a re-downloaded file)."""
    lines = path.read_text().splitlines(keepends=True)
    head, body = lines[:4], lines[4:]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    for row in csv.reader(body):
        if len(row) > 10:
            row[4], row[5] = (f"{float(row[i]) * call_quote_factor:.2f}" for i in (4, 5))
            row[10] = str(int(float(row[10]) * call_oi_factor))
        writer.writerow(row)
    path.write_text("".join(head) + out.getvalue())


def test_a_changed_file_is_prepared_again_and_never_served_stale(folder):
    scenario = Scenario(grid_points=61)
    before = service.analysis_for(folder, entry_of(folder), scenario)
    rewrite_quotes(folder / SNAPSHOT, call_quote_factor=1.05, call_oi_factor=2.0)
    after = service.analysis_for(folder, entry_of(folder), scenario.replace(convention="dealer-short-all"))
    assert misses() == 2 * preparations(scenario)  # every treatment's preparation again, for the new version
    assert_same_numbers(after, uncached(folder, scenario.replace(convention="dealer-short-all")))
    assert not np.allclose(after.term_structure["atm_iv"], before.term_structure["atm_iv"], equal_nan=True)



def test_the_shared_prepared_inputs_cannot_be_changed_in_place(folder):
    entry = entry_of(folder)
    entry_id, version = service.entry_key(entry)
    prepared = service._prepared(str(folder), entry_id, version, None, preparation(Scenario()),
                                 service.NotInKey(service.load_chain(entry)))
    with pytest.raises(ValueError, match="read-only"):
        prepared.iv[0] = 0.5
