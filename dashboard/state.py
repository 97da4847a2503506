"""The view state: one small JSON dict in a dcc.Store, its URL query-string codec, expiry presets.

The store holds what the trader chose, never data:

=========  ===============================================================  ====================
key        meaning                                                          URL parameter
=========  ===============================================================  ====================
u          underlying ticker                                                ``u=SPX``
snap       catalog entry id of the snapshot                                 ``snap=...``
preset     expiry preset: 0dte, 7d, 30d, monthly, all, or custom            ``exp=30d``
exp        the resolved expiry dates (ISO), the set every view uses         ``exp=2024-01-19,...``
conv       dealer sign convention                                           ``conv=dealer-short-all``
shock      shock range, +/- percent                                         ``shock=10``
h          horizon of the main numbers, days (0 = now, 1 = +1 day)          ``h=1``
vol        vol scenario: none, shift (vol points) or beta (spot-vol beta)   ``vol=shift:2.5``
volv       the scenario's number                                            (in ``vol``)
stack      gamma bars stacked by expiry                                     ``stack=1``
units      hedge flow in "usd" or "units" of the underlying                 ``units=units``
strike     strike highlighted on the gamma view (not in the URL)
tab        page tab: "main" (one snapshot) or "history"                     ``tab=history``
hn         history depth: the last 5, 20, 60 snapshots, or "all"            ``hn=60``
=========  ===============================================================  ====================

With a named preset the URL carries the preset, not the dates, so a pasted link re-resolves it
against the same snapshot and gives the same dates.

The numbers become an :class:`analytics.scenario.Scenario` in :func:`scenario_from_state`, the only
place that checks them; :func:`checked_state` moves a refused value to the nearest valid one and says
why (the page shows it in a banner and keeps serving).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import parse_qs, urlencode

from analytics import conventions
from analytics.calendars import deribit_monthly_expiry, monthly_equity_expiry, third_friday
from analytics.errors import ScenarioError
from analytics.scenario import Scenario, bound_of

PRESETS: tuple[tuple[str, str], ...] = (
    ("0dte", "0DTE"),
    ("7d", "Next 7 days"),
    ("30d", "Next 30 days"),
    ("monthly", "Monthlies"),
    ("all", "All"),
    ("custom", "Custom"),
)
PRESET_NAMES = frozenset(p for p, _ in PRESETS)
SHOCK_CHOICES: tuple[int, ...] = (5, 10, 15, 20, 30)
HORIZON_CHOICES: tuple[int, ...] = (0, 1)
MAX_SHOCK_RANGE_PCT = 50.0  # the widest +/- shock range a URL may ask for (the controls offer up to 30)
VOL_MODES: tuple[str, ...] = ("none", "shift", "beta")
VOL_FIELDS: dict[str, str] = {"shift": "vol_shift_pts", "beta": "spot_vol_beta"}  # vol mode -> Scenario field
UNIT_CHOICES: tuple[str, ...] = ("usd", "units")
TAB_CHOICES: tuple[str, ...] = ("main", "history")
HISTORY_DEPTHS: tuple[int | str, ...] = (5, 20, 60, "all")  # the last N snapshots the history tab shows

DEFAULT_STATE: dict[str, Any] = {
    "u": None,
    "snap": None,
    "preset": "all",
    "exp": [],
    "conv": conventions.DEFAULT_CONVENTION,
    "shock": 20,
    "h": 0,
    "vol": "none",
    "volv": 0.0,
    "stack": False,
    "units": "usd",
    "strike": None,
    "tab": "main",
    "hn": 20,
}


def default_state(**overrides: Any) -> dict[str, Any]:
    """A fresh state dict with defaults, overridden by keyword."""
    state = dict(DEFAULT_STATE)
    state["exp"] = []
    state.update(overrides)
    return state


# --------------------------------------------------------------------------- URL codec


def _fmt_num(x: float) -> str:
    return f"{x:g}"


def to_query(state: Mapping[str, Any]) -> str:
    """Encode the shareable part of a state as a URL query string (with the leading ``?``).

    Defaults are left out to keep links short.

    Examples
    --------
    >>> to_query(default_state(u="SPX", snap="spx-1", preset="7d"))
    '?u=SPX&snap=spx-1&exp=7d'
    """
    params: list[tuple[str, str]] = []
    if state.get("u"):
        params.append(("u", str(state["u"])))
    if state.get("snap"):
        params.append(("snap", str(state["snap"])))
    preset = state.get("preset") or "all"
    if preset == "custom":
        if state.get("exp"):
            params.append(("exp", ",".join(state["exp"])))
    elif preset != "all":
        params.append(("exp", preset))
    if state.get("conv") and state["conv"] != conventions.DEFAULT_CONVENTION:
        params.append(("conv", str(state["conv"])))
    if state.get("shock") not in (None, DEFAULT_STATE["shock"]):
        params.append(("shock", _fmt_num(float(state["shock"]))))
    if state.get("h"):
        params.append(("h", _fmt_num(float(state["h"]))))
    if state.get("vol") in ("shift", "beta"):
        params.append(("vol", f"{state['vol']}:{_fmt_num(float(state.get('volv') or 0.0))}"))
    if state.get("stack"):
        params.append(("stack", "1"))
    if state.get("units") == "units":
        params.append(("units", "units"))
    if state.get("tab") == "history":
        params.append(("tab", "history"))
    if state.get("hn", DEFAULT_STATE["hn"]) != DEFAULT_STATE["hn"]:
        params.append(("hn", str(state["hn"])))
    return "?" + urlencode(params, safe=":,/") if params else ""


def _float_or(text: str | None, default: float) -> float:
    try:
        value = float(text) if text is not None else default
    except ValueError:
        return default
    return value if value == value and abs(value) != float("inf") else default


def _iso_date(text: str) -> str | None:
    try:
        return dt.date.fromisoformat(text.strip()).isoformat()
    except ValueError:
        return None


def from_query(search: str | None) -> dict[str, Any]:
    """Decode a URL query string into a state dict; unknown or malformed values fall back to defaults.

    Examples
    --------
    >>> s = from_query("?u=SPX&exp=2024-01-19,2024-01-26&conv=dealer-short-all&vol=shift:2.5")
    >>> s["preset"], s["exp"], s["conv"], s["vol"], s["volv"]
    ('custom', ['2024-01-19', '2024-01-26'], 'dealer-short-all', 'shift', 2.5)
    """
    q = {k: v[-1] for k, v in parse_qs((search or "").lstrip("?"), keep_blank_values=False).items()}
    state = default_state()
    state["u"] = q.get("u") or None
    state["snap"] = q.get("snap") or None
    exp = q.get("exp")
    if exp:
        if exp in PRESET_NAMES and exp != "custom":
            state["preset"] = exp
        else:
            dates = [d for d in (_iso_date(x) for x in exp.split(",")) if d]
            if dates:
                state["preset"] = "custom"
                state["exp"] = sorted(set(dates))
    if q.get("conv"):
        state["conv"] = q["conv"]
    shock = _float_or(q.get("shock"), DEFAULT_STATE["shock"])
    state["shock"] = min(max(abs(shock), 1.0), MAX_SHOCK_RANGE_PCT)
    h = _float_or(q.get("h"), 0.0)
    state["h"] = h if h in HORIZON_CHOICES else 0
    vol = q.get("vol", "")
    mode, _, value = vol.partition(":")
    if mode in ("shift", "beta"):
        state["vol"] = mode
        state["volv"] = _float_or(value, 0.0)
    state["stack"] = q.get("stack") == "1"
    state["units"] = "units" if q.get("units") == "units" else "usd"
    state["tab"] = "history" if q.get("tab") == "history" else "main"
    state["hn"] = history_depth(q.get("hn"))
    return state


def history_depth(value: Any) -> int | str:
    """One of :data:`HISTORY_DEPTHS` from a URL or control value (anything else: the default).

    Examples
    --------
    >>> history_depth("60"), history_depth("all"), history_depth(7), history_depth(None)
    (60, 'all', 20, 20)
    """
    text = str(value).strip().lower() if value is not None else ""
    for depth in HISTORY_DEPTHS:
        if text == str(depth):
            return depth
    return DEFAULT_STATE["hn"]


# --------------------------------------------------------------------------- state <-> Scenario


def scenario_from_state(state: Mapping[str, Any]) -> Scenario:
    """The Scenario a view state asks for (raises ScenarioError when a value is out of range).

    The shock range ``n`` becomes shocks -n..n in steps of 1%; at +1 day the curve for now is also
    computed (the gap at 0% is the charm flow); the expiry filter is None for the preset ``all``.

    Examples
    --------
    >>> s = scenario_from_state(default_state(shock=2, h=1, vol="beta", volv=-0.5, preset="custom",
    ...                                       exp=["2024-01-19"]))
    >>> s.shocks_pct, s.compare_horizons_days, s.spot_vol_beta, s.vol_shift_pts, len(s.expiries)
    ((-2.0, -1.0, 0.0, 1.0, 2.0), (0.0,), -0.5, 0.0, 1)
    """
    n = int(round(_float_or(str(state.get("shock")), DEFAULT_STATE["shock"])))
    h = state.get("h") or 0.0
    vol_field = VOL_FIELDS.get(str(state.get("vol")))
    preset = state.get("preset") or "all"
    return Scenario(
        expiries=None if preset == "all" or not state.get("exp") else state["exp"],
        convention=state.get("conv") or conventions.DEFAULT_CONVENTION,
        shocks_pct=tuple(float(x) for x in range(-n, n + 1)),
        horizon_days=h,
        compare_horizons_days=(0.0,) if h else (),
        **({vol_field: state.get("volv") or 0.0} if vol_field else {}),
    )


def checked_state(state: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """The state with each refused scenario value moved to the nearest valid one, and the reasons.

    Examples
    --------
    >>> s, notes = checked_state(default_state(vol="beta", volv=500))
    >>> s["volv"], notes
    (10.0, ['spot-vol beta 500 is out of range: allowed -10 to 10 (vol points per 1% spot shock); using 10'])
    """
    s = dict(state)
    notes: list[str] = []
    for _ in range(len(DEFAULT_STATE)):  # each pass fixes one field
        try:
            scenario_from_state(s)
            return s, notes
        except ScenarioError as err:
            bound = bound_of(err.name or "")
            if err.name in VOL_FIELDS.values() and bound is not None:
                value = _float_or(str(s.get("volv")), 0.0)
                s["volv"] = bound.clamp(value)
                notes.append(f"{err}; using {s['volv']:g}")
            elif err.name == "expiries":
                s.update(preset="all", exp=[])
                notes.append(f"{err}; using every expiry")
            elif err.name == "convention":
                s["conv"] = conventions.DEFAULT_CONVENTION
                notes.append(f"{err}; using {s['conv']}")
            else:
                s.update({k: DEFAULT_STATE[k] for k in ("shock", "h", "vol", "volv")})
                notes.append(f"{err}; using the default scenario")
    return {**s, **{k: DEFAULT_STATE[k] for k in ("conv", "preset", "shock", "h", "vol", "volv")}, "exp": []}, notes


# --------------------------------------------------------------------------- expiry presets


def monthly_expiries(
    expiries: Iterable[dt.date], *, am_settled: Iterable[dt.date] = (), deribit: bool = False
) -> list[dt.date]:
    """Expiries that are monthlies (the rules live in :mod:`analytics.calendars`).

    US listings: the monthly equity-option expiry (the third Friday, or the NYSE trading day before
    it when the exchange is closed that Friday), or any date carrying an AM-settled root (the SPX
    monthly keeps its AM root when it moves). Deribit: the last Friday of the month. The NYSE
    calendar is consulted only for a date in the three days before an unlisted third Friday, so
    most chains never load it.

    Examples
    --------
    >>> d = [dt.date(2024, 1, 12), dt.date(2024, 1, 19), dt.date(2024, 3, 28)]
    >>> monthly_expiries(d, am_settled=[dt.date(2024, 3, 28)])
    [datetime.date(2024, 1, 19), datetime.date(2024, 3, 28)]
    >>> monthly_expiries([dt.date(2026, 3, 20), dt.date(2026, 3, 27)], deribit=True)
    [datetime.date(2026, 3, 27)]
    >>> monthly_expiries([dt.date(2025, 4, 11), dt.date(2025, 4, 17)])  # Good Friday moves it
    [datetime.date(2025, 4, 17)]
    """
    am = set(am_settled)
    listed = sorted(set(expiries))
    out = []
    for d in listed:
        if deribit:
            if d == deribit_monthly_expiry(d.year, d.month):
                out.append(d)
            continue
        third = third_friday(d.year, d.month)
        moved = (
            d < third <= d + dt.timedelta(days=3)
            and third not in listed
            and d == monthly_equity_expiry(d.year, d.month)
        )
        if d == third or d in am or moved:
            out.append(d)
    return out


def preset_expiries(
    preset: str,
    expiries: Iterable[dt.date],
    as_of: dt.date,
    *,
    monthlies: Iterable[dt.date] = (),
) -> list[dt.date]:
    """The live expiries a preset selects, relative to the snapshot date ``as_of`` (not the clock).

    ``0dte`` is the expiries on the snapshot date, or the first live expiry date when none settles
    that day (a weekend snapshot); ``7d``/``30d`` are expiries within that many calendar days;
    ``monthly`` the dates in ``monthlies``; ``all`` and ``custom`` everything. A preset that would
    select nothing falls back to the first live expiry, so the views are never empty.

    Examples
    --------
    >>> e = [dt.date(2024, 1, 8), dt.date(2024, 1, 12), dt.date(2024, 1, 19), dt.date(2024, 2, 16)]
    >>> [d.day for d in preset_expiries("7d", e, dt.date(2024, 1, 7))]
    [8, 12]
    >>> [d.day for d in preset_expiries("0dte", e, dt.date(2024, 1, 7))]
    [8]
    """
    live = sorted(set(expiries))
    if not live:
        return []
    if preset == "0dte":
        upcoming = [d for d in live if d >= as_of] or live
        chosen = [d for d in upcoming if d == upcoming[0]]
    elif preset == "7d":
        chosen = [d for d in live if (d - as_of).days <= 7]
    elif preset == "30d":
        chosen = [d for d in live if (d - as_of).days <= 30]
    elif preset == "monthly":
        wanted = set(monthlies)
        chosen = [d for d in live if d in wanted]
    else:
        chosen = live
    return chosen or [live[0]]


# --------------------------------------------------------------------------- linking payloads


def expiries_from_selection(payload: Mapping[str, Any] | None) -> list[str]:
    """ISO expiry dates from a term-structure clickData/selectedData payload (customdata = ISO date).

    Points whose customdata is a list use its first element. Unknown shapes give ``[]``.

    Examples
    --------
    >>> expiries_from_selection({"points": [{"customdata": "2024-01-19"}, {"customdata": ["2024-01-12"]}]})
    ['2024-01-12', '2024-01-19']
    >>> expiries_from_selection(None)
    []
    """
    if not payload:
        return []
    found = set()
    for point in payload.get("points") or []:
        value = point.get("customdata")
        if isinstance(value, list | tuple):
            value = value[0] if value else None
        if isinstance(value, str):
            iso = _iso_date(value[:10])
            if iso:
                found.add(iso)
    return sorted(found)


def strike_from_click(payload: Mapping[str, Any] | None) -> float | None:
    """The strike of a clicked gamma bar: customdata (number or first element) or else x."""
    if not payload or not payload.get("points"):
        return None
    point = payload["points"][0]
    candidates = []
    cd = point.get("customdata")
    if isinstance(cd, list | tuple) and cd:
        candidates.append(cd[0])
    elif cd is not None:
        candidates.append(cd)
    candidates.append(point.get("x"))
    for value in candidates:
        if isinstance(value, bool):
            continue
        if isinstance(value, int | float):
            return float(value)
        if isinstance(value, str):
            try:
                return float(value)
            except ValueError:
                continue
    return None
