"""Issue #16, model-treatment findings: what the quotes say against the file's own header (stale spot,
weekend clock), placeholder shares, drop notes, American exercise. Reproduced on the shared files or rewritten copies."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analytics import forwards as fwd
from analytics import pricing
from analytics.chain import settlement_instants, years_between
from analytics.report import analyze, prepare_for
from analytics.scenario import Scenario
from analytics.sources.cboe import load_cboe
from tests.unit.synthetic import AS_OF, chain_from, quotes_frame


def rewrite_spot(src: Path, dst: Path, factor: float) -> float:
    """A copy of a CBOE quote table whose ``Last:`` spot is ``factor`` times the file's; the new spot."""
    text = src.read_text()
    old = float(re.search(r"Last: ([0-9.]+)", text).group(1))
    new = round(old * factor, 4)
    dst.write_text(text.replace(f"Last: {re.search(r'Last: ([0-9.]+)', text).group(1)}", f"Last: {new}", 1))
    return new


@pytest.fixture(scope="module")
def spx_file(spx_path):
    return analyze(load_cboe(spx_path), iv_policy="file")


def test_a_stale_header_spot_is_replaced_by_the_spot_the_quotes_imply(spx_path, tmp_path, spx_file):
    stale = rewrite_spot(spx_path, tmp_path / "spx_stale.csv", 1.015)
    a = analyze(load_cboe(tmp_path / "spx_stale.csv"), iv_policy="file")
    # the levels sit where they sit on the true file: on the spot the quotes imply, not the header's
    assert a.spot == pytest.approx(spx_file.spot, rel=5e-4)
    assert a.zero_gamma_levels[0] == pytest.approx(spx_file.zero_gamma_levels[0], rel=5e-4)
    flow = a.hedge_curve.set_index("shock_pct")["hedge_flow_units"]
    ref = spx_file.hedge_curve.set_index("shock_pct")["hedge_flow_units"]
    assert flow[5.0] == pytest.approx(ref[5.0], rel=2e-3)
    note = next(n for n in a.notes if n.code == "spot-stale")
    assert note.value == pytest.approx(stale)
    # the note names both spots and the levels on the file's spot (moved by the basis)
    assert f"{stale:,.6g}" in note.message and f"{a.spot:,.6g}" in note.message
    on_file = a.zero_gamma_levels[0] * stale / a.spot
    assert f"zero gamma {on_file:,.6g}" in note.message
    assert on_file == pytest.approx(spx_file.zero_gamma_levels[0] * 1.015, rel=5e-4)
    assert a.to_dict()["spot"] == a.spot


def test_a_header_spot_the_quotes_agree_with_is_kept(spx_file):
    assert spx_file.spot == 4697.2402
    assert not any(n.code == "spot-stale" for n in spx_file.notes)


def test_the_spot_model_keeps_the_file_spot_and_says_the_forwards_disagree(spx_path, tmp_path):
    stale = rewrite_spot(spx_path, tmp_path / "spx_stale.csv", 1.015)
    a = analyze(load_cboe(tmp_path / "spx_stale.csv"), forward="spot")
    assert a.spot == stale
    assert any(n.code == "forward-basis" for n in a.notes)


def atm_rows(prep, expiry: str, n: int = 6) -> np.ndarray:
    rows = prep.chain.rows
    forward = prep.level * np.exp((prep.rate - prep.carry) * prep.years)
    on_day = np.flatnonzero((rows["expiry"] == pd.Timestamp(expiry)).to_numpy() & (rows["bid"] > 0).to_numpy())
    return on_day[np.argsort(np.abs(rows["strike"].to_numpy(float)[on_day] / forward[on_day] - 1))[:n]]


def priced_over_mid(prep, idx: np.ndarray) -> np.ndarray:
    rows = prep.chain.rows.iloc[idx]
    model = pricing.price(prep.level[idx], rows["strike"].to_numpy(float), prep.years[idx], prep.iv[idx],
                          prep.side[idx], prep.rate[idx], prep.carry[idx])
    return model / (0.5 * (rows["bid"] + rows["ask"])).to_numpy(float)


def test_a_weekend_stamp_runs_the_file_ivs_from_the_quotes_session_close(spx_path):
    chain = load_cboe(spx_path)  # stamped Sunday 2024-01-07 10:52 EST; quotes and IVs are Friday's
    prep = prepare_for(chain, Scenario(iv_policy="file"))
    idx = atm_rows(prep, "2024-01-08")
    # Monday's PM settlement is 3.00 days from Friday's 16:00 close (1.21 from the stamp)
    assert prep.years[idx] * 365 == pytest.approx(np.full(idx.size, 3.0))
    # on that clock the file's IVs give back the quotes they were solved from
    assert np.median(np.abs(priced_over_mid(prep, idx) - 1)) < 0.03
    note = next(n for n in prep.notes if n.code == "stamp-outside-session")
    assert "Fri 2024-01-05 16:00" in note.message and "Sun 2024-01-07 10:52" in note.message
    assert "file IV 6.6%" in note.message and "imply 10.3%" in note.message
    assert note.value == pytest.approx(365 * (prep.years[idx[0]]) - 365 * chain.years_to_settlement()[idx[0]])


def test_the_otm_policy_keeps_the_stamps_clock_and_says_where_the_quotes_are_from(spx_path):
    chain = load_cboe(spx_path)
    prep = prepare_for(chain, Scenario(iv_policy="otm"))
    np.testing.assert_array_equal(prep.years, prep.chain.years_to_settlement())
    note = next(n for n in prep.notes if n.code == "stamp-outside-session")
    assert "solved from those quotes on the stamp's clock" in note.message
    # the IVs solved there price the quotes on that clock
    assert np.median(np.abs(priced_over_mid(prep, atm_rows(prep, "2024-01-08")) - 1)) < 0.03


def test_a_stamp_inside_the_session_keeps_its_clock(spx_path, tmp_path):
    text = spx_path.read_text().replace("January 7, 2024 at 10:52 AM EST", "January 5, 2024 at 11:52 AM EST")
    (tmp_path / "spx_friday.csv").write_text(text)
    chain = load_cboe(tmp_path / "spx_friday.csv")
    prep = prepare_for(chain, Scenario(iv_policy="file"))
    np.testing.assert_array_equal(prep.years, prep.chain.years_to_settlement())
    assert not any(n.code == "stamp-outside-session" for n in prep.notes)


@pytest.fixture(scope="module")
def ndx_classic(ndx_path):
    chain = load_cboe(ndx_path)
    scenario = Scenario(forward="spot", iv_policy="file")
    return chain, scenario, prepare_for(chain, scenario)


def test_the_placeholder_share_under_the_file_policy_is_sized_at_the_expirys_smile(ndx_classic):
    chain, scenario, prep = ndx_classic
    note = next(n for n in analyze(chain, scenario, prepared=prep).notes if n.code == "iv-placeholder")
    # at the placeholder IVs (0.001, 0.02) deep in-the-money gamma is nil: "<1% of gross"; at a sane IV 4%
    assert note.rows == 2813 and 0.035 < note.share_of_gross < 0.05
    assert "4% of gross GEX" in note.message and "smile IV" in note.message
    held = note.mask & (prep.chain.rows["open_interest"].to_numpy() > 0)
    smile = prep.placeholder_smile[held]
    assert np.isfinite(smile).all() and (smile > 0.15).all()  # NDX smiles: 20-100%, not 0.1-2%


def test_two_of_the_three_ndx_crossings_are_artefacts_of_the_placeholders(ndx_classic):
    chain, scenario, prep = ndx_classic
    assert len(analyze(chain, scenario, prepared=prep).zero_gamma_levels) == 3
    sane = dataclasses.replace(prep, iv=np.where(np.isfinite(prep.placeholder_smile), prep.placeholder_smile,
                                                 prep.iv))
    zeros = analyze(chain, scenario, prepared=sane).zero_gamma_levels
    assert len(zeros) == 1 and zeros[0] == pytest.approx(14922, abs=5)


def test_every_drop_note_gives_its_true_reason_and_its_share_of_gross():
    frame = quotes_frame(days=(30,))
    for k, side, price in ((110.0, "C", 60.0), (80.0, "P", 90.0)):
        frame.loc[frame["strike"] == k, "iv"] = np.nan  # no file IV on either side: solved from the quote
        at = (frame["strike"] == k) & (frame["side"] == side)
        frame.loc[at, ["bid", "ask", "mark"]] = [price - 1, price + 1, price]
    a = analyze(chain_from(frame), forward="spot", iv_policy="file", grid_points=61)
    notes = {n.code: n for n in a.notes}
    # 60 for a 110 call on spot 100 is below the bound (100) but above what IV 5 gives over 30 days
    unsolved = notes["dropped-unsolved"]
    assert unsolved.rows == 1 and "below the no-arbitrage bound" in unsolved.message
    above = notes["dropped-above-bound"]  # a put quoted 90 on strike 80
    assert above.rows == 1 and "at or above the no-arbitrage bound" in above.message
    assert unsolved.share_of_gross is not None and above.share_of_gross is not None
    # the share is the dropped row's GEX at its smile (near the true one) over the gross with it added back
    gross_kept = float((a.by_strike["call_gex_usd_per_1pct"].abs() + a.by_strike["put_gex_usd_per_1pct"].abs()).sum())
    row = frame.loc[(frame["strike"] == 110) & (frame["side"] == "C")].iloc[0]
    g = pricing.greeks(100.0, 110.0, row["years"], row["true_iv"], 1.0, 0.0, 0.0).gamma
    dropped = 1000 * 100 * g * 100.0 ** 2 * 0.01
    assert unsolved.share_of_gross == pytest.approx(dropped / (gross_kept + dropped), rel=1e-3)
    assert unsolved.share_of_gross > 0.005 and "% of gross GEX" in unsolved.message


def crr(spot, strike, years, sigma, rate, div_yield, is_call, *, american=True, steps=200):
    """Cox-Ross-Rubinstein binomial prices over an array of strikes (American or European exercise)."""
    dt = years / steps
    up = np.exp(sigma * np.sqrt(dt))
    p = (np.exp((rate - div_yield) * dt) - 1 / up) / (up - 1 / up)
    w = 1.0 if is_call else -1.0
    value = np.maximum(w * (spot * up ** (steps - 2.0 * np.arange(steps + 1))[None, :] - strike[:, None]), 0.0)
    for i in range(steps - 1, -1, -1):
        value = np.exp(-rate * dt) * (p * value[:, :-1] + (1 - p) * value[:, 1:])
        if american:
            value = np.maximum(value, w * (spot * up ** (i - 2.0 * np.arange(i + 1))[None, :] - strike[:, None]))
    return value[:, 0]


def binomial_chain(*, american: bool, rate=0.05, div_yield=0.0, sigma=0.15, days=(7, 14, 45, 91, 182, 365, 730)):
    """A stock's chain quoted around CRR prices (spread 0.02 + 1%), root XYZ, spot 100."""
    strikes = np.arange(50.0, 151.0, 2.5)
    expiry = pd.Series(pd.to_datetime([(AS_OF + pd.Timedelta(days=d)).date() for d in days]))
    settle = settlement_instants(expiry, pd.Series(["XYZ"] * len(days)))
    frames = []
    for e, s, t in zip(expiry, settle, years_between(AS_OF, settle), strict=True):
        for side in ("C", "P"):
            px = crr(100.0, strikes, t, sigma, rate, div_yield, side == "C", american=american)
            half = 0.02 + 0.01 * px
            quoted = px - half > 0.01
            frames.append(pd.DataFrame({
                "root": "XYZ", "expiry": e, "settlement": s, "strike": strikes, "side": side, "open_interest": 1000.0,
                "iv": np.nan, "bid": np.where(quoted, px - half, 0.0), "ask": np.where(quoted, px + half, 0.05),
                "mark": np.where(quoted, px, np.nan), "multiplier": 100.0}))
    return chain_from(pd.concat(frames, ignore_index=True))


@pytest.fixture(scope="module")
def american():
    return binomial_chain(american=True)


def test_early_exercise_is_never_printed_as_a_negative_rate(american):
    table = fwd.expiry_forwards(american)
    # the free fit reads in-the-money puts' early-exercise value as rates of -16% to -4.5%
    assert table["early_exercise"].sum() >= 5
    assert (table["implied_rate"] >= fwd.MIN_RATE).all()
    a = analyze(american)
    assert all(f["implied_rate"] >= fwd.MIN_RATE for f in a.to_dict()["forwards"])
    note = next(n for n in a.notes if n.code == "american-exercise")
    assert "American-style options (XYZ)" in note.message and "read low" in note.message
    assert note.share_of_gross > 0.5


def test_a_european_chain_of_the_same_stock_is_not_flagged(american):
    table = fwd.expiry_forwards(binomial_chain(american=False))
    assert not table["early_exercise"].any()
    # European quotes give the rate back (5%) where the slope sees it
    long = table.loc[table["years"] > 0.4, "implied_rate"]
    assert np.allclose(long, 0.05, atol=0.003)
