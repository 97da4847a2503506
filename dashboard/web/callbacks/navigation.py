"""What the callbacks that navigate by writing the URL share: which input fired, and the URL of the
view they open (the controls callback reads the URL back into the view-state store, as on a back or
forward navigation, so every control and view follows and a shared link keeps the view).

The History tab's clicks (:mod:`dashboard.web.callbacks.history`) and the Intraday tab's slider,
column click and expiry toggle (:mod:`dashboard.web.callbacks.intraday`) go through these.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import dash
from dash import no_update

from dashboard.web.state import default_state, to_query


def triggered_prop() -> str | None:
    """The ``"<component id>.<property>"`` whose change ran the current callback (None on a first call)."""
    return dash.ctx.triggered[0]["prop_id"] if dash.ctx.triggered_id is not None else None


def view_with(state: Mapping[str, Any] | None, **changes: Any) -> dict[str, Any]:
    """A view state with ``changes`` over it, every key the state lacks at its default.

    Examples
    --------
    >>> view_with({"u": "SPX"}, snap="spx-1", strike=None)["snap"]
    'spx-1'
    """
    return {**default_state(), **(state or {}), **changes}


def url_of(state: Mapping[str, Any], search: str | None) -> Any:
    """The URL search that opens ``state``, or ``no_update`` when the URL says it already (writing it
    again would push a second browser-history entry for the same view).

    Examples
    --------
    >>> from dashboard.web.state import to_query
    >>> s = view_with({"u": "SPX"}, snap="spx-1")
    >>> url_of(s, None) == to_query(s), url_of(s, to_query(s)) is no_update
    (True, True)
    """
    query = to_query(state)
    return no_update if query == (search or "") else query
