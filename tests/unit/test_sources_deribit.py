"""Deribit book summaries and tickers: the real files in ../shared/data and recorded API responses."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analytics.errors import ChainDataError
from analytics.pricing import greeks, side_sign
from analytics.sources import load_chain
from analytics.sources.deribit import load_deribit, parse_instrument_names

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


@pytest.fixture(scope="module")
def ticker_chain(deribit_ticker_path):
    return load_deribit(deribit_ticker_path)


@pytest.fixture(scope="module")
def ticker_raw(deribit_ticker_path):
    return pd.read_csv(deribit_ticker_path)


@pytest.fixture(scope="module")
def book_chain(deribit_book_summary_path):
    return load_deribit(deribit_book_summary_path)


def test_instrument_names_give_currency_expiry_strike_and_side():
    parts = parse_instrument_names(
        pd.Series(["BTC-13MAR26-61000-C", "ETH-5APR24-3250-P", "XRP_USDC-30JUN25-2d2-C", "SOL-27DEC24-187.5-P"])
    )
    assert parts["base"].tolist() == ["BTC", "ETH", "XRP", "SOL"]
    assert parts["strike"].tolist() == [61000.0, 3250.0, 2.2, 187.5]
    assert parts["side"].tolist() == ["C", "P", "C", "P"]
    assert [d.date().isoformat() for d in parts["expiry"]] == ["2026-03-13", "2024-04-05", "2025-06-30", "2024-12-27"]


def test_unreadable_instrument_name_is_an_error_naming_file_and_line(tmp_path):
    path = tmp_path / "bad_name.csv"
    path.write_text(
        "instrument_name,mark_iv,underlying_price,open_interest,mark_price,estimated_delivery_price,creation_timestamp\n"
        "BTC-13MAR26-61000-C,50,66000,1,0.1,66000,1772373000000\n"
        "BTC-13XYZ26-61000-C,50,66000,1,0.1,66000,1772373000000\n"
    )
    with pytest.raises(ChainDataError, match=r"bad_name\.csv: line 3, field 'instrument_name'.*BTC-13XYZ26"):
        load_chain(path)


def test_ticker_file_loads_all_166_options_over_8_expiries(ticker_chain):
    assert len(ticker_chain.rows) == 166
    assert len(ticker_chain.expiries) == 8
    assert ticker_chain.underlying == "BTC"
    assert ticker_chain.model == "black76"
    assert (ticker_chain.rows["multiplier"] == 1.0).all()
    assert ticker_chain.spot == pytest.approx(66742.5678)


def test_book_summary_file_loads_all_1198_options_over_12_expiries(book_chain):
    assert len(book_chain.rows) == 1198
    assert len(book_chain.expiries) == 12
    assert (book_chain.rows["multiplier"] == 1.0).all()
    assert book_chain.spot == pytest.approx(72011.29)
    assert book_chain.warnings == ()


def test_book_summary_snapshot_is_its_response_time(book_chain):
    assert book_chain.as_of.tz_convert("UTC").floor("s") == pd.Timestamp("2024-03-12 05:57:12", tz="UTC")


def test_deribit_options_settle_at_0800_utc(ticker_chain, book_chain):
    for chain in (ticker_chain, book_chain):
        settle = pd.DatetimeIndex(chain.rows["settlement"]).tz_convert("UTC")
        assert (settle.hour == 8).all() and (settle.minute == 0).all()
        assert (settle.normalize().tz_localize(None) == pd.DatetimeIndex(chain.rows["expiry"])).all()


def test_forward_is_per_expiry_and_rises_with_expiry_in_the_ticker_file(ticker_chain):
    by_expiry = ticker_chain.rows.groupby("expiry")["forward"]
    spread = (by_expiry.max() - by_expiry.min()) / by_expiry.median()
    assert (spread < 1e-4).all()
    assert by_expiry.median().is_monotonic_increasing


def test_book_summary_forward_matches_underlying_price_of_each_row(book_chain, deribit_book_summary_path):
    raw = pd.read_csv(deribit_book_summary_path)
    expected = dict(zip(raw["instrument_name"], raw["underlying_price"], strict=True))
    rows = book_chain.rows
    names = (
        "BTC-" + pd.to_datetime(rows["expiry"]).map(lambda d: f"{d.day}{d.strftime('%b%y').upper()}")
        + "-" + rows["strike"].map(lambda k: f"{k:g}") + "-" + rows["side"]
    )
    np.testing.assert_allclose(rows["forward"], names.map(expected).astype(float), rtol=0, atol=0)


def test_mark_iv_percent_becomes_a_decimal(ticker_chain, ticker_raw):
    assert ticker_chain.rows["iv"].median() == pytest.approx(ticker_raw["mark_iv"].median() / 100)
    assert ticker_chain.rows["iv"].between(0.3, 0.7).all()


def test_coin_prices_are_converted_to_usd_with_the_forward(ticker_chain, ticker_raw):
    raw = ticker_raw.assign(side=ticker_raw["type"].str[0].str.upper(), forward=ticker_raw["underlying_price"])
    merged = ticker_chain.rows.merge(raw, on=["strike", "side", "forward"], how="inner")
    merged = merged[pd.to_datetime(merged["expiration"]).dt.tz_localize(None).dt.normalize() == merged["expiry"]]
    assert len(merged) == 166
    np.testing.assert_allclose(merged["mark"], merged["mark_price"] * merged["underlying_price"], rtol=1e-12)
    np.testing.assert_allclose(merged["bid"], merged["best_bid_price"] * merged["underlying_price"], rtol=1e-12)


def test_black76_on_the_forward_reproduces_mark_price_times_forward_not_times_index(ticker_chain):
    rows = ticker_chain.rows
    g = greeks(rows["forward"], rows["strike"], ticker_chain.years_to_settlement(), rows["iv"], side_sign(rows["side"]))
    err_forward = np.abs(g.price - rows["mark"])
    err_index = np.abs(g.price - rows["mark"] / rows["forward"] * ticker_chain.spot)
    # mark_price has 4 decimals: 0.00005 BTC is about 3.4 USD, plus mark_iv's 2-decimal rounding
    assert err_forward.max() < 6.0
    assert np.median(err_index) > 5 * np.median(err_forward)


def test_ticker_snapshot_is_inferred_from_deribits_greeks_and_says_so(ticker_chain):
    # the source says "about 2026-03-01 13:49 UTC"; no column of the file holds it
    assert abs(ticker_chain.as_of - pd.Timestamp("2026-03-01 13:49", tz="UTC")) < pd.Timedelta(minutes=2)
    assert any("inferred" in w and "delta" in w for w in ticker_chain.warnings)


def test_deribit_greeks_are_reproduced_by_black76_on_the_forward(ticker_chain, ticker_raw):
    """Black-76 on underlying_price, r = 0, ACT/365 to 08:00 UTC, sigma = mark_iv / 100, at the inferred as_of."""
    raw = ticker_raw
    settle = pd.to_datetime(raw["expiration_timestamp"], unit="ms", utc=True)
    years = (settle - ticker_chain.as_of).dt.total_seconds().to_numpy() / (365 * 86400)
    g = greeks(raw["underlying_price"], raw["strike"], years, raw["mark_iv"] / 100, side_sign(raw["type"].str[0]))
    np.testing.assert_allclose(g.delta, raw["delta"], rtol=0, atol=1e-4)
    np.testing.assert_allclose(g.vega * 0.01, raw["vega"], rtol=2e-4)  # USD per vol point
    # Deribit prints gamma to 5 decimals (4e-05): agree to half a unit in the last place...
    np.testing.assert_allclose(g.gamma, raw["gamma"], rtol=0, atol=0.5e-5 + 1e-12)
    # ...and, where the rounding leaves 2 significant digits, to its relative precision
    assert np.all(np.abs(g.gamma / raw["gamma"] - 1) < 0.5e-5 / raw["gamma"] + 1e-9)


def test_a_different_snapshot_time_breaks_the_greeks_agreement(ticker_chain, ticker_raw):
    raw = ticker_raw
    settle = pd.to_datetime(raw["expiration_timestamp"], unit="ms", utc=True)
    shifted = ticker_chain.as_of - pd.Timedelta(hours=2)
    years = (settle - shifted).dt.total_seconds().to_numpy() / (365 * 86400)
    g = greeks(raw["underlying_price"], raw["strike"], years, raw["mark_iv"] / 100, side_sign(raw["type"].str[0]))
    assert np.abs(g.delta - raw["delta"]).max() > 10 * 2.5e-5


def test_explicit_as_of_overrides_the_inference(deribit_ticker_path):
    chain = load_deribit(deribit_ticker_path, as_of="2026-03-01T13:49:00+00:00")
    assert chain.as_of == pd.Timestamp("2026-03-01 13:49", tz="UTC")
    assert not any("inferred" in w for w in chain.warnings)


def test_book_summary_api_response_json_loads_with_usout_time_and_index_spot():
    chain = load_chain(FIXTURES / "deribit_book_summary_btc_response.json")
    assert chain.as_of == pd.Timestamp("2025-06-02 09:15:00", tz="UTC")
    assert chain.spot == 105000.0
    assert len(chain.rows) == 12 and len(chain.expiries) == 2
    assert set(chain.rows.groupby("expiry")["forward"].first()) == {105120.5, 105610.0}


def test_bare_list_of_book_summary_records_loads(tmp_path):
    obj = json.loads((FIXTURES / "deribit_book_summary_btc_response.json").read_text())
    path = tmp_path / "records.json"
    path.write_text(json.dumps(obj["result"]))
    chain = load_chain(path)
    assert len(chain.rows) == 12
    # no usOut: the records' common creation_timestamp is the response time
    assert abs(chain.as_of - pd.Timestamp("2025-06-02 09:15:00", tz="UTC")) < pd.Timedelta(seconds=1)


def test_ticker_api_records_with_nested_greeks_load_with_their_timestamp():
    chain = load_chain(FIXTURES / "deribit_ticker_eth_results.json")
    assert chain.underlying == "ETH"
    assert chain.as_of == pd.Timestamp("2025-06-02 09:19:59.750", tz="UTC")
    assert chain.spot == 2600.0
    assert len(chain.rows) == 6 and chain.model == "black76"


def test_ticker_api_greeks_match_black76_at_the_recorded_timestamp():
    obj = json.loads((FIXTURES / "deribit_ticker_eth_results.json").read_text())
    chain = load_chain(FIXTURES / "deribit_ticker_eth_results.json")
    rows = chain.rows
    g = greeks(rows["forward"], rows["strike"], chain.years_to_settlement(), rows["iv"], side_sign(rows["side"]))
    recorded = pd.DataFrame([{**r["greeks"], "strike": float(r["instrument_name"].split("-")[2]),
                              "side": r["instrument_name"][-1]} for r in obj["result"]])
    merged = rows.assign(delta=g.delta).merge(recorded, on=["strike", "side"], suffixes=("", "_deribit"))
    np.testing.assert_allclose(merged["delta"], merged["delta_deribit"], atol=1e-4)


def test_mark_iv_given_as_decimals_is_rejected(tmp_path, deribit_ticker_path):
    raw = pd.read_csv(deribit_ticker_path)
    raw["mark_iv"] = raw["mark_iv"] / 100
    path = tmp_path / "decimal_iv.csv"
    raw.to_csv(path, index=False)
    with pytest.raises(ChainDataError, match=r"decimal_iv\.csv: field 'mark_iv': mark_iv looks like decimals"):
        load_chain(path)


def test_negative_open_interest_in_a_deribit_file_names_the_line(tmp_path, deribit_book_summary_path):
    raw = pd.read_csv(deribit_book_summary_path)
    raw.loc[4, "open_interest"] = -3
    path = tmp_path / "neg_oi.csv"
    raw.to_csv(path, index=False)
    with pytest.raises(ChainDataError, match=r"neg_oi\.csv: line 6, field 'open_interest': negative open interest"):
        load_chain(path)


def test_non_numeric_forward_in_a_deribit_file_names_the_line(tmp_path, deribit_ticker_path):
    raw = pd.read_csv(deribit_ticker_path, dtype=str)
    raw.loc[2, "underlying_price"] = "66k"
    path = tmp_path / "bad_fwd.csv"
    raw.to_csv(path, index=False)
    with pytest.raises(ChainDataError, match=r"bad_fwd\.csv: line 4, field 'underlying_price': not a number"):
        load_chain(path)


def test_missing_forward_in_a_deribit_file_names_the_line(tmp_path, deribit_ticker_path):
    raw = pd.read_csv(deribit_ticker_path, dtype=str)
    raw.loc[2, "underlying_price"] = ""
    path = tmp_path / "no_fwd.csv"
    raw.to_csv(path, index=False)
    with pytest.raises(ChainDataError, match=r"no_fwd\.csv: line 4, field 'forward': Black-76 rows need a positive"):
        load_chain(path)


def test_expired_only_deribit_chain_is_an_error(tmp_path):
    obj = json.loads((FIXTURES / "deribit_book_summary_btc_response.json").read_text())
    obj["usOut"] = int(pd.Timestamp("2025-07-01", tz="UTC").value // 1000)
    path = tmp_path / "expired.json"
    path.write_text(json.dumps(obj))
    with pytest.raises(ChainDataError, match=r"expired\.json: no live rows: all 12 rows settled"):
        load_chain(path)


def test_file_without_any_snapshot_clue_asks_for_as_of(tmp_path):
    path = tmp_path / "no_time.csv"
    path.write_text(
        "instrument_name,mark_iv,underlying_price,open_interest,mark_price\n"
        "BTC-13MAR26-61000-C,50,66000,1,0.1\n"
    )
    with pytest.raises(ChainDataError, match=r"no_time\.csv: no snapshot time.*as_of"):
        load_chain(path)
    assert len(load_chain(path, as_of="2026-03-01T00:00:00Z").rows) == 1


def test_several_currencies_in_one_file_are_rejected(tmp_path):
    path = tmp_path / "mixed.csv"
    path.write_text(
        "instrument_name,mark_iv,underlying_price,open_interest,mark_price,creation_timestamp\n"
        "BTC-13MAR26-61000-C,50,66000,1,0.1,1772373000000\n"
        "ETH-13MAR26-2000-C,50,2000,1,0.1,1772373000000\n"
    )
    with pytest.raises(ChainDataError, match=r"mixed\.csv: several underlyings"):
        load_chain(path)


def test_snapshot_inference_does_not_need_instrument_creation_times(deribit_ticker_path, ticker_chain):
    from analytics.sources.deribit import records_to_chain

    raw = pd.read_csv(deribit_ticker_path).drop(columns="creation_timestamp")
    chain = records_to_chain(raw, source=deribit_ticker_path, line_offset=2)
    assert abs(chain.as_of - ticker_chain.as_of) <= pd.Timedelta(seconds=1)


def test_futures_in_a_book_summary_are_skipped_with_a_count(tmp_path):
    path = tmp_path / "mixed_kinds.csv"
    path.write_text(
        "instrument_name,mark_iv,underlying_price,open_interest,mark_price,estimated_delivery_price,creation_timestamp\n"
        "BTC-PERPETUAL,,66000,1000000,66010,66000,1772373000000\n"
        "BTC-27MAR26,,66400,500000,66400,66000,1772373000000\n"
        "BTC-27MAR26-70000-C,50,66400,3,0.02,66000,1772373000000\n"
    )
    chain = load_chain(path)
    assert len(chain.rows) == 1
    assert "skipped 2 non-option instrument(s)" in chain.warnings[0]


def test_linear_usdc_options_are_already_in_usd(tmp_path):
    path = tmp_path / "linear.csv"
    path.write_text(
        "instrument_name,quote_currency,mark_iv,underlying_price,open_interest,mark_price,index_price,timestamp\n"
        "BTC_USDC-27MAR26-70000-C,USDC,50,66400,3,1320.5,66000,1772373000000\n"
        "BTC-27MAR26-70000-P,BTC,50,66400,3,0.07,66000,1772373000000\n"
    )
    rows = load_chain(path).rows.set_index("side")
    assert rows.loc["C", "mark"] == 1320.5
    assert rows.loc["P", "mark"] == pytest.approx(0.07 * 66400)
