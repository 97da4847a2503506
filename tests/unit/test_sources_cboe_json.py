"""The CBOE delayed-quotes JSON source (analytics.sources.cboe_json), from a recorded response."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from analytics.errors import ChainDataError
from analytics.sources import load_chain
from analytics.sources.cboe_json import parse_cboe_delayed_json

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def test_cboe_delayed_json_keeps_spx_and_spxw_apart_with_their_settlements():
    chain = parse_cboe_delayed_json(json.loads((FIXTURES / "cboe_delayed_spx_response.json").read_text()))
    rows = chain.rows
    assert chain.underlying == "SPX" and chain.spot == 5921.35 and chain.model == "bsm"
    assert len(rows) == 8 and (rows["multiplier"] == 100).all()
    shared = rows[(rows["expiry"] == pd.Timestamp("2025-06-20")) & (rows["strike"] == 5900)]
    assert sorted(shared["root"]) == ["SPX", "SPX", "SPXW", "SPXW"]
    settle = shared.groupby("root")["settlement"].first()
    assert settle["SPX"] == pd.Timestamp("2025-06-20 09:30", tz="America/New_York")
    assert settle["SPXW"] == pd.Timestamp("2025-06-20 16:00", tz="America/New_York")
    assert rows["iv"].between(0.1, 0.2).all()
    assert rows.loc[(rows["root"] == "SPX") & (rows["strike"] == 5900) & (rows["side"] == "P"),
                    "open_interest"].item() == 22000


def test_cboe_timestamp_without_zone_is_read_as_utc_and_says_so():
    chain = parse_cboe_delayed_json(json.loads((FIXTURES / "cboe_delayed_spx_response.json").read_text()))
    assert chain.as_of == pd.Timestamp("2025-06-02 15:45:02", tz="UTC")
    assert any("read as UTC" in w for w in chain.warnings)


def test_cboe_json_with_iv_in_percent_is_rejected(tmp_path):
    obj = json.loads((FIXTURES / "cboe_delayed_spx_response.json").read_text())
    for option in obj["data"]["options"]:
        option["iv"] *= 100
    path = tmp_path / "pct.json"
    path.write_text(json.dumps(obj))
    with pytest.raises(ChainDataError, match=r"pct\.json: field 'iv': iv looks like percent"):
        load_chain(path)


def test_cboe_json_with_a_bad_option_symbol_names_it(tmp_path):
    obj = json.loads((FIXTURES / "cboe_delayed_spx_response.json").read_text())
    obj["data"]["options"][3]["option"] = "SPXW25062OP05900000"
    path = tmp_path / "sym.json"
    path.write_text(json.dumps(obj))
    with pytest.raises(ChainDataError, match=r"sym\.json: field 'option': option 3: cannot read symbol"):
        load_chain(path)


def test_adjusted_roots_with_digits_parse_and_are_flagged(tmp_path):
    obj = json.loads((FIXTURES / "cboe_delayed_spx_response.json").read_text())
    obj["data"]["symbol"] = "AMD"
    obj["data"]["options"][0]["option"] = "AMD1250606C00100000"
    obj["data"]["options"][1]["option"] = "AMD250606C00100000"
    chain = parse_cboe_delayed_json(obj)
    rows = chain.rows
    amd1 = rows[rows["root"] == "AMD1"]
    assert len(amd1) == 1 and amd1["strike"].item() == 100.0 and amd1["side"].item() == "C"
    assert amd1["adjusted"].item() and not rows.loc[rows["root"] != "AMD1", "adjusted"].any()
    assert chain.adjusted_roots == ["AMD1"]
