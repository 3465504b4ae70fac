"""End to end on small purpose-made notebooks: the embedded sqlite MLflow registry and the
Databricks runtime stand-ins (local Spark, ``%sql``, ``display``, ``dbutils``). The sample
notebooks run (and are compared with their source) in ``test_pipeline_samples.py``."""

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


DATABRICKS_SPARK = """# Databricks notebook source
# nbsplit: data-prep
sdf = spark.range(6).withColumn("double", F.col("id") * 2)
display(sdf)

# COMMAND ----------

# MAGIC %pip install pyspark

# COMMAND ----------

# nbsplit: eda
sdf.createOrReplaceTempView("numbers")

# COMMAND ----------

# MAGIC %sql
# MAGIC -- nbsplit: eda
# MAGIC SELECT COUNT(*) AS n, SUM(double) AS total FROM numbers

# COMMAND ----------

# nbsplit: training
dbutils.jobs.taskValues.set("rows", sdf.count())
print("rows", dbutils.jobs.taskValues.get("training", "rows"))
"""


def test_databricks_spark_notebook_uses_the_local_session_sql_and_display(tmp_path: Path) -> None:
    """`spark`, `%sql`, `display` and `dbutils` as on Databricks; Spark handoffs are parquet."""
    project = tmp_path / "project"
    project.mkdir()
    source = project / "nums.py"
    source.write_text(DATABRICKS_SPARK.replace("# Databricks notebook source\n",
                                               "# Databricks notebook source\nfrom pyspark.sql import functions as F\n"
                                               "\n# COMMAND ----------\n\n", 1))
    split = convert(source, tmp_path / "split", fmt="databricks")
    result = run_folder(split, console=quiet())
    assert result.ok, result.messages
    prep = executed_text(result, "data_prep")
    assert "double" in prep and "10" in prep  # display(sdf) rendered the rows
    eda = executed_text(result, "eda")
    assert "30" in eda.split("total")[-1]  # %sql ran on the local session: SUM(double) = 30
    assert "rows 6" in executed_text(result, "training")
    assert "skipped %pip install pyspark" in executed_text(result, "data_prep") + eda + executed_text(result, "training")
    assert list((split / ".nbsplit" / "handoffs").glob("sdf__c*.spark.parquet"))
