"""The commands' whole-number options share one argument type (dashboard.cli.common.int_at_least)."""

from __future__ import annotations

import pytest

from dashboard.cli import build_parser


@pytest.mark.parametrize(("argv", "said"), [
    (["demo-data", "--seed", "-1"], "must be at least 0, got -1"),
    (["history", "x", "--last", "0"], "must be at least 1, got 0"),
    (["collect", "--keep-days", "two"], "not a whole number: 'two'"),
])
def test_a_whole_number_below_its_minimum_is_refused_in_one_line(argv, said, capsys):
    with pytest.raises(SystemExit) as exit_:
        build_parser().parse_args(argv)
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and said in err and len(err.strip().splitlines()) == 1


def test_the_minimum_itself_is_taken():
    assert build_parser().parse_args(["demo-data", "--seed", "0"]).seed == 0


# Every command that takes a data folder declares it with the one option (dashboard.cli.common.add_data_dir_option)
# and resolves it with the one rule (analytics.catalog.resolve_data_dir): the folder given, else MMPOS_DATA_DIR,
# else the project's data/.
FOLDER_COMMANDS = {
    "alerts": ["alerts"], "analyze": ["analyze", "x.csv"], "backfill": ["backfill"], "collect": ["collect", "--underlying", "SPX"],
    "history": ["history", "SPX"], "list": ["list"], "report": ["report", "--underlying", "SPX", "--out", "r.html"],
    "serve": ["serve"], "worker": ["worker"],
}


@pytest.mark.parametrize("command", sorted(FOLDER_COMMANDS))
def test_every_data_folder_option_is_a_path_and_says_its_default(command, capsys):
    argv = FOLDER_COMMANDS[command]
    parser = build_parser()
    assert parser.parse_args(argv).data_dir is None
    assert str(parser.parse_args([*argv, "--data-dir", "~/snaps"]).data_dir) == "~/snaps"
    with pytest.raises(SystemExit):
        parser.parse_args([argv[0], "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    assert "(default: MMPOS_DATA_DIR, else data/)" in help_text


def test_fetch_writes_to_the_same_default_folder():
    assert build_parser().parse_args(["fetch", "deribit", "BTC"]).out is None


def test_the_one_folder_rule(monkeypatch, tmp_path):
    from pathlib import Path

    from analytics import catalog

    monkeypatch.delenv("MMPOS_DATA_DIR", raising=False)
    project_data = Path(catalog.__file__).resolve().parents[1] / "data"
    assert catalog.resolve_data_dir(None) == catalog.resolve_data_dir("") == project_data
    monkeypatch.setenv("MMPOS_DATA_DIR", str(tmp_path))
    assert catalog.resolve_data_dir(None) == tmp_path
    assert catalog.resolve_data_dir("~/elsewhere") == Path("~/elsewhere").expanduser()


# A run whose first argument names a command builds that command's parser alone (dashboard.cli.build_parser):
# it must read the arguments exactly as the parser of every command does.
@pytest.mark.parametrize("argv", [
    ["analyze", "x.csv", "--shocks=-5,5", "--format", "table"], ["list", "--data-dir", "d"], ["serve"],
    ["fetch", "deribit", "BTC"], ["demo-data", "--seed", "3"], ["history", "SPX", "--last", "2"],
])
def test_one_command_parser_reads_as_the_whole_parser(argv):
    assert build_parser(argv).parse_args(argv) == build_parser().parse_args(argv)
    assert len(build_parser(argv)._subparsers._group_actions[0].choices) == 1


@pytest.mark.parametrize("argv", [["--help"], ["analyse", "x.csv"]])
def test_without_a_known_command_every_command_is_listed(argv, capsys):
    from dashboard.cli import BY_NAME, main

    with pytest.raises(SystemExit):
        main(argv)
    said = capsys.readouterr()
    text = said.out + said.err
    assert all(name in text for name in BY_NAME), text
