"""What the commands print for people (rich tables). Tools use ``--format json`` instead."""

from __future__ import annotations

import os
import threading
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.table import Table

from nbsplit.config import Config
from nbsplit.model import Cell, SplitPlan, Stage
from nbsplit.paths import PathUse, relative_paths
from nbsplit.plan import placement_summary

if TYPE_CHECKING:
    from nbsplit.run import RunResult, Task, TaskResult
    from nbsplit.tagging import TagChanges

_STAGE_STYLE = {
    Stage.DATA_PREP: "cyan", Stage.EDA: "blue", Stage.FEATURIZATION: "magenta",
    Stage.TRAINING: "green", Stage.EVALUATION: "yellow", Stage.PREDICTION: "bright_green",
    Stage.MONITORING: "red", Stage.SETUP: "white", Stage.SKIP: "dim",
}


# The longest stage slug: stage columns are never narrower, so a name is never cut.
_STAGE_WIDTH = max(len(s.value) for s in Stage)
# Below this width the origin column folds into the reasons (a narrow terminal keeps them readable).
_WIDE = 120


def _console(stderr: bool = False, *, columns: bool = False) -> Console:
    # A wide, colourless output when piped keeps `nbsplit plan | less` and CI logs readable; a
    # table sized for people (``columns``) follows COLUMNS even when piped.
    width = None if Console().is_terminal or (columns and os.environ.get("COLUMNS")) else 160
    return Console(soft_wrap=False, width=width, highlight=False, stderr=stderr)


def _first_line(cell: Cell, width: int = 48) -> str:
    line = cell.title or cell.first_line
    if cell.kind == "markdown":
        line = line.lstrip("#").strip()
        line = f"[md] {line}"
    if len(line) > width:
        line = line[: width - 1] + "…"
    return line


def print_plan(plan: SplitPlan, config: Config, console: Console | None = None) -> None:
    console = console or _console(columns=True)
    wide = console.width >= _WIDE
    table = Table(title=f"nbsplit plan: {plan.notebook.path}", title_justify="left", expand=False)
    table.add_column("cell", justify="right", no_wrap=True)
    table.add_column("source", overflow="ellipsis", no_wrap=True, max_width=48 if wide else 22)
    table.add_column("stage", no_wrap=True, min_width=_STAGE_WIDTH)
    table.add_column("conf", justify="right", no_wrap=True)
    if wide:
        table.add_column("origin", no_wrap=True)
    table.add_column("reasons", min_width=16, overflow="fold")
    for cell, result in zip(plan.notebook.cells, plan.classifications):
        conf = f"{result.confidence:.2f}"
        if result.confidence < config.threshold and result.origin not in ("tag", "directive"):
            conf = f"[bold red]{conf}?[/]"
        reasons = "; ".join(result.reasons)
        row = [str(cell.index), _escape(_first_line(cell)), f"[{_STAGE_STYLE[result.stage]}]{result.stage.value}[/]", conf]
        if wide:
            row += [result.origin, _escape(reasons)]
        else:
            row += [_escape(f"{result.origin}: {reasons}" if reasons else result.origin)]
        table.add_row(*row)
    console.print(table)

    summary = Table(title="stages", title_justify="left")
    summary.add_column("stage", no_wrap=True, min_width=_STAGE_WIDTH)
    summary.add_column("cells", justify="right", no_wrap=True)
    for name in ("loads", "saves", "depends on"):
        summary.add_column(name, overflow="fold")
    for sp in plan.stages:
        loads = ", ".join(f"{n} <- {s.value}" for n, s in sorted(sp.loads.items()))
        versions = Counter(h.name for h in sp.handoffs_in)
        snap = [f"{n} x{k}" for n, k in sorted(versions.items()) if k > 1]
        if snap:
            loads += f" (snapshots: {', '.join(snap)})"
        # a file another stage wrote is on disk, not loaded: it orders the stages all the same
        files = ", ".join(f"file {f.path} <- {f.producer.value}" for f in sp.files_in)
        loads = f"{loads}, {files}" if loads and files else loads or files
        summary.add_row(f"[{_STAGE_STYLE[sp.stage]}]{sp.stage.value}[/]", str(len(sp.cells)),
                        _escape(loads or "-"), _escape(", ".join(sp.saves) or "-"),
                        ", ".join(s.value for s in sp.depends_on) or "-")
    console.print(summary)
    uses = relative_paths(plan.notebook)
    if uses:
        console.print("files (relative to the notebook's folder; stage notebooks resolve them from data_dir): "
                      + _escape(", ".join(_file_use(u) for u in uses)))
    uncertain = [c for c in plan.classifications
                 if c.confidence < config.threshold and c.origin not in ("tag", "directive")]
    if uncertain:
        console.print(f"{len(uncertain)} cell(s) below confidence {config.threshold:.2f}: "
                      f"{', '.join(str(c.index) for c in uncertain)} — tag them with nbsplit:<stage>.")
    moved = placement_summary(plan)
    if moved["changed"]:
        console.print(f"the dataflow constraints changed {moved['changed']} cell(s): {moved['forward']} moved on "
                      f"to a later producer's stage, {moved['back']} pulled back to their reader's stage, "
                      f"{moved['eda']} eda cell(s) joined the stage that uses their value.")
    _print_mlflow(plan, console)
    _print_diagnostics(plan, console)


def _print_mlflow(plan: SplitPlan, console: Console) -> None:
    """What the MLflow instrumentation will log, from the analysis (nbsplit.mlfacts)."""
    from nbsplit.mlfacts import ml_facts

    facts = ml_facts(plan)
    models = [m for m in facts.models if m.kind in ("estimator", "pipeline", "search") and m.fitted_cell is not None]
    if not models and not facts.metrics:
        return
    lines = []
    for m in models:
        params = ", ".join(f"{k}={v!r}" for k, v in m.params.items())
        main = " (main model)" if m.name == facts.main_model else ""
        origin = f" from {m.search}.best_estimator_" if m.search else ""
        lines.append(f"  model {m.name}{main}: {m.cls} [{m.flavor}], fitted in cell {m.fitted_cell}{origin}"
                     + (f"; {params}" if params else ""))
    for metric in facts.metrics:
        primary = " (primary)" if metric.name == facts.primary_metric else ""
        better = "higher" if metric.greater_is_better else "lower"
        lines.append(f"  metric {metric.name}{primary}: cell {metric.cell}, {metric.source}, {better} is better")
    for cell, uri in facts.tracking_uris:
        lines.append(f"  tracking URI {uri} set in cell {cell}")
    console.print("mlflow:\n" + _escape("\n".join(lines)))


def _print_diagnostics(plan: SplitPlan, console: Console) -> None:
    if plan.diagnostics and not console.stderr:
        console = _console(stderr=True)  # warnings and errors are not the result: stderr
    lines = []
    for d in plan.diagnostics:
        where = f"cell {d.cell}: " if d.cell is not None else ""
        style = "bold red" if d.severity == "error" else "yellow"
        lines.append(f"[{style}]{d.severity}[/]: {_escape(where + d.message)}")
    _print_lines(console, lines)


def _print_lines(console: Console, lines: list[str]) -> None:
    """``console.print`` of each line, as one call: rich renders (markup) line by line either way,
    and a print per line was most of printing thousands of warnings. Never wrapped: a diagnostic
    is one line (grep, editors' problem matchers), however long its reasons."""
    if lines:
        console.print("\n".join(lines), soft_wrap=True)


def print_tag_changes(path: Path, changes: "TagChanges", *, written: bool,
                      console: Console | None = None) -> None:
    console = console or _console()
    verb = "added" if written else "would add"
    for index, slug in sorted(changes.to_add.items()):
        cell = changes.notebook.cells[index]
        result = changes.classification(index)
        console.print(f"cell {index}: {verb} nbsplit:{slug} ({result.confidence:.2f})  "
                      f"[dim]{_escape(_first_line(cell))}[/]")
    total = len(changes.to_add)
    if not total:
        console.print(f"{path}: nothing to tag")
    else:
        tail = "" if written else " (use --write to add them)"
        console.print(f"{path}: {verb} {total} tag(s){tail}")
    _print_diagnostics(changes.plan, console)


def print_convert_result(result: Any, *, dry_run: bool, console: Console | None = None) -> None:
    console = console or _console()
    head = "would write" if dry_run else "wrote"
    files = sorted(getattr(result, "files", {}))
    console.print(f"{head} {len(files)} file(s) to {result.out}:")
    for name in files:
        console.print(f"  {name}")
    errors = _console(stderr=True)
    lines = []
    for d in getattr(result, "diagnostics", ()):
        where = f"cell {d.cell}: " if d.cell is not None else ""
        lines.append(f"{d.severity}: {_escape(where + d.message)}")
    _print_lines(errors, lines)


# -- nbsplit run --------------------------------------------------------------------------------


class RunProgress:
    """A rich progress display: one spinner line per running task, a line per finished one."""

    def __init__(self, console: Any, stages: Mapping[str, str]) -> None:
        from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

        self.console = console
        self.progress = Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
                                 console=console, transient=True)
        self.ids: dict[str, Any] = {}
        self.stages = stages  # task key -> stage slug: people read slugs, job.json has keys
        self.lock = threading.Lock()

    def __enter__(self) -> RunProgress:
        self.progress.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.progress.__exit__(*exc)

    def start(self, task: "Task") -> None:
        with self.lock:
            self.ids[task.key] = self.progress.add_task(f"{task.stage} ({task.file})", total=None)

    def finish(self, result: "TaskResult") -> None:
        style = {"succeeded": "green", "warning": "bold yellow", "failed": "red", "skipped": "yellow",
                 "excluded": "dim"}.get(result.status, "")
        with self.lock:
            if result.key in self.ids:
                self.progress.remove_task(self.ids.pop(result.key))
            self.console.print(f"[{style}]{result.status:>9}[/] {self.stages.get(result.key, result.key)} ({result.file}) "
                               f"{result.duration:.1f}s", highlight=False)
            if result.message:
                self.console.print(f"          {result.message}", style=style, highlight=False, markup=False)


def print_run_summary(console: Any, result: "RunResult", stages: Mapping[str, str]) -> None:
    from rich.table import Table

    table = Table(title=f"nbsplit run {result.folder}", title_justify="left")
    table.add_column("stage")
    table.add_column("notebook")
    table.add_column("status")
    table.add_column("duration", justify="right")
    tracked = any(t.mlflow is not None for t in result.tasks)
    if tracked:
        table.add_column("MLflow", overflow="fold")
    colours = {"succeeded": "green", "warning": "bold yellow", "failed": "red", "skipped": "yellow", "reused": "dim", "excluded": "dim"}
    for t in result.tasks:
        row = [stages.get(t.key, t.key), t.file, f"[{colours[t.status]}]{t.status}[/]",
               f"{t.duration:.1f}s" if t.status in ("succeeded", "warning", "failed") else "-"]
        if tracked:
            row.append(_escape(t.mlflow.summary()) if t.mlflow is not None else "-")
        table.add_row(*row)
    console.print(table)
    for message in result.messages:
        console.print(message, highlight=False, markup=False)


def _escape(text: str) -> str:
    return text.replace("[", r"\[")


def _file_use(use: PathUse) -> str:
    """``data/x.csv (cell 3)``; a file not beside the notebook says so, since the stages will
    need it in data_dir when they run."""
    cells = "cells" if len(use.cells) > 1 else "cell"
    where = f"{cells} {', '.join(map(str, use.cells))}"
    return f"{use.path} ({where})" if use.exists else f"{use.path} ({where}; not found here)"
