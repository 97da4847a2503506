"""The use cases shared by the page and the command line: load a snapshot, analyse it under a
:class:`~analytics.scenario.Scenario`, find the previous snapshot, list the catalog.

Callbacks and ``mmpos analyze``/``mmpos list`` call these; none of them imports Dash. Every cache is
bounded and keyed by immutable values that include the file's content version
(:class:`analytics.catalog.FileVersion`), so a changed file is re-read and nothing cached is mutated.

An analysis is looked up in three places, cheapest first:

1. this process's LRU (:data:`ANALYSIS_MEMORY_ENTRIES` analyses, a few MB at most);
2. the shared cache every worker sees (:class:`dashboard.runtime.cache.SharedCache`: a folder under
   ``MMPOS_CACHE_DIR`` by default, Redis when ``MMPOS_REDIS_URL`` is set; off with
   ``MMPOS_SHARED_CACHE=off``), under :func:`analysis_cache_key`;
3. computed, then stored in both.

Computing one reuses the chain's prepared pricing inputs (levels, rates, carry and IVs of an expiry
selection: :func:`analytics.report.prepare_for`, 15-55 ms) from an LRU of
:data:`PREPARED_MEMORY_ENTRIES` keyed by the file version and :func:`analytics.report.preparation`
(the selection and pricing inputs), so another convention, shock grid, horizon or vol scenario of a
view costs the engine and the figures only.

A shared-cache hit costs reading and unpickling the analysis: 0.5-1.3 ms from the folder and 1-12 ms
from Redis for 76 KB-1.4 MB pickled (demo BTC to the real 20k-row SPX), against 21-225 ms to compute
it from a parsed chain (plus 40-200 ms to parse the file first; seconds on a loaded machine), so
every analysis is stored (``benchmarks/bench_cache.py`` measures it).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import hashlib
import json
import logging
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from analytics import conventions
from analytics import previous as prev_rule
from analytics import trades as trade_flow
from analytics.adv import load_adv
from analytics.calendars import EXPIRY_PRESETS, monthly_expiries, preset_expiries
from analytics.catalog import (
    Catalog,
    CatalogEntry,
    FileVersion,
    clear_cache,
    file_version,
    forget_holders,
    holder_for,
    load_book_cached,
    load_entry,
    load_path_cached,
    resolve_data_dir,
)
from analytics.chain import AM_SETTLED_ROOTS, OptionChain
from analytics.errors import ChainDataError, ScenarioError
from analytics.locks import ForkSafeLock
from analytics.prepare import PreparedChain
from analytics.report import Analysis, analyze, preparation, prepare_for
from analytics.scenario import Scenario
from analytics.sources.book import apply_book, load_book
from analytics.sources.common import confined_to
from dashboard.runtime import caches

if TYPE_CHECKING:
    from analytics.history_window import HistoryWindow
    from dashboard.runtime.cache import SharedCache

KPI_SHOCKS_PCT: tuple[float, ...] = (-5.0, -1.0, 1.0, 5.0)  # the KPI strip's hedge-flow shocks
PREVIOUS_MAX_AGE_DAYS = prev_rule.PREVIOUS_MAX_AGE_DAYS  # the rule's own (analytics.previous)
TESTNET_MARK = "testnet"  # in a file name: the snapshot comes from an exchange's test network
ANALYSIS_MEMORY_ENTRIES = 48  # analyses kept in each process in front of the shared cache (30 KB-2 MB each)
ANALYSIS_NAMESPACE = "analysis"  # the shared cache's key prefix for analyses
# prepared chains (an expiry selection's levels, rates, carry and IVs: analytics.report.prepare_for) kept
# in each process, shared by every convention, shock grid, horizon and vol scenario of that selection and
# those pricing inputs; 0.5-5 MB each (demo SPX all expiries ~1 MB, the real 20k-row SPX file ~4 MB)
PREPARED_MEMORY_ENTRIES = 8
# The cost model of one cold page analysis (:func:`estimated_cost_s`): the spot-grid revaluation dominates,
# rows x (grid points + shocks) x curves. The real 20,592-row SPX chain's opening view (642 x 3: 40 million
# row-points) took 0.33 s of CPU and 0.74 s of wall time on a loaded 2-core machine, its vol-beta view at
# +/-50% (80 million) 0.61 s and 1.15 s: 40 million row-points a second keeps a margin of about 1.5x over
# the loaded wall times. Parsing runs at about 100,000 rows a second (0.2 s idle for that chain). A process
# that measures slower uses its own figure (:func:`record_cost`), so the estimate follows the machine.
ROW_POINTS_PER_S = 40_000_000.0
PARSE_ROWS_PER_S = 100_000.0
# gross GEX per expiry of the snapshots views compare from (a few dozen floats each): at least one per
# underlying, or the watchlist's every visit re-prepares the chains past the 16th (issue 18: 20 underlyings)
GROSS_BY_EXPIRY_ENTRIES = 128

log = logging.getLogger(__name__)


def get_catalog(data_dir: str | Path | None, naming: str | None = None) -> Catalog:
    """The catalog of ``data_dir`` from its process-wide holder: rescanned at most every few seconds
    (``MMPOS_RESCAN_SECONDS``), never walked per request, and never lost to one unreadable file; plus the
    files dropped into the page this session when the folder is read-only (dashboard.uploads).

    ``naming``: the snapshot id the request names; when this process's last scan lacks it (a file
    another worker just stored) the folder is rescanned first
    (:meth:`analytics.catalog.CatalogHolder.get_naming`)."""
    from dashboard.uploads import with_session_uploads

    holder = holder_for(resolve_data_dir(data_dir))
    return with_session_uploads(holder.get_naming(naming) if naming else holder.get())


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
    round_the_clock: bool = False  # a market that never closes (Deribit): a session is a UTC day

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
        round_the_clock=is_deribit(chain),
    )


@functools.lru_cache(maxsize=64)
def _facts(entry_id: str, version: FileVersion | None, path: str, root: str) -> ExpiryFacts:
    del entry_id, version  # cache key only
    return expiry_facts(load_path_cached(path, root=root))


def facts_for(entry: CatalogEntry) -> ExpiryFacts:
    """The (cached) expiry facts of a catalog entry; raises ChainDataError for a bad file."""
    if entry.broken:
        raise ChainDataError(str(entry.error or "unreadable file"), path=entry.path)
    entry_id, mtime = entry_key(entry)
    return _facts(entry_id, mtime, str(entry.path), str(entry.root))


def conventions_for(catalog: Catalog, underlying: str | None) -> list[str]:
    """Dealer conventions offered for an underlying: those needing a positions file only when one exists,
    those needing trades only when a trades file of the underlying lies beside its newest snapshot."""
    has = set()
    if underlying and catalog.book_for(underlying) is not None:
        has.add(conventions.POSITIONS)
    newest = catalog.latest(underlying) if underlying else None
    if newest is not None and newest.underlying and trade_flow.trades_files_near(Path(newest.path).parent,
                                                                                  newest.underlying, newest.root):
        has.add(conventions.TRADES)
    return [c.name for c in conventions.REGISTRY if set(c.needs) <= has]


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
                  max_age_days: int = PREVIOUS_MAX_AGE_DAYS, *, basis: prev_rule.Basis = "day") -> PreviousSnapshot:
    """The previous snapshot of ``entry`` by the one rule (:func:`analytics.previous.choose_previous`):
    same underlying and source kind (:func:`source_kind`), an earlier session, at most ``max_age_days``
    older, listing the expiries of at least ``PREVIOUS_MIN_COVERAGE`` of today's gross GEX.
    ``basis="intraday"``: the snapshot before it in the same session instead (intraday changes).

    Used by the KPI changes, the key levels, the previous-net line, the change-by-strike view and
    ``mmpos report`` alike.
    """
    if not entry.is_snapshot or entry.as_of is None:
        return PreviousSnapshot(None)
    kind = source_kind(entry)
    older = [e for e in catalog.snapshots(entry.underlying)
             if e.as_of is not None and e.as_of < entry.as_of and source_kind(e) == kind]
    if not older:
        return PreviousSnapshot(None)  # the first snapshot of its kind: nothing to say
    try:
        round_the_clock = facts_for(entry).round_the_clock
    except ChainDataError:
        return PreviousSnapshot(None)
    by_key = {str(e.id): e for e in older}

    def snapshot(e: CatalogEntry) -> prev_rule.Snapshot:
        return prev_rule.Snapshot(str(e.id), e.underlying or "", kind, e.as_of,
                                  prev_rule.session_date(e.as_of, round_the_clock=round_the_clock))

    def coverage_of(key: str) -> float:
        try:
            return prev_rule.coverage(gross_by_expiry(entry), facts_for(by_key[key]).expiries)
        except ChainDataError:
            return 0.0  # an unreadable file compares with nothing

    choice = prev_rule.choose_previous(snapshot(entry), [snapshot(e) for e in older], coverage_of,
                                       max_age_days=max_age_days, basis=basis)
    return PreviousSnapshot(by_key[choice.key] if choice.key is not None else None, choice.note)


@functools.lru_cache(maxsize=GROSS_BY_EXPIRY_ENTRIES)
def _gross_by_expiry(entry_id: str, version: FileVersion | None, path: str) -> dict[dt.date, float]:
    del entry_id, version  # cache key only
    return prev_rule.prepared_gross_by_expiry(prepare_for(load_path_cached(path), Scenario()))


def gross_by_expiry(entry: CatalogEntry) -> dict[dt.date, float]:
    """Gross GEX per expiry of a snapshot under the default model (cached per file version): what the
    previous-snapshot rule's coverage weighs expiries by."""
    if entry.broken:
        raise ChainDataError(str(entry.error or "unreadable file"), path=entry.path)
    entry_id, version = entry_key(entry)
    return _gross_by_expiry(entry_id, version, str(entry.path))


def previous_entry(catalog: Catalog, entry: CatalogEntry, *, basis: prev_rule.Basis = "day") -> CatalogEntry | None:
    """The snapshot ``entry`` is compared with (:func:`find_previous`), or None."""
    return find_previous(catalog, entry, basis=basis).entry


def session_groups(catalog: Catalog, underlying: str | None) -> list[tuple[dt.date, list[CatalogEntry]]]:
    """The underlying's readable snapshots grouped by session, as ``(session date, entries)``
    (:func:`analytics.previous.session_groups`; newest first within a group and between groups): what
    the page lists as one "day". The session
    rule (NYSE session or UTC day) is the newest snapshot's, as :func:`find_previous` uses the current one's."""
    entries = [e for e in catalog.snapshots(underlying) if e.as_of is not None]
    if not entries:
        return []
    try:
        round_the_clock = facts_for(max(entries, key=lambda e: e.as_of)).round_the_clock
    except ChainDataError:  # the rule is unknown: each snapshot on its own line
        return [(e.as_of.date(), [e]) for e in sorted(entries, key=lambda e: e.as_of, reverse=True)]
    by_key = {str(e.id): e for e in entries}
    snaps = [prev_rule.Snapshot(str(e.id), e.underlying or "", source_kind(e), e.as_of,
                                _session_of(e.as_of, round_the_clock)) for e in entries]
    return [(group[0].session, [by_key[s.key] for s in group]) for group in prev_rule.session_groups(snaps)]


@functools.lru_cache(maxsize=4096)
def _session_of(as_of: pd.Timestamp, round_the_clock: bool) -> dt.date:
    return prev_rule.session_date(as_of, round_the_clock=round_the_clock)


# --------------------------------------------------------------------------- the shared cache

_UNSET = object()
_shared: object = _UNSET
_shared_lock = ForkSafeLock()  # a forked job gets its own


def shared_cache() -> SharedCache | None:
    """This process's :class:`~dashboard.runtime.cache.SharedCache`, built from the ``MMPOS_*`` environment on
    first use (so in each worker, after gunicorn forks), or None when ``MMPOS_SHARED_CACHE=off``."""
    global _shared
    with _shared_lock:
        if _shared is _UNSET:
            from dashboard.runtime import config
            from dashboard.runtime.cache import SharedCache

            try:
                settings = config.from_env()
            except config.UnsafeConfigError as err:  # mmpos serve refused it already; a library user goes on
                log.warning("shared cache off: %s", err)
                _shared = None
            else:
                _shared = SharedCache(settings) if settings.shared_cache else None
        return _shared  # type: ignore[return-value]


def use_shared_cache(cache: SharedCache | None) -> None:
    """Use ``cache`` (None: no shared cache) from now on in this process; forgets the analyses in memory."""
    global _shared
    with _shared_lock:
        _shared = cache
    _analysis.cache_clear()


@functools.cache
def code_version() -> str:
    """A digest of the analytics source code: results cached by another version are never read."""
    package = Path(__file__).resolve().parents[1] / "analytics"
    digest = hashlib.sha256()
    for path in sorted(package.rglob("*.py")):
        digest.update(path.relative_to(package).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def analysis_cache_key(entry_id: str, version: FileVersion | None, book_version: FileVersion | None,
                       scenario: Scenario) -> str:
    """The shared-cache key of one analysis: the snapshot id and file version, the positions file's
    version (conventions that read one), the whole Scenario (its ``to_dict`` as sorted JSON) and
    :func:`code_version`. The same in every process and on every machine.

    Examples
    --------
    >>> from analytics.catalog import FileVersion
    >>> v = FileVersion(10, 1, 2, 3)
    >>> analysis_cache_key("spx-1", v, None, Scenario()) == analysis_cache_key("spx-1", v, None, Scenario())
    True
    >>> analysis_cache_key("spx-1", v, None, Scenario()) == analysis_cache_key("spx-1", v, None, Scenario(rate=0.01))
    False
    """
    from dashboard.runtime.cache import cache_key

    scenario_json = json.dumps(scenario.to_dict(), sort_keys=True, default=str)
    return cache_key(ANALYSIS_NAMESPACE, code_version(), entry_id, tuple(version or ()), tuple(book_version or ()),
                     scenario_json)


class NotInKey:
    """Carries a value through ``functools.lru_cache`` without being part of the key (all compare
    equal): what a cached function computes from on a miss, e.g. the chain its other arguments name."""

    __slots__ = ("value",)

    def __init__(self, value: object) -> None:
        self.value = value

    def __hash__(self) -> int:
        return 0

    def __eq__(self, other: object) -> bool:
        return isinstance(other, NotInKey)


@functools.lru_cache(maxsize=ANALYSIS_MEMORY_ENTRIES)
def _analysis(root: str, entry_id: str, version: FileVersion | None, book_version: FileVersion | None,
              scenario: Scenario) -> Analysis:
    shared = shared_cache()
    if shared is None:
        return _compute_analysis(root, entry_id, version, book_version, scenario)
    return shared.get_or_compute(analysis_cache_key(entry_id, version, book_version, scenario),
                                 lambda: _compute_analysis(root, entry_id, version, book_version, scenario))


def _compute_analysis(root: str, entry_id: str, version: FileVersion | None, book_version: FileVersion | None,
                      scenario: Scenario) -> Analysis:
    catalog = get_catalog(root)
    entry = catalog.get(entry_id)
    if entry is None:
        raise ChainDataError(f"snapshot {entry_id!r} is no longer in the data folder")
    started = time.perf_counter()
    chain = _with_inputs(catalog, entry, load_chain(entry), scenario.convention)
    def prepare(s: Scenario) -> PreparedChain:  # the band's other treatments come from the same cache
        return _prepared(root, entry_id, version, book_version, preparation(s), NotInKey(chain))

    analysis = with_adv(analyze(chain, scenario, prepared=prepare(scenario), prepare=prepare), root)
    record_cost(entry, scenario, time.perf_counter() - started)
    _computed_here.add(analysis_cache_key(entry_id, version, book_version, scenario))
    return analysis


class _Measured:
    """What this process measured: the slowest recent seconds per unit of :func:`cost_units` (decaying
    towards new figures), and the keys of the analyses it computed (as many as it keeps in memory).

    Per worker: one float and at most ``ANALYSIS_MEMORY_ENTRIES`` keys of ~70 characters (< 10 KB)."""

    def __init__(self) -> None:
        self.lock = ForkSafeLock()
        self.seconds_per_unit = 0.0
        self.keys: dict[str, None] = {}

    def add(self, key: str) -> None:
        with self.lock:
            self.keys.pop(key, None)
            self.keys[key] = None
            while len(self.keys) > ANALYSIS_MEMORY_ENTRIES:
                del self.keys[next(iter(self.keys))]

    def __contains__(self, key: str) -> bool:
        return key in self.keys

    def clear(self) -> None:
        with self.lock:
            self.keys.clear()
            self.seconds_per_unit = 0.0


_computed_here = _Measured()
caches.register("dashboard.service.measured_costs", _computed_here.clear)


def cost_units(n_rows: int, scenario: Scenario) -> float:
    """Row-points one cold analysis of ``n_rows`` rows under ``scenario`` revalues: rows x grid points x
    curves (now, the horizon, each compared horizon, the key levels' +1 day), twice under a vol scenario
    (the IVs move with each grid point)."""
    curves = 2 + len(scenario.compare_horizons_days)
    vol = 2 if scenario.vol_shift_pts or scenario.spot_vol_beta else 1
    return float(n_rows) * (scenario.grid_points + len(scenario.shocks_pct)) * curves * vol


def record_cost(entry: CatalogEntry, scenario: Scenario, seconds: float) -> None:
    """Keep what one analysis cost in this process: the estimate of the next follows this machine."""
    units = cost_units(entry.n_rows, scenario) + entry.n_rows * ROW_POINTS_PER_S / PARSE_ROWS_PER_S
    if units <= 0:
        return
    observed = seconds / units
    old = _computed_here.seconds_per_unit
    _computed_here.seconds_per_unit = observed if observed > old else 0.8 * old + 0.2 * observed


def estimated_cost_s(entry: CatalogEntry, scenario: Scenario) -> float:
    """Seconds the page's cold analysis of ``entry`` under ``scenario`` is expected to take: parsing
    plus the spot-grid revaluation (:func:`cost_units`) at the slower of the model's rate and the one
    this process measured. An upper bound: every row of the file counts, whatever the expiry filter."""
    view = levels_scenario(scenario)
    rate = max(1.0 / ROW_POINTS_PER_S, _computed_here.seconds_per_unit)
    return (cost_units(entry.n_rows, view) + entry.n_rows * ROW_POINTS_PER_S / PARSE_ROWS_PER_S) * rate


def is_cached(data_dir: str | Path | None, entry: CatalogEntry, scenario: Scenario) -> bool:
    """True when the page's analysis of ``entry`` under ``scenario`` was computed by this process (and
    is likely still in its memory) or is in the shared cache."""
    key = _view_key(data_dir, entry, scenario)
    if key in _computed_here:
        return True
    shared = shared_cache()
    return shared is not None and shared.contains(key)


def being_computed(data_dir: str | Path | None, entry: CatalogEntry, scenario: Scenario) -> bool:
    """True while a background job (or the warmer) holds the claim on this view (:func:`claim_background`)."""
    shared = shared_cache()
    return shared is not None and shared.contains(f"job:{_view_key(data_dir, entry, scenario)}")


def over_budget(data_dir: str | Path | None, entry: CatalogEntry, scenario: Scenario,
                budget_s: float | None) -> float | None:
    """The estimated seconds (:func:`estimated_cost_s`) when the page's analysis of ``entry`` under
    ``scenario`` is not cached, no job is computing it, and it would take more than ``budget_s``
    (``MMPOS_REQUEST_BUDGET_S``); else None (go ahead). None budget: no limit."""
    if budget_s is None or entry.broken:
        return None
    cost = max(estimated_cost_s(entry, scenario), measured_too_slow(data_dir, entry, scenario))
    if cost <= budget_s or is_cached(data_dir, entry, scenario) or being_computed(data_dir, entry, scenario):
        return None
    return cost


def too_many_expiries(entry: CatalogEntry, expiries: Iterable[Any] | None) -> str | None:
    """Why a request naming ``expiries`` is refused before any date is read: it names more than the
    snapshot lists (one line), else None."""
    named = len(expiries) if isinstance(expiries, list | tuple) else 0
    if entry.n_expiries and named > entry.n_expiries:
        return (f"the view names {named:,} expiries; this snapshot lists {entry.n_expiries:,} "
                "(a request may name each at most once)")
    return None


def mark_too_slow(data_dir: str | Path | None, entry: CatalogEntry, scenario: Scenario, seconds: float) -> None:
    """Keep in the shared cache that the page's analysis of this view ran ``seconds`` without finishing
    (a background job stopped at its time limit): :func:`over_budget` then refuses it in a request too."""
    shared = shared_cache()
    if shared is not None:
        shared.add(f"slow:{_view_key(data_dir, entry, scenario)}", float(seconds))


def measured_too_slow(data_dir: str | Path | None, entry: CatalogEntry, scenario: Scenario) -> float:
    """Seconds a stopped job ran on this view without finishing (:func:`mark_too_slow`), else 0."""
    shared = shared_cache()
    if shared is None:
        return 0.0
    value = shared.get(f"slow:{_view_key(data_dir, entry, scenario)}")
    return float(value) if isinstance(value, int | float) else 0.0


def release_background(data_dir: str | Path | None, entry: CatalogEntry, scenario: Scenario) -> None:
    """Drop the claim of :func:`claim_background` (a job stopped before it stored the result)."""
    shared = shared_cache()
    if shared is not None:
        shared.delete(f"job:{_view_key(data_dir, entry, scenario)}")


@functools.lru_cache(maxsize=PREPARED_MEMORY_ENTRIES)
def _prepared(root: str, entry_id: str, version: FileVersion | None, book_version: FileVersion | None,
              prep: Scenario, chain: NotInKey) -> PreparedChain:
    """The prepared inputs of one file version (and positions file version, for the conventions that
    read one) under one :func:`~analytics.report.preparation` (expiry selection and pricing inputs);
    ``chain`` carries that file's chain. Shared (read-only) by the analyses of every other scenario field."""
    del root, entry_id, version, book_version  # the cache key
    prepared = prepare_for(chain.value, prep)
    for field in dataclasses.fields(prepared):  # shared by many analyses: no array changed in place
        value = getattr(prepared, field.name)
        if isinstance(value, np.ndarray):
            value.flags.writeable = False
    return prepared


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
    return apply_book(chain, load_book_cached(book.path, root=book.root), source=book.path)


@functools.lru_cache(maxsize=64)
def _trades_file(path: str, version: FileVersion | None, root: str) -> trade_flow.TradesFile:
    del version  # cache key only
    with confined_to(root):
        return trade_flow.read_trades_file(path)


def trades_flow(folder: str | Path, chain: OptionChain, root: str | Path | None = None) -> trade_flow.Flow:
    """The dealer flow of ``chain`` from the trades files in ``folder`` (the snapshot's own folder) and
    the folders above it up to ``root`` (the data folder):
    trades after the open interest (the last 08:00 UTC settlement, :func:`analytics.trades.oi_time_ns`)
    up to the snapshot, each once. ChainDataError saying what is missing when no file covers that."""
    folder = Path(folder)
    files = [_trades_file(str(p), file_version(p), str(root or folder))
             for p in trade_flow.trades_files_near(folder, chain.underlying, root)]
    end_ns = int(pd.Timestamp(chain.as_of).as_unit("ns").value)
    return trade_flow.flow_for(files, chain.underlying, trade_flow.oi_time_ns(chain.as_of), end_ns)


def with_trades(folder: str | Path, chain: OptionChain, root: str | Path | None = None) -> OptionChain:
    """The chain with each row's dealer flow since the open interest (conventions needing ``TRADES``)."""
    return trade_flow.apply_flow(chain, trades_flow(folder, chain, root))


@dataclass(frozen=True)
class FlowComparison:
    """The key levels under the OI convention the flow-inferred model starts from and under the model,
    for one view (:func:`flow_comparison`); ``message`` says why the model has no numbers here."""

    base: Analysis
    flow: Analysis | None
    share: float | None  # sum |dealer flow| / sum open interest over the snapshot's series (gross)
    trades: int
    start: pd.Timestamp | None
    end: pd.Timestamp | None
    message: str | None = None


def flow_comparison(data_dir: str | Path | None, entry: CatalogEntry, scenario: Scenario) -> FlowComparison | None:
    """The OI convention (``DEFAULT_CONVENTION``, the flow-inferred model's base) and the flow-inferred
    model side by side for ``entry`` under ``scenario`` (its expiries and shocks; the key levels' needs
    added); None when no trades file of the underlying lies beside the snapshot (nothing to compare)."""
    if entry.broken or not entry.underlying:
        return None
    folder = Path(entry.path).parent
    if not trade_flow.trades_files_near(folder, entry.underlying, entry.root):
        return None
    base = view_analysis_for(data_dir, entry, scenario.replace(convention=conventions.DEFAULT_CONVENTION))
    try:
        flow = trades_flow(folder, load_chain(entry), entry.root)
        model = view_analysis_for(data_dir, entry, scenario.replace(convention=conventions.FLOW_INFERRED))
    except ChainDataError as err:
        return FlowComparison(base, None, None, 0, None, None, err.message)
    chain = load_chain(entry)
    per_row, _missing = trade_flow.flow_on_rows(chain.rows, flow.by_series)
    share = trade_flow.explained_share(chain.rows["open_interest"].to_numpy(float), per_row)
    return FlowComparison(base, model, share, len(flow.tape), pd.Timestamp(flow.start_ns, tz="UTC"),
                          pd.Timestamp(flow.end_ns, tz="UTC"))


def _with_inputs(catalog: Catalog, entry: CatalogEntry, chain: OptionChain, convention: str) -> OptionChain:
    """The chain with what ``convention`` needs beyond it: the positions file, or the trades beside it."""
    needs = conventions.get(convention).needs
    if conventions.POSITIONS in needs:
        chain = with_book(catalog, chain)
    if conventions.TRADES in needs:
        chain = with_trades(Path(entry.path).parent, chain, entry.root)
    return chain


def _book_version(root: str, entry: CatalogEntry, scenario: Scenario) -> FileVersion | tuple[int, ...] | None:
    """The version of what the convention reads beside the snapshot (part of the cache keys): the
    positions file's, or every trades file's of the underlying in the snapshot's folder."""
    needs = conventions.get(scenario.convention).needs
    if not entry.underlying:
        return None
    if conventions.TRADES in needs:
        files = trade_flow.trades_files_near(Path(entry.path).parent, entry.underlying, entry.root)
        return tuple(x for p in files for x in (file_version(p) or (0,)))
    if conventions.POSITIONS not in needs:
        return None
    book = get_catalog(root).book_for(entry.underlying)
    return file_version(book.path) if book is not None else None


def analysis_for(data_dir: str | Path | None, entry: CatalogEntry, scenario: Scenario) -> Analysis:
    """The (cached) analysis of one entry under ``scenario``; the cache key is the file version and
    the whole scenario (and the positions file's version for the ``book`` convention).

    A scenario this chain cannot take (a vol shift below minus its lowest IV) is replaced by the
    nearest valid one, and the refusal leads the analysis' warnings, so the page keeps serving.

    The asked vol shift a scenario may carry (``asked_vol_shift_pts``: words only) is not part of the
    cache key: the analysis is computed without it, then says it.
    """
    root = str(resolve_data_dir(data_dir))
    entry_id, mtime = entry_key(entry)
    computed = scenario.replace(asked_vol_shift_pts=None) if scenario.asked_vol_shift_pts is not None else scenario
    try:
        analysis = _analysis(root, entry_id, mtime, _book_version(root, entry, computed), computed)
    except ScenarioError as err:
        nearest = err.nearest
        if not isinstance(nearest, Scenario):
            raise
        if scenario.asked_vol_shift_pts is not None:  # the first ask, not the value clamped before
            nearest = nearest.replace(asked_vol_shift_pts=scenario.asked_vol_shift_pts)
        analysis = _analysis(root, entry_id, mtime, _book_version(root, entry, nearest),
                             nearest.replace(asked_vol_shift_pts=None))
        return dataclasses.replace(analysis, scenario=nearest, warnings=[f"{err}; showing the nearest valid value"]
                                   + list(analysis.warnings))
    return analysis if computed is scenario else dataclasses.replace(analysis, scenario=scenario)


def applied_scenario(data_dir: str | Path | None, entry: CatalogEntry, scenario: Scenario) -> tuple[Scenario, str | None]:
    """The scenario the engine applies to ``entry``, and why it differs from ``scenario`` (None: as asked).

    The one chain-dependent clamp: a negative vol shift may not take the lowest IV the engine prices
    with (the selection's, after the IV policy) below ``MIN_IV_AFTER_SHIFT``
    (:meth:`analytics.scenario.Scenario.check_against`); the nearest valid scenario says what was asked
    (``asked_vol_shift_pts``). Reads the prepared inputs the analysis itself uses (cached), and only
    for a negative shift. The page calls it before the view is drawn, so the controls, the URL and the
    banner say what is drawn.
    """
    if scenario.vol_shift_pts >= 0 or entry.broken:
        return scenario, None
    root = str(resolve_data_dir(data_dir))
    entry_id, version = entry_key(entry)
    try:
        chain = _with_inputs(get_catalog(root), entry, load_chain(entry), scenario.convention)
        prepared = _prepared(root, entry_id, version, _book_version(root, entry, scenario), preparation(scenario),
                             NotInKey(chain))
        scenario.check_against(prepared.chain, iv=prepared.iv)
    except ScenarioError as err:  # (a ChainDataError too: first)
        if not isinstance(err.nearest, Scenario):
            return scenario, None  # not a clamp (e.g. a convention without its positions file): the main update says
        return err.nearest, str(err)
    except ChainDataError:
        return scenario, None  # the main update says what is wrong with the file
    return scenario, None


def _view_key(data_dir: str | Path | None, entry: CatalogEntry, scenario: Scenario) -> str:
    """The shared-cache key of :func:`view_analysis_for`'s analysis of ``entry`` under ``scenario``."""
    root = str(resolve_data_dir(data_dir))
    entry_id, version = entry_key(entry)
    view = levels_scenario(scenario)
    return analysis_cache_key(entry_id, version, _book_version(root, entry, view), view)


def is_cold(data_dir: str | Path | None, entry: CatalogEntry, scenario: Scenario) -> bool:
    """True when the page's analysis of ``entry`` under ``scenario`` (:func:`view_analysis_for`'s) is
    not in the shared cache yet (always False without a shared cache: a background job's result would
    have nowhere to go)."""
    shared = shared_cache()
    if shared is None or entry.broken:
        return False
    return not shared.contains(_view_key(data_dir, entry, scenario))


def claim_background(data_dir: str | Path | None, entry: CatalogEntry, scenario: Scenario) -> bool:
    """True for the first caller (in every worker) that asks to compute the page's analysis of ``entry``
    under ``scenario`` in the background (a page's job, or :mod:`dashboard.web.warm`) within
    ``COMPUTE_LOCK_S``; later callers wait for that computation instead of starting their own."""
    from dashboard.runtime.cache import COMPUTE_LOCK_S

    shared = shared_cache()
    if shared is None:
        return False
    return shared.add(f"job:{_view_key(data_dir, entry, scenario)}", 1, timeout_s=COMPUTE_LOCK_S)


def term_analysis_for(data_dir: str | Path | None, entry: CatalogEntry, scenario: Scenario) -> Analysis:
    """A cheap all-expiry analysis for the term-structure view (shared by every expiry filter and
    shock/vol scenario: only the convention and the pricing inputs matter to it)."""
    minimal = scenario.replace(expiries=None, max_dte=None, shocks_pct=(0.0,), horizon_days=0.0,
                               compare_horizons_days=(), vol_shift_pts=0.0, spot_vol_beta=0.0, grid_points=3)
    return analysis_for(data_dir, entry, minimal)


def levels_scenario(scenario: Scenario) -> Scenario:
    """``scenario`` plus what the key levels read (:mod:`analytics.levels`): the -2..+2% shocks and the
    +1 day hedge curve (the charm flow into the close). Unchanged when it already has them."""
    from analytics.levels import CHARM_HORIZON_DAYS, REQUIRED_SHOCKS_PCT  # not on mmpos analyze's path

    shocks = tuple(sorted(set(scenario.shocks_pct) | set(REQUIRED_SHOCKS_PCT)))
    horizons = {scenario.horizon_days, *scenario.compare_horizons_days}
    extra = () if CHARM_HORIZON_DAYS in horizons else (CHARM_HORIZON_DAYS,)
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


# --------------------------------------------------------------------------- a page view's selection and analyses
# The rules the page and the warmer (dashboard.web.warm) share: which snapshot, convention and expiries a
# view state names once made valid against the catalog, and the analyses that view draws. A view state is
# the page's dict (dashboard.web.state: ``u`` underlying, ``snap`` snapshot id, ``conv`` convention,
# ``preset`` expiry preset, ``exp`` ISO expiry dates); only those keys are read or written here.


@dataclass(frozen=True)
class ResolvedView:
    """A view state made valid against a catalog (:func:`resolve_view`)."""

    state: dict[str, Any]
    underlyings: list[str]
    entries: list[CatalogEntry]  # the underlying's snapshots, newest first
    conventions: list[str]  # the conventions offered for the underlying
    facts: ExpiryFacts | None  # the snapshot's expiries (None: no snapshot, or it could not be read)
    error: ChainDataError | None = None  # why the snapshot could not be read
    replaced: tuple[str, ...] = ()  # parts of the link (underlying, snapshot, convention) no longer valid


def resolve_view(state: Mapping[str, Any], catalog: Catalog, *,
                 preferred_underlying: str | None = None) -> ResolvedView:
    """Make a view state valid against the catalog and resolve its expiry preset. Pure given the catalog.

    An unknown underlying, snapshot or convention falls back to ``preferred_underlying`` (else the
    first), its newest readable snapshot and the first convention offered; ``replaced`` says which
    named value was replaced by what (a link that went bad). An unknown preset is ``all``. Custom dates
    no longer live are dropped (none left: all). A chain that fails to load leaves the expiry set empty
    and says why in ``error``.
    """
    s = dict(state)
    replaced: list[str] = []
    underlyings = list(catalog.underlyings())
    if s.get("u") not in underlyings:
        fallback = preferred_underlying if preferred_underlying in underlyings else (underlyings[0] if underlyings else None)
        if s.get("u"):
            replaced.append(f"underlying {str(s['u'])[:40]!r} is not in the data folder; showing {fallback}")
        s["u"] = fallback
    entries = list(catalog.snapshots(s["u"])) if s["u"] else []
    snap_ids = [str(e.id) for e in entries]
    if s.get("snap") not in snap_ids:
        readable = [e for e in entries if not e.broken]
        fallback = str((readable or entries)[0].id) if entries else None
        if s.get("snap") and not replaced:  # a replaced underlying drops its snapshot silently
            replaced.append(f"snapshot {str(s['snap'])[:60]!r} is not in the data folder for {s['u']}; "
                            f"showing the newest, {fallback}")
        s["snap"] = fallback
    offered = conventions_for(catalog, s["u"]) if s["u"] else [conventions.DEFAULT_CONVENTION]
    if s.get("conv") not in offered:
        if s.get("conv"):
            replaced.append(f"convention {str(s['conv'])[:40]!r} is not available for {s['u']}; "
                            f"showing {offered[0]}")
        s["conv"] = offered[0]
    if s.get("preset") not in EXPIRY_PRESETS:
        s["preset"] = "all"
    if not s["snap"]:
        s["exp"] = []
        return ResolvedView(s, underlyings, entries, offered, None, replaced=tuple(replaced))
    try:
        facts = facts_for(catalog.get(s["snap"]))
    except ChainDataError as err:
        return ResolvedView(s, underlyings, entries, offered, None, err, tuple(replaced))
    live = [d.isoformat() for d in facts.expiries]
    if s["preset"] == "custom":
        # one pass over the request against one set of the chain's dates, repeats dropped: at most the
        # chain's own count of expiries goes on, whatever the request names (never chain x request)
        live_set = set(live)
        asked = [d for d in (s.get("exp") or []) if isinstance(d, str)]
        keep = list(dict.fromkeys(d for d in asked if d in live_set))
        gone = list(dict.fromkeys(d for d in asked if d not in live_set))
        if gone:
            listed = ", ".join(gone[:3]) + (f" and {len(gone) - 3:,} more" if len(gone) > 3 else "")
            replaced.append(f"{listed} {'is not an expiry' if len(gone) == 1 else 'are not expiries'} of this "
                            f"snapshot; {'left out' if keep else 'showing every expiry'}")
        if keep:
            s["exp"] = keep
        else:
            s.update(preset="all", exp=live)
    if s["preset"] != "custom":
        s["exp"] = [d.isoformat() for d in facts.resolve(s["preset"])]
    return ResolvedView(s, underlyings, entries, offered, facts, replaced=tuple(replaced))


@dataclass(frozen=True)
class ViewAnalyses:
    """What one view draws: the selection's analysis (with what the key levels need) and the whole
    chain's (the term structure; the same object when the selection is every expiry)."""

    current: Analysis
    full: Analysis


def view_analyses(data_dir: str | Path | None, entry: CatalogEntry, scenario: Scenario) -> ViewAnalyses:
    """The analyses one view of ``entry`` under ``scenario`` needs (all cached)."""
    current = view_analysis_for(data_dir, entry, scenario)
    full = current if scenario.expiries is None else term_analysis_for(data_dir, entry, scenario)
    return ViewAnalyses(current, full)


@dataclass(frozen=True)
class PreviousAnalysis:
    """The previous snapshot's analysis for the same view, or why there is none to compare with."""

    analysis: Analysis | None
    entry: CatalogEntry | None
    note: str | None


def previous_expiries(preset: str | None, expiries: Iterable[str] | None, prev_facts: ExpiryFacts,
                      live_now: Iterable[dt.date] | None = None) -> list[str] | None:
    """The expiry set to compare against on the previous snapshot (ISO dates; None: every expiry).

    The comparison depends on the dates shown, never on how they were picked: a named preset
    ("Monthlies", "Next 7 days") and a custom set of the same dates both compare those dates where
    they were live then (re-resolving a preset on the previous snapshot's date took in the expiries
    settled since). "all", no dates, or a set naming every expiry live now (``live_now``) compares
    the previous snapshot's every expiry. ``[]`` means there is nothing comparable.
    """
    chosen = list(expiries or [])
    if (preset or "all") == "all" or not chosen:
        return None
    if live_now is not None:
        every = {d.isoformat() for d in live_now}
        if every and every <= set(chosen):
            return None
    live = {d.isoformat() for d in prev_facts.expiries}
    return [d for d in chosen if d in live]


def previous_analysis(data_dir: str | Path | None, catalog: Catalog, entry: CatalogEntry, scenario: Scenario,
                      preset: str | None, expiries: Iterable[str] | None, *,
                      basis: prev_rule.Basis = "day") -> PreviousAnalysis:
    """The previous snapshot's analysis for the view of ``entry`` under ``scenario`` with the expiry
    ``preset`` and dates (cached): hedge flows at the KPI shocks and what the key levels need. The
    previous snapshot is :func:`find_previous`'s on ``basis`` (day over day, or intraday)."""
    found = find_previous(catalog, entry, basis=basis)
    prev = found.entry
    if prev is None:
        return PreviousAnalysis(None, None, found.note)
    try:
        prev_exp = previous_expiries(preset, expiries, facts_for(prev), facts_for(entry).expiries)
        if prev_exp == []:
            return PreviousAnalysis(None, prev, "none of the selected expiries was live in the previous snapshot")
        return PreviousAnalysis(kpi_analysis_for(data_dir, prev, scenario.replace(expiries=prev_exp)), prev, None)
    except ChainDataError as err:
        return PreviousAnalysis(None, prev, f"previous snapshot not comparable: {err}")


def resolve_chain_path(path_or_id: str | Path, data_dir: str | Path | None = None) -> Path:
    """A chain file given as a path or as a catalog id (looked up in ``data_dir``)."""
    path = Path(path_or_id)
    if path.exists():
        return path
    from analytics import catalog

    return catalog.resolve(path_or_id, resolve_data_dir(data_dir))


def analyze_path(path_or_id: str | Path, scenario: Scenario, *, data_dir: str | Path | None = None,
                 book: str | Path | None = None, date_order: str | None = None) -> Analysis:
    """``mmpos analyze``: one file (or catalog id), optionally with a positions file, under ``scenario``;
    ``date_order`` (``--date-order``) reads numeric dates whose day and month could swap."""
    from analytics.sources import load_chain as load_file

    path = resolve_chain_path(path_or_id, data_dir)
    chain = load_file(path, multiplier=scenario.multiplier, date_order=date_order)
    if book is not None:
        chain = apply_book(chain, load_book(book))
    if conventions.TRADES in conventions.get(scenario.convention).needs:
        chain = with_trades(Path(path).parent, chain)
    return with_adv(analyze(chain, scenario), data_dir)


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


def history_window(data_dir: str | Path | None, underlying: str, last_n: int | None = None, *,
                   refresh: bool = False) -> HistoryWindow:
    """What the history views draw (the History tab, the report): the history store's last ``last_n``
    snapshots of ``underlying``, named by their catalog ids (a click hands the id back).

    ``refresh=False`` reads only what the store holds (a request never waits for a folder to be
    summarised); ``True`` first summarises every new or changed file.
    """
    from analytics.history import open_store
    from dashboard.uploads import with_session_uploads

    folder = resolve_data_dir(data_dir)
    with open_store(folder) as store:
        window = store.window(underlying, last_n, refresh=refresh)
    # the store may hold a file this process's last scan has not seen (summarised just now): rescan then,
    # or the charts would name it by its path, a click could not open it, and nothing would redraw them
    # (files gone from the folder stay in the store until its next sync: they are not waited for)
    files = {f for f in set(window.levels["file"]) | set(window.term["file"]) if (Path(folder) / f).exists()}
    catalog = with_session_uploads(holder_for(folder).get_having(lambda c: files <= {e.rel for e in c.entries},
                                                                 wait=True))
    return window.named({e.rel: str(e.id) for e in catalog.snapshots(underlying)})


# --------------------------------------------------------------------------- intraday (issue 19)

#: a session's snapshots lie within this much of any one of them (a cheap filter before the session rule)
_SESSION_REACH = pd.Timedelta(days=2)


@dataclass(frozen=True)
class IntradaySession:
    """One session of one underlying as the Intraday view draws it.

    ``matrix`` holds the stored summaries of the session (oldest first), ``snapshot_ids`` their catalog
    ids, ``selected`` the position of the chosen snapshot among them (None when it is not summarised yet),
    ``done``/``total`` how many of the session's snapshots in the folder are summarised.
    """

    matrix: Any  # analytics.intraday.SessionMatrix
    snapshot_ids: list[str]
    selected: int | None
    done: int
    total: int


def _session_entries(catalog: Catalog, entry: CatalogEntry) -> tuple[str, list[CatalogEntry]]:
    """The session (ISO date, :func:`analytics.previous.session_date`) of ``entry`` and the catalog's
    snapshots of its underlying in that session, oldest first."""
    round_the_clock = facts_for(entry).round_the_clock
    session = prev_rule.session_date(entry.as_of, round_the_clock=round_the_clock)
    near = [e for e in catalog.snapshots(entry.underlying) if e.as_of is not None and not e.broken
            and abs(e.as_of - entry.as_of) <= _SESSION_REACH]
    same = [e for e in near if prev_rule.session_date(e.as_of, round_the_clock=round_the_clock) == session]
    return session.isoformat(), sorted(same, key=lambda e: (e.as_of, e.rel))


def _session_anchor(catalog: Catalog, underlying: str, snapshot_id: str | None) -> CatalogEntry | None:
    entry = catalog.get(snapshot_id) if snapshot_id else None
    if entry is None or not entry.is_snapshot or entry.as_of is None:
        entry = catalog.latest(underlying)
    return entry if entry is not None and entry.as_of is not None else None


def intraday_fill(data_dir: str | Path | None, underlying: str, snapshot_id: str | None,
                  max_files: int = 2) -> dict[str, Any] | None:
    """Summarise at most ``max_files`` snapshots of the chosen snapshot's session that the history store
    lacks (new or changed files of that session only); None when there is no snapshot to anchor on.

    Returns ``{"u", "session", "done", "total", "newest"}``: snapshots of the session summarised, in the
    folder, and the newest one's id (a file that lands changes the answer, so the view redraws).
    """
    from analytics.history import open_store

    folder = resolve_data_dir(data_dir)
    catalog = get_catalog(folder)
    entry = _session_anchor(catalog, underlying, snapshot_id)
    if entry is None:
        return None
    session, entries = _session_entries(catalog, entry)
    with open_store(folder) as store:
        stale = {fv.rel_path: fv for fv in store.stale()}
        todo = [stale[e.rel] for e in entries if e.rel in stale]
        for fv in todo[:max(max_files, 0)]:
            store.put(fv, store.summarize(fv))
    left = max(len(todo) - max(max_files, 0), 0)
    return {"u": underlying, "session": session, "done": len(entries) - left, "total": len(entries),
            "newest": str(entries[-1].id) if entries else ""}


def intraday_session(data_dir: str | Path | None, underlying: str, snapshot_id: str | None,
                     expiries: str = "all") -> IntradaySession | None:
    """The stored summaries of the chosen snapshot's session (the newest snapshot's when none is chosen)
    shaped for the Intraday view (:func:`analytics.intraday.session_matrix`), named by catalog ids.
    Reads only what the store holds (:func:`intraday_fill` fills it); None without a snapshot."""
    from analytics.history import open_store
    from analytics.intraday import session_matrix

    folder = resolve_data_dir(data_dir)
    catalog = get_catalog(folder)
    entry = _session_anchor(catalog, underlying, snapshot_id)
    if entry is None:
        return None
    session, entries = _session_entries(catalog, entry)
    with open_store(folder) as store:
        items = store.session_summaries(underlying, session)
    id_of = {e.rel: str(e.id) for e in entries}
    items = [(rel, s) for rel, s in items if rel in id_of]  # files the folder no longer holds are not drawn
    matrix = session_matrix(items, expiries="0dte" if expiries == "0dte" else "all", underlying=underlying,
                            session=session)
    ids_ = [id_of[rel] for rel in matrix.files]
    selected = ids_.index(str(entry.id)) if str(entry.id) in ids_ else None
    return IntradaySession(matrix, ids_, selected, len(items), len(entries))


@functools.cache
def _plotly_js() -> str:
    from dashboard.runtime.assets import PLOTLY_BUNDLE  # the page's own plotly.js bundle, inlined once

    return PLOTLY_BUNDLE.read_text(encoding="utf-8")


def report_for(data_dir: str | Path | None, entry: CatalogEntry, scenario: Scenario, *, generated_at: str,
               history_last: int | None = REPORT_HISTORY_SNAPSHOTS, sync_history: bool = True,
               static: bool = False) -> str:
    """``mmpos report`` and the page's "Download report": the self-contained HTML of one snapshot.

    Key levels with changes against the previous snapshot (same expiries where still live), the three
    views, the history charts from the history store, conventions and notes
    (:mod:`dashboard.report_html`). Raises ChainDataError for an unreadable snapshot.

    ``sync_history=False`` (the page) draws the history the store holds now instead of first
    summarising every new or changed file of the folder (seconds per file; ``mmpos backfill`` or the
    History tab fill it); the notes say when that history is empty. ``static=True``: the HTML is
    printed to PDF or PNG (no chart modebar).
    """
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
    history = history_window(data_dir, current.underlying, history_last, refresh=sync_history)
    if history.note:
        notes.append(f"history: {history.note}")
    if history.empty:
        notes.append("no history charts: the history store holds no snapshot of this underlying yet "
                     "(run mmpos backfill)")
    return render_report(ReportInputs(
        current=current, full=full, levels_text=levels.to_text(), history=history if not history.empty else None,
        source_name=entry.path.name, generated_at=generated_at, plotly_js=_plotly_js(), notes=tuple(notes),
        regime=levels.regime, static=static))


def clear_caches() -> None:
    """Forget every cached catalog, analysis and response of this process, the shared cache's included
    (benchmarks measure the cold path with this): every cache registered in
    :mod:`dashboard.runtime.caches` (the ones of the modules this process has loaded)."""
    caches.clear_all()


def _clear_shared() -> None:
    shared = shared_cache()
    if shared is not None:
        shared.clear()


# analytics never imports the dashboard: its caches are registered here, with the service's own
caches.register("analytics.catalog.holders", forget_holders)
caches.register("analytics.catalog.files", clear_cache)
caches.register("dashboard.service.analysis", _analysis.cache_clear)
caches.register("dashboard.service.prepared", _prepared.cache_clear)
caches.register("dashboard.service.facts", _facts.cache_clear)
caches.register("dashboard.service.trades_files", _trades_file.cache_clear)
caches.register("dashboard.service.gross_by_expiry", _gross_by_expiry.cache_clear)
caches.register("dashboard.service.session_of", _session_of.cache_clear)
caches.register("dashboard.service.shared", _clear_shared)
