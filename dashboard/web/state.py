"""The view state: what the trader chose, declared once; its URL codec, checks and Scenario.

:class:`ViewState` declares every key of the state: its type, default, bounds, label in messages and
URL parameter (the :class:`Key` in each field's ``Annotated``). Everything else is read from it:

* :func:`to_query` / :func:`from_query`: the URL codec (defaults are left out; each parameter has one
  codec, the plain one unless its :class:`Key` names another);
* :func:`typed_state` / :func:`checked_state`: the server-side checks (a refused value becomes the
  nearest valid one, and a note names it for the banner);
* :func:`scenario_from_state`: the :class:`analytics.scenario.Scenario` the analyses use.

The store holds the state as a small JSON dict (``ViewState(...).model_dump()``), never data.
``ViewState.of(state)`` gives the typed view of a checked dict. :func:`keys_table` prints the table of
keys (``python -c "from dashboard.web.state import keys_table; print(keys_table())"``).

With a named preset the URL carries the preset, not the dates, so a pasted link re-resolves it
against the same snapshot and gives the same dates.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import parse_qs, urlencode

from pydantic import BaseModel, BeforeValidator, ConfigDict, ValidationError
from pydantic.fields import FieldInfo

from analytics import conventions
from analytics.calendars import monthly_expiries, preset_expiries  # noqa: F401 - re-exported
from analytics.errors import ScenarioError
from analytics.prepare import DEFAULT_FORWARD, DEFAULT_IV_POLICY, FORWARD_CHOICES, IV_POLICIES
from analytics.previous import BASES as CHANGE_BASES
from analytics.previous import Basis
from analytics.scenario import MAX_EXPIRIES, PROFILE_RANGE_PCT, Scenario, bound_of

PRESETS: tuple[tuple[str, str], ...] = (
    ("0dte", "0DTE"),
    ("7d", "Next 7 days"),
    ("30d", "Next 30 days"),
    ("monthly", "Monthlies"),
    ("all", "All"),
    ("custom", "Custom"),
)
PRESET_NAMES = frozenset(p for p, _ in PRESETS)
# the hedge curve's +/- shock ranges; the widest is the gamma profile's range (one home: analytics.scenario)
SHOCK_CHOICES: tuple[int, ...] = (5, 10, 15, 20, PROFILE_RANGE_PCT)
HORIZON_CHOICES: tuple[int, ...] = (0, 1)
MAX_SHOCK_RANGE_PCT = float(max(SHOCK_CHOICES))  # the widest +/- shock range a state may ask for
VOL_MODES: tuple[str, ...] = ("none", "shift", "beta")
VOL_FIELDS: dict[str, str] = {"shift": "vol_shift_pts", "beta": "spot_vol_beta"}  # vol mode -> Scenario field
UNIT_CHOICES: tuple[str, ...] = ("usd", "units")
_MODEL_LABELS = {"parity": "Parity forward", "spot": "Spot", "otm": "OTM IV", "file": "File IV"}
FORWARD_OPTIONS: tuple[tuple[str, str], ...] = tuple((c, _MODEL_LABELS.get(c, c)) for c in FORWARD_CHOICES)
IV_POLICY_OPTIONS: tuple[tuple[str, str], ...] = tuple((c, _MODEL_LABELS.get(c, c)) for c in IV_POLICIES)
TAB_CHOICES: tuple[str, ...] = ("main", "history", "intraday")
HISTORY_DEPTHS: tuple[int | str, ...] = (5, 20, 60, "all")  # the last N snapshots the history tab shows
STRIKE_MODES: tuple[str, ...] = ("gamma", "vanna", "charm", "change")  # the strike view's measures
SMILE_X_CHOICES: tuple[str, ...] = ("moneyness", "strike")  # the smile view's x axis
INTRADAY_EXPIRY_CHOICES: tuple[str, ...] = ("all", "0dte")  # the Intraday view's expiries (analytics.intraday)
MAX_ID_CHARS = 256  # the longest underlying, snapshot id, convention or expiry text a state may carry
MAX_EXTRA_KEYS = 32  # keys beyond the declared ones a state may carry (small scalars only)


# --------------------------------------------------------------------------- value rules


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


def _choice_of(names: Iterable[Any]) -> Callable[[Any], Any]:
    allowed = tuple(names)

    def parse(value: Any) -> Any:
        if isinstance(value, bool) or not isinstance(value, str | int | float) or value not in allowed:
            raise Refused(f"must be one of {', '.join(map(str, allowed))}, got {_shown(value)}")
        return value

    return parse


def _nearest_choice(choices: Iterable[float], *, absolute: bool = False) -> Callable[[Any], float]:
    """A refused number -> the nearest of ``choices`` (a tie: the larger; ``absolute``: its size first)."""
    allowed = tuple(sorted(choices))

    def nearest(value: Any) -> float:
        x = finite_number(value)
        x = abs(x) if absolute else x
        return float(min(allowed, key=lambda c: (abs(c - x), -c)))

    return nearest


def _number_choice(choices: Iterable[float], unit: str) -> Callable[[Any], float]:
    """A finite number equal to one of ``choices`` (what the control offers)."""
    allowed = tuple(choices)

    def parse(value: Any) -> float:
        x = finite_number(value)
        if not min(allowed) <= x <= max(allowed):
            raise Refused(f"{x:g} is out of range: allowed {min(allowed):g} to {max(allowed):g} ({unit})")
        if x not in allowed:
            raise Refused(f"{x:g} is not offered: one of {', '.join(f'{c:g}' for c in allowed)} ({unit})")
        return x

    return parse


def _flag(value: Any) -> bool:
    if not isinstance(value, bool | int) or isinstance(value, int) and value not in (0, 1):
        raise Refused(f"must be true or false, got {_shown(value)}")
    return bool(value)


def _range(lo: float, hi: float, unit: str, *, absolute: bool = False, none: bool = False,
           open_ends: bool = False) -> Callable[[Any], Any]:
    """A finite number in [lo, hi] (``open_ends``: (lo, hi)); ``absolute`` takes its size first."""
    def parse(value: Any) -> float | None:
        if none and value is None:
            return None
        x = finite_number(value)
        x = abs(x) if absolute else x
        inside = lo < x < hi if open_ends else lo <= x <= hi
        if not inside:
            raise Refused(f"{x:g} is out of range: allowed {lo:g} to {hi:g} ({unit})" if not open_ends
                          else f"{x:g} is not a {unit}")
        return x

    return parse


def _x_range(value: Any) -> list[float] | None:
    """The strike view's kept x zoom: None or two finite numbers."""
    if value is None:
        return None
    if not isinstance(value, list | tuple) or len(value) != 2:
        raise Refused("must be two numbers")
    return [finite_number(v) for v in value]


def _small_scalar(value: Any) -> Any:
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str) and len(value) <= MAX_ID_CHARS:
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return finite_number(value)
    raise Refused(f"must be a short text, a number or true/false, got {_shown(value)}")


# --------------------------------------------------------------------------- URL codecs

Params = list[tuple[str, str]]


def _fmt_num(x: float) -> str:
    return f"{x:.10g}"


def _iso_date(text: str) -> str | None:
    try:
        return dt.date.fromisoformat(text.strip()).isoformat()
    except ValueError:
        return None


@dataclass(frozen=True)
class Codec:
    """How one key (or two that share a parameter) is written to and read from the URL.

    ``encode(state, name, default)`` gives the parameter's text, None to leave it out; ``decode(text,
    name)`` gives the fields it sets (checked afterwards like any other value)."""

    encode: Callable[[Mapping[str, Any], str, Any], str | None]
    decode: Callable[[str, str], dict[str, Any]]


def _plain_encode(state: Mapping[str, Any], name: str, default: Any) -> str | None:
    value = state.get(name, default)
    if value is None or value == default:
        return None
    if isinstance(value, bool):
        return "1" if value else "0"
    return _fmt_num(float(value)) if isinstance(value, int | float) else str(value)


def _plain_decode(text: str, name: str) -> dict[str, Any]:
    return {name: text}


def _number_decode(text: str, name: str) -> dict[str, Any]:
    try:
        return {name: float(text)}
    except ValueError:
        return {name: text}  # refused by the field's rule, which names it


def _flag_decode(text: str, name: str) -> dict[str, Any]:
    return {name: {"1": True, "0": False}.get(text, text)}


def _choice_decode(text: str, name: str) -> dict[str, Any]:
    """A choice among texts and whole numbers (``hn=60``)."""
    return {name: int(text) if text.isdigit() else text}


def _expiry_encode(state: Mapping[str, Any], name: str, default: Any) -> str | None:
    preset = state.get(name) or default
    if preset == "custom":
        return ",".join(state.get("exp") or []) or None
    return None if preset == default else str(preset)


def _expiry_decode(text: str, name: str) -> dict[str, Any]:
    if text in PRESET_NAMES and text != "custom":
        return {name: text}
    dates = sorted({d for d in (_iso_date(x) for x in text.split(",")) if d})
    return {name: "custom", "exp": dates} if dates else {}


def _vol_encode(state: Mapping[str, Any], name: str, default: Any) -> str | None:
    mode = state.get(name)
    return f"{mode}:{_fmt_num(float(state.get('volv') or 0.0))}" if mode in VOL_FIELDS else None


def _vol_decode(text: str, name: str) -> dict[str, Any]:
    mode, _, value = text.partition(":")
    if mode not in VOL_FIELDS:
        return {}
    try:
        number = float(value)
    except ValueError:
        number = 0.0
    return {name: mode, "volv": number if math.isfinite(number) else 0.0}


PLAIN = Codec(_plain_encode, _plain_decode)
NUMBER = Codec(_plain_encode, _number_decode)
FLAG = Codec(_plain_encode, _flag_decode)
CHOICE = Codec(_plain_encode, _choice_decode)


# --------------------------------------------------------------------------- the declaration


@dataclass(frozen=True)
class Key:
    """A view-state key's label in messages, URL parameter and how a refused value is replaced.

    ``nearest`` (a refused number -> the nearest valid one; else the default); ``scenario`` names
    the :class:`Scenario` fields the key feeds (a refused one is reset by :func:`checked_state`).
    """

    label: str
    url: str | None = None
    codec: Codec = PLAIN
    nearest: Callable[[Any], Any] | None = None
    scenario: tuple[str, ...] = ()


def _clamp(lo: float, hi: float, *, absolute: bool = False) -> Callable[[Any], float]:
    def nearest(value: Any) -> float:
        x = finite_number(value)
        return min(max(abs(x) if absolute else x, lo), hi)

    return nearest


def _rule(parse: Callable[[Any], Any]) -> BeforeValidator:
    return BeforeValidator(parse)


class ViewState(BaseModel):
    """Every key of the view state, once: type, default, bounds (the rule), label and URL parameter."""

    model_config = ConfigDict(extra="allow", validate_assignment=True)

    u: Annotated[str | None, _rule(text_or_none), Key("underlying", "u")] = None
    snap: Annotated[str | None, _rule(text_or_none), Key("snapshot", "snap")] = None
    # the expiry set: a named preset, or "custom" with the dates (both travel in ``exp``)
    preset: Annotated[str, _rule(_choice_of(sorted(PRESET_NAMES))),
                      Key("expiry preset", "exp", Codec(_expiry_encode, _expiry_decode), scenario=("expiries",))] = "all"
    exp: Annotated[list[str], _rule(expiry_texts), Key("expiries", scenario=("expiries",))] = []
    conv: Annotated[str | None, _rule(text_or_none),
                    Key("convention", "conv", scenario=("convention",))] = conventions.DEFAULT_CONVENTION
    shock: Annotated[float, _rule(_number_choice(SHOCK_CHOICES, "percent")),
                     Key("shock range", "shock", NUMBER, _nearest_choice(SHOCK_CHOICES, absolute=True),
                         scenario=("shock range", "shocks_pct"))] = 20.0
    h: Annotated[float, _rule(_number_choice(HORIZON_CHOICES, "days")),
                 Key("horizon", "h", NUMBER, _nearest_choice(HORIZON_CHOICES),
                     scenario=("horizon_days", "compare_horizons_days"))] = 0
    vol: Annotated[str, _rule(_choice_of(VOL_MODES)), Key("vol scenario", "vol", Codec(_vol_encode, _vol_decode))] = "none"
    volv: Annotated[float, _rule(finite_number), Key("vol scenario value", scenario=tuple(VOL_FIELDS.values()))] = 0.0
    # the vol shift asked for when the chain's lowest IV clamped ``volv`` (set by the controls for the view
    # they clamp, never in the URL: the URL names the value drawn); the cards and notes say it
    volasked: Annotated[float | None, _rule(lambda v: None if v is None else finite_number(v)),
                        Key("asked vol shift", scenario=("asked_vol_shift_pts",))] = None
    stack: Annotated[bool, _rule(_flag), Key("stacking", "stack", FLAG)] = False
    # open each new snapshot of the underlying as it lands in the data folder (dashboard.web.callbacks.follow)
    follow: Annotated[bool, _rule(_flag), Key("follow newest", "follow", FLAG)] = False
    units: Annotated[str, _rule(_choice_of(UNIT_CHOICES)), Key("hedge units", "units")] = "usd"
    # model choices: checked by the Scenario (checked_state names a refused one)
    fwd: Annotated[str | None, _rule(text_or_none), Key("forward", "fwd", scenario=("forward",))] = DEFAULT_FORWARD
    iv: Annotated[str | None, _rule(text_or_none), Key("IV policy", "iv", scenario=("iv_policy",))] = DEFAULT_IV_POLICY
    strike: Annotated[float | None, _rule(_range(0.0, 1e9, "strike", none=True, open_ends=True)),
                      Key("strike", "strike", NUMBER)] = None
    tab: Annotated[str, _rule(_choice_of(TAB_CHOICES)), Key("tab", "tab")] = "main"
    hn: Annotated[int | str, _rule(_choice_of(HISTORY_DEPTHS)), Key("history depth", "hn", CHOICE)] = 20
    smode: Annotated[str, _rule(_choice_of(STRIKE_MODES)), Key("strike measure", "smode")] = "gamma"
    tspace: Annotated[bool, _rule(_flag), Key("term spacing", "tspace", FLAG)] = False
    smx: Annotated[str, _rule(_choice_of(SMILE_X_CHOICES)), Key("smile axis", "smx")] = "moneyness"
    mprr: Annotated[bool, _rule(_flag), Key("max-pain risk reversal", "mprr", FLAG)] = True
    # the Intraday view's cells: every expiry, or each snapshot's 0DTE expiries (dashboard.web.callbacks.intraday)
    iexp: Annotated[str, _rule(_choice_of(INTRADAY_EXPIRY_CHOICES)), Key("intraday expiries", "iexp")] = "all"
    # what the KPI strip, key levels and previous-net line compare with: the previous session ("day") or the
    # snapshot before this one in its session ("intraday"; analytics.previous.choose_previous)
    chg: Annotated[Basis, _rule(_choice_of(CHANGE_BASES)), Key("changes basis", "chg")] = "day"
    # the user's x zoom on the strike view (kept with its snapshot outside the URL; see views.with_display)
    xzoom: Annotated[list[float] | None, _rule(_x_range), Key("strike zoom")] = None

    @classmethod
    def of(cls, state: Mapping[str, Any]) -> ViewState:
        """The typed view of a checked state dict (:func:`typed_state`)."""
        return cls.model_validate(dict(state))


def _key(info: FieldInfo) -> Key:
    return next(m for m in info.metadata if isinstance(m, Key))


FIELDS: dict[str, Key] = {name: _key(info) for name, info in ViewState.model_fields.items()}
DEFAULT_STATE: dict[str, Any] = ViewState().model_dump()
# the key names others refer to (a typo is an AttributeError, and mypy sees it)
STRIKE_MODE_KEY, TERM_SPACING_KEY, ZOOM_KEY, SMILE_X_KEY, MAX_PAIN_RR_KEY = "smode", "tspace", "xzoom", "smx", "mprr"
CHANGE_BASIS_KEY = "chg"
assert {STRIKE_MODE_KEY, TERM_SPACING_KEY, ZOOM_KEY, SMILE_X_KEY, MAX_PAIN_RR_KEY, CHANGE_BASIS_KEY} <= set(FIELDS)


# what belongs to the snapshot shown and goes back to its default when another snapshot opens, whichever
# way it opens (the underlying and snapshot controls, a History or Intraday click, Follow newest, a dropped
# file): the clicked strike, the user's strike zoom and the vol shift asked before a clamp
SNAPSHOT_BOUND = ("strike", ZOOM_KEY, "volasked")
assert set(SNAPSHOT_BOUND) <= set(FIELDS)


def opening_snapshot(snap: str | None) -> dict[str, Any]:
    """The changes that open snapshot ``snap`` (None: the underlying's newest), to apply over a state.

    Examples
    --------
    >>> opening_snapshot("spx-b")
    {'snap': 'spx-b', 'strike': None, 'xzoom': None, 'volasked': None}
    """
    return {"snap": snap, **{k: DEFAULT_STATE[k] for k in SNAPSHOT_BOUND}}


def default_state(**overrides: Any) -> dict[str, Any]:
    """A fresh state dict with defaults, overridden by keyword."""
    state = ViewState().model_dump()
    state.update(overrides)
    return state


def keys_table() -> str:
    """The keys as a table (key, label, URL parameter, default)."""
    rows = [f"{name:<8} {key.label:<24} {key.url or '(not in the URL)':<18} {DEFAULT_STATE[name]!r}"
            for name, key in FIELDS.items()]
    return "\n".join(rows)


# --------------------------------------------------------------------------- URL codec


def to_query(state: Mapping[str, Any]) -> str:
    """Encode the shareable part of a state as a URL query string (with the leading ``?``).

    Defaults are left out to keep links short.

    Examples
    --------
    >>> to_query(default_state(u="SPX", snap="spx-1", preset="7d"))
    '?u=SPX&snap=spx-1&exp=7d'
    >>> to_query(default_state(u="SPX", smode="vanna", tspace=True, strike=6812.5, mprr=False))
    '?u=SPX&strike=6812.5&smode=vanna&tspace=1&mprr=0'
    """
    params: Params = []
    for name, key in FIELDS.items():
        if key.url is None:
            continue
        text = key.codec.encode(state, name, DEFAULT_STATE[name])
        if text is not None:
            params.append((key.url, text))
    return "?" + urlencode(params, safe=":,/") if params else ""


def from_query(search: str | None) -> dict[str, Any]:
    """Decode a URL query string into a state dict; unknown or malformed values fall back to defaults
    (a number out of range to the nearest valid one); scenario ranges are :func:`checked_state`'s.

    Examples
    --------
    >>> s = from_query("?u=SPX&exp=2024-01-19,2024-01-26&conv=dealer-short-all&vol=shift:2.5&smode=charm")
    >>> s["preset"], s["exp"], s["conv"], s["vol"], s["volv"], s["smode"]
    ('custom', ['2024-01-19', '2024-01-26'], 'dealer-short-all', 'shift', 2.5, 'charm')
    """
    return decode_query(search)[0]


def decode_query(search: str | None) -> tuple[dict[str, Any], list[str]]:
    """:func:`from_query`, and one note per value of the link that was refused and replaced (the banner's).

    Examples
    --------
    >>> s, notes = decode_query("?shock=25&h=2")
    >>> s["shock"], s["h"], notes
    (30.0, 1.0, ['shock range 25 is not offered: one of 5, 10, 15, 20, 30 (percent); using 30', 'horizon 2 is out of range: allowed 0 to 1 (days); using 1'])
    """
    q = {k: v[-1] for k, v in parse_qs((search or "").lstrip("?"), keep_blank_values=False).items()}
    decoded: dict[str, Any] = {}
    for name, key in FIELDS.items():
        if key.url is not None and q.get(key.url):
            decoded.update(key.codec.decode(q[key.url], name))
    return typed_state(decoded)


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
    default: int | str = DEFAULT_STATE["hn"]
    return default


# --------------------------------------------------------------------------- checks


_CHECKER = ViewState.model_construct()


def _parse(name: str, value: Any) -> Any:
    """``value`` through the declared field's rule and type; Refused with the rule's reason."""
    try:
        _CHECKER.__pydantic_validator__.validate_assignment(_CHECKER, name, value)
    except ValidationError as err:
        first = err.errors()[0]
        cause = (first.get("ctx") or {}).get("error")
        raise Refused(str(cause) if isinstance(cause, Refused) else first["msg"]) from None
    return getattr(_CHECKER, name)


def typed_state(state: Any) -> tuple[dict[str, Any], list[str]]:
    """A state whose every value has its type, a finite value and a bounded size; and the reasons.

    A refused value becomes the nearest valid one (its :class:`Key`'s ``nearest``), else its default.
    Keys beyond the declared ones are kept when they are short scalars (at most ``MAX_EXTRA_KEYS``).
    Anything that is not a mapping becomes the default state. Scenario ranges are :func:`checked_state`'s.

    Examples
    --------
    >>> s, notes = typed_state(default_state(shock=1e7, snap=["x"]))
    >>> s["shock"], s["snap"], notes
    (30.0, None, ['snapshot must be text of at most 256 characters, got a list; using the default', \
'shock range 1e+07 is out of range: allowed 5 to 30 (percent); using 30'])
    """
    if not isinstance(state, Mapping):
        return default_state(), [] if state is None else [f"the view state must be an object, got {_shown(state)}"]
    notes: list[str] = []
    declared = {name: value for name, value in state.items() if isinstance(name, str) and name in FIELDS}
    try:  # the common case, every value valid: one validation of the whole state (~8x faster)
        out = ViewState.model_validate(declared).model_dump()
        fields_done = True
    except ValidationError:
        out, fields_done = default_state(), False
    extra = 0
    for name, value in state.items():
        key = FIELDS.get(name) if isinstance(name, str) else None
        if key is not None and fields_done:
            continue
        if key is not None:
            try:
                out[name] = _parse(name, value)
            except Refused as err:
                shown = "the default"
                if key.nearest is not None:
                    try:
                        out[name] = key.nearest(value)
                        shown = f"{out[name]:g}"
                    except Refused:
                        pass
                notes.append(f"{key.label} {err}; using {shown}")
        elif isinstance(name, str) and len(name) <= 32 and extra < MAX_EXTRA_KEYS:
            try:
                out[name] = _small_scalar(value)
                extra += 1
            except Refused:
                notes.append(f"view state field {_shown(name)} refused: not a short scalar")
    return out, notes


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
    try:
        shock = finite_number(state.get("shock", DEFAULT_STATE["shock"]))
    except Refused:
        shock = DEFAULT_STATE["shock"]
    n = int(round(shock))
    if not 0 <= n <= MAX_SHOCK_RANGE_PCT:  # refused before the shock list is built (1e7 cost ~1 GB)
        raise ScenarioError(f"shock range {n:g} is out of range: allowed 0 to {MAX_SHOCK_RANGE_PCT:g} (percent)",
                            name="shock range")
    h = state.get("h") or 0.0
    vol, volv, asked = state.get("vol"), state.get("volv") or 0.0, state.get("volasked")
    preset = state.get("preset") or "all"
    return Scenario(
        expiries=None if preset == "all" or not state.get("exp") else state["exp"],
        convention=state.get("conv") or conventions.DEFAULT_CONVENTION,
        shocks_pct=tuple(float(x) for x in range(-n, n + 1)),
        horizon_days=h,
        compare_horizons_days=(0.0,) if h else (),
        forward=state.get("fwd") or DEFAULT_FORWARD,
        iv_policy=state.get("iv") or DEFAULT_IV_POLICY,
        vol_shift_pts=volv if vol == "shift" else 0.0,
        spot_vol_beta=volv if vol == "beta" else 0.0,
        asked_vol_shift_pts=asked if vol == "shift" and asked is not None and asked != volv else None,
    )


def _key_of_scenario_field(field: str) -> str | None:
    """The view-state key that feeds a Scenario field (its :class:`Key`'s ``scenario``)."""
    return next((name for name, key in FIELDS.items() if field in key.scenario), None)


def checked_state(state: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """The state with each refused value moved to the nearest valid one, and the reasons.

    Types and sizes first (:func:`typed_state`), then the scenario ranges (:class:`Scenario`): the
    key that feeds a refused Scenario field (its :class:`Key`'s ``scenario``) is moved to the field's
    bound (numbers) or reset to its default.

    Examples
    --------
    >>> s, notes = checked_state(default_state(vol="beta", volv=500))
    >>> s["volv"], notes
    (10.0, ['spot-vol beta 500 is out of range: allowed -10 to 10 (vol points per 1% spot shock); using 10'])
    """
    s, notes = typed_state(state)
    scenario_keys = [name for name, key in FIELDS.items() if key.scenario]
    for _ in range(len(FIELDS)):  # each pass fixes one field
        try:
            scenario_from_state(s)
            return s, notes
        except ScenarioError as err:
            name = _key_of_scenario_field(err.name or "")
            bound = bound_of(err.name or "")
            if name == "volv" and bound is not None:
                s["volv"] = bound.clamp(float(s.get("volv") or 0.0))
                notes.append(f"{err}; using {s['volv']:g}")
            elif name in ("preset", "exp"):
                s.update(preset="all", exp=[])
                notes.append(f"{err}; using every expiry")
            elif name is not None and name not in ("shock", "h"):
                s[name] = DEFAULT_STATE[name]
                notes.append(f"{err}; using {s[name]}")
            else:
                s.update({k: DEFAULT_STATE[k] for k in ("shock", "h", "vol", "volv")})
                notes.append(f"{err}; using the default scenario")
    return {**s, **{k: DEFAULT_STATE[k] for k in scenario_keys}, "vol": DEFAULT_STATE["vol"]}, notes


# --------------------------------------------------------------------------- expiry presets


# monthly_expiries and preset_expiries live in analytics.calendars (the service reads them too)


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
