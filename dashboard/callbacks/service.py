"""Cached, read-only access for the callbacks: the catalog, chains, expiry facts and analyses.

Every cache is an ``functools.lru_cache`` keyed by immutable values that include the file's
modification time, so an edited file is re-read and nothing cached is ever mutated. Each gunicorn
worker keeps its own caches (they share no memory, and need not).
"""

from __future__ import annotations

import datetime as dt
import functools
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from analytics.catalog import (
    Catalog,
    CatalogEntry,
    clear_cache,
    default_data_dir,
    load_book_cached,
    load_entry,
    load_path_cached,
    scan_catalog,
)
from analytics.chain import AM_SETTLED_ROOTS, OptionChain
from analytics.errors import ChainDataError
from analytics.exposure import CONVENTIONS
from analytics.report import Analysis, analyze
from analytics.sources.book import apply_book
from dashboard.state import monthly_expiries, preset_expiries

BOOK = "book"
KPI_SHOCKS_PCT: tuple[float, ...] = (-5.0, -1.0, 1.0, 5.0)  # the KPI strip's hedge-flow shocks


def resolve_data_dir(data_dir: str | Path | None) -> Path:
    """The folder to scan: the one given, else the analytics default."""
    return Path(data_dir) if data_dir else Path(default_data_dir())


def _tree_signature(root: Path) -> tuple[tuple[str, int, int], ...]:
    """(relative path, mtime_ns, size) of every file under ``root``: changes when any file does."""
    out = []
    if not root.is_dir():
        return ()
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            if name.startswith("."):
                continue
            path = Path(folder, name)
            try:
                st = path.stat()
            except OSError:
                continue
            out.append((str(path.relative_to(root)), st.st_mtime_ns, st.st_size))
    return tuple(out)


@functools.lru_cache(maxsize=4)
def _catalog(root: str, signature: tuple) -> Catalog:
    del signature  # part of the cache key only
    return scan_catalog(Path(root))


def get_catalog(data_dir: str | Path | None) -> Catalog:
    """The catalog of ``data_dir``, rescanned only when a file was added, removed or changed."""
    root = resolve_data_dir(data_dir)
    return _catalog(str(root), _tree_signature(root))


def _mtime_ns(path: str | Path) -> int:
    try:
        return Path(path).stat().st_mtime_ns
    except OSError:
        return 0


def entry_key(entry: CatalogEntry) -> tuple[str, int]:
    """Cache key of an entry: its id and the file's modification time."""
    return (str(entry.id), _mtime_ns(entry.path))


def load_chain(entry: CatalogEntry) -> OptionChain:
    """The entry's chain (cached by analytics.catalog); raises ChainDataError for a bad file."""
    if entry.broken:
        raise ChainDataError(str(entry.error or "unreadable file"), path=entry.path)
    return load_entry(entry)


def is_deribit(chain: OptionChain) -> bool:
    return chain.model == "black76"


@dataclass(frozen=True)
class ExpiryFacts:
    """What the expiry presets need to know about a chain."""

    expiries: tuple[dt.date, ...]
    as_of: dt.date
    monthlies: tuple[dt.date, ...]

    def resolve(self, preset: str) -> list[dt.date]:
        return preset_expiries(preset, self.expiries, self.as_of, monthlies=self.monthlies)


def expiry_facts(chain: OptionChain) -> ExpiryFacts:
    rows = chain.rows
    am = rows.loc[rows["root"].isin(AM_SETTLED_ROOTS), "expiry"].unique()
    am_dates = {pd.Timestamp(d).date() for d in am}
    as_of = chain.as_of
    local_date = as_of.date()
    expiries = tuple(chain.expiries)
    return ExpiryFacts(
        expiries=expiries,
        as_of=local_date,
        monthlies=tuple(monthly_expiries(expiries, am_settled=am_dates, deribit=is_deribit(chain))),
    )


@functools.lru_cache(maxsize=64)
def _facts(entry_id: str, mtime_ns: int, path: str) -> ExpiryFacts:
    del entry_id, mtime_ns  # cache key only
    return expiry_facts(load_path_cached(path))


def facts_for(entry: CatalogEntry) -> ExpiryFacts:
    """The (cached) expiry facts of a catalog entry; raises ChainDataError for a bad file."""
    if entry.broken:
        raise ChainDataError(str(entry.error or "unreadable file"), path=entry.path)
    entry_id, mtime = entry_key(entry)
    return _facts(entry_id, mtime, str(entry.path))


def conventions_for(catalog: Catalog, underlying: str | None) -> list[str]:
    """Dealer conventions offered for an underlying: ``book`` only when a positions file exists."""
    has_book = bool(underlying) and catalog.book_for(underlying) is not None
    return [c for c in CONVENTIONS if c != BOOK or has_book]


@dataclass(frozen=True)
class Scenario:
    """Everything besides the entry and the expiry set that changes the numbers (hashable)."""

    convention: str = "dealer-long-calls"
    shock_pct: float = 20.0
    horizon_days: float = 0.0
    vol_shift_pts: float = 0.0
    spot_vol_beta: float = 0.0
    term_only: bool = False  # all expiries on a minimal grid: only the term structure is used
    kpi_only: bool = False  # the previous snapshot: hedge flows at the KPI shocks only, no extra horizon

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> Scenario:
        vol, volv = state.get("vol"), float(state.get("volv") or 0.0)
        return cls(
            convention=str(state.get("conv") or "dealer-long-calls"),
            shock_pct=float(state.get("shock") or 20.0),
            horizon_days=float(state.get("h") or 0.0),
            vol_shift_pts=volv if vol == "shift" else 0.0,
            spot_vol_beta=volv if vol == "beta" else 0.0,
        )

    @property
    def compare_horizons(self) -> tuple[float, ...]:
        """At +1 day the hedging view also draws the curve for now (the gap at 0% is the charm flow)."""
        return (0.0,) if self.horizon_days and not self.kpi_only else ()

    @property
    def shocks(self) -> tuple[float, ...]:
        if self.kpi_only:
            return KPI_SHOCKS_PCT
        n = int(round(self.shock_pct))
        return tuple(float(x) for x in range(-n, n + 1))


@functools.lru_cache(maxsize=48)
def _analysis(root: str, entry_id: str, mtime_ns: int, expiries: tuple[str, ...] | None,
              scenario: Scenario) -> Analysis:
    del mtime_ns  # part of the cache key only
    catalog = get_catalog(root)
    entry = catalog.get(entry_id)
    if entry is None:
        raise ChainDataError(f"snapshot {entry_id!r} is no longer in the data folder")
    chain = load_chain(entry)
    if scenario.convention == BOOK:
        chain = with_book(catalog, chain)
    if scenario.term_only:  # smallest grid, no curves
        return analyze(chain, expiries=list(expiries) if expiries else None, convention=scenario.convention,
                       shocks_pct=(0.0,), grid_points=3)
    return analyze(
        chain,
        expiries=list(expiries) if expiries else None,
        convention=scenario.convention,
        shocks_pct=scenario.shocks,
        horizon_days=scenario.horizon_days,
        compare_horizons_days=scenario.compare_horizons,
        vol_shift_pts=scenario.vol_shift_pts,
        spot_vol_beta=scenario.spot_vol_beta,
    )


@functools.lru_cache(maxsize=16)
def _term_analysis(root: str, entry_id: str, mtime_ns: int, convention: str) -> Analysis:
    """All expiries, a minimal grid: only the vega term structure of it is used (it depends on
    neither the expiry filter nor the shock/vol scenario, so it is cached per convention)."""
    return _analysis(root, entry_id, mtime_ns, None, Scenario(convention=convention, term_only=True))


def with_book(catalog: Catalog, chain: OptionChain) -> OptionChain:
    """The chain with the desk's positions file applied (the ``book`` convention)."""
    book = catalog.book_for(chain.underlying)
    if book is None:
        raise ChainDataError(f"no positions file for {chain.underlying}: the book convention needs one")
    return apply_book(chain, load_book_cached(book.path), source=book.path)


def analysis_for(data_dir: str | Path | None, entry: CatalogEntry, expiries: list[str] | None,
                 scenario: Scenario) -> Analysis:
    """The (cached) analysis of one entry for an expiry set (None = all) and a scenario."""
    root = str(resolve_data_dir(data_dir))
    entry_id, mtime = entry_key(entry)
    key = tuple(sorted(expiries)) if expiries else None
    return _analysis(root, entry_id, mtime, key, scenario)


def term_analysis_for(data_dir: str | Path | None, entry: CatalogEntry, scenario: Scenario) -> Analysis:
    """A cheap all-expiry analysis for the term-structure view (the one shared by every filter)."""
    root = str(resolve_data_dir(data_dir))
    entry_id, mtime = entry_key(entry)
    return _term_analysis(root, entry_id, mtime, scenario.convention)


def clear_caches() -> None:
    """Forget every cached catalog and analysis (benchmarks measure the cold path with this)."""
    _catalog.cache_clear()
    _analysis.cache_clear()
    _term_analysis.cache_clear()
    _facts.cache_clear()
    clear_cache()
