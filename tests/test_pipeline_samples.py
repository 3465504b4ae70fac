"""Every sample, once, as a user runs it: convert, then ``nbsplit run --parallel 2``. The two
Spark samples carry the ``extended`` marker (CI's second job, see ``EXTENDED``).

One module-scoped fixture per sample (our tiny ``churn_mini``, every sample ``.ipynb``, and the
Databricks source sample) copies the notebook and its data to a temporary project folder,
converts it, and calls :func:`nbsplit.run.run_folder` with ``parallel=2``: real kernels, the
embedded sqlite MLflow store, real local Spark and the Databricks stand-ins. The stages run in
DAG order (independent ones side by side).

Every deterministic code cell of the monolith must give identical text outputs (stdout,
text/plain of results and displays) in each stage notebook it was placed in, found through the
manifest. The monolith's outputs come from one of two places:

- the outputs stored in the sample ``.ipynb`` (saved executed by
  ``sample_notebooks/execute_samples.py``, which runs each sample twice and records in
  ``sample_notebooks/nondeterministic_cells.json`` the cells whose outputs differ between the
  runs: those are not compared). No fresh run of the monolith is needed for these, as long as
  the libraries installed are those the outputs were stored with (recorded in the same file).
- ``nbsplit run --compare`` (``compare=True, compare_runs=1``) for the samples in ``COMPARE``:
  the source runs once more (twice when it has no stored outputs: ``churn_mini`` and the
  Databricks ``.py``) in a copy of the project folder, in a free slot while the stages run; a
  cell whose outputs differ between the runs is not compared. ``run_folder``'s own compare is
  checked, and the comparison here must agree with it.

The run tests of ``nbsplit run`` on the samples (DAG order, executed notebooks, compare), the
faithfulness tests of ``nbsplit convert``, the "opened from the output folder" test (every kernel
of a stage notebook starts in the split folder, not the source folder: only the runtime module's
``data_dir`` leads back to the data) and the quiet-console test (the terminal output of the run,
file descriptors included, has no log4j line and no Spark progress bar) read the same result, so
each sample executes once.
"""

from __future__ import annotations

import importlib.util
import io
import json
import os
import re
import shutil
import sys
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import nbformat
import pytest

from convert_cases.support import CASES, SAMPLES, plan_case, read_manifest, text_outputs
import nbsplit.execute
from nbsplit.run import RunResult, digits_follow_session, load_tasks, run_folder, topological, without_digits
from tests.test_run import convert, output_text
from rich.console import Console

pytestmark = pytest.mark.slow

TIMEOUT = 600

# The samples whose run also makes ``--compare``'s source runs: one with stored outputs (the
# basis "stored outputs and a fresh run") and the two without (two fresh runs). The others are
# compared with their stored outputs only (see the module docstring), unless the libraries
# installed are not those the outputs were stored with.
COMPARE = {"churn_mini", "credito_ptbr", "databricks_housing"}
_STORED = json.loads((SAMPLES / "nondeterministic_cells.json").read_text(encoding="utf-8"))
NONDETERMINISTIC: dict[str, list[int]] = _STORED["cells"]




def _environment() -> dict[str, str | None]:
    spec = importlib.util.spec_from_file_location("execute_samples", SAMPLES / "execute_samples.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.environment()


# Stored outputs are a reference only under the library versions and the processor they were
# made with (reprs, number formats, the last digits of BLAS sums); elsewhere every sample runs
# its monolith afresh.
STORED_HERE = _environment() == _STORED["environment"]


def _compared_by_run(name: str) -> bool:
    return name in COMPARE or not STORED_HERE or name not in NONDETERMINISTIC

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


# The MLOps level each sample is converted at (default 1: the samples without monitoring cells
# get a generated monitoring stage and the retraining condition; messy_sales and spark_flights
# drift, so their retraining runs too). Every sample runs at level 1: spark_flights' generated
# monitoring reads its Spark handoffs without a JVM, and its Spark model logs without MLflow's
# requirement inference (a second JVM per training run).
LEVELS: dict[str, int] = {}


# The two Spark samples (a local Spark JVM in every stage kernel: 147 s and 117 s of the main
# job's 837 s on a quiet machine) run in CI's second job with the faithfulness suite
# (``-m extended``); the five pandas samples stay in the default run.
EXTENDED = {"spark_flights", "databricks_housing"}


def _cases() -> list[Any]:
    paths = [CASES / "churn_mini" / "churn_mini.ipynb", *sorted(SAMPLES.glob("*.ipynb"))]
    paths += [p for p in sorted(SAMPLES.glob("*.py"))
              if p.read_text(encoding="utf-8").startswith("# Databricks notebook source")]
    return [pytest.param(p, id=p.stem, marks=[pytest.mark.extended] if p.stem in EXTENDED else [])
            for p in paths]


@dataclass
class Pipeline:
    original: Path
    source: Path  # the copy that was converted and run
    split: Path
    manifest: dict[str, Any]
    result: RunResult
    kernels: list[tuple[str, Path]]  # (notebook file, working directory) of every kernel, in start order
    terminal: str  # what the run printed: its console and everything written to fds 1 and 2

    @property
    def name(self) -> str:
        return self.original.stem

    @property
    def compared_by_run(self) -> bool:
        return _compared_by_run(self.name)

    def monolith_runs(self) -> list[Any]:
        """The source runs: stored outputs (if any), then ``--compare``'s fresh runs (if any)."""
        fresh = [nbformat.read(p, as_version=4) for p in sorted((self.split / ".nbsplit" / "compare").glob("*.ipynb"))]
        stored = nbformat.read(self.original, as_version=4) if self.original.suffix == ".ipynb" else None
        if stored is not None and all(c.execution_count is not None for c in stored.cells
                                      if c.cell_type == "code" and c.source.strip()):
            return [stored, *fresh]
        return fresh

    def nondeterministic(self) -> set[int]:
        """Source cells whose outputs differ between two runs of the monolith."""
        runs = self.monolith_runs()
        if not self.compared_by_run:
            return set(NONDETERMINISTIC[self.name])
        return {i for i, cell in enumerate(runs[-1].cells)
                if cell.cell_type == "code" and any(text_outputs(r.cells[i]) != text_outputs(cell) for r in runs[:-1])}

    @property
    def notebook_tasks(self) -> list[Any]:
        """The tasks that ran a stage notebook (not the retraining condition, nor tasks it excluded)."""
        return [t for t in self.result.tasks if t.executed is not None]

    def executed(self, file: str) -> Any:
        task = next(t for t in self.result.tasks if t.file == file)
        return nbformat.read(task.executed, as_version=4)


@contextmanager
def _terminal() -> Iterator[list[str]]:
    """Everything written to file descriptors 1 and 2 (kernels and JVMs inherit them)."""
    captured: list[str] = []
    sys.stdout.flush()
    sys.stderr.flush()
    with tempfile.TemporaryFile() as sink:
        saved = [os.dup(1), os.dup(2)]
        os.dup2(sink.fileno(), 1)
        os.dup2(sink.fileno(), 2)
        try:
            yield captured
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            for fd in saved:
                os.close(fd)
            sink.seek(0)
            captured.append(sink.read().decode("utf-8", "replace"))


@pytest.fixture(scope="module", params=_cases())
def pipeline(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Pipeline:
    original: Path = request.param
    tmp = tmp_path_factory.mktemp(original.stem)
    project = tmp / "project"
    project.mkdir()
    shutil.copy(original, project / original.name)
    shutil.copytree(original.parent / "data", project / "data")
    source = project / original.name
    from nbsplit.convert import convert_notebook
    from nbsplit.levels import LevelOptions
    from nbsplit.render.job import JobOptions

    split = tmp / "split"
    convert_notebook(source, split, fmt="databricks" if source.suffix == ".py" else "ipynb", force=True,
                     job_options=JobOptions(levels=LevelOptions(level=LEVELS.get(original.stem, 1))))
    with pytest.MonkeyPatch.context() as mp:
        # Kernels inherit this process's environment: fixed string hashing in the stages and the
        # source run alike (execute_samples.py stores the samples' outputs under it too). Figures
        # render inline as in Jupyter: their text form ("<Figure size 640x480 with 1 Axes>") is
        # compared like any output.
        mp.setenv("PYTHONHASHSEED", "0")
        mp.delenv("MPLBACKEND", raising=False)
        mp.setenv("PYSPARK_PYTHON", sys.executable)
        mp.delenv("MLFLOW_TRACKING_URI", raising=False)
        # A registry set in the user's shell must not take the notebook's register_model calls
        # away from the run's store (databricks_housing registers its own model).
        mp.setenv("MLFLOW_REGISTRY_URI", f"sqlite:///{(tmp / 'elsewhere.db').as_posix()}")
        kernels: list[tuple[str, Path]] = []
        execute = nbsplit.execute.execute_notebook

        def recording(path: Any, cwd: Any, **kwargs: Any) -> Any:
            kernels.append((Path(path).name, Path(cwd)))
            return execute(path, cwd, **kwargs)

        mp.setattr(nbsplit.execute, "execute_notebook", recording)
        console = io.StringIO()
        with _terminal() as printed:
            result = run_folder(split, parallel=2, compare=_compared_by_run(original.stem), compare_runs=1, timeout=TIMEOUT,
                                console=Console(file=console, width=200))
    return Pipeline(original, source, split, read_manifest(split), result, kernels, console.getvalue() + printed[0])


def _text(pipeline: Pipeline, key: str) -> str:
    nb = nbformat.read(pipeline.result.task(key).executed, as_version=4)
    return "\n".join(output_text(c) for c in nb.cells)


# ------------------------------------------------------------------------------ nbsplit run

def test_every_task_succeeded_in_dag_order_with_outputs(pipeline: Pipeline) -> None:
    result = pipeline.result
    assert result.ok, result.messages
    retraining = {"check_retrain", "retrain_training", "retrain_evaluation"}
    assert {t.status for t in result.tasks if t.key not in retraining} == {"succeeded"}
    job = json.loads((pipeline.split / "job.json").read_text())
    tasks = load_tasks(pipeline.split, job, pipeline.manifest)
    assert [t.key for t in result.tasks] == [t.key for t in topological(tasks)]
    # Every stage ran; eda, a side branch, runs once what it looks at exists (not in slug order).
    stage_keys = sorted(s["name"].replace("-", "_") for s in pipeline.manifest["stages"])
    assert sorted(t.key for t in result.tasks if t.key not in retraining) == stage_keys
    for task in pipeline.notebook_tasks:
        assert task.executed is not None and task.executed.parent == pipeline.split / ".nbsplit" / "executed"
        nb = nbformat.read(task.executed, as_version=4)
        assert any(c.get("outputs") for c in nb.cells if c.cell_type == "code"), task.key
    # The monolith ran as well (stored outputs + one fresh run, or two fresh runs), or only its
    # stored outputs are the reference.
    assert len(pipeline.monolith_runs()) == (2 if pipeline.compared_by_run else 1)
    if pipeline.name == "spark_flights":
        # Local Spark in every stage; Spark DataFrames crossed stages as parquet (no Delta locally).
        assert "test AUC" in _text(pipeline, "evaluation")
        assert list((pipeline.split / ".nbsplit" / "handoffs").glob("*.spark.parquet"))
    if pipeline.name == "databricks_housing":
        # The Databricks stand-ins on a Databricks source notebook (this replaces a purpose-made
        # three-stage Spark run): display() rendered Spark rows, %sql ran on the stage's local
        # session against the notebook's temp view, %pip was skipped, Spark frames
        # crossed as parquet.
        eda = _text(pipeline, "eda")
        assert "district_id" in eda and "ocean_proximity" in eda and "avg_value" in eda
        assert "nbsplit run: skipped %pip" in "\n".join(_text(pipeline, t.key) for t in pipeline.notebook_tasks)
        assert list((pipeline.split / ".nbsplit" / "handoffs").glob("*.spark.parquet"))


def test_stage_notebooks_ran_from_the_output_folder_in_dag_order(pipeline: Pipeline) -> None:
    """Each stage notebook was opened from the split folder itself (its kernel's working directory)
    and ran in DAG order; the source folder is elsewhere, so the data was found through data_dir."""
    stages = {t.file: t for t in pipeline.notebook_tasks}
    ran = [(file, cwd) for file, cwd in pipeline.kernels if file in stages]
    assert sorted(file for file, _ in ran) == sorted(t.file for t in pipeline.notebook_tasks)
    assert all(cwd == pipeline.split for _, cwd in ran), ran
    assert pipeline.source.parent != pipeline.split and pipeline.split not in pipeline.source.parents
    started = [file for file, _ in ran]
    job = json.loads((pipeline.split / "job.json").read_text())
    by_key = {t.key: t for t in load_tasks(pipeline.split, job, pipeline.manifest)}
    for key, task in by_key.items():
        if task.key.startswith("retrain_") or task.condition is not None:
            continue  # the retraining path reruns notebooks that ran before it
        for dep in task.depends_on:
            assert started.index(by_key[dep].file) < started.index(task.file), (dep, key)


# Spark's console noise: log4j lines ("26/12/02 18:30:32 WARN Utils: ..."), its default-profile
# banner, and the "[Stage 3:>   (0 + 2) / 4]" progress bar.
_LOG4J = re.compile(r"^\d\d/\d\d/\d\d \d\d:\d\d:\d\d (WARN|INFO)|log4j|Setting default log level", re.MULTILINE)


def test_the_run_prints_no_spark_logging_or_progress(pipeline: Pipeline) -> None:
    texts = {"terminal": pipeline.terminal}
    texts |= {t.file: "\n".join(json.dumps(c.get("outputs", [])) for c in pipeline.executed(t.file).cells)
              for t in pipeline.notebook_tasks}
    for where, text in texts.items():
        assert not _LOG4J.search(text), (where, _LOG4J.search(text))
        assert "[Stage " not in text, where
    if pipeline.name == "spark_flights":
        assert "succeeded" in pipeline.terminal  # the run's own lines are there


def test_every_stage_saved_what_later_stages_load(pipeline: Pipeline) -> None:
    handoffs = pipeline.split / ".nbsplit" / "handoffs"
    for h in pipeline.manifest["handoffs"]:
        assert (handoffs / f"{h['key']}.nbsplit.json").is_file(), h


def test_the_last_stages_wrote_the_notebooks_outputs(pipeline: Pipeline) -> None:
    for rel in LAST_STAGE_OUTPUTS[pipeline.name]:
        assert (pipeline.source.parent / rel).exists(), f"{pipeline.name} did not produce {rel}"
    if "mlflow.db" not in LAST_STAGE_OUTPUTS[pipeline.name]:
        # No tracking URI of its own: the run's embedded sqlite store got the MLflow logging,
        # and nothing of MLflow landed in the user's folder (no ./mlflow.db, no ./mlruns).
        assert (pipeline.split / ".nbsplit" / "mlflow.db").is_file()
        assert not {"mlflow.db", "mlruns", "mlartifacts"} & {p.name for p in pipeline.source.parent.iterdir()}
    if pipeline.name == "databricks_housing":
        # The experiment its own cells set (mlflow.set_experiment in a stage kernel) keeps its
        # artifacts in the run's state folder; the registered model loaded back by alias in
        # prediction (models:/<widget>@champion, asserted in the MLflow test below).
        client = _client(pipeline.split)
        assert not (pipeline.split.parent / "elsewhere.db").exists()  # the shell's MLFLOW_REGISTRY_URI
        ids = [e.experiment_id for e in client.search_experiments()]
        gbr = client.search_runs(ids, filter_string="attributes.run_name = 'gbr'")
        assert gbr, [r.info.run_name for r in client.search_runs(ids)]  # (a retraining adds one)
        experiment = client.get_experiment(gbr[0].info.experiment_id)
        location = Path(experiment.artifact_location.removeprefix("file://"))
        assert location.is_relative_to(pipeline.split / ".nbsplit" / "mlartifacts"), location
        # Its quality gate passed in the split and in the source run on the stand-ins.
        assert any("gate passed" in _text(pipeline, t.key) for t in pipeline.notebook_tasks)
        assert all("gate passed" in "\n".join(output_text(c) for c in run.cells) for run in pipeline.monolith_runs())


def test_run_compare_reports_the_reproduction(pipeline: Pipeline) -> None:
    if not pipeline.compared_by_run:
        assert pipeline.result.compare is None
        pytest.skip("compared with its stored outputs below, without --compare's fresh run")
    compare = pipeline.result.compare
    assert compare is not None and compare.ok, pipeline.result.messages
    assert compare.compared >= (15 if pipeline.name == "churn_pandas" else 1)
    line = next(m for m in pipeline.result.messages if m.startswith("compare:"))
    assert f"compare: {compare.compared} deterministic source cell(s) compared, 0 mismatch(es)" in line
    stored = pipeline.original.suffix == ".ipynb" and pipeline.name != "churn_mini"
    assert ("stored in the source" in line) == stored, line


# ------------------------------------------------------------------------------ nbsplit convert

def test_stages_reproduce_the_monolith_outputs(pipeline: Pipeline) -> None:
    reference = pipeline.monolith_runs()[-1]
    varies = pipeline.nondeterministic()
    # spark_flights' train AUC (lr_model.summary.areaUnderROC): Spark bins it by its count of the
    # session's RDDs, so the stage prints 0.8812 where the monolith prints 0.8813 with the same
    # model; such cells are compared without their digits, as `nbsplit run --compare` does.
    digitless = digits_follow_session(reference.cells)
    compared, nondeterministic, mismatches = 0, 0, []
    for entry in pipeline.manifest["cells"]:
        cell = reference.cells[entry["index"]]
        if cell.cell_type != "code" or entry["file"] is None:
            continue
        expected = text_outputs(cell)
        if entry["index"] in varies:
            nondeterministic += 1
            continue
        for place in [entry, *entry.get("also", [])]:
            got = text_outputs(pipeline.executed(place["file"]).cells[place["cell"]])
            compared += 1
            if entry["index"] in digitless:
                got = [without_digits(t) for t in got]
                expected = [without_digits(t) for t in text_outputs(cell)]
            if got != expected:
                mismatches.append(f"source cell {entry['index']} in {place['file']} cell {place['cell']}:\n"
                                  f"  monolith: {expected!r:.300}\n  stage:    {got!r:.300}")
    print(f"{pipeline.name}: compared {compared} cell placements, {nondeterministic} nondeterministic cells skipped")
    assert not mismatches, "\n".join(mismatches)
    with_output = sum(1 for c in reference.cells if c.cell_type == "code" and text_outputs(c))
    assert compared >= with_output - nondeterministic > 0
    # Most cells are deterministic: the comparison is not hollowed out by skipped cells.
    assert nondeterministic <= max(3, with_output // 4), nondeterministic


def test_plan_used_by_convert_is_the_public_one(pipeline: Pipeline) -> None:
    plan = plan_case(pipeline.source)
    planned = [s.stage.value for s in sorted(plan.stages, key=lambda s: s.stage.order)
               if s.stage.is_pipeline and s.cells]
    if pipeline.manifest["mlops"]["monitoring"]["generated"]:  # level 1 adds it after the plan
        planned.append("monitoring")
    assert [s["name"] for s in pipeline.manifest["stages"]] == planned


# ------------------------------------------------------------------------------ MLflow

# Per sample: a metric the notebook prints, the stage that prints it and how (the logged value,
# rounded as printed, must be the printed one).
PRINTED_METRIC = {
    "churn_mini": ("evaluation", "test_auc", r"AUC (\d\.\d{4})"),
    "churn_pandas": ("training", "logreg_score", r"logreg test accuracy: (\d\.\d+)"),
    "credito_ptbr": ("evaluation", "auc", r"AUC  = (\d\.\d{4})"),
    "messy_sales": ("evaluation", "r2", r"r2\s+(-?\d\.\d+)"),
    "monitoring_drift": ("evaluation", "baseline_auc", r"AUC (\d\.\d{4})"),
    "spark_flights": ("evaluation", "auc", r"test AUC = (\d\.\d{4})"),
    "databricks_housing": ("evaluation", "r2", r"'r2': (-?\d\.\d+)"),
}
# What the prediction stage wrote (beside each: <output>.nbsplit-model.json naming the model version).
PREDICTIONS = {
    "churn_mini": ["predictions.csv"],
    "churn_pandas": ["predictions/churn_scores.csv"],
    "credito_ptbr": ["predictions/credito_scores.csv"],
    "messy_sales": ["predictions/sales_forecast.csv"],
    "monitoring_drift": ["outputs/scored_transactions.csv"],
    "spark_flights": ["outputs/flight_delay_predictions"],
    "databricks_housing": ["predictions/housing_value_predictions"],
}


def _client(split: Path) -> Any:
    from mlflow import MlflowClient

    uri = f"sqlite:///{(split / '.nbsplit' / 'mlflow.db').as_posix()}"
    return MlflowClient(tracking_uri=uri, registry_uri=uri)


def _stage_runs(client: Any, manifest: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    experiment = client.get_experiment_by_name(manifest["parameters"]["experiment_name"])
    runs = client.search_runs([experiment.experiment_id], max_results=500)
    parents = [r for r in runs if r.data.tags.get("nbsplit.stage") == "pipeline"]
    assert len(parents) == 1, [r.info.run_name for r in runs]
    nested = [r for r in runs if r.data.tags.get("mlflow.parentRunId") == parents[0].info.run_id]
    # A stage's first run (a level-1 retraining reruns training and evaluation in runs of their own).
    by_stage: dict[str, Any] = {}
    for r in sorted(nested, key=lambda r: r.info.start_time):
        by_stage.setdefault(r.data.tags["nbsplit.stage"], r)
    return parents[0], by_stage


def test_mlflow_parent_run_nested_stage_runs_params_metrics_and_champion(pipeline: Pipeline) -> None:
    """One parent run, one nested run per stage (tagged with the source and its sha256), the
    analysed parameters and metrics with the notebook's values, a champion, marked predictions."""
    import math

    from nbsplit import __version__

    manifest, client = pipeline.manifest, _client(pipeline.split)
    facts = manifest["mlflow"]
    parent, runs = _stage_runs(client, manifest)
    assert sorted(runs) == sorted(s["name"] for s in manifest["stages"])
    for run in [parent, *runs.values()]:
        tags = run.data.tags
        assert tags["nbsplit.source"] == pipeline.source.name
        assert tags["nbsplit.source_sha256"] == manifest["source"]["sha256"]
        assert tags["nbsplit.version"] == __version__
        assert tags["nbsplit.pipeline_run"] == parent.data.tags["nbsplit.pipeline_run"]
        assert run.info.status == "FINISHED", (run.info.run_name, run.info.status)
    # Every stage's summary line names its run; nothing was only a warning; it counts what the
    # run holds (autolog's parameters too).
    assert all(t.mlflow is not None and not t.mlflow.warnings for t in pipeline.notebook_tasks)
    for task in pipeline.notebook_tasks:
        data = client.get_run(task.mlflow.run_id).data
        assert (task.mlflow.params, task.mlflow.metrics) == (len(data.params), len(data.metrics)), task.key

    main = next(m for m in facts["models"] if m["name"] == facts["main_model"] and m["fitted_cell"] is not None)
    fit_run = runs[main["stage"]]
    assert {k: str(v) for k, v in main["params"].items()}.items() <= fit_run.data.params.items()
    autolog = facts["autolog"]
    assert (autolog["stage"] is None) == (pipeline.name in ("churn_pandas", "databricks_housing"))  # own MLflow
    if autolog["stage"] is not None:
        # Autolog followed the main model's fit in its stage's own run: no run of its own, no
        # child run per search candidate, and what it logged is the main model's.
        assert autolog["stage"] == main["stage"] and autolog["before_cell"] == main["fitted_cell"]
        assert f"nbsplit: MLflow autolog ({', '.join(autolog['flavors'])}) into the {autolog['stage']} run" \
            in _text(pipeline, autolog["stage"].replace("-", "_"))
        experiment = client.get_experiment_by_name(manifest["parameters"]["experiment_name"])
        every = client.search_runs([experiment.experiment_id], max_results=500)
        assert all(r.info.run_id == parent.info.run_id
                   or r.data.tags.get("mlflow.parentRunId") == parent.info.run_id for r in every)
        if main["flavor"] == "sklearn":
            # The main model's class (messy_sales fits a Ridge before it and a forest after it).
            logged = fit_run.data.tags["estimator_class"]  # its defining module: sklearn.ensemble._gb...
            assert logged.startswith("sklearn.") and logged.rsplit(".", 1)[1] == main["class"].rsplit(".", 1)[1]
            assert "training_score" in fit_run.data.metrics
        else:
            assert fit_run.data.tags["estimator_class"].startswith("pyspark.ml")
        assert len(fit_run.data.params) > len(main["params"])  # autolog adds every parameter of the model

    stage, metric, pattern = PRINTED_METRIC[pipeline.name]
    printed = re.search(pattern, _text(pipeline, stage.replace("-", "_")))
    assert printed is not None, pattern
    value = runs[stage].data.metrics[metric]
    decimals = len(printed.group(1).split(".")[1])
    assert math.isclose(round(value, decimals), float(printed.group(1))), (value, printed.group(1))

    model_name = manifest["parameters"]["model_name"]
    champion = client.get_model_version_by_alias(model_name, "champion")
    retrained = any(t.key == "retrain_training" and t.status == "succeeded" for t in pipeline.result.tasks)
    if retrained and facts["registers_model"]:
        # databricks_housing registers and aliases its model itself, without a gate: retraining's
        # training registered a newer version and moved champion to it. Prediction scored with
        # the first one (each pipeline run has a store of its own).
        versions = sorted(client.search_model_versions(f"name = '{model_name}'"), key=lambda v: int(v.version))
        assert len(versions) == 2 and champion.version == versions[-1].version
        champion = versions[0]
    elif retrained:
        # Monitoring found drift and retraining ran after prediction: it registered a newer
        # challenger, and its own gate moved the champion to it or kept it. What prediction
        # scored with is the version the first training registered.
        challenger = client.get_model_version_by_alias(model_name, "challenger")
        first = next(v for v in client.search_model_versions(f"name = '{model_name}'")
                     if runs["training"].info.run_id in (v.run_id, v.tags.get("nbsplit.run_id")))
        assert int(challenger.version) > int(first.version)
        assert str(champion.version) in {str(first.version), str(challenger.version)}
        if pipeline.name == "spark_flights":
            # The same seeded fit on the same features: a model no better than the champion,
            # which the retraining's gate keeps.
            again = client.get_run(pipeline.result.task("retrain_evaluation").mlflow.run_id)
            assert again.data.tags["nbsplit.gate"] == "kept", again.data.tags
            assert again.data.tags["nbsplit.gate.champion_version"] == str(first.version)
            assert champion.version == first.version
        champion = first
    if not facts["registers_model"]:  # the notebook registers its own (databricks_housing)
        assert champion.tags["nbsplit.pipeline_run"] == parent.data.tags["nbsplit.pipeline_run"]
        if not retrained:
            assert client.get_model_version_by_alias(model_name, "challenger").version == champion.version
        gate = next(r for r in runs.values() if "nbsplit.gate" in r.data.tags)
        assert gate.data.tags["nbsplit.gate"] == "promoted" and gate.data.tags["nbsplit.gate.reason"] == "no champion yet"
        assert f"is {model_name} version {champion.version} (@champion)" in _text(pipeline, "prediction")
        if main["flavor"] == "spark":
            # The Spark flavour with a pyfunc one (what mlflow.pyfunc.spark_udf and `mlflow models
            # serve` load), a signature, and requirements naming pyspark (given, not inferred).
            import yaml

            folder = Path(client.get_model_version(model_name, champion.version).source.removeprefix("file://"))
            mlmodel = yaml.safe_load((folder / "MLmodel").read_text())
            assert {"spark", "python_function"} <= set(mlmodel["flavors"]), mlmodel["flavors"]
            assert mlmodel["flavors"]["spark"]["model_class"] == "pyspark.ml.pipeline.PipelineModel"
            assert "label" in mlmodel["signature"]["inputs"] and "prediction" in mlmodel["signature"]["outputs"]
            requirements = (folder / "requirements.txt").read_text().split()
            assert any(r.startswith("pyspark==") for r in requirements), requirements
            assert any(r.startswith("mlflow") for r in requirements), requirements
        if main["flavor"] == "sklearn":
            # Loadable back from the registry, tree models included (no skops trusted types).
            import mlflow

            uri = client._registry_uri
            with pytest.MonkeyPatch.context() as mp:
                mp.setenv("MLFLOW_TRACKING_URI", uri)
                mp.setenv("MLFLOW_REGISTRY_URI", uri)
                loaded = mlflow.sklearn.load_model(f"models:/{model_name}/{champion.version}")
            assert type(loaded).__name__ == main["class"].rsplit(".", 1)[1]
    for rel in PREDICTIONS[pipeline.name]:
        sidecar = json.loads((pipeline.source.parent / f"{rel}.nbsplit-model.json").read_text())
        assert (sidecar["model_name"], sidecar["model_version"]) == (model_name, str(champion.version))
    assert runs["prediction"].data.tags["nbsplit.model_version"] == str(champion.version)


# How each sample gets a second model, worse than its champion on the notebook's own primary
# metric, cheaply, from what its pipeline run left (in a copy of the split folder: the stage
# notebooks, the handoffs and the run's MLflow store); then only the stage with the gate runs again:
# - ("refit", X, y, rows, share): the main model's own class and parameters (sklearn's clone)
#   fitted on the handoffs X and y, without the rows of the handoff ``rows`` (None: all of them),
#   a ``share`` of the labels shuffled. With every label shuffled it learns nothing of the true
#   ones (AUC near 0.5, r2 below 0). It replaces the model handoff evaluation loads and is
#   registered as this pipeline run's challenger, as training registers one (a run nested in the
#   pipeline's, a model version tagged with the pipeline run).
# - ("flip",): the main Spark PipelineModel with its logistic regression's coefficients and
#   intercept negated (AUC becomes 1 - AUC), rewritten in the saved model's parquet (no JVM in this
#   process): in the model handoff and in a copy of the champion's registered artifacts.
# - ("fit", old, new, ...): the primary metric is computed in training, where the gate is: training
#   runs again with each source text ``old`` replaced by the ``new`` after it, registers its model
#   and gates it itself.
WORSE: dict[str, tuple[Any, ...]] = {
    "churn_mini": ("refit", "X_test", "y_test", None, 1.0),
    # Shuffled labels, and one point of the grid instead of six (cheaper; the gate compares rf_score).
    "churn_pandas": ("fit", '"max_depth": [6, 10, None],', '"max_depth": [6],',
                     '"min_samples_leaf": [2, 8],', '"min_samples_leaf": [2],',
                     "grid.fit(X_train, y_train)", "grid.fit(X_train, y_train.sample(frac=1.0, random_state=1).to_numpy())"),
    # Its evaluation asserts the notebook's own acceptance (auc >= 0.70 and ks >= 0.30) before the
    # gate, which a model knowing nothing fails: the training rows, half their labels shuffled (AUC
    # 0.754 and KS 0.388 against the champion's 0.796 and 0.441).
    "credito_ptbr": ("refit", "X", "y", "X_teste", 0.5),
    "messy_sales": ("refit", "X_test", "y_test", None, 1.0),
    "monitoring_drift": ("refit", "X_val", "y_val", None, 1.0),
    "spark_flights": ("flip",),
}
NO_WORSE = {
    "databricks_housing": "the notebook moves @champion itself (its training cell aliases every version it "
                          "registers, before its own r2 gate), and nbsplit keeps that cell as it is: there is "
                          "no nbsplit gate to keep the champion (retraining moving it is asserted above)",
}


def _register_challenger(client: Any, split: Path, manifest: dict[str, Any], model: Path) -> str:
    """Register the MLflow model folder ``model`` as this pipeline run's challenger, as training does."""
    state = json.loads((split / ".nbsplit" / "mlflow-pipeline.json").read_text())
    experiment = client.get_experiment_by_name(manifest["parameters"]["experiment_name"]).experiment_id
    run = client.create_run(experiment, run_name="training (worse)", tags={
        "mlflow.parentRunId": state["parent"], "nbsplit.pipeline_run": state["pipeline_run"]})
    client.log_artifacts(run.info.run_id, str(model), "model")
    client.set_terminated(run.info.run_id)
    name = manifest["parameters"]["model_name"]
    version = client.create_model_version(name, f"{run.info.artifact_uri}/model", run.info.run_id, tags={
        "nbsplit.pipeline_run": state["pipeline_run"], "nbsplit.run_id": run.info.run_id})
    client.set_registered_model_alias(name, "challenger", version.version)
    return str(version.version)


def _flip_logistic_regression(folder: Path) -> int:
    """Negate the coefficients and intercept of every saved Spark LogisticRegressionModel under
    ``folder``; returns how many."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    files = sorted(folder.glob("**/stages/*_LogisticRegression_*/data/*.parquet"))
    for path in files:
        table = pq.read_table(path)
        rows = table.to_pylist()
        for row in rows:
            for field in ("interceptVector", "coefficientMatrix"):
                row[field]["values"] = [-v for v in row[field]["values"]]
        pq.write_table(pa.Table.from_pylist(rows, schema=table.schema), path)
        path.with_name(f".{path.name}.crc").unlink(missing_ok=True)  # Hadoop would check the old checksum
    return len(files)


def _worse_challenger(pipeline: Pipeline, again: Path, client: Any, recipe: tuple[str, ...],
                      champion: str) -> None:
    """Make the worse model of ``recipe`` (see ``WORSE``) in the copy ``again``."""
    manifest = pipeline.manifest
    main = manifest["mlflow"]["main_model"]
    loaded = {h["name"]: h["key"] for h in manifest["handoffs"] if h["to"] == "evaluation"}
    model_dir = again.parent / "worse_model"
    if recipe[0] == "fit":
        training = again / next(s["file"] for s in manifest["stages"] if s["name"] == "training")
        nb = nbformat.read(training, as_version=4)
        for old, new in zip(recipe[1::2], recipe[2::2]):
            cell = next(c for c in nb.cells if old in c.source)
            cell.source = cell.source.replace(old, new)
        nbformat.write(nb, training)
    elif recipe[0] == "flip":
        assert _flip_logistic_regression(again / ".nbsplit" / "handoffs" / f"{loaded[main]}.sparkml") == 1
        source = client.get_model_version(manifest["parameters"]["model_name"], champion).source
        shutil.copytree(Path(source.removeprefix("file://")), model_dir)
        assert _flip_logistic_regression(model_dir) == 1
        _register_challenger(client, again, manifest, model_dir)
    else:
        import mlflow.sklearn
        import numpy as np
        from sklearn.base import clone

        from tests.test_handoff_runtime import _namespace

        runtime = _namespace(again / ".nbsplit" / "handoffs")
        keys = {h["name"]: h["key"] for h in manifest["handoffs"] if h["to"] in ("training", "evaluation")}
        _, x, y, rows, share = recipe
        features, labels = runtime["_nbsplit_load"](keys[x]), runtime["_nbsplit_load"](keys[y])
        if rows is not None:
            scored = runtime["_nbsplit_load"](keys[rows]).index
            features, labels = features.drop(index=scored), labels.drop(index=scored)
        rng = np.random.default_rng(0)
        labels = np.asarray(labels).copy()
        shuffled = rng.choice(len(labels), int(share * len(labels)), replace=False)
        labels[shuffled] = rng.permutation(labels[shuffled])
        worse = clone(runtime["_nbsplit_load"](loaded[main])).fit(features, labels)
        runtime["_nbsplit_save"](loaded[main], worse)
        mlflow.sklearn.save_model(worse, model_dir, serialization_format="cloudpickle",
                                  pip_requirements=mlflow.sklearn.get_default_pip_requirements())
        _register_challenger(client, again, manifest, model_dir)


def test_a_worse_model_leaves_the_champion(pipeline: Pipeline) -> None:
    """A second, worse model in the same pipeline run (see ``WORSE``): registered as challenger, the
    gate keeps the champion and logs its decision and both values of the primary metric. churn_mini
    then scores again (with the champion), and runs evaluation alone without a challenger: a
    visible warning, a failure with strict."""
    if pipeline.name in NO_WORSE:
        pytest.skip(NO_WORSE[pipeline.name])
    manifest, facts = pipeline.manifest, pipeline.manifest["mlflow"]
    metric, name = facts["primary_metric"], manifest["parameters"]["model_name"]
    greater = facts["greater_is_better"]
    if greater is None:
        greater = next(m["greater_is_better"] for m in facts["metrics"] if m["name"] == metric)
    stage = next(m["stage"] for m in reversed(facts["metrics"]) if m["name"] == metric)
    again = pipeline.split.parent / "split_again"  # same depth: data_dir still leads to the project
    shutil.copytree(pipeline.split, again, symlinks=True)
    client = _client(again)
    champion = str(client.get_model_version_by_alias(name, "champion").version)
    champion_value = float(client.get_model_version(name, champion).tags[f"nbsplit.metric.{metric}"])
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PYSPARK_PYTHON", sys.executable)
        mp.delenv("MLFLOW_TRACKING_URI", raising=False)
        # churn_pandas' own log_model infers pip requirements by loading the model in a subprocess
        # (20 s of a 38 s training rerun on the busy machine): a 1-second limit makes MLflow fall
        # back to its default list, which is all this run needs.
        mp.setenv("MLFLOW_REQUIREMENTS_INFERENCE_TIMEOUT", "1")
        _worse_challenger(pipeline, again, client, WORSE[pipeline.name], champion)
        result = run_folder(again, only=stage, timeout=TIMEOUT, console=Console(file=io.StringIO()))
    assert result.ok, result.messages
    challenger = str(client.get_model_version_by_alias(name, "challenger").version)
    assert int(challenger) > int(champion)
    run = client.get_run(result.task(stage).mlflow.run_id)
    tags, metrics = run.data.tags, run.data.metrics
    assert tags["nbsplit.gate"] == "kept", tags
    assert (tags["nbsplit.gate.champion_version"], tags["nbsplit.gate.challenger_version"]) == (champion, challenger)
    # Both values: the champion's as its gate recorded it, the challenger's as this stage computed it.
    ours, theirs = metrics[f"gate.challenger.{metric}"], metrics[f"gate.champion.{metric}"]
    assert theirs == champion_value and ours == metrics[metric]
    assert (ours < theirs) if greater else (ours > theirs), (ours, theirs)
    print(f"{pipeline.name}: {metric} of the worse challenger {ours:.4f}, of the champion {theirs:.4f}")
    assert f"champion stays {name} version {champion} ({metric} {ours:.6g} is not better" in "\n".join(
        output_text(c) for c in nbformat.read(result.task(stage).executed, as_version=4).cells)
    assert str(client.get_model_version_by_alias(name, "champion").version) == champion
    if pipeline.name != "churn_mini":
        return

    # Prediction still scores with the champion; evaluation without a challenger warns, strict fails.
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("MLFLOW_TRACKING_URI", raising=False)
        prediction = run_folder(again, only="prediction", timeout=TIMEOUT, console=Console(file=io.StringIO()))
        assert prediction.ok, prediction.messages
        assert f"version {champion} (@champion)" in "\n".join(
            output_text(c) for c in nbformat.read(prediction.task("prediction").executed, as_version=4).cells)
        sidecar = json.loads((pipeline.source.parent / "predictions.csv.nbsplit-model.json").read_text())
        assert sidecar["model_version"] == champion
        client.delete_registered_model_alias(name, "challenger")
        strict = run_folder(again, only="evaluation", strict=True, timeout=TIMEOUT, console=Console(file=io.StringIO()))
    assert [t.status for t in strict.tasks if t.key == "evaluation"] == ["warning"]
    assert not strict.ok and strict.exit_code == 1
    assert any(m.startswith("mlflow: error: stage evaluation: no challenger") for m in strict.messages), strict.messages


# ------------------------------------------------------------------------------ MLOps level 1

def test_generated_monitoring_logged_drift_and_set_the_retrain_value(pipeline: Pipeline) -> None:
    """churn_pandas has no monitoring stage: level 1 generated one comparing the features handed
    into training (X) with the batch prediction scored (X_new); it logged PSI/KS per feature to
    the run's sqlite store, set the ``retrain`` task value, and the condition task ran the
    retraining tasks only when that value is true."""
    if pipeline.name != "churn_pandas":
        pytest.skip("the one sample run with a generated monitoring stage")
    import sqlite3

    monitoring = pipeline.manifest["mlops"]["monitoring"]
    assert monitoring["generated"] and monitoring["training_features"]["name"] == "X"
    assert monitoring["scored_batch"]["name"] == "X_new"
    values = json.loads((pipeline.split / ".nbsplit" / "task_values" / "monitoring.json").read_text())
    assert isinstance(values["retrain"], bool)
    # The store's own tables (importing mlflow here would cost more than the assertions).
    with sqlite3.connect(pipeline.split / ".nbsplit" / "mlflow.db") as db:
        runs = db.execute("SELECT r.run_uuid FROM runs r JOIN experiments e ON r.experiment_id = e.experiment_id "
                          "WHERE e.name = ? AND r.name = 'monitoring'",
                          (pipeline.manifest["parameters"]["experiment_name"],)).fetchall()
        assert len(runs) == 1
        metrics = dict(db.execute("SELECT key, value FROM latest_metrics WHERE run_uuid = ?", runs[0]).fetchall())
        params = dict(db.execute("SELECT key, value FROM params WHERE run_uuid = ?", runs[0]).fetchall())
    features = [k[len("drift_psi_"):] for k in metrics if k.startswith("drift_psi_")]
    assert {"tenure", "MonthlyCharges", "TotalCharges"} <= set(features)
    for feature in features:
        assert metrics[f"drift_psi_{feature}"] >= 0 and 0 <= metrics[f"drift_ks_pvalue_{feature}"] <= 1
    assert metrics["drift_retrain"] == float(values["retrain"])
    assert params["drift_psi_threshold"] == "0.2" and params["drift_scored_batch"] == "X_new"
    drifted = [f for f in features if metrics[f"drift_psi_{f}"] >= 0.2 or metrics[f"drift_ks_pvalue_{f}"] < 0.05]
    assert values["retrain"] == bool(drifted)
    # The live metric (the gate's rf_score of the champion) needs labels: X_new has no column named
    # like the target y ("Churn"), so the stage says so in one line and logs no live metric.
    live = monitoring["live_metric"]
    assert live["metric"] == "rf_score" and live["target"] == {"name": "y", "from": "featurization", "after_cell": 19}
    assert "nbsplit: live rf_score: no labels in X_new (no column 'Churn', the name of y); nothing logged" \
        in _text(pipeline, "monitoring")
    assert not [k for k in metrics if k.startswith("live_")] and "live_label" not in params
    statuses = {t.key: t.status for t in pipeline.result.tasks}
    assert statuses["check_retrain"] == "succeeded"
    expected = "succeeded" if values["retrain"] else "excluded"
    assert statuses["retrain_training"] == statuses["retrain_evaluation"] == expected


def test_generated_monitoring_of_a_batch_scored_by_the_registered_champion(pipeline: Pipeline) -> None:
    """databricks_housing's prediction loads ``models:/...@champion`` itself and scores new_pdf
    with it: level 1 generated a monitoring stage comparing the features handed into training
    (X) with that batch, logged drift per numeric feature and set the retrain value."""
    if pipeline.name != "databricks_housing":
        pytest.skip("the sample whose prediction loads the registered model itself")
    import sqlite3

    monitoring = pipeline.manifest["mlops"]["monitoring"]
    assert monitoring["generated"] and monitoring["training_features"]["name"] == "X"
    assert monitoring["scored_batch"] == {"name": "new_pdf", "from": "prediction", "after_cell": 27}
    values = json.loads((pipeline.split / ".nbsplit" / "task_values" / "monitoring.json").read_text())
    with sqlite3.connect(pipeline.split / ".nbsplit" / "mlflow.db") as db:
        (run,) = db.execute("SELECT r.run_uuid FROM runs r JOIN experiments e ON r.experiment_id = e.experiment_id "
                            "WHERE e.name = ? AND r.name = 'monitoring'",
                            (pipeline.manifest["parameters"]["experiment_name"],)).fetchall()
        metrics = dict(db.execute("SELECT key, value FROM latest_metrics WHERE run_uuid = ?", run).fetchall())
        params = dict(db.execute("SELECT key, value FROM params WHERE run_uuid = ?", run).fetchall())
    features = {k[len("drift_psi_"):] for k in metrics if k.startswith("drift_psi_")}
    assert {"median_income", "housing_median_age", "rooms_per_person", "log_population"} <= features
    assert params["drift_scored_batch"] == "new_pdf" and metrics["drift_retrain"] == float(values["retrain"])
    statuses = {t.key: t.status for t in pipeline.result.tasks}
    assert statuses["retrain_training"] == ("succeeded" if values["retrain"] else "excluded")


def test_generated_monitoring_of_spark_frames_reads_them_without_spark(pipeline: Pipeline) -> None:
    """spark_flights: the generated monitoring compares the Spark frame training split (data)
    with the one prediction scored (july), read from their parquet handoffs as pandas (no Spark
    session in that kernel), every row of both; July's month drifts, so retraining ran."""
    if pipeline.name != "spark_flights":
        pytest.skip("the sample with Spark frames and a generated monitoring stage")
    monitoring = pipeline.manifest["mlops"]["monitoring"]
    assert monitoring["generated"]
    assert (monitoring["training_features"]["name"], monitoring["scored_batch"]["name"]) == ("data", "july")
    nb = pipeline.executed("07_monitoring.ipynb")
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    assert "data = _nbsplit_load_sample('data__c17')" in code and "july = _nbsplit_load_sample('july__c28')" in code
    assert "SparkSession" not in code and "_nbsplit_load(" not in code
    # The row counts the notebook's own cells printed (Spark counts) are those compared.
    cleaned = re.search(r"(\d+) flights after cleaning", _text(pipeline, "data_prep"))
    scored = re.search(r"(\d+) flights scored", _text(pipeline, "prediction"))
    assert cleaned and scored
    text = _text(pipeline, "monitoring")
    assert f"drift of july ({scored.group(1)} rows) from data ({cleaned.group(1)} rows)" in text, text[:500]
    assert "Using incubator modules" not in text and "PySpark" not in text  # no JVM, no pyspark import
    client = _client(pipeline.split)
    metrics = client.get_run(pipeline.result.task("monitoring").mlflow.run_id).data.metrics
    assert metrics["drift_psi_month"] >= 0.2 and metrics["drift_ks_pvalue_month"] < 0.05
    assert {"dep_delay", "distance", "dep_hour", "day_of_week"} <= {k[len("drift_psi_"):] for k in metrics
                                                                    if k.startswith("drift_psi_")}
    assert metrics["drift_retrain"] == 1.0
    statuses = {t.key: t.status for t in pipeline.result.tasks}
    assert statuses["retrain_training"] == statuses["retrain_evaluation"] == "succeeded"


def test_training_read_its_features_from_the_feature_table(pipeline: Pipeline) -> None:
    """Level 1: the frame featurization hands to training became a local Delta feature table and
    training read it back from there (exactly: the compare tests above hold on the same run). A
    Spark frame too (spark_flights): written through Arrow from its handoff, every row once, and
    training's frame made from the table (its seeded randomSplit printed the monolith's counts)."""
    table = pipeline.manifest["mlops"].get("feature_table")
    if pipeline.manifest["mlops"]["level"] == 0 or table is None:
        pytest.skip("no feature table at this level / for this notebook")
    featurization = _text(pipeline, table_producer(pipeline, table["handoff"]))
    assert "no feature table for" not in featurization, featurization[-2000:]
    assert "features written to the feature table" in featurization
    assert "features read from the feature table" in _text(pipeline, "training")
    location = pipeline.split / ".nbsplit" / "handoffs" / "feature_tables" / table["table"]
    assert (location / "_delta_log").is_dir()
    handoffs = pipeline.split / ".nbsplit" / "handoffs"
    meta = json.loads((handoffs / f"{table['handoff']}.nbsplit.json").read_text())
    assert meta["feature_table"]["location"] == str(location)
    if meta["kind"] == "spark-parquet":
        import pyarrow.parquet as pq
        from deltalake import DeltaTable

        delta = DeltaTable(str(location)).to_pyarrow_table()
        handed = pq.read_table(handoffs / f"{table['handoff']}.spark.parquet")
        schema = [f["name"] for f in json.loads(meta["schema"])["fields"]]
        key = meta["feature_table"]["primary_key"]
        assert delta.column_names == schema + ([key] if key not in schema else [])
        assert delta.num_rows == handed.num_rows == pq.read_table(handoffs / f"{table['handoff']}.keys.parquet").num_rows
        assert len(set(delta[key].to_pylist())) == delta.num_rows


def table_producer(pipeline: Pipeline, key: str) -> str:
    return next(h["from"] for h in pipeline.manifest["handoffs"] if h["key"] == key).replace("-", "_")
