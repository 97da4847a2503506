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
