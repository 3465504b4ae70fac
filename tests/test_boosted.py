"""The boosted-trees pass: the plain-Python walk gives LightGBM's own scores, the shipped file reads
back, and the blend only touches cells the logistic passes are unsure of."""

from __future__ import annotations

import json
import math
import random
import sys
from importlib import resources
from pathlib import Path

import pytest

from nbsplit.classify import boosted, fitted, learned
from nbsplit.model import Stage

ROOT = Path(__file__).resolve().parent.parent


def _accuracy():  # benchmarks/accuracy.py: the fitting side (the dev extra)
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import accuracy

    return accuracy


def _rows(n: int, seed: int) -> list[tuple[dict[str, float], str, str]]:
    """Sparse feature dicts whose class depends on two features read together (an interaction a
    sum of single-feature weights cannot express) plus a continuous probability-like feature."""
    rng = random.Random(seed)
    rows = []
    for k in range(n):
        f = {f"call:{name}": 1.0 for name in ("fillna", "fit", "predict", "head") if rng.random() < 0.4}
        f["s_own:training"] = round(rng.random(), 3)
        after_split = "call:fit" in f
        lab = ("featurization" if after_split else "data-prep") if "call:fillna" in f else (
            "training" if f["s_own:training"] > 0.5 else "eda")
        rows.append((f, lab, f"repo{k % 7}"))
    return rows


def test_the_tree_walk_gives_lightgbm_raw_scores_and_the_file_reads_back() -> None:
    lightgbm = pytest.importorskip("lightgbm")
    np = pytest.importorskip("numpy")
    from sklearn.feature_extraction import DictVectorizer

    acc = _accuracy()
    rows = _rows(600, seed=1)
    model = acc.fit_trees(rows)
    assert model["classes"] == ["data-prep", "eda", "featurization", "training"]
    assert model["per_round"] == 4 and len(model["trees"]) == acc.TREE_ROUNDS * 4
    # LightGBM itself, refitted the same way (deterministic), scores held-out rows
    vec = DictVectorizer(sparse=True, dtype=np.float64)
    x = vec.fit_transform([f for f, *_ in rows])
    y = np.array([model["classes"].index(lab) for _, lab, _ in rows])
    ref = acc.tree_model().fit(x, y)
    assert isinstance(ref, lightgbm.LGBMClassifier)
    fresh = [f for f, *_ in _rows(200, seed=2)]
    want = ref.booster_.predict(vec.transform(fresh), raw_score=True)
    from_file = boosted.load(json.loads(fitted.render_trees(model)))
    in_memory = boosted.load(model)
    for f, row in zip(fresh, want):
        assert boosted.raw_scores(f, in_memory) == pytest.approx(list(row), abs=1e-6)
        assert boosted.raw_scores(f, from_file) == pytest.approx(list(row), abs=1e-3)
    # the interaction is learned: fillna after a fit is featurization, without one data-prep
    both = boosted.probabilities({"call:fillna": 1.0, "call:fit": 1.0, "s_own:training": 0.2}, in_memory)
    alone = boosted.probabilities({"call:fillna": 1.0, "s_own:training": 0.2}, in_memory)
    assert max(both, key=both.get) == "featurization" and max(alone, key=alone.get) == "data-prep"


def test_the_shipped_trees_match_the_shipped_weights() -> None:
    text = resources.files("nbsplit.classify").joinpath("trees.json").read_text(encoding="utf-8")
    raw = json.loads(text)
    w = fitted.parse(resources.files("nbsplit.classify").joinpath("weights.json").read_text(encoding="utf-8"))
    assert raw["feature_version"] == learned.FEATURE_VERSION
    assert sorted(raw["classes"]) == sorted(w["classes"])
    assert len(raw["trees"]) % raw["per_round"] == 0 and raw["per_round"] == len(w["classes"])
    assert 0.5 < raw["gate"] <= 1.0 and 0.0 < raw["weight"] < 1.0
    # every split names a feature the file lists, and every child is a node or a leaf of its tree
    for feat, thr, left, right, leaf in raw["trees"]:
        assert len(feat) == len(thr) == len(left) == len(right) == len(leaf) - 1
        assert all(0 <= j < len(raw["features"]) for j in feat)
        assert all(-len(leaf) <= c < len(feat) and c != 0 for c in left + right)
    # one tree per line: a refit diffs tree by tree
    assert text.count("\n") >= len(raw["trees"])
    assert fitted.render_trees(raw) == text
    assert learned.active_weights()["trees"]["trees"][0][0] == [raw["features"][j] for j in raw["trees"][0][0]]


def _model(leaf_for_eval: float) -> dict:
    """Two classes, one stump per class: evaluation scores ``leaf_for_eval`` when ``x`` is set."""
    return boosted.load({"classes": ["evaluation", "training"], "per_round": 2, "gate": 0.8, "weight": 0.5,
                         "features": ["x"],
                         "trees": [[[0], [0.5], [-1], [-2], [0.0, leaf_for_eval]], [[], [], [], [], [0.0]]]})


def test_the_blend_mixes_only_below_the_gate() -> None:
    trees = _model(4.0)
    sure = {"evaluation": 0.1, "training": 0.9}
    assert boosted.blend(sure, {"x": 1.0}, trees) == sure
    unsure = {"evaluation": 0.3, "training": 0.7}
    mixed = boosted.blend(unsure, {"x": 1.0}, trees)
    p_eval = math.exp(4.0) / (math.exp(4.0) + 1.0)
    assert mixed["evaluation"] == pytest.approx(0.5 * 0.3 + 0.5 * p_eval)
    assert sum(mixed.values()) == pytest.approx(1.0)
    assert max(mixed, key=mixed.get) == "evaluation"
    # without the feature the trees are indifferent: the mix keeps the second pass's order
    kept = boosted.blend(unsure, {}, trees)
    assert kept["training"] > kept["evaluation"]


def test_predict_sequence_blends_the_trees_after_the_second_pass() -> None:
    first = {"classes": ["evaluation", "training"], "intercept": [0.0, 0.0], "weights": {"t": [0.0, 3.0]}}
    w = {**first, "stack": {"classes": ["evaluation", "training"], "intercept": [0.0, 0.0],
                            "weights": {"s_own:training": [0.0, 1.0], "sure": [0.0, 3.0]}}, "trees": _model(6.0)}
    # cell 0: the second pass is sure of training (past the gate): the trees are not asked;
    # cell 1: training but unsure, the trees (which read "x") turn it; cell 2: "x" alone
    seq = [{"t": 1.0, "sure": 1.0, "x": 1.0}, {"t": 1.0, "x": 1.0}, {"x": 1.0}]
    got = learned.predict_sequence(seq, w)
    no_trees = learned.predict_sequence(seq, {k: v for k, v in w.items() if k != "trees"})
    assert no_trees[0][0][1] >= 0.8 and got[0] == no_trees[0]
    assert no_trees[1][0][0] is Stage.TRAINING and no_trees[1][0][1] < 0.8
    assert got[1][0][0] is Stage.EVALUATION
    assert sum(p for _, p in got[1]) == pytest.approx(1.0)
    assert got[2][0][0] is Stage.EVALUATION


def test_fitted_weights_with_trees_in_file_form_are_resolved_once() -> None:
    raw = {"classes": ["evaluation", "training"], "per_round": 2, "gate": 0.8, "weight": 0.5,
           "features": ["x"], "trees": [[[0], [0.5], [-1], [-2], [0.0, 1.0]], [[], [], [], [], [0.0]]]}
    try:
        learned.use_weights({"classes": ["evaluation", "training"], "intercept": [0.0, 0.0], "weights": {},
                             "trees": raw})
        active = learned.active_weights()
        assert active["trees"]["trees"][0][0] == ["x"]
        learned.use_weights(active)  # already resolved: unchanged
        assert learned.active_weights()["trees"]["trees"][0][0] == ["x"]
    finally:
        learned.use_weights(None)
    assert raw["trees"][0][0] == [0]  # the caller's dict is not changed
