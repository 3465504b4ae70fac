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
branch that may read anything and feeds nothing, so eda cells are not variables here.

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

from nbsplit.model import Stage

LABELS: tuple[Stage, ...] = (Stage.SETUP, Stage.DATA_PREP, Stage.FEATURIZATION, Stage.TRAINING,
                             Stage.EVALUATION, Stage.PREDICTION, Stage.MONITORING)
INDEX: dict[Stage, int] = {s: k for k, s in enumerate(LABELS)}
_INF = float("inf")


def solve(costs: Mapping[int, Sequence[float]], edges: Sequence[tuple[int, int]]) -> dict[int, int]:
    """The least-cost label index per cell with label(w) <= label(r) for every (w, r) edge
    between cells of ``costs`` (other edges are ignored). Ties go to the lower label."""
    best = {i: _argmin(c) for i, c in costs.items()}
    inner = [(w, r) for w, r in edges if w in costs and r in costs and w != r]
    parts = _violated_parts(best, inner)
    out = dict(best)
    for part in parts:
        members = set(part)
        sub_edges = [(w, r) for w, r in inner if w in members]
        out.update(_min_cut({i: costs[i] for i in sorted(members)}, sub_edges))
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
    __slots__ = ("head", "to", "cap", "nxt")

    def __init__(self, n: int) -> None:
        self.head = [-1] * n
        self.to: list[int] = []
        self.cap: list[float] = []
        self.nxt: list[int] = []

    def add(self, u: int, v: int, cap: float, back: float = 0.0) -> None:
        for a, b, c in ((u, v, cap), (v, u, back)):
            self.to.append(b)
            self.cap.append(c)
            self.nxt.append(self.head[a])
            self.head[a] = len(self.to) - 1

    def max_flow(self, s: int, t: int) -> None:
        """Dinic's algorithm; leaves the residual capacities in ``cap``."""
        n = len(self.head)
        to, cap, nxt, head = self.to, self.cap, self.nxt, self.head
        while True:
            level = [-1] * n
            level[s] = 0
            queue = deque([s])
            while queue:
                u = queue.popleft()
                e = head[u]
                while e != -1:
                    if cap[e] > 1e-12 and level[to[e]] < 0:
                        level[to[e]] = level[u] + 1
                        queue.append(to[e])
                    e = nxt[e]
            if level[t] < 0:
                return
            it = list(head)
            while True:
                pushed = self._augment(s, t, level, it)
                if pushed <= 1e-12:
                    break

    def _augment(self, s: int, t: int, level: list[int], it: list[int]) -> float:
        """One blocking-flow path, iteratively (no recursion limit on long chains)."""
        to, cap, nxt = self.to, self.cap, self.nxt
        path: list[int] = []
        u = s
        while True:
            if u == t:
                f = min(cap[e] for e in path)
                for e in path:
                    cap[e] -= f
                    cap[e ^ 1] += f
                return f
            e = it[u]
            while e != -1 and not (cap[e] > 1e-12 and level[to[e]] == level[u] + 1):
                e = nxt[e]
            it[u] = e
            if e == -1:
                if not path:
                    return 0.0
                level[u] = -1  # dead end: prune it for this phase
                back = path.pop()
                u = to[back ^ 1]
                it[u] = nxt[it[u]]
                continue
            path.append(e)
            u = to[e]

    def source_side(self, s: int) -> list[bool]:
        seen = [False] * len(self.head)
        seen[s] = True
        queue = deque([s])
        while queue:
            u = queue.popleft()
            e = self.head[u]
            while e != -1:
                v = self.to[e]
                if self.cap[e] > 1e-12 and not seen[v]:
                    seen[v] = True
                    queue.append(v)
                e = self.nxt[e]
        return seen


def _min_cut(costs: Mapping[int, Sequence[float]], edges: Sequence[tuple[int, int]]) -> dict[int, int]:
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
