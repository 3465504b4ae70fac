"""The ``nbsplit`` command line: options -> one library call -> exit code.

Nothing else lives here. Every ``NbsplitError`` becomes one line on stderr and its exit code
(2 for bad input or usage); an unexpected exception becomes one line too (set NBSPLIT_DEBUG=1
for the traceback), because a user must never be handed a traceback for a bad notebook.
"""

from __future__ import annotations

import functools
import json
import sys
from pathlib import Path
from typing import Any, Callable, TypeVar

from nbsplit import codecache

# Before the imports below, which make dataclasses (click's, nbsplit's, libcst's ~1,200
# methods): their compiled code comes from a cache beside the bytecode (nbsplit/codecache.py).
codecache.enable()

import click  # noqa: E402

from nbsplit import __version__  # noqa: E402
from nbsplit.config import Config, load_config  # noqa: E402
from nbsplit.errors import EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE, NbsplitError, exit_with  # noqa: E402
from nbsplit.model import PIPELINE_STAGES  # noqa: E402

F = TypeVar("F", bound=Callable[..., Any])

_NOTEBOOK = click.Path(path_type=Path)  # existence is checked by the reader, with our message
_STAGE_CHOICE = click.Choice([s.value for s in PIPELINE_STAGES])
_NO_ARGS_IS_HELP: tuple[type[Exception], ...] = tuple(
    t for t in (getattr(click.exceptions, "NoArgsIsHelpError", None),) if t is not None)


def _edge(func: F) -> F:
    """Turn errors into one stderr line and an exit code; commands return their exit code."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        exit_with(lambda: func(*args, **kwargs), lambda line: click.echo(line, err=True),
                  (click.exceptions.Exit, click.ClickException))

    return wrapper  # type: ignore[return-value]


def _config_for(path: Path, threshold: float | None = None) -> Config:
    config = load_config(path)
    if threshold is not None:
        from dataclasses import replace

        if not 0 <= threshold <= 1:
            raise NbsplitError(f"--threshold must be in 0..1, got {threshold}")
        config = replace(config, threshold=threshold)
    return config


class _OneLineErrors(click.Group):
    """A click group whose usage errors are one line, like every other nbsplit error.

    Click's own report is three lines (usage, a hint, the error); a pre-commit log or a CI
    annotation wants the one line ``nbsplit: error: ...`` the commands print for bad input.
    """

    def main(self, args: Any = None, prog_name: str | None = None, complete_var: str | None = None,
             standalone_mode: bool = True, **extra: Any) -> Any:
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        try:
            code = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except click.UsageError as exc:
            if isinstance(exc, _NO_ARGS_IS_HELP):  # bare `nbsplit`: the help is the answer
                exc.show()
                sys.exit(exc.exit_code)
            command = exc.ctx.command_path if exc.ctx is not None else (prog_name or "nbsplit")
            message = " ".join(exc.format_message().split())
            click.echo(f"nbsplit: error: {message} (see '{command} --help')", err=True)
            sys.exit(EXIT_USAGE)
        except click.ClickException as exc:
            click.echo(f"nbsplit: error: {' '.join(exc.format_message().split())}", err=True)
            sys.exit(exc.exit_code)
        except click.exceptions.Abort:
            click.echo("nbsplit: interrupted", err=True)
            sys.exit(130)
        sys.exit(code if isinstance(code, int) else EXIT_OK)


@click.group(cls=_OneLineErrors,
             context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, "--version", prog_name="nbsplit")
def cli() -> None:
    """Split a monolithic data-science notebook into MLOps pipeline stages.

    Stages, in pipeline order: data-prep, eda, featurization, training, evaluation,
    prediction, monitoring (plus setup, shared by stages, and skip).
    """


@cli.command()
@click.argument("notebook", type=_NOTEBOOK)
@click.option("--format", "fmt", type=click.Choice(["table", "json", "mermaid", "dot"]), default="table",
              show_default=True, help="table for people, json for tools (a stable contract), mermaid or "
                                      "dot for the stage DAG.")
@click.option("--strict", is_flag=True, help="Backward dependencies are errors instead of moving cells.")
@click.option("--threshold", type=float, default=None,
              help="Confidence under which a cell is reported as uncertain (default 0.7 or [tool.nbsplit]).")
@_edge
def plan(notebook: Path, fmt: str, strict: bool, threshold: float | None) -> int:
    """Classify every cell of NOTEBOOK and show the split: stages, loads, saves, DAG."""
    from nbsplit.api import input_error, plan_notebook
    from nbsplit.plan import plan_to_json

    config = _config_for(notebook, threshold)
    result = plan_notebook(notebook, config, strict=strict)
    bad = input_error(notebook, result.diagnostics)
    if bad:
        raise bad
    if fmt == "json":
        from nbsplit.jsondump import dumps

        click.echo(dumps(plan_to_json(result), indent=2, ensure_ascii=False))
    elif fmt in ("mermaid", "dot"):
        from nbsplit.render.dag import dag_dot, dag_mermaid

        click.echo((dag_mermaid if fmt == "mermaid" else dag_dot)(result), nl=False)
    else:
        from nbsplit.report import print_plan

        print_plan(result, config)
    return EXIT_PROBLEMS if result.has_errors else EXIT_OK


@cli.command()
@click.argument("notebook", type=_NOTEBOOK)
@click.option("--write", is_flag=True, help="Add the tags to NOTEBOOK in place (atomic).")
@click.option("--overwrite", is_flag=True, help="Replace existing nbsplit: stage tags too.")
@_edge
def tag(notebook: Path, write: bool, overwrite: bool) -> int:
    """Show the nbsplit:<stage> tags the classifier would add; --write adds them.

    Other metadata, outputs and cell ids are kept byte for byte; existing tags are never
    removed. A Databricks source file gets '# nbsplit: <stage>' directives instead.
    """
    from nbsplit.api import input_error
    from nbsplit.report import print_tag_changes
    from nbsplit.tagging import apply_tags, plan_tags

    config = _config_for(notebook)
    changes = plan_tags(notebook, config, overwrite=overwrite)
    bad = input_error(notebook, changes.diagnostics)
    if bad:
        raise bad
    if write and changes.to_add:
        apply_tags(changes)  # first: a refused write (read-only file) must not be reported as done
    print_tag_changes(notebook, changes, written=write)
    return EXIT_PROBLEMS if changes.has_errors else EXIT_OK


@cli.command()
@click.argument("notebook", type=_NOTEBOOK)
@click.option("--out", "out", type=click.Path(path_type=Path), required=True,
              help="Output folder for the stage notebooks, job and manifest.")
@click.option("--format", "fmt", type=click.Choice(["ipynb", "databricks", "percent"]), default=None,
              help="Stage notebook format (default ipynb or [tool.nbsplit] format).")
@click.option("--force", is_flag=True, help="Replace a non-empty --out folder.")
@click.option("--dry-run", is_flag=True, help="Print what would be written; write nothing.")
@click.option("--templates", type=click.Path(path_type=Path, file_okay=False), default=None,
              help="Folder of Jinja templates that override the built-in ones.")
@click.option("--keep-outputs", is_flag=True, help="Keep the source cells' outputs in the stages.")
@click.option("--strict", is_flag=True, help="Backward dependencies are errors instead of moving cells.")
@click.option("--job-name", default=None, help="Databricks job name (default: the notebook name).")
@click.option("--spark-version", default=None, help="Databricks Runtime ML version of the job cluster.")
@click.option("--cloud", type=click.Choice(["aws", "azure", "gcp"]), default=None,
              help="Cloud of the workspace: picks the job cluster's default node type (default aws).")
@click.option("--node-type", default=None, help="Node type of the job cluster (default: the --cloud's).")
@click.option("--num-workers", type=click.IntRange(min=0), default=None,
              help="Workers of the job cluster (0: single node).")
@click.option("--catalog", default=None, help="Unity Catalog catalog for handoffs and the model.")
@click.option("--schema", "uc_schema", default=None, help="Unity Catalog schema for handoffs and the model.")
@click.option("--workspace-dir", default=None,
              help="Absolute workspace folder job.json's notebook paths point at.")
@click.option("--cluster-json", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="A new_cluster spec (JSON file) for the job cluster.")
@click.option("--existing-cluster-id", default=None, help="Run the tasks on this existing cluster.")
@click.option("--serverless", is_flag=True, help="Run the tasks on serverless compute.")
@click.option("--model-name", default=None,
              help="Registered model name (default <job name>_model; catalog.schema added on Databricks).")
@click.option("--metric", default=None,
              help="Primary metric of the champion/challenger gate (default: from the analysis, see nbsplit plan).")
@click.option("--greater-is-better/--lower-is-better", "greater_is_better", default=None,
              help="Direction of --metric (default: from the analysis).")
@click.option("--no-mlflow", is_flag=True, help="Emit no MLflow instrumentation.")
@click.option("--autolog/--no-autolog", "autolog", default=None,
              help="MLflow autologging of the training stage's fits, for a notebook that uses no MLflow itself "
                   "(default on, or [tool.nbsplit] autolog).")
@click.option("--level", type=click.IntRange(0, 2), default=None,
              help="MLOps level: 0 stage notebooks with tracking (run by hand); 1 (default) + schedule, "
                   "monitoring, conditional retraining, serving endpoint; 2 + CI/CD workflow.")
@click.option("--schedule", default=None,
              help="Quartz cron expression of the job's schedule (level 1+), e.g. '0 0 6 * * ?'; "
                   "default: that one, paused.")
@click.option("--timezone", "schedule_timezone", default=None, help="Timezone id of --schedule (default UTC).")
@click.option("--ci", type=click.Choice(["github", "azure"]), default=None,
              help="CI system of the level-2 workflow: GitHub Actions (default) or Azure Pipelines.")
@click.option("--feature-key", default=None,
              help="Primary key column of the feature table (default: detected).")
@_edge
def convert(notebook: Path, out: Path, fmt: str | None, force: bool, dry_run: bool,
            templates: Path | None, keep_outputs: bool, strict: bool, job_name: str | None,
            spark_version: str | None, cloud: str | None, node_type: str | None, num_workers: int | None,
            catalog: str | None, uc_schema: str | None, workspace_dir: str | None,
            cluster_json: Path | None, existing_cluster_id: str | None, serverless: bool,
            model_name: str | None, metric: str | None, greater_is_better: bool | None, no_mlflow: bool,
            level: int | None, schedule: str | None, schedule_timezone: str | None, ci: str | None,
            feature_key: str | None, autolog: bool | None) -> int:
    """Split NOTEBOOK into stage notebooks in --out, with a Databricks job and a manifest."""
    from nbsplit.convert import convert_notebook
    from nbsplit.levels import DEFAULT_LEVEL, LevelOptions
    from nbsplit.render.job import JobOptions
    from nbsplit.render.tracking import MLflowOptions

    if model_name is not None and not model_name.strip():
        raise NbsplitError("--model-name must not be empty")
    if no_mlflow and (model_name or metric or greater_is_better is not None or autolog):
        raise NbsplitError("--no-mlflow takes no --model-name, --metric, --greater-is-better/--lower-is-better "
                           "or --autolog")
    if sum(map(bool, (cluster_json, existing_cluster_id, serverless))) > 1:
        raise NbsplitError("choose one of --cluster-json, --existing-cluster-id and --serverless")
    config = _config_for(notebook)
    mlflow = MLflowOptions(enabled=not no_mlflow, model_name=model_name, metric=metric,
                           greater_is_better=greater_is_better,
                           autolog=config.autolog if autolog is None else autolog)
    job_kwargs = {k: v for k, v in {
        "name": job_name, "spark_version": spark_version, "node_type_id": node_type, "cloud": cloud,
        "num_workers": num_workers, "catalog": catalog, "schema": uc_schema,
        "workspace_dir": workspace_dir,
        "cluster_json": cluster_json, "existing_cluster_id": existing_cluster_id,
        "serverless": serverless or None}.items() if v is not None}
    level_kwargs = {k: v for k, v in {
        "level": level, "schedule": schedule, "timezone": schedule_timezone, "ci": ci,
        "feature_key": feature_key}.items() if v is not None}
    if ci is not None and (level if level is not None else DEFAULT_LEVEL) < 2:
        raise NbsplitError("--ci needs --level 2 (the CI/CD workflow is level 2)")
    job_kwargs["levels"] = LevelOptions(**level_kwargs)
    result = convert_notebook(
        notebook, out, fmt=fmt or config.format, force=force, dry_run=dry_run, templates=templates,
        keep_outputs=keep_outputs, strict=strict, config=config, job_options=JobOptions(**job_kwargs),
        mlflow=mlflow,
    )
    from nbsplit.report import print_convert_result

    print_convert_result(result, dry_run=dry_run)
    return EXIT_OK


@cli.command()
@click.argument("folder", type=click.Path(path_type=Path))
@click.option("--only", "only", type=_STAGE_CHOICE, default=None, help="Run this stage only.")
@click.option("--from", "from_stage", type=_STAGE_CHOICE, default=None,
              help="Run this stage and everything downstream, reusing saved handoffs.")
@click.option("--parallel", type=click.IntRange(min=1), default=1, show_default=True,
              help="Run up to N independent stages at once.")
@click.option("--compare", is_flag=True,
              help="Also run the source notebook and check the split reproduces its outputs.")
@click.option("--timeout", type=click.IntRange(min=1), default=1800, show_default=True,
              help="Seconds allowed per cell.")
@click.option("--strict", is_flag=True, help="An MLflow instrumentation warning fails the run (exit 1).")
@_edge
def run(folder: Path, only: str | None, from_stage: str | None, parallel: int, compare: bool,
        timeout: int, strict: bool) -> int:
    """Run a converted FOLDER locally, following its job.json (MLflow, Spark, dbutils built in)."""
    from nbsplit.run import run_folder

    if only and from_stage:
        raise NbsplitError("choose one of --only and --from")
    result = run_folder(folder, only=only, from_stage=from_stage, parallel=parallel,
                        compare=compare, timeout=timeout, strict=strict)
    return EXIT_OK if result.ok else EXIT_PROBLEMS


@cli.command()
@click.argument("files", nargs=-1, type=click.Path(path_type=Path))
@click.option("--require-tags/--no-require-tags", default=None,
              help="Every non-empty code cell must carry an nbsplit: stage tag "
                   "(default: [tool.nbsplit] require-tags).")
@click.option("--stages", "stages_dir", type=click.Path(path_type=Path, file_okay=False), default=None,
              help="A converted folder (or a folder of them) that must be up to date with the notebook.")
@click.option("--strict", is_flag=True, help="Warnings (NBS104, uncertain cells) fail too.")
@click.option("--fix", is_flag=True, help="Add the inferred tags to untagged cells (exit 1 if changed).")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--threshold", type=float, default=None, help="Confidence under which cells are reported.")
@_edge
def check(files: tuple[Path, ...], require_tags: bool | None, stages_dir: Path | None, strict: bool,
          fix: bool, fmt: str, threshold: float | None) -> int:
    """Check notebooks stay splittable: valid tags, no backward dependencies, fresh stages."""
    # `nbsplit check FILE...` without options skips click (nbsplit/__main__.py, the pre-commit
    # hook's call) and runs the same run_check (tests/test_fastcheck.py compares the two)
    from nbsplit.check import run_check

    if not files:
        return EXIT_OK
    return run_check(list(files), _config_for(files[0], threshold), click.echo,
                     require_tags=require_tags, stages_dir=stages_dir, fix=fix, strict=strict, fmt=fmt)


def main() -> None:
    # A command builds a few large, acyclic structures (a syntax tree and facts per cell) and
    # keeps them to the end: with the default thresholds the collector walked them again and
    # again, a tenth of a 10,000-cell plan or convert. Young collections every 50,000
    # allocations instead of 700 (mypy does the same) change no result, only when garbage
    # cycles are freed.
    import gc

    gc.set_threshold(50_000, 20, 10)
    cli(prog_name="nbsplit")


