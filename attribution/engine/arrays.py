"""Credit for a whole batch of orders at once, as arrays: `attribution.credit`'s rules, computed
with numpy over every touch of the batch instead of order by order in Python.

`attribution.credit` is the definition; this module computes the same integers by the same
float operations, in the same order, so every weight and cent is identical (the property tests
compare the two on random journeys). Where the float path of `credit.apportion` would hand over
to its exact Fraction path, the order is reported back and the caller computes it with
`credit` itself.

The layout: a batch holds T touches of G orders; an order's touches are contiguous and in
journey order. `Segments` describes that layout once (which order each touch belongs to, its
position in the order, where each order starts), and every function here takes it.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import inf
from sys import float_info

import numpy as np

from attribution import credit

WEIGHT_UNITS = credit.WEIGHT_UNITS
_MIN_NORMAL = float_info.min


@dataclass(frozen=True)
class Segments:
    """Which order each of T touches belongs to (`order`), its position in its order
    (`position`), the number of touches of its order (`size`), and per order its first
    touch (`starts`) and its touch count (`counts`)."""

    order: np.ndarray
    position: np.ndarray
    size: np.ndarray
    starts: np.ndarray
    counts: np.ndarray

    @classmethod
    def of(cls, counts: np.ndarray) -> Segments:
        counts = np.asarray(counts, dtype=np.int64)
        starts = np.cumsum(counts) - counts
        order = np.repeat(np.arange(len(counts), dtype=np.int64), counts)
        position = np.arange(len(order), dtype=np.int64) - starts[order]
        return cls(order, position, counts[order], starts, counts)

    def ranks(self, key: np.ndarray) -> np.ndarray:
        """Each touch's rank in its order by `key` ascending, ties to the earlier position (the
        stable sort `credit` uses)."""
        by = np.lexsort((self.position, key, self.order))
        ranks = np.empty(len(by), dtype=np.int64)
        ranks[by] = np.arange(len(by), dtype=np.int64) - self.starts[self.order[by]]
        return ranks


def python_sums(values: np.ndarray, segments: Segments) -> np.ndarray:
    """Per order, `sum()` of its float values in journey order, exactly as CPython (3.12 and
    later) adds floats: Neumaier's compensated summation, the compensation added at the end
    when it is non-zero and finite. Sequential over positions, vectorised over orders."""
    orders = len(segments.counts)
    total = np.zeros(orders)
    compensation = np.zeros(orders)
    by_position = np.argsort(segments.position, kind="stable")
    bounds = np.searchsorted(segments.position[by_position], np.arange(segments.counts.max() + 1))
    for k in range(len(bounds) - 1):
        touches = by_position[bounds[k] : bounds[k + 1]]
        at, x = segments.order[touches], values[touches]
        if k == 0:
            total[at] = x + 0.0  # 0 + x: the int start of sum() meets the first float
            continue
        f = total[at]
        with np.errstate(over="ignore", invalid="ignore"):  # as Python: inf and nan, no error
            t = f + x
            compensation[at] += np.where(np.abs(f) >= np.abs(x), (f - t) + x, (x - t) + f)
        total[at] = t
    add = (compensation != 0) & np.isfinite(compensation)
    with np.errstate(over="ignore"):
        total[add] += compensation[add]
    return total


def apportion(shares: np.ndarray, segments: Segments) -> tuple[np.ndarray, np.ndarray]:
    """`credit.apportion(shares of an order, WEIGHT_UNITS)` for every order, by its float path.
    Returns the units per touch and, per order, whether the float path held; an order where
    it did not (the sum is not a normal float, or float error left too few or too many units)
    must be computed with `credit.apportion` (its units here are meaningless)."""
    whole = python_sums(shares, segments)
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        scale = WEIGHT_UNITS / whole
        exact = shares * scale[segments.order]
        ok = (whole >= _MIN_NORMAL) & (whole < inf) & (scale < inf)
        exact = np.where(ok[segments.order], exact, 0.0)
    parts = np.floor(exact).astype(np.int64)  # int(e): every exact part is non-negative
    missing = WEIGHT_UNITS - np.add.reduceat(parts, segments.starts)
    ok &= (missing >= 0) & (missing <= segments.counts)
    # Largest remainder first: `credit` sorts by parts[i] - exact[i] ascending, ties earlier.
    ranks = segments.ranks(parts.astype(np.float64) - exact)
    parts += ranks < missing[segments.order]
    return parts, ok


def count_units(model: str, segments: Segments) -> np.ndarray:
    """Units of the models that look only at a touch's rank (`credit._by_count`)."""
    sizes = np.unique(segments.counts)
    table = np.zeros((int(sizes.max()) + 1, int(sizes.max())), dtype=np.int64)
    for n in sizes.tolist():
        table[n, :n] = credit._by_count(model, n)[1]
    return table[segments.size, segments.position]


def time_decay_units(
    ages: np.ndarray, segments: Segments, half_life_days: float = credit.HALF_LIFE_DAYS
) -> tuple[np.ndarray, np.ndarray]:
    """`credit._time_decay_units` for every order: `ages` are the touches' ages in seconds
    (order time less touch time, as `timedelta.total_seconds()` gives them). Returns units and
    the per-order float-path flag of `apportion`."""
    scale = 1.0 / (half_life_days * 86400.0)
    ages = np.maximum(ages, 0.0)
    youngest = np.minimum.reduceat(ages, segments.starts)
    exponents = -(ages - youngest[segments.order]) * scale
    # Python's own float power (C's pow), so every share is the very float credit computes.
    shares = np.fromiter(map((2.0).__pow__, exponents.tolist()), np.float64, len(exponents))
    return apportion(shares, segments)


def data_driven_units(
    effects: np.ndarray, keys: np.ndarray, segments: Segments
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """`credit._data_driven_units` for every order: `effects` is each touch's key's removal
    effect (0.0 without one), `keys` an integer naming each touch's key. Returns units, the
    per-order float-path flag, and per order whether it falls back (no key with an effect
    that counts), whose units here are meaningless."""
    effects = np.where((effects >= credit.EFFECT_NOISE) & (effects < inf), effects, 0.0)
    usable = np.maximum.reduceat(effects, segments.starts) > 0.0
    # How many touches of its order share each touch's key.
    pairs = segments.order * (int(keys.max()) + 1 if len(keys) else 1) + keys
    _, inverse, counts = np.unique(pairs, return_inverse=True, return_counts=True)
    shares = effects / counts[inverse]
    units, ok = apportion(np.where(usable[segments.order], shares, 1.0), segments)
    return units, ok, ~usable


def split_minor(cents: np.ndarray, units: np.ndarray, segments: Segments) -> np.ndarray:
    """`Credit.split_minor` for every segment: each segment's amount (`cents`, in minor units)
    split by its touches' weight units, by largest remainder, ties to the earlier touch; a
    negative amount as the mirror of the positive one. cents x units is taken in two halves
    (millions of minor units and the rest), so no amount a money column holds overflows."""
    magnitude = np.abs(cents)
    millions, rest = np.divmod(magnitude, WEIGHT_UNITS)
    units = units.astype(np.int64)
    low_parts, remainders = np.divmod(rest[segments.order] * units, WEIGHT_UNITS)
    parts = millions[segments.order] * units + low_parts
    missing = magnitude - np.add.reduceat(parts, segments.starts)
    parts += segments.ranks(-remainders) < missing[segments.order]
    return np.where(cents[segments.order] < 0, -parts, parts)
