"""Exact placement: per-cell stage costs under "a cell reads only its own or an earlier stage".

What: ``solve(costs, edges)`` takes, for every cell that is a variable, a cost per ordered label
(``LABELS``: setup < data-prep < featurization < training < evaluation < prediction <
monitoring) and the read edges ``(writer, reader)``, and returns the labelling of least total
cost with ``label(writer) <= label(reader)`` on every edge. Ordered labels, unary costs and
monotone pairwise constraints are the classic min-cut construction (Ishikawa 2003): cell ``i``
gets a chain of nodes ``(i, 1) .. (i, K-1)``, "``(i, k)`` on the source side" meaning
``label(i) >= k``; the chain edge leaving ``(i, k)`` costs ``cost_i(k)`` and infinite reverse
edges make every cut cross each chain once; an infinite edge ``(w, k) -> (r, k)`` per read makes
``label(w) >= k`` imply ``label(r) >= k``. A minimum cut is an optimal labelling; max-flow by
Dinic's algorithm.

Why: moving the cells that read a misplaced producer forward one by one (the old greedy pass)
drags a whole featurization section into training because one split cell was called training;
the solver moves whichever side is cheaper, exactly. ``eda`` is not in the order: it is a side
branch that may read anything and feeds nothing, so eda cells are not variables here. A main-line
cell that feeds nothing may still take the side branch (``side``: its cost of being eda) rather
than follow a later stage's value forward: a summary of the encoded frame that no cell uses is
looking at it. On the labelled corpus's grouped CV, 9 of the 214 cells the constraints moved
forward look instead (benchmarks/corpus/README.md, round 11).

Only the connected parts of the read graph that hold a violated read (under each cell's cheapest
label) are solved: elsewhere the cheapest labels already satisfy every constraint, so they are
optimal as they stand; this keeps large notebooks fast.

Example: costs {split: [.., featurization 1.2, training 0.3, ..], scaler: [.., featurization 0.2,
training 2.5, ..], ...} with edges split -> scaler -> model: the split moves back (cost +0.9)
rather than the scaler and what follows moving on.
"""

from __future__ import annotations

from collections import deque
from typing import Mapping, Sequence

from nbsplit.classify import fitted
from nbsplit.model import Stage

LABELS: tuple[Stage, ...] = (Stage.SETUP, Stage.DATA_PREP, Stage.FEATURIZATION, Stage.TRAINING,
                             Stage.EVALUATION, Stage.PREDICTION, Stage.MONITORING)
INDEX: dict[Stage, int] = {s: k for k, s in enumerate(LABELS)}
_INF = float("inf")
# per stage a cell falls behind the main-line cell before it, in a part a read makes the solver
# re-place (chosen by the grouped CV: benchmarks/corpus/README.md, round 11)
SEQUENCE_BACK = fitted.constant("placement.sequence_back")


SIDE = -1  # the label of a cell placed on the side branch (eda): it reads any label, feeds none


def solve(costs: Mapping[int, Sequence[float]], edges: Sequence[tuple[int, int]],
          side: Mapping[int, float] | None = None, line: Sequence[int] = (),
          back: float = 0.0) -> dict[int, int]:
    """The least-cost label index per cell with label(w) <= label(r) for every (w, r) edge
    between cells of ``costs`` (other edges are ignored). Ties go to the lower label.

    ``line`` and ``back``: the sequence term of a re-placement. Where a violated read makes a
    part of the read graph be solved, each cell of ``line`` (the main-line cells in source
    order) whose label is below the label of the cell before it in ``line``, both in that part,
    costs ``back`` per stage it falls behind: resolving a read by moving one cell against its
    neighbours costs more than moving a run of cells together. Parts without a violated read keep
    their cheapest labels (the classifier already weighed each cell's neighbours). A cell that
    takes ``SIDE`` is counted in the sequence at the chain label the cut gave it (so the
    objective stays one min-cut: solved exactly, as the property tests check).

    ``side``: cells that may instead take the side branch (``SIDE``) at that cost. Only a cell
    no edge leaves can (a side cell feeds nothing); others listed are ignored. Its side branch
    reads every label, so it is exact to give such a sink ``min(cost, side)`` for every label:
    whichever chain label the cut then picks satisfies its reads, and it takes ``SIDE`` when the
    side is strictly cheaper than that label."""
    inner = [(w, r) for w, r in edges if w in costs and r in costs and w != r]
    if side:
        fed = {w for w, _ in inner}
        side = {c: v for c, v in side.items() if c in costs and c not in fed}
        chain = costs
        costs = {i: ([min(x, side[i]) for x in c] if i in side else c) for i, c in costs.items()}
    best = {i: _argmin(c) for i, c in costs.items()}
    parts = _violated_parts(best, inner)
    out = dict(best)
    steps = [(a, b) for a, b in zip(line, line[1:]) if a in costs and b in costs] if back > 0 else []
    # each part's edges and steps in one pass over all of them (not one pass per part: a
    # 10,000-cell notebook has dozens of parts and tens of thousands of edges); a part is a
    # connected component, so an edge's reader is in its writer's part
    part_of = {i: k for k, part in enumerate(parts) for i in part}
    sub_edges: list[list[tuple[int, int]]] = [[] for _ in parts]
    seqs: list[list[tuple[int, int, float]]] = [[] for _ in parts]
    for w, r in inner:
        k = part_of.get(w)
        if k is not None:
            sub_edges[k].append((w, r))
    for a, b in steps:
        k = part_of.get(a)
        if k is not None and part_of.get(b) == k:
            seqs[k].append((a, b, back))
    for k, part in enumerate(parts):
        out.update(_min_cut({i: costs[i] for i in sorted(part)}, sub_edges[k], seqs[k]))
    for c, v in (side or {}).items():
        if v < chain[c][out[c]]:
            out[c] = SIDE
    return out


def _argmin(c: Sequence[float]) -> int:
    return min(range(len(c)), key=lambda k: (c[k], k))


def _violated_parts(labels: Mapping[int, int], edges: Sequence[tuple[int, int]]) -> list[list[int]]:
    """Connected components (read edges taken undirected) holding a violated read."""
    parent: dict[int, int] = {}

    def find(x: int) -> int:
        root = x
        while parent.get(root, root) != root:
            root = parent[root]
        while parent.get(x, x) != root:
            parent[x], x = root, parent[x]
        return root

    for w, r in edges:
        a, b = find(w), find(r)
        if a != b:
            parent[max(a, b)] = min(a, b)
    bad_roots = {find(w) for w, r in edges if labels[w] > labels[r]}
    groups: dict[int, list[int]] = {}
    for node in sorted({n for e in edges for n in e}):
        root = find(node)
        if root in bad_roots:
            groups.setdefault(root, []).append(node)
    return [groups[r] for r in sorted(groups)]


class _Graph:
    """Residual graph: edge ``e`` and its reverse ``e ^ 1``; ``adj[u]`` lists the edges leaving
    ``u`` (plain lists: the hot loops below only index them)."""

    __slots__ = ("adj", "to", "cap")

    def __init__(self, n: int) -> None:
        self.adj: list[list[int]] = [[] for _ in range(n)]
        self.to: list[int] = []
        self.cap: list[float] = []

    def add(self, u: int, v: int, cap: float, back: float = 0.0) -> None:
        self.adj[u].append(len(self.to))
        self.to.append(v)
        self.cap.append(cap)
        self.adj[v].append(len(self.to))
        self.to.append(u)
        self.cap.append(back)

    def max_flow(self, s: int, t: int) -> None:
        """Dinic's algorithm; leaves the residual capacities in ``cap``."""
        n = len(self.adj)
        to, cap, adj = self.to, self.cap, self.adj
        while True:
            level = [-1] * n
            level[s] = 0
            queue = deque([s])
            while queue:
                u = queue.popleft()
                next_level = level[u] + 1
                if level[t] >= 0 and next_level > level[t]:
                    break  # nodes farther than t are on no shortest path: leave them unlabelled
                for e in adj[u]:
                    v = to[e]
                    if level[v] < 0 and cap[e] > 1e-12:
                        level[v] = next_level
                        queue.append(v)
            if level[t] < 0:
                return
            self._blocking_flow(s, t, level, [0] * n)

    def _blocking_flow(self, s: int, t: int, level: list[int], it: list[int]) -> float:
        """Augment along shortest paths until none is left in this phase, iteratively (no
        recursion limit on long chains). After each path the search resumes from the tail of
        its first saturated edge, not from ``s``: paths here run along long chains of reads,
        and re-walking their shared prefix dominated the time."""
        to, cap, adj = self.to, self.cap, self.adj
        path: list[int] = []
        total = 0.0
        u = s
        while True:
            if u == t:
                f = min(cap[e] for e in path)
                for e in path:
                    cap[e] -= f
                    cap[e ^ 1] += f
                total += f
                cut = next(k for k, e in enumerate(path) if cap[e] <= 1e-12)
                del path[cut:]
                u = to[path[-1]] if path else s
                continue
            edges, i, want = adj[u], it[u], level[u] + 1
            while i < len(edges) and not (cap[edges[i]] > 1e-12 and level[to[edges[i]]] == want):
                i += 1
            it[u] = i
            if i == len(edges):
                if not path:
                    return total
                level[u] = -1  # dead end: prune it for this phase
                back = path.pop()
                u = to[back ^ 1]
                it[u] += 1
                continue
            path.append(edges[i])
            u = to[edges[i]]

    def source_side(self, s: int) -> list[bool]:
        seen = [False] * len(self.adj)
        seen[s] = True
        queue = deque([s])
        to, cap = self.to, self.cap
        while queue:
            u = queue.popleft()
            for e in self.adj[u]:
                v = to[e]
                if cap[e] > 1e-12 and not seen[v]:
                    seen[v] = True
                    queue.append(v)
        return seen


def _min_cut(costs: Mapping[int, Sequence[float]], edges: Sequence[tuple[int, int]],
             soft: Sequence[tuple[int, int, float]] = ()) -> dict[int, int]:
    cells = list(costs)
    k_max = len(next(iter(costs.values())))
    pos = {c: j for j, c in enumerate(cells)}
    s, t = 0, 1

    def node(cell: int, k: int) -> int:  # k in 1 .. K-1
        return 2 + pos[cell] * (k_max - 1) + (k - 1)

    g = _Graph(2 + len(cells) * (k_max - 1))
    for c in cells:
        cost = costs[c]
        g.add(s, node(c, 1), cost[0])
        for k in range(1, k_max - 1):
            g.add(node(c, k), node(c, k + 1), cost[k], _INF)
        g.add(node(c, k_max - 1), t, cost[k_max - 1])
    for w, r in edges:
        for k in range(1, k_max):
            g.add(node(w, k), node(r, k), _INF)
    # a soft read: cut once per label a is at or above and b below, i.e. back * max(0, a - b)
    for a, b, weight in soft:
        for k in range(1, k_max):
            g.add(node(a, k), node(b, k), weight)
    # Each cell's own chain carries its cheapest label's cost straight from s to t: push that
    # first, so Dinic's phases only route what the read edges add (the residual graph of any
    # maximum flow gives the same source side, so the cut does not change).
    cap = g.cap
    for j, c in enumerate(cells):
        chain = [2 * j * k_max + 2 * m for m in range(k_max)]  # forward edge ids, in add order
        f = min(cap[e] for e in chain)
        if f > 0:
            for e in chain:
                cap[e] -= f
                cap[e ^ 1] += f
    g.max_flow(s, t)
    side = g.source_side(s)
    return {c: sum(side[node(c, k)] for k in range(1, k_max)) for c in cells}
