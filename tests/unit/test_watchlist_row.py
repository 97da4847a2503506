"""A watchlist row (issue 18) from an analysis, pure: regime from the band, the d/d change, flows, age."""

from __future__ import annotations

import dataclasses

import pandas as pd
import pytest

from analytics.headline import Treatment, headline_of
from analytics.watchlist import STALE_AFTER_HOURS, watchlist_row
from tests.unit.test_levels import previous_analysis, synthetic_analysis


def test_a_row_without_a_previous_snapshot_shows_no_change_and_reads_its_flows_off_the_hedge_curve():
    a = synthetic_analysis()
    row = watchlist_row("spx-1", a, None, [], a.as_of + pd.Timedelta(hours=3))
    rec = row.to_record()
    assert row.regime == "long-gamma" and not rec["uncertain"] and not rec["stale"]
    assert row.total_gex_change_usd_per_1pct is None and rec["change_text"] == "n/a"
    assert (row.flow_m1pct_usd, row.flow_p1pct_usd) == (-2.33e9, 1.19e9)  # the synthetic curve's -1% and +1%
    assert (row.zero_gamma, rec["distance_text"]) == (4650.26, "-1.1%")
    assert rec["age_text"] == "3.0 h"


def test_a_row_with_a_previous_snapshot_shows_the_total_gex_change():
    row = watchlist_row("spx-1", synthetic_analysis(), previous_analysis(), [], pd.Timestamp("2024-01-06", tz="UTC"))
    assert row.total_gex_change_usd_per_1pct == pytest.approx(1.65e9 - 1.7e9)
    assert row.regime_text.endswith("net $1.65bn (-$50m d/d)")


def test_an_uncertain_band_marks_the_row_and_an_old_snapshot_is_stale():
    a = synthetic_analysis()
    band = headline_of(a.spot, [Treatment("own", (), a.total_gex_usd_per_1pct, (4650.26,), 4800.0, 4600.0),
                                Treatment("otm", (), -4e8, (4690.0,), 4800.0, 4600.0)])
    row = watchlist_row("spx-1", dataclasses.replace(a, headline=band), None, [(a.as_of, 1.0), (a.as_of, 2.0)],
                        a.as_of + pd.Timedelta(hours=STALE_AFTER_HOURS + 0.5))
    rec = row.to_record()
    assert rec["uncertain"] and rec["regime_badge"] == "UNCERTAIN γ" and rec["stale"]
    assert rec["history_total_gex_usd_per_1pct"] == [1.0, 2.0]
