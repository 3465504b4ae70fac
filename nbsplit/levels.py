"""MLOps maturity levels (``nbsplit convert --level 0|1|2``) and what each adds to a split.

- **0**: stage notebooks with MLflow tracking, ``job.json`` and the bundle to run by hand, the
  README runbook. No schedule.
- **1** (default): + a scheduled job (Quartz cron and timezone, as the Jobs API and bundles take
  them), a monitoring stage (the notebook's own, or a generated drift check when it has none:
  :mod:`nbsplit.render.monitoring`), a ``condition_task`` on monitoring's ``retrain`` task value
  and the retraining tasks that depend on its ``true`` outcome, and a Model Serving endpoint for
  the registered model in the bundle.
- **2**: + CI/CD: a CI workflow (GitHub Actions, or Azure Pipelines with ``--ci azure``) that
  checks the source notebook, runs the project's tests, validates the bundle, deploys to a
  ``staging`` target and, after an approval, to ``prod`` (:mod:`nbsplit.render.ci`); the bundle
  gets the matching ``staging`` target.

Everything here works on the Jobs API settings dict :func:`nbsplit.render.job.job_settings`
builds, so ``job.json`` and the bundle's job resource get the same tasks.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from typing import Any, Mapping

from nbsplit.errors import NbsplitError

__all__ = [
    "CI_SYSTEMS", "DEFAULT_LEVEL", "DEFAULT_SCHEDULE", "DEFAULT_TIMEZONE", "LEVELS", "LevelOptions",
    "CONDITION_TASK", "RETRAIN_KEY", "RETRAIN_STAGES", "add_schedule", "add_retraining",
    "retrain_condition", "serving_endpoint", "THRESHOLD_PARAMETERS",
]

LEVELS = (0, 1, 2)
DEFAULT_LEVEL = 1
# Every day at 06:00; a default schedule is deployed paused, a chosen one unpaused.
DEFAULT_SCHEDULE = "0 0 6 * * ?"
DEFAULT_TIMEZONE = "UTC"
CI_SYSTEMS = ("github", "azure")
# The task value monitoring sets and the condition task that reads it.
RETRAIN_KEY = "retrain"
CONDITION_TASK = "check_retrain"
# Retraining reruns these stage notebooks (on the latest features the run handed over), so the
# registry gate decides again whether the new model becomes champion.
RETRAIN_STAGES = ("training", "evaluation")
# Drift thresholds: job parameters (strings, like every job parameter) with these defaults.
THRESHOLD_PARAMETERS = {"drift_psi_threshold": "0.2", "drift_ks_pvalue": "0.05"}

# One Quartz field: digits, names (MON, JAN), and the special characters * ? / , - # L W.
_QUARTZ_FIELD = re.compile(r"[0-9A-Za-z*?/,#\-]+")


@dataclass(frozen=True)
class LevelOptions:
    """The MLOps level and its options. ``schedule`` None means the default schedule (paused)."""

    level: int = DEFAULT_LEVEL
    schedule: str | None = None
    timezone: str = DEFAULT_TIMEZONE
    ci: str = "github"
    feature_key: str | None = None

    def __post_init__(self) -> None:
        if self.level not in LEVELS:
            raise NbsplitError(f"--level must be 0, 1 or 2, not {self.level}")
        if self.ci not in CI_SYSTEMS:
            raise NbsplitError(f"--ci must be one of {', '.join(CI_SYSTEMS)}, not {self.ci!r}")
        if self.schedule is not None:
            check_quartz(self.schedule)
        check_timezone(self.timezone)
        if self.schedule is not None and self.level == 0:
            raise NbsplitError("--schedule needs --level 1 or 2 (level 0 runs by hand)")

    @property
    def scheduled(self) -> bool:
        return self.level >= 1

    @property
    def monitoring(self) -> bool:
        return self.level >= 1

    @property
    def ci_cd(self) -> bool:
        return self.level >= 2


def check_quartz(expression: str) -> None:
    """A Quartz cron expression as Databricks takes it: 6 or 7 fields (seconds first, an optional
    year last), one of day-of-month and day-of-week being ``?``."""
    fields = expression.split()
    if len(fields) not in (6, 7) or not all(_QUARTZ_FIELD.fullmatch(f) for f in fields):
        raise NbsplitError(f"--schedule {expression!r} is not a Quartz cron expression: six or seven "
                           "fields, seconds first, e.g. '0 0 6 * * ?' (every day at 06:00)")
    if "?" not in (fields[3], fields[5]):
        raise NbsplitError(f"--schedule {expression!r}: Quartz needs '?' in the day-of-month or the "
                           "day-of-week field, e.g. '0 0 6 ? * MON-FRI'")


def check_timezone(name: str) -> None:
    """A timezone id (``UTC``, ``Europe/Berlin``): Databricks takes Java ids, which the IANA names are."""
    import zoneinfo

    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise NbsplitError(f"--timezone {name!r} is not a timezone id (e.g. UTC, Europe/Berlin)") from None


def add_schedule(job: dict[str, Any], levels: LevelOptions) -> None:
    if not levels.scheduled:
        return
    job["schedule"] = {
        "quartz_cron_expression": levels.schedule or DEFAULT_SCHEDULE,
        "timezone_id": levels.timezone,
        # The default schedule waits for someone to switch it on; a chosen one runs.
        "pause_status": "UNPAUSED" if levels.schedule else "PAUSED",
    }


def retrain_condition(monitoring_key: str) -> dict[str, Any]:
    """The condition task's settings: true when monitoring set ``retrain`` to true."""
    return {"op": "EQUAL_TO", "left": f"{{{{tasks.{monitoring_key}.values.{RETRAIN_KEY}}}}}", "right": "true"}


def add_retraining(job: dict[str, Any], monitoring_key: str) -> None:
    """Append the condition task and the retraining tasks (copies of the training and evaluation
    tasks under ``retrain_<key>``) to ``job["tasks"]``; nothing when a stage is missing."""
    tasks = job["tasks"]
    by_key = {t["task_key"]: t for t in tasks}
    if monitoring_key not in by_key or any(stage not in by_key for stage in RETRAIN_STAGES):
        return
    condition: dict[str, Any] = {"task_key": CONDITION_TASK, "depends_on": [{"task_key": monitoring_key}],
                                 "condition_task": retrain_condition(monitoring_key)}
    tasks.append(condition)
    previous: dict[str, Any] = {"task_key": CONDITION_TASK, "outcome": "true"}
    for stage in RETRAIN_STAGES:
        task = {k: copy.deepcopy(v) for k, v in by_key[stage].items() if k not in ("task_key", "depends_on")}
        retrain = {"task_key": f"retrain_{stage}", "depends_on": [previous],
                   # Explicit: a retraining task runs only when everything before it succeeded.
                   "run_if": "ALL_SUCCESS", **task}
        tasks.append(retrain)
        previous = {"task_key": retrain["task_key"]}


def serving_endpoint(job_name: str, model_name: str) -> tuple[str, dict[str, Any]]:
    """The bundle's Model Serving endpoint for the registered model (key, resource). The model is
    the Unity Catalog model the training stage registers (``catalog.schema.model``); the served
    version is the bundle variable ``serving_model_version``."""
    entity = model_name if "." in model_name else f"${{var.catalog}}.${{var.schema}}.{model_name}"
    key = f"{job_name}_serving"
    # Endpoint names: letters, digits, '-' and '_', at most 63 characters.
    name = key[:63]
    return key, {
        "name": name,
        "config": {"served_entities": [{
            "entity_name": entity,
            "entity_version": "${var.serving_model_version}",
            "workload_size": "Small",
            "scale_to_zero_enabled": True,
        }]},
    }


def level_parameters(levels: LevelOptions, monitored: bool) -> Mapping[str, str]:
    """The job parameters a level adds: the drift thresholds when a monitoring stage is generated."""
    return dict(THRESHOLD_PARAMETERS) if levels.monitoring and monitored else {}


# A notebook's own monitoring cell that sets the task value itself: dbutils.jobs.taskValues.set("retrain", ...).
_SETS_RETRAIN = re.compile(r"taskValues\s*\.\s*set\(\s*(?:key\s*=\s*)?['\"]" + RETRAIN_KEY + r"['\"]")


def sets_retrain(plan: Any) -> bool:
    """Whether the monitoring stage sets the ``retrain`` task value: the generated one does (it
    has no source cells), a notebook's own only when one of its cells sets it."""
    from nbsplit.model import Stage

    for sp in plan.stages:
        if sp.stage is Stage.MONITORING:
            if not sp.cells:
                return True
            return any(_SETS_RETRAIN.search(plan.notebook.cells[i].source) for i in sp.cells)
    return False
