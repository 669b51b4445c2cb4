"""Credit: how much of an order each touch of its journey earns, under each attribution model.

Pure functions, no database and no Django settings: the engine feeds them journeys it has loaded and
writes what they return. They run once per order and model in a bulk recalculation (a million orders
times six models), so the hot path works on integers and precomputed tables and builds a Decimal
only for what it returns.

Invariants, for every order and model (the property tests check them on random journeys):

- a journey's touches are ordered by ``(touched_at, position)``; every list of weights or money
  parts lines up with that order (``Credit.touches``);
- each weight is a Decimal with exactly ``WEIGHT_PLACES`` (6) decimal places, in [0, 1], and the
  weights of an order sum to exactly 1;
- an amount split by the weights sums to exactly the amount (rounded to the currency's minor unit),
  and the same input always gives the same cents.

Why the largest-remainder method, for weights and for money alike: rounding every share on its
own loses or invents units (three thirds of 100.00 round to 99.99; three thirds of 1 to 0.999999).
Largest remainder first gives every share its rounded-down value, then hands the units still
missing, one each, to the shares that lost the most in rounding down. The parts then sum to the
total exactly, no share moves by more than one unit from its exact value, and ties in the remainder
go to the earlier touch, so a rebuild gives the same cents every time.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from fractions import Fraction
from math import inf
from operator import attrgetter
from sys import float_info

from omnisocial.money import minor_units, round_money

FIRST_TOUCH = "first-touch"
LAST_TOUCH = "last-touch"
MULTI_TOUCH = "multi-touch"
POSITION_BASED = "position-based"
TIME_DECAY = "time-decay"
DATA_DRIVEN = "data-driven"

#: Every model, in the order the product lists them.
MODELS: tuple[str, ...] = (
    FIRST_TOUCH,
    LAST_TOUCH,
    MULTI_TOUCH,
    POSITION_BASED,
    TIME_DECAY,
    DATA_DRIVEN,
)

#: Decimal places of a weight; a weight is a whole number of millionths.
WEIGHT_PLACES = 6
WEIGHT_UNITS = 10**WEIGHT_PLACES

#: Time decay halves a touch's weight for every week it lies before the order. A week matches the
#: weekly rhythm of social posting and the usual default of analytics tools, and is short enough
#: that the post which brought the buyer back counts more than the one that first showed it.
HALF_LIFE_DAYS = 7

#: Position-based shares: 40 % to the first touch, 40 % to the last, 20 % split between the middle.
_POSITION_ENDS = Fraction(2, 5)
_POSITION_MIDDLE = Fraction(1, 5)

_SECONDS_PER_DAY = 86400.0

#: Removal effects below this are float noise (the Markov solve's, or a subnormal), not a
#: contribution: the data-driven model treats them as zero, and :mod:`attribution.markov` rounds
#: them to zero. An order none of whose keys has an effect at least this large falls back.
EFFECT_NOISE = 1e-12


@dataclass(frozen=True, slots=True)
class Touch:
    """One touch of an order's journey.

    ``key`` is what the data-driven model credits (a post id, or any hashable naming a platform-only
    touch such as ``("platform", "instagram")``; ``None`` is allowed). ``position`` breaks ties
    between touches at the same instant: give each touch of a journey a distinct one (for example
    the click's id), since equal ``(touched_at, position)`` pairs keep the order they were given in.
    """

    key: Hashable
    post_id: int | None
    touched_at: datetime
    position: int = 0


@dataclass(frozen=True, slots=True)
class Credit:
    """An order's credit under one model.

    ``weights[i]`` belongs to ``touches[i]`` (journey order). ``fallback`` is true when the
    data-driven model had too little data for this order and multi-touch weights stand in for it.
    """

    model: str
    touches: tuple[Touch, ...]
    weights: tuple[Decimal, ...]
    units: tuple[int, ...]
    fallback: bool = False

    def split(self, amount: Decimal, currency: str) -> list[Decimal]:
        """Splits ``amount`` by these weights; see :func:`split_amount`."""
        return _split_units(amount, self.units, currency)

    def split_minor(self, cents: int, currency: str) -> list[Decimal]:
        """Splits an amount given in minor units (see :func:`minor_of`) by these weights."""
        return _split_minor(cents, self.units, currency)


_journey_order = attrgetter("touched_at", "position")


def journey(touches: Iterable[Touch]) -> tuple[Touch, ...]:
    """Touches in journey order: by time, then by ``position`` for touches at the same instant."""
    return tuple(sorted(touches, key=_journey_order))


def weights_for(
    model: str,
    touches: Sequence[Touch],
    *,
    order_at: datetime,
    half_life_days: float = HALF_LIFE_DAYS,
    removal_effects: Mapping[Hashable, float] | None = None,
) -> list[Decimal]:
    """The weights of ``touches`` under ``model``, in journey order (see :class:`Credit`).

    Use :func:`credit_for` to learn whether the data-driven model fell back to multi-touch.
    """
    return list(
        credit_for(
            model,
            touches,
            order_at=order_at,
            half_life_days=half_life_days,
            removal_effects=removal_effects,
        ).weights
    )


def credit_for(
    model: str,
    touches: Sequence[Touch],
    *,
    order_at: datetime,
    half_life_days: float = HALF_LIFE_DAYS,
    removal_effects: Mapping[Hashable, float] | None = None,
) -> Credit:
    """An order's credit under ``model``: touches in journey order, weights, fallback flag.

    ``order_at`` is when the order was placed (time decay measures ages to it).
    ``removal_effects`` is what :func:`attribution.markov.removal_effects` returned for the
    workspace; the data-driven model needs it and falls back to multi-touch without it.
    """
    ordered = journey(touches)
    if not ordered:
        raise ValueError("an order with no touch has nothing to credit")
    return _credit(model, ordered, order_at, half_life_days, removal_effects)


def credits_for(
    touches: Sequence[Touch],
    *,
    order_at: datetime,
    models: Iterable[str] = MODELS,
    half_life_days: float = HALF_LIFE_DAYS,
    removal_effects: Mapping[Hashable, float] | None = None,
) -> dict[str, Credit]:
    """An order's credit under several models at once, sorting its journey only once."""
    ordered = journey(touches)
    if not ordered:
        raise ValueError("an order with no touch has nothing to credit")
    return {
        model: _credit(model, ordered, order_at, half_life_days, removal_effects)
        for model in models
    }


def _credit(
    model: str,
    ordered: tuple[Touch, ...],
    order_at: datetime,
    half_life_days: float,
    removal_effects: Mapping[Hashable, float] | None,
) -> Credit:
    n = len(ordered)
    if model == TIME_DECAY:
        units = _time_decay_units(ordered, order_at, half_life_days)
        return Credit(model, ordered, _weights_of(units), units)
    if model == DATA_DRIVEN:
        units = _data_driven_units(ordered, removal_effects) if removal_effects else None
        if units is None:
            weights, units = _by_count(MULTI_TOUCH, n)
            return Credit(model, ordered, weights, units, fallback=True)
        return Credit(model, ordered, _weights_of(units), units)
    weights, units = _by_count(model, n)
    return Credit(model, ordered, weights, units)


# --- models whose weights depend only on the number of touches: computed once per count ---

_BY_COUNT: dict[tuple[str, int], tuple[tuple[Decimal, ...], tuple[int, ...]]] = {}


def _by_count(model: str, n: int) -> tuple[tuple[Decimal, ...], tuple[int, ...]]:
    try:
        return _BY_COUNT[model, n]
    except KeyError:
        pass
    shares = _count_shares(model, n)
    units = tuple(apportion(shares, WEIGHT_UNITS))
    _BY_COUNT[model, n] = entry = (_weights_of(units), units)
    return entry


def _count_shares(model: str, n: int) -> list[Fraction]:
    """Exact shares (fractions) of the models that look only at a touch's rank in the journey."""
    zero, one = Fraction(0), Fraction(1)
    if model == FIRST_TOUCH:
        return [one] + [zero] * (n - 1)
    if model == LAST_TOUCH:
        return [zero] * (n - 1) + [one]
    if model == MULTI_TOUCH:
        return [Fraction(1, n)] * n
    if model == POSITION_BASED:
        # One touch takes everything and two share it evenly: with no middle, the 20 % middle share
        # has nowhere to go, and splitting it evenly between the two ends keeps them equal.
        if n <= 2:
            return [Fraction(1, n)] * n
        return [_POSITION_ENDS] + [_POSITION_MIDDLE / (n - 2)] * (n - 2) + [_POSITION_ENDS]
    raise ValueError(f"unknown attribution model {model!r}; expected one of {', '.join(MODELS)}")


# --- time decay ---


def _time_decay_units(
    ordered: tuple[Touch, ...], order_at: datetime, half_life_days: float
) -> tuple[int, ...]:
    """Weight proportional to 2^(-age / half-life), age in days from the touch to the order.

    A touch stamped after the order (clock skew between a click and a store) counts as age 0,
    never as a negative age that would weigh more than a touch at the moment of purchase. Ages are
    taken relative to the youngest touch, which has weight 1, so very old journeys do not underflow.
    """
    if half_life_days <= 0:
        raise ValueError("half_life_days must be positive")
    scale = 1.0 / (half_life_days * _SECONDS_PER_DAY)
    ages = [max((order_at - t.touched_at).total_seconds(), 0.0) for t in ordered]
    youngest = min(ages)
    return tuple(apportion([2.0 ** (-(age - youngest) * scale) for age in ages], WEIGHT_UNITS))


# --- data-driven ---


def _data_driven_units(
    ordered: tuple[Touch, ...], removal_effects: Mapping[Hashable, float]
) -> tuple[int, ...] | None:
    """Each distinct key's removal effect normalised over the order, shared evenly by its touches.

    An effect counts only if it is finite and at least :data:`EFFECT_NOISE`; anything else (missing,
    negative, NaN, a subnormal left over from float error) is zero. None when none of the order's
    keys has an effect that counts: the caller falls back.
    """
    counts: dict[Hashable, int] = {}
    for t in ordered:
        counts[t.key] = counts.get(t.key, 0) + 1
    effects = {}
    usable = False
    for key in counts:
        effect = float(removal_effects.get(key, 0.0))
        if EFFECT_NOISE <= effect < inf:  # also false for NaN
            effects[key] = effect
            usable = True
        else:
            effects[key] = 0.0
    if not usable:
        return None
    return tuple(apportion([effects[t.key] / counts[t.key] for t in ordered], WEIGHT_UNITS))


# --- largest remainder ---

_MIN_NORMAL = float_info.min


def apportion(shares: Sequence[float | Fraction | int], total: int) -> list[int]:
    """Whole units proportional to ``shares`` (finite, non-negative, not all zero), summing to
    ``total`` (a non-negative int).

    Largest-remainder method: each share first gets the floor of its exact part; the units still
    missing go one each to the largest remainders, ties to the earlier share.

    Float shares take a fast float path when their sum is a normal float and the float results are
    consistent; otherwise (subnormal or overflowing sums, Fractions, ints) the parts are computed
    exactly with Fractions. So any finite non-negative shares, however tiny or large, are
    apportioned; only negative, infinite, NaN or all-zero shares raise ValueError.
    """
    if not shares:
        raise ValueError("shares must be non-negative and not all zero")
    whole = sum(shares)
    if isinstance(whole, float) and _MIN_NORMAL <= whole < inf and min(shares) >= 0:
        scale = total / whole
        if scale < inf:
            exact = [s * scale for s in shares]
            parts = [int(e) for e in exact]  # floor: every exact part is non-negative
            missing = total - sum(parts)
            if 0 <= missing <= len(parts):  # else float error: redo it exactly below
                _hand_out(parts, exact, missing)
                return parts
    return _apportion_exact(shares, total)


def _apportion_exact(shares: Sequence[float | Fraction | int], total: int) -> list[int]:
    try:
        fractions = [Fraction(s) for s in shares]
    except (ValueError, OverflowError, TypeError):  # NaN, infinity, not a number
        raise ValueError(f"shares must be finite numbers, got {shares!r}") from None
    whole = sum(fractions)
    if whole <= 0 or min(fractions) < 0:
        raise ValueError("shares must be non-negative and not all zero")
    exact = [s * total / whole for s in fractions]
    parts = [e.numerator // e.denominator for e in exact]
    _hand_out(parts, exact, total - sum(parts))  # exact: 0 <= missing < len(parts)
    return parts


def _hand_out(parts: list[int], exact: Sequence[float | Fraction], missing: int) -> None:
    """Gives ``missing`` units, one each, to the largest remainders; ties to the earlier share."""
    if missing:
        # Largest remainder first; sorted() is stable, so equal remainders keep journey order.
        by_remainder = sorted(range(len(parts)), key=lambda i: parts[i] - exact[i])
        for i in by_remainder[:missing]:
            parts[i] += 1


class _Decimals(dict):
    """Decimals of whole numbers of units (cents, millionths), built once each: a rebuild turns
    millions of split parts into Decimals, and they repeat (the same cents and weights recur
    order after order). Bounded, so an unusual store cannot grow it without end."""

    __slots__ = ("exponent",)
    LIMIT = 200_000

    def __init__(self, places: int) -> None:
        super().__init__()
        self.exponent = -places

    def __missing__(self, units: int) -> Decimal:
        value = Decimal(units).scaleb(self.exponent)
        if len(self) < self.LIMIT:
            self[units] = value
        return value


_WEIGHTS = _Decimals(WEIGHT_PLACES)


def _weights_of(units: Sequence[int]) -> tuple[Decimal, ...]:
    return tuple(map(_WEIGHTS.__getitem__, units))


# --- money ---


def split_amount(amount: Decimal, weights: Sequence[Decimal], currency: str) -> list[Decimal]:
    """Splits ``amount`` between touches by ``weights`` (as :func:`weights_for` returns them).

    The amount is first rounded to the currency's minor unit with ``round_money`` (JPY has none;
    every currency is capped at the two decimals that storage keeps). The parts are whole minor
    units and sum exactly to that amount, by the largest-remainder method; ties in the remainder go
    to the earlier touch. A negative amount (a refund) is split as the mirror image of the same
    positive amount, so refunding an order in full takes back exactly the cents each touch got.
    """
    units = [int(w.scaleb(WEIGHT_PLACES)) for w in weights]
    if sum(units) != WEIGHT_UNITS or min(units, default=-1) < 0:
        raise ValueError("weights must be non-negative, with 6 decimal places, summing to 1")
    return _split_units(amount, units, currency)


_MINOR_UNITS: dict[str, _Decimals] = {}


def _money_of(currency: str) -> _Decimals:
    table = _MINOR_UNITS.get(currency)
    if table is None:
        table = _MINOR_UNITS[currency] = _Decimals(minor_units(currency))
    return table


def minor_of(amount: Decimal, currency: str) -> int:
    """``amount`` as a whole number of the currency's minor units (rounded with ``round_money``
    first when it has more places than the currency keeps): what :meth:`Credit.split_minor`
    splits. Convert an amount once when several models split it."""
    places = -_money_of(currency).exponent
    scaled = amount.scaleb(places)
    cents = int(scaled)
    if cents != scaled:
        cents = int(round_money(amount, currency).scaleb(places))
    return cents


def _split_units(amount: Decimal, units: Sequence[int], currency: str) -> list[Decimal]:
    return _split_minor(minor_of(amount, currency), units, currency)


def _split_minor(cents: int, units: Sequence[int], currency: str) -> list[Decimal]:
    negative = cents < 0
    if negative:
        cents = -cents
    parts = []
    remainders = []
    for u in units:
        part, remainder = divmod(cents * u, WEIGHT_UNITS)
        parts.append(part)
        remainders.append(remainder)
    missing = cents - sum(parts)
    if missing:
        for i in sorted(range(len(parts)), key=remainders.__getitem__, reverse=True)[:missing]:
            parts[i] += 1
    money = _money_of(currency)
    if negative:
        return [money[-p] for p in parts]
    return list(map(money.__getitem__, parts))
