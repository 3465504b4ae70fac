"""Which stages need a Spark session: any pyspark API or value, not the name ``spark``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from nbsplit.model import Stage
from nbsplit.run import spark_env
from nbsplit.sparkuse import spark_cells, spark_stages
from nbsplit.standins import ENV_SPARK, ENV_SPARK_CONF, SPARK_CONF, spark_conf
from tests.test_plan import notebook, plan_of

SPARK_ML_WITHOUT_SPARK = (
    ("setup", "from pyspark.sql import SparkSession, functions as F\nfrom pyspark.ml.feature import StringIndexer, VectorAssembler\nimport pandas as pd"),
    ("data-prep", "data = SparkSession.builder.getOrCreate().read.csv('churn.csv', header=True, inferSchema=True)"),
    ("featurization", "indexer = StringIndexer(inputCol='plan', outputCol='plan_ix')"),
    ("training", "train, test = data.randomSplit([0.7, 0.3], seed=42)"),
    ("evaluation", "n_test = test.count()"),
    ("prediction", "scores = pd.DataFrame({'x': [1, 2]})\nscores.to_csv('out.csv')"),
)


def test_pyspark_api_and_spark_values_need_spark_without_naming_it() -> None:
    nb, facts, _ = notebook(*SPARK_ML_WITHOUT_SPARK)
    # setup imports pyspark; StringIndexer resolves to pyspark through cell 0's import; train/test
    # come from a Spark frame; the pandas-only cell does not
    assert spark_cells(nb.cells, facts) == {0, 1, 2, 3, 4}
    plan = plan_of(*SPARK_ML_WITHOUT_SPARK)
    needing = spark_stages(plan)
    assert Stage.FEATURIZATION in needing and Stage.EVALUATION in needing
    assert Stage.PREDICTION not in needing


@pytest.mark.parametrize(("source", "needs"), [
    pytest.param("%sql\nSELECT 1", True, id="sql-magic"),
    pytest.param("rows = spark.sql('SELECT 1').collect()", True, id="runtime-spark"),
    pytest.param("import pyspark.pandas as ps\npdf = ps.read_csv('a.csv')", True, id="pandas-on-spark"),
    pytest.param("import pandas as pd\ndf = pd.read_csv('a.csv')", False, id="pandas"),
    pytest.param("sparkline = 3", False, id="name-look-alike"),
])
def test_single_cells(source: str, needs: bool) -> None:
    nb, facts, _ = notebook(("data-prep", source))
    assert (spark_cells(nb.cells, facts) == {0}) is needs


def test_sc_bound_to_a_scaler_is_not_the_spark_context() -> None:
    """``sc = StandardScaler()`` (a public breast-cancer notebook): the run started a JVM for
    training and evaluation, and pandas, first imported by that start, then printed frames in
    another layout than the stages. A runtime name the notebook binds itself is its own value,
    in that cell and after it; bound from Spark again, it is Spark's."""
    nb, facts, _ = notebook(
        ("data-prep", "import pandas as pd\ndf = pd.read_csv('a.csv')\nX, y = df[['a']], df['b']"),
        ("training", "from sklearn.preprocessing import StandardScaler\nsc = StandardScaler()\nX = sc.fit_transform(X)"),
        ("evaluation", "X_new = sc.transform(df[['a']])"),
        ("data-prep", "sc = spark.sparkContext"),
        ("data-prep", "rdd = sc.parallelize([1, 2])"),
    )
    assert spark_cells(nb.cells, facts) == {3, 4}
    plain = plan_of(
        ("data-prep", "import pandas as pd\ndf = pd.read_csv('a.csv')\nX, y = df[['a']], df['b']"),
        ("training", "from sklearn.preprocessing import StandardScaler\nsc = StandardScaler()\nX = sc.fit_transform(X)"),
        ("evaluation", "X_new = sc.transform(df[['a']])"),
    )
    assert spark_stages(plain) == ()
    # without the notebook's own binding, ``sc`` is Databricks' SparkContext
    nb, facts, _ = notebook(("data-prep", "rdd = sc.parallelize([1, 2])"))
    assert spark_cells(nb.cells, facts) == {0}


def test_a_notebook_function_using_pyspark_makes_its_callers_need_spark() -> None:
    nb, facts, _ = notebook(
        ("setup", "from pyspark.sql import functions as F"),
        ("setup", "def clean(frame):\n    return frame.withColumn('y', F.col('x') + 1)"),
        ("data-prep", "import pandas as pd\nout = clean(pd.DataFrame())"),
    )
    assert 2 in spark_cells(nb.cells, facts)


def test_a_value_rebound_by_a_plain_cell_stops_being_a_spark_value() -> None:
    nb, facts, _ = notebook(
        ("data-prep", "df = spark.range(3)"),
        ("data-prep", "import pandas as pd\ndf = pd.DataFrame({'a': [1]})"),
        ("eda", "df.head()"),
    )
    assert spark_cells(nb.cells, facts) == {0}


def test_run_env_starts_spark_for_the_named_stages_and_shares_the_conf() -> None:
    manifest = {"spark": {"conf": {"spark.sql.shuffle.partitions": "3"}, "stages": ["training"]}}
    training, prediction, source = (spark_env(manifest, "training"), spark_env(manifest, "prediction"),
                                    spark_env(manifest, None))
    assert training[ENV_SPARK] == "1" and prediction[ENV_SPARK] == "0" and source[ENV_SPARK] == "1"
    assert {training[ENV_SPARK_CONF], prediction[ENV_SPARK_CONF], source[ENV_SPARK_CONF]} == {
        json.dumps({"spark.sql.shuffle.partitions": "3"})}
    assert spark_env({}, "training") == {}


def test_spark_conf_comes_from_the_environment_else_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV_SPARK_CONF, raising=False)
    assert spark_conf() == SPARK_CONF
    monkeypatch.setenv(ENV_SPARK_CONF, json.dumps({"spark.sql.shuffle.partitions": 2}))
    assert spark_conf() == {"spark.sql.shuffle.partitions": "2"}


def test_manifest_names_the_spark_stages_and_conf(tmp_path: Path) -> None:
    from nbsplit.convert import render_files
    from nbsplit.render.manifest import MANIFEST_NAME

    files, _ = render_files(plan_of(*SPARK_ML_WITHOUT_SPARK), tmp_path / "out")
    spark = json.loads(files[MANIFEST_NAME])["spark"]
    assert spark["conf"] == SPARK_CONF
    assert spark["stages"] == ["data-prep", "featurization", "training", "evaluation"]
    assert spark["session"] == "notebook"  # cell 1 builds it
    pandas_only, _ = render_files(plan_of(("data-prep", "import pandas as pd\ndf = pd.read_csv('a.csv')"),
                                          ("training", "m = df.mean()")), tmp_path / "out2")
    assert "spark" not in json.loads(pandas_only[MANIFEST_NAME])


def test_seeded_split_of_a_handed_off_spark_frame_is_warned_with_its_cell() -> None:
    plan = plan_of(*SPARK_ML_WITHOUT_SPARK)
    [warning] = [d for d in plan.diagnostics if "Delta table" in d.message]
    assert warning.cell == 3 and warning.severity == "warning"
    assert "`data.randomSplit`" in warning.message and "handed from data-prep (cell 1)" in warning.message


def test_split_in_the_stage_that_built_the_frame_is_not_warned() -> None:
    plan = plan_of(
        ("data-prep", "df = spark.range(10)"),
        ("data-prep", "a, b = df.randomSplit([0.5, 0.5], seed=1)"),
        ("training", "n = pd_len = a.count()"),
    )
    assert not [d for d in plan.diagnostics if "Delta table" in d.message]


def test_a_notebook_building_its_own_session_gets_no_session_started_first() -> None:
    manifest = {"spark": {"conf": {}, "stages": ["training"], "session": "notebook"}}
    assert spark_env(manifest, "training")[ENV_SPARK] == "0"
    assert spark_env(manifest, None)[ENV_SPARK] == "0"
