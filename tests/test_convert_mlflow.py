"""nbsplit's MLflow instrumentation in the stage notebooks, against a real sqlite store.

Training logs the models it hands on and registers the main one with alias ``challenger``;
evaluation logs its metrics and moves ``champion`` to that version. A broken tracking store
prints a warning and the stage still succeeds.
"""

from __future__ import annotations

import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from convert_cases.support import CASES, read_manifest, text_outputs
from nbsplit.convert import convert_notebook
from nbsplit.execute import execute_notebook, execute_stages

pytestmark = pytest.mark.slow


def _stdout(nb) -> str:  # type: ignore[no-untyped-def]
    return "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
                   if o.get("output_type") == "stream" and o.get("name") == "stdout")


def _upstream_of(manifest: dict, stage: str) -> list[str]:
    """``stage`` and every stage it depends on, in pipeline (a topological) order."""
    needed, todo = set(), [stage]
    while todo:
        name = todo.pop()
        if name not in needed:
            needed.add(name)
            todo.extend(manifest["dag"][name])
    return [s["name"] for s in manifest["stages"] if s["name"] in needed]


@dataclass
class Ran:
    tmp: Path
    source: Path
    out: Path
    manifest: dict
    db: Path
    ran: dict


@pytest.fixture(scope="module")
def ran(tmp_path_factory: pytest.TempPathFactory) -> Ran:
    """churn_mini converted and run up to evaluation against a real sqlite store, once."""
    tmp = tmp_path_factory.mktemp("mlflow")
    shutil.copytree(CASES / "churn_mini", tmp / "src")
    source = tmp / "src" / "churn_mini.ipynb"
    out = tmp / "split"
    convert_notebook(source, out)
    manifest = read_manifest(out)
    db = tmp / "mlflow.db"
    env = {"MLFLOW_TRACKING_URI": f"sqlite:///{db}", "PYSPARK_PYTHON": sys.executable}
    executed = execute_stages(out, _upstream_of(manifest, "evaluation"), timeout=300, env=env)  # kernels start in out/
    return Ran(tmp, source, out, manifest, db, executed)


def test_training_registers_challenger_and_evaluation_promotes_champion(ran: Ran) -> None:
    manifest, db = ran.manifest, ran.db
    train_out = _stdout(ran.ran["04_training.ipynb"])
    assert "nbsplit: logged model; model is churn_mini_model version 1 (challenger)" in train_out
    assert "X_test" not in train_out  # data handed on is not a model: no note about it
    eval_nb = ran.ran["05_evaluation.ipynb"]
    assert "churn_mini_model version 1 is champion" in _stdout(eval_nb)

    import mlflow
    from mlflow import MlflowClient

    mlflow.set_tracking_uri(f"sqlite:///{db}")
    client = MlflowClient()
    assert str(client.get_model_version_by_alias("churn_mini_model", "challenger").version) == "1"
    champion = client.get_model_version_by_alias("churn_mini_model", "champion")
    assert str(champion.version) == "1"
    experiment = client.get_experiment_by_name(manifest["parameters"]["experiment_name"])
    runs = {r.info.run_name: r for r in client.search_runs([experiment.experiment_id])}
    assert set(runs) == {"training", "evaluation"}
    metrics = runs["evaluation"].data.metrics
    assert set(metrics) == {"test_auc", "test_accuracy"}
    # the logged values are the ones the evaluation cell printed
    source_cells = __import__("nbformat").read(ran.source, as_version=4).cells
    cell = next(c for c in manifest["cells"] if source_cells[c["index"]].source.startswith("proba ="))
    printed = text_outputs(eval_nb.cells[cell["cell"]])[0]
    assert f"AUC {metrics['test_auc']:.4f}  accuracy {metrics['test_accuracy']:.4f}" in printed
    # the registered model predicts like the handed-off one
    model = mlflow.sklearn.load_model("models:/churn_mini_model@champion")
    assert type(model).__name__ == "Pipeline"


def test_a_broken_tracking_store_warns_and_the_stage_still_succeeds(ran: Ran) -> None:
    # Training again from the saved handoffs, with a store that cannot be opened.
    (ran.tmp / "a_file").write_text("not a folder")
    bad = {"MLFLOW_TRACKING_URI": f"sqlite:///{ran.tmp}/a_file/mlflow.db"}
    again = execute_notebook(ran.out / "04_training.ipynb", ran.out, timeout=300, env=bad)
    assert "nbsplit: warning: MLflow logging failed:" in _stdout(again)


def test_without_tracking_uri_nothing_is_logged_and_the_folder_stays_clean(ran: Ran) -> None:
    # The folder already holds the fixture run's artefacts (./mlruns): nothing may be added.
    before = sorted(p.relative_to(ran.source.parent) for p in ran.source.parent.rglob("*"))
    again = execute_notebook(ran.out / "04_training.ipynb", ran.out, timeout=300,
                             env={"MLFLOW_TRACKING_URI": ""})
    assert "MLflow logging skipped (no MLFLOW_TRACKING_URI" in _stdout(again)
    assert not (ran.source.parent / "mlflow.db").exists()
    assert sorted(p.relative_to(ran.source.parent) for p in ran.source.parent.rglob("*")) == before
