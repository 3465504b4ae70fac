"""The Databricks job for a converted split: ``job.json`` (Jobs API 2.1/2.2 settings body); the
Asset Bundle (:mod:`nbsplit.render.bundle`) describes the same job from :func:`job_settings`.

One notebook task per stage notebook; ``depends_on`` is the plan's stage DAG, so the job runs
exactly the order ``nbsplit run`` runs locally (``nbsplit.run`` reads this same ``job.json``).
Job-level ``parameters`` reach every notebook as widget values: the pipeline's own
(:mod:`nbsplit.render.parameters`, with the same defaults the notebooks carry) and the source
notebook's widgets with their own defaults.

Compute is one of: a shared job cluster (default, ML runtime), a user cluster spec
(``cluster_json``), an existing cluster, or serverless (tasks carry ``environment_key``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, Mapping

from nbsplit import __version__
from nbsplit.errors import NbsplitError
from nbsplit.levels import LevelOptions, add_retraining, add_schedule, sets_retrain
from nbsplit.model import SplitPlan, Stage
from nbsplit.render.escape import json_text
from nbsplit.render.parameters import deployed_parameters, local_parameters, sanitize_name
from nbsplit.widgets import notebook_widgets

DEFAULT_SPARK_VERSION = "17.3.x-cpu-ml-scala2.13"  # DBR 17.3 LTS ML (REFERENCE.md section 1)
# Node types exist per cloud: a general-purpose 4-core, 14-16 GB node on each.
NODE_TYPES = {"aws": "i3.xlarge", "azure": "Standard_DS3_v2", "gcp": "n1-standard-4"}
CLOUDS = tuple(NODE_TYPES)
DEFAULT_CLOUD = "aws"
DEFAULT_NODE_TYPE = NODE_TYPES[DEFAULT_CLOUD]
DEFAULT_CATALOG = "main"
DEFAULT_SCHEMA = "default"
JOB_CLUSTER_KEY = "nbsplit_cluster"
ENVIRONMENT_KEY = "default"
ENVIRONMENT_VERSION = "5"


@dataclass(frozen=True)
class JobOptions:
    """How the job is rendered. Every field has a default that gives a deployable job.

    ``workspace_dir`` is the absolute workspace folder job.json's notebook paths point at
    (default ``/Workspace/Shared/nbsplit/<job>``); the bundle uses relative paths instead.
    ``num_workers=0`` gives a single-node cluster. At most one of ``cluster_json``,
    ``existing_cluster_id`` and ``serverless`` may be set. ``node_type_id`` defaults to the
    ``cloud``'s general-purpose node.
    """

    name: str | None = None
    spark_version: str = DEFAULT_SPARK_VERSION
    node_type_id: str | None = None
    cloud: str = DEFAULT_CLOUD
    num_workers: int = 1
    cluster_json: Path | None = None
    existing_cluster_id: str | None = None
    serverless: bool = False
    workspace_dir: str | None = None
    catalog: str = DEFAULT_CATALOG
    schema: str = DEFAULT_SCHEMA
    max_concurrent_runs: int = 1
    timeout_seconds: int = 3600
    max_retries: int = 1
    min_retry_interval_millis: int = 60_000
    # The MLOps level (schedule, monitoring, retraining, serving, CI/CD): nbsplit.levels.
    levels: LevelOptions = LevelOptions()
    # A serving endpoint needs a model nbsplit registers (MLflow on, a main model, the notebook
    # registering none itself): render_outputs sets this from the analysis.
    serving: bool = True


def job_name(plan: SplitPlan, options: JobOptions) -> str:
    return sanitize_name(options.name if options.name else plan.notebook.path.stem)


def task_key(stage: Stage) -> str:
    """``data-prep`` -> ``data_prep`` (task keys appear in ``{{tasks.<key>...}}`` references,
    which need letters, digits and ``_`` only)."""
    return stage.value.replace("-", "_")


def node_type(options: JobOptions) -> str:
    return options.node_type_id or NODE_TYPES[options.cloud]


def job_parameters(plan: SplitPlan, options: JobOptions, local: Mapping[str, str] | None = None) -> dict[str, str]:
    """The job's parameters with their deployed defaults (``local``: the notebooks' own values)."""
    name = job_name(plan, options)
    if local is None:
        local = local_parameters(plan.notebook, plan.notebook.path.parent, name=name,
                                 catalog=options.catalog, schema=options.schema)
    return deployed_parameters(local, notebook_widgets(plan.notebook), name=name,
                               catalog=options.catalog, schema=options.schema)


def _check_compute(options: JobOptions) -> None:
    chosen = [flag for flag, on in (("cluster_json", options.cluster_json is not None),
                                    ("existing_cluster_id", bool(options.existing_cluster_id)),
                                    ("serverless", options.serverless)) if on]
    if len(chosen) > 1:
        raise NbsplitError(f"choose one compute option, not {' and '.join(chosen)}")
    if options.cloud not in NODE_TYPES:
        raise NbsplitError(f"unknown cloud {options.cloud!r} (choose one of {', '.join(CLOUDS)})")
    if options.num_workers < 0:
        raise NbsplitError(f"num_workers must be 0 or more, not {options.num_workers}")


def load_cluster_json(path: Path) -> dict[str, Any]:
    """A user's ``new_cluster`` spec (or a ``{"new_cluster": {...}}`` wrapper) from a file."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise NbsplitError("cluster spec file not found", path) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise NbsplitError(f"cannot read cluster spec: {exc}", path) from None
    except json.JSONDecodeError as exc:
        raise NbsplitError(f"invalid JSON in cluster spec: {exc.msg} at line {exc.lineno} "
                           f"column {exc.colno}", path) from None
    if isinstance(data, dict) and isinstance(data.get("new_cluster"), dict):
        data = data["new_cluster"]
    if not isinstance(data, dict) or not data:
        raise NbsplitError("cluster spec must be a JSON object (a Jobs API new_cluster)", path)
    return data


def new_cluster(options: JobOptions, *, spark_version: Any = None, node_type_id: Any = None,
                num_workers: Any = None) -> dict[str, Any]:
    """The default job cluster: ML runtime, dedicated (single user) access for MLflow/UC.
    The keyword overrides let the bundle put ``${var.*}`` references in place of values."""
    if options.cluster_json is not None:
        return load_cluster_json(options.cluster_json)
    cluster: dict[str, Any] = {
        "spark_version": spark_version if spark_version is not None else options.spark_version,
        "node_type_id": node_type_id if node_type_id is not None else node_type(options),
        "num_workers": num_workers if num_workers is not None else options.num_workers,
        "data_security_mode": "SINGLE_USER",
    }
    if options.num_workers == 0:
        # Databricks' single-node cluster: the driver runs the work.
        cluster["spark_conf"] = {"spark.databricks.cluster.profile": "singleNode",
                                 "spark.master": "local[*, 4]"}
        cluster["custom_tags"] = {"ResourceClass": "SingleNode"}
    return cluster


def stage_order(plan: SplitPlan, notebook_files: Mapping[Stage, str]) -> list[Stage]:
    """The stages that have a notebook, in plan order; every dependency must be one of them."""
    stages = [sp.stage for sp in plan.stages if sp.stage in notebook_files and sp.stage.is_pipeline]
    present = set(stages)
    for sp in plan.stages:
        if sp.stage not in present:
            continue
        for dep in sp.depends_on:
            if dep not in present:
                raise NbsplitError(f"stage {sp.stage.value} depends on {dep.value}, which has no "
                                   "notebook", plan.notebook.path)
    return stages


def job_settings(plan: SplitPlan, notebook_files: Mapping[Stage, str], options: JobOptions,
                 *, notebook_path: Any = None, parameters: Mapping[str, str] | None = None,
                 cluster: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The job as a Jobs API settings dict (key order is the order written).

    ``notebook_path(stage, file_name) -> str`` and ``parameters`` default to job.json's absolute
    workspace paths and :func:`job_parameters`; the bundle passes relative paths and ``${var.*}``.
    """
    _check_compute(options)
    name = job_name(plan, options)
    if notebook_path is None:
        base = (options.workspace_dir or f"/Workspace/Shared/nbsplit/{name}").rstrip("/")
        if not base.startswith("/"):
            raise NbsplitError(f"workspace notebook folder must be an absolute path: {base!r}")

        def notebook_path(stage: Stage, file_name: str) -> str:
            return f"{base}/{PurePosixPath(file_name).stem}"

    if parameters is None:
        parameters = job_parameters(plan, options)
    by_stage = {sp.stage: sp for sp in plan.stages}
    job: dict[str, Any] = {
        "name": name,
        "description": f"Generated by nbsplit {__version__} from {plan.notebook.path.name}: one "
                       "notebook task per pipeline stage.",
        "tags": {"nbsplit": __version__},
        "max_concurrent_runs": options.max_concurrent_runs,
        "queue": {"enabled": True},
        "parameters": [{"name": key, "default": value} for key, value in parameters.items()],
    }
    if options.serverless:
        job["environments"] = [{"environment_key": ENVIRONMENT_KEY,
                                "spec": {"environment_version": ENVIRONMENT_VERSION}}]
    elif not options.existing_cluster_id:
        job["job_clusters"] = [{"job_cluster_key": JOB_CLUSTER_KEY,
                                "new_cluster": dict(cluster) if cluster is not None
                                else new_cluster(options)}]
    tasks = []
    for stage in stage_order(plan, notebook_files):
        task: dict[str, Any] = {"task_key": task_key(stage)}
        deps = sorted(set(by_stage[stage].depends_on), key=lambda s: s.order)
        if deps:
            task["depends_on"] = [{"task_key": task_key(d)} for d in deps]
        task["notebook_task"] = {"notebook_path": notebook_path(stage, notebook_files[stage]),
                                 "source": "WORKSPACE"}
        if options.serverless:
            task["environment_key"] = ENVIRONMENT_KEY
        elif options.existing_cluster_id:
            task["existing_cluster_id"] = options.existing_cluster_id
        else:
            task["job_cluster_key"] = JOB_CLUSTER_KEY
        task["timeout_seconds"] = options.timeout_seconds
        task["max_retries"] = options.max_retries
        task["min_retry_interval_millis"] = options.min_retry_interval_millis
        tasks.append(task)
    job["tasks"] = tasks
    add_schedule(job, options.levels)
    if options.levels.monitoring and sets_retrain(plan):
        add_retraining(job, task_key(Stage.MONITORING))
    return job


def job_json(plan: SplitPlan, notebook_files: Mapping[Stage, str], options: JobOptions,
             parameters: Mapping[str, str] | None = None) -> str:
    """``job.json``: the Jobs API 2.1 settings body (``databricks jobs create --json @job.json``)."""
    return json_text(job_settings(plan, notebook_files, options, parameters=parameters), indent=2) + "\n"
