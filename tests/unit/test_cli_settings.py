"""Every ``mmpos`` command that reads the ``MMPOS_*`` settings refuses a bad one the same way: one line
``mmpos <command>: <reason>`` on stderr and status 2 (dashboard.cli.common.refuses_bad_settings)."""

from __future__ import annotations

import inspect

import pytest

from dashboard import cli
from dashboard.cli import main

BAD_URL = "cdn.cboe.com/api"  # every command reading settings reads this one (mmpos fetch reads only it)
REASON = f"MMPOS_CBOE_BASE_URL must start with http:// or https://, got {BAD_URL!r}"

SETTINGS_COMMANDS = {
    "alerts": ["alerts", "--config", "{tmp}/alerts.toml"],
    "collect": ["collect", "--underlying", "SPX", "--once", "--data-dir", "{tmp}"],
    "fetch": ["fetch", "cboe", "SPX", "--out", "{tmp}"],
    "serve": ["serve", "--data-dir", "{tmp}"],
    "worker": ["worker", "--data-dir", "{tmp}"],
}


@pytest.mark.parametrize("command", sorted(SETTINGS_COMMANDS))
def test_a_bad_setting_is_the_same_one_line_refusal_and_exit_2_for_every_command(command, tmp_path, monkeypatch,
                                                                                   capsys):
    monkeypatch.setenv("MMPOS_CBOE_BASE_URL", BAD_URL)
    argv = [a.replace("{tmp}", str(tmp_path)) for a in SETTINGS_COMMANDS[command]]
    assert main(argv) == cli.EXIT_BAD_INPUT
    out, err = capsys.readouterr()
    assert (out, err) == ("", f"mmpos {command}: {REASON}\n")
    assert list(tmp_path.iterdir()) == []


def test_the_commands_reading_settings_are_exactly_those_refusing_through_the_one_helper():
    reading = {c.NAME for c in cli.COMMANDS if "dashboard.runtime" in inspect.getsource(c)}
    refusing = {c.NAME for c in cli.COMMANDS if getattr(c.run, "__wrapped__", None) is not None}
    assert reading == refusing == set(SETTINGS_COMMANDS)
