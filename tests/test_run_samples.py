"""End to end on a small purpose-made notebook: the embedded sqlite MLflow registry. The sample
notebooks run (and are compared with their source) in ``test_pipeline_samples.py``, which also
checks the Databricks stand-ins on the Databricks source sample (local Spark in every stage that
needs it, ``%sql`` on that session, ``display`` of Spark rows, ``%pip`` skipped, Spark frames
handed off as parquet); ``dbutils.jobs.taskValues`` across tasks is tested in ``test_run.py``."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from nbsplit.run import run_folder
from tests.test_run import convert, output_text, quiet

pytestmark = pytest.mark.slow


def executed_text(result, key: str) -> str:
    nb = nbformat.read(result.task(key).executed, as_version=4)
    return "\n".join(output_text(c) for c in nb.cells)


def test_embedded_mlflow_store_registers_and_loads_by_alias(tmp_path: Path) -> None:
    """The local defaults alone (no tracking URI in the notebook) give a working registry."""
    cells = [
        ("setup", "import mlflow\nimport mlflow.sklearn\nfrom mlflow import MlflowClient\n"
                  "from sklearn.datasets import make_classification\n"
                  "from sklearn.linear_model import LogisticRegression"),
        ("data-prep", "X, y = make_classification(n_samples=120, n_features=4, random_state=0)"),
        ("training", "clf = LogisticRegression().fit(X, y)\nmlflow.set_experiment('nbsplit-test')\n"
                     "with mlflow.start_run():\n"
                     "    info = mlflow.sklearn.log_model(clf, name='model', input_example=X[:2])\n"
                     "mv = mlflow.register_model(info.model_uri, 'tiny_model')\n"
                     "MlflowClient().set_registered_model_alias('tiny_model', 'champion', mv.version)\n"
                     "print('registered', mv.version)"),
        ("prediction", "model = mlflow.pyfunc.load_model('models:/tiny_model@champion')\n"
                       "print('predictions:', len(model.predict(X[:5])))"),
    ]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s, metadata={"tags": [f"nbsplit:{t}"]})
                                         for t, s in cells])
    project = tmp_path / "project"
    project.mkdir()
    nbformat.write(nb, project / "reg.ipynb")
    split = convert(project / "reg.ipynb", tmp_path / "split")
    result = run_folder(split, console=quiet())
    assert result.ok, result.messages
    assert "registered 1" in executed_text(result, "training")
    assert "predictions: 5" in executed_text(result, "prediction")
    from mlflow import MlflowClient

    uri = f"sqlite:///{(split / '.nbsplit' / 'mlflow.db').as_posix()}"
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    assert str(client.get_model_version_by_alias("tiny_model", "champion").version) == "1"
    experiment = client.get_experiment_by_name("nbsplit-test")
    assert Path(experiment.artifact_location.removeprefix("file://")).is_relative_to(split / ".nbsplit" / "mlartifacts")
    # Nothing landed in the user's folder: no ./mlflow.db, no ./mlruns.
    assert sorted(p.name for p in project.iterdir()) == ["reg.ipynb"]
