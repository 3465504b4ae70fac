"""The runtime's MLflow functions on a real sqlite store, run as the module a stage notebook
imports (no kernel, no ``nbsplit run``: the stages make their runs themselves, as on Databricks):
autologging into the training stage's run, the gate, and the generated monitoring's live metric.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from tests.test_handoff_runtime import _module

pytestmark = pytest.mark.slow

DEFAULTS = {"handoff_dir": "handoffs", "data_dir": ".", "catalog": "main", "schema": "default",
            "experiment_name": "/Shared/demo", "model_name": "demo_model", "pipeline_run": "run-1",
            "live_metric_degradation": "0.1"}
LIVE = {"metric": "auc", "greater_is_better": True, "kind": "function",
        "source": "sklearn.metrics.roc_auc_score", "flavor": "sklearn", "scores": True}


def _stage(tmp_path: Path) -> dict[str, Any]:
    """A fresh runtime module, as each stage notebook imports its own."""
    ns = _module(tmp_path, DEFAULTS)
    ns["_nbsplit_start"]({"handoff_dir": str(tmp_path / "handoffs"), "data_dir": str(tmp_path)})
    return ns


def _data() -> tuple[pd.DataFrame, pd.Series]:
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"a": rng.normal(0, 1, 300), "b": rng.normal(0, 1, 300)})
    y = pd.Series((X["a"] + 0.3 * rng.normal(0, 1, 300) > 0).astype(int), name="churned")
    return X, y


def test_autolog_gate_and_live_metric_in_one_pipeline_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    import mlflow
    import mlflow.tracking._model_registry.utils as registry_utils
    import mlflow.tracking._tracking_service.utils as tracking_utils
    from mlflow import MlflowClient

    # The runtime sets MLflow's process-wide URIs (mlflow.set_tracking_uri); this test runs it in
    # the suite's own process, so they are put back afterwards for the tests that follow.
    monkeypatch.setattr(tracking_utils, "_tracking_uri", tracking_utils._tracking_uri)
    monkeypatch.setattr(registry_utils, "_registry_uri", registry_utils._registry_uri)
    # mlflow.set_registry_uri also writes MLFLOW_REGISTRY_URI, which later kernels would inherit.
    monkeypatch.delenv("MLFLOW_REGISTRY_URI", raising=False)
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GridSearchCV
    from sklearn.metrics import roc_auc_score

    from nbsplit.mlflowstore import seed_store

    seed_store(tmp_path / "mlflow.db", tmp_path / "mlartifacts")  # as nbsplit run makes its store
    uri = f"sqlite:///{(tmp_path / 'mlflow.db').as_posix()}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)  # read when the runtime module is imported
    for name in ("NBSPLIT_MLFLOW_RUN_ID", "NBSPLIT_MLFLOW_REPORT", "DATABRICKS_RUNTIME_VERSION", "NBSPLIT_MLFLOW"):
        monkeypatch.delenv(name, raising=False)
    X, y = _data()

    # training: autolog on around the main model's fit only (a search: its best estimator).
    train = _stage(tmp_path)
    train["_nbsplit_autolog"]("training", ["sklearn"], params={"max_iter": 500})
    grid = GridSearchCV(LogisticRegression(max_iter=500), {"C": [0.5, 2.0]}, cv=2).fit(X, y)
    train["_nbsplit_autolog_end"]("training")
    LogisticRegression(C=3.0, max_iter=100, solver="liblinear").fit(X, y)  # another model: not autologged
    model = grid.best_estimator_
    user = {"model": model, "X": X, "grid": grid}
    train["_nbsplit_track"](user, "training", searches=[["grid", ""]],
                            model={"name": "model", "flavor": "sklearn", "input": "X", "register": True})
    assert mlflow.active_run() is None  # the tracking cell closed the autolog run
    # evaluation: the gate promotes the first challenger, recording its auc on the version.
    auc = roc_auc_score(y, model.predict_proba(X)[:, 1])
    _stage(tmp_path)["_nbsplit_track"]({"auc": auc}, "evaluation", metrics=[["auc", ["name", "auc"]]],
                                       gate={"metric": "auc", "greater_is_better": True})

    client = MlflowClient(uri, uri)
    experiment = client.get_experiment_by_name("/Shared/demo")
    runs = client.search_runs([experiment.experiment_id])
    parents = [r for r in runs if r.data.tags.get("nbsplit.stage") == "pipeline"]
    assert len(parents) == 1
    # One run per stage, nested in the parent: autolog started none (no child run per search candidate).
    assert sorted((r.info.run_name, r.data.tags.get("mlflow.parentRunId")) for r in runs if r not in parents) == [
        ("evaluation", parents[0].info.run_id), ("training", parents[0].info.run_id)]
    training = next(r for r in runs if r.info.run_name == "training")
    assert training.info.status == "FINISHED"
    params, metrics = training.data.params, training.data.metrics
    assert params["max_iter"] == "500"  # nbsplit's analysed value, logged first
    assert params["C"] == str(grid.best_params_["C"])  # the search's best_params_, by nbsplit
    # autolog's own, of the search (its parameters, best_cv_score), not of the model fitted after it.
    assert params["best_C"] == params["C"] and params["cv"] == "2" and "solver" not in params
    assert metrics["best_cv_score"] == pytest.approx(grid.best_score_) and "training_score" in metrics
    artifacts = [f.path for f in client.list_artifacts(training.info.run_id)]
    assert "model" not in artifacts and "cv_results.csv" in artifacts  # no autologged model: nbsplit logs it
    champion = client.get_model_version_by_alias("demo_model", "champion")
    assert champion.tags["nbsplit.metric.auc"] == repr(auc)
    assert "MLflow autolog (sklearn) into the training run; logged 1 parameter(s)" in capsys.readouterr().out

    # monitoring: a labelled batch whose labels the champion now gets wrong -> live auc, retrain.
    rng = np.random.default_rng(1)
    batch = pd.DataFrame({"a": rng.normal(0, 1, 200), "b": rng.normal(0, 1, 200)})
    batch["churned"] = (batch["a"] < 0).astype(int)  # the relation flipped
    monitor = _stage(tmp_path)
    values: dict[str, Any] = {}

    class _Values:
        def set(self, key: str, value: Any) -> None:
            values[key] = value

    dbutils = type("D", (), {"jobs": type("J", (), {"taskValues": _Values()})()})()
    stage = {"X": X, "X_new": batch, "y": y, "dbutils": dbutils}
    retrain = monitor["_nbsplit_monitor"](stage, "X", "X_new", target="y", live=LIVE)
    out = capsys.readouterr().out
    live = roc_auc_score(batch["churned"], model.predict_proba(batch[["a", "b"]])[:, 1])
    assert live < 0.5 < auc
    assert retrain is True and values == {"retrain": True}
    assert "live auc of demo_model version 1 (@champion) on 200 labelled rows of X_new (label 'churned')" in out
    run = next(r for r in client.search_runs([experiment.experiment_id]) if r.info.run_name == "monitoring")
    assert run.data.tags["mlflow.parentRunId"] == parents[0].info.run_id
    assert run.data.metrics["live_auc"] == pytest.approx(live)
    assert run.data.metrics["live_auc_champion"] == pytest.approx(auc)
    assert run.data.metrics["live_degradation"] == pytest.approx((auc - live) / auc)
    assert run.data.metrics["live_retrain"] == 1.0 and run.data.metrics["drift_retrain"] == 0.0
    assert run.data.params["live_label"] == "churned" and run.data.params["live_champion_version"] == "1"

    # Without labels: one line, no live metric logged (a batch drawn like the training one: no drift).
    monkeypatch.setitem(DEFAULTS, "pipeline_run", "run-2")
    again = _stage(tmp_path)
    unlabelled = {"X": X, "X_new": X.iloc[:150], "y": y, "dbutils": dbutils}
    assert again["_nbsplit_monitor"](unlabelled, "X", "X_new", target="y", live=LIVE) is False
    out = capsys.readouterr().out
    assert "nbsplit: live auc: no labels in X_new (no column 'churned', the name of y); nothing logged" in out
    second = next(r for r in client.search_runs([experiment.experiment_id], "tags.`nbsplit.pipeline_run` = 'run-2'")
                  if r.info.run_name == "monitoring")
    assert not [k for k in second.data.metrics if k.startswith("live_")] and "drift_retrain" in second.data.metrics

    # An autolog that fails is a visible warning, never a failed cell; the tracking cell still
    # closes the run it made active.
    monkeypatch.setitem(DEFAULTS, "pipeline_run", "run-3")
    broken = _stage(tmp_path)
    broken["_nbsplit_autolog"]("training", ["no-such-flavour"])
    assert "nbsplit: warning: MLflow autolog failed: KeyError" in capsys.readouterr().out
    broken["_nbsplit_track"]({}, "training")
    assert mlflow.active_run() is None

    # No primary metric found by the analysis (convert writes gate={"metric": ""}): the warning says
    # so instead of "primary metric  has no numeric value", and the champion stays (probe16:
    # ragesah/Machine-Learning-Project Attrition.ipynb, juanmartinezdb/StudentsPerformance).
    monkeypatch.setitem(DEFAULTS, "pipeline_run", "run-4")
    blind = _stage(tmp_path)
    blind["_nbsplit_track"]({"model": model, "X": X}, "training",
                            model={"name": "model", "flavor": "sklearn", "input": "X", "register": True},
                            gate={"metric": "", "greater_is_better": True})
    out = capsys.readouterr().out
    assert "the analysis found no primary metric (name one with `nbsplit convert --metric`)" in out
    assert "has no numeric value" not in out
    fourth = next(r for r in client.search_runs([experiment.experiment_id], "tags.`nbsplit.pipeline_run` = 'run-4'")
                  if r.info.run_name == "training")
    assert fourth.data.tags["nbsplit.gate"] == "kept"
    assert fourth.data.tags["nbsplit.gate.reason"] == "no primary metric to compare"
    assert str(client.get_model_version_by_alias("demo_model", "champion").version) == "1"

    # The fit argument's name rebound after the fit (NestorDiazDataSC Bank_Personal_Loan.ipynb:
    # X_train split again from other columns): the model is still logged and registered, without
    # signature and input example, and the stage says why (it used to fail the whole logging).
    monkeypatch.setitem(DEFAULTS, "pipeline_run", "run-5")
    rebound = _stage(tmp_path)
    fitted = LogisticRegression(max_iter=200).fit(X, y)
    rebound["_nbsplit_track"]({"clf": fitted, "X_train": X.rename(columns={"a": "c"})}, "training",
                              model={"name": "clf", "flavor": "sklearn", "input": "X_train", "register": True})
    out = capsys.readouterr().out
    assert "nbsplit: warning: X_train no longer fits clf (ValueError: " in out
    assert "logged without signature and input example" in out and "MLflow logging failed" not in out
    assert str(client.get_model_version_by_alias("demo_model", "challenger").version) == "3"
