"""MLOps levels (``convert --level 0|1|2``): the files each level writes, parsed as JSON/YAML, and
the local evaluation of the retraining condition (fast: no kernel)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from databricks.bundles.jobs import Job
from databricks.bundles.model_serving_endpoints import ModelServingEndpoint
from databricks.sdk.service.jobs import JobSettings

from convert_cases.support import SAMPLES
from nbsplit.cli import cli
from nbsplit.convert import convert_notebook
from nbsplit.errors import NbsplitError
from nbsplit.levels import LevelOptions
from nbsplit.render.job import JobOptions
from nbsplit.run import Task, TaskResult, _run_condition, _schedule, load_tasks

CHURN = SAMPLES / "churn_pandas.ipynb"


def _files(level: int, **kwargs: object) -> dict[str, str]:
    options = JobOptions(levels=LevelOptions(level=level, **kwargs))  # type: ignore[arg-type]
    return dict(convert_notebook(CHURN, SAMPLES / "stages", dry_run=True, job_options=options).files)


def _resources(files: dict[str, str]) -> dict:
    (name,) = [k for k in files if k.startswith("resources/")]
    return yaml.safe_load(files[name])["resources"]


@pytest.fixture(scope="module")
def level0() -> dict[str, str]:
    return _files(0)


@pytest.fixture(scope="module")
def level1() -> dict[str, str]:
    return _files(1, schedule="0 30 2 ? * MON-FRI", timezone="Europe/Berlin")


@pytest.fixture(scope="module")
def level2() -> dict[str, str]:
    return _files(2)


def test_level0_has_no_schedule_monitoring_retraining_serving_or_ci(level0: dict[str, str]) -> None:
    job = json.loads(level0["job.json"])
    assert "schedule" not in job
    assert [t["task_key"] for t in job["tasks"]] == ["data_prep", "eda", "featurization", "training",
                                                      "evaluation", "prediction"]
    assert "07_monitoring.ipynb" not in level0
    assert "model_serving_endpoints" not in _resources(level0)
    assert not any(k.startswith(".github") or k == "azure-pipelines.yml" for k in level0)
    manifest = json.loads(level0["nbsplit-manifest.json"])
    assert manifest["mlops"]["level"] == 0 and manifest["mlops"]["monitoring"]["generated"] is False


def test_level1_schedule_condition_and_retraining_in_job_json_and_bundle(level1: dict[str, str]) -> None:
    job = json.loads(level1["job.json"])
    assert job["schedule"] == {"quartz_cron_expression": "0 30 2 ? * MON-FRI", "timezone_id": "Europe/Berlin",
                               "pause_status": "UNPAUSED"}
    tasks = {t["task_key"]: t for t in job["tasks"]}
    assert tasks["monitoring"]["notebook_task"]["notebook_path"].endswith("/07_monitoring")
    assert {d["task_key"] for d in tasks["monitoring"]["depends_on"]} == {"featurization", "prediction"}
    condition = tasks["check_retrain"]
    assert condition["depends_on"] == [{"task_key": "monitoring"}]
    assert condition["condition_task"] == {"op": "EQUAL_TO", "left": "{{tasks.monitoring.values.retrain}}",
                                           "right": "true"}
    assert tasks["retrain_training"]["depends_on"] == [{"task_key": "check_retrain", "outcome": "true"}]
    assert tasks["retrain_training"]["run_if"] == "ALL_SUCCESS"
    assert tasks["retrain_training"]["notebook_task"] == tasks["training"]["notebook_task"]
    assert tasks["retrain_evaluation"]["depends_on"] == [{"task_key": "retrain_training"}]
    # Both strict schemas take it (the SDK's silently drops what it does not know).
    assert Job.from_dict(job).as_dict() == job
    assert JobSettings.from_dict(job).as_dict() == job
    params = {p["name"]: p["default"] for p in job["parameters"]}
    assert params["drift_psi_threshold"] == "0.2" and params["drift_ks_pvalue"] == "0.05"
    resources = _resources(level1)
    (res_job,) = resources["jobs"].values()
    assert Job.from_dict(res_job).as_dict() == res_job
    assert res_job["schedule"] == job["schedule"]
    assert [t["task_key"] for t in res_job["tasks"]] == list(tasks)
    assert res_job["tasks"][-1]["notebook_task"]["notebook_path"] == "../05_evaluation.ipynb"


def test_level1_serving_endpoint_serves_the_registered_model(level1: dict[str, str]) -> None:
    (endpoint,) = _resources(level1)["model_serving_endpoints"].values()
    assert ModelServingEndpoint.from_dict(endpoint).as_dict() == endpoint
    (entity,) = endpoint["config"]["served_entities"]
    params = {p["name"]: p["default"] for p in json.loads(level1["job.json"])["parameters"]}
    assert entity["entity_name"] == "${var.catalog}.${var.schema}." + params["model_name"]
    assert entity["entity_version"] == "${var.serving_model_version}"
    variables = yaml.safe_load(level1["databricks.yml"])["variables"]
    assert variables["serving_model_version"]["default"] == "1"


def test_level1_monitoring_compares_frames_from_the_plan(level1: dict[str, str]) -> None:
    manifest = json.loads(level1["nbsplit-manifest.json"])
    monitoring = manifest["mlops"]["monitoring"]
    assert monitoring["training_features"] == {"name": "X", "from": "featurization", "after_cell": 19}
    assert monitoring["scored_batch"] == {"name": "X_new", "from": "prediction", "after_cell": 33}
    assert manifest["mlops"]["retraining"]["tasks"] == ["retrain_training", "retrain_evaluation"]
    stage = json.loads(level1["07_monitoring.ipynb"])
    code = ["".join(c["source"]) for c in stage["cells"] if c["cell_type"] == "code"]
    assert "X = _nbsplit_load('X__c19')" in code[-2] and "X_new = _nbsplit_load('X_new__c33')" in code[-2]
    assert code[-1].startswith("_nbsplit_retrain = _nbsplit_monitor(globals(), 'X', 'X_new',")
    # The live metric: the gate's rf_score of the champion, labels named like the target y.
    assert "target='y', live={'metric': 'rf_score'" in code[-1] and "y = _nbsplit_load('y__c19')" in code[-2]
    prediction = json.loads(level1["06_prediction.ipynb"])
    assert any("".join(c["source"]).startswith("_nbsplit_save('X_new__c33', X_new)") for c in prediction["cells"])
    assert "def _nbsplit_monitor" in level1["nbsplit_runtime.py"]


def test_level1_monitors_the_batch_a_registry_loaded_model_scores(tmp_path: Path) -> None:
    """databricks_housing registers its model itself and its prediction scores new districts with
    ``mlflow.pyfunc.load_model("models:/...@champion")``: that batch is the one monitored."""
    files = convert_notebook(SAMPLES / "databricks_housing.py", SAMPLES / "stages", dry_run=True).files
    monitoring = json.loads(files["nbsplit-manifest.json"])["mlops"]["monitoring"]
    assert monitoring["training_features"] == {"name": "X", "from": "featurization", "after_cell": 16}
    assert monitoring["scored_batch"] == {"name": "new_pdf", "from": "prediction", "after_cell": 27}
    assert "_nbsplit_save('new_pdf__c27', new_pdf)" in files["06_prediction.ipynb"]
    # new_pdf and X are pandas frames made in cells that use Spark: read as their pandas sample
    assert "new_pdf = _nbsplit_load_sample('new_pdf__c27')" in files["07_monitoring.ipynb"]
    # A model that comes from elsewhere (not training, not MLflow) is not followed.
    source = (SAMPLES / "databricks_housing.py").read_text(encoding="utf-8")
    load = 'champion = mlflow.pyfunc.load_model(f"models:/{model_name}@champion")'
    assert load in source
    other = tmp_path / "housing_elsewhere.py"
    other.write_text(source.replace(load, 'champion = load_somehow("models/housing.pkl")'), encoding="utf-8")
    files = convert_notebook(other, tmp_path / "stages", dry_run=True).files
    assert json.loads(files["nbsplit-manifest.json"])["mlops"]["monitoring"] == {
        "generated": False, "reason": "the prediction stage scores no frame with a model from training or the registry"}


def test_a_notebook_with_its_own_monitoring_gets_no_generated_one() -> None:
    files = convert_notebook(SAMPLES / "credito_ptbr.ipynb", SAMPLES / "stages", dry_run=True).files
    manifest = json.loads(files["nbsplit-manifest.json"])
    assert manifest["mlops"]["monitoring"] == {"generated": False,
                                               "reason": "the notebook has its own monitoring stage"}
    # Its monitoring cells do not set the task value: no condition on a value nobody sets.
    assert manifest["mlops"]["retraining"] is None
    assert "check_retrain" not in {t["task_key"] for t in json.loads(files["job.json"])["tasks"]}


def test_level2_github_workflow_runs_check_tests_validate_then_staging_then_approved_prod(
        level2: dict[str, str]) -> None:
    workflow = yaml.safe_load(level2[".github/workflows/churn_pandas.yml"])
    assert set(workflow["on"]) == {"push", "pull_request", "workflow_dispatch"}
    runs = [step.get("run", "") for step in workflow["jobs"]["check"]["steps"]]
    assert "nbsplit check ../churn_pandas.ipynb --stages ." in runs
    assert any(r.startswith("python -m pytest") for r in runs)
    assert "databricks bundle validate -t staging" in runs
    staging, prod = workflow["jobs"]["deploy_staging"], workflow["jobs"]["deploy_prod"]
    assert staging["needs"] == "check" and prod["needs"] == "deploy_staging"
    assert staging["environment"] == "staging" and prod["environment"] == "prod"  # prod: required reviewers
    assert [s["run"] for s in prod["steps"] if "run" in s] == ["databricks bundle deploy -t prod"]
    targets = yaml.safe_load(level2["databricks.yml"])["targets"]
    assert list(targets) == ["dev", "staging", "prod"]


def test_level2_azure_pipeline(tmp_path: Path) -> None:
    files = _files(2, ci="azure")
    assert not any(k.startswith(".github") for k in files)
    pipeline = yaml.safe_load(files["azure-pipelines.yml"])
    stages = {s["stage"]: s for s in pipeline["stages"]}
    assert list(stages) == ["check", "staging", "prod"]
    scripts = [s.get("script") for s in stages["check"]["jobs"][0]["steps"]]
    assert "nbsplit check ../churn_pandas.ipynb --stages ." in scripts
    assert "databricks bundle validate -t staging" in scripts
    assert stages["prod"]["dependsOn"] == "staging"
    deploy = stages["prod"]["jobs"][0]
    assert deploy["environment"] == "prod"  # the approval check lives on the environment
    assert "databricks bundle deploy -t prod" in [s.get("script") for s in deploy["strategy"]["runOnce"]["deploy"]["steps"]]


@pytest.mark.parametrize("kwargs,message", [
    ({"level": 3}, "--level"),
    ({"schedule": "0 6 * * *"}, "Quartz"),
    ({"schedule": "0 0 6 * * *"}, "'?'"),
    ({"timezone": "Mars/Olympus"}, "timezone"),
    ({"level": 0, "schedule": "0 0 6 * * ?"}, "--level 1"),
])
def test_bad_level_options_are_one_line_errors(kwargs: dict, message: str) -> None:
    with pytest.raises(NbsplitError, match=message):
        LevelOptions(**kwargs)


def test_cli_level_options(tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = CliRunner().invoke(cli, ["convert", str(CHURN), "--out", str(out), "--level", "2", "--ci", "azure",
                                      "--schedule", "0 0 5 ? * SUN", "--timezone", "UTC", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "azure-pipelines.yml" in result.output
    bad = CliRunner().invoke(cli, ["convert", str(CHURN), "--out", str(out), "--schedule", "every day"])
    assert bad.exit_code == 2 and "Quartz" in bad.output and not out.exists()
    no_ci = CliRunner().invoke(cli, ["convert", str(CHURN), "--out", str(out), "--ci", "azure"])
    assert no_ci.exit_code == 2 and "--level 2" in no_ci.output and not out.exists()


def _write_values(state: Path, task: str, values: dict) -> None:
    (state / "task_values").mkdir(parents=True, exist_ok=True)
    (state / "task_values" / f"{task}.json").write_text(json.dumps(values), encoding="utf-8")


@pytest.mark.parametrize("value,outcome", [(True, "true"), (False, "false")])
def test_condition_reads_the_task_value_and_gates_retraining(tmp_path: Path, value: bool, outcome: str) -> None:
    _write_values(tmp_path, "monitoring", {"retrain": value})
    condition = Task("check_retrain", "condition", "job.json", ("monitoring",),
                     condition={"op": "EQUAL_TO", "left": "{{tasks.monitoring.values.retrain}}", "right": "true"})
    result = _run_condition(condition, tmp_path)
    assert result.status == "succeeded" and result.outcome == outcome

    tasks = [Task("monitoring", "monitoring", "07_monitoring.ipynb", ()), condition,
             Task("retrain_training", "training", "04_training.ipynb", ("check_retrain",),
                  outcomes={"check_retrain": "true"}),
             Task("retrain_evaluation", "evaluation", "05_evaluation.ipynb", ("retrain_training",))]
    ran: list[str] = []

    def run_one(task: Task) -> TaskResult:
        ran.append(task.key)
        if task.condition is not None:
            return _run_condition(task, tmp_path)
        return TaskResult(task.key, task.file, "succeeded")

    class Quiet:
        def start(self, task: Task) -> None: ...
        def finish(self, result: TaskResult) -> None: ...

    results = _schedule(tasks, {t.key for t in tasks}, run_one, 1, Quiet())  # type: ignore[arg-type]
    if value:
        assert ran == ["monitoring", "check_retrain", "retrain_training", "retrain_evaluation"]
    else:
        assert ran == ["monitoring", "check_retrain"]
        assert results["retrain_training"].status == results["retrain_evaluation"].status == "excluded"


def test_load_tasks_reads_condition_tasks_and_outcomes(level1: dict[str, str], tmp_path: Path) -> None:
    manifest = json.loads(level1["nbsplit-manifest.json"])
    for stage in manifest["stages"]:
        (tmp_path / stage["file"]).write_text(level1[stage["file"]], encoding="utf-8")
    tasks = {t.key: t for t in load_tasks(tmp_path, json.loads(level1["job.json"]), manifest)}
    assert tasks["check_retrain"].condition is not None
    assert tasks["retrain_training"].outcomes == {"check_retrain": "true"}
    assert tasks["retrain_training"].file == "04_training.ipynb"
