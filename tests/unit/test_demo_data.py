"""The synthetic demo data: deterministic, committed as generated, small, and shaped like real chains."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analytics.adv import ADV_FILE_NAME
from analytics.catalog import data_files
from analytics.catalog_files import load_path_cached
from analytics.demo import (
    BTC_VENDOR_LAYOUT_DAYS,
    DEMO_DAYS,
    VENDOR_LAYOUT_DAYS,
    demo_file_name,
    deribit_code,
    deribit_expiries,
    shape_stats,
    spx_expiries,
    write_demo_data,
    write_table_parquet,
)
from analytics.demo_intraday import write_intraday_data
from analytics.sources import detect_format, load_chain
from analytics.sources.book import apply_book, load_book

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "data"
MAX_DATA_BYTES = 8_500_000  # the demo month ~4.6 MB + the intraday session and day (data/intraday/) ~3.1 MB

# Shape bands (documented in data/README.md). Each must hold for the real files AND the demo.
INDEX_BANDS: dict[str, tuple[float, float]] = {
    "n_expiries": (20, 80),
    "median_strikes_per_expiry": (40, 400),
    "near_oi_share": (0.35, 0.80),
    "put_call_oi": (1.0, 2.5),
    "net_to_gross_gex": (-0.30, 0.15),
}
# Deribit: compared with the testnet book summary for the listing shape only (its OI is not real).
CRYPTO_BANDS: dict[str, tuple[float, float]] = {
    "n_expiries": (8, 20),
    "median_strikes_per_expiry": (20, 80),
}
# Demo-only bands for the BTC OI shape (crypto books are call-heavy).
CRYPTO_DEMO_OI_BANDS: dict[str, tuple[float, float]] = {
    "near_oi_share": (0.35, 0.85),
    "put_call_oi": (0.4, 1.3),
    "net_to_gross_gex": (-0.30, 0.35),
}


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> Path:
    """The whole demo month written afresh (about 20 s of a core): only the ``slow`` tests that compare
    the generator with itself and with the committed files ask for it. Every other test reads the
    committed files (``demo_dir``, tests/conftest.py), which those slow tests prove are the generator's."""
    out = tmp_path_factory.mktemp("demo")
    _write_all(out)
    return out


def _write_all(out: Path) -> list[Path]:
    """What ``mmpos demo-data`` writes: the month, then the intraday demo (data/intraday/)."""
    return [*write_demo_data(out), *write_intraday_data(out)]


def _daily_files(folder: Path) -> list[Path]:
    """The demo month's files (the intraday ones in ``intraday/`` have tests of their own:
    tests/unit/test_demo_intraday.py)."""
    return [p for p in data_files(folder) if p.parent == folder]


def _generated_files(folder: Path) -> set[str]:
    """Every generated file under ``folder``, as POSIX paths relative to it (README, ADV config and
    the history store left out)."""
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*")
            if p.is_file() and p.name not in ("README.md", ADV_FILE_NAME)
            and not any(x.startswith(".") for x in p.relative_to(folder).parts)}


@pytest.fixture(scope="module")
def demo_chains(demo_dir):
    """The demo month's chains, through the process's cache of loaded files (the catalog's loader, keyed on
    each file's version): a process that already read the demo month for another test does not load its
    40 files again (~2 s of a core). Read them, never modify them."""
    return {p.name: load_path_cached(p, root=demo_dir) for p in sorted(_daily_files(demo_dir))
            if detect_format(p) != "book"}


def _in_band(stats: dict[str, float], bands: dict[str, tuple[float, float]]) -> dict[str, float]:
    """The stats that fall outside their band (empty when all fit)."""
    return {k: stats[k] for k, (lo, hi) in bands.items() if not lo <= stats[k] <= hi}


# ----------------------------------------------------------------------------- determinism and size


@pytest.mark.slow
def test_two_runs_with_the_same_seed_write_byte_identical_files(generated, tmp_path):
    again = _write_all(tmp_path)
    assert sorted(p.relative_to(tmp_path).as_posix() for p in again) == sorted(_generated_files(generated))
    for path in again:
        rel = path.relative_to(tmp_path)
        assert path.read_bytes() == (generated / rel).read_bytes(), rel


def test_one_day_written_twice_is_byte_identical(demo_last_day, tmp_path):
    """The quick form of the test above (one day of each file kind)."""
    first = demo_last_day
    again = write_demo_data(tmp_path / "b", days=DEMO_DAYS[-1:])
    assert [p.name for p in first] == [p.name for p in again] and len(first) == 3
    for a, b in zip(first, again, strict=True):
        assert a.read_bytes() == b.read_bytes(), a.name


@pytest.mark.slow
def test_writing_a_few_days_gives_the_same_files_as_writing_them_all(generated, tmp_path):
    some = write_demo_data(tmp_path, days=[DEMO_DAYS[3], DEMO_DAYS[-1]])
    assert sorted(p.name for p in some) == sorted([
        "spx_table_2026-10-29.parquet", "btc_table_2026-10-29.parquet", "spx_quotedata_2026-11-20.csv",
        "btc_book_summary_2026-11-20.json", "spx_book_demo.csv"])
    for path in some:
        assert path.read_bytes() == (generated / path.name).read_bytes(), path.name


def test_another_seed_gives_other_numbers(demo_last_day, tmp_path):
    other = write_demo_data(tmp_path / "seed7", seed=7, days=DEMO_DAYS[-1:])
    default = demo_last_day
    assert [p.name for p in other] == [p.name for p in default]
    for a, b in zip(other, default, strict=True):
        if a.name != "spx_book_demo.csv":  # the positions file does not draw on the seed
            assert a.read_bytes() != b.read_bytes(), a.name


def test_a_day_outside_the_demo_month_is_refused(tmp_path):
    with pytest.raises(ValueError, match="not demo days"):
        write_demo_data(tmp_path, days=[dt.date(2026, 11, 21)])


_NUMBER = re.compile(r"-?\d+(?:\.(\d+))?(?:[eE][-+]?\d+)?")


def _numbers_and_skeleton(text: str) -> tuple[str, np.ndarray, np.ndarray]:
    """Text with every number replaced by '#', the numbers, and each number's last printed unit."""
    values, units = [], []
    for m in _NUMBER.finditer(text):
        values.append(float(m.group(0)))
        units.append(10.0 ** -len(m.group(1) or "") if "e" not in m.group(0).lower() else abs(float(m.group(0))) * 1e-12)
    return _NUMBER.sub("#", text), np.array(values), np.array(units)


def _parquet_columns(path: Path) -> dict[str, list]:
    import pyarrow.parquet as pq

    return pq.read_table(path).to_pydict()


@pytest.mark.slow
def test_committed_data_is_what_the_generator_writes(generated):
    """Same files, same structure, same numbers: byte equality is checked above on one machine; across
    machines (CPU-specific SIMD exp/log) a value may round to the neighbouring printed digit or tick,
    so here a number may differ by at most a few units of its last printed digit, and only rarely.
    Parquet files (whose bytes also depend on the pyarrow version) are compared column by column, with
    the numbers as the vendor text printed them. A hand edit changes structure or numbers beyond that
    and fails."""
    # README.md and adv.toml (a hand-kept config with demo values, read by tests/unit/test_adv.py) are not generated
    assert _generated_files(DATA) == _generated_files(generated), "run `mmpos demo-data --out data`"
    for rel in sorted(_generated_files(generated)):
        path, committed = generated / rel, DATA / rel
        hint = f"data/{rel} differs from the generator's output: data/ is generated, never hand-edited"
        if path.suffix == ".parquet":
            got, want = _parquet_columns(committed), _parquet_columns(path)
            assert list(got) == list(want), hint
            for col, values in want.items():
                if isinstance(values[0], str):
                    assert got[col] == values, hint
                else:
                    a, b = np.asarray(got[col], float), np.asarray(values, float)
                    assert (np.isnan(a) == np.isnan(b)).all(), hint  # an unquoted side stays unquoted
                    diff = np.abs(np.nan_to_num(a) - np.nan_to_num(b))
                    assert (diff <= 1e-3 * np.abs(np.nan_to_num(b)) + 1e-9).all() and (diff > 0).mean() < 1e-3, hint
            continue
        skel_c, val_c, unit_c = _numbers_and_skeleton(committed.read_text())
        skel_g, val_g, _ = _numbers_and_skeleton(path.read_text())
        assert skel_c == skel_g, hint
        diff = np.abs(val_c - val_g)
        assert (diff <= 10 * unit_c + 1e-9 * np.abs(val_c)).all(), hint
        assert (diff > 0).mean() < 1e-3, hint


def test_committed_data_stays_under_8_5_mb():
    # the history store (data/.mmpos, made by mmpos serve/history/backfill) is not committed data
    files = [p for p in DATA.rglob("*") if p.is_file() and not any(x.startswith(".") for x in p.relative_to(DATA).parts)]
    total = sum(p.stat().st_size for p in files)
    assert total < MAX_DATA_BYTES, f"data/ holds {total:,} bytes"


# ----------------------------------------------------------------------------- files and loaders


def test_demo_writes_twenty_days_of_spx_and_btc_the_newest_days_in_vendor_layouts(demo_dir, demo_chains):
    assert len(DEMO_DAYS) == 20 and DEMO_DAYS[-1] == dt.date(2026, 11, 20)
    assert all(d.weekday() < 5 for d in DEMO_DAYS) and len(set(DEMO_DAYS)) == 20
    formats = sorted(detect_format(p) for p in _daily_files(demo_dir))
    n_spx, n_btc = VENDOR_LAYOUT_DAYS, BTC_VENDOR_LAYOUT_DAYS
    assert (n_spx, n_btc) == (5, 2)
    assert formats == ["book"] + ["cboe"] * n_spx + ["deribit-book-summary"] * n_btc + ["table-parquet"] * (
        40 - n_spx - n_btc)
    assert {detect_format(demo_dir / demo_file_name("SPX", d)) for d in DEMO_DAYS[-n_spx:]} == {"cboe"}
    assert {detect_format(demo_dir / demo_file_name("BTC", d)) for d in DEMO_DAYS[-n_btc:]} == {
        "deribit-book-summary"}
    spx = sorted((c for c in demo_chains.values() if c.underlying == "SPX"), key=lambda c: c.as_of)
    btc = sorted((c for c in demo_chains.values() if c.underlying == "BTC"), key=lambda c: c.as_of)
    assert [c.as_of for c in spx] == [
        pd.Timestamp(dt.datetime.combine(d, dt.time(16, 15)), tz="America/New_York") for d in DEMO_DAYS
    ]
    assert [c.as_of for c in btc] == [pd.Timestamp(dt.datetime.combine(d, dt.time(14)), tz="UTC") for d in DEMO_DAYS]
    assert all(c.model == "black76" and c.default_multiplier == 1.0 for c in btc)
    assert all(c.model == "bsm" and c.default_multiplier == 100.0 for c in spx)


def test_spot_moves_every_day_but_stays_near_its_start(demo_chains):
    for name, start, tol in (("SPX", 6700.0, 0.05), ("BTC", 95000.0, 0.12)):
        spots = np.array([c.spot for c in demo_chains.values() if c.underlying == name])
        assert len(np.unique(spots)) == len(DEMO_DAYS)
        assert np.all(np.abs(spots / start - 1) < tol), spots


def test_an_older_day_in_parquet_analyses_like_its_vendor_file_would(demo_chains, tmp_path):
    from analytics.report import analyze

    vendor = demo_chains["spx_quotedata_2026-11-20.csv"]
    table = load_chain(write_table_parquet(vendor, tmp_path / "spx.parquet"))
    assert (table.underlying, table.as_of, table.spot, table.model) == (vendor.underlying, vendor.as_of, vendor.spot,
                                                                        vendor.model)
    # the tables carry the quotes, so the default model (parity forwards, OTM IVs) reads the same prices
    a, b = analyze(vendor), analyze(table)
    assert b.model_description == a.model_description and (b.forwards["method"] == "parity").all()
    assert b.forwards["forward"].to_numpy() == pytest.approx(a.forwards["forward"].to_numpy(), rel=1e-12)
    assert b.total_gex_usd_per_1pct == pytest.approx(a.total_gex_usd_per_1pct, rel=1e-12)
    assert b.zero_gamma_levels == pytest.approx(a.zero_gamma_levels) and b.call_wall == a.call_wall
    assert [w.code for w in b.notes] == [w.code for w in a.notes]
    btc = demo_chains["btc_book_summary_2026-11-20.json"]
    btc_table = load_chain(write_table_parquet(btc, tmp_path / "btc.parquet"))
    assert btc_table.model == "black76" and (btc_table.rows["multiplier"] == 1).all()
    assert analyze(btc_table).total_gex_usd_per_1pct == pytest.approx(analyze(btc).total_gex_usd_per_1pct,
                                                                      rel=1e-12)


def test_the_file_iv_reprices_the_quotes_inside_the_spread(demo_chains):
    from analytics.pricing import price, side_sign

    for chain in demo_chains.values():
        r = chain.rows
        level = r["forward"].to_numpy() if chain.model == "black76" else chain.spot
        model = price(level, r["strike"], chain.years_to_settlement(), r["iv"], side_sign(r["side"].to_numpy()))
        bid = r["bid"].fillna(0.0).to_numpy()
        ask = r["ask"].to_numpy()
        tol = 1e-3 * level if chain.model == "black76" else 0.01  # mark_iv printed to 2 dp, iv to 4 dp
        inside = (model >= bid - tol) & (model <= ask + tol)
        assert inside.mean() > 0.999, chain.source


def test_same_day_spx_expiry_is_listed_and_dropped_as_settled(demo_chains):
    chain = demo_chains["spx_quotedata_2026-11-16.csv"]
    assert any("settled before the snapshot (expiry 2026-11-16)" in w for w in chain.warnings)
    assert min(chain.expiries) == dt.date(2026, 11, 17)


def test_monthly_third_friday_lists_am_spx_beside_pm_spxw(demo_chains):
    rows = demo_chains["spx_quotedata_2026-11-16.csv"].rows
    dec = rows[rows["expiry"] == pd.Timestamp("2026-12-18")]
    assert set(dec["root"]) == {"SPX", "SPXW"}
    settle = dec.groupby("root")["settlement"].first()
    assert settle["SPX"] == pd.Timestamp("2026-12-18 09:30", tz="America/New_York")
    assert settle["SPXW"] == pd.Timestamp("2026-12-18 16:00", tz="America/New_York")


def test_spx_calendar_has_dailies_weeklies_monthlies_quarterlies_and_two_years_of_leaps():
    listed = spx_expiries(dt.date(2026, 11, 16))
    dates = {d for d, _ in listed}
    assert {dt.date(2026, 11, d) for d in (16, 17, 18, 19, 20, 23, 24, 25, 27)} <= dates  # no Thanksgiving
    assert dt.date(2026, 11, 26) not in dates
    assert (dt.date(2026, 12, 24), "SPXW") in listed  # Christmas Friday: the weekly moves to Thursday
    assert (dt.date(2027, 6, 17), "SPX") in listed  # Juneteenth Friday: the monthly moves to Thursday
    assert (dt.date(2027, 3, 31), "SPXW") in listed  # quarter end
    leaps = sorted(d for d, r in listed if r == "SPX" and d.month == 12)
    assert leaps == [dt.date(2026, 12, 18), dt.date(2027, 12, 17), dt.date(2028, 12, 15)]
    assert max(dates) - dt.date(2026, 11, 16) < dt.timedelta(days=2 * 366 + 31)


def test_deribit_calendar_has_dailies_fridays_last_friday_monthlies_and_quarterlies():
    listed = deribit_expiries(dt.date(2026, 11, 20))
    assert listed[:4] == [dt.date(2026, 11, d) for d in (21, 22, 23, 24)]
    assert dt.date(2026, 11, 20) not in listed  # settled at 08:00, snapshot 14:00
    assert {dt.date(2026, 11, 27), dt.date(2026, 12, 25), dt.date(2027, 1, 29)} <= set(listed)
    assert {dt.date(2027, 3, 26), dt.date(2027, 6, 25), dt.date(2027, 9, 24)} <= set(listed)
    assert deribit_code(dt.date(2026, 11, 27)) == "27NOV26"


def test_deribit_records_look_like_the_api(demo_dir):
    import json

    doc = json.loads((demo_dir / "btc_book_summary_2026-11-19.json").read_text())
    assert doc["jsonrpc"] == "2.0" and doc["usOut"] > doc["usIn"]
    rec = doc["result"][0]
    for key in ("instrument_name", "underlying_index", "underlying_price", "mark_iv", "mark_price", "bid_price",
                "ask_price", "open_interest", "estimated_delivery_price", "creation_timestamp", "base_currency",
                "quote_currency"):
        assert key in rec
    names = pd.Series([r["instrument_name"] for r in doc["result"]])
    assert names.str.match(r"^BTC-\d{1,2}[A-Z]{3}\d{2}-\d+-[CP]$").all()
    index = {r["underlying_index"] for r in doc["result"]}
    assert "SYN.BTC-21NOV26" in index and "BTC-27NOV26" in index


def test_deribit_forwards_are_in_contango(demo_chains):
    chain = demo_chains["btc_book_summary_2026-11-19.json"]
    fwd = chain.rows.groupby("expiry")["forward"].first().to_numpy()
    assert np.all(np.diff(fwd) > 0) and fwd[0] > chain.spot


def test_open_interest_sits_on_round_strikes(demo_chains):
    rows = demo_chains["spx_quotedata_2026-11-16.csv"].rows
    near = rows[(rows["strike"] - 6700).abs() <= 300]
    per_strike = near.groupby("strike")["open_interest"].sum()
    hundreds = per_strike[per_strike.index % 100 == 0].mean()
    fives = per_strike[per_strike.index % 25 != 0].mean()
    assert hundreds > 3 * fives


def test_demo_book_applies_to_the_demo_chain_with_every_position_matched(demo_dir, demo_chains):
    book = load_book(demo_dir / "spx_book_demo.csv")
    chain = apply_book(demo_chains["spx_quotedata_2026-11-16.csv"], book)
    assert chain.rows["position"].abs().sum() == book["quantity"].abs().sum()


# ----------------------------------------------------------------------------- shape vs real files


@pytest.fixture(scope="module")
def real_spx_stats(spx_path) -> dict[str, float]:
    """``shape_stats`` of the real SPX file, computed once for the module (a load costs ~0.1 s of a core,
    and the twenty demo days compare with it). ``real_spx`` gives each test its own copy."""
    return shape_stats(load_chain(spx_path))


@pytest.fixture
def real_spx(real_spx_stats) -> dict[str, float]:
    return dict(real_spx_stats)


@pytest.mark.parametrize("fixture", ["spx_path", "ndx_path"])
def test_real_index_files_fall_inside_the_documented_bands(fixture, request):
    stats = shape_stats(load_chain(request.getfixturevalue(fixture)))
    assert _in_band(stats, INDEX_BANDS) == {}


@pytest.mark.parametrize("day", DEMO_DAYS, ids=str)
def test_demo_spx_snapshot_is_shaped_like_the_real_index_files(day, demo_chains, real_spx):
    stats = shape_stats(demo_chains[demo_file_name("SPX", day)])
    assert _in_band(stats, INDEX_BANDS) == {}
    real = real_spx
    # dealers short gamma on the SqueezeMetrics convention, as in the real SPX file
    assert np.sign(stats["net_to_gross_gex"]) == np.sign(real["net_to_gross_gex"]) == -1


def test_real_deribit_listing_falls_inside_the_crypto_bands(deribit_book_summary_path):
    assert _in_band(shape_stats(load_chain(deribit_book_summary_path)), CRYPTO_BANDS) == {}


@pytest.mark.parametrize("day", DEMO_DAYS, ids=str)
def test_demo_btc_snapshot_is_shaped_like_a_deribit_chain(day, demo_chains):
    stats = shape_stats(demo_chains[demo_file_name("BTC", day)])
    assert _in_band(stats, CRYPTO_BANDS) == {}
    assert _in_band(stats, CRYPTO_DEMO_OI_BANDS) == {}
