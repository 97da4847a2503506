"""The one validated, frozen :class:`Scenario` every entry point builds: CLI, URL state, service, report.

A scenario is everything besides the chain that changes the numbers: the expiry set, the dealer
convention, rates, the contract multiplier, the spot shocks and horizon of the hedge curves, the vol
scenario and the gamma-profile grid. It is checked once, here, when it is built: a value out of
range raises :class:`~analytics.errors.ScenarioError` with one line naming the value and the range
allowed. Text is accepted wherever a number or a list is expected (``"0.05"``, ``"-5,-1,1,5"``), so
the command line and the URL hand over what they read and never check it themselves.

Bounds
------
Every bound is a named constant below (this module is their one home). What depends on the chain
(the lowest IV a negative vol shift must leave positive, a convention's positions file) is checked by
:meth:`Scenario.check_against`, which :func:`analytics.report.analyze` calls.

Adding a parameter: one field on :class:`Scenario`, its bound constant and one line in ``_RULES``
(e.g. a model choice: ``forward: str = "spot"`` and ``"forward": _choice(("spot", "parity"), "forward")``);
the CLI adds one line to ``dashboard.cli.analyze.SCENARIO_OPTIONS``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from analytics import conventions
from analytics.chain import ADJUSTED_ROOT_PATTERN
from analytics.errors import ScenarioError
from analytics.notes import ROW_REPAIRS
from analytics.prepare import (
    DEFAULT_FORWARD,
    DEFAULT_IV_POLICY,
    FORWARD_CHOICES,
    IV_POLICIES,
    ForwardChoice,
    IvPolicy,
)

DEFAULT_SHOCKS_PCT: tuple[float, ...] = tuple(float(x) for x in range(-20, 21))
DEFAULT_SPOT_RANGE: tuple[float, float] = (0.7, 1.3)
# the widest +/- spot move the page draws, percent: the gamma profile's default range, so the hedge curve's
# shocks and the profile stop at the same place (the page's shock choices end here)
PROFILE_RANGE_PCT = round((DEFAULT_SPOT_RANGE[1] - 1.0) * 100.0)
DEFAULT_GRID_POINTS = 601  # 0.1% of spot between points over 0.7x-1.3x

MAX_EXPIRIES = 2_000
MAX_ADJUSTED_ROOTS = 50  # adjusted roots given a deliverable in one scenario
MAX_SHOCKS = 2_001  # e.g. -100..+100 in 0.1% steps; a hostile 1e7-point list cost 2.5 s and ~1 GB
MAX_COMPARE_HORIZONS = 8
MIN_IV_AFTER_SHIFT = 1e-4  # a vol shift must leave the chain's lowest IV at least this (decimal)


@dataclass(frozen=True)
class Bound:
    """An allowed range of one number, stated in error messages.

    Examples
    --------
    >>> RATE.check(0.05, "rate")
    0.05
    >>> RATE.check("1e308", "rate")
    Traceback (most recent call last):
    ...
    analytics.errors.ScenarioError: rate 1e+308 is out of range: allowed -1 to 1 (decimal, 0.05 = 5%)
    >>> SHOCK_PCT.clamp(-250.0)
    -99.0
    """

    lo: float
    hi: float
    unit: str = ""
    lo_open: bool = False  # the low end itself is not allowed

    def describe(self) -> str:
        low = f"{self.lo:g} (excluded)" if self.lo_open else f"{self.lo:g}"
        return f"{low} to {self.hi:g}{f' ({self.unit})' if self.unit else ''}"

    def contains(self, x: float) -> bool:
        return (x > self.lo if self.lo_open else x >= self.lo) and x <= self.hi

    def check(self, value: Any, what: str) -> float:
        """``value`` as a finite float inside the bound, else ScenarioError naming ``what``."""
        x = _to_float(value, what)
        if not self.contains(x):
            raise ScenarioError(f"{what} {x:g} is out of range: allowed {self.describe()}", name=what)
        return x

    def clamp(self, x: float) -> float:
        """The nearest allowed value (an open low end clamps to the closest whole step above it)."""
        if not math.isfinite(x):
            return min(max(0.0, self.lo), self.hi)
        lo = self.lo + 1.0 if self.lo_open else self.lo
        return float(min(max(x, lo), self.hi))


RATE = Bound(-1.0, 1.0, "decimal, 0.05 = 5%")
DIV_YIELD = Bound(-1.0, 1.0, "decimal")
MULTIPLIER = Bound(1e-6, 1e6, "units of the underlying per contract")
MAX_DTE = Bound(0.0, 36_500.0, "calendar days")
HORIZON_DAYS = Bound(0.0, 3_650.0, "days")
SHOCK_PCT = Bound(-100.0, 100.0, "percent of spot", lo_open=True)
VOL_SHIFT_PTS = Bound(-500.0, 500.0, "vol points; the chain's lowest IV sets the low end")
SPOT_VOL_BETA = Bound(-10.0, 10.0, "vol points per 1% spot shock")
SPOT_RANGE_LO = Bound(0.01, 0.99, "fraction of spot")
SPOT_RANGE_HI = Bound(1.01, 10.0, "fraction of spot")
GRID_POINTS = Bound(3, 20_001, "points")


# --------------------------------------------------------------------------- parsers (text or values)


def _to_float(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, str, np.number)):
        raise ScenarioError(f"{what} must be a number, got {type(value).__name__}", name=what)
    try:
        x = float(value)
    except ValueError:
        raise ScenarioError(f"{what} must be a number, got {str(value)[:40]!r}", name=what) from None
    if not math.isfinite(x):
        raise ScenarioError(f"{what} must be a finite number, got {str(value)[:40]!r}", name=what)
    return x


def _items(value: Any, what: str, max_count: int) -> list[Any]:
    """A comma-separated text or a sequence as a list (at most ``max_count`` items)."""
    if isinstance(value, str):
        if value.count(",") >= max_count:
            raise ScenarioError(f"{what}: at most {max_count:,} values allowed", name=what)
        items: list[Any] = value.split(",") if value.strip() else []
        if any(not x.strip() for x in items):  # "1,,2" is a typo, not the list 1,2
            raise ScenarioError(f"{what}: empty value between commas in {value[:60]!r}", name=what)
    elif isinstance(value, Iterable) and not isinstance(value, (bytes, Mapping)):
        items = []
        for x in value:
            items.append(x)
            if len(items) > max_count:
                break
    else:
        raise ScenarioError(f"{what} must be a list, got {type(value).__name__}", name=what)
    if len(items) > max_count:
        raise ScenarioError(f"{what}: at most {max_count:,} values allowed", name=what)
    return items


def _described(parse: Callable[[Any], Any], allowed: str, bound: Bound | None = None) -> Callable[[Any], Any]:
    """Attach what a parser allows, in words (``--help``, the README), and its bound if it has one."""
    parse.allowed = allowed  # type: ignore[attr-defined]
    parse.bound = bound  # type: ignore[attr-defined]
    return parse


def _number(bound: Bound, what: str, *, optional: bool = False) -> Callable[[Any], Any]:
    def parse(value: Any) -> float | None:
        if value is None and optional:
            return None
        return bound.check(value, what)

    return _described(parse, bound.describe(), bound)


def _integer(bound: Bound, what: str) -> Callable[[Any], int]:
    def parse(value: Any) -> int:
        x = bound.check(value, what)
        if not float(x).is_integer():
            raise ScenarioError(f"{what} must be a whole number, got {x:g}", name=what)
        return int(x)

    return _described(parse, f"a whole number {bound.describe()}", bound)


def _numbers(bound: Bound, what: str, *, max_count: int, min_count: int = 0) -> Callable[[Any], tuple[float, ...]]:
    def parse(value: Any) -> tuple[float, ...]:
        out = tuple(bound.check(x, what) for x in _items(value if value is not None else (), what, max_count))
        if len(out) < min_count:
            raise ScenarioError(f"{what}: give at least {min_count} value(s)", name=what)
        return out

    return _described(parse, f"at most {max_count:,} values, each {bound.describe()}")


def _choice(names: tuple[str, ...], what: str) -> Callable[[Any], str]:
    def parse(value: Any) -> str:
        if value not in names:
            raise ScenarioError(f"unknown {what} {str(value)[:40]!r}; choose one of {', '.join(names)}", name=what)
        return str(value)

    return _described(parse, f"one of {', '.join(names)}")


def _date(value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, np.datetime64):
        return value.astype("datetime64[D]").item()
    text = str(value).strip()[:40]
    try:
        return dt.date.fromisoformat(text[:10] if len(text) > 10 and text[10] in "T " else text)
    except ValueError:
        raise ScenarioError(f"expiry {text!r} is not a date (YYYY-MM-DD)", name="expiry") from None


def _expiries(value: Any) -> tuple[dt.date, ...] | None:
    if value is None:
        return None
    dates = tuple(sorted({_date(x) for x in _items(value, "expiries", MAX_EXPIRIES)}))
    return dates or None


def _note_codes(value: Any) -> tuple[str, ...]:
    codes = {str(x).strip() for x in _items(value if value is not None else (), "note", len(ROW_REPAIRS))}
    unknown = sorted(codes - set(ROW_REPAIRS))
    if unknown:
        raise ScenarioError(f"unknown note {unknown[0][:40]!r} to leave out; choose among {', '.join(ROW_REPAIRS)}",
                            name="without_notes")
    return tuple(sorted(codes))


def _spot_range(value: Any) -> tuple[float, float]:
    items = _items(value, "spot range", 2)
    if len(items) != 2:
        raise ScenarioError("spot range must be two fractions of spot LO,HI (e.g. 0.7,1.3)", name="spot range")
    lo, hi = (_to_float(x, "spot range") for x in items)
    if not (SPOT_RANGE_LO.contains(lo) and SPOT_RANGE_HI.contains(hi)):
        raise ScenarioError(f"spot range {lo:g},{hi:g} is out of range: allowed LO {SPOT_RANGE_LO.describe()}, "
                            f"HI {SPOT_RANGE_HI.describe()}", name="spot range")
    return lo, hi


_DELIVERABLE_FORM = ("ROOT=UNITS, the units of the underlying one contract of an adjusted root delivers "
                     "(e.g. AMD1=172)")


def _deliverables(value: Any) -> tuple[tuple[str, float], ...]:
    """Adjusted roots and the units one contract delivers: ``"AMD1=172,SPY1=105"``, a mapping or pairs."""
    what = "adjusted deliverable"
    if value is None:
        return ()
    if isinstance(value, (int, float, np.number)) and not isinstance(value, bool):
        raise ScenarioError(f"{what} {value!r}: give {_DELIVERABLE_FORM}; a bare multiplier would leave the strike "
                            "unscaled", name=what)
    pairs: list[tuple[Any, Any]] = []
    for item in (list(value.items()) if isinstance(value, Mapping) else _items(value, what, MAX_ADJUSTED_ROOTS)):
        if isinstance(item, str):
            root, sep, units = item.partition("=")
            if not sep:
                raise ScenarioError(f"{what} {item.strip()[:40]!r}: give {_DELIVERABLE_FORM}; a bare multiplier "
                                    "would leave the strike unscaled", name=what)
            pairs.append((root, units))
        elif isinstance(item, (tuple, list)) and len(item) == 2:
            pairs.append((item[0], item[1]))
        else:
            raise ScenarioError(f"{what}: give {_DELIVERABLE_FORM}", name=what)
    out: dict[str, float] = {}
    for root, units in pairs:
        name = str(root).strip().upper()
        if re.match(ADJUSTED_ROOT_PATTERN, name) is None:
            raise ScenarioError(f"{what}: {name[:40]!r} is not an adjusted root (letters then digits, e.g. AMD1)",
                                name=what)
        out[name] = MULTIPLIER.check(units, f"deliverable of {name}")
    return tuple(sorted(out.items()))


# --------------------------------------------------------------------------- the vol scenario

MIN_IV = 0.01  # floor for scenario vols (1 vol point)


@dataclass(frozen=True)
class VolScenario:
    """How every IV moves with a spot shock: ``dIV = shift_pts + spot_vol_beta * shock_pct`` vol points,
    floored at :data:`MIN_IV`. The one value both grid engines receive (:mod:`analytics.scenarios`,
    :mod:`analytics.grid_kernel`).

    Examples
    --------
    >>> v = VolScenario(shift_pts=1.0, spot_vol_beta=-0.5)
    >>> float(v.bump(-10.0)), v.bumped_iv(np.array([0.20]), -10.0).round(4).tolist(), bool(VolScenario())
    (0.06, [0.26], False)
    """

    shift_pts: float = 0.0
    spot_vol_beta: float = 0.0
    asked_shift_pts: float | None = None  # the shift asked for, when the chain's lowest IV clamped it (words only)

    def __bool__(self) -> bool:
        """True when any IV moves (sticky strike otherwise)."""
        return bool(self.shift_pts or self.spot_vol_beta)

    def bump(self, shock_pct: Any) -> Any:
        """The IV change as a decimal at each spot shock (percent): ``(shift_pts + beta * shock_pct) / 100``."""
        return (self.shift_pts + self.spot_vol_beta * np.asarray(shock_pct, dtype=float)) / 100.0

    def bump_for_factors(self, factors: Any) -> Any:
        """:meth:`bump` at spot factors ``S1/S0`` (the grid's spot levels)."""
        return self.bump((np.asarray(factors, dtype=float) - 1.0) * 100.0)

    def bumped_iv(self, iv: np.ndarray, shock_pct: Any) -> np.ndarray:
        """``max(iv + bump, MIN_IV)``: (grid, options) for a grid of shocks, else one IV per option."""
        bump = self.bump(shock_pct)
        return np.maximum(np.add.outer(bump, iv) if np.ndim(bump) else iv + bump, MIN_IV)

    def words(self) -> tuple[str, ...]:
        """The vol scenario in words, one phrase per part (see :func:`describe_scenario`)."""
        return describe_scenario(self)


NO_VOL_SCENARIO = VolScenario()


def describe_scenario(vol: VolScenario = NO_VOL_SCENARIO, horizon_days: float = 0.0) -> tuple[str, ...]:
    """A scenario in words, one phrase per part; ``()`` for the chain's IVs now. The one describer the
    key levels, the KPI strip and the CSV use.

    Examples
    --------
    >>> describe_scenario(VolScenario(2.0, -0.5), 1)
    ('vols +2 pts', 'spot-vol beta -0.5', 'horizon +1 day')
    >>> describe_scenario(horizon_days=2), describe_scenario()
    (('horizon +2 days',), ())
    >>> describe_scenario(VolScenario(-7.24, asked_shift_pts=-20.0))
    ('vols -7.24 pts (asked -20, clamped: the lowest IV of this chain is 7.25%)',)
    """
    parts = []
    if vol.asked_shift_pts is not None and vol.asked_shift_pts != vol.shift_pts:
        low_iv = MIN_IV_AFTER_SHIFT - vol.shift_pts / 100.0  # the clamp's own rule (Scenario.vol_shift_bound)
        parts.append(f"vols {vol.shift_pts:+g} pts (asked {vol.asked_shift_pts:+g}, clamped: the lowest IV of "
                     f"this chain is {low_iv:.2%})")
    elif vol.shift_pts:
        parts.append(f"vols {vol.shift_pts:+g} pts")
    if vol.spot_vol_beta:
        parts.append(f"spot-vol beta {vol.spot_vol_beta:+g}")
    if horizon_days:
        parts.append(f"horizon +{horizon_days:g} day{'' if horizon_days == 1 else 's'}")
    return tuple(parts)


# --------------------------------------------------------------------------- the value


@dataclass(frozen=True)
class Scenario:
    """Everything besides the chain that changes the numbers; validated and normalised when built.

    Attributes
    ----------
    expiries : tuple of date or None
        Expiry dates to keep (sorted, unique); None = every live expiry.
    max_dte : float or None
        Keep expiries within this many calendar days (``MAX_DTE``).
    convention : str
        Dealer sign convention, a name in :mod:`analytics.conventions`.
    rate, div_yield : float
        Continuously compounded, decimals (``RATE``, ``DIV_YIELD``); Black-76 rows use ``rate`` only.
    multiplier : float or None
        Overrides the rows' contract multiplier (``MULTIPLIER``).
    shocks_pct : tuple of float
        Spot shocks of the hedge curve, percent (``SHOCK_PCT`` each, at most ``MAX_SHOCKS``).
    horizon_days : float
        Revalue the hedge curve this many days later (``HORIZON_DAYS``).
    compare_horizons_days : tuple of float
        Extra horizons whose hedge curves are also computed (at most ``MAX_COMPARE_HORIZONS``).
    vol_shift_pts, spot_vol_beta : float
        Vol scenario: every IV moves by ``vol_shift_pts + spot_vol_beta * shock_pct`` vol points
        (``VOL_SHIFT_PTS``, ``SPOT_VOL_BETA``; the chain's lowest IV bounds a negative shift).
    asked_vol_shift_pts : float or None
        The vol shift asked for when the chain's lowest IV clamped it to ``vol_shift_pts`` (what the
        words say; the numbers read ``vol_shift_pts`` only); None: applied as asked.
    spot_range : (float, float)
        The gamma-profile grid as fractions of spot (``SPOT_RANGE_LO``, ``SPOT_RANGE_HI``).
    grid_points : int
        Points of the gamma-profile grid (``GRID_POINTS``).
    forward : {"parity", "spot"}
        What options are priced on: each expiry's put-call-parity forward and discount (default), or
        the header spot with ``rate`` and ``div_yield`` (:mod:`analytics.prepare`; why: the README's
        "Model choices").
    iv_policy : {"otm", "file"}
        One IV per strike from the out-of-the-money side (default), or each side's own file IV.
    adjusted_deliverables : tuple of (str, float)
        Adjusted-deliverable roots (``AMD1``) and the units of the underlying one contract delivers,
        sorted by root; such a root's rows are priced on that deliverable (strike and premiums per
        unit, multiplier = the units: :func:`analytics.prepare.prepare_chain`). Rows of an adjusted root
        not listed are left out with a counted note.
    without_notes : tuple of str
        Leave out the rows of these data-repair notes (codes in :data:`analytics.notes.ROW_REPAIRS`,
        sorted, unique): the alternative treatment the headline band compares against.

    Examples
    --------
    >>> s = Scenario(expiries=["2024-01-19", "2024-01-12"], shocks_pct="-5,0,5", rate="0.05")
    >>> s.expiries, s.shocks_pct, s.rate
    ((datetime.date(2024, 1, 12), datetime.date(2024, 1, 19)), (-5.0, 0.0, 5.0), 0.05)
    >>> Scenario(spot_vol_beta=500)
    Traceback (most recent call last):
    ...
    analytics.errors.ScenarioError: spot-vol beta 500 is out of range: allowed -10 to 10 (vol points per 1% spot shock)
    >>> Scenario(expiries=["2024-13-01"])
    Traceback (most recent call last):
    ...
    analytics.errors.ScenarioError: expiry '2024-13-01' is not a date (YYYY-MM-DD)
    """

    expiries: tuple[dt.date, ...] | None = None
    max_dte: float | None = None
    convention: str = conventions.DEFAULT_CONVENTION
    rate: float = 0.0
    div_yield: float = 0.0
    multiplier: float | None = None
    shocks_pct: tuple[float, ...] = DEFAULT_SHOCKS_PCT
    horizon_days: float = 0.0
    compare_horizons_days: tuple[float, ...] = ()
    vol_shift_pts: float = 0.0
    spot_vol_beta: float = 0.0
    asked_vol_shift_pts: float | None = None  # what was asked when the chain clamped vol_shift_pts (words only)
    spot_range: tuple[float, float] = DEFAULT_SPOT_RANGE
    grid_points: int = DEFAULT_GRID_POINTS
    forward: ForwardChoice = DEFAULT_FORWARD
    iv_policy: IvPolicy = DEFAULT_IV_POLICY
    adjusted_deliverables: tuple[tuple[str, float], ...] = ()  # adjusted roots priced on their deliverable
    without_notes: tuple[str, ...] = ()  # leave out the rows of these data-repair notes (notes.ROW_REPAIRS)

    def __post_init__(self) -> None:
        for name, parse in _RULES.items():
            try:
                value = parse(getattr(self, name))
            except ScenarioError as err:
                raise ScenarioError(str(err), name=name) from None
            object.__setattr__(self, name, value)

    # ----------------------------------------------------------------- constructors

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> Scenario:
        """A scenario from field names to values or text; ``None`` values keep the default.

        Examples
        --------
        >>> Scenario.from_mapping({"rate": "0.01", "max_dte": None}).rate
        0.01
        >>> Scenario.from_mapping({"gamma": 1})
        Traceback (most recent call last):
        ...
        analytics.errors.ScenarioError: unknown scenario parameter 'gamma'
        """
        unknown = [k for k in values if k not in _RULES]
        if unknown:
            raise ScenarioError(f"unknown scenario parameter {str(unknown[0])[:40]!r}", name=str(unknown[0]))
        return cls(**{k: v for k, v in values.items() if v is not None})

    def replace(self, **changes: Any) -> Scenario:
        """A copy with ``changes`` applied (validated again)."""
        return dataclasses.replace(self, **changes)

    # ----------------------------------------------------------------- the chain-dependent checks

    def vol_shift_bound(self, iv: Any) -> Bound:
        """The allowed vol shift for a chain whose usable IVs (decimal) are ``iv``: it must leave the
        lowest one at least ``MIN_IV_AFTER_SHIFT``.

        Examples
        --------
        >>> Scenario().vol_shift_bound([0.12, 0.30]).describe()
        '-11.99 to 500 (vol points; the lowest IV of this chain is 12.00%)'
        """
        values = np.asarray(iv, dtype=float)
        values = values[np.isfinite(values) & (values > 0)]
        if not values.size:
            return VOL_SHIFT_PTS
        low_iv = float(values.min())
        # to the hundredth of a vol point toward zero (a value a person can type, still inside the rule)
        lo = max(VOL_SHIFT_PTS.lo, -math.floor(round((low_iv - MIN_IV_AFTER_SHIFT) * 1e4, 6)) / 100.0)
        return Bound(lo, VOL_SHIFT_PTS.hi, f"vol points; the lowest IV of this chain is {low_iv:.2%}")

    def check_against(self, chain: Any, *, iv: Any = None) -> Scenario:
        """Raise ScenarioError if this scenario cannot apply to ``chain`` (an OptionChain); else self.

        ``iv`` are the usable IVs the engine will price with (default: the chain's ``iv`` column).
        Checks the inputs a convention needs and the low end of a negative vol shift.
        """
        rows = chain.rows
        if conventions.POSITIONS in conventions.get(self.convention).needs:
            pos = rows["position"].to_numpy(float) if "position" in rows else np.array([])
            if not np.isfinite(pos).any():
                raise ScenarioError(f"convention {self.convention!r} needs a positions file for "
                                    f"{getattr(chain, 'underlying', 'this underlying')}", name="convention")
        if self.vol_shift_pts < 0:
            bound = self.vol_shift_bound(rows["iv"].to_numpy(float) if iv is None else iv)
            if not bound.contains(self.vol_shift_pts):
                raise ScenarioError(f"vol shift {self.vol_shift_pts:g} is out of range for this chain: allowed "
                                    f"{bound.describe()}", name="vol_shift_pts",
                                    nearest=self.replace(vol_shift_pts=bound.clamp(self.vol_shift_pts),
                                                         asked_vol_shift_pts=self.asked_vol_shift_pts
                                                         if self.asked_vol_shift_pts is not None
                                                         else self.vol_shift_pts))
        return self

    @property
    def vol(self) -> VolScenario:
        """The vol scenario both grid engines receive."""
        return VolScenario(self.vol_shift_pts, self.spot_vol_beta, self.asked_vol_shift_pts)

    def words(self) -> tuple[str, ...]:
        """The scenario (vols and horizon) in words (:func:`describe_scenario`)."""
        return describe_scenario(self.vol, self.horizon_days)

    # ----------------------------------------------------------------- output

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields (dates as ISO text, tuples as lists).

        Examples
        --------
        >>> Scenario(shocks_pct=[1]).to_dict()["shocks_pct"]
        [1.0]
        """
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            if f.name == "expiries":
                v = None if v is None else [d.isoformat() for d in v]
            elif isinstance(v, tuple):
                v = list(v)
            out[f.name] = v
        return out


def allowed(field: str) -> str:
    """What a scenario field allows, in words (the CLI's ``--help`` and the README table).

    Examples
    --------
    >>> allowed("spot_vol_beta")
    '-10 to 10 (vol points per 1% spot shock)'
    """
    return _RULES[field].allowed  # type: ignore[attr-defined]


def bound_of(field: str) -> Bound | None:
    """The bound of a numeric scenario field (``"vol_shift_pts"`` -> ``VOL_SHIFT_PTS``), else None.

    Examples
    --------
    >>> bound_of("spot_vol_beta") is SPOT_VOL_BETA, bound_of("convention")
    (True, None)
    """
    return getattr(_RULES.get(field), "bound", None)


# One line per field: how a value (or text) becomes the stored value, with its bound.
_RULES: dict[str, Callable[[Any], Any]] = {
    "expiries": _described(_expiries, f"dates YYYY-MM-DD of live expiries, at most {MAX_EXPIRIES:,}"),
    "max_dte": _number(MAX_DTE, "max DTE", optional=True),
    "convention": _choice(conventions.NAMES, "convention"),
    "rate": _number(RATE, "rate"),
    "div_yield": _number(DIV_YIELD, "dividend yield"),
    "multiplier": _number(MULTIPLIER, "multiplier", optional=True),
    "shocks_pct": _numbers(SHOCK_PCT, "shock", max_count=MAX_SHOCKS, min_count=1),
    "horizon_days": _number(HORIZON_DAYS, "horizon"),
    "compare_horizons_days": _numbers(HORIZON_DAYS, "compared horizon", max_count=MAX_COMPARE_HORIZONS),
    "vol_shift_pts": _number(VOL_SHIFT_PTS, "vol shift"),
    "spot_vol_beta": _number(SPOT_VOL_BETA, "spot-vol beta"),
    "asked_vol_shift_pts": _number(VOL_SHIFT_PTS, "asked vol shift", optional=True),
    "spot_range": _described(_spot_range, f"LO {SPOT_RANGE_LO.describe()}, HI {SPOT_RANGE_HI.describe()}"),
    "grid_points": _integer(GRID_POINTS, "grid points"),
    "forward": _choice(FORWARD_CHOICES, "forward"),
    "iv_policy": _choice(IV_POLICIES, "IV policy"),
    "adjusted_deliverables": _described(_deliverables, f"{_DELIVERABLE_FORM}, comma-separated; UNITS "
                                        f"{MULTIPLIER.describe()}"),
    "without_notes": _described(_note_codes, f"codes among {', '.join(ROW_REPAIRS)}"),
}
