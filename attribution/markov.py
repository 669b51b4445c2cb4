"""Data-driven attribution: Markov-chain removal effects of a workspace's posts.

The convention is ChannelAttribution's ``markov_model`` at order 1, with posts as its channels:

- every journey, converting or not, is a path ``start -> its touches' keys in order -> conversion``
  (when it converted) or ``-> null`` (when it did not);
- consecutive repeats of the same key collapse into one state (``A > A > B`` is ``A > B``), as
  ChannelAttribution does when it builds its paths: the chain has no self-loops, and a buyer who
  clicked the same post twice in a row passed through it once;
- transition probabilities are the observed transition counts of each state, normalised;
- the removal effect of a post ``p`` is ``1 - P(conversion | p removed) / P(conversion)``, where
  removing ``p`` sends every transition into ``p`` to null.

Where ChannelAttribution estimates these probabilities by simulating paths, this module computes
them exactly from the absorbing chain. With ``Q`` the transitions among transient states (start and
the posts) and ``R`` those into conversion, ``h = (I - Q)^-1 R`` is each state's probability of
converting, so ``P(conversion) = h[start]``. Removing ``p`` leaves exactly the converting paths that
never visit ``p``; by the Markov property the ones that do carry ``f(p) * h[p]``, where
``f(p) = N[start, p] / N[p, p]`` is the probability of ever reaching ``p`` and ``N = (I - Q)^-1``
is the fundamental matrix. So the removal effect of ``p`` is ``f(p) * h[p] / h[start]``: one
inversion (dense for a few thousand posts, a sparse LU factorisation past that) answers every post
at once, instead of one linear solve per removed post.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence

import numpy as np
from scipy.sparse import csc_matrix, identity
from scipy.sparse.linalg import splu

from attribution.credit import EFFECT_NOISE

#: Below this many converting journeys a workspace's chain is noise (one journey moves a post's
#: removal effect by several points), so :func:`removal_effects` returns nothing and every order
#: falls back to multi-touch.
MIN_CONVERTING_JOURNEYS = 30

#: Removal effects below this are float noise from the solve, not a contribution; the same
#: threshold the data-driven credit uses.
_NOISE = EFFECT_NOISE

#: Up to this many transient states the fundamental matrix is inverted densely (about 50 MB, a
#: fraction of a second); past it a sparse LU factorisation keeps memory in step with the journeys.
DENSE_LIMIT = 2500

#: Columns of the identity solved at once when reading the fundamental matrix's diagonal.
_BLOCK = 256


def collapse(keys: Sequence[Hashable]) -> tuple[Hashable, ...]:
    """A journey's keys with consecutive repeats merged into one, as the chain sees them."""
    path: list[Hashable] = []
    for key in keys:
        if not path or path[-1] != key:
            path.append(key)
    return tuple(path)


def removal_effects(
    journeys: Iterable[tuple[Sequence[Hashable], bool]],
    *,
    min_conversions: int = MIN_CONVERTING_JOURNEYS,
) -> dict[Hashable, float]:
    """Removal effect, in [0, 1], of every key seen in ``journeys`` (each: its keys in order,
    whether it converted).

    Journeys with no touch say nothing about any post and are left out. An empty dict means the
    data is too thin (fewer than ``min_conversions`` converting journeys): the data-driven model
    then falls back to multi-touch for every order.
    """
    # States: 0 is start, then each key in the order first seen; conversion and null are the two
    # absorbing columns kept apart from the transient ones. Every journey's states, collapsed,
    # go into one flat array (a rebuild has millions of touches), and the transitions are
    # counted with numpy, in the order each was first seen.
    index: dict[Hashable, int] = {}
    states: list[int] = []
    ends: list[int] = []
    converted_paths: list[bool] = []
    for keys, converted in journeys:
        path = collapse(keys)
        if not path:
            continue
        for key in path:
            state = index.get(key)
            if state is None:
                state = index[key] = len(index) + 1
            states.append(state)
        ends.append(len(states))
        converted_paths.append(bool(converted))
    converted_at = np.array(converted_paths, dtype=bool)
    if int(converted_at.sum()) < max(min_conversions, 1):
        return {}

    size = len(index) + 1
    to = np.array(states, dtype=np.int64)
    last = np.array(ends, dtype=np.int64) - 1
    origin = np.empty_like(to)
    origin[1:] = to[:-1]
    origin[np.concatenate(([0], last[:-1] + 1))] = 0  # every path leaves the start state
    # Every transition out of a state: into the next one, or (a path's last) absorbed.
    leaving = (np.bincount(origin, minlength=size) + np.bincount(to[last], minlength=size)).astype(
        float
    )
    converting = np.bincount(to[last][converted_at], minlength=size).astype(float)
    pairs, first_seen, counts = np.unique(origin * size + to, return_index=True, return_counts=True)
    seen = np.argsort(first_seen, kind="stable")
    rows, cols = pairs[seen] // size, pairs[seen] % size
    probabilities = counts[seen].astype(float) / leaving[rows]
    q = csc_matrix((probabilities, (rows, cols)), shape=(size, size))
    if size <= DENSE_LIMIT:
        converts, visits, returns = _solve_dense(q, converting / leaving)
    else:
        converts, visits, returns = _solve_sparse(q, converting / leaving)
    p_conversion = converts[0]
    if p_conversion <= 0:
        return {}

    effects: dict[Hashable, float] = {}
    for key, state in index.items():
        effect = visits[state] / returns[state] * converts[state] / p_conversion
        effects[key] = 0.0 if effect < _NOISE else min(float(effect), 1.0)
    return effects


def _solve_dense(q, to_conversion: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """h = N R, N[start, :] and diag(N), with N = (I - Q)^-1 inverted densely."""
    fundamental = np.linalg.inv(np.eye(q.shape[0]) - q.toarray())
    return fundamental @ to_conversion, fundamental[0].copy(), fundamental.diagonal().copy()


def _solve_sparse(q, to_conversion: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The same three, from one sparse LU factorisation of I - Q."""
    size = q.shape[0]
    lu = splu((identity(size, format="csc") - q).tocsc())
    unit = np.zeros(size)
    unit[0] = 1.0
    returns = np.empty(size)
    for first in range(0, size, _BLOCK):
        width = min(_BLOCK, size - first)
        block = np.zeros((size, width))
        block[np.arange(first, first + width), np.arange(width)] = 1.0
        returns[first : first + width] = lu.solve(block)[
            np.arange(first, first + width), np.arange(width)
        ]
    return lu.solve(to_conversion), lu.solve(unit, trans="T"), returns
