"""The headline with its band: the total GEX, zero gamma and walls under every reasonable treatment,
and the regime they agree on (or ``uncertain``).

A treatment is one way of reading the same file: the forward options are priced on (``spot`` or
``parity``), where each IV comes from (``file`` or ``otm``), and with or without the rows of each
disclosed data repair (:data:`analytics.notes.ROW_REPAIRS`) whose share of gross GEX is at least
:data:`MATERIAL_SHARE`. Each treatment's numbers are what ``mmpos analyze`` prints with its flags
(:attr:`Treatment.flags`); :func:`analytics.report.analyze` computes them (:class:`Headline`).

The regime rule (stated once, here; the README and the JSON ``units.headline`` quote it):

* ``uncertain`` when the total's sign differs across treatments, or when spot lies within the
  zero-gamma band (the zero-gamma level nearest spot of each treatment, lowest to highest) widened by
  :data:`ZERO_GAMMA_MARGIN` of spot on each side;
* else ``long-gamma`` (every total > 0) or ``short-gamma`` (every total < 0).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from analytics.fmt import format_level, format_pct, format_strike, format_usd
from analytics.notes import ROW_REPAIRS, Note

ZERO_GAMMA_MARGIN = 0.005  # fraction of spot: the zero-gamma band is widened by this on each side
MATERIAL_SHARE = 0.01  # a data repair whose rows carry this share of gross GEX gets a "without" treatment
# under the OTM IV policy placeholder IVs are not used (the rows take the OTM side's IV): their rows were
# not repaired, so leaving them out is no treatment of the placeholder (the file policy is)
NOT_REPAIRED: dict[str, tuple[str, ...]] = {"otm": ("iv-placeholder",)}  # IV policy -> note codes
REGIMES: tuple[str, ...] = ("long-gamma", "short-gamma", "uncertain")
RULE_TEXT = (f"regime is uncertain when the total's sign differs across treatments or spot lies within the "
             f"zero-gamma band widened by {100 * ZERO_GAMMA_MARGIN:g}% of spot on each side, else long-gamma "
             f"(total > 0) or short-gamma (total < 0); treatments: spot and parity forwards, file and OTM IVs, "
             f"and without each data repair carrying at least {100 * MATERIAL_SHARE:g}% of gross GEX; the band "
             f"is the lowest to highest value over the treatments (zero gamma: each treatment's level nearest "
             f"spot)")


@dataclass(frozen=True)
class Treatment:
    """The headline numbers of one treatment (GEX in USD per 1% move)."""

    name: str
    flags: tuple[str, ...]  # the mmpos analyze flags that print these numbers (with the run's other options)
    total_gex_usd_per_1pct: float
    zero_gamma_levels: tuple[float, ...]
    call_wall: float | None
    put_wall: float | None

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "flags": list(self.flags), "total_gex_usd_per_1pct": self.total_gex_usd_per_1pct,
                "zero_gamma_levels": list(self.zero_gamma_levels), "call_wall": self.call_wall,
                "put_wall": self.put_wall}


@dataclass(frozen=True)
class Headline:
    """The regime and the band of the headline numbers over :attr:`treatments` (the first is the
    analysis's own); ``reason`` says why the regime is uncertain (empty otherwise); ``skipped`` names
    treatments that could not be computed for this chain, with why."""

    regime: str
    total_gex_band_usd_per_1pct: tuple[float, float]
    zero_gamma_band: tuple[float, float] | None
    treatments: tuple[Treatment, ...]
    reason: str = ""
    skipped: tuple[str, ...] = ()
    margin: float = ZERO_GAMMA_MARGIN

    def to_dict(self) -> dict[str, Any]:
        return {"regime": self.regime,
                "total_gex_band_usd_per_1pct": list(self.total_gex_band_usd_per_1pct),
                "zero_gamma_band": None if self.zero_gamma_band is None else list(self.zero_gamma_band),
                "zero_gamma_margin_pct_of_spot": 100 * self.margin,
                "reason": self.reason or None,
                "treatments": [t.to_dict() for t in self.treatments],
                "skipped": list(self.skipped)}

    def text(self) -> str:
        """One line: the regime, the total's band and the zero-gamma band.

        Examples
        --------
        >>> t = [Treatment("a", (), -2e10, (4735.0,), 4800.0, 4600.0), Treatment("b", (), -1.1e10, (4717.0,), None, None)]
        >>> headline_of(4697.24, t).text()
        'uncertain: total -$20bn .. -$11bn per 1% over 2 treatments; zero gamma 4,717.0 .. 4,735.0'
        """
        lo, hi = self.total_gex_band_usd_per_1pct
        zero = ("none in range" if self.zero_gamma_band is None else
                f"{format_level(self.zero_gamma_band[0])} .. {format_level(self.zero_gamma_band[1])}")
        return (f"{self.regime}: total {format_usd(lo)} .. {format_usd(hi)} per 1% over {len(self.treatments)} "
                f"treatment{'s' if len(self.treatments) != 1 else ''}; zero gamma {zero}")


def is_material_repair(note: Note, iv_policy: str) -> bool:
    """Whether the headline band shows the total without ``note``'s rows: a data repair
    (:data:`analytics.notes.ROW_REPAIRS`, repaired under ``iv_policy``) whose rows carry at least
    :data:`MATERIAL_SHARE` of gross GEX.

    Examples
    --------
    >>> n = Note("iv-from-twin", "602 IVs taken from the other side", 602, 1e4, share_of_gross=0.14)
    >>> is_material_repair(n, "file"), is_material_repair(Note("iv-placeholder", "", 9, 1.0, 0.2), "otm")
    (True, False)
    """
    return (note.code in ROW_REPAIRS and note.code not in NOT_REPAIRED.get(iv_policy, ())
            and (note.share_of_gross or 0.0) >= MATERIAL_SHARE)


def nearest_zero(levels: Sequence[float], spot: float) -> float | None:
    """The zero-gamma level nearest ``spot`` (None without one).

    Examples
    --------
    >>> nearest_zero([90.0, 104.0, 120.0], 100.0)
    104.0
    """
    a = np.asarray(list(levels), dtype=float)
    return float(a[np.argmin(np.abs(a - spot))]) if a.size else None


def zero_gamma_band(treatments: Sequence[Treatment], spot: float) -> tuple[float, float] | None:
    """Lowest and highest of the treatments' zero-gamma levels nearest spot; None when no treatment has
    a zero crossing in its grid."""
    near = [z for z in (nearest_zero(t.zero_gamma_levels, spot) for t in treatments) if z is not None]
    return (min(near), max(near)) if near else None


def regime(spot: float, totals: Sequence[float], band: tuple[float, float] | None, *,
           margin: float = ZERO_GAMMA_MARGIN) -> tuple[str, str]:
    """The regime (:data:`REGIMES`) and, when uncertain, why (the module's rule).

    Examples
    --------
    >>> regime(100.0, [-5.0, 3.0], None)[0]
    'uncertain'
    >>> regime(100.0, [-5.0, -3.0], (100.3, 101.0))[0]
    'uncertain'
    >>> regime(100.0, [-5.0, -3.0], (101.0, 102.0))
    ('short-gamma', '')
    >>> regime(100.0, [5.0, 3.0], (90.0, 99.6))[0]
    'uncertain'
    """
    signs = set(np.sign(np.asarray(totals, dtype=float)).tolist())
    if len(signs) > 1 or signs == {0.0}:
        return "uncertain", "the total's sign differs across treatments"
    if band is not None and band[0] - margin * spot <= spot <= band[1] + margin * spot:
        return "uncertain", (f"spot lies within the zero-gamma band widened by {100 * margin:g}% of spot")
    return ("long-gamma" if signs == {1.0} else "short-gamma"), ""


def headline_of(spot: float, treatments: Sequence[Treatment], *, skipped: Sequence[str] = (),
                margin: float = ZERO_GAMMA_MARGIN) -> Headline:
    """The :class:`Headline` of ``treatments`` (at least one; the first is the analysis's own)."""
    totals = [t.total_gex_usd_per_1pct for t in treatments]
    band = zero_gamma_band(treatments, spot)
    which, why = regime(spot, totals, band, margin=margin)
    return Headline(regime=which, total_gex_band_usd_per_1pct=(min(totals), max(totals)), zero_gamma_band=band,
                    treatments=tuple(treatments), reason=why, skipped=tuple(skipped), margin=margin)


def ill_conditioned_note(headline: Headline, spot: float, zero_gamma_levels: Sequence[float], profile_spot,
                         profile_gex) -> Note | None:
    """The ``ill-conditioned`` note: the headline's regime is uncertain across treatments (None when it
    is not). Its ``value`` is the analysis's own profile slope at its zero gamma nearest spot (USD per
    1% per point of the underlying), None without one.

    Examples
    --------
    >>> s = np.linspace(90.0, 110.0, 201)
    >>> h = headline_of(100.0, [Treatment("a", (), -1e6, (100.2,), None, None)])
    >>> n = ill_conditioned_note(h, 100.0, [100.2], s, 1e6 * (s - 100.2))
    >>> n.code, round(n.value)
    ('ill-conditioned', 1000000)
    """
    if headline.regime != "uncertain":
        return None
    nearest = nearest_zero(zero_gamma_levels, spot)
    slope = None
    if nearest is not None:
        x = np.asarray(profile_spot, dtype=float)
        slope = float(np.interp(nearest, x, np.gradient(np.asarray(profile_gex, dtype=float), x)))
    lo, hi = headline.total_gex_band_usd_per_1pct
    band = headline.zero_gamma_band
    where = "" if band is None else (
        f", zero gamma {format_level(band[0])} to {format_level(band[1])} "
        f"({100 * (band[0] / spot - 1):+.2f}% to {100 * (band[1] / spot - 1):+.2f}% of spot {spot:,.6g})")
    own = "" if slope is None else f"; profile slope at {nearest:,.6g}: {slope:,.4g} USD per 1% per point"
    summary = (f"the headline's sign depends on the treatment ({headline.reason}): total GEX "
               f"{format_usd(lo)} to {format_usd(hi)} per 1% over {len(headline.treatments)} treatments{where}{own}")
    return Note(code="ill-conditioned", summary=summary, rows=0, contracts=0.0, value=slope)


# --------------------------------------------------------------------------- the regime line (issue 18)

REGIME_WORDS: dict[str, str] = {"long-gamma": "LONG γ", "short-gamma": "SHORT γ", "uncertain": "UNCERTAIN γ"}
NO_PREVIOUS_TEXT = "no comparable previous snapshot"


@dataclass(frozen=True)
class RegimeLine:
    """The one line a desk reads first: the regime (:data:`REGIMES`), its badge word and the rest.

    ``text`` is ``badge · detail``; the page colours the badge by ``regime``.
    """

    regime: str
    badge: str
    detail: str

    @property
    def text(self) -> str:
        return f"{self.badge} · {self.detail}"


def _level_text(level: float, spot: float) -> str:
    """A computed level at the precision a desk quotes it: whole points from 1,000 up, else 2 decimals."""
    return format_strike(round(float(level), 0 if abs(spot) >= 1000 else 2))


def regime_line(headline: Headline | None, *, spot: float, total_gex_usd_per_1pct: float,
                zero_gamma_levels: Sequence[float], call_wall: float | None, put_wall: float | None,
                previous_total_gex_usd_per_1pct: float | None = None,
                no_previous: str = NO_PREVIOUS_TEXT, change_label: str = "d/d") -> RegimeLine:
    """The regime line of one analysis: regime, zero gamma nearest spot (and its distance), the call
    and put walls, the net GEX (USD per 1% move) and its change against the comparable previous snapshot.

    Parameters
    ----------
    headline : Headline or None
        The analysis's band (:attr:`analytics.report.Analysis.headline`); None (an analysis made without
        the band) reads the regime off the analysis's own numbers alone.
    spot, total_gex_usd_per_1pct, zero_gamma_levels, call_wall, put_wall
        The analysis's own numbers (the first treatment's).
    previous_total_gex_usd_per_1pct : float, optional
        The comparable previous snapshot's total (:func:`dashboard.service.find_previous`); None: ``no_previous``
        is said instead of the change.
    change_label : str, default "d/d"
        What the change is against (:func:`analytics.levels.change_label`: "d/d", or "vs 11:55" intraday).

    Examples
    --------
    >>> h = headline_of(6754.0, [Treatment("own", (), -8.67e10, (6943.2,), 6800.0, 6600.0)])
    >>> regime_line(h, spot=6754.0, total_gex_usd_per_1pct=-8.67e10, zero_gamma_levels=[6943.2],
    ...             call_wall=6800.0, put_wall=6600.0, previous_total_gex_usd_per_1pct=-5.37e10).text
    'SHORT γ · zero γ 6,943 (+2.8%) · walls 6,800 / 6,600 · net -$86.7bn (-$33bn d/d)'
    >>> t = [Treatment("a", (), -2.08e10, (4736.0,), 4800.0, 4600.0), Treatment("b", (), -1.12e10, (4718.0,), None, None)]
    >>> regime_line(headline_of(4720.0, t), spot=4720.0, total_gex_usd_per_1pct=-2.08e10, zero_gamma_levels=[4736.0],
    ...             call_wall=4800.0, put_wall=4600.0).text
    'UNCERTAIN γ · total -$20.8bn..-$11.2bn across treatments · zero γ 4,718-4,736 (spot inside the band) · walls 4,800 / 4,600 · net -$20.8bn (no comparable previous snapshot)'
    """
    zeros = tuple(float(z) for z in zero_gamma_levels)
    if headline is None:
        headline = headline_of(spot, [Treatment("own", (), float(total_gex_usd_per_1pct), zeros, call_wall, put_wall)])
    parts: list[str] = []
    if headline.regime == "uncertain":
        lo, hi = headline.total_gex_band_usd_per_1pct
        if len(headline.treatments) > 1:
            parts.append(f"total {format_usd(lo)}..{format_usd(hi)} across treatments")
        band = headline.zero_gamma_band
        if band is not None:
            inside = band[0] - headline.margin * spot <= spot <= band[1] + headline.margin * spot
            span = (_level_text(band[0], spot) if _level_text(band[0], spot) == _level_text(band[1], spot)
                    else f"{_level_text(band[0], spot)}-{_level_text(band[1], spot)}")
            why = "spot inside the band" if inside else "the total's sign differs across treatments"
            parts.append(f"zero γ {span} ({why})")
        else:
            parts.append("zero γ none in range (the total's sign differs across treatments)")
    else:
        nearest = nearest_zero(zeros, spot)
        parts.append("zero γ none in range" if nearest is None else
                     f"zero γ {_level_text(nearest, spot)} ({format_pct(100 * (nearest / spot - 1), signed=True)})")
    parts.append(f"walls {format_strike(call_wall)} / {format_strike(put_wall)}")
    if previous_total_gex_usd_per_1pct is None or not np.isfinite(previous_total_gex_usd_per_1pct):
        change = no_previous
    else:
        change = f"{format_usd(total_gex_usd_per_1pct - previous_total_gex_usd_per_1pct, signed=True)} {change_label}"
    parts.append(f"net {format_usd(total_gex_usd_per_1pct)} ({change})")
    return RegimeLine(regime=headline.regime, badge=REGIME_WORDS[headline.regime], detail=" · ".join(parts))
