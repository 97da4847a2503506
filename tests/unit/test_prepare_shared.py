"""What every treatment of one chain shares is computed once per rows frame (analytics.prepare.per_rows),
and sharing it changes no number (issue 15: the headline band prepared the same rows four times)."""

from __future__ import annotations

import dataclasses
import gc
import threading
import weakref

import numpy as np
import pandas as pd
import pytest

from analytics import prepare, pricing
from analytics.prepare import per_rows, placeholder_ivs
from analytics.report import prepare_for
from analytics.scenario import Scenario
from analytics.sources.cboe import load_cboe

TREATMENTS = [Scenario(forward=f, iv_policy=i, max_dte=m) for f in ("parity", "spot") for i in ("otm", "file")
              for m in (None, 30)]


def pandas_placeholder_ivs(iv, expiry, strike, side, forward, min_rows=5, atm_ratio=0.5) -> np.ndarray:
    """The rule as first written with pandas (counts by value, the four rows nearest the forward by a
    stable sort, their median): the vectorised version must agree row for row."""
    frame = pd.DataFrame({"expiry": expiry, "iv": iv, "dist": np.abs(np.log(strike / forward))})
    valid = np.isfinite(iv) & (iv > 0)
    itm = valid & (side * (forward - strike) > 0)
    counts = frame.loc[itm].groupby("iv")["iv"].transform("size").reindex(frame.index, fill_value=0)
    near = frame.loc[valid].sort_values("dist", kind="stable").groupby("expiry").head(4)
    atm = frame["expiry"].map(near.groupby("expiry")["iv"].median()).to_numpy(float)
    return itm & (counts.to_numpy() >= min_rows) & (iv < atm_ratio * atm)


@pytest.mark.parametrize("scale", [1.0, 0.97, 1.03])
def test_placeholder_ivs_agree_with_the_pandas_rule_on_the_ndx_file_with_placeholders(ndx_path, scale):
    rows = load_cboe(ndx_path).rows
    args = (rows["iv"].to_numpy(float), rows["expiry"].to_numpy(), rows["strike"].to_numpy(float),
            np.where(rows["side"] == "C", 1.0, -1.0))
    forward = np.full(len(rows), load_cboe(ndx_path).spot * scale)
    got = placeholder_ivs(*args, forward)
    assert got.sum() > 0
    np.testing.assert_array_equal(got, pandas_placeholder_ivs(*args, forward))


def fields(prep) -> dict:
    out = {k: v for k, v in vars(prep).items() if isinstance(v, np.ndarray)}
    out["notes"] = [(n.code, n.summary, None if n.mask is None else n.mask.tolist()) for n in prep.notes]
    out["rows"] = prep.chain.rows
    return out


def test_preparations_from_a_warm_memo_equal_those_of_a_fresh_chain(spx_path):
    warm = load_cboe(spx_path)
    for s in TREATMENTS:  # every shared value computed by an earlier treatment
        prepare_for(warm, s)
    for s in TREATMENTS:
        fresh = dataclasses.replace(warm, rows=warm.rows.copy())  # a new frame: nothing shared yet
        a, b = fields(prepare_for(warm, s)), fields(prepare_for(fresh, s))
        for key in a:
            if key == "rows":
                pd.testing.assert_frame_equal(a[key], b[key])
            elif key == "notes":
                assert a[key] == b[key]
            else:
                np.testing.assert_array_equal(a[key], b[key])


def test_the_row_groups_are_computed_once_for_every_treatment(spx_path, monkeypatch):
    chain = load_cboe(spx_path)
    calls = []
    real = prepare.RowGroups

    def counted(*a, **k):
        calls.append(1)
        return real(*a, **k)

    monkeypatch.setattr(prepare, "RowGroups", counted)
    for s in TREATMENTS:
        prepare_for(chain, s)
    assert len(calls) == 2  # the whole chain's rows and the 30-day selection's (selected once)


def test_a_chain_keeps_one_expiry_selection_the_last(spx_path):
    chain = load_cboe(spx_path)
    for days in (30, 60):
        prepare_for(chain, Scenario(max_dte=days))
    kept = prepare._MEMO[id(chain.rows)][1]["last-selection"]
    assert list(kept) == [(chain.as_of, None, 60)]  # the 30-day selection gave way


def test_a_value_is_computed_once_per_frame_and_key_and_goes_with_the_frame():
    frame = pd.DataFrame({"a": [1.0, 2.0]})
    calls = []

    def compute():
        calls.append(1)
        return 3.0

    assert per_rows(frame, "sum", compute) == per_rows(frame, "sum", compute) == 3.0
    assert len(calls) == 1
    other = frame.copy()  # an equal frame is another frame
    per_rows(other, "sum", lambda: other["a"].sum())
    ref = weakref.ref(frame)
    ident = id(frame)
    del frame
    gc.collect()
    assert ref() is None and ident not in prepare._MEMO


def test_an_exception_is_not_kept_and_a_frame_keeps_at_most_memo_entries_values():
    frame = pd.DataFrame({"a": [1.0]})

    def fails():
        raise ValueError("no")

    for _ in range(2):
        with pytest.raises(ValueError):
            per_rows(frame, "x", fails)
    for i in range(prepare.MEMO_ENTRIES + 5):
        per_rows(frame, i, lambda i=i: i)
    memo = prepare._MEMO[id(frame)][1]
    assert len(memo) == prepare.MEMO_ENTRIES and 0 not in memo and prepare.MEMO_ENTRIES + 4 in memo


def test_a_frame_freed_while_the_memo_is_busy_does_not_deadlock():
    """A frame's callback may run inside the memo's own lock (a collection during an insertion)."""
    frame = pd.DataFrame({"a": [1.0]})
    per_rows(frame, "v", lambda: 1)
    done = threading.Event()

    def run():
        with prepare._MEMO_LOCK:
            nonlocal frame
            frame = None  # the callback runs here, in this thread, with the lock held
            gc.collect()
        done.set()

    t = threading.Thread(target=run, daemon=True)
    t.start()
    t.join(10)
    assert done.is_set()


@pytest.mark.parametrize("name", ["cboe_spx_2024-01-07_phammings.csv", "cboe_ndx_2022-02-05_lucacastelli.csv",
                                  "deribit_btc_ticker_greeks_2026-02-28_tessicin.csv",
                                  "deribit_btc_book_summary_2024-03-12_stevenmaharaj_TESTNET.csv"])
def test_the_row_groups_are_the_groupbys_own(shared_data, name):
    from analytics.sources import load_chain

    rows = load_chain(shared_data / name).rows
    got, ref = prepare.row_groups(rows), prepare._row_groups_by_pandas(rows)
    np.testing.assert_array_equal(got.strike_codes, ref.strike_codes)
    np.testing.assert_array_equal(got.expiry_codes, ref.expiry_codes)
    assert len(got.expiry_rows) == len(ref.expiry_rows)
    for a, b in zip(got.expiry_rows, ref.expiry_rows, strict=True):
        np.testing.assert_array_equal(a, b)


def test_treatments_keeping_the_same_rows_share_one_frame(spx_path):
    chain = load_cboe(spx_path)
    preps = [prepare_for(chain, Scenario(forward=f, iv_policy=i)) for f in ("parity", "spot") for i in ("otm", "file")]
    for p in preps[1:]:
        if len(p.chain.rows) == len(preps[0].chain.rows):  # every row usable under both
            assert p.chain.rows is preps[0].chain.rows
    assert len({id(p.chain.rows) for p in preps}) < len(preps)


def test_the_forward_notes_are_computed_once_for_every_forward_and_iv_policy(spx_path, monkeypatch):
    chain = load_cboe(spx_path)
    calls = []
    real = prepare._forward_notes
    monkeypatch.setattr(prepare, "_forward_notes", lambda *a, **k: calls.append(a[1].spot) or real(*a, **k))
    for forward in ("parity", "spot", "parity"):
        for iv_policy in ("otm", "file"):
            prepare_for(chain, Scenario(forward=forward, iv_policy=iv_policy))
    assert calls == [chain.spot]  # the parity treatments' notes; the spot ones are those without the fallback


def note_fields(notes) -> list[tuple]:
    """What a note says (its masks are over the rows before or after the drops: the summaries and counts
    name the rows and the spot)."""
    return [(n.code, n.summary, n.rows, n.contracts) for n in notes]


FORWARD_CODES = ("forward-fallback", "american-exercise", "forward-basis")


@pytest.mark.parametrize("spot_factor", [1.0, 1.015])  # 1.015: a stale header spot, the parity levels on the quotes'
@pytest.mark.parametrize("first", ["parity", "spot"])
def test_each_forward_choice_reports_the_forward_notes_of_its_own_spot(spx_path, tmp_path, spot_factor, first):
    """The notes as first written, per choice: parity's on the spot it prices on (the quotes' where the
    header's is stale, its fit respotted there) with the fallback expiries; spot's on the header spot
    without them (nothing falls back on spot). Whichever choice is prepared first."""
    from tests.unit.test_model_treatment import rewrite_spot

    path = spx_path
    if spot_factor != 1.0:
        path = tmp_path / "spx_stale.csv"
        rewrite_spot(spx_path, path, spot_factor)
    chain = load_cboe(path)
    order = (first, "spot" if first == "parity" else "parity")
    preps = {forward: prepare_for(chain, Scenario(forward=forward, iv_policy="file")) for forward in order}
    fit = prepare.fwd.chain_forwards(chain)
    parity, spot = preps["parity"], preps["spot"]
    assert (parity.file_spot is not None) == (spot_factor != 1.0)
    on = parity.chain.spot  # the spot the parity levels are on
    table = fit if parity.file_spot is None else prepare.fwd.respot(fit, on)
    oi = chain.rows["open_interest"].to_numpy(float)
    expected = note_fields(prepare._forward_notes(table, dataclasses.replace(chain, spot=on), oi, 0.0, 0.0))
    assert note_fields(n for n in parity.notes if n.code in FORWARD_CODES) == expected
    expected_spot = [e for e in note_fields(prepare._forward_notes(fit, chain, oi, 0.0, 0.0)) if e[0] != "forward-fallback"]
    assert note_fields(n for n in spot.notes if n.code in FORWARD_CODES) == expected_spot
    assert any(e[0] == "forward-basis" for e in expected_spot) == (spot_factor != 1.0)


def former_priced_forwards(prep) -> pd.DataFrame:
    """PreparedChain.priced_forwards as first written: each row's method looked up per distinct expiry and
    handed to model_forwards row by row, the strikes mapped by expiry."""
    expiry = prep.chain.rows["expiry"]
    if prep.chain.model == "black76":
        method: object = "exchange"
    elif prep.forwards is not None:
        codes, distinct = pd.factorize(expiry.to_numpy())
        by_expiry = prep.forwards.set_index("expiry")["method"]
        method = (by_expiry.reindex(distinct).to_numpy(object)[codes] if codes.min(initial=0) >= 0 else
                  expiry.map(by_expiry).to_numpy(object))
    else:
        method = "spot-carry"
    out = prepare.fwd.model_forwards(expiry.to_numpy(), prep.years, prep.level, prep.rate, prep.carry,
                                     prep.chain.spot, method)
    n = prep.forwards.set_index("expiry")["n_strikes"] if prep.forwards is not None else pd.Series(dtype=int)
    out["n_strikes"] = out["expiry"].map(n).fillna(0).astype(int)
    out["expiry"] = [pd.Timestamp(e).date() for e in out["expiry"]]
    return out


@pytest.mark.parametrize("name", ["cboe_spx_2024-01-07_phammings.csv", "cboe_ndx_2022-02-05_lucacastelli.csv",
                                  "deribit_btc_ticker_greeks_2026-02-28_tessicin.csv"])
def test_the_priced_forwards_are_those_of_the_former_per_row_lookup(name):
    from analytics.sources import load_chain
    from tests.conftest import shared_file

    chain = load_chain(shared_file(name))
    for s in (*TREATMENTS, Scenario(expiries=(str(chain.expiries[2]),))):
        prep = prepare_for(chain, s)
        pd.testing.assert_frame_equal(prep.priced_forwards(), former_priced_forwards(prep), check_exact=True)
    # an expiry the fit's table lacks: no method, no strikes
    prep = prepare_for(chain, Scenario())
    if prep.forwards is not None:
        partial = dataclasses.replace(prep, forwards=prep.forwards.iloc[1:].reset_index(drop=True))
        pd.testing.assert_frame_equal(partial.priced_forwards(), former_priced_forwards(partial), check_exact=True)


def test_the_parity_fit_and_the_engine_inputs_read_the_rows_time_to_settlement_once(spx_path, monkeypatch):
    from analytics.chain import OptionChain

    chain = load_cboe(spx_path)
    calls = []
    real = OptionChain.years_to_settlement
    monkeypatch.setattr(OptionChain, "years_to_settlement", lambda self: calls.append(1) or real(self))
    for s in TREATMENTS:
        if s.max_dte is None:  # no expiry selection: the fit's rows are the preparation's
            prepare_for(chain, s)
    assert len(calls) == 1
    fresh = dataclasses.replace(chain, rows=chain.rows.copy())
    pd.testing.assert_frame_equal(prepare.fwd.expiry_forwards(fresh, years=prepare.row_years(fresh)),
                                  prepare.fwd.expiry_forwards(fresh), check_exact=True)


@pytest.mark.parametrize("seed", range(4))
def test_placeholder_ivs_agree_with_the_pandas_rule_where_distances_tie(seed):
    """Calls and puts of a strike, and strikes mirrored around the forward, lie at equal distances: the
    four rows nearest the forward are the earliest of the tied (a stable sort), as pandas takes them."""
    rng = np.random.default_rng(seed)
    n = 3000
    expiry = rng.integers(0, 12, n)
    forward = 100.0
    strike = forward * np.exp(rng.choice(np.arange(-6, 7), n) * 0.01)  # ln(K/F) mirrored: ties in distance
    side = rng.choice([-1.0, 1.0], n)
    iv = np.where(rng.random(n) < 0.3, 0.01, rng.choice([0.18, 0.2, 0.22, 0.25], n))
    iv[rng.random(n) < 0.02] = np.nan
    np.testing.assert_array_equal(placeholder_ivs(iv, expiry, strike, side, forward),
                                  pandas_placeholder_ivs(iv, expiry, strike, side, np.full(n, forward)))


@pytest.mark.parametrize("name", ["cboe_spx_2024-01-07_phammings.csv", "cboe_ndx_2022-02-05_lucacastelli.csv"])
def test_each_rows_parity_forward_and_rate_are_the_former_map_on_the_expiry(name):
    from analytics.sources import load_chain
    from tests.conftest import shared_file

    chain = load_chain(shared_file(name))
    table = prepare.fwd.chain_forwards(chain)
    expiry = chain.rows["expiry"]
    for part in (table, table.iloc[::2].reset_index(drop=True), table.iloc[:0]):  # some expiries missing: NaN
        per_expiry = part.set_index("expiry")
        dates = np.r_[expiry.to_numpy(), np.datetime64("NaT")]
        for column in ("forward", "implied_rate"):
            former = pd.Series(dates).map(per_expiry[column]).to_numpy(float)
            np.testing.assert_array_equal(prepare._by_expiry(part, dates, column).astype(float), former)
        # the priced forwards' method and parity strikes per expiry (no strikes where the table lacks it)
        former_n = pd.Series(dates).map(per_expiry["n_strikes"]).fillna(0).astype(int).to_numpy()
        np.testing.assert_array_equal(prepare._by_expiry(part, dates, "n_strikes", missing=0).astype(int), former_n)
        former_method = pd.Series(dates).map(per_expiry["method"]).to_numpy(object)
        got_method = prepare._by_expiry(part, dates, "method")
        assert [m if isinstance(m, str) else None for m in got_method] == [
            m if isinstance(m, str) else None for m in former_method]



def former_drop_notes(dropped, px, level, strike, years, side, rates, carry, oi, mult, smile) -> list:
    """prepare._drop_notes as first written: the price at IV_MIN and the bound on every row."""
    quoted = np.isfinite(px) & (px > 0)
    with np.errstate(invalid="ignore", over="ignore"):
        floor = pricing.price(level, strike, years, pricing.IV_MIN, side, rates, carry)
        bound = np.where(side > 0, level * np.exp(-carry * years), strike * np.exp(-rates * years))
    low = dropped & quoted & (px <= floor * (1 + 1e-12))
    above = dropped & quoted & ~low & (px >= bound)
    sized = dropped & np.isfinite(smile)
    gex = np.zeros(px.size)
    flow = np.zeros(px.size)
    if sized.any():
        i = np.flatnonzero(sized)
        now = pricing.greeks(level[i], strike[i], years[i], smile[i], side[i], rates[i], carry[i])
        up = pricing.greeks(level[i] * (1.0 + prepare.FLOW_SHOCK_PCT / 100.0), strike[i], years[i], smile[i], side[i],
                            rates[i], carry[i])
        gex[i] = np.abs(oi[i] * mult[i] * now.gamma * level[i] ** 2 * 0.01)
        flow[i] = np.abs(oi[i] * mult[i] * (up.delta - now.delta))
    out = []
    for code, mask, why in (
        ("dropped-no-quote", dropped & ~quoted, "no usable IV and no quote to solve one from"),
        ("dropped-at-intrinsic", low, "a quote at or below intrinsic value (no IV reproduces it)"),
        ("dropped-above-bound", above, "a quote at or above the no-arbitrage bound (a call above the "
         "forward's present value, a put above the strike's)"),
        ("dropped-unsolved", dropped & quoted & ~low & ~above, "a quote below the no-arbitrage bound that no IV "
         f"up to {pricing.IV_MAX:g} reproduces (far wings quoted at the minimum tick)"),
    ):
        if mask.any():
            note = prepare.row_note(code, f"dropped {int(mask.sum())} row(s) with {why} ({int(oi[mask].sum()):,} contracts "
                            "of open interest; shares at the expiry's smile IV)", mask, oi, keep_mask=False)
            out.append(dataclasses.replace(note, outside_gex=float(gex[mask].sum()), outside_flow=float(flow[mask].sum())))
    return out


DROP_FIELDS = ("code", "summary", "rows", "contracts", "outside_gex", "outside_flow")


def assert_same_notes(got, want) -> None:
    assert [tuple(getattr(n, f) for f in DROP_FIELDS) for n in got] == [tuple(getattr(n, f) for f in DROP_FIELDS)
                                                                         for n in want]
    assert all(np.array_equal(a.mask, b.mask) for a, b in zip(got, want, strict=True))


@pytest.mark.parametrize("seed", range(3))
def test_the_drop_notes_of_every_kind_are_those_of_the_former_all_rows_pricing(seed):
    """Quotes missing, at the price at IV_MIN (just below, just above), at and above the no-arbitrage
    bound, and in between, on dropped and kept rows."""
    rng = np.random.default_rng(seed)
    n = 3000
    level, strike = rng.uniform(80, 120, n), rng.uniform(50, 150, n)
    years, side = rng.uniform(1e-3, 2.0, n), rng.choice([-1.0, 1.0], n)
    rates, carry = rng.uniform(-0.01, 0.06, n), rng.uniform(0.0, 0.04, n)
    floor = pricing.price(level, strike, years, pricing.IV_MIN, side, rates, carry)
    bound = np.where(side > 0, level * np.exp(-carry * years), strike * np.exp(-rates * years))
    px = np.choose(rng.integers(0, 7, n), [np.full(n, np.nan), np.zeros(n), floor * (1 - 1e-13), floor * (1 + 1e-9),
                                           bound, bound * 1.01, 0.5 * (floor + bound)])
    smile = np.where(rng.random(n) < 0.2, np.nan, rng.uniform(0.1, 0.6, n))
    oi, mult = rng.integers(0, 500, n).astype(float), np.full(n, 100.0)
    dropped = rng.random(n) < 0.3
    args = (dropped, px, level, strike, years, side, rates, carry, oi, mult, smile)
    got = prepare._drop_notes(*args)
    assert {nt.code for nt in got} == {"dropped-no-quote", "dropped-at-intrinsic", "dropped-above-bound",
                                       "dropped-unsolved"}
    assert_same_notes(got, former_drop_notes(*args))


def test_the_drop_notes_are_those_of_the_former_all_rows_pricing(monkeypatch):
    from analytics.sources import load_chain
    from tests.conftest import shared_file

    seen = []
    real = prepare._drop_notes
    monkeypatch.setattr(prepare, "_drop_notes", lambda *a: seen.append(a) or real(*a))
    chain = load_chain(shared_file("cboe_ndx_2022-02-05_lucacastelli.csv"))  # rows without a quote or an IV
    for s in TREATMENTS:
        prepare_for(chain, s)
    assert seen
    for args in seen:
        with np.errstate(invalid="ignore", over="ignore"):
            assert_same_notes(real(*args), former_drop_notes(*args))
