"""The one previous-snapshot rule (analytics.previous, through dashboard.service.find_previous) on a
real folder's situations: a file of the same evening is no previous snapshot, and one listing only a
few of today's expiries is not comparable."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from analytics import previous as prev_rule
from dashboard import service


def table_copy(src: Path, dst: Path, *, as_of: str | None = None, expiries: int | None = None) -> None:
    frame = pd.read_parquet(src)
    if as_of is not None:
        frame["as_of"] = as_of
    if expiries is not None:
        frame = frame.loc[frame["expiry"].isin(sorted(frame["expiry"].unique())[:expiries])]
    frame.to_parquet(dst, index=False)


def test_a_file_of_the_same_evening_is_not_the_previous_snapshot(demo_dir, tmp_path):
    demo = Path(demo_dir)
    table_copy(demo / "spx_table_2026-11-12.parquet", tmp_path / "spx_table_2026-11-12.parquet")
    table_copy(demo / "spx_table_2026-11-13.parquet", tmp_path / "spx_table_2026-11-13.parquet")
    # 38 minutes earlier, the same evening, a few expiries only: the same session's quotes
    table_copy(demo / "spx_table_2026-11-13.parquet", tmp_path / "spx_table_2026-11-13_early.parquet",
               as_of="2026-11-13T15:37:00-05:00", expiries=5)
    catalog = service.get_catalog(tmp_path)
    today = catalog.latest("SPX")
    assert today.as_of == pd.Timestamp("2026-11-13 16:15", tz="America/New_York")
    found = service.find_previous(catalog, today)
    assert found.entry is not None and found.entry.as_of.date().isoformat() == "2026-11-12"
    assert found.note is None


def test_a_previous_session_file_with_few_of_todays_expiries_is_not_comparable(demo_dir, tmp_path):
    demo = Path(demo_dir)
    table_copy(demo / "spx_table_2026-11-12.parquet", tmp_path / "spx_table_2026-11-12.parquet", expiries=2)
    table_copy(demo / "spx_table_2026-11-13.parquet", tmp_path / "spx_table_2026-11-13.parquet")
    catalog = service.get_catalog(tmp_path)
    today = catalog.latest("SPX")
    listed = service.facts_for(catalog.snapshots("SPX")[1]).expiries
    share = prev_rule.coverage(service.gross_by_expiry(today), listed)
    assert share < prev_rule.PREVIOUS_MIN_COVERAGE
    found = service.find_previous(catalog, today)
    assert found.entry is None
    assert found.note.startswith("no comparable previous snapshot") and f"{100 * share:.0f}%" in found.note
    # the report (mmpos report, the page's download) goes by the same rule
    assert service.previous_entry(catalog, today) is None
