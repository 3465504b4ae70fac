"""Handoffs of the value types beyond pandas and Spark SQL frames (runtime_frames.py.j2):
numpy, scipy sparse, polars, pandas API on Spark and model flavours, each saved in one namespace
and loaded in a fresh one, as two stage notebooks do, then compared value for value."""

from __future__ import annotations

import sys
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from test_handoff_runtime import _namespace, _round_trip  # the runtime as a stage notebook starts it


@pytest.mark.parametrize("array", [
    pytest.param(np.arange(12, dtype=np.int16).reshape(3, 4), id="int16-2d"),
    pytest.param(np.asfortranarray(np.linspace(0, 1, 6).reshape(2, 3)), id="fortran-order"),
    pytest.param(np.array(["a", "bb"], dtype="<U2"), id="unicode"),
    pytest.param(np.array([1.5, np.nan, -np.inf]), id="nan-inf"),
    pytest.param(np.zeros((0, 3), dtype=np.float32), id="empty"),
    pytest.param(np.array([("x", 1)], dtype=[("k", "U1"), ("v", "i8")]), id="structured"),
])
def test_numpy_arrays_go_through_npy_exactly(tmp_path: Path, array: np.ndarray) -> None:
    back, kind = _round_trip(tmp_path, array)
    assert kind == "numpy"
    assert type(back) is np.ndarray and back.dtype == array.dtype and back.shape == array.shape
    assert back.flags.f_contiguous == array.flags.f_contiguous
    np.testing.assert_array_equal(back, array)


with warnings.catch_warnings():  # np.matrix is deprecated, and still in notebooks
    warnings.simplefilter("ignore", PendingDeprecationWarning)
    _MATRIX = np.matrix([[1, 2]])


@pytest.mark.parametrize("value", [
    pytest.param(np.array([1, "a", None], dtype=object), id="object-array"),
    pytest.param(np.ma.masked_array([1, 2, 3], mask=[0, 1, 0]), id="masked"),
    pytest.param(_MATRIX, id="matrix"),
])
def test_numpy_values_npy_would_change_are_pickled(tmp_path: Path, value: Any) -> None:
    back, kind = _round_trip(tmp_path, value)
    assert kind == "pickle" and type(back) is type(value)
    np.testing.assert_array_equal(np.asarray(back), np.asarray(value))
    if isinstance(value, np.ma.MaskedArray):
        assert list(back.mask) == [False, True, False]


@pytest.mark.parametrize("fmt", ["csr", "csc", "coo", "bsr", "dia", "lil", "dok"])
@pytest.mark.parametrize("container", ["matrix", "array"])
def test_scipy_sparse_keeps_format_class_and_values(tmp_path: Path, fmt: str, container: str) -> None:
    import scipy.sparse as sp

    dense = np.array([[0, 1.5, 0], [2.0, 0, 0], [0, 0, -3.25]])
    make = getattr(sp, f"{fmt}_{container}")
    value = make(dense)
    back, kind = _round_trip(tmp_path, value)
    assert kind == ("scipy-sparse" if fmt not in ("lil", "dok") else "pickle")
    assert type(back) is type(value) and back.dtype == value.dtype
    np.testing.assert_array_equal(back.toarray(), dense)


def test_tfidf_matrix_from_a_vectorizer_round_trips(tmp_path: Path) -> None:
    from sklearn.feature_extraction.text import TfidfVectorizer

    X = TfidfVectorizer().fit_transform(["a red apple", "a green pear", "red pear pie"])
    back, kind = _round_trip(tmp_path, X, "X_text__c7")
    assert kind == "scipy-sparse" and type(back) is type(X)
    assert (back != X).nnz == 0 and back.has_sorted_indices == X.has_sorted_indices


def test_polars_frame_and_series_round_trip(tmp_path: Path) -> None:
    pl = pytest.importorskip("polars")
    df = pl.DataFrame({
        "id": pl.Series([1, 2, None], dtype=pl.Int32),
        "name": ["a", None, "c"],
        "cat": pl.Series(["x", "y", "x"], dtype=pl.Categorical),
        "score": [0.5, float("nan"), 2.0],
        "tags": [["p"], [], ["q", "r"]],
    })
    back, kind = _round_trip(tmp_path, df, "df__c2")
    assert kind == "polars" and back.schema == df.schema and back.equals(df, null_equal=True)
    s = df.get_column("score")
    back, kind = _round_trip(tmp_path, s, "s__c3")
    assert kind == "polars" and isinstance(back, pl.Series) and back.name == "score"
    assert back.equals(s)


def test_polars_object_column_is_not_written_as_parquet(tmp_path: Path) -> None:
    pl = pytest.importorskip("polars")
    df = pl.DataFrame({"o": pl.Series([{1}, {2}], dtype=pl.Object)})
    # parquet cannot hold it and polars refuses to pickle Object columns: the user gets the name
    with pytest.raises(RuntimeError, match=r"cannot hand 'df' \(made in source cell 4\)"):
        _namespace(tmp_path)["_nbsplit_save"]("df__c4", df)
    assert not (tmp_path / "df__c4.polars.parquet").exists()


def test_fitted_sklearn_models_predict_the_same_after_the_handoff(tmp_path: Path) -> None:
    from sklearn.ensemble import GradientBoostingClassifier, RandomForestRegressor
    from sklearn.model_selection import GridSearchCV

    rng = np.random.default_rng(1)
    X = rng.normal(size=(60, 4))
    y = (X[:, 0] + X[:, 1] > 0).astype(int)
    for i, model in enumerate([
        RandomForestRegressor(n_estimators=5, random_state=0).fit(X, X[:, 2]),
        GridSearchCV(GradientBoostingClassifier(random_state=0), {"max_depth": [1, 2]}, cv=3).fit(X, y),
    ]):
        back, kind = _round_trip(tmp_path, model, f"model__c{i}")
        assert kind == "pickle" and type(back) is type(model)
        np.testing.assert_array_equal(back.predict(X), model.predict(X))


@pytest.fixture(scope="module")
def spark() -> Any:
    import os

    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    from pyspark.sql import SparkSession

    session = (SparkSession.builder.master("local[2]").config("spark.ui.enabled", "false")
               .config("spark.sql.shuffle.partitions", "2").getOrCreate())
    yield session
    session.stop()


@pytest.mark.slow
def test_fitted_spark_ml_models_predict_the_same_after_the_handoff(tmp_path: Path, spark: Any,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DATABRICKS_RUNTIME_VERSION", raising=False)
    from pyspark.ml import Pipeline
    from pyspark.ml.classification import LogisticRegression
    from pyspark.ml.feature import StringIndexer, VectorAssembler

    df = spark.createDataFrame([(float(i), "ab"[i % 2], float(i % 3 == 0)) for i in range(40)], "x DOUBLE, c STRING, y DOUBLE")
    model = Pipeline(stages=[StringIndexer(inputCol="c", outputCol="ci"),
                             VectorAssembler(inputCols=["x", "ci"], outputCol="f"),
                             LogisticRegression(featuresCol="f", labelCol="y", maxIter=5)]).fit(df)
    back, kind = _round_trip(tmp_path, model, "model__c9")
    assert kind == "spark-ml" and type(back) is type(model)
    got = [r.probability for r in back.transform(df).select("probability").collect()]
    assert got == [r.probability for r in model.transform(df).select("probability").collect()]


@pytest.mark.slow
def test_pandas_api_on_spark_frame_keeps_index_labels_order_and_dtypes(tmp_path: Path, spark: Any,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    try:
        import pyspark.pandas as ps
    except ImportError as exc:  # pandas-on-Spark refuses pandas 3 (pyspark 4.2, 4.3); CI runs it with 2.x
        pytest.skip(f"pyspark.pandas cannot be imported here: {exc}")
    monkeypatch.delenv("DATABRICKS_RUNTIME_VERSION", raising=False)
    psdf = ps.DataFrame({"b": [3, 1, 2], "a": ["x", "y", None], 5: [0.5, 1.5, 2.5]},
                        index=ps.Index([10, 30, 20], name="row"))
    back, kind = _round_trip(tmp_path, psdf, "psdf__c2")
    assert kind == "pandas-on-spark" and type(back) is type(psdf)
    assert back.to_pandas().equals(psdf.to_pandas())
    assert list(back.index.to_numpy()) == [10, 30, 20] and back.index.name == "row"
    back, kind = _round_trip(tmp_path, psdf["b"], "b__c3")
    assert kind == "pandas-on-spark" and back.name == "b" and back.to_list() == [3, 1, 2]
