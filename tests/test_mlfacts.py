"""nbsplit.mlfacts: what MLflow logs, decided from libcst facts (small cases and the samples)."""

from __future__ import annotations

from pathlib import Path

import pytest

from convert_cases.support import CASES, SAMPLES
from nbsplit.api import plan_notebook
from nbsplit.convert import convert_notebook
from nbsplit.mlfacts import facts_from_sources, is_local_tracking_uri, ml_facts


def _state(*sources: str):  # type: ignore[no-untyped-def]
    return facts_from_sources(list(enumerate(sources)))


def test_estimator_params_and_fit_with_constants() -> None:
    s = _state("from sklearn.ensemble import RandomForestClassifier as RFC\nSEED = 7",
               "rf = RFC(n_estimators=50, max_depth=None, random_state=SEED, n_jobs=-1)\nrf.fit(X_train, y_train)")
    rf = s.models["rf"]
    assert (rf.cls, rf.flavor, rf.kind) == ("sklearn.ensemble.RandomForestClassifier", "sklearn", "estimator")
    assert rf.params == {"n_estimators": 50, "max_depth": None, "random_state": 7, "n_jobs": -1}
    assert (rf.fitted_cell, rf.fit_args) == (1, ("X_train", "y_train"))


@pytest.mark.parametrize("source, cls, flavor", [
    pytest.param("import xgboost as xgb\nm = xgb.XGBClassifier(max_depth=4).fit(X, y)", "xgboost.XGBClassifier",
                 "xgboost", id="xgboost"),
    pytest.param("from lightgbm import LGBMRegressor\nm = LGBMRegressor(num_leaves=31)\nm.fit(X, y)",
                 "lightgbm.LGBMRegressor", "lightgbm", id="lightgbm"),
    pytest.param("from catboost import CatBoostClassifier\nm = CatBoostClassifier(depth=6)\nm.fit(X, y)",
                 "catboost.CatBoostClassifier", "catboost", id="catboost"),
    pytest.param("import statsmodels.api as sm\nm = sm.OLS(y, X).fit()", "statsmodels.api.OLS", "statsmodels",
                 id="statsmodels"),
])
def test_other_libraries(source: str, cls: str, flavor: str) -> None:
    m = _state(source).models["m"]
    assert (m.cls, m.flavor, m.fitted_cell) == (cls, flavor, 0)


def test_pipeline_steps_and_search_best_estimator() -> None:
    s = _state(
        "from sklearn.pipeline import Pipeline\nfrom sklearn.linear_model import LogisticRegression\n"
        "from sklearn.model_selection import GridSearchCV",
        'pipe = Pipeline([("prep", prep), ("clf", LogisticRegression(C=0.5))])',
        'grid = GridSearchCV(pipe, {"clf__C": [0.1, 1]}, cv=3, scoring="roc_auc")\ngrid.fit(X, y)\n'
        "best = grid.best_estimator_",
    )
    assert s.models["pipe"].params == {"clf__C": 0.5}
    grid = s.models["grid"]
    assert grid.kind == "search" and grid.params["cv"] == 3 and grid.params["estimator__clf__C"] == 0.5
    best = s.models["best"]
    assert (best.cls, best.search, best.fitted_cell) == ("sklearn.pipeline.Pipeline", "grid", 2)


def test_metrics_bound_shown_and_not_metrics() -> None:
    s = _state(
        "from sklearn.metrics import f1_score, mean_squared_error, r2_score, confusion_matrix\n"
        "from sklearn.linear_model import Ridge",
        "model = Ridge().fit(X, y)",
        "rmse = mean_squared_error(y_test, pred) ** 0.5\nf1 = f1_score(y_test, pred)\n"
        "cm = confusion_matrix(y_test, pred)\nscores = {'r2': r2_score(y_test, pred)}\n"
        "print(r2_score(y_test, pred), model.score(X_test, y_test))\nmetric = f1_score\n"
        "y_pred_lasso = model.predict(X_test)",
    )
    by_name = {m.name: m for m in s.metrics.values()}
    assert by_name["rmse"].greater_is_better is False and by_name["rmse"].how == ("name", "rmse")
    assert by_name["f1"].greater_is_better is True
    assert by_name["r2"].how in (("item", "scores", "r2"), ("call", "sklearn.metrics.r2_score", ("y_test", "pred")))
    assert by_name["model_score"].how == ("method", "model", "score", ("X_test", "y_test"))
    # a matrix, the metric function itself and a prediction array are not metrics
    assert not {"cm", "metric", "y_pred_lasso"} & set(by_name)


def test_spark_pipeline_and_evaluator() -> None:
    s = _state(
        "from pyspark.ml import Pipeline\nfrom pyspark.ml.classification import LogisticRegression\n"
        "from pyspark.ml.evaluation import BinaryClassificationEvaluator, RegressionEvaluator",
        "lr = LogisticRegression(maxIter=10)\npipeline = Pipeline(stages=indexers + [assembler, lr])\n"
        "model = pipeline.fit(train)",
        "ev = BinaryClassificationEvaluator()\nauc = ev.evaluate(pred)\nreg = RegressionEvaluator()\n"
        "rmse = reg.evaluate(pred)",
    )
    model = s.models["model"]
    assert (model.cls, model.flavor, model.fit_args) == ("pyspark.ml.PipelineModel", "spark", ("train",))
    assert model.params == {"lr__maxIter": 10}
    assert s.metrics["auc"].greater_is_better and not s.metrics["rmse"].greater_is_better


def test_tracking_uri_and_own_registration() -> None:
    s = _state("import mlflow\nmlflow.set_tracking_uri('sqlite:///mlflow.db')",
               "mlflow.register_model(uri, 'm')")
    assert s.tracking_uris == [(0, "sqlite:///mlflow.db")] and s.registers
    assert is_local_tracking_uri("sqlite:///mlflow.db") and is_local_tracking_uri("./mlruns")
    assert not is_local_tracking_uri("databricks") and not is_local_tracking_uri("databricks://profile")
    assert not is_local_tracking_uri("http://mlflow:5000") and not is_local_tracking_uri("databricks-uc://x")


def test_the_notebooks_own_alias_and_stage_moves() -> None:
    """A move no gate decides: by keyword or position, through a client made in the same
    expression; a computed alias is a move with no name."""
    s = _state("from mlflow import MlflowClient\nALIAS = 'prod'\nclient = MlflowClient()",
               "MlflowClient().set_registered_model_alias(name, 'champion', v.version)",
               "client.set_registered_model_alias(name=name, version=1, alias=ALIAS)",
               "client.transition_model_version_stage(name, 3, 'Production')",
               "client.set_registered_model_alias(name, pick_alias(), 2)",
               "client.get_model_version_by_alias(name, 'champion')")
    assert s.alias_moves == [(1, "champion"), (2, "prod"), (3, "Production"), (4, None)]
    assert s.registers


def test_the_readme_says_the_notebooks_own_alias_move_is_not_gated(tmp_path: Path) -> None:
    """databricks_housing moves `champion` itself: the README says nbsplit's gate does not
    decide there, naming the cell; the plan JSON carries the move."""
    out = tmp_path / "out"
    convert_notebook(SAMPLES / "databricks_housing.py", out)
    readme = (out / "README.md").read_text(encoding="utf-8")
    cell = ml_facts(plan_notebook(SAMPLES / "databricks_housing.py")).alias_moves
    assert cell and cell[0][1] == "champion"
    assert f"moves the alias `champion` (source cell {cell[0][0]}) without\ncomparing models" in readme
    assert ml_facts(plan_notebook(SAMPLES / "churn_pandas.ipynb")).alias_moves == ()


def test_a_hostile_alias_stays_inside_its_code_span(tmp_path: Path) -> None:
    source = tmp_path / "nb.py"
    source.write_text("# %%\nimport mlflow\nfrom mlflow import MlflowClient\n"
                      "# %%\nv = mlflow.register_model(uri, 'm')\n"
                      "MlflowClient().set_registered_model_alias('m', 'x`\\n# pwned\\n[link](http://e)', 1)\n",
                      encoding="utf-8")
    convert_notebook(source, tmp_path / "out")
    readme = (tmp_path / "out" / "README.md").read_text(encoding="utf-8")
    line = next(line for line in readme.splitlines() if line.startswith("Its own code moves"))
    assert "# pwned" not in [x.strip() for x in readme.splitlines()]
    # one code span, fenced longer than the backtick inside, the line break shown as text
    assert line == "Its own code moves the alias ``x`\\n# pwned\\n[link](http://e)`` (source cell 1) without"


@pytest.mark.parametrize("path, main, primary, greater", [
    (SAMPLES / "churn_pandas.ipynb", "rf", "rf_score", True),
    (SAMPLES / "credito_ptbr.ipynb", "modelo", "auc", True),
    (SAMPLES / "messy_sales.ipynb", "gbr", "r2", True),
    (SAMPLES / "monitoring_drift.ipynb", "model", "baseline_auc", True),
    (SAMPLES / "spark_flights.ipynb", "model", "auc", True),
    (SAMPLES / "databricks_housing.py", "model", "r2", True),
    (CASES / "churn_mini" / "churn_mini.ipynb", "model", "test_auc", True),
], ids=lambda v: v.stem if isinstance(v, Path) else None)
def test_samples_main_model_and_primary_metric(path: Path, main: str, primary: str, greater: bool) -> None:
    facts = ml_facts(plan_notebook(path))
    assert (facts.main_model, facts.primary_metric, facts.greater_is_better) == (main, primary, greater)
    fitted = facts.model(main)
    assert fitted is not None and fitted.fitted_cell is not None
    # never an array or a function as a model or a metric
    assert all(m.kind != "evaluator" for m in facts.models if m.name == main)


def test_overrides_and_plan_json() -> None:
    plan = plan_notebook(SAMPLES / "messy_sales.ipynb")
    facts = ml_facts(plan, metric="mean_absolute_error")
    assert (facts.primary_metric, facts.greater_is_better) == ("mean_absolute_error", False)
    assert ml_facts(plan, metric="mean_absolute_error", greater_is_better=True).greater_is_better is True
    from nbsplit.plan import plan_to_json

    data = plan_to_json(plan)["mlflow"]
    gbr = next(m for m in data["models"] if m["name"] == "gbr")
    assert gbr["params"] == {"n_estimators": 200, "max_depth": 3, "learning_rate": 0.05, "random_state": 0}
    assert gbr["stage"] == "training" and data["main_model"] == "gbr"


def test_convert_options_no_mlflow_model_name_and_metric(tmp_path: Path) -> None:
    from nbsplit.convert import convert_notebook
    from nbsplit.render.tracking import MLflowOptions

    source = CASES / "churn_mini" / "churn_mini.ipynb"
    off = convert_notebook(source, tmp_path / "off", dry_run=True, mlflow=MLflowOptions(enabled=False))
    assert not any("_nbsplit_track" in text or "_nbsplit_champion" in text
                   for name, text in off.files.items() if name.endswith(".ipynb"))
    assert "## MLflow" not in off.files["README.md"]
    assert '"instrumented": false' in off.files["nbsplit-manifest.json"]
    on = convert_notebook(source, tmp_path / "on", dry_run=True,
                          mlflow=MLflowOptions(model_name="churn_uc", metric="test_accuracy"))
    stages = {name: text for name, text in on.files.items() if name.endswith(".ipynb")}
    assert all("_nbsplit_track(globals()" in text for text in stages.values())
    assert "model_name = 'churn_uc'" in stages["06_prediction.ipynb"]
    assert "model = _nbsplit_champion('model', model, 'sklearn')" in stages["06_prediction.ipynb"]
    assert "gate={'metric': 'test_accuracy', 'greater_is_better': True}" in stages["05_evaluation.ipynb"]
    assert "model={'name': 'model', 'flavor': 'sklearn', 'input': 'X_train', 'register': True}" \
        in stages["04_training.ipynb"]
    assert {"name": "model_name", "default": "churn_uc"} in __import__("json").loads(on.files["job.json"])["parameters"]
    assert "mlflow models serve -m models:/churn_uc@champion" in on.files["README.md"]


def test_check_flags_a_local_file_tracking_uri(tmp_path: Path) -> None:
    import nbformat

    from nbsplit.check import check_files
    from nbsplit.config import Config

    cells = ["import mlflow\nSTORE = 'sqlite:///mlflow.db'", "mlflow.set_tracking_uri(STORE)",
             "mlflow.set_tracking_uri('databricks')", "mlflow.set_tracking_uri('file:./mlruns')"]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in cells])
    path = tmp_path / "nb.ipynb"
    nbformat.write(nb, path)
    report = check_files([path], config=Config())
    found = [(p.cell, p.severity) for p in report.problems if p.code == "NBS115"]
    assert found == [(1, "warning"), (3, "warning")]
    assert report.exit_code == 0 and check_files([path], config=Config(), strict=True).exit_code == 1


_ALIASES = [
    "from sklearn import metrics as sm\nimport sklearn\nfrom sklearn.ensemble import RandomForestClassifier",
    "from mlflow import register_model as rm\nfrom somepkg import register_model as reg\nimport mlflow.sklearn as mls",
    "from pyspark.ml.evaluation import BinaryClassificationEvaluator as E",
    "clf = RandomForestClassifier()",
    "ev = E(metricName='areaUnderPR')",
]
# One way to a hit each, read after _ALIASES alone: every rule of the name check is needed.
_TRIGGERS = ["clf.fit(X, y)", "print(sm.f1_score(y, p))", "print(sklearn.metrics.accuracy_score(y, p))",
             "rm('runs:/1/model', 'm')", "reg(x)", "mls.log_model(clf, 'model')",
             "client.create_model_version(name='m')", "fit_anything(clf2, registered_model_name='m')",
             "pr = ev.evaluate(preds)", "score = clf.score(X, y)"]


def test_skipping_quiet_statements_changes_no_fact(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The name check that lets ``ml_facts`` skip a statement's call walks is exact: the state
    after every sample, generated ML notebook and aliasing case is the same with it and without."""
    import sys

    from nbfactory import write_ml_notebook
    from nbsplit.mlfacts import _Cell
    from nbsplit.read import read_notebook

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    from bench_plan import make_notebook  # noqa: E402  (the benchmark's generator)

    import nbformat

    inputs = [list(enumerate([*_ALIASES, trigger])) for trigger in _TRIGGERS]
    paths = sorted(p for p in SAMPLES.iterdir() if p.suffix in (".ipynb", ".py") and p.name != "execute_samples.py")
    paths += [write_ml_notebook(tmp_path / f"ml{seed}.ipynb", seed) for seed in range(12)]
    nbformat.write(make_notebook(300, seed=3), tmp_path / "bench.ipynb")
    paths.append(tmp_path / "bench.ipynb")
    for path in paths:
        nb = read_notebook(path)
        inputs.append([(c.index, c.source) for c in nb.cells if c.kind == "code" and c.language == "python"])
    fast = [facts_from_sources(cells) for cells in inputs]
    monkeypatch.setattr(_Cell, "quiet", lambda self: False)
    slow = [facts_from_sources(cells) for cells in inputs]
    assert fast == slow
    assert all(s != facts_from_sources(list(enumerate(_ALIASES))) for s in slow[:len(_TRIGGERS)])  # each hits


def test_a_model_rebound_in_a_loop_is_the_last_pass_fit() -> None:
    # medical_cost_pred.ipynb (AngelX62/ml_Medical_Cost): `model` is fitted on X_train, then a loop over
    # polynomial degrees rebinds it; the model after the loop is the last pass's, fitted on X_tr
    # (461 columns), so logging it with an X_train example (6 columns) failed its signature.
    s = _state("from sklearn.linear_model import LinearRegression\nfrom sklearn.metrics import r2_score\n"
               "from sklearn.preprocessing import PolynomialFeatures",
               "model = LinearRegression()\nmodel.fit(X_train, y_train)",
               "for degree in range(1, 6):\n    X_pol = PolynomialFeatures(degree).fit_transform(X)\n"
               "    X_tr, X_te, y_tr, y_te = split(X_pol, y)\n    model = LinearRegression().fit(X_tr, y_tr)\n"
               "    score = r2_score(y_te, model.predict(X_te))\n    print(degree, score)",
               "for name, m in [('a', a), ('b', b)]:\n    if name:\n        rf = m\n        model.fit(X_b, y_b)")
    assert (s.models["model"].fitted_cell, s.models["model"].fit_args) == (3, ("X_b", "y_b"))
    assert "rf" not in s.models  # bound to a loop variable: no model the analysis knows
    assert "score" not in {m.name for m in s.metrics.values()}  # a metric per pass is none of the notebook's


def test_registry_writes_and_model_reads() -> None:
    """What the MLflow store carries between cells: registering (by call or by
    ``registered_model_name=``) and alias moves write; a ``models:/`` URI anywhere in a cell
    (an f-string, a string bound to a name and handed to a helper) or an mlflow model load reads.
    A model read back with joblib is no read of the store."""
    s = _state("import mlflow\nfrom mlflow import MlflowClient",
               "mlflow.sklearn.log_model(m, 'model', registered_model_name='churn')",
               "MlflowClient().set_registered_model_alias('churn', 'champion', 1)",
               "champion = mlflow.pyfunc.load_model(f'models:/{name}@champion')",
               "uri = 'models:/' + name + '/1'\nscore(uri)",
               "m2 = mlflow.sklearn.load_model(path)",
               "other = joblib.load('model.pkl')")
    assert sorted(set(s.registry_writes)) == [1, 2]
    assert sorted(set(s.model_reads)) == [3, 4, 5]


@pytest.mark.parametrize("mlflow_on", [True, False], ids=["instrumented", "no-mlflow"])
def test_a_stage_loading_the_registered_champion_runs_after_the_stage_registering_it(
        tmp_path: Path, mlflow_on: bool) -> None:
    """databricks_housing's prediction loads ``models:/{model_name}@champion``, which its
    training cell registers and aliases; its data only needs featurization. Without the edge,
    `nbsplit run --parallel` and the Databricks job could score before training registered
    (seen in CI: "Registered Model with name=housing_value_gbr not found")."""
    import json

    from nbsplit.render.tracking import MLflowOptions

    plan = plan_notebook(SAMPLES / "databricks_housing.py")
    by_stage = {sp.stage.value: sp for sp in plan.stages}
    assert "training" not in {d.value for d in by_stage["prediction"].depends_on}  # the data alone
    result = convert_notebook(SAMPLES / "databricks_housing.py", tmp_path / "out", dry_run=True,
                              mlflow=MLflowOptions(enabled=mlflow_on))
    tasks = {t["task_key"]: [d["task_key"] for d in t.get("depends_on", [])]
             for t in json.loads(result.files["job.json"])["tasks"]}
    assert tasks["prediction"] == ["featurization", "training"]
    assert tasks["training"] == ["featurization"]  # nothing else gained an edge
