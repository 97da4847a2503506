"""Dealer flow from trades (issue 19): the trade record, Deribit's trades, the quote rule, and the
flow-inferred convention on a small hand-computed tape (signs and sizes exact, repeats once, trades
before the open interest or after the snapshot left out)."""

from __future__ import annotations

import doctest
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import analytics.trades
from analytics import conventions, trades
from analytics.catalog import scan_catalog
from analytics.errors import ChainDataError
from analytics.exposure import dealer_contracts
from analytics.scenario import Scenario
from analytics.sources import load_chain
from dashboard import service

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
AS_OF = pd.Timestamp("2026-11-19 14:00", tz="UTC")
OI_TIME = pd.Timestamp("2026-11-19 08:00", tz="UTC")
# the chain: (instrument, open interest)
SERIES = {"BTC-27NOV26-100000-C": 10.0, "BTC-27NOV26-95000-P": 8.0, "BTC-27NOV26-105000-C": 5.0}


def _ms(text: str) -> int:
    return int(pd.Timestamp(text, tz="UTC").value // 1_000_000)


def _trade(trade_id: str, when: str, instrument: str, direction: str, amount: float) -> dict:
    return {"trade_id": trade_id, "timestamp": _ms(when), "instrument_name": instrument, "direction": direction,
            "amount": amount, "price": 0.01, "iv": 50.0, "index_price": 98000.0}


T_BEFORE = _trade("1", "2026-11-19 07:59", "BTC-27NOV26-100000-C", "buy", 3.0)    # before the OI: out
T_AT_OI = _trade("2", "2026-11-19 08:00", "BTC-27NOV26-100000-C", "buy", 7.0)     # at the OI time: out
T_BUY = _trade("3", "2026-11-19 09:00", "BTC-27NOV26-100000-C", "buy", 2.0)       # dealers -2
T_SELL = _trade("4", "2026-11-19 10:00", "BTC-27NOV26-100000-C", "sell", 0.5)     # dealers +0.5
T_PUT = _trade("5", "2026-11-19 11:00", "BTC-27NOV26-95000-P", "buy", 1.3)        # dealers -1.3 (in both files)
T_AT_SNAP = _trade("6", "2026-11-19 14:00", "BTC-27NOV26-105000-C", "sell", 1.0)  # at the snapshot: in, +1
T_AFTER = _trade("7", "2026-11-19 14:05", "BTC-27NOV26-105000-C", "buy", 4.0)     # after the snapshot: out
T_OTHER = _trade("8", "2026-11-19 13:00", "BTC-27NOV26-110000-C", "buy", 0.7)     # a series the chain lacks
EXPECTED_FLOW = {"BTC-27NOV26-100000-C": -1.5, "BTC-27NOV26-95000-P": -1.3, "BTC-27NOV26-105000-C": 1.0}


def _trades_file(folder: Path, start: str, end: str, rows: list[dict]) -> Path:
    body = {"jsonrpc": "2.0", "result": {"trades": rows, "has_more": False},
            "mmpos": {"source": "deribit", "kind": "trades", "currency": "BTC",
                      "start": pd.Timestamp(start, tz="UTC").isoformat(), "end": pd.Timestamp(end, tz="UTC").isoformat()}}
    path = folder / trades.trades_file_name("BTC", pd.Timestamp(start, tz="UTC"), pd.Timestamp(end, tz="UTC"))
    path.write_text(json.dumps(body))
    return path


def _snapshot(folder: Path) -> Path:
    rows = [{"instrument_name": name, "open_interest": oi, "mark_iv": 50.0, "underlying_price": 98000.0,
             "mark_price": 0.02, "bid_price": 0.019, "ask_price": 0.021, "base_currency": "BTC",
             "quote_currency": "BTC", "underlying_index": "BTC-27NOV26"} for name, oi in SERIES.items()]
    path = folder / "deribit_btc_book_summary_20261119T140000Z.json"
    path.write_text(json.dumps({"jsonrpc": "2.0", "result": rows,
                                "mmpos": {"source": "deribit", "currency": "BTC", "as_of": AS_OF.isoformat(),
                                          "index_price": 98000.0}}))
    return path


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    _snapshot(tmp_path)
    _trades_file(tmp_path, "2026-11-19 07:30", "2026-11-19 12:00", [T_BEFORE, T_AT_OI, T_BUY, T_SELL, T_PUT])
    _trades_file(tmp_path, "2026-11-19 11:00", "2026-11-19 14:30", [T_PUT, T_OTHER, T_AT_SNAP, T_AFTER])
    return tmp_path


def _by_instrument(chain, values) -> dict[str, float]:
    rows = chain.rows
    names = [f"BTC-{pd.Timestamp(e):%d%b%y}".upper().replace("-0", "-", 1) + f"-{int(k)}-{s}"
             for e, k, s in zip(rows["expiry"], rows["strike"], rows["side"], strict=True)]
    return dict(zip(names, np.round(np.asarray(values, float), 12).tolist(), strict=True))


def test_deribit_trades_read_the_takers_side_and_leave_futures_out():
    """The sample follows the documented answer of public/get_last_trades_by_currency_and_time
    (docs.deribit.com, api-reference/market-data); its values are made up, not recorded."""
    tape = trades.deribit_trades(json.loads((FIXTURES / "deribit_last_trades_btc_response.json").read_text()))
    assert tape.columns.tolist() == list(trades.TRADE_COLUMNS)
    assert tape["trade_id"].tolist() == ["310000101", "310000102", "310000103"]  # BTC-PERPETUAL left out
    assert tape["aggressor"].tolist() == [1, -1, 1]
    assert tape["known_by"].unique().tolist() == ["venue"]
    assert tape["contracts"].tolist() == [2.0, 0.5, 1.3]
    assert tape["strike"].tolist() == [100000.0, 100000.0, 95000.0] and tape["side"].tolist() == ["C", "C", "P"]
    assert str(pd.Timestamp(tape["expiry"].iloc[0]).date()) == "2026-11-27"
    assert pd.Timestamp(int(tape["timestamp_ns"].iloc[0]), tz="UTC") == pd.Timestamp("2026-11-19 10:01", tz="UTC")
    assert tape["iv"].iloc[0] == pytest.approx(0.521)


def test_a_trade_without_a_buy_or_sell_direction_is_refused_naming_it():
    bad = {"result": {"trades": [dict(T_BUY, direction="both")]}}
    with pytest.raises(ChainDataError, match="trade '3': direction must be buy or sell"):
        trades.deribit_trades(bad, path="x.trades.json")


def test_the_quote_rule_classifies_against_the_mid_and_leaves_the_mid_unknown():
    side, how = trades.quote_rule_aggressor([2.05, 1.95, 2.0, 2.0, 2.1], [1.9, 1.9, 1.9, np.nan, 2.2], [2.1, 2.1, 2.1, 2.1, 2.0])
    assert side.tolist() == [1, -1, 0, 0, 0]  # above, below, at the mid, one-sided, crossed
    assert how.tolist() == ["quote_rule", "quote_rule", "unknown", "unknown", "unknown"]


def test_the_flow_since_the_open_interest_is_exact_on_a_hand_computed_tape(folder):
    chain = load_chain(folder / "deribit_btc_book_summary_20261119T140000Z.json")
    flow = service.trades_flow(folder, chain)
    assert pd.Timestamp(flow.start_ns, tz="UTC") == OI_TIME
    assert sorted(flow.tape["trade_id"]) == ["3", "4", "5", "6", "8"]  # 1, 2 before/at the OI; 7 after
    assert flow.duplicates == 1  # trade 5 is in both files
    with_flow = trades.apply_flow(chain, flow)
    assert _by_instrument(chain, with_flow.rows["position"]) == EXPECTED_FLOW
    held = dealer_contracts(np.where(chain.rows["side"] == "C", 1.0, -1.0), chain.rows["open_interest"],
                            "flow-inferred", with_flow.rows["position"])
    assert _by_instrument(chain, held) == {"BTC-27NOV26-100000-C": 8.5, "BTC-27NOV26-95000-P": -9.3,
                                           "BTC-27NOV26-105000-C": 6.0}
    notes = " ".join(with_flow.warnings)
    assert "|dealer flow| / open interest = 16.5%" in notes  # (1.5 + 1.3 + 1) / (10 + 8 + 5)
    assert "1 repeated trade(s) counted once" in notes and "1 trade(s) on 1 series the snapshot does not list" in notes


def test_the_share_of_open_interest_explained_is_gross_over_series():
    assert trades.explained_share([10.0, 8.0, 5.0], [-1.5, -1.3, 1.0]) == pytest.approx(3.8 / 23.0)


def test_flow_inferred_is_in_the_registry_and_needs_trades():
    assert conventions.needing(conventions.TRADES) == ("flow-inferred",)
    assert conventions.get("flow-inferred").label == "Flow-inferred (Deribit trades)"


def test_without_a_trades_file_the_analysis_says_so(tmp_path):
    path = _snapshot(tmp_path)
    with pytest.raises(ChainDataError, match="flow-inferred needs BTC trades from the open interest at "
                                             "2026-11-19 08:00 to the snapshot at 2026-11-19 14:00 UTC: no trades file"):
        service.analyze_path(path, Scenario(convention="flow-inferred"))


def test_a_gap_in_the_trades_windows_is_named(tmp_path):
    path = _snapshot(tmp_path)
    _trades_file(tmp_path, "2026-11-19 08:00", "2026-11-19 12:00", [T_BUY])
    with pytest.raises(ChainDataError, match="leave 2026-11-19 12:00 to 2026-11-19 14:00 UTC uncovered"):
        service.analyze_path(path, Scenario(convention="flow-inferred"))


def test_flow_inferred_moves_the_gex_by_the_flow_alone(folder):
    path = folder / "deribit_btc_book_summary_20261119T140000Z.json"
    oi = service.analyze_path(path, Scenario())
    flow = service.analyze_path(path, Scenario(convention="flow-inferred"))
    by_oi = oi.by_strike.set_index("strike")
    by_flow = flow.by_strike.set_index("strike")
    gex_col = [c for c in by_oi.columns if c.startswith("call_gex")][0]
    # the 100000 call: 10 contracts under the OI convention, 8.5 with the flow
    assert by_flow.loc[100000.0, gex_col] == pytest.approx(by_oi.loc[100000.0, gex_col] * 8.5 / 10.0, rel=1e-12)


def test_the_catalog_does_not_list_trades_files_as_chains_or_broken(folder):
    catalog = scan_catalog(folder)
    assert [e.path.name for e in catalog] == ["deribit_btc_book_summary_20261119T140000Z.json"]
    assert not catalog.broken()


def test_the_docstring_examples_of_the_trades_module_hold():
    result = doctest.testmod(analytics.trades)
    assert result.failed == 0 and result.attempted > 0


# ---- the demo's trades (analytics.demo_trades, committed in data/)

DEMO_TRADES = "deribit_btc_trades_20261118T080000Z_20261120T140000Z.trades.json"


def test_the_demo_trades_are_deterministic_and_small(demo_dir, demo_last_day, tmp_path):
    from analytics.demo import BTC_TRADES_DAY, write_demo_data

    written = write_demo_data(tmp_path, days=[BTC_TRADES_DAY])
    got = tmp_path / DEMO_TRADES
    assert got in written and got.read_bytes() == (demo_dir / DEMO_TRADES).read_bytes()
    assert got.stat().st_size <= 300_000
    assert DEMO_TRADES not in [p.name for p in demo_last_day]  # another day's write has no trades file


def test_every_demo_btc_snapshot_of_the_trades_days_has_its_flow(demo_dir):
    for name, start in (("btc_book_summary_2026-11-19.json", "2026-11-19 08:00"),
                        ("btc_book_summary_2026-11-20.json", "2026-11-20 08:00")):
        chain = load_chain(demo_dir / name)
        flow = service.trades_flow(demo_dir, chain)
        assert pd.Timestamp(flow.start_ns, tz="UTC") == pd.Timestamp(start, tz="UTC")
        assert len(flow.tape) > 50 and set(flow.tape["known_by"]) == {"venue"}
        per_row, missing = trades.flow_on_rows(chain.rows, flow.by_series)
        assert missing.empty  # every demo trade is on a listed series
        share = trades.explained_share(chain.rows["open_interest"], per_row)
        assert 0.001 < share < 0.05  # a few hours of trades against the whole open interest


def test_a_snapshot_in_a_subfolder_reads_the_trades_of_the_folders_above_it_up_to_the_data_folder(tmp_path):
    sub = tmp_path / "intraday"
    sub.mkdir()
    path = _snapshot(sub)
    _trades_file(tmp_path, "2026-11-19 07:30", "2026-11-19 14:30", [T_BUY, T_SELL, T_PUT, T_AT_SNAP])
    outside = tmp_path.parent / f"{tmp_path.name}-outside"
    outside.mkdir()
    _trades_file(outside, "2026-11-19 07:30", "2026-11-19 14:30", [T_AFTER])  # above the data folder: not read
    entry = next(e for e in scan_catalog(tmp_path) if e.path == path)
    flow = service.trades_flow(sub, load_chain(path), entry.root)
    assert sorted(flow.tape["trade_id"]) == ["3", "4", "5", "6"]
    assert trades.trades_files_near(sub, "BTC") == []  # without the data folder: its own folder only


def test_the_cli_says_in_one_line_when_a_snapshot_has_no_trades(tmp_path, capsys):
    from dashboard.cli import main

    path = _snapshot(tmp_path)
    assert main(["analyze", str(path), "--convention", "flow-inferred"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "flow-inferred needs BTC trades" in err and "no trades file" in err
    _trades_file(tmp_path, "2026-11-19 07:30", "2026-11-19 14:30", [T_BUY])
    assert main(["analyze", str(path), "--convention", "flow-inferred"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["convention"] == "flow-inferred" and out["units"]["convention"]["calls"] == "+OI + dealer flow"
