"""What the commands print for people (rich tables). Tools use ``--format json`` instead."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.table import Table

from nbsplit.config import Config
from nbsplit.model import Cell, SplitPlan, Stage
from nbsplit.plan import placement_summary

if TYPE_CHECKING:
    from nbsplit.tagging import TagChanges

_STAGE_STYLE = {
    Stage.DATA_PREP: "cyan", Stage.EDA: "blue", Stage.FEATURIZATION: "magenta",
    Stage.TRAINING: "green", Stage.EVALUATION: "yellow", Stage.PREDICTION: "bright_green",
    Stage.MONITORING: "red", Stage.SETUP: "white", Stage.SKIP: "dim",
}


def _console() -> Console:
    # A wide, colourless table when piped keeps `nbsplit plan | less` and CI logs readable.
    return Console(soft_wrap=False, width=None if Console().is_terminal else 160, highlight=False)


def _first_line(cell: Cell, width: int = 48) -> str:
    line = cell.title or cell.first_line
    if cell.kind == "markdown":
        line = line.lstrip("#").strip()
        line = f"[md] {line}"
    if len(line) > width:
        line = line[: width - 1] + "…"
    return line


def print_plan(plan: SplitPlan, config: Config, console: Console | None = None) -> None:
    console = console or _console()
    table = Table(title=f"nbsplit plan: {plan.notebook.path}", title_justify="left", expand=False)
    for name, kw in (("cell", {"justify": "right"}), ("source", {"overflow": "ellipsis", "no_wrap": True}),
                     ("stage", {}), ("conf", {"justify": "right"}), ("origin", {}), ("reasons", {})):
        table.add_column(name, **kw)
    for cell, result in zip(plan.notebook.cells, plan.classifications):
        conf = f"{result.confidence:.2f}"
        if result.confidence < config.threshold and result.origin not in ("tag", "directive"):
            conf = f"[bold red]{conf}?[/]"
        table.add_row(str(cell.index), _escape(_first_line(cell)),
                      f"[{_STAGE_STYLE[result.stage]}]{result.stage.value}[/]", conf, result.origin,
                      _escape("; ".join(result.reasons)))
    console.print(table)

    summary = Table(title="stages", title_justify="left")
    for name in ("stage", "cells", "loads", "saves", "depends on"):
        summary.add_column(name)
    for sp in plan.stages:
        loads = ", ".join(f"{n} <- {s.value}" for n, s in sorted(sp.loads.items()))
        versions = Counter(h.name for h in sp.handoffs_in)
        snap = [f"{n} x{k}" for n, k in sorted(versions.items()) if k > 1]
        if snap:
            loads += f" (snapshots: {', '.join(snap)})"
        summary.add_row(f"[{_STAGE_STYLE[sp.stage]}]{sp.stage.value}[/]", str(len(sp.cells)),
                        _escape(loads or "-"), _escape(", ".join(sp.saves) or "-"),
                        ", ".join(s.value for s in sp.depends_on) or "-")
    console.print(summary)
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
    _print_diagnostics(plan, console)


def _print_diagnostics(plan: SplitPlan, console: Console) -> None:
    for d in plan.diagnostics:
        where = f"cell {d.cell}: " if d.cell is not None else ""
        style = "bold red" if d.severity == "error" else "yellow"
        console.print(f"[{style}]{d.severity}[/]: {_escape(where + d.message)}")


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
    for d in getattr(result, "diagnostics", ()):
        where = f"cell {d.cell}: " if d.cell is not None else ""
        console.print(f"{d.severity}: {_escape(where + d.message)}")


def _escape(text: str) -> str:
    return text.replace("[", r"\[")
