"""The one registry of dealer sign conventions: who is assumed to hold the open interest.

Public data gives open interest, not who is long, so every exposure rests on a sign rule. Each
:class:`Convention` states its name (the CLI/URL value), a label (the dashboard), a help text, what
calls and puts count as (the README table), its sign rule and the inputs it needs. The dashboard's
dropdown, ``mmpos analyze --convention``, the README table and the JSON ``units`` all read this module.

Adding a convention: write its sign rule and append one :class:`Convention` to ``REGISTRY``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from analytics.errors import ScenarioError

POSITIONS = "positions"  # an input a convention can need: a positions file (signed contracts per row)
FLOW_INFERRED = "flow-inferred"  # the convention reading them (beside the OI conventions)
TRADES = "trades"  # ... or the venue's trades since the open interest (analytics.trades: the dealer flow per row)

SignRule = Callable[[np.ndarray, np.ndarray, np.ndarray | None], np.ndarray]


def _long_calls_short_puts(side: np.ndarray, oi: np.ndarray, position: np.ndarray | None) -> np.ndarray:
    return np.where(side > 0, oi, -oi)


def _short_all(side: np.ndarray, oi: np.ndarray, position: np.ndarray | None) -> np.ndarray:
    return -oi


def _long_all(side: np.ndarray, oi: np.ndarray, position: np.ndarray | None) -> np.ndarray:
    return oi.copy()


def _oi_plus_flow(side: np.ndarray, oi: np.ndarray, position: np.ndarray | None) -> np.ndarray:
    # position carries the dealers' flow since the open interest (analytics.trades.flow_on_rows)
    flow = np.zeros_like(oi) if position is None else np.nan_to_num(position, nan=0.0)
    return _long_calls_short_puts(side, oi, None) + flow


def _book(side: np.ndarray, oi: np.ndarray, position: np.ndarray | None) -> np.ndarray:
    if position is None or not np.any(np.isfinite(position)):
        raise ScenarioError("convention 'book' needs a positions file for this underlying")
    return np.nan_to_num(position, nan=0.0)


@dataclass(frozen=True)
class Convention:
    """One dealer sign convention.

    Attributes
    ----------
    name : str
        The value used on the command line, in URLs and in the JSON (``dealer-long-calls``).
    label : str
        Short text for the dashboard's dropdown.
    help : str
        One sentence: the assumption and who uses it.
    calls, puts : str
        What dealers are assumed to hold, in words (``+OI``), for the README table.
    sign_rule : callable
        ``(side, open_interest, position) -> signed contracts held by dealers`` per row, vectorised;
        ``side`` is +1/-1, ``position`` the row's ``position`` column or None: the positions file's signed
        quantities (``book``) or the dealers' flow since the open interest (``flow-inferred``); NaN = none.
    needs : tuple of str
        Inputs beyond the chain (``POSITIONS`` = a positions file, ``TRADES`` = the venue's trades).
    """

    name: str
    label: str
    help: str
    calls: str
    puts: str
    sign_rule: SignRule
    needs: tuple[str, ...] = ()


REGISTRY: tuple[Convention, ...] = (
    Convention("dealer-long-calls", "Dealers long calls, short puts",
               "dealers long calls (+OI), short puts (-OI): SqueezeMetrics/SpotGamma style",
               "+OI", "-OI", _long_calls_short_puts),
    Convention("dealer-short-all", "Dealers short calls and puts",
               "dealers short every option (-OI): customers buy everything", "-OI", "-OI", _short_all),
    Convention("dealer-long-all", "Dealers long calls and puts",
               "dealers long every option (+OI): customers sell everything", "+OI", "+OI", _long_all),
    Convention("book", "Book (positions file)", "signed quantities from the desk's positions file",
               "signed quantity from the positions file", "signed quantity from the positions file", _book, needs=(POSITIONS,)),
    Convention(FLOW_INFERRED, "Flow-inferred (Deribit trades)",
               "dealers long calls, short puts on the open interest settled at 08:00 UTC, plus the trades since "
               "then with customers as takers (a customer buy of N contracts makes dealers short N more)",
               "+OI + dealer flow", "-OI + dealer flow", _oi_plus_flow, needs=(TRADES,)),
)
DEFAULT_CONVENTION = REGISTRY[0].name
"""The default convention, the first of the registry (SqueezeMetrics/SpotGamma style)."""

NAMES: tuple[str, ...] = tuple(c.name for c in REGISTRY)
_BY_NAME = {c.name: c for c in REGISTRY}


def get(name: str) -> Convention:
    """The convention called ``name``; ScenarioError listing the valid names otherwise.

    Examples
    --------
    >>> get("dealer-short-all").label
    'Dealers short calls and puts'
    >>> get("nope")
    Traceback (most recent call last):
    ...
    analytics.errors.ScenarioError: unknown convention 'nope'; choose one of dealer-long-calls, dealer-short-all, dealer-long-all, book, flow-inferred
    """
    try:
        return _BY_NAME[name]
    except (KeyError, TypeError):
        raise ScenarioError(f"unknown convention {name!r}; choose one of {', '.join(NAMES)}") from None


def labels() -> dict[str, str]:
    """Dropdown labels by name, in registry order."""
    return {c.name: c.label for c in REGISTRY}


def needing(requirement: str) -> tuple[str, ...]:
    """Names of the conventions that need ``requirement`` (e.g. ``POSITIONS``).

    Examples
    --------
    >>> needing(POSITIONS)
    ('book',)
    """
    return tuple(c.name for c in REGISTRY if requirement in c.needs)


def units_text(name: str) -> dict[str, str]:
    """The convention in words, for the JSON ``units`` (what ``mmpos analyze`` states beside numbers).

    Examples
    --------
    >>> units_text("dealer-long-calls")["calls"]
    '+OI'
    """
    c = get(name)
    return {"name": c.name, "help": c.help, "calls": c.calls, "puts": c.puts}


def markdown_table() -> str:
    """The README's conventions table, generated from the registry (a test checks the README has it).

    Examples
    --------
    >>> print(markdown_table().splitlines()[2])
    | `dealer-long-calls` (default) | +OI | -OI | dealers long calls (+OI), short puts (-OI): SqueezeMetrics/SpotGamma style |
    """
    lines = ["| convention | calls held by dealers | puts held by dealers | meaning |", "|---|---|---|---|"]
    for c in REGISTRY:
        default = " (default)" if c.name == DEFAULT_CONVENTION else ""
        lines.append(f"| `{c.name}`{default} | {c.calls} | {c.puts} | {c.help} |")
    return "\n".join(lines)
