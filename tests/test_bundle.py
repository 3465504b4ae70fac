"""The Asset Bundle: valid YAML, the same tasks and DAG as job.json, relative notebook paths with
their extension, ``${var.*}`` values declared in databricks.yml, user-overridable templates."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml
from databricks.bundles.jobs import Job

from nbsplit.errors import NbsplitError
from nbsplit.model import Stage
from nbsplit.render.bundle import to_yaml
from nbsplit.render.job import JobOptions
from nbsplit.render.outputs import job_files
from tests.test_job import DAG, check_dag, files_for, make_plan


def rendered(options: JobOptions = JobOptions(), ext: str = ".ipynb", templates: Path | None = None):
    plan = make_plan(DAG)
    files = job_files(plan, files_for(plan, ext), options, templates=templates)
    job = json.loads(files["job.json"])
    bundle = yaml.safe_load(files["databricks.yml"])
    resource_file = f"resources/{job['name']}.job.yml"
    assert set(files) == {"job.json", "databricks.yml", resource_file}
    resource = yaml.safe_load(files[resource_file])
    return files, job, bundle, resource


def test_bundle_layout_targets_and_include() -> None:
    _, job, bundle, resource = rendered()
    assert bundle["bundle"]["name"] == job["name"]
    assert bundle["include"] == ["resources/*.yml"]
    assert bundle["targets"]["dev"] == {"mode": "development", "default": True}
    assert bundle["targets"]["prod"]["mode"] == "production"
    assert "root_path" in bundle["targets"]["prod"]["workspace"]
    assert ".nbsplit" in bundle["sync"]["exclude"]
    assert list(resource["resources"]["jobs"]) == [job["name"]]


@pytest.mark.parametrize("options", [
    pytest.param(JobOptions(), id="job-cluster"),
    pytest.param(JobOptions(num_workers=0), id="single-node"),
    pytest.param(JobOptions(existing_cluster_id="0123-456789-abc"), id="existing"),
    pytest.param(JobOptions(serverless=True), id="serverless"),
])
def test_resource_job_matches_job_json(options: JobOptions) -> None:
    _, job, bundle, resource = rendered(options)
    res_job = resource["resources"]["jobs"][job["name"]]
    assert Job.from_dict(res_job).as_dict() == res_job  # strict: no unknown fields
    assert check_dag(res_job) == check_dag(job)
    for res_task, task in zip(res_job["tasks"], job["tasks"], strict=True):
        assert res_task["task_key"] == task["task_key"]
        local = res_task["notebook_task"]["notebook_path"]
        assert local.startswith("../") and local.endswith(".ipynb")
        assert Path(local).stem == Path(task["notebook_task"]["notebook_path"]).name
        same = {k: v for k, v in task.items() if k != "notebook_task"}
        assert {k: v for k, v in res_task.items() if k != "notebook_task"} == same
    # Every ${var.x} used in the job is declared in databricks.yml.
    used = set(re.findall(r"\$\{var\.([A-Za-z0-9_]+)\}", json.dumps(res_job)))
    assert used and used <= set(bundle["variables"])
    for name in used:
        assert bundle["variables"][name]["default"] not in (None, "")
    assert [p["name"] for p in res_job["parameters"]] == [p["name"] for p in job["parameters"]]


def test_variable_defaults_reproduce_job_json_values() -> None:
    _, job, bundle, resource = rendered(JobOptions(catalog="ml", schema="churn", num_workers=2))
    res_job = resource["resources"]["jobs"][job["name"]]
    values = {name: str(v["default"]) for name, v in bundle["variables"].items()}

    def resolve(text: str) -> str:
        return re.sub(r"\$\{var\.(\w+)\}", lambda m: values[m.group(1)], text)

    job_params = {p["name"]: p["default"] for p in job["parameters"]}
    volume = resource["resources"]["volumes"][f"{job['name']}_handoffs"]

    def resolve_volume(text: str) -> str:
        return re.sub(r"\$\{resources\.volumes\.\w+\.(\w+)\}", lambda m: resolve(volume[m.group(1)]), text)

    # Every parameter, the experiment included, has job.json's value once the references resolve.
    for p in res_job["parameters"]:
        assert resolve_volume(resolve(p["default"])) == job_params[p["name"]]
    cluster = res_job["job_clusters"][0]["new_cluster"]
    assert resolve(cluster["spark_version"]) == job["job_clusters"][0]["new_cluster"]["spark_version"]
    assert int(resolve(cluster["num_workers"])) == 2


def test_databricks_source_notebooks_keep_py_extension() -> None:
    _, job, _, resource = rendered(ext=".py")
    paths = [t["notebook_task"]["notebook_path"] for t in resource["resources"]["jobs"][job["name"]]["tasks"]]
    assert paths[0] == "../01_data-prep.py"


def test_cluster_json_is_copied_into_the_bundle(tmp_path: Path) -> None:
    spec = {"spark_version": "17.3.x-gpu-ml-scala2.13", "node_type_id": "g5.xlarge", "num_workers": 1,
            "spark_env_vars": {"A": "yes", "B": "multi\nline: 'quoted' \"x\" #not-a-comment"}}
    path = tmp_path / "c.json"
    path.write_text(json.dumps(spec))
    _, job, bundle, resource = rendered(JobOptions(cluster_json=path))
    assert resource["resources"]["jobs"][job["name"]]["job_clusters"][0]["new_cluster"] == spec
    assert "spark_version" not in bundle["variables"]


@pytest.mark.parametrize("value", [
    {"a": "yes", "no": 1, "on": [True, None, 1.5], "x: y": {}, "l": [], "n": [[1, 2], {"k": "v"}]},
    [{"a": 1, "b": {"c": [1, {"d": "#"}]}}, "- dash", "", "'", "\\", "日本語", "a\tb\u0007"],
])
def test_yaml_emitter_round_trips(value) -> None:
    assert yaml.safe_load(to_yaml(value)) == value


def test_user_templates_override_the_builtin_ones(tmp_path: Path) -> None:
    (tmp_path / "bundle").mkdir()
    (tmp_path / "bundle" / "job.yml.j2").write_text(
        "resources:\n  jobs:\n    {{ job_key }}:\n{{ job_yaml | trim | indent(6, first=True) }}\n"
        "      schedule:\n        quartz_cron_expression: \"0 0 6 * * ?\"\n        timezone_id: UTC\n")
    _, job, bundle, resource = rendered(templates=tmp_path)
    res_job = resource["resources"]["jobs"][job["name"]]
    assert res_job["schedule"]["timezone_id"] == "UTC"
    assert Job.from_dict(res_job).as_dict() == res_job
    assert bundle["targets"]["dev"]["default"] is True  # databricks.yml still the built-in one


def test_a_broken_user_template_is_one_line_naming_it(tmp_path: Path) -> None:
    (tmp_path / "bundle").mkdir()
    (tmp_path / "bundle" / "databricks.yml.j2").write_text("bundle:\n  name: {{ no_such_name }}\n")
    with pytest.raises(NbsplitError, match="databricks.yml.j2") as info:
        rendered(templates=tmp_path)
    assert "\n" not in str(info.value)


def test_bundle_for_stage_subset() -> None:
    plan = make_plan({Stage.DATA_PREP: (), Stage.TRAINING: (Stage.DATA_PREP,)}, "/x/flights.ipynb")
    files = job_files(plan, files_for(plan))
    resource = yaml.safe_load(files["resources/flights.job.yml"])
    tasks = resource["resources"]["jobs"]["flights"]["tasks"]
    assert [t["task_key"] for t in tasks] == ["data_prep", "training"]
    assert tasks[1]["depends_on"] == [{"task_key": "data_prep"}]
