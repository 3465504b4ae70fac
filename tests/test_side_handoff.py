"""A value only the EDA side branch reads, which cannot be saved, fails eda, not the main line.

EDA feeds no other stage (DESIGN "Placement"), so its producer saves such a value with
``side=<stage>``: when the save fails the producer records why and goes on, and the eda stage
fails on loading it with one message naming the value, the producer stage and the reason. A value
a main-line stage needs still fails its producer, as before.
"""

from __future__ import annotations

import io
import json
import threading
from pathlib import Path
from typing import Any

import nbformat
import pytest
from rich.console import Console

from nbsplit.render.handoff import runtime_source
from nbsplit.run import run_folder

# A generator made in data-prep, read only by an eda cell; plain data read by training.
SIDE_CELLS = [
    ("data-prep", "rows = [3, 1, 2]\nbatches = (r * 2 for r in rows)"),
    ("eda", "print('first batch:', next(batches))"),
    ("training", "total = sum(rows)\nprint('total:', total)"),
    ("evaluation", "print('mean:', total / len(rows))"),
]
# The same generator read by training: the main line needs it, so data-prep must fail.
MAIN_CELLS = [
    ("data-prep", "rows = [3, 1, 2]\nbatches = (r * 2 for r in rows)"),
    ("training", "print('first batch:', next(batches))"),
]


def _namespace(handoff_dir: Path) -> dict[str, Any]:
    ns: dict[str, Any] = {"__name__": "nbsplit_runtime", "__file__": str(handoff_dir / "nbsplit_runtime.py")}
    exec(compile(runtime_source(), str(handoff_dir / "nbsplit_runtime.py"), "exec"), ns)
    ns["_nbsplit_start"]({"handoff_dir": str(handoff_dir), "data_dir": str(Path.cwd())})
    return ns


def _split(tmp_path: Path, cells: list[tuple[str, str]]) -> Path:
    from nbsplit.convert import convert_notebook

    nb = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_code_cell(src, metadata={"tags": [f"nbsplit:{stage}"]}) for stage, src in cells],
        metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})
    (tmp_path / "project").mkdir()
    nbformat.write(nb, tmp_path / "project" / "nb.ipynb")
    convert_notebook(tmp_path / "project" / "nb.ipynb", tmp_path / "split", force=True)
    return tmp_path / "split"


def _source(folder: Path, stage: str) -> str:
    manifest = json.loads((folder / "nbsplit-manifest.json").read_text())
    file = next(s["file"] for s in manifest["stages"] if s["name"] == stage)
    return "\n".join(c.source for c in nbformat.read(folder / file, as_version=4).cells)


@pytest.mark.parametrize("make", [
    pytest.param(lambda: (i for i in range(3)), id="generator"),
    pytest.param(threading.Lock, id="lock"),
])
def test_side_save_records_why_and_the_eda_load_names_value_stage_and_reason(tmp_path: Path, make: Any) -> None:
    producer = _namespace(tmp_path)
    assert producer["_nbsplit_save"]("gen__c1", make(), side="data-prep") == "unsaved"  # no exception
    meta = json.loads((tmp_path / "gen__c1.nbsplit.json").read_text())
    assert meta["kind"] == "unsaved" and meta["stage"] == "data-prep"
    assert "cannot pickle" in meta["reason"]
    consumer = _namespace(tmp_path)
    with pytest.raises(consumer["NbsplitHandoffError"]) as info:
        consumer["_nbsplit_load"]("gen__c1")
    message = str(info.value)
    assert message.startswith("'gen' (made in source cell 1, stage data-prep) could not be handed to this stage: a ")
    assert "cannot be saved (TypeError: cannot pickle" in message and "only eda reads it" in message
    # A main-line save of the same value still fails the producer, with the reason in its message.
    with pytest.raises(producer["NbsplitHandoffError"], match=r"cannot hand 'gen' \(made in source cell 1\)"):
        producer["_nbsplit_save"]("gen__c1", make())


def test_side_save_of_a_saveable_value_is_an_ordinary_handoff(tmp_path: Path) -> None:
    _namespace(tmp_path)["_nbsplit_save"]("rows__c1", [3, 1, 2], side="data-prep")
    assert _namespace(tmp_path)["_nbsplit_load"]("rows__c1") == [3, 1, 2]


def test_only_values_read_by_eda_alone_are_saved_as_side_handoffs(tmp_path: Path) -> None:
    prep = _split(tmp_path, SIDE_CELLS + [("eda", "print(len(rows))")])
    source = _source(prep, "data-prep")
    assert "_nbsplit_save('batches__c0', batches, side='data-prep')  # for eda (a side branch" in source
    assert "_nbsplit_save('rows__c0', rows)  # for eda, training" in source


@pytest.mark.slow
def test_unsaveable_value_read_only_by_eda_fails_eda_and_the_main_line_runs(tmp_path: Path) -> None:
    folder = _split(tmp_path, SIDE_CELLS)
    out = io.StringIO()
    result = run_folder(folder, console=Console(file=out, width=300))
    assert {t.key: t.status for t in result.tasks} == {
        "data_prep": "succeeded", "eda": "failed", "training": "succeeded", "evaluation": "succeeded"}
    assert result.exit_code == 1  # a stage failed (README, exit codes), even a side branch
    eda = result.task("eda")
    assert eda.message.startswith("stage eda failed in generated load cell")
    assert ("NbsplitHandoffError: 'batches' (made in source cell 0, stage data-prep) could not be handed to this "
            "stage: a generator cannot be saved (TypeError: cannot pickle 'generator' object)") in eda.message
    assert ("eda failed; it is a side branch that feeds no other stage, and the main line ran "
            "(data-prep, training, evaluation)") in result.messages
    assert "main line ran" in out.getvalue()
    prep = "\n".join(json.dumps(c.get("outputs", [])) for c in nbformat.read(result.task("data_prep").executed,
                                                                             as_version=4).cells)
    assert "is not handed to eda" in prep


@pytest.mark.slow
def test_unsaveable_value_the_main_line_needs_still_fails_its_producer(tmp_path: Path) -> None:
    folder = _split(tmp_path, MAIN_CELLS)
    result = run_folder(folder, console=Console(file=io.StringIO(), width=300))
    assert {t.key: t.status for t in result.tasks} == {"data_prep": "failed", "training": "skipped"}
    assert result.exit_code == 1
    assert ("NbsplitHandoffError: cannot hand 'batches' (made in source cell 0) to a later stage: a generator "
            "cannot be saved") in result.task("data_prep").message
    assert not any("side branch" in m for m in result.messages)


@pytest.mark.slow
def test_a_spark_rdd_read_only_by_eda_is_recorded_unsaved(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The probe's case, in-process (a stage run per kernel costs a Spark JVM each: ~75 s here).
    import sys

    pytest.importorskip("pyspark")
    monkeypatch.setenv("PYSPARK_PYTHON", sys.executable)
    from pyspark.sql import SparkSession

    spark = (SparkSession.builder.master("local[1]").config("spark.ui.enabled", "false")
             .config("spark.sql.shuffle.partitions", "1").getOrCreate())
    try:
        ids = spark.createDataFrame([(1, "a"), (2, "b")], ["id", "tag"]).rdd.map(lambda r: r.id)
        producer = _namespace(tmp_path)
        assert producer["_nbsplit_save"]("ids__c1", ids, side="data-prep") == "unsaved"
        with pytest.raises(producer["NbsplitHandoffError"], match=r"cannot hand 'ids' \(made in source cell 1\)"):
            producer["_nbsplit_save"]("ids__c1", ids)  # for a main-line stage: the producer fails
    finally:
        spark.stop()
    consumer = _namespace(tmp_path)
    with pytest.raises(consumer["NbsplitHandoffError"]) as info:
        consumer["_nbsplit_load"]("ids__c1")
    assert str(info.value).startswith("'ids' (made in source cell 1, stage data-prep) could not be handed to this "
                                      "stage: a PipelinedRDD cannot be saved (PySparkRuntimeError: ")
    assert "reference an RDD from an action or transformation" in str(info.value)  # Spark's lines, joined
