"""The canonical table: round trips through CSV and Parquet, defaults, and readable errors."""

from __future__ import annotations

import pandas as pd
import pytest

from analytics.errors import ChainDataError
from analytics.sources import load_chain
from analytics.sources.cboe import load_cboe
from analytics.sources.deribit import load_deribit
from analytics.sources.table import COLUMNS, REQUIRED, chain_to_frame, load_table, write_table

HEADER = "underlying,as_of,spot,expiry,strike,side,open_interest,root,iv,bid,ask"


def small_table(*rows: str, header: str = HEADER) -> str:
    return "\n".join((header, *rows)) + "\n"


GOOD_ROWS = (
    "SPX,2024-01-05T15:00:00-05:00,4700,2024-01-19,4700,C,100,SPXW,0.12,50,51",
    "SPX,2024-01-05T15:00:00-05:00,4700,2024-01-19,4700,P,200,SPXW,0.13,40,41",
    "SPX,2024-01-05T15:00:00-05:00,4700,2024-01-19,4700,C,300,SPX,0.12,49,50",
    "SPX,2024-01-05T15:00:00-05:00,4700,2024-01-19,4700,P,400,SPX,0.13,41,42",
)


def write(tmp_path, name: str, text: str):
    path = tmp_path / name
    path.write_text(text)
    return path


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_deribit_chain_round_trips_through_the_table(tmp_path, deribit_ticker_path, suffix):
    chain = load_deribit(deribit_ticker_path)
    back = load_table(write_table(chain, tmp_path / f"btc{suffix}"))
    pd.testing.assert_frame_equal(back.rows, chain.rows, rtol=1e-9)
    assert (back.as_of, back.spot, back.underlying, back.model) == (
        chain.as_of, chain.spot, chain.underlying, "black76"
    )


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_spx_chain_round_trips_through_the_table_keeping_spx_and_spxw_apart(tmp_path, spx_path, suffix):
    chain = load_cboe(spx_path)
    back = load_chain(write_table(chain, tmp_path / f"spx{suffix}"))
    pd.testing.assert_frame_equal(back.rows, chain.rows, rtol=1e-9)
    assert back.model == "bsm"
    assert set(back.rows["root"]) == {"SPX", "SPXW"}


def test_written_table_has_the_documented_columns_in_order(deribit_ticker_path):
    frame = chain_to_frame(load_deribit(deribit_ticker_path))
    assert tuple(frame.columns) == COLUMNS
    assert frame["as_of"].nunique() == 1 and "+00:00" in frame["as_of"].iloc[0]


def test_minimal_table_with_only_required_columns_loads_with_defaults(tmp_path):
    path = write(tmp_path, "minimal.csv", small_table(
        "SPY,2024-01-05T15:00:00-05:00,470,2024-01-19,470,call,10",
        "SPY,2024-01-05T15:00:00-05:00,470,2024-01-19,470,put,20",
        header=",".join(REQUIRED),
    ))
    chain = load_chain(path)
    assert chain.rows["side"].tolist() == ["C", "P"]
    assert (chain.rows["root"] == "SPY").all()
    assert (chain.rows["multiplier"] == 100).all()
    assert any("multiplier" in w for w in chain.warnings)
    # PM settlement by default: 16:00 New York
    assert chain.rows["settlement"].iloc[0] == pd.Timestamp("2024-01-19 16:00", tz="America/New_York")


def test_multiplier_argument_fills_a_table_without_one(tmp_path):
    path = write(tmp_path, "mini.csv", small_table(GOOD_ROWS[0]))
    assert (load_chain(path, multiplier=10).rows["multiplier"] == 10).all()


def test_spx_and_spxw_rows_sharing_expiry_and_strike_are_not_duplicates(tmp_path):
    chain = load_chain(write(tmp_path, "spx.csv", small_table(*GOOD_ROWS)))
    assert len(chain.rows) == 4
    settle = chain.rows.set_index(["root", "side"])["settlement"]
    assert settle[("SPX", "C")] == pd.Timestamp("2024-01-19 09:30", tz="America/New_York")
    assert settle[("SPXW", "C")] == pd.Timestamp("2024-01-19 16:00", tz="America/New_York")


def test_settlement_column_overrides_the_root_rule(tmp_path):
    path = write(tmp_path, "btc.csv", small_table(
        "BTC,2026-03-01T13:49:00+00:00,66700,2026-03-13,70000,C,3,,0.5,1000,1100,2026-03-13T08:00:00Z",
        header=HEADER + ",settlement",
    ))
    assert load_chain(path).rows["settlement"].iloc[0] == pd.Timestamp("2026-03-13 08:00", tz="UTC")


def test_forward_on_every_row_makes_a_black76_chain(tmp_path):
    path = write(tmp_path, "fwd.csv", small_table(
        "BTC,2026-03-01T13:49:00+00:00,66700,2026-03-13,70000,C,3,,0.5,1000,1100,66900,1",
        header=HEADER + ",forward,multiplier",
    ))
    chain = load_chain(path)
    assert chain.model == "black76" and chain.rows["multiplier"].iloc[0] == 1


def test_exact_duplicate_contract_rows_are_an_error_naming_both_lines(tmp_path):
    path = write(tmp_path, "dups.csv", small_table(*GOOD_ROWS, GOOD_ROWS[1]))
    with pytest.raises(ChainDataError, match=r"dups\.csv: line 6: duplicate contract SPXW 2024-01-19 4700 P: "
                                             r"line 3 and line 6"):
        load_chain(path)


def test_two_blank_strikes_of_one_contract_are_an_error_naming_both_lines(tmp_path):
    """(It was a ValueError out of the duplicate check: NaN strikes never compare equal.)"""
    blank = [r.replace(",4700,C,", ",,C,", 1).replace(",4700,P,", ",,P,", 1) for r in GOOD_ROWS[:2]]
    path = write(tmp_path, "blank.csv", small_table(blank[0], GOOD_ROWS[2], blank[0].replace(",100,", ",150,")))
    with pytest.raises(ChainDataError, match=r"blank\.csv: line 4: duplicate contract SPXW 2024-01-19 nan C: "
                                             r"line 2 and line 4"):
        load_chain(path)


def test_iv_in_percent_where_decimals_are_expected_is_rejected(tmp_path):
    rows = [r.replace(",0.12,", ",12.0,").replace(",0.13,", ",13.0,") for r in GOOD_ROWS]
    with pytest.raises(ChainDataError, match=r"pct\.csv: field 'iv': iv looks like percent \(median 12\.5\)"):
        load_chain(write(tmp_path, "pct.csv", small_table(*rows)))


def test_non_numeric_strike_names_file_line_and_field(tmp_path):
    rows = list(GOOD_ROWS)
    rows[2] = rows[2].replace(",4700,C,", ",47OO,C,")
    with pytest.raises(ChainDataError, match=r"strike\.csv: line 4, field 'strike': not a number \('47OO'\)"):
        load_chain(write(tmp_path, "strike.csv", small_table(*rows)))


def test_negative_open_interest_names_file_line_and_field(tmp_path):
    rows = list(GOOD_ROWS)
    rows[1] = rows[1].replace(",P,200,", ",P,-200,")
    with pytest.raises(ChainDataError, match=r"oi\.csv: line 3, field 'open_interest': negative open interest"):
        load_chain(write(tmp_path, "oi.csv", small_table(*rows)))


def test_missing_required_column_is_named(tmp_path):
    header = HEADER.replace("open_interest", "oi")
    with pytest.raises(ChainDataError, match=r"nooi\.csv: missing required column\(s\) open_interest"):
        load_table(write(tmp_path, "nooi.csv", small_table(GOOD_ROWS[0], header=header)))


def test_as_of_without_offset_is_rejected(tmp_path):
    rows = [r.replace("T15:00:00-05:00", "T15:00:00") for r in GOOD_ROWS]
    with pytest.raises(ChainDataError, match=r"naive\.csv: line 2, field 'as_of': as_of has no UTC offset"):
        load_chain(write(tmp_path, "naive.csv", small_table(*rows)))


def test_as_of_differing_between_rows_is_rejected(tmp_path):
    rows = list(GOOD_ROWS)
    rows[3] = rows[3].replace("T15:00:00", "T15:01:00")
    with pytest.raises(ChainDataError, match=r"asof\.csv: line 5, field 'as_of': as_of must be the same"):
        load_chain(write(tmp_path, "asof.csv", small_table(*rows)))


def test_bad_side_and_bad_expiry_name_their_lines(tmp_path):
    rows = list(GOOD_ROWS)
    rows[0] = rows[0].replace(",C,100,", ",X,100,")
    with pytest.raises(ChainDataError, match=r"side\.csv: line 2, field 'side': side must be C or P"):
        load_chain(write(tmp_path, "side.csv", small_table(*rows)))
    rows = list(GOOD_ROWS)
    rows[1] = rows[1].replace("2024-01-19", "19/01/2024")
    with pytest.raises(ChainDataError, match=r"exp\.csv: line 3, field 'expiry': expiry must be YYYY-MM-DD"):
        load_chain(write(tmp_path, "exp.csv", small_table(*rows)))


def test_expired_only_table_is_an_error(tmp_path):
    rows = [r.replace("2024-01-19", "2024-01-05").replace(",SPXW,", ",SPX,", 1) for r in GOOD_ROWS[2:]]
    with pytest.raises(ChainDataError, match=r"old\.csv: no live rows: all 2 rows settled before the snapshot"):
        load_chain(write(tmp_path, "old.csv", small_table(*rows)))


def test_header_only_table_is_an_error(tmp_path):
    with pytest.raises(ChainDataError, match=r"header\.csv: no option rows"):
        load_chain(write(tmp_path, "header.csv", small_table()))


def test_parquet_errors_name_the_row(tmp_path):
    frame = pd.read_csv(pd.io.common.StringIO(small_table(*GOOD_ROWS)), dtype=str)
    frame.loc[2, "open_interest"] = "-5"
    path = tmp_path / "bad.parquet"
    frame.to_parquet(path)
    with pytest.raises(ChainDataError, match=r"bad\.parquet: line 3, field 'open_interest': negative"):
        load_chain(path)


def test_parquet_with_typed_date_and_time_columns_loads(tmp_path):
    frame = pd.read_csv(pd.io.common.StringIO(small_table(*GOOD_ROWS)))
    frame["expiry"] = pd.to_datetime(frame["expiry"])
    frame["as_of"] = pd.to_datetime(frame["as_of"])
    path = tmp_path / "typed.parquet"
    frame.to_parquet(path)
    chain = load_chain(path)
    assert chain.as_of == pd.Timestamp("2024-01-05 15:00", tz="America/New_York")
    assert chain.expiries[0].isoformat() == "2024-01-19"


def test_parquet_with_a_naive_as_of_is_rejected(tmp_path):
    frame = pd.read_csv(pd.io.common.StringIO(small_table(*GOOD_ROWS)))
    frame["as_of"] = pd.to_datetime(frame["as_of"].str[:19])
    path = tmp_path / "naive.parquet"
    frame.to_parquet(path)
    with pytest.raises(ChainDataError, match=r"naive\.parquet: line 1, field 'as_of': as_of has no UTC offset"):
        load_chain(path)
