"""Alert rules: what changed between a snapshot and the comparable previous one that a desk wants told.

Pure rule evaluation on two history summaries (:class:`analytics.history.Summary`: what the history
store keeps of each snapshot, so comparing costs nothing once both are stored). The caller finds the
comparable previous snapshot (the one rule: :func:`dashboard.service.find_previous`); without one
there is nothing to compare and no alert.

The rules (each on only when its table is in the configuration, see ``docs/alerts.md``):

``zero_gamma_cross``
    Spot is on the other side of zero gamma than it was: the side is ``sign(spot - z)`` for the
    zero-gamma level ``z`` nearest spot, in each snapshot (no alert when either has no zero-gamma
    level in range). ``min_distance_pct`` (default 0): today's spot must be at least this far from
    the level, in percent of spot (no alert for a spot sitting on the level).
``wall_move``
    The call wall or the put wall (the strike with the largest call GEX, the most negative put GEX)
    is another strike, moved by at least ``min_move_pct`` of today's spot (default 0: any move).
    ``walls`` (default ``["call", "put"]``) picks which walls count.
``total_sign``
    Total GEX (USD per 1% move, at spot) changed sign: dealers went from long to short gamma or back.
    ``min_abs_usd`` (default 0): today's total must be at least this large either way.
``flow_1pct``
    Dealers' hedge flow for a -1% or +1% move (USD; positive = dealers buy) is beyond
    ``threshold_usd`` in absolute value today and was not in the previous snapshot (one alert the
    day it goes beyond, not every day it stays there). ``threshold_usd`` is required.

At most one :class:`Alert` per rule and snapshot: a rule that fires for several items (both walls,
both shocks) says so in one message.

Examples
--------
>>> import pandas as pd
>>> def summary(day, spot, zero_gamma):
...     return Levels("SPX", pd.Timestamp(f"2026-11-{day} 16:15", tz="America/New_York"), spot, -1e9,
...                   (zero_gamma,), ((6800.0, 2e10),), ((6700.0, -3e10),), ((-1.0, 0.0, -1e9), (1.0, 0.0, 5e8)))
>>> rules = parse_rules({"zero_gamma_cross": {}}, "alerts.toml")
>>> [a.message for a in evaluate(summary(20, 7100.0, 7032.5), summary(19, 6770.0, 6891.5), rules, "spx-20")]
['SPX: spot 7,100.0 is now above zero gamma 7,032.5 (+0.96%); on 2026-11-19 spot 6,770.0 was below zero gamma 6,891.5']
>>> evaluate(summary(20, 7100.0, 7032.5), None, rules, "spx-20")
[]
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import pandas as pd

from analytics.errors import ChainDataError
from analytics.fmt import format_level, format_pct, format_strike, format_usd

RULES: tuple[str, ...] = ("zero_gamma_cross", "wall_move", "total_sign", "flow_1pct")
WALL_KINDS: tuple[str, ...] = ("call", "put")
FLOW_RULE_SHOCKS_PCT: tuple[float, ...] = (-1.0, 1.0)


class AlertConfigError(ChainDataError):
    """A bad alerts configuration: one line naming the file and the key."""


class SnapshotLevels(Protocol):
    """What the rules read of a snapshot (:class:`analytics.history.Summary` has it)."""

    @property
    def underlying(self) -> str: ...
    @property
    def as_of(self) -> pd.Timestamp: ...
    @property
    def spot(self) -> float: ...
    @property
    def total_gex_usd_per_1pct(self) -> float: ...
    @property
    def zero_gamma_levels(self) -> tuple[float, ...]: ...
    @property
    def call_walls(self) -> tuple[tuple[float, float], ...]: ...
    @property
    def put_walls(self) -> tuple[tuple[float, float], ...]: ...
    @property
    def hedge_flows(self) -> tuple[tuple[float, float, float], ...]: ...


@dataclass(frozen=True)
class Levels:
    """A plain :class:`SnapshotLevels` (tests, callers without a history summary)."""

    underlying: str
    as_of: pd.Timestamp
    spot: float
    total_gex_usd_per_1pct: float
    zero_gamma_levels: tuple[float, ...]
    call_walls: tuple[tuple[float, float], ...]
    put_walls: tuple[tuple[float, float], ...]
    hedge_flows: tuple[tuple[float, float, float], ...]  # (shock %, units, USD)


@dataclass(frozen=True)
class Rules:
    """The rules switched on and their thresholds (:func:`parse_rules`); a rule is on when not None."""

    zero_gamma_cross: Mapping[str, Any] | None = None
    wall_move: Mapping[str, Any] | None = None
    total_sign: Mapping[str, Any] | None = None
    flow_1pct: Mapping[str, Any] | None = None

    @property
    def enabled(self) -> tuple[str, ...]:
        """The names of the rules that are on, in :data:`RULES` order."""
        return tuple(r for r in RULES if getattr(self, r) is not None)


@dataclass(frozen=True)
class Alert:
    """One rule that fired for one snapshot.

    Attributes
    ----------
    rule : str
        One of :data:`RULES`.
    underlying, snapshot_id, as_of
        The snapshot that fired it (``as_of`` time-zone aware).
    previous_id, previous_as_of
        The snapshot it was compared with.
    message : str
        One line for a person (Slack, Teams, an e-mail subject's body, the page).
    values : dict
        The numbers behind the message (JSON-ready floats and strings).
    """

    rule: str
    underlying: str
    snapshot_id: str
    as_of: pd.Timestamp
    message: str
    values: Mapping[str, Any] = field(default_factory=dict)
    previous_id: str | None = None
    previous_as_of: pd.Timestamp | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (ISO timestamps)."""
        return {"rule": self.rule, "underlying": self.underlying, "snapshot_id": self.snapshot_id,
                "as_of": self.as_of.isoformat(), "previous_id": self.previous_id,
                "previous_as_of": self.previous_as_of.isoformat() if self.previous_as_of is not None else None,
                "message": self.message, "values": dict(self.values)}


# --------------------------------------------------------------------------- the configuration

# rule -> option -> (default, check, what the check wants); None default: required
_OPTIONS: dict[str, dict[str, tuple[Any, Any, str]]] = {
    "zero_gamma_cross": {"min_distance_pct": (0.0, lambda v: _number(v) and v >= 0, "a number >= 0")},
    "wall_move": {
        "min_move_pct": (0.0, lambda v: _number(v) and v >= 0, "a number >= 0"),
        "walls": (list(WALL_KINDS), lambda v: isinstance(v, list) and bool(v) and all(w in WALL_KINDS for w in v),
                  'a non-empty list of "call" and "put"'),
    },
    "total_sign": {"min_abs_usd": (0.0, lambda v: _number(v) and v >= 0, "a number >= 0")},
    "flow_1pct": {"threshold_usd": (None, lambda v: _number(v) and v > 0, "a number > 0 (USD)")},
}


def _number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)


def parse_rules(table: Any, name: str) -> Rules:
    """The ``[rules]`` table of an alerts file, checked: each key a rule of :data:`RULES`, each value a
    table of that rule's options (``enabled = false`` turns a rule off).

    Raises
    ------
    AlertConfigError
        One line naming ``name`` (the file) and the key at fault.

    Examples
    --------
    >>> parse_rules({"wall_move": {"min_move_pct": 0.5}, "total_sign": {"enabled": False}}, "a.toml").enabled
    ('wall_move',)
    >>> parse_rules({"flow_1pct": {}}, "a.toml")
    Traceback (most recent call last):
    ...
    analytics.alerts.AlertConfigError: a.toml: field 'rules.flow_1pct.threshold_usd': required: a number > 0 (USD)
    """
    if table is None:
        table = {}
    if not isinstance(table, Mapping):
        raise AlertConfigError(f"expected a table of rules, got {type(table).__name__}", path=name, field="rules")
    chosen: dict[str, Mapping[str, Any]] = {}
    for rule, options in table.items():
        key = f"rules.{rule}"
        if rule not in _OPTIONS:
            raise AlertConfigError(f"unknown rule (rules are {', '.join(RULES)})", path=name, field=key)
        if not isinstance(options, Mapping):
            raise AlertConfigError(f"expected a table of options, got {type(options).__name__}", path=name, field=key)
        enabled = options.get("enabled", True)
        if not isinstance(enabled, bool):
            raise AlertConfigError("must be true or false", path=name, field=f"{key}.enabled")
        known = _OPTIONS[rule]
        values: dict[str, Any] = {}
        for option, value in options.items():
            if option == "enabled":
                continue
            if option not in known:
                allowed = ", ".join(["enabled", *known]) or "enabled"
                raise AlertConfigError(f"unknown option (allowed: {allowed})", path=name, field=f"{key}.{option}")
            _, check, wants = known[option]
            if not check(value):
                raise AlertConfigError(f"must be {wants}, got {value!r}", path=name, field=f"{key}.{option}")
            values[option] = float(value) if _number(value) else value
        for option, (default, _, wants) in known.items():
            if option not in values:
                if default is None:
                    raise AlertConfigError(f"required: {wants}", path=name, field=f"{key}.{option}")
                values[option] = default
        if enabled:
            chosen[rule] = values
    return Rules(**chosen)


# --------------------------------------------------------------------------- the rules


def _day(t: pd.Timestamp) -> str:
    return f"{t:%Y-%m-%d}"


def _nearest(levels: Sequence[float], spot: float) -> float | None:
    finite = [z for z in levels if math.isfinite(z)]
    return min(finite, key=lambda z: abs(z - spot)) if finite else None


def _zero_gamma_cross(cur: SnapshotLevels, prev: SnapshotLevels, options: Mapping[str, Any]
                      ) -> tuple[str, dict[str, Any]] | None:
    z_cur, z_prev = _nearest(cur.zero_gamma_levels, cur.spot), _nearest(prev.zero_gamma_levels, prev.spot)
    if z_cur is None or z_prev is None:
        return None
    side_cur, side_prev = math.copysign(1, cur.spot - z_cur), math.copysign(1, prev.spot - z_prev)
    distance_pct = (cur.spot / z_cur - 1.0) * 100.0
    if side_cur == side_prev or cur.spot == z_cur or abs(distance_pct) < options["min_distance_pct"]:
        return None
    word = {1.0: "above", -1.0: "below"}
    message = (f"{cur.underlying}: spot {format_level(cur.spot)} is now {word[side_cur]} zero gamma "
               f"{format_level(z_cur)} ({format_pct(distance_pct, decimals=2, signed=True)}); on {_day(prev.as_of)} "
               f"spot {format_level(prev.spot)} was {word[side_prev]} zero gamma {format_level(z_prev)}")
    return message, {"spot": cur.spot, "zero_gamma": z_cur, "distance_pct": distance_pct,
                     "previous_spot": prev.spot, "previous_zero_gamma": z_prev, "side": word[side_cur]}


def _wall_move(cur: SnapshotLevels, prev: SnapshotLevels, options: Mapping[str, Any]
               ) -> tuple[str, dict[str, Any]] | None:
    moves, values = [], {}
    for kind in options["walls"]:
        now, before = getattr(cur, f"{kind}_walls"), getattr(prev, f"{kind}_walls")
        if not now or not before:
            continue
        strike, previous = float(now[0][0]), float(before[0][0])
        move_pct = abs(strike - previous) / cur.spot * 100.0
        if strike != previous and move_pct >= options["min_move_pct"]:
            moves.append(f"{kind} wall {format_strike(previous)} -> {format_strike(strike)}")
            values[f"{kind}_wall"], values[f"previous_{kind}_wall"] = strike, previous
    if not moves:
        return None
    return f"{cur.underlying}: {', '.join(moves)} (since {_day(prev.as_of)})", values


def _total_sign(cur: SnapshotLevels, prev: SnapshotLevels, options: Mapping[str, Any]
                ) -> tuple[str, dict[str, Any]] | None:
    now, before = cur.total_gex_usd_per_1pct, prev.total_gex_usd_per_1pct
    if not (math.isfinite(now) and math.isfinite(before)) or now * before >= 0 or abs(now) < options["min_abs_usd"]:
        return None
    gamma = "long" if now > 0 else "short"
    message = (f"{cur.underlying}: total GEX changed sign, {format_usd(before, signed=True)} -> "
               f"{format_usd(now, signed=True)} per 1% move (dealers now {gamma} gamma; since {_day(prev.as_of)})")
    return message, {"total_gex_usd_per_1pct": now, "previous_total_gex_usd_per_1pct": before}


def _flow_usd(levels: SnapshotLevels, shock_pct: float) -> float | None:
    for shock, _units, usd in levels.hedge_flows:
        if abs(shock - shock_pct) < 1e-9:
            return float(usd)
    return None


def _flow_1pct(cur: SnapshotLevels, prev: SnapshotLevels, options: Mapping[str, Any]
               ) -> tuple[str, dict[str, Any]] | None:
    threshold = options["threshold_usd"]
    parts, values = [], {"threshold_usd": threshold}
    for shock in FLOW_RULE_SHOCKS_PCT:
        now, before = _flow_usd(cur, shock), _flow_usd(prev, shock)
        if now is None or before is None or not math.isfinite(now):
            continue
        if abs(now) >= threshold and not abs(before) >= threshold:
            parts.append(f"{format_pct(shock, decimals=0, signed=True)} move {format_usd(now, signed=True)} "
                         f"(was {format_usd(before, signed=True)})")
            values[f"hedge_flow_usd_{shock:+g}pct"] = now
            values[f"previous_hedge_flow_usd_{shock:+g}pct"] = before
    if not parts:
        return None
    return (f"{cur.underlying}: dealers' hedge flow beyond {format_usd(threshold)}: {'; '.join(parts)} "
            f"(+ = dealers buy; since {_day(prev.as_of)})", values)


_RULE_FUNCTIONS = {"zero_gamma_cross": _zero_gamma_cross, "wall_move": _wall_move, "total_sign": _total_sign,
                   "flow_1pct": _flow_1pct}


def evaluate(current: SnapshotLevels, previous: SnapshotLevels | None, rules: Rules, snapshot_id: str, *,
             previous_id: str | None = None) -> list[Alert]:
    """The alerts ``current`` fires against ``previous`` (the comparable previous snapshot), one per rule at most.

    Parameters
    ----------
    current, previous : SnapshotLevels
        History summaries of the new snapshot and of the comparable previous one (None: there is none,
        so no alert).
    rules : Rules
        The rules that are on (:func:`parse_rules`).
    snapshot_id, previous_id : str
        The snapshots' catalog ids (carried into each alert).

    Returns
    -------
    list of Alert
        In :data:`RULES` order.
    """
    if previous is None:
        return []
    out = []
    for rule in rules.enabled:
        fired = _RULE_FUNCTIONS[rule](current, previous, getattr(rules, rule))
        if fired is not None:
            message, values = fired
            out.append(Alert(rule=rule, underlying=current.underlying, snapshot_id=snapshot_id, as_of=current.as_of,
                             message=message, values=values, previous_id=previous_id, previous_as_of=previous.as_of))
    return out
