"""Garbage that looks like data is refused with one line naming the file (and the line and field where
there is one): by the loader, by ``mmpos analyze`` (exit 2, no traceback) and in the catalog's banner
list, while the good files beside it keep working."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from analytics.catalog import clear_cache, scan_catalog
from analytics.chain import MAX_OPEN_INTEREST
from analytics.errors import ChainDataError
from analytics.sources import load_chain
from analytics.sources.common import MAX_JSON_DEPTH, json_depth
from dashboard import cli

DEMO = Path(__file__).resolve().parents[2] / "data"
SPX = DEMO / "spx_quotedata_2026-11-20.csv"
DEEP = 100_000
FIRST_ROW_LINE = 5  # the SPX demo file: a blank line, two header lines, the column names, then rows


def spx_with_first_call_oi(value: str) -> str:
    lines = SPX.read_text().split("\n")
    fields = lines[FIRST_ROW_LINE - 1].split(",")
    fields[10] = value  # the calls' Open Interest
    lines[FIRST_ROW_LINE - 1] = ",".join(fields)
    return "\n".join(lines)


def spx_with_ndx_rows_appended() -> str:
    text = SPX.read_text()
    last = text.rstrip("\n").rsplit("\n", 1)[1]
    ndx = last.replace("SPXW", "NDXP").replace(",SPX", ",NDXP")
    return text.rstrip("\n") + "\n" + ndx + "\n"


def deep_deribit() -> str:
    row = '{"instrument_name": "BTC-27NOV26-90000-C", "mark_iv": 50, "open_interest": 1, "x": '
    return '{"result": [' + row + "[" * DEEP + "]" * DEEP + "}]}"


def deep_cboe_json() -> str:
    return ('{"data": {"current_price": 6750, "options": [{"option": "SPXW261127C06800000", "x": '
            + "[" * DEEP + "]" * DEEP + "}]}}")


DERIBIT_ERROR = json.dumps({"jsonrpc": "2.0", "error": {"message": "Invalid params", "code": -32602,
                                                         "data": {"reason": "wrong format", "param": "currency"}},
                            "usIn": 1795183200000000, "usOut": 1795183200000150, "usDiff": 150, "testnet": False})

# (case, file name, content, words the one-line reason holds, line, field)
CASES: list[tuple[str, str, Callable[[], str], str, int | None, str | None]] = [
    ("open interest of 1e308", "spx_oi_1e308.csv", lambda: spx_with_first_call_oi("1e308"),
     "open interest 1e+308 is above 1e+09 contracts", FIRST_ROW_LINE, "open_interest"),
    ("open interest of 1e20", "spx_oi_1e20.csv", lambda: spx_with_first_call_oi("1e20"),
     "open interest 1e+20 is above 1e+09 contracts", FIRST_ROW_LINE, "open_interest"),
    ("open interest of inf", "spx_oi_inf.csv", lambda: spx_with_first_call_oi("inf"),
     "open interest inf is above", FIRST_ROW_LINE, "open_interest"),
    ("NDX rows appended to an SPX file", "spx_plus_ndx.csv", spx_with_ndx_rows_appended,
     "rows of two underlyings in one file: SPX and NDX", None, "underlying"),
    ("a 100k-deep Deribit JSON", "btc_deep.json", deep_deribit,
     f"JSON nested {DEEP + 3:,} deep: the limit is {MAX_JSON_DEPTH}", None, None),
    ("a 100k-deep CBOE JSON", "spx_deep.json", deep_cboe_json,
     f"JSON nested {DEEP + 4:,} deep: the limit is {MAX_JSON_DEPTH}", None, None),
    ("a saved Deribit API error", "btc_error.json", lambda: DERIBIT_ERROR,
     "Deribit API error, not data: Invalid params: wrong format (code -32602)", None, None),
]
IDS = [case[0] for case in CASES]


@pytest.fixture(autouse=True)
def _fresh_cache():
    clear_cache()
    yield
    clear_cache()


@pytest.mark.parametrize(("case", "name", "content", "reason", "line", "field"), CASES, ids=IDS)
def test_the_loader_refuses_it_naming_the_file_line_and_field(tmp_path, case, name, content, reason, line, field):
    path = tmp_path / name
    path.write_text(content())
    with pytest.raises(ChainDataError) as caught:
        load_chain(path)
    err = caught.value
    assert reason in str(err) and str(err).startswith(name)
    assert err.field == field
    if line is not None:
        assert err.line == line
    if field == "underlying":  # the first NDX row is the file's last line
        assert err.line == content().rstrip("\n").count("\n") + 1


@pytest.mark.parametrize(("case", "name", "content", "reason", "line", "field"), CASES, ids=IDS)
def test_mmpos_analyze_exits_2_with_one_line(capsys, tmp_path, case, name, content, reason, line, field):
    path = tmp_path / name
    path.write_text(content())
    code = cli.main(["analyze", str(path)])
    out, err = capsys.readouterr()
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith(f"mmpos: {name}") and reason in err
    assert "Traceback" not in err and "Error" not in err


@pytest.mark.parametrize(("case", "name", "content", "reason", "line", "field"), CASES, ids=IDS)
def test_the_catalog_lists_it_as_broken_with_its_reason_and_keeps_the_good_file(tmp_path, case, name, content,
                                                                                reason, line, field):
    (tmp_path / SPX.name).write_bytes(SPX.read_bytes())
    (tmp_path / name).write_text(content())
    catalog = scan_catalog(tmp_path)
    summary = catalog.broken_summary()
    assert [rel for rel, _ in summary.shown] == [name]
    shown = summary.shown[0][1]
    assert reason.split(":")[0] in shown and str(tmp_path) not in shown
    assert catalog.underlyings() == ["SPX"]


def test_a_plausible_open_interest_at_the_limit_is_kept(tmp_path):
    lines = SPX.read_text().split("\n")
    live = next(i for i, ln in enumerate(lines) if i >= FIRST_ROW_LINE and not ln.startswith("Fri Nov 20 2026"))
    fields = lines[live].split(",")
    fields[10] = f"{MAX_OPEN_INTEREST:.0f}"
    lines[live] = ",".join(fields)
    path = tmp_path / "spx_big_oi.csv"
    path.write_text("\n".join(lines))
    assert load_chain(path).rows["open_interest"].max() == MAX_OPEN_INTEREST


def test_the_shared_json_helpers_examples_run():
    import doctest

    import analytics.sources.common
    import analytics.sources.deribit

    for module in (analytics.sources.common, analytics.sources.deribit):
        assert doctest.testmod(module).failed == 0, module.__name__


def test_json_depth_ignores_brackets_inside_strings():
    assert json_depth('{"a": "[[[[{{{{", "b": [[1]]}') == 3
    assert json_depth(b'["\\"[[[", 2]') == 1


def test_a_deribit_error_answered_to_mmpos_fetch_passes_on_the_api_message(tmp_path):
    import io
    import urllib.error

    from analytics.sources.fetch import fetch_deribit

    def opener(request, timeout=None):
        raise urllib.error.HTTPError(request.full_url, 400, "Bad Request", {}, io.BytesIO(DERIBIT_ERROR.encode()))

    with pytest.raises(ChainDataError, match=r"the server answered a Deribit API error, not data: Invalid params"):
        fetch_deribit("XYZ", tmp_path, opener=opener)
    assert list(tmp_path.iterdir()) == []
