"""Intraday snapshots for tests, made from one committed CBOE demo file in the test's own folder: the
same chain re-stamped at other times of its session, with its open interest scaled (so the GEX of each
time differs by a known factor)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path

SOURCE = "spx_quotedata_2026-11-20.csv"  # "Date: November 20, 2026 at 4:15 PM EST"
OI_COLUMNS = (10, 21)  # the call and put "Open Interest" columns of a CBOE quote table row


def stamp(t: dt.time) -> str:
    """The CBOE date line's time: ``10:05 AM``."""
    return dt.datetime.combine(dt.date(2026, 11, 20), t).strftime("%I:%M %p").lstrip("0")


def write_snapshot(demo_dir: Path, out: Path, t: dt.time, oi_scale: float = 1.0) -> Path:
    """One SPX snapshot of the 2026-11-20 session at ``t`` (New York), open interest times ``oi_scale``."""
    lines = (demo_dir / SOURCE).read_text().splitlines()
    rows = []
    for line in lines:
        if line.startswith('"Date: November 20, 2026 at'):
            line = line.replace("4:15 PM", stamp(t), 1)
        elif line[:4] in ("Mon ", "Tue ", "Wed ", "Thu ", "Fri ", "Sat ", "Sun ") and oi_scale != 1.0:
            cells = line.split(",")
            for i in OI_COLUMNS:
                cells[i] = str(round(float(cells[i]) * oi_scale))
            line = ",".join(cells)
        rows.append(line)
    path = out / f"spx_quotedata_2026-11-20_{t.strftime('%H%M')}.csv"
    path.write_text("\n".join(rows) + "\n")
    return path


def write_session(demo_dir: Path, out: Path, times: Sequence[dt.time],
                  oi_scales: Sequence[float] | None = None) -> list[Path]:
    """Several snapshots of the 2026-11-20 session (``oi_scales`` default 1, 1.1, 1.2, ...)."""
    out.mkdir(parents=True, exist_ok=True)
    scales = oi_scales or [1.0 + 0.1 * i for i in range(len(times))]
    return [write_snapshot(demo_dir, out, t, s) for t, s in zip(times, scales, strict=True)]
