"""Every file of a converted folder, assembled in one place, in memory.

The stage notebooks, the handoff runtime module beside them, ``nbsplit-manifest.json``,
``job.json``, the Asset Bundle (``databricks.yml`` + ``resources/<job>.job.yml``), the output
README and a ``.gitignore``. Each renderer gets the same parameters
(:mod:`nbsplit.render.parameters`), so no file disagrees with another about the experiment, the
model, the handoff location or where the data is.
"""

from __future__ import annotations

import os
import posixpath
from dataclasses import replace
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from nbsplit import __version__
from nbsplit.errors import EXIT_PROBLEMS, NbsplitError
from nbsplit.model import NotebookFormat, SplitPlan, Stage
from nbsplit.paths import outside_folders, relative_paths, sync_files, sync_folders
from nbsplit.levels import CONDITION_TASK, DEFAULT_SCHEDULE, RETRAIN_KEY, RETRAIN_STAGES, level_parameters, sets_retrain
from nbsplit.render.bundle import bundle_files, declares_serving
from nbsplit.render.ci import ci_file_name, ci_files
from nbsplit.render.dag import dag_mermaid
from nbsplit.render.handoff import RUNTIME_FILE, runtime_source
from nbsplit.render.job import JobOptions, job_json, job_name, job_parameters
from nbsplit.render.manifest import MANIFEST_NAME, manifest, manifest_json
from nbsplit.render.monitoring import (LIVE_METRIC_PARAMETERS, MonitoringInputs, feature_table, live_metric,
                                      with_generated_monitoring)
from nbsplit.render.notebooks import RenderedStage, RenderOptions, render_stages
from nbsplit.render.parameters import STATE_DIR, local_parameters
from nbsplit.render.templating import render
from nbsplit.widgets import notebook_widgets
from nbsplit.render.tracking import MLflowOptions, autolog_reason, registry_dependencies, registry_order, tracking_specs

__all__ = ["FORMATS", "job_files", "render_outputs"]

FORMATS: tuple[NotebookFormat, ...] = ("ipynb", "databricks", "percent")


def render_outputs(plan: SplitPlan, out: Path, *, fmt: NotebookFormat = "ipynb", templates: Path | None = None,
                   keep_outputs: bool = False, job_options: JobOptions | None = None,
                   source_sha256: str | None = None, mlflow: MLflowOptions | None = None,
                   ) -> tuple[dict[str, str], tuple[RenderedStage, ...]]:
    """``{relative path: text}`` (sorted) for every output file, and the rendered stages."""
    import hashlib

    if fmt not in FORMATS:
        raise NbsplitError(f"unknown format {fmt!r} (choose one of {', '.join(FORMATS)})")
    job_options = job_options or JobOptions()
    mlflow = mlflow or MLflowOptions()
    plan = registry_dependencies(registry_order(plan, mlflow))
    levels = job_options.levels
    monitoring = MonitoringInputs(reason=f"MLOps level {levels.level} generates no monitoring stage")
    if levels.monitoring:
        from nbsplit.mlfacts import ml_facts

        gate = next((stage for stage, t in tracking_specs(plan, mlflow).items() if "gate" in t.spec), None)
        live, live_reason = live_metric(ml_facts(plan, metric=mlflow.metric, greater_is_better=mlflow.greater_is_better),
                                        gate is not None)
        plan, monitoring = with_generated_monitoring(plan, live, live_reason, gate)
    name = job_name(plan, job_options)
    parameters = local_parameters(plan.notebook, out, name=name, catalog=job_options.catalog,
                                  schema=job_options.schema)
    if mlflow.model_name:
        parameters["model_name"] = mlflow.model_name
    parameters.update(level_parameters(levels, monitoring.scored is not None))
    if monitoring.target is not None:
        parameters.update(LIVE_METRIC_PARAMETERS)
    table = feature_table(plan, f"{name}_features", levels.feature_key) if levels.monitoring else None
    options = RenderOptions(out=out, fmt=fmt, keep_outputs=keep_outputs, templates=templates, parameters=parameters,
                            mlflow=mlflow, feature_table=table,
                            live_metric=monitoring.live.spec() if monitoring.target is not None and monitoring.live else None)
    stages = render_stages(plan, options)
    if not stages:
        raise _nothing_to_convert(plan)
    notebook_files = {s.stage: s.file for s in stages}
    files: dict[str, str] = {s.file: s.text for s in stages}
    if source_sha256 is None:
        source_sha256 = hashlib.sha256(plan.notebook.text.encode("utf-8")).hexdigest()
    files[RUNTIME_FILE] = runtime_source(parameters, templates=templates,
                                         source={"notebook": plan.notebook.path.name, "sha256": source_sha256})
    from nbsplit.mlfacts import ml_facts

    facts = ml_facts(plan, metric=mlflow.metric, greater_is_better=mlflow.greater_is_better)
    manifest_data = manifest(plan, stages, out, parameters, source_sha256=source_sha256,
                             mlflow={**facts.to_json(), "instrumented": mlflow.enabled,
                                     "autolog": _autolog_manifest(plan, mlflow, facts)})
    # Serve a model that will exist: the one nbsplit registers, or the notebook's own when it registers
    # it under its `model_name` widget (the name the job passes).
    job_options = replace(job_options, serving=bool(
        (mlflow.enabled and facts.main_model and not facts.registers)
        or (facts.registers and "model_name" in notebook_widgets(plan.notebook))))
    manifest_data["mlops"] = _mlops_manifest(plan, job_options, monitoring)
    manifest_data["mlops"]["feature_table"] = (table.describe(job_options.catalog, job_options.schema)
                                               if table is not None else None)
    files[MANIFEST_NAME] = manifest_json(manifest_data)
    files.update(job_files(plan, notebook_files, job_options, templates=templates, parameters=parameters))
    if levels.ci_cd:
        files.update(ci_files(levels.ci, job_key=name, source_name=plan.notebook.path.name,
                              source_path=_source_rel(plan, out), templates=templates))
    files["README.md"] = _readme(plan, stages, out, job_options, templates, monitoring, {
        "enabled": mlflow.enabled, "model_name": parameters["model_name"],
        "experiment_name": parameters["experiment_name"], "main_model": facts.main_model,
        "primary_metric": facts.primary_metric, "greater_is_better": facts.greater_is_better,
        "registers": facts.registers, "alias_moves": facts.alias_moves, "predicts": any(s.stage is Stage.PREDICTION for s in stages),
        "serving": declares_serving(plan, job_options)})
    files[".gitignore"] = f"{STATE_DIR}/\n"
    return dict(sorted(files.items())), stages


def _nothing_to_convert(plan: SplitPlan) -> NbsplitError:
    """The refusal when no stage notebook came out, naming the cell to start from: the longest
    code cell. A whole script typed into one cell (imports first, then load, fit and score) reads
    as setup, and only its author can say where its steps begin."""
    code = [c for c in plan.notebook.cells if c.kind == "code" and not c.is_empty]
    if not code:
        return NbsplitError("nothing to convert: the notebook has no code", plan.notebook.path,
                            exit_code=EXIT_PROBLEMS)
    stages = sorted({plan.classifications[c.index].stage.value for c in code})
    longest = max(code, key=lambda c: (len(c.source.splitlines()), -c.index))
    lines = len(longest.source.splitlines())
    what = f"its code cell is {stages[0]}" if len(code) == 1 else f"its {len(code)} code cells are {' or '.join(stages)}"
    return NbsplitError(
        f"nothing to convert: no cell belongs to a pipeline stage ({what}); give this cell, the longest "
        f"({lines} line{'s' if lines != 1 else ''}), its stage (tag nbsplit:<stage> or a first line "
        "'# nbsplit: <stage>'), or split it into one cell per step", plan.notebook.path, longest.index,
        exit_code=EXIT_PROBLEMS)


def job_files(plan: SplitPlan, notebook_files: Mapping[Stage, str], options: JobOptions | None = None, *,
              templates: Path | None = None, parameters: Mapping[str, str] | None = None) -> dict[str, str]:
    """``job.json`` and the bundle's files. ``parameters`` are the notebooks' own (computed for an
    output folder beside the source notebook when not given)."""
    options = options or JobOptions()
    deployed = job_parameters(plan, options, parameters)
    data_dir = deployed.get("data_dir", ".")
    # Inputs inside the output folder are synced with it already; only outside ones are listed.
    uses = relative_paths(plan.notebook)
    inputs = [f"{data_dir}/{path}" for path in (*sync_folders(uses), *sync_files(uses))
              if data_dir == ".." or data_dir.startswith("../")]
    # folders the code names above the notebook's own (``../data``) are outside unless the notebook
    # sits deep inside the output folder
    inputs += [synced for folder in outside_folders(plan.notebook)
               if (synced := posixpath.normpath(f"{data_dir}/{folder}")).startswith("../") and synced not in inputs]
    files = {"job.json": job_json(plan, notebook_files, options, deployed)}
    files.update(bundle_files(plan, notebook_files, options, deployed, sync_inputs=inputs, templates=templates))
    return files


def _autolog_manifest(plan: SplitPlan, mlflow: MLflowOptions, facts: Any) -> dict[str, object]:
    """Where MLflow autologging is switched on (stage, flavours, the source cell it precedes), or why not."""
    reason = autolog_reason(plan, mlflow, facts)
    if reason is None:
        for stage, tracking in tracking_specs(plan, mlflow, facts).items():
            if tracking.autolog is not None:
                return {"stage": stage.value, "flavors": list(tracking.autolog["flavors"]),
                        "before_cell": tracking.autolog["cell"]}
        reason = "the stage fitting the main model fits no flavour MLflow autologs"
    return {"stage": None, "reason": reason}


def _source_rel(plan: SplitPlan, out: Path) -> str:
    return Path(os.path.relpath(os.path.abspath(plan.notebook.path), os.path.abspath(out))).as_posix()


def _mlops_manifest(plan: SplitPlan, job_options: JobOptions, monitoring: MonitoringInputs) -> dict[str, object]:
    """What the MLOps level added: the schedule, retraining, the generated monitoring's inputs, CI."""
    levels = job_options.levels
    info: dict[str, object] = {"level": levels.level}
    if levels.scheduled:
        info["schedule"] = {"quartz_cron_expression": levels.schedule or DEFAULT_SCHEDULE,
                            "timezone_id": levels.timezone,
                            "pause_status": "UNPAUSED" if levels.schedule else "PAUSED"}
        info["retraining"] = ({"condition_task": CONDITION_TASK, "task_value": RETRAIN_KEY,
                               "tasks": [f"retrain_{s}" for s in RETRAIN_STAGES]}
                              if sets_retrain(plan) else None)
    info["monitoring"] = monitoring.describe()
    if levels.ci_cd:
        info["ci"] = {"system": levels.ci, "file": ci_file_name(levels.ci, job_name(plan, job_options))}
    return info


def _readme(plan: SplitPlan, stages: tuple[RenderedStage, ...], out: Path, job_options: JobOptions,
            templates: Path | None, monitoring: MonitoringInputs, mlflow: Mapping[str, object]) -> str:
    by_stage = {sp.stage: sp for sp in plan.stages}
    source = plan.notebook.path
    context = {
        "version": __version__,
        "source_name": source.name,
        "source_path": Path(os.path.relpath(os.path.abspath(source), os.path.abspath(out))).as_posix(),
        "out_name": out.name or str(out),
        "job_key": job_name(plan, job_options),
        "runtime_file": RUNTIME_FILE,
        "mlflow": dict(mlflow),
        "parameters": list(job_parameters(plan, job_options)),
        "level": job_options.levels.level,
        "mlops": _mlops_manifest(plan, job_options, monitoring),
        "mermaid": dag_mermaid(plan, {s.stage: s.file for s in stages}),
        "stages": [
            {"order": s.stage.order, "slug": s.stage.value, "title": s.stage.title, "file": s.file,
             "depends_on": [d.value for d in sorted(by_stage[s.stage].depends_on, key=lambda d: d.order)]}
            for s in stages
        ],
    }
    return render("output_readme/README.md.j2", context, user_dir=templates)
