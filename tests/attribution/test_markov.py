"""Data-driven attribution: Markov-chain removal effects, checked by hand and by brute force."""

from datetime import UTC, datetime, timedelta
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import attribution.markov
from attribution.credit import DATA_DRIVEN, Touch, credit_for
from attribution.markov import collapse, removal_effects


def test_consecutive_repeats_collapse_into_one_state():
    assert collapse(["A", "A", "B", "B", "A"]) == ("A", "B", "A")
    assert collapse([]) == ()
    assert collapse([None, None, 3]) == (None, 3)


def test_removal_effects_of_a_small_journey_set_worked_by_hand():
    journeys = [(["A", "B"], True), (["A"], False), (["B"], True)]
    # Transitions: start->A 2, start->B 1; A->B 1, A->null 1; B->conversion 2.
    # So P(start->A) = 2/3, P(start->B) = 1/3, P(A->B) = P(A->null) = 1/2, P(B->conversion) = 1.
    # Converting from B: 1; from A: 1/2 * 1 = 1/2; from start: 2/3 * 1/2 + 1/3 * 1 = 2/3.
    # Without A (start->A goes to null): 1/3 * 1 = 1/3, effect 1 - (1/3)/(2/3) = 1/2.
    # Without B (start->B and A->B go to null): nothing converts, effect 1 - 0 = 1.
    assert removal_effects(journeys, min_conversions=1) == {"A": 0.5, "B": 1.0}


def test_repeats_do_not_change_the_chain():
    journeys = [(["A", "A", "B"], True), (["A"], False), (["B", "B"], True)]
    assert removal_effects(journeys, min_conversions=1) == {"A": 0.5, "B": 1.0}


def test_removal_effects_with_a_cycle_worked_by_hand():
    journeys = [(["A", "B", "A"], True), (["B"], False)]
    # Transitions: start->A 1, start->B 1; A->B 1, A->conversion 1; B->A 1, B->null 1.
    # Converting from A: h_A = 1/2 + 1/2 h_B; from B: h_B = 1/2 h_A; so h_A = 2/3, h_B = 1/3,
    # and from start 1/2 * 2/3 + 1/2 * 1/3 = 1/2.
    # Without A: B->A and start->A go to null, nothing converts: effect 1.
    # Without B: h_A = 1/2, from start 1/2 * 1/2 = 1/4: effect 1 - (1/4)/(1/2) = 1/2.
    effects = removal_effects(journeys, min_conversions=1)
    assert effects == pytest.approx({"A": 1.0, "B": 0.5}, abs=1e-12)
    # An order through A then B: weights 1 / 1.5 and 0.5 / 1.5.
    order_at = datetime(2025, 1, 10, tzinfo=UTC)
    touches = [
        Touch(key="A", post_id=1, touched_at=order_at - timedelta(days=2), position=1),
        Touch(key="B", post_id=2, touched_at=order_at - timedelta(days=1), position=2),
    ]
    credit = credit_for(DATA_DRIVEN, touches, order_at=order_at, removal_effects=effects)
    assert [str(w) for w in credit.weights] == ["0.666667", "0.333333"]
    assert not credit.fallback


def test_thin_data_gives_no_effects():
    journeys = [(["A", "B"], True)] * 29 + [(["A"], False)] * 100
    assert removal_effects(journeys) == {}
    assert removal_effects(journeys + [(["B"], True)]) != {}
    assert removal_effects([(["A"], False)], min_conversions=0) == {}
    assert removal_effects([([], True)] * 50) == {}


def test_a_post_from_which_nothing_converts_has_no_effect():
    # B leads only to C and to null, C only to null: removing B loses no conversion.
    journeys = [(["A"], True), (["B"], False), (["B", "C"], False)]
    assert removal_effects(journeys, min_conversions=1) == {"A": 1.0, "B": 0.0, "C": 0.0}


def test_the_chain_is_memoryless_so_a_post_before_a_converting_one_earns_a_share():
    # B -> A was seen only in a journey that did not convert, yet A converts half the time.
    # Transitions: start->A 1, start->B 2; B->A 1, B->null 1; A->conversion 1, A->null 1.
    # Converting from A: 1/2; from B: 1/2 * 1/2 = 1/4; from start: 1/3 * 1/2 + 2/3 * 1/4 = 1/3.
    # Without B: 1/3 * 1/2 = 1/6, effect 1 - (1/6)/(1/3) = 1/2. Without A: nothing converts, 1.
    journeys = [(["A"], True), (["B"], False), (["B", "A"], False)]
    effects = removal_effects(journeys, min_conversions=1)
    assert effects == pytest.approx({"A": 1.0, "B": 0.5}, abs=1e-12)


# --- brute force: remove each key, solve the chain exactly with fractions ---


def conversion_probability(journeys, removed=None) -> Fraction:
    """P(conversion) from start, by Gauss-Jordan elimination over exact fractions."""
    counts: dict = {}
    for keys, converted in journeys:
        path = ["start", *collapse(keys), "conversion" if converted else "null"]
        if len(path) == 2:
            continue
        for a, b in zip(path, path[1:], strict=False):
            counts.setdefault(a, {}).setdefault(b, 0)
            counts[a][b] += 1
    states = list(counts)
    at = {s: i for i, s in enumerate(states)}
    n = len(states)
    # h = Q h + r, i.e. (I - Q) h = r; transitions into the removed key go to null.
    matrix = [[Fraction(int(i == j)) for j in range(n)] + [Fraction(0)] for i in range(n)]
    for a, row in counts.items():
        total = sum(row.values())
        for b, c in row.items():
            if b == "conversion":
                matrix[at[a]][n] += Fraction(c, total)
            elif b != "null" and b != removed:
                matrix[at[a]][at[b]] -= Fraction(c, total)
    for col in range(n):
        pivot = next(r for r in range(col, n) if matrix[r][col] != 0)
        matrix[col], matrix[pivot] = matrix[pivot], matrix[col]
        lead = matrix[col][col]
        matrix[col] = [x / lead for x in matrix[col]]
        for r in range(n):
            if r != col and matrix[r][col] != 0:
                f = matrix[r][col]
                matrix[r] = [x - f * y for x, y in zip(matrix[r], matrix[col], strict=True)]
    return matrix[at["start"]][n]


random_journeys = st.lists(
    st.tuples(st.lists(st.sampled_from("ABCDE"), min_size=1, max_size=5), st.booleans()),
    min_size=1,
    max_size=25,
).filter(lambda js: any(converted for _, converted in js))


@settings(max_examples=60, deadline=None)
@given(journeys=random_journeys)
def test_removal_effects_equal_removing_each_post_and_solving_again(journeys):
    effects = removal_effects(journeys, min_conversions=1)
    base = conversion_probability(journeys)
    assert set(effects) == {key for keys, _ in journeys for key in keys}
    for key, effect in effects.items():
        expected = 1 - conversion_probability(journeys, removed=key) / base
        assert effect == pytest.approx(float(expected), abs=1e-9)
        assert 0.0 <= effect <= 1.0


@settings(max_examples=30, deadline=None)
@given(journeys=random_journeys)
def test_sparse_and_dense_solves_agree(journeys):
    dense = removal_effects(journeys, min_conversions=1)
    limit = attribution.markov.DENSE_LIMIT
    attribution.markov.DENSE_LIMIT = 0
    try:
        sparse = removal_effects(journeys, min_conversions=1)
    finally:
        attribution.markov.DENSE_LIMIT = limit
    assert sparse == pytest.approx(dense, abs=1e-12)


def test_removal_effects_are_deterministic():
    journeys = [(["A", "B", "C"], True), (["C", "A"], False), (["B"], True), (["C"], True)]
    assert removal_effects(journeys, min_conversions=1) == removal_effects(
        journeys, min_conversions=1
    )


def _effects_counted_in_dicts(journeys):
    """The chain as it was first counted, path by path in Python dicts (the same solve): the
    numpy count must give the very same floats, or stored data-driven cents would move."""
    from collections import Counter

    import numpy as np
    from scipy.sparse import csc_matrix

    paths = Counter()
    for keys, converted in journeys:
        path = collapse(keys)
        if path:
            paths[path, bool(converted)] += 1
    index = {}
    for path, _ in paths:
        for key in path:
            index.setdefault(key, len(index) + 1)
    size = len(index) + 1
    moves, leaving, converting = Counter(), np.zeros(size), np.zeros(size)
    for (path, converted), count in paths.items():
        previous = 0
        for key in path:
            moves[previous, index[key]] += count
            leaving[previous] += count
            previous = index[key]
        leaving[previous] += count
        if converted:
            converting[previous] += count
    rows, cols = zip(*moves, strict=True)
    probabilities = np.fromiter(moves.values(), dtype=float) / leaving[list(rows)]
    q = csc_matrix((probabilities, (rows, cols)), shape=(size, size))
    markov = attribution.markov
    solve = markov._solve_dense if size <= markov.DENSE_LIMIT else markov._solve_sparse
    converts, visits, returns = solve(q, converting / leaving)
    return {
        key: 0.0 if (e := visits[s] / returns[s] * converts[s] / converts[0]) < markov._NOISE
        else min(float(e), 1.0)
        for key, s in index.items()
    }  # fmt: skip


@settings(max_examples=60, deadline=None)
@given(journeys=random_journeys, sparse=st.booleans())
def test_the_chain_counted_with_numpy_gives_the_same_floats_as_counted_path_by_path(
    journeys, sparse
):
    limit = attribution.markov.DENSE_LIMIT
    attribution.markov.DENSE_LIMIT = 0 if sparse else limit
    try:
        assert removal_effects(journeys, min_conversions=1) == _effects_counted_in_dicts(journeys)
    finally:
        attribution.markov.DENSE_LIMIT = limit
