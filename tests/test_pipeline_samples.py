"""Every sample, once, as a user runs it: convert, then ``nbsplit run --compare --parallel 2``.

One module-scoped fixture per sample (our tiny ``churn_mini``, every sample ``.ipynb``, and the
Databricks source sample) copies the notebook and its data to a temporary project folder,
converts it, and calls :func:`nbsplit.run.run_folder` with ``compare=True, compare_runs=1,
parallel=2``: real kernels, the embedded sqlite MLflow store, real local Spark and the
Databricks stand-ins. The stages run in DAG order (independent ones side by side); the source
runs once more in a copy of the project folder, in a free slot while the stages run.

Which cells are deterministic is decided by two runs of the monolith: the outputs stored in the
sample (they are saved executed, ``sample_notebooks/execute_samples.py``) and the fresh run; a
cell whose stored output differs from the fresh one is not compared. Sources stored without
outputs (``churn_mini``, the Databricks ``.py``) are run twice. Every deterministic code cell
must then give identical text outputs (stdout, text/plain of results and displays) in each stage
notebook it was placed in, found through the manifest -- checked here independently of
``run_folder``'s own compare, which must agree.

The run tests of ``nbsplit run`` on the samples (DAG order, executed notebooks, compare) and the
faithfulness tests of ``nbsplit convert`` read the same result, so each sample executes once.
"""

from __future__ import annotations

import json
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat
import pytest

from convert_cases.support import CASES, SAMPLES, plan_case, read_manifest, text_outputs
from nbsplit.run import RunResult, load_tasks, run_folder, topological
from tests.test_run import convert, output_text, quiet

pytestmark = pytest.mark.slow

TIMEOUT = 600

# What the stages leave in the project folder when the last of them ran (the notebook's own
# outputs; the MLflow store of the run is DIR/.nbsplit/mlflow.db unless the notebook sets its own).
LAST_STAGE_OUTPUTS = {
    "churn_mini": [],
    "churn_pandas": ["predictions/churn_scores.csv", "outputs/churn_clean.csv", "mlflow.db"],
    "spark_flights": ["outputs/flight_delay_predictions/_SUCCESS", "outputs/flights_clean.parquet/_SUCCESS"],
    "messy_sales": ["predictions/sales_forecast.csv"],
    "credito_ptbr": ["predictions/credito_scores.csv", "outputs/modelo_inadimplencia.joblib"],
    "monitoring_drift": ["outputs/monitoring_report.json", "outputs/scored_transactions.csv"],
    "databricks_housing": ["predictions/housing_value_predictions/_SUCCESS"],
}


def _cases() -> list[Any]:
    cases = [pytest.param(CASES / "churn_mini" / "churn_mini.ipynb", id="churn_mini")]
    cases += [pytest.param(p, id=p.stem) for p in sorted(SAMPLES.glob("*.ipynb"))]
    cases += [pytest.param(p, id=p.stem) for p in sorted(SAMPLES.glob("*.py"))
              if p.read_text(encoding="utf-8").startswith("# Databricks notebook source")]
    return cases


@dataclass
class Pipeline:
    original: Path
    source: Path  # the copy that was converted and run
    split: Path
    manifest: dict[str, Any]
    result: RunResult

    @property
    def name(self) -> str:
        return self.original.stem

    def monolith_runs(self) -> list[Any]:
        """The source runs that decide determinism: stored outputs (if any), then fresh runs."""
        fresh = [nbformat.read(p, as_version=4) for p in sorted((self.split / ".nbsplit" / "compare").glob("*.ipynb"))]
        stored = nbformat.read(self.original, as_version=4) if self.original.suffix == ".ipynb" else None
        if stored is not None and all(c.execution_count is not None for c in stored.cells
                                      if c.cell_type == "code" and c.source.strip()):
            return [stored, *fresh]
        return fresh

    def executed(self, file: str) -> Any:
        task = next(t for t in self.result.tasks if t.file == file)
        return nbformat.read(task.executed, as_version=4)


@pytest.fixture(scope="module", params=_cases())
def pipeline(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Pipeline:
    original: Path = request.param
    tmp = tmp_path_factory.mktemp(original.stem)
    project = tmp / "project"
    project.mkdir()
    shutil.copy(original, project / original.name)
    shutil.copytree(original.parent / "data", project / "data")
    source = project / original.name
    split = convert(source, tmp / "split", fmt="databricks" if source.suffix == ".py" else "ipynb")
    with pytest.MonkeyPatch.context() as mp:
        # Kernels inherit this process's environment: fixed string hashing and a headless
        # matplotlib in the stages and the source run alike.
        mp.setenv("PYTHONHASHSEED", "0")
        mp.setenv("MPLBACKEND", "Agg")
        mp.setenv("PYSPARK_PYTHON", sys.executable)
        mp.delenv("MLFLOW_TRACKING_URI", raising=False)
        result = run_folder(split, parallel=2, compare=True, compare_runs=1, timeout=TIMEOUT, console=quiet())
    return Pipeline(original, source, split, read_manifest(split), result)


def _text(pipeline: Pipeline, key: str) -> str:
    nb = nbformat.read(pipeline.result.task(key).executed, as_version=4)
    return "\n".join(output_text(c) for c in nb.cells)


# ------------------------------------------------------------------------------ nbsplit run

def test_every_task_succeeded_in_dag_order_with_outputs(pipeline: Pipeline) -> None:
    result = pipeline.result
    assert result.ok, result.messages
    assert {t.status for t in result.tasks} == {"succeeded"}
    job = json.loads((pipeline.split / "job.json").read_text())
    tasks = load_tasks(pipeline.split, job, pipeline.manifest)
    assert [t.key for t in result.tasks] == [t.key for t in topological(tasks)]
    # eda is a side branch: it runs after what it looks at, not in the manifest's stage order
    assert sorted(t.key for t in result.tasks) == sorted(s["name"].replace("-", "_") for s in pipeline.manifest["stages"])
    for task in result.tasks:
        assert task.executed is not None and task.executed.parent == pipeline.split / ".nbsplit" / "executed"
        nb = nbformat.read(task.executed, as_version=4)
        assert any(c.get("outputs") for c in nb.cells if c.cell_type == "code"), task.key
    # The monolith ran as well (stored outputs + one fresh run, or two fresh runs).
    assert len(pipeline.monolith_runs()) == 2
    if pipeline.name == "spark_flights":
        # Local Spark in every stage; Spark DataFrames crossed stages as parquet (no Delta locally).
        assert "test AUC" in _text(pipeline, "evaluation")
        assert list((pipeline.split / ".nbsplit" / "handoffs").glob("*.spark.parquet"))


def test_every_stage_saved_what_later_stages_load(pipeline: Pipeline) -> None:
    handoffs = pipeline.split / ".nbsplit" / "handoffs"
    for h in pipeline.manifest["handoffs"]:
        assert (handoffs / f"{h['key']}.nbsplit.json").is_file(), h


def test_the_last_stages_wrote_the_notebooks_outputs(pipeline: Pipeline) -> None:
    for rel in LAST_STAGE_OUTPUTS[pipeline.name]:
        assert (pipeline.source.parent / rel).exists(), f"{pipeline.name} did not produce {rel}"
    if "mlflow.db" not in LAST_STAGE_OUTPUTS[pipeline.name]:
        # No tracking URI of its own: the run's embedded sqlite store got the MLflow logging.
        assert (pipeline.split / ".nbsplit" / "mlflow.db").is_file()
    if pipeline.name == "databricks_housing":
        # Its quality gate passed in the split and in the source run on the stand-ins.
        assert any("gate passed" in _text(pipeline, t.key) for t in pipeline.result.tasks)
        assert all("gate passed" in "\n".join(output_text(c) for c in run.cells) for run in pipeline.monolith_runs())


def test_run_compare_reports_the_reproduction(pipeline: Pipeline) -> None:
    compare = pipeline.result.compare
    assert compare is not None and compare.ok, pipeline.result.messages
    assert compare.compared >= (15 if pipeline.name == "churn_pandas" else 1)
    line = next(m for m in pipeline.result.messages if m.startswith("compare:"))
    assert f"compare: {compare.compared} deterministic source cell(s) compared, 0 mismatch(es)" in line
    stored = pipeline.original.suffix == ".ipynb" and pipeline.name != "churn_mini"
    assert ("stored in the source" in line) == stored, line


# ------------------------------------------------------------------------------ nbsplit convert

def test_stages_reproduce_the_monolith_outputs(pipeline: Pipeline) -> None:
    first, second = pipeline.monolith_runs()
    compared, nondeterministic, mismatches = 0, 0, []
    for entry in pipeline.manifest["cells"]:
        cell = second.cells[entry["index"]]
        if cell.cell_type != "code" or entry["file"] is None:
            continue
        expected = text_outputs(cell)
        if expected != text_outputs(first.cells[entry["index"]]):
            nondeterministic += 1
            continue
        for place in [entry, *entry.get("also", [])]:
            got = text_outputs(pipeline.executed(place["file"]).cells[place["cell"]])
            compared += 1
            if got != expected:
                mismatches.append(f"source cell {entry['index']} in {place['file']} cell {place['cell']}:\n"
                                  f"  monolith: {expected!r:.300}\n  stage:    {got!r:.300}")
    print(f"{pipeline.name}: compared {compared} cell placements, {nondeterministic} nondeterministic cells skipped")
    assert not mismatches, "\n".join(mismatches)
    with_output = sum(1 for c in second.cells if c.cell_type == "code" and text_outputs(c))
    assert compared >= with_output - nondeterministic > 0
    # Most cells are deterministic: the comparison is not hollowed out by skipped cells.
    assert nondeterministic <= max(3, with_output // 4), nondeterministic


def test_plan_used_by_convert_is_the_public_one(pipeline: Pipeline) -> None:
    plan = plan_case(pipeline.source)
    planned = [s.stage.value for s in sorted(plan.stages, key=lambda s: s.stage.order)
               if s.stage.is_pipeline and s.cells]
    assert [s["name"] for s in pipeline.manifest["stages"]] == planned
