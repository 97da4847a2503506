"""Every ``mmpos`` command that reads the ``MMPOS_*`` settings refuses a bad one the same way: one line
``mmpos <command>: <reason>`` on stderr and status 2 (dashboard.cli.common.refuses_bad_settings)."""

from __future__ import annotations

import inspect

import pytest

from dashboard import cli
from dashboard.cli import main

BAD_URL = ("MMPOS_CBOE_BASE_URL", "cdn.cboe.com/api",
           "MMPOS_CBOE_BASE_URL must start with http:// or https://, got 'cdn.cboe.com/api'")
BAD_WINDOW = ("MMPOS_STRIKE_WINDOW_PCT", "abc", "MMPOS_STRIKE_WINDOW_PCT must be a finite number, got 'abc'")

# command: the setting it reads that is made bad (mmpos fetch reads only its source's URL, mmpos report only
# the strike window; the others read them all), and its arguments ({out}: an empty folder, {data}: a folder
# of one demo snapshot)
SETTINGS_COMMANDS = {
    "alerts": (BAD_URL, ["alerts", "--config", "{out}/alerts.toml"]),
    "collect": (BAD_URL, ["collect", "--underlying", "SPX", "--once", "--data-dir", "{out}"]),
    "fetch": (BAD_URL, ["fetch", "cboe", "SPX", "--out", "{out}"]),
    "report": (BAD_WINDOW, ["report", "--underlying", "SPX", "--data-dir", "{data}", "--out", "{out}/r.html"]),
    "serve": (BAD_URL, ["serve", "--data-dir", "{out}"]),
    "worker": (BAD_URL, ["worker", "--data-dir", "{out}"]),
}


@pytest.mark.parametrize("command", sorted(SETTINGS_COMMANDS))
def test_a_bad_setting_is_the_same_one_line_refusal_and_exit_2_for_every_command(command, tmp_path, demo_files,
                                                                                   monkeypatch, capsys):
    (variable, value, reason), argv = SETTINGS_COMMANDS[command]
    monkeypatch.setenv(variable, value)
    out_dir, data_dir = tmp_path / "out", tmp_path / "data"
    out_dir.mkdir()
    data_dir.mkdir()
    (data_dir / "spx_quotedata_2026-11-20.csv").write_bytes(demo_files["spx_quotedata_2026-11-20.csv"].read_bytes())
    argv = [a.replace("{out}", str(out_dir)).replace("{data}", str(data_dir)) for a in argv]
    assert main(argv) == cli.EXIT_BAD_INPUT
    out, err = capsys.readouterr()
    assert (out, err) == ("", f"mmpos {command}: {reason}\n")
    assert list(out_dir.iterdir()) == []


def test_every_command_reading_settings_refuses_through_the_one_helper():
    refusing = {c.NAME for c in cli.COMMANDS if getattr(c.run, "__wrapped__", None) is not None}
    assert refusing == set(SETTINGS_COMMANDS)
    # a command module naming the settings (or the server reading them) is among them; mmpos report reads
    # the strike window through dashboard.report_html
    assert {c.NAME for c in cli.COMMANDS if "dashboard.runtime" in inspect.getsource(c)} <= refusing


def test_alerts_without_a_rules_file_is_the_same_one_line_refusal(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("MMPOS_ALERTS_FILE", raising=False)
    assert main(["alerts", "--data-dir", str(tmp_path)]) == cli.EXIT_BAD_INPUT
    assert capsys.readouterr() == ("", "mmpos alerts: no alerts file: give --config or set MMPOS_ALERTS_FILE\n")
