"""The runtime functions MLOps level 1 adds, run as the module a stage notebook imports (no
kernel): drift monitoring (PSI, KS, the ``retrain`` task value through the real task-value
stand-in) and feature tables (a real local Delta table through ``deltalake``)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from nbsplit.standins import Jobs, TaskValues
from tests.test_handoff_runtime import _namespace


class _DBUtils:
    def __init__(self, folder: Path) -> None:
        self.jobs = Jobs(TaskValues(folder, "monitoring"))


def _monitor(tmp_path: Path, reference: pd.DataFrame, current: pd.DataFrame,
             monkeypatch: pytest.MonkeyPatch) -> tuple[bool, dict[str, Any]]:
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)  # no store: the drift itself is tested here
    ns = _namespace(tmp_path / "handoffs")
    stage = {"X": reference, "X_new": current, "dbutils": _DBUtils(tmp_path / "task_values")}
    retrain = ns["_nbsplit_monitor"](stage, "X", "X_new")
    return retrain, json.loads((tmp_path / "task_values" / "monitoring.json").read_text())


def test_a_shifted_batch_sets_retrain(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    rng = np.random.default_rng(0)
    reference = pd.DataFrame({"amount": rng.normal(0, 1, 2000), "flag": rng.integers(0, 2, 2000),
                              "name": ["a"] * 2000})
    current = pd.DataFrame({"amount": rng.normal(1.0, 1, 300), "flag": rng.integers(0, 2, 300)})
    retrain, values = _monitor(tmp_path, reference, current, monkeypatch)
    assert retrain is True and values == {"retrain": True}
    out = capsys.readouterr().out
    amount = next(line for line in out.splitlines() if line.strip().startswith("amount"))
    assert "DRIFT" in amount
    assert "2 numeric features" in out  # the text column is not a numeric feature


def test_a_batch_from_the_same_distribution_does_not(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(1)
    reference = pd.DataFrame({"amount": rng.normal(0, 1, 2000), "flag": rng.integers(0, 2, 2000)})
    current = pd.DataFrame({"amount": rng.normal(0, 1, 500), "flag": rng.integers(0, 2, 500)})
    retrain, values = _monitor(tmp_path, reference, current, monkeypatch)
    assert retrain is False and values == {"retrain": False}


def test_psi_values(tmp_path: Path) -> None:
    psi = _namespace(tmp_path)["_nbs_psi"]
    same = np.arange(1000, dtype=float)
    assert psi(same, same) == pytest.approx(0.0, abs=1e-12)
    # Two categories 50/50 -> 80/20: sum (c - r) ln(c / r).
    ref, cur = np.array([0.0] * 50 + [1.0] * 50), np.array([0.0] * 80 + [1.0] * 20)
    assert psi(ref, cur) == pytest.approx(0.3 * np.log(0.8 / 0.5) + (-0.3) * np.log(0.2 / 0.5), rel=1e-3)


def test_numpy_ks_matches_scipy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from scipy.stats import ks_2samp

    ks = _namespace(tmp_path)["_nbs_ks"]
    rng = np.random.default_rng(2)
    a, b = rng.normal(0, 1, 800), rng.normal(0.15, 1, 700)
    expected = ks_2samp(a, b, method="asymp")
    monkeypatch.setitem(sys.modules, "scipy.stats", None)  # import fails: the numpy path
    statistic, p_value = ks(a, b)
    assert statistic == pytest.approx(expected.statistic, abs=1e-12)
    assert p_value == pytest.approx(expected.pvalue, abs=0.01)


def _table_round_trip(tmp_path: Path, frame: pd.DataFrame, feature_key: str | None = None) -> tuple[Any, dict]:
    pytest.importorskip("deltalake")  # the run extra's; the drift tests above do not need it
    ns = _namespace(tmp_path)
    ns["_nbsplit_save_features"]("X__c19", frame, "demo_features", feature_key)
    meta = json.loads((tmp_path / "X__c19.nbsplit.json").read_text())
    return _namespace(tmp_path)["_nbsplit_load_features"]("X__c19"), meta


def test_features_keyed_by_an_id_column_come_back_from_the_delta_table(tmp_path: Path) -> None:
    frame = pd.DataFrame({"tenure": [1, 5, 30], "customer_id": ["c1", "c2", "c3"], "spend": [9.5, None, 3.25]})
    back, meta = _table_round_trip(tmp_path, frame)
    assert meta["feature_table"]["primary_key"] == "customer_id"
    assert (tmp_path / "feature_tables" / "demo_features" / "_delta_log").is_dir()
    pd.testing.assert_frame_equal(back, frame, check_exact=True)
    # It really is the table training reads: change the table, training sees the change.
    from deltalake import DeltaTable, write_deltalake

    table = DeltaTable(str(tmp_path / "feature_tables" / "demo_features")).to_pandas()
    table.loc[table.customer_id == "c2", "tenure"] = 99
    write_deltalake(str(tmp_path / "feature_tables" / "demo_features"), table, mode="overwrite")
    changed = _namespace(tmp_path)["_nbsplit_load_features"]("X__c19")
    assert changed["tenure"].tolist() == [1, 99, 30]


def test_features_without_an_id_are_keyed_by_their_index_in_training_row_order(tmp_path: Path) -> None:
    frame = pd.DataFrame({"a": [0.1, 0.2, 0.3, 0.4], "b": [True, False, True, True]}, index=[7, 3, 9, 1])
    back, meta = _table_round_trip(tmp_path, frame)
    assert meta["feature_table"]["key_is_index"] is True
    pd.testing.assert_frame_equal(back, frame, check_exact=True)


@pytest.mark.filterwarnings("ignore:The DataFrame has column names of mixed type")
def test_a_frame_the_table_cannot_keep_exactly_uses_the_handoff(tmp_path: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    frame = pd.DataFrame({0: [1.0, 2.0], 1: [3.0, 4.0]})  # integer column names: a table has text names
    back, meta = _table_round_trip(tmp_path, frame)
    assert meta["feature_table"] is None and meta["feature_table_reason"]
    assert "training loads the handoff" in capsys.readouterr().out
    pd.testing.assert_frame_equal(back, frame, check_exact=True)


def test_a_chosen_feature_key_must_be_a_column(tmp_path: Path) -> None:
    frame = pd.DataFrame({"a": [1, 2]})
    back, meta = _table_round_trip(tmp_path, frame, feature_key="nope")
    assert meta["feature_table"] is None and "nope" in meta["feature_table_reason"]
    pd.testing.assert_frame_equal(back, frame)


def _spark_style_handoff(handoffs: Path, key: str, parts: list[pd.DataFrame], schema: list[tuple[str, str]]) -> None:
    """A handoff as a local Spark stage saves one (``kind`` spark-parquet): one parquet file per
    partition with the partition and row-position columns, and the frame's Spark schema."""
    folder = handoffs / f"{key}.spark.parquet"
    folder.mkdir(parents=True)
    for number, part in enumerate(parts):
        part = part.assign(__nbsplit_part=np.int32(number), __nbsplit_row=np.arange(len(part), dtype=np.int64))
        part.to_parquet(folder / f"part-{number:05d}.parquet", index=False)
    fields = [{"name": n, "type": t, "nullable": True, "metadata": {}} for n, t in schema]
    (handoffs / f"{key}.nbsplit.json").write_text(json.dumps(
        {"kind": "spark-parquet", "partitions": len(parts), "schema": json.dumps({"type": "struct", "fields": fields}),
         "type": "pyspark.sql.classic.dataframe.DataFrame"}))


def test_monitoring_reads_a_spark_handoff_as_a_pandas_sample_of_its_numeric_columns(tmp_path: Path) -> None:
    """No Spark session: the parquet files of a local Spark handoff, the numeric columns of its
    Spark schema, in the frame's row order; above the bound, a seeded sample of that many rows."""
    ns = _namespace(tmp_path / "handoffs")
    parts = [pd.DataFrame({"delay": [3.0, 1.0, 2.0], "n": [1, 2, 3], "carrier": ["a", "b", "c"]}),
             pd.DataFrame({"delay": [9.0, 8.0], "n": [4, 5], "carrier": ["d", "e"]})]
    schema = [("delay", "double"), ("n", "long"), ("carrier", "string")]
    _spark_style_handoff(tmp_path / "handoffs", "flights__c3", parts, schema)
    frame = ns["_nbsplit_load_sample"]("flights__c3")
    assert list(frame.columns) == ["delay", "n"]
    assert frame["delay"].tolist() == [3.0, 1.0, 2.0, 9.0, 8.0] and frame["n"].tolist() == [1, 2, 3, 4, 5]
    assert ns["_nbs_rows"](frame, frame) == "5 rows"

    ns["_NBS_MONITOR_ROWS"] = 3
    sampled = ns["_nbsplit_load_sample"]("flights__c3")
    assert len(sampled) == 3 and set(sampled["n"]) <= {1, 2, 3, 4, 5}
    assert sampled["n"].is_monotonic_increasing  # still in the frame's order
    assert sampled.equals(ns["_nbsplit_load_sample"]("flights__c3"))  # seeded
    assert ns["_nbs_rows"](sampled, sampled) == "a sample of 3 of 5 rows"
    # Any other value is what _nbsplit_load gives.
    ns["_nbsplit_save"]("y__c4", pd.Series([0, 1, 1], name="label"))
    assert ns["_nbsplit_load_sample"]("y__c4").equals(pd.Series([0, 1, 1], name="label"))


def test_a_spark_handoff_becomes_a_delta_feature_table_without_a_jvm(tmp_path: Path,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    """A local Spark frame's table is written from its handoff's parquet files (pyarrow, no second
    computation of the frame, no JVM): its columns plus a row key, every row once; read back by the
    handed rows' keys, each with its partition and position, identical to the handoff. A column
    Arrow cannot carry exactly (a vector) keeps the handoff, and the notebook says so."""
    pytest.importorskip("deltalake")
    import pyarrow.parquet as pq

    handoffs = tmp_path / "handoffs"
    ns = _namespace(handoffs)
    parts = [pd.DataFrame({"delay": [3.0, float("nan"), 2.0], "carrier": ["a", None, "c"]}),
             pd.DataFrame({"delay": [9.0, 8.0], "carrier": ["d", "e"]})]
    _spark_style_handoff(handoffs, "data__c3", parts, [("delay", "double"), ("carrier", "string")])
    meta = json.loads((handoffs / "data__c3.nbsplit.json").read_text())
    assert ns["_nbs_spark_feature_table"]("data__c3", None, meta, "flights", None) is None
    info = meta["feature_table"]
    assert (info["primary_key"], info["kind"], info["columns_order"]) == ("__nbsplit_row_id", "spark", ["delay", "carrier"])
    from deltalake import DeltaTable

    table = DeltaTable(str(handoffs / "feature_tables" / "flights")).to_pyarrow_table()
    assert table.column_names == ["delay", "carrier", "__nbsplit_row_id"] and table.num_rows == 5
    keys = pq.read_table(handoffs / "data__c3.keys.parquet")
    back = ns["_nbs_arrow_features_back"](info, table, keys)
    handed = pq.read_table(handoffs / "data__c3.spark.parquet")
    handed = handed.sort_by([("__nbsplit_part", "ascending"), ("__nbsplit_row", "ascending")])
    assert ns["_nbs_same_arrow"](back, handed.select(back.column_names))
    assert back["delay"].to_pylist()[0] == 3.0 and back["carrier"].to_pylist() == ["a", None, "c", "d", "e"]
    assert "features written to the feature table" in capsys.readouterr().out

    # An id-like column keys it instead; a vector column keeps the handoff.
    _spark_style_handoff(handoffs, "ids__c4", [pd.DataFrame({"flight_id": [7, 9], "delay": [1.0, 2.0]})],
                         [("flight_id", "long"), ("delay", "double")])
    meta = json.loads((handoffs / "ids__c4.nbsplit.json").read_text())
    assert ns["_nbs_spark_feature_table"]("ids__c4", None, meta, "ids", None) is None
    assert meta["feature_table"]["primary_key"] == "flight_id"
    meta = json.loads((handoffs / "data__c3.nbsplit.json").read_text())
    schema = json.loads(meta["schema"])
    schema["fields"][0]["type"] = {"type": "udt", "class": "org.apache.spark.ml.linalg.VectorUDT",
                                   "pyClass": "pyspark.ml.linalg.VectorUDT", "sqlType": {"type": "struct", "fields": []}}
    meta["schema"] = json.dumps(schema)
    reason = ns["_nbs_spark_feature_table"]("data__c3", None, meta, "vectors", None)
    assert reason == "column(s) delay (vector) have no exact Arrow form here" and "feature_table" not in meta
