"""`mmpos analyze`: the JSON contract other tools rely on, and exit status 2 on bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from dashboard.cli import main

ROOT = Path(__file__).resolve().parents[2]


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_analyze_json_has_the_documented_keys_and_types(capsys, spx_path):
    code, out, err = run(capsys, "analyze", str(spx_path), "--shocks", "-5,-1,0,1,5")
    assert code == 0, err
    d = json.loads(out)
    assert isinstance(d["underlying"], str) and d["underlying"] == "SPX"
    assert d["as_of"] == "2024-01-07T10:52:00-05:00"
    assert isinstance(d["spot"], float) and d["multiplier"] == 100.0
    assert d["convention"] == "dealer-long-calls"
    assert d["expiries"] == sorted(d["expiries"]) and d["expiries"][0] == "2024-01-08"
    assert isinstance(d["total_gex_usd_per_1pct"], float)
    assert d["call_wall"] == 4800.0 and d["put_wall"] == 4700.0
    assert d["zero_gamma_levels"] == sorted(d["zero_gamma_levels"]) and len(d["zero_gamma_levels"]) == 1
    assert set(d["by_strike"][0]) == {"strike", "call_gex_usd_per_1pct", "put_gex_usd_per_1pct",
                                      "net_gex_usd_per_1pct"}
    assert set(d["gamma_profile"][0]) == {"spot", "gex_usd_per_1pct"}
    assert [e["expiry"] for e in d["by_expiry"]] == d["expiries"]
    assert [r["shock_pct"] for r in d["hedge_curve"]] == [-5.0, -1.0, 0.0, 1.0, 5.0]
    assert set(d["hedge_curve"][0]) == {"shock_pct", "spot", "dealer_delta_units", "hedge_flow_units",
                                        "hedge_flow_usd"}
    assert set(d["term_structure"][0]) == {"expiry", "days_to_expiry", "atm_iv", "net_vega_usd_per_vol_pt"}
    assert all(isinstance(w, str) for w in d["warnings"]) and d["warnings"]
    assert "USD per 1%" in d["units"]["units"]["gex"]


def test_analyze_filters_expiries_and_applies_the_convention(capsys, ndx_path):
    code, out, _ = run(capsys, "analyze", str(ndx_path), "--expiry", "2022-03-18", "--expiry", "2022-02-18",
                       "--convention", "dealer-short-all", "--spot-range", "0.8,1.2", "--horizon-days", "1")
    d = json.loads(out)
    assert code == 0
    assert d["expiries"] == ["2022-02-18", "2022-03-18"]
    assert d["convention"] == "dealer-short-all" and d["total_gex_usd_per_1pct"] < 0
    spots = [p["spot"] for p in d["gamma_profile"]]
    assert spots[0] == pytest.approx(0.8 * d["spot"]) and spots[-1] == pytest.approx(1.2 * d["spot"])


def test_max_dte_keeps_only_near_expiries(capsys, spx_path):
    _, out, _ = run(capsys, "analyze", str(spx_path), "--max-dte", "7")
    assert json.loads(out)["expiries"] == ["2024-01-08", "2024-01-09", "2024-01-10", "2024-01-11", "2024-01-12"]


def test_table_format_is_a_readable_summary(capsys, spx_path):
    code, out, _ = run(capsys, "analyze", str(spx_path), "--format", "table", "--shocks", "-1,1")
    assert code == 0
    assert "total GEX" in out and "per 1%" in out and "dealer-long-calls" in out and "zero gamma" in out


@pytest.mark.parametrize(
    "content, message",
    [
        ("", "empty"),
        ("hello,world\n1,2\n", "unknown format"),
        ("\nS&P 500 INDEX,Last: 4697.24\n\"Date: January 7, 2024 at 10:52 AM EST\"\n"
         "Expiration Date,Calls,Last Sale,Net,Bid,Ask,Volume,IV,Delta,Gamma,Open Interest,Strike,Puts,Last Sale,"
         "Net,Bid,Ask,Volume,IV,Delta,Gamma,Open Interest\n"
         "Fri Jan 19 2024,SPX240119C04700000,1,0,1,1,1,0.1,0.5,0.01,zz,4700.00,SPX240119P04700000,1,0,1,1,1,0.1,"
         "-0.5,0.01,5\n", "not a number ('zz')"),
        ("\nS&P 500 INDEX,Last: 4697.24\n\"Date: January 7, 2024 at 10:52 AM EST\"\n"
         "Expiration Date,Calls,Last Sale,Net,Bid,Ask,Volume,IV,Delta,Gamma,Open Interest,Strike,Puts,Last Sale,"
         "Net,Bid,Ask,Volume,IV,Delta,Gamma,Open Interest\n"
         "Fri Jan 05 2024,SPXW240105C04700000,1,0,1,1,1,0.1,0.5,0.01,3,4700.00,SPXW240105P04700000,1,0,1,1,1,0.1,"
         "-0.5,0.01,5\n", "no live rows"),
    ],
)
def test_bad_input_exits_2_with_one_line_naming_the_file(capsys, tmp_path, content, message):
    path = tmp_path / "bad_input.csv"
    path.write_text(content)
    code, out, err = run(capsys, "analyze", str(path))
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "bad_input.csv" in err and message in err
    assert "Traceback" not in err


def test_missing_file_and_binary_junk_exit_2_without_traceback(tmp_path):
    junk = tmp_path / "junk.bin"
    junk.write_bytes(bytes(range(256)) * 40)
    for target, expect in ((tmp_path / "nope.csv", "nope.csv"), (junk, "junk.bin")):
        proc = subprocess.run([sys.executable, "-m", "dashboard.cli", "analyze", str(target)], cwd=ROOT,
                              capture_output=True, text=True, timeout=60)
        assert proc.returncode == 2
        assert expect in proc.stderr and "Traceback" not in proc.stderr
        assert proc.stderr.count("\n") == 1


def test_bad_options_exit_2(capsys, spx_path):
    for args in (["--shocks", "a,b"], ["--spot-range", "1.2,1.4"], ["--convention", "nope"],
                 ["--expiry", "2031-01-01"], ["--horizon-days", "-1"]):
        code = None
        try:
            code = main(["analyze", str(spx_path), *args])
        except SystemExit as exc:
            code = exc.code
        _, err = capsys.readouterr()
        assert code == 2, args
        assert "Traceback" not in err and err.strip()
