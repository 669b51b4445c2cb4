"""The batch engine's arrays (attribution.engine.arrays) equal `attribution.credit` exactly: the
same weight units and the same cents for every order of a batch, on random journeys, effects
and amounts, including the float edge cases where `credit` takes its exact path."""

import math
from datetime import UTC, datetime, timedelta

import numpy as np
from hypothesis import example, given
from hypothesis import strategies as st

from attribution import credit
from attribution.engine import arrays

ORDER_AT = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def segments_of(orders) -> arrays.Segments:
    return arrays.Segments.of(np.array([len(o) for o in orders], dtype=np.int64))


FLOATS = st.one_of(
    st.floats(min_value=0, max_value=1e300, allow_nan=False),
    st.sampled_from([0.0, 5e-324, 1e-308, 1e-12, 0.1, 0.2, 0.3, 1.0, 1e16, 2.0**53]),
)


@given(st.lists(st.lists(FLOATS, min_size=1, max_size=7), min_size=1, max_size=12))
@example([[1e16, 1.0, -1e16 + 0.0, 1.0]])  # cancellation: the compensation matters
@example([[0.1] * 7, [1e308, 1e308]])  # an overflowing sum
def test_sums_equal_python_sum(orders):
    values = np.array([v for o in orders for v in o], dtype=np.float64)
    found = arrays.python_sums(values, segments_of(orders))
    for order, total in zip(orders, found.tolist(), strict=True):
        expected = sum(order)
        assert total == expected or (math.isnan(total) and math.isnan(expected))


@given(st.lists(st.lists(FLOATS, min_size=1, max_size=7), min_size=1, max_size=12))
@example([[5e-324, 5e-324], [1e300, 1e300, 1e-300], [0.0, 1e-12]])
def test_apportion_equals_credit_where_its_float_path_holds(orders):
    orders = [o if sum(o) > 0 else [*o, 1.0] for o in orders]
    values = np.array([v for o in orders for v in o], dtype=np.float64)
    segments = segments_of(orders)
    units, held = arrays.apportion(values, segments)
    for index, order in enumerate(orders):
        start = int(segments.starts[index])
        got = units[start : start + len(order)].tolist()
        expected = credit.apportion(order, credit.WEIGHT_UNITS)
        if held[index]:
            assert got == expected
        else:  # the caller computes these with credit: it is the exact path's case
            whole = sum(order)
            scale = credit.WEIGHT_UNITS / whole if whole >= 2.2250738585072014e-308 else math.inf
            floors = [int(s * scale) for s in order] if scale < math.inf else []
            assert not floors or not 0 <= credit.WEIGHT_UNITS - sum(floors) <= len(order)


JOURNEYS = st.lists(
    st.lists(
        st.tuples(
            st.integers(min_value=-7200, max_value=120 * 86400),  # seconds before the order
            st.integers(min_value=0, max_value=999_999),  # microseconds
            st.sampled_from([1, 2, 3, 4, 5]),  # the key data-driven credits
        ),
        min_size=1,
        max_size=8,
    ),
    min_size=1,
    max_size=10,
)
EFFECTS = st.dictionaries(
    st.sampled_from([1, 2, 3, 4, 5]),
    st.one_of(
        st.floats(min_value=0, max_value=1),
        st.sampled_from([5e-324, 1e-13, credit.EFFECT_NOISE, float("nan"), float("inf"), -1.0]),
    ),
    max_size=5,
)


def touches_of(journey):
    touches = [
        credit.Touch(key=key, post_id=key,
                     touched_at=ORDER_AT - timedelta(seconds=seconds, microseconds=micro),
                     position=i)
        for i, (seconds, micro, key) in enumerate(journey)
    ]  # fmt: skip
    return credit.journey(touches)


@given(JOURNEYS, EFFECTS)
@example([[(0, 0, 1), (0, 0, 1)], [(86400 * 7, 0, 2), (0, 0, 3)]], {1: 5e-324, 2: 0.5})
def test_every_model_equals_credit(journeys, effects):
    ordered = [touches_of(j) for j in journeys]
    segments = segments_of(ordered)
    ages = np.array(
        [(ORDER_AT - t.touched_at).total_seconds() for o in ordered for t in o], dtype=np.float64
    )
    keys = np.array([t.key for o in ordered for t in o], dtype=np.int64)
    effect = np.array([float(effects.get(int(k), 0.0)) for k in keys], dtype=np.float64)
    decay, decay_held = arrays.time_decay_units(ages, segments)
    data, data_held, fallback = arrays.data_driven_units(effect, keys, segments)
    by_count = {m: arrays.count_units(m, segments) for m in credit.MODELS[:4]}
    for index, touches in enumerate(ordered):
        start, end = int(segments.starts[index]), int(segments.starts[index]) + len(touches)
        expected = credit.credits_for(touches, order_at=ORDER_AT, removal_effects=effects)
        for model, units in by_count.items():
            assert units[start:end].tolist() == list(expected[model].units)
        if decay_held[index]:
            assert decay[start:end].tolist() == list(expected[credit.TIME_DECAY].units)
        data_driven = expected[credit.DATA_DRIVEN]
        assert bool(fallback[index]) == data_driven.fallback
        if not fallback[index] and data_held[index]:
            assert data[start:end].tolist() == list(data_driven.units)


CURRENCIES = st.sampled_from(["USD", "JPY"])


@given(
    st.lists(
        st.tuples(
            st.lists(FLOATS.filter(lambda f: f < 1e12), min_size=1, max_size=6),
            st.integers(min_value=-(10**14), max_value=10**14),
        ),
        min_size=1,
        max_size=10,
    ),
    CURRENCIES,
)
@example([([1.0, 1.0, 1.0], 100), ([1.0, 2.0], -1), ([1.0], 10**14 - 1), ([1.0, 1.0], 0)], "USD")
def test_cents_equal_credit_split(orders, currency):
    orders = [(s if sum(s) > 0 else [*s, 1.0], cents) for s, cents in orders]
    weights = [credit.apportion(shares, credit.WEIGHT_UNITS) for shares, _ in orders]
    segments = segments_of(weights)
    units = np.array([u for w in weights for u in w], dtype=np.int64)
    cents = np.array([c for _, c in orders], dtype=np.int64)
    parts = arrays.split_minor(cents, units, segments).tolist()
    money = credit._money_of(currency)
    for index, (w, (_, amount)) in enumerate(zip(weights, orders, strict=True)):
        start = int(segments.starts[index])
        expected = credit._split_minor(amount, w, currency)
        assert [money[p] for p in parts[start : start + len(w)]] == expected
