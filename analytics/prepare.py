"""From a loaded chain to the engine's inputs: the level each option is priced on, its rate and carry,
and one usable implied volatility per row (:func:`prepare_chain` -> :class:`PreparedChain`).

Two model choices:

* ``forward``: ``"spot"`` prices equity/index rows Black-Scholes-Merton on the header spot with the
  given rate and yield (the classic recipe); ``"parity"`` prices every row Black-76 on its expiry's
  forward ``F`` with discount ``D`` from put-call parity (:mod:`analytics.forwards`). In the engine's
  terms that is level ``S``, rate ``r = -ln(D)/T`` and carry yield ``q = r - ln(F/S)/T``: the same
  prices and IVs as level ``F`` with carry ``r``, and gamma x level^2 (GEX) is identical, but deltas
  (hence hedge flows) come out per unit of the underlying rather than per unit of forward.
  Black-76 chains (Deribit) carry the exchange's own per-expiry forward (``underlying_price``, from
  Deribit's futures and its own parity): under either choice they are priced Black-76 on it with the
  given rate; ``parity`` fits nothing there (coin-settled quotes are in coin, so ``C - P`` is not
  ``D (F - K)`` in one currency).
* ``iv_policy``: ``"file"`` uses each side's own IV from the file, fills bad ones from the other side
  of the same strike, then solves the rest from prices; ``"otm"`` gives both sides of a strike one IV,
  solved from the out-of-the-money side's mid on the model's forward (the usual surface convention:
  an in-the-money mid is mostly intrinsic value and spread).

Placeholder IVs (one tiny value repeated on many in-the-money rows, as in CBOE's 2020 ``.dat`` vintage
and the NDX 2022 file) are detected and reported; under ``otm`` they are never used.
"""

from __future__ import annotations

import functools
import hashlib
import weakref
from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any, Literal, TypeVar

import numpy as np
import pandas as pd

from analytics import calendars, pricing
from analytics import forwards as fwd
from analytics.chain import OptionChain, years_between
from analytics.codes import group_medians, order_by_code
from analytics.errors import ChainDataError
from analytics.locks import ForkSafeLock
from analytics.notes import FLOW_SHOCK_PCT, Note, row_note

ForwardChoice = Literal["spot", "parity"]
IvPolicy = Literal["file", "otm"]
T = TypeVar("T")
FORWARD_CHOICES: tuple[str, ...] = ("spot", "parity")
IV_POLICIES: tuple[str, ...] = ("file", "otm")
DEFAULT_FORWARD: ForwardChoice = "parity"  # why: README "Model choices"
DEFAULT_IV_POLICY: IvPolicy = "otm"
IV_POLICY_TEXT: dict[str, str] = {
    "file": "file: each side's own IV from the file, missing/zero/absurd ones taken from the other side of the "
            "same strike, else solved from the mid/mark; placeholder IVs are kept and reported",
    "otm": "otm: one IV per strike solved from the out-of-the-money side's mid on the model's forward, used for "
           "both sides; no OTM quote: the expiry's smile interpolated; placeholder IVs never used",
}
PLACEHOLDER_MIN_ROWS = 5  # a value repeated on at least this many in-the-money rows ...
PLACEHOLDER_ATM_RATIO = 0.5  # ... and below this fraction of its expiry's at-the-money IV is a placeholder


@dataclass(frozen=True)
class PreparedChain:
    """A chain with usable IVs and per-row time to settlement, ready for the engine.

    ``level``, ``rate`` and ``carry`` are the generalised Black-Scholes inputs of each row
    (:mod:`analytics.pricing`). ``notes`` carry row masks over the prepared rows, to be quantified
    once greeks exist (:func:`analytics.notes.quantify`); ``warnings`` are their messages plus any
    other note. ``forwards`` is the per-expiry table of :func:`analytics.forwards.expiry_forwards`
    under ``forward="parity"`` (None under ``"spot"``).
    """

    chain: OptionChain
    years: np.ndarray
    iv: np.ndarray
    side: np.ndarray
    level: np.ndarray
    rate: np.ndarray
    carry: np.ndarray
    multiplier: np.ndarray
    warnings: tuple[str, ...]
    notes: tuple[Note, ...] = ()
    forwards: pd.DataFrame | None = None
    forward: ForwardChoice = "spot"
    iv_policy: IvPolicy = "file"
    # the file's header spot where the near expiries' parity forwards say it is stale: ``chain.spot``
    # is then the spot the quotes imply (:func:`analytics.forwards.quotes_spot`) and every level is on it
    file_spot: float | None = None
    # under the file policy, the expiry's smile IV at each placeholder row (NaN elsewhere): the IV the
    # placeholder note's shares are computed with (:func:`analytics.report.analyze`)
    placeholder_smile: np.ndarray | None = None

    def priced_forwards(self) -> pd.DataFrame:
        """Per expiry, the forward and discount factor the rows were priced with
        (:func:`analytics.forwards.model_forwards`), with the parity fit's ``n_strikes`` where there is one.

        Computed once per prepared chain and shared by every analysis of it: treat it as read-only."""
        return self._priced_forwards

    @functools.cached_property
    def _priced_forwards(self) -> pd.DataFrame:
        expiry = self.chain.rows["expiry"].to_numpy()
        if self.chain.model == "black76":
            method: object = "exchange"
        elif self.forwards is not None:
            method = "parity"  # each expiry's own method, looked up below
        else:
            method = "spot-carry"
        out = fwd.model_forwards(expiry, self.years, self.level, self.rate, self.carry, self.chain.spot, method)
        # each expiry's method and parity strikes from the fit's table, by position in its sorted dates
        # (a date the table lacks: no method, no strikes)
        if self.forwards is None:
            out["n_strikes"] = 0
        else:
            dates = out["expiry"].to_numpy()
            if self.chain.model != "black76":
                out["method"] = _by_expiry(self.forwards, dates, "method")
            out["n_strikes"] = _by_expiry(self.forwards, dates, "n_strikes", missing=0).astype(int)
        out["expiry"] = [pd.Timestamp(e).date() for e in out["expiry"]]
        return out


def model_text(pricing_model: str, forward: str, iv_policy: str, rate: float, div_yield: float) -> str:
    """The model choice in words (the JSON's ``model``).

    Examples
    --------
    >>> model_text("bsm", "spot", "file", 0.0, 0.0)
    'black-scholes-merton on spot, r=0 q=0, iv=file'
    >>> model_text("bsm", "parity", "otm", 0.0, 0.0)
    'black-76 on per-expiry put-call-parity forwards F and discounts D, iv=otm'
    """
    if pricing_model == "black76":
        return f"black-76 on the file's per-expiry forwards, r={rate:g}, iv={iv_policy}"
    if forward == "parity":
        return f"black-76 on per-expiry put-call-parity forwards F and discounts D, iv={iv_policy}"
    return f"black-scholes-merton on spot, r={rate:g} q={div_yield:g}, iv={iv_policy}"


def placeholder_ivs(iv, expiry, strike, side, forward, *, min_rows: int = PLACEHOLDER_MIN_ROWS,
                    atm_ratio: float = PLACEHOLDER_ATM_RATIO) -> np.ndarray:
    """Rows whose IV is a placeholder: a value shared by at least ``min_rows`` in-the-money rows of the
    chain and below ``atm_ratio`` times the at-the-money IV of the row's expiry.

    The at-the-money IV of an expiry is the median file IV of its four rows nearest the forward
    (ties: the earlier row). ``expiry`` may be any per-row key of the expiry (integer codes are fastest).

    Examples
    --------
    >>> k = np.array([80.0, 85, 90, 95, 97, 100, 100, 105])
    >>> s = np.array([1.0, 1, 1, 1, 1, 1, -1, -1])
    >>> iv = np.array([0.02, 0.02, 0.02, 0.02, 0.02, 0.2, 0.2, 0.21])
    >>> placeholder_ivs(iv, np.zeros(8), k, s, 100.0).tolist()
    [True, True, True, True, True, False, False, False]
    """
    iv = np.asarray(iv, dtype=float)
    k, w, f = (np.broadcast_to(np.asarray(a, dtype=float), iv.shape) for a in (strike, side, forward))
    codes = pd.factorize(np.asarray(expiry).ravel())[0].reshape(iv.shape)
    valid = np.isfinite(iv) & (iv > 0)
    itm = valid & (w * (f - k) > 0)
    _, inverse, counts = np.unique(iv[itm], return_inverse=True, return_counts=True)
    count = np.zeros(iv.shape, dtype=np.intp)
    count[itm] = counts[inverse]
    with np.errstate(divide="ignore", invalid="ignore"):
        dist = np.abs(np.log(k / f))
    candidates = np.flatnonzero(valid.ravel())
    order = candidates[order_by_code(codes.ravel()[candidates], dist.ravel()[candidates])]  # expiry, dist
    sorted_codes = codes.ravel()[order]
    starts = np.flatnonzero(np.r_[True, sorted_codes[1:] != sorted_codes[:-1]])
    rank = np.arange(order.size) - np.repeat(starts, np.diff(np.r_[starts, order.size]))
    near = order[rank < 4]
    near = near[codes.ravel()[near] >= 0]  # a row without an expiry belongs to no expiry's four
    # each expiry's median of its (up to) four, as np.median gives it
    atm_by_code = group_medians(codes.ravel()[near], int(codes.max(initial=-1)) + 1, iv.ravel()[near])
    atm = atm_by_code[codes] if atm_by_code.size else np.full(iv.shape, np.nan)
    return itm & (count >= min_rows) & (iv < atm_ratio * atm)


@dataclass(frozen=True)
class RowGroups:
    """The rows' (root, expiry, strike) group codes (:func:`_by_strike`), their expiry codes
    (:func:`placeholder_ivs`) and the rows of each (root, expiry) (:func:`_smile`)."""

    strike_codes: np.ndarray
    expiry_codes: np.ndarray
    expiry_rows: tuple[np.ndarray, ...]


MEMO_ENTRIES = 16  # values kept per rows frame (:func:`per_rows`), oldest first out
_MEMO: dict[int, tuple[weakref.ref, dict]] = {}
# re-entrant: a frame freed while it is held runs its callback here; a forked child gets its own
_MEMO_LOCK = ForkSafeLock(reentrant=True)


def per_rows(rows: pd.DataFrame, key: Hashable, compute: Callable[[], T]) -> T:
    """``compute()``, once per rows frame object and ``key``: what every treatment of the same rows
    shares (the headline band prepares one chain's rows under four treatments, :mod:`analytics.headline`).

    A value must depend only on ``rows`` (never modified: frames here are read-only by convention) and
    on ``key``; it is shared, so treat it as read-only. The frame's values go when the frame does; at
    most :data:`MEMO_ENTRIES` per frame. An exception is raised each time, never kept.
    """
    ident = id(rows)
    with _MEMO_LOCK:
        entry = _MEMO.get(ident)
        memo = entry[1] if entry is not None and entry[0]() is rows else None
        if memo is not None and key in memo:
            return memo[key]
    value = compute()

    def forget(ref: weakref.ref, ident: int = ident) -> None:
        with _MEMO_LOCK:
            if _MEMO.get(ident, (None,))[0] is ref:
                del _MEMO[ident]

    with _MEMO_LOCK:
        entry = _MEMO.get(ident)
        if entry is None or entry[0]() is not rows:
            entry = (weakref.ref(rows, forget), {})
            _MEMO[ident] = entry
        memo = entry[1]
        memo[key] = value
        while len(memo) > MEMO_ENTRIES:
            del memo[next(iter(memo))]
    return value


def row_groups(rows: pd.DataFrame) -> RowGroups:
    """The :class:`RowGroups` of ``rows``, computed once per frame (:func:`per_rows`)."""
    def compute() -> RowGroups:
        # the groups of a sorted groupby on (root, expiry[, strike]), numbered as its ngroup() numbers them,
        # from one sorted factorization per column and a combined integer key (no groupby set-up)
        roots = pd.factorize(rows["root"], sort=True)
        expiries = pd.factorize(rows["expiry"].to_numpy(), sort=True)
        strikes = pd.factorize(rows["strike"].to_numpy(float), sort=True)
        if min(codes.min(initial=0) for codes, _ in (roots, expiries, strikes)) < 0:  # a missing key
            return _row_groups_by_pandas(rows)
        root_expiry = roots[0].astype(np.int64) * len(expiries[1]) + expiries[0]
        _, strike_codes = np.unique(root_expiry * len(strikes[1]) + strikes[0], return_inverse=True)
        _, by_expiry = np.unique(root_expiry, return_inverse=True)
        order = np.argsort(by_expiry, kind="stable")  # each (root, expiry)'s rows in row order
        starts = np.searchsorted(by_expiry[order], np.arange(by_expiry.max(initial=-1) + 2))
        expiry_rows = tuple(order[starts[i]:starts[i + 1]] for i in range(starts.size - 1))
        expiry_codes = pd.factorize(rows["expiry"].to_numpy())[0]
        return RowGroups(_read_only(strike_codes.astype(np.intp)), _read_only(expiry_codes),
                         tuple(_read_only(a.astype(np.intp)) for a in expiry_rows))
    return per_rows(rows, "row-groups", compute)


def _row_groups_by_pandas(rows: pd.DataFrame) -> RowGroups:
    """:func:`row_groups` by pandas' groupby: the reference, and the path of rows with a missing key."""
    index = pd.Series(np.arange(len(rows)), index=rows.index)
    strike_codes = index.groupby([rows["root"], rows["expiry"], rows["strike"]]).ngroup()
    expiry_codes = pd.factorize(rows["expiry"].to_numpy())[0]
    expiry_rows = tuple(np.asarray(g, dtype=np.intp) for g in
                        pd.Series(np.arange(len(rows))).groupby([rows["root"], rows["expiry"]]).indices.values())
    return RowGroups(_read_only(strike_codes.to_numpy(np.intp)), _read_only(expiry_codes),
                     tuple(_read_only(a) for a in expiry_rows))


def row_years(chain: OptionChain) -> np.ndarray:
    """``chain.years_to_settlement()``, once per rows frame and snapshot time (:func:`per_rows`;
    read-only): the engine inputs' and the parity fit's (:func:`analytics.forwards.chain_forwards`)."""
    rows = chain.rows
    return per_rows(rows, ("years", chain.as_of), lambda: _read_only(chain.years_to_settlement()))


def _years_from(rows: pd.DataFrame, instant: pd.Timestamp) -> np.ndarray:
    """ACT/365 years from ``instant`` to each row's settlement, once per frame and instant (read-only)."""
    return per_rows(rows, ("years", instant), lambda: _read_only(years_between(instant, rows["settlement"])))


def _kept_rows(rows: pd.DataFrame, keep: np.ndarray) -> pd.DataFrame:
    """``rows[keep]`` with a fresh index (what ``OptionChain.with_rows`` gives), once per frame and mask:
    treatments that keep the same rows (the headline band's, :mod:`analytics.headline`) share one
    frame, hence its :func:`per_rows` values (row groups, years, sides) too."""
    key = ("kept", hashlib.blake2b(np.packbits(keep).tobytes()).hexdigest(), keep.size)
    return per_rows(rows, key, lambda: rows.loc[keep].reset_index(drop=True))


def _read_only(a: np.ndarray) -> np.ndarray:
    a.flags.writeable = False
    return a


def _quote_mid(rows: pd.DataFrame) -> np.ndarray:
    """Mid where both bid and ask are positive, else the mark where positive, else NaN."""
    bid, ask, mark = (rows[c].to_numpy(float) for c in ("bid", "ask", "mark"))
    two_sided = (bid > 0) & (ask >= bid)
    return np.where(two_sided, 0.5 * (bid + ask), np.where(mark > 0, mark, np.nan))


def _by_strike(values: np.ndarray, groups: RowGroups) -> np.ndarray:
    """Mean of the non-NaN ``values`` over each (root, expiry, strike), broadcast back to the rows.

    A (root, expiry, strike) holds a call and a put: with at most two rows per group the sums are
    ``np.bincount``'s, added in row order, the very floats pandas' compensated group mean gives for two
    values (about 10x cheaper); larger groups take pandas' mean itself."""
    codes = groups.strike_codes
    values = np.asarray(values, dtype=float)
    if codes.size == 0 or codes.min() < 0 or np.bincount(codes).max() > 2:
        return pd.Series(values).groupby(codes).transform("mean").to_numpy(float)
    known = ~np.isnan(values)
    sums = np.bincount(codes, weights=np.where(known, values, 0.0))
    counts = np.bincount(codes, weights=known)
    with np.errstate(invalid="ignore"):  # a group without a value: NaN, as pandas gives
        return (sums / counts)[codes]


def _adjusted_roots(chain: OptionChain, deliverables: Mapping[str, float],
                    multiplier: float | None) -> tuple[OptionChain, list[Note]]:
    """Rows of adjusted-deliverable roots priced on their deliverable, or left out (a counted note).

    One contract of an adjusted root (``AMD1``, after a corporate action) delivers ``D`` units instead of
    the standard ``m`` (the multiplier: 100 shares), against the same strike amount ``m K``. Its payoff
    ``max(D S - m K, 0) = D max(S - K m/D, 0)`` is that of ``D/m`` standard contracts struck at ``K m/D``
    per unit: the row is priced with strike ``K m/D``, premiums ``x m/D`` (quotes are per ``m`` units) and
    multiplier ``D`` (IVs unchanged). A root whose ``D`` is not given is left out: pricing it on ``m``
    units at strike ``K`` would be wrong on both counts.
    """
    rows = chain.rows
    if "adjusted" not in rows or not rows["adjusted"].any():
        return chain, []
    adjusted = rows["adjusted"].to_numpy(bool)
    oi = rows["open_interest"].to_numpy(float)
    units = rows["root"].map(dict(deliverables)).to_numpy(float)
    priced = adjusted & np.isfinite(units)
    left_out = adjusted & ~priced
    notes = []
    if left_out.any():
        roots = ", ".join(sorted(rows.loc[left_out, "root"].astype(str).unique()))
        notes.append(row_note(
            "adjusted-roots", f"{int(left_out.sum()):,} row(s) of adjusted-deliverable roots ({roots}) left out: one "
            "contract delivers other than the standard units and the file does not say how many "
            "(--include-adjusted ROOT=UNITS prices them on their deliverable)", left_out, oi, keep_mask=False))
    if not priced.any():
        return chain.with_rows(rows.loc[~left_out]), notes
    out = rows.copy()
    standard = out["multiplier"].to_numpy(float) if multiplier is None else np.full(len(out), float(multiplier))
    scale = np.where(priced, standard / np.where(priced, units, 1.0), 1.0)
    for col in ("strike", "bid", "ask", "mark"):
        out[col] = out[col].to_numpy(float) * scale
    out["multiplier"] = np.where(priced, units, out["multiplier"].to_numpy(float))
    for root in sorted(out.loc[priced, "root"].astype(str).unique()):
        mine = priced & (rows["root"].to_numpy(object) == root)
        d, m = float(units[mine][0]), float(standard[mine][0])
        notes.append(row_note(
            "adjusted-roots", f"{int(mine.sum()):,} row(s) of {root} priced on a deliverable of {d:g} units per "
            f"contract: strike K and premiums read per unit as K x {m:g}/{d:g}, multiplier {d:g} (one contract "
            f"= {d / m:.4g} standard contracts; any cash in the deliverable is not modelled)",
            mine[~left_out], oi[~left_out]))
    return chain.with_rows(out.loc[~left_out]), notes


def prepare_chain(chain: OptionChain, *, rate: float = 0.0, div_yield: float = 0.0,
                  multiplier: float | None = None, adjusted_deliverables: Iterable[tuple[str, float]] = (),
                  forward: ForwardChoice = DEFAULT_FORWARD,
                  iv_policy: IvPolicy = DEFAULT_IV_POLICY, forwards: pd.DataFrame | None = None) -> PreparedChain:
    """Levels, rates and one usable IV per row; rows with none are dropped with a counted note.

    Parameters
    ----------
    chain : OptionChain
    rate, div_yield : float
        Continuously compounded, decimals. Under ``forward="spot"`` BSM rows use both and Black-76 rows
        ``rate`` (carry yield = rate); under ``"parity"`` they serve only the fallback expiries.
    multiplier : float, optional
        Overrides the rows' contract multiplier (not that of adjusted roots priced on their deliverable).
    adjusted_deliverables : iterable of (root, units)
        Adjusted-deliverable roots (``AMD1``, ``SPY1``: after a corporate action one contract delivers
        other than 100 shares) and the units one contract delivers: their rows are priced on it (strike
        and premiums per unit, multiplier = the units; a note says so). Rows of an adjusted root not
        listed are left out with a counted note.
    forward : {"spot", "parity"}
        What equity/index rows are priced on (module docstring).
    iv_policy : {"file", "otm"}
        Where each row's IV comes from (module docstring).
    forwards : DataFrame, optional
        The parity fit of the whole snapshot (:func:`analytics.forwards.chain_forwards`), when ``chain``
        is a selection of it: an expiry's forward must not depend on which others are selected, and the
        fit is not repeated. Under ``"parity"`` it defaults to a fit of ``chain``; under ``"spot"``,
        given, it only feeds the note on forwards away from spot beyond carry.

    Returns
    -------
    PreparedChain
        Only rows with a usable IV (in ``(0, pricing.IV_MAX]``).

    Raises
    ------
    ChainDataError
        An unknown choice, or no row with a usable IV.
    """
    if forward not in FORWARD_CHOICES:
        raise ChainDataError(f"unknown forward {forward!r}; choose one of {', '.join(FORWARD_CHOICES)}")
    if iv_policy not in IV_POLICIES:
        raise ChainDataError(f"unknown IV policy {iv_policy!r}; choose one of {', '.join(IV_POLICIES)}")
    chain, notes = _adjusted_roots(chain, dict(adjusted_deliverables), multiplier)
    file_spot = None
    rows = chain.rows
    n = len(rows)
    years = row_years(chain)
    # a snapshot stamped outside the session (evening, weekend) carries that session's quotes; the file's
    # IVs were computed to its close, so under the file policy time runs from there
    session_close = calendars.quotes_session_close(chain.as_of) if chain.model == "bsm" else None
    stamp_years = years
    if session_close is not None and iv_policy == "file":
        years = _years_from(rows, session_close)
    side = per_rows(rows, "side", lambda: _read_only(pricing.side_sign(rows["side"].to_numpy())))
    strike = rows["strike"].to_numpy(float)
    oi = rows["open_interest"].to_numpy(float)
    groups = row_groups(rows)
    table = None
    if chain.model == "black76":
        level = rows["forward"].to_numpy(float)
        rates = np.full(n, rate)
        carry = np.full(n, rate)
    elif forward == "parity":
        implied_spot, table, forward_row, rates, forward_notes = _on_forwards(
            chain, session_close is not None, forwards, rate, div_yield, oi)
        if implied_spot is not None:  # a stale header spot: the levels go on the spot the quotes imply
            file_spot = chain.spot
            chain = replace(chain, spot=implied_spot)
        level = np.full(n, chain.spot)
        carry = rates - np.log(forward_row / chain.spot) / years
        notes += forward_notes
    else:
        level = np.full(n, chain.spot)
        rates = np.full(n, rate)
        carry = np.full(n, div_yield)
        if forwards is not None:  # priced on spot, but say when the options' own forwards disagree (the
            # parity treatment's notes on the same fit and spot, but for its fallback expiries: nothing falls
            # back on spot)
            notes += [n for n in _fit_notes(chain, forwards, oi, rate, div_yield) if n.code != "forward-fallback"]
    model_forward = level * np.exp((rates - carry) * years)

    iv = rows["iv"].to_numpy(float).copy()
    bad = ~np.isfinite(iv) | (iv <= 0) | (iv > pricing.IV_MAX)
    if session_close is not None:
        notes.append(_session_note(chain, session_close, iv_policy, iv, bad, strike, model_forward, years,
                                   stamp_years, oi))
    # the file IVs are the rows': the placeholders differ between treatments only by the model's forward
    placeholder = per_rows(rows, ("placeholder", hashlib.blake2b(model_forward.tobytes()).hexdigest()),
                           lambda: _read_only(placeholder_ivs(iv, groups.expiry_codes, strike, side, model_forward)))
    placeholder = placeholder & ~bad
    placeholder_smile = None
    if placeholder.any():
        values = ", ".join(f"{v:g}" for v in np.unique(iv[placeholder])[:3])
        treatment = "not used (OTM policy)"
        if iv_policy == "file":
            # what the placeholder rows carry is sized at a sane IV, the expiry's smile from its own valid
            # out-of-the-money file IVs: at the placeholder itself their gamma is nil and the share says "<1%"
            smile_from = ~bad & ~np.isin(iv, iv[placeholder]) & (side * (strike - model_forward) >= 0)
            placeholder_smile = np.where(placeholder, _smile(groups, np.log(strike / model_forward), smile_from, iv,
                                                             placeholder), np.nan)
            treatment = ("kept as given (file policy); shares at the expiry's smile IV (its valid out-of-the-money "
                         "file IVs, placeholder values excluded, interpolated in log-moneyness), not at the placeholder")
        notes.append(row_note("iv-placeholder", f"{int(placeholder.sum())} placeholder IV(s) ({values}) repeated "
                              f"on in-the-money rows, {treatment}", placeholder, oi))
    use_twin = np.zeros(n, dtype=bool)
    solved_mask = np.zeros(n, dtype=bool)
    if bad.any():
        # 1) the same contract's other side: put-call parity makes European call and put IVs equal,
        #    and the OTM side's quote is the reliable one (a deep ITM mid is mostly spread)
        #    (under the OTM policy a placeholder is no source either)
        source_bad = bad | placeholder if iv_policy == "otm" else bad
        twin = _by_strike(np.where(source_bad, np.nan, iv), groups)
        use_twin = bad & np.isfinite(twin)
        iv[use_twin] = twin[use_twin]
        bad &= ~use_twin
    mark = rows["mark"].to_numpy(float)
    mid = 0.5 * (rows["bid"].to_numpy(float) + rows["ask"].to_numpy(float))
    px = np.where(np.isfinite(mark) & (mark > 0), mark, mid)
    if bad.any():
        idx = np.flatnonzero(bad & np.isfinite(px) & (px > 0))
        with np.errstate(over="ignore"):  # Newton steps where vega ~ 0 (minutes to settlement) overflow first
            solved = pricing.implied_vol(px[idx], level[idx], strike[idx], years[idx], side[idx], rates[idx],
                                         carry[idx])
        iv[idx] = solved
        solved_mask[idx[np.isfinite(solved)]] = True
    if iv_policy == "otm":
        iv, px, uses_file = _otm_ivs(rows, iv, placeholder, strike, side, years, level, rates, carry, model_forward,
                                     groups, notes, oi)
        use_twin &= uses_file  # the file IVs' repairs matter only where a file IV is still used
        solved_mask &= uses_file
    if use_twin.any():
        notes.append(row_note("iv-from-twin", f"{int(use_twin.sum())} missing/zero/absurd IV(s) taken from "
                              f"the other side of the same strike (put-call parity)", use_twin, oi))
    if solved_mask.any():
        notes.append(row_note("iv-solved", f"{int(solved_mask.sum())} IV(s) that were missing, zero or above "
                              f"{pricing.IV_MAX:g} solved from mid/mark prices", solved_mask, oi))

    usable = np.isfinite(iv) & (iv > 0) & (iv <= pricing.IV_MAX)
    if not usable.any():
        raise ChainDataError("no row has a usable implied volatility", path=chain.source or None)
    mult = rows["multiplier"].to_numpy(float)
    if multiplier is not None:  # the override is the standard contract's; adjusted rows keep their deliverable
        mult = np.where(rows["adjusted"].to_numpy(bool), mult, float(multiplier))
    if (~usable).any():
        smile = _smile(groups, np.log(strike / model_forward), usable, iv, ~usable)
        notes += _drop_notes(~usable, px, level, strike, years, side, rates, carry, oi, mult, smile)
    keep = usable
    kept_notes = tuple(replace(nt, mask=None if nt.mask is None else nt.mask[keep]) for nt in notes)
    return PreparedChain(
        chain=replace(chain, rows=_kept_rows(rows, keep)), years=years[keep], iv=iv[keep], side=side[keep], level=level[keep],
        rate=rates[keep], carry=carry[keep], multiplier=mult[keep], warnings=tuple(nt.message for nt in kept_notes),
        notes=kept_notes, forwards=table, forward=forward, iv_policy=iv_policy, file_spot=file_spot,
        placeholder_smile=None if placeholder_smile is None else placeholder_smile[keep],
    )


def _memo_on(rows: pd.DataFrame, key: Hashable, source: object, compute: Callable[[], T]) -> T:
    """:func:`per_rows` of a value computed from ``rows`` and the object ``source`` too (a forwards
    table): kept with that object and recomputed when another one comes (never matched by ``id``)."""
    held, value = per_rows(rows, key, lambda: (source, compute()))
    if held is source:
        return value
    return compute()


def _on_forwards(chain: OptionChain, outside_session: bool, forwards: pd.DataFrame | None, rate: float,
                 div_yield: float, oi: np.ndarray):
    """What pricing ``chain``'s rows on parity forwards reads from the fit ``forwards`` (default: a fit
    of ``chain``): the spot the quotes imply where the header's is stale (None otherwise; stamped
    ``outside_session`` only), the selected expiries' table, each row's forward and implied rate, and
    the forward notes. The same for every IV policy: once per rows frame and fit (:func:`per_rows`)."""
    rows = chain.rows

    def compute():
        full = fwd.expiry_forwards(chain, rate=rate, div_yield=div_yield) if forwards is None else forwards
        # stamped outside the session, the header may carry a later print than the quotes (after hours,
        # pre-market); inside it, spot and quotes are of one instant and a basis is a dividend
        implied_spot = (fwd.quotes_spot(full, chain.spot, rate=rate, div_yield=div_yield)
                        if outside_session else None)
        on = chain
        if implied_spot is not None:
            on = replace(chain, spot=implied_spot)
            full = fwd.respot(full, implied_spot, rate=rate, div_yield=div_yield)
        table = full.loc[full["expiry"].isin(rows["expiry"].unique())].reset_index(drop=True)
        # Black-76 on F with discount D, written on spot so that deltas are per unit of the underlying:
        # rate r = -ln(D)/T and the carry yield that makes S e^{(r - q) T} = F
        expiry = rows["expiry"].to_numpy()
        forward_row, rates = (_read_only(_by_expiry(table, expiry, c).astype(float)) for c in ("forward", "implied_rate"))
        notes = (_fit_notes(chain, forwards, oi, rate, div_yield) if forwards is not None and implied_spot is None
                 else tuple(_forward_notes(full, on, oi, rate, div_yield)))
        return implied_spot, table, forward_row, rates, notes

    if forwards is None:  # a fit of this chain, made here: nothing to share it with
        return compute()
    return _memo_on(rows, ("on-forwards", chain.as_of, chain.spot, outside_session, rate, div_yield), forwards,
                    compute)


def _by_expiry(table: pd.DataFrame, expiry: np.ndarray, column: str, missing: Any = np.nan) -> np.ndarray:
    """The ``table`` column's value at each ``expiry`` (``table``: one row per expiry date, ascending;
    ``missing`` where it has none): ``Series.map`` on the expiry, by position in the sorted dates."""
    dates, values = table["expiry"].to_numpy(), table[column].to_numpy()
    if not dates.size:
        return np.full(expiry.shape, missing)
    at = np.minimum(np.searchsorted(dates, expiry), dates.size - 1)
    return np.where(dates[at] == expiry, values[at], missing)


def _fit_notes(chain: OptionChain, forwards: pd.DataFrame, oi: np.ndarray, rate: float,
               div_yield: float) -> tuple[Note, ...]:
    """:func:`_forward_notes` of the whole fit ``forwards`` on ``chain`` (its spot): once per rows frame, fit
    and spot, shared by the parity treatments (on that spot) and the spot ones (which leave out the
    fallback note)."""
    return _memo_on(chain.rows, ("fit-notes", chain.as_of, chain.spot, rate, div_yield), forwards,
                    lambda: tuple(_forward_notes(forwards, chain, oi, rate, div_yield)))


def _smile(groups: RowGroups, x: np.ndarray, known: np.ndarray, values: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """Each (root, expiry)'s smile at the ``wanted`` rows: ``values`` of its ``known`` rows interpolated
    in log-moneyness ``x`` (flat beyond the last one); NaN where the expiry has no known row (or no
    wanted one)."""
    out = np.full(x.size, np.nan)
    if not wanted.any():
        return out
    for members in groups.expiry_rows:
        have = members[known[members]]
        if have.size and wanted[members].any():
            order = np.argsort(x[have])
            out[members] = np.interp(x[members], x[have][order], values[have][order])
    return out


def _otm_ivs(rows, iv_file, placeholder, strike, side, years, level, rates, carry, model_forward, groups, notes, oi):
    """One IV per (root, expiry, strike), solved from the OTM side's mid on the model's forward.

    A strike whose OTM side has no quote (the far wings) takes the expiry's smile interpolated in
    log-moneyness between the solved strikes (flat beyond the last one): the ITM side's mid there is
    intrinsic value plus spread and says nothing about volatility. An expiry with no solved strike keeps
    the cleaned file IVs (placeholders excluded).

    Returns (iv, the price each row was solved from, rows whose own file IV is used)."""
    n = len(rows)
    otm = side * (strike - model_forward) >= 0  # calls at or above the forward, puts below
    mid = _quote_mid(rows)
    idx = np.flatnonzero(otm & np.isfinite(mid))
    solved = np.full(n, np.nan)
    # the file's own IV (placeholders aside) is the solver's start: a few steps from the quote's IV on the
    # file's model to this model's, to the same tolerance as from the generic start
    guess = np.where(placeholder, np.nan, iv_file)[idx]
    with np.errstate(over="ignore"):  # Newton steps on far wings (vega ~ 0) overflow before the bisection takes over
        solved[idx] = pricing.implied_vol(mid[idx], level[idx], strike[idx], years[idx], side[idx], rates[idx],
                                          carry[idx], guess=guess)
    strike_iv = _by_strike(np.where(otm, solved, np.nan), groups)
    missing = ~np.isfinite(strike_iv)
    smile_iv = _smile(groups, np.log(strike / model_forward), otm & np.isfinite(solved), solved, missing)
    file_ok = np.where(placeholder | ~(np.isfinite(iv_file) & (iv_file > 0) & (iv_file <= pricing.IV_MAX)),
                       np.nan, iv_file)
    interpolated = missing & np.isfinite(smile_iv)
    uses_file = missing & ~interpolated & np.isfinite(file_ok)
    if interpolated.any():
        notes.append(row_note("iv-otm-interpolated", f"{int(interpolated.sum())} row(s) whose out-of-the-money "
                              f"side has no quote take the expiry's smile interpolated in log-moneyness",
                              interpolated, oi))
    if uses_file.any():
        notes.append(row_note("iv-otm-file", f"{int(uses_file.sum())} row(s) of expiries with no out-of-the-money "
                              f"quote keep their file IV", uses_file, oi))
    iv = np.where(~missing, strike_iv, np.where(interpolated, smile_iv, file_ok))
    return iv, mid, uses_file


def _session_note(chain, close, iv_policy, iv, bad, strike, model_forward, years, stamp_years, oi) -> Note:
    """A snapshot stamped outside the NYSE session: whose quotes it carries, which clock the IVs run on,
    and the nearest expiry's at-the-money file IV on both clocks (Black-76 prices depend on
    ``iv sqrt(T)``: the IV that prices the same quotes over the stamp's time is ``iv sqrt(T_close / T_stamp)``)."""
    stamp = chain.as_of.tz_convert(calendars.NYSE_TIME_ZONE)
    expiry = chain.rows["expiry"].to_numpy()
    first = expiry == expiry.min()
    valid = first & ~bad
    near = np.flatnonzero(valid)[np.argsort(np.abs(np.log(strike[valid] / model_forward[valid])), kind="stable")[:4]]
    close_years = _years_from(chain.rows, close)
    head = (f"snapshot stamped {stamp:%a %Y-%m-%d %H:%M %Z} lies outside the NYSE session: its quotes are the "
            f"session's that closed {close:%a %Y-%m-%d %H:%M %Z}")
    detail = ""
    if near.size:
        atm = float(np.median(iv[near]))
        t_close, t_stamp = float(np.median(close_years[near])), float(np.median(stamp_years[near]))
        on_stamp = atm * np.sqrt(t_close / t_stamp)
        day = pd.Timestamp(expiry.min()).date().isoformat()
        detail = (f"{day} at-the-money file IV {100 * atm:.1f}% prices its quotes over the {365 * t_close:.2f} days "
                  f"from that close; over the stamp's {365 * t_stamp:.2f} days the same quotes imply "
                  f"{100 * on_stamp:.1f}%")
    if iv_policy == "file":
        text = f"{head}. Time runs from that close under the file IV policy (the file's IVs are quoted to it)"
        text += f": {detail}" if detail else ""
    else:
        text = f"{head}. IVs are solved from those quotes on the stamp's clock"
        text += f" (the file's own are quoted to the close: {detail})" if detail else ""
    shift_days = 365.0 * float(np.median(years - stamp_years)) if iv_policy == "file" else 0.0
    return Note(code="stamp-outside-session", summary=text, rows=int(iv.size), contracts=float(np.nansum(oi)),
                value=shift_days)


def _drop_notes(dropped, px, level, strike, years, side, rates, carry, oi, mult, smile) -> list[Note]:
    """Dropped rows, split by why no IV exists: no quote; a quote at or below intrinsic value; a quote
    at or above the no-arbitrage bound (a call worth the forward's present value, a put the strike's);
    or a quote below that bound that no IV up to ``pricing.IV_MAX`` reaches (minimum-tick far wings).

    Each note carries what its rows would hold at their expiry's smile (``smile``: the usable IVs
    interpolated in log-moneyness): gross GEX and +5% flow, for their share of the chain's gross."""
    quoted = np.isfinite(px) & (px > 0)
    # the price at IV_MIN and the no-arbitrage bound of the dropped rows only (NaN elsewhere: no row of a note)
    floor, bound = np.full(px.size, np.nan), np.full(px.size, np.nan)
    i = np.flatnonzero(dropped)
    with np.errstate(invalid="ignore", over="ignore"):
        floor[i] = pricing.price(level[i], strike[i], years[i], pricing.IV_MIN, side[i], rates[i], carry[i])
        bound[i] = np.where(side[i] > 0, level[i] * np.exp(-carry[i] * years[i]), strike[i] * np.exp(-rates[i] * years[i]))
    low = dropped & quoted & (px <= floor * (1 + 1e-12))
    above = dropped & quoted & ~low & (px >= bound)
    sized = dropped & np.isfinite(smile)
    gex = np.zeros(px.size)
    flow = np.zeros(px.size)
    if sized.any():
        i = np.flatnonzero(sized)
        now = pricing.greeks(level[i], strike[i], years[i], smile[i], side[i], rates[i], carry[i])
        up = pricing.greeks(level[i] * (1.0 + FLOW_SHOCK_PCT / 100.0), strike[i], years[i], smile[i], side[i],
                            rates[i], carry[i])
        gex[i] = np.abs(oi[i] * mult[i] * now.gamma * level[i] ** 2 * 0.01)
        flow[i] = np.abs(oi[i] * mult[i] * (up.delta - now.delta))
    out = []
    for code, mask, why in (
        ("dropped-no-quote", dropped & ~quoted, "no usable IV and no quote to solve one from"),
        ("dropped-at-intrinsic", low, "a quote at or below intrinsic value (no IV reproduces it)"),
        ("dropped-above-bound", above, "a quote at or above the no-arbitrage bound (a call above the "
         "forward's present value, a put above the strike's)"),
        ("dropped-unsolved", dropped & quoted & ~low & ~above, "a quote below the no-arbitrage bound that no IV "
         f"up to {pricing.IV_MAX:g} reproduces (far wings quoted at the minimum tick)"),
    ):
        if mask.any():
            note = row_note(code, f"dropped {int(mask.sum())} row(s) with {why} ({int(oi[mask].sum()):,} contracts "
                            "of open interest; shares at the expiry's smile IV)", mask, oi, keep_mask=False)
            out.append(replace(note, outside_gex=float(gex[mask].sum()), outside_flow=float(flow[mask].sum())))
    return out


def _forward_notes(table: pd.DataFrame, chain: OptionChain, oi: np.ndarray, rate: float,
                   div_yield: float) -> list[Note]:
    """Fallback expiries (of ``chain``; code ``forward-fallback``, which only a parity treatment reports),
    and parity forwards away from spot beyond carry (stale spot, dividend; fitted over the whole ``table``)."""
    out = []
    expiry = chain.rows["expiry"]
    fell_back = table.loc[(table["method"] == "fallback") & table["expiry"].isin(expiry.unique()), "expiry"]
    if len(fell_back):
        m = expiry.isin(fell_back).to_numpy()
        out.append(row_note("forward-fallback", f"{len(fell_back)} expiry(ies) with fewer than "
                            f"{fwd.MIN_PARITY_STRIKES} two-sided strikes (or an implausible fit) priced on spot "
                            f"with the given rate and yield", m, oi))
    early = table.loc[table["early_exercise"].astype(bool) & table["expiry"].isin(expiry.unique()), "expiry"] \
        if "early_exercise" in table else table["expiry"].iloc[:0]
    if len(early):
        roots = ", ".join(sorted(set(chain.rows["root"].astype(str)) - fwd.EUROPEAN_ROOTS))
        out.append(row_note(
            "american-exercise",
            f"American-style options ({roots}): on {len(early)} expiry(ies) the free put-call-parity fit read "
            f"early-exercise value as a rate below {100 * fwd.MIN_RATE:g}%; there D comes from the chain's plausible "
            f"rates (else the given rate) and only F is fitted, so no such rate is used. Options are still priced "
            f"European, and long-dated forwards keep some early-exercise value (they read low)",
            expiry.isin(early).to_numpy(), oi))
    a, b, excess = fwd.spot_basis(table, chain.spot, rate=rate, div_yield=div_yield)
    off = np.abs(np.nan_to_num(excess)) > fwd.FORWARD_BASIS_TOLERANCE
    if abs(a) > fwd.FORWARD_BASIS_TOLERANCE or off.any():
        m = expiry.isin(table.loc[off, "expiry"]).to_numpy() if off.any() else expiry.isin(
            table.loc[table["method"] == "parity", "expiry"]).to_numpy()
        out.append(row_note(
            "forward-basis",
            f"parity forwards sit {100 * a:+.2f}% from spot {chain.spot:,.6g} beyond carry ({100 * b:.2f}%/yr "
            f"fitted over expiries up to {fwd.BASIS_FIT_YEARS:g} yr; {int(off.sum())} expiry(ies) off by more than "
            f"{100 * fwd.FORWARD_BASIS_TOLERANCE:g}%): stale spot or dividend", m, oi))
    return out
