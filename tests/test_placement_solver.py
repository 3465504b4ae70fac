"""The exact placement solver against brute force on small random problems."""

from __future__ import annotations

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from nbsplit.classify.placement import LABELS, SIDE, solve

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


@st.composite
def side_problems(draw):
    costs, edges = draw(problems())
    side = {c: draw(st.floats(0, 5, allow_nan=False)) for c in costs if draw(st.booleans())}
    return costs, edges, side


def brute_side(costs, edges, side):
    """Least total cost where a cell no edge leaves may take SIDE (reads anything, feeds none)."""
    fed = {w for w, _ in edges}
    cells = sorted(costs)
    best = None
    for labels in itertools.product(range(-1, K), repeat=len(cells)):
        lab = dict(zip(cells, labels))
        if any(lab[c] == SIDE and (c not in side or c in fed) for c in cells):
            continue
        if any(lab[w] > lab[r] for w, r in edges if lab[r] != SIDE):
            continue
        total = sum(side[c] if lab[c] == SIDE else costs[c][lab[c]] for c in cells)
        if best is None or total < best - 1e-9:
            best = total
    return best


@settings(max_examples=40, deadline=None)
@given(side_problems())
def test_the_side_branch_is_taken_exactly_and_only_by_cells_that_feed_nothing(problem) -> None:
    costs, edges, side = problem
    lab = solve(costs, edges, side)
    fed = {w for w, _ in edges}
    assert all(c in side and c not in fed for c, k in lab.items() if k == SIDE)
    # every read of a main-line cell is of its own or an earlier label; a side cell reads anything
    assert all(lab[w] <= lab[r] for w, r in edges if lab[r] != SIDE)
    total = sum(side[c] if lab[c] == SIDE else costs[c][lab[c]] for c in costs)
    assert abs(total - brute_side(costs, edges, side)) < 1e-6


def test_a_reader_that_feeds_nothing_looks_instead_of_moving_on() -> None:
    feat, prep = LABELS.index(LABELS[2]), LABELS.index(LABELS[1])
    encode = [5.0] * K
    encode[feat], encode[prep] = 0.1, 4.0  # sure it is featurization
    summary = [5.0] * K
    summary[prep], summary[feat] = 0.5, 3.0  # data-prep, featurization unlikely; eda 1.2
    assert solve({1: encode, 2: summary}, [(1, 2)], {2: 1.2}) == {1: feat, 2: SIDE}
    # the same cell when a later data-prep cell reads it: it cannot look; moving the encoder back
    # (+3.9) is cheaper than moving both readers on (+5.0)
    assert solve({1: encode, 2: summary, 3: list(summary)}, [(1, 2), (2, 3)], {2: 1.2}) == {1: prep, 2: prep, 3: prep}
