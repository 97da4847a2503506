"""The header's collector line (issue 19): ``mmpos collect``'s newest fetch per underlying and its
failures (:func:`dashboard.collect.status_text`, from the status file in the data folder's state
folder), refreshed with the catalog poll; empty when no collector ever wrote to this data folder."""

from __future__ import annotations

from typing import Any

import dash
import pandas as pd
from dash import Input, Output
from flask import current_app

from dashboard import collect
from dashboard.service import resolve_data_dir
from dashboard.web import ids
from dashboard.web.inputs import unexpected


def collect_line(data_dir: str | None, now: pd.Timestamp) -> str:
    """The line for ``data_dir`` at ``now`` ("" when the collector never ran there)."""
    return collect.status_text(collect.read_status(resolve_data_dir(data_dir)), now) or ""


def register(app: dash.Dash) -> None:
    """Declare the line's callback on ``app``."""
    @app.callback(Output(ids.COLLECT_STATUS, "children"), Input(ids.CATALOG_POLL, "n_intervals"))
    def _line(_n: Any) -> str:
        try:
            return collect_line(current_app.config.get("MMPOS_DATA_DIR"), pd.Timestamp.now(tz="UTC"))
        except Exception:  # noqa: BLE001 - a header line must never break the page
            unexpected("The collector status line")
            return ""
