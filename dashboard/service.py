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

from analytics import conventions
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


def resolve_data_dir(data_dir: str | Path | None) -> Path:
    """The folder to scan: the one given, else the analytics default."""
    return Path(data_dir) if data_dir else Path(default_data_dir())


def get_catalog(data_dir: str | Path | None) -> Catalog:
    """The catalog of ``data_dir`` from its process-wide holder: rescanned at most every few seconds
    (``MMPOS_RESCAN_SECONDS``), never walked per request, and never lost to one unreadable file; plus the
    files dropped into the page this session when the folder is read-only (dashboard.uploads)."""
    from dashboard.uploads import with_session_uploads

    return with_session_uploads(holder_for(resolve_data_dir(data_dir)).get())


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


def previous_entry(catalog: Catalog, entry: CatalogEntry) -> CatalogEntry | None:
    """The snapshot of the same underlying just before ``entry`` (None for the first one)."""
    return catalog.previous(entry)


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
    return analyze(chain, scenario)


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


def kpi_analysis_for(data_dir: str | Path | None, entry: CatalogEntry, scenario: Scenario) -> Analysis:
    """The previous snapshot's comparison: hedge flows at the KPI shocks only, no extra horizon."""
    return analysis_for(data_dir, entry, scenario.replace(shocks_pct=KPI_SHOCKS_PCT, compare_horizons_days=()))


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
    return analyze(chain, scenario)


# --------------------------------------------------------------------------- the morning report

REPORT_HISTORY_SNAPSHOTS = 20  # snapshots the report's history charts cover


def report_scenario(scenario: Scenario) -> Scenario:
    """``scenario`` with what the key levels need: the -2..+2% shocks and a curve one day later."""
    from analytics.levels import CHARM_HORIZON_DAYS, REQUIRED_SHOCKS_PCT

    shocks = tuple(sorted(set(scenario.shocks_pct) | set(REQUIRED_SHOCKS_PCT)))
    horizons = scenario.compare_horizons_days
    if scenario.horizon_days != CHARM_HORIZON_DAYS and CHARM_HORIZON_DAYS not in horizons:
        horizons = (*horizons, CHARM_HORIZON_DAYS)
    return scenario.replace(shocks_pct=shocks, compare_horizons_days=horizons)


def report_entry(data_dir: str | Path | None, underlying: str, snapshot: str | None = None) -> CatalogEntry:
    """The snapshot a report is about: ``snapshot`` (a catalog id) or the newest of ``underlying``."""
    catalog = get_catalog(data_dir)
    entry = catalog.get(snapshot) if snapshot else catalog.latest(underlying)
    if entry is None:
        what = f"snapshot {snapshot!r}" if snapshot else f"snapshot of {underlying!r}"
        known = ", ".join(catalog.underlyings()) or "none"
        raise ChainDataError(f"no {what} in the data folder (underlyings: {known})")
    if (entry.underlying or "").upper() != underlying.upper():
        raise ChainDataError(f"snapshot {entry.id!r} is of {entry.underlying}, not {underlying}")
    return entry


@functools.cache
def _plotly_js() -> str:
    from dashboard.app import PLOTLY_BUNDLE  # the page's own plotly.js bundle, inlined once

    return PLOTLY_BUNDLE.read_text(encoding="utf-8")


def report_for(data_dir: str | Path | None, entry: CatalogEntry, scenario: Scenario, *, generated_at: str,
               history_last: int | None = REPORT_HISTORY_SNAPSHOTS, sync_history: bool = True) -> str:
    """``mmpos report`` and the page's "Download report": the self-contained HTML of one snapshot.

    Key levels with changes against the previous snapshot (same expiries where still live), the three
    views, the history charts from the history store, conventions and notes
    (:mod:`dashboard.report_html`). Raises ChainDataError for an unreadable snapshot.

    ``sync_history=False`` (the page) draws the history the store holds now instead of first
    summarising every new or changed file of the folder (seconds per file; ``mmpos backfill`` or the
    History tab fill it); the notes say when that history is empty.
    """
    from analytics.history import open_store
    from analytics.levels import key_levels
    from dashboard.report_html import ReportInputs, render_report

    scenario = report_scenario(scenario)
    current = analysis_for(data_dir, entry, scenario)
    full = current if scenario.expiries is None else term_analysis_for(data_dir, entry, scenario)
    notes: list[str] = []
    previous = None
    prev_entry = previous_entry(get_catalog(data_dir), entry)
    if prev_entry is not None and not prev_entry.broken:
        try:
            prev_scenario = scenario
            if scenario.expiries is not None:
                live = set(facts_for(prev_entry).expiries)
                prev_scenario = scenario.replace(expiries=[d for d in scenario.expiries if d in live] or None)
            if prev_scenario.expiries is None and scenario.expiries is not None:
                notes.append("no change column: none of the selected expiries was live in the previous snapshot")
            else:
                previous = analysis_for(data_dir, prev_entry, prev_scenario)
        except ChainDataError as err:
            notes.append(f"no change column: previous snapshot not comparable ({err.reason})")
    try:
        levels = key_levels(current, previous)
    except ValueError as err:  # e.g. the previous snapshot is of another convention
        notes.append(f"no change column: {err}")
        levels = key_levels(current)
    with open_store(resolve_data_dir(data_dir)) as store:
        history = store.history(current.underlying, history_last, refresh=sync_history)
        if store.note:
            notes.append(f"history: {store.note}")
    if history.empty:
        notes.append("no history charts: the history store holds no snapshot of this underlying yet "
                     "(run mmpos backfill)")
    return render_report(ReportInputs(
        current=current, full=full, levels_text=levels.to_text(), history=history if not history.empty else None,
        source_name=entry.path.name, generated_at=generated_at, plotly_js=_plotly_js(), notes=tuple(notes)))


def clear_caches() -> None:
    """Forget every cached catalog and analysis (benchmarks measure the cold path with this)."""
    forget_holders()
    _analysis.cache_clear()
    _facts.cache_clear()
    clear_cache()
