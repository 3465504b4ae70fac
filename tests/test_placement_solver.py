"""The exact placement solver against brute force on small random problems."""

from __future__ import annotations

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from nbsplit.classify.placement import LABELS, solve

K = len(LABELS)


@st.composite
def problems(draw):
    n = draw(st.integers(1, 5))
    costs = {i * 3: [draw(st.floats(0, 5, allow_nan=False)) for _ in range(K)] for i in range(n)}
    cells = sorted(costs)
    edges = draw(st.lists(st.tuples(st.sampled_from(cells), st.sampled_from(cells)), max_size=7))
    return costs, [(w, r) for w, r in edges if w < r]


def brute(costs, edges):
    cells = sorted(costs)
    best = None
    # a reduced label range keeps brute force small: only the labels some cell finds cheapest+-1
    for labels in itertools.product(range(K), repeat=len(cells)):
        lab = dict(zip(cells, labels))
        if any(lab[w] > lab[r] for w, r in edges):
            continue
        total = sum(costs[c][lab[c]] for c in cells)
        if best is None or total < best - 1e-9:
            best = total
    return best


@settings(max_examples=60, deadline=None)
@given(problems())
def test_min_cut_finds_the_least_cost_labelling_that_respects_every_read(problem) -> None:
    costs, edges = problem
    lab = solve(costs, edges)
    assert all(lab[w] <= lab[r] for w, r in edges)
    total = sum(costs[c][lab[c]] for c in costs)
    assert abs(total - brute(costs, edges)) < 1e-6


def test_the_cheaper_side_moves() -> None:
    big, small = 3.0, 0.2
    feat, train = LABELS.index(LABELS[2]), LABELS.index(LABELS[3])
    split = [big] * K
    split[train], split[feat] = 0.1, 0.9  # classified training, featurization a close second
    follower = [big] * K
    follower[feat], follower[train] = 0.05, 2.0  # sure it is featurization
    costs = {2: split, 3: list(follower), 4: list(follower), 5: list(follower)}
    lab = solve(costs, [(2, 3), (3, 4), (4, 5)])
    assert lab == {2: feat, 3: feat, 4: feat, 5: feat}
    # one follower only, and the split is sure: the follower moves on
    split[feat] = 4.0
    assert solve({2: split, 3: follower}, [(2, 3)]) == {2: train, 3: train}
    del small
