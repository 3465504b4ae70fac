"""Decoder: the most likely stage sequence for the whole notebook, and per-cell confidence.

What: a Viterbi pass over the code cells' per-stage scores (from the signals) with a transition
prior: staying in a stage is free, moving forward costs a little (more for skipping stages),
moving back costs more (less for going back to eda or data-prep: notebooks revisit both).
``setup`` is transparent: a setup cell in the middle does not reset the forward progress, so
the state is (label, furthest pipeline stage so far). Setup needs its own evidence (a bias), so
an evidence-less cell takes its context. Forced cells (tags, directives, rules) are anchors.

Confidence comes from max-marginals: for each cell, the best total score of any path giving it
label A versus the best path giving it any other label. The margin (in nats) maps to 0.5..0.99;
a big margin means the cell's own evidence (or its whole neighbourhood) settles it.

Why: one cell's evidence is often weak or absent (``df2 = df.copy()``, a helper call), but its
place in the notebook is not: a cell between two training cells is very likely training.

Example: scores [data-prep 3.0], [], [eda 2.5] -> the middle cell is data-prep or eda by
context (origin ``neighbour``), with a modest confidence.
"""

from __future__ import annotations

import math
from typing import Sequence

from nbsplit.classify import fitted
from nbsplit.model import PIPELINE_STAGES, Stage

LABELS: tuple[Stage, ...] = (*PIPELINE_STAGES, Stage.SETUP)
_N = len(PIPELINE_STAGES)  # 7 pipeline stages; label index 7 is setup
_SETUP = _N
SETUP_BIAS = fitted.constant("sequence.setup_bias")  # setup must be earned by evidence
FORCED = 40.0
NEG = -1e9

_FORWARD = fitted.constant("sequence.forward")  # one step forward
_SKIP = fitted.constant("sequence.skip")  # each stage skipped on the way
_BACK = fitted.constant("sequence.back")
# Going back is common: look again (eda), clean more (data-prep), refit after comparing (training).
_BACK_TO = {s: fitted.constant(f"sequence.back_to.{s.value}")
            for s in (Stage.EDA, Stage.DATA_PREP, Stage.FEATURIZATION, Stage.TRAINING, Stage.EVALUATION)}
_START = fitted.constant("sequence.start")  # per stage skipped before the first pipeline cell


def _transition_table() -> list[list[float]]:
    """cost[q][b]: from progress q (0 = none yet, 1..7 = furthest stage) to pipeline label b."""
    table = []
    for q in range(_N + 1):
        row = []
        for b in range(1, _N + 1):
            if q == 0:
                cost = _START * (b - 1)
            elif b == q:
                cost = 0.0
            elif b > q:
                cost = _FORWARD + _SKIP * (b - q - 1)
            else:
                cost = _BACK_TO.get(PIPELINE_STAGES[b - 1], _BACK)
            row.append(cost)
        table.append(row)
    return table


_COST = _transition_table()


def decode(emissions: Sequence[Sequence[float]]) -> tuple[list[Stage], list[float], list[list[float]]]:
    """Labels, margins and per-label max-marginals for a sequence of 8-wide emission vectors
    (7 pipeline stages in order, then setup)."""
    n = len(emissions)
    if n == 0:
        return [], [], []
    # State ids: 0..6 = pipeline label b (progress b); 7+q = setup with progress q (q = 0..7).
    n_states = _N + _N + 1
    fwd = [[NEG] * n_states for _ in range(n)]
    bwd = [[0.0] * n_states for _ in range(n)]
    cost = _COST
    rng_b = range(_N)
    rng_q = range(_N + 1)

    # forward (max-product)
    prev_best = [NEG] * (_N + 1)
    prev_best[0] = 0.0  # before the first cell: no progress
    for i, e in enumerate(emissions):
        row = fwd[i]
        for b in rng_b:
            best = NEG
            for q in rng_q:
                v = prev_best[q]
                if v > NEG:
                    v -= cost[q][b]
                    if v > best:
                        best = v
            row[b] = best + e[b]
        es = e[_SETUP] + SETUP_BIAS
        for q in rng_q:
            row[_N + q] = prev_best[q] + es if prev_best[q] > NEG else NEG
        prev_best = [max(row[q - 1], row[_N + q]) if q else row[_N] for q in rng_q]

    # backward (max-product): bwd[i][s] depends only on the progress of s.
    for i in range(n - 2, -1, -1):
        e = emissions[i + 1]
        nxt = bwd[i + 1]
        es = e[_SETUP] + SETUP_BIAS
        by_q = []
        for q in rng_q:
            best = es + nxt[_N + q]
            for b in rng_b:
                v = e[b] + nxt[b] - cost[q][b]
                if v > best:
                    best = v
            by_q.append(best)
        row = bwd[i]
        for b in rng_b:
            row[b] = by_q[b + 1]
        for q in rng_q:
            row[_N + q] = by_q[q]

    labels: list[Stage] = []
    margins: list[float] = []
    marginals: list[list[float]] = []
    for i in range(n):
        f, g = fwd[i], bwd[i]
        per_label = [f[b] + g[b] for b in rng_b]
        per_label.append(max(f[_N + q] + g[_N + q] for q in rng_q))
        order = sorted(range(_N + 1), key=lambda k: -per_label[k])
        labels.append(LABELS[order[0]])
        margins.append(per_label[order[0]] - per_label[order[1]])
        marginals.append(per_label)
    return labels, margins, marginals


def confidence(margin: float, *, contextual: bool) -> float:
    """Map a max-marginal margin (nats) to 0.5..0.99; contextual cells are capped lower."""
    conf = 0.5 + 0.49 * math.tanh(max(margin, 0.0) / 2.4)
    if contextual:
        conf = 0.4 + 0.3 * (conf - 0.5) / 0.49
    return round(min(conf, 0.99), 2)
