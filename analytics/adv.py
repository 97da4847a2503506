"""Average daily volume per underlying, to size dealer hedge flows: the one loader of ``adv.toml``.

A hedge flow of 2 million index units means little on its own; as a share of what trades in a day
it tells a trader whether dealers' hedging can move the market. The data folder may hold a small
TOML file, :data:`ADV_FILE_NAME`, one table per underlying::

    [SPX]
    adv_units = 85_000_000      # units of the underlying per day (SPX: index units = notional / level)
    basis = "ES futures x50 + MES x5 + SPY shares / 10, 20-day average"

    [BTC]
    adv_units = 600_000         # coins per day
    basis = "perpetual swaps + spot, major venues"

``adv_units`` is in units of the underlying (the unit of ``hedge_flow_units``), so the share does
not depend on the price; ``basis`` says what was counted (it is shown with the numbers). Names are
matched case-insensitively. The catalog never reads this file as a chain
(:mod:`analytics.catalog` skips it by name).

Errors are values: a missing file gives no ADV (and no warning: ADV is optional); a file that is not
valid TOML, or an entry without a positive finite ``adv_units``, gives a warning naming the file and
the entry, and the rest of the file still counts. Nothing here raises on bad input.

Examples
--------
>>> table = parse_adv('[spx]\\nadv_units = 8.5e7\\nbasis = "futures + ETF"\\n[BTC]\\nadv_units = -1\\n', "adv.toml")
>>> table.get("SPX").adv_units, table.get("btc"), table.warnings
(85000000.0, None, ('adv.toml [BTC]: adv_units must be a positive number of units per day, not -1; no ADV for BTC',))
>>> pct_of_adv([1.7e6, -8.5e5], 8.5e7).tolist()
[2.0, -1.0]
"""

from __future__ import annotations

import math
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

ADV_FILE_NAME = "adv.toml"


@dataclass(frozen=True)
class Adv:
    """One underlying's average daily volume."""

    underlying: str
    adv_units: float  # units of the underlying per day
    basis: str = ""  # what was counted, in words


@dataclass(frozen=True)
class AdvTable:
    """Every usable ADV entry of one file, and why the others were left out."""

    entries: dict[str, Adv] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()

    def get(self, underlying: str | None) -> Adv | None:
        """The ADV of ``underlying`` (case-insensitive), or None."""
        return self.entries.get(str(underlying or "").upper())


def parse_adv(text: str, name: str = ADV_FILE_NAME) -> AdvTable:
    """Read the TOML text of an ADV file (``name`` labels the warnings). Never raises."""
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        return AdvTable(warnings=(f"{name} is not valid TOML ({err}); hedge flows are shown without % of ADV",))
    entries: dict[str, Adv] = {}
    warnings: list[str] = []
    for key, value in doc.items():
        label = f"{name} [{key}]"
        if not isinstance(value, dict):
            warnings.append(f"{label}: expected a table with adv_units, got {type(value).__name__}; ignored")
            continue
        units = value.get("adv_units")
        if not (isinstance(units, int | float) and not isinstance(units, bool) and math.isfinite(units) and units > 0):
            warnings.append(f"{label}: adv_units must be a positive number of units per day, not {units!r}; "
                            f"no ADV for {key.upper()}")
            continue
        entries[key.upper()] = Adv(key.upper(), float(units), str(value.get("basis", "")))
    return AdvTable(entries, tuple(warnings))


def load_adv(data_dir: str | Path) -> AdvTable:
    """The ADV table of a data folder (empty, without warnings, when it has no :data:`ADV_FILE_NAME`)."""
    from analytics.errors import ChainDataError
    from analytics.sources.common import confined_to, read_input

    path = Path(data_dir) / ADV_FILE_NAME
    try:
        if os.path.getsize(path) == 0:  # an empty file is an empty table
            return AdvTable()
        with confined_to(data_dir):  # the one opener: a link to a file outside the folder is refused
            raw = read_input(path)
    except FileNotFoundError:
        return AdvTable()
    except OSError as err:
        return AdvTable(warnings=(f"{ADV_FILE_NAME} cannot be read ({err.strerror or 'I/O error'}); hedge flows "
                                  "are shown without % of ADV",))
    except ChainDataError as err:
        return AdvTable(warnings=(f"{ADV_FILE_NAME} cannot be read ({err.reason}); hedge flows are shown without "
                                  "% of ADV",))
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return AdvTable(warnings=(f"{ADV_FILE_NAME} is not UTF-8 text; hedge flows are shown without % of ADV",))
    return parse_adv(text, ADV_FILE_NAME)


def pct_of_adv(flow_units, adv_units: float | None) -> np.ndarray:
    """Hedge flow as percent of average daily volume (NaN everywhere when no ADV is known).

    Parameters
    ----------
    flow_units : array_like
        Hedge flow in units of the underlying (positive = dealers buy).
    adv_units : float or None
        Average daily volume, same units.
    """
    flow = np.asarray(flow_units, dtype=float)
    if adv_units is None or not adv_units > 0:
        return np.full(flow.shape, np.nan)
    return flow / float(adv_units) * 100.0
