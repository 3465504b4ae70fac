"""job.json: a valid Jobs API settings body whose task DAG is the plan's stage DAG.

Validation is offline: ``databricks.bundles.jobs.Job.from_dict`` is strict (unknown fields, bad
enums, wrong types raise); ``databricks.sdk`` ``JobSettings`` must round-trip the body unchanged
(it silently drops what it does not know, so a lossy round trip means a misspelled field). No
``WorkspaceClient`` is ever built (it blocks for minutes without network).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from databricks.bundles.jobs import Job
from databricks.sdk.service.jobs import JobSettings

from nbsplit import __version__
from nbsplit.errors import NbsplitError
from nbsplit.model import Notebook, SplitPlan, Stage, StagePlan
from nbsplit.render.job import JobOptions, job_settings, sanitize_name, task_key
from nbsplit.render.outputs import job_files


def make_plan(deps: dict[Stage, tuple[Stage, ...]], source: str = "/data/Churn Model (v2).ipynb") -> SplitPlan:
    nb = Notebook(Path(source), "ipynb", ())
    stages = tuple(StagePlan(stage, (), depends_on=d) for stage, d in deps.items())
    return SplitPlan(nb, (), (), stages)


DAG = {
    Stage.DATA_PREP: (),
    Stage.EDA: (Stage.DATA_PREP,),
    Stage.FEATURIZATION: (Stage.DATA_PREP,),
    Stage.TRAINING: (Stage.FEATURIZATION,),
    Stage.EVALUATION: (Stage.TRAINING, Stage.FEATURIZATION),
    Stage.PREDICTION: (Stage.TRAINING,),
}


def files_for(plan: SplitPlan, ext: str = ".ipynb") -> dict[Stage, str]:
    return {sp.stage: f"{sp.stage.order:02d}_{sp.stage.value}{ext}" for sp in plan.stages}


def render(plan: SplitPlan, options: JobOptions = JobOptions()) -> dict:
    return json.loads(job_files(plan, files_for(plan), options)["job.json"])


def assert_valid(job: dict) -> None:
    assert Job.from_dict(job).as_dict() == job
    assert JobSettings.from_dict(job).as_dict() == job


def check_dag(job: dict) -> dict[str, set[str]]:
    """Every dependency names an earlier-defined task and the graph is acyclic."""
    keys = [t["task_key"] for t in job["tasks"]]
    assert len(keys) == len(set(keys)), "duplicate task keys"
    graph = {t["task_key"]: {d["task_key"] for d in t.get("depends_on", [])} for t in job["tasks"]}
    for key, deps in graph.items():
        assert deps <= set(keys), f"{key} depends on a missing task: {deps - set(keys)}"
    done: set[str] = set()
    while len(done) < len(graph):
        ready = {k for k, d in graph.items() if k not in done and d <= done}
        assert ready, f"cycle among {set(graph) - done}"
        done |= ready
    return graph


def test_default_job_is_valid_and_follows_the_plan_dag() -> None:
    plan = make_plan(DAG)
    job = render(plan)
    assert_valid(job)
    graph = check_dag(job)
    expected = {task_key(s): {task_key(d) for d in deps} for s, deps in DAG.items()}
    assert graph == expected
    assert [t["task_key"] for t in job["tasks"]] == [
        "data_prep", "eda", "featurization", "training", "evaluation", "prediction"]
    assert job["name"] == "churn_model_v2"
    assert job["queue"] == {"enabled": True}
    assert job["max_concurrent_runs"] == 1
    assert job["tags"] == {"nbsplit": __version__}
    params = {p["name"]: p["default"] for p in job["parameters"]}
    assert params == {
        "handoff_dir": "/Volumes/main/default/churn_model_v2_handoffs",
        "data_dir": ".",
        "catalog": "main",
        "schema": "default",
        "experiment_name": "/Shared/churn_model_v2",
        "model_name": "churn_model_v2_model",  # the runtime prefixes catalog.schema on Databricks
        "pipeline_run": "{{job.run_id}}",  # the MLflow parent run every stage's run nests in
    }
    cluster = job["job_clusters"][0]
    assert cluster["new_cluster"]["spark_version"] == "17.3.x-cpu-ml-scala2.13"
    for task in job["tasks"]:
        assert task["job_cluster_key"] == cluster["job_cluster_key"]
        assert task["timeout_seconds"] == 3600 and task["max_retries"] == 1
        assert task["min_retry_interval_millis"] > 0
        path = task["notebook_task"]["notebook_path"]
        assert path.startswith("/Workspace/Shared/nbsplit/churn_model_v2/")
        assert not path.endswith(".ipynb"), "workspace notebooks have no extension"


def test_notebook_paths_map_to_the_stage_files_and_workspace_dir_is_an_option() -> None:
    plan = make_plan({Stage.DATA_PREP: (), Stage.TRAINING: (Stage.DATA_PREP,)})
    files = {Stage.DATA_PREP: "01_data-prep.py", Stage.TRAINING: "04_training.py"}
    job = json.loads(job_files(plan, files, JobOptions(workspace_dir="/Workspace/Users/a@b.c/x/"))["job.json"])
    assert [t["notebook_task"]["notebook_path"] for t in job["tasks"]] == [
        "/Workspace/Users/a@b.c/x/01_data-prep", "/Workspace/Users/a@b.c/x/04_training"]
    with pytest.raises(NbsplitError, match="absolute"):
        job_files(plan, files, JobOptions(workspace_dir="relative/dir"))


def test_stages_without_a_notebook_get_no_task_and_setup_is_never_a_task() -> None:
    deps = {Stage.SETUP: (), Stage.DATA_PREP: (), Stage.EDA: (Stage.DATA_PREP,), Stage.SKIP: ()}
    plan = make_plan(deps)
    job = json.loads(job_files(plan, {Stage.DATA_PREP: "01_data-prep.ipynb", Stage.EDA: "02_eda.ipynb"})["job.json"])
    assert [t["task_key"] for t in job["tasks"]] == ["data_prep", "eda"]


def test_a_dependency_on_a_stage_without_notebook_is_an_error() -> None:
    plan = make_plan({Stage.DATA_PREP: (), Stage.TRAINING: (Stage.DATA_PREP,)})
    with pytest.raises(NbsplitError, match="depends on data-prep"):
        job_files(plan, {Stage.TRAINING: "04_training.ipynb"})


@pytest.mark.parametrize("workers", [0, 3])
def test_cluster_sizes(workers: int) -> None:
    job = render(make_plan(DAG), JobOptions(num_workers=workers, node_type_id="Standard_DS3_v2",
                                            spark_version="18.0.x-cpu-ml-scala2.13"))
    assert_valid(job)
    cluster = job["job_clusters"][0]["new_cluster"]
    assert cluster["num_workers"] == workers
    assert cluster["node_type_id"] == "Standard_DS3_v2"
    assert cluster["spark_version"] == "18.0.x-cpu-ml-scala2.13"
    assert ("spark_conf" in cluster) == (workers == 0)


def test_cluster_json_spec_is_used_as_is(tmp_path: Path) -> None:
    spec = {"spark_version": "16.4.x-cpu-ml-scala2.12", "node_type_id": "m5d.large",
            "autoscale": {"min_workers": 1, "max_workers": 4},
            "data_security_mode": "SINGLE_USER", "custom_tags": {"team": "ds"}}
    path = tmp_path / "cluster.json"
    path.write_text(json.dumps({"new_cluster": spec}))
    job = render(make_plan(DAG), JobOptions(cluster_json=path))
    assert_valid(job)
    check_dag(job)
    assert job["job_clusters"] == [{"job_cluster_key": "nbsplit_cluster", "new_cluster": spec}]
    path.write_text(json.dumps(spec))  # the bare spec works too
    assert render(make_plan(DAG), JobOptions(cluster_json=path))["job_clusters"][0]["new_cluster"] == spec


@pytest.mark.parametrize("text, problem", [
    pytest.param('{"spark_version": "x",', "invalid JSON", id="truncated"),
    pytest.param("[1, 2]", "JSON object", id="list"),
    pytest.param("{}", "JSON object", id="empty"),
])
def test_bad_cluster_json_names_the_file(tmp_path: Path, text: str, problem: str) -> None:
    path = tmp_path / "my-cluster.json"
    path.write_text(text)
    with pytest.raises(NbsplitError, match=problem) as info:
        render(make_plan(DAG), JobOptions(cluster_json=path))
    assert "my-cluster.json" in str(info.value)
    assert "\n" not in str(info.value)


def test_missing_cluster_json_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(NbsplitError, match="nope.json"):
        render(make_plan(DAG), JobOptions(cluster_json=tmp_path / "nope.json"))


def test_existing_cluster() -> None:
    job = render(make_plan(DAG), JobOptions(existing_cluster_id="0123-456789-abcdefgh"))
    assert_valid(job)
    check_dag(job)
    assert "job_clusters" not in job
    assert {t["existing_cluster_id"] for t in job["tasks"]} == {"0123-456789-abcdefgh"}
    assert not any("job_cluster_key" in t for t in job["tasks"])


def test_serverless() -> None:
    job = render(make_plan(DAG), JobOptions(serverless=True))
    assert_valid(job)
    check_dag(job)
    assert "job_clusters" not in job
    assert job["environments"] == [{"environment_key": "default", "spec": {"environment_version": "5"}}]
    for task in job["tasks"]:
        assert task["environment_key"] == "default"
        assert not {"job_cluster_key", "existing_cluster_id", "new_cluster"} & set(task)


def test_two_compute_options_are_refused(tmp_path: Path) -> None:
    with pytest.raises(NbsplitError, match="existing_cluster_id and serverless"):
        render(make_plan(DAG), JobOptions(existing_cluster_id="x", serverless=True))


def test_catalog_schema_and_name_flow_into_parameters() -> None:
    job = render(make_plan(DAG), JobOptions(name="Credit Risk!", catalog="ml", schema="risk"))
    params = {p["name"]: p["default"] for p in job["parameters"]}
    assert job["name"] == "credit_risk"
    assert params["handoff_dir"] == "/Volumes/ml/risk/credit_risk_handoffs"
    assert params["model_name"] == "credit_risk_model"
    assert params["experiment_name"] == "/Shared/credit_risk"


@pytest.mark.parametrize("raw, name", [
    ("churn_pandas", "churn_pandas"),
    ("Churn Model (v2)", "churn_model_v2"),
    ("2024-sales", "nb_2024_sales"),
    ("???", "nbsplit_job"),
    ("Análise de Crédito", "analise_de_credito"),
])
def test_sanitize_name(raw: str, name: str) -> None:
    assert sanitize_name(raw) == name


def test_output_is_deterministic_and_ends_with_newline() -> None:
    plan = make_plan(DAG)
    first = job_files(plan, files_for(plan))
    second = job_files(make_plan(DAG), files_for(plan))
    assert first == second
    assert all(text.endswith("\n") and not text.endswith("\n\n") for text in first.values())


def test_a_typo_would_be_caught_by_the_validators() -> None:
    # Guards the validation itself: the strict model rejects what a misspelled key produces.
    job = job_settings(make_plan(DAG), files_for(make_plan(DAG)), JobOptions())
    job["tasks"][0]["notebook_task"]["notebok_path"] = job["tasks"][0]["notebook_task"].pop("notebook_path")
    with pytest.raises(ValueError):
        Job.from_dict(job)
