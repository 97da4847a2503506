"""`mmpos analyze`: the JSON contract other tools rely on, and exit status 2 on bad input."""

from __future__ import annotations

import json
import os
import shutil
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


def run_to_exit(capsys, *args: str) -> tuple[int, str, str]:
    """:func:`run`, an argparse refusal (SystemExit) included: what ``mmpos`` would exit with and print."""
    try:
        code = main(list(args))
    except SystemExit as exc:
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, err


def test_analyze_json_has_the_documented_keys_and_types(capsys, spx_path):
    code, out, err = run(capsys, "analyze", str(spx_path), "--shocks", "-5,-1,0,1,5", "--forward", "spot",
                         "--iv", "file")
    assert code == 0, err
    d = json.loads(out)
    assert isinstance(d["underlying"], str) and d["underlying"] == "SPX"
    assert d["as_of"] == "2024-01-07T10:52:00-05:00"
    assert isinstance(d["spot"], float) and d["multiplier"] == 100.0
    assert d["convention"] == "dealer-long-calls"
    assert d["expiries"] == sorted(d["expiries"]) and d["expiries"][0] == "2024-01-08"
    assert isinstance(d["total_gex_usd_per_1pct"], float)
    assert d["call_wall"] == 4800.0 and d["put_wall"] == 4600.0
    assert d["zero_gamma_levels"] == sorted(d["zero_gamma_levels"]) and len(d["zero_gamma_levels"]) == 1
    assert set(d["by_strike"][0]) == {"strike", "call_gex_usd_per_1pct", "put_gex_usd_per_1pct",
                                      "net_gex_usd_per_1pct"}
    assert set(d["gamma_profile"][0]) == {"spot", "gex_usd_per_1pct"}
    assert [e["expiry"] for e in d["by_expiry"]] == d["expiries"]
    assert [r["shock_pct"] for r in d["hedge_curve"]] == [-5.0, -1.0, 0.0, 1.0, 5.0]
    assert set(d["hedge_curve"][0]) == {"shock_pct", "spot", "dealer_delta_units", "hedge_flow_units",
                                        "hedge_flow_usd", "hedge_flow_pct_adv"}
    assert "adv_units_per_day" in d  # the data folder's ADV for the underlying, or null
    assert set(d["term_structure"][0]) == {"expiry", "days_to_expiry", "atm_iv", "net_vega_usd_per_vol_pt"}
    assert d["warnings"] and all(isinstance(w["message"], str) and w["code"] for w in d["warnings"])
    assert set(d["forwards"][0]) == {"expiry", "years", "forward", "discount", "implied_rate", "forward_basis_pct",
                                     "method", "n_strikes"}
    assert [f["expiry"] for f in d["forwards"]] == d["expiries"]
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


def test_the_table_prints_levels_like_strikes_and_never_a_negative_zero(capsys, spx_path):
    import re

    code, out, _ = run(capsys, "analyze", str(spx_path), "--format", "table", "--shocks", "-1,0,1",
                       "--forward", "spot", "--iv", "file")
    assert code == 0
    assert not re.search(r"(?<![\w.,])[-+]0(?![\w.,])", out), "a zero printed with a sign"
    walls = re.search(r"call wall\s+(\S+)", out).group(1), re.search(r"put wall\s+(\S+)", out).group(1)
    assert all(re.fullmatch(r"\d{1,3}(,\d{3})*", w) for w in walls), walls  # "4,800", never "4800.0"
    assert re.search(r"zero gamma\s+4,736\.\d", out)  # a level keeps one decimal beside the strikes
    zero_row = next(line for line in out.splitlines() if line.strip().startswith("0.0%"))
    assert "-0" not in zero_row and "+0" not in zero_row


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


def test_missing_file_and_binary_junk_exit_2_without_traceback(capsys, tmp_path, monkeypatch):
    """In process (the exit status main() gives the process: test_the_process_prints_all_of_a_one_shot_answer
    runs the real one); any exception would fail the test, as a traceback would."""
    junk = tmp_path / "junk.bin"
    junk.write_bytes(bytes(range(256)) * 40)
    # an empty data folder: a missing file is looked up as a catalog id there (scanning the project's
    # data/, 214 files with the intraday demo, is beside the point of this test)
    monkeypatch.setenv("MMPOS_DATA_DIR", str(tmp_path))
    for target, expect in ((tmp_path / "nope.csv", "nope.csv"), (junk, "junk.bin")):
        code, out, err = run_to_exit(capsys, "analyze", str(target))
        assert code == 2 and out == ""
        assert expect in err and "Traceback" not in err
        assert err.count("\n") == 1


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


# --------------------------------------------------------------------------- hostile options (issue 10)

HOSTILE_OPTIONS = [
    (["--expiry", "2024-13-01"], "expiry '2024-13-01' is not a date"),
    (["--expiry", "garbage"], "expiry 'garbage' is not a date"),
    (["--rate", "1e308"], "rate 1e+308 is out of range: allowed -1 to 1"),
    (["--div-yield", "nan"], "dividend yield must be a finite number"),
    (["--multiplier", "1e308"], "multiplier 1e+308 is out of range"),
    (["--spot-range", "0.5,1e308"], "spot range 0.5,1e+308 is out of range"),
    (["--shocks", "1e308"], "shock 1e+308 is out of range: allowed -100 (excluded) to 100"),
    (["--shocks", ",".join(["1"] * 5000)], "at most 2,001 values"),
    (["--vol-shift", "1e308"], "vol shift 1e+308 is out of range: allowed -500 to 500"),
    (["--vol-shift", "-40"], "vol shift -40 is out of range for this chain"),
    (["--spot-vol-beta", "1e300"], "spot-vol beta 1e+300 is out of range"),
    (["--spot-vol-beta", "500"], "spot-vol beta 500 is out of range: allowed -10 to 10"),
    (["--grid-points", "1e9"], "grid points 1e+09 is out of range"),
    (["--horizon-days", "inf"], "horizon must be a finite number"),
    (["--max-dte", "abc"], "max DTE must be a number"),
    (["--convention", "nope"], "unknown convention 'nope'"),
    (["--convention", "book"], "needs a positions file for SPX"),
]


@pytest.mark.parametrize("args, message", HOSTILE_OPTIONS, ids=[" ".join(a)[:30] for a, _ in HOSTILE_OPTIONS])
def test_an_out_of_range_option_exits_2_with_one_line_naming_the_range(capsys, spx_path, args, message):
    code, out, err = run(capsys, "analyze", str(spx_path), *args)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("mmpos: ") and message in err, err
    assert "Traceback" not in err and "Warning" not in err


@pytest.mark.parametrize("env, args, message", [
    ({"MMPOS_PORT": "abc"}, [], "MMPOS_PORT must be an integer, got 'abc'"),
    ({}, ["--port", "70000"], "port must be 1-65535, got 70000"),
    ({}, ["--host", "0.0.0.0", "--debug"], "refusing to run with debug on host '0.0.0.0'"),
])
def test_serve_refuses_a_bad_port_or_exposed_debug_with_one_line(capsys, monkeypatch, env, args, message):
    """In process, with the server's start replaced by a failure (a refusal never gets there); the real
    process's one-line refusal: test_serve_on_a_port_in_use_says_so_in_one_line."""
    from dashboard.runtime import server

    def no_server(*_args, **_kwargs):
        raise AssertionError("the configuration was accepted: the server would start")

    monkeypatch.setattr(server, "run", no_server)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    code, out, err = run_to_exit(capsys, "serve", *args)
    assert code == 2
    assert err.count("\n") == 1 and message in err and "Traceback" not in err


def test_negative_option_values_are_read_as_values(capsys, spx_path):
    code, out, err = run(capsys, "analyze", str(spx_path), "--shocks", "-2,-1", "--vol-shift", "-1e0",
                         "--spot-vol-beta", "-0.5", "--grid-points", "11")
    assert code == 0, err
    d = json.loads(out)
    assert d["scenario"]["vol_shift_pts"] == -1.0 and d["scenario"]["spot_vol_beta"] == -0.5
    assert [r["shock_pct"] for r in d["hedge_curve"]] == [-2.0, -1.0]


def test_the_json_units_state_the_convention_from_the_registry(capsys, spx_path):
    from analytics import conventions

    _, out, _ = run(capsys, "analyze", str(spx_path), "--convention", "dealer-long-all", "--shocks", "0",
                    "--grid-points", "3")
    assert json.loads(out)["units"]["convention"] == conventions.units_text("dealer-long-all")


def test_the_readme_options_table_is_the_scenarios_rules():
    from dashboard.cli import options_table

    assert options_table() in (ROOT / "docs" / "cli.md").read_text()


def test_list_goes_through_the_service(capsys, tmp_path, demo_dir):
    """One SPX and one BTC snapshot of the committed demo (no regeneration: that is test_demo_data's)."""
    for name in ("spx_quotedata_2026-11-20.csv", "btc_book_summary_2026-11-20.json"):
        shutil.copy2(demo_dir / name, tmp_path / name)
    code, out, _ = run(capsys, "list", "--data-dir", str(tmp_path))
    assert code == 0
    lines = out.splitlines()
    assert any(line.startswith("spx-20261120-1615") and "SPX" in line for line in lines), out
    assert any(line.startswith("btc-20261120-1400") and "BTC" in line for line in lines), out


def test_analyze_runs_without_the_cyclic_collector_and_gives_it_back(capsys, spx_path, monkeypatch):
    """The one-shot commands skip the collector's passes over start-up imports (bench_engine.py
    --cli-only); an in-process caller gets its collector back, even when the command fails."""
    import gc

    from dashboard import cli

    seen = []
    real = cli.run_analyze
    monkeypatch.setattr(cli.analyze, "run_analyze", lambda args: seen.append(gc.isenabled()) or real(args))
    assert main(["analyze", str(spx_path), "--max-dte", "3"]) == 0
    assert seen == [False] and gc.isenabled()
    with pytest.raises(SystemExit):
        main(["analyze", str(spx_path), "--no-such-option"])
    assert gc.isenabled()


@pytest.mark.slow  # a whole `mmpos analyze` process on the SPX file (~1.2 s of a core): make test runs it
def test_the_process_prints_all_of_a_one_shot_answer_before_its_quick_exit(capsys, spx_path, tmp_path, monkeypatch):
    """`mmpos analyze` as a process ends with os._exit (no interpreter teardown): every byte of the
    answer still reaches a file, and it is the in-process answer."""
    from analytics import scenarios

    # the fresh process computes on numpy (the compiled kernel loads only for bigger work): so does this one,
    # even after another test of this process loaded the kernel (equal to numpy within 1e-12, not to the bit)
    monkeypatch.setattr(scenarios, "_kernel", None)
    assert main(["analyze", str(spx_path)]) == 0
    expected = capsys.readouterr().out
    out = tmp_path / "answer.json"
    with out.open("w") as sink:
        proc = subprocess.run([sys.executable, "-m", "dashboard.cli", "analyze", str(spx_path)], cwd=ROOT,
                              stdout=sink, stderr=subprocess.PIPE, text=True, timeout=60)
    assert proc.returncode == 0 and proc.stderr == ""
    assert len(expected) > 100_000 and out.read_text() == expected


@pytest.mark.parametrize(("argv", "quick"), [(["analyze", "X"], True), (["list"], True),
                                             (["report", "SPX"], False), (["serve"], False)])
def test_only_one_shot_commands_skip_the_teardown(monkeypatch, argv, quick):
    from dashboard import cli

    ended = []
    monkeypatch.setattr(sys, "argv", ["mmpos", *argv])
    monkeypatch.setattr(cli, "main", lambda args: 3)
    monkeypatch.setattr(cli.os, "_exit", lambda code: ended.append(("os._exit", code)))
    monkeypatch.setattr(cli.sys, "exit", lambda code: ended.append(("sys.exit", code)))
    cli.run()
    assert ended[0] == ("os._exit" if quick else "sys.exit", 3)


def test_analyze_loads_no_web_stack():
    """`mmpos analyze` starts in about half a second (benchmarks/bench_engine.py --cli-only): the web
    stack (Dash, Plotly, Flask), the view state's validation (pydantic) and the compiled grid kernel
    (numba) are not imported on its way."""
    code = ("import sys; from dashboard.cli import main; main(['analyze', sys.argv[1], '--max-dte', '3']); "
            "print(sorted(m for m in ('dash', 'plotly', 'flask', 'pydantic', 'numba') if m in sys.modules))")
    spx = ROOT.parent / "shared" / "data" / "cboe_spx_2024-01-07_phammings.csv"
    proc = subprocess.run([sys.executable, "-c", code, str(spx)], cwd=ROOT, capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip().splitlines()[-1] == "[]"


def _numpy_hugepages_under(command: str, **env: str) -> str:
    """Whether numpy madvises huge pages in the process ``mmpos COMMAND`` runs in (its main stubbed)."""
    code = ("import sys, dashboard.cli as cli\n"
            "def report(argv):\n"
            "    from numpy._core.multiarray import _get_madvise_hugepage\n"
            "    print(_get_madvise_hugepage())\n"
            "    return 0\n"
            "cli.main = report\n"
            f"sys.argv = ['mmpos', {command!r}]\n"
            "cli.run()\n")
    environ = {k: v for k, v in os.environ.items() if k != "NUMPY_MADVISE_HUGEPAGE"} | env
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60,
                          env=environ)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout.strip()


def test_a_one_shot_command_asks_numpy_for_no_huge_pages_unless_told():
    """THP compaction on page faults cost `mmpos analyze` ~1 s of system CPU on a 210k-row chain
    (docs/benchmarks.md); a long-lived command keeps numpy's default, and the user's setting wins."""
    assert _numpy_hugepages_under("analyze") == "False"
    assert _numpy_hugepages_under("analyze", NUMPY_MADVISE_HUGEPAGE="1") == "True"
    plain = subprocess.run([sys.executable, "-c", "from numpy._core.multiarray import _get_madvise_hugepage as g; "
                            "print(g())"], capture_output=True, text=True, timeout=60,
                           env={k: v for k, v in os.environ.items() if k != "NUMPY_MADVISE_HUGEPAGE"})
    assert _numpy_hugepages_under("serve") == plain.stdout.strip() == "True"  # numpy's default on Linux


def test_analyze_json_is_compact_by_default_and_indented_on_request(capsys, spx_path):
    args = ("analyze", str(spx_path), "--shocks", "-1,0,1", "--forward", "spot", "--iv", "file")
    code, compact, err = run(capsys, *args)
    assert code == 0, err
    code, indented, err = run(capsys, *args, "--indent", "2")
    assert code == 0, err
    assert compact == json.dumps(json.loads(compact), separators=(",", ":")) + "\n"  # one line, no spaces
    assert indented.startswith('{\n  "') and indented.count("\n") > 1000
    assert json.loads(compact) == json.loads(indented)


def _mmpos(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "dashboard.cli", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, "PYTHONPATH": str(ROOT)})


def _one_line_refusal(proc: subprocess.CompletedProcess, message: str) -> None:
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.count("\n") == 1 and message in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr


def test_demo_data_refuses_a_negative_seed_with_one_line(tmp_path):
    _one_line_refusal(_mmpos("demo-data", "--out", str(tmp_path), "--seed", "-1"), "must be at least 0, got -1")
    assert not any(tmp_path.iterdir())


@pytest.mark.parametrize("address", ["garbage", "tcp://", "tcp://host:port", "tcp://host:70000", "ftp://host:8786"])
def test_backfill_refuses_a_malformed_dask_scheduler_at_once_with_one_line(capsys, tmp_path, address):
    code, out, err = run_to_exit(capsys, "backfill", "--data-dir", str(tmp_path), "--dask-scheduler", address,
                                 "--no-progress")
    _one_line_refusal(subprocess.CompletedProcess([], code, out, err), "--dask-scheduler")
    assert not any(tmp_path.iterdir())  # refused before anything was written


def test_the_backfill_process_refuses_a_malformed_dask_scheduler_with_one_line(tmp_path):
    proc = _mmpos("backfill", "--data-dir", str(tmp_path), "--dask-scheduler", "tcp://host:port", "--no-progress",
                  timeout=20)
    _one_line_refusal(proc, "--dask-scheduler")


@pytest.mark.slow  # many seconds of a core: make test runs it, make test-fast leaves it out
def test_backfill_says_in_one_line_that_no_dask_scheduler_answers(tmp_path):
    import socket

    from tests.conftest import shared_file

    shutil.copy2(shared_file("cboe_spx_2024-01-07_phammings.csv"), tmp_path)
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = _mmpos("backfill", "--data-dir", str(tmp_path), "--dask-scheduler", f"tcp://127.0.0.1:{port}",
                  "--no-progress", timeout=40)
    _one_line_refusal(proc, f"no Dask scheduler answers at tcp://127.0.0.1:{port}")


def test_serve_on_a_port_in_use_says_so_in_one_line():
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        proc = _mmpos("serve", "--port", str(port), timeout=60)
    _one_line_refusal(proc, f"127.0.0.1:{port} is in use")


@pytest.mark.parametrize("shocks", ["1,,2", "1,2,", ",1", "1, ,2"])
def test_analyze_refuses_an_empty_shock_value_with_one_line(capsys, spx_path, shocks):
    code, out, err = run(capsys, "analyze", str(spx_path), "--shocks", shocks)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "empty value" in err and "Traceback" not in err, err
