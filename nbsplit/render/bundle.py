"""The Asset Bundle for a converted split: ``databricks.yml`` and ``resources/<job>.job.yml``.

The job resource is the same job as ``job.json`` (built by :func:`nbsplit.render.job.job_settings`)
with the differences that make it a bundle: notebook paths are relative to the resource file and
keep their extension (``../01_data-prep.ipynb``; the CLI strips it on upload), values a team
changes per target are ``${var.*}`` references declared in ``databricks.yml``, and the handoff
location is a Unity Catalog volume the bundle declares (``resources.volumes``), referenced so the
volume is deployed before the job. Every other parameter (experiment, model, the notebook's own
widgets) has the same default as in ``job.json`` and the stage notebooks.

``sync.paths`` adds the folders of the notebook's input files (``../data``): the CLI then syncs
from their common parent with the same relative layout, so ``data_dir`` holds in the workspace.

Both files come from Jinja templates (``bundle/databricks.yml.j2``, ``bundle/job.yml.j2``) that a
``--templates DIR`` can override. Every key and scalar goes through :mod:`nbsplit.render.escape`
(double-quoted, everything unprintable escaped), so no value can break the YAML or add a key.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

from nbsplit import __version__
from nbsplit.model import SplitPlan, Stage
from nbsplit.render.escape import yaml_key, yaml_scalar
from nbsplit.render.job import JobOptions, job_name, job_settings, new_cluster, node_type
from nbsplit.levels import serving_endpoint
from nbsplit.render.parameters import handoff_volume
from nbsplit.yamltext import emit_yaml

def to_yaml(value: Any, indent: int = 0) -> str:
    """Block-style YAML (:mod:`nbsplit.yamltext`), every scalar double-quoted; ends with a newline."""
    return "\n".join(emit_yaml(value, indent, scalar=yaml_scalar, key=yaml_key)) + "\n"


def bundle_variables(options: JobOptions) -> dict[str, dict[str, Any]]:
    """The ``variables:`` of databricks.yml (name -> description, default)."""
    variables: dict[str, dict[str, Any]] = {
        "catalog": {"description": "Unity Catalog catalog for the handoff volume and the model",
                    "default": options.catalog},
        "schema": {"description": "Unity Catalog schema for the handoff volume and the model",
                   "default": options.schema},
    }
    if _uses_default_cluster(options):
        variables["spark_version"] = {"description": "Databricks Runtime ML of the job cluster",
                                      "default": options.spark_version}
        variables["node_type_id"] = {"description": f"Node type of the job cluster ({options.cloud}; "
                                                    "set it per target for another cloud)",
                                     "default": node_type(options)}
        variables["num_workers"] = {"description": "Workers of the job cluster (0: single node)",
                                    "default": options.num_workers}
    return variables


def _uses_default_cluster(options: JobOptions) -> bool:
    return not (options.serverless or options.existing_cluster_id or options.cluster_json)


def bundle_volume(name: str) -> dict[str, Any]:
    """The handoff volume resource (its key is its name)."""
    return {"catalog_name": "${var.catalog}", "schema_name": "${var.schema}", "name": handoff_volume(name),
            "comment": "nbsplit handoffs: values one stage of the job saves for the next"}


def bundle_job(plan: SplitPlan, notebook_files: Mapping[Stage, str], options: JobOptions,
               deployed: Mapping[str, str]) -> dict[str, Any]:
    """The job resource: job.json's job with relative notebook paths and ``${var.*}`` values."""
    volume = f"resources.volumes.{handoff_volume(job_name(plan, options))}"
    parameters = dict(deployed)
    parameters["handoff_dir"] = f"/Volumes/${{{volume}.catalog_name}}/${{{volume}.schema_name}}/${{{volume}.name}}"
    parameters["catalog"], parameters["schema"] = "${var.catalog}", "${var.schema}"
    cluster = None
    if _uses_default_cluster(options):
        cluster = new_cluster(options, spark_version="${var.spark_version}",
                              node_type_id="${var.node_type_id}", num_workers="${var.num_workers}")
    job = job_settings(plan, notebook_files, options,
                       notebook_path=lambda stage, file_name: f"../{file_name}",
                       parameters=parameters, cluster=cluster)
    for task in job["tasks"]:
        # A bundle translates local paths itself; "source" would only be noise there.
        if "notebook_task" in task:  # the retraining condition is no notebook
            task["notebook_task"].pop("source", None)
    return job


def declares_serving(plan: SplitPlan, options: JobOptions) -> bool:
    """The bundle declares a Model Serving endpoint: MLOps level 1+, a training stage, and a
    registered model that will exist (``options.serving``, set from the analysis)."""
    return options.serving and options.levels.scheduled and any(
        sp.stage is Stage.TRAINING and sp.cells for sp in plan.stages)


def bundle_files(plan: SplitPlan, notebook_files: Mapping[Stage, str], options: JobOptions,
                 deployed: Mapping[str, str], *, sync_inputs: list[str] | tuple[str, ...] = (),
                 templates: Path | None = None) -> dict[str, str]:
    """``{"databricks.yml": ..., "resources/<job>.job.yml": ...}``; ``deployed`` are job.json's
    parameters, ``sync_inputs`` the input folders relative to the output folder."""
    from nbsplit.render.templating import render

    name = job_name(plan, options)
    job = bundle_job(plan, notebook_files, options, deployed)
    resources: dict[str, Any] = {"volumes": {handoff_volume(name): bundle_volume(name)}, "jobs": {name: job}}
    variables = bundle_variables(options)
    if declares_serving(plan, options) and "model_name" in deployed:
        # Online serving of the model the pipeline registers (MLOps level 1 and up).
        key, endpoint = serving_endpoint(name, deployed["model_name"])
        resources["model_serving_endpoints"] = {key: endpoint}
        variables["serving_model_version"] = {
            "description": "Version of the registered model the serving endpoint serves "
                           "(the champion's, once the pipeline has run)", "default": "1"}
    context = {
        "version": __version__,
        "source_name": plan.notebook.path.name,
        "bundle_name": name,
        "job_key": name,
        "job": job,
        "job_yaml": to_yaml(job),
        "resources_yaml": to_yaml(resources),
        "sync_paths": [".", *sync_inputs],
        "variables": variables,
        "staging": options.levels.ci_cd,
        "serving": "model_serving_endpoints" in resources,
        "yaml_scalar": yaml_scalar,
    }
    return {
        "databricks.yml": render("bundle/databricks.yml.j2", context, user_dir=templates),
        f"resources/{name}.job.yml": render("bundle/job.yml.j2", context, user_dir=templates),
    }
