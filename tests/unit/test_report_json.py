"""The analyze JSON's records (analytics.report.json_records): the same values as pandas'
``to_dict("records")`` passed through ``_jsonable``, built column by column."""

from __future__ import annotations

import datetime as dt
import doctest
import json

import numpy as np
import pandas as pd

import analytics.report
from analytics.report import _jsonable, json_records


def _by_rows(frame: pd.DataFrame) -> list[dict]:
    """The row-by-row form json_records replaces (pandas' records, then each value made JSON-ready)."""
    return [{str(k): _jsonable(v) for k, v in rec.items()} for rec in frame.to_dict(orient="records")]


def test_json_records_match_pandas_records_for_every_column_kind() -> None:
    frame = pd.DataFrame({
        "expiry": [dt.date(2024, 1, 19), dt.date(2024, 2, 16), dt.date(2024, 3, 15)],
        "day": pd.to_datetime(["2024-01-19", None, "2024-03-15"]),
        "cat": pd.Categorical(["x", "y", None]),
        "at": pd.to_datetime(["2024-01-19 21:00", "2024-02-16 21:00", "2024-03-15 14:30"], utc=True),
        "gex": [1.5, np.nan, -np.inf],
        "zero": [-0.0, 0.0, 1e-300],
        "f32": np.array([0.1, np.nan, 2.5], dtype=np.float32),
        "n": np.array([3, -1, 0], dtype=np.int64),
        "u": np.array([1, 2, 3], dtype=np.uint8),
        "ok": [True, False, True],
        "note": pd.array(["a", None, "c"], dtype="str"),
        "obj": pd.Series([None, np.float64(np.nan), "x"], dtype=object),
        7: [np.float64(2.0), np.int64(4), "y"],
    })
    got = json_records(frame)
    assert got == _by_rows(frame)
    assert json.dumps(got) == json.dumps(_by_rows(frame))  # -0.0, 1e-300 and types written alike
    assert got[1]["gex"] is None and got[2]["gex"] is None and got[1]["note"] is None


def test_json_records_of_empty_frames() -> None:
    assert json_records(pd.DataFrame({"a": pd.Series([], dtype=float)})) == []
    assert json_records(pd.DataFrame(index=range(2))) == _by_rows(pd.DataFrame(index=range(2))) == [{}, {}]


def test_report_doctests() -> None:
    assert doctest.testmod(analytics.report).failed == 0


def former_columns_by_expiry(frame, columns, decimals=None):
    """report._columns_by_expiry as first written: the runs of expiries from pd.factorize."""
    import math

    codes, dates = pd.factorize(frame["expiry"], sort=False)
    starts = np.searchsorted(codes, np.arange(len(dates) + 1))
    out = {d.isoformat(): {} for d in dates}
    for name in columns:
        a = frame[name].to_numpy(float)
        if decimals is not None and name != "strike":
            a = np.round(a, decimals)
        column = [None if not math.isfinite(x) else x for x in a.tolist()]
        for i, d in enumerate(dates):
            out[d.isoformat()][name] = column[starts[i]:starts[i + 1]]
    return out


def test_the_smile_columns_per_expiry_are_the_former_factorized_runs(spx_path):
    from analytics.report import _columns_by_expiry, analyze
    from analytics.sources.cboe import load_cboe

    a = analyze(load_cboe(spx_path))
    columns = ("strike", "log_moneyness", "iv")
    for frame in (a.smile, a.smile.iloc[:0], a.smile.iloc[:7], a.smile.iloc[3:4]):
        assert _columns_by_expiry(frame, columns, 6) == former_columns_by_expiry(frame, columns, 6)
