"""The Databricks files of a converted sample deploy as they are (checked offline).

``databricks_housing`` declares widgets (``model_name``, ``experiment_name``, ``min_r2``): the job
passes each with the notebook's own default, one experiment name is used by job.json, the bundle,
the runtime module and the notebooks, the handoff volume is a bundle resource the job's
``handoff_dir`` refers to, the data the notebook reads is synced, and the job and volume pass the
strict ``databricks-bundles`` schema (unknown fields, bad enums and wrong types are errors there).

The ``databricks`` CLI (``databricks bundle validate``) is a Go binary, not on PyPI or npm here
(PyPI ``databricks-cli`` 0.18.0 is the legacy Python CLI without ``bundle``), so it is not run.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from convert_cases.support import SAMPLES
from nbsplit.convert import convert_notebook

bundles_jobs = pytest.importorskip("databricks.bundles.jobs")
bundles_volumes = pytest.importorskip("databricks.bundles.volumes")

EXPERIMENT = re.compile(r"(?<![\w.])/Shared/[\w\-./]+")


@pytest.fixture(scope="module")
def housing(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    source = SAMPLES / "databricks_housing.py"
    return dict(convert_notebook(source, SAMPLES / "housing_stages", fmt="databricks", dry_run=True).files)


def _resource(files: dict[str, str]) -> dict:
    (name,) = [k for k in files if k.startswith("resources/")]
    return yaml.safe_load(files[name])["resources"]


def test_job_parameters_carry_the_notebooks_widget_defaults(housing: dict[str, str]) -> None:
    job = json.loads(housing["job.json"])
    params = {p["name"]: p["default"] for p in job["parameters"]}
    assert params["model_name"] == "housing_value_gbr"
    assert params["experiment_name"] == "/Shared/housing-value"
    assert params["min_r2"] == "0.6"  # a widget nbsplit does not use still reaches the notebooks
    (bundle_job,) = _resource(housing)["jobs"].values()
    bundle_params = {p["name"]: p["default"] for p in bundle_job["parameters"]}
    assert {k: bundle_params[k] for k in ("model_name", "experiment_name", "min_r2")} == {
        "model_name": "housing_value_gbr", "experiment_name": "/Shared/housing-value", "min_r2": "0.6"}
    for task in job["tasks"]:  # nothing overrides the job parameters per task
        assert "base_parameters" not in task.get("notebook_task", {})


def test_one_experiment_name_everywhere(housing: dict[str, str]) -> None:
    found = {name: set(EXPERIMENT.findall(text)) for name, text in housing.items()}
    names = set().union(*found.values())
    assert names == {"/Shared/housing-value"}, found
    for name in ("job.json", "nbsplit_runtime.py", "04_training.py"):
        assert found[name] == {"/Shared/housing-value"}, name
    assert any("/Shared/housing-value" in found[k] for k in housing if k.startswith("resources/"))


def test_the_bundle_declares_the_handoff_volume_and_syncs_the_data(housing: dict[str, str]) -> None:
    resources = _resource(housing)
    (key, volume), = resources["volumes"].items()
    assert volume["name"] == key == "databricks_housing_handoffs"
    assert volume["catalog_name"] == "${var.catalog}" and volume["schema_name"] == "${var.schema}"
    (job,) = resources["jobs"].values()
    handoff = next(p["default"] for p in job["parameters"] if p["name"] == "handoff_dir")
    assert f"${{resources.volumes.{key}.name}}" in handoff  # deployed after the volume
    bundle = yaml.safe_load(housing["databricks.yml"])
    data_dir = next(p["default"] for p in job["parameters"] if p["name"] == "data_dir")
    assert bundle["sync"]["paths"] == [".", f"{data_dir}/data"]
    assert {"catalog", "schema", "node_type_id"} <= set(bundle["variables"])


def test_job_and_volume_pass_the_strict_bundle_schema(housing: dict[str, str]) -> None:
    resources = _resource(housing)
    for job in resources["jobs"].values():
        assert bundles_jobs.Job.from_dict(job).as_dict() == job
    for volume in resources["volumes"].values():
        assert bundles_volumes.Volume.from_dict(volume).as_dict() == volume
    job_json = json.loads(housing["job.json"])
    assert bundles_jobs.Job.from_dict(job_json).as_dict() == job_json


@pytest.mark.parametrize("cloud,node", [("aws", "i3.xlarge"), ("azure", "Standard_DS3_v2"), ("gcp", "n1-standard-4")])
def test_node_type_follows_the_cloud(cloud: str, node: str) -> None:
    from nbsplit.render.job import JobOptions

    files = convert_notebook(SAMPLES / "churn_pandas.ipynb", SAMPLES / "stages", dry_run=True,
                             job_options=JobOptions(cloud=cloud)).files
    job = json.loads(files["job.json"])
    assert job["job_clusters"][0]["new_cluster"]["node_type_id"] == node
    assert yaml.safe_load(files["databricks.yml"])["variables"]["node_type_id"]["default"] == node
