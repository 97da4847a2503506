"""Rows grouped by integer codes: one key for a pair of codes, the order by code then value, and the
median per group, in numpy (no multi-column groupby, no MultiIndex, no hashing of floats or dates).

The per-expiry and per-(expiry, strike) views (:mod:`analytics.exposure`, :mod:`analytics.smile`,
:mod:`analytics.maxpain`, :mod:`analytics.term`), the parity forwards (:mod:`analytics.forwards`),
the placeholder-IV rule (:mod:`analytics.prepare`) and the chain's row order (:mod:`analytics.chain`)
group through these, each checked against the pandas groupby or lexsort it replaces
(``tests/unit/test_group_keys.py``, ``tests/unit/test_forwards_fast.py``).
"""

from __future__ import annotations

import numpy as np


def pair_key(major: np.ndarray, minor: np.ndarray, n_minor: int) -> np.ndarray:
    """One integer per row for its (major, minor) pair of codes (``minor`` in ``0 .. n_minor - 1``),
    ordered as the pairs sort: grouping on it groups on both columns, in their order, without a
    MultiIndex. :func:`split_key` reads a key back.

    Examples
    --------
    >>> key = pair_key(np.array([1, 0, 1]), np.array([2, 0, 1]), 3)
    >>> key.tolist(), [a.tolist() for a in split_key(key, 3)]
    ([5, 0, 4], [[1, 0, 1], [2, 0, 1]])
    """
    return np.asarray(major).astype(np.int64) * max(n_minor, 1) + minor


def split_key(key: np.ndarray, n_minor: int) -> tuple[np.ndarray, np.ndarray]:
    """The (major, minor) codes of :func:`pair_key`'s ``key`` values."""
    return np.divmod(key, max(n_minor, 1))


def sorted_group_medians(codes: np.ndarray, by_code: np.ndarray, starts: np.ndarray,
                          values: np.ndarray) -> np.ndarray:
    """:func:`group_medians` of ``values`` per group ``codes`` (every group present; ``by_code`` a stable
    sort of the codes, ``starts`` each group's first position in it): a group whose values are all one
    float (NaN left out; zeros of one sign) has that median without a sort (the expiries of a parity or
    spot treatment: one forward and one rate each); the others are sorted."""
    if not starts.size:
        return np.empty(0)
    ordered = values[by_code]
    lo, hi = np.fmin.reduceat(ordered, starts), np.fmax.reduceat(ordered, starts)
    # fmin and fmax take either zero of 0.0 and -0.0: the signs are read off the values
    known = ~np.isnan(ordered)
    negative = np.signbit(ordered)
    some_negative = np.logical_or.reduceat(negative & known, starts)
    mixed = ~((lo == hi) & (some_negative == np.logical_and.reduceat(negative | ~known, starts)))
    lo = np.copysign(lo, np.where(some_negative, -1.0, 1.0))
    if mixed.any():
        rows = mixed[codes]
        lo[mixed] = group_medians(codes[rows], starts.size, values[rows])[mixed]
    return lo


def group_medians(codes: np.ndarray, n_groups: int, values: np.ndarray) -> np.ndarray:
    """The median of ``values`` per group ``codes`` (``0 .. n_groups - 1``), NaN left out and NaN for a
    group without a value: pandas' ``groupby(codes).median()`` (the mean of the two middle values of
    an even count), from one sort instead of a groupby.

    Examples
    --------
    >>> group_medians(np.array([0, 1, 0, 1, 1, 0]), 3, np.array([4.0, 1.0, np.nan, 3.0, 2.0, 1.0])).tolist()
    [2.5, 2.0, nan]
    """
    codes = np.asarray(codes)
    v = np.asarray(values, dtype=float)
    if not v.size:
        return np.full(n_groups, np.nan)
    order = order_by_code(codes, v)
    s = v[order]
    starts = np.searchsorted(codes[order], np.arange(n_groups))
    count = np.bincount(codes[~np.isnan(v)], minlength=n_groups)
    # the middle pair's positions (one position for an odd count; clipped where a group has no value)
    lo = np.minimum(starts + np.maximum(count - 1, 0) // 2, s.size - 1)
    hi = np.minimum(starts + count // 2, s.size - 1)
    return np.where(count == 0, np.nan, np.where(count % 2 == 0, (s[lo] + s[hi]) / 2, s[lo]))


def order_by_code(codes: np.ndarray, values: np.ndarray) -> np.ndarray:
    """``np.lexsort((values, codes))`` for integer ``codes``: positions by code, then value (NaN last),
    ties in position order; from a stable sort on the values and a stable one on the codes (a radix sort
    where they fit 16 bits), which beats lexsort's passes.

    Examples
    --------
    >>> order_by_code(np.array([1, 0, 1, 0]), np.array([2.0, 5.0, np.nan, 5.0])).tolist()
    [1, 3, 0, 2]
    """
    by_value = np.argsort(values, kind="stable")
    code_of = codes[by_value]
    if code_of.size and code_of.dtype.kind in "iu" and -(2 ** 15) <= code_of.min() and code_of.max() < 2 ** 15:
        code_of = code_of.astype(np.int16)
    return by_value[np.argsort(code_of, kind="stable")]
