"""Structured warnings with numbers (analytics.notes)."""

from __future__ import annotations

import numpy as np
import pytest

from analytics import pricing
from analytics.headline import Treatment, headline_of, ill_conditioned_note
from analytics.notes import Note, quantify, row_note
from analytics.prepare import prepare_chain
from analytics.report import analyze, positions_from_prepared
from analytics.scenarios import revalue_grid
from analytics.sources.cboe import load_cboe
from tests.unit.synthetic import chain_from, quotes_frame


def test_a_note_counts_its_rows_and_their_open_interest():
    note = row_note("iv-from-twin", "3 IVs taken from the other side", np.array([True, False, True, True]),
                    np.array([10.0, 99.0, 5.0, np.nan]))
    assert (note.rows, note.contracts) == (3, 15.0)
    assert note.message == "3 IVs taken from the other side"  # no shares until quantified


def test_quantify_states_the_share_of_gross_gex_and_of_the_plus_5pct_flow():
    note = row_note("iv-from-twin", "602 IVs taken from the other side", np.array([True, True, False, False]),
                    np.full(4, 1.0))
    gex = np.array([10.0, -4.0, 50.0, -36.0])  # gross 100, the masked rows 14
    delta_change = np.array([-30.0, 18.0, 10.0, -42.0])  # gross 100, the masked rows 48
    q = quantify(note, gex, delta_change)
    assert q.share_of_gross == pytest.approx(0.14) and q.share_of_flow == pytest.approx(0.48)
    assert q.message == "602 IVs taken from the other side: 14% of gross GEX, 48% of the +5% flow"
    assert q.to_dict() == {"code": "iv-from-twin", "message": q.message, "rows": 2, "contracts": 2.0,
                           "share_of_gross": pytest.approx(0.14), "share_of_flow": pytest.approx(0.48),
                           "value": None}


def test_a_note_about_dropped_rows_has_no_share_to_fill():
    note = Note("dropped-no-quote", "dropped 2 row(s) with no usable IV and no quote", 2, 30.0)
    assert quantify(note, np.ones(5)) is note


def test_notes_from_prepare_quantify_after_the_engine_ran():
    frame = quotes_frame(days=(30,))
    frame.loc[frame["strike"].between(95, 99) & (frame["side"] == "C"), "iv"] = 0.0  # ITM calls without IV
    chain = chain_from(frame)
    prep = prepare_chain(chain, iv_policy="file")
    note = {n.code: n for n in prep.notes}["iv-from-twin"]
    assert note.rows == 5 and note.mask.shape == prep.iv.shape
    # dealer-long-all: equal call and put open interest under dealer-long-calls cancel to a zero profile
    pos = positions_from_prepared(prep, "dealer-long-all")
    _, d0 = revalue_grid(pos, [1.0])
    g0 = pricing.greeks(pos.level, pos.strike, pos.years, pos.iv, pos.side, pos.rate, pos.carry)
    g5 = pricing.greeks(pos.level * 1.05, pos.strike, pos.years, pos.iv, pos.side, pos.rate, pos.carry)
    gex = pos.weight * g0.gamma * pos.level ** 2 * 0.01
    q = quantify(note, gex, pos.weight * (g5.delta - g0.delta))
    assert 0 < q.share_of_gross < 1 and 0 < q.share_of_flow < 1
    assert q.message.startswith("5 missing/zero/absurd IV(s) taken from the other side") and "of gross GEX" in q.message
    # analyze quantifies its notes the same way, and its JSON carries the numbers
    a = analyze(chain, iv_policy="file", convention="dealer-long-all", shocks_pct=(5.0,), grid_points=41)
    twin = next(n for n in a.notes if n.code == "iv-from-twin")
    assert (twin.share_of_gross, twin.share_of_flow) == pytest.approx((q.share_of_gross, q.share_of_flow), rel=1e-9)
    assert {"code": "iv-from-twin", "rows": 5, "share_of_gross": twin.share_of_gross}.items() \
        <= next(w for w in a.to_dict()["warnings"] if w["code"] == "iv-from-twin").items()


def one_treatment(total: float, zeros) -> list[Treatment]:
    return [Treatment("parity/otm", (), total, tuple(zeros), None, None)]


def test_an_uncertain_headline_is_flagged_with_the_profile_slope_at_the_zero_nearest_spot():
    s = np.linspace(4500.0, 4900.0, 401)
    gex = 2.5e8 * (s - 4717.0)  # USD per 1% per point
    h = headline_of(4697.24, one_treatment(-5e9, [4717.0]))  # 0.42% from spot: within the margin
    note = ill_conditioned_note(h, 4697.24, [4717.0], s, gex)
    assert note is not None and note.code == "ill-conditioned"
    assert note.value == pytest.approx(2.5e8)
    assert "+0.42% to +0.42% of spot" in note.message and "2.5e+08 USD per 1% per point" in note.message


def test_a_clear_headline_is_not_flagged():
    s = np.linspace(4500.0, 4900.0, 401)
    h = headline_of(4697.24, one_treatment(-5e9, [4734.7]))  # 0.80% away, one sign
    assert h.regime == "short-gamma"
    assert ill_conditioned_note(h, 4697.24, [4734.7], s, 2.5e8 * (s - 4734.7)) is None
    assert ill_conditioned_note(headline_of(4697.24, one_treatment(5e9, [])), 4697.24, [], s, np.ones_like(s)) is None


def test_the_nearest_of_several_zero_levels_gives_the_slope(ndx_path):
    a = analyze(load_cboe(ndx_path), forward="spot", iv_policy="file", grid_points=301, band=False)
    p = a.gamma_profile
    assert len(a.zero_gamma_levels) == 3
    spot = a.zero_gamma_levels[0] * 1.004
    h = headline_of(spot, one_treatment(-1e8, a.zero_gamma_levels))
    moved = ill_conditioned_note(h, spot, a.zero_gamma_levels, p["spot"], p["gex_usd_per_1pct"])
    assert moved is not None and moved.value > 0  # the profile rises through its lowest crossing
