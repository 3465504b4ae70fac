"""The handoff runtime emitted into stage notebooks, exercised directly: render, exec, round-trip.

Each round trip saves in one namespace and loads in a fresh one (as two stage notebooks do),
then checks the value came back identical, type for type.
"""

from __future__ import annotations

import json
import re
import math
import random
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from nbsplit.render.handoff import runtime_source
from nbsplit.reserved import RNG_STATE


def _module(folder: Path, defaults: dict[str, str] | None = None) -> dict[str, Any]:
    """The runtime as the module a stage notebook imports: exec'd with its ``__file__`` in ``folder``."""
    source = runtime_source(defaults)
    ns: dict[str, Any] = {"__name__": "nbsplit_runtime", "__file__": str(folder / "nbsplit_runtime.py")}
    exec(compile(source, str(folder / "nbsplit_runtime.py"), "exec"), ns)
    return ns


def _namespace(handoff_dir: Path) -> dict[str, Any]:
    ns = _module(handoff_dir)
    # What a stage notebook's parameters cell hands to _nbsplit_start (data_dir: stay where we are).
    ns["_nbsplit_start"]({"handoff_dir": str(handoff_dir), "data_dir": str(Path.cwd())})
    return ns


def _round_trip(tmp_path: Path, value: Any, key: str = "value__c3") -> tuple[Any, str]:
    _namespace(tmp_path)["_nbsplit_save"](key, value)
    meta = json.loads((tmp_path / f"{key}.nbsplit.json").read_text())
    return _namespace(tmp_path)["_nbsplit_load"](key), meta["kind"]


def test_runtime_is_plain_python_without_nbsplit() -> None:
    source = runtime_source()
    # no import of the nbsplit package ("nbsplit.stage" and the like are MLflow tag names)
    assert not re.search(r"^\s*(import|from)\s+nbsplit\b", source, re.MULTILINE)
    assert "nbsplit." not in re.sub(r"[\"'`]nbsplit\.[\w.{}]*|nbsplit\.json", "", source)
    compile(source, "<runtime>", "exec")


def test_pandas_frame_with_rich_dtypes_goes_through_parquet_exactly(tmp_path: Path) -> None:
    df = pd.DataFrame({
        "cat": pd.Categorical(["a", "b", "a"], categories=["b", "a"], ordered=True),
        "when": pd.to_datetime(["2024-01-01", "2024-02-01", None]),
        "n": pd.array([1, None, 3], dtype="Int64"),
        "x": [0.1, float("nan"), 2.5],
        "s": ["p", "q", None],
    })
    back, kind = _round_trip(tmp_path, df)
    assert kind == "parquet"
    pd.testing.assert_frame_equal(back, df, check_exact=True)
    assert list(back.dtypes.astype(str)) == list(df.dtypes.astype(str))


def test_pandas_multiindex_and_non_string_columns_round_trip(tmp_path: Path) -> None:
    index = pd.MultiIndex.from_tuples([("x", 1), ("x", 2), ("y", 1)], names=["grp", "k"])
    df = pd.DataFrame({0: [1, 2, 3], 1: [4.0, 5.0, 6.0]}, index=index)
    back, _ = _round_trip(tmp_path, df)
    pd.testing.assert_frame_equal(back, df, check_exact=True, check_column_type=True)
    assert list(back.columns) == [0, 1] and isinstance(back.columns[0], (int, np.integer))
    assert back.index.names == ["grp", "k"]


def test_pandas_frame_that_parquet_would_change_falls_back_to_pickle(tmp_path: Path) -> None:
    mixed = pd.DataFrame({"m": [1, "two", 3.0]})  # pyarrow refuses mixed object columns
    back, kind = _round_trip(tmp_path, mixed)
    assert kind == "pickle"
    pd.testing.assert_frame_equal(back, mixed)
    assert [type(v) for v in back["m"]] == [int, str, float]
    assert not (tmp_path / "value__c3.parquet").exists()


@pytest.mark.parametrize("as_series", [False, True], ids=["frame", "series"])
def test_pandas_null_kinds_of_object_columns_survive_the_handoff(tmp_path: Path, as_series: bool) -> None:
    """A missing value read from a CSV is NaN; parquet gives an object column's NaN back as None
    under pandas 2 and pandas 2 calls the two equal, but a OneHotEncoder names the category
    ``Cabin_nan`` for one and ``Cabin_None`` for the other (a stranger's Titanic notebook then
    failed in its featurization stage only). Each kind must come back as it was. (Under pandas 3 the
    column reads back as ``str``; the CI's pandas<3 job runs this test too.)"""
    cabin = pd.Series(["C", float("nan"), "E", None], dtype=object, name="Cabin")
    value = cabin if as_series else pd.DataFrame({"Cabin": cabin, "n": [1, 2, 3, 4]})
    back, _ = _round_trip(tmp_path, value)
    col = back if as_series else back["Cabin"]
    assert [type(v) for v in col] == [str, float, str, type(None)]
    assert col.dtype == object


@pytest.mark.parametrize("as_series", [False, True], ids=["frame", "series"])
def test_pickled_object_columns_get_numpy_nan_back(tmp_path: Path, as_series: bool) -> None:
    """Unpickled, a NaN is a new float, not ``np.nan``, and ``str.split(expand=True)`` spreads a
    missing value over the new columns only when it ``is np.nan`` (else it pads them with None): a
    stranger's Spaceship Titanic notebook split its Cabin column into three after the handoff and
    showed None where the monolith showed NaN. (An object column of strings is pickled under
    pandas 2 and 3 alike: parquet would give NaN back as None, or the column as ``str``.)"""
    import numpy as np

    cabin = pd.Series(["B/0/P", np.nan, "F/1/S"], dtype=object, name="Cabin")
    value = cabin if as_series else pd.DataFrame({"Cabin": cabin, "n": [1, 2, 3]})
    value.index = [3, 3, 4]  # a repeated label: the column is set back by position, not aligned
    back, kind = _round_trip(tmp_path, value)
    assert kind == "pickle"
    col = back if as_series else back["Cabin"]
    assert col.iloc[1] is np.nan and col.dtype == object and col.index.tolist() == [3, 3, 4]
    assert col.iloc[[0, 2]].tolist() == ["B/0/P", "F/1/S"]
    cabin.index = value.index
    pd.testing.assert_frame_equal(col.str.split("/", expand=True), cabin.str.split("/", expand=True))
    assert col.str.split("/", expand=True).iloc[1].map(type).tolist() == [float, float, float]


def test_pandas_series_named_and_unnamed(tmp_path: Path) -> None:
    unnamed = pd.Series([3, 1, 2], index=["a", "b", "c"])
    back, kind = _round_trip(tmp_path, unnamed, "s__c1")
    assert kind == "parquet-series" and back.name is None
    pd.testing.assert_series_equal(back, unnamed, check_exact=True)
    counts = pd.Series(["x", "y", "x"]).value_counts()
    back, _ = _round_trip(tmp_path, counts, "vc__c2")
    pd.testing.assert_series_equal(back, counts, check_exact=True)
    # A Series already named like the runtime's placeholder for "no name" keeps its name.
    placeholder = pd.Series([1.5, 2.5], name="__nbsplit_series__")
    back, kind = _round_trip(tmp_path, placeholder, "p__c3")
    assert kind == "pickle"
    pd.testing.assert_series_equal(back, placeholder, check_exact=True)


def test_numpy_array_and_sklearn_pipeline(tmp_path: Path) -> None:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(40, 3)), np.tile([0, 1], 20)
    arr, kind = _round_trip(tmp_path, X, "X__c4")
    assert kind == "numpy" and arr.dtype == X.dtype and np.array_equal(arr, X)
    pipe = make_pipeline(StandardScaler(), LogisticRegression()).fit(X, y)
    back, kind = _round_trip(tmp_path, pipe, "pipe__c5")
    assert kind == "pickle"
    assert np.array_equal(back.predict_proba(X), pipe.predict_proba(X))


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        pytest.param({"a": 1, "b": [1.5, None, "x", True]}, "json", id="json-dict"),
        pytest.param([1, 2, 3], "json", id="json-list"),
        pytest.param("text", "json", id="json-str"),
        pytest.param((1, 2), "pickle", id="tuple-stays-tuple"),
        pytest.param({1: "a", 2: "b"}, "pickle", id="int-keys"),
        pytest.param({(1, 2): "pair"}, "pickle", id="tuple-keys"),
        pytest.param([1.0, float("inf")], "pickle", id="inf"),
        pytest.param({"m": np.float64(0.5)}, "pickle", id="numpy-scalar"),
        pytest.param({"s": {1, 2}}, "pickle", id="set"),
    ],
)
def test_plain_values_round_trip_exactly(tmp_path: Path, value: Any, kind: str) -> None:
    back, got_kind = _round_trip(tmp_path, value)
    assert got_kind == kind
    assert back == value and type(back) is type(value)
    if isinstance(value, dict):
        assert [type(k) for k in back] == [type(k) for k in value]
        assert [type(v) for v in back.values()] == [type(v) for v in value.values()]


def test_nan_survives(tmp_path: Path) -> None:
    back, kind = _round_trip(tmp_path, float("nan"))
    assert kind == "pickle" and math.isnan(back)


def test_rng_state_reproduces_the_next_draws(tmp_path: Path) -> None:
    np.random.seed(7)
    random.seed(7)
    np.random.rand(5)
    random.random()
    producer = _namespace(tmp_path)
    producer["_nbsplit_save"](RNG_STATE + "__c2", producer["_nbsplit_rng_state"]())
    expected = (np.random.rand(3).tolist(), [random.random() for _ in range(3)])
    np.random.seed(999)  # a fresh stage starts elsewhere
    random.seed(999)
    consumer = _namespace(tmp_path)
    consumer["_nbsplit_set_rng_state"](consumer["_nbsplit_load"](RNG_STATE + "__c2"))
    assert (np.random.rand(3).tolist(), [random.random() for _ in range(3)]) == expected


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(lambda p: open(p / "f.txt", "w"), id="open-file"),
        pytest.param(lambda p: (i for i in range(3)), id="generator"),
        pytest.param(lambda p: threading.Lock(), id="lock"),
        pytest.param(lambda p: (lambda x: x), id="lambda"),
    ],
)
def test_unpicklable_value_names_variable_cell_and_advice(tmp_path: Path, make: Any) -> None:
    value = make(tmp_path)
    ns = _namespace(tmp_path / "h")
    with pytest.raises(ns["NbsplitHandoffError"]) as info:
        ns["_nbsplit_save"]("conn__c12", value)
    message = str(info.value)
    assert "'conn'" in message and "source cell 12" in message
    assert "recreate it in the consumer stage or tag its cell nbsplit:setup" in message
    assert not list((tmp_path / "h").glob("conn__c12*"))  # nothing half-written
    if hasattr(value, "close"):
        value.close()


def test_missing_handoff_says_which_stage_to_run(tmp_path: Path) -> None:
    ns = _namespace(tmp_path)
    with pytest.raises(ns["NbsplitHandoffError"], match=r"'df' \(made in source cell 4\) was not found"):
        ns["_nbsplit_load"]("df__c4")


def test_start_resolves_paths_beside_the_module_reads_widgets_and_moves_to_data_dir(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out, source = tmp_path / "proj" / "stages", tmp_path / "proj"
    out.mkdir(parents=True)
    monkeypatch.chdir(tmp_path)  # a kernel started anywhere: paths still resolve from the module's folder
    defaults = {"handoff_dir": ".nbsplit/handoffs", "data_dir": "..", "catalog": "main", "schema": "default",
                "experiment_name": "/Shared/x", "model_name": "x_model"}
    ns = _module(out, defaults)

    class Widgets:
        values = {"model_name": "from_the_job"}

        def text(self, name: str, default: str) -> None:
            self.values.setdefault(name, default)

        def get(self, name: str) -> str:
            return self.values[name]

    notebook = {"handoff_dir": ".nbsplit/handoffs", "data_dir": "..", "model_name": "x_model",
                "dbutils": type("DBUtils", (), {"widgets": Widgets()})()}
    ns["_nbsplit_start"](notebook)
    params = ns["_nbs_params"]
    assert params["handoff_dir"] == str(out / ".nbsplit" / "handoffs")
    assert Path.cwd() == source.resolve()
    assert notebook["model_name"] == params["model_name"] == "from_the_job"  # a job parameter wins
    assert "catalog" not in notebook and params["catalog"] == "main"  # not a notebook name: not added
    assert "_nbsplit_load" in ns["__all__"] and "_nbsplit_track" in ns["__all__"] and "_nbsplit_champion" in ns["__all__"]


def test_parameters_are_captured_when_the_runtime_cell_runs(tmp_path: Path) -> None:
    ns = _namespace(tmp_path / "a")
    ns["handoff_dir"] = str(tmp_path / "b")  # the notebook reusing a parameter name later
    ns["_nbsplit_save"]("x__c1", 1)
    assert (tmp_path / "a" / "x__c1.json").read_text() == "1"


@pytest.mark.slow
def test_spark_dataframe_round_trips_through_parquet_locally(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.setenv("PYSPARK_PYTHON", sys.executable)
    monkeypatch.delenv("DATABRICKS_RUNTIME_VERSION", raising=False)
    from pyspark.sql import SparkSession

    spark = (SparkSession.builder.master("local[1]").config("spark.ui.enabled", "false")
             .config("spark.sql.shuffle.partitions", "1").getOrCreate())
    try:
        sdf = spark.createDataFrame([(1, "a", 0.5), (2, "b", None)], "id INT NOT NULL, name STRING, score DOUBLE")
        back, kind = _round_trip(tmp_path, sdf, "sdf__c2")
        assert kind == "spark-parquet"
        assert back.schema == sdf.schema  # nullability included
        assert back.collect() == sdf.collect()
        # partitions and row order survive, so a seeded randomSplit splits the same rows
        big = spark.range(0, 400).selectExpr("id", "id % 7 AS k").repartition(3, "k")
        back, _ = _round_trip(tmp_path, big, "big__c3")
        assert back.rdd.getNumPartitions() == 3
        assert back.rdd.glom().map(lambda p: [r.id for r in p]).collect() == big.rdd.glom().map(
            lambda p: [r.id for r in p]).collect()
        assert [r.id for r in back.randomSplit([0.7, 0.3], seed=5)[1].collect()] == [
            r.id for r in big.randomSplit([0.7, 0.3], seed=5)[1].collect()]
        from pyspark.ml.feature import VectorAssembler

        assembler = VectorAssembler(inputCols=["id", "score"], outputCol="features", handleInvalid="keep")
        back, kind = _round_trip(tmp_path, assembler, "assembler__c3")
        assert kind == "spark-ml" and type(back) is VectorAssembler
        assert back.getInputCols() == ["id", "score"] and back.getHandleInvalid() == "keep"
        from pyspark.ml.feature import StringIndexer

        indexers = [StringIndexer(inputCol=c, outputCol=f"{c}_ix") for c in ("name", "id")]
        back, kind = _round_trip(tmp_path, indexers, "indexers__c4")
        assert kind == "spark-ml-list" and type(back) is list
        assert [(i.getInputCol(), i.getOutputCol()) for i in back] == [("name", "name_ix"), ("id", "id_ix")]
        # A frame with a column named like the runtime's bookkeeping columns (any case: Spark
        # resolves names case-insensitively) is refused, not silently overwritten and dropped.
        for column in ("__nbsplit_part", "__NBSPLIT_ROW"):
            clash = sdf.withColumnRenamed("score", column)
            runtime = _namespace(tmp_path)
            with pytest.raises(runtime["NbsplitHandoffError"],
                               match=rf"cannot hand 'clash' \(made in source cell 5\).*column '{column}'"):
                runtime["_nbsplit_save"]("clash__c5", clash)
    finally:
        spark.stop()


def _double(x: Any) -> Any:  # a notebook's own function inside a model (cloudpickled by value)
    return x * 2


def test_a_pickled_models_requirements_are_the_modules_its_pickle_names(tmp_path: Path) -> None:
    """What training logs with a scikit-learn model instead of MLflow's subprocess inference: the
    installed, pinned distributions its pickle refers to, the flavour's own, pandas; no stdlib."""
    from importlib.metadata import version

    import mlflow
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer
    from sklearn.tree import DecisionTreeClassifier

    model = make_pipeline(FunctionTransformer(_double), DecisionTreeClassifier()).fit(np.array([[0.0], [1.0]]), [0, 1])
    requirements = _namespace(tmp_path)["_nbs_pickled_requirements"](mlflow, model)
    for distribution in ("scikit-learn", "cloudpickle", "numpy", "pandas"):
        assert f"{distribution}=={version(distribution)}" in requirements, requirements
    assert all("==" in r and not r.startswith(("mlflow", "tests", "copyreg")) for r in requirements), requirements


def test_xgboost_dmatrix_round_trips_through_its_binary_file(tmp_path: Path) -> None:
    # StudentPerformance (lucaskojo02/Students_Performance_Data_Analysis): dtest = xgb.DMatrix(...)
    # made in training and read by evaluation; pickle refuses a DMatrix (a ctypes pointer).
    xgb = pytest.importorskip("xgboost")
    X = pd.DataFrame({"hours": [1.0, 2.5, float("nan"), 4.0], "score": [3, 5, 7, 9]})
    dtest = xgb.DMatrix(X, label=[0.5, 1.5, 2.5, 3.5], weight=[1.0, 2.0, 1.0, 2.0])
    back, kind = _round_trip(tmp_path, dtest, "dtest__c83")
    assert kind == "xgboost-dmatrix" and isinstance(back, xgb.DMatrix)
    assert (back.num_row(), back.num_col()) == (4, 2)
    assert back.feature_names == ["hours", "score"] and back.feature_types == dtest.feature_types
    assert np.array_equal(back.get_label(), dtest.get_label()) and np.array_equal(back.get_weight(), dtest.get_weight())
    booster = xgb.train({"seed": 0, "max_depth": 2}, dtest, num_boost_round=3)
    assert np.array_equal(booster.predict(back), booster.predict(dtest))


def _save_block(tmp_path: Path, values: dict[str, Any]) -> None:
    """One stage's save cell: the block's values announced, then each saved (in key order, which
    puts a container before or after its elements)."""
    ns = _namespace(tmp_path)
    ns["_nbsplit_saving"](values)
    for key in sorted(values):
        ns["_nbsplit_save"](key, values[key])


@pytest.mark.parametrize("container_key", ["a_combine__c1", "z_combine__c1"],
                         ids=["container-loaded-first", "container-loaded-last"])
def test_a_list_of_handed_frames_loads_as_a_list_of_those_very_frames(
        tmp_path: Path, container_key: str) -> None:
    train = pd.DataFrame({"x": [1.0, 2.0]})
    test = pd.DataFrame({"x": [3.0]})
    _save_block(tmp_path, {"train__c1": train, "test__c1": test, container_key: [train, test]})
    meta = json.loads((tmp_path / f"{container_key}.nbsplit.json").read_text())
    assert meta["kind"] == "pickle-linked"
    ns = _namespace(tmp_path)
    keys = sorted(["train__c1", "test__c1", container_key])
    loaded = {k: ns["_nbsplit_load"](k) for k in keys}
    combine = loaded[container_key]
    assert combine[0] is loaded["train__c1"] and combine[1] is loaded["test__c1"]
    for dataset in combine:  # the Titanic kernels' loop reaches the frames by their own names
        dataset["y"] = dataset["x"] * 2
    assert list(loaded["train__c1"]["y"]) == [2.0, 4.0]


def test_a_list_loaded_after_its_frame_was_changed_in_the_stage_holds_the_changed_frame(
        tmp_path: Path) -> None:
    train = pd.DataFrame({"x": [1.0, 2.0]})
    _save_block(tmp_path, {"train__c1": train, "combine__c1": [train]})
    ns = _namespace(tmp_path)
    frame = ns["_nbsplit_load"]("train__c1")
    frame.drop(columns=["x"], inplace=True)  # a cell of the stage, before the list's first use
    (held,) = ns["_nbsplit_load"]("combine__c1")
    assert held is frame and list(held.columns) == []


def test_a_list_of_lists_that_holds_handed_values_is_linked_not_json(tmp_path: Path) -> None:
    num, cat = ["age", "fare"], ["sex"]
    _save_block(tmp_path, {"num__c2": num, "cat__c2": cat, "groups__c2": [num, cat]})
    kinds = {k: json.loads((tmp_path / f"{k}__c2.nbsplit.json").read_text())["kind"]
             for k in ("num", "cat", "groups")}
    assert kinds == {"num": "json", "cat": "json", "groups": "pickle-linked"}
    ns = _namespace(tmp_path)
    groups = ns["_nbsplit_load"]("groups__c2")
    assert groups[0] is ns["_nbsplit_load"]("num__c2") and groups == [num, cat]


def test_values_outside_the_save_block_are_copied_as_before(tmp_path: Path) -> None:
    other = pd.DataFrame({"x": [1]})
    frame = pd.DataFrame({"x": [2]})
    _save_block(tmp_path, {"frame__c1": frame, "pair__c1": [frame, other], "n__c1": 3})
    ns = _namespace(tmp_path)
    pair = ns["_nbsplit_load"]("pair__c1")
    pd.testing.assert_frame_equal(pair[1], other)
    # a lone value is not linked: plain joblib/pickle, and an int is never a reference
    _save_block(tmp_path, {"solo__c4": [other, 3]})
    assert json.loads((tmp_path / "solo__c4.nbsplit.json").read_text())["kind"] == "pickle"


def test_a_later_save_block_does_not_point_at_an_earlier_blocks_versions(tmp_path: Path) -> None:
    ns = _namespace(tmp_path)
    train = pd.DataFrame({"x": [1.0]})
    ns["_nbsplit_saving"]({"train__c1": train, "combine__c1": [train]})
    ns["_nbsplit_save"]("train__c1", train)
    ns["_nbsplit_save"]("combine__c1", [train])
    train["x"] = 5.0  # later cells of the same stage change the frame, then save the list alone
    ns["_nbsplit_save"]("combine__c4", [train])
    assert json.loads((tmp_path / "combine__c4.nbsplit.json").read_text())["kind"] == "pickle"
    (back,) = _namespace(tmp_path)["_nbsplit_load"]("combine__c4")
    assert list(back["x"]) == [5.0]


def test_a_dict_of_handed_frames_loads_holding_those_very_frames(tmp_path: Path) -> None:
    train, test = pd.DataFrame({"x": [1.0]}), pd.DataFrame({"x": [2.0]})
    _save_block(tmp_path, {"train__c1": train, "test__c1": test, "frames__c1": {"train": train, "test": test}})
    ns = _namespace(tmp_path)
    frames = ns["_nbsplit_load"]("frames__c1")
    assert frames["train"] is ns["_nbsplit_load"]("train__c1")
    assert frames["test"] is ns["_nbsplit_load"]("test__c1")


def test_the_outputs_a_prediction_stage_marks_are_data_not_code_logs_or_stores(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import time

    stages = tmp_path / "stages"
    stages.mkdir()
    ns = _module(stages)
    monkeypatch.chdir(tmp_path)
    since = time.time() - 1
    written = ["predictions.csv", "out/scores.parquet", "helpers.py", "run.log", "mlflow.db",
               "mlruns/0/meta.yaml", "metastore_db/seg0/c10.dat", "stages/handoff.pkl",
               "report.ipynb", "tables/preds/_SUCCESS", "tables/preds/part-0.parquet"]
    for rel in written:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("x")
    found = {str(Path(p).relative_to(tmp_path)) for p in ns["_nbs_written_outputs"](since)}
    assert found == {"predictions.csv", "out/scores.parquet", "tables/preds"}
