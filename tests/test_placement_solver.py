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


def _violated_parts_of(costs, edges):
    """Cells connected (reads taken undirected) to a read their cheapest labels violate."""
    best = {c: min(range(K), key=lambda k: (costs[c][k], k)) for c in costs}
    parent = {c: c for c in costs}

    def find(x):
        while parent[x] != x:
            x = parent[x]
        return x

    for w, r in edges:
        parent[find(w)] = find(r)
    bad = {find(w) for w, r in edges if best[w] > best[r]}
    return [sorted(c for c in costs if find(c) == root) for root in bad], best


def _part_objective(part, costs, edges, line, back):
    """One re-placed part's objective (its cells' costs plus ``back`` per stage a cell falls
    behind the one before it on ``line``) and its least value over every labelling that keeps
    the part's reads, by brute force."""
    members = set(part)
    steps = [(a, b) for a, b in zip(line, line[1:]) if a in members and b in members]

    def total(lb):
        return sum(costs[c][lb[c]] for c in part) + back * sum(max(0, lb[a] - lb[b]) for a, b in steps)

    least = min(
        total(dict(zip(part, labels))) for labels in itertools.product(range(K), repeat=len(part))
        if all(dict(zip(part, labels))[w] <= dict(zip(part, labels))[r] for w, r in edges if w in members))
    return total, least


@st.composite
def sequence_problems(draw):
    costs, edges = draw(problems())
    return costs, edges, draw(st.floats(0.01, 3, allow_nan=False))


@settings(max_examples=40, deadline=None)
@given(sequence_problems())
def test_the_sequence_term_is_solved_exactly_inside_each_part_a_read_makes_move(problem) -> None:
    costs, edges, back = problem
    line = sorted(costs)
    lab = solve(costs, edges, line=line, back=back)
    assert all(lab[w] <= lab[r] for w, r in edges)
    parts, best = _violated_parts_of(costs, edges)
    moving = {c for p in parts for c in p}
    assert all(lab[c] == best[c] for c in costs if c not in moving)
    for part in parts:
        total, best_total = _part_objective(part, costs, edges, line, back)
        assert abs(total(lab) - best_total) < 1e-6


def test_a_run_moves_together_rather_than_one_cell_against_its_neighbours() -> None:
    prep, feat = 1, 2
    encode = [5.0] * K
    encode[feat], encode[prep] = 0.1, 0.8  # featurization, data-prep not far
    fill = [5.0] * K
    fill[prep], fill[feat] = 0.1, 0.75  # data-prep, reads the encoded frame
    # 0: load (data-prep), 1: encode (featurization) reads 0, 2: fill (data-prep) reads 1,
    # 3: another data-prep cell reading 0
    costs = {0: list(fill), 1: encode, 2: fill, 3: list(fill)}
    reads = [(0, 1), (1, 2), (0, 3)]
    # without the sequence term the reader moves on (+0.65 < +0.7)
    assert solve(costs, reads) == {0: prep, 1: feat, 2: feat, 3: prep}
    # with it, the reader moving on falls back at cell 3 (+0.65 + 0.3): the encoder moves back
    assert solve(costs, reads, line=[0, 1, 2, 3], back=0.3) == {0: prep, 1: prep, 2: prep, 3: prep}


@st.composite
def side_sequence_problems(draw):
    costs, edges, side = draw(side_problems())
    return costs, edges, side, draw(st.floats(0.01, 3, allow_nan=False))


@settings(max_examples=40, deadline=None)
@given(side_sequence_problems())
def test_side_branch_and_sequence_term_together_are_one_exact_cut(problem) -> None:
    """A sink that may look counts min(its cost, its side cost) at every label and keeps its place
    in the sequence at the label the cut gives it: the least such total, inside each part."""
    costs, edges, side, back = problem
    line = sorted(costs)
    lab = solve(costs, edges, side, line, back)
    fed = {w for w, _ in edges}
    side = {c: v for c, v in side.items() if c not in fed}
    folded = {c: [min(x, side[c]) for x in cost] if c in side else cost for c, cost in costs.items()}
    chain = {c: k for c, k in lab.items() if k != SIDE}
    assert all(chain[w] <= chain[r] for w, r in edges if r in chain)
    parts, best = _violated_parts_of(folded, edges)
    for part in parts:
        members = set(part)
        total, found = _part_objective(part, folded, edges, line, back)
        # a looking cell's chain label is not returned: the best one, the others as solved
        looking = [c for c in part if lab[c] == SIDE]
        fixed = {c: lab[c] for c in part if lab[c] != SIDE}
        paid = min(
            total({**fixed, **dict(zip(looking, labels))})
            for labels in itertools.product(range(K), repeat=len(looking))
            if all({**fixed, **dict(zip(looking, labels))}[w] <= {**fixed, **dict(zip(looking, labels))}[r]
                   for w, r in edges if w in members))
        assert abs(paid - found) < 1e-6
        # a cell on the main line pays its own cost there, a looking cell its side cost
        assert all(folded[c][k] == costs[c][k] for c, k in fixed.items())
