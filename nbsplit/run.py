"""``nbsplit run DIR``: execute a converted folder locally, following its ``job.json``.

The tasks, their ``depends_on`` and their notebooks come from ``job.json`` (the file Databricks
runs), mapped to the local stage files through ``nbsplit-manifest.json``; there is no second
definition of the order. Each task runs in a fresh kernel (:func:`nbsplit.execute.execute_notebook`)
started in ``DIR`` itself, as a person opening a stage notebook would (the runtime module then
works from ``data_dir``, the source notebook's folder), with embedded defaults so nothing has to
be set up:

- MLflow: a sqlite store ``.nbsplit/mlflow.db`` (registry and ``models:/name@alias`` included),
  artifacts under ``.nbsplit/mlartifacts``;
- Spark: a local session bound to ``spark`` before the first cell of every task the manifest's
  ``spark.stages`` names (and of the source runs), else the first time a cell uses it undefined;
  the manifest's ``spark.conf`` applies to the source runs and the stages alike;
- ``dbutils`` (widgets from the job parameters, task values across tasks, fs, notebook.exit),
  ``display``, ``%sql`` and ``%pip``: see :mod:`nbsplit.standins`, loaded through an IPython
  startup file, so the notebooks on disk stay Databricks-clean.

Everything the run writes lives in ``DIR/.nbsplit/``: ``handoffs/``, ``executed/<file>``
(notebooks with outputs), ``mlflow.db``, ``mlartifacts/``, ``task_values/``, and with compare
``compare/<source>.run<N>.ipynb`` (the executed source runs).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath
from typing import Any, Literal

from nbsplit.errors import EXIT_OK, EXIT_PROBLEMS, NbsplitError
from nbsplit.render.manifest import MANIFEST_NAME
from nbsplit.render.parameters import HANDOFF_SUBDIR, STATE_DIR
from nbsplit.report import RunProgress, print_run_summary

__all__ = ["RunResult", "TaskResult", "CompareResult", "Task", "run_folder", "load_tasks", "local_parameters"]

# "warning": the stage ran, but its MLflow instrumentation reported a problem (a failure with --strict).
# "excluded": a task whose condition_task outcome was not the one it depends on (Databricks' word).
Status = Literal["succeeded", "warning", "failed", "skipped", "reused", "excluded"]
_RAN = ("succeeded", "warning")


@dataclass(frozen=True)
class Task:
    """One task of job.json with its local notebook."""

    key: str
    stage: str
    file: str
    depends_on: tuple[str, ...]
    # A condition_task ({op, left, right}) instead of a notebook; and the outcome ("true"/"false")
    # a dependency on a condition task requires.
    condition: Mapping[str, str] | None = None
    outcomes: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class TaskResult:
    key: str
    file: str
    status: Status
    duration: float = 0.0
    message: str | None = None
    source_cell: int | None = None
    executed: Path | None = None
    mlflow: Any = None  # nbsplit.runtracking.StageMlflow: what the stage logged
    outcome: str | None = None  # a condition task's: "true" or "false"


@dataclass(frozen=True)
class CellMismatch:
    index: int  # the source cell
    file: str
    cell: int
    expected: str
    got: str


@dataclass(frozen=True)
class CompareResult:
    compared: int
    mismatches: tuple[CellMismatch, ...] = ()
    nondeterministic: tuple[int, ...] = ()
    error: str | None = None
    # Cells printing Spark ML's binned ROC/PR metrics, compared without their digits (counted in
    # ``compared``): the digits follow the Spark session's RDD numbering (see sparkuse).
    without_digits: tuple[int, ...] = ()
    # What decided which cells are deterministic (their outputs agree across these runs).
    basis: str = "two runs of the source"
    # Cells that list the kernel's namespace (``%whos``, ``%watermark --iversions``, ``dir()``),
    # not compared: a stage holds only the names and imports its own cells need.
    namespace: tuple[int, ...] = ()

    @property
    def ok(self) -> bool:
        return self.error is None and not self.mismatches


@dataclass(frozen=True)
class RunResult:
    folder: Path
    tasks: tuple[TaskResult, ...]
    compare: CompareResult | None = None
    duration: float = 0.0
    messages: tuple[str, ...] = field(default=())
    strict: bool = False  # MLflow warnings fail the run

    @property
    def ok(self) -> bool:
        fine = ("succeeded", "reused", "excluded") if self.strict else ("succeeded", "reused", "excluded", "warning")
        return (all(t.status in fine for t in self.tasks)
                and (self.compare is None or self.compare.ok))

    @property
    def exit_code(self) -> int:
        return EXIT_OK if self.ok else EXIT_PROBLEMS

    def task(self, key: str) -> TaskResult:
        return next(t for t in self.tasks if t.key == key or t.file == key)


# ------------------------------------------------------------------------------ reading DIR

def _read_json(path: Path, what: str) -> dict[str, Any]:
    from nbsplit.read.validate import load_json, read_input_text

    if not os.path.lexists(path):
        raise NbsplitError(f"not a converted folder: {what} not found (run nbsplit convert first)",
                           path.parent)
    data = load_json(read_input_text(path, what), path)
    if not isinstance(data, dict):
        raise NbsplitError("expected a JSON object", path)
    return data


def _shape_error(path: Path, where: str, want: str, got: Any) -> NbsplitError:
    from nbsplit.read.validate import type_name

    return NbsplitError(f"{where} must be {want}, got {type_name(got)} (re-run nbsplit convert)", path)


def _list_of_objects(data: Mapping[str, Any], key: str, path: Path, where: str) -> list[dict[str, Any]]:
    value = data.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise _shape_error(path, f"{where}{key}", "a list", value)
    for i, item in enumerate(value):
        if not isinstance(item, dict):
            raise _shape_error(path, f"{where}{key}[{i}]", "an object", item)
    return value


def _string(data: Mapping[str, Any], key: str, path: Path, where: str, *, required: bool = True) -> None:
    value = data.get(key)
    if value is None and not required:
        return
    if not isinstance(value, str) or not value:
        raise _shape_error(path, f"{where}{key}", "a non-empty string", value)


def _relative_file(value: str, path: Path, where: str) -> None:
    # The manifest names files inside the folder; a path leaving it is not something convert wrote.
    rel = PurePosixPath(value)
    if rel.is_absolute() or ".." in rel.parts or "\\" in value:
        raise NbsplitError(f"{where} {value!r} is not a file inside the folder (re-run nbsplit convert)", path)


def validate_job(job: Mapping[str, Any], path: Path) -> None:
    """The parts of job.json a local run reads, with the types it needs; one error line each."""
    for i, task in enumerate(_list_of_objects(job, "tasks", path, "")):
        where = f"tasks[{i}]."
        _string(task, "task_key", path, where)
        if isinstance(task.get("condition_task"), dict):
            for key in ("op", "left", "right"):
                _string(task["condition_task"], key, path, f"{where}condition_task.", required=key == "op")
            continue
        nb_task = task.get("notebook_task")
        if not isinstance(nb_task, dict):
            raise _shape_error(path, f"{where}notebook_task", "an object", nb_task)
        _string(nb_task, "notebook_path", path, f"{where}notebook_task.")
        for j, dep in enumerate(_list_of_objects(task, "depends_on", path, where)):
            _string(dep, "task_key", path, f"{where}depends_on[{j}].")
    for i, item in enumerate(_list_of_objects(job, "parameters", path, "")):
        _string(item, "name", path, f"parameters[{i}].")


def validate_manifest(manifest: Mapping[str, Any], path: Path) -> None:
    """The parts of nbsplit-manifest.json a local run reads, with the types it needs."""
    for i, stage in enumerate(_list_of_objects(manifest, "stages", path, "")):
        _string(stage, "name", path, f"stages[{i}].")
        _string(stage, "file", path, f"stages[{i}].")
        _relative_file(stage["file"], path, f"stages[{i}].file")
    source = manifest.get("source")
    if source is not None:
        if not isinstance(source, dict):
            raise _shape_error(path, "source", "an object", source)
        _string(source, "path", path, "source.", required=False)
    parameters = manifest.get("parameters")
    if parameters is not None and not isinstance(parameters, dict):
        raise _shape_error(path, "parameters", "an object", parameters)
    for i, entry in enumerate(_list_of_objects(manifest, "cells", path, "")):
        for key in ("index", "cell"):
            value = entry.get(key)
            if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 0):
                raise _shape_error(path, f"cells[{i}].{key}", "a non-negative integer", value)
        _string(entry, "file", path, f"cells[{i}].", required=False)
        _list_of_objects(entry, "also", path, f"cells[{i}].")
    for i, handoff in enumerate(_list_of_objects(manifest, "handoffs", path, "")):
        for key in ("key", "name", "from", "to"):
            _string(handoff, key, path, f"handoffs[{i}].")
        _relative_file(handoff["key"], path, f"handoffs[{i}].key")


def load_tasks(folder: Path, job: Mapping[str, Any], manifest: Mapping[str, Any]) -> list[Task]:
    """job.json's tasks, each mapped to its stage file (by the notebook path's last part)."""
    stages = manifest.get("stages") or []
    by_stem = {PurePosixPath(s["file"]).stem: s for s in stages}
    by_name = {s["file"]: s for s in stages}
    tasks: list[Task] = []
    job_path = folder / "job.json"
    for raw in job.get("tasks") or []:
        key = raw.get("task_key")
        deps = tuple(d["task_key"] for d in raw.get("depends_on") or [])
        outcomes = {d["task_key"]: str(d["outcome"]) for d in raw.get("depends_on") or [] if "outcome" in d}
        if isinstance(raw.get("condition_task"), dict):
            tasks.append(Task(key, "condition", "job.json", deps, condition=dict(raw["condition_task"]),
                              outcomes=outcomes))
            continue
        path = (raw.get("notebook_task") or {}).get("notebook_path")
        if not key or not path:
            raise NbsplitError("every task needs a task_key and a notebook_task.notebook_path", job_path)
        leaf = PurePosixPath(path).name
        stage = by_name.get(leaf) or by_stem.get(leaf) or by_stem.get(PurePosixPath(leaf).stem)
        if stage is None:
            raise NbsplitError(f"task {key}: notebook {path} is not a stage notebook of the manifest", job_path)
        if not (folder / stage["file"]).is_file():
            raise NbsplitError(f"task {key}: stage notebook {stage['file']} is missing", folder)
        tasks.append(Task(key, stage["name"], stage["file"], deps, outcomes=outcomes))
    if not tasks:
        raise NbsplitError("job.json has no tasks", job_path)
    _check_dag(tasks, job_path)
    return tasks


def _check_dag(tasks: Sequence[Task], where: Path) -> None:
    keys = [t.key for t in tasks]
    if len(set(keys)) != len(keys):
        raise NbsplitError("duplicate task_key in job.json", where)
    for task in tasks:
        for dep in task.depends_on:
            if dep not in keys:
                raise NbsplitError(f"task {task.key} depends on unknown task {dep}", where)
    order = topological(tasks)
    if len(order) != len(tasks):
        stuck = sorted(set(keys) - {t.key for t in order})
        raise NbsplitError(f"job.json tasks depend on each other in a cycle: {', '.join(stuck)}", where)


def topological(tasks: Sequence[Task]) -> list[Task]:
    """Tasks in dependency order, ties kept in job.json order."""
    done: set[str] = set()
    order: list[Task] = []
    progress = True
    while progress:
        progress = False
        for task in tasks:
            if task.key not in done and all(d in done for d in task.depends_on):
                order.append(task)
                done.add(task.key)
                progress = True
    return order


def _downstream(tasks: Sequence[Task], start: str) -> set[str]:
    out = {start}
    changed = True
    while changed:
        changed = False
        for task in tasks:
            if task.key not in out and out & set(task.depends_on):
                out.add(task.key)
                changed = True
    return out


def _find_task(tasks: Sequence[Task], name: str, option: str) -> Task:
    for task in tasks:
        if name in (task.key, task.stage, task.file, PurePosixPath(task.file).stem):
            return task
    raise NbsplitError(f"{option} {name}: no such stage (stages: {', '.join(t.stage for t in tasks)})")


def local_parameters(folder: Path, job: Mapping[str, Any], manifest: Mapping[str, Any]) -> dict[str, str]:
    """Job parameters for a local run: the stage notebooks' own defaults (from the manifest),
    handoffs inside ``DIR/.nbsplit/handoffs``, then job.json's defaults for any other name."""
    params: dict[str, str] = {}
    for item in job.get("parameters") or []:
        params[str(item["name"])] = str(item.get("default", ""))
    params.update({str(k): str(v) for k, v in (manifest.get("parameters") or {}).items()})
    params["handoff_dir"] = str((folder / HANDOFF_SUBDIR).resolve())
    return params


def _source_path(folder: Path, manifest: Mapping[str, Any]) -> Path:
    rel = (manifest.get("source") or {}).get("path")
    if not rel:
        raise NbsplitError("the manifest does not name the source notebook", folder / MANIFEST_NAME)
    return (folder / rel).resolve()


# ------------------------------------------------------------------------------ environment

def spark_env(manifest: Mapping[str, Any], stage: str | None) -> dict[str, str]:
    """Spark settings for one kernel: the manifest's configuration for every kernel, and a session
    from the first cell for a stage the plan found needing one (``stage=None``: a source run,
    which needs one when any stage does)."""
    from nbsplit.standins import ENV_SPARK, ENV_SPARK_CONF

    spark = manifest.get("spark") or {}
    if not spark:
        return {}
    stages = spark.get("stages") or []
    wanted = spark.get("session", "runtime") == "runtime" and (bool(stages) if stage is None else stage in stages)
    return {ENV_SPARK_CONF: json.dumps(spark.get("conf") or {}, sort_keys=True), ENV_SPARK: "1" if wanted else "0"}


def kernel_env(state: Path, parameters: Mapping[str, str]) -> dict[str, str]:
    """The environment every kernel of the run gets (the task key is added per task)."""
    from nbsplit.standins import ENV_PARAMETERS, ENV_STATE_DIR, write_ipython_dir

    state.mkdir(parents=True, exist_ok=True)
    ipython_dir = write_ipython_dir(state / "ipython")
    artifacts = state / "mlartifacts"
    artifacts.mkdir(exist_ok=True)
    from nbsplit.sparkconf import ENV_SPARK_CONF_DIR, write_spark_conf

    return {
        "IPYTHONDIR": str(ipython_dir),
        ENV_SPARK_CONF_DIR: str(write_spark_conf(state / "spark-conf")),
        ENV_STATE_DIR: str(state),
        ENV_PARAMETERS: json.dumps(dict(parameters), sort_keys=True),
        # Four slashes: an absolute path (three would be relative to the working directory).
        "MLFLOW_TRACKING_URI": f"sqlite:///{(state / 'mlflow.db').as_posix()}",
        # The registry too: an MLFLOW_REGISTRY_URI inherited from the shell would otherwise take the
        # notebook's register_model/models:/ calls to another store than its runs.
        "MLFLOW_REGISTRY_URI": f"sqlite:///{(state / 'mlflow.db').as_posix()}",
        # MLflow 3.17's sqlite store takes the default artifact root of new experiments from this
        # variable (otherwise ./mlruns in the working directory, i.e. the user's source folder).
        "_MLFLOW_SERVER_ARTIFACT_ROOT": str(artifacts),
    }


# ------------------------------------------------------------------------------ running tasks

def _run_task(task: Task, folder: Path, env: Mapping[str, str], timeout: int,
              manifest: Mapping[str, Any]) -> TaskResult:
    from nbsplit.execute import StageExecutionError, execute_notebook
    from nbsplit.standins import ENV_TASK_KEY

    state = folder / STATE_DIR
    if task.condition is not None:
        return _run_condition(task, state)
    # A rerun starts from a clean slate of its own task values.
    (state / "task_values" / f"{task.key}.json").unlink(missing_ok=True)
    executed_dir = state / "executed"
    executed_dir.mkdir(parents=True, exist_ok=True)
    target = executed_dir / (task.file if task.file.endswith(".ipynb") else PurePosixPath(task.file).stem + ".ipynb")
    if task.key != task.stage.replace("-", "_"):  # a second task of one notebook (retraining)
        target = target.with_name(f"{task.key}.{target.name}")
    start = time.perf_counter()
    try:
        nb = execute_notebook(folder / task.file, folder, timeout=timeout,
                              env={**env, ENV_TASK_KEY: task.key, **spark_env(manifest, task.stage)})
    except StageExecutionError as exc:
        duration = time.perf_counter() - start
        if exc.executed is not None:
            _write_notebook(exc.executed, target)
        message, source_index = _failure_message(task, exc, manifest)
        return TaskResult(task.key, task.file, "failed", duration, message, source_index,
                          target if exc.executed is not None else None)
    except NbsplitError as exc:
        return TaskResult(task.key, task.file, "failed", time.perf_counter() - start,
                          f"stage {task.stage} ({task.file}): {exc}")
    except Exception as exc:  # noqa: BLE001 - a kernel that cannot start, a broken notebook file
        return TaskResult(task.key, task.file, "failed", time.perf_counter() - start,
                          f"stage {task.stage} ({task.file}): {type(exc).__name__}: {_first_line(str(exc))}")
    _write_notebook(nb, target)
    return TaskResult(task.key, task.file, "succeeded", time.perf_counter() - start, executed=target)


_CONDITION_OPS = {
    "EQUAL_TO": lambda a, b: a == b, "NOT_EQUAL": lambda a, b: a != b,
    "GREATER_THAN": lambda a, b: float(a) > float(b), "GREATER_THAN_OR_EQUAL": lambda a, b: float(a) >= float(b),
    "LESS_THAN": lambda a, b: float(a) < float(b), "LESS_THAN_OR_EQUAL": lambda a, b: float(a) <= float(b),
}
_TASK_VALUE_REF = re.compile(r"\{\{\s*tasks\.(\w+)\.values\.(\w+)\s*\}\}")


def _resolve_reference(text: str, state: Path) -> str:
    """``{{tasks.<key>.values.<name>}}`` from the local task values, as Databricks renders them:
    JSON text (``true``, ``0.3``), strings as they are; unknown references stay as written."""

    def value(match: re.Match[str]) -> str:
        try:
            values = json.loads((state / "task_values" / f"{match.group(1)}.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return match.group(0)
        if match.group(2) not in values:
            return match.group(0)
        found = values[match.group(2)]
        return found if isinstance(found, str) else json.dumps(found)

    return _TASK_VALUE_REF.sub(value, text)


def _run_condition(task: Task, state: Path) -> TaskResult:
    """A condition_task, evaluated locally: its outcome decides which dependents run."""
    cond = task.condition or {}
    op = str(cond.get("op", ""))
    left, right = (_resolve_reference(str(cond.get(side, "")), state) for side in ("left", "right"))
    if op not in _CONDITION_OPS:
        return TaskResult(task.key, task.file, "failed", message=f"condition {task.key}: unknown op {op!r}")
    try:
        outcome = "true" if _CONDITION_OPS[op](left, right) else "false"
    except ValueError:
        return TaskResult(task.key, task.file, "failed",
                          message=f"condition {task.key}: {left!r} {op} {right!r} compares no numbers")
    return TaskResult(task.key, task.file, "succeeded", message=f"condition {left} {op} {right}: {outcome}",
                      outcome=outcome)


def _first_line(text: str) -> str:
    lines = [line.strip() for line in str(text).splitlines() if line.strip()]
    return lines[0] if lines else ""


def _failure_message(task: Task, exc: Any, manifest: Mapping[str, Any]) -> tuple[str, int | None]:
    # The exception's own line (multi-line messages such as Spark's put the plan below it).
    error = f"{exc.ename}: {_first_line(exc.evalue)}" if _first_line(exc.evalue) else exc.ename
    source_index = exc.source_index
    if source_index is None and exc.position is not None:
        # Databricks .py stages carry no cell metadata: the manifest knows where each cell went.
        for entry in manifest.get("cells") or []:
            places = [{"file": entry.get("file"), "cell": entry.get("cell")}, *(entry.get("also") or [])]
            if any(p.get("file") == task.file and p.get("cell") == exc.position for p in places):
                source_index = entry.get("index")
                break
    if source_index is not None:
        where = f"source cell {source_index}"
    else:
        kind = None
        if exc.executed is not None and exc.position is not None and exc.position < len(exc.executed.cells):
            kind = ((exc.executed.cells[exc.position].get("metadata") or {}).get("nbsplit") or {}).get("generated")
        where = f"generated {kind} cell" if kind else "a cell"
        if exc.position is not None:
            where += f" (cell {exc.position} of {task.file})"
    return f"stage {task.stage} failed in {where}: {error}", source_index


def _side_branch_messages(results: Sequence[TaskResult], stages: Mapping[str, str]) -> list[str]:
    """One line when only eda failed: it is a side branch, so the main line still ran (the run
    still fails: a stage did)."""
    failed = [r for r in results if r.status == "failed"]
    if not failed or any(stages.get(r.key) != "eda" for r in failed):
        return []
    main = [r for r in results if stages.get(r.key) not in ("eda", "condition")]
    if any(r.status not in (*_RAN, "reused", "excluded") for r in main):
        return []
    ran = ", ".join(dict.fromkeys(stages.get(r.key, r.key) for r in main if r.status in _RAN))
    return [f"eda failed; it is a side branch that feeds no other stage, and the main line ran ({ran or 'nothing selected'})"]


def _write_notebook(nb: Any, target: Path) -> None:
    import nbformat

    from nbsplit.write import atomic_write_text

    atomic_write_text(target, nbformat.writes(nb))


def _missing_handoffs(selected: set[str], tasks: Sequence[Task], manifest: Mapping[str, Any],
                      handoff_dir: Path) -> list[str]:
    stage_of = {t.key: t.stage for t in tasks}
    inside = {stage_of[k] for k in selected}
    missing = []
    for h in manifest.get("handoffs") or []:
        if h.get("to") in inside and h.get("from") not in inside:
            if not (handoff_dir / f"{h['key']}.nbsplit.json").is_file():
                missing.append(f"{h['name']} (from {h['from']})")
    return sorted(set(missing))


def _schedule(tasks: Sequence[Task], selected: set[str], run_one: Any, parallel: int,
              progress: RunProgress, extra: Sequence[Task] = ()) -> dict[str, TaskResult]:
    """Run the selected tasks as their dependencies allow, up to ``parallel`` at once; ``extra``
    tasks (without dependencies) take a free slot only when no selected task is ready."""
    results: dict[str, TaskResult] = {}
    by_key = {t.key: t for t in [*tasks, *extra]}
    selected = selected | {t.key for t in extra}
    pending = [t for t in topological(tasks) if t.key in selected] + list(extra)
    running: dict[Future[TaskResult], Task] = {}

    def satisfied(dep: str) -> bool:
        return dep not in selected or (dep in results and results[dep].status in (*_RAN, "excluded"))

    def blocked(task: Task) -> str | None:
        for dep in task.depends_on:
            if dep in selected and dep in results and results[dep].status not in _RAN:
                return dep
        return None

    def excluded(task: Task) -> str | None:
        """The condition (or excluded task) that keeps ``task`` from running, if any."""
        for dep in task.depends_on:
            result = results.get(dep)
            if result is None:
                continue
            if result.status == "excluded":
                return f"excluded: {by_key[dep].key} did not run"
            if dep in task.outcomes and result.status in _RAN and result.outcome != task.outcomes[dep]:
                return f"excluded: condition {dep} is {result.outcome}"
        return None

    with ThreadPoolExecutor(max_workers=max(1, parallel)) as pool:
        while pending or running:
            for task in list(pending):
                if (why := excluded(task)) is not None:
                    pending.remove(task)
                    results[task.key] = TaskResult(task.key, task.file, "excluded", message=why)
                    progress.finish(results[task.key])
                elif (dep := blocked(task)) is not None:
                    pending.remove(task)
                    results[task.key] = TaskResult(task.key, task.file, "skipped",
                                                   message=f"skipped: upstream stage {by_key[dep].stage} did not succeed")
                    progress.finish(results[task.key])
            for task in list(pending):
                if len(running) >= max(1, parallel):
                    break
                if all(satisfied(d) for d in task.depends_on):
                    pending.remove(task)
                    progress.start(task)
                    running[pool.submit(run_one, task)] = task
            if not running:
                continue
            done, _ = wait(list(running), return_when=FIRST_COMPLETED)
            for future in done:
                task = running.pop(future)
                results[task.key] = future.result()
                progress.finish(results[task.key])
    return {k: results[k] for k in by_key if k in results}


# ------------------------------------------------------------------------------------ compare

def _text_outputs(cell: Mapping[str, Any]) -> str:
    """What a person reads from a cell: stdout and the text form of results (stderr, errors
    and images are left out: warnings and renderings vary between processes)."""
    parts = []
    for out in cell.get("outputs") or []:
        kind = out.get("output_type")
        if kind == "stream" and out.get("name") == "stdout":
            parts.append(out.get("text", ""))
        elif kind in ("execute_result", "display_data"):
            text = (out.get("data") or {}).get("text/plain")
            if text is not None:
                parts.append(text if isinstance(text, str) else "".join(text))
    text = "".join(parts)
    return "\n".join(_MEMORY_USAGE.sub(r"\1#", line.rstrip()) for line in text.splitlines()).strip()


# ``DataFrame.info()``'s last line measures buffers, not data: a frame handed to a later stage
# (written and read back) is compacted, and pandas 3's Arrow strings then report less memory
_MEMORY_USAGE = re.compile(r"^(memory usage: )[\d.]+\+? (?:bytes|[KMGT]B)$")


def _copy_source_tree(source_dir: Path, exclude: Sequence[Path], dest: Path) -> Path:
    excluded = {p.resolve() for p in exclude}

    def ignore(directory: str, names: list[str]) -> set[str]:
        skip = {n for n in names if n in (".git", STATE_DIR, "__pycache__", ".ipynb_checkpoints")}
        base = Path(directory).resolve()
        skip |= {n for n in names if (base / n) in excluded}
        return skip

    shutil.copytree(source_dir, dest, ignore=ignore, symlinks=True)
    root = source_dir.resolve()
    for path in excluded:
        # the split's own folder stays out of the copy, but its name stays in: the stages run
        # beside it, so a monolith's '!ls' or os.listdir(".") must list it too
        if path.is_dir() and path.parent == root:
            (dest / path.name).mkdir(exist_ok=True)
    return dest


def _outside_reads(source: Path) -> tuple[str, ...]:
    """The paths above the source notebook's folder its code names (``../data/x.csv``); none when
    the source cannot be read (its run then says why)."""
    from nbsplit.paths import outside_paths
    from nbsplit.read import read_notebook

    try:
        return outside_paths(read_notebook(source))
    except Exception:  # noqa: BLE001 - an unreadable source: its own run reports the error
        return ()


def _prepare_source_copy(source: Path, folder: Path, parameters: Mapping[str, str], workdir: Path,
                         manifest: Mapping[str, Any], outside: Sequence[str] = ()) -> tuple[Path, dict[str, str]]:
    """A copy of the source notebook's folder (taken before the stages write into it) and the
    kernel environment of one source run, with its own state dir (MLflow store, handoffs).

    ``outside`` are the paths above that folder the notebook names (``../data/x.csv``): each is
    copied (or, not there yet, gets its folder if that folder exists in place) at the same place
    relative to the copy, so the monolith reads and writes them as in place, and nothing else of
    the disk is copied."""
    from nbsplit.standins import ENV_TASK_KEY

    # Shortest first: a named folder is copied whole before a file named inside it.
    outside = sorted((p for p in outside if PurePosixPath(p).parts.count("..") <= len(source.parent.parents)),
                     key=lambda p: len(PurePosixPath(p).parts))
    up = max((PurePosixPath(p).parts.count("..") for p in outside), default=0)
    anchor = source.parent.parents[up - 1] if up else source.parent
    root = workdir / "src"
    copy = _copy_source_tree(source.parent, [folder], root / source.parent.relative_to(anchor))
    for rel in outside:
        original = Path(os.path.normpath(source.parent / rel))
        if any(p == original or p in original.parents for p in (source.parent, folder)) or (
                original in source.parent.parents):
            continue  # inside the copied folder or the output folder, or an ancestor of the notebook
        target = root / original.relative_to(anchor)
        if original.is_dir():
            if not target.exists():
                _copy_source_tree(original, [folder], target)
        elif original.is_file():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(original, target)
        elif original.parent.is_dir():  # an output the notebook writes into a folder that exists
            target.parent.mkdir(parents=True, exist_ok=True)
        # A folder missing in place stays missing in the copy: the stages run in place, so a
        # monolith that wrote into a folder the copy made up would succeed where they fail, and
        # the comparison would blame the split for the notebook's own missing folder.
    state = workdir / STATE_DIR
    params = dict(parameters)
    params["handoff_dir"] = str(state / "handoffs")
    return copy / source.name, kernel_env(state, params) | {ENV_TASK_KEY: "source"} | spark_env(manifest, None)


def stored_run(source: Path) -> Any | None:
    """The source notebook as stored, when it was saved executed top to bottom without errors
    (every non-empty code cell has an execution count): its outputs are one run of the source."""
    if source.suffix != ".ipynb":
        return None
    import nbformat

    try:
        nb = nbformat.read(source, as_version=4)
    except Exception:  # noqa: BLE001 - an unreadable source simply has no stored run
        return None
    code = [c for c in nb.cells if c.get("cell_type") == "code" and str(c.get("source", "")).strip()]
    if not code or any(c.get("execution_count") is None for c in code):
        return None
    if any(o.get("output_type") == "error" for c in code for o in c.get("outputs") or []):
        return None
    return nb


@dataclass
class _SourceRuns:
    """The source runs ``--compare`` needs, run as extra tasks of the schedule (so they use a
    free slot of ``parallel`` while the stages run) in copies taken before the stages start."""

    source: Path
    stored: Any | None
    copies: dict[str, tuple[Path, dict[str, str]]]
    tmp: Path
    executed: dict[str, Any] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    # a run that failed: the source cell it failed in (its notebook, as far as it ran, is in
    # ``executed``: the cells before that one can still be compared)
    failed_at: dict[str, int] = field(default_factory=dict)

    @property
    def tasks(self) -> list[Task]:
        return [Task(key, "source", self.source.name, ()) for key in self.copies]

    def run(self, task: Task, folder: Path, timeout: int) -> TaskResult:
        from nbsplit.execute import StageExecutionError, execute_notebook

        notebook, env = self.copies[task.key]
        start = time.perf_counter()
        try:
            nb = execute_notebook(notebook, notebook.parent, timeout=timeout, env=env)
        except NbsplitError as exc:
            self.errors.append(f"the source notebook itself fails: {exc}")
            if isinstance(exc, StageExecutionError) and exc.executed is not None and exc.position is not None:
                self.executed[task.key] = exc.executed
                self.failed_at[task.key] = exc.position
            return TaskResult(task.key, task.file, "failed", time.perf_counter() - start,
                              f"{task.key}: {exc}")
        except Exception as exc:  # noqa: BLE001 - a kernel that cannot start
            self.errors.append(f"the source notebook could not run: {type(exc).__name__}: {_first_line(str(exc))}")
            return TaskResult(task.key, task.file, "failed", time.perf_counter() - start,
                              f"{task.key}: {type(exc).__name__}: {_first_line(str(exc))}")
        self.executed[task.key] = nb
        target = folder / STATE_DIR / "compare" / f"{self.source.stem}.{task.key.split()[-1]}.ipynb"
        target.parent.mkdir(parents=True, exist_ok=True)
        _write_notebook(nb, target)
        return TaskResult(task.key, task.file, "succeeded", time.perf_counter() - start, executed=target)

    def runs(self) -> list[Any]:
        fresh = [self.executed[k] for k in self.copies if k in self.executed]
        return ([self.stored] if self.stored is not None else []) + fresh


def _plan_source_runs(folder: Path, manifest: Mapping[str, Any], parameters: Mapping[str, str],
                      runs: int) -> _SourceRuns | None:
    source = _source_path(folder, manifest)
    if not source.is_file():
        return None
    stored = stored_run(source) if runs == 1 else None
    fresh = 2 if stored is None else 1
    tmp = Path(tempfile.mkdtemp(prefix="nbsplit-compare-"))
    outside = _outside_reads(source)
    copies = {f"source run{i}": _prepare_source_copy(source, folder, parameters, tmp / f"run{i}", manifest, outside)
              for i in range(1, fresh + 1)}
    return _SourceRuns(source, stored, copies, tmp)


_DIGITS = re.compile(r"\d+")


def without_digits(text: str) -> str:
    """``text`` with every run of digits replaced by ``#`` ("train AUC: 0.8813" -> "train AUC: #.#")."""
    return _DIGITS.sub("#", text)


def _source_text(cell: Mapping[str, Any]) -> str:
    source = cell.get("source") or ""
    return "".join(source) if isinstance(source, list) else source


def digits_follow_session(cells: Sequence[Any]) -> set[int]:
    """Indices of the code cells (of a run of the source) whose printed digits depend on what the
    Spark session ran before, not on the data or the model: they read a Spark ML summary's binned
    ROC/PR metrics (``summary.areaUnderROC``), which no stage can reproduce to the last digit."""
    from nbsplit.sparkuse import binned_metric_cells

    code = [i for i, c in enumerate(cells) if c.get("cell_type") == "code"]
    found = binned_metric_cells([_source_text(cells[i]) for i in code])
    return {code[k] for k in found}


# a line that lists what the kernel holds: IPython's %who/%whos/%who_ls (automagic too),
# watermark's versions of every imported package, or dir()/globals()/locals() without arguments
_NAMESPACE_LINE = re.compile(
    r"^%(?:who|whos|who_ls)(?:\s|$)|^(?:who|whos|who_ls)(?:[ \t]+\w+)*$"
    r"|^%watermark\b.*\s(?:-iv|--iversions?)\b"
    r"|(?<![\w.])(?:dir|globals|locals)\(\s*\)")


def lists_namespace(source: str) -> bool:
    """True when a cell prints a listing of the kernel's namespace, which a stage notebook cannot
    reproduce: it holds only the names and imports its own cells need (plus nbsplit's hand-off
    helpers), not every name the monolith made before that cell."""
    return any(_NAMESPACE_LINE.search(line.strip()) for line in source.splitlines())


def compare_runs_with_split(manifest: Mapping[str, Any], runs: Sequence[Any],
                            results: Mapping[str, TaskResult], before: int | None = None) -> CompareResult:
    """Check that every deterministic code cell's text output (the same in all ``runs`` of the
    source) is reproduced by the split's executed stage notebooks, found through the manifest.
    A cell printing Spark ML's binned ROC metrics is compared without its digits; a cell listing the
    kernel's namespace (``lists_namespace``) is not compared. ``before``: the
    source cell the monolith failed in (only the cells before it ran). A failed stage is compared
    up to the source cell it failed in (a failure the monolith did not have shows there); the
    cells of stages that did not run are not compared."""
    import nbformat

    executed: dict[str, Path] = {}
    last: dict[str, int] = {}  # a failed stage's last cell that ran
    for r in results.values():  # a notebook's first task: a retraining rerun is not the monolith's run
        if r.status in _RAN and r.executed:
            executed.setdefault(r.file, r.executed)
        elif r.status == "failed" and r.executed and r.source_cell is not None and r.file not in executed:
            executed[r.file], last[r.file] = r.executed, r.source_cell
    loaded: dict[str, Any] = {}
    compared = 0
    mismatches: list[CellMismatch] = []
    nondeterministic: list[int] = []
    reference = runs[-1]
    session_digits = digits_follow_session(reference.cells)
    digitless: list[int] = []
    listings: list[int] = []
    for entry in manifest.get("cells") or []:
        index, file, position = entry.get("index"), entry.get("file"), entry.get("cell")
        if (index is None or any(index >= len(run.cells) for run in runs)
                or reference.cells[index].get("cell_type") != "code"
                or before is not None and index >= before or index > last.get(file, index)):
            continue
        expected = _text_outputs(reference.cells[index])
        if any(_text_outputs(run.cells[index]) != expected for run in runs[:-1]):
            nondeterministic.append(index)
            continue
        if not expected or file is None or position is None or file not in executed:
            continue
        if lists_namespace(_source_text(reference.cells[index])):
            listings.append(index)
            continue
        if file not in loaded:
            loaded[file] = nbformat.read(executed[file], as_version=4)
        cells = loaded[file].cells
        got = _text_outputs(cells[position]) if position < len(cells) else ""
        compared += 1
        same = got == expected
        if index in session_digits:
            digitless.append(index)
            same = without_digits(got) == without_digits(expected)
        if not same:
            mismatches.append(CellMismatch(index, file, position, expected, got))
    return CompareResult(compared, tuple(mismatches), tuple(nondeterministic), without_digits=tuple(digitless),
                         namespace=tuple(listings))


def _compare(plan: _SourceRuns | None, manifest: Mapping[str, Any], results: Mapping[str, TaskResult],
             ) -> CompareResult:
    if plan is None:
        return CompareResult(0, error="source notebook not found")
    if plan.errors and len(plan.failed_at) < len(plan.errors):
        return CompareResult(0, error=plan.errors[0])  # a run that could not start: nothing to compare
    # The monolith failing in cell K (an old library API, a file not here) still proves the cells
    # before K; a stage that failed is compared up to its failing cell, so a failure the monolith
    # did not have shows as that cell's mismatch.
    fails_at = min(plan.failed_at.values(), default=None)
    basis = ("the outputs stored in the source and a fresh run" if plan.stored is not None
             else "two runs of the source")
    result = replace(compare_runs_with_split(manifest, plan.runs(), results, before=fails_at), basis=basis)
    if fails_at is not None:
        return replace(result, error=f"{plan.errors[0]}; only the cells before source cell {fails_at} were compared")
    if any(r.status == "failed" for r in results.values()):
        return replace(result, error="a task failed: the cells of the stages that did not run were not compared")
    return result


def _compare_messages(compare: CompareResult) -> list[str]:
    if compare.error and not compare.compared and not compare.mismatches:
        return [f"compare: {compare.error}"]
    lines = [f"compare: {compare.compared} deterministic source cell(s) compared, "
             f"{len(compare.mismatches)} mismatch(es), {len(compare.nondeterministic)} cell(s) vary "
             f"between {compare.basis} and were not compared"]
    if compare.error:
        lines.append(f"compare: {compare.error}")
    if compare.without_digits:
        cells = ", ".join(str(i) for i in compare.without_digits)
        lines.append(f"compare: source cell(s) {cells} print Spark ML's binned ROC/PR metrics, compared "
                     "without their digits: Spark bins them by its count of RDDs the session made before, "
                     "which a stage does not share with the monolith")
    if compare.namespace:
        cells = ", ".join(str(i) for i in compare.namespace)
        lines.append(f"compare: source cell(s) {cells} list the kernel's namespace (%whos, %watermark --iversions, "
                     "dir()), not compared: a stage holds only the names and imports its own cells need")
    for m in compare.mismatches:
        exp = m.expected.splitlines()[:1] or [""]
        got = m.got.splitlines()[:1] or [""]
        lines.append(f"compare: source cell {m.index} ({m.file} cell {m.cell}) differs: "
                     f"expected {exp[0][:80]!r}, got {got[0][:80]!r}")
    return lines


# ------------------------------------------------------------------------------------ MLflow

def _open_tracking(state: Path, parameters: Mapping[str, str], manifest: Mapping[str, Any], *,
                   reuse: bool) -> tuple[Any, list[str]]:
    """The run's parent run in ``DIR/.nbsplit/mlflow.db`` (None, with a warning line, when it
    cannot be made; none at all when MLflow is off or the folder has no instrumentation)."""
    if os.environ.get("NBSPLIT_MLFLOW", "").lower() in ("0", "off", "false", "no"):
        return None, []
    if not (manifest.get("mlflow") or {}).get("instrumented", False):
        return None, []
    from nbsplit.mlflowstore import seed_store
    from nbsplit.runtracking import Tracking

    state.mkdir(parents=True, exist_ok=True)
    (state / "mlartifacts").mkdir(exist_ok=True)
    uri = f"sqlite:///{(state / 'mlflow.db').as_posix()}"
    try:
        seed_store(state / "mlflow.db", state / "mlartifacts")
        return Tracking.open(state, uri, parameters, manifest, reuse), []
    except Exception as exc:  # noqa: BLE001 - the stages still run; the summary says why nothing was tracked
        return None, [f"mlflow: warning: cannot open the run's store {uri}: {type(exc).__name__}: "
                      f"{_first_line(str(exc))}"]


def _mlflow_messages(results: Sequence[TaskResult], stages: Mapping[str, str], tracking: Any,
                     manifest: Mapping[str, Any], folder: Path, strict: bool) -> list[str]:
    lines = []
    for r in results:
        for warning in (r.mlflow.warnings if r.mlflow is not None else ()):
            lines.append(f"mlflow: {'error' if strict else 'warning'}: stage {stages.get(r.key, r.key)}: {warning}")
    if tracking is not None:
        lines.append(f"mlflow: runs in {tracking.uri} (experiment id {tracking.experiment_id}), parent run "
                     f"{tracking.parent} (pipeline_run {tracking.pipeline_run}); see them with "
                     f"`mlflow ui --backend-store-uri {tracking.uri}`")
    source_dir = _source_path(folder, manifest).parent if (manifest.get("source") or {}).get("path") else folder
    for entry in (manifest.get("mlflow") or {}).get("tracking_uri") or []:
        uri = str(entry.get("uri", ""))
        where = uri
        if entry.get("local") and uri.startswith("sqlite:///") and not uri.startswith("sqlite:////"):
            where = f"{(source_dir / uri[len('sqlite:///'):]).as_posix()} (relative to data_dir)"
        lines.append(f"mlflow: the notebook sets its own tracking URI {uri!r} (source cell {entry.get('cell')}): "
                     f"its own runs went to {where}, not to the run's store")
    return lines


# ------------------------------------------------------------------------------------ entry

def run_folder(folder: Path | str, *, only: str | None = None, from_stage: str | None = None,
               parallel: int = 1, compare: bool = False, compare_runs: int = 2, timeout: int = 900,
               console: Any = None, strict: bool = False) -> RunResult:
    """Run the converted ``folder`` locally (see the module docstring). Bad input (not a
    converted folder, unknown task, missing upstream handoffs) raises ``NbsplitError``; task
    failures and compare mismatches are in the result (``result.ok``, ``result.exit_code``).

    ``compare`` also runs the source notebook (in a copy of its folder taken before the stages
    run, with the paths its code names above that folder, ``../data/x.csv``, copied beside it in
    the same layout; as extra tasks sharing the ``parallel`` slots; executed copies are kept in
    ``DIR/.nbsplit/compare/``) and checks every deterministic cell. Deterministic means: the same
    text output in two fresh runs (``compare_runs=2``), or, with ``compare_runs=1``, in the
    outputs stored in an executed source ``.ipynb`` and one fresh run (two fresh runs when the
    source has no stored outputs)."""
    from rich.console import Console

    folder = Path(folder).resolve()
    if folder.is_file():
        raise NbsplitError("nbsplit run takes a converted folder, not a file (nbsplit convert NOTEBOOK --out DIR "
                           "writes one)", folder)
    if not folder.is_dir():
        raise NbsplitError("folder not found", folder)
    if only and from_stage:
        raise NbsplitError("choose one of only and from_stage")
    if parallel < 1:
        raise NbsplitError(f"parallel must be 1 or more, not {parallel}")
    if compare_runs not in (1, 2):
        raise NbsplitError(f"compare_runs must be 1 or 2, not {compare_runs}")
    console = console or Console()
    started = time.perf_counter()
    job = _read_json(folder / "job.json", "job.json")
    validate_job(job, folder / "job.json")
    manifest = _read_json(folder / MANIFEST_NAME, MANIFEST_NAME)
    validate_manifest(manifest, folder / MANIFEST_NAME)
    tasks = load_tasks(folder, job, manifest)
    source = _source_path(folder, manifest)
    if not source.parent.is_dir():
        raise NbsplitError(f"the source notebook's folder {source.parent} is missing (its data_dir)", folder)

    stages = {t.key: t.stage for t in tasks}
    selected = {t.key for t in tasks}
    if only:
        selected = {_find_task(tasks, only, "--only").key}
    elif from_stage:
        selected = _downstream(tasks, _find_task(tasks, from_stage, "--from").key)
    parameters = local_parameters(folder, job, manifest)
    state = folder / STATE_DIR
    if selected != {t.key for t in tasks}:
        missing = _missing_handoffs(selected, tasks, manifest, Path(parameters["handoff_dir"]))
        if missing:
            raise NbsplitError(f"saved handoffs not found: {', '.join(missing)}; run the upstream stages "
                               "first", folder)
    tracking, tracking_messages = _open_tracking(state, parameters, manifest,
                                                 reuse=selected != {t.key for t in tasks})
    if tracking is not None:
        parameters["pipeline_run"] = tracking.pipeline_run
    env = kernel_env(state, parameters)
    source_runs = _plan_source_runs(folder, manifest, parameters, compare_runs) if compare else None
    extra = source_runs.tasks if source_runs is not None else []

    def run_one(task: Task) -> TaskResult:
        if source_runs is not None and task.key in source_runs.copies:
            return source_runs.run(task, folder, timeout)
        if tracking is None or task.condition is not None:  # a condition task runs no notebook: no run
            return _run_task(task, folder, env, timeout, manifest)
        try:
            extra = tracking.start(task.key, task.stage)
        except Exception as exc:  # noqa: BLE001 - a broken store: the stage still runs, visibly warned
            extra = {}
            tracking_messages.append(f"mlflow: warning: no run for stage {task.stage}: {type(exc).__name__}: "
                                     f"{_first_line(str(exc))}")
        result = _run_task(task, folder, {**env, **extra}, timeout, manifest)
        try:
            logged = tracking.finish(task.key, result.status == "succeeded")
        except Exception as exc:  # noqa: BLE001
            from nbsplit.runtracking import StageMlflow

            logged = StageMlflow(warnings=(f"{type(exc).__name__}: {_first_line(str(exc))}",))
        status = "warning" if result.status == "succeeded" and logged.warnings else result.status
        return replace(result, status=status, mlflow=logged)

    try:
        with RunProgress(console, stages) as progress:
            ran = _schedule(tasks, selected, run_one, parallel, progress, extra)
    finally:
        if source_runs is not None:
            shutil.rmtree(source_runs.tmp, ignore_errors=True)
    ran_tasks = {k: r for k, r in ran.items() if k in selected}
    results = tuple(ran_tasks.get(t.key) or TaskResult(t.key, t.file, "reused") for t in topological(tasks))
    messages = [r.message for r in results if r.status == "failed" and r.message]
    messages += _side_branch_messages(results, stages)
    if tracking is not None:
        try:
            tracking.close(all(r.status != "failed" for r in results))
        except Exception:  # noqa: BLE001 - the summary below still says what each stage logged
            pass
    messages += tracking_messages + _mlflow_messages(results, stages, tracking, manifest, folder, strict)
    compare_result = None
    if compare:
        compare_result = _compare(source_runs, manifest, ran_tasks)
        messages += _compare_messages(compare_result)
    result = RunResult(folder, results, compare_result, time.perf_counter() - started, tuple(messages), strict)
    print_run_summary(console, result, stages)
    return result
