"""Render a ``SplitPlan`` into stage notebooks (``NN_<slug>.ipynb`` or ``.py``).

Each stage notebook is, in order: a short header (markdown: what it loads, as after which source
cell, what it saves, what to run first), the parameters cell (tagged ``parameters`` for
papermill), a two-line cell importing the handoff runtime module written beside the notebooks
(:mod:`nbsplit.render.handoff`) and starting it (widgets, ``data_dir``), the imports and helpers
the stage needs, then the stage's source cells in source order with one-line loads right before
the cell that first needs a value and one-line saves right after the cell that made it, and
finally a one-line MLflow call. Everything long lives in the runtime module, so a stage notebook
is mostly the user's own code. Every generated cell is marked
(``metadata.nbsplit.generated`` in ipynb, a hidden ``# DBTITLE 0,nbsplit: <kind>`` title in
Databricks source); every source cell keeps its source byte for byte, its tags and metadata
(plus ``metadata.nbsplit.source_index``).

Rendering is pure: the same plan and options give the same text, byte for byte (no random
cell ids, no timestamps). ``RenderedStage.placements`` records where every source cell went, for
the manifest.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nbsplit.analyze import analyze_source
from nbsplit.model import Cell, Handoff, NotebookFormat, SplitPlan, Stage, StagePlan
from nbsplit.render.parameters import MLFLOW_PARAMETERS, RUNTIME_MODULE, STAGE_PARAMETERS, local_parameters, sanitize_name
from nbsplit.render.monitoring import is_generated
from nbsplit.render.templating import render
from nbsplit.render.tracking import MLflowOptions, StageTracking, tracking_specs
from nbsplit.reserved import RNG_STATE, VIEW_PREFIX

__all__ = ["RenderOptions", "RenderedStage", "render_stages", "stage_file_name"]
_KERNELSPEC = {"display_name": "Python 3", "language": "python", "name": "python3"}


@dataclass(frozen=True)
class RenderOptions:
    """How to render. ``out`` is the output folder; only its position relative to the source
    notebook matters (``data_dir`` is the way from one to the other). ``parameters`` are the
    pipeline's (:func:`nbsplit.render.parameters.local_parameters`; computed when not given)."""

    out: Path
    fmt: NotebookFormat = "ipynb"
    keep_outputs: bool = False
    templates: Path | None = None
    parameters: Mapping[str, str] | None = None
    mlflow: MLflowOptions = field(default_factory=MLflowOptions)
    # The handoff that is also a feature table (MLOps level 1+): featurization writes it,
    # training reads it back from the table (nbsplit.render.monitoring.FeatureTable).
    feature_table: Any = None
    # The generated monitoring's live metric (nbsplit.render.monitoring.LiveMetric.spec), when planned.
    live_metric: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class RenderedStage:
    stage: Stage
    file: str
    text: str
    cells: tuple[Cell, ...]
    # source index -> positions of the cells made from it in this notebook
    placements: Mapping[int, int] = field(default_factory=dict)


def stage_file_name(stage: Stage, fmt: NotebookFormat = "ipynb") -> str:
    return f"{stage.order:02d}_{stage.value}.{'ipynb' if fmt == 'ipynb' else 'py'}"


def render_stages(plan: SplitPlan, options: RenderOptions) -> tuple[RenderedStage, ...]:
    """One ``RenderedStage`` per non-empty pipeline stage of ``plan``, in pipeline order."""
    parameters = dict(options.parameters) if options.parameters is not None else local_parameters(
        plan.notebook, options.out, name=sanitize_name(plan.notebook.path.stem), catalog="main", schema="default")
    consumers = _consumers(plan)
    stage_plans = [sp for sp in sorted(plan.stages, key=lambda s: s.stage.order)
                   if sp.stage.is_pipeline and (sp.cells or is_generated(sp))]
    files = {sp.stage: stage_file_name(sp.stage, options.fmt) for sp in stage_plans}
    tracking = tracking_specs(plan, options.mlflow)
    rendered: list[RenderedStage] = []
    for stage_plan in stage_plans:
        monitor: dict[str, Any] | None = None
        if is_generated(stage_plan):
            monitor = {"training": stage_plan.handoffs_in[0].name, "scored": stage_plan.handoffs_in[1].name,
                       "target": stage_plan.handoffs_in[2].name if len(stage_plan.handoffs_in) > 2 else None,
                       "live": dict(options.live_metric) if options.live_metric else None}
        builder = _StageBuilder(plan, stage_plan, options, parameters, consumers, files,
                                tracking.get(stage_plan.stage), monitor)
        rendered.append(builder.finish())
    return tuple(rendered)


def _ancestors(plan: SplitPlan, stage: Stage) -> list[Stage]:
    """Every stage ``stage`` needs run before it (its handoffs' producers, and theirs), in order."""
    by_stage = {sp.stage: sp for sp in plan.stages}
    found: set[Stage] = set()
    todo = list(by_stage[stage].depends_on) if stage in by_stage else []
    while todo:
        dep = todo.pop()
        if dep not in found:
            found.add(dep)
            todo.extend(by_stage[dep].depends_on if dep in by_stage else ())
    return sorted(found, key=lambda s: s.order)


def _consumers(plan: SplitPlan) -> dict[str, list[Stage]]:
    """handoff key -> the stages that load it, in pipeline order."""
    out: dict[str, list[Stage]] = {}
    for stage_plan in plan.stages:
        for h in stage_plan.handoffs_in:
            out.setdefault(h.key, [])
            if h.consumer not in out[h.key]:
                out[h.key].append(h.consumer)
    for stages in out.values():
        stages.sort(key=lambda s: s.order)
    return out


class _StageBuilder:
    def __init__(self, plan: SplitPlan, stage_plan: StagePlan, options: RenderOptions,
                 parameters: Mapping[str, str], consumers: Mapping[str, list[Stage]],
                 files: Mapping[Stage, str], tracking: StageTracking | None,
                 monitor: dict[str, Any] | None = None) -> None:
        self.plan = plan
        self.sp = stage_plan
        self.stage = stage_plan.stage
        self.options = options
        self.consumers = consumers
        self.files = files
        self.tracking = tracking
        registry = tracking is not None and tracking.registry
        names = STAGE_PARAMETERS + (MLFLOW_PARAMETERS if registry or monitor is not None else ())
        self.parameters = {name: parameters[name] for name in names}
        self.cells: list[Cell] = []
        self.placements: dict[int, int] = {}
        self._spark: set[int] | None = None
        self._held: dict[str, set[str]] | None = None  # list variable -> the variables it holds
        self._body()
        if monitor is not None:
            # Drift of the scored batch from the training features, logged in this stage's run.
            self._generated("monitoring", self._render("monitoring.py.j2", **monitor))
        if tracking is not None:
            self._generated("mlflow", self._render("mlflow_track.py.j2", spec=tracking.spec))

    # -- assembling --------------------------------------------------------------------------

    def _render(self, name: str, **context: Any) -> str:
        return render(f"notebook/{name}", context, user_dir=self.options.templates).rstrip("\n")

    def _generated(self, kind: str, source: str, cell_kind: str = "code", tags: tuple[str, ...] = ()) -> None:
        position = len(self.cells)
        if self.options.fmt == "databricks":
            metadata: dict[str, Any] = {"dbtitle_show": "0"}
            title: str | None = f"nbsplit: {kind}"
        else:
            metadata, title = {"nbsplit": {"generated": kind}}, None
        self.cells.append(Cell(
            index=position, kind=cell_kind, source=source, tags=tags, id=self._cell_id(position),
            language="md" if cell_kind == "markdown" else "python", title=title, metadata=metadata,
        ))

    def _user(self, index: int) -> None:
        src = self.plan.notebook.cells[index]
        position = len(self.cells)
        metadata = dict(src.metadata)
        if self.options.fmt == "ipynb":
            metadata["nbsplit"] = {**dict(metadata.get("nbsplit") or {}), "source_index": index}
        keep = self.options.keep_outputs and src.kind == "code"
        self.cells.append(Cell(
            index=position, kind=src.kind, source=src.source, tags=src.tags, id=self._cell_id(position),
            language=src.language, title=src.title, metadata=metadata,
            outputs=src.outputs if keep else (), execution_count=src.execution_count if keep else None,
        ))
        self.placements.setdefault(index, position)

    def _cell_id(self, position: int) -> str:
        return f"{self.stage.value}-{position:03d}"

    def _body(self) -> None:
        sp, notebook = self.sp, self.plan.notebook
        loads = _dedupe(sp.handoffs_in)
        saves = _dedupe(sp.handoffs_out)
        self._generated("header", self._render(
            "header.md.j2",
            stage={"slug": self.stage.value, "title": self.stage.title, "order": self.stage.order},
            source_name=notebook.path.name,
            out_name=self.options.out.name or str(self.options.out),
            loads=_grouped_loads(loads),
            saves=_grouped_saves(saves, self.consumers),
            run_first=[self.files[s] for s in _ancestors(self.plan, self.stage) if s in self.files],
        ), cell_kind="markdown")
        self._generated("parameters", self._render("parameters.py.j2", parameters=self.parameters),
                        tags=("parameters",))
        self._generated("runtime", self._render("start.py.j2", module=RUNTIME_MODULE))
        if sp.imports:
            self._generated("imports", self._render("imports.py.j2", imports=list(sp.imports)))
        if sp.helpers:
            self._generated("helpers", self._render("helpers.py.j2", helpers=list(sp.helpers), inline=False))

        cells = list(sp.cells)
        loads_before: dict[int | None, list[Handoff]] = {}
        ordered = all(a < b for a, b in zip(cells, cells[1:]))  # as the planner makes them
        for h in loads:
            # the first cell at or after the load's cell: a scan per load was quadratic (a
            # tenth of convert at 10,000 cells); bisect finds the same cell in sorted cells
            if ordered:
                at = bisect_left(cells, h.before_cell)
                target = cells[at] if at < len(cells) else None
            else:
                target = next((c for c in cells if c >= h.before_cell), None)
            loads_before.setdefault(target, []).append(h)
        saves_after: dict[int | None, list[Handoff]] = {}
        for h in saves:
            saves_after.setdefault(h.version if h.version in cells else None, []).append(h)
        inline: dict[int, list[str]] = {}
        for before, text in sp.inline:
            inline.setdefault(before, []).append(text)
        autolog = self.tracking.autolog if self.tracking is not None else None
        if autolog is not None and autolog["cell"] not in cells:
            self._autolog_cell(autolog)  # not expected: the fitting cell is the stage's by construction
            autolog = None
        for index in cells:
            if autolog is not None and index == autolog["cell"]:
                # Before the loads of the cell fitting the main model; off again right after it.
                self._autolog_cell(autolog)
            early, late = _around_loads(inline.get(index, ()), loads_before.get(index, ()))
            if early:
                # a second version of an import/definition, right where the monolith had it
                self._generated("helpers", self._render("helpers.py.j2", helpers=early, inline=True))
            if index in loads_before:
                self._load_cell(loads_before[index])
            if late:
                self._generated("helpers", self._render("helpers.py.j2", helpers=late, inline=True))
            self._user(index)
            if autolog is not None and index == autolog["cell"]:
                self._generated("autolog", self._render("mlflow_autolog_end.py.j2", stage=self.stage.value))
            if index in saves_after:
                self._save_cell(saves_after[index])
        if None in loads_before:
            self._load_cell(loads_before[None])
        if None in saves_after:
            self._save_cell(saves_after[None])

    def _autolog_cell(self, autolog: Mapping[str, Any]) -> None:
        self._generated("autolog", self._render("mlflow_autolog.py.j2", stage=self.stage.value,
                                                flavors=list(autolog["flavors"]),
                                                params=dict(autolog.get("params") or {})))

    def _load_cell(self, handoffs: Sequence[Handoff]) -> None:
        self._generated("load", self._render(
            "load.py.j2", handoffs=[self._context(h, self.stage is Stage.TRAINING) for h in handoffs],
            rng_state=RNG_STATE, view_prefix=VIEW_PREFIX))
        champion = self.tracking.champion if self.tracking is not None else None
        if champion is not None and any(h.name == champion[0] for h in handoffs):
            # The notebook's cells below score with the registered champion, under their own name.
            self._generated("champion", self._render("mlflow_champion.py.j2", model=champion[0], flavor=champion[1]))

    def _save_cell(self, handoffs: Sequence[Handoff]) -> None:
        contexts = [self._context(h, True) for h in handoffs]
        self._generated("save", self._render(
            "save.py.j2", handoffs=contexts, linked=self._linked(contexts),
            rng_state=RNG_STATE, view_prefix=VIEW_PREFIX))

    def _linked(self, contexts: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
        """The saves of a list of the notebook's variables (``combine = [train_df, test_df]``)
        and of the variables it holds, when one save cell has both: the runtime saves the list
        pointing at their saves, so a stage loading them gets one object under both names."""
        if self._held is None:
            self._held = {}
            for facts in self.plan.facts:
                for name, names in facts.containers if facts is not None else ():
                    self._held.setdefault(name, set()).update(names)
        held = self._held
        saved = {c["name"] for c in contexts if c["plain"] and not c["feature_table"]}
        pairs = {n for c in saved & held.keys() for n in held[c] & saved}
        if not pairs:
            return []
        pairs |= {c for c in saved & held.keys() if held[c] & saved}
        return [c for c in contexts if c["name"] in pairs]

    def _context(self, h: Handoff, table_side: bool) -> dict[str, Any]:
        context = _handoff_context(h, self.consumers)
        table = self.options.feature_table
        context["feature_table"] = ({"table": table.table, "key": table.feature_key}
                                    if table is not None and table_side and h.key == table.handoff else None)
        # The generated monitoring needs distributions only: a value a Spark cell made (a Spark
        # frame, if it is one at run time) comes as a pandas sample, with no Spark session.
        context["sample"] = is_generated(self.sp) and h.version in self._spark_cells()
        return context

    def _spark_cells(self) -> set[int]:
        if self._spark is None:
            from nbsplit.sparkuse import spark_cells

            self._spark = spark_cells(self.plan.notebook.cells, self.plan.facts)
        return self._spark

    # -- output --------------------------------------------------------------------------------

    def finish(self) -> RenderedStage:
        fmt = self.options.fmt
        cells = tuple(self.cells)
        if fmt == "ipynb":
            from nbsplit.read.ipynb import dumps_ipynb

            metadata = {
                "kernelspec": dict(_KERNELSPEC),
                "language_info": {"name": "python"},
                "nbsplit": {"source": self.plan.notebook.path.name, "stage": self.stage.value},
            }
            text = dumps_ipynb(cells, metadata)
        elif fmt == "databricks":
            from nbsplit.read.databricks import dump_databricks

            text = dump_databricks(cells)
        else:
            from nbsplit.read.percent import dump_percent

            text = dump_percent(cells, {"kernelspec": dict(_KERNELSPEC)})
        return RenderedStage(self.stage, stage_file_name(self.stage, fmt), text, cells, dict(self.placements))


def _dedupe(handoffs: Sequence[Handoff]) -> list[Handoff]:
    """One handoff per key (a value loaded or saved once), keeping the earliest need."""
    seen: dict[str, Handoff] = {}
    for h in sorted(handoffs, key=lambda h: (h.before_cell, h.version, h.name)):
        seen.setdefault(h.key, h)
    return sorted(seen.values(), key=lambda h: (h.before_cell, h.version, h.name))


def _grouped_loads(loads: Sequence[Handoff]) -> list[dict[str, Any]]:
    """Header entries: the names loaded from one producer as they were after one source cell (a
    snapshot is named by that cell, so two loads of ``df`` tell apart)."""
    grouped: dict[tuple[int, str], list[str]] = {}
    for h in loads:
        if h.name == RNG_STATE or h.name.startswith(VIEW_PREFIX):
            continue
        names = grouped.setdefault((h.version, h.producer.value), [])
        if h.name not in names:
            names.append(h.name)
    return [{"version": version, "producer": producer, "names": names}
            for (version, producer), names in sorted(grouped.items())]


def _grouped_saves(saves: Sequence[Handoff], consumers: Mapping[str, list[Stage]]) -> list[dict[str, Any]]:
    """Header entries: the names saved for one set of consumer stages."""
    by_name: dict[str, list[Stage]] = {}
    for h in saves:
        if h.name == RNG_STATE or h.name.startswith(VIEW_PREFIX):
            continue
        stages = by_name.setdefault(h.name, [])
        stages.extend(s for s in consumers.get(h.key, [h.consumer]) if s not in stages)
    grouped: dict[tuple[str, ...], list[str]] = {}
    for name, stages in by_name.items():
        grouped.setdefault(tuple(s.value for s in sorted(stages, key=lambda s: s.order)), []).append(name)
    return [{"names": names, "consumers": list(key)} for key, names in grouped.items()]


def _handoff_context(h: Handoff, consumers: Mapping[str, list[Stage]]) -> dict[str, Any]:
    stages = consumers.get(h.key, [h.consumer])
    return {
        "name": h.name,
        "key": h.key,
        "version": h.version,
        "producer": h.producer.value,
        "consumer": h.consumer.value,
        "consumers": [s.value for s in stages],
        # only the eda side branch loads it: a value that cannot be saved must not fail its producer
        "side_only": all(s is Stage.EDA for s in stages),
        "before_cell": h.before_cell,
        # a value of the notebook's own (not the random state or a Spark view): one of these may
        # be held by another (``combine = [train_df, test_df]``)
        "plain": h.name != RNG_STATE and not h.name.startswith(VIEW_PREFIX),
    }


def _around_loads(statements: Sequence[str], loads: Sequence[Handoff]) -> tuple[list[str], list[str]]:
    """The inline statements before a cell's loads (a class a loaded value needs, an import) and
    those after them: a definition whose header reads a loaded value (``def clean(t,
    stop=STOPWORDS)``) can only run once that value is loaded."""
    loaded = {h.name for h in loads}
    early: list[str] = []
    late: list[str] = []
    for text in statements:
        (late if loaded and loaded & analyze_source(text).reads else early).append(text)
    return early, late

