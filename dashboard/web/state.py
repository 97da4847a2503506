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
units      hedge flow and KPI strip in "usd" or "units" of the underlying   ``units=units``
fwd        forward: "parity" (per-expiry put-call parity) or "spot"          ``fwd=spot``
iv         IV policy: "otm" (one IV per strike) or "file"                   ``iv=file``
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
import math
from collections.abc import Callable, Iterable, Mapping
from typing import Any
from urllib.parse import parse_qs, urlencode

from analytics import conventions
from analytics.calendars import deribit_monthly_expiry, monthly_equity_expiry, third_friday
from analytics.errors import ScenarioError
from analytics.prepare import DEFAULT_FORWARD, DEFAULT_IV_POLICY, FORWARD_CHOICES, IV_POLICIES
from analytics.scenario import MAX_EXPIRIES, Scenario, bound_of

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
MODEL_FIELDS: dict[str, str] = {"forward": "fwd", "iv_policy": "iv"}  # Scenario field -> state key
UNIT_CHOICES: tuple[str, ...] = ("usd", "units")
_MODEL_LABELS = {"parity": "Parity forward", "spot": "Spot", "otm": "OTM IV", "file": "File IV"}
FORWARD_OPTIONS: tuple[tuple[str, str], ...] = tuple((c, _MODEL_LABELS.get(c, c)) for c in FORWARD_CHOICES)
IV_POLICY_OPTIONS: tuple[tuple[str, str], ...] = tuple((c, _MODEL_LABELS.get(c, c)) for c in IV_POLICIES)
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
    "fwd": DEFAULT_FORWARD,
    "iv": DEFAULT_IV_POLICY,
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
    if state.get("fwd") and state["fwd"] != DEFAULT_FORWARD:
        params.append(("fwd", str(state["fwd"])))
    if state.get("iv") and state["iv"] != DEFAULT_IV_POLICY:
        params.append(("iv", str(state["iv"])))
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
    # model choices are checked by the Scenario (checked_state names a refused one)
    state["fwd"] = q.get("fwd") or DEFAULT_FORWARD
    state["iv"] = q.get("iv") or DEFAULT_IV_POLICY
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
    if not 0 <= n <= MAX_SHOCK_RANGE_PCT:  # refused before the shock list is built (1e7 cost ~1 GB)
        raise ScenarioError(f"shock range {n:g} is out of range: allowed 0 to {MAX_SHOCK_RANGE_PCT:g} (percent)",
                            name="shock range")
    h = state.get("h") or 0.0
    vol_field = VOL_FIELDS.get(str(state.get("vol")))
    preset = state.get("preset") or "all"
    return Scenario(
        expiries=None if preset == "all" or not state.get("exp") else state["exp"],
        convention=state.get("conv") or conventions.DEFAULT_CONVENTION,
        shocks_pct=tuple(float(x) for x in range(-n, n + 1)),
        horizon_days=h,
        compare_horizons_days=(0.0,) if h else (),
        forward=state.get("fwd") or DEFAULT_FORWARD,
        iv_policy=state.get("iv") or DEFAULT_IV_POLICY,
        **({vol_field: state.get("volv") or 0.0} if vol_field else {}),
    )


MAX_ID_CHARS = 256  # the longest underlying, snapshot id, convention or expiry text a state may carry
MAX_EXTRA_KEYS = 32  # keys beyond DEFAULT_STATE a state may carry (small scalars only)


class Refused(ValueError):
    """A state value of the wrong type or size (the message is one short line for the banner)."""


def _shown(value: Any) -> str:
    """A value as a banner may show it: short scalars as text, anything else by its kind."""
    if isinstance(value, bool) or value is None:
        return str(value).lower()
    if isinstance(value, int | float):
        return f"{value:g}"
    if isinstance(value, str):
        return repr(value[:24] + ("..." if len(value) > 24 else ""))
    return "a list" if isinstance(value, list | tuple) else "an object"


def text_or_none(value: Any) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str) or len(value) > MAX_ID_CHARS:
        raise Refused(f"must be text of at most {MAX_ID_CHARS} characters, got {_shown(value)}")
    return value


def finite_number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | str) or (isinstance(value, str) and len(value) > 40):
        raise Refused(f"must be a number, got {_shown(value)}")
    try:
        x = float(value)
    except ValueError:
        raise Refused(f"must be a number, got {_shown(value)}") from None
    if not math.isfinite(x):
        raise Refused(f"must be a finite number, got {_shown(value)}")
    return x


def _shock_range(value: Any) -> float:
    x = abs(finite_number(value))
    if not 1.0 <= x <= MAX_SHOCK_RANGE_PCT:
        raise Refused(f"{x:g} is out of range: allowed 1 to {MAX_SHOCK_RANGE_PCT:g} (percent)")
    return x


def _choice_of(names: Iterable[Any]) -> Callable[[Any], Any]:
    allowed = tuple(names)

    def parse(value: Any) -> Any:
        if isinstance(value, bool) or not isinstance(value, str | int | float) or value not in allowed:
            raise Refused(f"must be one of {', '.join(map(str, allowed))}, got {_shown(value)}")
        return value

    return parse


def expiry_texts(value: Any) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise Refused(f"must be a list of dates, got {_shown(value)}")
    if len(value) > MAX_EXPIRIES:
        raise Refused(f"at most {MAX_EXPIRIES:,} dates allowed, got {len(value):,}")
    if not all(isinstance(x, str) and len(x) <= 40 for x in value):
        raise Refused("must be a list of dates YYYY-MM-DD")
    return list(value)


def _strike(value: Any) -> float | None:
    if value is None:
        return None
    x = finite_number(value)
    if not 0.0 < x < 1e9:
        raise Refused(f"{x:g} is not a strike")
    return x


def _flag(value: Any) -> bool:
    if not isinstance(value, bool | int) or isinstance(value, int) and value not in (0, 1):
        raise Refused(f"must be true or false, got {_shown(value)}")
    return bool(value)


def _small_scalar(value: Any) -> Any:
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str) and len(value) <= MAX_ID_CHARS:
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return finite_number(value)
    raise Refused(f"must be a short text, a number or true/false, got {_shown(value)}")


# key -> (label in messages, parser): every key of DEFAULT_STATE has one
# display choices the page keeps outside the URL but folds into the state a view is drawn from
STRIKE_MODE_KEY, TERM_SPACING_KEY, ZOOM_KEY = "smode", "tspace", "xzoom"


def _x_range(value: Any) -> list[float] | None:
    """The strike view's kept x zoom: None or two finite numbers."""
    if value is None:
        return None
    if not isinstance(value, list | tuple) or len(value) != 2:
        raise Refused("must be two numbers")
    return [finite_number(v) for v in value]


_TYPES: dict[str, tuple[str, Callable[[Any], Any]]] = {
    "u": ("underlying", text_or_none),
    "snap": ("snapshot", text_or_none),
    "preset": ("expiry preset", _choice_of(PRESET_NAMES)),
    "exp": ("expiries", expiry_texts),
    "conv": ("convention", text_or_none),
    "shock": ("shock range", _shock_range),
    "h": ("horizon", _choice_of(HORIZON_CHOICES)),
    "vol": ("vol scenario", _choice_of(VOL_MODES)),
    "volv": ("vol scenario value", finite_number),
    "stack": ("stacking", _flag),
    "units": ("hedge units", _choice_of(UNIT_CHOICES)),
    "strike": ("strike", _strike),
    ZOOM_KEY: ("strike zoom", _x_range),
}


def typed_state(state: Any) -> tuple[dict[str, Any], list[str]]:
    """A state whose every value has its type, a finite value and a bounded size; and the reasons.

    A refused value becomes its default (the shock range: the nearest allowed). Keys beyond
    ``DEFAULT_STATE`` are kept when they are short scalars (at most ``MAX_EXTRA_KEYS``). Anything
    that is not a mapping becomes the default state. Scenario ranges are :func:`checked_state`'s.

    Examples
    --------
    >>> s, notes = typed_state(default_state(shock=1e7, snap=["x"]))
    >>> s["shock"], s["snap"], notes
    (50.0, None, ['snapshot must be text of at most 256 characters, got a list; using the default', \
'shock range 1e+07 is out of range: allowed 1 to 50 (percent); using 50'])
    """
    if not isinstance(state, Mapping):
        return default_state(), [] if state is None else [f"the view state must be an object, got {_shown(state)}"]
    out = default_state()
    notes: list[str] = []
    extra = 0
    for key, value in state.items():
        if key in _TYPES:
            label, parse = _TYPES[key]
            try:
                out[key] = parse(value)
            except Refused as err:
                if key == "shock" and isinstance(value, int | float | str) and not isinstance(value, bool):
                    try:
                        out[key] = min(max(abs(finite_number(value)), 1.0), MAX_SHOCK_RANGE_PCT)
                    except Refused:
                        pass
                shown = f"{out[key]:g}" if key == "shock" else "the default"
                notes.append(f"{label} {err}; using {shown}")
        elif isinstance(key, str) and len(key) <= 32 and extra < MAX_EXTRA_KEYS:
            try:
                out[key] = _small_scalar(value)
                extra += 1
            except Refused:
                notes.append(f"view state field {_shown(key)} refused: not a short scalar")
    return out, notes


def checked_state(state: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """The state with each refused value moved to the nearest valid one, and the reasons.

    Types and sizes first (:func:`typed_state`), then the scenario ranges (:class:`Scenario`).

    Examples
    --------
    >>> s, notes = checked_state(default_state(vol="beta", volv=500))
    >>> s["volv"], notes
    (10.0, ['spot-vol beta 500 is out of range: allowed -10 to 10 (vol points per 1% spot shock); using 10'])
    """
    s, notes = typed_state(state)
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
            elif err.name in MODEL_FIELDS:
                key = MODEL_FIELDS[err.name]
                s[key] = DEFAULT_STATE[key]
                notes.append(f"{err}; using {s[key]}")
            else:
                s.update({k: DEFAULT_STATE[k] for k in ("shock", "h", "vol", "volv")})
                notes.append(f"{err}; using the default scenario")
    reset = ("conv", "preset", "shock", "h", "vol", "volv", "fwd", "iv")
    return {**s, **{k: DEFAULT_STATE[k] for k in reset}, "exp": []}, notes


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
