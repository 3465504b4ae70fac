"""The fitted layer: shipped weights, plain-Python inference, and what it does to a real notebook."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from nbsplit.analyze import analyze_source
from nbsplit.classify import classify_notebook, fitted, learned
from nbsplit.config import Config
from nbsplit.model import Cell, CellFacts, Classification, Notebook, Stage
from nbsplit.read import read_notebook
from test_classify_samples import evaluate, sample_paths, strip_marks

ROOT = Path(__file__).resolve().parent.parent


def shipped() -> dict:
    text = resources.files("nbsplit.classify").joinpath("weights.json").read_text(encoding="utf-8")
    return fitted.parse(text)


def test_the_shipped_weights_match_the_features_the_code_computes() -> None:
    w = shipped()
    assert w["feature_version"] == learned.FEATURE_VERSION
    assert sorted(w["classes"]) == sorted(s.value for s in Stage if s is not Stage.SKIP)
    assert all(len(row) == len(w["classes"]) for row in w["weights"].values())
    assert len(w["intercept"]) == len(w["classes"])
    # fitted on the committed corpus, not on a handful of samples
    assert w["fitted_on"] >= 3000
    active = learned.active_weights()
    assert {k: v for k, v in active.items() if k != "trees"} == w
    assert active["trees"]["classes"] == sorted(w["classes"])  # the boosted pass ships beside it


def test_the_weight_file_keeps_one_feature_per_line_and_reads_back_exactly() -> None:
    text = resources.files("nbsplit.classify").joinpath("weights.json").read_text(encoding="utf-8")
    raw = json.loads(text)
    assert raw["weight_scale"] == fitted.WEIGHT_SCALE
    assert all(isinstance(w, int) for row in raw["weights"].values() for w in row)
    w = shipped()
    lines = text.splitlines()
    # a refit diffs feature by feature: every feature of both models sits on a line of its own
    assert len([ln for ln in lines if ln.startswith('"') and ln.rstrip(",").endswith("]")
                and ":" in ln]) >= len(w["weights"]) + len(w["stack"]["weights"])
    assert fitted.render(w) == text
    made = {"classes": ["eda", "training"], "intercept": [0.5, -0.25], "fitted_on": 2,
            "weights": {"call:.fit": [-0.1274, 0.0003], "bias": [0.0, -1.0]},
            "stack": {"classes": ["eda", "training"], "intercept": [0.0, 0.1],
                      "weights": {"p:eda": [2.5, -0.0001]}}}
    assert fitted.parse(fitted.render(made)) == made


def test_inference_is_plain_python() -> None:
    code = ("import sys, nbsplit.api as a; a.plan_notebook(sys.argv[1]); "
            "bad = [m for m in ('numpy', 'sklearn', 'scipy', 'pandas', 'lightgbm') if m in sys.modules]; "
            "print(','.join(bad)); sys.exit(1 if bad else 0)")
    res = subprocess.run([sys.executable, "-c", code, str(ROOT / "sample_notebooks" / "churn_pandas.ipynb")],
                         capture_output=True, text=True)
    assert res.returncode == 0, res.stdout + res.stderr


def test_probabilities_are_a_distribution_and_ties_break_by_stage_order() -> None:
    w = shipped()
    probs = learned.predict({"bias": 1.0}, w)
    assert abs(sum(p for _, p in probs) - 1.0) < 1e-9
    assert [p for _, p in probs] == sorted((p for _, p in probs), reverse=True)
    flat = {"classes": ["training", "data-prep"], "intercept": [0.0, 0.0], "weights": {}}
    assert [s for s, _ in learned.predict({}, flat)] == [Stage.DATA_PREP, Stage.TRAINING]


def unmarked(path: Path):
    nb = read_notebook(path)
    cells = tuple(strip_marks(c) for c in nb.cells)
    nb = dataclasses.replace(nb, cells=cells)
    facts = tuple(analyze_source(c.source, c.index) if c.kind == "code" else None for c in cells)
    return nb, facts


def _rules_and_fitted(nb: Notebook, facts: Sequence[CellFacts | None]
                      ) -> tuple[tuple[Classification, ...], tuple[Classification, ...]]:
    """The notebook classified by the rules alone, then with the shipped weights."""
    learned.use_weights(None, disabled=True)
    try:
        rules, _ = classify_notebook(nb, facts, Config())
    finally:
        learned.use_weights(None)
    weighted, _ = classify_notebook(nb, facts, Config())
    return rules, weighted


def test_the_fitted_layer_explains_where_it_overrules_the_rules() -> None:
    overruled = 0
    for path in sample_paths():
        nb, facts = unmarked(path)
        rules, fitted = _rules_and_fitted(nb, facts)
        for r, f in zip(rules, fitted):
            if nb.cells[f.index].kind == "code" and f.stage is not Stage.SKIP:
                assert 0.0 <= f.confidence <= 0.99
            if nb.cells[f.index].kind == "code" and r.stage is not f.stage:
                overruled += 1
                assert f.reasons[-1] == f"fitted weights prefer {f.stage.value} over the rules' {r.stage.value}"
    assert overruled > 0  # the layer does something on notebooks it was not fitted on


def test_an_overruled_cell_names_the_kind_of_evidence_its_reasons_give() -> None:
    """The rules place an imports-and-config cell by its position (no stage evidence of its own
    for training); the fitted layer calls it setup because it imports. That reason is code, so
    the origin says ``heuristic``, not ``heading`` (there is no heading in the notebook)."""
    from nbsplit.analyze import analyze_notebook

    sources = ["import numpy as np\nimport pandas as pd\nfrom sklearn import set_config\nset_config(display='diagram')",
               "import dill\nfrom sklearn.model_selection import train_test_split",
               "data = pd.read_csv('taxi.csv')\ntrain_df, test_df = train_test_split(data, test_size=0.2)",
               "from sklearn.linear_model import LinearRegression\nlr = LinearRegression()\n"
               "lr.fit(train_df[['distance']], train_df['duration'])"]
    nb = Notebook(path=Path("taxi.ipynb"), format="ipynb",
                  cells=tuple(Cell(index=i, kind="code", source=s) for i, s in enumerate(sources)))
    rules, fitted_ = _rules_and_fitted(nb, analyze_notebook(nb))
    assert (rules[0].stage, rules[0].origin) == (Stage.TRAINING, "neighbour")
    assert fitted_[0].stage is Stage.SETUP
    assert fitted_[0].reasons == ("imports numpy", "fitted weights prefer setup over the rules' training")
    assert fitted_[0].origin == "heuristic"


def test_explicit_marks_are_never_overruled() -> None:
    nb = read_notebook(ROOT / "sample_notebooks" / "credito_ptbr.ipynb")
    facts = tuple(analyze_source(c.source, c.index) if c.kind == "code" else None for c in nb.cells)
    classes, _ = classify_notebook(nb, facts, Config())
    marked = [c for c in classes if c.origin in ("tag", "directive")]
    assert marked and all(c.confidence == 1.0 for c in marked)
    assert all(c.stage.value in nb.cells[c.index].tags[0] or c.origin == "directive" for c in marked
               if nb.cells[c.index].tags)


@pytest.mark.parametrize("path", sample_paths(), ids=lambda p: p.stem)
def test_samples_with_marks_hidden_stay_above_the_floor(path: Path) -> None:
    right, total, misses = evaluate(path)
    assert right / total >= 0.8, "\n".join(misses)


def test_weights_disabled_and_override_restore() -> None:
    learned.use_weights({"classes": ["eda"], "intercept": [0.0], "weights": {}, "feature_version": 1})
    try:
        assert learned.active_weights()["classes"] == ["eda"]
    finally:
        learned.use_weights(None)
    assert learned.active_weights() == {**shipped(), "trees": fitted.trees()}


def _captured_features(name: str, sources: list[str],
                       outputs: dict[int, tuple[dict[str, Any], ...]] | None = None) -> dict[int, dict[str, float]]:
    """The fitted layer's features of every code cell of a notebook made of ``sources`` (with
    the stored ``outputs`` of some cells)."""
    from nbsplit.analyze import analyze_notebook

    nb = Notebook(path=Path(name), format="ipynb",
                  cells=tuple(Cell(index=i, kind="code", source=s, outputs=(outputs or {}).get(i, ()))
                              for i, s in enumerate(sources)))
    learned.capture = []
    try:
        classify_notebook(nb, analyze_notebook(nb), Config())
        return {i: f for _, i, f, _ in learned.capture}
    finally:
        learned.capture = None


def _features_named(name: str, sources: list[str], *prefixes: str,
                    outputs: dict[int, tuple[dict[str, Any], ...]] | None = None) -> dict[int, list[str]]:
    """Per code cell, the sorted names of its captured features that start with ``prefixes``."""
    return {i: sorted(k for k in f if k.startswith(prefixes))
            for i, f in _captured_features(name, sources, outputs).items()}


def test_column_writes_become_features_judged_across_cells() -> None:
    """A column an earlier cell names is an existing one when a later cell sets it (cleaning);
    a column nobody named before is derived (a model input); the fitted layer sees which."""
    sources = ["import pandas as pd\ndf = pd.read_csv('t.csv', usecols=['age', 'fare', 'sibsp'])",
               "df['age'] = 0\ndf.loc[df.fare < 0, 'fare'] = None",
               "df['family'] = df['sibsp'] + 1",
               "df['fare'] = df['fare'].fillna(df['fare'].median())\ndf = df[df.age > 0]"]
    features = _captured_features("cols.ipynb", sources)
    colw = {i: sorted(k for k in f if k.startswith(("colw:", "subset:"))) for i, f in features.items()}
    assert colw[1] == ["colw:over", "colw:over:const", "colw:over:rows"]
    assert colw[2] == ["colw:new", "colw:new:op"]
    assert colw[3] == ["colw:over", "colw:over:fix", "subset:rows"]


def test_the_words_of_string_literals_are_features_up_to_forty_a_cell() -> None:
    """File names and printed labels say what a cell is for (``"predictions.csv"``,
    ``"Accuracy:"``): their words, lower-cased and cut at digits, underscores and punctuation,
    are features; a cell that lists many column names gives its first 40 words, in order."""
    words = [f"zz{a}{b}" for a in "abcdefg" for b in "abcdefgh"][:50]
    sources = ["import pandas as pd\nscores = pd.DataFrame({'p': [1]})",
               "scores.to_csv('Predictions_2024.csv')\nprint('Accuracy:', 0.9, 'ROC_AUC')",
               f"cols = [{' '.join(words[:30])!r}, {' '.join(words[30:])!r}, 'lastword']"]
    named = _features_named("strs.ipynb", sources, "str:")
    assert named[1] == ["str:accuracy", "str:auc", "str:csv", "str:predictions", "str:roc"]
    assert named[0] == []  # 'p' is one letter: too short to say anything
    in_order = [k for k in _captured_features("strs.ipynb", sources)[2] if k.startswith("str:")]
    assert in_order == [f"str:{w}" for w in words[:40]]


def test_attribute_names_are_features_methods_included_up_to_forty_a_cell() -> None:
    """``.shape`` peeks, ``.str`` cleans, ``.coef_`` reads a fitted model: every attribute name a
    cell touches is a feature (module functions and methods too), the first 40 alphabetically,
    none longer than 30 characters; a name alone is not an attribute."""
    many = [f"a{k:02d}" for k in range(45)]
    sources = ["import pandas as pd\ndf = pd.read_csv('t.csv')",
               "df['name'] = df['name'].str.strip()\nprint(df.shape, model.coef_)",
               "x = 1\ny = x",
               "obj." + ".".join(many),
               "obj." + "q" * 31 + " = 1\nobj.ok"]
    named = _features_named("attrs.ipynb", sources, "attr:")
    assert named[0] == ["attr:read_csv"]
    assert named[1] == ["attr:coef_", "attr:shape", "attr:str", "attr:strip"]
    assert named[2] == []
    assert named[3] == [f"attr:{a}" for a in many[:40]]
    assert named[4] == ["attr:ok"]


def test_model_outputs_are_followed_to_the_cells_that_read_them() -> None:
    """Predictions and scores of a fitted model are followed through the names built from them
    (``preds`` -> ``results`` -> ``results.head()``); the model itself and the data it was fitted
    on are not model output, so a display of them stays a display of data."""
    sources = ["import pandas as pd\nfrom sklearn.linear_model import LogisticRegression\n"
               "from sklearn.metrics import accuracy_score",
               "df = pd.read_csv('t.csv')\nX, y = df[['a']], df['y']",
               "model = LogisticRegression()\nmodel.fit(X, y)\npreds = model.predict(X)",
               "results = pd.DataFrame({'y': y, 'pred': preds})",
               "results.head()",
               "acc = accuracy_score(y, preds)",
               "acc",
               "X.head()",
               "model",
               "df['score'] = model.predict_proba(X)[:, 1]",
               "df.describe()",
               "df = pd.read_csv('t.csv')",
               "df.head()"]
    seen = _features_named("outputs.ipynb", sources, "reads_model:", "shows_model:")
    assert seen[3] == ["reads_model:pred"]
    assert seen[4] == ["reads_model:pred", "shows_model:pred"]
    assert seen[5] == ["reads_model:pred"]
    assert seen[6] == ["reads_model:pred", "reads_model:score", "shows_model:pred", "shows_model:score"]
    assert seen[7] == seen[8] == []  # the data and the model are not their output
    assert seen[10] == ["reads_model:pred", "shows_model:pred"]  # a frame given a prediction column
    assert seen[12] == []  # df bound again from the file: data once more


def _reference_predict(features, weights):
    """``learned.predict`` as first written (one ``scores[k] += w * value`` at a time): the
    faster version must give the very same floats."""
    import math

    scores = list(weights["intercept"])
    for name, value in features.items():
        row = weights["weights"].get(name)
        if row is not None:
            for k, w in enumerate(row):
                scores[k] += w * value
    top = max(scores)
    exps = [math.exp(s - top) for s in scores]
    total = sum(exps)
    probs = [(Stage(c), e / total) for c, e in zip(weights["classes"], exps)]
    return sorted(probs, key=lambda p: (-p[1], p[0].order if p[0].is_pipeline else 99))


def test_predict_gives_the_reference_floats_bit_for_bit() -> None:
    import random

    w = shipped()
    names = sorted(w["weights"])
    rng = random.Random(12)
    for _ in range(300):
        chosen = rng.sample(names, rng.randint(0, 60)) + ["not a feature"]
        features = {n: rng.choice([1.0, 1.0, 1.0, 1, rng.uniform(-3, 3), round(rng.random(), 4), 0.0])
                    for n in chosen}
        got, want = learned.predict(features, w), _reference_predict(features, w)
        assert [(s, p.hex()) for s, p in got] == [(s, p.hex()) for s, p in want]


@pytest.mark.parametrize("name, flag", [
    ("05_batch_inference.ipynb", "file_scoring"),
    ("02_score_customers.py", "file_scoring"),
    ("ModelServing.ipynb", "file_scoring"),
    ("model_monitoring.ipynb", "file_monitoring"),
    ("01_drift_detection.ipynb", "file_monitoring"),
    ("Heart_Disease_Prediction.ipynb", None),  # a whole modelling project, not a scoring job
    ("credit_risk_eda.ipynb", None),
])
def test_the_notebook_file_name_is_a_feature_of_every_cell(name: str, flag: str | None) -> None:
    """A scoring or monitoring notebook's own name says what its preparation cells are for
    (DESIGN: preparing the data a model scores is prediction); the fitted layer weighs the name
    against each cell's rule stage."""
    sources = ["import pandas as pd\nimport joblib",
               "df = pd.read_csv('customers.csv')\ndf = df.dropna()",
               "model = joblib.load('model.pkl')\ndf['p'] = model.predict(df)"]
    features = _captured_features(name, sources)
    flags = {i: sorted(k.split(":")[1] for k in f if k.startswith("nb:file_")) for i, f in features.items()}
    assert flags == {i: ([flag] if flag else []) for i in features}


def test_a_monitoring_notebooks_flags_say_whether_its_monitoring_has_begun() -> None:
    """A notebook named for monitoring often rebuilds its data first (a copy of the preparation
    notebook) and computes drift only at the end: the cells before the first one whose own code
    monitors carry the name and the drift flags as ``:before``, that cell and the ones after as
    ``:from``, so the fitted layer can tell the preparation from the monitoring."""
    sources = ["import pandas as pd\nfrom scipy.stats import ks_2samp",
               "ref = pd.read_csv('train.csv')\ncur = pd.read_csv('new_month.csv')",
               "cur.head()",
               "cur['age'] = cur['age'].fillna(cur['age'].median())",
               "for col in ['age', 'income']:\n    print(col, ks_2samp(ref[col], cur[col]).pvalue)",
               "cur.describe()"]
    named = _features_named("model_monitoring.ipynb", sources, "nb:file_monitoring", "nb:drift")
    sides = {i: sorted({k.split(":")[2] for k in names if k.count(":") == 3}) for i, names in named.items()}
    assert sides[1] == sides[3] == ["before"]
    assert sides[4] == sides[5] == ["from"]
    assert "nb:drift:before:eda" in named[2] and "nb:drift:from:eda" in named[5]
    assert "nb:file_monitoring:eda" in named[2]  # the name itself stays a feature of every cell
    # without a cell that monitors, the name alone, as before
    plain = _features_named("model_monitoring.ipynb", sources[:4], "nb:file_monitoring")
    assert all(k.count(":") == 2 for names in plain.values() for k in names)
    assert plain[1] == ["nb:file_monitoring:data-prep"]


def test_lineage_follows_values_through_every_later_and_earlier_cell() -> None:
    """A cleaning step feeds the fit two cells later (not only its next reader); the test file
    prepared after training feeds the scoring cell and never the fit; the scoring cell's inputs
    came from training (the model), a cleaning step's did not. A name bound again from a file
    starts a new lineage."""
    sources = ["import pandas as pd\nfrom sklearn.linear_model import LogisticRegression",
               "train = pd.read_csv('train.csv')",
               "train = train.dropna()",
               "train['ratio'] = train['a'] / train['b']",
               "X, y = train[['a', 'ratio']], train['y']",
               "model = LogisticRegression()\nmodel.fit(X, y)",
               "test = pd.read_csv('test.csv')",
               "test['ratio'] = test['a'] / test['b']",
               "test['pred'] = model.predict(test[['a', 'ratio']])\ntest.to_csv('scored.csv')",
               "train = pd.read_csv('train.csv')\ntrain.head()"]
    stages = _features_named("lineage.ipynb", sources, "feeds:", "fed_by:", "feeds_first:")
    assert "feeds:training" in stages[2]  # through the column cell and X/y to the fit
    assert "feeds:training" not in stages[7] and "feeds:training" not in stages[6]
    assert "fed_by:training" in stages[8] and "fed_by:training" not in stages[2]
    assert not [k for k in stages[9] if k.startswith("fed_by:")]  # read from the file again
    assert "feeds_first:none" in stages[9]


def test_stored_outputs_become_features_and_a_stripped_cell_has_none() -> None:
    """What a cell showed when its author ran it: a plot, a table, printed words (first seen,
    stemmed); an error; nothing at all for a cell whose outputs were stripped."""
    outputs: dict[int, tuple[dict[str, Any], ...]] = {
        1: ({"output_type": "stream", "name": "stdout", "text": ["Accuracy: 0.91\n", "Precision: 0.88\n"]},),
        2: ({"output_type": "display_data", "metadata": {},
             "data": {"image/png": "iVBORw0KGgo=", "text/plain": "<Figure size 640x480 with 1 Axes>"}},),
        3: ({"output_type": "execute_result", "execution_count": 4, "metadata": {},
             "data": {"text/html": "<table></table>", "text/plain": "   age  income\n0   31    5200"}},),
        4: ({"output_type": "error", "ename": "KeyError", "evalue": "'x'", "traceback": []},),
    }
    sources = ["import pandas as pd", "print(report)", "plt.show()", "df.head()", "df['x']", "df.shape"]
    seen = _features_named("outputs.ipynb", sources, "out:", "out_tok:", outputs=outputs)
    assert seen[1] == ["out:stream", "out_tok:accura", "out_tok:precis"]
    assert seen[2] == ["out:image", "out_tok:axes", "out_tok:figure", "out_tok:size", "out_tok:with"]
    assert seen[3] == ["out:html", "out_tok:income"]
    assert seen[4] == ["out:error"]
    assert seen[5] == []


def test_the_shipped_weights_carry_a_second_pass_over_the_neighbours_probabilities() -> None:
    w = shipped()
    stack = w["stack"]
    assert stack["classes"] == w["classes"] and len(stack["intercept"]) == len(w["classes"])
    # the second pass was fitted on the first pass's probabilities around each cell
    own = [f"s_own:{c}" for c in w["classes"]]
    assert all(name in stack["weights"] for name in own)
    assert any(name.startswith("s_n-1:") for name in stack["weights"])


def test_stack_features_are_the_cell_and_two_neighbours_each_side() -> None:
    probs = [{"eda": 0.9, "training": 0.1}, {"eda": 0.2, "training": 0.8}, {"eda": 0.5, "training": 0.5}]
    f = learned.stack_features(probs, 0)
    assert f == {"s_own:eda": 0.9, "s_own:training": 0.1, "s_n1:eda": 0.2, "s_n1:training": 0.8,
                 "s_n2:eda": 0.5, "s_n2:training": 0.5}
    assert sorted(k for k in learned.stack_features(probs, 1) if k.startswith("s_n")) == [
        "s_n-1:eda", "s_n-1:training", "s_n1:eda", "s_n1:training"]


def test_the_second_pass_reads_the_first_pass_and_a_tagged_neighbour_counts_as_certain() -> None:
    # first pass: "x" is training, nothing else known (eda); second pass: a cell follows its
    # left neighbour's first-pass stage
    first = {"classes": ["eda", "training"], "intercept": [0.0, 0.0], "weights": {"x": [0.0, 4.0]}}
    w = {**first, "stack": {"classes": ["eda", "training"], "intercept": [0.0, 0.0],
                            "weights": {"s_n-1:training": [0.0, 8.0], "s_n-1:eda": [8.0, 0.0]}}}
    seq = [{"x": 1.0}, {}, {}]
    got = [ranked[0][0] for ranked in learned.predict_sequence(seq, w)]
    assert got == [Stage.EDA, Stage.TRAINING, Stage.EDA]  # cell 0 has no left neighbour: a tie -> eda
    assert [r[0][0] for r in learned.predict_sequence(seq, first)] == [Stage.TRAINING, Stage.EDA, Stage.EDA]
    fixed = [r[0][0] for r in learned.predict_sequence(seq, w, {1: "training"})]
    assert fixed[2] is Stage.TRAINING  # the tagged cell's stage is certain for its neighbour
