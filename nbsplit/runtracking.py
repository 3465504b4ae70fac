"""MLflow for ``nbsplit run``: the pipeline's parent run, one nested run per stage, and what
each stage logged, for the run summary.

The runner (not the kernels) makes the runs, so every stage has one whatever it logs and a stage
that logs nothing never imports mlflow; each kernel gets its run id in ``NBSPLIT_MLFLOW_RUN_ID``
and appends what it logged (run, parameters, metrics, model version, alias moves, warnings) to
the JSON-lines file named by ``NBSPLIT_MLFLOW_REPORT`` (the runtime module's ``_nbsplit_track``).
On Databricks the stages make the same runs themselves, nested in the parent run tagged with the
job run id (``pipeline_run``). ``--only``/``--from`` reuse the last run's parent, so a rerun
evaluation still compares the challenger that training registered.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nbsplit import __version__

__all__ = ["ENV_RUN", "ENV_REPORT", "StageMlflow", "Tracking"]

ENV_RUN = "NBSPLIT_MLFLOW_RUN_ID"
ENV_REPORT = "NBSPLIT_MLFLOW_REPORT"
_PIPELINE_FILE = "mlflow-pipeline.json"


@dataclass(frozen=True)
class StageMlflow:
    """What one stage logged: its run, model version, alias moves, warnings."""

    run_id: str | None = None
    params: int = 0
    metrics: int = 0
    model_version: str | None = None
    aliases: tuple[str, ...] = ()
    predictions: int | None = None
    warnings: tuple[str, ...] = ()

    def summary(self) -> str:
        parts = []
        if self.run_id:
            parts.append(f"run {self.run_id[:8]}")
        if self.params or self.metrics:
            parts.append(f"{self.params} param(s), {self.metrics} metric(s)")
        if self.model_version:
            parts.append(f"model v{self.model_version}")
        parts.extend(self.aliases)
        if self.predictions:
            parts.append(f"{self.predictions} output(s) marked")
        if self.warnings:
            parts.append(f"{len(self.warnings)} warning(s)")
        return ", ".join(parts) or "-"


def read_report(path: Path) -> StageMlflow:
    if not path.is_file():
        return StageMlflow()
    run_id, params, metrics, version, aliases, predictions, warnings = None, 0, 0, None, [], None, []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        run_id = entry.get("run_id", run_id)
        params = entry.get("params", params)
        metrics = entry.get("metrics", metrics)
        version = entry.get("model_version", version)
        predictions = entry.get("predictions", predictions)
        if entry.get("alias"):
            aliases.append(str(entry["alias"]))
        if entry.get("warning"):
            warnings.append(str(entry["warning"]))
    return StageMlflow(run_id, int(params), int(metrics), version, tuple(aliases), predictions, tuple(warnings))


@dataclass
class Tracking:
    """The parent run of one ``nbsplit run`` and the stage runs in it (None when mlflow is missing)."""

    state: Path
    uri: str
    client: Any
    experiment_id: str
    pipeline_run: str
    parent: str
    tags: dict[str, str]
    runs: dict[str, str] = field(default_factory=dict)
    lock: Any = field(default_factory=threading.Lock)

    @classmethod
    def open(cls, state: Path, uri: str, parameters: Mapping[str, str], manifest: Mapping[str, Any],
             reuse: bool) -> "Tracking | None":
        import logging

        try:
            from mlflow import MlflowClient
        except ImportError:
            return None
        # "Creating initial MLflow database tables..." is not news for the run's console.
        logging.getLogger("mlflow").setLevel(logging.WARNING)
        client = MlflowClient(tracking_uri=uri, registry_uri=uri)
        name = parameters.get("experiment_name") or "nbsplit"
        experiment = client.get_experiment_by_name(name)
        if experiment is None:
            experiment_id = client.create_experiment(name, artifact_location=(state / "mlartifacts").resolve().as_uri())
        else:
            experiment_id = experiment.experiment_id
        source = manifest.get("source") or {}
        tags = {"nbsplit.source": Path(str(source.get("path", ""))).name,
                "nbsplit.source_sha256": str(source.get("sha256", "")), "nbsplit.version": __version__}
        saved = state / _PIPELINE_FILE
        if reuse and saved.is_file():
            data = json.loads(saved.read_text(encoding="utf-8"))
            pipeline_run, parent = data["pipeline_run"], data["parent"]
            client.update_run(parent, "RUNNING")
        else:
            pipeline_run = uuid.uuid4().hex[:12]
            parent = client.create_run(experiment_id, run_name=f"pipeline {pipeline_run}", tags={
                **tags, "nbsplit.stage": "pipeline", "nbsplit.pipeline_run": pipeline_run}).info.run_id
            saved.write_text(json.dumps({"pipeline_run": pipeline_run, "parent": parent}), encoding="utf-8")
        return cls(state, uri, client, experiment_id, pipeline_run, parent, tags)

    def report_path(self, key: str) -> Path:
        return self.state / "mlflow-reports" / f"{key}.jsonl"

    def start(self, key: str, stage: str) -> dict[str, str]:
        """The stage's run, and the environment its kernel gets."""
        with self.lock:
            run = self.client.create_run(self.experiment_id, run_name=stage, tags={
                **self.tags, "nbsplit.stage": stage, "nbsplit.pipeline_run": self.pipeline_run,
                "mlflow.parentRunId": self.parent})
        self.runs[key] = run.info.run_id
        report = self.report_path(key)
        report.parent.mkdir(parents=True, exist_ok=True)
        report.unlink(missing_ok=True)
        return {ENV_RUN: run.info.run_id, ENV_REPORT: str(report)}

    def finish(self, key: str, ok: bool) -> StageMlflow:
        run_id = self.runs.get(key)
        if run_id is not None:
            with self.lock:
                self.client.set_terminated(run_id, "FINISHED" if ok else "FAILED")
        found = read_report(self.report_path(key))
        params, metrics = self._logged(run_id, found)
        return StageMlflow(run_id, params, metrics, found.model_version, found.aliases,
                           found.predictions, found.warnings)

    def _logged(self, run_id: str | None, found: StageMlflow) -> tuple[int, int]:
        """How many parameters and metrics the stage's run holds: everything in it (autolog's
        too), read from the store; the kernel's own count when the store cannot say."""
        if run_id is None:
            return found.params, found.metrics
        try:
            with self.lock:
                data = self.client.get_run(run_id).data
        except Exception:  # the summary only: the stage's result does not depend on it
            return found.params, found.metrics
        return len(data.params), len(data.metrics)

    def close(self, ok: bool) -> None:
        with self.lock:
            self.client.set_terminated(self.parent, "FINISHED" if ok else "FAILED")
