"""A third fitted pass: boosted trees over the second pass's features, blended in where it is unsure.

What: ``trees.json`` (beside ``weights.json``) holds gradient-boosted trees fitted on the same rows
as the second logistic pass (each cell's features plus the first pass's probabilities around it).
``blend`` mixes their probabilities into the second pass's for a cell whose best stage the second
pass gives less than ``gate``; a cell the logistic model is already sure of keeps its
probabilities as they are.

Why: the logistic passes add up evidence one feature at a time; a call that means featurization
before the split and data-prep after it, or a predict that is evaluation next to a metric and
prediction next to a file write, needs features read together. Trees read them together. In the
grouped cross-validation (corpus README, "Boosted trees as a third pass") the blend is right on
more cells of every fold, and nearly all of the gain is on cells below the gate: gating keeps
the cost (a plain-Python walk of every tree) to the fifth of the cells that need it.

The file: ``features`` names the features the trees split on; each tree is five lists (the
feature index and threshold of every split node, its left and right child -- a child ``< 0`` is
leaf ``~child`` -- and the leaf values); tree ``t`` adds to class ``t % per_round``'s raw score,
and the class probabilities are the softmax of the raw scores. A feature a cell lacks is 0.0.

Example: a cell whose second-pass probabilities are ``training 0.55, evaluation 0.40`` and whose
trees say ``evaluation 0.7, training 0.2`` (weight 0.5) ends ``evaluation 0.55, training 0.375``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

# a tree: split features (names, resolved at load), thresholds, left, right children, leaf values
Tree = tuple[list[str], list[float], list[int], list[int], list[float]]


def load(data: Mapping[str, Any]) -> dict[str, Any]:
    """The parsed ``trees.json`` with every split's feature index resolved to its name (a model
    already resolved comes back as it is)."""
    if data.get("resolved"):
        return dict(data)
    names: Sequence[str] = data["features"]
    trees = [([names[j] for j in feat], thr, left, right, leaf) for feat, thr, left, right, leaf in data["trees"]]
    return {**data, "trees": trees, "resolved": True}


def raw_scores(features: Mapping[str, float], model: Mapping[str, Any]) -> list[float]:
    """Each class's summed leaf values for one cell (LightGBM's raw score)."""
    width: int = model["per_round"]
    scores = [0.0] * width
    get = features.get
    tree: Tree
    for t, tree in enumerate(model["trees"]):
        feat, thr, left, right, leaf = tree
        node = 0
        if feat:
            while node >= 0:
                node = left[node] if get(feat[node], 0.0) <= thr[node] else right[node]
        scores[t % width] += leaf[~node]
    return scores


def probabilities(features: Mapping[str, float], model: Mapping[str, Any]) -> dict[str, float]:
    scores = raw_scores(features, model)
    top = max(scores)
    exps = [math.exp(s - top) for s in scores]
    total = sum(exps)
    return {c: e / total for c, e in zip(model["classes"], exps)}


def blend(second: Mapping[str, float], features: Mapping[str, float], model: Mapping[str, Any]) -> dict[str, float]:
    """The cell's probabilities: the second pass's (``second``) when its best stage reaches the
    gate, else their mix with the trees' at the fitted weight."""
    if max(second.values()) >= model["gate"]:
        return dict(second)
    w: float = model["weight"]
    trees = probabilities(features, model)
    return {c: (1.0 - w) * p + w * trees.get(c, 0.0) for c, p in second.items()}
