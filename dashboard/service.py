"""The use cases shared by the page and the command line: load a snapshot, analyse it under a
:class:`~analytics.scenario.Scenario`, find the previous snapshot, list the catalog.

Callbacks and ``mmpos analyze``/``mmpos list`` call these; none of them imports Dash. Every cache is
bounded and keyed by immutable values that include the file's content version
(:class:`analytics.catalog.FileVersion`), so a changed file is re-read and nothing cached is mutated.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from analytics import conventions, levels
from analytics.adv import load_adv
from analytics.catalog import (
    Catalog,
    CatalogEntry,
    FileVersion,
    clear_cache,
    default_data_dir,
    file_version,
    forget_holders,
    holder_for,
    load_book_cached,
    load_entry,
    load_path_cached,
)
from analytics.chain import AM_SETTLED_ROOTS, OptionChain
from analytics.errors import ChainDataError, ScenarioError
from analytics.report import Analysis, analyze
from analytics.scenario import Scenario
from analytics.sources.book import apply_book, load_book
from dashboard.state import monthly_expiries, preset_expiries

KPI_SHOCKS_PCT: tuple[float, ...] = (-5.0, -1.0, 1.0, 5.0)  # the KPI strip's hedge-flow shocks
PREVIOUS_MAX_AGE_DAYS = 7  # an older "previous snapshot" is not yesterday: no change is shown
TESTNET_MARK = "testnet"  # in a file name: the snapshot comes from an exchange's test network


def resolve_data_dir(data_dir: str | Path | None) -> Path:
    """The folder to scan: the one given, else the analytics default."""
    return Path(data_dir) if data_dir else Path(default_data_dir())


def get_catalog(data_dir: str | Path | None) -> Catalog:
    """The catalog of ``data_dir`` from its process-wide holder: rescanned at most every few seconds
    (``MMPOS_RESCAN_SECONDS``), never walked per request, and never lost to one unreadable file."""
    return holder_for(resolve_data_dir(data_dir)).get()


def entry_key(entry: CatalogEntry) -> tuple[str, FileVersion | None]:
    """Cache key of an entry: its id and the file's content version (size, mtime, inode, ctime), read
    now, so a file replaced with its mtime kept (``cp -p``) gets new numbers."""
    return (str(entry.id), file_version(entry.path))


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
def _facts(entry_id: str, version: FileVersion | None, path: str) -> ExpiryFacts:
    del entry_id, version  # cache key only
    return expiry_facts(load_path_cached(path))


def facts_for(entry: CatalogEntry) -> ExpiryFacts:
    """The (cached) expiry facts of a catalog entry; raises ChainDataError for a bad file."""
    if entry.broken:
        raise ChainDataError(str(entry.error or "unreadable file"), path=entry.path)
    entry_id, mtime = entry_key(entry)
    return _facts(entry_id, mtime, str(entry.path))


def conventions_for(catalog: Catalog, underlying: str | None) -> list[str]:
    """Dealer conventions offered for an underlying: those needing a positions file only when one exists."""
    has_book = bool(underlying) and catalog.book_for(underlying) is not None
    return [c.name for c in conventions.REGISTRY if has_book or conventions.POSITIONS not in c.needs]


def source_kind(entry: CatalogEntry) -> str:
    """``"testnet"`` for a snapshot from an exchange's test network, else ``"production"``.

    A test-network file (Deribit TESTNET: realistic prices, made-up open interest) looks like a
    production one inside, so its name says it (``..._TESTNET.csv``).

    Examples
    --------
    >>> from pathlib import Path
    >>> e = CatalogEntry("x", Path("/d/deribit_btc_book_summary_2024-03-12_TESTNET.csv"), None, "BTC", None, None, 0, 0)
    >>> source_kind(e)
    'testnet'
    """
    return "testnet" if TESTNET_MARK in Path(entry.path).name.lower() else "production"


@dataclass(frozen=True)
class PreviousSnapshot:
    """The snapshot a view compares with, or why there is none (``note``, for the page)."""

    entry: CatalogEntry | None
    note: str | None = None


def find_previous(catalog: Catalog, entry: CatalogEntry,
                  max_age_days: int = PREVIOUS_MAX_AGE_DAYS) -> PreviousSnapshot:
    """The one rule for "the previous snapshot": the newest readable snapshot older than ``entry`` of
    the same underlying and the same source kind (:func:`source_kind`: a test-network file is never
    yesterday for a production one), at most ``max_age_days`` calendar days older.

    Used by the KPI changes, the key levels, the previous-net line and the change-by-strike view alike.
    """
    if not entry.is_snapshot or entry.as_of is None:
        return PreviousSnapshot(None)
    kind = source_kind(entry)
    older = [e for e in catalog.snapshots(entry.underlying)
             if e.as_of is not None and e.as_of < entry.as_of and source_kind(e) == kind]
    if not older:
        return PreviousSnapshot(None)  # the first snapshot of its kind: nothing to say
    newest = max(older, key=lambda e: e.as_of)
    age = (entry.as_of.date() - newest.as_of.date()).days
    if age > max_age_days:
        return PreviousSnapshot(None, f"no recent previous snapshot (the newest, {newest.as_of:%Y-%m-%d}, is "
                                      f"{age} days older; at most {max_age_days})")
    return PreviousSnapshot(newest)


def previous_entry(catalog: Catalog, entry: CatalogEntry) -> CatalogEntry | None:
    """The snapshot ``entry`` is compared with (:func:`find_previous`), or None."""
    return find_previous(catalog, entry).entry


@functools.lru_cache(maxsize=48)
def _analysis(root: str, entry_id: str, version: FileVersion | None, scenario: Scenario) -> Analysis:
    del version  # part of the cache key only
    catalog = get_catalog(root)
    entry = catalog.get(entry_id)
    if entry is None:
        raise ChainDataError(f"snapshot {entry_id!r} is no longer in the data folder")
    chain = load_chain(entry)
    if conventions.POSITIONS in conventions.get(scenario.convention).needs:
        chain = with_book(catalog, chain)
    return with_adv(analyze(chain, scenario), root)


def with_adv(analysis: Analysis, data_dir: str | Path | None) -> Analysis:
    """The analysis with its underlying's average daily volume from the data folder's ``adv.toml``
    (:mod:`analytics.adv`); a broken file's warning joins the analysis' warnings, never an error."""
    table = load_adv(resolve_data_dir(data_dir))
    adv = table.get(analysis.underlying)
    return dataclasses.replace(analysis, adv_units=adv.adv_units if adv else None,
                               warnings=list(analysis.warnings) + list(table.warnings))


def with_book(catalog: Catalog, chain: OptionChain) -> OptionChain:
    """The chain with the desk's positions file applied (conventions that need one, e.g. ``book``)."""
    book = catalog.book_for(chain.underlying)
    if book is None:
        raise ChainDataError(f"no positions file for {chain.underlying}: the book convention needs one")
    return apply_book(chain, load_book_cached(book.path), source=book.path)


def analysis_for(data_dir: str | Path | None, entry: CatalogEntry, scenario: Scenario) -> Analysis:
    """The (cached) analysis of one entry under ``scenario``; the cache key is the file version and
    the whole scenario.

    A scenario this chain cannot take (a vol shift below minus its lowest IV) is replaced by the
    nearest valid one, and the refusal leads the analysis' warnings, so the page keeps serving.
    """
    root = str(resolve_data_dir(data_dir))
    entry_id, mtime = entry_key(entry)
    try:
        return _analysis(root, entry_id, mtime, scenario)
    except ScenarioError as err:
        if err.nearest is None:
            raise
        analysis = _analysis(root, entry_id, mtime, err.nearest)
        return dataclasses.replace(analysis, warnings=[f"{err}; showing the nearest valid value"]
                                   + list(analysis.warnings))


def term_analysis_for(data_dir: str | Path | None, entry: CatalogEntry, scenario: Scenario) -> Analysis:
    """A cheap all-expiry analysis for the term-structure view (shared by every expiry filter and
    shock/vol scenario: only the convention and the pricing inputs matter to it)."""
    minimal = scenario.replace(expiries=None, max_dte=None, shocks_pct=(0.0,), horizon_days=0.0,
                               compare_horizons_days=(), vol_shift_pts=0.0, spot_vol_beta=0.0, grid_points=3)
    return analysis_for(data_dir, entry, minimal)


def levels_scenario(scenario: Scenario) -> Scenario:
    """``scenario`` plus what the key levels read (:mod:`analytics.levels`): the -2..+2% shocks and the
    +1 day hedge curve (the charm flow into the close). Unchanged when it already has them."""
    shocks = tuple(sorted(set(scenario.shocks_pct) | set(levels.REQUIRED_SHOCKS_PCT)))
    horizons = {scenario.horizon_days, *scenario.compare_horizons_days}
    extra = () if levels.CHARM_HORIZON_DAYS in horizons else (levels.CHARM_HORIZON_DAYS,)
    if shocks == tuple(scenario.shocks_pct) and not extra:
        return scenario
    return scenario.replace(shocks_pct=shocks, compare_horizons_days=(*scenario.compare_horizons_days, *extra))


def view_analysis_for(data_dir: str | Path | None, entry: CatalogEntry, scenario: Scenario) -> Analysis:
    """The page's analysis of the selection: ``scenario`` with what the key levels need."""
    return analysis_for(data_dir, entry, levels_scenario(scenario))


def kpi_analysis_for(data_dir: str | Path | None, entry: CatalogEntry, scenario: Scenario) -> Analysis:
    """The previous snapshot's comparison: hedge flows at the KPI shocks and what the key levels need."""
    return analysis_for(data_dir, entry, levels_scenario(scenario.replace(shocks_pct=KPI_SHOCKS_PCT,
                                                                          compare_horizons_days=())))


def resolve_chain_path(path_or_id: str | Path, data_dir: str | Path | None = None) -> Path:
    """A chain file given as a path or as a catalog id (looked up in ``data_dir``)."""
    path = Path(path_or_id)
    if path.exists():
        return path
    from analytics import catalog

    return catalog.resolve(path_or_id, resolve_data_dir(data_dir))


def analyze_path(path_or_id: str | Path, scenario: Scenario, *, data_dir: str | Path | None = None,
                 book: str | Path | None = None) -> Analysis:
    """``mmpos analyze``: one file (or catalog id), optionally with a positions file, under ``scenario``."""
    from analytics.sources import load_chain as load_file

    chain = load_file(resolve_chain_path(path_or_id, data_dir), multiplier=scenario.multiplier)
    if book is not None:
        chain = apply_book(chain, load_book(book))
    return with_adv(analyze(chain, scenario), data_dir)


def clear_caches() -> None:
    """Forget every cached catalog and analysis (benchmarks measure the cold path with this)."""
    forget_holders()
    _analysis.cache_clear()
    _facts.cache_clear()
    clear_cache()
